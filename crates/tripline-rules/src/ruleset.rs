//! Loading rule files: comments, disabled rules, line continuations, one
//! parsed [`Rule`] per rule, and a [`LoadSummary`] of what happened.

use crate::classification::Classifications;
use crate::rule::{Rule, RuleError, parse_rule};
use crate::vars::Variables;
use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tripline_core::Location;

/// Most errors and warnings kept in a summary; the rest are only counted.
pub const MAX_LISTED: usize = 10_000;
/// Longest logical rule (after joining continuations), in bytes.
pub const MAX_RULE_LEN: usize = 256 * 1024;

/// A rule that could not be loaded because it is malformed (or a file that
/// could not be read).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    /// The rule file.
    pub file: Arc<Path>,
    /// The first line of the rule, or the file as a whole.
    pub location: Location,
    /// The rule's sid when it could be seen.
    pub sid: Option<u32>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Location::Line(l) = self.location {
            write!(f, ":{l}")?;
        }
        if let Some(sid) = self.sid {
            write!(f, ": sid {sid}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A valid rule skipped because it uses something tripline does not support.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkipWarning {
    /// The rule file.
    pub file: Arc<Path>,
    /// First line of the rule.
    pub line: u64,
    /// The rule's sid when it could be seen.
    pub sid: Option<u32>,
    /// The reason, e.g. `keyword tls.certs`.
    pub reason: String,
}

impl fmt::Display for SkipWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: ", self.file.display(), self.line)?;
        match self.sid {
            Some(sid) => write!(f, "sid {sid} skipped: unsupported {}", self.reason),
            None => write!(f, "rule skipped: unsupported {}", self.reason),
        }
    }
}

/// What loading rule files did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LoadSummary {
    /// Enabled rules read (each logical rule once; a line that is not
    /// UTF-8 counts as one rule read and one error).
    pub read: u64,
    /// Rules parsed and kept.
    pub loaded: u64,
    /// Commented-out rules (`# alert ...`), not parsed.
    pub disabled: u64,
    /// Rules skipped, counted by reason (`keyword tls.certs`, `protocol smb`, `duplicate sid`).
    pub skipped_by_reason: BTreeMap<String, u64>,
    /// One warning per skipped rule (at most [`MAX_LISTED`]).
    pub warnings: Vec<SkipWarning>,
    /// Syntax errors and unreadable files (at most [`MAX_LISTED`]).
    pub errors: Vec<LoadError>,
    /// Errors beyond [`MAX_LISTED`], counted only.
    pub errors_not_listed: u64,
}

impl LoadSummary {
    /// Rules skipped for any reason.
    pub fn skipped(&self) -> u64 {
        self.skipped_by_reason.values().sum()
    }

    /// All errors, listed or not.
    pub fn error_count(&self) -> u64 {
        self.errors.len() as u64 + self.errors_not_listed
    }

    fn error(&mut self, e: LoadError) {
        if self.errors.len() < MAX_LISTED {
            self.errors.push(e);
        } else {
            self.errors_not_listed += 1;
        }
    }

    fn skip(&mut self, w: SkipWarning) {
        *self.skipped_by_reason.entry(w.reason.clone()).or_insert(0) += 1;
        if self.warnings.len() < MAX_LISTED {
            self.warnings.push(w);
        }
    }
}

/// Where a loaded rule came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleSource {
    /// The rule file.
    pub file: Arc<Path>,
    /// First line of the rule.
    pub line: u64,
}

/// Loaded rules, with where each came from.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    sources: Vec<RuleSource>,
    ids: HashSet<(u32, u32)>,
    vars: Variables,
    classifications: Option<Classifications>,
}

impl RuleSet {
    /// An empty set expanding `vars`; when `classifications` is given, a
    /// rule with an unknown `classtype` is an error (as in Suricata).
    pub fn new(vars: Variables, classifications: Option<Classifications>) -> RuleSet {
        RuleSet {
            vars,
            classifications,
            ..RuleSet::default()
        }
    }

