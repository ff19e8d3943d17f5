//! What a coworking lets people book (EX-1): hot desks in a zone with N
//! seats, fixed desks, meeting rooms and private offices, each with its
//! opening hours, closed days (the Kazakhstan holiday calendar by default),
//! the units it is booked by and a price per unit, taxes included by
//! default (EX §6: prices in tenge include all applicable taxes).
//!
//! Each resource is sold through one product of kind `workplace`; the
//! booking's order carries the price of the hours booked, so a later price
//! change never touches a booking already made (EX §6).

use jiff::civil::Date;
use sqlx::Row;
use tabys_billing::products::{self, NewProduct};
use tabys_billing::refund::RefundPolicy;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_core::{Error, FieldError, Result, Timestamp, calendar};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

/// Kinds of resource.
pub const KINDS: [&str; 4] = ["hot-desk", "fixed-desk", "meeting-room", "private-office"];

/// How long a booking is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Unit {
    /// Whole hours, one or more.
    Hour,
    /// Four hours in a row.
    HalfDay,
    /// From opening to closing.
    Day,
}

pub const HALF_DAY_HOURS: i64 = 4;

impl Unit {
    pub const ALL: [Unit; 3] = [Unit::Hour, Unit::HalfDay, Unit::Day];

    pub fn code(self) -> &'static str {
        match self {
            Self::Hour => "hour",
            Self::HalfDay => "half-day",
            Self::Day => "day",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|u| u.code() == s.trim())
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Resource {
    pub id: i64,
    pub org_id: OrgId,
    pub kind: String,
    pub title: String,
    pub description: String,
    /// For hot desks: the zone they stand in.
    pub zone: String,
    /// How many people may book it for the same hour: the zone's seats,
    /// 1 for a desk, a room or an office (booked whole).
    pub seats: i64,
    /// How many people it holds (a room's size).
    pub capacity: i64,
    /// Opening hours, local Almaty time, `open_hour <= h < close_hour`.
    pub open_hour: i64,
    pub close_hour: i64,
    /// ISO weekday numbers (1 = Monday) it is closed on.
    pub closed_weekdays: Vec<i8>,
    /// Closed on Kazakhstan public holidays and the days off moved by decree.
    pub use_holidays: bool,
    /// A member may not hold two bookings of it that overlap.
    pub one_per_member: bool,
    pub price_hour: Option<Money>,
    pub price_half_day: Option<Money>,
    pub price_day: Option<Money>,
    pub taxes_included: bool,
    pub product_id: i64,
    /// Members with access to this subscription book it without paying (EX-2).
    pub membership_product_id: Option<i64>,
    /// A picture from the organizer's files.
    pub photo_file_id: Option<i64>,
    /// `active` or `archived`.
    pub status: String,
}

const COLUMNS: &str = "id, org_id, kind, title, description, zone, seats, capacity, open_hour, close_hour, closed_weekdays, \
     use_holidays, one_per_member, price_hour, price_half_day, price_day, taxes_included, product_id, membership_product_id, status, \
     photo_file_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Resource> {
    let closed: String = r.try_get(10)?;
    Ok(Resource {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        kind: r.try_get(2)?,
        title: r.try_get(3)?,
        description: r.try_get(4)?,
        zone: r.try_get(5)?,
        seats: r.try_get(6)?,
        capacity: r.try_get(7)?,
        open_hour: r.try_get(8)?,
        close_hour: r.try_get(9)?,
        closed_weekdays: parse_weekdays(&closed).unwrap_or_default(),
        use_holidays: r.try_get::<i64, _>(11)? != 0,
        one_per_member: r.try_get::<i64, _>(12)? != 0,
        price_hour: r.try_get::<Option<i64>, _>(13)?.map(Money::from_tiyn),
        price_half_day: r.try_get::<Option<i64>, _>(14)?.map(Money::from_tiyn),
        price_day: r.try_get::<Option<i64>, _>(15)?.map(Money::from_tiyn),
        taxes_included: r.try_get::<i64, _>(16)? != 0,
        product_id: r.try_get(17)?,
        membership_product_id: r.try_get(18)?,
        status: r.try_get(19)?,
        photo_file_id: r.try_get(20)?,
    })
}

fn parse_weekdays(s: &str) -> Option<Vec<i8>> {
    let mut out = Vec::new();
    for part in s.split([',', ' ']).filter(|p| !p.trim().is_empty()) {
        let n: i8 = part.trim().parse().ok()?;
        if !(1..=7).contains(&n) {
            return None;
        }
        if !out.contains(&n) {
            out.push(n);
        }
    }
    out.sort_unstable();
    Some(out)
}

