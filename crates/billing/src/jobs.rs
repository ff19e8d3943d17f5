//! The money capability's jobs. Each is idempotent: it re-reads the state
//! it acts on and does nothing when the work was already done, so a job run
//! twice (a worker died after doing it) changes nothing the second time.
//!
//! * `billing.order-due` at the end of an order's day: void it if unpaid;
//! * `billing.rest-reminder` / `billing.rest-overdue`: the second half of a
//!   50 % order;
//! * `billing.payout`: send a card refund through the gateway;
//! * `billing.recurring-charge`: charge a saved card for the next period;
//! * `billing.daily`: suspend accounts whose negative balance outlived
//!   three business days, issue last month's acts on the first, accept
//!   overdue acts, expire holds, and check every cached balance against its
//!   transfers; it schedules the next day's run itself.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::Db;
use tabys_store::jobs::{self, Handler, Job, NewJob, Registry};

use crate::providers::cloudpayments::{self, Client};
use crate::{BillingConfig, acts, balances, holds, ledger, orders, recurring};

pub const ORDER_DUE: &str = "billing.order-due";
pub const REST_REMINDER: &str = "billing.rest-reminder";
pub const REST_OVERDUE: &str = "billing.rest-overdue";
pub const PAYOUT: &str = "billing.payout";
pub const RECURRING_CHARGE: &str = "billing.recurring-charge";
pub const DAILY: &str = "billing.daily";

type Fut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

struct BillingJob {
    cfg: Arc<BillingConfig>,
    client: Client,
}

fn id(job: &Job, field: &str) -> Result<i64> {
    job.payload[field]
        .as_i64()
        .ok_or_else(|| Error::Internal(format!("job {} has no {field}", job.id)))
}

impl BillingJob {
    async fn run_job(&self, db: &Db, job: &Job) -> Result<()> {
        match job.kind.as_str() {
            ORDER_DUE => orders::void_if_unpaid(db, id(job, "order")?)
                .await
                .map(drop),
            REST_REMINDER => orders::remind_rest(db, id(job, "order")?).await.map(drop),
            REST_OVERDUE => orders::suspend_if_rest_unpaid(db, id(job, "order")?)
                .await
                .map(drop),
            PAYOUT => cloudpayments::send_payout(db, &self.client, id(job, "payout")?).await,
            RECURRING_CHARGE => {
                recurring::charge_due(db, &self.cfg, &self.client, id(job, "recurring")?).await
            }
            DAILY => daily(db).await,
            other => Err(Error::Internal(format!("billing has no job {other}"))),
        }
    }
}

impl Handler for BillingJob {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> Fut<'a> {
        Box::pin(self.run_job(db, job))
    }
}

/// Registers every billing job with the worker.
pub fn register(registry: &mut Registry, cfg: Arc<BillingConfig>) {
    let client = Client::new(&cfg);
    for kind in [
        ORDER_DUE,
        REST_REMINDER,
        REST_OVERDUE,
        PAYOUT,
        RECURRING_CHARGE,
        DAILY,
    ] {
        registry.register(
            kind,
            BillingJob {
                cfg: cfg.clone(),
                client: client.clone(),
            },
        );
    }
}

/// The next daily run: 01:00 Almaty time of the next day.
fn next_daily(now: Timestamp) -> Timestamp {
    let date = calendar::business_date(now);
    let next = date.tomorrow().unwrap_or(date);
    next.at(1, 0, 0, 0)
        .to_zoned(calendar::almaty())
        .map(|z| Timestamp::from_jiff(z.timestamp()))
        .unwrap_or(now.plus_days(1))
}

/// Makes sure the daily job is queued (called when the worker starts).
pub async fn schedule_daily(db: &Db) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let at = next_daily(now);
    jobs::enqueue(
        &mut tx,
        now,
        NewJob::new(DAILY, serde_json::json!({}))
            .dedupe(format!("billing.daily:{}", at.0))
            .at(at),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The daily pass; also callable directly (tests, `tabys billing`).
pub async fn daily(db: &Db) -> Result<()> {
    let suspended = balances::suspend_overdue(db).await?;
    let today = calendar::business_date(db.now());
    let issued = if today.day() == 1 {
        acts::issue_for_previous_month(db).await?
    } else {
        0
    };
    let accepted = acts::accept_overdue(db).await?;
    let expired = holds::expire_due(db).await?;
    let mismatches = ledger::verify(db).await?;
    for m in &mismatches {
        tracing::error!(account = m.account.0, cached = ?m.cached, derived = ?m.derived, "cached balance differs from its transfers");
    }
    tracing::info!(
        suspended,
        issued,
        accepted,
        expired,
        mismatches = mismatches.len(),
        "billing daily pass"
    );
    schedule_daily(db).await?;
    if mismatches.is_empty() {
        Ok(())
    } else {
        Err(Error::Internal(format!(
            "{} cached balances differ from their transfers",
            mismatches.len()
        )))
    }
}
