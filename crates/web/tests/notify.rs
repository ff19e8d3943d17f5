//! Notifications and messages through the pages: the support chat from
//! both sides and the operator's desk, channel choices, mailings, sending
//! settings and one-click unsubscribe.

mod support;

use anyhow::{Context, ensure};
use support::{field_error, no_server_errors, not_500};
use tabys_accounts::{members, users};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, PASSWORD, TestApp, db_test};

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e).await?.context("user")?.id)
}

async fn sign_in(app: &TestApp, email: &str) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "login of {email}: {}",
        r.status
    );
    Ok(c)
}

/// A school, its support person and one student.
struct School {
    org: i64,
    owner: Client,
    staff: Client,
    student: Client,
    student_id: UserId,
}

async fn school(app: &TestApp) -> anyhow::Result<School> {
    let (owner, org) = app.organizer("owner@school.kz", "school").await?;
    let r = owner
        .post_form(
            &format!("/org/{org}/staff"),
            &[
                ("email", "help@school.kz"),
                ("name", "Дана"),
                ("role", "support"),
                ("password", PASSWORD),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "adding support staff: {} {}",
        r.status,
        r.text
    );
    let staff = sign_in(app, "help@school.kz").await?;
    let student = app.person("student@example.kz", "Асель").await?;
    let student_id = user_id(app, "student@example.kz").await?;
    let mut tx = app.db.begin().await?;
    members::join_as_customer(&mut tx, &app.db, OrgId(org), student_id).await?;
    tx.commit().await?;
    Ok(School {
        org,
        owner,
        staff,
        student,
        student_id,
    })
}

fn thread_id(location: Option<&str>) -> anyhow::Result<i64> {
    location
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| id.parse().ok())
        .context("thread id in redirect")
}

