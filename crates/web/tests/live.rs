//! Webinar rooms as organizers and participants meet them over HTTP and
//! WebSocket, on both databases: rooms within the plan's limit, webinars
//! with registration and reminders, chat both ways with moderation, rate
//! limits and bad frames, reconnect with resync, scenario recording and its
//! replay by an autowebinar under the injected clock, CSV import, banners
//! and analytics.

mod support;

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use futures_util::{SinkExt, StreamExt};
use tabys_core::ids::OrgId;
use tabys_live::{scenario, webinars};
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, Reply, TestApp, Value, db_test};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use support::{msg, not_500, shows};

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A participant's socket.
struct Ws(Stream);

impl Ws {
    async fn send(&mut self, v: Value) -> anyhow::Result<()> {
        self.0.send(Message::Text(v.to_string().into())).await?;
        Ok(())
    }

    async fn send_raw(&mut self, text: String) -> anyhow::Result<()> {
        self.0.send(Message::Text(text.into())).await?;
        Ok(())
    }

    /// The next frame for which `want` is true; frames before it are skipped.
    async fn until(&mut self, what: &str, want: impl Fn(&Value) -> bool) -> anyhow::Result<Value> {
        let wait = async {
            while let Some(m) = self.0.next().await {
                if let Message::Text(t) = m? {
                    let v: Value = serde_json::from_str(t.as_str())?;
                    if want(&v) {
                        return Ok(v);
                    }
                }
            }
            bail!("socket closed while waiting for {what}")
        };
        tokio::time::timeout(Duration::from_secs(15), wait)
            .await
            .with_context(|| format!("no frame {what}"))?
    }

    async fn kind(&mut self, t: &str) -> anyhow::Result<Value> {
        let t2 = t.to_string();
        self.until(t, move |v| v["t"] == t2.as_str()).await
    }

    async fn message(&mut self, text: &str) -> anyhow::Result<Value> {
        let t = text.to_string();
        self.until(text, move |v| v["t"] == "msg" && v["text"] == t.as_str())
            .await
    }
}

/// Opens a socket with the browser's cookies; an HTTP refusal comes back as its status.
async fn connect(app: &TestApp, c: &Client, path: &str) -> anyhow::Result<Result<Ws, StatusCode>> {
    let url = format!("{}{path}", app.base.replacen("http://", "ws://", 1));
    let mut req = url.into_client_request()?;
    let cookies: Vec<String> = ["sid", "csrf", "lg"]
        .iter()
        .filter_map(|n| c.cookie(n).map(|v| format!("{n}={v}")))
        .collect();
    if !cookies.is_empty() {
        req.headers_mut()
            .insert("cookie", cookies.join("; ").parse()?);
    }
    match tokio_tungstenite::connect_async(req).await {
        Ok((s, _)) => Ok(Ok(Ws(s))),
        Err(tokio_tungstenite::tungstenite::Error::Http(r)) => {
            Ok(Err(StatusCode::from_u16(r.status().as_u16())?))
        }
        Err(e) => Err(e.into()),
    }
}

async fn joined(app: &TestApp, c: &Client, path: &str) -> anyhow::Result<(Ws, Value)> {
    let mut ws = match connect(app, c, path).await? {
        Ok(ws) => ws,
        Err(status) => bail!("{path} refused with {status}"),
    };
    let hello = ws.kind("hello").await?;
    Ok((ws, hello))
}

fn room_form(title: &str, access: &str) -> Vec<(&'static str, String)> {
    vec![
        ("title", title.into()),
        ("language", "ru".into()),
        ("video_kind", "youtube".into()),
        (
            "video_url",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
        ),
        ("access", access.into()),
        ("rate_count", "3".into()),
        ("rate_window_s", "5".into()),
    ]
}

async fn create_room(c: &Client, org: i64, title: &str, access: &str) -> anyhow::Result<i64> {
    let r = c
        .post_form(&format!("/org/{org}/live"), &room_form(title, access))
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "room: {} {}",
        r.status,
        r.text
    );
    r.location
        .as_deref()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| id.parse().ok())
        .context("room id")
}

