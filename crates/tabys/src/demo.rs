//! The demo installation: an operator, two organizers (a coworking and an
//! online school) with an owner each, a manager, and a customer, so a person
//! can click through everything on a fresh machine. The operator's terms
//! and privacy policy and each organizer's public offer are published in
//! Russian and Kazakh, and the customer signed up accepting them. Loading
//! twice changes nothing.

use tabys_accounts::members::{self, NewStaff, Role};
use tabys_accounts::organizers::{self, ProfileInput};
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::ids::UserId;
use tabys_core::locale::Locale;
use tabys_offers::acceptance::{self, Presented};
use tabys_offers::offer::{self, OfferSettings};
use tabys_offers::signup::{self, Join, SignUp};
use tabys_offers::version::{self, VersionInput};
use tabys_offers::{Evidence, Method, OfferKind, Publisher, Version};
use tabys_store::Db;

use crate::config::Settings;

/// (email, password, what it is) — printed for the person trying the demo.
pub const LOGINS: [(&str, &str, &str); 5] = [
    (
        "operator@tabys.kz",
        "operator-demo-1",
        "operator (platform owner)",
    ),
    (
        "owner@exintra.kz",
        "owner-demo-1",
        "owner of Exintra (coworking)",
    ),
    ("manager@exintra.kz", "staff-demo-1", "manager at Exintra"),
    (
        "owner@lessbek.kz",
        "owner-demo-2",
        "owner of Lessbek Zapusk Academy (online school)",
    ),
    ("customer@example.kz", "customer-demo-1", "customer of both"),
];

fn email(s: &str) -> anyhow::Result<Email> {
    Email::parse(s).map_err(|e| anyhow::anyhow!("demo email {s}: {e}"))
}

async fn person(
    db: &Db,
    address: &str,
    password: &str,
    name: &str,
    operator: bool,
) -> anyhow::Result<users::User> {
    let address = email(address)?;
    if let Some(u) = users::find_by_email(db, &address).await? {
        return Ok(u);
    }
    let mut tx = db.begin().await?;
    let new = NewUser {
        email: address,
        name: name.into(),
        password: password.into(),
        locale: Locale::Ru,
        adult_confirmed: true,
    };
    let user = users::create(&mut tx, db, new, operator).await?;
    tx.commit().await?;
    Ok(user)
}

pub async fn load(db: &Db) -> anyhow::Result<()> {
    let operator = person(db, LOGINS[0].0, LOGINS[0].1, "Оператор Tabys", true).await?;
    let exintra_owner = person(db, LOGINS[1].0, LOGINS[1].1, "Айгерим Садыкова", false).await?;
    let lessbek_owner = person(db, LOGINS[3].0, LOGINS[3].1, "Лессбек Жумабаев", false).await?;

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
    if members::staff(db, exintra.id)
        .await?
        .iter()
        .all(|m| m.email != LOGINS[2].0)
    {
        let new = NewStaff {
            email: email(LOGINS[2].0)?,
            name: "Ерлан Омаров".into(),
            role: Role::Manager,
            password: LOGINS[2].1.into(),
            locale: Locale::Ru,
        };
        members::add_staff(db, exintra.id, exintra_owner.id, new).await?;
    }
    let checkbox = [Method::Checkbox];
    publish(
        db,
        Publisher::Platform,
        operator.id,
        OfferKind::Terms,
        &checkbox,
        1,
        PLATFORM_TERMS,
    )
    .await?;
    publish(
        db,
        Publisher::Platform,
        operator.id,
        OfferKind::Privacy,
        &checkbox,
        1,
        PLATFORM_PRIVACY,
    )
    .await?;
    let paid = [Method::Checkbox, Method::Payment];
    publish(
        db,
        Publisher::Org(exintra.id),
        exintra_owner.id,
        OfferKind::PublicOffer,
        &paid,
        1,
        EXINTRA_OFFER,
    )
    .await?;
    publish(
        db,
        Publisher::Org(lessbek.id),
        lessbek_owner.id,
        OfferKind::PublicOffer,
        &paid,
        1,
        LESSBEK_OFFER,
    )
    .await?;

    let address = email(LOGINS[4].0)?;
    if users::find_by_email(db, &address).await?.is_none() {
        // The customer signs up with Exintra and joins the academy, accepting
        // every offer shown, as a person would on the site.
        let shown = acceptance::for_signup(db, Some(exintra.id)).await?;
        let versions: Vec<&Version> = shown.iter().map(|(_, v)| v).collect();
        let new = NewUser {
            email: address,
            name: "Данияр Касымов".into(),
            password: LOGINS[4].1.into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        };
        let (customer, _) = signup::sign_up(
            db,
            SignUp {
                user: new,
                org: Some(exintra.id),
                presented: Presented::parse_list(&Presented::field(&versions))?,
                accepted: true,
                consent: true,
                evidence: demo_evidence(),
            },
        )
        .await?;
        let academy = signup::join_offers(db, lessbek.id).await?;
        let refs: Vec<&Version> = academy.iter().collect();
        let join = Join {
            presented: Presented::parse_list(&Presented::field(&refs))?,
            accepted: true,
            consent: true,
            adult: true,
            evidence: demo_evidence(),
        };
        signup::join(db, &lessbek, &customer, join).await?;
    }
    crate::demo_live::load(db).await?;
    Ok(())
}

