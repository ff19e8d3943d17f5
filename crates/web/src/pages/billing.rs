//! Money pages: an organizer's products, sales, refunds, plan and payment
//! module; a product's public page with its checkout; the customer's
//! balance, orders, payments and documents; the operator's money console;
//! and the providers' callbacks, which authenticate by signature or
//! credentials instead of a session and a CSRF token.

use askama::Template;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use tabys_accounts::members::{self, Role};
use tabys_accounts::organizers::{self, Organizer};
use tabys_billing::balances::{self, Balance, Wallet};
use tabys_billing::ledger::Movement;
use tabys_billing::orders::{self, NewOrder, Order, PayPlan, ShownOffer};
use tabys_billing::payments::{self, Method, Payment, Payout, Purpose};
use tabys_billing::plans::{self, Limits, Plan, Term};
use tabys_billing::products::{self, Product, ProductInput};
use tabys_billing::providers::{cloudpayments, kaspi};
use tabys_billing::refund::{self, Preview, Refund};
use tabys_billing::{Book, Holder, acts, documents, invoices, payment_module, recurring};
use tabys_core::Error;
use tabys_core::ids::{OrgId, UserId};
use tabys_core::money::Money;
use tabys_store::token::random_token;

use super::layout::{FormErrors, Layout};
use super::{render, see_other};
use crate::AppState;
use crate::ctx::{CsrfForm, Ctx, origin};
use crate::error::PageError;
use crate::i18n::Tr;
use crate::i18n::Val;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/org/{org}/billing", get(org_money))
        .route("/org/{org}/billing/module", post(module_request))
        .route("/org/{org}/billing/module/enable", post(module_enable))
        .route("/org/{org}/billing/plan", post(buy_plan))
        .route("/org/{org}/billing/top-up", post(org_top_up))
        .route("/org/{org}/billing/acts/{act}", post(org_act_respond))
        .route("/org/{org}/billing/acts/{act}/pdf", get(org_act_pdf))
        .route(
            "/org/{org}/billing/invoices/{invoice}/pdf",
            get(org_invoice_pdf),
        )
        .route(
            "/org/{org}/products",
            get(products_page).post(create_product),
        )
        .route(
            "/org/{org}/products/{product}",
            get(edit_product_page).post(update_product),
        )
        .route("/org/{org}/sales", get(sales_page))
        .route("/org/{org}/sales/refunds/{refund}", post(decide_refund))
        .route(
            "/org/{org}/sales/orders/{order}/refund",
            post(organizer_refund),
        )
        .route(
            "/org/{org}/sales/invoices/{invoice}/confirm",
            post(org_confirm_invoice),
        )
        .route("/org/{org}/sales/statement", post(org_import_statement))
        .route(
            "/org/{org}/sales/payouts/{payout}/done",
            post(org_payout_done),
        )
        .route("/o/{slug}/products", get(catalog))
        .route("/o/{slug}/products/{product}", get(product_public))
        .route("/o/{slug}/products/{product}/order", post(place_order))
        .route("/cabinet/balance", get(balance_page))
        .route("/cabinet/balance/top-up", post(top_up))
        .route("/cabinet/balance/invoice", post(request_invoice))
        .route("/cabinet/balance/withdraw", post(withdraw))
        .route("/cabinet/orders", get(orders_page))
        .route("/cabinet/orders/{order}", get(order_page))
        .route("/cabinet/orders/{order}/pay", post(pay_order))
        .route("/cabinet/orders/{order}/refund", post(request_refund))
        .route("/cabinet/payments/{payment}", get(payment_page))
        .route("/cabinet/payments/{payment}/receipt", get(receipt_pdf))
        .route("/cabinet/invoices/{invoice}/pdf", get(invoice_pdf))
        .route("/cabinet/recurring/{id}/cancel", post(cancel_recurring))
        .route("/admin/billing", get(admin_page))
        .route(
            "/admin/billing/invoices/{invoice}/confirm",
            post(admin_confirm_invoice),
        )
        .route("/admin/billing/statement", post(admin_import_statement))
        .route("/admin/billing/modules/{org}", post(admin_decide_module))
        .route("/admin/billing/plans", post(admin_create_plan))
        .route("/admin/billing/plans/{plan}/price", post(admin_plan_price))
        .route(
            "/admin/billing/payouts/{payout}/done",
            post(admin_payout_done),
        )
        .route(
            "/pay/cloudpayments/{kind}",
            post(cloudpayments_notification),
        )
        .route("/pay/kaspi", get(kaspi_request))
}

async fn staff(state: &AppState, ctx: &Ctx, org: OrgId, money: bool) -> Result<Role, PageError> {
    let user = ctx.user()?;
    let role = members::staff_access(&state.db, user.id, org).await?;
    if money && !role.edits_profile() {
        return Err(PageError(Error::Forbidden));
    }
    Ok(role)
}

fn pdf(bytes: Vec<u8>, name: &str) -> Response {
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("inline; filename=\"{name}.pdf\""),
            ),
        ],
        bytes,
    )
        .into_response()
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

#[derive(Deserialize, Default)]
struct Empty {}

// ---------------------------------------------------------------- organizer

