//! `tripline serve`: the report pages live from the store, with search,
//! triage (allow or deny a destination, exactly as `tripline allow` and
//! `tripline deny` edit the configuration file) and acknowledgements.
//! Also the `[web]` configuration section.

use crate::cli::ServeArgs;
use crate::commands::allow_deny::{Target, allow_rule, parse_target};
use crate::commands::config_edit::{Change, ConfigFile, describe_rule};
use crate::config::Config;
use anyhow::{Result, anyhow};
use serde::Deserialize;
use std::io::BufRead;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tripline_detect::DomainPattern;
use tripline_detect::allow_list::{DirectionMatch, ProtoMatch};
use tripline_web::serve::{Credentials, hash_password};
use tripline_web::{Triage, WebConfig};

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
    };
    let triage = Arc::new(ConfigTriage {
        config: explicit_cfg.map(Path::to_path_buf),
    });
    tripline_web::serve(path, web, triage, &|addr| {
        println!("listening on http://{addr}/");
    })?;
    Ok(ExitCode::SUCCESS)
}
