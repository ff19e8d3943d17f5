//! `tabys bench lesson` and `tabys bench certificate`.
//!
//! `lesson`: signed-in students of a course open its lesson pages over
//! HTTP on 127.0.0.1 as fast as they can, on a fresh SQLite or PostgreSQL
//! database; it ends with
//! `RESULT lesson db=<sqlite|postgres> rps=<n> p99_ms=<n>`.
//!
//! `certificate`: renders a completed student's certificate PDF (colour,
//! QR code, subset fonts) on every core for a while; it ends with
//! `RESULT certificate per_s=<n>`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};
use tabys_accounts::members;
use tabys_accounts::organizers::{self, ProfileInput};
use tabys_accounts::sessions::{self, Origin};
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_learning::courses::{self, Course, CourseInput, LessonInput};
use tabys_learning::{certificates, progress};
use tabys_store::Db;

use crate::bench::{CheckoutArgs, fresh_db};

#[derive(clap::Args)]
pub struct LessonArgs {
    /// `sqlite` (a file in a temporary folder) or `postgres` (a fresh schema).
    #[arg(long, default_value = "sqlite")]
    pub db: String,
    /// Students reading at the same time.
    #[arg(long, default_value_t = 64)]
    pub students: usize,
    /// How long to keep reading.
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

#[derive(clap::Args)]
pub struct CertificateArgs {
    /// How long to keep rendering.
    #[arg(long, default_value_t = 10)]
    pub seconds: u64,
}

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("{e}"))
}

async fn person(db: &Db, address: &str) -> anyhow::Result<UserId> {
    let mut tx = db.begin().await?;
    let user = users::create(
        &mut tx,
        db,
        NewUser {
            email: email(address)?,
            name: format!("Студент {address}"),
            password: "bench-password-1".into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        },
        false,
    )
    .await?;
    tx.commit().await?;
    Ok(user.id)
}

/// A school with a published course of `lessons` lessons of real length.
async fn school(db: &Db, lessons: usize) -> anyhow::Result<(OrgId, UserId, Course, Vec<i64>)> {
    let owner = person(db, "owner@bench.kz").await?;
    let profile = ProfileInput {
        slug: "bench".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «Bench Academy»".into(),
        email: "office@bench.kz".into(),
        legal_address: "г. Алматы".into(),
        iin_bin: "180540001239".into(),
        head_name: "Директоров Д. Д.".into(),
        head_position: "Директор".into(),
        ..ProfileInput::default()
    }
    .parse()?;
    let org = organizers::create(db, owner, profile).await?.id;
    let course = courses::create(
        db,
        org,
        &CourseInput {
            title: "SMMARKETING".into(),
            locale: "kk".into(),
            late_submissions: true,
            ..CourseInput::default()
        },
    )
    .await?;
    let module = courses::modules(db, org, course.id)
        .await?
        .first()
        .map(|m| m.id)
        .context("module")?;
    let body = "## Контент-жоспар\n\nБір аптаға **контент-жоспар** құрыңыз: айдар, формат, мақсат.\n\n- рилс\n- сторис\n- пост\n".repeat(6);
    let mut ids = Vec::new();
    for i in 0..lessons {
        let title = format!("Сабақ {}", i + 1);
        let l = courses::add_lesson(db, org, course.id, module, &title).await?;
        courses::update_lesson(
            db,
            org,
            l.id,
            &LessonInput {
                title,
                body: body.clone(),
                module_id: module.to_string(),
                required: true,
                drip: "all".into(),
                assignment: if i % 2 == 1 {
                    "Жоспар жіберіңіз.".into()
                } else {
                    String::new()
                },
                ..LessonInput::default()
            },
        )
        .await?;
        courses::set_lesson_published(db, org, l.id, true).await?;
        ids.push(l.id);
    }
    courses::set_published(db, org, course.id, true).await?;
    let course = courses::get(db, org, course.id).await?;
    Ok((org, owner, course, ids))
}

pub async fn lesson(args: LessonArgs) -> anyhow::Result<()> {
    let (db, cleanup) = fresh_db(&CheckoutArgs {
        db: args.db.clone(),
        customers: args.students,
        seconds: args.seconds,
        pg_url: args.pg_url.clone(),
    })
    .await?;
    let result = drive(&db, &args).await;
    db.close().await;
    cleanup();
    println!("{}", result?);
    Ok(())
}

