use super::*;
use crate::agent::AgentReport;
use crate::diff::{DepsDelta, DiffReport};
use crate::suite::model::{CommandCheck, FileCheck, PatternCheck, ScriptCheck, StructuredCheck};
use crate::suite::Scenario;
use std::path::Path;
use tokio_util::sync::CancellationToken;

fn common(name: &str, weight: f64, negate: bool) -> CheckCommon {
    CheckCommon {
        name: name.into(),
        weight: Some(weight),
        description: None,
        negate: Some(negate),
    }
}

fn scenario(h: HeuristicChecks) -> Scenario {
    Scenario {
        id: Some("my-scenario".into()),
        suite: Some("my-suite".into()),
        heuristic_checks: Some(h),
        ..Default::default()
    }
}

async fn run(sc: &Scenario, scenario_dir: &Path, ws: &Path) -> Option<EvaluatorOutcome> {
    let (diff, deps, agent) = (
        DiffReport::default(),
        DepsDelta::default(),
        AgentReport::default(),
    );
    let ctx = EvalContext {
        scenario: sc,
        scenario_dir,
        workspace: Some(ws),
        tier: "L1",
        prompt: "",
        baseline: &[],
        validation: &[],
        diff: &diff,
        deps: &deps,
        agent: &agent,
        cancel: CancellationToken::new(),
    };
    HeuristicChecksEvaluator.evaluate(&ctx).await.unwrap()
}

/// name → passed, from the details.
fn results(o: &EvaluatorOutcome) -> Vec<(String, bool)> {
    o.details["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["passed"].as_bool().unwrap(),
            )
        })
        .collect()
}

fn passed(o: &EvaluatorOutcome, name: &str) -> bool {
    results(o).into_iter().find(|(n, _)| n == name).unwrap().1
}

fn workspace() -> tempfile::TempDir {
    let ws = tempfile::tempdir().unwrap();
    let w = ws.path();
    std::fs::create_dir_all(w.join("app/page")).unwrap();
    std::fs::create_dir_all(w.join("node_modules/lib")).unwrap();
    std::fs::write(
        w.join("app/page/index.tsx"),
        "'use client';\nexport default 1;\n",
    )
    .unwrap();
    std::fs::write(w.join("app/layout.tsx"), "export const x = 1;\n").unwrap();
    std::fs::write(w.join("node_modules/lib/x.tsx"), "SECRET_IN_DEPS").unwrap();
    std::fs::write(
        w.join("package.json"),
        r#"{"scripts":{"test":"vitest"},"workspaces":["a","b"]}"#,
    )
    .unwrap();
    std::fs::write(w.join("config.yaml"), "server:\n  ports: [80, 443]\n").unwrap();
    std::fs::write(w.join("NOTES.md"), "# Notes\n\n## Migration Plan\ntext\n").unwrap();
    ws
}

#[tokio::test]
async fn absent_disabled_or_empty_checks_do_not_apply() {
    let ws = workspace();
    let none = Scenario::default();
    assert!(run(&none, ws.path(), ws.path()).await.is_none());
    let empty = scenario(HeuristicChecks::default());
    assert!(run(&empty, ws.path(), ws.path()).await.is_none());
    let mut h = HeuristicChecks {
        files: vec![FileCheck {
            common: common("f", 1.0, false),
            path: "package.json".into(),
            ..Default::default()
        }],
        ..Default::default()
    };
    h.enabled = Some(false);
    assert!(run(&scenario(h.clone()), ws.path(), ws.path())
        .await
        .is_none());
    h.enabled = Some(true);
    h.files[0].common.weight = Some(0.0);
    assert!(run(&scenario(h), ws.path(), ws.path()).await.is_none());
}

