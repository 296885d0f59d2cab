//! Running firewall tools (`nft`, `iptables`, `ipset`) without a shell:
//! arguments passed as a list, an optional script on standard input, a
//! bounded wait, and standard error kept for the error message.

use super::error::RespondError;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a firewall tool may run before it is killed.
pub const TOOL_TIMEOUT: Duration = Duration::from_secs(20);

/// Most bytes of standard output kept (a set listing of ~1M addresses).
const MAX_STDOUT: u64 = 64 << 20;
/// Most bytes of standard error kept for an error message.
const MAX_STDERR: usize = 2048;

/// Runs `tool args...`, feeding `stdin` when given, and returns its
/// standard output. A non-zero exit is an error carrying standard error.
pub fn run_tool(tool: &str, args: &[&str], stdin: Option<&str>) -> Result<String, RespondError> {
    let mut child = Command::new(tool)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|source| RespondError::Spawn {
            tool: tool.to_string(),
            source,
        })?;
    // Feed stdin and drain both pipes on threads so a large script or a
    // large listing cannot deadlock on a full pipe.
    let writer = match (stdin, child.stdin.take()) {
        (Some(text), Some(mut pipe)) => {
            let text = text.to_string();
            Some(std::thread::spawn(move || {
                let _ = pipe.write_all(text.as_bytes());
            }))
        }
        _ => None,
    };
    let out_reader = child.stdout.take().map(|p| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = p.take(MAX_STDOUT).read_to_string(&mut s);
            s
        })
    });
    let err_reader = child.stderr.take().map(|p| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = p.take(MAX_STDOUT).read_to_string(&mut s);
            s
        })
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() >= TOOL_TIMEOUT => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(RespondError::Timeout {
                    tool: tool.to_string(),
                    seconds: TOOL_TIMEOUT.as_secs(),
                });
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(5)),
            Err(source) => {
                return Err(RespondError::Spawn {
                    tool: tool.to_string(),
                    source,
                });
            }
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    let stdout = out_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    let stderr = err_reader.and_then(|h| h.join().ok()).unwrap_or_default();
    if status.success() {
        Ok(stdout)
    } else {
        let mut e = stderr.trim().to_string();
        if e.len() > MAX_STDERR {
            let mut cut = MAX_STDERR;
            while !e.is_char_boundary(cut) {
                cut -= 1;
            }
            e.truncate(cut);
        }
        Err(RespondError::Failed {
            tool: tool.to_string(),
            args: args.join(" "),
            status: status.to_string(),
            stderr: e,
        })
    }
}

/// True when `tool` can be started (`tool --version` succeeds).
pub fn tool_available(tool: &str) -> bool {
    run_tool(tool, &["--version"], None).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stdin_is_fed_and_failure_carries_stderr() {
        let out = run_tool("cat", &[], Some("hello\n")).unwrap();
        assert_eq!(out, "hello\n");
        let e = run_tool("sh", &["-c", "echo oops >&2; exit 3"], None).unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("oops") && msg.contains("sh"), "{msg}");
        let e = run_tool("/nonexistent/tool", &[], None).unwrap_err();
        assert!(matches!(e, RespondError::Spawn { .. }));
    }
}
