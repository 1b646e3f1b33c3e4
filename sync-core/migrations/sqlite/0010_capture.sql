-- Change capture: declared tables and the outbox their row triggers write
-- (see sync-core/src/capture).

CREATE TABLE synckit_capture_declarations (
    model TEXT PRIMARY KEY,
    table_name TEXT NOT NULL UNIQUE,
    key_column TEXT NOT NULL,
    columns TEXT NOT NULL,
    trigger_version BIGINT NOT NULL,
    installed_at BIGINT NOT NULL
);

-- SQLite runs one writer at a time and gives a new row the highest id plus one, so among the
-- rows waiting, id order is commit order (no AUTOINCREMENT needed: its bookkeeping would cost
-- every captured write an extra update).
CREATE TABLE synckit_capture_outbox (
    id INTEGER PRIMARY KEY,
    model TEXT NOT NULL,
    record_key TEXT NOT NULL,
    operation TEXT NOT NULL,
    changes TEXT NOT NULL,
    origin TEXT NOT NULL DEFAULT 'local',
    created_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    retry_at BIGINT NOT NULL DEFAULT 0,
    last_error TEXT
);

-- Only rows waiting after a listener error are indexed by record (the dispatcher keeps a
-- record's later rows behind them); captured writes pay for no second index.
CREATE INDEX synckit_capture_outbox_waiting ON synckit_capture_outbox (model, record_key, id)
    WHERE retry_at > 0;
