//! Kaspi: the "payments on Kaspi.kz" protocol. Kaspi calls the merchant
//! with a GET request and reads an XML answer:
//!
//! * `command=check&txn_id=…&account=…&sum=…`: may this account be paid
//!   (and this sum)? Nothing is written.
//! * `command=pay&txn_id=…&txn_date=YYYYMMDDHHMMSS&account=…&sum=…`: the
//!   customer paid; record it. `txn_id` is Kaspi's transaction number and
//!   the idempotency key: Kaspi repeats a `pay` it got no answer to, and a
//!   repeat is answered exactly like the first, with the same `prv_txn`.
//!
//! The answer is `<response><txn_id/><prv_txn/><sum/><result/><comment/></response>`
//! with `result`: 0 done, 1 account not found, 2 wrong sum, 3 already paid,
//! 4 try again later, 5 other refusal. Kaspi signs nothing; the endpoint
//! accepts only the credentials given to Kaspi (HTTP Basic) from the
//! addresses Kaspi calls from.
//!
//! An `account` is `P<payment>` for a payment started in the cabinet (an
//! order or a top-up with a fixed sum, Kaspi Red and installments too) or
//! `W<personal account>` to top up a balance by any sum.

use sqlx::Row;
use subtle::ConstantTimeEq;
use tabys_core::money::Money;
use tabys_core::{Error, Result};
use tabys_store::Db;

use super::{decimal, parse_decimal};
use crate::config::KaspiConfig;
use crate::payments::{self, Completed, Method, parse_reference};
use crate::{Holder, balances, orders};

pub mod result {
    pub const OK: i32 = 0;
    pub const ACCOUNT_NOT_FOUND: i32 = 1;
    pub const WRONG_SUM: i32 = 2;
    pub const ALREADY_PAID: i32 = 3;
    pub const TRY_LATER: i32 = 4;
    pub const REFUSED: i32 = 5;
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Check,
    Pay,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub command: Command,
    pub txn_id: String,
    pub account: String,
    pub sum: Money,
    pub txn_date: Option<String>,
}

/// The XML answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub txn_id: String,
    pub prv_txn: Option<i64>,
    pub sum: Option<Money>,
    pub result: i32,
    pub comment: &'static str,
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

impl Response {
    fn new(txn_id: &str, result: i32, comment: &'static str) -> Self {
        Self {
            txn_id: txn_id.to_string(),
            prv_txn: None,
            sum: None,
            result,
            comment,
        }
    }

    pub fn refused(txn_id: &str, result: i32, comment: &'static str) -> Self {
        Self::new(txn_id, result, comment)
    }

    pub fn to_xml(&self) -> String {
        let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n");
        x.push_str(&format!("<txn_id>{}</txn_id>\n", escape(&self.txn_id)));
        if let Some(p) = self.prv_txn {
            x.push_str(&format!("<prv_txn>{p}</prv_txn>\n"));
        }
        if let Some(s) = self.sum {
            x.push_str(&format!("<sum>{}</sum>\n", decimal(s)));
        }
        x.push_str(&format!(
            "<result>{}</result>\n<comment>{}</comment>\n</response>\n",
            self.result,
            escape(self.comment)
        ));
        x
    }
}

/// Reads the query string; a malformed request gets its refusal.
pub fn parse_query(query: &str) -> std::result::Result<Request, Response> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query)
        .map_err(|_| Response::new("", result::REFUSED, "bad request"))?;
    let get = |k: &str| {
        pairs
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim().to_string())
    };
    let txn_id = get("txn_id").unwrap_or_default();
    if txn_id.is_empty() || txn_id.len() > 20 || !txn_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(Response::new(&txn_id, result::REFUSED, "bad txn_id"));
    }
    let command = match get("command").as_deref() {
        Some("check") => Command::Check,
        Some("pay") => Command::Pay,
        _ => return Err(Response::new(&txn_id, result::REFUSED, "unknown command")),
    };
    let account = get("account").unwrap_or_default();
    if account.is_empty() || account.len() > 40 {
        return Err(Response::new(
            &txn_id,
            result::ACCOUNT_NOT_FOUND,
            "account not found",
        ));
    }
    let sum = match get("sum") {
        Some(s) => match parse_decimal(&s) {
            Some(m) if m.is_positive() => m,
            _ => return Err(Response::new(&txn_id, result::WRONG_SUM, "wrong sum")),
        },
        None => return Err(Response::new(&txn_id, result::WRONG_SUM, "wrong sum")),
    };
    let txn_date = get("txn_date");
    if command == Command::Pay
        && !txn_date
            .as_deref()
            .is_some_and(|d| d.len() == 14 && d.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(Response::new(&txn_id, result::REFUSED, "bad txn_date"));
    }
    Ok(Request {
        command,
        txn_id,
        account,
        sum,
        txn_date,
    })
}

