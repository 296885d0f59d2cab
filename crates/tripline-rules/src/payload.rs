//! Payload keywords: content, pcre, byte_test, byte_jump, byte_extract,
//! isdataat. Values are parsed here; modifiers are applied by the option
//! parser in `options.rs`.

use crate::buffer::{Buffer, Transform};
use crate::lexer::unquote;

/// A number, or the name of a `byte_extract` variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A literal.
    Num(i64),
    /// A variable set by `byte_extract` earlier in the rule.
    Var(String),
}

impl Value {
    /// Parses a decimal or `0x` hex number, or a variable name.
    pub fn parse(s: &str) -> Result<Value, String> {
        let s = s.trim();
        if let Some(n) = parse_int(s) {
            return Ok(Value::Num(n));
        }
        let mut chars = s.chars();
        match chars.next() {
            Some(c) if c.is_ascii_alphabetic() || c == '_' => {}
            _ => return Err(format!("{s:?} is not a number or variable name")),
        }
        if chars.all(|c| c.is_ascii_alphanumeric() || c == '_') {
            Ok(Value::Var(s.to_string()))
        } else {
            Err(format!("{s:?} is not a number or variable name"))
        }
    }
}

/// Parses a signed decimal or `0x` hexadecimal integer.
pub fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    let (neg, body) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s),
    };
    let v = match body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        Some(hex) => i64::from_str_radix(hex, 16).ok()?,
        None if !body.is_empty() && body.bytes().all(|b| b.is_ascii_digit()) => {
            body.parse().ok()?
        }
        None => return None,
    };
    Some(if neg { -v } else { v })
}

/// How `fast_pattern` was given on a content.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FastPatternSpec {
    /// `fast_pattern;`
    Whole,
    /// `fast_pattern:only;` (legacy; treated like `Whole`).
    Only,
    /// `fast_pattern:offset,length;` — only this slice goes into the prefilter.
    Slice {
        /// First byte of the slice.
        offset: u16,
        /// Slice length.
        len: u16,
    },
}

/// A `content` match with its modifiers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content {
    /// The bytes to find (escapes and `|hex|` decoded).
    pub pattern: Vec<u8>,
    /// `content:!"..."`: the rule matches when the bytes are absent.
    pub negated: bool,
    /// Case-insensitive.
    pub nocase: bool,
    /// Search at most this many bytes (from the offset).
    pub depth: Option<Value>,
    /// Start searching this many bytes into the buffer.
    pub offset: Option<Value>,
    /// Start this many bytes after the previous match.
    pub distance: Option<Value>,
    /// Must end within this many bytes after the previous match.
    pub within: Option<Value>,
    /// Must be at the start of the buffer.
    pub startswith: bool,
    /// Must be at the end of the buffer.
    pub endswith: bool,
    /// Match the raw packet rather than the normalized buffer.
    pub rawbytes: bool,
    /// `fast_pattern` as given in the rule.
    pub fast_pattern: Option<FastPatternSpec>,
    /// The buffer this content looks at.
    pub buffer: Buffer,
    /// Transforms applied to that buffer.
    pub transforms: Vec<Transform>,
}

impl Content {
    /// Parses the value of `content:` (`"abc|0d 0a|"` or `!"..."`).
    pub fn parse(value: &str, buffer: Buffer, transforms: &[Transform]) -> Result<Content, String> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        if v.len() < 2 || !v.starts_with('"') || !v.ends_with('"') {
            return Err("content must be a quoted string".to_string());
        }
        let pattern = decode_content(&v[1..v.len() - 1])?;
        Ok(Content {
            pattern,
            negated,
            nocase: false,
            depth: None,
            offset: None,
            distance: None,
            within: None,
            startswith: false,
            endswith: false,
            rawbytes: false,
            fast_pattern: None,
            buffer,
            transforms: transforms.to_vec(),
        })
    }

    /// True when placement depends on an earlier match (`distance`/`within`).
    pub fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// Decodes the inside of a content string: `\;` `\"` `\\` `\:` escapes and
