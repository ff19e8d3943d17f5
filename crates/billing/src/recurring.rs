//! Recurring payments from a saved card (AT 1.10): monthly, every 4, 5 or 9
//! months, or yearly. The first order is paid by card as usual; the card's
//! token then pays each next period when the current one ends, through the
//! gateway's `payments/tokens/charge`. A declined charge is tried again
//! after 1, 3 and 5 days; after the third decline the subscription is
//! suspended and access ends with the paid period. The customer can cancel
//! at any time; what was paid runs to its end.
//!
//! We schedule the charges ourselves rather than through the gateway's
//! subscriptions so that the retry schedule, the suspension and the price
//! fixed at subscription (M-9) are ours, visible and tested with the clock.

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::jobs::{self, NewJob};
use tabys_store::{Db, Tx};

use crate::entitlements::Period;
use crate::orders;
use crate::payments::{self, Completed};
use crate::providers::cloudpayments::{Client, Outcome};

/// Days after a decline before the next try; one entry per retry.
pub const RETRY_DAYS: [i64; 3] = [1, 3, 5];

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Recurring {
    pub id: i64,
    pub org_id: i64,
    pub customer_id: i64,
    pub product_id: i64,
    pub months: i64,
    /// The price fixed at subscription, in tiyn.
    #[schema(value_type = i64)]
    pub amount: Money,
    /// `active`, `past-due`, `suspended`, `cancelled`.
    pub status: String,
    pub next_charge_at: i64,
    pub cycle: i64,
    pub failures: i64,
    pub last_error: Option<String>,
    pub card: String,
}

const COLUMNS: &str = "r.id, r.org_id, r.customer_id, r.product_id, r.months, r.amount, r.status, r.next_charge_at, r.cycle, r.failures, r.last_error, c.last_four, c.token";

fn from_row(r: &sqlx::any::AnyRow) -> Result<(Recurring, String)> {
    Ok((
        Recurring {
            id: r.try_get(0)?,
            org_id: r.try_get(1)?,
            customer_id: r.try_get(2)?,
            product_id: r.try_get(3)?,
            months: r.try_get(4)?,
            amount: Money::from_tiyn(r.try_get(5)?),
            status: r.try_get(6)?,
            next_charge_at: r.try_get(7)?,
            cycle: r.try_get(8)?,
            failures: r.try_get(9)?,
            last_error: r.try_get(10)?,
            card: format!("•••• {}", r.try_get::<String, _>(11)?),
        },
        r.try_get(12)?,
    ))
}

async fn load(db: &Db, id: i64) -> Result<(Recurring, String)> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM recurring r JOIN saved_cards c ON c.id = r.card_id WHERE r.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn of_customer(db: &Db, customer: UserId) -> Result<Vec<Recurring>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM recurring r JOIN saved_cards c ON c.id = r.card_id WHERE r.customer_id = $1 ORDER BY r.id DESC"
    ))
    .bind(customer.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(|r| from_row(r).map(|x| x.0)).collect()
}

/// After the first order of a recurring product was paid by card: the
/// next charge is due when the paid period ends.
pub(crate) async fn start_after_first(
    tx: &mut Tx,
    now: Timestamp,
    order_id: i64,
    card_id: i64,
) -> Result<()> {
    let order = orders::get_tx(tx, order_id).await?;
    let row = sqlx::query("SELECT recurring_months FROM products WHERE id = $1")
        .bind(order.product_id)
        .fetch_one(&mut **tx)
        .await?;
    let Some(months) = row.try_get::<Option<i64>, _>(0)? else {
        return Ok(());
    };
    if order.recurring_id.is_some() {
        return Ok(());
    }
    let next = Period::Months(months).end(now).unwrap_or(now);
    let row = sqlx::query(
        "INSERT INTO recurring (org_id, customer_id, product_id, card_id, months, amount, status, next_charge_at, cycle, failures, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, 1, 0, $8, $8) RETURNING id",
    )
    .bind(order.org_id.0)
    .bind(order.customer_id.0)
    .bind(order.product_id)
    .bind(card_id)
    .bind(months)
    .bind(order.price.tiyn())
    .bind(next.0)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    sqlx::query("UPDATE orders SET recurring_id = $1 WHERE id = $2")
        .bind(id)
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    schedule(tx, now, id, 2, next).await
}

async fn schedule(tx: &mut Tx, now: Timestamp, id: i64, cycle: i64, at: Timestamp) -> Result<()> {
    jobs::enqueue(
        tx,
        now,
        NewJob::new(
            crate::jobs::RECURRING_CHARGE,
            serde_json::json!({ "recurring": id, "cycle": cycle }),
        )
        .dedupe(format!("recurring:{id}:{cycle}:{}", at.0))
        .at(at),
    )
    .await?;
    Ok(())
}

