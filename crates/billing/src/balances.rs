//! Personal accounts (лицевой счёт, IS 2.1.13–2.1.15): what a person has
//! with an organizer, or an organizer with the operator. A balance is two
//! ledger accounts: main (money paid in) and bonus (credits granted: the
//! trial credit, goodwill). Bonus is spent before or after main by the
//! configured rule and is never paid out. Trial credit is granted once per
//! real person or company (IS 5.2.4). A balance may go negative only by a
//! charge for extras; it must then be topped up within three Kazakhstan
//! business days or the account is suspended until it is (IS 5.2.3).

use sqlx::Row;
use tabys_core::calendar;
use tabys_core::ids::UserId;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Dialect, Tx};

use crate::ledger::{self, AccountId, NewPosting, Normal, Posted, Transfer, codes};
use crate::{Book, Holder};

/// Business days a negative balance may last (IS 5.2.3).
pub const NEGATIVE_GRACE_BUSINESS_DAYS: u32 = 3;

#[derive(Debug, Clone)]
pub struct Wallet {
    pub id: i64,
    pub book: Book,
    pub holder: Holder,
    pub main: AccountId,
    pub bonus: AccountId,
    pub negative_since: Option<Timestamp>,
    /// The business date by which a negative balance must be covered.
    pub top_up_by: Option<String>,
    pub suspended_at: Option<Timestamp>,
}

const COLUMNS: &str =
    "id, book, holder, main_account, bonus_account, negative_since, top_up_by, suspended_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Wallet> {
    let holder: String = r.try_get(2)?;
    Ok(Wallet {
        id: r.try_get(0)?,
        book: Book(r.try_get(1)?),
        holder: Holder::parse(&holder)
            .ok_or_else(|| Error::Internal(format!("bad holder {holder}")))?,
        main: AccountId(r.try_get(3)?),
        bonus: AccountId(r.try_get(4)?),
        negative_since: r.try_get::<Option<i64>, _>(5)?.map(Timestamp),
        top_up_by: r.try_get(6)?,
        suspended_at: r.try_get::<Option<i64>, _>(7)?.map(Timestamp),
    })
}

/// The holder's personal account in these books, created on first use.
pub async fn wallet(tx: &mut Tx, book: Book, holder: Holder, now: Timestamp) -> Result<Wallet> {
    let key = holder.key();
    let sql = format!("SELECT {COLUMNS} FROM wallets WHERE book = $1 AND holder = $2");
    if let Some(row) = sqlx::query(&sql)
        .bind(book.0)
        .bind(&key)
        .fetch_optional(&mut **tx)
        .await?
    {
        return from_row(&row);
    }
    let main = ledger::account(tx, book, codes::MAIN, &key, Normal::Credit, now).await?;
    let bonus = ledger::account(tx, book, codes::BONUS, &key, Normal::Credit, now).await?;
    sqlx::query(
        "INSERT INTO wallets (book, holder, main_account, bonus_account, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (book, holder) DO NOTHING",
    )
    .bind(book.0)
    .bind(&key)
    .bind(main.0)
    .bind(bonus.0)
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    let row = sqlx::query(&sql)
        .bind(book.0)
        .bind(&key)
        .fetch_one(&mut **tx)
        .await?;
    from_row(&row)
}

/// The holder's personal account, if it exists.
pub async fn find(db: &Db, book: Book, holder: Holder) -> Result<Option<Wallet>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM wallets WHERE book = $1 AND holder = $2"
    ))
    .bind(book.0)
    .bind(holder.key())
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn get(db: &Db, id: i64) -> Result<Wallet> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM wallets WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub(crate) async fn get_tx(tx: &mut Tx, id: i64) -> Result<Wallet> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM wallets WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Every personal account of a holder, across books.
pub async fn of_holder(db: &Db, holder: Holder) -> Result<Vec<Wallet>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM wallets WHERE holder = $1 ORDER BY book"
    ))
    .bind(holder.key())
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A balance as its holder sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Balance {
    /// Money paid in, posted (may be negative after a charge for extras).
    #[schema(value_type = i64)]
    pub main: Money,
    #[schema(value_type = i64)]
    pub bonus: Money,
    /// Set aside for refunds and payouts on their way.
    #[schema(value_type = i64)]
    pub held: Money,
    /// What can be spent now: main and bonus, less what is held.
    #[schema(value_type = i64)]
    pub available: Money,
    /// What can be paid out: main less what is held, never bonus.
    #[schema(value_type = i64)]
    pub withdrawable: Money,
}

