//! iCalendar (RFC 5545) for bookings and tickets: one `.ics` per booking and
//! a feed per member behind a secret link. Written by hand: a handful of
//! properties, text escaping (§3.3.11) and line folding at 75 octets
//! (§3.1), with CRLF line ends.

use sqlx::Row;
use tabys_core::ids::UserId;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tabys_store::token::{random_token, token_hash};

/// One calendar entry.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Globally unique and stable: `booking-17@host`.
    pub uid: String,
    pub starts_at: Timestamp,
    pub ends_at: Timestamp,
    pub summary: String,
    pub location: String,
    pub description: String,
    pub cancelled: bool,
}

fn utc(t: Timestamp) -> String {
    t.to_jiff().strftime("%Y%m%dT%H%M%SZ").to_string()
}

/// TEXT values escape backslash, semicolon, comma and line breaks.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {}
            c => out.push(c),
        }
    }
    out
}

/// Folds a content line so that no line is longer than 75 octets, never
/// splitting a UTF-8 character.
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if width + len > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += len;
    }
    out.push_str("\r\n");
}

/// A whole calendar with the given entries.
pub fn calendar(name: &str, entries: &[Entry], now: Timestamp) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Tabys//Bookings//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
    ] {
        fold(l, &mut out);
    }
    fold(&format!("X-WR-CALNAME:{}", escape(name)), &mut out);
    for e in entries {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:{}", e.uid), &mut out);
        fold(&format!("DTSTAMP:{}", utc(now)), &mut out);
        fold(&format!("DTSTART:{}", utc(e.starts_at)), &mut out);
        fold(&format!("DTEND:{}", utc(e.ends_at)), &mut out);
        fold(&format!("SUMMARY:{}", escape(&e.summary)), &mut out);
        if !e.location.is_empty() {
            fold(&format!("LOCATION:{}", escape(&e.location)), &mut out);
        }
        if !e.description.is_empty() {
            fold(&format!("DESCRIPTION:{}", escape(&e.description)), &mut out);
        }
        fold(
            if e.cancelled {
                "STATUS:CANCELLED"
            } else {
                "STATUS:CONFIRMED"
            },
            &mut out,
        );
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

/// Makes a new secret feed link for the member (the old one stops working)
/// and returns its token, shown once.
pub async fn new_feed_token(db: &Db, user: UserId) -> Result<String> {
    let token = random_token();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO booking_calendar_links (user_id, token_hash, created_at) VALUES ($1, $2, $3)
         ON CONFLICT (user_id) DO UPDATE SET token_hash = $2, created_at = $3",
    )
    .bind(user.0)
    .bind(token_hash(&token))
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(token)
}

pub async fn has_feed(db: &Db, user: UserId) -> Result<bool> {
    Ok(
        sqlx::query("SELECT 1 FROM booking_calendar_links WHERE user_id = $1")
            .bind(user.0)
            .fetch_optional(db.read())
            .await?
            .is_some(),
    )
}

/// Whose feed a token opens.
pub async fn feed_owner(db: &Db, token: &str) -> Result<UserId> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(Error::NotFound);
    }
    let row = sqlx::query("SELECT user_id FROM booking_calendar_links WHERE token_hash = $1")
        .bind(token_hash(token))
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    Ok(UserId(row.try_get(0)?))
}

/// The member's bookings and tickets that are on, as calendar entries.
pub async fn member_entries(db: &Db, user: UserId, host: &str) -> Result<Vec<Entry>> {
    let mut out = Vec::new();
    for b in crate::bookings::of_user(db, user).await? {
        if b.status == "confirmed" || b.status == "cancelled" {
            out.push(booking_entry(&b, host));
        }
    }
    for t in crate::events::tickets_of_user(db, user).await? {
        if t.status == "confirmed" || t.status == "cancelled" {
            out.push(Entry {
                uid: format!("ticket-{}@{host}", t.id),
                starts_at: Timestamp(t.event_starts_at),
                ends_at: Timestamp(t.event_ends_at),
                summary: t.event_title.clone(),
                location: String::new(),
                description: t.type_title.clone(),
                cancelled: t.status == "cancelled",
            });
        }
    }
    Ok(out)
}

pub fn booking_entry(b: &crate::bookings::Booking, host: &str) -> Entry {
    Entry {
        uid: format!("booking-{}@{host}", b.id),
        starts_at: Timestamp(b.starts_at),
        ends_at: Timestamp(b.ends_at),
        summary: b.resource_title.clone(),
        location: b.org_name.clone(),
        description: String::new(),
        cancelled: b.status == "cancelled",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calendars_escape_fold_and_end_lines_with_crlf() {
        let e = Entry {
            uid: "booking-1@tabys.kz".into(),
            starts_at: Timestamp(1_772_442_000_000),
            ends_at: Timestamp(1_772_445_600_000),
            summary: "Переговорная; большая, с проектором\nвторой этаж".into(),
            location: "Exintra".into(),
            description: "ә".repeat(60),
            cancelled: false,
        };
        let ics = calendar("Tabys", &[e], Timestamp(1_772_442_000_000));
        assert!(ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("DTSTART:20260302T090000Z\r\n"));
        for line in ics.split("\r\n") {
            assert!(line.len() <= 75, "{line:?} is {} octets", line.len());
            assert!(!line.contains('\n'));
        }
        // Unfolding gives back the whole description.
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:Переговорная\\; большая\\, с проектором\\nвторой этаж"));
        assert!(unfolded.contains(&format!("DESCRIPTION:{}", "ә".repeat(60))));
    }
}
