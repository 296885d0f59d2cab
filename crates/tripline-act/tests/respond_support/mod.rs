//! Network namespaces for the respond and translate tests: a "victim" and
//! an "attacker" namespace joined by a veth pair, 10.x addresses, unique
//! names per test, deleted on drop even after a failed assertion.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// True when running as root (the namespace tests need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Prints why a test cannot run, loudly.
pub fn skip(why: &str) {
    eprintln!("\n*** SKIPPED: {why} ***\n");
}

/// Two namespaces joined by a veth pair.
pub struct NetnsPair {
    /// The victim namespace (where the firewall is).
    pub victim: String,
    /// The attacker namespace.
    pub attacker: String,
    /// The victim's address.
    pub victim_ip: String,
    /// The attacker's address.
    pub attacker_ip: String,
    /// The victim's interface name.
    pub victim_if: String,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

fn run(args: &[&str]) -> Result<String, String> {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{}: {e}", args[0]))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!(
            "{}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs a command inside a namespace; `Ok` with its stdout on success.
pub fn in_ns(ns: &str, args: &[&str]) -> Result<String, String> {
    let mut all = vec!["ip", "netns", "exec", ns];
    all.extend_from_slice(args);
    run(&all)
}

impl NetnsPair {
    /// Creates the pair; `tag` (a few letters) and a counter make names unique.
    pub fn new(tag: &str) -> Result<NetnsPair, String> {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id() % 10_000;
        let subnet = (pid as u32 * 7 + n * 13) % 250 + 1;
        let pair = NetnsPair {
            victim: format!("tlv{tag}{pid}x{n}"),
            attacker: format!("tla{tag}{pid}x{n}"),
            victim_ip: format!("10.233.{subnet}.1"),
            attacker_ip: format!("10.233.{subnet}.2"),
            victim_if: "tlveth0".into(),
        };
        run(&["ip", "netns", "add", &pair.victim])?;
        if let Err(e) = run(&["ip", "netns", "add", &pair.attacker]) {
            let _ = run(&["ip", "netns", "del", &pair.victim]);
            return Err(e);
        }
        let r = pair.wire();
        if let Err(e) = r {
            pair.delete();
            return Err(e);
        }
        Ok(pair)
    }

    fn wire(&self) -> Result<(), String> {
        in_ns(
            &self.victim,
            &[
                "ip", "link", "add", "tlveth0", "type", "veth", "peer", "name", "tlveth1",
            ],
        )?;
        in_ns(
            &self.victim,
            &["ip", "link", "set", "tlveth1", "netns", &self.attacker],
        )?;
        in_ns(
            &self.victim,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/24", self.victim_ip),
                "dev",
                "tlveth0",
            ],
        )?;
        in_ns(
            &self.attacker,
            &[
                "ip",
                "addr",
                "add",
                &format!("{}/24", self.attacker_ip),
                "dev",
                "tlveth1",
            ],
        )?;
        for (ns, dev) in [(&self.victim, "tlveth0"), (&self.attacker, "tlveth1")] {
            in_ns(ns, &["ip", "link", "set", dev, "up"])?;
            in_ns(ns, &["ip", "link", "set", "lo", "up"])?;
        }
        Ok(())
    }

    fn delete(&self) {
        let _ = run(&["ip", "netns", "del", &self.victim]);
        let _ = run(&["ip", "netns", "del", &self.attacker]);
    }

    /// Listens on TCP `port` in the victim namespace, accepting (and
    /// closing) connections on a background thread.
    pub fn victim_listen(&self, port: u16) -> Result<(), String> {
        let listener = on_ns_thread(&self.victim, move || {
            TcpListener::bind(("0.0.0.0", port)).map_err(|e| format!("bind {port}: {e}"))
        })??;
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                drop(conn);
            }
        });
        Ok(())
    }

    /// One TCP connection from the attacker namespace to the victim's
    /// `port` (1 s timeout).
    pub fn attacker_can_connect(&self, port: u16) -> bool {
        let dst: SocketAddr = match format!("{}:{port}", self.victim_ip).parse() {
            Ok(a) => a,
            Err(_) => return false,
        };
        on_ns_thread(&self.attacker, move || {
            TcpStream::connect_timeout(&dst, Duration::from_secs(1)).is_ok()
        })
        .unwrap_or(false)
    }

    /// Waits up to `limit` for `cond` to hold, polling every 200 ms.
    pub fn wait_for(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if cond() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        cond()
    }
}

impl Drop for NetnsPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes its veth end, its nftables tables,
        // iptables rules and ipsets.
        self.delete();
    }
}

/// Runs `f` on a thread that has entered the namespace `ns`, so the
/// firewall tools it starts act there.
pub fn on_ns_thread<T: Send + 'static>(
    ns: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, String> {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).map_err(|e| format!("{path}: {e}"))?;
        // SAFETY: a valid namespace descriptor; only this thread changes namespace.
        if unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) } != 0 {
            return Err(format!("setns {path}: {}", std::io::Error::last_os_error()));
        }
        Ok(f())
    })
    .join()
    .map_err(|_| "namespace thread panicked".to_string())?
}
