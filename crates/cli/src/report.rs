//! What `run` and `batch` print when they finish: plain tables (comfy-table), scores with their
//! intervals, where results went, and what to do next.

use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};
use zebench_harness::batch::{BatchReport, SummaryRow};
use zebench_harness::runner::RunOutput;
use zebench_harness::sink::{ResultSink, Stored};

fn stored_line(stored: &Result<Stored, String>, sink: &dyn ResultSink) -> String {
    match stored {
        Ok(Stored::Created) => format!("stored in {}", sink.describe()),
        Ok(Stored::Duplicate) => format!("already stored in {}", sink.describe()),
        Ok(Stored::Queued(why)) => {
            format!("queued in the outbox ({why}); `zebench sync` delivers it")
        }
        Err(e) => format!("NOT STORED: {e}"),
    }
}

pub fn print_run(out: &RunOutput, stored: &Result<Stored, String>, sink: &dyn ResultSink) {
    let r = &out.result;
    out!(
        "run {}  {}/{} {} {}{}",
        r.run_id,
        r.suite,
        r.scenario,
        r.tier,
        r.agent,
        r.model
            .as_deref()
            .map(|m| format!(" (model {m})"))
            .unwrap_or_default()
    );
    match out.error_type {
        Some(e) => {
            let msg = r
                .metadata
                .as_ref()
                .and_then(|m| m.get("error"))
                .and_then(|v| v.as_str())
                .unwrap_or("");
            out!("status   failed ({}): {msg}", e.as_str());
        }
        None => out!(
            "status   {}  weighted score {:.2}/10  {}",
            r.status,
            r.weighted_score.unwrap_or(0.0),
            if r.is_successful {
                "successful"
            } else {
                "not successful"
            }
        ),
    }
    if !r.evaluations.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_FULL_CONDENSED)
            .set_header(["evaluator", "score", "metrics"]);
        for e in &r.evaluations {
            let metrics = e
                .details
                .as_deref()
                .and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok())
                .and_then(|d| d.get("metrics").cloned())
                .and_then(|m| m.as_array().cloned())
                .map(|ms| {
                    ms.iter()
                        .map(|m| {
                            format!(
                                "{}={:.2}",
                                m["key"].as_str().unwrap_or("?"),
                                m["score"].as_f64().unwrap_or(0.0)
                            )
                        })
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            t.add_row(vec![
                Cell::new(&e.evaluator_name),
                Cell::new(format!("{:.2}", e.score)).set_alignment(CellAlignment::Right),
                Cell::new(metrics),
            ]);
        }
        out!("{t}");
    }
    if let Some(errs) = r.metadata.as_ref().and_then(|m| m.get("evaluatorErrors")) {
        out!("evaluator errors: {errs}");
    }
    if let Some(t) = &r.telemetry {
        out!(
            "effort   {} tool calls, {} ms{}{}",
            t.tool_calls.unwrap_or(0),
            t.duration_ms.unwrap_or(0),
            t.tokens_in
                .map(|i| format!(", {i} tokens in / {} out", t.tokens_out.unwrap_or(0)))
                .unwrap_or_default(),
            t.cost_usd.map(|c| format!(", ${c:.4}")).unwrap_or_default()
        );
    }
    if let Some(p) = &out.kept_workspace {
        out!("workspace kept at {}", p.display());
    }
    out!("{}", stored_line(stored, sink));
}

fn fmt_opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "–".into())
}

pub fn summary_table(rows: &[SummaryRow]) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_header([
        "agent",
        "tier",
        "runs",
        "infra",
        "success",
        "score (0–10)",
        "cost USD",
    ]);
    for r in rows {
        let score = match (r.mean_weighted_score, r.ci95) {
            (Some(m), Some(h)) => format!("{m:.2} ± {h:.2}"),
            (Some(m), None) => format!("{m:.2}"),
            _ => "–".into(),
        };
        t.add_row(vec![
            Cell::new(&r.agent),
            Cell::new(&r.tier),
            Cell::new(r.runs).set_alignment(CellAlignment::Right),
            Cell::new(r.infra_failures).set_alignment(CellAlignment::Right),
            Cell::new(
                r.success_rate
                    .map(|s| {
                        format!(
                            "{:.0}% ({}/{})",
                            s * 100.0,
                            r.successful,
                            r.runs - r.infra_failures
                        )
                    })
                    .unwrap_or_else(|| "–".into()),
            )
            .set_alignment(CellAlignment::Right),
            Cell::new(score).set_alignment(CellAlignment::Right),
            Cell::new(fmt_opt(Some(r.cost_usd), 4)).set_alignment(CellAlignment::Right),
        ]);
    }
    t
}

pub fn print_batch(
    batch_id: &str,
    report: &BatchReport,
    rows: &[SummaryRow],
    sink: &dyn ResultSink,
) {
    out!("batch {batch_id}");
    if !rows.is_empty() {
        out!("{}", summary_table(rows));
        out!("score: mean weighted score ± half-width of its 95% interval (Student t, when repeated); infra failures are not scored");
    }
    let queued = report
        .outcomes
        .iter()
        .filter(|o| matches!(o.stored, Ok(Stored::Queued(_))))
        .count();
    let lost: Vec<_> = report
        .outcomes
        .iter()
        .filter(|o| o.stored.is_err())
        .collect();
    out!(
        "{} run(s) finished, stored in {}{}",
        report.outcomes.len(),
        sink.describe(),
        if queued > 0 {
            format!("; {queued} queued in the outbox: run `zebench sync` when the server is back")
        } else {
            String::new()
        }
    );
    for o in lost {
        out!(
            "NOT STORED {}: {}",
            o.run.run_id,
            o.stored.as_ref().err().map(String::as_str).unwrap_or("")
        );
    }
    if report.skipped_existing > 0 {
        out!(
            "{} run(s) skipped: already stored (--resume)",
            report.skipped_existing
        );
    }
    if report.not_started > 0 {
        out!(
            "{} run(s) not started{}; continue with --resume {batch_id}",
            report.not_started,
            if report.budget_reached {
                format!(" (--max-cost reached: ${:.4} spent)", report.spent_usd)
            } else {
                String::new()
            }
        );
    }
}
