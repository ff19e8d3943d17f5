//! The delivery pipeline against the real SMTP sink and the SMSC
//! stand-in, on both databases: what is sent, in which language, what a
//! failing server leads to, what a crash leaves behind, and what SMS cost
//! the organizer.

use std::time::Duration;

use anyhow::{Context, ensure};
use tabys_accounts::members;
use tabys_accounts::users;
use tabys_billing::{Book, Holder, balances, ledger};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::phone::KzPhone;
use tabys_delivery::mailings::{self, NewMailing, Via};
use tabys_notify::category::Category;
use tabys_notify::deliveries::{self, Delivery};
use tabys_notify::prefs::{self, Channels};
use tabys_notify::settings::{self, OrgSettings, SmsMode};
use tabys_notify::{NewNotification, add};
use tabys_providers_fake::smsc::SmscMode;
use tabys_providers_fake::smtp::SinkMode;
use tabys_store::jobs::{self, Registry};
use tabys_testkit::{TestApp, db_test};

struct World {
    org: OrgId,
    owner: UserId,
    customer: UserId,
}

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e).await?.context("user")?.id)
}

async fn customer_of(app: &TestApp, org: OrgId, email: &str) -> anyhow::Result<UserId> {
    app.person(email, "Клиент").await?;
    let id = user_id(app, email).await?;
    let mut tx = app.db.begin().await?;
    members::join_as_customer(&mut tx, &app.db, org, id).await?;
    tx.commit().await?;
    Ok(id)
}

async fn world(app: &TestApp) -> anyhow::Result<World> {
    let (_, org) = app.organizer("owner@alpha.kz", "alpha").await?;
    let org = OrgId(org);
    let owner = user_id(app, "owner@alpha.kz").await?;
    let customer = customer_of(app, org, "student@example.kz").await?;
    Ok(World {
        org,
        owner,
        customer,
    })
}

fn reply_args(subject: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut a = serde_json::Map::new();
    a.insert("thread".into(), 7.into());
    a.insert("subject".into(), subject.into());
    a.insert("desk".into(), "ТОО «alpha»".into());
    a
}

