//! Notifications and messages (PL-6, PL-7): a person's channel choices,
//! the support chat from both sides (the person's cabinet, an organizer's
//! shared inbox, the operator's), an organizer's mailings and sending
//! settings, and the one-click unsubscribe page of marketing e-mail.
//! Replies may carry an attachment: the page's reply form is a multipart
//! form posted to `…/upload` (the only routes allowed large bodies).

use std::collections::HashMap;

use askama::Template;
use axum::Router;
use axum::extract::{FromRequestParts, Multipart, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Member, Membership};
use tabys_accounts::organizers::{self, Organizer};
use tabys_billing::products::{self, Product};
use tabys_core::Error;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::phone::KzPhone;
use tabys_delivery::mailings::{self, Mailing, MailingInput};
use tabys_notify::category::Category;
use tabys_notify::deliveries::{self, Delivery};
use tabys_notify::prefs::{self, Channels};
use tabys_notify::settings::{self, OrgSettings, SettingsInput, SmsMode};
use tabys_notify::support::{self, Desk, Message, Thread, Viewer};
use tabys_offers::acceptance::Evidence;
use tabys_offers::consent::{self, ConsentKind};
use tabys_offers::offer::Publisher;

use super::cabinet::SECTIONS;
use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx};
use crate::error::PageError;

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/cabinet/notifications/settings",
            get(prefs_page).post(save_prefs),
        )
        .route("/cabinet/support", get(my_threads).post(open_thread))
        .route("/cabinet/support/{thread}", get(show_thread).post(reply))
        .route("/cabinet/support/{thread}/last", get(last))
        .route("/cabinet/support/{thread}/upload", post(upload))
        .route("/cabinet/support/{thread}/files/{message}", get(attachment))
        .route("/org/{org}/support", get(inbox))
        .route("/org/{org}/support/{thread}", get(show_thread).post(reply))
        .route("/org/{org}/support/{thread}/update", post(update))
        .route("/org/{org}/support/{thread}/last", get(last))
        .route("/org/{org}/support/{thread}/upload", post(upload))
        .route(
            "/org/{org}/support/{thread}/files/{message}",
            get(attachment),
        )
        .route("/org/{org}/mailings", get(mailings_page).post(send_mailing))
        .route("/org/{org}/sending", get(sending_page).post(save_sending))
        .route("/admin/support", get(inbox))
        .route("/admin/support/{thread}", get(show_thread).post(reply))
        .route("/admin/support/{thread}/update", post(update))
        .route("/admin/support/{thread}/last", get(last))
        .route("/admin/support/{thread}/upload", post(upload))
        .route("/admin/support/{thread}/files/{message}", get(attachment))
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
}

// ------------------------------------------------------------ preferences

#[derive(Template)]
#[template(path = "notify/prefs.html")]
struct PrefsPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    channels: Vec<Channels>,
    phone: String,
    saved: bool,
    errors: FormErrors,
}

