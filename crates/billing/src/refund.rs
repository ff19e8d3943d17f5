//! Refund policies, kept as data on each product and copied into each order
//! (so a later change of policy never touches what was bought), and the
//! preview a customer sees before asking: what they would get back now, and
//! by which rule.
//!
//! The four shapes the five businesses use:
//! * tiers by time before the service starts (EX §6: more than 48 h full,
//!   24–48 h half kept, less than 24 h none; a monthly workplace
//!   subscription: none once the month has started — one tier at 0 h with
//!   the month's first day as the start);
//! * cooling-off (IS 8.3–8.4): within 14 days of getting access, by a
//!   written request with reasons, minus the services actually rendered,
//!   paid within 14 days after the organizer approves;
//! * none (CP 6.8, LZ 4.6, AT 6.6);
//! * an erroneous payment returned minus the cost of returning it (AT 4.4),
//!   after approval.
//!
//! Rounding: what the seller keeps is rounded up to the tiyn, the refund is
//! the rest, so the two always add up to what was paid.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::ledger::{self, NewPosting, Transfer, codes};
use crate::orders::{self, Order};
use crate::{Holder, balances, entitlements, payments, share_up};

/// One tier: cancelling more than `more_than_hours` before the start keeps
/// `keep_bp` hundredths of a percent of what was paid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tier {
    pub more_than_hours: i64,
    pub keep_bp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RefundPolicy {
    None,
    /// Tiers, most generous first; after the last tier (or once started) nothing is returned.
    Tiers {
        tiers: Vec<Tier>,
    },
    CoolingOff {
        days: i64,
        payout_days: i64,
    },
    Erroneous {
        cost: i64,
    },
}

/// The ready-made policies a product form offers, by name.
pub const PRESETS: [&str; 5] = [
    "none",
    "tiers-48-24",
    "until-start",
    "cooling-off-14",
    "erroneous",
];

impl RefundPolicy {
    /// A preset by its name; `cost` is the cost of returning for `erroneous`.
    pub fn preset(name: &str, cost: Money) -> Option<Self> {
        Some(match name {
            "none" => Self::None,
            "tiers-48-24" => Self::Tiers {
                tiers: vec![
                    Tier {
                        more_than_hours: 48,
                        keep_bp: 0,
                    },
                    Tier {
                        more_than_hours: 24,
                        keep_bp: 5000,
                    },
                ],
            },
            "until-start" => Self::Tiers {
                tiers: vec![Tier {
                    more_than_hours: 0,
                    keep_bp: 0,
                }],
            },
            "cooling-off-14" => Self::CoolingOff {
                days: 14,
                payout_days: 14,
            },
            "erroneous" => Self::Erroneous { cost: cost.tiyn() },
            _ => return None,
        })
    }

    /// The preset this policy is, for showing it in a form.
    pub fn preset_name(&self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Tiers { tiers } if tiers.len() == 1 => "until-start",
            Self::Tiers { .. } => "tiers-48-24",
            Self::CoolingOff { .. } => "cooling-off-14",
            Self::Erroneous { .. } => "erroneous",
        }
    }

    /// Refuses policies that cannot be meant: tiers out of order or keeping
    /// more than everything, negative periods or costs.
    pub fn check(&self) -> Result<(), &'static str> {
        match self {
            Self::None => Ok(()),
            Self::Tiers { tiers } => {
                let ordered = tiers
                    .windows(2)
                    .all(|w| w[0].more_than_hours > w[1].more_than_hours);
                let sane = tiers
                    .iter()
                    .all(|t| (0..=10_000).contains(&t.keep_bp) && t.more_than_hours >= 0);
                if tiers.is_empty() || !ordered || !sane {
                    Err("refund-policy-invalid")
                } else {
                    Ok(())
                }
            }
            Self::CoolingOff { days, payout_days } if *days > 0 && *payout_days > 0 => Ok(()),
            Self::Erroneous { cost } if *cost >= 0 => Ok(()),
            _ => Err("refund-policy-invalid"),
        }
    }

    pub fn needs_approval(&self) -> bool {
        matches!(self, Self::CoolingOff { .. } | Self::Erroneous { .. })
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|_| "{\"kind\":\"none\"}".into())
    }

    /// Reads a stored policy; an unreadable one is treated as "none", the
    /// rule that can never pay out money by mistake.
    pub fn from_json(s: &str) -> Self {
        serde_json::from_str(s).unwrap_or(Self::None)
    }
}

