//! Orders: a customer's purchase of one product at the price, period and
//! refund policy shown when ordering, which later changes never touch
//! (M-9). Paid 100 % in advance on the order day by default (LZ 4.3); a
//! product may allow 50 % now and the rest by an agreed date (LZ 4.3.1),
//! with a reminder before and access suspended after. An order not paid on
//! its day is void. Paying records acceptance of the offer version shown.

use sqlx::Row;
use tabys_accounts::members;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::audit::{self, Entry};
use tabys_store::jobs::{self, NewJob};
use tabys_store::{Db, Dialect, Tx};

use crate::balances::{self, Wallet};
use crate::entitlements::{self, Period};
use crate::ledger::{self, NewPosting, Posted, Transfer, codes};
use crate::products::{self, Product};
use crate::refund::RefundPolicy;
use crate::{BillingConfig, Book, Holder, payment_module, plans};

/// Days before the second half is due when the customer is reminded.
pub const REST_REMINDER_DAYS: i64 = 3;

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum PayPlan {
    /// 100 % now.
    Full,
    /// 50 % now, the rest by the agreed date.
    Half,
}

impl PayPlan {
    pub fn code(self) -> &'static str {
        match self {
            Self::Full => "full",
            Self::Half => "half",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "" | "full" => Some(Self::Full),
            "half" => Some(Self::Half),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Order {
    pub id: i64,
    #[schema(value_type = i64)]
    pub org_id: OrgId,
    pub product_id: i64,
    #[schema(value_type = i64)]
    pub customer_id: UserId,
    /// `awaiting-payment`, `part-paid`, `paid`, `void`, `refunded`.
    pub status: String,
    pub title: String,
    #[schema(value_type = i64)]
    pub price: Money,
    pub taxes_included: bool,
    pub access_days: Option<i64>,
    pub starts_at: Option<i64>,
    #[schema(value_type = Object)]
    pub refund_policy: RefundPolicy,
    pub plan: PayPlan,
    /// What the first payment is.
    #[schema(value_type = i64)]
    pub first_due: Money,
    #[schema(value_type = i64)]
    pub paid: Money,
    #[schema(value_type = i64)]
    pub refunded: Money,
    /// Unpaid after this moment, the order is void.
    pub pay_by: i64,
    /// For a half payment: the rest is due by then.
    pub rest_due_at: Option<i64>,
    pub offer_version_id: Option<i64>,
    pub recurring_id: Option<i64>,
    pub created_at: i64,
    pub paid_at: Option<i64>,
    /// The part of `paid` that came from the bonus balance: a refund gives
    /// it back as bonus, never as money that can be paid out.
    #[schema(value_type = i64)]
    pub paid_bonus: Money,
}

impl Order {
    /// What must be paid next: the first part, then the rest.
    pub fn due_now(&self) -> Money {
        if self.paid.tiyn() == 0 {
            self.first_due
        } else {
            Money::from_tiyn(self.price.tiyn() - self.paid.tiyn())
        }
    }

    pub fn is_payable(&self) -> bool {
        matches!(self.status.as_str(), "awaiting-payment" | "part-paid")
    }

    pub fn book(&self) -> Book {
        Book::org(self.org_id)
    }
}

const COLUMNS: &str = "id, org_id, product_id, customer_id, status, title, price, taxes_included, access_days, starts_at, refund_policy, \
     plan, first_due, paid, refunded, pay_by, rest_due_at, offer_version_id, recurring_id, created_at, paid_at, paid_bonus";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Order> {
    let policy: String = r.try_get(10)?;
    let plan: String = r.try_get(11)?;
    Ok(Order {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        product_id: r.try_get(2)?,
        customer_id: UserId(r.try_get(3)?),
        status: r.try_get(4)?,
        title: r.try_get(5)?,
        price: Money::from_tiyn(r.try_get(6)?),
        taxes_included: r.try_get::<i64, _>(7)? != 0,
        access_days: r.try_get(8)?,
        starts_at: r.try_get(9)?,
        refund_policy: RefundPolicy::from_json(&policy),
        plan: PayPlan::parse(&plan).unwrap_or(PayPlan::Full),
        first_due: Money::from_tiyn(r.try_get(12)?),
        paid: Money::from_tiyn(r.try_get(13)?),
        refunded: Money::from_tiyn(r.try_get(14)?),
        pay_by: r.try_get(15)?,
        rest_due_at: r.try_get(16)?,
        offer_version_id: r.try_get(17)?,
        recurring_id: r.try_get(18)?,
        created_at: r.try_get(19)?,
        paid_at: r.try_get(20)?,
        paid_bonus: Money::from_tiyn(r.try_get(21)?),
    })
}

/// What a customer asks for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct NewOrder {
    pub product_id: i64,
    pub plan: PayPlan,
    /// The offer version the customer was shown, accepted by paying.
    pub offer_version_id: Option<i64>,
}

/// How the customer was shown the offer when ordering: kept with the order
/// because the payment that accepts the offer arrives later, from the
/// provider, without the customer's browser.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ShownOffer {
    pub ip: String,
    pub user_agent: String,
    /// `ru`, `kk`, `en`.
    pub locale: String,
    /// The words next to the pay button.
    pub wording: String,
}

