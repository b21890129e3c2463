//! `/runs/{run_id}`: one run in full — identity and outcome, the weighted score and what each
//! evaluator and metric contributed to it, heuristic checks and the LLM judge's categories,
//! telemetry (the agent's and the judge's apart), steps, commands, dependency changes, questions,
//! and the run's artifacts: prompt, diff (per file, coloured), transcript and command logs.
//!
//! Everything comes from the store as written by the harness (docs/harness.md), but runs from
//! other clients may carry any `details` and `metadata`: every field is read leniently from
//! JSON, and text that is not the expected shape is shown raw. All of it is untrusted and is
//! only ever inserted through askama's escaping.

use crate::page::{not_found, render, store_error};
use crate::query::encode;
use crate::{fmt, WebState};
use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;
use serde_json::{Map, Value};
use zebench_core::{Evaluation, RunDetail, RunStatus};
use zebench_store::ArtifactInfo;

/// Lines of one file's diff rendered (the rest is a download away).
const DIFF_LINES_PER_FILE: usize = 2_000;
/// Lines of the whole diff rendered.
const DIFF_LINES_TOTAL: usize = 20_000;
/// Files of the diff listed.
const DIFF_MAX_FILES: usize = 500;
/// Characters of one diff line rendered (minified files make enormous lines).
const DIFF_LINE_CHARS: usize = 2_000;
/// Transcript entries rendered.
const TRANSCRIPT_ENTRIES: usize = 2_000;
/// Characters of one transcript entry's content rendered.
const TRANSCRIPT_CONTENT_CHARS: usize = 64 * 1024;
/// A transcript entry longer than this (characters or lines) starts collapsed.
const COLLAPSE_CHARS: usize = 1_200;
const COLLAPSE_LINES: usize = 12;
/// Characters of the prompt, the command logs, raw details and raw metadata rendered.
const TEXT_CHARS: usize = 512 * 1024;
const RAW_CHARS: usize = 64 * 1024;
/// Characters of an evaluator's details shown in the evaluators table.
const SUMMARY_CHARS: usize = 2_000;

/// One evaluator of the run.
pub struct EvalRow {
    pub name: String,
    pub score: String,
    pub max: String,
    pub bar: String,
    pub metrics: String,
    /// Free-text details, or a line drawn from JSON details (reasoning, checks passed).
    pub summary: String,
}

/// One metric and its share of the weighted score.
pub struct MetricRow {
    pub evaluator: String,
    pub key: String,
    pub score: String,
    pub weight: String,
    /// wₖ·sₖ / Σw × 10, or a note when the metric is dropped.
    pub share: String,
    /// wₖ / Σw × 10: the most the metric could have added.
    pub possible: String,
    pub bar: String,
    pub dropped: bool,
}

pub struct CheckRow {
    pub name: String,
    pub family: String,
    pub mark: &'static str,
    pub class: &'static str,
    pub negated: bool,
    pub weight: String,
    pub detail: String,
}

pub struct Category {
    pub name: String,
    pub weight: String,
    pub score: String,
    pub normalized: String,
    pub reasoning: String,
}

/// One LLM-judge evaluation.
pub struct Judge {
    pub evaluator: String,
    pub model: String,
    pub categories: Vec<Category>,
    pub overall: String,
}

/// A command run by an evaluator (with its score) or by the harness (validation, baseline…).
pub struct CmdRow {
    pub group: String,
    pub name: String,
    pub command: String,
    pub exit: String,
    pub baseline_exit: String,
    pub class: &'static str,
    pub timed_out: bool,
    pub duration: String,
    pub note: String,
    pub score: String,
}

pub struct StepRow {
    pub name: String,
    pub start: String,
    pub duration: String,
    pub mark: &'static str,
    pub class: &'static str,
    pub bar: String,
}

pub struct DepRow {
    pub file: String,
    pub section: String,
    pub name: String,
    pub before: String,
    pub after: String,
}

pub struct Qa {
    pub question: String,
    pub answer: String,
}

/// A label and a value (telemetry and run facts).
pub struct Fact {
    pub k: String,
    pub v: String,
}

/// An evaluator's details as text (pretty JSON, or raw).
pub struct RawDetails {
    pub name: String,
    pub text: String,
    pub json: bool,
}

pub struct DiffLine {
    pub class: &'static str,
    pub text: String,
}

pub struct DiffFile {
    pub path: String,
    pub adds: String,
    pub dels: String,
    pub open: bool,
    pub lines: Vec<DiffLine>,
    /// "… 1,234 more lines not shown" or empty.
    pub hidden: String,
}

pub struct Entry {
    pub at: String,
    pub kind: String,
    pub kind_class: &'static str,
    pub tool: String,
    pub duration: String,
    pub error: bool,
    pub content: String,
    pub collapsed: bool,
    pub summary: String,
    pub cut: bool,
}

pub struct ArtifactLink {
    pub name: String,
    pub href: String,
    pub size: String,
}

