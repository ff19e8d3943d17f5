//! The job queue, which is also the outbox: a job exists only if the
//! transaction that enqueued it committed, runs once per dedupe key, is
//! retried with backoff (10 s doubling) until it gives up, is taken again
//! when the worker that claimed it dies, and is never run twice by workers
//! running at the same time.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use anyhow::{Context, ensure};
use tabys_core::{Error, Timestamp};
use tabys_store::jobs::{self, Handler, Job, NewJob, Pass, Registry};
use tabys_store::{Db, Dialect, Row};
use tabys_testkit::db_only_test;

type Run<'a> = Pin<Box<dyn Future<Output = tabys_core::Result<()>> + Send + 'a>>;

/// Counts its runs; fails while `fail` says so.
#[derive(Clone, Default)]
struct Counting {
    runs: Arc<AtomicUsize>,
    attempts: Arc<Mutex<Vec<i64>>>,
    fail: bool,
}

impl Handler for Counting {
    fn run<'a>(&'a self, _db: &'a Db, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            self.runs.fetch_add(1, Ordering::SeqCst);
            if let Ok(mut a) = self.attempts.lock() {
                a.push(job.attempt);
            }
            if self.fail {
                Err(Error::Internal("the provider is down".into()))
            } else {
                Ok(())
            }
        })
    }
}

/// Never returns: a worker that died mid-job. Says when it has started.
struct Hangs(Arc<tokio::sync::Notify>);

impl Handler for Hangs {
    fn run<'a>(&'a self, _db: &'a Db, _job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            self.0.notify_one();
            std::future::pending::<()>().await;
            Ok(())
        })
    }
}

/// Records which job ran how many times, yielding in between so that
/// concurrent workers interleave.
#[derive(Clone, Default)]
struct Tally(Arc<Mutex<HashMap<i64, usize>>>);

impl Handler for Tally {
    fn run<'a>(&'a self, _db: &'a Db, job: &'a Job) -> Run<'a> {
        Box::pin(async move {
            if let Ok(mut t) = self.0.lock() {
                *t.entry(job.id).or_default() += 1;
            }
            for _ in 0..3 {
                tokio::task::yield_now().await;
            }
            Ok(())
        })
    }
}

fn registry(kind: &'static str, handler: impl Handler) -> Registry {
    let mut r = Registry::default();
    r.register(kind, handler);
    r
}

async fn enqueue(db: &Db, job: NewJob) -> anyhow::Result<Option<i64>> {
    let mut tx = db.begin().await?;
    let id = jobs::enqueue(&mut tx, db.now(), job).await?;
    tx.commit().await?;
    Ok(id)
}

struct State {
    status: String,
    attempts: i64,
    run_at: Timestamp,
    locked_until: Option<i64>,
    last_error: Option<String>,
}

async fn state(db: &Db, id: i64) -> anyhow::Result<State> {
    let row = sqlx::query(
        "SELECT status, attempts, run_at, locked_until, last_error FROM jobs WHERE id = $1",
    )
    .bind(id)
    .fetch_one(db.read())
    .await?;
    Ok(State {
        status: row.try_get(0)?,
        attempts: row.try_get(1)?,
        run_at: Timestamp(row.try_get(2)?),
        locked_until: row.try_get(3)?,
        last_error: row.try_get(4)?,
    })
}

async fn job_count(db: &Db) -> anyhow::Result<i64> {
    Ok(sqlx::query("SELECT COUNT(*) FROM jobs")
        .fetch_one(db.read())
        .await?
        .try_get(0)?)
}

const NOTHING: Pass = Pass {
    done: 0,
    retried: 0,
    failed: 0,
};

