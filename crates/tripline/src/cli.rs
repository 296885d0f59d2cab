//! Command-line definitions (clap derive). Help text is generated from here.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// tripline: network intrusion detection for captures, firewall logs, DNS and auth logs.
#[derive(Debug, Parser)]
#[command(name = "tripline", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    /// Configuration file (default: $TRIPLINE_CONFIG, ~/.config/tripline/tripline.toml, /etc/tripline/tripline.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// More log output on stderr (-v info, -vv debug).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read captures and logs, account connections, store the results and print a summary.
    Analyze(AnalyzeArgs),
    /// Reduce captures and firewall logs to compact connection records (CSV or JSON lines).
    Reduce(ReduceArgs),
    /// Show or check the configuration.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// List connections across the home boundary with their DNS names (what is not allowed).
    Conns(ConnsArgs),
    /// Walk through the destinations not yet allowed, most frequent first, and allow or deny each.
    Triage(TriageArgs),
    /// Add allow rules to the configuration (`[[connwatch.allow]]`), for scripts.
    Allow(AllowArgs),
    /// Add names or addresses to the block list (`[connwatch] blocked`, `blocked_addresses`).
    Deny(DenyArgs),
    /// Export the block list for dnsmasq, a hosts file or nftables.
    #[command(subcommand)]
    Blocklist(BlocklistCommand),
    /// Listen on trap ports (TCP and UDP): every contact is recorded and alerted.
    Trap(TrapArgs),
    /// Check or list Suricata/Snort rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Overview of the store like psad -S: top sources by danger level, attacked ports, scan types,
    /// alerts by detector and signature, recent alerts.
    Status(StatusArgs),
    /// Everything the store knows about one source address.
    Profile(ProfileArgs),
    /// Block an address in the firewall (nftables set with a timeout, or iptables + ipset).
    Block(BlockArgs),
    /// Take an address out of the firewall block set.
    Unblock(UnblockArgs),
    /// List the addresses blocked now (from the kernel) with time left, and recent blocks.
    Blocks(BlocksArgs),
    /// Write the static report site (hours, days, sources, alerts, SVG charts) into a folder.
    Report(ReportArgs),
    /// Serve the report pages live from the store, with search and triage in the browser.
    Serve(ServeArgs),
    /// Print the packets a tcpdump expression matches (like `tcpdump -nn -r`) and count them.
    Filter(FilterArgs),
}

/// `tripline filter`
#[derive(Debug, Args)]
pub struct FilterArgs {
    /// The tcpdump/BPF expression, quoted as one argument (`'tcp[13] & 3 = 3'`).
    #[arg(value_name = "EXPR")]
    pub expression: String,

    /// Capture files (pcap, pcapng, gzip), directories of them, or `-` for standard input.
    #[arg(value_name = "INPUT", required = true)]
    pub inputs: Vec<String>,

    /// Print only the number of matching packets (on stdout).
    #[arg(long)]
    pub count: bool,

    /// Print absolute TCP sequence numbers (tcpdump -S).
    #[arg(short = 'S', long)]
    pub absolute_tcp_sequence: bool,
}

/// `tripline status`
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Entries per ranked list.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub limit: usize,
}

/// `tripline report`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The folder to write (created; existing pages are overwritten).
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `tripline serve`
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address and port to listen on (default: [web] listen, 127.0.0.1:8080).
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: Option<std::net::SocketAddr>,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Read a password on standard input, print its argon2 hash for `[web] password_hash`, and exit.
    #[arg(long)]
    pub hash_password: bool,
}

/// `tripline block`
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// The address to block (IPv4 or IPv6).
    #[arg(value_name = "ADDR")]
    pub addr: std::net::IpAddr,

    /// How long: 90s, 10m, 2h, 1d, 1w, or `permanent` (default: [respond] manual_duration).
    #[arg(long = "for", value_name = "DURATION")]
    pub duration: Option<String>,

    /// Why (kept in the store's block history).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Block even a protected address (home network, gateway, DNS server, allow list);
    /// loopback and unspecified addresses are refused regardless.
    #[arg(long)]
    pub force: bool,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `tripline unblock`
#[derive(Debug, Args)]
pub struct UnblockArgs {
    /// The address to unblock.
    #[arg(value_name = "ADDR")]
    pub addr: std::net::IpAddr,

    /// Why (kept in the store's block history).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// `tripline blocks`
#[derive(Debug, Args)]
pub struct BlocksArgs {
    /// Recent blocks and unblocks shown from the store's history.
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub history: usize,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,
}

/// Firewall of `rules translate`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum TranslateTarget {
    /// An nftables script (table `inet tripline_rules`) for `nft -f`.
    Nft,
    /// An iptables-restore script (chains TRIPLINE_RULES_*) for `iptables-restore -n`.
    Iptables,
}

