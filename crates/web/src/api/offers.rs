//! Offers over JSON: an organizer's offers and their versions, publishing
//! a version, and the caller's own acceptances.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use tabys_accounts::members::{self, Role};
use tabys_core::Error;
use tabys_core::ids::OrgId;
use tabys_offers::version::{self, VersionInput};
use tabys_offers::{Acceptance, Offer, Publisher, Version, acceptance, offer};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::ctx::{ApiJson, Caller};
use crate::error::{ApiError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_offers))
        .routes(routes!(publish_version))
        .routes(routes!(my_acceptances))
}

#[derive(Serialize, ToSchema)]
struct OfferWithVersions {
    #[serde(flatten)]
    offer: Offer,
    /// Newest first.
    versions: Vec<Version>,
}

async fn role(state: &AppState, caller: &Caller, org: OrgId) -> Result<Role, ApiError> {
    if !caller.may_reach(org) {
        return Err(ApiError(Error::NotFound));
    }
    Ok(members::access(&state.db, caller.user().id, org).await?)
}

/// The organizer's offers with every published version (any role in the organizer).
#[utoipa::path(get, path = "/orgs/{org}/offers", tag = "offers",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Vec<OfferWithVersions>), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_offers(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Vec<OfferWithVersions>>, ApiError> {
    role(&state, &caller, OrgId(org)).await?;
    let publisher = Publisher::Org(OrgId(org));
    let mut out = Vec::new();
    for o in offer::list(&state.db, publisher).await? {
        let versions = version::list(&state.db, publisher, o.id).await?;
        out.push(OfferWithVersions { offer: o, versions });
    }
    Ok(Json(out))
}

/// Publishes the offer's next version (owner and managers). Refused when a
/// Russian or Kazakh text is empty, or the effective time is in the past,
/// before the previous version's or inside the offer's notice period.
#[utoipa::path(post, path = "/orgs/{org}/offers/{offer}/versions", tag = "offers", request_body = VersionInput,
    params(("org" = i64, Path, description = "Organizer id"), ("offer" = i64, Path, description = "Offer id")),
    responses((status = 201, body = Version), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn publish_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, offer_id)): Path<(i64, i64)>,
    ApiJson(input): ApiJson<VersionInput>,
) -> Result<(StatusCode, Json<Version>), ApiError> {
    if !role(&state, &caller, OrgId(org)).await?.edits_profile() {
        return Err(ApiError(Error::Forbidden));
    }
    let v = version::publish(
        &state.db,
        Publisher::Org(OrgId(org)),
        offer_id,
        caller.user().id,
        &input,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(v)))
}

/// Every acceptance of the caller, newest first (for a token: only of its organizer's offers).
#[utoipa::path(get, path = "/me/acceptances", tag = "offers",
    responses((status = 200, body = Vec<Acceptance>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn my_acceptances(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Acceptance>>, ApiError> {
    let list = acceptance::of_user(&state.db, caller.user().id)
        .await?
        .into_iter()
        .filter(|a| a.org_id.is_none_or(|o| caller.may_reach(o)))
        .collect();
    Ok(Json(list))
}
