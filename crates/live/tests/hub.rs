//! The room hub on its own, on both databases: a session's recording and
//! its replay under the injected clock, and a slow participant dropped and
//! told to resync instead of growing memory.

use std::time::Duration;

use anyhow::{Context, ensure};
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_live::hub::{ClientFrame, Connection, HubConfig, Hubs, Kick, Member};
use tabys_live::rooms::{self, RoomInput};
use tabys_live::webinars::{self, WebinarInput};
use tabys_live::{autowebinars, scenario};
use tabys_store::Db;
use tabys_testkit::db_only_test;

/// An organizer, its owner and one open room.
async fn room(db: &Db) -> anyhow::Result<(OrgId, UserId, i64)> {
    let mut tx = db.begin().await?;
    let owner = users::create(
        &mut tx,
        db,
        NewUser {
            email: Email::parse("owner@isra.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
            name: "Owner".into(),
            password: "long-enough-password".into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        },
        false,
    )
    .await?;
    tx.commit().await?;
    let profile = tabys_accounts::organizers::ProfileInput {
        slug: "isra".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «Isra»".into(),
        email: "office@isra.kz".into(),
        legal_address: "г. Тараз".into(),
        iin_bin: "180540001239".into(),
        iik: "KZ86125KZT5004100100".into(),
        bik: "HSBKKZKX".into(),
        kbe: "17".into(),
        head_name: "Директоров Д. Д.".into(),
        head_position: "Директор".into(),
        ..Default::default()
    }
    .parse()?;
    let org = tabys_accounts::organizers::create(db, owner.id, profile)
        .await?
        .id;
    let input = RoomInput {
        title: "Комната".into(),
        video_url: "https://youtu.be/dQw4w9WgXcQ".into(),
        rate_count: "100".into(),
        rate_window_s: "1".into(),
        ..RoomInput::default()
    };
    let r = rooms::create(db, org, input.parse()?).await?;
    Ok((org, owner.id, r.id))
}

async fn next(c: &mut Connection<String>, t: &str) -> anyhow::Result<serde_json::Value> {
    loop {
        let f = tokio::time::timeout(Duration::from_secs(10), c.queue.recv())
            .await
            .with_context(|| format!("no {t} frame"))?
            .with_context(|| format!("queue closed waiting for {t}"))?;
        let v: serde_json::Value = serde_json::from_str(&f)?;
        if v["t"] == t {
            return Ok(v);
        }
    }
}

fn member(p: &str, moderator: bool) -> Member {
    Member {
        participant: p.into(),
        name: p.into(),
        user: None,
        moderator,
    }
}

fn chat(text: &str) -> ClientFrame {
    ClientFrame::Chat {
        text: text.into(),
        q: false,
    }
}

db_only_test! {
    async fn a_session_is_recorded_and_replayed_at_its_moments(t: TestDb) {
        let db = &t.db;
        let (org, _, room) = room(db).await?;
        let hubs: Hubs<String> = Hubs::new(db.clone(), HubConfig::default());
        let w = webinars::schedule(
            db,
            org,
            room,
            &WebinarInput { title: "Эфир".into(), starts_at: "2026-03-02T15:00".into(), duration_min: "60".into() },
        )
        .await?;
        let w = webinars::open(db, org, w.id).await?;
        let mut host = hubs.join(w.id, member("u1", true), None).await?;
        next(&mut host, "hello").await?;
        t.clock.advance_seconds(3);
        host.sender.send(chat("раз"), 0).await;
        next(&mut host, "msg").await?;
        t.clock.advance_seconds(4);
        host.sender.send(chat("два"), 0).await;
        let two = next(&mut host, "msg").await?;
        host.sender.send(ClientFrame::Delete { seq: two["seq"].as_u64().context("seq")? }, 0).await;
        next(&mut host, "deleted").await?;
        hubs.close(w.id).await;
        hubs.flush().await;
        let s = w.scenario_id.context("recording")?;
        let all = scenario::events(db, s).await?;
        let got: Vec<(i64, String)> = all.iter().map(|e| (e.offset_ms, e.kind.clone())).collect();
        ensure!(got == [(3000, "chat".into()), (7000, "chat".into()), (7000, "delete".into())], "{all:?}");

        // Replay: an autowebinar session an hour later, advanced by hand.
        let aw = autowebinars::create(
            db,
            org,
            room,
            autowebinars::AutowebinarInput {
                title: "Авто".into(),
                video_url: "https://cdn.example.kz/rec.mp4".into(),
                scenario_id: s.to_string(),
                schedule_kind: "daily".into(),
                times: "16:00".into(),
                duration_min: "30".into(),
                ..Default::default()
            }
            .parse(db.now())?,
        )
        .await?;
        t.clock.set(tabys_testkit::START.plus_seconds(2 * 3600));
        let session = autowebinars::current_or_next(db, &aw).await?.context("session")?;
        let mut viewer = hubs.join(session.id, member("g1", false), None).await?;
        next(&mut viewer, "hello").await?;
        ensure!(hubs.tick(session.id).await.context("running")?.replayed == 0);
        t.clock.advance_seconds(3);
        ensure!(hubs.tick(session.id).await.context("running")?.replayed == 1);
        ensure!(next(&mut viewer, "msg").await?["text"] == "раз");
        t.clock.advance_seconds(4);
        ensure!(hubs.tick(session.id).await.context("running")?.replayed == 3);
        let m = next(&mut viewer, "msg").await?;
        ensure!(m["text"] == "два");
        ensure!(next(&mut viewer, "deleted").await?["id"] == m["seq"]);
        // The same session is shared: a second viewer joins the same hub.
        let again = autowebinars::current_or_next(db, &aw).await?.context("session")?;
        ensure!(again.id == session.id);
        Ok(())
    }
}

db_only_test! {
    async fn a_participant_who_does_not_read_is_dropped_and_told_to_resync(t: TestDb) {
        let db = &t.db;
        let (org, _, room) = room(db).await?;
        let config = HubConfig { queue: 8, ..HubConfig::default() };
        let hubs: Hubs<String> = Hubs::new(db.clone(), config);
        let w = webinars::schedule(
            db,
            org,
            room,
            &WebinarInput { title: "Эфир".into(), starts_at: "2026-03-02T15:00".into(), duration_min: "60".into() },
        )
        .await?;
        let w = webinars::open(db, org, w.id).await?;
        let mut host = hubs.join(w.id, member("u1", true), None).await?;
        let mut slow = hubs.join(w.id, member("g1", false), None).await?;
        for i in 0..20 {
            host.sender.send(chat(&format!("m{i}")), 0).await;
            next(&mut host, "msg").await?;
        }
        let why = tokio::time::timeout(Duration::from_secs(5), &mut slow.kick).await??;
        ensure!(why == Kick::Resync);
        ensure!(hubs.connections(w.id).await == 1);
        // Coming back with the last number seen gives what was missed, from the ring.
        let mut last = 0;
        while let Ok(f) = slow.queue.try_recv() {
            let v: serde_json::Value = serde_json::from_str(&f)?;
            if v["t"] == "msg" {
                last = v["seq"].as_u64().context("seq")?;
            }
        }
        let mut back = hubs.join(w.id, member("g1", false), Some(last)).await?;
        next(&mut back, "hello").await?;
        let first = next(&mut back, "msg").await?;
        ensure!(first["seq"].as_u64() == Some(last + 1), "{first} after {last}");
        Ok(())
    }
}

db_only_test! {
    async fn the_plan_limits_rooms(t: TestDb) {
        let db = &t.db;
        let (org, _, _) = room(db).await?;
        let input = RoomInput {
            title: "Ещё".into(),
            video_url: "https://youtu.be/dQw4w9WgXcQ".into(),
            ..RoomInput::default()
        };
        rooms::create(db, org, input.parse()?).await?;
        let third = rooms::create(db, org, input.parse()?).await;
        ensure!(matches!(third, Err(tabys_core::Error::Conflict("live-room-limit"))), "{third:?}");
        Ok(())
    }
}
