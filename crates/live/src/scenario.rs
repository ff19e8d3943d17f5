//! Scenarios (IS 2.2.1.1): from the moment a room opens, every chat
//! message, banner shown or hidden, pin and deletion is recorded as
//! (offset in ms, event). After the webinar the organizer edits the
//! scenario — changes a text or an author, deletes, adds, moves — and
//! exports or imports it as CSV. An autowebinar replays one.

use std::collections::HashSet;

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Db, Tx};

/// What happened at a moment of a scenario.
pub const KINDS: [&str; 6] = [
    "chat",
    "banner_show",
    "banner_hide",
    "pin",
    "unpin",
    "delete",
];

/// The longest scenario: a day.
pub const MAX_OFFSET_MS: i64 = 86_400_000;
/// Rows an imported file may hold.
pub const MAX_ROWS: usize = 20_000;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Scenario {
    pub id: i64,
    pub org_id: OrgId,
    pub room_id: i64,
    pub title: String,
    /// The live webinar it was recorded in.
    pub source_webinar_id: Option<i64>,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Event {
    pub id: i64,
    pub offset_ms: i64,
    /// One of [`KINDS`].
    pub kind: String,
    /// The name shown with a chat message.
    pub author: String,
    pub body: String,
    /// A chat message's own label (`m12`), which pins and deletions name.
    pub label: String,
    /// For `pin` and `delete`: the label of the message; for
    /// `banner_show`/`banner_hide`: the banner's id.
    pub reference: String,
}

/// An event before it has an id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub offset_ms: i64,
    pub kind: &'static str,
    pub author: String,
    pub body: String,
    pub label: String,
    pub reference: String,
}

