//! Offers and personal data on the site: an organizer's (and the
//! operator's) offers, versions and privacy settings; the public pages of
//! every version with its raw text; "My documents" with downloads of what
//! was accepted (HTML, PDF, acceptance certificate); the acceptance page
//! shown after signing in; notifications; the privacy page (consents,
//! name, export, erasure); and the organizer's customers with the log of
//! who looked at them. Rules live in `tabys_offers`; this module extracts,
//! checks access and renders.

use askama::Template;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_core::ids::{OrgId, UserId};
use tabys_core::locale::Locale;
use tabys_core::{Error, Timestamp};
use tabys_notify::Notification;
use tabys_offers::acceptance::{self, Presented};
use tabys_offers::access::{self, AccessEntry, Customer, CustomerCard, Viewer};
use tabys_offers::consent::{self, ConsentKind, ConsentState, PrivacySettings};
use tabys_offers::objection::{self, Listed};
use tabys_offers::offer::{self, OfferSettings, PLATFORM_NAME};
use tabys_offers::rights::{self, DeletionRequest};
use tabys_offers::standing::{self, Standing};
use tabys_offers::version::{self, Draft, VersionInput};
use tabys_offers::{Acceptance, Evidence, Method, Offer, OfferKind, Publisher, Version};

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx, SESSION_COOKIE, set_cookie};
use crate::error::PageError;
use crate::i18n::Tr;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}/offers", get(org_offers).post(org_create_offer))
        .route("/org/{org}/offers/{offer}", get(org_edit_offer))
        .route(
            "/org/{org}/offers/{offer}/settings",
            post(org_configure_offer),
        )
        .route("/org/{org}/offers/{offer}/version", post(org_save_version))
        .route("/org/{org}/privacy", post(org_privacy))
        .route("/org/{org}/customers", get(customers_page))
        .route("/org/{org}/customers/{user}", get(customer_page))
        .route("/org/{org}/access-log", get(access_log_page))
        .route(
            "/admin/offers",
            get(platform_offers).post(platform_create_offer),
        )
        .route("/admin/offers/{offer}", get(platform_edit_offer))
        .route(
            "/admin/offers/{offer}/settings",
            post(platform_configure_offer),
        )
        .route("/admin/offers/{offer}/version", post(platform_save_version))
        .route("/admin/privacy", post(platform_privacy))
        .route("/offers", get(platform_public))
        .route("/offers/{version}", get(platform_version))
        .route("/offers/{version}/text/{lang}", get(platform_text))
        .route("/o/{slug}/offers", get(org_public))
        .route("/o/{slug}/offers/{version}", get(org_version))
        .route("/o/{slug}/offers/{version}/text/{lang}", get(org_text))
        .route("/cabinet/documents", get(documents))
        .route("/cabinet/documents/{id}/html", get(accepted_html))
        .route("/cabinet/documents/{id}/pdf", get(accepted_pdf))
        .route("/cabinet/documents/{id}/certificate", get(certificate_pdf))
        .route("/cabinet/documents/object/{version}", post(object))
        .route("/cabinet/accept", get(accept_page).post(accept))
        .route("/cabinet/notifications", get(notifications))
        .route("/cabinet/notifications/read", post(read_all))
        .route("/cabinet/privacy", get(privacy_page))
        .route("/cabinet/privacy/consent", post(set_consent))
        .route("/cabinet/privacy/name", post(rename))
        .route("/cabinet/privacy/export", get(export))
        .route("/cabinet/privacy/delete", post(request_deletion))
}

// ---------------------------------------------------------------- words

/// An offer kind's name in the reader's language.
pub fn kind_name(tr: &Tr, kind: OfferKind) -> String {
    tr.t(&format!("offer-kind-{}", kind.code()))
}

pub fn method_name(tr: &Tr, method: Method) -> String {
    tr.t(&format!("offer-method-{}", method.code()))
}

/// Kazakhstan's civil time, as every date on these pages is shown.
fn evidence(ctx: &Ctx, wording: String) -> Evidence {
    Evidence {
        origin: ctx.origin.clone(),
        locale: Some(ctx.tr.locale),
        wording,
    }
}

/// Where a version's pages live.
fn version_url(slug: Option<&str>, id: i64) -> String {
    match slug {
        Some(s) => format!("/o/{s}/offers/{id}"),
        None => format!("/offers/{id}"),
    }
}

/// Reads a `datetime-local` value as Kazakhstan time; empty means "on publication".
fn parse_local(raw: &str) -> Result<Option<Timestamp>, Error> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let civil: jiff::civil::DateTime = raw
        .parse()
        .map_err(|_| Error::invalid("effective_at", "offer-effective-format"))?;
    let zoned = civil
        .to_zoned(tabys_core::calendar::almaty())
        .map_err(|_| Error::invalid("effective_at", "offer-effective-format"))?;
    Ok(Some(Timestamp::from_jiff(zoned.timestamp())))
}

fn local_value(t: Option<Timestamp>) -> String {
    t.map(|t| {
        t.to_jiff()
            .to_zoned(tabys_core::calendar::almaty())
            .strftime("%Y-%m-%dT%H:%M")
            .to_string()
    })
    .unwrap_or_default()
}

// ------------------------------------------------------- acceptance boxes

/// One document in a box's list.
pub struct BoxItem {
    pub title: String,
    pub url: String,
    pub hash: String,
}

/// The unticked boxes of a sign-up, join or first-login form, with the
/// exact words recorded as evidence.
pub struct Boxes {
    pub items: Vec<BoxItem>,
    /// The hidden field naming the versions shown.
    pub field: String,
    /// The words beside the offers box, recorded with each acceptance.
    pub label: String,
    /// Purposes of processing, per publisher; empty when no consent is asked.
    pub purposes: Vec<(String, Vec<String>)>,
}

