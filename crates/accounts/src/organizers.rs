//! Organizers: the tenants. Each has the legal profile of PL-2, which its
//! invoices, acts and offers print; every change to it is written to the
//! audit chain with the values before and after.

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::iban::{Bik, Kbe, KzIban};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::iin::{IinBin, IinBinKind};
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::members::Role;

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LegalForm {
    /// A private person (физическое лицо).
    Individual,
    /// An individual entrepreneur (ИП / ЖК), identified by IIN.
    Entrepreneur,
    /// A self-employed person, identified by IIN.
    SelfEmployed,
    /// A legal entity (ТОО, АО, …), identified by BIN, acting through its first head.
    LegalEntity,
}

impl LegalForm {
    pub const ALL: [LegalForm; 4] = [
        Self::Individual,
        Self::Entrepreneur,
        Self::SelfEmployed,
        Self::LegalEntity,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Self::Individual => "individual",
            Self::Entrepreneur => "entrepreneur",
            Self::SelfEmployed => "self_employed",
            Self::LegalEntity => "legal_entity",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.code() == s)
    }
}

/// The profile as typed into a form or sent to the API: raw text.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, utoipa::ToSchema)]
pub struct ProfileInput {
    pub slug: String,
    pub legal_form: String,
    pub legal_name: String,
    pub email: String,
    pub legal_address: String,
    pub iin_bin: String,
    #[serde(default)]
    pub iik: String,
    #[serde(default)]
    pub bik: String,
    #[serde(default)]
    pub kbe: String,
    #[serde(default)]
    pub head_name: String,
    #[serde(default)]
    pub head_position: String,
    #[serde(default)]
    pub requires_adult: bool,
}

/// A profile whose every field has been checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Profile {
    pub slug: String,
    #[schema(value_type = String, example = "legal_entity")]
    pub legal_form: LegalForm,
    pub legal_name: String,
    pub email: String,
    pub legal_address: String,
    /// IIN for a person, IE or self-employed; BIN for a legal entity.
    pub iin_bin: String,
    /// Account number (IIK) as a Kazakh IBAN; empty if not given.
    pub iik: String,
    pub bik: String,
    pub kbe: String,
    /// The first head with the right to sign (required for a legal entity).
    pub head_name: String,
    pub head_position: String,
    /// Customers must confirm they are adults when they join (EX §3).
    pub requires_adult: bool,
}

fn text(
    raw: &str,
    field: &'static str,
    max: usize,
    required: bool,
    errors: &mut Vec<FieldError>,
) -> String {
    let value = raw.trim();
    if required && value.is_empty() {
        errors.push(FieldError {
            field,
            code: "required",
        });
    } else if value.chars().count() > max || value.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(FieldError {
            field,
            code: "text-too-long",
        });
    }
    value.to_string()
}

/// A slug names the organizer in its public address: 3-40 of a-z, 0-9 and '-'.
fn slug(raw: &str, errors: &mut Vec<FieldError>) -> String {
    let value = raw.trim().to_ascii_lowercase();
    let ok = (3..=40).contains(&value.len())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !ok {
        errors.push(FieldError {
            field: "slug",
            code: "slug-format",
        });
    }
    value
}

fn optional<T: ToString>(
    raw: &str,
    field: &'static str,
    parse: impl Fn(&str) -> std::result::Result<T, tabys_core::Invalid>,
    errors: &mut Vec<FieldError>,
) -> String {
    if raw.trim().is_empty() {
        return String::new();
    }
    match parse(raw) {
        Ok(v) => v.to_string(),
        Err(e) => {
            errors.push(FieldError {
                field,
                code: e.code,
            });
            raw.trim().to_string()
        }
    }
}

