//! Webinar rooms and autowebinars: the organizer's rooms, banners, webinars,
//! scenarios, schedules, word filters and analytics; the public landing and
//! registration page of a webinar; the room itself (video, chat, banners,
//! participant count) with its WebSocket; banner clicks and purchases.

use askama::Template;
use axum::Router;
use axum::extract::ws::{Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Multipart, Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use tabys_accounts::members::{self, Member as StaffMember, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_billing::orders::{self, NewOrder, PayPlan, ShownOffer};
use tabys_billing::products::{self, Product};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::{Error, FieldError, Timestamp};
use tabys_files::StoredFile;
use tabys_live::activity::{self, Kind, Record, Summary};
use tabys_live::autowebinars::{self, Autowebinar, AutowebinarInput};
use tabys_live::banners::{self, Banner, BannerInput};
use tabys_live::chat::{self, Message as ChatMessage};
use tabys_live::filter;
use tabys_live::hub::{self, Connection, Member};
use tabys_live::player::{self, Source};
use tabys_live::rooms::{self, Media, Room, RoomInput};
use tabys_live::scenario::{self, Event, EventInput, RowError, Scenario};
use tabys_live::webinars::{self, Registration, Visitor, Webinar, WebinarInput};
use tabys_store::token::random_token;

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx, cookie, set_cookie};
use crate::error::PageError;
use crate::i18n::Tr;

/// The cookie that keeps a guest of an open room the same participant
/// across reconnects (and so keeps a ban on them).
const GUEST_COOKIE: &str = "lg";

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}/live", get(rooms_page).post(create_room))
        .route(
            "/org/{org}/live/filters",
            get(filters_page).post(save_filter),
        )
        .route(
            "/org/{org}/live/rooms/{room}",
            get(room_page).post(update_room),
        )
        .route("/org/{org}/live/rooms/{room}/delete", post(delete_room))
        .route(
            "/org/{org}/live/rooms/{room}/cover/upload",
            post(upload_room_cover),
        )
        .route(
            "/org/{org}/live/rooms/{room}/cover/remove",
            post(remove_room_cover),
        )
        .route(
            "/org/{org}/live/rooms/{room}/video/upload",
            post(upload_room_video),
        )
        .route(
            "/org/{org}/live/rooms/{room}/video/remove",
            post(remove_room_video),
        )
        .route(
            "/org/{org}/live/rooms/{room}/moderators",
            post(set_moderators),
        )
        .route("/org/{org}/live/rooms/{room}/banners", post(create_banner))
        .route(
            "/org/{org}/live/rooms/{room}/webinars",
            post(schedule_webinar),
        )
        .route(
            "/org/{org}/live/rooms/{room}/scenarios",
            post(create_scenario),
        )
        .route(
            "/org/{org}/live/rooms/{room}/autowebinars",
            post(create_autowebinar),
        )
        .route(
            "/org/{org}/live/banners/{banner}/archive",
            post(archive_banner),
        )
        .route("/org/{org}/live/webinars/{w}", get(session_page))
        .route("/org/{org}/live/webinars/{w}/open", post(open_webinar))
        .route("/org/{org}/live/webinars/{w}/close", post(close_webinar))
        .route(
            "/org/{org}/live/webinars/{w}/activity.csv",
            get(activity_csv),
        )
        .route(
            "/org/{org}/live/webinars/{w}/messages/{m}/promote",
            post(promote_message),
        )
        .route("/org/{org}/live/scenarios/{s}", get(scenario_page))
        .route("/org/{org}/live/scenarios/{s}/csv", get(scenario_csv))
        .route("/org/{org}/live/scenarios/{s}/import", post(import_csv))
        .route("/org/{org}/live/scenarios/{s}/events", post(add_event))
        .route("/org/{org}/live/scenarios/{s}/events/{e}", post(edit_event))
        .route(
            "/org/{org}/live/scenarios/{s}/events/{e}/delete",
            post(delete_event),
        )
        .route(
            "/org/{org}/live/autowebinars/{a}",
            get(autowebinar_page).post(update_autowebinar),
        )
        .route(
            "/org/{org}/live/autowebinars/{a}/delete",
            post(delete_autowebinar),
        )
        .route(
            "/org/{org}/live/autowebinars/{a}/video/upload",
            post(upload_autowebinar_video),
        )
        .route(
            "/org/{org}/live/autowebinars/{a}/video/remove",
            post(remove_autowebinar_video),
        )
        .route("/live/r/{room}", get(room_landing))
        .route("/live/r/{room}/cover", get(room_cover))
        .route("/live/a/{a}", get(autowebinar_landing))
        .route("/live/w/{w}", get(webinar_page))
        .route("/live/w/{w}/register", post(register))
        .route(
            "/live/w/{w}/cancel",
            get(cancel_page).post(cancel_registration),
        )
        .route("/live/w/{w}/ws", get(socket))
        .route("/live/w/{w}/video/{token}", get(session_video))
        .route("/live/banners/{b}/go", get(banner_go))
        .route("/live/banners/{b}/buy", post(banner_buy))
}

/// Staff of the organizer; `manage` asks for an owner or a manager.
async fn staff(state: &AppState, ctx: &Ctx, org: OrgId, manage: bool) -> Result<Role, PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, org).await?;
    if manage && !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    Ok(role)
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

fn status_of(errors: &FormErrors) -> StatusCode {
    if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    }
}

fn csv(body: String, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}.csv\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[derive(Deserialize, Default)]
struct Empty {}

// ---------------------------------------------------------------- rooms

#[derive(Template)]
#[template(path = "live/rooms.html")]
struct RoomsPage {
    l: Layout,
    org: Organizer,
    rooms: Vec<Room>,
    autowebinars: Vec<Autowebinar>,
    limit: i64,
    form: RoomInput,
    errors: FormErrors,
    products: Vec<Product>,
}

impl RoomsPage {
    fn form_action(&self) -> String {
        format!("/org/{}/live", self.org.id)
    }
}

