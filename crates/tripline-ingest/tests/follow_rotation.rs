//! Following real files in a temporary directory across rotation by rename,
//! copytruncate, deletion, and restarts from a checkpoint.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use tripline_ingest::follow::{
    CheckpointStore, FileFollower, FollowOptions, FollowedLine, JsonFileCheckpoints,
    MemoryCheckpoints, PollResult,
};

fn opts() -> FollowOptions {
    FollowOptions {
        rotate_wait: Duration::ZERO,
        ..FollowOptions::default()
    }
}

fn append(path: &Path, data: &str) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data.as_bytes()).unwrap();
}

/// One poll; lines are kept as text, flagged `~` when unterminated.
fn poll<S: CheckpointStore>(f: &mut FileFollower<S>, got: &mut Vec<String>) -> PollResult {
    let result = f
        .poll(&mut |l: &FollowedLine<'_>| {
            let mut s = String::from_utf8_lossy(l.line).into_owned();
            if l.unterminated {
                s.push('~');
            }
            got.push(s);
        })
        .unwrap();
    assert!(result.errors.is_empty(), "{:?}", result.errors);
    result
}

fn lines(range: std::ops::RangeInclusive<u32>) -> Vec<String> {
    range.map(|i| format!("line {i}")).collect()
}

fn text(range: std::ops::RangeInclusive<u32>) -> String {
    range.map(|i| format!("line {i}\n")).collect()
}

fn setup() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("kern.log");
    (dir, path)
}

#[test]
fn rename_and_recreate_keeps_lines_written_to_the_old_file() {
    let (_dir, path) = setup();
    let rotated = path.with_extension("log.1");
    append(&path, &text(1..=3));
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=3));

    // The writer keeps its descriptor across the rename.
    let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
    writer.write_all(b"line 4\n").unwrap();
    fs::rename(&path, &rotated).unwrap();
    writer.write_all(b"line 5\nline 6\n").unwrap();
    poll(&mut f, &mut got); // the path is missing: the old file is still read
    writer.write_all(b"line 7\nline").unwrap();
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=7));
    writer.write_all(b" 8\n").unwrap();
    append(&path, &text(9..=10));
    poll(&mut f, &mut got); // old file finished first, then the new one from 0
    assert_eq!(got, lines(1..=10));
    assert_eq!(f.stats().rotations, 1);
    let cp = f.checkpoints().next().unwrap();
    assert_eq!(cp.offset, fs::metadata(&path).unwrap().len());
}

#[test]
fn rotation_waits_until_the_old_file_is_quiet() {
    let (_dir, path) = setup();
    append(&path, &text(1..=2));
    let wait = Duration::from_millis(150);
    let mut f = FileFollower::new(
        [path.to_str().unwrap()],
        FollowOptions {
            rotate_wait: wait,
            ..opts()
        },
    );
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    let mut writer = OpenOptions::new().append(true).open(&path).unwrap();
    fs::rename(&path, path.with_extension("log.1")).unwrap();
    append(&path, &text(10..=11));
    writer.write_all(b"line 3\n").unwrap();
    poll(&mut f, &mut got);
    assert_eq!(
        got,
        lines(1..=3),
        "new file must wait while the old one is busy"
    );
    writer.write_all(b"line 4\n").unwrap();
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=4));
    let deadline = Instant::now() + Duration::from_secs(5);
    while got.len() < 6 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(30));
        poll(&mut f, &mut got);
    }
    let mut want = lines(1..=4);
    want.extend(lines(10..=11));
    assert_eq!(got, want);
}

#[test]
fn unterminated_last_line_of_a_rotated_file_is_delivered() {
    let (_dir, path) = setup();
    append(&path, "line 1\nhalf a line");
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    assert_eq!(got, ["line 1"]);
    fs::rename(&path, path.with_extension("log.1")).unwrap();
    append(&path, "line 2\n");
    poll(&mut f, &mut got);
    assert_eq!(got, ["line 1", "half a line~", "line 2"]);
    assert_eq!(f.stats().unterminated_lines, 1);
}

