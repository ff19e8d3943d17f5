//! Online courses over HTTP: a school builds a course and sells it, students
//! study it through drip rules, hand in assignments that curators return
//! and accept, take quizzes, talk under lessons and get certificates; and
//! every bad input of the capability — late work where the course forbids
//! it, a quiz beyond its attempts or time, another student's submission,
//! another school's curator — gets a clear error and changes nothing.

use std::time::Duration;

use anyhow::{Context, ensure};
use tabys_accounts::users;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Client, PASSWORD, Reply, TestApp, db_test};

const DAY: i64 = 86_400;

/// The text of a PDF as poppler's `pdftotext` reads it (Debian package
/// poppler-utils): the certificate is checked by a real reader.
fn pdf_text(pdf: &[u8]) -> anyhow::Result<String> {
    use std::io::Write;
    let mut child = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8", "-", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("pdftotext (poppler-utils) must be installed to read the certificate")?;
    child
        .stdin
        .take()
        .context("pdftotext stdin")?
        .write_all(pdf)?;
    let out = child.wait_with_output()?;
    ensure!(
        out.status.success(),
        "pdftotext: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" "))
}

/// The certificate e-mails the student received: their PDFs' text, in order.
fn certificate_mails(
    app: &TestApp,
    to: &str,
) -> anyhow::Result<Vec<(tabys_providers_fake::smtp::Received, String)>> {
    app.post
        .sink
        .to(to)
        .into_iter()
        .filter_map(|m| m.bytes("application/pdf").map(|pdf| (m, pdf)))
        .map(|(m, pdf)| {
            ensure!(pdf.starts_with(b"%PDF"), "the attachment is not a PDF");
            let text = pdf_text(&pdf)?;
            Ok((m, text))
        })
        .collect()
}

fn msg(code: &str) -> String {
    tabys_web::i18n::Tr::new(Locale::Ru).err(code)
}

fn redirected(r: &Reply, what: &str) -> anyhow::Result<()> {
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "{what}: {} {}",
        r.status,
        r.text
    );
    Ok(())
}

/// The answer is the error page for `code` with `status`.
fn refused(r: &Reply, status: StatusCode, code: &str) -> anyhow::Result<()> {
    ensure!(
        r.status == status,
        "expected {status} for {code}, got {}: {}",
        r.status,
        r.text
    );
    let text = msg(code);
    ensure!(
        r.text.contains(&tabys_core::html::escape(&text)) || r.text.contains(&text),
        "no message for {code} ({text}) in: {}",
        r.text
    );
    Ok(())
}

async fn user_id(app: &TestApp, email: &str) -> anyhow::Result<UserId> {
    let e = Email::parse(email).map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(users::find_by_email(&app.db, &e).await?.context("user")?.id)
}

async fn login(app: &TestApp, email: &str) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await?;
    redirected(&r, "login")?;
    Ok(c)
}

async fn add_staff(owner: &Client, org: i64, email: &str, role: &str) -> anyhow::Result<()> {
    let r = owner
        .post_form(
            &format!("/org/{org}/staff"),
            &[
                ("email", email),
                ("name", "Куратор Әсем"),
                ("role", role),
                ("password", PASSWORD),
            ],
        )
        .await?;
    redirected(&r, "add staff")
}

fn id_from(r: &Reply, prefix: &str) -> anyhow::Result<i64> {
    r.location
        .as_deref()
        .and_then(|l| l.strip_prefix(prefix))
        .and_then(|s| s.split(['/', '#']).next())
        .and_then(|s| s.parse().ok())
        .with_context(|| format!("no id after {prefix} in {:?}", r.location))
}

/// A course with one module; returns its id.
async fn course(owner: &Client, org: i64, fields: &[(&str, &str)]) -> anyhow::Result<i64> {
    let mut form: Vec<(&str, &str)> = vec![("title", "SMMARKETING"), ("locale", "ru")];
    for (k, v) in fields {
        form.retain(|(fk, _)| fk != k);
        form.push((k, v));
    }
    let r = owner
        .post_form(&format!("/org/{org}/courses"), &form)
        .await?;
    redirected(&r, "create course")?;
    id_from(&r, &format!("/org/{org}/courses/"))
}

async fn module_of(app: &TestApp, org: i64, course: i64) -> anyhow::Result<i64> {
    let m = tabys_learning::courses::modules(&app.db, OrgId(org), course).await?;
    Ok(m.first().context("module")?.id)
}

/// A published lesson with the editor's fields; returns its id.
async fn lesson(
    app: &TestApp,
    owner: &Client,
    org: i64,
    course: i64,
    title: &str,
    fields: &[(&str, &str)],
) -> anyhow::Result<i64> {
    let module = module_of(app, org, course).await?.to_string();
    let r = owner
        .post_form(
            &format!("/org/{org}/courses/{course}/lessons"),
            &[("module_id", module.as_str()), ("title", title)],
        )
        .await?;
    redirected(&r, "add lesson")?;
    let id = id_from(&r, &format!("/org/{org}/courses/{course}/lessons/"))?;
    let mut form: Vec<(&str, &str)> = vec![
        ("title", title),
        ("module_id", module.as_str()),
        ("required", "true"),
        ("drip", "all"),
    ];
    for (k, v) in fields {
        form.retain(|(fk, _)| fk != k);
        form.push((k, v));
    }
    let r = owner
        .post_form(&format!("/org/{org}/courses/{course}/lessons/{id}"), &form)
        .await?;
    redirected(&r, "save lesson")?;
    let r = owner
        .post_form(
            &format!("/org/{org}/courses/{course}/lessons/{id}/publish"),
            &[("published", "1")],
        )
        .await?;
    redirected(&r, "publish lesson")?;
    Ok(id)
}

async fn publish(owner: &Client, org: i64, course: i64) -> anyhow::Result<()> {
    let r = owner
        .post_form(
            &format!("/org/{org}/courses/{course}/publish"),
            &[("published", "1")],
        )
        .await?;
    redirected(&r, "publish course")
}

/// A person, and the school opens the course to them by hand.
async fn student(
    app: &TestApp,
    owner: &Client,
    org: i64,
    course: i64,
    email: &str,
) -> anyhow::Result<Client> {
    let c = app.person(email, "Данияр Студентов").await?;
    let r = owner
        .post_form(
            &format!("/org/{org}/courses/{course}/students"),
            &[("email", email), ("days", "")],
        )
        .await?;
    redirected(&r, "grant")?;
    Ok(c)
}

async fn submission_id(app: &TestApp, lesson: i64, student: UserId) -> anyhow::Result<i64> {
    Ok(tabys_learning::assignments::mine(&app.db, lesson, student)
        .await?
        .context("submission")?
        .id)
}

