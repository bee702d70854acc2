-- A learner's export lists the audit events about their credentials: found by subject.
CREATE INDEX audit_event_subject ON audit_event (subject_id);
