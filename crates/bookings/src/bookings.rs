//! Bookings of resources (EX-1): a member picks a resource, a date, a start
//! hour and a unit; the booking takes one seat of every hour it covers and
//! is either confirmed at once (a membership, EX-2, or a free resource) or
//! held while the member pays its order. An unpaid hold runs out and the
//! seats return.
//!
//! No double booking, on either database: see [`claim`]. Cancelling from
//! the cabinet refunds under the order's policy (EX §6) through the money
//! capability and gives the seats back.

use jiff::civil::Date;
use sqlx::Row;
use tabys_billing::orders::{self, ShownOffer};
use tabys_billing::refund::{self, Preview};
use tabys_billing::{entitlements, slot_orders};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::jobs::{self, NewJob};
use tabys_store::{Db, Tx};

use crate::resources::{self, HALF_DAY_HOURS, Resource, Unit};
use crate::{community, jobs as booking_jobs};

/// How long a place is held while its order waits for payment.
pub const HOLD_MINUTES: i64 = 15;
/// The longest booking by the hour.
pub const MAX_HOURS: i64 = 12;
const HOUR_MS: i64 = 3_600_000;
/// Members are reminded this long before the start.
pub const REMIND_BEFORE_MS: i64 = 24 * HOUR_MS;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Booking {
    pub id: i64,
    pub org_id: OrgId,
    pub resource_id: i64,
    pub resource_title: String,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    pub org_name: String,
    pub org_slug: String,
    pub unit: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// What it cost when booked; later price changes never touch it (EX §6).
    pub price: Money,
    /// `order` (paid), `membership` (EX-2) or `free`.
    pub via: String,
    /// `held`, `confirmed`, `cancelled`, `expired`.
    pub status: String,
    pub order_id: Option<i64>,
    pub hold_until: Option<i64>,
    pub refunded: Money,
    pub created_at: i64,
}

impl Booking {
    pub fn is_live(&self) -> bool {
        matches!(self.status.as_str(), "held" | "confirmed")
    }

    /// The local date and hours, for lists and the CSV export.
    pub fn local_span(&self) -> (String, String, String) {
        let tz = calendar::almaty();
        let s = Timestamp(self.starts_at).to_jiff().to_zoned(tz.clone());
        let e = Timestamp(self.ends_at).to_jiff().to_zoned(tz);
        (
            s.date().to_string(),
            s.strftime("%H:%M").to_string(),
            e.strftime("%H:%M").to_string(),
        )
    }
}

const SELECT: &str = "SELECT b.id, b.org_id, b.resource_id, r.title, b.user_id, u.name, u.email, o.legal_name, o.slug, b.unit,
     b.starts_at, b.ends_at, b.price, b.via, b.status, b.order_id, b.hold_until, b.refunded, b.created_at
     FROM bookings b JOIN booking_resources r ON r.id = b.resource_id JOIN users u ON u.id = b.user_id
     JOIN organizers o ON o.id = b.org_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Booking> {
    Ok(Booking {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        resource_id: r.try_get(2)?,
        resource_title: r.try_get(3)?,
        user_id: UserId(r.try_get(4)?),
        user_name: r.try_get(5)?,
        user_email: r.try_get(6)?,
        org_name: r.try_get(7)?,
        org_slug: r.try_get(8)?,
        unit: r.try_get(9)?,
        starts_at: r.try_get(10)?,
        ends_at: r.try_get(11)?,
        price: Money::from_tiyn(r.try_get(12)?),
        via: r.try_get(13)?,
        status: r.try_get(14)?,
        order_id: r.try_get(15)?,
        hold_until: r.try_get(16)?,
        refunded: Money::from_tiyn(r.try_get(17)?),
        created_at: r.try_get(18)?,
    })
}

