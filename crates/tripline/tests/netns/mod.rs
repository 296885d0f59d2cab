//! Test hosts in network namespaces the tests create: a "victim" and an
//! "attacker" namespace joined by a veth pair, removed on drop (even after a
//! failed assertion). Shared by the tests that need real traffic between
//! two hosts (blocking, trap listeners). Needs root.

#![allow(dead_code)]

use std::fs::File;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

/// True when running as root (namespaces need it).
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Runs a command; its stdout, or an error naming it and its stderr.
pub fn run(args: &[&str]) -> Result<String, String> {
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
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two namespaces joined by a veth pair on `10.<octet>.<subnet>.0/24`.
pub struct Pair {
    /// The victim namespace's name.
    pub victim: String,
    /// The attacker namespace's name.
    pub attacker: String,
    /// The victim's address.
    pub victim_ip: String,
    /// The attacker's address.
    pub attacker_ip: String,
    /// The victim's end of the veth pair (for live capture).
    pub victim_if: String,
}

impl Pair {
    /// Creates the pair; `tag` keeps names of different tests apart and
    /// `octet` their address ranges.
    pub fn new(tag: &str, octet: u8) -> Pair {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id() % 10_000;
        let subnet = (pid * 7 + n * 13) % 250 + 1;
        // Built before any setup step so a failing step still cleans up.
        let p = Pair {
            victim: format!("v{tag}{pid}x{n}"),
            attacker: format!("a{tag}{pid}x{n}"),
            victim_ip: format!("10.{octet}.{subnet}.1"),
            attacker_ip: format!("10.{octet}.{subnet}.2"),
            victim_if: format!("{tag}veth0"),
        };
        run(&["ip", "netns", "add", &p.victim]).expect("netns add");
        run(&["ip", "netns", "add", &p.attacker]).expect("netns add");
        let (v0, v1) = (format!("{tag}veth0"), format!("{tag}veth1"));
        let v = |args: &[&str]| p.exec(&p.victim, args).expect("victim setup");
        v(&[
            "ip", "link", "add", &v0, "type", "veth", "peer", "name", &v1,
        ]);
        v(&["ip", "link", "set", &v1, "netns", &p.attacker]);
        v(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", p.victim_ip),
            "dev",
            &v0,
        ]);
        v(&["ip", "link", "set", &v0, "up"]);
        v(&["ip", "link", "set", "lo", "up"]);
        let a = |args: &[&str]| p.exec(&p.attacker, args).expect("attacker setup");
        a(&[
            "ip",
            "addr",
            "add",
            &format!("{}/24", p.attacker_ip),
            "dev",
            &v1,
        ]);
        a(&["ip", "link", "set", &v1, "up"]);
        a(&["ip", "link", "set", "lo", "up"]);
        p
    }

    /// Runs a command inside namespace `ns`.
    pub fn exec(&self, ns: &str, args: &[&str]) -> Result<String, String> {
        let mut all = vec!["ip", "netns", "exec", ns];
        all.extend_from_slice(args);
        run(&all)
    }

    /// Runs tripline in the victim namespace.
    pub fn tripline(&self, args: &[&str]) -> Output {
        Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.victim,
                env!("CARGO_BIN_EXE_tripline"),
            ])
            .args(args)
            .env("TRIPLINE_LOG", "warn")
            .stdin(Stdio::null())
            .output()
            .expect("run tripline")
    }

    /// The victim's nftables IPv4 block set as `nft list set` prints it
    /// (empty when the table is not there).
    pub fn nft_block_set(&self) -> String {
        self.exec(
            &self.victim,
            &["nft", "list", "set", "inet", "tripline", "block_v4"],
        )
        .unwrap_or_default()
    }

    /// Accepts (and drops) TCP connections on `port` in the victim.
    pub fn listen(&self, port: u16) {
        let l = on_ns(&self.victim, move || {
            TcpListener::bind(("0.0.0.0", port)).expect("bind")
        });
        std::thread::spawn(move || {
            for c in l.incoming() {
                drop(c);
            }
        });
    }

    /// True when the attacker can connect to the victim's `port`.
    pub fn connect(&self, port: u16, timeout: Duration) -> bool {
        let dst: SocketAddr = format!("{}:{port}", self.victim_ip).parse().unwrap();
        on_ns(&self.attacker, move || {
            TcpStream::connect_timeout(&dst, timeout).is_ok()
        })
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = run(&["ip", "netns", "del", &self.victim]);
        let _ = run(&["ip", "netns", "del", &self.attacker]);
    }
}

/// Runs `f` on a thread inside namespace `ns`.
pub fn on_ns<T: Send + 'static>(ns: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let path = format!("/var/run/netns/{ns}");
    std::thread::spawn(move || {
        let file = File::open(&path).expect("netns file");
        // SAFETY: a valid namespace descriptor; only this thread changes namespace.
        assert_eq!(
            unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) },
            0
        );
        f()
    })
    .join()
    .expect("namespace thread")
}
