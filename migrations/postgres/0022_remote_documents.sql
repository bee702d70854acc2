-- Same version and meaning as migrations/sqlite/0022_remote_documents.sql.
CREATE TABLE remote_document (
    url         text PRIMARY KEY,
    body        text NOT NULL,
    fetched_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL
);
