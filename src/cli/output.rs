//! How the command line writes: its output to stdout (quietly ending when the reader went
//! away, as `synckit jobs list | head` does), `--json` documents for the list commands, and
//! whether stderr is a terminal (colours and progress bars only then).
//!
//! ```
//! use serde_json::json;
//!
//! // What `jobs list --json` and the other list commands print: one JSON array.
//! let text = synckit::cli::output::json_list(vec![json!({"id": 1}), json!({"id": 2})]);
//! assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap()[1]["id"], 2);
//! ```

use std::io::{self, IsTerminal, Write};

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The rows of a list command as one pretty-printed JSON array, ending with a newline.
pub fn json_list(rows: Vec<Value>) -> String {
    let mut text =
        serde_json::to_string_pretty(&Value::Array(rows)).unwrap_or_else(|_| "[]".to_owned());
    text.push('\n');
    text
}

/// An instant as RFC 3339 text (UTC), the form the JSON documents use.
pub fn time(at: DateTime<Utc>) -> Value {
    Value::String(at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true))
}

/// [`time`] of an optional instant (`null` when absent).
pub fn optional_time(at: Option<DateTime<Utc>>) -> Value {
    at.map_or(Value::Null, time)
}

/// Whether stderr (where logs and progress bars go) is a terminal.
pub fn stderr_is_terminal() -> bool {
    io::stderr().is_terminal()
}

/// Writes a command's output to stdout. A reader that closed the pipe early (`| head`) is
/// no error: the command did its work and nobody wants the rest.
///
/// # Errors
/// Any other write error (a full disk behind a redirection).
pub fn print_stdout(text: &str) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    let written = stdout
        .write_all(text.trim_end().as_bytes())
        .and_then(|()| stdout.write_all(b"\n"))
        .and_then(|()| stdout.flush());
    match written {
        Err(error) if error.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}
