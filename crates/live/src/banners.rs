//! Call-to-action banners (IS 2.2.1.1): prepared by the organizer, shown
//! and hidden live; a banner's button leads to an address or to buying a
//! product in Tabys. Clicks and the orders they lead to are counted.

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Error, FieldError, Result};
use tabys_store::Db;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Banner {
    pub id: i64,
    pub org_id: OrgId,
    pub room_id: i64,
    pub text: String,
    pub image_url: String,
    pub button_text: String,
    pub button_url: String,
    /// Buying this product of the organizer instead of following a link.
    pub product_id: Option<i64>,
}

#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct BannerInput {
    pub text: String,
    #[serde(default)]
    pub image_url: String,
    pub button_text: String,
    #[serde(default)]
    pub button_url: String,
    #[serde(default)]
    pub product_id: String,
}

const COLUMNS: &str = "id, org_id, room_id, text, image_url, button_text, button_url, product_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Banner> {
    Ok(Banner {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        room_id: r.try_get(2)?,
        text: r.try_get(3)?,
        image_url: r.try_get(4)?,
        button_text: r.try_get(5)?,
        button_url: r.try_get(6)?,
        product_id: r.try_get(7)?,
    })
}

fn keep<T>(r: Result<T>, errors: &mut Vec<FieldError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(mut f)) => {
            errors.append(&mut f);
            None
        }
        Err(_) => None,
    }
}

/// Creates a banner for one of the organizer's rooms.
pub async fn create(db: &Db, org: OrgId, room: i64, input: &BannerInput) -> Result<Banner> {
    crate::rooms::get(db, org, room).await?;
    let mut errors = Vec::new();
    let text = keep(crate::text(&input.text, "text", 500), &mut errors);
    let image_url = keep(
        crate::url(&input.image_url, "image_url", false),
        &mut errors,
    );
    let button_text = keep(
        crate::text(&input.button_text, "button_text", 60),
        &mut errors,
    );
    let button_url = keep(
        crate::url(&input.button_url, "button_url", false),
        &mut errors,
    );
    let product_id = if input.product_id.trim().is_empty() {
        None
    } else {
        keep(
            crate::number(&input.product_id, "product_id", 1, i64::MAX),
            &mut errors,
        )
    };
    if let Some(pid) = product_id
        && tabys_billing::products::get(db, org, pid).await.is_err()
    {
        errors.push(FieldError {
            field: "product_id",
            code: "not-found",
        });
    }
    if matches!(&button_url, Some(u) if u.is_empty()) && product_id.is_none() {
        errors.push(FieldError {
            field: "button_url",
            code: "live-banner-target",
        });
    }
    let (Some(text), Some(image_url), Some(button_text), Some(button_url)) =
        (text, image_url, button_text, button_url)
    else {
        return Err(Error::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO live_banners (org_id, room_id, text, image_url, button_text, button_url, product_id, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(room)
    .bind(text)
    .bind(image_url)
    .bind(button_text)
    .bind(if product_id.is_some() {
        String::new()
    } else {
        button_url
    })
    .bind(product_id)
    .bind(db.now().0)
    .fetch_one(&mut *tx)
    .await?;
    let banner = from_row(&row)?;
    tx.commit().await?;
    Ok(banner)
}

/// Takes a banner out of the room's list; past clicks stay counted.
pub async fn archive(db: &Db, org: OrgId, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE live_banners SET status = 'archived' WHERE id = $1 AND org_id = $2 AND status = 'active'",
    )
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// The room's banners.
pub async fn of_room(db: &Db, org: OrgId, room: i64) -> Result<Vec<Banner>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_banners WHERE org_id = $1 AND room_id = $2 AND status = 'active' ORDER BY id"
    ))
    .bind(org.0)
    .bind(room)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// A banner by id, archived ones too (a click on a page shown earlier).
pub async fn find(db: &Db, id: i64) -> Result<Banner> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM live_banners WHERE id = $1"))
        .bind(id)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Remembers that an order was placed from a banner during a session, so
/// the analytics can count purchases from banners.
pub async fn record_order(db: &Db, banner: &Banner, webinar: i64, order: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO live_banner_orders (order_id, org_id, banner_id, webinar_id, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (order_id) DO NOTHING",
    )
    .bind(order)
    .bind(banner.org_id.0)
    .bind(banner.id)
    .bind(webinar)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Orders placed from banners during one session: (order id, banner id).
pub async fn orders_of(db: &Db, org: OrgId, webinar: i64) -> Result<Vec<(i64, i64)>> {
    let rows = sqlx::query(
        "SELECT order_id, banner_id FROM live_banner_orders WHERE org_id = $1 AND webinar_id = $2 ORDER BY order_id",
    )
    .bind(org.0)
    .bind(webinar)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}