/// What the order looks like to the policy.
#[derive(Debug, Clone, Copy)]
pub struct Situation {
    /// Paid and not yet refunded.
    pub refundable: Money,
    /// When the service starts (events, bookings, a subscription month).
    pub starts_at: Option<Timestamp>,
    /// When access began and ends (cooling-off counts from the start and
    /// charges the days used).
    pub access_from: Option<Timestamp>,
    pub access_until: Option<Timestamp>,
    pub now: Timestamp,
}

/// What a customer would get back now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Preview {
    /// Back to the customer.
    #[schema(value_type = i64)]
    pub refund: Money,
    /// Kept by the seller under the policy.
    #[schema(value_type = i64)]
    pub kept: Money,
    /// Which rule applied: `none`, `tier`, `started`, `cooling-off`,
    /// `cooling-off-over`, `erroneous`, `nothing-paid`.
    pub rule: &'static str,
    /// The share kept, in hundredths of a percent.
    pub keep_bp: i64,
    /// The organizer must approve before money moves.
    pub needs_approval: bool,
}

impl Preview {
    /// Nothing was paid, so nothing comes back.
    pub fn nothing_paid() -> Self {
        Self {
            refund: Money::ZERO,
            kept: Money::ZERO,
            rule: "nothing-paid",
            keep_bp: 10_000,
            needs_approval: false,
        }
    }

    fn keep(refundable: Money, keep_bp: i64, rule: &'static str, needs_approval: bool) -> Self {
        let kept = share_up(refundable.tiyn(), keep_bp, 10_000).min(refundable.tiyn());
        Self {
            refund: Money::from_tiyn(refundable.tiyn() - kept),
            kept: Money::from_tiyn(kept),
            rule,
            keep_bp,
            needs_approval,
        }
    }
}

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 86_400_000;

pub fn preview(policy: &RefundPolicy, s: Situation) -> Preview {
    let r = s.refundable;
    if !r.is_positive() {
        return Preview::nothing_paid();
    }
    match policy {
        RefundPolicy::None => Preview::keep(r, 10_000, "none", false),
        RefundPolicy::Tiers { tiers } => {
            let Some(start) = s.starts_at else {
                return Preview::keep(r, 10_000, "started", false);
            };
            let before_ms = start.0 - s.now.0;
            if before_ms <= 0 {
                return Preview::keep(r, 10_000, "started", false);
            }
            match tiers
                .iter()
                .find(|t| before_ms > t.more_than_hours * HOUR_MS)
            {
                Some(t) => Preview::keep(r, t.keep_bp, "tier", false),
                None => Preview::keep(r, 10_000, "tier", false),
            }
        }
        RefundPolicy::CoolingOff { days, .. } => {
            let from = s.access_from.unwrap_or(s.now);
            if s.now.0 > from.0 + days * DAY_MS {
                return Preview::keep(r, 10_000, "cooling-off-over", false);
            }
            // Services rendered: the share of the access period already used.
            let keep_bp = match s.access_until {
                Some(until) if until.0 > from.0 => {
                    let used = (s.now.0 - from.0).clamp(0, until.0 - from.0);
                    share_up(10_000, used, until.0 - from.0)
                }
                _ => 0,
            };
            Preview::keep(r, keep_bp, "cooling-off", true)
        }
        RefundPolicy::Erroneous { cost } => {
            let kept = (*cost).clamp(0, r.tiyn());
            Preview {
                refund: Money::from_tiyn(r.tiyn() - kept),
                kept: Money::from_tiyn(kept),
                rule: "erroneous",
                keep_bp: crate::share_up(10_000, kept, r.tiyn()),
                needs_approval: true,
            }
        }
    }
}

/// A refund asked for or made.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Refund {
    pub id: i64,
    pub org_id: i64,
    pub order_id: i64,
    pub customer_id: i64,
    #[schema(value_type = i64)]
    pub amount: Money,
    #[schema(value_type = i64)]
    pub kept: Money,
    pub rule: String,
    pub reason: String,
    /// `requested` (waits for the organizer), `refused`, `done`.
    pub status: String,
    /// For an approved cooling-off refund: paid out by this date (IS 8.4).
    pub pay_out_by: Option<String>,
    pub refusal: Option<String>,
    pub created_at: i64,
}

