//! The demo's and the tests' post office: the SMTP sink and the SMSC
//! stand-in, with pages a person reads them on — `/mail` (every e-mail
//! received, newest first, each with its plain text, its HTML part and a
//! PDF it carries)
//! and `/sms` — and `/_control/mail`, `/_control/sms` to make them fail.

use std::net::SocketAddr;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};

use crate::smsc::{self, FakeSmsc, SmscConfig, SmscMode};
use crate::smtp::{MailSink, SinkMode};

#[derive(Clone)]
pub struct FakeMessaging {
    pub sink: MailSink,
    pub smsc: FakeSmsc,
    base: String,
}

#[derive(Clone)]
struct App {
    sink: MailSink,
    smsc: FakeSmsc,
}

impl FakeMessaging {
    /// Starts the SMTP sink on `smtp` and the pages and SMSC on `http` (port 0 for any).
    pub async fn start(
        smtp: SocketAddr,
        http: SocketAddr,
        cfg: SmscConfig,
    ) -> std::io::Result<Self> {
        let sink = MailSink::start(smtp).await?;
        let smsc = FakeSmsc::new(cfg);
        let listener = tokio::net::TcpListener::bind(http).await?;
        let addr = listener.local_addr()?;
        let app = App {
            sink: sink.clone(),
            smsc: smsc.clone(),
        };
        let smsc_routes = Router::new()
            .route("/sys/send.php", get(smsc::send_php).post(smsc::send_php))
            .route(
                "/sys/status.php",
                get(smsc::status_php).post(smsc::status_php),
            )
            .with_state(smsc.clone());
        let router = Router::new()
            .route("/mail", get(mail_list))
            .route("/mail/{seq}", get(mail_one))
            .route("/mail/{seq}/html", get(mail_html))
            .route("/mail/{seq}/attachment.pdf", get(mail_pdf))
            .route("/sms", get(sms_list))
            .route("/_control/mail", post(control_mail))
            .route("/_control/sms", post(control_sms))
            .with_state(app)
            .merge(smsc_routes);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router.into_make_service()).await {
                tracing::error!(error = %e, "fake messaging stopped");
            }
        });
        Ok(Self {
            sink,
            smsc,
            base: format!("http://{addr}"),
        })
    }

    /// The pages' and SMSC's address.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn smtp_addr(&self) -> SocketAddr {
        self.sink.addr()
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn page(title: &str, body: &str) -> Response {
    Html(format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{font-family:sans-serif;max-width:960px;margin:1em auto;padding:0 1em}}table{{border-collapse:collapse;width:100%}}\
         td,th{{border-bottom:1px solid #ddd;padding:.4em;text-align:left;vertical-align:top}}pre{{white-space:pre-wrap;background:#f6f6f6;padding:1em}}</style>\
         </head><body><p><a href=\"/mail\">E-mail</a> · <a href=\"/sms\">SMS</a></p><h1>{t}</h1>{body}</body></html>",
        t = esc(title)
    ))
    .into_response()
}

async fn mail_list(State(app): State<App>) -> Response {
    let mut rows = String::new();
    for m in app.sink.messages().iter().rev() {
        rows.push_str(&format!(
            "<tr data-mail=\"{seq}\"><td>{seq}</td><td>{to}</td><td>{from}</td><td><a href=\"/mail/{seq}\">{subject}</a></td></tr>",
            seq = m.seq,
            to = esc(&m.to.join(", ")),
            from = esc(&m.header("From").unwrap_or_default()),
            subject = esc(&m.subject()),
        ));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"4\">No mail yet.</td></tr>".into();
    }
    page(
        "Mail received by the local SMTP sink",
        &format!(
            "<table><tr><th>#</th><th>To</th><th>From</th><th>Subject</th></tr>{rows}</table>"
        ),
    )
}

async fn mail_one(State(app): State<App>, Path(seq): Path<usize>) -> Response {
    let Some(m) = app.sink.messages().into_iter().find(|m| m.seq == seq) else {
        return (StatusCode::NOT_FOUND, "no such message").into_response();
    };
    let mut head = String::new();
    for h in [
        "From",
        "To",
        "Reply-To",
        "Subject",
        "Date",
        "Message-ID",
        "List-Unsubscribe",
    ] {
        if let Some(v) = m.header(h) {
            head.push_str(&format!("<tr><th>{h}</th><td>{}</td></tr>", esc(&v)));
        }
    }
    let attachment = if m.bytes("application/pdf").is_some() {
        format!("<h2>Attachment</h2><p><a href=\"/mail/{seq}/attachment.pdf\">PDF</a></p>")
    } else {
        String::new()
    };
    page(
        &m.subject(),
        &format!(
            "<table>{head}</table><h2>Text</h2><pre>{}</pre>{attachment}<h2>HTML</h2>\
             <iframe sandbox src=\"/mail/{seq}/html\" style=\"width:100%;height:420px;border:1px solid #ddd\"></iframe>\
             <h2>Source</h2><pre>{}</pre>",
            esc(&m.text()),
            esc(&m.raw)
        ),
    )
}

/// A message's PDF attachment (a certificate), as the recipient saves it.
async fn mail_pdf(State(app): State<App>, Path(seq): Path<usize>) -> Response {
    match app
        .sink
        .messages()
        .into_iter()
        .find(|m| m.seq == seq)
        .and_then(|m| m.bytes("application/pdf"))
    {
        Some(pdf) => ([(header::CONTENT_TYPE, "application/pdf")], pdf).into_response(),
        None => (StatusCode::NOT_FOUND, "no PDF attachment").into_response(),
    }
}

async fn mail_html(State(app): State<App>, Path(seq): Path<usize>) -> Response {
    match app
        .sink
        .messages()
        .into_iter()
        .find(|m| m.seq == seq)
        .and_then(|m| m.part("text/html"))
    {
        Some(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (
                    header::CONTENT_SECURITY_POLICY,
                    "sandbox; default-src 'none'; style-src 'unsafe-inline'",
                ),
            ],
            html,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no HTML part").into_response(),
    }
}

async fn sms_list(State(app): State<App>) -> Response {
    let mut rows = String::new();
    for s in app.smsc.sent().iter().rev() {
        rows.push_str(&format!(
            "<tr data-sms=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{} ₸ ({} parts)</td></tr>",
            s.smsc_id,
            s.smsc_id,
            esc(&s.phone),
            esc(&s.login),
            esc(&s.text),
            esc(&s.cost),
            s.parts
        ));
    }
    if rows.is_empty() {
        rows = "<tr><td colspan=\"5\">No SMS yet.</td></tr>".into();
    }
    page(
        "SMS received by the SMSC stand-in",
        &format!(
            "<table><tr><th>#</th><th>Phone</th><th>Account</th><th>Text</th><th>Price</th></tr>{rows}</table>"
        ),
    )
}

async fn control_mail(State(app): State<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<SinkMode>(&body) {
        Ok(mode) => {
            app.sink.set_mode(mode);
            axum::Json(serde_json::json!({ "ok": true })).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

async fn control_sms(State(app): State<App>, body: Bytes) -> Response {
    match serde_json::from_slice::<SmscMode>(&body) {
        Ok(mode) => {
            app.smsc.set_mode(mode);
            axum::Json(serde_json::json!({ "ok": true })).into_response()
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}
