//! Notifications: for now the in-app inbox only. A capability adds a
//! notification inside the transaction of the change it reports, so a
//! person is told exactly when the change happened. A notification stores a
//! locale key and its arguments, not text, so it is shown in whatever
//! language the reader uses when they read it.
//!
//! This crate owns the `notifications` table. It does not decide who must
//! be told what (the capability does), and it knows nothing of HTTP or of
//! how a locale key is translated. E-mail, SMS and per-person preferences
//! are meant to be added here, on top of [`add`].

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Db, Tx};

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

/// Adds a notification inside the caller's transaction.
pub async fn add(tx: &mut Tx, now: Timestamp, n: NewNotification) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO notifications (user_id, org_id, kind, locale_key, args, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(n.user.0)
    .bind(n.org.map(|o| o.0))
    .bind(n.kind)
    .bind(n.key)
    .bind(serde_json::Value::Object(n.args).to_string())
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
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
/// an inbox is not evidence, and its arguments may name them.
pub async fn erase_for(tx: &mut Tx, user: UserId) -> Result<u64> {
    let done = sqlx::query("DELETE FROM notifications WHERE user_id = $1")
        .bind(user.0)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}
