//! Reconciliation: every record a provider holds must match exactly one
//! transfer in the ledger, and every payment the ledger holds must appear at
//! its provider. What does not match is listed for the operator; nothing is
//! changed here (a fix is a correcting posting or a refund, made by a
//! person who looked).
//!
//! Sources: the gateway's `payments/list` for each day, the Kaspi payment
//! registry (`txn_id;account;sum;txn_date` lines, one day per request), and
//! the imported bank statements.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use sqlx::Row;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::Db;

use crate::BillingConfig;
use crate::providers::cloudpayments::Client;
use crate::providers::parse_decimal;

#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Report {
    /// Provider records matched to exactly one transfer.
    pub matched: usize,
    /// Provider records with no (or a different) transfer: `provider ref: why`.
    pub unmatched_at_provider: Vec<String>,
    /// Ledger payments and payouts the provider does not know.
    pub unmatched_in_ledger: Vec<String>,
}

impl Report {
    pub fn is_clean(&self) -> bool {
        self.unmatched_at_provider.is_empty() && self.unmatched_in_ledger.is_empty()
    }
}

/// The days to look at: from the first payment we know of (or `days` back)
/// to today, in Almaty dates.
pub async fn window(db: &Db, days: i64) -> Result<Vec<Date>> {
    let now = db.now();
    let row = sqlx::query("SELECT MIN(created_at) FROM payments")
        .fetch_one(db.read())
        .await?;
    let first = row
        .try_get::<Option<i64>, _>(0)?
        .map(Timestamp)
        .unwrap_or(now);
    let start = calendar::business_date(Timestamp(first.0.min(now.plus_days(-days).0)));
    let end = calendar::business_date(now);
    let mut out = Vec::new();
    let mut d = start;
    while d <= end && out.len() < 3700 {
        out.push(d);
        d = d.tomorrow().map_err(Error::internal)?;
    }
    Ok(out)
}

/// Our side: provider reference → (amount, what) for the provider.
async fn ledger_side(db: &Db, provider: &str) -> Result<BTreeMap<String, (Money, String)>> {
    let mut out = BTreeMap::new();
    let rows = sqlx::query("SELECT provider_ref, amount, id FROM payments WHERE provider = $1 AND status = 'completed'")
        .bind(provider)
        .fetch_all(db.read())
        .await?;
    for r in rows {
        let reference: Option<String> = r.try_get(0)?;
        if let Some(reference) = reference {
            out.insert(
                reference,
                (
                    Money::from_tiyn(r.try_get(1)?),
                    format!("payment P{}", r.try_get::<i64, _>(2)?),
                ),
            );
        }
    }
    let rows = sqlx::query(
        "SELECT o.provider_ref, o.amount, o.id FROM payouts o JOIN payments p ON p.id = o.payment_id
         WHERE p.provider = $1 AND o.status = 'done' AND o.method = 'card'",
    )
    .bind(provider)
    .fetch_all(db.read())
    .await?;
    for r in rows {
        let reference: Option<String> = r.try_get(0)?;
        if let Some(reference) = reference {
            out.insert(
                reference,
                (
                    Money::from_tiyn(r.try_get(1)?),
                    format!("payout {}", r.try_get::<i64, _>(2)?),
                ),
            );
        }
    }
    Ok(out)
}

/// How many postings carry a key: exactly one means "posted once".
async fn postings_with_key(db: &Db, key: &str) -> Result<i64> {
    Ok(
        sqlx::query("SELECT COUNT(*) FROM ledger_postings WHERE idem_key = $1")
            .bind(key)
            .fetch_one(db.read())
            .await?
            .try_get(0)?,
    )
}

fn compare(
    report: &mut Report,
    provider: &str,
    theirs: BTreeMap<String, Money>,
    mut ours: BTreeMap<String, (Money, String)>,
    posted: &BTreeSet<String>,
) {
    for (reference, amount) in theirs {
        match ours.remove(&reference) {
            Some((ours_amount, _)) if ours_amount == amount && posted.contains(&reference) => {
                report.matched += 1
            }
            Some((ours_amount, what)) => report.unmatched_at_provider.push(format!(
                "{provider} {reference}: {} at the provider, {} in {what}",
                amount.format_kzt(),
                ours_amount.format_kzt()
            )),
            None => report.unmatched_at_provider.push(format!(
                "{provider} {reference}: {} not in the ledger",
                amount.format_kzt()
            )),
        }
    }
    for (reference, (amount, what)) in ours {
        report.unmatched_in_ledger.push(format!(
            "{provider} {reference}: {what} of {} unknown to the provider",
            amount.format_kzt()
        ));
    }
}

/// Matches the gateway's and Kaspi's records over `days` and the imported
/// bank statement lines.
pub async fn run(db: &Db, cfg: &BillingConfig, days: &[Date]) -> Result<Report> {
    let mut report = Report::default();
    if cfg.card_enabled() {
        let client = Client::new(cfg);
        let mut theirs = BTreeMap::new();
        let mut posted = BTreeSet::new();
        for d in days {
            for t in client.list(&d.to_string()).await? {
                if t.status != "Completed" {
                    continue;
                }
                let key = if t.operation == "Refund" {
                    None
                } else {
                    Some(format!("cloudpayments:{}", t.transaction_id))
                };
                let once = match key {
                    Some(k) => postings_with_key(db, &k).await? == 1,
                    None => true,
                };
                if once {
                    posted.insert(t.transaction_id.clone());
                }
                theirs.insert(t.transaction_id, t.amount);
            }
        }
        compare(
            &mut report,
            "cloudpayments",
            theirs,
            ledger_side(db, "cloudpayments").await?,
            &posted,
        );
    }
    if !cfg.kaspi.registry_url.is_empty() {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_millis(cfg.provider_timeout_ms))
            .build()
            .map_err(Error::internal)?;
        let mut theirs = BTreeMap::new();
        let mut posted = BTreeSet::new();
        for d in days {
            let url = format!("{}?date={d}", cfg.kaspi.registry_url);
            let text = http
                .get(&url)
                .basic_auth(&cfg.kaspi.login, Some(&cfg.kaspi.password))
                .send()
                .await
                .map_err(|e| Error::Internal(format!("Kaspi registry: {e}")))?
                .text()
                .await
                .map_err(|e| Error::Internal(format!("Kaspi registry: {e}")))?;
            for line in text
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with("txn_id"))
            {
                let f: Vec<&str> = line.split(';').collect();
                let (Some(txn), Some(sum)) = (f.first(), f.get(2).and_then(|s| parse_decimal(s)))
                else {
                    report
                        .unmatched_at_provider
                        .push(format!("kaspi registry line unreadable: {line}"));
                    continue;
                };
                if postings_with_key(db, &format!("kaspi:{txn}")).await? == 1 {
                    posted.insert(txn.to_string());
                }
                theirs.insert(txn.to_string(), sum);
            }
        }
        compare(
            &mut report,
            "kaspi",
            theirs,
            ledger_side(db, "kaspi").await?,
            &posted,
        );
    }
    let rows =
        sqlx::query("SELECT reference, amount, status FROM bank_statement_lines ORDER BY id")
            .fetch_all(db.read())
            .await?;
    for r in rows {
        let status: String = r.try_get(2)?;
        let reference: String = r.try_get(0)?;
        if status == "matched" {
            report.matched += 1;
        } else {
            report.unmatched_at_provider.push(format!(
                "bank {reference}: {} matches no invoice",
                Money::from_tiyn(r.try_get(1)?).format_kzt()
            ));
        }
    }
    Ok(report)
}
