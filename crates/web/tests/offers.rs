//! Offers and personal data over HTTP, on both databases: publishing
//! versions, signing up with acceptance, first-login acceptance, notices,
//! objections, acceptance by continued use, downloads, consents, data
//! rights, staff access to personal data, evidence verification, and every
//! kind of bad input (refused with a translated message, nothing recorded).

use anyhow::{Context, ensure};
use sqlx::Row;
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_offers::acceptance::{self, PaymentAcceptance};
use tabys_offers::{Evidence, Method, Publisher, rights, verify};
use tabys_testkit::reqwest::{Method as Http, StatusCode};
use tabys_testkit::{Client, PASSWORD, Reply, TestApp, db_test, json};
use tabys_web::i18n::Tr;

/// The Russian message for an error code, as a page shows it (escaped).
fn err(code: &str) -> String {
    escape(&Tr::new(Locale::Ru).err(code))
}

fn escape(s: &str) -> String {
    s.replace('&', "&#38;")
        .replace('<', "&#60;")
        .replace('>', "&#62;")
        .replace('"', "&#34;")
        .replace('\'', "&#39;")
}

fn shows_err(r: &Reply, code: &str) -> bool {
    r.text.contains(&err(code))
}

const RU: &str = "Публичная оферта ТОО «Пример»\r\n\r\n1. Исполнитель оказывает услуги.\r\n2. Оплата — 100% заранее.";
const KK: &str =
    "«Пример» ЖШС жария офертасы\n\n1. Орындаушы қызмет көрсетеді.\n2. Төлем — 100% алдын ала.";
/// What the server stores for RU: Unix line ends, surrounding space trimmed.
const RU_STORED: &str =
    "Публичная оферта ТОО «Пример»\n\n1. Исполнитель оказывает услуги.\n2. Оплата — 100% заранее.";

/// 2026-03-03 15:00 in Almaty: a day and an hour after the tests' start (14:00 the day before).
const TOMORROW: &str = "2026-03-03T15:00";

fn location(r: &Reply) -> anyhow::Result<String> {
    r.location
        .clone()
        .with_context(|| format!("no redirect: {} {}", r.status, r.text))
}

/// Creates an offer through the organizer's page; returns its id.
async fn create_offer(
    owner: &Client,
    org: i64,
    kind: &str,
    methods: &[&str],
    notice: &str,
) -> anyhow::Result<i64> {
    let mut form = vec![
        ("kind".to_string(), kind.to_string()),
        ("notice_days".into(), notice.into()),
    ];
    for m in methods {
        form.push((format!("m_{m}"), "1".into()));
    }
    let r = owner
        .post_form(&format!("/org/{org}/offers"), &form)
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "create offer answered {}: {}",
        r.status,
        r.text
    );
    location(&r)?
        .rsplit('/')
        .next()
        .and_then(|id| id.parse().ok())
        .context("offer id")
}

async fn publish(
    owner: &Client,
    org: i64,
    offer: i64,
    ru: &str,
    kk: &str,
    effective: &str,
) -> anyhow::Result<Reply> {
    owner
        .post_form(
            &format!("/org/{org}/offers/{offer}/version"),
            &[
                ("text_ru", ru),
                ("text_kk", kk),
                ("text_en", ""),
                ("effective_at", effective),
                ("action", "publish"),
            ],
        )
        .await
}

/// The value of a hidden input on a page.
fn hidden(page: &str, name: &str) -> anyhow::Result<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = page
        .find(&marker)
        .with_context(|| format!("no field {name} on the page"))?
        + marker.len();
    let end = page[start..].find('"').context("unterminated value")?;
    Ok(page[start..start + end].to_string())
}

/// Signs a person up on /signup (with an organizer), ticking both boxes.
async fn sign_up(app: &TestApp, email: &str, org_slug: Option<&str>) -> anyhow::Result<Client> {
    let c = app.client()?;
    let path = org_slug.map_or("/signup".to_string(), |s| format!("/signup?org={s}"));
    let page = c
        .get_with(&path, &[("user-agent", "TestBrowser/1.0")])
        .await?;
    let offers = hidden(&page.text, "offers").unwrap_or_default();
    let form = [
        ("name", "Клиент"),
        ("email", email),
        ("password", PASSWORD),
        ("org", org_slug.unwrap_or("")),
        ("offers", offers.as_str()),
        ("accept", "yes"),
        ("consent", "yes"),
    ];
    let r = c
        .post_form_with("/signup", &form, &[("user-agent", "TestBrowser/1.0")])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "sign-up of {email} answered {}: {}",
        r.status,
        r.text
    );
    Ok(c)
}

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e)
        .await?
        .context("no such person")?
        .id)
}