#[test]
fn copytruncate_restarts_at_zero() {
    let (_dir, path) = setup();
    append(&path, &text(1..=3));
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    fs::copy(&path, path.with_extension("log.1")).unwrap();
    OpenOptions::new()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(0)
        .unwrap();
    poll(&mut f, &mut got);
    append(&path, &text(4..=5));
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=5));
    assert_eq!(f.stats().truncations, 1);
}

#[test]
fn truncate_and_regrow_between_polls_is_noticed_by_the_fingerprint() {
    let (_dir, path) = setup();
    append(&path, &text(1..=2));
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    // Cut and written past the old size before the next poll.
    File::create(&path)
        .unwrap()
        .write_all(text(100..=110).as_bytes())
        .unwrap();
    poll(&mut f, &mut got);
    let mut want = lines(1..=2);
    want.extend(lines(100..=110));
    assert_eq!(got, want);
    assert_eq!(f.stats().truncations, 1);
}

#[test]
fn deleted_file_is_picked_up_when_recreated() {
    let (_dir, path) = setup();
    append(&path, &text(1..=2));
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    fs::remove_file(&path).unwrap();
    for _ in 0..3 {
        let r = poll(&mut f, &mut got);
        assert_eq!(r.lines, 0);
    }
    append(&path, &text(3..=4));
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=4));
}

#[test]
fn missing_at_start_then_created() {
    let (_dir, path) = setup();
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    append(&path, &text(1..=2));
    poll(&mut f, &mut got);
    assert_eq!(got, lines(1..=2));
}

/// A tiny deterministic generator so the chunking is varied but repeatable.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % bound
    }
}

#[test]
fn restarts_from_a_checkpoint_neither_lose_nor_repeat() {
    let (dir, path) = setup();
    let store_file = dir.path().join("checkpoints.json");
    let all: String = (1..=300)
        .map(|i| format!("event {i} {}\n", "x".repeat(i % 37)))
        .collect();
    let want: Vec<String> = all.lines().map(str::to_string).collect();
    let mut rng = Lcg(7);
    let mut written = 0;
    let mut got = Vec::new();
    let mut restarts = 0;
    while written < all.len() || got.len() < want.len() {
        let store = JsonFileCheckpoints::open(&store_file).unwrap();
        let mut f = FileFollower::with_store([path.to_str().unwrap()], opts(), store);
        for _ in 0..=rng.next(4) {
            let n = (rng.next(200) as usize + 1).min(all.len() - written);
            append(&path, &all[written..written + n]);
            written += n;
            poll(&mut f, &mut got);
        }
        restarts += 1;
        assert!(restarts < 1000, "no progress");
    }
    assert!(restarts > 10);
    assert_eq!(got, want);
}

#[test]
fn restart_after_rotation_while_stopped() {
    for sibling in ["kern.log.1", "kern.log-20261122"] {
        let (dir, path) = setup();
        append(&path, &text(1..=5));
        append(&path, "line");
        let mut store = MemoryCheckpoints::new();
        let mut got = Vec::new();
        {
            let mut f = FileFollower::with_store([path.to_str().unwrap()], opts(), store);
            poll(&mut f, &mut got);
            store = f.into_store();
        }
        assert_eq!(got, lines(1..=5));
        // While stopped: the old file grows, is rotated, a new one starts.
        append(&path, " 6\nline 7\n");
        fs::rename(&path, dir.path().join(sibling)).unwrap();
        append(&path, &text(8..=9));
        let mut f = FileFollower::with_store([path.to_str().unwrap()], opts(), store);
        poll(&mut f, &mut got);
        poll(&mut f, &mut got);
        assert_eq!(got, lines(1..=9), "sibling {sibling}");
    }
}

#[test]
fn stale_checkpoint_reads_the_new_file_from_the_start() {
    let (_dir, path) = setup();
    append(&path, &text(1..=3));
    let mut f = FileFollower::new([path.to_str().unwrap()], opts());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    let store = f.into_store();
    // Replaced by a different file; the old one is gone for good.
    fs::remove_file(&path).unwrap();
    append(&path, &text(50..=51));
    let mut f = FileFollower::with_store([path.to_str().unwrap()], opts(), store);
    poll(&mut f, &mut got);
    let mut want = lines(1..=3);
    want.extend(lines(50..=51));
    assert_eq!(got, want);
}
