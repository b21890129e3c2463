//! `/runs`: every run, filtered, searched, sorted and paged through the URL. The filter form is
//! a plain GET form (works without JavaScript); the table is keyset-paged by the store, so the
//! millionth run is as quick to reach as the first.

use crate::page::{error, render, store_error};
use crate::query::{encode, PageQuery};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use zebench_core::{Dimension, RunStatus};
use zebench_store::{RunFilter, RunSort};

/// Runs per page unless `limit=` says otherwise.
pub const PAGE_SIZE: u32 = 50;
/// Largest `limit=` accepted.
const MAX_PAGE_SIZE: u32 = 500;
/// Most entries a filter's drop-down lists.
const MAX_OPTIONS: usize = 500;

/// The sort orders the page offers: (query value, label, store order).
const SORTS: &[(&str, &str, RunSort)] = &[
    ("newest", "Newest first", RunSort::Newest),
    ("oldest", "Oldest first", RunSort::Oldest),
    ("score-desc", "Highest score", RunSort::ScoreDesc),
    ("score-asc", "Lowest score", RunSort::ScoreAsc),
    ("cost-desc", "Most expensive", RunSort::CostDesc),
    ("duration-desc", "Slowest", RunSort::DurationDesc),
];

/// One `<option>`.
pub struct Opt {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

/// One `<select>` of the filter form.
pub struct Select {
    pub name: &'static str,
    pub label: &'static str,
    pub options: Vec<Opt>,
}

/// A run as a row of the runs table.
pub struct Row {
    pub href: String,
    pub run_id: String,
    pub started: String,
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub agent: String,
    pub model: String,
    pub status: String,
    pub successful: bool,
    pub score: String,
    pub cost: String,
    pub duration: String,
    pub tool_calls: String,
    pub batch_id: String,
    pub batch_href: String,
}

#[derive(Template)]
#[template(path = "runs.html")]
pub struct RunsPage {
    pub active: &'static str,
    pub title: String,
    pub selects: Vec<Select>,
    pub sorts: Vec<Opt>,
    pub since: String,
    pub until: String,
    pub q: String,
    /// `limit` to carry through the form when it is not the default.
    pub limit: String,
    /// "1,234 runs match…".
    pub count: String,
    /// Whether the database has no runs at all.
    pub no_runs: bool,
    pub filtered: bool,
    pub clear_href: String,
    pub rows: Vec<Row>,
    /// `data-live` URL of the table region; empty when the view should not refresh itself.
    pub live_url: String,
    pub first_href: String,
    pub next_href: String,
    /// Column header links that sort by that column.
    pub sort_score_href: String,
    pub sort_cost_href: String,
    pub sort_duration_href: String,
    pub sort_started_href: String,
}

/// The `limit=` of the raw query, clamped (PageQuery does not carry it).
fn limit_of(raw: Option<&str>) -> Option<u32> {
    raw?.split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == "limit")
        .and_then(|(_, v)| v.trim().parse::<u32>().ok())
        .map(|n| n.clamp(1, MAX_PAGE_SIZE))
}

/// The store's sort order for a `sort=` value (unknown values sort newest first).
pub fn sort_of(s: &str) -> (usize, RunSort) {
    SORTS
        .iter()
        .position(|(k, _, _)| *k == s.trim())
        .map(|i| (i, SORTS[i].2))
        .unwrap_or((0, RunSort::Newest))
}

