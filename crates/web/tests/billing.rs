//! Money as people and providers meet it over HTTP: an organizer gets the
//! payment module and sells, a customer pays by card at the gateway, by
//! Kaspi, by invoice and from the balance, asks for refunds, and the
//! gateway's and Kaspi's messages arrive forged, repeated, late and out of
//! order. Every test ends with the ledger balanced and reconciled.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use tabys_accounts::users::{self, NewUser};
use tabys_billing::ledger;
use tabys_billing::{Book, Holder, balances, orders, products, reconcile};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::money::Money;
use tabys_providers_fake::Mode;
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, PASSWORD, TestApp, db_test};

const DAY: i64 = 86_400;

/// The operator of the installation, signed in.
async fn operator(app: &TestApp) -> anyhow::Result<Client> {
    let mut tx = app.db.begin().await?;
    let new = NewUser {
        email: Email::parse("operator@tabys.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "Operator".into(),
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

/// An organizer whose payment module the operator approved and it switched on.
async fn seller(app: &TestApp, op: &Client, slug: &str) -> anyhow::Result<(Client, i64)> {
    let (owner, org) = app.organizer(&format!("owner@{slug}.kz"), slug).await?;
    let r = owner
        .post_form(
            &format!("/org/{org}/billing/module"),
            &[("comment", "we sell courses")],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "module request: {} {}",
        r.status,
        r.text
    );
    let r = op
        .post_form(
            &format!("/admin/billing/modules/{org}"),
            &[("decision", "approve"), ("reasons", "")],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "module approval: {} {}",
        r.status,
        r.text
    );
    let r = owner
        .post_form(
            &format!("/org/{org}/billing/module/enable"),
            &[("accept_terms", "1")],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "module enable: {} {}",
        r.status,
        r.text
    );
    Ok((owner, org))
}

async fn product(
    app: &TestApp,
    owner: &Client,
    org: i64,
    fields: &[(&str, &str)],
) -> anyhow::Result<i64> {
    let r = owner
        .post_form(&format!("/org/{org}/products"), fields)
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "product: {} {}",
        r.status,
        r.text
    );
    let list = products::list(&app.db, OrgId(org), false).await?;
    list.first().map(|p| p.id).context("no product")
}

fn course(price: &str) -> Vec<(&'static str, String)> {
    vec![
        ("kind", "course".into()),
        ("title", "SMMARKETING — ӨЗІМ".into()),
        ("price", price.into()),
        ("refund_policy", "none".into()),
        ("access_days", "45".into()),
    ]
}

fn pairs<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

/// A new browser session for someone whose old one ran out while the test
/// moved the clock on by weeks.
async fn login(app: &TestApp, email: &str) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "login {email}: {}",
        r.status
    );
    Ok(c)
}

async fn customer(app: &TestApp, email: &str, slug: &str) -> anyhow::Result<Client> {
    let c = app.person(email, "Данияр").await?;
    c.post_form(&format!("/o/{slug}/join"), &[("adult", "1")])
        .await?;
    Ok(c)
}

async fn order(c: &Client, slug: &str, product: i64, plan: &str) -> anyhow::Result<i64> {
    let key = format!("k-{slug}-{product}-{plan}-{}", rand_suffix());
    let r = c
        .post_form(
            &format!("/o/{slug}/products/{product}/order"),
            &[("plan", plan), ("key", key.as_str())],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "order: {} {}",
        r.status,
        r.text
    );
    r.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/cabinet/orders/"))
        .and_then(|s| s.parse().ok())
        .context("order id")
}

fn rand_suffix() -> String {
    tabys_store::token::random_token()[..8].to_string()
}

/// Pays an order by card at the gateway's page; returns the payment link.
async fn pay_by_card(app: &TestApp, c: &Client, order: i64, save: bool) -> anyhow::Result<String> {
    let key = rand_suffix();
    let mut form = vec![("method", "card"), ("key", key.as_str())];
    if save {
        form.push(("save_card", "1"));
    }
    let r = c
        .post_form(&format!("/cabinet/orders/{order}/pay"), &form)
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "pay: {} {}",
        r.status,
        r.text
    );
    let link = r.location.context("gateway link")?;
    let id = link.rsplit('/').next().context("link id")?.to_string();
    let (status, text) = app.fake.pay_link(&id, "4242 4242 4242 4242", save).await;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "gateway page: {status} {text}"
    );
    Ok(id)
}

async fn order_state(app: &TestApp, org: i64, id: i64) -> anyhow::Result<orders::Order> {
    Ok(orders::get(&app.db, OrgId(org), id).await?)
}

/// The ledger is balanced, every cache agrees, and every provider record
/// matches exactly one transfer.
async fn books_are_clean(app: &TestApp) -> anyhow::Result<()> {
    app.fake.settle(Duration::from_secs(20)).await;
    let tb = ledger::trial_balance(&app.db).await?;
    ensure!(
        tb.balanced(),
        "trial balance: debits {} credits {} mismatches {}",
        tb.total_debits,
        tb.total_credits,
        tb.cache_mismatches
    );
    let days = reconcile::window(&app.db, 1).await?;
    let report = reconcile::run(&app.db, &app.billing, &days).await?;
    ensure!(report.is_clean(), "reconcile: {report:?}");
    Ok(())
}

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e).await?.context("user")?.id)
}

