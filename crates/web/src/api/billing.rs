//! Money over JSON: an organizer's products, orders, refunds and plan
//! limits; a customer's orders, refund previews and balances. Amounts are
//! integers in tiyn; amounts sent in are tenge as text (`"1 500,50"`), read
//! by the same rules as the forms.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use tabys_accounts::members::{self, Role};
use tabys_billing::Holder;
use tabys_billing::balances::{self, Balance};
use tabys_billing::orders::{self, NewOrder, Order, ShownOffer};
use tabys_billing::plans::{self, Limits};
use tabys_billing::products::{self, Product, ProductInput};
use tabys_billing::refund::{self, Preview, Refund};
use tabys_core::Error;
use tabys_core::ids::OrgId;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::ctx::{ApiJson, ApiTr, Caller, origin};
use crate::error::{ApiError, ErrorBody};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(org_orders))
        .routes(routes!(organizer_refund))
        .routes(routes!(org_limits))
        .routes(routes!(place_order))
        .routes(routes!(my_orders))
        .routes(routes!(refund_preview, ask_refund))
        .routes(routes!(my_balances))
}

async fn staff(
    state: &AppState,
    caller: &Caller,
    org: OrgId,
    money: bool,
) -> Result<Role, ApiError> {
    if !caller.may_reach(org) {
        return Err(ApiError(Error::NotFound));
    }
    let role = members::staff_access(&state.db, caller.user().id, org).await?;
    if money && !role.edits_profile() {
        return Err(ApiError(Error::Forbidden));
    }
    Ok(role)
}

/// The organizer's products.
#[utoipa::path(get, path = "/orgs/{org}/products", tag = "money",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Vec<Product>), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn list_products(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Vec<Product>>, ApiError> {
    staff(&state, &caller, OrgId(org), false).await?;
    Ok(Json(products::list(&state.db, OrgId(org), false).await?))
}

/// Adds a product (owner and managers).
#[utoipa::path(post, path = "/orgs/{org}/products", tag = "money", request_body = ProductInput,
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 201, body = Product), (status = 422, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn create_product(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
    ApiJson(input): ApiJson<ProductInput>,
) -> Result<(StatusCode, Json<Product>), ApiError> {
    staff(&state, &caller, OrgId(org), true).await?;
    let p = products::create(&state.db, OrgId(org), caller.user().id, input.parse()?).await?;
    Ok((StatusCode::CREATED, Json(p)))
}

/// The organizer's newest orders.
#[utoipa::path(get, path = "/orgs/{org}/orders", tag = "money",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Vec<Order>), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn org_orders(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Vec<Order>>, ApiError> {
    staff(&state, &caller, OrgId(org), false).await?;
    Ok(Json(orders::of_org(&state.db, OrgId(org), 500).await?))
}

#[derive(Debug, Deserialize, ToSchema)]
struct OrganizerRefund {
    /// Tenge, at most what is still refundable.
    amount: String,
    reason: String,
}

/// Returns money of the organizer's accord (owner and managers).
#[utoipa::path(post, path = "/orgs/{org}/orders/{order}/refunds", tag = "money", request_body = OrganizerRefund,
    params(("org" = i64, Path, description = "Organizer id"), ("order" = i64, Path, description = "Order id")),
    responses((status = 201, body = Refund), (status = 422, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn organizer_refund(
    State(state): State<AppState>,
    caller: Caller,
    Path((org, order)): Path<(i64, i64)>,
    ApiJson(body): ApiJson<OrganizerRefund>,
) -> Result<(StatusCode, Json<Refund>), ApiError> {
    staff(&state, &caller, OrgId(org), true).await?;
    let amount = products::parse_amount(&body.amount, "amount")?;
    let r = refund::by_organizer(
        &state.db,
        OrgId(org),
        caller.user().id,
        order,
        amount,
        &body.reason,
    )
    .await?;
    Ok((StatusCode::CREATED, Json(r)))
}

/// The organizer's plan limits now.
#[utoipa::path(get, path = "/orgs/{org}/plan", tag = "money",
    params(("org" = i64, Path, description = "Organizer id")),
    responses((status = 200, body = Limits), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn org_limits(
    State(state): State<AppState>,
    caller: Caller,
    Path(org): Path<i64>,
) -> Result<Json<Limits>, ApiError> {
    staff(&state, &caller, OrgId(org), false).await?;
    Ok(Json(plans::limits(&state.db, OrgId(org)).await?))
}

#[derive(Debug, Deserialize, Serialize, ToSchema)]
struct PlaceOrder {
    /// The organizer's slug.
    organizer: String,
    #[serde(flatten)]
    order: NewOrder,
}

/// Places an order as the caller. Send `Idempotency-Key`: a repeat with the
/// same key returns the first order.
#[utoipa::path(post, path = "/orders", tag = "money", request_body = PlaceOrder,
    params(("Idempotency-Key" = String, Header, description = "1-200 visible ASCII characters")),
    responses((status = 201, body = Order), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = [])))]
