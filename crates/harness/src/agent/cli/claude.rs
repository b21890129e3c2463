//! The `claude-code` agent: Claude Code in print mode (`claude -p`).
//!
//! Command line, run with `sh -c` in the workspace (every argument shell-quoted):
//!
//! ```text
//! exec <binary> -p --output-format <stream-json|json> [--verbose] --permission-mode <mode>
//!      [--allowedTools <a,b,c>] [--model M] [--max-turns N] <extra_args…>
//!      < <tmp>/prompt.txt 2> <tmp>/stderr.txt
//! ```
//!
//! `--verbose` is added for `stream-json`, which Claude Code requires in print mode. The prompt
//! goes on stdin from a file in a private temporary folder outside the workspace (prompts can be
//! longer than a command line may be). stderr goes to a file next to it so that it cannot break
//! JSON lines on stdout; its tail is quoted in errors and kept as a `note` in the transcript.
//!
//! `ANTHROPIC_*` and `CLAUDE_CODE_*` variables of zebench's environment are passed explicitly,
//! since [`crate::process::run_command`] scrubs `ANTHROPIC_API_KEY` from commands.
//!
//! Report: `tokensIn` = input + cache creation + cache read tokens (every prompt token),
//! `tokensOut` = output tokens, cache tokens, `costUsd` = `total_cost_usd`, `turns` =
//! `num_turns`, all from the final `result` line (cumulative for the process); `toolCalls` =
//! `tool_use` blocks seen (always 0 with `--output-format json`, which has no transcript).
//! Without a result line (timeout, crash) usage is summed over the assistant messages seen (one
//! count per message id) and `turns` is the number of those messages.
//!
//! Outcome: `success` → finished; `error_max_turns` → `Ok` with stop reason `max_turns` (the
//! agent used its turn budget: its work is evaluated as it is); `is_error` or another error
//! subtype → [`AgentError::FailedWith`] with the result text; no result line → `FailedWith`
//! quoting the output's tail; timeout → `FailedWith` with stop reason `timeout`; cancel →
//! `FailedWith` with stop reason `cancelled`; binary not found → [`AgentError::Config`].

use super::common::{
    command_timeout, file_tail, json_objects, non_json_lines, secs, shell_quote, tail, u64_field,
    Clock, PromptFile, MESSAGE_TAIL, OUTPUT_CAP,
};
use super::ClaudeCodeConfig;
use crate::agent::{Agent, AgentContext, AgentError, AgentReport, TranscriptEntry};
use crate::process::{run_command, CommandSpec};
use async_trait::async_trait;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

const NAME: &str = "claude-code";

/// Claude Code (`claude -p`) as an agent; see the module documentation for the command line and
/// what is reported.
pub struct ClaudeCodeAgent {
    cfg: ClaudeCodeConfig,
}

impl ClaudeCodeAgent {
    pub fn new(cfg: ClaudeCodeConfig) -> ClaudeCodeAgent {
        ClaudeCodeAgent { cfg }
    }

    pub fn config(&self) -> &ClaudeCodeConfig {
        &self.cfg
    }

    /// The arguments after the binary (unquoted), or a configuration error for an output format
    /// other than `stream-json` and `json`.
    pub fn args(&self) -> Result<Vec<String>, AgentError> {
        let c = &self.cfg;
        let format = c.output_format.as_str();
        if format != "stream-json" && format != "json" {
            return Err(AgentError::Config(format!(
                "{NAME}: output_format {format:?} is not supported; use stream-json (a transcript \
                 with tool calls) or json (the result only)"
            )));
        }
        let mut args: Vec<String> = vec!["-p".into(), "--output-format".into(), format.into()];
        if format == "stream-json" {
            args.push("--verbose".into());
        }
        if !c.permission_mode.is_empty() {
            args.push("--permission-mode".into());
            args.push(c.permission_mode.clone());
        }
        if !c.allowed_tools.is_empty() {
            args.push("--allowedTools".into());
            args.push(c.allowed_tools.join(","));
        }
        if let Some(m) = &c.model {
            args.push("--model".into());
            args.push(m.clone());
        }
        if let Some(n) = c.max_turns {
            args.push("--max-turns".into());
            args.push(n.to_string());
        }
        args.extend(c.extra_args.iter().cloned());
        Ok(args)
    }