async fn count(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query(sql)
        .fetch_one(app.db.read())
        .await?
        .try_get(0)?)
}

/// An organizer with a published public offer accepted by checkbox, with one day's notice.
async fn org_with_offer(app: &TestApp, slug: &str) -> anyhow::Result<(Client, i64, i64)> {
    let (owner, org) = app.organizer(&format!("owner@{slug}.kz"), slug).await?;
    let offer = create_offer(&owner, org, "public_offer", &["checkbox"], "1").await?;
    let r = publish(&owner, org, offer, RU, KK, "").await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "publish answered {}: {}",
        r.status,
        r.text
    );
    Ok((owner, org, offer))
}

/// The operator, signed in.
async fn operator(app: &TestApp) -> anyhow::Result<Client> {
    let mut tx = app.db.begin().await?;
    let email = Email::parse("operator@tabys.kz").map_err(|e| anyhow::anyhow!("{e}"))?;
    let new = NewUser {
        email,
        name: "Оператор".into(),
        password: PASSWORD.into(),
        locale: Locale::Ru,
        adult_confirmed: true,
    };
    users::create(&mut tx, &app.db, new, true).await?;
    tx.commit().await?;
    let c = app.client()?;
    let r = c
        .post_form(
            "/login",
            &[("email", "operator@tabys.kz"), ("password", PASSWORD)],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "operator login: {}",
        r.status
    );
    Ok(c)
}

db_test! {
    async fn signing_up_with_an_organizer_shows_its_offer_unticked_and_records_the_acceptance(app: TestApp) {
        let (_, org, _) = org_with_offer(&app, "primer").await?;
        let page = app.client()?.get("/signup?org=primer").await?;
        ensure!(page.text.contains("data-offer-link"), "the offer is linked: {}", page.text);
        ensure!(!page.text.contains("name=\"accept\" value=\"yes\" checked"), "the box is not pre-ticked");
        let c = sign_up(&app, "aliya@example.kz", Some("primer")).await?;
        let user = user_id(&app, "aliya@example.kz").await?;
        let list = acceptance::of_user(&app.db, user).await?;
        ensure!(list.len() == 1, "{list:?}");
        let a = &list[0];
        ensure!(a.method == Method::Checkbox && a.org_id == Some(OrgId(org)));
        ensure!(a.user_agent == "TestBrowser/1.0", "{a:?}");
        ensure!(!a.ip.is_empty() && a.wording.contains("Публичная оферта") && a.locale == Locale::Ru, "{a:?}");
        let v = tabys_offers::version::get(&app.db, Publisher::Org(OrgId(org)), a.version_id).await?;
        ensure!(a.version_hash == v.hash && v.hash == v.recompute_hash());
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM audit_log WHERE action = 'offer.accepted' AND subject = 'offer_acceptance:{}'", a.id)).await? == 1);
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM consent_events WHERE user_id = {} AND kind = 'personal_data' AND granted = 1", user.0)).await? == 2, "platform and organizer consents");
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM memberships WHERE user_id = {} AND org_id = {org} AND role = 'customer'", user.0)).await? == 1);
        ensure!(c.get("/cabinet").await?.status == StatusCode::OK);
        Ok(())
    }
}

db_test! {
    async fn sign_up_without_ticking_the_offer_is_refused_and_creates_nothing(app: TestApp) {
        org_with_offer(&app, "primer").await?;
        let c = app.client()?;
        let page = c.get("/signup?org=primer").await?;
        let offers = hidden(&page.text, "offers")?;
        let users_before = count(&app, "SELECT COUNT(*) FROM users").await?;
        for (fields, code) in [
            (vec![("consent", "yes")], "offer-acceptance-required"),
            (vec![("accept", "yes")], "consent-required"),
        ] {
            let mut form = vec![("name", "Нет"), ("email", "no@example.kz"), ("password", PASSWORD), ("org", "primer"), ("offers", offers.as_str())];
            form.extend(fields);
            let r = c.post_form("/signup", &form).await?;
            ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, code), "{code}: {} {}", r.status, r.text);
        }
        ensure!(count(&app, "SELECT COUNT(*) FROM users").await? == users_before);
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances").await? == 0);
        ensure!(c.cookie("sid").is_none());
        Ok(())
    }
}