/// What a member asks for, as typed into the form.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct BookingRequest {
    /// `YYYY-MM-DD`, Almaty.
    pub date: String,
    /// The starting hour, `9` or `09:00`; ignored for a whole day.
    #[serde(default)]
    pub start: String,
    /// `hour`, `half-day` or `day`.
    pub unit: String,
    /// For `hour`: how many hours.
    #[serde(default)]
    pub hours: String,
}

/// The hours a request covers, checked against the resource's rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub unit: Unit,
    pub starts_at: Timestamp,
    pub hours: i64,
    /// How many units are paid for.
    pub quantity: i64,
}

impl Span {
    pub fn ends_at(&self) -> Timestamp {
        Timestamp(self.starts_at.0 + self.hours * HOUR_MS)
    }

    /// The start of every hour the booking covers, in order.
    pub fn slots(&self) -> Vec<i64> {
        (0..self.hours)
            .map(|h| self.starts_at.0 + h * HOUR_MS)
            .collect()
    }
}

fn parse_hour(raw: &str) -> Option<i64> {
    let s = raw.trim();
    let (h, m) = s.split_once(':').unwrap_or((s, "00"));
    let h: i64 = h.parse().ok()?;
    (m == "00" && (0..24).contains(&h)).then_some(h)
}

/// Checks a request against the resource: a unit it offers, a date that is
/// not closed, hours inside the opening hours, and a start in the future.
pub fn span(r: &Resource, req: &BookingRequest, now: Timestamp) -> Result<Span> {
    let unit = Unit::parse(&req.unit).ok_or(Error::invalid("unit", "booking-unit-not-offered"))?;
    if r.price(unit).is_none() {
        return Err(Error::invalid("unit", "booking-unit-not-offered"));
    }
    let date: Date = req
        .date
        .trim()
        .parse()
        .map_err(|_| Error::invalid("date", "date-format"))?;
    if r.is_closed(date) {
        return Err(Error::invalid("date", "booking-closed-day"));
    }
    let (start, hours, quantity) = match unit {
        Unit::Day => (r.open_hour, r.close_hour - r.open_hour, 1),
        Unit::HalfDay => (
            parse_hour(&req.start).ok_or(Error::invalid("start", "booking-outside-hours"))?,
            HALF_DAY_HOURS,
            1,
        ),
        Unit::Hour => {
            let n = match req.hours.trim() {
                "" => 1,
                s => s
                    .parse::<i64>()
                    .ok()
                    .filter(|n| (1..=MAX_HOURS).contains(n))
                    .ok_or(Error::invalid("hours", "number-range"))?,
            };
            (
                parse_hour(&req.start).ok_or(Error::invalid("start", "booking-outside-hours"))?,
                n,
                n,
            )
        }
    };
    if start < r.open_hour || start + hours > r.close_hour {
        return Err(Error::invalid("start", "booking-outside-hours"));
    }
    let starts_at = resources::local_hour(date, start)?;
    if starts_at <= now {
        return Err(Error::invalid("date", "booking-in-past"));
    }
    Ok(Span {
        unit,
        starts_at,
        hours,
        quantity,
    })
}

