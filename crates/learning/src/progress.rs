//! Where a student stands in a course: which lessons are open (drip rules
//! and per-student overrides), each assignment's deadline and state, quiz
//! results, what is passed, and whether the course is completed.
//!
//! Drip rules: `all` opens with access; `date` on a date; `days` N days
//! after access starts, at midnight in Almaty; `stop` when the previous
//! lesson is passed (for a lesson with an assignment: when it is accepted).
//! A school may open a lesson early or extend a deadline for one student.

use std::collections::HashMap;

use jiff::ToSpan;
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_store::Db;

use crate::access::{self, Access};
use crate::courses::{self, Course, Lesson};

/// One lesson as one student sees it now.
#[derive(Debug, Clone)]
pub struct LessonState {
    pub lesson: Lesson,
    /// When it opens (or opened); `None` while it waits for the previous lesson.
    pub opens_at: Option<Timestamp>,
    pub open: bool,
    pub deadline: Option<Timestamp>,
    /// `none`, `submitted`, `returned` or `accepted`.
    pub submission: String,
    pub has_quiz: bool,
    pub quiz_passed: bool,
    pub done: bool,
    pub passed: bool,
}

/// A student's whole course.
#[derive(Debug, Clone)]
pub struct View {
    pub course: Course,
    pub access: Access,
    pub lessons: Vec<LessonState>,
}

impl View {
    /// Published required lessons passed, out of all of them.
    pub fn counts(&self) -> (usize, usize) {
        let required: Vec<&LessonState> =
            self.lessons.iter().filter(|l| l.lesson.required).collect();
        (required.iter().filter(|l| l.passed).count(), required.len())
    }

    pub fn percent(&self) -> i64 {
        let (done, all) = self.counts();
        (done * 100).checked_div(all).unwrap_or(0) as i64
    }

    /// LZ 9.1: the course is completed when every required lesson is passed.
    pub fn completed(&self) -> bool {
        let (done, all) = self.counts();
        all > 0 && done == all
    }

    pub fn lesson(&self, id: i64) -> Option<&LessonState> {
        self.lessons.iter().find(|l| l.lesson.id == id)
    }
}

/// Midnight in Almaty, `days` calendar days after the day of `from`.
pub fn days_after(from: Timestamp, days: i64) -> Timestamp {
    let date = calendar::business_date(from);
    date.checked_add(days.days())
        .ok()
        .and_then(|d| d.to_zoned(calendar::almaty()).ok())
        .map(|z| Timestamp::from_jiff(z.timestamp()))
        .unwrap_or_else(|| from.plus_days(days))
}

/// The student's view of a course they have access to; `Conflict` when
/// they have none (or it was disabled).
pub async fn view(db: &Db, course: &Course, student: UserId) -> Result<View> {
    let access = access::check(db, course, student).await?;
    view_with(db, course, student, access, false).await
}

/// Staff preview: every published lesson open, as a new student would
/// see the content.
pub async fn preview(db: &Db, course: &Course, staff: UserId) -> Result<View> {
    let access = Access {
        started: db.now(),
        source: access::Source::Manual,
    };
    view_with(db, course, staff, access, true).await
}