    /// The `sh -c` command line: `exec <binary> <args> < <prompt_file> 2> <stderr_file>`, every
    /// word shell-quoted.
    pub fn command_line(
        &self,
        binary: &Path,
        prompt_file: &Path,
        stderr_file: &Path,
    ) -> Result<String, AgentError> {
        let mut words = vec![shell_quote(&binary.to_string_lossy())];
        words.extend(self.args()?.iter().map(|a| shell_quote(a)));
        Ok(format!(
            "exec {} < {} 2> {}",
            words.join(" "),
            shell_quote(&prompt_file.to_string_lossy()),
            shell_quote(&stderr_file.to_string_lossy())
        ))
    }
}

/// Finds the executable: a path with a `/` is taken as it is (made absolute against zebench's
/// working folder, since the command runs in the workspace), a bare name is looked up on PATH.
fn resolve_binary(binary: &Path) -> Result<PathBuf, AgentError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    let hint = "install Claude Code (npm install -g @anthropic-ai/claude-code) or set the \
                claude-code agent's binary to its path";
    if binary.as_os_str().is_empty() {
        return Err(AgentError::Config(format!("{NAME}: no binary set; {hint}")));
    }
    if binary.components().count() > 1 || binary.is_absolute() {
        let abs = std::path::absolute(binary).unwrap_or_else(|_| binary.to_path_buf());
        return if executable(&abs) {
            Ok(abs)
        } else {
            Err(AgentError::Config(format!(
                "{NAME}: {} is not an executable file; {hint}",
                abs.display()
            )))
        };
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(binary))
        .find(|p| executable(p))
        .ok_or_else(|| {
            AgentError::Config(format!(
                "{NAME}: `{}` was not found on PATH; {hint}",
                binary.display()
            ))
        })
}

/// `ANTHROPIC_*` and `CLAUDE_CODE_*` variables of this process, passed explicitly so that the
/// scrubbed `ANTHROPIC_API_KEY` reaches Claude Code.
fn claude_env() -> Vec<(String, String)> {
    std::env::vars_os()
        .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
        .filter(|(k, _)| k.starts_with("ANTHROPIC_") || k.starts_with("CLAUDE_CODE_"))
        .collect()
}

/// What was read from Claude Code's output.
pub(super) struct Parsed {
    pub transcript: Vec<TranscriptEntry>,
    pub tool_calls: u64,
    pub commands: Vec<String>,
    /// The final `result` line.
    pub result: Option<Value>,
    /// Usage per assistant message id, in order (for runs without a result line).
    pub message_usage: Vec<(String, Value)>,
    pub last_text: Option<String>,
}

