//! The double-entry ledger. Money lives in accounts; it only moves by a
//! posting: a group of transfers, each taking an amount from one account
//! (debit) and giving it to another (credit), so every posting balances by
//! construction. A posting carries an idempotency key: posting the same key
//! with the same transfers again returns the first posting, with other
//! transfers it is a conflict. Transfers are never updated or deleted; a
//! mistake is fixed by a correcting posting that points at the one it
//! corrects.
//!
//! Each account caches its posted and pending sums so that a balance check
//! at posting time is one row read; [`verify`] recomputes every cache from
//! the transfers (the daily job runs it) and [`trial_balance`] prints the
//! whole ledger.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Db, Tx};

use crate::Book;

/// A ledger account's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct AccountId(pub i64);

/// A posting's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct PostingId(pub i64);

/// Which side increases the account: `Credit` for what the books owe or
/// earned (a person's balance, revenue), `Debit` for what they hold or spent
/// (money at a provider, bonus granted, fees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Normal {
    Debit,
    Credit,
}

impl Normal {
    fn code(self) -> &'static str {
        match self {
            Self::Debit => "debit",
            Self::Credit => "credit",
        }
    }
}

/// The books' own accounts, by what they hold.
pub mod codes {
    /// A person's or organizer's money paid in (credit-normal).
    pub const MAIN: &str = "main";
    /// Credits granted, never paid out (credit-normal).
    pub const BONUS: &str = "bonus";
    /// What was sold (credit-normal).
    pub const REVENUE: &str = "revenue";
    /// Bonus credits given away: the counterpart of every bonus grant (debit-normal).
    pub const BONUS_GRANTED: &str = "bonus-granted";
    /// Commission owed to a provider, passed to the payer (credit-normal).
    pub const COMMISSION: &str = "commission";
    /// Money held by a provider for the books (debit-normal): one per provider.
    pub const CLEARING_CLOUDPAYMENTS: &str = "clearing:cloudpayments";
    pub const CLEARING_KASPI: &str = "clearing:kaspi";
    pub const CLEARING_BANK: &str = "clearing:bank";
}

/// Gets or creates an account inside the caller's transaction.
pub async fn account(
    tx: &mut Tx,
    book: Book,
    code: &str,
    holder: &str,
    normal: Normal,
    now: Timestamp,
) -> Result<AccountId> {
    let found =
        sqlx::query("SELECT id FROM ledger_accounts WHERE book = $1 AND code = $2 AND holder = $3")
            .bind(book.0)
            .bind(code)
            .bind(holder)
            .fetch_optional(&mut **tx)
            .await?;
    if let Some(row) = found {
        return Ok(AccountId(row.try_get(0)?));
    }
    sqlx::query(
        "INSERT INTO ledger_accounts (book, code, holder, normal, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (book, code, holder) DO NOTHING",
    )
    .bind(book.0)
    .bind(code)
    .bind(holder)
    .bind(normal.code())
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    let row =
        sqlx::query("SELECT id FROM ledger_accounts WHERE book = $1 AND code = $2 AND holder = $3")
            .bind(book.0)
            .bind(code)
            .bind(holder)
            .fetch_one(&mut **tx)
            .await?;
    Ok(AccountId(row.try_get(0)?))
}

/// One of the books' own accounts (holder empty), with its normal side.
pub async fn book_account(
    tx: &mut Tx,
    book: Book,
    code: &str,
    now: Timestamp,
) -> Result<AccountId> {
    let normal = match code {
        codes::BONUS_GRANTED => Normal::Debit,
        c if c.starts_with("clearing:") => Normal::Debit,
        _ => Normal::Credit,
    };
    account(tx, book, code, "", normal, now).await
}

/// One movement of money.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transfer {
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Money,
    /// The debited account's available balance (credits − debits − held)
    /// must not fall below zero: a person cannot spend money they do not
    /// have. Off for provider accounts and for charges that may leave a
    /// balance negative (IS 5.2.3).
    pub guard: bool,
}

impl Transfer {
    pub fn new(debit: AccountId, credit: AccountId, amount: Money) -> Self {
        Self {
            debit,
            credit,
            amount,
            guard: false,
        }
    }

    pub fn guarded(debit: AccountId, credit: AccountId, amount: Money) -> Self {
        Self {
            debit,
            credit,
            amount,
            guard: true,
        }
    }
}

/// A posting to make.
#[derive(Debug, Clone)]
pub struct NewPosting {
    pub book: Book,
    /// The idempotency key: `cloudpayments:<TransactionId>`, `kaspi:<txn_id>`, `order:12:pay`, …
    pub key: String,
    /// What kind of movement, for reports: `payment`, `order`, `refund`, …
    pub kind: &'static str,
    pub memo: String,
    pub transfers: Vec<Transfer>,
    /// The posting this one corrects.
    pub corrects: Option<PostingId>,
    pub actor: Option<UserId>,
}