db_test! {
    async fn a_course_bought_by_card_grants_access_once_even_with_duplicate_callbacks(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "lessbek").await?;
        let p = product(&app, &owner, org, &pairs(&course("93 990"))).await?;
        let c = customer(&app, "student@example.kz", "lessbek").await?;
        let id = order(&c, "lessbek", p, "full").await?;
        app.fake.set_mode(Mode { duplicate: true, ..Mode::default() });
        pay_by_card(&app, &c, id, false).await?;
        app.fake.settle(Duration::from_secs(10)).await;
        let o = order_state(&app, org, id).await?;
        ensure!(o.status == "paid" && o.paid == Money::from_tiyn(9_399_000), "order {o:?}");
        let customer_id = user_id(&app, "student@example.kz").await?;
        ensure!(tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?);
        let page = c.get(&format!("/cabinet/orders/{id}")).await?;
        ensure!(page.text.contains("data-status=\"paid\""), "{}", page.text);
        let postings: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings WHERE idem_key LIKE 'cloudpayments:%'").fetch_one(app.db.read()).await?;
        ensure!(postings == 1, "{postings} card postings");
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn forged_replayed_and_mismatched_gateway_callbacks_change_nothing(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "exintra").await?;
        let p = product(&app, &owner, org, &pairs(&course("10 000"))).await?;
        let c = customer(&app, "c@example.kz", "exintra").await?;
        let id = order(&c, "exintra", p, "full").await?;
        pay_by_card(&app, &c, id, false).await?;
        let paid = app.fake.transactions().into_iter().find(|t| t.status == "Completed").context("txn")?;
        let before = ledger::trial_balance(&app.db).await?;
        let (body, sig) = app.fake.notification_body(&paid);
        // Replayed: the same notification again is accepted and changes nothing.
        let r = app.fake.notify_raw("pay", body.clone(), Some(sig.clone())).await.context("answer")?;
        ensure!(r["code"] == 0, "{r}");
        // Forged: a wrong signature, or none.
        let r = app.fake.notify_raw("pay", body.clone(), Some("AAAA".into())).await.context("answer")?;
        ensure!(r["code"] == 13, "{r}");
        let r = app.fake.notify_raw("pay", body.clone(), None).await.context("answer")?;
        ensure!(r["code"] == 13, "{r}");
        // Altered after signing: another amount.
        let altered = body.replace("Amount=10000.00", "Amount=1.00");
        let r = app.fake.notify_raw("pay", altered, Some(sig.clone())).await.context("answer")?;
        ensure!(r["code"] == 13, "{r}");
        // Signed but for an unknown invoice, and with a fraction of a tiyn.
        let mut unknown = paid.clone();
        unknown.invoice_id = "P999999".into();
        let (b, s) = app.fake.notification_body(&unknown);
        let r = app.fake.notify_raw("pay", b, Some(s)).await.context("answer")?;
        ensure!(r["code"] == 10 || r["code"] == 13, "{r}");
        let (b, _) = app.fake.notification_body(&paid);
        let b = b.replace("Amount=10000.00", "Amount=10000.001");
        let s = tabys_providers_fake::sign(&app.billing.cloudpayments.api_secret, b.as_bytes());
        let r = app.fake.notify_raw("pay", b, Some(s)).await.context("answer")?;
        ensure!(r["code"] == 12, "{r}");
        let after = ledger::trial_balance(&app.db).await?;
        ensure!(before.total_debits == after.total_debits, "the ledger moved");
        ensure!(order_state(&app, org, id).await?.paid == Money::from_tiyn(1_000_000));
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn a_check_for_a_wrong_sum_or_a_paid_order_is_refused_before_any_money_moves(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "isra").await?;
        let p = product(&app, &owner, org, &pairs(&course("5 000"))).await?;
        let c = customer(&app, "c@example.kz", "isra").await?;
        let id = order(&c, "isra", p, "full").await?;
        // Two tabs: two payment links for the same order; the first pays.
        let first = pay_by_card(&app, &c, id, false).await?;
        let key = rand_suffix();
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "card"), ("key", key.as_str())]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "second payment of a paid order: {}", r.status);
        ensure!(r.text.contains(&support_msg("order-not-payable")?), "{}", r.text);
        let (status, _) = app.fake.pay_link(&first, "4242424242424242", false).await;
        ensure!(status == StatusCode::CONFLICT, "paying a paid link again: {status}");
        ensure!(order_state(&app, org, id).await?.paid == Money::from_tiyn(500_000));
        books_are_clean(&app).await?;
        Ok(())
    }
}

fn support_msg(code: &str) -> anyhow::Result<String> {
    Ok(tabys_web::i18n::Tr::new(Locale::Ru).err(code))
}

