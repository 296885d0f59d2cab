//! Opening inputs: format detection by content, directories, standard input.
//!
//! The format of an input is decided from its first bytes (capture magic
//! numbers, gzip, the shape of log lines), never from its name. A directory
//! stands for every regular file in it, oldest first (by modification time,
//! then name), so rotated logs (`syslog.2.gz`, `syslog.1`, `syslog`) are read
//! in time order.

use crate::Source;
use crate::capture::{self, CaptureSource};
use crate::logs::{self, LogOptions, LogSource};
use flate2::read::MultiGzDecoder;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use tripline_core::{ErrorKind, InputError, Location};

/// How many leading bytes are looked at to decide the format.
const SNIFF_LEN: usize = 4096;

/// What `detect_format` found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detected {
    /// A capture file (possibly gzip-compressed).
    Capture,
    /// Text log lines (possibly gzip-compressed).
    Log,
}

/// Decides the format from the first bytes of an input (decompressing a
/// gzip start first). `None` when nothing known matches.
pub fn detect_format(prefix: &[u8]) -> Option<Detected> {
    if prefix.starts_with(&[0x1f, 0x8b]) {
        let mut inner = Vec::with_capacity(SNIFF_LEN);
        // A short or damaged gzip start still yields what it could decode.
        let _ = MultiGzDecoder::new(prefix)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut inner);
        return detect_plain(&inner);
    }
    detect_plain(prefix)
}

fn detect_plain(prefix: &[u8]) -> Option<Detected> {
    if capture::sniff(prefix).is_some() {
        Some(Detected::Capture)
    } else if logs::looks_like_log(prefix) {
        Some(Detected::Log)
    } else {
        None
    }
}

/// Expands the command-line inputs: a directory becomes its regular files
/// (not recursive), oldest first; `-` and plain paths stay as they are.
pub fn expand_inputs(args: &[String]) -> Result<Vec<String>, InputError> {
    let mut out = Vec::new();
    for a in args {
        let p = Path::new(a);
        if a != "-" && p.is_dir() {
            let rd = std::fs::read_dir(p).map_err(|e| io_error(a, &e))?;
            let mut files: Vec<(std::time::SystemTime, PathBuf)> = Vec::new();
            for entry in rd {
                let entry = entry.map_err(|e| io_error(a, &e))?;
                let path = entry.path();
                let name = entry.file_name();
                if name.to_string_lossy().starts_with('.') {
                    continue;
                }
                let meta = match std::fs::metadata(&path) {
                    Ok(m) if m.is_file() => m,
                    _ => continue,
                };
                files.push((meta.modified().unwrap_or(std::time::UNIX_EPOCH), path));
            }
            files.sort();
            out.extend(
                files
                    .into_iter()
                    .map(|(_, p)| p.to_string_lossy().into_owned()),
            );
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

/// Opens one input (a file path or `-` for standard input) with the reader
/// its content calls for.
pub fn open_input(path: &str, log_opts: &LogOptions) -> Result<Box<dyn Source + Send>, InputError> {
    if path == "-" {
        return open_stdin(log_opts);
    }
    let mut f = File::open(path).map_err(|e| io_error(path, &e))?;
    let mut prefix = Vec::with_capacity(SNIFF_LEN);
    (&mut f)
        .take(SNIFF_LEN as u64)
        .read_to_end(&mut prefix)
        .map_err(|e| io_error(path, &e))?;
    drop(f);
    if prefix.is_empty() {
        return Err(InputError::new(
            path,
            Location::File,
            ErrorKind::UnknownFormat,
            "the file is empty",
        ));
    }
    match detect_format(&prefix) {
        Some(Detected::Capture) => Ok(Box::new(CaptureSource::open(path)?)),
        Some(Detected::Log) => Ok(Box::new(LogSource::open(path, log_opts.clone())?)),
        None => Err(unknown(path, &prefix)),
    }
}

fn open_stdin(log_opts: &LogOptions) -> Result<Box<dyn Source + Send>, InputError> {
    let mut reader = BufReader::with_capacity(1 << 16, std::io::stdin());
    let prefix = reader.fill_buf().map_err(|e| io_error("-", &e))?.to_vec();
    if prefix.is_empty() {
        return Err(InputError::new(
            "-",
            Location::File,
            ErrorKind::UnknownFormat,
            "standard input is empty",
        ));
    }
    match detect_format(&prefix) {
        Some(Detected::Capture) => Ok(Box::new(CaptureSource::from_reader("-", Box::new(reader))?)),
        Some(Detected::Log) => Ok(Box::new(LogSource::from_reader(
            "-",
            Box::new(reader),
            log_opts.clone(),
        ))),
        None => Err(unknown("-", &prefix)),
    }
}

fn unknown(path: &str, prefix: &[u8]) -> InputError {
    let shown: String = prefix
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    InputError::new(
        path,
        Location::Offset(0),
        ErrorKind::UnknownFormat,
        format!("not a pcap, pcapng, gzip or known log file (starts with {shown})"),
    )
}

fn io_error(path: &str, e: &std::io::Error) -> InputError {
    InputError::new(path, Location::File, ErrorKind::Io, e.to_string())
}
