//! Webhook: a JSON POST of the notice ([`Notice::to_json`]: the EVE alert,
//! why it is notified, and the source profile), retried with exponential
//! backoff on connection errors and on 5xx / 408 / 429 answers, each attempt
//! bounded by connect and overall timeouts.

use super::notice::Notice;
use super::{Channel, DeliveryError, NotifyError, WebhookConfig};
use std::time::Duration;
use ureq::Agent;

/// Longest wait between two attempts.
pub const MAX_BACKOFF: Duration = Duration::from_secs(60);

/// Posts notices to a URL.
pub struct WebhookChannel {
    agent: Agent,
    url: String,
    headers: Vec<(String, String)>,
    retries: u32,
    backoff: Duration,
}

impl WebhookChannel {
    /// A channel as configured; reads the token secret now.
    pub fn new(cfg: &WebhookConfig) -> Result<WebhookChannel, NotifyError> {
        if !(cfg.url.starts_with("http://") || cfg.url.starts_with("https://")) {
            return Err(NotifyError::Config(format!(
                "webhook: url {:?} must start with http:// or https://",
                cfg.url
            )));
        }
        let mut headers: Vec<(String, String)> = cfg
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if let Some(token) = cfg.token.resolve("webhook token")? {
            headers.push(("Authorization".into(), format!("Bearer {token}")));
        }
        if headers
            .iter()
            .any(|(k, v)| k.contains(['\r', '\n', ':']) || v.contains(['\r', '\n']))
        {
            return Err(NotifyError::Config(
                "webhook: header names and values must be one line".into(),
            ));
        }
        let agent: Agent = Agent::config_builder()
            .timeout_connect(Some(Duration::from_secs(cfg.connect_timeout.max(1))))
            .timeout_global(Some(Duration::from_secs(cfg.timeout.max(1))))
            .http_status_as_error(false)
            .user_agent(concat!("tripline/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Ok(WebhookChannel {
            agent,
            url: cfg.url.clone(),
            headers,
            retries: cfg.retries.min(20),
            backoff: Duration::from_millis(cfg.backoff_ms),
        })
    }

    /// One POST.
    fn attempt(&self, body: &[u8]) -> Attempt {
        let mut req = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/json");
        for (k, v) in &self.headers {
            req = req.header(k.as_str(), v.as_str());
        }
        match req.send(body) {
            Ok(resp) => match resp.status().as_u16() {
                200..=299 => Attempt::Delivered,
                s @ (408 | 429 | 500..=599) => Attempt::Retry(format!("HTTP {s}")),
                s => Attempt::Fatal(format!("HTTP {s}")),
            },
            Err(e) => Attempt::Retry(e.to_string()),
        }
    }
}

/// How one POST went.
enum Attempt {
    Delivered,
    /// Worth trying again (connection trouble, timeouts, 5xx, 408, 429).
    Retry(String),
    /// The peer refused it for good (other 4xx, redirects).
    Fatal(String),
}

impl Channel for WebhookChannel {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn deliver(&self, n: &Notice) -> Result<(), DeliveryError> {
        let body = serde_json::to_vec(&n.to_json())
            .map_err(|e| DeliveryError(format!("encoding: {e}")))?;
        let mut wait = self.backoff;
        let mut attempts = 0;
        loop {
            attempts += 1;
            match self.attempt(&body) {
                Attempt::Delivered => return Ok(()),
                Attempt::Fatal(why) => return Err(DeliveryError(why)),
                Attempt::Retry(why) if attempts <= self.retries => {
                    tracing::debug!(
                        "webhook attempt {attempts} failed: {why}; retrying in {wait:?}"
                    );
                    std::thread::sleep(wait);
                    wait = (wait * 2).min(MAX_BACKOFF);
                }
                Attempt::Retry(why) => {
                    return Err(DeliveryError(format!("{why} (after {attempts} attempts)")));
                }
            }
        }
    }
}
