//! Coworking and events pages (EX-1..EX-5). The operator's side: resources,
//! events with ticket types and attendees, check-in at the door from a
//! phone, the occupancy calendar, the bookings list with its CSV export,
//! and community moderation. The member's side: the coworking's resources
//! with free hours, booking, event registration, the community feed, the
//! bookings in the cabinet with cancellation and refund preview, the
//! ticket's QR code, and calendar files.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jiff::civil::Date;
use serde::Deserialize;
use tabys_accounts::members::{self, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_billing::orders::ShownOffer;
use tabys_billing::products;
use tabys_billing::refund::Preview;
use tabys_bookings::bookings::{self, Booking, BookingRequest, Filter, HourUse};
use tabys_bookings::community::{self, Blocked, Post};
use tabys_bookings::events::{self, Event, EventInput, Ticket, TicketType};
use tabys_bookings::ical;
use tabys_bookings::resources::{self, Resource, ResourceInput};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, calendar};

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;
use crate::i18n::Tr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}/bookings", get(org_home).post(create_resource))
        .route(
            "/org/{org}/bookings/resources/{resource}",
            get(edit_resource).post(update_resource),
        )
        .route(
            "/org/{org}/bookings/resources/{resource}/status",
            post(resource_status),
        )
        .route("/org/{org}/bookings/events", post(create_event))
        .route("/org/{org}/bookings/events/{event}", get(org_event))
        .route(
            "/org/{org}/bookings/events/{event}/ticket-types",
            post(add_ticket_type),
        )
        .route(
            "/org/{org}/bookings/events/{event}/check-in",
            get(check_in_page).post(check_in),
        )
        .route("/org/{org}/bookings/calendar", get(occupancy))
        .route("/org/{org}/bookings/list", get(org_list))
        .route("/org/{org}/bookings/export.csv", get(org_csv))
        .route("/org/{org}/community", get(moderation))
        .route(
            "/org/{org}/community/posts/{post}/remove",
            post(remove_post),
        )
        .route("/org/{org}/community/block", post(block_member))
        .route("/org/{org}/community/unblock/{user}", post(unblock_member))
        .route("/o/{slug}/bookings", get(public_home))
        .route(
            "/o/{slug}/bookings/resources/{resource}",
            get(public_resource),
        )
        .route("/o/{slug}/bookings/resources/{resource}/book", post(book))
        .route("/o/{slug}/events/{event}", get(public_event))
        .route("/o/{slug}/events/{event}/register", post(register))
        .route("/o/{slug}/community", get(feed).post(publish))
        .route("/o/{slug}/community/{post}/comment", post(comment))
        .route("/o/{slug}/community/{post}/report", post(report))
        .route("/cabinet/bookings", get(cabinet))
        .route("/cabinet/bookings/calendar-link", post(calendar_link))
        .route("/cabinet/bookings/{booking}", get(booking_page))
        .route("/cabinet/bookings/{booking}/cancel", post(cancel_booking))
        .route("/cabinet/bookings/{booking}/ics", get(booking_ics))
        .route("/cabinet/tickets/{ticket}", get(ticket_page))
        .route("/cabinet/tickets/{ticket}/cancel", post(cancel_ticket))
        .route("/cabinet/tickets/{ticket}/qr.svg", get(ticket_qr))
        .route("/calendar/{token}", get(calendar_feed))
}

/// The sections of the operator's bookings area: (path segment, locale key).
pub const ORG_TABS: [(&str, &str); 4] = [
    ("bookings", "bookings-tab-resources"),
    ("calendar", "bookings-tab-calendar"),
    ("list", "bookings-tab-list"),
    ("community", "bookings-tab-community"),
];

async fn staff(state: &AppState, ctx: &Ctx, org: i64) -> Result<(UserId, Role), PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, OrgId(org)).await?;
    Ok((user.id, role))
}

