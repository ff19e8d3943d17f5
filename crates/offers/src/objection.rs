//! Written objections to a new version before it takes effect (LZ 12.2.1:
//! "in case of disagreement the user must notify the executor in writing
//! before the changes take effect"). An objection is insert-only evidence,
//! audited; it stops acceptance by continued use, and the organizer sees it
//! on its offers page and decides what follows.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::acceptance::Evidence;
use crate::offer::Publisher;
use crate::version;

/// The longest objection, in characters.
pub const MAX_CHARS: usize = 5000;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Objection {
    pub id: i64,
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub offer_id: i64,
    pub version_id: i64,
    pub text: String,
    #[schema(value_type = i64)]
    pub created_at: Timestamp,
}

/// An objection as the organizer sees it: with the person's name and the version number.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listed {
    pub objection: Objection,
    pub user_name: String,
    pub user_email: String,
    pub version_number: i64,
}

const COLUMNS: &str = "id, user_id, offer_id, version_id, text, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Objection> {
    Ok(Objection {
        id: row.try_get(0)?,
        user_id: UserId(row.try_get(1)?),
        offer_id: row.try_get(2)?,
        version_id: row.try_get(3)?,
        text: row.try_get(4)?,
        created_at: Timestamp(row.try_get(5)?),
    })
}

/// Records a person's objection to a version that has not taken effect.
/// Only someone bound by an earlier version of the same offer may object.
pub async fn object(
    db: &Db,
    user: UserId,
    version_id: i64,
    text: &str,
    ev: &Evidence,
) -> Result<Objection> {
    let text = text.replace("\r\n", "\n");
    let text = text.trim();
    if text.is_empty() {
        return Err(Error::invalid("text", "required"));
    }
    if text.chars().count() > MAX_CHARS {
        return Err(Error::invalid("text", "text-too-long"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let v = version::by_id(&mut tx, version_id)
        .await?
        .ok_or(Error::NotFound)?;
    let bound = sqlx::query(
        "SELECT a.id FROM offer_acceptances a JOIN offer_versions v ON v.id = a.version_id
         WHERE a.user_id = $1 AND a.offer_id = $2 AND v.number < $3 LIMIT 1",
    )
    .bind(user.0)
    .bind(v.offer_id)
    .bind(v.number)
    .fetch_optional(&mut *tx)
    .await?;
    if bound.is_none() {
        return Err(Error::NotFound);
    }
    if v.is_in_effect(now) {
        return Err(Error::Conflict("offer-objection-too-late"));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO offer_objections (user_id, org_id, offer_id, version_id, text, created_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
    ))
    .bind(user.0)
    .bind(v.org_id.map(|o| o.0))
    .bind(v.offer_id)
    .bind(v.id)
    .bind(text)
    .bind(now.0)
    .bind(&ev.origin.ip)
    .bind(ev.origin.user_agent.chars().take(400).collect::<String>())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("offer-already-objected"),
        other => other,
    })?;
    let o = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: v.org_id,
            actor_id: Some(user),
            action: "offer.objected",
            subject: format!("offer_objection:{}", o.id),
            data: serde_json::json!({
                "offer_id": v.offer_id,
                "version_id": v.id,
                "version_number": v.number,
                "version_hash": v.hash,
                "text": text,
                "ip": ev.origin.ip,
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(o)
}

/// Objections to one publisher's offers, newest first.
pub async fn for_publisher(db: &Db, publisher: Publisher) -> Result<Vec<Listed>> {
    let rows = sqlx::query(
        "SELECT o.id, o.user_id, o.offer_id, o.version_id, o.text, o.created_at, u.name, u.email, v.number
         FROM offer_objections o JOIN users u ON u.id = o.user_id JOIN offer_versions v ON v.id = o.version_id
         WHERE COALESCE(o.org_id, 0) = $1 ORDER BY o.id DESC",
    )
    .bind(publisher.key())
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Listed {
                objection: from_row(r)?,
                user_name: r.try_get(6)?,
                user_email: r.try_get(7)?,
                version_number: r.try_get(8)?,
            })
        })
        .collect()
}

/// A person's objections, newest first; with `org`, only to that organizer's offers.
pub async fn of_user(db: &Db, user: UserId, org: Option<OrgId>) -> Result<Vec<Objection>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_objections WHERE user_id = $1 AND ($2 < 0 OR COALESCE(org_id, 0) = $2) ORDER BY id DESC"
    ))
    .bind(user.0)
    .bind(org.map_or(-1, |o| o.0))
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}
