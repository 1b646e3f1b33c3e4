-- Where each (backend, model) batch import resumes, and when it runs again.
--
-- `since` is the start of the next run's window (microseconds since the epoch; NULL imports
-- everything); a run moves it to its own end minus the overlap only when every record went
-- through, so a failed record is found again. `every_secs` and `next_run_at` make the import
-- periodic: a tick enqueues the due ones.
CREATE TABLE sync_import_cursors (
    backend_id  BIGINT  NOT NULL REFERENCES sync_backends (id) ON DELETE CASCADE,
    model       TEXT    NOT NULL,
    since       BIGINT,
    every_secs  BIGINT,
    next_run_at BIGINT,
    last_run_at BIGINT,
    updated_at  BIGINT  NOT NULL,
    PRIMARY KEY (backend_id, model)
);
CREATE INDEX sync_import_cursors_due ON sync_import_cursors (next_run_at);
