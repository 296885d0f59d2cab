//! `tripline rules check|list`: load Suricata/Snort rule files and report.

use crate::cli::RulesCommand;
use crate::config::Config;
use anyhow::Result;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use tripline_rules::{Classifications, LoadSummary, Rule, RuleSet, Variables};

/// Runs `tripline rules ...`.
pub fn run(explicit_cfg: Option<&Path>, cmd: RulesCommand) -> Result<ExitCode> {
    let (cfg, _) = Config::load(explicit_cfg)?;
    let vars = Variables::suricata_defaults(&cfg.home_nets());
    match cmd {
        RulesCommand::Check { files } => {
            let (_, summary) = load(&files, vars);
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            let mut out = std::io::stdout().lock();
            write!(out, "{}", render_summary(&summary))?;
            Ok(if summary.error_count() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
        RulesCommand::Translate {
            to,
            drop,
            output,
            files,
        } => {
            let (set, summary) = load(&files, vars);
            super::translate::run(&set, &summary, to, drop, output.as_deref())
        }
        RulesCommand::List { files, sid } => {
            let (set, summary) = load(&files, vars);
            for w in &summary.warnings {
                eprintln!("warning: {w}");
            }
            for e in &summary.errors {
                eprintln!("error: {e}");
            }
            let mut out = std::io::stdout().lock();
            writeln!(out, "sid\trev\taction\tprotocol\tmsg\tfast_pattern")?;
            for rule in set
                .rules()
                .iter()
                .filter(|r| sid.is_none_or(|s| r.sid == s))
            {
                writeln!(out, "{}", render_rule(rule))?;
            }
            Ok(if summary.error_count() > 0 {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Loads the files with the classification.config found next to the first one, if any.
fn load(files: &[PathBuf], vars: Variables) -> (RuleSet, LoadSummary) {
    let cls = files
        .first()
        .and_then(|f| f.parent())
        .map(|d| d.join("classification.config"))
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|t| Classifications::parse(&t).0);
    RuleSet::load_files(files, vars, cls)
}

/// The load summary as `rules check` prints it.
fn render_summary(s: &LoadSummary) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "rules read:     {}", s.read);
    let _ = writeln!(o, "loaded:         {}", s.loaded);
    let _ = writeln!(o, "disabled:       {}", s.disabled);
    let _ = writeln!(o, "skipped:        {}", s.skipped());
    let mut reasons: Vec<_> = s.skipped_by_reason.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (reason, n) in reasons {
        let _ = writeln!(o, "  {n:>7}  {reason}");
    }
    let _ = writeln!(o, "errors:         {}", s.error_count());
    for e in &s.errors {
        let _ = writeln!(o, "  {e}");
    }
    if s.errors_not_listed > 0 {
        let _ = writeln!(o, "  ... and {} more", s.errors_not_listed);
    }
    o
}

/// One tab-separated line of `rules list`.
fn render_rule(r: &Rule) -> String {
    let fp = match (r.fast_pattern, r.fast_pattern_content()) {
        (Some(fp), Some(c)) => {
            let start = usize::from(fp.start);
            let end = (start + usize::from(fp.len)).min(c.pattern.len());
            let bytes = c.pattern.get(start..end).unwrap_or(&[]);
            format!(
                "{}:\"{}\"{}{}",
                fp.buffer.name(),
                escape_pattern(bytes),
                if c.nocase { " nocase" } else { "" },
                if fp.explicit { " (explicit)" } else { "" }
            )
        }
        _ => "-".to_string(),
    };
    format!(
        "{}\t{}\t{}\t{}\t{}\t{}",
        r.sid,
        r.rev,
        r.header.action.as_str(),
        r.header.protocol,
        r.msg.escape_debug(),
        fp
    )
}

/// Rule syntax for a pattern: printable ASCII as is, everything else (and
/// `"`, `;`, `\`, `|`) as `|hex|` runs, so the output is one safe line.
fn escape_pattern(bytes: &[u8]) -> String {
    let mut o = String::with_capacity(bytes.len());
    let mut in_hex = false;
    for &b in bytes {
        let plain = (b.is_ascii_graphic() || b == b' ') && !matches!(b, b'"' | b';' | b'\\' | b'|');
        if plain {
            if in_hex {
                o.push('|');
                in_hex = false;
            }
            o.push(char::from(b));
        } else {
            if in_hex {
                o.push(' ');
            } else {
                o.push('|');
                in_hex = true;
            }
            let _ = write!(o, "{b:02X}");
        }
    }
    if in_hex {
        o.push('|');
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_escaped_as_rule_syntax() {
        assert_eq!(escape_pattern(b"GET /a"), "GET /a");
        assert_eq!(escape_pattern(b"a\r\n\"b|"), "a|0D 0A 22|b|7C|");
        assert_eq!(escape_pattern(&[0, 0xff]), "|00 FF|");
    }

    #[test]
    fn list_line_shows_fast_pattern() {
        let r = tripline_rules::parse_rule(
            r#"alert http any any -> any any (msg:"tab	here"; http.uri; content:"/x|0a|"; nocase; sid:7; rev:2;)"#,
            &Variables::empty(),
        )
        .unwrap();
        assert_eq!(
            render_rule(&r),
            "7\t2\talert\thttp\ttab\\there\thttp.uri:\"/x|0A|\" nocase"
        );
    }
}
