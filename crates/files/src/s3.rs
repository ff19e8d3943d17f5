//! The few S3 calls files need — PutObject, GetObject (with a byte range)
//! and DeleteObject — with path-style addresses
//! (`<endpoint>/<bucket>/<key>`), which every S3-compatible store accepts,
//! signed with [`crate::sigv4`].

use std::path::Path;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use reqwest::{Method, StatusCode, header};

use crate::sigv4::{self, Canonical, Credentials, EMPTY_SHA256};
use crate::{ByteStream, StorageConfig};

/// A bucket and the key to it.
pub(crate) struct Bucket {
    http: reqwest::Client,
    /// The endpoint with no trailing slash: `https://storage.example.kz`.
    endpoint: String,
    /// The endpoint's own path (`/s3` behind a proxy), usually empty.
    prefix: String,
    /// What the `Host` header will say: the host, and the port unless it
    /// is the scheme's default.
    host: String,
    bucket: String,
    region: String,
    access_key: String,
    secret_key: String,
}

/// Why a call failed: the store's status and its error code
/// (`SignatureDoesNotMatch`, `NoSuchKey`, …), or the connection's error.
#[derive(Debug)]
pub(crate) enum Failure {
    Refused { status: StatusCode, code: String },
    Transport(reqwest::Error),
    Local(std::io::Error),
}

impl Failure {
    pub(crate) fn is_missing(&self) -> bool {
        matches!(self, Failure::Refused { status, .. } if *status == StatusCode::NOT_FOUND)
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Refused { status, code } => write!(f, "the store answered {status} {code}"),
            Failure::Transport(e) => write!(f, "the store could not be reached: {e}"),
            Failure::Local(e) => write!(f, "reading the upload: {e}"),
        }
    }
}

impl std::fmt::Debug for Bucket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bucket")
            .field("endpoint", &self.endpoint)
            .field("bucket", &self.bucket)
            .field("region", &self.region)
            .finish_non_exhaustive()
    }
}

impl Bucket {
    /// The bucket the settings name, or what is wrong with them.
    pub(crate) fn new(cfg: &StorageConfig) -> Result<Self, String> {
        let url = url::Url::parse(cfg.s3_endpoint.trim())
            .map_err(|e| format!("files.s3_endpoint is not a URL: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") || url.query().is_some() {
            return Err("files.s3_endpoint must be an http:// or https:// address".into());
        }
        let host = match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            (None, _) => return Err("files.s3_endpoint has no host".into()),
        };
        for (name, value) in [
            ("files.s3_bucket", &cfg.s3_bucket),
            ("files.s3_access_key", &cfg.s3_access_key),
            ("files.s3_secret_key", &cfg.s3_secret_key),
        ] {
            if value.trim().is_empty() {
                return Err(format!("{name} must be set when files.s3_endpoint is"));
            }
        }
        let region = match cfg.s3_region.trim() {
            "" => "us-east-1",
            r => r,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            // Between two pieces of a body, not for the whole of a 2 GB video.
            .read_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| format!("HTTP client for the file store: {e}"))?;
        Ok(Self {
            http,
            endpoint: format!("{}://{host}", url.scheme()),
            prefix: url.path().trim_end_matches('/').to_string(),
            host,
            bucket: cfg.s3_bucket.trim().to_string(),
            region: region.to_string(),
            access_key: cfg.s3_access_key.trim().to_string(),
            secret_key: cfg.s3_secret_key.trim().to_string(),
        })
    }

    /// A signed request for the object `key`; `extra` headers are signed too.
    fn request(
        &self,
        method: Method,
        key: &str,
        extra: &[(&str, &str)],
        payload_sha256: &str,
    ) -> reqwest::RequestBuilder {
        let path = sigv4::encode_path(&format!("{}/{}/{key}", self.prefix, self.bucket));
        let amz_date = jiff::Timestamp::now()
            .strftime("%Y%m%dT%H%M%SZ")
            .to_string();
        let mut headers: Vec<(&str, &str)> = vec![
            ("host", &self.host),
            ("x-amz-content-sha256", payload_sha256),
            ("x-amz-date", &amz_date),
        ];
        headers.extend_from_slice(extra);
        let authorization = sigv4::authorization(
            &Credentials {
                access_key: &self.access_key,
                secret_key: &self.secret_key,
                region: &self.region,
            },
            &amz_date,
            &Canonical {
                method: method.as_str(),
                path: &path,
                headers: &headers,
                payload_sha256,
            },
        );
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.endpoint))
            .header(header::AUTHORIZATION, authorization);
        // `Host` is set by the client from the address, to the same text.
        for (name, value) in headers.iter().filter(|(n, _)| *n != "host") {
            req = req.header(*name, *value);
        }
        req
    }

    /// Uploads the file at `path` as the object `key`, streaming it, with
    /// its length and SHA-256 declared (and signed) up front.
    pub(crate) async fn put(
        &self,
        key: &str,
        path: &Path,
        size: u64,
        sha256: &str,
        content_type: &str,
    ) -> Result<(), Failure> {
        let body = tokio::fs::File::open(path).await.map_err(Failure::Local)?;
        let length = size.to_string();
        let response = self
            .request(Method::PUT, key, &[("content-length", &length)], sha256)
            .header(header::CONTENT_TYPE, content_type)
            .body(reqwest::Body::from(body))
            .send()
            .await
            .map_err(Failure::Transport)?;
        check(response).await.map(drop)
    }

    /// The object's bytes, or the inclusive byte range `range` of them, as
    /// they arrive.
    pub(crate) async fn get(
        &self,
        key: &str,
        range: Option<std::ops::RangeInclusive<u64>>,
    ) -> Result<ByteStream, Failure> {
        let partial = range.is_some();
        let spec = range.map(|r| format!("bytes={}-{}", r.start(), r.end()));
        let extra: Vec<(&str, &str)> = spec.iter().map(|s| ("range", s.as_str())).collect();
        let response = self
            .request(Method::GET, key, &extra, EMPTY_SHA256)
            .send()
            .await
            .map_err(Failure::Transport)?;
        let response = check(response).await?;
        // The answer's length is promised before its bytes: a store that
        // ignored the range would send more than that.
        if partial && response.status() != StatusCode::PARTIAL_CONTENT {
            return Err(Failure::Refused {
                status: response.status(),
                code: "RangeIgnored".into(),
            });
        }
        Ok(response
            .bytes_stream()
            .map_err(std::io::Error::other)
            .boxed())
    }

    /// Removes the object; one already gone is no error (S3 answers 204
    /// either way).
    pub(crate) async fn delete(&self, key: &str) -> Result<(), Failure> {
        let response = self
            .request(Method::DELETE, key, &[], EMPTY_SHA256)
            .send()
            .await
            .map_err(Failure::Transport)?;
        check(response).await.map(drop)
    }
}

/// The response if it is a success, or the store's error code from its
/// XML error body.
async fn check(response: reqwest::Response) -> Result<reqwest::Response, Failure> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    let text = response.text().await.unwrap_or_default();
    let code = text
        .split_once("<Code>")
        .and_then(|(_, rest)| rest.split_once("</Code>"))
        .map_or_else(|| "(no code)".to_string(), |(code, _)| code.to_string());
    Err(Failure::Refused { status, code })
}