db_only_test! {
    async fn a_job_enqueued_in_a_transaction_that_rolls_back_does_not_exist(t: TestDb) {
        let mut tx = t.db.begin().await?;
        let id = jobs::enqueue(&mut tx, t.db.now(), NewJob::new("notify.email", serde_json::json!({ "to": "a@example.kz" }))).await?;
        ensure!(id.is_some(), "enqueued inside the transaction");
        tx.rollback().await?;
        assert_eq!(job_count(&t.db).await?, 0);

        // Dropped without commit is the same.
        {
            let mut tx = t.db.begin().await?;
            jobs::enqueue(&mut tx, t.db.now(), NewJob::new("notify.email", serde_json::json!({}))).await?;
        }
        assert_eq!(job_count(&t.db).await?, 0);

        let handler = Counting::default();
        let pass = jobs::run_due(&t.db, &registry("notify.email", handler.clone()), 10).await?;
        assert_eq!(pass, NOTHING);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 0);

        // Committed, it exists and runs once.
        enqueue(&t.db, NewJob::new("notify.email", serde_json::json!({}))).await?.context("id")?;
        let pass = jobs::run_due(&t.db, &registry("notify.email", handler.clone()), 10).await?;
        assert_eq!(pass, Pass { done: 1, retried: 0, failed: 0 });
        assert_eq!(jobs::run_due(&t.db, &registry("notify.email", handler.clone()), 10).await?, NOTHING);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
        Ok(())
    }
}

db_only_test! {
    async fn a_second_job_with_the_same_dedupe_key_is_not_enqueued(t: TestDb) {
        let first = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({ "v": 1 })).dedupe("offer:7:v2")).await?;
        ensure!(first.is_some());
        let second = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({ "v": 2 })).dedupe("offer:7:v2")).await?;
        assert_eq!(second, None);
        // Not even after the first one is done: the key names the deed.
        jobs::run_due(&t.db, &registry("offer.notify", Counting::default()), 10).await?;
        let third = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({ "v": 3 })).dedupe("offer:7:v2")).await?;
        assert_eq!(third, None);
        let other = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({ "v": 1 })).dedupe("offer:7:v3")).await?;
        ensure!(other.is_some(), "another key is another job");
        let plain = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({}))).await?;
        let plain_again = enqueue(&t.db, NewJob::new("offer.notify", serde_json::json!({}))).await?;
        ensure!(plain.is_some() && plain_again.is_some(), "jobs without a key are never deduplicated");
        assert_eq!(job_count(&t.db).await?, 4);
        Ok(())
    }
}

db_only_test! {
    async fn the_same_dedupe_key_from_two_open_transactions_gives_one_job_and_no_error(t: TestDb) {
        let mut first = t.db.begin().await?;
        let id = jobs::enqueue(&mut first, t.db.now(), NewJob::new("offer.notify", serde_json::json!({})).dedupe("offer:9:v1")).await?;
        ensure!(id.is_some());
        // A second business transaction enqueues the same deed before the
        // first commits: it must wait, then find the job, not fail.
        let db = t.db.clone();
        let second = tokio::spawn(async move {
            let mut tx = db.begin().await?;
            let id = jobs::enqueue(&mut tx, db.now(), NewJob::new("offer.notify", serde_json::json!({})).dedupe("offer:9:v1")).await?;
            tx.commit().await?;
            Ok::<Option<i64>, Error>(id)
        });
        if t.db.dialect() == Dialect::Postgres {
            // Let the second one find no job yet and wait on the key's index.
            // (On SQLite it waits for the one write connection instead.)
            let mut waiting = false;
            for _ in 0..1000 {
                let row = sqlx::query(
                    "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO jobs%'",
                )
                .fetch_one(t.db.read())
                .await?;
                if row.try_get::<i64, _>(0)? > 0 {
                    waiting = true;
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
            ensure!(waiting, "the second transaction never reached the insert");
        }
        first.commit().await?;
        assert_eq!(second.await??, None);
        assert_eq!(job_count(&t.db).await?, 1);
        Ok(())
    }
}

db_only_test! {
    async fn a_job_is_not_run_before_its_time(t: TestDb) {
        let at = t.db.now().plus_seconds(3600);
        let id = enqueue(&t.db, NewJob::new("reminder", serde_json::json!({})).at(at)).await?.context("id")?;
        let handler = Counting::default();
        let reg = registry("reminder", handler.clone());
        t.clock.advance_seconds(3599);
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, NOTHING);
        t.clock.advance_seconds(1);
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?.done, 1);
        assert_eq!(state(&t.db, id).await?.status, "done");
        Ok(())
    }
}

