//! E-mail over SMTP with lettre: STARTTLS, TLS from the first byte, or a
//! plain connection for a local server; authentication when a user name is
//! set. Each message carries the delivery's stable Message-ID, the
//! organizer's sender name and reply-to, a plain-text and an HTML part,
//! any attached files (then the message is `multipart/mixed` around the
//! two), and, for marketing, the one-click unsubscribe headers (RFC 8058).

use std::time::{Duration, SystemTime};

use lettre::message::header::ContentType;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Attachment, Mailbox, MultiPart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use tabys_core::Timestamp;

use crate::config::{Security, SmtpConfig};
use crate::render;

/// `List-Unsubscribe: <https://…>`.
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }

    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self(s.trim_matches(['<', '>']).to_string()))
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", self.0))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click`.
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }

    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(Self)
    }

    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// Everything one e-mail needs besides its text.
pub struct Envelope<'a> {
    pub to: &'a str,
    pub sender_name: &'a str,
    pub reply_to: Option<&'a str>,
    /// The delivery's stable id, the same on every attempt.
    pub message_id: &'a str,
    pub date: Timestamp,
    pub unsubscribe: Option<&'a str>,
}

/// A file carried by an e-mail, its bytes already read.
pub struct File {
    pub name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// Why a message was not sent.
#[derive(Debug)]
pub enum SendError {
    /// Our side: no SMTP server configured, a bad address. Not sent; retried
    /// until given up, since the operator may fix the settings meanwhile.
    Setup(String),
    /// The server refused, timed out or dropped the connection.
    Server(String),
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Setup(s) | Self::Server(s) => f.write_str(s),
        }
    }
}

/// The e-mail as lettre builds it.
pub fn build(
    cfg: &SmtpConfig,
    env: &Envelope<'_>,
    mail: &render::Email,
    files: Vec<File>,
) -> Result<Message, SendError> {
    let from_addr = cfg
        .from
        .parse()
        .map_err(|e| SendError::Setup(format!("sender address {}: {e}", cfg.from)))?;
    let name = if env.sender_name.is_empty() {
        cfg.from_name.as_str()
    } else {
        env.sender_name
    };
    let to = env
        .to
        .parse()
        .map_err(|e| SendError::Setup(format!("recipient address: {e}")))?;
    let domain = cfg.from.rsplit('@').next().unwrap_or("tabys.localhost");
    let mut b = Message::builder()
        .from(Mailbox::new(Some(name.to_string()), from_addr))
        .to(Mailbox::new(None, to))
        .subject(mail.subject.clone())
        .message_id(Some(format!("<{}@{domain}>", env.message_id)))
        .date(
            SystemTime::UNIX_EPOCH + Duration::from_millis(u64::try_from(env.date.0).unwrap_or(0)),
        );
    if let Some(r) = env.reply_to.filter(|r| !r.is_empty()) {
        let addr = r
            .parse()
            .map_err(|e| SendError::Setup(format!("reply-to address: {e}")))?;
        b = b.reply_to(Mailbox::new(None, addr));
    }
    if let Some(u) = env.unsubscribe {
        b = b
            .header(ListUnsubscribe(u.to_string()))
            .header(ListUnsubscribePost);
    }
    let text = MultiPart::alternative_plain_html(mail.text.clone(), mail.html.clone());
    let body = if files.is_empty() {
        text
    } else {
        let mut mixed = MultiPart::mixed().multipart(text);
        for f in files {
            let content_type = ContentType::parse(&f.content_type).map_err(|e| {
                SendError::Setup(format!("attachment {}: content type: {e}", f.name))
            })?;
            mixed = mixed.singlepart(Attachment::new(f.name).body(f.bytes, content_type));
        }
        mixed
    };
    b.multipart(body)
        .map_err(|e| SendError::Setup(format!("building the message: {e}")))
}

/// A connection setup to the configured server.
pub fn transport(cfg: &SmtpConfig) -> Result<AsyncSmtpTransport<Tokio1Executor>, SendError> {
    if cfg.host.is_empty() {
        return Err(SendError::Setup("no SMTP server is configured".into()));
    }
    let builder = match cfg.security {
        Security::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(&cfg.host)
            .map_err(|e| SendError::Setup(e.to_string()))?,
        Security::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(&cfg.host)
            .map_err(|e| SendError::Setup(e.to_string()))?,
        Security::Plain => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(&cfg.host),
    };
    let mut builder = builder
        .port(cfg.port)
        .timeout(Some(Duration::from_millis(cfg.timeout_ms)))
        .hello_name(ClientId::Domain(cfg.hello_name.clone()));
    if !cfg.username.is_empty() {
        builder = builder.credentials(Credentials::new(cfg.username.clone(), cfg.password.clone()));
    }
    Ok(builder.build())
}

/// Sends one message; returns the server's answer to it. The whole
/// conversation is bounded by the configured timeout, since a server that
/// accepts the connection and then says nothing would otherwise hold the
/// worker as long as it likes.
pub async fn send(
    cfg: &SmtpConfig,
    transport: &AsyncSmtpTransport<Tokio1Executor>,
    message: Message,
) -> Result<String, SendError> {
    let limit = Duration::from_millis(cfg.timeout_ms);
    match tokio::time::timeout(limit, transport.send(message)).await {
        Ok(Ok(r)) => Ok(format!(
            "{} {}",
            r.code(),
            r.message().collect::<Vec<_>>().join(" ")
        )),
        Ok(Err(e)) => Err(SendError::Server(e.to_string())),
        Err(_) => Err(SendError::Server(format!(
            "the SMTP server did not answer within {} ms",
            cfg.timeout_ms
        ))),
    }
}
