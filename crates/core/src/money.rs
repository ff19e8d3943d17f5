//! Amounts of tenge, held as whole tiyn in an `i64` so that sums, refunds and
//! splits are exact; a float never touches money.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

const FORMAT: Invalid = Invalid::new("money-format");
const FRACTION: Invalid = Invalid::new("money-fraction");
const RANGE: Invalid = Invalid::new("money-range");

const NBSP: char = '\u{a0}';
/// Narrow no-break space: what browsers' `Intl.NumberFormat` and some
/// spreadsheets put between thousands when the text is copied.
const NNBSP: char = '\u{202f}';

/// An amount in tiyn (1 KZT = 100 tiyn).
#[derive(
    Debug,
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    serde::Serialize,
    serde::Deserialize,
)]
#[serde(transparent)]
pub struct Money(i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub const fn from_tiyn(tiyn: i64) -> Self {
        Self(tiyn)
    }

    pub const fn tiyn(self) -> i64 {
        self.0
    }

    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.0.checked_sub(other.0).map(Money)
    }

    pub const fn is_positive(self) -> bool {
        self.0 > 0
    }

    /// Reads an amount of tenge as people type it: `1234`, `1 234,56`,
    /// `1234.5`, `1 234.50 ₸`. Thousands may be grouped by a space, a
    /// no-break space or a narrow no-break space, but then every group after
    /// the first must have exactly three digits, so `12 34` is refused rather
    /// than guessed at. Either `,` or `.` is the decimal mark; a text with
    /// both is refused because which of them marks the decimals depends on
    /// the writer's locale. A sign is refused: amounts typed into forms are
    /// prices and payments, which are never negative.
    pub fn parse_tenge(input: &str) -> Result<Money, Invalid> {
        let s = input.trim();
        let s = s.strip_suffix('₸').map_or(s, str::trim_end);
        if s.contains(',') && s.contains('.') {
            return Err(FORMAT);
        }
        let (whole, fraction) = match s.split_once([',', '.']) {
            Some((w, f)) => (w, Some(f)),
            None => (s, None),
        };
        let tenge = parse_grouped(whole)?;
        let tiyn = match fraction {
            None => 0,
            Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
                return Err(FORMAT);
            }
            Some(f) if f.len() > 2 => return Err(FRACTION),
            Some(f) => {
                let n: i64 = f.bytes().fold(0, |acc, b| acc * 10 + i64::from(b - b'0'));
                if f.len() == 1 { n * 10 } else { n }
            }
        };
        tenge
            .checked_mul(100)
            .and_then(|t| t.checked_add(tiyn))
            .map(Money)
            .ok_or(RANGE)
    }

    /// `1 234,56 ₸` (with a no-break space inside the number).
    pub fn format_kzt(&self) -> String {
        format!("{self} ₸")
    }
}

/// The integer part: digits, optionally in groups of three after a first
/// group of one to three.
fn parse_grouped(whole: &str) -> Result<i64, Invalid> {
    let groups: Vec<&str> = whole.split([' ', NBSP, NNBSP]).collect();
    let (first, rest) = groups.split_first().ok_or(FORMAT)?;
    let digits_only = |g: &str| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit());
    let grouped = rest.is_empty() || (first.len() <= 3 && rest.iter().all(|g| g.len() == 3));
    if !grouped || !groups.iter().all(|g| digits_only(g)) {
        return Err(FORMAT);
    }
    groups
        .iter()
        .flat_map(|g| g.bytes())
        .try_fold(0i64, |acc, b| {
            acc.checked_mul(10)?.checked_add(i64::from(b - b'0'))
        })
        .ok_or(RANGE)
}

impl FromStr for Money {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::parse_tenge(s)
    }
}

/// `1 234,56`: no-break space between thousands so the amount never wraps
/// across lines, comma as the decimal mark as Kazakh documents write it, and
/// always two decimals so columns of amounts line up.
impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // `unsigned_abs` because `-i64::MIN` does not exist.
        let abs = self.0.unsigned_abs();
        let whole = (abs / 100).to_string();
        let mut out = String::with_capacity(whole.len() * 2 + 4);
        if self.0 < 0 {
            out.push('-');
        }
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i).is_multiple_of(3) {
                out.push(NBSP);
            }
            out.push(c);
        }
        let cents = abs % 100;
        out.push(',');
        out.push(char::from(b'0' + (cents / 10) as u8));
        out.push(char::from(b'0' + (cents % 10) as u8));
        // `pad` so that width and alignment flags work in tables.
        f.pad(&out)
    }
}

