//! An organizer's own pages: its dashboard, legal profile, staff logins, API
//! tokens and audit trail; and its public page where customers join. Every
//! handler first asks `members` for the person's role in the organizer
//! named in the path, so one organizer's staff never see another's data.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Member, NewStaff, Role};
use tabys_accounts::organizers::{self, LegalForm, Organizer, ProfileInput};
use tabys_accounts::tokens::{self, ApiToken};
use tabys_core::email::Email;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError};
use tabys_store::audit::{self, Record};

use super::cabinet::NewOrganizer;
use super::layout::{FormErrors, Layout};
use super::offers::{Boxes, boxes, continued_use};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}", get(dashboard))
        .route("/org/{org}/profile", get(profile_page).post(update_profile))
        .route("/org/{org}/staff", get(staff_page).post(add_staff))
        .route("/org/{org}/staff/{user}/remove", post(remove_staff))
        .route("/org/{org}/tokens", get(tokens_page).post(issue_token))
        .route("/org/{org}/tokens/{token}/revoke", post(revoke_token))
        .route("/org/{org}/audit", get(audit_page))
        .route("/o/{slug}", get(public_page))
        .route("/o/{slug}/join", post(join))
}

/// The person's role in the organizer, if they are its staff.
async fn staff_role(state: &AppState, ctx: &Ctx, org: OrgId) -> Result<Role, PageError> {
    let user = ctx.user()?;
    Ok(members::staff_access(&state.db, user.id, org).await?)
}

async fn require(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    allowed: fn(Role) -> bool,
) -> Result<Role, PageError> {
    let role = staff_role(state, ctx, org).await?;
    if allowed(role) {
        Ok(role)
    } else {
        Err(PageError(Error::Forbidden))
    }
}

#[derive(Template)]
#[template(path = "org/dashboard.html")]
struct Dashboard {
    l: Layout,
    org: Organizer,
    role: Role,
}

async fn dashboard(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let role = staff_role(&state, &ctx, OrgId(org)).await?;
    let org = organizers::get(&state.db, OrgId(org)).await?;
    render(&Dashboard {
        l: Layout::new(&ctx),
        org,
        role,
    })
}

async fn profile_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    let current = organizers::get(&state.db, OrgId(org)).await?;
    render(&NewOrganizer {
        l: Layout::new(&ctx),
        form: ProfileInput::from(&current.profile),
        errors: FormErrors::default(),
        forms: LegalForm::ALL,
        action: format!("/org/{org}/profile"),
        editing: true,
    })
}

async fn update_profile(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<ProfileInput>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    let user = ctx.user()?;
    let outcome = match form.parse() {
        Ok(profile) => organizers::update(&state.db, OrgId(org), user.id, profile).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/org/{org}?saved=1"))),
        Err(Error::Invalid(fields)) => {
            let page = NewOrganizer {
                l: Layout::new(&ctx),
                form,
                errors: FormErrors::new(ctx.tr, fields),
                forms: LegalForm::ALL,
                action: format!("/org/{org}/profile"),
                editing: true,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "org/staff.html")]
struct StaffPage {
    l: Layout,
    org: Organizer,
    role: Role,
    staff: Vec<Member>,
    roles: [Role; 3],
    form: StaffForm,
    errors: FormErrors,
}

#[derive(Debug, Default, Deserialize)]
struct StaffForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    password: String,
}

async fn staff_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let role = staff_role(&state, &ctx, OrgId(org)).await?;
    let page = StaffPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        role,
        staff: members::staff(&state.db, OrgId(org)).await?,
        roles: Role::STAFF,
        form: StaffForm {
            role: "manager".into(),
            ..StaffForm::default()
        },
        errors: FormErrors::default(),
    };
    render(&page)
}

async fn add_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<StaffForm>,
) -> Result<Response, PageError> {
    let role = require(&state, &ctx, OrgId(org), Role::manages_staff).await?;
    let user = ctx.user()?;
    let outcome = match parse_staff(&form, &ctx) {
        Ok(new) => members::add_staff(&state.db, OrgId(org), user.id, new).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("/org/{org}/staff"))),
        Err(Error::Invalid(fields)) => {
            let page = StaffPage {
                l: Layout::new(&ctx),
                org: organizers::get(&state.db, OrgId(org)).await?,
                role,
                staff: members::staff(&state.db, OrgId(org)).await?,
                roles: Role::STAFF,
                form: StaffForm {
                    password: String::new(),
                    ..form
                },
                errors: FormErrors::new(ctx.tr, fields),
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

fn parse_staff(form: &StaffForm, ctx: &Ctx) -> Result<NewStaff, Error> {
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|e| {
            errors.push(FieldError {
                field: "email",
                code: e.code,
            })
        })
        .ok();
    let role = Role::parse(&form.role).filter(|r| Role::STAFF.contains(r));
    if role.is_none() {
        errors.push(FieldError {
            field: "role",
            code: "role-unknown",
        });
    }
    match (email, role) {
        (Some(email), Some(role)) if errors.is_empty() => Ok(NewStaff {
            email,
            name: form.name.clone(),
            role,
            password: form.password.clone(),
            locale: ctx.tr.locale,
        }),
        _ => Err(Error::Invalid(errors)),
    }
}

#[derive(Deserialize)]
struct Empty {}

async fn remove_staff(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, user)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::manages_staff).await?;
    let actor = ctx.user()?;
    members::remove_staff(&state.db, OrgId(org), actor.id, UserId(user)).await?;
    Ok(see_other(&format!("/org/{org}/staff")))
}

