//! The progress bar: bytes and records per second on a terminal, nothing otherwise.

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::time::Duration;

/// A byte-based progress bar over all inputs of a run.
pub struct Progress {
    bar: ProgressBar,
    base: u64,
}

impl Progress {
    /// A bar for `total` bytes; hidden when `quiet` or stderr is not a terminal.
    pub fn new(total: u64, quiet: bool) -> Progress {
        let bar = if quiet || !std::io::stderr().is_terminal() {
            ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::hidden())
        } else {
            let b =
                ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr_with_hz(8));
            b.set_style(
                ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {bytes_per_sec} {msg}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            b.enable_steady_tick(Duration::from_millis(200));
            b
        };
        Progress { bar, base: 0 }
    }

    /// Starts the next input, whose bytes count after those already done.
    pub fn start_input(&mut self, name: &str) {
        self.base = self.bar.position();
        self.bar.set_message(name.to_string());
    }

    /// Bytes done within the current input.
    pub fn set_input_bytes(&self, done: u64) {
        self.bar.set_position(self.base + done);
    }

    /// Shows the record rate next to the bar.
    pub fn set_records(&self, name: &str, records: u64) {
        let secs = self.bar.elapsed().as_secs_f64().max(1e-3);
        self.bar.set_message(format!(
            "{name} {records} records ({:.0}/s)",
            records as f64 / secs
        ));
    }

    /// Prints a line above the bar (or plainly when hidden).
    pub fn println(&self, line: &str) {
        if self.bar.is_hidden() {
            eprintln!("{line}");
        } else {
            self.bar.println(line);
        }
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
