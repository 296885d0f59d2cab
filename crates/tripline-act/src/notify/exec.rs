//! Exec: the classic "spawn a script on every trap hit". The user's command
//! runs without a shell (unless configured), gets the notice as JSON on
//! stdin and its key fields as `TRIPLINE_*` environment variables, runs in
//! its own process group, and is killed with that group when it outlives the
//! timeout. How many run at once is the channel's worker count.

use super::notice::Notice;
use super::{Channel, DeliveryError, ExecConfig, NotifyError};
use std::io::Write as _;
use std::os::unix::process::CommandExt as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How often a running command is checked for exit.
const POLL: Duration = Duration::from_millis(10);

/// Runs a command per notice.
pub struct ExecChannel {
    program: String,
    args: Vec<String>,
    timeout: Duration,
}

impl ExecChannel {
    /// A channel as configured.
    pub fn new(cfg: &ExecConfig) -> Result<ExecChannel, NotifyError> {
        let Some((first, rest)) = cfg.command.split_first() else {
            return Err(NotifyError::Config("exec: `command` is empty".into()));
        };
        let (program, args) = if cfg.shell {
            (
                "/bin/sh".to_string(),
                vec!["-c".to_string(), cfg.command.join(" ")],
            )
        } else {
            (first.clone(), rest.to_vec())
        };
        Ok(ExecChannel {
            program,
            args,
            timeout: Duration::from_secs(cfg.timeout.max(1)),
        })
    }

    /// The same channel with a sub-second timeout (tests of the kill path).
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }
}

impl Channel for ExecChannel {
    fn name(&self) -> &'static str {
        "exec"
    }

    fn deliver(&self, n: &Notice) -> Result<(), DeliveryError> {
        let input = serde_json::to_vec(&n.to_json())
            .map_err(|e| DeliveryError(format!("encoding: {e}")))?;
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args)
            .envs(n.env_vars())
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .map_err(|e| DeliveryError(format!("starting {}: {e}", self.program)))?;
        if let Some(mut stdin) = child.stdin.take() {
            // A command that does not read its input may close the pipe early: not an error.
            let _ = stdin.write_all(&input);
        }
        let deadline = Instant::now() + self.timeout;
        loop {
            match child.try_wait() {
                Ok(Some(status)) if status.success() => return Ok(()),
                Ok(Some(status)) => {
                    return Err(DeliveryError(format!(
                        "{} exited with {status}",
                        self.program
                    )));
                }
                Ok(None) if Instant::now() >= deadline => {
                    kill_group(child.id());
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(DeliveryError(format!(
                        "{} killed after the {:?} timeout",
                        self.program, self.timeout
                    )));
                }
                Ok(None) => std::thread::sleep(POLL),
                Err(e) => return Err(DeliveryError(format!("waiting for {}: {e}", self.program))),
            }
        }
    }
}

/// Kills the process group led by `pid` (the command and what it started).
fn kill_group(pid: u32) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) with a negative pid signals a process group; it has
        // no memory effects on this process.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
}
