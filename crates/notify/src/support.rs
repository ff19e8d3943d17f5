//! Support chat (AT 3.4.2, AT-12, CP 5.1.2): a person writes to an
//! organizer's support from the cabinet, and an organizer's staff write to
//! the operator's support. Staff answer from a shared inbox, assign a
//! thread to one of them and set its status: `open` (the desk owes an
//! answer), `waiting` (the person does), `closed`. Every new message
//! notifies the other side through [`crate::add`], in its own language.
//! A message may carry one attachment, a file stored for the thread's
//! organizer (`tabys-files`); it is shown only to the thread's two sides.

use sqlx::Row;
use tabys_accounts::members::{self, Role};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError, Result, Timestamp};
use tabys_store::{Db, Tx};

use crate::NewNotification;

/// Whose support answers a thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Desk {
    /// An organizer's support staff.
    Org(OrgId),
    /// The operator's support, written to by an organizer's staff.
    Operator { from: OrgId },
}

pub const STATUSES: [&str; 3] = ["open", "waiting", "closed"];

const MAX_BODY: usize = 5000;
const MAX_SUBJECT: usize = 200;

#[derive(Debug, Clone, serde::Serialize)]
pub struct Thread {
    pub id: i64,
    /// `None`: the operator's desk.
    pub org_id: Option<OrgId>,
    pub org_name: String,
    pub customer_id: UserId,
    pub customer_name: String,
    pub from_org_id: Option<OrgId>,
    pub subject: String,
    pub status: String,
    pub assignee_id: Option<UserId>,
    pub assignee_name: Option<String>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Thread {
    /// The organizer whose storage holds the thread's attachments: the
    /// desk's, or for the operator's desk the organizer that wrote.
    pub fn storage_org(&self) -> Option<OrgId> {
        self.org_id.or(self.from_org_id)
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Message {
    pub id: i64,
    pub author_id: UserId,
    pub author_name: String,
    pub from_staff: bool,
    pub body: String,
    /// The attached file and its name.
    pub file: Option<(i64, String)>,
    pub created_at: Timestamp,
}

fn check_text(subject: Option<&str>, body: &str, with_file: bool) -> Result<()> {
    let mut errors = Vec::new();
    if let Some(s) = subject {
        if s.trim().is_empty() {
            errors.push(FieldError {
                field: "subject",
                code: "required",
            });
        } else if s.chars().count() > MAX_SUBJECT {
            errors.push(FieldError {
                field: "subject",
                code: "text-too-long",
            });
        }
    }
    if body.trim().is_empty() && !with_file {
        errors.push(FieldError {
            field: "body",
            code: "required",
        });
    } else if body.chars().count() > MAX_BODY {
        errors.push(FieldError {
            field: "body",
            code: "text-too-long",
        });
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(Error::Invalid(errors))
    }
}

const THREAD_COLUMNS: &str =
    "t.id, t.org_id, COALESCE(o.legal_name, ''), t.customer_id, c.name, t.from_org_id, t.subject,
    t.status, t.assignee_id, a.name, t.created_at, t.updated_at";
const THREAD_FROM: &str = "support_threads t JOIN users c ON c.id = t.customer_id
    LEFT JOIN organizers o ON o.id = t.org_id LEFT JOIN users a ON a.id = t.assignee_id";

fn thread_from_row(r: &sqlx::any::AnyRow) -> Result<Thread> {
    Ok(Thread {
        id: r.try_get(0)?,
        org_id: r.try_get::<Option<i64>, _>(1)?.map(OrgId),
        org_name: r.try_get(2)?,
        customer_id: UserId(r.try_get(3)?),
        customer_name: r.try_get(4)?,
        from_org_id: r.try_get::<Option<i64>, _>(5)?.map(OrgId),
        subject: r.try_get(6)?,
        status: r.try_get(7)?,
        assignee_id: r.try_get::<Option<i64>, _>(8)?.map(UserId),
        assignee_name: r.try_get(9)?,
        created_at: Timestamp(r.try_get(10)?),
        updated_at: Timestamp(r.try_get(11)?),
    })
}

/// Opens a thread with its first message. A person may write to an
/// organizer they belong to; an organizer's staff may write to the operator.
pub async fn open(db: &Db, author: UserId, desk: Desk, subject: &str, body: &str) -> Result<i64> {
    check_text(Some(subject), body, false)?;
    let (org, from) = match desk {
        Desk::Org(org) => {
            members::access(db, author, org).await?;
            (Some(org), None)
        }
        Desk::Operator { from } => {
            members::staff_access(db, author, from).await?;
            (None, Some(from))
        }
    };
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(
        "INSERT INTO support_threads (org_id, customer_id, from_org_id, subject, status, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'open', $5, $5) RETURNING id",
    )
    .bind(org.map(|o| o.0))
    .bind(author.0)
    .bind(from.map(|o| o.0))
    .bind(subject.trim())
    .bind(now.0)
    .fetch_one(&mut *tx)
    .await?;
    let id: i64 = row.try_get(0)?;
    insert_message(&mut tx, now, id, (author, false), body, None).await?;
    notify_desk(&mut tx, now, id, org, None, subject.trim()).await?;
    tx.commit().await?;
    Ok(id)
}

async fn insert_message(
    tx: &mut Tx,
    now: Timestamp,
    thread: i64,
    (author, from_staff): (UserId, bool),
    body: &str,
    file: Option<i64>,
) -> Result<i64> {
    let row = sqlx::query(
        "INSERT INTO support_messages (thread_id, author_id, from_staff, body, file_id, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(thread)
    .bind(author.0)
    .bind(i64::from(from_staff))
    .bind(body.trim())
    .bind(file)
    .bind(now.0)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get(0)?)
}

fn args(thread: i64, subject: &str, desk: &str) -> serde_json::Map<String, serde_json::Value> {
    let mut a = serde_json::Map::new();
    a.insert("thread".into(), thread.into());
    a.insert("subject".into(), subject.into());
    a.insert("desk".into(), desk.into());
    a
}

/// Tells the desk: the assignee, or else everyone who answers there.
async fn notify_desk(
    tx: &mut Tx,
    now: Timestamp,
    thread: i64,
    org: Option<OrgId>,
    assignee: Option<UserId>,
    subject: &str,
) -> Result<()> {
    let people: Vec<i64> = match (assignee, org) {
        (Some(a), _) => vec![a.0],
        (None, Some(o)) => sqlx::query(
            "SELECT user_id FROM memberships WHERE org_id = $1 AND role IN ('owner', 'manager', 'support') ORDER BY user_id",
        )
        .bind(o.0)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get(0))
        .collect::<Result<_, _>>()?,
        (None, None) => sqlx::query("SELECT id FROM users WHERE is_operator = 1 ORDER BY id")
            .fetch_all(&mut **tx)
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?,
    };
    for user in people {
        crate::add(
            tx,
            now,
            NewNotification {
                user: UserId(user),
                org,
                kind: "support.message",
                key: "notify-support-message",
                args: args(thread, subject, ""),
            },
        )
        .await?;
    }
    Ok(())
}

/// Who is looking at a thread.
#[derive(Debug, Clone, Copy)]
pub enum Viewer {
    /// The person who opened it.
    Author(UserId),
    /// Staff of the desk: an organizer's, or the operator.
    Staff(UserId),
}

/// A thread and its messages, if the viewer may see it; otherwise `NotFound`.
pub async fn get(
    db: &Db,
    viewer: Viewer,
    desk: Option<OrgId>,
    id: i64,
) -> Result<(Thread, Vec<Message>)> {
    let row = sqlx::query(&format!(
        "SELECT {THREAD_COLUMNS} FROM {THREAD_FROM} WHERE t.id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    let t = thread_from_row(&row)?;
    match viewer {
        Viewer::Author(u) if t.customer_id == u => {}
        Viewer::Staff(_) if t.org_id == desk => {}
        _ => return Err(Error::NotFound),
    }
    let rows = sqlx::query(
        "SELECT m.id, m.author_id, u.name, m.from_staff, m.body, m.created_at, f.id, f.name FROM support_messages m
         JOIN users u ON u.id = m.author_id LEFT JOIN files f ON f.id = m.file_id AND f.deleted_at IS NULL
         WHERE m.thread_id = $1 ORDER BY m.id",
    )
    .bind(id)
    .fetch_all(db.read())
    .await?;
    let messages = rows
        .iter()
        .map(|r| {
            Ok(Message {
                id: r.try_get(0)?,
                author_id: UserId(r.try_get(1)?),
                author_name: r.try_get(2)?,
                from_staff: r.try_get::<i64, _>(3)? != 0,
                body: r.try_get(4)?,
                file: match (
                    r.try_get::<Option<i64>, _>(6)?,
                    r.try_get::<Option<String>, _>(7)?,
                ) {
                    (Some(id), Some(name)) => Some((id, name)),
                    _ => None,
                },
                created_at: Timestamp(r.try_get(5)?),
            })
        })
        .collect::<Result<_>>()?;
    Ok((t, messages))
}

/// Adds a message to a thread the viewer may see, with an optional
/// attachment already stored for [`Thread::storage_org`] (then the text
/// may be empty). A message from the person reopens the thread for the
/// desk; one from staff leaves it waiting for the person. The other side
/// is notified.
pub async fn post(
    db: &Db,
    viewer: Viewer,
    desk: Option<OrgId>,
    id: i64,
    body: &str,
    file: Option<i64>,
) -> Result<i64> {
    check_text(None, body, file.is_some())?;
    let (t, _) = get(db, viewer, desk, id).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let (author, from_staff) = match viewer {
        Viewer::Author(u) => (u, false),
        Viewer::Staff(u) => (u, true),
    };
    let message = insert_message(&mut tx, now, id, (author, from_staff), body, file).await?;
    let status = if from_staff { "waiting" } else { "open" };
    sqlx::query("UPDATE support_threads SET status = $1, updated_at = $2 WHERE id = $3")
        .bind(status)
        .bind(now.0)
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if from_staff {
        let desk_name = if t.org_id.is_some() {
            t.org_name.clone()
        } else {
            "Tabys".into()
        };
        crate::add(
            &mut tx,
            now,
            NewNotification {
                user: t.customer_id,
                org: t.org_id,
                kind: "support.reply",
                key: "notify-support-reply",
                args: args(id, &t.subject, &desk_name),
            },
        )
        .await?;
    } else {
        notify_desk(&mut tx, now, id, t.org_id, t.assignee_id, &t.subject).await?;
    }
    tx.commit().await?;
    Ok(message)
}

/// Assigns a thread of the desk to one of its staff (or to nobody) and sets its status.
pub async fn update(
    db: &Db,
    staff: UserId,
    desk: Option<OrgId>,
    id: i64,
    assignee: Option<UserId>,
    status: &str,
) -> Result<()> {
    if !STATUSES.contains(&status) {
        return Err(Error::invalid("status", "invalid"));
    }
    get(db, Viewer::Staff(staff), desk, id).await?;
    if let Some(a) = assignee {
        let ok = match desk {
            Some(org) => members::access(db, a, org).await.is_ok_and(|r| {
                matches!(
                    r,
                    Role::Owner | Role::Manager | Role::Support | Role::Curator
                )
            }),
            None => sqlx::query("SELECT 1 FROM users WHERE id = $1 AND is_operator = 1")
                .bind(a.0)
                .fetch_optional(db.read())
                .await?
                .is_some(),
        };
        if !ok {
            return Err(Error::invalid("assignee", "invalid"));
        }
    }
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE support_threads SET assignee_id = $1, status = $2, updated_at = $3 WHERE id = $4",
    )
    .bind(assignee.map(|a| a.0))
    .bind(status)
    .bind(db.now().0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The threads a person opened, newest activity first.
pub async fn of_author(db: &Db, user: UserId) -> Result<Vec<Thread>> {
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLUMNS} FROM {THREAD_FROM} WHERE t.customer_id = $1 ORDER BY t.updated_at DESC, t.id DESC LIMIT 200"
    ))
    .bind(user.0)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(thread_from_row).collect()
}

/// A desk's shared inbox (an organizer's, or the operator's for `None`),
/// optionally of one status; open threads first, then newest activity.
pub async fn inbox(db: &Db, desk: Option<OrgId>, status: Option<&str>) -> Result<Vec<Thread>> {
    let status = status.filter(|s| STATUSES.contains(s));
    let rows = sqlx::query(&format!(
        "SELECT {THREAD_COLUMNS} FROM {THREAD_FROM}
         WHERE COALESCE(t.org_id, 0) = $1 AND ($2 = '' OR t.status = $2)
         ORDER BY CASE t.status WHEN 'open' THEN 0 WHEN 'waiting' THEN 1 ELSE 2 END, t.updated_at DESC, t.id DESC LIMIT 500"
    ))
    .bind(desk.map_or(0, |o| o.0))
    .bind(status.unwrap_or(""))
    .fetch_all(db.read())
    .await?;
    rows.iter().map(thread_from_row).collect()
}

/// The attachment of one message of a thread the viewer may see.
pub async fn attachment(
    db: &Db,
    viewer: Viewer,
    desk: Option<OrgId>,
    thread: i64,
    message: i64,
) -> Result<(OrgId, i64)> {
    let (t, messages) = get(db, viewer, desk, thread).await?;
    let file = messages
        .iter()
        .find(|m| m.id == message)
        .and_then(|m| m.file.as_ref().map(|(f, _)| *f))
        .ok_or(Error::NotFound)?;
    Ok((t.storage_org().ok_or(Error::NotFound)?, file))
}

/// The newest message id of a thread the viewer may see: what a page polls.
pub async fn last_message(db: &Db, viewer: Viewer, desk: Option<OrgId>, id: i64) -> Result<i64> {
    let (_, messages) = get(db, viewer, desk, id).await?;
    Ok(messages.last().map_or(0, |m| m.id))
}

/// The operator's staff who may be assigned an operator thread.
pub async fn operators(db: &Db) -> Result<Vec<(UserId, String)>> {
    let rows = sqlx::query("SELECT id, name FROM users WHERE is_operator = 1 ORDER BY id")
        .fetch_all(db.read())
        .await?;
    rows.iter()
        .map(|r| Ok((UserId(r.try_get(0)?), r.try_get(1)?)))
        .collect()
}
