//! The API agent's tool loop against scripted fake model servers on 127.0.0.1 (Anthropic
//! Messages and OpenAI-compatible chat completions), with a real toolbox on a temporary
//! workspace. Every provider timeout and backoff is short, so each test ends in seconds.

use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use zebench_harness::agent::api::{ApiAgent, Limits, DEFAULT_SYSTEM_PROMPT};
use zebench_harness::agent::{Agent, AgentContext, AgentError, AgentReport, TranscriptEntry};
use zebench_harness::pricing::{Price, PriceTable};
use zebench_harness::suite::Scenario;
use zebench_harness::tools::Toolbox;
use zebench_provider::scripted::{RecordedRequest, ScriptedReply, ScriptedServer};
use zebench_provider::{Provider, ProviderConfig, ProviderKind, Secret};

const KEY: &str = "sk-test-SECRET-key-4242";
const PROMPT: &str = "Create notes/hello.txt and check it.";

// ---------------------------------------------------------------------------------------------
// Fixtures

/// A workspace `ws/` inside a temporary folder (`outer`, to check that nothing escapes into it)
/// with a toolbox bound to it.
struct Env {
    _tmp: tempfile::TempDir,
    outer: PathBuf,
    ws: PathBuf,
    tools: Toolbox,
    scenario: Scenario,
    cancel: CancellationToken,
}

impl Env {
    fn new() -> Env {
        let tmp = tempfile::tempdir().expect("tempdir");
        let outer = std::fs::canonicalize(tmp.path()).unwrap();
        let ws = outer.join("ws");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::write(ws.join("README.md"), "# demo\n").unwrap();
        let cancel = CancellationToken::new();
        let tools = Toolbox::new(
            &ws,
            None,
            Duration::from_secs(10),
            64 * 1024,
            cancel.clone(),
        )
        .expect("toolbox");
        Env {
            _tmp: tmp,
            outer,
            ws,
            tools,
            scenario: Scenario::default(),
            cancel,
        }
    }

    fn ctx(&self, deadline: Instant) -> AgentContext<'_> {
        AgentContext {
            prompt: PROMPT,
            workspace: &self.ws,
            tools: &self.tools,
            scenario: &self.scenario,
            scenario_dir: &self.outer,
            tier: "default",
            deadline,
            cancel: self.cancel.clone(),
        }
    }

    async fn run(&self, agent: &ApiAgent) -> Result<AgentReport, AgentError> {
        self.run_until(agent, Instant::now() + Duration::from_secs(20))
            .await
    }

    async fn run_until(
        &self,
        agent: &ApiAgent,
        deadline: Instant,
    ) -> Result<AgentReport, AgentError> {
        agent.run(self.ctx(deadline)).await
    }
}

/// Short timeouts and backoffs so failure tests end quickly.
fn config(kind: ProviderKind, server: &ScriptedServer) -> ProviderConfig {
    let base = match kind {
        ProviderKind::Anthropic => server.base_url(),
        _ => format!("{}/v1", server.base_url()),
    };
    let mut c = ProviderConfig::new(kind, Secret::new(KEY)).with_base_url(base);
    c.timeout = Duration::from_secs(5);
    c.max_retries = 2;
    c.retry_base_delay = Duration::from_millis(10);
    c.retry_max_delay = Duration::from_millis(200);
    c
}

fn provider(kind: ProviderKind, server: &ScriptedServer) -> Arc<dyn Provider> {
    config(kind, server).build().expect("provider")
}

fn agent_with(
    kind: ProviderKind,
    provider: Arc<dyn Provider>,
    model: &str,
    limits: Limits,
) -> ApiAgent {
    ApiAgent::new(
        kind.as_str(),
        provider,
        model,
        limits,
        Arc::new(PriceTable::builtin()),
    )
}

fn agent(kind: ProviderKind, server: &ScriptedServer, model: &str) -> ApiAgent {
    agent_with(kind, provider(kind, server), model, Limits::default())
}

// Anthropic Messages replies.

fn a_text(text: &str) -> Value {
    json!({"type": "text", "text": text})
}

fn a_tool(id: &str, name: &str, input: Value) -> Value {
    json!({"type": "tool_use", "id": id, "name": name, "input": input})
}

/// An Anthropic answer; usage as the API reports it: uncached input, output, cache writes,
/// cache reads.
fn anthropic(content: Vec<Value>, stop: &str, usage: [u64; 4]) -> ScriptedReply {
    let [input, output, cache_write, cache_read] = usage;
    ScriptedReply::json(
        200,
        json!({
            "id": "msg_fake", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-5-20250929",
            "content": content, "stop_reason": stop,
            "usage": {"input_tokens": input, "output_tokens": output,
                      "cache_creation_input_tokens": cache_write,
                      "cache_read_input_tokens": cache_read}
        }),
    )
}

