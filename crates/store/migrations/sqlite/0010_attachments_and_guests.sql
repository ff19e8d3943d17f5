-- E-mail attachments, e-mail to people without an account (a webinar's
-- guests), the certificate's stored PDF, and cancelling a webinar
-- registration.
--
-- A delivery may now have no account behind it: `user_id` becomes
-- optional and `locale` holds the language of a delivery to an address
-- alone (a delivery to an account is rendered in the account's language at
-- sending time, so its `locale` stays empty). SQLite cannot drop NOT NULL
-- from a column, so the table is rebuilt with the same rows and ids.

CREATE TABLE notify_deliveries_rebuilt (
    id INTEGER PRIMARY KEY,
    notification_id INTEGER REFERENCES notifications(id),
    mailing_id INTEGER,
    user_id INTEGER REFERENCES users(id),
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
    sent_at INTEGER,
    locale TEXT
);
INSERT INTO notify_deliveries_rebuilt (id, notification_id, mailing_id, user_id, org_id, channel, address, kind, category,
    locale_key, args, message_id, status, attempts, last_error, provider_ref, cost, charge, charged_at, unsubscribe_token,
    created_at, updated_at, sent_at)
SELECT id, notification_id, mailing_id, user_id, org_id, channel, address, kind, category,
    locale_key, args, message_id, status, attempts, last_error, provider_ref, cost, charge, charged_at, unsubscribe_token,
    created_at, updated_at, sent_at FROM notify_deliveries;
DROP TABLE notify_deliveries;
ALTER TABLE notify_deliveries_rebuilt RENAME TO notify_deliveries;
CREATE INDEX notify_deliveries_status ON notify_deliveries(status, id);
CREATE INDEX notify_deliveries_org ON notify_deliveries(org_id, status, id);
CREATE INDEX notify_deliveries_mailing ON notify_deliveries(mailing_id, status);
CREATE INDEX notify_deliveries_unsubscribe ON notify_deliveries(unsubscribe_token);
CREATE INDEX notify_deliveries_user ON notify_deliveries(user_id);

-- An e-mail's attachments: each names a stored file, whose bytes the
-- sender reads at sending time, so the delivery row stays small and every
-- attempt sends the same bytes.
CREATE TABLE notify_attachments (
    id INTEGER PRIMARY KEY,
    delivery_id INTEGER NOT NULL REFERENCES notify_deliveries(id),
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    file_id INTEGER NOT NULL REFERENCES files(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL
);
CREATE INDEX notify_attachments_delivery ON notify_attachments(delivery_id, id);

-- The PDF made when the certificate was (last) issued.
ALTER TABLE certificates ADD COLUMN file_id INTEGER REFERENCES files(id);

-- The language the person registered in (empty: the room's), and when
-- they cancelled (no reminders after that).
ALTER TABLE live_registrations ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE live_registrations ADD COLUMN cancelled_at INTEGER;
