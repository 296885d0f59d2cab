//! Editing the configuration file in place for `allow`, `deny` and
//! `triage`: rules are appended to `[[connwatch.allow]]`, names to
//! `[connwatch] blocked` and addresses to `[connwatch] blocked_addresses`,
//! keeping the user's comments, order and formatting (`toml_edit`).
//!
//! The file edited is `--config FILE`, else the first configuration on the
//! search path, else `$XDG_CONFIG_HOME/tripline/tripline.toml` (created,
//! with its directory). Every save is checked by loading the new text as a
//! configuration first and written atomically (a temporary file renamed
//! over the old one), so a failed edit never leaves a broken file behind.
//! Decisions already present (the same rule, ignoring its note; the same
//! blocked name or address) are not added twice.

use crate::config::{Config, search_path};
use anyhow::{Context, Result, bail};
use std::io::Write;
use std::path::{Path, PathBuf};
use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table, Value};
use tripline_core::Cidr;
use tripline_detect::allow_list::{DirectionMatch, ProtoMatch};
use tripline_detect::{AllowRule, DomainPattern};

/// The configuration file being edited: its text as a document and as the
/// configuration it means.
pub struct ConfigFile {
    path: PathBuf,
    doc: DocumentMut,
    config: Config,
    existed: bool,
}

/// What one decision changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Written into the document.
    Added,
    /// Already there; nothing changed.
    Duplicate,
}

/// The file `allow`/`deny`/`triage` edit when no `--config` is given: the
/// first configuration found on the search path, else the per-user file.
pub fn default_edit_path() -> Result<PathBuf> {
    if let Some(p) = search_path().into_iter().find(|p| p.is_file()) {
        return Ok(p);
    }
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|s| !s.is_empty()) {
        return Ok(PathBuf::from(x).join("tripline/tripline.toml"));
    }
    match std::env::var_os("HOME").filter(|s| !s.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config/tripline/tripline.toml")),
        None => bail!(
            "no configuration file to edit: give --config FILE (neither XDG_CONFIG_HOME nor HOME is set)"
        ),
    }
}

/// A rule as compared for duplicates: the note does not count, and a port
/// of 0 means the same as no port.
fn rule_key(r: &AllowRule) -> AllowRule {
    AllowRule {
        note: None,
        our_port: r.our_port.filter(|p| *p != 0),
        their_port: r.their_port.filter(|p| *p != 0),
        ..r.clone()
    }
}

/// A prefix as written in the file: a bare address for a single host.
pub fn cidr_text(c: &Cidr) -> String {
    let host = if c.addr().is_ipv4() { 32 } else { 128 };
    if c.prefix_len() == host {
        c.addr().to_string()
    } else {
        c.to_string()
    }
}

