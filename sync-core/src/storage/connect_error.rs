//! Saying why a database cannot be opened: which file or server, and the cause, never the
//! password of the URL.

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

use super::connect::{Dialect, redact_url};
use crate::error::SyncError;

/// Where a URL points, as an operator names it: the SQLite file, or PostgreSQL's host and
/// port (and database).
pub(super) fn target(dialect: Dialect, url: &str) -> String {
    match dialect {
        Dialect::Sqlite => SqliteConnectOptions::from_str(url)
            .map(|o| o.get_filename().display().to_string())
            .unwrap_or_else(|_| redact_url(url)),
        Dialect::Postgres => match PgConnectOptions::from_str(url) {
            Ok(o) => match o.get_database() {
                Some(database) => {
                    format!("{}:{} (database {database})", o.get_host(), o.get_port())
                }
                None => format!("{}:{}", o.get_host(), o.get_port()),
            },
            Err(_) => redact_url(url),
        },
    }
}

/// The error of a first connection that failed: names the file or the server and the cause.
pub(super) fn connect_failed(dialect: Dialect, url: &str, error: &sqlx::Error) -> SyncError {
    let target = target(dialect, url);
    let cause = cause(error);
    SyncError::Failed(match dialect {
        Dialect::Sqlite => {
            let hint = SqliteConnectOptions::from_str(url)
                .ok()
                .and_then(|o| missing_directory(o.get_filename()));
            match hint {
                Some(dir) => format!(
                    "cannot open the SQLite database {target}: {cause} (the directory {dir} does not exist)"
                ),
                None => format!("cannot open the SQLite database {target}: {cause}"),
            }
        }
        Dialect::Postgres => format!("cannot connect to PostgreSQL at {target}: {cause}"),
    })
}

/// The error of a first connection that did not answer in time.
pub(super) fn connect_timed_out(dialect: Dialect, url: &str, timeout: Duration) -> SyncError {
    let target = target(dialect, url);
    SyncError::Failed(match dialect {
        Dialect::Sqlite => {
            format!("cannot open the SQLite database {target}: no answer within {timeout:?}")
        }
        Dialect::Postgres => {
            format!("cannot connect to PostgreSQL at {target}: no answer within {timeout:?}")
        }
    })
}

/// The cause in words: the database's own message, or the network failure.
fn cause(error: &sqlx::Error) -> String {
    match error {
        sqlx::Error::Database(db) => db.message().to_owned(),
        sqlx::Error::Io(io) => match io.kind() {
            std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
            std::io::ErrorKind::ConnectionReset => "connection reset".to_owned(),
            std::io::ErrorKind::TimedOut => "connection timed out".to_owned(),
            _ => io.to_string(),
        },
        sqlx::Error::Tls(e) => format!("TLS: {e}"),
        other => other.to_string(),
    }
}

/// The parent directory of a database file, when it does not exist.
fn missing_directory(file: &Path) -> Option<String> {
    let dir = file.parent().filter(|d| !d.as_os_str().is_empty())?;
    (!dir.exists()).then(|| dir.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_name_the_file_or_the_server_without_a_password() {
        assert_eq!(
            target(Dialect::Sqlite, "sqlite://data/shop.db?mode=rwc"),
            "data/shop.db"
        );
        let pg = target(
            Dialect::Postgres,
            "postgres://bob:hunter2@db.local:5433/shop",
        );
        assert_eq!(pg, "db.local:5433 (database shop)");
        let refused = sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let message = connect_failed(
            Dialect::Postgres,
            "postgres://bob:hunter2@db.local:5433/shop",
            &refused,
        )
        .to_string();
        assert!(message.contains("db.local:5433"), "{message}");
        assert!(message.ends_with("connection refused"), "{message}");
        assert!(!message.contains("hunter2"), "{message}");
    }
}
