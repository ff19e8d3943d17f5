//! Kazakhstan's business days and local time: deadlines such as "pay within
//! three business days" or "refund within ten business days" are counted on
//! this calendar, in Almaty time.
//!
//! The calendar is data (`data/kz-calendar.txt`, compiled in) because the
//! days off change by law, by ministerial order and with the lunar date of
//! Kurban Ait; a new year is a data edit, not a code change.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::OnceLock;

use jiff::civil::{Date, Weekday};
use jiff::tz::{Offset, TimeZone, TimeZoneDatabase};

const DATA: &str = include_str!("../data/kz-calendar.txt");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Holiday,
    DayOff,
    Workday,
}

#[derive(Debug, Clone)]
struct Entry {
    kind: Kind,
    note: String,
}

/// The business calendar for a five-day working week.
#[derive(Debug, Clone, Default)]
pub struct KzCalendar {
    days: BTreeMap<Date, Entry>,
    years: BTreeSet<i16>,
}

/// Where and why the calendar text is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarError {
    pub line: usize,
    pub problem: &'static str,
}

impl fmt::Display for CalendarError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "calendar line {}: {}", self.line, self.problem)
    }
}

impl std::error::Error for CalendarError {}

/// The compiled-in calendar, parsed on first use.
///
/// A test proves the embedded text parses, so the empty fallback is never
/// used in a built binary; it exists so that even a broken file would give
/// the statutory approximation instead of a panic.
pub fn kz() -> &'static KzCalendar {
    static CALENDAR: OnceLock<KzCalendar> = OnceLock::new();
    CALENDAR.get_or_init(|| KzCalendar::parse(DATA).unwrap_or_default())
}

fn is_weekend(d: Date) -> bool {
    matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday)
}

impl KzCalendar {
    /// Reads the line format described at the top of the data file. Besides
    /// syntax it refuses data that cannot be meant: the same date twice, a
    /// `workday` that is already a weekday, a `dayoff` that is already a
    /// weekend day.
    pub fn parse(text: &str) -> Result<KzCalendar, CalendarError> {
        let mut cal = KzCalendar::default();
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |problem| CalendarError { line, problem };
            let s = raw.trim();
            if s.is_empty() || s.starts_with('#') {
                continue;
            }
            let (date, rest) = s.split_once(' ').ok_or(err("expected a date and a kind"))?;
            let (kind, note) = rest
                .trim_start()
                .split_once(' ')
                .ok_or(err("missing name"))?;
            let note = note.trim();
            if note.is_empty() {
                return Err(err("missing name"));
            }
            // jiff also reads forms like `20240101`; the file promises
            // `YYYY-MM-DD`, so anything else is a typo to report.
            if date.len() != 10 {
                return Err(err("date must be YYYY-MM-DD"));
            }
            let date: Date = date.parse().map_err(|_| err("date must be YYYY-MM-DD"))?;
            let kind = match kind {
                "holiday" => Kind::Holiday,
                "dayoff" if is_weekend(date) => return Err(err("dayoff on a weekend")),
                "dayoff" => Kind::DayOff,
                "workday" if !is_weekend(date) => return Err(err("workday on a weekday")),
                "workday" => Kind::Workday,
                _ => return Err(err("kind must be holiday, dayoff or workday")),
            };
            let entry = Entry {
                kind,
                note: note.to_owned(),
            };
            if cal.days.insert(date, entry).is_some() {
                return Err(err("date listed twice"));
            }
            cal.years.insert(date.year());
        }
        Ok(cal)
    }

    /// Whether the data lists this year; outside it only weekends and the
    /// fixed-date statutory holidays are known.
    pub fn covers(&self, year: i16) -> bool {
        self.years.contains(&year)
    }

    pub fn is_business_day(&self, d: Date) -> bool {
        if !self.covers(d.year()) {
            return !is_weekend(d) && !is_fixed_statutory_holiday(d);
        }
        match self.days.get(&d).map(|e| e.kind) {
            Some(Kind::Workday) => true,
            Some(Kind::Holiday | Kind::DayOff) => false,
            None => !is_weekend(d),
        }
    }

    /// The holiday name or transfer reason the data gives for this date, to
    /// show people why a day is off.
    pub fn note(&self, d: Date) -> Option<&str> {
        self.days.get(&d).map(|e| e.note.as_str())
    }

    /// The `n`-th business day after `d`; `d` itself when `n` is 0. Past the
    /// last date jiff can represent it stops at `Date::MAX` rather than
    /// failing, since no deadline is that far away.
    pub fn add_business_days(&self, d: Date, n: u32) -> Date {
        let mut day = d;
        let mut left = n;
        while left > 0 {
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => return Date::MAX,
            };
            if self.is_business_day(day) {
                left -= 1;
            }
        }
        day
    }

    /// Business days in `(from, to]`, negative when `to` is before `from`.
    /// The half-open range makes it the inverse of `add_business_days`:
    /// `business_days_between(d, add_business_days(d, n)) == n`.
    pub fn business_days_between(&self, from: Date, to: Date) -> i64 {
        let (start, end, sign) = if from <= to {
            (from, to, 1)
        } else {
            (to, from, -1)
        };
        let mut count = 0i64;
        let mut day = start;
        while day < end {
            day = match day.tomorrow() {
                Ok(next) => next,
                Err(_) => break,
            };
            if self.is_business_day(day) {
                count += 1;
            }
        }
        sign * count
    }
}

