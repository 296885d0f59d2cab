//! One open file being tailed, and the buffer its lines are cut from.

use super::FollowedLine;
use super::checkpoint::{Checkpoint, fingerprint_file};
use std::fs::{File, Metadata};
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::time::Instant;

/// What makes a file the same file: device and inode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct FileId {
    pub dev: u64,
    pub ino: u64,
}

impl FileId {
    pub fn of(meta: &Metadata) -> FileId {
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// Per-line flags handed to the caller.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct LineFlags {
    pub truncated: bool,
    pub unterminated: bool,
}

/// Reusable storage lines are cut from: one allocation per followed path,
/// big enough for the longest line kept plus one read.
pub(crate) struct LineBuffer {
    data: Vec<u8>,
    /// Bytes at the front that belong to an incomplete line.
    held: usize,
    max_line: usize,
}

impl LineBuffer {
    pub fn new(max_line: usize, read_chunk: usize) -> LineBuffer {
        LineBuffer {
            data: vec![0; max_line + read_chunk],
            held: 0,
            max_line,
        }
    }

    pub fn clear(&mut self) {
        self.held = 0;
    }
}

/// Why a read stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReadEnd {
    /// Everything written so far was read.
    Eof,
    /// The per-poll byte budget ran out; there may be more.
    Budget,
}

/// Counts one read adds to.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ReadCounts {
    pub bytes: u64,
    pub lines: u64,
    pub truncated: u64,
    pub unterminated: u64,
}

/// One open file and how far it has been read.
pub(crate) struct TailedFile {
    pub file: File,
    pub id: FileId,
    /// Bytes consumed: complete lines and the skipped rest of over-long lines.
    pub offset: u64,
    /// Bytes read: `offset` plus an incomplete line held in the buffer.
    pub read_pos: u64,
    /// Inside an over-long line whose kept part was already delivered.
    pub discarding: bool,
    /// Fingerprint of the first line, once it is complete.
    pub fingerprint: Option<u64>,
    /// Lines delivered from this file.
    pub line: u64,
    /// Size seen at the last poll, to notice in-place rewrites.
    pub last_size: u64,
    /// When bytes last arrived (or the file was opened).
    pub last_growth: Instant,
}

impl TailedFile {
    /// Wraps an open file, positioned at `offset` (a line boundary, or inside
    /// an over-long line, which is then skipped to its end).
    pub fn at(file: File, offset: u64, line: u64) -> io::Result<TailedFile> {
        let meta = file.metadata()?;
        if meta.is_dir() {
            return Err(io::Error::new(
                io::ErrorKind::IsADirectory,
                "is a directory, not a log file",
            ));
        }
        let mut discarding = false;
        if offset > 0 {
            let mut prev = [0u8; 1];
            file.read_exact_at(&mut prev, offset - 1)?;
            discarding = prev[0] != b'\n';
        }
        let fingerprint = if offset > 0 {
            fingerprint_file(&file)?
        } else {
            None
        };
        Ok(TailedFile {
            id: FileId::of(&meta),
            offset,
            read_pos: offset,
            discarding,
            fingerprint,
            line,
            last_size: meta.len(),
            last_growth: Instant::now(),
            file,
        })
    }

    /// Wraps an open file, positioned after its last complete line (the
    /// start of the line being written, if any).
    pub fn at_end(file: File, window: usize) -> io::Result<TailedFile> {
        let size = file.metadata()?.len();
        let window = (size as usize).min(window);
        let mut tail = vec![0u8; window];
        file.read_exact_at(&mut tail, size - window as u64)?;
        let offset = match memchr::memrchr(b'\n', &tail) {
            Some(nl) => size - window as u64 + nl as u64 + 1,
            None if window as u64 == size => 0,
            // Inside a line longer than the window: skip to its end.
            None => size,
        };
        TailedFile::at(file, offset, 0)
    }

    /// The file was cut shorter or rewritten: start again from its beginning.
    pub fn restart(&mut self, size: u64) {
        self.offset = 0;
        self.read_pos = 0;
        self.discarding = false;
        self.fingerprint = None;
        self.line = 0;
        self.last_size = size;
    }