pub(crate) async fn insert(
    tx: &mut Tx,
    now: Timestamp,
    org: OrgId,
    room: i64,
    title: &str,
    source: Option<i64>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO live_scenarios (org_id, room_id, title, source_webinar_id, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(org.0)
    .bind(room)
    .bind(title)
    .bind(source)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

/// An empty scenario to fill in by hand or by import.
pub async fn create(db: &Db, org: OrgId, room: i64, title: &str) -> Result<Scenario> {
    crate::rooms::get(db, org, room).await?;
    let title = crate::text(title, "title", 200)?;
    let mut tx = db.begin().await?;
    let id = insert(&mut tx, db.now(), org, room, &title, None).await?;
    tx.commit().await?;
    get(db, org, id).await
}

fn scenario(r: &sqlx::any::AnyRow) -> Result<Scenario> {
    Ok(Scenario {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        room_id: r.try_get(2)?,
        title: r.try_get(3)?,
        source_webinar_id: r.try_get(4)?,
        created_at: Timestamp(r.try_get(5)?),
    })
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Scenario> {
    let row = sqlx::query(
        "SELECT id, org_id, room_id, title, source_webinar_id, created_at FROM live_scenarios WHERE id = $1 AND org_id = $2",
    )
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    scenario(&row)
}

pub async fn of_room(db: &Db, org: OrgId, room: i64) -> Result<Vec<Scenario>> {
    let rows = sqlx::query(
        "SELECT id, org_id, room_id, title, source_webinar_id, created_at FROM live_scenarios
         WHERE org_id = $1 AND room_id = $2 ORDER BY id DESC",
    )
    .bind(org.0)
    .bind(room)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(scenario).collect()
}

pub async fn of_org(db: &Db, org: OrgId) -> Result<Vec<Scenario>> {
    let rows = sqlx::query(
        "SELECT id, org_id, room_id, title, source_webinar_id, created_at FROM live_scenarios
         WHERE org_id = $1 ORDER BY id DESC",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(scenario).collect()
}

fn event(r: &sqlx::any::AnyRow) -> Result<Event> {
    Ok(Event {
        id: r.try_get(0)?,
        offset_ms: r.try_get(1)?,
        kind: r.try_get(2)?,
        author: r.try_get(3)?,
        body: r.try_get(4)?,
        label: r.try_get(5)?,
        reference: r.try_get(6)?,
    })
}

/// The events in the order they play.
pub async fn events(db: &Db, scenario: i64) -> Result<Vec<Event>> {
    let rows = sqlx::query(
        "SELECT id, offset_ms, kind, author, body, label, ref FROM live_scenario_events
         WHERE scenario_id = $1 ORDER BY offset_ms, id",
    )
    .bind(scenario)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(event).collect()
}

/// Appends recorded events inside the caller's transaction.
pub(crate) async fn append(
    tx: &mut Tx,
    now: Timestamp,
    scenario: i64,
    events: &[NewEvent],
) -> Result<()> {
    for e in events {
        sqlx::query(
            "INSERT INTO live_scenario_events (scenario_id, offset_ms, kind, author, body, label, ref, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(scenario)
        .bind(e.offset_ms)
        .bind(e.kind)
        .bind(&e.author)
        .bind(&e.body)
        .bind(&e.label)
        .bind(&e.reference)
        .bind(now.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

fn kind(raw: &str) -> Option<&'static str> {
    KINDS.into_iter().find(|k| *k == raw.trim())
}

/// An event as typed into the editor.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct EventInput {
    /// Seconds from the start, `m:ss` or `h:mm:ss`, or plain seconds.
    pub at: String,
    pub kind: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub reference: String,
}

/// `h:mm:ss`, `m:ss` or seconds (with an optional fraction) in ms.
pub fn parse_at(raw: &str) -> Option<i64> {
    let mut total = 0f64;
    for part in raw.trim().split(':') {
        let v: f64 = part.trim().parse().ok()?;
        if !(0.0..1e7).contains(&v) {
            return None;
        }
        total = total * 60.0 + v;
    }
    let ms = (total * 1000.0).round() as i64;
    (0..=MAX_OFFSET_MS).contains(&ms).then_some(ms)
}

/// `h:mm:ss` of an offset, for the editor.
pub fn show_at(ms: i64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

fn check(e: &NewEvent) -> std::result::Result<(), &'static str> {
    if !(0..=MAX_OFFSET_MS).contains(&e.offset_ms) {
        return Err("live-csv-offset");
    }
    let short = |s: &str, n: usize| {
        s.chars().count() <= n && !s.chars().any(|c| c.is_control() && c != '\n')
    };
    if !short(&e.author, 200)
        || !short(&e.body, 2000)
        || !short(&e.label, 64)
        || !short(&e.reference, 64)
    {
        return Err("live-csv-text");
    }
    match e.kind {
        "chat" if e.body.trim().is_empty() || e.author.trim().is_empty() => Err("live-csv-chat"),
        "pin" | "delete" if e.reference.trim().is_empty() => Err("live-csv-ref"),
        "banner_show" | "banner_hide" if e.reference.trim().parse::<i64>().is_err() => {
            Err("live-csv-banner")
        }
        _ => Ok(()),
    }
}

impl EventInput {
    fn parse(&self, next_label: &str) -> Result<NewEvent> {
        let offset = parse_at(&self.at).ok_or(Error::invalid("at", "live-at-format"))?;
        let kind = kind(&self.kind).ok_or(Error::invalid("kind", "live-choose-one"))?;
        let e = NewEvent {
            offset_ms: offset,
            kind,
            author: self.author.trim().to_string(),
            body: self.body.trim().to_string(),
            label: if kind == "chat" {
                next_label.to_string()
            } else {
                String::new()
            },
            reference: self.reference.trim().to_string(),
        };
        check(&e).map_err(|code| Error::invalid("body", code))?;
        Ok(e)
    }
}

/// Adds an event by hand.
pub async fn add_event(db: &Db, org: OrgId, scenario: i64, input: &EventInput) -> Result<()> {
    get(db, org, scenario).await?;
    let label = format!("e{}", db.now().0);
    let e = input.parse(&label)?;
    let mut tx = db.begin().await?;
    append(&mut tx, db.now(), scenario, &[e]).await?;
    tx.commit().await?;
    Ok(())
}

/// Changes an event's moment, author or text (moving is changing the moment).
pub async fn edit_event(
    db: &Db,
    org: OrgId,
    scenario: i64,
    id: i64,
    input: &EventInput,
) -> Result<()> {
    get(db, org, scenario).await?;
    let current = events(db, scenario)
        .await?
        .into_iter()
        .find(|e| e.id == id)
        .ok_or(Error::NotFound)?;
    let input = EventInput {
        kind: current.kind.clone(),
        ..input.clone()
    };
    let e = input.parse(&current.label)?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE live_scenario_events SET offset_ms = $1, author = $2, body = $3, ref = $4 WHERE id = $5 AND scenario_id = $6",
    )
    .bind(e.offset_ms)
    .bind(&e.author)
    .bind(&e.body)
    .bind(&e.reference)
    .bind(id)
    .bind(scenario)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_event(db: &Db, org: OrgId, scenario: i64, id: i64) -> Result<()> {
    get(db, org, scenario).await?;
    let mut tx = db.begin().await?;
    let done = sqlx::query("DELETE FROM live_scenario_events WHERE id = $1 AND scenario_id = $2")
        .bind(id)
        .bind(scenario)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

// ---------------------------------------------------------------- CSV

pub const CSV_HEADER: &str = "offset_ms,kind,author,text,label,ref";

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) || s.starts_with([' ', '=', '+', '-', '@']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The scenario as CSV: a header and one row per event.
pub fn to_csv(events: &[Event]) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for e in events {
        let row = [
            e.offset_ms.to_string(),
            e.kind.clone(),
            e.author.clone(),
            e.body.clone(),
            e.label.clone(),
            e.reference.clone(),
        ];
        let row: Vec<String> = row.iter().map(|f| csv_field(f)).collect();
        out.push_str(&row.join(","));
        out.push('\n');
    }
    out
}

/// Splits CSV text into rows of fields (RFC 4180 quoting). A quote left
/// open is reported on the row it began.
fn csv_rows(text: &str) -> std::result::Result<Vec<Vec<String>>, usize> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut field));
                at_start = true;
            }
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            _ => {
                field.push(c);
                at_start = false;
            }
        }
    }
    if quoted {
        return Err(rows.len() + 1);
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    Ok(rows)
}

/// One bad row of an imported file: its number (the header is row 1) and why.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RowError {
    pub row: usize,
    pub code: &'static str,
}

