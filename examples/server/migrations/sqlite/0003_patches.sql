-- Launch-asset patches: one row per (base, target) pair of launch-asset hashes the server
-- tried, so no process builds the same pair twice. Only `stored` rows are served; the
-- others record why the full bundle is served instead, so the pair is not retried.
CREATE TABLE patches (
    -- SHA-256 hex of the launch asset the patch applies to.
    base_hash TEXT NOT NULL,
    -- SHA-256 hex of the launch asset the patch produces.
    target_hash TEXT NOT NULL,
    -- stored: the patch bytes are a blob; not_worth_serving: larger than half the
    -- compressed bundle; failed: an input too large, a build error or a timeout.
    outcome TEXT NOT NULL CHECK (outcome IN ('stored', 'not_worth_serving', 'failed')),
    -- SHA-256 hex of the patch bytes in the blob store (not in `blobs`: nothing but this
    -- row references them); NULL unless stored.
    patch_hash TEXT,
    -- Size of the patch in bytes; NULL when it failed.
    size INTEGER,
    -- Why it failed, for operators.
    detail TEXT,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (base_hash, target_hash),
    CHECK ((outcome = 'stored') = (patch_hash IS NOT NULL))
);

-- Garbage collection looks patches up by either end.
CREATE INDEX patches_by_target ON patches (target_hash);
