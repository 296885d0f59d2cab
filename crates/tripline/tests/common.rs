//! Helpers shared by the end-to-end tests: run the real binary, find the data.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// `../shared/data/<rel>` from the repository root; fails loudly when the
/// shared data is not beside the repository (a missing input would
/// otherwise just be reported as unreadable by tripline).
pub fn shared(rel: &str) -> String {
    let p = format!("{}/../../../shared/data/{rel}", env!("CARGO_MANIFEST_DIR"));
    assert!(
        std::path::Path::new(&p).exists(),
        "test data {p} not found: the tests expect ../shared beside the repository"
    );
    p
}

/// `examples/<rel>` in this repository.
pub fn example(rel: &str) -> String {
    format!("{}/../../examples/{rel}", env!("CARGO_MANIFEST_DIR"))
}

/// Runs `tripline ARGS` with no configuration from the environment.
pub fn tripline(args: &[&str]) -> Output {
    tripline_stdin(args, None)
}

/// Runs `tripline ARGS`, feeding `stdin` when given.
pub fn tripline_stdin(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let home = std::env::temp_dir().join("tripline-test-home");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_tripline"));
    cmd.args(args)
        .env_remove("TRIPLINE_CONFIG")
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join("config"))
        .env("XDG_DATA_HOME", home.join("data"))
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn tripline");
    if let Some(data) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().expect("stdin");
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        });
    }
    child.wait_with_output().expect("wait tripline")
}

/// Stdout as text.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A fresh temporary directory.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

/// Path inside a temp dir as a String.
pub fn join(dir: &tempfile::TempDir, name: &str) -> String {
    let p: PathBuf = dir.path().join(name);
    p.to_string_lossy().into_owned()
}
