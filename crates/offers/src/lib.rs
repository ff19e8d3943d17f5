//! Offers and personal data (PL-4, PL-5, CP-8).
//!
//! Owns: offers and their versions (texts in Russian and Kazakh, English
//! optional, an effective time, a SHA-256 over a canonical form), drafts,
//! the evidence of every acceptance and objection, consents to
//! personal-data processing, marketing and "name us among your clients",
//! a person's data rights (export, correction, erasure after retention),
//! and the log of staff looking at customers' personal data.
//!
//! Rules it keeps: a published version never changes (a change is a new
//! version); acceptances, objections, consent events and access-log rows
//! are insert-only and each is written to the audit chain in the same
//! transaction; sign-up with acceptance is one transaction. Every query
//! about an organizer's data takes its [`Publisher`].
//!
//! It must not: know HTTP (no axum), translate texts (callers pass the
//! exact wording they showed), or move money — the money capability calls
//! [`acceptance::accept_by_payment`] inside its own transaction.

pub mod acceptance;
pub mod access;
pub mod consent;
pub mod objection;
pub mod offer;
pub mod rights;
pub mod signup;
pub mod standing;
pub mod verify;
pub mod version;

pub use acceptance::{Acceptance, Evidence, Method};
pub use offer::{Offer, OfferKind, Publisher};
pub use version::{Texts, Version};

/// Formats an instant as Kazakhstan's civil time, `2026-03-04 14:00`, for
/// notification arguments that must read the same in every language.
pub fn almaty_minutes(t: tabys_core::Timestamp) -> String {
    t.to_jiff()
        .to_zoned(tabys_core::calendar::almaty())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}
