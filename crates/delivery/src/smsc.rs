//! SMSC.kz's HTTP API (`/sys/send.php`, `/sys/status.php`), answers in
//! JSON (`fmt=3`). Each message is sent with `id` = our delivery id, so the
//! provider can be asked later whether it got a message whose sending was
//! interrupted, and `cost=3` so the answer carries the price, which the
//! organizer is then charged (plus 5 %) when it uses the operator's account.

use std::time::Duration;

use tabys_core::money::Money;

/// The markup on SMS sent through the operator's account (AT 4.6, AT-6).
pub const MARKUP_PERCENT: i64 = 5;

/// One SMSC account.
#[derive(Clone)]
pub struct Account {
    pub url: String,
    pub login: String,
    pub password: String,
    pub sender: String,
}

/// What SMSC said to a send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted: SMSC's id, number of SMS parts, and the price in
    /// millionths of a tenge (exact, whatever decimals SMSC used).
    Sent {
        id: String,
        parts: i64,
        cost_micro: i128,
    },
    /// An error answer, with SMSC's code and text; `retry` if trying later may help.
    Refused {
        code: i64,
        text: String,
        retry: bool,
    },
    /// No answer (timeout, connection, not JSON): retried.
    Unreachable(String),
}

/// What SMSC said about an earlier message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusOutcome {
    /// SMSC has a message with that id: its status and price.
    Known {
        status: i64,
        cost_micro: i128,
    },
    /// SMSC never got it (status -3): it may be sent.
    NotFound,
    Unknown(String),
}

/// Whether an SMSC error code may go away by trying later: 3 (no money on
/// the account), 4 (IP blocked for a while), 9 (too many requests).
/// Parameters, login, date, forbidden text, phone format and undeliverable
/// number (1, 2, 5, 6, 7, 8) will not.
pub fn retryable(code: i64) -> bool {
    matches!(code, 3 | 4 | 9)
}

