//! Checks the evidence of offers offline, for `tabys audit verify`: every
//! published version's stored hash is recomputed from its stored content,
//! and every acceptance must name its version's hash and have its audit
//! entry, which must record the same hash, person and version.

use std::collections::HashMap;

use sqlx::Row;
use tabys_core::Result;
use tabys_store::Db;

use crate::acceptance;
use crate::version;

/// What the check found. `problems` is empty when everything matches.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub versions: i64,
    pub acceptances: i64,
    pub problems: Vec<String>,
}

impl Report {
    pub fn is_intact(&self) -> bool {
        self.problems.is_empty()
    }
}

const PAGE: i64 = 1000;

pub async fn verify(db: &Db) -> Result<Report> {
    let mut report = Report::default();
    let mut hashes: HashMap<i64, String> = HashMap::new();
    let mut after = 0;
    loop {
        let page = version::all(db, after, PAGE).await?;
        let Some(last) = page.last() else { break };
        after = last.id;
        for v in page {
            report.versions += 1;
            let recomputed = v.recompute_hash();
            if recomputed != v.hash {
                report.problems.push(format!(
                    "offer version {} (offer {}, no. {}): stored hash {} but its content hashes to {recomputed} (edited)",
                    v.id, v.offer_id, v.number, v.hash
                ));
            }
            hashes.insert(v.id, recomputed);
        }
    }
    let mut entries: HashMap<String, serde_json::Value> = HashMap::new();
    for row in sqlx::query("SELECT subject, data FROM audit_log WHERE action = 'offer.accepted'")
        .fetch_all(db.read())
        .await?
    {
        let data: String = row.try_get(1)?;
        entries.insert(
            row.try_get(0)?,
            serde_json::from_str(&data).unwrap_or(serde_json::Value::Null),
        );
    }
    let mut after = 0;
    loop {
        let rows = sqlx::query(
            "SELECT id, user_id, org_id, offer_id, version_id, version_hash, method, reference, accepted_at, ip, user_agent, locale, wording
             FROM offer_acceptances WHERE id > $1 ORDER BY id LIMIT $2",
        )
        .bind(after)
        .bind(PAGE)
        .fetch_all(db.read())
        .await?;
        let Some(last) = rows.last() else { break };
        after = last.try_get(0)?;
        for row in &rows {
            let a = acceptance::from_row(row)?;
            report.acceptances += 1;
            match hashes.get(&a.version_id) {
                None => report.problems.push(format!(
                    "acceptance {}: its version {} is missing",
                    a.id, a.version_id
                )),
                Some(h) if *h != a.version_hash => report.problems.push(format!(
                    "acceptance {}: records hash {} but version {} hashes to {h}",
                    a.id, a.version_hash, a.version_id
                )),
                Some(_) => {}
            }
            match entries.get(&a.audit_subject()) {
                None => report
                    .problems
                    .push(format!("acceptance {}: no audit entry records it", a.id)),
                Some(data) => {
                    let same = data.get("version_hash").and_then(|v| v.as_str())
                        == Some(a.version_hash.as_str())
                        && data.get("user_id").and_then(serde_json::Value::as_i64)
                            == Some(a.user_id.0)
                        && data.get("version_id").and_then(serde_json::Value::as_i64)
                            == Some(a.version_id)
                        && data.get("accepted_at").and_then(serde_json::Value::as_i64)
                            == Some(a.accepted_at.0);
                    if !same {
                        report
                            .problems
                            .push(format!("acceptance {}: differs from its audit entry", a.id));
                    }
                }
            }
        }
    }
    Ok(report)
}
