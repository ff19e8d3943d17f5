//! Money in and out through a provider, whatever the protocol.
//!
//! In: a payment starts as an intent (what is to be paid, by which method,
//! for which order or top-up); the provider's adapter verifies the
//! provider's message, re-queries the provider where the protocol allows,
//! and then calls [`complete`] once per provider transaction: the money is
//! credited to the payer's balance under the key `<provider>:<transaction
//! id>` and, for an order, spent on it in the same transaction. A repeat of
//! the same transaction is answered as the first; money for an order that
//! can no longer take it stays on the balance, never lost.
//!
//! Out: a payout (a refund back to the card, a Kaspi return, a bank
//! transfer) first holds the money on the balance, then resolves the hold
//! when the provider or the operator confirms, or voids it if it failed.

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::jobs::{self, NewJob};
use tabys_store::{Db, Tx};

use crate::balances::{self, Wallet};
use crate::holds::{self, HoldId, Resolution};
use crate::ledger::{self, codes};
use crate::orders::{self, Settled};
use crate::{BillingConfig, Book, Holder, recurring};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    /// Visa / MasterCard through the gateway.
    Card,
    /// Kaspi Pay in the Kaspi app.
    Kaspi,
    /// Kaspi Red: full amount to the seller, the provider's own fee (LZ 4.4).
    KaspiRed,
    /// A bank's installment plan: full amount to the seller, with its fee.
    Installment,
    /// Bank transfer against an invoice.
    Invoice,
}

impl Method {
    pub const ALL: [Method; 5] = [
        Self::Card,
        Self::Kaspi,
        Self::KaspiRed,
        Self::Installment,
        Self::Invoice,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Card => "card",
            Self::Kaspi => "kaspi",
            Self::KaspiRed => "kaspi-red",
            Self::Installment => "installment",
            Self::Invoice => "invoice",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == s.trim())
    }

    /// Which provider carries the money.
    pub fn provider(self) -> &'static str {
        match self {
            Self::Card => "cloudpayments",
            Self::Kaspi | Self::KaspiRed | Self::Installment => "kaspi",
            Self::Invoice => "bank",
        }
    }

    pub fn fee_bp(self, cfg: &BillingConfig) -> i64 {
        match self {
            Self::Card => cfg.fees.card_bp,
            Self::Kaspi => cfg.fees.kaspi_bp,
            Self::KaspiRed => cfg.fees.kaspi_red_bp,
            Self::Installment => cfg.fees.installment_bp,
            Self::Invoice => 0,
        }
    }
}

/// The clearing account of a provider.
pub fn clearing(provider: &str) -> &'static str {
    match provider {
        "cloudpayments" => codes::CLEARING_CLOUDPAYMENTS,
        "kaspi" => codes::CLEARING_KASPI,
        _ => codes::CLEARING_BANK,
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Payment {
    pub id: i64,
    #[schema(value_type = i64)]
    pub book: Book,
    pub wallet_id: i64,
    pub order_id: Option<i64>,
    pub method: String,
    pub provider: String,
    /// What the payer pays, a passed-on fee included.
    #[schema(value_type = i64)]
    pub amount: Money,
    #[schema(value_type = i64)]
    pub fee: Money,
    /// `created`, `completed`.
    pub status: String,
    pub provider_ref: Option<String>,
    pub save_card: bool,
    pub created_at: i64,
    pub completed_at: Option<i64>,
}

impl Payment {
    /// How the payer names this payment to a provider: the gateway's
    /// `InvoiceId`, the Kaspi `account`.
    pub fn reference(&self) -> String {
        format!("P{}", self.id)
    }

    /// What reaches the balance: the amount less a passed-on fee.
    pub fn net(&self) -> Money {
        Money::from_tiyn(self.amount.tiyn() - self.fee.tiyn())
    }
}

/// The payment a reference (`P12`) names.
pub fn parse_reference(s: &str) -> Option<i64> {
    s.strip_prefix('P')?.parse().ok()
}

const COLUMNS: &str = "id, book, wallet_id, order_id, method, provider, amount, fee, status, provider_ref, save_card, created_at, completed_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Payment> {
    Ok(Payment {
        id: r.try_get(0)?,
        book: Book(r.try_get(1)?),
        wallet_id: r.try_get(2)?,
        order_id: r.try_get(3)?,
        method: r.try_get(4)?,
        provider: r.try_get(5)?,
        amount: Money::from_tiyn(r.try_get(6)?),
        fee: Money::from_tiyn(r.try_get(7)?),
        status: r.try_get(8)?,
        provider_ref: r.try_get(9)?,
        save_card: r.try_get::<i64, _>(10)? != 0,
        created_at: r.try_get(11)?,
        completed_at: r.try_get(12)?,
    })
}