#[derive(Template)]
#[template(path = "billing/org.html")]
struct OrgMoney {
    l: Layout,
    org: Organizer,
    module: payment_module::State,
    limits: Limits,
    terms: Vec<Term>,
    plans: Vec<Plan>,
    balance: Balance,
    wallet_id: Option<i64>,
    acts: Vec<acts::Act>,
    invoices: Vec<invoices::Invoice>,
    errors: FormErrors,
    key: String,
    invoice_form: invoices::InvoiceInput,
}

impl OrgMoney {
    fn mb(&self, bytes: impl Val<i64>) -> String {
        (bytes.val() / (1024 * 1024)).to_string()
    }
}

async fn org_money_page(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let organizer = organizers::get(&state.db, org).await?;
    let wallet = balances::find(&state.db, Book::OPERATOR, Holder::Org(org)).await?;
    let balance = match &wallet {
        Some(w) => balances::balance(&state.db, w).await?,
        None => Balance {
            main: Money::ZERO,
            bonus: Money::ZERO,
            held: Money::ZERO,
            available: Money::ZERO,
            withdrawable: Money::ZERO,
        },
    };
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = OrgMoney {
        l: Layout::new(ctx),
        invoice_form: invoices::InvoiceInput {
            amount: String::new(),
            payer_name: organizer.profile.legal_name.clone(),
            payer_iin_bin: organizer.profile.iin_bin.clone(),
        },
        org: organizer,
        module: payment_module::state(&state.db, org).await?,
        limits: plans::limits(&state.db, org).await?,
        terms: plans::terms(&state.db, org).await?,
        plans: plans::list(&state.db).await?,
        balance,
        wallet_id: wallet.as_ref().map(|w| w.id),
        acts: acts::of_holder(&state.db, Holder::Org(org)).await?,
        invoices: invoices::of_holder(&state.db, Holder::Org(org)).await?,
        errors,
        key: random_token(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn org_money(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    org_money_page(&state, &ctx, OrgId(org), FormErrors::default()).await
}

#[derive(Deserialize, Default)]
struct NoteForm {
    #[serde(default)]
    comment: String,
    #[serde(default)]
    accept_terms: Option<String>,
}

async fn module_request(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match payment_module::request(&state.db, OrgId(org), ctx.user()?.id, &form.comment).await {
        Ok(()) => Ok(see_other(&format!("/org/{org}/billing"))),
        Err(e) => org_money_page(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?).await,
    }
}

async fn module_enable(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<NoteForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match payment_module::enable(
        &state.db,
        OrgId(org),
        ctx.user()?.id,
        form.accept_terms.is_some(),
    )
    .await
    {
        Ok(()) => Ok(see_other(&format!("/org/{org}/billing"))),
        Err(e) => org_money_page(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?).await,
    }
}

#[derive(Deserialize, Default)]
struct PlanForm {
    #[serde(default)]
    plan: i64,
    #[serde(default)]
    key: String,
}

async fn buy_plan(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<PlanForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match plans::buy(
        &state.db,
        &state.billing,
        OrgId(org),
        ctx.user()?.id,
        form.plan,
        &form.key,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/org/{org}/billing"))),
        Err(e) => org_money_page(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?).await,
    }
}

#[derive(Deserialize, Default)]
struct TopUpForm {
    #[serde(default)]
    book: i64,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    method: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    payer_name: String,
    #[serde(default)]
    payer_iin_bin: String,
}

/// Starts a top-up and sends the payer on: to the gateway's card page, or
/// to the payment's page with the Kaspi or invoice instructions.
async fn start_top_up(
    state: &AppState,
    book: Book,
    holder: Holder,
    form: &TopUpForm,
    email: &str,
) -> Result<String, Error> {
    let amount = products::parse_amount(&form.amount, "amount")?;
    if form.method == "invoice" {
        let input = invoices::InvoiceInput {
            amount: form.amount.clone(),
            payer_name: form.payer_name.clone(),
            payer_iin_bin: form.payer_iin_bin.clone(),
        };
        let inv = invoices::issue(&state.db, book, holder, &input).await?;
        return Ok(match holder {
            Holder::Org(org) => format!("/org/{org}/billing/invoices/{}/pdf", inv.id),
            Holder::User(_) => format!("/cabinet/invoices/{}/pdf", inv.id),
        });
    }
    let method = Method::parse(&form.method)
        .filter(|m| matches!(m, Method::Card | Method::Kaspi))
        .ok_or(Error::invalid("method", "method-unknown"))?;
    let p = payments::start(
        &state.db,
        &state.billing,
        book,
        holder,
        Purpose::TopUp(amount),
        method,
        false,
        Some(&form.key),
    )
    .await?;
    next_step(state, &p, holder, email, "top-up").await
}

async fn next_step(
    state: &AppState,
    p: &Payment,
    holder: Holder,
    email: &str,
    description: &str,
) -> Result<String, Error> {
    if p.method == "card" {
        let back = format!("{}/cabinet/payments/{}", state.billing.public_url, p.id);
        state
            .gateway
            .create_link(p, &holder.key(), description, email, &back)
            .await
    } else {
        Ok(format!("/cabinet/payments/{}", p.id))
    }
}

async fn org_top_up(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<TopUpForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let user = ctx.user()?;
    match start_top_up(
        &state,
        Book::OPERATOR,
        Holder::Org(OrgId(org)),
        &form,
        &user.email,
    )
    .await
    {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) => org_money_page(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?).await,
    }
}

#[derive(Deserialize, Default)]
struct ActForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reasons: String,
}

async fn org_act_respond(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, act)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ActForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match acts::respond(
        &state.db,
        Holder::Org(OrgId(org)),
        ctx.user()?.id,
        act,
        form.decision == "sign",
        &form.reasons,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/org/{org}/billing"))),
        Err(e) => org_money_page(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?).await,
    }
}

