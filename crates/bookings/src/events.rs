//! Events with a capacity (EX-1): a date and time, a place (a room of the
//! coworking or an online link), ticket types free or paid, registration
//! questions, a waiting list that moves up by itself when a place frees,
//! and check-in at the door by the QR code of each ticket.
//!
//! Places are counted on the event row: a ticket takes one by `UPDATE …
//! SET taken = taken + 1 WHERE taken < capacity`, which on PostgreSQL locks
//! the row and re-checks the condition after a concurrent writer commits,
//! and on SQLite runs alone behind the one writer connection — so the
//! event is never oversold. A freed place goes to the first person waiting
//! (the count stays) or back to the count.

use sqlx::Row;
use tabys_billing::orders::{self, ShownOffer};
use tabys_billing::products::{self, NewProduct};
use tabys_billing::refund::{self, Preview, RefundPolicy};
use tabys_billing::slot_orders;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::jobs::{self, NewJob};
use tabys_store::token::random_token;
use tabys_store::{Db, Tx};

use crate::bookings::{HOLD_MINUTES, REMIND_BEFORE_MS};
use crate::{community, jobs as booking_jobs};

/// How long a person promoted from the waiting list has to pay.
pub const PROMOTED_HOLD_HOURS: i64 = 12;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Event {
    pub id: i64,
    pub org_id: OrgId,
    pub title: String,
    pub description: String,
    pub starts_at: i64,
    pub ends_at: i64,
    /// A room of the coworking, or none for an online event.
    pub room_id: Option<i64>,
    pub room_title: Option<String>,
    pub online_url: String,
    pub capacity: i64,
    pub taken: i64,
    pub questions: Vec<String>,
    /// `published` or `cancelled`.
    pub status: String,
}

impl Event {
    pub fn free(&self) -> i64 {
        (self.capacity - self.taken).max(0)
    }
}

const COLUMNS: &str = "e.id, e.org_id, e.title, e.description, e.starts_at, e.ends_at, e.room_id, r.title, e.online_url, \
     e.capacity, e.taken, e.questions, e.status";
const FROM: &str = "FROM events e LEFT JOIN booking_resources r ON r.id = e.room_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Event> {
    let q: String = r.try_get(11)?;
    Ok(Event {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        title: r.try_get(2)?,
        description: r.try_get(3)?,
        starts_at: r.try_get(4)?,
        ends_at: r.try_get(5)?,
        room_id: r.try_get(6)?,
        room_title: r.try_get(7)?,
        online_url: r.try_get(8)?,
        capacity: r.try_get(9)?,
        taken: r.try_get(10)?,
        questions: serde_json::from_str(&q).unwrap_or_default(),
        status: r.try_get(12)?,
    })
}

/// An event as typed into the form.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct EventInput {
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Local Almaty `YYYY-MM-DDTHH:MM`.
    pub starts_at: String,
    /// Length in hours.
    pub hours: String,
    #[serde(default)]
    pub room_id: String,
    #[serde(default)]
    pub online_url: String,
    pub capacity: String,
    /// One question per line.
    #[serde(default)]
    pub questions: String,
}

pub struct NewEvent {
    pub title: String,
    pub description: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub room_id: Option<i64>,
    pub online_url: String,
    pub capacity: i64,
    pub questions: Vec<String>,
}

