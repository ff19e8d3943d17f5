//! AWS Signature Version 4, as S3 and every S3-compatible store (MinIO,
//! Ceph, Yandex Object Storage, PS Cloud) check it: a canonical form of the
//! request is hashed, and that hash is signed with a key derived from the
//! secret, the day, the region and the service. The secret itself never
//! travels.

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

/// `x-amz-content-sha256` of an empty body.
pub(crate) const EMPTY_SHA256: &str =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Who signs, and where.
pub(crate) struct Credentials<'a> {
    pub access_key: &'a str,
    pub secret_key: &'a str,
    pub region: &'a str,
}

/// The parts of a request that are signed.
pub(crate) struct Canonical<'a> {
    pub method: &'a str,
    /// The path exactly as sent, already percent-encoded ([`encode_path`]).
    pub path: &'a str,
    /// The headers to sign, names in lowercase; `host`, `x-amz-date` and
    /// `x-amz-content-sha256` must be among them.
    pub headers: &'a [(&'a str, &'a str)],
    /// Hex SHA-256 of the body, the same text as `x-amz-content-sha256`.
    pub payload_sha256: &'a str,
}

fn hmac(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

/// The `Authorization` header for `request` made at `amz_date`
/// (`YYYYMMDDTHHMMSSZ`, the same text as the `x-amz-date` header).
pub(crate) fn authorization(
    creds: &Credentials<'_>,
    amz_date: &str,
    request: &Canonical<'_>,
) -> String {
    let day = amz_date.get(..8).unwrap_or(amz_date);
    let scope = format!("{day}/{}/s3/aws4_request", creds.region);
    let mut headers: Vec<(String, String)> = request
        .headers
        .iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), trim_value(value)))
        .collect();
    headers.sort();
    let signed = headers
        .iter()
        .map(|(name, _)| name.as_str())
        .collect::<Vec<_>>()
        .join(";");
    let mut canonical = format!("{}\n{}\n\n", request.method, request.path);
    for (name, value) in &headers {
        canonical.push_str(&format!("{name}:{value}\n"));
    }
    canonical.push_str(&format!("\n{signed}\n{}", request.payload_sha256));
    let to_sign = format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}",
        hex::encode(Sha256::digest(canonical.as_bytes()))
    );
    let key = hmac(format!("AWS4{}", creds.secret_key).as_bytes(), day);
    let key = hmac(&key, creds.region);
    let key = hmac(&key, "s3");
    let key = hmac(&key, "aws4_request");
    let signature = hex::encode(hmac(&key, &to_sign));
    format!(
        "AWS4-HMAC-SHA256 Credential={}/{scope},SignedHeaders={signed},Signature={signature}",
        creds.access_key
    )
}

/// A header value as signed: trimmed, inner runs of spaces made one.
fn trim_value(value: &str) -> String {
    value.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A path percent-encoded the way SigV4 expects: every byte but letters,
/// digits, `-._~` and `/` as `%XX` in capitals.
pub(crate) fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The GET Object example of the SigV4 documentation for S3 ("Example:
    /// GET Object", a range of the first ten bytes of `test.txt`).
    #[test]
    fn the_documented_get_object_example_is_signed_as_aws_signs_it() {
        let creds = Credentials {
            access_key: "AKIAIOSFODNN7EXAMPLE",
            secret_key: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
            region: "us-east-1",
        };
        let request = Canonical {
            method: "GET",
            path: "/test.txt",
            headers: &[
                ("Host", "examplebucket.s3.amazonaws.com"),
                ("Range", "bytes=0-9"),
                ("x-amz-content-sha256", EMPTY_SHA256),
                ("x-amz-date", "20130524T000000Z"),
            ],
            payload_sha256: EMPTY_SHA256,
        };
        assert_eq!(
            authorization(&creds, "20130524T000000Z", &request),
            "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request,\
             SignedHeaders=host;range;x-amz-content-sha256;x-amz-date,\
             Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41"
        );
    }

    #[test]
    fn another_secret_or_day_gives_another_signature() {
        let request = Canonical {
            method: "GET",
            path: "/test.txt",
            headers: &[("host", "h"), ("x-amz-date", "20130524T000000Z")],
            payload_sha256: EMPTY_SHA256,
        };
        let sign = |secret: &str, date: &str| {
            let creds = Credentials {
                access_key: "A",
                secret_key: secret,
                region: "us-east-1",
            };
            authorization(&creds, date, &request)
        };
        let base = sign("one", "20130524T000000Z");
        assert_ne!(base, sign("two", "20130524T000000Z"));
        assert_ne!(base, sign("one", "20130525T000000Z"));
    }

    #[test]
    fn paths_keep_their_slashes_and_encode_the_rest() {
        assert_eq!(encode_path("/b/12/ab~c.d_e-f"), "/b/12/ab~c.d_e-f");
        assert_eq!(encode_path("/b/a b+ж"), "/b/a%20b%2B%D0%B6");
    }
}
