//! The card gateway: the CloudPayments protocol, which TipTop Pay speaks in
//! Kazakhstan.
//!
//! * API calls are JSON over HTTPS with HTTP Basic authentication (Public
//!   ID : API secret): `orders/create` makes a payment link, `payments/get`
//!   and `payments/find` read a transaction back, `payments/refund` returns
//!   money, `payments/tokens/charge` charges a saved card, `payments/list`
//!   lists a day's transactions for reconciliation. Calls that move money
//!   carry `X-Request-ID`, which the gateway uses to answer a repeat with
//!   the first answer instead of moving money twice.
//! * Notifications (Check, Pay, Fail, Refund) come as a form whose raw body
//!   is signed: `Content-HMAC` = base64(HMAC-SHA256(raw body, API secret)).
//!   We answer `{"code": 0}` to accept; another code refuses (Check) or
//!   asks the gateway to send again later (Pay).
//!
//! A Pay notification is believed only after its signature checks out and
//! the transaction, read back from the gateway by its id, says the same:
//! completed, same invoice, same amount. Then it is posted exactly once
//! under `cloudpayments:<TransactionId>`.

use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use tabys_core::money::Money;
use tabys_core::{Error, Result};
use tabys_store::Db;

use super::{decimal, parse_decimal};
use crate::config::BillingConfig;
use crate::payments::{self, Card, Completed, parse_reference};

/// Answer codes of a notification.
pub mod code {
    pub const OK: i32 = 0;
    /// Unknown invoice (our payment reference).
    pub const BAD_INVOICE: i32 = 10;
    /// The payer is not the one the payment is for.
    pub const BAD_ACCOUNT: i32 = 11;
    pub const BAD_AMOUNT: i32 = 12;
    /// Refused: bad signature, wrong currency, already paid, or try later.
    pub const REJECTED: i32 = 13;
    /// The order's time to pay is over.
    pub const EXPIRED: i32 = 20;
}

/// `base64(HMAC-SHA256(body, secret))`.
pub fn signature(secret: &str, body: &[u8]) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this branch cannot be reached.
        Err(_) => return String::new(),
    };
    mac.update(body);
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Whether `header` is the signature of `body`, compared in constant time.
pub fn verify(secret: &str, body: &[u8], header: Option<&str>) -> bool {
    let Some(given) = header else { return false };
    if secret.is_empty() {
        return false;
    }
    let expected = signature(secret, body);
    expected.as_bytes().ct_eq(given.trim().as_bytes()).into()
}

/// The kinds of notification we take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Check,
    Pay,
    Fail,
    Refund,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "check" => Some(Self::Check),
            "pay" => Some(Self::Pay),
            "fail" => Some(Self::Fail),
            "refund" => Some(Self::Refund),
            _ => None,
        }
    }
}

/// The fields of a notification we use.
#[derive(Debug, Clone)]
pub struct Notification {
    pub transaction_id: String,
    pub amount: Money,
    pub invoice_id: String,
    pub account_id: String,
    /// For a Refund notification: the payment being refunded.
    pub payment_transaction_id: Option<String>,
    pub status: String,
    pub token: Option<String>,
    pub card_last_four: String,
    pub card_type: String,
}

/// Reads a notification's form body; an amount with a fraction of a tiyn,
/// a currency other than tenge or a missing field is refused.
pub fn parse(body: &[u8]) -> std::result::Result<Notification, &'static str> {
    let pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(body).map_err(|_| "bad-request")?;
    let get = |k: &str| pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let transaction_id = get("TransactionId")
        .filter(|t| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit()))
        .ok_or("bad-transaction")?;
    let amount = get("Amount")
        .and_then(|a| parse_decimal(&a))
        .filter(|a| a.is_positive())
        .ok_or("bad-amount")?;
    if get("Currency").as_deref() != Some("KZT") {
        return Err("currency-unknown");
    }
    Ok(Notification {
        transaction_id,
        amount,
        invoice_id: get("InvoiceId").unwrap_or_default(),
        account_id: get("AccountId").unwrap_or_default(),
        payment_transaction_id: get("PaymentTransactionId"),
        status: get("Status").unwrap_or_default(),
        token: get("Token").filter(|t| !t.is_empty()),
        card_last_four: get("CardLastFour").unwrap_or_default(),
        card_type: get("CardType").unwrap_or_default(),
    })
}

/// A transaction as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transaction {
    pub transaction_id: String,
    pub amount: Money,
    pub invoice_id: String,
    pub status: String,
    pub operation: String,
    /// For a refund: the payment it returned money from.
    pub payment_transaction_id: Option<String>,
}

