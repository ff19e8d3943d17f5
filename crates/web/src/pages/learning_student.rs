//! The student's side: my courses, a course, a lesson with its assignment,
//! quiz and discussion, the certificate; and the public certificate check.

use std::collections::HashMap;

use askama::Template;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use tabys_accounts::members;
use tabys_accounts::organizers::{self, Organizer};
use tabys_core::Error;
use tabys_core::Timestamp;
use tabys_learning::access::Access;
use tabys_learning::assignments::{self, Comment, Submission};
use tabys_learning::certificates::{self, Certificate, RecipientInput};
use tabys_learning::courses::{self, Course, Lesson};
use tabys_learning::discussion::{self, Post};
use tabys_learning::progress::{self, LessonState, View};
use tabys_learning::quiz::{self, Attempt, Question};

use super::learning::{FileLink, LessonCard, cards, file_links};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;
use crate::i18n::Tr;
use crate::pages::layout::{FormErrors, Layout};
use crate::pages::{render, see_other};

#[derive(Template)]
#[template(path = "learning/my_courses.html")]
struct MyCourses {
    l: Layout,
    courses: Vec<(Course, Access)>,
}

pub async fn my_courses(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    render(&MyCourses {
        l: Layout::new(&ctx),
        courses: tabys_learning::access::my_courses(&state.db, user.id).await?,
    })
}

#[derive(Template)]
#[template(path = "learning/course.html")]
struct CoursePage {
    l: Layout,
    course: Course,
    org: Organizer,
    percent: i64,
    completed: bool,
    lessons: Vec<LessonCard>,
    certificate: Option<Certificate>,
}

pub async fn course(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(course): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    let view = progress::view(&state.db, &c, user.id).await?;
    let modules = courses::modules(&state.db, c.org_id, c.id).await?;
    render(&CoursePage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, c.org_id).await?,
        percent: view.percent(),
        completed: view.completed(),
        lessons: cards(&view, &modules),
        certificate: certificates::for_student(&state.db, c.id, user.id).await?,
        course: c,
    })
}

#[derive(Template)]
#[template(path = "learning/lesson.html")]
struct LessonPage {
    l: Layout,
    course: Course,
    lesson: Lesson,
    state: LessonState,
    body: String,
    preview: bool,
    org_id: i64,
    submission: Option<Submission>,
    comments: Vec<Comment>,
    attachments: Vec<FileLink>,
    questions: Vec<Question>,
    attempts: Vec<Attempt>,
    running: Option<Attempt>,
    ends_at: Option<Timestamp>,
    attempts_left: Option<i64>,
    posts: Vec<Post>,
    prev: Option<i64>,
    next: Option<i64>,
    is_staff: bool,
    /// The answer form is shown: nothing handed in yet, or returned.
    can_submit: bool,
    media: Vec<MediaLink>,
    /// Who the materials are marked for (LZ-8): name and e-mail.
    mark: String,
}

/// A lesson file as this viewer may open it now.
pub(crate) struct MediaLink {
    /// `video`, `audio`, `image` or `document`.
    kind: &'static str,
    name: String,
    url: String,
}

/// How long a lesson file's link stays valid (LZ 11.5, LZ-8).
const MEDIA_LINK_SECONDS: i64 = 15 * 60;

fn neighbours(view: &View, lesson: i64) -> (Option<i64>, Option<i64>) {
    let ids: Vec<i64> = view.lessons.iter().map(|l| l.lesson.id).collect();
    let i = ids.iter().position(|id| *id == lesson);
    match i {
        Some(i) => (
            i.checked_sub(1).and_then(|p| ids.get(p).copied()),
            ids.get(i + 1).copied(),
        ),
        None => (None, None),
    }
}

