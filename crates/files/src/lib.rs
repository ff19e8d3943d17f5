//! Files uploaded to an organizer: lesson video and audio, presentations
//! and PDFs, chat attachments, covers and photos. The bytes are stored
//! under the data folder (`<data>/files/<org>/<random>`), the facts about
//! them in the `files` table.
//!
//! A file is accepted only if its *content* is of a type its [`Kind`]
//! allows (the name and the browser's declared type are not trusted), it is
//! no larger than the kind allows, and it fits in what is left of the
//! organizer plan's storage (AT 3.2.3). It is streamed to disk while it
//! arrives, so a 2 GB video never sits in memory, and it gets a row only
//! once every byte is on disk.
//!
//! Files are served through short-lived signed links ([`Files::sign`]):
//! the capability that owns the file decides who may see it (a student with
//! access, a participant of a chat) and signs a link for that person; the
//! link names the person, so it is no use to anyone else.
//!
//! This crate does not decide who may see a file and knows nothing of HTTP.

pub mod sniff;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use futures_util::{Stream, StreamExt};
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::{Digest, Sha256};
use sqlx::Row;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, Result, Timestamp};
use tabys_store::Db;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

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

/// Where files are kept and the key that signs links to them. Cheap to clone.
#[derive(Clone)]
pub struct Files {
    root: Arc<PathBuf>,
    key: Arc<[u8; 32]>,
}

impl std::fmt::Debug for Files {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Files")
            .field("root", &self.root)
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

impl Files {
    /// Files under `root` (created when needed), links signed with `key`.
    pub fn new(root: PathBuf, key: [u8; 32]) -> Self {
        Self {
            root: Arc::new(root),
            key: Arc::new(key),
        }
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
        let target = self.path(&storage_key);
        let stored = async {
            if let Some(dir) = target.parent() {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(Error::internal)?;
            }
            tokio::fs::rename(&tmp, &target)
                .await
                .map_err(Error::internal)?;
            self.record(db, up, size, &sha256, content_type, &storage_key, quota)
                .await
        }
        .await;
        if stored.is_err() {
            let _ = tokio::fs::remove_file(&tmp).await;
            let _ = tokio::fs::remove_file(&target).await;
        }
        stored
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
            "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE org_id = $1 AND deleted_at IS NULL",
        )
        .bind(up.org.0)
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

    /// Opens a stored file's bytes for reading.
    pub async fn open(&self, file: &StoredFile) -> Result<tokio::fs::File> {
        tokio::fs::File::open(self.path(&file.storage_key))
            .await
            .map_err(|e| {
                tracing::error!(file = file.id, error = %e, "stored file is missing");
                Error::NotFound
            })
    }

    /// A stored file's whole content, for work on the bytes (marking a
    /// copy); `file-too-large` if it is over `max_bytes`, checked before
    /// anything is read.
    pub async fn read_all(&self, file: &StoredFile, max_bytes: u64) -> Result<Vec<u8>> {
        let size = u64::try_from(file.size).unwrap_or(u64::MAX);
        if size > max_bytes {
            return Err(Error::invalid("file", "file-too-large"));
        }
        let handle = self.open(file).await?;
        let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        // One byte more than allowed tells a file grown on disk from one that fits.
        handle
            .take(max_bytes + 1)
            .read_to_end(&mut bytes)
            .await
            .map_err(Error::internal)?;
        if bytes.len() as u64 > max_bytes {
            return Err(Error::invalid("file", "file-too-large"));
        }
        Ok(bytes)
    }

    /// Deletes a file of the organizer: its row stops counting at once, its
    /// bytes are removed from disk.
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
        if let Err(e) = tokio::fs::remove_file(self.path(&file.storage_key)).await {
            tracing::warn!(file = id, error = %e, "could not remove a deleted file's bytes");
        }
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

    fn mac(&self, body: &str) -> String {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.key.as_slice())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(b"tabys-file-link:");
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
pub async fn usage(db: &Db, org: OrgId) -> Result<i64> {
    let row = sqlx::query(
        "SELECT CAST(COALESCE(SUM(size), 0) AS BIGINT) FROM files WHERE org_id = $1 AND deleted_at IS NULL",
    )
    .bind(org.0)
    .fetch_one(db.read())
    .await?;
    Ok(row.try_get(0)?)
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
    fn names_lose_their_folders_and_control_characters() {
        assert_eq!(clean_name("C:\\Users\\a\\lesson 1.pdf"), "lesson 1.pdf");
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("a\u{0}b\nc.mp4"), "abc.mp4");
        assert_eq!(clean_name(".."), "file");
        assert_eq!(clean_name(""), "file");
    }
}
