-- Projector reports (projection.reports): campaigns with their offers, and
-- one row per offer with what the reports count (GET /v1/reports/offers,
-- the reseller's dashboard), so that a report is a GROUP BY over an index
-- of one reseller's offers in a time range, never a scan of the log.
CREATE TABLE campaigns (
    id          TEXT PRIMARY KEY,
    reseller_id TEXT NOT NULL,
    template_id TEXT NOT NULL,
    message     TEXT NOT NULL,
    expires_at  TEXT,             -- RFC 3339, NULL for never
    created_at  TEXT NOT NULL,    -- RFC 3339
    created_pos INTEGER NOT NULL, -- log position of campaign.started: the list's order
    offer_count INTEGER NOT NULL,
    version     INTEGER NOT NULL
);
CREATE INDEX campaigns_by_reseller ON campaigns (reseller_id, created_pos);

-- The offers a campaign names, in its order; an offer the campaign process
-- has not created yet has no row in report_offers and counts as waiting.
CREATE TABLE campaign_offers (
    offer_id    TEXT PRIMARY KEY,
    campaign_id TEXT NOT NULL,
    customer_id TEXT NOT NULL,
    seq         INTEGER NOT NULL
);
CREATE INDEX campaign_offers_by_campaign ON campaign_offers (campaign_id, seq);

CREATE TABLE report_offers (
    offer_id      TEXT PRIMARY KEY,
    reseller_id   TEXT NOT NULL,
    template_id   TEXT NOT NULL,
    customer_id   TEXT NOT NULL,
    created_ms    INTEGER NOT NULL, -- unix milliseconds of created_at
    created_month TEXT NOT NULL,    -- YYYY-MM of created_at, UTC
    status        TEXT NOT NULL,
    decided_ms    INTEGER,          -- accepted or rejected: unix milliseconds
    reason_code   TEXT NOT NULL DEFAULT '',
    reason_text   TEXT NOT NULL DEFAULT ''
);
CREATE INDEX report_offers_by_reseller ON report_offers (reseller_id, created_ms);