/// Shows a form again with its errors, or passes any other error on.
fn invalid(e: Error, tr: Tr) -> Result<FormErrors, PageError> {
    match e {
        Error::Invalid(fields) => Ok(FormErrors::new(tr, fields)),
        Error::Conflict(code) => Ok(FormErrors::new(
            tr,
            vec![tabys_core::FieldError {
                field: "form",
                code,
            }],
        )),
        other => Err(PageError(other)),
    }
}

fn shown(ctx: &Ctx) -> ShownOffer {
    ShownOffer {
        ip: ctx.origin.ip.clone(),
        user_agent: ctx.origin.user_agent.clone(),
        locale: ctx.tr.lang().to_string(),
        wording: ctx.tr.t("bookings-book-accepts"),
    }
}

fn today(state: &AppState) -> Date {
    calendar::business_date(state.db.now())
}

fn parse_date(raw: Option<&str>, fallback: Date) -> Date {
    raw.and_then(|s| s.trim().parse().ok()).unwrap_or(fallback)
}

fn host(state: &AppState) -> String {
    let url = state.billing.public_url.trim_end_matches('/');
    url.split("://")
        .nth(1)
        .unwrap_or(url)
        .split('/')
        .next()
        .unwrap_or("tabys")
        .to_string()
}

// ---------------------------------------------------------------- operator

#[derive(Template)]
#[template(path = "bookings/org.html")]
struct OrgHome {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    resources: Vec<Resource>,
    events: Vec<Event>,
    memberships: Vec<(i64, String)>,
    images: Vec<(i64, String)>,
    form: ResourceInput,
    event_form: EventInput,
    errors: FormErrors,
    event_errors: FormErrors,
    kinds: &'static [&'static str],
}

/// The organizer's pictures a resource's photo is picked from (uploaded in the file library).
async fn images(state: &AppState, org: OrgId) -> Result<Vec<(i64, String)>, Error> {
    Ok(tabys_files::list(&state.db, org, 500)
        .await?
        .into_iter()
        .filter(|f| f.is_image())
        .map(|f| (f.id, f.name))
        .collect())
}

/// A link to a resource's photo for the signed-in visitor (files are served
/// only through links signed for one person).
async fn photo_url(state: &AppState, ctx: &Ctx, r: &Resource) -> Result<Option<String>, Error> {
    let (Some(id), Some(user)) = (r.photo_file_id, ctx.user.as_ref()) else {
        return Ok(None);
    };
    let file = tabys_files::get(&state.db, r.org_id, id).await?;
    let token = state.files.sign(
        file.id,
        user.id,
        state.db.now().plus_seconds(PHOTO_LINK_SECONDS),
    );
    Ok(Some(format!("/files/{token}")))
}

/// How long a photo's link stays valid.
const PHOTO_LINK_SECONDS: i64 = 3600;

async fn memberships(state: &AppState, org: OrgId) -> Result<Vec<(i64, String)>, Error> {
    Ok(products::list(&state.db, org, true)
        .await?
        .into_iter()
        .filter(|p| p.recurring_months.is_some())
        .map(|p| (p.id, p.title))
        .collect())
}

#[allow(clippy::too_many_arguments)]
async fn org_home_view(
    state: &AppState,
    ctx: &Ctx,
    org: i64,
    form: ResourceInput,
    errors: FormErrors,
    event_form: EventInput,
    event_errors: FormErrors,
) -> Result<Response, PageError> {
    let id = OrgId(org);
    render(&OrgHome {
        l: Layout::new(ctx),
        org,
        tabs: &ORG_TABS,
        resources: resources::list(&state.db, id, false).await?,
        events: events::list(&state.db, id, false).await?,
        memberships: memberships(state, id).await?,
        images: images(state, id).await?,
        form,
        event_form,
        errors,
        event_errors,
        kinds: &resources::KINDS,
    })
}

fn blank_resource() -> ResourceInput {
    ResourceInput {
        kind: "meeting-room".into(),
        open_hour: "9".into(),
        close_hour: "21".into(),
        closed_weekdays: "7".into(),
        use_holidays: Some("1".into()),
        ..ResourceInput::default()
    }
}

