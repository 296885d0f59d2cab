//! The `[notify]` configuration: noise control and one optional sub-table
//! per channel. Every key is optional; unknown keys are errors.

use super::NotifyError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `[notify]`: where notifications go and how much of them.
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Noise control, shared by every channel (each keeps its own state).
    pub noise: NoiseConfig,
    /// Notifications waiting per channel; when full, a notification is
    /// recorded as suppressed (`queue_full`) instead of slowing detection.
    /// Default 256.
    pub queue_size: Option<usize>,
    /// Entries per list in the source profile attached to a notification.
    /// Default 5.
    pub profile_limit: Option<usize>,
    /// `[notify.email]`: mail over SMTP.
    pub email: Option<EmailConfig>,
    /// `[notify.syslog]`: a syslog message.
    pub syslog: Option<SyslogConfig>,
    /// `[notify.webhook]`: a JSON POST.
    pub webhook: Option<WebhookConfig>,
    /// `[notify.exec]`: a command run per notification.
    pub exec: Option<ExecConfig>,
}

/// Notifications waiting per channel unless configured.
pub const DEFAULT_QUEUE_SIZE: usize = 256;
/// Entries per profile list unless configured.
pub const DEFAULT_PROFILE_LIMIT: usize = 5;

/// `[notify.noise]`: one notification per source per episode, updates only
/// when it gets worse, rate limits with a digest of the rest, quiet hours.
/// All times are alert times, so a replayed capture behaves like live.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseConfig {
    /// Noise control on. Default true; off sends every alert that passes
    /// the channel's minimum severity.
    pub enabled: bool,
    /// Seconds without an alert from a source that end its episode.
    /// Default 3600.
    pub episode_gap: u64,
    /// Most notifications per source in any hour (the rest are digested).
    /// Default 4.
    pub per_source_per_hour: u32,
    /// Most notifications per channel in any hour. Default 30.
    pub global_per_hour: u32,
    /// Seconds of alert time between digests. Default 3600.
    pub digest_interval: u64,
    /// `"HH:MM-HH:MM"`: alerts in this window (local time of `timezone`)
    /// go into the digest sent when it ends. Default none.
    pub quiet_hours: Option<String>,
    /// IANA time zone of `quiet_hours`. Default `UTC`.
    pub timezone: Option<String>,
    /// Most sources whose episode is remembered (least recently alerting
    /// evicted, counted). Default 10000.
    pub max_sources: usize,
    /// Most sources named in a digest (the rest are counted). Default 20.
    pub digest_sources: usize,
}

impl Default for NoiseConfig {
    fn default() -> Self {
        NoiseConfig {
            enabled: true,
            episode_gap: 3600,
            per_source_per_hour: 4,
            global_per_hour: 30,
            digest_interval: 3600,
            quiet_hours: None,
            timezone: None,
            max_sources: 10_000,
            digest_sources: 20,
        }
    }
}

/// A secret given inline, by environment variable or by file (first one set wins).
#[derive(Clone, Debug, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SecretConfig {
    /// The value itself (avoid: the configuration file is often readable).
    pub value: Option<String>,
    /// The environment variable holding it.
    pub env: Option<String>,
    /// A file holding it (trailing newline removed).
    pub file: Option<PathBuf>,
}

impl SecretConfig {
    /// The secret, when one is configured.
    pub fn resolve(&self, what: &str) -> Result<Option<String>, NotifyError> {
        if let Some(v) = &self.value {
            return Ok(Some(v.clone()));
        }
        if let Some(name) = &self.env {
            return std::env::var(name).map(Some).map_err(|_| {
                NotifyError::Config(format!("{what}: environment variable {name} is not set"))
            });
        }
        if let Some(path) = &self.file {
            let text = std::fs::read_to_string(path).map_err(|e| {
                NotifyError::Config(format!("{what}: cannot read {}: {e}", path.display()))
            })?;
            return Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()));
        }
        Ok(None)
    }
}

/// How the SMTP connection is protected.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain text (only for a relay on the same host or network).
    None,
    /// Plain connection upgraded with STARTTLS (required). Port 587.
    #[default]
    Starttls,
    /// TLS from the first byte ("SMTPS"). Port 465.
    Tls,
}

/// `[notify.email]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EmailConfig {
    /// Channel on. Default true when the table is present.
    pub enabled: bool,
    /// SMTP server host name.
    pub server: String,
    /// Port. Default 25 (none), 587 (starttls), 465 (tls).
    pub port: Option<u16>,
    /// `none`, `starttls` or `tls`. Default `starttls`.
    pub security: SmtpSecurity,
    /// A PEM file of extra trusted certificates (a private CA or a
    /// self-signed server). Default: the public web roots only.
    pub ca_file: Option<PathBuf>,
    /// SMTP AUTH user name. Default none (no AUTH).
    pub username: Option<String>,
    /// SMTP AUTH password.
    pub password: SecretConfig,
    /// Sender address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Prefix of every subject. Default `[tripline]`.
    pub subject_prefix: String,
    /// Seconds before a stalled SMTP exchange is abandoned. Default 30.
    pub timeout: u64,
    /// Least severe alert mailed (1 high, 2 medium, 3 low). Default 2.
    pub min_severity: u8,
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            enabled: true,
            server: "localhost".into(),
            port: None,
            security: SmtpSecurity::default(),
            ca_file: None,
            username: None,
            password: SecretConfig::default(),
            from: "tripline@localhost".into(),
            to: Vec::new(),
            subject_prefix: "[tripline]".into(),
            timeout: 30,
            min_severity: 2,
        }
    }
}

