//! The command agent: any CLI agent run from a shell command template ([`CmdConfig`]).
//!
//! The template runs with `sh -c` in the workspace after [`render_command`] substituted its
//! placeholders, shell-quoted: `{prompt_file}` (the prompt in a file in a private temporary
//! folder outside the workspace; prefer it, or `< {prompt_file}`, to `{prompt}`, which puts the
//! whole prompt in one argument and can pass the system's argument length limit),
//! `{prompt}`, `{workspace}` (absolute path) and `{model}` (`''` when no model is set). Do not
//! put placeholders inside quotes in the template: they are quoted already.
//!
//! The environment is zebench's minus the scrubbed provider keys
//! ([`crate::process::SCRUBBED_ENV`]), plus [`CmdConfig::env`] and the variables named in
//! [`CmdConfig::pass_env`] (e.g. `OPENAI_API_KEY` for Codex). stdout and stderr are merged.
//!
//! Usage `none` (default): the transcript is the command line and the output (one `assistant`
//! entry); the final message is the output's tail. Usage `json-lines`: lines that are JSON
//! objects are read as events:
//!
//! - usage: every top-level `usage` object is summed. `tokensIn` is the sum of `input_tokens`,
//!   `prompt_tokens`, `cache_read_input_tokens` and `cache_creation_input_tokens` (Anthropic
//!   counts cache tokens apart from input tokens); `tokensOut` of `output_tokens` and
//!   `completion_tokens`; `cacheReadTokens` of `cache_read_input_tokens`, `cached_input_tokens`,
//!   `input_tokens_details.cached_tokens` and `prompt_tokens_details.cached_tokens` (the last
//!   three OpenAI style: already part of the input tokens, so not added to `tokensIn`);
//!   `cacheWriteTokens` of `cache_creation_input_tokens`.
//!   Usage nested deeper (e.g. Claude's per-message `message.usage`) is not read, so a stream
//!   with a final cumulative `result.usage` is not counted twice.
//! - cost: top-level `total_cost_usd` (or else `cost_usd`) of every line, summed.
//! - tool calls: lines whose `type` or `item.type` is one of [`TOOL_CALL_TYPES`]; when the
//!   stream has item events (`item.started`/`item.updated`/`item.completed`, as `codex exec
//!   --json` prints), only `item.completed` lines count, so an item is counted once. Content
//!   blocks of a top-level `message` whose `type` is in the list count too (Claude stream-json).
//! - turns: `turn.completed` lines plus top-level `num_turns` values (0 = unknown).
//! - transcript: `item.completed` items: `agent_message` (assistant), `reasoning` (note),
//!   `command_execution` (tool call and its output), other items as tool calls; `error` and
//!   `turn.failed` events as error notes; lines that are not JSON in one note. The final message
//!   is the last agent message (or a top-level `result` text).
//!
//! Outcome: exit 0 → finished; other exit codes → [`AgentError::FailedWith`] quoting the
//! output's tail; timeout and cancel → `FailedWith` with stop reason `timeout` / `cancelled`.

use super::common::{
    command_timeout, json_objects, non_json_lines, secs, shell_quote, tail, u64_field, Clock,
    PromptFile, MESSAGE_TAIL, OUTPUT_CAP,
};
use super::CmdConfig;
use crate::agent::{Agent, AgentContext, AgentError, AgentReport, TranscriptEntry};
use crate::process::{run_command, CommandSpec};
use async_trait::async_trait;
use serde_json::Value;
use std::path::Path;
use std::time::{Instant, SystemTime};

/// Event and item types counted as tool calls in `json-lines` usage mode.
pub const TOOL_CALL_TYPES: &[&str] = &[
    "tool_call",
    "tool_use",
    "function_call",
    "command_execution",
    "file_change",
    "mcp_tool_call",
    "web_search",
];

/// How much output the transcript keeps in `none` usage mode (the tail).
const TRANSCRIPT_OUTPUT: usize = 1024 * 1024;
/// How much output the final message keeps in `none` usage mode (the tail).
const FINAL_MESSAGE: usize = 4000;

