//! Holds: money set aside for a movement that is not final yet (a refund
//! on its way back to a card, a payout the operator still has to make). A
//! hold is a pending transfer: the debited account's available balance
//! drops at once, its posted balance only when the hold is posted. A hold
//! resolves exactly once — posted, voided or expired — by a resolving
//! transfer that points at it; the unique index on that pointer makes a
//! second resolution fail, even from two workers at once.

use std::collections::BTreeMap;

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Db, Tx};

use crate::Book;
use crate::ledger::{self, AccountId, Delta, NewPosting, Posted};

/// A pending transfer's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct HoldId(pub i64);

/// How a hold ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// The movement happened: the held amount is posted.
    Post,
    /// It did not happen: the money is available again.
    Void,
    /// Nobody resolved it in time: as void, by the clock.
    Expire,
}

impl Resolution {
    fn flag(self) -> &'static str {
        match self {
            Self::Post => "post",
            Self::Void => "void",
            Self::Expire => "expire",
        }
    }
}

/// Places a hold: `amount` from `debit` to `credit`, pending. With `guard`
/// the debited account must have that much available. The posting key makes
/// placing it idempotent like any posting.
#[allow(clippy::too_many_arguments)]
pub async fn place(
    tx: &mut Tx,
    now: Timestamp,
    book: Book,
    key: String,
    memo: String,
    debit: AccountId,
    credit: AccountId,
    amount: Money,
    guard: bool,
    expires_at: Option<Timestamp>,
) -> Result<HoldId> {
    if !amount.is_positive() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    let p = NewPosting {
        book,
        key,
        kind: "hold",
        memo,
        transfers: vec![ledger::Transfer {
            debit,
            credit,
            amount,
            guard,
        }],
        corrects: None,
        actor: None,
    };
    let hash = format!("hold:{}:{}:{}", debit.0, credit.0, amount.tiyn());
    let Some(posting) = ledger::insert_posting(tx, now, &p, &hash).await? else {
        let id = ledger::replay(tx, &p.key, &hash).await?.id();
        let row = sqlx::query(
            "SELECT id FROM ledger_transfers WHERE posting_id = $1 AND flag = 'pending'",
        )
        .bind(id.0)
        .fetch_one(&mut **tx)
        .await?;
        return Ok(HoldId(row.try_get(0)?));
    };
    let id = ledger::insert_transfer(
        tx, posting, debit, credit, amount, "pending", None, expires_at, now,
    )
    .await?;
    let mut deltas = BTreeMap::new();
    deltas.insert(
        debit,
        Delta {
            debits_pending: amount.tiyn(),
            guard,
            ..Delta::default()
        },
    );
    deltas.insert(
        credit,
        Delta {
            credits_pending: amount.tiyn(),
            ..Delta::default()
        },
    );
    ledger::apply(tx, &deltas).await?;
    Ok(HoldId(id))
}

/// A hold as stored.
#[derive(Debug, Clone, Copy)]
pub struct Hold {
    pub id: HoldId,
    pub debit: AccountId,
    pub credit: AccountId,
    pub amount: Money,
    pub book: Book,
    pub resolved: bool,
}

pub async fn get(tx: &mut Tx, id: HoldId) -> Result<Hold> {
    let row = sqlx::query(
        "SELECT t.debit_account, t.credit_account, t.amount, p.book,
                (SELECT COUNT(*) FROM ledger_transfers r WHERE r.resolves = t.id)
         FROM ledger_transfers t JOIN ledger_postings p ON p.id = t.posting_id
         WHERE t.id = $1 AND t.flag = 'pending'",
    )
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or(Error::NotFound)?;
    Ok(Hold {
        id,
        debit: AccountId(row.try_get(0)?),
        credit: AccountId(row.try_get(1)?),
        amount: Money::from_tiyn(row.try_get(2)?),
        book: crate::Book(row.try_get(3)?),
        resolved: row.try_get::<i64, _>(4)? > 0,
    })
}

/// Resolves a hold under its own posting key. Resolving an already resolved
/// hold the same way under the same key is a replay; any other second
/// resolution is `hold-already-resolved`.
pub async fn resolve(
    tx: &mut Tx,
    now: Timestamp,
    id: HoldId,
    how: Resolution,
    key: String,
    memo: String,
    actor: Option<UserId>,
) -> Result<Posted> {
    let hold = get(tx, id).await?;
    let p = NewPosting {
        book: hold.book,
        key,
        kind: "hold-resolution",
        memo,
        transfers: Vec::new(),
        corrects: None,
        actor,
    };
    let hash = format!("{}:{}", how.flag(), id.0);
    let Some(posting) = ledger::insert_posting(tx, now, &p, &hash).await? else {
        return ledger::replay(tx, &p.key, &hash).await;
    };
    if hold.resolved {
        return Err(Error::Conflict("hold-already-resolved"));
    }
    ledger::insert_transfer(
        tx,
        posting,
        hold.debit,
        hold.credit,
        hold.amount,
        how.flag(),
        Some(id.0),
        None,
        now,
    )
    .await?;
    let amount = hold.amount.tiyn();
    let posted = if how == Resolution::Post { amount } else { 0 };
    let mut deltas = BTreeMap::new();
    deltas.insert(
        hold.debit,
        Delta {
            debits_pending: -amount,
            debits_posted: posted,
            ..Delta::default()
        },
    );
    deltas.insert(
        hold.credit,
        Delta {
            credits_pending: -amount,
            credits_posted: posted,
            ..Delta::default()
        },
    );
    ledger::apply(tx, &deltas).await?;
    Ok(Posted::New(posting))
}

/// Expires every hold whose time ran out; returns how many.
pub async fn expire_due(db: &Db) -> Result<usize> {
    let now = db.now();
    let rows = sqlx::query(
        "SELECT t.id FROM ledger_transfers t WHERE t.flag = 'pending' AND t.expires_at IS NOT NULL AND t.expires_at <= $1
         AND NOT EXISTS (SELECT 1 FROM ledger_transfers r WHERE r.resolves = t.id) ORDER BY t.id LIMIT 1000",
    )
    .bind(now.0)
    .fetch_all(db.read())
    .await?;
    let mut count = 0;
    for r in rows {
        let id = HoldId(r.try_get(0)?);
        let mut tx = db.begin().await?;
        match resolve(
            &mut tx,
            now,
            id,
            Resolution::Expire,
            format!("hold:{}:expire", id.0),
            "expired".into(),
            None,
        )
        .await
        {
            Ok(_) => {
                tx.commit().await?;
                count += 1;
            }
            Err(Error::Conflict(_)) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(count)
}