async fn rooms_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    form: RoomInput,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let page = RoomsPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        rooms: rooms::list(&state.db, org).await?,
        autowebinars: autowebinars::of_org(&state.db, org).await?,
        limit: tabys_billing::plans::limits(&state.db, org)
            .await?
            .webinar_rooms,
        form,
        products: webinar_products(state, org).await?,
        errors,
    };
    Ok((status_of(&page.errors), render(&page)?).into_response())
}

async fn webinar_products(state: &AppState, org: OrgId) -> Result<Vec<Product>, PageError> {
    Ok(products::list(&state.db, org, true)
        .await?
        .into_iter()
        .filter(|p| p.kind == "webinar")
        .collect())
}

async fn rooms_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    rooms_view(
        &state,
        &ctx,
        OrgId(org),
        RoomInput::default(),
        FormErrors::default(),
    )
    .await
}

async fn create_room(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<RoomInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let made = match form.parse() {
        Ok(r) => rooms::create(&state.db, OrgId(org), r).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(room) => Ok(see_other(&format!("/org/{org}/live/rooms/{}", room.id))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            rooms_view(&state, &ctx, OrgId(org), form, errors).await
        }
    }
}

#[derive(Template)]
#[template(path = "live/room.html")]
struct RoomPage {
    l: Layout,
    org: Organizer,
    room: Room,
    form: RoomInput,
    errors: FormErrors,
    products: Vec<Product>,
    staff: Vec<StaffMember>,
    moderators: Vec<UserId>,
    banners: Vec<Banner>,
    banner_form: BannerInput,
    webinars: Vec<Webinar>,
    webinar_form: WebinarInput,
    scenarios: Vec<Scenario>,
    autowebinars: Vec<Autowebinar>,
    auto_form: AutowebinarInput,
    cover_file: Option<StoredFile>,
    video_file: Option<StoredFile>,
}

impl RoomPage {
    fn is_moderator(&self, u: &UserId) -> bool {
        self.moderators.contains(u)
    }

    fn form_action(&self) -> String {
        format!("/org/{}/live/rooms/{}", self.org.id, self.room.id)
    }
}

#[derive(Default)]
struct RoomForms {
    room: Option<RoomInput>,
    banner: BannerInput,
    webinar: WebinarInput,
    auto: Option<AutowebinarInput>,
}

async fn room_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    id: i64,
    forms: RoomForms,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let room = rooms::get(&state.db, org, id).await?;
    let page = RoomPage {
        cover_file: library_file(state, org, room.cover_file_id).await?,
        video_file: library_file(state, org, room.video_file_id).await?,
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        form: forms.room.unwrap_or_else(|| RoomInput::of(&room)),
        products: webinar_products(state, org).await?,
        staff: members::staff(&state.db, org).await?,
        moderators: rooms::moderators(&state.db, org, id).await?,
        banners: banners::of_room(&state.db, org, id).await?,
        banner_form: forms.banner,
        webinars: webinars::of_room(&state.db, org, id).await?,
        webinar_form: forms.webinar,
        scenarios: scenario::of_room(&state.db, org, id).await?,
        autowebinars: autowebinars::of_org(&state.db, org)
            .await?
            .into_iter()
            .filter(|a| a.room_id == id)
            .collect(),
        auto_form: forms.auto.unwrap_or_else(|| AutowebinarInput {
            schedule_kind: "daily".into(),
            times: "19:00".into(),
            duration_min: "60".into(),
            simulated_count: "0".into(),
            ..AutowebinarInput::default()
        }),
        room,
        errors,
    };
    Ok((status_of(&page.errors), render(&page)?).into_response())
}

async fn room_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    room_view(
        &state,
        &ctx,
        OrgId(org),
        room,
        RoomForms::default(),
        FormErrors::default(),
    )
    .await
}

async fn update_room(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<RoomInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let done = match form.parse() {
        Ok(r) => rooms::update(&state.db, OrgId(org), room, r).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(see_other(&format!("/org/{org}/live/rooms/{room}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            let forms = RoomForms {
                room: Some(form),
                ..RoomForms::default()
            };
            room_view(&state, &ctx, OrgId(org), room, forms, errors).await
        }
    }
}

async fn delete_room(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    rooms::delete(&state.db, OrgId(org), room).await?;
    Ok(see_other(&format!("/org/{org}/live")))
}

/// A file of the organizer's library a room or an autowebinar names, if it
/// is still there (deleting it from the library is allowed).
async fn library_file(
    state: &AppState,
    org: OrgId,
    id: Option<i64>,
) -> Result<Option<StoredFile>, PageError> {
    let Some(id) = id else { return Ok(None) };
    match tabys_files::get(&state.db, org, id).await {
        Ok(f) => Ok(Some(f)),
        Err(Error::NotFound) => Ok(None),
        Err(e) => Err(PageError(e)),
    }
}

fn wants_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"))
}

/// How an upload ended, for the page's progress script (JSON) or for a
/// browser posting the form (back to the page).
enum Uploaded {
    Done,
    /// What is wrong with the file, shown beside the form named `field`.
    Refused(FormErrors),
}

