//! Signing in and out. A session is a random token in a cookie; the database
//! keeps only its hash, so sessions survive restarts and work on every node.
//! Failed logins are counted per email and per address to slow down guessing.

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::ids::UserId;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::token::{random_token, token_hash};
use tabys_store::{Db, Tx};

use crate::users::{self, User};

/// A session lasts this long after the last request.
pub const IDLE_DAYS: i64 = 14;
/// Failed logins for one email within the window before it is locked for the window.
pub const MAX_FAILS_PER_EMAIL: i64 = 5;
/// Failed logins from one address within the window.
pub const MAX_FAILS_PER_IP: i64 = 30;
pub const WINDOW_SECONDS: i64 = 15 * 60;
/// `last_seen_at` is written at most this often, to keep reads cheap.
const TOUCH_SECONDS: i64 = 60;

/// Where a request came from, recorded with the session.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    pub ip: String,
    pub user_agent: String,
}

#[derive(Debug, Clone)]
pub struct Session {
    /// The hash of the cookie's token: what the database knows the session by.
    pub id: String,
    pub user_id: UserId,
    pub expires_at: Timestamp,
}

/// Checks the password and opens a session; returns the person and the
/// token for the cookie. Too many failures answer `RateLimited` without
/// looking at the password.
pub async fn login(
    db: &Db,
    email: &Email,
    password: &str,
    origin: &Origin,
) -> Result<(User, String)> {
    let now = db.now();
    let since = now.plus_seconds(-WINDOW_SECONDS).0;
    let fails = |column: &'static str, value: String| {
        let db = db.clone();
        async move {
            let row = sqlx::query(&format!(
                "SELECT COUNT(*) FROM login_attempts WHERE {column} = $1 AND at > $2 AND ok = 0"
            ))
            .bind(value)
            .bind(since)
            .fetch_one(db.read())
            .await?;
            Ok::<i64, Error>(row.try_get(0)?)
        }
    };
    if fails("email", email.as_str().to_string()).await? >= MAX_FAILS_PER_EMAIL
        || fails("ip", origin.ip.clone()).await? >= MAX_FAILS_PER_IP
    {
        return Err(Error::RateLimited);
    }
    let found = users::check_credentials(db, email, password).await?;
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO login_attempts (email, ip, at, ok) VALUES ($1, $2, $3, $4)")
        .bind(email.as_str())
        .bind(&origin.ip)
        .bind(now.0)
        .bind(i64::from(found.is_some()))
        .execute(&mut *tx)
        .await?;
    let Some(user) = found else {
        tx.commit().await?;
        return Err(Error::invalid("password", "login-failed"));
    };
    if !user.is_active() {
        tx.commit().await?;
        return Err(Error::Conflict("account-suspended"));
    }
    let token = open(&mut tx, db, user.id, origin).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// Opens a session for a person inside the caller's transaction (after sign-up).
pub async fn open(tx: &mut Tx, db: &Db, user: UserId, origin: &Origin) -> Result<String> {
    let token = random_token();
    let now = db.now();
    sqlx::query(
        "INSERT INTO sessions (id, user_id, created_at, expires_at, last_seen_at, ip, user_agent)
         VALUES ($1, $2, $3, $4, $3, $5, $6)",
    )
    .bind(token_hash(&token))
    .bind(user.0)
    .bind(now.0)
    .bind(now.plus_days(IDLE_DAYS).0)
    .bind(&origin.ip)
    .bind(truncate(&origin.user_agent, 400))
    .execute(&mut **tx)
    .await?;
    Ok(token)
}

/// The session and person behind a cookie's token. An unknown token is
/// `Unauthorized`; an expired one is `Conflict("session-expired")` so the
/// page can say why the person must sign in again.
pub async fn resolve(db: &Db, token: &str) -> Result<(Session, User)> {
    let id = token_hash(token);
    // The person comes with the session: every signed-in page asks this.
    let row = sqlx::query(&format!(
        "SELECT s.expires_at, s.last_seen_at, {} FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1",
        users::JOINED_COLUMNS
    ))
    .bind(&id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::Unauthorized)?;
    let expires_at = Timestamp(row.try_get(0)?);
    let last_seen = Timestamp(row.try_get(1)?);
    let now = db.now();
    if expires_at <= now {
        return Err(Error::Conflict("session-expired"));
    }
    let user = users::from_row_at(&row, 2)?;
    let user_id = user.id;
    if !user.is_active() {
        return Err(Error::Unauthorized);
    }
    let mut session = Session {
        id,
        user_id,
        expires_at,
    };
    if now.0 - last_seen.0 > TOUCH_SECONDS * 1000 {
        session.expires_at = now.plus_days(IDLE_DAYS);
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE sessions SET last_seen_at = $1, expires_at = $2 WHERE id = $3")
            .bind(now.0)
            .bind(session.expires_at.0)
            .bind(&session.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
    }
    Ok((session, user))
}

/// Signs out one session.
pub async fn close(db: &Db, session_id: &str) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM sessions WHERE id = $1")
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Ends every session of a person, except `keep` (a session id) if given.
pub async fn end_all(tx: &mut Tx, user: UserId, keep: Option<&str>) -> Result<u64> {
    let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND id <> $2")
        .bind(user.0)
        .bind(keep.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected())
}

/// How many sessions a person has open.
pub async fn count(db: &Db, user: UserId) -> Result<i64> {
    let row = sqlx::query("SELECT COUNT(*) FROM sessions WHERE user_id = $1 AND expires_at > $2")
        .bind(user.0)
        .bind(db.now().0)
        .fetch_one(db.read())
        .await?;
    Ok(row.try_get(0)?)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}