async fn place_order(
    State(state): State<AppState>,
    caller: Caller,
    ApiTr(tr): ApiTr,
    headers: HeaderMap,
    ApiJson(body): ApiJson<PlaceOrder>,
) -> Result<(StatusCode, Json<Order>), ApiError> {
    let key = headers
        .get("idempotency-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let org = tabys_accounts::organizers::by_slug(&state.db, &body.organizer).await?;
    let from = origin(&headers);
    let shown = ShownOffer {
        ip: from.ip,
        user_agent: from.user_agent,
        locale: tr.lang().to_string(),
        wording: tr.t("billing-order-accepts-offer"),
    };
    let o = orders::create(&state.db, org.id, caller.user().id, body.order, &shown, key).await?;
    Ok((StatusCode::CREATED, Json(o)))
}

/// The caller's orders.
#[utoipa::path(get, path = "/me/orders", tag = "money",
    responses((status = 200, body = Vec<Order>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn my_orders(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Order>>, ApiError> {
    Ok(Json(
        orders::of_customer(&state.db, caller.user().id, 500).await?,
    ))
}

/// What the caller would get back for the order now.
#[utoipa::path(get, path = "/me/orders/{order}/refund", tag = "money",
    params(("order" = i64, Path, description = "Order id")),
    responses((status = 200, body = Preview), (status = 404, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn refund_preview(
    State(state): State<AppState>,
    caller: Caller,
    Path(order): Path<i64>,
) -> Result<Json<Preview>, ApiError> {
    Ok(Json(
        refund::preview_own(&state.db, caller.user().id, order)
            .await?
            .1,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
struct AskRefund {
    #[serde(default)]
    reason: String,
}

/// Asks for a refund under the order's policy.
#[utoipa::path(post, path = "/me/orders/{order}/refund", tag = "money", request_body = AskRefund,
    params(("order" = i64, Path, description = "Order id")),
    responses((status = 201, body = Refund), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("session" = [])))]
async fn ask_refund(
    State(state): State<AppState>,
    caller: Caller,
    Path(order): Path<i64>,
    ApiJson(body): ApiJson<AskRefund>,
) -> Result<(StatusCode, Json<Refund>), ApiError> {
    let r = refund::request(&state.db, caller.user().id, order, &body.reason).await?;
    Ok((StatusCode::CREATED, Json(r)))
}

#[derive(Debug, Serialize, ToSchema)]
struct MyBalance {
    /// The seller: an organizer's id, 0 for the operator.
    book: i64,
    /// What to give Kaspi as the account to top this balance up.
    kaspi_account: String,
    balance: Balance,
}

/// The caller's balances with every seller.
#[utoipa::path(get, path = "/me/balances", tag = "money",
    responses((status = 200, body = Vec<MyBalance>), (status = 401, body = ErrorBody)),
    security(("session" = []), ("token" = [])))]
async fn my_balances(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<MyBalance>>, ApiError> {
    let mut out = Vec::new();
    for w in balances::of_holder(&state.db, Holder::User(caller.user().id)).await? {
        let balance = balances::balance(&state.db, &w).await?;
        out.push(MyBalance {
            book: w.book.0,
            kaspi_account: format!("W{}", w.id),
            balance,
        });
    }
    Ok(Json(out))
}