impl EventInput {
    pub fn parse(&self, now: Timestamp) -> Result<NewEvent> {
        let mut errors = Vec::new();
        let mut err = |field, code| errors.push(FieldError { field, code });
        let title = self.title.trim().to_string();
        if title.is_empty() {
            err("title", "required");
        } else if title.chars().count() > 200 {
            err("title", "text-too-long");
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 5000 {
            err("description", "text-too-long");
        }
        let starts_at = products::parse_local_time(&self.starts_at);
        match starts_at {
            None => err("starts_at", "datetime-format"),
            Some(t) if t <= now => err("starts_at", "booking-in-past"),
            Some(_) => {}
        }
        let hours = self
            .hours
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|h| (1..=72).contains(h));
        if hours.is_none() {
            err("hours", "number-range");
        }
        let capacity = self
            .capacity
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|c| (1..=100_000).contains(c));
        if capacity.is_none() {
            err("capacity", "number-range");
        }
        let room_id = match self.room_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    err("room_id", "number-range");
                    None
                }
            },
        };
        let online_url = self.online_url.trim().to_string();
        if !online_url.is_empty()
            && (!(online_url.starts_with("https://") || online_url.starts_with("http://"))
                || online_url.len() > 500
                || online_url.chars().any(char::is_whitespace))
        {
            err("online_url", "event-url");
        }
        if room_id.is_none() && online_url.is_empty() {
            err("room_id", "event-place-required");
        }
        let questions: Vec<String> = self
            .questions
            .lines()
            .map(|l| l.trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        if questions.len() > 10 || questions.iter().any(|q| q.chars().count() > 300) {
            err("questions", "text-too-long");
        }
        match (starts_at, hours, capacity) {
            (Some(s), Some(h), Some(c)) if errors.is_empty() => Ok(NewEvent {
                title,
                description,
                starts_at: s,
                ends_at: s.plus_seconds(h * 3600),
                room_id,
                online_url,
                capacity: c,
                questions,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

pub async fn create(db: &Db, org: OrgId, actor: UserId, e: NewEvent) -> Result<Event> {
    if let Some(room) = e.room_id {
        crate::resources::get(db, org, room)
            .await
            .map_err(|_| Error::invalid("room_id", "event-place-required"))?;
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO events (org_id, title, description, starts_at, ends_at, room_id, online_url, capacity, taken, questions, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, $9, 'published', $10, $10) RETURNING id",
    )
    .bind(org.0)
    .bind(&e.title)
    .bind(&e.description)
    .bind(e.starts_at.0)
    .bind(e.ends_at.0)
    .bind(e.room_id)
    .bind(&e.online_url)
    .bind(e.capacity)
    .bind(serde_json::to_string(&e.questions).map_err(Error::internal)?)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "event.created",
            subject: format!("event:{id}"),
            data: serde_json::json!({ "title": e.title, "capacity": e.capacity }),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, org, id).await
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Event> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE e.id = $1 AND e.org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The organizer's events; `upcoming` leaves out those already over.
pub async fn list(db: &Db, org: OrgId, upcoming: bool) -> Result<Vec<Event>> {
    let since = if upcoming { db.now().0 } else { i64::MIN };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} {FROM} WHERE e.org_id = $1 AND e.ends_at > $2 ORDER BY e.starts_at, e.id"
    ))
    .bind(org.0)
    .bind(since)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct TicketType {
    pub id: i64,
    pub event_id: i64,
    pub title: String,
    pub price: Money,
    /// The product paid tickets are sold through (kind `event`).
    pub product_id: Option<i64>,
}

fn type_from_row(r: &sqlx::any::AnyRow) -> Result<TicketType> {
    Ok(TicketType {
        id: r.try_get(0)?,
        event_id: r.try_get(1)?,
        title: r.try_get(2)?,
        price: Money::from_tiyn(r.try_get(3)?),
        product_id: r.try_get(4)?,
    })
}

/// Adds a ticket type; a paid one is sold through a product of kind `event`
/// with the EX §6 tiers counted down to the event's start.
pub async fn add_ticket_type(
    db: &Db,
    org: OrgId,
    actor: UserId,
    event_id: i64,
    title: &str,
    price_raw: &str,
) -> Result<TicketType> {
    let event = get(db, org, event_id).await?;
    let title = title.trim();
    if title.is_empty() {
        return Err(Error::invalid("title", "required"));
    }
    if title.chars().count() > 200 {
        return Err(Error::invalid("title", "text-too-long"));
    }
    let price = match price_raw.trim() {
        "" => Money::ZERO,
        s => Money::parse_tenge(s).map_err(|e| e.on("price"))?,
    };
    let product_id = if price.is_positive() {
        let p = products::create(
            db,
            org,
            actor,
            NewProduct {
                kind: "event",
                title: format!("{} — {title}", event.title),
                description: event.description.clone(),
                price,
                taxes_included: true,
                access_days: None,
                starts_at: Some(Timestamp(event.starts_at)),
                refund_policy: RefundPolicy::preset("tiers-48-24", Money::ZERO)
                    .unwrap_or(RefundPolicy::None),
                allow_half: false,
                rest_due_days: None,
                recurring_months: None,
                pass_fees: false,
                offer_id: None,
            },
        )
        .await?;
        Some(p.id)
    } else {
        None
    };
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO event_ticket_types (org_id, event_id, title, price, product_id, created_at) VALUES ($1, $2, $3, $4, $5, $6)
         RETURNING id, event_id, title, price, product_id",
    )
    .bind(org.0)
    .bind(event.id)
    .bind(title)
    .bind(price.tiyn())
    .bind(product_id)
    .bind(db.now().0)
    .fetch_one(&mut *tx)
    .await?;
    let t = type_from_row(&row)?;
    tx.commit().await?;
    Ok(t)
}

pub async fn ticket_types(db: &Db, event_id: i64) -> Result<Vec<TicketType>> {
    let rows = sqlx::query(
        "SELECT id, event_id, title, price, product_id FROM event_ticket_types WHERE event_id = $1 ORDER BY price, id",
    )
    .bind(event_id)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(type_from_row).collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Ticket {
    pub id: i64,
    pub org_id: OrgId,
    pub event_id: i64,
    pub event_title: String,
    pub event_starts_at: i64,
    pub event_ends_at: i64,
    pub ticket_type_id: i64,
    pub type_title: String,
    pub user_id: UserId,
    pub user_name: String,
    pub user_email: String,
    /// `waiting`, `held`, `confirmed`, `cancelled`, `expired`.
    pub status: String,
    pub price: Money,
    pub order_id: Option<i64>,
    pub hold_until: Option<i64>,
    /// Question and answer pairs.
    pub answers: Vec<(String, String)>,
    /// What the QR code carries.
    pub code: String,
    pub checked_in_at: Option<i64>,
    pub refunded: Money,
    pub created_at: i64,
}

const TICKET: &str = "SELECT t.id, t.org_id, t.event_id, e.title, e.starts_at, e.ends_at, t.ticket_type_id, y.title, t.user_id, u.name, u.email,
     t.status, t.price, t.order_id, t.hold_until, t.answers, t.code, t.checked_in_at, t.refunded, t.created_at
     FROM event_tickets t JOIN events e ON e.id = t.event_id JOIN event_ticket_types y ON y.id = t.ticket_type_id
     JOIN users u ON u.id = t.user_id";

fn ticket_from_row(r: &sqlx::any::AnyRow) -> Result<Ticket> {
    let answers: String = r.try_get(15)?;
    Ok(Ticket {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        event_id: r.try_get(2)?,
        event_title: r.try_get(3)?,
        event_starts_at: r.try_get(4)?,
        event_ends_at: r.try_get(5)?,
        ticket_type_id: r.try_get(6)?,
        type_title: r.try_get(7)?,
        user_id: UserId(r.try_get(8)?),
        user_name: r.try_get(9)?,
        user_email: r.try_get(10)?,
        status: r.try_get(11)?,
        price: Money::from_tiyn(r.try_get(12)?),
        order_id: r.try_get(13)?,
        hold_until: r.try_get(14)?,
        answers: serde_json::from_str(&answers).unwrap_or_default(),
        code: r.try_get(16)?,
        checked_in_at: r.try_get(17)?,
        refunded: Money::from_tiyn(r.try_get(18)?),
        created_at: r.try_get(19)?,
    })
}

pub async fn ticket_any(db: &Db, id: i64) -> Result<Ticket> {
    let row = sqlx::query(&format!("{TICKET} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    ticket_from_row(&row)
}

async fn ticket_tx(tx: &mut Tx, id: i64) -> Result<Ticket> {
    let row = sqlx::query(&format!("{TICKET} WHERE t.id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    ticket_from_row(&row)
}

/// One of the member's own tickets; anyone else's is not found.
pub async fn ticket_own(db: &Db, user: UserId, id: i64) -> Result<Ticket> {
    let t = ticket_any(db, id).await?;
    if t.user_id == user {
        Ok(t)
    } else {
        Err(Error::NotFound)
    }
}

pub async fn tickets_of_user(db: &Db, user: UserId) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "{TICKET} WHERE t.user_id = $1 ORDER BY e.starts_at DESC, t.id DESC LIMIT 200"
    ))
    .bind(user.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

/// Everyone registered or waiting, in order of registration.
pub async fn attendees(db: &Db, org: OrgId, event_id: i64) -> Result<Vec<Ticket>> {
    let rows = sqlx::query(&format!(
        "{TICKET} WHERE t.org_id = $1 AND t.event_id = $2 ORDER BY t.id"
    ))
    .bind(org.0)
    .bind(event_id)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(ticket_from_row).collect()
}

async fn transition(tx: &mut Tx, now: Timestamp, id: i64, from: &str, to: &str) -> Result<bool> {
    let done = sqlx::query(
        "UPDATE event_tickets SET status = $1, updated_at = $2 WHERE id = $3 AND status = $4",
    )
    .bind(to)
    .bind(now.0)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

async fn schedule_reminder(tx: &mut Tx, now: Timestamp, t: &Ticket) -> Result<()> {
    let at = Timestamp((t.event_starts_at - REMIND_BEFORE_MS).max(now.0));
    jobs::enqueue(
        tx,
        now,
        NewJob::new(
            booking_jobs::REMINDER,
            serde_json::json!({ "ticket": t.id }),
        )
        .org(t.org_id)
        .dedupe(format!("ticket-reminder:{}", t.id))
        .at(at),
    )
    .await?;
    Ok(())
}

async fn schedule_expiry(
    tx: &mut Tx,
    now: Timestamp,
    org: OrgId,
    id: i64,
    at: Timestamp,
) -> Result<()> {
    jobs::enqueue(
        tx,
        now,
        NewJob::new(
            booking_jobs::HOLD_EXPIRY,
            serde_json::json!({ "ticket": id }),
        )
        .org(org)
        .dedupe(format!("ticket-hold:{id}:{}", at.0))
        .at(at),
    )
    .await?;
    Ok(())
}

/// Registers a member: a place if one is free (confirmed for a free ticket,
/// held while a paid one is paid for), otherwise a place on the waiting
/// list. Every question must be answered.
pub async fn register(
    db: &Db,
    org: OrgId,
    user: UserId,
    event_id: i64,
    type_id: i64,
    answers: &[String],
    shown: &ShownOffer,
) -> Result<Ticket> {
    let event = get(db, org, event_id).await?;
    let now = db.now();
    if event.status != "published" {
        return Err(Error::NotFound);
    }
    if event.starts_at <= now.0 {
        return Err(Error::Conflict("booking-in-past"));
    }
    if community::is_blocked(db, org, user).await? {
        return Err(Error::Conflict("member-blocked"));
    }
    let ty = ticket_types(db, event.id)
        .await?
        .into_iter()
        .find(|t| t.id == type_id)
        .ok_or(Error::invalid("ticket_type", "event-ticket-type"))?;
    let mut pairs = Vec::new();
    for (i, q) in event.questions.iter().enumerate() {
        let a = answers.get(i).map(|a| a.trim()).unwrap_or_default();
        if a.is_empty() {
            return Err(Error::invalid("answers", "event-answer-required"));
        }
        if a.chars().count() > 1000 {
            return Err(Error::invalid("answers", "text-too-long"));
        }
        pairs.push((q.clone(), a.to_string()));
    }
    let product = match ty.product_id {
        Some(p) => Some(slot_orders::prepare(db, org, p, user).await?),
        None => None,
    };
    let mut tx = db.begin().await?;
    let got_place = sqlx::query(
        "UPDATE events SET taken = taken + 1, updated_at = $1 WHERE id = $2 AND taken < capacity AND status = 'published'",
    )
    .bind(now.0)
    .bind(event.id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    let hold_until = now.plus_seconds(HOLD_MINUTES * 60);
    let status = match (got_place, &product) {
        (false, _) => "waiting",
        (true, Some(_)) => "held",
        (true, None) => "confirmed",
    };
    let row = sqlx::query(
        "INSERT INTO event_tickets (org_id, event_id, ticket_type_id, user_id, status, price, hold_until, answers, code, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)
         ON CONFLICT (event_id, user_id) WHERE status IN ('held', 'confirmed', 'waiting') DO NOTHING RETURNING id",
    )
    .bind(org.0)
    .bind(event.id)
    .bind(ty.id)
    .bind(user.0)
    .bind(status)
    .bind(ty.price.tiyn())
    .bind((status == "held").then_some(hold_until.0))
    .bind(serde_json::to_string(&pairs).map_err(Error::internal)?)
    .bind(random_token()[..24].to_string())
    .bind(now.0)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(row) = row else {
        return Err(Error::Conflict("event-already-registered"));
    };
    let id: i64 = row.try_get(0)?;
    tabys_accounts::members::join_as_customer(&mut tx, db, org, user).await?;
    if status == "held"
        && let Some(product) = &product
    {
        attach_order(
            &mut tx, db, now, &event, &ty, product, user, id, hold_until, shown,
        )
        .await?;
    }
    let t = ticket_tx(&mut tx, id).await?;
    if t.status == "confirmed" {
        schedule_reminder(&mut tx, now, &t).await?;
    }
    tx.commit().await?;
    Ok(t)
}

#[allow(clippy::too_many_arguments)]
async fn attach_order(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    event: &Event,
    ty: &TicketType,
    product: &tabys_billing::products::Product,
    user: UserId,
    ticket: i64,
    hold_until: Timestamp,
    shown: &ShownOffer,
) -> Result<()> {
    let order = slot_orders::create_in(
        tx,
        db,
        now,
        product,
        user,
        &slot_orders::PlaceTerms {
            title: format!("{} — {}", event.title, ty.title),
            price: ty.price,
            starts_at: Timestamp(event.starts_at),
            pay_by: hold_until,
            idem_key: format!("ticket:{ticket}:{}", now.0),
        },
        shown,
    )
    .await?;
    sqlx::query("UPDATE event_tickets SET order_id = $1, hold_until = $2 WHERE id = $3")
        .bind(order.id)
        .bind(hold_until.0)
        .bind(ticket)
        .execute(&mut **tx)
        .await?;
    schedule_expiry(tx, now, event.org_id, ticket, hold_until).await
}

/// A place of the event is free again: the first person waiting gets it
/// (confirmed for a free ticket, held for a paid one while they pay) and is
/// told so; with nobody waiting the count goes down.
async fn free_place(tx: &mut Tx, db: &Db, now: Timestamp, event: &Event) -> Result<()> {
    let next = sqlx::query(&format!(
        "SELECT id FROM event_tickets WHERE event_id = $1 AND status = 'waiting' ORDER BY id LIMIT 1{}",
        db.dialect().for_update()
    ))
    .bind(event.id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(next) = next else {
        sqlx::query(
            "UPDATE events SET taken = taken - 1, updated_at = $1 WHERE id = $2 AND taken > 0",
        )
        .bind(now.0)
        .bind(event.id)
        .execute(&mut **tx)
        .await?;
        return Ok(());
    };
    let id: i64 = next.try_get(0)?;
    let t = ticket_tx(tx, id).await?;
    let ty = ticket_types_tx(tx, event.id)
        .await?
        .into_iter()
        .find(|y| y.id == t.ticket_type_id)
        .ok_or(Error::NotFound)?;
    let product = match ty.product_id {
        Some(p) => Some(products::get(db, event.org_id, p).await?),
        None => None,
    };
    match &product {
        Some(product) => {
            transition(tx, now, id, "waiting", "held").await?;
            let hold_until = Timestamp(
                now.plus_seconds(PROMOTED_HOLD_HOURS * 3600)
                    .0
                    .min(event.starts_at)
                    .max(now.plus_seconds(HOLD_MINUTES * 60).0),
            );
            let shown = ShownOffer {
                wording: "waiting list".into(),
                ..ShownOffer::default()
            };
            attach_order(
                tx, db, now, event, &ty, product, t.user_id, id, hold_until, &shown,
            )
            .await?;
        }
        None => {
            transition(tx, now, id, "waiting", "confirmed").await?;
            schedule_reminder(tx, now, &t).await?;
        }
    }
    let mut args = serde_json::Map::new();
    args.insert("title".into(), serde_json::json!(event.title));
    args.insert(
        "paid".into(),
        serde_json::json!(if product.is_some() { "yes" } else { "no" }),
    );
    tabys_notify::add(
        tx,
        now,
        tabys_notify::NewNotification {
            user: t.user_id,
            org: Some(event.org_id),
            kind: "booking.waitlist-promoted",
            key: "notify-booking-promoted",
            args,
        },
    )
    .await?;
    Ok(())
}

async fn ticket_types_tx(tx: &mut Tx, event_id: i64) -> Result<Vec<TicketType>> {
    let rows = sqlx::query(
        "SELECT id, event_id, title, price, product_id FROM event_ticket_types WHERE event_id = $1",
    )
    .bind(event_id)
    .fetch_all(&mut **tx)
    .await?;
    rows.iter().map(type_from_row).collect()
}

/// Brings a ticket up to date with its order (paid → confirmed; refunded
/// from the order page → cancelled; unpaid after the hold → expired, and
/// the place goes to the next person waiting).
pub async fn settle_ticket(db: &Db, id: i64) -> Result<Ticket> {
    let t = ticket_any(db, id).await?;
    let Some(order_id) = t.order_id else {
        return Ok(t);
    };
    let order = orders::get(db, t.org_id, order_id).await?;
    let event = get(db, t.org_id, t.event_id).await?;
    let now = db.now();
    match t.status.as_str() {
        "held" if order.status == "paid" => {
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, t.id, "held", "confirmed").await? {
                schedule_reminder(&mut tx, now, &t).await?;
            }
            tx.commit().await?;
        }
        "held" if t.hold_until.is_some_and(|h| now.0 >= h) => {
            let mut tx = db.begin().await?;
            let status = slot_orders::void_unpaid(
                &mut tx,
                db.dialect(),
                now,
                order_id,
                "ticket hold ran out",
            )
            .await?;
            if status == "paid" {
                if transition(&mut tx, now, t.id, "held", "confirmed").await? {
                    schedule_reminder(&mut tx, now, &t).await?;
                }
            } else if transition(&mut tx, now, t.id, "held", "expired").await? {
                free_place(&mut tx, db, now, &event).await?;
            }
            tx.commit().await?;
        }
        "confirmed" if order.status == "refunded" => {
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, t.id, "confirmed", "cancelled").await? {
                set_refunded(&mut tx, t.id, order.refunded).await?;
                free_place(&mut tx, db, now, &event).await?;
            }
            tx.commit().await?;
        }
        _ => return Ok(t),
    }
    ticket_any(db, id).await
}

async fn set_refunded(tx: &mut Tx, id: i64, amount: Money) -> Result<()> {
    sqlx::query("UPDATE event_tickets SET refunded = $1 WHERE id = $2")
        .bind(amount.tiyn())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// What cancelling the member's ticket `t` now would give back (EX §6);
/// the order is looked up as theirs.
pub async fn cancel_preview(db: &Db, user: UserId, t: &Ticket) -> Result<Preview> {
    refund::preview_place(db, user, t.order_id, t.status == "confirmed").await
}

/// The member cancels their ticket (or leaves the waiting list); a paid
/// ticket is refunded under the policy and the place moves up the list.
pub async fn cancel_ticket(db: &Db, user: UserId, id: i64) -> Result<Ticket> {
    ticket_own(db, user, id).await?;
    let t = settle_ticket(db, id).await?;
    let event = get(db, t.org_id, t.event_id).await?;
    let now = db.now();
    match t.status.as_str() {
        "waiting" => {
            let mut tx = db.begin().await?;
            transition(&mut tx, now, t.id, "waiting", "cancelled").await?;
            tx.commit().await?;
        }
        "held" => {
            let mut tx = db.begin().await?;
            if let Some(order) = t.order_id {
                let status =
                    slot_orders::void_unpaid(&mut tx, db.dialect(), now, order, "ticket cancelled")
                        .await?;
                if status == "paid" {
                    return Err(Error::Conflict("order-changed"));
                }
            }
            if transition(&mut tx, now, t.id, "held", "cancelled").await? {
                free_place(&mut tx, db, now, &event).await?;
            }
            tx.commit().await?;
        }
        "confirmed" => {
            if event.starts_at <= now.0 {
                return Err(Error::Conflict("booking-started"));
            }
            let mut refunded = Money::ZERO;
            if let Some(order) = t.order_id {
                let (_, p) = refund::preview_own(db, user, order).await?;
                if p.refund.is_positive() {
                    refunded = refund::request(db, user, order, "ticket cancelled")
                        .await?
                        .amount;
                }
            }
            let mut tx = db.begin().await?;
            if transition(&mut tx, now, t.id, "confirmed", "cancelled").await? {
                set_refunded(&mut tx, t.id, refunded).await?;
                free_place(&mut tx, db, now, &event).await?;
            }
            tx.commit().await?;
        }
        _ => return Err(Error::Conflict("booking-not-active")),
    }
    ticket_any(db, id).await
}

/// Staff check a person in at the door by the code of their ticket's QR.
/// A code of another event, one already used, or a ticket not (or no
/// longer) valid is refused with its own error and nothing changes.
pub async fn check_in(
    db: &Db,
    org: OrgId,
    staff: UserId,
    event_id: i64,
    code: &str,
) -> Result<Ticket> {
    let event = get(db, org, event_id).await?;
    let code = code.trim();
    let row = sqlx::query(&format!("{TICKET} WHERE t.code = $1"))
        .bind(code)
        .fetch_optional(db.read())
        .await?;
    let Some(row) = row else {
        return Err(Error::invalid("code", "checkin-unknown-code"));
    };
    let t = ticket_from_row(&row)?;
    if t.event_id != event.id || t.org_id != org {
        return Err(Error::invalid("code", "checkin-other-event"));
    }
    let t = settle_ticket(db, t.id).await?;
    if t.checked_in_at.is_some() {
        return Err(Error::Conflict("checkin-already-used"));
    }
    if t.status != "confirmed" {
        return Err(Error::Conflict("checkin-not-valid"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE event_tickets SET checked_in_at = $1, checked_in_by = $2, updated_at = $1
         WHERE id = $3 AND status = 'confirmed' AND checked_in_at IS NULL",
    )
    .bind(now.0)
    .bind(staff.0)
    .bind(t.id)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("checkin-already-used"));
    }
    tx.commit().await?;
    ticket_any(db, t.id).await
}

/// The job at the end of a ticket's hold.
pub async fn expire_hold(db: &Db, id: i64) -> Result<()> {
    match settle_ticket(db, id).await {
        Ok(_) | Err(Error::NotFound) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Reminds the member of an event they hold a ticket for.
pub async fn remind(db: &Db, id: i64) -> Result<()> {
    let t = match ticket_any(db, id).await {
        Ok(t) => t,
        Err(Error::NotFound) => return Ok(()),
        Err(e) => return Err(e),
    };
    let now = db.now();
    if t.status != "confirmed" || t.event_starts_at <= now.0 {
        return Ok(());
    }
    let tz = tabys_core::calendar::almaty();
    let s = Timestamp(t.event_starts_at).to_jiff().to_zoned(tz.clone());
    let e = Timestamp(t.event_ends_at).to_jiff().to_zoned(tz);
    let mut args = serde_json::Map::new();
    args.insert("title".into(), serde_json::json!(t.event_title));
    args.insert("date".into(), serde_json::json!(s.date().to_string()));
    args.insert(
        "from".into(),
        serde_json::json!(s.strftime("%H:%M").to_string()),
    );
    args.insert(
        "to".into(),
        serde_json::json!(e.strftime("%H:%M").to_string()),
    );
    let mut tx = db.begin().await?;
    tabys_notify::add(
        &mut tx,
        now,
        tabys_notify::NewNotification {
            user: t.user_id,
            org: Some(t.org_id),
            kind: "booking.reminder",
            key: "notify-booking-reminder",
            args,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
