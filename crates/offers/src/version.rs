//! Versions of an offer. A draft is edited freely; publishing turns it into
//! a numbered version whose content never changes again (the table is
//! insert-only), identified by the SHA-256 of its canonical form.
//!
//! Canonical form (`tabys-offer-version/1`): the concatenation of these
//! fields, each written as its length in bytes (8 bytes, big-endian)
//! followed by its bytes:
//!
//! 1. the tag `tabys-offer-version/1`;
//! 2. the kind's code (`public_offer`, …);
//! 3. the version number in decimal ASCII (`1`, `2`, …);
//! 4. the effective time in UTC milliseconds since the Unix epoch, decimal ASCII;
//! 5. then for each language present, in the order ru, kk, en: the
//!    language code, then the text as UTF-8.
//!
//! Texts are stored exactly as hashed, so the canonical bytes can always be
//! rebuilt from the row, and the raw text a person downloads is
//! byte-for-byte what was published.

use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_notify::NewNotification;
use tabys_store::audit::{self, Entry};
use tabys_store::{Conn, Db};

use crate::offer::{self, OfferKind, Publisher};

pub const CANONICAL_TAG: &str = "tabys-offer-version/1";
/// The longest text of one language, in characters.
pub const MAX_TEXT_CHARS: usize = 400_000;

/// The texts of a version. Russian prevails where they differ.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Texts {
    pub ru: String,
    pub kk: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub en: Option<String>,
}

impl Texts {
    /// The text in a language, if the version has it.
    pub fn get(&self, locale: Locale) -> Option<&str> {
        match locale {
            Locale::Ru => Some(&self.ru),
            Locale::Kk => Some(&self.kk),
            Locale::En => self.en.as_deref(),
        }
    }

    /// The text shown to a reader of `locale`: theirs, else Russian.
    pub fn shown(&self, locale: Locale) -> (Locale, &str) {
        match self.get(locale) {
            Some(t) => (locale, t),
            None => (Locale::Ru, &self.ru),
        }
    }

    /// The languages present, in canonical order.
    pub fn languages(&self) -> Vec<Locale> {
        Locale::ALL
            .into_iter()
            .filter(|l| self.get(*l).is_some())
            .collect()
    }
}

fn field(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u64).to_be_bytes());
    out.extend_from_slice(bytes);
}

/// The exact bytes a version's hash is taken over (see the module docs).
pub fn canonical(kind: OfferKind, number: i64, effective_at: Timestamp, texts: &Texts) -> Vec<u8> {
    let mut out = Vec::new();
    field(&mut out, CANONICAL_TAG.as_bytes());
    field(&mut out, kind.code().as_bytes());
    field(&mut out, number.to_string().as_bytes());
    field(&mut out, effective_at.0.to_string().as_bytes());
    for locale in texts.languages() {
        if let Some(text) = texts.get(locale) {
            field(&mut out, locale.code().as_bytes());
            field(&mut out, text.as_bytes());
        }
    }
    out
}

/// Lowercase hex SHA-256 of the canonical form.
pub fn hash(kind: OfferKind, number: i64, effective_at: Timestamp, texts: &Texts) -> String {
    hex::encode(Sha256::digest(canonical(kind, number, effective_at, texts)))
}

/// A text as it will be stored and hashed: line ends made `\n` (browsers
/// send `\r\n`) and surrounding blank space removed. Control characters
/// other than tab and line feed are refused: they are invisible on screen
/// and would make two texts that read alike hash differently.
pub fn normalize(raw: &str, field: &'static str) -> Result<String> {
    let text = raw.replace("\r\n", "\n").replace('\r', "\n");
    let text = text.trim();
    if text
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(Error::invalid(field, "offer-text-invalid"));
    }
    if text.chars().count() > MAX_TEXT_CHARS {
        return Err(Error::invalid(field, "text-too-long"));
    }
    Ok(text.to_string())
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Version {
    pub id: i64,
    pub offer_id: i64,
    #[schema(value_type = Option<i64>)]
    pub org_id: Option<OrgId>,
    pub kind: OfferKind,
    pub number: i64,
    /// When it takes effect (UTC milliseconds).
    #[schema(value_type = i64)]
    pub effective_at: Timestamp,
    pub texts: Texts,
    /// SHA-256 of the canonical form, lowercase hex.
    pub hash: String,
    #[schema(value_type = i64)]
    pub published_at: Timestamp,
}

impl Version {
    pub fn publisher(&self) -> Publisher {
        Publisher::from_org(self.org_id)
    }