fn a_tools(calls: &[(&str, &str, Value)], usage: [u64; 4]) -> ScriptedReply {
    let content = calls
        .iter()
        .map(|(id, name, input)| a_tool(id, name, input.clone()))
        .collect();
    anthropic(content, "tool_use", usage)
}

// OpenAI chat-completions replies.

/// An OpenAI answer with optional text, tool calls (arguments sent as a JSON string) and usage:
/// prompt tokens, completion tokens, cached prompt tokens; `cost` as OpenRouter reports it.
fn openai(
    text: Option<&str>,
    calls: &[(&str, &str, Value)],
    usage: [u64; 3],
    cost: Option<f64>,
) -> ScriptedReply {
    let [prompt, completion, cached] = usage;
    let mut message = json!({"role": "assistant", "content": text});
    if !calls.is_empty() {
        message["tool_calls"] = calls
            .iter()
            .map(|(id, name, args)| {
                json!({"id": id, "type": "function",
                       "function": {"name": name, "arguments": args.to_string()}})
            })
            .collect();
    }
    let finish = if calls.is_empty() {
        "stop"
    } else {
        "tool_calls"
    };
    let mut usage = json!({
        "prompt_tokens": prompt, "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached}
    });
    if let Some(c) = cost {
        usage["cost"] = json!(c);
    }
    ScriptedReply::json(
        200,
        json!({
            "id": "chatcmpl-fake", "object": "chat.completion", "model": "fake-model",
            "choices": [{"index": 0, "finish_reason": finish, "message": message}],
            "usage": usage
        }),
    )
}

fn raw(status: u16, body: &str) -> ScriptedReply {
    ScriptedReply {
        status,
        headers: Vec::new(),
        body: body.to_string(),
        delay: Duration::ZERO,
    }
}

// Report helpers.

/// The transcript without the system prompt, the task prompt and notes.
fn steps(r: &AgentReport) -> Vec<&TranscriptEntry> {
    r.transcript
        .iter()
        .filter(|e| matches!(e.kind.as_str(), "assistant" | "tool_call" | "tool_result"))
        .collect()
}

fn kinds(r: &AgentReport) -> Vec<String> {
    steps(r)
        .iter()
        .map(|e| match &e.tool {
            Some(t) => format!("{}:{t}", e.kind),
            None => e.kind.clone(),
        })
        .collect()
}

fn notes(r: &AgentReport) -> Vec<&str> {
    r.transcript
        .iter()
        .filter(|e| e.kind == "note")
        .map(|e| e.content.as_str())
        .collect()
}

fn tool_results(r: &AgentReport) -> Vec<&TranscriptEntry> {
    r.transcript
        .iter()
        .filter(|e| e.kind == "tool_result")
        .collect()
}

fn failed(result: Result<AgentReport, AgentError>) -> (String, AgentReport) {
    match result {
        Err(AgentError::FailedWith { message, report }) => (message, *report),
        Err(other) => panic!("expected FailedWith, got {other:?}"),
        Ok(r) => panic!("expected a failure, got {r:#?}"),
    }
}

fn assert_close(actual: Option<f64>, expected: f64) {
    let a = actual.expect("cost known");
    assert!(
        (a - expected).abs() < 1e-12,
        "cost {a} != expected {expected}"
    );
}

/// Anthropic wire messages of a recorded request.
fn messages(req: &RecordedRequest) -> &Vec<Value> {
    req.body["messages"].as_array().expect("messages array")
}

// ---------------------------------------------------------------------------------------------
// The tool loop