#[tokio::test]
async fn command_checks_pass_on_exit_zero_in_the_workspace() {
    let ws = workspace();
    let cmd = |name: &str, c: &str| CommandCheck {
        common: common(name, 1.0, false),
        command: c.into(),
        ..Default::default()
    };
    let h = HeuristicChecks {
        commands: vec![cmd("ok", "test -f package.json"), cmd("fails", "exit 2")],
        ..Default::default()
    };
    let o = run(&scenario(h), ws.path(), ws.path()).await.unwrap();
    assert_eq!(o.evaluator, "HeuristicChecksEvaluator");
    assert_eq!(
        results(&o),
        vec![("ok".into(), true), ("fails".into(), false)]
    );
    assert_eq!(
        o.metrics,
        vec![Metric {
            key: "heuristic_checks".into(),
            score: 0.5
        }]
    );
    assert_eq!(o.details["passed"], 1);
    assert_eq!(o.details["total"], 2);
    assert_eq!(o.details["checks"][1]["family"], "commands");
    assert!(o.details["checks"][1]["detail"]
        .as_str()
        .unwrap()
        .contains("exit code 2"));
}

#[tokio::test]
async fn file_checks_exist_and_stay_inside() {
    let ws = workspace();
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("x"), "").unwrap();
    std::os::unix::fs::symlink(outside.path(), ws.path().join("out")).unwrap();
    let file = |name: &str, p: &str, negate| FileCheck {
        common: common(name, 1.0, negate),
        path: p.into(),
        ..Default::default()
    };
    let h = HeuristicChecks {
        files: vec![
            file("present", "app/layout.tsx", false),
            file("folder", "app", false),
            file("missing", "README.md", false),
            file("no_readme", "README.md", true),
            file("escape", "../x", false),
            file("escape_negated", "../x", true),
            file("via_symlink", "out/x", false),
        ],
        ..Default::default()
    };
    let o = run(&scenario(h), ws.path(), ws.path()).await.unwrap();
    let want = [
        ("present", true),
        ("folder", true),
        ("missing", false),
        ("no_readme", true),
        ("escape", false),
        ("escape_negated", false),
        ("via_symlink", false),
    ];
    let want: Vec<(String, bool)> = want.iter().map(|(n, p)| (n.to_string(), *p)).collect();
    assert_eq!(results(&o), want);
    assert_eq!(o.details["checks"][3]["negated"], true);
}

#[tokio::test]
async fn pattern_checks_glob_regex_and_errors() {
    let ws = workspace();
    let pat = |name: &str, f: &str, p: &str, negate| PatternCheck {
        common: common(name, 1.0, negate),
        file: f.into(),
        pattern: p.into(),
        ..Default::default()
    };
    let h = HeuristicChecks {
        patterns: vec![
            pat("use_client", "app/**/*.tsx", r"^'use client'", false),
            pat("root_level_glob", "**/*.tsx", r"export const", false),
            pat("single_star_no_slash", "app/*.tsx", r"use client", false),
            pat("no_match_file", "src/**/*.ts", r".", false),
            pat("deps_ignored", "**/*.tsx", r"SECRET_IN_DEPS", false),
            pat("no_secret", "**/*.tsx", r"SECRET_IN_DEPS", true),
            pat("bad_regex", "**/*.tsx", r"(unclosed", true),
            pat("bad_glob", "app/[", r"x", false),
        ],
        ..Default::default()
    };
    let o = run(&scenario(h), ws.path(), ws.path()).await.unwrap();
    assert!(passed(&o, "use_client"));
    assert!(passed(&o, "root_level_glob"));
    assert!(!passed(&o, "single_star_no_slash"));
    assert!(!passed(&o, "no_match_file"));
    assert!(o.details["checks"][3]["detail"]
        .as_str()
        .unwrap()
        .contains("no file matches"));
    assert!(!passed(&o, "deps_ignored"));
    assert!(passed(&o, "no_secret"));
    assert!(!passed(&o, "bad_regex"));
    assert!(o.details["checks"][6]["detail"]
        .as_str()
        .unwrap()
        .contains("invalid regex"));
    assert!(!passed(&o, "bad_glob"));
}

