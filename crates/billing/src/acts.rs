//! Monthly acts of completed work (акт выполненных работ, CP 6.9) for
//! Kazakh resident customers who are organizers (the operator's clients):
//! issued on the first day of a month for what was sold to them in the
//! month before (sales less refunds, from the ledger), signed or refused
//! with reasons in the cabinet, and accepted automatically when neither
//! happened within 5 Kazakhstan business days.
//!
//! Residency is read from the customer's KBe (a first digit 1 is a
//! resident), or, without a KBe, from its Kazakh IIN/BIN. People buying
//! from organizers carry no residency data, so acts are not issued to them.

use jiff::ToSpan;
use jiff::civil::Date;
use sqlx::Row;
use tabys_accounts::organizers;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::{Book, Holder, balances};

/// Business days to sign or refuse before the act counts as accepted.
pub const RESPOND_BUSINESS_DAYS: u32 = 5;

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Act {
    pub id: i64,
    #[schema(value_type = i64)]
    pub book: Book,
    pub wallet_id: i64,
    pub number: String,
    /// `YYYY-MM`.
    pub period: String,
    #[schema(value_type = i64)]
    pub amount: Money,
    /// `issued`, `signed`, `refused`, `accepted` (automatically).
    pub status: String,
    pub respond_by: String,
    pub refusal: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str =
    "id, book, wallet_id, number, period, amount, status, respond_by, refusal, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Act> {
    Ok(Act {
        id: r.try_get(0)?,
        book: Book(r.try_get(1)?),
        wallet_id: r.try_get(2)?,
        number: r.try_get(3)?,
        period: r.try_get(4)?,
        amount: Money::from_tiyn(r.try_get(5)?),
        status: r.try_get(6)?,
        respond_by: r.try_get(7)?,
        refusal: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

fn month_bounds(first: Date) -> Result<(Timestamp, Timestamp)> {
    let zone = calendar::almaty();
    let start = first.to_zoned(zone.clone()).map_err(Error::internal)?;
    let end = first
        .checked_add(1.month())
        .map_err(Error::internal)?
        .to_zoned(zone)
        .map_err(Error::internal)?;
    Ok((
        Timestamp::from_jiff(start.timestamp()),
        Timestamp::from_jiff(end.timestamp()),
    ))
}

async fn is_resident(db: &Db, org: OrgId) -> Result<bool> {
    let o = organizers::get(db, org).await?;
    Ok(if o.profile.kbe.is_empty() {
        !o.profile.iin_bin.is_empty()
    } else {
        o.profile.kbe.starts_with('1')
    })
}

/// Issues the acts for the month before `today` (Almaty); running it again
/// for the same month issues nothing new.
pub async fn issue_for_previous_month(db: &Db) -> Result<usize> {
    let now = db.now();
    let today = calendar::business_date(now);
    let this_month = today.first_of_month();
    let prev = this_month.checked_sub(1.month()).map_err(Error::internal)?;
    let (from, to) = month_bounds(prev)?;
    let period = prev.strftime("%Y-%m").to_string();
    let rows = sqlx::query(
        "SELECT w.id, w.holder,
           CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t JOIN ledger_accounts a ON a.id = t.credit_account
               WHERE t.debit_account IN (w.main_account, w.bonus_account) AND a.code = 'revenue' AND a.book = w.book
               AND t.flag = 'posted' AND t.created_at >= $1 AND t.created_at < $2), 0) AS BIGINT),
           CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t JOIN ledger_accounts a ON a.id = t.debit_account
               WHERE t.credit_account IN (w.main_account, w.bonus_account) AND a.code = 'revenue' AND a.book = w.book
               AND t.flag = 'posted' AND t.created_at >= $1 AND t.created_at < $2), 0) AS BIGINT)
         FROM wallets w WHERE w.holder LIKE 'org:%'",
    )
    .bind(from.0)
    .bind(to.0)
    .fetch_all(db.read())
    .await?;
    let respond_by = calendar::kz()
        .add_business_days(today, RESPOND_BUSINESS_DAYS)
        .to_string();
    let mut issued = 0;
    for r in rows {
        let wallet: i64 = r.try_get(0)?;
        let holder: String = r.try_get(1)?;
        let amount = r.try_get::<i64, _>(2)? - r.try_get::<i64, _>(3)?;
        let Some(Holder::Org(org)) = Holder::parse(&holder) else {
            continue;
        };
        if amount <= 0 || !is_resident(db, org).await? {
            continue;
        }
        let w = balances::get(db, wallet).await?;
        let mut tx = db.begin().await?;
        let row = sqlx::query(
            "INSERT INTO acts (book, wallet_id, number, period, amount, status, respond_by, created_at)
             VALUES ($1, $2, $3, $4, $5, 'issued', $6, $7) ON CONFLICT (wallet_id, period) DO NOTHING RETURNING id",
        )
        .bind(w.book.0)
        .bind(wallet)
        .bind(format!("ACT-{}-{}-{wallet}", w.book.0, period))
        .bind(&period)
        .bind(amount)
        .bind(&respond_by)
        .bind(now.0)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let id: i64 = row.try_get(0)?;
            audit::append(
                &mut tx,
                db.dialect(),
                now,
                Entry {
                    org_id: Some(org),
                    actor_id: None,
                    action: "act.issued",
                    subject: format!("act:{id}"),
                    data: serde_json::json!({ "period": period, "amount": amount, "respond_by": respond_by }),
                },
            )
            .await?;
            issued += 1;
        }
        tx.commit().await?;
    }
    Ok(issued)
}