/// What the demo customer's acceptances record as their circumstances.
fn demo_evidence() -> Evidence {
    Evidence {
        origin: tabys_accounts::sessions::Origin {
            ip: "demo".into(),
            user_agent: "tabys demo".into(),
        },
        locale: Some(Locale::Ru),
        wording: "Я прочитал(а) и принимаю условия перечисленных документов".into(),
    }
}

/// Creates an offer with its first version, unless the publisher has one of that kind.
async fn publish(
    db: &Db,
    publisher: Publisher,
    actor: UserId,
    kind: OfferKind,
    methods: &[Method],
    notice_days: i64,
    (ru, kk): (&str, &str),
) -> anyhow::Result<()> {
    if offer::list(db, publisher)
        .await?
        .iter()
        .any(|o| o.kind == kind)
    {
        return Ok(());
    }
    let settings = OfferSettings {
        methods: methods.to_vec(),
        notice_days,
    };
    let o = offer::create(db, publisher, actor, kind, &settings).await?;
    let input = VersionInput {
        text_ru: ru.into(),
        text_kk: kk.into(),
        text_en: String::new(),
        effective_at: None,
    };
    version::publish(db, publisher, o.id, actor, &input).await?;
    Ok(())
}

const PLATFORM_TERMS: (&str, &str) = (
    "Пользовательское соглашение Tabys

1. Tabys — платформа, на которой организаторы публикуют публичные оферты, продают услуги и принимают оплату в тенге.
2. Регистрируясь, пользователь подтверждает, что ознакомился с настоящим соглашением и принимает его полностью и без оговорок.
3. Оператор вправе изменять соглашение, публикуя новую редакцию не менее чем за один день до её вступления в силу. Пользователь может письменно возразить до вступления изменений в силу; продолжение пользования после этого считается согласием.
4. Договор с организатором заключается на условиях его собственной оферты; оператор не является стороной этого договора.
5. При расхождении текстов на русском и казахском языках преимущество имеет текст на русском языке.",
    "Tabys пайдаланушы келісімі

1. Tabys — ұйымдастырушылар жария оферталарды жариялайтын, қызметтерді сататын және теңгемен төлем қабылдайтын платформа.
2. Тіркеле отырып, пайдаланушы осы келісіммен танысқанын және оны толық әрі ескертпесіз қабылдайтынын растайды.
3. Оператор келісімді өзгертуге құқылы, жаңа редакцияны ол күшіне енгенге дейін кемінде бір күн бұрын жариялайды. Пайдаланушы өзгерістер күшіне енгенге дейін жазбаша қарсылық білдіре алады; одан кейін пайдалануды жалғастыру келісім болып саналады.
4. Ұйымдастырушымен шарт оның өз офертасының талаптарымен жасалады; оператор бұл шарттың тарапы емес.
5. Орыс және қазақ тілдеріндегі мәтіндер арасында айырмашылық болса, орыс тіліндегі мәтіннің басымдығы бар.",
);

