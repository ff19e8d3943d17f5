//! Webinars: dated sessions of a room, live or replayed by an autowebinar;
//! their registrations, reminders a day and an hour before, and who may
//! enter.

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::jobs::{self, NewJob};
use tabys_store::token::random_token;
use tabys_store::{Db, Tx};

use crate::rooms::{self, Access, Room};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Webinar {
    pub id: i64,
    pub org_id: OrgId,
    pub room_id: i64,
    /// Set for a session of an autowebinar.
    pub autowebinar_id: Option<i64>,
    pub title: String,
    pub starts_at: Timestamp,
    pub duration_min: i64,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    /// Live: the scenario being recorded. Autowebinar: the one replayed.
    pub scenario_id: Option<i64>,
    /// `scheduled`, `open`, `closed`, `cancelled`.
    pub status: String,
}

impl Webinar {
    pub fn ends_at(&self) -> Timestamp {
        Timestamp(self.starts_at.0 + self.duration_min * 60_000)
    }

    pub fn is_auto(&self) -> bool {
        self.autowebinar_id.is_some()
    }

    /// Is the session running now? A live one between opening and
    /// closing; an autowebinar session between its start and its end.
    pub fn is_running(&self, now: Timestamp) -> bool {
        if self.is_auto() {
            self.status != "cancelled" && self.starts_at <= now && now < self.ends_at()
        } else {
            self.status == "open"
        }
    }

    /// Where offsets of the scenario count from.
    pub fn origin(&self) -> Timestamp {
        if self.is_auto() {
            self.starts_at
        } else {
            self.opened_at.unwrap_or(self.starts_at)
        }
    }
}

pub(crate) const COLUMNS: &str = "id, org_id, room_id, autowebinar_id, title, starts_at, duration_min, opened_at, closed_at, scenario_id, status";

pub(crate) fn from_row(r: &sqlx::any::AnyRow) -> Result<Webinar> {
    Ok(Webinar {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        room_id: r.try_get(2)?,
        autowebinar_id: r.try_get(3)?,
        title: r.try_get(4)?,
        starts_at: Timestamp(r.try_get(5)?),
        duration_min: r.try_get(6)?,
        opened_at: r.try_get::<Option<i64>, _>(7)?.map(Timestamp),
        closed_at: r.try_get::<Option<i64>, _>(8)?.map(Timestamp),
        scenario_id: r.try_get(9)?,
        status: r.try_get(10)?,
    })
}

/// A webinar as typed into the form: the start in Almaty time.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct WebinarInput {
    pub title: String,
    /// `YYYY-MM-DDTHH:MM`, Asia/Almaty.
    pub starts_at: String,
    pub duration_min: String,
}

/// Schedules a live webinar in a room; a start in the past is refused.
pub async fn schedule(db: &Db, org: OrgId, room: i64, input: &WebinarInput) -> Result<Webinar> {
    rooms::get(db, org, room).await?;
    let mut errors = Vec::new();
    let title = crate::text(&input.title, "title", 200).inspect_err(|e| {
        if let Error::Invalid(f) = e {
            errors.extend(f.iter().cloned());
        }
    });
    let starts = tabys_billing::products::parse_local_time(&input.starts_at);
    match starts {
        None => errors.push(tabys_core::FieldError {
            field: "starts_at",
            code: "datetime-format",
        }),
        Some(t) if t <= db.now() => errors.push(tabys_core::FieldError {
            field: "starts_at",
            code: "live-schedule-past",
        }),
        Some(_) => {}
    }
    let duration =
        crate::number(&input.duration_min, "duration_min", 5, 24 * 60).inspect_err(|e| {
            if let Error::Invalid(f) = e {
                errors.extend(f.iter().cloned());
            }
        });
    let (Ok(title), Some(starts), Ok(duration)) = (title, starts, duration) else {
        return Err(Error::Invalid(errors));
    };
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let mut tx = db.begin().await?;
    let w = insert(
        &mut tx,
        db.now(),
        org,
        room,
        None,
        &title,
        starts,
        duration,
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(w)
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    org: OrgId,
    room: i64,
    autowebinar: Option<i64>,
    title: &str,
    starts: Timestamp,
    duration_min: i64,
    scenario: Option<i64>,
) -> Result<Webinar> {
    let row = sqlx::query(&format!(
        "INSERT INTO live_webinars (org_id, room_id, autowebinar_id, title, starts_at, duration_min, scenario_id, status, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'scheduled', $8) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(room)
    .bind(autowebinar)
    .bind(title)
    .bind(starts.0)
    .bind(duration_min)
    .bind(scenario)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    from_row(&row)
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Webinar> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_webinars WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// A webinar by id alone, for the public pages reached by link.
pub async fn find(db: &Db, id: i64) -> Result<Webinar> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_webinars WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The room's live webinars (not autowebinar sessions), newest first.
pub async fn of_room(db: &Db, org: OrgId, room: i64) -> Result<Vec<Webinar>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_webinars WHERE org_id = $1 AND room_id = $2 AND autowebinar_id IS NULL
         ORDER BY starts_at DESC, id DESC LIMIT 200"
    ))
    .bind(org.0)
    .bind(room)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The room's webinar that is open now, if any.
pub async fn open_in(db: &Db, room: i64) -> Result<Option<Webinar>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_webinars WHERE room_id = $1 AND autowebinar_id IS NULL AND status = 'open'
         ORDER BY id DESC LIMIT 1"
    ))
    .bind(room)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Opens a live webinar: from now on everything in the room is recorded
