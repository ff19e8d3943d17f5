//! The course demo: Lessbek Zapusk Academy's course product carries a
//! sample course in Russian and one in Kazakh (a lesson to read, an
//! assignment for the curator, a stop-lesson and a quiz), so a customer can
//! buy it with the test card and complete it; and a curator login checks
//! the work. Loading twice changes nothing.

use tabys_accounts::members::{self, NewStaff, Role};
use tabys_accounts::organizers;
use tabys_accounts::users;
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_learning::courses::{self, CourseInput, LessonInput};
use tabys_learning::quiz::{self, QuestionInput};
use tabys_store::Db;

/// The curator's login: (email, password, what it is).
pub const CURATOR: (&str, &str, &str) = (
    "curator@lessbek.kz",
    "curator-demo-1",
    "curator at Lessbek (checks assignments)",
);

/// One lesson of a sample course: title, text, assignment, quiz.
struct Sample {
    title: &'static str,
    body: &'static str,
    assignment: &'static str,
    drip: &'static str,
    quiz: &'static [(&'static str, &'static str, &'static str, &'static str)],
}

const RU: [Sample; 3] = [
    Sample {
        title: "Введение: что такое SMM",
        body: "# Добро пожаловать!\n\nЗа 1,5 месяца вы научитесь вести Instagram и TikTok для бизнеса.\n\n- **Цель:** контент, который продаёт\n- **Формат:** уроки, задания с куратором, тесты\n\nМатериалы курса нельзя записывать и передавать третьим лицам (п. 11.5 оферты).",
        assignment: "",
        drip: "all",
        quiz: &[],
    },
    Sample {
        title: "Контент-план на неделю",
        body: "## Контент-план\n\nСоставьте план публикаций на 7 дней: рубрика, формат (рилс, сторис, пост), цель.",
        assignment: "Пришлите контент-план на неделю для своего проекта: 7 строк «день — формат — тема — цель».",
        drip: "all",
        quiz: &[],
    },
    Sample {
        title: "Метрики и итоговый тест",
        body: "## Метрики\n\n*ER* — вовлечённость, *CTR* — кликабельность, *ROI* — окупаемость вложений.",
        assignment: "",
        drip: "stop",
        quiz: &[
            (
                "single",
                "Какая сеть сделана для коротких видео?",
                "LinkedIn\nTikTok\nТелеграм-канал",
                "2",
            ),
            (
                "multiple",
                "Что из этого — метрики?",
                "ER\nCTR\nЦвет логотипа",
                "1, 2",
            ),
            (
                "text",
                "Как по-английски расшифровывается ROI?",
                "",
                "return on investment",
            ),
        ],
    },
];

const KK: [Sample; 3] = [
    Sample {
        title: "Кіріспе: SMM деген не",
        body: "# Қош келдіңіз!\n\n1,5 айда бизнеске арналған Instagram мен TikTok жүргізуді үйренесіз.\n\n- **Мақсат:** сататын контент\n- **Формат:** сабақтар, куратормен тапсырмалар, тесттер\n\nКурс материалдарын жазуға және үшінші тұлғаларға беруге болмайды (офертаның 11.5-тармағы).",
        assignment: "",
        drip: "all",
        quiz: &[],
    },
    Sample {
        title: "Бір аптаға контент-жоспар",
        body: "## Контент-жоспар\n\n7 күнге жарияланым жоспарын құрыңыз: айдар, формат (рилс, сторис, пост), мақсат.",
        assignment: "Жобаңызға бір аптаға контент-жоспар жіберіңіз: «күн — формат — тақырып — мақсат» түрінде 7 жол.",
        drip: "all",
        quiz: &[],
    },
    Sample {
        title: "Метрикалар және қорытынды тест",
        body: "## Метрикалар\n\n*ER* — қатысу деңгейі, *CTR* — басу деңгейі, *ROI* — инвестицияның қайтарымы.",
        assignment: "",
        drip: "stop",
        quiz: &[
            (
                "single",
                "Қысқа видеоларға арналған желі қайсы?",
                "LinkedIn\nTikTok\nТелеграм-арна",
                "2",
            ),
            (
                "multiple",
                "Қайсысы метрика?",
                "ER\nCTR\nЛоготип түсі",
                "1, 2",
            ),
            (
                "text",
                "ROI ағылшынша қалай ашылады?",
                "",
                "return on investment",
            ),
        ],
    },
];

