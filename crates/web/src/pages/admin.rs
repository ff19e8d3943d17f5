//! The operator's console: alerts raised by people, every organizer, jobs
//! that gave up, and messages that could not be delivered.

use askama::Template;
use axum::Router;
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use tabys_accounts::alerts::{self, Alert};
use tabys_accounts::organizers::{self, Organizer};
use tabys_notify::deliveries::{self, Delivery};
use tabys_store::jobs::{self, JobStatus};

use super::layout::Layout;
use super::render;
use crate::AppState;
use crate::ctx::Ctx;
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new().route("/admin", get(console))
}

#[derive(Template)]
#[template(path = "admin/index.html")]
struct Console {
    l: Layout,
    alerts: Vec<Alert>,
    organizers: Vec<Organizer>,
    jobs: Vec<JobStatus>,
    troubled: Vec<Delivery>,
}

async fn console(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    ctx.operator()?;
    render(&Console {
        l: Layout::new(&ctx),
        alerts: alerts::list(&state.db, 50).await?,
        organizers: organizers::all(&state.db).await?,
        jobs: jobs::failed(&state.db, 50).await?,
        troubled: deliveries::troubled(&state.db, None, 50).await?,
    })
}