db_test! {
    async fn forged_and_replayed_sign_up_forms_are_refused_and_record_nothing(app: TestApp) {
        let (owner_a, org_a, offer_a) = org_with_offer(&app, "alpha").await?;
        org_with_offer(&app, "beta").await?;
        let c = app.client()?;
        let alpha_field = hidden(&c.get("/signup?org=alpha").await?.text, "offers")?;
        let beta_field = hidden(&c.get("/signup?org=beta").await?.text, "offers")?;
        let (id, hash) = alpha_field.split_once(':').context("field")?;
        let tampered = format!("{id}:{}", hash.replace(&hash[..4], "0000"));
        let post = |offers: String, email: &'static str| {
            let c = &c;
            async move {
                c.post_form("/signup", &[("name", "X"), ("email", email), ("password", PASSWORD), ("org", "alpha"), ("offers", offers.as_str()), ("accept", "yes"), ("consent", "yes")]).await
            }
        };
        let r = post(beta_field, "f1@example.kz").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-version-mismatch"), "other org's version: {}", r.text);
        let r = post(tampered, "f2@example.kz").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-hash-mismatch"), "tampered hash: {}", r.text);
        let r = post(String::new(), "f3@example.kz").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-not-current"), "no offers: {}", r.text);
        // A new version takes effect: the old form is replayed.
        let r = publish(&owner_a, org_a, offer_a, "Новая редакция", "Жаңа редакция", TOMORROW).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        app.clock.advance_seconds(26 * 3600);
        let r = post(alpha_field, "f4@example.kz").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-not-current"), "replayed: {}", r.text);
        ensure!(count(&app, "SELECT COUNT(*) FROM users WHERE email LIKE 'f%@example.kz'").await? == 0);
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances").await? == 0);
        Ok(())
    }
}

