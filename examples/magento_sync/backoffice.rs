//! The example's local application: a small shop back office in SQLite, exposed to Synckit
//! through one column-mapped repository per table.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use synckit::local::LocalRepository;
use synckit::registry::{ApplyOn, ComponentRegistry};
use synckit::storage::{Storage, to_micros};
use synckit::sync::LOCAL_REPOSITORY;
use synckit::values::Values;
use synckit::{LocalId, SyncError, SyncResult};

/// How a column is stored.
#[derive(Debug, Clone, Copy)]
enum Kind {
    Text,
    Real,
    Integer,
    /// A flag, stored as 0 or 1.
    Bool,
    /// Nested values (addresses, order lines), kept as JSON text.
    Json,
}

/// One back-office table: its local model name and its columns.
struct Table {
    model: &'static str,
    name: &'static str,
    columns: &'static [(&'static str, Kind)],
}

const TABLES: &[Table] = &[
    Table {
        model: "website",
        name: "websites",
        columns: &[("name", Kind::Text), ("code", Kind::Text)],
    },
    Table {
        model: "store",
        name: "stores",
        columns: &[("name", Kind::Text), ("website_id", Kind::Integer)],
    },
    Table {
        model: "storeview",
        name: "store_views",
        columns: &[
            ("name", Kind::Text),
            ("code", Kind::Text),
            ("store_id", Kind::Integer),
            ("active", Kind::Bool),
        ],
    },
    Table {
        model: "customer.group",
        name: "customer_groups",
        columns: &[("name", Kind::Text)],
    },
    Table {
        model: "customer",
        name: "customers",
        columns: &[
            ("email", Kind::Text),
            ("firstname", Kind::Text),
            ("lastname", Kind::Text),
            ("group_id", Kind::Integer),
            ("website_id", Kind::Integer),
            ("addresses", Kind::Json),
        ],
    },
    Table {
        model: "category",
        name: "categories",
        columns: &[
            ("name", Kind::Text),
            ("active", Kind::Bool),
            ("parent_id", Kind::Integer),
        ],
    },
    Table {
        model: "product",
        name: "products",
        columns: &[
            ("sku", Kind::Text),
            ("name", Kind::Text),
            ("list_price", Kind::Real),
            ("weight", Kind::Real),
            ("active", Kind::Bool),
            ("description", Kind::Text),
            ("qty", Kind::Real),
        ],
    },
    Table {
        model: "sale.order",
        name: "sale_orders",
        columns: &[
            ("name", Kind::Text),
            ("customer_id", Kind::Integer),
            ("email", Kind::Text),
            ("buyer", Kind::Text),
            ("date_order", Kind::Text),
            ("status", Kind::Text),
            ("status_comment", Kind::Text),
            ("payment_method", Kind::Text),
            ("amount_total", Kind::Real),
            ("lines", Kind::Json),
        ],
    },
    Table {
        model: "account.invoice",
        name: "invoices",
        columns: &[
            ("order_id", Kind::Integer),
            ("capture", Kind::Bool),
            ("notify", Kind::Bool),
        ],
    },
    Table {
        model: "stock.picking",
        name: "deliveries",
        columns: &[
            ("order_id", Kind::Integer),
            ("tracking_number", Kind::Text),
            ("carrier_code", Kind::Text),
            ("carrier_title", Kind::Text),
        ],
    },
];

/// Creates the back-office tables and registers a repository for each model.
pub async fn install(storage: &Storage, registry: &mut ComponentRegistry) -> SyncResult<()> {
    for table in TABLES {
        let columns: Vec<String> = table
            .columns
            .iter()
            .map(|(name, kind)| {
                let sql = match kind {
                    Kind::Text | Kind::Json => "TEXT",
                    Kind::Real => "REAL",
                    Kind::Integer | Kind::Bool => "BIGINT",
                };
                format!("{name} {sql}")
            })
            .collect();
        let ddl = format!(
            "CREATE TABLE IF NOT EXISTS {} (id {}, {}, updated_at BIGINT NOT NULL)",
            table.name,
            match storage.dialect() {
                synckit::storage::Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
                synckit::storage::Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
            },
            columns.join(", ")
        );
        sqlx::query(AssertSqlSafe(ddl))
            .execute(storage.pool())
            .await?;
        // The natural keys an import binds existing records by, and that find_by reads.
        for key in ["email", "sku"] {
            if table.columns.iter().any(|(name, _)| *name == key) {
                let index = format!(
                    "CREATE INDEX IF NOT EXISTS {0}_{key} ON {0} ({key})",
                    table.name
                );
                sqlx::query(AssertSqlSafe(index))
                    .execute(storage.pool())
                    .await?;
            }
        }
        registry.register::<dyn LocalRepository>(
            ApplyOn::any().model(table.model),
            LOCAL_REPOSITORY,
            Arc::new(TableRepository { table }),
        );
    }
    Ok(())
}

