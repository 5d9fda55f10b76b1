-- When each install was served an update, first reported running it and first reported
-- failing on it, milliseconds since the Unix epoch: the admin page's curves over time.
-- NULL while the event has not happened. Rows written before this migration only know
-- their last change (`changed_at`), which stands in for each event that happened: an
-- approximation (a row whose flag turned on later says it was served then too), never a
-- time before the row existed.
ALTER TABLE update_health ADD COLUMN served_at INTEGER;
ALTER TABLE update_health ADD COLUMN launched_at INTEGER;
ALTER TABLE update_health ADD COLUMN failed_at INTEGER;
UPDATE update_health SET
    served_at = changed_at,
    launched_at = CASE WHEN launched = 1 THEN changed_at END,
    failed_at = CASE WHEN failed = 1 THEN changed_at END;