#[cfg(test)]
// In a test a failed unwrap is a failed assertion, which is what we want.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn tiyn(s: &str) -> Result<i64, &'static str> {
        Money::parse_tenge(s).map(Money::tiyn).map_err(|e| e.code)
    }

    #[test]
    fn plain_and_grouped_amounts_parse() {
        assert_eq!(tiyn("1234"), Ok(123_400));
        assert_eq!(tiyn("1 234,56"), Ok(123_456));
        assert_eq!(tiyn("1234.5"), Ok(123_450));
        assert_eq!(tiyn("1 234.50 ₸"), Ok(123_450));
        assert_eq!(tiyn("1\u{a0}234\u{a0}567,89"), Ok(123_456_789));
        assert_eq!(tiyn("1\u{202f}000"), Ok(100_000));
        assert_eq!(tiyn("  0,05₸ "), Ok(5));
        assert_eq!(tiyn("0"), Ok(0));
        assert_eq!(tiyn("007"), Ok(700));
    }

    #[test]
    fn more_than_two_fraction_digits_is_a_fraction_error() {
        assert_eq!(tiyn("1,234"), Err("money-fraction"));
        assert_eq!(tiyn("0.001"), Err("money-fraction"));
    }

    #[test]
    fn negative_or_malformed_amounts_are_format_errors() {
        for s in [
            "",
            " ",
            "₸",
            "-1",
            "+1",
            "1,234.56",
            "1.234,56",
            "12 34",
            "1234 567",
            "1  234",
            ",5",
            "5,",
            "1e3",
            "1_000",
            "１２",
            "1,2,3",
            "1 ,5",
            "₸ 100",
            "1 234₸₸",
        ] {
            assert_eq!(tiyn(s), Err("money-format"), "{s:?}");
        }
    }

    #[test]
    fn amounts_beyond_i64_tiyn_are_range_errors() {
        // i64::MAX tiyn = 92 233 720 368 547 758,07 tenge.
        assert_eq!(tiyn("92233720368547758,07"), Ok(i64::MAX));
        assert_eq!(tiyn("92233720368547758,08"), Err("money-range"));
        assert_eq!(tiyn("92233720368547759"), Err("money-range"));
        assert_eq!(tiyn("99999999999999999999999"), Err("money-range"));
    }

    #[test]
    fn display_groups_thousands_with_nbsp_and_always_two_decimals() {
        assert_eq!(Money::from_tiyn(123_456).to_string(), "1\u{a0}234,56");
        assert_eq!(Money::from_tiyn(0).to_string(), "0,00");
        assert_eq!(Money::from_tiyn(5).to_string(), "0,05");
        assert_eq!(Money::from_tiyn(100_000).to_string(), "1\u{a0}000,00");
        assert_eq!(Money::from_tiyn(99_999).to_string(), "999,99");
        assert_eq!(
            Money::from_tiyn(12_345_678_900).to_string(),
            "123\u{a0}456\u{a0}789,00"
        );
        assert_eq!(Money::from_tiyn(-123_456).to_string(), "-1\u{a0}234,56");
        assert_eq!(
            Money::from_tiyn(i64::MIN).to_string(),
            "-92\u{a0}233\u{a0}720\u{a0}368\u{a0}547\u{a0}758,08"
        );
    }

    #[test]
    fn format_kzt_appends_the_tenge_sign() {
        assert_eq!(Money::from_tiyn(123_456).format_kzt(), "1\u{a0}234,56 ₸");
    }

    #[test]
    fn checked_arithmetic_reports_overflow() {
        let max = Money::from_tiyn(i64::MAX);
        assert_eq!(max.checked_add(Money::from_tiyn(1)), None);
        assert_eq!(
            Money::from_tiyn(5).checked_sub(Money::from_tiyn(7)),
            Some(Money::from_tiyn(-2))
        );
        assert_eq!(
            Money::from_tiyn(i64::MIN).checked_sub(Money::from_tiyn(1)),
            None
        );
        assert!(Money::from_tiyn(1).is_positive());
        assert!(!Money::ZERO.is_positive());
        assert!(!Money::from_tiyn(-1).is_positive());
    }

    #[test]
    fn serde_is_the_bare_tiyn_integer() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::Error;
        let m = Money::deserialize(IntoDeserializer::<Error>::into_deserializer(12_345i64));
        assert_eq!(m, Ok(Money::from_tiyn(12_345)));
    }

    proptest! {
        #[test]
        fn display_then_parse_round_trips(t in 0i64..=i64::MAX) {
            let m = Money::from_tiyn(t);
            prop_assert_eq!(Money::parse_tenge(&m.to_string()), Ok(m));
            prop_assert_eq!(Money::parse_tenge(&m.format_kzt()), Ok(m));
        }

        #[test]
        fn plain_decimal_text_parses_to_its_value(tenge in 0i64..10_000_000_000, frac in 0i64..100) {
            let text = format!("{tenge}.{frac:02}");
            prop_assert_eq!(tiyn(&text), Ok(tenge * 100 + frac));
        }
    }
}
