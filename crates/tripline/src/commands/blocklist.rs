//! `tripline blocklist export`: the block list (`[connwatch] blocked` names
//! and `blocked_addresses`) in the formats people enforce it with:
//!
//! * `dnsmasq`: `address=/name/` lines (NXDOMAIN), or with `--sinkhole`
//!   `address=/name/0.0.0.0` and `address=/name/::`. dnsmasq applies a
//!   line to the name and every name under it, so `*.example.com` and
//!   `example.com` both become `address=/example.com/`.
//! * `hosts`: `0.0.0.0 name` and `:: name` lines. A hosts file matches exact
//!   names only; `*.example.com` lists `example.com` with a remark.
//! * `nft`: an nftables script that defines the sets `blocklist_v4` and
//!   `blocklist_v6` (interval sets) in table `inet tripline` and replaces
//!   their elements, so it can be loaded again after every change. Prefixes
//!   inside another blocked prefix are left out (nftables refuses
//!   overlapping intervals).
//!
//! Names are checked before anything is written ([`check_dns_name`]): a
//! configuration edited by hand may hold text that would inject lines or
//! options into these files (spaces, quotes, newlines, `/`, `#`). Such an
//! entry fails the export with an error naming it; nothing is written.

use crate::cli::{BlocklistCommand, BlocklistFormat};
use crate::commands::config_edit::{cidr_text, write_atomically};
use crate::config::Config;
use anyhow::{Result, bail};
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use tripline_core::Cidr;
use tripline_detect::DomainPattern;

/// Checks that `name` is a plain DNS name safe to write into dnsmasq, hosts
/// and nftables files: ASCII letters, digits, `-` and `_` in dot-separated
/// labels of 1 to 63 characters (not starting or ending with `-`), at most
/// 253 characters; a trailing dot is dropped. Returns it in lower case.
pub fn check_dns_name(name: &str) -> Result<String, String> {
    let n = name.strip_suffix('.').unwrap_or(name);
    let why = if n.is_empty() {
        Some("it is empty".to_string())
    } else if n.len() > 253 {
        Some("it is longer than 253 characters".to_string())
    } else if let Some(c) = n
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        Some(if c.is_ascii() {
            format!("it contains {c:?}")
        } else {
            format!("it contains {c:?} (write international names in their xn-- form)")
        })
    } else if n.split('.').any(|l| l.is_empty() || l.len() > 63) {
        Some("it has an empty label or one longer than 63 characters".to_string())
    } else if n.split('.').any(|l| l.starts_with('-') || l.ends_with('-')) {
        Some("a label starts or ends with '-'".to_string())
    } else {
        None
    };
    match why {
        Some(w) => Err(format!("{name:?} is not a valid DNS name: {w}")),
        None => Ok(n.to_ascii_lowercase()),
    }
}

/// Checks a domain pattern for writing: an exact name or `*.name`, never
/// `*` alone (that would block every name).
pub fn check_pattern(p: &DomainPattern) -> Result<(), String> {
    match p {
        DomainPattern::Any => {
            Err("the pattern \"*\" (every name) cannot be written to a block list".to_string())
        }
        DomainPattern::Exact(n) | DomainPattern::Suffix(n) => check_dns_name(n).map(|_| ()),
    }
}

/// The block list, checked and ready to write.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BlockList {
    names: Vec<DomainPattern>,
    addresses: Vec<Cidr>,
}

impl BlockList {
    /// From names and addresses; every name is checked and the errors of
    /// all bad entries are reported together.
    pub fn new(names: &[DomainPattern], addresses: &[Cidr]) -> Result<BlockList> {
        let bad: Vec<String> = names
            .iter()
            .filter_map(|p| check_pattern(p).err())
            .collect();
        if !bad.is_empty() {
            bail!(
                "connwatch.blocked holds entries that cannot be exported (nothing written):\n  {}",
                bad.join("\n  ")
            );
        }
        let mut seen = std::collections::HashSet::new();
        let names = names
            .iter()
            .filter(|p| seen.insert(p.to_string()))
            .cloned()
            .collect();
        Ok(BlockList {
            names,
            addresses: collapse(addresses),
        })
    }

