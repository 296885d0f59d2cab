//! Following real files: partial lines, over-long lines, start at end, the
//! per-poll budget, several paths, errors, and the polling loop.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use tripline_ingest::follow::{
    Checkpoint, FileFollower, FollowOptions, FollowedLine, MemoryCheckpoints, PollResult, StartAt,
};

fn append(path: &Path, data: &[u8]) {
    let mut f = OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    f.write_all(data).unwrap();
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Got {
    path: String,
    line: String,
    lineno: u64,
    truncated: bool,
    checkpoint: Checkpoint,
}

fn poll<S: tripline_ingest::follow::CheckpointStore>(
    f: &mut FileFollower<S>,
    got: &mut Vec<Got>,
) -> PollResult {
    f.poll(&mut |l: &FollowedLine<'_>| {
        got.push(Got {
            path: l.path.to_string(),
            line: String::from_utf8_lossy(l.line).into_owned(),
            lineno: l.lineno,
            truncated: l.truncated,
            checkpoint: l.checkpoint.clone(),
        })
    })
    .unwrap()
}

fn texts(got: &[Got]) -> Vec<&str> {
    got.iter().map(|g| g.line.as_str()).collect()
}

#[test]
fn partial_lines_wait_for_their_newline() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("auth.log");
    let p = path.to_str().unwrap();
    append(&path, b"alpha\nbra");
    let mut f = FileFollower::new([p], FollowOptions::default());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    assert_eq!(texts(&got), ["alpha"]);
    assert_eq!(f.checkpoints().next().unwrap().offset, 6);
    append(&path, b"vo\r\ncharlie");
    poll(&mut f, &mut got);
    assert_eq!(texts(&got), ["alpha", "bravo"]);
    append(&path, b"\n\n");
    let r = poll(&mut f, &mut got);
    assert_eq!(r.lines, 2);
    assert_eq!(texts(&got), ["alpha", "bravo", "charlie", ""]);
    // Each line carries where to resume after it, and its number.
    let offsets: Vec<u64> = got.iter().map(|g| g.checkpoint.offset).collect();
    assert_eq!(offsets, [6, 13, 21, 22]);
    assert_eq!(
        got.iter().map(|g| g.lineno).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    assert!(got.iter().all(|g| g.path == p && g.checkpoint.path == p));
    let inode = std::os::unix::fs::MetadataExt::ino(&fs::metadata(&path).unwrap());
    assert!(got.iter().all(|g| g.checkpoint.inode == inode));
    assert_eq!(
        got[0].checkpoint.fingerprint,
        tripline_ingest::follow::fingerprint(b"alpha\n").unwrap()
    );
}

#[test]
fn over_long_lines_are_cut_and_flagged() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("syslog");
    let opts = FollowOptions {
        max_line_len: 300,
        ..FollowOptions::default()
    };
    append(&path, b"short\n");
    append(&path, &[b'a'; 1000]);
    let mut f = FileFollower::new([path.to_str().unwrap()], opts.clone());
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    assert_eq!(got.len(), 2);
    assert!(got[1].truncated && got[1].line == "a".repeat(300));
    // The rest of the long line arrives in pieces, then a normal line.
    append(&path, &[b'b'; 700]);
    poll(&mut f, &mut got);
    append(&path, b"bbb\nnext\n");
    poll(&mut f, &mut got);
    assert_eq!(texts(&got[2..]), ["next"]);
    assert_eq!(f.stats().truncated_lines, 1);

    // A restart whose checkpoint lies inside a long line skips to its end.
    append(&path, &[b'c'; 400]);
    poll(&mut f, &mut got);
    let store = f.into_store();
    assert!(got.last().unwrap().truncated);
    append(&path, b"ccc\nafter\n");
    let mut f = FileFollower::with_store([path.to_str().unwrap()], opts, store);
    let mut more = Vec::new();
    poll(&mut f, &mut more);
    assert_eq!(texts(&more), ["after"]);
}