pub async fn of_holder(db: &Db, holder: Holder) -> Result<Vec<Act>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM acts WHERE wallet_id IN (SELECT id FROM wallets WHERE holder = $1) ORDER BY id DESC LIMIT 120"
    ))
    .bind(holder.key())
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn get_own(db: &Db, holder: Holder, id: i64) -> Result<Act> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM acts WHERE id = $1 AND wallet_id IN (SELECT id FROM wallets WHERE holder = $2)"))
        .bind(id)
        .bind(holder.key())
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The customer signs the act, or refuses it with reasons, before the deadline.
pub async fn respond(
    db: &Db,
    holder: Holder,
    actor: UserId,
    id: i64,
    sign: bool,
    reasons: &str,
) -> Result<Act> {
    let act = get_own(db, holder, id).await?;
    let reasons = reasons.trim();
    if !sign && reasons.is_empty() {
        return Err(Error::invalid("reasons", "act-refusal-reasons"));
    }
    if reasons.chars().count() > 2000 {
        return Err(Error::invalid("reasons", "text-too-long"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE acts SET status = $1, refusal = $2, decided_at = $3 WHERE id = $4 AND status = 'issued'")
        .bind(if sign { "signed" } else { "refused" })
        .bind((!sign).then_some(reasons))
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("act-already-decided"));
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: act.book.org_id(),
            actor_id: Some(actor),
            action: if sign { "act.signed" } else { "act.refused" },
            subject: format!("act:{id}"),
            data: serde_json::json!({ "reasons": reasons }),
        },
    )
    .await?;
    tx.commit().await?;
    get_own(db, holder, id).await
}

/// Acts neither signed nor refused by their date are accepted (CP 6.9).
pub async fn accept_overdue(db: &Db) -> Result<usize> {
    let now = db.now();
    let today = calendar::business_date(now).to_string();
    let rows = sqlx::query("SELECT id, book FROM acts WHERE status = 'issued' AND respond_by < $1")
        .bind(&today)
        .fetch_all(db.read())
        .await?;
    let mut count = 0;
    for r in rows {
        let id: i64 = r.try_get(0)?;
        let book = Book(r.try_get(1)?);
        let mut tx = db.begin().await?;
        let done = sqlx::query("UPDATE acts SET status = 'accepted', decided_at = $1 WHERE id = $2 AND status = 'issued'")
            .bind(now.0)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 1 {
            audit::append(
                &mut tx,
                db.dialect(),
                now,
                Entry {
                    org_id: book.org_id(),
                    actor_id: None,
                    action: "act.accepted-automatically",
                    subject: format!("act:{id}"),
                    data: serde_json::json!({}),
                },
            )
            .await?;
            count += 1;
        }
        tx.commit().await?;
    }
    Ok(count)
}
