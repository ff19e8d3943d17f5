//! Tenancy: the people and tokens of one organizer can neither see nor
//! change another organizer's data. Whoever holds no role in an organizer is
//! told it does not exist (404), whatever they ask for, and nothing changes.
//!
//! The API matrix is built from the OpenAPI document: a new route with an
//! organizer id in its path fails these tests until the matrix exercises it.
//! Pages have no such document, so their list is explicit and checked
//! against the router: each listed pattern must answer its own owner and be
//! counted under that exact pattern in `/metrics`.

mod support;

use anyhow::{Context, bail, ensure};
use support::{
    api_error_in, can_sign_in, error_page, issue_token, no_server_errors, not_500, token_ids,
};
use tabys_testkit::reqwest::{Method, StatusCode};
use tabys_testkit::{Client, PASSWORD, Reply, TestApp, Value, db_test, json, org_form};

/// Every page route with an organizer id in its path.
const ORG_PAGES: [(&str, &str); 19] = [
    ("GET", "/org/{org}"),
    ("GET", "/org/{org}/profile"),
    ("POST", "/org/{org}/profile"),
    ("GET", "/org/{org}/staff"),
    ("POST", "/org/{org}/staff"),
    ("POST", "/org/{org}/staff/{user}/remove"),
    ("GET", "/org/{org}/tokens"),
    ("POST", "/org/{org}/tokens"),
    ("POST", "/org/{org}/tokens/{token}/revoke"),
    ("GET", "/org/{org}/audit"),
    ("GET", "/org/{org}/offers"),
    ("POST", "/org/{org}/offers"),
    ("GET", "/org/{org}/offers/{offer}"),
    ("POST", "/org/{org}/offers/{offer}/settings"),
    ("POST", "/org/{org}/offers/{offer}/version"),
    ("POST", "/org/{org}/privacy"),
    ("GET", "/org/{org}/customers"),
    ("GET", "/org/{org}/customers/{user}"),
    ("GET", "/org/{org}/access-log"),
];

/// The money pages with an organizer id in their path. Their behaviour for
/// their own organizer is proven in `tests/billing.rs`; here they must
/// answer 404 to everyone of another organizer.
const MONEY_PAGES: [(&str, &str); 18] = [
    ("GET", "/org/{org}/billing"),
    ("POST", "/org/{org}/billing/module"),
    ("POST", "/org/{org}/billing/module/enable"),
    ("POST", "/org/{org}/billing/plan"),
    ("POST", "/org/{org}/billing/top-up"),
    ("POST", "/org/{org}/billing/acts/{act}"),
    ("GET", "/org/{org}/billing/acts/{act}/pdf"),
    ("GET", "/org/{org}/billing/invoices/{invoice}/pdf"),
    ("GET", "/org/{org}/products"),
    ("POST", "/org/{org}/products"),
    ("GET", "/org/{org}/products/{product}"),
    ("POST", "/org/{org}/products/{product}"),
    ("GET", "/org/{org}/sales"),
    ("POST", "/org/{org}/sales/refunds/{refund}"),
    ("POST", "/org/{org}/sales/orders/{order}/refund"),
    ("POST", "/org/{org}/sales/invoices/{invoice}/confirm"),
    ("POST", "/org/{org}/sales/statement"),
    ("POST", "/org/{org}/sales/payouts/{payout}/done"),
];

/// The course pages of an organizer (the learning capability).
const LEARNING_PAGES: [(&str, &str); 35] = [
    (
        "POST",
        "/org/{org}/courses/{course}/lessons/{lesson}/upload",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/lessons/{lesson}/files/{file}/remove",
    ),
    ("GET", "/org/{org}/courses"),
    ("POST", "/org/{org}/courses"),
    ("GET", "/org/{org}/courses/{course}"),
    ("POST", "/org/{org}/courses/{course}"),
    ("POST", "/org/{org}/courses/{course}/publish"),
    ("POST", "/org/{org}/courses/{course}/modules"),
    ("POST", "/org/{org}/courses/{course}/modules/{module}/move"),
    ("POST", "/org/{org}/courses/{course}/lessons"),
    ("GET", "/org/{org}/courses/{course}/lessons/{lesson}"),
    ("POST", "/org/{org}/courses/{course}/lessons/{lesson}"),
    ("POST", "/org/{org}/courses/{course}/lessons/{lesson}/move"),
    (
        "POST",
        "/org/{org}/courses/{course}/lessons/{lesson}/publish",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/lessons/{lesson}/questions",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/lessons/{lesson}/questions/{question}/delete",
    ),
    (
        "GET",
        "/org/{org}/courses/{course}/lessons/{lesson}/preview",
    ),
    ("GET", "/org/{org}/courses/{course}/students"),
    ("POST", "/org/{org}/courses/{course}/students"),
    ("GET", "/org/{org}/courses/{course}/students/{student}"),
    (
        "POST",
        "/org/{org}/courses/{course}/students/{student}/curator",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/students/{student}/block",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/students/{student}/unblock",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/students/{student}/revoke",
    ),
    (
        "POST",
        "/org/{org}/courses/{course}/students/{student}/override",
    ),
    ("POST", "/org/{org}/courses/{course}/groups"),
    ("GET", "/org/{org}/courses/{course}/analytics"),
    ("GET", "/org/{org}/courses/{course}/analytics.csv"),
    ("GET", "/org/{org}/learning/queue"),
    ("GET", "/org/{org}/learning/submissions/{submission}"),
    ("POST", "/org/{org}/learning/submissions/{submission}"),
    (
        "POST",
        "/org/{org}/learning/submissions/{submission}/comment",
    ),
    ("POST", "/org/{org}/learning/posts/{post}/delete"),
    ("GET", "/org/{org}/learning/certificates"),
    (
        "POST",
        "/org/{org}/learning/certificates/{certificate}/clarify",
    ),
];

