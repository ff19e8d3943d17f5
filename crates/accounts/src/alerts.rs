//! Alerts for the operator: things a person reported that need a human
//! (IS 5.2.5: "my account was accessed by someone else").

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::{Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::sessions;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Alert {
    pub id: i64,
    pub kind: String,
    pub user_id: Option<i64>,
    pub user_email: Option<String>,
    pub detail: String,
    pub created_at: Timestamp,
    pub resolved: bool,
}

/// The person says someone else used their account: every session ends,
/// including the one that reports it, and the operator is alerted.
pub async fn report_compromise(db: &Db, user: UserId, ip: &str) -> Result<u64> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let ended = sessions::end_all(&mut tx, user, None).await?;
    sqlx::query("INSERT INTO operator_alerts (kind, user_id, detail, created_at) VALUES ('account-compromised', $1, $2, $3)")
        .bind(user.0)
        .bind(format!("reported from {ip}; {ended} sessions ended"))
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(user),
            action: "user.compromise_reported",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "sessions_ended": ended, "ip": ip }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(ended)
}

/// Open alerts first, newest first.
pub async fn list(db: &Db, limit: i64) -> Result<Vec<Alert>> {
    let rows = sqlx::query(
        "SELECT a.id, a.kind, a.user_id, u.email, a.detail, a.created_at, a.resolved_at
         FROM operator_alerts a LEFT JOIN users u ON u.id = a.user_id
         ORDER BY (CASE WHEN a.resolved_at IS NULL THEN 0 ELSE 1 END), a.id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Alert {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                user_id: r.try_get(2)?,
                user_email: r.try_get(3)?,
                detail: r.try_get(4)?,
                created_at: Timestamp(r.try_get(5)?),
                resolved: r.try_get::<Option<i64>, _>(6)?.is_some(),
            })
        })
        .collect()
}
