//! The parsed `scenario.yaml`: every key of SUITE-FORMAT.md with its meaning.
//!
//! Unknown keys are kept in `extra` maps (never dropped) so `zebench validate` can warn about
//! them; descriptive keys the harness does not act on are kept as raw JSON values.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// Unknown keys at one level of the document, kept verbatim.
pub type Extra = BTreeMap<String, Value>;

/// Default whole-run limit when a scenario does not set `timeout_minutes`.
pub const DEFAULT_TIMEOUT_MINUTES: f64 = 60.0;
/// Default `successMetric` a run must reach to count as successful.
pub const DEFAULT_SUCCESS_THRESHOLD: f64 = 0.7;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scenario {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub suite: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub timeout_minutes: Option<f64>,
    #[serde(default)]
    pub workspace: Option<WorkspaceSpec>,
    #[serde(default)]
    pub baseline: Option<Baseline>,
    #[serde(default)]
    pub validation: Option<Validation>,
    #[serde(default)]
    pub oracle: Option<Oracle>,
    #[serde(default)]
    pub constraints: Option<Constraints>,
    #[serde(default)]
    pub targets: Option<Targets>,
    #[serde(default)]
    pub heuristic_checks: Option<HeuristicChecks>,
    #[serde(default)]
    pub llm_judge: Option<LlmJudge>,
    #[serde(default)]
    pub rubric_overrides: Option<RubricOverrides>,
    #[serde(default)]
    pub artifact: Option<ArtifactSpec>,
    #[serde(default)]
    pub warmup: Option<Warmup>,
    #[serde(default)]
    pub reference_path: Option<String>,
    /// `successMetric` needed for `isSuccessful` (default 0.7).
    #[serde(default)]
    pub success_threshold: Option<f64>,
    /// Validation commands whose failure makes a run unsuccessful (default: install and test).
    #[serde(default)]
    pub critical_commands: Option<Vec<String>>,
    /// Budgets of the efficiency metric.
    #[serde(default)]
    pub efficiency: Option<EfficiencyBudgets>,
    // Descriptive keys: kept and shown, not acted on.
    #[serde(default)]
    pub tiers: Option<Value>,
    #[serde(default)]
    pub dimensions: Option<Value>,
    #[serde(default)]
    pub tags: Option<Value>,
    #[serde(default)]
    pub difficulty: Option<Value>,
    #[serde(default)]
    pub success_criteria: Option<Value>,
    #[serde(default)]
    pub hints: Option<Value>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Per-run budgets: the efficiency metric is 1 within them (defaults in the evaluator).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EfficiencyBudgets {
    #[serde(default)]
    pub tool_calls: Option<f64>,
    #[serde(default)]
    pub minutes: Option<f64>,
    #[serde(default)]
    pub tokens: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkspaceSpec {
    /// false = no fixture and no validation (artifact and knowledge scenarios).
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub node: Option<String>,
    #[serde(default)]
    pub manager: Option<String>,
    #[serde(default)]
    pub managers_allowed: Option<Vec<String>>,
    #[serde(default)]
    pub workspaces: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(default)]
    pub run: Vec<BaselineCommand>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BaselineCommand {
    pub cmd: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    #[serde(default)]
    pub required: Option<bool>,
    #[serde(default)]
    pub commands: ValidationCommands,
    /// Per-command timeout in seconds (default 600).
    #[serde(default)]
    pub timeout_seconds: Option<f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// The five validation commands, run in this order after the agent.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ValidationCommands {
    #[serde(default)]
    pub install: Option<String>,
    #[serde(default)]
    pub test: Option<String>,
    #[serde(default)]
    pub lint: Option<String>,
    #[serde(default)]
    pub typecheck: Option<String>,
    #[serde(default)]
    pub build: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl ValidationCommands {
    /// The commands that are defined, in the order they run.
    pub fn ordered(&self) -> Vec<(&'static str, &str)> {
        [
            ("install", &self.install),
            ("test", &self.test),
            ("lint", &self.lint),
            ("typecheck", &self.typecheck),
            ("build", &self.build),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_deref().map(|c| (k, c)))
        .collect()
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Oracle {
    #[serde(default)]
    pub answers_file: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Constraints {
    #[serde(default)]
    pub blocklist: Vec<BlockedPackage>,
    #[serde(default)]
    pub namespace_migrations: Vec<NamespaceMigration>,
    #[serde(default)]
    pub companion_versions: Vec<CompanionRule>,
    #[serde(default)]
    pub managers_allowed: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlockedPackage {
    pub name: String,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NamespaceMigration {
    pub from: String,
    pub to: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompanionRule {
    pub main: String,
    #[serde(default)]
    pub companions: Vec<Companion>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Companion {
    pub name: String,
    /// e.g. "major must match" (also understood: "minor must match", "exact").
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(default)]
    pub required: Vec<Target>,
    #[serde(default)]
    pub optional: Vec<Target>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub name: String,
    /// A semver range (npm syntax: `>=5.5 <6`, `~20.0`, `^9`).
    pub to: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HeuristicChecks {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub commands: Vec<CommandCheck>,
    #[serde(default)]
    pub files: Vec<FileCheck>,
    #[serde(default)]
    pub patterns: Vec<PatternCheck>,
    #[serde(default)]
    pub structured: Vec<StructuredCheck>,
    #[serde(default)]
    pub scripts: Vec<ScriptCheck>,
    #[serde(flatten)]
    pub extra: Extra,
}

/// Fields every heuristic check has.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CheckCommon {
    pub name: String,
    #[serde(default)]
    pub weight: Option<f64>,
    #[serde(default)]
    pub description: Option<String>,
    /// Pass when the check's condition is *not* met (for `no_*` checks).
    #[serde(default)]
    pub negate: Option<bool>,
}

impl CheckCommon {
    pub fn weight(&self) -> f64 {
        self.weight.unwrap_or(1.0)
    }
    pub fn negated(&self) -> bool {
        self.negate.unwrap_or(false)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CommandCheck {
    #[serde(flatten)]
    pub common: CheckCommon,
    pub command: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FileCheck {
    #[serde(flatten)]
    pub common: CheckCommon,
    pub path: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PatternCheck {
    #[serde(flatten)]
    pub common: CheckCommon,
    /// A glob relative to the workspace.
    pub file: String,
    /// A regular expression.
    pub pattern: String,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StructuredCheck {
    #[serde(flatten)]
    pub common: CheckCommon,
    pub file: String,
    /// `$.a.b[0]`: passes when the path exists in the JSON (or YAML) file.
    #[serde(default)]
    pub json_path: Option<String>,
    /// A Markdown heading that must appear in the file.
    #[serde(default)]
    pub section_header: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ScriptCheck {
    #[serde(flatten)]
    pub common: CheckCommon,
    /// Path relative to the scenario folder (or the workspace when not found there).
    pub script: String,
    #[serde(default)]
    pub args: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LlmJudge {
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub categories: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RubricOverrides {
    #[serde(default)]
    pub weights: BTreeMap<String, f64>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ArtifactSpec {
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub figma_file_id: Option<String>,
    #[serde(default)]
    pub figma_file_key: Option<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Warmup {
    /// `scripted` (run `commands`) or `agent`.
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub commands: Vec<String>,
    #[serde(flatten)]
    pub extra: Extra,
}

impl Scenario {
    pub fn timeout_minutes(&self) -> f64 {
        self.timeout_minutes
            .filter(|t| t.is_finite() && *t > 0.0)
            .unwrap_or(DEFAULT_TIMEOUT_MINUTES)
    }

    pub fn workspace_required(&self) -> bool {
        self.workspace
            .as_ref()
            .and_then(|w| w.required)
            .unwrap_or(true)
    }

    pub fn validation_commands(&self) -> Vec<(&'static str, &str)> {
        match &self.validation {
            Some(v) if v.required != Some(false) && self.workspace_required() => {
                v.commands.ordered()
            }
            _ => Vec::new(),
        }
    }

    pub fn judge_enabled(&self) -> bool {
        self.llm_judge
            .as_ref()
            .and_then(|j| j.enabled)
            .unwrap_or(false)
    }

    pub fn heuristics_enabled(&self) -> bool {
        self.heuristic_checks
            .as_ref()
            .map(|h| h.enabled != Some(false))
            .unwrap_or(false)
    }

    pub fn weights(&self) -> BTreeMap<String, f64> {
        self.rubric_overrides
            .as_ref()
            .map(|r| r.weights.clone())
            .unwrap_or_default()
    }

    pub fn success_threshold(&self) -> f64 {
        self.success_threshold
            .filter(|t| t.is_finite())
            .unwrap_or(DEFAULT_SUCCESS_THRESHOLD)
    }

    /// Validation commands whose failure makes the run unsuccessful.
    pub fn critical_commands(&self) -> Vec<String> {
        self.critical_commands
            .clone()
            .unwrap_or_else(|| vec!["install".into(), "test".into()])
    }

    /// Allowed package managers: `constraints.managers_allowed` wins over `workspace.managers_allowed`.
    pub fn managers_allowed(&self) -> Vec<String> {
        self.constraints
            .as_ref()
            .and_then(|c| c.managers_allowed.clone())
            .or_else(|| {
                self.workspace
                    .as_ref()
                    .and_then(|w| w.managers_allowed.clone())
            })
            .unwrap_or_default()
    }
}