/// Stores one uploaded file of `kind` for `org` (its content type, size
/// and the plan's storage are checked by the files capability; a refused
/// file leaves nothing) and hands it to `keep`. Problems with the file are
/// reported as `field`'s; a forged form gets the error page.
#[allow(clippy::too_many_arguments)]
async fn receive_media<F, Fut>(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    form: Multipart,
    org: OrgId,
    kind: tabys_files::Kind,
    field: &'static str,
    keep: F,
) -> Result<Result<Uploaded, Response>, PageError>
where
    F: FnOnce(StoredFile) -> Fut,
    Fut: std::future::Future<Output = tabys_core::Result<()>>,
{
    let user = ctx.user()?.id;
    let json = wants_json(headers);
    let received = crate::files::receive(state, ctx, headers, form, org, Some(user), kind)
        .await
        .and_then(|r| r.file.ok_or_else(|| Error::invalid("file", "required")));
    let done = match received {
        Ok(file) => keep(file).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(()) if json => Ok(Err(
            axum::Json(serde_json::json!({ "ok": true })).into_response()
        )),
        Ok(()) => Ok(Ok(Uploaded::Done)),
        Err(Error::Invalid(fields)) if fields.iter().all(|f| f.field == "file") => {
            if json {
                let message = fields
                    .first()
                    .map(|f| ctx.tr.err(f.code))
                    .unwrap_or_default();
                return Ok(Err((
                    StatusCode::UNPROCESSABLE_ENTITY,
                    axum::Json(serde_json::json!({ "error": { "message": message } })),
                )
                    .into_response()));
            }
            let fields = fields
                .into_iter()
                .map(|f| FieldError {
                    field,
                    code: f.code,
                })
                .collect();
            Ok(Ok(Uploaded::Refused(FormErrors::new(ctx.tr, fields))))
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn upload_room_media(
    state: AppState,
    ctx: Ctx,
    org: i64,
    room: i64,
    headers: HeaderMap,
    form: Multipart,
    media: Media,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    rooms::get(&state.db, OrgId(org), room).await?;
    let (kind, field) = match media {
        Media::Cover => (tabys_files::IMAGE, "cover_file"),
        Media::Video => (tabys_files::VIDEO_FILE, "video_file"),
    };
    let db = state.db.clone();
    let keep = |file: StoredFile| async move {
        rooms::set_media(&db, OrgId(org), room, media, Some(file.id))
            .await
            .map(|_| ())
    };
    match receive_media(&state, &ctx, &headers, form, OrgId(org), kind, field, keep).await? {
        Err(json) => Ok(json),
        Ok(Uploaded::Done) => Ok(see_other(&format!("/org/{org}/live/rooms/{room}#media"))),
        Ok(Uploaded::Refused(errors)) => {
            room_view(&state, &ctx, OrgId(org), room, RoomForms::default(), errors).await
        }
    }
}

/// Uploads the room's cover picture (AT 3.2.3's storage counts it).
async fn upload_room_cover(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    upload_room_media(state, ctx, org, room, headers, form, Media::Cover).await
}

/// Uploads the room's video (MP4 or WebM), which becomes its source.
async fn upload_room_video(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    upload_room_media(state, ctx, org, room, headers, form, Media::Video).await
}

/// Takes the uploaded cover out of the room; the file stays in the library.
async fn remove_room_cover(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    rooms::set_media(&state.db, OrgId(org), room, Media::Cover, None).await?;
    Ok(see_other(&format!("/org/{org}/live/rooms/{room}#media")))
}

/// Takes the uploaded video out of the room; the file stays in the library.
async fn remove_room_video(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    rooms::set_media(&state.db, OrgId(org), room, Media::Video, None).await?;
    Ok(see_other(&format!("/org/{org}/live/rooms/{room}#media")))
}

#[derive(Deserialize)]
struct ModeratorsForm {
    #[serde(default)]
    moderators: String,
}

async fn set_moderators(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ModeratorsForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let users: Option<Vec<UserId>> = form
        .moderators
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().ok().map(UserId))
        .collect();
    let done = match users {
        Some(u) => rooms::set_moderators(&state.db, OrgId(org), room, &u).await,
        None => Err(Error::invalid("moderators", "live-moderator-staff")),
    };
    match done {
        Ok(()) => Ok(see_other(&format!("/org/{org}/live/rooms/{room}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            room_view(&state, &ctx, OrgId(org), room, RoomForms::default(), errors).await
        }
    }
}

async fn create_banner(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<BannerInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match banners::create(&state.db, OrgId(org), room, &form).await {
        Ok(_) => {
            let list = banners::of_room(&state.db, OrgId(org), room).await?;
            state.live.banners_changed(room, list).await;
            Ok(see_other(&format!("/org/{org}/live/rooms/{room}")))
        }
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            let forms = RoomForms {
                banner: form,
                ..RoomForms::default()
            };
            room_view(&state, &ctx, OrgId(org), room, forms, errors).await
        }
    }
}

async fn archive_banner(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, banner)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let b = banners::find(&state.db, banner).await?;
    if b.org_id != OrgId(org) {
        return Err(PageError(Error::NotFound));
    }
    banners::archive(&state.db, OrgId(org), banner).await?;
    let list = banners::of_room(&state.db, OrgId(org), b.room_id).await?;
    state.live.banners_changed(b.room_id, list).await;
    Ok(see_other(&format!("/org/{org}/live/rooms/{}", b.room_id)))
}

async fn schedule_webinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<WebinarInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match webinars::schedule(&state.db, OrgId(org), room, &form).await {
        Ok(_) => Ok(see_other(&format!("/org/{org}/live/rooms/{room}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            let forms = RoomForms {
                webinar: form,
                ..RoomForms::default()
            };
            room_view(&state, &ctx, OrgId(org), room, forms, errors).await
        }
    }
}

#[derive(Deserialize)]
struct TitleForm {
    title: String,
}

async fn create_scenario(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<TitleForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match scenario::create(&state.db, OrgId(org), room, &form.title).await {
        Ok(s) => Ok(see_other(&format!("/org/{org}/live/scenarios/{}", s.id))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            room_view(&state, &ctx, OrgId(org), room, RoomForms::default(), errors).await
        }
    }
}

async fn create_autowebinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, room)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<AutowebinarInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let made = match form.parse(state.db.now()) {
        Ok(a) => autowebinars::create(&state.db, OrgId(org), room, a).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(a) => Ok(see_other(&format!("/org/{org}/live/autowebinars/{}", a.id))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            let forms = RoomForms {
                auto: Some(form),
                ..RoomForms::default()
            };
            room_view(&state, &ctx, OrgId(org), room, forms, errors).await
        }
    }
}

// ---------------------------------------------------------------- filters

#[derive(Template)]
#[template(path = "live/filters.html")]
struct FiltersPage {
    l: Layout,
    org: Organizer,
    lists: Vec<(String, String)>,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct FilterForm {
    lang: String,
    #[serde(default)]
    words: String,
}

async fn filters_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let page = FiltersPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        lists: filter::lists(&state.db, org).await?,
        errors,
    };
    Ok((status_of(&page.errors), render(&page)?).into_response())
}

