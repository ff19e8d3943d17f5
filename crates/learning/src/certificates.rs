//! Certificates of completion (LZ 9.1-9.5). When a student passes every
//! required lesson, a certificate with a unique number is due within five
//! business days (LZ 9.1); it is issued at once when the recipient's data
//! is on file, otherwise as soon as the student gives it in the cabinet.
//! An individual's certificate shows full name, residence address and
//! e-mail (LZ 9.3); a legal entity's its full name, address, postal
//! address, BIN, e-mail and the authorised person's name and position
//! (LZ 9.2); both show the course, the issuer and the signer. If the data
//! is incomplete or contradictory, the school asks for a clarification
//! within three business days of receiving it, and the student answers
//! within three business days (LZ 9.5); the certificate waits meanwhile.
//! The PDF is coloured (LZ 9.4), in the course's language, with a QR code
//! leading to a public verification page.
//!
//! Issuing enqueues `learning.certificate` in the same transaction; the
//! job makes the PDF, stores it as a file of the school (purpose
//! `certificate`, not counted against its plan), and tells the student —
//! in the cabinet and by an e-mail carrying the PDF and the verification
//! link — all in one transaction guarded by the issue it was made for, so
//! a run repeated after a crash does nothing, and a certificate re-issued
//! after a clarification gets a new PDF with the corrected data.

use sqlx::Row;
use tabys_accounts::organizers::Organizer;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::iin::{IinBin, IinBinKind};
use tabys_core::{Error, Result, Timestamp, calendar};
use tabys_notify::NewNotification;
use tabys_render::{Document, Rgb};
use tabys_store::audit::{self, Entry};
use tabys_store::{Db, Tx};

use crate::courses::{self, Course, Problems};
use crate::progress;

/// Business days within which a certificate is due after completion (LZ 9.1).
pub const SEND_WITHIN: u32 = 5;
/// Business days for the clarification request and for its answer (LZ 9.5).
pub const CLARIFY_WITHIN: u32 = 3;

/// The job that makes an issued certificate's PDF and mails it.
pub const MAIL_JOB: &str = "learning.certificate";

/// Who the certificate is for.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Recipient {
    /// `individual` or `legal`.
    pub kind: String,
    pub full_name: String,
    pub address: String,
    #[serde(default)]
    pub postal_address: String,
    #[serde(default)]
    pub bin: String,
    pub email: String,
    #[serde(default)]
    pub authorised_name: String,
    #[serde(default)]
    pub authorised_position: String,
}

impl Recipient {
    pub fn is_legal(&self) -> bool {
        self.kind == "legal"
    }
}

/// The recipient form as typed in the cabinet, with the answer to a
/// clarification request if one is open.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
pub struct RecipientInput {
    #[serde(default)]
    pub kind: String,
    #[serde(default)]
    pub full_name: String,
    #[serde(default)]
    pub address: String,
    #[serde(default)]
    pub postal_address: String,
    #[serde(default)]
    pub bin: String,
    #[serde(default)]
    pub email: String,
    #[serde(default)]
    pub authorised_name: String,
    #[serde(default)]
    pub authorised_position: String,
    #[serde(default)]
    pub answer: String,
}

impl From<&Recipient> for RecipientInput {
    fn from(r: &Recipient) -> Self {
        Self {
            kind: r.kind.clone(),
            full_name: r.full_name.clone(),
            address: r.address.clone(),
            postal_address: r.postal_address.clone(),
            bin: r.bin.clone(),
            email: r.email.clone(),
            authorised_name: r.authorised_name.clone(),
            authorised_position: r.authorised_position.clone(),
            answer: String::new(),
        }
    }
}