impl Resource {
    /// The price of one unit, if the resource is booked by it.
    pub fn price(&self, unit: Unit) -> Option<Money> {
        match unit {
            Unit::Hour => self.price_hour,
            Unit::HalfDay => self.price_half_day,
            Unit::Day => self.price_day,
        }
    }

    pub fn units(&self) -> Vec<Unit> {
        Unit::ALL
            .into_iter()
            .filter(|u| self.price(*u).is_some())
            .collect()
    }

    /// Whether it is closed all day on this Almaty date.
    pub fn is_closed(&self, d: Date) -> bool {
        let weekday = d.weekday().to_monday_one_offset();
        if self.closed_weekdays.contains(&weekday) {
            return true;
        }
        let cal = calendar::kz();
        self.use_holidays && cal.note(d).is_some() && !cal.is_business_day(d)
    }

    pub fn closed_weekdays_text(&self) -> String {
        self.closed_weekdays
            .iter()
            .map(i8::to_string)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The hours it is open on a date (empty when closed).
    pub fn open_hours(&self, d: Date) -> Vec<i64> {
        if self.is_closed(d) {
            Vec::new()
        } else {
            (self.open_hour..self.close_hour).collect()
        }
    }

    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// The moment an Almaty local date and hour begins.
pub fn local_hour(d: Date, hour: i64) -> Result<Timestamp> {
    let h = i8::try_from(hour).map_err(|_| Error::invalid("hour", "booking-outside-hours"))?;
    let dt = d
        .at(h, 0, 0, 0)
        .to_zoned(calendar::almaty())
        .map_err(|_| Error::invalid("hour", "booking-outside-hours"))?;
    Ok(Timestamp::from_jiff(dt.timestamp()))
}

/// A resource as typed into the form.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(default)]
pub struct ResourceInput {
    pub kind: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub zone: String,
    #[serde(default)]
    pub seats: String,
    #[serde(default)]
    pub capacity: String,
    pub open_hour: String,
    pub close_hour: String,
    /// ISO weekday numbers, `6,7`.
    #[serde(default)]
    pub closed_weekdays: String,
    #[serde(default)]
    pub use_holidays: Option<String>,
    #[serde(default)]
    pub one_per_member: Option<String>,
    /// Tenge; empty when not booked by the hour.
    #[serde(default)]
    pub price_hour: String,
    #[serde(default)]
    pub price_half_day: String,
    #[serde(default)]
    pub price_day: String,
    /// `included` (the default, EX §6) or `excluded`.
    #[serde(default)]
    pub taxes: String,
    #[serde(default)]
    pub membership_product_id: String,
    /// One of the organizer's pictures, by id; empty for none.
    #[serde(default)]
    pub photo_file_id: String,
}

/// A checked resource.
#[derive(Debug, Clone)]
pub struct NewResource {
    pub kind: &'static str,
    pub title: String,
    pub description: String,
    pub zone: String,
    pub seats: i64,
    pub capacity: i64,
    pub open_hour: i64,
    pub close_hour: i64,
    pub closed_weekdays: Vec<i8>,
    pub use_holidays: bool,
    pub one_per_member: bool,
    pub price_hour: Option<Money>,
    pub price_half_day: Option<Money>,
    pub price_day: Option<Money>,
    pub taxes_included: bool,
    pub membership_product_id: Option<i64>,
    pub photo_file_id: Option<i64>,
}

fn text(raw: &str, field: &'static str, max: usize, errors: &mut Vec<FieldError>) -> String {
    let s = raw.trim().to_string();
    if s.chars().count() > max {
        errors.push(FieldError {
            field,
            code: "text-too-long",
        });
    }
    s
}

fn number(
    raw: &str,
    field: &'static str,
    range: std::ops::RangeInclusive<i64>,
    default: Option<i64>,
    errors: &mut Vec<FieldError>,
) -> i64 {
    let s = raw.trim();
    if s.is_empty()
        && let Some(d) = default
    {
        return d;
    }
    match s.parse::<i64>() {
        Ok(n) if range.contains(&n) => n,
        _ => {
            errors.push(FieldError {
                field,
                code: "number-range",
            });
            *range.start()
        }
    }
}

fn price(raw: &str, field: &'static str, errors: &mut Vec<FieldError>) -> Option<Money> {
    if raw.trim().is_empty() {
        return None;
    }
    match Money::parse_tenge(raw) {
        Ok(m) => Some(m),
        Err(e) => {
            errors.push(FieldError {
                field,
                code: e.code,
            });
            None
        }
    }
}

impl ResourceInput {
    /// Checks every field and reports every problem at once.
    pub fn parse(&self) -> Result<NewResource> {
        let mut errors = Vec::new();
        let kind = KINDS.iter().copied().find(|k| *k == self.kind.trim());
        if kind.is_none() {
            errors.push(FieldError {
                field: "kind",
                code: "resource-kind-unknown",
            });
        }
        let title = text(&self.title, "title", 200, &mut errors);
        if title.is_empty() {
            errors.push(FieldError {
                field: "title",
                code: "required",
            });
        }
        let description = text(&self.description, "description", 5000, &mut errors);
        let zone = text(&self.zone, "zone", 200, &mut errors);
        let seats = if kind == Some("hot-desk") {
            number(&self.seats, "seats", 1..=1000, None, &mut errors)
        } else {
            1
        };
        let capacity = number(
            &self.capacity,
            "capacity",
            1..=1000,
            Some(seats),
            &mut errors,
        );
        let open_hour = number(&self.open_hour, "open_hour", 0..=23, None, &mut errors);
        let close_hour = number(&self.close_hour, "close_hour", 1..=24, None, &mut errors);
        if close_hour <= open_hour {
            errors.push(FieldError {
                field: "close_hour",
                code: "resource-hours-order",
            });
        }
        let closed_weekdays = parse_weekdays(&self.closed_weekdays).unwrap_or_else(|| {
            errors.push(FieldError {
                field: "closed_weekdays",
                code: "resource-weekdays",
            });
            Vec::new()
        });
        let price_hour = price(&self.price_hour, "price_hour", &mut errors);
        let price_half_day = price(&self.price_half_day, "price_half_day", &mut errors);
        let price_day = price(&self.price_day, "price_day", &mut errors);
        if price_hour.is_none() && price_half_day.is_none() && price_day.is_none() {
            errors.push(FieldError {
                field: "price_hour",
                code: "resource-no-unit",
            });
        }
        if price_half_day.is_some() && close_hour - open_hour < HALF_DAY_HOURS {
            errors.push(FieldError {
                field: "price_half_day",
                code: "resource-hours-order",
            });
        }
        let membership_product_id = match self.membership_product_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.push(FieldError {
                        field: "membership_product_id",
                        code: "number-range",
                    });
                    None
                }
            },
        };
        let photo_file_id = match self.photo_file_id.trim() {
            "" => None,
            s => match s.parse::<i64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    errors.push(FieldError {
                        field: "photo_file_id",
                        code: "resource-photo",
                    });
                    None
                }
            },
        };
        let taxes_included = match self.taxes.trim() {
            "" | "included" => true,
            "excluded" => false,
            _ => {
                errors.push(FieldError {
                    field: "taxes",
                    code: "invalid",
                });
                true
            }
        };
        match kind {
            Some(kind) if errors.is_empty() => Ok(NewResource {
                kind,
                title,
                description,
                zone,
                seats,
                capacity,
                open_hour,
                close_hour,
                closed_weekdays,
                use_holidays: self.use_holidays.is_some(),
                one_per_member: self.one_per_member.is_some(),
                price_hour,
                price_half_day,
                price_day,
                taxes_included,
                membership_product_id,
                photo_file_id,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

impl Resource {
    /// The form filled with this resource, for editing.
    pub fn input(&self) -> ResourceInput {
        let p = |m: Option<Money>| m.map(plain_tenge).unwrap_or_default();
        ResourceInput {
            kind: self.kind.clone(),
            title: self.title.clone(),
            description: self.description.clone(),
            zone: self.zone.clone(),
            seats: self.seats.to_string(),
            capacity: self.capacity.to_string(),
            open_hour: self.open_hour.to_string(),
            close_hour: self.close_hour.to_string(),
            closed_weekdays: self.closed_weekdays_text(),
            use_holidays: self.use_holidays.then(|| "1".into()),
            one_per_member: self.one_per_member.then(|| "1".into()),
            price_hour: p(self.price_hour),
            price_half_day: p(self.price_half_day),
            price_day: p(self.price_day),
            taxes: if self.taxes_included {
                "included".into()
            } else {
                "excluded".into()
            },
            membership_product_id: self
                .membership_product_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
            photo_file_id: self
                .photo_file_id
                .map(|i| i.to_string())
                .unwrap_or_default(),
        }
    }
}

/// The photo must be a picture among the organizer's own files.
async fn check_photo(db: &Db, org: OrgId, r: &NewResource) -> Result<()> {
    if let Some(id) = r.photo_file_id {
        match tabys_files::get(db, org, id).await {
            Ok(f) if f.is_image() => {}
            _ => return Err(Error::invalid("photo_file_id", "resource-photo")),
        }
    }
    Ok(())
}

async fn check_membership(db: &Db, org: OrgId, r: &NewResource) -> Result<()> {
    if let Some(p) = r.membership_product_id {
        let product = products::get(db, org, p)
            .await
            .map_err(|_| Error::invalid("membership_product_id", "resource-membership-product"))?;
        if product.recurring_months.is_none() {
            return Err(Error::invalid(
                "membership_product_id",
                "resource-membership-product",
            ));
        }
    }
    Ok(())
}

fn product_for(r: &NewResource) -> NewProduct {
    NewProduct {
        kind: "workplace",
        title: r.title.clone(),
        description: r.description.clone(),
        // The product's own price is what one unit starts at; each booking's
        // order carries the price of what was booked.
        price: r
            .price_hour
            .or(r.price_half_day)
            .or(r.price_day)
            .filter(|m| m.is_positive())
            .unwrap_or(Money::from_tiyn(1)),
        taxes_included: r.taxes_included,
        access_days: None,
        starts_at: None,
        // EX §6: more than 48 h before the start everything back, 24–48 h half kept, later nothing.
        refund_policy: RefundPolicy::preset("tiers-48-24", Money::ZERO)
            .unwrap_or(RefundPolicy::None),
        allow_half: false,
        rest_due_days: None,
        recurring_months: None,
        pass_fees: false,
        offer_id: None,
    }
}

pub async fn create(db: &Db, org: OrgId, actor: UserId, r: NewResource) -> Result<Resource> {
    check_membership(db, org, &r).await?;
    check_photo(db, org, &r).await?;
    let product = products::create(db, org, actor, product_for(&r)).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO booking_resources (org_id, kind, title, description, zone, seats, capacity, open_hour, close_hour, closed_weekdays,
             use_holidays, one_per_member, price_hour, price_half_day, price_day, taxes_included, product_id, membership_product_id,
             photo_file_id, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $20, 'active', $19, $19)
         RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(r.kind)
    .bind(&r.title)
    .bind(&r.description)
    .bind(&r.zone)
    .bind(r.seats)
    .bind(r.capacity)
    .bind(r.open_hour)
    .bind(r.close_hour)
    .bind(weekdays_text(&r.closed_weekdays))
    .bind(i64::from(r.use_holidays))
    .bind(i64::from(r.one_per_member))
    .bind(r.price_hour.map(|m| m.tiyn()))
    .bind(r.price_half_day.map(|m| m.tiyn()))
    .bind(r.price_day.map(|m| m.tiyn()))
    .bind(i64::from(r.taxes_included))
    .bind(product.id)
    .bind(r.membership_product_id)
    .bind(now.0)
    .bind(r.photo_file_id)
    .fetch_one(&mut *tx)
    .await?;
    let resource = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "booking.resource-created",
            subject: format!("resource:{}", resource.id),
            data: serde_json::json!({ "title": resource.title, "kind": resource.kind }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(resource)
}

/// `1500.50`, as a form field shows an amount.
pub fn plain_tenge(m: Money) -> String {
    format!("{}.{:02}", m.tiyn() / 100, m.tiyn() % 100)
}

fn weekdays_text(w: &[i8]) -> String {
    w.iter().map(i8::to_string).collect::<Vec<_>>().join(",")
}

/// Changes a resource for bookings made from now on; bookings already made
/// keep their price (EX §6) and their hours.
pub async fn update(
    db: &Db,
    org: OrgId,
    actor: UserId,
    id: i64,
    r: NewResource,
) -> Result<Resource> {
    let before = get(db, org, id).await?;
    check_membership(db, org, &r).await?;
    check_photo(db, org, &r).await?;
    products::update(db, org, actor, before.product_id, product_for(&r)).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE booking_resources SET kind = $1, title = $2, description = $3, zone = $4, seats = $5, capacity = $6,
             open_hour = $7, close_hour = $8, closed_weekdays = $9, use_holidays = $10, one_per_member = $11,
             price_hour = $12, price_half_day = $13, price_day = $14, taxes_included = $15, membership_product_id = $16,
             updated_at = $17, photo_file_id = $20
         WHERE id = $18 AND org_id = $19 RETURNING {COLUMNS}"
    ))
    .bind(r.kind)
    .bind(&r.title)
    .bind(&r.description)
    .bind(&r.zone)
    .bind(r.seats)
    .bind(r.capacity)
    .bind(r.open_hour)
    .bind(r.close_hour)
    .bind(weekdays_text(&r.closed_weekdays))
    .bind(i64::from(r.use_holidays))
    .bind(i64::from(r.one_per_member))
    .bind(r.price_hour.map(|m| m.tiyn()))
    .bind(r.price_half_day.map(|m| m.tiyn()))
    .bind(r.price_day.map(|m| m.tiyn()))
    .bind(i64::from(r.taxes_included))
    .bind(r.membership_product_id)
    .bind(now.0)
    .bind(id)
    .bind(org.0)
    .bind(r.photo_file_id)
    .fetch_one(&mut *tx)
    .await?;
    let resource = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "booking.resource-updated",
            subject: format!("resource:{id}"),
            data: serde_json::json!({
                "price_hour": [before.price_hour.map(|m| m.tiyn()), resource.price_hour.map(|m| m.tiyn())],
                "price_day": [before.price_day.map(|m| m.tiyn()), resource.price_day.map(|m| m.tiyn())],
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(resource)
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Resource> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM booking_resources WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn list(db: &Db, org: OrgId, only_active: bool) -> Result<Vec<Resource>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM booking_resources WHERE org_id = $1 AND ($2 = 0 OR status = 'active') ORDER BY kind, title, id"
    ))
    .bind(org.0)
    .bind(i64::from(only_active))
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Hides a resource from members; bookings already made stay.
pub async fn set_status(db: &Db, org: OrgId, actor: UserId, id: i64, active: bool) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let status = if active { "active" } else { "archived" };
    let done = sqlx::query(
        "UPDATE booking_resources SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
    )
    .bind(status)
    .bind(now.0)
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "booking.resource-status",
            subject: format!("resource:{id}"),
            data: serde_json::json!({ "status": status }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ResourceInput {
        ResourceInput {
            kind: "hot-desk".into(),
            title: "Open space".into(),
            seats: "20".into(),
            open_hour: "9".into(),
            close_hour: "21".into(),
            closed_weekdays: "7".into(),
            use_holidays: Some("1".into()),
            price_hour: "1 500".into(),
            price_day: "8000".into(),
            ..ResourceInput::default()
        }
    }

    #[test]
    fn a_resource_form_is_checked_field_by_field() {
        let r = input().parse().map_err(|e| e.to_string());
        assert!(
            r.as_ref().is_ok_and(|r| r.seats == 20 && r.taxes_included),
            "{r:?}"
        );
        let bad = ResourceInput {
            kind: "sofa".into(),
            open_hour: "20".into(),
            close_hour: "9".into(),
            closed_weekdays: "8".into(),
            price_hour: String::new(),
            price_day: String::new(),
            ..input()
        };
        let Err(Error::Invalid(fields)) = bad.parse() else {
            panic!("accepted a bad resource");
        };
        let codes: Vec<&str> = fields.iter().map(|f| f.code).collect();
        for code in [
            "resource-kind-unknown",
            "resource-hours-order",
            "resource-weekdays",
            "resource-no-unit",
        ] {
            assert!(codes.contains(&code), "{codes:?} lacks {code}");
        }
    }

    #[test]
    fn holidays_and_closed_weekdays_close_the_day() -> Result<(), Box<dyn std::error::Error>> {
        let r = Resource {
            id: 1,
            org_id: OrgId(1),
            kind: "hot-desk".into(),
            title: "x".into(),
            description: String::new(),
            zone: String::new(),
            seats: 1,
            capacity: 1,
            open_hour: 9,
            close_hour: 18,
            closed_weekdays: vec![7],
            use_holidays: true,
            one_per_member: false,
            price_hour: Some(Money::from_tiyn(100)),
            price_half_day: None,
            price_day: None,
            taxes_included: true,
            product_id: 1,
            membership_product_id: None,
            photo_file_id: None,
            status: "active".into(),
        };
        // 2026-03-09 (Monday) is the day off for Women's Day falling on Sunday the 8th.
        assert!(r.is_closed("2026-03-09".parse()?));
        assert!(r.is_closed("2026-03-08".parse()?));
        assert!(!r.is_closed("2026-03-10".parse()?));
        assert!(!r.is_closed("2026-03-14".parse()?), "Saturday is open");
        let without = Resource {
            use_holidays: false,
            ..r
        };
        assert!(!without.is_closed("2026-03-09".parse()?));
        Ok(())
    }
}
