-- What operators did through the console: who (the role and how they signed in), what (the
-- action and its target), when, and what it changed. Rows are only ever added.
CREATE TABLE console_audit (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    at       BIGINT  NOT NULL,
    actor    TEXT    NOT NULL,
    action   TEXT    NOT NULL,
    target   TEXT    NOT NULL,
    outcome  TEXT    NOT NULL
);