const PLATFORM_PRIVACY: (&str, &str) = (
    "Политика конфиденциальности Tabys

1. Оператор обрабатывает персональные данные пользователя (имя, адрес электронной почты, IP-адрес, сведения об акцептах и платежах) в целях, перечисленных при регистрации.
2. Согласие на обработку персональных данных даётся отдельно от акцепта оферты и может быть отозвано в личном кабинете.
3. Пользователь может скачать все сведения о себе, исправить их и потребовать удаления. Сведения, которые нужно хранить как доказательство исполнения договоров и расчётов, хранятся в течение срока, установленного законодательством и договором.
4. Каждый доступ сотрудников к персональным данным записывается в журнал.",
    "Tabys құпиялылық саясаты

1. Оператор пайдаланушының дербес деректерін (аты, электрондық пошта мекенжайы, IP-мекенжайы, акцептер мен төлемдер туралы мәліметтер) тіркелу кезінде көрсетілген мақсаттарда өңдейді.
2. Дербес деректерді өңдеуге келісім офертаны акцептеуден бөлек беріледі және жеке кабинетте кері қайтарып алынуы мүмкін.
3. Пайдаланушы өзі туралы барлық мәліметтерді жүктеп алып, оларды түзетіп, жоюды талап ете алады. Шарттар мен есеп айырысулардың орындалуының дәлелі ретінде сақталуы тиіс мәліметтер заңнамада және шартта белгіленген мерзім ішінде сақталады.
4. Қызметкерлердің дербес деректерге әр қол жеткізуі журналға жазылады.",
);

const EXINTRA_OFFER: (&str, &str) = (
    "Публичная оферта ТОО «Exintra» на предоставление рабочих мест в коворкинге и участие в мероприятиях

1. Исполнитель предоставляет рабочие места и доступ к мероприятиям в коворкинге по адресу: г. Костанай, ул. Аль-Фараби, 65.
2. Акцептом оферты является регистрация с отметкой о согласии или оплата бронирования.
3. Цены указаны в тенге и включают налоги. Оплата — 100% при бронировании.
4. Возврат при отмене: более чем за 48 часов — полностью; от 24 до 48 часов — удерживается 50%; менее чем за 24 часа — не возвращается.
5. Услуги предоставляются лицам, достигшим 18 лет.",
    "«Exintra» ЖШС-нің коворкингте жұмыс орындарын беру және іс-шараларға қатысу туралы жария офертасы

1. Орындаушы Қостанай қ., Әл-Фараби к-сі, 65 мекенжайындағы коворкингте жұмыс орындарын және іс-шараларға қатысуды ұсынады.
2. Офертаның акцепті келісім белгісімен тіркелу немесе брондауды төлеу болып табылады.
3. Бағалар теңгемен көрсетілген және салықтарды қамтиды. Төлем — брондау кезінде 100%.
4. Бас тартқан кездегі қайтару: 48 сағаттан ерте — толық; 24-тен 48 сағатқа дейін — 50% ұсталады; 24 сағаттан кем — қайтарылмайды.
5. Қызметтер 18 жасқа толған тұлғаларға көрсетіледі.",
);

