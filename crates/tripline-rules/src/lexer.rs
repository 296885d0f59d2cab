//! Splitting one rule into its header tokens and its `name:value;` options.
//!
//! This is the only place that knows about quoting: option values end at the
//! first `;` that is neither escaped (`\;`) nor inside a `"..."` string, and a
//! `"` preceded by a backslash does not open or close a string. Everything
//! returned borrows from the rule text.

use thiserror::Error;

/// A rule split into its parts, borrowing from the rule text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRule<'a> {
    /// The action word (`alert`, `drop`, ...).
    pub action: &'a str,
    /// The six header fields after the action: protocol, source, source
    /// ports, direction, destination, destination ports.
    pub header: [&'a str; 6],
    /// The options in rule order.
    pub options: Vec<RawOption<'a>>,
}

/// One `name` or `name:value` option, value untrimmed of quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawOption<'a> {
    /// The keyword, e.g. `content`.
    pub name: &'a str,
    /// Text after the `:` up to the terminating `;`, trimmed; `None` for
    /// keywords without a value such as `nocase`.
    pub value: Option<&'a str>,
}

/// Why a rule could not be split.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum LexError {
    /// The rule has no `(` starting its options.
    #[error("missing '(' before the rule options")]
    MissingOptions,
    /// The options are not closed by a final `)`.
    #[error("rule options are not closed by ')'")]
    UnclosedOptions,
    /// The header does not have action + 6 fields.
    #[error(
        "rule header has {0} fields, expected 7 (action protocol source ports direction destination ports)"
    )]
    HeaderFields(usize),
    /// A `[` list in the header is not closed.
    #[error("unbalanced '[' in rule header")]
    UnbalancedList,
    /// A quoted string in an option value is not closed.
    #[error("unterminated quoted string in option '{0}'")]
    UnterminatedQuote(String),
    /// The last option is not followed by `;`.
    #[error("option '{0}' is not terminated by ';'")]
    UnterminatedOption(String),
    /// An option name is empty or contains characters keywords never have.
    #[error("invalid option name {0:?}")]
    BadOptionName(String),
}

/// Splits a rule (one logical line, continuations already joined).
pub fn split_rule(text: &str) -> Result<RawRule<'_>, LexError> {
    let text = text.trim();
    let open = text.find('(').ok_or(LexError::MissingOptions)?;
    let (head, rest) = text.split_at(open);
    let body = rest[1..].trim_end();
    let body = body.strip_suffix(')').ok_or(LexError::UnclosedOptions)?;
    let mut fields = [""; 7];
    let mut count = 0;
    for tok in header_tokens(head)? {
        if count < 7 {
            fields[count] = tok;
        }
        count += 1;
    }
    if count != 7 {
        return Err(LexError::HeaderFields(count));
    }
    let options = split_options(body)?;
    Ok(RawRule {
        action: fields[0],
        header: [
            fields[1], fields[2], fields[3], fields[4], fields[5], fields[6],
        ],
        options,
    })
}

/// Whitespace-separated header tokens; whitespace inside `[...]` does not split.
fn header_tokens(head: &str) -> Result<Vec<&str>, LexError> {
    let mut out = Vec::with_capacity(7);
    let mut depth = 0usize;
    let mut start: Option<usize> = None;
    for (i, c) in head.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.checked_sub(1).ok_or(LexError::UnbalancedList)?,
            _ => {}
        }
        if c.is_whitespace() && depth == 0 {
            if let Some(s) = start.take() {
                out.push(&head[s..i]);
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if depth != 0 {
        return Err(LexError::UnbalancedList);
    }
    if let Some(s) = start {
        out.push(&head[s..]);
    }
    Ok(out)
}

/// Splits the text between the parentheses into options.
pub fn split_options(body: &str) -> Result<Vec<RawOption<'_>>, LexError> {
    let bytes = body.as_bytes();
    let mut out = Vec::with_capacity(16);
    let mut i = 0;
    while i < bytes.len() {
        while i < bytes.len() && bytes[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= bytes.len() {
            break;
        }
        let name_start = i;
        while i < bytes.len() && bytes[i] != b':' && bytes[i] != b';' {
            i += 1;
        }
        let name = body[name_start..i].trim();
        if name.is_empty()
            || !name
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(LexError::BadOptionName(name.to_string()));
        }
        if i >= bytes.len() {
            return Err(LexError::UnterminatedOption(name.to_string()));
        }
        if bytes[i] == b';' {
            out.push(RawOption { name, value: None });
            i += 1;
            continue;
        }
        // bytes[i] == b':'. As in Suricata, the value ends at the first `;`
        // not escaped by a backslash; quotes do not protect a `;` (ET Open
        // has pcre values with a bare `"` inside, e.g. `/^["']?post/`).
        i += 1;
        let value_start = i;
        let mut end = None;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 1,
                b';' => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
            i += 1;
        }
        let Some(end) = end else {
            return Err(if opens_quote(&body[value_start..]) {
                LexError::UnterminatedQuote(name.to_string())
            } else {
                LexError::UnterminatedOption(name.to_string())
            });
        };
        let value = body[value_start..end].trim();
        if opens_quote(value) && !closes_quote(value) {
            return Err(LexError::UnterminatedQuote(name.to_string()));
        }
        out.push(RawOption {
            name,
            value: Some(value),
        });
        i = end + 1;
    }
    Ok(out)
}

