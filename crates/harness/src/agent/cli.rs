//! Agents that bring their own tools: Claude Code and any CLI agent from a command template.
//!
//! (API fixed; implementation being written.)

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How Claude Code runs (`claude -p`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
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
#[serde(default)]
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