/// Takes one seat of every hour of the span for this booking, inside the
/// caller's transaction, or fails with `booking-slot-taken` (and the
/// caller's transaction must then be dropped, which undoes every hour
/// already taken).
///
/// Why this cannot oversell on either database: each hour has one row
/// whose `taken` only changes by `UPDATE … SET taken = taken + 1 WHERE
/// taken < seats`. On SQLite every write transaction runs alone (one
/// writer connection), so check and change cannot interleave. On
/// PostgreSQL the UPDATE locks the row; a second writer waits for the
/// first to commit and then re-evaluates `taken < seats` against the new
/// value (READ COMMITTED re-check of the updated row), so it sees the seat
/// gone. The row is created first with `INSERT … ON CONFLICT DO NOTHING`,
/// which likewise waits for a concurrent insert of the same key. Hours are
/// taken in ascending order in every transaction, so two bookings of
/// overlapping hours cannot deadlock.
///
/// Where the resource forbids overlapping bookings of one member, a row per
/// member and hour under a primary key does the same for that rule.
async fn claim(
    tx: &mut Tx,
    r: &Resource,
    booking_id: i64,
    user: UserId,
    slots: &[i64],
) -> Result<()> {
    if r.one_per_member {
        for s in slots {
            let done = sqlx::query(
                "INSERT INTO booking_member_slots (resource_id, slot_start, user_id, booking_id) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (resource_id, slot_start, user_id) DO NOTHING",
            )
            .bind(r.id)
            .bind(s)
            .bind(user.0)
            .bind(booking_id)
            .execute(&mut **tx)
            .await?;
            if done.rows_affected() == 0 {
                return Err(Error::Conflict("booking-overlaps-own"));
            }
        }
    }
    for s in slots {
        sqlx::query(
            "INSERT INTO booking_slots (resource_id, slot_start, taken) VALUES ($1, $2, 0)
             ON CONFLICT (resource_id, slot_start) DO NOTHING",
        )
        .bind(r.id)
        .bind(s)
        .execute(&mut **tx)
        .await?;
        let done = sqlx::query(
            "UPDATE booking_slots SET taken = taken + 1 WHERE resource_id = $1 AND slot_start = $2 AND taken < $3",
        )
        .bind(r.id)
        .bind(s)
        .bind(r.seats)
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(Error::Conflict("booking-slot-taken"));
        }
    }
    Ok(())
}

