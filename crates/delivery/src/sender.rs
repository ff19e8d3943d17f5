//! The worker side: the `notify.send` job takes its deliveries one by one
//! and sends each at most once (see `tabys_notify::deliveries` for the
//! states). The exact guarantee:
//!
//! * A delivery is marked `sending` (committed) before the server is
//!   contacted and `sent` (committed) after it accepted the message.
//! * A failure the worker observes — SMTP refusal, timeout, dropped
//!   connection, an SMSC error answer — is recorded with its text and the
//!   delivery is retried with the job's backoff, up to `MAX_ATTEMPTS`.
//! * A worker that dies between the two commits leaves `sending`. An SMS
//!   is then looked up at SMSC by our id and sent only if SMSC never got
//!   it. An e-mail cannot be looked up, so it becomes `uncertain` and is
//!   not sent again: at most one e-mail per crashed worker may be lost
//!   (shown to the operator and the organizer), none is ever duplicated.
//! * The remaining window, as in all of SMTP (RFC 1047): the server stored
//!   the message but its final reply never reached us (the connection
//!   dropped right after the last byte). We then retry, and that message
//!   may arrive twice — with the same Message-ID, which mail clients use
//!   to fold duplicates.
//!
//! An e-mail's attachments name stored files; their bytes are read at
//! sending time and checked against the SHA-256 recorded when the file was
//! stored, so every attempt sends the same bytes. A file that is gone (or
//! changed, or too large) fails the delivery at once with the reason, where
//! the operator and the organizer see it; retrying would not bring it back.
//!
//! An SMS sent through the operator's account is charged to the
//! organizer's balance after it is recorded as sent, under the key
//! `sms:<delivery>`, so a crash between the two is repaired by the next
//! run without charging twice.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use lettre::{AsyncSmtpTransport, Tokio1Executor};
use sha2::{Digest, Sha256};
use tabys_billing::{Book, Holder, balances};
use tabys_core::{Error, Result};
use tabys_files::Files;
use tabys_notify::deliveries::{self, Channel, Claim, Delivery, Receipt};
use tabys_notify::settings::{self, SmsMode};
use tabys_store::Db;
use tabys_store::jobs::{Handler, Job, Registry};

use crate::config::NotifyConfig;
use crate::smsc::{self, Account, SendOutcome, StatusOutcome};
use crate::{email, render};

type Fut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// The most one e-mail's attachments may weigh together: what common mail
/// servers accept once base64 has grown them by a third.
pub const MAX_ATTACHMENTS_BYTES: i64 = 15 * 1024 * 1024;

struct SendJob {
    cfg: Arc<NotifyConfig>,
    smsc: smsc::Client,
    files: Files,
}

/// Registers the sending job with the worker; `files` is where attachments are read.
pub fn register(registry: &mut Registry, cfg: Arc<NotifyConfig>, files: Files) {
    let smsc = smsc::Client::new(cfg.smsc.timeout_ms);
    registry.register(deliveries::JOB_KIND, SendJob { cfg, smsc, files });
}

impl Handler for SendJob {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> Fut<'a> {
        Box::pin(self.run_job(db, job))
    }
}

/// Whether a delivery is finished or waits for the next run.
#[derive(Debug, PartialEq, Eq)]
enum Done {
    Finished,
    Later,
}

impl SendJob {
    async fn run_job(&self, db: &Db, job: &Job) -> Result<()> {
        let ids: Vec<i64> = job.payload["deliveries"]
            .as_array()
            .map(|a| a.iter().filter_map(serde_json::Value::as_i64).collect())
            .unwrap_or_default();
        let mut smtp = None;
        let mut later = 0;
        for id in ids {
            if self.deliver(db, id, &mut smtp).await? == Done::Later {
                later += 1;
            }
        }
        if later > 0 {
            // The job runs again after its backoff; finished deliveries are skipped then.
            Err(Error::Internal(format!(
                "{later} deliveries will be retried"
            )))
        } else {
            Ok(())
        }
    }

    async fn deliver(
        &self,
        db: &Db,
        id: i64,
        smtp: &mut Option<AsyncSmtpTransport<Tokio1Executor>>,
    ) -> Result<Done> {
        let d = match deliveries::claim(db, id).await? {
            Claim::Finished(d) => {
                if d.status == "sent" {
                    self.charge(db, &d).await?;
                }
                return Ok(Done::Finished);
            }
            Claim::Interrupted(d) => match d.channel {
                Channel::Email => {
                    deliveries::resolve_interrupted(
                        db,
                        id,
                        "uncertain",
                        "sending was interrupted; not sent again so that it cannot arrive twice",
                    )
                    .await?;
                    return Ok(Done::Finished);
                }
                Channel::Sms => match self.recover_sms(db, &d).await? {
                    Some(done) => return Ok(done),
                    None => match deliveries::claim(db, id).await? {
                        Claim::Send(d) => d,
                        _ => return Ok(Done::Later),
                    },
                },
            },
            Claim::Send(d) => d,
        };
        match d.channel {
            Channel::Email => self.send_email(db, &d, smtp).await,
            Channel::Sms => self.send_sms(db, &d).await,
        }
    }