fn blank_event() -> EventInput {
    EventInput {
        hours: "2".into(),
        capacity: "30".into(),
        ..EventInput::default()
    }
}

async fn org_home(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    org_home_view(
        &state,
        &ctx,
        org,
        blank_resource(),
        FormErrors::default(),
        blank_event(),
        FormErrors::default(),
    )
    .await
}

async fn create_resource(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<ResourceInput>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    let outcome = async {
        let new = form.parse()?;
        resources::create(&state.db, OrgId(org), user, new).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(see_other(&format!("/org/{org}/bookings"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            org_home_view(
                &state,
                &ctx,
                org,
                form,
                errors,
                blank_event(),
                FormErrors::default(),
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "bookings/resource_edit.html")]
struct EditResource {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    resource: Resource,
    memberships: Vec<(i64, String)>,
    images: Vec<(i64, String)>,
    photo: Option<String>,
    form: ResourceInput,
    errors: FormErrors,
    kinds: &'static [&'static str],
}

async fn edit_view(
    state: &AppState,
    ctx: &Ctx,
    org: i64,
    resource: Resource,
    form: ResourceInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    render(&EditResource {
        l: Layout::new(ctx),
        org,
        tabs: &ORG_TABS,
        memberships: memberships(state, OrgId(org)).await?,
        images: images(state, OrgId(org)).await?,
        photo: photo_url(state, ctx, &resource).await?,
        resource,
        form,
        errors,
        kinds: &resources::KINDS,
    })
}

async fn edit_resource(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    let r = resources::get(&state.db, OrgId(org), id).await?;
    let form = r.input();
    edit_view(&state, &ctx, org, r, form, FormErrors::default()).await
}

async fn update_resource(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ResourceInput>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    let r = resources::get(&state.db, OrgId(org), id).await?;
    let outcome = async {
        let new = form.parse()?;
        resources::update(&state.db, OrgId(org), user, id, new).await
    }
    .await;
    match outcome {
        Ok(_) => Ok(see_other(&format!("/org/{org}/bookings/resources/{id}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            edit_view(&state, &ctx, org, r, form, errors).await
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    active: Option<String>,
}

async fn resource_status(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<StatusForm>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    resources::set_status(&state.db, OrgId(org), user, id, form.active.is_some()).await?;
    Ok(see_other(&format!("/org/{org}/bookings")))
}

async fn create_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<EventInput>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    let outcome = async {
        let new = form.parse(state.db.now())?;
        events::create(&state.db, OrgId(org), user, new).await
    }
    .await;
    match outcome {
        Ok(e) => Ok(see_other(&format!("/org/{org}/bookings/events/{}", e.id))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            org_home_view(
                &state,
                &ctx,
                org,
                blank_resource(),
                FormErrors::default(),
                form,
                errors,
            )
            .await
        }
    }
}

#[derive(Template)]
#[template(path = "bookings/event_org.html")]
struct OrgEvent {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    event: Event,
    types: Vec<TicketType>,
    tickets: Vec<Ticket>,
    errors: FormErrors,
}

async fn org_event_view(
    state: &AppState,
    ctx: &Ctx,
    org: i64,
    id: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let event = events::get(&state.db, OrgId(org), id).await?;
    render(&OrgEvent {
        l: Layout::new(ctx),
        org,
        tabs: &ORG_TABS,
        types: events::ticket_types(&state.db, event.id).await?,
        tickets: events::attendees(&state.db, OrgId(org), event.id).await?,
        event,
        errors,
    })
}

async fn org_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    org_event_view(&state, &ctx, org, id, FormErrors::default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TicketTypeForm {
    title: String,
    price: String,
}

async fn add_ticket_type(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TicketTypeForm>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    match events::add_ticket_type(&state.db, OrgId(org), user, id, &form.title, &form.price).await {
        Ok(_) => Ok(see_other(&format!("/org/{org}/bookings/events/{id}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            org_event_view(&state, &ctx, org, id, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "bookings/checkin.html")]
struct CheckIn {
    l: Layout,
    org: i64,
    event: Event,
    code: String,
    ticket: Option<Ticket>,
    done: Option<Ticket>,
    errors: FormErrors,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CodeForm {
    code: String,
}

/// The page staff open on a phone at the door: by scanning a ticket's QR
/// code (which carries this page's address with the code) or by typing the
/// code. It shows whose ticket it is; the button checks them in.
async fn check_in_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    Query(q): Query<CodeForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    let event = events::get(&state.db, OrgId(org), id).await?;
    let code = q.code.trim().to_string();
    let ticket = if code.is_empty() {
        None
    } else {
        events::attendees(&state.db, OrgId(org), event.id)
            .await?
            .into_iter()
            .find(|t| t.code == code)
    };
    let errors = if !code.is_empty() && ticket.is_none() {
        FormErrors::new(
            ctx.tr,
            vec![tabys_core::FieldError {
                field: "form",
                code: "checkin-other-event",
            }],
        )
    } else {
        FormErrors::default()
    };
    render(&CheckIn {
        l: Layout::new(&ctx),
        org,
        event,
        code,
        ticket,
        done: None,
        errors,
    })
}

async fn check_in(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<CodeForm>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    let event = events::get(&state.db, OrgId(org), id).await?;
    let (done, errors) = match events::check_in(&state.db, OrgId(org), user, id, &form.code).await {
        Ok(t) => (Some(t), FormErrors::default()),
        Err(e) => (None, invalid(e, ctx.tr)?),
    };
    render(&CheckIn {
        l: Layout::new(&ctx),
        org,
        event,
        code: String::new(),
        ticket: None,
        done,
        errors,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DateQuery {
    date: String,
}

/// One resource's day in the occupancy calendar.
struct DayRow {
    resource: Resource,
    hours: Vec<HourUse>,
    bookings: Vec<Booking>,
}

#[derive(Template)]
#[template(path = "bookings/calendar.html")]
struct Occupancy {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    date: String,
    prev: String,
    next: String,
    rows: Vec<DayRow>,
}

async fn occupancy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    Query(q): Query<DateQuery>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    let date = parse_date(Some(&q.date), today(&state));
    let mut rows = Vec::new();
    for r in resources::list(&state.db, OrgId(org), false).await? {
        rows.push(DayRow {
            hours: bookings::day_use(&state.db, &r, date).await?,
            bookings: bookings::of_resource_on(&state.db, &r, date).await?,
            resource: r,
        });
    }
    render(&Occupancy {
        l: Layout::new(&ctx),
        org,
        tabs: &ORG_TABS,
        date: date.to_string(),
        prev: date.yesterday().unwrap_or(date).to_string(),
        next: date.tomorrow().unwrap_or(date).to_string(),
        rows,
    })
}

#[derive(Template)]
#[template(path = "bookings/list.html")]
struct OrgList {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    resources: Vec<Resource>,
    filter: Filter,
    query: String,
    list: Vec<Booking>,
    errors: FormErrors,
    statuses: &'static [&'static str],
}

fn filter_query(f: &Filter) -> String {
    serde_urlencoded::to_string([
        ("status", f.status.as_str()),
        ("resource", f.resource.as_str()),
        ("from", f.from.as_str()),
        ("to", f.to.as_str()),
    ])
    .unwrap_or_default()
}

async fn org_list(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    let (list, errors) = match bookings::of_org(&state.db, OrgId(org), &filter).await {
        Ok(list) => (list, FormErrors::default()),
        Err(e) => (Vec::new(), invalid(e, ctx.tr)?),
    };
    render(&OrgList {
        l: Layout::new(&ctx),
        org,
        tabs: &ORG_TABS,
        resources: resources::list(&state.db, OrgId(org), false).await?,
        query: filter_query(&filter),
        filter,
        list,
        errors,
        statuses: &["held", "confirmed", "cancelled", "expired"],
    })
}

async fn org_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    Query(filter): Query<Filter>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    let list = bookings::of_org(&state.db, OrgId(org), &filter).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"bookings-{org}.csv\""),
            ),
        ],
        bookings::csv(&list),
    )
        .into_response())
}

#[derive(Template)]
#[template(path = "bookings/moderation.html")]
struct Moderation {
    l: Layout,
    org: i64,
    tabs: &'static [(&'static str, &'static str)],
    posts: Vec<Post>,
    blocked: Vec<Blocked>,
    errors: FormErrors,
}

async fn moderation_view(
    state: &AppState,
    ctx: &Ctx,
    org: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    render(&Moderation {
        l: Layout::new(ctx),
        org,
        tabs: &ORG_TABS,
        posts: community::feed(&state.db, OrgId(org), true).await?,
        blocked: community::blocked(&state.db, OrgId(org)).await?,
        errors,
    })
}

async fn moderation(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, org).await?;
    moderation_view(&state, &ctx, org, FormErrors::default()).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReasonForm {
    reason: String,
    user: String,
}

async fn remove_post(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, post)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, PageError> {
    let (user, _) = staff(&state, &ctx, org).await?;
    match community::remove(&state.db, OrgId(org), user, post, &form.reason).await {
        Ok(()) => Ok(see_other(&format!("/org/{org}/community"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            moderation_view(&state, &ctx, org, errors).await
        }
    }
}

async fn block_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<ReasonForm>,
) -> Result<Response, PageError> {
    let (staff_id, _) = staff(&state, &ctx, org).await?;
    let outcome = async {
        let user: i64 = form
            .user
            .trim()
            .parse()
            .map_err(|_| Error::invalid("user", "number-range"))?;
        community::block(&state.db, OrgId(org), staff_id, UserId(user), &form.reason).await
    }
    .await;
    match outcome {
        Ok(()) => Ok(see_other(&format!("/org/{org}/community"))),
        Err(e) => {
            let errors = match e {
                Error::NotFound => FormErrors::new(
                    ctx.tr,
                    vec![tabys_core::FieldError {
                        field: "form",
                        code: "not-found",
                    }],
                ),
                other => invalid(other, ctx.tr)?,
            };
            moderation_view(&state, &ctx, org, errors).await
        }
    }
}

async fn unblock_member(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, user)): Path<(i64, i64)>,
    CsrfForm(_form): CsrfForm<ReasonForm>,
) -> Result<Response, PageError> {
    let (staff_id, _) = staff(&state, &ctx, org).await?;
    community::unblock(&state.db, OrgId(org), staff_id, UserId(user)).await?;
    Ok(see_other(&format!("/org/{org}/community")))
}

// ---------------------------------------------------------------- member

#[derive(Template)]
#[template(path = "bookings/public.html")]
struct PublicHome {
    l: Layout,
    org: Organizer,
    /// Each resource with its photo's link for the visitor.
    resources: Vec<(Resource, Option<String>)>,
    events: Vec<Event>,
}

async fn public_home(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    let mut list = Vec::new();
    for r in resources::list(&state.db, org.id, true).await? {
        let photo = photo_url(&state, &ctx, &r).await?;
        list.push((r, photo));
    }
    render(&PublicHome {
        l: Layout::new(&ctx),
        resources: list,
        events: events::list(&state.db, org.id, true).await?,
        org,
    })
}

#[derive(Template)]
#[template(path = "bookings/resource.html")]
struct PublicResource {
    l: Layout,
    org: Organizer,
    resource: Resource,
    photo: Option<String>,
    date: String,
    prev: String,
    next: String,
    closed: bool,
    hours: Vec<HourUse>,
    form: BookingRequest,
    errors: FormErrors,
}

async fn resource_view(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    id: i64,
    form: BookingRequest,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, slug).await?;
    let resource = resources::get(&state.db, org.id, id).await?;
    if !resource.is_active() {
        return Err(PageError(Error::NotFound));
    }
    let date = parse_date(Some(&form.date), today(state));
    render(&PublicResource {
        l: Layout::new(ctx),
        closed: resource.is_closed(date),
        hours: bookings::day_use(&state.db, &resource, date).await?,
        prev: date.yesterday().unwrap_or(date).to_string(),
        next: date.tomorrow().unwrap_or(date).to_string(),
        date: date.to_string(),
        photo: photo_url(state, ctx, &resource).await?,
        org,
        resource,
        form,
        errors,
    })
}

async fn public_resource(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
    Query(q): Query<DateQuery>,
) -> Result<Response, PageError> {
    let form = BookingRequest {
        date: q.date,
        unit: "hour".into(),
        hours: "1".into(),
        ..BookingRequest::default()
    };
    resource_view(&state, &ctx, &slug, id, form, FormErrors::default()).await
}

async fn book(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
    CsrfForm(form): CsrfForm<BookingRequest>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let org = organizers::by_slug(&state.db, &slug).await?;
    match bookings::book(&state.db, org.id, user.id, id, &form, &shown(&ctx)).await {
        Ok(b) => match (b.status.as_str(), b.order_id) {
            ("held", Some(order)) => Ok(see_other(&format!("/cabinet/orders/{order}"))),
            _ => Ok(see_other(&format!("/cabinet/bookings/{}", b.id))),
        },
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            resource_view(&state, &ctx, &slug, id, form, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "bookings/event.html")]
struct PublicEvent {
    l: Layout,
    org: Organizer,
    event: Event,
    types: Vec<TicketType>,
    /// Each question with what was typed in reply.
    qa: Vec<(String, String)>,
    errors: FormErrors,
}

async fn event_view(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    id: i64,
    answers: Vec<String>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, slug).await?;
    let event = events::get(&state.db, org.id, id).await?;
    let qa = event
        .questions
        .iter()
        .enumerate()
        .map(|(i, q)| (q.clone(), answers.get(i).cloned().unwrap_or_default()))
        .collect();
    render(&PublicEvent {
        l: Layout::new(ctx),
        types: events::ticket_types(&state.db, event.id).await?,
        org,
        event,
        qa,
        errors,
    })
}

async fn public_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    event_view(&state, &ctx, &slug, id, Vec::new(), FormErrors::default()).await
}

/// The registration form: the ticket type and `answer_0`, `answer_1`, … in
/// the order of the event's questions.
async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
    CsrfForm(form): CsrfForm<Vec<(String, String)>>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let org = organizers::by_slug(&state.db, &slug).await?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let answers: Vec<String> = (0..10).map(|i| field(&format!("answer_{i}"))).collect();
    let outcome = async {
        let ty: i64 = field("ticket_type")
            .trim()
            .parse()
            .map_err(|_| Error::invalid("ticket_type", "event-ticket-type"))?;
        events::register(&state.db, org.id, user.id, id, ty, &answers, &shown(&ctx)).await
    }
    .await;
    match outcome {
        Ok(t) => match (t.status.as_str(), t.order_id) {
            ("held", Some(order)) => Ok(see_other(&format!("/cabinet/orders/{order}"))),
            _ => Ok(see_other(&format!("/cabinet/tickets/{}", t.id))),
        },
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            event_view(&state, &ctx, &slug, id, answers, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "bookings/community.html")]
struct Feed {
    l: Layout,
    org: Organizer,
    posts: Vec<Post>,
    blocked: bool,
    errors: FormErrors,
}

/// The feed is for the organizer's members (customers and staff); anyone
/// else is sent to the organizer's page to join first.
async fn member_of(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
) -> Result<Result<(Organizer, UserId), Response>, PageError> {
    let user = ctx.user()?;
    let org = organizers::by_slug(&state.db, slug).await?;
    match members::access(&state.db, user.id, org.id).await {
        Ok(_) => Ok(Ok((org, user.id))),
        Err(Error::NotFound) => Ok(Err(see_other(&format!("/o/{slug}")))),
        Err(e) => Err(PageError(e)),
    }
}

async fn feed_view(
    state: &AppState,
    ctx: &Ctx,
    org: Organizer,
    user: UserId,
    errors: FormErrors,
) -> Result<Response, PageError> {
    render(&Feed {
        l: Layout::new(ctx),
        posts: community::feed(&state.db, org.id, false).await?,
        blocked: community::is_blocked(&state.db, org.id, user).await?,
        org,
        errors,
    })
}

async fn feed(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    match member_of(&state, &ctx, &slug).await? {
        Ok((org, user)) => feed_view(&state, &ctx, org, user, FormErrors::default()).await,
        Err(redirect) => Ok(redirect),
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct BodyForm {
    body: String,
    reason: String,
}

async fn publish(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
    CsrfForm(form): CsrfForm<BodyForm>,
) -> Result<Response, PageError> {
    let (org, user) = match member_of(&state, &ctx, &slug).await? {
        Ok(x) => x,
        Err(redirect) => return Ok(redirect),
    };
    match community::publish(&state.db, org.id, user, &form.body).await {
        Ok(_) => Ok(see_other(&format!("/o/{slug}/community"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            feed_view(&state, &ctx, org, user, errors).await
        }
    }
}

async fn comment(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, post)): Path<(String, i64)>,
    CsrfForm(form): CsrfForm<BodyForm>,
) -> Result<Response, PageError> {
    let (org, user) = match member_of(&state, &ctx, &slug).await? {
        Ok(x) => x,
        Err(redirect) => return Ok(redirect),
    };
    match community::comment(&state.db, org.id, user, post, &form.body).await {
        Ok(_) => Ok(see_other(&format!("/o/{slug}/community#post-{post}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            feed_view(&state, &ctx, org, user, errors).await
        }
    }
}

async fn report(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, post)): Path<(String, i64)>,
    CsrfForm(form): CsrfForm<BodyForm>,
) -> Result<Response, PageError> {
    let (org, user) = match member_of(&state, &ctx, &slug).await? {
        Ok(x) => x,
        Err(redirect) => return Ok(redirect),
    };
    match community::report(&state.db, org.id, user, post, &form.reason).await {
        Ok(()) => Ok(see_other(&format!("/o/{slug}/community#post-{post}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            feed_view(&state, &ctx, org, user, errors).await
        }
    }
}

// ---------------------------------------------------------------- cabinet

#[derive(Template)]
#[template(path = "bookings/cabinet.html")]
struct Cabinet {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    bookings: Vec<Booking>,
    tickets: Vec<Ticket>,
    has_feed: bool,
    feed_url: Option<String>,
}

async fn cabinet_view(
    state: &AppState,
    ctx: &Ctx,
    feed_url: Option<String>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    // Bring held bookings and tickets up to date with their orders.
    for b in bookings::of_user(&state.db, user.id).await? {
        if b.status == "held" || (b.status == "confirmed" && b.order_id.is_some()) {
            bookings::settle(&state.db, b.id).await?;
        }
    }
    for t in events::tickets_of_user(&state.db, user.id).await? {
        if t.status == "held" || (t.status == "confirmed" && t.order_id.is_some()) {
            events::settle_ticket(&state.db, t.id).await?;
        }
    }
    render(&Cabinet {
        l: Layout::new(ctx),
        sections: &super::cabinet::SECTIONS,
        bookings: bookings::of_user(&state.db, user.id).await?,
        tickets: events::tickets_of_user(&state.db, user.id).await?,
        has_feed: ical::has_feed(&state.db, user.id).await?,
        feed_url,
    })
}

async fn cabinet(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    cabinet_view(&state, &ctx, None).await
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Empty {}

/// A new secret link to the member's calendar feed, shown once.
async fn calendar_link(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_form): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let token = ical::new_feed_token(&state.db, user.id).await?;
    let url = format!(
        "{}/calendar/{token}.ics",
        state.billing.public_url.trim_end_matches('/')
    );
    cabinet_view(&state, &ctx, Some(url)).await
}

#[derive(Template)]
#[template(path = "bookings/booking.html")]
struct BookingPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    booking: Booking,
    preview: Preview,
    now: i64,
    errors: FormErrors,
}

async fn booking_view(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    bookings::get_own(&state.db, user.id, id).await?;
    let booking = bookings::settle(&state.db, id).await?;
    render(&BookingPage {
        l: Layout::new(ctx),
        sections: &super::cabinet::SECTIONS,
        preview: bookings::cancel_preview(&state.db, user.id, &booking).await?,
        now: state.db.now().0,
        booking,
        errors,
    })
}

async fn booking_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    booking_view(&state, &ctx, id, FormErrors::default()).await
}

async fn cancel_booking(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    CsrfForm(_form): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    match bookings::cancel(&state.db, user.id, id).await {
        Ok(_) => {
            super::billing::send_payouts_now(&state).await;
            Ok(see_other(&format!("/cabinet/bookings/{id}")))
        }
        Err(Error::NotFound) => Err(PageError(Error::NotFound)),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            booking_view(&state, &ctx, id, errors).await
        }
    }
}

fn ics(body: String, name: &str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                "text/calendar; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.ics\""),
            ),
        ],
        body,
    )
        .into_response()
}

async fn booking_ics(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let b = bookings::get_own(&state.db, user.id, id).await?;
    let entry = ical::booking_entry(&b, &host(&state));
    Ok(ics(
        ical::calendar(&b.org_name, &[entry], state.db.now()),
        &format!("booking-{id}"),
    ))
}

async fn calendar_feed(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let token = token.strip_suffix(".ics").unwrap_or(&token);
    let user = ical::feed_owner(&state.db, token).await?;
    let entries = ical::member_entries(&state.db, user, &host(&state)).await?;
    Ok(ics(
        ical::calendar("Tabys", &entries, state.db.now()),
        "tabys",
    ))
}

#[derive(Template)]
#[template(path = "bookings/ticket.html")]
struct TicketPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    ticket: Ticket,
    preview: Preview,
    /// What the QR code carries: the staff's check-in page with the code.
    checkin_url: String,
    errors: FormErrors,
}