impl Transaction {
    fn from_model(m: &serde_json::Value) -> Option<Self> {
        let id = match &m["TransactionId"] {
            serde_json::Value::Number(n) => n.to_string(),
            serde_json::Value::String(s) => s.clone(),
            _ => return None,
        };
        Some(Self {
            transaction_id: id,
            amount: json_amount(&m["Amount"])?,
            invoice_id: m["InvoiceId"].as_str().unwrap_or_default().to_string(),
            status: m["Status"].as_str().unwrap_or_default().to_string(),
            operation: m["OperationType"].as_str().unwrap_or("Payment").to_string(),
            payment_transaction_id: match &m["PaymentTransactionId"] {
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
                _ => None,
            },
        })
    }
}

/// A JSON amount read through its decimal text, never through a float sum.
fn json_amount(v: &serde_json::Value) -> Option<Money> {
    match v {
        serde_json::Value::Number(n) => parse_decimal(&n.to_string()),
        serde_json::Value::String(s) => parse_decimal(s),
        _ => None,
    }
}

/// An amount as a JSON number with exactly the tiyn it holds.
fn amount_json(m: Money) -> serde_json::Value {
    serde_json::from_str(&decimal(m)).unwrap_or(serde_json::Value::Null)
}

/// The gateway's API.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    user: String,
    secret: String,
}

/// What a money-moving call ended in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Done; the gateway's transaction id.
    Done(String),
    /// The gateway refused for good, with its reason.
    Declined(String),
}

impl Client {
    pub fn new(cfg: &BillingConfig) -> Self {
        // Building fails only without a usable TLS backend; the default
        // client then still serves plain HTTP to the local gateway.
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(cfg.provider_timeout_ms))
            .pool_max_idle_per_host(64)
            .build()
            .unwrap_or_default();
        Self {
            http,
            base: cfg.cloudpayments.api_url.trim_end_matches('/').to_string(),
            user: cfg.cloudpayments.public_id.clone(),
            secret: cfg.cloudpayments.api_secret.clone(),
        }
    }

    async fn call(
        &self,
        path: &str,
        body: serde_json::Value,
        request_id: Option<&str>,
    ) -> Result<serde_json::Value> {
        if self.base.is_empty() {
            return Err(Error::Conflict("method-unavailable"));
        }
        let mut req = self
            .http
            .post(format!("{}/{path}", self.base))
            .basic_auth(&self.user, Some(&self.secret))
            .json(&body);
        if let Some(id) = request_id {
            req = req.header("X-Request-ID", id);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::Internal(format!("gateway {path}: {e}")))?;
        if !resp.status().is_success() {
            return Err(Error::Internal(format!(
                "gateway {path}: HTTP {}",
                resp.status()
            )));
        }
        resp.json()
            .await
            .map_err(|e| Error::Internal(format!("gateway {path}: {e}")))
    }

    /// A payment link (`orders/create`) for an intent: where the payer goes
    /// to enter the card.
    pub async fn create_link(
        &self,
        p: &payments::Payment,
        account_id: &str,
        description: &str,
        email: &str,
        return_url: &str,
    ) -> Result<String> {
        let body = serde_json::json!({
            "Amount": amount_json(p.amount),
            "Currency": "KZT",
            "Description": description,
            "Email": email,
            "RequireConfirmation": false,
            "InvoiceId": p.reference(),
            "AccountId": account_id,
            "SuccessRedirectUrl": return_url,
            "FailRedirectUrl": return_url,
            "JsonData": { "SaveCard": p.save_card },
        });
        let v = self
            .call("orders/create", body, Some(&format!("link-{}", p.id)))
            .await?;
        match (v["Success"].as_bool(), v["Model"]["Url"].as_str()) {
            (Some(true), Some(url)) => Ok(url.to_string()),
            _ => Err(Error::Internal(format!(
                "gateway orders/create refused: {}",
                v["Message"]
            ))),
        }
    }

    /// Reads a transaction back by its id.
    pub async fn get(&self, transaction_id: &str) -> Result<Option<Transaction>> {
        let v = self
            .call(
                "payments/get",
                serde_json::json!({ "TransactionId": transaction_id }),
                None,
            )
            .await?;
        if v["Success"].as_bool() != Some(true) {
            return Ok(None);
        }
        Ok(Transaction::from_model(&v["Model"]))
    }

    /// The newest transaction of an invoice.
    pub async fn find(&self, invoice_id: &str) -> Result<Option<Transaction>> {
        let v = self
            .call(
                "payments/find",
                serde_json::json!({ "InvoiceId": invoice_id }),
                None,
            )
            .await?;
        if v["Success"].as_bool() != Some(true) {
            return Ok(None);
        }
        Ok(Transaction::from_model(&v["Model"]))
    }

    /// Returns `amount` of a card payment.
    pub async fn refund(
        &self,
        transaction_id: &str,
        amount: Money,
        request_id: &str,
    ) -> Result<Outcome> {
        let body =
            serde_json::json!({ "TransactionId": transaction_id, "Amount": amount_json(amount) });
        let v = self.call("payments/refund", body, Some(request_id)).await?;
        Ok(outcome(&v))
    }

    /// Charges a saved card.
    pub async fn charge_token(
        &self,
        token: &str,
        account_id: &str,
        amount: Money,
        invoice_id: &str,
        description: &str,
        request_id: &str,
    ) -> Result<Outcome> {
        let body = serde_json::json!({
            "Amount": amount_json(amount),
            "Currency": "KZT",
            "Token": token,
            "AccountId": account_id,
            "InvoiceId": invoice_id,
            "Description": description,
        });
        let v = self
            .call("payments/tokens/charge", body, Some(request_id))
            .await?;
        Ok(outcome(&v))
    }

    /// Every transaction of a calendar day (`YYYY-MM-DD`), payments and refunds.
    pub async fn list(&self, date: &str) -> Result<Vec<Transaction>> {
        let v = self
            .call(
                "payments/list",
                serde_json::json!({ "Date": date, "TimeZone": "KZT" }),
                None,
            )
            .await?;
        Ok(v["Model"]
            .as_array()
            .map(|a| a.iter().filter_map(Transaction::from_model).collect())
            .unwrap_or_default())
    }
}

