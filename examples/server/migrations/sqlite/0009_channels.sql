-- Branches behind channels. The stream column of `updates` (`channel`) names the update's
-- branch; a channel serves one branch, or splits its installs between two. A channel with
-- no row here serves the branch of its own name, so data written before this migration
-- serves exactly as before.

-- Branches created before their first update (a branch with updates exists without a row).
CREATE TABLE branches (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (app, name)
);

CREATE TABLE channels (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    -- The branch served (to everyone outside the split).
    branch TEXT NOT NULL,
    -- The second branch of a split and the share of installs (by a hash of their
    -- eas-client-id) it is served to; both NULL without a split.
    split_branch TEXT,
    split_percent INTEGER CHECK (split_percent BETWEEN 0 AND 100),
    updated_at INTEGER NOT NULL,
    PRIMARY KEY (app, name),
    CHECK ((split_branch IS NULL) = (split_percent IS NULL)),
    CHECK (split_branch IS NULL OR split_branch <> branch)
);