impl RecipientInput {
    /// Every field LZ 9.2 (legal entity) or LZ 9.3 (individual) needs.
    pub fn parse(&self) -> Result<Recipient> {
        let mut p = Problems::default();
        let legal = match self.kind.trim() {
            "individual" | "" => false,
            "legal" => true,
            _ => {
                p.push("kind", "certificate-kind-unknown");
                false
            }
        };
        let full_name = p.take(crate::title(&self.full_name, "full_name"))?;
        let address = p.take(crate::text(&self.address, "address", 500, true))?;
        let email = match Email::parse(&self.email) {
            Ok(e) => e.as_str().to_string(),
            Err(e) => {
                p.push("email", e.code);
                String::new()
            }
        };
        let (mut postal_address, mut bin, mut authorised_name, mut authorised_position) =
            (String::new(), String::new(), String::new(), String::new());
        if legal {
            postal_address = p.take(crate::text(
                &self.postal_address,
                "postal_address",
                500,
                true,
            ))?;
            match IinBin::parse(&self.bin) {
                Ok(b) if b.kind() == IinBinKind::LegalEntity => bin = b.as_str().to_string(),
                Ok(_) => p.push("bin", "bin-required"),
                Err(e) => p.push("bin", e.code),
            }
            authorised_name = p.take(crate::title(&self.authorised_name, "authorised_name"))?;
            authorised_position = p.take(crate::title(
                &self.authorised_position,
                "authorised_position",
            ))?;
        }
        p.finish()?;
        Ok(Recipient {
            kind: if legal { "legal" } else { "individual" }.into(),
            full_name,
            address,
            postal_address,
            bin,
            email,
            authorised_name,
            authorised_position,
        })
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Certificate {
    pub id: i64,
    pub org_id: OrgId,
    pub course_id: i64,
    pub student_id: UserId,
    pub number: String,
    /// `waiting-data`, `issued` or `clarification`.
    pub status: String,
    pub completed_at: Timestamp,
    /// The last business day to send it (LZ 9.1), `YYYY-MM-DD`.
    pub send_by: String,
    /// The last business day for a clarification request (LZ 9.5).
    pub clarify_by: Option<String>,
    pub issued_at: Option<Timestamp>,
    pub recipient: Option<Recipient>,
    pub question: String,
    /// The last business day for the student's answer (LZ 9.5).
    pub answer_by: Option<String>,
    pub answer: String,
}

impl Certificate {
    pub fn is_issued(&self) -> bool {
        self.status == "issued"
    }
}

const COLUMNS: &str = "id, org_id, course_id, student_id, number, status, completed_at, send_by, clarify_by, issued_at, recipient, \
     question, answer_by, answer";

fn from_row(r: &sqlx::any::AnyRow) -> Result<Certificate> {
    let recipient: String = r.try_get(10)?;
    Ok(Certificate {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        course_id: r.try_get(2)?,
        student_id: UserId(r.try_get(3)?),
        number: r.try_get(4)?,
        status: r.try_get(5)?,
        completed_at: Timestamp(r.try_get(6)?),
        send_by: r.try_get(7)?,
        clarify_by: r.try_get(8)?,
        issued_at: r.try_get::<Option<i64>, _>(9)?.map(Timestamp),
        recipient: serde_json::from_str(&recipient)
            .ok()
            .filter(|r: &Recipient| !r.kind.is_empty()),
        question: r.try_get(11)?,
        answer_by: r.try_get(12)?,
        answer: r.try_get(13)?,
    })
}

fn business_day_after(now: Timestamp, days: u32) -> String {
    calendar::kz()
        .add_business_days(calendar::business_date(now), days)
        .to_string()
}

/// A number nobody can guess, printed on the certificate and in its QR code.
fn new_number(now: Timestamp) -> String {
    let year = calendar::business_date(now).year();
    let token: String = tabys_store::token::random_token()
        .chars()
        .take(10)
        .collect::<String>()
        .to_uppercase();
    format!("TBS-{year}-{token}")
}

/// The recipient data a student keeps with an organizer.
pub async fn recipient(db: &Db, org: OrgId, student: UserId) -> Result<Option<Recipient>> {
    let row = sqlx::query(
        "SELECT kind, full_name, address, postal_address, bin, email, authorised_name, authorised_position
         FROM certificate_recipients WHERE org_id = $1 AND student_id = $2",
    )
    .bind(org.0)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?;
    row.map(|r| {
        Ok(Recipient {
            kind: r.try_get(0)?,
            full_name: r.try_get(1)?,
            address: r.try_get(2)?,
            postal_address: r.try_get(3)?,
            bin: r.try_get(4)?,
            email: r.try_get(5)?,
            authorised_name: r.try_get(6)?,
            authorised_position: r.try_get(7)?,
        })
    })
    .transpose()
}

async fn notify(
    tx: &mut Tx,
    now: Timestamp,
    c: &Certificate,
    course: &Course,
    key: &'static str,
    kind: &'static str,
    date: Option<&str>,
) -> Result<()> {
    let mut args = serde_json::Map::new();
    args.insert("course".into(), course.title.clone().into());
    args.insert("number".into(), c.number.clone().into());
    args.insert(
        "link".into(),
        format!("/cabinet/courses/{}/certificate", course.id).into(),
    );
    if let Some(d) = date {
        args.insert("date".into(), d.to_string().into());
    }
    tabys_notify::add(
        tx,
        now,
        NewNotification {
            user: c.student_id,
            org: Some(course.org_id),
            kind,
            key,
            args,
        },
    )
    .await?;
    Ok(())
}

async fn issue(
    tx: &mut Tx,
    db: &Db,
    now: Timestamp,
    c: &Certificate,
    course: &Course,
    r: &Recipient,
    answer: &str,
) -> Result<()> {
    sqlx::query(
        "UPDATE certificates SET status = 'issued', recipient = $1, issued_at = COALESCE(issued_at, $2), data_at = $2,
             clarify_by = COALESCE(clarify_by, $3), answer = $4, file_id = NULL, updated_at = $2 WHERE id = $5",
    )
    .bind(serde_json::to_string(r).map_err(Error::internal)?)
    .bind(now.0)
    .bind(business_day_after(now, CLARIFY_WITHIN))
    .bind(answer)
    .bind(c.id)
    .execute(&mut **tx)
    .await?;
    audit::append(
        tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(course.org_id),
            actor_id: Some(c.student_id),
            action: "certificate.issued",
            subject: format!("certificate:{}", c.number),
            data: serde_json::json!({ "course": course.id, "recipient": r }),
        },
    )
    .await?;
    // The PDF is made and mailed by the job, for this issue only: a
    // re-issue (after a clarification) makes a new one. One job per issue,
    // enqueued with it, so no dedupe key is needed (and two issues within
    // one millisecond must not share one).
    tabys_store::jobs::enqueue(
        tx,
        now,
        tabys_store::jobs::NewJob::new(
            MAIL_JOB,
            serde_json::json!({ "certificate": c.id, "issued": now.0 }),
        )
        .org(course.org_id),
    )
    .await?;
    Ok(())
}

/// Makes the PDF of an issued certificate and tells the student, with the
/// PDF attached to the e-mail (the job's work). `issued` is the moment of
/// the issue the job was enqueued for; once the certificate has its PDF,
/// or was re-issued since (another job serves that issue), nothing is done.
/// `public_url` is the site's address, for the verification link.
pub async fn mail(
    db: &Db,
    files: &tabys_files::Files,
    public_url: &str,
    id: i64,
    issued: Timestamp,
) -> Result<()> {
    let Some(row) = sqlx::query(&format!(
        "SELECT {COLUMNS}, data_at, file_id FROM certificates WHERE id = $1"
    ))
    .bind(id)
    .fetch_optional(db.read())
    .await?
    else {
        return Ok(());
    };
    let c = from_row(&row)?;
    let data_at: Option<i64> = row.try_get(14)?;
    let file_id: Option<i64> = row.try_get(15)?;
    if !c.is_issued() || data_at != Some(issued.0) || file_id.is_some() {
        return Ok(());
    }
    let course = courses::get(db, c.org_id, c.course_id).await?;
    let org = tabys_accounts::organizers::get(db, c.org_id).await?;
    let verify = verify_link(public_url, &c.number);
    let tr = tabys_i18n::Tr::new(course.locale);
    let pdf = document(&c, &course, &org, &verify, &|k| tr.t(k))?;
    let name = format!("{}.pdf", c.number);
    let now = db.now();
    let mut tx = db.begin().await?;
    let file = files
        .store_document(
            &mut tx,
            now,
            c.org_id,
            tabys_files::CERTIFICATE,
            &name,
            &pdf,
        )
        .await?;
    let done = sqlx::query(
        "UPDATE certificates SET file_id = $1, updated_at = $2
         WHERE id = $3 AND status = 'issued' AND data_at = $4 AND file_id IS NULL",
    )
    .bind(file.id)
    .bind(now.0)
    .bind(id)
    .bind(issued.0)
    .execute(&mut *tx)
    .await?;
    if done.rows_affected() == 0 {
        // Another run got here first, or the certificate changed meanwhile.
        drop(tx);
        files.discard_unrecorded(&file).await;
        return Ok(());
    }
    let mut args = serde_json::Map::new();
    args.insert("course".into(), course.title.clone().into());
    args.insert("number".into(), c.number.clone().into());
    args.insert(
        "link".into(),
        format!("/cabinet/courses/{}/certificate", course.id).into(),
    );
    args.insert("verify".into(), verify.into());
    tabys_notify::add_with_attachments(
        &mut tx,
        now,
        NewNotification {
            user: c.student_id,
            org: Some(course.org_id),
            kind: "course.certificate",
            key: "notify-course-certificate",
            args,
        },
        &[tabys_notify::deliveries::Attachment {
            org: c.org_id,
            file_id: file.id,
            name,
            content_type: file.content_type.clone(),
        }],
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// The full address of a certificate's public verification page.
pub fn verify_link(public_url: &str, number: &str) -> String {
    format!("{}/certificates/{number}", public_url.trim_end_matches('/'))
}

/// Called after anything that may complete a course: creates the
/// certificate once, and issues it if the recipient data is on file.
pub async fn after_progress(db: &Db, course: &Course, student: UserId) -> Result<()> {
    if for_student(db, course.id, student).await?.is_some() {
        return Ok(());
    }
    let view = progress::view(db, course, student).await?;
    if !view.completed() {
        return Ok(());
    }
    let data = recipient(db, course.org_id, student).await?;
    let now = db.now();
    let mut tx = db.begin().await?;
    let row = sqlx::query(&format!(
        "INSERT INTO certificates (org_id, course_id, student_id, number, status, completed_at, send_by, created_at, updated_at)
         VALUES ($1, $2, $3, $4, 'waiting-data', $5, $6, $5, $5) RETURNING {COLUMNS}"
    ))
    .bind(course.org_id.0)
    .bind(course.id)
    .bind(student.0)
    .bind(new_number(now))
    .bind(now.0)
    .bind(business_day_after(now, SEND_WITHIN))
    .fetch_one(&mut *tx)
    .await;
    let c = match row {
        Ok(r) => from_row(&r)?,
        // Completed twice at once: the other request made it.
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    match data {
        Some(r) => issue(&mut tx, db, now, &c, course, &r, "").await?,
        None => {
            notify(
                &mut tx,
                now,
                &c,
                course,
                "notify-course-certificate-data",
                "course.certificate_data",
                None,
            )
            .await?
        }
    }
    tx.commit().await?;
    Ok(())
}

/// The student saves their recipient data; a certificate waiting for it
/// (or for a clarification) is issued now.
pub async fn save_recipient(
    db: &Db,
    org: OrgId,
    student: UserId,
    input: &RecipientInput,
) -> Result<()> {
    let r = input.parse()?;
    let answer = crate::text(&input.answer, "answer", 2000, false)?;
    let now = db.now();
    let pending: Vec<Certificate> = {
        let rows = sqlx::query(&format!(
            "SELECT {COLUMNS} FROM certificates WHERE org_id = $1 AND student_id = $2 AND status <> 'issued'"
        ))
        .bind(org.0)
        .bind(student.0)
        .fetch_all(db.read())
        .await?;
        rows.iter().map(from_row).collect::<Result<_>>()?
    };
    let mut courses_of = Vec::new();
    for c in &pending {
        courses_of.push(courses::get(db, org, c.course_id).await?);
    }
    let mut tx = db.begin().await?;
    sqlx::query("DELETE FROM certificate_recipients WHERE org_id = $1 AND student_id = $2")
        .bind(org.0)
        .bind(student.0)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO certificate_recipients (org_id, student_id, kind, full_name, address, postal_address, bin, email,
             authorised_name, authorised_position, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
    )
    .bind(org.0)
    .bind(student.0)
    .bind(&r.kind)
    .bind(&r.full_name)
    .bind(&r.address)
    .bind(&r.postal_address)
    .bind(&r.bin)
    .bind(&r.email)
    .bind(&r.authorised_name)
    .bind(&r.authorised_position)
    .bind(now.0)
    .execute(&mut *tx)
    .await?;
    for (c, course) in pending.iter().zip(&courses_of) {
        if c.status == "clarification" && answer.is_empty() {
            return Err(Error::invalid("answer", "required"));
        }
        issue(&mut tx, db, now, c, course, &r, &answer).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// The school asks the student to clarify their data (LZ 9.5): allowed
/// within three business days of receiving it; the student then has three
/// business days to answer, and the certificate waits.
pub async fn request_clarification(
    db: &Db,
    org: OrgId,
    actor: UserId,
    id: i64,
    question: &str,
) -> Result<()> {
    let question = crate::text(question, "question", 2000, true)?;
    let c = get(db, org, id).await?;
    if c.status != "issued" {
        return Err(Error::Conflict("certificate-not-issued"));
    }
    let now = db.now();
    let today = calendar::business_date(now).to_string();
    if c.clarify_by
        .as_deref()
        .is_some_and(|by| today.as_str() > by)
    {
        return Err(Error::Conflict("clarification-too-late"));
    }
    let course = courses::get(db, org, c.course_id).await?;
    let answer_by = business_day_after(now, CLARIFY_WITHIN);
    let mut tx = db.begin().await?;
    sqlx::query(
        "UPDATE certificates SET status = 'clarification', question = $1, answer_by = $2, answer = '', updated_at = $3 WHERE id = $4",
    )
    .bind(&question)
    .bind(&answer_by)
    .bind(now.0)
    .bind(id)
    .execute(&mut *tx)
    .await?;
    audit::append(
        &mut tx,
        db.dialect(),
        now,
        Entry {
            org_id: Some(org),
            actor_id: Some(actor),
            action: "certificate.clarification_requested",
            subject: format!("certificate:{}", c.number),
            data: serde_json::json!({ "question": question, "answer_by": answer_by }),
        },
    )
    .await?;
    notify(
        &mut tx,
        now,
        &c,
        &course,
        "notify-course-clarification",
        "course.clarification",
        Some(&answer_by),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<Certificate> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM certificates WHERE id = $1 AND org_id = $2"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

pub async fn for_student(db: &Db, course: i64, student: UserId) -> Result<Option<Certificate>> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM certificates WHERE course_id = $1 AND student_id = $2"
    ))
    .bind(course)
    .bind(student.0)
    .fetch_optional(db.read())
    .await?;
    row.as_ref().map(from_row).transpose()
}

/// The organizer's certificates with course titles and students' names, newest first.
pub async fn list(db: &Db, org: OrgId) -> Result<Vec<(Certificate, String, String)>> {
    let cols = COLUMNS
        .split(", ")
        .map(|c| format!("x.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let rows = sqlx::query(&format!(
        "SELECT {cols}, c.title, u.name FROM certificates x JOIN courses c ON c.id = x.course_id JOIN users u ON u.id = x.student_id
         WHERE x.org_id = $1 ORDER BY x.id DESC LIMIT 500"
    ))
    .bind(org.0)
    .fetch_all(db.read())
    .await?;
    rows.iter()
        .map(|r| Ok((from_row(r)?, r.try_get(14)?, r.try_get(15)?)))
        .collect()
}

/// An issued certificate by its number, for the public verification page.
pub async fn by_number(db: &Db, number: &str) -> Result<Certificate> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM certificates WHERE number = $1 AND status = 'issued'"
    ))
    .bind(number.trim())
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The certificate as a coloured PDF in the course's language. `t` gives
/// the text of a locale key in that language; `link` is the verification
/// page's full address, put in the QR code.
pub fn document(
    c: &Certificate,
    course: &Course,
    org: &Organizer,
    link: &str,
    t: &dyn Fn(&str) -> String,
) -> Result<Vec<u8>> {
    let r = c
        .recipient
        .clone()
        .ok_or(Error::Conflict("certificate-not-issued"))?;
    let mut doc = Document::new(t("learning-cert-title"));
    doc.accent(Rgb(23, 92, 160));
    doc.centered(t("learning-cert-awarded"));
    doc.display(r.full_name.clone());
    doc.centered(t("learning-cert-completed"));
    doc.display(format!("«{}»", course.title));
    doc.paragraph("");
    doc.key_value(t("learning-cert-number"), c.number.clone());
    if let Some(at) = c.issued_at {
        doc.key_value(
            t("learning-cert-date"),
            calendar::business_date(at).strftime("%d.%m.%Y").to_string(),
        );
    }
    if r.is_legal() {
        doc.key_value(t("learning-cert-legal-name"), r.full_name.clone());
        doc.key_value(t("learning-cert-address"), r.address.clone());
        doc.key_value(t("learning-cert-postal-address"), r.postal_address.clone());
        doc.key_value(t("learning-cert-bin"), r.bin.clone());
        doc.key_value(t("learning-cert-email"), r.email.clone());
        doc.key_value(
            t("learning-cert-authorised"),
            format!("{}, {}", r.authorised_name, r.authorised_position),
        );
    } else {
        doc.key_value(t("learning-cert-full-name"), r.full_name.clone());
        doc.key_value(t("learning-cert-residence"), r.address.clone());
        doc.key_value(t("learning-cert-email"), r.email.clone());
    }
    doc.key_value(t("learning-cert-course"), course.title.clone());
    doc.key_value(t("learning-cert-issuer"), org.profile.legal_name.clone());
    let (name, position) = if course.signer_name.is_empty() {
        (
            org.profile.head_name.clone(),
            org.profile.head_position.clone(),
        )
    } else {
        (course.signer_name.clone(), course.signer_position.clone())
    };
    doc.key_value(
        t("learning-cert-signer"),
        format!("{position} {name}").trim().to_string(),
    );
    doc.paragraph("");
    doc.qr(link.to_string());
    doc.centered(t("learning-cert-verify"));
    doc.centered(link.to_string());
    doc.to_pdf().map_err(Error::internal)
}
