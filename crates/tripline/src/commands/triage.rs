//! `tripline triage INPUT...|--from-store`: walk through the destinations
//! the allow list does not allow yet, most frequent first, and allow or
//! deny each one. Decisions are written to the configuration file at once
//! (see [`crate::commands::config_edit`]), so quitting or an interrupted
//! session keeps what was decided.
//!
//! Where the destinations come from:
//! * inputs (the default): the same pipeline as `tripline conns`, so the
//!   judgement is exactly the one `conns` and the alerts make, with the full
//!   facts of every connection (both addresses, both ports, the name);
//! * `--from-store`: the store's connwatch memory (`connwatch_seen`), which
//!   holds every (device, destination, service port, protocol) that
//!   `analyze` reported over all its runs, with counts, without reading the
//!   inputs again. The memory keeps the destination's name but not its
//!   address nor the device's port, so each row is judged again against the
//!   current allow list with those unknown: a rule that needs them (their
//!   prefix for a named destination, our port for an outbound call) does
//!   not count, and the destination is still asked about.
//!
//! A destination is a DNS name (or, for direct connections and callers,
//! an address) in one direction. The questions are numbered choices,
//! answered with one key and Enter (Enter alone takes the first, narrowest
//! choice); `?` explains. They are read from standard input, so a script
//! can pipe answers in. The end of input quits.

use crate::cli::TriageArgs;
use crate::commands::allow_deny::{Target, add_allow_and_report, add_deny_and_report};
use crate::commands::analyze::apply_input_args;
use crate::commands::blocklist::check_dns_name;
use crate::commands::config_edit::{Change, ConfigFile};
use crate::config::Config;
use crate::interrupt;
use crate::pipeline::{self, Outputs, Run};
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::process::ExitCode;
use tripline_core::{Cidr, Connection, Direction, Timestamp, ip_proto};
use tripline_detect::allow_list::{ConnFacts, DirectionMatch, ProtoMatch};
use tripline_detect::{AllowRule, ConnVerdict, DomainPattern};
use tripline_store::Store;

/// Most destinations collected (further ones are counted and left out).
const MAX_DESTINATIONS: usize = 65_536;
/// Most devices, services and addresses listed per destination.
const MAX_LISTED: usize = 16;
/// Most distinct contacts kept per destination to re-check after a decision.
const MAX_CONTACTS: usize = 256;
/// Most rules one "these devices on these ports" answer may add.
const MAX_RULES_PER_ANSWER: usize = 32;

/// What a destination is.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Peer {
    Name(String),
    Addr(IpAddr),
}

/// One contact with a destination, as far as it is known.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Contact {
    device: IpAddr,
    theirs: Option<IpAddr>,
    our_port: Option<u16>,
    their_port: Option<u16>,
    protocol: u8,
}

/// A destination in one direction, with what was seen of it.
struct Destination {
    outbound: bool,
    peer: Peer,
    count: u64,
    first: Timestamp,
    last: Timestamp,
    devices: BTreeSet<IpAddr>,
    services: BTreeSet<(u8, u16)>,
    addresses: BTreeSet<IpAddr>,
    contacts: Vec<Contact>,
    /// Some list above was capped.
    truncated: bool,
}

impl Destination {
    fn new(outbound: bool, peer: Peer, at: Timestamp) -> Self {
        Destination {
            outbound,
            peer,
            count: 0,
            first: at,
            last: at,
            devices: BTreeSet::new(),
            services: BTreeSet::new(),
            addresses: BTreeSet::new(),
            contacts: Vec::new(),
            truncated: false,
        }
    }

    fn note(&mut self, c: Contact, service_port: u16, first: Timestamp, last: Timestamp, n: u64) {
        self.count += n;
        self.first = self.first.min(first);
        self.last = self.last.max(last);
        let mut add = |ok: bool| self.truncated |= !ok;
        add(insert_capped(&mut self.devices, c.device));
        add(insert_capped(
            &mut self.services,
            (c.protocol, service_port),
        ));
        if let Some(a) = c.theirs {
            add(insert_capped(&mut self.addresses, a));
        }
        if !self.contacts.contains(&c) {
            if self.contacts.len() < MAX_CONTACTS {
                self.contacts.push(c);
            } else {
                self.truncated = true;
            }
        }
    }

