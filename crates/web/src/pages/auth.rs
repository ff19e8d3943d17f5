//! The front door: home, sign-up, sign-in, sign-out and the language switch.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;
use tabys_accounts::organizers::{self, Organizer};
use tabys_accounts::sessions;
use tabys_accounts::users::{self, NewUser};
use tabys_core::email::Email;
use tabys_core::locale::Locale;
use tabys_core::{Error, FieldError};
use tabys_offers::acceptance::{self, Presented};
use tabys_offers::signup::{self as offer_signup, SignUp};
use tabys_offers::{Publisher, Version};

use super::layout::{FormErrors, Layout};
use super::offers::{Boxes, boxes};
use super::{render, safe_next, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx, LANG_COOKIE, SESSION_COOKIE, set_cookie};
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/signup", get(signup_page).post(signup))
        .route("/login", get(login_page).post(login))
        .route("/logout", axum::routing::post(logout))
        .route("/lang/{code}", get(switch_language))
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    l: Layout,
}

async fn home(ctx: Ctx) -> Result<Response, PageError> {
    render(&Home {
        l: Layout::new(&ctx),
    })
}

#[derive(Debug, Default, Deserialize)]
pub struct SignupForm {
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    /// The slug of the organizer the person signs up with, if any.
    #[serde(default)]
    org: String,
    /// The "I am an adult" box, present only when ticked.
    adult: Option<String>,
    next: Option<String>,
    /// The offer versions the form showed (`id:hash,…`).
    #[serde(default)]
    offers: String,
    /// The unticked offers box, present only when ticked.
    accept: Option<String>,
    /// The personal-data consent box, present only when ticked.
    consent: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/signup.html")]
struct Signup {
    l: Layout,
    form: SignupForm,
    org: Option<Organizer>,
    boxes: Boxes,
    errors: FormErrors,
}

/// The sign-up offers of the platform and the organizer, as boxes to tick.
async fn signup_boxes(
    state: &AppState,
    ctx: &Ctx,
    org: Option<&Organizer>,
) -> Result<(Vec<Version>, Boxes), Error> {
    let versions: Vec<Version> = acceptance::for_signup(&state.db, org.map(|o| o.id))
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let mut consent_to = vec![Publisher::Platform];
    consent_to.extend(org.map(|o| Publisher::Org(o.id)));
    let b = boxes(state, &ctx.tr, &versions, &consent_to).await?;
    Ok((versions, b))
}

#[derive(Deserialize)]
struct SignupQuery {
    org: Option<String>,
    next: Option<String>,
}

async fn signup_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SignupQuery>,
) -> Result<Response, PageError> {
    let org = match q.org.as_deref() {
        Some(slug) => Some(organizers::by_slug(&state.db, slug).await?),
        None => None,
    };
    let form = SignupForm {
        org: org
            .as_ref()
            .map(|o| o.profile.slug.clone())
            .unwrap_or_default(),
        next: q.next,
        ..SignupForm::default()
    };
    let (_, boxes) = signup_boxes(&state, &ctx, org.as_ref()).await?;
    render(&Signup {
        l: Layout::new(&ctx),
        form,
        org,
        boxes,
        errors: FormErrors::default(),
    })
}

