//! The languages Tabys speaks. Russian prevails where texts differ, as the
//! businesses' own offers say; Kazakh is offered everywhere Russian is.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Locale {
    Ru,
    Kk,
    En,
}

impl Locale {
    pub const ALL: [Locale; 3] = [Locale::Ru, Locale::Kk, Locale::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::Ru => "ru",
            Self::Kk => "kk",
            Self::En => "en",
        }
    }

    /// The language's own name, for the switcher.
    pub fn native_name(self) -> &'static str {
        match self {
            Self::Ru => "Русский",
            Self::Kk => "Қазақша",
            Self::En => "English",
        }
    }

    /// `ru`, `kk` (also `kz`, the country code people type), `en`; region suffixes ignored.
    pub fn parse(s: &str) -> Option<Self> {
        let primary = s.trim().split(['-', '_']).next().unwrap_or_default();
        match primary.to_ascii_lowercase().as_str() {
            "ru" => Some(Self::Ru),
            "kk" | "kz" => Some(Self::Kk),
            "en" => Some(Self::En),
            _ => None,
        }
    }

    /// The best match for an `Accept-Language` header, by its q-values.
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(Self, f32)> = None;
        for part in header.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or_default();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            if let Some(locale) = Self::parse(tag)
                && best.is_none_or(|(_, bq)| q > bq)
            {
                best = Some((locale, q));
            }
        }
        best.map(|(l, _)| l)
    }
}

impl fmt::Display for Locale {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_highest_known_language() {
        assert_eq!(
            Locale::from_accept_language("kk-KZ,ru;q=0.9,en;q=0.8"),
            Some(Locale::Kk)
        );
        assert_eq!(
            Locale::from_accept_language("de-DE,en;q=0.5,ru;q=0.7"),
            Some(Locale::Ru)
        );
        assert_eq!(Locale::from_accept_language("de-DE,fr"), None);
    }

    #[test]
    fn kz_is_accepted_for_kazakh() {
        assert_eq!(Locale::parse("KZ"), Some(Locale::Kk));
    }
}