async fn filters_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    filters_view(&state, &ctx, OrgId(org), FormErrors::default()).await
}

async fn save_filter(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<FilterForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match filter::save(&state.db, OrgId(org), &form.lang, &form.words).await {
        Ok(()) => Ok(see_other(&format!("/org/{org}/live/filters"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            filters_view(&state, &ctx, OrgId(org), errors).await
        }
    }
}

// ---------------------------------------------------------------- sessions

#[derive(Template)]
#[template(path = "live/session.html")]
struct SessionPage {
    l: Layout,
    org: Organizer,
    room: Room,
    webinar: Webinar,
    summary: Summary,
    chart: String,
    registrations: Vec<Registration>,
    messages: Vec<ChatMessage>,
    simulated: i64,
}

async fn session_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, w)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let org = OrgId(org);
    state.live.flush().await;
    let webinar = webinars::get(&state.db, org, w).await?;
    let room = rooms::find(&state.db, webinar.room_id).await?;
    let rows = activity::of_webinar(&state.db, org, w).await?;
    let paid = paid_banner_orders(&state, org, w).await?;
    let summary = activity::summarize(&rows, webinar.origin(), paid);
    let chart = activity::attendance_svg(&summary.attendance, &ctx.tr.t("live-attendance"));
    let simulated = match webinar.autowebinar_id {
        Some(a) => autowebinars::get(&state.db, org, a)
            .await
            .map_or(0, |a| a.simulated_count),
        None => 0,
    };
    let page = SessionPage {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, org).await?,
        room,
        summary,
        chart,
        registrations: webinars::registrations(&state.db, org, w).await?,
        messages: chat::of_webinar(&state.db, org, w).await?,
        webinar,
        simulated,
    };
    render(&page)
}

/// Orders placed from the session's banners that are paid now.
async fn paid_banner_orders(state: &AppState, org: OrgId, w: i64) -> Result<i64, PageError> {
    let mut paid = 0;
    for (order, _) in banners::orders_of(&state.db, org, w).await? {
        let o = orders::get(&state.db, org, order).await?;
        if o.status == "paid" || o.status == "part-paid" {
            paid += 1;
        }
    }
    Ok(paid)
}

async fn open_webinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, w)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let webinar = webinars::get(&state.db, OrgId(org), w).await?;
    if !rooms::is_moderator(&state.db, OrgId(org), webinar.room_id, ctx.user()?.id).await? {
        return Err(PageError(Error::Forbidden));
    }
    match webinars::open(&state.db, OrgId(org), w).await {
        Ok(_) => Ok(see_other(&format!("/live/w/{w}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            room_view(
                &state,
                &ctx,
                OrgId(org),
                webinar.room_id,
                RoomForms::default(),
                errors,
            )
            .await
        }
    }
}

async fn close_webinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, w)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let webinar = webinars::get(&state.db, OrgId(org), w).await?;
    if !rooms::is_moderator(&state.db, OrgId(org), webinar.room_id, ctx.user()?.id).await? {
        return Err(PageError(Error::Forbidden));
    }
    webinars::close(&state.db, OrgId(org), w).await?;
    state.live.close(w).await;
    state.live.flush().await;
    Ok(see_other(&format!("/org/{org}/live/webinars/{w}")))
}

async fn activity_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, w)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    state.live.flush().await;
    let webinar = webinars::get(&state.db, OrgId(org), w).await?;
    let rows = activity::of_webinar(&state.db, OrgId(org), w).await?;
    Ok(csv(
        activity::to_csv(&rows, webinar.origin()),
        &format!("activity-{w}"),
    ))
}

async fn promote_message(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, w, m)): Path<(i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    chat::promote(&state.db, OrgId(org), w, m).await?;
    Ok(see_other(&format!("/org/{org}/live/webinars/{w}")))
}

// ---------------------------------------------------------------- scenarios

#[derive(Template)]
#[template(path = "live/scenario.html")]
struct ScenarioPage {
    l: Layout,
    org: Organizer,
    scenario: Scenario,
    events: Vec<Event>,
    kinds: &'static [&'static str],
    errors: FormErrors,
    rows: Vec<(usize, String)>,
    csv_text: String,
}

impl ScenarioPage {
    fn at(&self, ms: &i64) -> String {
        scenario::show_at(*ms)
    }
}

async fn scenario_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    id: i64,
    errors: FormErrors,
    rows: Vec<RowError>,
    csv_text: String,
) -> Result<Response, PageError> {
    let s = scenario::get(&state.db, org, id).await?;
    let status = if errors.any() || !rows.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ScenarioPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        events: scenario::events(&state.db, id).await?,
        scenario: s,
        kinds: &scenario::KINDS,
        errors,
        rows: rows
            .into_iter()
            .map(|r| (r.row, ctx.tr.err(r.code)))
            .collect(),
        csv_text,
    };
    Ok((status, render(&page)?).into_response())
}

async fn scenario_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    state.live.flush().await;
    scenario_view(
        &state,
        &ctx,
        OrgId(org),
        s,
        FormErrors::default(),
        Vec::new(),
        String::new(),
    )
    .await
}

async fn scenario_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    state.live.flush().await;
    scenario::get(&state.db, OrgId(org), s).await?;
    let events = scenario::events(&state.db, s).await?;
    Ok(csv(scenario::to_csv(&events), &format!("scenario-{s}")))
}

#[derive(Deserialize)]
struct ImportForm {
    csv: String,
}

async fn import_csv(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ImportForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match scenario::import_csv(&state.db, OrgId(org), s, &form.csv).await? {
        Ok(_) => Ok(see_other(&format!("/org/{org}/live/scenarios/{s}"))),
        Err(rows) => {
            scenario_view(
                &state,
                &ctx,
                OrgId(org),
                s,
                FormErrors::default(),
                rows,
                form.csv,
            )
            .await
        }
    }
}

