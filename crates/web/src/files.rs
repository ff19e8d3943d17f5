//! Files over HTTP: receiving an upload from a multipart form as it
//! streams in, and sending a stored file with HTTP range requests (video
//! and audio players seek with them) through a signed link,
//! `GET /files/{token}`.
//!
//! A route whose path ends in `/upload` may receive a body up to
//! `WebConfig::max_upload_bytes`; every other route keeps the small limit
//! (see `limit_body`).

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use axum::extract::{Multipart, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tabys_core::Error;
use tabys_core::ids::{OrgId, UserId};
use tabys_files::{Files, Kind, StoredFile, Upload};

use crate::ctx::{CSRF_HEADER, Ctx};
use crate::error::PageError;
use crate::{AppState, marked};

pub fn router() -> Router<AppState> {
    Router::new().route("/files/{token}", get(signed_file))
}

/// Text fields sent before or after the file, at most this much in all.
const FIELDS_MAX: usize = 64 * 1024;

/// What a multipart upload form carried.
#[derive(Debug, Default)]
pub struct Received {
    /// The text fields, by name.
    pub fields: HashMap<String, String>,
    /// The file, if the form had one with content.
    pub file: Option<StoredFile>,
}

impl Received {
    pub fn field(&self, name: &str) -> &str {
        self.fields.get(name).map(String::as_str).unwrap_or("")
    }
}

/// Receives a multipart form with at most one file (in the field `file`)
/// and stores the file for `org` as `kind`, streaming it to disk. The form's
/// `csrf` field must come before the file (or the `X-CSRF-Token` header be
/// set), so nothing is stored for a forged request. A form sent without a
/// file gives `file: None`; the caller decides whether that is an error.
pub async fn receive(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    mut form: Multipart,
    org: OrgId,
    by: Option<UserId>,
    kind: Kind,
) -> Result<Received, Error> {
    let header_ok = headers
        .get(CSRF_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| ctx.csrf_matches(v));
    let mut csrf_ok = header_ok;
    let mut got = Received::default();
    let mut text_bytes = 0usize;
    loop {
        let field = match form.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(multipart_error(&e)),
        };
        let name = field.name().unwrap_or("").to_string();
        if name == "file" {
            if !csrf_ok {
                return Err(Error::invalid("csrf", "csrf"));
            }
            if got.file.is_some() {
                return Err(Error::invalid("file", "bad-request"));
            }
            let file_name = field.file_name().unwrap_or("").to_string();
            if file_name.is_empty() {
                // A form submitted with no file chosen sends an empty part.
                continue;
            }
            let upload = Upload {
                org,
                by,
                kind,
                name: &file_name,
            };
            got.file = Some(state.files.save(&state.db, upload, field).await?);
        } else {
            let value = field.text().await.map_err(|e| multipart_error(&e))?;
            text_bytes += value.len() + name.len();
            if text_bytes > FIELDS_MAX {
                return Err(Error::invalid("form", "payload-too-large"));
            }
            if name == "csrf" && ctx.csrf_matches(&value) {
                csrf_ok = true;
            }
            got.fields.insert(name, value);
        }
    }
    if !csrf_ok {
        return Err(Error::invalid("csrf", "csrf"));
    }
    Ok(got)
}

fn multipart_error(e: &axum::extract::multipart::MultipartError) -> Error {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        Error::invalid("file", "file-too-large")
    } else {
        Error::invalid("form", "bad-request")
    }
}

/// Lets routes ending in `/upload` receive large bodies, and holds every
/// other route to the small limit. A declared length over the limit is
/// refused before anything is read.
pub async fn limit_body(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let limit = if req.uri().path().ends_with("/upload") {
        state.config.max_upload_bytes
    } else {
        state.config.max_body_bytes
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return StatusCode::PAYLOAD_TOO_LARGE.into_response();
    }
    let req = req.map(|body| Body::new(http_body_util::Limited::new(body, limit)));
    next.run(req).await
}

