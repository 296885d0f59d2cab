//! A forward-only view of the input bytes, over an mmapped file or a stream.
//!
//! The record readers ask for "at least n bytes from here", parse what they
//! get and consume it. Over a mapped file that is the file itself (zero
//! copy); over a stream (gzip, stdin) it is a buffer that grows only to the
//! largest request, which the readers bound by the record size caps, so
//! memory stays bounded whatever the input.

use std::io::{self, Read};

/// Bytes read from a stream per refill when nothing larger is needed.
const STREAM_CHUNK: usize = 1 << 20;

/// Forward-only access to input bytes.
pub(crate) trait ByteWindow {
    /// The bytes from the current position: at least `want` of them unless
    /// the input ends first (then all that is left).
    fn fill(&mut self, want: usize) -> &[u8];
    /// Moves the position forward by `n` bytes (at most what `fill` returned).
    fn consume(&mut self, n: usize);
    /// Moves forward by `n` bytes that need not be buffered; returns how many
    /// were actually skipped (fewer at the end of the input).
    fn skip(&mut self, n: u64) -> u64;
    /// Absolute offset of the current position.
    fn offset(&self) -> u64;
    /// A read error that ended the input early, if one happened.
    fn take_io_error(&mut self) -> Option<io::Error>;
}

/// Bytes of a mapped file kept mapped behind the read position before they
/// are handed back to the kernel.
const RELEASE_STEP: usize = 32 << 20;

/// A whole file in memory (mmapped).
///
/// Pages already read are released (`MADV_DONTNEED`) every
/// [`RELEASE_STEP`] bytes, so the resident size stays flat however large
/// the capture is; the data stays in the page cache and nothing behind the
/// current record is borrowed by then (records are handed to the sink and
/// finished before the reader moves on; the defragmenter copies).
pub(crate) struct MappedWindow<'a> {
    data: &'a [u8],
    pos: usize,
    released: usize,
}

impl<'a> MappedWindow<'a> {
    /// A window positioned at `start` of `data`.
    pub(crate) fn new(data: &'a [u8], start: usize) -> Self {
        MappedWindow {
            data,
            pos: start.min(data.len()),
            released: 0,
        }
    }

    fn release_behind(&mut self) {
        const PAGE: usize = 4096;
        if self.pos - self.released < 2 * RELEASE_STEP {
            return;
        }
        let end = (self.pos - RELEASE_STEP) / PAGE * PAGE;
        if end <= self.released {
            return;
        }
        // SAFETY: the range lies inside the read-only private file mapping
        // (page-aligned: mappings start on a page boundary). DONTNEED only
        // drops our page table entries; a later read would fault the same
        // file bytes back in, so no value behind a live reference changes.
        unsafe {
            libc::madvise(
                self.data.as_ptr().add(self.released) as *mut libc::c_void,
                end - self.released,
                libc::MADV_DONTNEED,
            );
        }
        self.released = end;
    }
}

impl ByteWindow for MappedWindow<'_> {
    fn fill(&mut self, _want: usize) -> &[u8] {
        &self.data[self.pos..]
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.data.len());
        self.release_behind();
    }

    fn skip(&mut self, n: u64) -> u64 {
        let left = (self.data.len() - self.pos) as u64;
        let n = n.min(left);
        self.pos += n as usize;
        self.release_behind();
        n
    }

    fn offset(&self) -> u64 {
        self.pos as u64
    }

    fn take_io_error(&mut self) -> Option<io::Error> {
        None
    }
}

/// A stream read through a bounded buffer.
pub(crate) struct StreamWindow {
    reader: Box<dyn Read + Send>,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Absolute offset of `buf[start]`.
    offset: u64,
    eof: bool,
    error: Option<io::Error>,
}

impl StreamWindow {
    /// A window over `reader`, whose first byte is at absolute offset `offset`.
    pub(crate) fn new(reader: Box<dyn Read + Send>, offset: u64) -> Self {
        StreamWindow {
            reader,
            buf: Vec::new(),
            start: 0,
            end: 0,
            offset,
            eof: false,
            error: None,
        }
    }

    fn read_more(&mut self) {
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    self.error = Some(e);
                    self.eof = true;
                }
            }
            return;
        }
    }
}

impl ByteWindow for StreamWindow {
    fn fill(&mut self, want: usize) -> &[u8] {
        while self.end - self.start < want && !self.eof {
            if self.buf.len() - self.start < want {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
                if self.buf.len() < want.max(STREAM_CHUNK) {
                    self.buf.resize(want.max(STREAM_CHUNK), 0);
                }
            }
            self.read_more();
        }
        &self.buf[self.start..self.end]
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.offset += n as u64;
    }

    fn skip(&mut self, n: u64) -> u64 {
        let mut done = 0;
        while done < n {
            let avail = self.fill(1).len();
            if avail == 0 {
                break;
            }
            let step = (avail as u64).min(n - done) as usize;
            self.consume(step);
            done += step as u64;
        }
        done
    }

    fn offset(&self) -> u64 {
        self.offset
    }

    fn take_io_error(&mut self) -> Option<io::Error> {
        self.error.take()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out one byte per read, the worst case for refilling.
    struct Trickle(Vec<u8>, usize);

    impl Read for Trickle {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.1 >= self.0.len() || buf.is_empty() {
                return Ok(0);
            }
            buf[0] = self.0[self.1];
            self.1 += 1;
            Ok(1)
        }
    }

    #[test]
    fn stream_window_refills_and_skips() {
        let data: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let mut w = StreamWindow::new(Box::new(Trickle(data.clone(), 0)), 0);
        assert_eq!(&w.fill(10)[..10], &data[..10]);
        w.consume(7);
        assert_eq!(w.offset(), 7);
        assert_eq!(w.skip(3000), 3000);
        assert_eq!(w.fill(4)[0], data[3007]);
        assert_eq!(w.skip(10_000), 5000 - 3007);
        assert!(w.fill(1).is_empty());
    }
}
