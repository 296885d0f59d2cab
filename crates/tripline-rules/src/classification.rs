//! `classification.config`: the `classtype` names, their descriptions
//! (EVE's `category`) and default priorities (EVE's `severity`).

use std::collections::HashMap;

/// One `config classification: shortname,description,priority` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classification {
    /// The name rules use in `classtype`.
    pub name: String,
    /// Human description (EVE `alert.category`).
    pub description: String,
    /// Default priority, 1 = most severe.
    pub priority: u8,
}

/// All classifications by short name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classifications {
    by_name: HashMap<String, Classification>,
}

/// A line of classification.config that did not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ClassificationError {
    /// 1-based line number.
    pub line: u64,
    /// What is wrong.
    pub message: String,
}

impl Classifications {
    /// Parses the file text; bad lines are returned as errors and skipped.
    pub fn parse(text: &str) -> (Classifications, Vec<ClassificationError>) {
        let mut c = Classifications::default();
        let mut errors = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line_no = i as u64 + 1;
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            match parse_line(t) {
                Ok(cl) => {
                    c.by_name.insert(cl.name.clone(), cl);
                }
                Err(message) => errors.push(ClassificationError {
                    line: line_no,
                    message,
                }),
            }
        }
        (c, errors)
    }

    /// Looks up a classtype.
    pub fn get(&self, name: &str) -> Option<&Classification> {
        self.by_name.get(name)
    }

    /// Number of classifications.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when none are defined.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

fn parse_line(t: &str) -> Result<Classification, String> {
    let rest = t
        .strip_prefix("config")
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix("classification"))
        .map(str::trim_start)
        .and_then(|r| r.strip_prefix(':'))
        .ok_or_else(|| "expected 'config classification: name,description,priority'".to_string())?;
    let mut parts = rest.splitn(3, ',').map(str::trim);
    let (Some(name), Some(description), Some(priority)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err("expected name,description,priority".to_string());
    };
    if name.is_empty() {
        return Err("empty classification name".to_string());
    }
    let priority = priority
        .parse::<u8>()
        .ok()
        .filter(|p| *p >= 1)
        .ok_or_else(|| format!("priority {priority:?} is not 1-255"))?;
    Ok(Classification {
        name: name.to_string(),
        description: description.to_string(),
        priority,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_reports_bad_lines() {
        let text = "# comment\nconfig classification: trojan-activity,A Network Trojan was detected, 1\n\nconfig classification: bad,no priority\nconfig classification:web-application-attack,Web Application Attack,1\n";
        let (c, errs) = Classifications::parse(text);
        assert_eq!(c.len(), 2);
        assert_eq!(c.get("trojan-activity").unwrap().priority, 1);
        assert_eq!(
            c.get("trojan-activity").unwrap().description,
            "A Network Trojan was detected"
        );
        assert_eq!(
            errs,
            vec![ClassificationError {
                line: 4,
                message: "expected name,description,priority".into()
            }]
        );
    }
}
