//! The batch matrix: scenarios × tiers × agents × repeats, in a deterministic order, split into
//! shards, each cell with a run id derived from what it is (so a re-run, a resume or another
//! shard never collides with a different cell).

use crate::suite::{Scenario, ScenarioEntry};
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// `anthropic:claude-sonnet-4-5`, `scripted:solve`, `echo`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AgentSpec {
    pub kind: String,
    pub model: Option<String>,
}

impl AgentSpec {
    /// Parses `kind[:model]`; the model may itself contain `:` or `/`.
    pub fn parse(s: &str) -> Result<AgentSpec, String> {
        let s = s.trim();
        let (kind, model) = match s.split_once(':') {
            Some((k, m)) => (k, Some(m.to_string()).filter(|m| !m.is_empty())),
            None => (s, None),
        };
        if kind.is_empty()
            || !kind
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(format!("invalid agent {s:?}: expected AGENT or AGENT:MODEL, e.g. echo, scripted:solve, anthropic:claude-sonnet-4-5"));
        }
        Ok(AgentSpec {
            kind: kind.to_string(),
            model,
        })
    }

    pub fn label(&self) -> String {
        match &self.model {
            Some(m) => format!("{}:{m}", self.kind),
            None => self.kind.clone(),
        }
    }
}

/// `I/N`: this machine runs the cells whose position modulo N is I-1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: usize,
    pub count: usize,
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("invalid shard {s:?}: expected I/N with 1 ≤ I ≤ N, e.g. 2/4");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let (index, count): (usize, usize) = (
            i.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        if index == 0 || count == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

/// One run of the matrix.
#[derive(Clone)]
pub struct Cell {
    pub entry: ScenarioEntry,
    pub scenario: Arc<Scenario>,
    pub tier: String,
    pub agent: AgentSpec,
    /// 1-based.
    pub repeat: u32,
    /// Position in the whole (unsharded) matrix.
    pub position: usize,
    pub run_id: String,
}

impl Cell {
    pub fn label(&self) -> String {
        format!(
            "{}/{} {} {} #{}",
            self.entry.suite,
            self.entry.name,
            self.tier,
            self.agent.label(),
            self.repeat
        )
    }
}

/// Builds the cells of a batch. `tiers` empty = every tier each scenario has a prompt for.
/// A requested tier a scenario lacks still gets a cell: it is stored as a failed run
/// (`errorType: prompt`) so the gap is visible rather than silently skipped.
pub fn plan(
    batch_id: &str,
    scenarios: &[(ScenarioEntry, Arc<Scenario>)],
    tiers: &[String],
    agents: &[AgentSpec],
    repeat: u32,
    shard: Option<Shard>,
) -> Vec<Cell> {
    let mut cells = Vec::new();
    for (entry, scenario) in scenarios {
        let tiers: Vec<String> = if tiers.is_empty() {
            entry.tiers.iter().map(|t| t.id.clone()).collect()
        } else {
            tiers.to_vec()
        };
        for tier in &tiers {
            for agent in agents {
                for r in 1..=repeat.max(1) {
                    let position = cells.len();
                    cells.push(Cell {
                        entry: entry.clone(),
                        scenario: scenario.clone(),
                        tier: tier.clone(),
                        agent: agent.clone(),
                        repeat: r,
                        position,
                        run_id: run_id(batch_id, &entry.suite, &entry.name, tier, agent, r),
                    });
                }
            }
        }
    }
    match shard {
        Some(s) => cells
            .into_iter()
            .filter(|c| c.position % s.count == s.index - 1)
            .collect(),
        None => cells,
    }
}

/// `<batch>-<16 hex>`: a hash of the cell's identity, stable across machines and re-runs.
pub fn run_id(
    batch: &str,
    suite: &str,
    scenario: &str,
    tier: &str,
    agent: &AgentSpec,
    repeat: u32,
) -> String {
    let mut h = Sha256::new();
    for part in [suite, scenario, tier, &agent.label(), &repeat.to_string()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let d = h.finalize();
    let hex: String = d[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{batch}-{hex}")
}

/// A new batch id: `b-YYYYMMDD-HHMMSS-xxxx` (UTC).
pub fn new_batch_id() -> String {
    let now = zebench_core::Timestamp::now().to_string();
    // 2026-11-28T18:10:14.000Z → 20261128-181014
    let compact: String = now
        .chars()
        .filter(|c| c.is_ascii_digit())
        .take(14)
        .collect();
    let suffix = &uuid::Uuid::new_v4().simple().to_string()[..4];
    format!(
        "b-{}-{}-{suffix}",
        &compact[..8.min(compact.len())],
        &compact[8.min(compact.len())..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agent_specs() {
        let a = AgentSpec::parse("openrouter:openai/gpt-5").unwrap();
        assert_eq!(
            (a.kind.as_str(), a.model.as_deref()),
            ("openrouter", Some("openai/gpt-5"))
        );
        assert_eq!(AgentSpec::parse("echo").unwrap().model, None);
        assert!(AgentSpec::parse(":x").is_err());
        assert!(AgentSpec::parse("a b").is_err());
    }

    #[test]
    fn shards() {
        assert_eq!(
            "2/4".parse::<Shard>().unwrap(),
            Shard { index: 2, count: 4 }
        );
        for bad in ["0/4", "5/4", "1/0", "x", "1/"] {
            assert!(bad.parse::<Shard>().is_err(), "{bad}");
        }
    }

    #[test]
    fn run_ids_are_stable_and_distinct() {
        let a = AgentSpec::parse("echo").unwrap();
        let x = run_id("b1", "s", "sc", "L1", &a, 1);
        assert_eq!(x, run_id("b1", "s", "sc", "L1", &a, 1));
        assert_ne!(x, run_id("b1", "s", "sc", "L1", &a, 2));
        assert_ne!(x, run_id("b1", "s", "sc", "L2", &a, 1));
        assert!(x.starts_with("b1-") && x.len() == 3 + 16);
        let id = new_batch_id();
        assert!(
            id.starts_with("b-") && id.len() == "b-20261128-181014-abcd".len(),
            "{id}"
        );
    }
}