async fn lesson_page(
    state: &AppState,
    ctx: &Ctx,
    course: Course,
    view: View,
    st: LessonState,
    preview: bool,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let lesson = st.lesson.clone();
    let submission = if preview {
        None
    } else {
        assignments::mine(&state.db, lesson.id, user.id).await?
    };
    let (comments, attachments) = match &submission {
        Some(s) => (
            assignments::comments(&state.db, s.id).await?,
            file_links(
                state,
                user.id,
                tabys_learning::media::of_submission(&state.db, course.org_id, s.id).await?,
            ),
        ),
        None => (Vec::new(), Vec::new()),
    };
    let attempts = if preview {
        Vec::new()
    } else {
        quiz::attempts(&state.db, lesson.id, user.id).await?
    };
    let now = state.db.now();
    let running = attempts
        .iter()
        .find(|a| {
            a.finished_at.is_none()
                && quiz::ends_at(lesson.quiz_minutes, a.started_at).is_none_or(|e| now <= e)
        })
        .cloned();
    let ends_at = running
        .as_ref()
        .and_then(|a| quiz::ends_at(lesson.quiz_minutes, a.started_at));
    let attempts_left = lesson
        .quiz_attempts
        .map(|m| (m - attempts.len() as i64).max(0));
    let (prev, next) = neighbours(&view, lesson.id);
    let is_staff = members::access(&state.db, user.id, course.org_id)
        .await
        .is_ok_and(|r| r.is_staff());
    let can_submit = !preview && submission.as_ref().is_none_or(|s| s.status == "returned");
    let until = now.plus_seconds(MEDIA_LINK_SECONDS);
    let media = tabys_learning::media::of_lesson(&state.db, course.org_id, lesson.id)
        .await?
        .into_iter()
        .map(|f| MediaLink {
            kind: if f.is_video() {
                "video"
            } else if f.is_audio() {
                "audio"
            } else if f.is_image() {
                "image"
            } else {
                "document"
            },
            // PDFs and pictures are served marked with the viewer (LZ-8);
            // in the school's preview too, so it sees what students get.
            url: if f.is_pdf() || f.is_image() {
                format!("/files/{}", state.files.sign_marked(f.id, user.id, until))
            } else {
                format!("/files/{}", state.files.sign(f.id, user.id, until))
            },
            name: f.name,
        })
        .collect();
    render(&LessonPage {
        l: Layout::new(ctx),
        can_submit,
        media,
        mark: format!("{} · {}", user.name, user.email),
        body: super::learning_school::lesson_html(&lesson),
        org_id: course.org_id.0,
        questions: quiz::questions(&state.db, course.org_id, lesson.id).await?,
        posts: discussion::list(&state.db, lesson.id).await?,
        course,
        lesson,
        state: st,
        preview,
        submission,
        comments,
        attachments,
        attempts,
        running,
        ends_at,
        attempts_left,
        prev,
        next,
        is_staff,
    })
}

/// The school's "preview as a student": the lesson page with everything open.
pub(crate) async fn preview_page(
    state: &AppState,
    ctx: &Ctx,
    course: &Course,
    lesson: Lesson,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let mut view = progress::preview(&state.db, course, user.id).await?;
    let st = match view.lesson(lesson.id) {
        Some(s) => s.clone(),
        None => {
            // A draft lesson is previewed too, though students never see it.
            let s = LessonState {
                lesson: lesson.clone(),
                opens_at: None,
                open: true,
                deadline: None,
                submission: "none".into(),
                has_quiz: !quiz::questions(&state.db, course.org_id, lesson.id)
                    .await?
                    .is_empty(),
                quiz_passed: false,
                done: false,
                passed: false,
            };
            view.lessons.push(s.clone());
            s
        }
    };
    lesson_page(state, ctx, course.clone(), view, st, true).await
}

pub async fn lesson(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    let (view, st) = progress::open_lesson(&state.db, &c, user.id, lesson).await?;
    lesson_page(&state, &ctx, c, view, st, false).await
}

fn back(course: i64, lesson: i64, anchor: &str) -> Response {
    see_other(&format!(
        "/cabinet/courses/{course}/lessons/{lesson}#{anchor}"
    ))
}

#[derive(Deserialize, Default)]
pub struct TextForm {
    #[serde(default)]
    body: String,
}

pub async fn done(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TextForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    progress::mark_done(&state.db, &c, user.id, lesson).await?;
    Ok(back(course, lesson, "progress"))
}

pub async fn submit(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TextForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    assignments::submit(&state.db, &c, user.id, lesson, &form.body).await?;
    Ok(back(course, lesson, "assignment"))
}

pub async fn comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TextForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    progress::open_lesson(&state.db, &c, user.id, lesson).await?;
    let s = assignments::mine(&state.db, lesson, user.id)
        .await?
        .ok_or(Error::NotFound)?;
    assignments::comment(&state.db, &s, user.id, &form.body).await?;
    Ok(back(course, lesson, "assignment"))
}

/// The student attaches a file (a picture or a document) to their own
/// submission; type and size are checked by content, and it counts against
/// the school's storage.
pub async fn attach(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    progress::open_lesson(&state.db, &c, user.id, lesson).await?;
    let s = assignments::mine(&state.db, lesson, user.id)
        .await?
        .ok_or(Error::Conflict("submission-first"))?;
    if s.status == "accepted" {
        return Err(PageError(Error::Conflict("submission-already-accepted")));
    }
    let file = crate::files::receive(
        &state,
        &ctx,
        &headers,
        form,
        c.org_id,
        Some(user.id),
        tabys_files::ATTACHMENT,
    )
    .await?
    .file
    .ok_or_else(|| Error::invalid("file", "required"))?;
    tabys_learning::media::attach_to_submission(&state.db, &s, file.id).await?;
    Ok(back(course, lesson, "assignment"))
}

