//! Webinar rooms and autowebinars (IS-1..IS-3).
//!
//! It owns rooms (limited by the organizer's plan), their moderators, the
//! organizer's word filters, banners, dated webinars and autowebinar
//! sessions with their registrations and reminders, chat messages, bans and
//! mutes, recorded scenarios (edited, exported and imported as CSV) and
//! their playback, autowebinar schedules, participants' activity and the
//! analytics built on it; what a session's player plays (the room's source
//! or an autowebinar's recording, uploaded or by address); and the in-memory [`hub`] that runs one task per
//! open session and fans chat, banners and replayed scenario events out to
//! every participant.
//!
//! What it must not do: speak HTTP or WebSocket (the web crate adapts a
//! socket to a [`hub::Connection`]), sell around billing (paid rooms ask
//! `entitlements::has_access`; a banner's purchase is an ordinary order),
//! or let the database slow the fan-out (messages are written by a
//! separate task in batches).

pub mod activity;
pub mod autowebinars;
pub mod banners;
pub mod chat;
pub mod filter;
pub mod hub;
pub mod jobs;
pub mod moderation;
pub mod player;
pub mod rooms;
pub mod scenario;
pub mod webinars;

use tabys_core::{Error, Result};

/// Text typed by a person: trimmed, not empty, at most `max` characters,
/// no control characters other than line breaks.
pub(crate) fn text(raw: &str, field: &'static str, max: usize) -> Result<String> {
    let t = raw.trim();
    if t.is_empty() {
        return Err(Error::invalid(field, "required"));
    }
    if t.chars().count() > max {
        return Err(Error::invalid(field, "text-too-long"));
    }
    if t.chars().any(|c| c.is_control() && c != '\n' && c != '\r') {
        return Err(Error::invalid(field, "live-text-format"));
    }
    Ok(t.to_string())
}

/// An optional web address: empty, or `http(s)://…` without spaces, or a
/// path on this site (`/…`).
pub(crate) fn url(raw: &str, field: &'static str, required: bool) -> Result<String> {
    let u = raw.trim();
    if u.is_empty() {
        return if required {
            Err(Error::invalid(field, "required"))
        } else {
            Ok(String::new())
        };
    }
    let ok = u.len() <= 2000
        && !u
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '<')
        && (u.starts_with("https://")
            || u.starts_with("http://")
            || (u.starts_with('/') && !u.starts_with("//")));
    if ok {
        Ok(u.to_string())
    } else {
        Err(Error::invalid(field, "live-url-format"))
    }
}

/// A whole number within bounds.
pub(crate) fn number(raw: &str, field: &'static str, min: i64, max: i64) -> Result<i64> {
    let n: i64 = raw
        .trim()
        .parse()
        .map_err(|_| Error::invalid(field, "live-number-format"))?;
    if n < min || n > max {
        return Err(Error::invalid(field, "number-range"));
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_web_addresses_or_site_paths() {
        assert!(url("https://youtu.be/x", "u", true).is_ok());
        assert!(url("/files/1", "u", true).is_ok());
        assert!(url("javascript:alert(1)", "u", true).is_err());
        assert!(url("//evil.example/x", "u", true).is_err());
        assert!(url("", "u", true).is_err());
        assert_eq!(url(" ", "u", false).ok(), Some(String::new()));
    }

    #[test]
    fn texts_are_bounded() {
        assert!(text("  ", "t", 5).is_err());
        assert!(text("abcdef", "t", 5).is_err());
        assert_eq!(text(" ab ", "t", 5).ok(), Some("ab".into()));
    }
}