impl Boxes {
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// The boxes for a list of versions; `consent_to` are the publishers
/// whose purposes the consent box lists.
pub async fn boxes(
    state: &AppState,
    tr: &Tr,
    versions: &[Version],
    consent_to: &[Publisher],
) -> Result<Boxes, Error> {
    let mut items = Vec::new();
    for v in versions {
        let (name, slug) = publisher_name_slug(state, v.publisher()).await?;
        items.push(BoxItem {
            title: format!(
                "{} — {}, {}",
                kind_name(tr, v.kind),
                name,
                tr.t1("offers-version-n", "number", &v.number.to_string())
            ),
            url: version_url(slug.as_deref(), v.id),
            hash: v.hash.clone(),
        });
    }
    let titles: Vec<&str> = items.iter().map(|i| i.title.as_str()).collect();
    let label = tr.t1("offers-accept-label", "documents", &titles.join("; "));
    let mut purposes = Vec::new();
    if !versions.is_empty() {
        for p in consent_to {
            let (name, _) = publisher_name_slug(state, *p).await?;
            purposes.push((
                name,
                consent::settings(&state.db, *p)
                    .await?
                    .purpose_list(tr.locale),
            ));
        }
    }
    let refs: Vec<&Version> = versions.iter().collect();
    Ok(Boxes {
        items,
        field: Presented::field(&refs),
        label,
        purposes,
    })
}

async fn publisher_name_slug(
    state: &AppState,
    p: Publisher,
) -> Result<(String, Option<String>), Error> {
    match p {
        Publisher::Platform => Ok((PLATFORM_NAME.to_string(), None)),
        Publisher::Org(o) => {
            let org = organizers::get(&state.db, o).await?;
            Ok((org.profile.legal_name, Some(org.profile.slug)))
        }
    }
}

// ------------------------------------------------- managing offers (staff)

/// Where offers are managed: an organizer's pages or the operator's.
struct Desk {
    publisher: Publisher,
    base: String,
    title: String,
    org: Option<Organizer>,
    can_edit: bool,
}

async fn org_desk(state: &AppState, ctx: &Ctx, org: i64) -> Result<Desk, PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, OrgId(org)).await?;
    let o = organizers::get(&state.db, OrgId(org)).await?;
    Ok(Desk {
        publisher: Publisher::Org(o.id),
        base: format!("/org/{org}"),
        title: o.profile.legal_name.clone(),
        org: Some(o),
        can_edit: role.edits_profile(),
    })
}

fn platform_desk(ctx: &Ctx) -> Result<Desk, PageError> {
    ctx.operator()?;
    Ok(Desk {
        publisher: Publisher::Platform,
        base: "/admin".into(),
        title: PLATFORM_NAME.into(),
        org: None,
        can_edit: true,
    })
}

fn editor(desk: &Desk) -> Result<(), PageError> {
    if desk.can_edit {
        Ok(())
    } else {
        Err(PageError(Error::Forbidden))
    }
}

struct OfferRow {
    offer: Offer,
    versions: Vec<(Version, i64)>,
}

#[derive(Template)]
#[template(path = "offers/manage.html")]
struct Manage {
    l: Layout,
    title: String,
    base: String,
    org: Option<Organizer>,
    can_edit: bool,
    rows: Vec<OfferRow>,
    kinds: Vec<OfferKind>,
    methods: [Method; 4],
    objections: Vec<Listed>,
    privacy: PrivacySettings,
    public_url: String,
    errors: FormErrors,
}

impl Manage {
    fn kind(&self, k: &OfferKind) -> String {
        kind_name(&self.l.t, *k)
    }

    fn method(&self, m: &Method) -> String {
        method_name(&self.l.t, *m)
    }
}

async fn manage(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let offers = offer::list(&state.db, desk.publisher).await?;
    let mut rows = Vec::new();
    for o in offers {
        let counts = acceptance::counts(&state.db, desk.publisher, o.id).await?;
        let versions = version::list(&state.db, desk.publisher, o.id)
            .await?
            .into_iter()
            .map(|v| {
                let n = counts
                    .iter()
                    .find(|(id, _)| *id == v.id)
                    .map_or(0, |(_, n)| *n);
                (v, n)
            })
            .collect();
        rows.push(OfferRow { offer: o, versions });
    }
    let kinds = OfferKind::ALL
        .into_iter()
        .filter(|k| rows.iter().all(|r| r.offer.kind != *k))
        .collect();
    let page = Manage {
        l: Layout::new(ctx),
        title: desk.title,
        public_url: match &desk.org {
            Some(o) => format!("/o/{}/offers", o.profile.slug),
            None => "/offers".into(),
        },
        base: desk.base,
        org: desk.org,
        can_edit: desk.can_edit,
        rows,
        kinds,
        methods: Method::CONFIGURABLE,
        objections: objection::for_publisher(&state.db, desk.publisher).await?,
        privacy: consent::settings(&state.db, desk.publisher).await?,
        errors,
    };
    let status = if page.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn org_offers(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    manage(&state, &ctx, desk, FormErrors::default()).await
}

async fn platform_offers(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    manage(&state, &ctx, desk, FormErrors::default()).await
}

#[derive(Debug, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    notice_days: String,
    m_checkbox: Option<String>,
    m_payment: Option<String>,
    m_first_login: Option<String>,
    m_renewal: Option<String>,
}