    /// `out www.example.com`, `in 203.0.113.9`.
    fn label(&self) -> String {
        let what = match &self.peer {
            Peer::Name(n) => n.escape_debug().to_string(),
            Peer::Addr(a) => a.to_string(),
        };
        format!("{} {what}", if self.outbound { "out" } else { "in" })
    }

    fn name(&self) -> Option<&str> {
        match &self.peer {
            Peer::Name(n) => Some(n),
            Peer::Addr(_) => None,
        }
    }

    /// True when the configuration now decides it: denied, or every
    /// contact allowed.
    fn decided(&self, cfg: &Config) -> bool {
        let cw = &cfg.connwatch;
        let denied = match &self.peer {
            Peer::Name(n) => cw.blocked.iter().any(|p| p.matches(n)),
            Peer::Addr(a) => cw.blocked_addresses.iter().any(|c| c.contains(*a)),
        };
        denied
            || (!self.truncated
                && !self.contacts.is_empty()
                && self
                    .contacts
                    .iter()
                    .all(|c| allowed(&cw.allow, c, self.outbound, self.name())))
    }
}

fn insert_capped<T: Ord>(set: &mut BTreeSet<T>, v: T) -> bool {
    if set.len() < MAX_LISTED || set.contains(&v) {
        set.insert(v);
        true
    } else {
        false
    }
}

/// Judges a contact; unknown fields take a value no specific rule matches.
fn allowed(rules: &[AllowRule], c: &Contact, outbound: bool, name: Option<&str>) -> bool {
    let unknown = if c.device.is_ipv4() {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    } else {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    };
    let f = ConnFacts {
        direction: if outbound {
            Direction::Outbound
        } else {
            Direction::Inbound
        },
        ours: c.device,
        our_port: c.our_port.unwrap_or(0),
        theirs: c.theirs.unwrap_or(unknown),
        their_port: c.their_port.unwrap_or(0),
        protocol: c.protocol,
        name,
        chain: &[],
    };
    rules.iter().any(|r| {
        r.matches(&f)
            && (c.theirs.is_some() || r.theirs.is_none())
            && (c.our_port.is_some() || r.our_port.is_none_or(|p| p == 0))
            && (c.their_port.is_some() || r.their_port.is_none_or(|p| p == 0))
    })
}

/// Destinations gathered from a run or from the store.
#[derive(Default)]
struct Collector {
    map: HashMap<(bool, Peer), Destination>,
    dropped: u64,
}

impl Collector {
    fn add(
        &mut self,
        outbound: bool,
        peer: Peer,
        c: Contact,
        port: u16,
        (first, last, n): (Timestamp, Timestamp, u64),
    ) {
        let full = self.map.len() >= MAX_DESTINATIONS;
        let key = (outbound, peer);
        if full && !self.map.contains_key(&key) {
            self.dropped += 1;
            return;
        }
        let peer = key.1.clone();
        self.map
            .entry(key)
            .or_insert_with(|| Destination::new(outbound, peer, first))
            .note(c, port, first, last, n);
    }

    /// Most frequent first, then the earliest, then by name.
    fn into_sorted(self, cfg: &Config) -> Vec<Destination> {
        let mut v: Vec<Destination> = self.map.into_values().filter(|d| !d.decided(cfg)).collect();
        v.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then(a.first.cmp(&b.first))
                .then(b.outbound.cmp(&a.outbound))
                .then(a.peer.cmp(&b.peer))
        });
        v
    }
}

impl Outputs for Collector {
    fn connection(&mut self, _c: &Connection) {}