pub async fn get(db: &Db, id: i64) -> Result<Payment> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM payments WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// A payment of the holder's, or not found.
pub async fn get_own(db: &Db, holder: Holder, id: i64) -> Result<Payment> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE id = $1 AND wallet_id IN (SELECT id FROM wallets WHERE holder = $2)"
    ))
    .bind(id)
    .bind(holder.key())
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn of_wallet(db: &Db, wallet: i64, limit: i64) -> Result<Vec<Payment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE wallet_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(wallet)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Completed payments of an order, newest first: where a refund goes back.
pub(crate) async fn of_order_tx(tx: &mut Tx, order: i64) -> Result<Vec<Payment>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE order_id = $1 AND status = 'completed' ORDER BY id DESC"
    ))
    .bind(order)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(from_row).collect()
}

/// What a payment is for.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Order(i64),
    TopUp(Money),
}

/// Starts a payment: the amount due on the order (with the method's fee if
/// the product passes fees to the payer), or a top-up of the balance. With
/// `key` (a payment form's hidden token), a form sent twice starts one
/// payment: the second gets the first.
#[allow(clippy::too_many_arguments)]
pub async fn start(
    db: &Db,
    cfg: &BillingConfig,
    book: Book,
    holder: Holder,
    purpose: Purpose,
    method: Method,
    save_card: bool,
    key: Option<&str>,
) -> Result<Payment> {
    match method {
        Method::Card if !cfg.card_enabled() => return Err(Error::Conflict("method-unavailable")),
        Method::Kaspi | Method::KaspiRed | Method::Installment if !cfg.kaspi_enabled() => {
            return Err(Error::Conflict("method-unavailable"));
        }
        Method::Invoice => return Err(Error::invalid("method", "method-unknown")),
        _ => {}
    }
    let now = db.now();
    let (order_id, amount, fee) = match purpose {
        Purpose::Order(id) => {
            let Holder::User(customer) = holder else {
                return Err(Error::NotFound);
            };
            let order = orders::get_own(db, customer, id).await?;
            if order.book() != book {
                return Err(Error::NotFound);
            }
            if !order.is_payable() {
                return Err(Error::Conflict("order-not-payable"));
            }
            let product = crate::products::get(db, order.org_id, order.product_id).await?;
            if product.recurring_months.is_some() && method != Method::Card {
                return Err(Error::invalid("method", "recurring-needs-card"));
            }
            let due = order.due_now();
            let fee = if product.pass_fees {
                Money::from_tiyn(crate::share_up(due.tiyn(), method.fee_bp(cfg), 10_000))
            } else {
                Money::ZERO
            };
            (Some(id), due, fee)
        }
        Purpose::TopUp(amount) => {
            if !amount.is_positive() {
                return Err(Error::invalid("amount", "amount-not-positive"));
            }
            (None, amount, Money::ZERO)
        }
    };
    let gross = amount
        .checked_add(fee)
        .ok_or(Error::invalid("amount", "money-range"))?;
    let mut tx = db.begin().await?;
    let pending = match key {
        Some(key) => {
            let request = serde_json::json!({ "book": book.0, "order": order_id, "amount": gross.tiyn(), "method": method.code() });
            match crate::idempotency::claim::<i64>(&mut tx, now, &holder.key(), key, &request)
                .await?
            {
                crate::idempotency::Claim::Replay(id) => {
                    drop(tx);
                    return get(db, id).await;
                }
                crate::idempotency::Claim::New(p) => Some(p),
            }
        }
        None => None,
    };
    let w = balances::wallet(&mut tx, book, holder, now).await?;
    let row = sqlx::query(&format!(
        "INSERT INTO payments (book, wallet_id, order_id, method, provider, amount, fee, status, save_card, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'created', $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(book.0)
    .bind(w.id)
    .bind(order_id)
    .bind(method.code())
    .bind(method.provider())
    .bind(gross.tiyn())
    .bind(fee.tiyn())
    .bind(i64::from(save_card))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let payment = from_row(&row)?;
    if let Some(p) = pending {
        crate::idempotency::finish(&mut tx, p, &payment.id).await?;
    }
    tx.commit().await?;
    Ok(payment)
}

/// A card the gateway reported with a payment.
#[derive(Debug, Clone)]
pub struct Card {
    pub token: String,
    pub last_four: String,
    pub card_type: String,
}

/// What completing a payment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completed {
    /// Credited now; for an order, whether the order took it.
    New { order: Option<Settled> },
    /// This provider transaction was recorded before; nothing changed.
    Replay,
}

/// Records money the provider confirmed for the intent `payment_id`:
/// exactly once per `(provider, provider_ref)`. The amount must be the
/// intent's; anything else is `amount-mismatch` and changes nothing.
pub async fn complete(
    db: &Db,
    payment_id: i64,
    provider: &str,
    provider_ref: &str,
    amount: Money,
    card: Option<Card>,
) -> Result<Completed> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM payments WHERE id = $1{}",
        db.dialect().for_update()
    ))
    .bind(payment_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let intent = from_row(&row)?;
    if intent.provider != provider {
        return Err(Error::NotFound);
    }
    if intent.status == "completed" {
        if intent.provider_ref.as_deref() == Some(provider_ref) {
            return Ok(Completed::Replay);
        }
        // A second, different transaction for the same intent: real money
        // the payer sent twice. It goes to the balance as a top-up.
        if amount != intent.amount {
            return Err(Error::Conflict("amount-mismatch"));
        }
        let w = balances::get_tx(&mut tx, intent.wallet_id).await?;
        let done = receive(
            &mut tx,
            db,
            now,
            &w,
            Method::parse(&intent.method).unwrap_or(Method::Card),
            provider_ref,
            amount,
        )
        .await?;
        tx.commit().await?;
        return Ok(done);
    }
    if amount != intent.amount {
        return Err(Error::Conflict("amount-mismatch"));
    }
    let w = balances::get_tx(&mut tx, intent.wallet_id).await?;
    let key = format!("{provider}:{provider_ref}");
    let posted = balances::credit_payment(
        &mut tx,
        db.dialect(),
        now,
        &w,
        clearing(provider),
        intent.net(),
        intent.fee,
        key.clone(),
        format!("{} {}", intent.method, intent.reference()),
    )
    .await?;
    if !posted.is_new() {
        return Ok(Completed::Replay);
    }
    let updated = sqlx::query(
        "UPDATE payments SET status = 'completed', provider_ref = $1, posting_id = $2, completed_at = $3 WHERE id = $4",
    )
    .bind(provider_ref)
    .bind(posted.id().0)
    .bind(now.0)
    .bind(intent.id)
    .execute(&mut *tx)
    .await;
    if let Err(e) = updated {
        return match Error::from(e) {
            // The same provider transaction was already recorded against another intent.
            Error::Conflict(_) => Err(Error::Conflict("duplicate-transaction")),
            other => Err(other),
        };
    }
    let settled = match intent.order_id {
        Some(order) => Some(
            orders::settle(
                &mut tx,
                db.dialect(),
                now,
                order,
                &w,
                None,
                format!("order:{order}:payment:{}", intent.id),
            )
            .await?,
        ),
        None => None,
    };
    if let (Some(card), Holder::User(user)) = (card, w.holder) {
        let wants_recurring = match (settled, intent.order_id) {
            (Some(Settled::Paid), Some(order)) => Some(order),
            _ => None,
        };
        if intent.save_card || wants_recurring.is_some() {
            let card_id = save_card(&mut tx, now, w.book, user, &card).await?;
            if let Some(order) = wants_recurring {
                recurring::start_after_first(&mut tx, now, order, card_id).await?;
            }
        }
    }
    tx.commit().await?;
    Ok(Completed::New { order: settled })
}