/// `|41 42|` hex runs.
pub fn decode_content(s: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut in_hex = false;
    let mut nibble: Option<u8> = None;
    while i < bytes.len() {
        let b = bytes[i];
        if in_hex {
            match b {
                b'|' => {
                    if nibble.is_some() {
                        return Err("odd number of hex digits in content".to_string());
                    }
                    in_hex = false;
                }
                b' ' | b'\t' => {}
                _ => {
                    let d = (b as char).to_digit(16).ok_or_else(|| {
                        format!("invalid hex character {:?} in content", b as char)
                    })? as u8;
                    match nibble.take() {
                        Some(hi) => out.push(hi << 4 | d),
                        None => nibble = Some(d),
                    }
                }
            }
        } else {
            match b {
                b'|' => in_hex = true,
                b'\\' => {
                    i += 1;
                    match bytes.get(i) {
                        Some(&e @ (b';' | b'"' | b'\\' | b':')) => out.push(e),
                        Some(&e) => {
                            return Err(format!("invalid escape '\\{}' in content", e as char));
                        }
                        None => return Err("content ends with a lone backslash".to_string()),
                    }
                }
                b'"' => return Err("unescaped '\"' in content".to_string()),
                b';' => return Err("unescaped ';' in content".to_string()),
                _ => out.push(b),
            }
        }
        i += 1;
    }
    if in_hex {
        return Err("unterminated hex run '|' in content".to_string());
    }
    if out.is_empty() {
        return Err("empty content".to_string());
    }
    Ok(out)
}

/// A `pcre` match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pcre {
    /// The expression between the slashes, as written (escapes untouched).
    pub pattern: String,
    /// The flags after the last slash, as written.
    pub flags: String,
    /// `pcre:!"..."`.
    pub negated: bool,
    /// `R`: relative to the previous match.
    pub relative: bool,
    /// The buffer (from a sticky buffer or an HTTP flag such as `U`).
    pub buffer: Buffer,
    /// Transforms applied to that buffer.
    pub transforms: Vec<Transform>,
}

impl Pcre {
    /// Parses `"/expr/flags"` (or `!"/expr/flags"`).
    pub fn parse(value: &str, buffer: Buffer, transforms: &[Transform]) -> Result<Pcre, String> {
        let v = value.trim();
        let (negated, v) = match v.strip_prefix('!') {
            Some(r) => (true, r.trim_start()),
            None => (false, v),
        };
        // Suricata also accepts an unquoted `/expression/flags`.
        let inner = if v.len() >= 2 && v.starts_with('"') && v.ends_with('"') {
            unquote(v)
        } else if v.starts_with('/') {
            v
        } else {
            return Err("pcre must be a quoted \"/expression/flags\"".to_string());
        };
        let body = inner
            .strip_prefix('/')
            .ok_or_else(|| "pcre expression must start with '/'".to_string())?;
        let close = body
            .rfind('/')
            .ok_or_else(|| "pcre expression has no closing '/'".to_string())?;
        let (pattern, flags) = (&body[..close], &body[close + 1..]);
        let mut p = Pcre {
            pattern: pattern.to_string(),
            flags: flags.to_string(),
            negated,
            relative: false,
            buffer,
            transforms: transforms.to_vec(),
        };
        for f in flags.chars() {
            let http = match f {
                'i' | 's' | 'm' | 'x' | 'A' | 'E' | 'G' | 'O' => None,
                'R' => {
                    p.relative = true;
                    None
                }
                'B' => None,
                'U' => Some(Buffer::HttpUri),
                'I' => Some(Buffer::HttpUriRaw),
                'P' => Some(Buffer::HttpRequestBody),
                'Q' => Some(Buffer::HttpResponseBody),
                'H' => Some(Buffer::HttpHeader),
                'D' => Some(Buffer::HttpHeaderRaw),
                'M' => Some(Buffer::HttpMethod),
                'C' => Some(Buffer::HttpCookie),
                'S' => Some(Buffer::HttpStatCode),
                'Y' => Some(Buffer::HttpStatMsg),
                'V' => Some(Buffer::HttpUserAgent),
                'W' => Some(Buffer::HttpHost),
                'Z' => Some(Buffer::HttpHostRaw),
                other => return Err(format!("unknown pcre flag '{other}'")),
            };
            if let Some(b) = http {
                p.buffer = b;
            }
        }
        Ok(p)
    }
}

