-- Coworking and events (EX-1..EX-5): bookable resources and their hourly
-- occupancy, bookings, events with tickets and a waiting list, the
-- members' calendar links, and the community feed.

CREATE TABLE booking_resources (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    zone TEXT NOT NULL,
    seats INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    open_hour INTEGER NOT NULL,
    close_hour INTEGER NOT NULL,
    closed_weekdays TEXT NOT NULL,
    use_holidays INTEGER NOT NULL,
    one_per_member INTEGER NOT NULL,
    price_hour INTEGER,
    price_half_day INTEGER,
    price_day INTEGER,
    taxes_included INTEGER NOT NULL,
    product_id INTEGER NOT NULL REFERENCES products(id),
    membership_product_id INTEGER REFERENCES products(id),
    photo_file_id INTEGER REFERENCES files(id),
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX booking_resources_org ON booking_resources(org_id, id);

-- One row per resource and hour that anyone ever booked: how many of its
-- seats are taken. A booking takes a seat by a conditional update
-- (taken < seats) of each of its hours inside one transaction.
CREATE TABLE booking_slots (
    resource_id INTEGER NOT NULL REFERENCES booking_resources(id),
    slot_start INTEGER NOT NULL,
    taken INTEGER NOT NULL CHECK (taken >= 0),
    PRIMARY KEY (resource_id, slot_start)
);

CREATE TABLE bookings (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    resource_id INTEGER NOT NULL REFERENCES booking_resources(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    unit TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    price INTEGER NOT NULL,
    via TEXT NOT NULL,
    status TEXT NOT NULL,
    order_id INTEGER REFERENCES orders(id),
    hold_until INTEGER,
    refunded INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX bookings_org_start ON bookings(org_id, starts_at);
CREATE INDEX bookings_user ON bookings(user_id, starts_at);
CREATE INDEX bookings_resource ON bookings(resource_id, starts_at);

-- Where a resource forbids a member overlapping bookings of their own: one
-- row per member and hour, so a second one cannot exist.
CREATE TABLE booking_member_slots (
    resource_id INTEGER NOT NULL REFERENCES booking_resources(id),
    slot_start INTEGER NOT NULL,
    user_id INTEGER NOT NULL REFERENCES users(id),
    booking_id INTEGER NOT NULL REFERENCES bookings(id),
    PRIMARY KEY (resource_id, slot_start, user_id)
);
CREATE INDEX booking_member_slots_booking ON booking_member_slots(booking_id);

CREATE TABLE events (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    starts_at INTEGER NOT NULL,
    ends_at INTEGER NOT NULL,
    room_id INTEGER REFERENCES booking_resources(id),
    online_url TEXT NOT NULL,
    capacity INTEGER NOT NULL,
    taken INTEGER NOT NULL CHECK (taken >= 0),
    questions TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX events_org ON events(org_id, starts_at);

CREATE TABLE event_ticket_types (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    title TEXT NOT NULL,
    price INTEGER NOT NULL,
    product_id INTEGER REFERENCES products(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX event_ticket_types_event ON event_ticket_types(event_id, id);

CREATE TABLE event_tickets (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    event_id INTEGER NOT NULL REFERENCES events(id),
    ticket_type_id INTEGER NOT NULL REFERENCES event_ticket_types(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    status TEXT NOT NULL,
    price INTEGER NOT NULL,
    order_id INTEGER REFERENCES orders(id),
    hold_until INTEGER,
    answers TEXT NOT NULL,
    code TEXT NOT NULL UNIQUE,
    checked_in_at INTEGER,
    checked_in_by INTEGER REFERENCES users(id),
    refunded INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX event_tickets_event ON event_tickets(event_id, status, id);
CREATE INDEX event_tickets_user ON event_tickets(user_id, id);
-- One live ticket (held, confirmed or waiting) per person and event.
CREATE UNIQUE INDEX event_tickets_one_live ON event_tickets(event_id, user_id)
    WHERE status IN ('held', 'confirmed', 'waiting');

-- The secret of a member's calendar feed; only its SHA-256 is kept.
CREATE TABLE booking_calendar_links (
    user_id INTEGER PRIMARY KEY REFERENCES users(id),
    token_hash TEXT NOT NULL UNIQUE,
    created_at INTEGER NOT NULL
);

CREATE TABLE community_posts (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    removed_by INTEGER REFERENCES users(id),
    removed_reason TEXT,
    removed_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX community_posts_org ON community_posts(org_id, id);

CREATE TABLE community_comments (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    post_id INTEGER NOT NULL REFERENCES community_posts(id),
    author_id INTEGER NOT NULL REFERENCES users(id),
    body TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE INDEX community_comments_post ON community_comments(post_id, id);

CREATE TABLE community_reports (
    id INTEGER PRIMARY KEY,
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    post_id INTEGER NOT NULL REFERENCES community_posts(id),
    reporter_id INTEGER NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (post_id, reporter_id)
);

CREATE TABLE community_blocks (
    org_id INTEGER NOT NULL REFERENCES organizers(id),
    user_id INTEGER NOT NULL REFERENCES users(id),
    blocked_by INTEGER NOT NULL REFERENCES users(id),
    reason TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (org_id, user_id)
);