pub async fn load(db: &Db) -> anyhow::Result<()> {
    let org = organizers::by_slug(db, "lessbek").await?;
    let staff = members::staff(db, org.id).await?;
    let owner = staff
        .iter()
        .find(|m| m.role == Role::Owner)
        .map(|m| m.user_id)
        .ok_or_else(|| anyhow::anyhow!("Lessbek has no owner"))?;
    let curator_email = Email::parse(CURATOR.0).map_err(|e| anyhow::anyhow!("{e}"))?;
    if users::find_by_email(db, &curator_email).await?.is_none() {
        members::add_staff(
            db,
            org.id,
            owner,
            NewStaff {
                email: curator_email,
                name: "Әсем Куратова".into(),
                role: Role::Curator,
                password: CURATOR.1.into(),
                locale: Locale::Kk,
            },
        )
        .await?;
    }
    if !courses::list(db, org.id).await?.is_empty() {
        return Ok(());
    }
    let product = tabys_billing::products::list(db, org.id, false)
        .await?
        .into_iter()
        .find(|p| p.kind == "course")
        .map(|p| p.id.to_string())
        .unwrap_or_default();
    for (title, locale, lessons) in [
        ("SMMARKETING: старт", "ru", &RU),
        ("SMMARKETING: бастау", "kk", &KK),
    ] {
        let course = courses::create(
            db,
            org.id,
            &CourseInput {
                title: title.into(),
                description: "Lessbek Zapusk Academy".into(),
                product_id: product.clone(),
                locale: locale.into(),
                late_submissions: true,
                signer_name: "Лесбек Л. М.".into(),
                signer_position: "Индивидуальный предприниматель".into(),
                forbidden_words: "конкурент\nреклама".into(),
                ..CourseInput::default()
            },
        )
        .await?;
        let module = courses::modules(db, org.id, course.id)
            .await?
            .first()
            .map(|m| m.id)
            .ok_or_else(|| anyhow::anyhow!("a new course has a module"))?;
        for s in lessons.iter() {
            let lesson = courses::add_lesson(db, org.id, course.id, module, s.title).await?;
            courses::update_lesson(
                db,
                org.id,
                lesson.id,
                &LessonInput {
                    title: s.title.into(),
                    body: s.body.into(),
                    module_id: module.to_string(),
                    required: true,
                    drip: s.drip.into(),
                    assignment: s.assignment.into(),
                    deadline_days: if s.assignment.is_empty() {
                        String::new()
                    } else {
                        "7".into()
                    },
                    quiz_pass: if s.quiz.is_empty() {
                        String::new()
                    } else {
                        "60".into()
                    },
                    quiz_attempts: if s.quiz.is_empty() {
                        String::new()
                    } else {
                        "3".into()
                    },
                    quiz_minutes: if s.quiz.is_empty() {
                        String::new()
                    } else {
                        "15".into()
                    },
                    ..LessonInput::default()
                },
            )
            .await?;
            for (kind, prompt, options, answer) in s.quiz {
                quiz::add_question(
                    db,
                    org.id,
                    lesson.id,
                    &QuestionInput {
                        kind: (*kind).into(),
                        prompt: (*prompt).into(),
                        options: (*options).into(),
                        answer: (*answer).into(),
                    },
                )
                .await?;
            }
            courses::set_lesson_published(db, org.id, lesson.id, true).await?;
        }
        courses::set_published(db, org.id, course.id, true).await?;
    }
    Ok(())
}