/// Schedules a webinar `minutes` after the test clock's start and returns its id.
async fn schedule(
    app: &TestApp,
    c: &Client,
    org: i64,
    room: i64,
    starts_local: &str,
) -> anyhow::Result<i64> {
    let r = c
        .post_form(
            &format!("/org/{org}/live/rooms/{room}/webinars"),
            &[
                ("title", "Эфир"),
                ("starts_at", starts_local),
                ("duration_min", "60"),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "schedule: {} {}",
        r.status,
        r.text
    );
    let list = webinars::of_room(&app.db, OrgId(org), room).await?;
    Ok(list.first().context("webinar")?.id)
}

/// A room with a webinar that is live now; returns (room, webinar).
async fn live_room(
    app: &TestApp,
    c: &Client,
    org: i64,
    access: &str,
) -> anyhow::Result<(i64, i64)> {
    let room = create_room(c, org, "Комната", access).await?;
    let w = schedule(app, c, org, room, "2026-03-02T15:00").await?;
    let r = c
        .post_form(&format!("/org/{org}/live/webinars/{w}/open"), &[("x", "")])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "open: {} {}",
        r.status,
        r.text
    );
    Ok((room, w))
}

/// A guest's browser that has seen the webinar's page (and got its cookie).
async fn guest(app: &TestApp, w: i64, name: &str) -> anyhow::Result<(Client, String)> {
    let g = app.client()?;
    let r = g.get(&format!("/live/w/{w}?name={name}")).await?;
    not_500(&r)?;
    Ok((g, format!("/live/w/{w}/ws?name={name}")))
}

fn has_error(r: &Reply, lang: &str, code: &str) -> anyhow::Result<bool> {
    let m = msg(lang, code)?;
    Ok(shows(&r.text, &format!("data-error>{m}<"))
        || r.text
            .contains(&format!("data-error>{}<", support::escape(&m)))
        || r.text.contains(&format!(">{}<", support::escape(&m))))
}

db_test! {
    async fn rooms_are_limited_by_the_plan_and_bad_rooms_change_nothing(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        // A new organizer is on the trial plan: two rooms.
        let limit = tabys_billing::plans::limits(&app.db, OrgId(org)).await?.webinar_rooms;
        ensure!(limit == 2, "trial rooms {limit}");
        create_room(&owner, org, "Первая", "open").await?;
        create_room(&owner, org, "Вторая", "open").await?;
        let r = owner.post_form(&format!("/org/{org}/live"), &room_form("Третья", "open")).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        ensure!(has_error(&r, "ru", "live-room-limit")?, "{}", r.text);
        ensure!(tabys_live::rooms::list(&app.db, OrgId(org)).await?.len() == 2);
        // A paid room without a product, a video that is not YouTube.
        let mut bad = room_form("Платная", "paid");
        bad[3].1 = "https://vimeo.com/1".into();
        let r = owner.post_form(&format!("/org/{org}/live"), &bad).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "video_url", "live-video-url")?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "product_id", "live-product-needed")?;
        // Deleting one frees a place.
        let rooms = tabys_live::rooms::list(&app.db, OrgId(org)).await?;
        let r = owner.post_form(&format!("/org/{org}/live/rooms/{}/delete", rooms[0].id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        create_room(&owner, org, "Третья", "open").await?;
        // Someone else's organizer sees nothing.
        let (other, _) = app.organizer("owner@other.kz", "other").await?;
        let r = other.get(&format!("/org/{org}/live/rooms/{}", rooms[1].id)).await?;
        ensure!(r.status == StatusCode::NOT_FOUND, "{}", r.status);
        Ok(())
    }
}

db_test! {
    async fn a_schedule_in_the_past_is_refused(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&owner, org, "Комната", "open").await?;
        // The test clock stands at 14:00 in Almaty.
        let r = owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/webinars"),
                &[("title", "Вчера"), ("starts_at", "2026-03-02T13:00"), ("duration_min", "60")],
            )
            .await?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "starts_at", "live-schedule-past")?;
        let r = owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/autowebinars"),
                &[
                    ("title", "Авто"),
                    ("video_url", "https://cdn.example.kz/rec.mp4"),
                    ("schedule_kind", "dates"),
                    ("times", "2026-03-01 19:00"),
                    ("duration_min", "60"),
                ],
            )
            .await?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "times", "live-schedule-past")?;
        ensure!(webinars::of_room(&app.db, OrgId(org), room).await?.is_empty());
        ensure!(tabys_live::autowebinars::of_org(&app.db, OrgId(org)).await?.is_empty());
        Ok(())
    }
}

