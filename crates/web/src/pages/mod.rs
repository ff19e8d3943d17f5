//! Server-rendered pages. Each module is one area of the site; handlers
//! take a [`Ctx`], check access through `tabys_accounts::members`, call the
//! capability and render a template.

mod admin;
mod auth;
pub(crate) mod billing;
mod bookings;
pub(crate) mod cabinet;
mod files;
pub mod layout;
pub(crate) mod learning;
mod learning_school;
mod learning_student;
mod live;
pub(crate) mod notify;
pub(crate) mod offers;
mod org;

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

use crate::AppState;
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/static/app.css", get(stylesheet))
        .route("/static/hls/hls.light.min.js", get(hls_player))
        .route("/static/hls/LICENSE", get(hls_license))
        .merge(auth::router())
        .merge(cabinet::router())
        .merge(org::router())
        .merge(admin::router())
        .merge(offers::router())
        .merge(billing::router())
        .merge(learning::router())
        .merge(bookings::router())
        .merge(files::router())
        .merge(notify::router())
        .merge(live::router())
        .fallback(not_found)
}

async fn stylesheet() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        include_str!("../../static/app.css"),
    )
        .into_response()
}

/// hls.js (Apache-2.0), the light build, vendored unchanged from the npm
/// registry: it plays HLS in browsers without native HLS (Chromium,
/// Firefox). Room pages load it only for an HLS source in such browsers.
async fn hls_player() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        include_str!("../../static/hls/hls.light.min.js"),
    )
        .into_response()
}

/// hls.js's licence, served beside it.
async fn hls_license() -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        include_str!("../../static/hls/LICENSE"),
    )
        .into_response()
}

async fn not_found() -> PageError {
    PageError(tabys_core::Error::NotFound)
}

/// Renders a template into a page, or the error page if rendering fails.
pub fn render(t: &impl askama::Template) -> Result<Response, PageError> {
    t.render()
        .map(|html| axum::response::Html(html).into_response())
        .map_err(|e| PageError(tabys_core::Error::internal(e)))
}

/// A redirect after a successful form (POST → GET).
pub fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

/// Only same-site paths, so `?next=` cannot send anyone elsewhere.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/cabinet".to_string(),
    }
}
