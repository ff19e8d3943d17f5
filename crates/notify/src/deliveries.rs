//! Deliveries: one row per message on one channel (e-mail or SMS), written
//! in the same transaction as the notification or mailing it carries, then
//! sent by the worker through the job queue.
//!
//! A delivery moves `queued` → `sending` → `sent`, each step committed
//! before the next is attempted. `sending` is committed before the server
//! is contacted, so a worker that dies mid-send leaves a trace: the next
//! run finds `sending` and knows it cannot tell whether the message left.
//! E-mail is then marked `uncertain` and not sent again (nothing is sent
//! twice); SMS asks the provider by the delivery's own id and resends only
//! if the provider never got it. A failure the worker sees (refusal,
//! timeout, dropped connection) puts the delivery back to `queued` for a
//! retry with backoff, up to [`MAX_ATTEMPTS`], then `failed`, which the
//! operator and the sending organizer see.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Conn, Db, Tx};

use crate::category::Category;

/// Attempts of one delivery before it is given up as failed.
pub const MAX_ATTEMPTS: i64 = 8;

/// The job kind that sends deliveries; its payload is `{"deliveries": [ids]}`.
pub const JOB_KIND: &str = "notify.send";

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum Channel {
    Email,
    Sms,
}

impl Channel {
    pub fn code(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "sms" => Some(Self::Sms),
            _ => None,
        }
    }
}

/// A delivery to record.
#[derive(Debug, Clone)]
pub struct NewDelivery {
    pub notification_id: Option<i64>,
    pub mailing_id: Option<i64>,
    /// The account written to; `None` for an address alone (a webinar's guest).
    pub user: Option<UserId>,
    /// The language of a delivery to an address alone; one to an account is
    /// rendered in the account's language when it is sent.
    pub locale: Option<Locale>,
    pub org: Option<OrgId>,
    pub channel: Channel,
    pub address: String,
    pub kind: String,
    pub category: Category,
    pub key: String,
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// Records a queued delivery inside the caller's transaction; the caller
/// enqueues the job that sends it ([`enqueue`]).
pub async fn insert(tx: &mut Tx, now: Timestamp, d: NewDelivery) -> Result<i64> {
    // Marketing e-mail carries a one-click unsubscribe link (AT 6.18).
    let unsubscribe = (d.category == Category::Marketing && d.channel == Channel::Email)
        .then(tabys_store::token::random_token);
    let message_id = tabys_store::token::random_token();
    let row = sqlx::query(
        "INSERT INTO notify_deliveries (notification_id, mailing_id, user_id, org_id, channel, address, kind, category,
            locale_key, args, message_id, status, attempts, unsubscribe_token, created_at, updated_at, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'queued', 0, $12, $13, $13, $14) RETURNING id",
    )
    .bind(d.notification_id)
    .bind(d.mailing_id)
    .bind(d.user.map(|u| u.0))
    .bind(d.org.map(|o| o.0))
    .bind(d.channel.code())
    .bind(&d.address)
    .bind(&d.kind)
    .bind(d.category.code())
    .bind(&d.key)
    .bind(serde_json::Value::Object(d.args).to_string())
    .bind(&message_id[..32])
    .bind(unsubscribe)
    .bind(now.0)
    .bind(d.locale.map(Locale::code))
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

/// A file an e-mail carries: a stored file of the organizer, read when the
/// e-mail is sent.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Attachment {
    /// The organizer the file belongs to.
    pub org: OrgId,
    /// The stored file (`tabys_files::StoredFile`).
    pub file_id: i64,
    /// The name the recipient sees.
    pub name: String,
    pub content_type: String,
}

/// Attaches files to an e-mail delivery, inside the transaction that wrote it.
pub async fn attach(tx: &mut Tx, delivery: i64, attachments: &[Attachment]) -> Result<()> {
    for a in attachments {
        sqlx::query(
            "INSERT INTO notify_attachments (delivery_id, org_id, file_id, name, content_type) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(delivery)
        .bind(a.org.0)
        .bind(a.file_id)
        .bind(&a.name)
        .bind(&a.content_type)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The files a delivery carries, in the order they were attached.
pub async fn attachments(db: &Db, delivery: i64) -> Result<Vec<Attachment>> {
    let rows = sqlx::query(
        "SELECT org_id, file_id, name, content_type FROM notify_attachments WHERE delivery_id = $1 ORDER BY id",
    )
    .bind(delivery)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attachment {
                org: OrgId(r.try_get(0)?),
                file_id: r.try_get(1)?,
                name: r.try_get(2)?,
                content_type: r.try_get(3)?,
            })
        })
        .collect()
}

