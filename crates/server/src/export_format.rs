//! The export formats of runs with their evaluations and telemetry, shared by `GET /api/export`
//! and `zebench export`: JSON Lines (one `RunDetail` object per line) and CSV (one row per run,
//! evaluations as a JSON column). Each function encodes one page, so callers can stream.

use zebench_core::RunDetail;

/// One `{"run":…,"evaluations":[…],"telemetry":…}` object per line, each ending in `\n`.
pub fn jsonl(items: &[RunDetail]) -> Vec<u8> {
    let mut out = Vec::with_capacity(items.len() * 1024);
    for d in items {
        if serde_json::to_writer(&mut out, d).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// The CSV columns, in order.
pub const CSV_COLUMNS: [&str; 23] = [
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
    "submittedBy",
];

/// The CSV header line.
pub fn csv_header() -> Vec<u8> {
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

/// One CSV row per run (no header), text cells guarded against formula injection.
pub fn csv_rows(items: &[RunDetail]) -> Vec<u8> {
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
            text_cell(r.submitted_by.as_deref().unwrap_or("")),
        ];
        let _ = w.write_record(&record);
    }
    w.into_inner().unwrap_or_default()
}
