//! Who may study a course, and since when. Access comes from an active
//! entitlement to the course's product (a paid order; a refund or the end
//! of the paid period ends it — the money capability changes the
//! entitlement, this module only reads it), from a school-wide
//! subscription, or from a manual grant by the school, recorded here with
//! who granted it. A breach of the school's rules disables a student's
//! access at once, whatever its source (LZ 6.5).

use sqlx::Row;
use tabys_accounts::members::{self, Role};
use tabys_accounts::users;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_notify::NewNotification;
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::courses::{self, Course};

/// Where a student's access comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    Paid,
    Subscription,
    Manual,
}

impl Source {
    pub fn code(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Subscription => "subscription",
            Self::Manual => "manual",
        }
    }
}

/// A student's current access to a course.
#[derive(Debug, Clone, Copy)]
pub struct Access {
    /// When access started: drip rules count from here.
    pub started: Timestamp,
    pub source: Source,
}

/// The earliest start among the active sources, or why there is none.
pub async fn check(db: &Db, course: &Course, student: UserId) -> Result<Access> {
    let now = db.now();
    let row = sqlx::query(
        "SELECT granted_at, grant_ends_at, blocked_at FROM course_students WHERE course_id = $1 AND student_id = $2",
    )
    .bind(course.id)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?;
    let mut best: Option<Access> = None;
    let mut consider = |started: Option<i64>, source: Source| {
        if let Some(s) = started
            && best.is_none_or(|b| s < b.started.0)
        {
            best = Some(Access {
                started: Timestamp(s),
                source,
            });
        }
    };
    if let Some(r) = &row {
        if r.try_get::<Option<i64>, _>(2)?.is_some() {
            return Err(Error::Conflict("course-access-disabled"));
        }
        let granted: Option<i64> = r.try_get(0)?;
        let ends: Option<i64> = r.try_get(1)?;
        if granted.is_some_and(|g| g <= now.0) && ends.is_none_or(|e| e > now.0) {
            consider(granted, Source::Manual);
        }
    }
    if let Some(product) = course.product_id {
        let r = sqlx::query(
            "SELECT MIN(starts_at) FROM entitlements WHERE org_id = $1 AND customer_id = $2 AND product_id = $3
             AND status = 'active' AND starts_at <= $4 AND (ends_at IS NULL OR ends_at > $4)",
        )
        .bind(course.org_id.0)
        .bind(student.0)
        .bind(product)
        .bind(now.0)
        .fetch_one(db.read())
        .await?;
        consider(r.try_get(0)?, Source::Paid);
    }
    if course.in_subscription {
        let r = sqlx::query(
            "SELECT MIN(e.starts_at) FROM entitlements e JOIN products p ON p.id = e.product_id
             WHERE e.org_id = $1 AND e.customer_id = $2 AND p.kind = 'subscription'
             AND e.status = 'active' AND e.starts_at <= $3 AND (e.ends_at IS NULL OR e.ends_at > $3)",
        )
        .bind(course.org_id.0)
        .bind(student.0)
        .bind(now.0)
        .fetch_one(db.read())
        .await?;
        consider(r.try_get(0)?, Source::Subscription);
    }
    match best {
        Some(a) if course.is_published() => Ok(a),
        Some(_) => Err(Error::NotFound),
        None => Err(Error::Conflict("course-no-access")),
    }
}

/// Published courses the person may open now, with when access started.
pub async fn my_courses(db: &Db, student: UserId) -> Result<Vec<(Course, Access)>> {
    let now = db.now();
    let rows = sqlx::query(
        "SELECT c.id FROM courses c WHERE c.status = 'published' AND (
            EXISTS (SELECT 1 FROM course_students s WHERE s.course_id = c.id AND s.student_id = $1 AND s.granted_at IS NOT NULL)
            OR EXISTS (SELECT 1 FROM entitlements e WHERE e.product_id = c.product_id AND e.customer_id = $1 AND e.status = 'active'
                       AND (e.ends_at IS NULL OR e.ends_at > $2))
            OR (c.in_subscription = 1 AND EXISTS (SELECT 1 FROM entitlements e JOIN products p ON p.id = e.product_id
                       WHERE e.org_id = c.org_id AND e.customer_id = $1 AND p.kind = 'subscription' AND e.status = 'active'
                       AND (e.ends_at IS NULL OR e.ends_at > $2))))
         ORDER BY c.id DESC LIMIT 200",
    )
    .bind(student.0)
    .bind(now.0)
    .fetch_all(db.read())
    .await?;
    let mut out = Vec::new();
    for r in rows {
        let course = courses::find(db, r.try_get(0)?).await?;
        if let Ok(a) = check(db, &course, student).await {
            out.push((course, a));
        }
    }
    Ok(out)
}