/// The fixed-date holidays of the law for years the data does not cover,
/// without moves or transfers since those are only known once decided. The
/// year gates follow the law's changes so that older records are counted as
/// they were: Republic Day since 2022, the second Independence Day (17 Dec)
/// and First President Day (1 Dec, from 2012) until 2021, Constitution Day
/// on 30 August until 2025 and on 15 March from 2027 (neither in 2026, the
/// year the new Constitution was adopted). Kurban Ait follows the lunar
/// calendar and cannot be listed here.
fn is_fixed_statutory_holiday(d: Date) -> bool {
    let y = d.year();
    match (d.month(), d.day()) {
        (1, 1 | 2 | 7) | (3, 8 | 21 | 22 | 23) | (5, 1 | 7 | 9) | (7, 6) | (12, 16) => true,
        (8, 30) => y <= 2025,
        (3, 15) => y >= 2027,
        (10, 25) => y >= 2022,
        (12, 17) => y <= 2021,
        (12, 1) => (2012..=2021).contains(&y),
        _ => false,
    }
}

/// Kazakhstan's civil time zone, `Asia/Almaty`, from the tz database compiled
/// into jiff, so that the answer never depends on the host's zoneinfo files
/// (since 1 March 2024 the whole country is on UTC+5).
pub fn almaty() -> TimeZone {
    static ZONE: OnceLock<TimeZone> = OnceLock::new();
    ZONE.get_or_init(|| {
        TimeZoneDatabase::bundled()
            .get("Asia/Almaty")
            // The current offset is a correct answer for every instant since
            // the 2024 change, which is better than refusing to start.
            .unwrap_or_else(|_| TimeZone::fixed(Offset::constant(5)))
    })
    .clone()
}

/// The calendar date in Kazakhstan at instant `ts`: the day a payment or
/// request "happened on" for business-day counting.
pub fn business_date(ts: crate::Timestamp) -> Date {
    ts.to_jiff().to_zoned(almaty()).date()
}