#[derive(Template)]
#[template(path = "run.html")]
pub struct RunPage {
    pub active: &'static str,
    pub title: String,
    pub run_id: String,
    pub heading: String,
    pub scenario_title: String,
    pub agent: String,
    pub model: String,
    /// Name of the API key that submitted the run (empty for local runs).
    pub submitted_by: String,
    pub batch_id: String,
    pub batch_href: String,
    pub status: String,
    pub live: bool,
    pub live_url: String,
    pub started: String,
    pub completed: String,
    pub duration: String,
    pub failed: bool,
    pub error_type: String,
    pub error: String,
    pub weighted: String,
    pub weighted_bar: String,
    pub scored: bool,
    pub successful: bool,
    pub total_score: String,
    pub success_metric: String,
    pub evaluators: Vec<EvalRow>,
    pub metrics: Vec<MetricRow>,
    pub metrics_sum: String,
    pub checks: Vec<CheckRow>,
    pub checks_summary: String,
    pub judges: Vec<Judge>,
    pub eval_commands: Vec<CmdRow>,
    pub evaluator_errors: Vec<String>,
    pub raw_details: Vec<RawDetails>,
    pub telemetry: Vec<Fact>,
    pub judge_usage: Vec<Fact>,
    pub facts: Vec<Fact>,
    pub steps: Vec<StepRow>,
    pub commands: Vec<CmdRow>,
    pub deps: Vec<DepRow>,
    pub questions: Vec<Qa>,
    pub meta_text: String,
    pub meta_json: bool,
    pub prompt: String,
    pub prompt_cut: bool,
    pub prompt_href: String,
    pub has_diff: bool,
    pub diff_files: Vec<DiffFile>,
    pub diff_note: String,
    pub diff_href: String,
    pub has_transcript: bool,
    pub entries: Vec<Entry>,
    pub transcript_raw: String,
    pub transcript_note: String,
    pub transcript_href: String,
    pub command_log: String,
    pub command_log_cut: bool,
    pub commands_href: String,
    pub artifacts: Vec<ArtifactLink>,
    pub artifact_errors: Vec<String>,
}

/// The texts of the artifacts the page shows (absent when not stored).
#[derive(Default)]
pub struct Texts {
    pub prompt: Option<String>,
    pub diff: Option<String>,
    pub transcript: Option<String>,
    pub commands: Option<String>,
}

pub async fn page(State(st): State<WebState>, Path(run_id): Path<String>) -> Response {
    let s = &st.store;
    let detail = match s.get_run(&run_id).await {
        Ok(Some(d)) => d,
        Ok(None) => return not_found(&format!("There is no run with id “{run_id}”.")),
        Err(e) => return store_error(e),
    };
    let infos = match s.artifacts(&run_id).await {
        Ok(v) => v.unwrap_or_default(),
        Err(e) => return store_error(e),
    };
    let mut texts = Texts::default();
    let mut errors = Vec::new();
    for name in ["prompt", "diff", "transcript", "commands"] {
        if !infos.iter().any(|a| a.name == name) {
            continue;
        }
        // A damaged artifact costs its own section, not the page.
        let text = match s.artifact(&run_id, name).await {
            Ok(Some(Some(b))) => String::from_utf8_lossy(&b.content).into_owned(),
            Ok(_) => continue,
            Err(e) => {
                errors.push(format!("{name}: {e}"));
                continue;
            }
        };
        match name {
            "prompt" => texts.prompt = Some(text),
            "diff" => texts.diff = Some(text),
            "transcript" => texts.transcript = Some(text),
            _ => texts.commands = Some(text),
        }
    }
    let mut view = build(&detail, &infos, texts);
    view.artifact_errors = errors;
    render(&view)
}

