//! A person's rights over their personal data (PL-5): to get a copy of
//! everything Tabys holds on them, to correct it, and to have it erased.
//!
//! Erasure waits for the longest retention period among the parties the
//! person has a contract with — the platform and every organizer whose
//! offer they accepted (CP: five years after the relationship ends) — and
//! happens at once when they accepted nothing. Meanwhile the account is
//! closed: sessions end and signing in is refused. When the time comes a
//! job erases what is not evidence — name, email (replaced by a
//! tombstone), password, sessions, notifications, memberships, login
//! attempts — and keeps what must be kept for money and legal evidence:
//! acceptances, objections, consent events, the access log and the audit
//! chain, which refer to the person only by id from then on.

use std::future::Future;
use std::pin::Pin;

use sqlx::Row;
use tabys_accounts::sessions;
use tabys_accounts::users;
use tabys_core::ids::UserId;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::jobs::{self, Handler, Job, NewJob, Registry};
use tabys_store::{Conn, Db};

use crate::consent;
use crate::offer::Publisher;

/// The job that erases a person when their deletion request falls due.
pub const ERASE_JOB: &str = "privacy.erase";

/// Registers this module's job handlers with a worker.
pub fn register(registry: &mut Registry) {
    registry.register(ERASE_JOB, EraseJob);
}

/// Corrects the person's name (rectification). The audit entry says that
/// the name changed, not what it was: the chain is kept forever and must
/// not keep a name the person had erased.
pub async fn rename(db: &Db, user: UserId, raw: &str) -> Result<()> {
    let name = users::parse_name(raw, "name")?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE users SET name = $1, updated_at = $2 WHERE id = $3 AND status = 'active'",
    )
    .bind(&name)
    .bind(now.0)
    .bind(user.0)
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
            org_id: None,
            actor_id: Some(user),
            action: "user.renamed",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "fields": ["name"] }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Int,
    OptInt,
    Text,
}

/// Rows of one query as JSON objects, columns named and typed by `cols`.
async fn rows(
    conn: &mut Conn,
    sql: &str,
    bind: Vec<BindValue>,
    cols: &[(&str, Col)],
) -> Result<serde_json::Value> {
    let mut q = sqlx::query(sql);
    for b in bind {
        q = match b {
            BindValue::Int(i) => q.bind(i),
            BindValue::Text(t) => q.bind(t),
        };
    }
    let found = q.fetch_all(&mut *conn).await?;
    let mut out = Vec::with_capacity(found.len());
    for r in &found {
        let mut obj = serde_json::Map::new();
        for (i, (name, col)) in cols.iter().enumerate() {
            let v = match col {
                Col::Int => serde_json::Value::from(r.try_get::<i64, _>(i)?),
                Col::OptInt => r
                    .try_get::<Option<i64>, _>(i)?
                    .map_or(serde_json::Value::Null, serde_json::Value::from),
                Col::Text => serde_json::Value::from(r.try_get::<String, _>(i)?),
            };
            obj.insert((*name).to_string(), v);
        }
        out.push(serde_json::Value::Object(obj));
    }
    Ok(serde_json::Value::Array(out))
}

enum BindValue {
    Int(i64),
    Text(String),
}