fn outcome(v: &serde_json::Value) -> Outcome {
    let id = match &v["Model"]["TransactionId"] {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => String::new(),
    };
    if v["Success"].as_bool() == Some(true) && !id.is_empty() {
        Outcome::Done(id)
    } else {
        let reason = v["Model"]["CardHolderMessage"]
            .as_str()
            .or(v["Message"].as_str())
            .unwrap_or("declined");
        Outcome::Declined(reason.to_string())
    }
}

/// Handles one notification end to end and returns the code to answer.
pub async fn on_notification(
    db: &Db,
    client: &Client,
    secret: &str,
    kind: Kind,
    body: &[u8],
    hmac: Option<&str>,
) -> i32 {
    if !verify(secret, body, hmac) {
        tracing::warn!(?kind, "gateway notification with a bad signature refused");
        return code::REJECTED;
    }
    let n = match parse(body) {
        Ok(n) => n,
        Err(why) => {
            tracing::warn!(?kind, why, "gateway notification refused");
            return if why == "bad-amount" {
                code::BAD_AMOUNT
            } else {
                code::REJECTED
            };
        }
    };
    let result = match kind {
        Kind::Check => check(db, &n).await,
        Kind::Pay => pay(db, client, &n).await,
        // A failed attempt moves no money; the intent stays open for another try.
        Kind::Fail => Ok(code::OK),
        Kind::Refund => refunded(db, &n).await,
    };
    result.unwrap_or_else(|e| {
        tracing::error!(?kind, error = %e, transaction = %n.transaction_id, "gateway notification not processed; the gateway will send it again");
        code::REJECTED
    })
}

/// Check: may this payment be taken? Nothing is written.
async fn check(db: &Db, n: &Notification) -> Result<i32> {
    let Some(id) = parse_reference(&n.invoice_id) else {
        return Ok(code::BAD_INVOICE);
    };
    let p = match payments::get(db, id).await {
        Ok(p) if p.provider == "cloudpayments" => p,
        Ok(_) | Err(Error::NotFound) => return Ok(code::BAD_INVOICE),
        Err(e) => return Err(e),
    };
    let w = crate::balances::get(db, p.wallet_id).await?;
    if w.holder.key() != n.account_id {
        return Ok(code::BAD_ACCOUNT);
    }
    if p.amount != n.amount {
        return Ok(code::BAD_AMOUNT);
    }
    if p.status == "completed" {
        return Ok(code::REJECTED);
    }
    if let (Some(order), crate::Holder::User(user)) = (p.order_id, w.holder) {
        let order = crate::orders::get_own(db, user, order).await?;
        if order.status == "void" {
            return Ok(code::EXPIRED);
        }
        if !order.is_payable() || order.due_now() != p.net() {
            return Ok(code::REJECTED);
        }
    }
    Ok(code::OK)
}