/// Builds the page's view from what the store returned (pure, so it is testable on its own).
pub fn build(d: &RunDetail, infos: &[ArtifactInfo], texts: Texts) -> RunPage {
    let r = &d.run;
    let id_enc = encode(&r.run_id);
    let meta_value: Option<Value> = r
        .metadata
        .as_deref()
        .and_then(|m| serde_json::from_str(m).ok());
    let empty = Map::new();
    let meta: &Map<String, Value> = meta_value
        .as_ref()
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let m = |k: &str| meta.get(k);

    // Header.
    let duration_ms = d
        .telemetry
        .as_ref()
        .and_then(|t| t.duration_ms)
        .or_else(|| {
            r.completed_at
                .map(|c| c.millis() - r.started_at.millis())
                .filter(|v| *v >= 0)
        });
    let batch = r.batch_id.clone().unwrap_or_default();
    let failed = r.status == RunStatus::Failed;
    let error_type = m("errorType").map(text).unwrap_or_default();
    let error = m("error").map(text).unwrap_or_default();

    // Evaluators, metrics and their shares of the weighted score.
    let mut evaluators = Vec::new();
    let mut metrics: Vec<(String, String, Option<f64>, f64)> = Vec::new();
    let mut checks = Vec::new();
    let mut judges = Vec::new();
    let mut eval_commands = Vec::new();
    let mut evaluator_errors: Vec<String> = Vec::new();
    let mut raw_details = Vec::new();
    for e in &d.evaluations {
        let parsed: Option<Value> = e
            .details
            .as_deref()
            .and_then(|s| serde_json::from_str(s).ok());
        let obj = parsed.as_ref().filter(|v| v.is_object());
        let mut n_metrics = 0;
        if let Some(list) = obj.and_then(|v| v.get("metrics")).and_then(Value::as_array) {
            for item in list {
                n_metrics += 1;
                metrics.push((
                    e.evaluator_name.clone(),
                    item.get("key").map(text).unwrap_or_default(),
                    num(item.get("score")),
                    num(item.get("weight")).unwrap_or(1.0),
                ));
            }
        }
        evaluators.push(eval_row(
            e,
            n_metrics,
            summary(e.details.as_deref(), parsed.as_ref()),
        ));
        if let Some(list) = obj.and_then(|v| v.get("checks")).and_then(Value::as_array) {
            checks.extend(list.iter().map(check_row));
        }
        if let Some(list) = obj
            .and_then(|v| v.get("categories"))
            .and_then(Value::as_array)
        {
            let v = obj.unwrap_or(&Value::Null);
            judges.push(Judge {
                evaluator: e.evaluator_name.clone(),
                model: field(v, "model"),
                categories: list.iter().map(category).collect(),
                overall: first_field(v, &["overallReasoning", "overall_reasoning"]),
            });
        }
        if let Some(list) = obj
            .and_then(|v| v.get("commands"))
            .and_then(Value::as_array)
        {
            eval_commands.extend(list.iter().map(|c| cmd_row(&e.evaluator_name, c)));
        }
        if let Some(errs) = obj.and_then(|v| v.get("errors")) {
            evaluator_errors.extend(
                strings(errs)
                    .into_iter()
                    .map(|s| format!("{}: {s}", e.evaluator_name)),
            );
        }
        if let Some(raw) = e.details.as_deref().filter(|s| !s.trim().is_empty()) {
            let (text, json) = match &parsed {
                Some(v) => (
                    serde_json::to_string_pretty(v).unwrap_or_else(|_| raw.to_string()),
                    true,
                ),
                None => (raw.to_string(), false),
            };
            raw_details.push(RawDetails {
                name: e.evaluator_name.clone(),
                text: cap(&text, RAW_CHARS).0,
                json,
            });
        }
    }
    if let Some(errs) = m("evaluatorErrors") {
        let mut all = strings(errs);
        all.append(&mut evaluator_errors);
        evaluator_errors = all;
    }
    let sum_w: f64 = metrics
        .iter()
        .filter(|(_, _, s, w)| s.is_some_and(f64::is_finite) && *w > 0.0 && w.is_finite())
        .map(|(_, _, _, w)| w)
        .sum();
    let mut shares_total = 0.0;
    let metric_rows: Vec<MetricRow> = metrics
        .into_iter()
        .map(|(evaluator, key, score, weight)| {
            let counted = score.is_some_and(f64::is_finite)
                && weight > 0.0
                && weight.is_finite()
                && sum_w > 0.0;
            let (share, possible, bar) = if counted {
                let s = score.unwrap_or(0.0);
                let share = weight * s / sum_w * 10.0;
                shares_total += share;
                (
                    format!("{share:.2}"),
                    format!("{:.2}", weight / sum_w * 10.0),
                    bar_class(Some(s)),
                )
            } else {
                ("–".into(), "–".into(), "w0".into())
            };
            MetricRow {
                evaluator,
                key,
                score: fmt::score1(score),
                weight: number(weight),
                share,
                possible,
                bar,
                dropped: !counted,
            }
        })
        .collect();
    let passed = checks.iter().filter(|c| c.class == "ok").count();
    let checks_summary = if checks.is_empty() {
        String::new()
    } else {
        format!("{passed} of {} passed", checks.len())
    };

    // Telemetry: the agent's and the judge's apart.
    let t = d.telemetry.as_ref();
    let mut telemetry = vec![
        fact("Tokens in", count(t.and_then(|t| t.tokens_in))),
        fact("Tokens out", count(t.and_then(|t| t.tokens_out))),
    ];
    for (label, key) in [
        ("Cache read tokens", "cacheReadTokens"),
        ("Cache write tokens", "cacheWriteTokens"),
    ] {
        if let Some(v) = m(key) {
            telemetry.push(fact(label, count_value(v)));
        }
    }
    telemetry.push(fact("Agent cost", fmt::usd(t.and_then(|t| t.cost_usd))));
    telemetry.push(fact("Tool calls", count(t.and_then(|t| t.tool_calls))));
    telemetry.push(fact("Duration", fmt::duration_ms(duration_ms)));
    if let Some(w) = t
        .and_then(|t| t.workspace_dir.clone())
        .filter(|w| !w.is_empty())
    {
        telemetry.push(fact("Workspace", w));
    }
    let mut judge_usage = Vec::new();
    if let Some(j) = m("judge") {
        if j.is_object() {
            judge_usage.push(fact(
                "Judge tokens in",
                count_value(j.get("tokensIn").unwrap_or(&Value::Null)),
            ));
            judge_usage.push(fact(
                "Judge tokens out",
                count_value(j.get("tokensOut").unwrap_or(&Value::Null)),
            ));
            judge_usage.push(fact("Judge cost", fmt::usd(num(j.get("costUsd")))));
        } else if !j.is_null() {
            judge_usage.push(fact("Judge", text(j)));
        }
    }

    // Other facts the harness records.
    let mut facts = Vec::new();
    for (label, key) in [
        ("Agent stop reason", "agentStopReason"),
        ("Repeat", "repeat"),
        ("Shard", "shard"),
        ("Harness", "harness"),
        ("Workspace kept", "workspaceKept"),
    ] {
        if let Some(v) = m(key).filter(|v| !v.is_null()) {
            facts.push(fact(label, text(v)));
        }
    }
    if let Some(v) = m("diffStats").filter(|v| !v.is_null()) {
        let s = if v.is_object() {
            let mut s = format!(
                "{} files, +{} −{}",
                field(v, "files"),
                field(v, "additions"),
                field(v, "deletions")
            );
            if v.get("truncated").and_then(Value::as_bool) == Some(true) {
                s.push_str(" (patch truncated)");
            }
            s
        } else {
            text(v)
        };
        facts.push(fact("Diff", s));
    }
    if r.specialist_enabled == Some(true) || r.specialist_name.is_some() {
        let name = r.specialist_name.clone().unwrap_or_default();
        let version = r.specialist_version.clone().unwrap_or_default();
        facts.push(fact(
            "Specialist",
            format!("{name} {version}").trim().to_string(),
        ));
    }

    // Steps.
    let step_values: Vec<&Value> = m("steps")
        .and_then(Value::as_array)
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let longest = step_values
        .iter()
        .filter_map(|s| num(s.get("durationMs")))
        .fold(0.0, f64::max);
    let steps = step_values
        .iter()
        .map(|s| {
            let dur = num(s.get("durationMs"));
            let ok = s.get("ok").and_then(Value::as_bool);
            StepRow {
                name: if s.is_object() {
                    field(s, "name")
                } else {
                    text(s)
                },
                start: num(s.get("startMs"))
                    .map(|v| format!("+{}", fmt::duration_ms(Some(v as i64))))
                    .unwrap_or_else(|| "–".into()),
                duration: fmt::duration_ms(dur.map(|v| v as i64)),
                mark: mark(ok),
                class: mark_class(ok),
                bar: bar_class(dur.filter(|_| longest > 0.0).map(|v| v / longest)),
            }
        })
        .collect();

    // Commands the harness ran.
    let mut commands = Vec::new();
    for (group, key) in [
        ("baseline", "baseline"),
        ("warmup", "warmup"),
        ("validation", "validation"),
    ] {
        if let Some(list) = m(key).and_then(Value::as_array) {
            commands.extend(list.iter().map(|c| cmd_row(group, c)));
        }
    }
    let deps = m("dependencyChanges")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|c| DepRow {
                    file: field(c, "file"),
                    section: field(c, "section"),
                    name: if c.is_object() {
                        field(c, "name")
                    } else {
                        text(c)
                    },
                    before: opt_field(c, "before", "(added)"),
                    after: opt_field(c, "after", "(removed)"),
                })
                .collect()
        })
        .unwrap_or_default();
    let questions = m("questions")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|q| {
                    if q.is_object() {
                        Qa {
                            question: field(q, "question"),
                            answer: field(q, "answer"),
                        }
                    } else {
                        Qa {
                            question: text(q),
                            answer: String::new(),
                        }
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let (meta_text, meta_json) = match (&meta_value, r.metadata.as_deref()) {
        (Some(v), _) => (serde_json::to_string_pretty(v).unwrap_or_default(), true),
        (None, Some(raw)) => (raw.to_string(), false),
        (None, None) => (String::new(), false),
    };

    // Artifacts.
    let art_href = |name: &str| format!("/api/runs/{id_enc}/artifacts/{}", encode(name));
    let (prompt, prompt_cut) = texts
        .prompt
        .as_deref()
        .map(|p| cap(p, TEXT_CHARS))
        .unwrap_or_default();
    let has_diff = texts.diff.as_deref().is_some_and(|s| !s.trim().is_empty());
    let (diff_files, diff_cut) = texts.diff.as_deref().map(split_diff).unwrap_or_default();
    let has_transcript = texts
        .transcript
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty());
    let (entries, transcript_raw, transcript_note) = match texts.transcript.as_deref() {
        None => (Vec::new(), String::new(), String::new()),
        Some(t) => match transcript(t) {
            Some((entries, omitted)) => {
                let note = if omitted > 0 {
                    format!("{} more entries not shown.", fmt::thousands(omitted as i64))
                } else {
                    String::new()
                };
                (entries, String::new(), note)
            }
            None => {
                let (raw, cut_) = cap(t, TEXT_CHARS);
                let note = if cut_ { "Truncated." } else { "" };
                (Vec::new(), raw, note.to_string())
            }
        },
    };
    let (command_log, command_log_cut) = texts
        .commands
        .as_deref()
        .map(|c| cap(c, TEXT_CHARS))
        .unwrap_or_default();
    let artifacts = infos
        .iter()
        .map(|a| ArtifactLink {
            name: a.name.clone(),
            href: art_href(&a.name),
            size: bytes(a.size),
        })
        .collect();

    let heading = format!("{} / {} · {}", r.suite, r.scenario, r.tier);
    RunPage {
        active: "/runs",
        title: format!("Run {heading}"),
        run_id: r.run_id.clone(),
        heading,
        scenario_title: m("scenarioTitle").map(text).unwrap_or_default(),
        agent: r.agent.clone(),
        model: r.model.clone().unwrap_or_default(),
        submitted_by: r.submitted_by.clone().unwrap_or_default(),
        batch_href: if batch.is_empty() {
            String::new()
        } else {
            format!("/batches/{}", encode(&batch))
        },
        batch_id: batch,
        status: r.status.to_string(),
        live: r.status == RunStatus::Running,
        live_url: format!("/runs/{id_enc}"),
        started: fmt::when(r.started_at),
        completed: r.completed_at.map(fmt::when).unwrap_or_else(|| "–".into()),
        duration: fmt::duration_ms(duration_ms),
        failed,
        error_type,
        error,
        weighted: fmt::score10(r.weighted_score),
        weighted_bar: bar_class(r.weighted_score.map(|v| v / 10.0)),
        scored: r.weighted_score.is_some(),
        successful: r.is_successful,
        total_score: fmt::score1(r.total_score),
        success_metric: fmt::score1(r.success_metric),
        evaluators,
        metrics_sum: if metric_rows.iter().any(|m| !m.dropped) {
            format!("{shares_total:.2}")
        } else {
            String::new()
        },
        metrics: metric_rows,
        checks,
        checks_summary,
        judges,
        eval_commands,
        evaluator_errors,
        raw_details,
        telemetry,
        judge_usage,
        facts,
        steps,
        commands,
        deps,
        questions,
        meta_text: cap(&meta_text, RAW_CHARS).0,
        meta_json,
        prompt,
        prompt_cut,
        prompt_href: art_href("prompt"),
        has_diff,
        diff_note: if diff_cut {
            "The diff is longer than what is shown here.".into()
        } else {
            String::new()
        },
        diff_files,
        diff_href: art_href("diff"),
        has_transcript,
        entries,
        transcript_raw,
        transcript_note,
        transcript_href: art_href("transcript"),
        command_log,
        command_log_cut,
        commands_href: art_href("commands"),
        artifacts,
        artifact_errors: Vec::new(),
    }
}

