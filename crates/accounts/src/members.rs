//! The roles people hold in an organizer, and the one check that decides
//! whether a person may act there. A person who holds no role in an
//! organizer is told it does not exist, so one organizer's ids reveal
//! nothing about another's.

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::users::{self, NewUser, User};

#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Created the organizer; manages staff and the profile.
    Owner,
    /// Runs the business day to day.
    Manager,
    /// Helps students and checks their work (LZ 3.5).
    Curator,
    /// Answers customers.
    Support,
    /// Buys and uses the organizer's services.
    Customer,
}

impl Role {
    /// The roles an owner may give to staff.
    pub const STAFF: [Role; 3] = [Role::Manager, Role::Curator, Role::Support];

    pub fn code(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Manager => "manager",
            Self::Curator => "curator",
            Self::Support => "support",
            Self::Customer => "customer",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Owner,
            Self::Manager,
            Self::Curator,
            Self::Support,
            Self::Customer,
        ]
        .into_iter()
        .find(|r| r.code() == s)
    }

    pub fn is_staff(self) -> bool {
        self != Self::Customer
    }

    pub fn manages_staff(self) -> bool {
        self == Self::Owner
    }

    pub fn edits_profile(self) -> bool {
        matches!(self, Self::Owner | Self::Manager)
    }
}

/// The person's role in the organizer, or `NotFound` if they hold none.
pub async fn access(db: &Db, user: UserId, org: OrgId) -> Result<Role> {
    let row = sqlx::query(
        "SELECT m.role FROM memberships m JOIN organizers o ON o.id = m.org_id
         WHERE m.org_id = $1 AND m.user_id = $2",
    )
    .bind(org.0)
    .bind(user.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    let role: String = row.try_get(0)?;
    Role::parse(&role).ok_or_else(|| Error::Internal(format!("unknown role {role} in database")))
}

/// Like [`access`], but the person must be staff; a customer gets `Forbidden`.
pub async fn staff_access(db: &Db, user: UserId, org: OrgId) -> Result<Role> {
    let role = access(db, user, org).await?;
    if role.is_staff() {
        Ok(role)
    } else {
        Err(Error::Forbidden)
    }
}

pub(crate) async fn insert(
    tx: &mut Tx,
    org: OrgId,
    user: UserId,
    role: Role,
    now: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (org_id, user_id, role, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(role.code())
    .bind(now.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Makes a person a customer of the organizer, if they hold no role there yet.
pub async fn join_as_customer(tx: &mut Tx, db: &Db, org: OrgId, user: UserId) -> Result<bool> {
    let existing = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(&mut **tx)
        .await?;
    if existing.is_some() {
        return Ok(false);
    }
    insert(tx, org, user, Role::Customer, db.now()).await?;
    Ok(true)
}

/// A signed-in person becomes a customer of the organizer, confirming
/// adulthood where the organizer asks for it (EX §3).
pub async fn join(
    db: &Db,
    org: &crate::organizers::Organizer,
    user: &User,
    adult: bool,
) -> Result<()> {
    if org.profile.requires_adult && !adult && user.adult_confirmed_at.is_none() {
        return Err(Error::invalid("adult", "adult-required"));
    }
    let mut tx = db.begin().await?;
    if org.profile.requires_adult {
        users::confirm_adult(&mut tx, db, user.id).await?;
    }
    join_as_customer(&mut tx, db, org.id, user.id).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Member {
    #[schema(value_type = i64)]
    pub user_id: UserId,
    pub email: String,
    pub name: String,
    pub role: Role,
    #[schema(value_type = i64)]
    pub since: Timestamp,
}

/// Staff of an organizer (everyone but customers), owner first.
pub async fn staff(db: &Db, org: OrgId) -> Result<Vec<Member>> {
    let rows = sqlx::query(
        "SELECT u.id, u.email, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.role <> 'customer' ORDER BY m.created_at, u.id",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get(3)?;
            Ok(Member {
                user_id: UserId(r.try_get(0)?),
                email: r.try_get(1)?,
                name: r.try_get(2)?,
                role: Role::parse(&role)
                    .ok_or_else(|| Error::Internal(format!("unknown role {role}")))?,
                since: Timestamp(r.try_get(4)?),
            })
        })
        .collect()
}

/// A staff login to create: an existing person by email, or a new account
/// with the password the owner hands over.
#[derive(Debug, Clone)]
pub struct NewStaff {
    pub email: Email,
    pub name: String,
    pub role: Role,
    pub password: String,
    pub locale: Locale,
}

/// The owner adds a staff login (PL-3). A new person gets an account with
/// the given password; a customer of the organizer is promoted.
pub async fn add_staff(db: &Db, org: OrgId, actor: UserId, new: NewStaff) -> Result<Member> {
    if !new.role.is_staff() || new.role == Role::Owner {
        return Err(Error::invalid("role", "role-unknown"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let user: User = match users::find_by_email(db, &new.email).await? {
        Some(user) => user,
        None => {
            users::create(
                &mut tx,
                db,
                NewUser {
                    email: new.email.clone(),
                    name: new.name.clone(),
                    password: new.password.clone(),
                    locale: new.locale,
                    adult_confirmed: false,
                },
                false,
            )
            .await?
        }
    };
    let existing = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.id.0)
        .fetch_optional(&mut *tx)
        .await?;
    match existing {
        Some(row) if row.try_get::<String, _>(0)? != Role::Customer.code() => {
            return Err(Error::invalid("email", "already-staff"));
        }
        Some(_) => {
            sqlx::query("UPDATE memberships SET role = $1 WHERE org_id = $2 AND user_id = $3")
                .bind(new.role.code())
                .bind(org.0)
                .bind(user.id.0)
                .execute(&mut *tx)
                .await?;
        }
        None => insert(&mut tx, org, user.id, new.role, now).await?,
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "staff.added",
            subject: format!("user:{}", user.id),
            data: serde_json::json!({ "role": new.role.code() }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(Member {
        user_id: user.id,
        email: user.email,
        name: user.name,
        role: new.role,
        since: now,
    })
}

/// The owner removes a staff login from the organizer. The person's account
/// stays (they may be a customer elsewhere); their API tokens for this
/// organizer stop working because they no longer hold a role here.
pub async fn remove_staff(db: &Db, org: OrgId, actor: UserId, user: UserId) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT role FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
    let role: String = row.try_get(0)?;
    match Role::parse(&role) {
        Some(Role::Owner) => return Err(Error::Conflict("owner-cannot-be-removed")),
        Some(Role::Customer) | None => return Err(Error::NotFound),
        Some(_) => {}
    }
    sqlx::query("DELETE FROM memberships WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "staff.removed",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "role": role }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// An organizer a person belongs to, with their role there.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Membership {
    #[schema(value_type = i64)]
    pub org_id: OrgId,
    pub slug: String,
    pub legal_name: String,
    pub role: Role,
}

pub async fn memberships(db: &Db, user: UserId) -> Result<Vec<Membership>> {
    let rows = sqlx::query(
        "SELECT o.id, o.slug, o.legal_name, m.role FROM memberships m JOIN organizers o ON o.id = m.org_id
         WHERE m.user_id = $1 ORDER BY o.legal_name, o.id",
    )
    .bind(user.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get(3)?;
            Ok(Membership {
                org_id: OrgId(r.try_get(0)?),
                slug: r.try_get(1)?,
                legal_name: r.try_get(2)?,
                role: Role::parse(&role)
                    .ok_or_else(|| Error::Internal(format!("unknown role {role}")))?,
            })
        })
        .collect()
}
