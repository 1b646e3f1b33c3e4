//! Hides secret-looking values in job arguments before the console shows them.
//!
//! Backend secrets live in `Secrets`, which the console never reads; but a job function may
//! still carry a token or a password in its arguments. Any object key that looks like one
//! has its value replaced, at any depth.

use serde_json::Value;

/// What a hidden value is shown as.
pub const REDACTED: &str = "[redacted]";

const SECRET_WORDS: &[&str] = &[
    "password",
    "passwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "authorization",
    "credential",
    "private_key",
    "cookie",
];

/// Whether an object key names a secret (`access_token`, `Password`, `apiKey`, …).
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_WORDS.iter().any(|word| key.contains(word))
}

/// `value` with every secret-looking key's value replaced by [`REDACTED`].
pub fn redact(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(key, v)| {
                    let shown = if is_secret_key(key) {
                        Value::String(REDACTED.to_owned())
                    } else {
                        redact(v)
                    };
                    (key.clone(), shown)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(redact).collect()),
        other => other.clone(),
    }
}

/// A job's stored arguments (JSON text) as the console shows them. Text that is not JSON
/// is not shown at all: nothing tells which part of it could be a secret.
pub fn redact_args(args: &str) -> Value {
    match serde_json::from_str::<Value>(args) {
        Ok(value) => redact(&value),
        Err(_) => Value::String("[arguments not shown: not JSON]".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secret_looking_keys_are_hidden_at_any_depth() {
        let args = json!({
            "backend_id": 3,
            "api_token": "t0k",
            "nested": [{"Password": "pw", "email": "a@b.c"}],
        });
        assert_eq!(
            redact(&args),
            json!({
                "backend_id": 3,
                "api_token": REDACTED,
                "nested": [{"Password": REDACTED, "email": "a@b.c"}],
            })
        );
    }

    #[test]
    fn arguments_that_are_not_json_are_not_shown() {
        assert_eq!(
            redact_args("token=abc"),
            Value::String("[arguments not shown: not JSON]".into())
        );
    }
}