async fn org_act_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, act)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let a = acts::get_own(&state.db, Holder::Org(OrgId(org)), act).await?;
    let seller = documents::seller(&state.db, &state.billing, a.book).await?;
    let customer = documents::seller(&state.db, &state.billing, Book::org(OrgId(org))).await?;
    Ok(pdf(documents::act_pdf(&a, &seller, &customer)?, &a.number))
}

async fn org_invoice_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, invoice)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let inv = invoices::get_own(&state.db, Holder::Org(OrgId(org)), invoice).await?;
    let seller = documents::seller(&state.db, &state.billing, inv.book).await?;
    Ok(pdf(documents::invoice_pdf(&inv, &seller)?, &inv.number))
}

#[derive(Template)]
#[template(path = "billing/products.html")]
struct ProductsPage {
    l: Layout,
    org: Organizer,
    products: Vec<Product>,
    form: ProductInput,
    errors: FormErrors,
    editing: Option<i64>,
    kinds: &'static [&'static str],
    presets: &'static [&'static str],
    module_on: bool,
}

async fn products_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    form: ProductInput,
    errors: FormErrors,
    editing: Option<i64>,
) -> Result<Response, PageError> {
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ProductsPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        products: products::list(&state.db, org, false).await?,
        form,
        errors,
        editing,
        kinds: &products::KINDS,
        presets: &tabys_billing::refund::PRESETS,
        module_on: payment_module::is_enabled(&state.db, org).await?,
    };
    Ok((status, render(&page)?).into_response())
}

async fn products_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let form = ProductInput {
        kind: "course".into(),
        refund_policy: "none".into(),
        ..ProductInput::default()
    };
    products_view(&state, &ctx, OrgId(org), form, FormErrors::default(), None).await
}

async fn create_product(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<ProductInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let made = match form.parse() {
        Ok(p) => products::create(&state.db, OrgId(org), ctx.user()?.id, p).await,
        Err(e) => Err(e),
    };
    match made {
        Ok(_) => Ok(see_other(&format!("/org/{org}/products"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            products_view(&state, &ctx, OrgId(org), form, errors, None).await
        }
    }
}

async fn edit_product_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, product)): Path<(i64, i64)>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    let p = products::get(&state.db, OrgId(org), product).await?;
    products_view(
        &state,
        &ctx,
        OrgId(org),
        ProductInput::from(&p),
        FormErrors::default(),
        Some(product),
    )
    .await
}

async fn update_product(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, product)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<ProductInput>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let done = match form.parse() {
        Ok(p) => products::update(&state.db, OrgId(org), ctx.user()?.id, product, p).await,
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => Ok(see_other(&format!("/org/{org}/products"))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            products_view(&state, &ctx, OrgId(org), form, errors, Some(product)).await
        }
    }
}

#[derive(Template)]
#[template(path = "billing/sales.html")]
struct SalesPage {
    l: Layout,
    org: Organizer,
    orders: Vec<Order>,
    waiting: Vec<Refund>,
    invoices: Vec<invoices::Invoice>,
    payouts: Vec<Payout>,
    unmatched: Vec<invoices::UnmatchedLine>,
    report: Option<invoices::ImportReport>,
    errors: FormErrors,
}

async fn sales_view(
    state: &AppState,
    ctx: &Ctx,
    org: OrgId,
    errors: FormErrors,
    report: Option<invoices::ImportReport>,
) -> Result<Response, PageError> {
    let book = Book::org(org);
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = SalesPage {
        l: Layout::new(ctx),
        org: organizers::get(&state.db, org).await?,
        orders: orders::of_org(&state.db, org, 200).await?,
        waiting: refund::of_org(&state.db, org, true).await?,
        invoices: invoices::awaiting(&state.db, book).await?,
        payouts: payments::pending_manual_payouts(&state.db, book).await?,
        unmatched: invoices::unmatched_lines(&state.db, book).await?,
        report,
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

async fn sales_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), false).await?;
    sales_view(&state, &ctx, OrgId(org), FormErrors::default(), None).await
}

#[derive(Deserialize, Default)]
struct DecisionForm {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    refusal: String,
}

async fn decide_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, id)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<DecisionForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    match refund::decide(
        &state.db,
        OrgId(org),
        ctx.user()?.id,
        id,
        form.decision == "approve",
        &form.refusal,
    )
    .await
    {
        Ok(_) => Ok(see_other(&format!("/org/{org}/sales"))),
        Err(e) => sales_view(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?, None).await,
    }
}

