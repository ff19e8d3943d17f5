//! The webinar demo at Lessbek Zapusk Academy: an open room with a webinar
//! live now, a recorded scenario, and an autowebinar that runs every half
//! hour around the clock, so its session is always on and two browser
//! windows can join the same one. Loading twice adds nothing.

use anyhow::Context;
use tabys_accounts::organizers;
use tabys_live::autowebinars::{self, AutowebinarInput};
use tabys_live::banners::{self, BannerInput};
use tabys_live::rooms::{self, RoomInput};
use tabys_live::scenario;
use tabys_live::webinars::{self, WebinarInput};
use tabys_store::Db;

/// The demo scenario: (seconds from the start, event, author, text).
const SCENARIO: &str = "offset_ms,kind,author,text,label,ref
3000,chat,Лессбек,Сәлеметсіздер ме! Начинаем через минуту.,m1,
6000,pin,,,,m1
12000,chat,Айгерим,Здравствуйте! Я из Шымкента,m2,
20000,chat,Ерлан,Слышно хорошо,m3,
40000,chat,Лессбек,Сегодня разберём запуск онлайн-школы за 30 дней,m4,
90000,banner_show,,,,{banner}
95000,chat,Лессбек,Для участников — скидка на курс по баннеру справа,m5,
150000,chat,Дана,А рассрочка есть?,m6,
170000,chat,Лессбек,Да: 50 % сейчас и остальное за месяц,m7,
600000,banner_hide,,,,{banner}
";

pub async fn load(db: &Db) -> anyhow::Result<()> {
    let org = organizers::by_slug(db, "lessbek")
        .await
        .context("the demo organizer Lessbek")?
        .id;
    if !rooms::list(db, org).await?.is_empty() {
        return Ok(());
    }
    let room = rooms::create(
        db,
        org,
        RoomInput {
            title: "Открытый вебинар: запуск онлайн-школы".into(),
            video_kind: "youtube".into(),
            video_url: "https://www.youtube.com/watch?v=dQw4w9WgXcQ".into(),
            ..RoomInput::default()
        }
        .parse()?,
    )
    .await?;
    let banner = banners::create(
        db,
        org,
        room.id,
        &BannerInput {
            text: "Курс «Запуск за 30 дней» — скидка 20 % участникам".into(),
            button_text: "Подробнее".into(),
            button_url: "/o/lessbek/products".into(),
            ..BannerInput::default()
        },
    )
    .await?;
    // A webinar on now: the owner started it.
    let starts = db.now().plus_seconds(3600);
    let local = starts
        .to_jiff()
        .to_zoned(tabys_core::calendar::almaty())
        .strftime("%Y-%m-%dT%H:%M")
        .to_string();
    let w = webinars::schedule(
        db,
        org,
        room.id,
        &WebinarInput {
            title: "Запуск онлайн-школы: вопросы и ответы".into(),
            starts_at: local,
            duration_min: "120".into(),
        },
    )
    .await?;
    webinars::open(db, org, w.id).await?;
    let s = scenario::create(db, org, room.id, "Демо-сценарий").await?;
    let csv = SCENARIO.replace("{banner}", &banner.id.to_string());
    if let Err(rows) = scenario::import_csv(db, org, s.id, &csv).await? {
        anyhow::bail!("the demo scenario has bad rows: {rows:?}");
    }
    let times: Vec<String> = (0..48)
        .map(|i| format!("{:02}:{:02}", i / 2, (i % 2) * 30))
        .collect();
    autowebinars::create(
        db,
        org,
        room.id,
        AutowebinarInput {
            title: "Автовебинар: запуск онлайн-школы".into(),
            video_url: "https://interactive-examples.mdn.mozilla.net/media/cc0-videos/flower.mp4"
                .into(),
            scenario_id: s.id.to_string(),
            schedule_kind: "daily".into(),
            times: times.join(","),
            duration_min: "30".into(),
            simulated_count: "0".into(),
            weekdays: String::new(),
        }
        .parse(db.now())?,
    )
    .await?;
    Ok(())
}

/// Where to go in the demo.
pub async fn print(db: &Db) -> anyhow::Result<()> {
    let org = organizers::by_slug(db, "lessbek").await?.id;
    let Some(room) = rooms::list(db, org).await?.into_iter().next() else {
        return Ok(());
    };
    println!("Webinars (owner@lessbek.kz manages them at /org/{org}/live):");
    println!("  room, live now:         /live/r/{}", room.id);
    for a in autowebinars::of_org(db, org).await? {
        println!(
            "  autowebinar, every 30 min: /live/a/{} (open it in two windows)",
            a.id
        );
    }
    println!();
    Ok(())
}