pub async fn balance(db: &Db, w: &Wallet) -> Result<Balance> {
    let main = ledger::sums(db, w.main).await?;
    let bonus = ledger::sums(db, w.bonus).await?;
    let main_avail = main.available().tiyn();
    let bonus_avail = bonus.available().tiyn();
    Ok(Balance {
        main: main.credit_balance(),
        bonus: bonus.credit_balance(),
        held: Money::from_tiyn(main.debits_pending + bonus.debits_pending),
        available: Money::from_tiyn(main_avail.max(0) + bonus_avail.max(0)),
        withdrawable: Money::from_tiyn(main_avail.max(0)),
    })
}

async fn available_tx(tx: &mut Tx, dialect: Dialect, account: AccountId) -> Result<i64> {
    let row = sqlx::query(&format!(
        "SELECT credits_posted - debits_posted - debits_pending FROM ledger_accounts WHERE id = $1{}",
        dialect.for_update()
    ))
    .bind(account.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

/// Money paid in through a provider: from the provider's clearing account
/// to the main balance. A commission passed to the payer (LZ 4.5) is part
/// of what the provider took and goes to the commission account, not to the
/// balance.
#[allow(clippy::too_many_arguments)]
pub async fn credit_payment(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    w: &Wallet,
    clearing: &str,
    amount: Money,
    passed_fee: Money,
    key: String,
    memo: String,
) -> Result<Posted> {
    let clearing = ledger::book_account(tx, w.book, clearing, now).await?;
    let gross = amount
        .checked_add(passed_fee)
        .ok_or(Error::invalid("amount", "money-range"))?;
    let mut transfers = vec![Transfer::new(clearing, w.main, amount)];
    if passed_fee.is_positive() {
        let commission = ledger::book_account(tx, w.book, codes::COMMISSION, now).await?;
        transfers.push(Transfer::new(clearing, commission, passed_fee));
    }
    let posted = ledger::post(
        tx,
        now,
        NewPosting {
            book: w.book,
            key,
            kind: "payment",
            memo: format!("{memo} ({})", gross.format_kzt()),
            transfers,
            corrects: None,
            actor: None,
        },
    )
    .await?;
    if posted.is_new() {
        refresh_negative(tx, dialect, now, w).await?;
    }
    Ok(posted)
}

/// Pays `amount` from the balance to the books' revenue, bonus first or
/// last by the rule; returns the posting and how much of it was bonus.
/// Fails with `insufficient-funds` and changes nothing if the balance
/// cannot cover it.
#[allow(clippy::too_many_arguments)]
pub async fn spend(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    w: &Wallet,
    amount: Money,
    bonus_first: bool,
    key: String,
    kind: &'static str,
    memo: String,
) -> Result<(Posted, Money)> {
    if !amount.is_positive() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    let revenue = ledger::book_account(tx, w.book, codes::REVENUE, now).await?;
    let bonus_avail = available_tx(tx, dialect, w.bonus).await?.max(0);
    let main_avail = available_tx(tx, dialect, w.main).await?.max(0);
    let total = amount.tiyn();
    let from_bonus = if bonus_first {
        total.min(bonus_avail)
    } else {
        (total - main_avail).clamp(0, bonus_avail)
    };
    let from_main = total - from_bonus;
    let mut transfers = Vec::new();
    if from_main > 0 {
        transfers.push(Transfer::guarded(
            w.main,
            revenue,
            Money::from_tiyn(from_main),
        ));
    }
    if from_bonus > 0 {
        transfers.push(Transfer::guarded(
            w.bonus,
            revenue,
            Money::from_tiyn(from_bonus),
        ));
    }
    let posted = ledger::post(
        tx,
        now,
        NewPosting {
            book: w.book,
            key,
            kind,
            memo,
            transfers,
            corrects: None,
            actor: None,
        },
    )
    .await?;
    Ok((posted, Money::from_tiyn(from_bonus)))
}

/// Charges extras (SMS over the allowance, extra storage: AT 4.5–4.6) from
/// the main balance even past zero; a balance left negative starts the
/// three-business-day clock of IS 5.2.3.
pub async fn charge_extras(
    db: &Db,
    w: &Wallet,
    amount: Money,
    key: String,
    memo: String,
) -> Result<Posted> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let revenue = ledger::book_account(&mut tx, w.book, codes::REVENUE, now).await?;
    let posted = ledger::post(
        &mut tx,
        now,
        NewPosting {
            book: w.book,
            key,
            kind: "extras",
            memo,
            transfers: vec![Transfer::new(w.main, revenue, amount)],
            corrects: None,
            actor: None,
        },
    )
    .await?;
    if posted.is_new() {
        refresh_negative(&mut tx, db.dialect(), now, w).await?;
    }
    tx.commit().await?;
    Ok(posted)
}

/// Grants bonus credit; it can be spent, never paid out.
pub async fn grant_bonus(
    tx: &mut Tx,
    now: Timestamp,
    w: &Wallet,
    amount: Money,
    key: String,
    memo: String,
    actor: Option<UserId>,
) -> Result<Posted> {
    let granted = ledger::book_account(tx, w.book, codes::BONUS_GRANTED, now).await?;
    ledger::post(
        tx,
        now,
        NewPosting {
            book: w.book,
            key,
            kind: "bonus",
            memo,
            transfers: vec![Transfer::new(granted, w.bonus, amount)],
            corrects: None,
            actor,
        },
    )
    .await
}

/// After money moved on a main balance: starts the top-up clock when it
/// went below zero, and clears it (and a suspension) when it is covered.
pub async fn refresh_negative(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    w: &Wallet,
) -> Result<()> {
    let row = sqlx::query(&format!(
        "SELECT a.credits_posted - a.debits_posted, w.negative_since, w.suspended_at FROM ledger_accounts a
         JOIN wallets w ON w.main_account = a.id WHERE w.id = $1{}",
        dialect.for_update()
    ))
    .bind(w.id)
    .fetch_one(&mut **tx)
    .await?;
    let main: i64 = row.try_get(0)?;
    let since: Option<i64> = row.try_get(1)?;
    let suspended: Option<i64> = row.try_get(2)?;
    if main < 0 && since.is_none() {
        let by = calendar::kz()
            .add_business_days(calendar::business_date(now), NEGATIVE_GRACE_BUSINESS_DAYS);
        sqlx::query("UPDATE wallets SET negative_since = $1, top_up_by = $2 WHERE id = $3")
            .bind(now.0)
            .bind(by.to_string())
            .bind(w.id)
            .execute(&mut **tx)
            .await?;
        if let Holder::User(user) = w.holder {
            notify(
                tx,
                now,
                user,
                w.book,
                "billing.negative",
                "notify-balance-negative",
                &by.to_string(),
            )
            .await?;
        }
    } else if main >= 0 && (since.is_some() || suspended.is_some()) {
        sqlx::query("UPDATE wallets SET negative_since = NULL, top_up_by = NULL, suspended_at = NULL WHERE id = $1")
            .bind(w.id)
            .execute(&mut **tx)
            .await?;
        if suspended.is_some() {
            audit::append(
                tx,
                dialect,
                now,
                Entry {
                    org_id: w.book.org_id(),
                    actor_id: None,
                    action: "billing.account-restored",
                    subject: format!("wallet:{}", w.id),
                    data: serde_json::json!({ "holder": w.holder.key() }),
                },
            )
            .await?;
        }
    }
    Ok(())
}

async fn notify(
    tx: &mut Tx,
    now: Timestamp,
    user: UserId,
    book: Book,
    kind: &'static str,
    key: &'static str,
    date: &str,
) -> Result<()> {
    let mut args = serde_json::Map::new();
    args.insert("date".into(), serde_json::Value::String(date.to_string()));
    tabys_notify::add(
        tx,
        now,
        tabys_notify::NewNotification {
            user,
            org: book.org_id(),
            kind,
            key,
            args,
        },
    )
    .await?;
    Ok(())
}

/// Suspends every account whose negative balance outlived its top-up date
/// (business dates in Almaty); returns how many.
pub async fn suspend_overdue(db: &Db) -> Result<usize> {
    let now = db.now();
    let today = calendar::business_date(now).to_string();
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM wallets WHERE negative_since IS NOT NULL AND suspended_at IS NULL AND top_up_by < $1"
    ))
    .bind(&today)
    .fetch_all(db.read())
    .await?;
    let mut count = 0;
    for row in rows {
        let w = from_row(&row)?;
        let mut tx = db.begin().await?;
        let done = sqlx::query(
            "UPDATE wallets SET suspended_at = $1 WHERE id = $2 AND suspended_at IS NULL AND negative_since IS NOT NULL",
        )
        .bind(now.0)
        .bind(w.id)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 1 {
            audit::append(
                &mut tx,
                db.dialect(),
                now,
                Entry {
                    org_id: w.book.org_id(),
                    actor_id: None,
                    action: "billing.account-suspended",
                    subject: format!("wallet:{}", w.id),
                    data: serde_json::json!({ "holder": w.holder.key(), "top_up_by": w.top_up_by }),
                },
            )
            .await?;
            count += 1;
        }
        tx.commit().await?;
    }
    Ok(count)
}