const LESSBEK_OFFER: (&str, &str) = (
    "Публичная оферта ИП «Lessbek Zapusk Academy» на оказание услуг

1. Услуги — авторский онлайн-курс «SMMARKETING», оказываемые на территории Республики Казахстан.
2. Пользователь оформляет Заказ путём оплаты Услуг; оплата является акцептом оферты.
3. Оплата — 100% в день оформления Заказа; в исключительных случаях — 50% с оплатой остатка во время курса. Стоимость не включает налог.
4. Оплата не подлежит возврату ввиду ограниченности мест на курсе.
5. Запрещается записывать, копировать и передавать третьим лицам материалы курса.
6. В случае несогласия с изменениями оферты Пользователь обязан письменно уведомить Исполнителя до их вступления в силу.",
    "«Lessbek Zapusk Academy» ЖК-нің қызмет көрсетудің жария офертасы

1. Қызметтер — Қазақстан Республикасының аумағында көрсетілетін «SMMARKETING» авторлық онлайн-курсы.
2. Пайдаланушы тапсырысты Қызметтерге ақы төлеу арқылы ресімдейді; төлем офертаның акцепті болып табылады.
3. Төлем — тапсырысты ресімдеу күні 100%; ерекше жағдайларда — 50%, қалдығы курс барысында төленеді. Құнға салық кірмейді.
4. Курстағы орындардың шектеулілігіне байланысты төлем қайтарылмайды.
5. Курс материалдарын жазуға, көшіруге және үшінші тұлғаларға беруге тыйым салынады.
6. Оферта өзгерістерімен келіспеген жағдайда Пайдаланушы олар күшіне енгенге дейін Орындаушыға жазбаша хабарлауға міндетті.",
);

pub fn print_logins(settings: &Settings) {
    println!();
    println!("Tabys demo — data in {}", settings.data_dir.display());
    println!("Open http://{}/ and sign in as:", settings.listen);
    for (email, password, what) in LOGINS {
        println!("  {email:<22} {password:<16} {what}");
    }
    println!();
}

/// More people for the money demo: (email, password, what it is).
pub const MONEY_LOGINS: [(&str, &str, &str); 2] = [
    (
        "client@example.kz",
        "client-demo-1",
        "customer who tops up by Kaspi and by invoice",
    ),
    (
        "owner@centerpro.kz",
        "owner-demo-3",
        "owner of Center Pro, whose paid plan has run out",
    ),
];

pub fn print_money_logins() {
    for (email, password, what) in MONEY_LOGINS
        .into_iter()
        .chain([crate::demo_learning::CURATOR])
    {
        println!("  {email:<22} {password:<16} {what}");
    }
    println!();
}

