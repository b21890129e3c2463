//! Hostile input proof (issue 8), suite side: `zebench validate` given a YAML bomb, nesting
//! 100,000 levels deep, a 200 MiB scenario.yaml or an oversized prompt answers exit 2 with a
//! message naming the file, inside a memory and a time budget.
//!
//! The binary runs under `ulimit -v` (an address-space limit: an allocation past it fails, so
//! a loader that read the 200 MiB file or expanded the bomb would die instead of answering 2)
//! and under a wall-clock limit. The same limits are shown to be enough for an ordinary suite,
//! so each refusal is the loader's doing, not the sandbox's.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;
use support::{Out, Running, Sandbox};

/// Address space for one `zebench validate` (an ordinary suite needs well under half of it).
const MEMORY_KIB: u64 = 128 * 1024;
/// A refusal takes milliseconds; this only bounds a loader that would hang or crawl.
const TIME: Duration = Duration::from_secs(20);

/// `zebench ARGS` in the sandbox's environment, under the memory and time budget.
fn limited(sandbox: &Sandbox, args: &[&str]) -> Out {
    let base = sandbox.zebench();
    let mut cmd = Command::new("bash");
    cmd.arg("-c")
        .arg(r#"ulimit -v "$1" || exit 99; shift; exec "$@""#)
        .arg("bash")
        .arg(MEMORY_KIB.to_string())
        .arg(env!("CARGO_BIN_EXE_zebench"))
        .args(args)
        .stdin(Stdio::null());
    for (k, v) in base.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    if let Some(dir) = base.get_current_dir() {
        cmd.current_dir(dir);
    }
    Running::spawn(cmd).finish(TIME)
}

/// A scaffolded suite `s` whose one scenario's scenario.yaml is then replaced by the caller.
fn suite(sandbox: &Sandbox) -> PathBuf {
    let dir = sandbox.new_suite("s");
    let scenario = std::fs::read_dir(dir.join("scenarios"))
        .unwrap()
        .flatten()
        .next()
        .expect("the scaffold has a scenario")
        .path();
    scenario.join("scenario.yaml")
}

/// Asserts exit 2 and a line naming `file` that contains `message`.
#[track_caller]
fn refused(out: &Out, file: &str, message: &str) {
    assert_eq!(out.code(), Some(2), "{out}");
    assert!(
        out.all()
            .lines()
            .any(|l| l.contains(file) && l.contains(message)),
        "expected a line naming {file} with {message:?}:\n{out}"
    );
}

#[test]
fn an_ordinary_suite_validates_within_the_same_budget() {
    let sandbox = Sandbox::new();
    suite(&sandbox);
    let out = limited(&sandbox, &["validate"]);
    assert_eq!(out.code(), Some(0), "{out}");
}

#[test]
fn a_billion_laughs_yaml_bomb_is_refused() {
    let sandbox = Sandbox::new();
    let yaml = suite(&sandbox);
    // Ten levels of nine aliases each: 9^10 (3.5 billion) strings once expanded.
    let mut text = String::from(
        "id: s\ntitle: laughs\nlaughs:\n  a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let refs = vec![format!("*a{}", i - 1); 9].join(", ");
        text.push_str(&format!("  a{i}: &a{i} [{refs}]\n"));
    }
    std::fs::write(&yaml, text).unwrap();
    let out = limited(&sandbox, &["validate"]);
    refused(&out, "scenario.yaml", "aliases expand too far");
}

#[test]
fn nesting_100k_levels_deep_is_refused() {
    for nested in ["[".repeat(100_000), "{a: ".repeat(100_000)] {
        let sandbox = Sandbox::new();
        let yaml = suite(&sandbox);
        std::fs::write(&yaml, format!("id: s\ntitle: deep\nx: {nested}\n")).unwrap();
        let out = limited(&sandbox, &["validate"]);
        refused(
            &out,
            "scenario.yaml",
            "nesting too deep: more than 64 levels",
        );
    }
}

#[test]
fn a_200_mib_scenario_yaml_is_refused_unread() {
    let sandbox = Sandbox::new();
    let yaml = suite(&sandbox);
    // Valid YAML all the way: 1,638,400 list items of 128 bytes, exactly 200 MiB.
    let mut w = std::io::BufWriter::new(std::fs::File::create(&yaml).unwrap());
    let header = "id: s\ntitle: huge\nnotes:\n";
    w.write_all(header.as_bytes()).unwrap();
    let item = format!("  - {}\n", "x".repeat(123));
    let total: usize = 200 * 1024 * 1024;
    let items = (total - header.len()) / item.len();
    for _ in 0..items {
        w.write_all(item.as_bytes()).unwrap();
    }
    let rest = total - header.len() - items * item.len();
    w.write_all(&b"#".repeat(rest)).unwrap();
    w.flush().unwrap();
    drop(w);
    assert_eq!(std::fs::metadata(&yaml).unwrap().len(), total as u64);
    let out = limited(&sandbox, &["validate"]);
    refused(&out, "scenario.yaml", "is 200 MiB; the limit is 1 MiB");
    // `run` loads the scenario the same way and refuses it as an input error too.
    let out = limited(
        &sandbox,
        &["run", "s", "example", "--tier", "L1", "--agent", "echo"],
    );
    refused(&out, "scenario.yaml", "is 200 MiB; the limit is 1 MiB");
}

#[test]
fn an_oversized_prompt_is_refused_and_named() {
    let sandbox = Sandbox::new();
    suite(&sandbox);
    let prompts = sandbox.suites().join("s").join("prompts");
    let prompt = walk(&prompts)
        .into_iter()
        .find(|p| p.extension().is_some_and(|e| e == "md"))
        .expect("the scaffold has a prompt");
    std::fs::write(&prompt, "Fix it. ".repeat(300_000)).unwrap();
    let name = prompt.file_name().unwrap().to_string_lossy().into_owned();
    let out = limited(&sandbox, &["validate"]);
    refused(&out, &name, "the limit is 1 MiB");
}

fn walk(dir: &std::path::Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}
