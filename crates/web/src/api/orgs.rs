//! Organizers, their staff and audit trail over JSON.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Deserialize;
use tabys_accounts::members::{self, Member, Membership, NewStaff, Role};
use tabys_accounts::organizers::{self, Organizer, ProfileInput};
use tabys_core::Error;
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_store::audit;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::ctx::{ApiJson, ApiTr, Caller};
use crate::error::{ApiError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orgs, create_org))
        .routes(routes!(get_org, update_org))
        .routes(routes!(list_staff, add_staff))
        .routes(routes!(remove_staff))
        .routes(routes!(org_audit))
}

/// The caller's role in an organizer it may reach, if it is staff there.
async fn staff(state: &AppState, caller: &Caller, org: OrgId) -> Result<Role, ApiError> {
    if !caller.may_reach(org) {
        return Err(ApiError(Error::NotFound));
    }
    Ok(members::staff_access(&state.db, caller.user().id, org).await?)
}

fn must(role: Role, allowed: fn(Role) -> bool) -> Result<(), ApiError> {
    if allowed(role) {
        Ok(())
    } else {
        Err(ApiError(Error::Forbidden))
    }
}

/// The organizers the caller holds a role in.
#[utoipa::path(get, path = "/orgs", tag = "organizers",
    responses((status = 200, body = Vec<Membership>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_orgs(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Membership>>, ApiError> {
    let list = members::memberships(&state.db, caller.user().id)
        .await?
        .into_iter()
        .filter(|m| caller.may_reach(m.org_id))
        .collect();
    Ok(Json(list))
}

/// Creates an organizer; the caller becomes its owner. Not available to API tokens.
#[utoipa::path(post, path = "/orgs", tag = "organizers", request_body = ProfileInput,
    responses((status = 201, body = Organizer), (status = 422, body = ErrorBody), (status = 401, body = ErrorBody)),
    security(("session" = [])))]
async fn create_org(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<(StatusCode, Json<Organizer>), ApiError> {
    let Caller::Session { user } = &caller else {
        return Err(ApiError(Error::Forbidden));
    };
    let org = organizers::create(&state.db, user.id, input.parse()?).await?;
    crate::pages::billing::welcome_organizer(&state, &org, &user.email).await;
    Ok((StatusCode::CREATED, Json(org)))
}

/// One organizer's profile.
#[utoipa::path(get, path = "/orgs/{org}", tag = "organizers",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Organizer), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn get_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Organizer>, ApiError> {
    staff(&state, &caller, OrgId(org)).await?;
    Ok(Json(organizers::get(&state.db, OrgId(org)).await?))
}

/// Replaces the organizer's profile; every changed field is recorded in the audit chain.
#[utoipa::path(put, path = "/orgs/{org}", tag = "organizers", request_body = ProfileInput,
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Organizer), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn update_org(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
    ApiJson(input): ApiJson<ProfileInput>,
) -> Result<Json<Organizer>, ApiError> {
    must(
        staff(&state, &caller, OrgId(org)).await?,
        Role::edits_profile,
    )?;
    let profile = input.parse()?;
    Ok(Json(
        organizers::update(&state.db, OrgId(org), caller.user().id, profile).await?,
    ))
}

/// Staff logins of the organizer.
#[utoipa::path(get, path = "/orgs/{org}/staff", tag = "organizers",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Vec<Member>), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Vec<Member>>, ApiError> {
    staff(&state, &caller, OrgId(org)).await?;
    Ok(Json(members::staff(&state.db, OrgId(org)).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct NewStaffBody {
    email: String,
    #[serde(default)]
    name: String,
    /// manager, curator or support
    role: String,
    /// The first password, for a person who has no account yet.
    #[serde(default)]
    password: String,
}

/// Adds a staff login (owner only).
#[utoipa::path(post, path = "/orgs/{org}/staff", tag = "organizers", request_body = NewStaffBody,
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 201, body = Member), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn add_staff(
    State(state): State<AppState>,
    caller: Caller,
    ApiTr(tr): ApiTr,
    Path(org): Path<i64>,
    ApiJson(body): ApiJson<NewStaffBody>,
) -> Result<(StatusCode, Json<Member>), ApiError> {
    must(
        staff(&state, &caller, OrgId(org)).await?,
        Role::manages_staff,
    )?;
    let email = Email::parse(&body.email).map_err(|e| e.on("email"))?;
    let role = Role::parse(&body.role)
        .filter(|r| Role::STAFF.contains(r))
        .ok_or(Error::invalid("role", "role-unknown"))?;
    let new = NewStaff {
        email,
        name: body.name,
        role,
        password: body.password,
        locale: tr.locale,
    };
    let member = members::add_staff(&state.db, OrgId(org), caller.user().id, new).await?;
    Ok((StatusCode::CREATED, Json(member)))
}

/// Removes a staff login (owner only); the owner cannot be removed.
#[utoipa::path(delete, path = "/orgs/{org}/staff/{user}", tag = "organizers",
    params(("org" = i64, Path, description = "Organizer id"), ("user" = i64, Path, description = "Person id")),
    responses((status = 204), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn remove_staff(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, user)): Path<(i64, i64)>,
) -> Result<StatusCode, ApiError> {
    must(
        staff(&state, &caller, OrgId(org)).await?,
        Role::manages_staff,
    )?;
    members::remove_staff(&state.db, OrgId(org), caller.user().id, UserId(user)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The organizer's newest audit entries (owner and managers).
#[utoipa::path(get, path = "/orgs/{org}/audit", tag = "organizers",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Vec<Object>), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn org_audit(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Vec<audit::Record>>, ApiError> {
    must(
        staff(&state, &caller, OrgId(org)).await?,
        Role::edits_profile,
    )?;
    Ok(Json(audit::recent(&state.db, Some(OrgId(org)), 200).await?))
}
