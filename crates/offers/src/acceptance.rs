//! Acceptances: the evidence that a person accepted an exact version of an
//! offer — who, which version and its hash, how, when (UTC), from which IP
//! and browser, in which language and with which words on the button or
//! box. Rows are insert-only, and each is written to the audit chain in
//! the same transaction.
//!
//! A form that asks for acceptance carries the ids and hashes of the
//! versions it showed ([`Presented`]); the acceptance is recorded only if
//! they are exactly the versions that must be accepted now. A version of
//! another organizer, a changed hash, a version no longer current, or one
//! already accepted is refused and nothing is recorded.

use sqlx::Row;
use tabys_accounts::sessions::Origin;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Conn, Db, Dialect, Tx};

use crate::offer::{self, Offer, Publisher};
use crate::version::{self, Version};

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// An unticked box at sign-up, or when a signed-in person joins an organizer.
    Checkbox,
    /// Paying an order (LZ 3.4, AT 1.2): recorded by the money capability.
    Payment,
    /// The acceptance page shown after signing in, before the cabinet.
    FirstLogin,
    /// Paying a renewal of a subscription or license (AT 1.10).
    Renewal,
    /// Going on using the service after a new version took effect (LZ 12.2.1);
    /// recorded by Tabys, never configured.
    ContinuedUse,
}

impl Method {
    /// The methods an offer may be configured with, in display order.
    pub const CONFIGURABLE: [Method; 4] = [
        Self::Checkbox,
        Self::Payment,
        Self::FirstLogin,
        Self::Renewal,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Checkbox => "checkbox",
            Self::Payment => "payment",
            Self::FirstLogin => "first_login",
            Self::Renewal => "renewal",
            Self::ContinuedUse => "continued_use",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Checkbox,
            Self::Payment,
            Self::FirstLogin,
            Self::Renewal,
            Self::ContinuedUse,
        ]
        .into_iter()
        .find(|m| m.code() == s)
    }

    pub fn is_configurable(self) -> bool {
        Self::CONFIGURABLE.contains(&self)
    }
}

/// The circumstances every acceptance records besides the version.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    pub origin: Origin,
    /// The language the text and the button were shown in.
    pub locale: Option<Locale>,
    /// The exact words of the box or button the person used.
    pub wording: String,
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Acceptance {
    pub id: i64,
    #[schema(value_type = i64)]
    pub user_id: UserId,
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<OrgId>,
    pub offer_id: i64,
    pub version_id: i64,
    pub version_hash: String,
    pub method: Method,
    /// The order or payment, for payment methods; empty otherwise.
    pub reference: String,
    #[schema(value_type = i64)]
    pub accepted_at: Timestamp,
    pub ip: String,
    pub user_agent: String,
    #[schema(value_type = String)]
    pub locale: Locale,
    pub wording: String,
}

impl Acceptance {
    pub fn publisher(&self) -> Publisher {
        Publisher::from_org(self.org_id)
    }

    /// The audit entry's subject for this acceptance.
    pub fn audit_subject(&self) -> String {
        format!("offer_acceptance:{}", self.id)
    }
}

const COLUMNS: &str = "id, user_id, org_id, offer_id, version_id, version_hash, method, reference, accepted_at, ip, user_agent, locale, wording";

pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Acceptance> {
    let method: String = row.try_get(6)?;
    let locale: String = row.try_get(11)?;
    Ok(Acceptance {
        id: row.try_get(0)?,
        user_id: UserId(row.try_get(1)?),
        org_id: row.try_get::<Option<i64>, _>(2)?.map(OrgId),
        offer_id: row.try_get(3)?,
        version_id: row.try_get(4)?,
        version_hash: row.try_get(5)?,
        method: Method::parse(&method)
            .ok_or_else(|| Error::Internal(format!("unknown acceptance method {method}")))?,
        reference: row.try_get(7)?,
        accepted_at: Timestamp(row.try_get(8)?),
        ip: row.try_get(9)?,
        user_agent: row.try_get(10)?,
        locale: Locale::parse(&locale).unwrap_or(Locale::Ru),
        wording: row.try_get(12)?,
    })
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// Writes one acceptance and its audit entry inside the caller's transaction.
pub(crate) async fn record(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    user: UserId,
    v: &Version,
    (method, reference): (Method, &str),
    ev: &Evidence,
) -> Result<Acceptance> {
    let locale = ev.locale.unwrap_or(Locale::Ru);
    let row = sqlx::query(&format!(
        "INSERT INTO offer_acceptances (user_id, org_id, offer_id, version_id, version_hash, method, reference, accepted_at, ip, user_agent, locale, wording)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING {COLUMNS}"
    ))
    .bind(user.0)
    .bind(v.org_id.map(|o| o.0))
    .bind(v.offer_id)
    .bind(v.id)
    .bind(&v.hash)
    .bind(method.code())
    .bind(reference)
    .bind(now.0)
    .bind(truncate(&ev.origin.ip, 100))
    .bind(truncate(&ev.origin.user_agent, 400))
    .bind(locale.code())
    .bind(truncate(&ev.wording, 2000))
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::Conflict("offer-already-accepted"),
        other => other,
    })?;
    let a = from_row(&row)?;
    audit::append(
        tx,
        dialect,
        now,
        Entry {
            org_id: a.org_id,
            actor_id: Some(user),
            action: "offer.accepted",
            subject: a.audit_subject(),
            data: serde_json::json!({
                "user_id": user.0,
                "offer_id": a.offer_id,
                "version_id": a.version_id,
                "version_number": v.number,
                "version_hash": a.version_hash,
                "method": method.code(),
                "reference": a.reference,
                "accepted_at": now.0,
                "ip": a.ip,
                "user_agent": a.user_agent,
                "locale": a.locale.code(),
                "wording": a.wording,
            }),
        },
    )
    .await?;
    Ok(a)
}

/// A version as a form showed it: its id and the hash printed beside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    pub version_id: i64,
    pub hash: String,
}

