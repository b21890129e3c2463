//! Agents that bring their own tools: Claude Code and any CLI agent from a command template.
//!
//! Both run as one shell command in the workspace through [`crate::process::run_command`]
//! (own process group, killed on timeout or cancel, output capped). The prompt is written to a
//! file in a private temporary folder outside the workspace and fed on stdin or named on the
//! command line, never pasted into the command unquoted.
//!
//! - [`ClaudeCodeAgent`] runs `claude -p` and reads its `stream-json` or `json` output: the
//!   transcript (messages, tool calls and results), usage, cost, turns and the final message.
//! - [`CmdAgent`] runs any command template ([`CmdConfig::command`]) with the placeholders
//!   `{prompt_file}`, `{prompt}`, `{workspace}` and `{model}` substituted shell-quoted, and can
//!   read usage from JSON lines (e.g. `codex exec --json`).
//!
//! Timing: output is parsed after the process has ended, so transcript entries carry the time of
//! the `timestamp` field of their line when there is one, and otherwise the time of the last
//! entry that had one (0 when none did): treat `at_ms` of CLI agents as approximate.

mod claude;
mod cmd;
mod common;
#[cfg(test)]
mod tests;

pub use claude::ClaudeCodeAgent;
pub use cmd::{render_command, CmdAgent, TOOL_CALL_TYPES};
pub use common::shell_quote;

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How Claude Code runs (`claude -p`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaudeCodeConfig {
    /// The executable (default `claude`, looked up on PATH).
    pub binary: PathBuf,
    /// `--model`; None = Claude Code's default.
    pub model: Option<String>,
    /// `--permission-mode` (default `acceptEdits`; never `bypassPermissions` unless set).
    pub permission_mode: String,
    /// `--allowedTools` (default: Read, Edit, Write, Bash, Glob, Grep, LS).
    pub allowed_tools: Vec<String>,
    /// `stream-json` (default: a transcript with tool calls) or `json` (the result only).
    pub output_format: String,
    /// `--max-turns`, when set.
    pub max_turns: Option<u32>,
    /// Appended to the command line.
    pub extra_args: Vec<String>,
}

impl Default for ClaudeCodeConfig {
    fn default() -> Self {
        ClaudeCodeConfig {
            binary: PathBuf::from("claude"),
            model: None,
            permission_mode: "acceptEdits".into(),
            allowed_tools: ["Read", "Edit", "Write", "Bash", "Glob", "Grep", "LS"]
                .map(String::from)
                .to_vec(),
            output_format: "stream-json".into(),
            max_turns: None,
            extra_args: Vec::new(),
        }
    }
}

/// Any CLI agent: a shell command template run in the workspace.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CmdConfig {
    /// `sh -c` template. Placeholders (shell-quoted when substituted): `{prompt_file}`,
    /// `{prompt}`, `{workspace}`, `{model}`.
    pub command: String,
    pub model: Option<String>,
    /// `json-lines`: read usage, cost and tool calls from JSON lines on stdout (e.g.
    /// `codex exec --json`); `none` (default): only the transcript.
    pub usage: Option<String>,
    /// Extra environment for the command.
    pub env: Vec<(String, String)>,
    /// Names of variables zebench scrubs from commands (provider keys) that this agent needs.
    pub pass_env: Vec<String>,
}