impl SettingsForm {
    fn settings(&self) -> Result<OfferSettings, Error> {
        let notice_days = match self.notice_days.trim() {
            "" => 0,
            n => n
                .parse()
                .map_err(|_| Error::invalid("notice_days", "offer-notice-days-range"))?,
        };
        let picked = [
            (Method::Checkbox, &self.m_checkbox),
            (Method::Payment, &self.m_payment),
            (Method::FirstLogin, &self.m_first_login),
            (Method::Renewal, &self.m_renewal),
        ];
        let methods = picked
            .into_iter()
            .filter(|(_, v)| v.is_some())
            .map(|(m, _)| m)
            .collect();
        Ok(OfferSettings {
            methods,
            notice_days,
        })
    }
}

async fn create_offer(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    form: SettingsForm,
) -> Result<Response, PageError> {
    editor(&desk)?;
    let user = ctx.user()?;
    let outcome = match (OfferKind::parse(&form.kind), form.settings()) {
        (None, _) => Err(Error::invalid("kind", "offer-kind-unknown")),
        (_, Err(e)) => Err(e),
        (Some(kind), Ok(settings)) => {
            offer::create(&state.db, desk.publisher, user.id, kind, &settings).await
        }
    };
    match outcome {
        Ok(o) => Ok(see_other(&format!("{}/offers/{}", desk.base, o.id))),
        Err(Error::Invalid(fields)) => {
            manage(state, ctx, desk, FormErrors::new(ctx.tr, fields)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn org_create_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    create_offer(&state, &ctx, desk, form).await
}

async fn platform_create_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    create_offer(&state, &ctx, desk, form).await
}

#[derive(Debug, Default, Deserialize)]
struct VersionForm {
    #[serde(default)]
    text_ru: String,
    #[serde(default)]
    text_kk: String,
    #[serde(default)]
    text_en: String,
    #[serde(default)]
    effective_at: String,
    /// `publish` or `save` (the draft), from the button pressed.
    #[serde(default)]
    action: String,
}

#[derive(Template)]
#[template(path = "offers/edit.html")]
struct Edit {
    l: Layout,
    title: String,
    base: String,
    org: Option<Organizer>,
    can_edit: bool,
    offer: Offer,
    versions: Vec<Version>,
    form: VersionForm,
    draft_saved: Option<Timestamp>,
    methods: [Method; 4],
    public_base: String,
    now: Timestamp,
    errors: FormErrors,
}

impl Edit {
    fn kind(&self) -> String {
        kind_name(&self.l.t, self.offer.kind)
    }

    fn method(&self, m: &Method) -> String {
        method_name(&self.l.t, *m)
    }

    fn has(&self, m: &Method) -> bool {
        self.offer.accepts_by(*m)
    }

    fn in_effect(&self, v: &Version) -> bool {
        v.is_in_effect(self.now)
    }
}

/// The editor's page; `form` is what to show in the version editor.
async fn edit_page(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    offer_id: i64,
    form: Option<VersionForm>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let o = offer::get(&state.db, desk.publisher, offer_id).await?;
    let versions = version::list(&state.db, desk.publisher, o.id).await?;
    let draft: Option<Draft> = version::draft(&state.db, desk.publisher, o.id).await?;
    let draft_saved = draft.as_ref().map(|d| d.updated_at);
    let form = match (form, draft, versions.first()) {
        (Some(f), _, _) => f,
        (None, Some(d), _) => VersionForm {
            text_ru: d.text_ru,
            text_kk: d.text_kk,
            text_en: d.text_en,
            effective_at: local_value(d.effective_at),
            action: String::new(),
        },
        // Editing a published offer starts from its newest text: the result is a new version.
        (None, None, Some(v)) => VersionForm {
            text_ru: v.texts.ru.clone(),
            text_kk: v.texts.kk.clone(),
            text_en: v.texts.en.clone().unwrap_or_default(),
            effective_at: String::new(),
            action: String::new(),
        },
        (None, None, None) => VersionForm::default(),
    };
    let page = Edit {
        l: Layout::new(ctx),
        now: state.db.now(),
        title: desk.title,
        public_base: match &desk.org {
            Some(org) => format!("/o/{}/offers", org.profile.slug),
            None => "/offers".into(),
        },
        base: desk.base,
        org: desk.org,
        can_edit: desk.can_edit,
        offer: o,
        versions,
        form,
        draft_saved,
        methods: Method::CONFIGURABLE,
        errors,
    };
    let status = if page.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn org_edit_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, offer)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    edit_page(&state, &ctx, desk, offer, None, FormErrors::default()).await
}

async fn platform_edit_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(offer): Path<i64>,
) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    edit_page(&state, &ctx, desk, offer, None, FormErrors::default()).await
}

async fn configure_offer(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    offer_id: i64,
    form: SettingsForm,
) -> Result<Response, PageError> {
    editor(&desk)?;
    let user = ctx.user()?;
    let outcome = match form.settings() {
        Ok(s) => offer::configure(&state.db, desk.publisher, offer_id, user.id, &s).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("{}/offers/{offer_id}", desk.base))),
        Err(Error::Invalid(fields)) => {
            edit_page(
                state,
                ctx,
                desk,
                offer_id,
                None,
                FormErrors::new(ctx.tr, fields),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn org_configure_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, offer)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    configure_offer(&state, &ctx, desk, offer, form).await
}

async fn platform_configure_offer(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(offer): Path<i64>,
    CsrfForm(form): CsrfForm<SettingsForm>,
) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    configure_offer(&state, &ctx, desk, offer, form).await
}

