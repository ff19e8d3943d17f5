//! Webinar rooms' uploaded covers and videos and autowebinars' uploaded
//! recordings, on both databases: uploads are checked and counted like every
//! file, participants get the video through links signed for their browser
//! and session (with byte ranges), a paid room's video never reaches anyone
//! without access, covers are public, an autowebinar's recording starts at
//! the session's moment, and an HLS source brings its player.

mod support;

use anyhow::{Context, ensure};
use support::{error_page, field_error, no_server_errors, not_500};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, TestApp, db_test};

/// A WebM file as far as the content check is concerned: its EBML magic,
/// then numbered bytes so that ranges can be told apart.
fn webm(len: usize) -> Vec<u8> {
    let mut v = b"\x1a\x45\xdf\xa3".to_vec();
    v.extend((0..len - 4).map(|i| (i % 251) as u8));
    v
}

/// A PNG as far as the content check is concerned.
fn png(len: usize) -> Vec<u8> {
    let mut v = b"\x89PNG\r\n\x1a\n".to_vec();
    v.resize(len, 7);
    v
}

fn room_form(title: &str, access: &str) -> Vec<(&'static str, String)> {
    vec![
        ("title", title.into()),
        ("language", "ru".into()),
        ("video_kind", "youtube".into()),
        ("video_url", "https://youtu.be/dQw4w9WgXcQ".into()),
        ("access", access.into()),
        ("rate_count", "3".into()),
        ("rate_window_s", "5".into()),
    ]
}

async fn create_room(
    app: &TestApp,
    c: &Client,
    org: i64,
    form: &[(&'static str, String)],
) -> anyhow::Result<i64> {
    let r = c.post_form(&format!("/org/{org}/live"), form).await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "room: {} {}",
        r.status,
        r.text
    );
    let rooms = tabys_live::rooms::list(&app.db, OrgId(org)).await?;
    Ok(rooms.last().context("room")?.id)
}

/// Schedules a webinar in the room and opens it; returns its id.
async fn go_live(app: &TestApp, c: &Client, org: i64, room: i64) -> anyhow::Result<i64> {
    let r = c
        .post_form(
            &format!("/org/{org}/live/rooms/{room}/webinars"),
            &[
                ("title", "Эфир"),
                ("starts_at", "2026-03-02T15:00"),
                ("duration_min", "60"),
            ],
        )
        .await?;
    ensure!(r.status == StatusCode::SEE_OTHER, "schedule: {}", r.text);
    let w = tabys_live::webinars::of_room(&app.db, OrgId(org), room)
        .await?
        .first()
        .context("webinar")?
        .id;
    let r = c
        .post_form(&format!("/org/{org}/live/webinars/{w}/open"), &[("x", "")])
        .await?;
    ensure!(r.status == StatusCode::SEE_OTHER, "open: {}", r.text);
    Ok(w)
}

async fn upload_ok(c: &Client, path: &str, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let r = c.upload(path, &[], name, bytes).await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "uploading {name} to {path} answered {}: {}",
        r.status,
        r.text
    );
    Ok(())
}

/// The address of the page's uploaded video, if it has one.
fn video_link(page: &str, w: i64) -> Option<String> {
    let start = page.find(&format!("src=\"/live/w/{w}/video/"))? + 5;
    let end = start + page[start..].find('"')?;
    Some(page[start..end].to_string())
}

/// A guest's browser that has entered the open webinar under a name.
async fn guest_page(app: &TestApp, w: i64, name: &str) -> anyhow::Result<(Client, String)> {
    let g = app.client()?;
    let r = g.get(&format!("/live/w/{w}?name={name}")).await?;
    not_500(&r)?;
    Ok((g, r.text))
}

/// Gives the organizer a plan with one megabyte of storage.
async fn tiny_plan(app: &TestApp, org: i64) -> anyhow::Result<()> {
    let plan = tabys_billing::plans::create(
        &app.db,
        UserId(1),
        &tabys_billing::plans::PlanInput {
            code: "tiny".into(),
            name: "Tiny".into(),
            period_days: "30".into(),
            webinar_rooms: "2".into(),
            storage_mb: "1".into(),
            active_students: "10".into(),
            sms_allowance: "0".into(),
            price: "100".into(),
        },
    )
    .await?;
    let now = app.db.now();
    let mut tx = app.db.begin().await?;
    let w = tabys_billing::balances::wallet(
        &mut tx,
        tabys_billing::Book::OPERATOR,
        tabys_billing::Holder::Org(OrgId(org)),
        now,
    )
    .await?;
    tabys_billing::balances::grant_bonus(
        &mut tx,
        now,
        &w,
        Money::from_tiyn(10_000),
        "test-bonus".into(),
        "test".into(),
        None,
    )
    .await?;
    tx.commit().await?;
    tabys_billing::plans::buy(
        &app.db,
        &app.billing,
        OrgId(org),
        UserId(1),
        plan.id,
        "tiny-1",
    )
    .await?;
    Ok(())
}