    async fn send_email(
        &self,
        db: &Db,
        d: &Delivery,
        smtp: &mut Option<AsyncSmtpTransport<Tokio1Executor>>,
    ) -> Result<Done> {
        let public = self.cfg.public_url.trim_end_matches('/');
        let links = render::Links {
            preferences: d
                .user_id
                .map(|_| format!("{public}/cabinet/notifications/settings")),
            unsubscribe: d
                .unsubscribe_token
                .as_ref()
                .map(|t| format!("{public}/unsubscribe/{t}")),
        };
        let args = render::absolute_links(&d.args, public);
        let mail = match render::email(d.locale, &d.key, &args, &links) {
            Ok(m) => m,
            Err(e) => {
                deliveries::mark_failed(db, d.id, &format!("template: {e}"), false).await?;
                return Ok(Done::Finished);
            }
        };
        let (sender_name, reply_to) = match d.org_id {
            Some(org) => {
                let s = settings::get(db, org).await?;
                let name = if s.sender_name.is_empty() {
                    tabys_accounts::organizers::get(db, org)
                        .await?
                        .profile
                        .legal_name
                } else {
                    s.sender_name
                };
                (name, s.reply_to)
            }
            None => (String::new(), String::new()),
        };
        let env = email::Envelope {
            to: &d.address,
            sender_name: &sender_name,
            reply_to: Some(reply_to.as_str()),
            message_id: &d.message_id,
            date: db.now(),
            unsubscribe: links.unsubscribe.as_deref(),
        };
        let files = match self.attachments(db, d.id).await? {
            Ok(f) => f,
            Err(reason) => {
                tracing::warn!(delivery = d.id, %reason, "attachment unavailable");
                deliveries::mark_failed(db, d.id, &reason, false).await?;
                return Ok(Done::Finished);
            }
        };
        let sent = match email::build(&self.cfg.smtp, &env, &mail, files) {
            Ok(message) => {
                if smtp.is_none() {
                    *smtp = email::transport(&self.cfg.smtp).ok();
                }
                match smtp.as_ref() {
                    Some(t) => email::send(&self.cfg.smtp, t, message).await,
                    None => email::transport(&self.cfg.smtp).map(|_| String::new()),
                }
            }
            Err(e) => Err(e),
        };
        match sent {
            Ok(answer) => {
                deliveries::mark_sent(
                    db,
                    d.id,
                    &Receipt {
                        provider_ref: Some(answer),
                        ..Receipt::default()
                    },
                )
                .await?;
                Ok(Done::Finished)
            }
            Err(e) => {
                tracing::warn!(delivery = d.id, error = %e, "e-mail not sent");
                let retry = deliveries::mark_failed(db, d.id, &e.to_string(), true).await?;
                Ok(if retry { Done::Later } else { Done::Finished })
            }
        }
    }

    /// The files a delivery carries, read whole; `Err(reason)` when one
    /// cannot be sent (gone, changed since it was stored, too large).
    async fn attachments(
        &self,
        db: &Db,
        delivery: i64,
    ) -> Result<Result<Vec<email::File>, String>> {
        let mut out = Vec::new();
        let mut total = 0;
        for a in deliveries::attachments(db, delivery).await? {
            let file = match tabys_files::get(db, a.org, a.file_id).await {
                Ok(f) => f,
                Err(Error::NotFound) => {
                    return Ok(Err(format!(
                        "attachment {}: stored file {} no longer exists",
                        a.name, a.file_id
                    )));
                }
                Err(e) => return Err(e),
            };
            total += file.size;
            let bytes = match self
                .files
                .read_all(&file, MAX_ATTACHMENTS_BYTES.unsigned_abs())
                .await
            {
                Ok(b) => b,
                Err(Error::NotFound) => {
                    return Ok(Err(format!(
                        "attachment {}: the bytes of stored file {} are missing",
                        a.name, a.file_id
                    )));
                }
                Err(Error::Invalid(_)) => {
                    return Ok(Err(format!(
                        "attachment {}: larger than {MAX_ATTACHMENTS_BYTES} bytes",
                        a.name
                    )));
                }
                Err(e) => return Err(e),
            };
            if hex::encode(Sha256::digest(&bytes)) != file.sha256 {
                return Ok(Err(format!(
                    "attachment {}: stored file {} changed since it was stored",
                    a.name, a.file_id
                )));
            }
            if total > MAX_ATTACHMENTS_BYTES {
                return Ok(Err(format!(
                    "attachments larger than {MAX_ATTACHMENTS_BYTES} bytes together"
                )));
            }
            out.push(email::File {
                name: a.name,
                content_type: a.content_type,
                bytes,
            });
        }
        Ok(Ok(out))
    }

