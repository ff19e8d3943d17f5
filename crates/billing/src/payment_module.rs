//! The payment module (AT 1.2, 1.4): selling to students on the platform.
//! An organizer requests it from the cabinet; the operator checks the
//! organizer and approves it or refuses with reasons; the organizer then
//! switches it on, accepting the payment-module terms. Until it is on, the
//! organizer's products cannot be ordered.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct State {
    /// `none`, `requested`, `approved`, `refused`, `enabled`.
    pub status: String,
    /// The organizer's note on request, or the operator's reasons for a refusal.
    pub reason: String,
    pub requested_at: Option<i64>,
    pub decided_at: Option<i64>,
    pub enabled_at: Option<i64>,
}

pub async fn state(db: &Db, org: OrgId) -> Result<State> {
    let row = sqlx::query("SELECT status, reason, requested_at, decided_at, enabled_at FROM payment_modules WHERE org_id = $1")
        .bind(org.0)
        .fetch_optional(db.read())
        .await?;
    Ok(match row {
        None => State {
            status: "none".into(),
            reason: String::new(),
            requested_at: None,
            decided_at: None,
            enabled_at: None,
        },
        Some(r) => State {
            status: r.try_get(0)?,
            reason: r.try_get(1)?,
            requested_at: r.try_get(2)?,
            decided_at: r.try_get(3)?,
            enabled_at: r.try_get(4)?,
        },
    })
}

pub async fn is_enabled(db: &Db, org: OrgId) -> Result<bool> {
    Ok(state(db, org).await?.status == "enabled")
}

fn note(raw: &str, field: &'static str, required: bool) -> Result<String> {
    let s = raw.trim();
    if required && s.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    if s.chars().count() > 2000 {
        return Err(Error::invalid(field, "text-too-long"));
    }
    Ok(s.to_string())
}

async fn record(
    db: &Db,
    now: Timestamp,
    org: OrgId,
    actor: UserId,
    action: &str,
    reason: &str,
    tx: &mut tabys_store::Tx,
) -> Result<()> {
    audit::append(
        tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action,
            subject: format!("organizer:{org}"),
            data: serde_json::json!({ "reason": reason }),
        },
    )
    .await?;
    Ok(())
}

/// The organizer asks for the module (again, after a refusal).
pub async fn request(db: &Db, org: OrgId, actor: UserId, comment: &str) -> Result<()> {
    let comment = note(comment, "comment", false)?;
    let current = state(db, org).await?;
    if !matches!(current.status.as_str(), "none" | "refused") {
        return Err(Error::Conflict("payment-module-already-requested"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO payment_modules (org_id, status, reason, requested_by, requested_at) VALUES ($1, 'requested', $2, $3, $4)
         ON CONFLICT (org_id) DO UPDATE SET status = 'requested', reason = $2, requested_by = $3, requested_at = $4,
             decided_by = NULL, decided_at = NULL",
    )
    .bind(org.0)
    .bind(&comment)
    .bind(actor.0)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    record(
        db,
        now,
        org,
        actor,
        "payment-module.requested",
        &comment,
        &mut tx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The operator approves, or refuses with reasons.
pub async fn decide(
    db: &Db,
    org: OrgId,
    operator: UserId,
    approve: bool,
    reasons: &str,
) -> Result<()> {
    let reasons = note(reasons, "reasons", !approve)?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE payment_modules SET status = $1, reason = $2, decided_by = $3, decided_at = $4 WHERE org_id = $5 AND status = 'requested'")
        .bind(if approve { "approved" } else { "refused" })
        .bind(&reasons)
        .bind(operator.0)
        .bind(now.0)
        .bind(org.0)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("payment-module-not-requested"));
    }
    record(
        db,
        now,
        org,
        operator,
        if approve {
            "payment-module.approved"
        } else {
            "payment-module.refused"
        },
        &reasons,
        &mut tx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The organizer switches an approved module on, accepting its terms.
pub async fn enable(db: &Db, org: OrgId, actor: UserId, accepts_terms: bool) -> Result<()> {
    if !accepts_terms {
        return Err(Error::invalid("accept_terms", "terms-must-be-accepted"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE payment_modules SET status = 'enabled', enabled_by = $1, enabled_at = $2 WHERE org_id = $3 AND status = 'approved'")
        .bind(actor.0)
        .bind(now.0)
        .bind(org.0)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("payment-module-not-approved"));
    }
    record(
        db,
        now,
        org,
        actor,
        "payment-module.enabled",
        "terms accepted",
        &mut tx,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Requests waiting for the operator: (organizer, its note, when).
pub async fn waiting(db: &Db) -> Result<Vec<(OrgId, String, i64)>> {
    let rows = sqlx::query("SELECT org_id, reason, requested_at FROM payment_modules WHERE status = 'requested' ORDER BY requested_at")
        .fetch_all(db.read())
        .await?;
    rows.iter()
        .map(|r| Ok((OrgId(r.try_get(0)?), r.try_get(1)?, r.try_get(2)?)))
        .collect()
}
