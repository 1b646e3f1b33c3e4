//! The row triggers of a captured table on SQLite.
//!
//! Three `AFTER` triggers (insert, update, delete) each insert one outbox row in the
//! writer's transaction. The update trigger's `WHEN` clause skips updates that change no
//! declared column, and its `changes` keep only the columns that changed. Every name was
//! checked by [`CaptureDeclaration::validate`] before it is spliced in.

use super::declaration::CaptureDeclaration;
use crate::storage::Dialect;

fn trigger_name(table: &str, operation: &str) -> String {
    format!("synckit_capture_{table}_{operation}")
}

/// `json_object('col', json_object('old', <old>, 'new', <new>), …)` over the columns.
fn changes_object(decl: &CaptureDeclaration, old: Option<&str>, new: Option<&str>) -> String {
    let value = |row: Option<&str>, column: &str| match row {
        Some(row) => format!("{row}.\"{column}\""),
        None => "NULL".to_owned(),
    };
    let pairs: Vec<String> = decl
        .columns
        .iter()
        .map(|c| {
            format!(
                "'{c}', json_object('old', {}, 'new', {})",
                value(old, c),
                value(new, c)
            )
        })
        .collect();
    format!("json_object({})", pairs.join(", "))
}

fn insert_outbox(decl: &CaptureDeclaration, operation: &str, row: &str, changes: &str) -> String {
    format!(
        "INSERT INTO synckit_capture_outbox (model, record_key, operation, changes, created_at) \
         VALUES ('{model}', CAST({row}.\"{key}\" AS TEXT), '{operation}', {changes}, {now});",
        model = decl.model,
        key = decl.key_column,
        now = Dialect::Sqlite.now_micros_sql(),
    )
}

/// The statements that create the triggers of `decl` (run them in one transaction).
pub(crate) fn install(decl: &CaptureDeclaration) -> Vec<String> {
    let table = &decl.table;
    let changed: Vec<String> = decl
        .columns
        .iter()
        .map(|c| format!("OLD.\"{c}\" IS NOT NEW.\"{c}\""))
        .collect();
    // json_remove drops the unchanged columns; a changed one gets a path that matches no
    // key (a space is never in an identifier), which removes nothing.
    let removals: Vec<String> = decl
        .columns
        .iter()
        .map(|c| {
            format!("CASE WHEN OLD.\"{c}\" IS NOT NEW.\"{c}\" THEN '$.\" \"' ELSE '$.{c}' END")
        })
        .collect();
    let update_changes = format!(
        "json_remove({}, {})",
        changes_object(decl, Some("OLD"), Some("NEW")),
        removals.join(", ")
    );
    vec![
        format!(
            "CREATE TRIGGER {name} AFTER INSERT ON \"{table}\" BEGIN {body} END",
            name = trigger_name(table, "insert"),
            body = insert_outbox(
                decl,
                "insert",
                "NEW",
                &changes_object(decl, None, Some("NEW"))
            ),
        ),
        format!(
            "CREATE TRIGGER {name} AFTER UPDATE ON \"{table}\" WHEN {when} BEGIN {body} END",
            name = trigger_name(table, "update"),
            when = changed.join(" OR "),
            body = insert_outbox(decl, "update", "NEW", &update_changes),
        ),
        format!(
            "CREATE TRIGGER {name} AFTER DELETE ON \"{table}\" BEGIN {body} END",
            name = trigger_name(table, "delete"),
            body = insert_outbox(
                decl,
                "delete",
                "OLD",
                &changes_object(decl, Some("OLD"), None)
            ),
        ),
    ]
}

/// The statements that drop the triggers of `table`.
pub(crate) fn remove(table: &str) -> Vec<String> {
    ["insert", "update", "delete"]
        .iter()
        .map(|op| format!("DROP TRIGGER IF EXISTS {}", trigger_name(table, op)))
        .collect()
}