/// Byte order for byte_* keywords.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Endian {
    /// Network order (default).
    #[default]
    Big,
    /// Little endian.
    Little,
    /// DCE/RPC (from the DCE header).
    Dce,
}

/// Number base for `string` byte_* conversions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// Decimal digits.
    Dec,
    /// Hex digits.
    Hex,
    /// Octal digits.
    Oct,
}

/// Options shared by byte_test, byte_jump and byte_extract.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteOptions {
    /// Offset is from the end of the previous match.
    pub relative: bool,
    /// Byte order.
    pub endian: Endian,
    /// The bytes are ASCII digits in this base.
    pub string: Option<Base>,
    /// AND mask applied before use.
    pub bitmask: Option<u64>,
    /// byte_jump/byte_extract: multiply the value.
    pub multiplier: Option<u64>,
    /// byte_jump: round up to 4; byte_extract: align to N.
    pub align: Option<u64>,
    /// byte_jump: jump from the start of the buffer.
    pub from_beginning: bool,
    /// byte_jump: jump from the end of the buffer.
    pub from_end: bool,
    /// byte_jump: add this after the jump.
    pub post_offset: Option<i64>,
}

/// Comparison of byte_test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOp {
    /// `<`
    Lt,
    /// `>`
    Gt,
    /// `<=`
    Le,
    /// `>=`
    Ge,
    /// `=`
    Eq,
    /// `&` (any bit of the value set)
    And,
    /// `^` (xor is non-zero)
    Xor,
}

/// `byte_test`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteTest {
    /// How many bytes to read (1-10, or up to 23 with `string`).
    pub bytes: u8,
    /// `!` before the operator.
    pub negated: bool,
    /// The comparison.
    pub op: ByteOp,
    /// Compared against.
    pub value: Value,
    /// Where to read.
    pub offset: Value,
    /// Other options.
    pub options: ByteOptions,
    /// Buffer.
    pub buffer: Buffer,
}

/// `byte_jump`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteJump {
    /// How many bytes to read.
    pub bytes: u8,
    /// The byte count as a `byte_extract` variable instead (`bytes` is 0).
    pub bytes_var: Option<String>,
    /// Where to read.
    pub offset: Value,
    /// Other options.
    pub options: ByteOptions,
    /// Buffer.
    pub buffer: Buffer,
}

/// `byte_extract`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ByteExtract {
    /// How many bytes to read.
    pub bytes: u8,
    /// Where to read.
    pub offset: i64,
    /// Variable name later keywords refer to.
    pub name: String,
    /// Other options.
    pub options: ByteOptions,
    /// Buffer.
    pub buffer: Buffer,
}

fn split_args(v: &str) -> Vec<&str> {
    v.split(',').map(str::trim).collect()
}

/// Byte count of a byte_* keyword: 1-10 for binary values, up to 23 with
/// `string`; with `string`, 0 means "all the digits that are there" (used
/// by ET Open rules and accepted by Suricata).
fn byte_count(s: &str, options: &ByteOptions) -> Result<u8, String> {
    match (s.parse::<u8>(), options.string.is_some()) {
        (Ok(n @ 1..=10), _) | (Ok(n @ 0..=23), true) => Ok(n),
        (_, false) => Err(format!(
            "byte count {s:?} is not 1-10 (or 0-23 with string)"
        )),
        (_, true) => Err(format!("byte count {s:?} is not 0-23")),
    }
}

fn num_u64(s: &str) -> Result<u64, String> {
    parse_int(s)
        .and_then(|n| u64::try_from(n).ok())
        .ok_or_else(|| format!("{s:?} is not a number"))
}

