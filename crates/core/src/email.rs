//! E-mail addresses, checked only as far as a form needs: whether an address
//! works is proven by a confirmation mail, not by a parser.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

const FORMAT: Invalid = Invalid::new("email-format");

/// An address in the common `local@domain.tld` shape, trimmed and lowercased
/// so that one mailbox is one account however it was typed.
///
/// Deliberately narrower than RFC 5321/5322:
/// * the local part is a dot-atom of ASCII letters, digits and
///   ``!#$%&'*+/=?^_`{|}~-`` (no quoted strings, comments or non-ASCII),
///   because those forms are almost always typos in a sign-up form and many
///   mail providers refuse them anyway;
/// * internationalized domains must be entered in their `xn--` form, since
///   converting Unicode to punycode needs IDNA tables this crate does not
///   carry;
/// * IP-literal domains and all-digit top-level labels are refused: a
///   business customer's address always has a real domain.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

const MAX_LEN: usize = 254;
const MAX_LOCAL: usize = 64;
const MAX_LABEL: usize = 63;

impl Email {
    pub fn parse(input: &str) -> Result<Self, Invalid> {
        let s = input.trim().to_lowercase();
        if s.len() > MAX_LEN || !s.is_ascii() {
            return Err(FORMAT);
        }
        let (local, domain) = s.split_once('@').ok_or(FORMAT)?;
        if local_ok(local) && domain_ok(domain) {
            Ok(Self(s))
        } else {
            Err(FORMAT)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

fn local_ok(local: &str) -> bool {
    let atom_char = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+/=?^_`{|}~-".contains(c);
    !local.is_empty()
        && local.len() <= MAX_LOCAL
        && local
            .split('.')
            .all(|atom| !atom.is_empty() && atom.chars().all(atom_char))
}

fn domain_ok(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |l: &&str| {
        !l.is_empty()
            && l.len() <= MAX_LABEL
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.chars().all(|c| c.is_ascii_digit()))
}

impl FromStr for Email {
    type Err = Invalid;

    fn from_str(s: &str) -> Result<Self, Invalid> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Email {
    type Error = Invalid;

    fn try_from(s: String) -> Result<Self, Invalid> {
        Self::parse(&s)
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl serde::Serialize for Email {
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
        Email::parse(s).map(|e| e.0).map_err(|e| e.code)
    }

    #[test]
    fn address_is_trimmed_and_lowercased() {
        assert_eq!(
            parse("  Aigerim.Nurlanova@Mail.KZ \n"),
            Ok("aigerim.nurlanova@mail.kz".to_owned())
        );
    }

    #[test]
    fn common_valid_shapes_are_accepted() {
        for s in [
            "a@b.kz",
            "first.last+tag@sub.domain.example.com",
            "o'brien@example.org",
            "x_y-z@my-company.kz",
            "user@xn--80ao21a.xn--80ao21a",
            "1@2.kz",
        ] {
            assert!(parse(s).is_ok(), "{s}");
        }
    }

    #[test]
    fn exactly_one_at_sign_is_required() {
        assert_eq!(parse("user.example.kz"), Err("email-format"));
        assert_eq!(parse("a@b@example.kz"), Err("email-format"));
    }

    #[test]
    fn local_part_must_be_a_non_empty_dot_atom_of_at_most_64() {
        assert_eq!(parse("@example.kz"), Err("email-format"));
        assert_eq!(parse(".a@example.kz"), Err("email-format"));
        assert_eq!(parse("a.@example.kz"), Err("email-format"));
        assert_eq!(parse("a..b@example.kz"), Err("email-format"));
        assert_eq!(parse("\"a b\"@example.kz"), Err("email-format"));
        let max = "a".repeat(64);
        assert!(parse(&format!("{max}@example.kz")).is_ok());
        assert_eq!(parse(&format!("{max}a@example.kz")), Err("email-format"));
    }

    #[test]
    fn domain_needs_a_dot_and_clean_labels() {
        for s in [
            "a@localhost",
            "a@example.",
            "a@.example.kz",
            "a@exa..mple.kz",
            "a@-example.kz",
            "a@example-.kz",
            "a@exa_mple.kz",
            "a@[127.0.0.1]",
            "a@127.0.0.1",
        ] {
            assert_eq!(parse(s), Err("email-format"), "{s}");
        }
        let long_label = "a".repeat(64);
        assert_eq!(parse(&format!("a@{long_label}.kz")), Err("email-format"));
    }

    #[test]
    fn internationalized_domain_is_rejected() {
        assert_eq!(parse("user@пример.қаз"), Err("email-format"));
        assert_eq!(parse("айгерім@mail.kz"), Err("email-format"));
    }

    #[test]
    fn whitespace_and_control_characters_are_rejected() {
        for s in [
            "a b@example.kz",
            "a@exa mple.kz",
            "a\t@example.kz",
            "a@example.kz\u{0}",
        ] {
            assert_eq!(parse(s), Err("email-format"), "{s:?}");
        }
    }

    #[test]
    fn total_length_is_at_most_254() {
        // 64 + 1 + (63 + 1) * 2 + (58 + 1) + 2 = 254
        let local = "a".repeat(64);
        let l63 = "b".repeat(63);
        let tail = "c".repeat(58);
        let at_limit = format!("{local}@{l63}.{l63}.{tail}.kz");
        assert_eq!(at_limit.len(), 254);
        assert!(parse(&at_limit).is_ok());
        let over = format!("{local}@{l63}.{l63}.{tail}c.kz");
        assert_eq!(parse(&over), Err("email-format"));
    }

    #[test]
    fn domain_accessor_returns_the_part_after_at() {
        assert_eq!(Email::parse("A@Example.KZ").unwrap().domain(), "example.kz");
    }

    proptest! {
        #[test]
        fn parse_is_idempotent(local in "[a-zA-Z0-9._+-]{1,20}", domain in "[a-zA-Z0-9-]{1,20}\\.[a-z]{2,6}") {
            let input = format!("{local}@{domain}");
            if let Ok(once) = Email::parse(&input) {
                prop_assert_eq!(Email::parse(once.as_str()), Ok(once.clone()));
                prop_assert_eq!(once.as_str(), input.trim().to_lowercase());
            }
        }
    }
}
