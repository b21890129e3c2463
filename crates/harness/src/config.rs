//! `zebench.toml`: provider keys and endpoints, agent limits, prices, named agents, the judge.
//!
//! Precedence, lowest first: built-in defaults → this file → environment variables → flags. So
//! a key in the environment wins over one in the file, and `--model` wins over both.
//!
//! ```toml
//! [providers.anthropic]
//! api_key = "sk-ant-…"              # or ANTHROPIC_API_KEY
//! base_url = "https://gateway.internal/anthropic"
//!
//! [limits]                          # every API agent run
//! max_turns = 50
//! max_cost_usd = 2.0
//!
//! [pricing]
//! file = "prices.toml"              # overrides the built-in table
//!
//! [claude_code]
//! permission_mode = "acceptEdits"
//!
//! [agents.codex]                    # --agent codex or cmd:codex
//! kind = "cmd"
//! command = "codex exec --json --model {model} - < {prompt_file}"
//! model = "gpt-5"
//! usage = "json-lines"
//!
//! [judge]
//! provider = "openrouter"
//! model = "meta-llama/llama-3.1-8b-instruct"
//! ```

use crate::agent::api::Limits;
use crate::agent::cli::ClaudeCodeConfig;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Env var naming the config file.
pub const CONFIG_ENV: &str = "ZEBENCH_CONFIG";

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub providers: BTreeMap<String, ProviderSection>,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub pricing: PricingSection,
    #[serde(default)]
    pub claude_code: ClaudeCodeConfig,
    #[serde(default)]
    pub agents: BTreeMap<String, AgentDef>,
    #[serde(default)]
    pub judge: JudgeSection,
    /// Where the file was read from (relative paths inside it are relative to its folder).
    #[serde(skip)]
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProviderSection {
    pub api_key: Option<String>,
    pub base_url: Option<String>,
    /// Per-request timeout in seconds (default 300).
    pub timeout_seconds: Option<f64>,
    /// Retries after the first attempt (default 4).
    pub max_retries: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PricingSection {
    /// A TOML file of `[models."name"] input, output, cache_read, cache_write` (USD per
    /// million tokens) that overrides the built-in table.
    pub file: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeSection {
    pub provider: Option<String>,
    pub model: Option<String>,
}

/// A named agent: `kind` is `cmd`, `claude-code`, `anthropic`, `openai` or `openrouter`; the
/// other keys are that kind's settings (a `CmdConfig`, a `ClaudeCodeConfig`, or `model` plus
/// `[limits]`-style keys).
#[derive(Debug, Clone, Deserialize)]
pub struct AgentDef {
    pub kind: String,
    #[serde(flatten)]
    pub settings: toml::Table,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("{path}: {source} (set {CONFIG_ENV} or --config to another file, or create it)")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// `$XDG_CONFIG_HOME/zebench/zebench.toml` (usually `~/.config/zebench/zebench.toml`).
pub fn default_path() -> Option<PathBuf> {
    dirs::config_dir().map(|d| d.join("zebench").join("zebench.toml"))
}

impl Config {
    /// Reads `explicit` (which must exist), else the default file when there is one, else
    /// returns the defaults.
    pub fn load(explicit: Option<&Path>) -> Result<Config, ConfigError> {
        let path = match explicit {
            Some(p) => p.to_path_buf(),
            None => match default_path().filter(|p| p.is_file()) {
                Some(p) => p,
                None => return Ok(Config::default()),
            },
        };
        let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
            path: path.clone(),
            source,
        })?;
        let mut c = Config::parse(&text).map_err(|message| ConfigError::Invalid {
            path: path.clone(),
            message,
        })?;
        c.path = Some(path);
        Ok(c)
    }

    pub fn parse(text: &str) -> Result<Config, String> {
        toml::from_str(text).map_err(|e| e.to_string().trim().replace('\n', " "))
    }

    /// A path from the file, made relative to the file's folder.
    pub fn resolve(&self, p: &Path) -> PathBuf {
        match (&self.path, p.is_relative()) {
            (Some(f), true) => f.parent().unwrap_or(Path::new(".")).join(p),
            _ => p.to_path_buf(),
        }
    }

    /// An environment variable, falling back to the file for provider keys and base URLs
    /// (`ANTHROPIC_API_KEY` → `[providers.anthropic] api_key`).
    pub fn lookup(&self, var: &str) -> Option<String> {
        if let Some(v) = std::env::var(var).ok().filter(|v| !v.trim().is_empty()) {
            return Some(v);
        }
        let (provider, field) = var
            .rsplit_once("_API_KEY")
            .map(|(p, _)| (p, "key"))
            .or_else(|| var.rsplit_once("_BASE_URL").map(|(p, _)| (p, "url")))?;
        let section = self.providers.get(&provider.to_ascii_lowercase())?;
        match field {
            "key" => section.api_key.clone(),
            _ => section.base_url.clone(),
        }
        .filter(|v| !v.trim().is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let c = Config::parse(
            r#"
[providers.openrouter]
api_key = "sk-or-file"
base_url = "http://127.0.0.1:9/api/v1"
[limits]
max_turns = 7
max_cost_usd = 1.5
[pricing]
file = "prices.toml"
[claude_code]
permission_mode = "plan"
[agents.codex]
kind = "cmd"
command = "codex exec --json - < {prompt_file}"
usage = "json-lines"
[judge]
provider = "openrouter"
"#,
        )
        .unwrap();
        assert_eq!(c.limits.max_turns, 7);
        assert_eq!(
            c.limits.max_output_tokens,
            Limits::default().max_output_tokens
        );
        assert_eq!(c.claude_code.permission_mode, "plan");
        assert_eq!(c.claude_code.binary, PathBuf::from("claude"));
        assert_eq!(c.agents["codex"].kind, "cmd");
        assert_eq!(c.judge.provider.as_deref(), Some("openrouter"));
        // The environment wins; the file fills in what it lacks.
        if std::env::var("OPENROUTER_API_KEY").is_err() {
            assert_eq!(
                c.lookup("OPENROUTER_API_KEY").as_deref(),
                Some("sk-or-file")
            );
        }
        assert_eq!(
            c.lookup("OPENROUTER_BASE_URL").as_deref(),
            Some("http://127.0.0.1:9/api/v1")
        );
        assert_eq!(c.lookup("ZEBENCH_NOPE_API_KEY"), None);
    }

    #[test]
    fn unknown_keys_are_errors_that_name_them() {
        let e = Config::parse("[limits]\nmax_turn = 3\n").unwrap_err();
        assert!(e.contains("max_turn"), "{e}");
        let e = Config::parse("[provider.anthropic]\n").unwrap_err();
        assert!(e.contains("provider"), "{e}");
    }
}
