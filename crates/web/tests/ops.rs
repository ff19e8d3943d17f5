//! What an operator relies on: the health check, Prometheus metrics counted
//! by route pattern, a request id on every response, and the audit entry
//! every profile change leaves (PL-2, PL-9).

mod support;

use std::collections::BTreeSet;

use anyhow::{Context, ensure};
use support::no_server_errors;
use tabys_store::audit::{self, Verdict};
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, TestApp, Value, db_test, json, org_form};

/// The value of one counter series in a Prometheus text exposition.
fn counter(metrics: &str, labels: &str) -> u64 {
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(&format!("tabys_http_requests_total{{{labels}}} ")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

async fn metrics(app: &TestApp) -> anyhow::Result<String> {
    let r = app.client()?.get("/metrics").await?;
    ensure!(r.status == StatusCode::OK, "metrics answered {}", r.status);
    Ok(r.text)
}

fn profile_json(slug: &str, changes: &[(&str, Value)]) -> Value {
    let mut body = serde_json::Map::new();
    for (k, v) in org_form(slug) {
        body.insert(k.to_string(), Value::String(v));
    }
    for (k, v) in changes {
        body.insert(k.to_string(), v.clone());
    }
    Value::Object(body)
}

db_test! {
    async fn healthz_answers_ok_while_the_database_answers(app: TestApp) {
        let r = app.client()?.get("/healthz").await?;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(r.text, "ok");
        app.db.close().await;
        let r = app.client()?.get("/healthz").await?;
        assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "a closed database is not healthy");
        Ok(())
    }
}

db_test! {
    async fn metrics_are_prometheus_text_counting_requests_by_route_pattern(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let (other, b) = app.organizer("owner@beta.kz", "beta").await?;
        let before = metrics(&app).await?;
        let label = "route=\"/org/{org}\",method=\"GET\",status=\"200\"";
        let start = counter(&before, label);
        owner.get(&format!("/org/{a}")).await?;
        owner.get(&format!("/org/{a}")).await?;
        other.get(&format!("/org/{b}")).await?;
        owner.get(&format!("/org/{b}")).await?;
        app.client()?.get("/no-such-page-7731").await?;

        let r = app.client()?.get("/metrics").await?;
        let content_type = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default();
        ensure!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
        let text = r.text;
        ensure!(text.contains("# TYPE tabys_http_requests_total counter"));
        ensure!(text.contains("# TYPE tabys_http_request_duration_seconds histogram"));
        assert_eq!(counter(&text, label), start + 3, "both organizers' dashboards count under one pattern:\n{text}");
        assert_eq!(counter(&text, "route=\"/org/{org}\",method=\"GET\",status=\"404\""), 1, "{text}");
        ensure!(!text.contains(&format!("\"/org/{a}\"")) && !text.contains("no-such-page-7731"), "raw paths leak into labels:\n{text}");

        // Every sample line is `name{labels} number`; histogram buckets grow
        // and the +Inf bucket equals the count.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').context("sample")?;
            ensure!(series.starts_with("tabys_http_") && series.ends_with('}'), "{line}");
            ensure!(value.parse::<f64>().is_ok(), "{line}");
        }
        let route = "route=\"/org/{org}\"";
        let buckets: Vec<u64> = text
            .lines()
            .filter(|l| l.starts_with(&format!("tabys_http_request_duration_seconds_bucket{{{route},")))
            .filter_map(|l| l.rsplit_once(' ').and_then(|(_, v)| v.parse().ok()))
            .collect();
        ensure!(buckets.len() == 11 && buckets.windows(2).all(|w| w[0] <= w[1]), "{buckets:?}");
        let count = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("tabys_http_request_duration_seconds_count{{{route}}} ")))
            .and_then(|v| v.parse::<u64>().ok())
            .context("count")?;
        assert_eq!(buckets.last().copied(), Some(count));
        no_server_errors(&app).await
    }
}

db_test! {
    async fn every_response_carries_a_request_id(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let anon = app.client()?;
        let replies = vec![
            ("page", owner.get(&format!("/org/{a}")).await?),
            ("redirect", anon.get("/cabinet").await?),
            ("404 page", anon.get("/no-such-page").await?),
            ("400 page", owner.get("/org/abc").await?),
            ("405 page", anon.send(Method::DELETE, "/cabinet", &[], None).await?),
            ("422 form", anon.post_raw("/signup", "application/x-www-form-urlencoded", "name=x").await?),
            ("API", owner.get("/api/v1/me").await?),
            ("API 401", anon.get("/api/v1/me").await?),
            ("API 404", owner.get("/api/v1/nothing").await?),
            ("API 422", owner.api(Method::POST, "/api/v1/orgs", Some(json!({}))).await?),
            ("static", anon.get("/static/app.css").await?),
            ("health", anon.get("/healthz").await?),
            ("metrics", anon.get("/metrics").await?),
            ("openapi", anon.get("/api/v1/openapi.json").await?),
        ];
        let mut ids = BTreeSet::new();
        for (what, r) in &replies {
            let id = r.headers.get("x-request-id").and_then(|v| v.to_str().ok()).with_context(|| format!("{what} ({}) has no x-request-id", r.status))?;
            ensure!(!id.is_empty(), "{what}: empty request id");
            ids.insert(id.to_string());
        }
        assert_eq!(ids.len(), replies.len(), "request ids repeat: {ids:?}");

        // An id set by a proxy in front is kept, so logs line up.
        let r = anon.get_with("/healthz", &[("x-request-id", "edge-1234")]).await?;
        assert_eq!(r.headers.get("x-request-id").and_then(|v| v.to_str().ok()), Some("edge-1234"));
        no_server_errors(&app).await
    }
}