    /// The loaded rules in load order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Where rule `i` came from.
    pub fn source(&self, i: usize) -> Option<&RuleSource> {
        self.sources.get(i)
    }

    /// The classifications in use.
    pub fn classifications(&self) -> Option<&Classifications> {
        self.classifications.as_ref()
    }

    /// Reads and loads one rule file; an unreadable file is an error in the summary.
    pub fn load_file(&mut self, path: &Path, summary: &mut LoadSummary) {
        let file: Arc<Path> = Arc::from(path);
        match std::fs::read(path) {
            Ok(bytes) => self.load_bytes(file, &bytes, summary),
            Err(e) => summary.error(LoadError {
                file,
                location: Location::File,
                sid: None,
                message: e.to_string(),
            }),
        }
    }

    /// Loads rules from file content; `file` names it in errors.
    pub fn load_bytes(&mut self, file: Arc<Path>, bytes: &[u8], summary: &mut LoadSummary) {
        let mut pending = String::new();
        let mut pending_line = 0u64;
        let mut too_long = false;
        for (i, raw_line) in bytes.split(|&b| b == b'\n').enumerate() {
            let line_no = i as u64 + 1;
            let raw_line = raw_line.strip_suffix(b"\r").unwrap_or(raw_line);
            let Ok(line) = std::str::from_utf8(raw_line) else {
                // the line (and the rule it continues, if any) is lost: one rule read, one error
                summary.read += 1;
                summary.error(LoadError {
                    file: file.clone(),
                    location: Location::Line(line_no),
                    sid: None,
                    message: "line is not valid UTF-8".to_string(),
                });
                pending.clear();
                continue;
            };
            if pending.is_empty() {
                let t = line.trim();
                if t.is_empty() {
                    continue;
                }
                if let Some(c) = t.strip_prefix('#') {
                    if looks_like_rule(c.trim_start()) {
                        summary.disabled += 1;
                    }
                    continue;
                }
                pending_line = line_no;
                too_long = false;
            }
            let (text, continued) = match line.trim_end().strip_suffix('\\') {
                Some(head) => (head, true),
                None => (line, false),
            };
            if pending.len() + text.len() > MAX_RULE_LEN {
                too_long = true;
            } else {
                pending.push_str(text);
            }
            if continued {
                continue;
            }
            self.finish_rule(&file, pending_line, &pending, too_long, summary);
            pending.clear();
        }
        if !pending.is_empty() {
            self.finish_rule(&file, pending_line, &pending, too_long, summary);
        }
    }

    fn finish_rule(
        &mut self,
        file: &Arc<Path>,
        line: u64,
        text: &str,
        too_long: bool,
        summary: &mut LoadSummary,
    ) {
        summary.read += 1;
        let sid = sid_hint(text);
        let error = |message: String| LoadError {
            file: file.clone(),
            location: Location::Line(line),
            sid,
            message,
        };
        if too_long {
            summary.error(error(format!("rule longer than {MAX_RULE_LEN} bytes")));
            return;
        }
        let rule = match parse_rule(text, &self.vars) {
            Ok(r) => r,
            Err(e) => {
                match e.skip_reason() {
                    Some(reason) => summary.skip(SkipWarning {
                        file: file.clone(),
                        line,
                        sid,
                        reason,
                    }),
                    None => summary.error(error(e.to_string())),
                }
                return;
            }
        };
        if let (Some(cls), Some(ct)) = (&self.classifications, &rule.classtype)
            && cls.get(ct).is_none()
        {
            summary.error(error(
                RuleError::Option {
                    keyword: "classtype".into(),
                    message: format!("unknown classtype {ct:?}"),
                }
                .to_string(),
            ));
            return;
        }
        if !self.ids.insert((rule.gid, rule.sid)) {
            summary.skip(SkipWarning {
                file: file.clone(),
                line,
                sid,
                reason: "duplicate sid".to_string(),
            });
            return;
        }
        summary.loaded += 1;
        self.rules.push(rule);
        self.sources.push(RuleSource {
            file: file.clone(),
            line,
        });
    }