/// Is this holder's account with these books suspended for an unpaid negative balance?
pub async fn is_suspended(db: &Db, book: Book, holder: Holder) -> Result<bool> {
    Ok(find(db, book, holder)
        .await?
        .is_some_and(|w| w.suspended_at.is_some()))
}

/// What the trial credit did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum TrialOutcome {
    Granted(Money),
    /// Refused: the same IIN/BIN, email or phone already had one.
    Repeat {
        matched_wallet: i64,
        on: String,
    },
    /// This account was considered before.
    AlreadyConsidered,
}

/// An identity that makes a person or company "the same" (IS 5.2.4):
/// (`iin_bin` | `email` | `phone`, value).
pub type Identity = (&'static str, String);

fn normalize(kind: &str, value: &str) -> String {
    match kind {
        "email" => value.trim().to_lowercase(),
        _ => value.chars().filter(char::is_ascii_digit).collect(),
    }
}

/// Grants the trial credit at sign-up, once per real person or company:
/// an IIN/BIN, email or phone already seen in these books gets none, and
/// the match is kept for the operator to see.
pub async fn grant_trial(
    db: &Db,
    book: Book,
    holder: Holder,
    identities: &[Identity],
    amount: Money,
) -> Result<TrialOutcome> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let w = wallet(&mut tx, book, holder, now).await?;
    let seen = sqlx::query("SELECT id FROM trial_credits WHERE book = $1 AND wallet_id = $2")
        .bind(book.0)
        .bind(w.id)
        .fetch_optional(&mut *tx)
        .await?;
    if seen.is_some() {
        return Ok(TrialOutcome::AlreadyConsidered);
    }
    let identities: Vec<(&str, String)> = identities
        .iter()
        .map(|(k, v)| (*k, normalize(k, v)))
        .filter(|(_, v)| !v.is_empty())
        .collect();
    let mut matched = None;
    for (kind, value) in &identities {
        let row = sqlx::query(
            "SELECT wallet_id FROM trial_identities WHERE book = $1 AND kind = $2 AND value = $3",
        )
        .bind(book.0)
        .bind(*kind)
        .bind(value)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = row {
            let other: i64 = row.try_get(0)?;
            if other != w.id {
                matched = Some((other, kind.to_string()));
                break;
            }
        }
    }
    for (kind, value) in &identities {
        sqlx::query(
            "INSERT INTO trial_identities (book, kind, value, wallet_id) VALUES ($1, $2, $3, $4) ON CONFLICT (book, kind, value) DO NOTHING",
        )
        .bind(book.0)
        .bind(*kind)
        .bind(value)
        .bind(w.id)
        .execute(&mut *tx)
        .await?;
    }
    let outcome = match &matched {
        Some((other, on)) => TrialOutcome::Repeat {
            matched_wallet: *other,
            on: on.clone(),
        },
        None if amount.is_positive() => TrialOutcome::Granted(amount),
        None => TrialOutcome::Granted(Money::ZERO),
    };
    let granted = if let TrialOutcome::Granted(a) = outcome {
        a
    } else {
        Money::ZERO
    };
    sqlx::query(
        "INSERT INTO trial_credits (book, wallet_id, amount, matched_wallet, matched_on, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(book.0)
    .bind(w.id)
    .bind(granted.tiyn())
    .bind(matched.as_ref().map(|m| m.0))
    .bind(matched.as_ref().map(|m| m.1.clone()))
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    if granted.is_positive() {
        grant_bonus(
            &mut tx,
            now,
            &w,
            granted,
            format!("trial:{}:{}", book.0, w.id),
            "trial credit".into(),
            None,
        )
        .await?;
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: book.org_id(),
            actor_id: None,
            action: if matched.is_some() { "billing.trial-refused" } else { "billing.trial-granted" },
            subject: format!("wallet:{}", w.id),
            data: serde_json::json!({ "holder": w.holder.key(), "amount": granted.tiyn(), "matched_wallet": matched.as_ref().map(|m| m.0), "on": matched.as_ref().map(|m| m.1.clone()) }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// A refused trial credit, for the operator (IS 5.2.4).
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialMatch {
    pub holder: String,
    pub matched_holder: String,
    pub on: String,
    pub at: Timestamp,
}

pub async fn trial_matches(db: &Db, book: Book) -> Result<Vec<TrialMatch>> {
    let rows = sqlx::query(
        "SELECT w.holder, m.holder, t.matched_on, t.created_at FROM trial_credits t
         JOIN wallets w ON w.id = t.wallet_id JOIN wallets m ON m.id = t.matched_wallet
         WHERE t.book = $1 AND t.matched_wallet IS NOT NULL ORDER BY t.id DESC LIMIT 200",
    )
    .bind(book.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(TrialMatch {
                holder: r.try_get(0)?,
                matched_holder: r.try_get(1)?,
                on: r.try_get(2)?,
                at: Timestamp(r.try_get(3)?),
            })
        })
        .collect()
}
