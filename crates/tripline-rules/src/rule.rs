//! A parsed rule and the assembly of its options in rule order.

use crate::buffer::{Buffer, Transform};
use crate::fast_pattern::{FastPattern, choose_fast_pattern};
use crate::header::{HeaderError, RuleHeader, parse_header};
use crate::lexer::{LexError, RawOption, split_rule, unescape, unquote};
use crate::options::{Cmp, Flow, Flowbit, FlowbitsOption, HeaderTest, Threshold, Xbit};
use crate::payload::{
    ByteExtract, ByteJump, ByteTest, Content, FastPatternSpec, IsDataAt, Pcre, Value,
};
use crate::vars::Variables;
use thiserror::Error;

/// One payload or application-buffer test, in rule order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detection {
    /// `content`
    Content(Content),
    /// `pcre`
    Pcre(Pcre),
    /// `byte_test`
    ByteTest(ByteTest),
    /// `byte_jump`
    ByteJump(ByteJump),
    /// `byte_extract`
    ByteExtract(ByteExtract),
    /// `isdataat`
    IsDataAt(IsDataAt),
    /// `bsize`: size of the current sticky buffer.
    Bsize {
        /// The buffer measured.
        buffer: Buffer,
        /// Comparison.
        cmp: Cmp,
    },
    /// `urilen`: length of the HTTP URI.
    Urilen {
        /// Comparison.
        cmp: Cmp,
        /// `raw` rather than normalized URI.
        raw: bool,
    },
}

impl Detection {
    /// The buffer this test looks at.
    pub fn buffer(&self) -> Buffer {
        match self {
            Detection::Content(c) => c.buffer,
            Detection::Pcre(p) => p.buffer,
            Detection::ByteTest(b) => b.buffer,
            Detection::ByteJump(b) => b.buffer,
            Detection::ByteExtract(b) => b.buffer,
            Detection::IsDataAt(d) => d.buffer,
            Detection::Bsize { buffer, .. } => *buffer,
            Detection::Urilen { raw: false, .. } => Buffer::HttpUri,
            Detection::Urilen { raw: true, .. } => Buffer::HttpUriRaw,
        }
    }
}

/// A `reference:system,id` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `url`, `cve`, `md5`, ...
    pub system: String,
    /// The identifier or URL.
    pub id: String,
}

/// `target:src_ip|dest_ip`: which side is the target of the attack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The source is the target.
    SrcIp,
    /// The destination is the target.
    DestIp,
}

/// A fully parsed signature.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Action, protocol, addresses, ports, direction.
    pub header: RuleHeader,
    /// Signature id.
    pub sid: u32,
    /// Generator id (default 1).
    pub gid: u32,
    /// Revision (default 0).
    pub rev: u32,
    /// Alert message.
    pub msg: String,
    /// Classification short name.
    pub classtype: Option<String>,
    /// Explicit priority (else from the classification).
    pub priority: Option<u8>,
    /// References.
    pub references: Vec<Reference>,
    /// `metadata` key/value pairs in order.
    pub metadata: Vec<(String, String)>,
    /// `target`.
    pub target: Option<Target>,
    /// Payload and buffer tests in rule order.
    pub detections: Vec<Detection>,
    /// `flow:`.
    pub flow: Flow,
    /// `flowbits` operations in order.
    pub flowbits: Vec<Flowbit>,
    /// `xbits` operations in order.
    pub xbits: Vec<Xbit>,
    /// `flowbits:noalert` / `noalert`: match silently.
    pub noalert: bool,
    /// `threshold`.
    pub threshold: Option<Threshold>,
    /// `detection_filter`.
    pub detection_filter: Option<Threshold>,
    /// Header field tests.
    pub header_tests: Vec<HeaderTest>,
    /// The content chosen for the multi-pattern prefilter.
    pub fast_pattern: Option<FastPattern>,
}

impl Rule {
    /// True when the rule needs nothing but header fields and flow state
    /// (no content, pcre, byte_* or application buffer), so it can run on
    /// firewall log records as well as packets.
    pub fn is_header_only(&self) -> bool {
        self.detections.is_empty()
            && !matches!(self.header.protocol, crate::header::Protocol::App(_))
            && !self
                .header_tests
                .iter()
                .any(|t| matches!(t, HeaderTest::StreamSize { .. }))
    }

