-- Same version and meaning as migrations/sqlite/0021_learner_addresses.sql.
CREATE TABLE learner_address (
    address       text PRIMARY KEY,
    account       text NOT NULL,
    confirmed_at  timestamptz NOT NULL
);
CREATE INDEX learner_address_account ON learner_address (account);
ALTER TABLE learner_login ADD COLUMN joins text;