/// The end of the Almaty calendar day of `now`: LZ 4.3 asks for payment
/// "on the day of the order".
pub fn end_of_business_day(now: Timestamp) -> Timestamp {
    let date = calendar::business_date(now);
    let next = date.tomorrow().unwrap_or(date);
    next.to_zoned(calendar::almaty())
        .map(|z| Timestamp::from_jiff(z.timestamp()))
        .unwrap_or(now.plus_days(1))
}

/// Places an order. The same `idem_key` from the same customer (a form sent
/// twice) returns the first order; with another product or plan it is a
/// conflict.
pub async fn create(
    db: &Db,
    org: OrgId,
    customer: UserId,
    new: NewOrder,
    shown: &ShownOffer,
    idem_key: &str,
) -> Result<Order> {
    crate::idempotency::check_key(idem_key)?;
    if let Some(existing) = by_key(db, customer, idem_key).await? {
        return if existing.product_id == new.product_id
            && existing.plan == new.plan
            && existing.org_id == org
        {
            Ok(existing)
        } else {
            Err(Error::Conflict("idempotency-conflict"))
        };
    }
    let product = products::get(db, org, new.product_id).await?;
    if product.status != "active" {
        return Err(Error::NotFound);
    }
    check_can_sell(db, &product, customer).await?;
    if new.plan == PayPlan::Half && !product.allow_half {
        return Err(Error::invalid("plan", "half-not-allowed"));
    }
    let now = db.now();
    // What the seller gets first is rounded up, so the rest is never the larger half.
    let first_due = match new.plan {
        PayPlan::Full => product.price,
        PayPlan::Half => Money::from_tiyn(crate::share_up(product.price.tiyn(), 1, 2)),
    };
    let pay_by = end_of_business_day(now);
    let rest_due_at = match (new.plan, product.rest_due_days) {
        (PayPlan::Half, Some(days)) => Some(now.plus_days(days)),
        _ => None,
    };
    let mut tx = db.begin().await?;
    members::join_as_customer(&mut tx, db, org, customer).await?;
    let row = sqlx::query(&format!(
        "INSERT INTO orders (org_id, product_id, customer_id, status, title, price, taxes_included, access_days, starts_at,
             refund_policy, plan, first_due, paid, refunded, pay_by, rest_due_at, offer_version_id, idem_key, created_at, updated_at, evidence)
         VALUES ($1, $2, $3, 'awaiting-payment', $4, $5, $6, $7, $8, $9, $10, $11, 0, 0, $12, $13, $14, $15, $16, $16, $17)
         RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(product.id)
    .bind(customer.0)
    .bind(&product.title)
    .bind(product.price.tiyn())
    .bind(i64::from(product.taxes_included))
    .bind(product.access_days)
    .bind(product.starts_at)
    .bind(product.refund_policy.to_json())
    .bind(new.plan.code())
    .bind(first_due.tiyn())
    .bind(pay_by.0)
    .bind(rest_due_at.map(|t| t.0))
    .bind(new.offer_version_id)
    .bind(idem_key)
    .bind(now.0)
    .bind(serde_json::to_string(shown).map_err(Error::internal)?)
    .fetch_one(&mut *tx)
    .await;
    let row = match row {
        Ok(row) => row,
        // The same form sent twice at the same moment: the other one won.
        Err(e) => {
            return match Error::from(e) {
                Error::Conflict(_) => {
                    drop(tx);
                    by_key(db, customer, idem_key)
                        .await?
                        .ok_or(Error::Conflict("idempotency-conflict"))
                }
                other => Err(other),
            };
        }
    };
    let order = from_row(&row)?;
    jobs::enqueue(
        &mut tx,
        now,
        NewJob::new(
            crate::jobs::ORDER_DUE,
            serde_json::json!({ "order": order.id }),
        )
        .org(org)
        .dedupe(format!("order-due:{}", order.id))
        .at(pay_by),
    )
    .await?;
    tx.commit().await?;
    Ok(order)
}

/// Refuses a sale the organizer may not make now: no payment module,
/// a plan that has run out, the plan's student limit, or a customer
/// suspended for a negative balance.
pub async fn check_can_sell(db: &Db, product: &Product, customer: UserId) -> Result<()> {
    let org = product.org_id;
    if !payment_module::is_enabled(db, org).await? {
        return Err(Error::Conflict("payment-module-off"));
    }
    let limits = plans::limits(db, org).await?;
    if limits.restricted {
        return Err(Error::Conflict("organizer-restricted"));
    }
    if !entitlements::is_active_customer(db, org, customer).await?
        && entitlements::active_customers(db, org).await? >= limits.active_students
    {
        return Err(Error::Conflict("plan-limit-students"));
    }
    if balances::is_suspended(db, Book::org(org), Holder::User(customer)).await? {
        return Err(Error::Conflict("account-suspended"));
    }
    Ok(())
}

async fn by_key(db: &Db, customer: UserId, key: &str) -> Result<Option<Order>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE customer_id = $1 AND idem_key = $2"
    ))
    .bind(customer.0)
    .bind(key)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// One order of the organizer.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Order> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// One of the customer's own orders, in any organizer.
