-- An offer's state is one document (issue 9): offers and inbox keep the JSON
-- of domain.OfferView in state, and beside it only the columns their queries
-- filter, sort and index on, copied from the state when the row is written.
-- A new field of the offer is then in the document with no column to add.
--
-- Rows of the old shape cannot be turned into documents here without
-- restating the document in SQL, and read models are disposable: every
-- table is emptied and every checkpoint dropped, so that the projectors
-- refill the read models from the log when they next start (serve answers
-- /readyz 503, and logs its address, only once they have caught up).
-- parked_events stays: a refill that fails on the same events updates
-- their rows.
DROP TABLE offers;
DROP TABLE inbox;

-- Projector reseller_view: every offer as its reseller sees it. created_pos is
-- the position of offer.created and orders the list newest first; reseller_id,
-- customer_id and status filter it.
CREATE TABLE offers (
    id          TEXT    PRIMARY KEY,
    created_pos INTEGER NOT NULL UNIQUE,
    reseller_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT    NOT NULL -- JSON of domain.OfferView
) WITHOUT ROWID;
CREATE INDEX offers_by_reseller ON offers (reseller_id, created_pos);
CREATE INDEX offers_by_customer ON offers (customer_id, created_pos);
CREATE INDEX offers_by_status ON offers (reseller_id, status, created_pos);

-- Projector customer_inbox: every offer (the projector needs the state of
-- offers not yet delivered to show them when they are), with the reseller's
-- name and received_pos, the position of the delivery, which orders the
-- inbox newest first. Only rows with delivered = 1 exist for the customer.
CREATE TABLE inbox (
    id            TEXT    PRIMARY KEY,
    customer_id   TEXT    NOT NULL,
    delivered     INTEGER NOT NULL,
    received_pos  INTEGER,
    reseller_name TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    state         TEXT    NOT NULL -- JSON of domain.OfferView
) WITHOUT ROWID;
CREATE INDEX inbox_by_customer ON inbox (customer_id, received_pos) WHERE delivered = 1;

DELETE FROM checkpoints;
DELETE FROM resellers;
DELETE FROM products;
DELETE FROM templates;
DELETE FROM template_items;
DELETE FROM customers;
DELETE FROM customer_offer_counts;
DELETE FROM inbox_resellers;
DELETE FROM badges;
DELETE FROM licenses;
DELETE FROM audit_offers;
DELETE FROM audit_events;
DELETE FROM campaigns;
DELETE FROM campaign_offers;
DELETE FROM report_offers;
