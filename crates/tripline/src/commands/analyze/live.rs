//! `analyze --interface`: live capture through the same pipeline.

use super::AnalyzeOutputs;
use crate::cli::AnalyzeArgs;
use crate::pipeline::Run;
use anyhow::Result;
use std::io::Write;
use tripline_ingest::live::{LiveCapture, LiveOptions, PacketDecoder};
use tripline_store::{EveWriter, InputId, InputStats, NewInput, Store};

/// Captures from `iface` until Ctrl-C, SIGTERM or `--max-packets`.
pub fn capture(
    run: &mut Run,
    iface: &str,
    args: &AnalyzeArgs,
    mut store: Option<&mut Store>,
    eve: Option<&mut EveWriter<Box<dyn Write>>>,
) -> Result<Option<InputId>> {
    let opts = LiveOptions {
        filter: args.filter.clone(),
        max_packets: args.max_packets,
        ..LiveOptions::default()
    };
    let mut cap = LiveCapture::open(iface, opts, PacketDecoder::new())?;
    run.progress
        .println(&format!("tripline: capturing on {iface} (Ctrl-C to stop)"));
    let id = match store.as_deref() {
        Some(s) => Some(s.begin_input(&NewInput {
            path: iface,
            size: None,
            hash: None,
            format: "live",
        })?),
        None => None,
    };
    let mut out = AnalyzeOutputs::new(store.as_deref_mut(), id, eve);
    let fed = run.feed(&mut cap, &mut out)?;
    out.finish()?;
    let live = cap.live_stats();
    run.progress.println(&format!(
        "tripline: {iface}: {} packets received, {} dropped by the kernel, {} dropped by the interface",
        live.received, live.dropped, live.if_dropped
    ));
    if let (Some(s), Some(id)) = (store.as_deref(), id) {
        let st = &fed.stats;
        s.finish_input(
            id,
            &InputStats {
                first_ts: fed.first_ts,
                last_ts: fed.last_ts,
                units: st.units,
                records: st.records,
                skipped: st.skipped,
                errors: st.error_count(),
            },
        )?;
    }
    Ok(id)
}
