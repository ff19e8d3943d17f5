//! Files uploaded to an organizer: lesson video and audio, presentations
//! and PDFs, chat attachments, covers and photos. The facts about them are
//! in the `files` table; the bytes are kept by the storage the settings
//! choose ([`StorageConfig`]): the data folder (`<data>/files/<org>/<random>`,
//! the default) or an S3-compatible bucket (the object `<org>/<random>`,
//! addressed path-style and signed with AWS Signature Version 4).
//!
//! A file is accepted only if its *content* is of a type its [`Kind`]
//! allows (the name and the browser's declared type are not trusted), it is
//! no larger than the kind allows, and it fits in what is left of the
//! organizer plan's storage (AT 3.2.3). It is streamed to a temporary file
//! under the data folder while it arrives, so a 2 GB video never sits in
//! memory, and only then kept: moved into place, or PUT to the bucket with
//! its real SHA-256 and length. Its type and size are known only once its
//! bytes are seen, and the plan's storage is checked before anything is
//! kept, so nothing refused ever reaches the bucket. It gets a row only once
//! every byte is stored; if the row cannot be written, the bytes are
//! removed again.
//!
//! Reading streams too, whole or one byte range ([`Files::open`]), from the
//! disk or from the bucket (a `Range` request), never the whole object in
//! memory.
//!
//! Files are served through short-lived signed links ([`Files::sign`]):
//! the capability that owns the file decides who may see it (a student with
//! access, a participant of a chat) and signs a link for that person; the
//! link names the person, so it is no use to anyone else. Where the
//! audience has no account (a guest of an open webinar room) the owner signs
//! a *scoped* link instead ([`Files::sign_scoped`]): it names a scope the
//! owner makes up and checks itself (a session and a participant), and is
//! worthless as a person's link and the other way round.
//!
//! This crate does not decide who may see a file and knows nothing of HTTP.

mod s3;
mod sigv4;
pub mod sniff;

use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::{Db, Tx};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

/// A stored file's bytes as they are read.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// What may be uploaded for one purpose.
#[derive(Debug, Clone, Copy)]
pub struct Kind {
    /// Recorded with the file: `lesson-media`, `chat-attachment`, …
    pub purpose: &'static str,
    /// The largest file, in bytes.
    pub max_bytes: i64,
    /// Content types allowed, as [`sniff::content_type`] names them.
    pub types: &'static [&'static str],
}

const MB: i64 = 1024 * 1024;

/// Pictures a browser shows.
pub const IMAGES: &[&str] = &["image/png", "image/jpeg", "image/gif", "image/webp"];
/// Video a browser plays.
pub const VIDEO: &[&str] = &["video/mp4", "video/webm"];
/// Audio a browser plays.
pub const AUDIO: &[&str] = &["audio/mpeg", "audio/ogg", "audio/wav", "audio/mp4"];
/// Documents: PDF, office files (presentations, tables, texts), plain text and CSV.
pub const DOCUMENTS: &[&str] = &[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument",
    "text/plain",
];

/// A picture: a cover, a photo, an illustration.
pub const IMAGE: Kind = Kind {
    purpose: "image",
    max_bytes: 10 * MB,
    types: IMAGES,
};

/// An attachment to a message or an assignment: a picture or a document.
pub const ATTACHMENT: Kind = Kind {
    purpose: "attachment",
    max_bytes: 25 * MB,
    types: &[
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument",
        "text/plain",
    ],
};

/// A video to play: a webinar room's or an autowebinar's recording.
pub const VIDEO_FILE: Kind = Kind {
    purpose: "video",
    max_bytes: 2048 * MB,
    types: VIDEO,
};

/// Lesson material: video, audio, pictures and documents.
pub const MEDIA: Kind = Kind {
    purpose: "media",
    max_bytes: 2048 * MB,
    types: &[
        "video/mp4",
        "video/webm",
        "audio/mpeg",
        "audio/ogg",
        "audio/wav",
        "audio/mp4",
        "image/png",
        "image/jpeg",
        "image/gif",
        "image/webp",
        "application/pdf",
        "application/vnd.openxmlformats-officedocument",
        "text/plain",
    ],
};

