//! The LLM judge: a model scores the run against the scenario's `llm_judge.categories`.
//!
//! The judge sees what a human reviewer would (scenario, task prompt, constraints, targets, the
//! diff, validation results) and scores each category 1–5; a score s maps to (s−1)/4 and the
//! `llm_judge` metric is the weighted mean (weights from `(NN%)` / `(Weight: NN%)` in the
//! category text, else equal). Answers are parsed leniently (fences, prose, trailing commas,
//! numbers as strings) and an unusable answer gets one "JSON only" follow-up. If that fails too
//! the evaluator errors: a judge that did not answer is not a run that scored zero.

use super::{EvalContext, EvalError, Evaluator, EvaluatorOutcome, EvaluatorUsage, Metric};
use regex::Regex;
use serde_json::{json, Value};
use std::sync::{Arc, LazyLock};
use zebench_provider::json::extract_json_object;
use zebench_provider::{ChatRequest, ChatResponse, Message, Provider};

/// Stored evaluator name (the seed's, so old dashboards label it).
pub const EVALUATOR_NAME: &str = "LLMJudgeEvaluator";
/// Metric key, as `rubric_overrides.weights` names it.
pub const METRIC_KEY: &str = "llm_judge";
/// The diff shown to the judge is cut here: enough for real changes, bounded cost.
pub const MAX_DIFF_BYTES: usize = 60 * 1024;
/// Tail of each validation command's output shown to the judge (errors are at the end).
pub const OUTPUT_TAIL_BYTES: usize = 2 * 1024;
/// `max_tokens` when the scenario sets none.
pub const DEFAULT_MAX_TOKENS: u32 = 2048;

const SYSTEM_PROMPT: &str = "You are an exacting senior engineer judging the work of an AI coding \
agent on a benchmark task. Judge only from the evidence given. Respond with a single JSON object and nothing else.";
const ANSWER_FORMAT: &str = r#"{"scores": [{"category": "<category name as listed>", "score": <integer 1-5>, "reasoning": "<one or two sentences>"}], "overall_reasoning": "<short summary>"}"#;

/// Scores a run with a model through any [`Provider`].
pub struct LlmJudgeEvaluator {
    provider: Arc<dyn Provider>,
    default_model: String,
    /// Prices the judge's tokens when the provider reports no cost (Anthropic, OpenAI).
    prices: Option<Arc<crate::pricing::PriceTable>>,
}

impl LlmJudgeEvaluator {
    /// `default_model` is used when the scenario's `llm_judge.model` is not set.
    pub fn new(provider: Arc<dyn Provider>, default_model: impl Into<String>) -> Self {
        LlmJudgeEvaluator {
            provider,
            default_model: default_model.into(),
            prices: None,
        }
    }

    /// Prices the judge's own tokens from `prices` when the provider reports no cost.
    pub fn with_prices(mut self, prices: Arc<crate::pricing::PriceTable>) -> Self {
        self.prices = Some(prices);
        self
    }

    async fn call(
        &self,
        ctx: &EvalContext<'_>,
        req: &ChatRequest,
    ) -> Result<ChatResponse, EvalError> {
        tokio::select! {
            _ = ctx.cancel.cancelled() => Err(failed("cancelled")),
            r = self.provider.chat(req) => r.map_err(|e| failed(&e.to_string())),
        }
    }
}

fn failed(message: &str) -> EvalError {
    EvalError::Failed {
        evaluator: EVALUATOR_NAME.into(),
        message: message.into(),
    }
}

/// One rubric category from the scenario.
#[derive(Debug, Clone, PartialEq)]
pub struct Category {
    /// The text before the first `(` or `:`, used to match the judge's answer.
    pub name: String,
    /// Share of the metric, normalized so all categories sum to 1.
    pub weight: f64,
    /// The full text, shown to the judge.
    pub text: String,
}

static WEIGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\(\s*(?:weight\s*:?\s*)?(\d+(?:\.\d+)?)\s*%\s*\)").expect("valid regex")
});

