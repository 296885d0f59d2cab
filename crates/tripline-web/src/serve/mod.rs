//! `tripline serve`: the report pages rendered from the store on each
//! request, plus search, triage and acknowledgements.
//!
//! Safe by default: without a password or token it only listens on a
//! loopback address, and then only answers requests whose `Host` names a
//! loopback host (no DNS rebinding). Sessions are random cookies (HttpOnly,
//! SameSite=Strict, Secure off loopback); every POST carries the session's
//! CSRF token and, when the browser sends one, a same-origin `Origin`.
//! Logins are rate limited per client address. Every response carries the
//! no-script CSP, except live pages, which may load the server's own
//! refresh script (`/live.js`) and nothing else.
//!
//! Live pages (index, day, hour, source) reload themselves when the store
//! changes: the script polls `/changes`, a cheap marker (SQLite's
//! `data_version` and this connection's change count), every few seconds
//! while the tab is visible.
//!
//! Blocking from the browser goes through the caller's [`Responder`]
//! (the binary: the same code as `tripline block` / `unblock`); without
//! one, source pages show the block state but no buttons.

mod auth;
mod live;
mod respond;
mod routes;

pub use auth::{Credentials, LoginLimiter, Session, Sessions, hash_password};

use crate::WebError;
use crate::graph::GraphLayout;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Triage decisions, carried out by the caller (the binary edits its
/// config file exactly as `tripline allow` / `deny` do).
pub trait Triage: Send + Sync + 'static {
    /// Allows a destination (name, `*.domain`, address or prefix); returns
    /// what happened, or why not.
    fn allow(&self, target: &str) -> Result<String, String>;
    /// Denies a destination (adds it to the block list).
    fn deny(&self, target: &str) -> Result<String, String>;
}

/// Why a block or unblock asked for in the browser did not happen; shown
/// to the analyst as a message page, never as a server error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResponseError {
    /// The safety rules refused (a home, gateway, DNS or allow-listed
    /// address, loopback…): the text says why.
    Refused(String),
    /// The request made no sense (an unknown duration).
    Invalid(String),
    /// The firewall or the store failed.
    Failed(String),
}

impl std::fmt::Display for ResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ResponseError::Refused(t) | ResponseError::Invalid(t) | ResponseError::Failed(t) => {
                f.write_str(t)
            }
        }
    }
}

/// Blocking and unblocking a source, carried out by the caller exactly as
/// `tripline block` / `unblock` do (safety rules, firewall backend, the
/// record in the store's `blocks` table).
pub trait Responder: Send + Sync + 'static {
    /// The block durations offered on source pages (`10m`, `1h`,
    /// `permanent`…), the default first.
    fn durations(&self) -> Vec<String>;
    /// Blocks `addr` for `duration` (one of [`Self::durations`]); `reason`
    /// says who asked from where. Returns what was done.
    fn block(&self, addr: IpAddr, duration: &str, reason: &str) -> Result<String, ResponseError>;
    /// Unblocks `addr`. Returns what was done.
    fn unblock(&self, addr: IpAddr, reason: &str) -> Result<String, ResponseError>;
}

/// The `[web]` settings `serve` needs.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Password hash and/or token; required off loopback.
    pub credentials: Credentials,
    /// How long a session lasts.
    pub session_ttl: Duration,
    /// Sessions kept at most.
    pub max_sessions: usize,
    /// Login attempts per client address per minute.
    pub login_per_minute: u32,
    /// Who lays out link graphs.
    pub graph_layout: GraphLayout,
}

impl WebConfig {
    /// Loopback on `listen`, no password, the default limits.
    pub fn local(listen: SocketAddr) -> Self {
        WebConfig {
            listen,
            credentials: Credentials::default(),
            session_ttl: Duration::from_secs(12 * 3600),
            max_sessions: 1024,
            login_per_minute: 10,
            graph_layout: GraphLayout::Auto,
        }
    }

    /// Refuses an exposed listener without credentials, and bad credentials.
    pub fn check(&self) -> Result<(), WebError> {
        self.credentials.validate().map_err(WebError::Serve)?;
        if !self.listen.ip().is_loopback() && !self.credentials.required() {
            return Err(WebError::Serve(format!(
                "refusing to listen on {} without web.password_hash or web.token \
                 (only loopback addresses may go without)",
                self.listen
            )));
        }
        Ok(())
    }
}

/// Serves until Ctrl-C (or SIGTERM). `ready` is called with the bound
/// address once the socket listens (port 0 picks a free one). With a
/// `responder`, source pages offer Block and Unblock.
pub fn serve(
    db: PathBuf,
    cfg: WebConfig,
    triage: Arc<dyn Triage>,
    responder: Option<Arc<dyn Responder>>,
    ready: &dyn Fn(SocketAddr),
) -> Result<(), WebError> {
    cfg.check()?;
    let store = tripline_store::Store::open(&db)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| WebError::Serve(format!("runtime: {e}")))?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(cfg.listen)
            .await
            .map_err(|e| WebError::Serve(format!("binding {}: {e}", cfg.listen)))?;
        let bound = listener
            .local_addr()
            .map_err(|e| WebError::Serve(format!("local address: {e}")))?;
        let app = routes::router(routes::AppState::new(store, cfg, bound, triage, responder));
        ready(bound);
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(shutdown())
        .await
        .map_err(|e| WebError::Serve(format!("server: {e}")))
    })
}

async fn shutdown() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(t) => t,
                Err(_) => {
                    let _ = ctrl_c.await;
                    return;
                }
            };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