/// Reads a scenario file. Every bad row is reported by its number; a file
/// with any bad row yields no events at all.
pub fn parse_csv(
    text: &str,
    banners: &HashSet<i64>,
) -> std::result::Result<Vec<NewEvent>, Vec<RowError>> {
    let rows = csv_rows(text).map_err(|row| {
        vec![RowError {
            row,
            code: "live-csv-quote",
        }]
    })?;
    let mut iter = rows.into_iter().enumerate();
    match iter.next() {
        Some((_, h)) if h.iter().map(|s| s.trim()).eq(CSV_HEADER.split(',')) => {}
        _ => {
            return Err(vec![RowError {
                row: 1,
                code: "live-csv-header",
            }]);
        }
    }
    let mut errors = Vec::new();
    let mut events = Vec::new();
    let mut labels = HashSet::new();
    for (i, fields) in iter {
        let row = i + 1;
        if fields.len() == 1 && fields[0].trim().is_empty() {
            continue;
        }
        if events.len() >= MAX_ROWS {
            errors.push(RowError {
                row,
                code: "live-csv-too-many",
            });
            break;
        }
        if fields.len() != 6 {
            errors.push(RowError {
                row,
                code: "live-csv-columns",
            });
            continue;
        }
        let Ok(offset_ms) = fields[0].trim().parse::<i64>() else {
            errors.push(RowError {
                row,
                code: "live-csv-offset",
            });
            continue;
        };
        let Some(kind) = kind(&fields[1]) else {
            errors.push(RowError {
                row,
                code: "live-csv-kind",
            });
            continue;
        };
        let e = NewEvent {
            offset_ms,
            kind,
            author: fields[2].trim().to_string(),
            body: fields[3].trim().to_string(),
            label: fields[4].trim().to_string(),
            reference: fields[5].trim().to_string(),
        };
        if let Err(code) = check(&e) {
            errors.push(RowError { row, code });
            continue;
        }
        if kind.starts_with("banner")
            && !e
                .reference
                .parse::<i64>()
                .is_ok_and(|id| banners.contains(&id))
        {
            errors.push(RowError {
                row,
                code: "live-csv-banner",
            });
            continue;
        }
        if kind == "chat" && !e.label.is_empty() && !labels.insert(e.label.clone()) {
            errors.push(RowError {
                row,
                code: "live-csv-label",
            });
            continue;
        }
        events.push((row, e));
    }
    for (row, e) in &events {
        if matches!(e.kind, "pin" | "delete") && !labels.contains(&e.reference) {
            errors.push(RowError {
                row: *row,
                code: "live-csv-ref",
            });
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.row);
        return Err(errors);
    }
    Ok(events.into_iter().map(|(_, e)| e).collect())
}

