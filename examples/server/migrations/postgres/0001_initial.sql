-- Updates, their assets and the content-addressed blobs they point to: the same tables as
-- migrations/sqlite/0001_initial.sql. TEXT ids (lower-case UUIDs, SHA-256 hex), BIGINT
-- millisecond timestamps, JSON kept as TEXT (the server reads it whole; no JSON queries).
-- Every integer is BIGINT so both backends read the same 64-bit values.

CREATE TABLE blobs (
    -- SHA-256 of the identity bytes, lower-case hex (64 characters).
    hash TEXT PRIMARY KEY NOT NULL,
    size BIGINT NOT NULL,
    content_type TEXT NOT NULL,
    -- Sizes of the precompressed variants; NULL when that variant is not stored.
    gzip_size BIGINT,
    br_size BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE updates (
    -- Insertion order: breaks ties between updates created in the same millisecond.
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    app TEXT NOT NULL DEFAULT 'default',
    channel TEXT NOT NULL,
    runtime_version TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
    kind TEXT NOT NULL CHECK (kind IN ('update', 'rollback_to_embedded')),
    -- Milliseconds since the Unix epoch: the manifest's createdAt, or the commitTime of a
    -- rollBackToEmbedded directive.
    created_at BIGINT NOT NULL,
    message TEXT,
    group_id TEXT NOT NULL,
    metadata TEXT NOT NULL DEFAULT '{}',
    extra TEXT NOT NULL DEFAULT '{}',
    rollout_percent BIGINT NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    republished_from TEXT
);

CREATE INDEX updates_by_scope
    ON updates (app, channel, runtime_version, platform, created_at DESC, seq DESC);
CREATE INDEX updates_by_created_at ON updates (created_at DESC, seq DESC);

CREATE TABLE update_assets (
    update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    is_launch_asset BIGINT NOT NULL CHECK (is_launch_asset IN (0, 1)),
    hash TEXT NOT NULL REFERENCES blobs (hash),
    asset_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    file_extension TEXT,
    PRIMARY KEY (update_id, position)
);

CREATE INDEX update_assets_by_hash ON update_assets (hash);

-- Bumped first by every write transaction: its row lock serializes writers (so createdAt
-- strictly grows per scope under concurrent publishers), and servers poll it to notice
-- changes made elsewhere.
CREATE TABLE change_counter (
    id BIGINT PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);

INSERT INTO change_counter (id, value) VALUES (1, 0);
