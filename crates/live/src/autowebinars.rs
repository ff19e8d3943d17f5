//! Autowebinars (IS 2.2.1.2): a recorded video and a scenario run on a
//! schedule — specific dates, daily, or on days of the week, once or
//! several times a day, in Almaty time. Every session is shared: one row in
//! `live_webinars` per start, one hub per running session.

use jiff::civil::{Date, Time};
use sqlx::Row;
use tabys_core::calendar::almaty;
use tabys_core::ids::OrgId;
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::Db;

use crate::webinars::{self, Webinar};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Autowebinar {
    pub id: i64,
    pub org_id: OrgId,
    pub room_id: i64,
    pub scenario_id: Option<i64>,
    pub title: String,
    /// The recording's address; empty when it is uploaded (or the room's
    /// own video is played).
    pub video_url: String,
    pub schedule: Schedule,
    pub duration_min: i64,
    /// Viewers added to the shown count; 0 (the default) shows the real
    /// count. When on, the organizer's pages mark it as simulated.
    pub simulated_count: i64,
    /// The uploaded recording: played instead of `video_url` while set.
    pub video_file_id: Option<i64>,
}

/// When sessions start, in Almaty time.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub enum Schedule {
    Dates(Vec<jiff::civil::DateTime>),
    Daily(Vec<Time>),
    /// Days of the week (1 = Monday) and times.
    Weekly(Vec<i8>, Vec<Time>),
}

fn parse_times(raw: &str) -> Option<Vec<Time>> {
    let mut times: Vec<Time> = raw
        .split([',', ';', ' ', '\n'])
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| t.parse::<Time>().ok())
        .collect::<Option<_>>()?;
    times.sort();
    times.dedup();
    (!times.is_empty() && times.len() <= 96).then_some(times)
}

fn show_time(t: &Time) -> String {
    format!("{:02}:{:02}", t.hour(), t.minute())
}

impl Schedule {
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Dates(_) => "dates",
            Self::Daily(_) => "daily",
            Self::Weekly(..) => "weekly",
        }
    }

    /// The stored form: `2026-12-01T19:00;…`, `10:00,19:00`, `1,3|19:00`.
    pub fn to_text(&self) -> String {
        match self {
            Self::Dates(d) => d
                .iter()
                .map(|d| d.strftime("%Y-%m-%dT%H:%M").to_string())
                .collect::<Vec<_>>()
                .join(";"),
            Self::Daily(t) => t.iter().map(show_time).collect::<Vec<_>>().join(","),
            Self::Weekly(days, t) => format!(
                "{}|{}",
                days.iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(","),
                t.iter().map(show_time).collect::<Vec<_>>().join(",")
            ),
        }
    }

    fn from_text(kind: &str, text: &str) -> Option<Self> {
        match kind {
            "dates" => Some(Self::Dates(
                text.split(';')
                    .filter(|s| !s.is_empty())
                    .map(|s| s.parse().ok())
                    .collect::<Option<_>>()?,
            )),
            "daily" => Some(Self::Daily(parse_times(text)?)),
            "weekly" => {
                let (days, times) = text.split_once('|')?;
                Some(Self::Weekly(
                    days.split(',')
                        .map(|d| d.parse().ok())
                        .collect::<Option<_>>()?,
                    parse_times(times)?,
                ))
            }
            _ => None,
        }
    }

    /// The times in the form's field.
    pub fn times_text(&self) -> String {
        match self {
            Self::Dates(d) => d
                .iter()
                .map(|d| d.strftime("%Y-%m-%d %H:%M").to_string())
                .collect::<Vec<_>>()
                .join("\n"),
            Self::Daily(t) | Self::Weekly(_, t) => {
                t.iter().map(show_time).collect::<Vec<_>>().join(", ")
            }
        }
    }

    pub fn days(&self) -> Vec<i8> {
        match self {
            Self::Weekly(d, _) => d.clone(),
            _ => Vec::new(),
        }
    }

    /// Session starts from `from` (inclusive) on, at most `count`.
    pub fn starts_from(&self, from: Timestamp, count: usize) -> Vec<Timestamp> {
        let tz = almaty();
        let at = |d: jiff::civil::DateTime| {
            d.to_zoned(tz.clone())
                .ok()
                .map(|z| Timestamp::from_jiff(z.timestamp()))
        };
        let mut out = Vec::new();
        match self {
            Self::Dates(dates) => {
                let mut all: Vec<Timestamp> = dates.iter().filter_map(|d| at(*d)).collect();
                all.sort();
                out.extend(all.into_iter().filter(|t| *t >= from).take(count));
            }
            Self::Daily(times) | Self::Weekly(_, times) => {
                let days = self.days();
                let mut day: Date = from.to_jiff().to_zoned(tz.clone()).date();
                for _ in 0..400 {
                    let wd = day.weekday().to_monday_one_offset();
                    if days.is_empty() || days.contains(&wd) {
                        for t in times {
                            if let Some(s) = at(day.to_datetime(*t))
                                && s >= from
                            {
                                out.push(s);
                                if out.len() >= count {
                                    return out;
                                }
                            }
                        }
                    }
                    match day.tomorrow() {
                        Ok(d) => day = d,
                        Err(_) => break,
                    }
                }
            }
        }
        out
    }
}

