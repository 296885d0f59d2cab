//! `tripline serve`: the report pages live from the store, with search,
//! triage (allow or deny a destination, exactly as `tripline allow` and
//! `tripline deny` edit the configuration file), acknowledgements and
//! blocking (exactly as `tripline block` / `unblock`, when enabled).
//! Also the `[web]` configuration section.

use crate::cli::ServeArgs;
use crate::commands::allow_deny::{Target, allow_rule, parse_target};
use crate::commands::block::{block_and_record, civil, unblock_and_record};
use crate::commands::config_edit::{Change, ConfigFile, describe_rule};
use crate::config::Config;
use anyhow::{Result, anyhow};
use serde::Deserialize;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tripline_act::respond::{BlockDuration, RespondError};
use tripline_detect::DomainPattern;
use tripline_detect::allow_list::{DirectionMatch, ProtoMatch};
use tripline_store::Store;
use tripline_web::serve::{Credentials, hash_password};
use tripline_web::{GraphLayout, Responder, ResponseError, Triage, WebConfig};

/// `[web]`: the report site and `tripline serve`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WebSection {
    /// Where `serve` listens. Default `127.0.0.1:8080`; any non-loopback
    /// address needs `password_hash` or `token`.
    pub listen: SocketAddr,
    /// argon2 hash of the login password (`tripline serve --hash-password`).
    pub password_hash: Option<String>,
    /// A shared secret (16+ characters) accepted as password or as
    /// `Authorization: Bearer`.
    pub token: Option<String>,
    /// Hours a login session lasts. Default 12.
    pub session_hours: u64,
    /// Sessions kept at most (oldest dropped). Default 1024.
    pub max_sessions: usize,
    /// Login attempts per client address per minute. Default 10.
    pub login_per_minute: u32,
    /// Source pages in a static report at most. Default 2000.
    pub max_source_pages: usize,
    /// Alert pages in a static report at most. Default 100000.
    pub max_alert_pages: usize,
    /// Block and Unblock buttons on the source pages of `serve`, going
    /// through the same safety rules, backend and store records as
    /// `tripline block` / `unblock`. Default: on when `[respond] enabled`.
    pub blocking: Option<bool>,
    /// Link graph layout: `auto` (Graphviz's `dot` when installed, else
    /// Rust), `rust` or `graphviz`. Default `auto`.
    pub graph_layout: GraphLayout,
}

impl Default for WebSection {
    fn default() -> Self {
        WebSection {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            password_hash: None,
            token: None,
            session_hours: 12,
            max_sessions: 1024,
            login_per_minute: 10,
            max_source_pages: 2_000,
            max_alert_pages: 100_000,
            blocking: None,
            graph_layout: GraphLayout::Auto,
        }
    }
}

/// Triage from the browser: the configuration file is opened afresh for
/// each decision, changed and saved like `tripline allow` / `deny` do.
struct ConfigTriage {
    config: Option<PathBuf>,
}

impl ConfigTriage {
    fn edit(&self, target: &str, allow: bool) -> Result<String> {
        let t = parse_target(target)?;
        let mut file = ConfigFile::open(self.config.as_deref())?;
        let (change, what) = if allow {
            let rule = allow_rule(
                &t,
                None,
                None,
                ProtoMatch::Any,
                DirectionMatch::Any,
                Some("allowed in the web UI".into()),
            );
            (
                file.add_allow(&rule)?,
                format!("allow {}", describe_rule(&rule)),
            )
        } else {
            match &t {
                Target::Pattern(DomainPattern::Any) => {
                    return Err(anyhow!("cannot deny \"*\" (every name)"));
                }
                Target::Pattern(p) => (file.add_blocked_name(p)?, format!("deny {t}")),
                Target::Prefix(c) => (file.add_blocked_address(*c)?, format!("deny {t}")),
            }
        };
        if change == Change::Duplicate {
            return Ok(format!("{what}: already in {}", file.path().display()));
        }
        file.save()?;
        tracing::info!("web triage: {what} written to {}", file.path().display());
        Ok(format!("{what}: written to {}", file.path().display()))
    }
}

impl Triage for ConfigTriage {
    fn allow(&self, target: &str) -> Result<String, String> {
        self.edit(target, true).map_err(|e| format!("{e:#}"))
    }
    fn deny(&self, target: &str) -> Result<String, String> {
        self.edit(target, false).map_err(|e| format!("{e:#}"))
    }
}

/// Blocking from the browser: the configuration is loaded afresh for each
/// request (so edits to home networks, `never_block` or the allow list
/// protect at once) and the block goes through [`block_and_record`], the
/// code of `tripline block`, into the store the server reads.
struct ConfigResponder {
    config: Option<PathBuf>,
    store: Mutex<Store>,
    durations: Vec<String>,
}

/// The durations offered: the configured manual duration first, then the
/// usual ones, `permanent` only when `respond.allow_permanent`.
fn offered_durations(cfg: &Config) -> Vec<String> {
    let mut out = vec![cfg.respond.manual_duration.to_string()];
    for d in ["10m", "1h", "6h", "1d", "1w"] {
        if !out.iter().any(|x| x == d) {
            out.push(d.to_string());
        }
    }
    if cfg.respond.allow_permanent && !out.iter().any(|x| x == "permanent") {
        out.push("permanent".into());
    }
    out
}

impl ConfigResponder {
    fn config(&self) -> Result<Config, ResponseError> {
        Config::load(self.config.as_deref())
            .map(|(c, _)| c)
            .map_err(|e| ResponseError::Failed(format!("{e:#}")))
    }