#[derive(Deserialize, Default)]
struct OrganizerRefundForm {
    #[serde(default)]
    amount: String,
    #[serde(default)]
    reason: String,
}

async fn organizer_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, order)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<OrganizerRefundForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let done = match products::parse_amount(&form.amount, "amount") {
        Ok(amount) => {
            refund::by_organizer(
                &state.db,
                OrgId(org),
                ctx.user()?.id,
                order,
                amount,
                &form.reason,
            )
            .await
        }
        Err(e) => Err(e),
    };
    match done {
        Ok(_) => {
            send_payouts_now(&state).await;
            Ok(see_other(&format!("/org/{org}/sales")))
        }
        Err(e) => sales_view(&state, &ctx, OrgId(org), invalid(e, ctx.tr)?, None).await,
    }
}

async fn org_confirm_invoice(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, invoice)): Path<(i64, i64)>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    invoices::confirm(&state.db, Book::org(OrgId(org)), invoice, ctx.user()?.id).await?;
    Ok(see_other(&format!("/org/{org}/sales")))
}

#[derive(Deserialize, Default)]
struct StatementForm {
    #[serde(default)]
    statement: String,
}

async fn org_import_statement(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<StatementForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let report = invoices::import_statement(
        &state.db,
        Book::org(OrgId(org)),
        &form.statement,
        ctx.user()?.id,
    )
    .await?;
    sales_view(
        &state,
        &ctx,
        OrgId(org),
        FormErrors::default(),
        Some(report),
    )
    .await
}

#[derive(Deserialize, Default)]
struct PayoutForm {
    #[serde(default)]
    reference: String,
}

async fn org_payout_done(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((org, payout)): Path<(i64, i64)>,
    CsrfForm(form): CsrfForm<PayoutForm>,
) -> Result<Response, PageError> {
    staff(&state, &ctx, OrgId(org), true).await?;
    let p = payments::payout(&state.db, payout).await?;
    if p.book != Book::org(OrgId(org)) {
        return Err(PageError(Error::NotFound));
    }
    if form.reference.trim().is_empty() {
        return sales_view(
            &state,
            &ctx,
            OrgId(org),
            FormErrors::new(
                ctx.tr,
                vec![tabys_core::FieldError {
                    field: "reference",
                    code: "required",
                }],
            ),
            None,
        )
        .await;
    }
    payments::finish_payout(
        &state.db,
        payout,
        true,
        form.reference.trim(),
        Some(ctx.user()?.id),
    )
    .await?;
    Ok(see_other(&format!("/org/{org}/sales")))
}

/// Card refunds are queued as jobs (the outbox); sending them right away
/// spares the customer the worker's next pass. A failure here is left to
/// the job, which tries again.
pub(crate) async fn send_payouts_now(state: &AppState) {
    let rows = tabys_billing::payments::pending_card_payouts(&state.db)
        .await
        .unwrap_or_default();
    for id in rows {
        if let Err(e) = cloudpayments::send_payout(&state.db, &state.gateway, id).await {
            tracing::warn!(payout = id, error = %e, "card refund not sent now; the job will retry");
        }
    }
}

// ------------------------------------------------------------ public page

#[derive(Template)]
#[template(path = "billing/catalog.html")]
struct Catalog {
    l: Layout,
    org: Organizer,
    products: Vec<Product>,
}

/// What an organizer sells, for anyone.
async fn catalog(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(slug): Path<String>,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, &slug).await?;
    let products = products::list(&state.db, org.id, true).await?;
    render(&Catalog {
        l: Layout::new(&ctx),
        org,
        products,
    })
}

#[derive(Template)]
#[template(path = "billing/product.html")]
struct ProductPublic {
    l: Layout,
    org: Organizer,
    product: Product,
    key: String,
    half: Money,
    errors: FormErrors,
    signed_in: bool,
}

