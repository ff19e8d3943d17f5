//! The test harness every capability's tests use.
//!
//! Each test gets its own database — a SQLite file in a temporary folder, or
//! a fresh schema in the PostgreSQL server named by `TABYS_TEST_PG_URL` —
//! and the real application served on 127.0.0.1 at a random port, with a
//! [`TestClock`] the test moves. [`Client`] acts as a person over HTTP: it
//! keeps cookies and fills in the CSRF token like a browser does.
//!
//! Write tests with [`db_test!`]: each becomes one test per database. The
//! PostgreSQL variant fails loudly when `TABYS_TEST_PG_URL` is not set;
//! `scripts/test` leaves those variants out in that case and says so.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use rand::RngCore;
use reqwest::StatusCode;
use tabys_core::{TestClock, Timestamp};
use tabys_store::Db;

pub use reqwest;
pub use serde_json::{Value, json};

/// 2026-03-02 09:00 UTC (14:00 in Almaty), a Monday: where test time starts.
pub const START: Timestamp = Timestamp::from_millis(1_772_442_000_000);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Generates `mod $name { sqlite, postgres }` around an `async fn(TestApp)`.
#[macro_export]
macro_rules! db_test {
    ($(#[$meta:meta])* async fn $name:ident($app:ident : TestApp) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($app: $crate::TestApp) -> ::anyhow::Result<()> $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() -> ::anyhow::Result<()> {
                run($crate::TestApp::spawn($crate::Backend::Sqlite).await?).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() -> ::anyhow::Result<()> {
                run($crate::TestApp::spawn($crate::Backend::Postgres).await?).await
            }
        }
    };
}

