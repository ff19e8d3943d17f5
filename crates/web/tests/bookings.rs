//! Coworking and events as members and staff meet them (EX-1..EX-5): a room
//! booked and paid by card, a hold that runs out, a hundred members racing
//! for the last seat and for one room hour, refunds exactly at the 48 and
//! 24 hour edges in Almaty time, memberships, events with a waiting list
//! and QR check-in, the community feed, calendar files, the operator's
//! calendar, list and CSV, and every kind of bad input changing nothing.
//! Every test runs on SQLite and PostgreSQL.

mod support;

use std::time::Duration;

use anyhow::{Context, ensure};
use sqlx::Row;
use tabys_accounts::users::{self, NewUser};
use tabys_billing::orders::{self, ShownOffer};
use tabys_bookings::bookings::{self, BookingRequest};
use tabys_bookings::resources::{self, ResourceInput};
use tabys_bookings::{community, events};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::money::Money;
use tabys_core::{Error, Timestamp};
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, PASSWORD, TestApp, db_test};

use support::no_server_errors;

const HOUR: i64 = 3_600;

/// Runs every job that is due now: money's and bookings'.
async fn run_jobs(app: &TestApp) -> anyhow::Result<()> {
    let mut registry = tabys_store::jobs::Registry::default();
    tabys_billing::jobs::register(&mut registry, app.billing.clone());
    tabys_bookings::register(&mut registry);
    let pass = tabys_store::jobs::run_due(&app.db, &registry, 1_000).await?;
    ensure!(pass.failed == 0, "jobs failed: {pass:?}");
    Ok(())
}

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

/// Exintra with the payment module on; returns the owner's browser, the
/// organizer and the owner's id.
async fn coworking(app: &TestApp) -> anyhow::Result<(Client, i64, UserId)> {
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
    let op = login(app, "operator@tabys.kz").await?;
    let (owner, org) = app.organizer("owner@exintra.kz", "exintra").await?;
    let r = owner
        .post_form(
            &format!("/org/{org}/billing/module"),
            &[("comment", "coworking")],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "module request: {}",
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
        "module approval: {}",
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
        "module enable: {}",
        r.text
    );
    let owner_id = user_id(app, "owner@exintra.kz").await?;
    Ok((owner, org, owner_id))
}

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e).await?.context("user")?.id)
}

async fn member(app: &TestApp, email: &str) -> anyhow::Result<(Client, UserId)> {
    let c = app.person(email, "Данияр").await?;
    c.post_form("/o/exintra/join", &[("adult", "1")]).await?;
    Ok((c, user_id(app, email).await?))
}

/// The meeting room, created through the operator's form: 09–21, closed on
/// Sundays and holidays, 5 000 ₸ an hour, one booking per member at a time.
async fn room(app: &TestApp, owner: &Client, org: i64) -> anyhow::Result<resources::Resource> {
    let r = owner
        .post_form(
            &format!("/org/{org}/bookings"),
            &[
                ("kind", "meeting-room"),
                ("title", "Переговорная «Тобыл»"),
                ("capacity", "8"),
                ("open_hour", "9"),
                ("close_hour", "21"),
                ("closed_weekdays", "7"),
                ("use_holidays", "1"),
                ("one_per_member", "1"),
                ("price_hour", "5 000"),
                ("taxes", "included"),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "room: {} {}",
        r.status,
        r.text
    );
    resources::list(&app.db, OrgId(org), false)
        .await?
        .into_iter()
        .find(|r| r.kind == "meeting-room")
        .context("room")
}

async fn zone(
    app: &TestApp,
    org: i64,
    owner: UserId,
    seats: i64,
) -> anyhow::Result<resources::Resource> {
    let input = ResourceInput {
        kind: "hot-desk".into(),
        title: "Open space".into(),
        seats: seats.to_string(),
        open_hour: "9".into(),
        close_hour: "21".into(),
        price_hour: "1 000".into(),
        price_day: "6 000".into(),
        ..ResourceInput::default()
    };
    Ok(resources::create(&app.db, OrgId(org), owner, input.parse()?).await?)
}

/// 2026-03-03 (Tuesday), a working day the day after test time starts.
const DAY: &str = "2026-03-03";
/// 2026-03-05 (Thursday), far enough ahead for a reminder a day before.
const LATER: &str = "2026-03-05";

fn hour(date: &str, start: &str, hours: &str) -> BookingRequest {
    BookingRequest {
        date: date.into(),
        start: start.into(),
        unit: "hour".into(),
        hours: hours.into(),
    }
}

/// Books through the member's page; returns the booking and where the page went.
async fn book_page(
    app: &TestApp,
    c: &Client,
    resource: i64,
    req: &BookingRequest,
) -> anyhow::Result<(Option<bookings::Booking>, tabys_testkit::Reply)> {
    let before: i64 = count(app, "SELECT COUNT(*) FROM bookings").await?;
    let r = c
        .post_form(
            &format!("/o/exintra/bookings/resources/{resource}/book"),
            &[
                ("date", req.date.as_str()),
                ("start", req.start.as_str()),
                ("unit", req.unit.as_str()),
                ("hours", req.hours.as_str()),
            ],
        )
        .await?;
    let after = count(app, "SELECT COUNT(*) FROM bookings").await?;
    if after == before {
        return Ok((None, r));
    }
    let id: i64 = sqlx::query_scalar("SELECT MAX(id) FROM bookings")
        .fetch_one(app.db.read())
        .await?;
    Ok((Some(bookings::get_any(&app.db, id).await?), r))
}

async fn count(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(app.db.read()).await?)
}

