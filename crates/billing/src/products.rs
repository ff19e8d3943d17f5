//! What an organizer sells (AT-9 and the five businesses): course or
//! webinar access, a workplace booking, an event ticket, a subscription, a
//! document-service tariff, a one-off paid service. A product has a price
//! in tiyn, says whether taxes are included (EX: included; LZ 4.2: not),
//! carries its refund policy as data and names the offer a buyer accepts.
//! A later change of price or policy never touches an order already made:
//! orders copy them (M-9).

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, FieldError, Result, Timestamp, calendar};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

use crate::refund::RefundPolicy;

pub const KINDS: [&str; 7] = [
    "course",
    "webinar",
    "workplace",
    "event",
    "subscription",
    "document-tariff",
    "service",
];

/// Months between charges a recurring product may use (AT 1.10).
pub const RECURRING_MONTHS: [i64; 5] = [1, 4, 5, 9, 12];

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Product {
    pub id: i64,
    #[schema(value_type = i64)]
    pub org_id: OrgId,
    pub kind: String,
    pub title: String,
    pub description: String,
    /// In tiyn.
    #[schema(value_type = i64)]
    pub price: Money,
    pub taxes_included: bool,
    /// Days of access a purchase gives; none: without end.
    pub access_days: Option<i64>,
    /// When the service begins (UTC ms): refund tiers count down to it.
    pub starts_at: Option<i64>,
    #[schema(value_type = Object)]
    pub refund_policy: RefundPolicy,
    /// 50 % now and the rest by an agreed date may be chosen (LZ 4.3.1).
    pub allow_half: bool,
    pub rest_due_days: Option<i64>,
    /// Charged again from the saved card every this many months.
    pub recurring_months: Option<i64>,
    /// The gateway's commission is added to what the payer pays (LZ 4.5).
    pub pass_fees: bool,
    /// The organizer's offer a buyer accepts by paying.
    pub offer_id: Option<i64>,
    pub status: String,
}

const COLUMNS: &str = "id, org_id, kind, title, description, price, taxes_included, access_days, starts_at, refund_policy, \
     allow_half, rest_due_days, recurring_months, pass_fees, offer_id, status";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Product> {
    let policy: String = r.try_get(9)?;
    Ok(Product {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        kind: r.try_get(2)?,
        title: r.try_get(3)?,
        description: r.try_get(4)?,
        price: Money::from_tiyn(r.try_get(5)?),
        taxes_included: r.try_get::<i64, _>(6)? != 0,
        access_days: r.try_get(7)?,
        starts_at: r.try_get(8)?,
        refund_policy: RefundPolicy::from_json(&policy),
        allow_half: r.try_get::<i64, _>(10)? != 0,
        rest_due_days: r.try_get(11)?,
        recurring_months: r.try_get(12)?,
        pass_fees: r.try_get::<i64, _>(13)? != 0,
        offer_id: r.try_get(14)?,
        status: r.try_get(15)?,
    })
}

/// A product as typed into a form or sent to the API: text, checked by [`ProductInput::parse`].
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ProductInput {
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// Tenge as people type them: `99 990`, `1500,50`.
    pub price: String,
    #[serde(default)]
    pub taxes_included: bool,
    #[serde(default)]
    pub access_days: String,
    /// Local Almaty time `YYYY-MM-DDTHH:MM`, or empty.
    #[serde(default)]
    pub starts_at: String,
    /// One of `none`, `tiers-48-24`, `until-start`, `cooling-off-14`, `erroneous`.
    pub refund_policy: String,
    /// For `erroneous`: the cost of returning, in tenge.
    #[serde(default)]
    pub refund_cost: String,
    #[serde(default)]
    pub allow_half: bool,
    #[serde(default)]
    pub rest_due_days: String,
    #[serde(default)]
    pub recurring_months: String,
    #[serde(default)]
    pub pass_fees: bool,
    #[serde(default)]
    pub offer_id: String,
}

/// A checked product.
#[derive(Debug, Clone)]
pub struct NewProduct {
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub price: Money,
    pub taxes_included: bool,
    pub access_days: Option<i64>,
    pub starts_at: Option<Timestamp>,
    pub refund_policy: RefundPolicy,
    pub allow_half: bool,
    pub rest_due_days: Option<i64>,
    pub recurring_months: Option<i64>,
    pub pass_fees: bool,
    pub offer_id: Option<i64>,
}

