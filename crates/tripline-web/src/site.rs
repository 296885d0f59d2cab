//! `tripline report --out DIR`: the static site, written from the store
//! with the same templates the live UI uses, readable from `file://`.
//!
//! Layout: `index.html`, `style.css`, `day/`, `hour/` (long hours split
//! into pages of [`ALERTS_PER_PAGE`] alerts), `source/`, `alert/`.

use crate::WebError;
use crate::pages::{
    ALERTS_PER_PAGE, Ctx, Mode, STYLE_CSS, alert_page, day_page, hour_page, index_page, source_page,
};
use crate::paths::{self, day_floor};
use maud::Markup;
use std::fs::OpenOptions;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use tripline_store::{Store, TimeRange};

/// Limits of one report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReportOptions {
    /// Source pages at most (alert sources first, then the busiest
    /// originators); the rest are counted in [`ReportStats::sources_left_out`].
    pub max_sources: usize,
    /// Alert pages at most (oldest first); the rest are counted.
    pub max_alerts: usize,
    /// How link graphs are laid out.
    pub graph_layout: crate::GraphLayout,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            max_sources: 2_000,
            max_alerts: 100_000,
            graph_layout: crate::GraphLayout::Auto,
        }
    }
}

/// What a report run wrote.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReportStats {
    /// Files written.
    pub pages: u64,
    /// Bytes written.
    pub bytes: u64,
    /// The largest page, in bytes.
    pub largest_page: u64,
    /// Day pages.
    pub days: u64,
    /// Hour pages (continuation pages included).
    pub hour_pages: u64,
    /// Source pages.
    pub sources: u64,
    /// Sources without a page because of [`ReportOptions::max_sources`].
    pub sources_left_out: u64,
    /// Alert pages.
    pub alerts: u64,
    /// Alerts without a page because of [`ReportOptions::max_alerts`].
    pub alerts_left_out: u64,
    /// Pages (counted in `pages`) already on disk with the same bytes from
    /// an earlier run, and so left untouched.
    pub unchanged: u64,
}

struct Writer<'o> {
    out: &'o Path,
    stats: ReportStats,
    /// Folders already created (the site has a handful).
    dirs: Vec<PathBuf>,
    /// The previous contents of the page being written, reused.
    old: Vec<u8>,
}

/// Writes `bytes` to `path` unless it already holds exactly them; true
/// when it wrote. A changed page is rewritten in place and then cut to
/// length, never truncated to zero first: ext4 flushes a file that was
/// truncated to zero and rewritten when it is closed (`auto_da_alloc`),
/// which made regenerating a site over an earlier one cost ~3 ms a page.
fn write_if_changed(path: &Path, bytes: &[u8], old: &mut Vec<u8>) -> std::io::Result<bool> {
    let mut f = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(path)?;
    let len = f.metadata()?.len();
    if len == bytes.len() as u64 {
        old.clear();
        f.read_to_end(old)?;
        if old.as_slice() == bytes {
            return Ok(false);
        }
        f.seek(SeekFrom::Start(0))?;
    }
    f.write_all(bytes)?;
    if len > bytes.len() as u64 {
        f.set_len(bytes.len() as u64)?;
    }
    Ok(true)
}

impl Writer<'_> {
    fn write(&mut self, rel: &str, text: &str) -> Result<(), WebError> {
        let path: PathBuf = self.out.join(rel);
        let err = |source| WebError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent()
            && !self.dirs.iter().any(|d| d == dir)
        {
            std::fs::create_dir_all(dir).map_err(err)?;
            self.dirs.push(dir.to_path_buf());
        }
        if !write_if_changed(&path, text.as_bytes(), &mut self.old).map_err(err)? {
            self.stats.unchanged += 1;
        }
        let n = text.len() as u64;
        self.stats.pages += 1;
        self.stats.bytes += n;
        self.stats.largest_page = self.stats.largest_page.max(n);
        Ok(())
    }

    fn page(&mut self, rel: &str, m: Markup) -> Result<(), WebError> {
        self.write(rel, &m.into_string())
    }
}