/// Pays an order by card at the gateway's page and waits for its messages.
async fn pay_by_card(app: &TestApp, c: &Client, order: i64) -> anyhow::Result<()> {
    let key = tabys_store::token::random_token()[..8].to_string();
    let r = c
        .post_form(
            &format!("/cabinet/orders/{order}/pay"),
            &[("method", "card"), ("key", key.as_str())],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "pay: {} {}",
        r.status,
        r.text
    );
    let link = r.location.context("gateway link")?;
    let id = link.rsplit('/').next().context("link id")?.to_string();
    let (status, text) = app.fake.pay_link(&id, "4242 4242 4242 4242", false).await;
    ensure!(
        status == StatusCode::SEE_OTHER,
        "gateway page: {status} {text}"
    );
    app.fake.settle(Duration::from_secs(20)).await;
    Ok(())
}

/// Members inserted directly (they never sign in), for the races.
async fn quiet_members(app: &TestApp, tag: &str, n: usize) -> anyhow::Result<Vec<UserId>> {
    let mut out = Vec::with_capacity(n);
    let mut tx = app.db.begin().await?;
    for i in 0..n {
        let row = sqlx::query(
            "INSERT INTO users (email, password_hash, name, locale, is_operator, status, created_at, updated_at)
             VALUES ($1, 'x', $2, 'ru', 0, 'active', 0, 0) RETURNING id",
        )
        .bind(format!("{tag}{i}@example.kz"))
        .bind(format!("Racer {i}"))
        .fetch_one(&mut *tx)
        .await?;
        out.push(UserId(row.try_get(0)?));
    }
    tx.commit().await?;
    Ok(out)
}

