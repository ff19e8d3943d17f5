-- Money: the double-entry ledger, personal accounts (wallets), products,
-- orders, payments, refunds and payouts, invoices, bank statements, acts,
-- plans for organizers and the payment module.
-- Amounts are whole tiyn; times are UTC milliseconds; business dates
-- (deadlines counted in Kazakhstan business days) are 'YYYY-MM-DD' text.
-- A "book" is the seller whose money it is: an organizer's id, or 0 for the
-- operator of the installation.

CREATE TABLE ledger_accounts (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    code TEXT NOT NULL,
    holder TEXT NOT NULL,
    normal TEXT NOT NULL,
    debits_posted BIGINT NOT NULL DEFAULT 0,
    credits_posted BIGINT NOT NULL DEFAULT 0,
    debits_pending BIGINT NOT NULL DEFAULT 0,
    credits_pending BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (book, code, holder)
);

CREATE TABLE ledger_postings (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    memo TEXT NOT NULL,
    corrects BIGINT REFERENCES ledger_postings(id),
    actor_id BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_postings_book ON ledger_postings(book, id);

CREATE TABLE ledger_transfers (
    id BIGSERIAL PRIMARY KEY,
    posting_id BIGINT NOT NULL REFERENCES ledger_postings(id),
    debit_account BIGINT NOT NULL REFERENCES ledger_accounts(id),
    credit_account BIGINT NOT NULL REFERENCES ledger_accounts(id),
    amount BIGINT NOT NULL CHECK (amount > 0),
    flag TEXT NOT NULL,
    resolves BIGINT UNIQUE REFERENCES ledger_transfers(id),
    expires_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers(debit_account, id);
CREATE INDEX ledger_transfers_credit ON ledger_transfers(credit_account, id);
CREATE INDEX ledger_transfers_posting ON ledger_transfers(posting_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE wallets (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    holder TEXT NOT NULL,
    main_account BIGINT NOT NULL REFERENCES ledger_accounts(id),
    bonus_account BIGINT NOT NULL REFERENCES ledger_accounts(id),
    negative_since BIGINT,
    top_up_by TEXT,
    suspended_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (book, holder)
);

CREATE TABLE trial_credits (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    amount BIGINT NOT NULL,
    matched_wallet BIGINT REFERENCES wallets(id),
    matched_on TEXT,
    created_at BIGINT NOT NULL,
    UNIQUE (book, wallet_id)
);

CREATE TABLE trial_identities (
    book BIGINT NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    PRIMARY KEY (book, kind, value)
);

CREATE TABLE products (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    price BIGINT NOT NULL,
    taxes_included BIGINT NOT NULL,
    access_days BIGINT,
    starts_at BIGINT,
    refund_policy TEXT NOT NULL,
    allow_half BIGINT NOT NULL DEFAULT 0,
    rest_due_days BIGINT,
    recurring_months BIGINT,
    pass_fees BIGINT NOT NULL DEFAULT 0,
    offer_id BIGINT,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX products_org ON products(org_id, id);

CREATE TABLE orders (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    price BIGINT NOT NULL,
    taxes_included BIGINT NOT NULL,
    access_days BIGINT,
    starts_at BIGINT,
    refund_policy TEXT NOT NULL,
    plan TEXT NOT NULL,
    first_due BIGINT NOT NULL,
    paid BIGINT NOT NULL DEFAULT 0,
    paid_bonus BIGINT NOT NULL DEFAULT 0,
    refunded BIGINT NOT NULL DEFAULT 0,
    pay_by BIGINT NOT NULL,
    rest_due_at BIGINT,
    offer_version_id BIGINT,
    evidence TEXT NOT NULL DEFAULT '{}',
    recurring_id BIGINT,
    idem_key TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    paid_at BIGINT,
    updated_at BIGINT NOT NULL,
    UNIQUE (customer_id, idem_key)
);
CREATE INDEX orders_org ON orders(org_id, id);
CREATE INDEX orders_customer ON orders(customer_id, id);
CREATE INDEX orders_due ON orders(status, pay_by);

CREATE TABLE entitlements (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    order_id BIGINT NOT NULL UNIQUE REFERENCES orders(id),
    starts_at BIGINT NOT NULL,
    ends_at BIGINT,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX entitlements_customer ON entitlements(customer_id, product_id);
CREATE INDEX entitlements_org ON entitlements(org_id, status);

CREATE TABLE payments (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    order_id BIGINT REFERENCES orders(id),
    method TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount BIGINT NOT NULL,
    fee BIGINT NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    provider_ref TEXT,
    posting_id BIGINT REFERENCES ledger_postings(id),
    save_card BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    completed_at BIGINT,
    UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_wallet ON payments(wallet_id, id);
CREATE INDEX payments_order ON payments(order_id);

CREATE TABLE saved_cards (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    token TEXT NOT NULL,
    last_four TEXT NOT NULL,
    card_type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (book, user_id, token)
);

CREATE TABLE recurring (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    product_id BIGINT NOT NULL REFERENCES products(id),
    card_id BIGINT NOT NULL REFERENCES saved_cards(id),
    months BIGINT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    next_charge_at BIGINT NOT NULL,
    cycle BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    cancelled_at BIGINT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX recurring_customer ON recurring(customer_id);

CREATE TABLE refunds (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL,
    order_id BIGINT NOT NULL REFERENCES orders(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    amount BIGINT NOT NULL,
    kept BIGINT NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    pay_out_by TEXT,
    decided_by BIGINT,
    decided_at BIGINT,
    refusal TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE INDEX refunds_org ON refunds(org_id, status);

CREATE TABLE payouts (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    refund_id BIGINT REFERENCES refunds(id),
    payment_id BIGINT REFERENCES payments(id),
    method TEXT NOT NULL,
    amount BIGINT NOT NULL,
    hold_id BIGINT NOT NULL REFERENCES ledger_transfers(id),
    status TEXT NOT NULL,
    provider_ref TEXT,
    details TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE INDEX payouts_status ON payouts(status);

CREATE TABLE invoices (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    number TEXT NOT NULL UNIQUE,
    amount BIGINT NOT NULL,
    payer_name TEXT NOT NULL,
    payer_iin_bin TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_id BIGINT REFERENCES payments(id),
    created_at BIGINT NOT NULL,
    paid_at BIGINT
);
CREATE INDEX invoices_book ON invoices(book, status);

CREATE TABLE bank_statement_lines (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    reference TEXT NOT NULL,
    value_date TEXT NOT NULL,
    amount BIGINT NOT NULL,
    payer TEXT NOT NULL,
    purpose TEXT NOT NULL,
    invoice_id BIGINT REFERENCES invoices(id),
    status TEXT NOT NULL,
    imported_at BIGINT NOT NULL,
    UNIQUE (book, reference)
);

CREATE TABLE acts (
    id BIGSERIAL PRIMARY KEY,
    book BIGINT NOT NULL,
    wallet_id BIGINT NOT NULL REFERENCES wallets(id),
    number TEXT NOT NULL UNIQUE,
    period TEXT NOT NULL,
    amount BIGINT NOT NULL,
    status TEXT NOT NULL,
    respond_by TEXT NOT NULL,
    refusal TEXT,
    decided_at BIGINT,
    created_at BIGINT NOT NULL,
    UNIQUE (wallet_id, period)
);

CREATE TABLE plans (
    id BIGSERIAL PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    period_days BIGINT NOT NULL,
    webinar_rooms BIGINT NOT NULL,
    storage_bytes BIGINT NOT NULL,
    active_students BIGINT NOT NULL,
    sms_allowance BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE plan_prices (
    id BIGSERIAL PRIMARY KEY,
    plan_id BIGINT NOT NULL REFERENCES plans(id),
    price BIGINT NOT NULL,
    effective_from BIGINT NOT NULL,
    published_at BIGINT NOT NULL
);
CREATE INDEX plan_prices_plan ON plan_prices(plan_id, effective_from);

CREATE TABLE org_plans (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    plan_id BIGINT NOT NULL REFERENCES plans(id),
    price_paid BIGINT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    posting_id BIGINT NOT NULL REFERENCES ledger_postings(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX org_plans_org ON org_plans(org_id, ends_at);

CREATE TABLE payment_modules (
    org_id BIGINT PRIMARY KEY REFERENCES organizers(id),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by BIGINT NOT NULL,
    requested_at BIGINT NOT NULL,
    decided_by BIGINT,
    decided_at BIGINT,
    enabled_by BIGINT,
    enabled_at BIGINT
);