db_test! {
    async fn a_student_and_the_schools_support_staff_talk_in_a_thread(app: TestApp) {
        let s = school(&app).await?;
        let r = s.student.post_form("/cabinet/support", &[("to", format!("org:{}", s.org)), ("subject", "Не открывается урок".into()), ("body", "Второй урок не открывается".into())]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let thread = thread_id(r.location.as_deref())?;
        // The desk's shared inbox shows it, open.
        let inbox = s.staff.get(&format!("/org/{}/support", s.org)).await?;
        ensure!(inbox.status == StatusCode::OK && inbox.text.contains("Не открывается урок") && inbox.text.contains("data-status=\"open\""), "{}", inbox.text);
        ensure!(tabys_notify::unread(&app.db, user_id(&app, "help@school.kz").await?).await? == 1, "the desk is notified");
        let r = s.staff.post_form(&format!("/org/{}/support/{thread}", s.org), &[("body", "Откройте сначала первый урок")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        // The student sees the answer, is notified in the app and by e-mail.
        let page = s.student.get(&format!("/cabinet/support/{thread}")).await?;
        ensure!(page.text.contains("Откройте сначала первый урок") && page.text.contains("data-status=\"waiting\""), "{}", page.text);
        ensure!(tabys_notify::unread(&app.db, s.student_id).await? == 1);
        let last = s.student.get(&format!("/cabinet/support/{thread}/last")).await?.json()?;
        ensure!(last["last"].as_i64().unwrap_or(0) > 0, "{last}");
        app.run_jobs().await?;
        let mail = app.post.sink.to("student@example.kz");
        ensure!(mail.len() == 1 && mail[0].subject().contains("Не открывается урок"), "{mail:?}");
        // The student writes again: the thread is open for the desk again.
        s.student.post_form(&format!("/cabinet/support/{thread}"), &[("body", "Спасибо, получилось")]).await?;
        let staff_id = user_id(&app, "help@school.kz").await?;
        let r = s.staff.post_form(&format!("/org/{}/support/{thread}/update", s.org), &[("assignee", staff_id.0.to_string()), ("status", "closed".into())]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let closed = s.owner.get(&format!("/org/{}/support?status=closed", s.org)).await?;
        ensure!(closed.text.contains(&format!("data-thread=\"{thread}\"")) && closed.text.contains("Дана"), "{}", closed.text);
        // An empty answer is refused with a translated message, nothing added.
        let r = s.staff.post_form(&format!("/org/{}/support/{thread}", s.org), &[("body", "  ")]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "body", "required")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn nobody_else_sees_a_thread(app: TestApp) {
        let s = school(&app).await?;
        let r = s.student.post_form("/cabinet/support", &[("to", format!("org:{}", s.org)), ("subject", "Тема".into()), ("body", "Текст".into())]).await?;
        let thread = thread_id(r.location.as_deref())?;
        let other = app.person("other@example.kz", "Другой").await?;
        for path in [format!("/cabinet/support/{thread}"), format!("/cabinet/support/{thread}/last")] {
            let r = other.get(&path).await?;
            ensure!(r.status == StatusCode::NOT_FOUND, "{path}: {}", r.status);
        }
        let r = other.post_form(&format!("/cabinet/support/{thread}"), &[("body", "чужой ответ")]).await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        // A customer is not the desk.
        let r = s.student.get(&format!("/org/{}/support/{thread}", s.org)).await?;
        ensure!(r.status == StatusCode::FORBIDDEN || r.status == StatusCode::NOT_FOUND, "{}", r.status);
        // Nobody writes to an organizer they do not belong to.
        let r = other.post_form("/cabinet/support", &[("to", format!("org:{}", s.org)), ("subject", "Тема".into()), ("body", "Текст".into())]).await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_organizers_staff_write_to_the_operators_support(app: TestApp) {
        let s = school(&app).await?;
        let mut tx = app.db.begin().await?;
        let new = users::NewUser {
            email: Email::parse("operator@tabys.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
            name: "Оператор".into(),
            password: PASSWORD.into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        };
        users::create(&mut tx, &app.db, new, true).await?;
        tx.commit().await?;
        let operator = sign_in(&app, "operator@tabys.kz").await?;
        let r = s.owner.post_form("/cabinet/support", &[("to", format!("operator:{}", s.org)), ("subject", "Счёт за тариф".into()), ("body", "Где закрывающие документы?".into())]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let thread = thread_id(r.location.as_deref())?;
        let inbox = operator.get("/admin/support").await?;
        ensure!(inbox.text.contains("Счёт за тариф"), "{}", inbox.text);
        let r = operator.post_form(&format!("/admin/support/{thread}"), &[("body", "В разделе «Деньги»")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.status);
        let page = s.owner.get(&format!("/cabinet/support/{thread}")).await?;
        ensure!(page.text.contains("В разделе «Деньги»") || page.text.contains("В разделе &laquo;Деньги&raquo;") || page.text.contains("В разделе &#171;Деньги&#187;"), "{}", page.text);
        // A customer cannot write to the operator's desk for the school.
        let r = s.student.post_form("/cabinet/support", &[("to", format!("operator:{}", s.org)), ("subject", "x".into()), ("body", "y".into())]).await?;
        ensure!(r.status == StatusCode::FORBIDDEN, "{}", r.status);
        // The school's staff do not see the operator's desk.
        let r = s.owner.get("/admin/support").await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_phone_that_is_not_a_kazakh_mobile_is_refused_and_nothing_changes(app: TestApp) {
        let s = school(&app).await?;
        let r = s.student.post_form("/cabinet/notifications/settings", &[("phone", "12345"), ("events_email", "on")]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "phone", "phone-format")?;
        ensure!(tabys_notify::prefs::phone(&app.db, s.student_id).await?.is_none());
        let r = s.student.post_form("/cabinet/notifications/settings", &[("phone", "8 (701) 123-45-67"), ("events_sms", "on")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        ensure!(tabys_notify::prefs::phone(&app.db, s.student_id).await?.as_deref() == Some("+77011234567"));
        let page = s.student.get("/cabinet/notifications/settings").await?;
        not_500(&page)?;
        // Events e-mail is now off, service e-mail stays on whatever was sent.
        let channels = tabys_notify::prefs::channels(&app.db, s.student_id).await?;
        ensure!(channels.iter().all(|c| c.email != c.category.is_optional()), "{channels:?}");
        ensure!(page.text.contains("value=\"+77011234567\""), "{}", page.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_mailing_with_bad_input_is_refused_and_a_good_one_shows_its_figures(app: TestApp) {
        let s = school(&app).await?;
        let base = [("channel", "email"), ("segment", "all"), ("purpose", "info")];
        let mut bad: Vec<(&str, &str)> = base.to_vec();
        bad.extend([("subject", ""), ("body", "Текст")]);
        let r = s.owner.post_form(&format!("/org/{}/mailings", s.org), &bad).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "subject", "required")?;
        let mut sms: Vec<(&str, &str)> = vec![("channel", "sms"), ("segment", "all"), ("purpose", "info")];
        sms.extend([("subject", "Тема"), ("body", "Текст")]);
        let r = s.owner.post_form(&format!("/org/{}/mailings", s.org), &sms).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "channel", "sms-off")?;
        ensure!(tabys_delivery::mailings::list(&app.db, OrgId(s.org)).await?.is_empty());
        let mut good = base.to_vec();
        good.extend([("subject", "Расписание"), ("body", "Занятие в четверг")]);
        let r = s.owner.post_form(&format!("/org/{}/mailings", s.org), &good).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        app.run_jobs().await?;
        let page = s.owner.get(&format!("/org/{}/mailings", s.org)).await?;
        ensure!(page.text.contains("data-sent>1<") && page.text.contains("data-recipients>1<"), "{}", page.text);
        // Support staff do not send mailings.
        let r = s.staff.get(&format!("/org/{}/mailings", s.org)).await?;
        ensure!(r.status == StatusCode::FORBIDDEN, "{}", r.status);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn sending_settings_check_their_input_and_never_show_the_sms_password(app: TestApp) {
        let s = school(&app).await?;
        let path = format!("/org/{}/sending", s.org);
        let r = s.owner.post_form(&path, &[("sender_name", "Школа"), ("reply_to", "нет"), ("sms_mode", "own")]).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "reply_to", "email-format")?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "sms_login", "required")?;
        let r = s.owner.post_form(&path, &[("sender_name", "Школа"), ("reply_to", "help@school.kz"), ("sms_mode", "own"), ("sms_login", "school"), ("sms_password", "p4ss-secret")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let page = s.owner.get(&path).await?;
        ensure!(page.text.contains("value=\"Школа\"") && !page.text.contains("p4ss-secret"), "{}", page.text);
        // Saving again without a password keeps it.
        s.owner.post_form(&path, &[("sender_name", "Школа"), ("reply_to", "help@school.kz"), ("sms_mode", "own"), ("sms_login", "school")]).await?;
        ensure!(tabys_notify::settings::get(&app.db, OrgId(s.org)).await?.sms_password == "p4ss-secret");
        let r = s.staff.post_form(&path, &[("sms_mode", "off")]).await?;
        ensure!(r.status == StatusCode::FORBIDDEN, "{}", r.status);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn the_unsubscribe_page_refuses_an_unknown_link(app: TestApp) {
        let c = app.client()?;
        for token in ["nope", &"0".repeat(64)] {
            let r = c.get(&format!("/unsubscribe/{token}")).await?;
            ensure!(r.status == StatusCode::NOT_FOUND, "{token}: {}", r.status);
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_reply_carries_an_attachment_only_the_threads_two_sides_can_open(app: TestApp) {
        let s = school(&app).await?;
        let r = s.student.post_form("/cabinet/support", &[("to", format!("org:{}", s.org)), ("subject", "Квитанция".into()), ("body", "Прикладываю квитанцию".into())]).await?;
        let thread = thread_id(r.location.as_deref())?;
        let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
        let r = s.student.upload(&format!("/cabinet/support/{thread}/upload"), &[("body", "")], "receipt.pdf", pdf).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let page = s.staff.get(&format!("/org/{}/support/{thread}", s.org)).await?;
        ensure!(page.text.contains("receipt.pdf"), "{}", page.text);
        let message = page
            .text
            .split("data-attachment=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .context("attachment link")?
            .to_string();
        let r = s.staff.get(&format!("/org/{}/support/{thread}/files/{message}", s.org)).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.status);
        let file = s.staff.get(r.location.as_deref().context("signed link")?).await?;
        ensure!(file.status == StatusCode::OK && file.text.as_bytes() == pdf, "{} {}", file.status, file.text);
        // Someone outside the thread gets nothing.
        let other = app.person("other@example.kz", "Другой").await?;
        let r = other.get(&format!("/cabinet/support/{thread}/files/{message}")).await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        // A file of a type an attachment may not be is refused, nothing posted.
        let before = s.student.get(&format!("/cabinet/support/{thread}")).await?.text.matches("data-message=").count();
        let r = s.student.upload(&format!("/cabinet/support/{thread}/upload"), &[("body", "программа")], "tool.exe", b"MZ\x90\x00\x03\x00\x00\x00").await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "file", "file-type")?;
        let after = s.student.get(&format!("/cabinet/support/{thread}")).await?.text.matches("data-message=").count();
        ensure!(before == after, "a message was added");
        no_server_errors(&app).await
    }
}

/// The operator, signed in.
async fn operator(app: &TestApp) -> anyhow::Result<Client> {
    let mut tx = app.db.begin().await?;
    let new = users::NewUser {
        email: Email::parse("operator@tabys.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "Оператор".into(),
        password: PASSWORD.into(),
        locale: Locale::Ru,
        adult_confirmed: true,
    };
    users::create(&mut tx, &app.db, new, true).await?;
    tx.commit().await?;
    sign_in(app, "operator@tabys.kz").await
}

db_test! {
    async fn a_mailing_to_a_courses_students_reaches_only_those_with_access(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = app.organizer("owner@academy.kz", "academy").await?;
        owner.post_form(&format!("/org/{org}/billing/module"), &[("comment", "courses")]).await?;
        op.post_form(&format!("/admin/billing/modules/{org}"), &[("decision", "approve"), ("reasons", "")]).await?;
        owner.post_form(&format!("/org/{org}/billing/module/enable"), &[("accept_terms", "1")]).await?;
        let r = owner
            .post_form(&format!("/org/{org}/products"), &[("kind", "course"), ("title", "SMM"), ("price", "1000"), ("refund_policy", "none"), ("access_days", "45")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "product: {} {}", r.status, r.text);
        let course = tabys_billing::products::list(&app.db, OrgId(org), false).await?.first().map(|p| p.id).context("course")?;
        let student = app.person("paid@example.kz", "Студент").await?;
        let onlooker = app.person("free@example.kz", "Зритель").await?;
        for c in [&student, &onlooker] {
            c.post_form("/o/academy/join", &[("adult", "1")]).await?;
        }
        let r = student.post_form(&format!("/o/academy/products/{course}/order"), &[("plan", "full"), ("key", "mailing-order-1")]).await?;
        let order: i64 = r.location.as_deref().and_then(|l| l.strip_prefix("/cabinet/orders/")).and_then(|s| s.parse().ok()).context("order")?;
        let r = student.post_form(&format!("/cabinet/orders/{order}/pay"), &[("method", "card"), ("key", "mailing-pay-1")]).await?;
        let link = r.location.context("gateway link")?;
        let id = link.rsplit('/').next().context("link id")?.to_string();
        app.fake.pay_link(&id, "4242 4242 4242 4242", false).await;
        app.fake.settle(std::time::Duration::from_secs(10)).await;
        let paid = user_id(&app, "paid@example.kz").await?;
        ensure!(tabys_billing::entitlements::has_access(&app.db, OrgId(org), paid, course).await?, "the student has no access");
        let r = owner
            .post_form(&format!("/org/{org}/mailings"), &[("channel", "email"), ("segment", "product"), ("product_id", &course.to_string()), ("purpose", "info"), ("subject", "Урок 2 перенесён"), ("body", "Встречаемся в пятницу")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        app.run_jobs().await?;
        ensure!(app.post.sink.to("paid@example.kz").iter().any(|m| m.subject() == "Урок 2 перенесён"), "the student got nothing");
        ensure!(app.post.sink.to("free@example.kz").iter().all(|m| m.subject() != "Урок 2 перенесён"), "a customer without the course was mailed");
        // Another organizer's product is not a segment here.
        let r = owner
            .post_form(&format!("/org/{org}/mailings"), &[("channel", "email"), ("segment", "product"), ("product_id", "999999"), ("purpose", "info"), ("subject", "x"), ("body", "y")])
            .await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        no_server_errors(&app).await
    }
}
