//! The one error type of Tabys. Every variant carries a stable code; pages
//! translate it through the locale key `err-<code>`, the JSON API returns it
//! as is. Internal causes are logged by the web layer and never sent.

use std::fmt;

/// A value that failed to parse; `code` is stable and translatable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid {
    pub code: &'static str,
}

impl Invalid {
    pub const fn new(code: &'static str) -> Self {
        Self { code }
    }

    /// Names the form field this value came from.
    pub fn on(self, field: &'static str) -> Error {
        Error::invalid(field, self.code)
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl std::error::Error for Invalid {}

/// One field's problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    pub field: &'static str,
    pub code: &'static str,
}

#[derive(Debug)]
pub enum Error {
    /// Input was wrong; nothing was changed.
    Invalid(Vec<FieldError>),
    /// The thing does not exist, or belongs to an organizer the caller cannot see.
    NotFound,
    /// The request contradicts the current state (duplicate, already done, limit reached).
    Conflict(&'static str),
    /// Not signed in, or the session expired.
    Unauthorized,
    /// Signed in, but this role may not do this.
    Forbidden,
    /// Too many attempts; try later.
    RateLimited,
    /// Something broke inside; the text is logged, never shown.
    Internal(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn invalid(field: &'static str, code: &'static str) -> Self {
        Self::Invalid(vec![FieldError { field, code }])
    }

    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The stable code: the JSON API's `error.code` and the locale key suffix.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Invalid(fields) => fields.first().map_or("invalid", |f| f.code),
            Self::NotFound => "not-found",
            Self::Conflict(code) => code,
            Self::Unauthorized => "unauthorized",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate-limited",
            Self::Internal(_) => "internal",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Internal(cause) => write!(f, "internal error: {cause}"),
            Self::Invalid(fields) => {
                let list: Vec<String> = fields
                    .iter()
                    .map(|e| format!("{}: {}", e.field, e.code))
                    .collect();
                write!(f, "invalid input ({})", list.join(", "))
            }
            other => f.write_str(other.code()),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(feature = "db")]
impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::RowNotFound => Self::NotFound,
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict("duplicate"),
            _ => Self::Internal(e.to_string()),
        }
    }
}
