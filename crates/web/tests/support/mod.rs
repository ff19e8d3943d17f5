//! What the HTTP tests share: reading translated error pages and JSON
//! errors, raw requests a browser library would not send, and the check that
//! no request of a test ended in a server error.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tabys_core::locale::Locale;
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, PASSWORD, Reply, TestApp, Value};
use tabys_web::i18n::Tr;

/// The three languages, as their codes.
pub const LANGS: [&str; 3] = ["ru", "kk", "en"];

fn locale(lang: &str) -> anyhow::Result<Locale> {
    Locale::parse(lang).with_context(|| format!("unknown language {lang}"))
}

/// The message for an error code, in one language, as the locale files say.
pub fn msg(lang: &str, code: &str) -> anyhow::Result<String> {
    Ok(Tr::new(locale(lang)?).err(code))
}

/// Any text of the locale files.
pub fn text(lang: &str, key: &str) -> anyhow::Result<String> {
    Ok(Tr::new(locale(lang)?).t(key))
}

/// How the page templates escape text.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&#38;"),
            '<' => out.push_str("&#60;"),
            '>' => out.push_str("&#62;"),
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Whether a page shows this text (raw or escaped).
pub fn shows(page: &str, text: &str) -> bool {
    page.contains(text) || page.contains(&escape(text))
}

/// Never a server error.
pub fn not_500(r: &Reply) -> anyhow::Result<()> {
    ensure!(
        !r.status.is_server_error(),
        "server error {}: {}",
        r.status,
        r.text
    );
    Ok(())
}

/// A translated error page: the status, the page's language, and the
/// message for `code` in that language.
pub fn error_page(r: &Reply, status: StatusCode, lang: &str, code: &str) -> anyhow::Result<()> {
    not_500(r)?;
    ensure!(
        r.status == status,
        "expected {status}, got {}: {}",
        r.status,
        r.text
    );
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ensure!(
        content_type.starts_with("text/html"),
        "error page is {content_type}: {}",
        r.text
    );
    ensure!(
        r.text.contains(&format!("<html lang=\"{lang}\">")),
        "page is not in {lang}: {}",
        r.text
    );
    let message = msg(lang, code)?;
    ensure!(
        r.text
            .contains(&format!("data-error>{}<", escape(&message)))
            || r.text.contains(&format!("data-error>{message}<")),
        "page lacks the {lang} message for {code} ({message}): {}",
        r.text
    );
    Ok(())
}

/// A form shown again with a translated message next to one field.
pub fn field_error(
    r: &Reply,
    status: StatusCode,
    lang: &str,
    field: &str,
    code: &str,
) -> anyhow::Result<()> {
    not_500(r)?;
    ensure!(
        r.status == status,
        "expected {status}, got {}: {}",
        r.status,
        r.text
    );
    ensure!(
        r.text.contains(&format!("<html lang=\"{lang}\">")),
        "page is not in {lang}: {}",
        r.text
    );
    let message = msg(lang, code)?;
    let marker = format!("data-error-for=\"{field}\">");
    let shown = r.text.contains(&format!("{marker}{}<", escape(&message)))
        || r.text.contains(&format!("{marker}{message}<"));
    ensure!(
        shown,
        "{field} lacks the {lang} message for {code} ({message}): {}",
        r.text
    );
    Ok(())
}

/// A message shown at the top of a form (not tied to a field).
pub fn form_error(r: &Reply, status: StatusCode, lang: &str, code: &str) -> anyhow::Result<()> {
    not_500(r)?;
    ensure!(
        r.status == status,
        "expected {status}, got {}: {}",
        r.status,
        r.text
    );
    ensure!(
        r.text.contains(&format!("<html lang=\"{lang}\">")),
        "page is not in {lang}: {}",
        r.text
    );
    let message = msg(lang, code)?;
    ensure!(
        r.text
            .contains(&format!("role=\"alert\">{}<", escape(&message)))
            || r.text.contains(&format!("role=\"alert\">{message}<")),
        "form lacks the {lang} message for {code} ({message}): {}",
        r.text
    );
    Ok(())
}

/// A JSON API error of the one documented shape:
/// `{"error": {"code", "message", "fields"}}`, nothing else. Returns the body.
pub fn api_error(r: &Reply, status: StatusCode, code: &str) -> anyhow::Result<Value> {
    not_500(r)?;
    ensure!(
        r.status == status,
        "expected {status}, got {}: {}",
        r.status,
        r.text
    );
    let content_type = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    ensure!(
        content_type.starts_with("application/json"),
        "API error is {content_type}: {}",
        r.text
    );
    let body = r.json()?;
    let top = body.as_object().context("error body is not an object")?;
    ensure!(
        top.len() == 1 && top.contains_key("error"),
        "unexpected top-level keys: {body}"
    );
    let error = body["error"]
        .as_object()
        .context("`error` is not an object")?;
    let mut keys: Vec<&str> = error.keys().map(String::as_str).collect();
    keys.sort_unstable();
    ensure!(
        keys == ["code", "fields", "message"],
        "unexpected error keys {keys:?}: {body}"
    );
    ensure!(
        body["error"]["code"] == code,
        "expected code {code}: {body}"
    );
    ensure!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "empty message: {body}"
    );
    ensure!(
        body["error"]["fields"].is_array(),
        "fields is not a list: {body}"
    );
    Ok(body)
}

/// Like [`api_error`], and the message is the one for `message_code` in `lang`.
pub fn api_error_in(
    r: &Reply,
    status: StatusCode,
    code: &str,
    lang: &str,
    message_code: &str,
) -> anyhow::Result<Value> {
    let body = api_error(r, status, code)?;
    let expected = msg(lang, message_code)?;
    ensure!(
        body["error"]["message"] == expected.as_str(),
        "expected the {lang} message {expected:?}: {body}"
    );
    Ok(body)
}