/// A file through its signed link, to the person it was signed for. A link
/// signed to be marked gets a PDF or picture marked with the viewer's name,
/// e-mail and today's date (LZ-8); other files go out as stored.
async fn signed_file(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
    headers: HeaderMap,
) -> Result<Response, PageError> {
    let signed = state.files.verify(&token, state.db.now())?;
    let user = ctx.user()?;
    if user.id != signed.viewer {
        return Err(PageError(Error::NotFound));
    }
    let marked = signed.marked;
    let file = tabys_files::get_signed(&state.db, signed).await?;
    if marked && marked::is_markable(&file) {
        let mark = marked::mark_text(
            &user.name,
            &user.email,
            tabys_core::calendar::business_date(state.db.now()),
        );
        let copy = state.marked.get(&state.files, &file, &mark).await?;
        let what = Sending {
            name: &file.name,
            content_type: copy.content_type,
            size: copy.bytes.len() as u64,
            etag: &copy.etag,
        };
        let range = requested(&headers, what.size);
        let body = match range {
            Range::Part { start, end } => {
                let to = usize::try_from(end + 1)
                    .unwrap_or(usize::MAX)
                    .min(copy.bytes.len());
                let from = usize::try_from(start).unwrap_or(usize::MAX).min(to);
                Body::from(copy.bytes.slice(from..to))
            }
            _ => Body::from(copy.bytes.clone()),
        };
        return Ok(send(&what, range, body, false));
    }
    Ok(serve(&state.files, &headers, &file, false).await?)
}

/// Sends a stored file from wherever it is kept: whole, or the one byte
/// range the request asks for.
pub async fn serve(
    files: &Files,
    headers: &HeaderMap,
    file: &StoredFile,
    download: bool,
) -> Result<Response, Error> {
    let etag = format!("\"{}\"", file.sha256);
    let what = Sending {
        name: &file.name,
        content_type: &file.content_type,
        size: u64::try_from(file.size).unwrap_or(0),
        etag: &etag,
    };
    let range = requested(headers, what.size);
    let body = match range {
        Range::Whole => files.open(file, None).await?,
        Range::Part { start, end } => files.open(file, Some(start..=end)).await?,
        Range::Unsatisfiable => return Ok(unsatisfiable(what.size)),
    };
    Ok(send(&what, range, Body::from_stream(body), download))
}

/// The range the request's `Range` header asks of `size` bytes.
fn requested(headers: &HeaderMap, size: u64) -> Range {
    parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        size,
    )
}

fn unsatisfiable(size: u64) -> Response {
    (
        StatusCode::RANGE_NOT_SATISFIABLE,
        [(header::CONTENT_RANGE, format!("bytes */{size}"))],
    )
        .into_response()
}

/// What is sent: the facts the headers carry.
pub struct Sending<'a> {
    /// The name a browser saves it under.
    pub name: &'a str,
    pub content_type: &'a str,
    pub size: u64,
    /// The entity tag, quoted.
    pub etag: &'a str,
}

/// One byte range asked for, already fitted to the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Whole,
    Part { start: u64, end: u64 },
    Unsatisfiable,
}

/// Reads `Range: bytes=…` for a file of `size` bytes. Only a single range
/// is served; anything else gets the whole file, which RFC 9110 allows.
fn parse_range(value: Option<&str>, size: u64) -> Range {
    let Some(spec) = value.and_then(|v| v.trim().strip_prefix("bytes=")) else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return Range::Whole;
    };
    let (first, last) = (first.trim(), last.trim());
    let parsed = match (first.is_empty(), last.is_empty()) {
        // bytes=-500: the last 500 bytes.
        (true, false) => match last.parse::<u64>() {
            Ok(0) => return Range::Unsatisfiable,
            Ok(n) => Some((size.saturating_sub(n), size.saturating_sub(1))),
            Err(_) => None,
        },
        (false, true) => first
            .parse::<u64>()
            .ok()
            .map(|s| (s, size.saturating_sub(1))),
        (false, false) => match (first.parse::<u64>(), last.parse::<u64>()) {
            (Ok(s), Ok(e)) if s <= e => Some((s, e.min(size.saturating_sub(1)))),
            _ => None,
        },
        (true, true) => None,
    };
    match parsed {
        None => Range::Whole,
        Some((start, _)) if size == 0 || start >= size => Range::Unsatisfiable,
        Some((start, end)) => Range::Part { start, end },
    }
}

