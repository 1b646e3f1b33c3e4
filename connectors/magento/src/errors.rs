//! Magento's error answers, mapped onto Synckit's error taxonomy.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use sync_core::SyncError;

/// What a request was about, to name the record in errors.
#[derive(Debug, Clone)]
pub struct RequestTarget {
    /// The model (`customer`, `product`…).
    pub model: String,
    /// The record's id or SKU, when the request is about one record.
    pub id: Option<String>,
}

impl RequestTarget {
    /// A request about one record.
    pub fn record(model: &str, id: impl ToString) -> Self {
        RequestTarget {
            model: model.to_owned(),
            id: Some(id.to_string()),
        }
    }

    /// A request about a model (a search, a create).
    pub fn model(model: &str) -> Self {
        RequestTarget {
            model: model.to_owned(),
            id: None,
        }
    }

    fn name(&self) -> String {
        match &self.id {
            Some(id) => format!("{} {id}", self.model),
            None => self.model.clone(),
        }
    }
}

/// Magento's message with its placeholders filled: `%name` from a `parameters` object,
/// `%1`, `%2`… from a `parameters` array.
pub fn render_message(body: &Value) -> String {
    let Some(message) = body.get("message").and_then(Value::as_str) else {
        return body.to_string();
    };
    let mut text = message.to_owned();
    match body.get("parameters") {
        Some(Value::Object(params)) => {
            // Longest names first, so `%field` does not eat the start of `%fieldName`.
            let mut names: Vec<&String> = params.keys().collect();
            names.sort_by_key(|n| std::cmp::Reverse(n.len()));
            for name in names {
                text = text.replace(&format!("%{name}"), &plain(&params[name]));
            }
        }
        Some(Value::Array(params)) => {
            for (i, value) in params.iter().enumerate().rev() {
                text = text.replace(&format!("%{}", i + 1), &plain(value));
            }
        }
        _ => {}
    }
    text
}

fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Maps an error answer to the taxonomy: 404 → the record is missing in the backend; 400 →
/// invalid data with Magento's message and the field it names; 429 and 5xx → network errors
/// (retryable, honouring `Retry-After`); 401/403 → failed (credentials must be fixed).
pub fn map_status(
    status: StatusCode,
    body: &str,
    retry_after: Option<Duration>,
    target: &RequestTarget,
) -> SyncError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let message = if parsed.is_null() {
        body.chars().take(300).collect()
    } else {
        render_message(&parsed)
    };
    match status.as_u16() {
        404 => match &target.id {
            Some(id) => SyncError::IdMissingInBackend {
                model: target.model.clone(),
                id: id.clone(),
            },
            None => SyncError::Failed(format!("{}: {message}", target.name())),
        },
        400 | 422 => {
            let field = parsed
                .pointer("/parameters/fieldName")
                .map(plain)
                .unwrap_or_else(|| "<payload>".to_owned());
            SyncError::invalid_data(target.name(), field, message)
        }
        429 | 500..=599 => SyncError::Network {
            message: format!("{}: HTTP {status}: {message}", target.name()),
            after: retry_after,
        },
        401 | 403 => SyncError::Failed(format!(
            "{}: Magento refused the credentials (HTTP {status}): {message}",
            target.name()
        )),
        _ => SyncError::Failed(format!("{}: HTTP {status}: {message}", target.name())),
    }
}

/// A transport error (no answer) as a retryable network error. The URL is left out: it
/// needs no secret today, but a proxy URL could carry one.
pub fn map_transport(error: reqwest::Error, target: &RequestTarget) -> SyncError {
    let kind = if error.is_timeout() {
        "timed out"
    } else if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the answer was cut or unreadable"
    } else {
        "the request failed"
    };
    SyncError::Network {
        message: format!("{}: {kind}: {}", target.name(), error.without_url()),
        after: None,
    }
}

/// The delay of a `Retry-After` header in seconds (HTTP dates are rare on APIs; ignored).
pub fn parse_retry_after(value: Option<&str>) -> Option<Duration> {
    value?.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn placeholders_are_filled() {
        let named = json!({"message": "No such entity with %fieldName = %fieldValue",
            "parameters": {"fieldName": "customerId", "fieldValue": 999}});
        assert_eq!(
            render_message(&named),
            "No such entity with customerId = 999"
        );
        let positional = json!({"message": "Invalid product data: %1", "parameters": ["bad set"]});
        assert_eq!(render_message(&positional), "Invalid product data: bad set");
    }

    #[test]
    fn statuses_map_to_the_taxonomy() {
        let one = RequestTarget::record("customer", 7);
        assert!(matches!(
            map_status(StatusCode::NOT_FOUND, "{\"message\":\"x\"}", None, &one),
            SyncError::IdMissingInBackend { .. }
        ));
        let err = map_status(
            StatusCode::BAD_REQUEST,
            r#"{"message":"\"%fieldName\" is required. Enter and try again.","parameters":{"fieldName":"email"}}"#,
            None,
            &one,
        );
        match err {
            SyncError::InvalidData {
                record,
                field,
                message,
            } => {
                assert_eq!((record.as_str(), field.as_str()), ("customer 7", "email"));
                assert!(message.contains("\"email\" is required"));
            }
            other => panic!("{other:?}"),
        }
        let err = map_status(
            StatusCode::TOO_MANY_REQUESTS,
            "{}",
            Some(Duration::from_secs(7)),
            &one,
        );
        assert!(err.is_retryable());
        assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
        assert!(map_status(StatusCode::SERVICE_UNAVAILABLE, "oops", None, &one).is_retryable());
        assert!(!map_status(StatusCode::UNAUTHORIZED, "{}", None, &one).is_retryable());
    }
}
