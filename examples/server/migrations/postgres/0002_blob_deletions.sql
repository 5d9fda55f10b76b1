-- Blobs removed by garbage collection, with the change counter of the removal, so a publish
-- that found a blob stored before the removal (and skipped uploading it) notices and
-- uploads it again instead of registering a reference to deleted bytes.
CREATE TABLE blob_deletions (
    hash TEXT PRIMARY KEY NOT NULL,
    counter BIGINT NOT NULL,
    deleted_at BIGINT NOT NULL
);