pub async fn get_own(db: &Db, customer: UserId, id: i64) -> Result<Order> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1 AND customer_id = $2"
    ))
    .bind(id)
    .bind(customer.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The order row locked for the rest of the transaction.
pub(crate) async fn lock(tx: &mut Tx, dialect: Dialect, id: i64) -> Result<Order> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE id = $1{}",
        dialect.for_update()
    ))
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn of_org(db: &Db, org: OrgId, limit: i64) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE org_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(org.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn of_customer(db: &Db, customer: UserId, limit: i64) -> Result<Vec<Order>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM orders WHERE customer_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(customer.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// What settling a payment against an order did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// The order got the money; it is now `part-paid` or `paid`.
    Paid,
    /// The order could not take it (void, already paid): the money stays on
    /// the customer's balance, where it can be spent or paid out.
    LeftOnBalance,
}

/// Pays what is due on the order from the customer's balance, inside the
/// caller's transaction: the posting, the order's state, access, the
/// acceptance of the offer shown, and the reminders of a half payment.
/// `bonus_first` applies to a payment from the balance; money that just
/// arrived through a provider is spent from the main balance only, so a
/// card payment never eats a customer's bonus.
pub async fn settle(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    order_id: i64,
    w: &Wallet,
    use_bonus: Option<bool>,
    key: String,
) -> Result<Settled> {
    let order = lock(tx, dialect, order_id).await?;
    if !order.is_payable() || order.customer_id != owner(w)? || order.book() != w.book {
        return Ok(Settled::LeftOnBalance);
    }
    let due = order.due_now();
    let memo = format!("order {} «{}»", order.id, order.title);
    let (posted, from_bonus) = match use_bonus {
        Some(bonus_first) => {
            balances::spend(tx, dialect, now, w, due, bonus_first, key, "order", memo).await?
        }
        None => {
            let revenue = ledger::book_account(tx, w.book, codes::REVENUE, now).await?;
            let posted = ledger::post(
                tx,
                now,
                NewPosting {
                    book: w.book,
                    key,
                    kind: "order",
                    memo,
                    transfers: vec![Transfer::guarded(w.main, revenue, due)],
                    corrects: None,
                    actor: None,
                },
            )
            .await?;
            (posted, Money::ZERO)
        }
    };
    if let Posted::Replay(_) = posted {
        return Ok(Settled::Paid);
    }
    let paid = order
        .paid
        .checked_add(due)
        .ok_or(Error::invalid("amount", "money-range"))?;
    let status = if paid >= order.price {
        "paid"
    } else {
        "part-paid"
    };
    sqlx::query(
        "UPDATE orders SET paid = $1, paid_bonus = paid_bonus + $2, status = $3, paid_at = COALESCE(paid_at, $4), updated_at = $4 WHERE id = $5",
    )
        .bind(paid.tiyn())
        .bind(from_bonus.tiyn())
        .bind(status)
        .bind(now.0)
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    let first = order.paid.tiyn() == 0;
    if first {
        let period = match (
            order.recurring_id,
            recurring_months(tx, order.product_id).await?,
        ) {
            (_, Some(m)) => Period::Months(m),
            _ => order.access_days.map_or(Period::Forever, Period::Days),
        };
        entitlements::grant(tx, now, &order, period, order.recurring_id.is_some()).await?;
        record_acceptance(tx, dialect, now, &order).await?;
        if let (Some(rest_due), true) = (order.rest_due_at, status == "part-paid") {
            let remind = Timestamp(rest_due - REST_REMINDER_DAYS * 86_400_000).max(now);
            jobs::enqueue(
                tx,
                now,
                NewJob::new(
                    crate::jobs::REST_REMINDER,
                    serde_json::json!({ "order": order.id }),
                )
                .org(order.org_id)
                .dedupe(format!("rest-reminder:{}", order.id))
                .at(remind),
            )
            .await?;
            jobs::enqueue(
                tx,
                now,
                NewJob::new(
                    crate::jobs::REST_OVERDUE,
                    serde_json::json!({ "order": order.id }),
                )
                .org(order.org_id)
                .dedupe(format!("rest-overdue:{}", order.id))
                .at(Timestamp(rest_due)),
            )
            .await?;
        }
    } else {
        // The rest arrived, perhaps after the deadline: access comes back.
        entitlements::set_status(tx, now, order.org_id, order.id, "active", "paid").await?;
    }
    Ok(Settled::Paid)
}

fn owner(w: &Wallet) -> Result<UserId> {
    match w.holder {
        Holder::User(u) => Ok(u),
        Holder::Org(_) => Err(Error::Internal(
            "an order paid from an organizer's account".into(),
        )),
    }
}

async fn recurring_months(tx: &mut Tx, product: i64) -> Result<Option<i64>> {
    let row = sqlx::query("SELECT recurring_months FROM products WHERE id = $1")
        .bind(product)
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get(0)?)
}

