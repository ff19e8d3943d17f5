//! An offer: one document of an organizer (or of the operator for the whole
//! platform) — its public offer, terms, license offer, privacy policy or
//! payment-module terms — with the ways a person accepts it and how long
//! before taking effect a new version must be published. Its texts live in
//! its versions.

use sqlx::Row;
use tabys_accounts::organizers;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Conn, Db};

use crate::acceptance::Method;

/// Who publishes a document: the operator for the whole platform, or an organizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub enum Publisher {
    Platform,
    Org(OrgId),
}

impl Publisher {
    pub fn from_org(org: Option<OrgId>) -> Self {
        org.map_or(Self::Platform, Self::Org)
    }

    pub fn org(self) -> Option<OrgId> {
        match self {
            Self::Platform => None,
            Self::Org(o) => Some(o),
        }
    }

    /// The value compared with `COALESCE(org_id, 0)`: one query text serves
    /// the platform (NULL in `org_id`) and every organizer (ids start at 1).
    pub(crate) fn key(self) -> i64 {
        self.org().map_or(0, |o| o.0)
    }

    /// The publisher's name as printed on documents.
    pub async fn name(self, db: &Db) -> Result<String> {
        match self {
            Self::Platform => Ok(PLATFORM_NAME.to_string()),
            Self::Org(o) => Ok(organizers::get(db, o).await?.profile.legal_name),
        }
    }
}

/// How the platform signs its own documents.
pub const PLATFORM_NAME: &str = "Tabys";

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum OfferKind {
    /// Terms of use (пользовательское соглашение).
    Terms,
    /// A public offer to provide services (публичная оферта, LZ).
    PublicOffer,
    /// A license offer (лицензионная оферта, AT).
    License,
    /// The privacy policy (политика конфиденциальности, CP 8).
    Privacy,
    /// Terms of the payment module (AT-3).
    PaymentModule,
}

impl OfferKind {
    pub const ALL: [OfferKind; 5] = [
        Self::Terms,
        Self::PublicOffer,
        Self::License,
        Self::Privacy,
        Self::PaymentModule,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Terms => "terms",
            Self::PublicOffer => "public_offer",
            Self::License => "license",
            Self::Privacy => "privacy",
            Self::PaymentModule => "payment_module",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Offer {
    pub id: i64,
    /// The organizer; absent for the operator's platform documents.
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<OrgId>,
    pub kind: OfferKind,
    /// How a person accepts it: `checkbox` (at sign-up and when joining),
    /// `payment`, `first_login`, `renewal`.
    pub methods: Vec<Method>,
    /// A new version must be published at least this many days before it takes effect (AT 3.2.1).
    pub notice_days: i64,
    #[schema(value_type = i64)]
    pub created_at: Timestamp,
}

impl Offer {
    pub fn publisher(&self) -> Publisher {
        Publisher::from_org(self.org_id)
    }

    pub fn accepts_by(&self, method: Method) -> bool {
        self.methods.contains(&method)
    }
}

/// The settings of an offer as a form or the API sends them.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct OfferSettings {
    pub methods: Vec<Method>,
    #[serde(default)]
    pub notice_days: i64,
}

/// The longest notice an offer may ask for.
pub const MAX_NOTICE_DAYS: i64 = 365;

impl OfferSettings {
    fn check(&self) -> Result<String> {
        let mut errors = Vec::new();
        if !(0..=MAX_NOTICE_DAYS).contains(&self.notice_days) {
            errors.push(FieldError {
                field: "notice_days",
                code: "offer-notice-days-range",
            });
        }
        if self.methods.iter().any(|m| !m.is_configurable()) {
            errors.push(FieldError {
                field: "methods",
                code: "offer-method-unknown",
            });
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        let mut codes: Vec<&str> = Vec::new();
        for m in Method::CONFIGURABLE {
            if self.methods.contains(&m) {
                codes.push(m.code());
            }
        }
        Ok(codes.join(","))
    }
}

const COLUMNS: &str = "id, org_id, kind, methods, notice_days, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Offer> {
    let kind: String = row.try_get(2)?;
    let methods: String = row.try_get(3)?;
    Ok(Offer {
        id: row.try_get(0)?,
        org_id: row.try_get::<Option<i64>, _>(1)?.map(OrgId),
        kind: OfferKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("unknown offer kind {kind}")))?,
        methods: methods.split(',').filter_map(Method::parse).collect(),
        notice_days: row.try_get(4)?,
        created_at: Timestamp(row.try_get(5)?),
    })
}

