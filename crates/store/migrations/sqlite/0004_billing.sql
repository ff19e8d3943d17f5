-- Money: the double-entry ledger, personal accounts (wallets), products,
-- orders, payments, refunds and payouts, invoices, bank statements, acts,
-- plans for organizers and the payment module.
-- Amounts are whole tiyn; times are UTC milliseconds; business dates
-- (deadlines counted in Kazakhstan business days) are 'YYYY-MM-DD' text.
-- A "book" is the seller whose money it is: an organizer's id, or 0 for the
-- operator of the installation.

CREATE TABLE ledger_accounts (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    code TEXT NOT NULL,
    holder TEXT NOT NULL,
    normal TEXT NOT NULL,
    debits_posted INTEGER NOT NULL DEFAULT 0,
    credits_posted INTEGER NOT NULL DEFAULT 0,
    debits_pending INTEGER NOT NULL DEFAULT 0,
    credits_pending INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    UNIQUE (book, code, holder)
);

CREATE TABLE ledger_postings (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    idem_key TEXT NOT NULL UNIQUE,
    request_hash TEXT NOT NULL,
    kind TEXT NOT NULL,
    memo TEXT NOT NULL,
    corrects INTEGER REFERENCES ledger_postings(id),
    actor_id INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX ledger_postings_book ON ledger_postings(book, id);

CREATE TABLE ledger_transfers (
    id INTEGER PRIMARY KEY,
    posting_id INTEGER NOT NULL REFERENCES ledger_postings(id),
    debit_account INTEGER NOT NULL REFERENCES ledger_accounts(id),
    credit_account INTEGER NOT NULL REFERENCES ledger_accounts(id),
    amount INTEGER NOT NULL CHECK (amount > 0),
    flag TEXT NOT NULL,
    resolves INTEGER UNIQUE REFERENCES ledger_transfers(id),
    expires_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX ledger_transfers_debit ON ledger_transfers(debit_account, id);
CREATE INDEX ledger_transfers_credit ON ledger_transfers(credit_account, id);
CREATE INDEX ledger_transfers_posting ON ledger_transfers(posting_id);

CREATE TABLE idempotency_keys (
    scope TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    request_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (scope, idem_key)
);

CREATE TABLE wallets (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    holder TEXT NOT NULL,
    main_account INTEGER NOT NULL REFERENCES ledger_accounts(id),
    bonus_account INTEGER NOT NULL REFERENCES ledger_accounts(id),
    negative_since INTEGER,
    top_up_by TEXT,
    suspended_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (book, holder)
);

CREATE TABLE trial_credits (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    amount INTEGER NOT NULL,
    matched_wallet INTEGER REFERENCES wallets(id),
    matched_on TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (book, wallet_id)
);

CREATE TABLE trial_identities (
    book INTEGER NOT NULL,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    PRIMARY KEY (book, kind, value)
);

CREATE TABLE products (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    price INTEGER NOT NULL,
    taxes_included INTEGER NOT NULL,
    access_days INTEGER,
    starts_at INTEGER,
    refund_policy TEXT NOT NULL,
    allow_half INTEGER NOT NULL DEFAULT 0,
    rest_due_days INTEGER,
    recurring_months INTEGER,
    pass_fees INTEGER NOT NULL DEFAULT 0,
    offer_id INTEGER,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX products_org ON products(org_id, id);

CREATE TABLE orders (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    customer_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    title TEXT NOT NULL,
    price INTEGER NOT NULL,
    taxes_included INTEGER NOT NULL,
    access_days INTEGER,
    starts_at INTEGER,
    refund_policy TEXT NOT NULL,
    plan TEXT NOT NULL,
    first_due INTEGER NOT NULL,
    paid INTEGER NOT NULL DEFAULT 0,
    paid_bonus INTEGER NOT NULL DEFAULT 0,
    refunded INTEGER NOT NULL DEFAULT 0,
    pay_by INTEGER NOT NULL,
    rest_due_at INTEGER,
    offer_version_id INTEGER,
    evidence TEXT NOT NULL DEFAULT '{}',
    recurring_id INTEGER,
    idem_key TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    paid_at INTEGER,
    updated_at INTEGER NOT NULL,
    UNIQUE (customer_id, idem_key)
);
CREATE INDEX orders_org ON orders(org_id, id);
CREATE INDEX orders_customer ON orders(customer_id, id);
CREATE INDEX orders_due ON orders(status, pay_by);

CREATE TABLE entitlements (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    customer_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    order_id INTEGER NOT NULL UNIQUE REFERENCES orders(id),
    starts_at INTEGER NOT NULL,
    ends_at INTEGER,
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX entitlements_customer ON entitlements(customer_id, product_id);
CREATE INDEX entitlements_org ON entitlements(org_id, status);

CREATE TABLE payments (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    order_id INTEGER REFERENCES orders(id),
    method TEXT NOT NULL,
    provider TEXT NOT NULL,
    amount INTEGER NOT NULL,
    fee INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    provider_ref TEXT,
    posting_id INTEGER REFERENCES ledger_postings(id),
    save_card INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    completed_at INTEGER,
    UNIQUE (provider, provider_ref)
);
CREATE INDEX payments_wallet ON payments(wallet_id, id);
CREATE INDEX payments_order ON payments(order_id);

CREATE TABLE saved_cards (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    token TEXT NOT NULL,
    last_four TEXT NOT NULL,
    card_type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (book, user_id, token)
);

CREATE TABLE recurring (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    customer_id INTEGER NOT NULL REFERENCES users(id),
    product_id INTEGER NOT NULL REFERENCES products(id),
    card_id INTEGER NOT NULL REFERENCES saved_cards(id),
    months INTEGER NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    next_charge_at INTEGER NOT NULL,
    cycle INTEGER NOT NULL,
    failures INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    created_at INTEGER NOT NULL,
    cancelled_at INTEGER,
    updated_at INTEGER NOT NULL
);
CREATE INDEX recurring_customer ON recurring(customer_id);

CREATE TABLE refunds (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL,
    order_id INTEGER NOT NULL REFERENCES orders(id),
    customer_id INTEGER NOT NULL REFERENCES users(id),
    amount INTEGER NOT NULL,
    kept INTEGER NOT NULL,
    rule TEXT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL,
    pay_out_by TEXT,
    decided_by INTEGER,
    decided_at INTEGER,
    refusal TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX refunds_order ON refunds(order_id);
CREATE INDEX refunds_org ON refunds(org_id, status);

CREATE TABLE payouts (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    refund_id INTEGER REFERENCES refunds(id),
    payment_id INTEGER REFERENCES payments(id),
    method TEXT NOT NULL,
    amount INTEGER NOT NULL,
    hold_id INTEGER NOT NULL REFERENCES ledger_transfers(id),
    status TEXT NOT NULL,
    provider_ref TEXT,
    details TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    done_at INTEGER
);
CREATE INDEX payouts_status ON payouts(status);

CREATE TABLE invoices (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    number TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    payer_name TEXT NOT NULL,
    payer_iin_bin TEXT NOT NULL,
    status TEXT NOT NULL,
    payment_id INTEGER REFERENCES payments(id),
    created_at INTEGER NOT NULL,
    paid_at INTEGER
);
CREATE INDEX invoices_book ON invoices(book, status);

CREATE TABLE bank_statement_lines (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    reference TEXT NOT NULL,
    value_date TEXT NOT NULL,
    amount INTEGER NOT NULL,
    payer TEXT NOT NULL,
    purpose TEXT NOT NULL,
    invoice_id INTEGER REFERENCES invoices(id),
    status TEXT NOT NULL,
    imported_at INTEGER NOT NULL,
    UNIQUE (book, reference)
);

CREATE TABLE acts (
    id INTEGER PRIMARY KEY,
    book INTEGER NOT NULL,
    wallet_id INTEGER NOT NULL REFERENCES wallets(id),
    number TEXT NOT NULL UNIQUE,
    period TEXT NOT NULL,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    respond_by TEXT NOT NULL,
    refusal TEXT,
    decided_at INTEGER,
    created_at INTEGER NOT NULL,
    UNIQUE (wallet_id, period)
);

CREATE TABLE plans (
    id INTEGER PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    period_days INTEGER NOT NULL,
    webinar_rooms INTEGER NOT NULL,
    storage_bytes INTEGER NOT NULL,
    active_students INTEGER NOT NULL,
    sms_allowance INTEGER NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL
);

CREATE TABLE plan_prices (
    id INTEGER PRIMARY KEY,
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    price INTEGER NOT NULL,
    effective_from INTEGER NOT NULL,
    published_at INTEGER NOT NULL
);
CREATE INDEX plan_prices_plan ON plan_prices(plan_id, effective_from);

CREATE TABLE org_plans (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    plan_id INTEGER NOT NULL REFERENCES plans(id),
    price_paid INTEGER NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    posting_id INTEGER NOT NULL REFERENCES ledger_postings(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX org_plans_org ON org_plans(org_id, ends_at);

CREATE TABLE payment_modules (
    org_id INTEGER PRIMARY KEY REFERENCES organizers(id),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    requested_by INTEGER NOT NULL,
    requested_at INTEGER NOT NULL,
    decided_by INTEGER,
    decided_at INTEGER,
    enabled_by INTEGER,
    enabled_at INTEGER
);
