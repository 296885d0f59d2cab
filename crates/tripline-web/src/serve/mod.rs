//! `tripline serve`: the report pages rendered from the store on each
//! request, plus search, triage and acknowledgements.
//!
//! Safe by default: without a password or token it only listens on a
//! loopback address, and then only answers requests whose `Host` names a
//! loopback host (no DNS rebinding). Sessions are random cookies (HttpOnly,
//! SameSite=Strict, Secure off loopback); every POST carries the session's
//! CSRF token and, when the browser sends one, a same-origin `Origin`.
//! Logins are rate limited per client address. Every response carries the
//! no-script CSP.

mod auth;
mod routes;

pub use auth::{Credentials, LoginLimiter, Session, Sessions, hash_password};

use crate::WebError;
use std::net::SocketAddr;
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
/// address once the socket listens (port 0 picks a free one).
pub fn serve(
    db: PathBuf,
    cfg: WebConfig,
    triage: Arc<dyn Triage>,
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
        let app = routes::router(routes::AppState::new(store, cfg, bound, triage));
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
