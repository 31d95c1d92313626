-- Revisions and reminders (offer.superseded, offer.reminded): the offer a
-- revision replaced (supersedes) and the one that replaced it
-- (superseded_by), '' for none; when the customer was reminded of the
-- expiry (unix nanoseconds, NULL for never) and whether the customer has
-- opened the offer since (an unopened reminder makes the offer unread
-- again). Rows written before this migration hold no such events.
ALTER TABLE offers ADD COLUMN supersedes TEXT NOT NULL DEFAULT '';
ALTER TABLE offers ADD COLUMN superseded_by TEXT NOT NULL DEFAULT '';
ALTER TABLE offers ADD COLUMN reminded_at INTEGER;
ALTER TABLE offers ADD COLUMN reminder_read INTEGER NOT NULL DEFAULT 0;
ALTER TABLE inbox ADD COLUMN supersedes TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN superseded_by TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN reminded_at INTEGER;
ALTER TABLE inbox ADD COLUMN reminder_read INTEGER NOT NULL DEFAULT 0;
