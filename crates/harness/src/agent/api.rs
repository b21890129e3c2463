//! API-driven agents (Anthropic Messages, OpenAI-compatible chat): the shared tool loop.
//!
//! [`ApiAgent`] talks to a model through a [`zebench_provider::Provider`] and lets it work with
//! the run's workspace-confined [`crate::tools::Toolbox`]:
//!
//! 1. the history starts as the system prompt and one user message (the task prompt); the
//!    toolbox's tools are offered with their full JSON schemas;
//! 2. each turn sends the whole history; the answer is appended exactly as returned (text and
//!    tool-use blocks), every tool use is run in order, and all results go back in one
//!    tool-results message (parallel tool calls);
//! 3. an answer without tool uses ends the run (`finished`, its text is the final message).
//!
//! Before every request the loop checks, in order: cancellation (`cancelled`), the run's
//! deadline (`timeout`), [`Limits::max_turns`] (`max_turns`), the token and cost budgets
//! (`budget`). A request in flight is raced against cancellation and the deadline. Each of
//! these stops returns `Ok` with the stop reason in [`AgentReport::stop_reason`]: the run goes
//! on to validation and scoring. A provider error (after the provider's own retries) returns
//! [`AgentError::FailedWith`] with the report so far (stop reason `error`), so the tokens and
//! dollars already spent are still recorded.
//!
//! Cost: the provider-reported cost of a call (OpenRouter's `usage.cost`) wins; otherwise the
//! call is priced from the [`PriceTable`]. When a call can be priced neither way the run's
//! `cost_usd` is left empty (an unknown total is not reported as a smaller known one) and the
//! transcript says so once.

use super::{Agent, AgentContext, AgentError, AgentReport, TranscriptEntry};
use crate::pricing::PriceTable;
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};
use zebench_provider::{
    ChatRequest, ChatResponse, ContentBlock, Message, Provider, StopReason, ToolDef, Usage,
};

/// Limits of one API agent run. Every limit ends the run with a clean stop reason.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Model turns (requests) at most.
    pub max_turns: u32,
    /// Input + output tokens over the whole run.
    pub max_tokens: Option<u64>,
    /// Dollars over the whole run (provider-reported cost, else priced from the table).
    pub max_cost_usd: Option<f64>,
    /// `max_tokens` of each request.
    pub max_output_tokens: u32,
    pub temperature: Option<f64>,
    /// Replaces the built-in system prompt.
    pub system_prompt: Option<String>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_turns: 50,
            max_tokens: None,
            max_cost_usd: None,
            max_output_tokens: 8192,
            temperature: None,
            system_prompt: None,
        }
    }
}

/// The system prompt used unless [`Limits::system_prompt`] replaces it.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a coding agent working in a software repository. \
The repository is your workspace: every command you run starts in its root, and every path you \
give a tool is relative to that root (absolute paths must stay inside it). \
Use the tools to inspect the code, make the changes the task asks for, and check your work, for \
example by running the tests. Work on your own: do not wait for confirmation. \
When you are done, stop calling tools and reply with a short summary of what you changed.";

/// An agent driven by a model API through a [`Provider`].
pub struct ApiAgent {
    name: String,
    provider: Arc<dyn Provider>,
    model: String,
    limits: Limits,
    prices: Arc<PriceTable>,
}

impl ApiAgent {
    /// `name` is recorded as the run's agent (`anthropic`, `openai`, `openrouter`); `model` is
    /// the provider's model id, sent with every request and recorded as the run's model.
    pub fn new(
        name: impl Into<String>,
        provider: Arc<dyn Provider>,
        model: impl Into<String>,
        limits: Limits,
        prices: Arc<PriceTable>,
    ) -> ApiAgent {
        ApiAgent {
            name: name.into(),
            provider,
            model: model.into(),
            limits,
            prices,
        }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The system prompt sent with every request.
    pub fn system_prompt(&self) -> &str {
        self.limits
            .system_prompt
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or(DEFAULT_SYSTEM_PROMPT)
    }
}

impl fmt::Debug for ApiAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiAgent")
            .field("name", &self.name)
            .field("provider", &self.provider.name())
            .field("model", &self.model)
            .field("limits", &self.limits)
            .finish()
    }
}

/// Why the loop ended.
enum Stop {
    Finished,
    MaxTurns,
    Budget,
    Timeout,
    Cancelled,
    Error(String),
}

impl Stop {
    fn reason(&self) -> &'static str {
        match self {
            Stop::Finished => "finished",
            Stop::MaxTurns => "max_turns",
            Stop::Budget => "budget",
            Stop::Timeout => "timeout",
            Stop::Cancelled => "cancelled",
            Stop::Error(_) => "error",
        }
    }
}