/// Paying records acceptance of the organizer's offers (LZ-1, LZ 3.4, AT
/// 1.2) in the transaction of the payment itself, with the evidence kept
/// from when the customer was shown them; a renewal charge accepts as a
/// renewal. The order's own audit entry names the version shown.
async fn record_acceptance(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    order: &Order,
) -> Result<()> {
    let row = sqlx::query("SELECT evidence FROM orders WHERE id = $1")
        .bind(order.id)
        .fetch_one(&mut **tx)
        .await?;
    let shown: ShownOffer = serde_json::from_str(&row.try_get::<String, _>(0)?).unwrap_or_default();
    let p = tabys_offers::acceptance::PaymentAcceptance {
        user: order.customer_id,
        org: order.org_id,
        reference: format!("order:{}", order.id),
        evidence: tabys_offers::Evidence {
            origin: tabys_accounts::sessions::Origin {
                ip: shown.ip,
                user_agent: shown.user_agent,
            },
            locale: tabys_core::locale::Locale::parse(&shown.locale),
            wording: shown.wording,
        },
    };
    if order.recurring_id.is_some() {
        tabys_offers::acceptance::accept_by_renewal(tx, dialect, now, &p).await?;
    } else {
        tabys_offers::acceptance::accept_by_payment(tx, dialect, now, &p).await?;
    }
    audit::append(
        tx,
        dialect,
        now,
        Entry {
            org_id: Some(order.org_id),
            actor_id: Some(order.customer_id),
            action: "order.paid",
            subject: format!("order:{}", order.id),
            data: serde_json::json!({
                "product": order.product_id,
                "price": order.price.tiyn(),
                "plan": order.plan.code(),
                "offer_version": order.offer_version_id,
                "accepted_by": "payment",
            }),
        },
    )
    .await?;
    Ok(())
}

