//! A lesson's files: video, audio, pictures, presentations and PDFs. The
//! files capability stores them, counts them against the plan's storage
//! (AT 3.2.3) and serves them with byte ranges; this module only says which
//! files belong to which lesson. Pages hand each student links signed for
//! that student alone, valid for minutes (LZ 11.5, LZ-8).

use tabys_core::ids::OrgId;
use tabys_core::{Error, Result};
use tabys_files::StoredFile;
use tabys_store::Db;

/// Puts an uploaded file of the organizer into a lesson.
pub async fn attach(db: &Db, org: OrgId, lesson: i64, file: i64) -> Result<()> {
    crate::courses::lesson(db, org, lesson).await?;
    tabys_files::get(db, org, file).await?;
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO lesson_files (org_id, lesson_id, file_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(org.0)
    .bind(lesson)
    .bind(file)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await;
    match done {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(()),
        Err(e) => return Err(e.into()),
    }
    tx.commit().await?;
    Ok(())
}

/// Takes a file out of a lesson (the file stays in the library).
pub async fn detach(db: &Db, org: OrgId, lesson: i64, file: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "DELETE FROM lesson_files WHERE org_id = $1 AND lesson_id = $2 AND file_id = $3",
    )
    .bind(org.0)
    .bind(lesson)
    .bind(file)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    Ok(())
}

/// A lesson's files in the order they were added (files deleted from the
/// library since are left out).
pub async fn of_lesson(db: &Db, org: OrgId, lesson: i64) -> Result<Vec<StoredFile>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT file_id FROM lesson_files WHERE org_id = $1 AND lesson_id = $2 ORDER BY created_at, file_id",
    )
    .bind(org.0)
    .bind(lesson)
    .fetch_all(db.read())
    .await?;
    tabys_files::get_many(db, org, &ids).await
}

/// Attaches a file the student uploaded to their own submission, while it
/// is not yet accepted.
pub async fn attach_to_submission(
    db: &Db,
    submission: &crate::assignments::Submission,
    file: i64,
) -> Result<()> {
    if submission.status == "accepted" {
        return Err(Error::Conflict("submission-already-accepted"));
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO submission_files (org_id, submission_id, file_id, created_at) VALUES ($1, $2, $3, $4)",
    )
    .bind(submission.org_id.0)
    .bind(submission.id)
    .bind(file)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The files attached to a submission, oldest first.
pub async fn of_submission(db: &Db, org: OrgId, submission: i64) -> Result<Vec<StoredFile>> {
    let ids: Vec<i64> = sqlx::query_scalar(
        "SELECT file_id FROM submission_files WHERE org_id = $1 AND submission_id = $2 ORDER BY created_at, file_id",
    )
    .bind(org.0)
    .bind(submission)
    .fetch_all(db.read())
    .await?;
    tabys_files::get_many(db, org, &ids).await
}