/// The answer carrying `body`, the bytes of `what` that `range` names
/// (whole: 200, a part: 206), with its type, length and entity tag.
/// `download` asks the browser to save it instead of showing it.
pub fn send(what: &Sending<'_>, range: Range, body: Body, download: bool) -> Response {
    let size = what.size;
    let (status, len) = match range {
        Range::Whole => (StatusCode::OK, size),
        Range::Part { start, end } => (StatusCode::PARTIAL_CONTENT, end - start + 1),
        Range::Unsatisfiable => return unsatisfiable(size),
    };
    let mut response = Response::new(body);
    *response.status_mut() = status;
    let h = response.headers_mut();
    let content_type = if what.content_type == "text/plain" {
        "text/plain; charset=utf-8".to_string()
    } else {
        what.content_type.to_string()
    };
    let pairs = [
        (header::CONTENT_TYPE, content_type),
        (header::CONTENT_LENGTH, len.to_string()),
        (header::ACCEPT_RANGES, "bytes".into()),
        (header::ETAG, what.etag.to_string()),
        (header::CACHE_CONTROL, "private, max-age=300".into()),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff".into()),
        (header::CONTENT_SECURITY_POLICY, "sandbox".into()),
        (
            header::CONTENT_DISPOSITION,
            disposition(what.name, download),
        ),
    ];
    for (name, value) in pairs {
        if let Ok(v) = HeaderValue::from_str(&value) {
            h.insert(name, v);
        }
    }
    if let Range::Part { start, end } = range
        && let Ok(v) = HeaderValue::from_str(&format!("bytes {start}-{end}/{size}"))
    {
        h.insert(header::CONTENT_RANGE, v);
    }
    response
}

/// `inline` or `attachment` with the name in RFC 5987 form, so Cyrillic
/// names survive.
fn disposition(name: &str, download: bool) -> String {
    let mut encoded = String::new();
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&b) {
            encoded.push(char::from(b));
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    let how = if download { "attachment" } else { "inline" };
    format!("{how}; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_fitted_to_the_file() {
        let r = |v: &str| parse_range(Some(v), 1000);
        assert_eq!(parse_range(None, 1000), Range::Whole);
        assert_eq!(r("bytes=0-99"), Range::Part { start: 0, end: 99 });
        assert_eq!(
            r("bytes=900-"),
            Range::Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            r("bytes=-100"),
            Range::Part {
                start: 900,
                end: 999
            }
        );
        assert_eq!(
            r("bytes=990-5000"),
            Range::Part {
                start: 990,
                end: 999
            }
        );
        assert_eq!(r("bytes=-5000"), Range::Part { start: 0, end: 999 });
        assert_eq!(r("bytes=1000-"), Range::Unsatisfiable);
        assert_eq!(r("bytes=-0"), Range::Unsatisfiable);
        assert_eq!(r("bytes=5-1"), Range::Whole);
        assert_eq!(r("bytes=0-1,5-6"), Range::Whole);
        assert_eq!(r("items=0-1"), Range::Whole);
        assert_eq!(r("bytes=x-y"), Range::Whole);
    }

    #[test]
    fn names_keep_their_letters_in_the_disposition() {
        assert_eq!(
            disposition("Сабақ 1.pdf", false),
            "inline; filename*=UTF-8''%D0%A1%D0%B0%D0%B1%D0%B0%D2%9B%201.pdf"
        );
        assert_eq!(
            disposition("a\"b.mp4", true),
            "attachment; filename*=UTF-8''a%22b.mp4"
        );
    }
}
