//! Following growing log files like `tail -F`, across rotation, with checkpoints.
//!
//! A [`FileFollower`] watches one or more paths and, on each [`poll`], hands
//! every newly completed line to a callback, borrowed from a per-path buffer
//! (no allocation per line). An incomplete last line waits for its newline.
//!
//! * Rename-and-recreate rotation (a different inode appears at the path):
//!   the old file is read to its end through the descriptor still open, until
//!   it has been quiet for `rotate_wait`, then the new file is read from 0.
//!   While the path is missing (renamed, not yet recreated, or deleted), the
//!   old descriptor keeps being read: writers may still append to it.
//! * Copytruncate (same inode, now shorter than what was read, or its first
//!   line changed): reading restarts at 0.
//! * Checkpoints (inode, offset, fingerprint of the first line) are saved to a
//!   [`CheckpointStore`] after every poll. On start, a checkpoint resumes the
//!   file at the path if it is still the same file, or else a rotated sibling
//!   (`path.1`, `path-20260101`, ...) that is, finishing that first: a restart
//!   neither loses nor repeats a line.
//!
//! [`poll`]: FileFollower::poll

mod checkpoint;
mod tailed;

pub use checkpoint::{
    Checkpoint, CheckpointStore, FINGERPRINT_BYTES, JsonFileCheckpoints, MemoryCheckpoints,
    fingerprint,
};

use checkpoint::fingerprint_file;
use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tailed::{FileId, LineBuffer, ReadCounts, ReadEnd, TailedFile};
use tripline_core::{ErrorKind, InputError, Location};

/// Bytes asked of the kernel per read.
const READ_CHUNK: usize = 64 * 1024;
/// Longest line a caller may ask to keep whole.
const MAX_LINE_CAP: usize = 16 * 1024 * 1024;
/// Directory entries looked at when searching for a rotated sibling.
const MAX_SIBLING_SCAN: usize = 10_000;

/// Where to start in a file that has no usable checkpoint.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StartAt {
    /// Read the whole file.
    #[default]
    Beginning,
    /// Only lines written from now on (the file's last incomplete line is
    /// delivered once it is complete).
    End,
}

/// How to follow.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FollowOptions {
    /// Pause between polls in [`FileFollower::run_until`].
    pub poll_interval: Duration,
    /// Where to start in a file seen for the first time. A file that appears
    /// later, or replaces one a checkpoint no longer matches, is read from 0.
    pub start_at: StartAt,
    /// Longest line delivered whole; longer ones are cut and flagged
    /// (at least [`FINGERPRINT_BYTES`], at most 16 MiB).
    pub max_line_len: usize,
    /// Most bytes read from one file in one poll; the rest waits for the next.
    pub max_bytes_per_poll: u64,
    /// After rotation, how long the old file must stay quiet before it is
    /// closed and the new one is read.
    pub rotate_wait: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            poll_interval: Duration::from_millis(250),
            start_at: StartAt::Beginning,
            max_line_len: 64 * 1024,
            max_bytes_per_poll: 4 * 1024 * 1024,
            rotate_wait: Duration::from_secs(1),
        }
    }
}

/// One line from a followed file.
#[derive(Clone, Copy, Debug)]
pub struct FollowedLine<'a> {
    /// The followed path as configured.
    pub path: &'a str,
    /// The line without its newline (and without a trailing `\r`).
    pub line: &'a [u8],
    /// Line number within the current file, counted from where reading
    /// started (exact when read from the beginning or resumed; from 1 after
    /// starting at the end).
    pub lineno: u64,
    /// The line was longer than `max_line_len` and was cut there; the rest,
    /// up to its newline, is skipped.
    pub truncated: bool,
    /// The file was left (rotated away, cut short) before this line's newline came.
    pub unterminated: bool,
    /// Where to resume so that this line is not delivered again.
    pub checkpoint: &'a Checkpoint,
}