/// Writes the whole site for `store` into `out` (created if needed).
pub fn write_report(
    store: &Store,
    out: &Path,
    opts: &ReportOptions,
) -> Result<ReportStats, WebError> {
    let mut w = Writer {
        out,
        stats: ReportStats::default(),
        dirs: Vec::new(),
        old: Vec::new(),
    };
    w.write("style.css", STYLE_CSS)?;
    let hours = store.hour_counts(TimeRange::ALL)?;
    w.page(
        "index.html",
        index_page(
            &Ctx::top(Mode::Static, "index.html").with_graph(opts.graph_layout),
            &hours,
        ),
    )?;
    let mut last_day = None;
    for h in &hours {
        let day = day_floor(h.hour_start);
        if last_day != Some(day) {
            last_day = Some(day);
            let rel = paths::day_file(day);
            w.page(
                &rel,
                day_page(
                    &Ctx::nested(Mode::Static, &rel).with_graph(opts.graph_layout),
                    store,
                    day,
                )?,
            )?;
            w.stats.days += 1;
        }
        for page in 1.. {
            let rel = paths::hour_file(h.hour_start, page);
            match hour_page(
                &Ctx::nested(Mode::Static, &rel).with_graph(opts.graph_layout),
                store,
                h.hour_start,
                page,
            )? {
                Some(m) => {
                    w.page(&rel, m)?;
                    w.stats.hour_pages += 1;
                }
                None => break,
            }
            if (page as u64) * (ALERTS_PER_PAGE as u64) >= h.alerts() {
                break;
            }
        }
    }
    let sources = store.report_sources(opts.max_sources.saturating_add(1))?;
    for (i, s) in sources.iter().enumerate() {
        if i >= opts.max_sources {
            w.stats.sources_left_out += 1;
            continue;
        }
        let Ok(addr) = s.parse() else { continue };
        let rel = paths::source_file(s);
        if let Some(m) = source_page(
            &Ctx::nested(Mode::Static, &rel).with_graph(opts.graph_layout),
            store,
            addr,
        )? {
            w.page(&rel, m)?;
            w.stats.sources += 1;
        }
    }
    let total_alerts: u64 = hours.iter().map(|h| h.alerts()).sum();
    for id in store.alert_ids(TimeRange::ALL, opts.max_alerts)? {
        let rel = paths::alert_file(id);
        if let Some(m) = alert_page(
            &Ctx::nested(Mode::Static, &rel).with_graph(opts.graph_layout),
            store,
            id,
        )? {
            w.page(&rel, m)?;
            w.stats.alerts += 1;
        }
    }
    w.stats.alerts_left_out = total_alerts.saturating_sub(w.stats.alerts);
    Ok(w.stats)
}

#[cfg(test)]
mod tests {
    use super::write_if_changed;

    #[test]
    fn pages_are_rewritten_only_when_they_change() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("page.html");
        let mut old = Vec::new();
        assert!(write_if_changed(&p, b"<p>first version</p>", &mut old).unwrap());
        assert!(!write_if_changed(&p, b"<p>first version</p>", &mut old).unwrap());
        // Same length, other bytes.
        assert!(write_if_changed(&p, b"<p>FIRST VERSION</p>", &mut old).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"<p>FIRST VERSION</p>");
        // Shorter: the old tail is cut off.
        assert!(write_if_changed(&p, b"<p>2</p>", &mut old).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"<p>2</p>");
        // Longer.
        assert!(write_if_changed(&p, b"<p>third, longer version</p>", &mut old).unwrap());
        assert_eq!(std::fs::read(&p).unwrap(), b"<p>third, longer version</p>");
        assert!(!write_if_changed(&p, b"<p>third, longer version</p>", &mut old).unwrap());
    }

    #[test]
    fn an_unwritable_page_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut old = Vec::new();
        // A folder where the page should be.
        assert!(write_if_changed(dir.path(), b"x", &mut old).is_err());
    }
}
