use super::*;
use serde_json::json;
use std::os::unix::fs::symlink;

struct Fixture {
    _base: tempfile::TempDir,
    ws: PathBuf,
    evil: PathBuf,
    outside: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let base = tempfile::tempdir().unwrap();
    let ws = base.path().join("ws");
    let evil = base.path().join("ws-evil");
    std::fs::create_dir_all(ws.join("src")).unwrap();
    std::fs::create_dir_all(&evil).unwrap();
    std::fs::write(evil.join("secret.txt"), "secret").unwrap();
    std::fs::write(ws.join("src/main.ts"), "let a = 1;\nlet b = 1;\n").unwrap();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("outside.txt"), "outside").unwrap();
    Fixture {
        _base: base,
        ws,
        evil,
        outside,
    }
}

fn toolbox(ws: &Path, oracle: Option<Oracle>) -> Toolbox {
    Toolbox::new(
        ws,
        oracle,
        Duration::from_secs(30),
        4096,
        CancellationToken::new(),
    )
    .unwrap()
}

#[test]
fn resolve_accepts_inside_paths() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let root = tb.root().to_path_buf();
    assert_eq!(tb.resolve("src/main.ts").unwrap(), root.join("src/main.ts"));
    assert_eq!(
        tb.resolve("./src/../src/main.ts").unwrap(),
        root.join("src/main.ts")
    );
    assert_eq!(
        tb.resolve("new/dir/file.txt").unwrap(),
        root.join("new/dir/file.txt")
    );
    assert_eq!(tb.resolve(".").unwrap(), root);
    let abs = root.join("src/main.ts");
    assert_eq!(tb.resolve(abs.to_str().unwrap()).unwrap(), abs);
    // A symlink inside pointing inside is fine.
    symlink(root.join("src"), root.join("alias")).unwrap();
    assert_eq!(
        tb.resolve("alias/main.ts").unwrap(),
        root.join("src/main.ts")
    );
}

#[test]
fn resolve_refuses_escapes() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let root = tb.root().to_path_buf();
    symlink(f.outside.path(), root.join("out")).unwrap();
    symlink(f.outside.path().join("new.txt"), root.join("dangling")).unwrap();
    let evil_abs = std::fs::canonicalize(&f.evil).unwrap().join("secret.txt");
    for p in [
        "../x",
        "/etc/passwd",
        "a/../../x",
        "src/../../ws-evil/secret.txt",
        evil_abs.to_str().unwrap(),
        "out/outside.txt",
        "out",
        "dangling",
        "dangling/sub/file",
    ] {
        let e = tb.resolve(p);
        assert!(
            matches!(e, Err(ToolError::OutsideWorkspace { .. })),
            "{p}: {e:?}"
        );
    }
}

#[test]
fn symlink_loops_are_refused_not_hung() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    symlink("loop", tb.root().join("loop")).unwrap();
    assert!(tb.resolve("loop/x").is_err());
}

#[tokio::test]
async fn escapes_are_refused_for_read_and_write() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    symlink(f.outside.path(), tb.root().join("out")).unwrap();
    symlink(f.outside.path().join("new.txt"), tb.root().join("dangling")).unwrap();
    let r = tb
        .call("read_file", &json!({"path": "out/outside.txt"}))
        .await;
    assert!(
        r.is_error && r.content.contains("outside the workspace"),
        "{r:?}"
    );
    let r = tb
        .call("read_file", &json!({"path": "../ws-evil/secret.txt"}))
        .await;
    assert!(r.is_error, "{r:?}");
    for p in ["dangling", "out/evil.txt", "../ws-evil/x.txt"] {
        let w = tb
            .call("write_file", &json!({"path": p, "content": "x"}))
            .await;
        assert!(w.is_error, "{p}: {w:?}");
    }
    assert!(!f.outside.path().join("new.txt").exists());
    assert!(!f.outside.path().join("evil.txt").exists());
    assert!(!f.evil.join("x.txt").exists());
    let e = tb
        .call(
            "edit_file",
            &json!({"path": "out/outside.txt", "old_string": "outside", "new_string": "pwned"}),
        )
        .await;
    assert!(e.is_error);
    assert_eq!(
        std::fs::read_to_string(f.outside.path().join("outside.txt")).unwrap(),
        "outside"
    );
    let l = tb.call("list_files", &json!({"path": "out"})).await;
    assert!(l.is_error);
}

