//! Turning a parsed [`Rule`] into what the matcher runs: per-buffer lists
//! of tests with compiled patterns and resolved `byte_extract` variables.
//! What the matcher cannot run faithfully is refused here, with a reason,
//! so a loaded rule never silently half-matches.

use crate::buffer::{Buffer, Transform};
use crate::options::Cmp;
use crate::payload::{ByteOp, ByteOptions, Content, Endian, Pcre, Value};
use crate::rule::{Detection, Rule};
use memchr::memmem::Finder;

/// Most `byte_extract` variables one rule may define.
pub const MAX_VARS: usize = 8;

/// A number or a `byte_extract` variable slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Operand {
    /// A literal.
    Num(i64),
    /// The value extracted into this slot.
    Var(u8),
}

impl Operand {
    pub(crate) fn get(self, vars: &[u64; MAX_VARS]) -> i64 {
        match self {
            Operand::Num(n) => n,
            Operand::Var(i) => i64::try_from(vars[usize::from(i)]).unwrap_or(i64::MAX),
        }
    }
}

/// A content test ready to search.
#[derive(Debug)]
pub(crate) struct ContentTest {
    pub pattern: Vec<u8>,
    pub finder: Finder<'static>,
    pub nocase: bool,
    pub negated: bool,
    pub offset: Option<Operand>,
    pub depth: Option<Operand>,
    pub distance: Option<Operand>,
    pub within: Option<Operand>,
    pub startswith: bool,
    pub endswith: bool,
}

impl ContentTest {
    pub(crate) fn is_relative(&self) -> bool {
        self.distance.is_some() || self.within.is_some()
    }
}

/// A pcre test.
#[derive(Debug)]
pub(crate) struct PcreTest {
    pub regex: pcre2::bytes::Regex,
    pub negated: bool,
    pub relative: bool,
}

/// byte_test / byte_jump / byte_extract common reading options.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ByteRead {
    pub bytes: u8,
    /// The byte count from a `byte_extract` variable (byte_jump).
    pub count: Option<Operand>,
    pub offset: Operand,
    pub relative: bool,
    pub little: bool,
    pub base: Option<u32>,
    pub bitmask: Option<u64>,
}

/// One test in a buffer list (named like the keywords they come from).
#[derive(Debug)]
#[allow(clippy::enum_variant_names)]
pub(crate) enum Test {
    Content(Box<ContentTest>),
    Pcre(PcreTest),
    ByteTest {
        read: ByteRead,
        op: ByteOp,
        negated: bool,
        value: Operand,
    },
    ByteJump {
        read: ByteRead,
        multiplier: u64,
        align4: bool,
        from_beginning: bool,
        from_end: bool,
        post_offset: i64,
    },
    ByteExtract {
        read: ByteRead,
        multiplier: u64,
        align: u64,
        slot: u8,
    },
    IsDataAt {
        negated: bool,
        position: Operand,
        relative: bool,
    },
    Size(Cmp),
}

impl Test {
    /// True when the test's window depends on the previous match.
    pub(crate) fn is_relative(&self) -> bool {
        match self {
            Test::Content(c) => c.is_relative(),
            Test::Pcre(p) => p.relative,
            Test::ByteTest { read, .. }
            | Test::ByteJump { read, .. }
            | Test::ByteExtract { read, .. } => read.relative,
            Test::IsDataAt { relative, .. } => *relative,
            Test::Size(_) => false,
        }
    }
}

/// The tests on one buffer, in rule order.
#[derive(Debug)]
pub(crate) struct BufferList {
    pub buffer: Buffer,
    pub transforms: Vec<Transform>,
    pub tests: Vec<Test>,
}

/// A rule's detections, compiled.
#[derive(Debug, Default)]
pub(crate) struct CompiledDetections {
    pub lists: Vec<BufferList>,
}

/// Why a rule cannot be run by the matcher.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompileError(pub String);

struct VarTable {
    names: Vec<String>,
}

impl VarTable {
    fn operand(&self, v: &Value) -> Result<Operand, CompileError> {
        match v {
            Value::Num(n) => Ok(Operand::Num(*n)),
            Value::Var(name) => self
                .names
                .iter()
                .position(|n| n == name)
                .map(|i| Operand::Var(i as u8))
                .ok_or_else(|| CompileError(format!("variable {name:?} used before byte_extract"))),
        }
    }
}

fn base_radix(o: &ByteOptions) -> Option<u32> {
    o.string.map(|b| match b {
        crate::payload::Base::Dec => 10,
        crate::payload::Base::Hex => 16,
        crate::payload::Base::Oct => 8,
    })
}

fn byte_read(
    bytes: u8,
    count: Option<Operand>,
    offset: Operand,
    o: &ByteOptions,
    keyword: &str,
) -> Result<ByteRead, CompileError> {
    if o.endian == Endian::Dce {
        return Err(CompileError(format!("{keyword} with dce byte order")));
    }
    Ok(ByteRead {
        bytes,
        count,
        offset,
        relative: o.relative,
        little: o.endian == Endian::Little,
        base: base_radix(o),
        bitmask: o.bitmask,
    })
}

