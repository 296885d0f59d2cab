//! [`CaptureSource`]: a pcap or pcapng file (plain or gzip) or stream as a [`Source`].

use super::defrag::DefragConfig;
use super::emit::FrameEmitter;
use super::pcap_file::read_pcap;
use super::pcapng_file::read_pcapng;
use super::window::{ByteWindow, MappedWindow, StreamWindow};
use super::{CaptureKind, SNIFF_LEN, sniff};
use crate::source::{Format, RecordSink, Source, SourceStats};
use flate2::read::MultiGzDecoder;
use memmap2::Mmap;
use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use tripline_core::{ErrorKind, InputError, Location};

/// Where the bytes come from.
enum Input {
    /// A plain file, mapped into memory: frames borrow from the mapping.
    Mapped(Mmap),
    /// gzip or a pipe, read through a bounded buffer.
    Stream(StreamWindow),
    /// Already read by `run`.
    Done,
}

/// A capture file or stream: pcap (µs/ns, either byte order) or pcapng,
/// optionally gzip-compressed. Each frame becomes a `Record::Packet`.
pub struct CaptureSource {
    path: String,
    kind: CaptureKind,
    input: Input,
    size: Option<u64>,
    defrag: DefragConfig,
}

fn io_error(path: &str, what: &str, e: &io::Error) -> InputError {
    InputError::new(path, Location::File, ErrorKind::Io, format!("{what}: {e}"))
}

fn unknown_format(path: &str, prefix: &[u8]) -> InputError {
    if prefix.is_empty() {
        return InputError::new(
            path,
            Location::Offset(0),
            ErrorKind::Truncated,
            "empty input",
        );
    }
    if prefix.starts_with(&[0x1f, 0x8b]) {
        let msg = "gzip data that does not decompress to a pcap or pcapng file";
        return InputError::new(path, Location::Offset(0), ErrorKind::UnknownFormat, msg);
    }
    let shown: String = prefix.iter().take(4).map(|b| format!("{b:02x}")).collect();
    let msg = format!("magic {shown} is neither pcap nor pcapng");
    InputError::new(path, Location::Offset(0), ErrorKind::BadMagic, msg)
}

/// Reads up to `n` bytes (fewer only at the end of the input).
fn read_prefix(reader: &mut dyn Read, n: usize) -> io::Result<Vec<u8>> {
    let mut prefix = Vec::with_capacity(n);
    reader.take(n as u64).read_to_end(&mut prefix)?;
    Ok(prefix)
}

impl CaptureSource {
    /// Opens a capture file, detecting its format from its content. Plain
    /// files are memory-mapped; gzip files are decompressed as a stream.
    /// Fails when the file cannot be read or is not a capture.
    pub fn open(path: &str) -> Result<CaptureSource, InputError> {
        let mut file = File::open(path).map_err(|e| io_error(path, "cannot open", &e))?;
        let prefix =
            read_prefix(&mut file, SNIFF_LEN).map_err(|e| io_error(path, "cannot read", &e))?;
        let kind = sniff(&prefix).ok_or_else(|| unknown_format(path, &prefix))?;
        let defrag = DefragConfig::default();
        if kind.gzip() {
            let file = File::open(path).map_err(|e| io_error(path, "cannot reopen", &e))?;
            let reader = MultiGzDecoder::new(BufReader::with_capacity(1 << 16, file));
            let input = Input::Stream(StreamWindow::new(Box::new(reader), 0));
            return Ok(CaptureSource {
                path: path.to_string(),
                kind,
                input,
                size: None,
                defrag,
            });
        }
        // SAFETY: the mapping is read-only and private to this source; if
        // another process truncates the file while it is read, the reader
        // may see SIGBUS — the same contract as every mmap-based pcap tool.
        let map = unsafe { Mmap::map(&file) }.map_err(|e| io_error(path, "cannot map", &e))?;
        // Read once front to back: let the kernel read ahead aggressively.
        // (MAP_POPULATE was measured no faster and would stall on huge files.)
        let _ = map.advise(memmap2::Advice::Sequential);
        let size = Some(map.len() as u64);
        Ok(CaptureSource {
            path: path.to_string(),
            kind,
            input: Input::Mapped(map),
            size,
            defrag,
        })
    }

    /// Reads a capture from a stream (standard input, a pipe): pcap or
    /// pcapng, gzip or not. `path` names it in errors (`-` for stdin).
    pub fn from_reader(
        path: &str,
        mut reader: Box<dyn Read + Send>,
    ) -> Result<CaptureSource, InputError> {
        let prefix =
            read_prefix(&mut reader, SNIFF_LEN).map_err(|e| io_error(path, "cannot read", &e))?;
        let kind = sniff(&prefix).ok_or_else(|| unknown_format(path, &prefix))?;
        let whole: Box<dyn Read + Send> = Box::new(Cursor::new(prefix).chain(reader));
        let stream: Box<dyn Read + Send> = if kind.gzip() {
            Box::new(MultiGzDecoder::new(whole))
        } else {
            whole
        };
        let input = Input::Stream(StreamWindow::new(stream, 0));
        Ok(CaptureSource {
            path: path.to_string(),
            kind,
            input,
            size: None,
            defrag: DefragConfig::default(),
        })
    }

    /// Replaces the fragment reassembly limits.
    pub fn with_defrag(mut self, config: DefragConfig) -> Self {
        self.defrag = config;
        self
    }

    /// What the content was detected as.
    pub fn kind(&self) -> CaptureKind {
        self.kind
    }
}

fn read_all(
    kind: CaptureKind,
    win: &mut dyn ByteWindow,
    em: &mut FrameEmitter,
    sink: &mut dyn RecordSink,
) {
    match kind {
        CaptureKind::Pcap { .. } => read_pcap(win, em, sink),
        CaptureKind::Pcapng { .. } => read_pcapng(win, em, sink),
    }
}

impl Source for CaptureSource {
    fn path(&self) -> &str {
        &self.path
    }

    fn format(&self) -> Format {
        self.kind.format()
    }

    fn size_hint(&self) -> Option<u64> {
        self.size
    }

    fn run(&mut self, sink: &mut dyn RecordSink) -> SourceStats {
        let mut em = FrameEmitter::new(&self.path, self.defrag);
        match std::mem::replace(&mut self.input, Input::Done) {
            Input::Mapped(map) => {
                let mut win = MappedWindow::new(&map, 0);
                read_all(self.kind, &mut win, &mut em, sink);
                let end = win.offset();
                em.finish(sink, end)
            }
            Input::Stream(mut win) => {
                read_all(self.kind, &mut win, &mut em, sink);
                if let Some(e) = win.take_io_error() {
                    let kind = match e.kind() {
                        io::ErrorKind::UnexpectedEof => ErrorKind::Truncated,
                        io::ErrorKind::InvalidData | io::ErrorKind::InvalidInput => {
                            ErrorKind::Decode
                        }
                        _ => ErrorKind::Io,
                    };
                    let offset = win.offset();
                    em.error(sink, offset, kind, format!("read failed: {e}"));
                }
                let end = win.offset();
                em.finish(sink, end)
            }
            Input::Done => SourceStats::default(),
        }
    }
}
