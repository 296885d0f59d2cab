//! The live UI's routes: the report pages under the same paths as the
//! static site, search, login, and the state-changing POSTs (triage,
//! acknowledge, block — see [`super::respond`]), each checked for session,
//! CSRF token and origin; the change marker and refresh script live in
//! [`super::live`].

use super::auth::{COOKIE, Credentials, LoginLimiter, Session, Sessions, constant_time_eq};
use super::{Responder, Triage, WebConfig, live, respond};
use crate::WebError;
use crate::graph::GraphLayout;
use crate::pages::{
    CSP, CSP_LIVE, Ctx, Mode, STYLE_CSS, SearchForm, alert_page, day_page, hour_page, index_page,
    login_page, message_page, search_page, source_page,
};
use crate::paths;
use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Form, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use axum::routing::{get, post};
use serde::Deserialize;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tripline_core::Timestamp;
use tripline_store::{Store, TimeRange};

/// Everything the handlers share.
pub struct AppState {
    pub(super) store: Mutex<Store>,
    sessions: Mutex<Sessions>,
    limiter: Mutex<LoginLimiter>,
    creds: Credentials,
    /// `Secure` cookies (off loopback).
    secure: bool,
    /// The `Host` values accepted (loopback without credentials), or any.
    hosts: Option<Vec<String>>,
    triage: Arc<dyn Triage>,
    /// Blocking from the browser, when enabled.
    pub(super) responder: Option<Arc<dyn Responder>>,
    /// Its durations, the default first (empty without a responder).
    durations: Vec<String>,
    graph: GraphLayout,
}

impl AppState {
    /// The shared state for a server bound to `bound`.
    pub fn new(
        store: Store,
        cfg: WebConfig,
        bound: SocketAddr,
        triage: Arc<dyn Triage>,
        responder: Option<Arc<dyn Responder>>,
    ) -> Arc<Self> {
        let loopback = bound.ip().is_loopback();
        let hosts = (!cfg.credentials.required()).then(|| {
            let p = bound.port();
            let mut h = vec![
                format!("127.0.0.1:{p}"),
                format!("localhost:{p}"),
                format!("[::1]:{p}"),
                bound.to_string(),
            ];
            if p == 80 {
                h.extend(["127.0.0.1".into(), "localhost".into(), "[::1]".into()]);
            }
            h
        });
        Arc::new(AppState {
            store: Mutex::new(store),
            sessions: Mutex::new(Sessions::new(cfg.max_sessions, cfg.session_ttl)),
            limiter: Mutex::new(LoginLimiter::new(cfg.login_per_minute, 4096)),
            creds: cfg.credentials,
            secure: !loopback,
            hosts,
            triage,
            durations: responder
                .as_ref()
                .map(|r| r.durations())
                .unwrap_or_default(),
            responder,
            graph: cfg.graph_layout,
        })
    }
}

type St = State<Arc<AppState>>;

/// The routes.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(|| async { redirect("index.html", None) }))
        .route("/index.html", get(index))
        .route("/style.css", get(style))
        .route("/live.js", get(live::script))
        .route("/changes", get(live::changes))
        .route("/day/{name}", get(day))
        .route("/hour/{name}", get(hour))
        .route("/source/{name}", get(source))
        .route("/alert/{name}", get(alert))
        .route("/search", get(search))
        .route("/login", get(login_form).post(login))
        .route("/triage/allow", post(allow))
        .route("/triage/deny", post(deny))
        .route("/ack", post(ack))
        .route("/respond/block", post(respond::block))
        .route("/respond/unblock", post(respond::unblock))
        .with_state(state)
}

pub(super) fn finish(
    status: StatusCode,
    ctype: &'static str,
    body: String,
    cookie: Option<String>,
) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ctype));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        h.insert(header::SET_COOKIE, c);
    }
    r
}

pub(super) fn html(status: StatusCode, body: String, cookie: Option<String>) -> Response {
    finish(status, "text/html; charset=utf-8", body, cookie)
}

pub(super) fn plain(status: StatusCode, text: &str) -> Response {
    finish(status, "text/plain; charset=utf-8", text.to_string(), None)
}