/// One table of the export: its name, the query, its parameters and its columns.
type Table = (
    &'static str,
    String,
    Vec<BindValue>,
    Vec<(&'static str, Col)>,
);

/// Everything Tabys holds about the person, table by table, as one JSON
/// document (the right of access). Secrets are left out: the password hash
/// and the hashes of session and API tokens. The export itself is audited.
pub async fn export(db: &Db, user: UserId) -> Result<serde_json::Value> {
    use Col::*;
    let person = users::get(db, user).await?;
    let id = || vec![BindValue::Int(user.0)];
    let mut conn = db.read().acquire().await?;
    let c = &mut conn;
    let mut doc = serde_json::Map::new();
    doc.insert("format".into(), "tabys-personal-data/1".into());
    doc.insert("exported_at".into(), db.now().rfc3339().into());
    let tables: Vec<Table> = vec![
        (
            "users",
            "SELECT id, email, name, locale, is_operator, status, adult_confirmed_at, created_at, updated_at FROM users WHERE id = $1".into(),
            id(),
            vec![("id", Int), ("email", Text), ("name", Text), ("locale", Text), ("is_operator", Int), ("status", Text), ("adult_confirmed_at", OptInt), ("created_at", Int), ("updated_at", Int)],
        ),
        (
            "sessions",
            "SELECT created_at, expires_at, last_seen_at, ip, user_agent FROM sessions WHERE user_id = $1 ORDER BY created_at".into(),
            id(),
            vec![("created_at", Int), ("expires_at", Int), ("last_seen_at", Int), ("ip", Text), ("user_agent", Text)],
        ),
        (
            "login_attempts",
            "SELECT email, ip, at, ok FROM login_attempts WHERE email = $1 ORDER BY id".into(),
            vec![BindValue::Text(person.email.clone())],
            vec![("email", Text), ("ip", Text), ("at", Int), ("ok", Int)],
        ),
        (
            "memberships",
            "SELECT org_id, role, created_at FROM memberships WHERE user_id = $1 ORDER BY org_id".into(),
            id(),
            vec![("org_id", Int), ("role", Text), ("created_at", Int)],
        ),
        (
            "api_tokens",
            "SELECT id, org_id, name, prefix, created_at, last_used_at, revoked_at FROM api_tokens WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("org_id", Int), ("name", Text), ("prefix", Text), ("created_at", Int), ("last_used_at", OptInt), ("revoked_at", OptInt)],
        ),
        (
            "offer_acceptances",
            "SELECT id, org_id, offer_id, version_id, version_hash, method, reference, accepted_at, ip, user_agent, locale, wording
             FROM offer_acceptances WHERE user_id = $1 ORDER BY id"
                .into(),
            id(),
            vec![
                ("id", Int), ("org_id", OptInt), ("offer_id", Int), ("version_id", Int), ("version_hash", Text), ("method", Text),
                ("reference", Text), ("accepted_at", Int), ("ip", Text), ("user_agent", Text), ("locale", Text), ("wording", Text),
            ],
        ),
        (
            "offer_objections",
            "SELECT id, org_id, offer_id, version_id, text, created_at, ip, user_agent FROM offer_objections WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("org_id", OptInt), ("offer_id", Int), ("version_id", Int), ("text", Text), ("created_at", Int), ("ip", Text), ("user_agent", Text)],
        ),
        (
            "consent_events",
            "SELECT id, org_id, kind, granted, purposes, locale, ip, user_agent, at FROM consent_events WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("org_id", OptInt), ("kind", Text), ("granted", Int), ("purposes", Text), ("locale", Text), ("ip", Text), ("user_agent", Text), ("at", Int)],
        ),
        (
            "deletion_requests",
            "SELECT id, requested_at, due_at, status, done_at FROM deletion_requests WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("requested_at", Int), ("due_at", Int), ("status", Text), ("done_at", OptInt)],
        ),
        (
            "notifications",
            "SELECT id, org_id, kind, locale_key, args, created_at, read_at FROM notifications WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("org_id", OptInt), ("kind", Text), ("locale_key", Text), ("args", Text), ("created_at", Int), ("read_at", OptInt)],
        ),
        (
            "personal_data_access",
            "SELECT id, org_id, actor_id, what, at FROM personal_data_access WHERE subject_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("org_id", Int), ("actor_id", Int), ("what", Text), ("at", Int)],
        ),
        (
            "operator_alerts",
            "SELECT id, kind, detail, created_at, resolved_at FROM operator_alerts WHERE user_id = $1 ORDER BY id".into(),
            id(),
            vec![("id", Int), ("kind", Text), ("detail", Text), ("created_at", Int), ("resolved_at", OptInt)],
        ),
        (
            "audit_log",
            "SELECT seq, at, org_id, actor_id, action, subject, data, hash FROM audit_log WHERE actor_id = $1 OR subject = $2 ORDER BY seq".into(),
            vec![BindValue::Int(user.0), BindValue::Text(format!("user:{user}"))],
            vec![("seq", Int), ("at", Int), ("org_id", OptInt), ("actor_id", OptInt), ("action", Text), ("subject", Text), ("data", Text), ("hash", Text)],
        ),
    ];
    let mut data = serde_json::Map::new();
    for (name, sql, bind, cols) in tables {
        data.insert(name.to_string(), rows(c, &sql, bind, &cols).await?);
    }
    drop(conn);
    doc.insert("tables".into(), serde_json::Value::Object(data));
    let mut tx = db.begin().await?;
    audit::append(
        &mut tx,
        db.dialect(),
        db.now(),
        Entry {
            org_id: None,
            actor_id: Some(user),
            action: "privacy.exported",
            subject: format!("user:{user}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(serde_json::Value::Object(doc))
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct DeletionRequest {
    pub id: i64,
    pub user_id: UserId,
    pub requested_at: Timestamp,
    pub due_at: Timestamp,
    /// `pending` until the erasure job ran, then `done`.
    pub status: String,
}

fn request_from_row(r: &sqlx::any::AnyRow) -> Result<DeletionRequest> {
    Ok(DeletionRequest {
        id: r.try_get(0)?,
        user_id: UserId(r.try_get(1)?),
        requested_at: Timestamp(r.try_get(2)?),
        due_at: Timestamp(r.try_get(3)?),
        status: r.try_get(4)?,
    })
}

/// How long the person's data must be kept: the longest retention among
/// the platform and the organizers whose offers they accepted; zero when
/// they accepted nothing.
pub async fn retention_days(db: &Db, user: UserId) -> Result<i64> {
    let mut conn = db.read().acquire().await?;
    let rows = sqlx::query(
        "SELECT DISTINCT COALESCE(org_id, 0) FROM offer_acceptances WHERE user_id = $1",
    )
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut days = 0;
    for r in rows {
        let key: i64 = r.try_get(0)?;
        let publisher = if key == 0 {
            Publisher::Platform
        } else {
            Publisher::Org(tabys_core::ids::OrgId(key))
        };
        days = days.max(
            consent::settings_in(&mut conn, publisher)
                .await?
                .retention_days,
        );
    }
    Ok(days)
}

/// The person asks to be erased. The account closes at once (sessions
/// end, sign-in is refused); the erasure runs as a job when the retention
/// period ends. An organizer's owner must hand the organizer over first.
pub async fn request_deletion(db: &Db, user: UserId) -> Result<DeletionRequest> {
    let owns =
        sqlx::query("SELECT org_id FROM memberships WHERE user_id = $1 AND role = 'owner' LIMIT 1")
            .bind(user.0)
            .fetch_optional(db.read())
            .await?;
    if owns.is_some() {
        return Err(Error::Conflict("deletion-owner"));
    }
    let days = retention_days(db, user).await?;
    let now = db.now();
    let due = now.plus_days(days);
    let mut tx = db.begin().await?;
    let pending =
        sqlx::query("SELECT id FROM deletion_requests WHERE user_id = $1 AND status = 'pending'")
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await?;
    if pending.is_some() {
        return Err(Error::Conflict("deletion-pending"));
    }
    let row = sqlx::query(
        "INSERT INTO deletion_requests (user_id, requested_at, due_at, status) VALUES ($1, $2, $3, 'pending')
         RETURNING id, user_id, requested_at, due_at, status",
    )
    .bind(user.0)
    .bind(now.0)
    .bind(due.0)
    .fetch_one(&mut *tx)
    .await?;
    let request = request_from_row(&row)?;
    sqlx::query("UPDATE users SET status = 'closed', updated_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    sessions::end_all(&mut tx, user, None).await?;
    jobs::enqueue(
        &mut tx,
        now,
        NewJob::new(ERASE_JOB, serde_json::json!({ "request_id": request.id }))
            .dedupe(format!("{ERASE_JOB}:{}", request.id))
            .at(due),
    )
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(user),
            action: "privacy.deletion_requested",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "request_id": request.id, "retention_days": days, "due_at": due.0 }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(request)
}

/// The person's newest deletion request, if any.
pub async fn deletion_request(db: &Db, user: UserId) -> Result<Option<DeletionRequest>> {
    let row = sqlx::query(
        "SELECT id, user_id, requested_at, due_at, status FROM deletion_requests WHERE user_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(user.0)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(request_from_row).transpose()
}

/// The email address that replaces an erased person's.
pub fn tombstone(user: UserId) -> String {
    format!("erased-{user}@erased.invalid")
}

/// Erases the person of a due deletion request; running it twice changes nothing.
pub async fn erase(db: &Db, request_id: i64) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT id, user_id, requested_at, due_at, status FROM deletion_requests WHERE id = $1{}",
        db.dialect().for_update()
    ))
    .bind(request_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let request = request_from_row(&row)?;
    if request.status != "pending" {
        return Ok(());
    }
    if request.due_at > now {
        return Err(Error::Internal(format!(
            "deletion request {request_id} is not due until {}",
            request.due_at.rfc3339()
        )));
    }
    let user = request.user_id;
    let email_row = sqlx::query("SELECT email FROM users WHERE id = $1")
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await?;
    let email: String = email_row.try_get(0)?;
    sqlx::query("DELETE FROM login_attempts WHERE email = $1")
        .bind(&email)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE users SET email = $1, name = '', password_hash = '!', status = 'erased', updated_at = $2 WHERE id = $3",
    )
    .bind(tombstone(user))
    .bind(now.0)
    .bind(user.0)
    .execute(&mut *tx)
    .await?;
    sessions::end_all(&mut tx, user, None).await?;
    tabys_notify::erase_for(&mut tx, user).await?;
    sqlx::query("DELETE FROM memberships WHERE user_id = $1 AND role <> 'owner'")
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE user_id = $2 AND revoked_at IS NULL")
        .bind(now.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE deletion_requests SET status = 'done', done_at = $1 WHERE id = $2")
        .bind(now.0)
        .bind(request_id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: None,
            action: "privacy.erased",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "request_id": request_id, "kept": ["offer_acceptances", "offer_objections", "consent_events", "personal_data_access", "audit_log"] }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Runs [`erase`] for the request named in the job.
pub struct EraseJob;

impl Handler for EraseJob {
    fn run<'a>(
        &'a self,
        db: &'a Db,
        job: &'a Job,
    ) -> Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>> {
        Box::pin(async move {
            let id = job
                .payload
                .get("request_id")
                .and_then(serde_json::Value::as_i64)
                .ok_or_else(|| Error::Internal(format!("job {} has no request_id", job.id)))?;
            erase(db, id).await
        })
    }
}
