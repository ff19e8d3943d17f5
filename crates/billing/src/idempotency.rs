//! Idempotency of requests that move money. A request carries a key (a
//! form's hidden token, the API's `Idempotency-Key` header, a provider's
//! transaction id); the first request with a key does its work and stores
//! its answer under the key in the same transaction; a repeat with the same
//! data gets the stored answer, a repeat with other data is a conflict.
//!
//! The key row is claimed before the work, so two identical requests racing
//! each other are serialized by the database: the second waits for the
//! first to commit and then reads its answer.

use serde::Serialize;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Tx;

/// What a claim found.
pub enum Claim<T> {
    /// First time: do the work, then call [`finish`] in the same transaction.
    New(Pending),
    /// Done before with the same data: here is the answer.
    Replay(T),
}

/// A claimed key waiting for its answer.
pub struct Pending {
    scope: String,
    key: String,
}

/// A key is 1 to 200 visible ASCII characters.
pub fn check_key(key: &str) -> Result<()> {
    let ok = !key.is_empty() && key.len() <= 200 && key.bytes().all(|b| b.is_ascii_graphic());
    if ok {
        Ok(())
    } else {
        Err(Error::invalid("idempotency_key", "idempotency-key-format"))
    }
}

fn hash(request: &impl Serialize) -> Result<String> {
    let bytes = serde_json::to_vec(request).map_err(Error::internal)?;
    Ok(hex::encode(Sha256::digest(bytes)))
}

/// Claims `key` in `scope` (who is asking: `user:12`, `org:3`) for this
/// request inside the caller's transaction.
pub async fn claim<T: DeserializeOwned>(
    tx: &mut Tx,
    now: Timestamp,
    scope: &str,
    key: &str,
    request: &impl Serialize,
) -> Result<Claim<T>> {
    check_key(key)?;
    let hash = hash(request)?;
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (scope, idem_key, request_hash, response, created_at) VALUES ($1, $2, $3, '', $4)
         ON CONFLICT (scope, idem_key) DO NOTHING",
    )
    .bind(scope)
    .bind(key)
    .bind(&hash)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    if inserted.rows_affected() == 1 {
        return Ok(Claim::New(Pending {
            scope: scope.to_string(),
            key: key.to_string(),
        }));
    }
    let row = sqlx::query(
        "SELECT request_hash, response FROM idempotency_keys WHERE scope = $1 AND idem_key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_one(&mut **tx)
    .await?;
    let stored: String = row.try_get(0)?;
    if stored != hash {
        return Err(Error::Conflict("idempotency-conflict"));
    }
    let response: String = row.try_get(1)?;
    serde_json::from_str(&response)
        .map(Claim::Replay)
        .map_err(Error::internal)
}

/// Stores the answer of a claimed key, in the same transaction as the work.
pub async fn finish(tx: &mut Tx, pending: Pending, response: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(response).map_err(Error::internal)?;
    sqlx::query("UPDATE idempotency_keys SET response = $1 WHERE scope = $2 AND idem_key = $3")
        .bind(text)
        .bind(&pending.scope)
        .bind(&pending.key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_short_visible_ascii() {
        assert!(check_key("a-1_B.2").is_ok());
        assert!(check_key("").is_err());
        assert!(check_key("with space").is_err());
        assert!(check_key(&"x".repeat(201)).is_err());
        assert!(check_key("ключ").is_err());
    }
}