/// What posting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Posted {
    /// Written now.
    New(PostingId),
    /// The same key with the same transfers was posted before; nothing changed.
    Replay(PostingId),
}

impl Posted {
    pub fn id(self) -> PostingId {
        match self {
            Self::New(id) | Self::Replay(id) => id,
        }
    }

    pub fn is_new(self) -> bool {
        matches!(self, Self::New(_))
    }
}

/// The fingerprint of what a posting moves, to tell a replay from a
/// conflicting reuse of its key.
fn fingerprint(p: &NewPosting) -> String {
    let mut h = Sha256::new();
    h.update(p.book.0.to_be_bytes());
    h.update(p.kind.as_bytes());
    for t in &p.transfers {
        h.update(t.debit.0.to_be_bytes());
        h.update(t.credit.0.to_be_bytes());
        h.update(t.amount.tiyn().to_be_bytes());
    }
    hex::encode(h.finalize())
}

/// Writes a posting inside the caller's transaction. Every amount must be
/// positive and no transfer may move money from an account to itself; a
/// guarded debit that would overdraw fails with `insufficient-funds`, and
/// then the caller's transaction (dropped on the error) changes nothing.
pub async fn post(tx: &mut Tx, now: Timestamp, p: NewPosting) -> Result<Posted> {
    if p.transfers.is_empty() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    for t in &p.transfers {
        if !t.amount.is_positive() {
            return Err(Error::invalid("amount", "amount-not-positive"));
        }
        if t.debit == t.credit {
            return Err(Error::Internal("a transfer to the same account".into()));
        }
    }
    let hash = fingerprint(&p);
    let Some(id) = insert_posting(tx, now, &p, &hash).await? else {
        return replay(tx, &p.key, &hash).await;
    };
    for t in &p.transfers {
        insert_transfer(
            tx, id, t.debit, t.credit, t.amount, "posted", None, None, now,
        )
        .await?;
    }
    let mut deltas: BTreeMap<AccountId, Delta> = BTreeMap::new();
    for t in &p.transfers {
        let d = deltas.entry(t.debit).or_default();
        d.debits_posted += t.amount.tiyn();
        d.guard |= t.guard;
        deltas.entry(t.credit).or_default().credits_posted += t.amount.tiyn();
    }
    apply(tx, &deltas).await?;
    Ok(Posted::New(id))
}

/// Inserts the posting row; `None` when its key exists already.
pub(crate) async fn insert_posting(
    tx: &mut Tx,
    now: Timestamp,
    p: &NewPosting,
    hash: &str,
) -> Result<Option<PostingId>> {
    let row = sqlx::query(
        "INSERT INTO ledger_postings (book, idem_key, request_hash, kind, memo, corrects, actor_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (idem_key) DO NOTHING RETURNING id",
    )
    .bind(p.book.0)
    .bind(&p.key)
    .bind(hash)
    .bind(p.kind)
    .bind(&p.memo)
    .bind(p.corrects.map(|c| c.0))
    .bind(p.actor.map(|a| a.0))
    .bind(now.0)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(|r| Ok(PostingId(r.try_get(0)?))).transpose()
}

pub(crate) async fn replay(tx: &mut Tx, key: &str, hash: &str) -> Result<Posted> {
    let row = sqlx::query("SELECT id, request_hash FROM ledger_postings WHERE idem_key = $1")
        .bind(key)
        .fetch_one(&mut **tx)
        .await?;
    let stored: String = row.try_get(1)?;
    if stored == hash {
        Ok(Posted::Replay(PostingId(row.try_get(0)?)))
    } else {
        Err(Error::Conflict("idempotency-conflict"))
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert_transfer(
    tx: &mut Tx,
    posting: PostingId,
    debit: AccountId,
    credit: AccountId,
    amount: Money,
    flag: &str,
    resolves: Option<i64>,
    expires_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO ledger_transfers (posting_id, debit_account, credit_account, amount, flag, resolves, expires_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id",
    )
    .bind(posting.0)
    .bind(debit.0)
    .bind(credit.0)
    .bind(amount.tiyn())
    .bind(flag)
    .bind(resolves)
    .bind(expires_at.map(|t| t.0))
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match Error::from(e) {
        // The unique index on `resolves` is what makes a hold resolve once.
        Error::Conflict(_) => Error::Conflict("hold-already-resolved"),
        other => other,
    })?;
    Ok(row.try_get(0)?)
}

/// Changes to one account's cached sums.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Delta {
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
    pub guard: bool,
}