impl Presented {
    /// Reads the hidden form field: `id:hash` pairs joined by commas.
    pub fn parse_list(raw: &str) -> Result<Vec<Presented>> {
        raw.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (id, hash) = p
                    .split_once(':')
                    .ok_or(Error::invalid("offers", "offer-version-mismatch"))?;
                let version_id = id
                    .parse()
                    .map_err(|_| Error::invalid("offers", "offer-version-mismatch"))?;
                Ok(Presented {
                    version_id,
                    hash: hash.to_string(),
                })
            })
            .collect()
    }

    /// Writes the hidden form field for these versions.
    pub fn field(versions: &[&Version]) -> String {
        versions
            .iter()
            .map(|v| format!("{}:{}", v.id, v.hash))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Checks that a form presented exactly the versions that must be accepted.
pub(crate) async fn check_presented(
    conn: &mut Conn,
    user: Option<UserId>,
    presented: &[Presented],
    required: &[Version],
) -> Result<()> {
    let mismatch = || Error::invalid("offers", "offer-version-mismatch");
    let mut seen = Vec::new();
    for p in presented {
        if seen.contains(&p.version_id) {
            return Err(mismatch());
        }
        seen.push(p.version_id);
        let Some(v) = version::by_id(conn, p.version_id).await? else {
            return Err(mismatch());
        };
        if let Some(user) = user
            && accepted_version(conn, user, v.id).await?
        {
            return Err(Error::Conflict("offer-already-accepted"));
        }
        if !required.iter().any(|r| r.id == v.id) {
            return Err(if required.iter().any(|r| r.offer_id == v.offer_id) {
                Error::invalid("offers", "offer-not-current")
            } else {
                mismatch()
            });
        }
        if p.hash != v.hash {
            return Err(Error::invalid("offers", "offer-hash-mismatch"));
        }
    }
    if required.iter().any(|r| !seen.contains(&r.id)) {
        // The form is older than an offer that must now be accepted.
        return Err(Error::invalid("offers", "offer-not-current"));
    }
    Ok(())
}

async fn accepted_version(conn: &mut Conn, user: UserId, version_id: i64) -> Result<bool> {
    let row = sqlx::query(
        "SELECT id FROM offer_acceptances WHERE user_id = $1 AND version_id = $2 LIMIT 1",
    )
    .bind(user.0)
    .bind(version_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.is_some())
}

/// The current versions of the publisher's offers accepted by `method`.
pub(crate) async fn current_by_method(
    conn: &mut Conn,
    publisher: Publisher,
    method: Method,
    now: Timestamp,
) -> Result<Vec<(Offer, Version)>> {
    let mut out = Vec::new();
    for o in offer::list_in(conn, publisher).await? {
        if !o.accepts_by(method) {
            continue;
        }
        if let Some(v) = version::current_in(conn, o.id, now).await? {
            out.push((o, v));
        }
    }
    Ok(out)
}

/// What a person signing up (with an organizer, or not) must accept by
/// ticking the box: the platform's sign-up offers, then the organizer's.
pub async fn for_signup(db: &Db, org: Option<OrgId>) -> Result<Vec<(Offer, Version)>> {
    let mut conn = db.read().acquire().await?;
    for_signup_in(&mut conn, org, db.now()).await
}

pub(crate) async fn for_signup_in(
    conn: &mut Conn,
    org: Option<OrgId>,
    now: Timestamp,
) -> Result<Vec<(Offer, Version)>> {
    let mut out = current_by_method(conn, Publisher::Platform, Method::Checkbox, now).await?;
    if let Some(org) = org {
        out.extend(current_by_method(conn, Publisher::Org(org), Method::Checkbox, now).await?);
    }
    Ok(out)
}

/// The offers a person must accept on the page shown after signing in:
/// current versions of the platform's first-login offers, and of the
/// first-login offers of each organizer they are a customer of, that they
/// have not accepted in any way.
pub async fn first_login_pending(db: &Db, user: UserId) -> Result<Vec<(Offer, Version)>> {
    let mut conn = db.read().acquire().await?;
    first_login_pending_in(&mut conn, user, db.now()).await
}

async fn first_login_pending_in(
    conn: &mut Conn,
    user: UserId,
    now: Timestamp,
) -> Result<Vec<(Offer, Version)>> {
    let mut publishers = vec![Publisher::Platform];
    let rows = sqlx::query(
        "SELECT org_id FROM memberships WHERE user_id = $1 AND role = 'customer' ORDER BY org_id",
    )
    .bind(user.0)
    .fetch_all(&mut *conn)
    .await?;
    for r in rows {
        publishers.push(Publisher::Org(OrgId(r.try_get(0)?)));
    }
    let mut out = Vec::new();
    for p in publishers {
        for (o, v) in current_by_method(conn, p, Method::FirstLogin, now).await? {
            if !accepted_version(conn, user, v.id).await? {
                out.push((o, v));
            }
        }
    }
    Ok(out)
}

/// Records acceptance on the page shown after signing in. `accepted` is
/// whether the box was ticked.
pub async fn accept_first_login(
    db: &Db,
    user: UserId,
    presented: &[Presented],
    accepted: bool,
    ev: &Evidence,
) -> Result<Vec<Acceptance>> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let pending: Vec<Version> = first_login_pending_in(&mut tx, user, now)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    check_presented(&mut tx, Some(user), presented, &pending).await?;
    if !accepted {
        return Err(Error::invalid("accept", "offer-acceptance-required"));
    }
    let mut out = Vec::new();
    for v in &pending {
        out.push(
            record(
                &mut tx,
                db.dialect(),
                now,
                user,
                v,
                (Method::FirstLogin, ""),
                ev,
            )
            .await?,
        );
    }
    tx.commit().await?;
    Ok(out)
}

