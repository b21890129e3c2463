//! `/batches/compare?ids=A&ids=B[&ids=C…]`: two to five batches side by side — a summary per
//! batch, a per-(suite, scenario, tier) table with each batch's mean weighted score and its
//! difference from the first batch, and a plain-words paired difference over the cells both
//! batches have. Fewer than two ids shows a form listing recent batches; more than five or an
//! unknown id says so (with the form, so the next step is one click away).

use super::shared::{key, mean_ci, score_pm, success_rate};
use crate::page::{render, store_error};
use crate::query::{encode, PageQuery};
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use zebench_store::{GridKey, GridRow};

/// The most batches one comparison shows.
pub const MAX_BATCHES: usize = 5;

/// A batch offered in the picking form.
pub struct Choice {
    pub id: String,
    pub checked: bool,
    pub created: String,
    pub runs: String,
    pub score: String,
}

/// One compared batch's summary column.
pub struct Summary {
    pub id: String,
    pub href: String,
    pub created: String,
    pub done: bool,
    pub runs: String,
    pub success: String,
    pub score: String,
    pub cost: String,
}

/// A table cell: text, extra CSS classes and a tooltip.
pub struct Cell {
    pub text: String,
    pub class: &'static str,
    pub title: String,
}

/// One (suite, scenario, tier) row of the comparison.
pub struct Row {
    pub suite: String,
    pub scenario: String,
    pub tier: String,
    pub href: String,
    pub cells: Vec<Cell>,
}

/// A batch against the first: the verdict in words and the numbers behind it.
pub struct Verdict {
    pub class: &'static str,
    pub head: String,
    pub text: String,
}

#[derive(Template)]
#[template(path = "compare.html")]
pub struct Compare {
    pub active: &'static str,
    pub title: String,
    /// A problem with the request (too few, too many, unknown ids), shown above the form.
    pub message: String,
    /// True when the comparison itself is shown (else the form).
    pub comparing: bool,
    pub choices: Vec<Choice>,
    pub live: String,
    pub summaries: Vec<Summary>,
    /// Column headings of the scenario table after suite/scenario and tier.
    pub heads: Vec<String>,
    pub rows: Vec<Row>,
    /// One verdict per batch after the first.
    pub verdicts: Vec<Verdict>,
}

fn form(q: &PageQuery, choices: Vec<Choice>, message: String) -> Compare {
    Compare {
        active: "/batches/compare",
        title: "Compare batches".into(),
        message,
        comparing: false,
        choices,
        live: with_ids(q, &q.ids),
        summaries: Vec::new(),
        heads: Vec::new(),
        rows: Vec::new(),
        verdicts: Vec::new(),
    }
}

/// This page's URL with the current filters and `ids`.
fn with_ids(q: &PageQuery, ids: &[String]) -> String {
    let base = q.link("/batches/compare", &[]);
    let ids: Vec<String> = ids.iter().map(|id| format!("ids={}", encode(id))).collect();
    if ids.is_empty() {
        base
    } else if base.contains('?') {
        format!("{base}&{}", ids.join("&"))
    } else {
        format!("{base}?{}", ids.join("&"))
    }
}

/// `+1.25` / `-0.50`.
fn signed(d: f64) -> String {
    let d = if d.abs() < 0.005 { 0.0 } else { d };
    format!("{d:+.2}")
}

/// The difference cell of `b` against `a`: coloured when the difference is larger than the two
/// 95% half-widths together, otherwise a muted "≈".
fn delta(a: Option<&GridRow>, b: Option<&GridRow>) -> Cell {
    let (Some((Some(ma), ha)), Some((Some(mb), hb))) = (a.map(mean_ci), b.map(mean_ci)) else {
        return Cell {
            text: "–".into(),
            class: "muted",
            title: "not scored in both batches".into(),
        };
    };
    let d = mb - ma;
    match (ha, hb) {
        (Some(ha), Some(hb)) if d.abs() > ha + hb => Cell {
            text: signed(d),
            class: if d > 0.0 { "ok" } else { "fail" },
            title: format!(
                "{} beyond the 95% intervals (± {ha:.2} and ± {hb:.2})",
                signed(d)
            ),
        },
        (Some(ha), Some(hb)) => Cell {
            text: format!("≈ {}", signed(d)),
            class: "muted",
            title: format!(
                "{} within the 95% intervals (± {ha:.2} and ± {hb:.2})",
                signed(d)
            ),
        },
        _ => Cell {
            text: format!("≈ {}", signed(d)),
            class: "muted",
            title: format!("{}; too few scored runs for an interval", signed(d)),
        },
    }
}