    fn connection_verdict(&mut self, c: &Connection, v: &ConnVerdict<'_>) {
        if v.allowed_by.is_some() || v.blocked {
            return;
        }
        let outbound = v.direction == Direction::Outbound;
        let peer = match v.names.name() {
            Some(n) if outbound => Peer::Name(n.to_string()),
            _ => Peer::Addr(v.theirs),
        };
        let contact = Contact {
            device: v.ours,
            theirs: Some(v.theirs),
            our_port: Some(v.our_port),
            their_port: Some(v.their_port),
            protocol: c.protocol,
        };
        let port = if outbound { v.their_port } else { v.our_port };
        self.add(outbound, peer, contact, port, (c.start, c.start, 1));
    }
}

/// Gathers destinations by running the pipeline on the inputs.
fn from_inputs(cfg: &Config, args: &TriageArgs) -> Result<Collector> {
    let log_opts = pipeline::log_options(cfg)?;
    let inputs =
        tripline_ingest::open::expand_inputs(&args.input.inputs).map_err(anyhow::Error::new)?;
    if inputs.is_empty() {
        bail!("nothing to triage: give capture or log files (DNS logs first), or --from-store");
    }
    let mut cfg = cfg.clone();
    cfg.connwatch.enabled = true;
    let mut run = Run::new(pipeline::engine_config(&cfg), Progress::new(0, true));
    run.stop_on(interrupt::flag());
    let mut out = Collector::default();
    for path in &inputs {
        if interrupt::requested() {
            break;
        }
        match tripline_ingest::open::open_input(path, &log_opts) {
            Ok(mut source) => {
                run.feed(source.as_mut(), &mut out)?;
            }
            Err(e) => eprintln!("tripline: {e}"),
        }
    }
    run.finish(&mut out)?;
    Ok(out)
}

/// Gathers destinations from the store's connwatch memory.
fn from_store(cfg: &Config, args: &TriageArgs) -> Result<Collector> {
    let path = cfg.store_path(args.db.as_deref());
    if !path.is_file() {
        bail!(
            "no store at {} (run `tripline analyze` first, or give --db)",
            path.display()
        );
    }
    let store = Store::open(&path)?;
    let mut out = Collector::default();
    let mut skipped = 0u64;
    for r in store.load_seen(cfg.connwatch.max_seen)? {
        let outbound = match r.kind.as_str() {
            "outbound" => true,
            "inbound" => false,
            "blocked_lookup" => continue,
            _ => {
                skipped += 1;
                continue;
            }
        };
        let Ok(device) = r.device.parse::<IpAddr>() else {
            skipped += 1;
            continue;
        };
        let peer = match r.peer.parse::<IpAddr>() {
            Ok(a) => Peer::Addr(a),
            Err(_) => Peer::Name(r.peer.clone()),
        };
        let theirs = match peer {
            Peer::Addr(a) => Some(a),
            Peer::Name(_) => None,
        };
        let (our_port, their_port) = if outbound {
            (None, Some(r.port))
        } else {
            (Some(r.port), None)
        };
        let contact = Contact {
            device,
            theirs,
            our_port,
            their_port,
            protocol: r.protocol,
        };
        let name = match &peer {
            Peer::Name(n) => Some(n.as_str()),
            Peer::Addr(_) => None,
        };
        if allowed(&cfg.connwatch.allow, &contact, outbound, name) {
            continue;
        }
        out.add(
            outbound,
            peer,
            contact,
            r.port,
            (r.first_seen, r.last_seen, r.count),
        );
    }
    if skipped > 0 {
        eprintln!("tripline: {skipped} stored rows did not decode and were skipped");
    }
    Ok(out)
}

