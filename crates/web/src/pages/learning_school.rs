//! The school's side: builder, students, curators, analytics, certificates.

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tabys_accounts::members::{self, Member, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_billing::products::{self, Product};
use tabys_core::Error;
use tabys_core::ids::{OrgId, UserId};
use tabys_files::StoredFile;
use tabys_learning::analytics::{self, Report};
use tabys_learning::assignments::{self, Comment, Submission, Waiting};
use tabys_learning::certificates::{self, Certificate};
use tabys_learning::courses::{self, Course, CourseInput, Lesson, LessonInput, Module};
use tabys_learning::quiz::{self, Question, QuestionInput};
use tabys_learning::{access, discussion, markup, media, progress};

use super::learning::staff;
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;
use crate::pages::layout::{FormErrors, Layout};
use crate::pages::{render, see_other};

fn form_errors(e: Error, ctx: &Ctx) -> Result<FormErrors, PageError> {
    match e {
        Error::Invalid(fields) => Ok(FormErrors::new(ctx.tr, fields)),
        other => Err(PageError(other)),
    }
}

fn with_status(errors: &FormErrors, page: Response) -> Response {
    if errors.any() {
        (StatusCode::UNPROCESSABLE_ENTITY, page).into_response()
    } else {
        page
    }
}

async fn course_products(state: &AppState, org: OrgId) -> Result<Vec<Product>, Error> {
    Ok(products::list(&state.db, org, true)
        .await?
        .into_iter()
        .filter(|p| p.kind == "course")
        .collect())
}

// ------------------------------------------------------------------ courses

#[derive(Template)]
#[template(path = "learning/courses.html")]
struct CoursesPage {
    l: Layout,
    org: Organizer,
    courses: Vec<Course>,
    products: Vec<Product>,
    form: CourseInput,
    errors: FormErrors,
}

async fn courses_page(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    form: CourseInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let page = CoursesPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        courses: courses::list(&state.db, org).await?,
        products: course_products(state, org).await?,
        form,
        errors,
    };
    let html = render(&page)?;
    Ok(with_status(&page.errors, html))
}

pub async fn courses(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let form = CourseInput {
        locale: ctx.tr.lang().into(),
        late_submissions: true,
        ..CourseInput::default()
    };
    courses_page(&state, &ctx, OrgId(org), form, FormErrors::default()).await
}

pub async fn create_course(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<CourseInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match courses::create(&state.db, OrgId(org), &form).await {
        Ok(c) => Ok(see_other(&format!("/org/{org}/courses/{}", c.id))),
        Err(e) => {
            let errors = form_errors(e, &ctx)?;
            courses_page(&state, &ctx, OrgId(org), form, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "learning/builder.html")]
struct BuilderPage {
    l: Layout,
    org: Organizer,
    course: Course,
    outline: Vec<(Module, Vec<Lesson>)>,
    products: Vec<Product>,
    form: CourseInput,
    errors: FormErrors,
}

async fn builder_page(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    id: i64,
    form: Option<CourseInput>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let course = courses::get(&state.db, org, id).await?;
    let page = BuilderPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        outline: courses::outline(&state.db, org, id).await?,
        products: course_products(state, org).await?,
        form: form.unwrap_or_else(|| CourseInput::from(&course)),
        course,
        errors,
    };
    let html = render(&page)?;
    Ok(with_status(&page.errors, html))
}

pub async fn builder(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    builder_page(
        &state,
        &ctx,
        OrgId(org),
        course,
        None,
        FormErrors::default(),
    )
    .await
}

pub async fn update_course(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<CourseInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match courses::update(&state.db, OrgId(org), course, &form).await {
        Ok(_) => Ok(see_other(&format!("/org/{org}/courses/{course}"))),
        Err(e) => {
            let errors = form_errors(e, &ctx)?;
            builder_page(&state, &ctx, OrgId(org), course, Some(form), errors).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct FlagForm {
    #[serde(default)]
    published: String,
    #[serde(default)]
    dir: String,
    #[serde(default)]
    title: String,
    #[serde(default)]
    module_id: String,
}

pub async fn publish_course(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    courses::set_published(&state.db, OrgId(org), course, form.published == "1").await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}")))
}

pub async fn add_module(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    courses::add_module(&state.db, OrgId(org), course, &form.title).await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}")))
}

pub async fn move_module(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, module)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    courses::get(&state.db, OrgId(org), course).await?;
    courses::move_module(&state.db, OrgId(org), module, form.dir == "up").await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}")))
}

