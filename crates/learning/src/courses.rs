//! The course builder: courses, their modules and lessons, order, draft
//! and published states, drip rules and what a lesson asks of a student
//! (an assignment, a quiz, or simply reading it).

use sqlx::Row;
use tabys_core::ids::OrgId;
use tabys_core::locale::Locale;
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::Db;

use crate::{number, text, title};

#[derive(Debug, Clone, serde::Serialize)]
pub struct Course {
    pub id: i64,
    pub org_id: OrgId,
    /// The product whose paid order gives access.
    pub product_id: Option<i64>,
    /// A school-wide subscription (any active product of kind
    /// `subscription` of the organizer) also gives access.
    pub in_subscription: bool,
    pub title: String,
    pub description: String,
    /// The language of the certificate.
    pub locale: Locale,
    /// `draft` or `published`.
    pub status: String,
    /// Whether an assignment may be handed in after its deadline (marked late).
    pub late_submissions: bool,
    pub signer_name: String,
    pub signer_position: String,
    /// Words the school forbids in lesson discussions, one per line (LZ 6.3).
    pub forbidden_words: String,
    /// Whether links may be posted in discussions (advertising, LZ 6.3).
    pub links_allowed: bool,
}

impl Course {
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }
}

const COURSE_COLUMNS: &str = "id, org_id, product_id, in_subscription, title, description, locale, status, late_submissions, \
     signer_name, signer_position, forbidden_words, links_allowed";

fn course_from_row(r: &sqlx::any::AnyRow) -> Result<Course> {
    let locale: String = r.try_get(6)?;
    Ok(Course {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        product_id: r.try_get(2)?,
        in_subscription: r.try_get::<i64, _>(3)? != 0,
        title: r.try_get(4)?,
        description: r.try_get(5)?,
        locale: Locale::parse(&locale).unwrap_or(Locale::Ru),
        status: r.try_get(7)?,
        late_submissions: r.try_get::<i64, _>(8)? != 0,
        signer_name: r.try_get(9)?,
        signer_position: r.try_get(10)?,
        forbidden_words: r.try_get(11)?,
        links_allowed: r.try_get::<i64, _>(12)? != 0,
    })
}

/// A course as typed into the builder's form.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct CourseInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub product_id: String,
    #[serde(default)]
    pub in_subscription: bool,
    #[serde(default)]
    pub locale: String,
    #[serde(default)]
    pub late_submissions: bool,
    #[serde(default)]
    pub signer_name: String,
    #[serde(default)]
    pub signer_position: String,
    #[serde(default)]
    pub forbidden_words: String,
    #[serde(default)]
    pub links_allowed: bool,
}

impl From<&Course> for CourseInput {
    fn from(c: &Course) -> Self {
        Self {
            title: c.title.clone(),
            description: c.description.clone(),
            product_id: c.product_id.map(|p| p.to_string()).unwrap_or_default(),
            in_subscription: c.in_subscription,
            locale: c.locale.code().into(),
            late_submissions: c.late_submissions,
            signer_name: c.signer_name.clone(),
            signer_position: c.signer_position.clone(),
            forbidden_words: c.forbidden_words.clone(),
            links_allowed: c.links_allowed,
        }
    }
}

struct CheckedCourse {
    title: String,
    description: String,
    product_id: Option<i64>,
    locale: Locale,
    signer_name: String,
    signer_position: String,
    forbidden_words: String,
}

