-- The log. One row per event; nothing is ever updated or deleted.
--
-- position is the global order. AUTOINCREMENT keeps a position from ever
-- being reused, even if the last rows were removed by hand; its counter
-- (sqlite_sequence) is written in the appending transaction, so a rolled-back
-- append consumes no position.
CREATE TABLE events (
    position       INTEGER PRIMARY KEY AUTOINCREMENT,
    id             TEXT    NOT NULL CHECK (id <> ''),
    stream         TEXT    NOT NULL CHECK (stream <> ''),
    version        INTEGER NOT NULL CHECK (version > 0),
    type           TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    -- data and metadata are JSON text, stored as given (metadata as the
    -- eventstore.Metadata encoding: occurred_at in RFC 3339 with nanoseconds).
    data           TEXT    NOT NULL,
    metadata       TEXT    NOT NULL,
    -- prev_hash is NULL for a stream's first event.
    prev_hash      TEXT,
    hash           TEXT    NOT NULL,
    -- Optimistic concurrency rests on this constraint: two appends at the
    -- same expected version cannot both commit.
    UNIQUE (stream, version),
    -- Idempotent retries are found by event id within a stream.
    UNIQUE (stream, id)
);