db_only_test! {
    async fn a_failing_job_is_retried_after_10_20_40_seconds_then_gives_up_and_is_listed_as_failed(t: TestDb) {
        let mut job = NewJob::new("payment.sync", serde_json::json!({ "order": 42 }));
        job.max_attempts = 4;
        let id = enqueue(&t.db, job).await?.context("id")?;
        let handler = Counting { fail: true, ..Counting::default() };
        let reg = registry("payment.sync", handler.clone());

        let mut expected_runs = 0;
        for (failures, wait) in [(1, 10), (2, 20), (3, 40)] {
            let failed_at = t.db.now();
            assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, Pass { done: 0, retried: 1, failed: 0 }, "attempt {failures}");
            expected_runs += 1;
            let s = state(&t.db, id).await?;
            assert_eq!((s.status.as_str(), s.attempts), ("queued", failures));
            assert_eq!(s.run_at, failed_at.plus_seconds(wait), "the wait after {failures} failures");
            assert_eq!(wait, jobs::backoff_seconds(failures - 1));
            assert_eq!(s.locked_until, None);
            ensure!(s.last_error.as_deref().is_some_and(|e| e.contains("the provider is down")), "{:?}", s.last_error);
            // Not a moment early.
            t.clock.advance_seconds(wait - 1);
            assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, NOTHING, "retried early after {failures} failures");
            t.clock.advance_seconds(1);
        }
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, Pass { done: 0, retried: 0, failed: 1 });
        expected_runs += 1;
        let s = state(&t.db, id).await?;
        assert_eq!((s.status.as_str(), s.attempts), ("failed", 4));

        let failed = jobs::failed(&t.db, 10).await?;
        assert_eq!(failed.len(), 1);
        assert_eq!((failed[0].id, failed[0].kind.as_str(), failed[0].attempts), (id, "payment.sync", 4));
        ensure!(failed[0].last_error.as_deref().is_some_and(|e| e.contains("the provider is down")));

        // It stays given up.
        t.clock.advance_seconds(7 * 86_400);
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, NOTHING);
        assert_eq!(handler.runs.load(Ordering::SeqCst), expected_runs);
        assert_eq!(*handler.attempts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?, vec![1, 2, 3, 4]);
        Ok(())
    }
}

db_only_test! {
    async fn the_backoff_is_capped_at_six_hours(t: TestDb) {
        let mut job = NewJob::new("payment.sync", serde_json::json!({}));
        job.max_attempts = 20;
        let id = enqueue(&t.db, job).await?.context("id")?;
        let reg = registry("payment.sync", Counting { fail: true, ..Counting::default() });
        let mut waits = Vec::new();
        for _ in 0..14 {
            let before = t.db.now();
            assert_eq!(jobs::run_due(&t.db, &reg, 10).await?.retried, 1);
            let s = state(&t.db, id).await?;
            let wait = (s.run_at.0 - before.0) / 1000;
            waits.push(wait);
            t.clock.advance_seconds(wait);
        }
        assert_eq!(&waits[..4], &[10, 20, 40, 80]);
        assert_eq!(waits.iter().max().copied(), Some(6 * 3600));
        ensure!(waits.windows(2).all(|w| w[0] <= w[1]), "{waits:?}");
        Ok(())
    }
}

db_only_test! {
    async fn a_job_of_an_unknown_kind_fails_like_any_other(t: TestDb) {
        let mut job = NewJob::new("nobody.handles.this", serde_json::json!({}));
        job.max_attempts = 1;
        let id = enqueue(&t.db, job).await?.context("id")?;
        assert_eq!(jobs::run_due(&t.db, &Registry::default(), 10).await?, Pass { done: 0, retried: 0, failed: 1 });
        let s = state(&t.db, id).await?;
        assert_eq!(s.status, "failed");
        ensure!(s.last_error.as_deref().is_some_and(|e| e.contains("no handler")), "{:?}", s.last_error);
        Ok(())
    }
}