async fn signup(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<SignupForm>,
) -> Result<Response, PageError> {
    let org = if form.org.is_empty() {
        None
    } else {
        Some(organizers::by_slug(&state.db, &form.org).await?)
    };
    match create_account(&state, &ctx, &form, org.as_ref()).await {
        Ok(token) => {
            let next = match (&form.next, &org) {
                (Some(n), _) => safe_next(Some(n)),
                (None, Some(o)) => format!("/o/{}", o.profile.slug),
                (None, None) => "/cabinet".into(),
            };
            let mut response = see_other(&next);
            let secure = state.config.secure_cookies;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &token,
                    sessions::IDLE_DAYS * 86_400,
                    true,
                    secure,
                ),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(LANG_COOKIE, ctx.tr.lang(), 365 * 86_400, false, secure),
            );
            Ok(response)
        }
        Err(Error::Invalid(fields)) => {
            let (_, boxes) = signup_boxes(&state, &ctx, org.as_ref()).await?;
            let page = Signup {
                l: Layout::new(&ctx),
                errors: FormErrors::new(ctx.tr, fields),
                form: SignupForm {
                    password: String::new(),
                    accept: None,
                    consent: None,
                    ..form
                },
                org,
                boxes,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn create_account(
    state: &AppState,
    ctx: &Ctx,
    form: &SignupForm,
    org: Option<&Organizer>,
) -> Result<String, Error> {
    let mut errors = Vec::new();
    let email = Email::parse(&form.email)
        .map_err(|e| {
            errors.push(FieldError {
                field: "email",
                code: e.code,
            })
        })
        .ok();
    if let Err(Error::Invalid(mut f)) = users::parse_name(&form.name, "name") {
        errors.append(&mut f);
    }
    if let Err(Error::Invalid(mut f)) =
        tabys_accounts::password::check_new(&form.password, "password")
    {
        errors.append(&mut f);
    }
    let adult = form.adult.is_some();
    if org.is_some_and(|o| o.profile.requires_adult) && !adult {
        errors.push(FieldError {
            field: "adult",
            code: "adult-required",
        });
    }
    let presented = Presented::parse_list(&form.offers)?;
    // The form showed offers: both boxes must be ticked (checked again, with
    // the versions themselves, in the sign-up transaction).
    if !presented.is_empty() {
        if form.accept.is_none() {
            errors.push(FieldError {
                field: "accept",
                code: "offer-acceptance-required",
            });
        }
        if form.consent.is_none() {
            errors.push(FieldError {
                field: "consent",
                code: "consent-required",
            });
        }
    }
    let Some(email) = email.filter(|_| errors.is_empty()) else {
        return Err(Error::Invalid(errors));
    };
    let (_, shown) = signup_boxes(state, ctx, org).await?;
    let new = NewUser {
        email,
        name: form.name.clone(),
        password: form.password.clone(),
        locale: ctx.tr.locale,
        adult_confirmed: adult,
    };
    let (_, token) = offer_signup::sign_up(
        &state.db,
        SignUp {
            user: new,
            org: org.map(|o| o.id),
            presented,
            accepted: form.accept.is_some(),
            consent: form.consent.is_some(),
            evidence: tabys_offers::Evidence {
                origin: ctx.origin.clone(),
                locale: Some(ctx.tr.locale),
                wording: shown.label,
            },
        },
    )
    .await?;
    Ok(token)
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    email: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Template)]
#[template(path = "auth/login.html")]
struct Login {
    l: Layout,
    form: LoginForm,
    expired: bool,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

async fn login_page(ctx: Ctx, Query(q): Query<LoginQuery>) -> Result<Response, PageError> {
    let page = Login {
        l: Layout::new(&ctx),
        form: LoginForm {
            next: q.next,
            ..LoginForm::default()
        },
        expired: q.expired.is_some() || ctx.session_expired,
        errors: FormErrors::default(),
    };
    render(&page)
}

async fn login(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<LoginForm>,
) -> Result<Response, PageError> {
    let attempt = match Email::parse(&form.email) {
        Ok(email) => sessions::login(&state.db, &email, &form.password, &ctx.origin).await,
        Err(e) => Err(e.on("email")),
    };
    let (status, fields) = match attempt {
        Ok((user, token)) => {
            let mut next = safe_next(form.next.as_deref());
            // Offers accepted by first login are shown before anything else.
            if !acceptance::first_login_pending(&state.db, user.id)
                .await?
                .is_empty()
            {
                next = format!("/cabinet/accept?next={}", crate::error::urlencode(&next));
            }
            let mut response = see_other(&next);
            let secure = state.config.secure_cookies;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(
                    SESSION_COOKIE,
                    &token,
                    sessions::IDLE_DAYS * 86_400,
                    true,
                    secure,
                ),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(LANG_COOKIE, user.locale.code(), 365 * 86_400, false, secure),
            );
            return Ok(response);
        }
        Err(Error::Invalid(fields)) => (StatusCode::UNPROCESSABLE_ENTITY, fields),
        Err(Error::RateLimited) => (
            StatusCode::TOO_MANY_REQUESTS,
            vec![FieldError {
                field: "form",
                code: "rate-limited",
            }],
        ),
        Err(Error::Conflict(code)) => (
            StatusCode::CONFLICT,
            vec![FieldError {
                field: "form",
                code,
            }],
        ),
        Err(e) => return Err(PageError(e)),
    };
    let page = Login {
        l: Layout::new(&ctx),
        errors: FormErrors::new(ctx.tr, fields),
        form: LoginForm {
            password: String::new(),
            ..form
        },
        expired: false,
    };
    Ok((status, render(&page)?).into_response())
}

#[derive(Deserialize)]
struct Empty {}

async fn logout(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    if let Some(session) = &ctx.session {
        sessions::close(&state.db, &session.id).await?;
    }
    let mut response = see_other("/");
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(SESSION_COOKIE, "", 0, true, state.config.secure_cookies),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

/// Switches the language: remembered in a cookie, and on the account when signed in.
async fn switch_language(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(code): Path<String>,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    let locale = Locale::parse(&code).ok_or(PageError(Error::NotFound))?;
    if let Some(user) = &ctx.user {
        users::set_locale(&state.db, user.id, locale).await?;
    }
    let next = match q.next.as_deref() {
        Some(n) if n.starts_with('/') => safe_next(Some(n)),
        _ => "/".into(),
    };
    let mut response = see_other(&next);
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(
            LANG_COOKIE,
            locale.code(),
            365 * 86_400,
            false,
            state.config.secure_cookies,
        ),
    );
    Ok(response)
}
