//! `tripline allow` and `tripline deny`: the non-interactive forms of the
//! decisions `tripline triage` asks for, for scripts.
//!
//! `allow [--device ADDR|PREFIX] [--port N] [--proto P] [--direction D]
//! TARGET...` appends one `[[connwatch.allow]]` rule per target; a target
//! is a DNS name (exact), `*.example.com` (the domain and every name under
//! it), `*` (any name, and none), or an address or prefix (their side).
//! `--port` is the service port: theirs when we call (`out`, `any`), ours
//! when they call (`in`); for ICMP, the type.
//!
//! `deny TARGET...` adds names (exact or `*.domain`) to `[connwatch] blocked`
//! and addresses or prefixes to `[connwatch] blocked_addresses`; both are
//! exported by `tripline blocklist export`.
//!
//! Names are checked like the block list export checks them, so nothing a
//! DNS resolver or a hosts file would misread gets into the file.

use crate::cli::{AllowArgs, AllowDirection, AllowProto, DenyArgs};
use crate::commands::blocklist::check_dns_name;
use crate::commands::config_edit::{Change, ConfigFile, cidr_text, describe_rule};
use anyhow::{Result, anyhow, bail};
use std::path::Path;
use std::process::ExitCode;
use tripline_core::Cidr;
use tripline_detect::allow_list::{DirectionMatch, ProtoMatch};
use tripline_detect::{AllowRule, DomainPattern};

/// What a decision is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// A DNS name pattern: exact, `*.domain`, or `*`.
    Pattern(DomainPattern),
    /// Their address or prefix.
    Prefix(Cidr),
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Pattern(p) => write!(f, "{p}"),
            Target::Prefix(c) => f.write_str(&cidr_text(c)),
        }
    }
}

/// Parses a target: an address or prefix, `*`, `*.domain` or a name.
pub fn parse_target(s: &str) -> Result<Target> {
    let t = s.trim();
    if let Ok(c) = t.parse::<Cidr>() {
        return Ok(Target::Prefix(c));
    }
    if t == "*" {
        return Ok(Target::Pattern(DomainPattern::Any));
    }
    let (wild, name) = match t.strip_prefix("*.") {
        Some(rest) => (true, rest),
        None => (false, t),
    };
    let name = check_dns_name(name).map_err(|e| anyhow!("{e}"))?;
    Ok(Target::Pattern(if wild {
        DomainPattern::Suffix(name)
    } else {
        DomainPattern::Exact(name)
    }))
}

/// The allow rule for one target.
pub fn allow_rule(
    target: &Target,
    device: Option<Cidr>,
    port: Option<u16>,
    proto: ProtoMatch,
    direction: DirectionMatch,
    note: Option<String>,
) -> AllowRule {
    let (domain, theirs) = match target {
        Target::Pattern(p) => (p.clone(), None),
        Target::Prefix(c) => (DomainPattern::Any, Some(*c)),
    };
    let port = port.filter(|p| *p != 0);
    let (our_port, their_port) = match direction {
        DirectionMatch::In => (port, None),
        _ => (None, port),
    };
    AllowRule {
        ours: device,
        our_port,
        theirs,
        their_port,
        domain,
        proto,
        direction,
        note,
    }
}

/// Adds `rule` and says what happened (nothing is saved yet).
pub fn add_allow_and_report(file: &mut ConfigFile, rule: &AllowRule) -> Result<Change> {
    let change = file.add_allow(rule)?;
    match change {
        Change::Added => println!("allow {}: added", describe_rule(rule)),
        Change::Duplicate => println!("allow {}: already in the allow list", describe_rule(rule)),
    }
    Ok(change)
}

/// Adds a denied target to the block list and says what happened.
pub fn add_deny_and_report(file: &mut ConfigFile, target: &Target) -> Result<Change> {
    let (change, what) = match target {
        Target::Pattern(DomainPattern::Any) => {
            bail!("cannot deny \"*\" (every name); name a domain such as *.example.com")
        }
        Target::Pattern(p) => (file.add_blocked_name(p)?, "connwatch.blocked"),
        Target::Prefix(c) => (file.add_blocked_address(*c)?, "connwatch.blocked_addresses"),
    };
    match change {
        Change::Added => println!("deny {target}: added to {what}"),
        Change::Duplicate => println!("deny {target}: already in {what}"),
    }
    Ok(change)
}

