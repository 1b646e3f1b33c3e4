//! Declaring, listing and removing captured tables: each change is one versioned,
//! all-or-nothing step (the declaration row and its triggers commit together).

use sqlx::{AnyConnection, AssertSqlSafe};

use super::declaration::{CaptureDeclaration, record_name};
use super::{postgres_triggers, sqlite_triggers};
use crate::error::{SyncError, SyncResult};
use crate::storage::{Dialect, Storage};

/// The version of the trigger DDL this build installs, stored with each declaration so a
/// later build can tell which installed triggers it must replace.
pub const TRIGGER_VERSION: i64 = 1;

/// A stored declaration with the version of its installed triggers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstalledCapture {
    /// What was declared.
    pub declaration: CaptureDeclaration,
    /// The [`TRIGGER_VERSION`] its triggers were installed with.
    pub trigger_version: i64,
}

/// The captured tables of one database.
///
/// ```no_run
/// # use sync_core::capture::{CaptureDeclaration, Captures};
/// # async fn demo(storage: sync_core::storage::Storage) -> sync_core::SyncResult<()> {
/// let captures = Captures::new(&storage);
/// captures
///     .add(&CaptureDeclaration::new("customer", "customers", "id").columns(["email", "lastname"]))
///     .await?;
/// // From now on, `UPDATE customers SET lastname = …` from any writer is captured.
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Captures {
    storage: Storage,
}

impl Captures {
    /// The captures of `storage`'s database.
    pub fn new(storage: &Storage) -> Self {
        Captures {
            storage: storage.clone(),
        }
    }

    /// Declares a table as a model's source and installs its triggers, replacing an earlier
    /// declaration of the same model (the same declaration again changes nothing). A table,
    /// key column or column that does not exist, or a key column that does not hold integers
    /// (local ids), is refused with its name; nothing is installed then.
    pub async fn add(&self, decl: &CaptureDeclaration) -> SyncResult<()> {
        decl.validate()?;
        let mut tx = self.storage.begin().await?;
        check_against_table(&mut tx, self.storage.dialect(), decl).await?;
        if let Some(previous) = find(&mut tx, &decl.model).await? {
            // The same declaration with this build's triggers: nothing to install (a
            // program may declare at every start without rewriting its schema).
            if previous.declaration == *decl && previous.trigger_version == TRIGGER_VERSION {
                tx.rollback().await?;
                return Ok(());
            }
            drop_triggers(&mut tx, self.storage.dialect(), &previous.declaration.table).await?;
        }
        let other: Option<(String,)> = sqlx::query_as(
            "SELECT model FROM synckit_capture_declarations WHERE table_name = $1 AND model <> $2",
        )
        .bind(&decl.table)
        .bind(&decl.model)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some((other,)) = other {
            return Err(SyncError::invalid_data(
                record_name(&decl.model),
                "table",
                format!(
                    "table `{}` is already the source of model `{other}`",
                    decl.table
                ),
            ));
        }
        let statements = match self.storage.dialect() {
            Dialect::Sqlite => sqlite_triggers::install(decl),
            Dialect::Postgres => postgres_triggers::install(decl),
        };
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement))
                .execute(&mut *tx)
                .await?;
        }
        let columns = serde_json::to_string(&decl.columns)
            .map_err(|e| SyncError::Failed(format!("cannot encode the columns: {e}")))?;
        let now = self.storage.dialect().now_micros_sql();
        let upsert = format!(
            "INSERT INTO synckit_capture_declarations \
             (model, table_name, key_column, columns, trigger_version, installed_at) \
             VALUES ($1, $2, $3, $4, $5, {now}) ON CONFLICT (model) DO UPDATE SET \
             table_name = excluded.table_name, key_column = excluded.key_column, \
             columns = excluded.columns, trigger_version = excluded.trigger_version, \
             installed_at = excluded.installed_at"
        );
        sqlx::query(AssertSqlSafe(upsert))
            .bind(&decl.model)
            .bind(&decl.table)
            .bind(&decl.key_column)
            .bind(columns)
            .bind(TRIGGER_VERSION)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The declarations, by model name.
    pub async fn list(&self) -> SyncResult<Vec<InstalledCapture>> {
        let mut conn = self.storage.pool().acquire().await?;
        let rows: Vec<(String, String, String, String, i64)> = sqlx::query_as(
            "SELECT model, table_name, key_column, columns, trigger_version \
             FROM synckit_capture_declarations ORDER BY model",
        )
        .fetch_all(&mut *conn)
        .await?;
        rows.into_iter().map(decode).collect()
    }

    /// Removes a model's declaration and drops its triggers; changes already in the outbox
    /// are still dispatched. Returns whether the model was declared.
    pub async fn remove(&self, model: &str) -> SyncResult<bool> {
        let mut tx = self.storage.begin().await?;
        let Some(installed) = find(&mut tx, model).await? else {
            return Ok(false);
        };
        drop_triggers(
            &mut tx,
            self.storage.dialect(),
            &installed.declaration.table,
        )
        .await?;
        sqlx::query("DELETE FROM synckit_capture_declarations WHERE model = $1")
            .bind(model)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }
}

