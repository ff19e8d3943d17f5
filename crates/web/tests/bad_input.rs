//! Bad input of every kind is refused with the right status and a message
//! in the person's language (Russian by default, Kazakh or English by
//! `Accept-Language` or the `lang` cookie), nothing changes, and nothing is
//! ever answered with a server error.

mod support;

use anyhow::{Context, ensure};
use support::{
    LANGS, api_error, api_error_in, can_sign_in, error_page, field_error, form_error, msg,
    no_server_errors, not_500, person_in, raw_request,
};
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, PASSWORD, Value, db_test, json, org_form};

/// The organizer form with some fields replaced.
fn form_with(slug: &str, changes: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
    let mut form = org_form(slug);
    for (k, v) in changes {
        form.retain(|(f, _)| f != k);
        form.push((k, v.to_string()));
    }
    form
}

fn profile_json(slug: &str, changes: &[(&'static str, &str)]) -> Value {
    let mut body = serde_json::Map::new();
    for (k, v) in form_with(slug, changes) {
        body.insert(k.to_string(), Value::String(v));
    }
    Value::Object(body)
}

async fn organizers_of(c: &Client) -> anyhow::Result<Value> {
    let r = c.get("/api/v1/orgs").await?;
    ensure!(r.status == StatusCode::OK, "{}", r.status);
    r.json()
}

db_test! {
    async fn wrong_iin_bin_is_refused_in_the_persons_language_and_no_organizer_is_created(app: TestApp) {
        let cases: [(&[(&'static str, &str)], &str); 7] = [
            (&[("iin_bin", "18054000123")], "iin-bin-format"),
            (&[("iin_bin", "18054000123X")], "iin-bin-format"),
            (&[("iin_bin", "180 540 001 239")], "iin-bin-format"),
            (&[("iin_bin", "180540001238")], "iin-bin-checksum"),
            (&[("iin_bin", "990132300002")], "iin-bin-date"),
            // A BIN where the form needs a person's IIN, and the other way round.
            (&[("legal_form", "individual"), ("iin_bin", "180540001239")], "iin-required"),
            (&[("legal_form", "legal_entity"), ("iin_bin", "871008401427")], "bin-required"),
        ];
        for lang in LANGS {
            let c = person_in(&app, &format!("owner-{lang}@example.kz"), "Owner", lang).await?;
            for (changes, code) in cases {
                let r = c.post_form("/organizers/new", &form_with("newco", changes)).await?;
                field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, "iin_bin", code)
                    .with_context(|| format!("{lang}: {changes:?}"))?;
            }
            assert_eq!(organizers_of(&c).await?, json!([]), "{lang}: an organizer was created");
        }
        assert_eq!(app.client()?.get("/o/newco").await?.status, StatusCode::NOT_FOUND);
        // The right numbers for each form are accepted.
        let c = app.person("ip@example.kz", "ИП").await?;
        let r = c.post_form("/organizers/new", &form_with("ip-co", &[("legal_form", "entrepreneur"), ("iin_bin", "871008401427")])).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn wrong_bank_details_are_refused_and_the_profile_is_unchanged(app: TestApp) {
        let cases: [(&'static str, &str, &str); 7] = [
            ("iik", "KZ87125KZT5004100100", "iban-checksum"),
            ("iik", "KZ86125KZT5004101000", "iban-checksum"),
            ("iik", "KZ00", "iban-format"),
            ("iik", "DE89370400440532013000", "iban-format"),
            ("bik", "HSBK", "bik-format"),
            ("kbe", "7", "kbe-format"),
            ("kbe", "1A", "kbe-format"),
        ];
        for lang in LANGS {
            let (c, org) = app.organizer(&format!("owner-{lang}@example.kz"), &format!("org-{lang}")).await?;
            let switched = c.get(&format!("/lang/{lang}?next=/cabinet")).await?;
            assert_eq!(switched.status, StatusCode::SEE_OTHER);
            let before = c.get(&format!("/api/v1/orgs/{org}")).await?.json()?;
            for (field, value, code) in cases {
                let slug = format!("org-{lang}");
                // On the profile page …
                let r = c.post_form(&format!("/org/{org}/profile"), &form_with(&slug, &[(field, value)])).await?;
                field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, field, code).with_context(|| format!("{lang}: {field}={value}"))?;
                // … and over the API, in the language the cookie names.
                let r = c.api(Method::PUT, &format!("/api/v1/orgs/{org}"), Some(profile_json(&slug, &[(field, value)]))).await?;
                let body = api_error_in(&r, StatusCode::UNPROCESSABLE_ENTITY, code, lang, code)?;
                assert_eq!(body["error"]["fields"], json!([{ "field": field, "code": code }]));
            }
            assert_eq!(c.get(&format!("/api/v1/orgs/{org}")).await?.json()?, before, "{lang}: the profile changed");
            let audit = c.get(&format!("/api/v1/orgs/{org}/audit")).await?.json()?;
            ensure!(
                audit.as_array().is_some_and(|a| a.iter().all(|e| e["action"] != "organizer.updated")),
                "a refused edit was audited: {audit}"
            );
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn sign_up_refuses_a_malformed_email_a_short_password_and_a_taken_email(app: TestApp) {
        app.person("taken@example.kz", "First").await?;
        for lang in LANGS {
            let header = [("accept-language", lang)];
            let cases: [(&str, &str, &str, &str); 4] = [
                ("aigerim@", PASSWORD, "email", "email-format"),
                ("no-at-sign.kz", PASSWORD, "email", "email-format"),
                ("short@example.kz", "1234567", "password", "password-too-short"),
                ("TAKEN@example.kz", "another-password", "email", "email-taken"),
            ];
            for (email, password, field, code) in cases {
                let c = app.client()?;
                let r = c.post_form_with("/signup", &[("name", "Name"), ("email", email), ("password", password)], &header).await?;
                field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, field, code).with_context(|| format!("{lang}: {email}"))?;
                ensure!(c.cookie("sid").is_none(), "{lang}: {email} got a session");
            }
        }
        // The same through the `lang` cookie instead of the header.
        let c = app.client()?;
        c.get("/lang/kk?next=/signup").await?;
        let r = c.post_form("/signup", &[("name", "Name"), ("email", "bad@"), ("password", PASSWORD)]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "kk", "email", "email-format")?;

        ensure!(!can_sign_in(&app, "short@example.kz", "1234567").await?, "an account with a short password exists");
        ensure!(!can_sign_in(&app, "taken@example.kz", "another-password").await?, "the taken account's password changed");
        ensure!(can_sign_in(&app, "taken@example.kz", PASSWORD).await?, "the first account still signs in");
        no_server_errors(&app).await
    }
}

const LIMIT: usize = 1024 * 1024;

db_test! {
    async fn a_body_over_one_mebibyte_is_refused_with_413_in_the_callers_language(app: TestApp) {
        let owner = app.person("owner@example.kz", "Owner").await?;
        let sid = owner.cookie("sid").context("sid")?;
        let csrf = owner.csrf().await?;
        for lang in LANGS {
            // Announced by Content-Length: refused before the body is read.
            let head = format!(
                "POST /signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nAccept-Language: {lang}\r\n\r\n",
                LIMIT + 1
            );
            let r = raw_request(&app, head, Vec::new()).await?;
            assert_eq!(r.status, 413, "{}", r.body);
            ensure!(r.body.contains(&format!("<html lang=\"{lang}\">")), "{}", r.body);
            ensure!(r.body.contains(&msg(lang, "payload-too-large")?), "{lang}: {}", r.body);
            ensure!(r.header("x-request-id").is_some(), "413 without a request id");

            let head = format!(
                "POST /api/v1/orgs HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: {}\r\nAccept-Language: {lang}\r\nCookie: sid={sid}; csrf={csrf}\r\nX-CSRF-Token: {csrf}\r\n\r\n",
                LIMIT + 1
            );
            let r = raw_request(&app, head, Vec::new()).await?;
            assert_eq!(r.status, 413, "{}", r.body);
            let body: Value = serde_json::from_str(&r.body)?;
            assert_eq!(body["error"]["code"], "payload-too-large", "{body}");
            assert_eq!(body["error"]["message"], msg(lang, "payload-too-large")?.as_str());
        }

        // Streamed without a length: refused once the limit is passed.
        let mut form = format!("name=Big&email=big%40example.kz&password={PASSWORD}&csrf={csrf}&pad=").into_bytes();
        form.resize(LIMIT + 1, b'a');
        let chunk = |data: &[u8]| {
            let mut out = format!("{:x}\r\n", data.len()).into_bytes();
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
            out
        };
        let head = format!(
            "POST /signup HTTP/1.1\r\nHost: t\r\nContent-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\nAccept-Language: en\r\nCookie: csrf={csrf}\r\n\r\n"
        );
        let r = raw_request(&app, head, chunk(&form)).await?;
        assert_eq!(r.status, 413, "{}", r.body);
        ensure!(r.body.contains(&msg("en", "payload-too-large")?), "{}", r.body);

        let mut json_body = serde_json::to_vec(&profile_json("bigco", &[("legal_address", "")]))?;
        json_body.truncate(json_body.len() - 1);
        json_body.extend_from_slice(b", \"pad\": \"");
        json_body.resize(LIMIT + 1, b'a');
        let head = format!(
            "POST /api/v1/orgs HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nAccept-Language: kk\r\nCookie: sid={sid}; csrf={csrf}\r\nX-CSRF-Token: {csrf}\r\n\r\n"
        );
        let r = raw_request(&app, head, chunk(&json_body)).await?;
        assert_eq!(r.status, 413, "{}", r.body);
        let body: Value = serde_json::from_str(&r.body)?;
        assert_eq!(body["error"]["code"], "payload-too-large", "{body}");
        assert_eq!(body["error"]["message"], msg("kk", "payload-too-large")?.as_str());

        ensure!(!can_sign_in(&app, "big@example.kz", PASSWORD).await?, "the oversized sign-up created an account");
        assert_eq!(organizers_of(&owner).await?, json!([]), "the oversized request created an organizer");
        // Just under the limit is still read (and judged on its content).
        let mut fits = format!("name=Fits&email=fits%40example.kz&password={PASSWORD}&csrf={csrf}&pad=").into_bytes();
        fits.resize(LIMIT - 1, b'a');
        let c = app.client()?;
        let r = c
            .send(Method::POST, "/signup", &[("content-type", "application/x-www-form-urlencoded"), ("cookie", &format!("csrf={csrf}"))], Some(fits))
            .await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_body_of_the_wrong_type_is_refused_with_415(app: TestApp) {
        let owner = app.person("owner@example.kz", "Owner").await?;
        let csrf = owner.csrf().await?;
        for lang in LANGS {
            let c = app.client()?;
            let token = c.csrf().await?;
            let body = json!({ "name": "X", "email": "json@example.kz", "password": PASSWORD, "csrf": token });
            let r = c
                .send(Method::POST, "/signup", &[("content-type", "application/json"), ("accept-language", lang)], Some(body.to_string().into_bytes()))
                .await?;
            error_page(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, lang, "unsupported-media-type")?;

            let form = format!("slug=formco&legal_form=legal_entity&csrf={csrf}");
            let r = owner
                .send(
                    Method::POST,
                    "/api/v1/orgs",
                    &[("content-type", "application/x-www-form-urlencoded"), ("x-csrf-token", &csrf), ("accept-language", lang)],
                    Some(form.into_bytes()),
                )
                .await?;
            // The owner's `lang` cookie (Russian, from sign-up) wins over the header.
            api_error_in(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type", "ru", "unsupported-media-type")?;
        }
        let r = owner.send(Method::POST, "/api/v1/orgs", &[("x-csrf-token", &csrf)], Some(profile_json("noctype", &[]).to_string().into_bytes())).await?;
        api_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")?;
        let r = owner.api(Method::POST, "/api/v1/orgs", None).await?;
        api_error(&r, StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type")?;
        // Malformed JSON of the right type is a clear 4xx, not a crash.
        let r = owner
            .send(Method::POST, "/api/v1/orgs", &[("content-type", "application/json"), ("x-csrf-token", &csrf)], Some(b"{\"slug\": ".to_vec()))
            .await?;
        api_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "bad-request")?;
        let r = owner
            .send(Method::POST, "/api/v1/orgs", &[("content-type", "application/json"), ("x-csrf-token", &csrf)], Some(b"[1, 2]".to_vec()))
            .await?;
        api_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "bad-request")?;

        ensure!(!can_sign_in(&app, "json@example.kz", PASSWORD).await?, "the JSON sign-up created an account");
        assert_eq!(organizers_of(&owner).await?, json!([]));
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_missing_or_wrong_csrf_token_is_refused_on_forms_and_on_session_api_calls(app: TestApp) {
        let owner = person_in(&app, "owner@example.kz", "Owner", "kk").await?;
        let other = app.client()?;
        let foreign = other.csrf().await?;
        let own = owner.csrf().await?;
        let form = |csrf: Option<&str>| {
            let mut pairs = form_with("csrfco", &[]);
            if let Some(t) = csrf {
                pairs.push(("csrf", t.to_string()));
            }
            serde_urlencoded::to_string(&pairs)
        };
        let form_type = ("content-type", "application/x-www-form-urlencoded");
        for (what, body) in [("missing", form(None)?), ("another browser's", form(Some(&foreign))?), ("made up", form(Some(&"0".repeat(64)))?)] {
            let r = owner.send(Method::POST, "/organizers/new", &[form_type], Some(body.into_bytes())).await?;
            error_page(&r, StatusCode::UNPROCESSABLE_ENTITY, "kk", "csrf").with_context(|| what.to_string())?;
        }
        // A browser without a CSRF cookie cannot post either.
        let bare = tabys_testkit::reqwest::Client::new();
        let r = bare
            .post(format!("{}/signup", app.base))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept-language", "en")
            .body(format!("name=X&email=bare%40example.kz&password={PASSWORD}&csrf={own}"))
            .send()
            .await?;
        assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
        ensure!(r.text().await?.contains(&msg("en", "csrf")?));

        let json_type = ("content-type", "application/json");
        let body = profile_json("csrfco", &[]).to_string();
        for (what, headers) in [
            ("missing", vec![json_type]),
            ("another browser's", vec![json_type, ("x-csrf-token", foreign.as_str())]),
            ("empty", vec![json_type, ("x-csrf-token", "")]),
        ] {
            let r = owner.send(Method::POST, "/api/v1/orgs", &headers, Some(body.clone().into_bytes())).await?;
            api_error_in(&r, StatusCode::UNPROCESSABLE_ENTITY, "csrf", "kk", "csrf").with_context(|| what.to_string())?;
        }
        assert_eq!(organizers_of(&owner).await?, json!([]), "an organizer was created without a valid token");
        ensure!(!can_sign_in(&app, "bare@example.kz", PASSWORD).await?);
        // With the token it goes through.
        let r = owner.api(Method::POST, "/api/v1/orgs", Some(profile_json("csrfco", &[]))).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_expired_session_sends_pages_to_sign_in_and_api_calls_get_401_and_changes_nothing(app: TestApp) {
        let mut people = Vec::new();
        for lang in LANGS {
            people.push((lang, person_in(&app, &format!("idle-{lang}@example.kz"), "Idle", lang).await?));
        }
        app.clock.advance_seconds(14 * 86_400 + 1);
        for (lang, c) in &people {
            let r = c.post_form("/organizers/new", &org_form(&format!("late-{lang}"))).await?;
            not_500(&r)?;
            assert_eq!(r.status, StatusCode::SEE_OTHER, "{lang}: {}", r.text);
            assert_eq!(r.location.as_deref(), Some("/login?next=%2Fcabinet&expired=1"));
            let login = c.get("/login?next=%2Fcabinet&expired=1").await?;
            ensure!(login.text.contains(&msg(lang, "session-expired")?), "{lang}: the sign-in page does not say why");

            let r = c.get("/api/v1/me").await?;
            api_error_in(&r, StatusCode::UNAUTHORIZED, "session-expired", lang, "session-expired")?;
            let r = c.api(Method::POST, "/api/v1/orgs", Some(profile_json(&format!("late-{lang}"), &[]))).await?;
            api_error_in(&r, StatusCode::UNAUTHORIZED, "session-expired", lang, "session-expired")?;
            assert_eq!(app.client()?.get(&format!("/o/late-{lang}")).await?.status, StatusCode::NOT_FOUND);
        }
        // Thirteen idle days are fine: the rule is about idleness.
        let fresh = app.person("fresh@example.kz", "Fresh").await?;
        app.clock.advance_seconds(13 * 86_400);
        assert_eq!(fresh.get("/cabinet").await?.status, StatusCode::OK);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn unknown_ids_answer_404_in_the_callers_language(app: TestApp) {
        for lang in LANGS {
            let (c, org) = app.organizer(&format!("owner-{lang}@example.kz"), &format!("org-{lang}")).await?;
            c.get(&format!("/lang/{lang}")).await?;
            for path in ["/org/424242".to_string(), "/org/0".into(), "/org/-7".into(), "/o/no-such-organizer".into(), "/signup?org=no-such-organizer".into()] {
                let r = c.get(&path).await?;
                error_page(&r, StatusCode::NOT_FOUND, lang, "not-found").with_context(|| path.clone())?;
            }
            for path in [format!("/org/{org}/tokens/424242/revoke"), format!("/org/{org}/staff/424242/remove"), "/o/no-such-organizer/join".into()] {
                let r = c.post_form(&path, &[] as &[(&str, &str)]).await?;
                error_page(&r, StatusCode::NOT_FOUND, lang, "not-found").with_context(|| path.clone())?;
            }
            for (m, path) in [(Method::GET, "/api/v1/orgs/424242".to_string()), (Method::DELETE, format!("/api/v1/orgs/{org}/staff/424242"))] {
                let r = c.api(m, &path, None).await?;
                api_error_in(&r, StatusCode::NOT_FOUND, "not-found", lang, "not-found").with_context(|| path.clone())?;
            }
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn non_numeric_ids_answer_400_in_the_callers_language_never_500(app: TestApp) {
        for lang in LANGS {
            let (c, org) = app.organizer(&format!("owner-{lang}@example.kz"), &format!("org-{lang}")).await?;
            c.get(&format!("/lang/{lang}")).await?;
            for path in ["/org/abc", "/org/99999999999999999999", "/org/1.5/staff", "/org/%F0%9F%A6%80"] {
                let r = c.get(path).await?;
                error_page(&r, StatusCode::BAD_REQUEST, lang, "bad-request").with_context(|| path.to_string())?;
            }
            for path in [format!("/org/{org}/staff/abc/remove"), format!("/org/{org}/tokens/1x/revoke"), "/org/x/tokens".into()] {
                let r = c.post_form(&path, &[("name", "t")]).await?;
                error_page(&r, StatusCode::BAD_REQUEST, lang, "bad-request").with_context(|| path.clone())?;
            }
            for (m, path) in [
                (Method::GET, "/api/v1/orgs/abc".to_string()),
                (Method::GET, "/api/v1/orgs/99999999999999999999/staff".into()),
                (Method::DELETE, format!("/api/v1/orgs/{org}/staff/abc")),
            ] {
                let r = c.api(m, &path, None).await?;
                api_error_in(&r, StatusCode::BAD_REQUEST, "bad-request", lang, "bad-request").with_context(|| path.clone())?;
            }
            let staff = c.get(&format!("/api/v1/orgs/{org}/staff")).await?.json()?;
            assert_eq!(staff.as_array().map(Vec::len), Some(1), "the owner is still the only staff");
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn unknown_routes_answer_a_404_page_or_a_json_404(app: TestApp) {
        for lang in LANGS {
            let c = app.client()?;
            let header = [("accept-language", lang)];
            for path in ["/no-such-page", "/org", "/org/1/nothing", "/static/nothing.css"] {
                let r = c.get_with(path, &header).await?;
                error_page(&r, StatusCode::NOT_FOUND, lang, "not-found").with_context(|| path.to_string())?;
            }
            for path in ["/api/v1/unknown", "/api/v1/orgs/1/unknown", "/api/v2/orgs"] {
                let r = c.get_with(path, &header).await?;
                api_error_in(&r, StatusCode::NOT_FOUND, "not-found", lang, "not-found").with_context(|| path.to_string())?;
            }
            let r = c.post_form_with("/no-such-form", &[("a", "b")], &header).await?;
            error_page(&r, StatusCode::NOT_FOUND, lang, "not-found")?;
            let r = c.send(Method::DELETE, "/cabinet", &header, None).await?;
            error_page(&r, StatusCode::METHOD_NOT_ALLOWED, lang, "method-not-allowed")?;
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn the_language_is_the_cookie_then_accept_language_then_russian(app: TestApp) {
        let cases = [
            (None, None, "ru"),
            (None, Some("kk-KZ,ru;q=0.8"), "kk"),
            (None, Some("de-DE,en;q=0.5,ru;q=0.3"), "en"),
            (None, Some("de"), "ru"),
            (Some("kk"), Some("en"), "kk"),
            (Some("en"), None, "en"),
            (Some("xx"), Some("kk"), "kk"),
        ];
        for (cookie, accept, lang) in cases {
            let mut headers = Vec::new();
            let cookie_header = cookie.map(|c| format!("lang={c}"));
            if let Some(c) = &cookie_header {
                headers.push(("cookie", c.as_str()));
            }
            if let Some(a) = accept {
                headers.push(("accept-language", a));
            }
            let r = app.client()?.get_with("/no-such-page", &headers).await?;
            error_page(&r, StatusCode::NOT_FOUND, lang, "not-found").with_context(|| format!("{cookie:?} {accept:?}"))?;
            let r = app.client()?.get_with("/api/v1/me", &headers).await?;
            api_error_in(&r, StatusCode::UNAUTHORIZED, "unauthorized", lang, "unauthorized")?;
        }
        // The messages really differ between languages.
        let texts: Vec<String> = LANGS.iter().map(|l| msg(l, "not-found")).collect::<anyhow::Result<_>>()?;
        ensure!(texts[0] != texts[1] && texts[1] != texts[2] && texts[0] != texts[2], "{texts:?}");
        assert_eq!(texts[0], "Страница не найдена.");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_wrong_login_says_so_in_the_persons_language_without_telling_which_part_was_wrong(app: TestApp) {
        app.person("known@example.kz", "Known").await?;
        for lang in LANGS {
            let header = [("accept-language", lang)];
            for (email, password) in [("known@example.kz", "wrong-password"), ("unknown@example.kz", PASSWORD)] {
                let c = app.client()?;
                let r = c.post_form_with("/login", &[("email", email), ("password", password)], &header).await?;
                form_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, "login-failed").with_context(|| email.to_string())?;
                ensure!(c.cookie("sid").is_none());
            }
            let r = app.client()?.post_form_with("/login", &[("email", "known@"), ("password", PASSWORD)], &header).await?;
            field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, "email", "email-format")?;
        }
        no_server_errors(&app).await
    }
}