pub async fn post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TextForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    progress::open_lesson(&state.db, &c, user.id, lesson).await?;
    discussion::post(&state.db, &c, lesson, user.id, &form.body).await?;
    Ok(back(course, lesson, "discussion"))
}

pub async fn start_quiz(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<TextForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    quiz::start(&state.db, &c, user.id, lesson).await?;
    Ok(back(course, lesson, "quiz"))
}

pub async fn answer_quiz(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((course, lesson, attempt)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    let mut answers: HashMap<i64, Vec<String>> = HashMap::new();
    for (k, v) in form {
        if let Some(id) = k.strip_prefix('q').and_then(|s| s.parse::<i64>().ok()) {
            answers.entry(id).or_default().push(v);
        }
    }
    quiz::answer(&state.db, &c, user.id, lesson, attempt, &answers).await?;
    Ok(back(course, lesson, "quiz"))
}

// ------------------------------------------------------------------ certificate

#[derive(Template)]
#[template(path = "learning/certificate.html")]
struct CertificatePage {
    l: Layout,
    course: Course,
    certificate: Option<Certificate>,
    form: RecipientInput,
    errors: FormErrors,
}

async fn certificate_page(
    state: &AppState,
    ctx: &Ctx,
    course: i64,
    form: Option<RecipientInput>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    tabys_learning::access::check(&state.db, &c, user.id).await?;
    let form = match form {
        Some(f) => f,
        None => match certificates::recipient(&state.db, c.org_id, user.id).await? {
            Some(r) => RecipientInput::from(&r),
            None => RecipientInput {
                kind: "individual".into(),
                full_name: user.name.clone(),
                email: user.email.clone(),
                ..RecipientInput::default()
            },
        },
    };
    let page = CertificatePage {
        l: Layout::new(ctx),
        certificate: certificates::for_student(&state.db, c.id, user.id).await?,
        course: c,
        form,
        errors,
    };
    let html = render(&page)?;
    Ok(if page.errors.any() {
        (axum::http::StatusCode::UNPROCESSABLE_ENTITY, html).into_response()
    } else {
        html
    })
}

pub async fn certificate(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(course): Path<i64>,
) -> Result<Response, PageError> {
    certificate_page(&state, &ctx, course, None, FormErrors::default()).await
}

pub async fn save_recipient(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(course): Path<i64>,
    CsrfForm(form): CsrfForm<RecipientInput>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    tabys_learning::access::check(&state.db, &c, user.id).await?;
    match certificates::save_recipient(&state.db, c.org_id, user.id, &form).await {
        Ok(()) => Ok(see_other(&format!("/cabinet/courses/{course}/certificate"))),
        Err(Error::Invalid(fields)) => {
            certificate_page(
                &state,
                &ctx,
                course,
                Some(form),
                FormErrors::new(ctx.tr, fields),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// The full address of a certificate's verification page.
pub(crate) fn verify_link(state: &AppState, number: &str) -> String {
    certificates::verify_link(&state.billing.public_url, number)
}

pub async fn certificate_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(course): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let c = courses::find(&state.db, course).await?;
    let cert = certificates::for_student(&state.db, c.id, user.id)
        .await?
        .filter(|x| x.is_issued())
        .ok_or(Error::Conflict("certificate-not-issued"))?;
    let org = organizers::get(&state.db, c.org_id).await?;
    let tr = Tr::new(c.locale);
    let link = verify_link(&state, &cert.number);
    let bytes = certificates::document(&cert, &c, &org, &link, &|k| tr.t(k))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{}.pdf\"", cert.number),
            ),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "learning/verify.html")]
struct VerifyPage {
    l: Layout,
    certificate: Certificate,
    course: Course,
    issuer: String,
}

pub async fn verify(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(number): Path<String>,
) -> Result<Response, PageError> {
    let cert = certificates::by_number(&state.db, &number).await?;
    let course = courses::get(&state.db, cert.org_id, cert.course_id).await?;
    let org = organizers::get(&state.db, cert.org_id).await?;
    render(&VerifyPage {
        l: Layout::new(&ctx),
        certificate: cert,
        course,
        issuer: org.profile.legal_name,
    })
}
