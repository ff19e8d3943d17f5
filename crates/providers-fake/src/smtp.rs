//! A local SMTP server that keeps what it receives: for tests and the
//! demo. It speaks the real conversation over TCP (EHLO/HELO, AUTH PLAIN
//! and LOGIN, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), so
//! the sending side is exercised exactly as against a real server, and it
//! can be told to refuse, to time out and to drop the connection, or to
//! keep a message and then never answer (the moment a worker may crash).
//! Its messages are listed on a page (`/mail`) a person can read.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// What the sink is told to do wrong, each for the next n conversations.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct SinkMode {
    /// Answer `MAIL FROM` with a permanent refusal (554).
    pub refuse: usize,
    /// Accept the connection and never greet: the client times out.
    pub timeout: usize,
    /// Read the whole message, then close without answering or keeping it.
    pub drop: usize,
    /// Keep the message, then never answer (until the client goes away).
    pub hang_after_keeping: usize,
    /// Like `hang_after_keeping`, for the message with this number (from 1) only.
    pub hang_at: usize,
}

/// A message as received.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Received {
    pub seq: usize,
    pub from: String,
    pub to: Vec<String>,
    /// The user name given with AUTH, if any.
    pub auth: Option<String>,
    /// The raw message as sent after DATA.
    pub raw: String,
}

impl Received {
    /// One header's value (unfolded, RFC 2047 words decoded).
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = split_head(&self.raw);
        header_in(head, name).map(|v| decode_words(&v))
    }

    pub fn message_id(&self) -> Option<String> {
        self.header("Message-ID")
    }

    pub fn subject(&self) -> String {
        self.header("Subject").unwrap_or_default()
    }

    /// The decoded text of the first part of this MIME type (`text/plain`, `text/html`).
    pub fn part(&self, mime: &str) -> Option<String> {
        find_part(&self.raw, mime).map(|b| {
            String::from_utf8_lossy(&b)
                .replace("\r\n", "\n")
                .trim_end()
                .to_string()
        })
    }

    /// The decoded bytes of the first part of this MIME type, as sent
    /// (`application/pdf`): an attachment exactly as the recipient saves it.
    pub fn bytes(&self, mime: &str) -> Option<Vec<u8>> {
        find_part(&self.raw, mime)
    }

    pub fn text(&self) -> String {
        self.part("text/plain").unwrap_or_default()
    }
}

struct Shared {
    messages: Mutex<Vec<Received>>,
    mode: Mutex<SinkMode>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// The running SMTP sink.
#[derive(Clone)]
pub struct MailSink {
    shared: Arc<Shared>,
    addr: SocketAddr,
}

impl MailSink {
    /// Listens on `listen` (port 0 for any free port).
    pub async fn start(listen: SocketAddr) -> std::io::Result<Self> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            messages: Mutex::new(Vec::new()),
            mode: Mutex::new(SinkMode::default()),
        });
        let s = shared.clone();
        tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        let s = s.clone();
                        tokio::spawn(async move {
                            if let Err(e) = converse(s, stream).await {
                                tracing::debug!(error = %e, "SMTP sink conversation ended");
                            }
                        });
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "SMTP sink stopped accepting");
                        return;
                    }
                }
            }
        });
        Ok(Self { shared, addr })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn messages(&self) -> Vec<Received> {
        lock(&self.shared.messages).clone()
    }

    /// Messages sent to one address.
    pub fn to(&self, address: &str) -> Vec<Received> {
        self.messages()
            .into_iter()
            .filter(|m| m.to.iter().any(|t| t.eq_ignore_ascii_case(address)))
            .collect()
    }

    pub fn set_mode(&self, mode: SinkMode) {
        *lock(&self.shared.mode) = mode;
    }

    /// Waits (up to `limit`) until at least `n` messages were kept.
    pub async fn wait_for(&self, n: usize, limit: Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if lock(&self.shared.messages).len() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }
}

/// Takes one unit of a fault, if any is left.
fn take(shared: &Shared, pick: fn(&mut SinkMode) -> &mut usize) -> bool {
    let mut mode = lock(&shared.mode);
    let n = pick(&mut mode);
    if *n > 0 {
        *n -= 1;
        true
    } else {
        false
    }
}

