//! Field values exchanged between mappers, repositories and adapters.

use serde_json::Value;

/// A record's fields by name, in insertion order (a JSON object).
///
/// Adapters and local repositories speak this; mappers are typed and convert at their edges.
pub type Values = serde_json::Map<String, Value>;

/// Deserializes a record into `T`, naming the record and the field on failure.
pub fn from_values<T: serde::de::DeserializeOwned>(
    record: &str,
    value: Value,
) -> crate::SyncResult<T> {
    serde_json::from_value(value).map_err(|e| {
        let message = e.to_string();
        // serde_json names the field in its message ("missing field `email`", "invalid type
        // ... at field `x`"); extract it so that the error's field is right.
        let field = message
            .split('`')
            .nth(1)
            .filter(|_| message.contains("field"))
            .unwrap_or("<record>")
            .to_owned();
        crate::SyncError::invalid_data(record, field, message)
    })
}

/// Serializes `value` into a [`Values`] object.
pub fn to_values<T: serde::Serialize>(record: &str, value: &T) -> crate::SyncResult<Values> {
    match serde_json::to_value(value) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(other) => Err(crate::SyncError::invalid_data(
            record,
            "<record>",
            format!("expected an object, got {other}"),
        )),
        Err(e) => Err(crate::SyncError::invalid_data(
            record,
            "<record>",
            e.to_string(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Customer {
        email: String,
    }

    #[test]
    fn a_missing_field_is_named() {
        let err = from_values::<Customer>("customer 7", serde_json::json!({})).unwrap_err();
        match err {
            crate::SyncError::InvalidData { record, field, .. } => {
                assert_eq!(record, "customer 7");
                assert_eq!(field, "email");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
