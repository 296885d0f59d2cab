//! Parallel signature workers, sharded by flow.
//!
//! Each worker thread owns an [`Inspector`] and every flow whose key hashes
//! to it, so flow state (handshake, flowbits, reassembly, HTTP parsing)
//! never crosses threads. State that spans flows — xbits and thresholds —
//! is left to this side: the workers' matchers run in deferred mode and
//! report those matches as pending; they are settled here, in input order,
//! by one [`CrossFlow`]. Packets are numbered as they arrive and alerts are
//! handed on in that order, so the output is the same for any number of
//! workers.
//!
//! Packets are copied into per-worker batches (reused, so steady state does
//! not allocate). A batch round is sent when it holds [`BATCH_JOBS`]
//! records, [`BATCH_BYTES`] of payload, or spans [`BATCH_SPAN_NS`] of
//! capture time; up to [`IN_FLIGHT`] rounds are in the workers' hands while
//! the engine thread reads on, and the oldest round's alerts are handed on
//! when a newer one is sent. Round boundaries depend only on the input, so
//! alerts are handed on at the same records whatever the worker count.
//! Each worker's flow view and reassembly caps are its share of the
//! configured ones: under that memory pressure, evictions can differ from
//! one worker's.

use super::flows::FlowKey;
use super::inspector::{Inspector, PacketView, Raised};
use super::{SignatureConfig, SignatureStats};
use crate::detectors::osfp::{OS_GUESS_KEY, OsGuess, OsfpDetector};
use crate::engine::EngineOutput;
use std::collections::VecDeque;
use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::thread::JoinHandle;
use tripline_core::{Alert, Header, LinkInfo, Timestamp};
use tripline_rules::SignatureMatcher;
use tripline_rules::matcher::{CompileError, CrossFlow};

/// Records per batch round.
pub const BATCH_JOBS: usize = 512;
/// Payload bytes per batch round.
pub const BATCH_BYTES: usize = 1 << 20;
/// Capture time one batch round may span (1 s).
pub const BATCH_SPAN_NS: i64 = 1_000_000_000;
/// Batch rounds in the workers' hands at once.
pub const IN_FLIGHT: usize = 8;

/// One record for a worker.
enum Job {
    Packet {
        seq: u64,
        ts: Timestamp,
        header: Header,
        link: LinkInfo,
        key: FlowKey,
        /// The payload's range in the batch's byte buffer.
        payload: (usize, usize),
    },
    Firewall {
        seq: u64,
        ts: Timestamp,
        header: Header,
    },
}

/// Records for one worker, their payloads in one buffer.
#[derive(Default)]
struct Batch {
    jobs: Vec<Job>,
    bytes: Vec<u8>,
}

impl Batch {
    fn clear(&mut self) {
        self.jobs.clear();
        self.bytes.clear();
    }
}

enum Request {
    Inspect(Batch),
    Finish,
}

enum Reply {
    /// A batch inspected: its alerts by record number, the batch back for
    /// reuse, the worker's counters.
    Inspected {
        raised: Vec<(u64, Raised)>,
        batch: Batch,
        stats: SignatureStats,
    },
    /// End of input: alerts of transactions completed at the end, by
    /// flow, and the inspector itself (freeing a compiled rule set takes
    /// a while: it is left to the detector's drop).
    Finished {
        raised: Vec<(FlowKey, Raised)>,
        stats: SignatureStats,
        inspector: Box<Inspector>,
    },
}

struct Worker {
    to: Sender<Request>,
    from: Receiver<Reply>,
    handle: Option<JoinHandle<()>>,
    filling: Batch,
    spare: Vec<Batch>,
    stats: SignatureStats,
}

/// The worker pool and the settling side.
pub(crate) struct Workers {
    workers: Vec<Worker>,
    settle: CrossFlow,
    seq: u64,
    filling_jobs: usize,
    filling_bytes: usize,
    filling_since: Option<Timestamp>,
    /// Rounds sent and not yet handed on: the workers that got a batch,
    /// and the round's last record number.
    in_flight: VecDeque<(Vec<usize>, u64)>,
    merged: Vec<(u64, Raised)>,
    /// The OS guess of each queued record's source when it was queued
    /// (records without one left out), so alerts handed on later carry
    /// the guess the engine's own thread would have attached.
    notes: VecDeque<(u64, OsGuess)>,
    /// The workers' inspectors after the end of input.
    retired: Vec<Inspector>,
}

