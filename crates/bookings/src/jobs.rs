//! The jobs of bookings: the end of a hold (the place returns unless the
//! order was paid) and the reminder before the start. Both are idempotent:
//! they look at the booking's or ticket's state and do nothing twice.

use std::future::Future;
use std::pin::Pin;

use tabys_core::{Error, Result};
use tabys_store::Db;
use tabys_store::jobs::{Handler, Job, Registry};

pub const HOLD_EXPIRY: &str = "booking.hold-expiry";
pub const REMINDER: &str = "booking.reminder";

struct BookingJob;

type Fut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

fn id(job: &Job, key: &str) -> Option<i64> {
    job.payload.get(key).and_then(serde_json::Value::as_i64)
}

impl BookingJob {
    async fn run_job(&self, db: &Db, job: &Job) -> Result<()> {
        match (job.kind.as_str(), id(job, "booking"), id(job, "ticket")) {
            (HOLD_EXPIRY, Some(b), _) => crate::bookings::expire_hold(db, b).await,
            (HOLD_EXPIRY, None, Some(t)) => crate::events::expire_hold(db, t).await,
            (REMINDER, Some(b), _) => crate::bookings::remind(db, b).await,
            (REMINDER, None, Some(t)) => crate::events::remind(db, t).await,
            (kind, _, _) => Err(Error::Internal(format!(
                "bookings cannot run {kind} {}",
                job.payload
            ))),
        }
    }
}

impl Handler for BookingJob {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> Fut<'a> {
        Box::pin(self.run_job(db, job))
    }
}

/// Registers the jobs of bookings with the worker.
pub fn register(registry: &mut Registry) {
    for kind in [HOLD_EXPIRY, REMINDER] {
        registry.register(kind, BookingJob);
    }
}