#[tokio::test]
async fn anthropic_multi_turn_tool_use_with_history_usage_and_cost() {
    let env = Env::new();
    let write_input = json!({"path": "notes/hello.txt", "content": "hello from the model\n"});
    let server = ScriptedServer::start(vec![
        anthropic(
            vec![
                a_text("I'll create the file."),
                a_tool("toolu_1", "write_file", write_input.clone()),
            ],
            "tool_use",
            [1000, 50, 2000, 0],
        ),
        anthropic(
            vec![
                a_text("Checking it."),
                a_tool("toolu_2", "read_file", json!({"path": "notes/hello.txt"})),
                a_tool(
                    "toolu_3",
                    "run_command",
                    json!({"command": "cat notes/hello.txt && echo command-ok"}),
                ),
            ],
            "tool_use",
            [120, 80, 300, 2000],
        ),
        anthropic(
            vec![a_text("Done: wrote notes/hello.txt.")],
            "end_turn",
            [200, 40, 0, 2300],
        ),
    ])
    .await
    .unwrap();
    let agent = agent(ProviderKind::Anthropic, &server, "claude-sonnet-4-5");
    assert_eq!(agent.name(), "anthropic");
    assert_eq!(agent.model(), Some("claude-sonnet-4-5"));

    let r = env.run(&agent).await.expect("the run finishes");

    // The work.
    assert_eq!(
        std::fs::read_to_string(env.ws.join("notes/hello.txt")).unwrap(),
        "hello from the model\n"
    );
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(
        r.final_message.as_deref(),
        Some("Done: wrote notes/hello.txt.")
    );
    assert_eq!(r.turns, 3);
    assert_eq!(r.tool_calls, 3);

    // The transcript, in order, with timings.
    assert_eq!(
        kinds(&r),
        [
            "assistant",
            "tool_call:write_file",
            "tool_result:write_file",
            "assistant",
            "tool_call:read_file",
            "tool_result:read_file",
            "tool_call:run_command",
            "tool_result:run_command",
            "assistant",
        ]
    );
    let s = steps(&r);
    assert_eq!(s[0].content, "I'll create the file.");
    assert!(s[0].duration_ms.is_some());
    assert_eq!(
        serde_json::from_str::<Value>(&s[1].content).unwrap(),
        write_input
    );
    assert!(!s[2].is_error && s[2].duration_ms.is_some());
    assert_eq!(s[5].content, "hello from the model\n");
    assert!(s[7].content.contains("command-ok"), "{}", s[7].content);
    assert!(!s[7].is_error);
    assert_eq!(r.transcript[0].kind, "system");
    assert_eq!(r.transcript[1].kind, "user");
    assert_eq!(r.transcript[1].content, PROMPT);

    // Usage: Anthropic's three input counters summed per turn, then over the turns.
    // input = (1000+2000+0) + (120+300+2000) + (200+0+2300) = 7920.
    assert_eq!(r.tokens_in, Some(7920));
    assert_eq!(r.tokens_out, Some(50 + 80 + 40));
    assert_eq!(r.cache_read_tokens, Some(2000 + 2300));
    assert_eq!(r.cache_write_tokens, Some(2000 + 300));
    // Cost from the built-in table (Sonnet 4.5: 3 in, 15 out, 0.3 cache read, 3.75 cache write):
    // uncached 1320 × 3 + 4300 × 0.3 + 2300 × 3.75 + 170 × 15
    // = 3960 + 1290 + 8625 + 2550 = 16425 µ$.
    assert_close(r.cost_usd, 0.016425);

    // The requests: the full history each time, never flattened.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    for req in &reqs {
        assert_eq!(req.path, "/v1/messages");
        assert_eq!(req.body["model"], "claude-sonnet-4-5");
        assert_eq!(req.body["system"], DEFAULT_SYSTEM_PROMPT);
        assert_eq!(req.body["max_tokens"], Limits::default().max_output_tokens);
    }
    // Tools with their full schemas.
    let specs = env.tools.specs();
    let tools = reqs[0].body["tools"].as_array().unwrap();
    assert_eq!(tools.len(), specs.len());
    for (wire, spec) in tools.iter().zip(&specs) {
        assert_eq!(wire["name"], spec.name.as_str());
        assert_eq!(wire["description"], spec.description.as_str());
        assert_eq!(wire["input_schema"], spec.input_schema);
    }
    assert_eq!(
        messages(&reqs[0]),
        &vec![json!({"role": "user", "content": [{"type": "text", "text": PROMPT}]})]
    );

    let m1 = messages(&reqs[1]);
    assert_eq!(m1.len(), 3);
    assert_eq!(
        m1[1],
        json!({"role": "assistant", "content": [
            {"type": "text", "text": "I'll create the file."},
            {"type": "tool_use", "id": "toolu_1", "name": "write_file", "input": write_input}]})
    );
    assert_eq!(m1[2]["role"], "user");
    let results = m1[2]["content"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    assert_eq!(results[0]["type"], "tool_result");
    assert_eq!(results[0]["tool_use_id"], "toolu_1");
    assert!(results[0].get("is_error").is_none());
    assert!(results[0]["content"]
        .as_str()
        .unwrap()
        .contains("notes/hello.txt"));

    let m2 = messages(&reqs[2]);
    assert_eq!(m2.len(), 5);
    assert_eq!(&m2[..3], &m1[..]);
    let calls: Vec<(&str, &str)> = m2[3]["content"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["type"] == "tool_use")
        .map(|b| (b["id"].as_str().unwrap(), b["name"].as_str().unwrap()))
        .collect();
    assert_eq!(
        calls,
        [("toolu_2", "read_file"), ("toolu_3", "run_command")]
    );
    // Both results in one user message, in order, matched by id.
    assert_eq!(m2[4]["role"], "user");
    let results = m2[4]["content"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["tool_use_id"], "toolu_2");
    assert_eq!(results[0]["content"], "hello from the model\n");
    assert_eq!(results[1]["tool_use_id"], "toolu_3");
    assert!(results[1]["content"]
        .as_str()
        .unwrap()
        .contains("command-ok"));
}

