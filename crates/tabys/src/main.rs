//! `tabys`: one binary for the whole platform.

mod bench;
mod bench_booking;
mod bench_lesson;
mod bench_room;
mod config;
mod demo;
mod demo_bookings;
mod demo_learning;
mod demo_live;
mod demo_notify;
mod money;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::{Clock, SystemClock};
use tabys_store::Db;
use tabys_store::audit::{self, Verdict};

use crate::config::Settings;

#[derive(Parser)]
#[command(
    name = "tabys",
    version,
    about = "Tabys: offers, money and services for online businesses of Kazakhstan"
)]
struct Cli {
    /// A TOML settings file; `TABYS_*` environment variables override it.
    #[arg(long, global = true, env = "TABYS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone, Default)]
struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long)]
    listen: Option<SocketAddr>,
    /// Folder for the SQLite database and files [default: ./data].
    #[arg(long)]
    data: Option<PathBuf>,
    /// Do not run the job worker in this process (run `tabys worker` instead).
    #[arg(long)]
    no_worker: bool,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the site and the API (migrates first).
    Serve(ServeArgs),
    /// Run only the job worker.
    Worker {
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Apply database migrations and exit.
    Migrate {
        #[arg(long)]
        data: Option<PathBuf>,
    },
    /// Load the demo operator, organizers, staff and customer, print their logins, and serve.
    Demo(ServeArgs),
    /// Operator tasks.
    Admin {
        #[command(subcommand)]
        task: AdminTask,
        #[arg(long, global = true)]
        data: Option<PathBuf>,
    },
    /// The audit chain.
    Audit {
        #[command(subcommand)]
        task: AuditTask,
        #[arg(long, global = true)]
        data: Option<PathBuf>,
    },
    /// The ledger: trial balance and reconciliation with the providers.
    Billing {
        #[command(subcommand)]
        task: money::BillingTask,
        #[arg(long, global = true)]
        data: Option<PathBuf>,
    },
    /// Run local stand-ins of the payment providers (card gateway and Kaspi) for a demo or a test.
    FakeProvider(money::FakeProviderArgs),
    /// Load generators.
    Bench {
        #[command(subcommand)]
        task: bench::BenchTask,
    },
}

#[derive(Subcommand)]
enum AdminTask {
    /// Create the operator account (the platform owner).
    CreateOperator {
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "Operator")]
        name: String,
        /// The password; or set TABYS_ADMIN_PASSWORD.
        #[arg(long, env = "TABYS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
    /// Set a new password for an account; every session of it ends.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "TABYS_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
    },
}

