//! Mailings (PL-7, AT 6.18): an organizer writes one message to a segment
//! of its customers — all of them, or those with access to one product
//! (which covers a course's students, a webinar's registrants and an
//! event's attendees, all sold as products) — by e-mail, SMS or to the
//! in-app inbox.
//!
//! A marketing mailing reaches only people whose marketing consent towards
//! the organizer is given (the offers capability records it; unsubscribing
//! revokes it) and carries a one-click unsubscribe link. An informational
//! one (about a service the person uses) respects the person's choice for
//! event messages. Who was left out is counted, never written to.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_notify::NewNotification;
use tabys_notify::category::Category;
use tabys_notify::deliveries::{self, Channel, NewDelivery};
use tabys_notify::settings::{self, SmsMode};
use tabys_store::Db;

/// Deliveries per sending job: a crash re-runs at most one such batch.
pub const BATCH: usize = 50;
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 5000;
/// Five SMS parts of Cyrillic text (70 characters each).
const MAX_SMS: usize = 335;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    Email,
    Sms,
    InApp,
}

impl Via {
    pub fn code(self) -> &'static str {
        match self {
            Self::Email => "email",
            Self::Sms => "sms",
            Self::InApp => "inapp",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::Email, Self::Sms, Self::InApp]
            .into_iter()
            .find(|v| v.code() == s)
    }
}

/// The compose form as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct MailingInput {
    pub channel: String,
    /// `all` or `product`.
    pub segment: String,
    pub product_id: String,
    /// `info` or `marketing`.
    pub purpose: String,
    pub subject: String,
    pub body: String,
}

/// A mailing, parsed.
#[derive(Debug, Clone)]
pub struct NewMailing {
    pub via: Via,
    pub product: Option<i64>,
    pub marketing: bool,
    pub subject: String,
    pub body: String,
}

impl MailingInput {
    pub fn parse(&self) -> Result<NewMailing> {
        let mut errors = Vec::new();
        let via = Via::parse(&self.channel).unwrap_or_else(|| {
            errors.push(FieldError {
                field: "channel",
                code: "invalid",
            });
            Via::Email
        });
        let product = match self.segment.as_str() {
            "all" => None,
            "product" => match self.product_id.trim().parse::<i64>() {
                Ok(p) if p > 0 => Some(p),
                _ => {
                    errors.push(FieldError {
                        field: "product_id",
                        code: "required",
                    });
                    None
                }
            },
            _ => {
                errors.push(FieldError {
                    field: "segment",
                    code: "invalid",
                });
                None
            }
        };
        let marketing = match self.purpose.as_str() {
            "marketing" => true,
            "info" => false,
            _ => {
                errors.push(FieldError {
                    field: "purpose",
                    code: "invalid",
                });
                false
            }
        };
        let subject = self.subject.trim().to_string();
        if subject.is_empty() {
            errors.push(FieldError {
                field: "subject",
                code: "required",
            });
        } else if subject.chars().count() > MAX_SUBJECT {
            errors.push(FieldError {
                field: "subject",
                code: "text-too-long",
            });
        }
        let body = self.body.trim().replace("\r\n", "\n");
        let limit = if via == Via::Sms { MAX_SMS } else { MAX_BODY };
        if body.is_empty() {
            errors.push(FieldError {
                field: "body",
                code: "required",
            });
        } else if body.chars().count() > limit {
            errors.push(FieldError {
                field: "body",
                code: "text-too-long",
            });
        }
        if !errors.is_empty() {
            return Err(Error::Invalid(errors));
        }
        Ok(NewMailing {
            via,
            product,
            marketing,
            subject,
            body,
        })
    }
}

/// A sent mailing with its delivery figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Mailing {
    pub id: i64,
    pub channel: String,
    pub segment: String,
    pub product_id: Option<i64>,
    pub subject: String,
    pub recipients: i64,
    /// Left out: no marketing consent, unsubscribed, e-mail switched off, no phone.
    pub skipped: i64,
    pub queued: i64,
    pub sent: i64,
    pub failed: i64,
    pub created_at: Timestamp,
}

