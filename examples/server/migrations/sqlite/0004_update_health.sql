-- Which devices launched each update and which failed on it, from the headers apps send on
-- manifest requests. One row per (update, device): counts are distinct devices however often
-- a device asks, and servers sharing the database add up. `device` is a hash of the
-- install's `eas-client-id`, never the id itself.
CREATE TABLE update_health (
    update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    -- SHA-256 of the lower-cased `eas-client-id`, first 16 bytes, hex (32 characters).
    device TEXT NOT NULL,
    -- 1 once the device reported running the update (`expo-current-update-id`).
    launched INTEGER NOT NULL CHECK (launched IN (0, 1)),
    -- 1 once the device reported failing to launch it (`expo-recent-failed-update-ids`,
    -- or `expo-fatal-error` while running it).
    failed INTEGER NOT NULL CHECK (failed IN (0, 1)),
    -- When the row last changed (a flag turned on), milliseconds since the Unix epoch. Rows
    -- are written only when they change, so a device asking again costs no write.
    changed_at INTEGER NOT NULL,
    PRIMARY KEY (update_id, device)
);