fn redirect(to: &str, cookie: Option<String>) -> Response {
    let mut r = finish(
        StatusCode::SEE_OTHER,
        "text/plain; charset=utf-8",
        String::new(),
        cookie,
    );
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn cookie_value(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
}

/// Why a request is refused (turned into a response by [`Refusal::reply`]).
pub(super) enum Refusal {
    /// A plain-text error with this status.
    Plain(StatusCode, &'static str),
    /// Not logged in: to the login form.
    Login,
}

impl Refusal {
    pub(super) fn reply(self) -> Response {
        match self {
            Refusal::Plain(s, t) => plain(s, t),
            Refusal::Login => redirect("/login", None),
        }
    }
}

/// How a request is authenticated.
pub(super) enum Who {
    /// A cookie session (its CSRF token must accompany POSTs).
    Session(Session),
    /// `Authorization: Bearer <token>` (not sent by browsers on their own).
    Bearer,
}

impl AppState {
    /// True when a password or token is configured.
    pub(super) fn credentials_required(&self) -> bool {
        self.creds.required()
    }

    pub(super) fn host_ok(&self, headers: &HeaderMap) -> bool {
        let Some(list) = &self.hosts else { return true };
        headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .is_some_and(|h| list.iter().any(|x| x.eq_ignore_ascii_case(h)))
    }

    fn origin_ok(&self, headers: &HeaderMap) -> bool {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return true;
        };
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("");
        origin
            .split_once("://")
            .is_some_and(|(_, rest)| !host.is_empty() && rest.eq_ignore_ascii_case(host))
    }

    fn cookie(&self, id: &str) -> String {
        format!(
            "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict{}",
            if self.secure { "; Secure" } else { "" }
        )
    }

    pub(super) fn who(&self, headers: &HeaderMap) -> Option<Who> {
        if let Some(t) = &self.creds.token
            && let Some(given) = headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
            && constant_time_eq(t.as_bytes(), given.trim().as_bytes())
        {
            return Some(Who::Bearer);
        }
        let id = cookie_value(headers)?;
        let sessions = self.sessions.lock().ok()?;
        sessions.get(id, Instant::now()).cloned().map(Who::Session)
    }

    /// The session of a page request, starting an anonymous one when no
    /// credentials are configured; otherwise the response to send instead.
    fn page_session(&self, headers: &HeaderMap) -> Result<(String, Option<String>), Refusal> {
        if !self.host_ok(headers) {
            return Err(Refusal::Plain(
                StatusCode::MISDIRECTED_REQUEST,
                "unexpected Host header",
            ));
        }
        match self.who(headers) {
            Some(Who::Session(s)) => Ok((s.csrf, None)),
            Some(Who::Bearer) => Ok((String::new(), None)),
            None if self.creds.required() => Err(Refusal::Login),
            None => {
                let mut sessions = self.sessions.lock().map_err(|_| {
                    Refusal::Plain(StatusCode::INTERNAL_SERVER_ERROR, "session table poisoned")
                })?;
                let (id, s) = sessions.create(Instant::now()).map_err(|_| {
                    Refusal::Plain(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "no randomness for a session",
                    )
                })?;
                Ok((s.csrf, Some(self.cookie(&id))))
            }
        }
    }

    /// Checks a POST: host, origin, session and its CSRF token.
    pub(super) fn post_ok(&self, headers: &HeaderMap, csrf: &str) -> Result<(), Refusal> {
        if !self.host_ok(headers) {
            return Err(Refusal::Plain(
                StatusCode::MISDIRECTED_REQUEST,
                "unexpected Host header",
            ));
        }
        if !self.origin_ok(headers) {
            return Err(Refusal::Plain(
                StatusCode::FORBIDDEN,
                "cross-origin request refused",
            ));
        }
        match self.who(headers) {
            Some(Who::Bearer) => Ok(()),
            Some(Who::Session(s))
                if !csrf.is_empty() && constant_time_eq(s.csrf.as_bytes(), csrf.as_bytes()) =>
            {
                Ok(())
            }
            Some(Who::Session(_)) => Err(Refusal::Plain(
                StatusCode::FORBIDDEN,
                "missing or wrong CSRF token",
            )),
            None => Err(Refusal::Plain(StatusCode::FORBIDDEN, "not logged in")),
        }
    }
}

/// Which page a GET asks for.
enum Page {
    Index,
    Day(String),
    Hour(String),
    Source(String),
    Alert(String),
    Search(SearchForm),
}

fn render(st: &AppState, page: &Page, csrf: &str) -> Result<Option<(String, bool)>, WebError> {
    let store = st
        .store
        .lock()
        .map_err(|_| WebError::Serve("store lock poisoned".into()))?;
    // Pages that show the store's latest state refresh as data arrives.
    let marker = match page {
        Page::Index | Page::Day(_) | Page::Hour(_) | Page::Source(_) => {
            Some(live::marker_text(store.change_marker()?))
        }
        Page::Alert(_) | Page::Search(_) => None,
    };
    let mode = Mode::Live {
        csrf,
        durations: &st.durations,
        refresh: marker.as_deref(),
    };
    let nested = |name: &str, dir: &str| format!("{dir}/{name}");
    let top = |here| Ctx::top(mode, here).with_graph(st.graph);
    let down = |here| Ctx::nested(mode, here).with_graph(st.graph);
    let m = match page {
        Page::Index => Some(index_page(
            &top("index.html"),
            &store.hour_counts(TimeRange::ALL)?,
        )),
        Page::Day(n) => match paths::parse_day_name(n) {
            Some(d) => Some(day_page(&down(&nested(n, "day")), &store, d)?),
            None => None,
        },
        Page::Hour(n) => match paths::parse_hour_name(n) {
            Some((h, p)) => hour_page(&down(&nested(n, "hour")), &store, h, p)?,
            None => None,
        },
        Page::Source(n) => match paths::parse_source_name(n) {
            Some(a) => source_page(&down(&nested(n, "source")), &store, a)?,
            None => None,
        },
        Page::Alert(n) => match paths::parse_alert_name(n) {
            Some(id) => alert_page(&down(&nested(n, "alert")), &store, id)?,
            None => None,
        },
        Page::Search(f) => Some(search_page(&top("search"), &store, f)?),
    };
    Ok(m.map(|m| (m.into_string(), marker.is_some())))
}

async fn page(st: Arc<AppState>, headers: HeaderMap, page: Page) -> Response {
    let (csrf, cookie) = match st.page_session(&headers) {
        Ok(x) => x,
        Err(r) => return r.reply(),
    };
    let st2 = st.clone();
    match tokio::task::spawn_blocking(move || render(&st2, &page, &csrf)).await {
        Ok(Ok(Some((body, refreshing)))) => {
            let mut r = html(StatusCode::OK, body, cookie);
            if refreshing {
                r.headers_mut().insert(
                    header::CONTENT_SECURITY_POLICY,
                    HeaderValue::from_static(CSP_LIVE),
                );
            }
            r
        }
        Ok(Ok(None)) => plain(StatusCode::NOT_FOUND, "no such page"),
        Ok(Err(e)) => {
            tracing::warn!("serve: {e}");
            plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the store could not be read",
            )
        }
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR, "page rendering failed"),
    }
}