async fn count(app: &TestApp, sql: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(sql).fetch_one(app.db.read()).await?)
}

db_test! {
    async fn lessons_open_by_drip_rules_and_overrides_and_a_draft_stays_hidden(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let first = lesson(&app, &owner, org, c, "Кіріспе", &[("body", "# Сәлем\n\n<script>alert(1)</script> **маңызды**")]).await?;
        let later = lesson(&app, &owner, org, c, "Үшінші күн", &[("drip", "days"), ("open_days", "3")]).await?;
        let dated = lesson(&app, &owner, org, c, "Белгілі күн", &[("drip", "date"), ("open_at", "2026-03-20T10:00")]).await?;
        // Publishing a course with a draft lesson keeps the draft out of sight.
        let module = module_of(&app, org, c).await?.to_string();
        let r = owner.post_form(&format!("/org/{org}/courses/{c}/lessons"), &[("module_id", module.as_str()), ("title", "Жоба")]).await?;
        let draft = id_from(&r, &format!("/org/{org}/courses/{c}/lessons/"))?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let page = s.get(&format!("/cabinet/courses/{c}/lessons/{first}")).await?;
        ensure!(page.status == StatusCode::OK, "{}", page.text);
        ensure!(page.text.contains("&lt;script&gt;") && !page.text.contains("<script>alert"), "lesson text is not escaped");
        ensure!(page.text.contains("<strong>маңызды</strong>"));
        refused(&s.get(&format!("/cabinet/courses/{c}/lessons/{later}")).await?, StatusCode::CONFLICT, "lesson-not-open")?;
        ensure!(s.get(&format!("/cabinet/courses/{c}/lessons/{draft}")).await?.status == StatusCode::NOT_FOUND);
        // The school opens the dated lesson early for this student only.
        let sid = user_id(&app, "student@example.kz").await?;
        let r = owner.post_form(&format!("/org/{org}/courses/{c}/students/{sid}/override"), &[("lesson", dated.to_string().as_str()), ("open_at", "2026-03-02T10:00"), ("deadline_at", "")]).await?;
        redirected(&r, "override")?;
        ensure!(s.get(&format!("/cabinet/courses/{c}/lessons/{dated}")).await?.status == StatusCode::OK);
        let other = student(&app, &owner, org, c, "other@example.kz").await?;
        refused(&other.get(&format!("/cabinet/courses/{c}/lessons/{dated}")).await?, StatusCode::CONFLICT, "lesson-not-open")?;
        // Three days later (midnight in Almaty) the drip lesson opens.
        app.clock.advance_seconds(3 * DAY);
        let s = login(&app, "student@example.kz").await?;
        ensure!(s.get(&format!("/cabinet/courses/{c}/lessons/{later}")).await?.status == StatusCode::OK);
        // A bad override date is refused and changes nothing.
        let r = owner.post_form(&format!("/org/{org}/courses/{c}/students/{sid}/override"), &[("lesson", later.to_string().as_str()), ("open_at", "вчера")]).await?;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "datetime-format")?;
        Ok(())
    }
}

db_test! {
    async fn a_curator_returns_then_accepts_and_only_their_own_students_work_is_theirs(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        add_staff(&owner, org, "curator@lessbek.kz", "curator").await?;
        add_staff(&owner, org, "curator2@lessbek.kz", "curator").await?;
        let c = course(&owner, org, &[]).await?;
        let task = lesson(&app, &owner, org, c, "Контент-жоспар", &[("assignment", "Бір аптаға контент-жоспар жасаңыз.")]).await?;
        let next = lesson(&app, &owner, org, c, "Сторис", &[("drip", "stop")]).await?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let sid = user_id(&app, "student@example.kz").await?;
        let curator_id = user_id(&app, "curator@lessbek.kz").await?;
        let r = owner.post_form(&format!("/org/{org}/courses/{c}/students/{sid}/curator"), &[("curator", curator_id.0.to_string().as_str()), ("group", "A")]).await?;
        redirected(&r, "assign curator")?;
        refused(&s.get(&format!("/cabinet/courses/{c}/lessons/{next}")).await?, StatusCode::CONFLICT, "lesson-not-open")?;
        // An empty answer is refused.
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "  ")]).await?, StatusCode::UNPROCESSABLE_ENTITY, "required")?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "Дүйсенбі: рилс")]).await?, "submit")?;
        let sub = submission_id(&app, task, sid).await?;
        let curator = login(&app, "curator@lessbek.kz").await?;
        let queue = curator.get(&format!("/org/{org}/learning/queue")).await?;
        ensure!(queue.text.contains(&format!("data-submission=\"{sub}\"")), "{}", queue.text);
        // Another curator of the school does not see this student's work.
        let curator2 = login(&app, "curator2@lessbek.kz").await?;
        ensure!(!curator2.get(&format!("/org/{org}/learning/queue")).await?.text.contains(&format!("data-submission=\"{sub}\"")));
        ensure!(curator2.get(&format!("/org/{org}/learning/submissions/{sub}")).await?.status == StatusCode::NOT_FOUND);
        // Returning needs a comment.
        refused(&curator.post_form(&format!("/org/{org}/learning/submissions/{sub}"), &[("decision", "return"), ("comment", "")]).await?, StatusCode::UNPROCESSABLE_ENTITY, "required")?;
        redirected(&curator.post_form(&format!("/org/{org}/learning/submissions/{sub}"), &[("decision", "return"), ("comment", "Сейсенбіні толықтырыңыз")]).await?, "return")?;
        let page = s.get(&format!("/cabinet/courses/{c}/lessons/{task}")).await?;
        ensure!(page.text.contains("Сейсенбіні толықтырыңыз") && page.text.contains("data-submission=\"returned\""), "{}", page.text);
        // A decision on work that is not waiting is refused.
        refused(&curator.post_form(&format!("/org/{org}/learning/submissions/{sub}"), &[("decision", "accept"), ("comment", "")]).await?, StatusCode::CONFLICT, "submission-not-waiting")?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "Дүйсенбі: рилс, сейсенбі: сторис")]).await?, "resubmit")?;
        redirected(&curator.post_form(&format!("/org/{org}/learning/submissions/{sub}"), &[("decision", "accept"), ("comment", "Жарайсыз!")]).await?, "accept")?;
        let keys: Vec<String> = tabys_notify::list(&app.db, sid, 20).await?.into_iter().map(|n| n.key).collect();
        ensure!(keys.contains(&"notify-course-returned".to_string()) && keys.contains(&"notify-course-accepted".to_string()), "{keys:?}");
        let curator_keys: Vec<String> = tabys_notify::list(&app.db, curator_id, 20).await?.into_iter().map(|n| n.key).collect();
        ensure!(curator_keys.iter().filter(|k| *k == "notify-course-submitted").count() == 2, "{curator_keys:?}");
        // The stop-lesson opens once the previous assignment is accepted.
        ensure!(s.get(&format!("/cabinet/courses/{c}/lessons/{next}")).await?.status == StatusCode::OK);
        // Handing in again after acceptance is refused.
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "тағы")]).await?, StatusCode::CONFLICT, "submission-already-accepted")?;
        Ok(())
    }
}

