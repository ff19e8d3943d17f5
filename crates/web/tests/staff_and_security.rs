//! Staff logins (PL-3), account security (PL-1: password change, "someone
//! else used my account", login rate limit), the language switch (PL-13)
//! and adult confirmation where an organizer asks for it (EX §3).

mod support;

use anyhow::{Context, ensure};
use support::{
    can_sign_in, error_page, field_error, form_error, memberships, no_server_errors, person_in,
    text,
};
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, PASSWORD, TestApp, db_test, json, org_form};

async fn sign_in(app: &TestApp, email: &str, password: &str) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", password)])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "sign-in of {email} answered {}: {}",
        r.status,
        r.text
    );
    Ok(c)
}

async fn signed_in(c: &Client) -> anyhow::Result<bool> {
    let r = c.get("/cabinet").await?;
    ensure!(
        matches!(r.status, StatusCode::OK | StatusCode::SEE_OTHER),
        "cabinet answered {}",
        r.status
    );
    Ok(r.status == StatusCode::OK)
}

async fn add_staff(
    owner: &Client,
    org: i64,
    email: &str,
    role: &str,
    password: &str,
) -> anyhow::Result<()> {
    let r = owner
        .post_form(
            &format!("/org/{org}/staff"),
            &[
                ("email", email),
                ("name", "Сотрудник"),
                ("role", role),
                ("password", password),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "adding {email} answered {}: {}",
        r.status,
        r.text
    );
    Ok(())
}

/// Turns on "customers confirm they are adults" in the organizer's profile.
async fn require_adults(owner: &Client, org: i64, slug: &str) -> anyhow::Result<()> {
    let mut form = org_form(slug);
    form.push(("requires_adult", "true".into()));
    let r = owner
        .post_form(&format!("/org/{org}/profile"), &form)
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "profile answered {}: {}",
        r.status,
        r.text
    );
    let profile = owner.get(&format!("/api/v1/orgs/{org}")).await?.json()?;
    ensure!(profile["requires_adult"] == true, "{profile}");
    Ok(())
}