async fn add_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<EventInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match scenario::add_event(&state.db, OrgId(org), s, &form).await {
        Ok(()) => Ok(see_other(&format!("/org/{org}/live/scenarios/{s}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            scenario_view(
                &state,
                &ctx,
                OrgId(org),
                s,
                errors,
                Vec::new(),
                String::new(),
            )
            .await
        }
    }
}

async fn edit_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s, e)): Path<(i64, i64, i64)>,
    CsrfForm(form): CsrfForm<EventInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match scenario::edit_event(&state.db, OrgId(org), s, e, &form).await {
        Ok(()) => Ok(see_other(&format!("/org/{org}/live/scenarios/{s}"))),
        Err(err) => {
            let errors = invalid(err, ctx.tr)?;
            scenario_view(
                &state,
                &ctx,
                OrgId(org),
                s,
                errors,
                Vec::new(),
                String::new(),
            )
            .await
        }
    }
}

async fn delete_event(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, s, e)): Path<(i64, i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    scenario::delete_event(&state.db, OrgId(org), s, e).await?;
    Ok(see_other(&format!("/org/{org}/live/scenarios/{s}")))
}

// ---------------------------------------------------------------- autowebinars

#[derive(Template)]
#[template(path = "live/autowebinar.html")]
struct AutowebinarPage {
    l: Layout,
    org: Organizer,
    aw: Autowebinar,
    form: AutowebinarInput,
    scenarios: Vec<Scenario>,
    upcoming: Vec<Timestamp>,
    sessions: Vec<Webinar>,
    errors: FormErrors,
    video_file: Option<StoredFile>,
}

fn form_of(a: &Autowebinar) -> AutowebinarInput {
    AutowebinarInput {
        title: a.title.clone(),
        video_url: a.video_url.clone(),
        scenario_id: a.scenario_id.map(|s| s.to_string()).unwrap_or_default(),
        schedule_kind: a.schedule.kind().into(),
        times: a.schedule.times_text(),
        weekdays: a
            .schedule
            .days()
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(","),
        duration_min: a.duration_min.to_string(),
        simulated_count: a.simulated_count.to_string(),
    }
}

async fn autowebinar_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    id: i64,
    form: Option<AutowebinarInput>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let aw = autowebinars::get(&state.db, org, id).await?;
    let page = AutowebinarPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        form: form.unwrap_or_else(|| form_of(&aw)),
        scenarios: scenario::of_room(&state.db, org, aw.room_id).await?,
        upcoming: autowebinars::upcoming(&aw, state.db.now(), 5),
        sessions: autowebinars::sessions(&state.db, org, aw.id).await?,
        video_file: library_file(state, org, aw.video_file_id).await?,
        aw,
        errors,
    };
    Ok((status_of(&page.errors), render(&page)?).into_response())
}

async fn autowebinar_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, a)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    autowebinar_view(&state, &ctx, OrgId(org), a, None, FormErrors::default()).await
}

async fn update_autowebinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, a)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<AutowebinarInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let done = match form.parse(state.db.now()) {
        Ok(n) => autowebinars::update(&state.db, OrgId(org), a, n).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(see_other(&format!("/org/{org}/live/autowebinars/{a}"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            autowebinar_view(&state, &ctx, OrgId(org), a, Some(form), errors).await
        }
    }
}

async fn delete_autowebinar(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, a)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    autowebinars::delete(&state.db, OrgId(org), a).await?;
    Ok(see_other(&format!("/org/{org}/live")))
}

/// Uploads the autowebinar's recording (MP4 or WebM): played instead of
/// its address, from each session's current moment.
async fn upload_autowebinar_video(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, a)): Path<(i64, i64)>,
    headers: HeaderMap,
    form: Multipart,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    autowebinars::get(&state.db, OrgId(org), a).await?;
    let db = state.db.clone();
    let keep = |file: StoredFile| async move {
        autowebinars::set_video(&db, OrgId(org), a, Some(file.id))
            .await
            .map(|_| ())
    };
    let kind = tabys_files::VIDEO_FILE;
    match receive_media(
        &state,
        &ctx,
        &headers,
        form,
        OrgId(org),
        kind,
        "video_file",
        keep,
    )
    .await?
    {
        Err(json) => Ok(json),
        Ok(Uploaded::Done) => Ok(see_other(&format!(
            "/org/{org}/live/autowebinars/{a}#media"
        ))),
        Ok(Uploaded::Refused(errors)) => {
            autowebinar_view(&state, &ctx, OrgId(org), a, None, errors).await
        }
    }
}

/// Goes back to the recording's address; the file stays in the library.
async fn remove_autowebinar_video(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, a)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    autowebinars::set_video(&state.db, OrgId(org), a, None).await?;
    Ok(see_other(&format!(
        "/org/{org}/live/autowebinars/{a}#media"
    )))
}

// ---------------------------------------------------------------- public

#[derive(Template)]
#[template(path = "live/landing.html")]
struct Landing {
    l: Layout,
    room: Room,
    webinar: Option<Webinar>,
    upcoming: Vec<Webinar>,
    registration: Option<Registration>,
    running: bool,
    errors: FormErrors,
    name: String,
    email: String,
    denied: Option<String>,
}

async fn room_landing(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(room): Path<i64>,
) -> Result<Response, PageError> {
    let room = rooms::find(&state.db, room).await?;
    if let Some(w) = webinars::open_in(&state.db, room.id).await? {
        return Ok(see_other(&format!("/live/w/{}", w.id)));
    }
    let now = state.db.now();
    let upcoming: Vec<Webinar> = webinars::of_room(&state.db, room.org_id, room.id)
        .await?
        .into_iter()
        .filter(|w| w.status == "scheduled" && w.starts_at > now)
        .rev()
        .collect();
    let page = Landing {
        l: Layout::new(&ctx),
        room,
        webinar: None,
        upcoming,
        registration: None,
        running: false,
        errors: FormErrors::default(),
        name: ctx
            .user
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        email: ctx
            .user
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default(),
        denied: None,
    };
    render(&page)
}

