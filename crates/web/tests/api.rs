//! The JSON API: its OpenAPI document and docs page, who the caller is
//! (a browser session or an API token bound to one organizer), organizers
//! and staff over JSON, and the one shape of every error.

mod support;

use anyhow::{Context, ensure};
use support::{api_error, api_error_in, bearer_with, issue_token, memberships, no_server_errors};
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, PASSWORD, Value, db_test, json, org_form};

fn profile_json(slug: &str) -> Value {
    let mut body = serde_json::Map::new();
    for (k, v) in org_form(slug) {
        body.insert(k.to_string(), Value::String(v));
    }
    Value::Object(body)
}

async fn user_id(c: &Client) -> anyhow::Result<i64> {
    c.get("/api/v1/me").await?.json()?["id"]
        .as_i64()
        .context("id in /me")
}

db_test! {
    async fn openapi_document_is_valid_json_listing_every_route_under_its_server(app: TestApp) {
        let c = app.client()?;
        let r = c.get("/api/v1/openapi.json").await?;
        assert_eq!(r.status, StatusCode::OK);
        let content_type = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        ensure!(content_type.starts_with("application/json"), "{content_type}");
        let doc = r.json()?;
        ensure!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")), "not OpenAPI 3: {}", doc["openapi"]);
        assert_eq!(doc["servers"][0]["url"], "/api/v1", "routes are documented relative to /api/v1");
        let paths = doc["paths"].as_object().context("paths")?;
        let mut listed: Vec<(String, String)> = Vec::new();
        for (path, item) in paths {
            for m in ["get", "put", "post", "patch", "delete"] {
                if item.get(m).is_some() {
                    listed.push((m.to_string(), path.clone()));
                }
            }
        }
        for expected in [
            ("get", "/me"),
            ("get", "/orgs"),
            ("post", "/orgs"),
            ("get", "/orgs/{org}"),
            ("put", "/orgs/{org}"),
            ("get", "/orgs/{org}/staff"),
            ("post", "/orgs/{org}/staff"),
            ("delete", "/orgs/{org}/staff/{user}"),
            ("get", "/orgs/{org}/audit"),
        ] {
            ensure!(listed.iter().any(|(m, p)| m == expected.0 && p == expected.1), "{expected:?} missing from {listed:?}");
        }
        ensure!(doc["components"]["schemas"].get("ErrorBody").is_some(), "the error shape is documented");
        ensure!(doc["components"]["securitySchemes"].get("token").is_some(), "bearer tokens are documented");

        // Every documented route exists where the document says: without
        // credentials each answers 401 (not the API's 404 fallback).
        for (m, p) in &listed {
            let path = format!("/api/v1{}", p.replace("{org}", "1").replace("{user}", "1"));
            let method = Method::from_bytes(m.to_ascii_uppercase().as_bytes())?;
            let r = c.send(method, &path, &[("content-type", "application/json")], Some(b"{}".to_vec())).await?;
            api_error(&r, StatusCode::UNAUTHORIZED, "unauthorized").with_context(|| format!("{m} {path}"))?;
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn api_docs_page_renders_every_documented_route(app: TestApp) {
        let r = app.client()?.get("/api/v1/docs").await?;
        assert_eq!(r.status, StatusCode::OK);
        let content_type = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        ensure!(content_type.starts_with("text/html"), "{content_type}");
        for op in [
            "GET /api/v1/me",
            "POST /api/v1/orgs",
            "PUT /api/v1/orgs/{org}",
            "DELETE /api/v1/orgs/{org}/staff/{user}",
            "GET /api/v1/orgs/{org}/audit",
        ] {
            ensure!(r.text.contains(&format!("<code>{op}</code>")), "docs lack {op}");
        }
        ensure!(r.text.contains("schema-ErrorBody"), "docs lack the error schema");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn me_answers_for_a_session_and_for_a_token_limited_to_its_organizer(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let b = owner.api(Method::POST, "/api/v1/orgs", Some(profile_json("beta"))).await?;
        assert_eq!(b.status, StatusCode::CREATED, "{}", b.text);
        let b = b.json()?["id"].as_i64().context("id")?;

        let me = owner.get("/api/v1/me").await?;
        assert_eq!(me.status, StatusCode::OK);
        let me = me.json()?;
        assert_eq!(me["email"], "owner@alpha.kz");
        assert_eq!(me["locale"], "ru");
        assert_eq!(me["is_operator"], false);
        let mut both = memberships(&me);
        both.sort();
        assert_eq!(both, vec![(a, "owner".to_string()), (b, "owner".to_string())]);

        let (secret, _) = issue_token(&owner, a, "crm").await?;
        let by_token = Client::bearer(&app.base, &secret, Method::GET, "/api/v1/me", None).await?;
        assert_eq!(by_token.status, StatusCode::OK, "{}", by_token.text);
        let by_token = by_token.json()?;
        assert_eq!(by_token["id"], me["id"], "a token acts as the person who issued it");
        assert_eq!(memberships(&by_token), vec![(a, "owner".to_string())], "a token sees only its organizer");
        let list = Client::bearer(&app.base, &secret, Method::GET, "/api/v1/orgs", None).await?.json()?;
        assert_eq!(memberships(&list), vec![(a, "owner".to_string())]);
        // Its issuer owns B too, yet the token cannot reach B.
        for (m, path) in [
            (Method::GET, format!("/api/v1/orgs/{b}")),
            (Method::GET, format!("/api/v1/orgs/{b}/staff")),
            (Method::GET, format!("/api/v1/orgs/{b}/audit")),
            (Method::PUT, format!("/api/v1/orgs/{b}")),
        ] {
            let body = (m == Method::PUT).then(|| profile_json("beta"));
            let r = Client::bearer(&app.base, &secret, m, &path, body).await?;
            api_error(&r, StatusCode::NOT_FOUND, "not-found").with_context(|| path.clone())?;
        }
        let session = owner.get(&format!("/api/v1/orgs/{b}")).await?;
        assert_eq!(session.status, StatusCode::OK, "the session reaches B");

        let nobody = app.client()?.get("/api/v1/me").await?;
        api_error_in(&nobody, StatusCode::UNAUTHORIZED, "unauthorized", "ru", "unauthorized")?;
        let forged = Client::bearer(&app.base, "tabys_0000", Method::GET, "/api/v1/me", None).await?;
        api_error(&forged, StatusCode::UNAUTHORIZED, "unauthorized")?;
        let malformed = app.client()?.get_with("/api/v1/me", &[("authorization", "Basic YTpi")]).await?;
        api_error(&malformed, StatusCode::UNAUTHORIZED, "unauthorized")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_organizer_is_created_over_the_api_by_a_session_and_never_by_a_token(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let r = owner.api(Method::POST, "/api/v1/orgs", Some(profile_json("beta"))).await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let created = r.json()?;
        assert_eq!(created["slug"], "beta");
        assert_eq!(created["legal_form"], "legal_entity");
        assert_eq!(created["iin_bin"], "180540001239");
        let id = created["id"].as_i64().context("id")?;
        let got = owner.get(&format!("/api/v1/orgs/{id}")).await?.json()?;
        assert_eq!(got["legal_name"], "ТОО «beta»");

        let (secret, _) = issue_token(&owner, a, "crm").await?;
        let r = Client::bearer(&app.base, &secret, Method::POST, "/api/v1/orgs", Some(profile_json("gamma"))).await?;
        api_error_in(&r, StatusCode::FORBIDDEN, "forbidden", "ru", "forbidden")?;
        let gamma = app.client()?.get("/o/gamma").await?;
        assert_eq!(gamma.status, StatusCode::NOT_FOUND, "no organizer was created by the token");
        let mine = owner.get("/api/v1/orgs").await?.json()?;
        assert_eq!(memberships(&mine).len(), 2);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn staff_are_added_and_removed_over_the_api(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let staff_path = format!("/api/v1/orgs/{a}/staff");
        let r = owner
            .api(Method::POST, &staff_path, Some(json!({ "email": "Curator@Alpha.kz", "name": "Куратор", "role": "curator", "password": PASSWORD })))
            .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let member = r.json()?;
        assert_eq!(member["email"], "curator@alpha.kz");
        assert_eq!(member["role"], "curator");
        let curator = member["user_id"].as_i64().context("user_id")?;

        let list = owner.get(&staff_path).await?.json()?;
        let roles: Vec<(&str, &str)> = list
            .as_array()
            .context("list")?
            .iter()
            .filter_map(|m| Some((m["email"].as_str()?, m["role"].as_str()?)))
            .collect();
        assert_eq!(roles, vec![("owner@alpha.kz", "owner"), ("curator@alpha.kz", "curator")]);

        // The new login works with the password the owner gave.
        let c = app.client()?;
        let login = c.post_form("/login", &[("email", "curator@alpha.kz"), ("password", PASSWORD)]).await?;
        assert_eq!(login.status, StatusCode::SEE_OTHER);
        let me = c.get("/api/v1/me").await?.json()?;
        assert_eq!(memberships(&me), vec![(a, "curator".to_string())]);

        let again = owner.api(Method::POST, &staff_path, Some(json!({ "email": "curator@alpha.kz", "role": "support" }))).await?;
        let body = api_error_in(&again, StatusCode::UNPROCESSABLE_ENTITY, "already-staff", "ru", "already-staff")?;
        assert_eq!(body["error"]["fields"], json!([{ "field": "email", "code": "already-staff" }]));
        let owner_role = owner.api(Method::POST, &staff_path, Some(json!({ "email": "x@alpha.kz", "role": "owner", "password": PASSWORD }))).await?;
        api_error(&owner_role, StatusCode::UNPROCESSABLE_ENTITY, "role-unknown")?;

        let r = owner.api(Method::DELETE, &format!("{staff_path}/{curator}"), None).await?;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.text);
        ensure!(r.text.is_empty());
        let me = c.get("/api/v1/me").await?.json()?;
        assert_eq!(memberships(&me), vec![], "the removed person holds no role any more");
        let gone = owner.api(Method::DELETE, &format!("{staff_path}/{curator}"), None).await?;
        api_error(&gone, StatusCode::NOT_FOUND, "not-found")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_token_issued_on_the_tokens_page_works_only_for_its_organizer_until_revoked(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let (_, b) = app.organizer("owner@beta.kz", "beta").await?;
        let (secret, id) = issue_token(&owner, a, "crm").await?;
        let page = owner.get(&format!("/org/{a}/tokens")).await?;
        ensure!(!page.text.contains(&secret), "the secret is shown only once");

        let own = Client::bearer(&app.base, &secret, Method::GET, &format!("/api/v1/orgs/{a}"), None).await?;
        assert_eq!(own.status, StatusCode::OK, "{}", own.text);
        assert_eq!(own.json()?["slug"], "alpha");
        // A token changes things without a CSRF header: it is not a cookie.
        let added = Client::bearer(
            &app.base,
            &secret,
            Method::POST,
            &format!("/api/v1/orgs/{a}/staff"),
            Some(json!({ "email": "support@alpha.kz", "name": "Support", "role": "support", "password": PASSWORD })),
        )
        .await?;
        assert_eq!(added.status, StatusCode::CREATED, "{}", added.text);
        let other = Client::bearer(&app.base, &secret, Method::GET, &format!("/api/v1/orgs/{b}"), None).await?;
        api_error(&other, StatusCode::NOT_FOUND, "not-found")?;

        let revoked = owner.post_form(&format!("/org/{a}/tokens/{id}/revoke"), &[] as &[(&str, &str)]).await?;
        assert_eq!(revoked.status, StatusCode::SEE_OTHER);
        let after = Client::bearer(&app.base, &secret, Method::GET, &format!("/api/v1/orgs/{a}"), None).await?;
        api_error_in(&after, StatusCode::UNAUTHORIZED, "unauthorized", "ru", "unauthorized")?;
        let twice = owner.post_form(&format!("/org/{a}/tokens/{id}/revoke"), &[] as &[(&str, &str)]).await?;
        assert_eq!(twice.status, StatusCode::NOT_FOUND, "a revoked token cannot be revoked again");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_token_stops_working_when_its_issuer_leaves_the_staff(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let r = owner
            .api(Method::POST, &format!("/api/v1/orgs/{a}/staff"), Some(json!({ "email": "manager@alpha.kz", "name": "Manager", "role": "manager", "password": PASSWORD })))
            .await?;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.text);
        let manager_id = r.json()?["user_id"].as_i64().context("user_id")?;
        let manager = app.client()?;
        manager.post_form("/login", &[("email", "manager@alpha.kz"), ("password", PASSWORD)]).await?;
        assert_eq!(user_id(&manager).await?, manager_id);
        let (secret, _) = issue_token(&manager, a, "manager's script").await?;
        let works = Client::bearer(&app.base, &secret, Method::GET, &format!("/api/v1/orgs/{a}/audit"), None).await?;
        assert_eq!(works.status, StatusCode::OK, "{}", works.text);

        let removed = owner.api(Method::DELETE, &format!("/api/v1/orgs/{a}/staff/{manager_id}"), None).await?;
        assert_eq!(removed.status, StatusCode::NO_CONTENT);
        for path in [format!("/api/v1/orgs/{a}/audit"), "/api/v1/me".to_string()] {
            let r = Client::bearer(&app.base, &secret, Method::GET, &path, None).await?;
            api_error(&r, StatusCode::UNAUTHORIZED, "unauthorized").with_context(|| path.clone())?;
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn json_errors_have_one_shape_with_stable_codes_and_translated_messages(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let owner_id = user_id(&owner).await?;

        // 401, 404, 405, 409, 422 with fields, CSRF.
        api_error(&app.client()?.get("/api/v1/orgs").await?, StatusCode::UNAUTHORIZED, "unauthorized")?;
        api_error(&owner.get("/api/v1/orgs/424242").await?, StatusCode::NOT_FOUND, "not-found")?;
        api_error(&owner.get("/api/v1/no-such-thing").await?, StatusCode::NOT_FOUND, "not-found")?;
        api_error(&owner.api(Method::PATCH, "/api/v1/orgs", Some(json!({}))).await?, StatusCode::METHOD_NOT_ALLOWED, "method-not-allowed")?;
        let r = owner.api(Method::DELETE, &format!("/api/v1/orgs/{a}/staff/{owner_id}"), None).await?;
        api_error_in(&r, StatusCode::CONFLICT, "owner-cannot-be-removed", "ru", "owner-cannot-be-removed")?;

        let mut bad = profile_json("Bad Slug!");
        bad["iin_bin"] = json!("180540001238");
        bad["email"] = json!("not-an-email");
        bad["kbe"] = json!("7");
        let r = owner.api(Method::PUT, &format!("/api/v1/orgs/{a}"), Some(bad)).await?;
        let body = api_error_in(&r, StatusCode::UNPROCESSABLE_ENTITY, "slug-format", "ru", "slug-format")?;
        assert_eq!(
            body["error"]["fields"],
            json!([
                { "field": "slug", "code": "slug-format" },
                { "field": "email", "code": "email-format" },
                { "field": "iin_bin", "code": "iin-bin-checksum" },
                { "field": "kbe", "code": "kbe-format" },
            ]),
            "every bad field is reported at once"
        );

        let c = app.client()?;
        c.csrf().await?;
        let no_header = owner.send(Method::POST, "/api/v1/orgs", &[("content-type", "application/json")], Some(profile_json("gamma").to_string().into_bytes())).await?;
        api_error_in(&no_header, StatusCode::UNPROCESSABLE_ENTITY, "csrf", "ru", "csrf")?;

        // The message follows the caller's language; the code does not.
        let (secret, _) = issue_token(&owner, a, "crm").await?;
        for lang in support::LANGS {
            let r = bearer_with(&app, &secret, Method::GET, "/api/v1/orgs/424242", &[("accept-language", lang)], None).await?;
            api_error_in(&r, StatusCode::NOT_FOUND, "not-found", lang, "not-found")?;
        }
        no_server_errors(&app).await
    }
}
