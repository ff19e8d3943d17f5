//! The audit log: append-only, each entry carrying the SHA-256 of the one
//! before it, so an edited or deleted entry breaks the chain. Money, offers,
//! access changes, personal-data access and moderation are written here
//! inside the transaction of the change itself.
//!
//! `audit_head` holds the newest sequence number and hash, so removing the
//! newest entries is caught too; `verify` prints the head hash, which an
//! operator can keep elsewhere to anchor the chain.

use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};

use crate::{Db, Dialect, Tx};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom, to what. `subject` names the thing ("user:12",
/// "organizer:3"); `data` holds the details (for a change, the fields before
/// and after).
#[derive(Debug, Clone)]
pub struct Entry<'a> {
    pub org_id: Option<OrgId>,
    pub actor_id: Option<UserId>,
    pub action: &'a str,
    pub subject: String,
    pub data: serde_json::Value,
}

/// A stored entry.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Record {
    pub seq: i64,
    pub at: Timestamp,
    pub org_id: Option<i64>,
    pub actor_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub data: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of a record's content and its predecessor's hash.
fn entry_hash(r: &Record) -> String {
    // Length-prefixed fields: no two different entries encode alike.
    let mut h = Sha256::new();
    let fields = [
        r.prev_hash.clone(),
        r.seq.to_string(),
        r.at.0.to_string(),
        r.org_id.map(|o| o.to_string()).unwrap_or_default(),
        r.actor_id.map(|a| a.to_string()).unwrap_or_default(),
        r.action.clone(),
        r.subject.clone(),
        r.data.clone(),
    ];
    for f in &fields {
        h.update((f.len() as u64).to_be_bytes());
        h.update(f.as_bytes());
    }
    hex::encode(h.finalize())
}

/// Appends an entry inside the caller's transaction.
pub async fn append(tx: &mut Tx, dialect: Dialect, at: Timestamp, entry: Entry<'_>) -> Result<i64> {
    if dialect == Dialect::Postgres {
        // Entries are chained, so appends are serialized; on SQLite the
        // single write connection already does that.
        sqlx::query("SELECT pg_advisory_xact_lock(7002)")
            .execute(&mut **tx)
            .await?;
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(&mut **tx)
        .await?;
    let (prev_seq, prev_hash) = match head {
        Some(row) => (row.try_get::<i64, _>(0)?, row.try_get::<String, _>(1)?),
        None => (0, GENESIS.to_string()),
    };
    let mut r = Record {
        seq: prev_seq + 1,
        at,
        org_id: entry.org_id.map(|o| o.0),
        actor_id: entry.actor_id.map(|a| a.0),
        action: entry.action.to_string(),
        subject: entry.subject,
        data: entry.data.to_string(),
        prev_hash,
        hash: String::new(),
    };
    r.hash = entry_hash(&r);
    sqlx::query(
        "INSERT INTO audit_log (seq, at, org_id, actor_id, action, subject, data, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(r.seq)
    .bind(r.at.0)
    .bind(r.org_id)
    .bind(r.actor_id)
    .bind(&r.action)
    .bind(&r.subject)
    .bind(&r.data)
    .bind(&r.prev_hash)
    .bind(&r.hash)
    .execute(&mut **tx)
    .await?;
    let updated = sqlx::query("UPDATE audit_head SET seq = $1, hash = $2 WHERE id = 1")
        .bind(r.seq)
        .bind(&r.hash)
        .execute(&mut **tx)
        .await?;
    if updated.rows_affected() == 0 {
        sqlx::query("INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)")
            .bind(r.seq)
            .bind(&r.hash)
            .execute(&mut **tx)
            .await?;
    }
    Ok(r.seq)
}

/// What `verify` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Every entry is intact; the chain ends at this sequence number and hash.
    Intact { entries: i64, head: String },
    /// The first place the chain breaks, in words.
    Broken { seq: i64, reason: String },
}

/// Walks the whole chain from the first entry.
pub async fn verify(db: &Db) -> Result<Verdict> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1;
    let mut last_seq = 0;
    let mut after = 0i64;
    loop {
        let rows = sqlx::query(
            "SELECT seq, at, org_id, actor_id, action, subject, data, prev_hash, hash
             FROM audit_log WHERE seq > $1 ORDER BY seq LIMIT 1000",
        )
        .bind(after)
        .fetch_all(db.read())
        .await?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            let r = record(&row)?;
            if r.seq != expected_seq {
                return Ok(Verdict::Broken {
                    seq: expected_seq,
                    reason: format!("entry {expected_seq} is missing"),
                });
            }
            if r.prev_hash != expected_prev {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "does not point to the hash of the entry before it".into(),
                });
            }
            if entry_hash(&r) != r.hash {
                return Ok(Verdict::Broken {
                    seq: r.seq,
                    reason: "its content does not match its hash (edited)".into(),
                });
            }
            expected_prev = r.hash;
            expected_seq += 1;
            last_seq = r.seq;
            after = r.seq;
        }
    }
    let head = sqlx::query("SELECT seq, hash FROM audit_head WHERE id = 1")
        .fetch_optional(db.read())
        .await?;
    match head {
        None if last_seq == 0 => {}
        None => {
            return Ok(Verdict::Broken {
                seq: last_seq,
                reason: "the chain head record is missing".into(),
            });
        }
        Some(row) => {
            let seq: i64 = row.try_get(0)?;
            let hash: String = row.try_get(1)?;
            if seq > last_seq {
                return Ok(Verdict::Broken {
                    seq: last_seq + 1,
                    reason: format!(
                        "the head says the chain ends at entry {seq}, but it ends at {last_seq} (entries deleted from the end)"
                    ),
                });
            }
            if seq < last_seq {
                return Ok(Verdict::Broken {
                    seq: seq + 1,
                    reason: format!(
                        "the head says the chain ends at entry {seq}, but entries up to {last_seq} follow it (the head was rewritten)"
                    ),
                });
            }
            if hash != expected_prev {
                return Ok(Verdict::Broken {
                    seq: last_seq,
                    reason: "the head's hash does not match this entry (the entry or the head was rewritten)".into(),
                });
            }
        }
    }
    Ok(Verdict::Intact {
        entries: last_seq,
        head: expected_prev,
    })
}

