//! The personal cabinet (PL-6): the person's organizers, the sections that
//! capabilities fill (services, balance, orders, documents, notifications,
//! support), security, and creating an organizer.

use askama::Template;
use axum::Router;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Membership};
use tabys_accounts::organizers::{self, LegalForm, ProfileInput};
use tabys_accounts::{alerts, sessions, users};
use tabys_core::Error;

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx, SESSION_COOKIE, set_cookie};
use crate::error::PageError;

/// The cabinet's sections, in menu order: (path segment, locale key).
pub const SECTIONS: [(&str, &str); 7] = [
    ("services", "cabinet-services"),
    ("courses", "learning-my-courses"),
    ("balance", "cabinet-balance"),
    ("orders", "cabinet-orders"),
    ("documents", "cabinet-documents"),
    ("notifications", "cabinet-notifications"),
    ("support", "cabinet-support"),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/cabinet", get(overview))
        .route("/cabinet/security", get(security))
        .route("/cabinet/password", post(change_password))
        .route("/cabinet/compromised", post(report_compromise))
        .route("/cabinet/{section}", get(section))
        .route(
            "/organizers/new",
            get(new_organizer_page).post(create_organizer),
        )
}

#[derive(Template)]
#[template(path = "cabinet/index.html")]
struct Overview {
    l: Layout,
    memberships: Vec<Membership>,
    sections: &'static [(&'static str, &'static str)],
}

async fn overview(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    if let Some(redirect) = super::offers::before_cabinet(&state, &ctx).await? {
        return Ok(redirect);
    }
    let memberships = members::memberships(&state.db, user.id).await?;
    render(&Overview {
        l: Layout::new(&ctx),
        memberships,
        sections: &SECTIONS,
    })
}

#[derive(Template)]
#[template(path = "cabinet/section.html")]
struct Section {
    l: Layout,
    key: &'static str,
    slug: &'static str,
    sections: &'static [(&'static str, &'static str)],
}

async fn section(ctx: Ctx, Path(name): Path<String>) -> Result<Response, PageError> {
    ctx.user()?;
    let (slug, key) = SECTIONS
        .iter()
        .find(|(s, _)| *s == name)
        .copied()
        .ok_or(PageError(Error::NotFound))?;
    render(&Section {
        l: Layout::new(&ctx),
        key,
        slug,
        sections: &SECTIONS,
    })
}

#[derive(Template)]
#[template(path = "cabinet/security.html")]
struct Security {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    sessions: i64,
    done: Option<&'static str>,
    errors: FormErrors,
}

async fn security(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let sessions = sessions::count(&state.db, user.id).await?;
    render(&Security {
        l: Layout::new(&ctx),
        sections: &SECTIONS,
        sessions,
        done: None,
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
}

async fn change_password(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<PasswordForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let keep = ctx.session.as_ref().map(|s| s.id.as_str());
    let outcome = users::change_password(
        &state.db,
        user.id,
        &form.current_password,
        &form.new_password,
        keep,
    )
    .await;
    let (status, done, errors) = match outcome {
        Ok(()) => (
            StatusCode::OK,
            Some("security-password-changed"),
            FormErrors::default(),
        ),
        Err(Error::Invalid(fields)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            FormErrors::new(ctx.tr, fields),
        ),
        Err(e) => return Err(PageError(e)),
    };
    let sessions = sessions::count(&state.db, user.id).await?;
    Ok((
        status,
        render(&Security {
            l: Layout::new(&ctx),
            sections: &SECTIONS,
            sessions,
            done,
            errors,
        })?,
    )
        .into_response())
}

#[derive(Deserialize)]
struct Empty {}

/// "Someone else used my account" (IS 5.2.5): every session ends, this one
/// too, and the operator is alerted.
async fn report_compromise(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    alerts::report_compromise(&state.db, user.id, &ctx.origin.ip).await?;
    let mut response = see_other("/login?compromised=1");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, true, state.config.secure_cookies),
    );
    Ok(response)
}

#[derive(Template)]
#[template(path = "org/new.html")]
pub struct NewOrganizer {
    pub l: Layout,
    pub form: ProfileInput,
    pub errors: FormErrors,
    pub forms: [LegalForm; 4],
    pub action: String,
    pub editing: bool,
}

async fn new_organizer_page(ctx: Ctx) -> Result<Response, PageError> {
    ctx.user()?;
    render(&NewOrganizer {
        l: Layout::new(&ctx),
        form: ProfileInput {
            legal_form: "legal_entity".into(),
            ..ProfileInput::default()
        },
        errors: FormErrors::default(),
        forms: LegalForm::ALL,
        action: "/organizers/new".into(),
        editing: false,
    })
}

async fn create_organizer(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<ProfileInput>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let created = match form.parse() {
        Ok(profile) => organizers::create(&state.db, user.id, profile).await,
        Err(e) => Err(e),
    };
    match created {
        Ok(org) => {
            super::billing::welcome_organizer(&state, &org, &user.email).await;
            Ok(see_other(&format!("/org/{}", org.id)))
        }
        Err(Error::Invalid(fields)) => {
            let page = NewOrganizer {
                l: Layout::new(&ctx),
                form,
                errors: FormErrors::new(ctx.tr, fields),
                forms: LegalForm::ALL,
                action: "/organizers/new".into(),
                editing: false,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}
