//! Consents, kept apart from the offer (PL-5, CP 8): consent to processing
//! of personal data for listed purposes, given at sign-up and revocable
//! from the cabinet (CP 8.5); consent to marketing messages; and
//! permission to name the person or their company among the organizer's
//! clients (CP 5.3.6). Each grant and revocation is an insert-only event,
//! audited, recording the purposes as they were shown; the newest event is
//! the current state.
//!
//! Each organizer sets its purposes (in Russian, Kazakh and English) and
//! how long personal data is kept after the relationship ends; the
//! operator's settings apply to the platform and are the default for
//! organizers that set none.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Conn, Db, Dialect, Tx};

use crate::acceptance::Evidence;
use crate::offer::Publisher;

/// Five years after the relationship ends (CP 5.4 keeps records this long).
pub const DEFAULT_RETENTION_DAYS: i64 = 5 * 365 + 1;
/// The longest retention an organizer may set: 75 years, a person's lifetime of records.
pub const MAX_RETENTION_DAYS: i64 = 75 * 366;

pub const DEFAULT_PURPOSES_RU: &str = "исполнение договора-оферты и оказание услуг;
идентификация в личном кабинете;
расчёты, выставление счетов и актов, учёт платежей;
уведомления об изменении условий, о заказах и об услугах;
внутренний контроль и учёт, защита прав в суде и вне суда.";
pub const DEFAULT_PURPOSES_KK: &str = "оферта-шартты орындау және қызметтер көрсету;
жеке кабинетте сәйкестендіру;
есеп айырысу, шоттар мен актілер жасау, төлемдерді есепке алу;
шарттардың өзгеруі, тапсырыстар мен қызметтер туралы хабарламалар;
ішкі бақылау және есепке алу, құқықтарды сотта және соттан тыс қорғау.";
pub const DEFAULT_PURPOSES_EN: &str = "performing the public offer and providing the services;
identifying you in your account;
settlements, invoices, acts of completed work and records of payments;
notices of changed terms, of orders and of services;
internal control and accounting, defending rights in and out of court.";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PrivacySettings {
    pub purposes_ru: String,
    pub purposes_kk: String,
    pub purposes_en: String,
    /// Days personal data is kept after the person leaves; 0 erases at once.
    pub retention_days: i64,
}

impl Default for PrivacySettings {
    fn default() -> Self {
        Self {
            purposes_ru: DEFAULT_PURPOSES_RU.into(),
            purposes_kk: DEFAULT_PURPOSES_KK.into(),
            purposes_en: DEFAULT_PURPOSES_EN.into(),
            retention_days: DEFAULT_RETENTION_DAYS,
        }
    }
}

impl PrivacySettings {
    /// The purposes in a language; English falls back to Russian when empty.
    pub fn purposes(&self, locale: Locale) -> &str {
        match locale {
            Locale::Ru => &self.purposes_ru,
            Locale::Kk => &self.purposes_kk,
            Locale::En if self.purposes_en.trim().is_empty() => &self.purposes_ru,
            Locale::En => &self.purposes_en,
        }
    }

    /// The purposes as a list, one per line.
    pub fn purpose_list(&self, locale: Locale) -> Vec<String> {
        self.purposes(locale)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_string)
            .collect()
    }

    fn check(mut self) -> Result<Self> {
        let mut errors = Vec::new();
        for (text, field) in [
            (&mut self.purposes_ru, "purposes_ru"),
            (&mut self.purposes_kk, "purposes_kk"),
            (&mut self.purposes_en, "purposes_en"),
        ] {
            *text = text.replace("\r\n", "\n").trim().to_string();
            if text.chars().count() > 5000 {
                errors.push(FieldError {
                    field,
                    code: "text-too-long",
                });
            }
        }
        for field in [
            ("purposes_ru", &self.purposes_ru),
            ("purposes_kk", &self.purposes_kk),
        ] {
            if field.1.is_empty() {
                errors.push(FieldError {
                    field: field.0,
                    code: "required",
                });
            }
        }
        if !(0..=MAX_RETENTION_DAYS).contains(&self.retention_days) {
            errors.push(FieldError {
                field: "retention_days",
                code: "retention-range",
            });
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(Error::Invalid(errors))
        }
    }
}

/// The publisher's settings: its own, else the platform's, else the defaults.
pub async fn settings(db: &Db, publisher: Publisher) -> Result<PrivacySettings> {
    let mut conn = db.read().acquire().await?;
    settings_in(&mut conn, publisher).await
}