    /// The SMSC account a delivery goes through, and whether the organizer
    /// is charged for it; `Err(text)` when it cannot go at all.
    async fn sms_account(&self, db: &Db, d: &Delivery) -> Result<Result<(Account, bool), String>> {
        let Some(org) = d.org_id else {
            return Ok(Err("SMS are sent only for an organizer".into()));
        };
        let s = settings::get(db, org).await?;
        Ok(match s.sms_mode {
            SmsMode::Off => Err("the organizer has switched SMS off".into()),
            SmsMode::Own => Ok((
                Account {
                    url: self.cfg.smsc.url.clone(),
                    login: s.sms_login,
                    password: s.sms_password,
                    sender: s.sms_sender,
                },
                false,
            )),
            SmsMode::Operator => {
                if balances::is_suspended(db, Book::OPERATOR, Holder::Org(org)).await? {
                    Err(
                        "the organizer's account is suspended for an unpaid balance (AT 3.2.3)"
                            .into(),
                    )
                } else {
                    let sender = if s.sms_sender.is_empty() {
                        self.cfg.smsc.sender.clone()
                    } else {
                        s.sms_sender
                    };
                    Ok((
                        Account {
                            url: self.cfg.smsc.url.clone(),
                            login: self.cfg.smsc.login.clone(),
                            password: self.cfg.smsc.password.clone(),
                            sender,
                        },
                        true,
                    ))
                }
            }
        })
    }

    async fn send_sms(&self, db: &Db, d: &Delivery) -> Result<Done> {
        let (account, charged) = match self.sms_account(db, d).await? {
            Ok(a) => a,
            Err(text) => {
                deliveries::mark_failed(db, d.id, &text, false).await?;
                return Ok(Done::Finished);
            }
        };
        let text = match render::sms(d.locale, &d.key, &d.args) {
            Ok(t) => t,
            Err(e) => {
                deliveries::mark_failed(db, d.id, &format!("template: {e}"), false).await?;
                return Ok(Done::Finished);
            }
        };
        match self.smsc.send(&account, &d.address, &text, d.id).await {
            SendOutcome::Sent {
                id,
                parts,
                cost_micro,
            } => {
                self.record_sms(db, d, format!("{id} ({parts})"), cost_micro, charged)
                    .await?;
                Ok(Done::Finished)
            }
            SendOutcome::Refused { code, text, retry } => {
                let again =
                    deliveries::mark_failed(db, d.id, &format!("SMSC error {code}: {text}"), retry)
                        .await?;
                Ok(if again { Done::Later } else { Done::Finished })
            }
            SendOutcome::Unreachable(e) => {
                // The request may have reached SMSC: stay `sending`, so the
                // next run asks SMSC by our id before sending again.
                tracing::warn!(delivery = d.id, error = %e, "SMSC did not answer");
                Ok(Done::Later)
            }
        }
    }

    async fn record_sms(
        &self,
        db: &Db,
        d: &Delivery,
        reference: String,
        cost_micro: i128,
        charged: bool,
    ) -> Result<()> {
        deliveries::mark_sent(
            db,
            d.id,
            &Receipt {
                provider_ref: Some(reference),
                cost: Some(smsc::cost_tiyn(cost_micro)),
                charge: charged.then(|| smsc::charge_tiyn(cost_micro)),
            },
        )
        .await?;
        let d = deliveries::get(db, d.id).await?;
        self.charge(db, &d).await
    }

    /// After an interrupted SMS: `Some` when settled, `None` when it must be sent now.
    async fn recover_sms(&self, db: &Db, d: &Delivery) -> Result<Option<Done>> {
        let (account, charged) = match self.sms_account(db, d).await? {
            Ok(a) => a,
            Err(text) => {
                deliveries::resolve_interrupted(db, d.id, "failed", &text).await?;
                return Ok(Some(Done::Finished));
            }
        };
        match self.smsc.status(&account, &d.address, d.id).await {
            StatusOutcome::Known { cost_micro, .. } => {
                self.record_sms(db, d, format!("{} (found)", d.id), cost_micro, charged)
                    .await?;
                Ok(Some(Done::Finished))
            }
            StatusOutcome::NotFound => {
                deliveries::resolve_interrupted(
                    db,
                    d.id,
                    "queued",
                    "SMSC never got it; sending again",
                )
                .await?;
                Ok(None)
            }
            StatusOutcome::Unknown(e) => {
                tracing::warn!(delivery = d.id, error = %e, "SMSC status unknown");
                Ok(Some(Done::Later))
            }
        }
    }

    /// Charges the organizer for an SMS through the operator's account,
    /// once: the ledger's idempotency key is the delivery.
    async fn charge(&self, db: &Db, d: &Delivery) -> Result<()> {
        let (Some(charge), Some(org), None) = (d.charge, d.org_id, d.charged_at) else {
            return Ok(());
        };
        if charge.is_positive() {
            let now = db.now();
            let mut tx = db.begin().await?;
            let w = balances::wallet(&mut tx, Book::OPERATOR, Holder::Org(org), now).await?;
            tx.commit().await?;
            balances::charge_extras(
                db,
                &w,
                charge,
                format!("sms:{}", d.id),
                format!(
                    "SMS {} (provider {} + 5 %)",
                    d.address,
                    d.cost.map(|c| c.tiyn()).unwrap_or(0)
                ),
            )
            .await?;
        }
        deliveries::mark_charged(db, d.id).await
    }
}