/// Creates an offer; a publisher has at most one offer of each kind.
pub async fn create(
    db: &Db,
    publisher: Publisher,
    actor: UserId,
    kind: OfferKind,
    settings: &OfferSettings,
) -> Result<Offer> {
    let methods = settings.check()?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let exists = sqlx::query("SELECT id FROM offers WHERE COALESCE(org_id, 0) = $1 AND kind = $2")
        .bind(publisher.key())
        .bind(kind.code())
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_some() {
        return Err(Error::invalid("kind", "offer-kind-exists"));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO offers (org_id, kind, methods, notice_days, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(publisher.org().map(|o| o.0))
    .bind(kind.code())
    .bind(&methods)
    .bind(settings.notice_days)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let offer = from_row(&row)?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: publisher.org(),
            actor_id: Some(actor),
            action: "offer.created",
            subject: format!("offer:{}", offer.id),
            data: serde_json::json!({ "kind": kind.code(), "methods": methods, "notice_days": settings.notice_days }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(offer)
}

/// Changes how an offer is accepted and its notice period. Versions
/// already published are not touched.
pub async fn configure(
    db: &Db,
    publisher: Publisher,
    id: i64,
    actor: UserId,
    settings: &OfferSettings,
) -> Result<Offer> {
    let methods = settings.check()?;
    let before = get(db, publisher, id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE offers SET methods = $1, notice_days = $2, updated_at = $3
         WHERE id = $4 AND COALESCE(org_id, 0) = $5 RETURNING {COLUMNS}"
    ))
    .bind(&methods)
    .bind(settings.notice_days)
    .bind(now.0)
    .bind(id)
    .bind(publisher.key())
    .fetch_one(&mut *tx)
    .await?;
    let offer = from_row(&row)?;
    let old: Vec<&str> = before.methods.iter().map(|m| m.code()).collect();
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: publisher.org(),
            actor_id: Some(actor),
            action: "offer.configured",
            subject: format!("offer:{id}"),
            data: serde_json::json!({
                "methods": { "before": old.join(","), "after": methods },
                "notice_days": { "before": before.notice_days, "after": settings.notice_days },
            }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(offer)
}

/// One offer of the publisher; another publisher's is `NotFound`.
pub async fn get(db: &Db, publisher: Publisher, id: i64) -> Result<Offer> {
    let mut conn = db.read().acquire().await?;
    get_in(&mut conn, publisher, id).await
}

pub(crate) async fn get_in(conn: &mut Conn, publisher: Publisher, id: i64) -> Result<Offer> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offers WHERE id = $1 AND COALESCE(org_id, 0) = $2"
    ))
    .bind(id)
    .bind(publisher.key())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Any offer by id, for evidence already tied to it (an acceptance).
pub(crate) async fn by_id(conn: &mut Conn, id: i64) -> Result<Offer> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM offers WHERE id = $1"))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The publisher's offers in the order of [`OfferKind::ALL`].
pub async fn list(db: &Db, publisher: Publisher) -> Result<Vec<Offer>> {
    let mut conn = db.read().acquire().await?;
    list_in(&mut conn, publisher).await
}

pub(crate) async fn list_in(conn: &mut Conn, publisher: Publisher) -> Result<Vec<Offer>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offers WHERE COALESCE(org_id, 0) = $1 ORDER BY id"
    ))
    .bind(publisher.key())
    .fetch_all(&mut *conn)
    .await?;
    let mut offers = rows.iter().map(from_row).collect::<Result<Vec<_>>>()?;
    offers.sort_by_key(|o| OfferKind::ALL.iter().position(|k| *k == o.kind));
    Ok(offers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_keep_methods_in_a_fixed_order_without_duplicates() -> Result<()> {
        let s = OfferSettings {
            methods: vec![Method::Payment, Method::Checkbox, Method::Payment],
            notice_days: 1,
        };
        assert_eq!(s.check()?, "checkbox,payment");
        Ok(())
    }

    #[test]
    fn continued_use_cannot_be_configured_and_notice_is_bounded() {
        let s = OfferSettings {
            methods: vec![Method::ContinuedUse],
            notice_days: 400,
        };
        let Err(Error::Invalid(errors)) = s.check() else {
            panic!("expected invalid")
        };
        let codes: Vec<_> = errors.iter().map(|e| e.code).collect();
        assert_eq!(codes, ["offer-notice-days-range", "offer-method-unknown"]);
    }

    #[test]
    fn platform_and_organizers_never_share_a_key() {
        assert_eq!(Publisher::Platform.key(), 0);
        assert_eq!(Publisher::Org(OrgId(7)).key(), 7);
    }
}
