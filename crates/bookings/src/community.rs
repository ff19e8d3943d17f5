//! The coworking's community feed (EX §7, EX-4, EX-5): members publish posts
//! and comments, report a post they find prohibited (EX §3), and staff
//! remove any post — for a reason they record, or none (EX §7: "for any
//! reason or without one") — and can block a member, who then can neither
//! post, comment nor book (EX §3, §14).

use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result};
use tabys_store::Db;
use tabys_store::audit::{self, Entry};

pub const MAX_POST: usize = 5000;
pub const MAX_COMMENT: usize = 2000;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Comment {
    pub id: i64,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    pub created_at: i64,
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Post {
    pub id: i64,
    pub org_id: OrgId,
    pub author_id: UserId,
    pub author_name: String,
    pub body: String,
    /// `published` or `removed`.
    pub status: String,
    pub removed_reason: Option<String>,
    pub created_at: i64,
    pub comments: Vec<Comment>,
    pub reports: Vec<String>,
}

fn body(raw: &str, max: usize) -> Result<String> {
    let s = raw.trim();
    if s.is_empty() {
        return Err(Error::invalid("body", "required"));
    }
    if s.chars().count() > max {
        return Err(Error::invalid("body", "text-too-long"));
    }
    Ok(s.to_string())
}

pub async fn is_blocked(db: &Db, org: OrgId, user: UserId) -> Result<bool> {
    let row = sqlx::query("SELECT 1 FROM community_blocks WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .fetch_optional(db.read())
        .await?;
    Ok(row.is_some())
}

async fn not_blocked(db: &Db, org: OrgId, user: UserId) -> Result<()> {
    if is_blocked(db, org, user).await? {
        Err(Error::Conflict("member-blocked"))
    } else {
        Ok(())
    }
}

pub async fn publish(db: &Db, org: OrgId, author: UserId, raw: &str) -> Result<i64> {
    let text = body(raw, MAX_POST)?;
    not_blocked(db, org, author).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO community_posts (org_id, author_id, body, status, created_at) VALUES ($1, $2, $3, 'published', $4) RETURNING id",
    )
    .bind(org.0)
    .bind(author.0)
    .bind(&text)
    .bind(db.now().0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

async fn live_post(db: &Db, org: OrgId, post: i64) -> Result<()> {
    let row = sqlx::query("SELECT status FROM community_posts WHERE id = $1 AND org_id = $2")
        .bind(post)
        .bind(org.0)
        .fetch_optional(db.read())
        .await?
        .ok_or(Error::NotFound)?;
    let status: String = row.try_get(0)?;
    if status == "published" {
        Ok(())
    } else {
        Err(Error::NotFound)
    }
}

pub async fn comment(db: &Db, org: OrgId, author: UserId, post: i64, raw: &str) -> Result<i64> {
    let text = body(raw, MAX_COMMENT)?;
    live_post(db, org, post).await?;
    not_blocked(db, org, author).await?;
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO community_comments (org_id, post_id, author_id, body, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(org.0)
    .bind(post)
    .bind(author.0)
    .bind(&text)
    .bind(db.now().0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    tx.commit().await?;
    Ok(id)
}

/// A member reports a post as prohibited content (EX-4); once per member.
pub async fn report(db: &Db, org: OrgId, reporter: UserId, post: i64, reason: &str) -> Result<()> {
    live_post(db, org, post).await?;
    let reason = reason.trim();
    if reason.chars().count() > 1000 {
        return Err(Error::invalid("reason", "text-too-long"));
    }
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "INSERT INTO community_reports (org_id, post_id, reporter_id, reason, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (post_id, reporter_id) DO NOTHING",
    )
    .bind(org.0)
    .bind(post)
    .bind(reporter.0)
    .bind(reason)
    .bind(db.now().0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::Conflict("community-already-reported"));
    }
    tx.commit().await?;
    Ok(())
}

/// Staff remove a post; the reason is recorded, and may be empty (EX §7).
pub async fn remove(db: &Db, org: OrgId, staff: UserId, post: i64, reason: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.chars().count() > 1000 {
        return Err(Error::invalid("reason", "text-too-long"));
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE community_posts SET status = 'removed', removed_by = $1, removed_reason = $2, removed_at = $3
         WHERE id = $4 AND org_id = $5 AND status = 'published'",
    )
    .bind(staff.0)
    .bind(reason)
    .bind(now.0)
    .bind(post)
    .bind(org.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(staff),
            action: "community.post-removed",
            subject: format!("post:{post}"),
            data: serde_json::json!({ "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Staff block a member of this organizer (EX-5); staff cannot be blocked.
pub async fn block(db: &Db, org: OrgId, staff: UserId, user: UserId, reason: &str) -> Result<()> {
    let reason = reason.trim();
    if reason.chars().count() > 1000 {
        return Err(Error::invalid("reason", "text-too-long"));
    }
    match tabys_accounts::members::access(db, user, org).await {
        Ok(role) if !role.is_staff() => {}
        Ok(_) => return Err(Error::Conflict("community-block-staff")),
        Err(_) => return Err(Error::NotFound),
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    sqlx::query(
        "INSERT INTO community_blocks (org_id, user_id, blocked_by, reason, created_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (org_id, user_id) DO NOTHING",
    )
    .bind(org.0)
    .bind(user.0)
    .bind(staff.0)
    .bind(reason)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(staff),
            action: "community.member-blocked",
            subject: format!("user:{user}"),
            data: serde_json::json!({ "reason": reason }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn unblock(db: &Db, org: OrgId, staff: UserId, user: UserId) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query("DELETE FROM community_blocks WHERE org_id = $1 AND user_id = $2")
        .bind(org.0)
        .bind(user.0)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(Error::NotFound);
    }
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(staff),
            action: "community.member-unblocked",
            subject: format!("user:{user}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// A blocked member as staff see them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Blocked {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub reason: String,
    pub created_at: i64,
}

pub async fn blocked(db: &Db, org: OrgId) -> Result<Vec<Blocked>> {
    let rows = sqlx::query(
        "SELECT b.user_id, u.name, u.email, b.reason, b.created_at FROM community_blocks b JOIN users u ON u.id = b.user_id
         WHERE b.org_id = $1 ORDER BY b.created_at DESC",
    )
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Blocked {
                user_id: UserId(r.try_get(0)?),
                name: r.try_get(1)?,
                email: r.try_get(2)?,
                reason: r.try_get(3)?,
                created_at: r.try_get(4)?,
            })
        })
        .collect()
}

/// The newest posts with their comments; staff also see removed posts and
/// the reports.
pub async fn feed(db: &Db, org: OrgId, staff_view: bool) -> Result<Vec<Post>> {
    let rows = sqlx::query(
        "SELECT p.id, p.org_id, p.author_id, u.name, p.body, p.status, p.removed_reason, p.created_at
         FROM community_posts p JOIN users u ON u.id = p.author_id
         WHERE p.org_id = $1 AND ($2 = 1 OR p.status = 'published') ORDER BY p.id DESC LIMIT 100",
    )
    .bind(org.0)
    .bind(i64::from(staff_view))
    .fetch_all(db.read())
    .await?;
    let mut posts = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: i64 = r.try_get(0)?;
        let comments = sqlx::query(
            "SELECT c.id, c.author_id, u.name, c.body, c.created_at FROM community_comments c JOIN users u ON u.id = c.author_id
             WHERE c.post_id = $1 ORDER BY c.id",
        )
        .bind(id)
        .fetch_all(db.read())
        .await?
        .iter()
        .map(|c| {
            Ok(Comment {
                id: c.try_get(0)?,
                author_id: UserId(c.try_get(1)?),
                author_name: c.try_get(2)?,
                body: c.try_get(3)?,
                created_at: c.try_get(4)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
        let reports = if staff_view {
            sqlx::query("SELECT reason FROM community_reports WHERE post_id = $1 ORDER BY id")
                .bind(id)
                .fetch_all(db.read())
                .await?
                .iter()
                .map(|x| x.try_get::<String, _>(0).map_err(Error::from))
                .collect::<Result<Vec<_>>>()?
        } else {
            Vec::new()
        };
        posts.push(Post {
            id,
            org_id: OrgId(r.try_get(1)?),
            author_id: UserId(r.try_get(2)?),
            author_name: r.try_get(3)?,
            body: r.try_get(4)?,
            status: r.try_get(5)?,
            removed_reason: r.try_get(6)?,
            created_at: r.try_get(7)?,
            comments,
            reports,
        });
    }
    Ok(posts)
}
