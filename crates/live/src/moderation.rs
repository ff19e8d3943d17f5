//! Bans and shadow mutes of a room. A banned participant's connection is
//! closed and a new one refused; a muted one keeps chatting but only sees
//! their own messages (they are not told).

use sqlx::Row;
use tabys_core::Result;
use tabys_store::Db;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sanction {
    Ban,
    Mute,
}

impl Sanction {
    pub fn code(self) -> &'static str {
        match self {
            Self::Ban => "ban",
            Self::Mute => "mute",
        }
    }
}

/// Records a sanction; a second one of the same kind changes nothing.
pub async fn add(db: &Db, room: i64, participant: &str, s: Sanction) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO live_bans (room_id, participant, kind, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (room_id, participant, kind) DO NOTHING",
    )
    .bind(room)
    .bind(participant)
    .bind(s.code())
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn remove(db: &Db, room: i64, participant: &str, s: Sanction) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM live_bans WHERE room_id = $1 AND participant = $2 AND kind = $3")
        .bind(room)
        .bind(participant)
        .bind(s.code())
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Every sanction of the room: (participant, kind).
pub async fn of_room(db: &Db, room: i64) -> Result<Vec<(String, Sanction)>> {
    let rows = sqlx::query("SELECT participant, kind FROM live_bans WHERE room_id = $1")
        .bind(room)
        .fetch_all(db.read())
        .await?;
    rows.iter()
        .map(|r| {
            let kind: String = r.try_get(1)?;
            Ok((
                r.try_get(0)?,
                if kind == "ban" {
                    Sanction::Ban
                } else {
                    Sanction::Mute
                },
            ))
        })
        .collect()
}

/// Is the participant banned from the room?
pub async fn is_banned(db: &Db, room: i64, participant: &str) -> Result<bool> {
    let n: i64 = sqlx::query(
        "SELECT COUNT(*) FROM live_bans WHERE room_id = $1 AND participant = $2 AND kind = 'ban'",
    )
    .bind(room)
    .bind(participant)
    .fetch_one(db.read())
    .await?
    .try_get(0)?;
    Ok(n > 0)
}
