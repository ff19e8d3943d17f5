//! The file library: uploads are checked by content and counted against
//! the plan, refused uploads leave nothing behind, files are served with
//! byte ranges through links signed for one person that expire.

mod support;

use anyhow::{Context, ensure};
use support::{error_page, field_error, no_server_errors};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_testkit::reqwest::StatusCode;
use tabys_testkit::{Backend, Client, TestApp, db_test};

/// What is under the app's file folder, apart from the folder for uploads
/// in progress (which must be empty).
fn stored_files(app: &TestApp) -> anyhow::Result<Vec<std::path::PathBuf>> {
    let mut found = Vec::new();
    let mut dirs = vec![app.files.root().to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries {
            let path = e?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                found.push(path);
            }
        }
    }
    Ok(found)
}

fn digits() -> Vec<u8> {
    "0123456789".repeat(100).into_bytes()
}

/// Uploads and returns the library page after it.
async fn upload(owner: &Client, org: i64, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let r = owner
        .upload(&format!("/org/{org}/files/upload"), &[], name, bytes)
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "uploading {name} answered {}: {}",
        r.status,
        r.text
    );
    Ok(())
}

/// The signed link the library sends the person to for a file.
async fn link(c: &Client, org: i64, file: i64) -> anyhow::Result<String> {
    let r = c.get(&format!("/org/{org}/files/{file}")).await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "opening answered {}",
        r.status
    );
    r.location.context("a link")
}