fn parse_byte_options(args: &[&str]) -> Result<ByteOptions, String> {
    let mut o = ByteOptions::default();
    for a in args {
        let (k, v) = match a.split_once(char::is_whitespace) {
            Some((k, v)) => (k, Some(v.trim())),
            None => (*a, None),
        };
        match (k, v) {
            ("relative", None) => o.relative = true,
            ("big", None) => o.endian = Endian::Big,
            ("little", None) => o.endian = Endian::Little,
            ("dce", None) => o.endian = Endian::Dce,
            ("string", None) => o.string = o.string.or(Some(Base::Dec)),
            ("dec", None) => o.string = Some(Base::Dec),
            ("hex", None) => o.string = Some(Base::Hex),
            ("oct", None) => o.string = Some(Base::Oct),
            ("align", None) => o.align = Some(4),
            ("align", Some(n)) => o.align = Some(num_u64(n)?),
            ("from_beginning", None) => o.from_beginning = true,
            ("from_end", None) => o.from_end = true,
            ("bitmask", Some(n)) => o.bitmask = Some(num_u64(n)?),
            ("multiplier", Some(n)) => o.multiplier = Some(num_u64(n)?),
            ("post_offset", Some(n)) => {
                o.post_offset = Some(parse_int(n).ok_or_else(|| format!("{n:?} is not a number"))?)
            }
            _ => return Err(format!("unknown option {a:?}")),
        }
    }
    Ok(o)
}

impl ByteTest {
    /// Parses `bytes, [!]op, value, offset[, options]`.
    pub fn parse(v: &str, buffer: Buffer) -> Result<ByteTest, String> {
        let a = split_args(v);
        if a.len() < 4 {
            return Err("byte_test needs bytes, operator, value, offset".to_string());
        }
        let (negated, op) = match a[1].strip_prefix('!') {
            Some(r) => (true, r.trim()),
            None => (false, a[1]),
        };
        let (negated, op) = match op {
            "<" => (negated, ByteOp::Lt),
            ">" => (negated, ByteOp::Gt),
            "<=" => (negated, ByteOp::Le),
            ">=" => (negated, ByteOp::Ge),
            "=" => (negated, ByteOp::Eq),
            "" if negated => (true, ByteOp::Eq),
            "&" => (negated, ByteOp::And),
            "^" => (negated, ByteOp::Xor),
            other => return Err(format!("unknown byte_test operator {other:?}")),
        };
        let options = parse_byte_options(&a[4..])?;
        Ok(ByteTest {
            bytes: byte_count(a[0], &options)?,
            negated,
            op,
            value: Value::parse(a[2])?,
            offset: Value::parse(a[3])?,
            options,
            buffer,
        })
    }
}

impl ByteJump {
    /// Parses `bytes, offset[, options]`.
    pub fn parse(v: &str, buffer: Buffer) -> Result<ByteJump, String> {
        let a = split_args(v);
        if a.len() < 2 {
            return Err("byte_jump needs bytes, offset".to_string());
        }
        let options = parse_byte_options(&a[2..])?;
        // Suricata also accepts a jump of 0 bytes read: only the offset
        // and post_offset move the position.
        let (bytes, bytes_var) = match a[0] {
            "0" => (0, None),
            n if n.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') => {
                (0, Some(n.to_string()))
            }
            n => (byte_count(n, &options)?, None),
        };
        Ok(ByteJump {
            bytes,
            bytes_var,
            offset: Value::parse(a[1])?,
            options,
            buffer,
        })
    }
}

impl ByteExtract {
    /// Parses `bytes, offset, name[, options]`.
    pub fn parse(v: &str, buffer: Buffer) -> Result<ByteExtract, String> {
        let a = split_args(v);
        if a.len() < 3 {
            return Err("byte_extract needs bytes, offset, name".to_string());
        }
        let Value::Var(name) = Value::parse(a[2])? else {
            return Err(format!("{:?} is not a variable name", a[2]));
        };
        let options = parse_byte_options(&a[3..])?;
        Ok(ByteExtract {
            bytes: byte_count(a[0], &options)?,
            offset: parse_int(a[1]).ok_or_else(|| format!("{:?} is not a number", a[1]))?,
            name,
            options,
            buffer,
        })
    }
}

/// `isdataat:[!]N[,relative][,rawbytes]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsDataAt {
    /// `!`: true when there is NO data at that position.
    pub negated: bool,
    /// The position.
    pub position: Value,
    /// Relative to the previous match.
    pub relative: bool,
    /// Buffer.
    pub buffer: Buffer,
}