/// Compiles the rules into an inspector with a 1/`shares` share of the
/// flow view and reassembly caps (`shares` 0 or 1: all of them). Returns
/// the rules the matcher refused too.
pub(crate) fn inspector_share(
    config: &SignatureConfig,
    shares: usize,
) -> (Inspector, Vec<(usize, CompileError)>) {
    let (matcher, refused) = SignatureMatcher::new(&config.rules, config.limits);
    (share_of(config, shares, matcher), refused)
}

/// An inspector over `matcher` with a 1/`shares` share of the caps.
fn share_of(config: &SignatureConfig, shares: usize, matcher: SignatureMatcher) -> Inspector {
    let n = shares.max(1);
    let mut reassembly = config.reassembly.clone();
    reassembly.memcap = (reassembly.memcap / n).max(1);
    reassembly.max_flows = (reassembly.max_flows / n).max(1);
    Inspector::new(config, matcher, (config.max_flows / n).max(1), reassembly)
}

/// Switches an inspector's matcher to deferred mode; the error says why
/// the rules refuse it.
pub(crate) fn defer(mut inspector: Inspector) -> Result<Inspector, String> {
    inspector.matcher_mut().defer_cross_flow()?;
    Ok(inspector)
}

fn run_worker(
    config: Arc<SignatureConfig>,
    mut inspector: Inspector,
    requests: Receiver<Request>,
    replies: Sender<Reply>,
) {
    let mut out = Vec::new();
    while let Ok(req) = requests.recv() {
        match req {
            Request::Inspect(mut batch) => {
                let mut raised = Vec::new();
                for job in &batch.jobs {
                    match job {
                        Job::Packet {
                            seq,
                            ts,
                            header,
                            link,
                            key,
                            payload,
                        } => {
                            let view = PacketView {
                                ts: *ts,
                                header,
                                payload: &batch.bytes[payload.0..payload.1],
                                link,
                                key: *key,
                            };
                            inspector.packet(&config, view, &mut out);
                            raised.extend(out.drain(..).map(|r| (*seq, r)));
                        }
                        Job::Firewall { seq, ts, header } => {
                            inspector.firewall(&config, *ts, header, &mut out);
                            raised.extend(out.drain(..).map(|r| (*seq, r)));
                        }
                    }
                }
                batch.clear();
                let reply = Reply::Inspected {
                    raised,
                    batch,
                    stats: inspector.stats(),
                };
                if replies.send(reply).is_err() {
                    return;
                }
            }
            Request::Finish => {
                let mut raised = Vec::new();
                inspector.finish(&config, &mut raised);
                let _ = replies.send(Reply::Finished {
                    raised,
                    stats: inspector.stats(),
                    inspector: Box::new(inspector),
                });
                return;
            }
        }
    }
}

/// The worker a flow belongs to (a fixed hash: the same on every run; an
/// uneven spread only costs speed, never changes the alerts).
fn worker_of(key: &FlowKey, n: usize) -> usize {
    let h = foldhash::fast::FixedState::with_seed(0x7472_6970_6c69_6e65).hash_one(key);
    (h % n as u64) as usize
}

