//! Content hashes that identify an input file across names and re-ingests.

use sha1::{Digest, Sha1};
use std::io::{self, Read};
use std::path::Path;

/// Read size for hashing: large enough that syscalls do not dominate.
const CHUNK: usize = 1 << 20;

/// The SHA-1 of a file's content as 40 lower-case hex digits, read in
/// streaming 1 MiB chunks (constant memory whatever the file size).
///
/// SHA-1 is used as a fingerprint of content we already have, not against an
/// adversary choosing collisions; the `sha1` crate uses the CPU's SHA
/// extensions when present.
pub fn hash_file(path: &Path) -> io::Result<String> {
    let file = std::fs::File::open(path)?;
    hash_reader(file)
}

/// The SHA-1 of everything `reader` yields, as 40 lower-case hex digits.
pub fn hash_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha1::new();
    let mut buf = vec![0u8; CHUNK];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(to_hex(&hasher.finalize()))
}

fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(
            hash_reader(&b""[..]).unwrap(),
            "da39a3ee5e6b4b0d3255bfef95601890afd80709"
        );
        assert_eq!(
            hash_reader(&b"abc"[..]).unwrap(),
            "a9993e364706816aba3e25717850c26c9cd0d89d"
        );
    }

    #[test]
    fn file_larger_than_one_chunk() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("big");
        let data: Vec<u8> = (0..(CHUNK * 2 + 17)).map(|i| (i % 251) as u8).collect();
        std::fs::write(&p, &data).unwrap();
        assert_eq!(hash_file(&p).unwrap(), hash_reader(&data[..]).unwrap());
        assert!(hash_file(&dir.path().join("missing")).is_err());
    }
}