pub async fn add_lesson(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let module = form
        .module_id
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("module_id", "course-module-unknown"))?;
    let lesson = courses::add_lesson(&state.db, OrgId(org), course, module, &form.title).await?;
    Ok(see_other(&format!(
        "/org/{org}/courses/{course}/lessons/{}",
        lesson.id
    )))
}

async fn lesson_of(
    state: &AppState,
    org: OrgId,
    course: i64,
    lesson: i64,
) -> Result<Lesson, Error> {
    let l = courses::lesson(&state.db, org, lesson).await?;
    if l.course_id != course {
        return Err(Error::NotFound);
    }
    Ok(l)
}

#[derive(Template)]
#[template(path = "learning/lesson_edit.html")]
struct LessonEditor {
    l: Layout,
    org: Organizer,
    course: Course,
    lesson: Lesson,
    modules: Vec<Module>,
    questions: Vec<Question>,
    files: Vec<StoredFile>,
    form: LessonInput,
    errors: FormErrors,
    drips: [&'static str; 4],
    kinds: [&'static str; 3],
}

async fn editor_page(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    course: i64,
    lesson: i64,
    form: Option<LessonInput>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let l = lesson_of(state, org, course, lesson).await?;
    let page = LessonEditor {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        course: courses::get(&state.db, org, course).await?,
        modules: courses::modules(&state.db, org, course).await?,
        questions: quiz::questions(&state.db, org, lesson).await?,
        files: media::of_lesson(&state.db, org, lesson).await?,
        form: form.unwrap_or_else(|| LessonInput::from(&l)),
        lesson: l,
        errors,
        drips: courses::DRIPS,
        kinds: quiz::KINDS,
    };
    let html = render(&page)?;
    Ok(with_status(&page.errors, html))
}

pub async fn lesson_editor(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    editor_page(
        &state,
        &ctx,
        OrgId(org),
        course,
        lesson,
        None,
        FormErrors::default(),
    )
    .await
}

pub async fn update_lesson(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<LessonInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    match courses::update_lesson(&state.db, OrgId(org), lesson, &form).await {
        Ok(_) => Ok(see_other(&format!(
            "/org/{org}/courses/{course}/lessons/{lesson}"
        ))),
        Err(e) => {
            let errors = form_errors(e, &ctx)?;
            editor_page(&state, &ctx, OrgId(org), course, lesson, Some(form), errors).await
        }
    }
}

pub async fn move_lesson(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    courses::move_lesson(&state.db, OrgId(org), lesson, form.dir == "up").await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}")))
}

pub async fn publish_lesson(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<FlagForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    courses::set_lesson_published(&state.db, OrgId(org), lesson, form.published == "1").await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}")))
}

pub async fn add_question(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<QuestionInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    match quiz::add_question(&state.db, OrgId(org), lesson, &form).await {
        Ok(()) => Ok(see_other(&format!(
            "/org/{org}/courses/{course}/lessons/{lesson}#quiz"
        ))),
        Err(e) => {
            let errors = form_errors(e, &ctx)?;
            editor_page(&state, &ctx, OrgId(org), course, lesson, None, errors).await
        }
    }
}

#[derive(Deserialize, Default)]
pub struct Empty {}

pub async fn delete_question(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson, question)): Path<(i64, i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    quiz::delete_question(&state.db, OrgId(org), lesson, question).await?;
    Ok(see_other(&format!(
        "/org/{org}/courses/{course}/lessons/{lesson}#quiz"
    )))
}

pub async fn preview(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let c = courses::get(&state.db, OrgId(org), course).await?;
    let l = lesson_of(&state, OrgId(org), course, lesson).await?;
    super::learning_student::preview_page(&state, &ctx, &c, l).await
}