/// Reads the JSON lines of `claude -p` (`stream-json`, or the single `json` result object or
/// array), stamping entries with `clock`.
pub(super) fn parse_output(stdout: &str, clock: &mut Clock) -> Parsed {
    let mut p = Parsed {
        transcript: Vec::new(),
        tool_calls: 0,
        commands: Vec::new(),
        result: None,
        message_usage: Vec::new(),
        last_text: None,
    };
    // tool_use id → (tool name, time of the call).
    let mut calls: HashMap<String, (String, u64)> = HashMap::new();
    for line in json_objects(stdout) {
        let at = clock.at(&line);
        let mut push = |kind: &str, tool: Option<&str>, content: String, is_error: bool| {
            p.transcript.push(TranscriptEntry {
                at_ms: at,
                kind: kind.into(),
                tool: tool.map(str::to_string),
                content,
                duration_ms: None,
                is_error,
            })
        };
        match line.get("type").and_then(Value::as_str).unwrap_or("") {
            "system" => {
                let subtype = line.get("subtype").and_then(Value::as_str).unwrap_or("");
                if subtype == "init" {
                    let field = |k: &str| line.get(k).map(compact).unwrap_or_default();
                    push(
                        "system",
                        None,
                        format!(
                            "Claude Code {} · model {} · permission mode {} · tools {} · cwd {} · session {}",
                            field("claude_code_version"),
                            field("model"),
                            field("permissionMode"),
                            field("tools"),
                            field("cwd"),
                            field("session_id"),
                        ),
                        false,
                    );
                } else {
                    push("system", None, compact(&line), false);
                }
            }
            "assistant" => {
                let msg = line.get("message").unwrap_or(&Value::Null);
                if let (Some(id), Some(usage)) = (
                    msg.get("id").and_then(Value::as_str),
                    msg.get("usage").filter(|u| u.is_object()),
                ) {
                    match p.message_usage.iter_mut().find(|(i, _)| i == id) {
                        Some(slot) => slot.1 = usage.clone(),
                        None => p.message_usage.push((id.to_string(), usage.clone())),
                    }
                }
                for block in content_blocks(msg) {
                    match block.get("type").and_then(Value::as_str).unwrap_or("") {
                        "text" => {
                            let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                            if !text.trim().is_empty() {
                                push("assistant", None, text.to_string(), false);
                                p.last_text = Some(text.to_string());
                            }
                        }
                        "thinking" => {
                            let text = block.get("thinking").and_then(Value::as_str).unwrap_or("");
                            if !text.trim().is_empty() {
                                push("note", None, format!("thinking: {text}"), false);
                            }
                        }
                        "tool_use" | "server_tool_use" => {
                            let name = block.get("name").and_then(Value::as_str).unwrap_or("?");
                            let input = block.get("input").cloned().unwrap_or(Value::Null);
                            if let Some(id) = block.get("id").and_then(Value::as_str) {
                                calls.insert(id.to_string(), (name.to_string(), at));
                            }
                            if name == "Bash" {
                                if let Some(c) = input.get("command").and_then(Value::as_str) {
                                    p.commands.push(c.to_string());
                                }
                            }
                            p.tool_calls += 1;
                            push("tool_call", Some(name), input.to_string(), false);
                        }
                        _ => {}
                    }
                }
            }
            "user" => {
                let msg = line.get("message").unwrap_or(&Value::Null);
                if let Some(text) = msg.get("content").and_then(Value::as_str) {
                    push("user", None, text.to_string(), false);
                }
                for block in content_blocks(msg) {
                    match block.get("type").and_then(Value::as_str).unwrap_or("") {
                        "tool_result" => {
                            let id = block.get("tool_use_id").and_then(Value::as_str);
                            let call = id.and_then(|id| calls.get(id));
                            let is_error = block
                                .get("is_error")
                                .and_then(Value::as_bool)
                                .unwrap_or(false);
                            let content = result_text(block.get("content"));
                            p.transcript.push(TranscriptEntry {
                                at_ms: at,
                                kind: "tool_result".into(),
                                tool: call.map(|(name, _)| name.clone()),
                                content,
                                duration_ms: call
                                    .filter(|(_, t)| *t > 0 && at > 0)
                                    .map(|(_, t)| at.saturating_sub(*t)),
                                is_error,
                            });
                        }
                        "text" => {
                            let text = block.get("text").and_then(Value::as_str).unwrap_or("");
                            p.transcript.push(TranscriptEntry {
                                at_ms: at,
                                kind: "user".into(),
                                tool: None,
                                content: text.to_string(),
                                duration_ms: None,
                                is_error: false,
                            });
                        }
                        _ => {}
                    }
                }
            }
            "result" => p.result = Some(line),
            // stream_event (partial messages) and anything newer: not part of the transcript.
            _ => {}
        }
    }
    p
}

fn content_blocks(msg: &Value) -> impl Iterator<Item = &Value> {
    msg.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
}