impl ProfileInput {
    /// Checks every field and reports every problem at once.
    pub fn parse(&self) -> Result<Profile> {
        let mut errors = Vec::new();
        let slug = slug(&self.slug, &mut errors);
        let legal_form = LegalForm::parse(self.legal_form.trim());
        if legal_form.is_none() {
            errors.push(FieldError {
                field: "legal_form",
                code: "legal-form-unknown",
            });
        }
        let legal_name = text(&self.legal_name, "legal_name", 300, true, &mut errors);
        let email = match Email::parse(&self.email) {
            Ok(e) => e.to_string(),
            Err(e) => {
                errors.push(FieldError {
                    field: "email",
                    code: e.code,
                });
                String::new()
            }
        };
        let legal_address = text(&self.legal_address, "legal_address", 500, true, &mut errors);
        let iin_bin = match IinBin::parse(&self.iin_bin) {
            Ok(id) => {
                match (legal_form, id.kind()) {
                    (Some(LegalForm::LegalEntity), IinBinKind::Individual { .. }) => {
                        errors.push(FieldError {
                            field: "iin_bin",
                            code: "bin-required",
                        })
                    }
                    (Some(f), IinBinKind::LegalEntity) if f != LegalForm::LegalEntity => errors
                        .push(FieldError {
                            field: "iin_bin",
                            code: "iin-required",
                        }),
                    _ => {}
                }
                id.to_string()
            }
            Err(e) => {
                errors.push(FieldError {
                    field: "iin_bin",
                    code: e.code,
                });
                String::new()
            }
        };
        let iik = optional(&self.iik, "iik", KzIban::parse, &mut errors);
        let bik = optional(&self.bik, "bik", Bik::parse, &mut errors);
        let kbe = optional(&self.kbe, "kbe", Kbe::parse, &mut errors);
        let head_required = legal_form == Some(LegalForm::LegalEntity);
        let head_name = text(
            &self.head_name,
            "head_name",
            200,
            head_required,
            &mut errors,
        );
        let head_position = text(
            &self.head_position,
            "head_position",
            200,
            head_required,
            &mut errors,
        );
        match legal_form {
            Some(legal_form) if errors.is_empty() => Ok(Profile {
                slug,
                legal_form,
                legal_name,
                email,
                legal_address,
                iin_bin,
                iik,
                bik,
                kbe,
                head_name,
                head_position,
                requires_adult: self.requires_adult,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

impl From<&Profile> for ProfileInput {
    fn from(p: &Profile) -> Self {
        Self {
            slug: p.slug.clone(),
            legal_form: p.legal_form.code().to_string(),
            legal_name: p.legal_name.clone(),
            email: p.email.clone(),
            legal_address: p.legal_address.clone(),
            iin_bin: p.iin_bin.clone(),
            iik: p.iik.clone(),
            bik: p.bik.clone(),
            kbe: p.kbe.clone(),
            head_name: p.head_name.clone(),
            head_position: p.head_position.clone(),
            requires_adult: p.requires_adult,
        }
    }
}

#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct Organizer {
    #[schema(value_type = i64)]
    pub id: OrgId,
    #[serde(flatten)]
    pub profile: Profile,
    pub status: String,
    #[schema(value_type = i64)]
    pub created_at: Timestamp,
}

const COLUMNS: &str = "id, slug, legal_form, legal_name, email, legal_address, iin_bin, iik, bik, kbe, \
     head_name, head_position, requires_adult, status, created_at";

fn from_row(row: &sqlx::any::AnyRow) -> Result<Organizer> {
    let form: String = row.try_get(2)?;
    Ok(Organizer {
        id: OrgId(row.try_get(0)?),
        profile: Profile {
            slug: row.try_get(1)?,
            legal_form: LegalForm::parse(&form)
                .ok_or_else(|| Error::Internal(format!("unknown legal form {form} in database")))?,
            legal_name: row.try_get(3)?,
            email: row.try_get(4)?,
            legal_address: row.try_get(5)?,
            iin_bin: row.try_get(6)?,
            iik: row.try_get(7)?,
            bik: row.try_get(8)?,
            kbe: row.try_get(9)?,
            head_name: row.try_get(10)?,
            head_position: row.try_get(11)?,
            requires_adult: row.try_get::<i64, _>(12)? != 0,
        },
        status: row.try_get(13)?,
        created_at: Timestamp(row.try_get(14)?),
    })
}

/// Creates an organizer; its creator becomes the owner.
pub async fn create(db: &Db, owner: UserId, profile: Profile) -> Result<Organizer> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO organizers (slug, legal_form, legal_name, email, legal_address, iin_bin, iik, bik, kbe,
             head_name, head_position, requires_adult, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'active', $13, $13) RETURNING {COLUMNS}"
    ))
    .bind(&profile.slug)
    .bind(profile.legal_form.code())
    .bind(&profile.legal_name)
    .bind(&profile.email)
    .bind(&profile.legal_address)
    .bind(&profile.iin_bin)
    .bind(&profile.iik)
    .bind(&profile.bik)
    .bind(&profile.kbe)
    .bind(&profile.head_name)
    .bind(&profile.head_position)
    .bind(i64::from(profile.requires_adult))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(slug_taken)?;
    let org = from_row(&row)?;
    crate::members::insert(&mut tx, org.id, owner, Role::Owner, now).await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org.id),
            actor_id: Some(owner),
            action: "organizer.created",
            subject: format!("organizer:{}", org.id),
            data: serde_json::to_value(&org.profile).map_err(Error::internal)?,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(org)
}