/// The coworking and events pages with an organizer id in their path.
/// Their behaviour for their own organizer is proven in
/// `tests/bookings.rs`; here they must answer 404 to everyone of another
/// organizer.
const BOOKING_PAGES: [(&str, &str); 17] = [
    ("GET", "/org/{org}/bookings"),
    ("POST", "/org/{org}/bookings"),
    ("GET", "/org/{org}/bookings/resources/{resource}"),
    ("POST", "/org/{org}/bookings/resources/{resource}"),
    ("POST", "/org/{org}/bookings/resources/{resource}/status"),
    ("POST", "/org/{org}/bookings/events"),
    ("GET", "/org/{org}/bookings/events/{event}"),
    ("POST", "/org/{org}/bookings/events/{event}/ticket-types"),
    ("GET", "/org/{org}/bookings/events/{event}/check-in"),
    ("POST", "/org/{org}/bookings/events/{event}/check-in"),
    ("GET", "/org/{org}/bookings/calendar"),
    ("GET", "/org/{org}/bookings/list"),
    ("GET", "/org/{org}/bookings/export.csv"),
    ("GET", "/org/{org}/community"),
    ("POST", "/org/{org}/community/posts/{post}/remove"),
    ("POST", "/org/{org}/community/block"),
    ("POST", "/org/{org}/community/unblock/{user}"),
];

/// The file library's pages; their behaviour for their own organizer is
/// proven in `tests/files.rs`.
const FILE_PAGES: [(&str, &str); 4] = [
    ("GET", "/org/{org}/files"),
    ("POST", "/org/{org}/files/upload"),
    ("GET", "/org/{org}/files/{file}"),
    ("POST", "/org/{org}/files/{file}/delete"),
];

/// The notification pages with an organizer id in their path: the support
/// inbox, mailings and sending settings. Their behaviour for their own
/// organizer is proven in `tests/notify.rs`; here they must answer 404 to
/// everyone of another organizer.
const NOTIFY_PAGES: [(&str, &str); 11] = [
    ("GET", "/org/{org}/support"),
    ("POST", "/org/{org}/support/{thread}/upload"),
    ("GET", "/org/{org}/support/{thread}/files/{message}"),
    ("GET", "/org/{org}/support/{thread}"),
    ("POST", "/org/{org}/support/{thread}"),
    ("POST", "/org/{org}/support/{thread}/update"),
    ("GET", "/org/{org}/support/{thread}/last"),
    ("GET", "/org/{org}/mailings"),
    ("POST", "/org/{org}/mailings"),
    ("GET", "/org/{org}/sending"),
    ("POST", "/org/{org}/sending"),
];

/// The webinar pages with an organizer id in their path. Their behaviour
/// for their own organizer is proven in `tests/live.rs`; here they must
/// answer 404 to everyone of another organizer.
const LIVE_PAGES: [(&str, &str); 33] = [
    ("GET", "/org/{org}/live"),
    ("POST", "/org/{org}/live"),
    ("GET", "/org/{org}/live/filters"),
    ("POST", "/org/{org}/live/filters"),
    ("GET", "/org/{org}/live/rooms/{room}"),
    ("POST", "/org/{org}/live/rooms/{room}"),
    ("POST", "/org/{org}/live/rooms/{room}/delete"),
    ("POST", "/org/{org}/live/rooms/{room}/cover/upload"),
    ("POST", "/org/{org}/live/rooms/{room}/cover/remove"),
    ("POST", "/org/{org}/live/rooms/{room}/video/upload"),
    ("POST", "/org/{org}/live/rooms/{room}/video/remove"),
    ("POST", "/org/{org}/live/rooms/{room}/moderators"),
    ("POST", "/org/{org}/live/rooms/{room}/banners"),
    ("POST", "/org/{org}/live/rooms/{room}/webinars"),
    ("POST", "/org/{org}/live/rooms/{room}/scenarios"),
    ("POST", "/org/{org}/live/rooms/{room}/autowebinars"),
    ("POST", "/org/{org}/live/banners/{banner}/archive"),
    ("GET", "/org/{org}/live/webinars/{w}"),
    ("POST", "/org/{org}/live/webinars/{w}/open"),
    ("POST", "/org/{org}/live/webinars/{w}/close"),
    ("GET", "/org/{org}/live/webinars/{w}/activity.csv"),
    ("POST", "/org/{org}/live/webinars/{w}/messages/{m}/promote"),
    ("GET", "/org/{org}/live/scenarios/{s}"),
    ("GET", "/org/{org}/live/scenarios/{s}/csv"),
    ("POST", "/org/{org}/live/scenarios/{s}/import"),
    ("POST", "/org/{org}/live/scenarios/{s}/events"),
    ("POST", "/org/{org}/live/scenarios/{s}/events/{e}"),
    ("POST", "/org/{org}/live/scenarios/{s}/events/{e}/delete"),
    ("GET", "/org/{org}/live/autowebinars/{a}"),
    ("POST", "/org/{org}/live/autowebinars/{a}"),
    ("POST", "/org/{org}/live/autowebinars/{a}/delete"),
    ("POST", "/org/{org}/live/autowebinars/{a}/video/upload"),
    ("POST", "/org/{org}/live/autowebinars/{a}/video/remove"),
];

