//! Notifications (PL-7). A capability adds a notification inside the
//! transaction of the change it reports ([`add`]), so a person is told
//! exactly when the change happened. A notification stores a locale key
//! and its arguments, not text, so it is shown in whatever language the
//! reader uses when they read it.
//!
//! [`add`] writes the in-app message and, in the same transaction, the
//! deliveries by e-mail and SMS that the person's choices and the kind's
//! category call for, with the job that sends them (the outbox). This
//! crate also owns people's channel choices and phones, organizers'
//! sending settings and the support chat.
//!
//! It does not decide who must be told what (the capability does), knows
//! nothing of HTTP, and sends nothing itself: `tabys-delivery` renders and
//! sends the deliveries recorded here.

pub mod category;
pub mod deliveries;
pub mod prefs;
pub mod settings;
pub mod support;

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Conn, Db, Tx};

use crate::category::Category;
use crate::deliveries::{Attachment, Channel, NewDelivery};
use tabys_core::locale::Locale;

/// A notification to add.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user: UserId,
    /// The organizer it concerns; `None` for the platform.
    pub org: Option<OrgId>,
    /// What happened, for filtering later: `offer.new_version`, …
    pub kind: &'static str,
    /// The locale key of the message, e.g. `notify-offer-new-version`.
    pub key: &'static str,
    /// The message's arguments; each value is a string or a number.
    pub args: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Notification {
    pub id: i64,
    pub org_id: Option<OrgId>,
    pub kind: String,
    pub key: String,
    pub args: serde_json::Map<String, serde_json::Value>,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

impl Notification {
    pub fn is_unread(&self) -> bool {
        self.read_at.is_none()
    }
}

/// Adds a notification inside the caller's transaction, with its
/// e-mail and SMS deliveries and the job that sends them.
pub async fn add(tx: &mut Tx, now: Timestamp, n: NewNotification) -> Result<i64> {
    add_with_attachments(tx, now, n, &[]).await
}

/// Like [`add`], with files the e-mail carries (a certificate's PDF). The
/// in-app message and an SMS carry none; they say where to find it.
pub async fn add_with_attachments(
    tx: &mut Tx,
    now: Timestamp,
    n: NewNotification,
    attachments: &[Attachment],
) -> Result<i64> {
    let id = add_in_app(tx, now, &n).await?;
    plan(tx, now, id, &n, attachments).await?;
    Ok(id)
}

/// An e-mail to an address with no account behind it (a webinar's guest
/// registered with a name and an e-mail), inside the caller's transaction,
/// with the job that sends it.
#[derive(Debug, Clone)]
pub struct AddressEmail {
    pub org: OrgId,
    pub address: String,
    /// The language it is written in: nobody can choose one later.
    pub locale: Locale,
    pub kind: &'static str,
    pub key: &'static str,
    pub args: serde_json::Map<String, serde_json::Value>,
}

/// Queues an [`AddressEmail`]. Such a person has no inbox and cannot choose
/// channels, so only a transactional message about something they asked
/// for may be sent this way; it is recorded as a service message (it
/// cannot be muted, and it is never marketing).
pub async fn email_address(tx: &mut Tx, now: Timestamp, e: AddressEmail) -> Result<i64> {
    let id = deliveries::insert(
        tx,
        now,
        NewDelivery {
            notification_id: None,
            mailing_id: None,
            user: None,
            locale: Some(e.locale),
            org: Some(e.org),
            channel: Channel::Email,
            address: e.address,
            kind: e.kind.to_string(),
            category: Category::Service,
            key: e.key.to_string(),
            args: e.args,
        },
    )
    .await?;
    deliveries::enqueue(tx, now, Some(e.org), &[id]).await?;
    Ok(id)
}

/// Adds only the in-app message (a mailing sent to the inbox).
pub async fn add_in_app(tx: &mut Tx, now: Timestamp, n: &NewNotification) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO notifications (user_id, org_id, kind, locale_key, args, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(n.user.0)
    .bind(n.org.map(|o| o.0))
    .bind(n.kind)
    .bind(n.key)
    .bind(serde_json::Value::Object(n.args.clone()).to_string())
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

/// Is the person's newest marketing consent towards the publisher a grant?
/// The offers capability owns consents and depends on this crate, so the
/// newest event is read here directly; no event means no consent.
pub async fn marketing_consent(conn: &mut Conn, user: UserId, org: Option<OrgId>) -> Result<bool> {
    let row = sqlx::query(
        "SELECT granted FROM consent_events WHERE user_id = $1 AND COALESCE(org_id, 0) = $2 AND kind = 'marketing'
         ORDER BY id DESC LIMIT 1",
    )
    .bind(user.0)
    .bind(org.map_or(0, |o| o.0))
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        Some(r) => r.try_get::<i64, _>(0)? != 0,
        None => false,
    })
}

