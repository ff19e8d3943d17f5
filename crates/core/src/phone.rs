//! Kazakhstan mobile numbers, the contact every customer gives and the
//! channel codes and receipts are sent to.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

const FORMAT: Invalid = Invalid::new("phone-format");

/// A Kazakh mobile number in E.164 form, `+77011234567`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct KzPhone(String);

/// Mobile codes after +7, taken from the KZ mobile pattern of Google's
/// libphonenumber metadata (`7(?:0[0-25-8]|47|6[0-4]|7[15-8]|85)`) rather
/// than from a list of operators, because operators merge and rebrand while
/// the numbering plan stays. 703, 704 and 709 are not allocated, so a number
/// there is a typo; landline codes (71x, 72x) are refused because the number
/// must be able to receive SMS.
const MOBILE_CODES: [&str; 19] = [
    "700", "701", "702", "705", "706", "707", "708", "747", "760", "761", "762", "763", "764",
    "771", "775", "776", "777", "778", "785",
];

impl KzPhone {
    /// Accepts the ways people write a number: `+7 (701) 123-45-67`,
    /// `87011234567` (8 is the domestic trunk prefix), `77011234567` and the
    /// bare `7011234567`. Spaces, brackets, dashes and dots are ignored; any
    /// other character is an error rather than silently dropped, so that a
    /// pasted "701 123 45 67 ext 2" is not accepted as a different number.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        let (plus, rest) = match s.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let mut digits = String::with_capacity(11);
        for c in rest.chars() {
            match c {
                '0'..='9' => digits.push(c),
                ' ' | '\u{a0}' | '(' | ')' | '-' | '.' => {}
                _ => return Err(FORMAT),
            }
        }
        let national = match (plus, digits.len(), digits.as_bytes().first()) {
            (true, 11, Some(b'7')) | (false, 11, Some(b'7' | b'8')) => &digits[1..],
            (false, 10, _) => &digits[..],
            _ => return Err(FORMAT),
        };
        if MOBILE_CODES.contains(&&national[..3]) {
            Ok(Self(format!("+7{national}")))
        } else {
            Err(FORMAT)
        }
    }

    /// `+77011234567`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KzPhone {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::parse(s)
    }
}

impl TryFrom<String> for KzPhone {
    type Error = Invalid;

    fn try_from(s: String) -> Result<Self, Invalid> {
        Self::parse(&s)
    }
}

impl fmt::Display for KzPhone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for KzPhone {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
// In a test a failed unwrap is a failed assertion, which is what we want.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse(s: &str) -> Result<String, &'static str> {
        KzPhone::parse(s).map(|p| p.0).map_err(|e| e.code)
    }

    #[test]
    fn common_spellings_normalize_to_e164() {
        for s in [
            "+7 (701) 123-45-67",
            "+77011234567",
            "87011234567",
            "8 701 123 45 67",
            "77011234567",
            "7011234567",
            "701.123.45.67",
            " +7\u{a0}701\u{a0}123\u{a0}45\u{a0}67 ",
        ] {
            assert_eq!(parse(s), Ok("+77011234567".to_owned()), "{s:?}");
        }
    }

    #[test]
    fn every_operator_code_is_accepted() {
        for code in MOBILE_CODES {
            assert_eq!(
                parse(&format!("8{code}1234567")),
                Ok(format!("+7{code}1234567"))
            );
        }
    }

    #[test]
    fn landline_and_unallocated_codes_are_rejected() {
        for s in [
            "+77272123456",
            "87172123456",
            "87031234567",
            "87091234567",
            "87501234567",
        ] {
            assert_eq!(parse(s), Err("phone-format"), "{s}");
        }
    }

    #[test]
    fn russian_numbers_are_rejected() {
        assert_eq!(parse("+79161234567"), Err("phone-format"));
        assert_eq!(parse("89161234567"), Err("phone-format"));
    }

    #[test]
    fn wrong_length_or_prefix_is_rejected() {
        for s in [
            "",
            "+7",
            "701123456",
            "+7701123456",
            "+770112345678",
            "+87011234567",
            "97011234567",
            "007011234567",
        ] {
            assert_eq!(parse(s), Err("phone-format"), "{s:?}");
        }
    }

    #[test]
    fn stray_characters_are_rejected_not_dropped() {
        for s in [
            "+7 701 123 45 67 ext 2",
            "+7701123456a",
            "7011234567#",
            "++77011234567",
        ] {
            assert_eq!(parse(s), Err("phone-format"), "{s:?}");
        }
    }

    #[test]
    fn display_and_from_str_use_e164() {
        let p: KzPhone = "8 (777) 000-00-01".parse().unwrap();
        assert_eq!(p.to_string(), "+77770000001");
    }

    proptest! {
        #[test]
        fn normalized_number_parses_to_itself(
            code in prop::sample::select(MOBILE_CODES.to_vec()),
            rest in "[0-9]{7}",
        ) {
            let p = KzPhone::parse(&format!("8 ({code}) {rest}")).unwrap();
            prop_assert_eq!(KzPhone::parse(p.as_str()), Ok(p.clone()));
            prop_assert_eq!(p.as_str(), format!("+7{code}{rest}"));
        }
    }
}