async fn save_version(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    offer_id: i64,
    form: VersionForm,
) -> Result<Response, PageError> {
    editor(&desk)?;
    let user = ctx.user()?;
    let outcome = match parse_local(&form.effective_at) {
        Err(e) => Err(e),
        Ok(effective_at) => {
            let input = VersionInput {
                text_ru: form.text_ru.clone(),
                text_kk: form.text_kk.clone(),
                text_en: form.text_en.clone(),
                effective_at,
            };
            if form.action == "publish" {
                version::publish(&state.db, desk.publisher, offer_id, user.id, &input)
                    .await
                    .map(|_| "published")
            } else {
                version::save_draft(&state.db, desk.publisher, offer_id, user.id, &input)
                    .await
                    .map(|_| "saved")
            }
        }
    };
    match outcome {
        Ok(done) => Ok(see_other(&format!(
            "{}/offers/{offer_id}?{done}=1",
            desk.base
        ))),
        Err(Error::Invalid(fields)) => {
            edit_page(
                state,
                ctx,
                desk,
                offer_id,
                Some(form),
                FormErrors::new(ctx.tr, fields),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn org_save_version(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, offer)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    save_version(&state, &ctx, desk, offer, form).await
}

async fn platform_save_version(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(offer): Path<i64>,
    CsrfForm(form): CsrfForm<VersionForm>,
) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    save_version(&state, &ctx, desk, offer, form).await
}

#[derive(Debug, Default, Deserialize)]
struct PrivacyForm {
    #[serde(default)]
    purposes_ru: String,
    #[serde(default)]
    purposes_kk: String,
    #[serde(default)]
    purposes_en: String,
    #[serde(default)]
    retention_days: String,
}

async fn save_privacy(
    state: &AppState,
    ctx: &Ctx,
    desk: Desk,
    form: PrivacyForm,
) -> Result<Response, PageError> {
    editor(&desk)?;
    let user = ctx.user()?;
    let outcome = match form.retention_days.trim().parse::<i64>() {
        Err(_) => Err(Error::invalid("retention_days", "retention-range")),
        Ok(retention_days) => {
            let input = PrivacySettings {
                purposes_ru: form.purposes_ru,
                purposes_kk: form.purposes_kk,
                purposes_en: form.purposes_en,
                retention_days,
            };
            consent::save_settings(&state.db, desk.publisher, user.id, input).await
        }
    };
    match outcome {
        Ok(_) => Ok(see_other(&format!("{}/offers?privacy=1", desk.base))),
        Err(Error::Invalid(fields)) => {
            manage(state, ctx, desk, FormErrors::new(ctx.tr, fields)).await
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn org_privacy(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<PrivacyForm>,
) -> Result<Response, PageError> {
    let desk = org_desk(&state, &ctx, org).await?;
    save_privacy(&state, &ctx, desk, form).await
}

async fn platform_privacy(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<PrivacyForm>,
) -> Result<Response, PageError> {
    let desk = platform_desk(&ctx)?;
    save_privacy(&state, &ctx, desk, form).await
}

// ---------------------------------------------------------- public pages

#[derive(Template)]
#[template(path = "offers/public.html")]
struct Public {
    l: Layout,
    name: String,
    base: String,
    rows: Vec<(Offer, Vec<Version>)>,
    now: i64,
}

impl Public {
    fn kind(&self, k: &OfferKind) -> String {
        kind_name(&self.l.t, *k)
    }
}

async fn public(
    state: &AppState,
    ctx: &Ctx,
    publisher: Publisher,
    name: String,
    base: String,
) -> Result<Response, PageError> {
    let mut rows = Vec::new();
    for o in offer::list(&state.db, publisher).await? {
        let versions = version::list(&state.db, publisher, o.id).await?;
        if !versions.is_empty() {
            rows.push((o, versions));
        }
    }
    render(&Public {
        l: Layout::new(ctx),
        name,
        base,
        rows,
        now: state.db.now().0,
    })
}

async fn platform_public(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    public(
        &state,
        &ctx,
        Publisher::Platform,
        PLATFORM_NAME.into(),
        "/offers".into(),
    )
    .await
}

async fn org_public(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    continued_use(&state, &ctx, Some(Publisher::Org(org.id))).await?;
    public(
        &state,
        &ctx,
        Publisher::Org(org.id),
        org.profile.legal_name,
        format!("/o/{slug}/offers"),
    )
    .await
}

#[derive(Template)]
#[template(path = "offers/version.html")]
struct VersionPage {
    l: Layout,
    name: String,
    base: String,
    version: Version,
    shown: Locale,
    text: String,
    in_effect: bool,
}

impl VersionPage {
    fn kind(&self) -> String {
        kind_name(&self.l.t, self.version.kind)
    }

    fn languages(&self) -> Vec<Locale> {
        self.version.texts.languages()
    }

    fn is_shown(&self, l: impl std::borrow::Borrow<Locale>) -> bool {
        *l.borrow() == self.shown
    }
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

async fn version_page(
    state: &AppState,
    ctx: &Ctx,
    publisher: Publisher,
    id: i64,
    lang: Option<String>,
    base: String,
) -> Result<Response, PageError> {
    let v = version::get(&state.db, publisher, id).await?;
    let wanted = lang
        .as_deref()
        .and_then(Locale::parse)
        .unwrap_or(ctx.tr.locale);
    let (shown, text) = v.texts.shown(wanted);
    let (name, _) = publisher_name_slug(state, publisher).await?;
    let page = VersionPage {
        l: Layout::new(ctx),
        name,
        base,
        in_effect: v.is_in_effect(state.db.now()),
        shown,
        text: text.to_string(),
        version: v,
    };
    render(&page)
}

async fn platform_version(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    version_page(
        &state,
        &ctx,
        Publisher::Platform,
        id,
        q.lang,
        "/offers".into(),
    )
    .await
}

async fn org_version(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, id)): Path<(String, i64)>,
    Query(q): Query<LangQuery>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    version_page(
        &state,
        &ctx,
        Publisher::Org(org.id),
        id,
        q.lang,
        format!("/o/{slug}/offers"),
    )
    .await
}

/// The raw text of one language, byte for byte as published.
fn raw_text(v: &Version, lang: &str) -> Result<Response, PageError> {
    let locale = Locale::parse(lang).ok_or(PageError(Error::NotFound))?;
    let text = v.texts.get(locale).ok_or(PageError(Error::NotFound))?;
    let name = format!(
        "offer-{}-v{}-{}.txt",
        v.kind.code(),
        v.number,
        locale.code()
    );
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "text/plain; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}\""),
            ),
            (
                header::HeaderName::from_static("x-offer-hash"),
                v.hash.clone(),
            ),
        ],
        text.to_string(),
    )
        .into_response())
}