fn compile_content(c: &Content, vars: &VarTable) -> Result<ContentTest, CompileError> {
    let opt = |v: &Option<Value>| v.as_ref().map(|v| vars.operand(v)).transpose();
    let pattern = if c.nocase {
        c.pattern.to_ascii_lowercase()
    } else {
        c.pattern.clone()
    };
    Ok(ContentTest {
        finder: Finder::new(&pattern).into_owned(),
        pattern,
        nocase: c.nocase,
        negated: c.negated,
        offset: opt(&c.offset)?,
        depth: opt(&c.depth)?,
        distance: opt(&c.distance)?,
        within: opt(&c.within)?,
        startswith: c.startswith,
        endswith: c.endswith,
    })
}

/// Compiles a pcre with Suricata's flags: `i s m x` map to PCRE2 options,
/// `A` anchors at the search start, `G` makes quantifiers ungreedy; `E`
/// (dollar-end-only) has no inline equivalent and is refused.
fn compile_pcre(p: &Pcre) -> Result<PcreTest, CompileError> {
    let mut b = pcre2::bytes::RegexBuilder::new();
    b.jit_if_available(true);
    let mut prefix = String::new();
    let mut anchored = false;
    for f in p.flags.chars() {
        match f {
            'i' => {
                b.caseless(true);
            }
            's' => {
                b.dotall(true);
            }
            'm' => {
                b.multi_line(true);
            }
            'x' => {
                b.extended(true);
            }
            'A' => anchored = true,
            'G' => prefix.push_str("(?U)"),
            'E' => return Err(CompileError("pcre flag E".to_string())),
            _ => {}
        }
    }
    let pattern = if anchored {
        format!("{prefix}\\G(?:{})", p.pattern)
    } else {
        format!("{prefix}{}", p.pattern)
    };
    let regex = b
        .build(&pattern)
        .map_err(|e| CompileError(format!("pcre does not compile: {e}")))?;
    Ok(PcreTest {
        regex,
        negated: p.negated,
        relative: p.relative,
    })
}

/// Compiles the detections of `rule` into per-buffer lists.
pub(crate) fn compile_detections(rule: &Rule) -> Result<CompiledDetections, CompileError> {
    let mut vars = VarTable { names: Vec::new() };
    let mut out = CompiledDetections::default();
    for d in &rule.detections {
        let (buffer, transforms): (Buffer, &[Transform]) = match d {
            Detection::Content(c) => (c.buffer, &c.transforms),
            Detection::Pcre(p) => (p.buffer, &p.transforms),
            other => (other.buffer(), &[]),
        };
        let test = match d {
            Detection::Content(c) => Test::Content(Box::new(compile_content(c, &vars)?)),
            Detection::Pcre(p) => Test::Pcre(compile_pcre(p)?),
            Detection::ByteTest(t) => Test::ByteTest {
                read: byte_read(
                    t.bytes,
                    None,
                    vars.operand(&t.offset)?,
                    &t.options,
                    "byte_test",
                )?,
                op: t.op,
                negated: t.negated,
                value: vars.operand(&t.value)?,
            },
            Detection::ByteJump(j) => Test::ByteJump {
                read: byte_read(
                    j.bytes,
                    j.bytes_var
                        .as_ref()
                        .map(|v| vars.operand(&crate::payload::Value::Var(v.clone())))
                        .transpose()?,
                    vars.operand(&j.offset)?,
                    &j.options,
                    "byte_jump",
                )?,
                multiplier: j.options.multiplier.unwrap_or(1),
                align4: j.options.align.is_some(),
                from_beginning: j.options.from_beginning,
                from_end: j.options.from_end,
                post_offset: j.options.post_offset.unwrap_or(0),
            },
            Detection::ByteExtract(e) => {
                if vars.names.len() >= MAX_VARS {
                    return Err(CompileError(format!(
                        "more than {MAX_VARS} byte_extract variables"
                    )));
                }
                let read = byte_read(
                    e.bytes,
                    None,
                    Operand::Num(e.offset),
                    &e.options,
                    "byte_extract",
                )?;
                vars.names.push(e.name.clone());
                Test::ByteExtract {
                    read,
                    multiplier: e.options.multiplier.unwrap_or(1),
                    align: e.options.align.unwrap_or(0),
                    slot: (vars.names.len() - 1) as u8,
                }
            }
            Detection::IsDataAt(i) => Test::IsDataAt {
                negated: i.negated,
                position: vars.operand(&i.position)?,
                relative: i.relative,
            },
            Detection::Bsize { cmp, .. } | Detection::Urilen { cmp, .. } => Test::Size(*cmp),
        };
        match out
            .lists
            .iter_mut()
            .find(|l| l.buffer == buffer && l.transforms == transforms)
        {
            Some(l) => l.tests.push(test),
            None => out.lists.push(BufferList {
                buffer,
                transforms: transforms.to_vec(),
                tests: vec![test],
            }),
        }
    }
    Ok(out)
}
