//! The real agents through the real binary, against fakes on 127.0.0.1: a fake Anthropic
//! server, a fake OpenRouter (OpenAI-compatible) server and a fake `claude` executable. Each run
//! must record the fake's tokens, cost and tool calls exactly and store a transcript.

mod support;

use serde_json::{json, Value};
use std::time::Duration;
use support::{shared_suites, Sandbox, Server};
use zebench_provider::scripted::{ScriptedReply, ScriptedServer};

const T: Duration = Duration::from_secs(60);

fn run_json(sb: &Sandbox, env: &[(&str, String)], agent: &str) -> Value {
    let mut cmd = sb.zebench();
    cmd.args([
        "run",
        "update-deps",
        "nx-pnpm-monorepo",
        "--tier",
        "L1",
        "--agent",
        agent,
        "--json",
        "--suites",
    ])
    .arg(shared_suites());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = support::Running::spawn(cmd).finish(T);
    assert_eq!(out.code(), Some(0), "{out}");
    serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// The transcript as stored in the database and served by the API.
fn stored_transcript(sb: &Sandbox, run_id: &str) -> Vec<Value> {
    let server = Server::start(sb, "127.0.0.1:0", &sb.db(), None);
    let (status, body) = support::http_get(
        &server.addr,
        &format!("/api/runs/{run_id}/artifacts/transcript"),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A judge answer scoring every category of nx-pnpm-monorepo 3 out of 5.
fn judge_answer() -> String {
    let names = [
        "Dependency Update Correctness",
        "Constraint Compliance",
        "Monorepo Handling",
        "Breaking Changes Strategy",
        "Package Manager Correctness",
    ];
    let scores: Vec<Value> = names
        .iter()
        .map(|n| json!({"category": n, "score": 3, "reasoning": "ok"}))
        .collect();
    json!({"scores": scores, "overall_reasoning": "fine"}).to_string()
}

/// Requests the agent made (the judge's carry no tools).
fn agent_requests(server: &ScriptedServer) -> Vec<zebench_provider::scripted::RecordedRequest> {
    server
        .requests()
        .into_iter()
        .filter(|r| r.body["tools"].as_array().is_some_and(|t| !t.is_empty()))
        .collect()
}

/// The judge's tokens are recorded apart from the agent's, and its score is 0.5 (3 of 5).
fn assert_judged_apart(run: &Value, tokens_in: u64, tokens_out: u64) {
    assert_eq!(
        run["metadata"]["judge"]["tokensIn"], tokens_in,
        "{}",
        run["metadata"]
    );
    assert_eq!(run["metadata"]["judge"]["tokensOut"], tokens_out);
    let judge = run["evaluations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["evaluatorName"] == "LLMJudgeEvaluator")
        .expect("judge evaluation");
    assert!(
        (judge["score"].as_f64().unwrap() - 0.5).abs() < 1e-9,
        "{judge}"
    );
}

fn kinds(transcript: &[Value]) -> Vec<String> {
    transcript
        .iter()
        .map(|e| e["kind"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn anthropic_records_the_fakes_tokens_cost_and_tool_calls_exactly() {
    let sb = Sandbox::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let turn1 = json!({"id": "msg_1", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Reading the manifest."},
                    {"type": "tool_use", "id": "toolu_1", "name": "read_file", "input": {"path": "package.json"}}],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 1000, "cache_creation_input_tokens": 200, "cache_read_input_tokens": 300, "output_tokens": 50}});
    let turn2 = json!({"id": "msg_2", "type": "message", "role": "assistant", "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Nothing to change."}], "stop_reason": "end_turn",
        "usage": {"input_tokens": 1500, "output_tokens": 80}});
    let server = rt
        .block_on(ScriptedServer::start(vec![
            ScriptedReply::json(200, turn1),
            ScriptedReply::json(200, turn2),
            ScriptedReply::anthropic_text(&judge_answer(), 4000, 300),
        ]))
        .unwrap();
    let run = run_json(
        &sb,
        &[
            ("ANTHROPIC_API_KEY", "sk-ant-test".into()),
            ("ANTHROPIC_BASE_URL", server.base_url()),
        ],
        "anthropic",
    );
    assert_eq!(run["agent"], "anthropic");
    assert_eq!(run["model"], "claude-sonnet-4-5");
    let t = &run["telemetry"];
    // Every prompt token counts as input: 1000 + 200 + 300, then 1500.
    assert_eq!(t["tokensIn"], 3000, "{t}");
    assert_eq!(t["tokensOut"], 130);
    assert_eq!(t["toolCalls"], 1);
    // claude-sonnet-4-5 at 3 / 15 / 0.30 / 3.75 USD per million tokens.
    let expected = (2500.0 * 3.0 + 300.0 * 0.3 + 200.0 * 3.75 + 130.0 * 15.0) / 1e6;
    assert!(
        (t["costUsd"].as_f64().unwrap() - expected).abs() < 1e-12,
        "{t} vs {expected}"
    );
    assert_eq!(run["metadata"]["cacheReadTokens"], 300);
    assert_eq!(run["metadata"]["cacheWriteTokens"], 200);
    assert_eq!(run["metadata"]["agentStopReason"], "finished");
    assert_judged_apart(&run, 4000, 300);
    // The second request carried the tool result back as real message history.
    let reqs = agent_requests(&server);
    assert_eq!(reqs.len(), 2);
    assert_eq!(reqs[1].header("x-api-key"), Some("sk-ant-test"));
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    assert_eq!(msgs[1]["role"], "assistant");
    assert_eq!(msgs[2]["content"][0]["type"], "tool_result");
    assert_eq!(msgs[2]["content"][0]["tool_use_id"], "toolu_1");
    assert!(
        msgs[2]["content"][0]["content"]
            .to_string()
            .contains("typescript"),
        "the tool read the fixture's package.json: {}",
        msgs[2]
    );
    let transcript = stored_transcript(&sb, run["runId"].as_str().unwrap());
    let k = kinds(&transcript);
    for kind in ["user", "assistant", "tool_call", "tool_result"] {
        assert!(k.contains(&kind.to_string()), "{k:?}");
    }
    assert!(
        !run.to_string().contains("sk-ant-test"),
        "the key is not stored"
    );
}

#[test]
fn openrouter_records_the_reported_cost_exactly() {
    let sb = Sandbox::new();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let turn1 = json!({"id": "gen-1", "model": "openai/gpt-5", "choices": [{"index": 0, "finish_reason": "tool_calls",
        "message": {"role": "assistant", "content": null, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "list_files", "arguments": "{}"}},
            {"id": "call_2", "type": "function", "function": {"name": "read_file", "arguments": "{\"path\":\"package.json\"}"}}]}}],
        "usage": {"prompt_tokens": 800, "completion_tokens": 40, "total_tokens": 840, "cost": 0.0021}});
    let turn2 = json!({"id": "gen-2", "model": "openai/gpt-5", "choices": [{"index": 0, "finish_reason": "stop",
        "message": {"role": "assistant", "content": "Done."}}],
        "usage": {"prompt_tokens": 900, "completion_tokens": 60, "total_tokens": 960, "cost": 0.0033}});
    let server = rt
        .block_on(ScriptedServer::start(vec![
            ScriptedReply::json(200, turn1),
            ScriptedReply::json(200, turn2),
            ScriptedReply::openai_text(&judge_answer(), 5000, 200),
        ]))
        .unwrap();
    let run = run_json(
        &sb,
        &[
            ("OPENROUTER_API_KEY", "sk-or-test".into()),
            ("OPENROUTER_BASE_URL", server.base_url()),
        ],
        "openrouter:openai/gpt-5",
    );
    assert_eq!(run["agent"], "openrouter");
    assert_eq!(run["model"], "openai/gpt-5");
    let t = &run["telemetry"];
    assert_eq!(t["tokensIn"], 1700, "{t}");
    assert_eq!(t["tokensOut"], 100);
    assert_eq!(t["toolCalls"], 2, "parallel tool calls both ran");
    assert!(
        (t["costUsd"].as_f64().unwrap() - 0.0054).abs() < 1e-12,
        "{t}"
    );
    assert_judged_apart(&run, 5000, 200);
    let reqs = agent_requests(&server);
    assert_eq!(reqs.len(), 2);
    let tools = reqs[0].body["tools"].as_array().unwrap();
    assert!(
        tools
            .iter()
            .all(|t| t["function"]["parameters"]["type"] == "object"),
        "full schemas"
    );
    let msgs = reqs[1].body["messages"].as_array().unwrap();
    let tool_msgs: Vec<&Value> = msgs.iter().filter(|m| m["role"] == "tool").collect();
    assert_eq!(tool_msgs.len(), 2);
    assert_eq!(tool_msgs[0]["tool_call_id"], "call_1");
    assert_eq!(tool_msgs[1]["tool_call_id"], "call_2");
    let transcript = stored_transcript(&sb, run["runId"].as_str().unwrap());
    assert_eq!(
        kinds(&transcript)
            .iter()
            .filter(|k| *k == "tool_call")
            .count(),
        2
    );
}

