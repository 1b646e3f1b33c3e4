-- One sync engine, part 1: one incremental cursor per (backend, model) and one conflict
-- setting for both styles of sync.
--
-- The integrations' connectors kept their own cursor (`last_sync_at`) in the data of their
-- status rows; they now read and move the (backend, model) cursor in `sync_import_cursors`,
-- as batch imports do. A connector's model is known to the program only (its integration
-- type), not to SQL, so each connector's last completed cursor is set aside here and
-- adopted into `sync_import_cursors` the first time its integration is loaded for a sync
-- (then its row is deleted): nothing is lost on upgrade.
CREATE TABLE sync_connector_cursor_upgrades (
    integration_id BIGINT NOT NULL REFERENCES sync_integrations (id) ON DELETE CASCADE,
    connector      TEXT   NOT NULL,
    -- The old status-data cursor, as it was stored (`YYYY-MM-DD HH:MM:SS` UTC, or RFC 3339).
    last_sync_at   TEXT   NOT NULL,
    PRIMARY KEY (integration_id, connector)
);

INSERT INTO sync_connector_cursor_upgrades (integration_id, connector, last_sync_at)
SELECT s.integration_id, s.connector, (s.data::jsonb ->> 'last_sync_at')
FROM sync_integration_statuses s
WHERE s.id = (
        SELECT MAX(l.id) FROM sync_integration_statuses l
        WHERE l.integration_id = s.integration_id AND l.connector = s.connector
          AND l.direction = 'import' AND l.code = 'completed'
    )
  AND jsonb_typeof(s.data::jsonb -> 'last_sync_at') = 'string';

-- An integration's sync priority is a conflict policy, the type the record jobs use:
-- `remote` is `remote_wins`, `local` is `local_wins`.
ALTER TABLE sync_integrations ADD COLUMN conflict_policy TEXT NOT NULL DEFAULT 'remote_wins'
    CHECK (conflict_policy IN ('remote_wins', 'local_wins', 'newest_wins', 'field_merge'));
UPDATE sync_integrations
SET conflict_policy = CASE sync_priority WHEN 'local' THEN 'local_wins' ELSE 'remote_wins' END;
ALTER TABLE sync_integrations DROP COLUMN sync_priority;
