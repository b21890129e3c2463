//! Workspace-confined tools for API-driven agents (SUITE-FORMAT.md "Agent tools").
//!
//! The model only ever sees tool results: unknown tools, bad arguments and refused paths come
//! back as error outputs it can react to, never as panics or harness failures. Every path is
//! confined to the workspace after resolving `..` and symbolic links ([`paths::resolve_within`]).

mod fs_ops;
pub mod paths;
mod specs;
#[cfg(test)]
mod tests;

use crate::agent::QuestionAnswer;
use crate::oracle::Oracle;
use crate::process::{run_command, CommandSpec};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use paths::resolve_within;

/// Bytes of a file `read_file` returns before cutting with a note.
pub const READ_CAP: usize = 256 * 1024;
/// Entries `list_files` returns before cutting with a note.
pub const LIST_CAP: usize = 2000;
/// Folders `list_files` never descends into (huge and never what the model wants).
pub const LIST_SKIPPED_DIRS: &[&str] = &[".git", "node_modules"];

/// One tool as described to the model: name, description and full JSON Schema of its input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// What a tool call returns to the model; `is_error` marks failures the model should fix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolOutput {
    pub content: String,
    pub is_error: bool,
}

impl ToolOutput {
    fn ok(content: impl Into<String>) -> ToolOutput {
        ToolOutput {
            content: content.into(),
            is_error: false,
        }
    }
    fn err(content: impl Into<String>) -> ToolOutput {
        ToolOutput {
            content: content.into(),
            is_error: true,
        }
    }
}

/// What the agent did through the toolbox, copied into its [`crate::agent::AgentReport`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolRecord {
    pub tool_calls: u64,
    pub questions: Vec<QuestionAnswer>,
    pub commands: Vec<String>,
}

