//! An organizer's file library: what it has uploaded, how much of the
//! plan's storage that takes, uploading with a progress bar, opening and
//! deleting. Capabilities (lessons, rooms, resources) pick files from here
//! or upload through their own `/upload` routes; the rules are the same.

use askama::Template;
use axum::Router;
use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_core::ids::OrgId;
use tabys_core::{Error, Result};
use tabys_files::StoredFile;

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;

/// How long a link the library opens stays valid.
const LINK_SECONDS: i64 = 10 * 60;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}/files", get(library))
        .route("/org/{org}/files/upload", post(upload))
        .route("/org/{org}/files/{file}", get(open))
        .route("/org/{org}/files/{file}/delete", post(delete))
}

async fn role(state: &AppState, ctx: &Ctx, org: OrgId) -> Result<Role, PageError> {
    let user = ctx.user()?;
    Ok(members::staff_access(&state.db, user.id, org).await?)
}

#[derive(Template)]
#[template(path = "files/library.html")]
struct LibraryPage {
    l: Layout,
    org: Organizer,
    files: Vec<StoredFile>,
    used: i64,
    quota: i64,
    may_edit: bool,
    errors: FormErrors,
}

impl LibraryPage {
    /// Per mille of the storage used, for the bar.
    fn used_permille(&self) -> i64 {
        if self.quota <= 0 {
            1000
        } else {
            (self.used.saturating_mul(1000) / self.quota).min(1000)
        }
    }
}

/// Bytes as people read them: `1.5 MB`.
pub fn size(bytes: &i64) -> String {
    let b = *bytes as f64;
    if b >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} GB", b / (1024.0 * 1024.0 * 1024.0))
    } else if b >= 1024.0 * 1024.0 {
        format!("{:.1} MB", b / (1024.0 * 1024.0))
    } else if b >= 1024.0 {
        format!("{:.0} KB", b / 1024.0)
    } else {
        format!("{bytes} B")
    }
}

async fn page(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    role: Role,
    errors: FormErrors,
) -> Result<LibraryPage, PageError> {
    Ok(LibraryPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        files: tabys_files::list(&state.db, org, 500).await?,
        used: tabys_files::usage(&state.db, org).await?,
        quota: tabys_billing::plans::limits(&state.db, org)
            .await?
            .storage_bytes,
        may_edit: role.edits_profile(),
        errors,
    })
}

async fn library(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let role = role(&state, &ctx, OrgId(org)).await?;
    render(&page(&state, &ctx, OrgId(org), role, FormErrors::default()).await?)
}

/// Stores one file. A browser posting the form is sent back to the
/// library; the page's script asks for JSON to show progress and the result.
async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    let org = OrgId(org);
    let role = role(&state, &ctx, org).await?;
    if !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    let user = ctx.user()?.id;
    let wants_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let received = crate::files::receive(
        &state,
        &ctx,
        &headers,
        form,
        org,
        Some(user),
        tabys_files::MEDIA,
    )
    .await
    .and_then(|r| r.file.ok_or_else(|| Error::invalid("file", "required")));
    match received {
        Ok(file) if wants_json => Ok(axum::Json(serde_json::json!({
            "id": file.id, "name": file.name, "size": file.size, "content_type": file.content_type,
        }))
        .into_response()),
        Ok(_) => Ok(see_other(&format!("/org/{}/files", org.0))),
        // What is wrong with the file is shown beside it; a forged or
        // broken form gets the error page like any other form.
        Err(Error::Invalid(fields)) if wants_json && about_file(&fields) => {
            let message = fields
                .first()
                .map(|f| ctx.tr.err(f.code))
                .unwrap_or_default();
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                axum::Json(serde_json::json!({ "error": { "message": message } })),
            )
                .into_response())
        }
        Err(Error::Invalid(fields)) if about_file(&fields) => {
            let p = page(&state, &ctx, org, role, FormErrors::new(ctx.tr, fields)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&p)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

fn about_file(fields: &[tabys_core::FieldError]) -> bool {
    fields.iter().all(|f| f.field == "file")
}

/// Opens a file for the staff member through a fresh signed link.
async fn open(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, file)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    role(&state, &ctx, OrgId(org)).await?;
    let file = tabys_files::get(&state.db, OrgId(org), file).await?;
    let user = ctx.user()?.id;
    let token = state
        .files
        .sign(file.id, user, state.db.now().plus_seconds(LINK_SECONDS));
    Ok(see_other(&format!("/files/{token}")))
}

#[derive(Deserialize)]
struct Empty {}

async fn delete(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, file)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let role = role(&state, &ctx, OrgId(org)).await?;
    if !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    state.files.delete(&state.db, OrgId(org), file).await?;
    Ok(see_other(&format!("/org/{org}/files")))
}
