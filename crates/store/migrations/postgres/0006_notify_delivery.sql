-- Delivery of notifications outside the app (e-mail, SMS), people's
-- channel choices, organizers' sender settings, mailings and support chat.
-- A delivery row is the committed state of one message on one channel: it
-- is written with the notification, and its stable Message-ID is what
-- keeps a crash from sending it twice.

CREATE TABLE notify_deliveries (
    id BIGSERIAL PRIMARY KEY,
    notification_id BIGINT REFERENCES notifications(id),
    mailing_id BIGINT,
    user_id BIGINT NOT NULL REFERENCES users(id),
    org_id BIGINT REFERENCES organizers(id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    locale_key TEXT NOT NULL,
    args TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    provider_ref TEXT,
    cost BIGINT,
    charge BIGINT,
    charged_at BIGINT,
    unsubscribe_token TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT
);
CREATE INDEX notify_deliveries_status ON notify_deliveries(status, id);
CREATE INDEX notify_deliveries_org ON notify_deliveries(org_id, status, id);
CREATE INDEX notify_deliveries_mailing ON notify_deliveries(mailing_id, status);
CREATE INDEX notify_deliveries_unsubscribe ON notify_deliveries(unsubscribe_token);

CREATE TABLE notify_preferences (
    user_id BIGINT NOT NULL REFERENCES users(id),
    category TEXT NOT NULL,
    email BIGINT NOT NULL,
    sms BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE notify_contacts (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    phone TEXT,
    updated_at BIGINT NOT NULL
);

CREATE TABLE notify_org_settings (
    org_id BIGINT PRIMARY KEY REFERENCES organizers(id),
    sender_name TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    sms_mode TEXT NOT NULL,
    sms_login TEXT NOT NULL,
    sms_password TEXT NOT NULL,
    sms_sender TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE notify_mailings (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    author_id BIGINT NOT NULL REFERENCES users(id),
    channel TEXT NOT NULL,
    segment TEXT NOT NULL,
    product_id BIGINT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    recipients BIGINT NOT NULL,
    skipped BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX notify_mailings_org ON notify_mailings(org_id, id);

CREATE TABLE support_threads (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT REFERENCES organizers(id),
    customer_id BIGINT NOT NULL REFERENCES users(id),
    from_org_id BIGINT REFERENCES organizers(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id BIGINT REFERENCES users(id),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX support_threads_org ON support_threads(org_id, status, updated_at);
CREATE INDEX support_threads_customer ON support_threads(customer_id, updated_at);

CREATE TABLE support_messages (
    id BIGSERIAL PRIMARY KEY,
    thread_id BIGINT NOT NULL REFERENCES support_threads(id),
    author_id BIGINT NOT NULL REFERENCES users(id),
    from_staff BIGINT NOT NULL,
    body TEXT NOT NULL,
    file_id BIGINT REFERENCES files(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX support_messages_thread ON support_messages(thread_id, id);