/// A tool result's content: a string, or the text of an array of blocks.
fn result_text(content: Option<&Value>) -> String {
    match content {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .map(|b| match b.get("type").and_then(Value::as_str) {
                Some("text") => b
                    .get("text")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                Some("image") => "[image]".to_string(),
                _ => compact(b),
            })
            .collect::<Vec<_>>()
            .join("\n"),
        Some(other) => compact(other),
    }
}

/// A JSON value as text: strings as they are, anything else compact JSON.
fn compact(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Sets the report's usage from a `usage` object (Anthropic fields).
fn set_usage(r: &mut AgentReport, usage: &Value) {
    let input = u64_field(usage, "input_tokens");
    let write = u64_field(usage, "cache_creation_input_tokens");
    let read = u64_field(usage, "cache_read_input_tokens");
    r.tokens_in = Some(input + write + read);
    r.tokens_out = Some(u64_field(usage, "output_tokens"));
    r.cache_read_tokens = Some(read);
    r.cache_write_tokens = Some(write);
}

#[async_trait]
impl Agent for ClaudeCodeAgent {
    fn name(&self) -> &str {
        NAME
    }

    fn model(&self) -> Option<&str> {
        self.cfg.model.as_deref()
    }

    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError> {
        let start = Instant::now();
        let started_wall = SystemTime::now();
        self.args()?;
        let binary = resolve_binary(&self.cfg.binary)?;
        let prompt = PromptFile::write(NAME, ctx.prompt, ctx.workspace)?;
        let stderr_path = prompt.sibling("stderr.txt");
        let command = self.command_line(&binary, &prompt.path, &stderr_path)?;

        let mut r = AgentReport::default();
        r.log(start, "user", None, ctx.prompt);
        r.log(start, "note", None, format!("$ {command}"));
        let timeout = command_timeout(ctx.deadline);
        let out = run_command(CommandSpec {
            command,
            cwd: ctx.workspace.to_path_buf(),
            env: claude_env(),
            timeout,
            output_cap: OUTPUT_CAP,
            cancel: ctx.cancel.clone(),
        })
        .await;
        if let Some(e) = out.spawn_error {
            return Err(AgentError::Config(format!("{NAME}: {e}")));
        }
        let stderr = file_tail(&stderr_path, 64 * 1024);
        let parsed = parse_output(&out.output, &mut Clock::new(started_wall));
        let end_ms = start.elapsed().as_millis() as u64;

        // exit 127/126 from `exec`: the binary vanished or cannot run (resolved just before).
        if matches!(out.exit_code, Some(126 | 127)) && parsed.transcript.is_empty() {
            return Err(AgentError::Config(format!(
                "{NAME}: could not start {}: {}; install Claude Code or set the agent's binary \
                 to its path",
                binary.display(),
                tail(&stderr, MESSAGE_TAIL)
            )));
        }

        r.transcript.extend(parsed.transcript);
        r.tool_calls = parsed.tool_calls;
        r.commands = parsed.commands;
        r.final_message = parsed.last_text;
        let note = |r: &mut AgentReport, content: String, is_error: bool| {
            r.transcript.push(TranscriptEntry {
                at_ms: end_ms,
                kind: "note".into(),
                tool: None,
                content,
                duration_ms: None,
                is_error,
            })
        };
        let result = parsed.result;
        match &result {
            Some(res) => {
                if let Some(usage) = res.get("usage").filter(|u| u.is_object()) {
                    set_usage(&mut r, usage);
                }
                r.cost_usd = res
                    .get("total_cost_usd")
                    .or_else(|| res.get("cost_usd"))
                    .and_then(Value::as_f64);
                r.turns = u64_field(res, "num_turns");
                if let Some(text) = res.get("result").and_then(Value::as_str) {
                    r.final_message = Some(text.to_string());
                }
                let mut summary = vec![format!(
                    "result: {}",
                    res.get("subtype").and_then(Value::as_str).unwrap_or("?")
                )];
                if res.get("is_error").and_then(Value::as_bool) == Some(true) {
                    summary.push("is_error".into());
                }
                summary.push(format!("{} turns", r.turns));
                if let Some(c) = r.cost_usd {
                    summary.push(format!("${c:.4}"));
                }
                if let Some(ms) = res.get("duration_ms").and_then(Value::as_u64) {
                    summary.push(format!("{ms} ms (reported)"));
                }
                if let Some(s) = res.get("session_id").and_then(Value::as_str) {
                    summary.push(format!("session {s}"));
                }
                note(&mut r, summary.join(" · "), false);
            }
            None => {
                // Usage so far: the last usage of each assistant message.
                if !parsed.message_usage.is_empty() {
                    let sum = |k: &str| {
                        parsed
                            .message_usage
                            .iter()
                            .map(|(_, u)| u64_field(u, k))
                            .sum::<u64>()
                    };
                    let total = serde_json::json!({
                        "input_tokens": sum("input_tokens"),
                        "cache_creation_input_tokens": sum("cache_creation_input_tokens"),
                        "cache_read_input_tokens": sum("cache_read_input_tokens"),
                        "output_tokens": sum("output_tokens"),
                    });
                    set_usage(&mut r, &total);
                    r.turns = parsed.message_usage.len() as u64;
                }
            }
        }
        let stray = non_json_lines(&out.output);
        if !stray.is_empty() {
            note(
                &mut r,
                format!("stdout (not JSON): {}", tail(&stray, 64 * 1024)),
                false,
            );
        }
        if !stderr.trim().is_empty() {
            note(&mut r, format!("stderr: {}", stderr.trim_end()), false);
        }
        if out.truncated_bytes > 0 {
            note(
                &mut r,
                format!(
                    "{} bytes of output were elided (cap {} MiB)",
                    out.truncated_bytes,
                    OUTPUT_CAP >> 20
                ),
                true,
            );
        }
        r.duration_ms = start.elapsed().as_millis() as u64;

        let output_tail = || {
            let mut parts = Vec::new();
            if !stderr.trim().is_empty() {
                parts.push(format!("stderr: {}", tail(&stderr, MESSAGE_TAIL)));
            }
            if !out.output.trim().is_empty() {
                parts.push(format!("stdout: {}", tail(&out.output, MESSAGE_TAIL)));
            }
            if parts.is_empty() {
                "no output".to_string()
            } else {
                parts.join("\n")
            }
        };
        let fail = |mut r: AgentReport, stop: &str, message: String| {
            r.stop_reason = stop.into();
            Err(AgentError::FailedWith {
                message,
                report: Box::new(r),
            })
        };
        if out.cancelled {
            let elapsed = secs(start.elapsed());
            return fail(
                r,
                "cancelled",
                format!("{NAME} was cancelled after {elapsed}"),
            );
        }
        if out.timed_out {
            let message = format!(
                "{NAME} timed out after {} (the run's time limit) and was killed",
                secs(timeout)
            );
            return fail(r, "timeout", message);
        }
        let Some(res) = result else {
            let how = match out.exit_code {
                Some(0) => "exited without a result line".to_string(),
                Some(code) => format!("exited with code {code} without a result"),
                None => "was killed by a signal".to_string(),
            };
            return fail(r, "error", format!("{NAME} {how}: {}", output_tail()));
        };
        let subtype = res.get("subtype").and_then(Value::as_str).unwrap_or("");
        let is_error = res.get("is_error").and_then(Value::as_bool) == Some(true);
        if subtype == "error_max_turns" {
            r.stop_reason = "max_turns".into();
            return Ok(r);
        }
        if is_error || subtype != "success" {
            let text = res
                .get("result")
                .and_then(Value::as_str)
                .filter(|t| !t.trim().is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("result {subtype:?}; {}", output_tail()));
            return fail(r, "error", format!("{NAME} reported an error: {text}"));
        }
        if let Some(code) = out.exit_code.filter(|c| *c != 0) {
            note(
                &mut r,
                format!("{NAME} exited with code {code} after a successful result"),
                false,
            );
        }
        r.stop_reason = "finished".into();
        Ok(r)
    }
}