async fn notify(
    app: &TestApp,
    w: &World,
    kind: &'static str,
    key: &'static str,
) -> anyhow::Result<i64> {
    let mut tx = app.db.begin().await?;
    let id = add(
        &mut tx,
        app.db.now(),
        NewNotification {
            user: w.customer,
            org: Some(w.org),
            kind,
            key,
            args: reply_args("Доступ к курсу"),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

async fn only_delivery(app: &TestApp, notification: i64) -> anyhow::Result<Delivery> {
    let mut all = deliveries::of_notification(&app.db, notification).await?;
    ensure!(all.len() == 1, "expected one delivery, got {all:?}");
    Ok(all.remove(0))
}

/// Moves past any backoff and runs what became due.
async fn later(app: &TestApp) -> anyhow::Result<jobs::Pass> {
    app.clock.advance_seconds(7 * 3600);
    app.run_jobs().await
}

db_test! {
    async fn a_notification_is_emailed_in_the_readers_language_with_text_and_html(app: TestApp) {
        let w = world(&app).await?;
        users::set_locale(&app.db, w.customer, tabys_core::locale::Locale::Kk).await?;
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let mail = app.post.sink.to("student@example.kz");
        ensure!(mail.len() == 1, "{mail:?}");
        let m = &mail[0];
        ensure!(m.subject() == "Қолдау қызметінің жауабы: Доступ к курсу", "{}", m.subject());
        ensure!(m.text().contains("ТОО «alpha» сіздің 7 «Доступ к курсу» өтінішіңізге жауап берді"), "{}", m.text());
        let html = m.part("text/html").context("html part")?;
        ensure!(html.contains("&laquo;") || html.contains("«"), "{html}");
        ensure!(html.contains("<a href=\""), "links are clickable: {html}");
        // The organizer's name is the sender's name.
        ensure!(m.header("From").unwrap_or_default().contains("alpha"), "{:?}", m.header("From"));
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "sent", "{d:?}");
        ensure!(m.message_id().unwrap_or_default().contains(&d.message_id), "stable Message-ID");
        Ok(())
    }
}

db_test! {
    async fn service_mail_cannot_be_switched_off_but_event_mail_can(app: TestApp) {
        let w = world(&app).await?;
        prefs::set_channels(&app.db, w.customer, Channels { category: Category::Service, email: false, sms: false }).await?;
        prefs::set_channels(&app.db, w.customer, Channels { category: Category::Events, email: false, sms: false }).await?;
        let service = notify(&app, &w, "billing.negative", "notify-balance-negative").await?;
        let event = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        ensure!(deliveries::of_notification(&app.db, service).await?.len() == 1, "service mail goes out");
        ensure!(deliveries::of_notification(&app.db, event).await?.is_empty(), "muted event mail is not sent");
        // An unknown kind is a service message.
        let unknown = notify(&app, &w, "something.new", "notify-support-reply").await?;
        ensure!(deliveries::of_notification(&app.db, unknown).await?.len() == 1);
        ensure!(tabys_notify::unread(&app.db, w.customer).await? == 3, "the inbox gets everything");
        Ok(())
    }
}

db_test! {
    async fn a_refusing_timing_out_or_dropping_smtp_server_leads_to_retries_not_loss(app: TestApp) {
        let w = world(&app).await?;
        app.post.sink.set_mode(SinkMode { refuse: 1, ..SinkMode::default() });
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "queued" && d.last_error.as_deref().unwrap_or_default().contains("554"), "refused: {d:?}");
        app.post.sink.set_mode(SinkMode { timeout: 1, ..SinkMode::default() });
        later(&app).await?;
        let d = only_delivery(&app, id).await?;
        ensure!(
            d.status == "queued" && d.attempts == 2 && d.last_error.as_deref().unwrap_or_default().contains("did not answer"),
            "timed out: {d:?}"
        );
        app.post.sink.set_mode(SinkMode { drop: 1, ..SinkMode::default() });
        later(&app).await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "queued" && d.attempts == 3, "dropped: {d:?}");
        ensure!(app.post.sink.messages().is_empty(), "nothing kept so far");
        later(&app).await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "sent" && d.attempts == 4, "{d:?}");
        ensure!(app.post.sink.messages().len() == 1, "sent exactly once");
        Ok(())
    }
}

db_test! {
    async fn a_delivery_that_keeps_failing_is_given_up_and_shown_to_operator_and_organizer(app: TestApp) {
        let w = world(&app).await?;
        app.post.sink.set_mode(SinkMode { refuse: 100, ..SinkMode::default() });
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        for _ in 0..deliveries::MAX_ATTEMPTS {
            later(&app).await?;
        }
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "failed" && d.attempts == deliveries::MAX_ATTEMPTS, "{d:?}");
        ensure!(deliveries::troubled(&app.db, Some(w.org), 10).await?.iter().any(|t| t.id == d.id));
        ensure!(deliveries::troubled(&app.db, None, 10).await?.iter().any(|t| t.id == d.id));
        ensure!(deliveries::troubled(&app.db, Some(OrgId(w.org.0 + 1000)), 10).await?.is_empty());
        Ok(())
    }
}

