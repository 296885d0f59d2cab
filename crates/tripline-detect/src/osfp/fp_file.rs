//! The p0f v3 fingerprint database (`p0f.fp`): labels and TCP signatures.
//!
//! Only the `[tcp:request]` (SYN) and `[tcp:response]` (SYN+ACK) sections
//! are used; `[mtu]` and `[http:*]` lines are counted and skipped. Parsing
//! is a pure function of the text: [`Database::parse`] stops at the first
//! bad line, [`Database::parse_lenient`] skips and counts bad lines.

use crate::osfp::signature::Signature;
use std::fmt;
use std::sync::Arc;

/// Which packet a signature describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// `[tcp:request]`: the client's SYN.
    Request,
    /// `[tcp:response]`: the server's SYN+ACK.
    Response,
}

/// A `label = s|g:class:name:flavor` line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    /// `g`: a generic (catch-all) signature group, tried after specific ones.
    pub generic: bool,
    /// The class (`unix`, `win`, `other`); `None` for `!`, a user-land tool.
    pub class: Option<String>,
    /// The name (`Linux`, `NMap`).
    pub name: String,
    /// The flavor (`2.2.x-3.x`, `SYN scan`), possibly empty.
    pub flavor: String,
    /// The `sys =` list of a tool's label, as written.
    pub sys: Vec<String>,
    /// `name flavor` the way p0f prints it (`Linux 2.2.x-3.x`).
    pub display: Arc<str>,
}

impl Label {
    /// True for user-land tools (class `!`): p0f reports them as `app`.
    pub fn is_tool(&self) -> bool {
        self.class.is_none()
    }
}

/// One signature with the label it belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignatureRecord {
    /// The signature.
    pub sig: Signature,
    /// Index into [`Database::labels`].
    pub label: u16,
    /// 1-based line in the file.
    pub line: u32,
}

/// A parsed `p0f.fp`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Database {
    /// The `classes =` list.
    pub classes: Vec<String>,
    /// The labels, in file order.
    pub labels: Vec<Label>,
    /// `[tcp:request]` signatures in file order.
    pub requests: Vec<SignatureRecord>,
    /// `[tcp:response]` signatures in file order.
    pub responses: Vec<SignatureRecord>,
    /// Lines of `[mtu]`, `[http:*]` or unknown sections that were skipped.
    pub skipped_lines: u32,
    /// Malformed lines skipped by [`Database::parse_lenient`].
    pub bad_lines: u32,
}

/// A malformed line of `p0f.fp`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("p0f.fp line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

/// The section the parser is in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Section {
    /// Before any section header.
    Preamble,
    /// A TCP section.
    Tcp(Direction),
    /// `[mtu]`, `[http:*]` or an unknown section: skipped.
    Other,
}

/// Most labels a database may hold (label indices are `u16`).
const MAX_LABELS: usize = u16::MAX as usize;

impl Database {
    /// Parses a whole file; the first malformed line is the error.
    pub fn parse(text: &str) -> Result<Database, ParseError> {
        let mut p = Parser::default();
        for (i, raw) in text.lines().enumerate() {
            p.line(i as u32 + 1, raw)?;
        }
        Ok(p.db)
    }

    /// Parses a whole file, skipping malformed lines; returns the database
    /// (with [`Database::bad_lines`] counted) and the first `max_errors`
    /// errors. A bad `label` line also drops the signatures under it.
    pub fn parse_lenient(text: &str, max_errors: usize) -> (Database, Vec<ParseError>) {
        let mut p = Parser::default();
        let mut errors = Vec::new();
        for (i, raw) in text.lines().enumerate() {
            if let Err(e) = p.line(i as u32 + 1, raw) {
                p.db.bad_lines += 1;
                if errors.len() < max_errors {
                    errors.push(e);
                }
            }
        }
        (p.db, errors)
    }

    /// The signatures of one direction, in file order.
    pub fn signatures(&self, dir: Direction) -> &[SignatureRecord] {
        match dir {
            Direction::Request => &self.requests,
            Direction::Response => &self.responses,
        }
    }

    /// The label of a signature record.
    pub fn label(&self, rec: &SignatureRecord) -> &Label {
        &self.labels[rec.label as usize]
    }
}

#[derive(Default)]
struct Parser {
    db: Database,
    section: Option<Section>,
    /// The label signatures attach to; `None` before the first label of a
    /// section, or after a bad label line.
    label: Option<u16>,
}

