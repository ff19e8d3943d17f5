//! The storage rules, on both databases and on both storages — the data
//! folder and an S3-compatible bucket (the stand-in, over real HTTP on
//! 127.0.0.1, checking every signature): a file is kept with its real
//! SHA-256, read whole or in a byte range, and deleted; a refused upload
//! leaves nothing anywhere; a store that refuses the key keeps nothing.

use std::path::{Path, PathBuf};

use anyhow::{Context, ensure};
use bytes::Bytes;
use futures_util::StreamExt;
use tabys_accounts::users::{self, NewUser};
use tabys_core::Error;
use tabys_core::email::Email;
use tabys_core::ids::OrgId;
use tabys_core::locale::Locale;
use tabys_files::{DOCUMENTS, Files, Kind, StorageConfig, StoredFile, Upload};
use tabys_providers_fake::s3::{FakeS3, S3Config};
use tabys_store::Db;
use tabys_testkit::db_only_test;

const BUCKET: &str = "tabys";

/// An organizer, with the storage every organizer starts with.
async fn organizer(db: &Db) -> anyhow::Result<OrgId> {
    let mut tx = db.begin().await?;
    let owner = users::create(
        &mut tx,
        db,
        NewUser {
            email: Email::parse("owner@school.kz").map_err(|e| anyhow::anyhow!("{e}"))?,
            name: "Owner".into(),
            password: "long-enough-password".into(),
            locale: Locale::Ru,
            adult_confirmed: true,
        },
        false,
    )
    .await?;
    tx.commit().await?;
    let profile = tabys_accounts::organizers::ProfileInput {
        slug: "school".into(),
        legal_form: "legal_entity".into(),
        legal_name: "ТОО «School»".into(),
        email: "office@school.kz".into(),
        legal_address: "г. Алматы".into(),
        iin_bin: "180540001239".into(),
        iik: "KZ86125KZT5004100100".into(),
        bik: "HSBKKZKX".into(),
        kbe: "17".into(),
        head_name: "Директоров Д. Д.".into(),
        head_position: "Директор".into(),
        ..Default::default()
    }
    .parse()?;
    Ok(tabys_accounts::organizers::create(db, owner.id, profile)
        .await?
        .id)
}

/// One storage under test: the files, and the bucket behind them if any.
struct Storage {
    files: Files,
    bucket: Option<FakeS3>,
    _root: Folder,
}

/// A folder removed when the test ends.
struct Folder(PathBuf);

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn folder() -> Folder {
    Folder(std::env::temp_dir().join(format!(
        "tabys-storage-{}",
        hex::encode(rand::random::<[u8; 8]>())
    )))
}

fn bucket_settings(store: &FakeS3, access_key: &str, secret_key: &str) -> StorageConfig {
    StorageConfig {
        s3_endpoint: store.base().to_string(),
        s3_bucket: BUCKET.into(),
        s3_region: store.config().region.clone(),
        s3_access_key: access_key.into(),
        s3_secret_key: secret_key.into(),
    }
}

/// The data folder, then a bucket in the S3 stand-in.
async fn storages() -> anyhow::Result<Vec<Storage>> {
    let local = folder();
    let remote = folder();
    let store = FakeS3::start("127.0.0.1:0".parse()?, S3Config::default()).await?;
    let (key, secret) = store
        .config()
        .keys
        .iter()
        .next()
        .map(|(k, s)| (k.clone(), s.clone()))
        .context("a key")?;
    Ok(vec![
        Storage {
            files: Files::new(local.0.clone(), rand::random()),
            bucket: None,
            _root: local,
        },
        Storage {
            files: Files::with_storage(
                remote.0.clone(),
                rand::random(),
                &bucket_settings(&store, &key, &secret),
            )
            .map_err(anyhow::Error::msg)?,
            bucket: Some(store),
            _root: remote,
        },
    ])
}

impl Storage {
    fn name(&self) -> &'static str {
        if self.bucket.is_some() { "s3" } else { "local" }
    }

    /// What the storage holds: files under the folder (uploads in progress
    /// aside) or objects in the bucket.
    fn stored(&self) -> anyhow::Result<Vec<String>> {
        match &self.bucket {
            Some(store) => Ok(store.keys(BUCKET)),
            None => {
                let mut found = Vec::new();
                let mut dirs = vec![self.files.root().to_path_buf()];
                while let Some(dir) = dirs.pop() {
                    let Ok(entries) = std::fs::read_dir(&dir) else {
                        continue;
                    };
                    for e in entries {
                        let path = e?.path();
                        if path == self.files.root().join("tmp") {
                            continue;
                        }
                        if path.is_dir() {
                            dirs.push(path);
                        } else {
                            found.push(path.display().to_string());
                        }
                    }
                }
                Ok(found)
            }
        }
    }

    /// Uploads in progress left behind: there must be none.
    fn leftovers(&self) -> Vec<PathBuf> {
        in_folder(&self.files.root().join("tmp"))
    }
}