/// Syslog message format.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFormat {
    /// RFC 5424 (structured data with the alert's key fields).
    #[default]
    Rfc5424,
    /// RFC 3164 (BSD syslog, what older collectors expect).
    Rfc3164,
}

/// How messages are delimited on a TCP stream (RFC 6587).
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum SyslogFraming {
    /// `LEN SP MSG` octet counting.
    #[default]
    Octet,
    /// One message per line.
    Lf,
}

/// `[notify.syslog]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SyslogConfig {
    /// Channel on. Default true when the table is present.
    pub enabled: bool,
    /// `unix:/dev/log`, `udp:HOST:PORT` or `tcp:HOST:PORT`. Default `unix:/dev/log`.
    pub target: String,
    /// `rfc5424` or `rfc3164`. Default `rfc5424`.
    pub format: SyslogFormat,
    /// TCP framing: `octet` or `lf`. Default `octet`.
    pub framing: SyslogFraming,
    /// Facility name (`auth`, `authpriv`, `daemon`, `local0`..`local7`...). Default `auth`.
    pub facility: String,
    /// APP-NAME / TAG. Default `tripline`.
    pub app_name: String,
    /// HOSTNAME field. Default the system host name.
    pub hostname: Option<String>,
    /// Seconds to connect or write (TCP). Default 5.
    pub timeout: u64,
    /// Least severe alert sent (1 high .. 3 low). Default 3.
    pub min_severity: u8,
}

impl Default for SyslogConfig {
    fn default() -> Self {
        SyslogConfig {
            enabled: true,
            target: "unix:/dev/log".into(),
            format: SyslogFormat::default(),
            framing: SyslogFraming::default(),
            facility: "auth".into(),
            app_name: "tripline".into(),
            hostname: None,
            timeout: 5,
            min_severity: 3,
        }
    }
}

/// `[notify.webhook]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct WebhookConfig {
    /// Channel on. Default true when the table is present.
    pub enabled: bool,
    /// The URL POSTed to (http or https).
    pub url: String,
    /// Extra request headers.
    pub headers: BTreeMap<String, String>,
    /// Bearer token for an `Authorization` header. Default none.
    pub token: SecretConfig,
    /// Attempts after the first failure. Default 3.
    pub retries: u32,
    /// Milliseconds before the first retry, doubled each time. Default 500.
    pub backoff_ms: u64,
    /// Seconds to connect. Default 5.
    pub connect_timeout: u64,
    /// Seconds for a whole attempt. Default 15.
    pub timeout: u64,
    /// Least severe alert sent (1 high .. 3 low). Default 3.
    pub min_severity: u8,
}

impl Default for WebhookConfig {
    fn default() -> Self {
        WebhookConfig {
            enabled: true,
            url: String::new(),
            headers: BTreeMap::new(),
            token: SecretConfig::default(),
            retries: 3,
            backoff_ms: 500,
            connect_timeout: 5,
            timeout: 15,
            min_severity: 3,
        }
    }
}

/// `[notify.exec]`.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ExecConfig {
    /// Channel on. Default true when the table is present.
    pub enabled: bool,
    /// Program and arguments, run without a shell.
    pub command: Vec<String>,
    /// Run `command` joined by spaces through `/bin/sh -c` instead. Default false.
    pub shell: bool,
    /// Seconds before the command is killed. Default 30.
    pub timeout: u64,
    /// Commands running at once. Default 2.
    pub concurrency: usize,
    /// Least severe alert run for (1 high .. 3 low). Default 3.
    pub min_severity: u8,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            enabled: true,
            command: Vec::new(),
            shell: false,
            timeout: 30,
            concurrency: 2,
            min_severity: 3,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Wrap {
        notify: NotifyConfig,
    }

    #[test]
    fn tables_parse_and_unknown_keys_fail() {
        let w: Wrap = toml::from_str(
            "[notify.noise]\nper_source_per_hour = 2\nquiet_hours = \"22:00-07:00\"\n\
             [notify.email]\nserver = \"mx\"\nsecurity = \"tls\"\nto = [\"a@b\"]\n\
             password = { env = \"X\" }\n[notify.syslog]\ntarget = \"udp:127.0.0.1:514\"\n",
        )
        .unwrap();
        assert_eq!(w.notify.noise.per_source_per_hour, 2);
        assert_eq!(w.notify.noise.global_per_hour, 30);
        let email = w.notify.email.unwrap();
        assert_eq!(email.security, SmtpSecurity::Tls);
        assert_eq!(email.password.env.as_deref(), Some("X"));
        assert!(w.notify.webhook.is_none());
        assert!(toml::from_str::<Wrap>("[notify.email]\nsever = \"mx\"\n").is_err());
        assert!(toml::from_str::<Wrap>("[notify]\nqueue = 3\n").is_err());
    }

    #[test]
    fn secrets_resolve_from_file_and_env() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cret\n").unwrap();
        let s = SecretConfig {
            file: Some(p),
            ..Default::default()
        };
        assert_eq!(s.resolve("pw").unwrap().as_deref(), Some("s3cret"));
        let missing = SecretConfig {
            env: Some("TRIPLINE_SURELY_UNSET_VARIABLE".into()),
            ..Default::default()
        };
        assert!(missing.resolve("pw").is_err());
        assert_eq!(SecretConfig::default().resolve("pw").unwrap(), None);
    }
}
