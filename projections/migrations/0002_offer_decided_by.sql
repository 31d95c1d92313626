-- Who opened and who decided an offer: the name of the token that did it
-- (offer.read, offer.accepted and offer.rejected record it as "by"), ''
-- where the token had none. Rows written before this migration read '' until
-- the next rebuild.
ALTER TABLE offers ADD COLUMN opened_by TEXT NOT NULL DEFAULT '';
ALTER TABLE offers ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN opened_by TEXT NOT NULL DEFAULT '';
ALTER TABLE inbox ADD COLUMN decided_by TEXT NOT NULL DEFAULT '';
