//! Webinar rooms (IS-1, IS 2.2.1.1): an organizer creates rooms up to its
//! plan's limit, edits and deletes them. A room has a title, a cover, a
//! language, a video source, an access rule and moderators.

use sqlx::Row;
use tabys_accounts::members::{self, Role};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::Db;

/// Who may enter a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone with the link (IS 2.2.1.1).
    Open,
    /// After registering with a name and an e-mail.
    Registration,
    /// Holders of access to the room's product (a product of kind `webinar`).
    Paid,
}

impl Access {
    pub const ALL: [Access; 3] = [Access::Open, Access::Registration, Access::Paid];

    pub fn code(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Registration => "registration",
            Self::Paid => "paid",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.code() == s)
    }
}

/// Where the room's video comes from: a YouTube link, an HLS address, a
/// video file's address, or a video uploaded to the room.
pub const VIDEO_KINDS: [&str; 4] = ["youtube", "hls", "file", "upload"];
/// The languages a room may be held in.
pub const LANGUAGES: [&str; 3] = ["ru", "kk", "en"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Room {
    pub id: i64,
    pub org_id: OrgId,
    pub title: String,
    pub cover_url: String,
    pub language: String,
    pub video_kind: String,
    pub video_url: String,
    pub access: Access,
    pub product_id: Option<i64>,
    /// Messages a participant may send per window (default 3 per 5 s).
    pub rate_count: i64,
    pub rate_window_ms: i64,
    /// Participants' messages go to moderators only.
    pub questions_only: bool,
    pub status: String,
    pub created_at: Timestamp,
    /// An uploaded cover picture (shown instead of `cover_url`).
    pub cover_file_id: Option<i64>,
    /// An uploaded video, played while `video_kind` is `upload`.
    pub video_file_id: Option<i64>,
}

impl Room {
    /// The address to put in the page's player: YouTube links become their
    /// embed form; HLS and uploaded files are played as they are.
    pub fn embed_url(&self) -> String {
        if self.video_kind == "youtube" {
            youtube_embed(&self.video_url).unwrap_or_else(|| self.video_url.clone())
        } else {
            self.video_url.clone()
        }
    }

    pub fn is_youtube(&self) -> bool {
        self.video_kind == "youtube"
    }

    /// The cover to show on public pages: the uploaded one through the
    /// room's cover route, else the address typed in, else none.
    pub fn cover_src(&self) -> Option<String> {
        match self.cover_file_id {
            Some(f) => Some(format!("/live/r/{}/cover?v={f}", self.id)),
            None if !self.cover_url.is_empty() => Some(self.cover_url.clone()),
            None => None,
        }
    }
}

/// An HLS playlist's address: its path ends in `.m3u8`.
pub fn is_hls(url: &str) -> bool {
    url.split(['?', '#'])
        .next()
        .is_some_and(|p| p.ends_with(".m3u8"))
}

/// `https://www.youtube.com/embed/<id>` for the common forms of a YouTube link.
pub fn youtube_embed(url: &str) -> Option<String> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let host = host.trim_start_matches("www.").trim_start_matches("m.");
    let id = match host {
        "youtu.be" => path.split(['?', '&', '/']).next()?.to_string(),
        "youtube.com" => {
            if let Some(q) = path.strip_prefix("watch?") {
                q.split('&').find_map(|p| p.strip_prefix("v="))?.to_string()
            } else {
                let mut parts = path.split('/');
                match parts.next()? {
                    "embed" | "live" | "shorts" => {
                        parts.next()?.split(['?', '&']).next()?.to_string()
                    }
                    _ => return None,
                }
            }
        }
        _ => return None,
    };
    let ok = !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    ok.then(|| format!("https://www.youtube.com/embed/{id}"))
}

/// A room as typed into the form.
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
pub struct RoomInput {
    pub title: String,
    #[serde(default)]
    pub cover_url: String,
    pub language: String,
    pub video_kind: String,
    pub video_url: String,
    pub access: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default = "default_rate_count")]
    pub rate_count: String,
    #[serde(default = "default_rate_window")]
    pub rate_window_s: String,
    #[serde(default)]
    pub questions_only: Option<String>,
}

fn default_rate_count() -> String {
    "3".into()
}

fn default_rate_window() -> String {
    "5".into()
}

