//! Exec runs real commands: the alert as JSON on stdin, key fields in
//! `TRIPLINE_*` variables, no shell unless configured, a concurrency limit,
//! and a timeout that kills the command with everything it started.

mod notify_support;

use notify_support::{notice, scan_alert, wait_for};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tripline_act::notify::exec::ExecChannel;
use tripline_act::notify::{Channel, ChannelSpec, ExecConfig, NoiseConfig, Notifier};

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    p
}

fn exec(command: Vec<String>, shell: bool) -> ExecChannel {
    ExecChannel::new(&ExecConfig {
        command,
        shell,
        timeout: 10,
        ..ExecConfig::default()
    })
    .unwrap()
}

#[test]
fn the_alert_arrives_on_stdin_and_in_the_environment_without_a_shell() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(
        dir.path(),
        "hook",
        "cat > \"$1/stdin.json\"\nenv | grep '^TRIPLINE_' | sort > \"$1/env\"\nprintf '%s' \"$2\" > \"$1/arg\"",
    );
    let out = dir.path().to_str().unwrap().to_string();
    let ch = exec(
        vec![
            hook.to_str().unwrap().into(),
            out,
            "$(touch pwned); *".into(),
        ],
        false,
    );
    let mut a = scan_alert(0, "203.0.113.7", 5);
    a.msg = "scan\nTRIPLINE_SRC=10.0.0.1".into();
    ch.deliver(&notice(a)).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("stdin.json")).unwrap()).unwrap();
    assert_eq!(json["alert"]["src_ip"], "203.0.113.7");
    assert_eq!(json["alert"]["alert"]["severity"], 1);
    let env = std::fs::read_to_string(dir.path().join("env")).unwrap();
    for want in [
        "TRIPLINE_SRC=203.0.113.7\n",
        "TRIPLINE_DST=192.168.1.10\n",
        "TRIPLINE_DPORT=22\n",
        "TRIPLINE_SID=9100001\n",
        "TRIPLINE_SEVERITY=1\n",
        "TRIPLINE_DANGER_LEVEL=5\n",
        "TRIPLINE_KIND=first\n",
        "TRIPLINE_MSG=scan\\x0aTRIPLINE_SRC=10.0.0.1\n",
    ] {
        assert!(env.contains(want), "{want:?} missing from\n{env}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("arg")).unwrap(),
        "$(touch pwned); *",
        "no shell expansion"
    );
    assert!(!Path::new("pwned").exists() && !dir.path().join("pwned").exists());
}

#[test]
fn a_shell_runs_only_when_configured() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("from-shell");
    let ch = exec(
        vec![
            "echo".into(),
            "\"$TRIPLINE_SRC\"".into(),
            ">".into(),
            target.to_str().unwrap().into(),
        ],
        true,
    );
    ch.deliver(&notice(scan_alert(0, "198.51.100.9", 2)))
        .unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "198.51.100.9\n");
}

#[test]
fn a_failing_command_is_a_failed_delivery() {
    let ch = exec(vec!["/bin/false".into()], false);
    let err = ch
        .deliver(&notice(scan_alert(0, "198.51.100.9", 2)))
        .unwrap_err();
    assert!(err.0.contains("exit status: 1"), "{err}");
    let missing = exec(vec!["/nonexistent/hook".into()], false);
    assert!(
        missing
            .deliver(&notice(scan_alert(0, "198.51.100.9", 2)))
            .unwrap_err()
            .0
            .contains("starting")
    );
}

#[test]
fn timeout_kills_the_command_and_what_it_started() {
    let dir = tempfile::tempdir().unwrap();
    let pidfile = dir.path().join("child.pid");
    let hook = script(
        dir.path(),
        "slow",
        &format!("sleep 30 &\necho $! > {}\nwait", pidfile.display()),
    );
    let ch =
        exec(vec![hook.to_str().unwrap().into()], false).with_timeout(Duration::from_millis(300));
    let started = Instant::now();
    let err = ch
        .deliver(&notice(scan_alert(0, "198.51.100.9", 2)))
        .unwrap_err();
    assert!(err.0.contains("killed after"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    // The background sleep was in the command's process group: it is gone
    // (reaped by init, so poll briefly).
    let gone = wait_for(Duration::from_secs(3), || {
        !Path::new(&format!("/proc/{pid}")).exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "))
    });
    assert!(gone, "the grandchild {pid} survived the timeout");
}

#[test]
fn no_more_than_the_concurrency_limit_run_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hook = script(
        dir.path(),
        "hook",
        &format!(
            "echo start >> {0}\nsleep 0.3\necho end >> {0}",
            log.display()
        ),
    );
    let ch = Arc::new(exec(vec![hook.to_str().unwrap().into()], false));
    let noise = NoiseConfig {
        enabled: false,
        ..NoiseConfig::default()
    };
    let spec = ChannelSpec {
        channel: ch,
        min_severity: 3,
        workers: 2,
    };
    let mut n = Notifier::new(vec![spec], &noise, 16, None).unwrap();
    for i in 0..6 {
        n.alert(&scan_alert(i, "198.51.100.9", 2));
    }
    let stats = n.finish();
    assert_eq!(stats.sent, 6, "{stats:?}");
    let (mut running, mut max) = (0i32, 0i32);
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        running += if line == "start" { 1 } else { -1 };
        max = max.max(running);
    }
    assert_eq!(max, 2, "two at once, never more");
}

#[test]
fn a_slow_channel_never_blocks_detection() {
    let dir = tempfile::tempdir().unwrap();
    let hook = script(dir.path(), "slow", "sleep 0.5");
    let spec = ChannelSpec {
        channel: Arc::new(exec(vec![hook.to_str().unwrap().into()], false)),
        min_severity: 3,
        workers: 1,
    };
    let noise = NoiseConfig {
        enabled: false,
        ..NoiseConfig::default()
    };
    let mut n = Notifier::new(vec![spec], &noise, 1, None).unwrap();
    let started = Instant::now();
    for i in 0..10 {
        n.alert(&scan_alert(i, "198.51.100.9", 2));
    }
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "alert() waited for the channel"
    );
    let stats = n.finish();
    let rows = n.take_rows();
    assert_eq!(rows.len(), 10, "one row per alert");
    assert_eq!(stats.sent + stats.queue_full, 10, "{stats:?}");
    assert!(stats.queue_full >= 7, "{stats:?}");
    assert!(
        rows.iter()
            .filter(|r| r.reason == "queue_full")
            .all(|r| r.outcome.as_str() == "suppressed")
    );
}