/// What the evaluators table says about an evaluation's details: free text as it is, a JSON
/// object's reasoning or checks tally, any other JSON compactly.
fn summary(raw: Option<&str>, parsed: Option<&Value>) -> String {
    let text_of = |s: &str| {
        let (mut t, cut_) = cap(s.trim(), SUMMARY_CHARS);
        if cut_ {
            t.push_str(" …");
        }
        t
    };
    match (raw, parsed) {
        (None, _) => String::new(),
        (Some(raw), None) => text_of(raw),
        (Some(_), Some(v)) if v.is_object() => {
            for key in [
                "summary",
                "reasoning",
                "overallReasoning",
                "message",
                "error",
            ] {
                if let Some(s) = v
                    .get(key)
                    .and_then(Value::as_str)
                    .filter(|s| !s.trim().is_empty())
                {
                    return text_of(s);
                }
            }
            match (num(v.get("passed")), num(v.get("total"))) {
                (Some(p), Some(t)) => format!("{} of {} checks passed", number(p), number(t)),
                _ => String::new(),
            }
        }
        (Some(_), Some(Value::String(s))) => text_of(s),
        (Some(_), Some(v)) => text_of(&v.to_string()),
    }
}

fn eval_row(e: &Evaluation, n_metrics: usize, summary: String) -> EvalRow {
    let norm = if e.max_score > zebench_core::run::MIN_DIVISOR {
        e.score / e.max_score
    } else {
        e.score
    };
    EvalRow {
        name: e.evaluator_name.clone(),
        score: number(e.score),
        max: number(e.max_score),
        bar: bar_class(Some(norm)),
        metrics: if n_metrics == 0 {
            "–".into()
        } else {
            n_metrics.to_string()
        },
        summary,
    }
}