#[tokio::test]
async fn write_then_read_creates_parent_folders() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let w = tb
        .call(
            "write_file",
            &json!({"path": "a/b/c.txt", "content": "héllo"}),
        )
        .await;
    assert!(!w.is_error, "{w:?}");
    assert!(w.content.contains("a/b/c.txt"));
    let r = tb.call("read_file", &json!({"path": "a/b/c.txt"})).await;
    assert_eq!(r, ToolOutput::ok("héllo"));
    let r = tb.call("read_file", &json!({"path": "missing.txt"})).await;
    assert!(r.is_error);
    let r = tb.call("read_file", &json!({"path": "src"})).await;
    assert!(r.is_error && r.content.contains("list_files"));
}

#[tokio::test]
async fn read_file_is_capped_with_a_note() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    std::fs::write(f.ws.join("big.txt"), "é".repeat(READ_CAP)).unwrap();
    let r = tb.call("read_file", &json!({"path": "big.txt"})).await;
    assert!(!r.is_error);
    assert!(r.content.len() < READ_CAP + 200);
    assert!(r.content.contains("output cut at"));
    assert!(!r.content.contains('\u{FFFD}'));
}

#[tokio::test]
async fn edit_file_replaces_and_reports_errors() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let call = |input: Value| {
        let tb = &tb;
        async move { tb.call("edit_file", &input).await }
    };
    let e = call(json!({"path": "src/main.ts", "old_string": "let c", "new_string": "x"})).await;
    assert!(e.is_error && e.content.contains("not found"), "{e:?}");
    let e =
        call(json!({"path": "src/main.ts", "old_string": " = 1;", "new_string": " = 2;"})).await;
    assert!(e.is_error && e.content.contains("2 times"), "{e:?}");
    let e = call(json!({"path": "src/main.ts", "old_string": "", "new_string": "x"})).await;
    assert!(e.is_error);
    let e = call(json!({"path": "src/main.ts", "old_string": "a"})).await;
    assert!(e.is_error && e.content.contains("new_string"));
    let e = call(json!({"path": "nope.ts", "old_string": "a", "new_string": "b"})).await;
    assert!(e.is_error);
    let ok = call(
        json!({"path": "src/main.ts", "old_string": "let a = 1;", "new_string": "let a = 5;"}),
    )
    .await;
    assert!(!ok.is_error, "{ok:?}");
    let text = std::fs::read_to_string(f.ws.join("src/main.ts")).unwrap();
    assert_eq!(text, "let a = 5;\nlet b = 1;\n");
    let all = call(json!({"path": "src/main.ts", "old_string": "let", "new_string": "const", "replace_all": true})).await;
    assert!(
        !all.is_error && all.content.contains("2 occurrences"),
        "{all:?}"
    );
    let text = std::fs::read_to_string(f.ws.join("src/main.ts")).unwrap();
    assert_eq!(text, "const a = 5;\nconst b = 1;\n");
}

#[tokio::test]
async fn list_files_skips_git_and_node_modules() {
    let f = fixture();
    std::fs::create_dir_all(f.ws.join("node_modules/react")).unwrap();
    std::fs::write(f.ws.join("node_modules/react/index.js"), "").unwrap();
    std::fs::create_dir_all(f.ws.join(".git/objects")).unwrap();
    std::fs::write(f.ws.join("package.json"), "{}").unwrap();
    let tb = toolbox(&f.ws, None);
    let top = tb.call("list_files", &json!({})).await;
    assert!(!top.is_error);
    let lines: Vec<&str> = top.content.lines().collect();
    assert!(lines.contains(&"package.json"));
    assert!(lines.contains(&"src/"));
    assert!(!lines.contains(&"src/main.ts"));
    let rec = tb.call("list_files", &json!({"recursive": true})).await;
    assert!(rec.content.contains("src/main.ts"));
    assert!(rec.content.contains("node_modules/ (contents not listed)"));
    assert!(!rec.content.contains("react"));
    assert!(!rec.content.contains("objects"));
    let sub = tb.call("list_files", &json!({"path": "src"})).await;
    assert_eq!(sub.content, "src/main.ts");
    let bad = tb.call("list_files", &json!({"recursive": "yes"})).await;
    assert!(bad.is_error);
}