#[tokio::test]
async fn openai_multi_turn_tool_use_with_history_usage_and_cost() {
    let env = Env::new();
    let write_args = json!({"path": "notes/hello.txt", "content": "hi\n"});
    let server = ScriptedServer::start(vec![
        openai(
            None,
            &[("call_1", "write_file", write_args.clone())],
            [1000, 100, 0],
            None,
        ),
        openai(
            Some("Let me check."),
            &[
                ("call_2", "read_file", json!({"path": "notes/hello.txt"})),
                ("call_3", "run_command", json!({"command": "ls notes"})),
            ],
            [1500, 60, 1000],
            None,
        ),
        openai(Some("All done."), &[], [1800, 30, 1400], None),
    ])
    .await
    .unwrap();
    let agent = agent(ProviderKind::OpenAi, &server, "gpt-4.1");
    assert_eq!(agent.name(), "openai");

    let r = env.run(&agent).await.expect("the run finishes");

    assert_eq!(
        std::fs::read_to_string(env.ws.join("notes/hello.txt")).unwrap(),
        "hi\n"
    );
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.final_message.as_deref(), Some("All done."));
    assert_eq!((r.turns, r.tool_calls), (3, 3));
    assert_eq!(
        kinds(&r),
        [
            "assistant",
            "tool_call:write_file",
            "tool_result:write_file",
            "assistant",
            "tool_call:read_file",
            "tool_result:read_file",
            "tool_call:run_command",
            "tool_result:run_command",
            "assistant",
        ]
    );
    assert_eq!(r.tokens_in, Some(1000 + 1500 + 1800));
    assert_eq!(r.tokens_out, Some(100 + 60 + 30));
    assert_eq!(r.cache_read_tokens, Some(1000 + 1400));
    assert_eq!(r.cache_write_tokens, Some(0));
    // gpt-4.1: 2 in, 8 out, 0.5 cached: (4300 − 2400) × 2 + 2400 × 0.5 + 190 × 8
    // = 3800 + 1200 + 1520 = 6520 µ$.
    assert_close(r.cost_usd, 0.00652);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 3);
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    assert_eq!(
        reqs[0].header("authorization"),
        Some(format!("Bearer {KEY}").as_str())
    );
    let tools = reqs[0].body["tools"].as_array().unwrap();
    let specs = env.tools.specs();
    assert_eq!(tools.len(), specs.len());
    for (wire, spec) in tools.iter().zip(&specs) {
        assert_eq!(wire["type"], "function");
        assert_eq!(wire["function"]["name"], spec.name.as_str());
        assert_eq!(wire["function"]["parameters"], spec.input_schema);
    }

    let m1 = messages(&reqs[1]);
    assert_eq!(m1.len(), 4);
    assert_eq!(m1[0]["role"], "system");
    assert_eq!(m1[0]["content"], DEFAULT_SYSTEM_PROMPT);
    assert_eq!(m1[1], json!({"role": "user", "content": PROMPT}));
    assert_eq!(m1[2]["role"], "assistant");
    let calls = m1[2]["tool_calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0]["id"], "call_1");
    assert_eq!(calls[0]["function"]["name"], "write_file");
    let args: Value =
        serde_json::from_str(calls[0]["function"]["arguments"].as_str().unwrap()).unwrap();
    assert_eq!(args, write_args);
    assert_eq!(m1[3]["role"], "tool");
    assert_eq!(m1[3]["tool_call_id"], "call_1");

    let m2 = messages(&reqs[2]);
    assert_eq!(m2.len(), 7);
    assert_eq!(&m2[..4], &m1[..]);
    assert_eq!(m2[4]["role"], "assistant");
    assert_eq!(m2[4]["content"], "Let me check.");
    let ids: Vec<&str> = m2[4]["tool_calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["call_2", "call_3"]);
    assert_eq!(m2[5]["role"], "tool");
    assert_eq!(m2[5]["tool_call_id"], "call_2");
    assert_eq!(m2[5]["content"], "hi\n");
    assert_eq!(m2[6]["role"], "tool");
    assert_eq!(m2[6]["tool_call_id"], "call_3");
    assert!(m2[6]["content"].as_str().unwrap().contains("hello.txt"));
}

#[tokio::test]
async fn openrouter_cost_is_the_sum_of_reported_costs() {
    let env = Env::new();
    let (c1, c2) = (0.0123, 0.000456);
    let server = ScriptedServer::start(vec![
        openai(
            None,
            &[("call_1", "list_files", json!({}))],
            [1000, 100, 0],
            Some(c1),
        ),
        openai(Some("Nothing to do."), &[], [1200, 20, 0], Some(c2)),
    ])
    .await
    .unwrap();
    let agent = agent(
        ProviderKind::OpenRouter,
        &server,
        "anthropic/claude-sonnet-4.5",
    );
    assert_eq!(agent.name(), "openrouter");
    let r = env.run(&agent).await.unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!((r.tokens_in, r.tokens_out), (Some(2200), Some(120)));
    // The provider's numbers, summed exactly; not the price table's (which would give
    // 2200 × 3 + 120 × 15 = 8400 µ$).
    assert_eq!(r.cost_usd, Some(0.0 + c1 + c2));
    let reqs = server.requests();
    assert_eq!(reqs[0].body["usage"], json!({"include": true}));
    assert_eq!(reqs[0].body["model"], "anthropic/claude-sonnet-4.5");
    assert!(notes(&r).iter().all(|n| !n.contains("cost unknown")));
}

#[tokio::test]
async fn unknown_price_leaves_cost_empty_with_one_note() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![
        openai(
            None,
            &[("call_1", "list_files", json!({}))],
            [10, 5, 0],
            None,
        ),
        openai(Some("ok"), &[], [20, 5, 0], None),
    ])
    .await
    .unwrap();
    let r = env
        .run(&agent(ProviderKind::OpenAi, &server, "mystery-model-9"))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.tokens_in, Some(30));
    assert_eq!(r.cost_usd, None);
    let unknown: Vec<&str> = notes(&r)
        .into_iter()
        .filter(|n| n.contains("cost unknown"))
        .collect();
    assert_eq!(unknown.len(), 1, "{:?}", notes(&r));
    assert!(unknown[0].contains("mystery-model-9"));
}