#[cfg(test)]
// In a test a failed unwrap is a failed assertion, which is what we want.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use jiff::civil::date;
    use proptest::prelude::*;

    fn cal() -> &'static KzCalendar {
        kz()
    }

    fn business(y: i16, m: i8, d: i8) -> bool {
        cal().is_business_day(date(y, m, d))
    }

    #[test]
    fn embedded_calendar_parses() {
        assert_eq!(KzCalendar::parse(DATA).err(), None);
    }

    #[test]
    fn embedded_calendar_covers_2024_to_2027() {
        for y in 2024..=2027 {
            assert!(cal().covers(y), "{y}");
        }
        assert!(!cal().covers(2023));
        assert!(!cal().covers(2028));
    }

    #[test]
    fn ordinary_weekdays_work_and_weekends_rest() {
        assert!(business(2025, 2, 12)); // Wednesday
        assert!(!business(2025, 2, 15)); // Saturday
        assert!(!business(2025, 2, 16)); // Sunday
    }

    #[test]
    fn nauryz_is_not_a_business_day() {
        assert!(!business(2024, 3, 21));
        assert!(!business(2024, 3, 22));
        assert!(!business(2025, 3, 21));
    }

    #[test]
    fn saturday_holiday_moves_to_monday() {
        // Capital Day 2024 was a Saturday.
        assert!(!business(2024, 7, 8));
        assert!(business(2024, 7, 9));
        // International Women's Day 2025 was a Saturday.
        assert!(!business(2025, 3, 10));
    }

    #[test]
    fn sunday_holiday_moves_to_monday() {
        assert!(!business(2025, 7, 7)); // Capital Day 2025
        assert!(!business(2026, 10, 26)); // Republic Day 2026
    }

    #[test]
    fn holidays_filling_a_weekend_move_past_the_other_holidays() {
        // Nauryz 2026: Sat 21, Sun 22, Mon 23 March, so Tue 24 and Wed 25
        // are the moved days off and Thursday is back to work.
        assert!(!business(2026, 3, 23));
        assert!(!business(2026, 3, 24));
        assert!(!business(2026, 3, 25));
        assert!(business(2026, 3, 26));
    }

    #[test]
    fn orthodox_christmas_on_sunday_is_not_moved() {
        assert!(!business(2024, 1, 7));
        assert!(business(2024, 1, 8));
    }

    #[test]
    fn kurban_ait_is_a_day_off_but_not_moved() {
        assert!(!business(2025, 6, 6));
        assert!(!business(2026, 5, 27));
        // 2024-06-16 was a Sunday; Monday stays a working day.
        assert!(business(2024, 6, 17));
    }

    #[test]
    fn transferred_weekend_day_is_a_business_day() {
        // Order of 17 April 2024: Saturday 4 May worked, Wednesday 8 May off.
        assert!(business(2024, 5, 4));
        assert!(!business(2024, 5, 8));
        // Order of November 2024: Sunday 5 January worked, Friday 3 off.
        assert!(business(2025, 1, 5));
        assert!(!business(2025, 1, 3));
    }

    #[test]
    fn independence_day_is_one_day_since_2022() {
        assert!(!business(2025, 12, 16));
        assert!(business(2025, 12, 17));
    }

    #[test]
    fn constitution_day_moved_from_30_august_to_15_march() {
        assert!(!business(2025, 9, 1)); // 30 Aug 2025 (Sat) moved to Monday
        assert!(business(2026, 8, 31)); // no longer a holiday in 2026
        assert!(!business(2027, 3, 15));
    }

    #[test]
    fn outside_coverage_fixed_holidays_count_but_nothing_moves() {
        // 2030: Nauryz is Thu 21 - Sat 23 March; without data, the Saturday
        // is not moved to Monday 25.
        assert!(!business(2030, 3, 21));
        assert!(!business(2030, 3, 22));
        assert!(business(2030, 3, 25));
        assert!(!business(2030, 1, 1));
        assert!(!business(2030, 3, 15)); // Constitution Day, a Friday
        assert!(business(2030, 8, 30)); // no longer a holiday
        assert!(!business(2023, 8, 30)); // was one then
        assert!(!business(2023, 10, 25));
        assert!(business(2019, 10, 25));
    }

    #[test]
    fn add_business_days_skips_holidays_moves_and_weekends() {
        // Thu 20 March 2025 + 1: Fri 21 Nauryz, weekend, Mon 24 and Tue 25
        // moved days off, so Wednesday 26.
        assert_eq!(
            cal().add_business_days(date(2025, 3, 20), 1),
            date(2025, 3, 26)
        );
        assert_eq!(
            cal().add_business_days(date(2025, 3, 20), 3),
            date(2025, 3, 28)
        );
        // Counting from a day off starts with the next business day.
        assert_eq!(
            cal().add_business_days(date(2025, 3, 22), 1),
            date(2025, 3, 26)
        );
    }

    #[test]
    fn add_zero_business_days_is_the_same_day() {
        assert_eq!(
            cal().add_business_days(date(2025, 3, 22), 0),
            date(2025, 3, 22)
        );
    }

    #[test]
    fn add_business_days_saturates_at_the_end_of_time() {
        assert_eq!(cal().add_business_days(date(9999, 12, 30), 5), Date::MAX);
    }

    #[test]
    fn business_days_between_is_signed_and_half_open() {
        let c = cal();
        assert_eq!(
            c.business_days_between(date(2025, 3, 20), date(2025, 3, 26)),
            1
        );
        assert_eq!(
            c.business_days_between(date(2025, 3, 26), date(2025, 3, 20)),
            -1
        );
        assert_eq!(
            c.business_days_between(date(2025, 3, 20), date(2025, 3, 20)),
            0
        );
        // Whole of 2025: 365 days - 104 weekend days - 16 weekdays off
        // (11 holidays, 4 moved days off, the transferred Friday 3 January)
        // + the worked Sunday 5 January.
        assert_eq!(
            c.business_days_between(date(2024, 12, 31), date(2025, 12, 31)),
            246
        );
    }

    #[test]
    fn almaty_is_utc_plus_six_before_march_2024() {
        let ts: jiff::Timestamp = "2024-01-15T12:00:00Z".parse().unwrap();
        let local = ts.to_zoned(almaty());
        assert_eq!((local.hour(), local.minute()), (18, 0));
    }

    #[test]
    fn almaty_is_utc_plus_five_since_march_2024() {
        let ts: jiff::Timestamp = "2024-06-01T12:00:00Z".parse().unwrap();
        let local = ts.to_zoned(almaty());
        assert_eq!((local.hour(), local.minute()), (17, 0));
    }

    #[test]
    fn almaty_comes_from_the_tz_database_not_the_fallback() {
        assert_eq!(almaty().iana_name(), Some("Asia/Almaty"));
    }

    #[test]
    fn business_date_is_the_almaty_calendar_date() {
        let at = |s: &str| crate::Timestamp::from_jiff(s.parse::<jiff::Timestamp>().unwrap());
        // 19:00 UTC is already midnight in Almaty.
        assert_eq!(business_date(at("2025-03-20T18:59:59Z")), date(2025, 3, 20));
        assert_eq!(business_date(at("2025-03-20T19:00:00Z")), date(2025, 3, 21));
        // Before the change midnight came an hour earlier.
        assert_eq!(business_date(at("2024-01-15T18:00:00Z")), date(2024, 1, 16));
    }

    #[test]
    fn note_explains_the_day() {
        assert_eq!(cal().note(date(2024, 3, 21)), Some("Nauryz"));
        assert_eq!(cal().note(date(2024, 3, 20)), None);
    }

    fn parse_err(text: &str) -> Option<&'static str> {
        KzCalendar::parse(text).err().map(|e| e.problem)
    }

    #[test]
    fn malformed_calendar_text_is_rejected_with_its_line() {
        assert_eq!(
            KzCalendar::parse("# c\n\n2024-13-01 holiday X").err(),
            Some(CalendarError {
                line: 3,
                problem: "date must be YYYY-MM-DD"
            })
        );
        assert_eq!(
            parse_err("20240101 holiday X"),
            Some("date must be YYYY-MM-DD")
        );
        assert_eq!(parse_err("2024-01-01"), Some("expected a date and a kind"));
        assert_eq!(parse_err("2024-01-01 holiday"), Some("missing name"));
        assert_eq!(parse_err("2024-01-01 holiday   "), Some("missing name"));
        assert_eq!(
            parse_err("2024-01-01 feast X"),
            Some("kind must be holiday, dayoff or workday")
        );
        assert_eq!(
            parse_err("2024-01-01 holiday X\n2024-01-01 dayoff Y"),
            Some("date listed twice")
        );
        assert_eq!(
            parse_err("2024-05-06 workday X"),
            Some("workday on a weekday")
        );
        assert_eq!(
            parse_err("2024-05-05 dayoff X"),
            Some("dayoff on a weekend")
        );
        assert_eq!(
            parse_err("  # indented comment\n2024-05-04 workday X"),
            None
        );
    }

    #[test]
    fn empty_calendar_falls_back_to_statutory_rules() {
        let empty = KzCalendar::default();
        assert!(!empty.covers(2025));
        assert!(!empty.is_business_day(date(2025, 3, 21)));
        assert!(empty.is_business_day(date(2025, 3, 24)));
    }

    /// Orthodox Christmas and Kurban Ait are days off only on the day itself.
    fn never_moved(note: &str) -> bool {
        note == "Orthodox Christmas" || note == "Kurban Ait"
    }

    /// The moved days off the Labour Code prescribes for a year, derived
    /// from the year's holiday lines.
    fn statutory_moves(c: &KzCalendar, year: i16) -> BTreeSet<Date> {
        let holidays: BTreeMap<Date, &str> = c
            .days
            .iter()
            .filter(|(d, e)| d.year() == year && e.kind == Kind::Holiday)
            .map(|(d, e)| (*d, e.note.as_str()))
            .collect();
        let mut moved = BTreeSet::new();
        for (d, note) in &holidays {
            if !is_weekend(*d) || never_moved(note) {
                continue;
            }
            let mut to = d.tomorrow().unwrap();
            while is_weekend(to) || holidays.contains_key(&to) || moved.contains(&to) {
                to = to.tomorrow().unwrap();
            }
            moved.insert(to);
        }
        moved
    }

    #[test]
    fn data_lists_every_statutory_move_and_pairs_every_transfer() {
        let c = cal();
        for &year in &c.years {
            let moves = statutory_moves(c, year);
            for m in &moves {
                assert_eq!(
                    c.days.get(m).map(|e| e.kind),
                    Some(Kind::DayOff),
                    "statutory move {m} missing"
                );
            }
            let count = |k: Kind| {
                c.days
                    .iter()
                    .filter(|(d, e)| d.year() == year && e.kind == k && !moves.contains(d))
                    .count()
            };
            // Every other day off was transferred from a weekend day that is
            // worked instead.
            assert_eq!(count(Kind::DayOff), count(Kind::Workday), "{year}");
        }
    }

    #[test]
    fn data_holidays_match_the_statutory_fixed_dates() {
        let c = cal();
        for &year in &c.years {
            let listed: BTreeSet<Date> = c
                .days
                .iter()
                .filter(|(d, e)| {
                    d.year() == year && e.kind == Kind::Holiday && e.note != "Kurban Ait"
                })
                .map(|(d, _)| *d)
                .collect();
            let mut fixed = BTreeSet::new();
            let mut d = date(year, 1, 1);
            while d.year() == year {
                if is_fixed_statutory_holiday(d) {
                    fixed.insert(d);
                }
                d = d.tomorrow().unwrap();
            }
            assert_eq!(listed, fixed, "{year}");
            let kurban = c
                .days
                .iter()
                .filter(|(d, e)| d.year() == year && e.note == "Kurban Ait")
                .count();
            assert_eq!(kurban, 1, "{year}");
        }
    }

    fn any_date() -> impl Strategy<Value = Date> {
        (2020i16..2032, 1i8..=12, 1i8..=28).prop_map(|(y, m, d)| date(y, m, d))
    }

    proptest! {
        #[test]
        fn adding_n_business_days_lands_n_business_days_later(d in any_date(), n in 0u32..400) {
            let c = cal();
            let end = c.add_business_days(d, n);
            prop_assert_eq!(c.business_days_between(d, end), i64::from(n));
            if n > 0 {
                prop_assert!(c.is_business_day(end));
            }
        }

        #[test]
        fn business_days_between_is_antisymmetric(a in any_date(), b in any_date()) {
            let c = cal();
            prop_assert_eq!(c.business_days_between(a, b), -c.business_days_between(b, a));
        }
    }
}