#[tokio::test]
async fn run_command_runs_in_workspace_and_is_recorded() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let r = tb
        .call("run_command", &json!({"command": "ls src && echo done"}))
        .await;
    assert!(!r.is_error, "{r:?}");
    assert!(r.content.contains("main.ts") && r.content.contains("exit code 0"));
    let r = tb.call("run_command", &json!({"command": "exit 3"})).await;
    assert!(r.is_error && r.content.contains("exit code 3"), "{r:?}");
    let r = tb
        .call(
            "run_command",
            &json!({"command": "sleep 5", "timeout_seconds": 0.3}),
        )
        .await;
    assert!(r.is_error && r.content.contains("timed out"), "{r:?}");
    let r = tb
        .call(
            "run_command",
            &json!({"command": "true", "timeout_seconds": -1}),
        )
        .await;
    assert!(r.is_error);
    let rec = tb.take_record();
    assert_eq!(
        rec.commands,
        vec!["ls src && echo done", "exit 3", "sleep 5"]
    );
    assert_eq!(rec.tool_calls, 4);
    assert_eq!(tb.take_record(), ToolRecord::default());
}

#[tokio::test]
async fn ask_user_answers_from_the_oracle_and_records() {
    let f = fixture();
    let oracle = Oracle::from_pairs([("major_version_update", "No majors.")]);
    let tb = toolbox(&f.ws, Some(oracle));
    assert!(tb.specs().iter().any(|s| s.name == "ask_user"));
    let r = tb
        .call(
            "ask_user",
            &json!({"question": "Is a major version update OK?"}),
        )
        .await;
    assert_eq!(r, ToolOutput::ok("No majors."));
    let r = tb.call("ask_user", &json!({})).await;
    assert!(r.is_error);
    let rec = tb.take_record();
    assert_eq!(rec.questions.len(), 1);
    assert_eq!(rec.questions[0].answer, "No majors.");
}

#[tokio::test]
async fn ask_user_absent_without_oracle() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    assert!(!tb.specs().iter().any(|s| s.name == "ask_user"));
    let r = tb.call("ask_user", &json!({"question": "hi?"})).await;
    assert!(r.is_error && r.content.contains("unknown tool"));
    assert!(tb.take_record().questions.is_empty());
}

#[tokio::test]
async fn unknown_tools_and_bad_arguments_are_error_outputs() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let r = tb.call("delete_everything", &json!({})).await;
    assert!(r.is_error && r.content.contains("read_file"));
    let r = tb.call("read_file", &json!("src/main.ts")).await;
    assert!(r.is_error);
    let r = tb.call("read_file", &json!({"path": 42})).await;
    assert!(r.is_error && r.content.contains("must be a string"));
    let r = tb.call("write_file", &json!({"path": "x.txt"})).await;
    assert!(r.is_error && r.content.contains("content"));
    let r = tb.call("read_file", &Value::Null).await;
    assert!(r.is_error && r.content.contains("missing"));
    assert_eq!(tb.take_record().tool_calls, 5);
}

#[test]
fn specs_carry_full_json_schemas() {
    let f = fixture();
    let tb = toolbox(&f.ws, None);
    let specs = tb.specs();
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "read_file",
            "write_file",
            "edit_file",
            "list_files",
            "run_command"
        ]
    );
    for s in &specs {
        assert_eq!(s.input_schema["type"], "object", "{}", s.name);
        let props = s.input_schema["properties"].as_object().unwrap();
        for (k, p) in props {
            assert!(p["description"].is_string(), "{}.{k}", s.name);
            assert!(p["type"].is_string(), "{}.{k}", s.name);
        }
        for r in s.input_schema["required"].as_array().unwrap() {
            assert!(props.contains_key(r.as_str().unwrap()));
        }
    }
    let edit = &specs[2].input_schema;
    assert_eq!(
        edit["required"],
        json!(["path", "old_string", "new_string"])
    );
}

#[tokio::test]
async fn cancelled_toolbox_refuses_calls() {
    let f = fixture();
    let cancel = CancellationToken::new();
    let tb = Toolbox::new(&f.ws, None, Duration::from_secs(5), 1024, cancel.clone()).unwrap();
    cancel.cancel();
    let r = tb.call("read_file", &json!({"path": "src/main.ts"})).await;
    assert!(r.is_error && r.content.contains("cancelled"));
}
