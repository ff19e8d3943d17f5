//! Coworking and events (EX-1..EX-5): what a coworking's members book and
//! the community they share.
//!
//! It owns bookable resources (hot desks in zones with seats, fixed desks,
//! meeting rooms, private offices) with opening hours, closed days and
//! prices per unit; bookings that hold their hours without ever
//! overbooking, on SQLite and PostgreSQL; events with ticket types,
//! registration questions, a waiting list and QR check-in; memberships
//! that let members book without paying (EX-2); cancellation with the
//! refund the policy gives (EX §6); calendar files and feeds; and the
//! community feed with reports, removal and blocking (EX §7).
//!
//! What it must not do: move money or decide refunds itself — it sells
//! through `tabys-billing` (products of kind `workplace` and `event`,
//! orders, `refund`) — or speak HTTP.

pub mod bookings;
pub mod community;
pub mod events;
pub mod ical;
pub mod jobs;
pub mod resources;

pub use jobs::register;