    /// The dnsmasq configuration: NXDOMAIN lines, or sinkhole lines.
    pub fn dnsmasq(&self, sinkhole: bool) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# tripline block list for dnsmasq ({}): {} names.\n\
             # Each line also blocks every name under the name it gives.",
            if sinkhole { "sinkhole" } else { "NXDOMAIN" },
            self.names.len()
        );
        let mut written = std::collections::HashSet::new();
        for p in &self.names {
            let (DomainPattern::Exact(n) | DomainPattern::Suffix(n)) = p else {
                continue;
            };
            if !written.insert(n.as_str()) {
                continue;
            }
            if sinkhole {
                let _ = writeln!(out, "address=/{n}/0.0.0.0\naddress=/{n}/::");
            } else {
                let _ = writeln!(out, "address=/{n}/");
            }
        }
        out
    }

    /// A hosts file sending every blocked name to the unspecified address.
    pub fn hosts(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "# tripline block list as a hosts file: {} names.",
            self.names.len()
        );
        for p in &self.names {
            let n = match p {
                DomainPattern::Exact(n) => n,
                DomainPattern::Suffix(n) => {
                    let _ = writeln!(
                        out,
                        "# *.{n}: a hosts file cannot block the names under {n}; only {n} itself is listed"
                    );
                    n
                }
                DomainPattern::Any => continue,
            };
            let _ = writeln!(out, "0.0.0.0 {n}\n:: {n}");
        }
        out
    }

    /// An nftables script for `nft -f`: the two address sets in table
    /// `inet tripline`, emptied and refilled.
    pub fn nft(&self) -> String {
        let v4: Vec<String> = self
            .addresses
            .iter()
            .filter(|c| c.addr().is_ipv4())
            .map(cidr_text)
            .collect();
        let v6: Vec<String> = self
            .addresses
            .iter()
            .filter(|c| c.addr().is_ipv6())
            .map(cidr_text)
            .collect();
        let mut out = String::new();
        let _ = write!(
            out,
            "#!/usr/sbin/nft -f\n\
             # tripline block list: {} IPv4 and {} IPv6 addresses or prefixes.\n\
             # Load with `nft -f FILE` (again after every change); enforce with rules such as\n\
             #   ip daddr @blocklist_v4 drop\n\
             #   ip6 daddr @blocklist_v6 drop\n\
             table inet tripline {{\n\
             \tset blocklist_v4 {{\n\t\ttype ipv4_addr\n\t\tflags interval\n\t}}\n\
             \tset blocklist_v6 {{\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}}\n\
             }}\n\
             flush set inet tripline blocklist_v4\n\
             flush set inet tripline blocklist_v6\n",
            v4.len(),
            v6.len()
        );
        for (set, list) in [("blocklist_v4", &v4), ("blocklist_v6", &v6)] {
            if !list.is_empty() {
                let _ = writeln!(
                    out,
                    "add element inet tripline {set} {{ {} }}",
                    list.join(", ")
                );
            }
        }
        out
    }
}

/// Sorted, without duplicates and without prefixes inside another one.
fn collapse(addresses: &[Cidr]) -> Vec<Cidr> {
    let mut v: Vec<Cidr> = addresses.to_vec();
    v.sort_by_key(|c| (c.addr().is_ipv6(), c.prefix_len(), c.addr()));
    let mut kept: Vec<Cidr> = Vec::with_capacity(v.len());
    for c in v {
        let inside = kept.iter().any(|k| {
            k.addr().is_ipv4() == c.addr().is_ipv4()
                && k.prefix_len() <= c.prefix_len()
                && k.contains(c.addr())
        });
        if !inside {
            kept.push(c);
        }
    }
    kept.sort_by_key(|c| (c.addr().is_ipv6(), c.addr(), c.prefix_len()));
    kept
}

/// Runs `tripline blocklist ...`.
pub fn run(explicit_cfg: Option<&Path>, cmd: BlocklistCommand) -> Result<ExitCode> {
    let BlocklistCommand::Export {
        format,
        sinkhole,
        output,
    } = cmd;
    let (cfg, _) = Config::load(explicit_cfg)?;
    let text = render(&cfg, format, sinkhole)?;
    match output.as_deref() {
        None => {
            let mut w = std::io::stdout().lock();
            w.write_all(text.as_bytes())?;
            w.flush()?;
        }
        Some(p) if p == Path::new("-") => {
            let mut w = std::io::stdout().lock();
            w.write_all(text.as_bytes())?;
            w.flush()?;
        }
        Some(p) => {
            write_atomically(p, text.as_bytes())?;
            eprintln!("tripline: wrote {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The export of `cfg`'s block list in `format`.
pub fn render(cfg: &Config, format: BlocklistFormat, sinkhole: bool) -> Result<String> {
    let c = &cfg.connwatch;
    Ok(match format {
        BlocklistFormat::Dnsmasq => BlockList::new(&c.blocked, &[])?.dnsmasq(sinkhole),
        BlocklistFormat::Hosts => BlockList::new(&c.blocked, &[])?.hosts(),
        BlocklistFormat::Nft => BlockList::new(&[], &c.blocked_addresses)?.nft(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_checked() {
        assert_eq!(
            check_dns_name("Ads.Example.NET.").unwrap(),
            "ads.example.net"
        );
        assert!(check_dns_name("_dmarc.example.com").is_ok());
        for bad in [
            "",
            "a b.com",
            "a\"b.com",
            "x.com\naddress=/#/",
            "a/b.com",
            "a..com",
            "-x.com",
            "x-.com",
            "bücher.de",
            "a#b",
            &"a".repeat(64),
        ] {
            assert!(check_dns_name(bad).is_err(), "{bad:?}");
        }
        assert!(check_pattern(&DomainPattern::Any).is_err());
    }

    #[test]
    fn collapse_drops_contained_prefixes() {
        let a: Vec<Cidr> = [
            "10.0.0.0/8",
            "10.1.2.3",
            "192.0.2.1",
            "192.0.2.1",
            "fd00::/8",
            "fd00::1",
            "2001:db8::1",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let text: Vec<String> = collapse(&a).iter().map(cidr_text).collect();
        assert_eq!(text, ["10.0.0.0/8", "192.0.2.1", "2001:db8::1", "fd00::/8"]);
    }
}