async fn product_view(
    state: &AppState,
    ctx: &Ctx,
    slug: &str,
    product: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let org = organizers::by_slug(&state.db, slug).await?;
    let product = products::get(&state.db, org.id, product).await?;
    if product.status != "active" {
        return Err(PageError(Error::NotFound));
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = ProductPublic {
        l: Layout::new(ctx),
        half: Money::from_tiyn(tabys_billing::share_up(product.price.tiyn(), 1, 2)),
        org,
        product,
        key: random_token(),
        errors,
        signed_in: ctx.user.is_some(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn product_public(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, product)): Path<(String, i64)>,
) -> Result<Response, PageError> {
    product_view(&state, &ctx, &slug, product, FormErrors::default()).await
}

#[derive(Deserialize, Default)]
struct OrderForm {
    #[serde(default)]
    plan: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    offer_version: Option<i64>,
}

async fn place_order(
    State(state): State<AppState>,
    ctx: Ctx,
    Path((slug, product)): Path<(String, i64)>,
    CsrfForm(form): CsrfForm<OrderForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let org = organizers::by_slug(&state.db, &slug).await?;
    let Some(plan) = PayPlan::parse(&form.plan) else {
        return product_view(
            &state,
            &ctx,
            &slug,
            product,
            FormErrors::new(
                ctx.tr,
                vec![tabys_core::FieldError {
                    field: "plan",
                    code: "plan-unknown",
                }],
            ),
        )
        .await;
    };
    let shown = ShownOffer {
        ip: ctx.origin.ip.clone(),
        user_agent: ctx.origin.user_agent.clone(),
        locale: ctx.tr.lang().to_string(),
        wording: ctx.tr.t("billing-order-accepts-offer"),
    };
    let new = NewOrder {
        product_id: product,
        plan,
        offer_version_id: form.offer_version,
    };
    match orders::create(&state.db, org.id, user.id, new, &shown, &form.key).await {
        Ok(order) => Ok(see_other(&format!("/cabinet/orders/{}", order.id))),
        Err(e) => {
            let errors = invalid(e, ctx.tr)?;
            product_view(&state, &ctx, &slug, product, errors).await
        }
    }
}

// ---------------------------------------------------------------- cabinet

/// A personal account as the cabinet shows it.
pub struct WalletView {
    pub wallet: Wallet,
    pub seller: String,
    pub balance: Balance,
    pub history: Vec<Movement>,
}

#[derive(Template)]
#[template(path = "billing/balance.html")]
struct BalancePage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    wallets: Vec<WalletView>,
    sellers: Vec<(i64, String)>,
    invoices: Vec<invoices::Invoice>,
    payouts: Vec<Payout>,
    key: String,
    errors: FormErrors,
    card: bool,
    kaspi: bool,
}

impl BalancePage {
    fn tiyn(&self, t: impl Val<i64>) -> String {
        Money::from_tiyn(t.val()).format_kzt()
    }
}

async fn wallet_views(state: &AppState, holder: Holder) -> Result<Vec<WalletView>, Error> {
    let mut out = Vec::new();
    for w in balances::of_holder(&state.db, holder).await? {
        let seller = match w.book.org_id() {
            Some(org) => organizers::get(&state.db, org).await?.profile.legal_name,
            None => state.billing.operator.legal_name.clone(),
        };
        out.push(WalletView {
            balance: balances::balance(&state.db, &w).await?,
            history: tabys_billing::ledger::history(&state.db, w.main, 20).await?,
            seller,
            wallet: w,
        });
    }
    Ok(out)
}

async fn balance_view(
    state: &AppState,
    ctx: &Ctx,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let holder = Holder::User(user.id);
    let wallets = wallet_views(state, holder).await?;
    let mut payouts = Vec::new();
    for w in &wallets {
        payouts.extend(payments::payouts_of_wallet(&state.db, w.wallet.id).await?);
    }
    let sellers = members::memberships(&state.db, user.id)
        .await?
        .into_iter()
        .filter(|m| m.role == Role::Customer)
        .map(|m| (m.org_id.0, m.legal_name))
        .collect();
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = BalancePage {
        l: Layout::new(ctx),
        sections: &super::cabinet::SECTIONS,
        wallets,
        sellers,
        invoices: invoices::of_holder(&state.db, holder).await?,
        payouts,
        key: random_token(),
        errors,
        card: state.billing.card_enabled(),
        kaspi: state.billing.kaspi_enabled(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn balance_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    balance_view(&state, &ctx, FormErrors::default()).await
}

/// The customer may hold a balance only with an organizer they are a customer of.
async fn customer_book(state: &AppState, user: UserId, org: i64) -> Result<Book, Error> {
    match members::access(&state.db, user, OrgId(org)).await {
        Ok(Role::Customer) => Ok(Book::org(OrgId(org))),
        Ok(_) | Err(Error::NotFound) => Err(Error::invalid("book", "seller-unknown")),
        Err(e) => Err(e),
    }
}

async fn top_up(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<TopUpForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let started = match customer_book(&state, user.id, form.book).await {
        Ok(book) => start_top_up(&state, book, Holder::User(user.id), &form, &user.email).await,
        Err(e) => Err(e),
    };
    match started {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) => balance_view(&state, &ctx, invalid(e, ctx.tr)?).await,
    }
}

async fn request_invoice(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(mut form): CsrfForm<TopUpForm>,
) -> Result<Response, PageError> {
    form.method = "invoice".into();
    top_up(State(state), ctx, CsrfForm(form)).await
}

#[derive(Deserialize, Default)]
struct WithdrawForm {
    #[serde(default)]
    book: i64,
    #[serde(default)]
    amount: String,
    #[serde(default)]
    details: String,
    #[serde(default)]
    key: String,
}

async fn withdraw(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<WithdrawForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let done = match (
        customer_book(&state, user.id, form.book).await,
        products::parse_amount(&form.amount, "amount"),
    ) {
        (Ok(book), Ok(amount)) => {
            payments::withdraw(
                &state.db,
                book,
                Holder::User(user.id),
                amount,
                &form.details,
                &form.key,
            )
            .await
        }
        (Err(e), _) | (_, Err(e)) => Err(e),
    };
    match done {
        Ok(_) => Ok(see_other("/cabinet/balance")),
        Err(e) => balance_view(&state, &ctx, invalid(e, ctx.tr)?).await,
    }
}

#[derive(Template)]
#[template(path = "billing/orders.html")]
struct OrdersPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    orders: Vec<Order>,
    subscriptions: Vec<recurring::Recurring>,
}

async fn orders_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    let user = ctx.user()?;
    render(&OrdersPage {
        l: Layout::new(&ctx),
        sections: &super::cabinet::SECTIONS,
        orders: orders::of_customer(&state.db, user.id, 200).await?,
        subscriptions: recurring::of_customer(&state.db, user.id).await?,
    })
}

