//! Settings: defaults, then a TOML file, then `TABYS_*` environment
//! variables, then command-line flags. The database URL may hold a password,
//! so it is only ever logged redacted.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// `sqlite://…` or `postgres://…`; by default a SQLite file in `data_dir`.
    pub database_url: String,
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    /// Mark cookies Secure: set when served over HTTPS.
    pub secure_cookies: bool,
    /// `text` or `json` log lines.
    pub log_format: String,
    pub max_body_bytes: usize,
    /// The largest upload (lesson video), in bytes.
    pub max_upload_bytes: usize,
    /// 64 hex digits signing links to files; by default kept in
    /// `<data_dir>/secret.key`, made on first start.
    pub secret_key: Option<String>,
    /// Money: the providers' endpoints and secrets, trial credit, fees,
    /// the operator's requisites (`[billing]` in the file).
    pub billing: tabys_billing::BillingConfig,
    /// Notifications: the SMTP server, the operator's SMSC account
    /// (`[notify.smtp]`, `[notify.smsc]` in the file).
    pub notify: tabys_delivery::NotifyConfig,
    /// Where uploaded files are kept: the data folder, or an S3-compatible
    /// bucket (`[files]` in the file).
    pub files: tabys_files::StorageConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: String::new(),
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            secure_cookies: false,
            log_format: "text".into(),
            max_body_bytes: 1024 * 1024,
            max_upload_bytes: tabys_web::WebConfig::default().max_upload_bytes,
            secret_key: None,
            billing: tabys_billing::BillingConfig::default(),
            notify: tabys_delivery::NotifyConfig::default(),
            files: tabys_files::StorageConfig::default(),
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.redacted_database_url())
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("secure_cookies", &self.secure_cookies)
            .field("log_format", &self.log_format)
            .field("notify", &self.notify)
            .field("files", &self.files)
            .finish()
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    pub fn load(
        file: Option<&Path>,
        data: Option<&Path>,
        listen: Option<SocketAddr>,
    ) -> anyhow::Result<Self> {
        let mut s = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Settings::default(),
        };
        if let Some(v) = env("TABYS_DATABASE_URL") {
            s.database_url = v;
        }
        if let Some(v) = env("TABYS_LISTEN") {
            s.listen = v
                .parse()
                .context("TABYS_LISTEN must be an address such as 127.0.0.1:8080")?;
        }
        if let Some(v) = env("TABYS_DATA_DIR") {
            s.data_dir = v.into();
        }
        if let Some(v) = env("TABYS_SECURE_COOKIES") {
            s.secure_cookies = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = env("TABYS_LOG_FORMAT") {
            s.log_format = v;
        }
        // The providers' secrets usually come from the environment, not the file.
        let b = &mut s.billing;
        for (name, field) in [
            ("TABYS_CLOUDPAYMENTS_URL", &mut b.cloudpayments.api_url),
            (
                "TABYS_CLOUDPAYMENTS_PUBLIC_ID",
                &mut b.cloudpayments.public_id,
            ),
            (
                "TABYS_CLOUDPAYMENTS_SECRET",
                &mut b.cloudpayments.api_secret,
            ),
            ("TABYS_KASPI_LOGIN", &mut b.kaspi.login),
            ("TABYS_KASPI_PASSWORD", &mut b.kaspi.password),
            ("TABYS_KASPI_REGISTRY_URL", &mut b.kaspi.registry_url),
            ("TABYS_PUBLIC_URL", &mut b.public_url),
        ] {
            if let Some(v) = env(name) {
                *field = v;
            }
        }
        let n = &mut s.notify;
        for (name, field) in [
            ("TABYS_SMTP_HOST", &mut n.smtp.host),
            ("TABYS_SMTP_USERNAME", &mut n.smtp.username),
            ("TABYS_SMTP_PASSWORD", &mut n.smtp.password),
            ("TABYS_SMTP_FROM", &mut n.smtp.from),
            ("TABYS_SMTP_FROM_NAME", &mut n.smtp.from_name),
            ("TABYS_SMTP_HELLO", &mut n.smtp.hello_name),
            ("TABYS_SMSC_URL", &mut n.smsc.url),
            ("TABYS_SMSC_LOGIN", &mut n.smsc.login),
            ("TABYS_SMSC_PASSWORD", &mut n.smsc.password),
            ("TABYS_SMSC_SENDER", &mut n.smsc.sender),
        ] {
            if let Some(v) = env(name) {
                *field = v;
            }
        }
        let f = &mut s.files;
        for (name, field) in [
            ("TABYS_S3_ENDPOINT", &mut f.s3_endpoint),
            ("TABYS_S3_BUCKET", &mut f.s3_bucket),
            ("TABYS_S3_REGION", &mut f.s3_region),
            ("TABYS_S3_ACCESS_KEY", &mut f.s3_access_key),
            ("TABYS_S3_SECRET_KEY", &mut f.s3_secret_key),
        ] {
            if let Some(v) = env(name) {
                *field = v;
            }
        }
        if let Some(v) = env("TABYS_SMTP_PORT") {
            n.smtp.port = v.parse().context("TABYS_SMTP_PORT must be a port number")?;
        }
        if let Some(v) = env("TABYS_SMTP_SECURITY") {
            n.smtp.security = tabys_delivery::config::Security::parse(&v)
                .context("TABYS_SMTP_SECURITY must be starttls, tls or plain")?;
        }
        if let Some(v) = env("TABYS_MAX_BODY_BYTES") {
            s.max_body_bytes = v.parse().context("TABYS_MAX_BODY_BYTES must be a number")?;
        }
        if let Some(v) = env("TABYS_MAX_UPLOAD_BYTES") {
            s.max_upload_bytes = v
                .parse()
                .context("TABYS_MAX_UPLOAD_BYTES must be a number")?;
        }
        if let Some(v) = env("TABYS_SECRET_KEY") {
            s.secret_key = Some(v);
        }
        if let Some(d) = data {
            s.data_dir = d.to_path_buf();
        }
        if let Some(l) = listen {
            s.listen = l;
        }
        // Links in messages lead to the site, wherever it is published.
        if s.notify.public_url.is_empty() {
            s.notify.public_url = if s.billing.public_url.is_empty() {
                format!("http://{}", s.listen)
            } else {
                s.billing.public_url.clone()
            };
        }
        if s.database_url.is_empty() {
            s.database_url = format!("sqlite://{}", s.data_dir.join("tabys.db").display());
        }
        Ok(s)
    }

    /// Uploaded files under `<data_dir>/files` or in the configured
    /// bucket (uploads in progress stay under `<data_dir>/files/tmp`),
    /// links signed with the secret key.
    pub fn files(&self) -> anyhow::Result<tabys_files::Files> {
        let key = tabys_files::load_key(&self.data_dir, self.secret_key.as_deref())
            .map_err(anyhow::Error::msg)?;
        tabys_files::Files::with_storage(self.data_dir.join("files"), key, &self.files)
            .map_err(anyhow::Error::msg)
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted_database_url(&self) -> String {
        match url::Url::parse(&self.database_url) {
            Ok(mut u) if u.password().is_some() => {
                let _ = u.set_password(Some("***"));
                u.to_string()
            }
            _ => self.database_url.clone(),
        }
    }

    pub fn web(&self) -> tabys_web::WebConfig {
        tabys_web::WebConfig {
            secure_cookies: self.secure_cookies,
            max_body_bytes: self.max_body_bytes,
            max_upload_bytes: self.max_upload_bytes,
            ..tabys_web::WebConfig::default()
        }
    }
}

