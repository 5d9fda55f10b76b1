-- Garbage collection commits its metadata first and deletes blob bytes after: a blob whose
-- rows are gone but whose bytes may still exist is *pending* (1) until its bytes are
-- deleted, then done (0) with the change counter of that moment. A publish refuses to
-- register a pending blob (it waits and uploads it again), and the next collection
-- finishes the pending deletions an interrupted one left.
ALTER TABLE blob_deletions ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
