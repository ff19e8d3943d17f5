//! Chat messages as stored: what the organizer reads after a session and
//! promotes into a scenario (IS 2.2.1.2).

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    pub id: i64,
    pub seq: i64,
    pub participant: String,
    pub author: String,
    pub body: String,
    /// `chat` or `question`.
    pub kind: String,
    /// `all`, `mods` (a question) or `self` (a muted participant's).
    pub audience: String,
    pub deleted: bool,
    pub at: Timestamp,
}

fn from_row(r: &sqlx::any::AnyRow) -> Result<Message> {
    Ok(Message {
        id: r.try_get(0)?,
        seq: r.try_get(1)?,
        participant: r.try_get(2)?,
        author: r.try_get(3)?,
        body: r.try_get(4)?,
        kind: r.try_get(5)?,
        audience: r.try_get(6)?,
        deleted: r.try_get::<Option<i64>, _>(7)?.is_some(),
        at: Timestamp(r.try_get(8)?),
    })
}

/// The session's messages in order.
pub async fn of_webinar(db: &Db, org: OrgId, webinar: i64) -> Result<Vec<Message>> {
    let rows = sqlx::query(
        "SELECT id, seq, participant, author, body, kind, audience, deleted_at, at FROM live_messages
         WHERE org_id = $1 AND webinar_id = $2 ORDER BY seq LIMIT 5000",
    )
    .bind(org.0)
    .bind(webinar)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Copies a viewer's live message into the scenario the session plays (or
/// recorded), at the moment it was written, for future sessions.
pub async fn promote(db: &Db, org: OrgId, webinar: i64, message: i64) -> Result<()> {
    let w = crate::webinars::get(db, org, webinar).await?;
    let scenario = w.scenario_id.ok_or(Error::Conflict("live-no-scenario"))?;
    let m = of_webinar(db, org, webinar)
        .await?
        .into_iter()
        .find(|m| m.id == message)
        .ok_or(Error::NotFound)?;
    if m.deleted || m.audience != "all" {
        return Err(Error::Conflict("live-not-promotable"));
    }
    let offset = (m.at.0 - w.origin().0).clamp(0, crate::scenario::MAX_OFFSET_MS);
    let mut tx = db.begin().await?;
    crate::scenario::append(
        &mut tx,
        db.now(),
        scenario,
        &[crate::scenario::NewEvent {
            offset_ms: offset,
            kind: "chat",
            author: m.author,
            body: m.body,
            label: format!("w{}m{}", webinar, m.seq),
            reference: String::new(),
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
