-- When each install was served an update, first reported running it and first reported
-- failing on it: the same columns as migrations/sqlite/0008_health_times.sql. Older rows
-- take their last change (`changed_at`) for each event that happened.
ALTER TABLE update_health ADD COLUMN served_at BIGINT;
ALTER TABLE update_health ADD COLUMN launched_at BIGINT;
ALTER TABLE update_health ADD COLUMN failed_at BIGINT;
UPDATE update_health SET
    served_at = changed_at,
    launched_at = CASE WHEN launched = 1 THEN changed_at END,
    failed_at = CASE WHEN failed = 1 THEN changed_at END;