/// Generates `mod $name { sqlite, postgres }` around an `async fn(TestDb)`,
/// for tests of the store that need a database but no server. The
/// PostgreSQL variant fails loudly when `TABYS_TEST_PG_URL` is not set, like
/// [`db_test!`]'s.
#[macro_export]
macro_rules! db_only_test {
    ($(#[$meta:meta])* async fn $name:ident($db:ident : TestDb) $body:block) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;

            async fn run($db: $crate::TestDb) -> ::anyhow::Result<()> $body

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() -> ::anyhow::Result<()> {
                run($crate::TestDb::new($crate::Backend::Sqlite).await?).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() -> ::anyhow::Result<()> {
                run($crate::TestDb::new($crate::Backend::Postgres).await?).await
            }
        }
    };
}

/// A database of its own for one test; removed when dropped.
pub struct TestDb {
    pub db: Db,
    pub clock: TestClock,
    /// Uploaded files, in a folder of this test's own.
    pub files: tabys_files::Files,
    cleanup: Cleanup,
}

enum Cleanup {
    Folder(PathBuf),
    Schema { url: String, schema: String },
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    rand::rng().fill_bytes(&mut b);
    hex::encode(b)
}

/// The PostgreSQL server for tests, or why there is none.
pub fn pg_url() -> anyhow::Result<String> {
    match std::env::var("TABYS_TEST_PG_URL") {
        Ok(url) if !url.is_empty() => Ok(url),
        _ => bail!(
            "TABYS_TEST_PG_URL is not set, so this PostgreSQL test cannot run. \
             Set it (e.g. postgres://postgres@127.0.0.1:5432/test) or run scripts/test, \
             which leaves the PostgreSQL variants out and says so."
        ),
    }
}

impl TestDb {
    pub async fn new(backend: Backend) -> anyhow::Result<Self> {
        let clock = TestClock::at(START);
        let (url, cleanup) = match backend {
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("tabys-test-{}", random_suffix()));
                std::fs::create_dir_all(&dir)?;
                (
                    format!("sqlite://{}", dir.join("tabys.db").display()),
                    Cleanup::Folder(dir),
                )
            }
            Backend::Postgres => {
                let base = pg_url()?;
                let schema = format!("t_{}", random_suffix());
                let mut conn = <sqlx::PgConnection as sqlx::Connection>::connect(&base)
                    .await
                    .with_context(|| "connecting to TABYS_TEST_PG_URL")?;
                sqlx::query(&format!("CREATE SCHEMA {schema}"))
                    .execute(&mut conn)
                    .await?;
                let sep = if base.contains('?') { '&' } else { '?' };
                let url = format!("{base}{sep}options=-c%20search_path%3D{schema}");
                (url, Cleanup::Schema { url: base, schema })
            }
        };
        let db = Db::connect(&url, Arc::new(clock.clone())).await?;
        db.migrate().await?;
        let files_dir = std::env::temp_dir().join(format!("tabys-files-{}", random_suffix()));
        let files = tabys_files::Files::new(files_dir, rand::random());
        Ok(Self {
            db,
            clock,
            files,
            cleanup,
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(self.files.root());
        match &self.cleanup {
            Cleanup::Folder(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Schema { url, schema } => {
                let (url, schema) = (url.clone(), schema.clone());
                // Drop runs inside the test's runtime; a thread of its own may block.
                let _ = std::thread::spawn(move || {
                    let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                    else {
                        return;
                    };
                    rt.block_on(async {
                        if let Ok(mut c) =
                            <sqlx::PgConnection as sqlx::Connection>::connect(&url).await
                        {
                            let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
                                .execute(&mut c)
                                .await;
                        }
                    });
                })
                .join();
            }
        }
    }
}

/// The application served on a random port, over its own database.
pub struct TestApp {
    pub base: String,
    pub db: Db,
    pub clock: TestClock,
    /// Where the app keeps uploaded files.
    pub files: tabys_files::Files,
    pub backend: Backend,
    /// The payment providers' stand-in, on its own port, sharing the clock.
    pub fake: tabys_providers_fake::FakeProvider,
    /// The money settings the app runs with (pointing at `fake`).
    pub billing: Arc<tabys_billing::BillingConfig>,
    /// The SMTP sink and the SMSC stand-in, with their pages.
    pub post: tabys_providers_fake::messaging::FakeMessaging,
    /// The sending settings the worker runs with (pointing at `post`).
    pub notify: Arc<tabys_delivery::NotifyConfig>,
    /// The object store files are kept in, when the app runs with the S3
    /// storage ([`TestApp::spawn_on_s3`]).
    pub s3: Option<tabys_providers_fake::s3::FakeS3>,
    _db: TestDb,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> anyhow::Result<Self> {
        Self::spawn_with(backend, tabys_web::WebConfig::default()).await
    }

    pub async fn spawn_with(
        backend: Backend,
        config: tabys_web::WebConfig,
    ) -> anyhow::Result<Self> {
        Self::start(backend, config, None).await
    }

    /// The application keeping files in an S3 stand-in (bucket `tabys`)
    /// instead of its folder; the folder then holds only uploads in progress.
    pub async fn spawn_on_s3(backend: Backend) -> anyhow::Result<Self> {
        let s3 = tabys_providers_fake::s3::FakeS3::start(
            "127.0.0.1:0".parse()?,
            tabys_providers_fake::s3::S3Config::default(),
        )
        .await?;
        Self::start(backend, tabys_web::WebConfig::default(), Some(s3)).await
    }

    async fn start(
        backend: Backend,
        config: tabys_web::WebConfig,
        s3: Option<tabys_providers_fake::s3::FakeS3>,
    ) -> anyhow::Result<Self> {
        let mut test_db = TestDb::new(backend).await?;
        if let Some(store) = &s3 {
            test_db.files = tabys_files::Files::with_storage(
                test_db.files.root().to_path_buf(),
                rand::random(),
                &storage_for(store),
            )
            .map_err(anyhow::Error::msg)?;
        }
        let fake = tabys_providers_fake::FakeProvider::start(
            "127.0.0.1:0".parse()?,
            tabys_providers_fake::FakeConfig {
                slow_ms: 1_500,
                ..Default::default()
            },
            Arc::new(test_db.clock.clone()),
        )
        .await?;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        fake.set_merchant(&format!("http://{addr}"));
        let billing = billing_for(&fake, &format!("http://{addr}"));
        let post = tabys_providers_fake::messaging::FakeMessaging::start(
            "127.0.0.1:0".parse()?,
            "127.0.0.1:0".parse()?,
            tabys_providers_fake::smsc::SmscConfig::default(),
        )
        .await?;
        let notify = notify_for(&post, &format!("http://{addr}"));
        let state = tabys_web::AppState::new(test_db.db.clone(), config, test_db.files.clone())
            .with_billing(billing.clone());
        let app = tabys_web::app(state);
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app.into_make_service()).await;
        });
        Ok(Self {
            base: format!("http://{addr}"),
            db: test_db.db.clone(),
            clock: test_db.clock.clone(),
            files: test_db.files.clone(),
            backend,
            fake,
            billing: Arc::new(billing),
            post,
            notify: Arc::new(notify),
            s3,
            _db: test_db,
            server,
        })
    }

    /// Runs every job that is due now (the worker does not run in tests:
    /// a test moves the clock and then runs what became due).
    pub async fn run_jobs(&self) -> anyhow::Result<tabys_store::jobs::Pass> {
        let mut registry = tabys_store::jobs::Registry::default();
        tabys_billing::jobs::register(&mut registry, self.billing.clone());
        tabys_delivery::sender::register(&mut registry, self.notify.clone(), self.files.clone());
        tabys_learning::jobs::register(
            &mut registry,
            self.files.clone(),
            self.billing.public_url.clone(),
        );
        tabys_live::jobs::register(&mut registry);
        Ok(tabys_store::jobs::run_due(&self.db, &registry, 1_000).await?)
    }

    /// A new person's browser: no cookies yet.
    pub fn client(&self) -> anyhow::Result<Client> {
        Client::new(&self.base)
    }

    /// Signs a new person up and returns their browser.
    pub async fn person(&self, email: &str, name: &str) -> anyhow::Result<Client> {
        let c = self.client()?;
        let r = c
            .post_form(
                "/signup",
                &[("name", name), ("email", email), ("password", PASSWORD)],
            )
            .await?;
        if r.status != StatusCode::SEE_OTHER {
            bail!("sign-up of {email} answered {}: {}", r.status, r.text);
        }
        Ok(c)
    }

    /// Adds a staff login with `role` (`manager`, `curator`, `support`)
    /// through the owner's staff form and returns its browser, signed in.
    pub async fn staff(
        &self,
        owner: &Client,
        org: i64,
        email: &str,
        role: &str,
    ) -> anyhow::Result<Client> {
        let r = owner
            .post_form(
                &format!("/org/{org}/staff"),
                &[
                    ("email", email),
                    ("name", "Staff"),
                    ("role", role),
                    ("password", PASSWORD),
                ],
            )
            .await?;
        if r.status != StatusCode::SEE_OTHER {
            bail!("adding {email} answered {}: {}", r.status, r.text);
        }
        let c = self.client()?;
        let r = c
            .post_form("/login", &[("email", email), ("password", PASSWORD)])
            .await?;
        if r.status != StatusCode::SEE_OTHER {
            bail!("sign-in of {email} answered {}: {}", r.status, r.text);
        }
        Ok(c)
    }

    /// Signs a person up and creates an organizer they own; returns the browser and the organizer id.
    pub async fn organizer(&self, email: &str, slug: &str) -> anyhow::Result<(Client, i64)> {
        let c = self.person(email, "Owner").await?;
        let r = c.post_form("/organizers/new", &org_form(slug)).await?;
        if r.status != StatusCode::SEE_OTHER {
            bail!(
                "creating organizer {slug} answered {}: {}",
                r.status,
                r.text
            );
        }
        let id = r
            .location
            .as_deref()
            .and_then(|l| l.strip_prefix("/org/"))
            .and_then(|id| id.parse().ok())
            .context("organizer id in redirect")?;
        Ok((c, id))
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Money settings pointing at a running fake provider: its gateway API and
/// secrets, its Kaspi credentials and registry, and short provider timeouts
/// so that "the gateway did not answer" is tested in about a second.
pub fn billing_for(
    fake: &tabys_providers_fake::FakeProvider,
    merchant: &str,
) -> tabys_billing::BillingConfig {
    let f = fake.config();
    let mut b = tabys_billing::BillingConfig::default();
    b.cloudpayments.api_url = fake.base().to_string();
    b.cloudpayments.public_id = f.public_id;
    b.cloudpayments.api_secret = f.api_secret;
    b.kaspi.login = f.kaspi_login;
    b.kaspi.password = f.kaspi_password;
    b.kaspi.registry_url = format!("{}/kaspi/registry", fake.base());
    b.public_url = merchant.to_string();
    b.provider_timeout_ms = 1_000;
    b.operator = tabys_billing::config::Requisites {
        legal_name: "ТОО «Tabys Operator»".into(),
        bin: "180540001239".into(),
        address: "г. Алматы, пр. Абая, 1".into(),
        iik: "KZ86125KZT5004100100".into(),
        bik: "HSBKKZKX".into(),
        bank: "АО «Народный Банк Казахстана»".into(),
        kbe: "17".into(),
    };
    b
}

/// Storage settings for the S3 stand-in's bucket `tabys`, with its key.
pub fn storage_for(store: &tabys_providers_fake::s3::FakeS3) -> tabys_files::StorageConfig {
    let cfg = store.config();
    let (access_key, secret_key) = cfg
        .keys
        .iter()
        .next()
        .map(|(k, s)| (k.clone(), s.clone()))
        .unwrap_or_default();
    tabys_files::StorageConfig {
        s3_endpoint: store.base().to_string(),
        s3_bucket: cfg.buckets.first().cloned().unwrap_or_default(),
        s3_region: cfg.region.clone(),
        s3_access_key: access_key,
        s3_secret_key: secret_key,
    }
}

/// Sending settings pointing at a running post office: plain SMTP to its
/// sink, the SMSC stand-in's operator account, and one-second timeouts so
/// that "the server did not answer" is tested in about a second.
pub fn notify_for(
    post: &tabys_providers_fake::messaging::FakeMessaging,
    site: &str,
) -> tabys_delivery::NotifyConfig {
    let mut n = tabys_delivery::NotifyConfig::default();
    n.smtp.host = post.smtp_addr().ip().to_string();
    n.smtp.port = post.smtp_addr().port();
    n.smtp.security = tabys_delivery::config::Security::Plain;
    n.smtp.from = "no-reply@tabys.test".into();
    n.smtp.timeout_ms = 1_000;
    n.smsc.url = post.base().to_string();
    n.smsc.login = "tabys".into();
    n.smsc.password = "smsc-test-password".into();
    n.smsc.timeout_ms = 1_000;
    n.public_url = site.to_string();
    n
}

/// The password every test person gets.
pub const PASSWORD: &str = "correct-horse-42";

/// A valid organizer profile form (a legal entity with a valid BIN and IBAN).
pub fn org_form(slug: &str) -> Vec<(&'static str, String)> {
    vec![
        ("slug", slug.to_string()),
        ("legal_form", "legal_entity".into()),
        ("legal_name", format!("ТОО «{slug}»")),
        ("email", format!("office@{slug}.kz")),
        ("legal_address", "г. Алматы, пр. Абая, 1".into()),
        ("iin_bin", "180540001239".into()),
        ("iik", "KZ86125KZT5004100100".into()),
        ("bik", "HSBKKZKX".into()),
        ("kbe", "17".into()),
        ("head_name", "Директоров Д. Д.".into()),
        ("head_position", "Директор".into()),
    ]
}

/// What came back, read once.
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub location: Option<String>,
    pub text: String,
    pub headers: reqwest::header::HeaderMap,
    /// The body as it came: `text` is it read as UTF-8.
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> anyhow::Result<serde_json::Value> {
        serde_json::from_str(&self.text).with_context(|| format!("not JSON: {}", self.text))
    }
}

