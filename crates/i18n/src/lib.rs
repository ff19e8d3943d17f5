//! Texts in Russian, Kazakh and English, from the Fluent files under
//! `locales/<lang>/`: `main.ftl` for the platform's pages and one file per
//! capability. The files are compiled into the binary, so pages, e-mails
//! and documents rendered by any crate speak the same words; a test fails
//! when a key is missing from any language or defined twice.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use tabys_core::Timestamp;
use tabys_core::locale::Locale;
use tabys_core::money::Money;

/// Every Fluent file: its language, its name and its text.
pub const SOURCES: [(Locale, &str, &str); 15] = [
    (
        Locale::Ru,
        "main",
        include_str!("../../../locales/ru/main.ftl"),
    ),
    (
        Locale::Ru,
        "notify",
        include_str!("../../../locales/ru/notify.ftl"),
    ),
    (
        Locale::Ru,
        "learning",
        include_str!("../../../locales/ru/learning.ftl"),
    ),
    (
        Locale::Ru,
        "live",
        include_str!("../../../locales/ru/live.ftl"),
    ),
    (
        Locale::Ru,
        "bookings",
        include_str!("../../../locales/ru/bookings.ftl"),
    ),
    (
        Locale::Kk,
        "main",
        include_str!("../../../locales/kk/main.ftl"),
    ),
    (
        Locale::Kk,
        "notify",
        include_str!("../../../locales/kk/notify.ftl"),
    ),
    (
        Locale::Kk,
        "learning",
        include_str!("../../../locales/kk/learning.ftl"),
    ),
    (
        Locale::Kk,
        "live",
        include_str!("../../../locales/kk/live.ftl"),
    ),
    (
        Locale::Kk,
        "bookings",
        include_str!("../../../locales/kk/bookings.ftl"),
    ),
    (
        Locale::En,
        "main",
        include_str!("../../../locales/en/main.ftl"),
    ),
    (
        Locale::En,
        "notify",
        include_str!("../../../locales/en/notify.ftl"),
    ),
    (
        Locale::En,
        "learning",
        include_str!("../../../locales/en/learning.ftl"),
    ),
    (
        Locale::En,
        "live",
        include_str!("../../../locales/en/live.ftl"),
    ),
    (
        Locale::En,
        "bookings",
        include_str!("../../../locales/en/bookings.ftl"),
    ),
];

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<Locale, Bundle> {
    static BUNDLES: OnceLock<HashMap<Locale, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Locale::ALL
            .iter()
            .map(|locale| (*locale, bundle(*locale)))
            .collect()
    })
}

fn bundle(locale: Locale) -> Bundle {
    let lang = locale.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    // No Unicode isolation marks around arguments: they show up in e-mails
    // and PDFs as stray characters.
    bundle.set_use_isolating(false);
    for (_, file, source) in SOURCES.iter().filter(|(l, _, _)| *l == locale) {
        // A syntax error keeps the good entries; a test reports it.
        let resource =
            FluentResource::try_new(source.to_string()).unwrap_or_else(|(partial, _)| partial);
        if let Err(errors) = bundle.add_resource(resource) {
            tracing::error!(
                locale = locale.code(),
                file,
                ?errors,
                "duplicate keys in locale files"
            );
        }
    }
    bundle
}

/// The translator for one request or one message.
#[derive(Clone, Copy)]
pub struct Tr {
    pub locale: Locale,
}

impl Tr {
    pub fn new(locale: Locale) -> Self {
        Self { locale }
    }