async fn drive(db: &Db, args: &LessonArgs) -> anyhow::Result<String> {
    db.migrate().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    // The lessons have no files; the folder is only named.
    let files = tabys_files::Files::new(std::env::temp_dir().join("tabys-bench-files"), [0; 32]);
    let state = tabys_web::AppState::new(db.clone(), tabys_web::WebConfig::default(), files);
    let app = tabys_web::app(state);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service()).await;
    });
    let (org, owner, course, lessons) = school(db, 6).await?;
    let n = args.students.max(1);
    let mut clients = Vec::with_capacity(n);
    for i in 0..n {
        let address = format!("student{i}@bench.kz");
        let student = person(db, &address).await?;
        tabys_learning::access::grant(db, org, course.id, owner, &address, "").await?;
        let mut tx = db.begin().await?;
        members::join_as_customer(&mut tx, db, org, student).await?;
        let token = sessions::open(
            &mut tx,
            db,
            student,
            &Origin {
                ip: "127.0.0.1".into(),
                user_agent: "bench".into(),
            },
        )
        .await?;
        tx.commit().await?;
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(
            reqwest::header::COOKIE,
            format!("sid={token}; csrf=bench").parse()?,
        );
        clients.push(
            reqwest::Client::builder()
                .default_headers(headers)
                .redirect(reqwest::redirect::Policy::none())
                .pool_max_idle_per_host(2)
                .build()?,
        );
    }
    // Every page must be a real lesson page before timing starts.
    let probe = clients[0]
        .get(format!(
            "{base}/cabinet/courses/{}/lessons/{}",
            course.id, lessons[0]
        ))
        .send()
        .await?;
    ensure!(
        probe.status() == reqwest::StatusCode::OK,
        "lesson page answered {}",
        probe.status()
    );
    ensure!(
        probe.text().await?.contains("data-lesson-body"),
        "not a lesson page"
    );
    eprintln!(
        "bench: {n} students, {} s, {} database",
        args.seconds, args.db
    );
    let stop = Arc::new(AtomicBool::new(false));
    let failures = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (i, http) in clients.into_iter().enumerate() {
        let (stop, failures, base, lessons) = (
            stop.clone(),
            failures.clone(),
            base.clone(),
            lessons.clone(),
        );
        let course = course.id;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut k = i;
            while !stop.load(Ordering::Relaxed) {
                k += 1;
                let lesson = lessons[k % lessons.len()];
                let t = Instant::now();
                let ok = match http
                    .get(format!("{base}/cabinet/courses/{course}/lessons/{lesson}"))
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => r.bytes().await.is_ok(),
                    _ => false,
                };
                if ok {
                    latencies.push(t.elapsed());
                } else {
                    failures.fetch_add(1, Ordering::Relaxed);
                }
            }
            latencies
        }));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort();
    let p99 = latencies
        .get(((latencies.len() as f64 - 1.0) * 0.99).round() as usize)
        .map_or(0, |d| d.as_millis());
    eprintln!(
        "bench: {} pages, {} failed, {elapsed:.1} s",
        latencies.len(),
        failures.load(Ordering::Relaxed)
    );
    Ok(format!(
        "RESULT lesson db={} rps={:.0} p99_ms={p99}",
        args.db,
        latencies.len() as f64 / elapsed
    ))
}

pub async fn certificate(args: CertificateArgs) -> anyhow::Result<()> {
    let (db, cleanup) = fresh_db(&CheckoutArgs {
        db: "sqlite".into(),
        customers: 1,
        seconds: args.seconds,
        pg_url: String::new(),
    })
    .await?;
    let result = render_many(&db, &args).await;
    db.close().await;
    cleanup();
    println!("{}", result?);
    Ok(())
}

async fn render_many(db: &Db, args: &CertificateArgs) -> anyhow::Result<String> {
    db.migrate().await?;
    let (org, owner, course, lessons) = school(db, 1).await?;
    let address = "graduate@bench.kz";
    let student = person(db, address).await?;
    tabys_learning::access::grant(db, org, course.id, owner, address, "").await?;
    certificates::save_recipient(
        db,
        org,
        student,
        &certificates::RecipientInput {
            kind: "individual".into(),
            full_name: "Әлия Серікқызы Нұрланова".into(),
            address: "Алматы, Абай даңғылы, 10".into(),
            email: address.into(),
            ..certificates::RecipientInput::default()
        },
    )
    .await?;
    progress::mark_done(db, &course, student, lessons[0]).await?;
    let cert = certificates::for_student(db, course.id, student)
        .await?
        .filter(|c| c.is_issued())
        .context("no certificate issued")?;
    let organizer = organizers::get(db, org).await?;
    let link = format!("https://tabys.example/certificates/{}", cert.number);
    let shared = Arc::new((cert, course, organizer, link));
    let stop = Arc::new(AtomicBool::new(false));
    let count = Arc::new(AtomicU64::new(0));
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..threads {
        let (shared, stop, count) = (shared.clone(), stop.clone(), count.clone());
        handles.push(tokio::task::spawn_blocking(
            move || -> anyhow::Result<()> {
                let (cert, course, organizer, link) = &*shared;
                let tr = tabys_i18n::Tr::new(course.locale);
                while !stop.load(Ordering::Relaxed) {
                    let pdf = certificates::document(cert, course, organizer, link, &|k| tr.t(k))?;
                    ensure!(pdf.starts_with(b"%PDF"), "not a PDF");
                    count.fetch_add(1, Ordering::Relaxed);
                }
                Ok(())
            },
        ));
    }
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    stop.store(true, Ordering::Relaxed);
    for h in handles {
        h.await??;
    }
    let elapsed = started.elapsed().as_secs_f64();
    let n = count.load(Ordering::Relaxed);
    eprintln!("bench: {n} certificates on {threads} threads in {elapsed:.1} s");
    Ok(format!(
        "RESULT certificate per_s={:.0}",
        n as f64 / elapsed
    ))
}
