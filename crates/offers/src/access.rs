//! Staff looking at customers' personal data (IS 4.3–4.8): only roles that
//! need it may, and every look is written to an insert-only log that the
//! organizer's owner reads. The functions that return customers' data log
//! the access themselves, so no page can show it without a trace.

use sqlx::Row;
use tabys_accounts::Role;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;

use crate::acceptance::{self, Acceptance};
use crate::consent::{self, ConsentState};
use crate::objection::{self, Objection};
use crate::offer::Publisher;
use crate::rights::{self, DeletionRequest};

/// The roles that see customers' personal data: those who serve them.
/// Curators will see their own students through the courses they run.
pub fn sees_customers(role: Role) -> bool {
    matches!(role, Role::Owner | Role::Manager | Role::Support)
}

/// Only the owner reads who looked at personal data.
pub fn reads_access_log(role: Role) -> bool {
    role == Role::Owner
}

/// Who is looking, from where.
#[derive(Debug, Clone)]
pub struct Viewer {
    pub user: UserId,
    pub role: Role,
    pub ip: String,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Customer {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub since: Timestamp,
    /// Consent to processing of personal data, as it stands now.
    pub personal_data_consent: bool,
}

/// A customer's page: the person, what they accepted and objected to,
/// their consents and any deletion request.
#[derive(Debug, Clone)]
pub struct CustomerCard {
    pub customer: Customer,
    pub acceptances: Vec<Acceptance>,
    pub objections: Vec<Objection>,
    pub consents: Vec<ConsentState>,
    pub deletion: Option<DeletionRequest>,
}

async fn log(
    db: &Db,
    org: OrgId,
    viewer: &Viewer,
    subject: Option<UserId>,
    what: &str,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO personal_data_access (org_id, actor_id, subject_id, what, at, ip) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(org.0)
        .bind(viewer.user.0)
        .bind(subject.map(|s| s.0))
        .bind(what)
        .bind(db.now().0)
        .bind(&viewer.ip)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

fn allowed(viewer: &Viewer) -> Result<()> {
    if sees_customers(viewer.role) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

const CUSTOMER_SQL: &str = "SELECT u.id, u.name, u.email, m.created_at,
        (SELECT e.granted FROM consent_events e WHERE e.user_id = u.id AND COALESCE(e.org_id, 0) = $1
           AND e.kind = 'personal_data' ORDER BY e.id DESC LIMIT 1)
     FROM memberships m JOIN users u ON u.id = m.user_id
     WHERE m.org_id = $1 AND m.role = 'customer'";

fn customer(r: &sqlx::any::AnyRow) -> Result<Customer> {
    Ok(Customer {
        user_id: UserId(r.try_get(0)?),
        name: r.try_get(1)?,
        email: r.try_get(2)?,
        since: Timestamp(r.try_get(3)?),
        personal_data_consent: r.try_get::<Option<i64>, _>(4)?.is_some_and(|g| g != 0),
    })
}

/// The organizer's customers; the view is logged.
pub async fn customers(db: &Db, org: OrgId, viewer: &Viewer) -> Result<Vec<Customer>> {
    allowed(viewer)?;
    let rows = sqlx::query(&format!("{CUSTOMER_SQL} ORDER BY m.created_at, u.id"))
        .bind(org.0)
        .fetch_all(db.read())
        .await?;
    let list = rows.iter().map(customer).collect::<Result<Vec<_>>>()?;
    log(db, org, viewer, None, "customer-list").await?;
    Ok(list)
}

/// One customer's page; a person who is not the organizer's customer is
/// `NotFound`. The view is logged.
pub async fn customer_card(
    db: &Db,
    org: OrgId,
    viewer: &Viewer,
    user: UserId,
) -> Result<CustomerCard> {
    allowed(viewer)?;
    let row = sqlx::query(&format!("{CUSTOMER_SQL} AND u.id = $2"))
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    let publisher = Publisher::Org(org);
    let card = CustomerCard {
        customer: customer(&row)?,
        acceptances: acceptance::of_user_with(db, publisher, user).await?,
        objections: objection::of_user(db, user, Some(org)).await?,
        consents: consent::of_user_with(db, user, publisher).await?,
        deletion: rights::deletion_request(db, user).await?,
    };
    log(db, org, viewer, Some(user), "customer-card").await?;
    Ok(card)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessEntry {
    pub at: Timestamp,
    pub actor_name: String,
    pub actor_email: String,
    pub subject_name: Option<String>,
    pub what: String,
    pub ip: String,
}

/// Who looked at customers' data, newest first (owner only).
pub async fn access_log(db: &Db, org: OrgId, role: Role, limit: i64) -> Result<Vec<AccessEntry>> {
    if !reads_access_log(role) {
        return Err(Error::Forbidden);
    }
    let rows = sqlx::query(
        "SELECT l.at, a.name, a.email, s.name, l.what, l.ip FROM personal_data_access l
         JOIN users a ON a.id = l.actor_id LEFT JOIN users s ON s.id = l.subject_id
         WHERE l.org_id = $1 ORDER BY l.id DESC LIMIT $2",
    )
    .bind(org.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(AccessEntry {
                at: Timestamp(r.try_get(0)?),
                actor_name: r.try_get(1)?,
                actor_email: r.try_get(2)?,
                subject_name: r.try_get(3)?,
                what: r.try_get(4)?,
                ip: r.try_get(5)?,
            })
        })
        .collect()
}
