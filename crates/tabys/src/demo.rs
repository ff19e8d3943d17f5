//! The demo installation: an operator, two organizers (a coworking and an
//! online school) with an owner each, a manager, and a customer, so a person
//! can click through everything on a fresh machine. Loading twice changes
//! nothing.

use tabys_accounts::members::{self, NewStaff, Role};
use tabys_accounts::organizers::{self, ProfileInput};
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_store::Db;

use crate::config::Settings;

/// (email, password, what it is) — printed for the person trying the demo.
pub const LOGINS: [(&str, &str, &str); 5] = [
    ("operator@tabys.kz", "operator-demo-1", "operator (platform owner)"),
    ("owner@exintra.kz", "owner-demo-1", "owner of Exintra (coworking)"),
    ("manager@exintra.kz", "staff-demo-1", "manager at Exintra"),
    ("owner@lessbek.kz", "owner-demo-2", "owner of Lessbek Zapusk Academy (online school)"),
    ("customer@example.kz", "customer-demo-1", "customer of both"),
];

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("demo email {s}: {e}"))
}

async fn person(db: &Db, address: &str, password: &str, name: &str, operator: bool) -> anyhow::Result<users::User> {
    let address = email(address)?;
    if let Some(u) = users::find_by_email(db, &address).await? {
        return Ok(u);
    }
    let mut tx = db.begin().await?;
    let new = NewUser { email: address, name: name.into(), password: password.into(), locale: Locale::Ru, adult_confirmed: true };
    let user = users::create(&mut tx, db, new, operator).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn load(db: &Db) -> anyhow::Result<()> {
    person(db, LOGINS[0].0, LOGINS[0].1, "Оператор Tabys", true).await?;
    let exintra_owner = person(db, LOGINS[1].0, LOGINS[1].1, "Айгерим Садыкова", false).await?;
    let lessbek_owner = person(db, LOGINS[3].0, LOGINS[3].1, "Лессбек Жумабаев", false).await?;
    let customer = person(db, LOGINS[4].0, LOGINS[4].1, "Данияр Касымов", false).await?;

    let exintra = match organizers::by_slug(db, "exintra").await {
        Ok(o) => o,
        Err(_) => {
            let profile = ProfileInput {
                slug: "exintra".into(),
                legal_form: "legal_entity".into(),
                legal_name: "ТОО «Exintra»".into(),
                email: "hello@exintra.kz".into(),
                legal_address: "г. Костанай, ул. Аль-Фараби, 65".into(),
                iin_bin: "180540001239".into(),
                iik: "KZ86125KZT5004100100".into(),
                bik: "HSBKKZKX".into(),
                kbe: "17".into(),
                head_name: "Садыкова Айгерим Маратовна".into(),
                head_position: "Директор".into(),
                requires_adult: true,
            }
            .parse()?;
            organizers::create(db, exintra_owner.id, profile).await?
        }
    };
    let lessbek = match organizers::by_slug(db, "lessbek").await {
        Ok(o) => o,
        Err(_) => {
            let profile = ProfileInput {
                slug: "lessbek".into(),
                legal_form: "entrepreneur".into(),
                legal_name: "ИП «Lessbek Zapusk Academy»".into(),
                email: "academy@lessbek.kz".into(),
                legal_address: "г. Алматы, пр. Абая, 10".into(),
                iin_bin: "900101300811".into(),
                head_name: "Жумабаев Лессбек".into(),
                head_position: "Индивидуальный предприниматель".into(),
                ..ProfileInput::default()
            }
            .parse()?;
            organizers::create(db, lessbek_owner.id, profile).await?
        }
    };
    if members::staff(db, exintra.id).await?.iter().all(|m| m.email != LOGINS[2].0) {
        let new = NewStaff {
            email: email(LOGINS[2].0)?,
            name: "Ерлан Омаров".into(),
            role: Role::Manager,
            password: LOGINS[2].1.into(),
            locale: Locale::Ru,
        };
        members::add_staff(db, exintra.id, exintra_owner.id, new).await?;
    }
    for org in [&exintra, &lessbek] {
        members::join(db, org, &customer, true).await?;
    }
    Ok(())
}

pub fn print_logins(settings: &Settings) {
    println!();
    println!("Tabys demo — data in {}", settings.data_dir.display());
    println!("Open http://{}/ and sign in as:", settings.listen);
    for (email, password, what) in LOGINS {
        println!("  {email:<22} {password:<16} {what}");
    }
    println!();
}