db_test! {
    async fn a_payment_form_sent_twice_starts_one_payment(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "twice").await?;
        let p = product(&app, &owner, org, &pairs(&course("1 000"))).await?;
        let c = customer(&app, "c@example.kz", "twice").await?;
        let id = order(&c, "twice", p, "full").await?;
        let form = [("method", "kaspi"), ("key", "same-key-1")];
        let a = c.post_form(&format!("/cabinet/orders/{id}/pay"), &form).await?;
        let b = c.post_form(&format!("/cabinet/orders/{id}/pay"), &form).await?;
        ensure!(a.location == b.location && a.location.is_some(), "{:?} {:?}", a.location, b.location);
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = $1").bind(id).fetch_one(app.db.read()).await?;
        ensure!(n == 1, "{n} payments");
        // The same order form sent twice makes one order.
        let r1 = c.post_form(&format!("/o/twice/products/{p}/order"), &[("plan", "full"), ("key", "order-key-1")]).await?;
        let r2 = c.post_form(&format!("/o/twice/products/{p}/order"), &[("plan", "full"), ("key", "order-key-1")]).await?;
        ensure!(r1.location == r2.location, "{:?} {:?}", r1.location, r2.location);
        Ok(())
    }
}

db_test! {
    async fn kaspi_pays_once_per_txn_id_and_refuses_wrong_sums_and_strangers(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "kaspishop").await?;
        let p = product(&app, &owner, org, &pairs(&course("2 500,50"))).await?;
        let c = customer(&app, "k@example.kz", "kaspishop").await?;
        let id = order(&c, "kaspishop", p, "full").await?;
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "kaspi"), ("key", "kaspi-1")]).await?;
        let page = c.get(r.location.as_deref().context("payment page")?).await?;
        let account = page.text.split("data-kaspi-account>").nth(1).and_then(|s| s.split('<').next()).context("account")?.to_string();
        // A wrong sum is refused at check.
        let wrong = app.fake.kaspi_pay(&account, Money::from_tiyn(100)).await;
        ensure!(wrong.check_result == Some(2) && wrong.pay_result.is_none(), "{wrong:?}");
        let ok = app.fake.kaspi_pay(&account, Money::from_tiyn(250_050)).await;
        ensure!(ok.pay_result == Some(0), "{ok:?}");
        // Kaspi repeats the same txn_id: same answer, nothing new.
        let again = app.fake.kaspi_repeat(&ok.txn_id, &account, Money::from_tiyn(250_050)).await;
        ensure!(again.pay_result == Some(0) && again.prv_txn == ok.prv_txn, "{again:?} vs {ok:?}");
        ensure!(order_state(&app, org, id).await?.status == "paid");
        // An unknown account, and a caller without Kaspi's credentials.
        let unknown = app.fake.kaspi_pay("P999999", Money::from_tiyn(100)).await;
        ensure!(unknown.check_result == Some(1), "{unknown:?}");
        let stranger = app.client()?.get("/pay/kaspi?command=pay&txn_id=5&txn_date=20260302120000&account=W1&sum=1.00").await?;
        ensure!(stranger.status == StatusCode::FORBIDDEN && stranger.text.contains("<result>5</result>"), "{} {}", stranger.status, stranger.text);
        // A top-up by the personal account number, any sum.
        let w = balances::find(&app.db, Book::org(OrgId(org)), Holder::User(user_id(&app, "k@example.kz").await?)).await?.context("wallet")?;
        let top = app.fake.kaspi_pay(&format!("W{}", w.id), Money::from_tiyn(100_000)).await;
        ensure!(top.pay_result == Some(0), "{top:?}");
        ensure!(balances::balance(&app.db, &w).await?.main == Money::from_tiyn(100_000));
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn an_invoice_is_credited_once_by_the_operator_or_the_statement(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = app.organizer("owner@centerpro.kz", "centerpro").await?;
        let r = owner
            .post_form(&format!("/org/{org}/billing/top-up"), &[("amount", "15 000"), ("method", "invoice"), ("payer_name", "ТОО «centerpro»"), ("payer_iin_bin", "180540001239"), ("key", "inv-1")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let pdf = owner.get(r.location.as_deref().context("pdf")?).await?;
        ensure!(pdf.status == StatusCode::OK && pdf.text.starts_with("%PDF"), "{}", pdf.status);
        let inv = tabys_billing::invoices::of_holder(&app.db, Holder::Org(OrgId(org))).await?.into_iter().next().context("invoice")?;
        ensure!(op.get(&format!("/org/{org}/billing/invoices/{}/pdf", inv.id)).await?.status == StatusCode::NOT_FOUND, "not the operator's page");
        let page = owner.get(&format!("/org/{org}/billing")).await?;
        ensure!(page.text.contains(&tabys_web::i18n::Tr::new(Locale::Ru).t("billing-invoice-72h")), "the 72-hour notice");
        let r = op.post_form(&format!("/admin/billing/invoices/{}/confirm", inv.id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.status);
        // The same money in a statement afterwards changes nothing.
        let statement = format!("date;reference;amount;payer;purpose\n2026-03-02;PP-1;15000.00;ТОО;Оплата по счёту № {}\n2026-03-02;PP-2;99.00;X;nothing\n", inv.number);
        let r = op.post_form("/admin/billing/statement", &[("statement", statement.as_str())]).await?;
        ensure!(r.status == StatusCode::OK, "{}", r.status);
        let r = op.post_form("/admin/billing/statement", &[("statement", statement.as_str())]).await?;
        ensure!(r.text.contains("data-import"), "report shown");
        let w = balances::find(&app.db, Book::OPERATOR, Holder::Org(OrgId(org))).await?.context("wallet")?;
        let b = balances::balance(&app.db, &w).await?;
        ensure!(b.main == Money::from_tiyn(1_500_000), "main {}", b.main);
        let tb = ledger::trial_balance(&app.db).await?;
        ensure!(tb.balanced());
        let report = reconcile::run(&app.db, &app.billing, &reconcile::window(&app.db, 1).await?).await?;
        ensure!(report.unmatched_at_provider.len() == 1 && report.unmatched_at_provider[0].contains("PP-2"), "{report:?}");
        Ok(())
    }
}

db_test! {
    async fn a_statement_line_with_the_number_and_amount_credits_the_invoice(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = app.organizer("owner@mobix.kz", "mobix").await?;
        owner
            .post_form(&format!("/org/{org}/billing/top-up"), &[("amount", "7 500,25"), ("method", "invoice"), ("payer_name", "ТОО «mobix»"), ("payer_iin_bin", "180540001239"), ("key", "inv-2")])
            .await?;
        let inv = tabys_billing::invoices::of_holder(&app.db, Holder::Org(OrgId(org))).await?.into_iter().next().context("invoice")?;
        let statement = format!("date;reference;amount;payer;purpose\n2026-03-02;PP-7;7 500,25;ТОО;по счёту {}\n", inv.number);
        op.post_form("/admin/billing/statement", &[("statement", statement.as_str())]).await?;
        let inv = tabys_billing::invoices::of_holder(&app.db, Holder::Org(OrgId(org))).await?.into_iter().next().context("invoice")?;
        ensure!(inv.status == "paid", "{inv:?}");
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn a_booking_refund_follows_the_tiers_and_goes_back_to_the_card(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "cowork").await?;
        // The booking starts in 30 hours: half is kept.
        let start = tabys_core::Timestamp(app.clock_now().0 + 30 * 3_600_000);
        let starts = start.to_jiff().to_zoned(tabys_core::calendar::almaty()).strftime("%Y-%m-%dT%H:%M").to_string();
        let p = product(&app, &owner, org, &[("kind", "workplace"), ("title", "Рабочее место"), ("price", "8 000"), ("refund_policy", "tiers-48-24"), ("starts_at", starts.as_str()), ("taxes_included", "true")]).await?;
        let c = customer(&app, "guest@example.kz", "cowork").await?;
        let id = order(&c, "cowork", p, "full").await?;
        pay_by_card(&app, &c, id, false).await?;
        let page = c.get(&format!("/cabinet/orders/{id}")).await?;
        ensure!(page.text.contains("data-refund-preview=\"400000\""), "preview of half: {}", page.text);
        let r = c.post_form(&format!("/cabinet/orders/{id}/refund"), &[("reason", "plans changed")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        app.run_jobs().await?;
        app.fake.settle(Duration::from_secs(10)).await;
        let o = order_state(&app, org, id).await?;
        ensure!(o.refunded == Money::from_tiyn(400_000), "{o:?}");
        let refunds: Vec<_> = app.fake.transactions().into_iter().filter(|t| t.operation == "Refund").collect();
        ensure!(refunds.len() == 1 && refunds[0].amount == Money::from_tiyn(400_000), "{refunds:?}");
        let customer_id = user_id(&app, "guest@example.kz").await?;
        ensure!(!tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?, "access revoked");
        // Nothing more to refund: asking again is refused.
        let again = c.post_form(&format!("/cabinet/orders/{id}/refund"), &[("reason", "again")]).await?;
        ensure!(again.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", again.status);
        // An organizer refund above what is left is refused.
        let r = owner.post_form(&format!("/org/{org}/sales/orders/{id}/refund"), &[("amount", "4 000,01"), ("reason", "goodwill")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        books_are_clean(&app).await?;
        Ok(())
    }
}

trait ClockNow {
    fn clock_now(&self) -> tabys_core::Timestamp;
}

impl ClockNow for TestApp {
    fn clock_now(&self) -> tabys_core::Timestamp {
        use tabys_core::Clock;
        self.clock.now()
    }
}

db_test! {
    async fn a_cooling_off_refund_waits_for_approval_and_charges_the_days_used(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "webinars").await?;
        let p = product(&app, &owner, org, &[("kind", "webinar"), ("title", "Комнаты"), ("price", "30 000"), ("refund_policy", "cooling-off-14"), ("access_days", "30")]).await?;
        let c = customer(&app, "org@example.kz", "webinars").await?;
        let id = order(&c, "webinars", p, "full").await?;
        pay_by_card(&app, &c, id, false).await?;
        app.clock.advance_seconds(3 * DAY);
        let r = c.post_form(&format!("/cabinet/orders/{id}/refund"), &[("reason", "")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "reasons are required: {}", r.status);
        let r = c.post_form(&format!("/cabinet/orders/{id}/refund"), &[("reason", "the rooms do not suit us")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        ensure!(order_state(&app, org, id).await?.refunded == Money::ZERO, "waits for approval");
        let refund = tabys_billing::refund::of_org(&app.db, OrgId(org), true).await?.into_iter().next().context("request")?;
        ensure!(refund.amount == Money::from_tiyn(2_700_000), "{refund:?}");
        let r = owner.post_form(&format!("/org/{org}/sales/refunds/{}", refund.id), &[("decision", "approve")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.status);
        app.run_jobs().await?;
        ensure!(order_state(&app, org, id).await?.refunded == Money::from_tiyn(2_700_000));
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn half_now_grants_access_reminds_and_suspends_until_the_rest_is_paid(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "halfs").await?;
        let p = product(&app, &owner, org, &[("kind", "course"), ("title", "VIP"), ("price", "253 990,01"), ("refund_policy", "none"), ("allow_half", "true"), ("rest_due_days", "20")]).await?;
        let c = customer(&app, "h@example.kz", "halfs").await?;
        let id = order(&c, "halfs", p, "half").await?;
        let o = order_state(&app, org, id).await?;
        ensure!(o.first_due == Money::from_tiyn(12_699_501), "the first half keeps the odd tiyn: {}", o.first_due.tiyn());
        pay_by_card(&app, &c, id, false).await?;
        let customer_id = user_id(&app, "h@example.kz").await?;
        ensure!(order_state(&app, org, id).await?.status == "part-paid");
        ensure!(tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?);
        app.clock.advance_seconds(18 * DAY);
        app.run_jobs().await?;
        let notes = tabys_notify::list(&app.db, customer_id, 20).await?;
        ensure!(notes.iter().any(|n| n.key == "notify-rest-due"), "reminded");
        app.clock.advance_seconds(3 * DAY);
        app.run_jobs().await?;
        ensure!(!tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?, "suspended");
        let c = login(&app, "h@example.kz").await?;
        pay_by_card(&app, &c, id, false).await?;
        let o = order_state(&app, org, id).await?;
        ensure!(o.status == "paid" && o.paid == o.price, "{o:?}");
        ensure!(tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?, "access back");
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn an_order_not_paid_on_its_day_is_void_and_a_late_kaspi_payment_stays_on_the_balance(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "latepay").await?;
        let p = product(&app, &owner, org, &pairs(&course("3 000"))).await?;
        let c = customer(&app, "l@example.kz", "latepay").await?;
        let id = order(&c, "latepay", p, "full").await?;
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "kaspi"), ("key", "late-1")]).await?;
        let pid: i64 = r.location.as_deref().and_then(|l| l.rsplit('/').next()).and_then(|s| s.parse().ok()).context("payment")?;
        app.clock.advance_seconds(DAY);
        app.run_jobs().await?;
        ensure!(order_state(&app, org, id).await?.status == "void");
        let late = app.fake.kaspi_pay(&format!("P{pid}"), Money::from_tiyn(300_000)).await;
        ensure!(late.check_result == Some(3), "refused at check: {late:?}");
        // A price change after the order never touches it.
        owner.post_form(&format!("/org/{org}/products/{p}"), &pairs(&course("9 999"))).await?;
        ensure!(order_state(&app, org, id).await?.price == Money::from_tiyn(300_000));
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn bad_amounts_and_unknown_methods_are_refused_with_a_clear_message(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "strict").await?;
        let postings_before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings").fetch_one(app.db.read()).await?;
        for (price, code) in [("10,001", "money-fraction"), ("-5", "money-format"), ("0", "amount-not-positive"), ("12 34", "money-format")] {
            let r = owner.post_form(&format!("/org/{org}/products"), &pairs(&course(price))).await?;
            ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{price}: {}", r.status);
            ensure!(r.text.contains(&support_msg(code)?), "{price}: no {code} message");
        }
        ensure!(products::list(&app.db, OrgId(org), false).await?.is_empty(), "nothing saved");
        let p = product(&app, &owner, org, &pairs(&course("1 000"))).await?;
        let c = customer(&app, "b@example.kz", "strict").await?;
        let id = order(&c, "strict", p, "full").await?;
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "bitcoin"), ("key", "m1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("method-unknown")?));
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "balance"), ("key", "m2")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("insufficient-funds")?), "{}", r.status);
        let r = c.post_form("/cabinet/balance/top-up", &[("book", org.to_string().as_str()), ("amount", "0,001"), ("method", "card"), ("key", "t1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("money-fraction")?), "{}", r.status);
        let r = c.post_form("/cabinet/balance/top-up", &[("book", "999999"), ("amount", "10"), ("method", "card"), ("key", "t2")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        let r = c.post_form(&format!("/o/strict/products/{p}/order"), &[("plan", "half"), ("key", "h1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("half-not-allowed")?));
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM ledger_postings").fetch_one(app.db.read()).await?;
        ensure!(n == postings_before, "{n} postings after refusals, {postings_before} before");
        Ok(())
    }
}

db_test! {
    async fn selling_needs_the_approved_payment_module(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = app.organizer("owner@nomodule.kz", "nomodule").await?;
        let p = product(&app, &owner, org, &pairs(&course("1 000"))).await?;
        let c = customer(&app, "n@example.kz", "nomodule").await?;
        let r = c.post_form(&format!("/o/nomodule/products/{p}/order"), &[("plan", "full"), ("key", "nm1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("payment-module-off")?));
        owner.post_form(&format!("/org/{org}/billing/module"), &[("comment", "")]).await?;
        let r = op.post_form(&format!("/admin/billing/modules/{org}"), &[("decision", "refuse"), ("reasons", "")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "a refusal needs reasons: {}", r.status);
        op.post_form(&format!("/admin/billing/modules/{org}"), &[("decision", "refuse"), ("reasons", "documents missing")]).await?;
        let page = owner.get(&format!("/org/{org}/billing")).await?;
        ensure!(page.text.contains("data-module=\"refused\"") && page.text.contains("documents missing"));
        let r = owner.post_form(&format!("/org/{org}/billing/module/enable"), &[("accept_terms", "1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        Ok(())
    }
}

db_test! {
    async fn a_plan_runs_out_and_restricts_the_organizer_until_it_buys_again(app: TestApp) {
        let op = operator(&app).await?;
        let r = op
            .post_form("/admin/billing/plans", &[("code", "pro"), ("name", "Pro"), ("period_days", "30"), ("webinar_rooms", "10"), ("storage_mb", "10240"), ("active_students", "1000"), ("sms_allowance", "100"), ("price", "15 000")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let plan = tabys_billing::plans::list(&app.db).await?.into_iter().next().context("plan")?;
        let (owner, org) = seller(&app, &op, "school").await?;
        let p = product(&app, &owner, org, &pairs(&course("1 000"))).await?;
        customer(&app, "s@example.kz", "school").await?;
        let limits = tabys_billing::plans::limits(&app.db, OrgId(org)).await?;
        ensure!(limits.plan == "trial" && !limits.restricted, "{limits:?}");
        app.clock.advance_seconds(8 * DAY);
        ensure!(tabys_billing::plans::limits(&app.db, OrgId(org)).await?.plan == "free");
        let owner = login(&app, "owner@school.kz").await?;
        let op = login(&app, "operator@tabys.kz").await?;
        // Not enough money: refused, nothing changes.
        let r = owner.post_form(&format!("/org/{org}/billing/plan"), &[("plan", plan.id.to_string().as_str()), ("key", "buy-1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("insufficient-funds")?));
        let w = {
            let mut tx = app.db.begin().await?;
            let w = balances::wallet(&mut tx, Book::OPERATOR, Holder::Org(OrgId(org)), app.clock_now()).await?;
            tx.commit().await?;
            w
        };
        app.fake.kaspi_pay(&format!("W{}", w.id), Money::from_tiyn(1_500_000)).await;
        let r = owner.post_form(&format!("/org/{org}/billing/plan"), &[("plan", plan.id.to_string().as_str()), ("key", "buy-2")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        ensure!(tabys_billing::plans::limits(&app.db, OrgId(org)).await?.plan == "pro");
        // A price change must be published a day ahead and leaves the paid term alone.
        let soon = (app.clock_now().plus_seconds(3_600)).to_jiff().to_zoned(tabys_core::calendar::almaty()).strftime("%Y-%m-%dT%H:%M").to_string();
        let r = op.post_form(&format!("/admin/billing/plans/{}/price", plan.id), &[("price", "20 000"), ("effective_from", soon.as_str())]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("plan-change-too-soon")?));
        let later = (app.clock_now().plus_days(2)).to_jiff().to_zoned(tabys_core::calendar::almaty()).strftime("%Y-%m-%dT%H:%M").to_string();
        let r = op.post_form(&format!("/admin/billing/plans/{}/price", plan.id), &[("price", "20 000"), ("effective_from", later.as_str())]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let terms = tabys_billing::plans::terms(&app.db, OrgId(org)).await?;
        ensure!(terms[0].price_paid == Money::from_tiyn(1_500_000));
        app.clock.advance_seconds(31 * DAY);
        let limits = tabys_billing::plans::limits(&app.db, OrgId(org)).await?;
        ensure!(limits.plan == "expired" && limits.restricted, "{limits:?}");
        // Restricted: its products cannot be ordered.
        let c = login(&app, "s@example.kz").await?;
        let r = c.post_form(&format!("/o/school/products/{p}/order"), &[("plan", "full"), ("key", "r1")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("organizer-restricted")?));
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn a_recurring_course_charges_the_saved_card_retries_and_suspends(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "monthly").await?;
        let p = product(&app, &owner, org, &[("kind", "subscription"), ("title", "Клуб"), ("price", "5 000"), ("refund_policy", "none"), ("recurring_months", "1")]).await?;
        let c = customer(&app, "r@example.kz", "monthly").await?;
        let id = order(&c, "monthly", p, "full").await?;
        pay_by_card(&app, &c, id, true).await?;
        let customer_id = user_id(&app, "r@example.kz").await?;
        let subs = tabys_billing::recurring::of_customer(&app.db, customer_id).await?;
        ensure!(subs.len() == 1 && subs[0].status == "active", "{subs:?}");
        // The next month: charged from the saved card, access extended.
        app.clock.advance_seconds(32 * DAY);
        app.run_jobs().await?;
        app.fake.settle(Duration::from_secs(10)).await;
        ensure!(tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?, "renewed");
        let paid: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND status = 'paid'").bind(customer_id.0).fetch_one(app.db.read()).await?;
        ensure!(paid == 2, "{paid} paid orders");
        // The card starts declining: three retries, then suspension.
        app.fake.set_mode(Mode { decline_tokens: true, ..Mode::default() });
        app.clock.advance_seconds(31 * DAY);
        for days in [0, 1, 3, 5] {
            app.clock.advance_seconds(days * DAY);
            app.run_jobs().await?;
        }
        let subs = tabys_billing::recurring::of_customer(&app.db, customer_id).await?;
        ensure!(subs[0].status == "suspended", "{subs:?}");
        ensure!(!tabys_billing::entitlements::has_access(&app.db, OrgId(org), customer_id, p).await?, "lapsed");
        let c = login(&app, "r@example.kz").await?;
        let r = c.post_form(&format!("/cabinet/recurring/{}/cancel", subs[0].id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER && r.location.as_deref() == Some("/cabinet/orders"), "{:?}", r.location);
        let subs = tabys_billing::recurring::of_customer(&app.db, customer_id).await?;
        ensure!(subs[0].status == "cancelled", "{subs:?}");
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn gateway_failures_and_timeouts_are_retried_until_the_payment_is_posted(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "flaky").await?;
        let p = product(&app, &owner, org, &pairs(&course("4 000"))).await?;
        let c = customer(&app, "f@example.kz", "flaky").await?;
        let id = order(&c, "flaky", p, "full").await?;
        // The re-query of the first Pay fails, the second times out; the
        // gateway sends Pay again until it is accepted.
        let r = c.post_form(&format!("/cabinet/orders/{id}/pay"), &[("method", "card"), ("key", "f1")]).await?;
        let link = r.location.context("link")?;
        app.fake.set_mode(Mode { fail_api: 1, slow_api: 1, out_of_order: true, ..Mode::default() });
        let (status, _) = app.fake.pay_link(link.rsplit('/').next().context("id")?, "4242424242424242", false).await;
        ensure!(status == StatusCode::SEE_OTHER, "{status}");
        app.fake.settle(Duration::from_secs(30)).await;
        ensure!(order_state(&app, org, id).await?.status == "paid");
        books_are_clean(&app).await?;
        Ok(())
    }
}

db_test! {
    async fn money_pages_are_closed_to_other_organizers_and_customers(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "alpha").await?;
        let (other, _) = app.organizer("owner@beta.kz", "beta").await?;
        let p = product(&app, &owner, org, &pairs(&course("1 000"))).await?;
        for path in [format!("/org/{org}/billing"), format!("/org/{org}/products"), format!("/org/{org}/sales"), format!("/org/{org}/products/{p}")] {
            let r = other.get(&path).await?;
            ensure!(r.status == StatusCode::NOT_FOUND, "{path}: {}", r.status);
        }
        let c = customer(&app, "a@example.kz", "alpha").await?;
        let id = order(&c, "alpha", p, "full").await?;
        let stranger = app.person("x@example.kz", "X").await?;
        ensure!(stranger.get(&format!("/cabinet/orders/{id}")).await?.status == StatusCode::NOT_FOUND);
        ensure!(other.get("/admin/billing").await?.status == StatusCode::NOT_FOUND);
        if stranger.get(&format!("/cabinet/orders/{id}")).await?.status.is_server_error() {
            bail!("server error");
        }
        Ok(())
    }
}

db_test! {
    async fn the_trial_credit_is_granted_once_per_bin_and_the_operator_sees_the_match(app: TestApp) {
        operator(&app).await?;
        let (_, first) = app.organizer("one@isra.kz", "isra-one").await?;
        let (_, second) = app.organizer("two@isra.kz", "isra-two").await?;
        let w1 = balances::find(&app.db, Book::OPERATOR, Holder::Org(OrgId(first))).await?.context("trial wallet")?;
        ensure!(balances::balance(&app.db, &w1).await?.bonus == Money::from_tiyn(100_000), "1000 units");
        let w2 = balances::find(&app.db, Book::OPERATOR, Holder::Org(OrgId(second))).await?.context("second wallet")?;
        ensure!(balances::balance(&app.db, &w2).await?.bonus == Money::ZERO, "no second trial for the same BIN");
        ensure!(!balances::trial_matches(&app.db, Book::OPERATOR).await?.is_empty());
        // Bonus is never paid out.
        ensure!(balances::balance(&app.db, &w1).await?.withdrawable == Money::ZERO);
        Ok(())
    }
}

db_test! {
    async fn the_json_api_places_orders_once_per_idempotency_key(app: TestApp) {
        use tabys_testkit::reqwest::Method;
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "apishop").await?;
        let p = product(&app, &owner, org, &pairs(&course("2 000"))).await?;
        let c = customer(&app, "api@example.kz", "apishop").await?;
        let body = tabys_testkit::json!({ "organizer": "apishop", "product_id": p, "plan": "full", "offer_version_id": null });
        let send = |key: Option<&'static str>| {
            let body = body.clone();
            let c = &c;
            async move {
                let token = c.csrf().await?;
                let mut headers = vec![("content-type", "application/json"), ("x-csrf-token", token.as_str())];
                if let Some(k) = key {
                    headers.push(("idempotency-key", k));
                }
                c.send(Method::POST, "/api/v1/orders", &headers, Some(body.to_string().into_bytes())).await
            }
        };
        let a = send(Some("api-key-1")).await?;
        let b = send(Some("api-key-1")).await?;
        ensure!(a.status == StatusCode::CREATED && b.status == StatusCode::CREATED, "{} {}", a.status, a.text);
        ensure!(a.json()?["id"] == b.json()?["id"]);
        let none = send(None).await?;
        ensure!(none.status == StatusCode::UNPROCESSABLE_ENTITY && none.json()?["error"]["code"] == "idempotency-key-format", "{}", none.text);
        let preview = c.api(Method::GET, &format!("/api/v1/me/orders/{}/refund", a.json()?["id"]), None).await?;
        ensure!(preview.status == StatusCode::OK && preview.json()?["rule"] == "nothing-paid", "{}", preview.text);
        let (other, _) = app.organizer("owner@other.kz", "other").await?;
        for path in [format!("/api/v1/orgs/{org}/products"), format!("/api/v1/orgs/{org}/orders"), format!("/api/v1/orgs/{org}/plan")] {
            let r = other.api(Method::GET, &path, None).await?;
            ensure!(r.status == StatusCode::NOT_FOUND, "{path}: {}", r.status);
        }
        let order_id = a.json()?["id"].clone();
        let writes = [
            (format!("/api/v1/orgs/{org}/products"), tabys_testkit::json!({ "kind": "course", "title": "x", "price": "1", "refund_policy": "none" })),
            (format!("/api/v1/orgs/{org}/orders/{order_id}/refunds"), tabys_testkit::json!({ "amount": "1", "reason": "x" })),
        ];
        for (path, body) in writes {
            let r = other.api(Method::POST, &path, Some(body)).await?;
            ensure!(r.status == StatusCode::NOT_FOUND, "{path}: {}", r.status);
        }
        ensure!(products::list(&app.db, OrgId(org), false).await?.len() == 1, "nothing was added");
        let mine = owner.api(Method::GET, &format!("/api/v1/orgs/{org}/orders"), None).await?;
        ensure!(mine.status == StatusCode::OK && mine.json()?.as_array().is_some_and(|a| a.len() == 1), "{}", mine.text);
        Ok(())
    }
}

db_test! {
    async fn a_monthly_act_is_issued_to_a_resident_organizer_and_accepted_when_unanswered(app: TestApp) {
        let op = operator(&app).await?;
        op.post_form("/admin/billing/plans", &[("code", "docs"), ("name", "Docs"), ("period_days", "30"), ("webinar_rooms", "1"), ("storage_mb", "100"), ("active_students", "10"), ("sms_allowance", "0"), ("price", "5 000")]).await?;
        let plan = tabys_billing::plans::list(&app.db).await?.into_iter().next().context("plan")?;
        let (owner, org) = app.organizer("owner@acts.kz", "acts").await?;
        let w = balances::find(&app.db, Book::OPERATOR, Holder::Org(OrgId(org))).await?.context("wallet")?;
        app.fake.kaspi_pay(&format!("W{}", w.id), Money::from_tiyn(500_000)).await;
        let r = owner.post_form(&format!("/org/{org}/billing/plan"), &[("plan", plan.id.to_string().as_str()), ("key", "acts-1")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        // 1 April, the first day of the next month.
        app.clock.advance_seconds(30 * DAY);
        tabys_billing::jobs::daily(&app.db).await?;
        let acts = tabys_billing::acts::of_holder(&app.db, Holder::Org(OrgId(org))).await?;
        ensure!(acts.len() == 1 && acts[0].period == "2026-03" && acts[0].amount == Money::from_tiyn(500_000), "{acts:?}");
        let owner = login(&app, "owner@acts.kz").await?;
        let r = owner.post_form(&format!("/org/{org}/billing/acts/{}", acts[0].id), &[("decision", "refuse"), ("reasons", "")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains(&support_msg("act-refusal-reasons")?));
        let pdf = owner.get(&format!("/org/{org}/billing/acts/{}/pdf", acts[0].id)).await?;
        ensure!(pdf.status == StatusCode::OK && pdf.text.starts_with("%PDF"));
        // Neither signed nor refused within 5 business days: accepted.
        app.clock.advance_seconds(9 * DAY);
        tabys_billing::jobs::daily(&app.db).await?;
        let acts = tabys_billing::acts::of_holder(&app.db, Holder::Org(OrgId(org))).await?;
        ensure!(acts[0].status == "accepted", "{acts:?}");
        books_are_clean(&app).await?;
        Ok(())
    }
}
