-- Same version and meaning as migrations/sqlite/0003_status.sql.
-- Revocation and suspension state of credentials, and the signed status-list credentials.

ALTER TABLE credential ADD COLUMN revoked_at timestamptz;
ALTER TABLE credential ADD COLUMN revocation_reason text;
ALTER TABLE credential ADD COLUMN suspended_at timestamptz;
ALTER TABLE credential ADD COLUMN suspension_reason text;

CREATE TABLE status_list_credential (
    status_list_id  uuid NOT NULL REFERENCES status_list (status_list_id),
    purpose         text NOT NULL,
    encoded_list    text NOT NULL,
    signed          text NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (status_list_id, purpose)
);