/// Runs `tripline triage`.
pub fn run(explicit_cfg: Option<&Path>, args: TriageArgs) -> Result<ExitCode> {
    let (mut cfg, _) = Config::load(explicit_cfg)?;
    apply_input_args(&mut cfg, &args.input)?;
    if args.from_store && !args.input.inputs.is_empty() {
        bail!("give either inputs or --from-store, not both");
    }
    let mut file = ConfigFile::open(explicit_cfg)?;
    interrupt::install();
    let collected = if args.from_store {
        from_store(&cfg, &args)?
    } else {
        from_inputs(&cfg, &args)?
    };
    if collected.dropped > 0 {
        eprintln!(
            "tripline: more than {MAX_DESTINATIONS} destinations; {} contacts with further ones left out",
            collected.dropped
        );
    }
    let mut list = collected.into_sorted(file.config());
    if let Some(n) = args.limit {
        list.truncate(n);
    }
    if list.is_empty() {
        println!("nothing to triage: every destination is allowed or denied");
        return Ok(ExitCode::SUCCESS);
    }
    let stdin = std::io::stdin();
    let mut session = Session {
        echo_off: std::io::IsTerminal::is_terminal(&stdin),
        input: stdin.lock(),
        file: &mut file,
        tally: Tally::default(),
    };
    session.walk(&list)?;
    let t = session.tally;
    println!(
        "\n{} allowed, {} denied, {} skipped, {} decided by earlier answers, {} not reached; configuration: {}",
        t.allowed,
        t.denied,
        t.skipped,
        t.covered,
        list.len() - t.reached,
        file.path().display()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(Clone, Copy, Default)]
struct Tally {
    allowed: usize,
    denied: usize,
    skipped: usize,
    covered: usize,
    reached: usize,
}

/// The questions and answers.
struct Session<'f, R> {
    input: R,
    /// Standard input is a terminal (which echoes the answers itself).
    echo_off: bool,
    file: &'f mut ConfigFile,
    tally: Tally,
}

const HELP: &str = "\
  a  allow: add an allow rule; you choose for which device(s), which port(s) and
     whether the exact name (or address) or the whole domain
  d  deny: add the name (or the whole domain) to the block list, or the address
     to the blocked addresses; export them with `tripline blocklist export`
  s  skip: decide later
  q  quit: stop here (what was decided is already saved)
  Enter alone takes the first choice. Rules only cover new connections like
  these; an allowed page still shows the trackers and CDNs it pulls in.";

/// One choice of a question: the words shown and what it means.
struct Choice<T> {
    label: String,
    value: T,
}

enum Step {
    Next,
    Quit,
}

