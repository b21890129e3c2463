//! The CLI agents against fake executables: `tests/fixtures/fake-claude.sh` stands in for
//! `claude -p` (it records its argv, stdin, cwd and API key, and prints canned output chosen by
//! `--fake-mode`, passed through `extra_args`), `tests/fixtures/fake-codex.sh` for
//! `codex exec --json`. No network; every test is bounded by a short deadline.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::sync::Once;
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use zebench_harness::agent::cli::{
    render_command, shell_quote, ClaudeCodeAgent, ClaudeCodeConfig, CmdAgent, CmdConfig,
};
use zebench_harness::agent::{Agent, AgentContext, AgentError, AgentReport};
use zebench_harness::suite::Scenario;
use zebench_harness::tools::Toolbox;

const API_KEY: &str = "sk-ant-test-zebench-cli-agents";
/// Deadline of runs that are expected to finish.
const RUN_LIMIT: Duration = Duration::from_secs(20);

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The fake `claude`, made executable (chmod opens no file for writing, so running it right
/// after cannot fail with "text file busy").
fn fake_claude() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = fixture("fake-claude.sh");
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    if mode & 0o111 != 0o111 {
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    path
}

/// Sets ANTHROPIC_API_KEY in this test process once (every test calls this first, before it
/// starts any process, and they all set the same value).
fn set_api_key() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| std::env::set_var("ANTHROPIC_API_KEY", API_KEY));
}

/// A workspace, a folder where the fake records what it got, and what a context borrows.
struct Env {
    _tmp: tempfile::TempDir,
    ws: PathBuf,
    rec: PathBuf,
    tools: Toolbox,
    scenario: Scenario,
}

impl Env {
    fn new() -> Env {
        set_api_key();
        let tmp = tempfile::tempdir().unwrap();
        let ws = tmp.path().join("workspace");
        let rec = tmp.path().join("record");
        std::fs::create_dir_all(&ws).unwrap();
        std::fs::create_dir_all(&rec).unwrap();
        let ws = std::fs::canonicalize(ws).unwrap();
        let tools = Toolbox::new(
            &ws,
            None,
            Duration::from_secs(10),
            64 * 1024,
            CancellationToken::new(),
        )
        .unwrap();
        Env {
            _tmp: tmp,
            ws,
            rec,
            tools,
            scenario: Scenario::default(),
        }
    }

    fn ctx<'a>(
        &'a self,
        prompt: &'a str,
        limit: Duration,
        cancel: CancellationToken,
    ) -> AgentContext<'a> {
        AgentContext {
            prompt,
            workspace: &self.ws,
            tools: &self.tools,
            scenario: &self.scenario,
            scenario_dir: &self.ws,
            tier: "L0",
            deadline: Instant::now() + limit,
            cancel,
        }
    }

    fn recorded(&self, file: &str) -> String {
        std::fs::read_to_string(self.rec.join(file))
            .unwrap_or_else(|e| panic!("the fake did not record {file}: {e}"))
    }

    /// The fake's argv, one argument per line.
    fn argv(&self) -> Vec<String> {
        self.recorded("argv").lines().map(str::to_string).collect()
    }

    /// A Claude Code config pointing at the fake in `mode`, recording into this env.
    fn claude(&self, mode: &str) -> ClaudeCodeConfig {
        ClaudeCodeConfig {
            binary: fake_claude(),
            extra_args: vec![
                "--fake-dir".into(),
                self.rec.to_string_lossy().into_owned(),
                "--fake-mode".into(),
                mode.into(),
            ],
            ..ClaudeCodeConfig::default()
        }
    }
}

async fn run_claude(
    env: &Env,
    cfg: ClaudeCodeConfig,
    prompt: &str,
) -> Result<AgentReport, AgentError> {
    let agent = ClaudeCodeAgent::new(cfg);
    agent
        .run(env.ctx(prompt, RUN_LIMIT, CancellationToken::new()))
        .await
}