/// `tripline profile`
#[derive(Debug, Args)]
pub struct ProfileArgs {
    /// The source address.
    #[arg(value_name = "ADDR")]
    pub addr: std::net::IpAddr,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Entries per list (ports, hosts, names, users, recent alerts).
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub limit: usize,
}

/// `tripline rules ...`
#[derive(Debug, Subcommand)]
pub enum RulesCommand {
    /// Load rule files and print the summary: read, loaded, disabled, skipped by reason,
    /// errors with file:line. Exits with status 1 on syntax errors.
    Check {
        /// Rule files (classification.config is taken from the first file's folder when present).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// List the loaded rules: sid, rev, action, protocol, msg and the fast pattern chosen.
    List {
        /// Rule files.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// Show only this signature id.
        #[arg(long, value_name = "N")]
        sid: Option<u32>,
    },
    /// Translate what the kernel can enforce (addresses, ports, protocol, flags, ttl, tos,
    /// dsize, itype/icode, content, flow:established) into firewall rules that log with
    /// the sid and optionally drop; report what was not translated and why.
    Translate {
        /// The firewall to write for.
        #[arg(long, value_enum)]
        to: TranslateTarget,
        /// Drop matching packets as well as logging them.
        #[arg(long)]
        drop: bool,
        /// Output file (default: standard output); the report goes to standard error.
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Rule files.
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
}

/// Options of `tripline trap`.
#[derive(Debug, Args, Clone)]
pub struct TrapArgs {
    /// Trap ports: `23,2323/tcp,161/udp` (a bare number is TCP).
    /// Default: `[tripwire] listen` from the configuration.
    #[arg(long, value_name = "PORTS")]
    pub ports: Option<String>,

    /// Address to listen on (default 0.0.0.0).
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<std::net::IpAddr>,

    /// Store path (default from the configuration, else the standard location).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,

    /// Do not write to the store.
    #[arg(long)]
    pub no_store: bool,

    /// Most TCP connections open at once (default 64).
    #[arg(long, value_name = "N")]
    pub max_connections: Option<usize>,

    /// Most TCP connections open at once from one address (default 4).
    #[arg(long, value_name = "N")]
    pub max_per_source: Option<usize>,

    /// How long to wait for a connection's first bytes, in milliseconds (default 2000).
    #[arg(long, value_name = "MS")]
    pub read_timeout_ms: Option<u64>,
}

/// Options every command that reads inputs shares.
#[derive(Debug, Args, Clone)]
pub struct InputArgs {
    /// Capture files (pcap, pcapng, gzip), log files (netfilter, dnsmasq, sshd; plain or gzip),
    /// directories (every file in them, oldest first), or `-` for standard input.
    /// The format is detected from the content.
    #[arg(value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// Home network prefix (repeatable); replaces `home_net` from the configuration.
    #[arg(long = "home-net", value_name = "CIDR")]
    pub home_net: Vec<String>,

    /// Year for syslog timestamps without one (default: from the file's modification time).
    #[arg(long)]
    pub year: Option<i32>,

    /// Time zone of log timestamps without an offset, e.g. Europe/Berlin (default: UTC).
    #[arg(long)]
    pub tz: Option<String>,
}

/// `tripline analyze`
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// SQLite database (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH")]
    pub db: Option<PathBuf>,

    /// Do not store anything (just print the summary and write --eve).
    #[arg(long, conflicts_with = "db")]
    pub no_store: bool,

    /// Re-read inputs the store has already seen (same content hash).
    #[arg(long)]
    pub force: bool,

    /// Also write Suricata EVE JSON lines (flow, dns, alert events) to this file (`-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,

    /// Capture live from this interface as well (libpcap; needs privileges).
    #[arg(short = 'i', long, value_name = "IFACE")]
    pub interface: Option<String>,

    /// Capture filter for --interface (a tcpdump expression).
    #[arg(short = 'f', long, value_name = "EXPR", requires = "interface")]
    pub filter: Option<String>,

    /// Stop live capture after this many packets.
    #[arg(long, value_name = "N", requires = "interface")]
    pub max_packets: Option<u64>,

    /// Keep following the log inputs like `tail -F` (rotation-safe, checkpointed in the store).
    #[arg(long)]
    pub follow: bool,

    /// Print the summary as JSON instead of text.
    #[arg(long)]
    pub json: bool,

    /// Show no progress bar.
    #[arg(short, long)]
    pub quiet: bool,

    /// Exit with status 3 when any input was damaged or unreadable.
    #[arg(long)]
    pub strict: bool,

    /// Suricata/Snort rule file or directory of `*.rules` for the signature
    /// detector (repeatable; added to `[signatures] rules`).
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
}

/// Output format of `reduce`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ReduceFormat {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Json,
}

