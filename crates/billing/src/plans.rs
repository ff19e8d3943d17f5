//! Plans the operator sells to organizers (IS 3, CP 6, AT 2.5, 3.2): limits
//! (webinar rooms — Isra allows up to 10 —, file storage, active students,
//! SMS allowance) and a price per period, paid from the organizer's balance
//! with the operator, 100 % in advance, the term starting on the payment
//! day (IS 3.2) or, when bought while a paid term runs, right after it.
//!
//! After sign-up an organizer has a 7-day trial, then a perpetual free plan
//! with limited functions; one that has paid once can no longer go back to
//! the free plan (AT 2.5): when its paid plan ends, it is restricted until
//! it buys a new one (CP 5.3.10). Price changes are published at least a
//! day before they take effect and never touch a paid term (AT 3.2.1): the
//! term keeps the price it was paid at and its end.
//!
//! Other capabilities read [`limits`]; this crate enforces the ones it owns
//! (selling stops while restricted; the active-students limit at checkout).

use sqlx::Row;
use tabys_accounts::organizers;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::{BillingConfig, Book, Holder, balances};

/// Days of the trial after sign-up (AT 2.5).
pub const TRIAL_DAYS: i64 = 7;
/// How far ahead a price change must be published (AT 3.2.1).
pub const NOTICE_MS: i64 = 86_400_000;

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Limits {
    /// `trial`, `free`, a paid plan's code, or `expired`.
    pub plan: String,
    pub webinar_rooms: i64,
    pub storage_bytes: i64,
    pub active_students: i64,
    pub sms_allowance: i64,
    /// A paid plan ran out (or the account is suspended for a negative
    /// balance): functions are restricted until a plan is bought.
    pub restricted: bool,
    /// When the current term ends (trial or paid), UTC ms.
    pub ends_at: Option<i64>,
}

const MB: i64 = 1024 * 1024;

fn built_in(plan: &str, restricted: bool, ends_at: Option<i64>) -> Limits {
    let (rooms, storage, students) = match plan {
        "trial" => (2, 1024 * MB, 50),
        _ => (1, 200 * MB, 10),
    };
    Limits {
        plan: plan.to_string(),
        webinar_rooms: rooms,
        storage_bytes: storage,
        active_students: students,
        sms_allowance: 0,
        restricted,
        ends_at,
    }
}

