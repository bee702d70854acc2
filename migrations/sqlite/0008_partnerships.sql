-- Partnerships between issuers: `issuer_id` asked to put `partner_id`'s nanomodules on its
-- metro lines; only the partner's issuer_admin can accept. Rows are never deleted: a declined or
-- ended partnership stays as history, and a new request makes a new row.
CREATE TABLE partnership (
    partnership_id  BLOB PRIMARY KEY,
    issuer_id       BLOB NOT NULL REFERENCES issuer (issuer_id),
    partner_id      BLOB NOT NULL REFERENCES issuer (issuer_id),
    -- requested | accepted | declined | ended
    state           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
-- At most one open (requested or accepted) partnership per direction.
CREATE UNIQUE INDEX partnership_open ON partnership (issuer_id, partner_id) WHERE state IN ('requested', 'accepted');
CREATE INDEX partnership_partner ON partnership (partner_id);
