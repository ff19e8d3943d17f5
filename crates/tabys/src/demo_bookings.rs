//! The coworking demo at Exintra: a hot-desk zone, a fixed desk, a meeting
//! room and a private office with prices per hour, half day and day (taxes
//! included, EX §6), a monthly membership, an event next week with a free
//! and a paid ticket and a registration question, and a community feed with
//! a post and a comment. Loading twice changes nothing.

use tabys_accounts::members::{self, Role};
use tabys_accounts::organizers;
use tabys_billing::products::{self, ProductInput};
use tabys_bookings::resources::{self, ResourceInput};
use tabys_bookings::{community, events};
use tabys_core::calendar;
use tabys_store::Db;

pub async fn load(db: &Db) -> anyhow::Result<()> {
    let org = organizers::by_slug(db, "exintra").await?;
    if !resources::list(db, org.id, false).await?.is_empty() {
        return Ok(());
    }
    let owner = members::staff(db, org.id)
        .await?
        .into_iter()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.user_id)
        .ok_or_else(|| anyhow::anyhow!("Exintra has no owner"))?;
    let membership = products::create(
        db,
        org.id,
        owner,
        ProductInput {
            kind: "subscription".into(),
            title: "Абонемент на рабочее место, месяц".into(),
            description: "Незакреплённое место в open space без оплаты каждого дня. После начала месяца не возвращается (§6).".into(),
            price: "45 000".into(),
            taxes_included: true,
            recurring_months: "1".into(),
            refund_policy: "none".into(),
            ..ProductInput::default()
        }
        .parse()?,
    )
    .await?;
    let base = ResourceInput {
        open_hour: "9".into(),
        close_hour: "21".into(),
        closed_weekdays: "7".into(),
        use_holidays: Some("1".into()),
        taxes: "included".into(),
        ..ResourceInput::default()
    };
    let list = [
        ResourceInput {
            kind: "hot-desk".into(),
            title: "Open space".into(),
            description: "Незакреплённые места у окон, кофе и принтер включены.".into(),
            zone: "2 этаж".into(),
            seats: "20".into(),
            capacity: "20".into(),
            price_hour: "1 000".into(),
            price_half_day: "3 500".into(),
            price_day: "6 000".into(),
            membership_product_id: membership.id.to_string(),
            ..base.clone()
        },
        ResourceInput {
            kind: "fixed-desk".into(),
            title: "Закреплённое место №7".into(),
            description: "Своё место с тумбой.".into(),
            zone: "2 этаж".into(),
            capacity: "1".into(),
            price_day: "8 000".into(),
            membership_product_id: membership.id.to_string(),
            ..base.clone()
        },
        ResourceInput {
            kind: "meeting-room".into(),
            title: "Переговорная «Тобыл»".into(),
            description: "8 мест, экран и маркерная доска.".into(),
            capacity: "8".into(),
            one_per_member: Some("1".into()),
            price_hour: "5 000".into(),
            price_half_day: "18 000".into(),
            ..base.clone()
        },
        ResourceInput {
            kind: "private-office".into(),
            title: "Офис на 4 человека".into(),
            description: "Закрывается на ключ.".into(),
            capacity: "4".into(),
            price_day: "25 000".into(),
            ..base
        },
    ];
    let mut room = None;
    for input in list {
        let r = resources::create(db, org.id, owner, input.parse()?).await?;
        if r.kind == "meeting-room" {
            room = Some(r.id);
        }
    }
    let start = calendar::business_date(db.now().plus_days(7));
    let event = events::create(
        db,
        org.id,
        owner,
        events::EventInput {
            title: "Нетворкинг предпринимателей Костаная".into(),
            description: "Знакомства, короткие выступления участников и кофе.".into(),
            starts_at: format!("{start}T18:00"),
            hours: "2".into(),
            room_id: room.map(|r| r.to_string()).unwrap_or_default(),
            capacity: "30".into(),
            questions: "Чем занимается ваша компания?".into(),
            ..events::EventInput::default()
        }
        .parse(db.now())?,
    )
    .await?;
    events::add_ticket_type(db, org.id, owner, event.id, "Участник", "0").await?;
    events::add_ticket_type(db, org.id, owner, event.id, "Участник с ужином", "5 000").await?;
    let customer = tabys_accounts::users::find_by_email(
        db,
        &tabys_core::email::Email::parse(crate::demo::LOGINS[4].0)
            .map_err(|e| anyhow::anyhow!("{e}"))?,
    )
    .await?
    .ok_or_else(|| anyhow::anyhow!("the demo customer is missing"))?;
    let post = community::publish(
        db,
        org.id,
        customer.id,
        "Всем привет! Ищу дизайнера для лендинга, буду в open space в четверг.",
    )
    .await?;
    community::comment(
        db,
        org.id,
        owner,
        post,
        "Добро пожаловать! В четверг здесь же встреча дизайнеров.",
    )
    .await?;
    Ok(())
}
