-- Read models. Everything here is derived from the event log and disposable:
-- `offerflow rebuild` drops every table and replays the log. Each table is
-- written by exactly one projector (named in the comment above it), in the
-- same transaction as that projector's checkpoint.
--
-- Times are INTEGER nanoseconds since the Unix epoch, UTC (NULL when absent),
-- so that they sort and compare as numbers. *_pos columns are global log
-- positions, used as stable orderings ("newest first").

-- checkpoints: the last log position each projector has applied.
CREATE TABLE checkpoints (
    projector TEXT    PRIMARY KEY,
    position  INTEGER NOT NULL
) WITHOUT ROWID;

-- Projector reseller_view.
CREATE TABLE resellers (
    id      TEXT    PRIMARY KEY,
    name    TEXT    NOT NULL,
    version INTEGER NOT NULL
) WITHOUT ROWID;

-- Projector reseller_view. name_key is the name folded to lower case: it
-- orders the list and serves the case-insensitive substring search.
CREATE TABLE products (
    id          TEXT    PRIMARY KEY,
    reseller_id TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    terms       TEXT    NOT NULL, -- JSON array of months
    version     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX products_by_name ON products (reseller_id, name_key, id);

-- Projector reseller_view.
CREATE TABLE templates (
    id          TEXT    PRIMARY KEY,
    reseller_id TEXT    NOT NULL,
    name        TEXT    NOT NULL,
    name_key    TEXT    NOT NULL,
    archived    INTEGER NOT NULL DEFAULT 0,
    version     INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX templates_by_name ON templates (reseller_id, name_key, id);

-- Projector reseller_view. seq is the template stream version of the event
-- that added the item: it keeps the items in the order they were added.
CREATE TABLE template_items (
    template_id  TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    seq          INTEGER NOT NULL,
    product_id   TEXT    NOT NULL,
    product_name TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    term_months  INTEGER NOT NULL,
    license_mode TEXT    NOT NULL,
    seats        INTEGER,
    PRIMARY KEY (template_id, item_id),
    UNIQUE (template_id, seq)
) WITHOUT ROWID;

-- Projector reseller_view.
CREATE TABLE customers (
    id           TEXT    PRIMARY KEY,
    reseller_id  TEXT    NOT NULL,
    name         TEXT    NOT NULL,
    name_key     TEXT    NOT NULL,
    external_ref TEXT    NOT NULL,
    version      INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX customers_by_name ON customers (reseller_id, name_key, id);

-- Projector reseller_view: how many of a customer's offers are in each
-- status. A row whose count falls to zero is deleted in the same transaction.
CREATE TABLE customer_offer_counts (
    customer_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    count       INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (customer_id, status)
) WITHOUT ROWID;

-- Projector reseller_view: every offer as its reseller sees it. created_pos is
-- the position of offer.created and orders the list newest first.
CREATE TABLE offers (
    id               TEXT    PRIMARY KEY,
    created_pos      INTEGER NOT NULL UNIQUE,
    reseller_id      TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    template_id      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    items            TEXT    NOT NULL, -- JSON array of domain.Item
    message          TEXT    NOT NULL,
    expires_at       INTEGER,
    dispatch         INTEGER NOT NULL,
    delivered        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    opened_at        INTEGER,
    decided_at       INTEGER,
    withdrawn_at     INTEGER,
    expired_at       INTEGER,
    rejection_reason TEXT    NOT NULL,
    delivery_error   TEXT    NOT NULL,
    version          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX offers_by_reseller ON offers (reseller_id, created_pos);
CREATE INDEX offers_by_customer ON offers (customer_id, created_pos);
CREATE INDEX offers_by_status ON offers (reseller_id, status, created_pos);

-- Projector customer_inbox: reseller names, copied into inbox rows.
CREATE TABLE inbox_resellers (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL
) WITHOUT ROWID;

-- Projector customer_inbox: every offer with the same columns as offers (the
-- projector needs the state of offers not yet delivered to show them when
-- they are), plus the reseller's name and received_pos, the position of the
-- delivery, which orders the inbox newest first. Only rows with delivered = 1
-- exist for the customer.
CREATE TABLE inbox (
    id               TEXT    PRIMARY KEY,
    created_pos      INTEGER NOT NULL UNIQUE,
    reseller_id      TEXT    NOT NULL,
    customer_id      TEXT    NOT NULL,
    template_id      TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    items            TEXT    NOT NULL,
    message          TEXT    NOT NULL,
    expires_at       INTEGER,
    dispatch         INTEGER NOT NULL,
    delivered        INTEGER NOT NULL,
    created_at       INTEGER NOT NULL,
    delivered_at     INTEGER,
    opened_at        INTEGER,
    decided_at       INTEGER,
    withdrawn_at     INTEGER,
    expired_at       INTEGER,
    rejection_reason TEXT    NOT NULL,
    delivery_error   TEXT    NOT NULL,
    version          INTEGER NOT NULL,
    reseller_name    TEXT    NOT NULL DEFAULT '',
    received_pos     INTEGER
) WITHOUT ROWID;
CREATE INDEX inbox_by_customer ON inbox (customer_id, received_pos) WHERE delivered = 1;

-- Projector customer_inbox: the unread counts of each customer that has ever
-- had an offer. Both count the offers in waiting_for_confirmation that the
-- customer has not opened; they are kept apart because the Admin module may
-- one day count more than Updates.
CREATE TABLE badges (
    customer_id TEXT    PRIMARY KEY,
    admin       INTEGER NOT NULL CHECK (admin >= 0),
    updates     INTEGER NOT NULL CHECK (updates >= 0)
) WITHOUT ROWID;

-- Projector licenses: one row per item of an accepted offer. granted_pos and
-- idx (the item's place in the offer) order a customer's licenses.
CREATE TABLE licenses (
    offer_id     TEXT    NOT NULL,
    item_id      TEXT    NOT NULL,
    customer_id  TEXT    NOT NULL,
    reseller_id  TEXT    NOT NULL,
    granted_pos  INTEGER NOT NULL,
    idx          INTEGER NOT NULL,
    product_id   TEXT    NOT NULL,
    product_name TEXT    NOT NULL,
    kind         TEXT    NOT NULL,
    term_months  INTEGER NOT NULL,
    license_mode TEXT    NOT NULL,
    seats        INTEGER,
    granted_at   INTEGER NOT NULL,
    valid_until  INTEGER,
    PRIMARY KEY (offer_id, item_id)
) WITHOUT ROWID;
CREATE INDEX licenses_by_customer ON licenses (customer_id, granted_pos, idx);

-- Projector audit_index: who may see each offer's events. delivered turns 1
-- on the offer's first delivery and never back: from then on its customer
-- may read all of its events.
CREATE TABLE audit_offers (
    offer_id    TEXT    PRIMARY KEY,
    reseller_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    delivered   INTEGER NOT NULL
) WITHOUT ROWID;

-- Projector audit_index: every event of the offer-* and grant-* streams, in
-- the shape auditors read (domain.AuditEvent as JSON), keyed by position.
CREATE TABLE audit_events (
    position    INTEGER PRIMARY KEY,
    offer_id    TEXT    NOT NULL,
    reseller_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    envelope    TEXT    NOT NULL
);
CREATE INDEX audit_events_by_reseller ON audit_events (reseller_id, position);
CREATE INDEX audit_events_by_customer ON audit_events (customer_id, position);
CREATE INDEX audit_events_by_offer ON audit_events (offer_id, position);