impl ConfigFile {
    /// Opens `explicit`, or the default file ([`default_edit_path`]). A
    /// missing file is an empty configuration (created on save).
    pub fn open(explicit: Option<&Path>) -> Result<ConfigFile> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => default_edit_path()?,
        };
        let (text, existed) = match std::fs::read_to_string(&path) {
            Ok(t) => (t, true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
            Err(e) => {
                return Err(e)
                    .with_context(|| format!("cannot read configuration {}", path.display()));
            }
        };
        let origin = path.display().to_string();
        let config = Config::parse(&text, &origin)?;
        let doc: DocumentMut = text
            .parse()
            .with_context(|| format!("{origin}: invalid configuration"))?;
        Ok(ConfigFile {
            path,
            doc,
            config,
            existed,
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// True when the file existed when opened.
    pub fn existed(&self) -> bool {
        self.existed
    }

    /// The configuration as edited so far.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The `[connwatch]` table, created (implicit, so no empty header is
    /// written) when absent.
    fn connwatch(&mut self) -> Result<&mut Table> {
        let item = self
            .doc
            .as_table_mut()
            .entry("connwatch")
            .or_insert_with(|| {
                let mut t = Table::new();
                t.set_implicit(true);
                Item::Table(t)
            });
        item.as_table_mut().context(
            "cannot edit [connwatch]: it is written as an inline table; write it as a [connwatch] section",
        )
    }

    /// The array `connwatch.<key>`, created when absent.
    fn connwatch_array(&mut self, key: &str) -> Result<&mut Array> {
        let table = self.connwatch()?;
        let item = table
            .entry(key)
            .or_insert_with(|| Item::Value(Value::Array(Array::new())));
        item.as_array_mut()
            .with_context(|| format!("cannot edit connwatch.{key}: it is not an array"))
    }

    /// Appends an allow rule unless an equal one (ignoring the note) exists.
    pub fn add_allow(&mut self, rule: &AllowRule) -> Result<Change> {
        let key = rule_key(rule);
        if self
            .config
            .connwatch
            .allow
            .iter()
            .any(|r| rule_key(r) == key)
        {
            return Ok(Change::Duplicate);
        }
        let table = self.connwatch()?;
        let item = table
            .entry("allow")
            .or_insert_with(|| Item::ArrayOfTables(ArrayOfTables::new()));
        let list = item.as_array_of_tables_mut().context(
            "cannot edit connwatch.allow: it is written inline; write each rule as a [[connwatch.allow]] table",
        )?;
        list.push(rule_table(rule));
        self.config.connwatch.allow.push(rule.clone());
        Ok(Change::Added)
    }

    /// Adds a blocked name pattern unless present.
    pub fn add_blocked_name(&mut self, pattern: &DomainPattern) -> Result<Change> {
        if self.config.connwatch.blocked.contains(pattern) {
            return Ok(Change::Duplicate);
        }
        push_like_last(self.connwatch_array("blocked")?, pattern.to_string());
        self.config.connwatch.blocked.push(pattern.clone());
        Ok(Change::Added)
    }

    /// Adds a blocked address or prefix unless present.
    pub fn add_blocked_address(&mut self, prefix: Cidr) -> Result<Change> {
        if self.config.connwatch.blocked_addresses.contains(&prefix) {
            return Ok(Change::Duplicate);
        }
        push_like_last(
            self.connwatch_array("blocked_addresses")?,
            cidr_text(&prefix),
        );
        self.config.connwatch.blocked_addresses.push(prefix);
        Ok(Change::Added)
    }

    /// The new text, checked to load as a configuration.
    pub fn render(&self) -> Result<String> {
        let text = self.doc.to_string();
        Config::parse(&text, &format!("{} (edited)", self.path.display()))
            .context("the edit would make the configuration invalid; nothing written")?;
        Ok(text)
    }

    /// Writes the file atomically (creating its directory).
    pub fn save(&mut self) -> Result<()> {
        let text = self.render()?;
        write_atomically(&self.path, text.as_bytes())?;
        self.existed = true;
        Ok(())
    }
}

/// Pushes `text` onto `array`, formatted like its last element (so a
/// one-per-line array stays one per line).
fn push_like_last(array: &mut Array, text: String) {
    let decor = array.iter().last().map(|v| {
        let d = v.decor();
        (
            d.prefix()
                .and_then(|p| p.as_str())
                .unwrap_or(" ")
                .to_string(),
            d.suffix()
                .and_then(|s| s.as_str())
                .unwrap_or("")
                .to_string(),
        )
    });
    match decor {
        Some((prefix, suffix)) => array.push_formatted(Value::from(text).decorated(prefix, suffix)),
        None => array.push(text),
    }
}

/// One `[[connwatch.allow]]` table; fields at their default are left out.
fn rule_table(r: &AllowRule) -> Table {
    let mut t = Table::new();
    if let Some(c) = &r.ours {
        t.insert("ours", toml_edit::value(cidr_text(c)));
    }
    if let Some(p) = r.our_port.filter(|p| *p != 0) {
        t.insert("our_port", toml_edit::value(i64::from(p)));
    }
    if let Some(c) = &r.theirs {
        t.insert("theirs", toml_edit::value(cidr_text(c)));
    }
    if let Some(p) = r.their_port.filter(|p| *p != 0) {
        t.insert("their_port", toml_edit::value(i64::from(p)));
    }
    if r.domain != DomainPattern::Any {
        t.insert("domain", toml_edit::value(r.domain.to_string()));
    }
    if r.proto != ProtoMatch::Any {
        t.insert("proto", toml_edit::value(r.proto.as_str()));
    }
    if r.direction != DirectionMatch::Any {
        t.insert("direction", toml_edit::value(r.direction.as_str()));
    }
    if let Some(n) = &r.note {
        t.insert("note", toml_edit::value(n.as_str()));
    }
    t
}

/// Writes `bytes` to `path` through a temporary file in the same directory,
/// keeping the old file's permissions.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&dir)
        .with_context(|| format!("cannot write in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if let Ok(meta) = std::fs::metadata(path) {
        std::fs::set_permissions(tmp.path(), meta.permissions())
            .with_context(|| format!("cannot copy the permissions of {}", path.display()))?;
    }
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}

/// A rule in one line, for messages: `domain=*.example.com proto=tcp ...`.
pub fn describe_rule(r: &AllowRule) -> String {
    let mut parts = Vec::new();
    if let Some(c) = &r.ours {
        parts.push(format!("ours={}", cidr_text(c)));
    }
    if let Some(p) = r.our_port.filter(|p| *p != 0) {
        parts.push(format!("our_port={p}"));
    }
    if let Some(c) = &r.theirs {
        parts.push(format!("theirs={}", cidr_text(c)));
    }
    if let Some(p) = r.their_port.filter(|p| *p != 0) {
        parts.push(format!("their_port={p}"));
    }
    if r.domain != DomainPattern::Any {
        parts.push(format!("domain={}", r.domain));
    }
    if r.proto != ProtoMatch::Any {
        parts.push(format!("proto={}", r.proto.as_str()));
    }
    if r.direction != DirectionMatch::Any {
        parts.push(format!("direction={}", r.direction.as_str()));
    }
    if parts.is_empty() {
        "everything".to_string()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_text(text: &str) -> (tempfile::TempDir, ConfigFile) {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("t.toml");
        std::fs::write(&p, text).unwrap();
        let f = ConfigFile::open(Some(&p)).unwrap();
        (dir, f)
    }

    #[test]
    fn edits_keep_comments_and_skip_duplicates() {
        let (_d, mut f) = open_text(
            "# my home\nhome_net = [\"10.99.1.0/24\"] # the LAN\n\n[connwatch]\n# names I never want\nblocked = [\n    \"ads.example.net\",\n]\n\n[[connwatch.allow]]\n# the NAS backup\ndomain = \"backup.example.com\"\n\n[scan]\nenabled = true\n",
        );
        let rule = AllowRule {
            domain: "*.example.org".parse().unwrap(),
            their_port: Some(443),
            proto: ProtoMatch::Tcp,
            direction: DirectionMatch::Out,
            ..Default::default()
        };
        assert_eq!(f.add_allow(&rule).unwrap(), Change::Added);
        let with_note = AllowRule {
            note: Some("again".into()),
            ..rule.clone()
        };
        assert_eq!(f.add_allow(&with_note).unwrap(), Change::Duplicate);
        let name: DomainPattern = "tracker.example.org".parse().unwrap();
        assert_eq!(f.add_blocked_name(&name).unwrap(), Change::Added);
        assert_eq!(f.add_blocked_name(&name).unwrap(), Change::Duplicate);
        let a: Cidr = "10.99.2.66".parse().unwrap();
        assert_eq!(f.add_blocked_address(a).unwrap(), Change::Added);
        assert_eq!(f.add_blocked_address(a).unwrap(), Change::Duplicate);
        f.save().unwrap();
        let text = std::fs::read_to_string(f.path()).unwrap();
        for kept in [
            "# my home",
            "# the LAN",
            "# names I never want",
            "# the NAS backup",
        ] {
            assert!(text.contains(kept), "{text}");
        }
        assert!(
            text.contains("    \"ads.example.net\",\n    \"tracker.example.org\",\n]"),
            "{text}"
        );
        assert!(
            text.contains("blocked_addresses = [\"10.99.2.66\"]"),
            "{text}"
        );
        // The new rule follows the old one, before [scan].
        let new_rule = text.find("*.example.org").unwrap();
        assert!(text.find("backup.example.com").unwrap() < new_rule);
        assert!(new_rule < text.find("[scan]").unwrap(), "{text}");
        let c = Config::parse(&text, "t").unwrap();
        assert_eq!(c.connwatch.allow.len(), 2);
        assert_eq!(c.connwatch.allow[1], rule);
        assert_eq!(c.connwatch.blocked.len(), 2);
    }

    #[test]
    fn missing_file_is_created_and_inline_tables_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/dir/tripline.toml");
        let mut f = ConfigFile::open(Some(&p)).unwrap();
        assert!(!f.existed());
        f.add_allow(&AllowRule {
            theirs: Some("203.0.113.0/24".parse().unwrap()),
            ..Default::default()
        })
        .unwrap();
        f.save().unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert_eq!(text, "[[connwatch.allow]]\ntheirs = \"203.0.113.0/24\"\n");

        let (_d, mut g) = open_text("connwatch = { blocked = [] }\n");
        let e = g.add_allow(&AllowRule::default()).unwrap_err();
        assert!(format!("{e:#}").contains("inline"), "{e:#}");
    }
}