#[derive(Template)]
#[template(path = "billing/order.html")]
struct OrderPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    order: Order,
    preview: Preview,
    refunds: Vec<Refund>,
    payments: Vec<Payment>,
    access: Option<tabys_billing::entitlements::Entitlement>,
    balance: Balance,
    methods: Vec<&'static str>,
    key: String,
    errors: FormErrors,
}

async fn order_view(
    state: &AppState,
    ctx: &Ctx,
    id: i64,
    errors: FormErrors,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let (order, preview) = refund::preview_own(&state.db, user.id, id).await?;
    let wallet = balances::find(&state.db, order.book(), Holder::User(user.id)).await?;
    let balance = match &wallet {
        Some(w) => balances::balance(&state.db, w).await?,
        None => Balance {
            main: Money::ZERO,
            bonus: Money::ZERO,
            held: Money::ZERO,
            available: Money::ZERO,
            withdrawable: Money::ZERO,
        },
    };
    let mut paid = Vec::new();
    if let Some(w) = &wallet {
        paid = payments::of_wallet(&state.db, w.id, 200)
            .await?
            .into_iter()
            .filter(|p| p.order_id == Some(order.id))
            .collect();
    }
    let product = products::get(&state.db, order.org_id, order.product_id).await?;
    let mut methods = Vec::new();
    if state.billing.card_enabled() {
        methods.push("card");
    }
    if state.billing.kaspi_enabled() && product.recurring_months.is_none() {
        methods.extend(["kaspi", "kaspi-red", "installment"]);
    }
    if product.recurring_months.is_none() {
        methods.push("balance");
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = OrderPage {
        l: Layout::new(ctx),
        sections: &super::cabinet::SECTIONS,
        access: tabys_billing::entitlements::of_order(&state.db, order.org_id, order.id).await?,
        refunds: refund::of_order(&state.db, order.id).await?,
        order,
        preview,
        payments: paid,
        balance,
        methods,
        key: random_token(),
        errors,
    };
    Ok((status, render(&page)?).into_response())
}

async fn order_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    order_view(&state, &ctx, id, FormErrors::default()).await
}

#[derive(Deserialize, Default)]
struct PayForm {
    #[serde(default)]
    method: String,
    #[serde(default)]
    key: String,
    #[serde(default)]
    save_card: Option<String>,
}

async fn pay_order(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<PayForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let order = orders::get_own(&state.db, user.id, id).await?;
    let outcome: Result<String, Error> = async {
        if form.method == "balance" {
            orders::pay_from_balance(&state.db, &state.billing, user.id, id, &form.key).await?;
            return Ok(format!("/cabinet/orders/{id}"));
        }
        let method = Method::parse(&form.method)
            .filter(|m| *m != Method::Invoice)
            .ok_or(Error::invalid("method", "method-unknown"))?;
        let p = payments::start(
            &state.db,
            &state.billing,
            order.book(),
            Holder::User(user.id),
            Purpose::Order(id),
            method,
            form.save_card.is_some(),
            Some(&form.key),
        )
        .await?;
        next_step(&state, &p, Holder::User(user.id), &user.email, &order.title).await
    }
    .await;
    match outcome {
        Ok(to) => Ok(Redirect::to(&to).into_response()),
        Err(e) => order_view(&state, &ctx, id, invalid(e, ctx.tr)?).await,
    }
}

#[derive(Deserialize, Default)]
struct RefundForm {
    #[serde(default)]
    reason: String,
}

async fn request_refund(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    CsrfForm(form): CsrfForm<RefundForm>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    match refund::request(&state.db, user.id, id, &form.reason).await {
        Ok(_) => {
            send_payouts_now(&state).await;
            Ok(see_other(&format!("/cabinet/orders/{id}")))
        }
        Err(e) => order_view(&state, &ctx, id, invalid(e, ctx.tr)?).await,
    }
}

#[derive(Template)]
#[template(path = "billing/payment.html")]
struct PaymentPage {
    l: Layout,
    sections: &'static [(&'static str, &'static str)],
    payment: Payment,
    reference: String,
    kaspi_app: String,
}

async fn payment_page(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let payment = own_payment(&state, user.id, id).await?;
    render(&PaymentPage {
        l: Layout::new(&ctx),
        sections: &super::cabinet::SECTIONS,
        reference: payment.reference(),
        payment,
        kaspi_app: state.billing.kaspi.app_url.clone(),
    })
}

