//! Turns a delivery into text in the recipient's language.
//!
//! For a notification key `K` the locale files hold `K` (the one-line
//! in-app text, also the SMS), `K-subject` (the e-mail subject) and
//! `K-body` (the e-mail's plain text). A key without its own subject and
//! body is e-mailed under a generic subject with the in-app text as body.
//!
//! The HTML part is made here, not written per message: a fixed layout
//! around the plain-text body, escaped, with blank lines as paragraphs and
//! `http(s)://` addresses made clickable. Translators thus write each
//! message once, the two parts can never say different things, and no
//! translated text can inject markup.
//!
//! The texts are the translator's (`tabys_i18n::SOURCES`), but rendering
//! here is strict where the pages' translator is forgiving: any Fluent error (a missing message, a variable
//! the caller did not supply) is an error, so a broken template fails a
//! delivery (and its test) instead of reaching a person with a hole in it.

use std::collections::HashMap;
use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use tabys_core::html::escape;
use tabys_core::locale::Locale;
use tabys_i18n::SOURCES;

type Bundle = FluentBundle<FluentResource>;

fn bundles() -> &'static HashMap<Locale, Bundle> {
    static BUNDLES: OnceLock<HashMap<Locale, Bundle>> = OnceLock::new();
    BUNDLES.get_or_init(|| {
        Locale::ALL
            .iter()
            .map(|locale| {
                let lang = locale.code().parse().unwrap_or_default();
                let mut bundle = FluentBundle::new_concurrent(vec![lang]);
                bundle.set_use_isolating(false);
                for (_, _, source) in SOURCES.iter().filter(|(l, _, _)| l == locale) {
                    let resource = FluentResource::try_new(source.to_string())
                        .unwrap_or_else(|(partial, _)| partial);
                    if let Err(errors) = bundle.add_resource(resource) {
                        tracing::error!(
                            locale = locale.code(),
                            ?errors,
                            "duplicate keys in locale files"
                        );
                    }
                }
                (*locale, bundle)
            })
            .collect()
    })
}

/// Whether the language has this message.
pub fn has(locale: Locale, key: &str) -> bool {
    bundles().get(&locale).is_some_and(|b| b.has_message(key))
}