    /// Loads several files in order into a new set.
    pub fn load_files<P: AsRef<Path>>(
        paths: &[P],
        vars: Variables,
        classifications: Option<Classifications>,
    ) -> (RuleSet, LoadSummary) {
        let mut set = RuleSet::new(vars, classifications);
        let mut summary = LoadSummary::default();
        for p in paths {
            set.load_file(p.as_ref(), &mut summary);
        }
        (set, summary)
    }
}

/// True for commented text that is a disabled rule (`alert tcp ... (... sid:N; ...)`).
fn looks_like_rule(t: &str) -> bool {
    let word = t.split(char::is_whitespace).next().unwrap_or("");
    crate::header::Action::parse(word).is_some() && t.contains('(') && t.contains("sid:")
}

/// The sid of a rule text, found even when the rule does not parse.
fn sid_hint(text: &str) -> Option<u32> {
    let mut rest = text;
    while let Some(i) = rest.find("sid:") {
        let before = rest[..i].trim_end();
        let after = &rest[i + 4..];
        if before.ends_with(';') || before.ends_with('(') {
            let digits: &str = after
                .trim_start()
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap_or("");
            return digits.parse().ok();
        }
        rest = after;
    }
    None
}

/// Convenience for tests and tools: the path as an `Arc<Path>`.
pub fn file_name(p: impl Into<PathBuf>) -> Arc<Path> {
    Arc::from(p.into().as_path())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> (RuleSet, LoadSummary) {
        let mut set = RuleSet::new(
            Variables::suricata_defaults(&tripline_core::HomeNets::default()),
            None,
        );
        let mut s = LoadSummary::default();
        set.load_bytes(file_name("t.rules"), text.as_bytes(), &mut s);
        (set, s)
    }

    #[test]
    fn comments_disabled_continuations() {
        let (set, s) = load(
            "# a comment\n#alert tcp any any -> any any (msg:\"off\"; sid:5;)\n\nalert tcp any any -> any any (msg:\"x\"; \\\n  content:\"a\"; \\\n  sid:1;)\nalert tcp any any -> any any (msg:\"y\"; sid:2; tls.certs; content:\"z\";)\n",
        );
        assert_eq!((s.read, s.loaded, s.disabled), (2, 1, 1));
        assert_eq!(set.source(0).map(|x| x.line), Some(4));
        assert_eq!(s.skipped_by_reason.get("keyword tls.certs"), Some(&1));
        assert_eq!(
            s.warnings[0].to_string(),
            "t.rules:7: sid 2 skipped: unsupported keyword tls.certs"
        );
    }

    #[test]
    fn non_utf8_line_is_one_rule_and_one_error() {
        let mut set = RuleSet::new(Variables::empty(), None);
        let mut s = LoadSummary::default();
        set.load_bytes(
            file_name("b.rules"),
            b"alert ip any any -> any any (sid:1; \\\n\xff\nalert ip any any -> any any (sid:2;)\n",
            &mut s,
        );
        assert_eq!((s.read, s.loaded, s.error_count()), (2, 1, 1));
        assert_eq!(
            s.errors[0].to_string(),
            "b.rules:2: line is not valid UTF-8"
        );
    }

    #[test]
    fn duplicate_sid_is_skipped() {
        let (_, s) =
            load("alert ip any any -> any any (sid:1;)\nalert ip any any -> any any (sid:1;)\n");
        assert_eq!((s.loaded, s.skipped()), (1, 1));
    }

    #[test]
    fn sid_hint_ignores_text_in_msg() {
        assert_eq!(sid_hint(r#"alert x (msg:"sid:9"; sid:12;)"#), Some(12));
    }
}