fn check_row(c: &Value) -> CheckRow {
    let passed = c.get("passed").and_then(Value::as_bool);
    CheckRow {
        name: if c.is_object() {
            field(c, "name")
        } else {
            text(c)
        },
        family: field(c, "family"),
        mark: mark(passed),
        class: mark_class(passed),
        negated: c.get("negated").and_then(Value::as_bool) == Some(true),
        weight: num(c.get("weight"))
            .map(number)
            .unwrap_or_else(|| "–".into()),
        detail: field(c, "detail"),
    }
}

fn category(c: &Value) -> Category {
    let score = num(c.get("score"));
    let normalized = num(c.get("normalized")).or_else(|| score.map(|s| (s - 1.0) / 4.0));
    Category {
        name: first_field(c, &["name", "category"]),
        weight: num(c.get("weight"))
            .map(number)
            .unwrap_or_else(|| "–".into()),
        score: score.map(number).unwrap_or_else(|| "–".into()),
        normalized: fmt::score1(normalized),
        reasoning: field(c, "reasoning"),
    }
}

fn cmd_row(group: &str, c: &Value) -> CmdRow {
    let exit = c.get("exitCode").filter(|v| !v.is_null());
    let timed_out = c.get("timedOut").and_then(Value::as_bool) == Some(true);
    let ok = match exit.and_then(Value::as_i64) {
        _ if timed_out => Some(false),
        Some(code) => Some(code == 0),
        None if c.get("exitCode").is_some() => Some(false),
        None => None,
    };
    CmdRow {
        group: group.to_string(),
        name: if c.is_object() {
            field(c, "name")
        } else {
            text(c)
        },
        command: field(c, "command"),
        exit: exit.map(text).unwrap_or_else(|| "–".into()),
        baseline_exit: c
            .get("baselineExitCode")
            .filter(|v| !v.is_null())
            .map(text)
            .unwrap_or_else(|| "–".into()),
        class: mark_class(ok),
        timed_out,
        duration: fmt::duration_ms(num(c.get("durationMs")).map(|v| v as i64)),
        note: field(c, "spawnError"),
        score: num(c.get("score"))
            .map(|s| fmt::score1(Some(s)))
            .unwrap_or_else(|| "–".into()),
    }
}

