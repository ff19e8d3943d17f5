//! `tabys bench booking`: many members at once race for the same hours of
//! one hot-desk zone on a fresh SQLite or PostgreSQL database, through the
//! whole booking write (the seat counters, the booking, its order and the
//! hold's job). It ends with one line:
//!
//! `RESULT booking db=<sqlite|postgres> attempts_per_s=<n> booked=<n> capacity=<n> oversold=<n>`
//!
//! where `capacity` is seats × hours raced for, `booked` the attempts that
//! succeeded, and `oversold` the live bookings beyond the seats of any hour,
//! counted from the bookings themselves (not from the counters) — it must
//! be 0, and `booked` must equal `capacity` when there are more attempts
//! than places.

use std::sync::Arc;
use std::time::Instant;

use anyhow::ensure;
use sqlx::Row;
use tabys_accounts::organizers;
use tabys_billing::orders::ShownOffer;
use tabys_bookings::bookings::{self, BookingRequest};
use tabys_bookings::resources::{self, ResourceInput};
use tabys_core::ids::UserId;
use tabys_core::{Error, calendar};
use tokio::sync::Semaphore;

#[derive(clap::Args)]
pub struct BookingArgs {
    /// `sqlite` (a file in a temporary folder) or `postgres` (a fresh schema).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// Booking attempts in all.
    #[arg(long, default_value_t = 2000)]
    pub attempts: usize,
    /// Attempts in flight at once.
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,
    /// Seats of the zone.
    #[arg(long, default_value_t = 10)]
    pub seats: i64,
    /// Distinct hours raced for.
    #[arg(long, default_value_t = 8)]
    pub hours: i64,
    /// The PostgreSQL server for `--db postgres`.
    #[arg(
        long,
        env = "TABYS_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub pg_url: String,
}

pub async fn run(args: BookingArgs) -> anyhow::Result<()> {
    ensure!(
        (1..=12).contains(&args.hours) && args.seats > 0 && args.concurrency > 0,
        "--hours must be 1 to 12, --seats and --concurrency positive"
    );
    let (db, cleanup) = crate::bench::fresh_db(&args.db, &args.pg_url).await?;
    let outcome = race(&db, &args).await;
    db.close().await;
    cleanup();
    outcome
}

async fn race(db: &tabys_store::Db, args: &BookingArgs) -> anyhow::Result<()> {
    db.migrate().await?;
    let (slug, _) = crate::bench::shop(db).await?;
    let org = organizers::by_slug(db, &slug).await?;
    let owner = tabys_accounts::members::staff(db, org.id)
        .await?
        .first()
        .map(|m| m.user_id)
        .ok_or_else(|| anyhow::anyhow!("no owner"))?;
    let zone = resources::create(
        db,
        org.id,
        owner,
        ResourceInput {
            kind: "hot-desk".into(),
            title: "Bench zone".into(),
            seats: args.seats.to_string(),
            open_hour: "8".into(),
            close_hour: "20".into(),
            price_hour: "1 000".into(),
            ..ResourceInput::default()
        }
        .parse()?,
    )
    .await?;
    // Members who never sign in: inserted directly, without hashing a password each.
    let now = db.now();
    let mut users = Vec::with_capacity(args.attempts);
    let mut tx = db.begin().await?;
    for i in 0..args.attempts {
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, name, locale, is_operator, status, adult_confirmed_at, created_at, updated_at)
             VALUES ($1, 'bench', $2, 'ru', 0, 'active', $3, $3, $3) RETURNING id",
        )
        .bind(format!("member{i}@bench.kz"))
        .bind(format!("Member {i}"))
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        users.push(UserId(row.try_get(0)?));
    }
    tx.commit().await?;
    // A working day a week ahead.
    let mut day = calendar::business_date(now.plus_days(7));
    while zone.is_closed(day) {
        day = day.tomorrow()?;
    }
    let gate = Arc::new(Semaphore::new(args.concurrency));
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(args.attempts);
    for (i, user) in users.into_iter().enumerate() {
        let db = db.clone();
        let gate = gate.clone();
        let hour = 8 + (i as i64 % args.hours);
        let req = BookingRequest {
            date: day.to_string(),
            start: hour.to_string(),
            unit: "hour".into(),
            hours: "1".into(),
        };
        let (org, zone) = (org.id, zone.id);
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            match bookings::book(&db, org, user, zone, &req, &ShownOffer::default()).await {
                Ok(_) => Ok::<bool, anyhow::Error>(true),
                Err(Error::Conflict("booking-slot-taken")) => Ok(false),
                Err(e) => Err(e.into()),
            }
        }));
    }
    let mut booked = 0i64;
    for t in tasks {
        if t.await?? {
            booked += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64().max(1e-9);
    let rows = sqlx::query(
        "SELECT starts_at, COUNT(*) FROM bookings WHERE resource_id = $1 AND status IN ('held', 'confirmed') GROUP BY starts_at",
    )
    .bind(zone.id)
    .fetch_all(db.read())
    .await?;
    let mut oversold = 0i64;
    let mut live = 0i64;
    for r in &rows {
        let n: i64 = r.try_get(1)?;
        live += n;
        oversold += (n - args.seats).max(0);
    }
    ensure!(
        live == booked,
        "{booked} attempts succeeded but {live} bookings are live"
    );
    println!(
        "RESULT booking db={} attempts_per_s={:.0} booked={booked} capacity={} oversold={oversold}",
        args.db,
        args.attempts as f64 / secs,
        args.seats * args.hours,
    );
    Ok(())
}