/// Every API route with an organizer id in its path that this matrix
/// knows how to call, as the OpenAPI document names them.
const ORG_API: [(&str, &str); 13] = [
    ("GET", "/orgs/{org}"),
    ("PUT", "/orgs/{org}"),
    ("GET", "/orgs/{org}/staff"),
    ("POST", "/orgs/{org}/staff"),
    ("DELETE", "/orgs/{org}/staff/{user}"),
    ("GET", "/orgs/{org}/audit"),
    ("GET", "/orgs/{org}/offers"),
    ("POST", "/orgs/{org}/offers/{offer}/versions"),
    ("GET", "/orgs/{org}/products"),
    ("POST", "/orgs/{org}/products"),
    ("GET", "/orgs/{org}/orders"),
    ("POST", "/orgs/{org}/orders/{order}/refunds"),
    ("GET", "/orgs/{org}/plan"),
];

/// The ids a route's path parameters take in one organizer.
#[derive(Clone, Copy, Debug)]
struct Ids {
    org: i64,
    /// A staff member (not the owner) of that organizer.
    user: i64,
    /// A live API token of that organizer.
    token: i64,
    /// One of its offers.
    offer: i64,
    /// One of its customers.
    customer: i64,
    /// One of its products.
    product: i64,
    /// An order (unpaid) for that product by one of its customers.
    order: i64,
}

/// Two organizers and the people around them.
struct World {
    a: i64,
    b: i64,
    owner_a: Client,
    /// A manager of A: the most a staff login can be.
    manager_a: Client,
    /// A customer of A.
    customer: Client,
    owner_b: Client,
    /// B's curator and B's token.
    b_ids: Ids,
    /// A's manager and A's token.
    a_ids: Ids,
    /// The secret of A's token (issued by A's owner).
    a_secret: String,
    b_secret: String,
}

async fn staff_id(owner: &Client, org: i64, email: &str) -> anyhow::Result<i64> {
    let r = owner.get(&format!("/api/v1/orgs/{org}/staff")).await?;
    ensure!(
        r.status == StatusCode::OK,
        "staff list answered {}: {}",
        r.status,
        r.text
    );
    r.json()?
        .as_array()
        .and_then(|list| list.iter().find(|m| m["email"] == email))
        .and_then(|m| m["user_id"].as_i64())
        .with_context(|| format!("{email} is not on the staff of {org}"))
}

async fn add_staff(owner: &Client, org: i64, email: &str, role: &str) -> anyhow::Result<i64> {
    let r = owner
        .post_form(
            &format!("/org/{org}/staff"),
            &[
                ("email", email),
                ("name", "Staff"),
                ("role", role),
                ("password", PASSWORD),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "adding {email} answered {}: {}",
        r.status,
        r.text
    );
    staff_id(owner, org, email).await
}

async fn sign_in(app: &TestApp, email: &str) -> anyhow::Result<Client> {
    let c = app.client()?;
    let r = c
        .post_form("/login", &[("email", email), ("password", PASSWORD)])
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "sign-in of {email} answered {}: {}",
        r.status,
        r.text
    );
    Ok(c)
}

