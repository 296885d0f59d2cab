//! Damaged input: where it is and what is wrong with it.
//!
//! Every parser reports bad input as an [`InputError`] naming the file and the
//! byte offset or line, the source counts it and goes on with the rest.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Where in an input the problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Location {
    /// Byte offset into a binary file (after decompression, for gzip).
    Offset(u64),
    /// 1-based line number of a text file.
    Line(u64),
    /// The input as a whole (open failed, unknown format).
    File,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Offset(o) => write!(f, "byte offset {o}"),
            Location::Line(l) => write!(f, "line {l}"),
            Location::File => Ok(()),
        }
    }
}

/// The kind of damage, used as the counter name in summaries and the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// The file could not be opened or read.
    Io,
    /// The content matches no known format.
    UnknownFormat,
    /// A capture file ends in the middle of a block or record.
    Truncated,
    /// A bad magic number or block type.
    BadMagic,
    /// A record whose length is zero, negative, or beyond the file or the cap.
    BadLength,
    /// A packet whose link or IP headers do not decode.
    Decode,
    /// A text line that is not in the expected format.
    BadLine,
    /// A line or field that is not valid UTF-8 or contains binary junk.
    Binary,
    /// An unsupported link type.
    UnsupportedLinkType,
    /// Overlapping IP fragments (reported, resolved first-wins).
    FragmentOverlap,
    /// Fragments dropped because of the reassembly caps or timeouts.
    FragmentDropped,
}

impl ErrorKind {
    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Io => "io",
            ErrorKind::UnknownFormat => "unknown_format",
            ErrorKind::Truncated => "truncated",
            ErrorKind::BadMagic => "bad_magic",
            ErrorKind::BadLength => "bad_length",
            ErrorKind::Decode => "decode",
            ErrorKind::BadLine => "bad_line",
            ErrorKind::Binary => "binary",
            ErrorKind::UnsupportedLinkType => "unsupported_link_type",
            ErrorKind::FragmentOverlap => "fragment_overlap",
            ErrorKind::FragmentDropped => "fragment_dropped",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem in one input.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputError {
    /// The input's path as given (`-` for standard input).
    pub path: String,
    /// Where in the input.
    pub location: Location,
    /// What kind of damage.
    pub kind: ErrorKind,
    /// A human explanation (never the raw hostile bytes unescaped).
    pub message: String,
}

impl InputError {
    /// Builds an error.
    pub fn new(
        path: impl Into<String>,
        location: Location,
        kind: ErrorKind,
        message: impl Into<String>,
    ) -> Self {
        InputError {
            path: path.into(),
            location,
            kind,
            message: message.into(),
        }
    }
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.location {
            Location::File => write!(f, "{}: {}: {}", self.path, self.kind, self.message),
            loc => write!(f, "{}: {}: {}: {}", self.path, loc, self.kind, self.message),
        }
    }
}

impl std::error::Error for InputError {}
