//! `GET /api/events`: Server-Sent Events for every stored run and changed batch.
//! A client that falls behind gets a `lagged` event telling it to refetch instead of a silent
//! gap; streams end at shutdown so the server can drain.

use crate::AppState;
use axum::extract::State;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures::stream::Stream;
use futures::StreamExt;
use std::convert::Infallible;
use std::time::Duration;
use tokio_stream::wrappers::errors::BroadcastStreamRecvError;
use tokio_stream::wrappers::BroadcastStream;

#[utoipa::path(get, path = "/api/events", tag = "events",
    responses((status = 200, content_type = "text/event-stream", body = String,
        description = "Events named run.created, runs.bulk, batch.updated, batch.completed and lagged; each data line is a JSON object with a type field")))]
pub(crate) async fn stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let rx = state.store.subscribe();
    let shutdown = state.shutdown.clone();
    let hello = futures::stream::once(std::future::ready(Ok(SseEvent::default()
        .event("ready")
        .data("{}"))));
    let events = BroadcastStream::new(rx).map(|item| {
        Ok(match item {
            Ok(event) => SseEvent::default()
                .event(event.name())
                .data(serde_json::to_string(&event).unwrap_or_default()),
            Err(BroadcastStreamRecvError::Lagged(n)) => SseEvent::default()
                .event("lagged")
                .data(format!("{{\"missed\":{n}}}")),
        })
    });
    // Counted while the stream exists: it is dropped when the client goes or shutdown ends it.
    let subscriber = crate::metrics::SseSubscriber::start();
    let stream = hello
        .chain(events)
        .take_until(Box::pin(async move { shutdown.cancelled().await }))
        .map(move |event| {
            let _counted = &subscriber;
            event
        });
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}
