//! A stand-in for an S3-compatible object store, path-style
//! (`/<bucket>/<key>`): PutObject, GetObject (a `Range` gets 206 with
//! `Content-Range`), HeadObject and DeleteObject, with objects kept in
//! memory. Like the real thing it checks every request's AWS Signature
//! Version 4 with its own implementation: an unknown access key is refused
//! with `InvalidAccessKeyId`, a wrong signature with
//! `SignatureDoesNotMatch` (both 403), a body that does not match its
//! `x-amz-content-sha256` with `XAmzContentSHA256Mismatch`, a date more
//! than 15 minutes off with `RequestTimeTooSkewed`. Errors are the S3 XML
//! documents, and each refusal is remembered for tests to read.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// The store's region, buckets and keys.
#[derive(Debug, Clone)]
pub struct S3Config {
    pub region: String,
    /// The buckets that exist.
    pub buckets: Vec<String>,
    /// Access key → secret key.
    pub keys: HashMap<String, String>,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            region: "kz-ala-1".into(),
            buckets: vec!["tabys".into()],
            keys: HashMap::from([("TABYSTESTKEY".to_string(), "tabys-test-secret".to_string())]),
        }
    }
}

/// A request the store refused, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub method: String,
    pub path: String,
    /// The S3 error code: `SignatureDoesNotMatch`, `NoSuchKey`, …
    pub code: String,
}

#[derive(Default)]
struct Data {
    /// (bucket, key) → (content type, bytes).
    objects: BTreeMap<(String, String), (String, Bytes)>,
    refusals: Vec<Refusal>,
}

struct Shared {
    cfg: S3Config,
    data: Mutex<Data>,
}

/// The running store.
#[derive(Clone)]
pub struct FakeS3 {
    shared: Arc<Shared>,
    base: String,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FakeS3 {
    /// Serves the store on `listen` (port 0 for any free port).
    pub async fn start(listen: SocketAddr, cfg: S3Config) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            cfg,
            data: Mutex::new(Data::default()),
        });
        let app = Router::new()
            .fallback(handle)
            .layer(DefaultBodyLimit::disable())
            .with_state(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service()).await {
                tracing::error!(error = %e, "fake S3 stopped");
            }
        });
        Ok(Self {
            shared,
            base: format!("http://{addr}"),
        })
    }

    /// The endpoint: `http://127.0.0.1:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn config(&self) -> &S3Config {
        &self.shared.cfg
    }

    /// The keys of the objects in `bucket`, in order.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        lock(&self.shared.data)
            .objects
            .keys()
            .filter(|(b, _)| b == bucket)
            .map(|(_, k)| k.clone())
            .collect()
    }

    /// An object's content type and bytes.
    pub fn object(&self, bucket: &str, key: &str) -> Option<(String, Vec<u8>)> {
        lock(&self.shared.data)
            .objects
            .get(&(bucket.to_string(), key.to_string()))
            .map(|(t, b)| (t.clone(), b.to_vec()))
    }

    /// Every request refused so far, oldest first.
    pub fn refusals(&self) -> Vec<Refusal> {
        lock(&self.shared.data).refusals.clone()
    }
}

/// An S3 error document.
struct S3Error {
    status: StatusCode,
    code: &'static str,
    message: &'static str,
}

fn fail(status: StatusCode, code: &'static str, message: &'static str) -> S3Error {
    S3Error {
        status,
        code,
        message,
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match serve(&shared, &method, &uri, &headers, body) {
        Ok(response) => response,
        Err(e) => {
            lock(&shared.data).refusals.push(Refusal {
                method: method.to_string(),
                path: uri.path().to_string(),
                code: e.code.to_string(),
            });
            let xml = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{}</Code><Message>{}</Message><Resource>{}</Resource></Error>",
                e.code,
                e.message,
                uri.path()
            );
            let mut response =
                (e.status, [(header::CONTENT_TYPE, "application/xml")], xml).into_response();
            if method == Method::HEAD {
                *response.body_mut() = axum::body::Body::empty();
            }
            response
        }
    }
}

