//! What a capture declaration says: which table is which local model's source.

use crate::error::{SyncError, SyncResult};

/// A table declared as the source of a local model: its row triggers write the changes of
/// `columns` to the outbox, keyed by `key_column`.
///
/// ```
/// use sync_core::capture::CaptureDeclaration;
///
/// let customers = CaptureDeclaration::new("customer", "customers", "id")
///     .columns(["email", "firstname", "lastname"]);
/// assert_eq!(customers.columns, ["email", "firstname", "lastname"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureDeclaration {
    /// The local model the table's rows are records of, e.g. `customer`.
    pub model: String,
    /// The table, e.g. `customers`.
    pub table: String,
    /// The column holding the record's local id (an integer).
    pub key_column: String,
    /// The columns whose changes matter; an update that changes none of them is not
    /// captured. Their names are the event's field names.
    pub columns: Vec<String>,
}

impl CaptureDeclaration {
    /// Declares `table` as the source of `model`, keyed by `key_column`, with no column yet.
    pub fn new(
        model: impl Into<String>,
        table: impl Into<String>,
        key_column: impl Into<String>,
    ) -> Self {
        CaptureDeclaration {
            model: model.into(),
            table: table.into(),
            key_column: key_column.into(),
            columns: Vec::new(),
        }
    }

    /// Sets the columns that matter.
    pub fn columns<I, S>(mut self, columns: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.columns = columns.into_iter().map(Into::into).collect();
        self
    }

    /// Checks the names before any of them is written into trigger DDL: identifiers are
    /// letters, digits and underscores (they are spliced into SQL, so nothing else may pass),
    /// the model name may also hold dots and dashes.
    pub fn validate(&self) -> SyncResult<()> {
        let model_ok = !self.model.is_empty()
            && self.model.len() <= 100
            && self
                .model
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !model_ok {
            return Err(SyncError::invalid_data(
                "a capture declaration",
                "model",
                format!(
                    "model `{}` must be letters, digits, `_`, `.` or `-`",
                    self.model
                ),
            ));
        }
        check_identifier(&self.model, "table", &self.table)?;
        check_identifier(&self.model, "key column", &self.key_column)?;
        if self.columns.is_empty() {
            return Err(SyncError::invalid_data(
                record_name(&self.model),
                "columns",
                "declare at least one column",
            ));
        }
        for (i, column) in self.columns.iter().enumerate() {
            check_identifier(&self.model, "column", column)?;
            if self.columns[..i].contains(column) {
                return Err(SyncError::invalid_data(
                    record_name(&self.model),
                    "columns",
                    format!("column `{column}` is declared twice"),
                ));
            }
        }
        Ok(())
    }
}

fn check_identifier(model: &str, what: &str, name: &str) -> SyncResult<()> {
    let mut chars = name.chars();
    let ok = name.len() <= 48
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if ok {
        Ok(())
    } else {
        Err(SyncError::invalid_data(
            record_name(model),
            what,
            format!(
                "{what} `{name}` is not a plain SQL identifier \
                 (letters, digits and `_`, at most 48 characters)"
            ),
        ))
    }
}

/// How errors name a declaration.
pub(crate) fn record_name(model: &str) -> String {
    format!("the capture declaration of model `{model}`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_could_inject_sql_are_refused() {
        let bad =
            CaptureDeclaration::new("customer", "customers; DROP TABLE x", "id").columns(["email"]);
        let error = bad.validate().unwrap_err().to_string();
        assert!(error.contains("table `customers; DROP TABLE x`"), "{error}");
        let bad = CaptureDeclaration::new("customer", "customers", "id").columns(["e\"mail"]);
        assert!(
            bad.validate()
                .unwrap_err()
                .to_string()
                .contains("column `e\"mail`")
        );
        let none = CaptureDeclaration::new("customer", "customers", "id");
        assert!(none.validate().is_err());
        let good = CaptureDeclaration::new("customer", "customers", "id").columns(["email"]);
        good.validate().unwrap();
    }
}