impl Workers {
    /// Starts `first` and `n - 1` more workers sharing its compiled rules.
    /// `first` must be in deferred mode ([`defer`]). The error says why a
    /// thread could not start (the ones started stop again).
    pub(crate) fn start(
        config: Arc<SignatureConfig>,
        n: usize,
        mut first: Inspector,
    ) -> Result<Self, String> {
        let settle = first.matcher_mut().cross_flow().fresh();
        let others: Vec<Inspector> = (1..n)
            .map(|_| share_of(&config, n, first.matcher_mut().worker_copy()))
            .collect();
        let workers = std::iter::once(first)
            .chain(others)
            .enumerate()
            .map(|(i, inspector)| {
                let (to, requests) = channel();
                let (replies, from) = channel();
                let config = config.clone();
                let handle = std::thread::Builder::new()
                    .name(format!("signature-{i}"))
                    .spawn(move || run_worker(config, inspector, requests, replies))
                    .map_err(|e| format!("cannot start worker thread {i}: {e}"))?;
                Ok(Worker {
                    to,
                    from,
                    handle: Some(handle),
                    filling: Batch::default(),
                    spare: Vec::new(),
                    stats: SignatureStats::default(),
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Ok(Workers {
            workers,
            settle,
            seq: 0,
            filling_jobs: 0,
            filling_bytes: 0,
            filling_since: None,
            in_flight: VecDeque::new(),
            merged: Vec::new(),
            notes: VecDeque::new(),
            retired: Vec::new(),
        })
    }

    /// Counters: the workers' as of their last reply, the settled
    /// cross-flow matches added in.
    pub(crate) fn stats(&self) -> SignatureStats {
        let mut s = SignatureStats::default();
        for w in &self.workers {
            s.add(&w.stats);
        }
        let settled = self.settle.stats();
        s.matcher.matches += settled.matches;
        s.matcher.alerts += settled.alerts;
        s.matcher.thresholded += settled.thresholded;
        s
    }

    fn job_added(
        &mut self,
        ts: Timestamp,
        header: &Header,
        bytes: usize,
        os: Option<&OsfpDetector>,
        out: &mut dyn EngineOutput,
    ) {
        if let Some(g) = os.and_then(|o| o.guess(header.src)) {
            self.notes.push_back((self.seq, g.clone()));
        }
        self.seq += 1;
        self.filling_jobs += 1;
        self.filling_bytes += bytes;
        let since = *self.filling_since.get_or_insert(ts);
        if self.filling_jobs >= BATCH_JOBS
            || self.filling_bytes >= BATCH_BYTES
            || ts.0.saturating_sub(since.0) >= BATCH_SPAN_NS
        {
            self.send_round(out);
        }
    }

    /// Queues one captured packet (not a fragment piece); `os`: the osfp
    /// detector's guesses as of this packet.
    pub(crate) fn packet(
        &mut self,
        p: PacketView<'_>,
        os: Option<&OsfpDetector>,
        out: &mut dyn EngineOutput,
    ) {
        let at = worker_of(&p.key, self.workers.len());
        let w = &mut self.workers[at];
        let start = w.filling.bytes.len();
        w.filling.bytes.extend_from_slice(p.payload);
        w.filling.jobs.push(Job::Packet {
            seq: self.seq,
            ts: p.ts,
            header: *p.header,
            link: *p.link,
            key: p.key,
            payload: (start, start + p.payload.len()),
        });
        self.job_added(p.ts, p.header, p.payload.len(), os, out);
    }

    /// Queues one firewall log record.
    pub(crate) fn firewall(
        &mut self,
        ts: Timestamp,
        header: &Header,
        os: Option<&OsfpDetector>,
        out: &mut dyn EngineOutput,
    ) {
        let key = FlowKey::of(header);
        let at = worker_of(&key, self.workers.len());
        let w = &mut self.workers[at];
        w.filling.jobs.push(Job::Firewall {
            seq: self.seq,
            ts,
            header: *header,
        });
        self.job_added(ts, header, 0, os, out);
    }

    /// Sends the batches being filled; hands on the oldest round's alerts
    /// once more than [`IN_FLIGHT`] rounds are out.
    fn send_round(&mut self, out: &mut dyn EngineOutput) {
        let mut sent = Vec::new();
        for (i, w) in self.workers.iter_mut().enumerate() {
            if w.filling.jobs.is_empty() {
                continue;
            }
            let next = w.spare.pop().unwrap_or_default();
            let batch = std::mem::replace(&mut w.filling, next);
            if w.to.send(Request::Inspect(batch)).is_err() {
                worker_died(w);
            }
            sent.push(i);
        }
        self.filling_jobs = 0;
        self.filling_bytes = 0;
        self.filling_since = None;
        if !sent.is_empty() {
            self.in_flight.push_back((sent, self.seq.saturating_sub(1)));
        }
        while self.in_flight.len() > IN_FLIGHT {
            self.hand_on_oldest(out);
        }
    }

    /// Waits for the oldest round and hands its alerts on in record order.
    fn hand_on_oldest(&mut self, out: &mut dyn EngineOutput) {
        let Some((round, last_seq)) = self.in_flight.pop_front() else {
            return;
        };
        for i in round {
            let w = &mut self.workers[i];
            match w.from.recv() {
                Ok(Reply::Inspected {
                    raised,
                    batch,
                    stats,
                }) => {
                    self.merged.extend(raised);
                    w.spare.push(batch);
                    w.stats = stats;
                }
                _ => worker_died(w),
            }
        }
        // One record went to one worker: a stable sort by record number
        // restores the input order and keeps each record's alert order.
        self.merged.sort_by_key(|(seq, _)| *seq);
        for (seq, mut r) in self.merged.drain(..) {
            while self.notes.front().is_some_and(|(s, _)| *s < seq) {
                self.notes.pop_front();
            }
            if let Some((_, g)) = self.notes.front().filter(|(s, _)| *s == seq) {
                r.alert.details.insert(
                    OS_GUESS_KEY.into(),
                    serde_json::Value::Object(g.to_details()),
                );
            }
            hand_on(&mut self.settle, r, true, out);
        }
        while self.notes.front().is_some_and(|(s, _)| *s <= last_seq) {
            self.notes.pop_front();
        }
    }

    /// Hands on everything sent so far (live input going quiet).
    pub(crate) fn drain(&mut self, out: &mut dyn EngineOutput) {
        self.send_round(out);
        while !self.in_flight.is_empty() {
            self.hand_on_oldest(out);
        }
    }

    /// End of input: drains the workers, then the transactions they still
    /// held, in flow key order (as one inspector would), and stops them.
    pub(crate) fn finish(&mut self, out: &mut dyn EngineOutput) {
        self.drain(out);
        let mut at_end = Vec::new();
        for w in &mut self.workers {
            if w.to.send(Request::Finish).is_err() {
                worker_died(w);
            }
        }
        for w in &mut self.workers {
            match w.from.recv() {
                Ok(Reply::Finished {
                    raised,
                    stats,
                    inspector,
                }) => {
                    at_end.extend(raised);
                    w.stats = stats;
                    self.retired.push(*inspector);
                }
                _ => worker_died(w),
            }
        }
        at_end.sort_by_key(|(key, _)| *key);
        // The engine annotates these as it does the one thread's.
        for (_, r) in at_end {
            hand_on(&mut self.settle, r, false, out);
        }
        self.stop();
    }

    fn stop(&mut self) {
        for w in &mut self.workers {
            // Closing the request channel ends the worker's loop.
            let (closed, _) = channel();
            w.to = closed;
            if let Some(h) = w.handle.take() {
                let _ = h.join();
            }
        }
    }

    /// Number of workers.
    pub(crate) fn len(&self) -> usize {
        self.workers.len()
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Settles a raised alert's cross-flow decision and hands it on as many
/// times as it alerts; `annotated`: its OS guess is decided.
fn hand_on(settle: &mut CrossFlow, r: Raised, annotated: bool, out: &mut dyn EngineOutput) {
    let times = match &r.pending {
        None => 1,
        Some(p) => settle.settle(p),
    };
    let send = |out: &mut dyn EngineOutput, a: Alert| {
        if annotated {
            out.alert_annotated(a)
        } else {
            out.alert(a)
        }
    };
    for _ in 1..times {
        send(out, r.alert.clone());
    }
    if times > 0 {
        send(out, r.alert);
    }
}

/// A worker thread ended early: only a bug (a panic) does that. Its panic
/// is carried on here rather than losing its flows' alerts silently.
fn worker_died(w: &mut Worker) -> ! {
    match w.handle.take().map(JoinHandle::join) {
        Some(Err(panic)) => std::panic::resume_unwind(panic),
        _ => panic!("a signature worker stopped unexpectedly"),
    }
}
