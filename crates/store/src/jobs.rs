//! The job queue, which is also the outbox. A capability enqueues a job
//! inside the transaction of its business change, so the job exists if and
//! only if the change was committed. The worker claims due jobs with a lease:
//! a worker that dies mid-job leaves a lease that runs out, and another
//! worker takes the job again. Handlers therefore must be idempotent (a
//! delivery records what it sent before it reports success).
//!
//! The worker runs inside `tabys serve` and alone as `tabys worker`; any
//! number of workers may run against PostgreSQL at once.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Error, Result, Timestamp};

use crate::{Db, Tx};

/// How long a claimed job is reserved for its worker.
const LEASE_SECONDS: i64 = 300;

/// A job to enqueue.
#[derive(Debug, Clone)]
pub struct NewJob {
    /// Which handler runs it, e.g. `notify.email`.
    pub kind: &'static str,
    pub payload: serde_json::Value,
    pub org_id: Option<OrgId>,
    /// A second job with the same key is not enqueued.
    pub dedupe_key: Option<String>,
    pub run_at: Option<Timestamp>,
    pub max_attempts: i64,
}

impl NewJob {
    pub fn new(kind: &'static str, payload: serde_json::Value) -> Self {
        Self {
            kind,
            payload,
            org_id: None,
            dedupe_key: None,
            run_at: None,
            max_attempts: 8,
        }
    }

    pub fn org(mut self, org: OrgId) -> Self {
        self.org_id = Some(org);
        self
    }

    pub fn dedupe(mut self, key: impl Into<String>) -> Self {
        self.dedupe_key = Some(key.into());
        self
    }

    pub fn at(mut self, t: Timestamp) -> Self {
        self.run_at = Some(t);
        self
    }
}

/// A claimed job, as a handler sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    pub payload: serde_json::Value,
    pub org_id: Option<OrgId>,
    /// 1 on the first run.
    pub attempt: i64,
}

/// Enqueues inside the caller's transaction. Returns `None` when a job with
/// the same dedupe key already exists. When another open transaction is
/// enqueueing the same key, this waits for it rather than failing (which on
/// PostgreSQL would abort the caller's whole transaction).
pub async fn enqueue(tx: &mut Tx, now: Timestamp, job: NewJob) -> Result<Option<i64>> {
    let row = sqlx::query(
        "INSERT INTO jobs (kind, payload, org_id, dedupe_key, status, run_at, attempts, max_attempts, created_at)
         VALUES ($1, $2, $3, $4, 'queued', $5, 0, $6, $7)
         ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(job.kind)
    .bind(job.payload.to_string())
    .bind(job.org_id.map(|o| o.0))
    .bind(job.dedupe_key)
    .bind(job.run_at.unwrap_or(now).0)
    .bind(job.max_attempts)
    .bind(now.0)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(row) => Ok(Some(row.try_get(0)?)),
        // The key was taken.
        None => Ok(None),
    }
}

type HandlerFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// Runs one kind of job. Return `Err` to retry later with backoff.
pub trait Handler: Send + Sync + 'static {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> HandlerFuture<'a>;
}

impl<F> Handler for F
where
    F: for<'a> Fn(&'a Db, &'a Job) -> HandlerFuture<'a> + Send + Sync + 'static,
{
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> HandlerFuture<'a> {
        self(db, job)
    }
}

/// The handlers a worker knows, by job kind.
#[derive(Default, Clone)]
pub struct Registry {
    handlers: HashMap<&'static str, Arc<dyn Handler>>,
}

impl Registry {
    pub fn register(&mut self, kind: &'static str, handler: impl Handler) {
        self.handlers.insert(kind, Arc::new(handler));
    }
}

/// How long to wait before attempt `n + 1` after `n` failures: 10 s doubling, at most 6 h.
pub fn backoff_seconds(failures: i64) -> i64 {
    let exp = failures.clamp(0, 12) as u32;
    (10i64 << exp).min(6 * 3600)
}

/// What one pass of the worker did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub done: usize,
    pub retried: usize,
    pub failed: usize,
}

