//! `analyze --follow` end to end: a real child process tails a log through
//! rotation, is stopped with SIGTERM, restarts from its checkpoint in the
//! store, and neither loses nor repeats a line.

mod common;

use common::*;
use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tripline_store::Store;

fn spawn_follow(db: &str, log: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_tripline"))
        .args([
            "analyze", "--quiet", "--follow", "--db", db, "--year", "2026", log,
        ])
        .env_remove("TRIPLINE_CONFIG")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn tripline")
}

fn stop(mut child: Child) -> String {
    unsafe { libc_kill(child.id() as i32, 15) };
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(status.success(), "follow exited with {status}: {err}");
            return err;
        }
        assert!(Instant::now() < deadline, "follow did not stop on SIGTERM");
        std::thread::sleep(Duration::from_millis(50));
    }
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

/// Waits until the store holds `n` connection rows (the follower commits
/// after every poll). Fails with the child's stderr if it died meanwhile.
fn wait_for_rows(db: &str, n: u64, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut seen = 0;
    loop {
        if let Ok(store) = Store::open(std::path::Path::new(db)) {
            seen = store.counts(None).map(|c| c.connections).unwrap_or(seen);
            if seen >= n {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                use std::io::Read;
                let _ = e.read_to_string(&mut err);
            }
            panic!("follow exited ({status}) at {seen} of {n} rows: {err}");
        }
        assert!(
            Instant::now() < deadline,
            "store never reached {n} connections (has {seen})"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn append(path: &str, lines: &[&str]) {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .unwrap();
    for l in lines {
        writeln!(f, "{l}").unwrap();
    }
}

#[test]
fn follows_through_rotation_and_resumes_without_loss_or_repeat() {
    let text = std::fs::read_to_string(example("data/kern.log")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 25);
    let dir = tempdir();
    let db = join(&dir, "t.db");
    let log = join(&dir, "kern.log");

    append(&log, &lines[..5]);
    let mut child = spawn_follow(&db, &log);
    wait_for_rows(&db, 5, &mut child);
    append(&log, &lines[5..10]);
    wait_for_rows(&db, 10, &mut child);
    // Rotate by rename; two lines still reach the old file after the rename.
    std::fs::rename(&log, format!("{log}.1")).unwrap();
    append(&format!("{log}.1"), &lines[10..12]);
    std::thread::sleep(Duration::from_millis(300));
    append(&log, &lines[12..15]);
    wait_for_rows(&db, 15, &mut child);
    stop(child);

    // While stopped: more lines, then a restart resumes at the checkpoint.
    append(&log, &lines[15..20]);
    let mut child = spawn_follow(&db, &log);
    wait_for_rows(&db, 20, &mut child);
    // copytruncate rotation.
    std::fs::copy(&log, format!("{log}.2")).unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .truncate(true)
        .open(&log)
        .unwrap();
    std::thread::sleep(Duration::from_millis(600));
    append(&log, &lines[20..25]);
    wait_for_rows(&db, 25, &mut child);
    std::thread::sleep(Duration::from_millis(600));
    stop(child);

    let store = Store::open(std::path::Path::new(&db)).unwrap();
    assert_eq!(
        store.counts(None).unwrap().connections,
        25,
        "every line exactly once"
    );
    let cp = store
        .load_checkpoint(&log)
        .unwrap()
        .expect("checkpoint saved");
    assert_eq!(cp.offset, std::fs::metadata(&log).unwrap().len());
}