/// Creates an offer (with nothing published) and returns its id.
async fn create_offer(owner: &Client, org: i64) -> anyhow::Result<i64> {
    let r = owner
        .post_form(
            &format!("/org/{org}/offers"),
            &[
                ("kind", "terms"),
                ("notice_days", "1"),
                ("m_checkbox", "on"),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "creating an offer answered {}: {}",
        r.status,
        r.text
    );
    r.location
        .as_deref()
        .and_then(|l| l.rsplit('/').next())
        .and_then(|id| id.parse().ok())
        .context("offer id in the redirect")
}

fn product_body() -> Value {
    json!({ "kind": "course", "title": "Курс", "price": "10 000", "refund_policy": "none" })
}

/// Creates a product and returns its id.
async fn create_product(owner: &Client, org: i64) -> anyhow::Result<i64> {
    let r = owner
        .api(
            Method::POST,
            &format!("/api/v1/orgs/{org}/products"),
            Some(product_body()),
        )
        .await?;
    ensure!(
        r.status == StatusCode::CREATED,
        "creating a product answered {}: {}",
        r.status,
        r.text
    );
    r.json()?["id"].as_i64().context("product id")
}

/// The operator's browser, signed in.
async fn operator(app: &TestApp) -> anyhow::Result<Client> {
    let mut tx = app.db.begin().await?;
    let new = tabys_accounts::users::NewUser {
        email: tabys_core::email::Email::parse("operator@tabys.kz")
            .map_err(|e| anyhow::anyhow!("{e}"))?,
        name: "Operator".into(),
        password: PASSWORD.into(),
        locale: tabys_core::locale::Locale::Ru,
        adult_confirmed: true,
    };
    tabys_accounts::users::create(&mut tx, &app.db, new, true).await?;
    tx.commit().await?;
    sign_in(app, "operator@tabys.kz").await
}

/// Lets the organizer sell: it asks, the operator approves, it switches the module on.
async fn enable_payment_module(owner: &Client, operator: &Client, org: i64) -> anyhow::Result<()> {
    let steps = [
        (
            owner,
            format!("/org/{org}/billing/module"),
            vec![("comment", "we sell")],
        ),
        (
            operator,
            format!("/admin/billing/modules/{org}"),
            vec![("decision", "approve"), ("reasons", "")],
        ),
        (
            owner,
            format!("/org/{org}/billing/module/enable"),
            vec![("accept_terms", "1")],
        ),
    ];
    for (who, path, form) in steps {
        let r = who.post_form(&path, &form).await?;
        ensure!(
            r.status == StatusCode::SEE_OTHER,
            "{path} answered {}: {}",
            r.status,
            r.text
        );
    }
    Ok(())
}

/// A customer orders a product (without paying) and gets the order id.
async fn place_order(customer: &Client, slug: &str, product: i64) -> anyhow::Result<i64> {
    let r = customer
        .post_form(
            &format!("/o/{slug}/products/{product}/order"),
            &[
                ("plan", "full".to_string()),
                ("key", format!("tenancy-{slug}-{product}")),
            ],
        )
        .await?;
    ensure!(
        r.status == StatusCode::SEE_OTHER,
        "ordering answered {}: {}",
        r.status,
        r.text
    );
    r.location
        .as_deref()
        .and_then(|l| l.split('/').find_map(|p| p.parse().ok()))
        .context("order id in the redirect")
}

async fn world(app: &TestApp) -> anyhow::Result<World> {
    let (owner_a, a) = app.organizer("owner@alpha.kz", "alpha").await?;
    let (owner_b, b) = app.organizer("owner@beta.kz", "beta").await?;
    let a_manager = add_staff(&owner_a, a, "manager@alpha.kz", "manager").await?;
    let manager_a = sign_in(app, "manager@alpha.kz").await?;
    let b_curator = add_staff(&owner_b, b, "curator@beta.kz", "curator").await?;
    let (a_secret, a_token) = issue_token(&owner_a, a, "alpha integration").await?;
    let (b_secret, b_token) = issue_token(&owner_b, b, "beta integration").await?;
    let customer = app.person("customer@example.kz", "Customer").await?;
    let customer_b = app.person("customer@beta.kz", "Customer of B").await?;
    let mut customer_ids = Vec::new();
    for (c, slug) in [(&customer, "alpha"), (&customer_b, "beta")] {
        let joined = c
            .post_form(&format!("/o/{slug}/join"), &[] as &[(&str, &str)])
            .await?;
        ensure!(
            joined.status == StatusCode::SEE_OTHER,
            "joining {slug} answered {}: {}",
            joined.status,
            joined.text
        );
        let id = c.get("/api/v1/me").await?.json()?["id"].as_i64();
        customer_ids.push(id.context("customer id")?);
    }
    let a_offer = create_offer(&owner_a, a).await?;
    let operator = operator(app).await?;
    for (owner, org) in [(&owner_a, a), (&owner_b, b)] {
        enable_payment_module(owner, &operator, org).await?;
    }
    let a_product = create_product(&owner_a, a).await?;
    let b_product = create_product(&owner_b, b).await?;
    let a_order = place_order(&customer, "alpha", a_product).await?;
    let b_order = place_order(&customer_b, "beta", b_product).await?;
    let b_offer = create_offer(&owner_b, b).await?;
    Ok(World {
        a,
        b,
        owner_a,
        manager_a,
        customer,
        owner_b,
        b_ids: Ids {
            org: b,
            user: b_curator,
            token: b_token,
            offer: b_offer,
            customer: customer_ids[1],
            product: b_product,
            order: b_order,
        },
        a_ids: Ids {
            org: a,
            user: a_manager,
            token: a_token,
            offer: a_offer,
            customer: customer_ids[0],
            product: a_product,
            order: a_order,
        },
        a_secret,
        b_secret,
    })
}

/// Everything of B that A's people might have changed, as B's owner sees it.
#[derive(Debug, PartialEq)]
struct Snapshot {
    profile: Value,
    staff: Value,
    offers: Value,
    products: Value,
    audit: Value,
    live_tokens: Vec<i64>,
    token_works: bool,
    /// The newest entry of the whole audit chain: a refused request writes none.
    newest_audit_seq: Option<i64>,
    /// B's sender name and reply-to, its mailings and support messages.
    sending: (String, String),
    mailings: usize,
    support_messages: i64,
}

async fn snapshot(w: &World, app: &TestApp) -> anyhow::Result<Snapshot> {
    let b = w.b;
    let get = |path: String| async move {
        let r = w.owner_b.get(&path).await?;
        ensure!(
            r.status == StatusCode::OK,
            "{path} answered {}: {}",
            r.status,
            r.text
        );
        r.json()
    };
    let tokens = w.owner_b.get(&format!("/org/{b}/tokens")).await?;
    ensure!(
        tokens.status == StatusCode::OK,
        "tokens page answered {}",
        tokens.status
    );
    let token = Client::bearer(
        &app.base,
        &w.b_secret,
        Method::GET,
        &format!("/api/v1/orgs/{b}"),
        None,
    )
    .await?;
    Ok(Snapshot {
        profile: get(format!("/api/v1/orgs/{b}")).await?,
        staff: get(format!("/api/v1/orgs/{b}/staff")).await?,
        offers: get(format!("/api/v1/orgs/{b}/offers")).await?,
        products: get(format!("/api/v1/orgs/{b}/products")).await?,
        audit: get(format!("/api/v1/orgs/{b}/audit")).await?,
        live_tokens: token_ids(&tokens.text, b),
        token_works: token.status == StatusCode::OK,
        newest_audit_seq: tabys_store::audit::recent(&app.db, None, 1)
            .await?
            .first()
            .map(|r| r.seq),
        sending: {
            let s = tabys_notify::settings::get(&app.db, tabys_core::ids::OrgId(b)).await?;
            (s.sender_name, s.reply_to)
        },
        mailings: tabys_delivery::mailings::list(&app.db, tabys_core::ids::OrgId(b))
            .await?
            .len(),
        support_messages: sqlx::query_scalar("SELECT COUNT(*) FROM support_messages")
            .fetch_one(app.db.read())
            .await?,
    })
}

/// A route pattern with the ids of one organizer filled in.
fn fill(pattern: &str, ids: Ids) -> anyhow::Result<String> {
    // On a customer's page the person is a customer, elsewhere a staff member.
    let user = if pattern.contains("/customers/") || pattern.contains("{student}") {
        ids.customer
    } else {
        ids.user
    };
    let path = pattern
        .replace("{org}", &ids.org.to_string())
        .replace("{user}", &user.to_string())
        .replace("{token}", &ids.token.to_string())
        .replace("{offer}", &ids.offer.to_string())
        .replace("{product}", &ids.product.to_string())
        // Money records the matrix does not create: the organizer in the
        // path is refused before any of these is looked up.
        .replace("{order}", &ids.order.to_string())
        .replace("{refund}", "1")
        .replace("{act}", "1")
        .replace("{invoice}", "1")
        .replace("{payout}", "1")
        .replace("{thread}", "1")
        .replace("{message}", "1")
        // Course records: the organizer in the path is refused first too.
        .replace("{student}", &user.to_string())
        .replace("{course}", "1")
        .replace("{module}", "1")
        .replace("{lesson}", "1")
        .replace("{question}", "1")
        .replace("{submission}", "1")
        .replace("{post}", "1")
        .replace("{certificate}", "1")
        .replace("{file}", "1")
        .replace("{resource}", "1")
        .replace("{event}", "1")
        // Webinar records: the organizer in the path is refused first.
        .replace("{room}", "1")
        .replace("{banner}", "1")
        .replace("{w}", "1")
        .replace("{m}", "1")
        .replace("{s}", "1")
        .replace("{e}", "1")
        .replace("{a}", "1");
    ensure!(
        !path.contains('{'),
        "{pattern} has a path parameter the tenancy matrix does not know; teach `fill` which id of another organizer to put there"
    );
    Ok(path)
}

/// A well-formed form for each page route that takes one: a wrong answer
/// must come from the access check, never from a bad body.
fn page_form(
    method: &str,
    pattern: &str,
    slug: &str,
) -> anyhow::Result<Vec<(&'static str, String)>> {
    Ok(match (method, pattern) {
        ("GET", _) => Vec::new(),
        ("POST", "/org/{org}/profile") => {
            let mut form = org_form(slug);
            form.retain(|(k, _)| *k != "legal_name");
            form.push(("legal_name", "ТОО «Захвачено»".into()));
            form
        }
        ("POST", "/org/{org}/staff") => vec![
            ("email", "intruder@example.kz".into()),
            ("name", "Intruder".into()),
            ("role", "manager".into()),
            ("password", PASSWORD.into()),
        ],
        ("POST", "/org/{org}/tokens") => vec![("name", "stolen".into())],
        ("POST", "/org/{org}/offers") => vec![
            ("kind", "privacy".into()),
            ("notice_days", "0".into()),
            ("m_checkbox", "on".into()),
        ],
        ("POST", "/org/{org}/offers/{offer}/settings") => vec![
            ("kind", "terms".into()),
            ("notice_days", "30".into()),
            ("m_first_login", "on".into()),
        ],
        ("POST", "/org/{org}/offers/{offer}/version") => vec![
            ("text_ru", "Захваченный текст".into()),
            ("text_kk", "Басып алынған мәтін".into()),
            ("action", "publish".into()),
        ],
        ("POST", "/org/{org}/privacy") => vec![
            ("purposes_ru", "Захвачено".into()),
            ("purposes_kk", "Басып алынды".into()),
            ("purposes_en", "Taken".into()),
            ("retention_days", "1".into()),
        ],
        ("POST", p) if p.ends_with("/remove") || p.ends_with("/revoke") => Vec::new(),
        ("POST", "/org/{org}/products" | "/org/{org}/products/{product}") => vec![
            ("kind", "course".into()),
            ("title", "Захваченный курс".into()),
            ("price", "1".into()),
            ("refund_policy", "none".into()),
        ],
        // The other money forms read with every field defaulted.
        ("POST", p) if MONEY_PAGES.contains(&("POST", p)) => Vec::new(),
        // So do the course forms.
        ("POST", p) if LEARNING_PAGES.contains(&("POST", p)) => Vec::new(),
        // The bookings forms read with every field defaulted too.
        ("POST", p) if BOOKING_PAGES.contains(&("POST", p)) => Vec::new(),
        // The upload sends its own multipart body (see `call_page`).
        ("POST", "/org/{org}/files/{file}/delete" | "/org/{org}/files/upload") => Vec::new(),
        ("POST", "/org/{org}/support/{thread}/upload") => Vec::new(),
        ("POST", "/org/{org}/support/{thread}") => vec![("body", "Захваченный ответ".into())],
        ("POST", "/org/{org}/support/{thread}/update") => {
            vec![("assignee", String::new()), ("status", "closed".into())]
        }
        ("POST", "/org/{org}/mailings") => vec![
            ("channel", "email".into()),
            ("segment", "all".into()),
            ("purpose", "info".into()),
            ("subject", "Захвачено".into()),
            ("body", "Захваченная рассылка".into()),
        ],
        ("POST", "/org/{org}/sending") => vec![
            ("sender_name", "Захвачено".into()),
            ("reply_to", "intruder@example.kz".into()),
            ("sms_mode", "operator".into()),
        ],
        // One form that every webinar form can read.
        ("POST", p) if LIVE_PAGES.contains(&("POST", p)) => [
            "title",
            "language",
            "video_kind",
            "video_url",
            "access",
            "text",
            "button_text",
            "starts_at",
            "duration_min",
            "lang",
            "words",
            "csv",
            "at",
            "kind",
            "schedule_kind",
            "times",
        ]
        .iter()
        .map(|k| (*k, "1".to_string()))
        .collect(),
        other => bail!("no form for {other:?}"),
    })
}

async fn call_page(
    c: &Client,
    method: &str,
    pattern: &str,
    ids: Ids,
    slug: &str,
) -> anyhow::Result<Reply> {
    let path = fill(pattern, ids)?;
    let form = page_form(method, pattern, slug)?;
    let r = match method {
        "GET" => c.get(&path).await?,
        // An upload is a multipart form carrying a file.
        "POST" if path.ends_with("/upload") => {
            c.upload(&path, &[], "notes.txt", b"taken over").await?
        }
        "POST" => c.post_form(&path, &form).await?,
        other => bail!("unexpected method {other}"),
    };
    not_500(&r)?;
    Ok(r)
}

/// The API routes with an organizer id, from the OpenAPI document, and the
/// prefix its server entry says they live under.
async fn api_routes(c: &Client) -> anyhow::Result<(String, Vec<(String, String)>)> {
    let doc = c.get("/api/v1/openapi.json").await?.json()?;
    let prefix = doc["servers"][0]["url"]
        .as_str()
        .context("the OpenAPI document names its server")?
        .to_string();
    let paths = doc["paths"].as_object().context("paths")?;
    let mut routes = Vec::new();
    for (path, item) in paths {
        if !path.contains("{org}") {
            continue;
        }
        for method in ["get", "put", "post", "patch", "delete"] {
            if item.get(method).is_some() {
                routes.push((method.to_ascii_uppercase(), path.clone()));
            }
        }
    }
    Ok((prefix, routes))
}

/// A well-formed body for each API route that takes one.
fn api_body(method: &str, pattern: &str, slug: &str) -> anyhow::Result<Option<Value>> {
    Ok(match (method, pattern) {
        ("GET" | "DELETE", _) => None,
        ("PUT", "/orgs/{org}") => {
            let mut body = serde_json::Map::new();
            for (k, v) in org_form(slug) {
                body.insert(k.to_string(), Value::String(v));
            }
            body.insert("legal_name".into(), json!("ТОО «Захвачено»"));
            Some(Value::Object(body))
        }
        ("POST", "/orgs/{org}/offers/{offer}/versions") => {
            Some(json!({ "text_ru": "Захваченный текст", "text_kk": "Басып алынған мәтін" }))
        }
        ("POST", "/orgs/{org}/products") => Some(product_body()),
        ("POST", "/orgs/{org}/orders/{order}/refunds") => {
            Some(json!({ "amount": "1", "reason": "intrusion" }))
        }
        ("POST", "/orgs/{org}/staff") => Some(
            json!({ "email": "intruder@example.kz", "name": "Intruder", "role": "manager", "password": PASSWORD }),
        ),
        other => {
            bail!("{other:?} takes a body the tenancy matrix does not know; add it to `api_body`")
        }
    })
}

fn method(name: &str) -> anyhow::Result<Method> {
    Method::from_bytes(name.as_bytes()).context("method")
}

/// Who calls the API: a browser session, or a bearer token.
enum Caller<'a> {
    Session(&'a Client),
    Token(&'a str),
}

async fn call_api(
    app: &TestApp,
    caller: &Caller<'_>,
    m: &str,
    prefix: &str,
    pattern: &str,
    ids: Ids,
    slug: &str,
) -> anyhow::Result<Reply> {
    let path = format!("{prefix}{}", fill(pattern, ids)?);
    let body = api_body(m, pattern, slug)?;
    let r = match caller {
        Caller::Session(c) => c.api(method(m)?, &path, body).await?,
        Caller::Token(t) => Client::bearer(&app.base, t, method(m)?, &path, body).await?,
    };
    not_500(&r)?;
    Ok(r)
}

db_test! {
    async fn another_organizers_pages_answer_404_to_owner_staff_and_customer_and_nothing_changes(app: TestApp) {
        let w = world(&app).await?;
        let before = snapshot(&w, &app).await?;
        for (who, c) in [("A's owner", &w.owner_a), ("A's manager", &w.manager_a), ("A's customer", &w.customer)] {
            for (m, pattern) in ORG_PAGES.iter().chain(MONEY_PAGES.iter()).chain(FILE_PAGES.iter()).chain(NOTIFY_PAGES.iter()).chain(LEARNING_PAGES.iter()).chain(BOOKING_PAGES.iter()).chain(LIVE_PAGES.iter()).copied() {
                let r = call_page(c, m, pattern, w.b_ids, "beta").await?;
                error_page(&r, StatusCode::NOT_FOUND, "ru", "not-found")
                    .with_context(|| format!("{who}: {m} {pattern} on B"))?;
                ensure!(!r.text.contains("beta"), "{who}: {m} {pattern} shows B's data: {}", r.text);
            }
        }
        assert_eq!(snapshot(&w, &app).await?, before, "B changed");
        ensure!(!can_sign_in(&app, "intruder@example.kz", PASSWORD).await?, "an account was created through B's staff form");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn every_api_route_with_an_organizer_id_answers_404_for_another_organizer_and_nothing_changes(app: TestApp) {
        let w = world(&app).await?;
        let (prefix, routes) = api_routes(&w.owner_a).await?;
        for (m, path) in &routes {
            ensure!(
                ORG_API.contains(&(m.as_str(), path.as_str())),
                "{m} {path} has an organizer id in its path but the tenancy matrix does not exercise it: add it to ORG_API"
            );
        }
        for (m, path) in ORG_API {
            ensure!(
                routes.iter().any(|(rm, rp)| rm == m && rp == path),
                "{m} {path} is in ORG_API but no longer in the OpenAPI document"
            );
        }
        let before = snapshot(&w, &app).await?;
        let callers = [
            ("A's owner", Caller::Session(&w.owner_a)),
            ("A's manager", Caller::Session(&w.manager_a)),
            ("A's customer", Caller::Session(&w.customer)),
            ("A's token", Caller::Token(&w.a_secret)),
        ];
        for (who, caller) in &callers {
            for (m, pattern) in &routes {
                let r = call_api(&app, caller, m, &prefix, pattern, w.b_ids, "beta").await?;
                api_error_in(&r, StatusCode::NOT_FOUND, "not-found", "ru", "not-found")
                    .with_context(|| format!("{who}: {m} {pattern} on B"))?;
                ensure!(!r.text.contains("beta"), "{who}: {m} {pattern} shows B's data: {}", r.text);
            }
        }
        assert_eq!(snapshot(&w, &app).await?, before, "B changed");
        ensure!(!can_sign_in(&app, "intruder@example.kz", PASSWORD).await?, "an account was created through B's staff route");

        // The same requests with A's own ids succeed for A's owner, so the
        // 404s above came from the access check, not from a malformed call.
        let owner = Caller::Session(&w.owner_a);
        for (m, pattern) in &routes {
            let mut ids = w.a_ids;
            if (m.as_str(), pattern.as_str()) == ("DELETE", "/orgs/{org}/staff/{user}") {
                let added = call_api(&app, &owner, "POST", &prefix, "/orgs/{org}/staff", w.a_ids, "alpha").await?;
                ensure!(added.status == StatusCode::CREATED, "adding staff answered {}: {}", added.status, added.text);
                ids.user = added.json()?["user_id"].as_i64().context("user_id")?;
            }
            let r = call_api(&app, &owner, m, &prefix, pattern, ids, "alpha").await?;
            // An unpaid order has nothing to refund: refused for that
            // reason, which shows the order was found behind the access check.
            let refund_of_unpaid = (m.as_str(), pattern.as_str()) == ("POST", "/orgs/{org}/orders/{order}/refunds")
                && r.status == StatusCode::UNPROCESSABLE_ENTITY;
            ensure!(r.status.is_success() || refund_of_unpaid, "A's owner: {m} {pattern} on A answered {}: {}", r.status, r.text);
            if (m.as_str(), pattern.as_str()) == ("POST", "/orgs/{org}/staff") {
                // Let the next request add the same person again.
                let removed = w.owner_a.api(Method::DELETE, &format!("/api/v1/orgs/{}/staff/{}", w.a, r.json()?["user_id"]), None).await?;
                ensure!(removed.status == StatusCode::NO_CONTENT, "removing answered {}", removed.status);
            }
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn ids_of_another_organizer_through_ones_own_organizer_path_answer_404(app: TestApp) {
        let w = world(&app).await?;
        let before = snapshot(&w, &app).await?;
        let (a, b_user, b_token) = (w.a, w.b_ids.user, w.b_ids.token);

        // Pages: the owner (who may remove staff and revoke tokens) and the
        // manager (who may revoke tokens).
        for (who, c) in [("A's owner", &w.owner_a), ("A's manager", &w.manager_a)] {
            let r = c.post_form(&format!("/org/{a}/tokens/{b_token}/revoke"), &[] as &[(&str, &str)]).await?;
            error_page(&r, StatusCode::NOT_FOUND, "ru", "not-found").with_context(|| format!("{who} revoking B's token"))?;
        }
        let r = w.owner_a.post_form(&format!("/org/{a}/staff/{b_user}/remove"), &[] as &[(&str, &str)]).await?;
        error_page(&r, StatusCode::NOT_FOUND, "ru", "not-found").context("A's owner removing B's curator")?;

        // A manager may not remove staff at all: the answer is the same for
        // B's curator as for an id that does not exist, so it tells nothing.
        let theirs = w.manager_a.post_form(&format!("/org/{a}/staff/{b_user}/remove"), &[] as &[(&str, &str)]).await?;
        let nobody = w.manager_a.post_form(&format!("/org/{a}/staff/987654/remove"), &[] as &[(&str, &str)]).await?;
        error_page(&theirs, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        error_page(&nobody, StatusCode::FORBIDDEN, "ru", "forbidden")?;

        // API: A's owner by session and by A's token.
        let path = format!("/api/v1/orgs/{a}/staff/{b_user}");
        let r = w.owner_a.api(Method::DELETE, &path, None).await?;
        api_error_in(&r, StatusCode::NOT_FOUND, "not-found", "ru", "not-found").context("A's owner, session")?;
        let r = Client::bearer(&app.base, &w.a_secret, Method::DELETE, &path, None).await?;
        api_error_in(&r, StatusCode::NOT_FOUND, "not-found", "ru", "not-found").context("A's token")?;
        let theirs = w.manager_a.api(Method::DELETE, &path, None).await?;
        let nobody = w.manager_a.api(Method::DELETE, &format!("/api/v1/orgs/{a}/staff/987654"), None).await?;
        api_error_in(&theirs, StatusCode::FORBIDDEN, "forbidden", "ru", "forbidden")?;
        api_error_in(&nobody, StatusCode::FORBIDDEN, "forbidden", "ru", "forbidden")?;

        // B's token cannot act in A either.
        let r = Client::bearer(&app.base, &w.b_secret, Method::GET, &format!("/api/v1/orgs/{a}/staff"), None).await?;
        api_error_in(&r, StatusCode::NOT_FOUND, "not-found", "ru", "not-found").context("B's token on A")?;

        assert_eq!(snapshot(&w, &app).await?, before, "B changed");
        ensure!(before.live_tokens.contains(&b_token), "B's token was live to begin with");
        no_server_errors(&app).await
    }
}

db_test! {
    async fn the_listed_organizer_pages_are_real_routes_that_answer_their_owner(app: TestApp) {
        let w = world(&app).await?;
        let a = w.a;
        let fresh = add_staff(&w.owner_a, a, "support@alpha.kz", "support").await?;
        for (m, pattern) in ORG_PAGES {
            let mut ids = w.a_ids;
            ids.user = fresh;
            let r = call_page(&w.owner_a, m, pattern, ids, "alpha").await?;
            let expected = match (m, pattern) {
                ("GET", _) | ("POST", "/org/{org}/tokens") => StatusCode::OK,
                _ => StatusCode::SEE_OTHER,
            };
            ensure!(r.status == expected, "A's owner: {m} {pattern} answered {} (expected {expected}): {}", r.status, r.text);
        }
        // The changes went through: the profile, the staff, the token.
        let profile = w.owner_a.get(&format!("/api/v1/orgs/{a}")).await?.json()?;
        ensure!(profile["legal_name"] == "ТОО «Захвачено»", "profile not saved: {profile}");
        ensure!(staff_id(&w.owner_a, a, "support@alpha.kz").await.is_err(), "support was not removed");
        staff_id(&w.owner_a, a, "intruder@example.kz").await?;
        let tokens = w.owner_a.get(&format!("/org/{a}/tokens")).await?;
        ensure!(!token_ids(&tokens.text, a).contains(&w.a_ids.token), "token was not revoked");

        // Each listed pattern is the router's own: requests were counted under it.
        let metrics = app.client()?.get("/metrics").await?.text;
        for (m, pattern) in ORG_PAGES {
            let label = format!("route=\"{pattern}\",method=\"{m}\"");
            ensure!(metrics.contains(&label), "the router has no route {m} {pattern}:\n{metrics}");
        }
        no_server_errors(&app).await
    }
}

db_test! {
    async fn a_customer_of_an_organizer_is_not_its_staff(app: TestApp) {
        let w = world(&app).await?;
        let a = w.a;
        let r = w.customer.get(&format!("/org/{a}")).await?;
        error_page(&r, StatusCode::FORBIDDEN, "ru", "forbidden")?;
        let r = w.customer.api(Method::GET, &format!("/api/v1/orgs/{a}/staff"), None).await?;
        api_error_in(&r, StatusCode::FORBIDDEN, "forbidden", "ru", "forbidden")?;
        let me = w.customer.get("/api/v1/me").await?.json()?;
        assert_eq!(support::memberships(&me), vec![(a, "customer".to_string())]);
        no_server_errors(&app).await
    }
}

/// The organizer-scoped routes the page router declares, read from the
/// source of `crates/web/src/pages`: a new one fails the test below until
/// the matrix lists it.
fn declared_org_pages() -> anyhow::Result<Vec<String>> {
    let mut dirs = vec![std::path::PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/src/pages"
    ))];
    let mut files = Vec::new();
    // Every file under the folder, however deep.
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                dirs.push(path);
            } else {
                files.push(path);
            }
        }
    }
    let mut found = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file)?;
        for piece in text.split(".route(").skip(1) {
            let literal = piece.trim_start();
            if let Some(rest) = literal.strip_prefix('"')
                && let Some(path) = rest.split('"').next()
                && path.starts_with("/org/{org}")
            {
                found.push(path.to_string());
            }
        }
    }
    Ok(found)
}

