//! Signatures to firewall rules: what the kernel can enforce of a
//! Suricata/Snort rule (addresses, ports, protocol, TCP flags, ttl, tos,
//! id, dsize, itype/icode, content, flow:established and direction),
//! written as an nftables script (table `inet tripline_rules`) or an
//! iptables-restore script (chain `TRIPLINE_RULES`). Each translated rule
//! counts, logs with a prefix naming its sid and optionally drops; every
//! rule not translated is counted under one reason.

pub mod iptables;
pub mod model;
pub mod nft;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use tripline_rules::Rule;

pub use iptables::IPTABLES_RULES_CHAIN;
pub use model::{KernelRule, kernel_rules};
pub use nft::{NFT_RULES_TABLE, log_prefix};

/// The firewall to write for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FirewallSyntax {
    /// nftables (`nft -f`), IPv4 and IPv6.
    Nft,
    /// iptables-restore (`iptables-restore -n`), IPv4.
    Iptables,
}

/// How a translation went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TranslateReport {
    /// Rules considered (loaded, plus those the parser skipped).
    pub rules: u64,
    /// Rules translated.
    pub translated: u64,
    /// Of those, rules whose firewall form matches more than the signature
    /// (a dropped relative position, an HTTP buffer searched as raw bytes,
    /// an offset widened by header sizes).
    pub loosened: u64,
    /// Firewall rules written (a rule may need one per family or direction).
    pub firewall_rules: u64,
    /// Rules not translated, by reason.
    pub reasons: BTreeMap<String, u64>,
}

impl TranslateReport {
    /// Counts rules the parser did not load, under `not loaded: REASON`.
    pub fn add_not_loaded<'a>(&mut self, skipped: impl IntoIterator<Item = (&'a String, &'a u64)>) {
        for (reason, n) in skipped {
            self.rules += n;
            *self
                .reasons
                .entry(format!("not loaded: {reason}"))
                .or_default() += n;
        }
    }

    /// The share of rules translated, in percent.
    pub fn percent(&self) -> f64 {
        if self.rules == 0 {
            0.0
        } else {
            100.0 * self.translated as f64 / self.rules as f64
        }
    }

    /// The report as text: totals, then reasons, most frequent first.
    pub fn render(&self) -> String {
        let mut o = String::new();
        let _ = writeln!(o, "rules:            {}", self.rules);
        let _ = writeln!(
            o,
            "translated:       {} ({:.1}%), {} of them loosened; {} firewall rules",
            self.translated,
            self.percent(),
            self.loosened,
            self.firewall_rules
        );
        let _ = writeln!(o, "not translated:   {}", self.rules - self.translated);
        let mut reasons: Vec<_> = self.reasons.iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        for (reason, n) in reasons {
            let _ = writeln!(o, "  {n:>7}  {reason}");
        }
        o
    }
}

/// Translates `rules`; returns the script and the report.
pub fn translate(rules: &[Rule], syntax: FirewallSyntax, drop: bool) -> (String, TranslateReport) {
    let mut report = TranslateReport::default();
    let mut body = String::new();
    let mut chains: Vec<String> = Vec::new();
    for rule in rules {
        report.rules += 1;
        let result = kernel_rules(rule).and_then(|krs| render_all(&krs, syntax, drop, &mut chains));
        match result {
            Ok((text, n, loosened)) => {
                report.translated += 1;
                report.firewall_rules += n;
                report.loosened += u64::from(loosened);
                body.push_str(&text);
            }
            Err(reason) => *report.reasons.entry(reason.to_string()).or_default() += 1,
        }
    }
    let mut script = String::new();
    let action = if drop { "log and drop" } else { "log" };
    match syntax {
        FirewallSyntax::Nft => {
            let _ = writeln!(
                script,
                "#!/usr/sbin/nft -f\n# tripline rules translate: {} of {} rules ({action}).\n\
                 # Load with `nft -f FILE`; reloading replaces table inet {NFT_RULES_TABLE}.",
                report.translated, report.rules
            );
            script.push_str(&nft::prologue());
        }
        FirewallSyntax::Iptables => {
            let _ = writeln!(
                script,
                "# tripline rules translate: {} of {} rules ({action}).\n\
                 # Load with `iptables-restore -n FILE`, then hook the chain once:\n\
                 #   iptables -I INPUT -j {IPTABLES_RULES_CHAIN}; iptables -I FORWARD -j {IPTABLES_RULES_CHAIN}\n\
                 *filter\n:{IPTABLES_RULES_CHAIN} - [0:0]",
                report.translated, report.rules
            );
            for c in &chains {
                let _ = writeln!(script, ":{c} - [0:0]");
            }
        }
    }
    script.push_str(&body);
    if syntax == FirewallSyntax::Iptables {
        script.push_str("COMMIT\n");
    }
    (script, report)
}

/// Renders every firewall rule of one signature; all or nothing per family
/// (a family nft or iptables cannot express is left out when another
/// family works, e.g. IPv6 for iptables).
fn render_all(
    krs: &[KernelRule],
    syntax: FirewallSyntax,
    drop: bool,
    chains: &mut Vec<String>,
) -> Result<(String, u64, bool), &'static str> {
    let mut text = String::new();
    let mut n = 0;
    let mut loosened = false;
    let mut first_err = None;
    let mut new_chains = Vec::new();
    for (i, kr) in krs.iter().enumerate() {
        let r = match syntax {
            FirewallSyntax::Nft => {
                nft::render(kr, drop).map(|line| (vec![line], Vec::new(), kr.loosened))
            }
            FirewallSyntax::Iptables => iptables::render(kr, drop, i).map(|r| {
                let lines = r.lines.into_iter().map(|l| l + "\n").collect();
                (lines, r.chains, r.loosened)
            }),
        };
        match r {
            Ok((lines, cs, l)) => {
                for line in lines {
                    text.push_str(&line);
                }
                new_chains.extend(cs);
                loosened |= l;
                n += 1;
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match first_err {
        Some(e) if n == 0 || e != "IPv6 addresses (iptables is IPv4; use --to nft)" => Err(e),
        _ => {
            chains.extend(new_chains);
            Ok((text, n, loosened))
        }
    }
}
