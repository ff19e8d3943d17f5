//! Access a paid order grants: to a product, from a start, for a period or
//! without end. A refund revokes it; a missed second half suspends it until
//! paid (LZ 4.3.1); a recurring charge adds the next period after the last.
//! Other capabilities ask [`has_access`] before they serve a course, a room
//! or a booking.

use jiff::ToSpan;
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Result, Timestamp, calendar};
use tabys_store::{Db, Tx};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Entitlement {
    pub id: i64,
    #[schema(value_type = i64)]
    pub org_id: OrgId,
    #[schema(value_type = i64)]
    pub customer_id: UserId,
    pub product_id: i64,
    pub order_id: i64,
    pub starts_at: i64,
    pub ends_at: Option<i64>,
    /// `active`, `suspended` or `revoked`.
    pub status: String,
    pub reason: String,
}

const COLUMNS: &str =
    "id, org_id, customer_id, product_id, order_id, starts_at, ends_at, status, reason";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Entitlement> {
    Ok(Entitlement {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        customer_id: UserId(r.try_get(2)?),
        product_id: r.try_get(3)?,
        order_id: r.try_get(4)?,
        starts_at: r.try_get(5)?,
        ends_at: r.try_get(6)?,
        status: r.try_get(7)?,
        reason: r.try_get(8)?,
    })
}

/// How long access lasts.
#[derive(Debug, Clone, Copy)]
pub enum Period {
    Forever,
    Days(i64),
    /// Calendar months in Almaty time: a subscription bought on 31 January
    /// runs to the end of February, not to 3 March.
    Months(i64),
}

impl Period {
    pub fn end(self, from: Timestamp) -> Option<Timestamp> {
        match self {
            Self::Forever => None,
            Self::Days(d) => Some(from.plus_days(d)),
            Self::Months(m) => {
                let zoned = from.to_jiff().to_zoned(calendar::almaty());
                let end = zoned
                    .checked_add(m.months())
                    .map(|z| Timestamp::from_jiff(z.timestamp()));
                Some(end.unwrap_or_else(|_| from.plus_days(30 * m)))
            }
        }
    }
}

/// Grants access for a paid order, starting now or, for a renewal, when
/// the customer's last access to the product ends.
pub async fn grant(
    tx: &mut Tx,
    now: Timestamp,
    order: &crate::orders::Order,
    period: Period,
    after_last: bool,
) -> Result<Entitlement> {
    let (org, customer, product) = (order.org_id, order.customer_id, order.product_id);
    let mut start = now;
    if after_last {
        let row = sqlx::query(
            "SELECT MAX(ends_at) FROM entitlements WHERE org_id = $1 AND customer_id = $2 AND product_id = $3 AND status = 'active'",
        )
        .bind(org.0)
        .bind(customer.0)
        .bind(product)
        .fetch_one(&mut **tx)
        .await?;
        if let Some(last) = row.try_get::<Option<i64>, _>(0)? {
            start = Timestamp(last.max(now.0));
        }
    }
    let ends = period.end(start);
    let row = sqlx::query(&format!(
        "INSERT INTO entitlements (org_id, customer_id, product_id, order_id, starts_at, ends_at, status, reason, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'active', 'paid', $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(customer.0)
    .bind(product)
    .bind(order.id)
    .bind(start.0)
    .bind(ends.map(|t| t.0))
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    from_row(&row)
}

/// Changes the access of one order: `revoked` (refund), `suspended`
/// (second half overdue), `active` (paid after all).
pub async fn set_status(
    tx: &mut Tx,
    now: Timestamp,
    org: OrgId,
    order: i64,
    status: &str,
    reason: &str,
) -> Result<()> {
    sqlx::query("UPDATE entitlements SET status = $1, reason = $2, updated_at = $3 WHERE org_id = $4 AND order_id = $5 AND status <> 'revoked'")
        .bind(status)
        .bind(reason)
        .bind(now.0)
        .bind(org.0)
        .bind(order)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Does the person have access to the product right now?
pub async fn has_access(db: &Db, org: OrgId, customer: UserId, product: i64) -> Result<bool> {
    let now = db.now();
    let row = sqlx::query(
        "SELECT COUNT(*) FROM entitlements WHERE org_id = $1 AND customer_id = $2 AND product_id = $3 AND status = 'active'
         AND starts_at <= $4 AND (ends_at IS NULL OR ends_at > $4)",
    )
    .bind(org.0)
    .bind(customer.0)
    .bind(product)
    .bind(now.0)
    .fetch_one(db.read())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// The access an order gave.
pub async fn of_order(db: &Db, org: OrgId, order: i64) -> Result<Option<Entitlement>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM entitlements WHERE org_id = $1 AND order_id = $2"
    ))
    .bind(org.0)
    .bind(order)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// How many different people hold access in the organizer now: what the
/// plan's "active students" limit counts (AT-6).
pub async fn active_customers(db: &Db, org: OrgId) -> Result<i64> {
    let now = db.now();
    let row = sqlx::query(
        "SELECT COUNT(DISTINCT customer_id) FROM entitlements WHERE org_id = $1 AND status = 'active' AND (ends_at IS NULL OR ends_at > $2)",
    )
    .bind(org.0)
    .bind(now.0)
    .fetch_one(db.read())
    .await?;
    Ok(row.try_get(0)?)
}

/// Is the person one of those already counted?
pub async fn is_active_customer(db: &Db, org: OrgId, customer: UserId) -> Result<bool> {
    let now = db.now();
    let row = sqlx::query(
        "SELECT COUNT(*) FROM entitlements WHERE org_id = $1 AND customer_id = $2 AND status = 'active' AND (ends_at IS NULL OR ends_at > $3)",
    )
    .bind(org.0)
    .bind(customer.0)
    .bind(now.0)
    .fetch_one(db.read())
    .await?;
    Ok(row.try_get::<i64, _>(0)? > 0)
}

/// A person's access in every organizer, newest first.
pub async fn of_customer(db: &Db, customer: UserId) -> Result<Vec<Entitlement>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM entitlements WHERE customer_id = $1 ORDER BY id DESC LIMIT 200"
    ))
    .bind(customer.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}
