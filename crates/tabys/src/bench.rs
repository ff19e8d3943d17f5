//! `tabys bench checkout`: many customers at once, over HTTP on 127.0.0.1,
//! through the whole card checkout — order, card payment at the gateway's
//! stand-in, the gateway's signed Check and Pay notifications, the re-query,
//! the ledger posting and the access grant — on a fresh SQLite or
//! PostgreSQL database. It ends with one line:
//!
//! `RESULT checkout db=<sqlite|postgres> orders_per_s=<n> p50_ms=<n> p99_ms=<n> balanced=<true|false>`
//!
//! where `balanced` says the trial balance holds, every cached balance
//! equals its transfers, every order the load generator saw paid is paid
//! exactly once, and every gateway transaction reconciles.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use tabys_accounts::members;
use tabys_accounts::organizers::ProfileInput;
use tabys_accounts::sessions::{self, Origin};
use tabys_accounts::users::{self, NewUser};
use tabys_billing::{Book, Holder, balances, ledger, payment_module, plans, products, reconcile};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::money::Money;
use tabys_core::{Clock, SystemClock};
use tabys_providers_fake::{FakeConfig, FakeProvider};
use tabys_store::Db;

#[derive(clap::Subcommand)]
pub enum BenchTask {
    /// The card checkout under load.
    Checkout(CheckoutArgs),
    /// Lesson pages under concurrent signed-in students.
    Lesson(crate::bench_lesson::LessonArgs),
    /// Certificate PDFs rendered per second.
    Certificate(crate::bench_lesson::CertificateArgs),
    /// One webinar room with many participants.
    Room(crate::bench_room::RoomArgs),
}

#[derive(clap::Args)]
pub struct CheckoutArgs {
    /// `sqlite` (a file in a temporary folder) or `postgres` (a fresh schema).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// Customers buying at the same time.
    #[arg(long, default_value_t = 64)]
    pub customers: usize,
    /// How long to keep buying.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
    /// The PostgreSQL server for `--db postgres`.
    #[arg(
        long,
        env = "TABYS_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pub pg_url: String,
}

pub async fn run(task: BenchTask) -> anyhow::Result<()> {
    match task {
        BenchTask::Checkout(args) => checkout(args).await,
        BenchTask::Lesson(args) => crate::bench_lesson::lesson(args).await,
        BenchTask::Certificate(args) => crate::bench_lesson::certificate(args).await,
        BenchTask::Room(args) => crate::bench_room::run(args).await,
    }
}

