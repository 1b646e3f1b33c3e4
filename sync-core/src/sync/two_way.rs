//! Two-way synchronization: settling conflicts with a three-way merge.
//!
//! Each binding remembers what was last synced (the *base*, in the local field space). When
//! both sides changed since, every field is compared three ways: a field changed on one side
//! only takes that side's value; a field changed on both sides to the same value is agreed;
//! a field changed on both sides to different values is a conflict, settled by the
//! [`ConflictPolicy`] or, when the policy cannot settle it, left as a [`FieldConflict`] for a
//! human (a checkpoint).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::values::Values;

/// Which side of a sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Side {
    /// The local application.
    Local,
    /// The backend.
    Remote,
}

/// How to settle a field changed differently on both sides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConflictPolicy {
    /// The backend's value wins.
    RemoteWins,
    /// The local value wins.
    LocalWins,
    /// The side modified last wins (ties go to the remote side).
    NewestWins,
    /// Fields changed on one side are merged; fields changed on both sides are left for a
    /// human to settle (a checkpoint) and neither side is overwritten.
    #[default]
    FieldMerge,
}

impl ConflictPolicy {
    /// Every policy, in the order the documentation lists them.
    pub const ALL: [ConflictPolicy; 4] = [
        ConflictPolicy::RemoteWins,
        ConflictPolicy::LocalWins,
        ConflictPolicy::NewestWins,
        ConflictPolicy::FieldMerge,
    ];

    /// The stored and displayed name: `remote_wins`, `local_wins`, `newest_wins` or
    /// `field_merge` (the names of a backend's `conflict_policy` setting).
    pub fn as_str(self) -> &'static str {
        match self {
            ConflictPolicy::RemoteWins => "remote_wins",
            ConflictPolicy::LocalWins => "local_wins",
            ConflictPolicy::NewestWins => "newest_wins",
            ConflictPolicy::FieldMerge => "field_merge",
        }
    }
}

impl fmt::Display for ConflictPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Reads a policy by its name; Oro's sync priorities `remote` and `local` are read as
/// [`ConflictPolicy::RemoteWins`] and [`ConflictPolicy::LocalWins`].
///
/// ```
/// use sync_core::sync::ConflictPolicy;
/// assert_eq!("local".parse::<ConflictPolicy>().unwrap(), ConflictPolicy::LocalWins);
/// assert_eq!("field_merge".parse::<ConflictPolicy>().unwrap(), ConflictPolicy::FieldMerge);
/// assert!("first".parse::<ConflictPolicy>().is_err());
/// ```
impl std::str::FromStr for ConflictPolicy {
    type Err = UnknownConflictPolicy;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "remote" => Ok(ConflictPolicy::RemoteWins),
            "local" => Ok(ConflictPolicy::LocalWins),
            other => ConflictPolicy::ALL
                .into_iter()
                .find(|policy| policy.as_str() == other)
                .ok_or_else(|| UnknownConflictPolicy(other.to_owned())),
        }
    }
}

/// A conflict policy name that is none of [`ConflictPolicy::ALL`] (nor `remote` / `local`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a conflict policy (remote_wins, local_wins, newest_wins, field_merge; or remote, local)"
)]
pub struct UnknownConflictPolicy(pub String);

/// A field both sides changed to different values, which the policy did not settle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldConflict {
    /// The local field name.
    pub field: String,
    /// Its value at the last sync.
    pub base: Option<Value>,
    /// Its local value now.
    pub local: Option<Value>,
    /// Its remote value now.
    pub remote: Option<Value>,
}

/// The outcome of a three-way merge.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Merge {
    /// Values to write to the local record (the remote side won or alone changed them).
    pub to_local: Values,
    /// Values to send to the backend (the local side won or alone changed them).
    pub to_remote: Values,
    /// The new base: what both sides agree on after applying `to_local`. Fields in
    /// `to_remote` and unsettled fields keep their old base until the export (or a human)
    /// settles them.
    pub base: Values,
    /// Conflicts the policy did not settle.
    pub conflicts: Vec<FieldConflict>,
}

