//! The learning capability's job: `learning.certificate`, which makes an
//! issued certificate's PDF and mails it to the student
//! ([`certificates::mail`]). Idempotent: the PDF is recorded on the
//! certificate in the same transaction as the notification, and a second
//! run finds it and does nothing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use tabys_core::{Error, Result, Timestamp};
use tabys_files::Files;
use tabys_store::Db;
use tabys_store::jobs::{Handler, Job, Registry};

use crate::certificates;

type Fut<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

struct CertificateMail {
    files: Files,
    public_url: Arc<str>,
}

impl Handler for CertificateMail {
    fn run<'a>(&'a self, db: &'a Db, job: &'a Job) -> Fut<'a> {
        Box::pin(async move {
            let (Some(id), Some(issued)) = (
                job.payload["certificate"].as_i64(),
                job.payload["issued"].as_i64(),
            ) else {
                return Err(Error::Internal(format!(
                    "job {} names no certificate",
                    job.id
                )));
            };
            certificates::mail(db, &self.files, &self.public_url, id, Timestamp(issued)).await
        })
    }
}

/// Registers the learning jobs with the worker: PDFs are stored in
/// `files`, verification links point at `public_url`.
pub fn register(registry: &mut Registry, files: Files, public_url: String) {
    registry.register(
        certificates::MAIL_JOB,
        CertificateMail {
            files,
            public_url: public_url.into(),
        },
    );
}