db_test! {
    async fn registrants_are_reminded_a_day_and_an_hour_before_once(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&owner, org, "Комната", "registration").await?;
        // Two days later at 19:00 Almaty.
        let w = schedule(&app, &owner, org, room, "2026-03-04T19:00").await?;
        let person = app.person("aigul@example.kz", "Айгүл").await?;
        let r = person
            .post_form(&format!("/live/w/{w}/register"), &[("name", "Айгүл"), ("email", "aigul@example.kz")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        // A bad e-mail is refused and registers nobody.
        let r = app
            .client()?
            .post_form(&format!("/live/w/{w}/register"), &[("name", "X"), ("email", "nope")])
            .await?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "email", "email-format")?;
        ensure!(webinars::registrations(&app.db, OrgId(org), w).await?.len() == 1);

        let count = |key: &'static str| {
            let db = app.db.clone();
            async move {
                let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM notifications WHERE locale_key = $1")
                    .bind(key)
                    .fetch_one(db.read())
                    .await?;
                anyhow::Ok(n)
            }
        };
        app.run_jobs().await?;
        ensure!(count("notify-live-reminder-day").await? == 0);
        // 2026-03-03 19:00 Almaty: a day before.
        app.clock.advance_seconds(29 * 3600);
        app.run_jobs().await?;
        ensure!(count("notify-live-reminder-day").await? == 1);
        ensure!(count("notify-live-reminder-hour").await? == 0);
        app.clock.advance_seconds(23 * 3600);
        app.run_jobs().await?;
        app.run_jobs().await?;
        ensure!(count("notify-live-reminder-day").await? == 1);
        ensure!(count("notify-live-reminder-hour").await? == 1);
        let inbox = person.get("/cabinet/notifications").await?;
        ensure!(inbox.text.contains("Эфир"), "{}", inbox.text);
        Ok(())
    }
}