/// Fires one booking attempt per member at once; returns how many succeeded.
async fn race(
    app: &TestApp,
    org: i64,
    resource: i64,
    who: Vec<UserId>,
    req: BookingRequest,
) -> anyhow::Result<usize> {
    let mut tasks = Vec::new();
    for user in who {
        let db = app.db.clone();
        let req = req.clone();
        tasks.push(tokio::spawn(async move {
            bookings::book(
                &db,
                OrgId(org),
                user,
                resource,
                &req,
                &ShownOffer::default(),
            )
            .await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await? {
            Ok(_) => ok += 1,
            Err(Error::Conflict("booking-slot-taken")) => {}
            Err(e) => anyhow::bail!("an attempt failed otherwise: {e}"),
        }
    }
    Ok(ok)
}

db_test! {
    async fn a_room_booked_and_paid_by_card_is_confirmed_and_a_later_price_change_does_not_touch_it(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let (c, _) = member(&app, "member@example.kz").await?;
        let page = c.get(&format!("/o/exintra/bookings/resources/{}?date={DAY}", room.id)).await?;
        ensure!(page.status == StatusCode::OK && page.text.contains("data-hour=\"10\" data-free=\"1\""), "{}", page.text);
        let (b, r) = book_page(&app, &c, room.id, &hour(DAY, "10:00", "2")).await?;
        let b = b.context("no booking")?;
        ensure!(b.status == "held" && b.price == Money::from_tiyn(1_000_000), "{b:?}");
        let order = b.order_id.context("order")?;
        ensure!(r.location.as_deref() == Some(format!("/cabinet/orders/{order}").as_str()), "{:?}", r.location);
        // While held, the hours are taken for everybody else.
        let page = c.get(&format!("/o/exintra/bookings/resources/{}?date={DAY}", room.id)).await?;
        ensure!(page.text.contains("data-hour=\"10\" data-free=\"0\""), "{}", page.text);
        // The price changes before the member pays: the order keeps the booked price (EX §6).
        let mut input = room.input();
        input.price_hour = "9 000".into();
        resources::update(&app.db, OrgId(org), user_id(&app, "owner@exintra.kz").await?, room.id, input.parse()?).await?;
        pay_by_card(&app, &c, order).await?;
        let page = c.get(&format!("/cabinet/bookings/{}", b.id)).await?;
        ensure!(page.text.contains("data-status=\"confirmed\"") && page.text.contains("data-price=\"1000000\""), "{}", page.text);
        let o = orders::get(&app.db, OrgId(org), order).await?;
        ensure!(o.status == "paid" && o.paid == Money::from_tiyn(1_000_000), "{o:?}");
        // The calendar file of the booking.
        let ics = c.get(&format!("/cabinet/bookings/{}/ics", b.id)).await?;
        ensure!(ics.text.starts_with("BEGIN:VCALENDAR\r\n") && ics.text.contains("DTSTART:20260303T050000Z\r\n"), "{}", ics.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_unpaid_hold_runs_out_the_order_is_void_and_the_place_returns(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let (a, _) = member(&app, "a@example.kz").await?;
        let (b, _) = member(&app, "b@example.kz").await?;
        let (held, _) = book_page(&app, &a, room.id, &hour(DAY, "12", "1")).await?;
        let held = held.context("held")?;
        let (none, r) = book_page(&app, &b, room.id, &hour(DAY, "12", "1")).await?;
        ensure!(none.is_none() && r.text.contains("data-error"), "{}", r.text);
        app.clock.advance_seconds(bookings::HOLD_MINUTES * 60 - 1);
        run_jobs(&app).await?;
        ensure!(bookings::get_any(&app.db, held.id).await?.status == "held");
        app.clock.advance_seconds(1);
        run_jobs(&app).await?;
        let gone = bookings::get_any(&app.db, held.id).await?;
        ensure!(gone.status == "expired", "{gone:?}");
        let o = orders::get(&app.db, OrgId(org), gone.order_id.context("order")?).await?;
        ensure!(o.status == "void", "{o:?}");
        let (again, _) = book_page(&app, &b, room.id, &hour(DAY, "12", "1")).await?;
        ensure!(again.is_some_and(|x| x.status == "held"), "the place did not return");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_hundred_and_twenty_members_racing_for_the_last_seat_and_one_room_hour_get_exactly_one_each(app: TestApp) {
        let (owner, org, owner_id) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let zone = zone(&app, org, owner_id, 5).await?;
        // Four of the zone's five seats are taken already.
        let first = quiet_members(&app, "early", 4).await?;
        ensure!(race(&app, org, zone.id, first, hour(DAY, "14", "2")).await? == 4);
        let racers = quiet_members(&app, "racer", 244).await?;
        let (for_zone, for_room) = racers.split_at(122);
        let won = race(&app, org, zone.id, for_zone[2..].to_vec(), hour(DAY, "15", "1")).await?;
        ensure!(won == 1, "{won} members got the last seat");
        let won = race(&app, org, room.id, for_room[2..].to_vec(), hour(DAY, "15", "3")).await?;
        ensure!(won == 1, "{won} members got the room");
        for (resource, seats) in [(zone.id, 5), (room.id, 1)] {
            let rows = sqlx::query(
                "SELECT b.starts_at, COUNT(*) FROM bookings b WHERE b.resource_id = $1 AND b.status IN ('held', 'confirmed') GROUP BY b.starts_at",
            )
            .bind(resource)
            .fetch_all(app.db.read())
            .await?;
            for r in rows {
                let n: i64 = r.try_get(1)?;
                ensure!(n <= seats, "{n} bookings on {seats} seats");
            }
            let over: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM booking_slots WHERE resource_id = $1 AND taken > $2")
                .bind(resource)
                .bind(seats)
                .fetch_one(app.db.read())
                .await?;
            ensure!(over == 0);
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn refunds_follow_the_tiers_exactly_at_48_and_24_hours_before_the_start_in_almaty(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let (c, me) = member(&app, "member@example.kz").await?;
        // 2026-03-05 10:00 Almaty = 05:00 UTC.
        let (b, _) = book_page(&app, &c, room.id, &hour("2026-03-05", "10", "1")).await?;
        let b = b.context("booking")?;
        pay_by_card(&app, &c, b.order_id.context("order")?).await?;
        bookings::settle(&app.db, b.id).await?;
        let start = b.starts_at;
        ensure!(start == 1_772_686_800_000, "start {start}");
        let at = |ms: i64| app.clock.set(Timestamp(ms));
        for (before_ms, refund) in [
            (48 * HOUR * 1000 + 1, 500_000),
            (48 * HOUR * 1000, 250_000),
            (24 * HOUR * 1000 + 1, 250_000),
            (24 * HOUR * 1000, 0),
            (1, 0),
        ] {
            at(start - before_ms);
            let mine = bookings::get_own(&app.db, me, b.id).await?;
            let p = bookings::cancel_preview(&app.db, me, &mine).await?;
            ensure!(p.refund == Money::from_tiyn(refund), "{before_ms} ms before: {p:?}");
            ensure!(p.refund.tiyn() + p.kept.tiyn() == 500_000);
        }
        // Cancelled 30 hours before: half back, through the money capability, and the hour is free.
        at(start - 30 * HOUR * 1000);
        let c = login(&app, "member@example.kz").await?;
        let page = c.get(&format!("/cabinet/bookings/{}", b.id)).await?;
        ensure!(page.text.contains("data-refund-preview=\"250000\""), "{}", page.text);
        let r = c.post_form(&format!("/cabinet/bookings/{}/cancel", b.id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let done = bookings::get_any(&app.db, b.id).await?;
        ensure!(done.status == "cancelled" && done.refunded == Money::from_tiyn(250_000), "{done:?}");
        let o = orders::get(&app.db, OrgId(org), done.order_id.context("order")?).await?;
        ensure!(o.refunded == Money::from_tiyn(250_000) && o.status == "refunded", "{o:?}");
        app.fake.settle(Duration::from_secs(20)).await;
        let refunded: i64 = count(&app, "SELECT COUNT(*) FROM refunds WHERE status = 'done' AND amount = 250000").await?;
        ensure!(refunded == 1);
        let free: i64 = sqlx::query_scalar("SELECT taken FROM booking_slots WHERE resource_id = $1 AND slot_start = $2")
            .bind(room.id).bind(start).fetch_one(app.db.read()).await?;
        ensure!(free == 0);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_member_with_an_active_membership_books_workplaces_without_paying(app: TestApp) {
        let (owner, org, owner_id) = coworking(&app).await?;
        let r = owner
            .post_form(
                &format!("/org/{org}/products"),
                &[("kind", "subscription"), ("title", "Абонемент"), ("price", "45 000"), ("recurring_months", "1"), ("refund_policy", "none")],
            )
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let membership = tabys_billing::products::list(&app.db, OrgId(org), false).await?.into_iter().find(|p| p.kind == "subscription").context("membership")?;
        let mut input = zone(&app, org, owner_id, 10).await?.input();
        input.membership_product_id = membership.id.to_string();
        let zone = resources::list(&app.db, OrgId(org), false).await?.into_iter().find(|r| r.kind == "hot-desk").context("zone")?;
        let zone = resources::update(&app.db, OrgId(org), owner_id, zone.id, input.parse()?).await?;
        let (c, me) = member(&app, "member@example.kz").await?;
        let r = c.post_form(&format!("/o/exintra/products/{}/order", membership.id), &[("plan", "full"), ("key", "m1")]).await?;
        let order: i64 = r.location.as_deref().and_then(|l| l.strip_prefix("/cabinet/orders/")).and_then(|s| s.parse().ok()).context("order")?;
        pay_by_card(&app, &c, order).await?;
        let (b, _) = book_page(&app, &c, zone.id, &BookingRequest { date: DAY.into(), unit: "day".into(), ..BookingRequest::default() }).await?;
        let b = b.context("booking")?;
        ensure!(b.status == "confirmed" && b.via == "membership" && b.order_id.is_none(), "{b:?}");
        // EX §6: a monthly membership is not refunded once the month started.
        let (_, p) = tabys_billing::refund::preview_own(&app.db, me, order).await?;
        ensure!(p.refund == Money::ZERO, "{p:?}");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn bad_bookings_get_clear_errors_and_change_nothing(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let (a, a_id) = member(&app, "a@example.kz").await?;
        let (b, b_id) = member(&app, "b@example.kz").await?;
        let (mine, _) = book_page(&app, &a, room.id, &hour(DAY, "10", "2")).await?;
        let mine = mine.context("first booking")?;
        let cases = [
            (hour("2026-03-02", "10", "1"), "booking-in-past"),
            (hour(DAY, "8", "1"), "booking-outside-hours"),
            (hour(DAY, "20", "2"), "booking-outside-hours"),
            (hour("2026-03-08", "10", "1"), "booking-closed-day"),
            (hour("2026-03-09", "10", "1"), "booking-closed-day"),
            (BookingRequest { date: DAY.into(), unit: "day".into(), ..BookingRequest::default() }, "booking-unit-not-offered"),
            (BookingRequest { date: DAY.into(), start: "10".into(), unit: "half-day".into(), ..BookingRequest::default() }, "booking-unit-not-offered"),
        ];
        let slots_before = count(&app, "SELECT CAST(COALESCE(SUM(taken), 0) AS BIGINT) FROM booking_slots").await?;
        for (req, code) in &cases {
            let (made, r) = book_page(&app, &a, room.id, req).await?;
            ensure!(made.is_none() && r.status == StatusCode::OK && r.text.contains("data-error"), "{code}: {}", r.text);
            match bookings::book(&app.db, OrgId(org), b_id, room.id, req, &ShownOffer::default()).await {
                Err(e) => ensure!(e.code() == *code, "{code}: got {}", e.code()),
                Ok(x) => anyhow::bail!("{code}: booked {x:?}"),
            }
        }
        // Overlapping one's own booking where the room forbids it: a second
        // room of one seat per hour cannot show it, so the zone of two seats
        // that forbids overlaps does.
        let mut input = room.input();
        input.kind = "hot-desk".into();
        input.title = "Тихая зона".into();
        input.seats = "2".into();
        let quiet = resources::create(&app.db, OrgId(org), user_id(&app, "owner@exintra.kz").await?, input.parse()?).await?;
        bookings::book(&app.db, OrgId(org), a_id, quiet.id, &hour(DAY, "10", "2"), &ShownOffer::default()).await?;
        match bookings::book(&app.db, OrgId(org), a_id, quiet.id, &hour(DAY, "11", "1"), &ShownOffer::default()).await {
            Err(e) => ensure!(e.code() == "booking-overlaps-own", "{}", e.code()),
            Ok(x) => anyhow::bail!("overlap booked {x:?}"),
        }
        ensure!(bookings::book(&app.db, OrgId(org), b_id, quiet.id, &hour(DAY, "11", "1"), &ShownOffer::default()).await.is_ok(), "another member was refused");
        let slots_after = count(&app, "SELECT CAST(COALESCE(SUM(taken), 0) AS BIGINT) FROM booking_slots").await?;
        ensure!(slots_after == slots_before + 2 + 1, "{slots_before} → {slots_after}");
        // Cancelling someone else's booking: not found, and it stays.
        let r = b.post_form(&format!("/cabinet/bookings/{}/cancel", mine.id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        ensure!(bookings::cancel(&app.db, b_id, mine.id).await.is_err_and(|e| matches!(e, Error::NotFound)));
        ensure!(bookings::get_any(&app.db, mine.id).await?.status == "held");
        // Cancelling twice: the second is refused.
        bookings::cancel(&app.db, a_id, mine.id).await?;
        ensure!(bookings::cancel(&app.db, a_id, mine.id).await.is_err_and(|e| e.code() == "booking-not-active"));
        no_server_errors(&app).await
    }
}

async fn event(
    app: &TestApp,
    org: i64,
    owner: UserId,
    capacity: i64,
    price: &str,
) -> anyhow::Result<(events::Event, i64)> {
    let input = events::EventInput {
        title: "Нетворкинг".into(),
        starts_at: "2026-03-10T18:00".into(),
        hours: "2".into(),
        online_url: "https://meet.example.kz/x".into(),
        capacity: capacity.to_string(),
        questions: "Чем вы занимаетесь?".into(),
        ..events::EventInput::default()
    };
    let e = events::create(&app.db, OrgId(org), owner, input.parse(app.db.now())?).await?;
    let t = events::add_ticket_type(&app.db, OrgId(org), owner, e.id, "Участник", price).await?;
    Ok((e, t.id))
}

async fn register(
    c: &Client,
    event: i64,
    ty: i64,
    answer: &str,
) -> anyhow::Result<tabys_testkit::Reply> {
    c.post_form(
        &format!("/o/exintra/events/{event}/register"),
        &[
            ("ticket_type", ty.to_string().as_str()),
            ("answer_0", answer),
        ],
    )
    .await
}

db_test! {
    async fn the_waiting_list_moves_up_when_a_place_frees_and_the_promoted_member_is_told(app: TestApp) {
        let (_, org, owner) = coworking(&app).await?;
        let (e, ty) = event(&app, org, owner, 1, "").await?;
        let (a, a_id) = member(&app, "a@example.kz").await?;
        let (b, b_id) = member(&app, "b@example.kz").await?;
        let r = register(&a, e.id, ty, "").await?;
        ensure!(r.status == StatusCode::OK && r.text.contains("data-error"), "an unanswered question was accepted");
        let r = register(&a, e.id, ty, "Дизайн").await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = register(&b, e.id, ty, "Маркетинг").await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = register(&b, e.id, ty, "Маркетинг").await?;
        ensure!(r.text.contains("data-error"), "registered twice");
        let tickets = events::attendees(&app.db, OrgId(org), e.id).await?;
        let ta = tickets.iter().find(|t| t.user_id == a_id).context("a")?;
        let tb = tickets.iter().find(|t| t.user_id == b_id).context("b")?;
        ensure!(ta.status == "confirmed" && tb.status == "waiting", "{tickets:?}");
        let r = a.post_form(&format!("/cabinet/tickets/{}/cancel", ta.id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let tb = events::ticket_any(&app.db, tb.id).await?;
        ensure!(tb.status == "confirmed", "{tb:?}");
        ensure!(events::get(&app.db, OrgId(org), e.id).await?.taken == 1);
        let told: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND locale_key = 'notify-booking-promoted'")
            .bind(b_id.0).fetch_one(app.db.read()).await?;
        ensure!(told == 1);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_paid_ticket_is_checked_in_once_by_its_qr_code_and_other_codes_are_refused(app: TestApp) {
        let (owner, org, owner_id) = coworking(&app).await?;
        let (e, ty) = event(&app, org, owner_id, 10, "5 000").await?;
        let (other, other_ty) = event(&app, org, owner_id, 10, "").await?;
        let (c, me) = member(&app, "member@example.kz").await?;
        let r = register(&c, e.id, ty, "Финансы").await?;
        let order: i64 = r.location.as_deref().and_then(|l| l.strip_prefix("/cabinet/orders/")).and_then(|s| s.parse().ok()).context("order")?;
        pay_by_card(&app, &c, order).await?;
        let t = events::tickets_of_user(&app.db, me).await?.into_iter().find(|t| t.event_id == e.id).context("ticket")?;
        let page = c.get(&format!("/cabinet/tickets/{}", t.id)).await?;
        ensure!(page.text.contains("data-status=\"confirmed\"") && page.text.contains("data-qr"), "{}", page.text);
        let svg = c.get(&format!("/cabinet/tickets/{}/qr.svg", t.id)).await?;
        ensure!(svg.status == StatusCode::OK && svg.text.contains("<svg"), "{}", svg.status);
        let r = register(&c, other.id, other_ty, "Финансы").await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let t2 = events::tickets_of_user(&app.db, me).await?.into_iter().find(|t| t.event_id == other.id).context("ticket")?;
        // The QR code opens the staff page with the code.
        let page = owner.get(&format!("/org/{org}/bookings/events/{}/check-in?code={}", e.id, t.code)).await?;
        ensure!(page.text.contains(&format!("data-ticket=\"{}\"", t.id)), "{}", page.text);
        let checkin = |code: String| {
            let owner = &owner;
            let path = format!("/org/{org}/bookings/events/{}/check-in", e.id);
            async move { owner.post_form(&path, &[("code", code.as_str())]).await }
        };
        let r = checkin(t2.code.clone()).await?;
        ensure!(r.text.contains("data-error") && !r.text.contains("data-checked-in"), "another event's code: {}", r.text);
        let r = checkin("nonsense".into()).await?;
        ensure!(r.text.contains("data-error"), "{}", r.text);
        let r = checkin(t.code.clone()).await?;
        ensure!(r.text.contains(&format!("data-checked-in=\"{}\"", t.id)), "{}", r.text);
        let r = checkin(t.code.clone()).await?;
        ensure!(r.text.contains("data-error") && !r.text.contains("data-checked-in"), "used twice: {}", r.text);
        for (code, expected) in [(t2.code.clone(), "checkin-other-event"), (t.code.clone(), "checkin-already-used"), ("x".into(), "checkin-unknown-code")] {
            match events::check_in(&app.db, OrgId(org), owner_id, e.id, &code).await {
                Err(err) => ensure!(err.code() == expected, "{expected}: {}", err.code()),
                Ok(x) => anyhow::bail!("{expected}: checked in {x:?}"),
            }
        }
        ensure!(events::ticket_any(&app.db, t2.id).await?.checked_in_at.is_none());
        no_server_errors(&app).await
    }
}

db_test! {
    async fn members_post_and_report_staff_remove_without_a_reason_and_a_blocked_member_can_neither_post_nor_book(app: TestApp) {
        let (owner, org, owner_id) = coworking(&app).await?;
        let zone = zone(&app, org, owner_id, 3).await?;
        let (a, a_id) = member(&app, "a@example.kz").await?;
        let (b, _) = member(&app, "b@example.kz").await?;
        let r = a.post_form("/o/exintra/community", &[("body", "Ищу дизайнера")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let post = community::feed(&app.db, OrgId(org), false).await?.first().context("post")?.id;
        let r = b.post_form(&format!("/o/exintra/community/{post}/comment"), &[("body", "Я дизайнер")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let r = b.post_form(&format!("/o/exintra/community/{post}/report"), &[("reason", "реклама")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let r = b.post_form(&format!("/o/exintra/community/{post}/report"), &[("reason", "реклама")]).await?;
        ensure!(r.text.contains("data-error"), "reported twice");
        let page = owner.get(&format!("/org/{org}/community")).await?;
        ensure!(page.text.contains("data-reports=\"1\""), "{}", page.text);
        let r = owner.post_form(&format!("/org/{org}/community/posts/{post}/remove"), &[("reason", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        ensure!(community::feed(&app.db, OrgId(org), false).await?.is_empty());
        let removed: i64 = count(&app, "SELECT COUNT(*) FROM audit_log WHERE action = 'community.post-removed'").await?;
        ensure!(removed == 1);
        let r = owner.post_form(&format!("/org/{org}/community/block"), &[("user", a_id.0.to_string().as_str()), ("reason", "спам")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let r = a.post_form("/o/exintra/community", &[("body", "Снова я")]).await?;
        ensure!(r.text.contains("data-error") || r.text.contains("data-blocked"), "{}", r.text);
        ensure!(community::feed(&app.db, OrgId(org), false).await?.is_empty());
        let (made, r) = book_page(&app, &a, zone.id, &hour(DAY, "10", "1")).await?;
        ensure!(made.is_none() && r.text.contains("data-error"), "a blocked member booked");
        // Staff cannot be blocked; an outsider is not found.
        ensure!(community::block(&app.db, OrgId(org), owner_id, owner_id, "").await.is_err_and(|e| e.code() == "community-block-staff"));
        no_server_errors(&app).await
    }
}

db_test! {
    async fn the_operator_sees_occupancy_a_filtered_list_and_a_csv_and_members_get_reminders_and_a_feed(app: TestApp) {
        let (owner, org, owner_id) = coworking(&app).await?;
        let zone = zone(&app, org, owner_id, 3).await?;
        let (c, me) = member(&app, "member@example.kz").await?;
        let (b, _) = book_page(&app, &c, zone.id, &hour(LATER, "10", "2")).await?;
        let b = b.context("booking")?;
        pay_by_card(&app, &c, b.order_id.context("order")?).await?;
        bookings::settle(&app.db, b.id).await?;
        let page = owner.get(&format!("/org/{org}/bookings/calendar?date={LATER}")).await?;
        ensure!(page.text.contains("data-hour=\"10\" data-taken=\"1\"") && page.text.contains("data-hour=\"12\" data-taken=\"0\""), "{}", page.text);
        let page = owner.get(&format!("/org/{org}/bookings/list?status=confirmed&from={LATER}&to={LATER}")).await?;
        ensure!(page.text.contains(&format!("data-booking=\"{}\"", b.id)), "{}", page.text);
        let page = owner.get(&format!("/org/{org}/bookings/list?status=cancelled")).await?;
        ensure!(!page.text.contains(&format!("data-booking=\"{}\"", b.id)));
        let page = owner.get(&format!("/org/{org}/bookings/list?from=garbage")).await?;
        ensure!(page.status == StatusCode::OK && page.text.contains("data-error"));
        let csv = owner.get(&format!("/org/{org}/bookings/export.csv?status=confirmed")).await?;
        ensure!(csv.text.starts_with("id,resource,member") && csv.text.contains(&format!("{},\"Open space\",\"Данияр\",\"member@example.kz\",{LATER},10:00,12:00", b.id)), "{}", csv.text);
        // The reminder comes a day before, once.
        app.clock.set(Timestamp(b.starts_at - bookings::REMIND_BEFORE_MS - 1000));
        run_jobs(&app).await?;
        let early: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'booking.reminder'")
            .bind(me.0).fetch_one(app.db.read()).await?;
        ensure!(early == 0, "reminded too early");
        app.clock.set(Timestamp(b.starts_at - bookings::REMIND_BEFORE_MS));
        run_jobs(&app).await?;
        run_jobs(&app).await?;
        let reminded: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE user_id = $1 AND kind = 'booking.reminder'")
            .bind(me.0).fetch_one(app.db.read()).await?;
        ensure!(reminded == 1, "{reminded} reminders");
        // The member's calendar feed behind a secret link.
        let c = login(&app, "member@example.kz").await?;
        let page = c.post_form("/cabinet/bookings/calendar-link", &[("x", "")]).await?;
        let url = page.text.split("data-feed-url>").nth(1).and_then(|s| s.split('<').next()).context("feed url")?.to_string();
        let path = url.split_once("/calendar/").map(|(_, t)| format!("/calendar/{t}")).context("path")?;
        let feed = app.client()?.get(&path).await?;
        ensure!(feed.status == StatusCode::OK && feed.text.contains(&format!("UID:booking-{}@", b.id)), "{}", feed.text);
        let wrong = app.client()?.get(&format!("/calendar/{}.ics", "0".repeat(64))).await?;
        ensure!(wrong.status == StatusCode::NOT_FOUND);
        no_server_errors(&app).await
    }
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0x00, 0x01, 0x00, 0x00,
    0x05, 0x00, 0x01, 0x0d, 0x0a, 0x2d, 0xb4, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e, 0x44, 0xae,
    0x42, 0x60, 0x82,
];

db_test! {
    async fn a_resource_shows_a_photo_from_the_organizers_pictures_and_nothing_else_is_accepted(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        for (name, bytes) in [("room.png", PNG), ("notes.txt", "just text".as_bytes())] {
            let r = owner.upload(&format!("/org/{org}/files/upload"), &[], name, bytes).await?;
            ensure!(r.status == StatusCode::SEE_OTHER, "upload {name}: {} {}", r.status, r.text);
        }
        let files = tabys_files::list(&app.db, OrgId(org), 10).await?;
        let png = files.iter().find(|f| f.name == "room.png").context("png")?.id;
        let txt = files.iter().find(|f| f.name == "notes.txt").context("txt")?.id;
        let page = owner.get(&format!("/org/{org}/bookings/resources/{}", room.id)).await?;
        ensure!(page.text.contains(&format!("<option value=\"{png}\"")) && !page.text.contains(&format!("<option value=\"{txt}\"")), "{}", page.text);
        let mut form: Vec<(&str, String)> = vec![
            ("kind", "meeting-room".into()), ("title", room.title.clone()), ("capacity", "8".into()),
            ("open_hour", "9".into()), ("close_hour", "21".into()), ("price_hour", "5 000".into()),
        ];
        form.push(("photo_file_id", txt.to_string()));
        let r = owner.post_form(&format!("/org/{org}/bookings/resources/{}", room.id), &form).await?;
        ensure!(r.status == StatusCode::OK && r.text.contains("data-error-for=\"photo_file_id\""), "a text file became a photo: {}", r.text);
        ensure!(resources::get(&app.db, OrgId(org), room.id).await?.photo_file_id.is_none());
        form.pop();
        form.push(("photo_file_id", png.to_string()));
        let r = owner.post_form(&format!("/org/{org}/bookings/resources/{}", room.id), &form).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{}", r.text);
        let (c, _) = member(&app, "member@example.kz").await?;
        let page = c.get(&format!("/o/exintra/bookings/resources/{}", room.id)).await?;
        let src = page.text.split("<img src=\"").nth(1).and_then(|s| s.split('"').next()).context("photo")?.to_string();
        let img = c.get(&src).await?;
        ensure!(img.status == StatusCode::OK, "{}", img.status);
        // Another organizer's picture cannot be chosen.
        let (other, other_org) = app.organizer("owner@other.kz", "other").await?;
        let r = other.upload(&format!("/org/{other_org}/files/upload"), &[], "x.png", PNG).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        let foreign = tabys_files::list(&app.db, OrgId(other_org), 10).await?.first().context("foreign")?.id;
        form.pop();
        form.push(("photo_file_id", foreign.to_string()));
        let r = owner.post_form(&format!("/org/{org}/bookings/resources/{}", room.id), &form).await?;
        ensure!(r.text.contains("data-error-for=\"photo_file_id\""), "another organizer's picture was taken");
        ensure!(resources::get(&app.db, OrgId(org), room.id).await?.photo_file_id == Some(png));
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_card_payment_finishing_after_the_hold_ran_out_never_pays_for_a_place_that_is_gone(app: TestApp) {
        let (owner, org, _) = coworking(&app).await?;
        let room = room(&app, &owner, org).await?;
        let (c, me) = member(&app, "late@example.kz").await?;
        let (b, _) = book_page(&app, &c, room.id, &hour(DAY, "16", "1")).await?;
        let b = b.context("booking")?;
        let order = b.order_id.context("order")?;
        // The member opens the gateway's page while the hold is on…
        let r = c.post_form(&format!("/cabinet/orders/{order}/pay"), &[("method", "card"), ("key", "late-1")]).await?;
        let link = r.location.context("gateway link")?;
        let id = link.rsplit('/').next().context("link id")?.to_string();
        // …and pays only after it ran out and the place went back.
        app.clock.advance_seconds(bookings::HOLD_MINUTES * 60);
        run_jobs(&app).await?;
        ensure!(bookings::get_any(&app.db, b.id).await?.status == "expired");
        app.fake.pay_link(&id, "4242 4242 4242 4242", false).await;
        app.fake.settle(Duration::from_secs(20)).await;
        let o = orders::get(&app.db, OrgId(org), order).await?;
        ensure!(o.status == "void" && o.paid == Money::ZERO, "{o:?}");
        let b = bookings::settle(&app.db, b.id).await?;
        ensure!(b.status == "expired", "{b:?}");
        // The gateway's Check was answered "the order can no longer be paid",
        // so nothing was charged; had it been, it would be on the balance.
        let completed: i64 = sqlx::query_scalar("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payments WHERE status = 'completed'")
            .fetch_one(app.db.read()).await?;
        let balance = match tabys_billing::balances::find(&app.db, tabys_billing::Book::org(OrgId(org)), tabys_billing::Holder::User(me)).await? {
            Some(w) => tabys_billing::balances::balance(&app.db, &w).await?.main.tiyn(),
            None => 0,
        };
        ensure!(completed == 0 && balance == 0, "charged {completed}, on the balance {balance}");
        let free: i64 = sqlx::query_scalar("SELECT taken FROM booking_slots WHERE resource_id = $1 AND slot_start = $2")
            .bind(room.id).bind(b.starts_at).fetch_one(app.db.read()).await?;
        ensure!(free == 0);
        no_server_errors(&app).await
    }
}
