use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, ConnectOptions, Executor};
use tabys_core::{Clock, Error, Result, Timestamp};

/// A connection inside a transaction or from the pool; what query helpers take.
pub type Conn = sqlx::AnyConnection;
/// A write transaction. Commit it; dropping it rolls back.
pub type Tx = sqlx::Transaction<'static, Any>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    pub fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// Appended to a `SELECT` that claims rows for one worker. SQLite needs
    /// nothing: its writes are already serialized through one connection.
    pub fn skip_locked(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Appended to a `SELECT` that reads a row about to be changed in the
    /// same transaction (a seat, a balance).
    pub fn for_update(self) -> &'static str {
        match self {
            Self::Sqlite => "",
            Self::Postgres => " FOR UPDATE",
        }
    }
}

/// The database. Cheap to clone.
///
/// Reads go to `read`; every transaction goes to `write`. On SQLite the write
/// pool has a single connection, so writers queue in the process instead of
/// failing with SQLITE_BUSY, while readers proceed in parallel under WAL. On
/// PostgreSQL both are the same pool.
#[derive(Clone)]
pub struct Db {
    read: AnyPool,
    write: AnyPool,
    dialect: Dialect,
    clock: Arc<dyn Clock>,
}

impl Db {
    /// Connects to `sqlite://…` or `postgres://…`. A SQLite file and its
    /// folder are created when missing.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(Error::Internal(
                "database URL must start with sqlite:// or postgres://".into(),
            ));
        };
        let db = match dialect {
            Dialect::Sqlite => {
                let url = sqlite_url(url)?;
                let options: AnyConnectOptions = url
                    .parse::<AnyConnectOptions>()
                    .map_err(Error::internal)?
                    .disable_statement_logging();
                let write = sqlite_pool(1).connect_with(options.clone()).await?;
                // WAL is a property of the file: set once, before readers open it.
                sqlx::query("PRAGMA journal_mode=WAL")
                    .execute(&write)
                    .await?;
                let read = sqlite_pool(8).connect_with(options).await?;
                Self {
                    read,
                    write,
                    dialect,
                    clock,
                }
            }
            Dialect::Postgres => {
                let options: AnyConnectOptions = url
                    .parse::<AnyConnectOptions>()
                    .map_err(Error::internal)?
                    .disable_statement_logging();
                let pool = AnyPoolOptions::new()
                    .max_connections(16)
                    .acquire_timeout(Duration::from_secs(10))
                    .connect_with(options)
                    .await?;
                Self {
                    read: pool.clone(),
                    write: pool,
                    dialect,
                    clock,
                }
            }
        };
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    pub fn clock(&self) -> Arc<dyn Clock> {
        self.clock.clone()
    }

    /// The pool for reads outside a transaction.
    pub fn read(&self) -> &AnyPool {
        &self.read
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(self.write.begin().await?)
    }

    /// Applies every migration not yet applied.
    pub async fn migrate(&self) -> Result<usize> {
        crate::migrate::run(self).await
    }

    /// Is the database answering?
    pub async fn ping(&self) -> Result<()> {
        self.read.execute("SELECT 1").await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.read.close().await;
        self.write.close().await;
    }
}

fn sqlite_pool(size: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(size)
        .acquire_timeout(Duration::from_secs(30))
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA foreign_keys=ON").await?;
                conn.execute("PRAGMA busy_timeout=10000").await?;
                conn.execute("PRAGMA synchronous=NORMAL").await?;
                Ok(())
            })
        })
}

/// Makes sure the file will be created and its folder exists.
fn sqlite_url(url: &str) -> Result<String> {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path == ":memory:" {
        return Err(Error::Internal(
            "SQLite needs a file path (WAL mode does not work in memory)".into(),
        ));
    }
    if let Some(parent) = std::path::Path::new(path).parent()
        && !parent.as_os_str().is_empty()
    {
        std::fs::create_dir_all(parent).map_err(Error::internal)?;
    }
    Ok(if rest.contains('?') {
        format!("sqlite://{rest}")
    } else {
        format!("sqlite://{rest}?mode=rwc")
    })
}
