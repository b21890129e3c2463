//! `zebench new-suite` and `zebench new-scenario`: starting points that pass `validate` and run
//! with the `echo` agent and the generated scripted agent.

use super::load::SuiteError;
use std::path::{Path, PathBuf};

/// Names are kebab-case (digits allowed, e.g. `001-server-component`).
pub fn check_name(kind: &str, name: &str) -> Result<(), SuiteError> {
    let ok = !name.is_empty()
        && name.len() <= 100
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(SuiteError::Invalid {
            file: PathBuf::from(name),
            message: format!("{kind} names are kebab-case: lower-case letters, digits and dashes (e.g. fix-parser)"),
        })
    }
}

/// Creates `<root>/<name>/` with `scenarios/`, `prompts/` and a first scenario named `example`.
pub fn new_suite(root: &Path, name: &str) -> Result<PathBuf, SuiteError> {
    check_name("suite", name)?;
    let dir = root.join(name);
    if dir.exists() {
        return Err(SuiteError::Invalid {
            file: dir,
            message:
                "already exists; pick another name or add scenarios with `zebench new-scenario`"
                    .into(),
        });
    }
    write(&dir.join("prompts/policy.yaml"), POLICY)?;
    new_scenario(&dir, name, "example")?;
    Ok(dir)
}

/// Creates a scenario in the suite folder `suite_dir`: scenario.yaml, a fixture, prompts for
/// L0–L2, an oracle file, a reference solution and a scripted agent that applies it.
pub fn new_scenario(suite_dir: &Path, suite: &str, name: &str) -> Result<PathBuf, SuiteError> {
    check_name("scenario", name)?;
    let dir = suite_dir.join("scenarios").join(name);
    if dir.exists() {
        return Err(SuiteError::Invalid {
            file: dir,
            message: "already exists; pick another name".into(),
        });
    }
    let yaml = SCENARIO.replace("{id}", name).replace("{suite}", suite);
    write(&dir.join("scenario.yaml"), &yaml)?;
    write(&dir.join("repo-fixture/greet.sh"), FIXTURE_SCRIPT)?;
    write(&dir.join("repo-fixture/test.sh"), FIXTURE_TEST)?;
    write(&dir.join("reference/greet.sh"), REFERENCE_SCRIPT)?;
    write(&dir.join("oracle-answers.json"), ORACLE)?;
    write(&dir.join("agents/solve.yaml"), SOLVE_AGENT)?;
    let prompts = suite_dir.join("prompts").join(name);
    write(&prompts.join("L0-minimal.md"), "Make the tests pass.\n")?;
    write(
        &prompts.join("L1-basic.md"),
        "`greet.sh NAME` should print `Hello, NAME!`. Fix it so `sh test.sh` passes.\n",
    )?;
    write(
        &prompts.join("L2-directed.md"),
        "In greet.sh, the greeting misses the name and the exclamation mark. Change it to print `Hello, $1!` and run `sh test.sh` to check.\n",
    )?;
    Ok(dir)
}

fn write(path: &Path, text: &str) -> Result<(), SuiteError> {
    let io = |source| SuiteError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)
}

const POLICY: &str = "# Suite-level tier descriptions (shown in the dashboard).\ntiers:\n  L0: { description: \"Minimal instruction\" }\n  L1: { description: \"Basic context\" }\n  L2: { description: \"Directed\" }\n";

const SCENARIO: &str = r#"id: {id}
suite: {suite}
title: "Fix the greeting"
description: |
  greet.sh should greet the person named on the command line.
timeout_minutes: 5
workspace:
  required: true
baseline:
  run:
    - cmd: "sh test.sh"
validation:
  commands:
    test: "sh test.sh"
  timeout_seconds: 60
oracle:
  answers_file: "./oracle-answers.json"
reference_path: "./reference"
heuristic_checks:
  enabled: true
  files:
    - { name: greet_script_exists, path: greet.sh, weight: 1.0 }
  patterns:
    - { name: uses_argument, file: "*.sh", pattern: "\\$1", weight: 1.0 }
    - { name: no_hardcoded_world, file: greet.sh, pattern: "World", negate: true, weight: 0.5 }
llm_judge:
  enabled: false
  categories:
    - "Correctness (70%): the greeting prints the given name. Score 1-5"
    - "Simplicity (30%): the change is minimal. Score 1-5"
rubric_overrides:
  weights:
    tests_nonregression: 2.0
    heuristic_checks: 1.0
    efficiency: 0.5
tiers:
  L0: { description: "Minimal instruction" }
  L1: { description: "Basic context" }
  L2: { description: "Directed" }
"#;

const FIXTURE_SCRIPT: &str = "#!/bin/sh\necho \"Hello, World\"\n";
const REFERENCE_SCRIPT: &str = "#!/bin/sh\necho \"Hello, $1!\"\n";
const FIXTURE_TEST: &str = "#!/bin/sh\nout=$(sh greet.sh Ada)\n[ \"$out\" = \"Hello, Ada!\" ] || { echo \"expected 'Hello, Ada!', got '$out'\"; exit 1; }\necho ok\n";
const ORACLE: &str = "{\n  \"which name\": \"Use the first command-line argument.\"\n}\n";
const SOLVE_AGENT: &str = "description: applies the reference solution (scripted, not a model)\nsteps:\n  - say: \"Copying the reference solution\"\n  - copy_reference: true\n  - run_command: { command: \"sh test.sh\" }\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::validate::validate;
    use crate::suite::SuitesRoots;

    #[test]
    fn scaffolds_pass_validate() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = new_suite(tmp.path(), "my-suite").unwrap();
        new_scenario(&dir, "my-suite", "second-one").unwrap();
        let roots = SuitesRoots(vec![tmp.path().to_path_buf()]);
        let r = validate(None, &roots).unwrap();
        assert_eq!(r.scenarios, 2);
        assert!(r.diagnostics.is_empty(), "{:#?}", r.diagnostics);
        assert!(new_suite(tmp.path(), "my-suite").is_err());
        assert!(new_scenario(&dir, "my-suite", "Bad_Name").is_err());
    }
}
