//! Channel workers: threads that deliver notices behind a bounded queue, so
//! a slow or dead peer costs detection nothing. A full queue is the
//! caller's to record (`queue_full`); every delivered or failed notice comes
//! back as a [`NotificationRow`] over the outcome channel.

use super::{Channel, Notice};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use tripline_store::{AlertRef, NotificationOutcome, NotificationRow, Store};

/// One notice waiting for delivery, with what its outcome row needs.
#[derive(Debug)]
pub struct Job {
    /// What to deliver.
    pub notice: Notice,
    /// The alert it is about (none for a digest).
    pub alert: Option<AlertRef>,
    /// Why it is sent (`first`, `rise`, `every`, `digest`).
    pub reason: &'static str,
    /// Text for the outcome row when delivered (a digest's size).
    pub detail: String,
}

/// Where workers look up source profiles: a store file (each worker opens
/// its own read connection) and the list length.
#[derive(Clone, Debug)]
pub struct ProfileSource {
    /// The database file.
    pub path: PathBuf,
    /// Entries per profile list.
    pub limit: usize,
}

/// The worker threads of one channel.
pub struct ChannelWorkers {
    name: &'static str,
    tx: Option<SyncSender<Job>>,
    handles: Vec<JoinHandle<()>>,
}

impl ChannelWorkers {
    /// Starts `workers` threads (at least one) delivering through `channel`
    /// from a queue of `queue` notices; outcomes go to `outcomes`. Each
    /// worker opens its own store connection for profiles now, before
    /// detection starts writing.
    pub fn start(
        channel: Arc<dyn Channel>,
        workers: usize,
        queue: usize,
        profiles: Option<&ProfileSource>,
        outcomes: &Sender<NotificationRow>,
    ) -> Result<ChannelWorkers, tripline_store::StoreError> {
        let (tx, rx) = mpsc::sync_channel::<Job>(queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let name = channel.name();
        let mut handles = Vec::new();
        for i in 0..workers.max(1) {
            let store = match profiles {
                Some(p) => Some((Store::open(&p.path)?, p.limit)),
                None => None,
            };
            let (channel, rx, outcomes) = (Arc::clone(&channel), Arc::clone(&rx), outcomes.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("notify-{name}-{i}"))
                .spawn(move || work(channel.as_ref(), &rx, store, &outcomes));
            match spawned {
                Ok(h) => handles.push(h),
                Err(e) => tracing::warn!("notify {name}: cannot start worker {i}: {e}"),
            }
        }
        Ok(ChannelWorkers {
            name,
            tx: Some(tx),
            handles,
        })
    }

    /// The channel's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Queues `job`; gives it back (boxed) when the queue is full or the
    /// workers are gone.
    pub fn try_send(&self, job: Job) -> Result<(), Box<Job>> {
        match &self.tx {
            Some(tx) if !self.handles.is_empty() => tx.try_send(job).map_err(|e| match e {
                TrySendError::Full(j) | TrySendError::Disconnected(j) => Box::new(j),
            }),
            _ => Err(Box::new(job)),
        }
    }

    /// Lets the workers deliver what is queued, then stops them.
    pub fn close(&mut self) {
        self.tx = None;
        for h in self.handles.drain(..) {
            if h.join().is_err() {
                tracing::warn!("notify {}: a worker panicked", self.name);
            }
        }
    }
}

impl Drop for ChannelWorkers {
    fn drop(&mut self) {
        self.close();
    }
}

fn work(
    channel: &dyn Channel,
    rx: &Mutex<Receiver<Job>>,
    store: Option<(Store, usize)>,
    outcomes: &Sender<NotificationRow>,
) {
    loop {
        // Hold the lock only to take one job, so other workers deliver meanwhile.
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(_) => return,
        };
        let Ok(mut job) = job else { return };
        if let (Notice::Alert(n), Some((store, limit))) = (&mut job.notice, &store)
            && let Some(src) = n.alert.src
        {
            match store.profile(src, *limit) {
                Ok(p) => n.profile = p,
                Err(e) => tracing::debug!("notify: profile of {src}: {e}"),
            }
        }
        let (outcome, reason, detail) = match channel.deliver(&job.notice) {
            Ok(()) => (NotificationOutcome::Sent, job.reason, job.detail),
            Err(e) => (NotificationOutcome::Failed, job.reason, e.0),
        };
        let row = NotificationRow {
            ts: job.notice.ts(),
            channel: channel.name(),
            alert: job.alert,
            src: job.notice.src(),
            outcome,
            reason,
            detail,
        };
        if outcomes.send(row).is_err() {
            return;
        }
    }
}
