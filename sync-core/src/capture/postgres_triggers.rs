//! The row trigger of a captured table on PostgreSQL.
//!
//! One PL/pgSQL function per table, called by an `AFTER INSERT OR UPDATE OR DELETE … FOR
//! EACH ROW` trigger, inserts one outbox row in the writer's transaction with the origin read
//! from the transaction-local setting `synckit.origin` (see [`super::origin`]), skips updates
//! that change no declared column, and wakes the dispatchers with `pg_notify` (delivered at
//! commit only, and once per transaction). Every name was checked by
//! [`CaptureDeclaration::validate`] before it is spliced in.

use super::declaration::CaptureDeclaration;
use crate::storage::Dialect;

/// The channel dispatchers LISTEN on.
pub(crate) const NOTIFY_CHANNEL: &str = "synckit_capture";

fn function_name(table: &str) -> String {
    format!("synckit_capture_{table}")
}

/// `'{}'::jsonb || jsonb_build_object('col', jsonb_build_object('old', …, 'new', …)) || …`,
/// each column guarded by `when` (so only changed columns appear on update).
fn changes_expression(
    decl: &CaptureDeclaration,
    old: Option<&str>,
    new: Option<&str>,
    only_changed: bool,
) -> String {
    let value = |row: Option<&str>, column: &str| match row {
        Some(row) => format!("to_jsonb({row}.\"{column}\")"),
        None => "NULL::jsonb".to_owned(),
    };
    let mut expression = "'{}'::jsonb".to_owned();
    for c in &decl.columns {
        let pair = format!(
            "jsonb_build_object('{c}', jsonb_build_object('old', {}, 'new', {}))",
            value(old, c),
            value(new, c)
        );
        if only_changed {
            expression.push_str(&format!(
                " || CASE WHEN OLD.\"{c}\" IS DISTINCT FROM NEW.\"{c}\" THEN {pair} ELSE '{{}}'::jsonb END"
            ));
        } else {
            expression.push_str(&format!(" || {pair}"));
        }
    }
    expression
}

/// The statements that create the trigger of `decl` (run them in one transaction).
pub(crate) fn install(decl: &CaptureDeclaration) -> Vec<String> {
    let table = &decl.table;
    let function = function_name(table);
    let key = &decl.key_column;
    let now = Dialect::Postgres.now_micros_sql();
    let insert = |row: &str, operation: &str, changes: &str| {
        format!(
            "INSERT INTO synckit_capture_outbox (model, record_key, operation, changes, origin, created_at) \
             VALUES ('{model}', {row}.\"{key}\"::text, '{operation}', ({changes})::text, origin, {now});",
            model = decl.model,
        )
    };
    let body = format!(
        "DECLARE origin text := coalesce(nullif(current_setting('synckit.origin', true), ''), 'local');
         changes jsonb;
         BEGIN
           -- A LocalSession write emits its own event: no second one from the outbox.
           IF current_setting('synckit.session_model', true) = '{model}' THEN RETURN NULL; END IF;
           IF TG_OP = 'INSERT' THEN
             {insert_new}
           ELSIF TG_OP = 'UPDATE' THEN
             changes := {update_changes};
             IF changes = '{{}}'::jsonb THEN RETURN NULL; END IF;
             INSERT INTO synckit_capture_outbox (model, record_key, operation, changes, origin, created_at)
             VALUES ('{model}', NEW.\"{key}\"::text, 'update', changes::text, origin, {now});
           ELSE
             {insert_old}
           END IF;
           PERFORM pg_notify('{NOTIFY_CHANNEL}', '');
           RETURN NULL;
         END",
        model = decl.model,
        insert_new = insert("NEW", "insert", &changes_expression(decl, None, Some("NEW"), false)),
        update_changes = changes_expression(decl, Some("OLD"), Some("NEW"), true),
        insert_old = insert("OLD", "delete", &changes_expression(decl, Some("OLD"), None, false)),
    );
    vec![
        format!(
            "CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $synckit$ {body} $synckit$"
        ),
        format!(
            "CREATE TRIGGER synckit_capture AFTER INSERT OR UPDATE OR DELETE ON \"{table}\" \
             FOR EACH ROW EXECUTE FUNCTION {function}()"
        ),
    ]
}

/// The statements that drop the trigger of `table` and its function.
pub(crate) fn remove(table: &str) -> Vec<String> {
    vec![
        format!("DROP TRIGGER IF EXISTS synckit_capture ON \"{table}\""),
        format!("DROP FUNCTION IF EXISTS {}()", function_name(table)),
    ]
}