/// The repository of one table.
struct TableRepository {
    table: &'static Table,
}

impl TableRepository {
    fn kind(&self, field: &str) -> Option<Kind> {
        self.table
            .columns
            .iter()
            .find(|(name, _)| *name == field)
            .map(|(_, kind)| *kind)
    }

    fn record(&self, id: LocalId) -> String {
        format!("{} {id}", self.table.model)
    }
}

/// Binds one value that is not NULL; values of the wrong type are an error naming the record
/// and the field. NULLs are not bound but written as the SQL literal (see [`placeholder`]).
fn bind_value<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    kind: Kind,
    value: &Value,
    record: &str,
    field: &str,
) -> SyncResult<sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>> {
    let wrong = |what: &str| {
        SyncError::invalid_data(record, field, format!("expected {what}, got {value}"))
    };
    Ok(match (kind, value) {
        (_, Value::Null) => return Err(wrong("a value (NULL is written, not bound)")),
        (Kind::Text, Value::String(s)) => query.bind(s.clone()),
        (Kind::Text, other) => query.bind(other.to_string()),
        (Kind::Real, v) => query.bind(v.as_f64().ok_or_else(|| wrong("a number"))?),
        (Kind::Integer | Kind::Bool, Value::Bool(b)) => query.bind(i64::from(*b)),
        (Kind::Bool, v) => query.bind(i64::from(
            v.as_i64().ok_or_else(|| wrong("a boolean"))? != 0,
        )),
        (Kind::Integer, v) => query.bind(v.as_i64().ok_or_else(|| wrong("an integer"))?),
        (Kind::Json, v) => query.bind(v.to_string()),
    })
}

/// The SQL for one column value: `NULL` for a null, else the next parameter `$n` (counted in
/// `next`).
///
/// A NULL is never bound. PostgreSQL keeps the parameter types a connection first prepared a
/// statement with, and sqlx's `Any` driver hands a NULL `f64` over as a 4-byte `real`: a
/// product without a weight, imported first on a connection, made every later weight on it
/// fail with `incorrect binary data format in bind parameter 4`. With the literal, a
/// parameter's type is the same for every call of the same statement text.
fn placeholder(value: &Value, next: &mut usize) -> String {
    if value.is_null() {
        "NULL".to_owned()
    } else {
        *next += 1;
        format!("${next}")
    }
}

#[async_trait]
impl LocalRepository for TableRepository {
    fn model(&self) -> &str {
        self.table.model
    }

