//! A server killed with SIGKILL in the middle of a stream of card payments
//! and Kaspi payments loses nothing and counts nothing twice: the providers'
//! stand-ins keep repeating what was not answered, the restarted server
//! takes it, and reconciliation and the trial balance prove every provider
//! record matches exactly one transfer.
//!
//! The server is the built `tabys` binary in a child process; the stand-ins
//! run in the test, sending real signed notifications over HTTP.

use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tabys_accounts::members;
use tabys_accounts::organizers::ProfileInput;
use tabys_accounts::sessions::{self, Origin};
use tabys_accounts::users::{self, NewUser};
use tabys_billing::{Book, Holder, balances, payment_module, plans, products};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::money::Money;
use tabys_core::{Clock, SystemClock};
use tabys_providers_fake::{FakeConfig, FakeProvider};
use tabys_store::Db;

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("{e}"))
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

struct Server {
    child: tokio::process::Child,
}

async fn start(
    url: &str,
    port: u16,
    fake: &FakeProvider,
    data: &std::path::Path,
) -> anyhow::Result<Server> {
    let f = fake.config();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_tabys"))
        .args([
            "serve",
            "--no-worker",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data",
        ])
        .arg(data)
        .env("TABYS_DATABASE_URL", url)
        .env("TABYS_CLOUDPAYMENTS_URL", fake.base())
        .env("TABYS_CLOUDPAYMENTS_PUBLIC_ID", &f.public_id)
        .env("TABYS_CLOUDPAYMENTS_SECRET", &f.api_secret)
        .env("TABYS_KASPI_LOGIN", &f.kaspi_login)
        .env("TABYS_KASPI_PASSWORD", &f.kaspi_password)
        .env(
            "TABYS_KASPI_REGISTRY_URL",
            format!("{}/kaspi/registry", fake.base()),
        )
        .env("TABYS_PUBLIC_URL", format!("http://127.0.0.1:{port}"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()?;
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if http
            .get(format!("http://127.0.0.1:{port}/healthz"))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success())
        {
            return Ok(Server { child });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bail!("the server did not start")
}

/// The shop and its customers' signed-in browsers (session and CSRF cookies).
async fn seed(
    db: &Db,
    customers: usize,
) -> anyhow::Result<(i64, Vec<(reqwest::Client, String)>, Vec<i64>)> {
    let mut tx = db.begin().await?;
    let mk = |e: &str| -> anyhow::Result<NewUser> {
        Ok(NewUser {
            email: email(e)?,
            name: "Kill".into(),
            password: "kill-password-1".into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        })
    };
    let operator = users::create(&mut tx, db, mk("operator@kill.kz")?, true).await?;
    let owner = users::create(&mut tx, db, mk("owner@kill.kz")?, false).await?;
    tx.commit().await?;
    let profile = ProfileInput {
        slug: "kill".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «Kill»".into(),
        email: "office@kill.kz".into(),
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
            code: "big".into(),
            name: "Big".into(),
            period_days: "365".into(),
            webinar_rooms: "1".into(),
            storage_mb: "1".into(),
            active_students: "100000".into(),
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
        "kill:plan".into(),
        "plan".into(),
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
        "kill",
    )
    .await?;
    let input = products::ProductInput {
        kind: "course".into(),
        title: "Course".into(),
        price: "1 000".into(),
        refund_policy: "none".into(),
        ..Default::default()
    };
    let product = products::create(db, org.id, owner.id, input.parse()?).await?;
    let mut browsers = Vec::new();
    let mut wallets = Vec::new();
    for i in 0..customers {
        let mut tx = db.begin().await?;
        let u = users::create(&mut tx, db, mk(&format!("c{i}@kill.kz"))?, false).await?;
        members::join_as_customer(&mut tx, db, org.id, u.id).await?;
        let w = balances::wallet(&mut tx, Book::org(org.id), Holder::User(u.id), now).await?;
        let token = sessions::open(
            &mut tx,
            db,
            u.id,
            &Origin {
                ip: "127.0.0.1".into(),
                user_agent: "kill".into(),
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
            .timeout(Duration::from_secs(10))
            .build()?;
        browsers.push((http, csrf));
        wallets.push(w.id);
    }
    Ok((product.id, browsers, wallets))
}

async fn checkout(
    http: &reqwest::Client,
    csrf: &str,
    base: &str,
    fake: &FakeProvider,
    product: i64,
    n: usize,
) -> anyhow::Result<()> {
    let key = format!("k{n}-{}", &csrf[..6]);
    let r = http
        .post(format!("{base}/o/kill/products/{product}/order"))
        .form(&[("plan", "full"), ("key", key.as_str()), ("csrf", csrf)])
        .send()
        .await?;
    let to = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let order = to
        .strip_prefix("/cabinet/orders/")
        .context("order")?
        .to_string();
    let r = http
        .post(format!("{base}/cabinet/orders/{order}/pay"))
        .form(&[
            ("method", "card"),
            ("key", format!("p{key}").as_str()),
            ("csrf", csrf),
        ])
        .send()
        .await?;
    let link = r
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let id = link.rsplit('/').next().context("link")?.to_string();
    fake.pay_link(&id, "4242424242424242", false).await;
    Ok(())
}

async fn run(url: String, cleanup: impl FnOnce()) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let db = Db::connect(&url, clock.clone()).await?;
    db.migrate().await?;
    let port = free_port()?;
    let base = format!("http://127.0.0.1:{port}");
    let fake = FakeProvider::start(
        "127.0.0.1:0".parse()?,
        FakeConfig {
            retry_ms: 100,
            max_attempts: 200,
            ..FakeConfig::default()
        },
        clock,
    )
    .await?;
    fake.set_merchant(&base);
    let (product, browsers, wallets) = seed(&db, 12).await?;
    let data = std::env::temp_dir().join(format!(
        "tabys-kill-{}",
        &tabys_store::token::random_token()[..8]
    ));
    let mut server = start(&url, port, &fake, &data).await?;

    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for (i, (http, csrf)) in browsers.into_iter().enumerate() {
        let (stop, started, fake, base) =
            (stop.clone(), started.clone(), fake.clone(), base.clone());
        let wallet = wallets[i];
        tasks.push(tokio::spawn(async move {
            let mut n = i * 100_000;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                started.fetch_add(1, Ordering::Relaxed);
                if n % 3 == 0 {
                    // A Kaspi top-up by the personal account number.
                    fake.kaspi_pay(&format!("W{wallet}"), Money::from_tiyn(50_000))
                        .await;
                } else {
                    let _ = checkout(&http, &csrf, &base, &fake, product, n).await;
                }
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    // SIGKILL in the middle of the stream.
    server.child.start_kill()?;
    server.child.wait().await?;
    let at_kill = started.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_millis(700)).await;
    let mut server = start(&url, port, &fake, &data).await?;
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await?;
    }
    ensure!(
        fake.settle(Duration::from_secs(60)).await,
        "the providers still have messages on their way"
    );
    let attempts = started.load(Ordering::Relaxed);
    ensure!(
        attempts > at_kill && at_kill > 0,
        "the stream ran across the kill ({at_kill} before, {attempts} in all)"
    );

    // Every payment the providers hold is posted exactly once.
    let completed = fake
        .transactions()
        .into_iter()
        .filter(|t| t.status == "Completed" && t.operation == "Payment")
        .count();
    let kaspi = fake.kaspi_payments().len();
    ensure!(
        completed > 0 && kaspi > 0,
        "payments went through ({completed} card, {kaspi} Kaspi)"
    );
    let card_postings: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM ledger_postings WHERE idem_key LIKE 'cloudpayments:%'",
    )
    .fetch_one(db.read())
    .await?;
    let kaspi_postings: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings WHERE idem_key LIKE 'kaspi:%'")
            .fetch_one(db.read())
            .await?;
    ensure!(
        card_postings as usize == completed,
        "{card_postings} card postings for {completed} gateway payments"
    );
    ensure!(
        kaspi_postings as usize == kaspi,
        "{kaspi_postings} Kaspi postings for {kaspi} Kaspi payments"
    );

    // The operator's own tools agree.
    for task in [["billing", "trial-balance"], ["billing", "reconcile"]] {
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_tabys"))
            .args(task)
            .arg("--data")
            .arg(&data)
            .env("TABYS_DATABASE_URL", &url)
            .env("TABYS_CLOUDPAYMENTS_URL", fake.base())
            .env("TABYS_CLOUDPAYMENTS_PUBLIC_ID", fake.config().public_id)
            .env("TABYS_CLOUDPAYMENTS_SECRET", fake.config().api_secret)
            .env("TABYS_KASPI_LOGIN", fake.config().kaspi_login)
            .env("TABYS_KASPI_PASSWORD", fake.config().kaspi_password)
            .env(
                "TABYS_KASPI_REGISTRY_URL",
                format!("{}/kaspi/registry", fake.base()),
            )
            .output()
            .await?;
        let text = String::from_utf8_lossy(&out.stdout);
        ensure!(
            out.status.success(),
            "tabys {} failed:\n{text}",
            task.join(" ")
        );
        ensure!(
            text.contains("BALANCED") || text.contains("RECONCILED"),
            "{text}"
        );
    }
    server.child.start_kill()?;
    server.child.wait().await?;
    db.close().await;
    let _ = std::fs::remove_dir_all(&data);
    cleanup();
    Ok(())
}

/// Named `…::sqlite` and `…::postgres` like every two-database test, so the
/// test command can leave the PostgreSQL variant out when there is no server.
mod sigkill_mid_stream_loses_and_doubles_nothing {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn sqlite() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!(
            "tabys-kill-db-{}",
            &tabys_store::token::random_token()[..8]
        ));
        std::fs::create_dir_all(&dir)?;
        let url = format!("sqlite://{}", dir.join("tabys.db").display());
        run(url, move || drop(std::fs::remove_dir_all(dir))).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn postgres() -> anyhow::Result<()> {
        let base = std::env::var("TABYS_TEST_PG_URL")
            .context("TABYS_TEST_PG_URL is not set; this PostgreSQL test cannot run")?;
        let schema = format!("kill_{}", &tabys_store::token::random_token()[..10]);
        let admin = Db::connect(&base, Arc::new(SystemClock)).await?;
        let mut tx = admin.begin().await?;
        sqlx::query(&format!("CREATE SCHEMA {schema}"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let sep = if base.contains('?') { '&' } else { '?' };
        let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
        let result = run(url, || {}).await;
        let mut tx = admin.begin().await?;
        sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        result
    }
}