/// The view for a student whose access is already known, e.g. in the
/// school's reports.
pub async fn view_with(
    db: &Db,
    course: &Course,
    student: UserId,
    access: Access,
    all_open: bool,
) -> Result<View> {
    let org = course.org_id;
    let now = db.now();
    let all = courses::lessons(db, org, course.id).await?;
    let lessons: Vec<Lesson> = all.into_iter().filter(|l| l.is_published()).collect();
    let marks = Marks::load(db, org, course.id, student).await?;
    let mut states: Vec<LessonState> = Vec::with_capacity(lessons.len());
    // When the previous lesson was passed: what a stop-lesson waits for.
    let mut previous_passed_at: Option<Timestamp> = Some(access.started);
    for lesson in lessons {
        let (submission, decided_at) = marks
            .submissions
            .get(&lesson.id)
            .cloned()
            .unwrap_or_else(|| ("none".to_string(), None));
        let has_quiz = marks.questions.get(&lesson.id).copied().unwrap_or(0) > 0;
        let q_passed = marks.quiz_passed.get(&lesson.id).copied();
        let d = marks.done.get(&lesson.id).copied();
        let rule = match lesson.drip.as_str() {
            "date" => lesson.open_at.map(Timestamp),
            "days" => Some(days_after(access.started, lesson.open_days.unwrap_or(0))),
            "stop" => previous_passed_at,
            _ => Some(access.started),
        };
        let ov = marks.overrides.get(&lesson.id);
        let opens_at = match (rule, ov.and_then(|o| o.0)) {
            (Some(r), Some(o)) => Some(Timestamp(r.0.min(o))),
            (None, Some(o)) => Some(Timestamp(o)),
            (r, None) => r,
        };
        let open = all_open || opens_at.is_some_and(|t| t <= now);
        let deadline = match ov.and_then(|o| o.1) {
            Some(d) => Some(Timestamp(d)),
            None => match (lesson.deadline_days, opens_at) {
                (Some(days), Some(o)) if lesson.has_assignment() => Some(days_after(o, days + 1)),
                _ => None,
            },
        };
        let assignment_ok = !lesson.has_assignment() || submission == "accepted";
        let quiz_ok = !has_quiz || q_passed.is_some();
        let passed = if lesson.has_assignment() || has_quiz {
            assignment_ok && quiz_ok
        } else {
            d.is_some()
        };
        // The moment this lesson was passed, for a stop-lesson after it.
        previous_passed_at = if passed {
            let mut t = [decided_at, q_passed, d]
                .into_iter()
                .flatten()
                .max()
                .unwrap_or(access.started.0);
            if let Some(o) = opens_at {
                t = t.max(o.0);
            }
            Some(Timestamp(t))
        } else {
            None
        };
        states.push(LessonState {
            lesson,
            opens_at,
            open,
            deadline,
            submission,
            has_quiz,
            quiz_passed: q_passed.is_some(),
            done: d.is_some(),
            passed,
        });
    }
    Ok(View {
        course: course.clone(),
        access,
        lessons: states,
    })
}

/// What one student has done in a course and what the school changed for
/// them, by lesson, read in one query: the lesson page is the most visited
/// page of a school, and each round trip to the database counts.
#[derive(Default)]
struct Marks {
    /// Lesson → (opens at, deadline) set for this student.
    overrides: HashMap<i64, (Option<i64>, Option<i64>)>,
    /// Lesson → (submission status, decided at).
    submissions: HashMap<i64, (String, Option<i64>)>,
    /// Lesson → number of quiz questions (the same for every student).
    questions: HashMap<i64, i64>,
    /// Lesson → when the student first passed its quiz.
    quiz_passed: HashMap<i64, i64>,
    /// Lesson → when the student marked it studied.
    done: HashMap<i64, i64>,
}

