//! The HTTP adapter: server-rendered pages, the JSON API under `/api/v1`
//! with its OpenAPI document, health and metrics. Handlers extract, check
//! access, call a capability and render; they hold no business rules and no
//! SQL. Errors become responses in one place (`error`), texts come from the
//! locale files (`i18n`), and every state-changing form is CSRF-checked
//! (`ctx`).

pub mod api;
mod ctx;
mod error;
pub mod files;
pub mod i18n;
mod marked;
mod metrics;
mod pages;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, Request};
use tabys_store::Db;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

pub use metrics::Metrics;

/// Settings the web layer needs.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure` (behind HTTPS).
    pub secure_cookies: bool,
    /// The largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// The largest body of an upload (a route ending in `/upload`), in bytes.
    pub max_upload_bytes: usize,
    /// Memory kept for copies of course PDFs and pictures marked with their
    /// viewer, in bytes.
    pub marked_copies_bytes: u64,
}

impl Default for WebConfig {
    fn default() -> Self {
        Self {
            secure_cookies: false,
            max_body_bytes: 1024 * 1024,
            // A 2 GiB lesson video and the form around it.
            max_upload_bytes: 2049 * 1024 * 1024,
            marked_copies_bytes: 256 * 1024 * 1024,
        }
    }
}

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<WebConfig>,
    pub metrics: Arc<Metrics>,
    /// The money capability's settings and the card gateway's client.
    pub billing: Arc<tabys_billing::BillingConfig>,
    pub gateway: tabys_billing::providers::cloudpayments::Client,
    /// Where uploaded files are kept and the key that signs links to them.
    pub files: tabys_files::Files,
    /// The running webinar sessions of this process.
    pub live: LiveHubs,
    /// Course PDFs and pictures marked with their viewer, kept a while.
    pub marked: Arc<marked::MarkedCopies>,
}

/// The room hubs, fanning out the sockets' own text frames.
pub type LiveHubs = tabys_live::hub::Hubs<axum::extract::ws::Utf8Bytes>;

impl AppState {
    /// With money settings left at their defaults: no card gateway, no Kaspi.
    pub fn new(db: Db, config: WebConfig, files: tabys_files::Files) -> Self {
        let billing = tabys_billing::BillingConfig::default();
        let gateway = tabys_billing::providers::cloudpayments::Client::new(&billing);
        Self {
            live: LiveHubs::new(db.clone(), tabys_live::hub::HubConfig::default()),
            marked: Arc::new(marked::MarkedCopies::new(config.marked_copies_bytes)),
            db,
            config: Arc::new(config),
            metrics: Arc::new(Metrics::default()),
            billing: Arc::new(billing),
            gateway,
            files,
        }
    }

    /// Uses these money settings (providers' addresses and secrets).
    pub fn with_billing(mut self, billing: tabys_billing::BillingConfig) -> Self {
        self.gateway = tabys_billing::providers::cloudpayments::Client::new(&billing);
        self.billing = Arc::new(billing);
        self
    }
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The whole application.
pub fn app(state: AppState) -> Router {
    Router::new()
        .merge(pages::router())
        .nest("/api/v1", api::router())
        .merge(files::router())
        .merge(metrics::router())
        // Inside the error renderer, so that a body over the limit is
        // answered with a translated page or a JSON error.
        .layer(DefaultBodyLimit::disable())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            files::limit_body,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            error::render_page_errors,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ctx::csrf_cookie,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::track,
        ))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
                let id = req
                    .headers()
                    .get(REQUEST_ID)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("-");
                tracing::info_span!("request", id, method = %req.method(), path = %req.uri().path())
            }),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(60),
        ))
        .with_state(state)
}
