//! Query inputs: run filters and keyset cursors.

use std::fmt;
use std::str::FromStr;

/// Exact-match filters over runs; every `Some` narrows the set.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunFilter {
    pub suite: Option<String>,
    pub scenario: Option<String>,
    pub tier: Option<String>,
    pub agent: Option<String>,
    pub model: Option<String>,
    pub status: Option<String>,
    pub batch_id: Option<String>,
    /// Runs started at or after this epoch ms.
    pub since: Option<i64>,
    /// Runs started before this epoch ms.
    pub until: Option<i64>,
}

impl RunFilter {
    pub fn is_empty(&self) -> bool {
        *self == RunFilter::default()
    }
}

/// Position after the last run of a page, newest first: `(started_at, id)`.
/// Keyset paging stays fast at any depth, unlike `OFFSET`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    pub started_at: i64,
    pub id: i64,
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}_{}", self.started_at, self.id)
    }
}

impl FromStr for Cursor {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err =
            || format!("invalid cursor {s:?}: pass the value of a previous X-Next-Cursor header");
        let (a, b) = s.split_once('_').ok_or_else(err)?;
        Ok(Cursor {
            started_at: a.parse().map_err(|_| err())?,
            id: b.parse().map_err(|_| err())?,
        })
    }
}

/// One page of runs and where the next one starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}