db_test! {
    async fn a_rooms_uploaded_video_reaches_its_participants_by_range_and_its_cover_is_public(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&app, &owner, org, &room_form("Открытая", "open")).await?;
        let cover = png(3000);
        let video = webm(5000);
        upload_ok(&owner, &format!("/org/{org}/live/rooms/{room}/cover/upload"), "cover.png", &cover).await?;
        upload_ok(&owner, &format!("/org/{org}/live/rooms/{room}/video/upload"), "lesson.webm", &video).await?;
        let r = tabys_live::rooms::get(&app.db, OrgId(org), room).await?;
        ensure!(r.video_kind == "upload", "the uploaded video became the source: {}", r.video_kind);
        let (cover_id, video_id) = (r.cover_file_id.context("cover")?, r.video_file_id.context("video")?);
        // Counted against the plan's storage like every file.
        assert_eq!(tabys_files::usage(&app.db, OrgId(org)).await?, 8000);
        let page = owner.get(&format!("/org/{org}/live/rooms/{room}")).await?;
        ensure!(page.text.contains(&format!("data-video-file=\"{video_id}\"")), "{}", page.text);

        // The landing page shows the cover through the room's public cover route.
        let landing = app.client()?.get(&format!("/live/r/{room}")).await?;
        let src = format!("/live/r/{room}/cover?v={cover_id}");
        ensure!(landing.text.contains(&src), "{}", landing.text);
        let img = app.client()?.get(&src).await?;
        assert_eq!(img.status, StatusCode::OK);
        assert_eq!(img.headers["content-type"], "image/png");
        assert_eq!(img.headers["cache-control"], "public, max-age=300");

        // A guest of the live webinar gets the video by byte ranges.
        let w = go_live(&app, &owner, org, room).await?;
        let (guest, text) = guest_page(&app, w, "Гость").await?;
        let link = video_link(&text, w).context("the page plays the uploaded video")?;
        ensure!(!text.contains("hls.light"), "no HLS player for a file");
        let part = guest.get_with(&link, &[("range", "bytes=100-199")]).await?;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers["content-range"], "bytes 100-199/5000");
        assert_eq!(part.headers["content-type"], "video/webm");
        let whole = guest.get(&link).await?;
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.headers["content-length"], "5000");

        // Another browser holding the link gets nothing.
        let (other, _) = guest_page(&app, w, "Другой").await?;
        error_page(&other.get(&link).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;

        // Deleting the room leaves the files in the library; the link stops.
        let r = owner.post_form(&format!("/org/{org}/live/rooms/{room}/delete"), &[("x", "")]).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        error_page(&guest.get(&link).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        let kept: Vec<i64> = tabys_files::list(&app.db, OrgId(org), 10).await?.iter().map(|f| f.id).collect();
        ensure!(kept.contains(&cover_id) && kept.contains(&video_id), "{kept:?}");
        let library = owner.get(&format!("/org/{org}/files")).await?;
        ensure!(library.text.contains("lesson.webm"), "{}", library.text);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_paid_rooms_video_never_reaches_anyone_without_access_and_a_link_serves_one_session(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
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
        let paid = create_room(&app, &owner, org, &form).await?;
        upload_ok(&owner, &format!("/org/{org}/live/rooms/{paid}/video/upload"), "paid.webm", &webm(4000)).await?;
        let w = go_live(&app, &owner, org, paid).await?;

        // The organizer (a moderator) has access and gets the video.
        let page = owner.get(&format!("/live/w/{w}")).await?;
        let link = video_link(&page.text, w).context("the organizer's page plays the video")?;
        assert_eq!(owner.get_with(&link, &[("range", "bytes=0-9")]).await?.status, StatusCode::PARTIAL_CONTENT);

        // A signed-in person without access: no player, and the organizer's link is no use.
        let buyer = app.person("buyer@example.kz", "Покупатель").await?;
        let page = buyer.get(&format!("/live/w/{w}")).await?;
        ensure!(!page.text.contains("/video/"), "a link was given without access: {}", page.text);
        error_page(&buyer.get(&link).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        // Nor to anyone not signed in, nor with the link changed.
        let anonymous = app.client()?;
        anonymous.get(&format!("/live/w/{w}")).await?;
        error_page(&anonymous.get(&link).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        let forged = format!("{}0", link);
        error_page(&owner.get(&forged).await?, StatusCode::UNPROCESSABLE_ENTITY, "ru", "link-invalid")?;

        // A guest's link to an open room's video does not open another room's.
        let open = create_room(&app, &owner, org, &room_form("Открытая", "open")).await?;
        upload_ok(&owner, &format!("/org/{org}/live/rooms/{open}/video/upload"), "open.webm", &webm(3000)).await?;
        let w2 = go_live(&app, &owner, org, open).await?;
        let (guest, text) = guest_page(&app, w2, "Гость").await?;
        let guest_link = video_link(&text, w2).context("the guest's page plays the video")?;
        assert_eq!(guest.get_with(&guest_link, &[("range", "bytes=0-9")]).await?.status, StatusCode::PARTIAL_CONTENT);
        let elsewhere = guest_link.replacen(&format!("/live/w/{w2}/"), &format!("/live/w/{w}/"), 1);
        error_page(&guest.get(&elsewhere).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;

        // The link lasts an hour past the webinar's planned end.
        app.clock.advance_seconds(3 * 3600 + 1);
        error_page(&guest.get(&guest_link).await?, StatusCode::UNPROCESSABLE_ENTITY, "ru", "link-expired")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn wrong_oversized_and_over_quota_media_are_refused_and_nothing_is_kept(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&app, &owner, org, &room_form("Комната", "open")).await?;
        let video_path = format!("/org/{org}/live/rooms/{room}/video/upload");
        let cover_path = format!("/org/{org}/live/rooms/{room}/cover/upload");
        // A picture is no video, a video no cover, a program neither.
        let r = owner.upload(&video_path, &[], "film.webm", &png(500)).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "video_file", "file-type")?;
        let r = owner.upload(&cover_path, &[], "cover.png", &webm(500)).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "cover_file", "file-type")?;
        let r = owner.upload(&video_path, &[], "film.mp4", b"MZ\x90\x00\x03\x00\x00\x00").await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "video_file", "file-type")?;
        // A cover over the 10 MB a picture may have.
        let r = owner.upload(&cover_path, &[], "huge.png", &png(10 * 1024 * 1024 + 1)).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "cover_file", "file-too-large")?;
        // Past the plan's storage.
        tiny_plan(&app, org).await?;
        upload_ok(&owner, &video_path, "first.webm", &webm(600 * 1024)).await?;
        let first = tabys_live::rooms::get(&app.db, OrgId(org), room).await?.video_file_id;
        let r = owner.upload(&video_path, &[], "second.webm", &webm(600 * 1024)).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "video_file", "storage-limit")?;
        let aw_path = {
            let r = owner
                .post_form(
                    &format!("/org/{org}/live/rooms/{room}/autowebinars"),
                    &[("title", "Авто"), ("schedule_kind", "daily"), ("times", "15:00"), ("duration_min", "60")],
                )
                .await?;
            ensure!(r.status == StatusCode::SEE_OTHER, "autowebinar without an address: {}", r.text);
            let aw = tabys_live::autowebinars::of_org(&app.db, OrgId(org)).await?[0].id;
            format!("/org/{org}/live/autowebinars/{aw}/video/upload")
        };
        let r = owner.upload(&aw_path, &[], "third.webm", &webm(600 * 1024)).await?;
        field_error(&r, StatusCode::UNPROCESSABLE_ENTITY, "ru", "video_file", "storage-limit")?;

        // Only the one accepted file exists, the room still names it, and no
        // refused bytes are left on disk.
        let files = tabys_files::list(&app.db, OrgId(org), 10).await?;
        ensure!(files.len() == 1 && Some(files[0].id) == first, "{files:?}");
        let room_now = tabys_live::rooms::get(&app.db, OrgId(org), room).await?;
        ensure!(room_now.cover_file_id.is_none() && room_now.video_file_id == first);
        let aw = &tabys_live::autowebinars::of_org(&app.db, OrgId(org)).await?[0];
        ensure!(aw.video_file_id.is_none());
        let mut on_disk = 0;
        let mut dirs = vec![app.files.root().to_path_buf()];
        while let Some(dir) = dirs.pop() {
            let Ok(entries) = std::fs::read_dir(&dir) else { continue };
            for e in entries {
                let path = e?.path();
                if path.is_dir() { dirs.push(path) } else { on_disk += 1 }
            }
        }
        assert_eq!(on_disk, 1, "refused uploads left bytes behind");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_autowebinars_uploaded_recording_starts_at_the_sessions_moment(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let room = create_room(&app, &owner, org, &room_form("Комната", "open")).await?;
        let r = owner
            .post_form(
                &format!("/org/{org}/live/rooms/{room}/autowebinars"),
                &[("title", "Авто"), ("schedule_kind", "daily"), ("times", "15:00"), ("duration_min", "60")],
            )
            .await?;
        ensure!(r.status == StatusCode::SEE_OTHER, "{} {}", r.status, r.text);
        let aw = tabys_live::autowebinars::of_org(&app.db, OrgId(org)).await?[0].id;
        let recording = webm(6000);
        upload_ok(&owner, &format!("/org/{org}/live/autowebinars/{aw}/video/upload"), "rec.webm", &recording).await?;
        let page = owner.get(&format!("/org/{org}/live/autowebinars/{aw}")).await?;
        ensure!(page.text.contains("rec.webm"), "{}", page.text);

        // The 15:00 session (Almaty), joined 2 min 5 s late.
        app.clock.set(tabys_testkit::START.plus_seconds(3600 + 125));
        let r = app.client()?.get(&format!("/live/a/{aw}")).await?;
        let session: i64 = r.location.as_deref().and_then(|l| l.rsplit('/').next()).and_then(|s| s.parse().ok()).context("session")?;
        let (guest, text) = guest_page(&app, session, "Зритель").await?;
        ensure!(text.contains("data-offset-ms=\"125000\""), "the player starts at the session's moment: {text}");
        let link = video_link(&text, session).context("the uploaded recording plays")?;
        let part = guest.get_with(&link, &[("range", "bytes=5990-")]).await?;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.headers["content-range"], "bytes 5990-5999/6000");

        // Taken out again, the session plays the room's own source.
        let r = owner.post_form(&format!("/org/{org}/live/autowebinars/{aw}/video/remove"), &[("x", "")]).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        let (_, text) = guest_page(&app, session, "Зритель").await?;
        ensure!(video_link(&text, session).is_none() && text.contains("youtube.com/embed/dQw4w9WgXcQ?autoplay=1&#38;start=125"), "{text}");
        error_page(&guest.get(&link).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        no_server_errors(&app).await
    }
}