/// What one poll did.
#[derive(Debug, Default)]
pub struct PollResult {
    /// Lines delivered.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Some file hit `max_bytes_per_poll`: poll again without waiting.
    pub more: bool,
    /// Problems with individual paths (each reported once until it changes);
    /// the others were still read and the failing one is retried next poll.
    pub errors: Vec<InputError>,
}

/// Counters over the follower's life.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FollowStats {
    /// Lines delivered.
    pub lines: u64,
    /// Bytes read.
    pub bytes: u64,
    /// Lines cut at `max_line_len`.
    pub truncated_lines: u64,
    /// Lines delivered without a newline because their file was left.
    pub unterminated_lines: u64,
    /// Files opened (first appearance or after rotation).
    pub opened: u64,
    /// Rename-and-recreate rotations followed.
    pub rotations: u64,
    /// Truncations (copytruncate, rewrites) followed.
    pub truncations: u64,
    /// Errors reported.
    pub errors: u64,
}

/// One followed path.
struct Watched {
    /// Position in the file being read; `path` is the configured path.
    cp: Checkpoint,
    /// What the store last got.
    saved: Checkpoint,
    /// The stored checkpoint has not been looked at yet.
    resume_pending: bool,
    file: Option<TailedFile>,
    buf: LineBuffer,
    last_error: Option<io::ErrorKind>,
}

/// Follows files across appends, rotation and restarts; see the module docs.
pub struct FileFollower<S: CheckpointStore = MemoryCheckpoints> {
    watched: Vec<Watched>,
    opts: FollowOptions,
    store: S,
    stats: FollowStats,
}

impl FileFollower<MemoryCheckpoints> {
    /// Follows `paths` with checkpoints kept in memory only.
    pub fn new<P: Into<String>>(paths: impl IntoIterator<Item = P>, opts: FollowOptions) -> Self {
        Self::with_store(paths, opts, MemoryCheckpoints::new())
    }
}

impl<S: CheckpointStore> FileFollower<S> {
    /// Follows `paths`, resuming each from its checkpoint in `store` (looked
    /// up at the first poll).
    pub fn with_store<P: Into<String>>(
        paths: impl IntoIterator<Item = P>,
        mut opts: FollowOptions,
        store: S,
    ) -> Self {
        opts.max_line_len = opts.max_line_len.clamp(FINGERPRINT_BYTES, MAX_LINE_CAP);
        opts.max_bytes_per_poll = opts.max_bytes_per_poll.max(1);
        let watched = paths
            .into_iter()
            .map(|path| {
                let cp = Checkpoint {
                    path: path.into(),
                    ..Checkpoint::default()
                };
                Watched {
                    saved: cp.clone(),
                    cp,
                    resume_pending: true,
                    file: None,
                    buf: LineBuffer::new(opts.max_line_len, READ_CHUNK),
                    last_error: None,
                }
            })
            .collect();
        FileFollower {
            watched,
            opts,
            store,
            stats: FollowStats::default(),
        }
    }

