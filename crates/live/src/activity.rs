//! Participants' activity (IS 2.2.1.2, IS-3): registration, join, leave
//! (with the time watched), messages, banner clicks and purchases from a
//! banner; and the analytics built on it — attendance over time, peak,
//! average watch time, conversion from a banner click to a paid order — as
//! numbers, an SVG chart and CSV.

use std::collections::{BTreeMap, HashMap, HashSet};

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Result, Timestamp};
use tabys_store::{Db, Tx};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Register,
    Join,
    /// `value` is the time watched in ms.
    Leave,
    Message,
    /// `ref_id` is the banner.
    BannerClick,
    /// `ref_id` is the order.
    Purchase,
}

impl Kind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Join => "join",
            Self::Leave => "leave",
            Self::Message => "message",
            Self::BannerClick => "banner_click",
            Self::Purchase => "purchase",
        }
    }
}

/// One thing a participant did.
#[derive(Debug, Clone)]
pub struct Record {
    pub org: OrgId,
    pub webinar: i64,
    pub participant: String,
    pub kind: Kind,
    pub ref_id: Option<i64>,
    pub value: i64,
    pub at: Timestamp,
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn record_in(
    tx: &mut Tx,
    org: OrgId,
    webinar: i64,
    participant: &str,
    kind: Kind,
    ref_id: Option<i64>,
    value: i64,
    at: Timestamp,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO live_activity (org_id, webinar_id, participant, kind, ref_id, value, at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(org.0)
    .bind(webinar)
    .bind(participant)
    .bind(kind.code())
    .bind(ref_id)
    .bind(value)
    .bind(at.0)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub(crate) async fn write(tx: &mut Tx, r: &Record) -> Result<()> {
    record_in(
        tx,
        r.org,
        r.webinar,
        &r.participant,
        r.kind,
        r.ref_id,
        r.value,
        r.at,
    )
    .await
}

/// Records one thing on its own (a banner click from a page).
pub async fn record(db: &Db, r: Record) -> Result<()> {
    let mut tx = db.begin().await?;
    write(&mut tx, &r).await?;
    tx.commit().await?;
    Ok(())
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Entry {
    pub participant: String,
    pub kind: String,
    pub ref_id: Option<i64>,
    pub value: i64,
    pub at: Timestamp,
}

/// Every record of a session, in time order.
pub async fn of_webinar(db: &Db, org: OrgId, webinar: i64) -> Result<Vec<Entry>> {
    let rows = sqlx::query(
        "SELECT participant, kind, ref_id, value, at FROM live_activity WHERE org_id = $1 AND webinar_id = $2 ORDER BY at, id",
    )
    .bind(org.0)
    .bind(webinar)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Entry {
                participant: r.try_get(0)?,
                kind: r.try_get(1)?,
                ref_id: r.try_get(2)?,
                value: r.try_get(3)?,
                at: Timestamp(r.try_get(4)?),
            })
        })
        .collect()
}

/// What the organizer sees for one session.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Summary {
    pub registrations: i64,
    /// Distinct participants who came.
    pub attendees: i64,
    pub peak: i64,
    pub average_watch_ms: i64,
    pub messages: i64,
    pub banner_clicks: i64,
    /// Distinct participants who clicked a banner.
    pub clickers: i64,
    /// Orders placed from a banner and paid.
    pub purchases: i64,
    /// Paid orders from banners per hundred clickers.
    pub conversion_percent: i64,
    /// The most participants present during each minute from the start: (minute, count).
    pub attendance: Vec<(i64, i64)>,
}