impl Default for RoomInput {
    fn default() -> Self {
        Self {
            title: String::new(),
            cover_url: String::new(),
            language: "ru".into(),
            video_kind: "youtube".into(),
            video_url: String::new(),
            access: "open".into(),
            product_id: String::new(),
            rate_count: default_rate_count(),
            rate_window_s: default_rate_window(),
            questions_only: None,
        }
    }
}

impl RoomInput {
    pub fn of(room: &Room) -> Self {
        Self {
            title: room.title.clone(),
            cover_url: room.cover_url.clone(),
            language: room.language.clone(),
            video_kind: room.video_kind.clone(),
            video_url: room.video_url.clone(),
            access: room.access.code().into(),
            product_id: room.product_id.map(|p| p.to_string()).unwrap_or_default(),
            rate_count: room.rate_count.to_string(),
            rate_window_s: (room.rate_window_ms / 1000).to_string(),
            questions_only: room.questions_only.then(|| "true".into()),
        }
    }
}

/// A checked room.
#[derive(Debug, Clone)]
pub struct NewRoom {
    pub title: String,
    pub cover_url: String,
    pub language: &'static str,
    pub video_kind: &'static str,
    pub video_url: String,
    pub access: Access,
    pub product_id: Option<i64>,
    pub rate_count: i64,
    pub rate_window_ms: i64,
    pub questions_only: bool,
}

fn collect<T>(r: Result<T>, errors: &mut Vec<FieldError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(mut fields)) => {
            errors.append(&mut fields);
            None
        }
        Err(_) => None,
    }
}

