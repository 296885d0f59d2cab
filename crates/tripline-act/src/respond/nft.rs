//! nftables backend: table `inet tripline` with the sets `block_v4` and
//! `block_v6` (`flags timeout`: the kernel expires each element by itself)
//! and two base chains hooked on input and forward at priority
//! `filter - 10`, so they drop before the usual filter chains see the
//! packet. Every change is one `nft -f -` script (atomic); nothing outside
//! the table is touched.

use super::backend::{Firewall, Member, timeout_secs};
use super::duration::BlockDuration;
use super::error::RespondError;
use super::tool::run_tool;
use serde_json::Value;
use std::net::IpAddr;
use std::time::Duration;

/// The nftables table (family `inet`: IPv4 and IPv6).
pub const NFT_TABLE: &str = "tripline";
/// The IPv4 block set.
pub const NFT_SET_V4: &str = "block_v4";
/// The IPv6 block set.
pub const NFT_SET_V6: &str = "block_v6";

/// The nftables backend.
#[derive(Debug, Default)]
pub struct NftFirewall {
    installed: bool,
}

impl NftFirewall {
    /// A backend that runs `nft` from `PATH`.
    pub fn new() -> Self {
        NftFirewall { installed: false }
    }
}

/// The script that creates the table, sets and chains; safe to load again
/// (the chains are flushed and refilled, the sets keep their elements).
pub fn install_script() -> String {
    let mut s = format!(
        "add table inet {NFT_TABLE}\n\
         add set inet {NFT_TABLE} {NFT_SET_V4} {{ type ipv4_addr; flags timeout; }}\n\
         add set inet {NFT_TABLE} {NFT_SET_V6} {{ type ipv6_addr; flags timeout; }}\n"
    );
    for (chain, hook) in [("block_input", "input"), ("block_forward", "forward")] {
        s.push_str(&format!(
            "add chain inet {NFT_TABLE} {chain} {{ type filter hook {hook} priority filter - 10; policy accept; }}\n\
             flush chain inet {NFT_TABLE} {chain}\n\
             add rule inet {NFT_TABLE} {chain} ip saddr @{NFT_SET_V4} counter drop\n\
             add rule inet {NFT_TABLE} {chain} ip6 saddr @{NFT_SET_V6} counter drop\n"
        ));
    }
    s
}

fn set_of(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        NFT_SET_V4
    } else {
        NFT_SET_V6
    }
}

/// The script that puts `addr` into its set with `duration`, replacing an
/// existing element (add, delete, add: one transaction, so it works whether
/// or not the element is there).
pub fn block_script(addr: IpAddr, duration: BlockDuration) -> String {
    let addr = addr.to_canonical();
    let set = set_of(addr);
    let elem = match duration.timeout() {
        Some(d) => format!("{addr} timeout {}s", timeout_secs(d)),
        None => addr.to_string(),
    };
    format!(
        "add element inet {NFT_TABLE} {set} {{ {addr} }}\n\
         delete element inet {NFT_TABLE} {set} {{ {addr} }}\n\
         add element inet {NFT_TABLE} {set} {{ {elem} }}\n"
    )
}