/// Pay: verify by reading the transaction back, then post once.
async fn pay(db: &Db, client: &Client, n: &Notification) -> Result<i32> {
    let Some(id) = parse_reference(&n.invoice_id) else {
        return Ok(code::BAD_INVOICE);
    };
    let Some(t) = client.get(&n.transaction_id).await? else {
        tracing::warn!(transaction = %n.transaction_id, "Pay for a transaction the gateway does not know");
        return Ok(code::BAD_INVOICE);
    };
    if t.status != "Completed" || t.invoice_id != n.invoice_id || t.amount != n.amount {
        tracing::warn!(transaction = %n.transaction_id, "Pay disagrees with the gateway's own record");
        return Ok(code::REJECTED);
    }
    let card = n.token.clone().map(|token| Card {
        token,
        last_four: n.card_last_four.clone(),
        card_type: n.card_type.clone(),
    });
    match payments::complete(db, id, "cloudpayments", &t.transaction_id, t.amount, card).await {
        Ok(Completed::New { .. } | Completed::Replay) => Ok(code::OK),
        Err(Error::NotFound) => Ok(code::BAD_INVOICE),
        Err(Error::Conflict("amount-mismatch")) => Ok(code::BAD_AMOUNT),
        Err(Error::Conflict(_)) => Ok(code::REJECTED),
        Err(e) => Err(e),
    }
}

/// Refund: the gateway confirms a refund; if it is one of our card payouts
/// still waiting, it is done.
async fn refunded(db: &Db, n: &Notification) -> Result<i32> {
    let Some(original) = &n.payment_transaction_id else {
        return Ok(code::OK);
    };
    let row = sqlx::query(
        "SELECT o.id FROM payouts o JOIN payments p ON p.id = o.payment_id
         WHERE p.provider = 'cloudpayments' AND p.provider_ref = $1 AND o.status = 'pending' AND o.amount = $2 ORDER BY o.id LIMIT 1",
    )
    .bind(original)
    .bind(n.amount.tiyn())
    .fetch_optional(db.read())
    .await?;
    if let Some(row) = row {
        use sqlx::Row;
        let payout: i64 = row.try_get(0)?;
        payments::finish_payout(db, payout, true, &n.transaction_id, None).await?;
    }
    Ok(code::OK)
}

/// Sends a card payout through the refund API. A decline voids the hold
/// (the money is back on the balance); a transport error is returned so the
/// job tries again, and `X-Request-ID` makes the retry safe.
pub async fn send_payout(db: &Db, client: &Client, payout_id: i64) -> Result<()> {
    let payout = payments::payout(db, payout_id).await?;
    if payout.status != "pending" || payout.method != "card" {
        return Ok(());
    }
    let payment_id = payout
        .payment_id
        .ok_or_else(|| Error::Internal(format!("card payout {payout_id} without a payment")))?;
    let payment = payments::get(db, payment_id).await?;
    let txn = payment
        .provider_ref
        .ok_or_else(|| Error::Internal(format!("payment {payment_id} has no transaction")))?;
    match client
        .refund(&txn, payout.amount, &format!("payout-{payout_id}"))
        .await?
    {
        Outcome::Done(refund_txn) => {
            payments::finish_payout(db, payout_id, true, &refund_txn, None).await?
        }
        Outcome::Declined(reason) => {
            payments::finish_payout(db, payout_id, false, &reason, None).await?
        }
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_base64_hmac_sha256_of_the_raw_body() {
        // RFC 4231 test case 2.
        let sig = signature("Jefe", b"what do ya want for nothing?");
        assert_eq!(sig, "W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=");
        assert!(verify("Jefe", b"what do ya want for nothing?", Some(&sig)));
        assert!(!verify("Jefe", b"what do ya want for nothing!", Some(&sig)));
        assert!(!verify("", b"x", Some(&signature("", b"x"))));
        assert!(!verify("Jefe", b"x", None));
    }

    #[test]
    fn notifications_with_bad_amounts_or_currencies_are_refused() {
        let ok = b"TransactionId=42&Amount=1500.50&Currency=KZT&InvoiceId=P7&AccountId=user%3A3&Status=Completed";
        let n = parse(ok).map_err(|e| e.to_string());
        assert_eq!(
            n.map(|n| (n.amount, n.invoice_id)),
            Ok((Money::from_tiyn(150_050), "P7".to_string()))
        );
        assert_eq!(
            parse(b"TransactionId=42&Amount=1500.505&Currency=KZT").err(),
            Some("bad-amount")
        );
        assert_eq!(
            parse(b"TransactionId=42&Amount=-1&Currency=KZT").err(),
            Some("bad-amount")
        );
        assert_eq!(
            parse(b"TransactionId=42&Amount=0&Currency=KZT").err(),
            Some("bad-amount")
        );
        assert_eq!(
            parse(b"TransactionId=42&Amount=10&Currency=USD").err(),
            Some("currency-unknown")
        );
        assert_eq!(
            parse(b"TransactionId=x&Amount=10&Currency=KZT").err(),
            Some("bad-transaction")
        );
    }

    #[test]
    fn amounts_are_sent_as_exact_decimal_numbers() {
        assert_eq!(amount_json(Money::from_tiyn(150_050)).to_string(), "1500.5");
        assert_eq!(
            json_amount(&amount_json(Money::from_tiyn(123_456_789))),
            Some(Money::from_tiyn(123_456_789))
        );
    }
}
