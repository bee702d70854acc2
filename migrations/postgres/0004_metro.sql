-- Same version and meaning as migrations/sqlite/0004_metro.sql.
-- Metro maps and versioned metro lines (pathways).

CREATE TABLE metro_map (
    metro_map_id  uuid PRIMARY KEY,
    issuer_id     uuid NOT NULL REFERENCES issuer (issuer_id),
    spec          text NOT NULL,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL
);
CREATE INDEX metro_map_issuer ON metro_map (issuer_id);

CREATE TABLE metro_line (
    metro_line_id    uuid PRIMARY KEY,
    issuer_id        uuid NOT NULL REFERENCES issuer (issuer_id),
    metro_map_id     uuid NOT NULL REFERENCES metro_map (metro_map_id),
    current_version  bigint NOT NULL,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
CREATE INDEX metro_line_issuer ON metro_line (issuer_id);

CREATE TABLE metro_line_version (
    metro_line_id  uuid NOT NULL REFERENCES metro_line (metro_line_id),
    version        bigint NOT NULL,
    spec           text NOT NULL,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (metro_line_id, version)
);

CREATE INDEX credential_holder ON credential (identity_type, identity);