db_test! {
    async fn another_students_or_another_schools_work_stays_closed(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let (owner_b, org_b) = app.organizer("owner@antitrainings.kz", "antitrainings").await?;
        add_staff(&owner_b, org_b, "curator@antitrainings.kz", "curator").await?;
        let c = course(&owner, org, &[]).await?;
        let task = lesson(&app, &owner, org, c, "Тапсырма", &[("assignment", "Жазыңыз")]).await?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let sid = user_id(&app, "student@example.kz").await?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "менің жауабым — құпия")]).await?, "submit")?;
        let sub = submission_id(&app, task, sid).await?;
        // Another student of the same course sees only their own (empty) work.
        let other = student(&app, &owner, org, c, "other@example.kz").await?;
        let page = other.get(&format!("/cabinet/courses/{c}/lessons/{task}")).await?;
        ensure!(page.status == StatusCode::OK && !page.text.contains("менің жауабым"), "another student's answer shown");
        let r = other.get(&format!("/org/{org}/learning/submissions/{sub}")).await?;
        ensure!(r.status == StatusCode::FORBIDDEN && !r.text.contains("менің жауабым"), "{} {}", r.status, r.text);
        let r = other.post_form(&format!("/org/{org}/learning/submissions/{sub}"), &[("decision", "accept"), ("comment", "")]).await?;
        ensure!(r.status == StatusCode::FORBIDDEN, "{}", r.status);
        // Another school's curator gets "not found", here and in their own school's pages.
        let cb = login(&app, "curator@antitrainings.kz").await?;
        let r = cb.get(&format!("/org/{org}/learning/submissions/{sub}")).await?;
        refused(&r, StatusCode::NOT_FOUND, "not-found")?;
        ensure!(!r.text.contains("менің жауабым"));
        ensure!(cb.get(&format!("/org/{org_b}/learning/submissions/{sub}")).await?.status == StatusCode::NOT_FOUND);
        ensure!(cb.post_form(&format!("/org/{org_b}/learning/submissions/{sub}"), &[("decision", "accept"), ("comment", "")]).await?.status == StatusCode::NOT_FOUND);
        // A person without access to the course cannot open it at all.
        let stranger = app.person("stranger@example.kz", "Бөтен").await?;
        refused(&stranger.get(&format!("/cabinet/courses/{c}/lessons/{task}")).await?, StatusCode::CONFLICT, "course-no-access")?;
        let status: String = sqlx::query_scalar("SELECT status FROM submissions WHERE id = $1").bind(sub).fetch_one(app.db.read()).await?;
        ensure!(status == "submitted", "{status}");
        Ok(())
    }
}

db_test! {
    async fn work_after_the_deadline_is_refused_where_the_course_forbids_it_and_marked_late_elsewhere(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let strict = course(&owner, org, &[("title", "Қатаң курс")]).await?;
        let task = lesson(&app, &owner, org, strict, "Тапсырма", &[("assignment", "Жазыңыз"), ("deadline_days", "2")]).await?;
        publish(&owner, org, strict).await?;
        let lenient = course(&owner, org, &[("title", "Жұмсақ курс"), ("late_submissions", "true")]).await?;
        let task2 = lesson(&app, &owner, org, lenient, "Тапсырма", &[("assignment", "Жазыңыз"), ("deadline_days", "2")]).await?;
        publish(&owner, org, lenient).await?;
        let s = student(&app, &owner, org, strict, "student@example.kz").await?;
        redirected(&owner.post_form(&format!("/org/{org}/courses/{lenient}/students"), &[("email", "student@example.kz")]).await?, "grant")?;
        let page = s.get(&format!("/cabinet/courses/{strict}/lessons/{task}")).await?;
        ensure!(page.text.contains("data-deadline"), "deadline not shown");
        app.clock.advance_seconds(4 * DAY);
        let s = login(&app, "student@example.kz").await?;
        refused(&s.post_form(&format!("/cabinet/courses/{strict}/lessons/{task}/submit"), &[("body", "кеш")]).await?, StatusCode::CONFLICT, "assignment-deadline-passed")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM submissions").await? == 0, "a refused submission was stored");
        redirected(&s.post_form(&format!("/cabinet/courses/{lenient}/lessons/{task2}/submit"), &[("body", "кеш")]).await?, "late submit")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM submissions WHERE late = 1").await? == 1);
        // The school extends the deadline for this student: work is accepted again.
        let sid = user_id(&app, "student@example.kz").await?;
        redirected(&owner.post_form(&format!("/org/{org}/courses/{strict}/students/{sid}/override"), &[("lesson", task.to_string().as_str()), ("deadline_at", "2026-04-30T18:00")]).await?, "extend")?;
        redirected(&s.post_form(&format!("/cabinet/courses/{strict}/lessons/{task}/submit"), &[("body", "ұзартылған мерзім")]).await?, "submit within extension")?;
        Ok(())
    }
}

/// Adds a quiz question: (kind, prompt, options, answer).
async fn question(
    owner: &Client,
    lesson_path: &str,
    q: (&str, &str, &str, &str),
) -> anyhow::Result<Reply> {
    owner
        .post_form(
            &format!("{lesson_path}/questions"),
            &[
                ("kind", q.0),
                ("prompt", q.1),
                ("options", q.2),
                ("answer", q.3),
            ],
        )
        .await
}

async fn attempt_of(app: &TestApp, lesson: i64, student: UserId) -> anyhow::Result<i64> {
    Ok(tabys_learning::quiz::attempts(&app.db, lesson, student)
        .await?
        .last()
        .context("attempt")?
        .id)
}

