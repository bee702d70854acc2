-- Same version and meaning as migrations/sqlite/0002_credentials.sql.
-- Awards, signed credentials, status-list index allocation, idempotency keys.

CREATE TABLE status_list (
    status_list_id  uuid PRIMARY KEY,
    issuer_id       uuid NOT NULL REFERENCES issuer (issuer_id),
    purpose         text NOT NULL,
    size            bigint NOT NULL,
    allocated       bigint NOT NULL,
    created_at      timestamptz NOT NULL
);
CREATE INDEX status_list_issuer ON status_list (issuer_id, purpose, created_at);

-- Every index ever handed out; the primary key makes reuse impossible, also across instances.
CREATE TABLE status_entry (
    status_list_id  uuid NOT NULL REFERENCES status_list (status_list_id),
    idx             bigint NOT NULL,
    PRIMARY KEY (status_list_id, idx)
);

CREATE TABLE award (
    award_id            uuid PRIMARY KEY,
    issuer_id           uuid NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id       uuid NOT NULL REFERENCES nanomodule (nanomodule_id),
    nanomodule_version  bigint NOT NULL,
    member_id           uuid REFERENCES member (member_id),
    actor_token         text NOT NULL,
    actor_role          text NOT NULL,
    session             text NOT NULL,
    recipients          bigint NOT NULL,
    created_at          timestamptz NOT NULL
);
CREATE INDEX award_issuer ON award (issuer_id, created_at);

-- The signed JSON is stored once and served byte for byte.
CREATE TABLE credential (
    credential_id       uuid PRIMARY KEY,
    award_id            uuid NOT NULL REFERENCES award (award_id),
    issuer_id           uuid NOT NULL REFERENCES issuer (issuer_id),
    nanomodule_id       uuid NOT NULL REFERENCES nanomodule (nanomodule_id),
    nanomodule_version  bigint NOT NULL,
    identity_type       text NOT NULL,
    identity            text NOT NULL,
    recipient_name      text,
    status_list_id      uuid NOT NULL,
    status_index        bigint NOT NULL,
    key_id              uuid NOT NULL REFERENCES signing_key (key_id),
    signed              text NOT NULL,
    jwt                 text NOT NULL,
    sha256              text NOT NULL,
    valid_from          timestamptz NOT NULL,
    valid_until         timestamptz,
    created_at          timestamptz NOT NULL,
    UNIQUE (status_list_id, status_index),
    FOREIGN KEY (status_list_id, status_index) REFERENCES status_entry (status_list_id, idx)
);
CREATE INDEX credential_recipient ON credential (issuer_id, identity_type, identity);
CREATE INDEX credential_award ON credential (award_id);

CREATE TABLE idempotency_key (
    scope         text NOT NULL,
    idem_key      text NOT NULL,
    request_hash  text NOT NULL,
    status        bigint NOT NULL,
    response      text NOT NULL,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (scope, idem_key)
);