fn in_folder(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .map(|entries| entries.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default()
}

fn body(parts: &[&[u8]]) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let parts: Vec<Result<Bytes, std::io::Error>> = parts
        .iter()
        .map(|p| Ok(Bytes::copy_from_slice(p)))
        .collect();
    futures_util::stream::iter(parts)
}

async fn read(
    files: &Files,
    file: &StoredFile,
    range: Option<std::ops::RangeInclusive<u64>>,
) -> Result<Vec<u8>, Error> {
    let mut stream = files.open(file, range).await?;
    let mut out = Vec::new();
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.map_err(Error::internal)?);
    }
    Ok(out)
}

fn upload(org: OrgId, kind: Kind, name: &str) -> Upload<'_> {
    Upload {
        org,
        by: None,
        kind,
        name,
    }
}

fn digits() -> Vec<u8> {
    "0123456789".repeat(100).into_bytes()
}

db_only_test! {
    async fn a_file_is_kept_with_its_hash_read_in_ranges_and_deleted_on_either_storage(t: TestDb) {
        let org = organizer(&t.db).await?;
        for s in storages().await? {
            let name = s.name();
            let half = digits();
            let (first, second) = half.split_at(300);
            let file = s
                .files
                .save(&t.db, upload(org, tabys_files::ATTACHMENT, "digits.txt"), body(&[first, second]))
                .await?;
            assert_eq!((file.size, file.content_type.as_str()), (1000, "text/plain"), "{name}");
            let stored = s.stored()?;
            ensure!(stored.len() == 1, "{name}: one stored file: {stored:?}");
            ensure!(s.leftovers().is_empty(), "{name}: no upload in progress is left");
            if let Some(store) = &s.bucket {
                // Kept under its own name, with its type; the stand-in took
                // it only because its x-amz-content-sha256 was the real one.
                let (content_type, bytes) = store.object(BUCKET, &stored[0]).context("the object")?;
                assert_eq!((content_type.as_str(), bytes.as_slice()), ("text/plain", digits().as_slice()));
                ensure!(stored[0].starts_with(&format!("{}/", org.0)), "keyed by organizer: {stored:?}");
                ensure!(store.refusals().is_empty(), "{:?}", store.refusals());
            }

            assert_eq!(read(&s.files, &file, None).await?, digits(), "{name}");
            assert_eq!(read(&s.files, &file, Some(10..=24)).await?, b"012345678901234", "{name}");
            assert_eq!(read(&s.files, &file, Some(997..=999)).await?, b"789", "{name}");
            assert_eq!(s.files.read_all(&file, 1000).await?, digits(), "{name}");
            assert_eq!(
                s.files.read_all(&file, 999).await.map_err(|e| e.code()),
                Err("file-too-large"),
                "{name}"
            );

            s.files.delete(&t.db, org, file.id).await?;
            ensure!(s.stored()?.is_empty(), "{name}: the bytes are gone: {:?}", s.stored()?);
            ensure!(tabys_files::list(&t.db, org, 10).await?.is_empty(), "{name}: the row is gone");
            assert_eq!(
                read(&s.files, &file, None).await.map_err(|e| e.code()),
                Err("not-found"),
                "{name}"
            );
        }
        Ok(())
    }
}

db_only_test! {
    async fn a_refused_upload_leaves_nothing_on_either_storage(t: TestDb) {
        let org = organizer(&t.db).await?;
        let small = Kind {
            purpose: "test",
            max_bytes: 100,
            types: DOCUMENTS,
        };
        for s in storages().await? {
            let name = s.name();
            let exe = s
                .files
                .save(&t.db, upload(org, small, "lesson.pdf"), body(&[b"MZ\x90\x00\x03\x00\x00\x00"]))
                .await;
            assert_eq!(exe.map_err(|e| e.code()).map(|_| ()), Err("file-type"), "{name}");
            let empty = s.files.save(&t.db, upload(org, small, "a.txt"), body(&[])).await;
            assert_eq!(empty.map_err(|e| e.code()).map(|_| ()), Err("file-empty"), "{name}");
            let large = s
                .files
                .save(&t.db, upload(org, small, "a.txt"), body(&[&[b'a'; 60], &[b'a'; 60]]))
                .await;
            assert_eq!(large.map_err(|e| e.code()).map(|_| ()), Err("file-too-large"), "{name}");
            let cut = futures_util::stream::iter(vec![
                Ok(Bytes::from_static(b"hello")),
                Err(std::io::Error::other("connection reset")),
            ]);
            let interrupted = s.files.save(&t.db, upload(org, small, "a.txt"), cut).await;
            assert_eq!(
                interrupted.map_err(|e| e.code()).map(|_| ()),
                Err("upload-interrupted"),
                "{name}"
            );

            ensure!(s.stored()?.is_empty(), "{name}: stored {:?}", s.stored()?);
            ensure!(s.leftovers().is_empty(), "{name}: left {:?}", s.leftovers());
            if let Some(store) = &s.bucket {
                ensure!(store.refusals().is_empty(), "nothing refused reached the store");
            }
        }
        ensure!(tabys_files::list(&t.db, org, 10).await?.is_empty(), "a file was recorded");
        assert_eq!(tabys_files::usage(&t.db, org).await?, 0);
        Ok(())
    }
}