db_test! {
    async fn a_worker_killed_in_the_middle_of_a_batch_sends_nothing_twice(app: TestApp) {
        let w = world(&app).await?;
        for i in 0..5 {
            customer_of(&app, w.org, &format!("c{i}@example.kz")).await?;
        }
        let mailing = mailings::send(
            &app.db,
            w.org,
            w.owner,
            NewMailing { via: Via::Email, product: None, marketing: false, subject: "Расписание".into(), body: "Занятия переносятся.".into() },
        )
        .await?;
        let all = deliveries::of_mailing(&app.db, mailing).await?;
        ensure!(all.len() == 6, "{all:?}");
        // The third message is kept by the server, whose answer never comes:
        // the worker dies right there, after two confirmed sends.
        app.post.sink.set_mode(SinkMode { hang_at: 3, ..SinkMode::default() });
        let db = app.db.clone();
        let files = app.files.clone();
        let mut cfg = (*app.notify).clone();
        cfg.smtp.timeout_ms = 600_000;
        let worker = tokio::spawn(async move {
            let mut registry = Registry::default();
            tabys_delivery::sender::register(&mut registry, std::sync::Arc::new(cfg), files);
            jobs::run_due(&db, &registry, 10).await
        });
        ensure!(app.post.sink.wait_for(3, Duration::from_secs(60)).await, "the third message never arrived");
        worker.abort();
        let _ = worker.await;
        let statuses: Vec<String> = deliveries::of_mailing(&app.db, mailing).await?.into_iter().map(|d| d.status).collect();
        ensure!(statuses == ["sent", "sent", "sending", "queued", "queued", "queued"], "{statuses:?}");
        // The job's lease runs out; another worker takes the batch over.
        app.post.sink.set_mode(SinkMode::default());
        app.clock.advance_seconds(301);
        app.run_jobs().await?;
        let after = deliveries::of_mailing(&app.db, mailing).await?;
        let statuses: Vec<&str> = after.iter().map(|d| d.status.as_str()).collect();
        ensure!(statuses == ["sent", "sent", "uncertain", "sent", "sent", "sent"], "{statuses:?}");
        let received = app.post.sink.messages();
        ensure!(received.len() == 6, "{} messages reached the server", received.len());
        for d in &after {
            let copies = received.iter().filter(|m| m.message_id().unwrap_or_default().contains(&d.message_id)).count();
            ensure!(copies == 1, "delivery {} reached the server {copies} times", d.id);
        }
        // The uncertain one is shown, not hidden.
        ensure!(deliveries::troubled(&app.db, Some(w.org), 10).await?.iter().any(|d| d.status == "uncertain"));
        Ok(())
    }
}

async fn sms_world(app: &TestApp, mode: SmsMode) -> anyhow::Result<World> {
    let w = world(app).await?;
    let s = OrgSettings {
        sms_mode: mode,
        sms_login: "tabys".into(),
        sms_password: "smsc-test-password".into(),
        ..OrgSettings::default()
    };
    settings::save(&app.db, w.org, &s).await?;
    let phone = KzPhone::parse("+7 701 123 45 67").map_err(|e| anyhow::anyhow!("{e}"))?;
    prefs::set_phone(&app.db, w.customer, Some(&phone), app.db.now()).await?;
    prefs::set_channels(
        &app.db,
        w.customer,
        Channels {
            category: Category::Events,
            email: false,
            sms: true,
        },
    )
    .await?;
    Ok(w)
}

async fn operator_balance(app: &TestApp, org: OrgId) -> anyhow::Result<i64> {
    let w = balances::find(&app.db, Book::OPERATOR, Holder::Org(org))
        .await?
        .context("wallet")?;
    Ok(balances::balance(&app.db, &w).await?.main.tiyn())
}

db_test! {
    async fn an_sms_through_the_operators_account_is_charged_at_price_plus_five_percent_once(app: TestApp) {
        let w = sms_world(&app, SmsMode::Operator).await?;
        let before = operator_balance(&app, w.org).await.unwrap_or(0);
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let sent = app.post.smsc.sent();
        ensure!(sent.len() == 1 && sent[0].phone == "+77011234567", "{sent:?}");
        ensure!(sent[0].text.contains("ТОО «alpha» ответил на обращение"), "{}", sent[0].text);
        let d = only_delivery(&app, id).await?;
        // One Cyrillic part at 10.50 ₸: 10.50 × 1.05 = 11.025 → 11.03 ₸.
        ensure!(d.status == "sent" && d.cost.map(|c| c.tiyn()) == Some(1050) && d.charge.map(|c| c.tiyn()) == Some(1103), "{d:?}");
        ensure!(d.charged_at.is_some());
        ensure!(operator_balance(&app, w.org).await? == before - 1103);
        // Running everything again charges nothing more.
        later(&app).await?;
        ensure!(operator_balance(&app, w.org).await? == before - 1103);
        ensure!(ledger::trial_balance(&app.db).await?.balanced(), "the ledger balances");
        ensure!(app.post.smsc.sent().len() == 1);
        Ok(())
    }
}

