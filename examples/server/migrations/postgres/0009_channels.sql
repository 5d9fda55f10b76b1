-- Branches behind channels: the same tables as migrations/sqlite/0009_channels.sql. A
-- channel with no row serves the branch of its own name (the `channel` column of
-- `updates` names the branch).
CREATE TABLE branches (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (app, name)
);

CREATE TABLE channels (
    app TEXT NOT NULL,
    name TEXT NOT NULL,
    branch TEXT NOT NULL,
    split_branch TEXT,
    split_percent BIGINT CHECK (split_percent BETWEEN 0 AND 100),
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (app, name),
    CHECK ((split_branch IS NULL) = (split_percent IS NULL)),
    CHECK (split_branch IS NULL OR split_branch <> branch)
);