/// Whether the caller is Kaspi: the configured Basic credentials, and the
/// caller's address among the allowed ones (when a list is given).
pub fn authorized(cfg: &KaspiConfig, authorization: Option<&str>, peer_ip: &str) -> bool {
    if cfg.login.is_empty() {
        return false;
    }
    if !cfg.allowed_ips.is_empty() && !cfg.allowed_ips.iter().any(|ip| ip == peer_ip) {
        return false;
    }
    use base64::Engine;
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", cfg.login, cfg.password));
    let given = authorization
        .and_then(|a| a.strip_prefix("Basic "))
        .unwrap_or_default()
        .trim();
    expected.as_bytes().ct_eq(given.as_bytes()).into()
}

enum Target {
    Payment(payments::Payment),
    Wallet(balances::Wallet),
}

async fn target(db: &Db, account: &str) -> Result<Option<Target>> {
    if let Some(id) = parse_reference(account) {
        return match payments::get(db, id).await {
            Ok(p) if p.provider == "kaspi" => Ok(Some(Target::Payment(p))),
            Ok(_) | Err(Error::NotFound) => Ok(None),
            Err(e) => Err(e),
        };
    }
    let Some(id) = account
        .strip_prefix('W')
        .and_then(|s| s.parse::<i64>().ok())
    else {
        return Ok(None);
    };
    match balances::get(db, id).await {
        Ok(w) => Ok(Some(Target::Wallet(w))),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Answers one request from Kaspi.
pub async fn handle(db: &Db, req: &Request) -> Response {
    match answer(db, req).await {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, txn = %req.txn_id, "Kaspi request not processed; Kaspi will repeat it");
            Response::new(&req.txn_id, result::TRY_LATER, "temporary error")
        }
    }
}

async fn answer(db: &Db, req: &Request) -> Result<Response> {
    let txn = &req.txn_id;
    let Some(target) = target(db, &req.account).await? else {
        return Ok(Response::new(
            txn,
            result::ACCOUNT_NOT_FOUND,
            "account not found",
        ));
    };
    match (req.command, target) {
        (Command::Check, Target::Payment(p)) => {
            if p.status == "completed" {
                return Ok(Response::new(txn, result::ALREADY_PAID, "already paid"));
            }
            if p.amount != req.sum {
                return Ok(Response {
                    sum: Some(p.amount),
                    ..Response::new(txn, result::WRONG_SUM, "wrong sum")
                });
            }
            if let (Some(order), Holder::User(user)) =
                (p.order_id, balances::get(db, p.wallet_id).await?.holder)
            {
                let order = orders::get_own(db, user, order).await?;
                if !order.is_payable() {
                    return Ok(Response::new(txn, result::ALREADY_PAID, "order closed"));
                }
            }
            Ok(Response {
                sum: Some(p.amount),
                ..Response::new(txn, result::OK, "OK")
            })
        }
        (Command::Check, Target::Wallet(_)) => Ok(Response {
            sum: Some(req.sum),
            ..Response::new(txn, result::OK, "OK")
        }),
        (Command::Pay, Target::Payment(p)) => {
            let done = payments::complete(db, p.id, "kaspi", txn, req.sum, None).await;
            match done {
                Ok(Completed::New { .. } | Completed::Replay) => paid(db, txn, req.sum).await,
                Err(Error::Conflict("amount-mismatch")) => {
                    Ok(Response::new(txn, result::WRONG_SUM, "wrong sum"))
                }
                Err(Error::Conflict(_)) => Ok(Response::new(txn, result::REFUSED, "refused")),
                Err(Error::NotFound) => Ok(Response::new(
                    txn,
                    result::ACCOUNT_NOT_FOUND,
                    "account not found",
                )),
                Err(e) => Err(e),
            }
        }
        (Command::Pay, Target::Wallet(w)) => {
            let now = db.now();
            let mut tx = db.begin().await?;
            payments::receive(&mut tx, db, now, &w, Method::Kaspi, txn, req.sum).await?;
            tx.commit().await?;
            paid(db, txn, req.sum).await
        }
    }
}