/// Enqueues the job that sends these deliveries, inside the caller's transaction.
pub async fn enqueue(tx: &mut Tx, now: Timestamp, org: Option<OrgId>, ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let mut job =
        tabys_store::jobs::NewJob::new(JOB_KIND, serde_json::json!({ "deliveries": ids }));
    // One more run than a delivery has attempts, so the last run records the failure.
    job.max_attempts = MAX_ATTEMPTS + 1;
    if let Some(o) = org {
        job = job.org(o);
    }
    tabys_store::jobs::enqueue(tx, now, job).await?;
    Ok(())
}

/// A delivery as the worker and the pages see it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Delivery {
    pub id: i64,
    pub notification_id: Option<i64>,
    pub mailing_id: Option<i64>,
    /// `None` for a delivery to an address alone (a webinar's guest).
    pub user_id: Option<UserId>,
    pub org_id: Option<OrgId>,
    pub channel: Channel,
    pub address: String,
    pub kind: String,
    pub category: Category,
    pub key: String,
    pub args: serde_json::Map<String, serde_json::Value>,
    pub message_id: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub provider_ref: Option<String>,
    pub cost: Option<Money>,
    pub charge: Option<Money>,
    pub charged_at: Option<Timestamp>,
    pub unsubscribe_token: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub sent_at: Option<Timestamp>,
    /// An account's language now, not when it was queued; for an address
    /// alone, the language it was written in.
    pub locale: Locale,
}

const COLUMNS: &str = "d.id, d.notification_id, d.mailing_id, d.user_id, d.org_id, d.channel, d.address, d.kind, d.category,
    d.locale_key, d.args, d.message_id, d.status, d.attempts, d.last_error, d.provider_ref, d.cost, d.charge, d.charged_at,
    d.unsubscribe_token, d.created_at, d.updated_at, d.sent_at, COALESCE(d.locale, u.locale, 'ru')";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Delivery> {
    let channel: String = r.try_get(5)?;
    let category: String = r.try_get(8)?;
    let args: String = r.try_get(10)?;
    let args = match serde_json::from_str(&args).map_err(Error::internal)? {
        serde_json::Value::Object(m) => m,
        _ => serde_json::Map::new(),
    };
    let locale: String = r.try_get(23)?;
    Ok(Delivery {
        id: r.try_get(0)?,
        notification_id: r.try_get(1)?,
        mailing_id: r.try_get(2)?,
        user_id: r.try_get::<Option<i64>, _>(3)?.map(UserId),
        org_id: r.try_get::<Option<i64>, _>(4)?.map(OrgId),
        channel: Channel::parse(&channel)
            .ok_or_else(|| Error::Internal(format!("unknown channel {channel}")))?,
        address: r.try_get(6)?,
        kind: r.try_get(7)?,
        category: Category::parse(&category).unwrap_or(Category::Service),
        key: r.try_get(9)?,
        args,
        message_id: r.try_get(11)?,
        status: r.try_get(12)?,
        attempts: r.try_get(13)?,
        last_error: r.try_get(14)?,
        provider_ref: r.try_get(15)?,
        cost: r.try_get::<Option<i64>, _>(16)?.map(Money::from_tiyn),
        charge: r.try_get::<Option<i64>, _>(17)?.map(Money::from_tiyn),
        charged_at: r.try_get::<Option<i64>, _>(18)?.map(Timestamp),
        unsubscribe_token: r.try_get(19)?,
        created_at: Timestamp(r.try_get(20)?),
        updated_at: Timestamp(r.try_get(21)?),
        sent_at: r.try_get::<Option<i64>, _>(22)?.map(Timestamp),
        locale: Locale::parse(&locale).unwrap_or(Locale::Ru),
    })
}

async fn get_in(conn: &mut Conn, id: i64) -> Result<Delivery> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id WHERE d.id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn get(db: &Db, id: i64) -> Result<Delivery> {
    let mut conn = db.read().acquire().await?;
    get_in(&mut conn, id).await
}

/// What the worker must do with a delivery it picked up.
#[derive(Debug)]
pub enum Claim {
    /// It is now `sending` and belongs to this worker: send it.
    Send(Box<Delivery>),
    /// A previous run died after marking it `sending`: whether it left is unknown.
    Interrupted(Box<Delivery>),
    /// Already finished (`sent`, `failed`, `uncertain`, `skipped`).
    Finished(Box<Delivery>),
}