db_test! {
    async fn an_organizers_own_sms_account_is_not_charged(app: TestApp) {
        let w = sms_world(&app, SmsMode::Own).await?;
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "sent" && d.charge.is_none(), "{d:?}");
        ensure!(app.post.smsc.sent()[0].login == "tabys");
        Ok(())
    }
}

db_test! {
    async fn sms_provider_errors_are_recorded_with_their_text_and_retried_only_when_they_may_pass(app: TestApp) {
        let w = sms_world(&app, SmsMode::Operator).await?;
        app.post.smsc.set_mode(SmscMode { errors: vec![3, 6], ..SmscMode::default() });
        let first = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let d = only_delivery(&app, first).await?;
        ensure!(d.status == "queued" && d.last_error.as_deref() == Some("SMSC error 3: no money"), "{d:?}");
        later(&app).await?;
        let d = only_delivery(&app, first).await?;
        ensure!(d.status == "failed" && d.last_error.as_deref() == Some("SMSC error 6: message is denied"), "{d:?}");
        ensure!(d.charge.is_none() && app.post.smsc.sent().is_empty(), "nothing sent, nothing charged");
        Ok(())
    }
}

db_test! {
    async fn an_sms_whose_answer_was_lost_is_found_at_the_provider_not_sent_again(app: TestApp) {
        let w = sms_world(&app, SmsMode::Operator).await?;
        app.post.smsc.set_mode(SmscMode { break_after_keeping: 1, ..SmscMode::default() });
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "sending", "unknown outcome stays sending: {d:?}");
        later(&app).await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "sent" && d.charge.map(|c| c.tiyn()) == Some(1103) && d.charged_at.is_some(), "{d:?}");
        ensure!(app.post.smsc.sent().len() == 1, "sent once");
        ensure!(app.post.smsc.calls() == 1, "not even tried twice");
        Ok(())
    }
}

db_test! {
    async fn an_organizer_suspended_for_sms_debt_sends_no_more_sms_through_the_operator(app: TestApp) {
        let w = sms_world(&app, SmsMode::Operator).await?;
        let mut tx = app.db.begin().await?;
        let wallet = balances::wallet(&mut tx, Book::OPERATOR, Holder::Org(w.org), app.db.now()).await?;
        tx.commit().await?;
        balances::charge_extras(&app.db, &wallet, tabys_core::money::Money::from_tiyn(500_000), "test:debt".into(), "SMS".into()).await?;
        app.clock.advance_seconds(10 * 24 * 3600);
        balances::suspend_overdue(&app.db).await?;
        ensure!(balances::is_suspended(&app.db, Book::OPERATOR, Holder::Org(w.org)).await?);
        let refused = mailings::send(
            &app.db,
            w.org,
            w.owner,
            NewMailing { via: Via::Sms, product: None, marketing: false, subject: "s".into(), body: "Занятие завтра".into() },
        )
        .await;
        ensure!(matches!(refused, Err(tabys_core::Error::Conflict("account-suspended"))), "{refused:?}");
        let id = notify(&app, &w, "support.reply", "notify-support-reply").await?;
        app.run_jobs().await?;
        let d = only_delivery(&app, id).await?;
        ensure!(d.status == "failed" && d.last_error.unwrap_or_default().contains("suspended"));
        ensure!(app.post.smsc.sent().is_empty());
        Ok(())
    }
}