/// A fresh database for the run, and how to remove it afterwards.
pub(crate) async fn fresh_db(
    args: &CheckoutArgs,
) -> anyhow::Result<(Db, Box<dyn FnOnce() + Send>)> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let suffix = tabys_store::token::random_token()[..10].to_string();
    match args.db.as_str() {
        "sqlite" => {
            let dir = std::env::temp_dir().join(format!("tabys-bench-{suffix}"));
            std::fs::create_dir_all(&dir)?;
            let db = Db::connect(
                &format!("sqlite://{}", dir.join("tabys.db").display()),
                clock,
            )
            .await?;
            Ok((db, Box::new(move || drop(std::fs::remove_dir_all(dir)))))
        }
        "postgres" => {
            let schema = format!("bench_{suffix}");
            let admin = Db::connect(&args.pg_url, clock.clone())
                .await
                .context("connecting to PostgreSQL")?;
            let mut tx = admin.begin().await?;
            sqlx::query(&format!("CREATE SCHEMA {schema}"))
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            let sep = if args.pg_url.contains('?') { '&' } else { '?' };
            let db = Db::connect(
                &format!("{}{sep}options=-c%20search_path%3D{schema}", args.pg_url),
                clock,
            )
            .await?;
            let cleanup = move || {
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async move {
                        if let Ok(mut tx) = admin.begin().await {
                            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                                .execute(&mut *tx)
                                .await;
                            let _ = tx.commit().await;
                        }
                    });
                })
                .join();
            };
            Ok((db, Box::new(cleanup)))
        }
        other => bail!("--db must be sqlite or postgres, not {other}"),
    }
}

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The shop: an organizer with the payment module on, a paid plan without a
/// practical student limit, and a course at 1 000 ₸.
async fn shop(db: &Db) -> anyhow::Result<(String, i64)> {
    let mut tx = db.begin().await?;
    let new = |e: &str, op| -> anyhow::Result<(NewUser, bool)> {
        Ok((
            NewUser {
                email: email(e)?,
                name: "Bench".into(),
                password: "bench-password-1".into(),
                locale: Locale::Ru,
                adult_confirmed: true,
            },
            op,
        ))
    };
    let (n, op) = new("operator@bench.kz", true)?;
    let operator = users::create(&mut tx, db, n, op).await?;
    let (n, op) = new("owner@bench.kz", false)?;
    let owner = users::create(&mut tx, db, n, op).await?;
    tx.commit().await?;
    let profile = ProfileInput {
        slug: "bench".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «Bench»".into(),
        email: "office@bench.kz".into(),
        legal_address: "г. Алматы".into(),
        iin_bin: "180540001239".into(),
        head_name: "Директор".into(),
        head_position: "Директор".into(),
        ..ProfileInput::default()
    }
    .parse()?;
    let org = tabys_accounts::organizers::create(db, owner.id, profile).await?;
    payment_module::request(db, org.id, owner.id, "").await?;
    payment_module::decide(db, org.id, operator.id, true, "").await?;
    payment_module::enable(db, org.id, owner.id, true).await?;
    let plan = plans::create(
        db,
        operator.id,
        &plans::PlanInput {
            code: "bench".into(),
            name: "Bench".into(),
            period_days: "365".into(),
            webinar_rooms: "10".into(),
            storage_mb: "1024".into(),
            active_students: "10000000".into(),
            sms_allowance: "0".into(),
            price: "1".into(),
        },
    )
    .await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = balances::wallet(&mut tx, Book::OPERATOR, Holder::Org(org.id), now).await?;
    balances::grant_bonus(
        &mut tx,
        now,
        &w,
        Money::from_tiyn(100),
        "bench:plan".into(),
        "bench".into(),
        None,
    )
    .await?;
    tx.commit().await?;
    plans::buy(
        db,
        &tabys_billing::BillingConfig::default(),
        org.id,
        owner.id,
        plan.id,
        "bench",
    )
    .await?;
    let input = products::ProductInput {
        kind: "course".into(),
        title: "Bench course".into(),
        price: "1 000".into(),
        refund_policy: "none".into(),
        ..products::ProductInput::default()
    };
    let p = products::create(db, org.id, owner.id, input.parse()?).await?;
    Ok(("bench".into(), p.id))
}

/// A signed-in customer's browser: session and CSRF cookies.
struct Buyer {
    http: reqwest::Client,
    csrf: String,
}

async fn buyers(db: &Db, n: usize, org: &str) -> anyhow::Result<Vec<Buyer>> {
    let org = tabys_accounts::organizers::by_slug(db, org).await?;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let mut tx = db.begin().await?;
        let user = users::create(
            &mut tx,
            db,
            NewUser {
                email: email(&format!("buyer{i}@bench.kz"))?,
                name: format!("Buyer {i}"),
                password: "bench-password-1".into(),
                locale: Locale::Ru,
                adult_confirmed: true,
            },
            false,
        )
        .await?;
        members::join_as_customer(&mut tx, db, org.id, user.id).await?;
        let token = sessions::open(
            &mut tx,
            db,
            user.id,
            &Origin {
                ip: "127.0.0.1".into(),
                user_agent: "bench".into(),
            },
        )
        .await?;
        tx.commit().await?;
        let csrf = tabys_store::token::random_token();
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::COOKIE,
            format!("sid={token}; csrf={csrf}").parse()?,
        );
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .redirect(reqwest::redirect::Policy::none())
            .pool_max_idle_per_host(4)
            .build()?;
        out.push(Buyer { http, csrf });
    }
    Ok(out)
}

/// One checkout; returns the order id once the gateway has sent the payer
/// back, which it does after the merchant accepted the Pay notification.
async fn one_checkout(
    b: &Buyer,
    base: &str,
    fake: &str,
    product: i64,
    n: u64,
) -> anyhow::Result<i64> {
    let key = format!("o{n}-{}", &b.csrf[..8]);
    let r = b
        .http
        .post(format!("{base}/o/bench/products/{product}/order"))
        .form(&[
            ("plan", "full"),
            ("key", key.as_str()),
            ("csrf", b.csrf.as_str()),
        ])
        .send()
        .await?;
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let order: i64 = to
        .strip_prefix("/cabinet/orders/")
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("order: {} {to}", r.status()))?;
    let r = b
        .http
        .post(format!("{base}/cabinet/orders/{order}/pay"))
        .form(&[
            ("method", "card"),
            ("key", format!("p{key}").as_str()),
            ("csrf", b.csrf.as_str()),
        ])
        .send()
        .await?;
    let link = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    ensure!(
        link.starts_with(fake),
        "payment link: {} {link}",
        r.status()
    );
    let r = b
        .http
        .post(&link)
        .form(&[("card", "4242424242424242")])
        .send()
        .await?;
    ensure!(
        r.status() == reqwest::StatusCode::SEE_OTHER,
        "gateway: {}",
        r.status()
    );
    Ok(order)
}

