//! A stand-in for SMSC.kz's HTTP API: `/sys/send.php` and
//! `/sys/status.php` with JSON answers (`fmt=3`), the documented error
//! codes (1 parameters, 2 login or password, 3 no money, 6 forbidden
//! text, 7 phone format, 8 undeliverable, 9 duplicate request), the price
//! of each message (`cost=3`) and the client's own message `id`, which
//! later finds the message's status. It can be told to answer errors, or
//! to keep a message and answer as if it had broken down.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, RawForm, State};
use axum::http::{Method, StatusCode};
use axum::response::{IntoResponse, Response};

/// The fake's accounts and prices.
#[derive(Debug, Clone)]
pub struct SmscConfig {
    /// login → password.
    pub accounts: HashMap<String, String>,
    /// Price of one SMS part, in tenge as SMSC writes it.
    pub part_price: String,
}

impl Default for SmscConfig {
    fn default() -> Self {
        Self {
            accounts: HashMap::from([("tabys".to_string(), "smsc-test-password".to_string())]),
            part_price: "10.5".into(),
        }
    }
}

/// What the fake is told to do wrong.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct SmscMode {
    /// The next sends answer these error codes, in order.
    pub errors: Vec<i64>,
    /// The next n sends keep the message and answer HTTP 500.
    pub break_after_keeping: usize,
}

/// A message SMSC accepted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Sms {
    pub smsc_id: i64,
    /// The client's `id`.
    pub id: String,
    pub login: String,
    pub phone: String,
    pub text: String,
    pub sender: String,
    pub parts: i64,
    /// In tenge, as answered.
    pub cost: String,
}

#[derive(Default)]
pub(crate) struct Data {
    pub(crate) sent: Vec<Sms>,
    mode: SmscMode,
    calls: usize,
}

#[derive(Clone)]
pub struct FakeSmsc {
    pub(crate) cfg: Arc<SmscConfig>,
    pub(crate) data: Arc<Mutex<Data>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn error_text(code: i64) -> &'static str {
    match code {
        1 => "parameters error",
        2 => "authorise error",
        3 => "no money",
        4 => "IP is blocked",
        5 => "invalid date format",
        6 => "message is denied",
        7 => "invalid number",
        8 => "cannot deliver",
        9 => "duplicate request, wait a minute",
        _ => "error",
    }
}

fn error(code: i64, id: Option<&str>) -> Response {
    let mut v = serde_json::json!({ "error": error_text(code), "error_code": code });
    if let Some(id) = id {
        v["id"] = serde_json::Value::String(id.to_string());
    }
    axum::Json(v).into_response()
}

/// Parts of an SMS: 160 Latin characters or 70 others per part
/// (153 and 67 when split).
pub fn parts(text: &str) -> i64 {
    let n = i64::try_from(text.chars().count()).unwrap_or(i64::MAX);
    let gsm = text.is_ascii();
    let (one, many) = if gsm { (160, 153) } else { (70, 67) };
    if n <= one { 1 } else { (n + many - 1) / many }
}

fn times(price: &str, parts: i64) -> String {
    // Exact decimal multiplication on the text: "10.5" × 2 = "21.0".
    let (whole, frac) = price.split_once('.').unwrap_or((price, ""));
    let scale = 10i64.pow(u32::try_from(frac.len()).unwrap_or(0));
    let units = whole.parse::<i64>().unwrap_or(0) * scale + frac.parse::<i64>().unwrap_or(0);
    let total = units * parts;
    if frac.is_empty() {
        total.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            total / scale,
            total % scale,
            width = frac.len()
        )
    }
}

impl FakeSmsc {
    pub fn new(cfg: SmscConfig) -> Self {
        Self {
            cfg: Arc::new(cfg),
            data: Arc::new(Mutex::new(Data::default())),
        }
    }

    pub fn sent(&self) -> Vec<Sms> {
        lock(&self.data).sent.clone()
    }

    pub fn set_mode(&self, mode: SmscMode) {
        lock(&self.data).mode = mode;
    }

    /// How many send requests arrived, answered or not.
    pub fn calls(&self) -> usize {
        lock(&self.data).calls
    }