const COLUMNS: &str = "id, org_id, order_id, customer_id, amount, kept, rule, reason, status, pay_out_by, refusal, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Refund> {
    Ok(Refund {
        id: r.try_get(0)?,
        org_id: r.try_get(1)?,
        order_id: r.try_get(2)?,
        customer_id: r.try_get(3)?,
        amount: Money::from_tiyn(r.try_get(4)?),
        kept: Money::from_tiyn(r.try_get(5)?),
        rule: r.try_get(6)?,
        reason: r.try_get(7)?,
        status: r.try_get(8)?,
        pay_out_by: r.try_get(9)?,
        refusal: r.try_get(10)?,
        created_at: r.try_get(11)?,
    })
}

/// The order as the policy sees it now.
pub async fn situation(db: &Db, order: &Order) -> Result<Situation> {
    let access = entitlements::of_order(db, order.org_id, order.id).await?;
    // A cancelled order keeps what its policy kept: nothing more to ask for.
    let refundable = if order.status == "refunded" {
        0
    } else {
        order.paid.tiyn() - order.refunded.tiyn()
    };
    Ok(Situation {
        refundable: Money::from_tiyn(refundable),
        starts_at: order.starts_at.map(Timestamp),
        access_from: access.as_ref().map(|a| Timestamp(a.starts_at)),
        access_until: access.as_ref().and_then(|a| a.ends_at).map(Timestamp),
        now: db.now(),
    })
}

/// What the customer would get back now for their order.
pub async fn preview_own(db: &Db, customer: UserId, order_id: i64) -> Result<(Order, Preview)> {
    let order = orders::get_own(db, customer, order_id).await?;
    let p = preview(&order.refund_policy, situation(db, &order).await?);
    Ok((order, p))
}

/// What giving up a place bought by `order` (a booking, a ticket) would
/// give back now: the order's refund while the place stands `paid`, nothing
/// otherwise (held and unpaid, already cancelled, or free).
pub async fn preview_place(
    db: &Db,
    customer: UserId,
    order: Option<i64>,
    paid: bool,
) -> Result<Preview> {
    match order {
        Some(order) if paid => Ok(preview_own(db, customer, order).await?.1),
        _ => Ok(Preview::nothing_paid()),
    }
}

