//! `tripline reduce --split`: one connection file per protocol family.

use crate::reduce::{ConnCsvWriter, ConnJsonWriter};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use tripline_core::{Connection, ip_proto};

/// The file format of each part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SplitFormat {
    /// `*.csv` with [`crate::CSV_HEADER`].
    Csv,
    /// `*.jsonl`.
    JsonLines,
}

impl SplitFormat {
    fn extension(self) -> &'static str {
        match self {
            SplitFormat::Csv => "csv",
            SplitFormat::JsonLines => "jsonl",
        }
    }
}

/// Rows written to each part.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SplitCounts {
    /// `tcp.*`
    pub tcp: u64,
    /// `udp.*`
    pub udp: u64,
    /// `icmp.*` (ICMP and ICMPv6).
    pub icmp: u64,
    /// `other.*`
    pub other: u64,
    /// The rows of `other.*` by IP protocol number.
    pub other_protocols: BTreeMap<u8, u64>,
}

impl SplitCounts {
    /// All rows.
    pub fn total(&self) -> u64 {
        self.tcp + self.udp + self.icmp + self.other
    }
}

/// The part names, in bucket order.
const PARTS: [&str; 4] = ["tcp", "udp", "icmp", "other"];

enum Part {
    Csv(Box<ConnCsvWriter<BufWriter<File>>>),
    Json(ConnJsonWriter<BufWriter<File>>),
}

/// Writes `tcp`, `udp`, `icmp` and `other` files into a directory, each
/// created when its first row arrives.
pub struct SplitByProtocol {
    dir: PathBuf,
    format: SplitFormat,
    parts: [Option<Part>; 4],
    counts: SplitCounts,
}

/// An I/O error that names the file.
fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

impl SplitByProtocol {
    /// Prepares to write into `dir` (created if missing).
    pub fn create(dir: &Path, format: SplitFormat) -> io::Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
        Ok(SplitByProtocol {
            dir: dir.to_path_buf(),
            format,
            parts: [None, None, None, None],
            counts: Default::default(),
        })
    }

    /// The path of a part (`tcp`, `udp`, `icmp`, `other`).
    pub fn part_path(&self, part: &str) -> PathBuf {
        self.dir.join(format!("{part}.{}", self.format.extension()))
    }

    /// Rows written so far.
    pub fn counts(&self) -> &SplitCounts {
        &self.counts
    }

    fn bucket(protocol: u8) -> usize {
        match protocol {
            ip_proto::TCP => 0,
            ip_proto::UDP => 1,
            ip_proto::ICMP | ip_proto::ICMPV6 => 2,
            _ => 3,
        }
    }

    fn open(&self, bucket: usize) -> io::Result<Part> {
        let path = self.part_path(PARTS[bucket]);
        let file = BufWriter::with_capacity(
            1 << 16,
            File::create(&path).map_err(|e| with_path(&path, e))?,
        );
        Ok(match self.format {
            SplitFormat::Csv => Part::Csv(Box::new(
                ConnCsvWriter::new(file).map_err(|e| with_path(&path, e))?,
            )),
            SplitFormat::JsonLines => Part::Json(ConnJsonWriter::new(file)),
        })
    }

    /// Writes one connection to its part.
    pub fn write(&mut self, c: &Connection) -> io::Result<()> {
        let b = Self::bucket(c.protocol);
        if self.parts[b].is_none() {
            self.parts[b] = Some(self.open(b)?);
        }
        let written = match &mut self.parts[b] {
            Some(Part::Csv(w)) => w.write(c),
            Some(Part::Json(w)) => w.write(c),
            None => Ok(()),
        };
        written.map_err(|e| with_path(&self.part_path(PARTS[b]), e))?;
        match b {
            0 => self.counts.tcp += 1,
            1 => self.counts.udp += 1,
            2 => self.counts.icmp += 1,
            _ => {
                self.counts.other += 1;
                *self.counts.other_protocols.entry(c.protocol).or_default() += 1;
            }
        }
        Ok(())
    }

    /// Flushes and closes every part, returning the counts.
    pub fn finish(mut self) -> io::Result<SplitCounts> {
        for (b, part) in self.parts.iter_mut().enumerate() {
            let path = self
                .dir
                .join(format!("{}.{}", PARTS[b], self.format.extension()));
            let flushed = match part.take() {
                Some(Part::Csv(w)) => w
                    .into_inner()
                    .and_then(|f| f.into_inner().map_err(|e| e.into_error())),
                Some(Part::Json(w)) => w
                    .into_inner()
                    .and_then(|f| f.into_inner().map_err(|e| e.into_error())),
                None => continue,
            };
            flushed.map(drop).map_err(|e| with_path(&path, e))?;
        }
        Ok(std::mem::take(&mut self.counts))
    }
}
