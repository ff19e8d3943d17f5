//! Copies of a course's PDFs and pictures marked with the person they are
//! served to: "Name · e-mail · date" printed on every page or drawn into the
//! picture (LZ 11.5, LZ-8; `tabys_render::stamp` does the marking).
//!
//! Marking is CPU work and a PDF reader asks for the same file many times
//! (one byte range after another), so each marked copy is kept in memory,
//! keyed by the file's content hash and the mark's text, within a byte
//! budget; the least recently used copies go first. Marking runs on the
//! blocking pool, at most one per core at a time, and once per key: requests
//! for a copy being made wait for it. The date in the mark makes yesterday's
//! copies unused, so they age out by themselves.
//!
//! A file that cannot be marked (an encrypted or damaged PDF, a picture too
//! large) is refused with a translated error and never served unmarked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::Bytes;
use sha2::{Digest, Sha256};
use tabys_core::Error;
use tabys_files::{Files, StoredFile};
use tabys_render::stamp::{self, StampError};

/// The largest PDF marked, in bytes: it is read into memory whole, and its
/// parsed objects take a few times that.
pub const MAX_PDF_BYTES: u64 = 64 * 1024 * 1024;
/// The largest picture file marked, in bytes (its pixels are capped too).
pub const MAX_IMAGE_BYTES: u64 = 32 * 1024 * 1024;

/// Changes whenever the way a mark is drawn changes, so copies drawn the old
/// way are not served under the same entity tag.
const DRAWING: &str = "mark-v1";

/// A marked copy, ready to send.
#[derive(Debug)]
pub struct Copy {
    pub bytes: Bytes,
    pub content_type: &'static str,
    /// The HTTP entity tag: the copy's, not the original file's.
    pub etag: String,
}

/// The marked copies of this process.
pub struct MarkedCopies {
    budget: u64,
    store: Mutex<Store>,
    workers: tokio::sync::Semaphore,
}

impl std::fmt::Debug for MarkedCopies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MarkedCopies")
            .field("budget", &self.budget)
            .finish_non_exhaustive()
    }
}

#[derive(Default)]
struct Store {
    copies: HashMap<String, Kept>,
    bytes: u64,
    clock: u64,
    /// Keys being marked now, each with a lock its waiters queue on.
    making: HashMap<String, Arc<tokio::sync::Mutex<()>>>,
}

struct Kept {
    copy: Arc<Copy>,
    used: u64,
}

/// The files marked: PDFs and pictures.
pub fn is_markable(file: &StoredFile) -> bool {
    file.is_pdf() || file.is_image()
}

/// What an upload is marked with to check it can be (Kazakh letters
/// included, as students' names have them).
const UPLOAD_CHECK_MARK: &str = "Тексеру Қасымұлы · check@tabys.kz · 01.01.2026";