/// An autowebinar as typed into the form.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct AutowebinarInput {
    pub title: String,
    #[serde(default)]
    pub video_url: String,
    #[serde(default)]
    pub scenario_id: String,
    /// `dates`, `daily` or `weekly`.
    pub schedule_kind: String,
    /// Dates and times (`2026-12-01 19:00`, one a line) or times (`10:00, 19:00`).
    pub times: String,
    /// Days of the week for `weekly`: `1` (Monday) … `7`, separated by commas.
    #[serde(default)]
    pub weekdays: String,
    pub duration_min: String,
    #[serde(default)]
    pub simulated_count: String,
}

fn weekday_list(raw: &str) -> Option<Vec<i8>> {
    let mut days: Vec<i8> = raw
        .split([',', ' '])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse::<i8>().ok().filter(|d| (1..=7).contains(d)))
        .collect::<Option<_>>()?;
    days.sort();
    days.dedup();
    (!days.is_empty()).then_some(days)
}

fn keep<T>(r: Result<T>, errors: &mut Vec<FieldError>) -> Option<T> {
    match r {
        Ok(v) => Some(v),
        Err(Error::Invalid(f)) => {
            errors.extend(f);
            None
        }
        Err(_) => None,
    }
}

pub struct NewAutowebinar {
    pub title: String,
    pub video_url: String,
    pub scenario_id: Option<i64>,
    pub schedule: Schedule,
    pub duration_min: i64,
    pub simulated_count: i64,
}

impl AutowebinarInput {
    /// Checks every field; a date already past is refused.
    pub fn parse(&self, now: Timestamp) -> Result<NewAutowebinar> {
        let mut errors = Vec::new();
        let title = keep(crate::text(&self.title, "title", 200), &mut errors);
        // Optional: the recording may be uploaded on the autowebinar's page.
        let video = keep(crate::url(&self.video_url, "video_url", false), &mut errors);
        let duration = keep(
            crate::number(&self.duration_min, "duration_min", 5, 24 * 60),
            &mut errors,
        );
        let simulated = if self.simulated_count.trim().is_empty() {
            Some(0)
        } else {
            keep(
                crate::number(&self.simulated_count, "simulated_count", 0, 100_000),
                &mut errors,
            )
        };
        let scenario = if self.scenario_id.trim().is_empty() {
            Some(None)
        } else {
            keep(
                crate::number(&self.scenario_id, "scenario_id", 1, i64::MAX).map(Some),
                &mut errors,
            )
        };
        let schedule = match self.schedule_kind.trim() {
            "dates" => {
                let dates: Option<Vec<jiff::civil::DateTime>> = self
                    .times
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.replacen(' ', "T", 1).parse().ok())
                    .collect();
                match dates {
                    Some(d) if !d.is_empty() && d.len() <= 366 => {
                        let s = Schedule::Dates(d);
                        let all = s.starts_from(Timestamp(i64::MIN / 2), usize::MAX);
                        if all.iter().any(|t| *t <= now) {
                            errors.push(FieldError {
                                field: "times",
                                code: "live-schedule-past",
                            });
                        }
                        Some(s)
                    }
                    _ => {
                        errors.push(FieldError {
                            field: "times",
                            code: "live-schedule-format",
                        });
                        None
                    }
                }
            }
            "daily" => match parse_times(&self.times) {
                Some(t) => Some(Schedule::Daily(t)),
                None => {
                    errors.push(FieldError {
                        field: "times",
                        code: "live-schedule-format",
                    });
                    None
                }
            },
            "weekly" => match (weekday_list(&self.weekdays), parse_times(&self.times)) {
                (Some(d), Some(t)) => Some(Schedule::Weekly(d, t)),
                (d, t) => {
                    if d.is_none() {
                        errors.push(FieldError {
                            field: "weekdays",
                            code: "live-schedule-format",
                        });
                    }
                    if t.is_none() {
                        errors.push(FieldError {
                            field: "times",
                            code: "live-schedule-format",
                        });
                    }
                    None
                }
            },
            _ => {
                errors.push(FieldError {
                    field: "schedule_kind",
                    code: "live-choose-one",
                });
                None
            }
        };
        match (title, video, duration, simulated, scenario, schedule) {
            (
                Some(title),
                Some(video_url),
                Some(duration_min),
                Some(simulated_count),
                Some(scenario_id),
                Some(schedule),
            ) if errors.is_empty() => Ok(NewAutowebinar {
                title,
                video_url,
                scenario_id,
                schedule,
                duration_min,
                simulated_count,
            }),
            _ => Err(Error::Invalid(errors)),
        }
    }
}