/// The organizer's limits right now.
pub async fn limits(db: &Db, org: OrgId) -> Result<Limits> {
    let now = db.now();
    let row = sqlx::query(
        "SELECT p.code, p.webinar_rooms, p.storage_bytes, p.active_students, p.sms_allowance, o.ends_at
         FROM org_plans o JOIN plans p ON p.id = o.plan_id
         WHERE o.org_id = $1 AND o.starts_at <= $2 AND o.ends_at > $2 ORDER BY o.ends_at DESC LIMIT 1",
    )
    .bind(org.0)
    .bind(now.0)
    .fetch_optional(db.read())
    .await?;
    let suspended = balances::is_suspended(db, Book::OPERATOR, Holder::Org(org)).await?;
    if let Some(r) = row {
        return Ok(Limits {
            plan: r.try_get(0)?,
            webinar_rooms: r.try_get(1)?,
            storage_bytes: r.try_get(2)?,
            active_students: r.try_get(3)?,
            sms_allowance: r.try_get(4)?,
            restricted: suspended,
            ends_at: Some(r.try_get(5)?),
        });
    }
    let paid_before = sqlx::query("SELECT COUNT(*) FROM org_plans WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(db.read())
        .await?
        .try_get::<i64, _>(0)?
        > 0;
    if paid_before {
        return Ok(built_in("expired", true, None));
    }
    let created = organizers::get(db, org).await?.created_at;
    let trial_end = created.plus_days(TRIAL_DAYS);
    if now < trial_end {
        Ok(built_in("trial", suspended, Some(trial_end.0)))
    } else {
        Ok(built_in("free", suspended, None))
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Plan {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub period_days: i64,
    pub webinar_rooms: i64,
    pub storage_bytes: i64,
    pub active_students: i64,
    pub sms_allowance: i64,
    /// The price now, in tiyn.
    #[schema(value_type = Option<i64>)]
    pub price: Option<Money>,
    /// A published change: (price, from when, UTC ms).
    #[schema(value_type = Option<Object>)]
    pub next_price: Option<(Money, i64)>,
}

/// A plan as the operator types it.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct PlanInput {
    pub code: String,
    pub name: String,
    pub period_days: String,
    pub webinar_rooms: String,
    pub storage_mb: String,
    pub active_students: String,
    pub sms_allowance: String,
    /// Tenge.
    pub price: String,
}

fn number(raw: &str, field: &'static str, max: i64, errors: &mut Vec<FieldError>) -> i64 {
    match raw.trim().parse::<i64>() {
        Ok(n) if (0..=max).contains(&n) => n,
        _ => {
            errors.push(FieldError {
                field,
                code: "number-range",
            });
            0
        }
    }
}

/// Creates a plan; its first price takes effect at once (nobody has paid under it yet).
pub async fn create(db: &Db, actor: UserId, input: &PlanInput) -> Result<Plan> {
    let mut errors = Vec::new();
    let code = input.code.trim().to_ascii_lowercase();
    if code.is_empty()
        || code.len() > 40
        || !code.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        || ["trial", "free", "expired"].contains(&code.as_str())
    {
        errors.push(FieldError {
            field: "code",
            code: "slug-format",
        });
    }
    let name = input.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 {
        errors.push(FieldError {
            field: "name",
            code: "required",
        });
    }
    let period = number(&input.period_days, "period_days", 3660, &mut errors);
    if period == 0 {
        errors.push(FieldError {
            field: "period_days",
            code: "number-range",
        });
    }
    let rooms = number(&input.webinar_rooms, "webinar_rooms", 10, &mut errors);
    let storage = number(&input.storage_mb, "storage_mb", 100_000_000, &mut errors);
    let students = number(
        &input.active_students,
        "active_students",
        10_000_000,
        &mut errors,
    );
    let sms = number(
        &input.sms_allowance,
        "sms_allowance",
        10_000_000,
        &mut errors,
    );
    let price = crate::products::parse_amount(&input.price, "price").map_err(|e| {
        if let Error::Invalid(f) = e {
            errors.extend(f);
        }
    });
    let Ok(price) = price else {
        return Err(Error::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO plans (code, name, period_days, webinar_rooms, storage_bytes, active_students, sms_allowance, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8) RETURNING id",
    )
    .bind(&code)
    .bind(&name)
    .bind(period)
    .bind(rooms)
    .bind(storage * MB)
    .bind(students)
    .bind(sms)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::invalid("code", "slug-taken"),
        other => other,
    })?;
    let id: i64 = row.try_get(0)?;
    sqlx::query("INSERT INTO plan_prices (plan_id, price, effective_from, published_at) VALUES ($1, $2, $3, $3)")
        .bind(id)
        .bind(price.tiyn())
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(actor),
            action: "plan.created",
            subject: format!("plan:{id}"),
            data: serde_json::json!({ "code": code, "price": price.tiyn(), "period_days": period }),
        },
    )
    .await?;
    tx.commit().await?;
    get(db, id).await
}

/// Publishes a new price from `effective_from`, at least a day ahead.
pub async fn change_price(
    db: &Db,
    actor: UserId,
    plan: i64,
    price: Money,
    effective_from: Timestamp,
) -> Result<()> {
    if !price.is_positive() {
        return Err(Error::invalid("price", "amount-not-positive"));
    }
    let now = db.now();
    if effective_from.0 < now.0 + NOTICE_MS {
        return Err(Error::invalid("effective_from", "plan-change-too-soon"));
    }
    get(db, plan).await?;
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO plan_prices (plan_id, price, effective_from, published_at) VALUES ($1, $2, $3, $4)")
        .bind(plan)
        .bind(price.tiyn())
        .bind(effective_from.0)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(actor),
            action: "plan.price-published",
            subject: format!("plan:{plan}"),
            data: serde_json::json!({ "price": price.tiyn(), "effective_from": effective_from.0 }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

async fn price_at(db: &Db, plan: i64, at: Timestamp) -> Result<Option<Money>> {
    let row = sqlx::query("SELECT price FROM plan_prices WHERE plan_id = $1 AND effective_from <= $2 ORDER BY effective_from DESC, id DESC LIMIT 1")
        .bind(plan)
        .bind(at.0)
        .fetch_optional(db.read())
        .await?;
    row.map(|r| Ok(Money::from_tiyn(r.try_get(0)?))).transpose()
}

pub async fn get(db: &Db, id: i64) -> Result<Plan> {
    let row = sqlx::query(
        "SELECT id, code, name, period_days, webinar_rooms, storage_bytes, active_students, sms_allowance FROM plans WHERE id = $1 AND status = 'active'",
    )
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    let now = db.now();
    let next = sqlx::query("SELECT price, effective_from FROM plan_prices WHERE plan_id = $1 AND effective_from > $2 ORDER BY effective_from LIMIT 1")
        .bind(id)
        .bind(now.0)
        .fetch_optional(db.read())
        .await?;
    Ok(Plan {
        id,
        code: row.try_get(1)?,
        name: row.try_get(2)?,
        period_days: row.try_get(3)?,
        webinar_rooms: row.try_get(4)?,
        storage_bytes: row.try_get(5)?,
        active_students: row.try_get(6)?,
        sms_allowance: row.try_get(7)?,
        price: price_at(db, id, now).await?,
        next_price: next
            .map(|r| Ok::<_, Error>((Money::from_tiyn(r.try_get(0)?), r.try_get(1)?)))
            .transpose()?,
    })
}

pub async fn list(db: &Db) -> Result<Vec<Plan>> {
    let rows = sqlx::query("SELECT id FROM plans WHERE status = 'active' ORDER BY id")
        .fetch_all(db.read())
        .await?;
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        out.push(get(db, r.try_get(0)?).await?);
    }
    Ok(out)
}

/// A term an organizer paid for.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Term {
    pub plan: String,
    #[schema(value_type = i64)]
    pub price_paid: Money,
    pub starts_at: i64,
    pub ends_at: i64,
}