/// Why a tool (or path resolution) refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum ToolError {
    #[error("path {path:?} is outside the workspace (paths must stay inside it after resolving `..` and symbolic links)")]
    OutsideWorkspace { path: String },
    #[error("path {path:?} is invalid: {reason}")]
    InvalidPath { path: String, reason: String },
    #[error("cannot use workspace root {}: {source}", path.display())]
    Root {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The tools of one run, bound to its workspace, oracle, limits and cancellation.
pub struct Toolbox {
    root: PathBuf,
    oracle: Option<Oracle>,
    command_timeout: Duration,
    output_cap: usize,
    cancel: CancellationToken,
    record: Mutex<ToolRecord>,
}

impl Toolbox {
    /// Binds the tools to `root` (canonicalized, so it must exist). `command_timeout` is the
    /// default and the maximum for `run_command`; `output_cap` caps its captured output.
    pub fn new(
        root: &Path,
        oracle: Option<Oracle>,
        command_timeout: Duration,
        output_cap: usize,
        cancel: CancellationToken,
    ) -> Result<Toolbox, ToolError> {
        let root = std::fs::canonicalize(root).map_err(|source| ToolError::Root {
            path: root.to_path_buf(),
            source,
        })?;
        Ok(Toolbox {
            root,
            oracle,
            command_timeout,
            output_cap,
            cancel,
            record: Mutex::new(ToolRecord::default()),
        })
    }

    /// The canonical workspace root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether `ask_user` is offered.
    pub fn has_oracle(&self) -> bool {
        self.oracle.is_some()
    }

    /// Resolves a path the model gave to a path inside the workspace, or refuses it.
    pub fn resolve(&self, path: &str) -> Result<PathBuf, ToolError> {
        resolve_within(&self.root, path)
    }

    /// The tools offered to the model (`ask_user` only with an oracle).
    pub fn specs(&self) -> Vec<ToolSpec> {
        specs::all(self.has_oracle())
    }

    /// Runs one tool. Never panics on model input: problems become `is_error` outputs.
    pub async fn call(&self, name: &str, input: &Value) -> ToolOutput {
        self.with_record(|r| r.tool_calls += 1);
        if self.cancel.is_cancelled() {
            return ToolOutput::err("the run was cancelled; no further tool calls are executed");
        }
        let input = match input {
            Value::Null => &Value::Object(Default::default()),
            v => v,
        };
        if !input.is_object() {
            return ToolOutput::err(format!(
                "{name}: the input must be a JSON object with the tool's parameters"
            ));
        }
        match name {
            "read_file" => fs_ops::read_file(self, input).await,
            "write_file" => fs_ops::write_file(self, input).await,
            "edit_file" => fs_ops::edit_file(self, input).await,
            "list_files" => fs_ops::list_files(self, input).await,
            "run_command" => self.run_command(input).await,
            "ask_user" if self.oracle.is_some() => self.ask_user(input),
            _ => {
                let names: Vec<String> = self.specs().into_iter().map(|s| s.name).collect();
                ToolOutput::err(format!(
                    "unknown tool {name:?}; available tools: {}",
                    names.join(", ")
                ))
            }
        }
    }

    /// Takes what was recorded so far, leaving an empty record.
    pub fn take_record(&self) -> ToolRecord {
        self.with_record(std::mem::take)
    }

    fn with_record<T>(&self, f: impl FnOnce(&mut ToolRecord) -> T) -> T {
        let mut guard = self.record.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    async fn run_command(&self, input: &Value) -> ToolOutput {
        let command = match str_arg(input, "run_command", "command") {
            Ok(c) => c,
            Err(e) => return e,
        };
        if command.trim().is_empty() {
            return ToolOutput::err("run_command: `command` is empty");
        }
        let timeout = match input.get("timeout_seconds") {
            None | Some(Value::Null) => self.command_timeout,
            Some(v) => match v.as_f64() {
                Some(s) if s.is_finite() && s > 0.0 => {
                    Duration::from_secs_f64(s.min(1e9)).min(self.command_timeout)
                }
                _ => {
                    return ToolOutput::err(
                        "run_command: `timeout_seconds` must be a positive number",
                    )
                }
            },
        };
        self.with_record(|r| r.commands.push(command.to_string()));
        let mut spec = CommandSpec::new(command.to_string(), self.root.clone(), timeout);
        spec.output_cap = self.output_cap;
        spec.cancel = self.cancel.clone();
        let out = run_command(spec).await;
        let status = if let Some(e) = &out.spawn_error {
            format!("could not start the command: {e}")
        } else if out.timed_out {
            format!("timed out after {} s and was killed", timeout.as_secs_f64())
        } else if out.cancelled {
            "cancelled".to_string()
        } else {
            match out.exit_code {
                Some(c) => format!("exit code {c}"),
                None => "killed by a signal".to_string(),
            }
        };
        let mut content = format!("[{status}; {} ms]\n{}", out.duration_ms, out.output);
        if out.truncated_bytes > 0 {
            content.push_str(&format!(
                "\n[{} bytes of output were elided]",
                out.truncated_bytes
            ));
        }
        ToolOutput {
            content,
            is_error: !out.success(),
        }
    }

    fn ask_user(&self, input: &Value) -> ToolOutput {
        let question = match str_arg(input, "ask_user", "question") {
            Ok(q) => q,
            Err(e) => return e,
        };
        let Some(oracle) = &self.oracle else {
            return ToolOutput::err("ask_user is not available in this scenario");
        };
        let answer = oracle.answer(question);
        self.with_record(|r| {
            r.questions.push(QuestionAnswer {
                question: question.to_string(),
                answer: answer.clone(),
            })
        });
        ToolOutput::ok(answer)
    }
}

/// A required string argument, or the error output naming the tool and parameter.
fn str_arg<'a>(input: &'a Value, tool: &str, key: &str) -> Result<&'a str, ToolOutput> {
    match input.get(key) {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(ToolOutput::err(format!(
            "{tool}: parameter `{key}` must be a string"
        ))),
        None => Err(ToolOutput::err(format!(
            "{tool}: missing required parameter `{key}`"
        ))),
    }
}

/// An optional boolean argument (absent or null = false).
fn bool_arg(input: &Value, tool: &str, key: &str) -> Result<bool, ToolOutput> {
    match input.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ToolOutput::err(format!(
            "{tool}: parameter `{key}` must be true or false"
        ))),
    }
}