const COLUMNS: &str = "id, org_id, room_id, scenario_id, title, video_url, schedule_kind, schedule, duration_min, simulated_count, video_file_id";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Autowebinar> {
    let kind: String = r.try_get(6)?;
    let text: String = r.try_get(7)?;
    Ok(Autowebinar {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        room_id: r.try_get(2)?,
        scenario_id: r.try_get(3)?,
        title: r.try_get(4)?,
        video_url: r.try_get(5)?,
        schedule: Schedule::from_text(&kind, &text)
            .ok_or_else(|| Error::Internal(format!("bad stored schedule {kind} {text}")))?,
        duration_min: r.try_get(8)?,
        simulated_count: r.try_get(9)?,
        video_file_id: r.try_get(10)?,
    })
}

async fn check_scenario(db: &Db, org: OrgId, room: i64, a: &NewAutowebinar) -> Result<()> {
    if let Some(s) = a.scenario_id {
        match crate::scenario::get(db, org, s).await {
            Ok(s) if s.room_id == room => {}
            Ok(_) | Err(Error::NotFound) => {
                return Err(Error::invalid("scenario_id", "not-found"));
            }
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub async fn create(db: &Db, org: OrgId, room: i64, a: NewAutowebinar) -> Result<Autowebinar> {
    crate::rooms::get(db, org, room).await?;
    check_scenario(db, org, room, &a).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO live_autowebinars (org_id, room_id, scenario_id, title, video_url, schedule_kind, schedule, duration_min,
             simulated_count, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'active', $10, $10) RETURNING {COLUMNS}"
    ))
    .bind(org.0)
    .bind(room)
    .bind(a.scenario_id)
    .bind(&a.title)
    .bind(&a.video_url)
    .bind(a.schedule.kind())
    .bind(a.schedule.to_text())
    .bind(a.duration_min)
    .bind(a.simulated_count)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let aw = from_row(&row)?;
    tx.commit().await?;
    Ok(aw)
}

pub async fn update(db: &Db, org: OrgId, id: i64, a: NewAutowebinar) -> Result<Autowebinar> {
    let current = get(db, org, id).await?;
    check_scenario(db, org, current.room_id, &a).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE live_autowebinars SET scenario_id = $1, title = $2, video_url = $3, schedule_kind = $4, schedule = $5,
             duration_min = $6, simulated_count = $7, updated_at = $8
         WHERE id = $9 AND org_id = $10 AND status = 'active' RETURNING {COLUMNS}"
    ))
    .bind(a.scenario_id)
    .bind(&a.title)
    .bind(&a.video_url)
    .bind(a.schedule.kind())
    .bind(a.schedule.to_text())
    .bind(a.duration_min)
    .bind(a.simulated_count)
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let aw = from_row(&row)?;
    tx.commit().await?;
    Ok(aw)
}

pub async fn delete(db: &Db, org: OrgId, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE live_autowebinars SET status = 'deleted', updated_at = $1 WHERE id = $2 AND org_id = $3 AND status = 'active'",
    )
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    tx.commit().await?;
    Ok(())
}