/// The customer asks for their money back under the order's policy. Where
/// the policy needs the organizer's approval (cooling-off, an erroneous
/// payment) the request waits with its written reasons; otherwise the
/// refund is made at once.
pub async fn request(db: &Db, customer: UserId, order_id: i64, reason: &str) -> Result<Refund> {
    let (order, p) = preview_own(db, customer, order_id).await?;
    let reason = reason.trim();
    if reason.chars().count() > 2000 {
        return Err(Error::invalid("reason", "text-too-long"));
    }
    if p.needs_approval && reason.is_empty() {
        return Err(Error::invalid("reason", "refund-reason-required"));
    }
    if !p.refund.is_positive() {
        return Err(Error::Conflict("nothing-to-refund"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let locked = orders::lock(&mut tx, db.dialect(), order.id).await?;
    let open = sqlx::query("SELECT id FROM refunds WHERE order_id = $1 AND status = 'requested'")
        .bind(order.id)
        .fetch_optional(&mut *tx)
        .await?;
    if open.is_some() {
        return Err(Error::Conflict("refund-already-requested"));
    }
    if locked.refunded != order.refunded {
        return Err(Error::Conflict("order-changed"));
    }
    let status = if p.needs_approval {
        "requested"
    } else {
        "done"
    };
    let row = sqlx::query(&format!(
        "INSERT INTO refunds (org_id, order_id, customer_id, amount, kept, rule, reason, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
    ))
    .bind(order.org_id.0)
    .bind(order.id)
    .bind(customer.0)
    .bind(p.refund.tiyn())
    .bind(p.kept.tiyn())
    .bind(p.rule)
    .bind(reason)
    .bind(status)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let refund = from_row(&row)?;
    if p.needs_approval {
        audit::append(
            &mut tx,
            db.dialect(),
            now,
            Entry {
                org_id: Some(order.org_id),
                actor_id: Some(customer),
                action: "refund.requested",
                subject: format!("order:{}", order.id),
                data: serde_json::json!({ "refund": refund.id, "amount": p.refund.tiyn(), "rule": p.rule, "reason": reason }),
            },
        )
        .await?;
    } else {
        execute(&mut tx, db, now, &refund, Some(customer)).await?;
    }
    tx.commit().await?;
    Ok(refund)
}

/// The organizer approves a waiting request (the money moves now, and for
/// a cooling-off refund must be paid out within its payout days) or refuses
/// it with reasons.
pub async fn decide(
    db: &Db,
    org: OrgId,
    actor: UserId,
    refund_id: i64,
    approve: bool,
    refusal: &str,
) -> Result<Refund> {
    let now = db.now();
    let refusal = refusal.trim();
    if !approve && refusal.is_empty() {
        return Err(Error::invalid("refusal", "required"));
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE id = $1 AND org_id = $2{}",
        db.dialect().for_update()
    ))
    .bind(refund_id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let refund = from_row(&row)?;
    if refund.status != "requested" {
        return Err(Error::Conflict("refund-already-decided"));
    }
    let order = orders::lock(&mut tx, db.dialect(), refund.order_id).await?;
    let policy = order.refund_policy.clone();
    let pay_out_by = match policy {
        RefundPolicy::CoolingOff { payout_days, .. } => calendar::business_date(now)
            .checked_add(jiff::Span::new().days(payout_days))
            .ok()
            .map(|d| d.to_string()),
        _ => None,
    };
    sqlx::query("UPDATE refunds SET status = $1, refusal = $2, pay_out_by = $3, decided_by = $4, decided_at = $5 WHERE id = $6")
        .bind(if approve { "done" } else { "refused" })
        .bind((!approve).then_some(refusal))
        .bind(&pay_out_by)
        .bind(actor.0)
        .bind(now.0)
        .bind(refund.id)
        .execute(&mut *tx)
        .await?;
    if approve {
        execute(&mut tx, db, now, &refund, Some(actor)).await?;
    } else {
        audit::append(
            &mut tx,
            db.dialect(),
            now,
            Entry {
                org_id: Some(org),
                actor_id: Some(actor),
                action: "refund.refused",
                subject: format!("order:{}", refund.order_id),
                data: serde_json::json!({ "refund": refund.id, "refusal": refusal }),
            },
        )
        .await?;
    }
    let mut args = serde_json::Map::new();
    args.insert("order".into(), serde_json::json!(refund.order_id));
    args.insert(
        "amount".into(),
        serde_json::json!(refund.amount.format_kzt()),
    );
    tabys_notify::add(
        &mut tx,
        now,
        tabys_notify::NewNotification {
            user: UserId(refund.customer_id),
            org: Some(org),
            kind: "billing.refund-decided",
            key: if approve {
                "notify-refund-approved"
            } else {
                "notify-refund-refused"
            },
            args,
        },
    )
    .await?;
    tx.commit().await?;
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM refunds WHERE id = $1"))
        .bind(refund.id)
        .fetch_one(db.read())
        .await?;
    from_row(&row)
}

/// The organizer returns money of its own accord (a cancelled event, a
/// goodwill refund): any amount up to what is still refundable.
pub async fn by_organizer(
    db: &Db,
    org: OrgId,
    actor: UserId,
    order_id: i64,
    amount: Money,
    reason: &str,
) -> Result<Refund> {
    if !amount.is_positive() {
        return Err(Error::invalid("amount", "amount-not-positive"));
    }
    let reason = reason.trim();
    if reason.is_empty() || reason.chars().count() > 2000 {
        return Err(Error::invalid("reason", "required"));
    }
    let order = orders::get(db, org, order_id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let locked = orders::lock(&mut tx, db.dialect(), order.id).await?;
    if amount.tiyn() > locked.paid.tiyn() - locked.refunded.tiyn() {
        return Err(Error::invalid("amount", "refund-exceeds-refundable"));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO refunds (org_id, order_id, customer_id, amount, kept, rule, reason, status, decided_by, decided_at, created_at)
         VALUES ($1, $2, $3, $4, 0, 'organizer', $5, 'done', $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(order.id)
    .bind(order.customer_id.0)
    .bind(amount.tiyn())
    .bind(reason)
    .bind(actor.0)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let refund = from_row(&row)?;
    execute(&mut tx, db, now, &refund, Some(actor)).await?;
    tx.commit().await?;
    Ok(refund)
}

/// Moves the money of a refund: from revenue back to the customer's
/// balance (to the bonus balance for what was paid with bonus), access
/// revoked, and the main part paid out through the provider payments of the
/// order, newest first; what was paid from the balance stays there.
async fn execute(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    refund: &Refund,
    actor: Option<UserId>,
) -> Result<()> {
    let order = orders::lock(tx, db.dialect(), refund.order_id).await?;
    let refundable = order.paid.tiyn() - order.refunded.tiyn();
    if refund.amount.tiyn() > refundable {
        return Err(Error::invalid("amount", "refund-exceeds-refundable"));
    }
    let w = balances::wallet(tx, order.book(), Holder::User(order.customer_id), now).await?;
    let main_left = (order.paid.tiyn() - order.paid_bonus.tiyn() - order.refunded.tiyn()).max(0);
    let to_main = refund.amount.tiyn().min(main_left);
    let to_bonus = refund.amount.tiyn() - to_main;
    let revenue = ledger::book_account(tx, order.book(), codes::REVENUE, now).await?;
    let mut transfers = Vec::new();
    if to_main > 0 {
        transfers.push(Transfer::new(revenue, w.main, Money::from_tiyn(to_main)));
    }
    if to_bonus > 0 {
        transfers.push(Transfer::new(revenue, w.bonus, Money::from_tiyn(to_bonus)));
    }
    ledger::post(
        tx,
        now,
        NewPosting {
            book: order.book(),
            key: format!("refund:{}", refund.id),
            kind: "refund",
            memo: format!("refund of order {} «{}»", order.id, order.title),
            transfers,
            corrects: None,
            actor,
        },
    )
    .await?;
    let refunded = order.refunded.tiyn() + refund.amount.tiyn();
    // A customer's refund under the policy cancels the order, whatever it
    // kept; an organizer's partial refund leaves it standing.
    let cancels = refund.rule != "organizer" || refunded >= order.paid.tiyn();
    let status = if cancels {
        "refunded"
    } else {
        order.status.as_str()
    };
    sqlx::query("UPDATE orders SET refunded = $1, status = $2, updated_at = $3 WHERE id = $4")
        .bind(refunded)
        .bind(status)
        .bind(now.0)
        .bind(order.id)
        .execute(&mut **tx)
        .await?;
    entitlements::set_status(tx, now, order.org_id, order.id, "revoked", "refunded").await?;
    let mut left = to_main;
    for p in payments::of_order_tx(tx, order.id).await? {
        if left == 0 {
            break;
        }
        let out = sqlx::query("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payouts WHERE payment_id = $1 AND status <> 'failed'")
            .bind(p.id)
            .fetch_one(&mut **tx)
            .await?
            .try_get::<i64, _>(0)?;
        let room = (p.net().tiyn() - out).max(0);
        let amount = left.min(room);
        if amount > 0 {
            payments::start_payout(
                tx,
                now,
                &w,
                Some(refund.id),
                Some(&p),
                Money::from_tiyn(amount),
                "",
                format!("refund:{}:payout:{}", refund.id, p.id),
            )
            .await?;
            left -= amount;
        }
    }
    audit::append(
        tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(order.org_id),
            actor_id: actor,
            action: "order.refunded",
            subject: format!("order:{}", order.id),
            data: serde_json::json!({ "refund": refund.id, "amount": refund.amount.tiyn(), "kept": refund.kept.tiyn(), "rule": refund.rule, "to_bonus": to_bonus }),
        },
    )
    .await?;
    Ok(())
}

pub async fn of_org(db: &Db, org: OrgId, only_waiting: bool) -> Result<Vec<Refund>> {
    let filter = if only_waiting {
        " AND status = 'requested'"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE org_id = $1{filter} ORDER BY id DESC LIMIT 200"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

pub async fn of_order(db: &Db, order: i64) -> Result<Vec<Refund>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM refunds WHERE order_id = $1 ORDER BY id DESC"
    ))
    .bind(order)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp(1_772_442_000_000);

    fn at(hours_before: f64) -> Situation {
        let start = Timestamp(T0.0 + 1_000 * HOUR_MS);
        Situation {
            refundable: Money::from_tiyn(10_001),
            starts_at: Some(start),
            access_from: None,
            access_until: None,
            now: Timestamp(start.0 - (hours_before * HOUR_MS as f64) as i64),
        }
    }

    fn ex() -> RefundPolicy {
        RefundPolicy::preset("tiers-48-24", Money::ZERO).unwrap_or(RefundPolicy::None)
    }

    #[test]
    fn refund_is_full_more_than_48_hours_before_the_start() {
        let p = preview(&ex(), at(48.5));
        assert_eq!((p.refund.tiyn(), p.kept.tiyn()), (10_001, 0));
    }

    #[test]
    fn refund_is_half_between_24_and_48_hours_and_the_odd_tiyn_is_kept() {
        for h in [48.0, 30.0, 24.01] {
            let p = preview(&ex(), at(h));
            assert_eq!((p.refund.tiyn(), p.kept.tiyn()), (5_000, 5_001), "{h}");
        }
    }

    #[test]
    fn nothing_comes_back_within_24_hours_or_after_the_start() {
        for h in [24.0, 1.0, 0.0, -5.0] {
            assert_eq!(preview(&ex(), at(h)).refund, Money::ZERO, "{h}");
        }
    }

    #[test]
    fn a_monthly_subscription_is_refunded_only_before_the_month_starts() {
        let p = RefundPolicy::preset("until-start", Money::ZERO).unwrap_or(RefundPolicy::None);
        assert_eq!(preview(&p, at(0.5)).refund.tiyn(), 10_001);
        assert_eq!(preview(&p, at(-0.5)).refund, Money::ZERO);
    }

    #[test]
    fn cooling_off_charges_the_days_used_and_ends_after_14_days() {
        let p = RefundPolicy::CoolingOff {
            days: 14,
            payout_days: 14,
        };
        let s = |days_used: i64| Situation {
            refundable: Money::from_tiyn(3_000_000),
            starts_at: None,
            access_from: Some(T0),
            access_until: Some(Timestamp(T0.0 + 30 * DAY_MS)),
            now: Timestamp(T0.0 + days_used * DAY_MS),
        };
        let p3 = preview(&p, s(3));
        assert_eq!((p3.refund.tiyn(), p3.kept.tiyn()), (2_700_000, 300_000));
        assert!(p3.needs_approval);
        assert_eq!(preview(&p, s(15)).refund, Money::ZERO);
        assert_eq!(preview(&p, s(15)).rule, "cooling-off-over");
    }

    #[test]
    fn erroneous_payment_comes_back_minus_the_cost_of_returning() {
        let p = RefundPolicy::Erroneous { cost: 50_000 };
        let pr = preview(&p, at(0.0));
        // The cost of returning is more than was paid: nothing comes back.
        assert_eq!((pr.refund.tiyn(), pr.kept.tiyn()), (0, 10_001));
        let big = Situation {
            refundable: Money::from_tiyn(10_000_000),
            ..at(0.0)
        };
        assert_eq!(preview(&p, big).refund.tiyn(), 9_950_000);
    }

    #[test]
    fn none_keeps_everything() {
        assert_eq!(preview(&RefundPolicy::None, at(100.0)).refund, Money::ZERO);
    }

    #[test]
    fn policies_round_trip_as_json_and_bad_ones_are_refused() {
        for name in PRESETS {
            let p = RefundPolicy::preset(name, Money::from_tiyn(100)).unwrap_or(RefundPolicy::None);
            assert_eq!(RefundPolicy::from_json(&p.to_json()), p);
            assert_eq!(p.preset_name(), name);
            assert!(p.check().is_ok());
        }
        let unordered = RefundPolicy::Tiers {
            tiers: vec![
                Tier {
                    more_than_hours: 1,
                    keep_bp: 0,
                },
                Tier {
                    more_than_hours: 5,
                    keep_bp: 0,
                },
            ],
        };
        assert!(unordered.check().is_err());
        assert_eq!(RefundPolicy::from_json("garbage"), RefundPolicy::None);
    }
}