/// Replaces the scenario's events with the file's, all or nothing.
pub async fn import_csv(
    db: &Db,
    org: OrgId,
    scenario: i64,
    text: &str,
) -> Result<std::result::Result<usize, Vec<RowError>>> {
    let s = get(db, org, scenario).await?;
    let banners: HashSet<i64> = crate::banners::of_room(db, org, s.room_id)
        .await?
        .into_iter()
        .map(|b| b.id)
        .collect();
    let events = match parse_csv(text, &banners) {
        Ok(e) => e,
        Err(rows) => return Ok(Err(rows)),
    };
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM live_scenario_events WHERE scenario_id = $1")
        .bind(scenario)
        .execute(&mut *tx)
        .await?;
    append(&mut tx, db.now(), scenario, &events).await?;
    sqlx::query("UPDATE live_scenarios SET updated_at = $1 WHERE id = $2")
        .bind(db.now().0)
        .bind(scenario)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Ok(events.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(offset_ms: i64, kind: &str, author: &str, body: &str, label: &str, r: &str) -> Event {
        Event {
            id: 0,
            offset_ms,
            kind: kind.into(),
            author: author.into(),
            body: body.into(),
            label: label.into(),
            reference: r.into(),
        }
    }

    #[test]
    fn csv_round_trips_quotes_commas_and_line_breaks() {
        let events = vec![
            ev(1500, "chat", "Айгүл", "Сәлем, \"бәрі\"\nжақсы", "m1", ""),
            ev(2000, "pin", "", "", "", "m1"),
            ev(3000, "banner_show", "", "", "", "7"),
            ev(4000, "chat", "Bob", "=1+1", "m2", ""),
        ];
        let text = to_csv(&events);
        let parsed = parse_csv(&text, &HashSet::from([7])).expect("parses");
        assert_eq!(parsed.len(), 4);
        assert_eq!(parsed[0].body, "Сәлем, \"бәрі\"\nжақсы");
        assert_eq!(parsed[3].body, "=1+1");
    }

    #[test]
    fn bad_rows_are_reported_by_number_and_nothing_is_taken() {
        let text = "offset_ms,kind,author,text,label,ref\n\
                    100,chat,A,hi,m1,\n\
                    x,chat,A,hi,m2,\n\
                    200,shout,A,hi,m3,\n\
                    300,chat,,hi,m4,\n\
                    400,pin,,,,m9\n\
                    500,banner_show,,,,99\n\
                    600,chat,A,hi\n";
        let errors = parse_csv(text, &HashSet::from([7])).expect_err("bad rows");
        let rows: Vec<(usize, &str)> = errors.iter().map(|e| (e.row, e.code)).collect();
        assert_eq!(
            rows,
            [
                (3, "live-csv-offset"),
                (4, "live-csv-kind"),
                (5, "live-csv-chat"),
                (6, "live-csv-ref"),
                (7, "live-csv-banner"),
                (8, "live-csv-columns"),
            ]
        );
        assert_eq!(
            parse_csv("a,b\n", &HashSet::new()).expect_err("header")[0].code,
            "live-csv-header"
        );
        assert_eq!(
            parse_csv(
                "offset_ms,kind,author,text,label,ref\n1,chat,A,\"open",
                &HashSet::new()
            )
            .expect_err("quote")[0],
            RowError {
                row: 2,
                code: "live-csv-quote"
            }
        );
    }

    #[test]
    fn moments_are_typed_as_clock_or_seconds() {
        assert_eq!(parse_at("1:02:03"), Some(3_723_000));
        assert_eq!(parse_at("2:30"), Some(150_000));
        assert_eq!(parse_at("12.5"), Some(12_500));
        assert_eq!(parse_at("-1"), None);
        assert_eq!(parse_at("abc"), None);
        assert_eq!(show_at(3_723_000), "1:02:03");
    }
}