    /// The content chosen as fast pattern, if any.
    pub fn fast_pattern_content(&self) -> Option<&Content> {
        let fp = self.fast_pattern?;
        match self.detections.get(fp.detection)? {
            Detection::Content(c) => Some(c),
            _ => None,
        }
    }
}

/// Why a rule was not loaded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleError {
    /// The rule text could not be split.
    #[error("{0}")]
    Lex(#[from] LexError),
    /// The header is malformed.
    #[error("{0}")]
    Header(HeaderError),
    /// A keyword's value is malformed.
    #[error("invalid {keyword}: {message}")]
    Option {
        /// The keyword.
        keyword: String,
        /// What is wrong.
        message: String,
    },
    /// No `sid`.
    #[error("rule has no sid")]
    MissingSid,
    /// A valid keyword tripline does not support yet: the rule is skipped.
    #[error("unsupported keyword '{0}'")]
    UnsupportedKeyword(String),
    /// A valid protocol tripline does not inspect: the rule is skipped.
    #[error("unsupported protocol '{0}'")]
    UnsupportedProtocol(String),
}

impl RuleError {
    /// The skip reason when the rule is valid but unsupported (used as the
    /// counter key in the load summary), `None` for syntax errors.
    pub fn skip_reason(&self) -> Option<String> {
        match self {
            RuleError::UnsupportedKeyword(k) => Some(format!("keyword {k}")),
            RuleError::UnsupportedProtocol(p) => Some(format!("protocol {p}")),
            _ => None,
        }
    }
}

impl From<HeaderError> for RuleError {
    fn from(e: HeaderError) -> RuleError {
        match e {
            HeaderError::UnsupportedProtocol(p) => RuleError::UnsupportedProtocol(p),
            other => RuleError::Header(other),
        }
    }
}

fn invalid(keyword: &str, message: impl Into<String>) -> RuleError {
    RuleError::Option {
        keyword: keyword.to_string(),
        message: message.into(),
    }
}

/// Parses one rule (continuations already joined, comments removed).
pub fn parse_rule(text: &str, vars: &Variables) -> Result<Rule, RuleError> {
    let raw = split_rule(text)?;
    let header = parse_header(raw.action, &raw.header, vars)?;
    let mut b = Builder::new(header);
    for opt in &raw.options {
        b.option(opt)?;
    }
    b.finish()
}

struct Builder {
    rule: Rule,
    sid: Option<u32>,
    buffer: Buffer,
    transforms: Vec<Transform>,
    last_content: Option<usize>,
    /// The buffer a legacy modifier (`http_uri`, ...) moved the latest
    /// content to, while no sticky buffer is set: relative keywords after
    /// it (`isdataat:N,relative`, `byte_*` with `relative`, pcre `/R`)
    /// work in that buffer, as in Suricata.
    moved_to: Option<Buffer>,
}

impl Builder {
    fn new(header: RuleHeader) -> Builder {
        Builder {
            rule: Rule {
                header,
                sid: 0,
                gid: 1,
                rev: 0,
                msg: String::new(),
                classtype: None,
                priority: None,
                references: Vec::new(),
                metadata: Vec::new(),
                target: None,
                detections: Vec::new(),
                flow: Flow::default(),
                flowbits: Vec::new(),
                xbits: Vec::new(),
                noalert: false,
                threshold: None,
                detection_filter: None,
                header_tests: Vec::new(),
                fast_pattern: None,
            },
            sid: None,
            buffer: Buffer::Packet,
            transforms: Vec::new(),
            last_content: None,
            moved_to: None,
        }
    }

    fn content_mut(&mut self, keyword: &str) -> Result<&mut Content, RuleError> {
        match self
            .last_content
            .and_then(|i| self.rule.detections.get_mut(i))
        {
            Some(Detection::Content(c)) => Ok(c),
            _ => Err(invalid(keyword, "modifier without a preceding content")),
        }
    }