/// Claims and runs due jobs until none is due or `limit` ran.
pub async fn run_due(db: &Db, registry: &Registry, limit: usize) -> Result<Pass> {
    let mut pass = Pass::default();
    for _ in 0..limit {
        let Some(job) = claim(db).await? else { break };
        let outcome = match registry.handlers.get(job.kind.as_str()) {
            Some(handler) => handler.run(db, &job).await,
            None => Err(Error::Internal(format!(
                "no handler for job kind {}",
                job.kind
            ))),
        };
        match outcome {
            Ok(()) => {
                finish(db, job.id).await?;
                pass.done += 1;
            }
            Err(e) => {
                tracing::warn!(job = job.id, kind = %job.kind, attempt = job.attempt, error = %e, "job failed");
                if fail(db, &job, &e.to_string()).await? {
                    pass.retried += 1;
                } else {
                    pass.failed += 1;
                }
            }
        }
    }
    Ok(pass)
}

/// Polls for due jobs until `stop` fires.
pub async fn work(db: Db, registry: Registry, mut stop: tokio::sync::watch::Receiver<bool>) {
    loop {
        match run_due(&db, &registry, 100).await {
            Ok(pass) if pass.done + pass.retried + pass.failed > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "job worker pass failed"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = stop.changed() => return,
        }
        if *stop.borrow() {
            return;
        }
    }
}

async fn claim(db: &Db) -> Result<Option<Job>> {
    let now = db.now();
    let sql = format!(
        "UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_until = $1
         WHERE id = (SELECT id FROM jobs
                     WHERE (status = 'queued' AND run_at <= $2)
                        OR (status = 'running' AND locked_until < $2)
                     ORDER BY run_at, id LIMIT 1{})
         RETURNING id, kind, payload, org_id, attempts",
        db.dialect().skip_locked()
    );
    let mut tx = db.begin().await?;
    let row = sqlx::query(&sql)
        .bind(now.plus_seconds(LEASE_SECONDS).0)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
    tx.commit().await?;
    let Some(row) = row else { return Ok(None) };
    let payload: String = row.try_get(2)?;
    Ok(Some(Job {
        id: row.try_get(0)?,
        kind: row.try_get(1)?,
        payload: serde_json::from_str(&payload).map_err(Error::internal)?,
        org_id: row.try_get::<Option<i64>, _>(3)?.map(OrgId),
        attempt: row.try_get(4)?,
    }))
}

async fn finish(db: &Db, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE jobs SET status = 'done', locked_until = NULL, finished_at = $1 WHERE id = $2",
    )
    .bind(db.now().0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Records a failure; returns whether the job will be tried again.
async fn fail(db: &Db, job: &Job, error: &str) -> Result<bool> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT max_attempts FROM jobs WHERE id = $1")
        .bind(job.id)
        .fetch_one(&mut *tx)
        .await?;
    let max: i64 = row.try_get(0)?;
    let retry = job.attempt < max;
    if retry {
        sqlx::query(
            "UPDATE jobs SET status = 'queued', locked_until = NULL, last_error = $1, run_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now.plus_seconds(backoff_seconds(job.attempt - 1)).0)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
    } else {
        sqlx::query(
            "UPDATE jobs SET status = 'failed', locked_until = NULL, last_error = $1, finished_at = $2 WHERE id = $3",
        )
        .bind(error)
        .bind(now.0)
        .bind(job.id)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(retry)
}

/// A job as the operator sees it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct JobStatus {
    pub id: i64,
    pub kind: String,
    pub status: String,
    pub attempts: i64,
    pub last_error: Option<String>,
}

/// Jobs that gave up, newest first: what the operator must look at.
pub async fn failed(db: &Db, limit: i64) -> Result<Vec<JobStatus>> {
    let rows = sqlx::query(
        "SELECT id, kind, status, attempts, last_error FROM jobs WHERE status = 'failed' ORDER BY id DESC LIMIT $1",
    )
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(JobStatus {
                id: r.try_get(0)?,
                kind: r.try_get(1)?,
                status: r.try_get(2)?,
                attempts: r.try_get(3)?,
                last_error: r.try_get(4)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_ten_seconds_and_is_capped_at_six_hours() {
        assert_eq!(backoff_seconds(0), 10);
        assert_eq!(backoff_seconds(1), 20);
        assert_eq!(backoff_seconds(3), 80);
        assert_eq!(backoff_seconds(30), 6 * 3600);
    }
}
