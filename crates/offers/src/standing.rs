//! Where a person stands with each offer they accepted: the versions they
//! accepted, a new version announced and not yet in effect (the time to
//! object), and a version in effect that they objected to. This is what
//! "My documents" shows.

use tabys_accounts::organizers;
use tabys_core::ids::UserId;
use tabys_core::{Error, Result};
use tabys_store::Db;

use crate::acceptance::{self, Acceptance};
use crate::objection::{self, Objection};
use crate::offer::{self, Offer, Publisher};
use crate::version::{self, Version};

#[derive(Debug, Clone)]
pub struct Standing {
    pub offer: Offer,
    pub publisher_name: String,
    /// The organizer's public address; `None` for the platform.
    pub publisher_slug: Option<String>,
    /// What the person accepted, newest first, with the version accepted.
    pub accepted: Vec<(Acceptance, Version)>,
    /// A newer version than any they accepted, announced and not yet in effect.
    pub upcoming: Option<Version>,
    /// Their objection to `upcoming`, if they sent one.
    pub objection: Option<Objection>,
    /// A version now in effect that they objected to and did not accept:
    /// the terms changed, and the organizer decides what follows.
    pub objected_in_effect: Option<Version>,
}

/// Every offer the person accepted, platform first, then by organizer.
pub async fn of_user(db: &Db, user: UserId) -> Result<Vec<Standing>> {
    let now = db.now();
    let acceptances = acceptance::of_user(db, user).await?;
    let objections = objection::of_user(db, user, None).await?;
    let mut conn = db.read().acquire().await?;
    let mut out: Vec<Standing> = Vec::new();
    for a in acceptances {
        let v = version::by_id(&mut conn, a.version_id)
            .await?
            .ok_or(Error::NotFound)?;
        if let Some(s) = out.iter_mut().find(|s| s.offer.id == a.offer_id) {
            s.accepted.push((a, v));
            continue;
        }
        let offer = offer::by_id(&mut conn, a.offer_id).await?;
        let (publisher_name, publisher_slug) = match offer.publisher() {
            Publisher::Platform => (offer::PLATFORM_NAME.to_string(), None),
            Publisher::Org(o) => {
                let org = organizers::get(db, o).await?;
                (org.profile.legal_name, Some(org.profile.slug))
            }
        };
        out.push(Standing {
            offer,
            publisher_name,
            publisher_slug,
            accepted: vec![(a, v)],
            upcoming: None,
            objection: None,
            objected_in_effect: None,
        });
    }
    for s in &mut out {
        let newest = s.accepted.iter().map(|(_, v)| v.number).max().unwrap_or(0);
        s.upcoming = version::upcoming_in(&mut conn, s.offer.id, now)
            .await?
            .filter(|v| v.number > newest);
        if let Some(up) = &s.upcoming {
            s.objection = objections.iter().find(|o| o.version_id == up.id).cloned();
        }
        if let Some(current) = version::current_in(&mut conn, s.offer.id, now).await?
            && current.number > newest
        {
            let objected = objections.iter().any(|o| {
                o.offer_id == s.offer.id
                    && s.accepted.iter().all(|(_, v)| v.id != o.version_id)
                    && o.version_id != s.upcoming.as_ref().map_or(0, |u| u.id)
            });
            if objected {
                s.objected_in_effect = Some(current);
            }
        }
    }
    out.sort_by_key(|s| (s.offer.org_id.map_or(0, |o| o.0), s.offer.id));
    Ok(out)
}