async fn check_course(db: &Db, org: OrgId, input: &CourseInput) -> Result<CheckedCourse> {
    let mut errors = Vec::new();
    let mut keep = |r: Result<String>| match r {
        Ok(s) => s,
        Err(Error::Invalid(mut f)) => {
            errors.append(&mut f);
            String::new()
        }
        Err(_) => String::new(),
    };
    let t = keep(title(&input.title, "title"));
    let description = keep(text(&input.description, "description", 5000, false));
    let signer_name = keep(text(&input.signer_name, "signer_name", 200, false));
    let signer_position = keep(text(&input.signer_position, "signer_position", 200, false));
    let forbidden_words = keep(text(&input.forbidden_words, "forbidden_words", 5000, false));
    let locale = match input.locale.trim() {
        "" => Some(Locale::Ru),
        s => Locale::parse(s),
    };
    if locale.is_none() {
        errors.push(tabys_core::FieldError {
            field: "locale",
            code: "locale-unknown",
        });
    }
    let product_id = match number(&input.product_id, "product_id", 1..=i64::MAX) {
        Ok(p) => p,
        Err(Error::Invalid(mut f)) => {
            errors.append(&mut f);
            None
        }
        Err(e) => return Err(e),
    };
    if let Some(p) = product_id {
        match tabys_billing::products::get(db, org, p).await {
            Ok(product) if product.kind == "course" => {}
            Ok(_) => errors.push(tabys_core::FieldError {
                field: "product_id",
                code: "course-product-kind",
            }),
            Err(Error::NotFound) => errors.push(tabys_core::FieldError {
                field: "product_id",
                code: "course-product-kind",
            }),
            Err(e) => return Err(e),
        }
    }
    if !errors.is_empty() {
        return Err(Error::Invalid(errors));
    }
    Ok(CheckedCourse {
        title: t,
        description,
        product_id,
        locale: locale.unwrap_or(Locale::Ru),
        signer_name,
        signer_position,
        forbidden_words,
    })
}

pub async fn create(db: &Db, org: OrgId, input: &CourseInput) -> Result<Course> {
    let c = check_course(db, org, input).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO courses (org_id, product_id, in_subscription, title, description, locale, status, late_submissions,
             signer_name, signer_position, forbidden_words, links_allowed, created_at, updated_at)
         VALUES ($1, $2, $3, $4, $5, $6, 'draft', $7, $8, $9, $10, $11, $12, $12) RETURNING {COURSE_COLUMNS}"
    ))
    .bind(org.0)
    .bind(c.product_id)
    .bind(i64::from(input.in_subscription))
    .bind(&c.title)
    .bind(&c.description)
    .bind(c.locale.code())
    .bind(i64::from(input.late_submissions))
    .bind(&c.signer_name)
    .bind(&c.signer_position)
    .bind(&c.forbidden_words)
    .bind(i64::from(input.links_allowed))
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let course = course_from_row(&row)?;
    sqlx::query(
        "INSERT INTO course_modules (org_id, course_id, title, position, created_at) VALUES ($1, $2, $3, 1, $4)",
    )
    .bind(org.0)
    .bind(course.id)
    .bind("1")
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(course)
}

pub async fn update(db: &Db, org: OrgId, id: i64, input: &CourseInput) -> Result<Course> {
    let c = check_course(db, org, input).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE courses SET product_id = $1, in_subscription = $2, title = $3, description = $4, locale = $5,
             late_submissions = $6, signer_name = $7, signer_position = $8, forbidden_words = $9, links_allowed = $10,
             updated_at = $11
         WHERE id = $12 AND org_id = $13 RETURNING {COURSE_COLUMNS}"
    ))
    .bind(c.product_id)
    .bind(i64::from(input.in_subscription))
    .bind(&c.title)
    .bind(&c.description)
    .bind(c.locale.code())
    .bind(i64::from(input.late_submissions))
    .bind(&c.signer_name)
    .bind(&c.signer_position)
    .bind(&c.forbidden_words)
    .bind(i64::from(input.links_allowed))
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(Error::NotFound)?;
    tx.commit().await?;
    course_from_row(&row)
}