async fn platform_text(
    State(state): State<AppState>,
    Path((id, lang)): Path<(i64, String)>,
) -> Result<Response, PageError> {
    raw_text(
        &version::get(&state.db, Publisher::Platform, id).await?,
        &lang,
    )
}

async fn org_text(
    State(state): State<AppState>,
    Path((slug, id, lang)): Path<(String, i64, String)>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    raw_text(
        &version::get(&state.db, Publisher::Org(org.id), id).await?,
        &lang,
    )
}

// ------------------------------------------------------------- cabinet

/// Before the cabinet: records acceptance by continued use (LZ 12.2.1)
/// and sends the person to accept first-login offers. Returns the redirect
/// when there is something to accept.
pub async fn before_cabinet(state: &AppState, ctx: &Ctx) -> Result<Option<Response>, PageError> {
    let user = ctx.user()?;
    continued_use(state, ctx, None).await?;
    if acceptance::first_login_pending(&state.db, user.id)
        .await?
        .is_empty()
    {
        Ok(None)
    } else {
        Ok(Some(see_other(&format!(
            "/cabinet/accept?next={}",
            crate::error::urlencode(&ctx.path)
        ))))
    }
}

/// Records acceptance by continued use for a signed-in visitor; nothing for anyone else.
pub async fn continued_use(
    state: &AppState,
    ctx: &Ctx,
    only: Option<Publisher>,
) -> Result<(), PageError> {
    if let Some(user) = &ctx.user {
        let ev = evidence(ctx, ctx.tr.t("offers-continued-use-wording"));
        acceptance::record_continued_use(&state.db, user.id, only, &ev).await?;
    }
    Ok(())
}

pub(crate) const SECTIONS: &[(&str, &str)] = &super::cabinet::SECTIONS;

#[derive(Template)]
#[template(path = "offers/documents.html")]
struct Documents {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    rows: Vec<Standing>,
    errors: FormErrors,
    done: bool,
    /// Invoices and receipts, listed by the money pages' own block.
    money: super::billing::MoneyDocuments,
}

impl Documents {
    fn kind(&self, k: &OfferKind) -> String {
        kind_name(&self.l.t, *k)
    }

    fn method(&self, m: &Method) -> String {
        method_name(&self.l.t, *m)
    }

    fn url(&self, s: &Standing, v: &Version) -> String {
        version_url(s.publisher_slug.as_deref(), v.id)
    }
}

#[derive(Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn documents_page(
    state: &AppState,
    ctx: &Ctx,
    errors: FormErrors,
    done: bool,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let rows = standing::of_user(&state.db, user.id).await?;
    let page = Documents {
        l: Layout::new(ctx),
        sections: SECTIONS,
        rows,
        errors,
        done,
        money: super::billing::money_documents(state, user.id).await?,
    };
    let status = if page.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn documents(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    if let Some(redirect) = before_cabinet(&state, &ctx).await? {
        return Ok(redirect);
    }
    documents_page(&state, &ctx, FormErrors::default(), q.done.is_some()).await
}

#[derive(Deserialize)]
struct ObjectionForm {
    #[serde(default)]
    text: String,
}