async fn index(State(st): St, h: HeaderMap) -> Response {
    page(st, h, Page::Index).await
}
async fn day(State(st): St, h: HeaderMap, Path(n): Path<String>) -> Response {
    page(st, h, Page::Day(n)).await
}
async fn hour(State(st): St, h: HeaderMap, Path(n): Path<String>) -> Response {
    page(st, h, Page::Hour(n)).await
}
async fn source(State(st): St, h: HeaderMap, Path(n): Path<String>) -> Response {
    page(st, h, Page::Source(n)).await
}
async fn alert(State(st): St, h: HeaderMap, Path(n): Path<String>) -> Response {
    page(st, h, Page::Alert(n)).await
}
async fn search(State(st): St, h: HeaderMap, Query(f): Query<SearchForm>) -> Response {
    page(st, h, Page::Search(f)).await
}

async fn style() -> Response {
    finish(
        StatusCode::OK,
        "text/css; charset=utf-8",
        STYLE_CSS.to_string(),
        None,
    )
}

async fn login_form(State(st): St, h: HeaderMap) -> Response {
    if !st.host_ok(&h) {
        return plain(StatusCode::MISDIRECTED_REQUEST, "unexpected Host header");
    }
    html(StatusCode::OK, login_page(None).into_string(), None)
}

/// The login form's fields.
#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    password: String,
}