#[test]
fn claude_code_records_the_fake_clis_usage_cost_and_tool_calls() {
    let sb = Sandbox::new();
    let fake = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../harness/tests/fixtures/fake-claude.sh");
    let config = sb.path().join("zebench.toml");
    std::fs::write(
        &config,
        format!(
            "[claude_code]\nbinary = {:?}\nextra_args = [\"--fake-mode\", \"stream\"]\n",
            fake.canonicalize().unwrap().display().to_string()
        ),
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let judge = rt
        .block_on(ScriptedServer::start(vec![ScriptedReply::anthropic_text(
            &judge_answer(),
            4000,
            300,
        )]))
        .unwrap();
    let run = run_json(
        &sb,
        &[
            ("ZEBENCH_CONFIG", config.display().to_string()),
            ("ANTHROPIC_API_KEY", "sk-ant-cc".into()),
            // The judge uses the same key: keep it on loopback.
            ("ANTHROPIC_BASE_URL", judge.base_url()),
        ],
        "claude-code",
    );
    assert_eq!(run["agent"], "claude-code");
    let t = &run["telemetry"];
    // The fake's result line: input 30 + cache creation 1200 + cache read 3400; output 250.
    assert_eq!(t["tokensIn"], 4630, "{t}");
    assert_eq!(t["tokensOut"], 250);
    assert_eq!(t["toolCalls"], 2);
    assert!(
        (t["costUsd"].as_f64().unwrap() - 0.0123).abs() < 1e-12,
        "{t}"
    );
    let transcript = stored_transcript(&sb, run["runId"].as_str().unwrap());
    let calls: Vec<&Value> = transcript
        .iter()
        .filter(|e| e["kind"] == "tool_call")
        .collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0]["tool"], "Bash");
    assert_judged_apart(&run, 4000, 300);
}