/// as a new scenario (IS 2.2.1.1). One room holds one open webinar.
pub async fn open(db: &Db, org: OrgId, id: i64) -> Result<Webinar> {
    let w = get(db, org, id).await?;
    if w.is_auto() || w.status != "scheduled" {
        return Err(Error::Conflict("live-webinar-state"));
    }
    if open_in(db, w.room_id).await?.is_some() {
        return Err(Error::Conflict("live-room-busy"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let scenario =
        crate::scenario::insert(&mut tx, now, org, w.room_id, &w.title, Some(w.id)).await?;
    let row = sqlx::query(&format!(
        "UPDATE live_webinars SET status = 'open', opened_at = $1, scenario_id = $2
         WHERE id = $3 AND org_id = $4 AND status = 'scheduled' RETURNING {COLUMNS}"
    ))
    .bind(now.0)
    .bind(scenario)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::Conflict("live-webinar-state"))?;
    let w = from_row(&row)?;
    tx.commit().await?;
    Ok(w)
}

/// Closes a live webinar; its recording stays as a scenario to edit.
pub async fn close(db: &Db, org: OrgId, id: i64) -> Result<Webinar> {
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE live_webinars SET status = 'closed', closed_at = $1
         WHERE id = $2 AND org_id = $3 AND status = 'open' RETURNING {COLUMNS}"
    ))
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::Conflict("live-webinar-state"))?;
    let w = from_row(&row)?;
    tx.commit().await?;
    Ok(w)
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Registration {
    pub id: i64,
    pub webinar_id: i64,
    pub user_id: Option<UserId>,
    pub name: String,
    pub email: String,
    /// The personal link's secret: `/live/w/<webinar>?t=<token>`.
    pub token: String,
    /// The language the person registered in; `None` for registrations
    /// made before it was recorded (the room's language is used).
    pub locale: Option<Locale>,
}

impl Registration {
    /// The personal link into the webinar.
    pub fn link(&self) -> String {
        format!("/live/w/{}?t={}", self.webinar_id, self.token)
    }

    /// The page where the person cancels the registration.
    pub fn cancel_link(&self) -> String {
        format!("/live/w/{}/cancel?t={}", self.webinar_id, self.token)
    }
}

/// Columns of a registration; only registrations not cancelled are read.
const REG_COLUMNS: &str = "id, webinar_id, user_id, name, email, token, locale";

fn registration(r: &sqlx::any::AnyRow) -> Result<Registration> {
    let locale: String = r.try_get(6)?;
    Ok(Registration {
        id: r.try_get(0)?,
        webinar_id: r.try_get(1)?,
        user_id: r.try_get::<Option<i64>, _>(2)?.map(UserId),
        name: r.try_get(3)?,
        email: r.try_get(4)?,
        token: r.try_get(5)?,
        locale: Locale::parse(&locale),
    })
}

/// The job kind of a reminder.
pub const REMINDER: &str = "live.reminder";

