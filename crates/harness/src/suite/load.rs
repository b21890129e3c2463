//! Finding suites, scenarios and prompt tiers on disk, and parsing scenario.yaml.
//!
//! A suite is a folder under a suites root that has `scenarios/`; a scenario is a folder with a
//! `scenario.yaml`; its prompts live in `prompts/<scenario>/<Tier>[-<label>].md`.

use super::model::Scenario;
use std::cmp::Ordering;
use std::path::{Path, PathBuf};

/// Env var naming the suites roots (separated like PATH).
pub const SUITES_ENV: &str = "ZEBENCH_SUITES";

#[derive(Debug, thiserror::Error)]
pub enum SuiteError {
    #[error("{file}:{line}:{column}: {message}")]
    Yaml {
        file: PathBuf,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: PathBuf, message: String },
    /// Refused before reading: see `suite::limits`.
    #[error("{} is {}; the limit is {}", file.display(), super::limits::human_bytes(*size), super::limits::human_bytes(*limit))]
    TooLarge {
        file: PathBuf,
        size: u64,
        limit: u64,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("suite {suite:?} not found under {roots} (suites there: {available}); `--suites DIR` or {SUITES_ENV} adds a root")]
    SuiteNotFound {
        suite: String,
        roots: String,
        available: String,
    },
    #[error("scenario {scenario:?} not found in suite {suite:?} ({dir}); it has: {available}")]
    ScenarioNotFound {
        suite: String,
        scenario: String,
        dir: PathBuf,
        available: String,
    },
    #[error("tier {tier:?} has no prompt for {suite}/{scenario}: add prompts/{scenario}/{tier}-<label>.md; tiers with a prompt: {available}")]
    TierNotFound {
        suite: String,
        scenario: String,
        tier: String,
        available: String,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SuiteError + '_ {
    move |source| SuiteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A prompt file for one tier.
#[derive(Debug, Clone, PartialEq)]
pub struct TierPrompt {
    /// `L0`, `L1`, `Lx`, ...
    pub id: String,
    /// The part after the dash: `minimal`, `basic`, ...
    pub label: Option<String>,
    pub path: PathBuf,
}

/// A scenario found on disk (scenario.yaml not yet parsed).
#[derive(Debug, Clone)]
pub struct ScenarioEntry {
    pub suite: String,
    pub name: String,
    pub dir: PathBuf,
    pub tiers: Vec<TierPrompt>,
}

impl ScenarioEntry {
    pub fn yaml_path(&self) -> PathBuf {
        self.dir.join("scenario.yaml")
    }

    pub fn load(&self) -> Result<Scenario, SuiteError> {
        load_scenario(&self.yaml_path())
    }

    /// The starting code: `repo/` wins over `repo-fixture/`.
    pub fn fixture_dir(&self) -> Option<PathBuf> {
        ["repo", "repo-fixture"]
            .iter()
            .map(|d| self.dir.join(d))
            .find(|p| p.is_dir())
    }

    /// The prompt for `tier`: `L1` matches `L1-basic.md`; `L1-basic` matches it exactly.
    pub fn tier(&self, tier: &str) -> Result<&TierPrompt, SuiteError> {
        self.tiers
            .iter()
            .find(|t| t.id.eq_ignore_ascii_case(tier))
            .or_else(|| {
                self.tiers.iter().find(|t| {
                    t.path
                        .file_stem()
                        .is_some_and(|s| s.to_string_lossy().eq_ignore_ascii_case(tier))
                })
            })
            .ok_or_else(|| SuiteError::TierNotFound {
                suite: self.suite.clone(),
                scenario: self.name.clone(),
                tier: tier.to_string(),
                available: list_or_none(self.tiers.iter().map(|t| t.id.as_str())),
            })
    }
}

/// A suite found on disk.
#[derive(Debug, Clone)]
pub struct Suite {
    pub name: String,
    pub dir: PathBuf,
    pub scenarios: Vec<ScenarioEntry>,
}

/// Where suites are looked up: one or more roots, earlier roots win on a name clash.
#[derive(Debug, Clone)]
pub struct SuitesRoots(pub Vec<PathBuf>);

impl SuitesRoots {
    /// `--suites` dirs if given, else `ZEBENCH_SUITES`, else `./suites` and the bundled suites of
    /// the source checkout zebench was built from (when they exist).
    pub fn resolve(flags: &[PathBuf]) -> SuitesRoots {
        if !flags.is_empty() {
            return SuitesRoots(flags.to_vec());
        }
        if let Some(v) = std::env::var_os(SUITES_ENV).filter(|v| !v.is_empty()) {
            return SuitesRoots(std::env::split_paths(&v).collect());
        }
        let mut roots = vec![PathBuf::from("suites")];
        let bundled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../suites");
        if let (Ok(a), Ok(b)) = (bundled.canonicalize(), Path::new("suites").canonicalize()) {
            if a != b {
                roots.push(a);
            }
        } else if bundled.is_dir() {
            roots.push(bundled);
        }
        SuitesRoots(roots)
    }

    pub fn describe(&self) -> String {
        self.0
            .iter()
            .map(|p| p.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// Every suite under every root, sorted by name (first root wins on a clash).
    pub fn suites(&self) -> Result<Vec<Suite>, SuiteError> {
        let mut out: Vec<Suite> = Vec::new();
        for root in &self.0 {
            if !root.is_dir() {
                continue;
            }
            for entry in sorted_dirs(root)? {
                let name = file_name(&entry);
                if entry.join("scenarios").is_dir() && !out.iter().any(|s| s.name == name) {
                    out.push(load_suite(&entry)?);
                }
            }
        }
        out.sort_by(|a, b| natural_cmp(&a.name, &b.name));
        Ok(out)
    }

    pub fn suite(&self, name: &str) -> Result<Suite, SuiteError> {
        for root in &self.0 {
            let dir = root.join(name);
            if dir.join("scenarios").is_dir() {
                return load_suite(&dir);
            }
        }
        let available = self
            .suites()
            .map(|v| list_or_none(v.iter().map(|s| s.name.as_str())))
            .unwrap_or_else(|_| "none readable".into());
        Err(SuiteError::SuiteNotFound {
            suite: name.to_string(),
            roots: self.describe(),
            available,
        })
    }

    pub fn scenario(&self, suite: &str, scenario: &str) -> Result<ScenarioEntry, SuiteError> {
        let s = self.suite(suite)?;
        let available = list_or_none(s.scenarios.iter().map(|e| e.name.as_str()));
        s.scenarios
            .into_iter()
            .find(|e| e.name == scenario)
            .ok_or_else(|| SuiteError::ScenarioNotFound {
                suite: suite.to_string(),
                scenario: scenario.to_string(),
                dir: s.dir.join("scenarios"),
                available,
            })
    }
}

/// Reads one suite folder: its scenarios and their prompt tiers.
pub fn load_suite(dir: &Path) -> Result<Suite, SuiteError> {
    // Absolute, so scenario folders stay valid from inside a workspace (scripts get them).
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    let dir = abs.as_path();
    let name = file_name(dir);
    let mut scenarios = Vec::new();
    for sdir in sorted_dirs(&dir.join("scenarios"))? {
        if !sdir.join("scenario.yaml").is_file() {
            continue;
        }
        let sname = file_name(&sdir);
        let tiers = tier_prompts(&dir.join("prompts").join(&sname))?;
        scenarios.push(ScenarioEntry {
            suite: name.clone(),
            name: sname,
            dir: sdir,
            tiers,
        });
    }
    Ok(Suite {
        name,
        dir: dir.to_path_buf(),
        scenarios,
    })
}

/// The prompt files of one scenario, in natural tier order (L2 before L10, Lx last).
pub fn tier_prompts(dir: &Path) -> Result<Vec<TierPrompt>, SuiteError> {
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut tiers = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("md") || !path.is_file() {
            continue;
        }
        let stem = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        if let Some((id, label)) = parse_tier_name(&stem) {
            tiers.push(TierPrompt { id, label, path });
        }
    }
    tiers.sort_by(|a, b| natural_cmp(&a.id, &b.id).then_with(|| a.path.cmp(&b.path)));
    Ok(tiers)
}

/// `L1-basic` → (`L1`, `basic`); `Lx` → (`Lx`, None); anything else → None.
pub fn parse_tier_name(stem: &str) -> Option<(String, Option<String>)> {
    let (id, label) = match stem.split_once('-') {
        Some((id, label)) => (id, Some(label.to_string()).filter(|l| !l.is_empty())),
        None => (stem, None),
    };
    let rest = id.strip_prefix('L')?;
    let ok = rest == "x" || (!rest.is_empty() && rest.bytes().all(|b| b.is_ascii_digit()));
    ok.then(|| (id.to_string(), label))
}

/// Parses a scenario.yaml, with file, line and column in errors. A file over
/// [`MAX_YAML_BYTES`](super::limits::MAX_YAML_BYTES) is refused unread.
pub fn load_scenario(path: &Path) -> Result<Scenario, SuiteError> {
    let text = super::limits::read_text(path, super::limits::MAX_YAML_BYTES)?;
    parse_scenario(path, &text)
}

pub fn parse_scenario(path: &Path, text: &str) -> Result<Scenario, SuiteError> {
    if text.trim().is_empty() {
        return Err(SuiteError::Invalid {
            file: path.to_path_buf(),
            message: "the file is empty; a scenario needs at least `id` and `title`".into(),
        });
    }
    super::limits::from_yaml::<Scenario>(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        SuiteError::Yaml {
            file: path.to_path_buf(),
            line,
            column,
            message: super::limits::yaml_message(&e)
                .unwrap_or_else(|| clean_yaml_message(&first_line(&e.to_string()))),
        }
    })
}

/// serde-saphyr's message without its own `error: line N column M:` prefix (the location is
/// printed once, as `file:line:column`).
fn clean_yaml_message(m: &str) -> String {
    let m = m.strip_prefix("error: ").unwrap_or(m);
    if let Some(rest) = m.strip_prefix("line ") {
        if let Some((loc, msg)) = rest.split_once(": ") {
            if loc
                .split_whitespace()
                .all(|w| w == "column" || w.bytes().all(|b| b.is_ascii_digit()))
            {
                return msg.to_string();
            }
        }
    }
    m.to_string()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or(s).to_string()
}

/// Compares names so that embedded numbers sort by value: `L2` < `L10`, and `Lx` after digits.
pub fn natural_cmp(a: &str, b: &str) -> Ordering {
    fn chunks(s: &str) -> Vec<(bool, String)> {
        let mut out: Vec<(bool, String)> = Vec::new();
        for c in s.chars() {
            let digit = c.is_ascii_digit();
            match out.last_mut() {
                Some((d, cur)) if *d == digit => cur.push(c),
                _ => out.push((digit, c.to_string())),
            }
        }
        out
    }
    let (ca, cb) = (chunks(a), chunks(b));
    for (x, y) in ca.iter().zip(cb.iter()) {
        let ord = match (x.0, y.0) {
            (true, true) => {
                let (tx, ty) = (x.1.trim_start_matches('0'), y.1.trim_start_matches('0'));
                tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty))
            }
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => x.1.cmp(&y.1),
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    ca.len().cmp(&cb.len())
}

fn sorted_dirs(dir: &Path) -> Result<Vec<PathBuf>, SuiteError> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(io(dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort_by(|a, b| natural_cmp(&file_name(a), &file_name(b)));
    Ok(dirs)
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

fn list_or_none<'a>(items: impl Iterator<Item = &'a str>) -> String {
    let v: Vec<&str> = items.collect();
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared() -> SuitesRoots {
        SuitesRoots(vec![
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/suites")
        ])
    }

    #[test]
    fn tier_names() {
        assert_eq!(
            parse_tier_name("L1-basic"),
            Some(("L1".into(), Some("basic".into())))
        );
        assert_eq!(parse_tier_name("Lx-adversarial").unwrap().0, "Lx");
        assert_eq!(parse_tier_name("L10"), Some(("L10".into(), None)));
        assert_eq!(parse_tier_name("README"), None);
        assert_eq!(parse_tier_name("L-x"), None);
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["L10", "Lx", "L2", "L0", "001-b", "1-a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["1-a", "001-b", "L0", "L2", "L10", "Lx"]);
    }

    #[test]
    fn the_seed_suites_load_unchanged() {
        let roots = shared();
        let suites = roots.suites().unwrap();
        let names: Vec<&str> = suites.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(names, ["test-suite", "update-deps"]);
        let e = roots.scenario("update-deps", "nx-pnpm-monorepo").unwrap();
        let tiers: Vec<&str> = e.tiers.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(tiers, ["L0", "L1", "L2", "L3", "Lx"]);
        assert!(e.fixture_dir().unwrap().ends_with("repo-fixture"));
        let s = e.load().unwrap();
        assert_eq!(s.id.as_deref(), Some("nx-pnpm-monorepo"));
        assert_eq!(s.llm_judge.as_ref().unwrap().categories.len(), 5);
        assert_eq!(s.weights()["tests_nonregression"], 1.5);
        assert!(s.extra.is_empty(), "{:?}", s.extra);
        assert_eq!(e.tier("l1").unwrap().label.as_deref(), Some("basic"));
        assert_eq!(e.tier("L1-basic").unwrap().id, "L1");
        let err = e.tier("L7").unwrap_err().to_string();
        assert!(err.contains("L0, L1, L2, L3, Lx"), "{err}");
        let err = roots
            .scenario("update-deps", "nope")
            .unwrap_err()
            .to_string();
        assert!(err.contains("nx-pnpm-monorepo"), "{err}");
    }

    #[test]
    fn yaml_errors_name_file_and_line() {
        let err = parse_scenario(Path::new("s/scenario.yaml"), "id: a\ntimeout_minutes: [1\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("s/scenario.yaml:"), "{err}");
        let err =
            parse_scenario(Path::new("x.yaml"), "id: a\ntimeout_minutes: lots\n").unwrap_err();
        match err {
            SuiteError::Yaml { line, .. } => assert_eq!(line, 2),
            other => panic!("{other}"),
        }
    }
}
