-- E-mail attachments, e-mail to people without an account (a webinar's
-- guests), the certificate's stored PDF, and cancelling a webinar
-- registration.
--
-- A delivery may now have no account behind it: `user_id` becomes
-- optional and `locale` holds the language of a delivery to an address
-- alone (a delivery to an account is rendered in the account's language at
-- sending time, so its `locale` stays empty).

ALTER TABLE notify_deliveries ALTER COLUMN user_id DROP NOT NULL;
ALTER TABLE notify_deliveries ADD COLUMN locale TEXT;
CREATE INDEX notify_deliveries_user ON notify_deliveries(user_id);

-- An e-mail's attachments: each names a stored file, whose bytes the
-- sender reads at sending time, so the delivery row stays small and every
-- attempt sends the same bytes.
CREATE TABLE notify_attachments (
    id BIGSERIAL PRIMARY KEY,
    delivery_id BIGINT NOT NULL REFERENCES notify_deliveries(id),
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    file_id BIGINT NOT NULL REFERENCES files(id),
    name TEXT NOT NULL,
    content_type TEXT NOT NULL
);
CREATE INDEX notify_attachments_delivery ON notify_attachments(delivery_id, id);

-- The PDF made when the certificate was (last) issued.
ALTER TABLE certificates ADD COLUMN file_id BIGINT REFERENCES files(id);

-- The language the person registered in (empty: the room's), and when
-- they cancelled (no reminders after that).
ALTER TABLE live_registrations ADD COLUMN locale TEXT NOT NULL DEFAULT '';
ALTER TABLE live_registrations ADD COLUMN cancelled_at BIGINT;
