use super::rules::Manifests;
use super::*;
use crate::agent::AgentReport;
use crate::diff::{DepsDelta, DiffReport};
use crate::suite::model::{
    BlockedPackage, Companion, CompanionRule, Constraints, NamespaceMigration, Target, Targets,
    WorkspaceSpec,
};
use crate::suite::Scenario;
use tokio_util::sync::CancellationToken;

/// Builds file → section → name → spec from (file, section, name, spec) rows.
fn manifests(rows: &[(&str, &str, &str, &str)]) -> Manifests {
    let mut m = Manifests::new();
    for (f, s, n, v) in rows {
        m.entry(f.to_string())
            .or_default()
            .entry(s.to_string())
            .or_default()
            .insert(n.to_string(), v.to_string());
    }
    m
}

fn target(name: &str, to: &str) -> Target {
    Target {
        name: name.into(),
        to: to.into(),
        ..Default::default()
    }
}

async fn eval(
    sc: &Scenario,
    before: Manifests,
    after: Manifests,
    ws: Option<&Path>,
    commands: &[&str],
) -> Option<EvaluatorOutcome> {
    let deps = DepsDelta {
        before,
        after,
        changes: vec![],
    };
    let diff = DiffReport::default();
    let agent = AgentReport {
        commands: commands.iter().map(|c| c.to_string()).collect(),
        ..Default::default()
    };
    let ctx = EvalContext {
        scenario: sc,
        scenario_dir: Path::new("."),
        workspace: ws,
        tier: "L1",
        prompt: "",
        baseline: &[],
        validation: &[],
        diff: &diff,
        deps: &deps,
        agent: &agent,
        cancel: CancellationToken::new(),
    };
    DependencyRulesEvaluator.evaluate(&ctx).await.unwrap()
}

fn score(o: &EvaluatorOutcome, key: &str) -> Option<f64> {
    o.metrics.iter().find(|m| m.key == key).map(|m| m.score)
}

fn close(a: Option<f64>, b: f64) -> bool {
    a.is_some_and(|a| (a - b).abs() < 1e-9)
}

#[tokio::test]
async fn no_rules_or_no_manifests_do_not_apply() {
    let m = manifests(&[("package.json", "dependencies", "react", "18.2.0")]);
    assert!(eval(&Scenario::default(), m.clone(), m, None, &[])
        .await
        .is_none());
    let sc = Scenario {
        targets: Some(Targets {
            required: vec![target("nx", "~20.0")],
            ..Default::default()
        }),
        ..Default::default()
    };
    assert!(eval(&sc, Manifests::new(), Manifests::new(), None, &[])
        .await
        .is_none());
}

#[tokio::test]
async fn targets_required_everywhere_optional_half_weight() {
    let sc = Scenario {
        targets: Some(Targets {
            required: vec![
                target("typescript", ">=5.5 <6"),
                target("nx", "~20.0"),
                target("vite", "^5"),
            ],
            optional: vec![target("eslint", "^9"), target("prettier", "^3")],
            ..Default::default()
        }),
        ..Default::default()
    };
    let after = manifests(&[
        ("package.json", "devDependencies", "typescript", "^5.5.4"),
        (
            "apps/app/package.json",
            "devDependencies",
            "typescript",
            "^5.4.0",
        ),
        ("package.json", "devDependencies", "nx", "~20.0.0"),
        (
            "libs/util/package.json",
            "devDependencies",
            "nx",
            "workspace:*",
        ),
        ("package.json", "devDependencies", "eslint", "^9.1.0"),
    ]);
    let o = eval(&sc, Manifests::new(), after, None, &[]).await.unwrap();
    // typescript fails (apps/app is 5.4), nx met, vite declared nowhere; eslint met, prettier absent.
    assert!(
        close(score(&o, "semantic_upgrade_quality"), 1.5 / 3.5),
        "{:?}",
        o.metrics
    );
    let rows = o.details["semantic_upgrade_quality"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rows[0]["passed"], false);
    assert!(rows[0]["detail"]
        .as_str()
        .unwrap()
        .contains("apps/app/package.json"));
    assert_eq!(rows[1]["passed"], true);
    assert_eq!(rows[2]["detail"], "declared in no package.json");
    assert_eq!(rows[4]["counted"], false);
}