#[derive(Template)]
#[template(path = "org/tokens.html")]
struct TokensPage {
    l: Layout,
    org: Organizer,
    tokens: Vec<ApiToken>,
    secret: Option<String>,
    errors: FormErrors,
}

async fn tokens_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    render(&TokensPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        tokens: tokens::list(&state.db, OrgId(org)).await?,
        secret: None,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn issue_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<TokenForm>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    let user = ctx.user()?;
    let (status, secret, errors) =
        match tokens::issue(&state.db, OrgId(org), user.id, &form.name).await {
            Ok((_, secret)) => (StatusCode::OK, Some(secret), FormErrors::default()),
            Err(Error::Invalid(fields)) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                None,
                FormErrors::new(ctx.tr, fields),
            ),
            Err(e) => return Err(PageError(e)),
        };
    let page = TokensPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        tokens: tokens::list(&state.db, OrgId(org)).await?,
        secret,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

async fn revoke_token(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, token)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    let user = ctx.user()?;
    tokens::revoke(&state.db, OrgId(org), user.id, token).await?;
    Ok(see_other(&format!("/org/{org}/tokens")))
}

#[derive(Template)]
#[template(path = "org/audit.html")]
struct AuditPage {
    l: Layout,
    org: Organizer,
    entries: Vec<Record>,
}

async fn audit_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    require(&state, &ctx, OrgId(org), Role::edits_profile).await?;
    render(&AuditPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        entries: audit::recent(&state.db, Some(OrgId(org)), 200).await?,
    })
}

#[derive(Template)]
#[template(path = "org/public.html")]
struct PublicPage {
    l: Layout,
    org: Organizer,
    role: Option<Role>,
    boxes: Boxes,
    errors: FormErrors,
}

/// The organizer's own sign-up offers, for a signed-in person joining it.
async fn join_boxes(state: &AppState, ctx: &Ctx, org: &Organizer) -> Result<Boxes, Error> {
    let versions = tabys_offers::signup::join_offers(&state.db, org.id).await?;
    boxes(
        state,
        &ctx.tr,
        &versions,
        &[tabys_offers::Publisher::Org(org.id)],
    )
    .await
}

async fn public_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    continued_use(&state, &ctx, Some(tabys_offers::Publisher::Org(org.id))).await?;
    let role = match &ctx.user {
        Some(u) => members::access(&state.db, u.id, org.id).await.ok(),
        None => None,
    };
    let boxes = join_boxes(&state, &ctx, &org).await?;
    render(&PublicPage {
        l: Layout::new(&ctx),
        org,
        role,
        boxes,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct JoinForm {
    adult: Option<String>,
    #[serde(default)]
    offers: String,
    accept: Option<String>,
    consent: Option<String>,
}

/// A signed-in person becomes a customer of the organizer.
async fn join(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<JoinForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let org = organizers::by_slug(&state.db, &slug).await?;
    let shown = join_boxes(&state, &ctx, &org).await?;
    let outcome = match tabys_offers::acceptance::Presented::parse_list(&form.offers) {
        Ok(presented) => {
            let join = tabys_offers::signup::Join {
                presented,
                accepted: form.accept.is_some(),
                consent: form.consent.is_some(),
                adult: form.adult.is_some(),
                evidence: tabys_offers::Evidence {
                    origin: ctx.origin.clone(),
                    locale: Some(ctx.tr.locale),
                    wording: shown.label.clone(),
                },
            };
            tabys_offers::signup::join(&state.db, &org, user, join).await
        }
        Err(e) => Err(e),
    };
    match outcome {
        Ok(()) => {}
        Err(Error::Conflict("already-member")) => {}
        Err(Error::Invalid(fields)) => {
            let page = PublicPage {
                l: Layout::new(&ctx),
                role: None,
                boxes: shown,
                errors: FormErrors::new(ctx.tr, fields),
                org,
            };
            return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
        }
        Err(e) => return Err(PageError(e)),
    }
    Ok(see_other(&format!("/o/{slug}")))
}
