-- Leases that several processes sharing this file compete for (serve's
-- background work runs on the one holding "processes"). Not part of the log:
-- nothing here is hashed, exported or replayed.
--
-- revision grows by one with every write; a write names the revision it read
-- (compare-and-swap), so two candidates cannot both take a lease. Expiry is
-- judged by the readers: a lease whose revision stays unchanged for its TTL,
-- as measured on the reader's own clock, is free.
CREATE TABLE leases (
    name       TEXT    PRIMARY KEY,
    holder     TEXT    NOT NULL, -- '' when released
    revision   INTEGER NOT NULL CHECK (revision > 0),
    renewed_at TEXT    NOT NULL  -- for people looking at the file; no one relies on it
);
