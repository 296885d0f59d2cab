//! `tripline filter EXPR INPUT...`: the packets a tcpdump expression
//! matches, printed like `tcpdump -nn -r`, and their count.
//!
//! The expression is compiled by libpcap (per link type: a pcapng file may
//! mix Ethernet, raw IP and Linux cooked interfaces) and run on every
//! captured frame, so the count equals tcpdump's. Inputs are capture files
//! (pcap, pcapng, gzip), directories of them, or `-` for standard input.
//!
//! Exit status: 0 when every input was read to its end, 1 when an input
//! could not be read or was damaged (the frames before the damage still
//! count), 2 when libpcap rejects the expression.

mod frames;
mod print;

use crate::cli::FilterArgs;
use frames::read_frames;
use print::TcpdumpPrinter;
use std::io::{BufWriter, ErrorKind, Write};
use std::process::ExitCode;
use tripline_detect::detectors::filter::CompiledFilter;
use tripline_ingest::open::expand_inputs;

/// Runs `tripline filter`.
pub fn run(args: FilterArgs) -> anyhow::Result<ExitCode> {
    let mut program = match CompiledFilter::new(&args.expression) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("tripline: error: {msg}");
            return Ok(ExitCode::from(2));
        }
    };
    let inputs = match expand_inputs(&args.inputs) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("tripline: error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    let stdout = std::io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut printer = TcpdumpPrinter::new(args.absolute_tcp_sequence);
    let mut matched: u64 = 0;
    let mut failed = false;
    let mut closed = false;
    // Link types the expression does not compile for, reported once each.
    let mut reported: Vec<u32> = Vec::new();
    for input in &inputs {
        let mut visit = |f: &frames::Frame<'_>| -> bool {
            match program.matches(f.linktype, f.data) {
                Some(true) => {}
                Some(false) => return true,
                None => {
                    if !reported.contains(&f.linktype) && reported.len() < 64 {
                        reported.push(f.linktype);
                        let why = program
                            .prepare(f.linktype)
                            .err()
                            .unwrap_or_else(|| "not compiled".into());
                        eprintln!(
                            "tripline: {input}: frames of link type {}: {why}",
                            f.linktype
                        );
                    }
                    return true;
                }
            }
            matched += 1;
            if args.count {
                return true;
            }
            let line = printer.line(f.ts, f.linktype, f.data);
            match writeln!(out, "{line}") {
                Ok(()) => true,
                Err(e) => {
                    if e.kind() != ErrorKind::BrokenPipe {
                        eprintln!("tripline: error: writing the output: {e}");
                    }
                    closed = true;
                    false
                }
            }
        };
        match read_frames(input, &mut visit) {
            Ok(stats) => {
                for e in &stats.errors {
                    eprintln!("tripline: {e}");
                }
                failed |= !stats.errors.is_empty();
            }
            Err(e) => {
                eprintln!("tripline: {e}");
                failed = true;
            }
        }
        if closed {
            return Ok(ExitCode::SUCCESS);
        }
    }
    if args.count {
        let _ = writeln!(out, "{matched}");
    }
    if let Err(e) = out.flush() {
        if e.kind() != ErrorKind::BrokenPipe {
            eprintln!("tripline: error: writing the output: {e}");
        }
        return Ok(ExitCode::from(1));
    }
    if printer.evicted() > 0 {
        eprintln!(
            "tripline: {} TCP conversations were forgotten to bound memory; \
             their later packets show absolute sequence numbers",
            printer.evicted()
        );
    }
    if !args.count {
        eprintln!(
            "{matched} packet{} matched `{}`",
            if matched == 1 { "" } else { "s" },
            program.expression()
        );
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
