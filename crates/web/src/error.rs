//! Errors become responses here and nowhere else. A page error is rendered
//! as a translated page (or a redirect to sign in); an API error is JSON
//! with a stable code. Internal causes are logged with the request id and
//! never sent. Rejections made by the framework itself (body too large,
//! unknown route, wrong method) are rewritten the same way, so every error a
//! client sees has the same shape.

use axum::Json;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Serialize;
use tabys_core::{Error, FieldError};

use crate::AppState;
use crate::ctx::{CsrfToken, Ctx, request_locale};
use crate::i18n::Tr;
use crate::pages::layout::ErrorPage;

pub fn status(e: &Error) -> StatusCode {
    match e {
        Error::Invalid(fields) => match fields.first().map(|f| f.code) {
            // The body as a whole was refused before any field was read.
            Some("payload-too-large") => StatusCode::PAYLOAD_TOO_LARGE,
            Some("unsupported-media-type") => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            _ => StatusCode::UNPROCESSABLE_ENTITY,
        },
        Error::NotFound => StatusCode::NOT_FOUND,
        Error::Conflict("session-expired") => StatusCode::UNAUTHORIZED,
        Error::Conflict(_) => StatusCode::CONFLICT,
        Error::Unauthorized => StatusCode::UNAUTHORIZED,
        Error::Forbidden => StatusCode::FORBIDDEN,
        Error::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

fn log(e: &Error) {
    if let Error::Internal(cause) = e {
        tracing::error!(%cause, "internal error");
    }
}

/// An error from a page handler; rendered by [`render_page_errors`].
#[derive(Debug)]
pub struct PageError(pub Error);

impl From<Error> for PageError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// Carries the code from the handler to the renderer.
#[derive(Clone, Copy)]
struct PageErrorCode(&'static str);

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        log(&self.0);
        let mut response = status(&self.0).into_response();
        response
            .extensions_mut()
            .insert(PageErrorCode(self.0.code()));
        response
    }
}

/// The JSON body of every API error.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorDetail {
    /// Stable, machine-readable: `email-taken`, `not-found`, …
    pub code: String,
    /// The same in words, in the caller's language.
    pub message: String,
    /// For invalid input, each field's problem.
    #[schema(value_type = Vec<Object>)]
    pub fields: Vec<FieldError>,
}

/// An error from an API handler.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// Marks a JSON error body that still needs its message translated.
#[derive(Clone)]
struct ApiErrorBody(StatusCode, &'static str, Vec<FieldError>);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        log(&self.0);
        let fields = match &self.0 {
            Error::Invalid(f) => f.clone(),
            _ => Vec::new(),
        };
        let status = status(&self.0);
        let mut response = status.into_response();
        response
            .extensions_mut()
            .insert(ApiErrorBody(status, self.0.code(), fields));
        response
    }
}

fn api_body(tr: Tr, status: StatusCode, code: &str, fields: Vec<FieldError>) -> Response {
    let message = if let Some(f) = fields.first() {
        tr.err(f.code)
    } else {
        tr.err(code)
    };
    (
        status,
        Json(ErrorBody {
            error: ErrorDetail {
                code: code.to_string(),
                message,
                fields,
            },
        }),
    )
        .into_response()
}

/// What a bare framework rejection means.
fn framework_code(status: StatusCode) -> Option<&'static str> {
    match status {
        StatusCode::PAYLOAD_TOO_LARGE => Some("payload-too-large"),
        StatusCode::NOT_FOUND => Some("not-found"),
        StatusCode::METHOD_NOT_ALLOWED => Some("method-not-allowed"),
        StatusCode::UNSUPPORTED_MEDIA_TYPE => Some("unsupported-media-type"),
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => Some("bad-request"),
        StatusCode::REQUEST_TIMEOUT => Some("timeout"),
        _ => None,
    }
}

/// Turns error markers into translated pages or JSON.
pub async fn render_page_errors(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let tr = Tr::new(request_locale(req.headers()));
    let is_api = req.uri().path().starts_with("/api/");
    let path_and_query = req
        .uri()
        .path_and_query()
        .map(|p| p.as_str().to_string())
        .unwrap_or_else(|| "/".into());
    let method_is_get = req.method() == axum::http::Method::GET;
    // Kept so the error page's header shows who is signed in: without it a
    // signed-in person meeting a 404 sees "Sign in" and thinks they were
    // signed out.
    // Only what names the person and the language is kept: this runs on
    // every request, and most never meet an error.
    let mut asker = Request::new(());
    for name in [header::COOKIE, header::ACCEPT_LANGUAGE] {
        for value in req.headers().get_all(&name) {
            asker.headers_mut().append(name.clone(), value.clone());
        }
    }
    *asker.uri_mut() = req.uri().clone();
    if let Some(token) = req.extensions().get::<CsrfToken>() {
        asker.extensions_mut().insert(token.clone());
    }
    let response = next.run(req).await;

    if let Some(ApiErrorBody(status, code, fields)) =
        response.extensions().get::<ApiErrorBody>().cloned()
    {
        return api_body(tr, status, code, fields);
    }
    let code = match response.extensions().get::<PageErrorCode>() {
        Some(PageErrorCode(code)) => *code,
        None => {
            // The framework's own rejections (a path segment that does not
            // parse, a body over the limit) are bare or plain text; a body
            // a handler rendered itself is left alone.
            let is_bare = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|v| v.starts_with("text/plain"));
            match framework_code(response.status()) {
                Some(code) if is_bare => code,
                _ => return response,
            }
        }
    };
    let status = response.status();
    if is_api {
        return api_body(tr, status, code, Vec::new());
    }
    if code == "unauthorized" || code == "session-expired" {
        let next = if method_is_get {
            path_and_query
        } else {
            "/cabinet".to_string()
        };
        let expired = if code == "session-expired" {
            "&expired=1"
        } else {
            ""
        };
        return Redirect::to(&format!("/login?next={}{expired}", urlencode(&next))).into_response();
    }
    let (mut parts, ()) = asker.into_parts();
    let page = match Ctx::from_request_parts(&mut parts, &state).await {
        Ok(ctx) => ErrorPage::for_ctx(&ctx, status.as_u16(), code),
        Err(_) => ErrorPage::new(tr, status.as_u16(), code),
    };
    (status, Html(page.render_html())).into_response()
}

pub fn urlencode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|q| q.trim_start_matches('=').to_string())
        .unwrap_or_default()
}