#[tokio::test]
async fn a_price_file_entry_prices_an_unknown_model() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![openai(Some("ok"), &[], [1000, 1000, 0], None)])
        .await
        .unwrap();
    let mut prices = PriceTable::builtin();
    let mut user = PriceTable::new();
    user.insert("mystery-model-9", Price::new(1.0, 2.0));
    prices.merge(user);
    let agent = ApiAgent::new(
        "openai",
        provider(ProviderKind::OpenAi, &server),
        "mystery-model-9",
        Limits::default(),
        Arc::new(prices),
    );
    let r = env.run(&agent).await.unwrap();
    // 1000 × 1 + 1000 × 2 = 3000 µ$.
    assert_eq!(r.cost_usd, Some(0.003));
}

#[tokio::test]
async fn limits_shape_the_requests() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![anthropic(
        vec![a_text("ok")],
        "end_turn",
        [1, 1, 0, 0],
    )])
    .await
    .unwrap();
    let limits = Limits {
        system_prompt: Some("Be brief.".into()),
        temperature: Some(0.25),
        max_output_tokens: 1234,
        ..Limits::default()
    };
    let agent = agent_with(
        ProviderKind::Anthropic,
        provider(ProviderKind::Anthropic, &server),
        "claude-haiku-4-5",
        limits,
    );
    assert_eq!(agent.system_prompt(), "Be brief.");
    let r = env.run(&agent).await.unwrap();
    assert_eq!(r.stop_reason, "finished");
    let body = &server.requests()[0].body;
    assert_eq!(body["system"], "Be brief.");
    assert_eq!(body["temperature"], 0.25);
    assert_eq!(body["max_tokens"], 1234);
    assert_eq!(body["model"], "claude-haiku-4-5");
}