/// Uploads a file into a lesson: stored by the files capability (type by
/// content, size limit, the plan's storage, AT 3.2.3), then attached. The
/// page's script asks for JSON to show the upload's progress; without it
/// the form posts as usual.
pub async fn upload_media(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson)): Path<(i64, i64, i64)>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    let user = ctx.user()?.id;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let received = crate::files::receive(
        &state,
        &ctx,
        &headers,
        form,
        OrgId(org),
        Some(user),
        tabys_files::MEDIA,
    )
    .await
    .and_then(|r| r.file.ok_or_else(|| Error::invalid("file", "required")));
    // Students get lesson PDFs and pictures marked with their name (LZ-8):
    // one that cannot be marked would never reach them, so it is not kept.
    let received = match received {
        Ok(f) if crate::marked::is_markable(&f) => {
            match state.marked.check(&state.files, &f).await {
                Ok(()) => Ok(f),
                Err(e) => {
                    state.files.delete(&state.db, OrgId(org), f.id).await?;
                    Err(e)
                }
            }
        }
        other => other,
    };
    let file = match received {
        Ok(f) => f,
        Err(Error::Invalid(fields)) if wants_json => {
            let message = fields
                .first()
                .map(|f| ctx.tr.err(f.code))
                .unwrap_or_default();
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(serde_json::json!({ "error": { "message": message } })),
            )
                .into_response());
        }
        Err(e) => return Err(PageError(e)),
    };
    media::attach(&state.db, OrgId(org), lesson, file.id).await?;
    if wants_json {
        Ok(axum::Json(serde_json::json!({ "id": file.id, "name": file.name })).into_response())
    } else {
        Ok(see_other(&format!(
            "/org/{org}/courses/{course}/lessons/{lesson}#media"
        )))
    }
}

pub async fn remove_media(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, lesson, file)): Path<(i64, i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    media::detach(&state.db, OrgId(org), lesson, file).await?;
    Ok(see_other(&format!(
        "/org/{org}/courses/{course}/lessons/{lesson}#media"
    )))
}

// ------------------------------------------------------------------ students

#[derive(Template)]
#[template(path = "learning/students.html")]
struct StudentsPage {
    l: Layout,
    org: Organizer,
    course: Course,
    students: Vec<access::Student>,
    staff: Vec<Member>,
}

impl StudentsPage {
    fn is_curator(&self, s: &access::Student, m: &Member) -> bool {
        s.curator_id == Some(m.user_id.0)
    }

    fn curator_name(&self, id: &Option<i64>) -> String {
        id.and_then(|id| self.staff.iter().find(|m| m.user_id.0 == id))
            .map(|m| m.name.clone())
            .unwrap_or_default()
    }
}

pub async fn students(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let c = courses::get(&state.db, OrgId(org), course).await?;
    render(&StudentsPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        students: access::students(&state.db, OrgId(org), &c).await?,
        staff: members::staff(&state.db, OrgId(org))
            .await?
            .into_iter()
            .filter(|m| matches!(m.role, Role::Curator | Role::Owner | Role::Manager))
            .collect(),
        course: c,
    })
}

#[derive(Deserialize, Default)]
pub struct StudentForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    curator: String,
    #[serde(default)]
    group: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    lesson: String,
    #[serde(default)]
    open_at: String,
    #[serde(default)]
    deadline_at: String,
}

fn curator_id(raw: &str) -> Result<Option<UserId>, Error> {
    match raw.trim() {
        "" => Ok(None),
        s => s
            .parse::<i64>()
            .map(|id| Some(UserId(id)))
            .map_err(|_| Error::invalid("curator", "course-curator-unknown")),
    }
}

