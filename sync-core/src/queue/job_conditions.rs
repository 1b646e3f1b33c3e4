//! The `WHERE` clause of a job listing, built from an operator's filters.
//!
//! Every value the operator typed is bound (as text, in order from `$1`), never written into
//! the SQL; the listings of the CLI ([`Queue::list_jobs`](super::Queue::list_jobs)) and of the
//! console ([`Queue::browse_jobs`](super::Queue::browse_jobs)) share these rules, so a state,
//! channel or function filter means the same in both.

use super::channels::normalize_channel;
use super::states::JobState;
use super::store::placeholders;

/// Conditions joined with `AND`, and the text values they bind.
#[derive(Debug, Default)]
pub(super) struct JobConditions {
    clauses: Vec<String>,
    binds: Vec<String>,
}

impl JobConditions {
    /// Jobs in one of `states` (no condition when empty).
    pub(super) fn states(&mut self, states: &[JobState]) {
        if states.is_empty() {
            return;
        }
        let list = placeholders(self.binds.len() + 1, states.len());
        self.clauses.push(format!("state IN ({list})"));
        self.binds
            .extend(states.iter().map(|s| s.as_str().to_owned()));
    }

    /// Jobs of `channel` or of one of its sub-channels (`root.a` matches `root.a.b`).
    pub(super) fn channel(&mut self, channel: Option<&str>) {
        let Some(channel) = channel else { return };
        let channel = normalize_channel(channel);
        let n = self.binds.len();
        self.clauses.push(format!(
            "(channel = ${} OR substr(channel, 1, {}) = ${})",
            n + 1,
            channel.len() + 1,
            n + 2
        ));
        let prefix = format!("{channel}.");
        self.binds.push(channel);
        self.binds.push(prefix);
    }

    /// Jobs whose `column` equals `value` (no condition without a value).
    pub(super) fn equals(&mut self, column: &'static str, value: Option<&str>) {
        let Some(value) = value else { return };
        self.clauses
            .push(format!("{column} = ${}", self.binds.len() + 1));
        self.binds.push(value.to_owned());
    }

    /// A condition that binds one value, written by `clause` from its placeholder number.
    pub(super) fn with_value(&mut self, value: String, clause: impl FnOnce(usize) -> String) {
        self.clauses.push(clause(self.binds.len() + 1));
        self.binds.push(value);
    }

    /// A condition with no operator value in it (e.g. a keyset bound the program made).
    pub(super) fn inline(&mut self, clause: String) {
        self.clauses.push(clause);
    }

    /// ` WHERE …` (empty without conditions) and the values to bind in order.
    pub(super) fn into_sql(self) -> (String, Vec<String>) {
        let sql = if self.clauses.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", self.clauses.join(" AND "))
        };
        (sql, self.binds)
    }
}
