//! Where a followed file was left off, and where that is kept.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

/// How many bytes of a file's first line make up its fingerprint.
pub const FINGERPRINT_BYTES: usize = 256;

/// The position reached in one followed file.
///
/// Identifies the file by inode and by a fingerprint of its first line, so a
/// restart recognises it after a rename, and tells a truncated-and-rewritten
/// file from the one that was read.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The followed path as configured (also when the data came from its
    /// rotated sibling).
    pub path: String,
    /// Inode of the file the offset belongs to.
    pub inode: u64,
    /// Bytes consumed: everything before this offset was delivered.
    pub offset: u64,
    /// Lines delivered from this file so far (the line number of the last one).
    pub line: u64,
    /// [`fingerprint`] of the file's first line; 0 while offset is 0.
    pub fingerprint: u64,
}

/// A 63-bit FNV-1a hash of `data`'s first line (newline included), cut at
/// [`FINGERPRINT_BYTES`]; `None` while the first line is neither complete
/// nor that long, because it may still change.
///
/// 63 bits so the value fits a signed 64-bit SQL integer.
pub fn fingerprint(data: &[u8]) -> Option<u64> {
    let head = &data[..data.len().min(FINGERPRINT_BYTES)];
    let end = match memchr::memchr(b'\n', head) {
        Some(nl) => nl + 1,
        None if head.len() == FINGERPRINT_BYTES => head.len(),
        None => return None,
    };
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in &head[..end] {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    Some(hash & (u64::MAX >> 1))
}

/// [`fingerprint`] of an open file's first line.
pub(crate) fn fingerprint_file(file: &File) -> io::Result<Option<u64>> {
    let mut head = [0u8; FINGERPRINT_BYTES];
    let mut filled = 0;
    while filled < head.len() {
        match file.read_at(&mut head[filled..], filled as u64) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(fingerprint(&head[..filled]))
}

/// Keeps checkpoints between runs. The follower loads one per path when it
/// starts, saves each changed one after every poll, then flushes.
pub trait CheckpointStore {
    /// The last saved checkpoint for `path`, if any.
    fn load(&self, path: &str) -> io::Result<Option<Checkpoint>>;

    /// Records `checkpoint` (it may be kept in memory until [`Self::flush`]).
    fn save(&mut self, checkpoint: &Checkpoint) -> io::Result<()>;

    /// Makes the saved checkpoints durable; called once per poll.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Checkpoints in memory only: for tests, and for following without resume.
#[derive(Clone, Debug, Default)]
pub struct MemoryCheckpoints {
    by_path: BTreeMap<String, Checkpoint>,
}

impl MemoryCheckpoints {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// All checkpoints, by path.
    pub fn all(&self) -> &BTreeMap<String, Checkpoint> {
        &self.by_path
    }
}

impl CheckpointStore for MemoryCheckpoints {
    fn load(&self, path: &str) -> io::Result<Option<Checkpoint>> {
        Ok(self.by_path.get(path).cloned())
    }

    fn save(&mut self, checkpoint: &Checkpoint) -> io::Result<()> {
        match self.by_path.get_mut(&checkpoint.path) {
            Some(cp) => cp.clone_from(checkpoint),
            None => {
                self.by_path
                    .insert(checkpoint.path.clone(), checkpoint.clone());
            }
        }
        Ok(())
    }
}

#[derive(Serialize, Deserialize)]
struct JsonCheckpoints {
    version: u32,
    checkpoints: Vec<Checkpoint>,
}

/// Checkpoints in one small JSON file, replaced atomically (write to a
/// temporary sibling, fsync, rename) on each flush that has changes.
#[derive(Debug)]
pub struct JsonFileCheckpoints {
    file: PathBuf,
    memory: MemoryCheckpoints,
    dirty: bool,
}

impl JsonFileCheckpoints {
    /// Opens the store at `file`, reading it when it exists. A file that is
    /// not a checkpoint file is an error (not silently replaced).
    pub fn open(file: impl AsRef<Path>) -> io::Result<Self> {
        let file = file.as_ref().to_path_buf();
        let mut memory = MemoryCheckpoints::new();
        match std::fs::read(&file) {
            Ok(bytes) => {
                let parsed: JsonCheckpoints = serde_json::from_slice(&bytes).map_err(|e| {
                    io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("{}: not a checkpoint file: {e}", file.display()),
                    )
                })?;
                for cp in parsed.checkpoints {
                    memory.by_path.insert(cp.path.clone(), cp);
                }
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", file.display()))),
        }
        Ok(JsonFileCheckpoints {
            file,
            memory,
            dirty: false,
        })
    }

    /// All checkpoints, by path.
    pub fn all(&self) -> &BTreeMap<String, Checkpoint> {
        self.memory.all()
    }
}

impl CheckpointStore for JsonFileCheckpoints {
    fn load(&self, path: &str) -> io::Result<Option<Checkpoint>> {
        self.memory.load(path)
    }

    fn save(&mut self, checkpoint: &Checkpoint) -> io::Result<()> {
        if self.memory.by_path.get(&checkpoint.path) != Some(checkpoint) {
            self.memory.save(checkpoint)?;
            self.dirty = true;
        }
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let doc = JsonCheckpoints {
            version: 1,
            checkpoints: self.memory.by_path.values().cloned().collect(),
        };
        let bytes = serde_json::to_vec_pretty(&doc).map_err(io::Error::other)?;
        let mut tmp_name = self.file.clone().into_os_string();
        tmp_name.push(".tmp");
        let tmp = PathBuf::from(tmp_name);
        let mut out = File::create(&tmp)?;
        out.write_all(&bytes)?;
        out.sync_data()?;
        std::fs::rename(&tmp, &self.file)?;
        self.dirty = false;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprint_needs_a_complete_first_line() {
        assert_eq!(fingerprint(b""), None);
        assert_eq!(fingerprint(b"partial"), None);
        let a = fingerprint(b"first\nsecond\n").unwrap();
        assert_eq!(fingerprint(b"first\nother").unwrap(), a);
        assert_ne!(fingerprint(b"First\n").unwrap(), a);
        let long = vec![b'x'; 300];
        assert_eq!(fingerprint(&long), fingerprint(&long[..FINGERPRINT_BYTES]));
        assert!(fingerprint(&long).unwrap() <= i64::MAX as u64);
    }

    #[test]
    fn json_store_round_trips_and_rejects_junk() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cp.json");
        let cp = Checkpoint {
            path: "/var/log/kern.log".into(),
            inode: 42,
            offset: 1000,
            line: 10,
            fingerprint: 7,
        };
        let mut store = JsonFileCheckpoints::open(&file).unwrap();
        assert_eq!(store.load(&cp.path).unwrap(), None);
        store.save(&cp).unwrap();
        store.flush().unwrap();
        let again = JsonFileCheckpoints::open(&file).unwrap();
        assert_eq!(again.load(&cp.path).unwrap(), Some(cp));
        std::fs::write(&file, b"{ not json").unwrap();
        let err = JsonFileCheckpoints::open(&file).unwrap_err();
        assert!(err.to_string().contains("cp.json"), "{err}");
    }
}
