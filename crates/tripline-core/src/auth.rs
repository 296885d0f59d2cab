//! Login attempts from authentication logs.

use crate::Timestamp;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// What an auth log line reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthEvent {
    /// `Failed password|publickey|... for [invalid user] USER from ADDR`.
    Failed,
    /// `Accepted password|publickey|... for USER from ADDR`.
    Accepted,
    /// `Invalid user USER from ADDR`.
    InvalidUser,
    /// `Disconnecting ...: Too many authentication failures`, or
    /// `maximum authentication attempts exceeded`.
    TooManyFailures,
    /// `Connection closed|reset by [invalid user] USER ADDR port P [preauth]`.
    ClosedPreauth,
}

/// One login-related event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthLog {
    /// When it was logged.
    pub ts: Timestamp,
    /// Host name from the syslog envelope.
    pub host: String,
    /// The service (`sshd`).
    pub service: String,
    /// Process id, when logged.
    pub pid: Option<u32>,
    /// The event.
    pub event: AuthEvent,
    /// Authentication method (`password`, `publickey`, `keyboard-interactive/pam`).
    pub method: Option<String>,
    /// The user name tried (hostile input).
    pub user: Option<String>,
    /// True when sshd said the user does not exist.
    pub invalid_user: bool,
    /// The remote address.
    pub src: Option<IpAddr>,
    /// The remote port.
    pub port: Option<u16>,
}
