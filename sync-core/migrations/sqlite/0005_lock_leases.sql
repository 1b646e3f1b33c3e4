-- Named locks are short leases renewed by their holder (sync-core::storage::locks); when a
-- holder took its lock is shown by `synckit locks list`.
ALTER TABLE sync_locks ADD COLUMN acquired_at BIGINT;