/// Categories with weights: `(NN%)` or `(Weight: NN%)`; none given → equal; some given → the
/// others get the mean of the given ones; all zero → equal.
pub fn parse_categories(texts: &[String]) -> Vec<Category> {
    let texts: Vec<&String> = texts.iter().filter(|t| !t.trim().is_empty()).collect();
    let raw: Vec<Option<f64>> = texts
        .iter()
        .map(|t| WEIGHT.captures(t).and_then(|c| c[1].parse::<f64>().ok()))
        .collect();
    let given: Vec<f64> = raw.iter().flatten().copied().collect();
    let fill = if given.is_empty() {
        1.0
    } else {
        given.iter().sum::<f64>() / given.len() as f64
    };
    let mut weights: Vec<f64> = raw.iter().map(|w| w.unwrap_or(fill)).collect();
    let total: f64 = weights.iter().sum();
    if total <= 0.0 {
        weights = vec![1.0; texts.len()];
    }
    let total: f64 = weights.iter().sum();
    texts
        .iter()
        .zip(weights)
        .map(|(t, w)| Category {
            name: category_name(t),
            weight: w / total,
            text: t.trim().to_string(),
        })
        .collect()
}

fn category_name(text: &str) -> String {
    let end = text.find(['(', ':']).unwrap_or(text.len());
    let name = text[..end].trim();
    if name.is_empty() { text.trim() } else { name }.to_string()
}

/// Lower-case alphanumeric words, for matching names loosely.
fn normalize(s: &str) -> String {
    let cleaned: String = s
        .chars()
        .map(|c| {
            if c.is_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                ' '
            }
        })
        .collect();
    cleaned.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The last `max` bytes of `text` (on a character boundary).
fn tail(text: &str, max: usize) -> &str {
    let mut start = text.len().saturating_sub(max);
    while !text.is_char_boundary(start) {
        start += 1;
    }
    &text[start..]
}

