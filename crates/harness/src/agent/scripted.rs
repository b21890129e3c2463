//! The `scripted` agent: replays a YAML script of tool actions through the same workspace tools
//! an API-driven agent gets, so every part of the harness can be exercised offline.
//!
//! ```yaml
//! description: applies the reference fix          # shown in the transcript
//! usage: { tokens_in: 1200, tokens_out: 300, cost_usd: 0.002 }   # reported as-is (simulated)
//! steps:
//!   - say: "Reading the code"                      # an assistant message
//!   - read_file: { path: src/lib.rs }
//!   - write_file: { path: src/lib.rs, content: "..." }
//!   - write_file: { path: src/lib.rs, content_from: files/lib.rs }   # file relative to the script
//!   - edit_file: { path: src/lib.rs, old_string: "a", new_string: "b" }
//!   - run_command: { command: "cargo test" }
//!   - ask_user: { question: "Which version?" }
//!   - copy_reference: true                         # copy the scenario's reference_path over the workspace
//!   - sleep_ms: 50
//!   - fail: "gives up"                             # the agent errors out here
//! ```
//!
//! A script is named by path (`scripted:path/to/script.yaml`) or by name (`scripted:solve`), which
//! is looked up as `<scenario>/agents/solve.yaml`. The run records agent `scripted` and model
//! `script:<name>` so scripted runs are never mistaken for a real model.

use super::{Agent, AgentContext, AgentError, AgentReport};
use async_trait::async_trait;
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Script {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub usage: Option<ScriptUsage>,
    #[serde(default)]
    pub steps: Vec<Map<String, Value>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptUsage {
    #[serde(default)]
    pub tokens_in: Option<u64>,
    #[serde(default)]
    pub tokens_out: Option<u64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

pub struct ScriptedAgent {
    /// A path to a script file, or a name looked up in the scenario's `agents/` folder.
    script: String,
    model: String,
}

impl ScriptedAgent {
    pub fn new(script: impl Into<String>) -> ScriptedAgent {
        let script = script.into();
        let name = Path::new(&script)
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| script.clone());
        ScriptedAgent {
            model: format!("script:{name}"),
            script,
        }
    }

    /// Where the script for a scenario is.
    pub fn script_path(&self, scenario_dir: &Path) -> PathBuf {
        let p = Path::new(&self.script);
        if p.extension().is_some_and(|e| e == "yaml" || e == "yml") || p.components().count() > 1 {
            p.to_path_buf()
        } else {
            scenario_dir
                .join("agents")
                .join(format!("{}.yaml", self.script))
        }
    }
}

/// Parses a script file, naming the file and line on error.
pub fn load_script(path: &Path) -> Result<Script, AgentError> {
    use crate::suite::limits;
    let text = limits::read_text(path, limits::MAX_YAML_BYTES).map_err(|e| match e {
        crate::suite::SuiteError::Io { source, .. } => AgentError::Config(format!(
            "scripted agent: cannot read {}: {source} (name a script file, or put <name>.yaml in the scenario's agents/ folder)",
            path.display()
        )),
        other => AgentError::Config(format!("scripted agent: {other}")),
    })?;
    limits::from_yaml(&text).map_err(|e| {
        let line = e.location().map(|l| l.line()).unwrap_or(0);
        let message = limits::yaml_message(&e).unwrap_or_else(|| {
            e.to_string()
                .lines()
                .next()
                .unwrap_or("invalid script")
                .to_string()
        });
        AgentError::Config(format!("{}:{line}: {message}", path.display()))
    })
}

#[async_trait]
impl Agent for ScriptedAgent {
    fn name(&self) -> &str {
        "scripted"
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }

    async fn run(&self, ctx: AgentContext<'_>) -> Result<AgentReport, AgentError> {
        let start = Instant::now();
        let path = self.script_path(ctx.scenario_dir);
        let script = load_script(&path)?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let mut r = AgentReport::default();
        r.log(start, "user", None, ctx.prompt);
        if let Some(d) = &script.description {
            r.log(
                start,
                "note",
                None,
                format!("scripted agent {}: {d}", path.display()),
            );
        }
        let mut outcome = Ok(());
        for (i, step) in script.steps.iter().enumerate() {
            if ctx.cancel.is_cancelled() {
                r.stop_reason = "cancelled".into();
                break;
            }
            r.turns += 1;
            if let Err(e) = self.step(&ctx, &base, step, &mut r, start).await {
                outcome = Err(AgentError::Failed(format!(
                    "{}: step {}: {e}",
                    path.display(),
                    i + 1
                )));
                break;
            }
        }
        if let Some(u) = script.usage {
            r.tokens_in = u.tokens_in;
            r.tokens_out = u.tokens_out;
            r.cost_usd = u.cost_usd;
        }
        r.duration_ms = start.elapsed().as_millis() as u64;
        if r.stop_reason.is_empty() {
            r.stop_reason = if outcome.is_ok() { "finished" } else { "error" }.into();
        }
        match outcome {
            Ok(()) => Ok(r),
            Err(e) => Err(AgentError::FailedWith {
                message: e.to_string(),
                report: Box::new(r),
            }),
        }
    }
}

impl ScriptedAgent {
    async fn step(
        &self,
        ctx: &AgentContext<'_>,
        base: &Path,
        step: &Map<String, Value>,
        r: &mut AgentReport,
        start: Instant,
    ) -> Result<(), String> {
        let (action, args) = match step.iter().next() {
            Some(kv) if step.len() == 1 => kv,
            _ => return Err("each step is a map with exactly one action".into()),
        };
        match action.as_str() {
            "say" => {
                let text = args.as_str().ok_or("say takes a string")?;
                r.log(start, "assistant", None, text);
                r.final_message = Some(text.to_string());
            }
            "fail" => {
                let text = args.as_str().unwrap_or("scripted failure");
                r.log(start, "assistant", None, text);
                return Err(text.to_string());
            }
            "sleep_ms" => {
                let ms = args.as_u64().ok_or("sleep_ms takes a number")?;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    _ = ctx.cancel.cancelled() => {}
                }
            }
            "copy_reference" => {
                let rel = ctx
                    .scenario
                    .reference_path
                    .as_deref()
                    .ok_or("copy_reference: the scenario has no reference_path")?;
                let src = ctx.scenario_dir.join(rel);
                let n = crate::workspace::copy_tree(&src, ctx.workspace, &[])
                    .map_err(|e| format!("copy_reference: {e}"))?;
                r.log(
                    start,
                    "note",
                    None,
                    format!("copied {n} reference files from {rel}"),
                );
            }
            tool => {
                let mut input = args.clone();
                if let Some(obj) = input.as_object_mut() {
                    if let Some(from) = obj.remove("content_from") {
                        let f = base.join(from.as_str().ok_or("content_from takes a path")?);
                        let text = std::fs::read_to_string(&f)
                            .map_err(|e| format!("content_from {}: {e}", f.display()))?;
                        obj.insert("content".into(), Value::String(text));
                    }
                }
                r.log(start, "tool_call", Some(tool), input.to_string());
                let t0 = Instant::now();
                let out = ctx.tools.call(tool, &input).await;
                r.tool_calls += 1;
                r.transcript.push(super::TranscriptEntry {
                    at_ms: start.elapsed().as_millis() as u64,
                    kind: "tool_result".into(),
                    tool: Some(tool.to_string()),
                    content: out.content,
                    duration_ms: Some(t0.elapsed().as_millis() as u64),
                    is_error: out.is_error,
                });
            }
        }
        Ok(())
    }
}