/// Pays the order from the customer's balance (main and bonus by the
/// configured rule). A repeat with the same key is answered as the first.
pub async fn pay_from_balance(
    db: &Db,
    cfg: &BillingConfig,
    customer: UserId,
    order_id: i64,
    key: &str,
) -> Result<Order> {
    crate::idempotency::check_key(key)?;
    let order = get_own(db, customer, order_id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = balances::wallet(&mut tx, order.book(), Holder::User(customer), now).await?;
    let posting_key = format!("balance:{}:{key}", order.id);
    let locked = lock(&mut tx, db.dialect(), order.id).await?;
    if !locked.is_payable() {
        let already = sqlx::query("SELECT id FROM ledger_postings WHERE idem_key = $1")
            .bind(&posting_key)
            .fetch_optional(&mut *tx)
            .await?;
        return if already.is_some() {
            get_own(db, customer, order_id).await
        } else {
            Err(Error::Conflict("order-not-payable"))
        };
    }
    settle(
        &mut tx,
        db.dialect(),
        now,
        order.id,
        &w,
        Some(cfg.bonus_first),
        posting_key,
    )
    .await?;
    tx.commit().await?;
    get_own(db, customer, order_id).await
}

/// The order's day ended unpaid: void. Runs as a job at `pay_by`.
pub async fn void_if_unpaid(db: &Db, order_id: i64) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let order = lock(&mut tx, db.dialect(), order_id).await?;
    if order.status != "awaiting-payment" || now.0 < order.pay_by {
        return Ok(false);
    }
    sqlx::query("UPDATE orders SET status = 'void', updated_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(order.id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(order.org_id),
            actor_id: None,
            action: "order.void",
            subject: format!("order:{}", order.id),
            data: serde_json::json!({ "reason": "not paid on the order day" }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// Reminds the customer that the rest is due soon.
pub async fn remind_rest(db: &Db, order_id: i64) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let order = lock(&mut tx, db.dialect(), order_id).await?;
    if order.status != "part-paid" {
        return Ok(false);
    }
    let due = order
        .rest_due_at
        .map(|t| calendar::business_date(Timestamp(t)).to_string())
        .unwrap_or_default();
    let mut args = serde_json::Map::new();
    args.insert("order".into(), serde_json::json!(order.id));
    args.insert(
        "amount".into(),
        serde_json::json!(order.due_now().format_kzt()),
    );
    args.insert("date".into(), serde_json::json!(due));
    tabys_notify::add(
        &mut tx,
        now,
        tabys_notify::NewNotification {
            user: order.customer_id,
            org: Some(order.org_id),
            kind: "billing.rest-due",
            key: "notify-rest-due",
            args,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The rest was not paid by the agreed date: access is suspended until it is.
pub async fn suspend_if_rest_unpaid(db: &Db, order_id: i64) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let order = lock(&mut tx, db.dialect(), order_id).await?;
    if order.status != "part-paid" || order.rest_due_at.is_none_or(|t| now.0 < t) {
        return Ok(false);
    }
    entitlements::set_status(
        &mut tx,
        now,
        order.org_id,
        order.id,
        "suspended",
        "rest-unpaid",
    )
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(order.org_id),
            actor_id: None,
            action: "order.access-suspended",
            subject: format!("order:{}", order.id),
            data: serde_json::json!({ "outstanding": order.due_now().tiyn() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

/// The order of one renewal of a recurring purchase: the price and period
/// fixed when the customer subscribed, not today's (M-9).
pub(crate) async fn insert_renewal(
    tx: &mut Tx,
    now: Timestamp,
    first: &Order,
    recurring_id: i64,
    cycle: i64,
) -> Result<Order> {
    let row = sqlx::query(&format!(
        "INSERT INTO orders (org_id, product_id, customer_id, status, title, price, taxes_included, access_days, starts_at,
             refund_policy, plan, first_due, paid, refunded, pay_by, offer_version_id, recurring_id, idem_key, created_at, updated_at)
         VALUES ($1, $2, $3, 'awaiting-payment', $4, $5, $6, $7, $8, $9, 'full', $5, 0, 0, $10, $11, $12, $13, $14, $14)
         ON CONFLICT (customer_id, idem_key) DO NOTHING RETURNING {COLUMNS}"
    ))
    .bind(first.org_id.0)
    .bind(first.product_id)
    .bind(first.customer_id.0)
    .bind(&first.title)
    .bind(first.price.tiyn())
    .bind(i64::from(first.taxes_included))
    .bind(first.access_days)
    .bind(first.starts_at)
    .bind(first.refund_policy.to_json())
    .bind(now.plus_days(3).0)
    .bind(first.offer_version_id)
    .bind(recurring_id)
    .bind(format!("recurring:{recurring_id}:{cycle}"))
    .bind(now.0)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(r) => from_row(&r),
        None => {
            let r = sqlx::query(&format!(
                "SELECT {COLUMNS} FROM orders WHERE customer_id = $1 AND idem_key = $2"
            ))
            .bind(first.customer_id.0)
            .bind(format!("recurring:{recurring_id}:{cycle}"))
            .fetch_one(&mut **tx)
            .await?;
            from_row(&r)
        }
    }
}

pub(crate) async fn get_tx(tx: &mut Tx, id: i64) -> Result<Order> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM orders WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}
