//! What the school sees of its students' progress: per course, a line per
//! student (lessons passed, assignments, best quiz result, certificate) and
//! per lesson how many passed; exported as CSV.

use sqlx::Row;
use tabys_core::Result;
use tabys_core::ids::{OrgId, UserId};
use tabys_store::Db;

use crate::access::{self, Access, Source};
use crate::courses::{self, Course};
use crate::progress::{self, View};

#[derive(Debug, Clone)]
pub struct StudentLine {
    pub student: access::Student,
    pub passed: usize,
    pub required: usize,
    pub percent: i64,
    pub accepted: usize,
    pub waiting: usize,
    pub returned: usize,
    /// The best quiz result in percent, if any quiz was taken.
    pub best_quiz: Option<i64>,
    pub certificate: Option<String>,
}

#[derive(Debug, Clone)]
pub struct LessonLine {
    pub id: i64,
    pub title: String,
    pub passed: usize,
}

#[derive(Debug, Clone)]
pub struct Report {
    pub course: Course,
    pub students: Vec<StudentLine>,
    pub lessons: Vec<LessonLine>,
}

/// One student's view for the school, whatever their access now.
pub async fn student_view(db: &Db, course: &Course, student: UserId) -> Result<View> {
    let started = match access::check(db, course, student).await {
        Ok(a) => a,
        Err(_) => Access {
            started: first_seen(db, course, student).await?,
            source: Source::Manual,
        },
    };
    progress::view_with(db, course, student, started, false).await
}

async fn first_seen(db: &Db, course: &Course, student: UserId) -> Result<tabys_core::Timestamp> {
    let row = sqlx::query(
        "SELECT MIN(t) FROM (SELECT MIN(starts_at) AS t FROM entitlements WHERE org_id = $1 AND customer_id = $2 AND product_id = $3
         UNION ALL SELECT MIN(granted_at) AS t FROM course_students WHERE course_id = $4 AND student_id = $2) x",
    )
    .bind(course.org_id.0)
    .bind(student.0)
    .bind(course.product_id.unwrap_or(0))
    .bind(course.id)
    .fetch_one(db.read())
    .await?;
    Ok(tabys_core::Timestamp(
        row.try_get::<Option<i64>, _>(0)?.unwrap_or(0),
    ))
}

pub async fn course_report(db: &Db, org: OrgId, id: i64) -> Result<Report> {
    let course = courses::get(db, org, id).await?;
    let students = access::students(db, org, &course).await?;
    let lessons: Vec<courses::Lesson> = courses::lessons(db, org, id)
        .await?
        .into_iter()
        .filter(|l| l.is_published())
        .collect();
    let mut lesson_lines: Vec<LessonLine> = lessons
        .iter()
        .map(|l| LessonLine {
            id: l.id,
            title: l.title.clone(),
            passed: 0,
        })
        .collect();
    let mut lines = Vec::with_capacity(students.len());
    for s in students {
        let view = student_view(db, &course, s.user_id).await?;
        let (passed, required) = view.counts();
        for ls in &view.lessons {
            if ls.passed
                && let Some(line) = lesson_lines.iter_mut().find(|l| l.id == ls.lesson.id)
            {
                line.passed += 1;
            }
        }
        let count = |st: &str| view.lessons.iter().filter(|l| l.submission == st).count();
        let best = sqlx::query(
            "SELECT MAX(a.score * 100 / a.max_score) FROM quiz_attempts a JOIN lessons l ON l.id = a.lesson_id
             WHERE l.course_id = $1 AND a.student_id = $2 AND a.max_score > 0",
        )
        .bind(id)
        .bind(s.user_id.0)
        .fetch_one(db.read())
        .await?;
        let cert = crate::certificates::for_student(db, id, s.user_id).await?;
        lines.push(StudentLine {
            passed,
            required,
            percent: view.percent(),
            accepted: count("accepted"),
            waiting: count("submitted"),
            returned: count("returned"),
            best_quiz: best.try_get(0)?,
            certificate: cert.map(|c| c.status),
            student: s,
        });
    }
    Ok(Report {
        course,
        students: lines,
        lessons: lesson_lines,
    })
}

/// A CSV cell: quoted, and a leading `=`, `+`, `-` or `@` neutralised so a
/// spreadsheet never runs a name as a formula.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// The report as CSV; `headers` are the column titles in the reader's language.
pub fn csv(report: &Report, headers: &[String]) -> String {
    let mut out = headers
        .iter()
        .map(|h| cell(h))
        .collect::<Vec<_>>()
        .join(",");
    out.push_str("\r\n");
    for l in &report.students {
        let row = [
            cell(&l.student.name),
            cell(&l.student.email),
            l.passed.to_string(),
            l.required.to_string(),
            l.percent.to_string(),
            l.accepted.to_string(),
            l.waiting.to_string(),
            l.returned.to_string(),
            l.best_quiz.map(|b| b.to_string()).unwrap_or_default(),
            cell(l.certificate.as_deref().unwrap_or("")),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}