fn serve(
    shared: &Shared,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: Bytes,
) -> Result<Response, S3Error> {
    authenticate(
        &shared.cfg,
        jiff::Timestamp::now(),
        method,
        uri,
        headers,
        &body,
    )?;
    let path = percent_decode(uri.path());
    let (bucket, key) = path
        .strip_prefix('/')
        .and_then(|p| p.split_once('/'))
        .filter(|(_, k)| !k.is_empty())
        .ok_or_else(|| {
            fail(
                StatusCode::BAD_REQUEST,
                "InvalidRequest",
                "Only objects are served here.",
            )
        })?;
    if !shared.cfg.buckets.iter().any(|b| b == bucket) {
        return Err(fail(
            StatusCode::NOT_FOUND,
            "NoSuchBucket",
            "The specified bucket does not exist.",
        ));
    }
    let id = (bucket.to_string(), key.to_string());
    match *method {
        Method::PUT => {
            if !headers.contains_key(header::CONTENT_LENGTH) {
                return Err(fail(
                    StatusCode::LENGTH_REQUIRED,
                    "MissingContentLength",
                    "You must provide the Content-Length HTTP header.",
                ));
            }
            let content_type =
                header_text(headers, "content-type").unwrap_or("binary/octet-stream");
            let etag = format!("\"{}\"", hex_sha256(&body));
            lock(&shared.data)
                .objects
                .insert(id, (content_type.to_string(), body));
            Ok(([(header::ETAG, etag)], "").into_response())
        }
        Method::GET | Method::HEAD => {
            let (content_type, bytes) =
                lock(&shared.data)
                    .objects
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| {
                        fail(
                            StatusCode::NOT_FOUND,
                            "NoSuchKey",
                            "The specified key does not exist.",
                        )
                    })?;
            let size = bytes.len() as u64;
            let etag = format!("\"{}\"", hex_sha256(&bytes));
            let (status, part, range) = match header_text(headers, "range") {
                Some(spec) => {
                    let (start, end) = parse_range(spec, size).ok_or_else(|| {
                        fail(
                            StatusCode::RANGE_NOT_SATISFIABLE,
                            "InvalidRange",
                            "The requested range is not satisfiable",
                        )
                    })?;
                    let part = bytes.slice(start as usize..=end as usize);
                    (
                        StatusCode::PARTIAL_CONTENT,
                        part,
                        Some(format!("bytes {start}-{end}/{size}")),
                    )
                }
                None => (StatusCode::OK, bytes, None),
            };
            let mut response = if *method == Method::HEAD {
                Response::new(axum::body::Body::empty())
            } else {
                Response::new(axum::body::Body::from(part.clone()))
            };
            *response.status_mut() = status;
            let h = response.headers_mut();
            for (name, value) in [
                (header::CONTENT_TYPE, content_type),
                (header::CONTENT_LENGTH, part.len().to_string()),
                (header::ETAG, etag),
                (header::ACCEPT_RANGES, "bytes".to_string()),
            ]
            .into_iter()
            .chain(range.map(|r| (header::CONTENT_RANGE, r)))
            {
                if let Ok(v) = value.parse() {
                    h.insert(name, v);
                }
            }
            Ok(response)
        }
        Method::DELETE => {
            lock(&shared.data).objects.remove(&id);
            Ok(StatusCode::NO_CONTENT.into_response())
        }
        _ => Err(fail(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            "The specified method is not allowed against this resource.",
        )),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

fn hex_sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    match Hmac::<Sha256>::new_from_slice(key) {
        Ok(mut mac) => {
            mac.update(data);
            mac.finalize().into_bytes().to_vec()
        }
        Err(_) => Vec::new(),
    }
}