/// Substitutes the placeholders of a command template in one pass (a substituted value is never
/// scanned again, so a prompt containing `{workspace}` stays as it is). Every value is
/// shell-quoted with [`shell_quote`]; `{model}` is `''` when `model` is None. Other braces are
/// left alone.
pub fn render_command(
    template: &str,
    prompt: &str,
    prompt_file: &Path,
    workspace: &Path,
    model: Option<&str>,
) -> String {
    let values = [
        ("{prompt_file}", shell_quote(&prompt_file.to_string_lossy())),
        ("{prompt}", shell_quote(prompt)),
        ("{workspace}", shell_quote(&workspace.to_string_lossy())),
        ("{model}", shell_quote(model.unwrap_or(""))),
    ];
    let mut out = String::with_capacity(template.len());
    let mut rest = template;
    'scan: while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let from = &rest[i..];
        for (placeholder, value) in &values {
            if let Some(after) = from.strip_prefix(placeholder) {
                out.push_str(value);
                rest = after;
                continue 'scan;
            }
        }
        out.push('{');
        rest = &from[1..];
    }
    out.push_str(rest);
    out
}

/// A CLI agent from a command template; see the module documentation.
pub struct CmdAgent {
    name: String,
    cfg: CmdConfig,
}

impl CmdAgent {
    /// `name` is recorded as the run's agent (e.g. `cmd:codex`).
    pub fn new(name: impl Into<String>, cfg: CmdConfig) -> CmdAgent {
        CmdAgent {
            name: name.into(),
            cfg,
        }
    }

    pub fn config(&self) -> &CmdConfig {
        &self.cfg
    }

    /// Whether usage is read from JSON lines; a configuration error for an unknown mode.
    fn json_lines(&self) -> Result<bool, AgentError> {
        match self.cfg.usage.as_deref() {
            None | Some("none") | Some("") => Ok(false),
            Some("json-lines") => Ok(true),
            Some(other) => Err(AgentError::Config(format!(
                "{}: usage {other:?} is not supported; use json-lines or none",
                self.name
            ))),
        }
    }
}

/// What `json-lines` mode read from the output.
#[derive(Default)]
pub(super) struct LineStats {
    pub tokens_in: u64,
    pub tokens_out: u64,
    pub cache_read: u64,
    pub cache_write: u64,
    pub saw_usage: bool,
    pub cost: f64,
    pub saw_cost: bool,
    pub tool_calls: u64,
    pub turns: u64,
    pub transcript: Vec<TranscriptEntry>,
    pub commands: Vec<String>,
    pub final_message: Option<String>,
    pub json_lines: usize,
}

fn nested_u64(v: &Value, outer: &str, key: &str) -> u64 {
    v.get(outer).map(|o| u64_field(o, key)).unwrap_or(0)
}