async fn login(
    State(st): St,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    h: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Response {
    if !st.host_ok(&h) || !st.origin_ok(&h) {
        return plain(StatusCode::FORBIDDEN, "refused");
    }
    let allowed = st
        .limiter
        .lock()
        .map(|mut l| l.attempt(peer.ip(), Instant::now()))
        .unwrap_or(false);
    if !allowed {
        return html(
            StatusCode::TOO_MANY_REQUESTS,
            login_page(Some("Too many attempts; wait a minute.")).into_string(),
            None,
        );
    }
    if !st.creds.required() {
        return redirect("index.html", None);
    }
    let creds = st.creds.clone();
    let ok = tokio::task::spawn_blocking(move || creds.check(&f.password))
        .await
        .unwrap_or(false);
    if !ok {
        return html(
            StatusCode::UNAUTHORIZED,
            login_page(Some("Wrong password or token.")).into_string(),
            None,
        );
    }
    let created = st
        .sessions
        .lock()
        .map_err(|_| ())
        .and_then(|mut s| s.create(Instant::now()).map_err(|_| ()));
    match created {
        Ok((id, _)) => redirect("index.html", Some(st.cookie(&id))),
        Err(()) => plain(StatusCode::INTERNAL_SERVER_ERROR, "no session"),
    }
}

/// A triage form's fields.
#[derive(Deserialize)]
struct TriageForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    back: String,
    #[serde(default)]
    target: String,
    #[serde(default)]
    alert: String,
}

/// `back` if it is a plain relative page path of this site, else the index.
pub(super) fn safe_back(back: &str) -> &str {
    let ok = !back.is_empty()
        && back.len() <= 200
        && !back.starts_with('/')
        && !back.contains("..")
        && back
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._/-".contains(&b));
    if ok { back } else { "index.html" }
}

async fn decide(st: Arc<AppState>, h: HeaderMap, f: TriageForm, allow: bool) -> Response {
    if let Err(r) = st.post_ok(&h, &f.csrf) {
        return r.reply();
    }
    let st2 = st.clone();
    let target = f.target.clone();
    let outcome = tokio::task::spawn_blocking(move || {
        if allow {
            st2.triage.allow(&target)
        } else {
            st2.triage.deny(&target)
        }
    })
    .await
    .unwrap_or_else(|_| Err("triage failed".into()));
    let ctx = Ctx::nested(Mode::Static, "triage");
    let (status, ok, text) = match outcome {
        Ok(t) => (StatusCode::OK, true, t),
        Err(e) => (StatusCode::BAD_REQUEST, false, e),
    };
    let title = if allow { "Allow" } else { "Deny" };
    html(
        status,
        message_page(&ctx, title, &text, ok, safe_back(&f.back)).into_string(),
        None,
    )
}

async fn allow(State(st): St, h: HeaderMap, Form(f): Form<TriageForm>) -> Response {
    decide(st, h, f, true).await
}
async fn deny(State(st): St, h: HeaderMap, Form(f): Form<TriageForm>) -> Response {
    decide(st, h, f, false).await
}

async fn ack(State(st): St, h: HeaderMap, Form(f): Form<TriageForm>) -> Response {
    if let Err(r) = st.post_ok(&h, &f.csrf) {
        return r.reply();
    }
    let Ok(id) = f.alert.parse::<i64>() else {
        return plain(StatusCode::BAD_REQUEST, "alert must be an id");
    };
    let st2 = st.clone();
    let done = tokio::task::spawn_blocking(move || {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| Timestamp(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX)))
            .unwrap_or(Timestamp(0));
        let store = st2
            .store
            .lock()
            .map_err(|_| "store lock poisoned".to_string())?;
        store
            .acknowledge_alert(id, now, "web", "")
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap_or_else(|_| Err("acknowledge failed".into()));
    let ctx = Ctx::top(Mode::Static, "ack");
    let (status, ok, text) = match done {
        Ok(true) => (StatusCode::OK, true, format!("alert {id} acknowledged")),
        Ok(false) => (StatusCode::NOT_FOUND, false, format!("no alert {id}")),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, false, e),
    };
    html(
        status,
        message_page(&ctx, "Acknowledge", &text, ok, safe_back(&f.back)).into_string(),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_links_stay_on_the_site() {
        assert_eq!(
            safe_back("hour/2026-11-22T12.html"),
            "hour/2026-11-22T12.html"
        );
        for bad in [
            "",
            "/etc",
            "https://evil",
            "../x",
            "a b",
            "x\"y",
            "javascript:alert(1)",
        ] {
            assert_eq!(safe_back(bad), "index.html", "{bad}");
        }
    }

    #[test]
    fn session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=b; tripline_session=xyz; c=d"),
        );
        assert_eq!(cookie_value(&h), Some("xyz"));
    }
}