/// The first `max` bytes of `text` (on a character boundary).
fn head(text: &str, max: usize) -> &str {
    let mut end = text.len().min(max);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The user message: everything the judge needs, with the large parts capped.
pub fn build_prompt(ctx: &EvalContext<'_>, categories: &[Category]) -> String {
    let s = ctx.scenario;
    let mut p = String::from(
        "Judge the work of an AI coding agent on this benchmark scenario.\n\n## Scenario\n",
    );
    p += &format!(
        "Id: {}\nTitle: {}\nTier: {}\n",
        s.id.as_deref().unwrap_or("-"),
        s.title.as_deref().unwrap_or("-"),
        ctx.tier
    );
    if let Some(d) = &s.description {
        p += &format!("Description: {}\n", d.trim());
    }
    p += &format!("\n## Task given to the agent\n{}\n", ctx.prompt.trim());
    if let Some(c) = &s.constraints {
        p += &format!("\n## Constraints\n```json\n{}\n```\n", pretty(c));
    }
    if let Some(t) = &s.targets {
        p += &format!("\n## Dependency targets\n```json\n{}\n```\n", pretty(t));
    }
    p += &format!(
        "\n## Changes made by the agent ({} file(s))\n",
        ctx.diff.files.len()
    );
    for f in &ctx.diff.files {
        p += &format!(
            "- {:?} {} (+{} -{})\n",
            f.kind, f.path, f.additions, f.deletions
        );
    }
    let patch = &ctx.diff.patch;
    if patch.trim().is_empty() {
        p += "(no textual changes)\n";
    } else {
        let shown = head(patch, MAX_DIFF_BYTES);
        p += &format!("```diff\n{shown}\n```\n");
        if shown.len() < patch.len() {
            p += &format!(
                "[Note: diff truncated; the first {} of {} bytes are shown.]\n",
                shown.len(),
                patch.len()
            );
        }
        if ctx.diff.truncated {
            p += "[Note: the harness had already cut this diff at its size limit.]\n";
        }
    }
    if !ctx.deps.changes.is_empty() {
        p += "\n## Dependency changes\n";
        for c in &ctx.deps.changes {
            let v = |x: &Option<String>| x.clone().unwrap_or_else(|| "(none)".into());
            p += &format!(
                "- {} [{}] {}: {} -> {}\n",
                c.file,
                c.section,
                c.name,
                v(&c.before),
                v(&c.after)
            );
        }
    }
    p += "\n## Validation commands (run after the agent)\n";
    if ctx.validation.is_empty() {
        p += "(none run)\n";
    }
    for r in ctx.validation {
        let o = &r.outcome;
        let exit = o.exit_code.map_or("none".to_string(), |c| c.to_string());
        p += &format!(
            "### {} (`{}`): exit code {exit}, timed out: {}\n",
            r.name, r.command, o.timed_out
        );
        if !o.output.trim().is_empty() {
            p += &format!(
                "Last output:\n```\n{}\n```\n",
                tail(o.output.trim_end(), OUTPUT_TAIL_BYTES)
            );
        }
    }
    if let Some(m) = ctx
        .agent
        .final_message
        .as_deref()
        .filter(|m| !m.trim().is_empty())
    {
        p += &format!(
            "\n## Agent's final message\n{}\n",
            tail(m.trim(), OUTPUT_TAIL_BYTES)
        );
    }
    p += "\n## Categories (score each from 1 = poor to 5 = excellent)\n";
    for (i, c) in categories.iter().enumerate() {
        p += &format!("{}. {} [weight {:.0}%]\n", i + 1, c.text, c.weight * 100.0);
    }
    p += &format!("\n## Answer\nRespond with JSON only, exactly in this shape, one entry per category:\n{ANSWER_FORMAT}\n");
    p
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string_pretty(value).unwrap_or_default()
}

/// One category's score as the judge gave it.
#[derive(Debug, Clone, PartialEq)]
struct Scored {
    category: Category,
    score: f64,
    reasoning: String,
}

/// A usable judge answer: scores for at least one category.
#[derive(Debug)]
struct Verdict {
    scored: Vec<Scored>,
    missing: Vec<String>,
    overall: String,
}

impl Verdict {
    /// Weighted mean of (s−1)/4 over the scored categories (weights renormalized over them,
    /// since missing categories are excluded rather than counted as zero).
    fn score(&self) -> f64 {
        let normalized = |s: &Scored| (s.score - 1.0) / 4.0;
        let present: f64 = self.scored.iter().map(|s| s.category.weight).sum();
        let mean = if present > 0.0 {
            self.scored
                .iter()
                .map(|s| s.category.weight * normalized(s))
                .sum::<f64>()
                / present
        } else {
            self.scored.iter().map(normalized).sum::<f64>() / self.scored.len() as f64
        };
        mean.clamp(0.0, 1.0)
    }
}

/// A score from a number or a string like "4", "4/5", "4 out of 5", clamped to 1–5.
fn score_value(v: &Value) -> Option<f64> {
    let n = match v {
        Value::Number(n) => n.as_f64()?,
        Value::String(s) => {
            let s = s.trim();
            let end = s
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .unwrap_or(s.len());
            s[..end].parse().ok()?
        }
        _ => return None,
    };
    n.is_finite().then(|| n.clamp(1.0, 5.0))
}

/// The judge's scores matched to `categories`; Err says why the answer is unusable.
fn parse_verdict(text: &str, categories: &[Category]) -> Result<Verdict, String> {
    let answer = extract_json_object(text).ok_or("the answer contains no JSON object")?;
    // Accept a list of {category, score, reasoning} or a map of category → score / object.
    let items: Vec<(String, Value)> = match answer.get("scores").unwrap_or(&answer) {
        Value::Array(list) => list
            .iter()
            .map(|i| {
                let name = i
                    .get("category")
                    .or_else(|| i.get("name"))
                    .and_then(Value::as_str);
                (name.unwrap_or_default().to_string(), i.clone())
            })
            .collect(),
        Value::Object(map) => map.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        _ => return Err("`scores` is neither a list nor an object".into()),
    };
    // Exact names first, then prefixes either way, so "Correctness" cannot take the answer
    // meant for "Correctness of tests".
    let names: Vec<String> = items
        .iter()
        .map(|(n, _)| normalize(&category_name(n)))
        .collect();
    let wants: Vec<String> = categories.iter().map(|c| normalize(&c.name)).collect();
    let mut used = vec![false; items.len()];
    let mut pick = vec![None; categories.len()];
    let score_of = |v: &Value| score_value(v.get("score").unwrap_or(v));
    let exact = |got: &str, want: &str| got == want;
    let prefix = |got: &str, want: &str| got.starts_with(want) || want.starts_with(got);
    for matches in [&exact as &dyn Fn(&str, &str) -> bool, &prefix] {
        for (c, want) in wants.iter().enumerate() {
            if pick[c].is_some() {
                continue;
            }
            let found = (0..items.len()).find(|&i| {
                !used[i]
                    && !names[i].is_empty()
                    && matches(&names[i], want)
                    && score_of(&items[i].1).is_some()
            });
            if let Some(i) = found {
                used[i] = true;
                pick[c] = Some(i);
            }
        }
    }
    let (mut scored, mut missing) = (Vec::new(), Vec::new());
    for (c, picked) in categories.iter().zip(pick) {
        let Some(i) = picked else {
            missing.push(c.name.clone());
            continue;
        };
        let v = &items[i].1;
        let reasoning = v
            .get("reasoning")
            .and_then(Value::as_str)
            .unwrap_or_default();
        scored.push(Scored {
            category: c.clone(),
            score: score_of(v).unwrap_or(1.0),
            reasoning: reasoning.to_string(),
        });
    }
    if scored.is_empty() {
        let names: Vec<&str> = categories.iter().map(|c| c.name.as_str()).collect();
        return Err(format!(
            "no score matched a category (expected {})",
            names.join(", ")
        ));
    }
    let overall = ["overall_reasoning", "overallReasoning", "summary"]
        .iter()
        .find_map(|k| answer.get(*k).and_then(Value::as_str))
        .unwrap_or_default()
        .to_string();
    Ok(Verdict {
        scored,
        missing,
        overall,
    })
}

#[async_trait::async_trait]
impl Evaluator for LlmJudgeEvaluator {
    fn name(&self) -> &'static str {
        EVALUATOR_NAME
    }

    async fn evaluate(&self, ctx: &EvalContext<'_>) -> Result<Option<EvaluatorOutcome>, EvalError> {
        let Some(judge) = ctx
            .scenario
            .llm_judge
            .as_ref()
            .filter(|_| ctx.scenario.judge_enabled())
        else {
            return Ok(None);
        };
        let categories = parse_categories(&judge.categories);
        if categories.is_empty() {
            return Ok(None);
        }
        let mut req = ChatRequest {
            model: judge
                .model
                .clone()
                .filter(|m| !m.trim().is_empty())
                .unwrap_or_else(|| self.default_model.clone()),
            system: Some(SYSTEM_PROMPT.into()),
            messages: vec![Message::user(build_prompt(ctx, &categories))],
            tools: Vec::new(),
            max_tokens: judge
                .max_tokens
                .filter(|t| *t > 0)
                .unwrap_or(DEFAULT_MAX_TOKENS),
            temperature: judge.temperature,
        };
        let mut responses = vec![self.call(ctx, &req).await?];
        let first = responses[0].text();
        let verdict = match parse_verdict(&first, &categories) {
            Ok(v) => v,
            Err(problem) => {
                tracing::warn!(%problem, "LLM judge answer unusable; asking again for JSON only");
                req.messages
                    .push(Message::assistant_text(if first.trim().is_empty() {
                        "(empty)"
                    } else {
                        &first
                    }));
                req.messages.push(Message::user(format!(
                    "Your answer could not be used: {problem}. Respond with JSON only, no prose and no code fences, in exactly this shape:\n{ANSWER_FORMAT}"
                )));
                responses.push(self.call(ctx, &req).await?);
                parse_verdict(&responses[1].text(), &categories)
                    .map_err(|p| failed(&format!("judge answer unusable after 2 attempts: {p}")))?
            }
        };
        let score = verdict.score();
        let usage = EvaluatorUsage {
            tokens_in: responses.iter().map(|r| r.usage.input_tokens).sum(),
            tokens_out: responses.iter().map(|r| r.usage.output_tokens).sum(),
            // Each answer's reported cost, else its price from the table; unknown if any is.
            cost_usd: responses
                .iter()
                .map(|r| {
                    r.cost_usd.or_else(|| {
                        let p = self.prices.as_ref()?;
                        p.cost(&req.model, &r.usage)
                            .or_else(|| p.cost(&r.model, &r.usage))
                    })
                })
                .collect::<Option<Vec<f64>>>()
                .map(|v| v.iter().sum()),
        };
        let details = json!({
            "provider": self.provider.name(),
            "model": req.model,
            "responseModel": responses.last().map(|r| r.model.clone()).unwrap_or_default(),
            "attempts": responses.len(),
            "categories": verdict.scored.iter().map(|s| json!({
                "name": s.category.name, "weight": s.category.weight, "score": s.score,
                "normalized": (s.score - 1.0) / 4.0, "reasoning": s.reasoning,
            })).collect::<Vec<_>>(),
            "overallReasoning": verdict.overall,
            "errors": verdict.missing.iter().map(|m| format!("category `{m}` missing from the judge's answer (or unscored); excluded from the score")).collect::<Vec<_>>(),
        });
        Ok(Some(EvaluatorOutcome {
            evaluator: EVALUATOR_NAME.into(),
            metrics: vec![Metric {
                key: METRIC_KEY.into(),
                score,
            }],
            details,
            usage: Some(usage),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::AgentReport;
    use crate::diff::{DepsDelta, DiffReport};
    use crate::evaluators::CommandRecord;
    use crate::process::CommandOutcome;
    use crate::suite::model::LlmJudge;
    use crate::suite::Scenario;
    use std::path::Path;
    use tokio_util::sync::CancellationToken;
    use zebench_provider::scripted::{ScriptedReply, ScriptedServer};
    use zebench_provider::{ProviderConfig, ProviderKind, Secret};

    const WEIGHTED: [&str; 3] = [
        "Dependency Update Correctness (50%): targets met. Score 1-5",
        "Constraint Compliance (Weight: 30%): blocklist respected",
        "Monorepo Handling (20%): workspace structure kept",
    ];

    struct Fixture {
        scenario: Scenario,
        diff: DiffReport,
        deps: DepsDelta,
        agent: AgentReport,
        validation: Vec<CommandRecord>,
    }

    impl Fixture {
        fn new(categories: &[&str], model: Option<&str>) -> Self {
            let scenario = Scenario {
                id: Some("nx-pnpm-monorepo".into()),
                title: Some("Update an Nx monorepo".into()),
                description: Some("Bring dependencies up to date.".into()),
                llm_judge: Some(LlmJudge {
                    enabled: Some(true),
                    model: model.map(String::from),
                    temperature: Some(0.1),
                    max_tokens: Some(900),
                    categories: categories.iter().map(|c| c.to_string()).collect(),
                    ..LlmJudge::default()
                }),
                ..Scenario::default()
            };
            let diff = DiffReport {
                patch: "--- a/package.json\n+++ b/package.json\n-  \"typescript\": \"4.9.5\"\n+  \"typescript\": \"5.5.4\"\n".into(),
                ..DiffReport::default()
            };
            let outcome = CommandOutcome {
                exit_code: Some(1),
                output: format!("{}\nFAIL src/app.spec.ts: 2 tests failed", "x".repeat(5000)),
                ..CommandOutcome::default()
            };
            let validation = vec![CommandRecord {
                name: "test".into(),
                command: "pnpm test".into(),
                outcome,
            }];
            Fixture {
                scenario,
                diff,
                deps: DepsDelta::default(),
                agent: AgentReport::default(),
                validation,
            }
        }

        fn ctx(&self) -> EvalContext<'_> {
            EvalContext {
                scenario: &self.scenario,
                scenario_dir: Path::new("."),
                workspace: None,
                tier: "L1",
                prompt: "Update typescript to 5.5 with pnpm.",
                baseline: &[],
                validation: &self.validation,
                diff: &self.diff,
                deps: &self.deps,
                agent: &self.agent,
                cancel: CancellationToken::new(),
            }
        }
    }

    async fn judge(replies: Vec<ScriptedReply>) -> (ScriptedServer, LlmJudgeEvaluator) {
        let server = ScriptedServer::start(replies).await.unwrap();
        let mut config = ProviderConfig::new(ProviderKind::OpenAi, Secret::new("sk-judge"))
            .with_base_url(format!("{}/v1", server.base_url()));
        config.max_retries = 0;
        (
            server,
            LlmJudgeEvaluator::new(config.build().unwrap(), "default-judge"),
        )
    }

    fn answer(scores: &[(&str, Value)]) -> String {
        let scores: Vec<Value> = scores
            .iter()
            .map(|(c, s)| json!({"category": c, "score": s, "reasoning": format!("about {c}")}))
            .collect();
        json!({"scores": scores, "overall_reasoning": "solid work"}).to_string()
    }

    fn metric(outcome: &EvaluatorOutcome) -> f64 {
        assert_eq!(outcome.metrics.len(), 1);
        assert_eq!(outcome.metrics[0].key, METRIC_KEY);
        outcome.metrics[0].score
    }

    #[tokio::test]
    async fn good_answer_gives_the_exact_weighted_score() {
        let text = answer(&[
            ("Dependency Update Correctness", json!(5)),
            ("Constraint Compliance (Weight: 30%)", json!(3)),
            ("monorepo handling", json!(1)),
        ]);
        let (server, judge) = judge(vec![ScriptedReply::openai_text(&text, 1500, 120)]).await;
        let fx = Fixture::new(&WEIGHTED, Some("judge-model"));
        let out = judge.evaluate(&fx.ctx()).await.unwrap().unwrap();
        assert_eq!(out.evaluator, "LLMJudgeEvaluator");
        assert!((metric(&out) - (0.5 * 1.0 + 0.3 * 0.5 + 0.2 * 0.0)).abs() < 1e-12);
        assert_eq!(
            out.usage,
            Some(EvaluatorUsage {
                tokens_in: 1500,
                tokens_out: 120,
                cost_usd: None
            })
        );
        let cats = out.details["categories"].as_array().unwrap();
        assert_eq!(cats.len(), 3);
        assert_eq!(cats[1]["name"], "Constraint Compliance");
        assert_eq!(cats[1]["weight"], 0.3);
        assert_eq!(cats[1]["score"], 3.0);
        assert_eq!(cats[1]["normalized"], 0.5);
        assert_eq!(
            cats[1]["reasoning"],
            "about Constraint Compliance (Weight: 30%)"
        );
        assert_eq!(out.details["overallReasoning"], "solid work");
        assert_eq!(out.details["model"], "judge-model");
        assert_eq!(out.details["responseModel"], "scripted-model");
        assert_eq!(out.details["errors"], json!([]));

        let requests = server.requests();
        assert_eq!(requests.len(), 1);
        let body = &requests[0].body;
        assert_eq!(body["model"], "judge-model");
        assert_eq!(body["temperature"], 0.1);
        assert_eq!(body["max_tokens"], 900);
        let prompt = body["messages"][1]["content"].as_str().unwrap();
        assert!(
            prompt.contains("+  \"typescript\": \"5.5.4\""),
            "the diff is shown"
        );
        for c in WEIGHTED {
            assert!(prompt.contains(c), "category text shown: {c}");
        }
        assert!(prompt.contains("Update typescript to 5.5 with pnpm."));
        assert!(prompt.contains("### test (`pnpm test`): exit code 1, timed out: false"));
        assert!(prompt.contains("FAIL src/app.spec.ts"), "output tail shown");
        assert!(prompt.len() < 8000, "output capped to its tail");
    }

    #[tokio::test]
    async fn fenced_json_in_prose_with_equal_weights_and_default_model() {
        let cats = ["Correctness: does it work", "Style: is it clean", "Safety"];
        let text = "Here is my assessment.\n```json\n{\"scores\": [\n {\"category\": \"Correctness\", \"score\": \"4\", \"reasoning\": \"ok\"},\n {\"category\": \"Style\", \"score\": 9,},\n {\"category\": \"Safety\", \"score\": 2.0}\n],}\n```\nHope this helps!";
        let (server, judge) = judge(vec![ScriptedReply::openai_text(text, 10, 10)]).await;
        let fx = Fixture::new(&cats, None);
        let out = judge.evaluate(&fx.ctx()).await.unwrap().unwrap();
        // 4 → 0.75, 9 clamped to 5 → 1.0, 2 → 0.25; equal weights.
        assert!((metric(&out) - (0.75 + 1.0 + 0.25) / 3.0).abs() < 1e-12);
        assert_eq!(
            out.details["categories"][0]["weight"].as_f64().unwrap(),
            1.0 / 3.0
        );
        assert_eq!(server.requests()[0].body["model"], "default-judge");
    }

    #[tokio::test]
    async fn garbage_then_good_answer_on_retry() {
        let good = answer(&[
            ("Dependency Update Correctness", json!(3)),
            ("Constraint Compliance", json!(3)),
            ("Monorepo Handling", json!(3)),
        ]);
        let (server, judge) = judge(vec![
            ScriptedReply::openai_text("I think the agent did fine overall.", 100, 10),
            ScriptedReply::openai_text(&good, 200, 20),
        ])
        .await;
        let fx = Fixture::new(&WEIGHTED, None);
        let out = judge.evaluate(&fx.ctx()).await.unwrap().unwrap();
        assert!((metric(&out) - 0.5).abs() < 1e-12);
        assert_eq!(out.details["attempts"], 2);
        assert_eq!(out.usage.as_ref().unwrap().tokens_in, 300);
        assert_eq!(out.usage.as_ref().unwrap().tokens_out, 30);
        let retry = &server.requests()[1].body["messages"];
        assert_eq!(
            retry.as_array().unwrap().len(),
            4,
            "system, prompt, bad answer, follow-up"
        );
        assert_eq!(retry[2]["content"], "I think the agent did fine overall.");
        assert!(retry[3]["content"]
            .as_str()
            .unwrap()
            .contains("Respond with JSON only"));
    }

    #[tokio::test]
    async fn garbage_twice_is_an_error_not_a_zero() {
        let (server, judge) = judge(vec![
            ScriptedReply::openai_text("no idea", 1, 1),
            ScriptedReply::openai_text(
                "{\"scores\": [{\"category\": \"Unrelated\", \"score\": 5}]}",
                1,
                1,
            ),
        ])
        .await;
        let fx = Fixture::new(&WEIGHTED, None);
        let err = judge.evaluate(&fx.ctx()).await.unwrap_err();
        let EvalError::Failed { evaluator, message } = err;
        assert_eq!(evaluator, "LLMJudgeEvaluator");
        assert!(
            message.contains("after 2 attempts") && message.contains("no score matched"),
            "{message}"
        );
        assert_eq!(server.requests().len(), 2);
    }

    #[tokio::test]
    async fn missing_category_is_reported_and_excluded() {
        let text = answer(&[
            ("Dependency Update Correctness", json!(5)),
            ("Monorepo Handling", json!(3)),
        ]);
        let (_server, judge) = judge(vec![ScriptedReply::openai_text(&text, 1, 1)]).await;
        let fx = Fixture::new(&WEIGHTED, None);
        let out = judge.evaluate(&fx.ctx()).await.unwrap().unwrap();
        assert!((metric(&out) - (0.5 * 1.0 + 0.2 * 0.5) / 0.7).abs() < 1e-12);
        let errors = out.details["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 1);
        assert!(errors[0]
            .as_str()
            .unwrap()
            .contains("Constraint Compliance"));
    }

    #[tokio::test]
    async fn provider_failure_is_an_evaluator_error() {
        let (_server, judge) = judge(vec![ScriptedReply::json(
            401,
            json!({"error": {"message": "bad key"}}),
        )])
        .await;
        let fx = Fixture::new(&WEIGHTED, None);
        let EvalError::Failed { message, .. } = judge.evaluate(&fx.ctx()).await.unwrap_err();
        assert!(
            message.contains("401") && message.contains("bad key"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn absent_disabled_or_empty_judge_does_not_apply() {
        let (server, judge) = judge(vec![]).await;
        let mut fx = Fixture::new(&WEIGHTED, None);
        fx.scenario.llm_judge.as_mut().unwrap().enabled = Some(false);
        assert!(judge.evaluate(&fx.ctx()).await.unwrap().is_none());
        let fx = Fixture::new(&[], None);
        assert!(judge.evaluate(&fx.ctx()).await.unwrap().is_none());
        let mut fx = Fixture::new(&WEIGHTED, None);
        fx.scenario.llm_judge = None;
        assert!(judge.evaluate(&fx.ctx()).await.unwrap().is_none());
        assert!(server.requests().is_empty());
    }

    #[test]
    fn category_weights_and_names() {
        let texts: Vec<String> = WEIGHTED.iter().map(|s| s.to_string()).collect();
        let cats = parse_categories(&texts);
        let got: Vec<(&str, f64)> = cats.iter().map(|c| (c.name.as_str(), c.weight)).collect();
        assert_eq!(
            got,
            [
                ("Dependency Update Correctness", 0.5),
                ("Constraint Compliance", 0.3),
                ("Monorepo Handling", 0.2)
            ]
        );
        let mixed = parse_categories(&[
            "A (60%)".into(),
            "B: no weight".into(),
            "C (weight 20%)".into(),
        ]);
        let weights: Vec<f64> = mixed.iter().map(|c| c.weight).collect();
        for (got, want) in weights.iter().zip([0.5, 1.0 / 3.0, 1.0 / 6.0]) {
            assert!(
                (got - want).abs() < 1e-12,
                "unweighted gets the mean of the given: {weights:?}"
            );
        }
        let equal = parse_categories(&["A".into(), "B".into()]);
        assert_eq!(
            equal.iter().map(|c| c.weight).collect::<Vec<_>>(),
            [0.5, 0.5]
        );
    }

    #[test]
    fn exact_names_win_over_prefixes_and_maps_are_accepted() {
        let cats = parse_categories(&[
            "Correctness (50%)".into(),
            "Correctness of tests (50%)".into(),
        ]);
        let list = r#"{"scores": [{"category": "Correctness of tests", "score": 2}, {"name": "correctness", "score": 5}]}"#;
        let map = r#"{"scores": {"Correctness of tests": {"score": 2}, "Correctness": 5}}"#;
        for text in [list, map] {
            let v = parse_verdict(text, &cats).unwrap();
            let got: Vec<(&str, f64)> = v
                .scored
                .iter()
                .map(|s| (s.category.name.as_str(), s.score))
                .collect();
            assert_eq!(
                got,
                [("Correctness", 5.0), ("Correctness of tests", 2.0)],
                "{text}"
            );
        }
        assert!(parse_verdict("[]", &cats)
            .unwrap_err()
            .contains("no JSON object"));
    }

    #[test]
    fn scores_are_read_leniently_and_clamped() {
        assert_eq!(score_value(&json!(0)), Some(1.0));
        assert_eq!(score_value(&json!(7)), Some(5.0));
        assert_eq!(score_value(&json!("4/5")), Some(4.0));
        assert_eq!(score_value(&json!(" 3 out of 5")), Some(3.0));
        assert_eq!(score_value(&json!("n/a")), None);
        assert_eq!(score_value(&Value::Null), None);
        assert_eq!(
            (head("aé", 2), tail("éa", 2)),
            ("a", "a"),
            "cuts respect characters"
        );
    }

    #[test]
    fn long_diff_is_capped_with_a_note() {
        let mut fx = Fixture::new(&WEIGHTED, None);
        fx.diff.patch = "+é line\n".repeat(20_000);
        let prompt = build_prompt(&fx.ctx(), &parse_categories(&[String::from("A")]));
        assert!(prompt.len() < MAX_DIFF_BYTES + 10_000);
        // "+é line\n" is 9 bytes and 61440 % 9 = 6 falls on ASCII, so the cut is exactly the cap.
        let note = format!("the first {MAX_DIFF_BYTES} of 180000 bytes are shown");
        assert!(prompt.contains(&note), "{}", &prompt[prompt.len() - 2000..]);
    }
}