async fn autowebinar_landing(
    State(state): State<AppState>,
    Path(a): Path<i64>,
) -> Result<Response, PageError> {
    let aw = autowebinars::find(&state.db, a).await?;
    let session = autowebinars::current_or_next(&state.db, &aw)
        .await?
        .ok_or(Error::NotFound)?;
    Ok(see_other(&format!("/live/w/{}", session.id)))
}

#[derive(Deserialize, Default)]
struct EnterQuery {
    /// A registration link's secret.
    t: Option<String>,
    /// A guest's name for an open room.
    name: Option<String>,
}

#[derive(Template)]
#[template(path = "live/room_live.html")]
struct LivePage {
    l: Layout,
    webinar: Webinar,
    player: Player,
    moderator: bool,
    banners: Vec<Banner>,
    ws_query: String,
    key: String,
    /// Texts the page's script shows, by code.
    texts: Vec<(&'static str, String)>,
}

/// The room page's player.
struct Player {
    /// `youtube` (an embed), `hls`, `video` (a file: uploaded or by
    /// address) or `none`.
    kind: &'static str,
    src: String,
    /// An autowebinar session: where the video is now, for everyone.
    offset_ms: Option<i64>,
}

/// How long a session's video link lasts: past the session's planned end
/// by an hour (players ask for more ranges as they play), at most 12 hours.
fn video_link_until(webinar: &Webinar, now: Timestamp) -> Timestamp {
    let until = webinar.ends_at().0.max(now.0) + 3_600_000;
    Timestamp(until.min(now.0 + 12 * 3_600_000))
}

/// Whom a session's video link is for: the signed-in person, else the
/// browser by its guest cookie (a guest or a registrant without an
/// account). A link is no use in another session or another browser.
fn video_scope(w: i64, user: Option<UserId>, guest: Option<&str>) -> Option<String> {
    match (user, guest) {
        (Some(u), _) => Some(format!("w{w}-u{}", u.0)),
        (None, Some(g)) => g.get(..16).map(|g| format!("w{w}-g{g}")),
        (None, None) => None,
    }
}

async fn player_for(
    state: &AppState,
    room: &Room,
    webinar: &Webinar,
    scope: Option<String>,
) -> Result<Player, PageError> {
    let now = state.db.now();
    let offset_ms = player::start_offset_ms(webinar, now);
    let (kind, src) = match player::source(&state.db, room, webinar).await? {
        Source::Nothing => ("none", String::new()),
        Source::YouTube(embed) => {
            // YouTube's own player seeks to the session's moment by `start`.
            let start = offset_ms.map_or(String::new(), |ms| format!("&start={}", ms / 1000));
            ("youtube", format!("{embed}?autoplay=1{start}"))
        }
        Source::Hls(url) => ("hls", url),
        Source::Address(url) => ("video", url),
        Source::Upload(file) => match scope {
            Some(scope) => {
                let token = state
                    .files
                    .sign_scoped(file, &scope, video_link_until(webinar, now));
                ("video", format!("/live/w/{}/video/{token}", webinar.id))
            }
            None => ("none", String::new()),
        },
    };
    Ok(Player {
        kind,
        src,
        offset_ms,
    })
}

/// Words of the room page's script, and the errors a frame may bring.
fn room_texts(tr: Tr) -> Vec<(&'static str, String)> {
    let mut texts: Vec<(&'static str, String)> = [
        ("offline", "live-ui-offline"),
        ("question", "live-ui-question"),
        ("delete", "live-ui-delete"),
        ("pin", "live-ui-pin"),
        ("unpin", "live-ui-unpin"),
        ("mute", "live-ui-mute"),
        ("ban", "live-ui-ban"),
        ("pinned", "live-ui-pinned"),
        ("reconnecting", "live-ui-reconnecting"),
        ("closed", "live-ui-closed"),
    ]
    .into_iter()
    .map(|(code, key)| (code, tr.t(key)))
    .collect();
    for code in [
        "live-banned",
        "live-rate-limited",
        "live-message-too-long",
        "live-message-empty",
        "live-frame-invalid",
        "live-frame-too-large",
        "forbidden",
        "not-found",
    ] {
        texts.push((code, tr.err(code)));
    }
    texts
}

fn guest_cookie(headers: &HeaderMap) -> Option<String> {
    cookie(headers, GUEST_COOKIE)
        .filter(|g| g.len() == 64 && g.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_string)
}

fn visitor(ctx: &Ctx, headers: &HeaderMap, q: &EnterQuery) -> Visitor {
    Visitor {
        user: ctx.user.as_ref().map(|u| (u.id, u.name.clone())),
        registration_token: q.t.clone().filter(|t| !t.is_empty()),
        guest: guest_cookie(headers),
        guest_name: q.name.clone(),
    }
}

fn urlencode(s: &str) -> String {
    crate::error::urlencode(s)
}

async fn webinar_page(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(w): Path<i64>,
    Query(q): Query<EnterQuery>,
) -> Result<Response, PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    let room = rooms::find(&state.db, webinar.room_id).await?;
    let now = state.db.now();
    let running = webinar.is_running(now);
    let mut v = visitor(&ctx, &headers, &q);
    // A guest of an open room keeps one random id in a cookie.
    let mut set_guest = None;
    if v.guest.is_none() {
        let g = random_token();
        v.guest = Some(g.clone());
        set_guest = Some(g);
    }
    let registration = match (&v.registration_token, &v.user) {
        (Some(t), _) => webinars::registration_by_token(&state.db, w, t).await?,
        (None, Some((u, _))) => webinars::registration_of_user(&state.db, w, *u).await?,
        _ => None,
    };
    let mut denied = None;
    if running {
        let admitted = match webinars::admit(&state.db, &room, &webinar, &v).await {
            Ok(a)
                if !a.moderator
                    && tabys_live::moderation::is_banned(&state.db, room.id, &a.participant)
                        .await? =>
            {
                Err(Error::Conflict("live-banned"))
            }
            other => other,
        };
        match admitted {
            Ok(a) => {
                let mut query = String::new();
                if let Some(t) = &v.registration_token {
                    query.push_str(&format!("t={}&", urlencode(t)));
                }
                if let Some(n) = &v.guest_name {
                    query.push_str(&format!("name={}&", urlencode(n)));
                }
                let scope = video_scope(w, ctx.user.as_ref().map(|u| u.id), v.guest.as_deref());
                let page = LivePage {
                    l: Layout::new(&ctx),
                    player: player_for(&state, &room, &webinar, scope).await?,
                    moderator: a.moderator,
                    banners: if a.moderator {
                        banners::of_room(&state.db, room.org_id, room.id).await?
                    } else {
                        Vec::new()
                    },
                    ws_query: query,
                    texts: room_texts(ctx.tr),
                    key: random_token()[..24].to_string(),
                    webinar,
                };
                let mut response = render(&page)?;
                if let Some(g) = set_guest {
                    response.headers_mut().append(
                        header::SET_COOKIE,
                        set_cookie(
                            GUEST_COOKIE,
                            &g,
                            365 * 86_400,
                            true,
                            state.config.secure_cookies,
                        ),
                    );
                }
                return Ok(response);
            }
            Err(Error::Invalid(_)) => {}
            Err(e @ (Error::Conflict(_) | Error::Unauthorized)) => {
                denied = Some(ctx.tr.err(e.code()))
            }
            Err(e) => return Err(PageError(e)),
        }
    }
    let page = Landing {
        l: Layout::new(&ctx),
        upcoming: Vec::new(),
        running,
        errors: FormErrors::default(),
        name: ctx
            .user
            .as_ref()
            .map(|u| u.name.clone())
            .unwrap_or_default(),
        email: ctx
            .user
            .as_ref()
            .map(|u| u.email.clone())
            .unwrap_or_default(),
        room,
        webinar: Some(webinar),
        registration,
        denied,
    };
    let mut response = render(&page)?;
    if let Some(g) = set_guest {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie(
                GUEST_COOKIE,
                &g,
                365 * 86_400,
                true,
                state.config.secure_cookies,
            ),
        );
    }
    Ok(response)
}

