//! `/batches`: every batch with its progress and aggregates (kept by the store per batch, so
//! the list costs one query), filtered by status and id, and a form to compare a few of them.

use crate::page::{render, store_error};
use crate::query::{encode, PageQuery};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use zebench_core::Batch;

/// How many batches the page lists (newest first).
pub const MAX_BATCHES: u32 = 500;

pub struct BatchRow {
    pub id: String,
    pub href: String,
    pub running: bool,
    /// "3 of 10 planned" while running with a plan; empty otherwise.
    pub progress: String,
    pub created: String,
    pub completed: String,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub failed: String,
    pub has_failed: bool,
    pub cost: String,
}

/// One status choice of the filter.
pub struct StatusOpt {
    pub value: &'static str,
    pub label: &'static str,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "batches.html")]
pub struct BatchesPage {
    pub active: &'static str,
    pub title: String,
    /// The database has no batch at all.
    pub none: bool,
    pub statuses: Vec<StatusOpt>,
    pub q: String,
    pub filtered: bool,
    pub summary: String,
    pub rows: Vec<BatchRow>,
    pub live_url: String,
}

/// `plannedRuns` of a batch's metadata JSON, when it has a usable one.
pub fn planned_runs(metadata: Option<&str>) -> Option<i64> {
    let v: serde_json::Value = serde_json::from_str(metadata?).ok()?;
    let p = v.get("plannedRuns")?;
    p.as_i64()
        .or_else(|| {
            p.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0)
                .map(|f| f.round() as i64)
        })
        .or_else(|| p.as_str().and_then(|s| s.trim().parse().ok()))
        .filter(|n| *n > 0)
}

/// "3 of 10 planned" for a running batch with a plan.
pub fn progress(b: &Batch) -> String {
    match (b.completed_at, planned_runs(b.metadata.as_deref())) {
        (None, Some(p)) => format!(
            "{} of {} planned",
            fmt::thousands(b.total_runs),
            fmt::thousands(p)
        ),
        _ => String::new(),
    }
}

fn row(b: &Batch) -> BatchRow {
    BatchRow {
        href: format!("/batches/{}", encode(&b.batch_id)),
        id: b.batch_id.clone(),
        running: b.completed_at.is_none(),
        progress: progress(b),
        created: fmt::when(b.created_at),
        completed: b.completed_at.map(fmt::when).unwrap_or_default(),
        runs: fmt::thousands(b.total_runs),
        success: fmt::pct(
            (b.total_runs > 0).then(|| b.successful_runs as f64 / b.total_runs as f64),
        ),
        score: fmt::score10(b.avg_weighted_score),
        failed: fmt::thousands(b.failed_runs),
        has_failed: b.failed_runs > 0,
        cost: fmt::usd(Some(b.total_cost_usd)),
    }
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let all = match st.store.list_batches(MAX_BATCHES + 1).await {
        Ok(b) => b,
        Err(e) => return store_error(e),
    };
    let truncated = all.len() > MAX_BATCHES as usize;
    let all = &all[..all.len().min(MAX_BATCHES as usize)];
    let status = match q.status.trim() {
        s @ ("running" | "completed") => s,
        _ => "",
    };
    let needle = q.q.trim().to_lowercase();
    let shown: Vec<&Batch> = all
        .iter()
        .filter(|b| match status {
            "running" => b.completed_at.is_none(),
            "completed" => b.completed_at.is_some(),
            _ => true,
        })
        .filter(|b| needle.is_empty() || b.batch_id.to_lowercase().contains(&needle))
        .collect();
    let running = all.iter().filter(|b| b.completed_at.is_none()).count();
    let filtered = !status.is_empty() || !needle.is_empty();
    let summary = {
        let noun = |n: usize| if n == 1 { "batch" } else { "batches" };
        let total = format!(
            "{} {}, {} running",
            fmt::thousands(all.len() as i64),
            noun(all.len()),
            running
        );
        let mut s = if filtered {
            format!("{} shown of {total}", fmt::thousands(shown.len() as i64))
        } else {
            total
        };
        if truncated {
            s.push_str(&format!(" (the newest {MAX_BATCHES})"));
        }
        s
    };
    let here = PageQuery {
        status: status.to_string(),
        q: q.q.trim().to_string(),
        ..PageQuery::default()
    };
    let view = BatchesPage {
        active: "/batches",
        title: "Batches".into(),
        none: all.is_empty(),
        statuses: [
            ("", "any"),
            ("running", "running"),
            ("completed", "completed"),
        ]
        .into_iter()
        .map(|(value, label)| StatusOpt {
            value,
            label,
            selected: value == status,
        })
        .collect(),
        q: q.q.trim().to_string(),
        filtered,
        summary,
        rows: shown.into_iter().map(row).collect(),
        live_url: here.link("/batches", &[]),
    };
    render(&view)
}