/// Gives back the seats of a booking that just stopped being live. Called
/// only by the transaction whose conditional status change won, so a
/// booking's seats return exactly once.
async fn release(tx: &mut Tx, b: &Booking) -> Result<()> {
    let mut s = b.starts_at;
    while s < b.ends_at {
        sqlx::query(
            "UPDATE booking_slots SET taken = taken - 1 WHERE resource_id = $1 AND slot_start = $2 AND taken > 0",
        )
        .bind(b.resource_id)
        .bind(s)
        .execute(&mut **tx)
        .await?;
        s += HOUR_MS;
    }
    sqlx::query("DELETE FROM booking_member_slots WHERE booking_id = $1")
        .bind(b.id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Moves a booking from one status to another if nobody moved it first.
async fn transition(tx: &mut Tx, now: Timestamp, id: i64, from: &str, to: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE bookings SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to)
    .bind(now.0)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn schedule_reminder(tx: &mut Tx, now: Timestamp, b: &Booking) -> Result<()> {
    let at = Timestamp((b.starts_at - REMIND_BEFORE_MS).max(now.0));
    jobs::enqueue(
        tx,
        now,
        NewJob::new(
            booking_jobs::REMINDER,
            serde_json::json!({ "booking": b.id }),
        )
        .org(b.org_id)
        .dedupe(format!("booking-reminder:{}", b.id))
        .at(at),
    )
    .await?;
    Ok(())
}

/// Books a resource for a member. Returns the booking: `confirmed`, or
/// `held` with an order to pay before `hold_until`.
pub async fn book(
    db: &Db,
    org: OrgId,
    user: UserId,
    resource_id: i64,
    req: &BookingRequest,
    shown: &ShownOffer,
) -> Result<Booking> {
    let r = resources::get(db, org, resource_id).await?;
    if !r.is_active() {
        return Err(Error::NotFound);
    }
    // EX-5: a member the operator blocked cannot book.
    if community::is_blocked(db, org, user).await? {
        return Err(Error::Conflict("member-blocked"));
    }
    let now = db.now();
    let span = span(&r, req, now)?;
    let unit_price = r.price(span.unit).unwrap_or(Money::ZERO);
    let price = unit_price
        .tiyn()
        .checked_mul(span.quantity)
        .map(Money::from_tiyn)
        .ok_or(Error::invalid("hours", "money-range"))?;
    let member = match r.membership_product_id {
        Some(p) => entitlements::has_access(db, org, user, p).await?,
        None => false,
    };
    let (via, product) = if member {
        ("membership", None)
    } else if !price.is_positive() {
        ("free", None)
    } else {
        (
            "order",
            Some(slot_orders::prepare(db, org, r.product_id, user).await?),
        )
    };
    let hold_until = now.plus_seconds(HOLD_MINUTES * 60);
    let status = if product.is_some() {
        "held"
    } else {
        "confirmed"
    };
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO bookings (org_id, resource_id, user_id, unit, starts_at, ends_at, price, via, status, hold_until, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) RETURNING id",
    )
    .bind(org.0)
    .bind(r.id)
    .bind(user.0)
    .bind(span.unit.code())
    .bind(span.starts_at.0)
    .bind(span.ends_at().0)
    .bind(price.tiyn())
    .bind(via)
    .bind(status)
    .bind(product.as_ref().map(|_| hold_until.0))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    claim(&mut tx, &r, id, user, &span.slots()).await?;
    if let Some(product) = &product {
        let (date, from, to) = local_text(span.starts_at, span.ends_at());
        let order = slot_orders::create_in(
            &mut tx,
            db,
            now,
            product,
            user,
            &slot_orders::PlaceTerms {
                title: format!("{} — {date} {from}–{to}", r.title),
                price,
                starts_at: span.starts_at,
                pay_by: hold_until,
                idem_key: format!("booking:{id}"),
            },
            shown,
        )
        .await?;
        sqlx::query("UPDATE bookings SET order_id = $1 WHERE id = $2")
            .bind(order.id)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        jobs::enqueue(
            &mut tx,
            now,
            NewJob::new(
                booking_jobs::HOLD_EXPIRY,
                serde_json::json!({ "booking": id }),
            )
            .org(org)
            .dedupe(format!("booking-hold:{id}"))
            .at(hold_until),
        )
        .await?;
    } else {
        tabys_accounts::members::join_as_customer(&mut tx, db, org, user).await?;
    }
    let b = get_tx(&mut tx, id).await?;
    if b.status == "confirmed" {
        schedule_reminder(&mut tx, now, &b).await?;
    }
    tx.commit().await?;
    Ok(b)
}

fn local_text(from: Timestamp, to: Timestamp) -> (String, String, String) {
    let tz = calendar::almaty();
    let s = from.to_jiff().to_zoned(tz.clone());
    let e = to.to_jiff().to_zoned(tz);
    (
        s.date().to_string(),
        s.strftime("%H:%M").to_string(),
        e.strftime("%H:%M").to_string(),
    )
}

async fn get_tx(tx: &mut Tx, id: i64) -> Result<Booking> {
    let row = sqlx::query(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Any booking by id, for jobs.
pub async fn get_any(db: &Db, id: i64) -> Result<Booking> {
    let row = sqlx::query(&format!("{SELECT} WHERE b.id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// A booking of the organizer.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Booking> {
    let b = get_any(db, id).await?;
    if b.org_id == org {
        Ok(b)
    } else {
        Err(Error::NotFound)
    }
}

/// One of the member's own bookings; anyone else's is not found.
pub async fn get_own(db: &Db, user: UserId, id: i64) -> Result<Booking> {
    let b = get_any(db, id).await?;
    if b.user_id == user {
        Ok(b)
    } else {
        Err(Error::NotFound)
    }
}

/// Brings a booking up to date with its order: paid → confirmed; refunded
/// (from the order page) → cancelled with its seats back; unpaid when the
/// hold ran out → expired with its seats back and the order void. Safe to
/// call any number of times, from the job at the end of the hold and
/// whenever the booking is shown.
pub async fn settle(db: &Db, id: i64) -> Result<Booking> {
    let b = get_any(db, id).await?;
    let Some(order_id) = b.order_id else {
        return Ok(b);
    };
    let order = orders::get(db, b.org_id, order_id).await?;
    let now = db.now();
    match b.status.as_str() {
        "held" if order.status == "paid" => {
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, b.id, "held", "confirmed").await? {
                schedule_reminder(&mut tx, now, &b).await?;
            }
            tx.commit().await?;
        }
        "held" if b.hold_until.is_some_and(|t| now.0 >= t) => {
            let mut tx = db.begin().await?;
            let status = slot_orders::void_unpaid(
                &mut tx,
                db.dialect(),
                now,
                order_id,
                "booking hold ran out",
            )
            .await?;
            if status == "paid" {
                if transition(&mut tx, now, b.id, "held", "confirmed").await? {
                    schedule_reminder(&mut tx, now, &b).await?;
                }
            } else if transition(&mut tx, now, b.id, "held", "expired").await? {
                release(&mut tx, &b).await?;
            }
            tx.commit().await?;
        }
        "confirmed" if order.status == "refunded" => {
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, b.id, "confirmed", "cancelled").await? {
                set_refunded(&mut tx, b.id, order.refunded).await?;
                release(&mut tx, &b).await?;
            }
            tx.commit().await?;
        }
        _ => return Ok(b),
    }
    get_any(db, id).await
}

async fn set_refunded(tx: &mut Tx, id: i64, amount: Money) -> Result<()> {
    sqlx::query("UPDATE bookings SET refunded = $1 WHERE id = $2")
        .bind(amount.tiyn())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What cancelling the member's booking `b` now would give back (EX §6),
/// before they decide; the order is looked up as theirs.
pub async fn cancel_preview(db: &Db, user: UserId, b: &Booking) -> Result<Preview> {
    refund::preview_place(db, user, b.order_id, b.status == "confirmed").await
}

/// The member cancels their own booking: the refund the policy gives (EX
/// §6) is made through the money capability, then the seats return.
/// Someone else's booking is not found; a booking already over, cancelled
/// or expired is refused and nothing changes.
pub async fn cancel(db: &Db, user: UserId, id: i64) -> Result<Booking> {
    get_own(db, user, id).await?;
    let b = settle(db, id).await?;
    let now = db.now();
    match b.status.as_str() {
        "held" => {
            let mut tx = db.begin().await?;
            if let Some(order) = b.order_id {
                let status = slot_orders::void_unpaid(
                    &mut tx,
                    db.dialect(),
                    now,
                    order,
                    "booking cancelled",
                )
                .await?;
                if status == "paid" {
                    // Paid a moment ago: cancel it as a paid booking.
                    drop(tx);
                    settle(db, id).await?;
                    return Box::pin(cancel(db, user, id)).await;
                }
            }
            if transition(&mut tx, now, b.id, "held", "cancelled").await? {
                release(&mut tx, &b).await?;
            }
            tx.commit().await?;
        }
        "confirmed" => {
            if b.starts_at <= now.0 {
                return Err(Error::Conflict("booking-started"));
            }
            let mut refunded = Money::ZERO;
            if let Some(order) = b.order_id {
                let (_, p) = refund::preview_own(db, user, order).await?;
                if p.refund.is_positive() {
                    refunded = refund::request(db, user, order, "booking cancelled")
                        .await?
                        .amount;
                }
            }
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, b.id, "confirmed", "cancelled").await? {
                set_refunded(&mut tx, b.id, refunded).await?;
                release(&mut tx, &b).await?;
            }
            tx.commit().await?;
        }
        _ => return Err(Error::Conflict("booking-not-active")),
    }
    get_any(db, id).await
}

/// The job at the end of a hold.
pub async fn expire_hold(db: &Db, id: i64) -> Result<()> {
    match settle(db, id).await {
        Ok(_) | Err(Error::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reminds the member of a booking that is still on (kind `booking.reminder`).
pub async fn remind(db: &Db, id: i64) -> Result<()> {
    let b = match get_any(db, id).await {
        Ok(b) => b,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = db.now();
    if b.status != "confirmed" || b.starts_at <= now.0 {
        return Ok(());
    }
    let (date, from, to) = b.local_span();
    let mut args = serde_json::Map::new();
    args.insert("title".into(), serde_json::json!(b.resource_title));
    args.insert("date".into(), serde_json::json!(date));
    args.insert("from".into(), serde_json::json!(from));
    args.insert("to".into(), serde_json::json!(to));
    let mut tx = db.begin().await?;
    tabys_notify::add(
        &mut tx,
        now,
        tabys_notify::NewNotification {
            user: b.user_id,
            org: Some(b.org_id),
            kind: "booking.reminder",
            key: "notify-booking-reminder",
            args,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn of_user(db: &Db, user: UserId) -> Result<Vec<Booking>> {
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE b.user_id = $1 ORDER BY b.starts_at DESC, b.id DESC LIMIT 200"
    ))
    .bind(user.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Filters of the operator's list.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct Filter {
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub resource: String,
    /// `YYYY-MM-DD`, Almaty, inclusive.
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
}

/// The organizer's bookings, newest start first, by status, resource and dates.
pub async fn of_org(db: &Db, org: OrgId, f: &Filter) -> Result<Vec<Booking>> {
    let day = |raw: &str, field: &'static str, next: bool| -> Result<Option<i64>> {
        match raw.trim() {
            "" => Ok(None),
            s => {
                let d: Date = s
                    .parse()
                    .map_err(|_| Error::invalid(field, "date-format"))?;
                let d = if next { d.tomorrow().unwrap_or(d) } else { d };
                Ok(Some(resources::local_hour(d, 0)?.0))
            }
        }
    };
    let from = day(&f.from, "from", false)?.unwrap_or(i64::MIN);
    let to = day(&f.to, "to", true)?.unwrap_or(i64::MAX);
    let resource: i64 = match f.resource.trim() {
        "" => 0,
        s => s
            .parse()
            .map_err(|_| Error::invalid("resource", "number-range"))?,
    };
    let status = f.status.trim();
    if !["", "held", "confirmed", "cancelled", "expired"].contains(&status) {
        return Err(Error::invalid("status", "invalid"));
    }
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE b.org_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 AND ($4 = 0 OR b.resource_id = $4)
         AND ($5 = '' OR b.status = $5) ORDER BY b.starts_at DESC, b.id DESC LIMIT 1000"
    ))
    .bind(org.0)
    .bind(from)
    .bind(to)
    .bind(resource)
    .bind(status)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The list as CSV (RFC 4180, `;`-free, comma-separated, quoted text).
pub fn csv(list: &[Booking]) -> String {
    fn q(s: &str) -> String {
        format!("\"{}\"", s.replace('"', "\"\""))
    }
    let mut out = String::from(
        "id,resource,member,email,date,from,to,unit,price_tiyn,via,status,refunded_tiyn,order\r\n",
    );
    for b in list {
        let (date, from, to) = b.local_span();
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{}\r\n",
            b.id,
            q(&b.resource_title),
            q(&b.user_name),
            q(&b.user_email),
            date,
            from,
            to,
            b.unit,
            b.price.tiyn(),
            b.via,
            b.status,
            b.refunded.tiyn(),
            b.order_id.map(|o| o.to_string()).unwrap_or_default(),
        ));
    }
    out
}

/// One hour of a resource on a day: how many seats are taken.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HourUse {
    pub hour: i64,
    pub taken: i64,
    pub seats: i64,
}

impl HourUse {
    pub fn free(&self) -> i64 {
        (self.seats - self.taken).max(0)
    }
}

/// The occupancy of a resource on an Almaty date, hour by hour over its
/// opening hours (empty when closed).
pub async fn day_use(db: &Db, r: &Resource, d: Date) -> Result<Vec<HourUse>> {
    let hours = r.open_hours(d);
    let (Some(first), Some(last)) = (hours.first(), hours.last()) else {
        return Ok(Vec::new());
    };
    let from = resources::local_hour(d, *first)?.0;
    let to = resources::local_hour(d, *last)?.0;
    let rows = sqlx::query(
        "SELECT slot_start, taken FROM booking_slots WHERE resource_id = $1 AND slot_start >= $2 AND slot_start <= $3",
    )
    .bind(r.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    let mut taken = std::collections::HashMap::new();
    for row in &rows {
        taken.insert(row.try_get::<i64, _>(0)?, row.try_get::<i64, _>(1)?);
    }
    hours
        .into_iter()
        .map(|h| {
            let start = resources::local_hour(d, h)?.0;
            Ok(HourUse {
                hour: h,
                taken: taken.get(&start).copied().unwrap_or(0),
                seats: r.seats,
            })
        })
        .collect()
}

/// Live bookings of one resource on an Almaty date (for the operator's calendar).
pub async fn of_resource_on(db: &Db, r: &Resource, d: Date) -> Result<Vec<Booking>> {
    let from = resources::local_hour(d, 0)?.0;
    let to = resources::local_hour(d.tomorrow().unwrap_or(d), 0)?.0;
    let rows = sqlx::query(&format!(
        "{SELECT} WHERE b.resource_id = $1 AND b.starts_at >= $2 AND b.starts_at < $3 AND b.status IN ('held', 'confirmed')
         ORDER BY b.starts_at, b.id"
    ))
    .bind(r.id)
    .bind(from)
    .bind(to)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn room() -> Resource {
        Resource {
            id: 1,
            org_id: OrgId(1),
            kind: "meeting-room".into(),
            title: "Room".into(),
            description: String::new(),
            zone: String::new(),
            seats: 1,
            capacity: 8,
            open_hour: 9,
            close_hour: 21,
            closed_weekdays: vec![7],
            use_holidays: true,
            one_per_member: true,
            price_hour: Some(Money::from_tiyn(500_000)),
            price_half_day: None,
            price_day: Some(Money::from_tiyn(3_000_000)),
            taxes_included: true,
            product_id: 1,
            membership_product_id: None,
            photo_file_id: None,
            status: "active".into(),
        }
    }

    fn req(date: &str, start: &str, unit: &str, hours: &str) -> BookingRequest {
        BookingRequest {
            date: date.into(),
            start: start.into(),
            unit: unit.into(),
            hours: hours.into(),
        }
    }

    fn code(r: Result<Span>) -> &'static str {
        match r {
            Ok(_) => "ok",
            Err(e) => e.code(),
        }
    }

    #[test]
    fn a_request_must_fit_the_resource_rules() {
        // 2026-03-02 09:00 UTC = 14:00 Almaty, a Monday.
        let now = Timestamp(1_772_442_000_000);
        let r = room();
        assert_eq!(
            code(span(&r, &req("2026-03-03", "10", "hour", "2"), now)),
            "ok"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-02", "10", "hour", "1"), now)),
            "booking-in-past"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-03", "8", "hour", "1"), now)),
            "booking-outside-hours"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-03", "20", "hour", "2"), now)),
            "booking-outside-hours"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-09", "10", "hour", "1"), now)),
            "booking-closed-day"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-08", "10", "hour", "1"), now)),
            "booking-closed-day"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-03", "10", "half-day", ""), now)),
            "booking-unit-not-offered"
        );
        assert_eq!(
            code(span(&r, &req("2026-03-03", "10", "week", ""), now)),
            "booking-unit-not-offered"
        );
        let Ok(day) = span(&r, &req("2026-03-03", "", "day", ""), now) else {
            panic!("a day was refused");
        };
        assert_eq!((day.hours, day.quantity, day.slots().len()), (12, 1, 12));
    }
}