/// The newest audit entry of an organizer, with its data parsed.
async fn newest_entry(c: &Client, org: i64) -> anyhow::Result<(Value, Value)> {
    let r = c.get(&format!("/api/v1/orgs/{org}/audit")).await?;
    ensure!(
        r.status == StatusCode::OK,
        "audit answered {}: {}",
        r.status,
        r.text
    );
    let entries = r.json()?;
    let newest = entries
        .as_array()
        .and_then(|a| a.first())
        .context("no audit entries")?
        .clone();
    let data: Value = serde_json::from_str(newest["data"].as_str().context("data")?)?;
    Ok((newest, data))
}

db_test! {
    async fn every_profile_change_is_audited_with_each_changed_field_before_and_after(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let owner_id = owner.get("/api/v1/me").await?.json()?["id"].as_i64().context("id")?;
        let (created, _) = newest_entry(&owner, a).await?;
        assert_eq!(created["action"], "organizer.created");

        // Over the API.
        let body = profile_json("alpha", &[("legal_name", json!("ТОО «Альфа»")), ("kbe", json!("19")), ("requires_adult", json!(true))]);
        let r = owner.api(Method::PUT, &format!("/api/v1/orgs/{a}"), Some(body.clone())).await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        let (entry, data) = newest_entry(&owner, a).await?;
        assert_eq!(entry["action"], "organizer.updated");
        assert_eq!(entry["subject"], format!("organizer:{a}"));
        assert_eq!(entry["actor_id"], owner_id);
        assert_eq!(entry["org_id"], a);
        assert_eq!(
            data,
            json!({
                "legal_name": { "before": "ТОО «alpha»", "after": "ТОО «Альфа»" },
                "kbe": { "before": "17", "after": "19" },
                "requires_adult": { "before": false, "after": true },
            }),
            "exactly the changed fields, before and after"
        );
        let seq = entry["seq"].as_i64().context("seq")?;

        // The same again changes nothing and records nothing.
        let r = owner.api(Method::PUT, &format!("/api/v1/orgs/{a}"), Some(body)).await?;
        assert_eq!(r.status, StatusCode::OK);
        assert_eq!(newest_entry(&owner, a).await?.0["seq"], seq, "an edit without changes was audited");

        // On the profile page, by a manager.
        let r = owner
            .api(Method::POST, &format!("/api/v1/orgs/{a}/staff"), Some(json!({ "email": "manager@alpha.kz", "name": "Manager", "role": "manager", "password": tabys_testkit::PASSWORD })))
            .await?;
        assert_eq!(r.status, StatusCode::CREATED);
        let manager_id = r.json()?["user_id"].clone();
        let manager = app.client()?;
        manager.post_form("/login", &[("email", "manager@alpha.kz"), ("password", tabys_testkit::PASSWORD)]).await?;
        let mut form = org_form("alpha");
        form.retain(|(k, _)| !matches!(*k, "legal_name" | "kbe" | "legal_address"));
        form.extend([("legal_name", "ТОО «Альфа»".to_string()), ("kbe", "19".to_string()), ("legal_address", "г. Астана, ул. Достык, 5".to_string())]);
        let r = manager.post_form(&format!("/org/{a}/profile"), &form).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let (entry, data) = newest_entry(&owner, a).await?;
        assert_eq!(entry["actor_id"], manager_id);
        assert_eq!(
            data,
            json!({
                "legal_address": { "before": "г. Алматы, пр. Абая, 1", "after": "г. Астана, ул. Достык, 5" },
                // The form has no box ticked: the requirement is switched off.
                "requires_adult": { "before": true, "after": false },
            })
        );
        let page = owner.get(&format!("/org/{a}/audit")).await?;
        ensure!(page.text.contains("organizer.updated") && page.text.contains("г. Астана, ул. Достык, 5"), "{}", page.text);

        match audit::verify(&app.db).await? {
            Verdict::Intact { .. } => {}
            broken => anyhow::bail!("the audit chain is broken: {broken:?}"),
        }
        no_server_errors(&app).await
    }
}