/// Where the bytes of files are kept (`[files]` in the settings): the data
/// folder when `s3_endpoint` is empty (the default), otherwise the bucket
/// `s3_bucket` of an S3-compatible store, addressed path-style
/// (`<endpoint>/<bucket>/<key>`). The secret key is never shown in `Debug`.
#[derive(Clone, Default, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StorageConfig {
    /// `https://storage.example.kz`; empty keeps files in the data folder.
    pub s3_endpoint: String,
    pub s3_bucket: String,
    /// `us-east-1` when empty, as most S3-compatible stores expect.
    pub s3_region: String,
    pub s3_access_key: String,
    pub s3_secret_key: String,
}

impl StorageConfig {
    pub fn is_s3(&self) -> bool {
        !self.s3_endpoint.trim().is_empty()
    }
}

impl std::fmt::Debug for StorageConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let secret = if self.s3_secret_key.is_empty() {
            ""
        } else {
            "***"
        };
        f.debug_struct("StorageConfig")
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key", &self.s3_access_key)
            .field("s3_secret_key", &secret)
            .finish()
    }
}

#[derive(Debug, Clone)]
enum Storage {
    /// Under the root folder.
    Local,
    Bucket(Arc<s3::Bucket>),
}
/// The purpose of a certificate of completion's PDF, made by the platform
/// (not uploaded). Such documents do not count against the plan's storage:
/// the school cannot choose not to make them, the law gives the student the
/// certificate (LZ 9.1) whatever the school's storage, and each is a few
/// dozen kilobytes.
pub const CERTIFICATE: &str = "certificate";

/// Where files are kept and the key that signs links to them. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    root: Arc<PathBuf>,
    key: Arc<[u8; 32]>,
    storage: Storage,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("root", &self.root)
            .field("storage", &self.storage)
            .finish_non_exhaustive()
    }
}

/// A stored file.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StoredFile {
    pub id: i64,
    pub org_id: OrgId,
    pub uploaded_by: Option<UserId>,
    pub purpose: String,
    /// The name it was uploaded under, cleaned of any folder.
    pub name: String,
    /// What its content is, as sniffed.
    pub content_type: String,
    pub size: i64,
    /// Hex SHA-256 of the content: also the HTTP entity tag.
    pub sha256: String,
    pub created_at: Timestamp,
    #[serde(skip)]
    storage_key: String,
}

impl StoredFile {
    pub fn is_video(&self) -> bool {
        self.content_type.starts_with("video/")
    }
    pub fn is_audio(&self) -> bool {
        self.content_type.starts_with("audio/")
    }
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
    pub fn is_pdf(&self) -> bool {
        self.content_type == "application/pdf"
    }
}

const COLUMNS: &str =
    "id, org_id, uploaded_by, purpose, name, content_type, size, sha256, storage_key, created_at";

fn from_row(r: &sqlx::any::AnyRow) -> Result<StoredFile> {
    Ok(StoredFile {
        id: r.try_get(0)?,
        org_id: OrgId(r.try_get(1)?),
        uploaded_by: r.try_get::<Option<i64>, _>(2)?.map(UserId),
        purpose: r.try_get(3)?,
        name: r.try_get(4)?,
        content_type: r.try_get(5)?,
        size: r.try_get(6)?,
        sha256: r.try_get(7)?,
        storage_key: r.try_get(8)?,
        created_at: Timestamp(r.try_get(9)?),
    })
}

/// Who uploads what, for which organizer.
#[derive(Debug, Clone, Copy)]
pub struct Upload<'a> {
    pub org: OrgId,
    pub by: Option<UserId>,
    pub kind: Kind,
    /// The name the browser sent; only its last part is kept.
    pub name: &'a str,
}

/// The labels links are signed under: a person's link and a scoped link
/// can never be taken for each other.
const PERSON: &[u8] = b"tabys-file-link:";
const SCOPED: &[u8] = b"tabys-file-scoped-link:";