/// A JSON value as display text: strings as they are, numbers and booleans printed, null empty,
/// anything else as compact JSON.
fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

fn field(v: &Value, key: &str) -> String {
    v.get(key).map(text).unwrap_or_default()
}

fn first_field(v: &Value, keys: &[&str]) -> String {
    keys.iter()
        .filter_map(|k| v.get(*k).filter(|x| !x.is_null()))
        .map(text)
        .next()
        .unwrap_or_default()
}

/// `null` or missing reads as `none` (e.g. "(added)").
fn opt_field(v: &Value, key: &str, none: &str) -> String {
    match v.get(key) {
        None | Some(Value::Null) => none.to_string(),
        Some(x) => text(x),
    }
}

/// A number, also from numeric strings.
fn num(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|x: &f64| x.is_finite())
}

/// A list of strings from an array (non-strings as JSON), or one string.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Null => Vec::new(),
        Value::Array(a) => a.iter().map(text).filter(|s| !s.is_empty()).collect(),
        other => vec![text(other)],
    }
}

/// `3`, `0.5`, `0.25`.
fn number(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{x:.0}")
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn count(v: Option<i64>) -> String {
    v.map(fmt::thousands).unwrap_or_else(|| "–".into())
}

fn count_value(v: &Value) -> String {
    match v {
        Value::Null => "–".into(),
        v => match v.as_i64() {
            Some(n) => fmt::thousands(n),
            None => text(v),
        },
    }
}

fn fact(k: &str, v: String) -> Fact {
    Fact {
        k: k.to_string(),
        v,
    }
}

fn mark(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "✓",
        Some(false) => "✗",
        None => "–",
    }
}

fn mark_class(ok: Option<bool>) -> &'static str {
    match ok {
        Some(true) => "ok",
        Some(false) => "fail",
        None => "muted",
    }
}

/// `w0` … `w10` for a 0–1 value.
fn bar_class(v: Option<f64>) -> String {
    match v {
        Some(x) if x.is_finite() => format!("w{}", (x.clamp(0.0, 1.0) * 10.0).round() as i64),
        _ => "w0".into(),
    }
}

fn bytes(n: i64) -> String {
    let x = n as f64;
    if x >= 1024.0 * 1024.0 {
        format!("{:.1} MB", x / (1024.0 * 1024.0))
    } else if x >= 1024.0 {
        format!("{:.1} KB", x / 1024.0)
    } else {
        format!("{n} B")
    }
}

/// At most `max` characters of `s`, and whether it was cut.
fn cap(s: &str, max: usize) -> (String, bool) {
    match s.char_indices().nth(max) {
        Some((i, _)) => (s[..i].to_string(), true),
        None => (s.to_string(), false),
    }
}