pub async fn terms(db: &Db, org: OrgId) -> Result<Vec<Term>> {
    let rows = sqlx::query(
        "SELECT p.name, o.price_paid, o.starts_at, o.ends_at FROM org_plans o JOIN plans p ON p.id = o.plan_id WHERE o.org_id = $1 ORDER BY o.starts_at DESC",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Term {
                plan: r.try_get(0)?,
                price_paid: Money::from_tiyn(r.try_get(1)?),
                starts_at: r.try_get(2)?,
                ends_at: r.try_get(3)?,
            })
        })
        .collect()
}

/// The organizer buys a plan from its balance with the operator. A repeat
/// with the same key changes nothing.
pub async fn buy(
    db: &Db,
    cfg: &BillingConfig,
    org: OrgId,
    actor: UserId,
    plan_id: i64,
    key: &str,
) -> Result<Term> {
    crate::idempotency::check_key(key)?;
    let plan = get(db, plan_id).await?;
    let price = plan.price.ok_or(Error::NotFound)?;
    let now = db.now();
    let posting_key = format!("plan:{}:{key}", org.0);
    let mut tx = db.begin().await?;
    let w = balances::wallet(&mut tx, Book::OPERATOR, Holder::Org(org), now).await?;
    let (posted, _) = balances::spend(
        &mut tx,
        db.dialect(),
        now,
        &w,
        price,
        cfg.bonus_first,
        posting_key,
        "plan",
        format!("plan «{}»", plan.name),
    )
    .await?;
    if !posted.is_new() {
        let row = sqlx::query(
            "SELECT o.price_paid, o.starts_at, o.ends_at FROM org_plans o WHERE o.posting_id = $1",
        )
        .bind(posted.id().0)
        .fetch_one(&mut *tx)
        .await?;
        return Ok(Term {
            plan: plan.name,
            price_paid: Money::from_tiyn(row.try_get(0)?),
            starts_at: row.try_get(1)?,
            ends_at: row.try_get(2)?,
        });
    }
    let last_end = sqlx::query("SELECT MAX(ends_at) FROM org_plans WHERE org_id = $1")
        .bind(org.0)
        .fetch_one(&mut *tx)
        .await?
        .try_get::<Option<i64>, _>(0)?;
    let starts = Timestamp(last_end.map_or(now.0, |e| e.max(now.0)));
    let ends = starts.plus_days(plan.period_days);
    sqlx::query("INSERT INTO org_plans (org_id, plan_id, price_paid, starts_at, ends_at, posting_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(org.0)
        .bind(plan.id)
        .bind(price.tiyn())
        .bind(starts.0)
        .bind(ends.0)
        .bind(posted.id().0)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "plan.bought",
            subject: format!("organizer:{org}"),
            data: serde_json::json!({ "plan": plan.code, "price": price.tiyn(), "starts_at": starts.0, "ends_at": ends.0 }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Term {
        plan: plan.name,
        price_paid: price,
        starts_at: starts.0,
        ends_at: ends.0,
    })
}