/// A payment that accepts an organizer's offers (LZ 3.4: "the order is
/// placed by paying"; AT 1.2).
#[derive(Debug, Clone)]
pub struct PaymentAcceptance {
    pub user: UserId,
    pub org: OrgId,
    /// The order or payment id; a retried payment with the same reference records nothing new.
    pub reference: String,
    pub evidence: Evidence,
}

/// Called by the money capability inside the transaction that records a
/// paid order: records acceptance by payment of the current version of
/// each of the organizer's offers configured with [`Method::Payment`].
/// Idempotent per reference, so a retried callback adds nothing; returns
/// the acceptances of this payment, new or already recorded.
pub async fn accept_by_payment(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    p: &PaymentAcceptance,
) -> Result<Vec<Acceptance>> {
    accept_paid(tx, dialect, now, p, Method::Payment).await
}

/// The same as [`accept_by_payment`] for the payment of a renewal
/// (a recurring charge), for offers configured with [`Method::Renewal`].
pub async fn accept_by_renewal(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    p: &PaymentAcceptance,
) -> Result<Vec<Acceptance>> {
    accept_paid(tx, dialect, now, p, Method::Renewal).await
}

async fn accept_paid(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    p: &PaymentAcceptance,
    method: Method,
) -> Result<Vec<Acceptance>> {
    if p.reference.trim().is_empty() {
        return Err(Error::invalid("reference", "required"));
    }
    let mut out = Vec::new();
    for (_, v) in current_by_method(tx, Publisher::Org(p.org), method, now).await? {
        let existing = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM offer_acceptances WHERE user_id = $1 AND version_id = $2 AND method = $3 AND reference = $4"
        ))
        .bind(p.user.0)
        .bind(v.id)
        .bind(method.code())
        .bind(&p.reference)
        .fetch_optional(&mut **tx)
        .await?;
        match existing {
            Some(row) => out.push(from_row(&row)?),
            None => out.push(
                record(
                    tx,
                    dialect,
                    now,
                    p.user,
                    &v,
                    (method, &p.reference),
                    &p.evidence,
                )
                .await?,
            ),
        }
    }
    Ok(out)
}

/// After a new version took effect, a person who accepted an earlier one
/// and did not object accepts it by going on using the service (LZ
/// 12.2.1). Called when they open the cabinet (every publisher) or an
/// organizer's pages (`only` that organizer). Returns what was recorded.
pub async fn record_continued_use(
    db: &Db,
    user: UserId,
    only: Option<Publisher>,
    ev: &Evidence,
) -> Result<Vec<Acceptance>> {
    let now = db.now();
    // Most visits find nothing to record; look before taking the write lock.
    let due = {
        let mut conn = db.read().acquire().await?;
        continued_use_due(&mut conn, user, only, now).await?
    };
    if due.is_empty() {
        return Ok(Vec::new());
    }
    let mut tx = db.begin().await?;
    let due = continued_use_due(&mut tx, user, only, now).await?;
    let mut out = Vec::new();
    for v in &due {
        out.push(
            record(
                &mut tx,
                db.dialect(),
                now,
                user,
                v,
                (Method::ContinuedUse, ""),
                ev,
            )
            .await?,
        );
    }
    tx.commit().await?;
    Ok(out)
}