fn failed_with(r: Result<AgentReport, AgentError>) -> (String, AgentReport) {
    match r {
        Err(AgentError::FailedWith { message, report }) => (message, *report),
        other => panic!("expected FailedWith, got {other:?}"),
    }
}

/// Processes (other than this one) whose command line contains `marker`.
fn processes_with(marker: &str) -> Vec<String> {
    let me = std::process::id().to_string();
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == me || !name.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        if let Ok(raw) = std::fs::read(entry.path().join("cmdline")) {
            let cmdline = String::from_utf8_lossy(&raw).replace('\0', " ");
            if cmdline.contains(marker) {
                found.push(format!("{name}: {cmdline}"));
            }
        }
    }
    found
}

fn unique_marker() -> String {
    format!("zebench-cli-test-{}", uuid_like())
}

fn uuid_like() -> String {
    use std::time::{SystemTime, UNIX_EPOCH};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}-{nanos}", std::process::id())
}

// ---- shell quoting ---------------------------------------------------------------------------

#[test]
fn shell_quote_survives_sh_round_trip() {
    let words = [
        "",
        "plain",
        "two words",
        "it's",
        "''",
        "'\\''",
        "$(touch pwned) `touch pwned2` $HOME ${X:-y}",
        "line1\nline2\n",
        "; rm -rf x; '",
        "tab\there * ? [a] ~ # ! & | < > \\ \"",
        "ünïcødé ✓",
    ];
    let dir = tempfile::tempdir().unwrap();
    for w in words {
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("printf '%s' {}", shell_quote(w)))
            .current_dir(dir.path())
            .output()
            .unwrap();
        assert!(out.status.success());
        assert_eq!(String::from_utf8(out.stdout).unwrap(), w, "word {w:?}");
    }
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "nothing ran"
    );
    assert_eq!(shell_quote("it's"), "'it'\\''s'");
    assert_eq!(shell_quote(""), "''");
}

