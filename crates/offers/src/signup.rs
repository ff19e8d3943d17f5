//! Signing up, and joining an organizer when already signed in, with the
//! acceptance of the sign-up offers and consent to processing of personal
//! data: all of it in one transaction, so either the account, the customer
//! role, every acceptance, the consents and the session exist together, or
//! nothing does.
//!
//! Whenever the form shows offers it also shows the consent box, and both
//! must be ticked. An installation where neither the operator nor the
//! organizer has published a sign-up offer shows neither box: there is no
//! policy for the purposes to point to yet.

use tabys_accounts::members;
use tabys_accounts::organizers::Organizer;
use tabys_accounts::sessions;
use tabys_accounts::users::{self, NewUser, User};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::{Db, Tx};

use crate::acceptance::{self, Evidence, Method, Presented};
use crate::consent::{self, ConsentKind};
use crate::offer::Publisher;
use crate::version::Version;

/// A sign-up as the form sent it, already parsed at the edge.
#[derive(Debug, Clone)]
pub struct SignUp {
    pub user: NewUser,
    /// The organizer the person signs up with, if any.
    pub org: Option<OrgId>,
    /// The versions the form showed.
    pub presented: Vec<Presented>,
    /// The offers box was ticked.
    pub accepted: bool,
    /// The personal-data box was ticked.
    pub consent: bool,
    /// Origin, language and the exact words of the offers box.
    pub evidence: Evidence,
}

/// Checks the boxes; reports both problems at once.
fn boxes(required: &[Version], accepted: bool, consent: bool) -> Result<()> {
    if required.is_empty() {
        return Ok(());
    }
    let mut errors = Vec::new();
    if !accepted {
        errors.push(FieldError {
            field: "accept",
            code: "offer-acceptance-required",
        });
    }
    if !consent {
        errors.push(FieldError {
            field: "consent",
            code: "consent-required",
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

/// Records the acceptances and the personal-data consents of a sign-up or a join.
async fn accept(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    user: UserId,
    required: &[Version],
    consent_to: &[Publisher],
    ev: &Evidence,
) -> Result<()> {
    for v in required {
        acceptance::record(tx, db.dialect(), now, user, v, (Method::Checkbox, ""), ev).await?;
    }
    if required.is_empty() {
        return Ok(());
    }
    let locale = ev.locale.unwrap_or(Locale::Ru);
    for p in consent_to {
        let settings = consent::settings_in(tx, *p).await?;
        let purposes = consent::purposes_text(&settings, ConsentKind::PersonalData, locale);
        let consent_ev = Evidence {
            wording: String::new(),
            ..ev.clone()
        };
        consent::record(
            tx,
            db.dialect(),
            now,
            (user, *p),
            (ConsentKind::PersonalData, true),
            &purposes,
            &consent_ev,
        )
        .await?;
    }
    Ok(())
}

/// Creates the account, its customer role with the organizer, the
/// acceptances of every sign-up offer shown, the consents and the first
/// session, in one transaction. Returns the person and the session token.
pub async fn sign_up(db: &Db, s: SignUp) -> Result<(User, String)> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let required: Vec<Version> = acceptance::for_signup_in(&mut tx, s.org, now)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    acceptance::check_presented(&mut tx, None, &s.presented, &required).await?;
    boxes(&required, s.accepted, s.consent)?;
    let user = users::create(&mut tx, db, s.user, false).await?;
    if let Some(org) = s.org {
        members::join_as_customer(&mut tx, db, org, user.id).await?;
    }
    let mut consent_to = vec![Publisher::Platform];
    consent_to.extend(s.org.map(Publisher::Org));
    accept(
        &mut tx,
        db,
        now,
        user.id,
        &required,
        &consent_to,
        &s.evidence,
    )
    .await?;
    let token = sessions::open(&mut tx, db, user.id, &s.evidence.origin).await?;
    tx.commit().await?;
    Ok((user, token))
}

/// A signed-in person joins an organizer as a customer.
#[derive(Debug, Clone)]
pub struct Join {
    pub presented: Vec<Presented>,
    pub accepted: bool,
    pub consent: bool,
    /// The "I am an adult" box (EX §3), for organizers that ask.
    pub adult: bool,
    pub evidence: Evidence,
}

/// The organizer's own sign-up offers, accepted by the joining person.
pub async fn join_offers(db: &Db, org: OrgId) -> Result<Vec<Version>> {
    let mut conn = db.read().acquire().await?;
    let list =
        acceptance::current_by_method(&mut conn, Publisher::Org(org), Method::Checkbox, db.now())
            .await?;
    Ok(list.into_iter().map(|(_, v)| v).collect())
}

/// Makes a signed-in person a customer of the organizer, accepting its
/// sign-up offers and consenting to its purposes, in one transaction.
pub async fn join(db: &Db, org: &Organizer, user: &User, j: Join) -> Result<()> {
    let now = db.now();
    let mut errors = Vec::new();
    if org.profile.requires_adult && !j.adult && user.adult_confirmed_at.is_none() {
        errors.push(FieldError {
            field: "adult",
            code: "adult-required",
        });
    }
    let mut tx = db.begin().await?;
    let required: Vec<Version> =
        acceptance::current_by_method(&mut tx, Publisher::Org(org.id), Method::Checkbox, now)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
    acceptance::check_presented(&mut tx, Some(user.id), &j.presented, &required).await?;
    if let Err(Error::Invalid(mut f)) = boxes(&required, j.accepted, j.consent) {
        errors.append(&mut f);
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    if org.profile.requires_adult {
        users::confirm_adult(&mut tx, db, user.id).await?;
    }
    if !members::join_as_customer(&mut tx, db, org.id, user.id).await? {
        return Err(Error::Conflict("already-member"));
    }
    accept(
        &mut tx,
        db,
        now,
        user.id,
        &required,
        &[Publisher::Org(org.id)],
        &j.evidence,
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
