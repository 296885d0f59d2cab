//! `tripline analyze`: inputs → engine → store, EVE and a summary.

use crate::cli::{AnalyzeArgs, InputArgs};
use crate::config::Config;
use crate::interrupt;
use crate::pipeline::{self, Outputs, Run};
use crate::progress::Progress;
use crate::summary::InputSummary;
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use tripline_core::{Alert, AuthLog, Connection, DnsLog, InputError};
use tripline_ingest::open::{expand_inputs, open_input};
use tripline_store::{EveWriter, InputId, InputStats, NewInput, Store, StoreSink, hash_file};

mod follow;
mod live;
mod notify;
mod respond;

/// Applies the input options every reading command shares to the configuration.
pub fn apply_input_args(cfg: &mut Config, args: &InputArgs) -> Result<()> {
    if !args.home_net.is_empty() {
        cfg.home_net = args
            .home_net
            .iter()
            .map(|s| s.parse().map_err(|e| anyhow::anyhow!("--home-net: {e}")))
            .collect::<Result<_>>()?;
    }
    if args.year.is_some() {
        cfg.input.year = args.year;
    }
    if let Some(tz) = &args.tz {
        cfg.input.tz = Some(tz.clone());
        cfg.tz().context("--tz")?;
    }
    Ok(())
}

