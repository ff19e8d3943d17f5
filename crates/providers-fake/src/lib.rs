//! Stand-ins for the payment providers, on 127.0.0.1, speaking the real
//! protocols so that the merchant side is tested exactly as it will run:
//!
//! * the card gateway (CloudPayments / TipTop Pay): the API with HTTP Basic
//!   authentication (`orders/create`, `payments/get`, `payments/find`,
//!   `payments/refund`, `payments/tokens/charge`, `payments/list`, with
//!   `X-Request-ID` answered once), a payment page where a person types a
//!   card, and notifications (Check, Pay, Fail, Refund) to the merchant
//!   signed with `Content-HMAC` = base64(HMAC-SHA256(raw body, API secret)),
//!   repeated until the merchant answers `{"code":0}`;
//! * Kaspi: the bank side of "payments on Kaspi.kz", calling the merchant
//!   with `command=check` and `command=pay` and repeating `pay` until it gets
//!   an answer, plus its daily payment registry.
//!
//! It can be told (through `/_control` or [`FakeProvider::set_mode`]) to
//! fail API calls, to answer them too late, to send every notification
//! twice at once, to send notifications out of order, and to decline
//! cards. It never touches the merchant's database: it sees only HTTP.
//!
//! Test cards: any 16 digits pay, `4000 0000 0000 0002` is declined.
//!
//! For notifications it also has an SMTP sink ([`smtp`]) and a stand-in
//! of SMSC.kz's SMS API ([`smsc`]), served together with pages to read
//! what arrived ([`messaging`]); for files, an S3-compatible object store
//! that checks AWS Signature Version 4 ([`s3`]).

pub mod messaging;
pub mod s3;
pub mod smsc;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use tabys_core::Clock;
use tabys_core::money::Money;

/// A card number the gateway declines.
pub const DECLINED_CARD: &str = "4000000000000002";

/// How the fake reaches the merchant and what it shares with it.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// The merchant's base address, e.g. `http://127.0.0.1:8080`.
    pub merchant: String,
    pub public_id: String,
    pub api_secret: String,
    pub kaspi_login: String,
    pub kaspi_password: String,
    /// First pause before a notification is sent again; it doubles up to 2 s.
    pub retry_ms: u64,
    /// How many times a notification or a Kaspi `pay` is tried.
    pub max_attempts: u32,
    /// How long a "timing out" API call keeps the merchant waiting.
    pub slow_ms: u64,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            merchant: String::new(),
            public_id: "pk_test_tabys".into(),
            api_secret: "test-api-secret".into(),
            kaspi_login: "kaspi".into(),
            kaspi_password: "kaspi-test-password".into(),
            retry_ms: 100,
            max_attempts: 60,
            slow_ms: 3_000,
        }
    }
}

/// What the fake is told to do wrong.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct Mode {
    /// The next n API calls answer HTTP 500.
    pub fail_api: usize,
    /// The next n API calls answer only after `slow_ms`.
    pub slow_api: usize,
    /// Every notification and Kaspi `pay` is sent twice at the same time.
    pub duplicate: bool,
    /// A card payment's Pay notification goes before its Check, and a
    /// refund's notification before the API answers.
    pub out_of_order: bool,
    /// Saved-card charges are declined.
    pub decline_tokens: bool,
}

/// A transaction at the gateway.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Txn {
    pub id: i64,
    pub invoice_id: String,
    pub account_id: String,
    pub amount: Money,
    /// `Completed` or `Declined`.
    pub status: String,
    /// `Payment` or `Refund`.
    pub operation: String,
    pub payment_txn: Option<i64>,
    pub date: String,
    pub token: Option<String>,
    pub refunded: Money,
}

/// A payment in the Kaspi registry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KaspiTxn {
    pub txn_id: String,
    pub account: String,
    pub sum: Money,
    pub date: String,
    pub result: i32,
}

struct Link {
    amount: Money,
    invoice_id: String,
    account_id: String,
    description: String,
    return_url: String,
    save_card: bool,
}

#[derive(Default)]
struct Data {
    links: HashMap<String, Link>,
    txns: Vec<Txn>,
    kaspi: Vec<KaspiTxn>,
    answered: HashMap<String, serde_json::Value>,
    mode: Mode,
}

struct Shared {
    cfg: Mutex<FakeConfig>,
    data: Mutex<Data>,
    clock: Arc<dyn Clock>,
    next_id: AtomicI64,
    in_flight: AtomicUsize,
    http: reqwest::Client,
    base: String,
}

