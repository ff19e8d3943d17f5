//! An organizer's sending settings: the sender name and reply-to address of
//! its e-mails, and how its SMS go out (AT 4.6): through the operator's
//! provider account, charged to the organizer's balance at the provider's
//! price + 5 %, or through the organizer's own SMSC account, which it pays
//! directly.

use sqlx::Row;
use tabys_core::email::Email;
use tabys_core::ids::OrgId;
use tabys_core::{Error, FieldError, Result};
use tabys_store::{Conn, Db};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub enum SmsMode {
    /// The organizer sends no SMS.
    Off,
    /// The operator's account; each SMS is charged to the organizer.
    Operator,
    /// The organizer's own SMSC login; it pays the provider.
    Own,
}

impl SmsMode {
    pub const ALL: [SmsMode; 3] = [Self::Off, Self::Operator, Self::Own];

    pub fn code(self) -> &'static str {
        match self {
            Self::Off => "off",
            Self::Operator => "operator",
            Self::Own => "own",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.code() == s)
    }
}

/// The settings as stored. The SMS password is never shown back.
#[derive(Clone, PartialEq, Eq)]
pub struct OrgSettings {
    pub sender_name: String,
    pub reply_to: String,
    pub sms_mode: SmsMode,
    pub sms_login: String,
    pub sms_password: String,
    pub sms_sender: String,
}

impl std::fmt::Debug for OrgSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OrgSettings")
            .field("sender_name", &self.sender_name)
            .field("reply_to", &self.reply_to)
            .field("sms_mode", &self.sms_mode)
            .field("sms_login", &self.sms_login)
            .finish()
    }
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            sender_name: String::new(),
            reply_to: String::new(),
            sms_mode: SmsMode::Off,
            sms_login: String::new(),
            sms_password: String::new(),
            sms_sender: String::new(),
        }
    }
}

/// The settings form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SettingsInput {
    pub sender_name: String,
    pub reply_to: String,
    pub sms_mode: String,
    pub sms_login: String,
    /// Empty keeps the stored password.
    pub sms_password: String,
    pub sms_sender: String,
}

fn header_safe(s: &str) -> bool {
    !s.chars().any(char::is_control)
}

impl SettingsInput {
    /// Checks the form against what is stored (an empty password keeps the old one).
    pub fn parse(&self, old: &OrgSettings) -> Result<OrgSettings> {
        let mut errors = Vec::new();
        let sender_name = self.sender_name.trim().to_string();
        if sender_name.chars().count() > 80 || !header_safe(&sender_name) {
            errors.push(FieldError {
                field: "sender_name",
                code: "text-too-long",
            });
        }
        let reply_to = self.reply_to.trim();
        let reply_to = if reply_to.is_empty() {
            String::new()
        } else {
            match Email::parse(reply_to) {
                Ok(e) => e.as_str().to_string(),
                Err(e) => {
                    errors.push(FieldError {
                        field: "reply_to",
                        code: e.code,
                    });
                    String::new()
                }
            }
        };
        let sms_mode = SmsMode::parse(self.sms_mode.trim()).unwrap_or_else(|| {
            errors.push(FieldError {
                field: "sms_mode",
                code: "invalid",
            });
            SmsMode::Off
        });
        let sms_login = self.sms_login.trim().to_string();
        let sms_password = if self.sms_password.is_empty() {
            old.sms_password.clone()
        } else {
            self.sms_password.clone()
        };
        if sms_mode == SmsMode::Own {
            if sms_login.is_empty() {
                errors.push(FieldError {
                    field: "sms_login",
                    code: "required",
                });
            }
            if sms_password.is_empty() {
                errors.push(FieldError {
                    field: "sms_password",
                    code: "required",
                });
            }
        }
        let sms_sender = self.sms_sender.trim().to_string();
        if sms_sender.chars().count() > 11 || !sms_sender.chars().all(|c| c.is_ascii_alphanumeric())
        {
            // SMS sender names are at most 11 Latin letters and digits.
            errors.push(FieldError {
                field: "sms_sender",
                code: "sms-sender-format",
            });
        }
        if sms_login.chars().count() > 100 || !header_safe(&sms_login) {
            errors.push(FieldError {
                field: "sms_login",
                code: "text-too-long",
            });
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(OrgSettings {
            sender_name,
            reply_to,
            sms_mode,
            sms_login,
            sms_password,
            sms_sender,
        })
    }
}

pub(crate) async fn get_in(conn: &mut Conn, org: OrgId) -> Result<OrgSettings> {
    let row = sqlx::query(
        "SELECT sender_name, reply_to, sms_mode, sms_login, sms_password, sms_sender FROM notify_org_settings WHERE org_id = $1",
    )
    .bind(org.0)
    .fetch_optional(&mut *conn)
    .await?;
    let Some(r) = row else {
        return Ok(OrgSettings::default());
    };
    let mode: String = r.try_get(2)?;
    Ok(OrgSettings {
        sender_name: r.try_get(0)?,
        reply_to: r.try_get(1)?,
        sms_mode: SmsMode::parse(&mode).unwrap_or(SmsMode::Off),
        sms_login: r.try_get(3)?,
        sms_password: r.try_get(4)?,
        sms_sender: r.try_get(5)?,
    })
}

/// The organizer's settings (defaults if never saved).
pub async fn get(db: &Db, org: OrgId) -> Result<OrgSettings> {
    let mut conn = db.read().acquire().await?;
    get_in(&mut conn, org).await
}

/// Saves the organizer's settings.
pub async fn save(db: &Db, org: OrgId, s: &OrgSettings) -> Result<()> {
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO notify_org_settings (org_id, sender_name, reply_to, sms_mode, sms_login, sms_password, sms_sender, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (org_id) DO UPDATE SET sender_name = $2, reply_to = $3, sms_mode = $4, sms_login = $5,
            sms_password = $6, sms_sender = $7, updated_at = $8",
    )
    .bind(org.0)
    .bind(&s.sender_name)
    .bind(&s.reply_to)
    .bind(s.sms_mode.code())
    .bind(&s.sms_login)
    .bind(&s.sms_password)
    .bind(&s.sms_sender)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_sms_account_needs_a_login_and_a_password() {
        let input = SettingsInput {
            sms_mode: "own".into(),
            ..Default::default()
        };
        let Err(Error::Invalid(fields)) = input.parse(&OrgSettings::default()) else {
            panic!("accepted");
        };
        assert!(fields.iter().any(|f| f.field == "sms_login"));
        assert!(fields.iter().any(|f| f.field == "sms_password"));
    }

    #[test]
    fn an_empty_password_keeps_the_stored_one_and_a_bad_reply_to_is_refused() -> Result<()> {
        let old = OrgSettings {
            sms_password: "secret".into(),
            ..OrgSettings::default()
        };
        let input = SettingsInput {
            sms_mode: "own".into(),
            sms_login: "school".into(),
            ..Default::default()
        };
        assert_eq!(input.parse(&old)?.sms_password, "secret");
        let bad = SettingsInput {
            sms_mode: "off".into(),
            reply_to: "not an address".into(),
            ..Default::default()
        };
        assert!(bad.parse(&old).is_err());
        Ok(())
    }
}
