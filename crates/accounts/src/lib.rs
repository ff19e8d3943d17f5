//! Accounts: people and how they sign in (password, sessions, login rate
//! limit, "someone else used my account"), organizers — the tenants — with
//! their legal profile, the roles people hold in an organizer, and the API
//! tokens an organizer issues.
//!
//! Every function that touches an organizer's data takes its `OrgId`, and
//! [`members::access`] is the one place that decides whether a person may act
//! in an organizer. This crate knows nothing of HTTP.

pub mod alerts;
pub mod members;
pub mod organizers;
pub mod password;
pub mod sessions;
pub mod tokens;
pub mod users;

pub use members::Role;
pub use users::User;
