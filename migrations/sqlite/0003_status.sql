-- Revocation and suspension state of credentials, and the signed status-list credentials.

ALTER TABLE credential ADD COLUMN revoked_at TEXT;
ALTER TABLE credential ADD COLUMN revocation_reason TEXT;
ALTER TABLE credential ADD COLUMN suspended_at TEXT;
ALTER TABLE credential ADD COLUMN suspension_reason TEXT;

-- The last signed BitstringStatusListCredential per list and purpose; re-signed when the bits change.
CREATE TABLE status_list_credential (
    status_list_id  BLOB NOT NULL REFERENCES status_list (status_list_id),
    purpose         TEXT NOT NULL,
    encoded_list    TEXT NOT NULL,
    signed          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (status_list_id, purpose)
);
