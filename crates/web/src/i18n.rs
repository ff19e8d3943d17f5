//! The translator, shared with e-mails and documents: see `tabys_i18n`.
//! Kept under this name so pages and tests keep saying `i18n::Tr`.

pub use tabys_i18n::*;

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use tabys_core::locale::Locale;

    use super::*;

    #[test]
    fn every_key_used_in_templates_and_code_exists() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"));
        let mut used = BTreeSet::new();
        let mut files = Vec::new();
        // Every file under these folders, however deep.
        let mut dirs: Vec<std::path::PathBuf> = ["templates", "src"]
            .iter()
            .map(|d| format!("{root}/{d}").into())
            .collect();
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in entries.flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                } else {
                    files.push(e.path());
                }
            }
        }
        for path in files {
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // Method calls on a translator only (`l.t.t("…")`, `tr.n("…")`),
            // not any function whose name ends the same way (`get("…")`).
            for call in [".t(\"", ".t1(\"", ".n(\""] {
                for piece in text.split(call).skip(1) {
                    if let Some(key) = piece.split('"').next()
                        && !key.is_empty()
                        && key
                            .chars()
                            .all(|c| c.is_ascii_lowercase() || c == '-' || c.is_ascii_digit())
                    {
                        used.insert(key.to_string());
                    }
                }
            }
        }
        assert!(used.len() > 20, "the scan found too few keys: {used:?}");
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            let missing: Vec<_> = used.iter().filter(|k| !tr.has(k)).collect();
            assert!(missing.is_empty(), "{} lacks {missing:?}", locale.code());
        }
    }

    #[test]
    fn keys_built_from_values_exist() {
        use tabys_accounts::Role;
        use tabys_accounts::organizers::LegalForm;
        let mut keys: Vec<String> = [
            Role::Owner,
            Role::Manager,
            Role::Curator,
            Role::Support,
            Role::Customer,
        ]
        .iter()
        .map(|r| format!("role-{}", r.code()))
        .collect();
        keys.extend(
            LegalForm::ALL
                .iter()
                .map(|f| format!("legal-form-{}", f.code())),
        );
        keys.extend(
            crate::pages::cabinet::SECTIONS
                .iter()
                .map(|(_, k)| k.to_string()),
        );
        keys.push("alert-account-compromised".into());
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            for key in &keys {
                assert!(tr.has(key), "{} lacks {key}", locale.code());
            }
        }
    }
}
