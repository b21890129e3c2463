//! `GET /api/export`: every matching run with its evaluations and telemetry, as CSV or JSON
//! Lines, streamed page by page so memory stays flat whatever the size of the export.

use super::run_filter;
use crate::error::{ApiError, ApiResult};
use crate::extract::QueryPairs;
use crate::AppState;
use axum::body::Body;
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use zebench_core::RunDetail;
use zebench_store::{Cursor, RunFilter};

const PAGE: u32 = 500;

#[derive(Clone, Copy, PartialEq)]
enum Format {
    Csv,
    Jsonl,
}

#[utoipa::path(get, path = "/api/export", tag = "runs",
    params(
        ("format" = String, Query, description = "csv or jsonl"),
        ("max" = Option<u64>, Query, description = "stop after this many runs"),
        ("suite" = Option<String>, Query), ("scenario" = Option<String>, Query),
        ("tier" = Option<String>, Query), ("agent" = Option<String>, Query),
        ("model" = Option<String>, Query), ("status" = Option<String>, Query),
        ("batchId" = Option<String>, Query), ("since" = Option<String>, Query), ("until" = Option<String>, Query),
    ),
    responses(
        (status = 200, content_type = "application/x-ndjson", body = String,
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

fn jsonl(items: &[RunDetail]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 1024);
    for d in items {
        if serde_json::to_writer(&mut out, d).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

const CSV_COLUMNS: [&str; 22] = [
    "runId",
    "batchId",
    "suite",
    "scenario",
    "tier",
    "agent",
    "model",
    "status",
    "startedAt",
    "completedAt",
    "totalScore",
    "weightedScore",
    "successMetric",
    "isSuccessful",
    "toolCalls",
    "tokensIn",
    "tokensOut",
    "costUsd",
    "durationMs",
    "workspaceDir",
    "evaluations",
    "metadata",
];

fn csv_header() -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(CSV_COLUMNS);
    w.into_inner().unwrap_or_default()
}

/// A text cell that a spreadsheet would run as a formula gets a leading apostrophe: exports
/// carry agent-written text and must be safe to open.
fn text_cell(s: &str) -> String {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_string()
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

fn csv_rows(items: &[RunDetail]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::with_capacity(items.len() * 512));
    for d in items {
        let r = &d.run;
        let t = d.telemetry.as_ref();
        let evaluations = serde_json::to_string(&d.evaluations).unwrap_or_default();
        let record = [
            text_cell(&r.run_id),
            text_cell(r.batch_id.as_deref().unwrap_or("")),
            text_cell(&r.suite),
            text_cell(&r.scenario),
            text_cell(&r.tier),
            text_cell(&r.agent),
            text_cell(r.model.as_deref().unwrap_or("")),
            r.status.to_string(),
            r.started_at.to_iso(),
            opt(r.completed_at.map(|c| c.to_iso())),
            opt(r.total_score),
            opt(r.weighted_score),
            opt(r.success_metric),
            r.is_successful.to_string(),
            opt(t.and_then(|t| t.tool_calls)),
            opt(t.and_then(|t| t.tokens_in)),
            opt(t.and_then(|t| t.tokens_out)),
            opt(t.and_then(|t| t.cost_usd)),
            opt(t.and_then(|t| t.duration_ms)),
            text_cell(t.and_then(|t| t.workspace_dir.as_deref()).unwrap_or("")),
            text_cell(&evaluations),
            text_cell(r.metadata.as_deref().unwrap_or("")),
        ];
        let _ = w.write_record(&record);
    }
    w.into_inner().unwrap_or_default()
}
