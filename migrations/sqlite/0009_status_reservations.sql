-- When a status index was reserved (Unix seconds). An award reserves its indices before it
-- signs (the index is part of the signed document) and stores its credentials afterwards; an
-- award that crashed in between leaves reserved indices no credential uses. Those are never
-- published, so once old enough (no award runs that long) they are returned to their list.
-- Rows reserved before this migration count from now; rows written by an older build (NULL)
-- are never reclaimed.
ALTER TABLE status_entry ADD COLUMN reserved_epoch INTEGER;
UPDATE status_entry SET reserved_epoch = CAST(strftime('%s', 'now') AS INTEGER);
CREATE INDEX status_entry_reserved ON status_entry (reserved_epoch);