fn slug_taken(e: sqlx::Error) -> Error {
    match Error::from(e) {
        Error::Conflict(_) => Error::invalid("slug", "slug-taken"),
        other => other,
    }
}

/// One organizer, by id. Callers check access first (`members::access`).
pub async fn get(db: &Db, id: OrgId) -> Result<Organizer> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM organizers WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The public face of an organizer, by its slug.
pub async fn by_slug(db: &Db, slug: &str) -> Result<Organizer> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM organizers WHERE slug = $1 AND status = 'active'"
    ))
    .bind(slug)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Every organizer: the operator's list.
pub async fn all(db: &Db) -> Result<Vec<Organizer>> {
    let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM organizers ORDER BY id"))
        .fetch_all(db.read())
        .await?;
    rows.iter().map(from_row).collect()
}

/// Changes the profile; the audit entry lists each changed field before and after.
pub async fn update(db: &Db, org: OrgId, actor: UserId, profile: Profile) -> Result<Organizer> {
    let before = get(db, org).await?;
    let old = serde_json::to_value(&before.profile).map_err(Error::internal)?;
    let new = serde_json::to_value(&profile).map_err(Error::internal)?;
    let mut changes = serde_json::Map::new();
    if let (Some(old), Some(new)) = (old.as_object(), new.as_object()) {
        for (field, value) in new {
            if old.get(field) != Some(value) {
                changes.insert(
                    field.clone(),
                    serde_json::json!({ "before": old.get(field), "after": value }),
                );
            }
        }
    }
    if changes.is_empty() {
        return Ok(before);
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE organizers SET slug = $1, legal_form = $2, legal_name = $3, email = $4, legal_address = $5,
             iin_bin = $6, iik = $7, bik = $8, kbe = $9, head_name = $10, head_position = $11,
             requires_adult = $12, updated_at = $13
         WHERE id = $14 RETURNING {COLUMNS}"
    ))
    .bind(&profile.slug)
    .bind(profile.legal_form.code())
    .bind(&profile.legal_name)
    .bind(&profile.email)
    .bind(&profile.legal_address)
    .bind(&profile.iin_bin)
    .bind(&profile.iik)
    .bind(&profile.bik)
    .bind(&profile.kbe)
    .bind(&profile.head_name)
    .bind(&profile.head_position)
    .bind(i64::from(profile.requires_adult))
    .bind(now.0)
    .bind(org.0)
    .fetch_one(&mut *tx)
    .await
    .map_err(slug_taken)?;
    record_change(&mut tx, db, org, actor, changes).await?;
    tx.commit().await?;
    from_row(&row)
}

async fn record_change(
    tx: &mut Tx,
    db: &Db,
    org: OrgId,
    actor: UserId,
    changes: serde_json::Map<String, serde_json::Value>,
) -> Result<()> {
    audit::append(
        tx,
        db.dialect(),
        db.now(),
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "organizer.updated",
            subject: format!("organizer:{org}"),
            data: serde_json::Value::Object(changes),
        },
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> ProfileInput {
        ProfileInput {
            slug: "exintra".into(),
            legal_form: "legal_entity".into(),
            legal_name: "ТОО «Exintra»".into(),
            email: "hello@exintra.kz".into(),
            legal_address: "Костанай".into(),
            iin_bin: String::new(),
            head_name: "Директор".into(),
            head_position: "Директор".into(),
            ..ProfileInput::default()
        }
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let mut p = input();
        p.slug = "A".into();
        p.email = "not-an-email".into();
        p.iin_bin = "123".into();
        p.iik = "KZ00".into();
        let Err(Error::Invalid(errors)) = p.parse() else {
            panic!("expected invalid");
        };
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["slug", "email", "iin_bin", "iik"]);
    }

    #[test]
    fn legal_entity_needs_its_first_head() {
        let mut p = input();
        p.head_name = " ".into();
        let Err(Error::Invalid(errors)) = p.parse() else {
            panic!("expected invalid");
        };
        assert!(
            errors
                .iter()
                .any(|e| e.field == "head_name" && e.code == "required")
        );
    }
}