#[test]
fn start_at_end_skips_history() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("daemon.log");
    append(&path, b"old 1\nold 2\nbeing writ");
    let opts = FollowOptions {
        start_at: StartAt::End,
        ..FollowOptions::default()
    };
    let mut f = FileFollower::new([path.to_str().unwrap()], opts);
    let mut got = Vec::new();
    poll(&mut f, &mut got);
    assert!(got.is_empty());
    append(&path, b"ten\nnew\n");
    poll(&mut f, &mut got);
    assert_eq!(texts(&got), ["being written", "new"]);
}

#[test]
fn budget_spreads_a_big_backlog_over_polls() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.log");
    let data: String = (0..2000).map(|i| format!("record {i:05}\n")).collect();
    append(&path, data.as_bytes());
    let opts = FollowOptions {
        max_bytes_per_poll: 4096,
        ..FollowOptions::default()
    };
    let mut f = FileFollower::new([path.to_str().unwrap()], opts);
    let mut got = Vec::new();
    let mut polls = 0;
    loop {
        let r = poll(&mut f, &mut got);
        polls += 1;
        assert!(r.bytes <= 4096);
        if !r.more {
            break;
        }
        assert!(polls < 1000);
    }
    assert!(polls >= data.len() / 4096);
    let want: Vec<&str> = data.lines().collect();
    assert_eq!(texts(&got), want);
}

#[test]
fn several_paths_and_a_failing_one() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.log");
    let b = dir.path().join("b.log");
    let bad = dir.path().join("a-directory");
    fs::create_dir(&bad).unwrap();
    append(&a, b"a1\n");
    append(&b, b"b1\nb2\n");
    let paths = [
        a.to_str().unwrap(),
        bad.to_str().unwrap(),
        b.to_str().unwrap(),
    ];
    let mut f = FileFollower::with_store(paths, FollowOptions::default(), MemoryCheckpoints::new());
    let mut got = Vec::new();
    let r = poll(&mut f, &mut got);
    assert_eq!(r.errors.len(), 1, "{:?}", r.errors);
    assert_eq!(r.errors[0].path, paths[1]);
    // Reported once, not on every poll; the other paths go on.
    append(&a, b"a2\n");
    let r = poll(&mut f, &mut got);
    assert!(r.errors.is_empty());
    let by_path = |p: &str| {
        got.iter()
            .filter(|g| g.path == p)
            .map(|g| g.line.clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(by_path(paths[0]), ["a1", "a2"]);
    assert_eq!(by_path(paths[2]), ["b1", "b2"]);
    assert_eq!(f.stats().errors, 1);
    assert_eq!(f.store().all().len(), 2);
}

#[test]
fn run_until_follows_a_writer_and_stops() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("live.log");
    let opts = FollowOptions {
        poll_interval: Duration::from_millis(20),
        rotate_wait: Duration::ZERO,
        ..FollowOptions::default()
    };
    let mut f = FileFollower::new([path.to_str().unwrap().to_string()], opts);
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (path, stop) = (path.clone(), Arc::clone(&stop));
        std::thread::spawn(move || {
            for i in 0..50 {
                append(&path, format!("w {i}\n").as_bytes());
                if i == 25 {
                    fs::rename(&path, path.with_extension("log.1")).unwrap();
                }
                std::thread::sleep(Duration::from_millis(2));
            }
            // Let the follower catch up, bounded, then stop it.
            let deadline = Instant::now() + Duration::from_secs(5);
            let done = path.with_extension("done");
            while !done.exists() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(10));
            }
            stop.store(true, Ordering::Relaxed);
        })
    };
    let mut lines = Vec::new();
    let done = path.with_extension("done");
    f.run_until(
        &stop,
        &mut |l: &FollowedLine<'_>| {
            lines.push(String::from_utf8_lossy(l.line).into_owned());
            if lines.len() == 50 {
                fs::write(&done, b"").unwrap();
            }
        },
        &mut |e| panic!("{e}"),
    )
    .unwrap();
    writer.join().unwrap();
    let want: Vec<String> = (0..50).map(|i| format!("w {i}")).collect();
    assert_eq!(lines, want);
}
