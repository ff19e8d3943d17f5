-- Offers and personal data: versioned offers and their acceptances and
-- objections, consents to personal-data processing, requests to erase a
-- person, and the log of staff looking at customers' personal data.
-- org_id NULL means the operator's platform-wide document or setting.
-- Tables marked insert-only hold evidence: rows are added, never changed
-- or removed.

CREATE TABLE offers (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT REFERENCES organizers(id),
    kind TEXT NOT NULL,
    methods TEXT NOT NULL,
    notice_days BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX offers_org ON offers(org_id, kind);

-- The next version being written; removed when it is published.
CREATE TABLE offer_drafts (
    offer_id BIGINT PRIMARY KEY REFERENCES offers(id),
    org_id BIGINT REFERENCES organizers(id),
    text_ru TEXT NOT NULL,
    text_kk TEXT NOT NULL,
    text_en TEXT NOT NULL,
    effective_at BIGINT,
    updated_at BIGINT NOT NULL,
    updated_by BIGINT NOT NULL REFERENCES users(id)
);

-- Insert-only. hash = SHA-256 of the canonical form of (kind, number,
-- effective_at, texts); see docs/OFFERS.md.
CREATE TABLE offer_versions (
    id BIGSERIAL PRIMARY KEY,
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    org_id BIGINT REFERENCES organizers(id),
    kind TEXT NOT NULL,
    number BIGINT NOT NULL,
    effective_at BIGINT NOT NULL,
    text_ru TEXT NOT NULL,
    text_kk TEXT NOT NULL,
    text_en TEXT,
    hash TEXT NOT NULL,
    published_at BIGINT NOT NULL,
    published_by BIGINT NOT NULL REFERENCES users(id),
    UNIQUE (offer_id, number)
);
CREATE INDEX offer_versions_org ON offer_versions(org_id, offer_id);

-- Insert-only.
CREATE TABLE offer_acceptances (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    org_id BIGINT REFERENCES organizers(id),
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    version_id BIGINT NOT NULL REFERENCES offer_versions(id),
    version_hash TEXT NOT NULL,
    method TEXT NOT NULL,
    reference TEXT NOT NULL,
    accepted_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    locale TEXT NOT NULL,
    wording TEXT NOT NULL,
    UNIQUE (user_id, version_id, method, reference)
);
CREATE INDEX offer_acceptances_user ON offer_acceptances(user_id, offer_id);
CREATE INDEX offer_acceptances_org ON offer_acceptances(org_id, version_id);

-- Insert-only: a written objection to a version before it takes effect (LZ 12.2.1).
CREATE TABLE offer_objections (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    org_id BIGINT REFERENCES organizers(id),
    offer_id BIGINT NOT NULL REFERENCES offers(id),
    version_id BIGINT NOT NULL REFERENCES offer_versions(id),
    text TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    UNIQUE (user_id, version_id)
);
CREATE INDEX offer_objections_org ON offer_objections(org_id, version_id);

-- An organizer's purposes of processing and retention; the row with
-- org_id NULL is the platform's and the default for organizers without one.
CREATE TABLE privacy_settings (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT UNIQUE REFERENCES organizers(id),
    purposes_ru TEXT NOT NULL,
    purposes_kk TEXT NOT NULL,
    purposes_en TEXT NOT NULL,
    retention_days BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Insert-only: each grant or revocation of a consent; the newest row per
-- (user, organizer, kind) is the current state.
CREATE TABLE consent_events (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    org_id BIGINT REFERENCES organizers(id),
    kind TEXT NOT NULL,
    granted BIGINT NOT NULL,
    purposes TEXT NOT NULL,
    locale TEXT NOT NULL,
    ip TEXT NOT NULL,
    user_agent TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX consent_events_user ON consent_events(user_id, org_id, kind, id);

CREATE TABLE deletion_requests (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL REFERENCES users(id),
    requested_at BIGINT NOT NULL,
    due_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    done_at BIGINT
);
CREATE INDEX deletion_requests_user ON deletion_requests(user_id);

-- Insert-only: every time staff looked at customers' personal data (IS 4.7).
CREATE TABLE personal_data_access (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    actor_id BIGINT NOT NULL REFERENCES users(id),
    subject_id BIGINT REFERENCES users(id),
    what TEXT NOT NULL,
    at BIGINT NOT NULL,
    ip TEXT NOT NULL
);
CREATE INDEX personal_data_access_org ON personal_data_access(org_id, id);