async fn object(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(version_id): Path<i64>,
    CsrfForm(form): CsrfForm<ObjectionForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let ev = evidence(&ctx, String::new());
    match objection::object(&state.db, user.id, version_id, &form.text, &ev).await {
        Ok(_) => Ok(see_other("/cabinet/documents?done=1")),
        Err(Error::Invalid(fields)) => {
            documents_page(&state, &ctx, FormErrors::new(ctx.tr, fields), false).await
        }
        Err(Error::Conflict(code)) => {
            documents_page(
                &state,
                &ctx,
                FormErrors::new(
                    ctx.tr,
                    vec![tabys_core::FieldError {
                        field: "form",
                        code,
                    }],
                ),
                false,
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

#[derive(Template)]
#[template(path = "offers/accepted.html")]
struct Accepted {
    t: Tr,
    title: String,
    publisher: String,
    version: Version,
    acceptance: Acceptance,
    shown: Locale,
    others: Vec<(Locale, String)>,
    text: String,
}

impl Accepted {
    fn method(&self) -> String {
        method_name(&self.t, self.acceptance.method)
    }
}

async fn accepted_parts(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
) -> Result<(Acceptance, Version, Offer, String), PageError> {
    let user = ctx.user()?;
    let (a, v, o) = acceptance::own(&state.db, user.id, id).await?;
    let name = o.publisher().name(&state.db).await?;
    Ok((a, v, o, name))
}

/// The version exactly as accepted, as a standalone HTML file: the text in
/// the language shown at acceptance first, then the others.
async fn accepted_html(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (a, v, o, publisher) = accepted_parts(&state, &ctx, id).await?;
    let (shown, text) = v.texts.shown(a.locale);
    let others = v
        .texts
        .languages()
        .into_iter()
        .filter(|l| *l != shown)
        .filter_map(|l| v.texts.get(l).map(|t| (l, t.to_string())))
        .collect();
    let tr = Tr::new(a.locale);
    let page = Accepted {
        t: tr,
        title: kind_name(&tr, o.kind),
        publisher,
        text: text.to_string(),
        shown,
        others,
        version: v,
        acceptance: a,
    };
    let html = page.render().map_err(|e| PageError(Error::internal(e)))?;
    let name = format!(
        "offer-{}-v{}.html",
        page.version.kind.code(),
        page.version.number
    );
    Ok((
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        html,
    )
        .into_response())
}

fn pdf_response(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        bytes,
    )
        .into_response()
}

/// The accepted version as a PDF, in the reader's language for the labels.
async fn accepted_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (a, v, o, publisher) = accepted_parts(&state, &ctx, id).await?;
    let tr = Tr::new(a.locale);
    let mut doc = tabys_render::Document::new(format!("{} — {publisher}", kind_name(&tr, o.kind)));
    doc.key_value(tr.t("offers-version"), v.number.to_string())
        .key_value(tr.t("offers-effective"), tr.when(v.effective_at))
        .key_value(tr.t("offers-hash"), v.hash.clone());
    let (shown, _) = v.texts.shown(a.locale);
    let mut order = vec![shown];
    order.extend(v.texts.languages().into_iter().filter(|l| *l != shown));
    for (i, l) in order.into_iter().enumerate() {
        if let Some(text) = v.texts.get(l) {
            if i > 0 {
                doc.page_break();
            }
            doc.heading(l.native_name()).paragraph(text);
        }
    }
    doc.note(tr.t("offers-russian-prevails"));
    let bytes = doc.to_pdf().map_err(|e| PageError(Error::internal(e)))?;
    Ok(pdf_response(
        bytes,
        &format!("offer-{}-v{}.pdf", v.kind.code(), v.number),
    ))
}

/// The acceptance certificate: who accepted what, when, how and from where.
async fn certificate_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let (a, v, o, publisher) = accepted_parts(&state, &ctx, id).await?;
    let user = ctx.user()?;
    let tr = ctx.tr;
    let audit = acceptance::audit_entry(&state.db, &a).await?;
    let mut doc = tabys_render::Document::new(tr.t("offers-certificate"));
    doc.heading(tr.t("offers-certificate-who"))
        .key_value(tr.t("field-name"), user.name.clone())
        .key_value(tr.t("field-email"), user.email.clone())
        .key_value(tr.t("offers-account"), user.id.to_string())
        .heading(tr.t("offers-certificate-what"))
        .key_value(tr.t("offers-publisher"), publisher)
        .key_value(tr.t("offers-document"), kind_name(&tr, o.kind))
        .key_value(tr.t("offers-version"), v.number.to_string())
        .key_value(tr.t("offers-effective"), tr.when(v.effective_at))
        .key_value(tr.t("offers-hash"), a.version_hash.clone())
        .heading(tr.t("offers-certificate-how"))
        .key_value(
            tr.t("offers-accepted-at"),
            format!(
                "{} ({} UTC)",
                tr.when(a.accepted_at),
                a.accepted_at.rfc3339()
            ),
        )
        .key_value(tr.t("offers-method"), method_name(&tr, a.method))
        .key_value(tr.t("offers-wording"), a.wording.clone())
        .key_value(tr.t("offers-language"), a.locale.native_name())
        .key_value("IP", a.ip.clone())
        .key_value(tr.t("offers-user-agent"), a.user_agent.clone());
    if !a.reference.is_empty() {
        doc.key_value(tr.t("offers-reference"), a.reference.clone());
    }
    if let Some((seq, hash)) = audit {
        doc.key_value(tr.t("offers-audit-entry"), format!("#{seq} {hash}"));
    }
    doc.note(tr.t("offers-certificate-note"));
    let bytes = doc.to_pdf().map_err(|e| PageError(Error::internal(e)))?;
    Ok(pdf_response(bytes, &format!("acceptance-{}.pdf", a.id)))
}

#[derive(Template)]
#[template(path = "offers/accept.html")]
struct AcceptPage {
    l: Layout,
    boxes: Boxes,
    next: String,
    errors: FormErrors,
}

#[derive(Deserialize)]
struct NextQuery {
    next: Option<String>,
}

async fn accept_page_with(
    state: &AppState,
    ctx: &Ctx,
    next: Option<String>,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let pending: Vec<Version> = acceptance::first_login_pending(&state.db, user.id)
        .await?
        .into_iter()
        .map(|(_, v)| v)
        .collect();
    let next = super::safe_next(next.as_deref());
    if pending.is_empty() && !errors.any() {
        return Ok(see_other(&next));
    }
    let page = AcceptPage {
        l: Layout::new(ctx),
        boxes: boxes(state, &ctx.tr, &pending, &[]).await?,
        next,
        errors,
    };
    let status = if page.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn accept_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<NextQuery>,
) -> Result<Response, PageError> {
    accept_page_with(&state, &ctx, q.next, FormErrors::default()).await
}

#[derive(Deserialize)]
struct AcceptForm {
    #[serde(default)]
    offers: String,
    accept: Option<String>,
    next: Option<String>,
}

async fn accept(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<AcceptForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let outcome = async {
        let presented = Presented::parse_list(&form.offers)?;
        let pending: Vec<Version> = acceptance::first_login_pending(&state.db, user.id)
            .await?
            .into_iter()
            .map(|(_, v)| v)
            .collect();
        let label = boxes(&state, &ctx.tr, &pending, &[]).await?.label;
        acceptance::accept_first_login(
            &state.db,
            user.id,
            &presented,
            form.accept.is_some(),
            &evidence(&ctx, label),
        )
        .await
    }
    .await;
    match outcome {
        Ok(_) => Ok(see_other(&super::safe_next(form.next.as_deref()))),
        Err(Error::Invalid(fields)) => {
            accept_page_with(&state, &ctx, form.next, FormErrors::new(ctx.tr, fields)).await
        }
        Err(Error::Conflict(code)) => {
            accept_page_with(
                &state,
                &ctx,
                form.next,
                FormErrors::new(
                    ctx.tr,
                    vec![tabys_core::FieldError {
                        field: "offers",
                        code,
                    }],
                ),
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

// -------------------------------------------------------- notifications

#[derive(Template)]
#[template(path = "offers/notifications.html")]
struct Notifications {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    list: Vec<Notification>,
}

impl Notifications {
    fn text(&self, n: &Notification) -> String {
        let mut args = n.args.clone();
        // A kind code becomes its name in the reader's language.
        if let Some(kind) = args
            .get("kind")
            .and_then(|k| k.as_str())
            .and_then(OfferKind::parse)
        {
            args.insert("document".into(), kind_name(&self.l.t, kind).into());
        }
        self.l.t.with_args(&n.key, &args)
    }
}

async fn notifications(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let list = tabys_notify::list(&state.db, user.id, 200).await?;
    render(&Notifications {
        l: Layout::new(&ctx),
        sections: SECTIONS,
        list,
    })
}

#[derive(Deserialize)]
struct Empty {}

async fn read_all(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    tabys_notify::mark_all_read(&state.db, user.id).await?;
    Ok(see_other("/cabinet/notifications"))
}

// --------------------------------------------------------------- privacy

struct ConsentBlock {
    publisher_key: i64,
    name: String,
    states: Vec<ConsentState>,
    purposes: Vec<String>,
}

#[derive(Template)]
#[template(path = "offers/privacy.html")]
struct Privacy {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    name: String,
    blocks: Vec<ConsentBlock>,
    deletion: Option<DeletionRequest>,
    retention_days: i64,
    errors: FormErrors,
    done: bool,
}

impl Privacy {
    fn consent(&self, k: &ConsentKind) -> String {
        self.l.t.t(&format!("consent-{}", k.code()))
    }
}

async fn privacy_with(
    state: &AppState,
    ctx: &Ctx,
    errors: FormErrors,
    done: bool,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let mut publishers = vec![Publisher::Platform];
    for m in members::memberships(&state.db, user.id).await? {
        publishers.push(Publisher::Org(m.org_id));
    }
    let mut blocks = Vec::new();
    for p in publishers {
        let (name, _) = publisher_name_slug(state, p).await?;
        blocks.push(ConsentBlock {
            publisher_key: p.org().map_or(0, |o| o.0),
            name,
            states: consent::of_user_with(&state.db, user.id, p).await?,
            purposes: consent::settings(&state.db, p)
                .await?
                .purpose_list(ctx.tr.locale),
        });
    }
    let page = Privacy {
        l: Layout::new(ctx),
        sections: SECTIONS,
        name: user.name.clone(),
        blocks,
        deletion: rights::deletion_request(&state.db, user.id).await?,
        retention_days: rights::retention_days(&state.db, user.id).await?,
        errors,
        done,
    };
    let status = if page.errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((status, render(&page)?).into_response())
}

async fn privacy_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Query(q): Query<DoneQuery>,
) -> Result<Response, PageError> {
    privacy_with(&state, &ctx, FormErrors::default(), q.done.is_some()).await
}

#[derive(Deserialize)]
struct ConsentForm {
    #[serde(default)]
    publisher: i64,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    granted: String,
}

async fn set_consent(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<ConsentForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let kind =
        ConsentKind::parse(&form.kind).ok_or(PageError(Error::invalid("kind", "bad-request")))?;
    let publisher = if form.publisher == 0 {
        Publisher::Platform
    } else {
        Publisher::Org(OrgId(form.publisher))
    };
    let granted = form.granted == "1";
    consent::set(
        &state.db,
        user.id,
        publisher,
        kind,
        granted,
        &evidence(&ctx, String::new()),
    )
    .await?;
    Ok(see_other("/cabinet/privacy?done=1"))
}

#[derive(Deserialize)]
struct NameForm {
    #[serde(default)]
    name: String,
}

async fn rename(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<NameForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    match rights::rename(&state.db, user.id, &form.name).await {
        Ok(()) => Ok(see_other("/cabinet/privacy?done=1")),
        Err(Error::Invalid(fields)) => {
            privacy_with(&state, &ctx, FormErrors::new(ctx.tr, fields), false).await
        }
        Err(e) => Err(PageError(e)),
    }
}

/// Everything held on the person, as a JSON file.
async fn export(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let doc = rights::export(&state.db, user.id).await?;
    let body = serde_json::to_string_pretty(&doc).map_err(|e| PageError(Error::internal(e)))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                "application/json; charset=utf-8".to_string(),
            ),
            (
                header::CONTENT_DISPOSITION,
                format!(
                    "attachment; filename=\"tabys-personal-data-{}.json\"",
                    user.id
                ),
            ),
        ],
        body,
    )
        .into_response())
}