db_test! {
    async fn platform_offers_apply_to_every_sign_up_with_or_without_an_organizer(app: TestApp) {
        org_with_offer(&app, "primer").await?;
        let op = operator(&app).await?;
        let r = op.post_form("/admin/offers", &[("kind", "terms"), ("m_checkbox", "1"), ("notice_days", "1")]).await?;
        let offer: i64 = location(&r)?.rsplit('/').next().and_then(|s| s.parse().ok()).context("id")?;
        let r = op
            .post_form(&format!("/admin/offers/{offer}/version"), &[("text_ru", "Условия Tabys"), ("text_kk", "Tabys шарттары"), ("effective_at", ""), ("action", "publish")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let page = app.client()?.get("/signup").await?;
        ensure!(page.text.contains("/offers/"), "the platform's terms are linked");
        sign_up(&app, "plain@example.kz", None).await?;
        sign_up(&app, "withorg@example.kz", Some("primer")).await?;
        let plain = acceptance::of_user(&app.db, user_id(&app, "plain@example.kz").await?).await?;
        let with_org = acceptance::of_user(&app.db, user_id(&app, "withorg@example.kz").await?).await?;
        ensure!(plain.len() == 1 && plain[0].org_id.is_none());
        ensure!(with_org.len() == 2 && with_org.iter().any(|a| a.org_id.is_none()));
        let public = app.client()?.get("/offers").await?;
        ensure!(public.text.contains("data-version=\"1\""));
        Ok(())
    }
}

db_test! {
    async fn a_published_version_is_byte_exact_and_downloadable_as_accepted(app: TestApp) {
        let (_, _, _) = org_with_offer(&app, "primer").await?;
        let c = sign_up(&app, "dl@example.kz", Some("primer")).await?;
        let a = acceptance::of_user(&app.db, user_id(&app, "dl@example.kz").await?).await?.remove(0);
        let ru = c.get(&format!("/o/primer/offers/{}/text/ru", a.version_id)).await?;
        ensure!(ru.status == StatusCode::OK && ru.text == RU_STORED, "{:?}", ru.text);
        let kk = c.get(&format!("/o/primer/offers/{}/text/kk", a.version_id)).await?;
        ensure!(kk.text == KK);
        ensure!(c.get(&format!("/o/primer/offers/{}/text/en", a.version_id)).await?.status == StatusCode::NOT_FOUND);
        let html = c.get(&format!("/cabinet/documents/{}/html", a.id)).await?;
        ensure!(html.status == StatusCode::OK && html.text.contains(&escape(RU_STORED)) && html.text.contains(&a.version_hash));
        for kind in ["pdf", "certificate"] {
            let pdf = c.get(&format!("/cabinet/documents/{}/{kind}", a.id)).await?;
            ensure!(pdf.status == StatusCode::OK && pdf.text.starts_with("%PDF-1.7"), "{kind}");
            ensure!(pdf.headers.get("content-type").and_then(|v| v.to_str().ok()) == Some("application/pdf"));
        }
        let docs = c.get("/cabinet/documents").await?;
        ensure!(docs.text.contains(&format!("data-acceptance=\"{}\"", a.id)) && docs.text.contains("data-method=\"checkbox\""));
        // Someone else's acceptance is not found.
        let other = app.person("other@example.kz", "Other").await?;
        ensure!(other.get(&format!("/cabinet/documents/{}/pdf", a.id)).await?.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

db_test! {
    async fn publishing_bad_versions_is_refused_with_a_message_and_records_nothing(app: TestApp) {
        let (owner, org, offer) = org_with_offer(&app, "primer").await?;
        let cases = [
            ("Текст", "   ", "", "offer-text-required"),
            ("", "Мәтін", "", "offer-text-required"),
            ("Текст", "Мәтін", "2026-03-01T10:00", "offer-effective-in-past"),
            ("Текст", "Мәтін", "2026-03-03T13:00", "offer-notice-too-short"),
            ("Текст", "Мәтін", "", "offer-notice-too-short"),
            ("Текст\u{7}", "Мәтін", TOMORROW, "offer-text-invalid"),
            ("Текст", "Мәтін", "завтра", "offer-effective-format"),
        ];
        for (ru, kk, when, code) in cases {
            let r = publish(&owner, org, offer, ru, kk, when).await?;
            ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, code), "{code}: {} {}", r.status, r.text);
        }
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_versions").await? == 1);
        ensure!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'offer.published'").await? == 1);
        // With the notice respected it is published, as version 2.
        let r = publish(&owner, org, offer, "Текст 2", "Мәтін 2", TOMORROW).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = publish(&owner, org, offer, "Текст 3", "Мәтін 3", "2026-03-03T14:30").await?;
        ensure!(shows_err(&r, "offer-effective-before-previous"), "{}", r.text);
        // Drafts are editable; a manager may publish, a curator may not.
        let r = owner
            .post_form(&format!("/org/{org}/offers/{offer}/version"), &[("text_ru", "Черновик"), ("text_kk", ""), ("effective_at", ""), ("action", "save")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        ensure!(owner.get(&format!("/org/{org}/offers/{offer}")).await?.text.contains("Черновик"));
        let r = owner.post_form(&format!("/org/{org}/staff"), &[("email", "curator@primer.kz"), ("name", "Куратор"), ("role", "curator"), ("password", PASSWORD)]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let curator = app.client()?;
        curator.post_form("/login", &[("email", "curator@primer.kz"), ("password", PASSWORD)]).await?;
        ensure!(publish(&curator, org, offer, "К", "К", TOMORROW).await?.status == StatusCode::FORBIDDEN);
        // Another organizer's staff do not see this organizer's offers.
        let (stranger, _) = app.organizer("owner@other.kz", "other").await?;
        ensure!(stranger.get(&format!("/org/{org}/offers/{offer}")).await?.status == StatusCode::NOT_FOUND);
        ensure!(publish(&stranger, org, offer, "Т", "М", TOMORROW).await?.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

db_test! {
    async fn a_new_version_notifies_those_who_accepted_and_they_may_object_before_it_takes_effect(app: TestApp) {
        let (owner, org, offer) = org_with_offer(&app, "primer").await?;
        let c = sign_up(&app, "n@example.kz", Some("primer")).await?;
        let bystander = app.person("by@example.kz", "Bystander").await?;
        let r = publish(&owner, org, offer, "Редакция 2", "2-редакция", TOMORROW).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let cabinet = c.get("/cabinet/documents").await?;
        ensure!(cabinet.text.contains("data-unread=\"1\""), "unread count in the header");
        ensure!(cabinet.text.contains("data-upcoming=\"2\""), "the notice is shown");
        ensure!(!bystander.get("/cabinet").await?.text.contains("data-unread"), "only affected people are notified");
        let inbox = c.get("/cabinet/notifications").await?;
        ensure!(inbox.text.contains("data-notification=\"offer.new_version\"") && inbox.text.contains("Публичная оферта") && inbox.text.contains("2026-03-03 15:00"), "{}", inbox.text);
        c.post_form("/cabinet/notifications/read", &[("x", "")]).await?;
        ensure!(!c.get("/cabinet").await?.text.contains("data-unread"));
        let v2: i64 = count(&app, "SELECT MAX(id) FROM offer_versions").await?;
        let r = c.post_form(&format!("/cabinet/documents/object/{v2}"), &[("text", "  ")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "required"));
        let r = c.post_form(&format!("/cabinet/documents/object/{v2}"), &[("text", "Не согласен с новыми условиями оплаты.")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = c.post_form(&format!("/cabinet/documents/object/{v2}"), &[("text", "Ещё раз")]).await?;
        ensure!(shows_err(&r, "offer-already-objected"));
        ensure!(bystander.post_form(&format!("/cabinet/documents/object/{v2}"), &[("text", "Я против")]).await?.status == StatusCode::NOT_FOUND);
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_objections").await? == 1);
        ensure!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'offer.objected'").await? == 1);
        let desk = owner.get(&format!("/org/{org}/offers")).await?;
        ensure!(desk.text.contains("data-objection") && desk.text.contains("Не согласен с новыми условиями оплаты."));
        // After the effective date: no acceptance by use for the objector, and they see why.
        app.clock.advance_seconds(26 * 3600);
        let docs = c.get("/cabinet/documents").await?;
        ensure!(docs.text.contains("data-objected-in-effect"), "{}", docs.text);
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances WHERE method = 'continued_use'").await? == 0);
        let r = c.post_form(&format!("/cabinet/documents/object/{v2}"), &[("text", "Поздно")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-objection-too-late"), "{}", r.text);
        Ok(())
    }
}

db_test! {
    async fn after_the_effective_date_continued_use_is_recorded_as_acceptance_once(app: TestApp) {
        let (owner, org, offer) = org_with_offer(&app, "primer").await?;
        let c = sign_up(&app, "use@example.kz", Some("primer")).await?;
        let user = user_id(&app, "use@example.kz").await?;
        publish(&owner, org, offer, "Редакция 2", "2-редакция", TOMORROW).await?;
        c.get("/cabinet").await?;
        ensure!(acceptance::of_user(&app.db, user).await?.len() == 1, "not before it takes effect");
        app.clock.advance_seconds(26 * 3600);
        c.get("/o/primer").await?;
        c.get("/cabinet").await?;
        let list = acceptance::of_user(&app.db, user).await?;
        ensure!(list.len() == 2, "{list:?}");
        ensure!(list[0].method == Method::ContinuedUse && !list[0].wording.is_empty());
        let v2 = tabys_offers::version::current(&app.db, offer).await?.context("current")?;
        ensure!(list[0].version_id == v2.id && v2.number == 2 && list[0].version_hash == v2.hash);
        let r = owner.get(&format!("/org/{org}/offers/{offer}")).await?;
        ensure!(r.text.contains("data-version=\"2\""));
        Ok(())
    }
}

db_test! {
    async fn first_login_offers_are_accepted_on_a_page_before_the_cabinet(app: TestApp) {
        let (owner, org) = app.organizer("owner@school.kz", "school").await?;
        let customer = app.client()?;
        customer.post_form("/signup", &[("name", "Ученик"), ("email", "st@example.kz"), ("password", PASSWORD), ("org", "school")]).await?;
        let offer = create_offer(&owner, org, "license", &["first_login"], "1").await?;
        publish(&owner, org, offer, "Лицензия", "Лицензия", "").await?;
        let c = app.client()?;
        let r = c.post_form("/login", &[("email", "st@example.kz"), ("password", PASSWORD)]).await?;
        ensure!(location(&r)?.starts_with("/cabinet/accept"), "after sign-in: {:?}", r.location);
        let r = c.get("/cabinet").await?;
        ensure!(location(&r)?.starts_with("/cabinet/accept"), "the cabinet waits");
        let page = c.get("/cabinet/accept").await?;
        let field = hidden(&page.text, "offers")?;
        let r = c.post_form("/cabinet/accept", &[("offers", field.as_str()), ("next", "/cabinet")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-acceptance-required"));
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances").await? == 0);
        let r = c.post_form("/cabinet/accept", &[("offers", field.as_str()), ("accept", "yes"), ("next", "/cabinet")]).await?;
        ensure!(location(&r)? == "/cabinet");
        ensure!(c.get("/cabinet").await?.status == StatusCode::OK);
        let r = c.post_form("/cabinet/accept", &[("offers", field.as_str()), ("accept", "yes"), ("next", "/cabinet")]).await?;
        ensure!(shows_err(&r, "offer-already-accepted"), "accepting twice: {} {}", r.status, r.text);
        let list = acceptance::of_user(&app.db, user_id(&app, "st@example.kz").await?).await?;
        ensure!(list.len() == 1 && list[0].method == Method::FirstLogin);
        // Staff of the school are not its customers: no page for them.
        ensure!(owner.get("/cabinet").await?.status == StatusCode::OK);
        Ok(())
    }
}

db_test! {
    async fn payment_and_renewal_accept_current_versions_idempotently_inside_the_callers_transaction(app: TestApp) {
        let (owner, org) = app.organizer("owner@pay.kz", "pay").await?;
        let offer = create_offer(&owner, org, "public_offer", &["payment", "renewal"], "0").await?;
        publish(&owner, org, offer, "Оплата — акцепт", "Төлем — акцепт", "").await?;
        let buyer = app.person("buyer@example.kz", "Buyer").await?;
        drop(buyer);
        let user = user_id(&app, "buyer@example.kz").await?;
        let ev = Evidence { origin: Default::default(), locale: Some(Locale::Kk), wording: "Төлеу".into() };
        let p = PaymentAcceptance { user, org: OrgId(org), reference: "order-1".into(), evidence: ev.clone() };
        for _ in 0..2 {
            let mut tx = app.db.begin().await?;
            let got = acceptance::accept_by_payment(&mut tx, app.db.dialect(), app.db.now(), &p).await?;
            tx.commit().await?;
            ensure!(got.len() == 1 && got[0].method == Method::Payment && got[0].reference == "order-1");
        }
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances WHERE method = 'payment'").await? == 1, "a retried payment adds nothing");
        // A payment rolled back leaves no acceptance.
        let mut tx = app.db.begin().await?;
        let p2 = PaymentAcceptance { reference: "order-2".into(), ..p.clone() };
        acceptance::accept_by_payment(&mut tx, app.db.dialect(), app.db.now(), &p2).await?;
        drop(tx);
        let mut tx = app.db.begin().await?;
        let renewal = acceptance::accept_by_renewal(&mut tx, app.db.dialect(), app.db.now(), &PaymentAcceptance { reference: "sub-1/2026-04".into(), ..p }).await?;
        tx.commit().await?;
        ensure!(renewal.len() == 1 && renewal[0].method == Method::Renewal);
        ensure!(count(&app, "SELECT COUNT(*) FROM offer_acceptances").await? == 2);
        let report = verify::verify(&app.db).await?;
        ensure!(report.is_intact() && report.acceptances == 2, "{report:?}");
        Ok(())
    }
}

db_test! {
    async fn verification_finds_an_edited_version_text(app: TestApp) {
        org_with_offer(&app, "primer").await?;
        sign_up(&app, "v@example.kz", Some("primer")).await?;
        let report = verify::verify(&app.db).await?;
        ensure!(report.is_intact() && report.versions == 1 && report.acceptances == 1, "{report:?}");
        let mut tx = app.db.begin().await?;
        sqlx::query("UPDATE offer_versions SET text_ru = 'Подменённый текст'").execute(&mut *tx).await?;
        tx.commit().await?;
        let report = verify::verify(&app.db).await?;
        ensure!(report.problems.len() == 2, "the version and its acceptance: {report:?}");
        Ok(())
    }
}

db_test! {
    async fn consents_are_separate_revocable_and_shown_to_the_organizer(app: TestApp) {
        let (owner, org, _) = org_with_offer(&app, "primer").await?;
        let c = sign_up(&app, "cons@example.kz", Some("primer")).await?;
        let page = c.get("/cabinet/privacy").await?;
        ensure!(page.text.contains("data-consent=\"personal_data\" data-granted=\"true\""));
        for (kind, granted) in [("personal_data", "0"), ("marketing", "1"), ("name_as_client", "0"), ("marketing", "0")] {
            let r = c.post_form("/cabinet/privacy/consent", &[("publisher", org.to_string().as_str()), ("kind", kind), ("granted", granted)]).await?;
            ensure!(r.status == StatusCode::SEE_OTHER, "{kind}: {}", r.text);
        }
        let user = user_id(&app, "cons@example.kz").await?;
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM consent_events WHERE user_id = {}", user.0)).await? == 6);
        ensure!(count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'consent.revoked'").await? == 3);
        let list = owner.get(&format!("/org/{org}/customers")).await?;
        ensure!(list.text.contains("data-revoked"), "{}", list.text);
        // A person cannot record consents towards an organizer they do not belong to.
        let (_, other) = app.organizer("owner@other.kz", "other").await?;
        let r = c.post_form("/cabinet/privacy/consent", &[("publisher", other.to_string().as_str()), ("kind", "marketing"), ("granted", "1")]).await?;
        ensure!(r.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

db_test! {
    async fn staff_views_of_customers_are_logged_and_only_the_owner_reads_the_log(app: TestApp) {
        let (owner, org, _) = org_with_offer(&app, "primer").await?;
        sign_up(&app, "pd@example.kz", Some("primer")).await?;
        let user = user_id(&app, "pd@example.kz").await?;
        for (email, role) in [("manager@primer.kz", "manager"), ("curator@primer.kz", "curator")] {
            owner.post_form(&format!("/org/{org}/staff"), &[("email", email), ("name", role), ("role", role), ("password", PASSWORD)]).await?;
        }
        let manager = app.client()?;
        manager.post_form("/login", &[("email", "manager@primer.kz"), ("password", PASSWORD)]).await?;
        let curator = app.client()?;
        curator.post_form("/login", &[("email", "curator@primer.kz"), ("password", PASSWORD)]).await?;
        ensure!(manager.get(&format!("/org/{org}/customers")).await?.text.contains("pd@example.kz"));
        ensure!(manager.get(&format!("/org/{org}/customers/{}", user.0)).await?.text.contains("data-customer-card"));
        ensure!(curator.get(&format!("/org/{org}/customers")).await?.status == StatusCode::FORBIDDEN);
        ensure!(manager.get(&format!("/org/{org}/access-log")).await?.status == StatusCode::FORBIDDEN);
        ensure!(owner.get(&format!("/org/{org}/customers/999999")).await?.status == StatusCode::NOT_FOUND);
        let log = owner.get(&format!("/org/{org}/access-log")).await?;
        ensure!(log.text.contains("data-access=\"customer-list\"") && log.text.contains("data-access=\"customer-card\"") && log.text.contains("manager@primer.kz"));
        ensure!(count(&app, "SELECT COUNT(*) FROM personal_data_access").await? == 2, "refused views are not data views");
        let (stranger, _) = app.organizer("owner@other.kz", "other").await?;
        ensure!(stranger.get(&format!("/org/{org}/customers")).await?.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

db_test! {
    async fn a_person_exports_corrects_and_erases_their_data_after_retention(app: TestApp) {
        let (owner, org, _) = org_with_offer(&app, "primer").await?;
        let r = owner.post_form(&format!("/org/{org}/privacy"), &[("purposes_ru", "исполнение договора"), ("purposes_kk", "шартты орындау"), ("purposes_en", ""), ("retention_days", "30")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = owner.post_form(&format!("/org/{org}/privacy"), &[("purposes_ru", ""), ("purposes_kk", "x"), ("retention_days", "-1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "retention-range"));
        let c = sign_up(&app, "er@example.kz", Some("primer")).await?;
        let user = user_id(&app, "er@example.kz").await?;
        let r = c.post_form("/cabinet/privacy/name", &[("name", "Ерлан Исправленный")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let export = c.get("/cabinet/privacy/export").await?.json()?;
        let tables = export.get("tables").context("tables")?;
        ensure!(tables["users"][0]["name"] == "Ерлан Исправленный");
        ensure!(tables["offer_acceptances"].as_array().map(Vec::len) == Some(1));
        ensure!(tables["consent_events"].as_array().map(Vec::len) == Some(2));
        ensure!(!export.to_string().contains("password_hash"));
        ensure!(rights::retention_days(&app.db, user).await? == 30, "the organizer's retention applies");
        let r = c.post_form("/cabinet/privacy/delete", &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let again = app.client()?;
        let r = again.post_form("/login", &[("email", "er@example.kz"), ("password", PASSWORD)]).await?;
        ensure!(r.status != StatusCode::SEE_OTHER, "sign-in is refused once the account is closed");
        let mut registry = tabys_store::jobs::Registry::default();
        rights::register(&mut registry);
        tabys_store::jobs::run_due(&app.db, &registry, 10).await?;
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM users WHERE id = {} AND status = 'closed'", user.0)).await? == 1, "not erased before the retention ends");
        app.clock.advance_seconds(31 * 86_400);
        let pass = tabys_store::jobs::run_due(&app.db, &registry, 10).await?;
        ensure!(pass.done == 1, "{pass:?}");
        let row = sqlx::query("SELECT email, name, status FROM users WHERE id = $1").bind(user.0).fetch_one(app.db.read()).await?;
        ensure!(row.try_get::<String, _>(0)? == rights::tombstone(user) && row.try_get::<String, _>(1)?.is_empty() && row.try_get::<String, _>(2)? == "erased");
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM offer_acceptances WHERE user_id = {}", user.0)).await? == 1, "evidence is kept");
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM memberships WHERE user_id = {}", user.0)).await? == 0);
        ensure!(count(&app, &format!("SELECT COUNT(*) FROM sessions WHERE user_id = {}", user.0)).await? == 0);
        ensure!(verify::verify(&app.db).await?.is_intact());
        ensure!(matches!(tabys_store::audit::verify(&app.db).await?, tabys_store::audit::Verdict::Intact { .. }));
        Ok(())
    }
}

db_test! {
    async fn a_person_who_accepted_nothing_is_erased_at_once_and_owners_must_hand_over_first(app: TestApp) {
        let (owner, _) = app.organizer("owner@x.kz", "xorg").await?;
        let r = owner.post_form("/cabinet/privacy/delete", &[("x", "")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "deletion-owner"));
        let c = app.person("nothing@example.kz", "Nothing").await?;
        let user = user_id(&app, "nothing@example.kz").await?;
        c.post_form("/cabinet/privacy/delete", &[("x", "")]).await?;
        let mut registry = tabys_store::jobs::Registry::default();
        rights::register(&mut registry);
        let pass = tabys_store::jobs::run_due(&app.db, &registry, 10).await?;
        ensure!(pass.done == 1, "{pass:?}");
        let row = sqlx::query("SELECT status FROM users WHERE id = $1").bind(user.0).fetch_one(app.db.read()).await?;
        ensure!(row.try_get::<String, _>(0)? == "erased");
        Ok(())
    }
}

db_test! {
    async fn joining_an_organizer_when_signed_in_accepts_its_offer_in_one_step(app: TestApp) {
        let c = app.person("joiner@example.kz", "Joiner").await?;
        org_with_offer(&app, "primer").await?;
        let page = c.get("/o/primer").await?;
        let field = hidden(&page.text, "offers")?;
        let r = c.post_form("/o/primer/join", &[("offers", field.as_str()), ("consent", "yes")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && shows_err(&r, "offer-acceptance-required"));
        ensure!(count(&app, "SELECT COUNT(*) FROM memberships WHERE role = 'customer'").await? == 0);
        let r = c.post_form("/o/primer/join", &[("offers", field.as_str()), ("accept", "yes"), ("consent", "yes")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        ensure!(count(&app, "SELECT COUNT(*) FROM memberships WHERE role = 'customer'").await? == 1);
        ensure!(acceptance::of_user(&app.db, user_id(&app, "joiner@example.kz").await?).await?.len() == 1);
        Ok(())
    }
}

db_test! {
    async fn the_api_lists_offers_publishes_versions_and_shows_the_callers_acceptances(app: TestApp) {
        let (owner, org, offer) = org_with_offer(&app, "primer").await?;
        let list = owner.api(Http::GET, &format!("/api/v1/orgs/{org}/offers"), None).await?.json()?;
        ensure!(list[0]["kind"] == "public_offer" && list[0]["versions"][0]["number"] == 1, "{list}");
        let late = app.db.now().plus_days(2).millis();
        let r = owner.api(Http::POST, &format!("/api/v1/orgs/{org}/offers/{offer}/versions"), Some(json!({"text_ru": "Т", "text_kk": "", "effective_at": late}))).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.json()?["error"]["code"] == "offer-text-required", "{}", r.text);
        let r = owner.api(Http::POST, &format!("/api/v1/orgs/{org}/offers/{offer}/versions"), Some(json!({"text_ru": "Т", "text_kk": "М", "effective_at": 1}))).await?;
        ensure!(r.json()?["error"]["code"] == "offer-effective-in-past");
        let r = owner.api(Http::POST, &format!("/api/v1/orgs/{org}/offers/{offer}/versions"), Some(json!({"text_ru": "Т", "text_kk": "М", "effective_at": late}))).await?;
        ensure!(r.status == StatusCode::CREATED && r.json()?["number"] == 2, "{}", r.text);
        let c = sign_up(&app, "api@example.kz", Some("primer")).await?;
        let mine = c.api(Http::GET, "/api/v1/me/acceptances", None).await?.json()?;
        ensure!(mine.as_array().map(Vec::len) == Some(1) && mine[0]["method"] == "checkbox", "{mine}");
        let r = c.api(Http::POST, &format!("/api/v1/orgs/{org}/offers/{offer}/versions"), Some(json!({"text_ru": "Т", "text_kk": "М", "effective_at": late}))).await?;
        ensure!(r.status == StatusCode::FORBIDDEN, "a customer cannot publish");
        let doc = app.client()?.get("/api/v1/openapi.json").await?;
        ensure!(doc.text.contains("/orgs/{org}/offers/{offer}/versions") && doc.text.contains("/me/acceptances"));
        Ok(())
    }
}