/// The message with its arguments, or why it cannot be rendered.
pub fn format(
    locale: Locale,
    key: &str,
    values: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, String> {
    let bundle = bundles()
        .get(&locale)
        .ok_or_else(|| format!("no texts for {}", locale.code()))?;
    let pattern = bundle
        .get_message(key)
        .and_then(|m| m.value())
        .ok_or_else(|| format!("{}: no message {key}", locale.code()))?;
    let mut args = FluentArgs::new();
    for (name, value) in values {
        match value {
            serde_json::Value::String(s) => args.set(name.clone(), FluentValue::from(s.clone())),
            serde_json::Value::Number(n) => match n.as_i64() {
                Some(i) => args.set(name.clone(), FluentValue::from(i)),
                None => args.set(name.clone(), FluentValue::from(n.to_string())),
            },
            _ => {}
        }
    }
    let mut errors = Vec::new();
    let text = bundle
        .format_pattern(pattern, Some(&args), &mut errors)
        .into_owned();
    if errors.is_empty() {
        Ok(text)
    } else {
        Err(format!("{} {key}: {errors:?}", locale.code()))
    }
}

/// An e-mail ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Links every e-mail ends with.
#[derive(Debug, Clone, Default)]
pub struct Links {
    /// Where the person chooses channels; `None` for an address with no
    /// account behind it, which has no choices to make: its footer says
    /// why it got the message instead.
    pub preferences: Option<String>,
    /// The one-click unsubscribe page of a marketing message.
    pub unsubscribe: Option<String>,
}

/// Arguments shown in the reader's language, as the inbox page shows
/// them: an offer's `kind` code becomes the document's name, `document`.
fn derived(
    locale: Locale,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let mut args = args.clone();
    if let Some(kind) = args
        .get("kind")
        .and_then(|k| k.as_str())
        .map(str::to_string)
        && !args.contains_key("document")
        && has(locale, &format!("offer-kind-{kind}"))
    {
        let name = format(
            locale,
            &format!("offer-kind-{kind}"),
            &serde_json::Map::new(),
        )?;
        args.insert("document".into(), name.into());
    }
    Ok(args)
}

/// Renders an e-mail for notification key `key`.
pub fn email(
    locale: Locale,
    key: &str,
    args: &serde_json::Map<String, serde_json::Value>,
    links: &Links,
) -> Result<Email, String> {
    let args = &derived(locale, args)?;
    let subject_key = format!("{key}-subject");
    let body_key = format!("{key}-body");
    let (subject, body) = if has(locale, &subject_key) {
        (
            format(locale, &subject_key, args)?,
            format(locale, &body_key, args)?,
        )
    } else {
        (
            format(locale, "notify-email-subject-default", args)?,
            format(locale, key, args)?,
        )
    };
    // A subject is one line, whatever a translator or an organizer typed.
    let subject = subject.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut link_args = serde_json::Map::new();
    let mut footer = vec![match &links.preferences {
        Some(p) => {
            link_args.insert("link".into(), p.clone().into());
            format(locale, "notify-email-footer", &link_args)?
        }
        None => format(locale, "notify-email-footer-address", &link_args)?,
    }];
    if let Some(u) = &links.unsubscribe {
        link_args.insert("link".into(), u.clone().into());
        footer.push(format(locale, "notify-email-unsubscribe", &link_args)?);
    }
    let footer = footer.join("\n");
    let text = format!("{}\n\n-- \n{footer}\n", body.trim_end());
    let html = html(locale, &subject, body.trim_end(), &footer);
    Ok(Email {
        subject,
        text,
        html,
    })
}

/// Arguments whose name is `link` or ends in `_link` and whose value is a
/// path on this site (`/cabinet/…`) become full addresses under `public`:
/// the in-app inbox shows them as they are, an e-mail needs the site too.
pub fn absolute_links(
    args: &serde_json::Map<String, serde_json::Value>,
    public: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let public = public.trim_end_matches('/');
    args.iter()
        .map(|(k, v)| {
            let v = match v.as_str() {
                Some(path)
                    if (k == "link" || k.ends_with("_link"))
                        && path.starts_with('/')
                        && !path.starts_with("//") =>
                {
                    serde_json::Value::String(format!("{public}{path}"))
                }
                _ => v.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

/// The SMS text: the one-line in-app message.
pub fn sms(
    locale: Locale,
    key: &str,
    args: &serde_json::Map<String, serde_json::Value>,
) -> Result<String, String> {
    format(locale, key, &derived(locale, args)?)
}

/// Escapes a line and makes its `http(s)://` addresses clickable.
fn linkify(line: &str) -> String {
    let mut out = String::new();
    for (i, word) in line.split(' ').enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if word.starts_with("https://") || word.starts_with("http://") {
            let cut = word.trim_end_matches(['.', ',', ')', ';', ':', '!', '?']);
            let rest = &word[cut.len()..];
            let e = escape(cut);
            out.push_str(&format!("<a href=\"{e}\">{e}</a>{}", escape(rest)));
        } else {
            out.push_str(&escape(word));
        }
    }
    out
}

fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p.lines().map(linkify).collect();
            format!("<p>{}</p>\n", lines.join("<br>\n"))
        })
        .collect()
}

fn html(locale: Locale, subject: &str, body: &str, footer: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"{lang}\">\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body style=\"font-family:Arial,sans-serif;line-height:1.5;color:#1f2328;max-width:600px;margin:0 auto;padding:16px\">\n\
         {body}<hr style=\"border:0;border-top:1px solid #ddd\">\n<div style=\"color:#666;font-size:13px\">\n{footer}</div>\n</body>\n</html>\n",
        lang = locale.code(),
        title = escape(subject),
        body = paragraphs(body),
        footer = paragraphs(footer),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use tabys_i18n::keys;

    use super::*;

    /// The variables a message uses: every `{ $name }` in its text.
    fn variables(locale: Locale, key: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (_, _, source) in SOURCES.iter().filter(|(l, _, _)| *l == locale) {
            let mut inside = false;
            for line in source.lines() {
                if line.starts_with(&format!("{key} =")) {
                    inside = true;
                } else if inside && !line.is_empty() && !line.starts_with([' ', '\t']) {
                    inside = false;
                }
                if inside {
                    for piece in line.split('$').skip(1) {
                        let name: String = piece
                            .chars()
                            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
                            .collect();
                        if !name.is_empty() {
                            out.insert(name);
                        }
                    }
                }
            }
        }
        out
    }

    fn all_notify_keys() -> BTreeSet<String> {
        SOURCES
            .iter()
            .flat_map(|(_, _, s)| keys(s))
            .filter(|k| k.starts_with("notify-"))
            .collect()
    }

    #[test]
    fn every_subject_has_a_body_in_every_language() {
        for key in all_notify_keys() {
            let Some(base) = key.strip_suffix("-subject") else {
                continue;
            };
            for locale in Locale::ALL {
                assert!(has(locale, &key), "{} lacks {key}", locale.code());
                assert!(
                    has(locale, &format!("{base}-body")),
                    "{} lacks {base}-body",
                    locale.code()
                );
                assert!(
                    has(locale, base),
                    "{} lacks the in-app text {base}",
                    locale.code()
                );
            }
        }
    }

    /// Every notification key with the arguments its callers pass. A key
    /// added to the locale files without an entry here fails below.
    fn declared() -> BTreeMap<&'static str, &'static [&'static str]> {
        crate::templates::DECLARED.iter().copied().collect()
    }

    #[test]
    fn every_template_renders_with_the_arguments_its_caller_supplies() {
        let declared = declared();
        let not_messages = ["notify-none", "notify-read-all"];
        for key in all_notify_keys() {
            if key.ends_with("-subject")
                || key.ends_with("-body")
                || not_messages.contains(&key.as_str())
            {
                continue;
            }
            if crate::templates::PAGE_TEXTS
                .iter()
                .any(|p| key.starts_with(p))
            {
                continue;
            }
            // A key whose callers are not declared yet must at least use
            // the same variables in every language, and render with them.
            let used: BTreeSet<String> = variables(Locale::Ru, &key)
                .into_iter()
                .chain(variables(Locale::Ru, &format!("{key}-subject")))
                .chain(variables(Locale::Ru, &format!("{key}-body")))
                .collect();
            let args: Vec<&str> = match declared.get(key.as_str()) {
                Some(a) => a.to_vec(),
                None => used.iter().map(String::as_str).collect(),
            };
            let args = &args;
            let mut values = serde_json::Map::new();
            for a in args {
                values.insert(
                    (*a).to_string(),
                    serde_json::Value::String(format!("<{a}>")),
                );
            }
            for locale in Locale::ALL {
                let links = Links {
                    preferences: Some(
                        "https://tabys.example/cabinet/notifications/settings".into(),
                    ),
                    unsubscribe: Some("https://tabys.example/unsubscribe/x".into()),
                };
                let mail = email(locale, &key, &values, &links).unwrap_or_else(|e| panic!("{e}"));
                assert!(!mail.subject.is_empty() && !mail.text.is_empty());
                sms(locale, &key, &values).unwrap_or_else(|e| panic!("{e}"));
                // Nothing the caller does not supply.
                for part in [key.clone(), format!("{key}-subject"), format!("{key}-body")] {
                    for v in variables(locale, &part) {
                        assert!(
                            args.contains(&v.as_str()),
                            "{} {part} uses ${v}, which its caller does not supply",
                            locale.code()
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn site_paths_in_links_become_full_addresses_and_nothing_else_changes() {
        let mut args = serde_json::Map::new();
        args.insert("link".into(), "/live/w/5?t=x".into());
        args.insert("cancel_link".into(), "/live/w/5/cancel?t=x".into());
        args.insert("verify".into(), "https://other.example/c/1".into());
        args.insert("title".into(), "/not a link".into());
        args.insert("other_link".into(), "//evil.example/x".into());
        let out = absolute_links(&args, "https://tabys.example/");
        assert_eq!(out["link"], "https://tabys.example/live/w/5?t=x");
        assert_eq!(
            out["cancel_link"],
            "https://tabys.example/live/w/5/cancel?t=x"
        );
        assert_eq!(out["verify"], "https://other.example/c/1");
        assert_eq!(out["title"], "/not a link");
        assert_eq!(out["other_link"], "//evil.example/x");
    }

    #[test]
    fn an_address_without_an_account_gets_no_settings_link() -> Result<(), String> {
        let mut args = serde_json::Map::new();
        for a in ["title", "when", "link", "cancel_link"] {
            args.insert(a.into(), format!("<{a}>").into());
        }
        let guest = email(
            Locale::Kk,
            "notify-live-reminder-hour",
            &args,
            &Links::default(),
        )?;
        assert!(
            !guest.text.contains("/cabinet/notifications/settings"),
            "{}",
            guest.text
        );
        let footer = format(
            Locale::Kk,
            "notify-email-footer-address",
            &serde_json::Map::new(),
        )?;
        assert!(guest.text.contains(&footer), "{}", guest.text);
        Ok(())
    }

    #[test]
    fn a_template_missing_a_variable_is_an_error_not_a_message() {
        let err = email(
            Locale::Ru,
            "notify-support-reply",
            &serde_json::Map::new(),
            &Links::default(),
        );
        assert!(err.is_err(), "{err:?}");
    }

    #[test]
    fn html_part_escapes_the_text_and_makes_links_clickable() -> Result<(), String> {
        let mut args = serde_json::Map::new();
        args.insert("subject".into(), "<b>Скидки</b> & акции".into());
        args.insert(
            "body".into(),
            "Смотрите https://example.kz/a?x=1&y=2.\n\nВторой абзац".into(),
        );
        args.insert("org".into(), "Lessbek".into());
        let mail = email(Locale::Ru, "notify-mailing", &args, &Links::default())?;
        assert!(
            mail.html.contains("&lt;b&gt;Скидки&lt;/b&gt; &amp; акции"),
            "{}",
            mail.html
        );
        assert!(
            mail.html
                .contains("<a href=\"https://example.kz/a?x=1&amp;y=2\">"),
            "{}",
            mail.html
        );
        assert!(!mail.html.contains("<b>"));
        assert!(mail.text.contains("https://example.kz/a?x=1&y=2."));
        assert_eq!(mail.subject, "<b>Скидки</b> & акции");
        Ok(())
    }
}