/// Records the deliveries a new notification calls for and enqueues their job.
async fn plan(
    tx: &mut Tx,
    now: Timestamp,
    notification: i64,
    n: &NewNotification,
    attachments: &[Attachment],
) -> Result<()> {
    let category = category::of_kind(n.kind);
    let Some(user) = sqlx::query("SELECT email, status FROM users WHERE id = $1")
        .bind(n.user.0)
        .fetch_optional(&mut **tx)
        .await?
    else {
        return Err(Error::NotFound);
    };
    let email: String = user.try_get(0)?;
    let status: String = user.try_get(1)?;
    // An erased account keeps no address to write to.
    if status == "erased" || email.is_empty() {
        return Ok(());
    }
    if category == Category::Marketing && !marketing_consent(tx, n.user, n.org).await? {
        return Ok(());
    }
    let channels = prefs::channels_in(tx, n.user, category).await?;
    let mut planned = Vec::new();
    if channels.email {
        planned.push((Channel::Email, email));
    }
    if channels.sms
        && let Some(org) = n.org
        && settings::get_in(tx, org).await?.sms_mode != settings::SmsMode::Off
        && let Some(phone) = prefs::phone_in(tx, n.user).await?
    {
        planned.push((Channel::Sms, phone));
    }
    let mut ids = Vec::new();
    for (channel, address) in planned {
        let id = deliveries::insert(
            tx,
            now,
            NewDelivery {
                notification_id: Some(notification),
                mailing_id: None,
                user: Some(n.user),
                locale: None,
                org: n.org,
                channel,
                address,
                kind: n.kind.to_string(),
                category,
                key: n.key.to_string(),
                args: n.args.clone(),
            },
        )
        .await?;
        if channel == Channel::Email {
            deliveries::attach(tx, id, attachments).await?;
        }
        ids.push(id);
    }
    deliveries::enqueue(tx, now, n.org, &ids).await
}

/// A person's notifications, newest first.
pub async fn list(db: &Db, user: UserId, limit: i64) -> Result<Vec<Notification>> {
    let rows = sqlx::query(
        "SELECT id, org_id, kind, locale_key, args, created_at, read_at FROM notifications
         WHERE user_id = $1 ORDER BY id DESC LIMIT $2",
    )
    .bind(user.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let args: String = r.try_get(4)?;
            let args = match serde_json::from_str(&args).map_err(Error::internal)? {
                serde_json::Value::Object(map) => map,
                _ => serde_json::Map::new(),
            };
            Ok(Notification {
                id: r.try_get(0)?,
                org_id: r.try_get::<Option<i64>, _>(1)?.map(OrgId),
                kind: r.try_get(2)?,
                key: r.try_get(3)?,
                args,
                created_at: Timestamp(r.try_get(5)?),
                read_at: r.try_get::<Option<i64>, _>(6)?.map(Timestamp),
            })
        })
        .collect()
}

/// How many notifications the person has not read: the number in the page header.
pub async fn unread(db: &Db, user: UserId) -> Result<i64> {
    let row =
        sqlx::query("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND read_at IS NULL")
            .bind(user.0)
            .fetch_one(db.read())
            .await?;
    Ok(row.try_get(0)?)
}

/// Marks one of the person's own notifications read; someone else's is `NotFound`.
pub async fn mark_read(db: &Db, user: UserId, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let exists = sqlx::query("SELECT read_at FROM notifications WHERE id = $1 AND user_id = $2")
        .bind(id)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
    if exists.try_get::<Option<i64>, _>(0)?.is_none() {
        sqlx::query("UPDATE notifications SET read_at = $1 WHERE id = $2 AND user_id = $3")
            .bind(db.now().0)
            .bind(id)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Marks every notification of the person read; returns how many were unread.
pub async fn mark_all_read(db: &Db, user: UserId) -> Result<u64> {
    let mut tx = db.begin().await?;
    let done =
        sqlx::query("UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND read_at IS NULL")
            .bind(db.now().0)
            .bind(user.0)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// Removes a person's notifications when their personal data is erased:
/// an inbox is not evidence, and its arguments may name them. Their
/// deliveries, channel choices and phone go with them.
pub async fn erase_for(tx: &mut Tx, user: UserId) -> Result<u64> {
    for sql in [
        "DELETE FROM notify_attachments WHERE delivery_id IN (SELECT id FROM notify_deliveries WHERE user_id = $1)",
        "DELETE FROM notify_deliveries WHERE user_id = $1",
        "DELETE FROM notify_preferences WHERE user_id = $1",
        "DELETE FROM notify_contacts WHERE user_id = $1",
    ] {
        sqlx::query(sql).bind(user.0).execute(&mut **tx).await?;
    }
    let done = sqlx::query("DELETE FROM notifications WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
