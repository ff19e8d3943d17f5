//! The operator's sending settings (`[notify]` in the settings file,
//! `TABYS_SMTP_*` and `TABYS_SMSC_*` in the environment).

use serde::Deserialize;

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain connection upgraded with STARTTLS (port 587); refused if the server cannot.
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a local server (the demo's and the tests' sink).
    Plain,
}

impl Security {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "starttls" => Some(Self::Starttls),
            "tls" => Some(Self::Tls),
            "plain" => Some(Self::Plain),
            _ => None,
        }
    }
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// Empty: e-mail is not configured, deliveries wait and are retried.
    pub host: String,
    pub port: u16,
    pub security: Security,
    pub username: String,
    pub password: String,
    /// The address every e-mail is sent from; organizers set the name and reply-to.
    pub from: String,
    /// The sender name when the organizer set none.
    pub from_name: String,
    /// The name this server gives in EHLO.
    pub hello_name: String,
    /// How long one SMTP conversation may take.
    pub timeout_ms: u64,
}

impl Default for SmtpConfig {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: Security::Starttls,
            username: String::new(),
            password: String::new(),
            from: "no-reply@tabys.localhost".into(),
            from_name: "Tabys".into(),
            hello_name: "tabys.localhost".into(),
            timeout_ms: 30_000,
        }
    }
}

impl std::fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpConfig")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("from", &self.from)
            .finish()
    }
}

/// The operator's SMSC account, used by organizers that chose it.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmscConfig {
    /// SMSC's address, `https://smsc.kz`; the fake's in tests and the demo.
    pub url: String,
    pub login: String,
    pub password: String,
    /// The sender name registered with SMSC; empty uses the account's default.
    pub sender: String,
    pub timeout_ms: u64,
}

impl Default for SmscConfig {
    fn default() -> Self {
        Self {
            url: "https://smsc.kz".into(),
            login: String::new(),
            password: String::new(),
            sender: String::new(),
            timeout_ms: 15_000,
        }
    }
}

impl std::fmt::Debug for SmscConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmscConfig")
            .field("url", &self.url)
            .field("login", &self.login)
            .finish()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    pub smtp: SmtpConfig,
    pub smsc: SmscConfig,
    /// The site's address for links in messages (unsubscribe, cabinet).
    pub public_url: String,
}