impl MarkedCopies {
    /// Keeps at most `budget` bytes of marked copies.
    pub fn new(budget: u64) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            budget,
            store: Mutex::new(Store::default()),
            workers: tokio::sync::Semaphore::new(cores),
        }
    }

    fn store(&self) -> MutexGuard<'_, Store> {
        // Nothing panics while holding it; a poisoned map is still consistent.
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The copy of `file` with `mark` on it, made now or kept from before.
    pub async fn get(
        &self,
        files: &Files,
        file: &StoredFile,
        mark: &str,
    ) -> Result<Arc<Copy>, Error> {
        let key = key(file, mark);
        if let Some(copy) = self.lookup(&key) {
            return Ok(copy);
        }
        let gate = self.store().making.entry(key.clone()).or_default().clone();
        let made = {
            let _turn = gate.lock().await;
            match self.lookup(&key) {
                Some(copy) => Ok(copy),
                None => self.make(files, file, mark, &key).await,
            }
        };
        let mut store = self.store();
        if store
            .making
            .get(&key)
            .is_some_and(|g| Arc::ptr_eq(g, &gate) && Arc::strong_count(g) <= 2)
        {
            store.making.remove(&key);
        }
        made
    }

    /// Marks `file` once to see that it can be marked, keeping nothing: a
    /// school uploading a PDF its students could never open (encrypted,
    /// damaged) hears so at once instead of its students hearing it later.
    pub async fn check(&self, files: &Files, file: &StoredFile) -> Result<(), Error> {
        self.mark(files, file, UPLOAD_CHECK_MARK).await.map(|_| ())
    }

    async fn make(
        &self,
        files: &Files,
        file: &StoredFile,
        mark: &str,
        key: &str,
    ) -> Result<Arc<Copy>, Error> {
        let (bytes, content_type) = self.mark(files, file, mark).await?;
        let copy = Arc::new(Copy {
            bytes: Bytes::from(bytes),
            content_type,
            etag: format!("\"m-{}\"", &key[..32]),
        });
        self.keep(key, copy.clone());
        Ok(copy)
    }

    /// The bytes of `file` with `mark` on them, and their type.
    async fn mark(
        &self,
        files: &Files,
        file: &StoredFile,
        mark: &str,
    ) -> Result<(Vec<u8>, &'static str), Error> {
        let pdf = file.is_pdf();
        let limit = if pdf { MAX_PDF_BYTES } else { MAX_IMAGE_BYTES };
        if u64::try_from(file.size).unwrap_or(u64::MAX) > limit {
            return Err(Error::invalid("file", "mark-too-large"));
        }
        let bytes = match files.read_all(file, limit).await {
            Err(Error::Invalid(_)) => return Err(Error::invalid("file", "mark-too-large")),
            other => other?,
        };
        let _worker = self.workers.acquire().await.map_err(Error::internal)?;
        let mark = mark.to_string();
        let marked = tokio::task::spawn_blocking(move || {
            if pdf {
                stamp::pdf(&bytes, &mark).map(|b| (b, "application/pdf"))
            } else {
                stamp::image(&bytes, &mark).map(|s| (s.bytes, s.content_type))
            }
        })
        .await
        .map_err(Error::internal)?;
        marked.map_err(|e| refusal(file, &e))
    }

    fn lookup(&self, key: &str) -> Option<Arc<Copy>> {
        let mut store = self.store();
        store.clock += 1;
        let now = store.clock;
        let kept = store.copies.get_mut(key)?;
        kept.used = now;
        Some(kept.copy.clone())
    }

    /// Keeps a copy, dropping the least recently used ones to stay within
    /// the budget. A copy over half the budget is served but not kept.
    fn keep(&self, key: &str, copy: Arc<Copy>) {
        let size = copy.bytes.len() as u64;
        if size > self.budget / 2 {
            return;
        }
        let mut store = self.store();
        while store.bytes + size > self.budget {
            let Some(oldest) = store
                .copies
                .iter()
                .min_by_key(|(_, k)| k.used)
                .map(|(key, _)| key.clone())
            else {
                break;
            };
            if let Some(gone) = store.copies.remove(&oldest) {
                store.bytes -= gone.copy.bytes.len() as u64;
            }
        }
        store.clock += 1;
        let used = store.clock;
        if let Some(old) = store.copies.insert(key.to_string(), Kept { copy, used }) {
            store.bytes -= old.copy.bytes.len() as u64;
        }
        store.bytes += size;
    }
}

/// A copy is the same for the same content and the same mark.
fn key(file: &StoredFile, mark: &str) -> String {
    let mut h = Sha256::new();
    h.update(DRAWING.as_bytes());
    h.update([0]);
    h.update(file.sha256.as_bytes());
    h.update([0]);
    h.update(mark.as_bytes());
    hex::encode(h.finalize())
}

fn refusal(file: &StoredFile, e: &StampError) -> Error {
    match e {
        StampError::Unreadable => Error::invalid("file", "mark-unreadable"),
        StampError::Encrypted => Error::invalid("file", "mark-encrypted"),
        StampError::TooLarge => Error::invalid("file", "mark-too-large"),
        StampError::Font(_) => {
            tracing::error!(file = file.id, error = %e, "marking failed");
            Error::internal(e)
        }
    }
}

/// What is printed on a copy for `name` and `email` on `date` (Almaty).
pub fn mark_text(name: &str, email: &str, date: jiff::civil::Date) -> String {
    format!(
        "{name} · {email} · {:02}.{:02}.{}",
        date.day(),
        date.month(),
        date.year()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn copy(len: usize) -> Arc<Copy> {
        Arc::new(Copy {
            bytes: Bytes::from(vec![0u8; len]),
            content_type: "application/pdf",
            etag: String::new(),
        })
    }

    #[test]
    fn kept_copies_stay_within_the_budget_dropping_the_least_recently_used() {
        let cache = MarkedCopies::new(100);
        cache.keep("a", copy(40));
        cache.keep("b", copy(40));
        assert!(cache.lookup("a").is_some());
        cache.keep("c", copy(40));
        assert!(cache.lookup("b").is_none(), "b was used least recently");
        assert!(cache.lookup("a").is_some() && cache.lookup("c").is_some());
        assert_eq!(cache.store().bytes, 80);
        cache.keep("huge", copy(60));
        assert!(cache.lookup("huge").is_none(), "over half the budget");
        assert_eq!(cache.store().bytes, 80);
    }

    #[test]
    fn the_mark_names_the_person_and_the_day() {
        let date = jiff::civil::date(2026, 3, 8);
        assert_eq!(
            mark_text("Әлия Серікқызы", "aliya@example.kz", date),
            "Әлия Серікқызы · aliya@example.kz · 08.03.2026"
        );
    }
}