/// Reads usage, cost, tool calls and a transcript from JSON lines (see the module docs).
pub(super) fn parse_json_lines(output: &str, clock: &mut Clock) -> LineStats {
    let lines = json_objects(output);
    let type_of = |v: &Value| {
        v.get("type")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let item_type = |v: &Value| {
        v.get("item")
            .and_then(|i| i.get("type"))
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let item_events = lines.iter().any(|l| type_of(l).starts_with("item."));
    let is_tool = |t: &str| TOOL_CALL_TYPES.contains(&t);
    let mut s = LineStats {
        json_lines: lines.len(),
        ..LineStats::default()
    };
    for line in &lines {
        let at = clock.at(line);
        let ty = type_of(line);
        if let Some(u) = line.get("usage").filter(|u| u.is_object()) {
            s.saw_usage = true;
            let read = u64_field(u, "cache_read_input_tokens");
            let write = u64_field(u, "cache_creation_input_tokens");
            s.tokens_in +=
                u64_field(u, "input_tokens") + u64_field(u, "prompt_tokens") + read + write;
            s.tokens_out += u64_field(u, "output_tokens") + u64_field(u, "completion_tokens");
            s.cache_read += read
                + u64_field(u, "cached_input_tokens")
                + nested_u64(u, "input_tokens_details", "cached_tokens")
                + nested_u64(u, "prompt_tokens_details", "cached_tokens");
            s.cache_write += write;
        }
        if let Some(c) = line
            .get("total_cost_usd")
            .or_else(|| line.get("cost_usd"))
            .and_then(Value::as_f64)
        {
            s.saw_cost = true;
            s.cost += c;
        }
        if ty == "turn.completed" {
            s.turns += 1;
        }
        s.turns += u64_field(line, "num_turns");
        let counted = if item_events {
            ty == "item.completed" && is_tool(&item_type(line))
        } else {
            is_tool(&ty) || is_tool(&item_type(line))
        };
        if counted {
            s.tool_calls += 1;
        }
        if let Some(blocks) = line
            .get("message")
            .and_then(|m| m.get("content"))
            .and_then(Value::as_array)
        {
            s.tool_calls += blocks
                .iter()
                .filter(|b| b.get("type").and_then(Value::as_str).is_some_and(is_tool))
                .count() as u64;
        }
        let mut push = |kind: &str, tool: Option<&str>, content: String, is_error: bool| {
            s.transcript.push(TranscriptEntry {
                at_ms: at,
                kind: kind.into(),
                tool: tool.map(str::to_string),
                content,
                duration_ms: None,
                is_error,
            })
        };
        match ty.as_str() {
            "item.completed" => {
                let item = &line["item"];
                let text = || item.get("text").and_then(Value::as_str).unwrap_or("");
                match item_type(line).as_str() {
                    "agent_message" => {
                        push("assistant", None, text().to_string(), false);
                        s.final_message = Some(text().to_string());
                    }
                    "reasoning" => push("note", None, format!("reasoning: {}", text()), false),
                    "command_execution" => {
                        let command = item.get("command").and_then(Value::as_str).unwrap_or("");
                        let exit = item.get("exit_code").and_then(Value::as_i64);
                        let failed = exit.is_some_and(|c| c != 0)
                            || item.get("status").and_then(Value::as_str) == Some("failed");
                        let output = item
                            .get("aggregated_output")
                            .and_then(Value::as_str)
                            .unwrap_or("");
                        push(
                            "tool_call",
                            Some("command_execution"),
                            command.to_string(),
                            false,
                        );
                        push(
                            "tool_result",
                            Some("command_execution"),
                            match exit {
                                Some(c) => format!("exit code {c}\n{output}"),
                                None => output.to_string(),
                            },
                            failed,
                        );
                        s.commands.push(command.to_string());
                    }
                    "error" => {
                        let message = item.get("message").and_then(Value::as_str).unwrap_or("");
                        push("note", None, format!("error: {message}"), true);
                    }
                    "mcp_tool_call" => {
                        let server = item.get("server").and_then(Value::as_str).unwrap_or("?");
                        let tool = item.get("tool").and_then(Value::as_str).unwrap_or("?");
                        let failed = item.get("status").and_then(Value::as_str) == Some("failed");
                        push(
                            "tool_call",
                            Some(&format!("mcp:{server}/{tool}")),
                            item.to_string(),
                            failed,
                        );
                    }
                    other => {
                        let failed = item.get("status").and_then(Value::as_str) == Some("failed");
                        push("tool_call", Some(other), item.to_string(), failed);
                    }
                }
            }
            "error" => {
                let message = line
                    .get("message")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| line.to_string());
                push("note", None, format!("error: {message}"), true);
            }
            "turn.failed" => {
                let message = line
                    .get("error")
                    .and_then(|e| e.get("message"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| line.to_string());
                push("note", None, format!("turn failed: {message}"), true);
            }
            _ => {}
        }
        if let Some(text) = line.get("result").and_then(Value::as_str) {
            if s.final_message.is_none() {
                s.final_message = Some(text.to_string());
            }
        }
    }
    s
}

#[async_trait]
impl Agent for CmdAgent {
    fn name(&self) -> &str {
        &self.name
    }

    fn model(&self) -> Option<&str> {
        self.cfg.model.as_deref()
    }

    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError> {
        let start = Instant::now();
        let started_wall = SystemTime::now();
        let name = self.name.as_str();
        let json_lines = self.json_lines()?;
        if self.cfg.command.trim().is_empty() {
            return Err(AgentError::Config(format!(
                "{name}: no command set (a shell command template using {{prompt_file}}, \
                 {{prompt}}, {{workspace}}, {{model}})"
            )));
        }
        let prompt = PromptFile::write(name, ctx.prompt, ctx.workspace)?;
        let command = render_command(
            &self.cfg.command,
            ctx.prompt,
            &prompt.path,
            ctx.workspace,
            self.cfg.model.as_deref(),
        );
        let mut env = self.cfg.env.clone();
        let mut missing = Vec::new();
        for var in &self.cfg.pass_env {
            match std::env::var(var) {
                Ok(v) => env.push((var.clone(), v)),
                Err(_) => missing.push(var.as_str()),
            }
        }

        let mut r = AgentReport::default();
        r.log(start, "user", None, ctx.prompt);
        r.log(
            start,
            "note",
            None,
            format!("$ {}", tail(&command, 64 * 1024)),
        );
        if !missing.is_empty() {
            r.log(
                start,
                "note",
                None,
                format!(
                    "pass_env: not set in zebench's environment: {}",
                    missing.join(", ")
                ),
            );
        }
        let timeout = command_timeout(ctx.deadline);
        let out = run_command(CommandSpec {
            command,
            cwd: ctx.workspace.to_path_buf(),
            env,
            timeout,
            output_cap: OUTPUT_CAP,
            cancel: ctx.cancel.clone(),
        })
        .await;
        if let Some(e) = out.spawn_error {
            return Err(AgentError::Config(format!("{name}: {e}")));
        }

        let end_ms = start.elapsed().as_millis() as u64;
        let mut parsed_lines = false;
        if json_lines {
            let s = parse_json_lines(&out.output, &mut Clock::new(started_wall));
            if s.json_lines > 0 {
                parsed_lines = true;
                if s.saw_usage {
                    r.tokens_in = Some(s.tokens_in);
                    r.tokens_out = Some(s.tokens_out);
                    r.cache_read_tokens = Some(s.cache_read);
                    r.cache_write_tokens = Some(s.cache_write);
                }
                r.cost_usd = s.saw_cost.then_some(s.cost);
                r.tool_calls = s.tool_calls;
                r.turns = s.turns;
                r.transcript.extend(s.transcript);
                r.commands = s.commands;
                r.final_message = s.final_message;
                let stray = non_json_lines(&out.output);
                if !stray.is_empty() {
                    r.transcript.push(TranscriptEntry {
                        at_ms: end_ms,
                        kind: "note".into(),
                        tool: None,
                        content: format!("output (not JSON): {}", tail(&stray, TRANSCRIPT_OUTPUT)),
                        duration_ms: None,
                        is_error: false,
                    });
                }
            }
        }
        if !parsed_lines {
            let text = out.output.trim();
            if !text.is_empty() {
                r.transcript.push(TranscriptEntry {
                    at_ms: end_ms,
                    kind: "assistant".into(),
                    tool: None,
                    content: tail(text, TRANSCRIPT_OUTPUT),
                    duration_ms: None,
                    is_error: false,
                });
                r.final_message = Some(tail(text, FINAL_MESSAGE));
            }
        }
        if out.truncated_bytes > 0 {
            r.transcript.push(TranscriptEntry {
                at_ms: end_ms,
                kind: "note".into(),
                tool: None,
                content: format!(
                    "{} bytes of output were elided (cap {} MiB)",
                    out.truncated_bytes,
                    OUTPUT_CAP >> 20
                ),
                duration_ms: None,
                is_error: true,
            });
        }
        r.duration_ms = start.elapsed().as_millis() as u64;

        let (stop, message) = if out.cancelled {
            (
                "cancelled",
                format!("{name} was cancelled after {}", secs(start.elapsed())),
            )
        } else if out.timed_out {
            (
                "timeout",
                format!(
                    "{name} timed out after {} (the run's time limit) and was killed",
                    secs(timeout)
                ),
            )
        } else {
            match out.exit_code {
                Some(0) => {
                    r.stop_reason = "finished".into();
                    return Ok(r);
                }
                Some(code) => (
                    "error",
                    format!(
                        "{name} exited with code {code}: {}",
                        output_tail(&out.output)
                    ),
                ),
                None => (
                    "error",
                    format!(
                        "{name} was killed by a signal: {}",
                        output_tail(&out.output)
                    ),
                ),
            }
        };
        r.stop_reason = stop.into();
        Err(AgentError::FailedWith {
            message,
            report: Box::new(r),
        })
    }
}

fn output_tail(output: &str) -> String {
    if output.trim().is_empty() {
        "no output".into()
    } else {
        tail(output, MESSAGE_TAIL)
    }
}
