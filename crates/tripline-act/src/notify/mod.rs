//! Notification channels and noise control.
//!
//! Alerts reach people through channels — [`email`] (SMTP, STARTTLS or
//! implicit TLS, AUTH), [`syslog`] (RFC 5424 or RFC 3164 over `/dev/log`,
//! UDP or TCP), [`webhook`] (a JSON POST of the EVE alert and the source
//! profile, with retries) and [`exec`] (a user's command with the alert as
//! JSON on stdin and `TRIPLINE_*` variables) — each behind its own
//! [`NoiseControl`] and its own worker threads, so a slow channel never
//! slows detection: the [`Notifier`] only decides and queues.
//!
//! Every alert a channel sees becomes one row of the store's
//! `notifications` table — sent, failed, suppressed or digested, with the
//! reason — so nothing noise control holds back is invisible.

pub mod config;
pub mod digest;
pub mod dispatch;
pub mod email;
pub mod exec;
pub mod noise;
pub mod notice;
pub mod notifier;
pub mod profile_text;
pub mod syslog;
pub mod text;
pub mod webhook;

pub use config::{
    EmailConfig, ExecConfig, NoiseConfig, NotifyConfig, SecretConfig, SmtpSecurity, SyslogConfig,
    SyslogFormat, SyslogFraming, WebhookConfig,
};
pub use noise::{Decision, NoiseControl, NoiseStats, QuietHours};
pub use notice::{AlertNotice, DigestNotice, DigestSource, Notice, NoticeKind, alert_level};
pub use notifier::{ChannelSpec, Notifier, NotifyStats};

/// A notification could not be delivered (after the channel's own retries).
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{0}")]
pub struct DeliveryError(pub String);

impl DeliveryError {
    /// An error with a message.
    pub fn new(msg: impl Into<String>) -> Self {
        DeliveryError(msg.into())
    }
}

/// A channel could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// A configuration value is wrong or a secret is missing.
    #[error("[notify] {0}")]
    Config(String),
    /// The store used for source profiles could not be opened.
    #[error("[notify] opening the store for source profiles: {0}")]
    Store(#[from] tripline_store::StoreError),
}

/// One way of telling people: delivers a notice to its peer.
///
/// Called from the channel's worker threads, never from the detection path;
/// a delivery may block up to the channel's own timeouts.
pub trait Channel: Send + Sync {
    /// The channel's name in the `notifications` table (`email`, `syslog`...).
    fn name(&self) -> &'static str;
    /// Delivers one notice.
    fn deliver(&self, notice: &Notice) -> Result<(), DeliveryError>;
}