fn options(values: Vec<String>, current: &str) -> Vec<Opt> {
    let current = current.trim();
    let mut opts = vec![Opt {
        value: String::new(),
        label: "any".into(),
        selected: current.is_empty(),
    }];
    let mut seen = false;
    for v in values.into_iter().take(MAX_OPTIONS) {
        let selected = v == current;
        seen |= selected;
        opts.push(Opt {
            label: v.clone(),
            value: v,
            selected,
        });
    }
    // Keep a value from the URL selectable even when the list does not have it.
    if !current.is_empty() && !seen {
        opts.push(Opt {
            value: current.to_string(),
            label: current.to_string(),
            selected: true,
        });
    }
    opts
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    // A submitted filter form sends every field, most of them empty: redirect to the clean URL
    // so shared links stay short (`/runs?agent=aider`, not `/runs?suite=&scenario=&…`).
    if let Some(clean) = clean_url(raw.as_deref()) {
        return axum::response::Redirect::to(&clean).into_response();
    }
    let q = PageQuery::parse(raw.as_deref());
    let limit = limit_of(raw.as_deref());
    let filter = q.filter();
    let (sort_i, sort) = sort_of(&q.sort);
    let search = Some(q.q.trim()).filter(|s| !s.is_empty());
    let cursor = Some(q.cursor.trim()).filter(|s| !s.is_empty());
    let s = &st.store;

    let page = match s
        .list_runs_sorted(&filter, search, sort, limit.unwrap_or(PAGE_SIZE), cursor)
        .await
    {
        Ok(p) => p,
        Err(e) if e.is_bad_request() => {
            return error(
                StatusCode::BAD_REQUEST,
                "This page link is no longer valid (its cursor cannot be read). Start again from the first page of the runs list.",
            )
        }
        Err(e) => return store_error(e),
    };
    // Filter choices over the whole database, from the maintained rollups (constant time).
    // The suite rows also give the database's total (every run has exactly one suite).
    let mut lists: Vec<Vec<String>> = Vec::new();
    let mut total_runs = 0;
    for dim in [
        Dimension::Suite,
        Dimension::Scenario,
        Dimension::Tier,
        Dimension::Agent,
        Dimension::Model,
    ] {
        match s.breakdown(dim, &RunFilter::default()).await {
            Ok(rows) => {
                if dim == Dimension::Suite {
                    total_runs = rows.iter().map(|r| r.runs).sum::<i64>();
                }
                lists.push(
                    rows.into_iter()
                        .map(|r| r.key)
                        .filter(|k| !k.is_empty())
                        .collect(),
                );
            }
            Err(e) => return store_error(e),
        }
    }
    let batches = match s.list_batches(MAX_OPTIONS as u32).await {
        Ok(b) => b.into_iter().map(|b| b.batch_id).collect::<Vec<_>>(),
        Err(e) => return store_error(e),
    };
    // How many runs the filters match (the text search is not counted: it only narrows the
    // listed pages). Unfiltered, the rollup total answers without reading the runs.
    let matching = if filter.is_empty() {
        total_runs
    } else {
        match s.grid(&filter, &[], &[], 1).await {
            Ok(mut v) => v.pop().map(|r| r.runs).unwrap_or(0),
            Err(e) => return store_error(e),
        }
    };
    let no_runs = total_runs == 0 && matching == 0 && page.items.is_empty();

    let mut lists = lists.into_iter();
    let mut next_list = || lists.next().unwrap_or_default();
    let selects = vec![
        Select {
            name: "suite",
            label: "Suite",
            options: options(next_list(), &q.suite),
        },
        Select {
            name: "scenario",
            label: "Scenario",
            options: options(next_list(), &q.scenario),
        },
        Select {
            name: "tier",
            label: "Tier",
            options: options(next_list(), &q.tier),
        },
        Select {
            name: "agent",
            label: "Agent",
            options: options(next_list(), &q.agent),
        },
        Select {
            name: "model",
            label: "Model",
            options: options(next_list(), &q.model),
        },
        Select {
            name: "status",
            label: "Status",
            options: options(
                RunStatus::ALL
                    .iter()
                    .map(|s| s.as_str().to_string())
                    .collect(),
                &q.status,
            ),
        },
        Select {
            name: "batch",
            label: "Batch",
            options: options(batches, &q.batch),
        },
    ];
    let sorts = SORTS
        .iter()
        .enumerate()
        .map(|(i, (v, l, _))| Opt {
            value: v.to_string(),
            label: l.to_string(),
            selected: i == sort_i,
        })
        .collect();

    let limit_s = limit
        .filter(|l| *l != PAGE_SIZE)
        .map(|l| l.to_string())
        .unwrap_or_default();
    let here = q.link("/runs", &[("limit", &limit_s)]);
    let count = {
        let n = fmt::thousands(matching);
        let mut c = if filter.is_empty() {
            format!("{n} {}", if matching == 1 { "run" } else { "runs" })
        } else {
            format!(
                "{n} {} these filters (of {} in total)",
                if matching == 1 {
                    "run matches"
                } else {
                    "runs match"
                },
                fmt::thousands(total_runs)
            )
        };
        if search.is_some() {
            c.push_str("; the text search narrows the list below further");
        }
        c
    };
    let sort_link = |v: &str| {
        q.link(
            "/runs",
            &[
                ("sort", if v == "newest" { "" } else { v }),
                ("limit", &limit_s),
            ],
        )
    };

    let view = RunsPage {
        active: "/runs",
        title: "Runs".into(),
        selects,
        sorts,
        since: q.since.trim().to_string(),
        until: q.until.trim().to_string(),
        q: q.q.trim().to_string(),
        limit: limit_s.clone(),
        count,
        no_runs,
        filtered: q.filtered(),
        clear_href: "/runs".into(),
        rows: page.items.iter().map(row).collect(),
        live_url: if cursor.is_none() && sort == RunSort::Newest {
            here.clone()
        } else {
            String::new()
        },
        first_href: if cursor.is_some() {
            here.clone()
        } else {
            String::new()
        },
        next_href: page
            .next
            .as_deref()
            .map(|c| q.link("/runs", &[("cursor", c), ("limit", &limit_s)]))
            .unwrap_or_default(),
        sort_score_href: sort_link(if sort == RunSort::ScoreDesc {
            "score-asc"
        } else {
            "score-desc"
        }),
        sort_cost_href: sort_link("cost-desc"),
        sort_duration_href: sort_link("duration-desc"),
        sort_started_href: sort_link(if sort == RunSort::Newest {
            "oldest"
        } else {
            "newest"
        }),
    };
    render(&view)
}