/// Makes an uploaded video of the organizer the autowebinar's recording
/// (`None` goes back to the address). The file stays in the organizer's
/// library either way.
pub async fn set_video(db: &Db, org: OrgId, id: i64, file: Option<i64>) -> Result<Autowebinar> {
    if let Some(f) = file
        && !tabys_files::get(db, org, f).await?.is_video()
    {
        return Err(Error::invalid("file", "file-type"));
    }
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE live_autowebinars SET video_file_id = $1, updated_at = $2
         WHERE id = $3 AND org_id = $4 AND status = 'active' RETURNING {COLUMNS}"
    ))
    .bind(file)
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    let aw = from_row(&row)?;
    tx.commit().await?;
    Ok(aw)
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Autowebinar> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_autowebinars WHERE id = $1 AND org_id = $2 AND status = 'active'"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// An active autowebinar by id alone, for its public page.
pub async fn find(db: &Db, id: i64) -> Result<Autowebinar> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_autowebinars WHERE id = $1 AND status = 'active'"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn of_org(db: &Db, org: OrgId) -> Result<Vec<Autowebinar>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM live_autowebinars WHERE org_id = $1 AND status = 'active' ORDER BY id"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The session starting at `starts` (one of the schedule's), made once:
/// everybody who comes to the 19:00 session shares its row and its hub.
pub async fn session(db: &Db, aw: &Autowebinar, starts: Timestamp) -> Result<Webinar> {
    let find = || async {
        let row = sqlx::query(&format!(
            "SELECT {} FROM live_webinars WHERE autowebinar_id = $1 AND starts_at = $2",
            webinars::COLUMNS
        ))
        .bind(aw.id)
        .bind(starts.0)
        .fetch_optional(db.read())
        .await?;
        row.as_ref().map(webinars::from_row).transpose()
    };
    if let Some(w) = find().await? {
        return Ok(w);
    }
    let mut tx = db.begin().await?;
    let made = webinars::insert(
        &mut tx,
        db.now(),
        aw.org_id,
        aw.room_id,
        Some(aw.id),
        &aw.title,
        starts,
        aw.duration_min,
        aw.scenario_id,
    )
    .await;
    match made {
        Ok(w) => {
            tx.commit().await?;
            Ok(w)
        }
        Err(Error::Conflict(_)) => {
            drop(tx);
            find().await?.ok_or(Error::NotFound)
        }
        Err(e) => Err(e),
    }
}

/// The session running now, else the next one; `None` when the schedule has ended.
pub async fn current_or_next(db: &Db, aw: &Autowebinar) -> Result<Option<Webinar>> {
    let now = db.now();
    let from = Timestamp(now.0 - aw.duration_min * 60_000 + 1);
    match aw.schedule.starts_from(from, 1).first() {
        Some(t) => Ok(Some(session(db, aw, *t).await?)),
        None => Ok(None),
    }
}

/// The autowebinar's sessions that have begun, newest first: each has
/// its own analytics.
pub async fn sessions(db: &Db, org: OrgId, aw: i64) -> Result<Vec<Webinar>> {
    let rows = sqlx::query(&format!(
        "SELECT {} FROM live_webinars WHERE org_id = $1 AND autowebinar_id = $2 AND starts_at <= $3
         ORDER BY starts_at DESC LIMIT 100",
        webinars::COLUMNS
    ))
    .bind(org.0)
    .bind(aw)
    .bind(db.now().0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(webinars::from_row).collect()
}

/// The next starts to show on the landing page.
pub fn upcoming(aw: &Autowebinar, now: Timestamp, count: usize) -> Vec<Timestamp> {
    let from = Timestamp(now.0 - aw.duration_min * 60_000 + 1);
    aw.schedule.starts_from(from, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> Timestamp {
        let dt: jiff::civil::DateTime = s.parse().expect("datetime");
        Timestamp::from_jiff(dt.to_zoned(almaty()).expect("zoned").timestamp())
    }

    #[test]
    fn daily_and_weekly_schedules_give_the_next_starts_in_almaty() {
        let daily = Schedule::Daily(parse_times("19:00, 10:00").expect("times"));
        assert_eq!(
            daily.starts_from(ts("2026-03-02T12:00"), 3),
            vec![
                ts("2026-03-02T19:00"),
                ts("2026-03-03T10:00"),
                ts("2026-03-03T19:00")
            ]
        );
        // 2026-03-02 is a Monday; Wednesdays and Fridays only.
        let weekly = Schedule::Weekly(vec![3, 5], parse_times("19:00").expect("times"));
        assert_eq!(
            weekly.starts_from(ts("2026-03-02T12:00"), 2),
            vec![ts("2026-03-04T19:00"), ts("2026-03-06T19:00")]
        );
        let text = weekly.to_text();
        assert_eq!(Schedule::from_text("weekly", &text), Some(weekly));
    }

    #[test]
    fn a_date_in_the_past_is_refused() {
        let input = AutowebinarInput {
            title: "Авто".into(),
            video_url: "https://cdn.example/v.m3u8".into(),
            schedule_kind: "dates".into(),
            times: "2026-03-01 19:00\n2026-03-05 19:00".into(),
            duration_min: "60".into(),
            ..Default::default()
        };
        let Err(Error::Invalid(f)) = input.parse(ts("2026-03-02T12:00")) else {
            panic!("accepted")
        };
        assert_eq!(f[0].code, "live-schedule-past");
        let ok = AutowebinarInput {
            times: "2026-03-05 19:00".into(),
            ..input
        };
        assert!(ok.parse(ts("2026-03-02T12:00")).is_ok());
    }
}
