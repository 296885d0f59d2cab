//! Pages refreshed as data arrives: `/changes` answers the store's change
//! marker as a tiny JSON object, and `/live.js` is the script that polls it
//! (the only script the server ever sends; no page carries inline script).

use super::routes::{AppState, finish, plain};
use crate::pages::LIVE_JS;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use std::sync::Arc;

/// The marker as the text pages carry and `/changes` answers.
pub(super) fn marker_text((data_version, changes): (i64, u64)) -> String {
    format!("{data_version}-{changes}")
}

/// `GET /live.js`.
pub(super) async fn script() -> Response {
    finish(
        StatusCode::OK,
        "text/javascript; charset=utf-8",
        LIVE_JS.to_string(),
        None,
    )
}

/// `GET /changes`: `{"marker":"…"}`, for logged-in clients (or anyone on
/// loopback when no credentials are configured).
pub(super) async fn changes(State(st): State<Arc<AppState>>, h: HeaderMap) -> Response {
    if !st.host_ok(&h) {
        return plain(StatusCode::MISDIRECTED_REQUEST, "unexpected Host header");
    }
    if st.who(&h).is_none() && st.credentials_required() {
        return plain(StatusCode::FORBIDDEN, "not logged in");
    }
    let st2 = st.clone();
    let marker = tokio::task::spawn_blocking(move || {
        let store = st2
            .store
            .lock()
            .map_err(|_| "store lock poisoned".to_string())?;
        store
            .change_marker()
            .map(marker_text)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("change marker failed".into()));
    match marker {
        Ok(m) => finish(
            StatusCode::OK,
            "application/json",
            serde_json::json!({ "marker": m }).to_string(),
            None,
        ),
        Err(e) => {
            tracing::warn!("serve: {e}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store could not be read",
            )
        }
    }
}