/// Who a signed link is for and until when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Signed {
    pub file: i64,
    pub viewer: UserId,
    pub until: Timestamp,
    /// The file is to be served marked with the viewer's name and e-mail
    /// (a course's PDF or picture given to a student, LZ-8).
    pub marked: bool,
}

/// A link signed for a scope rather than a person, and until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scoped {
    pub file: i64,
    /// What the signer named: only the signer knows what it means.
    pub scope: String,
    pub until: Timestamp,
}

impl Files {
    /// Files under `root` (created when needed), links signed with `key`.
    pub fn new(root: PathBuf, key: [u8; 32]) -> Self {
        Self {
            root: Arc::new(root),
            key: Arc::new(key),
            storage: Storage::Local,
        }
    }

    /// Files kept where `cfg` says: under `root`, or in its bucket (then
    /// `root` only holds uploads in progress). Settings that cannot work
    /// (an address that is not one, a bucket without keys) are refused
    /// with the reason.
    pub fn with_storage(
        root: PathBuf,
        key: [u8; 32],
        cfg: &StorageConfig,
    ) -> std::result::Result<Self, String> {
        let mut files = Self::new(root, key);
        if cfg.is_s3() {
            files.storage = Storage::Bucket(Arc::new(s3::Bucket::new(cfg)?));
        }
        Ok(files)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, storage_key: &str) -> PathBuf {
        self.root.join(storage_key)
    }

    /// Stores what `body` yields as a file of `up.org`, or refuses it and
    /// keeps nothing: a type the kind does not allow (`file-type`), larger
    /// than the kind allows (`file-too-large`), more than the plan's storage
    /// has left (`storage-limit`), or empty (`file-empty`).
    pub async fn save<S, E>(&self, db: &Db, up: Upload<'_>, body: S) -> Result<StoredFile>
    where
        S: Stream<Item = std::result::Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let quota = tabys_billing::plans::limits(db, up.org)
            .await?
            .storage_bytes;
        let left = quota - usage(db, up.org).await?;
        if left <= 0 {
            return Err(Error::invalid("file", "storage-limit"));
        }
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .map_err(Error::internal)?;
        let tmp = tmp_dir.join(random_name());
        let written = self.write(&tmp, up.kind, left, body).await;
        let (size, sha256, content_type) = match written {
            Ok(w) => w,
            Err(e) => {
                let _ = tokio::fs::remove_file(&tmp).await;
                return Err(e);
            }
        };
        let storage_key = format!("{}/{}", up.org.0, random_name());
        self.keep(&tmp, &storage_key, size, &sha256, content_type)
            .await?;
        let recorded = self
            .record(db, up, size, &sha256, content_type, &storage_key, quota)
            .await;
        if recorded.is_err() {
            self.remove(&storage_key).await;
        }
        recorded
    }