/// Money that arrived without an intent (a Kaspi top-up by account
/// number, a matched bank statement line, a second payment of the same
/// intent): credited to the balance once per provider transaction.
pub async fn receive(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    w: &Wallet,
    method: Method,
    provider_ref: &str,
    amount: Money,
) -> Result<Completed> {
    if !amount.is_positive() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    let provider = method.provider();
    let posted = balances::credit_payment(
        tx,
        db.dialect(),
        now,
        w,
        clearing(provider),
        amount,
        Money::ZERO,
        format!("{provider}:{provider_ref}"),
        format!("{} {provider_ref}", method.code()),
    )
    .await?;
    if !posted.is_new() {
        return Ok(Completed::Replay);
    }
    sqlx::query(
        "INSERT INTO payments (book, wallet_id, method, provider, amount, fee, status, provider_ref, posting_id, created_at, completed_at)
         VALUES ($1, $2, $3, $4, $5, 0, 'completed', $6, $7, $8, $8)",
    )
    .bind(w.book.0)
    .bind(w.id)
    .bind(method.code())
    .bind(provider)
    .bind(amount.tiyn())
    .bind(provider_ref)
    .bind(posted.id().0)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(Completed::New { order: None })
}

async fn save_card(
    tx: &mut Tx,
    now: Timestamp,
    book: Book,
    user: UserId,
    card: &Card,
) -> Result<i64> {
    sqlx::query(
        "INSERT INTO saved_cards (book, user_id, token, last_four, card_type, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (book, user_id, token) DO NOTHING",
    )
    .bind(book.0)
    .bind(user.0)
    .bind(&card.token)
    .bind(&card.last_four)
    .bind(&card.card_type)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    let row =
        sqlx::query("SELECT id FROM saved_cards WHERE book = $1 AND user_id = $2 AND token = $3")
            .bind(book.0)
            .bind(user.0)
            .bind(&card.token)
            .fetch_one(&mut **tx)
            .await?;
    Ok(row.try_get(0)?)
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Payout {
    pub id: i64,
    #[schema(value_type = i64)]
    pub book: Book,
    pub wallet_id: i64,
    pub refund_id: Option<i64>,
    pub payment_id: Option<i64>,
    /// `card` (through the gateway's refund API), `kaspi` (a Kaspi return),
    /// `bank` (a transfer the operator makes and records).
    pub method: String,
    #[schema(value_type = i64)]
    pub amount: Money,
    /// `pending`, `done`, `failed`.
    pub status: String,
    pub provider_ref: Option<String>,
    /// Where the money goes, for a bank transfer.
    pub details: String,
    pub created_at: i64,
}

const PAYOUT_COLUMNS: &str = "id, book, wallet_id, refund_id, payment_id, method, amount, status, provider_ref, details, created_at, hold_id";

fn payout_row(r: &sqlx::any::AnyRow) -> Result<(Payout, HoldId)> {
    Ok((
        Payout {
            id: r.try_get(0)?,
            book: Book(r.try_get(1)?),
            wallet_id: r.try_get(2)?,
            refund_id: r.try_get(3)?,
            payment_id: r.try_get(4)?,
            method: r.try_get(5)?,
            amount: Money::from_tiyn(r.try_get(6)?),
            status: r.try_get(7)?,
            provider_ref: r.try_get(8)?,
            details: r.try_get(9)?,
            created_at: r.try_get(10)?,
        },
        HoldId(r.try_get(11)?),
    ))
}

/// Holds `amount` on the balance and records a payout of it through
/// `payment`'s provider (or by bank transfer when `payment` is `None`).
/// A card payout is sent by a job; the others wait for the operator.
#[allow(clippy::too_many_arguments)]
pub async fn start_payout(
    tx: &mut Tx,
    now: Timestamp,
    w: &Wallet,
    refund: Option<i64>,
    payment: Option<&Payment>,
    amount: Money,
    details: &str,
    key: String,
) -> Result<i64> {
    let (method, provider) = match payment.map(|p| p.provider.as_str()) {
        Some("cloudpayments") => ("card", "cloudpayments"),
        Some("kaspi") => ("kaspi", "kaspi"),
        _ => ("bank", "bank"),
    };
    let clearing = ledger::book_account(tx, w.book, clearing(provider), now).await?;
    let hold = holds::place(
        tx,
        now,
        w.book,
        key.clone(),
        format!("payout {method}"),
        w.main,
        clearing,
        amount,
        true,
        None,
    )
    .await?;
    let row = sqlx::query(
        "INSERT INTO payouts (book, wallet_id, refund_id, payment_id, method, amount, hold_id, status, details, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending', $8, $9) RETURNING id",
    )
    .bind(w.book.0)
    .bind(w.id)
    .bind(refund)
    .bind(payment.map(|p| p.id))
    .bind(method)
    .bind(amount.tiyn())
    .bind(hold.0)
    .bind(details)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    if method == "card" {
        jobs::enqueue(
            tx,
            now,
            NewJob::new(crate::jobs::PAYOUT, serde_json::json!({ "payout": id }))
                .dedupe(format!("payout:{id}")),
        )
        .await?;
    }
    Ok(id)
}

pub async fn payout(db: &Db, id: i64) -> Result<Payout> {
    let row = sqlx::query(&format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    Ok(payout_row(&row)?.0)
}

/// Payouts waiting for the operator (Kaspi returns and bank transfers) in these books.
pub async fn pending_manual_payouts(db: &Db, book: Book) -> Result<Vec<Payout>> {
    let rows = sqlx::query(&format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE book = $1 AND status = 'pending' AND method <> 'card' ORDER BY id"
    ))
    .bind(book.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(|r| payout_row(r).map(|p| p.0)).collect()
}

/// Card payouts not yet sent or confirmed.
pub async fn pending_card_payouts(db: &Db) -> Result<Vec<i64>> {
    let rows = sqlx::query(
        "SELECT id FROM payouts WHERE status = 'pending' AND method = 'card' ORDER BY id LIMIT 100",
    )
    .fetch_all(db.read())
    .await?;
    rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
}

pub async fn payouts_of_wallet(db: &Db, wallet: i64) -> Result<Vec<Payout>> {
    let rows = sqlx::query(&format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE wallet_id = $1 ORDER BY id DESC LIMIT 100"
    ))
    .bind(wallet)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(|r| payout_row(r).map(|p| p.0)).collect()
}

/// Ends a payout: `done` posts the hold (the money left), `failed` voids it
/// (the money is back on the balance). Exactly once: a second call finds
/// the payout no longer pending and changes nothing.
pub async fn finish_payout(
    db: &Db,
    id: i64,
    ok: bool,
    reference: &str,
    actor: Option<UserId>,
) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {PAYOUT_COLUMNS} FROM payouts WHERE id = $1{}",
        db.dialect().for_update()
    ))
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let (p, hold) = payout_row(&row)?;
    if p.status != "pending" {
        return Ok(false);
    }
    let how = if ok {
        Resolution::Post
    } else {
        Resolution::Void
    };
    holds::resolve(
        &mut tx,
        now,
        hold,
        how,
        format!("payout:{id}:{}", if ok { "done" } else { "failed" }),
        format!("payout {}", p.method),
        actor,
    )
    .await?;
    sqlx::query("UPDATE payouts SET status = $1, provider_ref = $2, done_at = $3 WHERE id = $4")
        .bind(if ok { "done" } else { "failed" })
        .bind(reference)
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: p.book.org_id(),
            actor_id: actor,
            action: if ok { "payout.done" } else { "payout.failed" },
            subject: format!("payout:{id}"),
            data: serde_json::json!({ "amount": p.amount.tiyn(), "method": p.method, "reference": reference }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// A person asks to be paid out what is left on their main balance (IS
/// 5.1.7): by bank transfer to the account they give, made by the operator
/// or organizer. Bonus is never paid out.
pub async fn withdraw(
    db: &Db,
    book: Book,
    holder: Holder,
    amount: Money,
    details: &str,
    key: &str,
) -> Result<i64> {
    crate::idempotency::check_key(key)?;
    if !amount.is_positive() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    let details = details.trim();
    if details.is_empty() || details.chars().count() > 500 {
        return Err(Error::invalid("details", "required"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = balances::wallet(&mut tx, book, holder, now).await?;
    let posting_key = format!("withdraw:{}:{key}", w.id);
    let existing = sqlx::query("SELECT p.id FROM payouts p JOIN ledger_transfers t ON t.id = p.hold_id JOIN ledger_postings k ON k.id = t.posting_id WHERE k.idem_key = $1")
        .bind(&posting_key)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(row) = existing {
        return Ok(row.try_get(0)?);
    }
    let id = start_payout(&mut tx, now, &w, None, None, amount, details, posting_key).await?;
    tx.commit().await?;
    Ok(id)
}