/// Merges `local` and `remote` against `base` field by field, over the fields of `remote`
/// (the fields the mapping covers).
///
/// `newest` tells which side was modified last, for [`ConflictPolicy::NewestWins`].
pub fn merge_three_way(
    base: &Values,
    local: &Values,
    remote: &Values,
    policy: ConflictPolicy,
    newest: Side,
) -> Merge {
    let mut merge = Merge {
        base: base.clone(),
        ..Merge::default()
    };
    for (field, remote_value) in remote {
        let base_value = base.get(field);
        let local_value = local.get(field);
        let local_changed = base_value != local_value;
        let remote_changed = base_value != Some(remote_value);
        let winner = match (local_changed, remote_changed) {
            (false, false) => None,
            (false, true) => Some(Side::Remote),
            (true, false) => Some(Side::Local),
            (true, true) if local_value == Some(remote_value) => {
                merge.base.insert(field.clone(), remote_value.clone());
                None
            }
            (true, true) => match policy {
                ConflictPolicy::RemoteWins => Some(Side::Remote),
                ConflictPolicy::LocalWins => Some(Side::Local),
                ConflictPolicy::NewestWins => Some(newest),
                ConflictPolicy::FieldMerge => {
                    merge.conflicts.push(FieldConflict {
                        field: field.clone(),
                        base: base_value.cloned(),
                        local: local_value.cloned(),
                        remote: Some(remote_value.clone()),
                    });
                    None
                }
            },
        };
        match winner {
            Some(Side::Remote) => {
                merge.to_local.insert(field.clone(), remote_value.clone());
                merge.base.insert(field.clone(), remote_value.clone());
            }
            Some(Side::Local) => {
                // The base moves only once the export has sent the value: until then the
                // field still differs from the base, so the export does not take it for
                // an echo.
                let value = local_value.cloned().unwrap_or(Value::Null);
                merge.to_remote.insert(field.clone(), value);
            }
            None => {}
        }
    }
    merge
}

/// The key under which a binding's synced state lists the fields left in conflict. It
/// cannot clash with a field: field names never start with `$`.
pub const OPEN_CONFLICTS: &str = "$conflicts";

/// Records the unsettled conflicts of a merge in a synced state (replacing earlier ones: a
/// conflict settled since, by either side, is no longer listed).
pub fn record_open_conflicts(base: &mut Values, conflicts: &[FieldConflict]) {
    if conflicts.is_empty() {
        base.remove(OPEN_CONFLICTS);
    } else {
        let fields = conflicts
            .iter()
            .map(|c| Value::from(c.field.clone()))
            .collect();
        base.insert(OPEN_CONFLICTS.to_owned(), Value::Array(fields));
    }
}

/// The fields a synced state lists as in conflict.
pub fn open_conflicts(base: &Values) -> Vec<String> {
    match base.get(OPEN_CONFLICTS) {
        Some(Value::Array(fields)) => fields
            .iter()
            .filter_map(|f| f.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(v: Value) -> Values {
        match v {
            Value::Object(map) => map,
            _ => Values::new(),
        }
    }

    fn scenario(policy: ConflictPolicy, newest: Side) -> Merge {
        let base = values(json!({"name": "Ada", "city": "Paris", "phone": "1", "zip": "75001"}));
        // Local changed city and phone; remote changed name and phone differently, zip the same.
        let local = values(json!({"name": "Ada", "city": "Lyon", "phone": "2", "zip": "75002"}));
        let remote =
            values(json!({"name": "Ada L.", "city": "Paris", "phone": "3", "zip": "75002"}));
        merge_three_way(&base, &local, &remote, policy, newest)
    }

    #[test]
    fn one_sided_changes_merge_under_every_policy() {
        for policy in [
            ConflictPolicy::RemoteWins,
            ConflictPolicy::LocalWins,
            ConflictPolicy::NewestWins,
            ConflictPolicy::FieldMerge,
        ] {
            let m = scenario(policy, Side::Local);
            assert_eq!(m.to_local.get("name"), Some(&json!("Ada L.")), "{policy:?}");
            assert_eq!(m.to_remote.get("city"), Some(&json!("Lyon")), "{policy:?}");
            assert_eq!(m.base.get("zip"), Some(&json!("75002")), "{policy:?}");
            assert!(!m.to_local.contains_key("zip") && !m.to_remote.contains_key("zip"));
        }
    }

    #[test]
    fn conflicts_follow_the_policy() {
        let m = scenario(ConflictPolicy::RemoteWins, Side::Local);
        assert_eq!(m.to_local.get("phone"), Some(&json!("3")));
        assert!(m.conflicts.is_empty());

        let m = scenario(ConflictPolicy::LocalWins, Side::Remote);
        assert_eq!(m.to_remote.get("phone"), Some(&json!("2")));

        let m = scenario(ConflictPolicy::NewestWins, Side::Remote);
        assert_eq!(m.to_local.get("phone"), Some(&json!("3")));
        let m = scenario(ConflictPolicy::NewestWins, Side::Local);
        assert_eq!(m.to_remote.get("phone"), Some(&json!("2")));

        let m = scenario(ConflictPolicy::FieldMerge, Side::Local);
        assert_eq!(m.conflicts.len(), 1);
        assert_eq!(m.conflicts[0].field, "phone");
        assert!(!m.to_local.contains_key("phone") && !m.to_remote.contains_key("phone"));
        assert_eq!(
            m.base.get("phone"),
            Some(&json!("1")),
            "unsettled keeps its base"
        );
    }
}
