-- Reverse-sync entities settle one by one: a row is deleted once its entity went through,
-- and an entity the backend refused keeps its row with the error, so that the job's retries
-- skip it and its failure lists it (a requeue exports it again).
ALTER TABLE sync_reverse_entities ADD COLUMN error TEXT;