/// A decimal amount of tenge (`"7.5"`, `12`, `"0.125"`) in millionths.
pub fn parse_micro(v: &serde_json::Value) -> Option<i128> {
    let text = match v {
        serde_json::Value::String(s) => s.trim().to_string(),
        serde_json::Value::Number(n) => n.to_string(),
        _ => return None,
    };
    let (whole, frac) = text.split_once('.').unwrap_or((&text, ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 6
    {
        return None;
    }
    let whole: i128 = whole.parse().ok()?;
    let frac_val: i128 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    let scale = 10i128.pow(6 - u32::try_from(frac.len()).ok()?);
    Some(whole * 1_000_000 + frac_val * scale)
}

/// The provider's price in whole tiyn, rounded up.
pub fn cost_tiyn(cost_micro: i128) -> Money {
    Money::from_tiyn(i64::try_from((cost_micro + 9_999) / 10_000).unwrap_or(i64::MAX))
}

/// What the organizer pays for one message: the provider's exact price
/// plus 5 %, rounded UP to a whole tiyn, once per message. One rule, so
/// the operator never pays for an organizer's SMS out of its own margin.
pub fn charge_tiyn(cost_micro: i128) -> Money {
    let with_markup = cost_micro * i128::from(100 + MARKUP_PERCENT);
    // millionths of a tenge × 100 → tiyn: divide by 10_000 × 100.
    let d = 1_000_000i128;
    Money::from_tiyn(i64::try_from((with_markup + d - 1) / d).unwrap_or(i64::MAX))
}

pub struct Client {
    http: reqwest::Client,
}

impl Client {
    pub fn new(timeout_ms: u64) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(timeout_ms))
            .build()
            .unwrap_or_default();
        Self { http }
    }

    /// Sends one SMS with our id.
    pub async fn send(&self, account: &Account, phone: &str, text: &str, id: i64) -> SendOutcome {
        let id_text = id.to_string();
        let mut form = vec![
            ("login", account.login.as_str()),
            ("psw", account.password.as_str()),
            ("phones", phone),
            ("mes", text),
            ("id", id_text.as_str()),
            ("charset", "utf-8"),
            ("fmt", "3"),
            ("cost", "3"),
        ];
        if !account.sender.is_empty() {
            form.push(("sender", account.sender.as_str()));
        }
        let url = format!("{}/sys/send.php", account.url.trim_end_matches('/'));
        let answer = match self.http.post(url).form(&form).send().await {
            Ok(r) => r.json::<serde_json::Value>().await,
            Err(e) => return SendOutcome::Unreachable(e.to_string()),
        };
        let v = match answer {
            Ok(v) => v,
            Err(e) => return SendOutcome::Unreachable(format!("not JSON: {e}")),
        };
        if let Some(code) = v.get("error_code").and_then(serde_json::Value::as_i64) {
            let text = v
                .get("error")
                .and_then(|e| e.as_str())
                .unwrap_or_default()
                .to_string();
            return SendOutcome::Refused {
                code,
                text,
                retry: retryable(code),
            };
        }
        let sms_id = match v.get("id") {
            Some(serde_json::Value::Number(n)) => n.to_string(),
            Some(serde_json::Value::String(s)) => s.clone(),
            _ => return SendOutcome::Unreachable(format!("unexpected answer {v}")),
        };
        SendOutcome::Sent {
            id: sms_id,
            parts: v
                .get("cnt")
                .and_then(serde_json::Value::as_i64)
                .unwrap_or(1),
            cost_micro: v.get("cost").and_then(parse_micro).unwrap_or(0),
        }
    }

    /// Asks about a message sent with our id.
    pub async fn status(&self, account: &Account, phone: &str, id: i64) -> StatusOutcome {
        let id_text = id.to_string();
        let query = [
            ("login", account.login.as_str()),
            ("psw", account.password.as_str()),
            ("phone", phone),
            ("id", id_text.as_str()),
            ("fmt", "3"),
            ("all", "1"),
        ];
        let url = format!("{}/sys/status.php", account.url.trim_end_matches('/'));
        let v = match self.http.get(url).query(&query).send().await {
            Ok(r) => match r.json::<serde_json::Value>().await {
                Ok(v) => v,
                Err(e) => return StatusOutcome::Unknown(format!("not JSON: {e}")),
            },
            Err(e) => return StatusOutcome::Unknown(e.to_string()),
        };
        match v.get("status").and_then(serde_json::Value::as_i64) {
            Some(-3) => StatusOutcome::NotFound,
            Some(status) => StatusOutcome::Known {
                status,
                cost_micro: v.get("cost").and_then(parse_micro).unwrap_or(0),
            },
            None => StatusOutcome::Unknown(v.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_are_read_exactly_whatever_the_decimals() {
        assert_eq!(parse_micro(&serde_json::json!("7.5")), Some(7_500_000));
        assert_eq!(parse_micro(&serde_json::json!(12)), Some(12_000_000));
        assert_eq!(parse_micro(&serde_json::json!("0.125")), Some(125_000));
        assert_eq!(parse_micro(&serde_json::json!("-1")), None);
        assert_eq!(parse_micro(&serde_json::json!("1e3")), None);
    }

    #[test]
    fn the_organizer_pays_the_price_plus_five_percent_rounded_up_to_a_tiyn() {
        // 10 ₸ → 10.50 ₸ exactly.
        assert_eq!(charge_tiyn(10_000_000).tiyn(), 1050);
        // 7.5 ₸ × 1.05 = 7.875 ₸ → 7.88 ₸.
        assert_eq!(charge_tiyn(7_500_000).tiyn(), 788);
        // 0.01 ₸ × 1.05 = 0.0105 ₸ → 0.02 ₸.
        assert_eq!(charge_tiyn(10_000).tiyn(), 2);
        assert_eq!(charge_tiyn(0).tiyn(), 0);
        assert_eq!(cost_tiyn(7_875_000).tiyn(), 788);
    }

    #[test]
    fn only_passing_errors_are_retried() {
        for code in [3, 4, 9] {
            assert!(retryable(code));
        }
        for code in [1, 2, 5, 6, 7, 8] {
            assert!(!retryable(code));
        }
    }
}