/// A session's uploaded video through the link its page signed for this
/// viewer: only in this session, only in the browser (or to the person)
/// it was signed for, only while it is the session's video; with byte
/// ranges, so the player can start at the session's moment.
async fn session_video(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path((w, token)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    let link = state.files.verify_scoped(&token, state.db.now())?;
    let guest = guest_cookie(&headers);
    let scope = video_scope(w, ctx.user.as_ref().map(|u| u.id), guest.as_deref());
    if scope.as_deref() != Some(link.scope.as_str()) {
        return Err(PageError(Error::NotFound));
    }
    let webinar = webinars::find(&state.db, w).await?;
    let room = rooms::find(&state.db, webinar.room_id).await?;
    if player::source(&state.db, &room, &webinar).await? != Source::Upload(link.file) {
        return Err(PageError(Error::NotFound));
    }
    let file = tabys_files::get(&state.db, room.org_id, link.file).await?;
    Ok(crate::files::serve(&state.files, &headers, &file, false).await?)
}

/// A room's uploaded cover, for its public pages. Covers are public like
/// the landing page that shows them, so the address is stable (browsers
/// and link previews can cache it) rather than signed; it serves only the
/// picture the room names as its cover.
async fn room_cover(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(room): Path<i64>,
) -> Result<Response, PageError> {
    let room = rooms::find(&state.db, room).await?;
    let file = tabys_files::get(
        &state.db,
        room.org_id,
        room.cover_file_id.ok_or(Error::NotFound)?,
    )
    .await?;
    if !file.is_image() {
        return Err(PageError(Error::NotFound));
    }
    let mut response = crate::files::serve(&state.files, &headers, &file, false).await?;
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(response)
}

#[derive(Deserialize)]
struct RegisterForm {
    name: String,
    email: String,
}

async fn register(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(w): Path<i64>,
    CsrfForm(form): CsrfForm<RegisterForm>,
) -> Result<Response, PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    let room = rooms::find(&state.db, webinar.room_id).await?;
    let user = ctx.user.as_ref().map(|u| u.id);
    match webinars::register(
        &state.db,
        &webinar,
        user,
        &form.name,
        &form.email,
        ctx.tr.locale,
    )
    .await
    {
        Ok(reg) => Ok(see_other(&format!("/live/w/{w}?t={}", reg.token))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            let page = Landing {
                l: Layout::new(&ctx),
                room,
                running: webinar.is_running(state.db.now()),
                webinar: Some(webinar),
                upcoming: Vec::new(),
                registration: None,
                errors,
                name: form.name,
                email: form.email,
                denied: None,
            };
            Ok((StatusCode::UNPROCESSABLE_ENTITY, render(&page)?).into_response())
        }
    }
}

#[derive(Template)]
#[template(path = "live/cancel.html")]
struct CancelPage {
    l: Layout,
    webinar: Webinar,
    token: String,
    done: bool,
}

#[derive(Deserialize)]
struct CancelForm {
    t: String,
}

/// The page a reminder's cancel link opens: it asks, so that a mail
/// scanner following the link cancels nothing. A link naming no active
/// registration is a 404.
async fn cancel_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(w): Path<i64>,
    Query(q): Query<EnterQuery>,
) -> Result<Response, PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    let token = q.t.unwrap_or_default();
    webinars::registration_by_token(&state.db, w, &token)
        .await?
        .ok_or(Error::NotFound)?;
    render(&CancelPage {
        l: Layout::new(&ctx),
        webinar,
        token,
        done: false,
    })
}

async fn cancel_registration(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(w): Path<i64>,
    CsrfForm(form): CsrfForm<CancelForm>,
) -> Result<Response, PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    webinars::cancel(&state.db, &webinar, &form.t).await?;
    render(&CancelPage {
        l: Layout::new(&ctx),
        webinar,
        token: String::new(),
        done: true,
    })
}

