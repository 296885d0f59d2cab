//! The `Source` and `RecordSink` traits every input implements.

use std::collections::BTreeMap;
use std::fmt;
use tripline_core::{ErrorKind, InputError, Record};

/// What an input turned out to be (detected from content, never the name).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// Classic libpcap file (µs or ns).
    Pcap,
    /// pcapng.
    Pcapng,
    /// Text log lines: netfilter LOG, dnsmasq, sshd (each line is recognised
    /// on its own, so a whole `/var/log/syslog` works).
    Log,
    /// A live interface.
    Live,
}

impl Format {
    /// Stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
            Format::Log => "log",
            Format::Live => "live",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Receives what a source produces.
pub trait RecordSink {
    /// One record, in time order within the source.
    fn record(&mut self, rec: &Record<'_>);

    /// One damaged piece of input; the source carries on after it.
    fn error(&mut self, err: InputError);

    /// Called now and then with the number of input bytes consumed so far
    /// (after decompression), for progress bars.
    fn progress(&mut self, _bytes_done: u64) {}

    /// A live source has nothing to read for now (its read timeout
    /// passed): a chance to hand on what is held back for batching.
    fn idle(&mut self) {}

    /// Return `true` to ask the source to stop early (live capture, Ctrl-C).
    fn should_stop(&self) -> bool {
        false
    }
}

/// Counters a source keeps while it runs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SourceStats {
    /// Bytes consumed (after decompression).
    pub bytes: u64,
    /// Frames, blocks or lines read.
    pub units: u64,
    /// Records handed to the sink.
    pub records: u64,
    /// Units that were fine but not of interest (non-IP frames, syslog lines
    /// from other programs, dnsmasq start-up chatter).
    pub skipped: u64,
    /// Damaged units, by kind.
    pub errors: BTreeMap<ErrorKind, u64>,
}

impl SourceStats {
    /// Total damaged units.
    pub fn error_count(&self) -> u64 {
        self.errors.values().sum()
    }

    /// Counts one error of `kind`.
    pub fn count_error(&mut self, kind: ErrorKind) {
        *self.errors.entry(kind).or_default() += 1;
    }

    /// Adds another source's counters to these.
    pub fn merge(&mut self, other: &SourceStats) {
        self.bytes += other.bytes;
        self.units += other.units;
        self.records += other.records;
        self.skipped += other.skipped;
        for (k, v) in &other.errors {
            *self.errors.entry(*k).or_default() += v;
        }
    }
}

/// An input that produces records.
pub trait Source {
    /// The input's path as given by the user (`-` for stdin, the interface
    /// name for live capture).
    fn path(&self) -> &str;

    /// The detected format.
    fn format(&self) -> Format;

    /// Total input size in bytes when known (for progress bars).
    fn size_hint(&self) -> Option<u64> {
        None
    }

    /// Reads the whole input (or until the sink asks to stop), pushing records
    /// and errors into `sink`. Never panics on bad input.
    fn run(&mut self, sink: &mut dyn RecordSink) -> SourceStats;
}