db_test! {
    async fn a_marketing_mailing_reaches_only_consenting_customers_and_never_the_unsubscribed(app: TestApp) {
        let w = world(&app).await?;
        let fan = customer_of(&app, w.org, "fan@example.kz").await?;
        let ev = tabys_offers::acceptance::Evidence { origin: Default::default(), locale: None, wording: "Да".into() };
        tabys_offers::consent::set(&app.db, fan, tabys_offers::offer::Publisher::Org(w.org), tabys_offers::consent::ConsentKind::Marketing, true, &ev).await?;
        let offer = || NewMailing { via: Via::Email, product: None, marketing: true, subject: "Скидка 20 %".into(), body: "Только до пятницы: https://alpha.kz/sale".into() };
        let first = mailings::send(&app.db, w.org, w.owner, offer()).await?;
        app.run_jobs().await?;
        let list = mailings::list(&app.db, w.org).await?;
        let m = list.iter().find(|m| m.id == first).context("mailing")?;
        ensure!(m.recipients == 1 && m.skipped == 1 && m.sent == 1, "{m:?}");
        ensure!(app.post.sink.to("student@example.kz").is_empty(), "no consent, no mail");
        let mail = app.post.sink.to("fan@example.kz");
        let unsubscribe = mail[0].header("List-Unsubscribe").context("List-Unsubscribe")?;
        ensure!(mail[0].header("List-Unsubscribe-Post").as_deref() == Some("List-Unsubscribe=One-Click"));
        ensure!(mail[0].text().contains("https://alpha.kz/sale"));
        // One click, as a mail provider makes it: no cookies, no token.
        let url = unsubscribe.trim_matches(['<', '>']).to_string();
        let r = tabys_testkit::reqwest::Client::new().post(&url).send().await?;
        ensure!(r.status() == 200, "{}", r.status());
        mailings::send(&app.db, w.org, w.owner, offer()).await?;
        app.run_jobs().await?;
        ensure!(app.post.sink.to("fan@example.kz").len() == 1, "the unsubscribed person was mailed again");
        let m = &mailings::list(&app.db, w.org).await?[0];
        ensure!(m.recipients == 0 && m.skipped == 2, "{m:?}");
        Ok(())
    }
}

/// Stores a small PDF for the organizer, as the platform stores its documents.
async fn stored_pdf(
    app: &TestApp,
    org: OrgId,
    body: &str,
) -> anyhow::Result<tabys_files::StoredFile> {
    let pdf = format!("%PDF-1.4\n% {body}\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n");
    let mut tx = app.db.begin().await?;
    let file = app
        .files
        .store_document(
            &mut tx,
            app.db.now(),
            org,
            tabys_files::CERTIFICATE,
            "doc.pdf",
            pdf.as_bytes(),
        )
        .await?;
    tx.commit().await?;
    Ok(file)
}