#[tokio::test]
async fn structured_checks_json_yaml_and_headings() {
    let ws = workspace();
    std::fs::write(ws.path().join("broken.json"), "{ nope").unwrap();
    let st = |name: &str, f: &str, jp: Option<&str>, h: Option<&str>| StructuredCheck {
        common: common(name, 1.0, false),
        file: f.into(),
        json_path: jp.map(Into::into),
        section_header: h.map(Into::into),
        ..Default::default()
    };
    let h = HeuristicChecks {
        structured: vec![
            st("json_ok", "package.json", Some("$.scripts.test"), None),
            st("json_index", "package.json", Some("$.workspaces[1]"), None),
            st("json_missing", "package.json", Some("$.scripts.lint"), None),
            st("yaml_ok", "config.yaml", Some("$.server.ports[1]"), None),
            st("yaml_missing", "config.yaml", Some("$.server.host"), None),
            st("heading_ok", "NOTES.md", None, Some("Migration Plan")),
            st("heading_missing", "NOTES.md", None, Some("Rollback")),
            st("exists_only", "NOTES.md", None, None),
            st("file_missing", "nope.json", Some("$.a"), None),
            st("broken_json", "broken.json", Some("$.a"), None),
            st("bad_path", "package.json", Some("$[x"), None),
        ],
        ..Default::default()
    };
    let o = run(&scenario(h), ws.path(), ws.path()).await.unwrap();
    let r = results(&o);
    let pass: Vec<&str> = r
        .iter()
        .filter(|(_, p)| *p)
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(
        pass,
        [
            "json_ok",
            "json_index",
            "yaml_ok",
            "heading_ok",
            "exists_only"
        ]
    );
}

#[tokio::test]
async fn script_checks_substitute_arguments_and_run_in_workspace() {
    let ws = workspace();
    let sdir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(sdir.path().join("checks")).unwrap();
    std::fs::write(
        sdir.path().join("checks/verify.sh"),
        "echo \"$1|$2|$3|$(pwd)\" > out.txt\n[ \"$1\" = my-scenario ]\n",
    )
    .unwrap();
    std::fs::write(ws.path().join("local.sh"), "exit 1\n").unwrap();
    let script = |name: &str, s: &str, args: &[&str]| ScriptCheck {
        common: common(name, 1.0, false),
        script: s.into(),
        args: args.iter().map(|a| a.to_string()).collect(),
        ..Default::default()
    };
    let h = HeuristicChecks {
        scripts: vec![
            script(
                "scenario_script",
                "checks/verify.sh",
                &["${scenario.id}", "${scenario.suite}", "${workspace}"],
            ),
            script("workspace_script", "local.sh", &[]),
            script("missing_script", "nope.sh", &[]),
        ],
        ..Default::default()
    };
    let o = run(&scenario(h), sdir.path(), ws.path()).await.unwrap();
    assert_eq!(
        results(&o),
        vec![
            ("scenario_script".into(), true),
            ("workspace_script".into(), false),
            ("missing_script".into(), false)
        ]
    );
    let out = std::fs::read_to_string(ws.path().join("out.txt")).unwrap();
    let canon = std::fs::canonicalize(ws.path()).unwrap();
    let canon = canon.to_string_lossy();
    assert_eq!(out.trim(), format!("my-scenario|my-suite|{canon}|{canon}"));
}

#[tokio::test]
async fn weights_and_negation_set_the_score() {
    let ws = workspace();
    let file = |name: &str, p: &str, w: f64, negate| FileCheck {
        common: common(name, w, negate),
        path: p.into(),
        ..Default::default()
    };
    let h = HeuristicChecks {
        files: vec![
            file("heavy_pass", "package.json", 3.0, false),
            file("light_fail", "missing.txt", 1.0, false),
            file("negated_fail", "package.json", 2.0, true),
            file("negated_pass", "missing.txt", 2.0, true),
            file("ignored", "missing.txt", 0.0, false),
            file("ignored_negative", "missing.txt", -1.0, false),
        ],
        ..Default::default()
    };
    let o = run(&scenario(h), ws.path(), ws.path()).await.unwrap();
    assert!(
        (o.metrics[0].score - 5.0 / 8.0).abs() < 1e-9,
        "{:?}",
        o.metrics
    );
    assert_eq!(o.details["total"], 4);
    assert_eq!(o.details["passed"], 2);
    assert_eq!(
        o.details["skipped"],
        serde_json::json!(["ignored", "ignored_negative"])
    );
}
