-- Same version and meaning as migrations/sqlite/0015_peer_groups.sql.
-- Peer groups: a metro line run for 8–20 participants from several firms, with a session per
-- station every few weeks. Trainers award from the group instead of retyping participants.

CREATE TABLE peer_group (
    group_id       uuid PRIMARY KEY,
    issuer_id      uuid NOT NULL REFERENCES issuer (issuer_id),
    metro_line_id  uuid NOT NULL REFERENCES metro_line (metro_line_id),
    spec           text NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL
);
CREATE INDEX peer_group_issuer ON peer_group (issuer_id, created_at);