db_test! {
    async fn quizzes_grade_at_once_and_refuse_answers_beyond_attempts_or_time(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Тест", &[("quiz_pass", "60"), ("quiz_attempts", "2"), ("quiz_minutes", "10")]).await?;
        let lp = format!("/org/{org}/courses/{c}/lessons/{l}");
        // Bad questions are refused.
        refused(&question(&owner, &lp, ("single", "Қай желі?", "Instagram\nTikTok", "5")).await?, StatusCode::UNPROCESSABLE_ENTITY, "quiz-answer-invalid")?;
        refused(&question(&owner, &lp, ("single", "Бір нұсқа", "жалғыз", "1")).await?, StatusCode::UNPROCESSABLE_ENTITY, "quiz-options-count")?;
        redirected(&question(&owner, &lp, ("single", "Қай желі видеоға арналған?", "Instagram\nTikTok\nLinkedIn", "2")).await?, "q1")?;
        redirected(&question(&owner, &lp, ("multiple", "Қайсысы метрика?", "ER\nCTR\nтүс", "1, 2")).await?, "q2")?;
        redirected(&question(&owner, &lp, ("text", "ROI ағылшынша қалай?", "", "return on investment|roi")).await?, "q3")?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let sid = user_id(&app, "student@example.kz").await?;
        let qs = tabys_learning::quiz::questions(&app.db, OrgId(org), l).await?;
        let (q1, q2, q3) = (format!("q{}", qs[0].id), format!("q{}", qs[1].id), format!("q{}", qs[2].id));
        // First attempt: one right of three, failed.
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz"), &[] as &[(&str, &str)]).await?, "start")?;
        let a1 = attempt_of(&app, l, sid).await?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz/{a1}"), &[(q1.as_str(), "2"), (q2.as_str(), "1"), (q3.as_str(), "жоқ")]).await?, "answer 1")?;
        let attempts = tabys_learning::quiz::attempts(&app.db, l, sid).await?;
        ensure!(attempts[0].score == 1 && !attempts[0].passed, "{attempts:?}");
        // Answering a finished attempt again is refused.
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz/{a1}"), &[(q1.as_str(), "2")]).await?, StatusCode::CONFLICT, "quiz-attempt-finished")?;
        // Second attempt: the time runs out; the late answer changes nothing.
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz"), &[] as &[(&str, &str)]).await?, "start 2")?;
        let a2 = attempt_of(&app, l, sid).await?;
        app.clock.advance_seconds(11 * 60);
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz/{a2}"), &[(q1.as_str(), "2"), (q2.as_str(), "1"), (q2.as_str(), "2"), (q3.as_str(), "ROI")]).await?, StatusCode::CONFLICT, "quiz-time-over")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM quiz_attempts WHERE finished_at IS NOT NULL").await? == 1);
        // No third attempt.
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz"), &[] as &[(&str, &str)]).await?, StatusCode::CONFLICT, "quiz-attempts-used")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM quiz_attempts").await? == 2);
        // With a third attempt allowed, all right answers pass (text answers ignore case and spaces).
        let module = module_of(&app, org, c).await?.to_string();
        redirected(&owner.post_form(&format!("/org/{org}/courses/{c}/lessons/{l}"), &[("title", "Тест"), ("module_id", module.as_str()), ("required", "true"), ("drip", "all"), ("quiz_pass", "60"), ("quiz_attempts", "3"), ("quiz_minutes", "10")]).await?, "more attempts")?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz"), &[] as &[(&str, &str)]).await?, "start 3")?;
        let a3 = attempt_of(&app, l, sid).await?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz/{a3}"), &[(q1.as_str(), "2"), (q2.as_str(), "1"), (q2.as_str(), "2"), (q3.as_str(), "  Return   On Investment ")]).await?, "answer 3")?;
        let last = tabys_learning::quiz::attempts(&app.db, l, sid).await?;
        ensure!(last[2].score == 3 && last[2].passed, "{last:?}");
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/quiz"), &[] as &[(&str, &str)]).await?, StatusCode::CONFLICT, "quiz-already-passed")?;
        Ok(())
    }
}

