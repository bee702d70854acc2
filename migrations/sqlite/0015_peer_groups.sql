-- Peer groups: a metro line run for 8–20 participants from several firms, with a session per
-- station every few weeks. Trainers award from the group instead of retyping participants.

CREATE TABLE peer_group (
    group_id       BLOB PRIMARY KEY,
    issuer_id      BLOB NOT NULL REFERENCES issuer (issuer_id),
    metro_line_id  BLOB NOT NULL REFERENCES metro_line (metro_line_id),
    spec           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX peer_group_issuer ON peer_group (issuer_id, created_at);
