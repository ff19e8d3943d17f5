//! Orders for one dated place — a workplace booking or an event ticket —
//! whose title, price and start are set by the capability that sells the
//! place (the hours booked times the unit price, the ticket type's price)
//! instead of being copied from the product. Everything else is an ordinary
//! order: paid through the same providers, refunded under the product's
//! policy counted down to this place's start (EX §6), and a later change of
//! the product or its prices never touches it (M-9, EX §6).
//!
//! The order is made inside the seller's own transaction, together with the
//! hold on the place, so a place is never held without its order nor an
//! order made for a place that was not free. It must be paid by `pay_by`
//! (when the hold runs out); [`void_unpaid`], called in the same
//! transaction that gives the place back, closes it so a payment arriving
//! later stays on the customer's balance instead of paying for a place that
//! is gone.

use tabys_accounts::members;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Dialect, Tx};

use crate::orders::{self, Order, ShownOffer};
use crate::products::{self, Product};

/// What the seller sets for this one place.
#[derive(Debug, Clone)]
pub struct PlaceTerms {
    pub title: String,
    pub price: Money,
    pub starts_at: Timestamp,
    /// Unpaid after this moment the order is void and the place returns.
    pub pay_by: Timestamp,
    /// Unique per customer, e.g. `booking:17`.
    pub idem_key: String,
}

/// The product, if the organizer may sell it to this customer now. Call
/// before opening the transaction of [`create_in`] (it reads outside it).
pub async fn prepare(db: &Db, org: OrgId, product_id: i64, customer: UserId) -> Result<Product> {
    let product = products::get(db, org, product_id).await?;
    if product.status != "active" {
        return Err(Error::NotFound);
    }
    orders::check_can_sell(db, &product, customer).await?;
    Ok(product)
}

/// Makes the order inside the caller's transaction, paid in full.
pub async fn create_in(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    product: &Product,
    customer: UserId,
    terms: &PlaceTerms,
    shown: &ShownOffer,
) -> Result<Order> {
    crate::idempotency::check_key(&terms.idem_key)?;
    if !terms.price.is_positive() {
        return Err(Error::invalid("price", "amount-not-positive"));
    }
    members::join_as_customer(tx, db, product.org_id, customer).await?;
    let row = sqlx::query(
        "INSERT INTO orders (org_id, product_id, customer_id, status, title, price, taxes_included, access_days, starts_at,
             refund_policy, plan, first_due, paid, refunded, pay_by, rest_due_at, offer_version_id, idem_key, created_at, updated_at, evidence)
         VALUES ($1, $2, $3, 'awaiting-payment', $4, $5, $6, NULL, $7, $8, 'full', $5, 0, 0, $9, NULL, NULL, $10, $11, $11, $12)
         RETURNING id",
    )
    .bind(product.org_id.0)
    .bind(product.id)
    .bind(customer.0)
    .bind(&terms.title)
    .bind(terms.price.tiyn())
    .bind(i64::from(product.taxes_included))
    .bind(terms.starts_at.0)
    .bind(product.refund_policy.to_json())
    .bind(terms.pay_by.0)
    .bind(&terms.idem_key)
    .bind(now.0)
    .bind(serde_json::to_string(shown).map_err(Error::internal)?)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = sqlx::Row::try_get(&row, 0)?;
    orders::get_tx(tx, id).await
}

/// Closes the order if it is still unpaid; returns its status afterwards
/// (`void`, or `paid` when the payment won the race, …). The order row is
/// locked, so a payment settling at the same moment either comes first and
/// is seen here, or comes after and finds the order void.
pub async fn void_unpaid(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    order_id: i64,
    reason: &str,
) -> Result<String> {
    let order = orders::lock(tx, dialect, order_id).await?;
    if order.status != "awaiting-payment" {
        return Ok(order.status);
    }
    sqlx::query("UPDATE orders SET status = 'void', updated_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    audit::append(
        tx,
        dialect,
        now,
        Entry {
            org_id: Some(order.org_id),
            actor_id: None,
            action: "order.void",
            subject: format!("order:{}", order.id),
            data: serde_json::json!({ "reason": reason }),
        },
    )
    .await?;
    Ok("void".into())
}