/// Publishes a course or takes it back to draft. A course is published
/// only with at least one published lesson.
pub async fn set_published(db: &Db, org: OrgId, id: i64, published: bool) -> Result<()> {
    get(db, org, id).await?;
    if published {
        let row = sqlx::query(
            "SELECT COUNT(*) FROM lessons WHERE course_id = $1 AND org_id = $2 AND status = 'published'",
        )
        .bind(id)
        .bind(org.0)
        .fetch_one(db.read())
        .await?;
        if row.try_get::<i64, _>(0)? == 0 {
            return Err(Error::Conflict("course-no-lessons"));
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query("UPDATE courses SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4")
        .bind(if published { "published" } else { "draft" })
        .bind(db.now().0)
        .bind(id)
        .bind(org.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// One of the organizer's courses.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Course> {
    let row = sqlx::query(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    course_from_row(&row)
}

/// A course by id alone, for a student's pages: who may see it is decided
/// by [`crate::access::check`].
pub async fn find(db: &Db, id: i64) -> Result<Course> {
    let row = sqlx::query(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    course_from_row(&row)
}

pub async fn list(db: &Db, org: OrgId) -> Result<Vec<Course>> {
    let rows = sqlx::query(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE org_id = $1 ORDER BY id DESC LIMIT 500"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(course_from_row).collect()
}

/// Published courses sold through a product, for its public page.
pub async fn of_product(db: &Db, org: OrgId, product: i64) -> Result<Vec<Course>> {
    let rows = sqlx::query(&format!(
        "SELECT {COURSE_COLUMNS} FROM courses WHERE org_id = $1 AND product_id = $2 AND status = 'published' ORDER BY id"
    ))
    .bind(org.0)
    .bind(product)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(course_from_row).collect()
}

// ------------------------------------------------------------------ modules

#[derive(Debug, Clone, serde::Serialize)]
pub struct Module {
    pub id: i64,
    pub course_id: i64,
    pub title: String,
    pub position: i64,
}

pub async fn add_module(db: &Db, org: OrgId, course: i64, raw_title: &str) -> Result<Module> {
    let t = title(raw_title, "title")?;
    get(db, org, course).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO course_modules (org_id, course_id, title, position, created_at)
         VALUES ($1, $2, $3, (SELECT COALESCE(MAX(position), 0) + 1 FROM course_modules WHERE course_id = $2), $4)
         RETURNING id, position",
    )
    .bind(org.0)
    .bind(course)
    .bind(&t)
    .bind(db.now().0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Module {
        id: row.try_get(0)?,
        course_id: course,
        title: t,
        position: row.try_get(1)?,
    })
}

pub async fn rename_module(db: &Db, org: OrgId, module: i64, raw_title: &str) -> Result<()> {
    let t = title(raw_title, "title")?;
    let mut tx = db.begin().await?;
    let done = sqlx::query("UPDATE course_modules SET title = $1 WHERE id = $2 AND org_id = $3")
        .bind(&t)
        .bind(module)
        .bind(org.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Swaps a module with its neighbour above or below.
pub async fn move_module(db: &Db, org: OrgId, module: i64, up: bool) -> Result<()> {
    let mut tx = db.begin().await?;
    let row =
        sqlx::query("SELECT course_id, position FROM course_modules WHERE id = $1 AND org_id = $2")
            .bind(module)
            .bind(org.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound)?;
    let (course, pos): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let sql = if up {
        "SELECT id, position FROM course_modules WHERE course_id = $1 AND position < $2 ORDER BY position DESC LIMIT 1"
    } else {
        "SELECT id, position FROM course_modules WHERE course_id = $1 AND position > $2 ORDER BY position LIMIT 1"
    };
    if let Some(other) = sqlx::query(sql)
        .bind(course)
        .bind(pos)
        .fetch_optional(&mut *tx)
        .await?
    {
        let (oid, opos): (i64, i64) = (other.try_get(0)?, other.try_get(1)?);
        for (id, p) in [(module, opos), (oid, pos)] {
            sqlx::query("UPDATE course_modules SET position = $1 WHERE id = $2")
                .bind(p)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

// ------------------------------------------------------------------ lessons

#[derive(Debug, Clone, serde::Serialize)]
pub struct Lesson {
    pub id: i64,
    pub org_id: OrgId,
    pub course_id: i64,
    pub module_id: i64,
    pub title: String,
    /// Lesson text in the markup of [`crate::markup`].
    pub body: String,
    pub position: i64,
    /// `draft` or `published`.
    pub status: String,
    /// Counts towards completion.
    pub required: bool,
    /// `all` (at once), `date`, `days` (after access starts) or `stop`
    /// (after the previous lesson's assignment is accepted).
    pub drip: String,
    pub open_at: Option<i64>,
    pub open_days: Option<i64>,
    /// The assignment's task; empty: no assignment.
    pub assignment: String,
    /// Days after the lesson opens by which the assignment is due.
    pub deadline_days: Option<i64>,
    /// Percent of points needed to pass the quiz.
    pub quiz_pass: Option<i64>,
    pub quiz_attempts: Option<i64>,
    pub quiz_minutes: Option<i64>,
}

impl Lesson {
    pub fn is_published(&self) -> bool {
        self.status == "published"
    }

    pub fn has_assignment(&self) -> bool {
        !self.assignment.is_empty()
    }
}

const LESSON_COLUMNS: &str = "id, org_id, course_id, module_id, title, body, position, status, required, drip, open_at, open_days, \
     assignment, deadline_days, quiz_pass, quiz_attempts, quiz_minutes";

fn lesson_from_row(r: &sqlx::any::AnyRow) -> Result<Lesson> {
    Ok(Lesson {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        course_id: r.try_get(2)?,
        module_id: r.try_get(3)?,
        title: r.try_get(4)?,
        body: r.try_get(5)?,
        position: r.try_get(6)?,
        status: r.try_get(7)?,
        required: r.try_get::<i64, _>(8)? != 0,
        drip: r.try_get(9)?,
        open_at: r.try_get(10)?,
        open_days: r.try_get(11)?,
        assignment: r.try_get(12)?,
        deadline_days: r.try_get(13)?,
        quiz_pass: r.try_get(14)?,
        quiz_attempts: r.try_get(15)?,
        quiz_minutes: r.try_get(16)?,
    })
}

pub const DRIPS: [&str; 4] = ["all", "date", "days", "stop"];

/// A lesson as typed into the editor.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct LessonInput {
    #[serde(default)]
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub module_id: String,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub drip: String,
    /// Local Almaty time `YYYY-MM-DDTHH:MM`, for `date`.
    #[serde(default)]
    pub open_at: String,
    #[serde(default)]
    pub open_days: String,
    #[serde(default)]
    pub assignment: String,
    #[serde(default)]
    pub deadline_days: String,
    #[serde(default)]
    pub quiz_pass: String,
    #[serde(default)]
    pub quiz_attempts: String,
    #[serde(default)]
    pub quiz_minutes: String,
}

/// `YYYY-MM-DDTHH:MM` in Almaty time, as a form shows it.
pub fn local_input(t: Option<i64>) -> String {
    t.map(|t| {
        Timestamp(t)
            .to_jiff()
            .to_zoned(calendar::almaty())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

impl From<&Lesson> for LessonInput {
    fn from(l: &Lesson) -> Self {
        let n = |v: Option<i64>| v.map(|v| v.to_string()).unwrap_or_default();
        Self {
            title: l.title.clone(),
            body: l.body.clone(),
            module_id: l.module_id.to_string(),
            required: l.required,
            drip: l.drip.clone(),
            open_at: local_input(l.open_at),
            open_days: n(l.open_days),
            assignment: l.assignment.clone(),
            deadline_days: n(l.deadline_days),
            quiz_pass: n(l.quiz_pass),
            quiz_attempts: n(l.quiz_attempts),
            quiz_minutes: n(l.quiz_minutes),
        }
    }
}

/// Collects every field's problem before answering.
#[derive(Default)]
pub(crate) struct Problems(pub Vec<tabys_core::FieldError>);

impl Problems {
    pub fn take<T: Default>(&mut self, r: Result<T>) -> Result<T> {
        match r {
            Ok(v) => Ok(v),
            Err(Error::Invalid(mut f)) => {
                self.0.append(&mut f);
                Ok(T::default())
            }
            Err(e) => Err(e),
        }
    }

    pub fn push(&mut self, field: &'static str, code: &'static str) {
        self.0.push(tabys_core::FieldError { field, code });
    }

    pub fn finish(self) -> Result<()> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self.0))
        }
    }
}

pub async fn add_lesson(
    db: &Db,
    org: OrgId,
    course: i64,
    module: i64,
    raw_title: &str,
) -> Result<Lesson> {
    let t = title(raw_title, "title")?;
    get(db, org, course).await?;
    module_of(db, org, course, module).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO lessons (org_id, course_id, module_id, title, body, position, status, required, drip, created_at, updated_at)
         VALUES ($1, $2, $3, $4, '', (SELECT COALESCE(MAX(position), 0) + 1 FROM lessons WHERE module_id = $3), 'draft', 1, 'all', $5, $5)
         RETURNING {LESSON_COLUMNS}"
    ))
    .bind(org.0)
    .bind(course)
    .bind(module)
    .bind(&t)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    lesson_from_row(&row)
}

async fn module_of(db: &Db, org: OrgId, course: i64, module: i64) -> Result<()> {
    sqlx::query("SELECT id FROM course_modules WHERE id = $1 AND course_id = $2 AND org_id = $3")
        .bind(module)
        .bind(course)
        .bind(org.0)
        .fetch_optional(db.read())
        .await?
        .ok_or_else(|| Error::invalid("module_id", "course-module-unknown"))?;
    Ok(())
}

pub async fn update_lesson(db: &Db, org: OrgId, id: i64, input: &LessonInput) -> Result<Lesson> {
    let lesson = lesson(db, org, id).await?;
    let mut p = Problems::default();
    let t = p.take(title(&input.title, "title"))?;
    let body = p.take(text(&input.body, "body", 100_000, false))?;
    let assignment = p.take(text(&input.assignment, "assignment", 10_000, false))?;
    let module_id = match input.module_id.trim().parse::<i64>() {
        Ok(m) => match module_of(db, org, lesson.course_id, m).await {
            Ok(()) => m,
            Err(Error::Invalid(_)) => {
                p.push("module_id", "course-module-unknown");
                lesson.module_id
            }
            Err(e) => return Err(e),
        },
        Err(_) => lesson.module_id,
    };
    let drip = DRIPS.iter().copied().find(|d| *d == input.drip.trim());
    if drip.is_none() {
        p.push("drip", "course-drip-unknown");
    }
    let open_at = match input.open_at.trim() {
        "" => None,
        s => {
            let t = tabys_billing::products::parse_local_time(s);
            if t.is_none() {
                p.push("open_at", "datetime-format");
            }
            t
        }
    };
    if drip == Some("date") && open_at.is_none() && input.open_at.trim().is_empty() {
        p.push("open_at", "required");
    }
    let open_days = p.take(number(&input.open_days, "open_days", 0..=3650))?;
    if drip == Some("days") && open_days.is_none() && input.open_days.trim().is_empty() {
        p.push("open_days", "required");
    }
    let deadline_days = p.take(number(&input.deadline_days, "deadline_days", 1..=3650))?;
    let quiz_pass = p.take(number(&input.quiz_pass, "quiz_pass", 1..=100))?;
    let quiz_attempts = p.take(number(&input.quiz_attempts, "quiz_attempts", 1..=100))?;
    let quiz_minutes = p.take(number(&input.quiz_minutes, "quiz_minutes", 1..=600))?;
    p.finish()?;
    let position = if module_id == lesson.module_id {
        lesson.position
    } else {
        let row =
            sqlx::query("SELECT COALESCE(MAX(position), 0) + 1 FROM lessons WHERE module_id = $1")
                .bind(module_id)
                .fetch_one(db.read())
                .await?;
        row.try_get(0)?
    };
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "UPDATE lessons SET title = $1, body = $2, module_id = $3, position = $4, required = $5, drip = $6, open_at = $7,
             open_days = $8, assignment = $9, deadline_days = $10, quiz_pass = $11, quiz_attempts = $12, quiz_minutes = $13,
             updated_at = $14
         WHERE id = $15 AND org_id = $16 RETURNING {LESSON_COLUMNS}"
    ))
    .bind(&t)
    .bind(&body)
    .bind(module_id)
    .bind(position)
    .bind(i64::from(input.required))
    .bind(drip.unwrap_or("all"))
    .bind(open_at.map(|t| t.0))
    .bind(open_days)
    .bind(&assignment)
    .bind(deadline_days)
    .bind(quiz_pass)
    .bind(quiz_attempts)
    .bind(quiz_minutes)
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    lesson_from_row(&row)
}

pub async fn set_lesson_published(db: &Db, org: OrgId, id: i64, published: bool) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE lessons SET status = $1, updated_at = $2 WHERE id = $3 AND org_id = $4",
    )
    .bind(if published { "published" } else { "draft" })
    .bind(db.now().0)
    .bind(id)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// Swaps a lesson with its neighbour in the same module.
pub async fn move_lesson(db: &Db, org: OrgId, id: i64, up: bool) -> Result<()> {
    let mut tx = db.begin().await?;
    let row = sqlx::query("SELECT module_id, position FROM lessons WHERE id = $1 AND org_id = $2")
        .bind(id)
        .bind(org.0)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or(Error::NotFound)?;
    let (module, pos): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    let sql = if up {
        "SELECT id, position FROM lessons WHERE module_id = $1 AND position < $2 ORDER BY position DESC LIMIT 1"
    } else {
        "SELECT id, position FROM lessons WHERE module_id = $1 AND position > $2 ORDER BY position LIMIT 1"
    };
    if let Some(other) = sqlx::query(sql)
        .bind(module)
        .bind(pos)
        .fetch_optional(&mut *tx)
        .await?
    {
        let (oid, opos): (i64, i64) = (other.try_get(0)?, other.try_get(1)?);
        for (lid, p) in [(id, opos), (oid, pos)] {
            sqlx::query("UPDATE lessons SET position = $1 WHERE id = $2")
                .bind(p)
                .bind(lid)
                .execute(&mut *tx)
                .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}

/// One of the organizer's lessons.
pub async fn lesson(db: &Db, org: OrgId, id: i64) -> Result<Lesson> {
    let row = sqlx::query(&format!(
        "SELECT {LESSON_COLUMNS} FROM lessons WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    lesson_from_row(&row)
}

/// Every lesson of a course in reading order: by module, then within it.
pub async fn lessons(db: &Db, org: OrgId, course: i64) -> Result<Vec<Lesson>> {
    let cols = LESSON_COLUMNS
        .split(", ")
        .map(|c| format!("l.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {cols} FROM lessons l JOIN course_modules m ON m.id = l.module_id
         WHERE l.course_id = $1 AND l.org_id = $2 ORDER BY m.position, l.position, l.id"
    ))
    .bind(course)
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(lesson_from_row).collect()
}

pub async fn modules(db: &Db, org: OrgId, course: i64) -> Result<Vec<Module>> {
    let rows = sqlx::query(
        "SELECT id, course_id, title, position FROM course_modules WHERE course_id = $1 AND org_id = $2 ORDER BY position, id",
    )
    .bind(course)
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Module {
                id: r.try_get(0)?,
                course_id: r.try_get(1)?,
                title: r.try_get(2)?,
                position: r.try_get(3)?,
            })
        })
        .collect()
}

/// Modules with their lessons, for the builder and the course page.
pub async fn outline(db: &Db, org: OrgId, course: i64) -> Result<Vec<(Module, Vec<Lesson>)>> {
    let modules = modules(db, org, course).await?;
    let mut lessons = lessons(db, org, course).await?;
    Ok(modules
        .into_iter()
        .map(|m| {
            let mine: Vec<Lesson> = lessons
                .iter()
                .filter(|l| l.module_id == m.id)
                .cloned()
                .collect();
            lessons.retain(|l| l.module_id != m.id);
            (m, mine)
        })
        .collect())
}
