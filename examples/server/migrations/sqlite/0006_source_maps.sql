-- The source maps (`.map` files) of a published export, kept for crash reporters: listed
-- by the admin API, never in a manifest. Their bytes are blobs like the assets', so garbage
-- collection keeps a blob while an update lists it here.
CREATE TABLE update_source_maps (
    update_id TEXT NOT NULL REFERENCES updates (id) ON DELETE CASCADE,
    -- Path inside the export (`_expo/static/js/ios/index-….hbc.map`).
    path TEXT NOT NULL,
    hash TEXT NOT NULL REFERENCES blobs (hash),
    PRIMARY KEY (update_id, path)
);

CREATE INDEX update_source_maps_by_hash ON update_source_maps (hash);