async fn request_deletion(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    match rights::request_deletion(&state.db, user.id).await {
        Ok(_) => {
            let mut response = see_other("/?account-closed=1");
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie(SESSION_COOKIE, "", 0, true, state.config.secure_cookies),
            );
            Ok(response)
        }
        Err(Error::Conflict(code)) => {
            privacy_with(
                &state,
                &ctx,
                FormErrors::new(
                    ctx.tr,
                    vec![tabys_core::FieldError {
                        field: "delete",
                        code,
                    }],
                ),
                false,
            )
            .await
        }
        Err(e) => Err(PageError(e)),
    }
}

// ------------------------------------------------------------- customers

async fn viewer(state: &AppState, ctx: &Ctx, org: OrgId) -> Result<(Viewer, Organizer), PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, org).await?;
    if !access::sees_customers(role) {
        return Err(PageError(Error::Forbidden));
    }
    Ok((
        Viewer {
            user: user.id,
            role,
            ip: ctx.origin.ip.clone(),
        },
        organizers::get(&state.db, org).await?,
    ))
}

#[derive(Template)]
#[template(path = "offers/customers.html")]
struct Customers {
    l: Layout,
    org: Organizer,
    list: Vec<Customer>,
    revoked: Vec<(UserId, Timestamp)>,
    owner: bool,
}

