-- Identity keys: a duplicate merges into a job that has not run yet, never into a running one.
--
-- A job that is claimed or running may already have read what it works on, so a change found
-- meanwhile must not be merged into it: it gets one follow-up job instead. Waiting jobs
-- (pending, wait_dependencies) that were never claimed (attempt = 0) are unique per key, so
-- at most one follow-up waits per key whatever runs; a job that goes back to waiting after a
-- try (retry, rescue, requeue) is outside this index, so those transitions never conflict.
DROP INDEX queue_jobs_identity;
CREATE UNIQUE INDEX queue_jobs_identity_fresh ON queue_jobs (identity_key)
    WHERE identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending') AND attempt = 0;
-- Finds the waiting job a duplicate merges into, fresh or retrying.
CREATE INDEX queue_jobs_identity_waiting ON queue_jobs (identity_key)
    WHERE identity_key IS NOT NULL AND state IN ('wait_dependencies', 'pending');
