-- One sync engine, part 2: one table of periodic work for both styles of sync.
--
-- Batch imports kept their schedule in `sync_import_cursors` (`every_secs`, `next_run_at`)
-- and integrations theirs in `sync_integrations` (`sync_interval_secs`,
-- `last_scheduled_at`), each with its own loop in the worker. Both are rows here now, read
-- by one claiming loop: a worker claims a due row with a conditional update of
-- `next_run_at` in the transaction that enqueues its job, so one worker enqueues it.
CREATE TABLE sync_schedules (
    id               BIGSERIAL PRIMARY KEY,
    -- What runs: `import` (a batch import of `model` from `backend_id`) or `forward_sync`
    -- (a forward sync of `integration_id`).
    kind             TEXT    NOT NULL CHECK (kind IN ('import', 'forward_sync')),
    backend_id       BIGINT  REFERENCES sync_backends (id) ON DELETE CASCADE,
    model            TEXT,
    integration_id   BIGINT  REFERENCES sync_integrations (id) ON DELETE CASCADE,
    -- One schedule per work: `import:<backend id>:<model>` or `forward_sync:<integration id>`.
    target           TEXT    NOT NULL UNIQUE,
    every_secs       BIGINT  NOT NULL CHECK (every_secs > 0),
    -- Microseconds since the epoch, as every timestamp.
    next_run_at      BIGINT  NOT NULL,
    last_enqueued_at BIGINT,
    created_at       BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    CHECK ((kind = 'import' AND backend_id IS NOT NULL AND model IS NOT NULL AND integration_id IS NULL)
        OR (kind = 'forward_sync' AND integration_id IS NOT NULL AND backend_id IS NULL AND model IS NULL))
);
CREATE INDEX sync_schedules_due ON sync_schedules (next_run_at);

INSERT INTO sync_schedules (kind, backend_id, model, target, every_secs, next_run_at, created_at, updated_at)
SELECT 'import', backend_id, model, 'import:' || backend_id || ':' || model, every_secs,
       COALESCE(next_run_at, 0), updated_at, updated_at
FROM sync_import_cursors
WHERE every_secs IS NOT NULL AND every_secs > 0;

INSERT INTO sync_schedules (kind, integration_id, target, every_secs, next_run_at, created_at, updated_at)
SELECT 'forward_sync', id, 'forward_sync:' || id, sync_interval_secs,
       COALESCE(last_scheduled_at + sync_interval_secs * 1000000, 0), updated_at, updated_at
FROM sync_integrations
WHERE sync_interval_secs IS NOT NULL AND sync_interval_secs > 0;

DROP INDEX sync_import_cursors_due;
ALTER TABLE sync_import_cursors DROP COLUMN every_secs;
ALTER TABLE sync_import_cursors DROP COLUMN next_run_at;
ALTER TABLE sync_integrations DROP COLUMN sync_interval_secs;
ALTER TABLE sync_integrations DROP COLUMN last_scheduled_at;