impl Customers {
    fn revoked_at(&self, user: &UserId) -> Option<String> {
        self.revoked
            .iter()
            .find(|(u, _)| u == user)
            .map(|(_, t)| self.l.t.when(t))
    }
}

async fn customers_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let (viewer, o) = viewer(&state, &ctx, OrgId(org)).await?;
    let list = access::customers(&state.db, o.id, &viewer).await?;
    let revoked = consent::revocations(&state.db, o.id).await?;
    render(&Customers {
        l: Layout::new(&ctx),
        owner: viewer.role == Role::Owner,
        org: o,
        list,
        revoked,
    })
}

#[derive(Template)]
#[template(path = "offers/customer.html")]
struct CustomerPage {
    l: Layout,
    org: Organizer,
    card: CustomerCard,
}

impl CustomerPage {
    fn method(&self, m: &Method) -> String {
        method_name(&self.l.t, *m)
    }

    fn consent(&self, k: &ConsentKind) -> String {
        self.l.t.t(&format!("consent-{}", k.code()))
    }
}

async fn customer_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, user)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    let (viewer, o) = viewer(&state, &ctx, OrgId(org)).await?;
    let card = access::customer_card(&state.db, o.id, &viewer, UserId(user)).await?;
    render(&CustomerPage {
        l: Layout::new(&ctx),
        org: o,
        card,
    })
}

#[derive(Template)]
#[template(path = "offers/access_log.html")]
struct AccessLog {
    l: Layout,
    org: Organizer,
    entries: Vec<AccessEntry>,
}

impl AccessLog {
    fn what(&self, what: &str) -> String {
        self.l.t.prefixed("org-access-", what)
    }
}

async fn access_log_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, OrgId(org)).await?;
    let entries = access::access_log(&state.db, OrgId(org), role, 500).await?;
    render(&AccessLog {
        l: Layout::new(&ctx),
        org: organizers::get(&state.db, OrgId(org)).await?,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_method_and_consent_has_a_name_in_every_language() {
        for locale in Locale::ALL {
            let tr = Tr::new(locale);
            for k in OfferKind::ALL {
                assert!(
                    tr.has(&format!("offer-kind-{}", k.code())),
                    "{locale} lacks kind {}",
                    k.code()
                );
            }
            for m in [
                Method::Checkbox,
                Method::Payment,
                Method::FirstLogin,
                Method::Renewal,
                Method::ContinuedUse,
            ] {
                assert!(
                    tr.has(&format!("offer-method-{}", m.code())),
                    "{locale} lacks method {}",
                    m.code()
                );
            }
            for c in ConsentKind::ALL {
                assert!(
                    tr.has(&format!("consent-{}", c.code())),
                    "{locale} lacks consent {}",
                    c.code()
                );
            }
            for code in [
                "offer-text-required",
                "offer-text-invalid",
                "offer-effective-in-past",
                "offer-effective-before-previous",
                "offer-notice-too-short",
                "offer-effective-format",
                "offer-notice-days-range",
                "offer-method-unknown",
                "offer-kind-exists",
                "offer-kind-unknown",
                "offer-version-mismatch",
                "offer-hash-mismatch",
                "offer-not-current",
                "offer-already-accepted",
                "offer-acceptance-required",
                "consent-required",
                "offer-objection-too-late",
                "offer-already-objected",
                "retention-range",
                "deletion-owner",
                "deletion-pending",
                "already-member",
            ] {
                assert!(tr.has(&format!("err-{code}")), "{locale} lacks err-{code}");
            }
        }
    }

    #[test]
    fn effective_time_is_read_as_kazakhstan_time() -> Result<(), Error> {
        // 14:00 in Almaty is 09:00 UTC.
        let t = parse_local("2026-03-04T14:00")?.ok_or(Error::NotFound)?;
        assert_eq!(t.rfc3339(), "2026-03-04T09:00:00Z");
        assert_eq!(local_value(Some(t)), "2026-03-04T14:00");
        assert!(parse_local("")?.is_none());
        assert!(parse_local("tomorrow").is_err());
        Ok(())
    }

    #[test]
    fn new_version_notification_renders_in_each_language_with_the_documents_name() {
        let mut args = serde_json::Map::new();
        args.insert("org".into(), "ТОО «Exintra»".into());
        args.insert("document".into(), "Публичная оферта".into());
        args.insert("number".into(), 2.into());
        args.insert("effective".into(), "2026-03-04 14:00".into());
        for locale in Locale::ALL {
            let text = Tr::new(locale).with_args("notify-offer-new-version", &args);
            assert!(
                text.contains("ТОО «Exintra»") && text.contains("2026-03-04 14:00"),
                "{locale}: {text}"
            );
        }
    }
}
