//! A person's choices: which channels each optional category uses, and
//! the phone SMS go to. Service messages ignore the e-mail switch (they
//! cannot be muted); the in-app inbox always gets everything.

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::phone::KzPhone;
use tabys_core::{Result, Timestamp};
use tabys_store::{Conn, Db};

use crate::category::Category;

/// The channels of one category as the person set them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Channels {
    pub category: Category,
    pub email: bool,
    pub sms: bool,
}

impl Channels {
    fn default_for(category: Category) -> Self {
        Self {
            category,
            email: category.email_by_default(),
            sms: false,
        }
    }

    /// What is actually used: service e-mail is always on.
    pub fn effective(self) -> Self {
        Self {
            email: self.email || !self.category.is_optional(),
            ..self
        }
    }
}

/// The effective channels of a category (on any connection or transaction).
pub async fn channels_in(conn: &mut Conn, user: UserId, category: Category) -> Result<Channels> {
    let row = sqlx::query(
        "SELECT email, sms FROM notify_preferences WHERE user_id = $1 AND category = $2",
    )
    .bind(user.0)
    .bind(category.code())
    .fetch_optional(&mut *conn)
    .await?;
    let ch = match row {
        Some(r) => Channels {
            category,
            email: r.try_get::<i64, _>(0)? != 0,
            sms: r.try_get::<i64, _>(1)? != 0,
        },
        None => Channels::default_for(category),
    };
    Ok(ch.effective())
}

/// The person's channels for every category, in menu order.
pub async fn channels(db: &Db, user: UserId) -> Result<Vec<Channels>> {
    let mut conn = db.read().acquire().await?;
    let mut out = Vec::new();
    for c in Category::ALL {
        out.push(channels_in(&mut conn, user, c).await?);
    }
    Ok(out)
}

/// Saves the person's choice for one category. Service e-mail stays on
/// whatever is asked.
pub async fn set_channels(db: &Db, user: UserId, ch: Channels) -> Result<()> {
    let ch = ch.effective();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO notify_preferences (user_id, category, email, sms, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (user_id, category) DO UPDATE SET email = $3, sms = $4, updated_at = $5",
    )
    .bind(user.0)
    .bind(ch.category.code())
    .bind(i64::from(ch.email))
    .bind(i64::from(ch.sms))
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The person's phone (on any connection or transaction).
pub async fn phone_in(conn: &mut Conn, user: UserId) -> Result<Option<String>> {
    let row = sqlx::query("SELECT phone FROM notify_contacts WHERE user_id = $1")
        .bind(user.0)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<String>, _>(0)?,
        None => None,
    })
}

/// The phone SMS go to, if the person gave one.
pub async fn phone(db: &Db, user: UserId) -> Result<Option<String>> {
    let mut conn = db.read().acquire().await?;
    phone_in(&mut conn, user).await
}

/// Sets or clears the person's phone. It is parsed at the edge: only a
/// Kazakh mobile number can be stored.
pub async fn set_phone(
    db: &Db,
    user: UserId,
    phone: Option<&KzPhone>,
    now: Timestamp,
) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO notify_contacts (user_id, phone, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET phone = $2, updated_at = $3",
    )
    .bind(user.0)
    .bind(phone.map(|p| p.as_str().to_string()))
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}