    async fn get(&self, conn: &mut AnyConnection, id: LocalId) -> SyncResult<Option<Values>> {
        let names: Vec<&str> = self.table.columns.iter().map(|(n, _)| *n).collect();
        let sql = format!(
            "SELECT {}, updated_at FROM {} WHERE id = $1",
            names.join(", "),
            self.table.name
        );
        let Some(row) = sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(conn)
            .await?
        else {
            return Ok(None);
        };
        let mut values = Values::new();
        for (i, (name, kind)) in self.table.columns.iter().enumerate() {
            let value = match kind {
                Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
                Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::from),
                Kind::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                Kind::Bool => row
                    .try_get::<Option<i64>, _>(i)?
                    .map(|b| Value::from(b != 0)),
                Kind::Json => row
                    .try_get::<Option<String>, _>(i)?
                    .map(|text| {
                        serde_json::from_str(&text).map_err(|e| {
                            SyncError::invalid_data(self.record(id), *name, e.to_string())
                        })
                    })
                    .transpose()?,
            };
            values.insert((*name).to_owned(), value.unwrap_or(Value::Null));
        }
        let updated: i64 = row.try_get(self.table.columns.len())?;
        let updated = synckit::storage::from_micros(updated);
        values.insert("updated_at".into(), Value::from(updated.to_rfc3339()));
        Ok(Some(values))
    }

    async fn create(&self, conn: &mut AnyConnection, values: &Values) -> SyncResult<LocalId> {
        let record = format!("new {}", self.table.model);
        let fields: Vec<(&str, Kind, &Value)> = values
            .iter()
            .filter_map(|(k, v)| self.kind(k).map(|kind| (k.as_str(), kind, v)))
            .collect();
        let names: Vec<&str> = fields.iter().map(|(n, _, _)| *n).collect();
        let mut bound = 0;
        let mut params: Vec<String> = fields
            .iter()
            .map(|(_, _, value)| placeholder(value, &mut bound))
            .collect();
        params.push(format!("${}", bound + 1));
        let sql = format!(
            "INSERT INTO {} ({}{}updated_at) VALUES ({}) RETURNING id",
            self.table.name,
            names.join(", "),
            if names.is_empty() { "" } else { ", " },
            params.join(", ")
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (name, kind, value) in fields.iter().filter(|(_, _, v)| !v.is_null()) {
            query = bind_value(query, *kind, value, &record, name)?;
        }
        let row = query.bind(to_micros(Utc::now())).fetch_one(conn).await?;
        Ok(LocalId(row.try_get(0)?))
    }

    async fn write(
        &self,
        conn: &mut AnyConnection,
        id: LocalId,
        values: &Values,
    ) -> SyncResult<()> {
        let record = self.record(id);
        let fields: Vec<(&str, Kind, &Value)> = values
            .iter()
            .filter_map(|(k, v)| self.kind(k).map(|kind| (k.as_str(), kind, v)))
            .collect();
        let mut bound = 0;
        let mut sets: Vec<String> = fields
            .iter()
            .map(|(n, _, value)| format!("{n} = {}", placeholder(value, &mut bound)))
            .collect();
        sets.push(format!("updated_at = ${}", bound + 1));
        let sql = format!(
            "UPDATE {} SET {} WHERE id = ${}",
            self.table.name,
            sets.join(", "),
            bound + 2
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for (name, kind, value) in fields.iter().filter(|(_, _, v)| !v.is_null()) {
            query = bind_value(query, *kind, value, &record, name)?;
        }
        query
            .bind(to_micros(Utc::now()))
            .bind(id.0)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn delete(&self, conn: &mut AnyConnection, id: LocalId) -> SyncResult<()> {
        let sql = format!("DELETE FROM {} WHERE id = $1", self.table.name);
        sqlx::query(AssertSqlSafe(sql))
            .bind(id.0)
            .execute(conn)
            .await?;
        Ok(())
    }

    async fn modified_since(
        &self,
        conn: &mut AnyConnection,
        since: DateTime<Utc>,
        after: Option<LocalId>,
        limit: u32,
    ) -> SyncResult<Vec<LocalId>> {
        let sql = format!(
            "SELECT id FROM {} WHERE updated_at >= $1 AND id > $2 ORDER BY id LIMIT $3",
            self.table.name
        );
        let rows: Vec<(i64,)> = sqlx::query_as(AssertSqlSafe(sql))
            .bind(to_micros(since))
            .bind(after.map_or(0, |a| a.0))
            .bind(i64::from(limit))
            .fetch_all(conn)
            .await?;
        Ok(rows.into_iter().map(|(id,)| LocalId(id)).collect())
    }

    async fn find_by(
        &self,
        conn: &mut AnyConnection,
        field: &str,
        value: &Value,
    ) -> SyncResult<Option<LocalId>> {
        let Some(Kind::Text) = self.kind(field) else {
            return Ok(None);
        };
        let Some(text) = value.as_str() else {
            return Ok(None);
        };
        // MIN, not ORDER BY id LIMIT 1: with the latter SQLite walks the primary key instead
        // of the natural key's index, a full scan per imported record.
        let sql = format!("SELECT MIN(id) FROM {} WHERE {field} = $1", self.table.name);
        let (id,): (Option<i64>,) = sqlx::query_as(AssertSqlSafe(sql))
            .bind(text.to_owned())
            .fetch_one(conn)
            .await?;
        Ok(id.map(LocalId))
    }

    async fn find_many_by(
        &self,
        conn: &mut AnyConnection,
        field: &str,
        values: &[Value],
    ) -> SyncResult<Vec<Option<LocalId>>> {
        let Some(Kind::Text) = self.kind(field) else {
            return Ok(vec![None; values.len()]);
        };
        let texts: Vec<&str> = values.iter().filter_map(Value::as_str).collect();
        let mut found = std::collections::HashMap::new();
        for chunk in texts.chunks(500) {
            let placeholders: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!(
                "SELECT {field}, MIN(id) FROM {} WHERE {field} IN ({}) GROUP BY {field}",
                self.table.name,
                placeholders.join(", ")
            );
            // Planned with its values each time: a kept generic plan for a long IN list can
            // scan instead of using the index.
            let mut query =
                sqlx::query_as::<_, (String, i64)>(AssertSqlSafe(sql)).persistent(false);
            for text in chunk {
                query = query.bind(text.to_string());
            }
            found.extend(query.fetch_all(&mut *conn).await?);
        }
        Ok(values
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .and_then(|t| found.get(t))
                    .map(|&id| LocalId(id))
            })
            .collect())
    }
}
