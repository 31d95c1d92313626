-- offers and inbox become rowid tables. A row with its state document is
-- about a kilobyte, which in a WITHOUT ROWID table (one B-tree of whole
-- rows, keyed by id) spills to overflow pages and spreads the rows thin:
-- SQLite advises WITHOUT ROWID for small rows only. As rowid tables, a
-- lookup by id goes through the primary key's index and the inbox list
-- through inbox_by_customer straight to the row (measured in
-- docs/benchmarks.md: the inbox query took about 1.5 times less CPU, a
-- rebuild as much as before 0008). The rows are copied as they are.
CREATE TABLE offers_0009 (
    id          TEXT    PRIMARY KEY,
    created_pos INTEGER NOT NULL UNIQUE,
    reseller_id TEXT    NOT NULL,
    customer_id TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    state       TEXT    NOT NULL -- JSON of domain.OfferView
);
INSERT INTO offers_0009 (id, created_pos, reseller_id, customer_id, status, version, state)
    SELECT id, created_pos, reseller_id, customer_id, status, version, state FROM offers;
DROP TABLE offers;
ALTER TABLE offers_0009 RENAME TO offers;
CREATE INDEX offers_by_reseller ON offers (reseller_id, created_pos);
CREATE INDEX offers_by_customer ON offers (customer_id, created_pos);
CREATE INDEX offers_by_status ON offers (reseller_id, status, created_pos);

CREATE TABLE inbox_0009 (
    id            TEXT    PRIMARY KEY,
    customer_id   TEXT    NOT NULL,
    delivered     INTEGER NOT NULL,
    received_pos  INTEGER,
    reseller_name TEXT    NOT NULL,
    version       INTEGER NOT NULL,
    state         TEXT    NOT NULL -- JSON of domain.OfferView
);
INSERT INTO inbox_0009 (id, customer_id, delivered, received_pos, reseller_name, version, state)
    SELECT id, customer_id, delivered, received_pos, reseller_name, version, state FROM inbox;
DROP TABLE inbox;
ALTER TABLE inbox_0009 RENAME TO inbox;
CREATE INDEX inbox_by_customer ON inbox (customer_id, received_pos) WHERE delivered = 1;
