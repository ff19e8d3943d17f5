//! Money: everything by which tenge enter, move and leave Tabys.
//!
//! It owns the double-entry ledger (accounts, postings of balanced
//! transfers, holds that resolve exactly once, derived balances and their
//! check), personal accounts with a main and a bonus balance, products and
//! the orders that buy them, the access a paid order grants, payments
//! through the card gateway (CloudPayments / TipTop Pay protocol), Kaspi
//! (the "payments on Kaspi.kz" protocol) and bank transfer against an
//! invoice, refunds by policies kept as data, recurring charges from a
//! saved card, invoices, receipts and monthly acts, plans the operator sells
//! to organizers and the payment module, and reconciliation against the
//! providers' records.
//!
//! What it must not do: speak HTTP to people (pages and callbacks live in
//! `tabys-web`; this crate only parses and answers the providers' protocol
//! messages), hold a float, or change a transfer once written — a mistake
//! is fixed by a correcting posting. Every money movement goes through
//! [`ledger::post`] with an idempotency key inside the caller's
//! transaction.

pub mod acts;
pub mod balances;
pub mod config;
pub mod documents;
pub mod entitlements;
pub mod holds;
pub mod idempotency;
pub mod invoices;
pub mod jobs;
pub mod ledger;
pub mod orders;
pub mod payment_module;
pub mod payments;
pub mod plans;
pub mod products;
pub mod providers;
pub mod reconcile;
pub mod recurring;
pub mod refund;
pub mod slot_orders;

use std::fmt;

use tabys_core::ids::{OrgId, UserId};

pub use config::BillingConfig;

/// Whose books: an organizer selling to its customers, or the operator of
/// the installation selling plans to organizers.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Book(pub i64);

impl Book {
    /// The operator's own books.
    pub const OPERATOR: Book = Book(0);

    pub fn org(org: OrgId) -> Book {
        Book(org.0)
    }

    /// The organizer, or `None` for the operator.
    pub fn org_id(self) -> Option<OrgId> {
        (self.0 != 0).then_some(OrgId(self.0))
    }
}

impl fmt::Display for Book {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Who a personal account belongs to: a person (a customer of an
/// organizer) or an organizer (a customer of the operator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Holder {
    User(UserId),
    Org(OrgId),
}

impl Holder {
    /// How the holder is written in the ledger: `user:12`, `org:3`.
    pub fn key(self) -> String {
        match self {
            Self::User(u) => format!("user:{u}"),
            Self::Org(o) => format!("org:{o}"),
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        let (kind, id) = s.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        match kind {
            "user" => Some(Self::User(UserId(id))),
            "org" => Some(Self::Org(OrgId(id))),
            _ => None,
        }
    }
}

/// `a × numerator / denominator` in whole tiyn, rounded down, computed
/// without overflow. Money is split by this one function so that every
/// share (refund tiers, pro rata, fees) rounds the same documented way.
pub fn share_down(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let v = i128::from(amount) * i128::from(numerator) / i128::from(denominator);
    i64::try_from(v).unwrap_or(i64::MAX)
}

/// Like [`share_down`], rounded up: what a seller keeps or a payer owes is
/// rounded up, what a person gets back is the rest, so the two always add
/// up to the amount.
pub fn share_up(amount: i64, numerator: i64, denominator: i64) -> i64 {
    if denominator <= 0 {
        return 0;
    }
    let n = i128::from(amount) * i128::from(numerator);
    let d = i128::from(denominator);
    let v = (n + d - 1).div_euclid(d);
    i64::try_from(v).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_round_down_and_up_and_add_up() {
        assert_eq!(share_down(1001, 1, 2), 500);
        assert_eq!(share_up(1001, 1, 2), 501);
        for amount in [0, 1, 7, 999, 1_499_900, i64::MAX / 3] {
            for (n, d) in [(1, 2), (1, 3), (5000, 10_000), (17, 31)] {
                assert_eq!(
                    share_down(amount, n, d) + share_up(amount, d - n, d),
                    amount
                );
            }
        }
    }

    #[test]
    fn holder_round_trips() {
        for h in [Holder::User(UserId(5)), Holder::Org(OrgId(9))] {
            assert_eq!(Holder::parse(&h.key()), Some(h));
        }
        assert_eq!(Holder::parse("x:1"), None);
        assert_eq!(Holder::parse("user:z"), None);
    }
}