/// Registers a person for a webinar with a name and an e-mail, in the
/// language of the page they registered on; the signed-in person's account
/// is linked. Reminders reach them a day and an hour before through the
/// outbox: an account by its channels, a guest by e-mail to the address
/// given. Registering again with the same e-mail returns the first
/// registration (renewed if it was cancelled).
pub async fn register(
    db: &Db,
    webinar: &Webinar,
    user: Option<UserId>,
    name: &str,
    email: &str,
    locale: Locale,
) -> Result<Registration> {
    let now = db.now();
    if webinar.status == "cancelled" || webinar.status == "closed" || webinar.ends_at() <= now {
        return Err(Error::Conflict("live-webinar-over"));
    }
    let name = tabys_accounts::users::parse_name(name, "name");
    let email = Email::parse(email).map_err(|e| e.on("email"));
    let (name, email) = match (name, email) {
        (Ok(n), Ok(e)) => (n, e),
        (n, e) => {
            let mut fields = Vec::new();
            for r in [n.err(), e.err()].into_iter().flatten() {
                if let Error::Invalid(f) = r {
                    fields.extend(f);
                }
            }
            return Err(Error::Invalid(fields));
        }
    };
    // Registering again renews a cancelled registration; its reminders
    // still due were never removed and find it active again.
    let mut renew = db.begin().await?;
    sqlx::query(
        "UPDATE live_registrations SET cancelled_at = NULL WHERE webinar_id = $1 AND email = $2 AND cancelled_at IS NOT NULL",
    )
    .bind(webinar.id)
    .bind(email.as_str())
    .execute(&mut *renew)
    .await?;
    renew.commit().await?;
    if let Some(existing) = registration_by_email(db, webinar.id, email.as_str()).await? {
        return Ok(existing);
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO live_registrations (org_id, webinar_id, user_id, name, email, token, locale, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {REG_COLUMNS}"
    ))
    .bind(webinar.org_id.0)
    .bind(webinar.id)
    .bind(user.map(|u| u.0))
    .bind(&name)
    .bind(email.as_str())
    .bind(random_token())
    .bind(locale.code())
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await;
    let row = match row {
        Ok(r) => r,
        Err(e) => {
            return match Error::from(e) {
                Error::Conflict(_) => {
                    drop(tx);
                    registration_by_email(db, webinar.id, email.as_str())
                        .await?
                        .ok_or(Error::Conflict("duplicate"))
                }
                other => Err(other),
            };
        }
    };
    let reg = registration(&row)?;
    for (which, before_ms) in [("day", 86_400_000), ("hour", 3_600_000)] {
        let at = Timestamp(webinar.starts_at.0 - before_ms);
        if at > now {
            jobs::enqueue(
                &mut tx,
                now,
                NewJob::new(
                    REMINDER,
                    serde_json::json!({ "registration": reg.id, "which": which }),
                )
                .org(webinar.org_id)
                .dedupe(format!("live-reminder:{}:{which}", reg.id))
                .at(at),
            )
            .await?;
        }
    }
    crate::activity::record_in(
        &mut tx,
        webinar.org_id,
        webinar.id,
        &participant_of(user, Some(&reg)),
        crate::activity::Kind::Register,
        None,
        0,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(reg)
}

async fn registration_by_email(db: &Db, webinar: i64, email: &str) -> Result<Option<Registration>> {
    let row = sqlx::query(
        &format!(
        "SELECT {REG_COLUMNS} FROM live_registrations WHERE cancelled_at IS NULL AND webinar_id = $1 AND email = $2"
    ),
    )
    .bind(webinar)
    .bind(email)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(registration).transpose()
}

pub async fn registration_by_token(
    db: &Db,
    webinar: i64,
    token: &str,
) -> Result<Option<Registration>> {
    let row = sqlx::query(
        &format!(
        "SELECT {REG_COLUMNS} FROM live_registrations WHERE cancelled_at IS NULL AND webinar_id = $1 AND token = $2"
    ),
    )
    .bind(webinar)
    .bind(token)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(registration).transpose()
}

pub async fn registration_of_user(
    db: &Db,
    webinar: i64,
    user: UserId,
) -> Result<Option<Registration>> {
    let row = sqlx::query(
        &format!(
        "SELECT {REG_COLUMNS} FROM live_registrations WHERE cancelled_at IS NULL AND webinar_id = $1 AND user_id = $2"
    ),
    )
    .bind(webinar)
    .bind(user.0)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(registration).transpose()
}

pub async fn registration_by_id(db: &Db, id: i64) -> Result<Option<Registration>> {
    let row = sqlx::query(&format!(
        "SELECT {REG_COLUMNS} FROM live_registrations WHERE cancelled_at IS NULL AND id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(registration).transpose()
}

/// The person cancels their registration through its personal link: no
/// reminders reach them after that, and the link no longer admits them.
/// A link that names no active registration is `NotFound`.
pub async fn cancel(db: &Db, webinar: &Webinar, token: &str) -> Result<Registration> {
    let reg = registration_by_token(db, webinar.id, token)
        .await?
        .ok_or(Error::NotFound)?;
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE live_registrations SET cancelled_at = $1 WHERE id = $2 AND webinar_id = $3 AND cancelled_at IS NULL",
    )
    .bind(now.0)
    .bind(reg.id)
    .bind(webinar.id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(reg)
}

/// The registrations of a webinar that were not cancelled.
pub async fn registrations(db: &Db, org: OrgId, webinar: i64) -> Result<Vec<Registration>> {
    let rows = sqlx::query(
        &format!(
        "SELECT {REG_COLUMNS} FROM live_registrations WHERE cancelled_at IS NULL AND org_id = $1 AND webinar_id = $2 ORDER BY id"
    ),
    )
    .bind(org.0)
    .bind(webinar)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(registration).collect()
}

/// How a participant is known in a room: `u<id>` for an account, `r<id>`
/// for a registration without one, `g<…>` for a guest of an open room.
pub fn participant_of(user: Option<UserId>, reg: Option<&Registration>) -> String {
    match (user, reg) {
        (Some(u), _) => format!("u{}", u.0),
        (None, Some(r)) => format!("r{}", r.id),
        (None, None) => "g".into(),
    }
}

/// Who is asking to enter.
#[derive(Debug, Clone, Default)]
pub struct Visitor {
    pub user: Option<(UserId, String)>,
    /// The secret of a registration link.
    pub registration_token: Option<String>,
    /// A random id the browser keeps for a guest of an open room.
    pub guest: Option<String>,
    /// The name a guest typed.
    pub guest_name: Option<String>,
}

/// A participant admitted into a session.
#[derive(Debug, Clone)]
pub struct Admission {
    pub participant: String,
    pub name: String,
    pub user: Option<UserId>,
    pub moderator: bool,
}

/// Decides whether the visitor may enter the session, by the room's
/// access rule; moderators always may. Bans are the hub's to check.
pub async fn admit(db: &Db, room: &Room, webinar: &Webinar, v: &Visitor) -> Result<Admission> {
    if let Some((user, name)) = &v.user
        && rooms::is_moderator(db, room.org_id, room.id, *user).await?
    {
        return Ok(Admission {
            participant: format!("u{}", user.0),
            name: name.clone(),
            user: Some(*user),
            moderator: true,
        });
    }
    match room.access {
        Access::Open => {
            if let Some((user, name)) = &v.user {
                return Ok(Admission {
                    participant: format!("u{}", user.0),
                    name: name.clone(),
                    user: Some(*user),
                    moderator: false,
                });
            }
            if let Some(token) = &v.registration_token
                && let Some(reg) = registration_by_token(db, webinar.id, token).await?
            {
                return Ok(Admission {
                    participant: participant_of(None, Some(&reg)),
                    name: reg.name,
                    user: None,
                    moderator: false,
                });
            }
            let guest = v
                .guest
                .as_deref()
                .filter(|g| g.len() >= 16 && g.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or(Error::invalid("guest", "live-guest-id"))?;
            let name = tabys_accounts::users::parse_name(
                v.guest_name.as_deref().unwrap_or_default(),
                "name",
            )?;
            Ok(Admission {
                participant: format!("g{}", &guest[..16]),
                name,
                user: None,
                moderator: false,
            })
        }
        Access::Registration => {
            let reg = match (&v.registration_token, &v.user) {
                (Some(t), _) => registration_by_token(db, webinar.id, t).await?,
                (None, Some((u, _))) => registration_of_user(db, webinar.id, *u).await?,
                _ => None,
            }
            .ok_or(Error::Conflict("live-registration-needed"))?;
            Ok(Admission {
                participant: participant_of(reg.user_id, Some(&reg)),
                name: reg.name,
                user: reg.user_id,
                moderator: false,
            })
        }
        Access::Paid => {
            let (user, name) = v.user.clone().ok_or(Error::Unauthorized)?;
            let product = room.product_id.ok_or(Error::Conflict("live-paid-access"))?;
            if !tabys_billing::entitlements::has_access(db, room.org_id, user, product).await? {
                return Err(Error::Conflict("live-paid-access"));
            }
            Ok(Admission {
                participant: format!("u{}", user.0),
                name,
                user: Some(user),
                moderator: false,
            })
        }
    }
}