#[tokio::test]
async fn max_tokens_stop_reason_finishes_with_a_note() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![anthropic(
        vec![a_text("The answer is cut")],
        "max_tokens",
        [10, 8192, 0, 0],
    )])
    .await
    .unwrap();
    let r = env
        .run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.final_message.as_deref(), Some("The answer is cut"));
    assert!(
        notes(&r).iter().any(|n| n.contains("max_tokens")),
        "{:?}",
        notes(&r)
    );
    assert_eq!(server.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Tool errors go back to the model

#[tokio::test]
async fn path_escapes_are_error_results_and_nothing_is_written_outside() {
    let env = Env::new();
    std::os::unix::fs::symlink(&env.outer, env.ws.join("link")).unwrap();
    let abs_outside = env.outer.join("abs-escape.txt");
    let server = ScriptedServer::start(vec![
        a_tools(
            &[
                (
                    "t1",
                    "write_file",
                    json!({"path": "../escape.txt", "content": "x"}),
                ),
                ("t2", "read_file", json!({"path": "/etc/passwd"})),
                (
                    "t3",
                    "write_file",
                    json!({"path": abs_outside.to_str().unwrap(), "content": "x"}),
                ),
                (
                    "t4",
                    "write_file",
                    json!({"path": "link/via-symlink.txt", "content": "x"}),
                ),
                (
                    "t5",
                    "edit_file",
                    json!({"path": "../ws/../escape.txt", "old_string": "a", "new_string": "b"}),
                ),
            ],
            [10, 10, 0, 0],
        ),
        anthropic(
            vec![a_text("I could not write there.")],
            "end_turn",
            [10, 10, 0, 0],
        ),
    ])
    .await
    .unwrap();
    let r = env
        .run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await
        .unwrap();

    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.tool_calls, 5);
    assert!(!env.outer.join("escape.txt").exists());
    assert!(!abs_outside.exists());
    assert!(!env.outer.join("via-symlink.txt").exists());
    let results = tool_results(&r);
    assert_eq!(results.len(), 5);
    for res in &results {
        assert!(res.is_error, "{res:?}");
        assert!(res.content.contains("outside the workspace"), "{res:?}");
    }
    assert!(!results[1].content.contains("root:"), "leaked /etc/passwd");

    // All five refusals went back to the model as error results, in one message.
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let m = messages(&reqs[1]);
    let sent = m[2]["content"].as_array().unwrap();
    let ids: Vec<&str> = sent
        .iter()
        .map(|b| b["tool_use_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["t1", "t2", "t3", "t4", "t5"]);
    for b in sent {
        assert_eq!(b["type"], "tool_result");
        assert_eq!(b["is_error"], true);
    }
}

#[tokio::test]
async fn unknown_tool_is_an_error_result_and_the_loop_goes_on() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![
        a_tools(
            &[("t1", "delete_everything", json!({"really": true}))],
            [10, 10, 0, 0],
        ),
        a_tools(&[("t2", "list_files", json!({}))], [10, 10, 0, 0]),
        anthropic(vec![a_text("Listed.")], "end_turn", [10, 10, 0, 0]),
    ])
    .await
    .unwrap();
    let r = env
        .run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!((r.turns, r.tool_calls), (3, 2));
    let results = tool_results(&r);
    assert!(results[0].is_error);
    assert!(results[0].content.contains("unknown tool"), "{results:?}");
    assert_eq!(results[0].tool.as_deref(), Some("delete_everything"));
    assert!(!results[1].is_error);
    assert!(results[1].content.contains("README.md"));
    let reqs = server.requests();
    let sent = &messages(&reqs[1])[2]["content"][0];
    assert_eq!(sent["tool_use_id"], "t1");
    assert_eq!(sent["is_error"], true);
    assert!(sent["content"].as_str().unwrap().contains("unknown tool"));
}

// ---------------------------------------------------------------------------------------------
// Provider failures

#[tokio::test]
async fn rate_limit_with_retry_after_then_success_counts_once() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![
        ScriptedReply::json(
            429,
            json!({"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}),
        )
        .with_header("retry-after", "1"),
        anthropic(vec![a_text("done")], "end_turn", [100, 20, 0, 0]),
    ])
    .await
    .unwrap();
    let started = Instant::now();
    let r = env
        .run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await
        .unwrap();
    // Retry-After (1 s) is honoured up to the test config's 200 ms cap.
    assert!(started.elapsed() >= Duration::from_millis(150));
    assert_eq!(server.requests().len(), 2);
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.turns, 1);
    assert_eq!((r.tokens_in, r.tokens_out), (Some(100), Some(20)));
    // 100 × 3 + 20 × 15 = 600 µ$.
    assert_close(r.cost_usd, 0.0006);
    assert!(
        notes(&r).iter().any(|n| n.contains("2 attempts")),
        "{:?}",
        notes(&r)
    );
}

