//! People. One account per email; the same person may be a customer of
//! several organizers and staff of others (see `members`).

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::ids::UserId;
use tabys_core::locale::Locale;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::password;

#[derive(Debug, Clone, serde::Serialize)]
pub struct User {
    pub id: UserId,
    pub email: String,
    pub name: String,
    pub locale: Locale,
    pub is_operator: bool,
    pub status: String,
    pub adult_confirmed_at: Option<Timestamp>,
    pub created_at: Timestamp,
}

impl User {
    pub fn is_active(&self) -> bool {
        self.status == "active"
    }
}

/// A sign-up, already parsed at the edge.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub email: Email,
    pub name: String,
    pub password: String,
    pub locale: Locale,
    pub adult_confirmed: bool,
}

/// A person's display name: trimmed, 1 to 200 characters.
pub fn parse_name(raw: &str, field: &'static str) -> Result<String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    if name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(Error::invalid(field, "name-format"));
    }
    Ok(name.to_string())
}

const COLUMNS: &str =
    "id, email, name, locale, is_operator, status, adult_confirmed_at, created_at";

/// The same columns of `users u`, for queries that join a person in.
pub(crate) const JOINED_COLUMNS: &str =
    "u.id, u.email, u.name, u.locale, u.is_operator, u.status, u.adult_confirmed_at, u.created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<User> {
    from_row_at(row, 0)
}

/// A person from the row's columns starting at `at`, in [`JOINED_COLUMNS`] order.
pub(crate) fn from_row_at(row: &sqlx::any::AnyRow, at: usize) -> Result<User> {
    let locale: String = row.try_get(at + 3)?;
    Ok(User {
        id: UserId(row.try_get(at)?),
        email: row.try_get(at + 1)?,
        name: row.try_get(at + 2)?,
        locale: Locale::parse(&locale).unwrap_or(Locale::Ru),
        is_operator: row.try_get::<i64, _>(at + 4)? != 0,
        status: row.try_get(at + 5)?,
        adult_confirmed_at: row.try_get::<Option<i64>, _>(at + 6)?.map(Timestamp),
        created_at: Timestamp(row.try_get(at + 7)?),
    })
}

/// Creates the account inside the caller's transaction, so a capability can
/// add to the same sign-up (joining an organizer, accepting its offer).
pub async fn create(tx: &mut Tx, db: &Db, new: NewUser, is_operator: bool) -> Result<User> {
    password::check_new(&new.password, "password")?;
    let name = parse_name(&new.name, "name")?;
    let taken = sqlx::query("SELECT id FROM users WHERE email = $1")
        .bind(new.email.as_str())
        .fetch_optional(&mut **tx)
        .await?;
    if taken.is_some() {
        return Err(Error::invalid("email", "email-taken"));
    }
    let hash = password::hash(&new.password).await?;
    let now = db.now();
    let adult = new.adult_confirmed.then_some(now.0);
    let row = sqlx::query(&format!(
        "INSERT INTO users (email, password_hash, name, locale, is_operator, status, adult_confirmed_at, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, 'active', $6, $7, $7) RETURNING {COLUMNS}"
    ))
    .bind(new.email.as_str())
    .bind(hash)
    .bind(&name)
    .bind(new.locale.code())
    .bind(i64::from(is_operator))
    .bind(adult)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await
    .map_err(|e| match Error::from(e) {
        Error::Conflict(_) => Error::invalid("email", "email-taken"),
        other => other,
    })?;
    let user = from_row(&row)?;
    audit::append(
        tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: Some(user.id),
            action: "user.created",
            subject: format!("user:{}", user.id),
            data: serde_json::json!({ "operator": is_operator, "adult_confirmed": new.adult_confirmed }),
        },
    )
    .await?;
    Ok(user)
}

pub async fn get(db: &Db, id: UserId) -> Result<User> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn find_by_email(db: &Db, email: &Email) -> Result<Option<User>> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM users WHERE email = $1"))
        .bind(email.as_str())
        .fetch_optional(db.read())
        .await?;
    row.as_ref().map(from_row).transpose()
}

/// Signs a person up: the account, optionally a customer role in an
/// organizer, and a first session, in one transaction. Returns the session token.
pub async fn sign_up(
    db: &Db,
    new: NewUser,
    join: Option<tabys_core::ids::OrgId>,
    origin: &crate::sessions::Origin,
) -> Result<(User, String)> {
    let mut tx = db.begin().await?;
    let user = create(&mut tx, db, new, false).await?;
    if let Some(org) = join {
        crate::members::join_as_customer(&mut tx, db, org, user.id).await?;
    }
    let token = crate::sessions::open(&mut tx, db, user.id, origin).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// The stored hash, for checking a password.
pub(crate) async fn password_hash(db: &Db, id: UserId) -> Result<String> {
    let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1")
        .bind(id.0)
        .fetch_one(db.read())
        .await?;
    Ok(row.try_get(0)?)
}

pub async fn set_locale(db: &Db, id: UserId, locale: Locale) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE users SET locale = $1, updated_at = $2 WHERE id = $3")
        .bind(locale.code())
        .bind(db.now().0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Records that the person confirmed being an adult (EX §3).
pub async fn confirm_adult(tx: &mut Tx, db: &Db, id: UserId) -> Result<()> {
    sqlx::query("UPDATE users SET adult_confirmed_at = $1, updated_at = $1 WHERE id = $2 AND adult_confirmed_at IS NULL")
        .bind(db.now().0)
        .bind(id.0)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Changes the password after checking the current one; every other
/// session of the person ends.
pub async fn change_password(
    db: &Db,
    id: UserId,
    current: &str,
    new: &str,
    keep_session: Option<&str>,
) -> Result<()> {
    password::check_new(new, "new_password")?;
    if !password::verify(current, &password_hash(db, id).await?).await? {
        return Err(Error::invalid("current_password", "password-wrong"));
    }
    set_password(db, id, new, keep_session, Some(id)).await
}

/// Sets a password without the current one (the operator's `admin
/// reset-password`); every session ends.
pub async fn set_password(
    db: &Db,
    id: UserId,
    new: &str,
    keep_session: Option<&str>,
    actor: Option<UserId>,
) -> Result<()> {
    password::check_new(new, "new_password")?;
    let hash = password::hash(new).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let changed = sqlx::query("UPDATE users SET password_hash = $1, updated_at = $2 WHERE id = $3")
        .bind(hash)
        .bind(now.0)
        .bind(id.0)
        .execute(&mut *tx)
        .await?;
    if changed.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    crate::sessions::end_all(&mut tx, id, keep_session).await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: None,
            actor_id: actor,
            action: "user.password_changed",
            subject: format!("user:{id}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Finds a person by email and password. Wrong email and wrong password
/// look the same to the caller.
pub(crate) async fn check_credentials(
    db: &Db,
    email: &Email,
    password: &str,
) -> Result<Option<User>> {
    let Some(user) = find_by_email(db, email).await? else {
        // Spend the same time as for a real account, so answer times do
        // not tell which emails are registered.
        password::verify_against_nothing(password).await?;
        return Ok(None);
    };
    if password::verify(password, &password_hash(db, user.id).await?).await? {
        Ok(Some(user))
    } else {
        Ok(None)
    }
}