/// The money demo: the operator's plans, the payment module switched on
/// for Lessbek and Exintra, a course sold by card at Lessbek, a workplace
/// booking with Exintra's tiered refund starting in a day and a half, a
/// second customer for Kaspi and invoice top-ups, and Center Pro, whose
/// paid plan started 40 days ago and has run out. Loading twice adds nothing.
pub async fn load_money(
    db: &Db,
    cfg: &tabys_billing::BillingConfig,
    database_url: &str,
) -> anyhow::Result<()> {
    use tabys_billing::{Book, Holder, balances, payment_module, plans, products};
    let operator = person(db, LOGINS[0].0, LOGINS[0].1, "Оператор Tabys", true).await?;
    // Center Pro signed up and paid its plan 40 days ago: the demo data
    // written "then" goes through a second handle whose clock is set back
    // (the plans' prices too, so that they were in effect then).
    let then = Db::connect(
        database_url,
        std::sync::Arc::new(tabys_core::TestClock::at(db.now().plus_days(-40))),
    )
    .await?;
    if plans::list(db).await?.is_empty() {
        for (code, name, price) in [("start", "Старт", "990"), ("pro", "Про", "15 000")] {
            let input = plans::PlanInput {
                code: code.into(),
                name: name.into(),
                period_days: "30".into(),
                webinar_rooms: "10".into(),
                storage_mb: "10240".into(),
                active_students: "1000".into(),
                sms_allowance: "100".into(),
                price: price.into(),
            };
            plans::create(&then, operator.id, &input).await?;
        }
    }
    let client = person(
        db,
        MONEY_LOGINS[0].0,
        MONEY_LOGINS[0].1,
        "Алия Нурланова",
        false,
    )
    .await?;
    for slug in ["lessbek", "exintra"] {
        let org = organizers::by_slug(db, slug).await?;
        let owner = members::staff(db, org.id)
            .await?
            .into_iter()
            .find(|m| m.role == Role::Owner)
            .map(|m| m.user_id)
            .unwrap_or(operator.id);
        if payment_module::state(db, org.id).await?.status == "none" {
            payment_module::request(db, org.id, owner, "демо").await?;
            payment_module::decide(db, org.id, operator.id, true, "").await?;
            payment_module::enable(db, org.id, owner, true).await?;
        }
        balances::grant_trial(
            db,
            Book::OPERATOR,
            Holder::Org(org.id),
            &[("iin_bin", org.profile.iin_bin.clone())],
            cfg.trial_credit(),
        )
        .await?;
        members::join(db, &org, &client, true).await?;
        if !products::list(db, org.id, false).await?.is_empty() {
            continue;
        }
        let now = db.now();
        let inputs: Vec<products::ProductInput> = if slug == "lessbek" {
            vec![products::ProductInput {
                kind: "course".into(),
                title: "«SMMARKETING» — ӨЗІМ".into(),
                description: "Авторский онлайн-курс, 1,5 месяца. Цена не включает налог (п. 4.2)."
                    .into(),
                price: "93 990".into(),
                access_days: "45".into(),
                refund_policy: "none".into(),
                allow_half: true,
                rest_due_days: "30".into(),
                ..products::ProductInput::default()
            }]
        } else {
            let start = now
                .plus_seconds(36 * 3600)
                .to_jiff()
                .to_zoned(tabys_core::calendar::almaty())
                .strftime("%Y-%m-%dT%H:%M")
                .to_string();
            vec![products::ProductInput {
                kind: "workplace".into(),
                title: "Рабочее место в коворкинге на день".into(),
                description: "Цены включают налоги (§6). Возврат: более 48 ч — полностью, 24–48 ч — 50%, менее 24 ч — нет.".into(),
                price: "8 000".into(),
                taxes_included: true,
                starts_at: start,
                refund_policy: "tiers-48-24".into(),
                pass_fees: false,
                ..products::ProductInput::default()
            }]
        };
        for input in inputs {
            products::create(db, org.id, owner, input.parse()?).await?;
        }
    }
    if organizers::by_slug(db, "centerpro").await.is_err() {
        let owner = person(
            db,
            MONEY_LOGINS[1].0,
            MONEY_LOGINS[1].1,
            "Марат Ахметов",
            false,
        )
        .await?;
        let profile = ProfileInput {
            slug: "centerpro".into(),
            legal_form: "legal_entity".into(),
            legal_name: "ТОО «MOBIX» (Center Pro)".into(),
            email: "info@centerpro.kz".into(),
            legal_address: "г. Алматы, ул. Сатпаева, 30".into(),
            iin_bin: "150940001006".into(),
            kbe: "17".into(),
            head_name: "Ахметов Марат".into(),
            head_position: "Директор".into(),
            ..ProfileInput::default()
        }
        .parse()?;
        let org = organizers::create(&then, owner.id, profile).await?;
        balances::grant_trial(
            &then,
            Book::OPERATOR,
            Holder::Org(org.id),
            &[("iin_bin", org.profile.iin_bin.clone())],
            cfg.trial_credit(),
        )
        .await?;
        if let Some(start) = plans::list(&then)
            .await?
            .into_iter()
            .find(|p| p.code == "start")
        {
            plans::buy(&then, cfg, org.id, owner.id, start.id, "demo-start").await?;
        }
    }
    then.close().await;
    crate::demo_learning::load(db).await
}