#[derive(Deserialize, Default)]
struct SocketQuery {
    t: Option<String>,
    name: Option<String>,
    /// The last sequence number seen, on a reconnect.
    since: Option<u64>,
}

fn wall_us() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// The room's WebSocket. Buffers are sized for small chat frames: the
/// library's default 128 KiB read buffer per connection alone would cost
/// over a gigabyte at 10,000 participants. Frames queued for one
/// participant are gathered in a small write buffer and leave in one
/// write: at 10,000 participants every system call saved per frame is
/// saved 10,000 times per message.
async fn socket(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(w): Path<i64>,
    Query(q): Query<SocketQuery>,
    ws: WebSocketUpgrade,
) -> Result<Response, PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    let room = rooms::find(&state.db, webinar.room_id).await?;
    let enter = EnterQuery {
        t: q.t.clone(),
        name: q.name.clone(),
    };
    let v = visitor(&ctx, &headers, &enter);
    let admission = webinars::admit(&state.db, &room, &webinar, &v).await?;
    let conn = state.live.join(w, Member::from(admission), q.since).await?;
    Ok(ws
        .read_buffer_size(4 * 1024)
        .write_buffer_size(8 * 1024)
        .max_write_buffer_size(64 * 1024)
        .max_message_size(16 * 1024)
        .max_frame_size(16 * 1024)
        .on_upgrade(move |socket| run_socket(socket, conn)))
}

async fn run_socket(socket: WebSocket, conn: Connection<Utf8Bytes>) {
    let (mut sink, mut stream) = socket.split();
    let Connection {
        mut queue,
        mut kick,
        sender,
        ..
    } = conn;
    let (done_tx, mut done) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn(async move {
        loop {
            tokio::select! {
                biased;
                why = &mut kick => {
                    if let Ok(why) = why {
                        let _ = sink.send(Message::Text(why.frame().into())).await;
                    }
                    let _ = sink.close().await;
                    break;
                }
                frame = queue.recv() => {
                    let Some(frame) = frame else { break };
                    if sink.feed(Message::Text(frame)).await.is_err() {
                        break;
                    }
                    // Everything already queued goes out in one write.
                    let mut more = 0;
                    while more < 64 {
                        match queue.try_recv() {
                            Ok(f) => {
                                if sink.feed(Message::Text(f)).await.is_err() {
                                    break;
                                }
                                more += 1;
                            }
                            Err(_) => break,
                        }
                    }
                    if sink.flush().await.is_err() {
                        break;
                    }
                }
            }
        }
        let _ = done_tx.send(());
    });
    loop {
        tokio::select! {
            _ = &mut done => break,
            msg = stream.next() => match msg {
                Some(Ok(Message::Text(text))) => {
                    let rx = wall_us();
                    match hub::parse_client(text.as_str()) {
                        Ok(frame) => sender.send(frame, rx).await,
                        Err(code) => sender.error(code),
                    }
                }
                Some(Ok(Message::Binary(_))) => sender.error("live-frame-invalid"),
                Some(Ok(Message::Close(_))) | None => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    // An oversized frame ends the connection at the protocol level.
                    tracing::debug!(error = %e, "room socket error");
                    break;
                }
            }
        }
    }
    sender.leave().await;
    writer.abort();
}

#[derive(Deserialize)]
struct BannerQuery {
    w: i64,
}

async fn banner_click(
    state: &AppState,
    ctx: &Ctx,
    headers: &HeaderMap,
    b: &Banner,
    w: i64,
) -> Result<(), PageError> {
    let webinar = webinars::find(&state.db, w).await?;
    if webinar.room_id != b.room_id {
        return Err(PageError(Error::NotFound));
    }
    let participant = match (&ctx.user, guest_cookie(headers)) {
        (Some(u), _) => format!("u{}", u.id.0),
        (None, Some(g)) => format!("g{}", &g[..16]),
        (None, None) => "g".into(),
    };
    activity::record(
        &state.db,
        Record {
            org: b.org_id,
            webinar: w,
            participant,
            kind: Kind::BannerClick,
            ref_id: Some(b.id),
            value: 0,
            at: state.db.now(),
        },
    )
    .await?;
    Ok(())
}

/// A click on a banner's link: counted, then on to the address.
async fn banner_go(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(b): Path<i64>,
    Query(q): Query<BannerQuery>,
) -> Result<Response, PageError> {
    let banner = banners::find(&state.db, b).await?;
    banner_click(&state, &ctx, &headers, &banner, q.w).await?;
    if let Some(p) = banner.product_id {
        let org = organizers::get(&state.db, banner.org_id).await?;
        return Ok(see_other(&format!("/o/{}/products/{p}", org.profile.slug)));
    }
    Ok(see_other(&banner.button_url))
}

#[derive(Deserialize)]
struct BuyForm {
    w: i64,
    key: String,
}

/// "Buy" on a banner: the click is counted and an ordinary order placed
/// for the banner's product, remembered as coming from this banner in this
/// session; the buyer pays it on the order's page.
async fn banner_buy(
    State(state): State<AppState>,
    ctx: Ctx,
    headers: HeaderMap,
    Path(b): Path<i64>,
    CsrfForm(form): CsrfForm<BuyForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let banner = banners::find(&state.db, b).await?;
    let product = banner.product_id.ok_or(Error::NotFound)?;
    banner_click(&state, &ctx, &headers, &banner, form.w).await?;
    let shown = ShownOffer {
        ip: ctx.origin.ip.clone(),
        user_agent: ctx.origin.user_agent.clone(),
        locale: ctx.tr.lang().to_string(),
        wording: ctx.tr.t("billing-order-accepts-offer"),
    };
    let order = orders::create(
        &state.db,
        banner.org_id,
        user.id,
        NewOrder {
            product_id: product,
            plan: PayPlan::Full,
            offer_version_id: None,
        },
        &shown,
        &format!("live-banner-{}-{}", banner.id, form.key),
    )
    .await?;
    banners::record_order(&state.db, &banner, form.w, order.id).await?;
    Ok(see_other(&format!("/cabinet/orders/{}", order.id)))
}
