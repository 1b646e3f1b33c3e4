//! `GET /api/events`: the overview as server-sent events, so that the Overview page follows
//! the queue without reloading.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::Stream;

use super::overview::overview;
use crate::console::ConsoleState;

/// How often the overview is sent.
pub const EVENT_INTERVAL: Duration = Duration::from_secs(2);

/// A stream of `overview` events (the JSON of `GET /api/overview`), one now and one every
/// [`EVENT_INTERVAL`]. A failed read sends an `error` event with a message and the stream
/// goes on: the database may be back at the next tick.
#[utoipa::path(get, path = "/api/events", responses(
    (status = 200, content_type = "text/event-stream", description = "`overview` events"),
    (status = 401, body = crate::console::error::ErrorBody)
))]
pub async fn events(
    State(state): State<ConsoleState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let stream = futures::stream::unfold((state, true), |(state, first)| async move {
        if !first {
            tokio::time::sleep(EVENT_INTERVAL).await;
        }
        let event = match overview(&state.queue).await {
            Ok(data) => Event::default()
                .event("overview")
                .json_data(&data)
                .unwrap_or_else(|_| Event::default().event("error").data("unreadable overview")),
            Err(error) => Event::default().event("error").data(error.message),
        };
        Some((Ok(event), (state, false)))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}