    /// The hash recomputed from the stored content.
    pub fn recompute_hash(&self) -> String {
        hash(self.kind, self.number, self.effective_at, &self.texts)
    }

    pub fn is_in_effect(&self, now: Timestamp) -> bool {
        self.effective_at <= now
    }
}

const COLUMNS: &str = "id, offer_id, org_id, kind, number, effective_at, text_ru, text_kk, text_en, hash, published_at";

pub(crate) fn from_row(row: &sqlx::any::AnyRow) -> Result<Version> {
    let kind: String = row.try_get(3)?;
    Ok(Version {
        id: row.try_get(0)?,
        offer_id: row.try_get(1)?,
        org_id: row.try_get::<Option<i64>, _>(2)?.map(OrgId),
        kind: OfferKind::parse(&kind)
            .ok_or_else(|| Error::Internal(format!("unknown offer kind {kind}")))?,
        number: row.try_get(4)?,
        effective_at: Timestamp(row.try_get(5)?),
        texts: Texts {
            ru: row.try_get(6)?,
            kk: row.try_get(7)?,
            en: row.try_get(8)?,
        },
        hash: row.try_get(9)?,
        published_at: Timestamp(row.try_get(10)?),
    })
}

/// What a draft or a publication says, as typed.
#[derive(Debug, Clone, Default, serde::Deserialize, utoipa::ToSchema)]
pub struct VersionInput {
    #[serde(default)]
    pub text_ru: String,
    #[serde(default)]
    pub text_kk: String,
    /// Optional; empty means no English text.
    #[serde(default)]
    pub text_en: String,
    /// When it takes effect (UTC milliseconds); absent means on publication.
    #[schema(value_type = Option<i64>)]
    pub effective_at: Option<Timestamp>,
}

/// The next version being written.
#[derive(Debug, Clone)]
pub struct Draft {
    pub text_ru: String,
    pub text_kk: String,
    pub text_en: String,
    pub effective_at: Option<Timestamp>,
    pub updated_at: Timestamp,
}