/// A payment of the person's own, or of an organizer they handle money for.
async fn own_payment(state: &AppState, user: UserId, id: i64) -> Result<Payment, PageError> {
    match payments::get_own(&state.db, Holder::User(user), id).await {
        Ok(p) => Ok(p),
        Err(Error::NotFound) => {
            let p = payments::get(&state.db, id).await?;
            let w = balances::get(&state.db, p.wallet_id).await?;
            match w.holder {
                Holder::Org(org)
                    if members::staff_access(&state.db, user, org)
                        .await
                        .is_ok_and(|r| r.edits_profile()) =>
                {
                    Ok(p)
                }
                _ => Err(PageError(Error::NotFound)),
            }
        }
        Err(e) => Err(PageError(e)),
    }
}

async fn receipt_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let p = own_payment(&state, user.id, id).await?;
    if p.status != "completed" {
        return Err(PageError(Error::NotFound));
    }
    let seller = documents::seller(&state.db, &state.billing, p.book).await?;
    let title = match (p.order_id, p.book.org_id()) {
        (Some(order), Some(org)) => Some(orders::get(&state.db, org, order).await?.title),
        _ => None,
    };
    Ok(pdf(
        documents::receipt_pdf(&p, &seller, title.as_deref())?,
        &p.reference(),
    ))
}

async fn invoice_pdf(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    let inv = invoices::get_own(&state.db, Holder::User(user.id), id).await?;
    let seller = documents::seller(&state.db, &state.billing, inv.book).await?;
    Ok(pdf(documents::invoice_pdf(&inv, &seller)?, &inv.number))
}

async fn cancel_recurring(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(id): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let user = ctx.user()?;
    recurring::cancel(&state.db, user.id, id).await?;
    Ok(see_other("/cabinet/orders"))
}

/// The money documents of a person, for the cabinet's documents section.
pub struct MoneyDocuments {
    pub invoices: Vec<invoices::Invoice>,
    pub receipts: Vec<Payment>,
}

impl MoneyDocuments {
    pub fn is_empty(&self) -> bool {
        self.invoices.is_empty() && self.receipts.is_empty()
    }
}

pub async fn money_documents(state: &AppState, user: UserId) -> Result<MoneyDocuments, Error> {
    let holder = Holder::User(user);
    let mut receipts = Vec::new();
    for w in balances::of_holder(&state.db, holder).await? {
        receipts.extend(
            payments::of_wallet(&state.db, w.id, 200)
                .await?
                .into_iter()
                .filter(|p| p.status == "completed"),
        );
    }
    Ok(MoneyDocuments {
        invoices: invoices::of_holder(&state.db, holder).await?,
        receipts,
    })
}

/// A new organizer gets the operator's trial credit, once per real company
/// (IS 2.1.15, 5.2.4): its BIN/IIN and its owner's email are what make it
/// "the same". The organizer exists already; a failure here is logged and
/// leaves it without the credit rather than undoing the sign-up.
pub async fn welcome_organizer(state: &AppState, org: &Organizer, owner_email: &str) {
    let identities = [
        ("iin_bin", org.profile.iin_bin.clone()),
        ("email", owner_email.to_string()),
        ("email", org.profile.email.clone()),
    ];
    let granted = balances::grant_trial(
        &state.db,
        Book::OPERATOR,
        Holder::Org(org.id),
        &identities,
        state.billing.trial_credit(),
    )
    .await;
    if let Err(e) = granted {
        tracing::error!(org = org.id.0, error = %e, "trial credit not granted");
    }
}

// ---------------------------------------------------------------- operator

#[derive(Template)]
#[template(path = "billing/admin.html")]
struct AdminPage {
    l: Layout,
    invoices: Vec<invoices::Invoice>,
    modules: Vec<(OrgId, String, String, i64)>,
    plans: Vec<Plan>,
    payouts: Vec<Payout>,
    matches: Vec<balances::TrialMatch>,
    unmatched: Vec<invoices::UnmatchedLine>,
    report: Option<invoices::ImportReport>,
    trial: tabys_billing::ledger::TrialBalance,
    errors: FormErrors,
    plan_form: plans::PlanInput,
}

impl AdminPage {
    fn tiyn(&self, t: impl Val<i64>) -> String {
        Money::from_tiyn(t.val()).format_kzt()
    }
    fn mb(&self, bytes: impl Val<i64>) -> String {
        (bytes.val() / (1024 * 1024)).to_string()
    }
}

async fn admin_view(
    state: &AppState,
    ctx: &Ctx,
    errors: FormErrors,
    report: Option<invoices::ImportReport>,
) -> Result<Response, PageError> {
    ctx.operator()?;
    let mut modules = Vec::new();
    for (org, note, at) in payment_module::waiting(&state.db).await? {
        modules.push((
            org,
            organizers::get(&state.db, org).await?.profile.legal_name,
            note,
            at,
        ));
    }
    let status = if errors.any() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let page = AdminPage {
        l: Layout::new(ctx),
        invoices: invoices::awaiting(&state.db, Book::OPERATOR).await?,
        modules,
        plans: plans::list(&state.db).await?,
        payouts: payments::pending_manual_payouts(&state.db, Book::OPERATOR).await?,
        matches: balances::trial_matches(&state.db, Book::OPERATOR).await?,
        unmatched: invoices::unmatched_lines(&state.db, Book::OPERATOR).await?,
        report,
        trial: tabys_billing::ledger::trial_balance(&state.db).await?,
        errors,
        plan_form: plans::PlanInput::default(),
    };
    Ok((status, render(&page)?).into_response())
}