/// The path of a `diff --git a/P b/P` line.
fn git_path(line: &str) -> String {
    let rest = line.trim_start_matches("diff --git ").trim_end();
    if rest.len() % 2 == 1 {
        let mid = rest.len() / 2;
        if let (Some(a), Some(b)) = (rest.get(..mid), rest.get(mid + 1..)) {
            if let (Some(a), Some(b)) = (a.strip_prefix("a/"), b.strip_prefix("b/")) {
                if a == b && rest.as_bytes()[mid] == b' ' {
                    return a.to_string();
                }
            }
        }
    }
    match rest.find(" b/") {
        Some(i) => rest[i + 3..].to_string(),
        None => rest.to_string(),
    }
}

/// Splits a unified diff into files on `diff --git` lines and classifies every line. Returns
/// the files and whether anything was left out.
fn split_diff(text: &str) -> (Vec<DiffFile>, bool) {
    struct Acc {
        path: String,
        named: bool,
        adds: usize,
        dels: usize,
        in_hunk: bool,
        lines: Vec<DiffLine>,
        hidden: usize,
    }
    let mut files: Vec<Acc> = Vec::new();
    let mut budget = DIFF_LINES_TOTAL;
    let mut cut = false;
    for line in text.lines() {
        let header = line.starts_with("diff --git ");
        if header || files.is_empty() {
            if files.len() == DIFF_MAX_FILES {
                cut = true;
                break;
            }
            files.push(Acc {
                path: if header {
                    git_path(line)
                } else {
                    String::new()
                },
                named: header,
                adds: 0,
                dels: 0,
                in_hunk: false,
                lines: Vec::new(),
                hidden: 0,
            });
        }
        let Some(f) = files.last_mut() else { break };
        let class = if header {
            "meta"
        } else if line.starts_with("@@") {
            f.in_hunk = true;
            "hunk"
        } else if f.in_hunk {
            match line.as_bytes().first() {
                Some(b'+') => {
                    f.adds += 1;
                    "add"
                }
                Some(b'-') => {
                    f.dels += 1;
                    "del"
                }
                Some(b'\\') => "meta",
                _ => "ctx",
            }
        } else {
            if !f.named {
                if let Some(p) = line.strip_prefix("+++ ") {
                    let p = p.trim_end();
                    f.path = p.strip_prefix("b/").unwrap_or(p).to_string();
                    f.named = true;
                }
            }
            "meta"
        };
        if f.lines.len() < DIFF_LINES_PER_FILE && budget > 0 {
            budget -= 1;
            let (mut t, long) = cap(line, DIFF_LINE_CHARS);
            if long {
                t.push_str(" …");
            }
            f.lines.push(DiffLine { class, text: t });
        } else {
            f.hidden += 1;
            cut = true;
        }
    }
    let open = files.len() < 5;
    let out = files
        .into_iter()
        .map(|f| DiffFile {
            path: if f.path.is_empty() {
                "(no file name)".into()
            } else {
                f.path
            },
            adds: format!("+{}", fmt::thousands(f.adds as i64)),
            dels: format!("−{}", fmt::thousands(f.dels as i64)),
            open,
            lines: f.lines,
            hidden: if f.hidden > 0 {
                format!(
                    "… {} more lines not shown (truncated)",
                    fmt::thousands(f.hidden as i64)
                )
            } else {
                String::new()
            },
        })
        .collect();
    (out, cut)
}

fn kind_class(kind: &str) -> &'static str {
    match kind {
        "user" => "tk-user",
        "assistant" => "tk-assistant",
        "tool_call" => "tk-call",
        "tool_result" => "tk-result",
        "system" | "note" => "tk-note",
        _ => "tk-other",
    }
}

