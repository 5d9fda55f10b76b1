-- Which devices launched each update and which failed on it: the same table as
-- migrations/sqlite/0004_update_health.sql. One row per (update, device), so counts are
-- distinct devices and servers sharing the database add up; `device` is a hash of the
-- install's `eas-client-id`, never the id itself.
CREATE TABLE update_health (
    update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    -- SHA-256 of the lower-cased `eas-client-id`, first 16 bytes, hex (32 characters).
    device TEXT NOT NULL,
    launched BIGINT NOT NULL CHECK (launched IN (0, 1)),
    failed BIGINT NOT NULL CHECK (failed IN (0, 1)),
    -- When the row last changed; rows are written only when they change.
    changed_at BIGINT NOT NULL,
    PRIMARY KEY (update_id, device)
);