impl RoomInput {
    /// Checks every field and reports every problem at once.
    pub fn parse(&self) -> Result<NewRoom> {
        let mut errors = Vec::new();
        let title = collect(crate::text(&self.title, "title", 200), &mut errors);
        let cover_url = collect(crate::url(&self.cover_url, "cover_url", false), &mut errors);
        let language = LANGUAGES.into_iter().find(|l| *l == self.language.trim());
        if language.is_none() {
            errors.push(FieldError {
                field: "language",
                code: "live-choose-one",
            });
        }
        let video_kind = VIDEO_KINDS
            .into_iter()
            .find(|k| *k == self.video_kind.trim());
        if video_kind.is_none() {
            errors.push(FieldError {
                field: "video_kind",
                code: "live-choose-one",
            });
        }
        // An uploaded video needs no address; one may stay typed in for later.
        let video_url = collect(
            crate::url(&self.video_url, "video_url", video_kind != Some("upload")),
            &mut errors,
        );
        if let (Some(kind), Some(u)) = (video_kind, &video_url) {
            let fits = match kind {
                "youtube" => youtube_embed(u).is_some(),
                "hls" => is_hls(u),
                _ => true,
            };
            if !fits {
                errors.push(FieldError {
                    field: "video_url",
                    code: "live-video-url",
                });
            }
        }
        let access = Access::parse(self.access.trim());
        if access.is_none() {
            errors.push(FieldError {
                field: "access",
                code: "live-choose-one",
            });
        }
        let product_id = if self.product_id.trim().is_empty() {
            None
        } else {
            collect(
                crate::number(&self.product_id, "product_id", 1, i64::MAX),
                &mut errors,
            )
        };
        if access == Some(Access::Paid) && product_id.is_none() {
            errors.push(FieldError {
                field: "product_id",
                code: "live-product-needed",
            });
        }
        let rate_count = collect(
            crate::number(&self.rate_count, "rate_count", 1, 100),
            &mut errors,
        );
        let rate_window = collect(
            crate::number(&self.rate_window_s, "rate_window_s", 1, 600),
            &mut errors,
        );
        match (
            title,
            cover_url,
            language,
            video_kind,
            video_url,
            access,
            rate_count,
            rate_window,
        ) {
            (
                Some(title),
                Some(cover_url),
                Some(language),
                Some(video_kind),
                Some(video_url),
                Some(access),
                Some(rate_count),
                Some(rate_window),
            ) if errors.is_empty() => Ok(NewRoom {
                title,
                cover_url,
                language,
                video_kind,
                video_url,
                access,
                product_id: if access == Access::Paid {
                    product_id
                } else {
                    None
                },
                rate_count,
                rate_window_ms: rate_window * 1000,
                questions_only: self.questions_only.is_some(),
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

const COLUMNS: &str = "id, org_id, title, cover_url, language, video_kind, video_url, access, product_id, \
     rate_count, rate_window_ms, questions_only, status, created_at, cover_file_id, video_file_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Room> {
    let access: String = r.try_get(7)?;
    Ok(Room {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        title: r.try_get(2)?,
        cover_url: r.try_get(3)?,
        language: r.try_get(4)?,
        video_kind: r.try_get(5)?,
        video_url: r.try_get(6)?,
        access: Access::parse(&access).unwrap_or(Access::Open),
        product_id: r.try_get(8)?,
        rate_count: r.try_get(9)?,
        rate_window_ms: r.try_get(10)?,
        questions_only: r.try_get::<i64, _>(11)? != 0,
        status: r.try_get(12)?,
        created_at: Timestamp(r.try_get(13)?),
        cover_file_id: r.try_get(14)?,
        video_file_id: r.try_get(15)?,
    })
}

/// A paid room sells through a product of this organizer of kind `webinar`.
async fn check_product(db: &Db, org: OrgId, room: &NewRoom) -> Result<()> {
    if let Some(pid) = room.product_id {
        let product = match tabys_billing::products::get(db, org, pid).await {
            Ok(p) => p,
            Err(Error::NotFound) => return Err(Error::invalid("product_id", "live-product-kind")),
            Err(e) => return Err(e),
        };
        if product.kind != "webinar" {
            return Err(Error::invalid("product_id", "live-product-kind"));
        }
    }
    Ok(())
}

/// Creates a room unless the organizer already has as many as its plan
/// allows (IS-1: up to 10 on the plans Isra sells).
pub async fn create(db: &Db, org: OrgId, room: NewRoom) -> Result<Room> {
    check_product(db, org, &room).await?;
    let limit = tabys_billing::plans::limits(db, org).await?;
    if limit.restricted {
        return Err(Error::Conflict("organizer-restricted"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    // Two rooms created at once must not both slip under the limit.
    sqlx::query(&format!(
        "SELECT id FROM organizers WHERE id = $1{}",
        db.dialect().for_update()
    ))
    .bind(org.0)
    .fetch_one(&mut *tx)
    .await?;
    let count: i64 =
        sqlx::query("SELECT COUNT(*) FROM live_rooms WHERE org_id = $1 AND status = 'active'")
            .bind(org.0)
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
    if count >= limit.webinar_rooms {
        return Err(Error::Conflict("live-room-limit"));
    }
    let row = sqlx::query(&format!(
        "INSERT INTO live_rooms (org_id, title, cover_url, language, video_kind, video_url, access, product_id,
             rate_count, rate_window_ms, questions_only, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 'active', $12, $12) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(&room.title)
    .bind(&room.cover_url)
    .bind(room.language)
    .bind(room.video_kind)
    .bind(&room.video_url)
    .bind(room.access.code())
    .bind(room.product_id)
    .bind(room.rate_count)
    .bind(room.rate_window_ms)
    .bind(i64::from(room.questions_only))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let room = from_row(&row)?;
    tx.commit().await?;
    Ok(room)
}

pub async fn update(db: &Db, org: OrgId, id: i64, room: NewRoom) -> Result<Room> {
    check_product(db, org, &room).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE live_rooms SET title = $1, cover_url = $2, language = $3, video_kind = $4, video_url = $5,
             access = $6, product_id = $7, rate_count = $8, rate_window_ms = $9, questions_only = $10, updated_at = $11
         WHERE id = $12 AND org_id = $13 AND status = 'active' RETURNING {COLUMNS}"
    ))
    .bind(&room.title)
    .bind(&room.cover_url)
    .bind(room.language)
    .bind(room.video_kind)
    .bind(&room.video_url)
    .bind(room.access.code())
    .bind(room.product_id)
    .bind(room.rate_count)
    .bind(room.rate_window_ms)
    .bind(i64::from(room.questions_only))
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let room = from_row(&row)?;
    tx.commit().await?;
    Ok(room)
}

/// Deletes a room: it stops counting against the limit and cannot be
/// entered; its webinars, scenarios and activity stay for the analytics.
pub async fn delete(db: &Db, org: OrgId, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE live_rooms SET status = 'deleted', updated_at = $1 WHERE id = $2 AND org_id = $3 AND status = 'active'",
    )
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    sqlx::query(
        "UPDATE live_autowebinars SET status = 'deleted', updated_at = $1 WHERE room_id = $2 AND org_id = $3",
    )
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// What an uploaded file is for in a room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Media {
    /// The cover picture.
    Cover,
    /// The video, which becomes the room's source (`upload`).
    Video,
}

/// Puts an uploaded file of the organizer into the room as its cover or
/// video (`None` takes it out). The file stays in the organizer's library
/// either way: taking it out of the room, or deleting the room, deletes
/// nothing.
pub async fn set_media(
    db: &Db,
    org: OrgId,
    id: i64,
    media: Media,
    file: Option<i64>,
) -> Result<Room> {
    if let Some(f) = file {
        let stored = tabys_files::get(db, org, f).await?;
        let fits = match media {
            Media::Cover => stored.is_image(),
            Media::Video => stored.is_video(),
        };
        if !fits {
            return Err(Error::invalid("file", "file-type"));
        }
    }
    let set = match (media, file) {
        (Media::Cover, _) => "cover_file_id = $1",
        (Media::Video, Some(_)) => "video_file_id = $1, video_kind = 'upload'",
        (Media::Video, None) => "video_file_id = $1",
    };
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE live_rooms SET {set}, updated_at = $2 WHERE id = $3 AND org_id = $4 AND status = 'active'
         RETURNING {COLUMNS}"
    ))
    .bind(file)
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let room = from_row(&row)?;
    tx.commit().await?;
    Ok(room)
}

/// One active room of the organizer.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Room> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_rooms WHERE id = $1 AND org_id = $2 AND status = 'active'"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// An active room by id alone, for public pages reached by link.
pub async fn find(db: &Db, id: i64) -> Result<Room> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_rooms WHERE id = $1 AND status = 'active'"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Room>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_rooms WHERE org_id = $1 AND status = 'active' ORDER BY id"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The staff named moderators of the room.
pub async fn moderators(db: &Db, org: OrgId, room: i64) -> Result<Vec<UserId>> {
    let rows = sqlx::query(
        "SELECT m.user_id FROM live_moderators m JOIN live_rooms r ON r.id = m.room_id
         WHERE m.room_id = $1 AND r.org_id = $2 ORDER BY m.user_id",
    )
    .bind(room)
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(|r| Ok(UserId(r.try_get(0)?))).collect()
}

/// Names the room's moderators; each must be staff of the organizer.
pub async fn set_moderators(db: &Db, org: OrgId, room: i64, users: &[UserId]) -> Result<()> {
    get(db, org, room).await?;
    for u in users {
        match members::access(db, *u, org).await {
            Ok(role) if role.is_staff() => {}
            _ => return Err(Error::invalid("moderators", "live-moderator-staff")),
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM live_moderators WHERE room_id = $1")
        .bind(room)
        .execute(&mut *tx)
        .await?;
    for u in users {
        sqlx::query(
            "INSERT INTO live_moderators (room_id, user_id, created_at) VALUES ($1, $2, $3)",
        )
        .bind(room)
        .bind(u.0)
        .bind(db.now().0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Owners and managers moderate every room; other staff only the rooms
/// that name them.
pub async fn is_moderator(db: &Db, org: OrgId, room: i64, user: UserId) -> Result<bool> {
    match members::access(db, user, org).await {
        Ok(Role::Owner | Role::Manager) => Ok(true),
        Ok(role) if role.is_staff() => Ok(moderators(db, org, room).await?.contains(&user)),
        Ok(_) | Err(Error::NotFound) => Ok(false),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn youtube_links_become_embeds() {
        for u in [
            "https://www.youtube.com/watch?v=abc_DEF-1&t=3",
            "https://youtu.be/abc_DEF-1",
            "https://youtube.com/live/abc_DEF-1?feature=share",
            "https://www.youtube.com/embed/abc_DEF-1",
        ] {
            assert_eq!(
                youtube_embed(u).as_deref(),
                Some("https://www.youtube.com/embed/abc_DEF-1"),
                "{u}"
            );
        }
        assert_eq!(youtube_embed("https://vimeo.com/1"), None);
        assert_eq!(youtube_embed("https://youtube.com/watch?v=<x>"), None);
    }

    #[test]
    fn a_paid_room_needs_a_product_and_every_problem_is_reported() {
        let input = RoomInput {
            title: " ".into(),
            access: "paid".into(),
            video_kind: "hls".into(),
            video_url: "https://cdn.example/live.mp4".into(),
            ..RoomInput::default()
        };
        let Err(Error::Invalid(fields)) = input.parse() else {
            panic!("accepted")
        };
        let names: Vec<_> = fields.iter().map(|f| f.field).collect();
        assert_eq!(names, ["title", "video_url", "product_id"]);
    }
}
