//! What a handler knows about the request before it starts: the language,
//! the person signed in (if any), and the CSRF token; plus the extractors
//! that check a form's CSRF token and turn a bad body into a clear error.
//!
//! CSRF: every visitor gets a random `csrf` cookie (SameSite=Lax); every
//! state-changing form carries the same value in a hidden field, and API
//! calls authenticated by the session cookie carry it in `X-CSRF-Token`. A
//! cross-site page can make the browser send the cookie but cannot read it,
//! so it cannot fill in the field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq;
use tabys_accounts::sessions::{self, Origin, Session};
use tabys_accounts::users::User;
use tabys_core::Error;
use tabys_core::locale::Locale;
use tabys_store::token::random_token;

use crate::AppState;
use crate::error::{ApiError, PageError};
use crate::i18n::Tr;

pub const SESSION_COOKIE: &str = "sid";
pub const CSRF_COOKIE: &str = "csrf";
pub const LANG_COOKIE: &str = "lang";
pub const CSRF_HEADER: &str = "x-csrf-token";

/// A cookie's value from the request.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

/// A `Set-Cookie` value. `max_age` of 0 deletes the cookie.
pub fn set_cookie(
    name: &str,
    value: &str,
    max_age_seconds: i64,
    http_only: bool,
    secure: bool,
) -> HeaderValue {
    let mut c = format!("{name}={value}; Path=/; Max-Age={max_age_seconds}; SameSite=Lax");
    if http_only {
        c.push_str("; HttpOnly");
    }
    if secure {
        c.push_str("; Secure");
    }
    HeaderValue::from_str(&c).unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// The language: the `lang` cookie, else the browser's `Accept-Language`, else Russian.
pub fn request_locale(headers: &HeaderMap) -> Locale {
    cookie(headers, LANG_COOKIE)
        .and_then(Locale::parse)
        .or_else(|| {
            headers
                .get(header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok())
                .and_then(Locale::from_accept_language)
        })
        .unwrap_or(Locale::Ru)
}

/// The CSRF token of this visitor, put into the request by [`csrf_cookie`].
#[derive(Clone)]
pub struct CsrfToken(pub String);

/// Gives every visitor a CSRF cookie.
pub async fn csrf_cookie(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let existing = cookie(req.headers(), CSRF_COOKIE)
        .filter(|t| t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string);
    let (token, fresh) = match existing {
        Some(t) => (t, false),
        None => (random_token(), true),
    };
    req.extensions_mut().insert(CsrfToken(token.clone()));
    let mut response = next.run(req).await;
    if fresh {
        let value = set_cookie(
            CSRF_COOKIE,
            &token,
            365 * 86_400,
            false,
            state.config.secure_cookies,
        );
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

pub fn origin(headers: &HeaderMap) -> Origin {
    let ip = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|s| s.trim().to_string())
        .or_else(|| {
            headers
                .get("x-real-ip")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_else(|| "local".into());
    let user_agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    Origin { ip, user_agent }
}

/// The request as a page handler sees it.
pub struct Ctx {
    pub tr: Tr,
    pub csrf: String,
    pub user: Option<User>,
    pub session: Option<Session>,
    /// The session cookie named a session that has expired.
    pub session_expired: bool,
    pub path: String,
    pub origin: Origin,
    /// Unread in-app notifications of the signed-in person, for the header.
    pub unread: i64,
}

impl Ctx {
    /// The signed-in person, or the error that sends them to sign in.
    pub fn user(&self) -> Result<&User, Error> {
        match &self.user {
            Some(u) => Ok(u),
            None if self.session_expired => Err(Error::Conflict("session-expired")),
            None => Err(Error::Unauthorized),
        }
    }

    /// The signed-in operator.
    pub fn operator(&self) -> Result<&User, Error> {
        let user = self.user()?;
        if user.is_operator {
            Ok(user)
        } else {
            Err(Error::NotFound)
        }
    }
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = PageError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let mut locale = request_locale(&parts.headers);
        let mut user = None;
        let mut session = None;
        let mut session_expired = false;
        if let Some(token) = cookie(&parts.headers, SESSION_COOKIE) {
            match sessions::resolve(&state.db, token).await {
                Ok((s, u)) => {
                    if cookie(&parts.headers, LANG_COOKIE).is_none() {
                        locale = u.locale;
                    }
                    session = Some(s);
                    user = Some(u);
                }
                Err(Error::Conflict("session-expired")) => session_expired = true,
                Err(Error::Unauthorized | Error::NotFound) => {}
                Err(e) => return Err(PageError(e)),
            }
        }
        let unread = match &user {
            Some(u) => tabys_notify::unread(&state.db, u.id).await?,
            None => 0,
        };
        let csrf = parts
            .extensions
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        Ok(Self {
            tr: Tr::new(locale),
            csrf,
            user,
            session,
            session_expired,
            path: parts.uri.path().to_string(),
            origin: origin(&parts.headers),
            unread,
        })
    }
}

impl Ctx {
    /// Whether `given` is this visitor's CSRF token.
    pub fn csrf_matches(&self, given: &str) -> bool {
        csrf_matches(&self.csrf, given)
    }
}

fn csrf_matches(expected: &str, given: &str) -> bool {
    !expected.is_empty() && expected.as_bytes().ct_eq(given.as_bytes()).into()
}

/// A urlencoded form whose `csrf` field matched the visitor's cookie.
/// Anything wrong with the body is a clear error, never a half-parsed form.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for CsrfForm<T> {
    type Rejection = PageError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let is_form = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
        let expected = req
            .extensions()
            .get::<CsrfToken>()
            .map(|t| t.0.clone())
            .unwrap_or_default();
        if !is_form {
            return Err(PageError(Error::invalid("form", "unsupported-media-type")));
        }
        let bytes = Bytes::from_request(req, state)
            .await
            .map_err(|_| PageError(Error::invalid("form", "payload-too-large")))?;
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(&bytes)
            .map_err(|_| PageError(Error::invalid("form", "bad-request")))?;
        let given = pairs
            .iter()
            .find(|(k, _)| k == "csrf")
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        if !csrf_matches(&expected, given) {
            return Err(PageError(Error::invalid("csrf", "csrf")));
        }
        serde_urlencoded::from_bytes(&bytes)
            .map(CsrfForm)
            .map_err(|_| PageError(Error::invalid("form", "bad-request")))
    }
}

/// Who is calling the API.
pub enum Caller {
    /// A browser session; state-changing calls carried the CSRF header.
    Session { user: User },
    /// An API token: acts as its issuer, only inside its organizer.
    Token {
        user: User,
        org: tabys_core::ids::OrgId,
    },
}

impl Caller {
    pub fn user(&self) -> &User {
        match self {
            Self::Session { user } | Self::Token { user, .. } => user,
        }
    }

    /// A token may only reach the organizer it was issued for.
    pub fn may_reach(&self, org: tabys_core::ids::OrgId) -> bool {
        match self {
            Self::Session { .. } => true,
            Self::Token { org: own, .. } => *own == org,
        }
    }
}

/// The language of an API caller: `Accept-Language`, else the cookie, else Russian.
pub struct ApiTr(pub Tr);

impl FromRequestParts<AppState> for ApiTr {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> Result<Self, Self::Rejection> {
        Ok(Self(Tr::new(request_locale(&parts.headers))))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
            let secret = auth
                .to_str()
                .ok()
                .and_then(|v| v.strip_prefix("Bearer "))
                .ok_or(ApiError(Error::Unauthorized))?;
            let (user, org, _) = tabys_accounts::tokens::resolve(&state.db, secret.trim()).await?;
            return Ok(Self::Token { user, org });
        }
        let token = cookie(&parts.headers, SESSION_COOKIE).ok_or(ApiError(Error::Unauthorized))?;
        let (_, user) = sessions::resolve(&state.db, token).await?;
        if !parts.method.is_safe() {
            let expected = cookie(&parts.headers, CSRF_COOKIE).unwrap_or_default();
            let given = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !csrf_matches(expected, given) {
                return Err(ApiError(Error::invalid("csrf", "csrf")));
            }
        }
        Ok(Self::Session { user })
    }
}

/// A JSON body; a wrong content type or malformed JSON is a clear API error.
pub struct ApiJson<T>(pub T);

impl<T: DeserializeOwned> FromRequest<AppState> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Self(v)),
            Err(rejection) => {
                use axum::extract::rejection::JsonRejection as R;
                let code = match rejection {
                    R::MissingJsonContentType(_) => "unsupported-media-type",
                    R::BytesRejection(_) => "payload-too-large",
                    _ => "bad-request",
                };
                Err(ApiError(Error::invalid("body", code)))
            }
        }
    }
}
