//! Bank details a Kazakh invoice carries: the account (IBAN), the bank's BIK
//! and the payee's KBe code.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

const IBAN_FORMAT: Invalid = Invalid::new("iban-format");
const IBAN_CHECKSUM: Invalid = Invalid::new("iban-checksum");
const BIK_FORMAT: Invalid = Invalid::new("bik-format");
const KBE_FORMAT: Invalid = Invalid::new("kbe-format");

/// A Kazakh IBAN: `KZ`, two check digits, a 3-digit bank code and a
/// 13-character alphanumeric account, 20 characters in all (SWIFT IBAN
/// registry). Stored uppercase without spaces, the form payment orders use.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct KzIban(String);

impl KzIban {
    /// Accepts any case and whitespace anywhere, since people copy IBANs
    /// from PDFs and bank apps that print them in groups of four.
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s: String = input
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_uppercase())
            .collect();
        let b = s.as_bytes();
        let well_formed = b.len() == 20
            && b.starts_with(b"KZ")
            && b[2..7].iter().all(u8::is_ascii_digit)
            && b[7..]
                .iter()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit());
        if !well_formed {
            return Err(IBAN_FORMAT);
        }
        if mod97(b) != 1 {
            return Err(IBAN_CHECKSUM);
        }
        Ok(Self(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The 3-digit code of the bank that keeps the account.
    pub fn bank_code(&self) -> &str {
        self.0.get(4..7).unwrap_or_default()
    }
}

/// ISO 13616 / ISO 7064 MOD 97-10: move the first four characters to the end,
/// read letters as 10..35, and take the remainder. Folding digit by digit
/// keeps the number small instead of building a 40-digit integer.
fn mod97(iban: &[u8]) -> u32 {
    let (head, tail) = iban.split_at(4);
    tail.iter().chain(head).fold(0u32, |acc, &c| match c {
        b'0'..=b'9' => (acc * 10 + u32::from(c - b'0')) % 97,
        _ => (acc * 100 + u32::from(c - b'A') + 10) % 97,
    })
}

/// A Kazakh bank's BIK: its SWIFT/BIC code, 8 characters (`KCJBKZKX`) or 11
/// with a branch suffix. Letters 5-6 are the country and must be `KZ`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Bik(String);

impl Bik {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim().to_ascii_uppercase();
        let b = s.as_bytes();
        let alnum = |c: &u8| c.is_ascii_uppercase() || c.is_ascii_digit();
        let well_formed = (b.len() == 8 || b.len() == 11)
            && b[..4].iter().all(u8::is_ascii_uppercase)
            && &b[4..6] == b"KZ"
            && b[6..].iter().all(alnum);
        if well_formed {
            Ok(Self(s))
        } else {
            Err(BIK_FORMAT)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// KBe, the beneficiary code on payment orders: residency (1 resident,
/// 2 non-resident) followed by the economic sector (1-9).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Kbe(String);

impl Kbe {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim();
        match s.as_bytes() {
            [b'1' | b'2', b'1'..=b'9'] => Ok(Self(s.to_owned())),
            _ => Err(KBE_FORMAT),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_resident(&self) -> bool {
        self.0.starts_with('1')
    }
}

macro_rules! string_value {
    ($t:ty) => {
        impl FromStr for $t {
            type Err = Invalid;

            fn from_str(s: &str) -> Result<Self, Invalid> {
                Self::parse(s)
            }
        }

        impl TryFrom<String> for $t {
            type Error = Invalid;

            fn try_from(s: String) -> Result<Self, Invalid> {
                Self::parse(&s)
            }
        }

        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl serde::Serialize for $t {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
    };
}

string_value!(KzIban);
string_value!(Bik);
string_value!(Kbe);

#[cfg(test)]
// In a test a failed unwrap is a failed assertion, which is what we want.
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn iban(s: &str) -> Result<String, &'static str> {
        KzIban::parse(s).map(|v| v.0).map_err(|e| e.code)
    }

    #[test]
    fn registry_example_iban_is_valid() {
        // The Kazakhstan example of the SWIFT IBAN registry.
        assert_eq!(
            iban("KZ86125KZT5004100100"),
            Ok("KZ86125KZT5004100100".to_owned())
        );
    }

    #[test]
    fn iban_accepts_spaces_and_lowercase_and_normalizes() {
        assert_eq!(
            iban(" kz86 125k zt50 0410 0100 "),
            Ok("KZ86125KZT5004100100".to_owned())
        );
        // A no-break space, as PDFs produce when grouping.
        assert_eq!(
            iban("KZ86\u{a0}125K\u{a0}ZT50\u{a0}0410\u{a0}0100"),
            Ok("KZ86125KZT5004100100".to_owned())
        );
    }

    #[test]
    fn iban_bank_code_is_digits_five_to_seven() {
        let v = KzIban::parse("KZ86125KZT5004100100").unwrap();
        assert_eq!(v.bank_code(), "125");
    }

    #[test]
    fn iban_with_wrong_check_digits_fails_checksum() {
        assert_eq!(iban("KZ87125KZT5004100100"), Err("iban-checksum"));
        // Two swapped adjacent characters.
        assert_eq!(iban("KZ86125KZT5004101000"), Err("iban-checksum"));
    }

    #[test]
    fn iban_of_wrong_shape_is_a_format_error() {
        for s in [
            "",
            "KZ86125KZT500410010",         // 19 characters
            "KZ86125KZT50041001000",       // 21 characters
            "DE89370400440532013000",      // valid German IBAN
            "KZ8A125KZT5004100100",        // letter in the check digits
            "KZ86A25KZT5004100100",        // letter in the bank code
            "KZ86125KZT500410010-",        // punctuation in the account
            "KZ86125KZT50041001\u{0130}0", // non-ASCII uppercase
        ] {
            assert_eq!(iban(s), Err("iban-format"), "{s:?}");
        }
    }

    #[test]
    fn computed_ibans_are_valid() {
        // Check digits computed as 98 - (BBAN + "KZ00" read mod 97).
        for s in [
            "KZ18722S000012345678",
            "KZ90601A861000000123",
            "KZ070000000000000000",
        ] {
            assert!(iban(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn bik_of_eight_or_eleven_characters_with_kz_is_valid() {
        assert_eq!(Bik::parse("KCJBKZKX").map(|b| b.0), Ok("KCJBKZKX".into()));
        assert_eq!(Bik::parse(" hsbkkzkx ").map(|b| b.0), Ok("HSBKKZKX".into()));
        assert_eq!(
            Bik::parse("CASPKZKAXXX").map(|b| b.0),
            Ok("CASPKZKAXXX".into())
        );
    }

    #[test]
    fn bik_outside_kazakhstan_or_of_wrong_length_is_rejected() {
        for s in [
            "",
            "KCJBKZK",
            "KCJBKZKXX",
            "KCJBKZKX12",
            "DEUTDEFF",
            "KCJ1KZKX",
            "KCJB KZKX",
        ] {
            assert_eq!(
                Bik::parse(s).map_err(|e| e.code),
                Err("bik-format"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn kbe_is_residency_then_sector() {
        assert!(Kbe::parse("17").unwrap().is_resident());
        assert!(!Kbe::parse(" 29 ").unwrap().is_resident());
        for s in ["", "1", "10", "30", "07", "171", "1a"] {
            assert_eq!(
                Kbe::parse(s).map_err(|e| e.code),
                Err("kbe-format"),
                "{s:?}"
            );
        }
    }

    #[test]
    fn display_and_from_str_round_trip() {
        let v: KzIban = "kz86 125k zt50 0410 0100".parse().unwrap();
        assert_eq!(v.to_string(), "KZ86125KZT5004100100");
        let b: Bik = "kcjbkzkx".parse().unwrap();
        assert_eq!(b.to_string(), "KCJBKZKX");
        let k: Kbe = "19".parse().unwrap();
        assert_eq!(k.to_string(), "19");
    }

    #[test]
    fn deserializing_validates() {
        use serde::Deserialize;
        use serde::de::IntoDeserializer;
        use serde::de::value::Error;
        let de = |s: &str| IntoDeserializer::<Error>::into_deserializer(s.to_owned());
        assert!(KzIban::deserialize(de("KZ86125KZT5004100100")).is_ok());
        assert!(KzIban::deserialize(de("KZ87125KZT5004100100")).is_err());
        assert!(Bik::deserialize(de("DEUTDEFF")).is_err());
        assert!(Kbe::deserialize(de("31")).is_err());
    }

    fn with_check_digits(bban: &str) -> String {
        let mut probe = format!("KZ00{bban}").into_bytes();
        let check = 98 - mod97(&probe);
        probe[2] = b'0' + (check / 10) as u8;
        probe[3] = b'0' + (check % 10) as u8;
        String::from_utf8(probe).unwrap()
    }

    proptest! {
        #[test]
        fn any_valid_iban_with_one_digit_changed_fails(
            bank in "[0-9]{3}",
            account in "[A-Z0-9]{13}",
            pick in any::<prop::sample::Index>(),
            delta in 1u8..10,
        ) {
            let good = with_check_digits(&format!("{bank}{account}"));
            prop_assert!(KzIban::parse(&good).is_ok(), "{}", good);
            let digits: Vec<usize> = good
                .bytes()
                .enumerate()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(i, _)| i)
                .collect();
            let at = digits[pick.index(digits.len())];
            let mut bad = good.into_bytes();
            bad[at] = b'0' + (bad[at] - b'0' + delta) % 10;
            let bad = String::from_utf8(bad).unwrap();
            prop_assert_eq!(iban(&bad), Err("iban-checksum"));
        }
    }
}
