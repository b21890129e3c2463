//! A small cache of serialized batch details.
//!
//! A batch with a thousand runs is a megabyte of JSON that dashboards fetch again and again.
//! Runs are immutable and only ever added, so a batch's run list is fully determined by its
//! row (any new run changes `totalRuns`; an upsert changes `completedAt` or `metadata`): when
//! the cheap row read equals the row an entry was built from, the entry is still exact.

use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Mutex;
use zebench_core::Batch;

pub struct BatchCache {
    entries: Mutex<VecDeque<(Batch, Bytes)>>,
    max_bytes: usize,
}

impl BatchCache {
    pub fn new(max_bytes: usize) -> Self {
        BatchCache {
            entries: Mutex::new(VecDeque::new()),
            max_bytes,
        }
    }

    /// The cached body for exactly this batch row, if any (and marks it recently used).
    pub fn get(&self, row: &Batch) -> Option<Bytes> {
        let mut entries = self.entries.lock().ok()?;
        let pos = entries.iter().position(|(b, _)| b == row)?;
        let entry = entries.remove(pos)?;
        let body = entry.1.clone();
        entries.push_front(entry);
        Some(body)
    }

    /// Remembers `body` as the detail of `row`, evicting the least recently used entries
    /// beyond the byte budget. Bodies larger than a quarter of the budget are not kept.
    pub fn put(&self, row: Batch, body: Bytes) {
        if body.len() > self.max_bytes / 4 {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        entries.retain(|(b, _)| b.batch_id != row.batch_id);
        entries.push_front((row, body));
        let mut total: usize = entries.iter().map(|(_, b)| b.len()).sum();
        while total > self.max_bytes {
            match entries.pop_back() {
                Some((_, b)) => total -= b.len(),
                None => break,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use zebench_core::Timestamp;

    fn row(id: &str, runs: i64) -> Batch {
        Batch {
            batch_id: id.into(),
            created_at: Timestamp(0),
            completed_at: None,
            total_runs: runs,
            successful_runs: 0,
            avg_score: None,
            avg_weighted_score: None,
            metadata: None,
            failed_runs: 0,
            total_cost_usd: 0.0,
        }
    }

    #[test]
    fn a_changed_row_misses_and_old_entries_are_evicted() {
        let cache = BatchCache::new(400);
        cache.put(row("a", 1), Bytes::from(vec![b'x'; 100]));
        assert!(cache.get(&row("a", 1)).is_some());
        assert!(cache.get(&row("a", 2)).is_none(), "a new run invalidates");
        cache.put(row("b", 1), Bytes::from(vec![b'y'; 100]));
        cache.put(row("c", 1), Bytes::from(vec![b'z'; 100]));
        cache.put(row("d", 1), Bytes::from(vec![b'w'; 100]));
        cache.put(row("e", 1), Bytes::from(vec![b'v'; 100]));
        assert!(
            cache.get(&row("a", 1)).is_none(),
            "least recently used went first"
        );
        assert!(cache.get(&row("e", 1)).is_some());
        cache.put(row("big", 1), Bytes::from(vec![b'q'; 101]));
        assert!(cache.get(&row("big", 1)).is_none(), "too large to keep");
    }
}