impl PrefsPage {
    fn category(&self, c: &Category) -> String {
        self.l.t.prefixed("prefs-category-", c.code())
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SavedQuery {
    saved: Option<String>,
}

async fn prefs_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    render(&PrefsPage {
        l: Layout::new(&ctx),
        sections: &SECTIONS,
        channels: prefs::channels(&state.db, user.id).await?,
        phone: prefs::phone(&state.db, user.id).await?.unwrap_or_default(),
        saved: q.saved.is_some(),
        errors: FormErrors::default(),
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PrefsForm {
    phone: String,
    events_email: Option<String>,
    events_sms: Option<String>,
    marketing_email: Option<String>,
    marketing_sms: Option<String>,
    service_sms: Option<String>,
}

async fn save_prefs(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<PrefsForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    // The phone is checked before anything is saved: bad input changes nothing.
    let phone = match form.phone.trim() {
        "" => None,
        p => match KzPhone::parse(p) {
            Ok(p) => Some(p),
            Err(e) => {
                let page = PrefsPage {
                    l: Layout::new(&ctx),
                    sections: &SECTIONS,
                    channels: prefs::channels(&state.db, user.id).await?,
                    phone: form.phone.clone(),
                    saved: false,
                    errors: FormErrors::new(
                        ctx.tr,
                        vec![tabys_core::FieldError {
                            field: "phone",
                            code: e.code,
                        }],
                    ),
                };
                return Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response());
            }
        },
    };
    prefs::set_phone(&state.db, user.id, phone.as_ref(), state.db.now()).await?;
    for (category, email, sms) in [
        (Category::Service, true, form.service_sms.is_some()),
        (
            Category::Events,
            form.events_email.is_some(),
            form.events_sms.is_some(),
        ),
        (
            Category::Marketing,
            form.marketing_email.is_some(),
            form.marketing_sms.is_some(),
        ),
    ] {
        prefs::set_channels(
            &state.db,
            user.id,
            Channels {
                category,
                email,
                sms,
            },
        )
        .await?;
    }
    Ok(see_other("/cabinet/notifications/settings?saved=1"))
}

// ------------------------------------------------------------ support: the person's side

#[derive(Template)]
#[template(path = "notify/my_threads.html")]
struct MyThreads {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    threads: Vec<Thread>,
    memberships: Vec<Membership>,
    errors: FormErrors,
    form: OpenForm,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
struct OpenForm {
    /// `org:<id>` (that organizer's support) or `operator:<id>` (Tabys, from that organizer).
    to: String,
    subject: String,
    body: String,
}

impl OpenForm {
    fn desk(&self) -> Result<Desk, Error> {
        let bad = || Error::invalid("to", "required");
        let (kind, id) = self.to.split_once(':').ok_or_else(bad)?;
        let org = OrgId(id.parse().map_err(|_| bad())?);
        match kind {
            "org" => Ok(Desk::Org(org)),
            "operator" => Ok(Desk::Operator { from: org }),
            _ => Err(bad()),
        }
    }
}

async fn my_threads_page(
    state: &AppState,
    ctx: &Ctx,
    form: OpenForm,
    errors: FormErrors,
) -> Result<MyThreads, PageError> {
    let user = ctx.user()?;
    Ok(MyThreads {
        l: Layout::new(ctx),
        sections: &SECTIONS,
        threads: support::of_author(&state.db, user.id).await?,
        memberships: members::memberships(&state.db, user.id).await?,
        errors,
        form,
    })
}

async fn my_threads(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    render(&my_threads_page(&state, &ctx, OpenForm::default(), FormErrors::default()).await?)
}

async fn open_thread(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<OpenForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let opened = match form.desk() {
        Ok(desk) => support::open(&state.db, user.id, desk, &form.subject, &form.body).await,
        Err(e) => Err(e),
    };
    match opened {
        Ok(id) => Ok(see_other(&format!("/cabinet/support/{id}"))),
        Err(Error::Invalid(fields)) => {
            let page = my_threads_page(&state, &ctx, form, FormErrors::new(ctx.tr, fields)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

/// One thread, as either side sees it.
#[derive(Template)]
#[template(path = "notify/thread.html")]
struct ThreadPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    /// The organizer whose inbox this is, for its menu; `None` in the cabinet and for the operator.
    org: Option<Organizer>,
    thread: Thread,
    messages: Vec<Message>,
    /// Where the thread lives: `/cabinet/support/7`, `/org/3/support/7`, `/admin/support/7`.
    base: String,
    staff_view: bool,
    /// People the thread may be assigned to.
    assignees: Vec<(UserId, String)>,
    statuses: [&'static str; 3],
    errors: FormErrors,
}

impl ThreadPage {
    fn last_id(&self) -> i64 {
        self.messages.last().map_or(0, |m| m.id)
    }

    fn is_assignee(&self, u: &UserId) -> bool {
        self.thread.assignee_id == Some(*u)
    }

    fn status_text(&self, s: &str) -> String {
        self.l.t.prefixed("support-status-", s)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct ReplyForm {
    body: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct UpdateForm {
    assignee: String,
    status: String,
}

/// Which desk and viewer a request speaks for.
struct Side {
    viewer: Viewer,
    desk: Option<OrgId>,
    base: String,
    org: Option<Organizer>,
    staff_view: bool,
}

async fn side_of(state: &AppState, ctx: &Ctx, place: Place) -> Result<Side, PageError> {
    let user = ctx.user()?;
    Ok(match place {
        Place::Cabinet => Side {
            viewer: Viewer::Author(user.id),
            desk: None,
            base: "/cabinet/support".into(),
            org: None,
            staff_view: false,
        },
        Place::Org(org) => {
            members::staff_access(&state.db, user.id, org).await?;
            Side {
                viewer: Viewer::Staff(user.id),
                desk: Some(org),
                base: format!("/org/{org}/support"),
                org: Some(organizers::get(&state.db, org).await?),
                staff_view: true,
            }
        }
        Place::Operator => {
            ctx.operator()?;
            Side {
                viewer: Viewer::Staff(user.id),
                desk: None,
                base: "/admin/support".into(),
                org: None,
                staff_view: true,
            }
        }
    })
}

#[derive(Clone, Copy)]
enum Place {
    Cabinet,
    Org(OrgId),
    Operator,
}

/// The side a support route belongs to, read off its path:
/// `/org/{org}/support…` an organizer's inbox, `/admin/support…` the
/// operator's, `/cabinet/support…` the person's own. One set of handlers
/// serves all three sides.
impl<S: Send + Sync> FromRequestParts<S> for Place {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let params = path_numbers(parts, state).await?;
        Ok(match params.get("org") {
            Some(org) => Place::Org(OrgId(*org)),
            None if parts.uri.path().starts_with("/admin/") => Place::Operator,
            None => Place::Cabinet,
        })
    }
}

/// A support thread route as it was reached: its side, and the thread and
/// message it names.
struct At {
    place: Place,
    thread: i64,
    message: Option<i64>,
}

impl<S: Send + Sync> FromRequestParts<S> for At {
    type Rejection = PageError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, PageError> {
        let place = Place::from_request_parts(parts, state).await?;
        let params = path_numbers(parts, state).await?;
        Ok(At {
            place,
            thread: *params.get("thread").ok_or(PageError(Error::NotFound))?,
            message: params.get("message").copied(),
        })
    }
}

/// The route's path parameters, every one a number; anything else is not found.
async fn path_numbers<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, i64>, PageError> {
    let Path(params) = Path::<HashMap<String, i64>>::from_request_parts(parts, state)
        .await
        .map_err(|_| PageError(Error::NotFound))?;
    Ok(params)
}

async fn thread_page(
    state: &AppState,
    ctx: &Ctx,
    place: Place,
    id: i64,
    errors: FormErrors,
) -> Result<ThreadPage, PageError> {
    let side = side_of(state, ctx, place).await?;
    let (thread, messages) = support::get(&state.db, side.viewer, side.desk, id).await?;
    let assignees = match place {
        Place::Org(org) => members::staff(&state.db, org)
            .await?
            .into_iter()
            .map(|m: Member| (m.user_id, m.name))
            .collect(),
        Place::Operator => support::operators(&state.db).await?,
        Place::Cabinet => Vec::new(),
    };
    Ok(ThreadPage {
        l: Layout::new(ctx),
        sections: &SECTIONS,
        org: side.org,
        base: format!("{}/{id}", side.base),
        staff_view: side.staff_view,
        thread,
        messages,
        assignees,
        statuses: support::STATUSES,
        errors,
    })
}

async fn show_thread(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place, thread: id, ..
    }: At,
) -> Result<Response, PageError> {
    render(&thread_page(&state, &ctx, place, id, FormErrors::default()).await?)
}

async fn reply(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place, thread: id, ..
    }: At,
    CsrfForm(form): CsrfForm<ReplyForm>,
) -> Result<Response, PageError> {
    let side = side_of(&state, &ctx, place).await?;
    match support::post(&state.db, side.viewer, side.desk, id, &form.body, None).await {
        Ok(_) => Ok(see_other(&format!("{}/{id}", side.base))),
        Err(Error::Invalid(fields)) => {
            let page =
                thread_page(&state, &ctx, place, id, FormErrors::new(ctx.tr, fields)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place, thread: id, ..
    }: At,
    CsrfForm(form): CsrfForm<UpdateForm>,
) -> Result<Response, PageError> {
    let side = side_of(&state, &ctx, place).await?;
    let Viewer::Staff(staff) = side.viewer else {
        return Err(PageError(Error::NotFound));
    };
    let assignee = match form.assignee.trim() {
        "" => None,
        a => Some(UserId(
            a.parse()
                .map_err(|_| Error::invalid("assignee", "invalid"))?,
        )),
    };
    support::update(&state.db, staff, side.desk, id, assignee, &form.status).await?;
    Ok(see_other(&format!("{}/{id}", side.base)))
}

/// How long a link to an attachment stays valid.
const LINK_SECONDS: i64 = 10 * 60;

/// A reply with an optional attachment (a multipart form): the file is
/// stored for the thread's organizer, within its plan's storage.
async fn upload(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place, thread: id, ..
    }: At,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    let side = side_of(&state, &ctx, place).await?;
    let user = ctx.user()?.id;
    let (thread, _) = support::get(&state.db, side.viewer, side.desk, id).await?;
    let storage = thread.storage_org().ok_or(PageError(Error::NotFound))?;
    let received = crate::files::receive(
        &state,
        &ctx,
        &headers,
        form,
        storage,
        Some(user),
        tabys_files::ATTACHMENT,
    )
    .await;
    let posted = match received {
        Ok(r) => {
            support::post(
                &state.db,
                side.viewer,
                side.desk,
                id,
                r.field("body"),
                r.file.as_ref().map(|f| f.id),
            )
            .await
        }
        Err(e) => Err(e),
    };
    match posted {
        Ok(_) => Ok(see_other(&format!("{}/{id}", side.base))),
        Err(Error::Invalid(fields)) if fields.iter().all(|f| f.field != "csrf") => {
            let page =
                thread_page(&state, &ctx, place, id, FormErrors::new(ctx.tr, fields)).await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Opens a message's attachment through a fresh link signed for the viewer.
async fn attachment(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place,
        thread: id,
        message,
    }: At,
) -> Result<Response, PageError> {
    let message = message.ok_or(PageError(Error::NotFound))?;
    let side = side_of(&state, &ctx, place).await?;
    let (_, file) = support::attachment(&state.db, side.viewer, side.desk, id, message).await?;
    let user = ctx.user()?.id;
    let token = state
        .files
        .sign(file, user, state.db.now().plus_seconds(LINK_SECONDS));
    Ok(see_other(&format!("/files/{token}")))
}

/// The newest message's id, for the page's polling script.
async fn last(
    State(state): State<AppState>,
    ctx: Ctx,
    At {
        place, thread: id, ..
    }: At,
) -> Result<Response, PageError> {
    let side = side_of(&state, &ctx, place).await?;
    let last = support::last_message(&state.db, side.viewer, side.desk, id).await?;
    Ok((
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(serde_json::json!({ "last": last })),
    )
        .into_response())
}

// ------------------------------------------------------------ support: the desk's inbox

#[derive(Template)]
#[template(path = "notify/inbox.html")]
struct Inbox {
    l: Layout,
    org: Option<Organizer>,
    threads: Vec<Thread>,
    base: String,
    status: String,
    statuses: [&'static str; 3],
}

impl Inbox {
    fn status_text(&self, s: &str) -> String {
        self.l.t.prefixed("support-status-", s)
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct StatusQuery {
    status: String,
}

/// A desk's shared inbox: an organizer's or the operator's.
async fn inbox(
    State(state): State<AppState>,
    ctx: Ctx,
    place: Place,
    Query(q): Query<StatusQuery>,
) -> Result<Response, PageError> {
    if matches!(place, Place::Cabinet) {
        return Err(PageError(Error::NotFound));
    }
    let side = side_of(&state, &ctx, place).await?;
    render(&Inbox {
        l: Layout::new(&ctx),
        threads: support::inbox(&state.db, side.desk, Some(q.status.as_str())).await?,
        org: side.org,
        base: side.base,
        status: q.status,
        statuses: support::STATUSES,
    })
}

// ------------------------------------------------------------ mailings

/// Mailings and sending settings are for those who run the organizer.
async fn manager(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
) -> Result<(UserId, Organizer), PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, org).await?;
    if !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    Ok((user.id, organizers::get(&state.db, org).await?))
}

#[derive(Template)]
#[template(path = "notify/mailings.html")]
struct MailingsPage {
    l: Layout,
    org: Organizer,
    mailings: Vec<Mailing>,
    products: Vec<Product>,
    form: MailingInput,
    errors: FormErrors,
    sms_on: bool,
    sent: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct SentQuery {
    sent: Option<String>,
}

async fn mailings_view(
    state: &AppState,
    ctx: &Ctx,
    org: Organizer,
    form: MailingInput,
    errors: FormErrors,
    sent: bool,
) -> Result<MailingsPage, PageError> {
    Ok(MailingsPage {
        l: Layout::new(ctx),
        mailings: mailings::list(&state.db, org.id).await?,
        products: products::list(&state.db, org.id, false).await?,
        sms_on: settings::get(&state.db, org.id).await?.sms_mode != SmsMode::Off,
        org,
        form,
        errors,
        sent,
    })
}

async fn mailings_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    Query(q): Query<SentQuery>,
) -> Result<Response, PageError> {
    let (_, org) = manager(&state, &ctx, OrgId(org)).await?;
    let form = MailingInput {
        channel: "email".into(),
        segment: "all".into(),
        purpose: "info".into(),
        ..MailingInput::default()
    };
    render(
        &mailings_view(
            &state,
            &ctx,
            org,
            form,
            FormErrors::default(),
            q.sent.is_some(),
        )
        .await?,
    )
}

async fn send_mailing(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<MailingInput>,
) -> Result<Response, PageError> {
    let (user, org) = manager(&state, &ctx, OrgId(org)).await?;
    let sent = match form.parse() {
        Ok(m) => mailings::send(&state.db, org.id, user, m).await,
        Err(e) => Err(e),
    };
    match sent {
        Ok(_) => Ok(see_other(&format!("/org/{}/mailings?sent=1", org.id))),
        Err(Error::Invalid(fields)) => {
            let page = mailings_view(
                &state,
                &ctx,
                org,
                form,
                FormErrors::new(ctx.tr, fields),
                false,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

// ------------------------------------------------------------ sending settings

#[derive(Template)]
#[template(path = "notify/sending.html")]
struct SendingPage {
    l: Layout,
    org: Organizer,
    settings: OrgSettings,
    modes: [SmsMode; 3],
    troubled: Vec<Delivery>,
    errors: FormErrors,
    saved: bool,
}

async fn sending_view(
    state: &AppState,
    ctx: &Ctx,
    org: Organizer,
    settings: OrgSettings,
    errors: FormErrors,
    saved: bool,
) -> Result<SendingPage, PageError> {
    Ok(SendingPage {
        l: Layout::new(ctx),
        troubled: deliveries::troubled(&state.db, Some(org.id), 100).await?,
        org,
        settings,
        modes: SmsMode::ALL,
        errors,
        saved,
    })
}

async fn sending_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    Query(q): Query<SavedQuery>,
) -> Result<Response, PageError> {
    let (_, org) = manager(&state, &ctx, OrgId(org)).await?;
    let s = settings::get(&state.db, org.id).await?;
    render(
        &sending_view(
            &state,
            &ctx,
            org,
            s,
            FormErrors::default(),
            q.saved.is_some(),
        )
        .await?,
    )
}

async fn save_sending(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<SettingsInput>,
) -> Result<Response, PageError> {
    let (_, org) = manager(&state, &ctx, OrgId(org)).await?;
    let old = settings::get(&state.db, org.id).await?;
    match form.parse(&old) {
        Ok(s) => {
            settings::save(&state.db, org.id, &s).await?;
            Ok(see_other(&format!("/org/{}/sending?saved=1", org.id)))
        }
        Err(Error::Invalid(fields)) => {
            let shown = OrgSettings {
                sender_name: form.sender_name.clone(),
                reply_to: form.reply_to.clone(),
                sms_mode: SmsMode::parse(&form.sms_mode).unwrap_or(old.sms_mode),
                sms_login: form.sms_login.clone(),
                sms_password: String::new(),
                sms_sender: form.sms_sender.clone(),
            };
            let page = sending_view(
                &state,
                &ctx,
                org,
                shown,
                FormErrors::new(ctx.tr, fields),
                false,
            )
            .await?;
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
        Err(e) => Err(PageError(e)),
    }
}

// ------------------------------------------------------------ unsubscribe

#[derive(Template)]
#[template(path = "notify/unsubscribe.html")]
struct UnsubscribePage {
    l: Layout,
    token: String,
    publisher: String,
    done: bool,
}

async fn publisher_name(state: &AppState, org: Option<OrgId>) -> Result<String, PageError> {
    Ok(match org {
        Some(o) => organizers::get(&state.db, o).await?.profile.legal_name,
        None => "Tabys".into(),
    })
}

async fn unsubscribe_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let d = deliveries::by_unsubscribe_token(&state.db, &token).await?;
    render(&UnsubscribePage {
        l: Layout::new(&ctx),
        publisher: publisher_name(&state, d.org_id).await?,
        token,
        done: false,
    })
}

/// One click (RFC 8058): the link itself is the authority, so this POST
/// needs no session and no CSRF token — mail providers send it bare.
async fn unsubscribe(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(token): Path<String>,
) -> Result<Response, PageError> {
    let d = deliveries::by_unsubscribe_token(&state.db, &token).await?;
    let ev = Evidence {
        origin: ctx.origin.clone(),
        locale: Some(ctx.tr.locale),
        wording: "List-Unsubscribe".into(),
    };
    // Only marketing e-mail to an account carries an unsubscribe token.
    let user = d.user_id.ok_or(Error::NotFound)?;
    consent::set(
        &state.db,
        user,
        Publisher::from_org(d.org_id),
        ConsentKind::Marketing,
        false,
        &ev,
    )
    .await?;
    render(&UnsubscribePage {
        l: Layout::new(&ctx),
        publisher: publisher_name(&state, d.org_id).await?,
        token,
        done: true,
    })
}
