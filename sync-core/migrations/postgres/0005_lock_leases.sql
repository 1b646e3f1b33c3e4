-- Named locks (sync-core::storage::locks). On PostgreSQL the lock itself is a session
-- advisory lock, which dies with its holder's connection; this row says who holds it, so
-- `synckit locks list` can show it: `advisory_id` is the advisory lock's key, matched
-- against pg_locks to tell a live holder from a row its dead holder left behind.
-- Timestamps are microseconds since the Unix epoch (UTC).
CREATE TABLE sync_locks (
    lock_key     TEXT    PRIMARY KEY,
    holder       TEXT    NOT NULL,
    expires_at   BIGINT  NOT NULL,
    acquired_at  BIGINT,
    advisory_id  BIGINT
);
