//! iptables + ipset backend, for hosts without nftables: ipsets
//! `tripline_block_v4` / `tripline_block_v6` (`hash:ip` with per-entry
//! timeouts) and a chain `TRIPLINE_BLOCK` in the filter table of iptables
//! and ip6tables that drops their members. The only change outside
//! tripline's own objects is one jump into that chain at the top of INPUT
//! and FORWARD.

use super::backend::{Firewall, Member, timeout_secs};
use super::duration::BlockDuration;
use super::error::RespondError;
use super::tool::run_tool;
use std::net::IpAddr;
use std::time::Duration;

/// The IPv4 ipset.
pub const IPSET_V4: &str = "tripline_block_v4";
/// The IPv6 ipset.
pub const IPSET_V6: &str = "tripline_block_v6";
/// The iptables/ip6tables chain that drops set members.
pub const IPTABLES_CHAIN: &str = "TRIPLINE_BLOCK";

/// The iptables + ipset backend.
#[derive(Debug, Default)]
pub struct IpsetFirewall {
    installed: bool,
}

impl IpsetFirewall {
    /// A backend that runs `ipset`, `iptables` and `ip6tables` from `PATH`.
    pub fn new() -> Self {
        IpsetFirewall { installed: false }
    }
}

const FAMILIES: [(&str, &str, &str); 2] = [
    ("iptables", IPSET_V4, "inet"),
    ("ip6tables", IPSET_V6, "inet6"),
];

fn set_of(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() { IPSET_V4 } else { IPSET_V6 }
}

impl Firewall for IpsetFirewall {
    fn name(&self) -> &'static str {
        "ipset"
    }

    fn install(&mut self) -> Result<(), RespondError> {
        if self.installed {
            return Ok(());
        }
        for (tables, set, family) in FAMILIES {
            run_tool(
                "ipset",
                &[
                    "create", set, "hash:ip", "family", family, "timeout", "0", "-exist",
                ],
                None,
            )?;
            if run_tool(tables, &["-w", "-n", "-L", IPTABLES_CHAIN], None).is_err() {
                run_tool(tables, &["-w", "-N", IPTABLES_CHAIN], None)?;
            }
            run_tool(tables, &["-w", "-F", IPTABLES_CHAIN], None)?;
            run_tool(
                tables,
                &[
                    "-w",
                    "-A",
                    IPTABLES_CHAIN,
                    "-m",
                    "set",
                    "--match-set",
                    set,
                    "src",
                    "-j",
                    "DROP",
                ],
                None,
            )?;
            for hook in ["INPUT", "FORWARD"] {
                if run_tool(tables, &["-w", "-C", hook, "-j", IPTABLES_CHAIN], None).is_err() {
                    run_tool(tables, &["-w", "-I", hook, "1", "-j", IPTABLES_CHAIN], None)?;
                }
            }
        }
        self.installed = true;
        Ok(())
    }

    fn block(&mut self, addr: IpAddr, duration: BlockDuration) -> Result<(), RespondError> {
        self.install()?;
        let addr = addr.to_canonical();
        let text = addr.to_string();
        let secs = duration.timeout().map_or(0, timeout_secs).to_string();
        // `-exist` updates the timeout of an entry that is already there.
        run_tool(
            "ipset",
            &["add", set_of(addr), &text, "timeout", &secs, "-exist"],
            None,
        )?;
        Ok(())
    }

    fn unblock(&mut self, addr: IpAddr) -> Result<bool, RespondError> {
        self.install()?;
        let addr = addr.to_canonical();
        let present = self.members()?.iter().any(|m| m.addr == addr);
        if present {
            run_tool(
                "ipset",
                &["del", set_of(addr), &addr.to_string(), "-exist"],
                None,
            )?;
        }
        Ok(present)
    }

    fn members(&mut self) -> Result<Vec<Member>, RespondError> {
        self.install()?;
        let mut out = Vec::new();
        for (_, set, _) in FAMILIES {
            let saved = run_tool("ipset", &["save", set], None)?;
            parse_ipset_save(&saved, set, &mut out)?;
        }
        Ok(out)
    }

    fn uninstall(&mut self) -> Result<(), RespondError> {
        for (tables, set, _) in FAMILIES {
            for hook in ["INPUT", "FORWARD"] {
                while run_tool(tables, &["-w", "-D", hook, "-j", IPTABLES_CHAIN], None).is_ok() {}
            }
            if run_tool(tables, &["-w", "-n", "-L", IPTABLES_CHAIN], None).is_ok() {
                run_tool(tables, &["-w", "-F", IPTABLES_CHAIN], None)?;
                run_tool(tables, &["-w", "-X", IPTABLES_CHAIN], None)?;
            }
            if run_tool("ipset", &["list", "-n", set], None).is_ok() {
                run_tool("ipset", &["destroy", set], None)?;
            }
        }
        self.installed = false;
        Ok(())
    }
}

/// Reads `ipset save SET` output: `add SET ADDR [timeout N]` lines
/// (timeout 0 or absent: permanent).
pub fn parse_ipset_save(text: &str, set: &str, out: &mut Vec<Member>) -> Result<(), RespondError> {
    for line in text.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("add") || words.next() != Some(set) {
            continue;
        }
        let bad = || RespondError::Output {
            tool: "ipset".into(),
            detail: format!("unexpected line {line:?}"),
        };
        let addr: IpAddr = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
        let mut remaining = None;
        while let Some(w) = words.next() {
            if w == "timeout" {
                let n: u64 = words.next().ok_or_else(bad)?.parse().map_err(|_| bad())?;
                remaining = (n > 0).then(|| Duration::from_secs(n));
            }
        }
        out.push(Member { addr, remaining });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn save_output_parses() {
        let text = "create tripline_block_v4 hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0x1\n\
                    add tripline_block_v4 203.0.113.7 timeout 55\n\
                    add tripline_block_v4 203.0.113.8 timeout 0\n";
        let mut m = Vec::new();
        parse_ipset_save(text, IPSET_V4, &mut m).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[0].remaining, Some(Duration::from_secs(55)));
        assert_eq!(m[1].remaining, None);
        assert!(parse_ipset_save("add tripline_block_v4 nonsense\n", IPSET_V4, &mut m).is_err());
    }
}
