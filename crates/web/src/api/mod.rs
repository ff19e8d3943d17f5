//! The JSON API under `/api/v1`. Same rules as the pages: a caller is a
//! browser session (state-changing calls carry `X-CSRF-Token`) or an API
//! token bound to one organizer. Every route is annotated for OpenAPI and
//! the router is built from those annotations, so the document served at
//! `/api/v1/openapi.json` cannot drift from the code.

mod billing;
mod docs;
mod offers;
mod orgs;

use axum::Json;
use axum::Router;
use axum::routing::get;
use serde::Serialize;
use tabys_accounts::members::{self, Membership};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::ctx::Caller;
use crate::error::{ApiError, ErrorBody};

#[derive(OpenApi)]
#[openapi(
    info(title = "Tabys API", version = "1", description = "Organizers, staff and the rest of Tabys over JSON. Errors always have the shape `{\"error\": {\"code\", \"message\", \"fields\"}}`; `code` is stable."),
    servers((url = "/api/v1", description = "Every path below is relative to this prefix.")),
    modifiers(&Security),
    components(schemas(ErrorBody))
)]
struct ApiDoc;

struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some("An API token issued by an organizer (`tabys_…`)."))
                    .build(),
            ),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description("sid", "The browser session; state-changing calls also send the `csrf` cookie's value in `X-CSRF-Token`."))),
        );
    }
}

/// The API's routes and its OpenAPI document, built together.
pub fn openapi_router() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(me))
        .merge(orgs::router())
        .merge(offers::router())
        .merge(billing::router())
        .split_for_parts()
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    openapi_router().1
}

pub fn router() -> Router<AppState> {
    let (router, doc) = openapi_router();
    let json = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    let html = docs::render(&doc);
    router
        .route(
            "/openapi.json",
            get(move || {
                let json = json.clone();
                async move {
                    (
                        [(axum::http::header::CONTENT_TYPE, "application/json")],
                        json,
                    )
                }
            }),
        )
        .route(
            "/docs",
            get(move || {
                let html = html.clone();
                async move { axum::response::Html(html) }
            }),
        )
        .fallback(|| async { ApiError(tabys_core::Error::NotFound) })
}

#[derive(Serialize, ToSchema)]
struct Me {
    id: i64,
    email: String,
    name: String,
    locale: String,
    is_operator: bool,
    /// The organizers this person holds a role in (for a token: only its own).
    memberships: Vec<Membership>,
}

/// Who am I?
#[utoipa::path(get, path = "/me", tag = "accounts",
    responses((status = 200, body = Me), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn me(
    axum::extract::State(state): axum::extract::State<AppState>,
    caller: Caller,
) -> Result<Json<Me>, ApiError> {
    let user = caller.user();
    let memberships = members::memberships(&state.db, user.id)
        .await?
        .into_iter()
        .filter(|m| caller.may_reach(m.org_id))
        .collect();
    Ok(Json(Me {
        id: user.id.0,
        email: user.email.clone(),
        name: user.name.clone(),
        locale: user.locale.code().into(),
        is_operator: user.is_operator,
        memberships,
    }))
}
