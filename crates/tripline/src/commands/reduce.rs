//! `tripline reduce`: inputs → connection records as CSV or JSON lines.

use crate::cli::{ReduceArgs, ReduceFormat};
use crate::commands::analyze::apply_input_args;
use crate::config::Config;
use crate::interrupt;
use crate::pipeline::{self, Outputs, Run};
use crate::progress::Progress;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use tripline_core::Connection;
use tripline_ingest::open::{expand_inputs, open_input};
use tripline_store::{ConnCsvWriter, ConnJsonWriter, SplitByProtocol, SplitFormat};

enum Sink {
    Csv(ConnCsvWriter<Box<dyn Write>>),
    Json(ConnJsonWriter<Box<dyn Write>>),
    Split(SplitByProtocol),
}

struct ReduceOutputs {
    sink: Sink,
    failed: Option<anyhow::Error>,
}

impl Outputs for ReduceOutputs {
    fn connection(&mut self, c: &Connection) {
        let r = match &mut self.sink {
            Sink::Csv(w) => w.write(c),
            Sink::Json(w) => w.write(c),
            Sink::Split(w) => w.write(c),
        };
        if let Err(e) = r
            && self.failed.is_none()
        {
            self.failed = Some(anyhow::Error::new(e).context("writing connection records"));
        }
    }
    fn failure(&mut self) -> Option<anyhow::Error> {
        self.failed.take()
    }
}

/// Runs `tripline reduce`.
pub fn run(explicit_cfg: Option<&Path>, args: ReduceArgs) -> Result<ExitCode> {
    let (mut cfg, _) = Config::load(explicit_cfg)?;
    apply_input_args(&mut cfg, &args.input)?;
    let log_opts = pipeline::log_options(&cfg)?;
    let inputs = expand_inputs(&args.input.inputs).map_err(anyhow::Error::new)?;
    if inputs.is_empty() {
        bail!("nothing to reduce: give capture or firewall log files, directories or `-`");
    }
    let sink = match (&args.split_dir, args.format) {
        (Some(dir), f) => {
            let format = if f == ReduceFormat::Csv {
                SplitFormat::Csv
            } else {
                SplitFormat::JsonLines
            };
            Sink::Split(
                SplitByProtocol::create(dir, format)
                    .with_context(|| format!("cannot write into {}", dir.display()))?,
            )
        }
        (None, f) => {
            let w: Box<dyn Write> = match &args.output {
                Some(p) => Box::new(BufWriter::with_capacity(
                    1 << 16,
                    File::create(p).with_context(|| format!("cannot create {}", p.display()))?,
                )),
                None => Box::new(BufWriter::with_capacity(1 << 16, std::io::stdout())),
            };
            match f {
                ReduceFormat::Csv => Sink::Csv(ConnCsvWriter::new(w)?),
                ReduceFormat::Json => Sink::Json(ConnJsonWriter::new(w)),
            }
        }
    };
    let mut out = ReduceOutputs { sink, failed: None };

    interrupt::install();
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let quiet = args.output.is_none() && args.split_dir.is_none();
    let mut run = Run::new(pipeline::engine_config(&cfg), Progress::new(total, quiet));
    run.stop_on(interrupt::flag());
    let mut damaged = 0u64;
    for path in &inputs {
        if interrupt::requested() {
            break;
        }
        match open_input(path, &log_opts) {
            Ok(mut source) => {
                let fed = run.feed(source.as_mut(), &mut out)?;
                damaged += fed.stats.error_count();
            }
            Err(e) => {
                eprintln!("tripline: {e}");
                damaged += 1;
            }
        }
    }
    run.finish(&mut out)?;
    let written = match out.sink {
        Sink::Csv(w) => {
            let n = w.rows();
            w.into_inner()?.flush()?;
            n
        }
        Sink::Json(w) => {
            let n = w.rows();
            w.into_inner()?.flush()?;
            n
        }
        Sink::Split(w) => {
            let counts = w.finish()?;
            let others: Vec<String> = counts
                .other_protocols
                .iter()
                .map(|(p, n)| format!("protocol {p}: {n}"))
                .collect();
            eprintln!(
                "tripline: {} connection records: tcp {}, udp {}, icmp {}, other {}{}",
                counts.total(),
                counts.tcp,
                counts.udp,
                counts.icmp,
                counts.other,
                if others.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", others.join(", "))
                }
            );
            counts.total()
        }
    };
    if args.split_dir.is_none() && args.output.is_some() {
        eprintln!("tripline: {written} connection records written");
    }
    if damaged > 0 {
        eprintln!("tripline: {damaged} damaged records or unreadable inputs (see messages above)");
    }
    Ok(ExitCode::SUCCESS)
}
