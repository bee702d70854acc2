-- Awards, signed credentials, status-list index allocation, idempotency keys.

CREATE TABLE status_list (
    status_list_id  BLOB PRIMARY KEY,
    issuer_id       BLOB NOT NULL REFERENCES issuer (issuer_id),
    purpose         TEXT NOT NULL,
    size            INTEGER NOT NULL,
    allocated       INTEGER NOT NULL,
    created_at      TEXT NOT NULL
);
CREATE INDEX status_list_issuer ON status_list (issuer_id, purpose, created_at);

-- Every index ever handed out; the primary key makes reuse impossible, also across instances.
CREATE TABLE status_entry (
    status_list_id  BLOB NOT NULL REFERENCES status_list (status_list_id),
    idx             INTEGER NOT NULL,
    PRIMARY KEY (status_list_id, idx)
);

CREATE TABLE award (
    award_id            BLOB PRIMARY KEY,
    issuer_id           BLOB NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id       BLOB NOT NULL REFERENCES nanomodule (nanomodule_id),
    nanomodule_version  INTEGER NOT NULL,
    member_id           BLOB REFERENCES member (member_id),
    actor_token         TEXT NOT NULL,
    actor_role          TEXT NOT NULL,
    session             TEXT NOT NULL,
    recipients          INTEGER NOT NULL,
    created_at          TEXT NOT NULL
);
CREATE INDEX award_issuer ON award (issuer_id, created_at);

-- The signed JSON is stored once and served byte for byte.
CREATE TABLE credential (
    credential_id       BLOB PRIMARY KEY,
    award_id            BLOB NOT NULL REFERENCES award (award_id),
    issuer_id           BLOB NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id       BLOB NOT NULL REFERENCES nanomodule (nanomodule_id),
    nanomodule_version  INTEGER NOT NULL,
    identity_type       TEXT NOT NULL,
    identity            TEXT NOT NULL,
    recipient_name      TEXT,
    status_list_id      BLOB NOT NULL,
    status_index        INTEGER NOT NULL,
    key_id              BLOB NOT NULL REFERENCES signing_key (key_id),
    signed              TEXT NOT NULL,
    jwt                 TEXT NOT NULL,
    sha256              TEXT NOT NULL,
    valid_from          TEXT NOT NULL,
    valid_until         TEXT,
    created_at          TEXT NOT NULL,
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_entry (status_list_id, idx)
);
CREATE INDEX credential_recipient ON credential (issuer_id, identity_type, identity);
CREATE INDEX credential_award ON credential (award_id);

CREATE TABLE idempotency_key (
    scope         TEXT NOT NULL,
    idem_key      TEXT NOT NULL,
    request_hash  TEXT NOT NULL,
    status        INTEGER NOT NULL,
    response      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