/// The customer cancels; nothing more is charged.
pub async fn cancel(db: &Db, customer: UserId, id: i64) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE recurring SET status = 'cancelled', cancelled_at = $1, updated_at = $1 WHERE id = $2 AND customer_id = $3 AND status <> 'cancelled'",
    )
    .bind(now.0)
    .bind(id)
    .bind(customer.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(customer),
            action: "recurring.cancelled",
            subject: format!("recurring:{id}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Charges the period that is due. Runs as a job at `next_charge_at`.
pub async fn charge_due(
    db: &Db,
    cfg: &crate::BillingConfig,
    client: &Client,
    id: i64,
) -> Result<()> {
    let (r, token) = load(db, id).await?;
    let now = db.now();
    if !matches!(r.status.as_str(), "active" | "past-due") || now.0 < r.next_charge_at {
        return Ok(());
    }
    let cycle = r.cycle + 1;
    let first_order = {
        let row = sqlx::query("SELECT id FROM orders WHERE recurring_id = $1 ORDER BY id LIMIT 1")
            .bind(id)
            .fetch_one(db.read())
            .await?;
        row.try_get::<i64, _>(0)?
    };
    // The renewal's order and payment intent exist before the card is
    // charged, so a charge that went through is always recorded against them.
    let mut tx = db.begin().await?;
    let first = orders::get_tx(&mut tx, first_order).await?;
    let order = orders::insert_renewal(&mut tx, now, &first, id, cycle).await?;
    tx.commit().await?;
    let customer = UserId(r.customer_id);
    let payment = match existing_intent(db, order.id).await? {
        Some(p) => p,
        None => {
            payments::start(
                db,
                cfg,
                order.book(),
                crate::Holder::User(customer),
                payments::Purpose::Order(order.id),
                payments::Method::Card,
                false,
                None,
            )
            .await?
        }
    };
    if payment.status == "completed" {
        return advance(db, &r, cycle).await;
    }
    let outcome = client
        .charge_token(
            &token,
            &crate::Holder::User(customer).key(),
            payment.amount,
            &payment.reference(),
            &format!("renewal {cycle}: {}", first.title),
            &format!("recurring-{id}-{cycle}"),
        )
        .await?;
    match outcome {
        Outcome::Done(txn) => {
            match payments::complete(db, payment.id, "cloudpayments", &txn, payment.amount, None)
                .await?
            {
                Completed::New { .. } | Completed::Replay => {}
            }
            advance(db, &r, cycle).await
        }
        Outcome::Declined(reason) => declined(db, &r, cycle, &reason).await,
    }
}

async fn existing_intent(db: &Db, order: i64) -> Result<Option<payments::Payment>> {
    let row = sqlx::query("SELECT id FROM payments WHERE order_id = $1 ORDER BY id LIMIT 1")
        .bind(order)
        .fetch_optional(db.read())
        .await?;
    match row {
        Some(r) => Ok(Some(payments::get(db, r.try_get(0)?).await?)),
        None => Ok(None),
    }
}

async fn advance(db: &Db, r: &Recurring, cycle: i64) -> Result<()> {
    let now = db.now();
    let next = Period::Months(r.months)
        .end(Timestamp(r.next_charge_at))
        .unwrap_or(now);
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE recurring SET status = 'active', cycle = $1, failures = 0, last_error = NULL, next_charge_at = $2, updated_at = $3 WHERE id = $4 AND cycle = $5",
    )
    .bind(cycle)
    .bind(next.0)
    .bind(now.0)
    .bind(r.id)
    .bind(cycle - 1)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 1 {
        schedule(&mut tx, now, r.id, cycle + 1, next).await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn declined(db: &Db, r: &Recurring, cycle: i64, reason: &str) -> Result<()> {
    let now = db.now();
    let failures = r.failures + 1;
    let mut tx = db.begin().await?;
    let retry = RETRY_DAYS
        .get(usize::try_from(r.failures).unwrap_or(usize::MAX))
        .copied();
    match retry {
        Some(days) => {
            let at = now.plus_days(days);
            sqlx::query("UPDATE recurring SET status = 'past-due', failures = $1, last_error = $2, updated_at = $3 WHERE id = $4")
                .bind(failures)
                .bind(reason)
                .bind(now.0)
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
            schedule(&mut tx, now, r.id, cycle, at).await?;
            // The order of this cycle stays open until the retry; keep it from being voided meanwhile.
            sqlx::query("UPDATE recurring SET next_charge_at = $1 WHERE id = $2")
                .bind(at.0)
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
        }
        None => {
            sqlx::query("UPDATE recurring SET status = 'suspended', failures = $1, last_error = $2, updated_at = $3 WHERE id = $4")
                .bind(failures)
                .bind(reason)
                .bind(now.0)
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("UPDATE orders SET status = 'void', updated_at = $1 WHERE recurring_id = $2 AND status = 'awaiting-payment'")
                .bind(now.0)
                .bind(r.id)
                .execute(&mut *tx)
                .await?;
            audit::append(
                &mut tx,
                db.dialect(),
                now,
                Entry {
                    org_id: Some(tabys_core::ids::OrgId(r.org_id)),
                    actor_id: None,
                    action: "recurring.suspended",
                    subject: format!("recurring:{}", r.id),
                    data: serde_json::json!({ "failures": failures, "reason": reason }),
                },
            )
            .await?;
            let title: String = sqlx::query("SELECT title FROM products WHERE id = $1")
                .bind(r.product_id)
                .fetch_one(&mut *tx)
                .await?
                .try_get(0)?;
            let mut args = serde_json::Map::new();
            args.insert("title".into(), serde_json::json!(title));
            tabys_notify::add(
                &mut tx,
                now,
                tabys_notify::NewNotification {
                    user: UserId(r.customer_id),
                    org: Some(tabys_core::ids::OrgId(r.org_id)),
                    kind: "billing.recurring-suspended",
                    key: "notify-recurring-suspended",
                    args,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
