//! Quizzes: single choice, multiple choice and short text answers, graded
//! at once; a pass mark in percent, a limit of attempts and a time limit
//! counted from the moment the server started the attempt, so a student
//! cannot stretch it by holding the page open.

use std::collections::{BTreeSet, HashMap};

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;

use crate::courses::{self, Course, Problems};
use crate::progress;

/// Seconds of grace after the time limit for the page to be sent.
const GRACE_SECONDS: i64 = 30;

pub const KINDS: [&str; 3] = ["single", "multiple", "text"];

#[derive(Debug, Clone, serde::Serialize)]
pub struct Question {
    pub id: i64,
    pub lesson_id: i64,
    pub position: i64,
    /// `single`, `multiple` or `text`.
    pub kind: String,
    pub prompt: String,
    pub options: Vec<String>,
    /// Numbers of the right options (from 1), or accepted text answers.
    pub answer: Vec<String>,
}

#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct QuestionInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub prompt: String,
    /// One option per line.
    #[serde(default)]
    pub options: String,
    /// `2` or `1, 3` for choices; accepted answers separated by `|` for text.
    #[serde(default)]
    pub answer: String,
}

fn lines(s: &str) -> Vec<String> {
    s.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect()
}

pub async fn add_question(db: &Db, org: OrgId, lesson: i64, input: &QuestionInput) -> Result<()> {
    courses::lesson(db, org, lesson).await?;
    let mut p = Problems::default();
    let kind = KINDS.iter().copied().find(|k| *k == input.kind.trim());
    if kind.is_none() {
        p.push("kind", "quiz-kind-unknown");
    }
    let prompt = p.take(crate::text(&input.prompt, "prompt", 2000, true))?;
    let options = lines(&input.options);
    let answer: Vec<String> = match kind {
        Some("text") => input
            .answer
            .split('|')
            .map(normalize)
            .filter(|a| !a.is_empty())
            .collect(),
        _ => input
            .answer
            .split([',', ' ', ';'])
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(String::from)
            .collect(),
    };
    match kind {
        Some("single") | Some("multiple") => {
            if options.len() < 2 || options.len() > 20 {
                p.push("options", "quiz-options-count");
            }
            let valid = answer.iter().all(|a| {
                a.parse::<usize>()
                    .is_ok_and(|n| n >= 1 && n <= options.len())
            });
            if answer.is_empty() || !valid || (kind == Some("single") && answer.len() != 1) {
                p.push("answer", "quiz-answer-invalid");
            }
        }
        Some(_) if answer.is_empty() => p.push("answer", "quiz-answer-invalid"),
        _ => {}
    }
    p.finish()?;
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO quiz_questions (org_id, lesson_id, position, kind, prompt, options, answer)
         VALUES ($1, $2, (SELECT COALESCE(MAX(position), 0) + 1 FROM quiz_questions WHERE lesson_id = $2), $3, $4, $5, $6)",
    )
    .bind(org.0)
    .bind(lesson)
    .bind(kind.unwrap_or("single"))
    .bind(&prompt)
    .bind(options.join("\n"))
    .bind(answer.join("\n"))
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn delete_question(db: &Db, org: OrgId, lesson: i64, id: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let done =
        sqlx::query("DELETE FROM quiz_questions WHERE id = $1 AND lesson_id = $2 AND org_id = $3")
            .bind(id)
            .bind(lesson)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

pub async fn questions(db: &Db, org: OrgId, lesson: i64) -> Result<Vec<Question>> {
    let rows = sqlx::query(
        "SELECT id, lesson_id, position, kind, prompt, options, answer FROM quiz_questions
         WHERE lesson_id = $1 AND org_id = $2 ORDER BY position, id",
    )
    .bind(lesson)
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let options: String = r.try_get(5)?;
            let answer: String = r.try_get(6)?;
            Ok(Question {
                id: r.try_get(0)?,
                lesson_id: r.try_get(1)?,
                position: r.try_get(2)?,
                kind: r.try_get(3)?,
                prompt: r.try_get(4)?,
                options: lines(&options),
                answer: lines(&answer),
            })
        })
        .collect()
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Attempt {
    pub id: i64,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub score: i64,
    pub max_score: i64,
    pub passed: bool,
}

impl Attempt {
    pub fn percent(&self) -> i64 {
        if self.max_score == 0 {
            0
        } else {
            self.score * 100 / self.max_score
        }
    }
}

pub async fn attempts(db: &Db, lesson: i64, student: UserId) -> Result<Vec<Attempt>> {
    let rows = sqlx::query(
        "SELECT id, started_at, finished_at, score, max_score, passed FROM quiz_attempts
         WHERE lesson_id = $1 AND student_id = $2 ORDER BY id",
    )
    .bind(lesson)
    .bind(student.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Attempt {
                id: r.try_get(0)?,
                started_at: Timestamp(r.try_get(1)?),
                finished_at: r.try_get::<Option<i64>, _>(2)?.map(Timestamp),
                score: r.try_get(3)?,
                max_score: r.try_get(4)?,
                passed: r.try_get::<i64, _>(5)? != 0,
            })
        })
        .collect()
}