/// The most recent batches, oldest first, with the given ids ticked.
async fn choices(s: &zebench_store::Store, ids: &[String]) -> zebench_store::Result<Vec<Choice>> {
    let recent = s.list_batches(50).await?;
    Ok(recent
        .iter()
        .rev()
        .map(|b| Choice {
            checked: ids.contains(&b.batch_id),
            id: b.batch_id.clone(),
            created: fmt::when(b.created_at),
            runs: fmt::thousands(b.total_runs),
            score: fmt::score10(b.avg_weighted_score),
        })
        .collect())
}

pub async fn page(State(st): State<WebState>, RawQuery(raw): RawQuery) -> Response {
    let q = PageQuery::parse(raw.as_deref());
    let s = &st.store;
    let mut ids: Vec<String> = Vec::new();
    for id in &q.ids {
        if !ids.contains(id) {
            ids.push(id.clone());
        }
    }

    if ids.len() < 2 || ids.len() > MAX_BATCHES {
        let choices = match choices(s, &ids).await {
            Ok(c) => c,
            Err(e) => return store_error(e),
        };
        let (status, message) = match ids.len() {
            0 => (StatusCode::OK, String::new()),
            1 => (
                StatusCode::OK,
                format!(
                    "Pick at least two batches to compare (only “{}” was given).",
                    ids[0]
                ),
            ),
            n => (
                StatusCode::BAD_REQUEST,
                format!(
                    "Compare at most {MAX_BATCHES} batches at a time ({n} were given): pick fewer."
                ),
            ),
        };
        let mut res = render(&form(&q, choices, message));
        if res.status() == StatusCode::OK {
            *res.status_mut() = status;
        }
        return res;
    }

    // Every id must name a batch.
    let mut batches = Vec::new();
    let mut unknown = Vec::new();
    for id in &ids {
        match s.batch(id).await {
            Ok(Some(b)) => batches.push(b),
            Ok(None) => unknown.push(format!("“{id}”")),
            Err(e) => return store_error(e),
        }
    }
    if !unknown.is_empty() {
        let choices = match choices(s, &ids).await {
            Ok(c) => c,
            Err(e) => return store_error(e),
        };
        let message = format!(
            "No batch named {} in this database: pick batches from the list below.",
            unknown.join(", ")
        );
        let res = render(&form(&q, choices, message));
        return (StatusCode::NOT_FOUND, res).into_response();
    }

    // The compared batches are the ids; a `batch` filter in the URL would contradict them.
    let mut filter = q.filter();
    filter.batch_id = None;
    let totals = match s.grid(&filter, &ids, &[GridKey::Batch], 100).await {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };
    let cells = match s
        .grid(
            &filter,
            &ids,
            &[
                GridKey::Batch,
                GridKey::Suite,
                GridKey::Scenario,
                GridKey::Tier,
            ],
            100_000,
        )
        .await
    {
        Ok(v) => v,
        Err(e) => return store_error(e),
    };

    let summaries = batches
        .iter()
        .map(|b| {
            let t = totals
                .iter()
                .find(|r| r.keys[0].as_deref() == Some(b.batch_id.as_str()));
            Summary {
                href: format!("/batches/{}", encode(&b.batch_id)),
                id: b.batch_id.clone(),
                created: fmt::when(b.created_at),
                done: b.completed_at.is_some(),
                runs: fmt::thousands(t.map(|t| t.runs).unwrap_or(0)),
                success: t.map(success_rate).unwrap_or_else(|| "–".into()),
                score: t.map(score_pm).unwrap_or_else(|| "–".into()),
                cost: fmt::usd(t.filter(|t| t.cost_n > 0).map(|t| t.cost_usd)),
            }
        })
        .collect();

    // (suite, scenario, tier) → one grid row per batch (by position in `ids`).
    let mut table: BTreeMap<(String, String, String), Vec<Option<&GridRow>>> = BTreeMap::new();
    for r in &cells {
        let Some(pos) = ids
            .iter()
            .position(|id| r.keys[0].as_deref() == Some(id.as_str()))
        else {
            continue;
        };
        let slot = table
            .entry((key(r, 1), key(r, 2), key(r, 3)))
            .or_insert_with(|| vec![None; ids.len()]);
        slot[pos] = Some(r);
    }

    let mut heads = vec![format!("{} (first)", ids[0])];
    for id in &ids[1..] {
        heads.push(id.clone());
        heads.push(format!("Δ {id}"));
    }
    let rows = table
        .iter()
        .map(|((suite, scenario, tier), per)| {
            let mut cells = Vec::new();
            for (i, r) in per.iter().enumerate() {
                cells.push(Cell {
                    text: r
                        .map(|r| fmt::score10(r.avg_weighted_score))
                        .unwrap_or_else(|| "–".into()),
                    class: "",
                    title: r
                        .map(|r| {
                            format!(
                                "{} runs, {} successful, score {}",
                                r.runs,
                                success_rate(r),
                                score_pm(r)
                            )
                        })
                        .unwrap_or_else(|| "no runs".into()),
                });
                if i > 0 {
                    cells.push(delta(per[0], *r));
                }
            }
            Row {
                href: q.link(
                    "/runs",
                    &[
                        ("suite", suite),
                        ("scenario", scenario),
                        ("tier", tier),
                        ("batch", ""),
                    ],
                ),
                suite: suite.clone(),
                scenario: scenario.clone(),
                tier: tier.clone(),
                cells,
            }
        })
        .collect();

    // The verdicts use every run of each batch (infrastructure failures left out, agent failures
    // as 0) through the same statistics as `zebench compare` and /api/compare.
    let mut batch_runs = Vec::with_capacity(ids.len());
    for id in &ids {
        match st.store.get_batch(id).await {
            Ok(b) => batch_runs.push(b.map(|b| b.runs).unwrap_or_default()),
            Err(e) => return crate::page::store_error(e),
        }
    }
    let keep = |r: &zebench_core::Run| {
        let f = q.filter();
        f.suite.as_deref().is_none_or(|v| v == r.suite)
            && f.scenario.as_deref().is_none_or(|v| v == r.scenario)
            && f.tier.as_deref().is_none_or(|v| v == r.tier)
            && f.agent.as_deref().is_none_or(|v| v == r.agent)
            && f.model
                .as_deref()
                .is_none_or(|v| Some(v) == r.model.as_deref())
    };
    let runs: Vec<Vec<zebench_core::Run>> = batch_runs
        .into_iter()
        .map(|v| v.into_iter().filter(|r| keep(r)).collect())
        .collect();
    let verdicts = (1..ids.len())
        .map(|i| {
            let c = zebench_core::stats::compare_runs(
                &runs[0],
                &runs[i],
                &zebench_core::stats::PairedOptions::default(),
            );
            let class = match c.paired.verdict {
                zebench_core::stats::Verdict::Improvement => "ok",
                zebench_core::stats::Verdict::Regression => "fail",
                _ => "muted",
            };
            Verdict {
                class,
                head: format!("{} vs {}: {}", ids[i], ids[0], c.paired.verdict),
                text: c.summary,
            }
        })
        .collect();

    let view = Compare {
        active: "/batches/compare",
        title: format!("Compare {}", ids.join(" · ")),
        message: String::new(),
        comparing: true,
        choices: Vec::new(),
        live: with_ids(&q, &ids),
        summaries,
        heads,
        rows,
        verdicts,
    };
    render(&view)
}