    pub fn lang(&self) -> &'static str {
        self.locale.code()
    }

    /// The text for `key`; the key itself if it is missing (and a test fails).
    pub fn t(&self, key: &str) -> String {
        self.format(key, None)
    }

    /// The text for `key` with one argument.
    pub fn t1(&self, key: &str, name: &str, value: &str) -> String {
        let mut args = FluentArgs::new();
        args.set(name, FluentValue::from(value.to_string()));
        self.format(key, Some(&args))
    }

    /// The text for `key` with a number, for plural forms.
    pub fn n(&self, key: &str, count: i64) -> String {
        let mut args = FluentArgs::new();
        args.set("count", FluentValue::from(count));
        self.format(key, Some(&args))
    }

    /// The text for `key` with arguments stored as JSON (a notification's):
    /// strings and numbers are passed on, anything else is left out.
    pub fn with_args(
        &self,
        key: &str,
        values: &serde_json::Map<String, serde_json::Value>,
    ) -> String {
        let mut args = FluentArgs::new();
        for (name, value) in values {
            match value {
                serde_json::Value::String(s) => {
                    args.set(name.clone(), FluentValue::from(s.clone()))
                }
                serde_json::Value::Number(n) => match n.as_i64() {
                    Some(i) => args.set(name.clone(), FluentValue::from(i)),
                    None => args.set(name.clone(), FluentValue::from(n.to_string())),
                },
                _ => {}
            }
        }
        self.format(key, Some(&args))
    }

    /// The text for a key made of a prefix and a code (`alert-` + kind).
    pub fn prefixed(&self, prefix: &str, code: &str) -> String {
        self.t(&format!("{prefix}{code}"))
    }

    /// A moment as people in Kazakhstan read it: `02.03.2026 14:00`, Almaty time.
    pub fn when(&self, t: impl Val<Timestamp>) -> String {
        t.val()
            .to_jiff()
            .to_zoned(tabys_core::calendar::almaty())
            .strftime("%d.%m.%Y %H:%M")
            .to_string()
    }

    /// An amount in tenge: `1 500,00 ₸`.
    pub fn money(&self, m: impl Val<Money>) -> String {
        m.val().format_kzt()
    }

    /// A role's name.
    pub fn role(&self, role: impl std::borrow::Borrow<tabys_accounts::Role>) -> String {
        self.t(&format!("role-{}", role.borrow().code()))
    }

    /// A legal form's name.
    pub fn legal_form(
        &self,
        form: impl std::borrow::Borrow<tabys_accounts::organizers::LegalForm>,
    ) -> String {
        self.t(&format!("legal-form-{}", form.borrow().code()))
    }

    /// The message for an error code.
    pub fn err(&self, code: &str) -> String {
        let key = format!("err-{code}");
        if self.has(&key) {
            self.t(&key)
        } else {
            self.t("err-invalid")
        }
    }

    pub fn has(&self, key: &str) -> bool {
        bundles()
            .get(&self.locale)
            .is_some_and(|b| b.has_message(key))
    }

    fn format(&self, key: &str, args: Option<&FluentArgs>) -> String {
        let Some(bundle) = bundles().get(&self.locale) else {
            return key.to_string();
        };
        let Some(pattern) = bundle.get_message(key).and_then(|m| m.value()) else {
            tracing::warn!(key, locale = self.locale.code(), "missing translation");
            return key.to_string();
        };
        let mut errors = Vec::new();
        bundle
            .format_pattern(pattern, args, &mut errors)
            .into_owned()
    }
}

/// Templates hand a value to a method by value or by one or two
/// references, depending on where it comes from; this takes all three.
pub trait Val<T: Copy> {
    fn val(&self) -> T;
}

impl<T: Copy> Val<T> for T {
    fn val(&self) -> T {
        *self
    }
}

impl<T: Copy> Val<T> for &T {
    fn val(&self) -> T {
        **self
    }
}

impl<T: Copy> Val<T> for &&T {
    fn val(&self) -> T {
        ***self
    }
}

/// Money columns store whole tiyn, times UTC milliseconds: both reach
/// templates as plain numbers too.
impl Val<Timestamp> for i64 {
    fn val(&self) -> Timestamp {
        Timestamp(*self)
    }
}

impl Val<Timestamp> for &i64 {
    fn val(&self) -> Timestamp {
        Timestamp(**self)
    }
}

impl Val<Timestamp> for &&i64 {
    fn val(&self) -> Timestamp {
        Timestamp(***self)
    }
}