/// The running fake.
#[derive(Clone)]
pub struct FakeProvider {
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic elsewhere must not take every later request down with it.
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// `base64(HMAC-SHA256(body, secret))`, the gateway's notification signature.
pub fn sign(secret: &str, body: &[u8]) -> String {
    match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(mut mac) => {
            mac.update(body);
            base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
        }
        Err(_) => String::new(),
    }
}

fn decimal(m: Money) -> String {
    let t = m.tiyn().unsigned_abs();
    format!("{}.{:02}", t / 100, t % 100)
}

fn parse_amount(v: &serde_json::Value) -> Option<Money> {
    let text = match v {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s.clone(),
        _ => return None,
    };
    if text.contains(['e', 'E', '-', ',']) {
        return None;
    }
    Money::parse_tenge(&text).ok().filter(|m| m.is_positive())
}

fn amount_json(m: Money) -> serde_json::Value {
    serde_json::from_str(&decimal(m)).unwrap_or(serde_json::Value::Null)
}

impl FakeProvider {
    /// Serves the fake on `listen` (port 0 for any free port).
    pub async fn start(
        listen: SocketAddr,
        cfg: FakeConfig,
        clock: Arc<dyn Clock>,
    ) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(std::io::Error::other)?;
        let shared = Arc::new(Shared {
            cfg: Mutex::new(cfg),
            data: Mutex::new(Data::default()),
            clock,
            // Like the real gateway's, ids never repeat across runs: a
            // merchant whose database outlives one stand-in must not meet
            // a transaction id it already settled.
            next_id: AtomicI64::new(first_id()),
            in_flight: AtomicUsize::new(0),
            http,
            base: format!("http://{addr}"),
        });
        let app = router(shared.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app.into_make_service()).await {
                tracing::error!(error = %e, "fake provider stopped");
            }
        });
        Ok(Self { shared })
    }

    /// Where it listens: the gateway's API root and the pages.
    pub fn base(&self) -> &str {
        &self.shared.base
    }

    pub fn set_merchant(&self, merchant: &str) {
        lock(&self.shared.cfg).merchant = merchant.trim_end_matches('/').to_string();
    }

    pub fn config(&self) -> FakeConfig {
        lock(&self.shared.cfg).clone()
    }

    pub fn set_mode(&self, mode: Mode) {
        lock(&self.shared.data).mode = mode;
    }

    pub fn transactions(&self) -> Vec<Txn> {
        lock(&self.shared.data).txns.clone()
    }

    pub fn kaspi_payments(&self) -> Vec<KaspiTxn> {
        lock(&self.shared.data).kaspi.clone()
    }

    /// Waits (up to `limit`) until no notification or Kaspi call is on its
    /// way; returns whether everything was delivered or given up.
    pub async fn settle(&self, limit: Duration) -> bool {
        let until = std::time::Instant::now() + limit;
        while std::time::Instant::now() < until {
            if self.shared.in_flight.load(Ordering::SeqCst) == 0 {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        false
    }

    /// A customer pays a card payment link, as the payment page does;
    /// returns the page's answer (a redirect back, or the refusal).
    pub async fn pay_link(&self, link: &str, card: &str, save: bool) -> (StatusCode, String) {
        let r = pay_link(
            self.shared.clone(),
            link.to_string(),
            card.to_string(),
            save,
        )
        .await;
        (r.0, r.1)
    }

    /// A customer pays `sum` to `account` in the Kaspi app: Kaspi checks,
    /// then pays, repeating `pay` until the merchant answers.
    pub async fn kaspi_pay(&self, account: &str, sum: Money) -> KaspiOutcome {
        kaspi_pay(self.shared.clone(), account.to_string(), sum, None).await
    }

    /// The same Kaspi payment (same `txn_id`) sent again, as Kaspi does when
    /// it did not get an answer.
    pub async fn kaspi_repeat(&self, txn_id: &str, account: &str, sum: Money) -> KaspiOutcome {
        kaspi_pay(
            self.shared.clone(),
            account.to_string(),
            sum,
            Some(txn_id.to_string()),
        )
        .await
    }

    /// Sends a signed notification as it is, for tests of the merchant's
    /// refusals (forged, replayed, altered).
    pub async fn notify_raw(
        &self,
        kind: &str,
        body: String,
        signature: Option<String>,
    ) -> Option<serde_json::Value> {
        let merchant = lock(&self.shared.cfg).merchant.clone();
        let mut req = self
            .shared
            .http
            .post(format!("{merchant}/pay/cloudpayments/{kind}"))
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body);
        if let Some(s) = signature {
            req = req.header("Content-HMAC", s);
        }
        req.send().await.ok()?.json().await.ok()
    }

    /// The signed body of a notification about `txn`, for [`Self::notify_raw`].
    pub fn notification_body(&self, txn: &Txn) -> (String, String) {
        let body = notification_form(txn);
        let sig = sign(&lock(&self.shared.cfg).api_secret, body.as_bytes());
        (body, sig)
    }
}