/// Sends a mailing of the organizer; returns its id. Only the organizer's
/// customers are reached; a product must be the organizer's own.
pub async fn send(db: &Db, org: OrgId, author: UserId, m: NewMailing) -> Result<i64> {
    let org_settings = settings::get(db, org).await?;
    if m.via == Via::Sms {
        if org_settings.sms_mode == SmsMode::Off {
            return Err(Error::invalid("channel", "sms-off"));
        }
        if org_settings.sms_mode == SmsMode::Operator
            && tabys_billing::balances::is_suspended(
                db,
                tabys_billing::Book::OPERATOR,
                tabys_billing::Holder::Org(org),
            )
            .await?
        {
            return Err(Error::Conflict("account-suspended"));
        }
    }
    if let Some(p) = m.product {
        tabys_billing::products::get(db, org, p).await?;
    }
    let org_name = tabys_accounts::organizers::get(db, org)
        .await?
        .profile
        .legal_name;
    let customers = sqlx::query(
        "SELECT u.id, u.email FROM memberships m JOIN users u ON u.id = m.user_id
         WHERE m.org_id = $1 AND m.role = 'customer' AND u.status = 'active' ORDER BY u.id",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    let mut audience = Vec::new();
    for r in &customers {
        let user = UserId(r.try_get(0)?);
        let email: String = r.try_get(1)?;
        if let Some(p) = m.product
            && !tabys_billing::entitlements::has_access(db, org, user, p).await?
        {
            continue;
        }
        audience.push((user, email));
    }
    let (kind, category) = if m.marketing {
        ("mailing.marketing", Category::Marketing)
    } else {
        ("mailing.info", Category::Events)
    };
    let mut args = serde_json::Map::new();
    args.insert("org".into(), org_name.into());
    args.insert("subject".into(), m.subject.clone().into());
    args.insert("body".into(), m.body.clone().into());
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO notify_mailings (org_id, author_id, channel, segment, product_id, subject, body, recipients, skipped, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 0, 0, $8) RETURNING id",
    )
    .bind(org.0)
    .bind(author.0)
    .bind(m.via.code())
    .bind(if m.product.is_some() { "product" } else { "all" })
    .bind(m.product)
    .bind(&m.subject)
    .bind(&m.body)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let mailing: i64 = row.try_get(0)?;
    let (mut recipients, mut skipped) = (0i64, 0i64);
    let mut ids = Vec::new();
    for (user, email) in audience {
        if m.marketing && !tabys_notify::marketing_consent(&mut tx, user, Some(org)).await? {
            skipped += 1;
            continue;
        }
        let address = match m.via {
            Via::InApp => {
                tabys_notify::add_in_app(
                    &mut tx,
                    now,
                    &NewNotification {
                        user,
                        org: Some(org),
                        kind,
                        key: "notify-mailing",
                        args: args.clone(),
                    },
                )
                .await?;
                recipients += 1;
                continue;
            }
            Via::Email => {
                let ch = tabys_notify::prefs::channels_in(&mut tx, user, category).await?;
                if !ch.email {
                    skipped += 1;
                    continue;
                }
                email
            }
            Via::Sms => match tabys_notify::prefs::phone_in(&mut tx, user).await? {
                Some(p) => p,
                None => {
                    skipped += 1;
                    continue;
                }
            },
        };
        let channel = if m.via == Via::Sms {
            Channel::Sms
        } else {
            Channel::Email
        };
        ids.push(
            deliveries::insert(
                &mut tx,
                now,
                NewDelivery {
                    notification_id: None,
                    mailing_id: Some(mailing),
                    user: Some(user),
                    locale: None,
                    org: Some(org),
                    channel,
                    address,
                    kind: kind.to_string(),
                    category,
                    key: "notify-mailing".into(),
                    args: args.clone(),
                },
            )
            .await?,
        );
        recipients += 1;
    }
    for chunk in ids.chunks(BATCH) {
        deliveries::enqueue(&mut tx, now, Some(org), chunk).await?;
    }
    sqlx::query("UPDATE notify_mailings SET recipients = $1, skipped = $2 WHERE id = $3")
        .bind(recipients)
        .bind(skipped)
        .bind(mailing)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(mailing)
}

/// The organizer's mailings, newest first, with their figures.
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Mailing>> {
    let rows = sqlx::query(
        "SELECT m.id, m.channel, m.segment, m.product_id, m.subject, m.recipients, m.skipped, m.created_at,
            (SELECT COUNT(*) FROM notify_deliveries d WHERE d.mailing_id = m.id AND d.status IN ('queued', 'sending')),
            (SELECT COUNT(*) FROM notify_deliveries d WHERE d.mailing_id = m.id AND d.status = 'sent'),
            (SELECT COUNT(*) FROM notify_deliveries d WHERE d.mailing_id = m.id AND d.status IN ('failed', 'uncertain'))
         FROM notify_mailings m WHERE m.org_id = $1 ORDER BY m.id DESC LIMIT 100",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let channel: String = r.try_get(1)?;
            let recipients: i64 = r.try_get(5)?;
            let (queued, sent, failed): (i64, i64, i64) =
                (r.try_get(8)?, r.try_get(9)?, r.try_get(10)?);
            Ok(Mailing {
                id: r.try_get(0)?,
                // In-app messages are delivered on the spot.
                sent: if channel == "inapp" { recipients } else { sent },
                channel,
                segment: r.try_get(2)?,
                product_id: r.try_get(3)?,
                subject: r.try_get(4)?,
                recipients,
                skipped: r.try_get(6)?,
                queued,
                failed,
                created_at: Timestamp(r.try_get(7)?),
            })
        })
        .collect()
}