async fn notify_with(
    app: &TestApp,
    w: &World,
    file: &tabys_files::StoredFile,
) -> anyhow::Result<i64> {
    let mut tx = app.db.begin().await?;
    let id = tabys_notify::add_with_attachments(
        &mut tx,
        app.db.now(),
        NewNotification {
            user: w.customer,
            org: Some(w.org),
            kind: "support.reply",
            key: "notify-support-reply",
            args: reply_args("Документ"),
        },
        &[deliveries::Attachment {
            org: w.org,
            file_id: file.id,
            name: "Акт № 1.pdf".into(),
            content_type: file.content_type.clone(),
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(id)
}

db_test! {
    async fn an_attachment_is_read_at_sending_time_and_sent_whole_every_attempt(app: TestApp) {
        let w = world(&app).await?;
        let file = stored_pdf(&app, w.org, "акт").await?;
        let expected = app.files.read_all(&file, 1 << 20).await?;
        ensure!(expected.starts_with(b"%PDF"));
        let id = notify_with(&app, &w, &file).await?;
        // The first attempt is refused by the server; the retry sends the same bytes.
        app.post.sink.set_mode(SinkMode { refuse: 1, ..SinkMode::default() });
        app.run_jobs().await?;
        ensure!(app.post.sink.messages().is_empty());
        ensure!(only_delivery(&app, id).await?.status == "queued");
        later(&app).await?;
        let mail = app.post.sink.to("student@example.kz");
        ensure!(mail.len() == 1, "{mail:?}");
        let m = &mail[0];
        ensure!(m.header("Content-Type").unwrap_or_default().starts_with("multipart/mixed"), "{}", m.raw);
        ensure!(m.bytes("application/pdf").as_deref() == Some(expected.as_slice()), "{}", m.raw);
        ensure!(m.raw.contains("Content-Disposition: attachment"), "{}", m.raw);
        // The post office's page hands the PDF over as the recipient saves it.
        let url = format!("{}/mail/{}/attachment.pdf", app.post.base(), m.seq);
        let saved = tabys_testkit::reqwest::get(&url).await?.bytes().await?;
        ensure!(saved.as_ref() == expected.as_slice(), "{url}");
        // The text and HTML parts are still there.
        ensure!(m.text().contains("Документ") && m.part("text/html").is_some(), "{}", m.raw);
        ensure!(only_delivery(&app, id).await?.status == "sent");
        // The delivery row holds only the file's id, not its bytes.
        let args: String = sqlx::query_scalar("SELECT args FROM notify_deliveries WHERE notification_id = $1")
            .bind(id)
            .fetch_one(app.db.read())
            .await?;
        ensure!(!args.contains("PDF"), "{args}");
        Ok(())
    }
}

db_test! {
    async fn a_missing_attachment_fails_the_delivery_visibly_and_sends_nothing(app: TestApp) {
        let w = world(&app).await?;
        // Bytes gone from the disk.
        let gone = stored_pdf(&app, w.org, "один").await?;
        let first = notify_with(&app, &w, &gone).await?;
        for entry in app.files.root().join(format!("{}", w.org.0)).read_dir()? {
            std::fs::remove_file(entry?.path())?;
        }
        // A file deleted by the organizer.
        let deleted = stored_pdf(&app, w.org, "два").await?;
        let second = notify_with(&app, &w, &deleted).await?;
        app.files.delete(&app.db, w.org, deleted.id).await?;
        app.run_jobs().await?;
        later(&app).await?;
        ensure!(app.post.sink.messages().is_empty(), "{:?}", app.post.sink.messages());
        for (id, why) in [(first, "are missing"), (second, "no longer exists")] {
            let d = only_delivery(&app, id).await?;
            ensure!(d.status == "failed" && d.attempts == 1, "{d:?}");
            ensure!(d.last_error.as_deref().unwrap_or_default().contains(why), "{d:?}");
        }
        // The operator and the organizer see both with the reason.
        let troubled = deliveries::troubled(&app.db, Some(w.org), 10).await?;
        ensure!(troubled.len() == 2, "{troubled:?}");
        ensure!(deliveries::troubled(&app.db, None, 10).await?.len() == 2);
        Ok(())
    }
}

db_test! {
    async fn an_email_to_an_address_alone_is_sent_in_its_language_without_a_settings_link(app: TestApp) {
        let w = world(&app).await?;
        let mut args = serde_json::Map::new();
        args.insert("title".into(), "Эфир".into());
        args.insert("when".into(), "04.03.2026 19:00".into());
        args.insert("link".into(), "/live/w/1?t=abc".into());
        args.insert("cancel_link".into(), "/live/w/1/cancel?t=abc".into());
        let mut tx = app.db.begin().await?;
        tabys_notify::email_address(
            &mut tx,
            app.db.now(),
            tabys_notify::AddressEmail {
                org: w.org,
                address: "guest@example.kz".into(),
                locale: tabys_core::locale::Locale::En,
                kind: "live.reminder",
                key: "notify-live-reminder-hour",
                args,
            },
        )
        .await?;
        tx.commit().await?;
        app.run_jobs().await?;
        let mail = app.post.sink.to("guest@example.kz");
        ensure!(mail.len() == 1, "{mail:?}");
        ensure!(mail[0].subject() == "In an hour: Эфир", "{}", mail[0].subject());
        let text = mail[0].text();
        ensure!(text.contains(&format!("{}/live/w/1/cancel?t=abc", app.base)), "{text}");
        ensure!(!text.contains("/cabinet/notifications/settings"), "{text}");
        Ok(())
    }
}
