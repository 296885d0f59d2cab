//! Real blocking inside network namespaces: an attacker namespace's
//! address is put into the block set of the victim namespace's firewall
//! (nftables, then iptables + ipset), its TCP connections stop, and they pass again
//! once the element's timeout has run out.

mod respond_support;

use respond_support::{NetnsPair, is_root, on_ns_thread, skip};
use std::net::IpAddr;
use std::time::Duration;
use tripline_act::respond::{
    BackendChoice, BlockDuration, Blocker, Firewall, Protected, Safeguard, open_firewall,
    wall_clock,
};

/// The victim's listening port.
const PORT: u16 = 8080;

fn blocker(choice: BackendChoice) -> Blocker {
    let fw = open_firewall(choice).expect("backend");
    Blocker::new(fw, Safeguard::new(Protected::default(), Default::default()))
}

fn block_expire_cycle(choice: BackendChoice, tag: &str) {
    if !is_root() {
        skip("respond namespace tests need root");
        return;
    }
    let pair = NetnsPair::new(tag).expect("namespaces");
    pair.victim_listen(PORT).expect("listener");
    assert!(
        NetnsPair::wait_for(Duration::from_secs(5), || pair.attacker_can_connect(PORT)),
        "the attacker cannot reach the victim before any block"
    );
    let attacker: IpAddr = pair.attacker_ip.parse().unwrap();
    let name = choice.as_str();
    let rec = on_ns_thread(&pair.victim, move || {
        let mut b = blocker(choice);
        b.block_manual(
            attacker,
            BlockDuration::For(Duration::from_secs(3)),
            false,
            "test",
            wall_clock(),
        )
    })
    .unwrap()
    .expect("block");
    assert_eq!(rec.backend, name);
    assert!(rec.expires.is_some());
    assert!(
        !pair.attacker_can_connect(PORT),
        "{name}: the blocked attacker still gets through"
    );
    let members = on_ns_thread(&pair.victim, move || blocker(choice).members())
        .unwrap()
        .expect("members");
    assert_eq!(members.len(), 1, "{members:?}");
    assert_eq!(members[0].addr, attacker);
    assert!(
        members[0]
            .remaining
            .is_some_and(|r| r <= Duration::from_secs(3))
    );
    // The kernel removes the element when its timeout runs out.
    assert!(
        NetnsPair::wait_for(Duration::from_secs(10), || pair.attacker_can_connect(PORT)),
        "{name}: the block did not expire"
    );
    let members = on_ns_thread(&pair.victim, move || blocker(choice).members())
        .unwrap()
        .expect("members");
    assert!(members.is_empty(), "{members:?}");

    // A permanent block stays until unblocked.
    let gone = on_ns_thread(&pair.victim, move || {
        let mut b = blocker(choice);
        b.block_manual(attacker, BlockDuration::Permanent, false, "t", wall_clock())?;
        let perm = b.members()?;
        let first = b.unblock(attacker, "done", wall_clock())?;
        let second = b.unblock(attacker, "again", wall_clock())?;
        Ok::<_, tripline_act::respond::RespondError>((perm, first.is_some(), second.is_none()))
    })
    .unwrap()
    .expect("permanent cycle");
    assert_eq!(gone.0.len(), 1);
    assert_eq!(gone.0[0].remaining, None);
    assert!(gone.1 && gone.2);
    assert!(pair.attacker_can_connect(PORT));
}

#[test]
fn nft_block_drops_then_expires() {
    block_expire_cycle(BackendChoice::Nft, "n");
}

#[test]
fn ipset_block_drops_then_expires() {
    block_expire_cycle(BackendChoice::Ipset, "i");
}

#[test]
fn nft_install_is_idempotent_and_uninstall_leaves_other_tables() {
    if !is_root() {
        skip("respond namespace tests need root");
        return;
    }
    let pair = NetnsPair::new("u").expect("namespaces");
    respond_support::in_ns(&pair.victim, &["nft", "add", "table", "inet", "users_own"]).unwrap();
    let listing = on_ns_thread(&pair.victim, || {
        let mut fw = tripline_act::respond::NftFirewall::new();
        fw.install()?;
        let mut again = tripline_act::respond::NftFirewall::new();
        again.install()?;
        let ruleset =
            tripline_act::respond::run_tool("nft", &["list", "table", "inet", "tripline"], None)?;
        fw.uninstall()?;
        let tables = tripline_act::respond::run_tool("nft", &["list", "tables"], None)?;
        Ok::<_, tripline_act::respond::RespondError>((ruleset, tables))
    })
    .unwrap()
    .expect("nft");
    // Installing twice leaves one drop rule per family per chain.
    assert_eq!(
        listing.0.matches("saddr @block_v4").count(),
        2,
        "{}",
        listing.0
    );
    assert!(listing.1.contains("table inet users_own"));
    assert!(!listing.1.contains("table inet tripline"));
}
