//! Course pages: the school's course builder, students, curator queue,
//! analytics and certificates (`/org/{org}/…`); the student's courses,
//! lessons, assignments, quizzes, discussions and certificates
//! (`/cabinet/courses/…`); and the public certificate check
//! (`/certificates/{number}`).

use super::learning_school as school;
use super::learning_student as student;

use axum::Router;
use axum::routing::{get, post};
use tabys_accounts::members::{self, Role};
use tabys_core::Error;
use tabys_core::ids::OrgId;

use crate::AppState;
use crate::ctx::Ctx;
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/org/{org}/courses",
            get(school::courses).post(school::create_course),
        )
        .route(
            "/org/{org}/courses/{course}",
            get(school::builder).post(school::update_course),
        )
        .route(
            "/org/{org}/courses/{course}/publish",
            post(school::publish_course),
        )
        .route(
            "/org/{org}/courses/{course}/modules",
            post(school::add_module),
        )
        .route(
            "/org/{org}/courses/{course}/modules/{module}/move",
            post(school::move_module),
        )
        .route(
            "/org/{org}/courses/{course}/lessons",
            post(school::add_lesson),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}",
            get(school::lesson_editor).post(school::update_lesson),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/move",
            post(school::move_lesson),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/publish",
            post(school::publish_lesson),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/questions",
            post(school::add_question),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/questions/{question}/delete",
            post(school::delete_question),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/preview",
            get(school::preview),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/upload",
            post(school::upload_media),
        )
        .route(
            "/org/{org}/courses/{course}/lessons/{lesson}/files/{file}/remove",
            post(school::remove_media),
        )
        .route(
            "/org/{org}/courses/{course}/students",
            get(school::students).post(school::grant),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}",
            get(school::student_report),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}/curator",
            post(school::set_curator),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}/block",
            post(school::block),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}/unblock",
            post(school::unblock),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}/revoke",
            post(school::revoke),
        )
        .route(
            "/org/{org}/courses/{course}/students/{student}/override",
            post(school::set_override),
        )
        .route(
            "/org/{org}/courses/{course}/groups",
            post(school::group_curator),
        )
        .route(
            "/org/{org}/courses/{course}/analytics",
            get(school::analytics),
        )
        .route(
            "/org/{org}/courses/{course}/analytics.csv",
            get(school::analytics_csv),
        )
        .route("/org/{org}/learning/queue", get(school::queue))
        .route(
            "/org/{org}/learning/submissions/{submission}",
            get(school::submission).post(school::decide),
        )
        .route(
            "/org/{org}/learning/submissions/{submission}/comment",
            post(school::staff_comment),
        )
        .route(
            "/org/{org}/learning/posts/{post}/delete",
            post(school::delete_post),
        )
        .route(
            "/org/{org}/learning/certificates",
            get(school::certificates),
        )
        .route(
            "/org/{org}/learning/certificates/{certificate}/clarify",
            post(school::clarify),
        )
        .route("/cabinet/courses", get(student::my_courses))
        .route("/cabinet/courses/{course}", get(student::course))
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}",
            get(student::lesson),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/done",
            post(student::done),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/submit",
            post(student::submit),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/comment",
            post(student::comment),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/upload",
            post(student::attach),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/quiz",
            post(student::start_quiz),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/quiz/{attempt}",
            post(student::answer_quiz),
        )
        .route(
            "/cabinet/courses/{course}/lessons/{lesson}/posts",
            post(student::post),
        )
        .route(
            "/cabinet/courses/{course}/certificate",
            get(student::certificate).post(student::save_recipient),
        )
        .route(
            "/cabinet/courses/{course}/certificate.pdf",
            get(student::certificate_pdf),
        )
        .route("/certificates/{number}", get(student::verify))
}

/// The caller's staff role in the organizer; `builder` asks for the owner
/// or a manager (curators and support only review and moderate).
pub(crate) async fn staff(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    builder: bool,
) -> Result<Role, PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, org).await?;
    if builder && !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    if !builder && role == Role::Support {
        return Err(PageError(Error::Forbidden));
    }
    Ok(role)
}

/// A stored file as one viewer may open it now: a link signed for them.
pub(crate) struct FileLink {
    pub name: String,
    pub url: String,
}

/// How long a link to a submission's file stays valid.
const FILE_LINK_SECONDS: i64 = 15 * 60;

pub(crate) fn file_links(
    state: &AppState,
    viewer: tabys_core::ids::UserId,
    files: Vec<tabys_files::StoredFile>,
) -> Vec<FileLink> {
    let until = state.db.now().plus_seconds(FILE_LINK_SECONDS);
    files
        .into_iter()
        .map(|f| FileLink {
            url: format!("/files/{}", state.files.sign(f.id, viewer, until)),
            name: f.name,
        })
        .collect()
}

/// One lesson as a template shows it.
pub(crate) struct LessonCard {
    pub id: i64,
    pub title: String,
    pub module: String,
    pub open: bool,
    pub opens_at: Option<tabys_core::Timestamp>,
    pub passed: bool,
    pub has_assignment: bool,
    pub has_quiz: bool,
}

pub(crate) fn cards(
    view: &tabys_learning::progress::View,
    modules: &[tabys_learning::courses::Module],
) -> Vec<LessonCard> {
    view.lessons
        .iter()
        .map(|s| LessonCard {
            id: s.lesson.id,
            title: s.lesson.title.clone(),
            module: modules
                .iter()
                .find(|m| m.id == s.lesson.module_id)
                .map(|m| m.title.clone())
                .unwrap_or_default(),
            open: s.open,
            opens_at: s.opens_at,
            passed: s.passed,
            has_assignment: s.lesson.has_assignment(),
            has_quiz: s.has_quiz,
        })
        .collect()
}