    fn store(&self) -> Result<std::sync::MutexGuard<'_, Store>, ResponseError> {
        self.store
            .lock()
            .map_err(|_| ResponseError::Failed("store lock poisoned".into()))
    }
}

/// A refusal by the safety rules as the analyst reads it; anything else
/// as a failure.
fn response_error(e: anyhow::Error) -> ResponseError {
    match e.downcast_ref::<RespondError>() {
        Some(RespondError::Refused { addr, reason }) => {
            let hint = if reason.overridable() {
                " Only `tripline block --force` on the command line can override this."
            } else {
                ""
            };
            ResponseError::Refused(format!("Refusing to block {addr}: {reason}.{hint}"))
        }
        _ => ResponseError::Failed(format!("{e:#}")),
    }
}

impl Responder for ConfigResponder {
    fn durations(&self) -> Vec<String> {
        self.durations.clone()
    }

    fn block(
        &self,
        addr: std::net::IpAddr,
        duration: &str,
        reason: &str,
    ) -> Result<String, ResponseError> {
        if !self.durations.iter().any(|d| d == duration) {
            return Err(ResponseError::Invalid(format!(
                "choose a duration from the list, not {duration:?}"
            )));
        }
        let d: BlockDuration = duration
            .parse()
            .map_err(|e| ResponseError::Invalid(format!("{e}")))?;
        let cfg = self.config()?;
        let store = self.store()?;
        let r = block_and_record(&cfg, &store, addr, d, false, reason).map_err(response_error)?;
        tracing::info!("web: blocked {} for {d} ({reason})", r.address);
        Ok(format!(
            "Blocked {} for {d} ({}){}.",
            r.address,
            r.backend,
            r.expires
                .map(|t| format!(", until {}", civil(t)))
                .unwrap_or_default()
        ))
    }

    fn unblock(&self, addr: std::net::IpAddr, reason: &str) -> Result<String, ResponseError> {
        let cfg = self.config()?;
        let store = self.store()?;
        match unblock_and_record(&cfg, &store, addr, reason).map_err(response_error)? {
            Some(r) => {
                tracing::info!("web: unblocked {} ({reason})", r.address);
                Ok(format!("Unblocked {} ({}).", r.address, r.backend))
            }
            None => Err(ResponseError::Invalid(format!(
                "{} is not blocked.",
                addr.to_canonical()
            ))),
        }
    }
}

/// Runs `tripline serve`.
pub fn run(explicit_cfg: Option<&Path>, args: ServeArgs) -> Result<ExitCode> {
    if args.hash_password {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']);
        if pw.is_empty() {
            return Err(anyhow!("give the password on standard input"));
        }
        println!("{}", hash_password(pw).map_err(|e| anyhow!(e))?);
        return Ok(ExitCode::SUCCESS);
    }
    let (cfg, _) = Config::load(explicit_cfg)?;
    let path = cfg.store_path(args.db.as_deref());
    if !path.is_file() {
        return Err(anyhow!(
            "no store at {} (run `tripline analyze` first, or give --db)",
            path.display()
        ));
    }
    let w = &cfg.web;
    let web = WebConfig {
        listen: args.listen.unwrap_or(w.listen),
        credentials: Credentials {
            password_hash: w.password_hash.clone(),
            token: w.token.clone(),
        },
        session_ttl: Duration::from_secs(w.session_hours.max(1) * 3600),
        max_sessions: w.max_sessions,
        login_per_minute: w.login_per_minute,
        graph_layout: w.graph_layout,
    };
    let triage = Arc::new(ConfigTriage {
        config: explicit_cfg.map(Path::to_path_buf),
    });
    let responder: Option<Arc<dyn Responder>> = if w.blocking.unwrap_or(cfg.respond.enabled) {
        Some(Arc::new(ConfigResponder {
            config: explicit_cfg.map(Path::to_path_buf),
            store: Mutex::new(Store::open(&path)?),
            durations: offered_durations(&cfg),
        }))
    } else {
        None
    };
    tripline_web::serve(path, web, triage, responder, &|addr| {
        println!("listening on http://{addr}/");
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_start_with_the_manual_one_and_permanent_needs_permission() {
        let mut cfg = Config::default();
        assert_eq!(
            offered_durations(&cfg),
            ["1h", "10m", "6h", "1d", "1w"].map(String::from)
        );
        cfg.respond.manual_duration = "2h".parse().unwrap();
        cfg.respond.allow_permanent = true;
        let d = offered_durations(&cfg);
        assert_eq!(d.first().map(String::as_str), Some("2h"));
        assert_eq!(d.last().map(String::as_str), Some("permanent"));
    }

    #[test]
    fn web_keys_parse() {
        let w: WebSection = toml::from_str("blocking = true\ngraph_layout = \"rust\"\n").unwrap();
        assert_eq!(w.blocking, Some(true));
        assert_eq!(w.graph_layout, GraphLayout::Rust);
        let w: WebSection = toml::from_str("").unwrap();
        assert_eq!((w.blocking, w.graph_layout), (None, GraphLayout::Auto));
        assert!(toml::from_str::<WebSection>("graph_layout = \"neato\"").is_err());
    }

    #[test]
    fn refusals_read_as_refusals() {
        let e = anyhow::Error::from(RespondError::Refused {
            addr: "10.0.0.1".parse().unwrap(),
            reason: tripline_act::respond::Refusal::Loopback,
        });
        assert!(matches!(response_error(e), ResponseError::Refused(t) if t.contains("10.0.0.1")));
        let e = anyhow::anyhow!("nft exploded");
        assert!(matches!(response_error(e), ResponseError::Failed(_)));
    }
}
