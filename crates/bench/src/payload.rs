//! A realistic run payload: 12 evaluations with details, telemetry, and metadata with a diff
//! summary; about 4 KB of JSON, like a real update-deps run.

use serde_json::{json, Value};

const AGENTS: [(&str, &str); 6] = [
    ("anthropic", "claude-sonnet-4-5"),
    ("anthropic", "claude-opus-4-1"),
    ("openrouter", "openai/gpt-5"),
    ("openrouter", "google/gemini-2.5-pro"),
    ("claude-code", "claude-sonnet-4-5"),
    ("cmd", "codex"),
];
const SCENARIOS: [(&str, &str); 4] = [
    ("update-deps", "nx-pnpm-monorepo"),
    ("update-deps", "turbo-npm"),
    ("next-js", "001-server-component"),
    ("rust", "cargo-workspace-upgrade"),
];
const TIERS: [&str; 4] = ["L0", "L1", "L2", "L3"];
const EVALUATORS: [&str; 12] = [
    "HeuristicChecksEvaluator",
    "LLMJudgeEvaluator",
    "InstallCommandEvaluator",
    "TestCommandEvaluator",
    "LintCommandEvaluator",
    "TypecheckCommandEvaluator",
    "BuildCommandEvaluator",
    "DependencyTargetsEvaluator",
    "BlocklistEvaluator",
    "NamespaceMigrationEvaluator",
    "CompanionVersionsEvaluator",
    "EfficiencyEvaluator",
];

/// A cheap deterministic mixer, so payloads vary without a random number generator.
fn mix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51afd7ed558ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ceb9fe1a85ec53);
    x ^ (x >> 33)
}

/// Run number `i` of batch `batch`, started at `started_ms`.
pub fn run(prefix: &str, i: u64, batch: &str, started_ms: i64) -> Value {
    let h = mix(i);
    let (agent, model) = AGENTS[(h % 6) as usize];
    let (suite, scenario) = SCENARIOS[((h >> 8) % 4) as usize];
    let tier = TIERS[((h >> 16) % 4) as usize];
    let failed = (h >> 24).is_multiple_of(17);
    let score = ((h >> 32) % 1000) as f64 / 1000.0;
    let evaluations: Vec<Value> = EVALUATORS
        .iter()
        .enumerate()
        .map(|(k, name)| {
            let s = ((mix(h + k as u64) % 100) as f64) / 100.0;
            json!({
                "evaluatorName": name,
                "score": s,
                "maxScore": 1,
                "details": format!("Passed {}/{} checks; {} exited with code {} after {} ms; see command log for the last 40 lines of output.", (s * 8.0) as u32, 8, name, (k % 2), 1200 + k * 37)
            })
        })
        .collect();
    let diff: Vec<Value> = (0..10)
        .map(|k| json!({"file": format!("packages/pkg-{k}/package.json"), "changeType": if k % 3 == 0 {"added"} else {"modified"}, "additions": k * 3, "deletions": k}))
        .collect();
    json!({
        "runId": format!("{prefix}-{i}"),
        "batchId": batch,
        "suite": suite, "scenario": scenario, "tier": tier,
        "agent": agent, "model": model,
        "status": if failed { "failed" } else { "completed" },
        "startedAt": started_ms, "completedAt": started_ms + 240_000,
        "totalScore": if failed { Value::Null } else { json!(score) },
        "weightedScore": if failed { Value::Null } else { json!(score * 10.0) },
        "successMetric": if failed { Value::Null } else { json!(score) },
        "isSuccessful": !failed && score >= 0.7,
        "metadata": if failed {
            json!({"error": "agent exceeded its time limit", "errorType": "timeout", "packageManager": "pnpm"})
        } else {
            json!({"packageManager": "pnpm", "diffSummary": diff, "harness": {"version": "0.1.0", "isolation": "none"}})
        },
        "evaluations": evaluations,
        "telemetry": {"toolCalls": 5 + h % 40, "tokensIn": 20_000 + h % 60_000, "tokensOut": 1_000 + h % 6_000,
                      "costUsd": ((h % 5000) as f64) / 10_000.0, "durationMs": 30_000 + h % 300_000,
                      "workspaceDir": format!("/tmp/zebench/ws-{i}")}
    })
}