    /// Moves the finished upload `tmp` to where files are kept, under
    /// `storage_key`; `tmp` is gone afterwards whatever happened.
    async fn keep(
        &self,
        tmp: &Path,
        storage_key: &str,
        size: i64,
        sha256: &str,
        content_type: &str,
    ) -> Result<()> {
        let kept = match &self.storage {
            Storage::Local => {
                let target = self.path(storage_key);
                async {
                    if let Some(dir) = target.parent() {
                        tokio::fs::create_dir_all(dir).await?;
                    }
                    tokio::fs::rename(tmp, &target).await
                }
                .await
                .map_err(Error::internal)
            }
            Storage::Bucket(bucket) => bucket
                .put(
                    storage_key,
                    tmp,
                    u64::try_from(size).unwrap_or(0),
                    sha256,
                    content_type,
                )
                .await
                .map_err(|e| unavailable("storing an upload", &e)),
        };
        if let Err(e) = tokio::fs::remove_file(tmp).await
            && e.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(error = %e, "could not remove a finished upload's temporary file");
        }
        kept
    }

    /// Removes stored bytes; a failure is logged, as the row is what counts.
    async fn remove(&self, storage_key: &str) {
        let removed = match &self.storage {
            Storage::Local => tokio::fs::remove_file(self.path(storage_key))
                .await
                .map_err(|e| e.to_string()),
            Storage::Bucket(bucket) => bucket.delete(storage_key).await.map_err(|e| e.to_string()),
        };
        if let Err(e) = removed {
            tracing::warn!(key = storage_key, error = %e, "could not remove a file's bytes");
        }
    }

    /// Streams the body into `tmp`, counting, hashing and sniffing.
    async fn write<S, E>(
        &self,
        tmp: &Path,
        kind: Kind,
        left: i64,
        body: S,
    ) -> Result<(i64, String, &'static str)>
    where
        S: Stream<Item = std::result::Result<Bytes, E>>,
        E: std::fmt::Display,
    {
        let mut out = tokio::fs::File::create(tmp)
            .await
            .map_err(Error::internal)?;
        let mut body = std::pin::pin!(body);
        let mut hash = Sha256::new();
        let mut head: Vec<u8> = Vec::with_capacity(sniff::HEAD);
        let mut size: i64 = 0;
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::info!(error = %e, "upload interrupted");
                Error::invalid("file", "upload-interrupted")
            })?;
            size += i64::try_from(chunk.len()).unwrap_or(i64::MAX);
            if size > kind.max_bytes {
                return Err(Error::invalid("file", "file-too-large"));
            }
            if size > left {
                return Err(Error::invalid("file", "storage-limit"));
            }
            if head.len() < sniff::HEAD {
                let take = (sniff::HEAD - head.len()).min(chunk.len());
                head.extend_from_slice(&chunk[..take]);
            }
            hash.update(&chunk);
            out.write_all(&chunk).await.map_err(Error::internal)?;
        }
        out.flush().await.map_err(Error::internal)?;
        out.sync_all().await.map_err(Error::internal)?;
        if size == 0 {
            return Err(Error::invalid("file", "file-empty"));
        }
        let content_type = sniff::content_type(&head)
            .filter(|t| kind.types.contains(t))
            .ok_or_else(|| Error::invalid("file", "file-type"))?;
        Ok((size, hex::encode(hash.finalize()), content_type))
    }

    /// The row, written only if the file still fits: two uploads racing
    /// for the last megabytes cannot both pass.
    #[allow(clippy::too_many_arguments)]
    async fn record(
        &self,
        db: &Db,
        up: Upload<'_>,
        size: i64,
        sha256: &str,
        content_type: &str,
        storage_key: &str,
        quota: i64,
    ) -> Result<StoredFile> {
        let now = db.now();
        let mut tx = db.begin().await?;
        // Serializes uploads of one organizer on PostgreSQL (SQLite has one writer).
        sqlx::query(&format!(
            "SELECT id FROM organizers WHERE id = $1{}",
            db.dialect().for_update()
        ))
        .bind(up.org.0)
        .fetch_one(&mut *tx)
        .await?;
        let used: i64 = sqlx::query(
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE org_id = $1 AND deleted_at IS NULL AND purpose <> $2",
        )
        .bind(up.org.0)
        .bind(CERTIFICATE)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
        if used + size > quota {
            return Err(Error::invalid("file", "storage-limit"));
        }
        let row = sqlx::query(&format!(
            "INSERT INTO files (org_id, uploaded_by, purpose, name, content_type, size, sha256, storage_key, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        ))
        .bind(up.org.0)
        .bind(up.by.map(|u| u.0))
        .bind(up.kind.purpose)
        .bind(clean_name(up.name))
        .bind(content_type)
        .bind(size)
        .bind(sha256)
        .bind(storage_key)
        .bind(now.0)
        .fetch_one(&mut *tx)
        .await?;
        let file = from_row(&row)?;
        tx.commit().await?;
        Ok(file)
    }

    /// A stored file's bytes as they are read: all of them, or the
    /// inclusive byte range `range` (already fitted to the file's size).
    /// Bytes that are missing from the storage are `NotFound` (and logged).
    pub async fn open(
        &self,
        file: &StoredFile,
        range: Option<RangeInclusive<u64>>,
    ) -> Result<ByteStream> {
        match &self.storage {
            Storage::Local => {
                let mut handle = tokio::fs::File::open(self.path(&file.storage_key))
                    .await
                    .map_err(|e| {
                        tracing::error!(file = file.id, error = %e, "stored file is missing");
                        Error::NotFound
                    })?;
                let size = u64::try_from(file.size).unwrap_or(0);
                let (start, len) = match range {
                    Some(r) => (*r.start(), (r.end() + 1).saturating_sub(*r.start())),
                    None => (0, size),
                };
                if start > 0 {
                    handle
                        .seek(std::io::SeekFrom::Start(start))
                        .await
                        .map_err(Error::internal)?;
                }
                Ok(read_stream(handle, len))
            }
            Storage::Bucket(bucket) => bucket.get(&file.storage_key, range).await.map_err(|e| {
                if e.is_missing() {
                    tracing::error!(file = file.id, error = %e, "stored file is missing");
                    Error::NotFound
                } else {
                    unavailable("reading a file", &e)
                }
            }),
        }
    }

    /// A whole small file in memory (to stamp a PDF or a picture), or
    /// `file-too-large` if it is larger than `max_bytes`.
    pub async fn read_all(&self, file: &StoredFile, max_bytes: u64) -> Result<Vec<u8>> {
        let too_large = || Error::invalid("file", "file-too-large");
        let size = u64::try_from(file.size).unwrap_or(0);
        if size > max_bytes {
            return Err(too_large());
        }
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        let mut stream = self.open(file, None).await?;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(Error::internal)?;
            if (bytes.len() + chunk.len()) as u64 > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Stores a document the platform made (a certificate's PDF) for `org`,
    /// its row written in the caller's transaction, so the document exists
    /// exactly when the change that made it does. The bytes are on disk
    /// before the row; a transaction that rolls back leaves them unnamed.
    /// Its content must be of `content_type` (checked like an upload's).
    pub async fn store_document(
        &self,
        tx: &mut Tx,
        now: Timestamp,
        org: OrgId,
        purpose: &'static str,
        name: &str,
        bytes: &[u8],
    ) -> Result<StoredFile> {
        let content_type = sniff::content_type(&bytes[..bytes.len().min(sniff::HEAD)])
            .ok_or_else(|| Error::Internal(format!("a {purpose} of an unknown type")))?;
        let size = i64::try_from(bytes.len()).map_err(Error::internal)?;
        let sha256 = hex::encode(Sha256::digest(bytes));
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir)
            .await
            .map_err(Error::internal)?;
        let tmp = tmp_dir.join(random_name());
        let written = async {
            let mut out = tokio::fs::File::create(&tmp).await?;
            out.write_all(bytes).await?;
            out.sync_all().await
        }
        .await;
        if let Err(e) = written {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(Error::internal(e));
        }
        let storage_key = format!("{}/{}", org.0, random_name());
        self.keep(&tmp, &storage_key, size, &sha256, content_type)
            .await?;
        let row = sqlx::query(&format!(
            "INSERT INTO files (org_id, uploaded_by, purpose, name, content_type, size, sha256, storage_key, created_at)
             VALUES ($1, NULL, $2, $3, $4, $5, $6, $7, $8) RETURNING {COLUMNS}"
        ))
        .bind(org.0)
        .bind(purpose)
        .bind(clean_name(name))
        .bind(content_type)
        .bind(size)
        .bind(&sha256)
        .bind(&storage_key)
        .bind(now.0)
        .fetch_one(&mut **tx)
        .await;
        match row {
            Ok(r) => from_row(&r),
            Err(e) => {
                self.remove(&storage_key).await;
                Err(e.into())
            }
        }
    }

    /// Removes the bytes of a document from [`Files::store_document`] whose
    /// transaction was rolled back, so its row never existed.
    pub async fn discard_unrecorded(&self, file: &StoredFile) {
        self.remove(&file.storage_key).await;
    }

    /// Deletes a file of the organizer: its row stops counting at once, its
    /// bytes are removed from the storage.
    pub async fn delete(&self, db: &Db, org: OrgId, id: i64) -> Result<()> {
        let file = get(db, org, id).await?;
        let mut tx = db.begin().await?;
        sqlx::query("UPDATE files SET deleted_at = $1 WHERE id = $2 AND org_id = $3")
            .bind(db.now().0)
            .bind(id)
            .bind(org.0)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.remove(&file.storage_key).await;
        Ok(())
    }

    /// A link token to `file` for `viewer`, valid until `until`.
    pub fn sign(&self, file: i64, viewer: UserId, until: Timestamp) -> String {
        let body = format!("{file}.{}.{}", viewer.0, until.0);
        format!("{body}.{}", self.mac(&body))
    }

    /// Like [`Files::sign`], for a copy marked with the viewer's name and
    /// e-mail. The mark is part of what is signed, so it cannot be dropped
    /// from the link.
    pub fn sign_marked(&self, file: i64, viewer: UserId, until: Timestamp) -> String {
        let body = format!("{file}.{}.{}.m", viewer.0, until.0);
        format!("{body}.{}", self.mac(&body))
    }

    /// Checks a link token: `link-invalid` if it was not made here (or was
    /// changed), `link-expired` once its time is over.
    pub fn verify(&self, token: &str, now: Timestamp) -> Result<Signed> {
        let invalid = || Error::invalid("link", "link-invalid");
        let (body, mac) = token.rsplit_once('.').ok_or_else(invalid)?;
        let expected = self.mac(body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return Err(invalid());
        }
        let (body, marked) = match body.strip_suffix(".m") {
            Some(rest) => (rest, true),
            None => (body, false),
        };
        let mut parts = body.split('.').map(|p| p.parse::<i64>());
        let (Some(Ok(file)), Some(Ok(viewer)), Some(Ok(until)), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        if now.0 > until {
            return Err(Error::invalid("link", "link-expired"));
        }
        Ok(Signed {
            file,
            viewer: UserId(viewer),
            until: Timestamp(until),
            marked,
        })
    }

    /// A link token to `file` for whoever the signer's `scope` stands for,
    /// valid until `until`. Signed under its own label, so it never passes
    /// as a person's link.
    pub fn sign_scoped(&self, file: i64, scope: &str, until: Timestamp) -> String {
        let body = format!("{file}.{}.{}", hex::encode(scope), until.0);
        format!("{body}.{}", self.mac_labelled(SCOPED, &body))
    }

    /// Checks a scoped link token like [`Files::verify`] does a person's.
    pub fn verify_scoped(&self, token: &str, now: Timestamp) -> Result<Scoped> {
        let invalid = || Error::invalid("link", "link-invalid");
        let (body, mac) = token.rsplit_once('.').ok_or_else(invalid)?;
        let expected = self.mac_labelled(SCOPED, body);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(
            expected.as_bytes(),
            mac.as_bytes(),
        )) {
            return Err(invalid());
        }
        let mut parts = body.split('.');
        let (Some(file), Some(scope), Some(until), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(invalid());
        };
        let (Ok(file), Ok(until)) = (file.parse::<i64>(), until.parse::<i64>()) else {
            return Err(invalid());
        };
        let scope = hex::decode(scope)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(invalid)?;
        if now.0 > until {
            return Err(Error::invalid("link", "link-expired"));
        }
        Ok(Scoped {
            file,
            scope,
            until: Timestamp(until),
        })
    }

    fn mac(&self, body: &str) -> String {
        self.mac_labelled(PERSON, body)
    }

    fn mac_labelled(&self, label: &[u8], body: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(label);
        mac.update(body.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The key that signs links: `configured` (64 hex digits, from
/// `TABYS_SECRET_KEY`) or the one in `<data>/secret.key`, made on first
/// start. With several nodes, give each the same key.
pub fn load_key(
    data_dir: &Path,
    configured: Option<&str>,
) -> std::result::Result<[u8; 32], String> {
    fn parse(text: &str) -> Option<[u8; 32]> {
        hex::decode(text.trim()).ok()?.try_into().ok()
    }
    if let Some(hex_key) = configured {
        return parse(hex_key).ok_or_else(|| "TABYS_SECRET_KEY must be 64 hex digits".to_string());
    }
    let path = data_dir.join("secret.key");
    match std::fs::read_to_string(&path) {
        Ok(text) => {
            parse(&text).ok_or_else(|| format!("{} must hold 64 hex digits", path.display()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let key: [u8; 32] = rand::rng().random();
            std::fs::create_dir_all(data_dir)
                .and_then(|()| std::fs::write(&path, hex::encode(key)))
                .map_err(|e| format!("writing {}: {e}", path.display()))?;
            Ok(key)
        }
        Err(e) => Err(format!("reading {}: {e}", path.display())),
    }
}

/// A file of the organizer; another organizer's is `NotFound`.
pub async fn get(db: &Db, org: OrgId, id: i64) -> Result<StoredFile> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM files WHERE id = $1 AND org_id = $2 AND deleted_at IS NULL"
    ))
    .bind(id)
    .bind(org.0)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// The organizer's files among `ids`, in the order of `ids`, in one query;
/// ids of deleted files or of another organizer are left out.
pub async fn get_many(db: &Db, org: OrgId, ids: &[i64]) -> Result<Vec<StoredFile>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let marks: Vec<String> = (2..ids.len() + 2).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT {COLUMNS} FROM files WHERE org_id = $1 AND deleted_at IS NULL AND id IN ({})",
        marks.join(", ")
    );
    let mut query = sqlx::query(&sql).bind(org.0);
    for id in ids {
        query = query.bind(*id);
    }
    let mut found = query
        .fetch_all(db.read())
        .await?
        .iter()
        .map(from_row)
        .collect::<Result<Vec<_>>>()?;
    found.sort_by_key(|f| ids.iter().position(|id| *id == f.id));
    Ok(found)
}

/// The organizer's files, newest first.
pub async fn list(db: &Db, org: OrgId, limit: i64) -> Result<Vec<StoredFile>> {
    let rows = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM files WHERE org_id = $1 AND deleted_at IS NULL ORDER BY id DESC LIMIT $2"
    ))
    .bind(org.0)
    .bind(limit)
    .fetch_all(db.read())
    .await?;
    rows.iter().map(from_row).collect()
}

/// The file a verified link names (whatever its organizer: the link's
/// signature is the permission).
pub async fn get_signed(db: &Db, signed: Signed) -> Result<StoredFile> {
    let row = sqlx::query(&format!(
        "SELECT {COLUMNS} FROM files WHERE id = $1 AND deleted_at IS NULL"
    ))
    .bind(signed.file)
    .fetch_optional(db.read())
    .await?
    .ok_or(Error::NotFound)?;
    from_row(&row)
}

/// Bytes the organizer's files take, counted against the plan's storage.
/// Documents the platform makes ([`CERTIFICATE`]) are not counted.
pub async fn usage(db: &Db, org: OrgId) -> Result<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE org_id = $1 AND deleted_at IS NULL AND purpose <> $2",
    )
    .bind(org.0)
    .bind(CERTIFICATE)
    .fetch_one(db.read())
    .await?;
    Ok(row.try_get(0)?)
}