    fn params(
        method: &Method,
        query: &HashMap<String, String>,
        body: &[u8],
    ) -> HashMap<String, String> {
        let mut p = query.clone();
        if method == Method::POST {
            let form: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).unwrap_or_default();
            p.extend(form);
        }
        p
    }

    fn authorised(&self, p: &HashMap<String, String>) -> bool {
        match (p.get("login"), p.get("psw")) {
            (Some(l), Some(pw)) => self.cfg.accounts.get(l) == Some(pw),
            _ => false,
        }
    }

    fn send(&self, p: &HashMap<String, String>) -> Response {
        lock(&self.data).calls += 1;
        if !self.authorised(p) {
            return error(2, None);
        }
        let (Some(phones), Some(text)) = (p.get("phones"), p.get("mes")) else {
            return error(1, None);
        };
        let id = p.get("id").cloned().unwrap_or_default();
        let digits: String = phones.chars().filter(|c| *c != '+').collect();
        if digits.len() != 11
            || !digits.starts_with('7')
            || !digits.bytes().all(|b| b.is_ascii_digit())
        {
            return error(7, Some(&id));
        }
        let login = p.get("login").cloned().unwrap_or_default();
        let mut data = lock(&self.data);
        if !data.mode.errors.is_empty() {
            let code = data.mode.errors.remove(0);
            return error(code, Some(&id));
        }
        if !id.is_empty() && data.sent.iter().any(|s| s.login == login && s.id == id) {
            return error(9, Some(&id));
        }
        let parts = parts(text);
        let cost = times(&self.cfg.part_price, parts);
        let smsc_id = i64::try_from(data.sent.len()).unwrap_or(0) + 1;
        data.sent.push(Sms {
            smsc_id,
            id: id.clone(),
            login,
            phone: format!("+{digits}"),
            text: text.clone(),
            sender: p.get("sender").cloned().unwrap_or_default(),
            parts,
            cost: cost.clone(),
        });
        if data.mode.break_after_keeping > 0 {
            data.mode.break_after_keeping -= 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error").into_response();
        }
        let answer_id: serde_json::Value = id
            .parse::<i64>()
            .map_or(serde_json::Value::from(smsc_id), serde_json::Value::from);
        axum::Json(
            serde_json::json!({ "id": answer_id, "cnt": parts, "cost": cost, "balance": "1000.0" }),
        )
        .into_response()
    }

    fn status(&self, p: &HashMap<String, String>) -> Response {
        if !self.authorised(p) {
            return error(2, None);
        }
        let (Some(id), Some(phone)) = (p.get("id"), p.get("phone")) else {
            return error(1, None);
        };
        let login = p.get("login").cloned().unwrap_or_default();
        let digits: String = phone.chars().filter(|c| *c != '+').collect();
        let data = lock(&self.data);
        match data
            .sent
            .iter()
            .find(|s| s.login == login && &s.id == id && s.phone.trim_start_matches('+') == digits)
        {
            Some(s) => axum::Json(serde_json::json!({ "status": 1, "cost": s.cost, "sms_cnt": s.parts, "phone": s.phone }))
                .into_response(),
            None => axum::Json(serde_json::json!({ "status": -3 })).into_response(),
        }
    }
}

pub(crate) async fn send_php(
    State(f): State<FakeSmsc>,
    method: Method,
    Query(q): Query<HashMap<String, String>>,
    RawForm(body): RawForm,
) -> Response {
    let p = FakeSmsc::params(&method, &q, &body);
    f.send(&p)
}

pub(crate) async fn status_php(
    State(f): State<FakeSmsc>,
    method: Method,
    Query(q): Query<HashMap<String, String>>,
    RawForm(body): RawForm,
) -> Response {
    let p = FakeSmsc::params(&method, &q, &body);
    f.status(&p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cyrillic_text_takes_a_part_per_seventy_characters_and_costs_per_part() {
        assert_eq!(parts("hello"), 1);
        assert_eq!(parts(&"я".repeat(70)), 1);
        assert_eq!(parts(&"я".repeat(71)), 2);
        assert_eq!(times("10.5", 2), "21.0");
        assert_eq!(times("7", 3), "21");
    }
}