impl Firewall for NftFirewall {
    fn name(&self) -> &'static str {
        "nft"
    }

    fn install(&mut self) -> Result<(), RespondError> {
        if !self.installed {
            run_tool("nft", &["-f", "-"], Some(&install_script()))?;
            self.installed = true;
        }
        Ok(())
    }

    fn block(&mut self, addr: IpAddr, duration: BlockDuration) -> Result<(), RespondError> {
        self.install()?;
        run_tool("nft", &["-f", "-"], Some(&block_script(addr, duration)))?;
        Ok(())
    }

    fn unblock(&mut self, addr: IpAddr) -> Result<bool, RespondError> {
        self.install()?;
        let addr = addr.to_canonical();
        let present = self.members()?.iter().any(|m| m.addr == addr);
        if present {
            let script = format!(
                "delete element inet {NFT_TABLE} {} {{ {addr} }}\n",
                set_of(addr)
            );
            run_tool("nft", &["-f", "-"], Some(&script))?;
        }
        Ok(present)
    }

    fn members(&mut self) -> Result<Vec<Member>, RespondError> {
        self.install()?;
        let mut out = Vec::new();
        for set in [NFT_SET_V4, NFT_SET_V6] {
            let json = run_tool("nft", &["-j", "list", "set", "inet", NFT_TABLE, set], None)?;
            parse_set_json(&json, &mut out)?;
        }
        Ok(out)
    }

    fn uninstall(&mut self) -> Result<(), RespondError> {
        let listed = run_tool("nft", &["list", "tables"], None)?;
        if listed
            .lines()
            .any(|l| l.trim() == format!("table inet {NFT_TABLE}"))
        {
            run_tool("nft", &["delete", "table", "inet", NFT_TABLE], None)?;
        }
        self.installed = false;
        Ok(())
    }
}

/// Reads the elements of `nft -j list set` output: each is either a bare
/// address or `{"elem": {"val": ADDR, "timeout": S, "expires": S}}`.
pub fn parse_set_json(json: &str, out: &mut Vec<Member>) -> Result<(), RespondError> {
    let bad = |detail: String| RespondError::Output {
        tool: "nft".into(),
        detail,
    };
    let v: Value = serde_json::from_str(json).map_err(|e| bad(format!("not JSON: {e}")))?;
    let items = v
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no \"nftables\" array".into()))?;
    for item in items {
        let Some(set) = item.get("set") else { continue };
        let Some(elems) = set.get("elem").and_then(Value::as_array) else {
            continue;
        };
        for e in elems {
            let (val, expires) = match e {
                Value::String(s) => (s.as_str(), None),
                Value::Object(o) => {
                    let inner = o.get("elem").unwrap_or(e);
                    let val = inner
                        .get("val")
                        .and_then(Value::as_str)
                        .ok_or_else(|| bad(format!("element without address: {e}")))?;
                    (val, inner.get("expires").and_then(Value::as_u64))
                }
                other => return Err(bad(format!("unexpected element {other}"))),
            };
            let addr: IpAddr = val
                .parse()
                .map_err(|_| bad(format!("element {val:?} is not an address")))?;
            out.push(Member {
                addr,
                remaining: expires.map(Duration::from_secs),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_name_only_our_table() {
        let s = install_script();
        for line in s.lines() {
            assert!(line.contains(&format!("inet {NFT_TABLE}")), "{line}");
        }
        assert!(s.contains("hook input priority filter - 10"));
        assert!(s.contains("hook forward priority filter - 10"));
        let b = block_script("2001:db8::5".parse().unwrap(), "10m".parse().unwrap());
        assert!(b.ends_with("add element inet tripline block_v6 { 2001:db8::5 timeout 600s }\n"));
        let p = block_script(
            "::ffff:198.51.100.4".parse().unwrap(),
            BlockDuration::Permanent,
        );
        assert!(
            p.ends_with("add element inet tripline block_v4 { 198.51.100.4 }\n"),
            "{p}"
        );
    }

    #[test]
    fn set_listing_parses_timed_and_permanent_elements() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}}, {"set": {"family": "inet", "name": "block_v4", "table": "tripline", "type": "ipv4_addr", "flags": ["timeout"], "elem": [{"elem": {"val": "10.1.2.3", "timeout": 60, "expires": 59}}, "10.1.2.4"]}}]}"#;
        let mut m = Vec::new();
        parse_set_json(json, &mut m).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].remaining, Some(Duration::from_secs(59)));
        assert_eq!(m[1].remaining, None);
        assert!(parse_set_json("{", &mut m).is_err());
        assert!(parse_set_json(r#"{"nftables":[{"set":{"elem":["nope"]}}]}"#, &mut m).is_err());
    }
}