db_test! {
    async fn completion_issues_a_certificate_with_recipient_data_a_pdf_and_a_public_check(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[("locale", "kk"), ("signer_name", "Лесбек Л. М."), ("signer_position", "Директор")]).await?;
        let only = lesson(&app, &owner, org, c, "Жалғыз сабақ", &[]).await?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let sid = user_id(&app, "student@example.kz").await?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{only}/done"), &[] as &[(&str, &str)]).await?, "done")?;
        let cert = tabys_learning::certificates::for_student(&app.db, c, sid).await?.context("certificate")?;
        ensure!(cert.status == "waiting-data", "{cert:?}");
        // 2026-03-02 is a Monday: five business days end on 10 March (8 March is a holiday).
        ensure!(cert.send_by.as_str() >= "2026-03-09", "{}", cert.send_by);
        refused(&s.get(&format!("/cabinet/courses/{c}/certificate.pdf")).await?, StatusCode::CONFLICT, "certificate-not-issued")?;
        // A legal entity without a valid BIN is refused and nothing is issued.
        let bad = [("kind", "legal"), ("full_name", "ТОО «Оқу»"), ("address", "Алматы"), ("postal_address", "Алматы, а/я 1"), ("bin", "123"), ("email", "office@oqu.kz"), ("authorised_name", "Серікова А."), ("authorised_position", "Директор")];
        let r = s.post_form(&format!("/cabinet/courses/{c}/certificate"), &bad).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains("data-error-for=\"bin\""), "{} {}", r.status, r.text);
        ensure!(tabys_learning::certificates::for_student(&app.db, c, sid).await?.context("c")?.status == "waiting-data");
        let good = [("kind", "individual"), ("full_name", "Данияр Серікұлы Студентов"), ("address", "Алматы, Абай даңғылы, 10"), ("email", "student@example.kz")];
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/certificate"), &good).await?, "recipient")?;
        let cert = tabys_learning::certificates::for_student(&app.db, c, sid).await?.context("c")?;
        ensure!(cert.status == "issued", "{cert:?}");
        let pdf = s.get(&format!("/cabinet/courses/{c}/certificate.pdf")).await?;
        ensure!(pdf.status == StatusCode::OK && pdf.text.starts_with("%PDF"), "{}", pdf.status);
        let check = app.client()?.get(&format!("/certificates/{}", cert.number)).await?;
        ensure!(check.status == StatusCode::OK && check.text.contains("Данияр Серікұлы Студентов"), "{}", check.text);
        ensure!(app.client()?.get("/certificates/TBS-2026-NOSUCH").await?.status == StatusCode::NOT_FOUND);
        // LZ 9.1: the issued certificate is e-mailed at once through the
        // outbox, its PDF (in the course's language) attached, with the
        // verification link; a second run of the jobs sends nothing more.
        app.run_jobs().await?;
        app.run_jobs().await?;
        let keys: Vec<String> = tabys_notify::list(&app.db, sid, 20).await?.into_iter().map(|n| n.key).collect();
        ensure!(keys.iter().filter(|k| *k == "notify-course-certificate").count() == 1, "{keys:?}");
        let mails = certificate_mails(&app, "student@example.kz")?;
        ensure!(mails.len() == 1, "{} certificate e-mails", mails.len());
        let (mail, text) = &mails[0];
        ensure!(mail.header("Content-Type").unwrap_or_default().starts_with("multipart/mixed"), "{:?}", mail.header("Content-Type"));
        ensure!(text.contains(&cert.number) && text.contains("Данияр Серікұлы Студентов") && text.contains("Алматы, Абай даңғылы, 10"), "{text}");
        // Kazakh, the course's language, whatever the student reads in.
        ensure!(text.contains("Сертификат нөмірі"), "{text}");
        ensure!(mail.text().contains(&format!("/certificates/{}", cert.number)), "{}", mail.text());
        ensure!(mail.text().contains(&format!("/cabinet/courses/{c}/certificate")), "{}", mail.text());
        // The PDF is the school's stored document, not counted against its plan.
        let file_id: Option<i64> = sqlx::query_scalar("SELECT file_id FROM certificates WHERE id = $1")
            .bind(cert.id)
            .fetch_one(app.db.read())
            .await?;
        let file = tabys_files::get(&app.db, OrgId(org), file_id.context("no stored PDF")?).await?;
        ensure!(file.purpose == "certificate" && file.content_type == "application/pdf", "{file:?}");
        ensure!(tabys_files::usage(&app.db, OrgId(org)).await? == 0);
        // LZ 9.5: the school asks for a clarification; the certificate waits for the answer.
        redirected(&owner.post_form(&format!("/org/{org}/learning/certificates/{}/clarify", cert.id), &[("question", "Мекенжайда пәтер нөмірі жоқ")]).await?, "clarify")?;
        ensure!(app.client()?.get(&format!("/certificates/{}", cert.number)).await?.status == StatusCode::NOT_FOUND);
        refused(&s.post_form(&format!("/cabinet/courses/{c}/certificate"), &good).await?, StatusCode::UNPROCESSABLE_ENTITY, "required")?;
        let mut answered = good.to_vec();
        answered.retain(|(k, _)| *k != "address");
        answered.push(("address", "Алматы, Абай даңғылы, 10, 5-пәтер"));
        answered.push(("answer", "Пәтер нөмірін қостым"));
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/certificate"), &answered).await?, "answer")?;
        let cert = tabys_learning::certificates::for_student(&app.db, c, sid).await?.context("c")?;
        ensure!(cert.status == "issued" && cert.answer == "Пәтер нөмірін қостым", "{cert:?}");
        // The re-issued certificate is mailed again, with the corrected data
        // (the certificate's job queues the e-mail, whose own job sends it).
        app.run_jobs().await?;
        app.run_jobs().await?;
        let mails = certificate_mails(&app, "student@example.kz")?;
        ensure!(mails.len() == 2, "{} certificate e-mails", mails.len());
        ensure!(mails[1].1.contains("5-пәтер") && !mails[0].1.contains("5-пәтер"), "{}", mails[1].1);
        // Three business days after the data arrived, it is too late to ask again.
        app.clock.advance_seconds(10 * DAY);
        let owner = login(&app, "owner@lessbek.kz").await?;
        refused(&owner.post_form(&format!("/org/{org}/learning/certificates/{}/clarify", cert.id), &[("question", "тағы")]).await?, StatusCode::CONFLICT, "clarification-too-late")?;
        Ok(())
    }
}

db_test! {
    async fn discussion_rules_refuse_bad_messages_and_a_breach_disables_access_at_once(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[("forbidden_words", "бәсекелес\nнахрен")]).await?;
        let l = lesson(&app, &owner, org, c, "Талқылау", &[]).await?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/posts"), &[("body", "Бәсекелес мектепке барыңыз")]).await?, StatusCode::UNPROCESSABLE_ENTITY, "post-forbidden-word")?;
        refused(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/posts"), &[("body", "Жазылыңыз: https://t.me/spam")]).await?, StatusCode::UNPROCESSABLE_ENTITY, "post-links-forbidden")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM lesson_posts").await? == 0);
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{l}/posts"), &[("body", "Рахмет, түсінікті!")]).await?, "post")?;
        let post: i64 = sqlx::query_scalar("SELECT id FROM lesson_posts").fetch_one(app.db.read()).await?;
        // Disabling needs a reason.
        refused(&owner.post_form(&format!("/org/{org}/learning/posts/{post}/delete"), &[("disable", "1"), ("reason", "")]).await?, StatusCode::UNPROCESSABLE_ENTITY, "required")?;
        redirected(&owner.post_form(&format!("/org/{org}/learning/posts/{post}/delete"), &[("disable", "1"), ("reason", "6.3: жарнама")]).await?, "delete and disable")?;
        refused(&s.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?, StatusCode::CONFLICT, "course-access-disabled")?;
        ensure!(!s.get("/cabinet/courses").await?.text.contains(&format!("data-course=\"{c}\"")));
        let sid = user_id(&app, "student@example.kz").await?;
        redirected(&owner.post_form(&format!("/org/{org}/courses/{c}/students/{sid}/unblock"), &[] as &[(&str, &str)]).await?, "unblock")?;
        let page = s.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?;
        ensure!(page.status == StatusCode::OK && page.text.contains(&tabys_web::i18n::Tr::new(Locale::Ru).t("learning-post-deleted")), "{}", page.text);
        Ok(())
    }
}