    /// Reads every path once, delivering new complete lines to `on_line`,
    /// then saves and flushes the changed checkpoints.
    ///
    /// A problem with one path is reported in [`PollResult::errors`] and the
    /// others are still read; an `Err` means the checkpoint store failed.
    pub fn poll(&mut self, on_line: &mut dyn FnMut(&FollowedLine<'_>)) -> io::Result<PollResult> {
        let mut result = PollResult::default();
        for w in &mut self.watched {
            let mut counts = ReadCounts::default();
            let mut budget = self.opts.max_bytes_per_poll;
            let outcome = resume(w, &self.store, &self.opts).and_then(|()| {
                poll_path(
                    w,
                    &self.opts,
                    &mut budget,
                    &mut counts,
                    &mut self.stats,
                    on_line,
                )
            });
            match outcome {
                Ok(end) => {
                    w.last_error = None;
                    result.more |= end == ReadEnd::Budget;
                }
                Err(e) => {
                    if w.last_error != Some(e.kind()) {
                        self.stats.errors += 1;
                        result.errors.push(InputError::new(
                            w.cp.path.as_str(),
                            Location::File,
                            ErrorKind::Io,
                            e.to_string(),
                        ));
                    }
                    w.last_error = Some(e.kind());
                }
            }
            result.lines += counts.lines;
            result.bytes += counts.bytes;
            self.stats.lines += counts.lines;
            self.stats.bytes += counts.bytes;
            self.stats.truncated_lines += counts.truncated;
            self.stats.unterminated_lines += counts.unterminated;
            if w.cp != w.saved && w.cp.inode != 0 {
                self.store.save(&w.cp)?;
                w.saved.clone_from(&w.cp);
            }
        }
        self.store.flush()?;
        Ok(result)
    }

    /// Polls until `stop` is set, waiting `poll_interval` between polls that
    /// found nothing more to read. Per-path problems go to `on_error`.
    pub fn run_until(
        &mut self,
        stop: &AtomicBool,
        on_line: &mut dyn FnMut(&FollowedLine<'_>),
        on_error: &mut dyn FnMut(&InputError),
    ) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let result = self.poll(on_line)?;
            result.errors.iter().for_each(&mut *on_error);
            if result.more {
                continue;
            }
            let until = Instant::now() + self.opts.poll_interval;
            loop {
                let now = Instant::now();
                if now >= until || stop.load(Ordering::Relaxed) {
                    break;
                }
                std::thread::sleep((until - now).min(Duration::from_millis(50)));
            }
        }
        Ok(())
    }

    /// The current position in each followed path (inode 0 while none is open).
    pub fn checkpoints(&self) -> impl Iterator<Item = &Checkpoint> {
        self.watched.iter().map(|w| &w.cp)
    }

    /// Counters so far.
    pub fn stats(&self) -> &FollowStats {
        &self.stats
    }

    /// The options in force (after clamping).
    pub fn options(&self) -> &FollowOptions {
        &self.opts
    }

    /// The checkpoint store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// Ends following and gives the store back (to resume later).
    pub fn into_store(self) -> S {
        self.store
    }
}

/// On the first poll of a path, picks the file and offset to start from.
fn resume(w: &mut Watched, store: &impl CheckpointStore, opts: &FollowOptions) -> io::Result<()> {
    if !w.resume_pending {
        return Ok(());
    }
    let saved = store.load(&w.cp.path)?;
    w.file = start(&w.cp.path, saved.as_ref(), opts)?;
    if let Some(saved) = saved {
        w.saved = saved;
    }
    if let Some(tf) = &w.file {
        tf.checkpoint(&mut w.cp);
    }
    w.resume_pending = false;
    Ok(())
}