async fn ticket_view(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    events::ticket_own(&state.db, user.id, id).await?;
    let ticket = events::settle_ticket(&state.db, id).await?;
    render(&TicketPage {
        l: Layout::new(ctx),
        sections: &super::cabinet::SECTIONS,
        preview: events::cancel_preview(&state.db, user.id, &ticket).await?,
        checkin_url: checkin_url(state, &ticket),
        ticket,
        errors,
    })
}

async fn ticket_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    ticket_view(&state, &ctx, id, FormErrors::default()).await
}

async fn cancel_ticket(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    CsrfForm(_form): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    match events::cancel_ticket(&state.db, user.id, id).await {
        Ok(_) => {
            super::billing::send_payouts_now(&state).await;
            Ok(see_other(&format!("/cabinet/tickets/{id}")))
        }
        Err(Error::NotFound) => Err(PageError(Error::NotFound)),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            ticket_view(&state, &ctx, id, errors).await
        }
    }
}

/// The staff's check-in page for this ticket, as its QR code carries it.
fn checkin_url(state: &AppState, t: &Ticket) -> String {
    format!(
        "{}/org/{}/bookings/events/{}/check-in?code={}",
        state.billing.public_url.trim_end_matches('/'),
        t.org_id,
        t.event_id,
        t.code
    )
}

/// The ticket's QR code as SVG: the check-in page's address with the code,
/// so staff scanning it with any phone camera land on the check-in page.
async fn ticket_qr(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let t = events::ticket_own(&state.db, user.id, id).await?;
    let code = qrcode::QrCode::new(checkin_url(&state, &t).as_bytes()).map_err(Error::internal)?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    Ok((
        [
            (header::CONTENT_TYPE, "image/svg+xml"),
            (header::CACHE_CONTROL, "private, no-store"),
        ],
        svg,
    )
        .into_response())
}
