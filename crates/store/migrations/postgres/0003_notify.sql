-- The in-app inbox. A message is a locale key and its arguments, rendered
-- in the reader's language when read.

CREATE TABLE notifications (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    org_id BIGINT REFERENCES organizers(id),
    kind TEXT NOT NULL,
    locale_key TEXT NOT NULL,
    args TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    read_at BIGINT
);
CREATE INDEX notifications_user ON notifications(user_id, id);