impl Marks {
    async fn load(db: &Db, org: OrgId, course: i64, student: UserId) -> Result<Self> {
        let rows = sqlx::query(
            "SELECT 'o' AS k, o.lesson_id, NULL AS s, o.open_at AS a, o.deadline_at AS b
               FROM lesson_overrides o JOIN lessons l ON l.id = o.lesson_id
              WHERE l.course_id = $1 AND o.student_id = $2 AND o.org_id = $3
             UNION ALL
             SELECT 's', lesson_id, status, decided_at, NULL
               FROM submissions WHERE course_id = $1 AND student_id = $2 AND org_id = $3
             UNION ALL
             SELECT 'n', q.lesson_id, NULL, COUNT(*), NULL
               FROM quiz_questions q JOIN lessons l ON l.id = q.lesson_id
              WHERE l.course_id = $1 AND q.org_id = $3 GROUP BY q.lesson_id
             UNION ALL
             SELECT 'q', a.lesson_id, NULL, MIN(a.finished_at), NULL
               FROM quiz_attempts a JOIN lessons l ON l.id = a.lesson_id
              WHERE l.course_id = $1 AND a.student_id = $2 AND a.org_id = $3 AND a.passed = 1 GROUP BY a.lesson_id
             UNION ALL
             SELECT 'd', d.lesson_id, NULL, d.done_at, NULL
               FROM lesson_done d JOIN lessons l ON l.id = d.lesson_id
              WHERE l.course_id = $1 AND d.student_id = $2 AND d.org_id = $3",
        )
        .bind(course)
        .bind(student.0)
        .bind(org.0)
        .fetch_all(db.read())
        .await?;
        let mut m = Marks::default();
        for r in rows {
            let kind: String = r.try_get(0)?;
            let lesson: i64 = r.try_get(1)?;
            let a: Option<i64> = r.try_get(3)?;
            match kind.as_str() {
                "o" => {
                    m.overrides.insert(lesson, (a, r.try_get(4)?));
                }
                "s" => {
                    m.submissions.insert(lesson, (r.try_get(2)?, a));
                }
                "n" => {
                    m.questions.insert(lesson, a.unwrap_or(0));
                }
                "q" => {
                    m.quiz_passed.insert(lesson, a.unwrap_or(0));
                }
                _ => {
                    m.done.insert(lesson, a.unwrap_or(0));
                }
            }
        }
        Ok(m)
    }
}

/// The school opens a lesson early or moves a deadline for one student.
/// Empty fields clear that override.
pub async fn set_override(
    db: &Db,
    org: OrgId,
    actor: UserId,
    lesson: i64,
    student: UserId,
    open_at: &str,
    deadline_at: &str,
) -> Result<()> {
    courses::lesson(db, org, lesson).await?;
    let parse = |raw: &str, field: &'static str| -> Result<Option<i64>> {
        match raw.trim() {
            "" => Ok(None),
            s => tabys_billing::products::parse_local_time(s)
                .map(|t| Some(t.0))
                .ok_or_else(|| Error::invalid(field, "datetime-format")),
        }
    };
    let open_at = parse(open_at, "open_at")?;
    let deadline_at = parse(deadline_at, "deadline_at")?;
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM lesson_overrides WHERE lesson_id = $1 AND student_id = $2")
        .bind(lesson)
        .bind(student.0)
        .execute(&mut *tx)
        .await?;
    if open_at.is_some() || deadline_at.is_some() {
        sqlx::query(
            "INSERT INTO lesson_overrides (org_id, lesson_id, student_id, open_at, deadline_at, set_by, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(org.0)
        .bind(lesson)
        .bind(student.0)
        .bind(open_at)
        .bind(deadline_at)
        .bind(actor.0)
        .bind(now.0)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The open lesson of a student's course, or why not.
pub async fn open_lesson(
    db: &Db,
    course: &Course,
    student: UserId,
    lesson: i64,
) -> Result<(View, LessonState)> {
    let v = view(db, course, student).await?;
    let state = v.lesson(lesson).cloned().ok_or(Error::NotFound)?;
    if !state.open {
        return Err(Error::Conflict("lesson-not-open"));
    }
    Ok((v, state))
}

/// The student marks a lesson without an assignment or quiz as studied.
pub async fn mark_done(db: &Db, course: &Course, student: UserId, lesson: i64) -> Result<()> {
    let (_, state) = open_lesson(db, course, student, lesson).await?;
    if state.lesson.has_assignment() || state.has_quiz {
        return Err(Error::Conflict("lesson-done-by-work"));
    }
    if state.done {
        return Ok(());
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO lesson_done (org_id, lesson_id, student_id, done_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(course.org_id.0)
    .bind(lesson)
    .bind(student.0)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    crate::certificates::after_progress(db, course, student).await
}