/// What the run has spent so far.
#[derive(Default)]
struct Spend {
    usage: Usage,
    /// Answers received (usage is only reported once there is one).
    answers: u64,
    /// Sum of the calls whose cost is known.
    cost: f64,
    unpriced: u64,
    noted_unpriced: bool,
}

/// The state of one run: the report being written and what was spent.
struct Run {
    start: Instant,
    report: AgentReport,
    spend: Spend,
}

impl Run {
    fn note(&mut self, text: impl Into<String>) {
        self.report.log(self.start, "note", None, text);
    }

    fn entry(
        &mut self,
        kind: &str,
        tool: Option<&str>,
        content: String,
        duration: Duration,
        is_error: bool,
    ) {
        self.report.transcript.push(TranscriptEntry {
            at_ms: self.start.elapsed().as_millis() as u64,
            kind: kind.to_string(),
            tool: tool.map(str::to_string),
            content,
            duration_ms: Some(duration.as_millis() as u64),
            is_error,
        });
    }

    /// Copies usage, cost, duration and the stop reason into the report.
    fn finish(mut self, stop: &Stop) -> AgentReport {
        let s = &self.spend;
        let r = &mut self.report;
        if s.answers > 0 {
            r.tokens_in = Some(s.usage.input_tokens);
            r.tokens_out = Some(s.usage.output_tokens);
            r.cache_read_tokens = Some(s.usage.cache_read_tokens);
            r.cache_write_tokens = Some(s.usage.cache_write_tokens);
            r.cost_usd = (s.unpriced == 0).then_some(s.cost);
        }
        r.stop_reason = stop.reason().to_string();
        r.duration_ms = self.start.elapsed().as_millis() as u64;
        self.report
    }
}

/// How a request in flight ended.
enum Answer {
    Done(Result<ChatResponse, zebench_provider::ProviderError>),
    Cancelled,
    Deadline,
}

#[async_trait]
impl Agent for ApiAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }

    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError> {
        let mut run = Run {
            start: Instant::now(),
            report: AgentReport::default(),
            spend: Spend::default(),
        };
        let stop = self.tool_loop(&ctx, &mut run).await;
        let report = run.finish(&stop);
        match stop {
            Stop::Error(message) => Err(AgentError::FailedWith {
                message,
                report: Box::new(report),
            }),
            _ => Ok(report),
        }
    }
}