pub fn init_logging(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if settings.log_format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_in_database_url_is_never_shown() {
        let s = Settings {
            database_url: "postgres://app:s3cret@db.internal/tabys".into(),
            ..Settings::default()
        };
        assert!(!format!("{s:?}").contains("s3cret"));
        assert!(s.redacted_database_url().contains("***"));
    }

    #[test]
    fn smtp_and_smsc_passwords_are_never_shown() {
        let mut s = Settings::default();
        s.notify.smtp.password = "smtp-s3cret".into();
        s.notify.smsc.password = "smsc-s3cret".into();
        let shown = format!("{s:?}");
        assert!(
            !shown.contains("smtp-s3cret") && !shown.contains("smsc-s3cret"),
            "{shown}"
        );
    }

    #[test]
    fn the_s3_secret_key_is_never_shown() {
        let mut s = Settings::default();
        s.files.s3_endpoint = "https://storage.example.kz".into();
        s.files.s3_access_key = "AKIDTABYS".into();
        s.files.s3_secret_key = "s3-s3cret".into();
        let shown = format!("{s:?}");
        assert!(!shown.contains("s3-s3cret"), "{shown}");
        assert!(shown.contains("storage.example.kz"), "{shown}");
    }

    #[test]
    fn files_settings_are_read_from_the_files_table() -> anyhow::Result<()> {
        let s: Settings = toml::from_str(
            "[files]\ns3_endpoint = \"http://127.0.0.1:9000\"\ns3_bucket = \"tabys\"\n\
             s3_access_key = \"k\"\ns3_secret_key = \"s\"\n",
        )?;
        assert!(s.files.is_s3());
        assert_eq!(s.files.s3_bucket, "tabys");
        // A bucket without its keys cannot work: the start is refused.
        let mut broken = s.clone();
        broken.files.s3_secret_key.clear();
        broken.secret_key = Some("00".repeat(32));
        let err = broken.files().map(|_| ()).map_err(|e| e.to_string());
        assert!(
            matches!(&err, Err(e) if e.contains("files.s3_secret_key")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn default_database_is_sqlite_in_the_data_folder() -> anyhow::Result<()> {
        let s = Settings::load(None, Some(Path::new("/tmp/x")), None)?;
        if env("TABYS_DATABASE_URL").is_none() {
            assert_eq!(s.database_url, "sqlite:///tmp/x/tabys.db");
        }
        Ok(())
    }
}
