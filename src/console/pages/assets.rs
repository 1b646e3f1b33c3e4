//! The console's own scripts, compiled into the binary (no Node toolchain, nothing fetched
//! from elsewhere: the Content-Security-Policy allows `'self'` only).

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

/// `GET /assets/overview.js`: the Overview page's live updates.
pub async fn overview_js() -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../assets/overview.js"),
    )
}