async fn admin_page(State(state): State<AppState>, ctx: Ctx) -> Result<Response, PageError> {
    admin_view(&state, &ctx, FormErrors::default(), None).await
}

async fn admin_confirm_invoice(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(invoice): Path<i64>,
    CsrfForm(_): CsrfForm<Empty>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    invoices::confirm(&state.db, Book::OPERATOR, invoice, op.id).await?;
    Ok(see_other("/admin/billing"))
}

async fn admin_import_statement(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<StatementForm>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    let report =
        invoices::import_statement(&state.db, Book::OPERATOR, &form.statement, op.id).await?;
    admin_view(&state, &ctx, FormErrors::default(), Some(report)).await
}

#[derive(Deserialize, Default)]
struct ModuleDecision {
    #[serde(default)]
    decision: String,
    #[serde(default)]
    reasons: String,
}

async fn admin_decide_module(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(org): Path<i64>,
    CsrfForm(form): CsrfForm<ModuleDecision>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    match payment_module::decide(
        &state.db,
        OrgId(org),
        op.id,
        form.decision == "approve",
        &form.reasons,
    )
    .await
    {
        Ok(()) => Ok(see_other("/admin/billing")),
        Err(e) => admin_view(&state, &ctx, invalid(e, ctx.tr)?, None).await,
    }
}

async fn admin_create_plan(
    State(state): State<AppState>,
    ctx: Ctx,
    CsrfForm(form): CsrfForm<plans::PlanInput>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    match plans::create(&state.db, op.id, &form).await {
        Ok(_) => Ok(see_other("/admin/billing")),
        Err(e) => admin_view(&state, &ctx, invalid(e, ctx.tr)?, None).await,
    }
}

#[derive(Deserialize, Default)]
struct PriceForm {
    #[serde(default)]
    price: String,
    #[serde(default)]
    effective_from: String,
}

async fn admin_plan_price(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(plan): Path<i64>,
    CsrfForm(form): CsrfForm<PriceForm>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    let done = match (
        products::parse_amount(&form.price, "price"),
        products::parse_local_time(&form.effective_from),
    ) {
        (Ok(price), Some(from)) => plans::change_price(&state.db, op.id, plan, price, from).await,
        (Err(e), _) => Err(e),
        (_, None) => Err(Error::invalid("effective_from", "datetime-format")),
    };
    match done {
        Ok(()) => Ok(see_other("/admin/billing")),
        Err(e) => admin_view(&state, &ctx, invalid(e, ctx.tr)?, None).await,
    }
}

async fn admin_payout_done(
    State(state): State<AppState>,
    ctx: Ctx,
    Path(payout): Path<i64>,
    CsrfForm(form): CsrfForm<PayoutForm>,
) -> Result<Response, PageError> {
    let op = ctx.operator()?;
    if form.reference.trim().is_empty() {
        return admin_view(
            &state,
            &ctx,
            FormErrors::new(
                ctx.tr,
                vec![tabys_core::FieldError {
                    field: "reference",
                    code: "required",
                }],
            ),
            None,
        )
        .await;
    }
    payments::finish_payout(&state.db, payout, true, form.reference.trim(), Some(op.id)).await?;
    Ok(see_other("/admin/billing"))
}

// ---------------------------------------------------------------- providers

/// A gateway notification: verified by its `Content-HMAC` over the raw
/// body, never by a session. The answer is always `{"code": n}`.
async fn cloudpayments_notification(
    State(state): State<AppState>,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let code = match cloudpayments::Kind::parse(&kind) {
        Some(kind) => {
            let hmac = headers.get("content-hmac").and_then(|v| v.to_str().ok());
            cloudpayments::on_notification(
                &state.db,
                &state.gateway,
                &state.billing.cloudpayments.api_secret,
                kind,
                &body,
                hmac,
            )
            .await
        }
        None => cloudpayments::code::REJECTED,
    };
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{{\"code\":{code}}}"),
    )
        .into_response()
}

/// Kaspi's `check` and `pay`: allowed only with Kaspi's credentials from
/// Kaspi's addresses; answered in XML.
async fn kaspi_request(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let xml = |status: StatusCode, r: kaspi::Response| {
        (
            status,
            [(header::CONTENT_TYPE, "application/xml; charset=utf-8")],
            r.to_xml(),
        )
            .into_response()
    };
    let auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let peer = origin(&headers).ip;
    if !kaspi::authorized(&state.billing.kaspi, auth, &peer) {
        tracing::warn!(%peer, "Kaspi request without Kaspi's credentials refused");
        return xml(
            StatusCode::FORBIDDEN,
            kaspi::Response::refused("", kaspi::result::REFUSED, "forbidden"),
        );
    }
    match kaspi::parse_query(query.as_deref().unwrap_or_default()) {
        Ok(req) => xml(StatusCode::OK, kaspi::handle(&state.db, &req).await),
        Err(refusal) => xml(StatusCode::OK, refusal),
    }
}