async fn continued_use_due(
    conn: &mut Conn,
    user: UserId,
    only: Option<Publisher>,
    now: Timestamp,
) -> Result<Vec<Version>> {
    let rows = sqlx::query(
        "SELECT a.offer_id, MAX(v.number) FROM offer_acceptances a JOIN offer_versions v ON v.id = a.version_id
         WHERE a.user_id = $1 AND ($2 < 0 OR COALESCE(a.org_id, 0) = $2)
         GROUP BY a.offer_id ORDER BY a.offer_id",
    )
    .bind(user.0)
    .bind(only.map_or(-1, Publisher::key))
    .fetch_all(&mut *conn)
    .await?;
    let mut due = Vec::new();
    for r in rows {
        let offer_id: i64 = r.try_get(0)?;
        let accepted: i64 = r.try_get(1)?;
        let Some(current) = version::current_in(conn, offer_id, now).await? else {
            continue;
        };
        if current.number <= accepted {
            continue;
        }
        let objected = sqlx::query(
            "SELECT o.id FROM offer_objections o JOIN offer_versions v ON v.id = o.version_id
             WHERE o.user_id = $1 AND o.offer_id = $2 AND v.number > $3 AND v.number <= $4 LIMIT 1",
        )
        .bind(user.0)
        .bind(offer_id)
        .bind(accepted)
        .bind(current.number)
        .fetch_optional(&mut *conn)
        .await?;
        if objected.is_none() {
            due.push(current);
        }
    }
    Ok(due)
}

/// Every acceptance of a person, newest first.
pub async fn of_user(db: &Db, user: UserId) -> Result<Vec<Acceptance>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_acceptances WHERE user_id = $1 ORDER BY id DESC"
    ))
    .bind(user.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// Acceptances of a person of one publisher's offers (a customer card).
pub async fn of_user_with(db: &Db, publisher: Publisher, user: UserId) -> Result<Vec<Acceptance>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_acceptances WHERE user_id = $1 AND COALESCE(org_id, 0) = $2 ORDER BY id DESC"
    ))
    .bind(user.0)
    .bind(publisher.key())
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One of the person's own acceptances with the version it accepted;
/// anyone else's is `NotFound`.
pub async fn own(db: &Db, user: UserId, id: i64) -> Result<(Acceptance, Version, Offer)> {
    let mut conn = db.read().acquire().await?;
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_acceptances WHERE id = $1 AND user_id = $2"
    ))
    .bind(id)
    .bind(user.0)
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(Error::NotFound)?;
    let a = from_row(&row)?;
    let v = version::by_id(&mut conn, a.version_id)
        .await?
        .ok_or(Error::NotFound)?;
    let o = offer::by_id(&mut conn, a.offer_id).await?;
    Ok((a, v, o))
}

/// The audit entry that recorded an acceptance: its sequence number and hash.
pub async fn audit_entry(db: &Db, a: &Acceptance) -> Result<Option<(i64, String)>> {
    let row = sqlx::query(
        "SELECT seq, hash FROM audit_log WHERE subject = $1 AND action = 'offer.accepted'",
    )
    .bind(a.audit_subject())
    .fetch_optional(db.read())
    .await?;
    row.map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).transpose()
}

/// How many people accepted each version of one of the publisher's offers.
pub async fn counts(db: &Db, publisher: Publisher, offer_id: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT version_id, COUNT(DISTINCT user_id) FROM offer_acceptances
         WHERE offer_id = $1 AND COALESCE(org_id, 0) = $2 GROUP BY version_id",
    )
    .bind(offer_id)
    .bind(publisher.key())
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presented_versions_round_trip_through_the_form_field() -> Result<()> {
        let list = Presented::parse_list("12:abc, 13:def")?;
        assert_eq!(
            list,
            vec![
                Presented {
                    version_id: 12,
                    hash: "abc".into()
                },
                Presented {
                    version_id: 13,
                    hash: "def".into()
                }
            ]
        );
        assert!(Presented::parse_list("12").is_err());
        assert!(Presented::parse_list("x:abc").is_err());
        assert!(Presented::parse_list("")?.is_empty());
        Ok(())
    }

    #[test]
    fn method_codes_parse_back() {
        for m in [
            Method::Checkbox,
            Method::Payment,
            Method::FirstLogin,
            Method::Renewal,
            Method::ContinuedUse,
        ] {
            assert_eq!(Method::parse(m.code()), Some(m));
        }
        assert!(!Method::ContinuedUse.is_configurable());
    }
}