impl<R: BufRead> Session<'_, R> {
    /// Reads one answer line; `None` at the end of input.
    fn answer(&mut self, prompt: &str) -> Result<Option<String>> {
        print!("{prompt} ");
        std::io::stdout().flush()?;
        let mut line = String::new();
        if self
            .input
            .read_line(&mut line)
            .context("reading the answer")?
            == 0
        {
            println!();
            return Ok(None);
        }
        if !self.echo_off {
            // Piped answers are not echoed by a terminal: show them.
            println!("{}", line.trim_end());
        }
        Ok(Some(line.trim().to_ascii_lowercase()))
    }

    /// A numbered question; `None` at the end of input.
    fn choose<T: Clone>(&mut self, question: &str, choices: &[Choice<T>]) -> Result<Option<T>> {
        let labels: Vec<String> = choices
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{}) {}", i + 1, c.label))
            .collect();
        loop {
            let Some(a) = self.answer(&format!("  {question}  {}  [1]:", labels.join("  ")))?
            else {
                return Ok(None);
            };
            if a.is_empty() {
                return Ok(Some(choices[0].value.clone()));
            }
            match a.parse::<usize>() {
                Ok(n) if (1..=choices.len()).contains(&n) => {
                    return Ok(Some(choices[n - 1].value.clone()));
                }
                _ if a == "?" => println!(
                    "  answer with a number from 1 to {} (Enter: 1)",
                    choices.len()
                ),
                _ => println!("  please answer with a number from 1 to {}", choices.len()),
            }
        }
    }

    fn walk(&mut self, list: &[Destination]) -> Result<()> {
        for (i, d) in list.iter().enumerate() {
            if interrupt::requested() {
                break;
            }
            self.tally.reached = i + 1;
            if d.decided(self.file.config()) {
                self.tally.covered += 1;
                println!(
                    "\n[{}/{}] {}: decided by an earlier answer",
                    i + 1,
                    list.len(),
                    d.label()
                );
                continue;
            }
            println!("\n[{}/{}] {}", i + 1, list.len(), describe(d));
            if let Step::Quit = self.ask(d)? {
                self.tally.reached = i;
                break;
            }
        }
        Ok(())
    }

    fn ask(&mut self, d: &Destination) -> Result<Step> {
        loop {
            let Some(a) = self.answer("allow, deny, skip or quit? [a/d/s/q/?]:")? else {
                return Ok(Step::Quit);
            };
            let done = match a.as_str() {
                "a" => self.allow(d)?,
                "d" => self.deny(d)?,
                "s" => {
                    self.tally.skipped += 1;
                    Some(true)
                }
                "q" => return Ok(Step::Quit),
                "?" => {
                    println!("{HELP}");
                    Some(false)
                }
                _ => {
                    println!("  please answer a, d, s or q (? for help)");
                    Some(false)
                }
            };
            match done {
                None => return Ok(Step::Quit),
                Some(true) => return Ok(Step::Next),
                Some(false) => {}
            }
        }
    }

    /// Asks the allow questions; `Some(true)` when done, `Some(false)` to ask
    /// again, `None` at the end of input.
    fn allow(&mut self, d: &Destination) -> Result<Option<bool>> {
        let devices: Vec<IpAddr> = d.devices.iter().copied().collect();
        let mut device_choices = Vec::new();
        if !d.truncated || devices.len() < MAX_LISTED {
            device_choices.push(Choice {
                label: format!(
                    "{} ({})",
                    if devices.len() == 1 {
                        "this device"
                    } else {
                        "these devices"
                    },
                    join(&devices)
                ),
                value: devices.iter().map(|a| Some(host(*a))).collect::<Vec<_>>(),
            });
        }
        device_choices.push(Choice {
            label: "all devices".into(),
            value: vec![None],
        });
        let Some(chosen_devices) = self.choose("for which device?", &device_choices)? else {
            return Ok(None);
        };
        let services: Vec<(u8, u16)> = d.services.iter().copied().collect();
        let shown: Vec<String> = services.iter().map(|s| service(*s)).collect();
        let mut port_choices = Vec::new();
        if chosen_devices.len() * services.len() <= MAX_RULES_PER_ANSWER {
            port_choices.push(Choice {
                label: format!(
                    "{} ({})",
                    if services.len() == 1 {
                        "this port"
                    } else {
                        "these ports"
                    },
                    shown.join(", ")
                ),
                value: services.iter().map(|s| Some(*s)).collect::<Vec<_>>(),
            });
        }
        port_choices.push(Choice {
            label: "any port or protocol".into(),
            value: vec![None],
        });
        let Some(chosen_ports) = self.choose("which port?", &port_choices)? else {
            return Ok(None);
        };
        let target_choices = match &d.peer {
            Peer::Name(n) => {
                let Ok(exact) = n.parse::<DomainPattern>() else {
                    println!(
                        "  {:?} cannot be written as a name pattern; allow its addresses with `tripline allow ADDR`",
                        n
                    );
                    return Ok(Some(false));
                };
                let mut v = vec![Choice {
                    label: format!("exactly {exact}"),
                    value: Target::Pattern(exact),
                }];
                if let Some(domain) = parent_domain(n) {
                    v.push(Choice {
                        label: format!("the whole domain *.{domain}"),
                        value: Target::Pattern(DomainPattern::Suffix(domain)),
                    });
                }
                v
            }
            Peer::Addr(a) => vec![
                Choice {
                    label: format!("only {a}"),
                    value: Target::Prefix(host(*a)),
                },
                Choice {
                    label: "any address".into(),
                    value: Target::Pattern(DomainPattern::Any),
                },
            ],
        };
        let Some(target) = self.choose(
            if d.name().is_some() {
                "which name?"
            } else {
                "which address?"
            },
            &target_choices,
        )?
        else {
            return Ok(None);
        };
        let mut added = 0;
        for dev in &chosen_devices {
            for svc in &chosen_ports {
                let (proto, port) = match svc {
                    Some((p, port)) => match rule_proto(*p) {
                        ProtoMatch::Any => (ProtoMatch::Any, None),
                        m => (m, Some(*port)),
                    },
                    None => (ProtoMatch::Any, None),
                };
                let direction = if d.outbound {
                    DirectionMatch::Out
                } else {
                    DirectionMatch::In
                };
                let rule = crate::commands::allow_deny::allow_rule(
                    &target,
                    *dev,
                    port,
                    proto,
                    direction,
                    Some("tripline triage".into()),
                );
                if add_allow_and_report(self.file, &rule)? == Change::Added {
                    added += 1;
                }
            }
        }
        self.save(added)?;
        self.tally.allowed += 1;
        Ok(Some(true))
    }

    fn deny(&mut self, d: &Destination) -> Result<Option<bool>> {
        let target = match &d.peer {
            Peer::Addr(a) => Target::Prefix(host(*a)),
            Peer::Name(n) => {
                let exact = match check_dns_name(n) {
                    Ok(e) => e,
                    Err(e) => {
                        println!(
                            "  cannot block it by name: {e}; deny its addresses with `tripline deny ADDR`"
                        );
                        return Ok(Some(false));
                    }
                };
                let mut v = vec![Choice {
                    label: format!("exactly {exact}"),
                    value: Target::Pattern(DomainPattern::Exact(exact.clone())),
                }];
                if let Some(domain) = parent_domain(&exact) {
                    v.push(Choice {
                        label: format!("the whole domain *.{domain}"),
                        value: Target::Pattern(DomainPattern::Suffix(domain)),
                    });
                }
                match self.choose("which name?", &v)? {
                    Some(t) => t,
                    None => return Ok(None),
                }
            }
        };
        let added = usize::from(add_deny_and_report(self.file, &target)? == Change::Added);
        self.save(added)?;
        self.tally.denied += 1;
        Ok(Some(true))
    }

    fn save(&mut self, added: usize) -> Result<()> {
        if added > 0 {
            self.file.save()?;
            println!("  saved to {}", self.file.path().display());
        }
        Ok(())
    }
}

