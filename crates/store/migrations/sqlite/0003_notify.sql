-- The in-app inbox. A message is a locale key and its arguments, rendered
-- in the reader's language when read.

CREATE TABLE notifications (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id),
    org_id INTEGER REFERENCES organizers(id),
    kind TEXT NOT NULL,
    locale_key TEXT NOT NULL,
    args TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    read_at INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, id);
