-- Webinar rooms and autowebinars (IS-1..IS-3): rooms limited by the
-- organizer's plan, dated webinars and autowebinar sessions, registrations,
-- chat messages, bans and mutes, word filters, banners, recorded scenarios,
-- schedules and participants' activity.

CREATE TABLE live_rooms (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    title TEXT NOT NULL,
    cover_url TEXT NOT NULL,
    language TEXT NOT NULL,
    video_kind TEXT NOT NULL,
    video_url TEXT NOT NULL,
    access TEXT NOT NULL,
    product_id BIGINT REFERENCES products(id),
    rate_count BIGINT NOT NULL,
    rate_window_ms BIGINT NOT NULL,
    questions_only BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX live_rooms_org ON live_rooms(org_id, status);

CREATE TABLE live_moderators (
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);

CREATE TABLE live_filters (
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    lang TEXT NOT NULL,
    words TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, lang)
);

CREATE TABLE live_banners (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    text TEXT NOT NULL,
    image_url TEXT NOT NULL,
    button_text TEXT NOT NULL,
    button_url TEXT NOT NULL,
    product_id BIGINT REFERENCES products(id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX live_banners_room ON live_banners(room_id);

CREATE TABLE live_scenarios (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    title TEXT NOT NULL,
    source_webinar_id BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX live_scenarios_room ON live_scenarios(org_id, room_id);

CREATE TABLE live_scenario_events (
    id BIGSERIAL PRIMARY KEY,
    scenario_id BIGINT NOT NULL REFERENCES live_scenarios(id),
    offset_ms BIGINT NOT NULL,
    kind TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    label TEXT NOT NULL,
    ref TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX live_scenario_events_scenario ON live_scenario_events(scenario_id, offset_ms, id);

CREATE TABLE live_autowebinars (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    scenario_id BIGINT REFERENCES live_scenarios(id),
    title TEXT NOT NULL,
    video_url TEXT NOT NULL,
    schedule_kind TEXT NOT NULL,
    schedule TEXT NOT NULL,
    duration_min BIGINT NOT NULL,
    simulated_count BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX live_autowebinars_org ON live_autowebinars(org_id, status);

CREATE TABLE live_webinars (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    autowebinar_id BIGINT REFERENCES live_autowebinars(id),
    title TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    duration_min BIGINT NOT NULL,
    opened_at BIGINT,
    closed_at BIGINT,
    scenario_id BIGINT REFERENCES live_scenarios(id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (autowebinar_id, starts_at)
);
CREATE INDEX live_webinars_room ON live_webinars(org_id, room_id, starts_at);

CREATE TABLE live_registrations (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    webinar_id BIGINT NOT NULL REFERENCES live_webinars(id),
    user_id BIGINT REFERENCES users(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    UNIQUE (webinar_id, email)
);

CREATE TABLE live_messages (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    webinar_id BIGINT NOT NULL REFERENCES live_webinars(id),
    seq BIGINT NOT NULL,
    participant TEXT NOT NULL,
    author TEXT NOT NULL,
    body TEXT NOT NULL,
    kind TEXT NOT NULL,
    audience TEXT NOT NULL,
    deleted_at BIGINT,
    at BIGINT NOT NULL,
    UNIQUE (webinar_id, seq)
);

CREATE TABLE live_bans (
    room_id BIGINT NOT NULL REFERENCES live_rooms(id),
    participant TEXT NOT NULL,
    kind TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, participant, kind)
);

CREATE TABLE live_banner_orders (
    order_id BIGINT PRIMARY KEY REFERENCES orders(id),
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    banner_id BIGINT NOT NULL REFERENCES live_banners(id),
    webinar_id BIGINT NOT NULL REFERENCES live_webinars(id),
    created_at BIGINT NOT NULL
);

CREATE TABLE live_activity (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    webinar_id BIGINT NOT NULL REFERENCES live_webinars(id),
    participant TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref_id BIGINT,
    value BIGINT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX live_activity_webinar ON live_activity(webinar_id, at);