#[tokio::test]
async fn server_error_storm_fails_with_the_report_so_far() {
    let env = Env::new();
    let storm = || ScriptedReply::json(500, json!({"error": {"message": "internal meltdown"}}));
    let server = ScriptedServer::start(vec![
        a_tools(&[("t1", "list_files", json!({}))], [100, 20, 0, 0]),
        storm(),
        storm(),
        storm(),
    ])
    .await
    .unwrap();
    let (message, r) = failed(
        env.run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await,
    );
    assert!(message.starts_with("anthropic: "), "{message}");
    assert!(message.contains("3 attempt"), "{message}");
    assert!(message.contains("internal meltdown"), "{message}");
    assert_eq!(server.requests().len(), 4);
    assert_eq!(r.stop_reason, "error");
    assert_eq!((r.turns, r.tool_calls), (2, 1));
    // The first turn's spend is kept.
    assert_eq!((r.tokens_in, r.tokens_out), (Some(100), Some(20)));
    assert_close(r.cost_usd, 0.0006);
    let last = r.transcript.last().unwrap();
    assert!(last.is_error && last.content.contains("internal meltdown"));
}

#[tokio::test]
async fn malformed_answers_fail_with_the_report() {
    // Not JSON at all (OpenAI-compatible).
    let env = Env::new();
    let server = ScriptedServer::start(vec![raw(200, "{\"choices\": [")])
        .await
        .unwrap();
    let (message, r) = failed(
        env.run(&agent(ProviderKind::OpenAi, &server, "gpt-5"))
            .await,
    );
    assert!(message.starts_with("openai: "), "{message}");
    assert!(message.contains("unreadable"), "{message}");
    assert_eq!(r.stop_reason, "error");
    assert_eq!(r.turns, 1);
    assert_eq!(r.tokens_in, None);
    assert_eq!(r.cost_usd, None);
    // Not retried: a garbled answer is not transient.
    assert_eq!(server.requests().len(), 1);

    // JSON without an answer (Anthropic).
    let server = ScriptedServer::start(vec![ScriptedReply::json(200, json!({"id": "x"}))])
        .await
        .unwrap();
    let (message, r) = failed(
        env.run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await,
    );
    assert!(message.starts_with("anthropic: "), "{message}");
    assert!(message.contains("content"), "{message}");
    assert_eq!(r.stop_reason, "error");
}

#[tokio::test]
async fn slow_answer_beyond_the_provider_timeout_fails() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![anthropic(
        vec![a_text("too late")],
        "end_turn",
        [1, 1, 0, 0],
    )
    .with_delay(Duration::from_millis(1500))])
    .await
    .unwrap();
    let mut c = config(ProviderKind::Anthropic, &server);
    c.timeout = Duration::from_millis(500);
    c.max_retries = 0;
    let agent = agent_with(
        ProviderKind::Anthropic,
        c.build().unwrap(),
        "claude-sonnet-4-5",
        Limits::default(),
    );
    let started = Instant::now();
    let (message, r) = failed(env.run(&agent).await);
    assert!(started.elapsed() < Duration::from_millis(1400));
    assert!(message.contains("timed out"), "{message}");
    assert_eq!(r.stop_reason, "error");
    assert_eq!(r.turns, 1);
}

#[tokio::test]
async fn errors_and_reports_never_carry_the_key() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![ScriptedReply::json(
        401,
        json!({"error": {"message": format!("invalid x-api-key {KEY}")}}),
    )])
    .await
    .unwrap();
    let (message, r) = failed(
        env.run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await,
    );
    assert!(message.contains("401") && message.contains("invalid x-api-key"));
    assert!(!message.contains(KEY), "{message}");
    let all = serde_json::to_string(&r).unwrap();
    assert!(!all.contains(KEY));
    assert!(!format!(
        "{agent:?}",
        agent = agent(ProviderKind::Anthropic, &server, "m")
    )
    .contains(KEY));
    // 401 is not retried.
    assert_eq!(server.requests().len(), 1);
}

// ---------------------------------------------------------------------------------------------
// Limits, budgets, deadline, cancellation