pub async fn grant(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<StudentForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    access::grant(
        &state.db,
        OrgId(org),
        course,
        ctx.user()?.id,
        &form.email,
        &form.days,
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn set_curator(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<StudentForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    members::access(&state.db, UserId(student), OrgId(org)).await?;
    access::set_curator(
        &state.db,
        OrgId(org),
        course,
        UserId(student),
        curator_id(&form.curator)?,
        &form.group,
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn group_curator(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<StudentForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    access::set_group_curator(
        &state.db,
        OrgId(org),
        course,
        &form.group,
        curator_id(&form.curator)?,
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn block(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<StudentForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    members::access(&state.db, UserId(student), OrgId(org)).await?;
    access::set_blocked(
        &state.db,
        OrgId(org),
        course,
        ctx.user()?.id,
        UserId(student),
        Some(&form.reason),
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn unblock(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    members::access(&state.db, UserId(student), OrgId(org)).await?;
    access::set_blocked(
        &state.db,
        OrgId(org),
        course,
        ctx.user()?.id,
        UserId(student),
        None,
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn revoke(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    access::revoke_grant(
        &state.db,
        OrgId(org),
        course,
        ctx.user()?.id,
        UserId(student),
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/courses/{course}/students")))
}

pub async fn set_override(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<StudentForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    members::access(&state.db, UserId(student), OrgId(org)).await?;
    let lesson = form
        .lesson
        .trim()
        .parse::<i64>()
        .map_err(|_| Error::invalid("lesson", "required"))?;
    lesson_of(&state, OrgId(org), course, lesson).await?;
    progress::set_override(
        &state.db,
        OrgId(org),
        ctx.user()?.id,
        lesson,
        UserId(student),
        &form.open_at,
        &form.deadline_at,
    )
    .await?;
    Ok(see_other(&format!(
        "/org/{org}/courses/{course}/students/{student}"
    )))
}

// ------------------------------------------------------------------ analytics

/// A bar of the per-lesson chart, already measured.
pub(crate) struct Bar {
    pub title: String,
    pub value: usize,
    pub width: usize,
    pub y: usize,
}

#[derive(Template)]
#[template(path = "learning/analytics.html")]
struct AnalyticsPage {
    l: Layout,
    org: Organizer,
    report: Report,
    bars: Vec<Bar>,
    chart_height: usize,
}

pub async fn analytics(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let report = analytics::course_report(&state.db, OrgId(org), course).await?;
    let max = report.students.len().max(1);
    let bars: Vec<Bar> = report
        .lessons
        .iter()
        .enumerate()
        .map(|(i, l)| Bar {
            title: l.title.clone(),
            value: l.passed,
            width: l.passed * 300 / max,
            y: i * 26,
        })
        .collect();
    render(&AnalyticsPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        chart_height: bars.len() * 26 + 4,
        bars,
        report,
    })
}

pub async fn analytics_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let report = analytics::course_report(&state.db, OrgId(org), course).await?;
    let headers: Vec<String> = [
        "learning-name",
        "learning-email",
        "learning-passed",
        "learning-required",
        "learning-percent",
        "learning-accepted",
        "learning-waiting",
        "learning-returned",
        "learning-best-quiz",
        "learning-certificate",
    ]
    .iter()
    .map(|k| ctx.tr.t(k))
    .collect();
    let body = analytics::csv(&report, &headers);
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"course-{course}.csv\""),
            ),
        ],
        body,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "learning/student_report.html")]
struct StudentReport {
    l: Layout,
    org: Organizer,
    course: Course,
    name: String,
    student: i64,
    view: progress::View,
}

pub async fn student_report(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, course, student)): Path<(i64, i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    members::access(&state.db, UserId(student), OrgId(org)).await?;
    let c = courses::get(&state.db, OrgId(org), course).await?;
    let user = tabys_accounts::users::get(&state.db, UserId(student)).await?;
    render(&StudentReport {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        view: analytics::student_view(&state.db, &c, UserId(student)).await?,
        course: c,
        name: user.name,
        student,
    })
}

// ------------------------------------------------------------------ curators

#[derive(Template)]
#[template(path = "learning/queue.html")]
struct QueuePage {
    l: Layout,
    org: Organizer,
    waiting: Vec<Waiting>,
}

pub async fn queue(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let role = staff(&state, &ctx, OrgId(org), false).await?;
    render(&QueuePage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        waiting: assignments::queue(&state.db, OrgId(org), role, ctx.user()?.id).await?,
    })
}

#[derive(Template)]
#[template(path = "learning/submission.html")]
struct SubmissionPage {
    l: Layout,
    org: Organizer,
    submission: Submission,
    course: Course,
    lesson: Lesson,
    student: String,
    comments: Vec<Comment>,
    attachments: Vec<super::learning::FileLink>,
}

pub async fn submission(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let role = staff(&state, &ctx, OrgId(org), false).await?;
    let user = ctx.user()?.id;
    let s = assignments::for_staff(&state.db, OrgId(org), role, user, id).await?;
    let attachments = super::learning::file_links(
        &state,
        user,
        media::of_submission(&state.db, OrgId(org), s.id).await?,
    );
    render(&SubmissionPage {
        attachments,
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        course: courses::get(&state.db, OrgId(org), s.course_id).await?,
        lesson: courses::lesson(&state.db, OrgId(org), s.lesson_id).await?,
        student: tabys_accounts::users::get(&state.db, s.student_id)
            .await?
            .name,
        comments: assignments::comments(&state.db, s.id).await?,
        submission: s,
    })
}

#[derive(Deserialize, Default)]
pub struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    comment: String,
}

pub async fn decide(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, PageError> {
    let role = staff(&state, &ctx, OrgId(org), false).await?;
    let accept = match form.decision.as_str() {
        "accept" => true,
        "return" => false,
        _ => return Err(PageError(Error::invalid("decision", "required"))),
    };
    assignments::decide(
        &state.db,
        OrgId(org),
        role,
        ctx.user()?.id,
        id,
        accept,
        &form.comment,
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/learning/queue")))
}

pub async fn staff_comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, PageError> {
    let role = staff(&state, &ctx, OrgId(org), false).await?;
    let user = ctx.user()?.id;
    let s = assignments::for_staff(&state.db, OrgId(org), role, user, id).await?;
    assignments::comment(&state.db, &s, user, &form.comment).await?;
    Ok(see_other(&format!("/org/{org}/learning/submissions/{id}")))
}

#[derive(Deserialize, Default)]
pub struct DeletePostForm {
    #[serde(default)]
    disable: Option<String>,
    #[serde(default)]
    reason: String,
}

/// Removes a discussion message and, if asked, disables its author's
/// access at once (LZ 6.5).
pub async fn delete_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, post)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DeletePostForm>,
) -> Result<Response, PageError> {
    let role = staff(&state, &ctx, OrgId(org), false).await?;
    let user = ctx.user()?.id;
    if form.disable.is_some() && !role.edits_profile() && role != Role::Curator {
        return Err(PageError(Error::Forbidden));
    }
    let reason = form.reason.clone();
    if form.disable.is_some() && reason.trim().is_empty() {
        return Err(PageError(Error::invalid("reason", "required")));
    }
    let (author, lesson) = discussion::delete(&state.db, OrgId(org), user, post).await?;
    let l = courses::lesson(&state.db, OrgId(org), lesson).await?;
    if form.disable.is_some()
        && !members::access(&state.db, author, OrgId(org))
            .await?
            .is_staff()
    {
        access::set_blocked(
            &state.db,
            OrgId(org),
            l.course_id,
            user,
            author,
            Some(&reason),
        )
        .await?;
    }
    Ok(see_other(&format!(
        "/org/{org}/courses/{}/lessons/{lesson}/preview#discussion",
        l.course_id
    )))
}

// ------------------------------------------------------------------ certificates

#[derive(Template)]
#[template(path = "learning/certificates.html")]
struct CertificatesPage {
    l: Layout,
    org: Organizer,
    certificates: Vec<(Certificate, String, String)>,
}

pub async fn certificates(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    render(&CertificatesPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        certificates: certificates::list(&state.db, OrgId(org)).await?,
    })
}

#[derive(Deserialize, Default)]
pub struct ClarifyForm {
    #[serde(default)]
    question: String,
}

pub async fn clarify(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ClarifyForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    certificates::request_clarification(&state.db, OrgId(org), ctx.user()?.id, id, &form.question)
        .await?;
    Ok(see_other(&format!("/org/{org}/learning/certificates")))
}

/// The lesson text as safe HTML (see `tabys_learning::markup`).
pub(crate) fn lesson_html(lesson: &Lesson) -> String {
    markup::to_html(&lesson.body)
}
