-- Stacking reads a learner's enrolments on every line by who they are; the primary key starts
-- with the line, so without this index each read scanned every enrolment of the platform.
CREATE INDEX line_learner_learner ON line_learner (identity_type, identity);