#[tokio::test]
async fn max_turns_stops_after_exactly_that_many_requests() {
    let env = Env::new();
    let ask = |id: &str| a_tools(&[(id, "list_files", json!({}))], [10, 10, 0, 0]);
    let server = ScriptedServer::start(vec![ask("t1"), ask("t2"), ask("t3"), ask("t4")])
        .await
        .unwrap();
    let limits = Limits {
        max_turns: 2,
        ..Limits::default()
    };
    let agent = agent_with(
        ProviderKind::Anthropic,
        provider(ProviderKind::Anthropic, &server),
        "claude-sonnet-4-5",
        limits,
    );
    let r = env.run(&agent).await.expect("a limit is a clean stop");
    assert_eq!(r.stop_reason, "max_turns");
    assert_eq!(server.requests().len(), 2);
    assert_eq!((r.turns, r.tool_calls), (2, 2));
    assert_eq!(r.tokens_in, Some(20));
    assert!(r.final_message.is_none());
}

#[tokio::test]
async fn token_budget_stops_with_budget() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![
        a_tools(&[("t1", "list_files", json!({}))], [100, 60, 0, 0]),
        anthropic(vec![a_text("never asked")], "end_turn", [1, 1, 0, 0]),
    ])
    .await
    .unwrap();
    let limits = Limits {
        max_tokens: Some(150),
        ..Limits::default()
    };
    let agent = agent_with(
        ProviderKind::Anthropic,
        provider(ProviderKind::Anthropic, &server),
        "claude-sonnet-4-5",
        limits,
    );
    let r = env.run(&agent).await.unwrap();
    assert_eq!(r.stop_reason, "budget");
    assert_eq!(server.requests().len(), 1);
    // The tools of the turn that crossed the budget still ran.
    assert_eq!((r.turns, r.tool_calls), (1, 1));
    assert_eq!((r.tokens_in, r.tokens_out), (Some(100), Some(60)));
    assert!(
        notes(&r).iter().any(|n| n.contains("token budget")),
        "{:?}",
        notes(&r)
    );
}

#[tokio::test]
async fn cost_budget_stops_with_budget() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![
        a_tools(&[("t1", "list_files", json!({}))], [1000, 500, 0, 0]),
        anthropic(vec![a_text("never asked")], "end_turn", [1, 1, 0, 0]),
    ])
    .await
    .unwrap();
    let limits = Limits {
        max_cost_usd: Some(0.01),
        ..Limits::default()
    };
    let agent = agent_with(
        ProviderKind::Anthropic,
        provider(ProviderKind::Anthropic, &server),
        "claude-sonnet-4-5",
        limits,
    );
    let r = env.run(&agent).await.unwrap();
    // 1000 × 3 + 500 × 15 = 10500 µ$ ≥ 0.01 $.
    assert_eq!(r.stop_reason, "budget");
    assert_eq!(server.requests().len(), 1);
    assert_close(r.cost_usd, 0.0105);
    assert!(notes(&r).iter().any(|n| n.contains("cost budget")));
}

#[tokio::test]
async fn cancel_during_a_request_stops_quickly() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![anthropic(
        vec![a_text("late")],
        "end_turn",
        [1, 1, 0, 0],
    )
    .with_delay(Duration::from_secs(10))])
    .await
    .unwrap();
    let mut c = config(ProviderKind::Anthropic, &server);
    c.timeout = Duration::from_secs(30);
    let agent = agent_with(
        ProviderKind::Anthropic,
        c.build().unwrap(),
        "claude-sonnet-4-5",
        Limits::default(),
    );
    let cancel = env.cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        cancel.cancel();
    });
    let started = Instant::now();
    let r = env.run(&agent).await.expect("cancelling is a clean stop");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.stop_reason, "cancelled");
    assert_eq!(r.turns, 1);
    assert_eq!(server.requests().len(), 1);
}

#[tokio::test]
async fn cancelled_before_start_sends_nothing() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![]).await.unwrap();
    env.cancel.cancel();
    let r = env
        .run(&agent(
            ProviderKind::Anthropic,
            &server,
            "claude-sonnet-4-5",
        ))
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "cancelled");
    assert_eq!(r.turns, 0);
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn deadline_during_a_request_stops_with_timeout() {
    let env = Env::new();
    let server = ScriptedServer::start(vec![anthropic(
        vec![a_text("late")],
        "end_turn",
        [1, 1, 0, 0],
    )
    .with_delay(Duration::from_secs(10))])
    .await
    .unwrap();
    let mut c = config(ProviderKind::Anthropic, &server);
    c.timeout = Duration::from_secs(30);
    let agent = agent_with(
        ProviderKind::Anthropic,
        c.build().unwrap(),
        "claude-sonnet-4-5",
        Limits::default(),
    );
    let started = Instant::now();
    let r = env
        .run_until(&agent, Instant::now() + Duration::from_millis(300))
        .await
        .expect("the deadline is a clean stop");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(r.stop_reason, "timeout");
}