/// `tripline reduce`
#[derive(Debug, Args)]
pub struct ReduceArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ReduceFormat::Csv)]
    pub format: ReduceFormat,

    /// Output file (default: standard output).
    #[arg(short, long, value_name = "FILE", conflicts_with = "split_dir")]
    pub output: Option<PathBuf>,

    /// Write one file per protocol (tcp, udp, icmp, other) into this directory.
    #[arg(long, value_name = "DIR")]
    pub split_dir: Option<PathBuf>,
}

/// `tripline config ...`
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print a commented configuration with every key at its default.
    Default,
    /// Load the configuration (from --config or the search path), check it and print it as used.
    Check,
    /// Convert a legacy iptraffic INI file (`[us]`, `[ignores]`) to tripline TOML on stdout.
    ImportIptraffic {
        /// The iptraffic configuration file.
        file: PathBuf,
    },
}

/// Output format of `conns`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum ConnsFormat {
    /// Aligned text, one connection per line, counts at the end.
    Text,
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    Json,
}

/// `tripline conns`
#[derive(Debug, Args)]
pub struct ConnsArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Also list allowed connections.
    #[arg(long)]
    pub all: bool,

    /// Aggregate by destination name (or address when direct): first/last seen and totals.
    #[arg(long)]
    pub group: bool,

    /// Output format.
    #[arg(long, value_enum, default_value_t = ConnsFormat::Text)]
    pub format: ConnsFormat,
}

/// `tripline triage`
#[derive(Debug, Args)]
pub struct TriageArgs {
    #[command(flatten)]
    pub input: InputArgs,

    /// Read the destinations from the store's connwatch memory (what `analyze` saw) instead of inputs.
    #[arg(long)]
    pub from_store: bool,

    /// SQLite database for --from-store (default: [store] path, else $XDG_DATA_HOME/tripline/tripline.db).
    #[arg(long, value_name = "PATH", requires = "from_store")]
    pub db: Option<PathBuf>,

    /// Ask about at most this many destinations.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
}

/// Protocol of an allow rule.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AllowProto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// ICMP and ICMPv6 (the port is the ICMP type).
    Icmp,
    /// Any protocol.
    Any,
}

/// Direction of an allow rule.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum AllowDirection {
    /// They called us.
    In,
    /// We called them.
    Out,
    /// Both ways.
    Any,
}

/// `tripline allow`
#[derive(Debug, Args)]
pub struct AllowArgs {
    /// Only for this home device (address or prefix; default: every device).
    #[arg(long, value_name = "ADDR|PREFIX")]
    pub device: Option<String>,

    /// Only this service port: theirs when we call, ours with `--direction in` (ICMP: the type).
    #[arg(long, value_name = "N")]
    pub port: Option<u16>,

    /// Only this protocol.
    #[arg(long, value_enum, default_value_t = AllowProto::Any)]
    pub proto: AllowProto,

    /// Only this direction.
    #[arg(long, value_enum, default_value_t = AllowDirection::Any)]
    pub direction: AllowDirection,

    /// Why this is fine (kept as the rule's `note`).
    #[arg(long, value_name = "TEXT")]
    pub note: Option<String>,

    /// What is allowed: a name, `*.example.com` (the domain and every name under it), `*`, or their address or prefix.
    #[arg(value_name = "NAME-or-ADDR-or-*.domain", required = true)]
    pub targets: Vec<String>,
}

/// `tripline deny`
#[derive(Debug, Args)]
pub struct DenyArgs {
    /// What is blocked: a name, `*.example.com`, or an address or prefix.
    #[arg(value_name = "NAME-or-ADDR", required = true)]
    pub targets: Vec<String>,
}

/// Output format of `blocklist export`.
#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum BlocklistFormat {
    /// dnsmasq `address=/name/` lines (the blocked names).
    Dnsmasq,
    /// A hosts file: `0.0.0.0 name` and `:: name` (the blocked names).
    Hosts,
    /// An nftables script with IPv4 and IPv6 sets in table `inet tripline` (the blocked addresses).
    Nft,
}

/// `tripline blocklist ...`
#[derive(Debug, Subcommand)]
pub enum BlocklistCommand {
    /// Write the block list in a format dnsmasq, the hosts file or nftables enforce.
    Export {
        /// The format.
        #[arg(long, value_enum)]
        format: BlocklistFormat,
        /// dnsmasq: answer 0.0.0.0 and :: instead of NXDOMAIN.
        #[arg(long)]
        sinkhole: bool,
        /// Output file (default: standard output).
        #[arg(short, long, value_name = "FILE")]
        output: Option<PathBuf>,
    },
}
