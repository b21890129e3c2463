//! `zebench list`, `validate`, `new-suite`, `new-scenario`.

use crate::cli::{ListArgs, NewScenarioArgs, NewSuiteArgs, SuitesArgs, ValidateArgs};
use crate::Failure;
use serde_json::json;
use zebench_harness::suite::validate::{validate, Severity};
use zebench_harness::suite::{scaffold, SuitesRoots};

pub fn roots(a: &SuitesArgs) -> SuitesRoots {
    SuitesRoots::resolve(&a.suites)
}

pub fn list(args: ListArgs) -> Result<(), Failure> {
    let roots = roots(&args.suites);
    let suites = roots.suites().map_err(Failure::usage)?;
    if args.json {
        let v: Vec<_> = suites
            .iter()
            .map(|s| {
                json!({
                    "suite": s.name,
                    "dir": s.dir,
                    "scenarios": s.scenarios.iter().map(|e| json!({
                        "scenario": e.name,
                        "title": e.load().ok().and_then(|x| x.title),
                        "tiers": e.tiers.iter().map(|t| &t.id).collect::<Vec<_>>(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        out!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
        return Ok(());
    }
    if suites.is_empty() {
        out!(
            "No suites under {}. Create one with `zebench new-suite NAME`, or point --suites at a folder of suites.",
            roots.describe()
        );
        return Ok(());
    }
    for s in &suites {
        out!("{}  ({})", s.name, s.dir.display());
        for e in &s.scenarios {
            let title = match e.load() {
                Ok(sc) => sc.title.unwrap_or_default(),
                Err(err) => format!("INVALID: {err}"),
            };
            let tiers: Vec<&str> = e.tiers.iter().map(|t| t.id.as_str()).collect();
            out!("  {:<32} {:<16} {title}", e.name, tiers.join(" "));
        }
    }
    Ok(())
}

pub fn validate_cmd(args: ValidateArgs) -> Result<(), Failure> {
    let roots = roots(&args.suites);
    let report = validate(args.path.as_deref(), &roots).map_err(Failure::usage)?;
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&report).unwrap_or_default()
        );
    } else {
        for d in &report.diagnostics {
            out!("{d}");
        }
        out!(
            "{} scenario(s): {} error(s), {} warning(s)",
            report.scenarios,
            report.errors(),
            report.warnings()
        );
    }
    let bad = report
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error || (args.strict && d.severity == Severity::Warning));
    if bad {
        return Err(Failure::usage(anyhow::anyhow!("validation failed")));
    }
    Ok(())
}

pub fn new_suite(args: NewSuiteArgs) -> Result<(), Failure> {
    let root = roots(&args.suites)
        .0
        .into_iter()
        .next()
        .unwrap_or_else(|| "suites".into());
    let dir = scaffold::new_suite(&root, &args.name).map_err(Failure::usage)?;
    out!("Created {} with the scenario `example`.", dir.display());
    out!("Try: zebench validate {0}  then  zebench run {1} example --tier L1 --agent scripted:solve --suites {2}", dir.display(), args.name, root.display());
    Ok(())
}

pub fn new_scenario(args: NewScenarioArgs) -> Result<(), Failure> {
    let suite = roots(&args.suites)
        .suite(&args.suite)
        .map_err(Failure::usage)?;
    let dir =
        scaffold::new_scenario(&suite.dir, &args.suite, &args.name).map_err(Failure::usage)?;
    out!(
        "Created {}: edit scenario.yaml, the fixture in repo-fixture/, and the prompts in {}.",
        dir.display(),
        suite.dir.join("prompts").join(&args.name).display()
    );
    Ok(())
}