db_only_test! {
    async fn a_job_whose_worker_died_is_taken_again_after_its_lease_runs_out(t: TestDb) {
        let id = enqueue(&t.db, NewJob::new("render.pdf", serde_json::json!({}))).await?.context("id")?;
        let started = Arc::new(tokio::sync::Notify::new());
        let dying = registry("render.pdf", Hangs(started.clone()));
        // The worker claims the job and never finishes: it is dropped
        // while the handler runs, as when its process is killed.
        let claimed_at = t.db.now();
        tokio::select! {
            pass = jobs::run_due(&t.db, &dying, 1) => anyhow::bail!("the hanging handler returned: {pass:?}"),
            () = started.notified() => {}
        }
        let s = state(&t.db, id).await?;
        assert_eq!((s.status.as_str(), s.attempts), ("running", 1));
        assert_eq!(s.locked_until, Some(claimed_at.plus_seconds(300).0), "a five-minute lease");

        let handler = Counting::default();
        let healthy = registry("render.pdf", handler.clone());
        assert_eq!(jobs::run_due(&t.db, &healthy, 10).await?, NOTHING, "taken while the lease holds");
        t.clock.advance_seconds(300);
        assert_eq!(jobs::run_due(&t.db, &healthy, 10).await?, NOTHING, "taken at the very end of the lease");
        t.clock.advance_seconds(1);
        assert_eq!(jobs::run_due(&t.db, &healthy, 10).await?, Pass { done: 1, retried: 0, failed: 0 });
        assert_eq!(*handler.attempts.lock().map_err(|_| anyhow::anyhow!("poisoned"))?, vec![2], "the second attempt");
        let s = state(&t.db, id).await?;
        assert_eq!((s.status.as_str(), s.locked_until), ("done", None));
        Ok(())
    }
}

db_only_test! {
    async fn a_stuck_job_set_by_hand_is_taken_again_after_its_lease(t: TestDb) {
        let id = enqueue(&t.db, NewJob::new("render.pdf", serde_json::json!({}))).await?.context("id")?;
        let lease_end = t.db.now().plus_seconds(60).0;
        let mut tx = t.db.begin().await?;
        sqlx::query("UPDATE jobs SET status = 'running', attempts = 1, locked_until = $1 WHERE id = $2")
            .bind(lease_end)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let handler = Counting::default();
        let reg = registry("render.pdf", handler.clone());
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?, NOTHING);
        t.clock.advance_seconds(61);
        assert_eq!(jobs::run_due(&t.db, &reg, 10).await?.done, 1);
        assert_eq!(handler.runs.load(Ordering::SeqCst), 1);
        Ok(())
    }
}

db_only_test! {
    async fn workers_running_at_the_same_time_never_run_one_job_twice(t: TestDb) {
        const JOBS: i64 = 60;
        let mut ids = Vec::new();
        for i in 0..JOBS {
            ids.push(enqueue(&t.db, NewJob::new("notify.sms", serde_json::json!({ "n": i }))).await?.context("id")?);
        }
        let tally = Tally::default();
        let reg = registry("notify.sms", tally.clone());
        let start = Arc::new(tokio::sync::Barrier::new(4));
        let mut workers = Vec::new();
        for _ in 0..4 {
            let (db, reg, start) = (t.db.clone(), reg.clone(), start.clone());
            workers.push(tokio::spawn(async move {
                start.wait().await;
                let mut done = 0;
                loop {
                    let pass = jobs::run_due(&db, &reg, 5).await?;
                    done += pass.done;
                    if pass == NOTHING {
                        return Ok::<usize, Error>(done);
                    }
                }
            }));
        }
        let mut done = 0;
        for w in workers {
            done += w.await??;
        }
        // A worker that found every due job locked stops early; finish any rest.
        done += jobs::run_due(&t.db, &reg, 1000).await?.done;
        assert_eq!(done, JOBS as usize);
        let tally = tally.0.lock().map_err(|_| anyhow::anyhow!("poisoned"))?.clone();
        let twice: Vec<_> = tally.iter().filter(|(_, n)| **n != 1).collect();
        ensure!(twice.is_empty(), "jobs run more than once: {twice:?}");
        assert_eq!(tally.len(), ids.len(), "every job ran");
        for id in ids {
            assert_eq!(state(&t.db, id).await?.status, "done");
        }
        Ok(())
    }
}