fn proto(p: AllowProto) -> ProtoMatch {
    match p {
        AllowProto::Tcp => ProtoMatch::Tcp,
        AllowProto::Udp => ProtoMatch::Udp,
        AllowProto::Icmp => ProtoMatch::Icmp,
        AllowProto::Any => ProtoMatch::Any,
    }
}

fn direction(d: AllowDirection) -> DirectionMatch {
    match d {
        AllowDirection::In => DirectionMatch::In,
        AllowDirection::Out => DirectionMatch::Out,
        AllowDirection::Any => DirectionMatch::Any,
    }
}

/// Saves when something changed and says where.
pub fn save_and_report(file: &mut ConfigFile, added: usize) -> Result<()> {
    if added == 0 {
        println!("{}: nothing changed", file.path().display());
        return Ok(());
    }
    let created = !file.existed();
    file.save()?;
    println!(
        "{}: {added} change{} written{}",
        file.path().display(),
        if added == 1 { "" } else { "s" },
        if created { " (new file)" } else { "" }
    );
    Ok(())
}

/// Runs `tripline allow`.
pub fn run_allow(explicit_cfg: Option<&Path>, args: AllowArgs) -> Result<ExitCode> {
    // Every target is checked before anything is changed.
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<_>>()?;
    let device = args
        .device
        .as_deref()
        .map(|d| d.parse::<Cidr>().map_err(|e| anyhow!("--device: {e}")))
        .transpose()?;
    let mut file = ConfigFile::open(explicit_cfg)?;
    let mut added = 0;
    for t in &targets {
        let rule = allow_rule(
            t,
            device,
            args.port,
            proto(args.proto),
            direction(args.direction),
            args.note.clone(),
        );
        if add_allow_and_report(&mut file, &rule)? == Change::Added {
            added += 1;
        }
    }
    save_and_report(&mut file, added)?;
    Ok(ExitCode::SUCCESS)
}

/// Runs `tripline deny`.
pub fn run_deny(explicit_cfg: Option<&Path>, args: DenyArgs) -> Result<ExitCode> {
    let targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| parse_target(t))
        .collect::<Result<_>>()?;
    let mut file = ConfigFile::open(explicit_cfg)?;
    let mut added = 0;
    for t in &targets {
        if add_deny_and_report(&mut file, t)? == Change::Added {
            added += 1;
        }
    }
    save_and_report(&mut file, added)?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse() {
        assert_eq!(
            parse_target("10.99.2.0/24").unwrap(),
            Target::Prefix("10.99.2.0/24".parse().unwrap())
        );
        assert_eq!(
            parse_target("fd99:2::2").unwrap(),
            Target::Prefix("fd99:2::2".parse().unwrap())
        );
        assert_eq!(
            parse_target("*.Example.com").unwrap(),
            Target::Pattern(DomainPattern::Suffix("example.com".into()))
        );
        assert_eq!(
            parse_target("www.example.com.").unwrap(),
            Target::Pattern(DomainPattern::Exact("www.example.com".into()))
        );
        assert_eq!(
            parse_target("*").unwrap(),
            Target::Pattern(DomainPattern::Any)
        );
        for bad in ["a b", "x\"y", "a/b", "x\ny", "*.*.com", "**"] {
            assert!(parse_target(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn port_goes_to_the_service_side() {
        let t = parse_target("10.99.2.7").unwrap();
        let r = allow_rule(
            &t,
            None,
            Some(22),
            ProtoMatch::Tcp,
            DirectionMatch::In,
            None,
        );
        assert_eq!((r.our_port, r.their_port), (Some(22), None));
        let r = allow_rule(
            &t,
            None,
            Some(443),
            ProtoMatch::Tcp,
            DirectionMatch::Out,
            None,
        );
        assert_eq!((r.our_port, r.their_port), (None, Some(443)));
        assert_eq!(r.theirs, Some("10.99.2.7".parse().unwrap()));
    }
}
