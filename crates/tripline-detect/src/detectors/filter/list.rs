//! The analyst's filter list: named tcpdump expressions.
//!
//! A filters file holds one `name: expression` per line; `#` starts a
//! comment line, blank lines are ignored, and a long expression may not be
//! continued over several lines (one filter, one line, as in the "bad
//! events" lists analysts keep next to their tcpdump scripts). The same
//! filters may also come from a TOML table (`name = "expression"`).
//!
//! A line that is not `name: expression` is reported with the file and line
//! number and skipped; the rest of the list still loads.

use std::path::Path;
use tripline_core::{ErrorKind, InputError, Location};

/// Longest filter name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 128;
/// Longest expression accepted, in bytes.
pub const MAX_EXPRESSION_LEN: usize = 4096;
/// Most filters one list may hold; the lines beyond are reported and skipped.
pub const MAX_FILTERS: usize = 4096;

/// One named tcpdump expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedFilter {
    /// The analyst's name for it (`syn-fin`, `imap-sweep`...), used in alerts.
    pub name: String,
    /// The tcpdump/BPF expression, as libpcap compiles it.
    pub expression: String,
    /// Where it was defined: `FILE:LINE`, or `config` for the TOML table.
    pub origin: String,
}

impl NamedFilter {
    /// A filter defined in the configuration rather than a file.
    pub fn from_config(name: &str, expression: &str) -> Self {
        NamedFilter {
            name: name.trim().to_string(),
            expression: expression.trim().to_string(),
            origin: "config".into(),
        }
    }
}

/// Parses the text of a filters file called `path` (used in errors).
/// Returns the filters in file order and one error per rejected line.
pub fn parse_filter_list(text: &str, path: &str) -> (Vec<NamedFilter>, Vec<InputError>) {
    let mut filters = Vec::new();
    let mut errors = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let bad =
            |msg: String| InputError::new(path, Location::Line(line_no), ErrorKind::BadLine, msg);
        if line.chars().any(|c| c.is_control() && c != '\t') {
            errors.push(InputError::new(
                path,
                Location::Line(line_no),
                ErrorKind::Binary,
                "control characters in a filter line",
            ));
            continue;
        }
        let Some((name, expression)) = line.split_once(':') else {
            errors.push(bad(format!(
                "expected `name: expression`, found {:?}",
                shorten(line)
            )));
            continue;
        };
        let (name, expression) = (name.trim(), expression.trim());
        if let Err(msg) = check(name, expression) {
            errors.push(bad(msg));
            continue;
        }
        if filters.iter().any(|f: &NamedFilter| f.name == name) {
            errors.push(bad(format!(
                "filter `{name}` is defined twice; the first one is kept"
            )));
            continue;
        }
        if filters.len() >= MAX_FILTERS {
            errors.push(bad(format!(
                "more than {MAX_FILTERS} filters; the rest are skipped"
            )));
            break;
        }
        filters.push(NamedFilter {
            name: name.to_string(),
            expression: expression.to_string(),
            origin: format!("{path}:{line_no}"),
        });
    }
    (filters, errors)
}

/// Reads and parses a filters file. An unreadable file is one error naming it.
pub fn load_filter_file(path: &Path) -> Result<(Vec<NamedFilter>, Vec<InputError>), InputError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| InputError::new(&shown, Location::File, ErrorKind::Io, e.to_string()))?;
    let text = String::from_utf8_lossy(&bytes);
    Ok(parse_filter_list(&text, &shown))
}

/// Why a name or expression is unusable, if it is.
pub fn check(name: &str, expression: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("the filter has no name before `:`".into());
    }
    if name.len() > MAX_NAME_LEN {
        return Err(format!("filter name longer than {MAX_NAME_LEN} bytes"));
    }
    if name.chars().any(char::is_whitespace) {
        return Err(format!(
            "filter name `{}` contains white space",
            shorten(name)
        ));
    }
    if expression.is_empty() {
        return Err(format!("filter `{name}` has an empty expression"));
    }
    if expression.len() > MAX_EXPRESSION_LEN {
        return Err(format!(
            "filter `{name}`: expression longer than {MAX_EXPRESSION_LEN} bytes"
        ));
    }
    Ok(())
}

fn shorten(s: &str) -> String {
    s.chars().take(60).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_comments_and_blank_lines() {
        let text = "# bad events\n\nsyn-fin: tcp[13] & 3 = 3\n  land : ip[12:4] = ip[16:4]  \n";
        let (f, e) = parse_filter_list(text, "filters");
        assert!(e.is_empty(), "{e:?}");
        assert_eq!(f.len(), 2);
        assert_eq!(f[0].name, "syn-fin");
        assert_eq!(f[0].expression, "tcp[13] & 3 = 3");
        assert_eq!(f[0].origin, "filters:3");
        assert_eq!(f[1].name, "land");
        assert_eq!(f[1].expression, "ip[12:4] = ip[16:4]");
        assert_eq!(f[1].origin, "filters:4");
    }

    #[test]
    fn bad_lines_name_file_and_line_and_are_skipped() {
        let text = "ok: tcp\nno colon here\n: udp\nempty:\ntwo words: icmp\nok: arp\nbin: \u{1}x\nfine: ip6\n";
        let (f, e) = parse_filter_list(text, "f.txt");
        assert_eq!(
            f.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
            ["ok", "fine"]
        );
        let lines: Vec<String> = e.iter().map(|e| e.location.to_string()).collect();
        assert_eq!(
            lines,
            ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
        );
        assert!(e.iter().all(|e| e.path == "f.txt"));
        assert!(e[4].message.contains("twice"), "{}", e[4].message);
        assert!(e[0].to_string().starts_with("f.txt: line 2:"), "{}", e[0]);
    }

    #[test]
    fn expression_may_contain_colons() {
        let (f, e) = parse_filter_list("v6-host: host fd99:2::66", "x");
        assert!(e.is_empty());
        assert_eq!(f[0].expression, "host fd99:2::66");
    }

    #[test]
    fn missing_file_is_one_error() {
        let err = load_filter_file(Path::new("/nonexistent/filters")).unwrap_err();
        assert_eq!(err.kind, ErrorKind::Io);
        assert_eq!(err.path, "/nonexistent/filters");
    }
}