    fn update(&self, cp: &mut Checkpoint) {
        cp.inode = self.id.ino;
        cp.offset = self.offset;
        cp.line = self.line;
        cp.fingerprint = self.fingerprint.unwrap_or(0);
    }

    /// Points `cp` at this file's current position.
    pub fn checkpoint(&self, cp: &mut Checkpoint) {
        self.update(cp);
    }

    /// Reads what is there (up to `budget` bytes), delivering each complete
    /// line; keeps an incomplete last line in `buf` for the next read.
    pub fn read_lines(
        &mut self,
        buf: &mut LineBuffer,
        cp: &mut Checkpoint,
        budget: &mut u64,
        counts: &mut ReadCounts,
        on_line: &mut dyn FnMut(&FollowedLine<'_>),
    ) -> io::Result<ReadEnd> {
        loop {
            if *budget == 0 {
                return Ok(ReadEnd::Budget);
            }
            let room =
                (buf.data.len() - buf.held).min(usize::try_from(*budget).unwrap_or(usize::MAX));
            let n = match self
                .file
                .read_at(&mut buf.data[buf.held..buf.held + room], self.read_pos)
            {
                Ok(0) => return Ok(ReadEnd::Eof),
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            self.read_pos += n as u64;
            self.last_growth = Instant::now();
            *budget = budget.saturating_sub(n as u64);
            counts.bytes += n as u64;
            if self.fingerprint.is_none() {
                self.fingerprint = fingerprint_file(&self.file)?;
            }
            let filled = buf.held + n;
            // File offset of buf.data[0].
            let base = self.read_pos - filled as u64;
            let mut start = 0;
            for nl in memchr::memchr_iter(b'\n', &buf.data[buf.held..filled]) {
                let end = buf.held + nl;
                self.offset = base + end as u64 + 1;
                if self.discarding {
                    self.discarding = false;
                } else {
                    let mut line = &buf.data[start..end];
                    if let [head @ .., b'\r'] = line {
                        line = head;
                    }
                    self.line += 1;
                    counts.lines += 1;
                    self.update(cp);
                    deliver(line, self.line, LineFlags::default(), cp, on_line);
                }
                start = end + 1;
            }
            let rest = filled - start;
            if self.discarding {
                self.offset = self.read_pos;
                buf.held = 0;
                self.update(cp);
            } else if rest >= buf.max_line {
                // Deliver the kept part now, skip the rest up to the newline.
                self.offset = self.read_pos;
                self.discarding = true;
                self.line += 1;
                counts.lines += 1;
                counts.truncated += 1;
                self.update(cp);
                let flags = LineFlags {
                    truncated: true,
                    unterminated: false,
                };
                deliver(
                    &buf.data[start..start + buf.max_line],
                    self.line,
                    flags,
                    cp,
                    on_line,
                );
                buf.held = 0;
            } else {
                buf.data.copy_within(start..filled, 0);
                buf.held = rest;
                self.update(cp);
            }
        }
    }

    /// Delivers a held incomplete line as it is: the file is being left
    /// (rotated away or cut short) and its newline will never come.
    pub fn finish(
        &mut self,
        buf: &mut LineBuffer,
        cp: &mut Checkpoint,
        counts: &mut ReadCounts,
        on_line: &mut dyn FnMut(&FollowedLine<'_>),
    ) {
        if buf.held > 0 && !self.discarding {
            self.offset = self.read_pos;
            self.line += 1;
            counts.lines += 1;
            counts.unterminated += 1;
            self.update(cp);
            let flags = LineFlags {
                truncated: false,
                unterminated: true,
            };
            deliver(&buf.data[..buf.held], self.line, flags, cp, on_line);
        }
        buf.clear();
        self.discarding = false;
    }
}

fn deliver(
    line: &[u8],
    lineno: u64,
    flags: LineFlags,
    cp: &Checkpoint,
    on_line: &mut dyn FnMut(&FollowedLine<'_>),
) {
    on_line(&FollowedLine {
        path: &cp.path,
        line,
        lineno,
        truncated: flags.truncated,
        unterminated: flags.unterminated,
        checkpoint: cp,
    });
}