// ---- Claude Code -----------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_stream_json_is_parsed() {
    let env = Env::new();
    let agent = ClaudeCodeAgent::new(env.claude("stream"));
    assert_eq!(agent.name(), "claude-code");
    assert_eq!(agent.model(), None);
    let r = agent
        .run(env.ctx("Fix greet.sh", RUN_LIMIT, CancellationToken::new()))
        .await
        .unwrap();

    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.final_message.as_deref(), Some("Fixed the greeting."));
    assert_eq!(r.turns, 4);
    assert_eq!(r.tool_calls, 2);
    assert_eq!(r.tokens_in, Some(30 + 1200 + 3400));
    assert_eq!(r.tokens_out, Some(250));
    assert_eq!(r.cache_read_tokens, Some(3400));
    assert_eq!(r.cache_write_tokens, Some(1200));
    assert_eq!(r.cost_usd, Some(0.0123));
    assert_eq!(r.commands, ["ls -la"]);

    let steps: Vec<(String, Option<String>, bool)> = r
        .transcript
        .iter()
        .filter(|e| e.kind != "note")
        .map(|e| (e.kind.clone(), e.tool.clone(), e.is_error))
        .collect();
    let s = |k: &str, t: Option<&str>, err: bool| (k.to_string(), t.map(str::to_string), err);
    assert_eq!(
        steps,
        [
            s("user", None, false),
            s("system", None, false),
            s("assistant", None, false),
            s("tool_call", Some("Bash"), false),
            s("tool_result", Some("Bash"), false),
            s("tool_call", Some("Edit"), false),
            s("tool_result", Some("Edit"), true),
            s("assistant", None, false),
        ]
    );
    let content = |kind: &str, n: usize| {
        r.transcript
            .iter()
            .filter(|e| e.kind == kind)
            .nth(n)
            .map(|e| e.content.clone())
            .unwrap()
    };
    assert_eq!(content("user", 0), "Fix greet.sh");
    assert!(content("system", 0).contains("claude-sonnet-4-5"));
    assert_eq!(content("assistant", 0), "Let me look at the files.");
    let call: Value = serde_json::from_str(&content("tool_call", 1)).unwrap();
    assert_eq!(call["new_string"], "Hello");
    assert_eq!(content("tool_result", 0), "greet.sh\ntest.sh");
    assert_eq!(content("tool_result", 1), "String not found");
    let notes: Vec<&str> = r
        .transcript
        .iter()
        .filter(|e| e.kind == "note")
        .map(|e| e.content.as_str())
        .collect();
    assert!(notes[0].starts_with("$ exec "), "{notes:?}");
    assert!(
        notes.iter().any(|n| n.starts_with("result: success")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|n| n.contains("plain text that is not JSON")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(|n| n.contains("a warning on stderr")),
        "stderr is kept: {notes:?}"
    );
    // The command ran in the workspace.
    assert_eq!(env.recorded("cwd").trim(), env.ws.to_string_lossy());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_json_output_is_parsed() {
    let env = Env::new();
    let mut cfg = env.claude("json");
    cfg.output_format = "json".into();
    let r = run_claude(&env, cfg, "Do it").await.unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.final_message.as_deref(), Some("All done."));
    assert_eq!(r.turns, 2);
    assert_eq!(r.tool_calls, 0, "json output has no transcript");
    assert_eq!(r.tokens_in, Some(11 + 22 + 33));
    assert_eq!(r.tokens_out, Some(44));
    assert_eq!(r.cache_read_tokens, Some(33));
    assert_eq!(r.cache_write_tokens, Some(22));
    assert_eq!(r.cost_usd, Some(0.5));
    let argv = env.argv();
    assert_eq!(argv[..3], ["-p", "--output-format", "json"]);
    assert!(!argv.iter().any(|a| a == "--verbose"), "{argv:?}");

    // `json --verbose` prints one array of messages: read like stream-json.
    let mut cfg = env.claude("json-array");
    cfg.output_format = "json".into();
    let r = run_claude(&env, cfg, "Do it").await.unwrap();
    assert_eq!(r.tool_calls, 1);
    assert_eq!(r.final_message.as_deref(), Some("ok"));
    assert_eq!(r.tokens_in, Some(1));
    assert_eq!(r.cost_usd, Some(0.25));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_command_line_defaults_and_options() {
    let env = Env::new();
    run_claude(&env, env.claude("stream"), "x").await.unwrap();
    let argv = env.argv();
    let after = |flag: &str| {
        let i = argv
            .iter()
            .position(|a| a == flag)
            .unwrap_or_else(|| panic!("no {flag} in {argv:?}"));
        argv[i + 1].clone()
    };
    assert_eq!(
        argv[..4],
        ["-p", "--output-format", "stream-json", "--verbose"]
    );
    assert_eq!(after("--permission-mode"), "acceptEdits");
    assert!(
        !argv.iter().any(|a| a.contains("bypassPermissions")),
        "{argv:?}"
    );
    assert!(!argv.iter().any(|a| a.contains("dangerously")), "{argv:?}");
    assert_eq!(after("--allowedTools"), "Read,Edit,Write,Bash,Glob,Grep,LS");
    assert!(
        !argv.iter().any(|a| a == "--model" || a == "--max-turns"),
        "{argv:?}"
    );
    // The prompt is not on the command line.
    assert!(!argv.iter().any(|a| a == "x"), "{argv:?}");

    let mut cfg = env.claude("stream");
    cfg.model = Some("claude-opus-4-1".into());
    cfg.max_turns = Some(7);
    cfg.permission_mode = "plan".into();
    cfg.allowed_tools = vec!["Read".into(), "Bash(git diff:*)".into()];
    let agent = ClaudeCodeAgent::new(cfg.clone());
    assert_eq!(agent.model(), Some("claude-opus-4-1"));
    run_claude(&env, cfg, "x").await.unwrap();
    let argv = env.argv();
    let after = |flag: &str| argv[argv.iter().position(|a| a == flag).unwrap() + 1].clone();
    assert_eq!(after("--model"), "claude-opus-4-1");
    assert_eq!(after("--max-turns"), "7");
    assert_eq!(after("--permission-mode"), "plan");
    assert_eq!(after("--allowedTools"), "Read,Bash(git diff:*)");
    // extra_args come last, in order.
    assert_eq!(
        argv[argv.len() - 4..][..2],
        [
            "--fake-dir".to_string(),
            env.rec.to_string_lossy().into_owned()
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_prompt_arrives_on_stdin_verbatim() {
    let env = Env::new();
    let prompt = "Fix it.\nUse \"quotes\", 'single', `backticks`, $(touch pwned) and $HOME;\n\
                  '; rm -rf workspace; echo '\n\tindented ünïcødé\n\n";
    run_claude(&env, env.claude("stream"), prompt)
        .await
        .unwrap();
    assert_eq!(env.recorded("stdin"), prompt);
    assert!(!env.ws.join("pwned").exists());
    assert!(env.ws.exists());
    assert_eq!(
        std::fs::read_dir(&env.ws).unwrap().count(),
        0,
        "the prompt file is not in the workspace"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_gets_the_api_key() {
    let env = Env::new();
    run_claude(&env, env.claude("stream"), "x").await.unwrap();
    assert_eq!(env.recorded("api_key"), API_KEY);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_error_exit_fails_with_the_tail() {
    let env = Env::new();
    let (message, r) = failed_with(run_claude(&env, env.claude("error"), "x").await);
    assert!(message.contains("exited with code 3"), "{message}");
    assert!(
        message.contains("the last words of a failing claude"),
        "{message}"
    );
    assert!(message.contains("some stdout noise"), "{message}");
    assert_eq!(r.stop_reason, "error");
    assert!(
        r.transcript.iter().any(|e| e.kind == "system"),
        "parsed lines are kept"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_is_error_result_fails() {
    let env = Env::new();
    let (message, r) = failed_with(run_claude(&env, env.claude("is_error"), "x").await);
    assert!(message.contains("Invalid API key"), "{message}");
    assert_eq!(r.stop_reason, "error");
    assert_eq!(r.turns, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_max_turns_is_a_stop_reason() {
    let env = Env::new();
    let r = run_claude(&env, env.claude("max_turns"), "x")
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "max_turns");
    assert_eq!(r.turns, 3);
    assert_eq!(r.tokens_in, Some(6));
    assert_eq!(r.final_message.as_deref(), Some("Still working"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_hang_times_out_and_leaves_no_process() {
    let env = Env::new();
    let marker = unique_marker();
    let mut cfg = env.claude("hang");
    cfg.extra_args
        .extend(["--fake-marker".to_string(), marker.clone()]);
    let agent = ClaudeCodeAgent::new(cfg);
    // While it hangs, its processes are visible (so the final check can see them).
    let m = marker.clone();
    let seen = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(500)).await;
        processes_with(&m).len()
    });
    let t0 = Instant::now();
    let res = agent
        .run(env.ctx("x", Duration::from_secs(1), CancellationToken::new()))
        .await;
    assert!(
        seen.await.unwrap() >= 2,
        "the fake and its sleeper were running"
    );
    let took = t0.elapsed();
    let (message, r) = failed_with(res);
    assert!(message.contains("claude-code timed out"), "{message}");
    assert_eq!(r.stop_reason, "timeout");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    // What was printed before the hang is kept, usage included.
    assert!(r.transcript.iter().any(|e| e.kind == "system"));
    assert_eq!(r.tool_calls, 1);
    assert_eq!(r.tokens_in, Some(12));
    assert_eq!(r.tokens_out, Some(6));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_cancel_stops_it() {
    let env = Env::new();
    let marker = unique_marker();
    let mut cfg = env.claude("hang");
    cfg.extra_args
        .extend(["--fake-marker".to_string(), marker.clone()]);
    let agent = ClaudeCodeAgent::new(cfg);
    let cancel = CancellationToken::new();
    let c = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        c.cancel();
    });
    let t0 = Instant::now();
    let (message, r) = failed_with(agent.run(env.ctx("x", RUN_LIMIT, cancel)).await);
    assert!(message.contains("cancelled"), "{message}");
    assert_eq!(r.stop_reason, "cancelled");
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_missing_binary_is_a_config_error() {
    let env = Env::new();
    for binary in [
        "/nonexistent/zebench/claude",
        "zebench-no-such-claude-binary",
    ] {
        let cfg = ClaudeCodeConfig {
            binary: binary.into(),
            ..ClaudeCodeConfig::default()
        };
        match run_claude(&env, cfg, "x").await {
            Err(AgentError::Config(m)) => {
                assert!(m.contains("install Claude Code"), "{m}");
                assert!(m.contains("binary"), "{m}");
            }
            other => panic!("expected a config error, got {other:?}"),
        }
    }
    // A file that is not executable.
    let not_exec = env.rec.join("claude");
    std::fs::write(&not_exec, "#!/bin/sh\n").unwrap();
    let cfg = ClaudeCodeConfig {
        binary: not_exec,
        ..ClaudeCodeConfig::default()
    };
    match run_claude(&env, cfg, "x").await {
        Err(AgentError::Config(m)) => assert!(m.contains("not an executable"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_unknown_output_format_is_a_config_error() {
    let env = Env::new();
    let mut cfg = env.claude("stream");
    cfg.output_format = "text".into();
    match run_claude(&env, cfg, "x").await {
        Err(AgentError::Config(m)) => assert!(m.contains("stream-json"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}

// ---- command agent ---------------------------------------------------------------------------

fn cmd(command: String) -> CmdConfig {
    CmdConfig {
        command,
        ..CmdConfig::default()
    }
}

async fn run_cmd(env: &Env, agent: &CmdAgent, prompt: &str) -> Result<AgentReport, AgentError> {
    agent
        .run(env.ctx(prompt, RUN_LIMIT, CancellationToken::new()))
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_placeholders_are_substituted_and_quoted() {
    let env = Env::new();
    std::fs::create_dir(env.ws.join("x")).unwrap();
    let rec = shell_quote(&env.rec.to_string_lossy());
    let template = format!(
        "printf '%s' {{prompt}} > {rec}/prompt; cat {{prompt_file}} > {rec}/prompt_file; \
         printf '%s' {{workspace}} > {rec}/workspace; printf '[%s]' {{model}} > {rec}/model; \
         printf '%s' {{prompt_file}} > {rec}/prompt_path; echo done"
    );
    let prompt = "'; rm -rf x; ' \"$(touch pwned)\" `touch pwned2` $HOME {workspace}\nline 2";
    let agent = CmdAgent::new("cmd:test", cmd(template.clone()));
    assert_eq!(agent.name(), "cmd:test");
    assert_eq!(agent.model(), None);
    let r = run_cmd(&env, &agent, prompt).await.unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(env.recorded("prompt"), prompt);
    assert_eq!(env.recorded("prompt_file"), prompt);
    assert_eq!(env.recorded("workspace"), env.ws.to_string_lossy());
    assert_eq!(env.recorded("model"), "[]");
    assert!(env.ws.join("x").is_dir(), "the prompt stayed data");
    assert!(!env.ws.join("pwned").exists() && !env.ws.join("pwned2").exists());
    let prompt_path = PathBuf::from(env.recorded("prompt_path"));
    assert!(!prompt_path.starts_with(&env.ws), "{prompt_path:?}");
    assert!(
        !prompt_path.exists(),
        "the prompt file is removed after the run"
    );
    // Transcript: the prompt, the command line, then the output.
    let kinds: Vec<&str> = r.transcript.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["user", "note", "assistant"]);
    assert!(r.transcript[1].content.starts_with("$ printf"));
    assert_eq!(r.transcript[2].content, "done");
    assert_eq!(r.final_message.as_deref(), Some("done"));
    assert_eq!(r.tokens_in, None);

    let mut cfg = cmd(format!("printf '[%s]' {{model}} > {rec}/model"));
    cfg.model = Some("gpt-5 codex".into());
    let agent = CmdAgent::new("codex", cfg);
    assert_eq!(agent.model(), Some("gpt-5 codex"));
    run_cmd(&env, &agent, "x").await.unwrap();
    assert_eq!(env.recorded("model"), "[gpt-5 codex]");
}

#[test]
fn render_command_is_one_pass() {
    let line = render_command(
        "run {prompt} {model}",
        "{model} {prompt_file}",
        Path::new("/tmp/p.txt"),
        Path::new("/ws"),
        Some("m"),
    );
    assert_eq!(line, "run '{model} {prompt_file}' m");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_json_lines_usage_is_summed() {
    let env = Env::new();
    let mut cfg = cmd(format!(
        "sh {} 0",
        shell_quote(&fixture("fake-codex.sh").to_string_lossy())
    ));
    cfg.usage = Some("json-lines".into());
    cfg.model = Some("gpt-5-codex".into());
    let r = run_cmd(&env, &CmdAgent::new("codex", cfg), "x")
        .await
        .unwrap();
    assert_eq!(r.stop_reason, "finished");
    assert_eq!(r.tokens_in, Some(1000 + 2500));
    assert_eq!(r.tokens_out, Some(120 + 80));
    assert_eq!(r.cache_read_tokens, Some(600 + 2000));
    assert_eq!(r.cache_write_tokens, Some(0));
    assert_eq!(r.cost_usd, None);
    // Two command executions and one file change, each counted once (started + completed).
    assert_eq!(r.tool_calls, 3);
    assert_eq!(r.turns, 2);
    assert_eq!(r.final_message.as_deref(), Some("Fixed greet.sh."));
    assert_eq!(r.commands, ["bash -lc ls", "sh test.sh"]);
    let steps: Vec<(&str, Option<&str>, bool)> = r
        .transcript
        .iter()
        .map(|e| (e.kind.as_str(), e.tool.as_deref(), e.is_error))
        .collect();
    assert_eq!(
        steps,
        [
            ("user", None, false),
            ("note", None, false),
            ("note", None, false),
            ("tool_call", Some("command_execution"), false),
            ("tool_result", Some("command_execution"), false),
            ("tool_call", Some("file_change"), false),
            ("tool_call", Some("command_execution"), false),
            ("tool_result", Some("command_execution"), true),
            ("assistant", None, false),
            ("note", None, false),
        ]
    );
    assert_eq!(r.transcript[2].content, "reasoning: Looking at the repo");
    assert!(r.transcript[4].content.contains("greet.sh\ntest.sh"));
    assert!(r.transcript[9]
        .content
        .contains("codex: a log line on stderr"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_json_lines_reads_anthropic_and_openai_usage() {
    let env = Env::new();
    let lines = [
        r#"{"type":"assistant","message":{"content":[{"type":"tool_use","id":"t1","name":"Bash","input":{}}],"usage":{"input_tokens":999}}}"#,
        r#"{"type":"result","num_turns":2,"total_cost_usd":0.25,"result":"ok","usage":{"input_tokens":10,"cache_creation_input_tokens":20,"cache_read_input_tokens":30,"output_tokens":40}}"#,
        r#"{"type":"function_call","usage":{"prompt_tokens":100,"completion_tokens":7,"prompt_tokens_details":{"cached_tokens":50}},"cost_usd":0.5}"#,
    ];
    let script = lines
        .iter()
        .map(|l| format!("printf '%s\\n' {}", shell_quote(l)))
        .collect::<Vec<_>>()
        .join("; ");
    let mut cfg = cmd(script);
    cfg.usage = Some("json-lines".into());
    let r = run_cmd(&env, &CmdAgent::new("mixed", cfg), "x")
        .await
        .unwrap();
    assert_eq!(r.tokens_in, Some(10 + 20 + 30 + 100));
    assert_eq!(r.tokens_out, Some(40 + 7));
    assert_eq!(r.cache_read_tokens, Some(30 + 50));
    assert_eq!(r.cache_write_tokens, Some(20));
    assert_eq!(r.cost_usd, Some(0.75));
    assert_eq!(r.tool_calls, 2, "a tool_use block and a function_call line");
    assert_eq!(r.turns, 2);
    assert_eq!(r.final_message.as_deref(), Some("ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_nonzero_exit_fails_with_the_tail() {
    let env = Env::new();
    let mut cfg = cmd(format!(
        "sh {} 4",
        shell_quote(&fixture("fake-codex.sh").to_string_lossy())
    ));
    cfg.usage = Some("json-lines".into());
    let (message, r) = failed_with(run_cmd(&env, &CmdAgent::new("codex", cfg), "x").await);
    assert!(message.starts_with("codex exited with code 4"), "{message}");
    assert!(message.contains("codex: a log line on stderr"), "{message}");
    assert_eq!(r.stop_reason, "error");
    assert_eq!(r.tokens_in, Some(3500), "usage is kept on failure");

    let (message, r) = failed_with(
        run_cmd(
            &env,
            &CmdAgent::new("plain", cmd("echo oops >&2; exit 2".into())),
            "x",
        )
        .await,
    );
    assert_eq!(message, "plain exited with code 2: oops");
    assert_eq!(r.stop_reason, "error");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_passes_only_the_env_it_is_given() {
    let env = Env::new();
    let rec = shell_quote(&env.rec.to_string_lossy());
    let template =
        format!("printf '%s|%s' \"${{ANTHROPIC_API_KEY-unset}}\" \"${{EXTRA-unset}}\" > {rec}/env");
    let agent = CmdAgent::new("c", cmd(template.clone()));
    run_cmd(&env, &agent, "x").await.unwrap();
    assert_eq!(
        env.recorded("env"),
        "unset|unset",
        "provider keys are scrubbed by default"
    );

    let mut cfg = cmd(template);
    cfg.env = vec![("EXTRA".into(), "v a l".into())];
    cfg.pass_env = vec![
        "ANTHROPIC_API_KEY".into(),
        "ZEBENCH_TEST_NOT_SET_ANYWHERE".into(),
    ];
    let r = run_cmd(&env, &CmdAgent::new("c", cfg), "x").await.unwrap();
    assert_eq!(env.recorded("env"), format!("{API_KEY}|v a l"));
    assert!(r
        .transcript
        .iter()
        .any(|e| e.content.contains("ZEBENCH_TEST_NOT_SET_ANYWHERE")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_timeout_kills_the_command() {
    let env = Env::new();
    let marker = unique_marker();
    let agent = CmdAgent::new(
        "slow",
        cmd(format!("echo started; sh -c 'sleep 30; : {marker}'")),
    );
    let t0 = Instant::now();
    let res = agent
        .run(env.ctx("x", Duration::from_secs(1), CancellationToken::new()))
        .await;
    let (message, r) = failed_with(res);
    assert!(message.starts_with("slow timed out"), "{message}");
    assert_eq!(r.stop_reason, "timeout");
    assert_eq!(r.final_message.as_deref(), Some("started"));
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(processes_with(&marker), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cmd_config_errors() {
    let env = Env::new();
    let agent = CmdAgent::new("empty", cmd("  ".into()));
    assert!(matches!(
        run_cmd(&env, &agent, "x").await,
        Err(AgentError::Config(_))
    ));
    let mut cfg = cmd("true".into());
    cfg.usage = Some("xml".into());
    let agent = CmdAgent::new("bad-usage", cfg);
    match run_cmd(&env, &agent, "x").await {
        Err(AgentError::Config(m)) => assert!(m.contains("json-lines"), "{m}"),
        other => panic!("expected a config error, got {other:?}"),
    }
}