/// The numbers of one session. `paid_orders` are the banner orders of the
/// session that are paid (asked of billing by the caller).
pub fn summarize(rows: &[Entry], origin: Timestamp, paid_orders: i64) -> Summary {
    let mut s = Summary::default();
    let mut present: HashMap<&str, i64> = HashMap::new();
    let mut came = HashSet::new();
    let mut clickers = HashSet::new();
    let mut watch = 0i64;
    let mut leaves = 0i64;
    let mut now_present = 0i64;
    let mut per_minute: BTreeMap<i64, i64> = BTreeMap::new();
    for r in rows {
        match r.kind.as_str() {
            "register" => s.registrations += 1,
            "join" => {
                came.insert(r.participant.as_str());
                let n = present.entry(r.participant.as_str()).or_default();
                if *n == 0 {
                    now_present += 1;
                }
                *n += 1;
            }
            "leave" => {
                watch += r.value;
                leaves += 1;
                if let Some(n) = present.get_mut(r.participant.as_str())
                    && *n > 0
                {
                    *n -= 1;
                    if *n == 0 {
                        now_present -= 1;
                    }
                }
            }
            "message" => s.messages += 1,
            "banner_click" => {
                s.banner_clicks += 1;
                clickers.insert(r.participant.as_str());
            }
            _ => {}
        }
        s.peak = s.peak.max(now_present);
        let minute = ((r.at.0 - origin.0) / 60_000).max(0);
        let slot = per_minute.entry(minute).or_default();
        *slot = (*slot).max(now_present);
    }
    s.attendees = came.len() as i64;
    s.average_watch_ms = if leaves > 0 { watch / leaves } else { 0 };
    s.clickers = clickers.len() as i64;
    s.purchases = paid_orders;
    s.conversion_percent = if s.clickers > 0 {
        paid_orders * 100 / s.clickers
    } else {
        0
    };
    // Minutes without records keep the count of the minute before.
    if let Some((&last, _)) = per_minute.iter().next_back() {
        let mut current = 0;
        for m in 0..=last.min(24 * 60) {
            if let Some(v) = per_minute.get(&m) {
                current = *v;
            }
            s.attendance.push((m, current));
        }
    }
    s
}

/// Attendance over time as a small SVG line chart, drawn on the server so
/// the page needs no script.
pub fn attendance_svg(points: &[(i64, i64)], label: &str) -> String {
    let (w, h, pad) = (600.0, 160.0, 24.0);
    let max_x = points.last().map_or(1, |p| p.0.max(1)) as f64;
    let max_y = points.iter().map(|p| p.1).max().unwrap_or(0).max(1) as f64;
    let path: Vec<String> = points
        .iter()
        .map(|(m, c)| {
            let x = pad + (*m as f64 / max_x) * (w - 2.0 * pad);
            let y = h - pad - (*c as f64 / max_y) * (h - 2.0 * pad);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let label = label
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;");
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{label}\" class=\"chart\">\
         <line x1=\"{pad}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#999\"/>\
         <line x1=\"{pad}\" y1=\"{pad}\" x2=\"{pad}\" y2=\"{y0}\" stroke=\"#999\"/>\
         <text x=\"2\" y=\"{ty}\" font-size=\"10\">{max}</text>\
         <text x=\"{x1}\" y=\"{h}\" font-size=\"10\" text-anchor=\"end\">{mx}′</text>\
         <polyline fill=\"none\" stroke=\"#2a6\" stroke-width=\"2\" points=\"{pts}\"/></svg>",
        y0 = h - pad,
        x1 = w - pad,
        ty = pad,
        max = max_y as i64,
        mx = max_x as i64,
        pts = path.join(" ")
    )
}

/// The session's records as CSV.
pub fn to_csv(rows: &[Entry], origin: Timestamp) -> String {
    let mut out = String::from("at_utc,offset_ms,participant,kind,ref_id,value\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{}\n",
            r.at.rfc3339(),
            r.at.0 - origin.0,
            r.participant,
            r.kind,
            r.ref_id.map(|v| v.to_string()).unwrap_or_default(),
            r.value
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(p: &str, kind: &str, value: i64, at_s: i64) -> Entry {
        Entry {
            participant: p.into(),
            kind: kind.into(),
            ref_id: None,
            value,
            at: Timestamp(at_s * 1000),
        }
    }

    #[test]
    fn peak_watch_time_and_conversion_come_from_the_records() {
        let rows = vec![
            row("a", "register", 0, 0),
            row("a", "join", 0, 10),
            row("b", "join", 0, 70),
            row("b", "banner_click", 0, 80),
            row("a", "banner_click", 0, 90),
            row("a", "leave", 120_000, 130),
            row("b", "leave", 60_000, 130),
            row("c", "join", 0, 200),
        ];
        let s = summarize(&rows, Timestamp(0), 1);
        assert_eq!(s.registrations, 1);
        assert_eq!(s.attendees, 3);
        assert_eq!(s.peak, 2);
        assert_eq!(s.average_watch_ms, 90_000);
        assert_eq!(s.clickers, 2);
        assert_eq!(s.conversion_percent, 50);
        // Each minute shows the most present during it.
        assert_eq!(s.attendance, vec![(0, 1), (1, 2), (2, 1), (3, 1)]);
        assert!(attendance_svg(&s.attendance, "<x>").contains("&lt;x&gt;"));
    }
}
