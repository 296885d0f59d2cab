//! `analyze --follow`: log inputs are tailed like `tail -F`.
//!
//! Each poll's lines go through the engine into the store in one
//! transaction; the followers' checkpoints are saved right after that
//! transaction commits. A crash between the two repeats at most that one
//! poll's lines on restart and never loses one.

use super::AnalyzeOutputs;
use crate::interrupt;
use crate::pipeline::Run;
use anyhow::{Context, Result};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;
use tripline_ingest::follow::{
    Checkpoint, CheckpointStore, FileFollower, FollowOptions, MemoryCheckpoints,
};
use tripline_ingest::logs::{LineParser, LogOptions};
use tripline_ingest::open::{Detected, detect_format};
use tripline_store::{EveWriter, Store};

/// True when `path` is an uncompressed text log (what can be followed).
pub fn is_log_file(path: &str) -> bool {
    let mut head = Vec::with_capacity(4096);
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    use std::io::Read;
    if f.take(4096).read_to_end(&mut head).is_err() || head.starts_with(&[0x1f, 0x8b]) {
        return false;
    }
    detect_format(&head) == Some(Detected::Log)
}

/// Store checkpoints carry the fingerprint as text; the line number rides
/// along after a slash so resumed line numbers stay right.
fn to_store(cp: &Checkpoint) -> tripline_store::Checkpoint {
    tripline_store::Checkpoint {
        path: cp.path.clone(),
        inode: cp.inode,
        offset: cp.offset,
        fingerprint: format!("{:016x}/{}", cp.fingerprint, cp.line),
    }
}

fn from_store(cp: &tripline_store::Checkpoint) -> Option<Checkpoint> {
    let (fp, line) = cp.fingerprint.split_once('/')?;
    Some(Checkpoint {
        path: cp.path.clone(),
        inode: cp.inode,
        offset: cp.offset,
        line: line.parse().ok()?,
        fingerprint: u64::from_str_radix(fp, 16).ok()?,
    })
}

/// Follows the log files among `inputs` until Ctrl-C or SIGTERM.
pub fn follow(
    run: &mut Run,
    inputs: &[String],
    log_opts: &LogOptions,
    mut store: Option<&mut Store>,
    mut eve: Option<&mut EveWriter<Box<dyn Write>>>,
) -> Result<()> {
    let paths: Vec<String> = inputs
        .iter()
        .filter(|p| Path::new(p.as_str()).is_file() && is_log_file(p))
        .cloned()
        .collect();
    if paths.is_empty() {
        anyhow::bail!("--follow: none of the inputs is an uncompressed log file");
    }
    let mut memory = MemoryCheckpoints::new();
    if let Some(s) = store.as_deref() {
        for p in &paths {
            if let Some(cp) = s.load_checkpoint(p)?.as_ref().and_then(from_store) {
                memory.save(&cp).context("loading checkpoints")?;
            }
        }
    }
    let opts = FollowOptions::default();
    let interval = opts.poll_interval;
    let mut follower = FileFollower::with_store(paths.clone(), opts, memory);
    let mut parsers: HashMap<String, LineParser> = paths
        .iter()
        .map(|p| (p.clone(), LineParser::new(p, log_opts.clone())))
        .collect();
    run.progress.println(&format!(
        "tripline: following {} (Ctrl-C to stop)",
        paths.join(", ")
    ));

    while !interrupt::requested() {
        let mut out = AnalyzeOutputs::new(store.as_deref_mut(), None, eve.as_deref_mut());
        let (polled, failure) = run.with_sink("follow", &mut out, |sink| {
            let polled = follower.poll(&mut |line| {
                let Some(parser) = parsers.get_mut(line.path) else {
                    return;
                };
                let mut emit = |rec: &tripline_core::Record<'_>| sink.record(rec);
                if let tripline_ingest::logs::LineOutcome::Error(e) =
                    parser.parse_line(line.line, line.lineno, &mut emit)
                {
                    sink.error(e);
                }
            });
            // A quiet moment: a dnsmasq answer group waiting for its next
            // line is complete by now.
            if matches!(&polled, Ok(p) if p.lines == 0) {
                for parser in parsers.values_mut() {
                    parser.finish(&mut |rec| sink.record(rec));
                }
            }
            polled
        });
        if let Some(e) = failure {
            return Err(e);
        }
        let polled = polled.context("saving follow checkpoints")?;
        for e in &polled.errors {
            run.progress.println(&format!("tripline: {e}"));
        }
        out.finish()?;
        if let Some(e) = eve.as_deref_mut() {
            e.flush().context("writing EVE output")?;
        }
        if let Some(s) = store.as_deref() {
            for cp in follower.checkpoints() {
                s.save_checkpoint(&to_store(cp))?;
            }
        }
        if !polled.more {
            std::thread::sleep(interval);
        }
    }
    // Pending dnsmasq answer groups.
    let mut out = AnalyzeOutputs::new(store, None, eve);
    let ((), failure) = run.with_sink("follow", &mut out, |sink| {
        for parser in parsers.values_mut() {
            parser.finish(&mut |rec| sink.record(rec));
        }
    });
    if let Some(e) = failure {
        return Err(e);
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checkpoint_text_round_trip() {
        let cp = Checkpoint {
            path: "/var/log/kern.log".into(),
            inode: 42,
            offset: 1234,
            line: 17,
            fingerprint: 0x7fff_0000_1234_abcd,
        };
        assert_eq!(from_store(&to_store(&cp)), Some(cp));
        let bad = tripline_store::Checkpoint {
            path: "x".into(),
            inode: 1,
            offset: 1,
            fingerprint: "zz".into(),
        };
        assert_eq!(from_store(&bad), None);
    }
}