/// One poll of one path: notice rotation or truncation, read.
fn poll_path(
    w: &mut Watched,
    opts: &FollowOptions,
    budget: &mut u64,
    counts: &mut ReadCounts,
    stats: &mut FollowStats,
    on_line: &mut dyn FnMut(&FollowedLine<'_>),
) -> io::Result<ReadEnd> {
    let at_path = match fs::metadata(&w.cp.path) {
        Ok(meta) => Some((FileId::of(&meta), meta.len())),
        Err(e) if e.kind() == io::ErrorKind::NotFound => None,
        Err(e) => return Err(e),
    };
    let Watched { cp, file, buf, .. } = w;
    let Some(tf) = file.as_mut() else {
        if at_path.is_none() {
            return Ok(ReadEnd::Eof);
        }
        return open_and_read(file, buf, cp, budget, counts, stats, on_line);
    };
    match at_path {
        Some((id, size)) if id == tf.id => {
            let rewritten = size != tf.last_size
                && tf.fingerprint.is_some()
                && fingerprint_file(&tf.file)? != tf.fingerprint;
            if size < tf.read_pos || rewritten {
                tf.finish(buf, cp, counts, on_line);
                tf.restart(size);
                tf.checkpoint(cp);
                stats.truncations += 1;
            }
            tf.last_size = size;
            tf.read_lines(buf, cp, budget, counts, on_line)
        }
        // Renamed away or deleted, and nothing new yet: writers may still
        // append to the file we hold open.
        None => tf.read_lines(buf, cp, budget, counts, on_line),
        Some(_) => {
            let end = tf.read_lines(buf, cp, budget, counts, on_line)?;
            if end == ReadEnd::Budget || tf.last_growth.elapsed() < opts.rotate_wait {
                return Ok(end);
            }
            tf.finish(buf, cp, counts, on_line);
            stats.rotations += 1;
            *file = None;
            open_and_read(file, buf, cp, budget, counts, stats, on_line)
        }
    }
}

/// Opens the file now at the path from its beginning and reads it.
fn open_and_read(
    file: &mut Option<TailedFile>,
    buf: &mut LineBuffer,
    cp: &mut Checkpoint,
    budget: &mut u64,
    counts: &mut ReadCounts,
    stats: &mut FollowStats,
    on_line: &mut dyn FnMut(&FollowedLine<'_>),
) -> io::Result<ReadEnd> {
    let f = match File::open(&cp.path) {
        Ok(f) => f,
        // Gone again between the stat and the open: try next poll.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(ReadEnd::Eof),
        Err(e) => return Err(e),
    };
    buf.clear();
    let tf = file.insert(TailedFile::at(f, 0, 0)?);
    stats.opened += 1;
    tf.checkpoint(cp);
    tf.read_lines(buf, cp, budget, counts, on_line)
}

/// The file to read first: the one a checkpoint names (at the path or a
/// rotated sibling), the end of the file for `StartAt::End`, or none yet
/// (the file at the path will be read from 0).
fn start(
    path: &str,
    saved: Option<&Checkpoint>,
    opts: &FollowOptions,
) -> io::Result<Option<TailedFile>> {
    if let Some(saved) = saved.filter(|cp| cp.inode != 0) {
        match File::open(path) {
            Ok(f) => {
                if let Some(tf) = resume_in(f, saved)? {
                    return Ok(Some(tf));
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        // Not (or no longer) at the path: rotated while we were stopped? If
        // not found anywhere, what is at the path now is all new.
        return find_rotated(Path::new(path), saved);
    }
    match (opts.start_at, File::open(path)) {
        (StartAt::Beginning, _) => Ok(None),
        (StartAt::End, Ok(f)) => Ok(Some(TailedFile::at_end(f, opts.max_line_len)?)),
        (StartAt::End, Err(e)) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        (StartAt::End, Err(e)) => Err(e),
    }
}

/// `file` positioned at the checkpoint, if it is the checkpointed file.
fn resume_in(file: File, saved: &Checkpoint) -> io::Result<Option<TailedFile>> {
    let meta = file.metadata()?;
    if meta.ino() != saved.inode || meta.len() < saved.offset {
        return Ok(None);
    }
    if saved.offset > 0 && fingerprint_file(&file)? != Some(saved.fingerprint) {
        return Ok(None);
    }
    TailedFile::at(file, saved.offset, saved.line).map(Some)
}

/// Looks next to `path` for its rotated self (`NAME.1`, `NAME-20260101`,
/// `NAME_old`: the name followed by `.`, `-` or `_`) with the checkpoint's
/// inode and fingerprint.
fn find_rotated(path: &Path, saved: &Checkpoint) -> io::Result<Option<TailedFile>> {
    let Some(name) = path.file_name() else {
        return Ok(None);
    };
    let name = name.as_encoded_bytes();
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    for entry in fs::read_dir(dir)?.take(MAX_SIBLING_SCAN) {
        let entry = entry?;
        let entry_name = entry.file_name();
        let entry_name = entry_name.as_encoded_bytes();
        let sibling = entry_name.len() > name.len()
            && entry_name.starts_with(name)
            && matches!(entry_name[name.len()], b'.' | b'-' | b'_');
        if !sibling || entry.ino() != saved.inode {
            continue;
        }
        if let Ok(f) = File::open(entry.path())
            && let Some(tf) = resume_in(f, saved)?
        {
            return Ok(Some(tf));
        }
    }
    Ok(None)
}