db_test! {
    async fn analytics_count_progress_and_export_csv_that_spreadsheets_cannot_run(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l1 = lesson(&app, &owner, org, c, "Бірінші", &[]).await?;
        lesson(&app, &owner, org, c, "Екінші", &[]).await?;
        publish(&owner, org, c).await?;
        let evil = app.person("evil@example.kz", "=HYPERLINK(\"x\")").await?;
        redirected(&owner.post_form(&format!("/org/{org}/courses/{c}/students"), &[("email", "evil@example.kz")]).await?, "grant")?;
        redirected(&evil.post_form(&format!("/cabinet/courses/{c}/lessons/{l1}/done"), &[] as &[(&str, &str)]).await?, "done")?;
        let page = owner.get(&format!("/org/{org}/courses/{c}/analytics")).await?;
        ensure!(page.status == StatusCode::OK && page.text.contains("data-percent=\"50\"") && page.text.contains("<svg"), "{}", page.text);
        let csv = owner.get(&format!("/org/{org}/courses/{c}/analytics.csv")).await?;
        ensure!(csv.status == StatusCode::OK && csv.text.contains("\"'=HYPERLINK(\"\"x\"\")\""), "{}", csv.text);
        // A curator cannot read the school's analytics; a stranger gets 404.
        add_staff(&owner, org, "curator@lessbek.kz", "curator").await?;
        let curator = login(&app, "curator@lessbek.kz").await?;
        ensure!(curator.get(&format!("/org/{org}/courses/{c}/analytics.csv")).await?.status == StatusCode::FORBIDDEN);
        ensure!(app.person("x@example.kz", "X").await?.get(&format!("/org/{org}/courses/{c}/analytics")).await?.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

db_test! {
    async fn a_course_sold_by_card_opens_with_payment_and_closes_with_the_refund(app: TestApp) {
        let op = operator(&app).await?;
        let (owner, org) = seller(&app, &op, "lessbek").await?;
        let r = owner.post_form(&format!("/org/{org}/products"), &[("kind", "course"), ("title", "SMMARKETING"), ("price", "93 990"), ("refund_policy", "none"), ("access_days", "45")]).await?;
        redirected(&r, "product")?;
        let product = tabys_billing::products::list(&app.db, OrgId(org), false).await?.first().context("product")?.id;
        let p = product.to_string();
        // A product of another kind cannot carry a course.
        let c = course(&owner, org, &[("product_id", p.as_str())]).await?;
        let l = lesson(&app, &owner, org, c, "Кіріспе", &[]).await?;
        publish(&owner, org, c).await?;
        let buyer = app.person("buyer@example.kz", "Сатып алушы").await?;
        redirected(&buyer.post_form("/o/lessbek/join", &[("adult", "1")]).await?, "join")?;
        refused(&buyer.get(&format!("/cabinet/courses/{c}")).await?, StatusCode::CONFLICT, "course-no-access")?;
        let r = buyer.post_form(&format!("/o/lessbek/products/{product}/order"), &[("plan", "full"), ("key", "order-1")]).await?;
        redirected(&r, "order")?;
        let order = id_from(&r, "/cabinet/orders/")?;
        let r = buyer.post_form(&format!("/cabinet/orders/{order}/pay"), &[("method", "card"), ("key", "pay-1")]).await?;
        redirected(&r, "pay")?;
        let link = r.location.context("gateway link")?;
        let pay_id = link.rsplit('/').next().context("link id")?.to_string();
        let (status, text) = app.fake.pay_link(&pay_id, "4242 4242 4242 4242", false).await;
        ensure!(status == StatusCode::SEE_OTHER, "gateway: {status} {text}");
        app.fake.settle(Duration::from_secs(10)).await;
        let mine = buyer.get("/cabinet/courses").await?;
        ensure!(mine.text.contains(&format!("data-course=\"{c}\"")), "{}", mine.text);
        ensure!(buyer.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?.status == StatusCode::OK);
        let r = owner.post_form(&format!("/org/{org}/sales/orders/{order}/refund"), &[("amount", "93 990"), ("reason", "қате төлем")]).await?;
        redirected(&r, "refund")?;
        refused(&buyer.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?, StatusCode::CONFLICT, "course-no-access")?;
        Ok(())
    }
}

db_test! {
    async fn course_builder_refuses_bad_input_and_changes_nothing(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let r = owner.post_form(&format!("/org/{org}/courses"), &[("title", ""), ("locale", "de"), ("product_id", "999")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{}", r.status);
        for field in ["title", "locale", "product_id"] {
            ensure!(r.text.contains(&format!("data-error-for=\"{field}\"")), "no error for {field}");
        }
        ensure!(count(&app, "SELECT COUNT(*) FROM courses").await? == 0);
        let c = course(&owner, org, &[]).await?;
        refused(&owner.post_form(&format!("/org/{org}/courses/{c}/publish"), &[("published", "1")]).await?, StatusCode::CONFLICT, "course-no-lessons")?;
        let l = lesson(&app, &owner, org, c, "Сабақ", &[]).await?;
        let module = module_of(&app, org, c).await?.to_string();
        let r = owner.post_form(&format!("/org/{org}/courses/{c}/lessons/{l}"), &[("title", "Сабақ"), ("module_id", module.as_str()), ("drip", "days"), ("open_days", "-1"), ("quiz_pass", "101")]).await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY && r.text.contains("data-error-for=\"open_days\"") && r.text.contains("data-error-for=\"quiz_pass\""), "{}", r.text);
        let stored = tabys_learning::courses::lesson(&app.db, OrgId(org), l).await?;
        ensure!(stored.drip == "all", "{stored:?}");
        // Another school's id in the path is "not found".
        let (_, other) = app.organizer("owner@other.kz", "other").await?;
        ensure!(owner.get(&format!("/org/{other}/courses")).await?.status == StatusCode::NOT_FOUND);
        ensure!(owner.get(&format!("/org/{org}/courses/{}", c + 100)).await?.status == StatusCode::NOT_FOUND);
        Ok(())
    }
}

/// The operator of the installation, signed in.
async fn operator(app: &TestApp) -> anyhow::Result<Client> {
    let mut tx = app.db.begin().await?;
    let new = users::NewUser {
        email: Email::parse("operator@tabys.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "Operator".into(),
        password: PASSWORD.into(),
        locale: Locale::Ru,
        adult_confirmed: true,
    };
    users::create(&mut tx, &app.db, new, true).await?;
    tx.commit().await?;
    login(app, "operator@tabys.kz").await
}

/// An organizer whose payment module the operator approved and it switched on.
async fn seller(app: &TestApp, op: &Client, slug: &str) -> anyhow::Result<(Client, i64)> {
    let (owner, org) = app.organizer(&format!("owner@{slug}.kz"), slug).await?;
    redirected(
        &owner
            .post_form(
                &format!("/org/{org}/billing/module"),
                &[("comment", "courses")],
            )
            .await?,
        "module request",
    )?;
    redirected(
        &op.post_form(
            &format!("/admin/billing/modules/{org}"),
            &[("decision", "approve"), ("reasons", "")],
        )
        .await?,
        "approval",
    )?;
    redirected(
        &owner
            .post_form(
                &format!("/org/{org}/billing/module/enable"),
                &[("accept_terms", "1")],
            )
            .await?,
        "enable",
    )?;
    Ok((owner, org))
}

/// The smallest MP4 header a sniffer recognises, padded to a few KB.
fn mp4() -> Vec<u8> {
    let mut v = vec![
        0, 0, 0, 0x18, b'f', b't', b'y', b'p', b'i', b's', b'o', b'm', 0, 0, 2, 0,
    ];
    v.extend_from_slice(b"isomiso2avc1mp41");
    v.resize(4096, 7);
    v
}

db_test! {
    async fn lesson_video_is_served_with_ranges_only_through_a_link_signed_for_the_student(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Видеосабақ", &[]).await?;
        publish(&owner, org, c).await?;
        let upload = format!("/org/{org}/courses/{c}/lessons/{l}/upload");
        // Wrong type: refused by content, whatever the name says; nothing attached.
        let r = owner.upload(&upload, &[], "lesson.mp4", b"\x7fELF\x02\x01\x01 not a video at all").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.text);
        ensure!(count(&app, "SELECT COUNT(*) FROM lesson_files").await? == 0);
        redirected(&owner.upload(&upload, &[], "lesson.mp4", &mp4()).await?, "upload")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM lesson_files").await? == 1);
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let page = s.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?;
        ensure!(page.text.contains("data-media-kind=\"video\"") && page.text.contains("student@example.kz"), "{}", page.text);
        let src = page.text.split("src=\"/files/").nth(1).and_then(|t| t.split('"').next()).context("video link")?.to_string();
        let link = format!("/files/{src}");
        let part = s.get_with(&link, &[("range", "bytes=0-99")]).await?;
        ensure!(part.status == StatusCode::PARTIAL_CONTENT, "{}", part.status);
        // The link is the student's alone: another person, or nobody, gets nothing.
        let other = app.person("other@example.kz", "Басқа").await?;
        ensure!(other.get(&link).await?.status == StatusCode::NOT_FOUND);
        ensure!(app.client()?.get(&link).await?.status != StatusCode::OK);
        // Without access to the course there is no page and so no link.
        refused(&other.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?, StatusCode::CONFLICT, "course-no-access")?;
        // After it expires the link is refused.
        app.clock.advance_seconds(20 * 60);
        let s = login(&app, "student@example.kz").await?;
        ensure!(s.get(&link).await?.status != StatusCode::OK, "an expired link still works");
        // A curator may not upload; another school gets "not found".
        add_staff(&owner, org, "curator@lessbek.kz", "curator").await?;
        let curator = login(&app, "curator@lessbek.kz").await?;
        ensure!(curator.upload(&upload, &[], "x.mp4", &mp4()).await?.status == StatusCode::FORBIDDEN);
        let (other_owner, _) = app.organizer("owner@other.kz", "other").await?;
        ensure!(other_owner.upload(&upload, &[], "x.mp4", &mp4()).await?.status == StatusCode::NOT_FOUND);
        ensure!(count(&app, "SELECT COUNT(*) FROM lesson_files").await? == 1);
        Ok(())
    }
}

db_test! {
    async fn an_upload_past_the_plans_storage_is_refused_with_a_clear_message(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Видеосабақ", &[]).await?;
        // The school's library already fills the plan's storage but for 1 KB.
        let quota = tabys_billing::plans::limits(&app.db, OrgId(org)).await?.storage_bytes;
        let mut tx = app.db.begin().await?;
        sqlx::query("INSERT INTO files (org_id, purpose, name, content_type, size, sha256, storage_key, created_at) VALUES ($1, 'media', 'old.mp4', 'video/mp4', $2, 'x', 'old-key', 0)")
            .bind(org)
            .bind(quota - 1024)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let r = owner.upload(&format!("/org/{org}/courses/{c}/lessons/{l}/upload"), &[], "lesson.mp4", &mp4()).await?;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "storage-limit")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM lesson_files").await? == 0);
        ensure!(count(&app, "SELECT COUNT(*) FROM files").await? == 1);
        Ok(())
    }
}

db_test! {
    async fn a_student_attaches_files_only_to_their_own_work_and_only_of_allowed_types(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let task = lesson(&app, &owner, org, c, "Тапсырма", &[("assignment", "Жоспар жіберіңіз")]).await?;
        publish(&owner, org, c).await?;
        let s = student(&app, &owner, org, c, "student@example.kz").await?;
        let upload = format!("/cabinet/courses/{c}/lessons/{task}/upload");
        let pdf = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n";
        // Nothing handed in yet: no place for a file.
        refused(&s.upload(&upload, &[], "plan.pdf", pdf).await?, StatusCode::CONFLICT, "submission-first")?;
        redirected(&s.post_form(&format!("/cabinet/courses/{c}/lessons/{task}/submit"), &[("body", "Жоспар тіркемеде")]).await?, "submit")?;
        // A program is not a document, whatever its name.
        let r = s.upload(&upload, &[], "plan.pdf", b"MZ\x90\x00 an executable").await?;
        ensure!(r.status == StatusCode::UNPROCESSABLE_ENTITY, "{} {}", r.status, r.text);
        redirected(&s.upload(&upload, &[], "plan.pdf", pdf).await?, "attach")?;
        ensure!(count(&app, "SELECT COUNT(*) FROM submission_files").await? == 1);
        // The owner opens it through a link signed for them.
        let sid = user_id(&app, "student@example.kz").await?;
        let sub = submission_id(&app, task, sid).await?;
        let page = owner.get(&format!("/org/{org}/learning/submissions/{sub}")).await?;
        let href = page.text.split("data-list=\"attachments\"><li><a href=\"").nth(1).and_then(|t| t.split('"').next()).context("attachment link")?.to_string();
        let file = owner.get(&href).await?;
        ensure!(file.status == StatusCode::OK && file.text.starts_with("%PDF"), "{}", file.status);
        // Another student of the course can neither attach to it nor open the owner's link.
        let other = student(&app, &owner, org, c, "other@example.kz").await?;
        refused(&other.upload(&upload, &[], "x.pdf", pdf).await?, StatusCode::CONFLICT, "submission-first")?;
        ensure!(other.get(&href).await?.status == StatusCode::NOT_FOUND);
        ensure!(count(&app, "SELECT COUNT(*) FROM submission_files").await? == 1);
        Ok(())
    }
}

/// A white PNG picture.
fn png(w: u32, h: u32) -> anyhow::Result<Vec<u8>> {
    let mut out = std::io::Cursor::new(Vec::new());
    image::RgbImage::from_pixel(w, h, image::Rgb([255, 255, 255]))
        .write_to(&mut out, image::ImageFormat::Png)?;
    Ok(out.into_inner())
}

/// The links of a lesson page's media of `kind`, in order.
fn media_links(page: &Reply, kind: &str) -> Vec<String> {
    page.text
        .split(&format!("data-media-kind=\"{kind}\""))
        .skip(1)
        .filter_map(|part| part.split("/files/").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .map(|token| format!("/files/{token}"))
        .collect()
}

fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

db_test! {
    async fn a_lesson_pdf_and_picture_reach_each_student_marked_with_their_own_name_and_email(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Конспект", &[]).await?;
        publish(&owner, org, c).await?;
        let upload = format!("/org/{org}/courses/{c}/lessons/{l}/upload");
        let mut doc = tabys_render::Document::new("Сабақ конспектісі");
        doc.paragraph("Қазақстан нарығы");
        let pdf = doc.to_pdf()?;
        let picture = png(320, 240)?;
        redirected(&owner.upload(&upload, &[], "конспект.pdf", &pdf).await?, "upload pdf")?;
        redirected(&owner.upload(&upload, &[], "схема.png", &picture).await?, "upload png")?;
        let daniyar = student(&app, &owner, org, c, "daniyar@example.kz").await?;
        let aliya = app.person("aliya@example.kz", "Әлия Серікқызы").await?;
        redirected(
            &owner
                .post_form(&format!("/org/{org}/courses/{c}/students"), &[("email", "aliya@example.kz"), ("days", "")])
                .await?,
            "grant",
        )?;
        let lesson_page = format!("/cabinet/courses/{c}/lessons/{l}");

        // Each student's copy carries their own name and e-mail, and the lesson's text.
        let page = daniyar.get(&lesson_page).await?;
        let (pdf_link, png_link) = (
            media_links(&page, "document").first().cloned().context("pdf link")?,
            media_links(&page, "image").first().cloned().context("picture link")?,
        );
        let copy = daniyar.get(&pdf_link).await?;
        ensure!(copy.status == StatusCode::OK && header(&copy, "content-type") == "application/pdf", "{} {}", copy.status, copy.text);
        let text = pdf_text(&copy.bytes)?;
        ensure!(text.contains("daniyar@example.kz") && text.contains("Данияр Студентов"), "{text}");
        ensure!(text.contains("Қазақстан нарығы") && !text.contains("aliya@example.kz"), "{text}");
        let sha: String = sqlx::query_scalar("SELECT sha256 FROM files WHERE content_type = 'application/pdf'")
            .fetch_one(app.db.read())
            .await?;
        ensure!(!header(&copy, "etag").is_empty() && header(&copy, "etag") != format!("\"{sha}\""), "the copy has its own entity tag");

        // A reader's byte ranges come from the marked copy.
        let part = daniyar.get_with(&pdf_link, &[("range", "bytes=0-99")]).await?;
        ensure!(part.status == StatusCode::PARTIAL_CONTENT, "{}", part.status);
        ensure!(part.bytes == copy.bytes[..100], "the range is the marked copy's");
        ensure!(header(&part, "content-range") == format!("bytes 0-99/{}", copy.bytes.len()), "{}", header(&part, "content-range"));
        let tail = daniyar.get_with(&pdf_link, &[("range", &format!("bytes={}-", copy.bytes.len() - 10))]).await?;
        ensure!(tail.bytes == copy.bytes[copy.bytes.len() - 10..], "the end of the marked copy");

        // The picture keeps its size and type and is no longer the original.
        let marked = daniyar.get(&png_link).await?;
        ensure!(marked.status == StatusCode::OK && header(&marked, "content-type") == "image/png", "{}", marked.status);
        ensure!(marked.bytes != picture, "the picture is marked");
        let decoded = image::load_from_memory(&marked.bytes)?;
        ensure!((decoded.width(), decoded.height()) == (320, 240));

        let page = aliya.get(&lesson_page).await?;
        let aliya_pdf = media_links(&page, "document").first().cloned().context("pdf link")?;
        let text = pdf_text(&aliya.get(&aliya_pdf).await?.bytes)?;
        ensure!(text.contains("aliya@example.kz") && text.contains("Әлия Серікқызы"), "{text}");
        ensure!(!text.contains("daniyar@example.kz"), "{text}");

        // Another student's link gives nothing; neither does one with its mark cut off.
        ensure!(aliya.get(&pdf_link).await?.status == StatusCode::NOT_FOUND);
        ensure!(app.client()?.get(&pdf_link).await?.status != StatusCode::OK);
        let unmarked = pdf_link.replacen(".m.", ".", 1);
        ensure!(unmarked != pdf_link);
        let r = daniyar.get(&unmarked).await?;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "link-invalid")?;
        ensure!(!r.bytes.starts_with(b"%PDF"));

        // The school's own library gives its staff the original.
        let id: i64 = sqlx::query_scalar("SELECT id FROM files WHERE content_type = 'application/pdf'")
            .fetch_one(app.db.read())
            .await?;
        let r = owner.get(&format!("/org/{org}/files/{id}")).await?;
        let original = owner.get(r.location.as_deref().context("redirect to the file")?).await?;
        ensure!(original.bytes == pdf, "staff get the file as uploaded");
        Ok(())
    }
}

db_test! {
    async fn a_lesson_pdf_that_cannot_be_marked_is_refused_at_upload_and_not_kept(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Конспект", &[]).await?;
        let school = OrgId(org);
        let before = tabys_files::usage(&app.db, school).await?;
        let r = owner
            .upload(&format!("/org/{org}/courses/{c}/lessons/{l}/upload"), &[], "broken.pdf", &broken_pdf())
            .await?;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "mark-unreadable")?;
        ensure!(tabys_learning::media::of_lesson(&app.db, school, l).await?.is_empty(), "nothing attached");
        ensure!(tabys_files::usage(&app.db, school).await? == before, "nothing counted");
        Ok(())
    }
}

db_test! {
    async fn a_lesson_pdf_that_cannot_be_marked_is_refused_not_served_unmarked(app: TestApp) {
        let (owner, org) = app.organizer("owner@lessbek.kz", "lessbek").await?;
        let c = course(&owner, org, &[]).await?;
        let l = lesson(&app, &owner, org, c, "Конспект", &[]).await?;
        publish(&owner, org, c).await?;
        // A file kept before uploads were checked, attached as it is.
        let part: Result<bytes::Bytes, std::io::Error> = Ok(broken_pdf().into());
        let school = OrgId(org);
        let upload = tabys_files::Upload {
            org: school,
            by: None,
            kind: tabys_files::MEDIA,
            name: "broken.pdf",
        };
        let file = app.files.save(&app.db, upload, futures_util::stream::iter([part])).await?;
        tabys_learning::media::attach(&app.db, school, l, file.id).await?;
        let s = student(&app, &owner, org, c, "daniyar@example.kz").await?;
        let page = s.get(&format!("/cabinet/courses/{c}/lessons/{l}")).await?;
        let link = media_links(&page, "document").first().cloned().context("pdf link")?;
        let r = s.get(&link).await?;
        refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "mark-unreadable")?;
        ensure!(!r.bytes.starts_with(b"%PDF"), "never the unmarked file");
        Ok(())
    }
}

/// A file that says it is a PDF and is not one any reader can open.
fn broken_pdf() -> Vec<u8> {
    b"%PDF-1.7\n1 0 obj << /Type /Catalog broken beyond repair".repeat(20)
}