async fn checkout(args: CheckoutArgs) -> anyhow::Result<()> {
    let (db, cleanup) = fresh_db(&args).await?;
    let result = drive(&db, &args).await;
    db.close().await;
    cleanup();
    let line = result?;
    println!("{line}");
    Ok(())
}

async fn drive(db: &Db, args: &CheckoutArgs) -> anyhow::Result<String> {
    db.migrate().await?;
    let fake = FakeProvider::start(
        "127.0.0.1:0".parse()?,
        FakeConfig::default(),
        Arc::new(SystemClock),
    )
    .await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    fake.set_merchant(&base);
    let f = fake.config();
    let mut billing = tabys_billing::BillingConfig::default();
    billing.cloudpayments.api_url = fake.base().to_string();
    billing.cloudpayments.public_id = f.public_id;
    billing.cloudpayments.api_secret = f.api_secret;
    billing.public_url = base.clone();
    // The checkout stores no files; the folder is only named.
    let files = tabys_files::Files::new(std::env::temp_dir().join("tabys-bench-files"), [0; 32]);
    let state = tabys_web::AppState::new(db.clone(), tabys_web::WebConfig::default(), files)
        .with_billing(billing.clone());
    let app = tabys_web::app(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service()).await;
    });
    let (slug, product) = shop(db).await?;
    let people = buyers(db, args.customers.max(1), &slug).await?;
    eprintln!(
        "bench: {} customers, {} s, {} database",
        people.len(),
        args.seconds,
        args.db
    );

    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, b) in people.into_iter().enumerate() {
        let (stop, base, fake_base) = (stop.clone(), base.clone(), fake.base().to_string());
        tasks.push(tokio::spawn(async move {
            let mut done = Vec::new();
            let mut failures = 0u64;
            let mut n = (i as u64) << 32;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let t = Instant::now();
                match one_checkout(&b, &base, &fake_base, product, n).await {
                    Ok(order) => done.push((order, t.elapsed())),
                    Err(e) => {
                        failures += 1;
                        if failures <= 3 {
                            eprintln!("bench: checkout failed: {e:#}");
                        }
                    }
                }
            }
            (done, failures)
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut orders = Vec::new();
    let mut failures = 0;
    for t in tasks {
        let (done, failed) = t.await?;
        failures += failed;
        for (order, l) in done {
            orders.push(order);
            latencies.push(l);
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    fake.settle(Duration::from_secs(30)).await;
    latencies.sort();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * p).round() as usize)
            .map_or(0, |d| d.as_millis())
    };
    let rate = orders.len() as f64 / elapsed;
    let balanced = check_books(db, &billing, &orders).await?;
    eprintln!(
        "bench: {} orders paid, {failures} failed, {:.1} s",
        orders.len(),
        elapsed
    );
    Ok(format!(
        "RESULT checkout db={} orders_per_s={:.0} p50_ms={} p99_ms={} balanced={balanced}",
        args.db,
        rate,
        pct(0.50),
        pct(0.99)
    ))
}

/// The books after the run: balanced, caches right, every order the load
/// generator saw paid is paid once, every gateway transaction reconciled.
async fn check_books(
    db: &Db,
    billing: &tabys_billing::BillingConfig,
    orders: &[i64],
) -> anyhow::Result<bool> {
    let tb = ledger::trial_balance(db).await?;
    let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE status = 'paid'")
        .fetch_one(db.read())
        .await?;
    let postings: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings WHERE kind = 'order'")
            .fetch_one(db.read())
            .await?;
    let report = reconcile::run(db, billing, &reconcile::window(db, 1).await?).await?;
    let ok = tb.balanced() && paid >= orders.len() as i64 && postings == paid && report.is_clean();
    if !ok {
        eprintln!(
            "bench: books not clean: balanced {} paid {paid} seen {} order postings {postings} reconcile {:?}",
            tb.balanced(),
            orders.len(),
            report
        );
    }
    Ok(ok)
}