/// Checks the request's SigV4 `Authorization` header against the secret of
/// the access key it names, its date against `now`, and the body against
/// its declared SHA-256.
fn authenticate(
    cfg: &S3Config,
    now: jiff::Timestamp,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), S3Error> {
    let denied = || fail(StatusCode::FORBIDDEN, "AccessDenied", "Access Denied");
    let malformed = || {
        fail(
            StatusCode::BAD_REQUEST,
            "AuthorizationHeaderMalformed",
            "The authorization header is malformed.",
        )
    };
    let auth = header_text(headers, "authorization")
        .and_then(|a| a.strip_prefix("AWS4-HMAC-SHA256 "))
        .ok_or_else(denied)?;
    let mut credential = None;
    let mut signed_headers = None;
    let mut signature = None;
    for part in auth.split(',') {
        match part.trim().split_once('=') {
            Some(("Credential", v)) => credential = Some(v),
            Some(("SignedHeaders", v)) => signed_headers = Some(v),
            Some(("Signature", v)) => signature = Some(v),
            _ => return Err(malformed()),
        }
    }
    let (Some(credential), Some(signed_headers), Some(signature)) =
        (credential, signed_headers, signature)
    else {
        return Err(malformed());
    };
    let mut scope = credential.split('/');
    let (Some(access_key), Some(day), Some(region), Some("s3"), Some("aws4_request"), None) = (
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
        scope.next(),
    ) else {
        return Err(malformed());
    };
    let secret = cfg.keys.get(access_key).ok_or_else(|| {
        fail(
            StatusCode::FORBIDDEN,
            "InvalidAccessKeyId",
            "The AWS Access Key Id you provided does not exist in our records.",
        )
    })?;
    if region != cfg.region {
        return Err(malformed());
    }
    let amz_date = header_text(headers, "x-amz-date").ok_or_else(denied)?;
    if amz_date.get(..8) != Some(day) {
        return Err(malformed());
    }
    let sent = jiff::fmt::strtime::parse("%Y%m%dT%H%M%SZ", amz_date)
        .and_then(|t| t.to_datetime())
        .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC))
        .map_err(|_| denied())?;
    let skew = (now.as_second() - sent.timestamp().as_second()).abs();
    if skew > 15 * 60 {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "RequestTimeTooSkewed",
            "The difference between the request time and the current time is too large.",
        ));
    }
    let payload = header_text(headers, "x-amz-content-sha256").ok_or_else(|| {
        fail(
            StatusCode::BAD_REQUEST,
            "InvalidRequest",
            "Missing required header for this request: x-amz-content-sha256",
        )
    })?;
    let names: Vec<&str> = signed_headers.split(';').collect();
    if !names.contains(&"host") || !names.contains(&"x-amz-date") {
        return Err(denied());
    }
    let mut canonical = format!(
        "{}\n{}\n{}\n",
        method.as_str(),
        uri.path(),
        canonical_query(uri.query().unwrap_or(""))
    );
    for name in &names {
        let value = header_text(headers, name).ok_or_else(denied)?;
        let value = value.split_whitespace().collect::<Vec<_>>().join(" ");
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    canonical.push_str(&format!("\n{signed_headers}\n{payload}"));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{day}/{region}/s3/aws4_request\n{}",
        hex_sha256(canonical.as_bytes())
    );
    let mut key = hmac(format!("AWS4{secret}").as_bytes(), day.as_bytes());
    for part in [region, "s3", "aws4_request"] {
        key = hmac(&key, part.as_bytes());
    }
    if hex(&hmac(&key, to_sign.as_bytes())) != signature {
        return Err(fail(
            StatusCode::FORBIDDEN,
            "SignatureDoesNotMatch",
            "The request signature we calculated does not match the signature you provided.",
        ));
    }
    if payload != "UNSIGNED-PAYLOAD" && payload != hex_sha256(body) {
        return Err(fail(
            StatusCode::BAD_REQUEST,
            "XAmzContentSHA256Mismatch",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    Ok(())
}

/// The query's `name=value` pairs sorted, as SigV4 signs them.
fn canonical_query(query: &str) -> String {
    let mut pairs: Vec<String> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            if p.contains('=') {
                p.to_string()
            } else {
                format!("{p}=")
            }
        })
        .collect();
    pairs.sort();
    pairs.join("&")
}

fn percent_decode(path: &str) -> String {
    let bytes = path.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex_pair = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex_pair) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `bytes=a-b`, `bytes=a-` or `bytes=-n` fitted to `size`, as inclusive
