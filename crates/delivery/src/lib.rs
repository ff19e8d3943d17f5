//! Sending notifications out of the app (PL-7): the worker that renders
//! each delivery recorded by `tabys-notify` in the recipient's language
//! and sends it — e-mail over SMTP, SMS through SMSC.kz's HTTP API charged
//! to the organizer at the provider's price + 5 % when it uses the
//! operator's account (AT 4.6) — and mailings to segments of an
//! organizer's customers.
//!
//! It must not send anything outside a job (the outbox keeps sends and
//! business changes together), nor send one delivery twice.

pub mod config;
pub mod email;
pub mod mailings;
pub mod render;
pub mod sender;
pub mod smsc;
pub mod templates;

pub use config::NotifyConfig;
