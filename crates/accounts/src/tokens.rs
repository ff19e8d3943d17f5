//! API tokens. An organizer's owner or manager issues a token for scripts
//! and integrations; the token acts as the person who issued it, only inside
//! that organizer, and only while that person still holds a role there.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};
use tabys_store::token::{random_token, token_hash};

use crate::members::{self, Role};
use crate::users::{self, User};

/// Every token starts with this, so a leaked one is easy to recognize.
pub const PREFIX: &str = "tabys_";

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct ApiToken {
    pub id: i64,
    pub name: String,
    /// The first characters of the token, to recognize it in the list.
    pub prefix: String,
    #[schema(value_type = i64)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<i64>)]
    pub last_used_at: Option<Timestamp>,
    pub revoked: bool,
}

/// Issues a token; the secret is returned once and never stored.
pub async fn issue(db: &Db, org: OrgId, actor: UserId, name: &str) -> Result<(ApiToken, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("name", "required"));
    }
    let secret = format!("{PREFIX}{}", random_token());
    let prefix: String = secret.chars().take(PREFIX.len() + 6).collect();
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO api_tokens (org_id, user_id, name, token_hash, prefix, created_at)
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(org.0)
    .bind(actor.0)
    .bind(name)
    .bind(token_hash(&secret))
    .bind(&prefix)
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
            action: "api_token.issued",
            subject: format!("api_token:{id}"),
            data: serde_json::json!({ "name": name, "prefix": prefix }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok((
        ApiToken {
            id,
            name: name.to_string(),
            prefix,
            created_at: now,
            last_used_at: None,
            revoked: false,
        },
        secret,
    ))
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<ApiToken>> {
    let rows = sqlx::query(
        "SELECT id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE org_id = $1 ORDER BY id DESC",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ApiToken {
                id: r.try_get(0)?,
                name: r.try_get(1)?,
                prefix: r.try_get(2)?,
                created_at: Timestamp(r.try_get(3)?),
                last_used_at: r.try_get::<Option<i64>, _>(4)?.map(Timestamp),
                revoked: r.try_get::<Option<i64>, _>(5)?.is_some(),
            })
        })
        .collect()
}

/// Revokes a token of this organizer; a token of another organizer is `NotFound`.
pub async fn revoke(db: &Db, org: OrgId, actor: UserId, id: i64) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND org_id = $3 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(id)
        .bind(org.0)
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
            org_id: Some(org),
            actor_id: Some(actor),
            action: "api_token.revoked",
            subject: format!("api_token:{id}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Who a bearer token acts as: the person, the organizer it is bound to and
/// their current role there.
pub async fn resolve(db: &Db, secret: &str) -> Result<(User, OrgId, Role)> {
    let row = sqlx::query(
        "SELECT id, org_id, user_id, last_used_at FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
    )
    .bind(token_hash(secret))
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::Unauthorized)?;
    let id: i64 = row.try_get(0)?;
    let org = OrgId(row.try_get(1)?);
    let user = users::get(db, UserId(row.try_get(2)?)).await?;
    let role = members::access(db, user.id, org)
        .await
        .map_err(|_| Error::Unauthorized)?;
    if !user.is_active() || !role.is_staff() {
        return Err(Error::Unauthorized);
    }
    let now = db.now();
    let last: Option<i64> = row.try_get(3)?;
    if last.is_none_or(|l| now.0 - l > 60_000) {
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok((user, org, role))
}
