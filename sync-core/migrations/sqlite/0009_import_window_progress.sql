-- Progress of a batch import within its window, so that a run that stopped half-way (a
-- crash, a network failure) resumes near where it stopped instead of redoing the window.
--
-- `window_until` is the end of the window a run started and did not settle yet (NULL: no
-- window open; the next run opens [since, now)). `position_updated` and `position_id` are the
-- keyset position `(updated, id)` of the last record of the last page whose records all
-- settled (imported, or failed for good and left visible as a failed import job); the id is
-- kept as JSON text (a number or a string, as the backend gives it).
ALTER TABLE sync_import_cursors ADD COLUMN window_until BIGINT;
ALTER TABLE sync_import_cursors ADD COLUMN position_updated TEXT;
ALTER TABLE sync_import_cursors ADD COLUMN position_id TEXT;