fn companion_scenario() -> Scenario {
    let rule = |main: &str, comp: &str| CompanionRule {
        main: main.into(),
        companions: vec![Companion {
            name: comp.into(),
            rule: Some("major must match".into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    Scenario {
        workspace: Some(WorkspaceSpec {
            node: Some("18.20.x".into()),
            ..Default::default()
        }),
        constraints: Some(Constraints {
            companion_versions: vec![rule("node", "@types/node"), rule("react", "@types/react")],
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn companions_match_majors_with_node_from_engines_or_scenario() {
    let sc = companion_scenario();
    let after = manifests(&[
        ("package.json", "devDependencies", "@types/node", "^20.11.0"),
        ("apps/app/package.json", "dependencies", "react", "^18.3.1"),
        (
            "apps/app/package.json",
            "devDependencies",
            "@types/react",
            "^18.3.3",
        ),
        (
            "libs/util/package.json",
            "devDependencies",
            "@types/react",
            "^19.0.0",
        ),
    ]);
    // No workspace: node comes from the scenario (18.20.x) → @types/node 20 mismatches.
    let o = eval(&sc, Manifests::new(), after.clone(), None, &[])
        .await
        .unwrap();
    assert!(
        close(score(&o, "companion_alignment"), 1.0 / 3.0),
        "{:?}",
        o.details
    );
    // engines.node 20 in the workspace's root package.json wins over the scenario.
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(
        ws.path().join("package.json"),
        r#"{"engines":{"node":">=20.10"}}"#,
    )
    .unwrap();
    let o = eval(&sc, Manifests::new(), after, Some(ws.path()), &[])
        .await
        .unwrap();
    assert!(
        close(score(&o, "companion_alignment"), 2.0 / 3.0),
        "{:?}",
        o.details
    );
    let rows = o.details["companion_alignment"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(rows[0]["mainSource"], "engines.node");
    // libs/util's @types/react 19 is compared with react from apps/app (18).
    assert_eq!(rows[2]["passed"], false);
    assert_eq!(rows[2]["mainVersion"], "18.3.1");
}

#[tokio::test]
async fn namespace_migrations_need_from_gone_and_to_added() {
    let mig = |from: &str, to: &str| NamespaceMigration {
        from: from.into(),
        to: to.into(),
        ..Default::default()
    };
    let sc = Scenario {
        constraints: Some(Constraints {
            namespace_migrations: vec![
                mig("xterm", "@xterm/xterm"),
                mig("left-pad", "pad"),
                mig("unused", "new"),
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = manifests(&[
        ("apps/app/package.json", "dependencies", "xterm", "^5.3.0"),
        (
            "apps/app/package.json",
            "dependencies",
            "left-pad",
            "^1.0.0",
        ),
        (
            "libs/util/package.json",
            "dependencies",
            "left-pad",
            "^1.0.0",
        ),
    ]);
    let after = manifests(&[
        (
            "apps/app/package.json",
            "dependencies",
            "@xterm/xterm",
            "^5.5.0",
        ),
        ("apps/app/package.json", "dependencies", "pad", "^2.0.0"),
        ("libs/util/package.json", "dependencies", "react", "18.3.1"),
    ]);
    let o = eval(&sc, before, after, None, &[]).await.unwrap();
    // xterm migrated; left-pad removed but pad missing in libs/util; `unused` not applicable.
    assert!(
        close(score(&o, "namespace_migrations"), 0.5),
        "{:?}",
        o.details
    );
    let rows = o.details["namespace_migrations"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(
        rows[1]["toMissingIn"],
        serde_json::json!(["libs/util/package.json"])
    );
    assert!(rows[2]["passed"].is_null());
}

#[tokio::test]
async fn blocklisted_packages_must_not_change_or_appear() {
    let block = |n: &str| BlockedPackage {
        name: n.into(),
        reason: Some("pinned".into()),
        ..Default::default()
    };
    let sc = Scenario {
        constraints: Some(Constraints {
            blocklist: vec![
                block("webpack"),
                block("moment"),
                block("request"),
                block("left-pad"),
            ],
            ..Default::default()
        }),
        ..Default::default()
    };
    let before = manifests(&[
        ("package.json", "devDependencies", "webpack", "^5.90.0"),
        ("package.json", "dependencies", "moment", "^2.29.0"),
        ("package.json", "dependencies", "left-pad", "^1.0.0"),
    ]);
    let after = manifests(&[
        ("package.json", "devDependencies", "webpack", "^5.90.0"),
        ("package.json", "dependencies", "moment", "^2.30.1"),
        (
            "apps/app/package.json",
            "dependencies",
            "request",
            "^2.88.0",
        ),
    ]);
    let o = eval(&sc, before, after, None, &[]).await.unwrap();
    // webpack unchanged and left-pad removed pass; moment changed and request added fail.
    assert!(
        close(score(&o, "deprecated_handling"), 0.5),
        "{:?}",
        o.details
    );
    let rows = o.details["deprecated_handling"]["rules"]
        .as_array()
        .unwrap();
    assert!(rows[1]["violations"][0]
        .as_str()
        .unwrap()
        .contains("changed from ^2.29.0"));
    assert!(rows[2]["violations"][0]
        .as_str()
        .unwrap()
        .contains("newly added"));
}

#[tokio::test]
async fn manager_correctness_checks_lockfiles_and_install_commands() {
    let sc = Scenario {
        workspace: Some(WorkspaceSpec {
            managers_allowed: Some(vec!["pnpm".into()]),
            ..Default::default()
        }),
        ..Default::default()
    };
    let ws = tempfile::tempdir().unwrap();
    let m = manifests(&[("package.json", "dependencies", "react", "18.2.0")]);
    std::fs::write(ws.path().join("package.json"), "{}").unwrap();
    std::fs::write(ws.path().join("pnpm-lock.yaml"), "").unwrap();
    std::fs::create_dir_all(ws.path().join("node_modules/x")).unwrap();
    std::fs::write(ws.path().join("node_modules/x/package-lock.json"), "").unwrap();
    let good = [
        "pnpm -w add -D typescript@^5.5.4",
        "pnpm test",
        "npm run build",
    ];
    let o = eval(&sc, m.clone(), m.clone(), Some(ws.path()), &good)
        .await
        .unwrap();
    assert!(
        close(score(&o, "manager_correctness"), 1.0),
        "{:?}",
        o.details
    );
    let o = eval(
        &sc,
        m.clone(),
        m.clone(),
        Some(ws.path()),
        &["cd apps/app && npm install react@18.3.1"],
    )
    .await
    .unwrap();
    assert!(
        close(score(&o, "manager_correctness"), 0.5),
        "{:?}",
        o.details
    );
    std::fs::create_dir_all(ws.path().join("apps/app")).unwrap();
    std::fs::write(ws.path().join("apps/app/package-lock.json"), "").unwrap();
    let o = eval(&sc, m.clone(), m, Some(ws.path()), &["yarn"])
        .await
        .unwrap();
    assert!(
        close(score(&o, "manager_correctness"), 0.0),
        "{:?}",
        o.details
    );
    let rows = o.details["manager_correctness"]["rules"]
        .as_array()
        .unwrap();
    assert_eq!(
        rows[0]["disallowed"],
        serde_json::json!(["apps/app/package-lock.json"])
    );
}

#[tokio::test]
async fn real_scenario_on_its_fixture() {
    let dir = Path::new("/work/shared/suites/update-deps/scenarios/nx-pnpm-monorepo");
    let sc: Scenario =
        serde_saphyr::from_str(&std::fs::read_to_string(dir.join("scenario.yaml")).unwrap())
            .unwrap();
    let fixture = manifests(&[
        ("package.json", "devDependencies", "nx", "~20.0.0"),
        ("package.json", "devDependencies", "typescript", "^5.5.4"),
        ("apps/app/package.json", "dependencies", "react", "18.2.0"),
        (
            "apps/app/package.json",
            "devDependencies",
            "@types/react",
            "18.2.66",
        ),
    ]);
    let o = eval(
        &sc,
        fixture.clone(),
        fixture,
        Some(&dir.join("repo-fixture")),
        &[],
    )
    .await
    .unwrap();
    assert!(
        close(score(&o, "semantic_upgrade_quality"), 1.0),
        "{:?}",
        o.details
    );
    assert!(close(score(&o, "companion_alignment"), 1.0));
    assert!(close(score(&o, "deprecated_handling"), 1.0));
    assert!(close(score(&o, "manager_correctness"), 1.0));
    assert_eq!(score(&o, "namespace_migrations"), None);
}