db_test! {
    async fn owner_creates_a_staff_login_who_signs_in_and_sees_only_that_organizer(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let (_, b) = app.organizer("owner@beta.kz", "beta").await?;
        add_staff(&owner, a, "New.Curator@Alpha.kz", "curator", "curator-pass-1").await?;
        let page = owner.get(&format!("/org/{a}/staff")).await?;
        ensure!(page.text.contains("data-staff=\"new.curator@alpha.kz\""), "{}", page.text);

        let curator = sign_in(&app, "new.curator@alpha.kz", "curator-pass-1").await?;
        let cabinet = curator.get("/cabinet").await?;
        assert_eq!(cabinet.status, StatusCode::OK);
        ensure!(cabinet.text.contains(&format!("href=\"/org/{a}\"")), "{}", cabinet.text);
        ensure!(cabinet.text.contains("ТОО «alpha»") && !cabinet.text.contains("beta"), "{}", cabinet.text);
        ensure!(cabinet.text.contains(&text("ru", "role-curator")?));
        assert_eq!(memberships(&curator.get("/api/v1/me").await?.json()?), vec![(a, "curator".to_string())]);
        assert_eq!(curator.get(&format!("/org/{a}")).await?.status, StatusCode::OK);
        assert_eq!(curator.get(&format!("/org/{b}")).await?.status, StatusCode::NOT_FOUND);

        // A curator neither edits the profile nor issues tokens.
        error_page(&curator.get(&format!("/org/{a}/profile")).await?, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        let r = curator.post_form(&format!("/org/{a}/tokens"), &[("name", "mine")]).await?;
        error_page(&r, StatusCode::FORBIDDEN, "ru", "forbidden")?;

        // A new login needs a proper first password.
        let r = owner
            .post_form(&format!("/org/{a}/staff"), &[("email", "weak@alpha.kz"), ("name", "Weak"), ("role", "support"), ("password", "short")])
            .await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "password", "password-too-short")?;
        ensure!(!can_sign_in(&app, "weak@alpha.kz", "short").await?);
        let r = owner
            .post_form(&format!("/org/{a}/staff"), &[("email", "boss@alpha.kz"), ("name", "Boss"), ("role", "owner"), ("password", PASSWORD)])
            .await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "role", "role-unknown")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_existing_customer_is_promoted_to_staff_keeping_their_password(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let customer = app.person("client@example.kz", "Клиент").await?;
        assert_eq!(customer.post_form("/o/alpha/join", &[] as &[(&str, &str)]).await?.status, StatusCode::SEE_OTHER);
        assert_eq!(memberships(&customer.get("/api/v1/me").await?.json()?), vec![(a, "customer".to_string())]);
        assert_eq!(customer.get(&format!("/org/{a}")).await?.status, StatusCode::FORBIDDEN);

        // The password in the form is ignored: the person keeps their own.
        add_staff(&owner, a, "client@example.kz", "support", "ignored-password").await?;
        assert_eq!(memberships(&customer.get("/api/v1/me").await?.json()?), vec![(a, "support".to_string())]);
        assert_eq!(customer.get(&format!("/org/{a}")).await?.status, StatusCode::OK);
        ensure!(can_sign_in(&app, "client@example.kz", PASSWORD).await?);
        ensure!(!can_sign_in(&app, "client@example.kz", "ignored-password").await?);
        let r = owner
            .post_form(&format!("/org/{a}/staff"), &[("email", "client@example.kz"), ("role", "curator")])
            .await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "email", "already-staff")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_manager_cannot_add_or_remove_staff(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        add_staff(&owner, a, "manager@alpha.kz", "manager", PASSWORD).await?;
        add_staff(&owner, a, "support@alpha.kz", "support", PASSWORD).await?;
        let manager = sign_in(&app, "manager@alpha.kz", PASSWORD).await?;
        let page = manager.get(&format!("/org/{a}/staff")).await?;
        assert_eq!(page.status, StatusCode::OK);
        ensure!(!page.text.contains("/remove"), "a manager is offered removal: {}", page.text);

        let r = manager
            .post_form(&format!("/org/{a}/staff"), &[("email", "friend@alpha.kz"), ("name", "Friend"), ("role", "manager"), ("password", PASSWORD)])
            .await?;
        error_page(&r, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        let r = manager
            .api(Method::POST, &format!("/api/v1/orgs/{a}/staff"), Some(json!({ "email": "friend@alpha.kz", "role": "manager", "password": PASSWORD })))
            .await?;
        assert_eq!(r.status, StatusCode::FORBIDDEN);
        assert_eq!(r.json()?["error"]["code"], "forbidden");
        ensure!(!can_sign_in(&app, "friend@alpha.kz", PASSWORD).await?, "the manager created a login");

        let staff = owner.get(&format!("/api/v1/orgs/{a}/staff")).await?.json()?;
        let support = staff
            .as_array()
            .and_then(|l| l.iter().find(|m| m["email"] == "support@alpha.kz"))
            .and_then(|m| m["user_id"].as_i64())
            .context("support id")?;
        let r = manager.post_form(&format!("/org/{a}/staff/{support}/remove"), &[] as &[(&str, &str)]).await?;
        error_page(&r, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        assert_eq!(owner.get(&format!("/api/v1/orgs/{a}/staff")).await?.json()?, staff, "the staff changed");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn the_owner_cannot_be_removed(app: TestApp) {
        let (owner, a) = app.organizer("owner@alpha.kz", "alpha").await?;
        let owner_id = owner.get("/api/v1/me").await?.json()?["id"].as_i64().context("id")?;
        let r = owner.post_form(&format!("/org/{a}/staff/{owner_id}/remove"), &[] as &[(&str, &str)]).await?;
        error_page(&r, StatusCode::CONFLICT, "ru", "owner-cannot-be-removed")?;
        let r = owner.api(Method::DELETE, &format!("/api/v1/orgs/{a}/staff/{owner_id}"), None).await?;
        assert_eq!(r.status, StatusCode::CONFLICT);
        assert_eq!(r.json()?["error"]["code"], "owner-cannot-be-removed");
        assert_eq!(memberships(&owner.get("/api/v1/me").await?.json()?), vec![(a, "owner".to_string())]);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn changing_the_password_ends_other_sessions_and_keeps_this_one(app: TestApp) {
        let here = app.person("me@example.kz", "Me").await?;
        let laptop = sign_in(&app, "me@example.kz", PASSWORD).await?;
        let phone = sign_in(&app, "me@example.kz", PASSWORD).await?;
        let page = here.get("/cabinet/security").await?;
        ensure!(page.text.contains("3 активных сеанса"), "{}", page.text);

        let r = here.post_form("/cabinet/password", &[("current_password", "not-my-password"), ("new_password", "new-password-1")]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "current_password", "password-wrong")?;
        let r = here.post_form("/cabinet/password", &[("current_password", PASSWORD), ("new_password", "short")]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "new_password", "password-too-short")?;
        ensure!(signed_in(&laptop).await? && signed_in(&phone).await?, "a refused change ended sessions");

        let r = here.post_form("/cabinet/password", &[("current_password", PASSWORD), ("new_password", "new-password-1")]).await?;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text);
        ensure!(r.text.contains(&text("ru", "security-password-changed")?), "{}", r.text);
        ensure!(r.text.contains("1 активный сеанс"), "{}", r.text);
        ensure!(signed_in(&here).await?, "the current session ended");
        ensure!(!signed_in(&laptop).await? && !signed_in(&phone).await?, "other sessions survived");
        ensure!(!can_sign_in(&app, "me@example.kz", PASSWORD).await?, "the old password still works");
        ensure!(can_sign_in(&app, "me@example.kz", "new-password-1").await?, "the new password does not work");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn reporting_someone_else_used_my_account_ends_every_session_and_alerts_the_operator(app: TestApp) {
        let mut tx = app.db.begin().await?;
        users::create(
            &mut tx,
            &app.db,
            NewUser {
                email: Email::parse("operator@tabys.kz")?,
                name: "Оператор".into(),
                password: "operator-password".into(),
                locale: Locale::Ru,
                adult_confirmed: false,
            },
            true,
        )
        .await?;
        tx.commit().await?;
        let operator = sign_in(&app, "operator@tabys.kz", "operator-password").await?;
        let admin = operator.get("/admin").await?;
        assert_eq!(admin.status, StatusCode::OK);
        ensure!(admin.text.contains(&text("ru", "admin-no-alerts")?), "{}", admin.text);

        let victim = app.person("victim@example.kz", "Victim").await?;
        let thief = sign_in(&app, "victim@example.kz", PASSWORD).await?;
        let r = victim.post_form("/cabinet/compromised", &[] as &[(&str, &str)]).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/login?compromised=1"));
        ensure!(!signed_in(&victim).await?, "the reporting session survived");
        ensure!(!signed_in(&thief).await?, "the other session survived");
        ensure!(signed_in(&operator).await?, "someone else's session ended");

        let admin = operator.get("/admin").await?;
        let alerts = admin.text.split("data-list=\"alerts\"").nth(1).context("the alert list is shown")?;
        let alerts = alerts.split("</table>").next().unwrap_or_default();
        ensure!(alerts.contains("victim@example.kz"), "{alerts}");
        ensure!(alerts.contains(&text("ru", "alert-account-compromised")?), "{alerts}");
        ensure!(alerts.contains("2 sessions ended"), "{alerts}");

        // Only the operator sees the console.
        let nosy = app.person("nosy@example.kz", "Nosy").await?;
        error_page(&nosy.get("/admin").await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        ensure!(can_sign_in(&app, "victim@example.kz", PASSWORD).await?, "the person can sign in again");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn five_failed_logins_for_one_email_lock_it_for_fifteen_minutes(app: TestApp) {
        app.person("target@example.kz", "Target").await?;
        app.person("bystander@example.kz", "Bystander").await?;
        for attempt in 1..=5 {
            let r = app.client()?.post_form("/login", &[("email", "target@example.kz"), ("password", "guess")]).await?;
            form_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "login-failed").with_context(|| format!("attempt {attempt}"))?;
        }
        // Even the right password is refused now, with a translated reason.
        for lang in ["ru", "kk", "en"] {
            let c = app.client()?;
            let r = c.post_form_with("/login", &[("email", "target@example.kz"), ("password", PASSWORD)], &[("accept-language", lang)]).await?;
            form_error(&r, StatusCode::TOO_MANY_REQUESTS, lang, "rate-limited")?;
            ensure!(c.cookie("sid").is_none());
        }
        let r = app.client()?.post_form("/login", &[("email", "TARGET@example.kz"), ("password", PASSWORD)]).await?;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "the same mailbox typed differently");
        ensure!(can_sign_in(&app, "bystander@example.kz", PASSWORD).await?, "another email is not locked");

        app.clock.advance_seconds(15 * 60 - 1);
        let r = app.client()?.post_form("/login", &[("email", "target@example.kz"), ("password", PASSWORD)]).await?;
        assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "locked until the window passes");
        app.clock.advance_seconds(1);
        ensure!(can_sign_in(&app, "target@example.kz", PASSWORD).await?, "still locked after 15 minutes");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn four_failed_logins_do_not_lock(app: TestApp) {
        app.person("target@example.kz", "Target").await?;
        for _ in 0..4 {
            ensure!(!can_sign_in(&app, "target@example.kz", "guess").await?);
        }
        ensure!(can_sign_in(&app, "target@example.kz", PASSWORD).await?);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn switching_to_kazakh_sets_the_cookie_and_the_account_language(app: TestApp) {
        let c = app.person("me@example.kz", "Мен").await?;
        assert_eq!(c.cookie("lang").as_deref(), Some("ru"));
        let r = c.get("/lang/kk?next=/cabinet").await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(r.location.as_deref(), Some("/cabinet"));
        assert_eq!(c.cookie("lang").as_deref(), Some("kk"));
        let cabinet = c.get("/cabinet").await?;
        ensure!(cabinet.text.contains("<html lang=\"kk\">"), "{}", cabinet.text);
        ensure!(cabinet.text.contains(&text("kk", "cabinet-my-organizers")?), "{}", cabinet.text);
        ensure!(!cabinet.text.contains(&text("ru", "cabinet-my-organizers")?));
        assert_eq!(c.get("/api/v1/me").await?.json()?["locale"], "kk");

        // A new browser without the cookie: signing in brings Kazakh back.
        let other = sign_in(&app, "me@example.kz", PASSWORD).await?;
        assert_eq!(other.cookie("lang").as_deref(), Some("kk"));
        ensure!(other.get("/cabinet").await?.text.contains("<html lang=\"kk\">"));

        // Only same-site places to go back to; unknown languages do not exist.
        let r = c.get("/lang/en?next=https://evil.example/").await?;
        assert_eq!(r.location.as_deref(), Some("/"));
        let r = c.get("/lang/en?next=//evil.example/").await?;
        assert_eq!(r.location.as_deref(), Some("/cabinet"));
        error_page(&c.get("/lang/fr").await?, StatusCode::NOT_FOUND, "en", "not-found")?;
        assert_eq!(c.get("/api/v1/me").await?.json()?["locale"], "en");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn signing_up_with_an_organizer_that_requires_adults_needs_the_confirmation(app: TestApp) {
        let (owner, a) = app.organizer("owner@club.kz", "club").await?;
        require_adults(&owner, a, "club").await?;
        let page = app.client()?.get("/signup?org=club").await?;
        assert_eq!(page.status, StatusCode::OK);
        ensure!(page.text.contains("name=\"adult\""), "the box is offered: {}", page.text);

        for lang in ["ru", "kk", "en"] {
            let c = app.client()?;
            let email = format!("young-{lang}@example.kz");
            let r = c
                .post_form_with("/signup", &[("name", "Young"), ("email", email.as_str()), ("password", PASSWORD), ("org", "club")], &[("accept-language", lang)])
                .await?;
            field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, lang, "adult", "adult-required")?;
            ensure!(c.cookie("sid").is_none());
            ensure!(!can_sign_in(&app, &email, PASSWORD).await?, "{lang}: an account was created");
        }

        let c = app.client()?;
        let r = c
            .post_form("/signup", &[("name", "Adult"), ("email", "adult@example.kz"), ("password", PASSWORD), ("org", "club"), ("adult", "yes")])
            .await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        assert_eq!(r.location.as_deref(), Some("/o/club"));
        assert_eq!(memberships(&c.get("/api/v1/me").await?.json()?), vec![(a, "customer".to_string())]);

        // Without an organizer, or with one that does not ask, no box is needed.
        let plain = app.client()?.get("/signup").await?;
        ensure!(!plain.text.contains("name=\"adult\""));
        app.person("anyone@example.kz", "Anyone").await?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn joining_an_organizer_that_requires_adults_needs_the_confirmation(app: TestApp) {
        let (owner, a) = app.organizer("owner@club.kz", "club").await?;
        let (_, plain) = app.organizer("owner@plain.kz", "plain").await?;
        require_adults(&owner, a, "club").await?;

        let person = person_in(&app, "person@example.kz", "Person", "kk").await?;
        let page = person.get("/o/club").await?;
        ensure!(page.text.contains("name=\"adult\""), "{}", page.text);
        let r = person.post_form("/o/club/join", &[] as &[(&str, &str)]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "kk", "adult", "adult-required")?;
        assert_eq!(memberships(&person.get("/api/v1/me").await?.json()?), vec![], "joined without confirming");

        // An organizer that does not ask lets anyone join.
        assert_eq!(person.post_form("/o/plain/join", &[] as &[(&str, &str)]).await?.status, StatusCode::SEE_OTHER);

        let r = person.post_form("/o/club/join", &[("adult", "yes")]).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text);
        let mut joined = memberships(&person.get("/api/v1/me").await?.json()?);
        joined.sort();
        assert_eq!(joined, vec![(a, "customer".to_string()), (plain, "customer".to_string())]);
        let page = person.get("/o/club").await?;
        ensure!(page.text.contains("data-member"), "{}", page.text);
        ensure!(page.text.contains(&text("kk", "role-customer")?), "{}", page.text);
        no_server_errors(&app).await
    }
}
