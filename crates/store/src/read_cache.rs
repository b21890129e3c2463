//! A small cache of dashboard aggregates, valid until the data changes.
//!
//! The analysis pages group every run (seconds at a million runs on SQLite). Their answers only
//! change when runs or batches are stored, and every store — on PostgreSQL every replica — hears
//! about each change through the event stream. So answers are cached under a data version that
//! each event (and each lag of the event channel) bumps: a repeat of the same question returns
//! at once until something is written, and never serves data older than the last change it
//! heard of. A query that races a write is stored under the version read before it started,
//! so it is recomputed on the next call.

use crate::events::Event;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Entries kept at most (least recently stored is dropped first).
const MAX_ENTRIES: usize = 128;
/// Answers larger than this many rows are not kept (they are cheap relative to their size).
pub(crate) const MAX_ROWS: usize = 20_000;

/// (data version, insertion tick, answer).
type Entry<T> = (u64, u64, Arc<T>);

pub(crate) struct ReadCache<T> {
    version: Arc<AtomicU64>,
    entries: Mutex<HashMap<String, Entry<T>>>,
    clock: AtomicU64,
}

/// Bumps `version` on every event the store hears (on PostgreSQL, other replicas' writes too).
/// Local writes also bump it directly, before they are acknowledged, so a reader that follows
/// its own write never sees the cached answer from before it.
pub(crate) fn follow(events: &broadcast::Sender<Event>, version: Arc<AtomicU64>) {
    let mut rx = events.subscribe();
    tokio::spawn(async move {
        // Every event, and every lag (events missed), is a change.
        while let Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) = rx.recv().await {
            version.fetch_add(1, Ordering::SeqCst);
        }
    });
}

impl<T> ReadCache<T> {
    pub fn new(version: Arc<AtomicU64>) -> Self {
        ReadCache {
            version,
            entries: Mutex::new(HashMap::new()),
            clock: AtomicU64::new(0),
        }
    }

    /// The current data version (read before running a query).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        let now = self.version();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|(v, _, _)| *v == now)
            .map(|(_, _, t)| t.clone())
    }

    /// Keeps `value`, computed from data at `version`.
    pub fn put(&self, key: String, version: u64, value: Arc<T>) {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.version();
        entries.retain(|_, (v, _, _)| *v == now);
        if entries.len() >= MAX_ENTRIES {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, (_, t, _))| *t)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(key, (version, tick, value));
    }
}