/// The answer to a recorded `pay`: the same for the first and every repeat.
async fn paid(db: &Db, txn: &str, sum: Money) -> Result<Response> {
    let row = sqlx::query("SELECT id FROM ledger_postings WHERE idem_key = $1")
        .bind(format!("kaspi:{txn}"))
        .fetch_one(db.read())
        .await?;
    Ok(Response {
        prv_txn: Some(row.try_get(0)?),
        sum: Some(sum),
        ..Response::new(txn, result::OK, "OK")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_parse_and_bad_ones_get_their_result_code() {
        let r =
            parse_query("command=pay&txn_id=123&txn_date=20260302120000&account=P5&sum=1500.50");
        assert_eq!(
            r.as_ref().map(|r| (r.command, r.sum)),
            Ok((Command::Pay, Money::from_tiyn(150_050)))
        );
        let code = |q: &str| parse_query(q).err().map(|r| r.result);
        assert_eq!(
            code("command=check&txn_id=1&account=P5&sum=1.001"),
            Some(result::WRONG_SUM)
        );
        assert_eq!(
            code("command=check&txn_id=1&account=P5&sum=-3"),
            Some(result::WRONG_SUM)
        );
        assert_eq!(
            code("command=check&txn_id=1&account=P5&sum=0"),
            Some(result::WRONG_SUM)
        );
        assert_eq!(
            code("command=check&txn_id=abc&account=P5&sum=1"),
            Some(result::REFUSED)
        );
        assert_eq!(
            code("command=drop&txn_id=1&account=P5&sum=1"),
            Some(result::REFUSED)
        );
        assert_eq!(
            code("command=pay&txn_id=1&account=P5&sum=1"),
            Some(result::REFUSED)
        );
        assert_eq!(
            code("command=check&txn_id=1&sum=1"),
            Some(result::ACCOUNT_NOT_FOUND)
        );
    }

    #[test]
    fn answers_are_xml_with_escaped_text() {
        let r = Response {
            prv_txn: Some(9),
            sum: Some(Money::from_tiyn(100)),
            ..Response::new("77", 0, "OK")
        };
        let x = r.to_xml();
        assert!(
            x.contains("<txn_id>77</txn_id>")
                && x.contains("<prv_txn>9</prv_txn>")
                && x.contains("<sum>1.00</sum>")
        );
        assert!(x.contains("<result>0</result>"));
        assert_eq!(escape("<a&b>"), "&lt;a&amp;b&gt;");
    }

    #[test]
    fn only_kaspi_credentials_from_allowed_addresses_pass() {
        let cfg = KaspiConfig {
            login: "kaspi".into(),
            password: "pw".into(),
            allowed_ips: vec!["10.0.0.1".into()],
            ..KaspiConfig::default()
        };
        use base64::Engine;
        let good = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("kaspi:pw")
        );
        assert!(authorized(&cfg, Some(&good), "10.0.0.1"));
        assert!(!authorized(&cfg, Some(&good), "10.0.0.2"));
        assert!(!authorized(
            &cfg,
            Some("Basic a2FzcGk6d3Jvbmc="),
            "10.0.0.1"
        ));
        assert!(!authorized(&cfg, None, "10.0.0.1"));
        assert!(!authorized(
            &KaspiConfig::default(),
            Some(&good),
            "10.0.0.1"
        ));
    }
}