/// offsets; `None` when nothing of the object is in it.
fn parse_range(spec: &str, size: u64) -> Option<(u64, u64)> {
    let (first, last) = spec.trim().strip_prefix("bytes=")?.split_once('-')?;
    let last_byte = size.checked_sub(1)?;
    let (start, end) = match (first.trim(), last.trim()) {
        ("", n) => {
            let n: u64 = n.parse().ok().filter(|n| *n > 0)?;
            (size.saturating_sub(n), last_byte)
        }
        (s, "") => (s.parse().ok()?, last_byte),
        (s, e) => (s.parse().ok()?, e.parse::<u64>().ok()?.min(last_byte)),
    };
    (start <= end && start < size).then_some((start, end))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_fitted_to_the_object() {
        assert_eq!(parse_range("bytes=0-9", 100), Some((0, 9)));
        assert_eq!(parse_range("bytes=90-", 100), Some((90, 99)));
        assert_eq!(parse_range("bytes=-5", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=95-500", 100), Some((95, 99)));
        assert_eq!(parse_range("bytes=100-", 100), None);
        assert_eq!(parse_range("bytes=0-0", 0), None);
    }

    /// The GET Object example of the SigV4 documentation for S3.
    fn documented_example(signature: &str) -> (S3Config, HeaderMap) {
        let cfg = S3Config {
            region: "us-east-1".into(),
            buckets: vec!["examplebucket".into()],
            keys: HashMap::from([(
                "AKIAIOSFODNN7EXAMPLE".to_string(),
                "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY".to_string(),
            )]),
        };
        let mut headers = HeaderMap::new();
        for (name, value) in [
            ("host", "examplebucket.s3.amazonaws.com".to_string()),
            ("range", "bytes=0-9".to_string()),
            (
                "x-amz-content-sha256",
                "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855".to_string(),
            ),
            ("x-amz-date", "20130524T000000Z".to_string()),
            (
                "authorization",
                format!(
                    "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
                     SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,Signature={signature}"
                ),
            ),
        ] {
            if let Ok(v) = value.parse() {
                headers.insert(name, v);
            }
        }
        (cfg, headers)
    }

    fn check(cfg: &S3Config, headers: &HeaderMap, now: &str) -> Result<(), &'static str> {
        let now: jiff::Timestamp = now.parse().map_err(|_| "time")?;
        let uri = Uri::from_static("/test.txt");
        authenticate(cfg, now, &Method::GET, &uri, headers, b"").map_err(|e| e.code)
    }

    #[test]
    fn the_documented_example_is_accepted_and_any_change_refused() {
        let good = "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41";
        let at = "2013-05-24T00:05:00Z";
        let (cfg, headers) = documented_example(good);
        assert_eq!(check(&cfg, &headers, at), Ok(()));

        let (cfg, headers) = documented_example(&good.replace('f', "e"));
        assert_eq!(check(&cfg, &headers, at), Err("SignatureDoesNotMatch"));

        let (cfg, mut headers) = documented_example(good);
        headers.insert("range", axum::http::HeaderValue::from_static("bytes=0-99"));
        assert_eq!(check(&cfg, &headers, at), Err("SignatureDoesNotMatch"));

        let (mut cfg, headers) = documented_example(good);
        cfg.keys = HashMap::from([("AKIAIOSFODNN7EXAMPLE".to_string(), "other".to_string())]);
        assert_eq!(check(&cfg, &headers, at), Err("SignatureDoesNotMatch"));
        cfg.keys = HashMap::new();
        assert_eq!(check(&cfg, &headers, at), Err("InvalidAccessKeyId"));

        let (cfg, headers) = documented_example(good);
        assert_eq!(
            check(&cfg, &headers, "2013-05-24T00:16:00Z"),
            Err("RequestTimeTooSkewed")
        );
    }

    #[test]
    fn paths_are_decoded() {
        assert_eq!(percent_decode("/b/a%20b%D0%B6"), "/b/a bж");
        assert_eq!(percent_decode("/b/100%"), "/b/100%");
    }
}
