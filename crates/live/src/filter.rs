//! The organizer's word filter: editable lists in Russian, Kazakh and
//! English. A chat message keeps its place; each listed word in it is
//! masked with asterisks before anyone sees it or it is stored.

use std::collections::HashSet;

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::{Error, Result};
use tabys_store::Db;

pub const LANGS: [&str; 3] = ["ru", "kk", "en"];
/// Words per list, and characters per word.
const MAX_WORDS: usize = 2000;
const MAX_WORD_CHARS: usize = 64;

/// The words of all three lists, lower-cased, ready to apply.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    words: HashSet<String>,
}

impl Filter {
    pub fn new<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            words: words
                .into_iter()
                .map(|w| w.trim().to_lowercase())
                .filter(|w| !w.is_empty())
                .collect(),
        }
    }

    /// The text with every listed word replaced by asterisks of its length.
    pub fn apply(&self, text: &str) -> String {
        if self.words.is_empty() {
            return text.to_string();
        }
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let flush = |word: &mut String, out: &mut String| {
            if !word.is_empty() {
                if self.words.contains(&word.to_lowercase()) {
                    out.extend(std::iter::repeat_n('*', word.chars().count()));
                } else {
                    out.push_str(word);
                }
                word.clear();
            }
        };
        for c in text.chars() {
            if c.is_alphanumeric() {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        out
    }
}

/// The organizer's lists by language (`ru`, `kk`, `en`), one word a line.
pub async fn lists(db: &Db, org: OrgId) -> Result<Vec<(String, String)>> {
    let rows = sqlx::query("SELECT lang, words FROM live_filters WHERE org_id = $1")
        .bind(org.0)
        .fetch_all(db.read())
        .await?;
    let mut out: Vec<(String, String)> = LANGS
        .iter()
        .map(|l| (l.to_string(), String::new()))
        .collect();
    for r in rows {
        let lang: String = r.try_get(0)?;
        let words: String = r.try_get(1)?;
        if let Some(slot) = out.iter_mut().find(|(l, _)| *l == lang) {
            slot.1 = words;
        }
    }
    Ok(out)
}

/// The filter of all the organizer's lists together.
pub async fn load(db: &Db, org: OrgId) -> Result<Filter> {
    let lists = lists(db, org).await?;
    Ok(Filter::new(
        lists.iter().flat_map(|(_, words)| words.lines()),
    ))
}

/// Replaces one language's list.
pub async fn save(db: &Db, org: OrgId, lang: &str, words: &str) -> Result<()> {
    let Some(lang) = LANGS.into_iter().find(|l| *l == lang) else {
        return Err(Error::invalid("lang", "live-choose-one"));
    };
    let mut clean: Vec<String> = Vec::new();
    for w in words.lines().map(str::trim).filter(|w| !w.is_empty()) {
        if w.chars().count() > MAX_WORD_CHARS || !w.chars().all(char::is_alphanumeric) {
            return Err(Error::invalid("words", "live-filter-word"));
        }
        let w = w.to_lowercase();
        if !clean.contains(&w) {
            clean.push(w);
        }
    }
    if clean.len() > MAX_WORDS {
        return Err(Error::invalid("words", "text-too-long"));
    }
    let text = clean.join("\n");
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM live_filters WHERE org_id = $1 AND lang = $2")
        .bind(org.0)
        .bind(lang)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO live_filters (org_id, lang, words, updated_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org.0)
    .bind(lang)
    .bind(text)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_words_are_masked_in_any_case_and_language() {
        let f = Filter::new(["спам", "jaman", "scam"]);
        assert_eq!(f.apply("Это СПАМ, not a scam!"), "Это ****, not a ****!");
        assert_eq!(f.apply("jaman сөз"), "***** сөз");
        assert_eq!(f.apply("спамер"), "спамер");
    }
}