/// A positive amount of tenge with at most two decimals.
pub fn parse_amount(raw: &str, field: &'static str) -> Result<Money> {
    let m = Money::parse_tenge(raw).map_err(|e| e.on(field))?;
    if m.is_positive() {
        Ok(m)
    } else {
        Err(Error::invalid(field, "amount-not-positive"))
    }
}

fn optional_number(
    raw: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
    errors: &mut Vec<FieldError>,
) -> Option<i64> {
    let s = raw.trim();
    if s.is_empty() {
        return None;
    }
    match s.parse::<i64>() {
        Ok(n) if range.contains(&n) => Some(n),
        _ => {
            errors.push(FieldError {
                field,
                code: "number-range",
            });
            None
        }
    }
}

/// `YYYY-MM-DDTHH:MM` in Almaty time.
pub fn parse_local_time(raw: &str) -> Option<Timestamp> {
    let dt: jiff::civil::DateTime = raw.trim().parse().ok()?;
    let zoned = dt.to_zoned(calendar::almaty()).ok()?;
    Some(Timestamp::from_jiff(zoned.timestamp()))
}

impl ProductInput {
    /// Checks every field and reports every problem at once.
    pub fn parse(&self) -> Result<NewProduct> {
        let mut errors = Vec::new();
        let kind = KINDS.iter().copied().find(|k| *k == self.kind.trim());
        if kind.is_none() {
            errors.push(FieldError {
                field: "kind",
                code: "product-kind-unknown",
            });
        }
        let title = self.title.trim().to_string();
        if title.is_empty() {
            errors.push(FieldError {
                field: "title",
                code: "required",
            });
        } else if title.chars().count() > 200 || title.chars().any(char::is_control) {
            errors.push(FieldError {
                field: "title",
                code: "text-too-long",
            });
        }
        let description = self.description.trim().to_string();
        if description.chars().count() > 5000 {
            errors.push(FieldError {
                field: "description",
                code: "text-too-long",
            });
        }
        let price = match parse_amount(&self.price, "price") {
            Ok(p) => Some(p),
            Err(Error::Invalid(mut f)) => {
                errors.append(&mut f);
                None
            }
            Err(_) => None,
        };
        let access_days = optional_number(&self.access_days, "access_days", 1..=3650, &mut errors);
        let starts_at = match self.starts_at.trim() {
            "" => None,
            s => {
                let t = parse_local_time(s);
                if t.is_none() {
                    errors.push(FieldError {
                        field: "starts_at",
                        code: "datetime-format",
                    });
                }
                t
            }
        };
        let cost = match self.refund_cost.trim() {
            "" => Money::ZERO,
            s => Money::parse_tenge(s).unwrap_or_else(|e| {
                errors.push(FieldError {
                    field: "refund_cost",
                    code: e.code,
                });
                Money::ZERO
            }),
        };
        let refund_policy = RefundPolicy::preset(self.refund_policy.trim(), cost);
        if refund_policy.is_none() {
            errors.push(FieldError {
                field: "refund_policy",
                code: "refund-policy-unknown",
            });
        }
        if matches!(refund_policy, Some(RefundPolicy::Tiers { .. })) && starts_at.is_none() {
            errors.push(FieldError {
                field: "starts_at",
                code: "starts-at-required",
            });
        }
        let rest_due_days =
            optional_number(&self.rest_due_days, "rest_due_days", 1..=365, &mut errors);
        if self.allow_half && rest_due_days.is_none() {
            errors.push(FieldError {
                field: "rest_due_days",
                code: "required",
            });
        }
        let recurring_months = optional_number(
            &self.recurring_months,
            "recurring_months",
            1..=12,
            &mut errors,
        );
        if recurring_months.is_some_and(|m| !RECURRING_MONTHS.contains(&m)) {
            errors.push(FieldError {
                field: "recurring_months",
                code: "recurring-interval",
            });
        }
        if recurring_months.is_some() && self.allow_half {
            errors.push(FieldError {
                field: "allow_half",
                code: "half-not-for-recurring",
            });
        }
        let offer_id = optional_number(&self.offer_id, "offer_id", 1..=i64::MAX, &mut errors);
        match (kind, price, refund_policy) {
            (Some(kind), Some(price), Some(refund_policy)) if errors.is_empty() => Ok(NewProduct {
                kind,
                title,
                description,
                price,
                taxes_included: self.taxes_included,
                access_days: if recurring_months.is_some() {
                    None
                } else {
                    access_days
                },
                starts_at,
                refund_policy,
                allow_half: self.allow_half,
                rest_due_days: if self.allow_half { rest_due_days } else { None },
                recurring_months,
                pass_fees: self.pass_fees,
                offer_id,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

impl From<&Product> for ProductInput {
    fn from(p: &Product) -> Self {
        let cost = match p.refund_policy {
            RefundPolicy::Erroneous { cost } => Money::from_tiyn(cost).to_string(),
            _ => String::new(),
        };
        Self {
            kind: p.kind.clone(),
            title: p.title.clone(),
            description: p.description.clone(),
            price: p.price.to_string(),
            taxes_included: p.taxes_included,
            access_days: p.access_days.map(|d| d.to_string()).unwrap_or_default(),
            starts_at: p
                .starts_at
                .map(|t| {
                    Timestamp(t)
                        .to_jiff()
                        .to_zoned(calendar::almaty())
                        .strftime("%Y-%m-%dT%H:%M")
                        .to_string()
                })
                .unwrap_or_default(),
            refund_policy: p.refund_policy.preset_name().into(),
            refund_cost: cost,
            allow_half: p.allow_half,
            rest_due_days: p.rest_due_days.map(|d| d.to_string()).unwrap_or_default(),
            recurring_months: p
                .recurring_months
                .map(|d| d.to_string())
                .unwrap_or_default(),
            pass_fees: p.pass_fees,
            offer_id: p.offer_id.map(|d| d.to_string()).unwrap_or_default(),
        }
    }
}

pub async fn create(db: &Db, org: OrgId, actor: UserId, p: NewProduct) -> Result<Product> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO products (org_id, kind, title, description, price, taxes_included, access_days, starts_at, refund_policy,
             allow_half, rest_due_days, recurring_months, pass_fees, offer_id, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'active', $15, $15) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(p.kind)
    .bind(&p.title)
    .bind(&p.description)
    .bind(p.price.tiyn())
    .bind(i64::from(p.taxes_included))
    .bind(p.access_days)
    .bind(p.starts_at.map(|t| t.0))
    .bind(p.refund_policy.to_json())
    .bind(i64::from(p.allow_half))
    .bind(p.rest_due_days)
    .bind(p.recurring_months)
    .bind(i64::from(p.pass_fees))
    .bind(p.offer_id)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let product = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "product.created",
            subject: format!("product:{}", product.id),
            data: serde_json::json!({ "title": product.title, "price": product.price.tiyn(), "refund_policy": product.refund_policy }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(product)
}

/// Changes a product for orders made from now on; orders already made keep
/// what they were made with.
pub async fn update(db: &Db, org: OrgId, actor: UserId, id: i64, p: NewProduct) -> Result<Product> {
    let before = get(db, org, id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE products SET kind = $1, title = $2, description = $3, price = $4, taxes_included = $5, access_days = $6,
             starts_at = $7, refund_policy = $8, allow_half = $9, rest_due_days = $10, recurring_months = $11, pass_fees = $12,
             offer_id = $13, updated_at = $14
         WHERE id = $15 AND org_id = $16 RETURNING {COLUMNS}"
    ))
    .bind(p.kind)
    .bind(&p.title)
    .bind(&p.description)
    .bind(p.price.tiyn())
    .bind(i64::from(p.taxes_included))
    .bind(p.access_days)
    .bind(p.starts_at.map(|t| t.0))
    .bind(p.refund_policy.to_json())
    .bind(i64::from(p.allow_half))
    .bind(p.rest_due_days)
    .bind(p.recurring_months)
    .bind(i64::from(p.pass_fees))
    .bind(p.offer_id)
    .bind(now.0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let product = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "product.updated",
            subject: format!("product:{id}"),
            data: serde_json::json!({
                "price": { "before": before.price.tiyn(), "after": product.price.tiyn() },
                "refund_policy": { "before": before.refund_policy, "after": product.refund_policy },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(product)
}

/// One of the organizer's products.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Product> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM products WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The organizer's products, newest first.
pub async fn list(db: &Db, org: OrgId, only_active: bool) -> Result<Vec<Product>> {
    let filter = if only_active {
        " AND status = 'active'"
    } else {
        ""
    };
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM products WHERE org_id = $1{filter} ORDER BY id DESC LIMIT 500"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}