impl Parser {
    fn line(&mut self, line: u32, raw: &str) -> Result<(), ParseError> {
        let err = |message: String| ParseError { line, message };
        let s = raw.trim();
        if s.is_empty() || s.starts_with(';') {
            return Ok(());
        }
        let section = self.section.unwrap_or(Section::Preamble);
        if let Some(rest) = s.strip_prefix('[') {
            let name = rest
                .strip_suffix(']')
                .ok_or_else(|| err(format!("section header {s:?} lacks ']'")))?;
            self.section = Some(match name {
                "tcp:request" => Section::Tcp(Direction::Request),
                "tcp:response" => Section::Tcp(Direction::Response),
                "mtu" | "http:request" | "http:response" => Section::Other,
                other => return Err(err(format!("unknown section [{other}]"))),
            });
            self.label = None;
            return Ok(());
        }
        let (key, value) = s
            .split_once('=')
            .ok_or_else(|| err(format!("expected 'key = value', found {s:?}")))?;
        let (key, value) = (key.trim(), value.trim());
        match section {
            Section::Other => {
                self.db.skipped_lines += 1;
                Ok(())
            }
            Section::Preamble => match key {
                "classes" => {
                    self.db.classes = value.split(',').map(|c| c.trim().to_string()).collect();
                    if self.db.classes.iter().any(|c| c.is_empty()) {
                        return Err(err("empty class name in 'classes'".to_string()));
                    }
                    Ok(())
                }
                _ => Err(err(format!("{key:?} outside a section"))),
            },
            Section::Tcp(dir) => match key {
                "label" => {
                    self.label = None;
                    let label = self.parse_label(value).map_err(err)?;
                    if self.db.labels.len() >= MAX_LABELS {
                        return Err(err(format!("more than {MAX_LABELS} labels")));
                    }
                    self.db.labels.push(label);
                    self.label = Some((self.db.labels.len() - 1) as u16);
                    Ok(())
                }
                "sys" => {
                    let idx = self
                        .label
                        .ok_or_else(|| err("'sys' before any label".to_string()))?;
                    let sys: Vec<String> = value.split(',').map(|v| v.trim().to_string()).collect();
                    if sys.iter().any(|v| v.is_empty()) {
                        return Err(err("empty entry in 'sys'".to_string()));
                    }
                    self.db.labels[idx as usize].sys = sys;
                    Ok(())
                }
                "sig" => {
                    let label = self
                        .label
                        .ok_or_else(|| err("'sig' without a valid label before it".to_string()))?;
                    let sig = Signature::parse(value).map_err(err)?;
                    let rec = SignatureRecord { sig, label, line };
                    match dir {
                        Direction::Request => self.db.requests.push(rec),
                        Direction::Response => self.db.responses.push(rec),
                    }
                    Ok(())
                }
                other => Err(err(format!("unknown key {other:?}"))),
            },
        }
    }

    /// `s|g:class:name:flavor`; the flavor may contain ':'.
    fn parse_label(&self, value: &str) -> Result<Label, String> {
        let mut parts = value.splitn(4, ':');
        let kind = parts.next().unwrap_or("");
        let generic = match kind {
            "s" => false,
            "g" => true,
            k => return Err(format!("label type must be s or g, found {k:?}")),
        };
        let (Some(class), Some(name), Some(flavor)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("label {value:?} is not s|g:class:name:flavor"));
        };
        let class = match class {
            "!" => None,
            c if self.db.classes.is_empty() || self.db.classes.iter().any(|k| k == c) => {
                Some(c.to_string())
            }
            c => return Err(format!("class {c:?} is not listed in 'classes'")),
        };
        if name.is_empty() {
            return Err("empty OS or tool name in label".to_string());
        }
        let display: Arc<str> = if flavor.is_empty() {
            Arc::from(name)
        } else {
            Arc::from(format!("{name} {flavor}"))
        };
        Ok(Label {
            generic,
            class,
            name: name.to_string(),
            flavor: flavor.to_string(),
            sys: Vec::new(),
            display,
        })
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL: &str = "\
classes = win,unix,other
[mtu]
label = Ethernet or modem
sig   = 576
[tcp:request]
label = s:unix:Linux:3.11 and newer
sig   = *:64:0:*:mss*20,10:mss,sok,ts,nop,ws:df,id+:0
label = s:!:NMap:SYN scan
sys   = @unix,@win
sig   = *:64-:0:1460:1024,0:mss::0
[tcp:response]
label = g:unix:FreeBSD:
sig   = *:64:0:*:65535,*:mss,nop,ws,sok,ts:df,id+:0
[http:request]
label = s:!:wget:
sig   = *:User-Agent:Accept=[*/*]
";

    #[test]
    fn parses_sections_and_labels() {
        let db = Database::parse(SMALL).unwrap();
        assert_eq!(db.classes, ["win", "unix", "other"]);
        assert_eq!(db.requests.len(), 2);
        assert_eq!(db.responses.len(), 1);
        assert_eq!(db.skipped_lines, 4);
        let nmap = db.label(&db.requests[1]);
        assert!(nmap.is_tool());
        assert_eq!(&*nmap.display, "NMap SYN scan");
        assert_eq!(nmap.sys, ["@unix", "@win"]);
        let bsd = db.label(&db.responses[0]);
        assert!(bsd.generic);
        assert_eq!(&*bsd.display, "FreeBSD");
        assert_eq!(db.requests[1].line, 10);
    }

    #[test]
    fn bad_lines_name_the_line_and_are_counted() {
        let text = "[tcp:request]\nsig = *:64:0:*:*,*:mss::0\nlabel = s:unix:Linux:x\nsig = *:64:0\nsig = *:64:0:*:*,*:mss::0\nlabel = q:a:b:c\nsig = *:64:0:*:*,*:mss::0\n[weird]\n";
        let e = Database::parse(text).unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.to_string().contains("line 2"), "{e}");
        let (db, errors) = Database::parse_lenient(text, 10);
        assert_eq!(db.bad_lines, 5);
        assert_eq!(
            errors.iter().map(|e| e.line).collect::<Vec<_>>(),
            [2, 4, 6, 7, 8]
        );
        assert_eq!(db.requests.len(), 1);
        let (_, capped) = Database::parse_lenient(text, 2);
        assert_eq!(capped.len(), 2);
    }

    #[test]
    fn unknown_class_is_refused() {
        let e =
            Database::parse("classes = win\n[tcp:request]\nlabel = s:unix:Linux:\n").unwrap_err();
        assert_eq!(e.line, 3);
    }
}