/// A browser: keeps cookies, follows no redirects, fills in CSRF tokens.
pub struct Client {
    base: String,
    http: reqwest::Client,
    jar: Arc<reqwest::cookie::Jar>,
}

impl Client {
    pub fn new(base: &str) -> anyhow::Result<Self> {
        let jar = Arc::new(reqwest::cookie::Jar::default());
        let http = reqwest::Client::builder()
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self {
            base: base.to_string(),
            http,
            jar,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// The value of one of this browser's cookies.
    pub fn cookie(&self, name: &str) -> Option<String> {
        use reqwest::cookie::CookieStore;
        let url = self.base.parse().ok()?;
        let header = self.jar.cookies(&url)?;
        let text = header.to_str().ok()?.to_string();
        text.split("; ")
            .find_map(|p| p.strip_prefix(&format!("{name}=")).map(str::to_string))
    }

    async fn read(r: reqwest::Response) -> anyhow::Result<Reply> {
        let status = r.status();
        let headers = r.headers().clone();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let bytes = r.bytes().await?.to_vec();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        Ok(Reply {
            status,
            location,
            text,
            headers,
            bytes,
        })
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Reply> {
        Self::read(self.http.get(self.url(path)).send().await?).await
    }

    pub async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> anyhow::Result<Reply> {
        let mut req = self.http.get(self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(req.send().await?).await
    }

    /// Makes sure the browser holds a CSRF cookie, as after viewing any page.
    pub async fn csrf(&self) -> anyhow::Result<String> {
        if let Some(t) = self.cookie("csrf") {
            return Ok(t);
        }
        self.get("/healthz").await?;
        self.cookie("csrf")
            .context("no csrf cookie after a page view")
    }

    /// Posts a form with the CSRF token filled in.
    pub async fn post_form<K: AsRef<str>, V: AsRef<str>>(
        &self,
        path: &str,
        fields: &[(K, V)],
    ) -> anyhow::Result<Reply> {
        let token = self.csrf().await?;
        let mut pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        pairs.push(("csrf", &token));
        Self::read(self.http.post(self.url(path)).form(&pairs).send().await?).await
    }

    /// Posts a form exactly as given: no CSRF token added.
    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> anyhow::Result<Reply> {
        Self::read(
            self.http
                .post(self.url(path))
                .header("content-type", content_type)
                .body(body)
                .send()
                .await?,
        )
        .await
    }

    /// An API call with the session cookie and the CSRF header.
    pub async fn api(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<Reply> {
        let token = self.csrf().await?;
        let mut req = self
            .http
            .request(method, self.url(path))
            .header("x-csrf-token", token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await?).await
    }

    /// Any request, with this browser's cookies, extra headers and an
    /// optional body sent as given (content type among the headers). Nothing
    /// is filled in: no CSRF token, no content type.
    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<Vec<u8>>,
    ) -> anyhow::Result<Reply> {
        let mut req = self.http.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(b) = body {
            req = req.body(b);
        }
        Self::read(req.send().await?).await
    }

    /// Posts a form with the CSRF token filled in and extra headers
    /// (`Accept-Language`, …).
    /// Posts a multipart form as a browser sends a file input: the CSRF
    /// token and `fields` first, then the file in the field `file`.
    pub async fn upload(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        file_name: &str,
        bytes: &[u8],
    ) -> anyhow::Result<Reply> {
        let token = self.csrf().await?;
        let boundary = format!("----tabys{}", random_suffix());
        let mut body = Vec::new();
        for (name, value) in [("csrf", token.as_str())].iter().chain(fields) {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{file_name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        self.post_raw(
            path,
            &format!("multipart/form-data; boundary={boundary}"),
            body,
        )
        .await
    }

    pub async fn post_form_with<K: AsRef<str>, V: AsRef<str>>(
        &self,
        path: &str,
        fields: &[(K, V)],
        headers: &[(&str, &str)],
    ) -> anyhow::Result<Reply> {
        let token = self.csrf().await?;
        let mut pairs: Vec<(&str, &str)> = fields
            .iter()
            .map(|(k, v)| (k.as_ref(), v.as_ref()))
            .collect();
        pairs.push(("csrf", &token));
        let mut req = self.http.post(self.url(path)).form(&pairs);
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::read(req.send().await?).await
    }

    /// An API call with a bearer token and no cookies.
    pub async fn bearer(
        base: &str,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<Reply> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        let mut req = http
            .request(method, format!("{base}{path}"))
            .bearer_auth(token);
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::read(req.send().await?).await
    }
}