db_only_test! {
    async fn a_store_that_refuses_the_key_keeps_nothing_and_says_storage_is_unavailable(t: TestDb) {
        let org = organizer(&t.db).await?;
        let store = FakeS3::start("127.0.0.1:0".parse()?, S3Config::default()).await?;
        let key = store.config().keys.keys().next().context("a key")?.clone();
        for (access_key, secret_key, refusal) in [
            (key.as_str(), "not-the-secret", "SignatureDoesNotMatch"),
            ("AKIDNOBODY", "not-the-secret", "InvalidAccessKeyId"),
        ] {
            let root = folder();
            let files = Files::with_storage(
                root.0.clone(),
                rand::random(),
                &bucket_settings(&store, access_key, secret_key),
            )
            .map_err(anyhow::Error::msg)?;
            let saved = files
                .save(&t.db, upload(org, tabys_files::ATTACHMENT, "a.txt"), body(&[b"hello"]))
                .await;
            ensure!(
                matches!(saved, Err(Error::Conflict("storage-unavailable"))),
                "{refusal}: {saved:?}"
            );
            let codes: Vec<String> = store.refusals().into_iter().map(|r| r.code).collect();
            ensure!(codes.last().map(String::as_str) == Some(refusal), "{codes:?}");
            ensure!(store.keys(BUCKET).is_empty(), "the store kept {:?}", store.keys(BUCKET));
            ensure!(in_folder(&root.0.join("tmp")).is_empty(), "an upload in progress was left");
        }
        ensure!(tabys_files::list(&t.db, org, 10).await?.is_empty(), "a file was recorded");
        assert_eq!(tabys_files::usage(&t.db, org).await?, 0);
        Ok(())
    }
}

#[test]
fn storage_settings_that_cannot_work_are_refused_with_the_reason() {
    let key = [0; 32];
    let root = PathBuf::from("/nonexistent");
    let with = |endpoint: &str, bucket: &str, secret: &str| {
        Files::with_storage(
            root.clone(),
            key,
            &StorageConfig {
                s3_endpoint: endpoint.into(),
                s3_bucket: bucket.into(),
                s3_access_key: "k".into(),
                s3_secret_key: secret.into(),
                ..StorageConfig::default()
            },
        )
        .map(|_| ())
    };
    assert!(with("", "", "").is_ok(), "no endpoint: the data folder");
    assert!(with("https://storage.example.kz", "b", "s").is_ok());
    for (endpoint, bucket, secret, says) in [
        ("storage.example.kz", "b", "s", "files.s3_endpoint"),
        ("ftp://storage.example.kz", "b", "s", "files.s3_endpoint"),
        ("https://storage.example.kz", "", "s", "files.s3_bucket"),
        ("https://storage.example.kz", "b", "", "files.s3_secret_key"),
    ] {
        let err = with(endpoint, bucket, secret);
        assert!(
            matches!(&err, Err(e) if e.contains(says)),
            "{endpoint} {bucket} {secret}: {err:?}"
        );
    }
}

db_only_test! {
    async fn many_files_come_in_one_query_in_the_order_asked_without_deleted_ones(t: TestDb) {
        let org = organizer(&t.db).await?;
        let s = storages().await?.into_iter().next().context("the data folder")?;
        let mut ids = Vec::new();
        for name in ["a.txt", "b.txt", "c.txt"] {
            let f = s.files.save(&t.db, upload(org, tabys_files::ATTACHMENT, name), body(&[b"text"])).await?;
            ids.push(f.id);
        }
        s.files.delete(&t.db, org, ids[1]).await?;
        let asked = [ids[2], ids[1], ids[0]];
        let got: Vec<i64> = tabys_files::get_many(&t.db, org, &asked).await?.iter().map(|f| f.id).collect();
        assert_eq!(got, vec![ids[2], ids[0]], "asked order kept, the deleted file left out");
        let elsewhere = OrgId(org.0 + 1000);
        assert!(tabys_files::get_many(&t.db, elsewhere, &asked).await?.is_empty(), "another organizer's files are not given");
        assert!(tabys_files::get_many(&t.db, org, &[]).await?.is_empty());
        Ok(())
    }
}
