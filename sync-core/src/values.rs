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
    serde_path_to_error::deserialize(value).map_err(|e| invalid_record(record, e))
}

/// [`from_values`] without taking the value, for a caller that may need it again (a page
/// import that falls back to importing its records one by one).
pub fn from_value_ref<T: serde::de::DeserializeOwned>(
    record: &str,
    value: &Value,
) -> crate::SyncResult<T> {
    serde_path_to_error::deserialize(value).map_err(|e| invalid_record(record, e))
}

fn invalid_record(
    record: &str,
    error: serde_path_to_error::Error<serde_json::Error>,
) -> crate::SyncError {
    // The path names the field that failed (`addresses[0].city`); a missing field is
    // reported at its parent, and named in serde's message.
    let path = error.path().to_string();
    let message = error.inner().to_string();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next());
    let field = match (path.as_str(), missing) {
        (".", Some(name)) => name.to_owned(),
        (".", None) => "<record>".to_owned(),
        (parent, Some(name)) => format!("{parent}.{name}"),
        (path, None) => path.to_owned(),
    };
    crate::SyncError::invalid_data(record, field, message)
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
        #[serde(default)]
        addresses: Vec<Address>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[allow(dead_code)]
    struct Address {
        city: String,
    }

    #[test]
    fn a_wrong_type_deep_in_the_record_is_named_by_its_path() {
        let value = serde_json::json!({"email": "a@b.c", "addresses": [{"city": 7}]});
        let err = from_values::<Customer>("customer 7", value).unwrap_err();
        match err {
            crate::SyncError::InvalidData { field, .. } => assert_eq!(field, "addresses[0].city"),
            other => panic!("unexpected {other:?}"),
        }
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