async fn ensure_row(
    tx: &mut Tx,
    now: Timestamp,
    org: OrgId,
    course: i64,
    student: UserId,
) -> Result<()> {
    let exists =
        sqlx::query("SELECT id FROM course_students WHERE course_id = $1 AND student_id = $2")
            .bind(course)
            .bind(student.0)
            .fetch_optional(&mut **tx)
            .await?;
    if exists.is_none() {
        sqlx::query(
            "INSERT INTO course_students (org_id, course_id, student_id, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(org.0)
        .bind(course)
        .bind(student.0)
        .bind(now.0)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// The school opens a course to a person by e-mail, free of charge or for
/// a manual payment, for `days` or without end. The person becomes a
/// customer of the organizer.
pub async fn grant(
    db: &Db,
    org: OrgId,
    course: i64,
    actor: UserId,
    email: &str,
    days: &str,
) -> Result<UserId> {
    let email = Email::parse(email).map_err(|e| e.on("email"))?;
    let days = crate::number(days, "days", 1..=3650)?;
    courses::get(db, org, course).await?;
    let person = users::find_by_email(db, &email)
        .await?
        .ok_or_else(|| Error::invalid("email", "course-student-unknown"))?;
    let now = db.now();
    let mut tx = db.begin().await?;
    members::join_as_customer(&mut tx, db, org, person.id).await?;
    ensure_row(&mut tx, now, org, course, person.id).await?;
    sqlx::query(
        "UPDATE course_students SET granted_by = $1, granted_at = $2, grant_ends_at = $3 WHERE course_id = $4 AND student_id = $5",
    )
    .bind(actor.0)
    .bind(now.0)
    .bind(days.map(|d| now.plus_days(d).0))
    .bind(course)
    .bind(person.id.0)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "course.access_granted",
            subject: format!("course:{course}:user:{}", person.id),
            data: serde_json::json!({ "days": days }),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(person.id)
}

/// Ends a manual grant (paid access is ended by a refund, not here).
pub async fn revoke_grant(
    db: &Db,
    org: OrgId,
    course: i64,
    actor: UserId,
    student: UserId,
) -> Result<()> {
    let now = db.now();
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE course_students SET grant_ends_at = $1 WHERE org_id = $2 AND course_id = $3 AND student_id = $4 AND granted_at IS NOT NULL",
    )
    .bind(now.0)
    .bind(org.0)
    .bind(course)
    .bind(student.0)
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
            actor_id: Some(actor),
            action: "course.access_revoked",
            subject: format!("course:{course}:user:{student}"),
            data: serde_json::json!({}),
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Disables a student's access for a breach of the rules, at once and
/// without warning (LZ 6.5), or lifts that. Written to the audit chain:
/// the school answers for what it did (AT 6.14).
pub async fn set_blocked(
    db: &Db,
    org: OrgId,
    course: i64,
    actor: UserId,
    student: UserId,
    reason: Option<&str>,
) -> Result<()> {
    let c = courses::get(db, org, course).await?;
    let reason = match reason {
        Some(r) => Some(crate::text(r, "reason", 1000, true)?),
        None => None,
    };
    let now = db.now();
    let mut tx = db.begin().await?;
    ensure_row(&mut tx, now, org, course, student).await?;
    sqlx::query(
        "UPDATE course_students SET blocked_at = $1, blocked_by = $2, block_reason = $3 WHERE course_id = $4 AND student_id = $5",
    )
    .bind(reason.as_ref().map(|_| now.0))
    .bind(reason.as_ref().map(|_| actor.0))
    .bind(reason.clone().unwrap_or_default())
    .bind(course)
    .bind(student.0)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: if reason.is_some() {
                "course.access_disabled"
            } else {
                "course.access_restored"
            },
            subject: format!("course:{course}:user:{student}"),
            data: serde_json::json!({ "reason": reason }),
        },
    )
    .await?;
    let (kind, key) = if reason.is_some() {
        ("course.disabled", "notify-course-disabled")
    } else {
        ("course.restored", "notify-course-restored")
    };
    let mut args = serde_json::Map::new();
    args.insert("course".into(), c.title.clone().into());
    tabys_notify::add(
        &mut tx,
        now,
        NewNotification {
            user: student,
            org: Some(org),
            kind,
            key,
            args,
        },
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Assigns a curator (a staff member of the organizer) and a group to a
/// student; `None` takes the curator away (LZ 3.5).
pub async fn set_curator(
    db: &Db,
    org: OrgId,
    course: i64,
    student: UserId,
    curator: Option<UserId>,
    group: &str,
) -> Result<()> {
    courses::get(db, org, course).await?;
    let group = crate::text(group, "group", 100, false)?;
    if let Some(c) = curator {
        let role = members::access(db, c, org)
            .await
            .map_err(|_| Error::invalid("curator", "course-curator-unknown"))?;
        if !role.is_staff() {
            return Err(Error::invalid("curator", "course-curator-unknown"));
        }
    }
    let now = db.now();
    let mut tx = db.begin().await?;
    ensure_row(&mut tx, now, org, course, student).await?;
    sqlx::query("UPDATE course_students SET curator_id = $1, group_name = $2 WHERE course_id = $3 AND student_id = $4")
        .bind(curator.map(|c| c.0))
        .bind(&group)
        .bind(course)
        .bind(student.0)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

/// Gives every student of a group the same curator.
pub async fn set_group_curator(
    db: &Db,
    org: OrgId,
    course: i64,
    group: &str,
    curator: Option<UserId>,
) -> Result<u64> {
    courses::get(db, org, course).await?;
    let group = crate::text(group, "group", 100, true)?;
    if let Some(c) = curator {
        let role = members::access(db, c, org)
            .await
            .map_err(|_| Error::invalid("curator", "course-curator-unknown"))?;
        if !role.is_staff() {
            return Err(Error::invalid("curator", "course-curator-unknown"));
        }
    }
    let mut tx = db.begin().await?;
    let done = sqlx::query(
        "UPDATE course_students SET curator_id = $1 WHERE org_id = $2 AND course_id = $3 AND group_name = $4",
    )
    .bind(curator.map(|c| c.0))
    .bind(org.0)
    .bind(course)
    .bind(&group)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(done.rows_affected())
}

/// A student of a course as the school sees them.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Student {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    pub paid: bool,
    pub granted_at: Option<i64>,
    pub grant_ends_at: Option<i64>,
    pub curator_id: Option<i64>,
    pub group_name: String,
    pub blocked_at: Option<i64>,
    pub block_reason: String,
}

/// Everyone who bought the course or was given it, or has a record here.
pub async fn students(db: &Db, org: OrgId, course: &Course) -> Result<Vec<Student>> {
    let rows = sqlx::query(
        "SELECT u.id, u.name, u.email,
            (SELECT COUNT(*) FROM entitlements e WHERE e.org_id = $1 AND e.customer_id = u.id AND e.product_id = $3
               AND e.status = 'active' AND (e.ends_at IS NULL OR e.ends_at > $4)),
            s.granted_at, s.grant_ends_at, s.curator_id, s.group_name, s.blocked_at, s.block_reason
         FROM users u LEFT JOIN course_students s ON s.student_id = u.id AND s.course_id = $2
         WHERE s.id IS NOT NULL
            OR u.id IN (SELECT e.customer_id FROM entitlements e WHERE e.org_id = $1 AND e.product_id = $3)
         ORDER BY u.name, u.id LIMIT 2000",
    )
    .bind(org.0)
    .bind(course.id)
    .bind(course.product_id.unwrap_or(0))
    .bind(db.now().0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| {
            Ok(Student {
                user_id: UserId(r.try_get(0)?),
                name: r.try_get(1)?,
                email: r.try_get(2)?,
                paid: r.try_get::<i64, _>(3)? > 0,
                granted_at: r.try_get(4)?,
                grant_ends_at: r.try_get(5)?,
                curator_id: r.try_get(6)?,
                group_name: r.try_get::<Option<String>, _>(7)?.unwrap_or_default(),
                blocked_at: r.try_get(8)?,
                block_reason: r.try_get::<Option<String>, _>(9)?.unwrap_or_default(),
            })
        })
        .collect()
}

/// The curator of a student in a course, if one is assigned.
pub async fn curator_of(db: &Db, course: i64, student: UserId) -> Result<Option<UserId>> {
    let row = sqlx::query(
        "SELECT curator_id FROM course_students WHERE course_id = $1 AND student_id = $2",
    )
    .bind(course)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?;
    Ok(match row {
        Some(r) => r.try_get::<Option<i64>, _>(0)?.map(UserId),
        None => None,
    })
}

/// Whether a staff member may see a student's work: owners and managers
/// see everyone's; a curator only their own students' (LZ 3.5).
pub async fn may_review(
    db: &Db,
    role: Role,
    actor: UserId,
    course: i64,
    student: UserId,
) -> Result<bool> {
    Ok(match role {
        Role::Owner | Role::Manager => true,
        Role::Curator => curator_of(db, course, student).await? == Some(actor),
        Role::Support | Role::Customer => false,
    })
}