/// The transcript's entries when it is a JSON array of objects, and how many were left out;
/// `None` when it is anything else (shown raw).
fn transcript(t: &str) -> Option<(Vec<Entry>, usize)> {
    let v: Value = serde_json::from_str(t).ok()?;
    let items = v.as_array()?;
    if !items.iter().all(Value::is_object) {
        return None;
    }
    let entries = items
        .iter()
        .take(TRANSCRIPT_ENTRIES)
        .map(|e| {
            // The harness's shape is {atMs, kind, tool?, content, durationMs?, isError?}; other
            // clients write e.g. {role, name, input, output}. Fields with a place of their own
            // are used for it; every other field is appended to the content, so nothing is lost.
            let pick = |keys: &[&'static str]| {
                keys.iter()
                    .find(|k| {
                        e.get(**k)
                            .is_some_and(|v| !v.is_null() && !v.is_object() && !v.is_array())
                    })
                    .copied()
            };
            let kind_key = pick(&["kind", "role", "type"]);
            let tool_key = pick(&["tool", "name"]);
            let mut used: Vec<&str> = vec!["atMs", "content", "durationMs", "isError"];
            used.extend(kind_key);
            used.extend(tool_key);
            let kind = kind_key.map(|k| field(e, k)).unwrap_or_default();
            let mut content = match e.get("content") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => serde_json::to_string_pretty(other).unwrap_or_default(),
            };
            if let Some(obj) = e.as_object() {
                for (k, v) in obj
                    .iter()
                    .filter(|(k, v)| !used.contains(&k.as_str()) && !v.is_null())
                {
                    if !content.is_empty() {
                        content.push('\n');
                    }
                    let v = match v {
                        Value::String(s) => s.clone(),
                        other => serde_json::to_string_pretty(other).unwrap_or_default(),
                    };
                    content.push_str(&format!("{k}: {v}"));
                }
            }
            let (content, cut_) = cap(&content, TRANSCRIPT_CONTENT_CHARS);
            let lines = content.lines().count();
            let collapsed = content.chars().count() > COLLAPSE_CHARS || lines > COLLAPSE_LINES;
            let first = content.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let (mut summary, long) = cap(first.trim(), 100);
            if long {
                summary.push('…');
            }
            summary.push_str(&format!(" ({} lines)", fmt::thousands(lines as i64)));
            Entry {
                at: num(e.get("atMs"))
                    .map(|v| format!("+{}", fmt::duration_ms(Some(v as i64))))
                    .unwrap_or_default(),
                kind_class: kind_class(&kind),
                kind,
                tool: tool_key.map(|k| field(e, k)).unwrap_or_default(),
                duration: num(e.get("durationMs"))
                    .map(|v| fmt::duration_ms(Some(v as i64)))
                    .unwrap_or_default(),
                error: e.get("isError").and_then(Value::as_bool) == Some(true),
                content,
                collapsed,
                summary,
                cut: cut_,
            }
        })
        .collect();
    Some((entries, items.len().saturating_sub(TRANSCRIPT_ENTRIES)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_is_split_per_file_and_classified() {
        let d = "diff --git a/src/a b.rs b/src/a b.rs\nindex 1..2 100644\n--- a/src/a b.rs\n+++ b/src/a b.rs\n@@ -1,2 +1,2 @@\n ctx\n-old\n+new\n+++tricky\n\\ No newline at end of file\ndiff --git a/x b/x\nnew file mode 100644\n";
        let (files, cut) = split_diff(d);
        assert!(!cut);
        assert_eq!(files.len(), 2);
        assert_eq!(files[0].path, "src/a b.rs");
        assert_eq!(
            (files[0].adds.as_str(), files[0].dels.as_str()),
            ("+2", "−1")
        );
        let classes: Vec<&str> = files[0].lines.iter().map(|l| l.class).collect();
        assert_eq!(
            classes,
            ["meta", "meta", "meta", "meta", "hunk", "ctx", "del", "add", "add", "meta"]
        );
        assert_eq!(files[1].path, "x");
        assert!(files[0].open);
    }

    #[test]
    fn diff_is_capped() {
        let mut d = String::from("diff --git a/big b/big\n@@ -0,0 +1 @@\n");
        for i in 0..3000 {
            d.push_str(&format!("+line {i}\n"));
        }
        let (files, cut) = split_diff(&d);
        assert!(cut);
        assert_eq!(files[0].lines.len(), DIFF_LINES_PER_FILE);
        assert_eq!(files[0].adds, "+3,000");
        assert!(files[0].hidden.contains("1,002 more lines"));
    }

    #[test]
    fn paths_and_numbers() {
        assert_eq!(git_path("diff --git a/p/q.rs b/p/q.rs"), "p/q.rs");
        assert_eq!(git_path("diff --git a/old b/new"), "new");
        assert_eq!(number(3.0), "3");
        assert_eq!(number(0.25), "0.25");
        assert_eq!(number(1.0 / 3.0), "0.333");
        assert_eq!(cap("héllo", 2), ("hé".to_string(), true));
        assert_eq!(bar_class(Some(0.74)), "w7");
        assert_eq!(bytes(2048), "2.0 KB");
    }

    #[test]
    fn transcript_shapes() {
        assert!(transcript("not json").is_none());
        assert!(transcript("[1, 2]").is_none());
        let (e, omitted) = transcript(r#"[{"atMs": 1500, "kind": "tool_call", "tool": "read_file", "content": {"path": "a"}, "isError": true}]"#).unwrap();
        assert_eq!(omitted, 0);
        assert_eq!(e[0].at, "+1.5 s");
        assert_eq!(e[0].kind_class, "tk-call");
        assert!(e[0].error && e[0].content.contains("\"path\""));
        let (e, _) = transcript(
            r#"[{"role": "tool", "name": "bash", "input": "ls", "output": "a\nb", "extra": null}]"#,
        )
        .unwrap();
        assert_eq!((e[0].kind.as_str(), e[0].tool.as_str()), ("tool", "bash"));
        assert_eq!(e[0].content, "input: ls\noutput: a\nb");
    }
}