async fn converse(shared: Arc<Shared>, stream: TcpStream) -> std::io::Result<()> {
    if take(&shared, |m| &mut m.timeout) {
        // Say nothing; the client gives up on its own.
        tokio::time::sleep(Duration::from_secs(120)).await;
        return Ok(());
    }
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    write.write_all(b"220 tabys-sink ESMTP ready\r\n").await?;
    let mut from = String::new();
    let mut to = Vec::new();
    let mut auth = None;
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_string();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") {
            write
                .write_all(
                    b"250-tabys-sink\r\n250-8BITMIME\r\n250-SMTPUTF8\r\n250 AUTH PLAIN LOGIN\r\n",
                )
                .await?;
        } else if upper.starts_with("HELO") {
            write.write_all(b"250 tabys-sink\r\n").await?;
        } else if upper.starts_with("AUTH PLAIN") {
            let given = cmd.get(11..).unwrap_or_default().trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(given)
                .unwrap_or_default();
            let user = decoded
                .split(|b| *b == 0)
                .nth(1)
                .map(|u| String::from_utf8_lossy(u).to_string());
            auth = user;
            write
                .write_all(b"235 2.7.0 Authentication successful\r\n")
                .await?;
        } else if upper.starts_with("AUTH LOGIN") {
            write.write_all(b"334 VXNlcm5hbWU6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            let user = base64::engine::general_purpose::STANDARD
                .decode(line.trim())
                .unwrap_or_default();
            auth = Some(String::from_utf8_lossy(&user).to_string());
            write.write_all(b"334 UGFzc3dvcmQ6\r\n").await?;
            line.clear();
            lines.read_line(&mut line).await?;
            write
                .write_all(b"235 2.7.0 Authentication successful\r\n")
                .await?;
        } else if upper.starts_with("MAIL FROM:") {
            if take(&shared, |m| &mut m.refuse) {
                write
                    .write_all(b"554 5.7.1 Refused by the test sink\r\n")
                    .await?;
                continue;
            }
            from = angle(&cmd[10..]);
            to.clear();
            write.write_all(b"250 2.1.0 Ok\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            to.push(angle(&cmd[8..]));
            write.write_all(b"250 2.1.5 Ok\r\n").await?;
        } else if upper == "DATA" {
            write
                .write_all(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                .await?;
            let mut raw = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" || line == ".\n" {
                    break;
                }
                // Dot-unstuffing (RFC 5321 4.5.2).
                raw.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            if take(&shared, |m| &mut m.drop) {
                return Ok(());
            }
            let seq = {
                let mut messages = lock(&shared.messages);
                let seq = messages.len() + 1;
                messages.push(Received {
                    seq,
                    from: from.clone(),
                    to: to.clone(),
                    auth: auth.clone(),
                    raw,
                });
                seq
            };
            let hang_here = lock(&shared.mode).hang_at == seq;
            if hang_here || take(&shared, |m| &mut m.hang_after_keeping) {
                // Kept, never confirmed: wait until the client goes away.
                let mut rest = String::new();
                let _ = lines.read_line(&mut rest).await;
                return Ok(());
            }
            write
                .write_all(format!("250 2.0.0 Ok: queued as {seq}\r\n").as_bytes())
                .await?;
        } else if upper == "RSET" {
            from.clear();
            to.clear();
            write.write_all(b"250 2.0.0 Ok\r\n").await?;
        } else if upper == "NOOP" {
            write.write_all(b"250 2.0.0 Ok\r\n").await?;
        } else if upper == "QUIT" {
            write.write_all(b"221 2.0.0 Bye\r\n").await?;
            return Ok(());
        } else {
            write
                .write_all(b"502 5.5.2 Command not recognized\r\n")
                .await?;
        }
    }
}

fn angle(s: &str) -> String {
    let s = s.trim();
    let inner = s
        .strip_prefix('<')
        .and_then(|r| r.split_once('>'))
        .map_or(s, |(a, _)| a);
    inner.to_string()
}

fn split_head(raw: &str) -> (&str, &str) {
    raw.split_once("\r\n\r\n")
        .or_else(|| raw.split_once("\n\n"))
        .unwrap_or((raw, ""))
}

/// A header's unfolded value.
fn header_in(head: &str, name: &str) -> Option<String> {
    let mut value: Option<String> = None;
    let mut found = false;
    for line in head.lines() {
        if line.starts_with([' ', '\t']) {
            if found && let Some(v) = value.as_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if found {
            break;
        }
        if let Some((k, v)) = line.split_once(':')
            && k.eq_ignore_ascii_case(name)
        {
            value = Some(v.trim().to_string());
            found = true;
        }
    }
    value
}

/// Decodes RFC 2047 encoded words (`=?utf-8?b?…?=`, `=?utf-8?q?…?=`).
fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        if !(last_was_word && before.trim().is_empty()) {
            out.push_str(before);
        }
        let after = &rest[start + 2..];
        let parts: Vec<&str> = after.splitn(3, '?').collect();
        if parts.len() < 3 {
            out.push_str(&rest[start..]);
            return out;
        }
        let Some(end) = parts[2].find("?=") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let text = &parts[2][..end];
        let bytes = if parts[1].eq_ignore_ascii_case("b") {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .unwrap_or_default()
        } else {
            quoted_printable(&text.replace('_', " "))
        };
        out.push_str(&String::from_utf8_lossy(&bytes));
        let consumed = start + 2 + parts[0].len() + 1 + parts[1].len() + 1 + end + 2;
        rest = &rest[consumed..];
        last_was_word = true;
    }
    out.push_str(rest);
    out
}

fn quoted_printable(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if i + 2 < b.len() + 1 && b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if b.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok());
            if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn decode_body(head: &str, body: &str) -> Vec<u8> {
    let encoding = header_in(head, "Content-Transfer-Encoding")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match encoding.as_str() {
        "base64" => base64::engine::general_purpose::STANDARD
            .decode(body.split_whitespace().collect::<String>())
            .unwrap_or_default(),
        "quoted-printable" => quoted_printable(body),
        _ => body.as_bytes().to_vec(),
    }
}

fn find_part(raw: &str, mime: &str) -> Option<Vec<u8>> {
    let (head, body) = split_head(raw);
    let ctype = header_in(head, "Content-Type").unwrap_or_else(|| "text/plain".into());
    let lower = ctype.to_ascii_lowercase();
    if lower.starts_with("multipart/") {
        let boundary = ctype
            .split(';')
            .filter_map(|p| p.trim().strip_prefix("boundary="))
            .map(|b| b.trim_matches('"').to_string())
            .next()?;
        let marker = format!("--{boundary}");
        for piece in body.split(&marker).skip(1) {
            if piece.starts_with("--") {
                break;
            }
            let piece = piece.trim_start_matches(['\r', '\n']);
            if let Some(found) = find_part(piece, mime) {
                return Some(found);
            }
        }
        None
    } else if lower.starts_with(mime) {
        Some(decode_body(head, body))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(decode_words("=?utf-8?b?0J/RgNC40LLQtdGC?="), "Привет");
        assert_eq!(decode_words("plain"), "plain");
        assert_eq!(decode_words("=?utf-8?q?a_b=3F?="), "a b?");
    }
}