/// The newest entries of one organizer (or the platform's when `None`).
pub async fn recent(db: &Db, org: Option<OrgId>, limit: i64) -> Result<Vec<Record>> {
    let rows = match org {
        Some(org) => {
            sqlx::query(
                "SELECT seq, at, org_id, actor_id, action, subject, data, prev_hash, hash
                 FROM audit_log WHERE org_id = $1 ORDER BY seq DESC LIMIT $2",
            )
            .bind(org.0)
            .bind(limit)
            .fetch_all(db.read())
            .await?
        }
        None => {
            sqlx::query(
                "SELECT seq, at, org_id, actor_id, action, subject, data, prev_hash, hash
                 FROM audit_log ORDER BY seq DESC LIMIT $1",
            )
            .bind(limit)
            .fetch_all(db.read())
            .await?
        }
    };
    rows.iter().map(record).collect()
}

fn record(row: &sqlx::any::AnyRow) -> Result<Record> {
    Ok(Record {
        seq: row.try_get(0)?,
        at: Timestamp(row.try_get(1)?),
        org_id: row.try_get(2)?,
        actor_id: row.try_get(3)?,
        action: row.try_get(4)?,
        subject: row.try_get(5)?,
        data: row.try_get(6)?,
        prev_hash: row.try_get(7)?,
        hash: row.try_get(8)?,
    })
}

impl From<Verdict> for Result<i64> {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Intact { entries, .. } => Ok(entries),
            Verdict::Broken { seq, reason } => Err(Error::Internal(format!(
                "audit chain broken at entry {seq}: {reason}"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Record {
        Record {
            seq: 1,
            at: Timestamp(10),
            org_id: Some(1),
            actor_id: Some(2),
            action: "a".into(),
            subject: "s".into(),
            data: "{}".into(),
            prev_hash: GENESIS.into(),
            hash: String::new(),
        }
    }

    #[test]
    fn hash_changes_with_every_field() {
        let base = entry_hash(&sample());
        let edits: [fn(&mut Record); 8] = [
            |r| r.seq = 2,
            |r| r.at = Timestamp(11),
            |r| r.org_id = None,
            |r| r.actor_id = None,
            |r| r.action = "b".into(),
            |r| r.subject = "t".into(),
            |r| r.data = "{ }".into(),
            |r| r.prev_hash = "1".repeat(64),
        ];
        for edit in edits {
            let mut r = sample();
            edit(&mut r);
            assert_ne!(base, entry_hash(&r));
        }
    }

    #[test]
    fn field_boundaries_cannot_be_shifted() {
        let mut a = sample();
        a.action = "ab".into();
        a.subject = "c".into();
        let mut b = sample();
        b.action = "a".into();
        b.subject = "bc".into();
        assert_ne!(entry_hash(&a), entry_hash(&b));
    }
}