/// Applies cached-sum changes in ascending account order, so two
/// transactions touching the same accounts lock them in the same order and
/// cannot deadlock on PostgreSQL. A guarded account is updated only if its
/// available balance stays at or above zero, in the same statement, so no
/// second writer can slip in between a check and the update.
pub(crate) async fn apply(tx: &mut Tx, deltas: &BTreeMap<AccountId, Delta>) -> Result<()> {
    for (account, d) in deltas {
        let guard = if d.guard {
            " AND (credits_posted + $2) - (debits_posted + $3) - (debits_pending + $5) >= 0"
        } else {
            ""
        };
        let sql = format!(
            "UPDATE ledger_accounts SET credits_posted = credits_posted + $2, debits_posted = debits_posted + $3,
                 credits_pending = credits_pending + $4, debits_pending = debits_pending + $5
             WHERE id = $1{guard}"
        );
        let done = sqlx::query(&sql)
            .bind(account.0)
            .bind(d.credits_posted)
            .bind(d.debits_posted)
            .bind(d.credits_pending)
            .bind(d.debits_pending)
            .execute(&mut **tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(if d.guard {
                Error::Conflict("insufficient-funds")
            } else {
                Error::NotFound
            });
        }
    }
    Ok(())
}

/// An account's cached sums.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Sums {
    pub debits_posted: i64,
    pub credits_posted: i64,
    pub debits_pending: i64,
    pub credits_pending: i64,
}

impl Sums {
    /// Posted balance on the credit side (credits − debits).
    pub fn credit_balance(&self) -> Money {
        Money::from_tiyn(self.credits_posted - self.debits_posted)
    }

    /// What may still be spent: posted balance minus what is held.
    pub fn available(&self) -> Money {
        Money::from_tiyn(self.credits_posted - self.debits_posted - self.debits_pending)
    }

    pub fn held(&self) -> Money {
        Money::from_tiyn(self.debits_pending)
    }
}

pub async fn sums(db: &Db, account: AccountId) -> Result<Sums> {
    let row = sqlx::query(
        "SELECT debits_posted, credits_posted, debits_pending, credits_pending FROM ledger_accounts WHERE id = $1",
    )
    .bind(account.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    Ok(Sums {
        debits_posted: row.try_get(0)?,
        credits_posted: row.try_get(1)?,
        debits_pending: row.try_get(2)?,
        credits_pending: row.try_get(3)?,
    })
}

/// One line of an account's history, as its holder sees it.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub posting_id: i64,
    pub at: i64,
    pub kind: String,
    pub memo: String,
    /// Positive: money came into the account; negative: it left.
    pub amount: i64,
    /// `posted`, or `pending` for a hold not yet resolved.
    pub state: String,
}

/// The newest movements of an account.
pub async fn history(db: &Db, account: AccountId, limit: i64) -> Result<Vec<Movement>> {
    let rows = sqlx::query(
        "SELECT p.id, t.created_at, p.kind, p.memo, t.amount, t.flag, t.debit_account,
                (SELECT COUNT(*) FROM ledger_transfers r WHERE r.resolves = t.id)
         FROM ledger_transfers t JOIN ledger_postings p ON p.id = t.posting_id
         WHERE (t.debit_account = $1 OR t.credit_account = $1) AND t.flag IN ('posted', 'post', 'pending')
         ORDER BY t.id DESC LIMIT $2",
    )
    .bind(account.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let flag: String = r.try_get(5)?;
        let resolved: i64 = r.try_get(7)?;
        if flag == "pending" && resolved > 0 {
            continue;
        }
        let amount: i64 = r.try_get(4)?;
        let debit: i64 = r.try_get(6)?;
        out.push(Movement {
            posting_id: r.try_get(0)?,
            at: r.try_get(1)?,
            kind: r.try_get(2)?,
            memo: r.try_get(3)?,
            amount: if debit == account.0 { -amount } else { amount },
            state: if flag == "pending" {
                "pending".into()
            } else {
                "posted".into()
            },
        });
    }
    Ok(out)
}

/// An account whose cached sums differ from the sums of its transfers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub account: AccountId,
    pub cached: Sums,
    pub derived: Sums,
}

const DERIVED: &str = "SELECT a.id, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
    CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account = a.id AND t.flag IN ('posted', 'post')), 0) AS BIGINT),
    CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account = a.id AND t.flag IN ('posted', 'post')), 0) AS BIGINT),
    CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account = a.id AND t.flag = 'pending'
        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.resolves = t.id)), 0) AS BIGINT),
    CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account = a.id AND t.flag = 'pending'
        AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.resolves = t.id)), 0) AS BIGINT)
    FROM ledger_accounts a";

