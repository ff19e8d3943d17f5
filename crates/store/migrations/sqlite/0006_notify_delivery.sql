-- Delivery of notifications outside the app (e-mail, SMS), people's
-- channel choices, organizers' sender settings, mailings and support chat.
-- A delivery row is the committed state of one message on one channel: it
-- is written with the notification, and its stable Message-ID is what
-- keeps a crash from sending it twice.

CREATE TABLE notify_deliveries (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER REFERENCES notifications(id),
    mailing_id INTEGER,
    user_id INTEGER NOT NULL REFERENCES users(id),
    org_id INTEGER REFERENCES organizers(id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    kind TEXT NOT NULL,
    category TEXT NOT NULL,
    locale_key TEXT NOT NULL,
    args TEXT NOT NULL,
    message_id TEXT NOT NULL UNIQUE,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    provider_ref TEXT,
    cost INTEGER,
    charge INTEGER,
    charged_at INTEGER,
    unsubscribe_token TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    sent_at INTEGER
);
CREATE INDEX notify_deliveries_status ON notify_deliveries(status, id);
CREATE INDEX notify_deliveries_org ON notify_deliveries(org_id, status, id);
CREATE INDEX notify_deliveries_mailing ON notify_deliveries(mailing_id, status);
CREATE INDEX notify_deliveries_unsubscribe ON notify_deliveries(unsubscribe_token);

CREATE TABLE notify_preferences (
    user_id INTEGER NOT NULL REFERENCES users(id),
    category TEXT NOT NULL,
    email INTEGER NOT NULL,
    sms INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (user_id, category)
);

CREATE TABLE notify_contacts (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    phone TEXT,
    updated_at INTEGER NOT NULL
);

CREATE TABLE notify_org_settings (
    org_id INTEGER PRIMARY KEY REFERENCES organizers(id),
    sender_name TEXT NOT NULL,
    reply_to TEXT NOT NULL,
    sms_mode TEXT NOT NULL,
    sms_login TEXT NOT NULL,
    sms_password TEXT NOT NULL,
    sms_sender TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);

CREATE TABLE notify_mailings (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    channel TEXT NOT NULL,
    segment TEXT NOT NULL,
    product_id INTEGER,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    recipients INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX notify_mailings_org ON notify_mailings(org_id, id);

CREATE TABLE support_threads (
    id INTEGER PRIMARY KEY,
    org_id INTEGER REFERENCES organizers(id),
    customer_id INTEGER NOT NULL REFERENCES users(id),
    from_org_id INTEGER REFERENCES organizers(id),
    subject TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id INTEGER REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX support_threads_org ON support_threads(org_id, status, updated_at);
CREATE INDEX support_threads_customer ON support_threads(customer_id, updated_at);

CREATE TABLE support_messages (
    id INTEGER PRIMARY KEY,
    thread_id INTEGER NOT NULL REFERENCES support_threads(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    from_staff INTEGER NOT NULL,
    body TEXT NOT NULL,
    file_id INTEGER REFERENCES files(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX support_messages_thread ON support_messages(thread_id, id);