#[test]
fn every_organizer_page_the_router_declares_is_in_the_matrix() -> anyhow::Result<()> {
    let declared = declared_org_pages()?;
    ensure!(
        declared.len() >= ORG_PAGES.len() / 2,
        "the scan found too few routes: {declared:?}"
    );
    for path in &declared {
        ensure!(
            ORG_PAGES
                .iter()
                .chain(MONEY_PAGES.iter())
                .chain(LEARNING_PAGES.iter())
                .chain(FILE_PAGES.iter())
                .chain(NOTIFY_PAGES.iter())
                .chain(BOOKING_PAGES.iter())
                .chain(LIVE_PAGES.iter())
                .any(|(_, p)| p == path),
            "{path} is an organizer page the tenancy matrix does not exercise: add it to ORG_PAGES, or to the list of its capability"
        );
    }
    for (_, p) in ORG_PAGES
        .iter()
        .chain(MONEY_PAGES.iter())
        .chain(LEARNING_PAGES.iter())
        .chain(FILE_PAGES.iter())
        .chain(NOTIFY_PAGES.iter())
        .chain(BOOKING_PAGES.iter())
        .chain(LIVE_PAGES.iter())
    {
        ensure!(
            declared.contains(&p.to_string()),
            "{p} is in the matrix but the router no longer declares it"
        );
    }
    Ok(())
}