db_test! {
    async fn an_hls_source_brings_the_hls_player_and_other_sources_do_not(app: TestApp) {
        let (owner, org) = app.organizer("owner@isra.kz", "isra").await?;
        let mut form = room_form("HLS", "open");
        form[2].1 = "hls".into();
        form[3].1 = "https://cdn.example.kz/live/index.m3u8".into();
        let room = create_room(&app, &owner, org, &form).await?;
        let w = go_live(&app, &owner, org, room).await?;
        let (_, text) = guest_page(&app, w, "Гость").await?;
        ensure!(
            text.contains("data-hls=\"https://cdn.example.kz/live/index.m3u8\"")
                && text.contains("data-hls-player=\"/static/hls/hls.light.min.js\""),
            "{text}"
        );
        let script = app.client()?.get("/static/hls/hls.light.min.js").await?;
        assert_eq!(script.status, StatusCode::OK);
        ensure!(script.headers["content-type"].to_str()?.starts_with("text/javascript"));
        ensure!(script.text.contains("Hls"), "the vendored player");
        let license = app.client()?.get("/static/hls/LICENSE").await?;
        ensure!(license.text.contains("Apache License"), "{}", license.text);

        // A YouTube room's page does not load it.
        let other = create_room(&app, &owner, org, &room_form("YouTube", "open")).await?;
        owner.post_form(&format!("/org/{org}/live/webinars/{w}/close"), &[("x", "")]).await?;
        let w2 = go_live(&app, &owner, org, other).await?;
        let (_, text) = guest_page(&app, w2, "Гость").await?;
        ensure!(!text.contains("hls.light") && text.contains("youtube.com/embed/"), "{text}");
        no_server_errors(&app).await
    }
}
