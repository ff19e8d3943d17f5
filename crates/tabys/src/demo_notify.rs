//! The notifications demo: a local post office (an SMTP sink and an SMSC
//! stand-in with pages to read what arrived) that the demo's e-mail and
//! SMS go to, a support person at Lessbek, a support thread between the
//! demo customer and Lessbek whose answer reaches the customer by e-mail
//! and by SMS, and Lessbek's SMS through the operator's account (charged
//! to its balance). Loading twice adds nothing.

use tabys_accounts::members::{self, NewStaff, Role};
use tabys_accounts::organizers;
use tabys_accounts::users;
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::phone::KzPhone;
use tabys_delivery::config::Security;
use tabys_notify::category::Category;
use tabys_notify::prefs;
use tabys_notify::settings::{self, SmsMode};
use tabys_notify::support::{self, Desk, Viewer};
use tabys_providers_fake::messaging::FakeMessaging;
use tabys_providers_fake::smsc::SmscConfig;
use tabys_store::Db;

use crate::config::Settings;

/// (email, password, what it is).
pub const LOGINS: [(&str, &str, &str); 1] = [(
    "support@lessbek.kz",
    "support-demo-1",
    "support staff at Lessbek (shared support inbox)",
)];

/// Starts the post office and points e-mail and SMS at it, unless the
/// settings name a real SMTP server.
pub async fn post_office(settings: &mut Settings) -> anyhow::Result<Option<FakeMessaging>> {
    if !settings.notify.smtp.host.is_empty() {
        return Ok(None);
    }
    let cfg = SmscConfig::default();
    let (login, password) = cfg
        .accounts
        .iter()
        .next()
        .map(|(l, p)| (l.clone(), p.clone()))
        .unwrap_or_default();
    let post = FakeMessaging::start("127.0.0.1:0".parse()?, "127.0.0.1:0".parse()?, cfg).await?;
    let n = &mut settings.notify;
    n.smtp.host = post.smtp_addr().ip().to_string();
    n.smtp.port = post.smtp_addr().port();
    n.smtp.security = Security::Plain;
    n.smtp.from = "no-reply@tabys.localhost".into();
    n.smsc.url = post.base().to_string();
    n.smsc.login = login;
    n.smsc.password = password;
    n.smsc.sender = "Tabys".into();
    Ok(Some(post))
}

pub fn print(post: Option<&FakeMessaging>) {
    for (email, password, what) in LOGINS {
        println!("  {email:<22} {password:<16} {what}");
    }
    if let Some(post) = post {
        println!();
        println!(
            "E-mail goes to a local SMTP sink ({}); read it at {}/mail",
            post.smtp_addr(),
            post.base()
        );
        println!(
            "SMS go to a local SMSC stand-in; read them at {}/sms",
            post.base()
        );
    }
    println!();
}

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("demo email {s}: {e}"))
}

pub async fn load(db: &Db) -> anyhow::Result<()> {
    let lessbek = organizers::by_slug(db, "lessbek").await?;
    let owner = users::find_by_email(db, &email("owner@lessbek.kz")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo's Lessbek owner is missing"))?;
    let customer = users::find_by_email(db, &email("customer@example.kz")?)
        .await?
        .ok_or_else(|| anyhow::anyhow!("the demo's customer is missing"))?;
    let (address, password, _) = LOGINS[0];
    let support_person = match users::find_by_email(db, &email(address)?).await? {
        Some(u) => u,
        None => {
            let m = members::add_staff(
                db,
                lessbek.id,
                owner.id,
                NewStaff {
                    email: email(address)?,
                    name: "Дана Ахметова".into(),
                    role: Role::Support,
                    password: password.into(),
                    locale: Locale::Ru,
                },
            )
            .await?;
            users::get(db, m.user_id).await?
        }
    };
    if settings::get(db, lessbek.id).await?.sms_mode == SmsMode::Off {
        let s = settings::OrgSettings {
            sender_name: "Lessbek Academy".into(),
            reply_to: "academy@lessbek.kz".into(),
            sms_mode: SmsMode::Operator,
            sms_sender: "Lessbek".into(),
            ..settings::OrgSettings::default()
        };
        settings::save(db, lessbek.id, &s).await?;
        let phone =
            KzPhone::parse("+7 701 555 12 34").map_err(|e| anyhow::anyhow!("demo phone: {e}"))?;
        prefs::set_phone(db, customer.id, Some(&phone), db.now()).await?;
        // The customer takes support answers by SMS too, so the demo's
        // answer below goes out as an SMS charged to Lessbek.
        prefs::set_channels(
            db,
            customer.id,
            prefs::Channels {
                category: Category::Events,
                email: true,
                sms: true,
            },
        )
        .await?;
    }
    if support::of_author(db, customer.id).await?.is_empty() {
        let thread = support::open(
            db,
            customer.id,
            Desk::Org(lessbek.id),
            "Не открывается второй модуль курса",
            "Здравствуйте! После оплаты курса второй модуль не открывается. Подскажите, что делать?",
        )
        .await?;
        support::post(
            db,
            Viewer::Staff(support_person.id),
            Some(lessbek.id),
            thread,
            "Здравствуйте! Второй модуль открывается через неделю после первого. Если не откроется завтра, напишите сюда.",
            None,
        )
        .await?;
    }
    Ok(())
}
