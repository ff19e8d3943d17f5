//! The live capability's job: `live.reminder`, a day and an hour before a
//! webinar, for each registration that was not cancelled. A registration
//! with an account is notified (in-app, and e-mail or SMS by the person's
//! choices); a guest who gave only a name and an e-mail gets an e-mail to
//! that address, in the language they registered in, as a transactional
//! message (they asked for the webinar and cannot choose channels). Both
//! carry the personal room link and a link to cancel the registration.
//! It is idempotent: the reminder is marked in the same transaction as the
//! notification, and a second run finds the mark and does nothing.

use std::future::Future;
use std::pin::Pin;

use sqlx::Row;
use tabys_core::locale::Locale;
use tabys_core::{Error, Result};
use tabys_notify::{AddressEmail, NewNotification};
use tabys_store::Db;
use tabys_store::jobs::{Handler, Job, Registry};

use crate::rooms;
use crate::webinars::{self, REMINDER};

type Fut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

struct Reminder;

impl Handler for Reminder {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> Fut<'a> {
        Box::pin(remind(db, job))
    }
}

/// Registers the live jobs with the worker.
pub fn register(registry: &mut Registry) {
    registry.register(REMINDER, Reminder);
}

/// `02.03.2026 19:00` in Almaty time.
fn almaty_time(t: tabys_core::Timestamp) -> String {
    t.to_jiff()
        .to_zoned(tabys_core::calendar::almaty())
        .strftime("%d.%m.%Y %H:%M")
        .to_string()
}

async fn remind(db: &Db, job: &Job) -> Result<()> {
    let reg_id = job.payload["registration"]
        .as_i64()
        .ok_or_else(|| Error::Internal(format!("job {} has no registration", job.id)))?;
    let (key, mark) = match job.payload["which"].as_str() {
        Some("day") => ("notify-live-reminder-day", "reminded_day"),
        Some("hour") => ("notify-live-reminder-hour", "reminded_hour"),
        _ => {
            return Err(Error::Internal(format!(
                "job {} has no reminder kind",
                job.id
            )));
        }
    };
    let Some(reg) = webinars::registration_by_id(db, reg_id).await? else {
        return Ok(());
    };
    let w = webinars::find(db, reg.webinar_id).await?;
    if matches!(w.status.as_str(), "cancelled" | "closed") {
        return Ok(());
    }
    let participant = webinars::participant_of(reg.user_id, Some(&reg));
    let now = db.now();
    let mut tx = db.begin().await?;
    let done: i64 = sqlx::query(
        "SELECT COUNT(*) FROM live_activity WHERE webinar_id = $1 AND participant = $2 AND kind = $3",
    )
    .bind(w.id)
    .bind(&participant)
    .bind(mark)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    if done > 0 {
        return Ok(());
    }
    let mut args = serde_json::Map::new();
    args.insert("title".into(), w.title.clone().into());
    args.insert("when".into(), almaty_time(w.starts_at).into());
    args.insert("link".into(), reg.link().into());
    args.insert("cancel_link".into(), reg.cancel_link().into());
    match reg.user_id {
        Some(user) => {
            tabys_notify::add(
                &mut tx,
                now,
                NewNotification {
                    user,
                    org: Some(w.org_id),
                    kind: "live.reminder",
                    key,
                    args,
                },
            )
            .await?;
        }
        None => {
            let locale = match reg.locale {
                Some(l) => l,
                None => {
                    let room = rooms::find(db, w.room_id).await?;
                    Locale::parse(&room.language).unwrap_or(Locale::Ru)
                }
            };
            tabys_notify::email_address(
                &mut tx,
                now,
                AddressEmail {
                    org: w.org_id,
                    address: reg.email.clone(),
                    locale,
                    kind: "live.reminder",
                    key,
                    args,
                },
            )
            .await?;
        }
    }
    sqlx::query(
        "INSERT INTO live_activity (org_id, webinar_id, participant, kind, ref_id, value, at) VALUES ($1, $2, $3, $4, $5, 0, $6)",
    )
    .bind(w.org_id.0)
    .bind(w.id)
    .bind(&participant)
    .bind(mark)
    .bind(reg.id)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