/// The message keys a Fluent source defines.
pub fn keys(source: &str) -> Vec<String> {
    source
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '\t', '.', '*', '[', '}']) && l.contains(" ="))
        .filter_map(|l| l.split(" =").next())
        .map(|k| k.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_locale_file_parses_without_errors() {
        for (locale, file, source) in SOURCES {
            if let Err((_, errors)) = FluentResource::try_new(source.to_string()) {
                panic!("{}/{file}.ftl: {errors:?}", locale.code());
            }
        }
    }

    fn keys_of(locale: Locale) -> Vec<String> {
        SOURCES
            .iter()
            .filter(|(l, _, _)| *l == locale)
            .flat_map(|(_, _, s)| keys(s))
            .collect()
    }

    #[test]
    fn every_key_exists_in_all_three_languages() {
        let sets: Vec<(Locale, BTreeSet<String>)> = Locale::ALL
            .iter()
            .map(|l| (*l, keys_of(*l).into_iter().collect()))
            .collect();
        let all: BTreeSet<String> = sets.iter().flat_map(|(_, s)| s.iter().cloned()).collect();
        for (locale, set) in &sets {
            let missing: Vec<_> = all.difference(set).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", locale.code());
        }
    }

    #[test]
    fn no_key_is_defined_twice() {
        for locale in Locale::ALL {
            let mut seen = BTreeSet::new();
            let twice: Vec<String> = keys_of(locale)
                .into_iter()
                .filter(|k| !seen.insert(k.clone()))
                .collect();
            assert!(
                twice.is_empty(),
                "{} defines twice {twice:?}",
                locale.code()
            );
        }
    }

    #[test]
    fn a_key_of_a_capability_file_is_found() {
        // Every file is loaded, not only the first one of a language.
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            for (l, file, source) in SOURCES {
                if l != locale {
                    continue;
                }
                for key in keys(source) {
                    assert!(tr.has(&key), "{}/{file}.ftl: {key}", locale.code());
                }
            }
        }
    }

    #[test]
    fn plural_forms_follow_the_language() {
        assert_eq!(
            Tr::new(Locale::Ru).n("sessions-count", 1),
            "1 активный сеанс"
        );
        assert_eq!(
            Tr::new(Locale::Ru).n("sessions-count", 3),
            "3 активных сеанса"
        );
        assert_eq!(
            Tr::new(Locale::Ru).n("sessions-count", 5),
            "5 активных сеансов"
        );
        assert_eq!(
            Tr::new(Locale::En).n("sessions-count", 1),
            "1 active session"
        );
        assert_eq!(
            Tr::new(Locale::En).n("sessions-count", 2),
            "2 active sessions"
        );
    }

    #[test]
    fn error_codes_used_by_capabilities_are_translated() {
        let codes = [
            "required",
            "email-format",
            "email-taken",
            "password-too-short",
            "password-too-long",
            "password-wrong",
            "login-failed",
            "iin-bin-format",
            "iin-bin-checksum",
            "iin-bin-date",
            "iban-format",
            "iban-checksum",
            "bik-format",
            "kbe-format",
            "slug-format",
            "slug-taken",
            "legal-form-unknown",
            "bin-required",
            "iin-required",
            "text-too-long",
            "name-format",
            "already-staff",
            "role-unknown",
            "not-found",
            "forbidden",
            "unauthorized",
            "rate-limited",
            "internal",
            "csrf",
            "session-expired",
            "account-suspended",
            "owner-cannot-be-removed",
            "adult-required",
            "duplicate",
            "invalid",
            "payload-too-large",
            "bad-request",
            "unsupported-media-type",
            "phone-format",
            "mark-unreadable",
            "mark-encrypted",
            "mark-too-large",
        ];
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            for code in codes {
                assert!(
                    tr.has(&format!("err-{code}")),
                    "{} lacks err-{code}",
                    locale.code()
                );
            }
        }
    }
}
