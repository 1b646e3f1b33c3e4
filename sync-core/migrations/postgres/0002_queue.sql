-- The persistent job queue (sync-core::queue).
-- Timestamps are microseconds since the Unix epoch (UTC); JSON is stored as TEXT.

CREATE TABLE queue_jobs (
    id               BIGSERIAL PRIMARY KEY,
    -- The job function's name, as registered with the worker.
    name             TEXT    NOT NULL,
    description      TEXT,
    -- The serde-serialized arguments (JSON object).
    args             TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('wait_dependencies', 'pending', 'enqueued', 'started', 'done', 'failed', 'cancelled')),
    -- Lower runs first.
    priority         BIGINT  NOT NULL DEFAULT 10,
    -- Not before this instant; NULL means as soon as possible.
    eta              BIGINT,
    -- Counted tries used so far; max_retries = 0 retries forever.
    retry            BIGINT  NOT NULL DEFAULT 0,
    max_retries      BIGINT  NOT NULL DEFAULT 5,
    retry_pattern    TEXT,
    channel          TEXT    NOT NULL DEFAULT 'root',
    identity_key     TEXT,
    timeout_ms       BIGINT,
    graph_id         TEXT,
    -- Set when another job depends on this one, so that finishing it looks for children.
    has_dependents   BIGINT  NOT NULL DEFAULT 0,
    -- The lease: which worker runs the job, until when, and the attempt number that fences
    -- out a worker whose lease was taken away.
    worker_id        TEXT,
    attempt          BIGINT  NOT NULL DEFAULT 0,
    lease_expires_at BIGINT,
    result           TEXT,
    exc_name         TEXT,
    exc_message      TEXT,
    exc_info         TEXT,
    date_created     BIGINT  NOT NULL,
    date_enqueued    BIGINT,
    date_started     BIGINT,
    date_done        BIGINT,
    date_cancelled   BIGINT,
    date_failed      BIGINT,
    exec_time_us     BIGINT
);
-- The claim order: priority, then creation, then id, among pending jobs only.
CREATE INDEX queue_jobs_pending ON queue_jobs (priority, date_created, id) WHERE state = 'pending';
-- Identity keys are unique among live jobs, so a duplicate delayed by a concurrent
-- transaction waits for the first and then finds it.
CREATE UNIQUE INDEX queue_jobs_identity ON queue_jobs (identity_key)
    WHERE identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending', 'enqueued', 'started');
CREATE INDEX queue_jobs_state_channel ON queue_jobs (state, channel);
CREATE INDEX queue_jobs_leased ON queue_jobs (lease_expires_at) WHERE state IN ('enqueued', 'started');
CREATE INDEX queue_jobs_worker ON queue_jobs (worker_id) WHERE state IN ('enqueued', 'started');

CREATE TABLE queue_job_dependencies (
    job_id     BIGINT NOT NULL REFERENCES queue_jobs (id) ON DELETE CASCADE,
    depends_on BIGINT NOT NULL REFERENCES queue_jobs (id) ON DELETE CASCADE,
    PRIMARY KEY (job_id, depends_on)
);
CREATE INDEX queue_job_dependencies_parent ON queue_job_dependencies (depends_on);

-- One row per attempt outcome and per manual action.
CREATE TABLE queue_job_history (
    id        BIGSERIAL PRIMARY KEY,
    job_id    BIGINT  NOT NULL REFERENCES queue_jobs (id) ON DELETE CASCADE,
    at        BIGINT  NOT NULL,
    state     TEXT    NOT NULL,
    attempt   BIGINT  NOT NULL,
    worker_id TEXT,
    message   TEXT
);
CREATE INDEX queue_job_history_job ON queue_job_history (job_id);

-- Shared channel state that must survive across workers: the last start of a throttled channel.
CREATE TABLE queue_channel_state (
    channel         TEXT PRIMARY KEY,
    last_started_at BIGINT NOT NULL
);

-- Wake the workers as soon as a job becomes pending (inserted, retried, requeued, released
-- by its parents). Row-level with a WHEN filter, so claims and completions (which never
-- make a job pending) fire nothing; PostgreSQL folds identical notifications of one
-- transaction into one, sent at commit, so a batched enqueue wakes the workers once and a
-- rolled-back one never.
CREATE FUNCTION queue_jobs_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('synckit_queue', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER queue_jobs_notify AFTER INSERT OR UPDATE OF state ON queue_jobs
    FOR EACH ROW WHEN (NEW.state = 'pending') EXECUTE FUNCTION queue_jobs_notify();