db_test! {
    async fn a_guest_is_emailed_a_day_and_an_hour_before_once_in_their_language_and_not_after_cancelling(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&owner, org, "Комната", "registration").await?;
        let w = schedule(&app, &owner, org, room, "2026-03-04T19:00").await?;
        // Two guests with a name and an e-mail only: Ерлан on the Kazakh page, Дана on the Russian one.
        let erlan = app.client()?;
        let r = erlan
            .post_form_with(&format!("/live/w/{w}/register"), &[("name", "Ерлан"), ("email", "erlan@example.kz")], &[("accept-language", "kk")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let link = r.location.clone().context("no personal link")?;
        let dana = app.client()?;
        let r = dana
            .post_form(&format!("/live/w/{w}/register"), &[("name", "Дана"), ("email", "dana@example.kz")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let dana_token = r.location.as_deref().and_then(|l| l.split("t=").nth(1)).context("no token")?.to_string();
        // Дана cancels through her link: the page asks (a mail scanner's GET cancels nothing), the form cancels.
        let page = dana.get(&format!("/live/w/{w}/cancel?t={dana_token}")).await?;
        ensure!(page.status == StatusCode::OK && page.text.contains("data-form=\"cancel\""), "{} {}", page.status, page.text);
        ensure!(webinars::registrations(&app.db, OrgId(org), w).await?.len() == 2);
        // A link naming no registration is a 404 and cancels nothing.
        ensure!(dana.post_form(&format!("/live/w/{w}/cancel"), &[("t", "nope")]).await?.status == StatusCode::NOT_FOUND);
        ensure!(dana.get(&format!("/live/w/{w}/cancel?t=nope")).await?.status == StatusCode::NOT_FOUND);
        let r = dana.post_form(&format!("/live/w/{w}/cancel"), &[("t", dana_token.as_str())]).await?;
        ensure!(r.status == StatusCode::OK && r.text.contains("data-cancelled"), "{} {}", r.status, r.text);
        let left = webinars::registrations(&app.db, OrgId(org), w).await?;
        ensure!(left.len() == 1 && left[0].email == "erlan@example.kz", "{left:?}");
        // A cancelled link no longer admits its holder.
        ensure!(webinars::registration_by_token(&app.db, w, &dana_token).await?.is_none());

        app.run_jobs().await?;
        ensure!(app.post.sink.to("erlan@example.kz").is_empty());
        // 2026-03-03 19:00 Almaty: a day before. The reminder job queues the
        // e-mail, whose own job sends it.
        app.clock.advance_seconds(29 * 3600);
        app.run_jobs().await?;
        app.run_jobs().await?;
        let mails = app.post.sink.to("erlan@example.kz");
        ensure!(mails.len() == 1, "{} e-mails", mails.len());
        ensure!(mails[0].subject() == "Ертең: Эфир", "{}", mails[0].subject());
        let text = mails[0].text();
        ensure!(text.contains(&format!("{}{link}", app.base)), "{text}");
        ensure!(text.contains(&format!("{}/live/w/{w}/cancel?t=", app.base)), "{text}");
        // No account, so no settings to link to: the footer says why it came.
        ensure!(!text.contains("/cabinet/notifications/settings"), "{text}");
        // 2026-03-04 18:00 Almaty: an hour before; running the jobs again sends nothing twice.
        app.clock.advance_seconds(23 * 3600);
        app.run_jobs().await?;
        app.run_jobs().await?;
        app.clock.advance_seconds(1800);
        app.run_jobs().await?;
        let mails = app.post.sink.to("erlan@example.kz");
        ensure!(mails.len() == 2, "{} e-mails", mails.len());
        ensure!(mails[1].subject() == "Бір сағаттан кейін: Эфир", "{}", mails[1].subject());
        // The cancelled guest got nothing.
        ensure!(app.post.sink.to("dana@example.kz").is_empty());
        // Written to the address alone, as a transactional (service) message.
        let (guest_deliveries,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM notify_deliveries WHERE address = $1 AND user_id IS NULL AND category = 'service' AND status = 'sent'",
        )
        .bind("erlan@example.kz")
        .fetch_one(app.db.read())
        .await?;
        ensure!(guest_deliveries == 2, "{guest_deliveries}");
        Ok(())
    }
}

db_test! {
    async fn chat_goes_both_ways_and_bad_frames_and_floods_are_refused(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let (_, w) = live_room(&app, &owner, org, "open").await?;
        let (mut host, hello) = joined(&app, &owner, &format!("/live/w/{w}/ws")).await?;
        ensure!(hello["mod"] == true, "{hello}");
        let (g, path) = guest(&app, w, "Ерлан").await?;
        let (mut erlan, hello) = joined(&app, &g, &path).await?;
        ensure!(hello["mod"] == false && hello["name"] == "Ерлан", "{hello}");

        host.send(serde_json::json!({"t": "chat", "text": "Сәлем, бәрі!"})).await?;
        erlan.message("Сәлем, бәрі!").await?;
        erlan.send(serde_json::json!({"t": "chat", "text": "Салем!"})).await?;
        let got = host.message("Салем!").await?;
        ensure!(got["name"] == "Ерлан" && got["rx"].as_i64().unwrap_or(0) > 0, "{got}");

        // Invalid JSON, an unknown frame, an oversized message: an error frame each.
        erlan.send_raw("{not json".into()).await?;
        ensure!(erlan.kind("error").await?["code"] == "live-frame-invalid");
        erlan.send(serde_json::json!({"t": "shout"})).await?;
        ensure!(erlan.kind("error").await?["code"] == "live-frame-invalid");
        erlan.send(serde_json::json!({"t": "chat", "text": "я".repeat(2001)})).await?;
        ensure!(erlan.kind("error").await?["code"] == "live-message-too-long");
        erlan.send_raw(format!(r#"{{"t":"chat","text":"{}"}}"#, "a".repeat(9000))).await?;
        ensure!(erlan.kind("error").await?["code"] == "live-frame-too-large");
        // A participant may not moderate.
        erlan.send(serde_json::json!({"t": "ban", "who": "u1"})).await?;
        ensure!(erlan.kind("error").await?["code"] == "forbidden");
        // Three per five seconds: the next two are refused while the clock stands.
        for i in 0..2 {
            erlan.send(serde_json::json!({"t": "chat", "text": format!("flood {i}")})).await?;
            erlan.message(&format!("flood {i}")).await?;
        }
        erlan.send(serde_json::json!({"t": "chat", "text": "flood 2"})).await?;
        ensure!(erlan.kind("error").await?["code"] == "live-rate-limited");
        app.clock.advance_seconds(5);
        erlan.send(serde_json::json!({"t": "chat", "text": "after the window"})).await?;
        host.message("after the window").await?;

        // What was stored: the accepted messages only.
        let page = owner.get(&format!("/org/{org}/live/webinars/{w}")).await?;
        not_500(&page)?;
        let stored = tabys_live::chat::of_webinar(&app.db, OrgId(org), w).await?;
        let texts: Vec<&str> = stored.iter().map(|m| m.body.as_str()).collect();
        ensure!(
            texts == ["Сәлем, бәрі!", "Салем!", "flood 0", "flood 1", "after the window"],
            "{texts:?}"
        );
        ensure!(page.text.contains("data-stat=\"messages\">5<"), "{}", page.text);
        Ok(())
    }
}

db_test! {
    async fn moderators_delete_pin_mute_and_ban_and_a_banned_guest_cannot_return(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let (_, w) = live_room(&app, &owner, org, "open").await?;
        let (mut host, _) = joined(&app, &owner, &format!("/live/w/{w}/ws")).await?;
        let (g1, p1) = guest(&app, w, "Ерлан").await?;
        let (mut erlan, hello) = joined(&app, &g1, &p1).await?;
        let erlan_id = hello["you"].as_str().context("you")?.to_string();
        let (g2, p2) = guest(&app, w, "Дана").await?;
        let (mut dana, _) = joined(&app, &g2, &p2).await?;

        erlan.send(serde_json::json!({"t": "chat", "text": "спам"})).await?;
        let m = host.message("спам").await?;
        dana.message("спам").await?;
        let seq = m["seq"].as_u64().context("seq")?;
        host.send(serde_json::json!({"t": "pin", "seq": seq})).await?;
        ensure!(dana.kind("pinned").await?["msg"]["seq"] == seq);
        host.send(serde_json::json!({"t": "delete", "seq": seq})).await?;
        ensure!(dana.kind("deleted").await?["id"] == seq);
        ensure!(erlan.kind("deleted").await?["id"] == seq);

        // Shadow mute: Erlan still sees his own message, Dana does not.
        host.send(serde_json::json!({"t": "mute", "who": erlan_id})).await?;
        // Once the moderator sees the mute took effect, Erlan writes.
        let done = host.kind("sanction").await?;
        ensure!(done["who"] == erlan_id && done["kind"] == "mute" && done["on"] == true, "{done}");
        erlan.send(serde_json::json!({"t": "chat", "text": "меня слышно?"})).await?;
        erlan.message("меня слышно?").await?;
        dana.send(serde_json::json!({"t": "chat", "text": "маркер"})).await?;
        let next = dana.until("the marker", |v| v["t"] == "msg").await?;
        ensure!(next["text"] == "маркер", "a muted message reached others: {next}");

        // Ban: the socket is told and closed, and coming back is refused.
        host.send(serde_json::json!({"t": "ban", "who": erlan_id})).await?;
        erlan.kind("banned").await?;
        let again = connect(&app, &g1, &p1).await?;
        ensure!(matches!(again, Err(StatusCode::CONFLICT)), "banned guest reconnected");
        let page = g1.get(&format!("/live/w/{w}?name=Ерлан")).await?;
        ensure!(page.text.contains(&msg("ru", "live-banned")?), "{}", page.text);
        Ok(())
    }
}

db_test! {
    async fn a_participant_who_reconnects_gets_what_they_missed(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let (_, w) = live_room(&app, &owner, org, "open").await?;
        let (mut host, _) = joined(&app, &owner, &format!("/live/w/{w}/ws")).await?;
        let (g, path) = guest(&app, w, "Дана").await?;
        let (mut dana, _) = joined(&app, &g, &path).await?;
        host.send(serde_json::json!({"t": "chat", "text": "один"})).await?;
        let last = dana.message("один").await?["seq"].as_u64().context("seq")?;
        drop(dana);
        host.send(serde_json::json!({"t": "chat", "text": "два"})).await?;
        host.send(serde_json::json!({"t": "chat", "text": "три"})).await?;
        host.message("три").await?;
        let (mut dana, _) = joined(&app, &g, &format!("{path}&since={last}")).await?;
        let two = dana.until("a missed message", |v| v["t"] == "msg").await?;
        ensure!(two["text"] == "два", "{two}");
        dana.message("три").await?;
        Ok(())
    }
}

db_test! {
    async fn paid_and_registration_rooms_admit_only_those_with_access(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        // A webinar product to sell the room through.
        let r = owner
            .post_form(
                &format!("/org/{org}/products"),
                &[("kind", "webinar"), ("title", "Вебинар"), ("price", "5000"), ("refund_policy", "none")],
            )
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "product: {} {}", r.status, r.text);
        let product = tabys_billing::products::list(&app.db, OrgId(org), false).await?[0].id;
        let mut form = room_form("Платная", "paid");
        form.push(("product_id", product.to_string()));
        let r = owner.post_form(&format!("/org/{org}/live"), &form).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let room = tabys_live::rooms::list(&app.db, OrgId(org)).await?[0].id;
        let w = schedule(&app, &owner, org, room, "2026-03-02T15:00").await?;
        owner.post_form(&format!("/org/{org}/live/webinars/{w}/open"), &[("x", "")]).await?;
        let buyer = app.person("buyer@example.kz", "Покупатель").await?;
        let refused = connect(&app, &buyer, &format!("/live/w/{w}/ws")).await?;
        ensure!(matches!(refused, Err(StatusCode::CONFLICT)), "entered without access");
        let page = buyer.get(&format!("/live/w/{w}")).await?;
        ensure!(page.text.contains(&msg("ru", "live-paid-access")?), "{}", page.text);
        // Someone not signed in is sent to sign in.
        let anonymous = connect(&app, &app.client()?, &format!("/live/w/{w}/ws")).await?;
        ensure!(matches!(anonymous, Err(StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED)), "anonymous entered");
        // The organizer always enters.
        joined(&app, &owner, &format!("/live/w/{w}/ws")).await?;

        let room2 = create_room(&owner, org, "По регистрации", "registration").await?;
        owner.post_form(&format!("/org/{org}/live/webinars/{w}/close"), &[("x", "")]).await?;
        let w2 = {
            owner
                .post_form(
                    &format!("/org/{org}/live/rooms/{room2}/webinars"),
                    &[("title", "Рег"), ("starts_at", "2026-03-02T16:00"), ("duration_min", "60")],
                )
                .await?;
            webinars::of_room(&app.db, OrgId(org), room2).await?[0].id
        };
        owner.post_form(&format!("/org/{org}/live/webinars/{w2}/open"), &[("x", "")]).await?;
        let (g, path) = guest(&app, w2, "Гость").await?;
        ensure!(matches!(connect(&app, &g, &path).await?, Err(StatusCode::CONFLICT)));
        let r = g
            .post_form(&format!("/live/w/{w2}/register"), &[("name", "Гость"), ("email", "guest@example.kz")])
            .await?;
        let token = r.location.as_deref().and_then(|l| l.split("t=").nth(1)).context("token")?.to_string();
        let (_, hello) = joined(&app, &g, &format!("/live/w/{w2}/ws?t={token}")).await?;
        ensure!(hello["name"] == "Гость", "{hello}");
        Ok(())
    }
}

db_test! {
    async fn a_recorded_scenario_is_replayed_by_an_autowebinar_session(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let (room, w) = live_room(&app, &owner, org, "open").await?;
        let r = owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/banners"),
                &[("text", "Курс со скидкой"), ("button_text", "Подробнее"), ("button_url", "https://isra.kz/sale")],
            )
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "banner: {} {}", r.status, r.text);
        let banner = tabys_live::banners::of_room(&app.db, OrgId(org), room).await?[0].id;
        let (mut host, _) = joined(&app, &owner, &format!("/live/w/{w}/ws")).await?;
        // The recording counts from the opening, by the injected clock.
        app.clock.advance_seconds(5);
        host.send(serde_json::json!({"t": "chat", "text": "Добро пожаловать"})).await?;
        let first = host.message("Добро пожаловать").await?["seq"].as_u64().context("seq")?;
        app.clock.advance_seconds(5);
        host.send(serde_json::json!({"t": "banner", "id": banner})).await?;
        host.kind("banner").await?;
        host.send(serde_json::json!({"t": "pin", "seq": first})).await?;
        host.kind("pinned").await?;
        app.clock.advance_seconds(10);
        host.send(serde_json::json!({"t": "chat", "text": "Вопросы?"})).await?;
        host.message("Вопросы?").await?;
        host.send(serde_json::json!({"t": "banner", "id": null})).await?;
        host.kind("banner").await?;
        let r = owner.post_form(&format!("/org/{org}/live/webinars/{w}/close"), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);

        let recorded = webinars::get(&app.db, OrgId(org), w).await?.scenario_id.context("scenario")?;
        let events = scenario::events(&app.db, recorded).await?;
        let got: Vec<(i64, &str)> = events.iter().map(|e| (e.offset_ms, e.kind.as_str())).collect();
        ensure!(
            got == [(5000, "chat"), (10_000, "banner_show"), (10_000, "pin"), (20_000, "chat"), (20_000, "banner_hide")],
            "{got:?}"
        );
        // CSV out and back in gives the same scenario.
        let csv = owner.get(&format!("/org/{org}/live/scenarios/{recorded}/csv")).await?;
        ensure!(csv.text.starts_with(scenario::CSV_HEADER), "{}", csv.text);
        let r = owner.post_form(&format!("/org/{org}/live/scenarios/{recorded}/import"), &[("csv", csv.text.as_str())]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let again: Vec<(i64, String)> = scenario::events(&app.db, recorded).await?.into_iter().map(|e| (e.offset_ms, e.kind)).collect();
        ensure!(again.len() == 5 && again[0] == (5000, "chat".to_string()), "{again:?}");

        // An autowebinar plays it at 15:00 Almaty (10:00 UTC).
        let r = owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/autowebinars"),
                &[
                    ("title", "Автовебинар"),
                    ("video_url", "https://cdn.example.kz/rec.mp4"),
                    ("scenario_id", &recorded.to_string()),
                    ("schedule_kind", "daily"),
                    ("times", "15:00"),
                    ("duration_min", "60"),
                ],
            )
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "autowebinar: {} {}", r.status, r.text);
        let aw = tabys_live::autowebinars::of_org(&app.db, OrgId(org)).await?[0].id;
        app.clock.set(tabys_testkit::START.plus_seconds(3600));
        let r = app.client()?.get(&format!("/live/a/{aw}")).await?;
        let session: i64 = r.location.as_deref().and_then(|l| l.rsplit('/').next()).and_then(|s| s.parse().ok()).context("session")?;
        let (g, path) = guest(&app, session, "Зритель").await?;
        let (mut viewer, hello) = joined(&app, &g, &path).await?;
        ensure!(hello["auto"] == true && hello["banner"].is_null(), "{hello}");
        // Nothing is due at the start; at 5 s the first message, at 10 s the banner and the pin.
        app.clock.advance_seconds(5);
        let m = viewer.message("Добро пожаловать").await?;
        ensure!(m["who"] == "s", "{m}");
        app.clock.advance_seconds(5);
        ensure!(viewer.kind("banner").await?["banner"]["id"] == banner);
        ensure!(viewer.kind("pinned").await?["msg"]["text"] == "Добро пожаловать");
        // A second viewer joining late starts at the current moment: the
        // chat so far, the banner on show, the pinned message.
        let (g2, path2) = guest(&app, session, "Опоздавший").await?;
        let (mut late, hello) = joined(&app, &g2, &path2).await?;
        ensure!(hello["banner"]["id"] == banner && hello["pinned"]["text"] == "Добро пожаловать", "{hello}");
        late.message("Добро пожаловать").await?;
        // Live messages of viewers reach every viewer of the session.
        late.send(serde_json::json!({"t": "chat", "text": "Я тоже здесь"})).await?;
        viewer.message("Я тоже здесь").await?;
        app.clock.advance_seconds(10);
        viewer.message("Вопросы?").await?;
        late.message("Вопросы?").await?;
        ensure!(viewer.kind("banner").await?["banner"].is_null());

        // The viewer's message can be promoted into the scenario for later sessions.
        let page = owner.get(&format!("/org/{org}/live/webinars/{session}")).await?;
        not_500(&page)?;
        let live_msg = tabys_live::chat::of_webinar(&app.db, OrgId(org), session).await?;
        let mine = live_msg.iter().find(|m| m.body == "Я тоже здесь").context("stored")?;
        let r = owner.post_form(&format!("/org/{org}/live/webinars/{session}/messages/{}/promote", mine.id), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        ensure!(scenario::events(&app.db, recorded).await?.iter().any(|e| e.body == "Я тоже здесь"));
        ensure!(page.text.contains("data-stat=\"attendees\">2<"), "{}", page.text);
        // The autowebinar lists the session with its analytics.
        let aw_page = owner.get(&format!("/org/{org}/live/autowebinars/{aw}")).await?;
        ensure!(aw_page.text.contains(&format!("/org/{org}/live/webinars/{session}")), "{}", aw_page.text);
        Ok(())
    }
}

db_test! {
    async fn a_scenario_file_with_bad_rows_is_refused_by_row_number_and_nothing_changes(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&owner, org, "Комната", "open").await?;
        let r = owner.post_form(&format!("/org/{org}/live/rooms/{room}/scenarios"), &[("title", "Сценарий")]).await?;
        let s: i64 = r.location.as_deref().and_then(|l| l.rsplit('/').next()).and_then(|s| s.parse().ok()).context("scenario")?;
        let good = "offset_ms,kind,author,text,label,ref\n1000,chat,Айгүл,Сәлем,m1,\n2000,pin,,,,m1\n";
        let r = owner.post_form(&format!("/org/{org}/live/scenarios/{s}/import"), &[("csv", good)]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let bad = "offset_ms,kind,author,text,label,ref\n1000,chat,A,ok,m1,\nsoon,chat,A,x,m2,\n3000,dance,A,x,m3,\n";
        let r = owner.post_form(&format!("/org/{org}/live/scenarios/{s}/import"), &[("csv", bad)]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        ensure!(r.text.contains("data-row=\"3\"") && r.text.contains("data-row=\"4\"") && !r.text.contains("data-row=\"2\""), "{}", r.text);
        ensure!(shows(&r.text, &msg("ru", "live-csv-kind")?), "{}", r.text);
        let events = scenario::events(&app.db, s).await?;
        ensure!(events.len() == 2 && events[0].body == "Сәлем", "{events:?}");
        // Editing by hand: move the message, change its text, add and delete.
        let id = events[0].id;
        let r = owner
            .post_form(&format!("/org/{org}/live/scenarios/{s}/events/{id}"), &[("at", "0:00:03"), ("kind", "chat"), ("author", "Дана"), ("body", "Қош келдіңіз")])
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let r = owner
            .post_form(&format!("/org/{org}/live/scenarios/{s}/events"), &[("at", "soon"), ("kind", "chat"), ("author", "A"), ("body", "x")])
            .await?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "at", "live-at-format")?;
        let events = scenario::events(&app.db, s).await?;
        ensure!(events.len() == 2);
        ensure!(events.iter().any(|e| e.offset_ms == 3000 && e.author == "Дана" && e.body == "Қош келдіңіз"), "{events:?}");
        let pin = events.iter().find(|e| e.kind == "pin").context("pin")?.id;
        let r = owner.post_form(&format!("/org/{org}/live/scenarios/{s}/events/{pin}/delete"), &[("x", "")]).await?;
        ensure!(r.status == StatusCode::SEE_OTHER);
        ensure!(scenario::events(&app.db, s).await?.len() == 1);
        Ok(())
    }
}

db_test! {
    async fn banner_clicks_are_counted_in_the_session_analytics(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let (room, w) = live_room(&app, &owner, org, "open").await?;
        owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/banners"),
                &[("text", "Скидка"), ("button_text", "Купить"), ("button_url", "https://isra.kz/sale")],
            )
            .await?;
        let banner = tabys_live::banners::of_room(&app.db, OrgId(org), room).await?[0].id;
        // A banner without a link or a product is refused.
        let r = owner
            .post_form(&format!("/org/{org}/live/rooms/{room}/banners"), &[("text", "Пусто"), ("button_text", "Жми")])
            .await?;
        support::field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "button_url", "live-banner-target")?;
        let (g, path) = guest(&app, w, "Дана").await?;
        let (_dana, _) = joined(&app, &g, &path).await?;
        let r = g.get(&format!("/live/banners/{banner}/go?w={w}")).await?;
        ensure!(r.status == StatusCode::SEE_OTHER && r.location.as_deref() == Some("https://isra.kz/sale"));
        let page = owner.get(&format!("/org/{org}/live/webinars/{w}")).await?;
        ensure!(page.text.contains("data-stat=\"clicks\">1<"), "{}", page.text);
        ensure!(page.text.contains("<svg"), "no chart");
        let csv = owner.get(&format!("/org/{org}/live/webinars/{w}/activity.csv")).await?;
        ensure!(csv.text.contains(",banner_click,") && csv.text.contains(",join,"), "{}", csv.text);
        Ok(())
    }
}