/// Reads `/metrics` and fails if any request of this app was answered
/// with a 5xx status.
pub async fn no_server_errors(app: &TestApp) -> anyhow::Result<()> {
    let r = app.client()?.get("/metrics").await?;
    ensure!(r.status == StatusCode::OK, "metrics answered {}", r.status);
    let bad: Vec<&str> = r
        .text
        .lines()
        .filter(|l| l.starts_with("tabys_http_requests_total{") && l.contains("status=\"5"))
        .collect();
    ensure!(bad.is_empty(), "server errors were answered: {bad:?}");
    Ok(())
}

/// An API call with a bearer token, extra headers and no cookies.
pub async fn bearer_with(
    app: &TestApp,
    token: &str,
    method: Method,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<Value>,
) -> anyhow::Result<Reply> {
    let c = app.client()?;
    let auth = format!("Bearer {token}");
    let mut all: Vec<(&str, &str)> = vec![("authorization", auth.as_str())];
    all.extend_from_slice(headers);
    let bytes = match body {
        Some(b) => {
            all.push(("content-type", "application/json"));
            Some(serde_json::to_vec(&b)?)
        }
        None => None,
    };
    c.send(method, path, &all, bytes).await
}

/// Signs a person up from a browser that asks for `lang`; the sign-up
/// remembers the language in the `lang` cookie.
pub async fn person_in(
    app: &TestApp,
    email: &str,
    name: &str,
    lang: &str,
) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form_with(
            "/signup",
            &[("name", name), ("email", email), ("password", PASSWORD)],
            &[("accept-language", lang)],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "sign-up of {email} answered {}: {}",
        r.status,
        r.text
    );
    ensure!(
        c.cookie("lang").as_deref() == Some(lang),
        "sign-up did not remember {lang}"
    );
    Ok(c)
}

/// Whether a password signs this person in (from a new browser).
pub async fn can_sign_in(app: &TestApp, email: &str, password: &str) -> anyhow::Result<bool> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", password)])
        .await?;
    not_500(&r)?;
    Ok(r.status == StatusCode::SEE_OTHER)
}

/// The organizers a browser session or token holds a role in, as `(org_id, role)`.
pub fn memberships(me_or_list: &Value) -> Vec<(i64, String)> {
    let list = me_or_list.get("memberships").unwrap_or(me_or_list);
    list.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|m| Some((m["org_id"].as_i64()?, m["role"].as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// The ids of the tokens listed on an organizer's tokens page that can
/// still be revoked, from their revoke forms.
pub fn token_ids(page: &str, org: i64) -> Vec<i64> {
    let prefix = format!("/org/{org}/tokens/");
    page.split(&prefix)
        .skip(1)
        .filter_map(|rest| {
            rest.split_once("/revoke")
                .and_then(|(id, _)| id.parse().ok())
        })
        .collect()
}

/// Issues an API token on the tokens page; returns its secret and id.
pub async fn issue_token(c: &Client, org: i64, name: &str) -> anyhow::Result<(String, i64)> {
    let before = token_ids(&c.get(&format!("/org/{org}/tokens")).await?.text, org);
    let r = c
        .post_form(&format!("/org/{org}/tokens"), &[("name", name)])
        .await?;
    ensure!(
        r.status == StatusCode::OK,
        "issuing a token answered {}: {}",
        r.status,
        r.text
    );
    let secret = r
        .text
        .split("data-secret>")
        .nth(1)
        .and_then(|s| s.split('<').next())
        .context("the secret is shown once after issuing")?
        .to_string();
    ensure!(secret.starts_with("tabys_"), "unexpected token {secret}");
    let id = token_ids(&r.text, org)
        .into_iter()
        .find(|id| !before.contains(id))
        .context("the new token is listed")?;
    Ok((secret, id))
}

/// The reply to raw bytes sent over a new connection: status, lower-cased
/// headers and body. For what an HTTP library refuses to send.
pub struct RawReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl RawReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Sends `head` (request line and headers, ending with an empty line) and
/// then `body`, and reads one response. The body is written only as far as
/// the server reads it; a server that answers before reading it all is
/// what these requests are for.
pub async fn raw_request(app: &TestApp, head: String, body: Vec<u8>) -> anyhow::Result<RawReply> {
    let addr = app.base.trim_start_matches("http://").to_string();
    tokio::task::spawn_blocking(move || -> anyhow::Result<RawReply> {
        let mut stream = std::net::TcpStream::connect(&addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(head.as_bytes())?;
        // The server may answer and close before it reads everything.
        let _ = stream.write_all(&body);
        let mut buf = Vec::new();
        let mut chunk = [0u8; 16 * 1024];
        let (header_end, content_length) = loop {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                bail!(
                    "connection closed before the response headers: {}",
                    String::from_utf8_lossy(&buf)
                );
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&buf[..pos]).to_string();
                let length = head
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
                    .and_then(|(_, v)| v.trim().parse::<usize>().ok())
                    .context("response without content-length")?;
                break (pos + 4, length);
            }
        };
        while buf.len() < header_end + content_length {
            let n = stream.read(&mut chunk)?;
            if n == 0 {
                bail!("connection closed inside the response body");
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let head = String::from_utf8_lossy(&buf[..header_end]).to_string();
        let mut lines = head.lines();
        let status = lines
            .next()
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|s| s.parse().ok())
            .context("status line")?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        let body =
            String::from_utf8_lossy(&buf[header_end..header_end + content_length]).to_string();
        Ok(RawReply {
            status,
            headers,
            body,
        })
    })
    .await?
}
