-- parked_events: events the read models gave up on after bounded tries
-- (one that does not decode, or that a projector's handler keeps failing
-- on). The projectors' checkpoints moved past each one in the same
-- transaction that recorded it, so the read models go on without it.
CREATE TABLE parked_events (
    position   INTEGER PRIMARY KEY,
    event_type TEXT NOT NULL,
    stream     TEXT NOT NULL,
    event_id   TEXT NOT NULL,
    error      TEXT NOT NULL,
    tries      INTEGER NOT NULL,
    parked_at  INTEGER NOT NULL
);