/// Recomputes every account's sums from its transfers and lists those whose
/// cache differs. An empty list means every cached balance is right.
pub async fn verify(db: &Db) -> Result<Vec<Mismatch>> {
    let rows = sqlx::query(&format!("{DERIVED} ORDER BY a.id"))
        .fetch_all(db.read())
        .await?;
    let mut out = Vec::new();
    for r in rows {
        let cached = Sums {
            debits_posted: r.try_get(1)?,
            credits_posted: r.try_get(2)?,
            debits_pending: r.try_get(3)?,
            credits_pending: r.try_get(4)?,
        };
        let derived = Sums {
            debits_posted: r.try_get(5)?,
            credits_posted: r.try_get(6)?,
            debits_pending: r.try_get(7)?,
            credits_pending: r.try_get(8)?,
        };
        if cached != derived {
            out.push(Mismatch {
                account: AccountId(r.try_get(0)?),
                cached,
                derived,
            });
        }
    }
    Ok(out)
}

/// One line of the trial balance.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialLine {
    pub account: i64,
    pub book: i64,
    pub code: String,
    pub holder: String,
    pub normal: String,
    pub debits: i64,
    pub credits: i64,
    pub pending_debits: i64,
    pub pending_credits: i64,
}

impl TrialLine {
    /// The balance on the account's normal side.
    pub fn balance(&self) -> i64 {
        if self.normal == "debit" {
            self.debits - self.credits
        } else {
            self.credits - self.debits
        }
    }
}

/// The trial balance at this moment, from the transfers themselves (not the
/// caches), with whether total debits equal total credits and whether every
/// cache agrees.
#[derive(Debug, Clone, serde::Serialize)]
pub struct TrialBalance {
    pub lines: Vec<TrialLine>,
    pub total_debits: i64,
    pub total_credits: i64,
    pub cache_mismatches: usize,
}

impl TrialBalance {
    pub fn balanced(&self) -> bool {
        self.total_debits == self.total_credits && self.cache_mismatches == 0
    }
}

pub async fn trial_balance(db: &Db) -> Result<TrialBalance> {
    let rows = sqlx::query(
        "SELECT a.id, a.book, a.code, a.holder, a.normal,
            CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.debit_account = a.id AND t.flag IN ('posted', 'post')), 0) AS BIGINT),
            CAST(COALESCE((SELECT SUM(t.amount) FROM ledger_transfers t WHERE t.credit_account = a.id AND t.flag IN ('posted', 'post')), 0) AS BIGINT),
            a.debits_pending, a.credits_pending
         FROM ledger_accounts a ORDER BY a.book, a.code, a.holder",
    )
    .fetch_all(db.read())
    .await?;
    let mut lines = Vec::with_capacity(rows.len());
    let (mut total_debits, mut total_credits) = (0i64, 0i64);
    for r in rows {
        let line = TrialLine {
            account: r.try_get(0)?,
            book: r.try_get(1)?,
            code: r.try_get(2)?,
            holder: r.try_get(3)?,
            normal: r.try_get(4)?,
            debits: r.try_get(5)?,
            credits: r.try_get(6)?,
            pending_debits: r.try_get(7)?,
            pending_credits: r.try_get(8)?,
        };
        total_debits = total_debits.saturating_add(line.debits);
        total_credits = total_credits.saturating_add(line.credits);
        lines.push(line);
    }
    let cache_mismatches = verify(db).await?.len();
    Ok(TrialBalance {
        lines,
        total_debits,
        total_credits,
        cache_mismatches,
    })
}

/// A correcting posting: the reverse of the transfers of `original` (or of
/// the part given), under its own key. The original stays as it was.
pub async fn reverse(
    tx: &mut Tx,
    now: Timestamp,
    original: PostingId,
    key: String,
    memo: String,
    actor: Option<UserId>,
) -> Result<Posted> {
    let row = sqlx::query("SELECT book FROM ledger_postings WHERE id = $1")
        .bind(original.0)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(Error::NotFound)?;
    let book = Book(row.try_get(0)?);
    let rows = sqlx::query(
        "SELECT debit_account, credit_account, amount FROM ledger_transfers WHERE posting_id = $1 AND flag IN ('posted', 'post') ORDER BY id",
    )
    .bind(original.0)
    .fetch_all(&mut **tx)
    .await?;
    let mut transfers = Vec::with_capacity(rows.len());
    for r in rows {
        transfers.push(Transfer::new(
            AccountId(r.try_get(1)?),
            AccountId(r.try_get(0)?),
            Money::from_tiyn(r.try_get(2)?),
        ));
    }
    post(
        tx,
        now,
        NewPosting {
            book,
            key,
            kind: "correction",
            memo,
            transfers,
            corrects: Some(original),
            actor,
        },
    )
    .await
}
