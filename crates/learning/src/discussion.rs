//! The discussion under each lesson, with the school's rules (LZ 6.3):
//! words the school forbids and, unless it allows them, links (advertising,
//! agitation for competitors) are refused before anything is stored. Staff
//! delete messages, and may disable the author's access for a breach at
//! once (LZ 6.5); the school answers for its students' content (AT 6.14),
//! so every deletion is kept with who did it.

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;

use crate::courses::Course;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Post {
    pub id: i64,
    pub lesson_id: i64,
    pub author_id: UserId,
    pub author: String,
    pub body: String,
    pub created_at: Timestamp,
    pub deleted: bool,
}

/// Why a message breaks the course's rules, if it does.
pub fn breach(course: &Course, body: &str) -> Option<&'static str> {
    let lower = body.to_lowercase();
    let forbidden = course
        .forbidden_words
        .lines()
        .map(|w| w.trim().to_lowercase())
        .filter(|w| !w.is_empty())
        .any(|w| lower.contains(&w));
    if forbidden {
        return Some("post-forbidden-word");
    }
    let link = [
        "http://",
        "https://",
        "www.",
        "t.me/",
        "wa.me/",
        "instagram.com/",
    ]
    .iter()
    .any(|p| lower.contains(p));
    if link && !course.links_allowed {
        return Some("post-links-forbidden");
    }
    None
}

/// A message under an open lesson by a student (or by staff).
pub async fn post(db: &Db, course: &Course, lesson: i64, author: UserId, body: &str) -> Result<()> {
    let body = crate::text(body, "body", 4000, true)?;
    if let Some(code) = breach(course, &body) {
        return Err(Error::invalid("body", code));
    }
    let mut tx = db.begin().await?;
    sqlx::query("INSERT INTO lesson_posts (org_id, lesson_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(course.org_id.0)
        .bind(lesson)
        .bind(author.0)
        .bind(&body)
        .bind(db.now().0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// A lesson's messages, oldest first; deleted ones keep their place without text.
pub async fn list(db: &Db, lesson: i64) -> Result<Vec<Post>> {
    let rows = sqlx::query(
        "SELECT p.id, p.lesson_id, p.author_id, u.name, p.body, p.created_at, p.deleted_at FROM lesson_posts p
         JOIN users u ON u.id = p.author_id WHERE p.lesson_id = $1 ORDER BY p.id LIMIT 500",
    )
    .bind(lesson)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            let deleted = r.try_get::<Option<i64>, _>(6)?.is_some();
            Ok(Post {
                id: r.try_get(0)?,
                lesson_id: r.try_get(1)?,
                author_id: UserId(r.try_get(2)?),
                author: r.try_get(3)?,
                body: if deleted {
                    String::new()
                } else {
                    r.try_get(4)?
                },
                created_at: Timestamp(r.try_get(5)?),
                deleted,
            })
        })
        .collect()
}

/// Staff remove a message; returns its author and lesson.
pub async fn delete(db: &Db, org: OrgId, actor: UserId, id: i64) -> Result<(UserId, i64)> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let row =
        sqlx::query("SELECT author_id, lesson_id FROM lesson_posts WHERE id = $1 AND org_id = $2")
            .bind(id)
            .bind(org.0)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(Error::NotFound)?;
    sqlx::query("UPDATE lesson_posts SET deleted_at = $1, deleted_by = $2 WHERE id = $3 AND deleted_at IS NULL")
        .bind(now.0)
        .bind(actor.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok((UserId(row.try_get(0)?), row.try_get(1)?))
}
