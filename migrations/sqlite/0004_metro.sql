-- Metro maps and versioned metro lines (pathways).

CREATE TABLE metro_map (
    metro_map_id  BLOB PRIMARY KEY,
    issuer_id     BLOB NOT NULL REFERENCES issuer (issuer_id),
    spec          TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX metro_map_issuer ON metro_map (issuer_id);

CREATE TABLE metro_line (
    metro_line_id    BLOB PRIMARY KEY,
    issuer_id        BLOB NOT NULL REFERENCES issuer (issuer_id),
    metro_map_id     BLOB NOT NULL REFERENCES metro_map (metro_map_id),
    current_version  INTEGER NOT NULL,
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL
);
CREATE INDEX metro_line_issuer ON metro_line (issuer_id);

CREATE TABLE metro_line_version (
    metro_line_id  BLOB NOT NULL REFERENCES metro_line (metro_line_id),
    version        INTEGER NOT NULL,
    spec           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    PRIMARY KEY (metro_line_id, version)
);

-- A learner's badges across issuers (progress along lines).
CREATE INDEX credential_holder ON credential (identity_type, identity);
