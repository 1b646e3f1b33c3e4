//! Folding the outbox rows of one record into the events listeners receive.

use crate::context::Origin;
use crate::local::EventKind;

/// One outbox row, decoded.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutboxRow {
    pub id: i64,
    pub operation: EventKind,
    /// The declared columns the row names (all on insert, the changed ones on update).
    pub fields: Vec<String>,
    pub origin: Origin,
}

/// An event to emit: what happened, which fields, who wrote it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MergedEvent {
    pub kind: EventKind,
    pub fields: Vec<String>,
    pub origin: Origin,
}

/// The events of one record's rows, in id (commit) order. Consecutive rows of one origin
/// merge: create + writes is one create, writes are one write with the union of their
/// fields, writes + delete is one delete, and create + … + delete is nothing (the record
/// never existed for the listeners). A delete followed by a create (a reused key) stays two
/// events, and so do rows of two origins (each backend must skip only its own).
pub(crate) fn merge(rows: &[OutboxRow]) -> Vec<MergedEvent> {
    let mut events: Vec<MergedEvent> = Vec::new();
    // Whether the last event may still absorb the next row.
    let mut open = false;
    for row in rows {
        let last = events.last_mut().filter(|e| open && e.origin == row.origin);
        match (last, row.operation) {
            (Some(last), EventKind::Write) if last.kind != EventKind::Unlink => {
                for field in &row.fields {
                    if !last.fields.contains(field) {
                        last.fields.push(field.clone());
                    }
                }
            }
            (Some(last), EventKind::Unlink) if last.kind == EventKind::Create => {
                events.pop();
                open = false;
            }
            (Some(last), EventKind::Unlink) if last.kind == EventKind::Write => {
                last.kind = EventKind::Unlink;
                last.fields.clear();
            }
            _ => {
                let fields = match row.operation {
                    EventKind::Unlink => Vec::new(),
                    _ => row.fields.clone(),
                };
                events.push(MergedEvent {
                    kind: row.operation,
                    fields,
                    origin: row.origin,
                });
                open = true;
            }
        }
    }
    events
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BackendId;

    fn row(id: i64, operation: EventKind, fields: &[&str], origin: Origin) -> OutboxRow {
        OutboxRow {
            id,
            operation,
            fields: fields.iter().map(|f| f.to_string()).collect(),
            origin,
        }
    }

    #[test]
    fn writes_merge_into_one_with_the_union_of_their_fields() {
        let local = Origin::Local;
        let merged = merge(&[
            row(1, EventKind::Write, &["email"], local),
            row(2, EventKind::Write, &["lastname", "email"], local),
        ]);
        assert_eq!(merged.len(), 1);
        assert_eq!(merged[0].kind, EventKind::Write);
        assert_eq!(merged[0].fields, ["email", "lastname"]);
    }

    #[test]
    fn create_then_writes_is_a_create_and_create_then_delete_is_nothing() {
        let local = Origin::Local;
        let created = merge(&[
            row(1, EventKind::Create, &["email"], local),
            row(2, EventKind::Write, &["lastname"], local),
        ]);
        assert_eq!(created.len(), 1);
        assert_eq!(created[0].kind, EventKind::Create);
        assert_eq!(created[0].fields, ["email", "lastname"]);
        let gone = merge(&[
            row(1, EventKind::Create, &["email"], local),
            row(2, EventKind::Unlink, &[], local),
        ]);
        assert!(gone.is_empty());
        let deleted = merge(&[
            row(1, EventKind::Write, &["email"], local),
            row(2, EventKind::Unlink, &[], local),
        ]);
        assert_eq!(deleted.len(), 1);
        assert_eq!(deleted[0].kind, EventKind::Unlink);
    }

    #[test]
    fn a_reused_key_and_two_origins_stay_apart() {
        let local = Origin::Local;
        let import = Origin::Backend(BackendId(3));
        let reused = merge(&[
            row(1, EventKind::Unlink, &[], local),
            row(2, EventKind::Create, &["email"], local),
        ]);
        assert_eq!(reused.len(), 2);
        let two = merge(&[
            row(1, EventKind::Write, &["email"], import),
            row(2, EventKind::Write, &["email"], local),
        ]);
        assert_eq!(two.len(), 2);
        assert_eq!(two[0].origin, import);
        assert_eq!(two[1].origin, local);
    }
}