/// `len` bytes of `handle` from where it stands, 64 KiB at a time.
fn read_stream(handle: tokio::fs::File, len: u64) -> ByteStream {
    futures_util::stream::unfold((handle, len), |(mut handle, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024);
        let mut buf = vec![0u8; want];
        match handle.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok(Bytes::from(buf)), (handle, left - n as u64)))
            }
            Err(e) => Some((Err(e), (handle, 0))),
        }
    })
    .boxed()
}

/// A store that failed or refused: the cause is logged for the operator,
/// the person is told to try again later and nothing is kept.
fn unavailable(doing: &str, failure: &s3::Failure) -> Error {
    tracing::error!(error = %failure, "file store failed while {doing}");
    Error::Conflict("storage-unavailable")
}

fn random_name() -> String {
    let bytes: [u8; 16] = rand::rng().random();
    hex::encode(bytes)
}

/// The last part of an uploaded name, without control characters, at most
/// 200 characters; `file` if nothing is left.
pub fn clean_name(raw: &str) -> String {
    let last = raw.rsplit(['/', '\\']).next().unwrap_or(raw);
    let cleaned: String = last.chars().filter(|c| !c.is_control()).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "file".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files() -> Files {
        Files::new(PathBuf::from("/nonexistent"), [7; 32])
    }

    #[test]
    fn a_signed_link_verifies_until_it_expires() {
        let f = files();
        let token = f.sign(42, UserId(5), Timestamp(1_000));
        let signed = f.verify(&token, Timestamp(999)).expect("valid");
        assert_eq!(
            signed,
            Signed {
                file: 42,
                viewer: UserId(5),
                until: Timestamp(1_000),
                marked: false,
            }
        );
        assert_eq!(
            f.verify(&token, Timestamp(1_001)).map_err(|e| e.code()),
            Err("link-expired")
        );
    }

    #[test]
    fn a_marked_link_says_so_and_cannot_lose_its_mark() {
        let f = files();
        let token = f.sign_marked(42, UserId(5), Timestamp(1_000));
        let signed = f.verify(&token, Timestamp(999)).expect("valid");
        assert!(signed.marked);
        assert_eq!((signed.file, signed.viewer), (42, UserId(5)));
        assert!(
            !f.verify(&f.sign(42, UserId(5), Timestamp(1_000)), Timestamp(0))
                .expect("valid")
                .marked
        );
        let (body, mac) = token.rsplit_once('.').expect("has a signature");
        let unmarked = format!("{}.{mac}", body.trim_end_matches(".m"));
        assert_eq!(
            f.verify(&unmarked, Timestamp(0)).map_err(|e| e.code()),
            Err("link-invalid")
        );
    }

    #[test]
    fn a_changed_link_is_refused() {
        let f = files();
        let token = f.sign(42, UserId(5), Timestamp(1_000));
        for forged in [
            token.replacen("42.", "43.", 1),
            token.replacen(".5.", ".6.", 1),
            token.replacen(".1000.", ".9000.", 1),
            format!("{token}0"),
            "42.5.1000".to_string(),
            String::new(),
        ] {
            assert_eq!(
                f.verify(&forged, Timestamp(0)).map_err(|e| e.code()),
                Err("link-invalid"),
                "{forged}"
            );
        }
        let other = Files::new(PathBuf::from("/nonexistent"), [8; 32]);
        assert!(other.verify(&token, Timestamp(0)).is_err());
    }

    #[test]
    fn a_scoped_link_keeps_its_scope_and_is_never_a_persons_link() {
        let f = files();
        let token = f.sign_scoped(42, "w7-g0123456789abcdef", Timestamp(1_000));
        assert_eq!(
            f.verify_scoped(&token, Timestamp(1_000))
                .ok()
                .map(|s| s.scope),
            Some("w7-g0123456789abcdef".to_string())
        );
        assert_eq!(
            f.verify_scoped(&token, Timestamp(1_001))
                .map_err(|e| e.code()),
            Err("link-expired")
        );
        // The same parts under the other label are refused both ways.
        assert_eq!(
            f.verify(&token, Timestamp(0)).map_err(|e| e.code()),
            Err("link-invalid")
        );
        let person = f.sign(42, UserId(5), Timestamp(1_000));
        assert_eq!(
            f.verify_scoped(&person, Timestamp(0)).map_err(|e| e.code()),
            Err("link-invalid")
        );
        // Another scope spliced into the token breaks the signature.
        let other = f.sign_scoped(42, "w8-g0123456789abcdef", Timestamp(1_000));
        let ours: Vec<&str> = token.split('.').collect();
        let theirs: Vec<&str> = other.split('.').collect();
        let spliced = [ours[0], theirs[1], ours[2], ours[3]].join(".");
        assert_eq!(
            f.verify_scoped(&spliced, Timestamp(0))
                .map_err(|e| e.code()),
            Err("link-invalid")
        );
    }

    #[test]
    fn names_lose_their_folders_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\a\\lesson 1.pdf"), "lesson 1.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\nc.mp4"), "abc.mp4");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
    }
}