/// True when a value starts a quoted string (`"..` or `!"..`).
fn opens_quote(value: &str) -> bool {
    let v = value.trim_start();
    v.starts_with('"')
        || v.strip_prefix('!')
            .is_some_and(|r| r.trim_start().starts_with('"'))
}

/// True when a quoted value ends with a closing `"` that is not escaped
/// (an even number of backslashes before it) and is not the opening one.
fn closes_quote(value: &str) -> bool {
    let v = value.trim_start_matches('!').trim_start();
    let Some(head) = v.strip_suffix('"') else {
        return false;
    };
    if head.is_empty() {
        return false;
    }
    let backslashes = head.bytes().rev().take_while(|&b| b == b'\\').count();
    backslashes % 2 == 0
}

/// Removes one pair of surrounding double quotes, if present.
pub fn unquote(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(s)
}

/// Turns `\;` `\"` `\\` `\:` escapes in a quoted value into their characters.
pub fn unescape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('\\') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(n @ (';' | '"' | '\\' | ':')) => out.push(n),
                Some(n) => {
                    out.push('\\');
                    out.push(n);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaped_semicolon_and_quote_stay_in_content() {
        let r = split_rule(
            r#"alert tcp any any -> any 80 (msg:"a\;b \"q\""; content:"x\;y|3b|\\"; sid:1;)"#,
        )
        .unwrap();
        assert_eq!(r.options.len(), 3);
        assert_eq!(r.options[0].value, Some(r#""a\;b \"q\"""#));
        assert_eq!(r.options[1].value, Some(r#""x\;y|3b|\\""#));
        assert_eq!(unescape(unquote(r.options[0].value.unwrap())), r#"a;b "q""#);
    }

    #[test]
    fn unescaped_semicolon_in_quotes_ends_value_like_suricata() {
        assert_eq!(
            split_rule(r#"alert tcp any any -> any any (content:"a;b"; sid:2;)"#),
            Err(LexError::UnterminatedQuote("content".into()))
        );
        // a bare quote inside a pcre is fine as long as the value is closed
        let r =
            split_rule(r#"alert tcp any any -> any any (pcre:"/^["']?post/Ri"; sid:2;)"#).unwrap();
        assert_eq!(r.options[0].value, Some(r#""/^["']?post/Ri""#));
        // `\\` before the closing quote is an escaped backslash: closed
        let r = split_rule(r#"alert tcp any any -> any any (content:"a\\"; sid:2;)"#).unwrap();
        assert_eq!(r.options[0].value, Some(r#""a\\""#));
        // `\"` is an escaped quote: the string is not closed
        assert_eq!(
            split_rule(r#"alert tcp any any -> any any (content:"a\"; sid:2;)"#),
            Err(LexError::UnterminatedQuote("content".into()))
        );
    }

    #[test]
    fn header_lists_with_spaces_are_one_token() {
        let r = split_rule("alert tcp [1.1.1.1, !2.2.2.2] [80, 443] -> $HOME_NET any (sid:1;)")
            .unwrap();
        assert_eq!(r.header[1], "[1.1.1.1, !2.2.2.2]");
        assert_eq!(r.header[2], "[80, 443]");
        assert_eq!(r.header[3], "->");
    }

    #[test]
    fn errors() {
        assert_eq!(
            split_rule(r#"alert tcp any any -> any any (msg:"open; sid:1;)"#),
            Err(LexError::UnterminatedQuote("msg".into()))
        );
        assert_eq!(
            split_rule("alert tcp any any -> any any (sid:1)"),
            Err(LexError::UnterminatedOption("sid".into()))
        );
        assert_eq!(
            split_rule("alert tcp any any -> any (sid:1;)"),
            Err(LexError::HeaderFields(6))
        );
        assert_eq!(
            split_rule("alert tcp any any -> any any sid:1;"),
            Err(LexError::MissingOptions)
        );
        assert_eq!(
            split_rule("alert tcp [1.1.1.1 any -> any any (sid:1;)"),
            Err(LexError::UnbalancedList)
        );
    }

    #[test]
    fn keyword_without_value() {
        let r = split_rule("alert ip any any -> any any (sameip; nocase ; sid:9;)").unwrap();
        assert_eq!(
            r.options[0],
            RawOption {
                name: "sameip",
                value: None
            }
        );
        assert_eq!(
            r.options[1],
            RawOption {
                name: "nocase",
                value: None
            }
        );
    }
}