async fn find(conn: &mut AnyConnection, model: &str) -> SyncResult<Option<InstalledCapture>> {
    let row: Option<(String, String, String, String, i64)> = sqlx::query_as(
        "SELECT model, table_name, key_column, columns, trigger_version \
         FROM synckit_capture_declarations WHERE model = $1",
    )
    .bind(model)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(decode).transpose()
}

fn decode(row: (String, String, String, String, i64)) -> SyncResult<InstalledCapture> {
    let (model, table, key_column, columns, trigger_version) = row;
    let columns: Vec<String> = serde_json::from_str(&columns).map_err(|e| {
        SyncError::invalid_data(
            record_name(&model),
            "columns",
            format!("stored columns are not a JSON list of names: {e}"),
        )
    })?;
    Ok(InstalledCapture {
        declaration: CaptureDeclaration {
            model,
            table,
            key_column,
            columns,
        },
        trigger_version,
    })
}

async fn drop_triggers(conn: &mut AnyConnection, dialect: Dialect, table: &str) -> SyncResult<()> {
    let statements = match dialect {
        Dialect::Sqlite => sqlite_triggers::remove(table),
        Dialect::Postgres => postgres_triggers::remove(table),
    };
    for statement in statements {
        sqlx::query(AssertSqlSafe(statement))
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

/// Refuses a declaration whose table, key column or columns do not exist, or whose key
/// column is not of an integer type (the key is the record's local id).
async fn check_against_table(
    conn: &mut AnyConnection,
    dialect: Dialect,
    decl: &CaptureDeclaration,
) -> SyncResult<()> {
    let sql = match dialect {
        Dialect::Sqlite => "SELECT name, type FROM pragma_table_info($1)",
        Dialect::Postgres => {
            "SELECT column_name::text, data_type::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1"
        }
    };
    let existing: Vec<(String, String)> = sqlx::query_as(sql)
        .bind(&decl.table)
        .fetch_all(&mut *conn)
        .await?;
    if existing.is_empty() {
        return Err(SyncError::invalid_data(
            record_name(&decl.model),
            "table",
            format!("table `{}` does not exist", decl.table),
        ));
    }
    let Some((_, key_type)) = existing.iter().find(|(c, _)| *c == decl.key_column) else {
        return Err(SyncError::invalid_data(
            record_name(&decl.model),
            "key column",
            format!(
                "table `{}` has no key column `{}`",
                decl.table, decl.key_column
            ),
        ));
    };
    // SQLite's type affinity rule: a declared type containing INT holds integers.
    if !key_type.to_ascii_uppercase().contains("INT") {
        return Err(SyncError::invalid_data(
            record_name(&decl.model),
            "key column",
            format!(
                "key column `{}` of table `{}` is of type `{key_type}`, not an integer type \
                 (the key is the record's local id)",
                decl.key_column, decl.table
            ),
        ));
    }
    for column in &decl.columns {
        if !existing.iter().any(|(c, _)| c == column) {
            return Err(SyncError::invalid_data(
                record_name(&decl.model),
                "columns",
                format!("table `{}` has no column `{column}`", decl.table),
            ));
        }
    }
    Ok(())
}