/// What a Kaspi payment ended in.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KaspiOutcome {
    pub txn_id: String,
    pub check_result: Option<i32>,
    pub pay_result: Option<i32>,
    pub prv_txn: Option<String>,
}

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/orders/create", post(create_order))
        .route("/payments/get", post(payments_get))
        .route("/payments/find", post(payments_find))
        .route("/payments/refund", post(payments_refund))
        .route("/payments/tokens/charge", post(tokens_charge))
        .route("/payments/list", post(payments_list))
        .route("/pay/{link}", get(pay_page).post(pay_submit))
        .route("/kaspi", get(kaspi_page).post(kaspi_submit))
        .route("/kaspi/pay", post(kaspi_pay_api))
        .route("/kaspi/registry", get(kaspi_registry))
        .route("/_control", get(control_get).post(control_set))
        .with_state(shared)
}

fn authorized(shared: &Shared, headers: &HeaderMap) -> bool {
    let cfg = lock(&shared.cfg);
    let expected = base64::engine::general_purpose::STANDARD
        .encode(format!("{}:{}", cfg.public_id, cfg.api_secret));
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .is_some_and(|v| v == expected)
}

fn json(v: serde_json::Value) -> Response {
    ([(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

fn refused(message: &str) -> Response {
    json(serde_json::json!({ "Success": false, "Message": message, "Model": null }))
}

/// The API's common front: authentication, told failures and slowness,
/// and the answers of requests already made under the same `X-Request-ID`.
async fn api_front(shared: &Shared, headers: &HeaderMap) -> Result<Option<String>, Response> {
    if !authorized(shared, headers) {
        return Err((StatusCode::UNAUTHORIZED, "authentication required").into_response());
    }
    let (fail, slow) = {
        let mut d = lock(&shared.data);
        let fail = d.mode.fail_api > 0;
        if fail {
            d.mode.fail_api -= 1;
        }
        let slow = !fail && d.mode.slow_api > 0;
        if slow {
            d.mode.slow_api -= 1;
        }
        (fail, slow)
    };
    if fail {
        return Err((
            StatusCode::INTERNAL_SERVER_ERROR,
            "gateway failure (told to fail)",
        )
            .into_response());
    }
    if slow {
        let ms = lock(&shared.cfg).slow_ms;
        tokio::time::sleep(Duration::from_millis(ms)).await;
    }
    let request_id = headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &request_id
        && let Some(answer) = lock(&shared.data).answered.get(id).cloned()
    {
        return Err(json(answer));
    }
    Ok(request_id)
}

fn remember(shared: &Shared, request_id: Option<String>, answer: serde_json::Value) -> Response {
    if let Some(id) = request_id {
        lock(&shared.data).answered.insert(id, answer.clone());
    }
    json(answer)
}

fn body_json(body: &Bytes) -> serde_json::Value {
    serde_json::from_slice(body).unwrap_or(serde_json::Value::Null)
}

fn today(shared: &Shared) -> String {
    let ts = shared.clock.now().to_jiff();
    ts.to_zoned(tabys_core::calendar::almaty())
        .date()
        .to_string()
}

fn model(t: &Txn) -> serde_json::Value {
    serde_json::json!({
        "TransactionId": t.id,
        "Amount": amount_json(t.amount),
        "Currency": "KZT",
        "InvoiceId": t.invoice_id,
        "AccountId": t.account_id,
        "Status": t.status,
        "OperationType": t.operation,
        "PaymentTransactionId": t.payment_txn,
        "Token": t.token,
        "CreatedDate": t.date,
    })
}

async fn create_order(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = match api_front(&shared, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let v = body_json(&body);
    let Some(amount) = parse_amount(&v["Amount"]) else {
        return refused("Amount is required");
    };
    if v["Currency"].as_str() != Some("KZT") {
        return refused("Currency is not supported");
    }
    let id = format!("L{}", shared.next_id.fetch_add(1, Ordering::SeqCst));
    let link = Link {
        amount,
        invoice_id: v["InvoiceId"].as_str().unwrap_or_default().to_string(),
        account_id: v["AccountId"].as_str().unwrap_or_default().to_string(),
        description: v["Description"].as_str().unwrap_or_default().to_string(),
        return_url: v["SuccessRedirectUrl"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        save_card: v["JsonData"]["SaveCard"].as_bool().unwrap_or(false),
    };
    lock(&shared.data).links.insert(id.clone(), link);
    let answer = serde_json::json!({ "Success": true, "Message": null, "Model": { "Id": id, "Url": format!("{}/pay/{id}", shared.base), "Amount": amount_json(amount) } });
    remember(&shared, request_id, answer)
}

async fn payments_get(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = api_front(&shared, &headers).await {
        return r;
    }
    let v = body_json(&body);
    let id = v["TransactionId"]
        .as_i64()
        .or_else(|| v["TransactionId"].as_str().and_then(|s| s.parse().ok()));
    let found = lock(&shared.data)
        .txns
        .iter()
        .find(|t| Some(t.id) == id)
        .cloned();
    match found {
        Some(t) => {
            json(serde_json::json!({ "Success": true, "Message": null, "Model": model(&t) }))
        }
        None => refused("Not found"),
    }
}

async fn payments_find(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = api_front(&shared, &headers).await {
        return r;
    }
    let v = body_json(&body);
    let invoice = v["InvoiceId"].as_str().unwrap_or_default().to_string();
    let found = lock(&shared.data)
        .txns
        .iter()
        .rev()
        .find(|t| t.invoice_id == invoice && t.operation == "Payment")
        .cloned();
    match found {
        Some(t) => {
            json(serde_json::json!({ "Success": true, "Message": null, "Model": model(&t) }))
        }
        None => refused("Not found"),
    }
}

async fn payments_list(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = api_front(&shared, &headers).await {
        return r;
    }
    let v = body_json(&body);
    let date = v["Date"].as_str().unwrap_or_default().to_string();
    let list: Vec<serde_json::Value> = lock(&shared.data)
        .txns
        .iter()
        .filter(|t| t.date == date)
        .map(model)
        .collect();
    json(serde_json::json!({ "Success": true, "Message": null, "Model": list }))
}

/// A transaction to record: what the call was about.
struct Draft<'a> {
    invoice: &'a str,
    account: &'a str,
    amount: Money,
    status: &'a str,
    operation: &'a str,
    payment_txn: Option<i64>,
    token: Option<String>,
}

fn new_txn(shared: &Shared, d: Draft<'_>) -> Txn {
    let t = Txn {
        id: shared.next_id.fetch_add(1, Ordering::SeqCst),
        invoice_id: d.invoice.to_string(),
        account_id: d.account.to_string(),
        amount: d.amount,
        status: d.status.to_string(),
        operation: d.operation.to_string(),
        payment_txn: d.payment_txn,
        date: today(shared),
        token: d.token,
        refunded: Money::ZERO,
    };
    lock(&shared.data).txns.push(t.clone());
    t
}

async fn payments_refund(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = match api_front(&shared, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let v = body_json(&body);
    let id = v["TransactionId"]
        .as_i64()
        .or_else(|| v["TransactionId"].as_str().and_then(|s| s.parse().ok()));
    let Some(amount) = parse_amount(&v["Amount"]) else {
        return refused("Amount is required");
    };
    let original = {
        let mut d = lock(&shared.data);
        let Some(t) = d
            .txns
            .iter_mut()
            .find(|t| Some(t.id) == id && t.operation == "Payment" && t.status == "Completed")
        else {
            drop(d);
            return refused("Transaction not found");
        };
        if t.refunded.tiyn() + amount.tiyn() > t.amount.tiyn() {
            drop(d);
            return refused("Refund exceeds the payment");
        }
        t.refunded = Money::from_tiyn(t.refunded.tiyn() + amount.tiyn());
        t.clone()
    };
    let refund = new_txn(
        &shared,
        Draft {
            invoice: &original.invoice_id,
            account: &original.account_id,
            amount,
            status: "Completed",
            operation: "Refund",
            payment_txn: Some(original.id),
            token: None,
        },
    );
    let answer = serde_json::json!({ "Success": true, "Message": null, "Model": { "TransactionId": refund.id } });
    let out_of_order = lock(&shared.data).mode.out_of_order;
    if out_of_order {
        // The notification overtakes the API's own answer.
        deliver(shared.clone(), "refund", refund.clone()).await;
    } else {
        tokio::spawn(deliver(shared.clone(), "refund", refund));
    }
    remember(&shared, request_id, answer)
}

async fn tokens_charge(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = match api_front(&shared, &headers).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    let v = body_json(&body);
    let Some(amount) = parse_amount(&v["Amount"]) else {
        return refused("Amount is required");
    };
    let token = v["Token"].as_str().unwrap_or_default().to_string();
    let known = lock(&shared.data)
        .txns
        .iter()
        .any(|t| t.token.as_deref() == Some(token.as_str()));
    let invoice = v["InvoiceId"].as_str().unwrap_or_default();
    let account = v["AccountId"].as_str().unwrap_or_default();
    if !known || lock(&shared.data).mode.decline_tokens {
        let t = new_txn(
            &shared,
            Draft {
                invoice,
                account,
                amount,
                status: "Declined",
                operation: "Payment",
                payment_txn: None,
                token: None,
            },
        );
        let answer = serde_json::json!({ "Success": false, "Message": null, "Model": { "TransactionId": t.id, "CardHolderMessage": "Insufficient funds", "Status": "Declined" } });
        return remember(&shared, request_id, answer);
    }
    let t = new_txn(
        &shared,
        Draft {
            invoice,
            account,
            amount,
            status: "Completed",
            operation: "Payment",
            payment_txn: None,
            token: None,
        },
    );
    let answer = serde_json::json!({ "Success": true, "Message": null, "Model": model(&t) });
    tokio::spawn(deliver(shared.clone(), "pay", t));
    remember(&shared, request_id, answer)
}

fn notification_form(t: &Txn) -> String {
    let mut pairs = vec![
        ("TransactionId", t.id.to_string()),
        ("Amount", decimal(t.amount)),
        ("Currency", "KZT".to_string()),
        ("PaymentAmount", decimal(t.amount)),
        ("PaymentCurrency", "KZT".to_string()),
        ("DateTime", t.date.clone()),
        ("CardFirstSix", "424242".to_string()),
        ("CardLastFour", "4242".to_string()),
        ("CardType", "Visa".to_string()),
        ("CardExpDate", "12/30".to_string()),
        ("TestMode", "1".to_string()),
        ("Status", t.status.clone()),
        ("OperationType", t.operation.clone()),
        ("InvoiceId", t.invoice_id.clone()),
        ("AccountId", t.account_id.clone()),
    ];
    if let Some(p) = t.payment_txn {
        pairs.push(("PaymentTransactionId", p.to_string()));
    }
    if let Some(token) = &t.token {
        pairs.push(("Token", token.clone()));
    }
    serde_urlencoded::to_string(pairs).unwrap_or_default()
}

/// Sends one signed notification until the merchant answers `{"code":0}`
/// (or a final refusal was repeated `max_attempts` times); returns the last
/// code. Twice at the same time when told to duplicate.
async fn deliver(shared: Arc<Shared>, kind: &'static str, t: Txn) -> Option<i64> {
    let duplicate = lock(&shared.data).mode.duplicate;
    if duplicate {
        let twin = tokio::spawn(deliver_once(shared.clone(), kind, t.clone()));
        let first = deliver_once(shared, kind, t).await;
        let _ = twin.await;
        first
    } else {
        deliver_once(shared, kind, t).await
    }
}

struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: &Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(shared.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One POST of a signed notification; the merchant's code if it answered.
async fn attempt(shared: &Shared, kind: &str, body: &str) -> Option<i64> {
    let (merchant, secret) = {
        let c = lock(&shared.cfg);
        (c.merchant.clone(), c.api_secret.clone())
    };
    let resp = shared
        .http
        .post(format!("{merchant}/pay/cloudpayments/{kind}"))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("Content-HMAC", sign(&secret, body.as_bytes()))
        .body(body.to_string())
        .send()
        .await
        .ok()?;
    if !resp.status().is_success() {
        return None;
    }
    resp.json::<serde_json::Value>().await.ok()?["code"].as_i64()
}

async fn deliver_once(shared: Arc<Shared>, kind: &'static str, t: Txn) -> Option<i64> {
    let _guard = InFlight::new(&shared);
    let body = notification_form(&t);
    let (attempts, mut pause) = {
        let c = lock(&shared.cfg);
        (c.max_attempts, c.retry_ms)
    };
    let mut last = None;
    for n in 1..=attempts {
        last = attempt(&shared, kind, &body).await;
        // Check is a question asked while the payer waits: asked once.
        if last == Some(0) || kind == "check" {
            return last;
        }
        tracing::debug!(
            kind,
            txn = t.id,
            attempt = n,
            "notification not accepted; sending again"
        );
        tokio::time::sleep(Duration::from_millis(pause)).await;
        pause = (pause * 2).min(2_000);
    }
    last
}

/// The first try while the payer waits; if it did not get through, the
/// notification keeps being sent in the background.
async fn deliver_while_waiting(shared: Arc<Shared>, kind: &'static str, t: Txn) {
    let duplicate = lock(&shared.data).mode.duplicate;
    if duplicate {
        tokio::spawn(deliver_once(shared.clone(), kind, t.clone()));
    }
    let first = {
        let _guard = InFlight::new(&shared);
        attempt(&shared, kind, &notification_form(&t)).await
    };
    if first != Some(0) {
        tokio::spawn(deliver_once(shared, kind, t));
    }
}

fn page(title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{title}</title>\
         <style>body{{font-family:sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}label{{display:block;margin:.6rem 0}}input{{width:100%;padding:.5rem;font-size:1rem}}button{{padding:.6rem 1.2rem;font-size:1rem}}.test{{color:#a00}}</style></head>\
         <body><p class=\"test\">Тестовый платёжный шлюз (local fake of the CloudPayments / TipTop Pay protocol)</p>{body}</body></html>"
    ))
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn pay_page(State(shared): State<Arc<Shared>>, Path(link): Path<String>) -> Response {
    let d = lock(&shared.data);
    let Some(l) = d.links.get(&link) else {
        return (
            StatusCode::NOT_FOUND,
            page("—", "<h1>Ссылка не найдена</h1>"),
        )
            .into_response();
    };
    let save = if l.save_card { "checked" } else { "" };
    page(
        "Оплата картой",
        &format!(
            "<h1>Оплата картой</h1><p data-amount=\"{}\">{} — <strong>{} ₸</strong></p>\
             <form method=\"post\" action=\"/pay/{}\">\
             <label>Номер карты <input name=\"card\" id=\"card\" inputmode=\"numeric\" value=\"4242 4242 4242 4242\" required></label>\
             <label>Срок <input name=\"exp\" id=\"exp\" value=\"12/30\"></label>\
             <label>CVV <input name=\"cvv\" id=\"cvv\" value=\"123\"></label>\
             <label><input type=\"checkbox\" name=\"save\" value=\"1\" {save} style=\"width:auto\"> Сохранить карту</label>\
             <button type=\"submit\" id=\"pay\">Оплатить</button></form>",
            decimal(l.amount),
            escape(&l.description),
            decimal(l.amount),
            escape(&link)
        ),
    )
    .into_response()
}

#[derive(serde::Deserialize)]
struct PayForm {
    #[serde(default)]
    card: String,
    #[serde(default)]
    save: Option<String>,
}

async fn pay_submit(
    State(shared): State<Arc<Shared>>,
    Path(link): Path<String>,
    body: Bytes,
) -> Response {
    let form: PayForm = serde_urlencoded::from_bytes(&body).unwrap_or(PayForm {
        card: String::new(),
        save: None,
    });
    let (status, text, redirect) = pay_link(shared, link, form.card, form.save.is_some()).await;
    match redirect {
        Some(to) => Redirect::to(&to).into_response(),
        None => (
            status,
            page(
                "Оплата",
                &format!("<h1 id=\"result\">{}</h1>", escape(&text)),
            ),
        )
            .into_response(),
    }
}

/// The payment of a link: Check, charge, Pay (or Fail). Returns the page's
/// status, its text and where to send the payer back.
async fn pay_link(
    shared: Arc<Shared>,
    link: String,
    card: String,
    save: bool,
) -> (StatusCode, String, Option<String>) {
    let digits: String = card.chars().filter(char::is_ascii_digit).collect();
    let (amount, invoice, account, return_url, save_card) = {
        let d = lock(&shared.data);
        let Some(l) = d.links.get(&link) else {
            return (StatusCode::NOT_FOUND, "Ссылка не найдена".into(), None);
        };
        (
            l.amount,
            l.invoice_id.clone(),
            l.account_id.clone(),
            l.return_url.clone(),
            l.save_card || save,
        )
    };
    if digits.len() != 16 {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            "Неверный номер карты".into(),
            None,
        );
    }
    let paid_before = lock(&shared.data)
        .txns
        .iter()
        .any(|t| t.invoice_id == invoice && t.status == "Completed" && t.operation == "Payment");
    if paid_before {
        return (
            StatusCode::CONFLICT,
            "Счёт уже оплачен".into(),
            Some(return_url),
        );
    }
    let out_of_order = lock(&shared.data).mode.out_of_order;
    let probe = Txn {
        id: shared.next_id.fetch_add(1, Ordering::SeqCst),
        invoice_id: invoice.clone(),
        account_id: account.clone(),
        amount,
        status: "Authorized".into(),
        operation: "Payment".into(),
        payment_txn: None,
        date: today(&shared),
        token: None,
        refunded: Money::ZERO,
    };
    if !out_of_order {
        let code = deliver(shared.clone(), "check", probe.clone()).await;
        if code != Some(0) {
            return (
                StatusCode::CONFLICT,
                format!("Платёж отклонён магазином (код {})", code.unwrap_or(-1)),
                None,
            );
        }
    }
    if digits == DECLINED_CARD {
        let t = new_txn(
            &shared,
            Draft {
                invoice: &invoice,
                account: &account,
                amount,
                status: "Declined",
                operation: "Payment",
                payment_txn: None,
                token: None,
            },
        );
        deliver(shared.clone(), "fail", t).await;
        return (
            StatusCode::PAYMENT_REQUIRED,
            "Карта отклонена банком".into(),
            None,
        );
    }
    let token = save_card.then(|| format!("tk_{}", shared.next_id.fetch_add(1, Ordering::SeqCst)));
    let t = new_txn(
        &shared,
        Draft {
            invoice: &invoice,
            account: &account,
            amount,
            status: "Completed",
            operation: "Payment",
            payment_txn: None,
            token,
        },
    );
    deliver_while_waiting(shared.clone(), "pay", t).await;
    if out_of_order {
        // The Check arrives after the payment it was to ask about.
        deliver(shared.clone(), "check", probe).await;
    }
    (StatusCode::SEE_OTHER, "Оплачено".into(), Some(return_url))
}

async fn kaspi_call(shared: &Shared, query: &[(&str, String)]) -> Option<(i32, Option<String>)> {
    let (merchant, login, password) = {
        let c = lock(&shared.cfg);
        (
            c.merchant.clone(),
            c.kaspi_login.clone(),
            c.kaspi_password.clone(),
        )
    };
    let qs = serde_urlencoded::to_string(query).ok()?;
    let resp = shared
        .http
        .get(format!("{merchant}/pay/kaspi?{qs}"))
        .basic_auth(login, Some(password))
        .send()
        .await
        .ok()?;
    let text = resp.text().await.ok()?;
    let tag = |name: &str| {
        let open = format!("<{name}>");
        let close = format!("</{name}>");
        let start = text.find(&open)? + open.len();
        let end = text[start..].find(&close)? + start;
        Some(text[start..end].to_string())
    };
    let result = tag("result")?.parse().ok()?;
    Some((result, tag("prv_txn")))
}

async fn kaspi_pay(
    shared: Arc<Shared>,
    account: String,
    sum: Money,
    repeat: Option<String>,
) -> KaspiOutcome {
    let _guard = InFlight::new(&shared);
    let is_repeat = repeat.is_some();
    let txn_id =
        repeat.unwrap_or_else(|| shared.next_id.fetch_add(1, Ordering::SeqCst).to_string());
    let mut out = KaspiOutcome {
        txn_id: txn_id.clone(),
        check_result: None,
        pay_result: None,
        prv_txn: None,
    };
    // A repeat is Kaspi sending a `pay` it got no answer to: no new check.
    if !is_repeat {
        let check = [
            ("command", "check".to_string()),
            ("txn_id", txn_id.clone()),
            ("account", account.clone()),
            ("sum", decimal(sum)),
        ];
        out.check_result = kaspi_call(&shared, &check).await.map(|r| r.0);
        if out.check_result != Some(0) {
            return out;
        }
    }
    let date = shared
        .clock
        .now()
        .to_jiff()
        .to_zoned(tabys_core::calendar::almaty())
        .strftime("%Y%m%d%H%M%S")
        .to_string();
    let pay = vec![
        ("command", "pay".to_string()),
        ("txn_id", txn_id.clone()),
        ("txn_date", date),
        ("account", account.clone()),
        ("sum", decimal(sum)),
    ];
    let duplicate = lock(&shared.data).mode.duplicate;
    let (attempts, mut pause) = {
        let c = lock(&shared.cfg);
        (c.max_attempts, c.retry_ms)
    };
    for _ in 0..attempts {
        let answer = if duplicate {
            let twin_shared = shared.clone();
            let twin_query = pay.clone();
            let twin = tokio::spawn(async move { kaspi_call(&twin_shared, &twin_query).await });
            let first = kaspi_call(&shared, &pay).await;
            let _ = twin.await;
            first
        } else {
            kaspi_call(&shared, &pay).await
        };
        match answer {
            Some((result, prv)) if result != 4 => {
                out.pay_result = Some(result);
                out.prv_txn = prv;
                break;
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(pause)).await;
                pause = (pause * 2).min(2_000);
            }
        }
    }
    if out.pay_result == Some(0) {
        let mut d = lock(&shared.data);
        if !d.kaspi.iter().any(|k| k.txn_id == txn_id) {
            d.kaspi.push(KaspiTxn {
                txn_id,
                account,
                sum,
                date: today(&shared),
                result: 0,
            });
        }
    }
    out
}

#[derive(serde::Deserialize)]
struct KaspiForm {
    #[serde(default)]
    account: String,
    #[serde(default)]
    sum: String,
}

async fn kaspi_page() -> Html<String> {
    page(
        "Kaspi",
        "<h1>Kaspi.kz — Платежи</h1><form method=\"post\" action=\"/kaspi\">\
         <label>Лицевой счёт <input name=\"account\" id=\"account\" required></label>\
         <label>Сумма, ₸ <input name=\"sum\" id=\"sum\" required></label>\
         <button type=\"submit\" id=\"kaspi-pay\">Оплатить</button></form>",
    )
}

async fn kaspi_submit(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let form: KaspiForm = serde_urlencoded::from_bytes(&body).unwrap_or(KaspiForm {
        account: String::new(),
        sum: String::new(),
    });
    let Ok(sum) = Money::parse_tenge(&form.sum) else {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            page("Kaspi", "<h1>Неверная сумма</h1>"),
        )
            .into_response();
    };
    let out = kaspi_pay(shared, form.account.trim().to_string(), sum, None).await;
    let text = match (out.check_result, out.pay_result) {
        (_, Some(0)) => format!("Оплачено, квитанция {}", out.txn_id),
        (Some(c), None) if c != 0 => format!("Платёж невозможен (код {c})"),
        (_, Some(c)) => format!("Платёж отклонён (код {c})"),
        _ => "Сервис недоступен".into(),
    };
    page(
        "Kaspi",
        &format!("<h1 id=\"result\">{}</h1>", escape(&text)),
    )
    .into_response()
}

#[derive(serde::Deserialize)]
struct KaspiApi {
    account: String,
    sum: String,
}

async fn kaspi_pay_api(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    let Ok(req) = serde_json::from_slice::<KaspiApi>(&body) else {
        return (StatusCode::BAD_REQUEST, "account and sum").into_response();
    };
    let Ok(sum) = Money::parse_tenge(&req.sum) else {
        return (StatusCode::BAD_REQUEST, "sum").into_response();
    };
    let out = kaspi_pay(shared, req.account, sum, None).await;
    json(serde_json::to_value(out).unwrap_or_default())
}

#[derive(serde::Deserialize)]
struct RegistryQuery {
    date: String,
}

async fn kaspi_registry(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Query<RegistryQuery>,
) -> Response {
    let expected = {
        let c = lock(&shared.cfg);
        base64::engine::general_purpose::STANDARD
            .encode(format!("{}:{}", c.kaspi_login, c.kaspi_password))
    };
    let ok = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        == Some(expected.as_str());
    if !ok {
        return (StatusCode::UNAUTHORIZED, "authentication required").into_response();
    }
    let mut out = String::from("txn_id;account;sum;txn_date\n");
    for k in lock(&shared.data).kaspi.iter().filter(|k| k.date == q.date) {
        out.push_str(&format!(
            "{};{};{};{}\n",
            k.txn_id,
            k.account,
            decimal(k.sum),
            k.date
        ));
    }
    ([(header::CONTENT_TYPE, "text/csv; charset=utf-8")], out).into_response()
}

async fn control_get(State(shared): State<Arc<Shared>>) -> Response {
    let d = lock(&shared.data);
    json(
        serde_json::json!({ "mode": d.mode, "transactions": d.txns.len(), "kaspi": d.kaspi.len(), "in_flight": shared.in_flight.load(Ordering::SeqCst) }),
    )
}

async fn control_set(State(shared): State<Arc<Shared>>, body: Bytes) -> Response {
    match serde_json::from_slice::<Mode>(&body) {
        Ok(mode) => {
            lock(&shared.data).mode = mode;
            json(serde_json::json!({ "ok": true }))
        }
        Err(e) => (StatusCode::BAD_REQUEST, e.to_string()).into_response(),
    }
}

/// The first id of a stand-in: the wall clock in milliseconds, so two
/// stand-ins started one after the other never hand out the same id.
fn first_id() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2))
        .unwrap_or(1_000_000)
}
