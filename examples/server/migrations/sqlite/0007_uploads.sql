-- Blobs uploaded with `PUT /admin/blobs/{hash}`, registered in `blobs` only when an import
-- references them. `created_at` is the last upload: garbage collection removes (row and
-- bytes) the ones still unregistered after a grace period.
CREATE TABLE uploads (
    hash TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    created_at INTEGER NOT NULL
);
