-- Oro-style integrations and batch jobs (sync-core::batch).
-- Timestamps are microseconds since the Unix epoch (UTC); JSON is stored as TEXT; flags are
-- integers because the `Any` driver does not decode SQLite booleans.

-- An integration is a backend instance plus the connectors enabled on it and its sync
-- settings. One per backend: the origin stamp of a sync's writes is the backend id, so two
-- integrations on one backend could not tell each other's writes apart (echo suppression).
CREATE TABLE sync_integrations (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    backend_id         BIGINT  NOT NULL UNIQUE REFERENCES sync_backends (id) ON DELETE CASCADE,
    name               TEXT    NOT NULL UNIQUE,
    -- JSON array of connector names, in the configured order (ties of `order` keep it).
    connectors         TEXT    NOT NULL DEFAULT '[]',
    enabled            INTEGER NOT NULL DEFAULT 1,
    two_way            INTEGER NOT NULL DEFAULT 0,
    sync_priority      TEXT    NOT NULL DEFAULT 'remote' CHECK (sync_priority IN ('remote', 'local')),
    log_warnings       INTEGER NOT NULL DEFAULT 0,
    default_owner_id   BIGINT,
    -- Periodic forward sync: every this many seconds (NULL: only on demand).
    sync_interval_secs BIGINT,
    -- Claimed by the scheduler that delays the next periodic sync (multi-worker safe).
    last_scheduled_at  BIGINT,
    -- Free-form extra settings (e.g. the clock-skew overlap).
    settings           TEXT    NOT NULL DEFAULT '{}',
    created_at         BIGINT  NOT NULL,
    updated_at         BIGINT  NOT NULL
);

-- Batch job executions, written outside the data transactions so a rolled-back chunk keeps
-- its bookkeeping.
CREATE TABLE sync_job_executions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_name         TEXT    NOT NULL,
    job_type         TEXT    NOT NULL,
    integration_id   BIGINT  REFERENCES sync_integrations (id) ON DELETE CASCADE,
    connector        TEXT,
    status           TEXT    NOT NULL,
    exit_code        TEXT    NOT NULL,
    exit_description TEXT    NOT NULL DEFAULT '',
    -- The run parameters (ids, force, cursor...): never secrets.
    parameters       TEXT    NOT NULL DEFAULT '{}',
    failures         TEXT    NOT NULL DEFAULT '[]',
    created_at       BIGINT  NOT NULL,
    started_at       BIGINT,
    ended_at         BIGINT,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX sync_job_executions_integration ON sync_job_executions (integration_id, connector, id);
CREATE INDEX sync_job_executions_created ON sync_job_executions (created_at);

CREATE TABLE sync_step_executions (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    job_execution_id BIGINT  NOT NULL REFERENCES sync_job_executions (id) ON DELETE CASCADE,
    position         INTEGER NOT NULL,
    step_name        TEXT    NOT NULL,
    status           TEXT    NOT NULL,
    exit_code        TEXT    NOT NULL,
    exit_description TEXT    NOT NULL DEFAULT '',
    read_count       BIGINT  NOT NULL DEFAULT 0,
    processed_count  BIGINT  NOT NULL DEFAULT 0,
    added_count      BIGINT  NOT NULL DEFAULT 0,
    updated_count    BIGINT  NOT NULL DEFAULT 0,
    deleted_count    BIGINT  NOT NULL DEFAULT 0,
    skipped_count    BIGINT  NOT NULL DEFAULT 0,
    error_count      BIGINT  NOT NULL DEFAULT 0,
    failures         TEXT    NOT NULL DEFAULT '[]',
    started_at       BIGINT,
    ended_at         BIGINT
);
CREATE INDEX sync_step_executions_job ON sync_step_executions (job_execution_id, position);

CREATE TABLE sync_batch_warnings (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    step_execution_id BIGINT  NOT NULL REFERENCES sync_step_executions (id) ON DELETE CASCADE,
    reason            TEXT    NOT NULL,
    -- The item (JSON), as the step saw it.
    item              TEXT    NOT NULL DEFAULT 'null',
    created_at        BIGINT  NOT NULL
);
CREATE INDEX sync_batch_warnings_step ON sync_batch_warnings (step_execution_id, id);

-- One row per connector per run (history, never updated), with the connector's data: the
-- incremental cursor of a completed run.
CREATE TABLE sync_integration_statuses (
    id               INTEGER PRIMARY KEY AUTOINCREMENT,
    integration_id   BIGINT  NOT NULL REFERENCES sync_integrations (id) ON DELETE CASCADE,
    connector        TEXT    NOT NULL,
    direction        TEXT    NOT NULL CHECK (direction IN ('import', 'export')),
    code             TEXT    NOT NULL CHECK (code IN ('completed', 'failed')),
    message          TEXT    NOT NULL,
    data             TEXT    NOT NULL DEFAULT '{}',
    job_execution_id BIGINT  REFERENCES sync_job_executions (id) ON DELETE SET NULL,
    created_at       BIGINT  NOT NULL
);
CREATE INDEX sync_integration_statuses_last ON sync_integration_statuses (integration_id, connector, direction, code, id);
CREATE INDEX sync_integration_statuses_created ON sync_integration_statuses (created_at);

-- The one queued (not yet started) reverse-sync job per (integration, connector). A request
-- that finds a row adds its ids to that job instead of delaying another (or dropping them).
CREATE TABLE sync_reverse_schedule (
    integration_id BIGINT NOT NULL REFERENCES sync_integrations (id) ON DELETE CASCADE,
    connector      TEXT   NOT NULL,
    job_id         BIGINT,
    requested_at   BIGINT NOT NULL,
    PRIMARY KEY (integration_id, connector)
);

-- The entity ids of each reverse-sync job; kept until the job completes, so a retried job
-- exports them again.
CREATE TABLE sync_reverse_entities (
    job_id         BIGINT NOT NULL,
    integration_id BIGINT NOT NULL REFERENCES sync_integrations (id) ON DELETE CASCADE,
    connector      TEXT   NOT NULL,
    entity_id      BIGINT NOT NULL,
    requested_at   BIGINT NOT NULL,
    PRIMARY KEY (job_id, entity_id)
);