db_test! {
    async fn a_file_is_served_whole_and_in_ranges_to_the_person_its_link_was_signed_for(app: TestApp) {
        let (owner, org) = app.organizer("owner@school.kz", "school").await?;
        upload(&owner, org, "C:\\lessons\\../digits.txt", &digits()).await?;
        let files = tabys_files::list(&app.db, OrgId(org), 10).await?;
        ensure!(files.len() == 1, "one file: {files:?}");
        let file = &files[0];
        assert_eq!(file.name, "digits.txt");
        assert_eq!(file.content_type, "text/plain");
        assert_eq!(file.size, 1000);
        assert_eq!(tabys_files::usage(&app.db, OrgId(org)).await?, 1000);
        let page = owner.get(&format!("/org/{org}/files")).await?;
        ensure!(page.text.contains("digits.txt"), "listed: {}", page.text);

        let url = link(&owner, org, file.id).await?;
        let whole = owner.get(&url).await?;
        assert_eq!(whole.status, StatusCode::OK);
        assert_eq!(whole.text.as_bytes(), digits().as_slice());
        assert_eq!(whole.headers["accept-ranges"], "bytes");

        let part = owner.get_with(&url, &[("range", "bytes=10-24")]).await?;
        assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
        assert_eq!(part.text, "012345678901234");
        assert_eq!(part.headers["content-range"], "bytes 10-24/1000");
        let tail = owner.get_with(&url, &[("range", "bytes=-3")]).await?;
        assert_eq!((tail.status, tail.text.as_str()), (StatusCode::PARTIAL_CONTENT, "789"));
        let past = owner.get_with(&url, &[("range", "bytes=1000-")]).await?;
        assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);

        // Someone else holding the link gets nothing; nor does a changed link.
        let other = app.person("other@example.kz", "Other").await?;
        error_page(&other.get(&url).await?, StatusCode::NOT_FOUND, "ru", "not-found")?;
        let anonymous = app.client()?.get(&url).await?;
        ensure!(anonymous.status != StatusCode::OK, "served to nobody: {}", anonymous.status);
        let forged = url.replacen(&format!("/files/{}.", file.id), &format!("/files/{}.", file.id + 1), 1);
        error_page(&owner.get(&forged).await?, StatusCode::UNPROCESSABLE_ENTITY, "ru", "link-invalid")?;

        // Ten minutes later the link is over; a new one works.
        app.clock.advance_seconds(10 * 60 + 1);
        error_page(&owner.get(&url).await?, StatusCode::UNPROCESSABLE_ENTITY, "ru", "link-expired")?;
        let fresh = link(&owner, org, file.id).await?;
        assert_eq!(owner.get(&fresh).await?.status, StatusCode::OK);
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_refused_upload_leaves_nothing_behind(app: TestApp) {
        let (owner, org) = app.organizer("owner@school.kz", "school").await?;
        let path = format!("/org/{org}/files/upload");
        // A program named like a video; an empty file; no file at all.
        let exe = owner.upload(&path, &[], "lesson.mp4", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00").await?;
        field_error(&exe, StatusCode::UNPROCESSABLE_ENTITY, "ru", "file", "file-type")?;
        let empty = owner.upload(&path, &[], "empty.pdf", b"").await?;
        field_error(&empty, StatusCode::UNPROCESSABLE_ENTITY, "ru", "file", "file-empty")?;
        // Without the CSRF token nothing is stored either.
        let boundary = "XyZ";
        let body = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\n\r\nhello\r\n--{boundary}--\r\n"
        );
        let forged = owner.post_raw(&path, &format!("multipart/form-data; boundary={boundary}"), body).await?;
        error_page(&forged, StatusCode::UNPROCESSABLE_ENTITY, "ru", "csrf")?;
        // A manager may upload; a curator may look but not upload.
        let curator = app.staff(&owner, org, "curator@school.kz", "curator").await?;
        error_page(&curator.upload(&path, &[], "a.txt", b"hello").await?, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        assert_eq!(curator.get(&format!("/org/{org}/files")).await?.status, StatusCode::OK);

        ensure!(tabys_files::list(&app.db, OrgId(org), 10).await?.is_empty(), "a file was recorded");
        let left = stored_files(&app)?;
        ensure!(left.is_empty(), "bytes were left on disk: {left:?}");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn uploads_stop_at_the_plans_storage_and_deleting_frees_it(app: TestApp) {
        let (owner, org) = app.organizer("owner@school.kz", "school").await?;
        // A plan with one megabyte of storage, bought with bonus credit.
        let plan = tabys_billing::plans::create(
            &app.db,
            UserId(1),
            &tabys_billing::plans::PlanInput {
                code: "tiny".into(),
                name: "Tiny".into(),
                period_days: "30".into(),
                webinar_rooms: "1".into(),
                storage_mb: "1".into(),
                active_students: "10".into(),
                sms_allowance: "0".into(),
                price: "100".into(),
            },
        )
        .await?;
        let now = app.db.now();
        let mut tx = app.db.begin().await?;
        let w = tabys_billing::balances::wallet(
            &mut tx,
            tabys_billing::Book::OPERATOR,
            tabys_billing::Holder::Org(OrgId(org)),
            now,
        )
        .await?;
        tabys_billing::balances::grant_bonus(&mut tx, now, &w, Money::from_tiyn(10_000), "test-bonus".into(), "test".into(), None).await?;
        tx.commit().await?;
        tabys_billing::plans::buy(&app.db, &app.billing, OrgId(org), UserId(1), plan.id, "tiny-1").await?;

        let chunk = vec![b'a'; 600 * 1024];
        upload(&owner, org, "first.txt", &chunk).await?;
        let over = owner.upload(&format!("/org/{org}/files/upload"), &[], "second.txt", &chunk).await?;
        field_error(&over, StatusCode::UNPROCESSABLE_ENTITY, "ru", "file", "storage-limit")?;
        let files = tabys_files::list(&app.db, OrgId(org), 10).await?;
        ensure!(files.len() == 1, "only the first file is kept: {files:?}");
        ensure!(stored_files(&app)?.len() == 1, "the refused file's bytes are gone");

        let r = owner.post_form(&format!("/org/{org}/files/{}/delete", files[0].id), &[] as &[(&str, &str)]).await?;
        assert_eq!(r.status, StatusCode::SEE_OTHER);
        assert_eq!(tabys_files::usage(&app.db, OrgId(org)).await?, 0);
        ensure!(stored_files(&app)?.is_empty(), "the deleted file's bytes are gone");
        upload(&owner, org, "second.txt", &chunk).await?;
        no_server_errors(&app).await
    }
}

/// Lesson video kept in an S3-compatible bucket is served in byte ranges
/// through its signed link all the same: the range is asked of the store,
/// and deleting the file removes the object.
async fn a_range_is_read_from_the_bucket(app: TestApp) -> anyhow::Result<()> {
    let store = app
        .s3
        .clone()
        .context("the app keeps files in the bucket")?;
    let (owner, org) = app.organizer("owner@school.kz", "school").await?;
    upload(&owner, org, "digits.txt", &digits()).await?;
    let files = tabys_files::list(&app.db, OrgId(org), 10).await?;
    ensure!(files.len() == 1, "one file: {files:?}");
    let keys = store.keys("tabys");
    ensure!(keys.len() == 1, "one object: {keys:?}");
    ensure!(
        stored_files(&app)?.is_empty(),
        "nothing is kept in the folder"
    );

    let url = link(&owner, org, files[0].id).await?;
    let part = owner.get_with(&url, &[("range", "bytes=10-24")]).await?;
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.text, "012345678901234");
    assert_eq!(part.headers["content-range"], "bytes 10-24/1000");
    assert_eq!(part.headers["content-length"], "15");
    let tail = owner.get_with(&url, &[("range", "bytes=-3")]).await?;
    assert_eq!(
        (tail.status, tail.text.as_str()),
        (StatusCode::PARTIAL_CONTENT, "789")
    );
    let whole = owner.get(&url).await?;
    assert_eq!(
        (whole.status, whole.text.as_bytes()),
        (StatusCode::OK, digits().as_slice())
    );
    let past = owner.get_with(&url, &[("range", "bytes=1000-")]).await?;
    assert_eq!(past.status, StatusCode::RANGE_NOT_SATISFIABLE);
    let other = app.person("other@example.kz", "Other").await?;
    error_page(
        &other.get(&url).await?,
        StatusCode::NOT_FOUND,
        "ru",
        "not-found",
    )?;
    ensure!(
        store.refusals().is_empty(),
        "every request was signed right: {:?}",
        store.refusals()
    );

    let r = owner
        .post_form(
            &format!("/org/{org}/files/{}/delete", files[0].id),
            &[] as &[(&str, &str)],
        )
        .await?;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    ensure!(
        store.keys("tabys").is_empty(),
        "the object is gone: {:?}",
        store.keys("tabys")
    );
    no_server_errors(&app).await
}

mod a_range_is_read_from_the_bucket {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() -> anyhow::Result<()> {
        a_range_is_read_from_the_bucket(TestApp::spawn_on_s3(Backend::Sqlite).await?).await
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() -> anyhow::Result<()> {
        a_range_is_read_from_the_bucket(TestApp::spawn_on_s3(Backend::Postgres).await?).await
    }
}
