//! What every page shares: the translator, the signed-in person for the
//! header, the CSRF token for forms, and field errors for re-shown forms.

use askama::Template;
use tabys_core::FieldError;

use crate::ctx::Ctx;
use crate::i18n::Tr;

/// The header and footer's data.
pub struct Layout {
    pub t: Tr,
    pub csrf: String,
    pub user_name: Option<String>,
    pub is_operator: bool,
    pub path: String,
    /// Unread notifications, shown beside the cabinet link.
    pub unread: i64,
}

impl Layout {
    pub fn new(ctx: &Ctx) -> Self {
        Self {
            t: ctx.tr,
            csrf: ctx.csrf.clone(),
            user_name: ctx.user.as_ref().map(|u| u.name.clone()),
            is_operator: ctx.user.as_ref().is_some_and(|u| u.is_operator),
            path: ctx.path.clone(),
            unread: ctx.unread,
        }
    }

    /// The last segment of the path: which tab of a section is open.
    pub fn tab(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or_default()
    }

    pub fn is_tab(&self, segment: &str) -> bool {
        self.tab() == segment
    }

    /// Where the language links send the person back to.
    pub fn next(&self) -> String {
        crate::error::urlencode(&self.path)
    }
}

/// Field errors of a form being shown again, already translated.
#[derive(Default)]
pub struct FormErrors {
    t: Option<Tr>,
    fields: Vec<FieldError>,
}

impl FormErrors {
    pub fn new(t: Tr, fields: Vec<FieldError>) -> Self {
        Self { t: Some(t), fields }
    }

    /// The message for one field, if it has a problem.
    pub fn get(&self, field: &str) -> Option<String> {
        let t = self.t?;
        self.fields
            .iter()
            .find(|e| e.field == field)
            .map(|e| t.err(e.code))
    }

    /// Messages for problems not tied to a shown field.
    pub fn general(&self, shown: &[&str]) -> Vec<String> {
        let Some(t) = self.t else { return Vec::new() };
        self.fields
            .iter()
            .filter(|e| !shown.contains(&e.field))
            .map(|e| t.err(e.code))
            .collect()
    }

    pub fn any(&self) -> bool {
        !self.fields.is_empty()
    }
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub l: Layout,
    pub status: u16,
    pub message: String,
}

impl ErrorPage {
    pub fn new(t: Tr, status: u16, code: &str) -> Self {
        Self {
            l: Layout {
                t,
                csrf: String::new(),
                user_name: None,
                is_operator: false,
                path: "/".into(),
                unread: 0,
            },
            status,
            message: t.err(code),
        }
    }

    /// The same page with the header of the person who asked.
    pub fn for_ctx(ctx: &Ctx, status: u16, code: &str) -> Self {
        // The language links lead home, not back to the page that failed.
        let l = Layout {
            path: "/".into(),
            ..Layout::new(ctx)
        };
        Self {
            message: ctx.tr.err(code),
            l,
            status,
        }
    }

    pub fn render_html(&self) -> String {
        self.render().unwrap_or_else(|e| {
            tracing::error!(error = %e, "error page failed to render");
            self.message.clone()
        })
    }
}
