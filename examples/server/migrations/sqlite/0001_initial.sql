-- Updates, their assets and the content-addressed blobs they point to.
-- Portable SQL: TEXT ids (lower-case UUIDs, SHA-256 hex), INTEGER millisecond timestamps,
-- JSON kept as TEXT. Only `seq` (insertion order) is SQLite-specific in spelling.

CREATE TABLE blobs (
    -- SHA-256 of the identity bytes, lower-case hex (64 characters).
    hash TEXT PRIMARY KEY NOT NULL,
    size INTEGER NOT NULL,
    content_type TEXT NOT NULL,
    -- Sizes of the precompressed variants; NULL when that variant is not stored
    -- (it was not smaller than the identity bytes).
    gzip_size INTEGER,
    br_size INTEGER,
    created_at INTEGER NOT NULL
);

CREATE TABLE updates (
    -- Insertion order: breaks ties between updates created in the same millisecond.
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    app TEXT NOT NULL DEFAULT 'default',
    channel TEXT NOT NULL,
    runtime_version TEXT NOT NULL,
    platform TEXT NOT NULL CHECK (platform IN ('ios', 'android')),
    kind TEXT NOT NULL CHECK (kind IN ('update', 'rollback_to_embedded')),
    -- Milliseconds since the Unix epoch: the manifest's createdAt, or the commitTime of a
    -- rollBackToEmbedded directive.
    created_at INTEGER NOT NULL,
    message TEXT,
    -- Updates registered together (one publish, every platform) share a group.
    group_id TEXT NOT NULL,
    -- JSON object of strings (manifest `metadata`).
    metadata TEXT NOT NULL DEFAULT '{}',
    -- JSON object (manifest `extra`, holding `expoClient`).
    extra TEXT NOT NULL DEFAULT '{}',
    rollout_percent INTEGER NOT NULL DEFAULT 100 CHECK (rollout_percent BETWEEN 0 AND 100),
    -- The update whose assets this one copies (republish, rollback).
    republished_from TEXT
);

-- The served update of a scope is the most recent one: this index answers it directly.
CREATE INDEX updates_by_scope
    ON updates (app, channel, runtime_version, platform, created_at DESC, seq DESC);
CREATE INDEX updates_by_created_at ON updates (created_at DESC, seq DESC);

CREATE TABLE update_assets (
    update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    -- 0 is the launch asset; the others keep the export's order.
    position INTEGER NOT NULL,
    is_launch_asset INTEGER NOT NULL CHECK (is_launch_asset IN (0, 1)),
    hash TEXT NOT NULL REFERENCES blobs (hash),
    asset_key TEXT NOT NULL,
    content_type TEXT NOT NULL,
    -- With its leading dot; NULL for the launch asset.
    file_extension TEXT,
    PRIMARY KEY (update_id, position)
);

CREATE INDEX update_assets_by_hash ON update_assets (hash);

-- Bumped by every write that changes what is served, so a running server can notice
-- changes made by another process (a CLI publish) with one cheap read.
CREATE TABLE change_counter (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
);

INSERT INTO change_counter (id, value) VALUES (1, 0);
