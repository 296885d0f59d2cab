//! Email over SMTP with lettre: plain, STARTTLS (required, not opportunistic)
//! or implicit TLS, with AUTH when a user name is configured. TLS is rustls
//! with the public web roots plus an optional PEM file of extra roots.

use super::notice::Notice;
use super::{Channel, DeliveryError, EmailConfig, NotifyError, SmtpSecurity};
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Mailboxes};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{Message, SmtpTransport, Transport};
use std::time::Duration;

/// Sends notices as mail.
pub struct EmailChannel {
    transport: SmtpTransport,
    from: Mailbox,
    to: Mailboxes,
    subject_prefix: String,
}

impl EmailChannel {
    /// A channel as configured; reads the password secret and the CA file now.
    pub fn new(cfg: &EmailConfig) -> Result<EmailChannel, NotifyError> {
        let err = |what: &str, e: &dyn std::fmt::Display| {
            NotifyError::Config(format!("email: {what}: {e}"))
        };
        let from: Mailbox = cfg.from.parse().map_err(|e| err("from", &e))?;
        if cfg.to.is_empty() {
            return Err(NotifyError::Config("email: `to` names no recipient".into()));
        }
        let mut to = Mailboxes::new();
        for r in &cfg.to {
            to.push(r.parse::<Mailbox>().map_err(|e| err("to", &e))?);
        }
        let tls = || -> Result<TlsParameters, NotifyError> {
            let mut b = TlsParameters::builder(cfg.server.clone());
            if let Some(path) = &cfg.ca_file {
                let pem = std::fs::read(path)
                    .map_err(|e| err(&format!("ca_file {}", path.display()), &e))?;
                let cert = Certificate::from_pem(&pem).map_err(|e| err("ca_file", &e))?;
                b = b.add_root_certificate(cert);
            }
            b.build_rustls().map_err(|e| err("TLS", &e))
        };
        let (tls, default_port) = match cfg.security {
            SmtpSecurity::None => (Tls::None, 25),
            SmtpSecurity::Starttls => (Tls::Required(tls()?), 587),
            SmtpSecurity::Tls => (Tls::Wrapper(tls()?), 465),
        };
        let mut builder = SmtpTransport::builder_dangerous(cfg.server.as_str())
            .port(cfg.port.unwrap_or(default_port))
            .tls(tls)
            .timeout(Some(Duration::from_secs(cfg.timeout.max(1))));
        if let Some(user) = &cfg.username {
            let password = cfg.password.resolve("email password")?.ok_or_else(|| {
                NotifyError::Config("email: username given but no password".into())
            })?;
            builder = builder.credentials(Credentials::new(user.clone(), password));
        }
        Ok(EmailChannel {
            transport: builder.build(),
            from,
            to,
            subject_prefix: cfg.subject_prefix.clone(),
        })
    }

    /// The message for `n`.
    pub fn message(&self, n: &Notice) -> Result<Message, DeliveryError> {
        Message::builder()
            .from(self.from.clone())
            .mailbox(lettre::message::header::To::from(self.to.clone()))
            .subject(n.subject(&self.subject_prefix))
            .header(ContentType::TEXT_PLAIN)
            .body(n.body())
            .map_err(|e| DeliveryError(format!("building the message: {e}")))
    }
}

impl Channel for EmailChannel {
    fn name(&self) -> &'static str {
        "email"
    }

    fn deliver(&self, n: &Notice) -> Result<(), DeliveryError> {
        let msg = self.message(n)?;
        self.transport
            .send(&msg)
            .map(|_| ())
            .map_err(|e| DeliveryError(format!("SMTP: {e}")))
    }
}
