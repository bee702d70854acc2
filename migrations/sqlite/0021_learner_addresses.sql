-- A learner's further e-mail addresses, so badges sent to a work and a private address meet on
-- one page. Each address is confirmed by a one-time link mailed to it (a learner_login row that
-- names the account it joins); the account is the address the learner signed in with.
CREATE TABLE learner_address (
    address       TEXT PRIMARY KEY,
    account       TEXT NOT NULL,
    confirmed_at  TEXT NOT NULL
);
CREATE INDEX learner_address_account ON learner_address (account);
ALTER TABLE learner_login ADD COLUMN joins TEXT;
