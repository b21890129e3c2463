//! `GET /api/export`: every matching run with its evaluations and telemetry, as CSV or JSON
//! Lines, streamed page by page so memory stays flat whatever the size of the export.

use super::run_filter;
use crate::error::{ApiError, ApiResult};
use crate::export_format::{csv_header, csv_rows, jsonl};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use zebench_store::{Cursor, RunFilter};

const PAGE: u32 = 500;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Jsonl,
}

#[utoipa::path(get, path = "/api/export", tag = "runs",
    params(
        ("format" = Option<String>, Query, description = "jsonl (the default; ndjson is a synonym) or csv"),
        ("max" = Option<u64>, Query, description = "stop after this many runs"),
        ("suite" = Option<String>, Query), ("scenario" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("agent" = Option<String>, Query),
        ("model" = Option<String>, Query), ("status" = Option<String>, Query),
        ("batchId" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
    ),
    responses(
        (status = 200, content((String = "application/x-ndjson"), (String = "text/csv")),
            description = "jsonl: one {run, evaluations, telemetry} object per line, newest first; csv: one row per run with evaluations as a JSON column"),
        (status = 400, body = crate::openapi::ErrorBody)))]
pub(crate) async fn get(State(state): State<AppState>, q: QueryPairs) -> ApiResult<Response> {
    let format = match q.get("format").unwrap_or("jsonl") {
        "csv" => Format::Csv,
        "jsonl" | "ndjson" => Format::Jsonl,
        other => {
            return Err(ApiError::param(
                "format",
                format!("{other:?} is not csv or jsonl"),
            ))
        }
    };
    let max = match q.get("max") {
        None => u64::MAX,
        Some(raw) => raw
            .parse::<u64>()
            .map_err(|_| ApiError::param("max", "expected a whole number"))?,
    };
    let filter = run_filter(&q)?;
    let stream = export_stream(state, filter, format, max);
    let (content_type, file) = match format {
        Format::Csv => ("text/csv; charset=utf-8", "zebench-runs.csv"),
        Format::Jsonl => ("application/x-ndjson", "zebench-runs.jsonl"),
    };
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{file}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

fn export_stream(
    state: AppState,
    filter: RunFilter,
    format: Format,
    max: u64,
) -> impl futures::Stream<Item = Result<Vec<u8>, std::io::Error>> {
    async_stream::try_stream! {
        if format == Format::Csv {
            yield csv_header();
        }
        let mut cursor: Option<Cursor> = None;
        let mut sent: u64 = 0;
        loop {
            let want = PAGE.min(u32::try_from(max - sent).unwrap_or(PAGE));
            if want == 0 {
                break;
            }
            let page = state
                .store
                .list_run_details(&filter, want, cursor)
                .await
                .map_err(std::io::Error::other)?;
            sent += page.items.len() as u64;
            let chunk = match format {
                Format::Jsonl => jsonl(&page.items),
                Format::Csv => csv_rows(&page.items),
            };
            yield chunk;
            match page.next {
                Some(next) if !state.shutdown.is_cancelled() => cursor = Some(next),
                _ => break,
            }
        }
    }
}