#[derive(Subcommand)]
enum AuditTask {
    /// Check every entry's hash and the chain's head; exit 1 if anything was edited or deleted.
    Verify,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let file = cli.config.as_deref();
    match cli.command {
        Command::Serve(args) => {
            let settings = Settings::load(file, args.data.as_deref(), args.listen)?;
            config::init_logging(&settings);
            serve(settings, args.no_worker).await
        }
        Command::Demo(args) => {
            let settings = Settings::load(file, args.data.as_deref(), args.listen)?;
            config::init_logging(&settings);
            let mut settings = settings;
            let fake = money::demo_providers(&mut settings).await?;
            let post = demo_notify::post_office(&mut settings).await?;
            let db = open(&settings).await?;
            demo::load(&db).await?;
            demo::load_money(&db, &settings.billing, &settings.database_url).await?;
            demo_notify::load(&db).await?;
            demo::print_logins(&settings);
            demo::print_money_logins();
            demo_notify::print(post.as_ref());
            demo_live::print(&db).await?;
            if let Some(fake) = &fake {
                println!(
                    "Card gateway and Kaspi stand-ins: {} (Kaspi app: {}/kaspi)",
                    fake.base(),
                    fake.base()
                );
            }
            serve_db(settings, db, args.no_worker).await
        }
        Command::Worker { data } => {
            let settings = Settings::load(file, data.as_deref(), None)?;
            config::init_logging(&settings);
            let db = open(&settings).await?;
            let (stop_tx, stop) = tokio::sync::watch::channel(false);
            tabys_billing::jobs::schedule_daily(&db).await?;
            let worker = tokio::spawn(tabys_store::jobs::work(
                db.clone(),
                registry(&settings)?,
                stop,
            ));
            shutdown_signal().await;
            let _ = stop_tx.send(true);
            worker.await?;
            Ok(())
        }
        Command::Migrate { data } => {
            let settings = Settings::load(file, data.as_deref(), None)?;
            config::init_logging(&settings);
            let db = connect(&settings).await?;
            let applied = db.migrate().await?;
            println!("{applied} migrations applied");
            Ok(())
        }
        Command::Admin { task, data } => {
            let settings = Settings::load(file, data.as_deref(), None)?;
            let db = open(&settings).await?;
            admin(&db, task).await
        }
        Command::Billing { task, data } => {
            let settings = Settings::load(file, data.as_deref(), None)?;
            let db = open(&settings).await?;
            money::billing(&db, &settings, task).await
        }
        Command::FakeProvider(args) => money::fake_provider(args).await,
        Command::Bench { task } => bench::run(task).await,
        Command::Audit {
            task: AuditTask::Verify,
            data,
        } => {
            let settings = Settings::load(file, data.as_deref(), None)?;
            let db = connect(&settings).await?;
            let chain_intact = match audit::verify(&db).await? {
                Verdict::Intact { entries, head } => {
                    println!("audit chain intact: {entries} entries, head {head}");
                    true
                }
                Verdict::Broken { seq, reason } => {
                    eprintln!("audit chain BROKEN at entry {seq}: {reason}");
                    false
                }
            };
            // Every acceptance must prove which exact text it accepted.
            let offers = tabys_offers::verify::verify(&db).await?;
            if offers.is_intact() {
                println!(
                    "offer evidence intact: {} versions match their hashes, {} acceptances match their versions and audit entries",
                    offers.versions, offers.acceptances
                );
            } else {
                for problem in &offers.problems {
                    eprintln!("offer evidence BROKEN: {problem}");
                }
            }
            if !chain_intact || !offers.is_intact() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

async fn connect(settings: &Settings) -> anyhow::Result<Db> {
    Db::connect(&settings.database_url, clock()?)
        .await
        .with_context(|| format!("connecting to {}", settings.redacted_database_url()))
}

/// Connects and migrates.
async fn open(settings: &Settings) -> anyhow::Result<Db> {
    let db = connect(settings).await?;
    let applied = db.migrate().await?;
    if applied > 0 {
        tracing::info!(applied, "migrations applied");
    }
    Ok(db)
}

/// The job handlers this build knows.
fn registry(settings: &Settings) -> anyhow::Result<tabys_store::jobs::Registry> {
    let files = settings.files()?;
    let mut registry = tabys_store::jobs::Registry::default();
    tabys_offers::rights::register(&mut registry);
    tabys_billing::jobs::register(&mut registry, Arc::new(settings.billing.clone()));
    tabys_delivery::sender::register(
        &mut registry,
        Arc::new(settings.notify.clone()),
        files.clone(),
    );
    tabys_learning::jobs::register(&mut registry, files, settings.billing.public_url.clone());
    tabys_bookings::register(&mut registry);
    tabys_live::jobs::register(&mut registry);
    Ok(registry)
}

/// The clock of this process: the wall clock. A debug build also honours
/// `TABYS_TEST_CLOCK_SHIFT_SECONDS`, so an end-to-end test can restart the
/// server "a day later" (an offer's new version taking effect); release
/// builds do not contain that code at all.
fn clock() -> anyhow::Result<Arc<dyn Clock>> {
    #[cfg(debug_assertions)]
    if let Some(raw) = std::env::var("TABYS_TEST_CLOCK_SHIFT_SECONDS")
        .ok()
        .filter(|v| !v.is_empty())
    {
        let seconds: i64 = raw
            .parse()
            .context("TABYS_TEST_CLOCK_SHIFT_SECONDS must be a whole number of seconds")?;
        eprintln!(
            "warning: debug build, clock shifted by {seconds} s (TABYS_TEST_CLOCK_SHIFT_SECONDS)"
        );
        return Ok(Arc::new(shifted::ShiftedClock(seconds)));
    }
    Ok(Arc::new(SystemClock))
}

#[cfg(debug_assertions)]
mod shifted {
    use tabys_core::{Clock, SystemClock, Timestamp};

    /// The wall clock moved by a fixed number of seconds; for end-to-end tests only.
    pub struct ShiftedClock(pub i64);

    impl Clock for ShiftedClock {
        fn now(&self) -> Timestamp {
            SystemClock.now().plus_seconds(self.0)
        }
    }
}

async fn serve(settings: Settings, no_worker: bool) -> anyhow::Result<()> {
    let db = open(&settings).await?;
    serve_db(settings, db, no_worker).await
}

async fn serve_db(settings: Settings, db: Db, no_worker: bool) -> anyhow::Result<()> {
    let (stop_tx, stop) = tokio::sync::watch::channel(false);
    if !no_worker {
        tabys_billing::jobs::schedule_daily(&db).await?;
    }
    let registry = registry(&settings)?;
    let worker =
        (!no_worker).then(|| tokio::spawn(tabys_store::jobs::work(db.clone(), registry, stop)));
    let state = tabys_web::AppState::new(db.clone(), settings.web(), settings.files()?)
        .with_billing(settings.billing.clone());
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("listening on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    // Chat frames are small and must leave at once, not wait for the
    // previous one's acknowledgement (Nagle's algorithm).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    tracing::info!(%addr, database = %settings.redacted_database_url(), "serving");
    println!("Tabys is serving on http://{addr}/");
    axum::serve(listener, tabys_web::app(state).into_make_service())
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    let _ = stop_tx.send(true);
    if let Some(worker) = worker {
        worker.await?;
    }
    db.close().await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

async fn admin(db: &Db, task: AdminTask) -> anyhow::Result<()> {
    match task {
        AdminTask::CreateOperator {
            email,
            name,
            password,
        } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let mut tx = db.begin().await?;
            let new = tabys_accounts::users::NewUser {
                email,
                name,
                password,
                locale: Locale::Ru,
                adult_confirmed: true,
            };
            let user = tabys_accounts::users::create(&mut tx, db, new, true).await?;
            tx.commit().await?;
            println!("operator {} created (id {})", user.email, user.id);
        }
        AdminTask::ResetPassword { email, password } => {
            let email = Email::parse(&email).map_err(|e| anyhow::anyhow!("email: {e}"))?;
            let Some(user) = tabys_accounts::users::find_by_email(db, &email).await? else {
                bail!("no account with email {email}");
            };
            tabys_accounts::users::set_password(db, user.id, &password, None, None).await?;
            println!("password of {} reset; all its sessions ended", user.email);
        }
    }
    Ok(())
}
