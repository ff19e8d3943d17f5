-- Coworking and events (EX-1..EX-5): bookable resources and their hourly
-- occupancy, bookings, events with tickets and a waiting list, the
-- members' calendar links, and the community feed.

CREATE TABLE booking_resources (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    zone TEXT NOT NULL,
    seats BIGINT NOT NULL,
    capacity BIGINT NOT NULL,
    open_hour BIGINT NOT NULL,
    close_hour BIGINT NOT NULL,
    closed_weekdays TEXT NOT NULL,
    use_holidays BIGINT NOT NULL,
    one_per_member BIGINT NOT NULL,
    price_hour BIGINT,
    price_half_day BIGINT,
    price_day BIGINT,
    taxes_included BIGINT NOT NULL,
    product_id BIGINT NOT NULL REFERENCES products(id),
    membership_product_id BIGINT REFERENCES products(id),
    photo_file_id BIGINT REFERENCES files(id),
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX booking_resources_org ON booking_resources(org_id, id);

-- One row per resource and hour that anyone ever booked: how many of its
-- seats are taken. A booking takes a seat by a conditional update
-- (taken < seats) of each of its hours inside one transaction.
CREATE TABLE booking_slots (
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    slot_start BIGINT NOT NULL,
    taken BIGINT NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (resource_id, slot_start)
);

CREATE TABLE bookings (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    unit TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    price BIGINT NOT NULL,
    via TEXT NOT NULL,
    status TEXT NOT NULL,
    order_id BIGINT REFERENCES orders(id),
    hold_until BIGINT,
    refunded BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX bookings_org_start ON bookings(org_id, starts_at);
CREATE INDEX bookings_user ON bookings(user_id, starts_at);
CREATE INDEX bookings_resource ON bookings(resource_id, starts_at);

-- Where a resource forbids a member overlapping bookings of their own: one
-- row per member and hour, so a second one cannot exist.
CREATE TABLE booking_member_slots (
    resource_id BIGINT NOT NULL REFERENCES booking_resources(id),
    slot_start BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users(id),
    booking_id BIGINT NOT NULL REFERENCES bookings(id),
    PRIMARY KEY (resource_id, slot_start, user_id)
);
CREATE INDEX booking_member_slots_booking ON booking_member_slots(booking_id);

CREATE TABLE events (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at BIGINT NOT NULL,
    ends_at BIGINT NOT NULL,
    room_id BIGINT REFERENCES booking_resources(id),
    online_url TEXT NOT NULL,
    capacity BIGINT NOT NULL,
    taken BIGINT NOT NULL CHECK (taken >= 0),
    questions TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX events_org ON events(org_id, starts_at);

CREATE TABLE event_ticket_types (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    event_id BIGINT NOT NULL REFERENCES events(id),
    title TEXT NOT NULL,
    price BIGINT NOT NULL,
    product_id BIGINT REFERENCES products(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX event_ticket_types_event ON event_ticket_types(event_id, id);

CREATE TABLE event_tickets (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    event_id BIGINT NOT NULL REFERENCES events(id),
    ticket_type_id BIGINT NOT NULL REFERENCES event_ticket_types(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    price BIGINT NOT NULL,
    order_id BIGINT REFERENCES orders(id),
    hold_until BIGINT,
    answers TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    checked_in_at BIGINT,
    checked_in_by BIGINT REFERENCES users(id),
    refunded BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX event_tickets_event ON event_tickets(event_id, status, id);
CREATE INDEX event_tickets_user ON event_tickets(user_id, id);
-- One live ticket (held, confirmed or waiting) per person and event.
CREATE UNIQUE INDEX event_tickets_one_live ON event_tickets(event_id, user_id)
    WHERE status IN ('held', 'confirmed', 'waiting');

-- The secret of a member's calendar feed; only its SHA-256 is kept.
CREATE TABLE booking_calendar_links (
    user_id BIGINT PRIMARY KEY REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE community_posts (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    author_id BIGINT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    removed_by BIGINT REFERENCES users(id),
    removed_reason TEXT,
    removed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX community_posts_org ON community_posts(org_id, id);

CREATE TABLE community_comments (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    post_id BIGINT NOT NULL REFERENCES community_posts(id),
    author_id BIGINT NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX community_comments_post ON community_comments(post_id, id);

CREATE TABLE community_reports (
    id BIGSERIAL PRIMARY KEY,
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    post_id BIGINT NOT NULL REFERENCES community_posts(id),
    reporter_id BIGINT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (post_id, reporter_id)
);

CREATE TABLE community_blocks (
    org_id BIGINT NOT NULL REFERENCES organizers(id),
    user_id BIGINT NOT NULL REFERENCES users(id),
    blocked_by BIGINT NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