/// When an attempt's time runs out, if the quiz has a time limit.
pub fn ends_at(minutes: Option<i64>, started: Timestamp) -> Option<Timestamp> {
    minutes.map(|m| started.plus_seconds(m * 60))
}

/// Starts an attempt, or returns the one still running.
pub async fn start(db: &Db, course: &Course, student: UserId, lesson: i64) -> Result<i64> {
    let (_, state) = progress::open_lesson(db, course, student, lesson).await?;
    if !state.has_quiz {
        return Err(Error::NotFound);
    }
    if state.quiz_passed {
        return Err(Error::Conflict("quiz-already-passed"));
    }
    let now = db.now();
    let limit = state.lesson.quiz_minutes;
    let mut tx = db.begin().await?;
    let rows = sqlx::query(
        "SELECT id, started_at, finished_at FROM quiz_attempts WHERE lesson_id = $1 AND student_id = $2 ORDER BY id",
    )
    .bind(lesson)
    .bind(student.0)
    .fetch_all(&mut *tx)
    .await?;
    for r in &rows {
        let finished: Option<i64> = r.try_get(2)?;
        let started = Timestamp(r.try_get(1)?);
        let running = ends_at(limit, started).is_none_or(|e| now.0 <= e.0 + GRACE_SECONDS * 1000);
        if finished.is_none() && running {
            return Ok(r.try_get(0)?);
        }
    }
    if let Some(max) = state.lesson.quiz_attempts
        && rows.len() as i64 >= max
    {
        return Err(Error::Conflict("quiz-attempts-used"));
    }
    let row = sqlx::query(
        "INSERT INTO quiz_attempts (org_id, lesson_id, student_id, started_at) VALUES ($1, $2, $3, $4) RETURNING id",
    )
    .bind(course.org_id.0)
    .bind(lesson)
    .bind(student.0)
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let id = row.try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

fn normalize(s: &str) -> String {
    s.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether one answer is right. `given` holds the chosen option numbers or
/// the typed text.
pub fn is_right(q: &Question, given: &[String]) -> bool {
    match q.kind.as_str() {
        "text" => given
            .first()
            .is_some_and(|g| q.answer.contains(&normalize(g))),
        _ => {
            let want: BTreeSet<&str> = q.answer.iter().map(String::as_str).collect();
            let got: BTreeSet<&str> = given
                .iter()
                .map(|g| g.trim())
                .filter(|g| !g.is_empty())
                .collect();
            want == got
        }
    }
}

/// Grades an attempt. Answers to a finished attempt or after the time
/// limit are refused and change nothing.
pub async fn answer(
    db: &Db,
    course: &Course,
    student: UserId,
    lesson: i64,
    attempt: i64,
    answers: &HashMap<i64, Vec<String>>,
) -> Result<Attempt> {
    let (_, state) = progress::open_lesson(db, course, student, lesson).await?;
    let qs = questions(db, course.org_id, lesson).await?;
    let row = sqlx::query(
        "SELECT started_at, finished_at FROM quiz_attempts WHERE id = $1 AND lesson_id = $2 AND student_id = $3",
    )
    .bind(attempt)
    .bind(lesson)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    if row.try_get::<Option<i64>, _>(1)?.is_some() {
        return Err(Error::Conflict("quiz-attempt-finished"));
    }
    let now = db.now();
    let started = Timestamp(row.try_get(0)?);
    if ends_at(state.lesson.quiz_minutes, started)
        .is_some_and(|e| now.0 > e.0 + GRACE_SECONDS * 1000)
    {
        return Err(Error::Conflict("quiz-time-over"));
    }
    let max_score = qs.len() as i64;
    let score = qs
        .iter()
        .filter(|q| is_right(q, answers.get(&q.id).map(Vec::as_slice).unwrap_or(&[])))
        .count() as i64;
    let pass = state.lesson.quiz_pass.unwrap_or(100);
    let passed = max_score > 0 && score * 100 >= pass * max_score;
    let stored: serde_json::Map<String, serde_json::Value> = answers
        .iter()
        .map(|(k, v)| (k.to_string(), serde_json::json!(v)))
        .collect();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE quiz_attempts SET finished_at = $1, score = $2, max_score = $3, passed = $4, answers = $5
         WHERE id = $6 AND finished_at IS NULL",
    )
    .bind(now.0)
    .bind(score)
    .bind(max_score)
    .bind(i64::from(passed))
    .bind(serde_json::Value::Object(stored).to_string())
    .bind(attempt)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("quiz-attempt-finished"));
    }
    tx.commit().await?;
    if passed {
        crate::certificates::after_progress(db, course, student).await?;
    }
    Ok(Attempt {
        id: attempt,
        started_at: started,
        finished_at: Some(now),
        score,
        max_score,
        passed,
    })
}