fn row(r: &zebench_store::RunRow) -> Row {
    let run = &r.run;
    let batch = run.batch_id.clone().unwrap_or_default();
    Row {
        href: format!("/runs/{}", encode(&run.run_id)),
        run_id: run.run_id.clone(),
        started: fmt::when(run.started_at),
        suite: run.suite.clone(),
        scenario: run.scenario.clone(),
        tier: run.tier.clone(),
        agent: run.agent.clone(),
        model: run.model.clone().unwrap_or_default(),
        status: run.status.to_string(),
        successful: run.is_successful,
        score: fmt::score10(run.weighted_score),
        cost: fmt::usd(r.cost_usd),
        duration: fmt::duration_ms(r.duration_ms),
        tool_calls: r
            .tool_calls
            .map(fmt::thousands)
            .unwrap_or_else(|| "–".into()),
        batch_href: if batch.is_empty() {
            String::new()
        } else {
            format!("/batches/{}", encode(&batch))
        },
        batch_id: batch,
    }
}

/// The same query without empty parameters, when it had any.
fn clean_url(raw: Option<&str>) -> Option<String> {
    let raw = raw?;
    let parts: Vec<&str> = raw.split('&').filter(|p| !p.is_empty()).collect();
    let kept: Vec<&str> = parts
        .iter()
        .copied()
        .filter(|p| p.split_once('=').is_none_or(|(_, v)| !v.is_empty()))
        .collect();
    if kept.len() == parts.len() && !raw.contains("&&") && !raw.starts_with('&') {
        return None;
    }
    Some(if kept.is_empty() {
        "/runs".to_string()
    } else {
        format!("/runs?{}", kept.join("&"))
    })
}