/// Runs `tripline analyze`.
pub fn run(explicit_cfg: Option<&Path>, args: AnalyzeArgs) -> Result<ExitCode> {
    let (mut cfg, cfg_path) = Config::load(explicit_cfg)?;
    apply_input_args(&mut cfg, &args.input)?;
    let log_opts = pipeline::log_options(&cfg)?;
    let inputs = expand_inputs(&args.input.inputs).map_err(anyhow::Error::new)?;
    if inputs.is_empty() && args.interface.is_none() {
        bail!("nothing to analyze: give capture or log files, directories, `-`, or --interface");
    }
    if args.follow && inputs.iter().any(|p| p == "-") {
        bail!("--follow cannot follow standard input");
    }

    let mut store = if args.no_store {
        None
    } else {
        Some(Store::open(&cfg.store_path(args.db.as_deref()))?)
    };
    let mut eve: Option<EveWriter<Box<dyn Write>>> = match &args.eve {
        None => None,
        Some(p) if p.as_os_str() == "-" => {
            Some(EveWriter::new(Box::new(BufWriter::new(std::io::stdout()))))
        }
        Some(p) => {
            let f = File::create(p)
                .with_context(|| format!("cannot create EVE file {}", p.display()))?;
            Some(EveWriter::new(Box::new(BufWriter::with_capacity(
                1 << 16,
                f,
            ))))
        }
    };

    respond::install(&cfg, &cfg.store_path(args.db.as_deref()))?;
    let db = cfg.store_path(args.db.as_deref());
    notify::install(&cfg, (!args.no_store).then_some(db.as_path()))?;
    interrupt::install();
    let total: u64 = inputs
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let mut engine_config = pipeline::engine_config(&cfg);
    let cfg_dir = cfg_path.as_deref().and_then(Path::parent);
    if let Some(sig) =
        crate::signatures::load(&cfg.signatures, &cfg.home_nets(), &args.rules, cfg_dir)?
    {
        report_rules(&sig, args.quiet);
        if args.strict && sig.summary.error_count() > 0 {
            anyhow::bail!("{} malformed rules (--strict)", sig.summary.error_count());
        }
        engine_config.signature = sig.config;
        let live = args.interface.is_some() || args.follow;
        engine_config.signature.workers = cfg.signatures.workers.resolve(live);
    }
    let mut run = Run::new(engine_config, Progress::new(total, args.quiet));
    run.stop_on(interrupt::flag());
    // connwatch reports only what the store has not seen before.
    if let Some(store) = &store {
        super::conns::load_seen(run.engine_mut(), store)?;
    }
    let started = std::time::Instant::now();
    let mut last_input: Option<InputId> = None;

    // In follow mode, log files are read by the follower (from their
    // checkpoints); captures are read once here.
    for path in &inputs {
        if interrupt::requested() {
            break;
        }
        if args.follow && follow::is_log_file(path) {
            continue;
        }
        let hash = match (&store, path.as_str()) {
            (Some(_), p) if p != "-" => match hash_file(Path::new(p)) {
                Ok(h) => Some(h),
                Err(e) => {
                    unreadable(
                        &mut run,
                        path,
                        &InputError::new(
                            path.as_str(),
                            tripline_core::Location::File,
                            tripline_core::ErrorKind::Io,
                            e.to_string(),
                        ),
                    );
                    continue;
                }
            },
            _ => None,
        };
        // --force replaces what an earlier ingest of the same content
        // stored, so reading a file twice never doubles its rows.
        if let (Some(store), Some(h)) = (store.as_mut(), &hash)
            && args.force
        {
            while let Some(row) = store.find_input_by_hash(h)? {
                if !store.delete_input(row.id)? {
                    break;
                }
                run.progress.println(&format!(
                    "tripline: {path}: replacing input #{} ({}) read before",
                    row.id.0, row.path
                ));
            }
        }
        if let (Some(store), Some(h)) = (&store, &hash)
            && !args.force
            && let Some(row) = store.find_input_by_hash(h)?
        {
            let note = format!(
                "already in the store as input #{} ({}); use --force to read it again",
                row.id.0, row.path
            );
            run.progress
                .println(&format!("tripline: {path}: skipped: {note}"));
            run.summary.inputs.push(InputSummary {
                path: path.clone(),
                format: "skipped".into(),
                bytes: 0,
                records: 0,
                skipped: 0,
                errors: 0,
                note: Some(note),
            });
            continue;
        }
        let mut source = match open_input(path, &log_opts) {
            Ok(s) => s,
            Err(e) => {
                unreadable(&mut run, path, &e);
                if let Some(store) = &store {
                    let id = store.begin_input(&NewInput {
                        path,
                        size: file_size(path),
                        hash: hash.as_deref(),
                        format: "unknown",
                    })?;
                    store.add_input_error(id, &e)?;
                    store.add_error_counts(id, &[(e.kind, 1)].into_iter().collect())?;
                    store.finish_input(
                        id,
                        &InputStats {
                            errors: 1,
                            ..Default::default()
                        },
                    )?;
                }
                continue;
            }
        };
        let id = match &store {
            Some(s) => Some(s.begin_input(&NewInput {
                path,
                size: file_size(path),
                hash: hash.as_deref(),
                format: source.format().as_str(),
            })?),
            None => None,
        };
        let mut out = AnalyzeOutputs::new(store.as_mut(), id, eve.as_mut());
        let fed = run.feed(source.as_mut(), &mut out)?;
        out.finish()?;
        if let (Some(store), Some(id)) = (&store, id) {
            let s = &fed.stats;
            store.finish_input(
                id,
                &InputStats {
                    first_ts: fed.first_ts,
                    last_ts: fed.last_ts,
                    units: s.units,
                    records: s.records,
                    skipped: s.skipped,
                    errors: s.error_count(),
                },
            )?;
        }
        last_input = id.or(last_input);
    }

    if let Some(iface) = &args.interface {
        let id = live::capture(&mut run, iface, &args, store.as_mut(), eve.as_mut())?;
        last_input = id.or(last_input);
    }
    if args.follow {
        follow::follow(&mut run, &inputs, &log_opts, store.as_mut(), eve.as_mut())?;
    }

    let mut out = AnalyzeOutputs::new(store.as_mut(), last_input, eve.as_mut());
    run.finish(&mut out)?;
    out.finish()?;
    if let Some(store) = store.as_mut() {
        super::conns::save_seen(run.engine_mut(), store)?;
    }
    if let Some(eve) = eve.as_mut() {
        eve.flush().context("writing EVE output")?;
    }

    if let Some(line) = notify::finish()? {
        run.progress.println(&format!("tripline: {line}"));
    }
    if let Some(line) = respond::summary() {
        run.progress.println(&format!("tripline: {line}"));
    }
    let summary = &mut run.summary;
    summary.seconds = started.elapsed().as_secs_f64();
    summary.compute_top_talkers(10);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else {
        if let Some(store) = &store {
            println!("store:            {}", store.path().display());
        }
        print!("{}", summary.render_text());
    }
    let damaged = summary.error_total() > 0;
    Ok(if args.strict && damaged {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

fn file_size(path: &str) -> Option<u64> {
    std::fs::metadata(path)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len())
}

fn unreadable(run: &mut Run, path: &str, e: &InputError) {
    run.progress.println(&format!("tripline: {e}"));
    run.summary.add_errors(e.kind, 1);
    run.summary.inputs.push(InputSummary {
        path: path.to_string(),
        format: "unreadable".into(),
        bytes: 0,
        records: 0,
        skipped: 0,
        errors: 1,
        note: Some(e.message.clone()),
    });
}

/// The outputs of `analyze`: the store (optional) and EVE (optional).
pub struct AnalyzeOutputs<'s, 'e> {
    store: Option<StoreSink<'s>>,
    eve: Option<&'e mut EveWriter<Box<dyn Write>>>,
    failed: Option<anyhow::Error>,
}

impl<'s, 'e> AnalyzeOutputs<'s, 'e> {
    /// Outputs for records of `input`.
    pub fn new(
        store: Option<&'s mut Store>,
        input: Option<InputId>,
        eve: Option<&'e mut EveWriter<Box<dyn Write>>>,
    ) -> Self {
        AnalyzeOutputs {
            store: store.map(|s| StoreSink::new(s, input)),
            eve,
            failed: None,
        }
    }

    /// Commits what is pending.
    pub fn finish(self) -> Result<()> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        if let Some(s) = self.store {
            s.finish()?;
        }
        Ok(())
    }

    fn check<E: Into<anyhow::Error>>(&mut self, r: std::result::Result<(), E>) {
        if let Err(e) = r
            && self.failed.is_none()
        {
            self.failed = Some(e.into());
        }
    }
}

impl Outputs for AnalyzeOutputs<'_, '_> {
    fn connection(&mut self, c: &Connection) {
        if let Some(s) = self.store.as_mut() {
            let r = s.connection(c);
            self.check(r);
        }
        if let Some(e) = self.eve.as_mut() {
            let r = e.flow(c);
            self.check(r);
        }
    }
    fn dns(&mut self, d: &DnsLog) {
        if let Some(s) = self.store.as_mut() {
            let r = s.dns(d);
            self.check(r);
        }
        if let Some(e) = self.eve.as_mut() {
            let r = e.dns(d);
            self.check(r);
        }
    }
    fn auth(&mut self, a: &AuthLog) {
        if let Some(s) = self.store.as_mut() {
            let r = s.auth(a);
            self.check(r);
        }
    }
    fn alert(&mut self, a: &Alert) {
        if let Some(s) = self.store.as_mut() {
            let r = s.alert(a);
            self.check(r);
        }
        if let Some(e) = self.eve.as_mut() {
            let r = e.alert(a);
            self.check(r);
        }
        let r = respond::on_alert(a, self.store.as_mut());
        self.check(r);
        let r = notify::on_alert(a, self.store.as_mut());
        self.check(r);
    }
    fn input_error(&mut self, err: &InputError) {
        if let Some(s) = self.store.as_mut() {
            let r = s.error(err);
            self.check(r);
        }
    }
    fn failure(&mut self) -> Option<anyhow::Error> {
        self.failed.take()
    }
}

/// One line on what the rule files gave (errors and skips named, bounded).
fn report_rules(sig: &crate::signatures::LoadedSignatures, quiet: bool) {
    let s = &sig.summary;
    for e in s.errors.iter().take(10) {
        eprintln!("tripline: {e}");
    }
    if !quiet {
        eprintln!(
            "tripline: rules: {} loaded from {} files, {} skipped (unsupported), {} malformed",
            s.loaded,
            sig.files,
            s.skipped(),
            s.error_count()
        );
    }
}