fn normalized(input: &VersionInput) -> Result<(String, String, String)> {
    let mut errors = Vec::new();
    let mut take = |raw: &str, field: &'static str| match normalize(raw, field) {
        Ok(t) => t,
        Err(Error::Invalid(mut f)) => {
            errors.append(&mut f);
            String::new()
        }
        Err(_) => String::new(),
    };
    let ru = take(&input.text_ru, "text_ru");
    let kk = take(&input.text_kk, "text_kk");
    let en = take(&input.text_en, "text_en");
    if errors.is_empty() {
        Ok((ru, kk, en))
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Saves the draft of the offer's next version; drafts may be incomplete.
pub async fn save_draft(
    db: &Db,
    publisher: Publisher,
    offer_id: i64,
    actor: UserId,
    input: &VersionInput,
) -> Result<Draft> {
    offer::get(db, publisher, offer_id).await?;
    let (ru, kk, en) = normalized(input)?;
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM offer_drafts WHERE offer_id = $1 AND COALESCE(org_id, 0) = $2")
        .bind(offer_id)
        .bind(publisher.key())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO offer_drafts (offer_id, org_id, text_ru, text_kk, text_en, effective_at, updated_at, updated_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(offer_id)
    .bind(publisher.org().map(|o| o.0))
    .bind(&ru)
    .bind(&kk)
    .bind(&en)
    .bind(input.effective_at.map(|t| t.0))
    .bind(now.0)
    .bind(actor.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Draft {
        text_ru: ru,
        text_kk: kk,
        text_en: en,
        effective_at: input.effective_at,
        updated_at: now,
    })
}

/// The offer's draft, if one is being written.
pub async fn draft(db: &Db, publisher: Publisher, offer_id: i64) -> Result<Option<Draft>> {
    let row = sqlx::query(
        "SELECT text_ru, text_kk, text_en, effective_at, updated_at FROM offer_drafts
         WHERE offer_id = $1 AND COALESCE(org_id, 0) = $2",
    )
    .bind(offer_id)
    .bind(publisher.key())
    .fetch_optional(db.read())
    .await?;
    row.map(|r| {
        Ok(Draft {
            text_ru: r.try_get(0)?,
            text_kk: r.try_get(1)?,
            text_en: r.try_get(2)?,
            effective_at: r.try_get::<Option<i64>, _>(3)?.map(Timestamp),
            updated_at: Timestamp(r.try_get(4)?),
        })
    })
    .transpose()
}

/// Publishes the offer's next version. Refused, with nothing recorded, when
/// a Russian or Kazakh text is empty, the effective time is in the past,
/// before the previous version's, or inside the offer's notice period.
/// Everyone who accepted an earlier version is notified in the same
/// transaction, and the draft is removed.
pub async fn publish(
    db: &Db,
    publisher: Publisher,
    offer_id: i64,
    actor: UserId,
    input: &VersionInput,
) -> Result<Version> {
    let (ru, kk, en) = normalized(input)?;
    let now = db.now();
    let mut errors = Vec::new();
    if ru.is_empty() {
        errors.push(FieldError {
            field: "text_ru",
            code: "offer-text-required",
        });
    }
    if kk.is_empty() {
        errors.push(FieldError {
            field: "text_kk",
            code: "offer-text-required",
        });
    }
    let effective_at = input.effective_at.unwrap_or(now);
    if effective_at < now {
        errors.push(FieldError {
            field: "effective_at",
            code: "offer-effective-in-past",
        });
    }
    let mut tx = db.begin().await?;
    let offer = offer::get_in(&mut tx, publisher, offer_id).await?;
    let latest = latest_in(&mut tx, offer_id).await?;
    if let Some(prev) = &latest {
        if effective_at < prev.effective_at {
            errors.push(FieldError {
                field: "effective_at",
                code: "offer-effective-before-previous",
            });
        } else if effective_at < now.plus_days(offer.notice_days) {
            // AT 3.2.1: a change is published at least N days before it takes effect.
            errors.push(FieldError {
                field: "effective_at",
                code: "offer-notice-too-short",
            });
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    let texts = Texts {
        ru,
        kk,
        en: (!en.is_empty()).then_some(en),
    };
    let number = latest.as_ref().map_or(1, |v| v.number + 1);
    let digest = hash(offer.kind, number, effective_at, &texts);
    let row = sqlx::query(&format!(
        "INSERT INTO offer_versions (offer_id, org_id, kind, number, effective_at, text_ru, text_kk, text_en, hash, published_at, published_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING {COLUMNS}"
    ))
    .bind(offer_id)
    .bind(publisher.org().map(|o| o.0))
    .bind(offer.kind.code())
    .bind(number)
    .bind(effective_at.0)
    .bind(&texts.ru)
    .bind(&texts.kk)
    .bind(texts.en.as_deref())
    .bind(&digest)
    .bind(now.0)
    .bind(actor.0)
    .fetch_one(&mut *tx)
    .await?;
    let version = from_row(&row)?;
    sqlx::query("DELETE FROM offer_drafts WHERE offer_id = $1")
        .bind(offer_id)
        .execute(&mut *tx)
        .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: publisher.org(),
            actor_id: Some(actor),
            action: "offer.published",
            subject: format!("offer_version:{}", version.id),
            data: serde_json::json!({
                "offer_id": offer_id,
                "kind": offer.kind.code(),
                "number": number,
                "effective_at": effective_at.0,
                "languages": texts.languages().iter().map(|l| l.code()).collect::<Vec<_>>(),
                "hash": digest,
            }),
        },
    )
    .await?;
    if number > 1 {
        let name = publisher.name(db).await?;
        let affected = sqlx::query(
            "SELECT DISTINCT user_id FROM offer_acceptances WHERE offer_id = $1 ORDER BY user_id",
        )
        .bind(offer_id)
        .fetch_all(&mut *tx)
        .await?;
        for row in affected {
            let mut args = serde_json::Map::new();
            args.insert("org".into(), name.clone().into());
            args.insert("kind".into(), offer.kind.code().into());
            args.insert("number".into(), number.into());
            args.insert(
                "effective".into(),
                crate::almaty_minutes(effective_at).into(),
            );
            tabys_notify::add(
                &mut tx,
                now,
                NewNotification {
                    user: UserId(row.try_get(0)?),
                    org: publisher.org(),
                    kind: "offer.new_version",
                    key: "notify-offer-new-version",
                    args,
                },
            )
            .await?;
        }
    }
    tx.commit().await?;
    Ok(version)
}

async fn latest_in(conn: &mut Conn, offer_id: i64) -> Result<Option<Version>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE offer_id = $1 ORDER BY number DESC LIMIT 1"
    ))
    .bind(offer_id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The version in effect at `now`: the newest whose effective time has come.
pub(crate) async fn current_in(
    conn: &mut Conn,
    offer_id: i64,
    now: Timestamp,
) -> Result<Option<Version>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE offer_id = $1 AND effective_at <= $2 ORDER BY number DESC LIMIT 1"
    ))
    .bind(offer_id)
    .bind(now.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The newest published version that has not taken effect yet.
pub(crate) async fn upcoming_in(
    conn: &mut Conn,
    offer_id: i64,
    now: Timestamp,
) -> Result<Option<Version>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE offer_id = $1 AND effective_at > $2 ORDER BY number DESC LIMIT 1"
    ))
    .bind(offer_id)
    .bind(now.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

pub async fn current(db: &Db, offer_id: i64) -> Result<Option<Version>> {
    let mut conn = db.read().acquire().await?;
    current_in(&mut conn, offer_id, db.now()).await
}

pub async fn upcoming(db: &Db, offer_id: i64) -> Result<Option<Version>> {
    let mut conn = db.read().acquire().await?;
    upcoming_in(&mut conn, offer_id, db.now()).await
}

/// Every version of one of the publisher's offers, newest first.
pub async fn list(db: &Db, publisher: Publisher, offer_id: i64) -> Result<Vec<Version>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE offer_id = $1 AND COALESCE(org_id, 0) = $2 ORDER BY number DESC"
    ))
    .bind(offer_id)
    .bind(publisher.key())
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// One of the publisher's versions; another publisher's is `NotFound`.
pub async fn get(db: &Db, publisher: Publisher, id: i64) -> Result<Version> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE id = $1 AND COALESCE(org_id, 0) = $2"
    ))
    .bind(id)
    .bind(publisher.key())
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Any version by id, for checking a form that names one.
pub(crate) async fn by_id(conn: &mut Conn, id: i64) -> Result<Option<Version>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(&mut *conn)
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// Every version, oldest first, for verification.
pub(crate) async fn all(db: &Db, after: i64, limit: i64) -> Result<Vec<Version>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM offer_versions WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts() -> Texts {
        Texts {
            ru: "Оферта".into(),
            kk: "Оферта-Шарт".into(),
            en: None,
        }
    }

    #[test]
    fn canonical_form_is_length_prefixed_fields_in_a_fixed_order() {
        let bytes = canonical(OfferKind::PublicOffer, 2, Timestamp(1_000), &texts());
        let mut expected = Vec::new();
        for f in [
            CANONICAL_TAG,
            "public_offer",
            "2",
            "1000",
            "ru",
            "Оферта",
            "kk",
            "Оферта-Шарт",
        ] {
            expected.extend_from_slice(&(f.len() as u64).to_be_bytes());
            expected.extend_from_slice(f.as_bytes());
        }
        assert_eq!(bytes, expected);
    }

    #[test]
    fn hash_is_the_sha256_of_the_canonical_form() {
        let t = texts();
        let h = hash(OfferKind::Terms, 1, Timestamp(5), &t);
        assert_eq!(
            h,
            hex::encode(Sha256::digest(canonical(
                OfferKind::Terms,
                1,
                Timestamp(5),
                &t
            )))
        );
        assert_eq!(h.len(), 64);
    }

    #[test]
    fn every_part_of_the_content_changes_the_hash() {
        let base = hash(OfferKind::Terms, 1, Timestamp(5), &texts());
        let mut en = texts();
        en.en = Some(String::new());
        let mut moved = texts();
        moved.ru = "Оферт".into();
        moved.kk = "аОферта-Шарт".into();
        for other in [
            hash(OfferKind::Privacy, 1, Timestamp(5), &texts()),
            hash(OfferKind::Terms, 2, Timestamp(5), &texts()),
            hash(OfferKind::Terms, 1, Timestamp(6), &texts()),
            hash(OfferKind::Terms, 1, Timestamp(5), &en),
            hash(OfferKind::Terms, 1, Timestamp(5), &moved),
        ] {
            assert_ne!(base, other);
        }
    }

    #[test]
    fn texts_are_stored_with_unix_line_ends_and_without_surrounding_space() -> Result<()> {
        assert_eq!(
            normalize("  1. Условия\r\n2. Цена\r\n\r\n", "t")?,
            "1. Условия\n2. Цена"
        );
        assert!(normalize("bad\u{0007}bell", "t").is_err());
        Ok(())
    }

    #[test]
    fn a_reader_without_their_language_gets_russian() {
        let t = texts();
        assert_eq!(t.shown(Locale::En), (Locale::Ru, "Оферта"));
        assert_eq!(t.shown(Locale::Kk), (Locale::Kk, "Оферта-Шарт"));
    }
}
