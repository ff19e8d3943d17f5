-- Files uploaded to an organizer (lesson media, attachments, covers,
-- photos). The bytes live under the data folder at `storage_key`; a row
-- exists only for a file whose bytes were stored completely. The sum of
-- `size` of the rows not deleted is what counts against the plan.

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    uploaded_by INTEGER REFERENCES users(id),
    purpose TEXT NOT NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    storage_key TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL,
    deleted_at INTEGER
);
CREATE INDEX files_org ON files(org_id, id);
