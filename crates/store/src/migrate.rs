//! Migrations, kept per backend under `migrations/<dialect>/`, applied in
//! order and never edited once released: each applied file's checksum is
//! stored, and a changed file stops the start.

use sha2::{Digest, Sha256};
use tabys_core::{Error, Result};

use crate::{Db, Dialect};

struct Migration {
    version: i64,
    name: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

macro_rules! migrations {
    ($($version:literal $name:literal),* $(,)?) => {
        &[$(Migration {
            version: $version,
            name: $name,
            sqlite: include_str!(concat!("../migrations/sqlite/", $name, ".sql")),
            postgres: include_str!(concat!("../migrations/postgres/", $name, ".sql")),
        }),*]
    };
}

/// Every migration, oldest first. A new capability adds its file for both
/// backends and a line here.
const MIGRATIONS: &[Migration] = migrations![
    1 "0001_foundation",
    2 "0002_offers",
    3 "0003_notify",
    4 "0004_billing",
    5 "0005_files",
    6 "0006_notify_delivery",
    7 "0007_learning",
    8 "0008_live",
    9 "0009_bookings",
    10 "0010_attachments_and_guests",
    11 "0011_live_media",
];

fn checksum(sql: &str) -> String {
    hex::encode(Sha256::digest(sql.as_bytes()))
}

pub(crate) async fn run(db: &Db) -> Result<usize> {
    let mut tx = db.begin().await?;
    if db.dialect() == Dialect::Postgres {
        // Two nodes starting together must not both migrate.
        sqlx::query("SELECT pg_advisory_xact_lock(7001)")
            .execute(&mut *tx)
            .await?;
    }
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version BIGINT PRIMARY KEY,
            name TEXT NOT NULL,
            checksum TEXT NOT NULL,
            applied_at BIGINT NOT NULL)",
    )
    .execute(&mut *tx)
    .await?;
    let applied: Vec<(i64, String)> =
        sqlx::query_as("SELECT version, checksum FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    let mut count = 0;
    for m in MIGRATIONS {
        let sql = match db.dialect() {
            Dialect::Sqlite => m.sqlite,
            Dialect::Postgres => m.postgres,
        };
        let sum = checksum(sql);
        if let Some((_, stored)) = applied.iter().find(|(v, _)| *v == m.version) {
            if *stored != sum {
                return Err(Error::Internal(format!(
                    "migration {} was changed after it was applied; add a new migration instead",
                    m.name
                )));
            }
            continue;
        }
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(|e| Error::Internal(format!("migration {} failed: {e}", m.name)))?;
        sqlx::query(
            "INSERT INTO schema_migrations (version, name, checksum, applied_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(m.version)
        .bind(m.name)
        .bind(sum)
        .bind(db.now().millis())
        .execute(&mut *tx)
        .await?;
        count += 1;
    }
    tx.commit().await?;
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_and_exist_for_both_backends() {
        let mut last = 0;
        for m in MIGRATIONS {
            assert_eq!(m.version, last + 1, "{} is out of order", m.name);
            last = m.version;
            assert!(
                m.name.starts_with(&format!("{:04}_", m.version)),
                "{}",
                m.name
            );
            assert!(!m.sqlite.trim().is_empty() && !m.postgres.trim().is_empty());
        }
    }

    #[test]
    fn both_backends_have_the_same_tables_after_every_migration() {
        /// Applies a migration's CREATE, DROP and RENAME of tables to the
        /// set: SQLite rebuilds a table to change a column (create a copy,
        /// drop the old, rename the copy), PostgreSQL alters it in place.
        fn apply(tables: &mut std::collections::BTreeSet<String>, sql: &str) {
            let name = |rest: &str| {
                rest.split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_string()
            };
            for line in sql.lines().map(str::trim) {
                if let Some(rest) = line.strip_prefix("CREATE TABLE ") {
                    tables.insert(name(rest));
                } else if let Some(rest) = line.strip_prefix("DROP TABLE ") {
                    tables.remove(name(rest).trim_end_matches(';'));
                } else if let Some(rest) = line.strip_prefix("ALTER TABLE ")
                    && let Some((from, to)) = rest.split_once(" RENAME TO ")
                    && tables.remove(from.trim())
                {
                    tables.insert(to.trim().trim_end_matches(';').to_string());
                }
            }
        }
        let (mut sqlite, mut postgres) = Default::default();
        for m in MIGRATIONS {
            apply(&mut sqlite, m.sqlite);
            apply(&mut postgres, m.postgres);
            assert_eq!(sqlite, postgres, "{}", m.name);
        }
    }
}