/// The domain one label up (`www.example.com` → `example.com`), or the
/// name itself when it has two labels; `None` for a single label.
fn parent_domain(name: &str) -> Option<String> {
    let n = name.trim_end_matches('.').to_ascii_lowercase();
    let dots = n.matches('.').count();
    match dots {
        0 => None,
        1 => Some(n),
        _ => n.split_once('.').map(|(_, rest)| rest.to_string()),
    }
}

/// The one-address prefix of `a`.
fn host(a: IpAddr) -> Cidr {
    Cidr::new(a, if a.is_ipv4() { 32 } else { 128 }).expect("a host prefix length is valid")
}

fn rule_proto(p: u8) -> ProtoMatch {
    match p {
        ip_proto::TCP => ProtoMatch::Tcp,
        ip_proto::UDP => ProtoMatch::Udp,
        ip_proto::ICMP | ip_proto::ICMPV6 => ProtoMatch::Icmp,
        _ => ProtoMatch::Any,
    }
}

fn service((p, port): (u8, u16)) -> String {
    format!("{}/{port}", ip_proto::name(p).unwrap_or("ip"))
}

fn join(a: &[IpAddr]) -> String {
    a.iter()
        .map(IpAddr::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The destination's summary line(s).
fn describe(d: &Destination) -> String {
    let more = if d.truncated { " and more" } else { "" };
    let devices: Vec<IpAddr> = d.devices.iter().copied().collect();
    let services: Vec<String> = d.services.iter().map(|s| service(*s)).collect();
    let mut s = format!(
        "{}: {} connection{} {} {} device{} ({}{more}) {} {}{more}, {} to {}",
        d.label(),
        d.count,
        if d.count == 1 { "" } else { "s" },
        if d.outbound { "from" } else { "to" },
        devices.len(),
        if devices.len() == 1 { "" } else { "s" },
        join(&devices),
        if d.outbound { "to" } else { "on" },
        services.join(", "),
        d.first,
        d.last
    );
    if d.name().is_some() && !d.addresses.is_empty() {
        let a: Vec<IpAddr> = d.addresses.iter().copied().collect();
        s.push_str(&format!("\n       addresses {}", join(&a)));
    }
    s
}
