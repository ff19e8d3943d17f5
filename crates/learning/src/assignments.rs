//! Assignments and the curator's work (LZ 3.5, LZ-4): a student hands in a
//! text answer by the deadline; the curator assigned to them (or the owner
//! or a manager) accepts it or returns it with comments; both sides write
//! in the submission's thread; the student is notified of each decision.
//! A student only ever reaches their own submission; a curator only their
//! own students' in their own organizer.

use sqlx::Row;
use tabys_accounts::members::Role;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_notify::NewNotification;
use tabys_store::Db;

use crate::access;
use crate::courses::{self, Course};
use crate::progress;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Submission {
    pub id: i64,
    pub org_id: OrgId,
    pub course_id: i64,
    pub lesson_id: i64,
    pub student_id: UserId,
    /// `submitted`, `returned` or `accepted`.
    pub status: String,
    pub body: String,
    pub late: bool,
    pub submitted_at: Timestamp,
    pub decided_at: Option<Timestamp>,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Comment {
    pub author_id: UserId,
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
}

const COLUMNS: &str =
    "id, org_id, course_id, lesson_id, student_id, status, body, late, submitted_at, decided_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Submission> {
    Ok(Submission {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        course_id: r.try_get(2)?,
        lesson_id: r.try_get(3)?,
        student_id: UserId(r.try_get(4)?),
        status: r.try_get(5)?,
        body: r.try_get(6)?,
        late: r.try_get::<i64, _>(7)? != 0,
        submitted_at: Timestamp(r.try_get(8)?),
        decided_at: r.try_get::<Option<i64>, _>(9)?.map(Timestamp),
    })
}

/// The student's own submission for a lesson.
pub async fn mine(db: &Db, lesson: i64, student: UserId) -> Result<Option<Submission>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE lesson_id = $1 AND student_id = $2"
    ))
    .bind(lesson)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// A submission's thread, oldest first.
pub async fn comments(db: &Db, submission: i64) -> Result<Vec<Comment>> {
    let rows = sqlx::query(
        "SELECT c.author_id, u.name, c.body, c.created_at FROM submission_comments c JOIN users u ON u.id = c.author_id
         WHERE c.submission_id = $1 ORDER BY c.id",
    )
    .bind(submission)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Comment {
                author_id: UserId(r.try_get(0)?),
                author: r.try_get(1)?,
                body: r.try_get(2)?,
                created_at: Timestamp(r.try_get(3)?),
            })
        })
        .collect()
}

/// The student hands in (or, after a return, hands in again) their answer.
/// After the deadline it is refused when the course forbids late work, and
/// marked late otherwise.
pub async fn submit(
    db: &Db,
    course: &Course,
    student: UserId,
    lesson: i64,
    body: &str,
) -> Result<Submission> {
    let body = crate::text(body, "body", 20_000, true)?;
    let (_, state) = progress::open_lesson(db, course, student, lesson).await?;
    if !state.lesson.has_assignment() {
        return Err(Error::NotFound);
    }
    let now = db.now();
    let late = state.deadline.is_some_and(|d| now > d);
    if late && !course.late_submissions {
        return Err(Error::Conflict("assignment-deadline-passed"));
    }
    let mut tx = db.begin().await?;
    let existing = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE lesson_id = $1 AND student_id = $2 {}",
        db.dialect().for_update()
    ))
    .bind(lesson)
    .bind(student.0)
    .fetch_optional(&mut *tx)
    .await?;
    let id = match existing.as_ref().map(from_row).transpose()? {
        Some(s) if s.status == "accepted" => {
            return Err(Error::Conflict("submission-already-accepted"));
        }
        Some(s) if s.status == "submitted" => return Err(Error::Conflict("submission-waiting")),
        Some(s) => {
            sqlx::query(
                "UPDATE submissions SET status = 'submitted', body = $1, late = $2, submitted_at = $3, decided_at = NULL, decided_by = NULL WHERE id = $4",
            )
            .bind(&body)
            .bind(i64::from(late))
            .bind(now.0)
            .bind(s.id)
            .execute(&mut *tx)
            .await?;
            s.id
        }
        None => {
            let row = sqlx::query(
                "INSERT INTO submissions (org_id, course_id, lesson_id, student_id, status, body, late, submitted_at)
                 VALUES ($1, $2, $3, $4, 'submitted', $5, $6, $7) RETURNING id",
            )
            .bind(course.org_id.0)
            .bind(course.id)
            .bind(lesson)
            .bind(student.0)
            .bind(&body)
            .bind(i64::from(late))
            .bind(now.0)
            .fetch_one(&mut *tx)
            .await?;
            row.try_get(0)?
        }
    };
    sqlx::query(
        "INSERT INTO submission_comments (org_id, submission_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(course.org_id.0)
    .bind(id)
    .bind(student.0)
    .bind(&body)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    if let Some(curator) = access::curator_of(db, course.id, student).await? {
        let mut args = serde_json::Map::new();
        args.insert("course".into(), course.title.clone().into());
        args.insert("lesson".into(), state.lesson.title.clone().into());
        tabys_notify::add(
            &mut tx,
            now,
            NewNotification {
                user: curator,
                org: Some(course.org_id),
                kind: "course.submitted",
                key: "notify-course-submitted",
                args,
            },
        )
        .await?;
    }
    tx.commit().await?;
    mine(db, lesson, student).await?.ok_or(Error::NotFound)
}