pub(crate) async fn settings_in(conn: &mut Conn, publisher: Publisher) -> Result<PrivacySettings> {
    let mut order = vec![publisher];
    if publisher != Publisher::Platform {
        order.push(Publisher::Platform);
    }
    for p in order {
        let row = sqlx::query(
            "SELECT purposes_ru, purposes_kk, purposes_en, retention_days FROM privacy_settings WHERE COALESCE(org_id, 0) = $1",
        )
        .bind(p.key())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(r) = row {
            return Ok(PrivacySettings {
                purposes_ru: r.try_get(0)?,
                purposes_kk: r.try_get(1)?,
                purposes_en: r.try_get(2)?,
                retention_days: r.try_get(3)?,
            });
        }
    }
    Ok(PrivacySettings::default())
}

/// Saves the publisher's purposes and retention; audited with before and after.
pub async fn save_settings(
    db: &Db,
    publisher: Publisher,
    actor: UserId,
    input: PrivacySettings,
) -> Result<PrivacySettings> {
    let new = input.check()?;
    let before = settings(db, publisher).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let updated = sqlx::query(
        "UPDATE privacy_settings SET purposes_ru = $1, purposes_kk = $2, purposes_en = $3, retention_days = $4, updated_at = $5
         WHERE COALESCE(org_id, 0) = $6",
    )
    .bind(&new.purposes_ru)
    .bind(&new.purposes_kk)
    .bind(&new.purposes_en)
    .bind(new.retention_days)
    .bind(now.0)
    .bind(publisher.key())
    .execute(&mut *tx)
    .await?;
    if updated.rows_affected() == 0 {
        sqlx::query(
            "INSERT INTO privacy_settings (org_id, purposes_ru, purposes_kk, purposes_en, retention_days, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(publisher.org().map(|o| o.0))
        .bind(&new.purposes_ru)
        .bind(&new.purposes_kk)
        .bind(&new.purposes_en)
        .bind(new.retention_days)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: publisher.org(),
            actor_id: Some(actor),
            action: "privacy.settings_changed",
            subject: match publisher {
                Publisher::Platform => "platform".into(),
                Publisher::Org(o) => format!("organizer:{o}"),
            },
            data: serde_json::json!({ "before": before, "after": new }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(new)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConsentKind {
    /// Processing of personal data for the listed purposes (CP 8).
    PersonalData,
    /// Marketing messages (AT 6.18: unsubscribe in the cabinet).
    Marketing,
    /// The organizer may name the person or company among its clients (CP 5.3.6).
    NameAsClient,
}

impl ConsentKind {
    pub const ALL: [ConsentKind; 3] = [Self::PersonalData, Self::Marketing, Self::NameAsClient];

    pub fn code(self) -> &'static str {
        match self {
            Self::PersonalData => "personal_data",
            Self::Marketing => "marketing",
            Self::NameAsClient => "name_as_client",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == s)
    }

    /// CP 5.3.6 allows naming a client unless they forbid it in writing.
    pub fn default_granted(self) -> bool {
        self == Self::NameAsClient
    }
}

/// The current state of one consent of a person towards one publisher.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ConsentState {
    pub publisher: Publisher,
    pub kind: ConsentKind,
    pub granted: bool,
    /// When it was last given or revoked; `None` if never recorded (the default applies).
    pub at: Option<Timestamp>,
    /// The purposes shown when it was last given or revoked.
    pub purposes: String,
}

/// Records a grant or revocation inside the caller's transaction.
pub(crate) async fn record(
    tx: &mut Tx,
    dialect: Dialect,
    now: Timestamp,
    (user, publisher): (UserId, Publisher),
    (kind, granted): (ConsentKind, bool),
    purposes: &str,
    ev: &Evidence,
) -> Result<()> {
    let locale = ev.locale.unwrap_or(Locale::Ru);
    let row = sqlx::query(
        "INSERT INTO consent_events (user_id, org_id, kind, granted, purposes, locale, ip, user_agent, at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(user.0)
    .bind(publisher.org().map(|o| o.0))
    .bind(kind.code())
    .bind(i64::from(granted))
    .bind(purposes)
    .bind(locale.code())
    .bind(&ev.origin.ip)
    .bind(ev.origin.user_agent.chars().take(400).collect::<String>())
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    audit::append(
        tx,
        dialect,
        now,
        Entry {
            org_id: publisher.org(),
            actor_id: Some(user),
            action: if granted {
                "consent.granted"
            } else {
                "consent.revoked"
            },
            subject: format!("consent_event:{id}"),
            data: serde_json::json!({
                "user_id": user.0,
                "kind": kind.code(),
                "granted": granted,
                "purposes": purposes,
                "locale": locale.code(),
                "ip": ev.origin.ip,
            }),
        },
    )
    .await?;
    Ok(())
}

/// The purposes text recorded with a personal-data consent event.
pub(crate) fn purposes_text(
    settings: &PrivacySettings,
    kind: ConsentKind,
    locale: Locale,
) -> String {
    match kind {
        ConsentKind::PersonalData => settings.purposes(locale).to_string(),
        _ => String::new(),
    }
}

/// Gives or revokes a consent from the cabinet. Recording the state it
/// already has changes nothing and returns `false`. A person may only
/// address the platform or an organizer they belong to.
pub async fn set(
    db: &Db,
    user: UserId,
    publisher: Publisher,
    kind: ConsentKind,
    granted: bool,
    ev: &Evidence,
) -> Result<bool> {
    if let Publisher::Org(org) = publisher {
        tabys_accounts::members::access(db, user, org).await?;
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let current = state_in(&mut tx, user, publisher, kind).await?;
    if current.is_some_and(|(g, _)| g == granted) {
        return Ok(false);
    }
    let settings = settings_in(&mut tx, publisher).await?;
    let purposes = purposes_text(&settings, kind, ev.locale.unwrap_or(Locale::Ru));
    record(
        &mut tx,
        db.dialect(),
        now,
        (user, publisher),
        (kind, granted),
        &purposes,
        ev,
    )
    .await?;
    tx.commit().await?;
    Ok(true)
}

async fn state_in(
    conn: &mut Conn,
    user: UserId,
    publisher: Publisher,
    kind: ConsentKind,
) -> Result<Option<(bool, Timestamp)>> {
    let row = sqlx::query(
        "SELECT granted, at FROM consent_events WHERE user_id = $1 AND COALESCE(org_id, 0) = $2 AND kind = $3
         ORDER BY id DESC LIMIT 1",
    )
    .bind(user.0)
    .bind(publisher.key())
    .bind(kind.code())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|r| Ok((r.try_get::<i64, _>(0)? != 0, Timestamp(r.try_get(1)?))))
        .transpose()
}

/// The person's consents towards the platform and each organizer they
/// belong to, in that order; never-recorded ones show their default.
pub async fn of_user(db: &Db, user: UserId) -> Result<Vec<ConsentState>> {
    let mut publishers = vec![Publisher::Platform];
    for m in tabys_accounts::members::memberships(db, user).await? {
        publishers.push(Publisher::Org(m.org_id));
    }
    let mut out = Vec::new();
    for p in publishers {
        out.extend(of_user_with(db, user, p).await?);
    }
    Ok(out)
}

/// The person's three consents towards one publisher.
pub async fn of_user_with(
    db: &Db,
    user: UserId,
    publisher: Publisher,
) -> Result<Vec<ConsentState>> {
    let mut conn = db.read().acquire().await?;
    let mut out = Vec::new();
    for kind in ConsentKind::ALL {
        let row = sqlx::query(
            "SELECT granted, at, purposes FROM consent_events WHERE user_id = $1 AND COALESCE(org_id, 0) = $2 AND kind = $3
             ORDER BY id DESC LIMIT 1",
        )
        .bind(user.0)
        .bind(publisher.key())
        .bind(kind.code())
        .fetch_optional(&mut *conn)
        .await?;
        out.push(match row {
            Some(r) => ConsentState {
                publisher,
                kind,
                granted: r.try_get::<i64, _>(0)? != 0,
                at: Some(Timestamp(r.try_get(1)?)),
                purposes: r.try_get(2)?,
            },
            None => ConsentState {
                publisher,
                kind,
                granted: kind.default_granted(),
                at: None,
                purposes: String::new(),
            },
        });
    }
    Ok(out)
}

/// Revocations of personal-data consent by an organizer's customers,
/// newest first: what the organizer must act on.
pub async fn revocations(db: &Db, org: OrgId) -> Result<Vec<(UserId, Timestamp)>> {
    let rows = sqlx::query(
        "SELECT e.user_id, e.at FROM consent_events e
         WHERE COALESCE(e.org_id, 0) = $1 AND e.kind = 'personal_data' AND e.granted = 0
           AND e.id = (SELECT MAX(x.id) FROM consent_events x
                       WHERE x.user_id = e.user_id AND COALESCE(x.org_id, 0) = $1 AND x.kind = 'personal_data')
         ORDER BY e.id DESC",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| Ok((UserId(r.try_get(0)?), Timestamp(r.try_get(1)?))))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_purposes_exist_in_all_three_languages_line_by_line() {
        let s = PrivacySettings::default();
        let counts: Vec<usize> = Locale::ALL
            .iter()
            .map(|l| s.purpose_list(*l).len())
            .collect();
        assert_eq!(counts, [5, 5, 5]);
    }

    #[test]
    fn settings_need_russian_and_kazakh_purposes_and_a_sane_retention() {
        let s = PrivacySettings {
            purposes_kk: " ".into(),
            retention_days: -1,
            ..PrivacySettings::default()
        };
        let Err(Error::Invalid(errors)) = s.check() else {
            panic!("expected invalid")
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["purposes_kk", "retention_days"]);
    }

    #[test]
    fn only_naming_as_a_client_is_allowed_until_forbidden() {
        assert!(ConsentKind::NameAsClient.default_granted());
        assert!(!ConsentKind::Marketing.default_granted());
        assert!(!ConsentKind::PersonalData.default_granted());
    }
}