impl IsDataAt {
    /// Parses the value of `isdataat`.
    pub fn parse(v: &str, buffer: Buffer) -> Result<IsDataAt, String> {
        let a = split_args(v);
        let (negated, pos) = match a[0].strip_prefix('!') {
            Some(r) => (true, r),
            None => (false, a[0]),
        };
        let mut d = IsDataAt {
            negated,
            position: Value::parse(pos)?,
            relative: false,
            buffer,
        };
        for opt in &a[1..] {
            match *opt {
                "relative" => d.relative = true,
                "rawbytes" => {}
                other => return Err(format!("unknown isdataat option {other:?}")),
            }
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_hex_and_escapes() {
        let c = Content::parse(r#""GET |20 2f|a\;b\"c\\d""#, Buffer::Packet, &[]).unwrap();
        assert_eq!(c.pattern, b"GET  /a;b\"c\\d");
        let n = Content::parse(r#"!"|00|""#, Buffer::Packet, &[]).unwrap();
        assert!(n.negated);
        assert_eq!(n.pattern, vec![0]);
        assert_eq!(
            decode_content("|0|"),
            Err("odd number of hex digits in content".into())
        );
        assert_eq!(
            decode_content("|0g|"),
            Err("invalid hex character 'g' in content".into())
        );
        assert_eq!(
            decode_content("a|00"),
            Err("unterminated hex run '|' in content".into())
        );
        assert_eq!(
            decode_content("a\\x"),
            Err("invalid escape '\\x' in content".into())
        );
    }

    #[test]
    fn pcre_flags_pick_http_buffer() {
        let p = Pcre::parse(r#""/^\/a\;b\/c/Ui""#, Buffer::Packet, &[]).unwrap();
        assert_eq!(p.pattern, r"^\/a\;b\/c");
        assert_eq!(p.flags, "Ui");
        assert_eq!(p.buffer, Buffer::HttpUri);
        let r = Pcre::parse(r#"!"/x/R""#, Buffer::DnsQuery, &[]).unwrap();
        assert!(r.negated && r.relative && r.buffer == Buffer::DnsQuery);
        assert!(Pcre::parse(r#""/x/q""#, Buffer::Packet, &[]).is_err());
    }

    #[test]
    fn byte_keywords() {
        let t = ByteTest::parse("2,!&,0x8000,2,relative,little", Buffer::Packet).unwrap();
        assert!(t.negated);
        assert_eq!(t.op, ByteOp::And);
        assert_eq!(t.value, Value::Num(0x8000));
        assert!(t.options.relative && t.options.endian == Endian::Little);
        let j =
            ByteJump::parse("4,0,relative,multiplier 2,post_offset -4", Buffer::Packet).unwrap();
        assert_eq!(j.options.multiplier, Some(2));
        assert_eq!(j.options.post_offset, Some(-4));
        let e = ByteExtract::parse("1,0,len,relative", Buffer::Packet).unwrap();
        assert_eq!(e.name, "len");
        assert!(ByteTest::parse("2,=", Buffer::Packet).is_err());
        assert!(ByteTest::parse("0,>,5,0,string,dec", Buffer::Packet).is_ok());
        assert_eq!(
            ByteTest::parse("0,>,5,0", Buffer::Packet),
            Err("byte count \"0\" is not 1-10 (or 0-23 with string)".into())
        );
        assert!(ByteTest::parse("12,>,5,0", Buffer::Packet).is_err());
        let j = ByteJump::parse("0,0,relative,post_offset -8", Buffer::Packet).unwrap();
        assert_eq!((j.bytes, j.options.post_offset), (0, Some(-8)));
        let j = ByteJump::parse("rpkt_len,0,relative", Buffer::Packet).unwrap();
        assert_eq!(j.bytes_var.as_deref(), Some("rpkt_len"));
        let d = IsDataAt::parse("!1,relative", Buffer::Packet).unwrap();
        assert!(d.negated && d.relative && d.position == Value::Num(1));
    }
}