/// A submission as staff open it: only in their organizer and, for a
/// curator, only of their own students; anything else does not exist.
pub async fn for_staff(
    db: &Db,
    org: OrgId,
    role: Role,
    actor: UserId,
    id: i64,
) -> Result<Submission> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM submissions WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    let s = from_row(&row)?;
    if !access::may_review(db, role, actor, s.course_id, s.student_id).await? {
        return Err(Error::NotFound);
    }
    Ok(s)
}

/// The curator's decision: accept, or return with a comment saying what to fix.
pub async fn decide(
    db: &Db,
    org: OrgId,
    role: Role,
    actor: UserId,
    id: i64,
    accept: bool,
    comment: &str,
) -> Result<()> {
    let comment = crate::text(comment, "comment", 10_000, !accept)?;
    let s = for_staff(db, org, role, actor, id).await?;
    let course = courses::get(db, org, s.course_id).await?;
    let lesson = courses::lesson(db, org, s.lesson_id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let status: String = sqlx::query(&format!(
        "SELECT status FROM submissions WHERE id = $1 {}",
        db.dialect().for_update()
    ))
    .bind(id)
    .fetch_one(&mut *tx)
    .await?
    .try_get(0)?;
    if status != "submitted" {
        return Err(Error::Conflict("submission-not-waiting"));
    }
    sqlx::query(
        "UPDATE submissions SET status = $1, decided_at = $2, decided_by = $3 WHERE id = $4",
    )
    .bind(if accept { "accepted" } else { "returned" })
    .bind(now.0)
    .bind(actor.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    if !comment.is_empty() {
        sqlx::query(
            "INSERT INTO submission_comments (org_id, submission_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(org.0)
        .bind(id)
        .bind(actor.0)
        .bind(&comment)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    }
    let mut args = serde_json::Map::new();
    args.insert("course".into(), course.title.clone().into());
    args.insert("lesson".into(), lesson.title.clone().into());
    let (kind, key) = if accept {
        ("course.accepted", "notify-course-accepted")
    } else {
        ("course.returned", "notify-course-returned")
    };
    tabys_notify::add(
        &mut tx,
        now,
        NewNotification {
            user: s.student_id,
            org: Some(org),
            kind,
            key,
            args,
        },
    )
    .await?;
    tx.commit().await?;
    if accept {
        crate::certificates::after_progress(db, &course, s.student_id).await?;
    }
    Ok(())
}

/// A comment in a submission's thread, by its student or by staff who may review it.
pub async fn comment(db: &Db, submission: &Submission, author: UserId, body: &str) -> Result<()> {
    let body = crate::text(body, "body", 10_000, true)?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO submission_comments (org_id, submission_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(submission.org_id.0)
    .bind(submission.id)
    .bind(author.0)
    .bind(&body)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A line of a curator's queue.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Waiting {
    pub id: i64,
    pub course: String,
    pub lesson: String,
    pub student: String,
    pub submitted_at: Timestamp,
    pub late: bool,
}

/// Submissions waiting for a decision: a curator's own students', or
/// everyone's for the owner and managers; oldest first.
pub async fn queue(db: &Db, org: OrgId, role: Role, actor: UserId) -> Result<Vec<Waiting>> {
    let mine_only = role == Role::Curator;
    let rows = sqlx::query(
        "SELECT s.id, c.title, l.title, u.name, s.submitted_at, s.late FROM submissions s
         JOIN courses c ON c.id = s.course_id JOIN lessons l ON l.id = s.lesson_id JOIN users u ON u.id = s.student_id
         LEFT JOIN course_students cs ON cs.course_id = s.course_id AND cs.student_id = s.student_id
         WHERE s.org_id = $1 AND s.status = 'submitted' AND ($2 = 0 OR cs.curator_id = $3)
         ORDER BY s.submitted_at, s.id LIMIT 500",
    )
    .bind(org.0)
    .bind(i64::from(mine_only))
    .bind(actor.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Waiting {
                id: r.try_get(0)?,
                course: r.try_get(1)?,
                lesson: r.try_get(2)?,
                student: r.try_get(3)?,
                submitted_at: Timestamp(r.try_get(4)?),
                late: r.try_get::<i64, _>(5)? != 0,
            })
        })
        .collect()
}
