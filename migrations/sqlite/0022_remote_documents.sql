-- Other issuers' public documents (DID documents, key documents, status lists) fetched for
-- verification when an operator allows fetching: a cache shared by every instance, and what the
-- offline mode answers from.
CREATE TABLE remote_document (
    url         TEXT PRIMARY KEY,
    body        TEXT NOT NULL,
    fetched_at  TEXT NOT NULL,
    expires_at  TEXT NOT NULL
);
