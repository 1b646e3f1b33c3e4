//! The console's error answers: a status and a JSON body `{"error": "…"}` with a message a
//! person can act on, for pages and API alike.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sync_core::SyncError;
use utoipa::ToSchema;

/// An error answer of the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleError {
    /// The HTTP status.
    pub status: StatusCode,
    /// What went wrong.
    pub message: String,
}

/// The JSON body of an error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: String,
}

impl ConsoleError {
    /// An error with `status` and `message`.
    pub fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ConsoleError {
            status,
            message: message.into(),
        }
    }

    /// 401: no token, or one the console does not know.
    pub fn unauthorized() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "a console token is required: send `Authorization: Bearer <token>` or sign in at /login",
        )
    }

    /// 403: the read-only role asked for an action.
    pub fn read_only() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "this action needs the admin token; the read-only token can only look",
        )
    }

    /// 403: a signed-in browser sent an action without its CSRF token.
    pub fn csrf() -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "missing or wrong CSRF token: reload the page and try again",
        )
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, message)
    }
}

impl From<SyncError> for ConsoleError {
    fn from(error: SyncError) -> Self {
        // Storage errors keep their text out of the answer: it may name tables or hosts.
        let (status, message) = match &error {
            SyncError::Storage(_) | SyncError::Migration(_) => {
                tracing::error!(%error, "console: database error");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "the database failed to answer; see the server log".to_owned(),
                )
            }
            _ if error.to_string().contains("does not exist") => {
                (StatusCode::NOT_FOUND, error.to_string())
            }
            _ => (StatusCode::BAD_REQUEST, error.to_string()),
        };
        ConsoleError { status, message }
    }
}

impl IntoResponse for ConsoleError {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response()
    }
}

/// What console handlers return.
pub type ConsoleResult<T> = Result<T, ConsoleError>;
