//! Marking a transaction's captured writes with their origin, and keeping a
//! [`LocalSession`](crate::local::LocalSession) write from producing a second event.
//!
//! The triggers fire for every writer; only Synckit's own writes need marking, and all of
//! them (the imports' included) go through a session, so the session brackets each
//! repository call with [`SessionWrite::begin`] and [`SessionWrite::end`]:
//!
//! - **PostgreSQL**: two transaction-local settings, `synckit.origin` (`backend:<id>` or
//!   `local`) and `synckit.session_model`, set with `set_config(…, true)` and read by the
//!   trigger. They vanish at commit or rollback by themselves, so nothing can leak into the
//!   next transaction on a pooled connection, and concurrent writers never see each other's.
//! - **SQLite**: a trigger cannot read per-connection state that every writer (the `sqlite3`
//!   shell too) has: a `TEMP` table or an application-defined function exists only on
//!   Synckit's connections, and a trigger reading it would fail everywhere else. But SQLite
//!   runs one write transaction at a time, so every outbox row with an id above the highest
//!   one seen when the repository call began was written by that call. `end` deletes those
//!   of the session's model (the session emits their event itself) and stamps the others
//!   (rows of other captured tables the repository wrote, e.g. addresses) with the origin —
//!   inside the same transaction, so a rollback takes the marks with the rows.

use sqlx::AnyConnection;

use crate::context::Origin;
use crate::error::SyncResult;
use crate::storage::Dialect;

/// The outbox's text for an origin: `local` or `backend:<id>`.
pub(crate) fn origin_text(origin: Origin) -> String {
    match origin {
        Origin::Local => "local".to_owned(),
        Origin::Backend(id) => format!("backend:{}", id.0),
    }
}

/// The origin an outbox row names, or `None` when the text is not one.
pub(crate) fn parse_origin(text: &str) -> Option<Origin> {
    if text == "local" {
        return Some(Origin::Local);
    }
    let id = text.strip_prefix("backend:")?.parse().ok()?;
    Some(Origin::Backend(crate::ids::BackendId(id)))
}

/// A session write in progress on one connection (see the module documentation).
#[derive(Debug)]
#[must_use = "end the session write, or its marks stay on the transaction"]
pub struct SessionWrite {
    dialect: Dialect,
    model: String,
    origin: Origin,
    /// SQLite: the highest outbox id before the write.
    watermark: i64,
}

impl SessionWrite {
    /// Marks `conn`'s transaction before a session writes `model` with `origin`.
    pub async fn begin(
        conn: &mut AnyConnection,
        dialect: Dialect,
        model: &str,
        origin: Origin,
    ) -> SyncResult<SessionWrite> {
        let mut watermark = 0;
        match dialect {
            Dialect::Postgres => {
                sqlx::query(
                    "SELECT set_config('synckit.origin', $1, true), \
                     set_config('synckit.session_model', $2, true)",
                )
                .bind(origin_text(origin))
                .bind(model)
                .execute(&mut *conn)
                .await?;
            }
            Dialect::Sqlite => {
                let (max,): (i64,) =
                    sqlx::query_as("SELECT COALESCE(MAX(id), 0) FROM synckit_capture_outbox")
                        .fetch_one(&mut *conn)
                        .await?;
                watermark = max;
            }
        }
        Ok(SessionWrite {
            dialect,
            model: model.to_owned(),
            origin,
            watermark,
        })
    }

    /// Removes the marks after the repository call (whether it succeeded or not).
    pub async fn end(self, conn: &mut AnyConnection) -> SyncResult<()> {
        match self.dialect {
            Dialect::Postgres => {
                sqlx::query(
                    "SELECT set_config('synckit.origin', '', true), \
                     set_config('synckit.session_model', '', true)",
                )
                .execute(&mut *conn)
                .await?;
            }
            Dialect::Sqlite => {
                sqlx::query("DELETE FROM synckit_capture_outbox WHERE id > $1 AND model = $2")
                    .bind(self.watermark)
                    .bind(&self.model)
                    .execute(&mut *conn)
                    .await?;
                if self.origin != Origin::Local {
                    sqlx::query("UPDATE synckit_capture_outbox SET origin = $1 WHERE id > $2")
                        .bind(origin_text(self.origin))
                        .bind(self.watermark)
                        .execute(&mut *conn)
                        .await?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::BackendId;

    #[test]
    fn origins_round_trip_and_garbage_is_refused() {
        for origin in [Origin::Local, Origin::Backend(BackendId(7))] {
            assert_eq!(parse_origin(&origin_text(origin)), Some(origin));
        }
        assert_eq!(parse_origin("backend:x"), None);
        assert_eq!(parse_origin(""), None);
    }
}
