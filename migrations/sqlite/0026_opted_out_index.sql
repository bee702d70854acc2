-- Every award and stacking round that mails learners asks which of them opted out of the
-- issuer's mail; the unique key (issuer, learner) made that a read of all the issuer's
-- recipients. Opting out is rare, so a partial index keeps the answer to the few who did.
CREATE INDEX mail_recipient_opted_out ON mail_recipient (issuer_id) WHERE opted_out_at IS NOT NULL;