    fn option(&mut self, opt: &RawOption<'_>) -> Result<(), RuleError> {
        let k = opt.name;
        let need = || opt.value.ok_or_else(|| invalid(k, "needs a value"));
        let num = |v: &str| -> Result<u32, RuleError> {
            v.trim()
                .parse::<u32>()
                .map_err(|_| invalid(k, format!("{:?} is not a number", v.trim())))
        };
        let value_of = |v: &str| Value::parse(v).map_err(|m| invalid(k, m));
        match k {
            "msg" => self.rule.msg = unescape(unquote(need()?)).into_owned(),
            "sid" => {
                let n = num(need()?)?;
                if n == 0 {
                    return Err(invalid(k, "sid must not be 0"));
                }
                self.sid = Some(n);
            }
            "rev" => self.rule.rev = num(need()?)?,
            "gid" => self.rule.gid = num(need()?)?,
            "classtype" => self.rule.classtype = Some(need()?.trim().to_string()),
            "priority" => {
                let p = num(need()?)?;
                self.rule.priority = Some(
                    u8::try_from(p)
                        .ok()
                        .filter(|p| *p >= 1)
                        .ok_or_else(|| invalid(k, "priority must be 1-255"))?,
                );
            }
            "reference" => {
                let v = need()?;
                let (system, id) = v
                    .split_once(',')
                    .ok_or_else(|| invalid(k, "expected system,id"))?;
                self.rule.references.push(Reference {
                    system: system.trim().to_string(),
                    id: id.trim().to_string(),
                });
            }
            "metadata" => {
                for item in need()?.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    let (key, val) = item.split_once(char::is_whitespace).unwrap_or((item, ""));
                    self.rule
                        .metadata
                        .push((key.to_string(), val.trim().to_string()));
                }
            }
            "target" => {
                self.rule.target = Some(match need()?.trim() {
                    "src_ip" => Target::SrcIp,
                    "dest_ip" => Target::DestIp,
                    other => {
                        return Err(invalid(
                            k,
                            format!("{other:?} (expected src_ip or dest_ip)"),
                        ));
                    }
                })
            }
            "content" => {
                let c = Content::parse(need()?, self.buffer, &self.transforms)
                    .map_err(|m| invalid(k, m))?;
                self.rule.detections.push(Detection::Content(c));
                self.last_content = Some(self.rule.detections.len() - 1);
                self.moved_to = None;
            }
            "nocase" => self.content_mut(k)?.nocase = true,
            "rawbytes" => self.content_mut(k)?.rawbytes = true,
            "startswith" => self.content_mut(k)?.startswith = true,
            "endswith" => self.content_mut(k)?.endswith = true,
            "depth" => {
                let v = value_of(need()?)?;
                self.content_mut(k)?.depth = Some(v)
            }
            "offset" => {
                let v = value_of(need()?)?;
                self.content_mut(k)?.offset = Some(v)
            }
            "distance" => {
                let v = value_of(need()?)?;
                self.content_mut(k)?.distance = Some(v)
            }
            "within" => {
                let v = value_of(need()?)?;
                self.content_mut(k)?.within = Some(v)
            }
            "fast_pattern" => {
                let spec = match opt.value.map(str::trim) {
                    None => FastPatternSpec::Whole,
                    Some("only") => FastPatternSpec::Only,
                    Some(v) => {
                        let (o, l) = v.split_once(',').ok_or_else(|| {
                            invalid(k, format!("{v:?} (expected only or offset,length)"))
                        })?;
                        let p = |s: &str| {
                            s.trim().parse::<u16>().map_err(|_| {
                                invalid(k, format!("{v:?} (expected only or offset,length)"))
                            })
                        };
                        FastPatternSpec::Slice {
                            offset: p(o)?,
                            len: p(l)?,
                        }
                    }
                };
                if self
                    .rule
                    .detections
                    .iter()
                    .any(|d| matches!(d, Detection::Content(c) if c.fast_pattern.is_some()))
                {
                    return Err(invalid(k, "only one fast_pattern per rule"));
                }
                let c = self.content_mut(k)?;
                if let FastPatternSpec::Slice { offset, len } = spec
                    && (len == 0 || usize::from(offset) + usize::from(len) > c.pattern.len())
                {
                    return Err(invalid(k, "slice lies outside the content"));
                }
                c.fast_pattern = Some(spec);
            }
            "pcre" => {
                let mut p = Pcre::parse(need()?, self.buffer, &self.transforms)
                    .map_err(|m| invalid(k, m))?;
                if p.relative && p.buffer == Buffer::Packet {
                    p.buffer = self.relative_buffer();
                }
                self.rule.detections.push(Detection::Pcre(p));
            }
            "byte_test" => {
                let mut d = ByteTest::parse(need()?, self.buffer).map_err(|m| invalid(k, m))?;
                if d.options.relative {
                    d.buffer = self.relative_buffer();
                }
                self.rule.detections.push(Detection::ByteTest(d));
            }
            "byte_jump" => {
                let mut d = ByteJump::parse(need()?, self.buffer).map_err(|m| invalid(k, m))?;
                if d.options.relative {
                    d.buffer = self.relative_buffer();
                }
                self.rule.detections.push(Detection::ByteJump(d));
            }
            "byte_extract" => {
                let mut d = ByteExtract::parse(need()?, self.buffer).map_err(|m| invalid(k, m))?;
                if d.options.relative {
                    d.buffer = self.relative_buffer();
                }
                self.rule.detections.push(Detection::ByteExtract(d));
            }
            "isdataat" => {
                let mut d = IsDataAt::parse(need()?, self.buffer).map_err(|m| invalid(k, m))?;
                if d.relative {
                    d.buffer = self.relative_buffer();
                }
                self.rule.detections.push(Detection::IsDataAt(d));
            }
            "bsize" => {
                if self.buffer == Buffer::Packet {
                    return Err(invalid(k, "needs a sticky buffer before it"));
                }
                let cmp = Cmp::parse(need()?).map_err(|m| invalid(k, m))?;
                self.rule.detections.push(Detection::Bsize {
                    buffer: self.buffer,
                    cmp,
                });
            }
            "urilen" => {
                let v = need()?;
                let (c, kind) = v
                    .split_once(',')
                    .map(|(c, r)| (c, Some(r.trim())))
                    .unwrap_or((v, None));
                let raw = match kind {
                    None | Some("norm") => false,
                    Some("raw") => true,
                    Some(o) => return Err(invalid(k, format!("{o:?} (expected norm or raw)"))),
                };
                let cmp = Cmp::parse(c).map_err(|m| invalid(k, m))?;
                self.rule.detections.push(Detection::Urilen { cmp, raw });
            }
            "flow" => self.rule.flow = Flow::parse(need()?).map_err(|m| invalid(k, m))?,
            "flowbits" => match FlowbitsOption::parse(need()?).map_err(|m| invalid(k, m))? {
                FlowbitsOption::NoAlert => self.rule.noalert = true,
                FlowbitsOption::Bit(b) => self.rule.flowbits.push(b),
            },
            "noalert" => self.rule.noalert = true,
            "xbits" => self
                .rule
                .xbits
                .push(Xbit::parse(need()?).map_err(|m| invalid(k, m))?),
            "threshold" => {
                self.rule.threshold =
                    Some(Threshold::parse(need()?, false).map_err(|m| invalid(k, m))?)
            }
            "detection_filter" => {
                self.rule.detection_filter =
                    Some(Threshold::parse(need()?, true).map_err(|m| invalid(k, m))?)
            }
            _ => {
                if let Some(t) = HeaderTest::parse(k, opt.value) {
                    self.rule.header_tests.push(t.map_err(|m| invalid(k, m))?);
                } else if let Some(b) = Buffer::from_sticky(k) {
                    self.buffer = b;
                    self.transforms.clear();
                    self.moved_to = None;
                } else if let Some(b) = Buffer::from_legacy_modifier(k) {
                    self.content_mut(k)?.buffer = b;
                    self.moved_to = (self.buffer == Buffer::Packet).then_some(b);
                } else if let Some(t) = Transform::from_keyword(k) {
                    if self.buffer == Buffer::Packet {
                        return Err(invalid(k, "transform needs a sticky buffer before it"));
                    }
                    self.transforms.push(t);
                } else {
                    // Suricata has many more keywords than tripline evaluates;
                    // a rule using one is skipped (and counted), not rejected.
                    return Err(RuleError::UnsupportedKeyword(k.to_string()));
                }
            }
        }
        Ok(())
    }

    /// The buffer of a relative keyword: the one a legacy modifier moved
    /// the latest content to, else the current one.
    fn relative_buffer(&self) -> Buffer {
        self.moved_to.unwrap_or(self.buffer)
    }

    fn finish(mut self) -> Result<Rule, RuleError> {
        self.rule.sid = self.sid.ok_or(RuleError::MissingSid)?;
        self.rule.fast_pattern = choose_fast_pattern(&self.rule.detections);
        Ok(self.rule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::Protocol;

    fn parse(opts: &str, proto: &str) -> Result<Rule, RuleError> {
        parse_rule(
            &format!("alert {proto} any any -> any any ({opts})"),
            &Variables::empty(),
        )
    }

    #[test]
    fn sticky_buffers_transforms_and_legacy_modifiers_in_order() {
        let r = parse(
            r#"msg:"m"; dns.query; dotprefix; to_lowercase; content:".evil.com"; endswith; pkt_data; content:"x"; http_uri; pcre:"/a/"; sid:5; rev:3; gid:2;"#,
            "dns",
        )
        .unwrap();
        let Detection::Content(c0) = &r.detections[0] else {
            panic!("content")
        };
        assert_eq!(c0.buffer, Buffer::DnsQuery);
        assert_eq!(
            c0.transforms,
            vec![Transform::DotPrefix, Transform::ToLowercase]
        );
        assert!(c0.endswith);
        let Detection::Content(c1) = &r.detections[1] else {
            panic!("content")
        };
        assert_eq!(
            (c1.buffer, c1.transforms.is_empty()),
            (Buffer::HttpUri, true)
        );
        assert_eq!(r.detections[2].buffer(), Buffer::Packet);
        assert_eq!((r.sid, r.rev, r.gid), (5, 3, 2));
        assert!(!r.is_header_only());
    }

    #[test]
    fn relative_keywords_follow_a_content_a_legacy_modifier_moved() {
        let buffers = |opts: &str| -> Vec<Buffer> {
            parse(&format!("{opts} sid:1;"), "tcp")
                .unwrap()
                .detections
                .iter()
                .map(Detection::buffer)
                .collect()
        };
        use Buffer::{HttpUri, HttpUriRaw, Packet};
        assert_eq!(
            buffers(r#"content:"/c/"; http_raw_uri; isdataat:4,relative;"#),
            [HttpUriRaw, HttpUriRaw]
        );
        assert_eq!(
            buffers(
                r#"content:"a"; http_uri; byte_test:1,=,1,0,relative; pcre:"/b/R"; isdataat:1;"#
            ),
            [HttpUri, HttpUri, HttpUri, Packet]
        );
        // A later payload content: relative keywords work in the payload.
        assert_eq!(
            buffers(r#"content:"a"; http_uri; content:"b"; isdataat:1,relative;"#),
            [HttpUri, Packet, Packet]
        );
        assert_eq!(
            buffers(r#"http.uri; content:"a"; isdataat:1,relative;"#),
            [HttpUri, HttpUri]
        );
    }

    #[test]
    fn metadata_references_and_header_only() {
        let r = parse(
            r#"msg:"ET SCAN x"; flags:S,12; dsize:0; reference:url,example.com/a; metadata:created_at 2024_01_01, signature_severity Major; classtype:attempted-recon; priority:2; target:dest_ip; threshold:type both, track by_src, count 5, seconds 60; sid:9;"#,
            "tcp",
        )
        .unwrap();
        assert!(r.is_header_only());
        assert_eq!(r.header.protocol, Protocol::Tcp);
        assert_eq!(
            r.references,
            vec![Reference {
                system: "url".into(),
                id: "example.com/a".into()
            }]
        );
        assert_eq!(r.metadata[1], ("signature_severity".into(), "Major".into()));
        assert_eq!((r.priority, r.target), (Some(2), Some(Target::DestIp)));
        assert!(r.fast_pattern.is_none());
    }

    #[test]
    fn errors_and_skips() {
        assert_eq!(parse("msg:\"x\";", "tcp"), Err(RuleError::MissingSid));
        assert_eq!(
            parse("dotprefix; sid:1;", "dns"),
            Err(RuleError::Option {
                keyword: "dotprefix".into(),
                message: "transform needs a sticky buffer before it".into()
            })
        );
        assert_eq!(
            parse("ja3.hash; sid:1;", "tls").unwrap_err().skip_reason(),
            Some("keyword ja3.hash".into())
        );
        assert_eq!(
            parse(
                r#"content:"a"; fast_pattern; content:"b"; fast_pattern; sid:1;"#,
                "tcp"
            ),
            Err(RuleError::Option {
                keyword: "fast_pattern".into(),
                message: "only one fast_pattern per rule".into()
            })
        );
        assert!(parse(r#"content:"ab"; fast_pattern:1,5; sid:1;"#, "tcp").is_err());
    }
}