/// Takes a delivery for sending: `queued` becomes `sending`, committed
/// before anything leaves, and the attempt is counted.
pub async fn claim(db: &Db, id: i64) -> Result<Claim> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let d = get_in(&mut tx, id).await?;
    let claim = match d.status.as_str() {
        "queued" => {
            sqlx::query(
                "UPDATE notify_deliveries SET status = 'sending', attempts = attempts + 1, updated_at = $1
                 WHERE id = $2 AND status = 'queued'",
            )
            .bind(now.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            let d = get_in(&mut tx, id).await?;
            Claim::Send(Box::new(d))
        }
        "sending" => Claim::Interrupted(Box::new(d)),
        _ => Claim::Finished(Box::new(d)),
    };
    tx.commit().await?;
    Ok(claim)
}

/// What a provider said about a sent message.
#[derive(Debug, Clone, Default)]
pub struct Receipt {
    pub provider_ref: Option<String>,
    /// What the provider charged for it (SMS).
    pub cost: Option<Money>,
    /// What the organizer is to be charged for it (SMS through the operator's account).
    pub charge: Option<Money>,
}

/// Records that the server accepted the message.
pub async fn mark_sent(db: &Db, id: i64, r: &Receipt) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE notify_deliveries SET status = 'sent', provider_ref = $1, cost = $2, charge = $3, sent_at = $4,
            updated_at = $4, last_error = NULL WHERE id = $5 AND status IN ('sending', 'queued')",
    )
    .bind(&r.provider_ref)
    .bind(r.cost.map(|m| m.tiyn()))
    .bind(r.charge.map(|m| m.tiyn()))
    .bind(now.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a failed attempt. A retryable one goes back to `queued` until
/// [`MAX_ATTEMPTS`]; returns whether it will be tried again.
pub async fn mark_failed(db: &Db, id: i64, error: &str, retryable: bool) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let d = get_in(&mut tx, id).await?;
    let retry = retryable && d.attempts < MAX_ATTEMPTS;
    let error: String = error.chars().take(1000).collect();
    sqlx::query(
        "UPDATE notify_deliveries SET status = $1, last_error = $2, updated_at = $3 WHERE id = $4 AND status = 'sending'",
    )
    .bind(if retry { "queued" } else { "failed" })
    .bind(error)
    .bind(now.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(retry)
}

/// Sets a `sending` delivery to `status` (`uncertain`, or back to `queued`
/// when the provider confirmed it never got the message).
pub async fn resolve_interrupted(db: &Db, id: i64, status: &str, note: &str) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE notify_deliveries SET status = $1, last_error = $2, updated_at = $3 WHERE id = $4 AND status = 'sending'",
    )
    .bind(status)
    .bind(note)
    .bind(now.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records that the organizer's balance was charged for this delivery.
pub async fn mark_charged(db: &Db, id: i64) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE notify_deliveries SET charged_at = $1 WHERE id = $2 AND charged_at IS NULL",
    )
    .bind(now.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Deliveries that need a person's attention (`failed`, `uncertain`),
/// newest first: of one organizer, or of everyone for the operator.
pub async fn troubled(db: &Db, org: Option<OrgId>, limit: i64) -> Result<Vec<Delivery>> {
    let rows = match org {
        Some(o) => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id
                 WHERE d.org_id = $1 AND d.status IN ('failed', 'uncertain') ORDER BY d.id DESC LIMIT $2"
            ))
            .bind(o.0)
            .bind(limit)
            .fetch_all(db.read())
            .await?
        }
        None => {
            sqlx::query(&format!(
                "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id
                 WHERE d.status IN ('failed', 'uncertain') ORDER BY d.id DESC LIMIT $1"
            ))
            .bind(limit)
            .fetch_all(db.read())
            .await?
        }
    };
    rows.iter().map(from_row).collect()
}

/// Every delivery of a notification, oldest first.
pub async fn of_notification(db: &Db, notification: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id
         WHERE d.notification_id = $1 ORDER BY d.id"
    ))
    .bind(notification)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Every delivery of a mailing, oldest first.
pub async fn of_mailing(db: &Db, mailing: i64) -> Result<Vec<Delivery>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id
         WHERE d.mailing_id = $1 ORDER BY d.id"
    ))
    .bind(mailing)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The delivery an unsubscribe link was made for.
pub async fn by_unsubscribe_token(db: &Db, token: &str) -> Result<Delivery> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound);
    }
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM notify_deliveries d LEFT JOIN users u ON u.id = d.user_id WHERE d.unsubscribe_token = $1"
    ))
    .bind(token)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}
