//! Block and unblock a source from its page: `POST /respond/block` and
//! `/respond/unblock`, checked like every POST (host, origin, session, CSRF
//! token), carried out by the caller's [`Responder`](super::Responder).
//! Refusals by the safety rules come back as a message page the analyst
//! can read, never as a server error.

use super::ResponseError;
use super::routes::{AppState, Who, html, plain, safe_back};
use crate::pages::{Ctx, Mode, message_page};
use axum::extract::{ConnectInfo, Form, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde::Deserialize;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

/// A block form's fields.
#[derive(Deserialize)]
pub(super) struct BlockForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    addr: String,
    #[serde(default)]
    duration: String,
}

/// `POST /respond/block`.
pub(super) async fn block(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Form(f): Form<BlockForm>,
) -> Response {
    act(st, peer, h, f, true).await
}

/// `POST /respond/unblock`.
pub(super) async fn unblock(
    State(st): State<Arc<AppState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Form(f): Form<BlockForm>,
) -> Response {
    act(st, peer, h, f, false).await
}

/// What the store's `reason` column says about a browser request.
fn reason(who: Option<Who>, peer: SocketAddr) -> String {
    let how = match who {
        Some(Who::Bearer) => "token",
        _ => "session",
    };
    format!("web UI ({how} from {})", peer.ip().to_canonical())
}

async fn act(
    st: Arc<AppState>,
    peer: SocketAddr,
    h: HeaderMap,
    f: BlockForm,
    block: bool,
) -> Response {
    if let Err(r) = st.post_ok(&h, &f.csrf) {
        return r.reply();
    }
    let Some(responder) = st.responder.clone() else {
        return plain(
            StatusCode::NOT_FOUND,
            "blocking from the browser is off ([respond] enabled or [web] blocking)",
        );
    };
    let Ok(addr) = f.addr.trim().parse::<IpAddr>() else {
        return plain(StatusCode::BAD_REQUEST, "addr must be an IP address");
    };
    let why = reason(st.who(&h), peer);
    let duration = f.duration.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        if block {
            responder.block(addr, &duration, &why)
        } else {
            responder.unblock(addr, &why)
        }
    })
    .await
    .unwrap_or_else(|_| Err(ResponseError::Failed("the firewall call failed".into())));
    let (status, ok, text) = match outcome {
        Ok(t) => (StatusCode::OK, true, t),
        Err(e @ ResponseError::Refused(_)) => (StatusCode::CONFLICT, false, e.to_string()),
        Err(e @ ResponseError::Invalid(_)) => (StatusCode::BAD_REQUEST, false, e.to_string()),
        Err(e @ ResponseError::Failed(_)) => (StatusCode::BAD_GATEWAY, false, e.to_string()),
    };
    let title = if block { "Block" } else { "Unblock" };
    let ctx = Ctx::nested(Mode::Static, "respond");
    html(
        status,
        message_page(&ctx, title, &text, ok, safe_back(&f.back)).into_string(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reason_names_the_web_ui_and_the_client() {
        let peer: SocketAddr = "[::ffff:10.1.2.3]:5555".parse().unwrap();
        assert_eq!(reason(None, peer), "web UI (session from 10.1.2.3)");
        assert_eq!(
            reason(Some(Who::Bearer), peer),
            "web UI (token from 10.1.2.3)"
        );
    }
}
