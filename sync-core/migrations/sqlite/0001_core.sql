-- Synckit core tables: backends, bindings with their last-synced state, checkpoints, locks.
-- Timestamps are microseconds since the Unix epoch (UTC).

CREATE TABLE sync_backends (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    kind        TEXT    NOT NULL,
    version     TEXT,
    name        TEXT    NOT NULL UNIQUE,
    settings    TEXT    NOT NULL DEFAULT '{}',
    -- Kept apart from settings so that settings can be shown and logged safely.
    secrets     TEXT    NOT NULL DEFAULT '{}',
    -- An integer, not BOOLEAN: the `Any` driver does not decode SQLite booleans.
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL
);

CREATE TABLE sync_bindings (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    backend_id      BIGINT  NOT NULL REFERENCES sync_backends (id) ON DELETE RESTRICT,
    model           TEXT    NOT NULL,
    local_id        BIGINT  NOT NULL,
    -- NULL while an export has recorded its intent to create the remote record but has not
    -- bound the id yet: a retry then adopts the remote record by its natural key.
    external_id     TEXT,
    sync_date       BIGINT,
    export_intent_at BIGINT,
    metadata        TEXT    NOT NULL DEFAULT '{}',
    -- What was last synced, in the local field space, for two-way conflict detection and
    -- echo suppression.
    synced_hash     TEXT,
    synced_values   TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX sync_bindings_external ON sync_bindings (backend_id, model, external_id);
CREATE UNIQUE INDEX sync_bindings_local ON sync_bindings (backend_id, model, local_id);

CREATE TABLE sync_checkpoints (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    backend_id  BIGINT  NOT NULL REFERENCES sync_backends (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    record_id   BIGINT  NOT NULL,
    message     TEXT    NOT NULL,
    state       TEXT    NOT NULL DEFAULT 'need_review' CHECK (state IN ('need_review', 'reviewed')),
    created_at  BIGINT  NOT NULL,
    reviewed_at BIGINT
);
CREATE INDEX sync_checkpoints_state ON sync_checkpoints (state, backend_id);

-- SQLite has no advisory locks: a lock is a lease row, taken when absent or expired.
CREATE TABLE sync_locks (
    lock_key    TEXT    PRIMARY KEY,
    holder      TEXT    NOT NULL,
    expires_at  BIGINT  NOT NULL
);
