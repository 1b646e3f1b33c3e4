-- A conflict checkpoint keeps what an operator needs to settle it: the binding model the
-- sync ran for (the checkpoint's `model` is the local one) and, per field, the base, local
-- and remote values the import found (JSON). Other checkpoints leave both NULL.
ALTER TABLE sync_checkpoints ADD COLUMN binding_model TEXT;
ALTER TABLE sync_checkpoints ADD COLUMN conflicts TEXT;
-- Settling a conflict reviews the older checkpoints of the same record too.
CREATE INDEX sync_checkpoints_record ON sync_checkpoints (backend_id, record_id);