impl ApiAgent {
    async fn tool_loop(&self, ctx: &AgentContext<'_>, run: &mut Run) -> Stop {
        let system = self.system_prompt().to_string();
        run.report.log(run.start, "system", None, system.clone());
        run.report.log(run.start, "user", None, ctx.prompt);
        let mut req = ChatRequest {
            model: self.model.clone(),
            system: Some(system),
            messages: vec![Message::user(ctx.prompt)],
            tools: ctx
                .tools
                .specs()
                .into_iter()
                .map(|s| ToolDef {
                    name: s.name,
                    description: s.description,
                    input_schema: s.input_schema,
                })
                .collect(),
            max_tokens: self.limits.max_output_tokens,
            temperature: self.limits.temperature,
        };
        loop {
            if ctx.cancel.is_cancelled() {
                run.note("cancelled");
                return Stop::Cancelled;
            }
            if Instant::now() >= ctx.deadline {
                run.note("the run's deadline passed before the next model request");
                return Stop::Timeout;
            }
            if run.report.turns >= u64::from(self.limits.max_turns) {
                run.note(format!(
                    "turn limit reached: {} model requests (max_turns = {})",
                    run.report.turns, self.limits.max_turns
                ));
                return Stop::MaxTurns;
            }
            if let Some(why) = self.over_budget(&run.spend) {
                run.note(why);
                return Stop::Budget;
            }

            run.report.turns += 1;
            let turn = run.report.turns;
            let t0 = Instant::now();
            let deadline = tokio::time::Instant::from_std(ctx.deadline);
            let answer = tokio::select! {
                biased;
                _ = ctx.cancel.cancelled() => Answer::Cancelled,
                _ = tokio::time::sleep_until(deadline) => Answer::Deadline,
                res = self.provider.chat(&req) => Answer::Done(res),
            };
            let elapsed = t0.elapsed();
            let mut resp = match answer {
                Answer::Cancelled => {
                    run.note(format!(
                        "cancelled while waiting for model request {turn} ({} ms)",
                        elapsed.as_millis()
                    ));
                    return Stop::Cancelled;
                }
                Answer::Deadline => {
                    run.note(format!(
                        "the run's deadline passed while waiting for model request {turn} ({} ms)",
                        elapsed.as_millis()
                    ));
                    return Stop::Timeout;
                }
                Answer::Done(Err(e)) => {
                    let message = format!("{}: {e}", self.provider.name());
                    run.report.transcript.push(TranscriptEntry {
                        at_ms: run.start.elapsed().as_millis() as u64,
                        kind: "note".into(),
                        tool: None,
                        content: format!("model request {turn} failed: {message}"),
                        duration_ms: Some(elapsed.as_millis() as u64),
                        is_error: true,
                    });
                    return Stop::Error(message);
                }
                Answer::Done(Ok(resp)) => resp,
            };
            tracing::debug!(
                agent = %self.name,
                model = %self.model,
                turn,
                input_tokens = resp.usage.input_tokens,
                output_tokens = resp.usage.output_tokens,
                latency_ms = resp.latency_ms,
                "model answered"
            );
            self.account(&resp, run);
            if resp.attempts > 1 {
                run.note(format!(
                    "model request {turn} took {} attempts (retried transient errors)",
                    resp.attempts
                ));
            }
            name_tool_uses(&mut resp.content, turn);
            let text = resp.text();
            run.entry("assistant", None, text.clone(), elapsed, false);
            let uses: Vec<(String, String, Value)> = resp
                .tool_uses()
                .map(|(id, name, input)| (id.to_string(), name.to_string(), input.clone()))
                .collect();
            let stop_reason = resp.stop_reason.clone();
            req.messages.push(Message::assistant(resp.content));

            if uses.is_empty() {
                run.report.final_message = (!text.trim().is_empty()).then_some(text);
                match stop_reason {
                    StopReason::MaxTokens => run.note(format!(
                        "model stop reason max_tokens: the answer hit the output limit ({} tokens) and may be cut off; treated as finished",
                        self.limits.max_output_tokens
                    )),
                    StopReason::Other(other) => {
                        run.note(format!("model stop reason {other}; treated as finished"))
                    }
                    _ => {}
                }
                return Stop::Finished;
            }

            let mut results = Vec::with_capacity(uses.len());
            for (id, name, input) in uses {
                if ctx.cancel.is_cancelled() {
                    run.note("cancelled between tool calls");
                    return Stop::Cancelled;
                }
                run.report
                    .log(run.start, "tool_call", Some(&name), input.to_string());
                let t = Instant::now();
                let out = ctx.tools.call(&name, &input).await;
                run.report.tool_calls += 1;
                run.entry(
                    "tool_result",
                    Some(&name),
                    out.content.clone(),
                    t.elapsed(),
                    out.is_error,
                );
                results.push(ContentBlock::ToolResult {
                    tool_use_id: id,
                    content: out.content,
                    is_error: out.is_error,
                });
            }
            req.messages.push(Message::tool_results(results));
        }
    }

    /// Adds a call's usage and cost to the run.
    fn account(&self, resp: &ChatResponse, run: &mut Run) {
        run.spend.usage.add(&resp.usage);
        run.spend.answers += 1;
        let cost = resp
            .cost_usd
            .filter(|c| c.is_finite() && *c >= 0.0)
            .or_else(|| self.prices.cost(&self.model, &resp.usage))
            .or_else(|| {
                (!resp.model.is_empty() && resp.model != self.model)
                    .then(|| self.prices.cost(&resp.model, &resp.usage))
                    .flatten()
            });
        match cost {
            Some(c) => run.spend.cost += c,
            None => {
                run.spend.unpriced += 1;
                if !run.spend.noted_unpriced {
                    run.spend.noted_unpriced = true;
                    let mut text = format!(
                        "cost unknown for model {:?}: the provider reported no cost and the price table has no entry for it (add one in a price file); the run's cost_usd is left empty",
                        self.model
                    );
                    if self.limits.max_cost_usd.is_some() {
                        text.push_str("; max_cost_usd only counts calls whose cost is known");
                    }
                    run.note(text);
                }
            }
        }
    }

    /// Why the next request would exceed a budget, if it would.
    fn over_budget(&self, spend: &Spend) -> Option<String> {
        if let Some(max) = self.limits.max_tokens {
            let used = spend.usage.input_tokens + spend.usage.output_tokens;
            if used >= max {
                return Some(format!(
                    "token budget reached: {used} tokens used (input + output), max_tokens = {max}"
                ));
            }
        }
        if let Some(max) = self.limits.max_cost_usd {
            if spend.cost >= max {
                return Some(format!(
                    "cost budget reached: {:.6} USD spent, max_cost_usd = {max}",
                    spend.cost
                ));
            }
        }
        None
    }
}

/// Gives tool uses without an id (some OpenAI-compatible servers omit them) a unique one, so
/// their results can be matched.
fn name_tool_uses(content: &mut [ContentBlock], turn: u64) {
    for (i, block) in content.iter_mut().enumerate() {
        if let ContentBlock::ToolUse { id, .. } = block {
            if id.trim().is_empty() {
                *id = format!("call_zebench_{turn}_{i}");
            }
        }
    }
}
