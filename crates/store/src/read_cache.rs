//! A small cache of dashboard aggregates, valid until the data changes.
//!
//! The analysis pages group every run (seconds at a million runs on SQLite). Their answers only
//! change when runs or batches are stored, and every store — on PostgreSQL every replica — hears
//! about each change through the event stream. So answers are cached under a data version that
//! each event (and each lag of the event channel) bumps: a repeat of the same question returns
//! at once until something is written, and never serves data older than the last change it
//! heard of. A query that races a write is stored under the version read before it started,
//! so it is recomputed on the next call.
//!
//! Slow answers (≥ `SLOW`, i.e. big databases) are also served *stale* for up to `MAX_STALE`
//! after a write while one background task recomputes them: under continuous ingestion a page
//! then stays fast and is at most a minute behind, instead of paying seconds on every view.
//! Fast answers (small databases) are never served stale, so they are always exact.
//!
//! Viewers asking the same question at once share one computation: the first computes, the
//! others wait for it and take its answer when it saw every write they could have seen (its
//! data version is at least the one they arrived at). Under continuous ingestion N viewers of
//! the overview thus cost one aggregate query, not N concurrent ones each holding its own
//! working memory; and at most `MAX_CONCURRENT` computations of any key run at once.

use crate::events::Event;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::broadcast;

/// Answers that took at least this long may be served stale while they are recomputed.
pub(crate) const SLOW: Duration = Duration::from_millis(250);
/// How old a stale answer may be.
pub(crate) const MAX_STALE: Duration = Duration::from_secs(60);

/// Entries kept at most (least recently stored is dropped first).
const MAX_ENTRIES: usize = 128;
/// Answers larger than this many rows are not kept (they are cheap relative to their size).
pub(crate) const MAX_ROWS: usize = 20_000;
/// Aggregate computations running at once, over all keys (the machine's cores are the limit
/// anyway; more only adds memory).
const MAX_CONCURRENT: usize = 2;

struct Entry<T> {
    version: u64,
    tick: u64,
    value: Arc<T>,
    cost: Duration,
    at: Instant,
}

/// What the cache has for a question.
pub(crate) enum Lookup<T> {
    /// Computed from the current data.
    Fresh(Arc<T>),
    /// Computed before the last write, slow to recompute, and recent enough to show.
    Stale(Arc<T>),
    Miss,
}

pub(crate) struct ReadCache<T> {
    version: Arc<AtomicU64>,
    entries: Mutex<HashMap<String, Entry<T>>>,
    refreshing: Mutex<HashSet<String>>,
    /// One lock per key being computed; waiters queue on it. Removed when nobody holds it.
    computing: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    permits: tokio::sync::Semaphore,
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
            refreshing: Mutex::new(HashSet::new()),
            computing: Mutex::new(HashMap::new()),
            permits: tokio::sync::Semaphore::new(MAX_CONCURRENT),
            clock: AtomicU64::new(0),
        }
    }

    /// The current data version (read before running a query).
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::SeqCst)
    }

    pub fn lookup(&self, key: &str) -> Lookup<T> {
        let now = self.version();
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        match entries.get(key) {
            Some(e) if e.version == now => Lookup::Fresh(e.value.clone()),
            Some(e) if e.cost >= SLOW && e.at.elapsed() < MAX_STALE => {
                Lookup::Stale(e.value.clone())
            }
            _ => Lookup::Miss,
        }
    }

    /// The answer for `key` if it was computed from data at `min_version` or later.
    pub fn at_least(&self, key: &str, min_version: u64) -> Option<Arc<T>> {
        let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key)
            .filter(|e| e.version >= min_version)
            .map(|e| e.value.clone())
    }

    /// Runs `compute` for `key` unless an answer at least as new as `arrived` (the version when
    /// the caller asked) appears while waiting for another caller's computation of the same key.
    /// Returns the shared answer (`Ok(Some)`) or what `compute` returned.
    pub async fn single_flight<F, Fut, E>(
        &self,
        key: &str,
        arrived: u64,
        compute: F,
    ) -> Result<Option<Arc<T>>, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(), E>>,
    {
        let lock = self
            .computing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key.to_string())
            .or_default()
            .clone();
        let result = {
            let _turn = lock.lock().await;
            match self.at_least(key, arrived) {
                Some(shared) => Ok(Some(shared)),
                None => {
                    let _permit = self.permits.acquire().await;
                    compute().await.map(|()| None)
                }
            }
        };
        let mut computing = self.computing.lock().unwrap_or_else(|e| e.into_inner());
        // The map's reference and ours: nobody else waits on this key.
        if Arc::strong_count(&lock) <= 2 {
            computing.remove(key);
        }
        result
    }

    /// Claims the recomputation of `key`; false when another task already recomputes it.
    pub fn begin_refresh(&self, key: &str) -> bool {
        self.refreshing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_string())
    }

    pub fn end_refresh(&self, key: &str) {
        self.refreshing
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key);
    }

    /// Keeps `value`, computed from data at `version` in `cost`.
    pub fn put(&self, key: String, version: u64, value: Arc<T>, cost: Duration) {
        let tick = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let now = self.version();
        entries.retain(|_, e| e.version == now || (e.cost >= SLOW && e.at.elapsed() < MAX_STALE));
        if entries.len() >= MAX_ENTRIES {
            if let Some(oldest) = entries
                .iter()
                .min_by_key(|(_, e)| e.tick)
                .map(|(k, _)| k.clone())
            {
                entries.remove(&oldest);
            }
        }
        entries.insert(
            key,
            Entry {
                version,
                tick,
                value,
                cost,
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fresh(l: Lookup<u32>) -> Option<u32> {
        match l {
            Lookup::Fresh(v) => Some(*v),
            _ => None,
        }
    }

    fn stale(l: Lookup<u32>) -> Option<u32> {
        match l {
            Lookup::Stale(v) => Some(*v),
            _ => None,
        }
    }

    #[test]
    fn fresh_until_a_write_then_stale_only_when_slow() {
        let version = Arc::new(AtomicU64::new(0));
        let c = ReadCache::new(version.clone());
        c.put("fast".into(), 0, Arc::new(1), Duration::from_millis(5));
        c.put("slow".into(), 0, Arc::new(2), SLOW);
        assert_eq!(fresh(c.lookup("fast")), Some(1));
        assert_eq!(fresh(c.lookup("slow")), Some(2));
        version.fetch_add(1, Ordering::SeqCst);
        // A fast answer is recomputed (exact); a slow one is shown while it is recomputed.
        assert!(matches!(c.lookup("fast"), Lookup::Miss));
        assert_eq!(stale(c.lookup("slow")), Some(2));
        assert!(matches!(c.lookup("other"), Lookup::Miss));
        // One refresh at a time.
        assert!(c.begin_refresh("slow"));
        assert!(!c.begin_refresh("slow"));
        c.put("slow".into(), 1, Arc::new(3), SLOW);
        c.end_refresh("slow");
        assert_eq!(fresh(c.lookup("slow")), Some(3));
        assert!(c.begin_refresh("slow"));
    }

    #[test]
    fn an_answer_computed_before_a_write_is_not_fresh_after_it() {
        let version = Arc::new(AtomicU64::new(7));
        let c = ReadCache::new(version.clone());
        let seen = c.version();
        version.fetch_add(1, Ordering::SeqCst); // a write lands while the query runs
        c.put("q".into(), seen, Arc::new(1), Duration::from_millis(1));
        assert!(matches!(c.lookup("q"), Lookup::Miss));
    }

    async fn ask(c: &ReadCache<u32>, computed: &AtomicU64, value: u32) -> u32 {
        let arrived = c.version();
        let shared = c
            .single_flight("k", arrived, || async {
                let v = c.version();
                tokio::time::sleep(Duration::from_millis(30)).await;
                computed.fetch_add(1, Ordering::SeqCst);
                c.put("k".into(), v, Arc::new(value), Duration::from_millis(30));
                Ok::<(), ()>(())
            })
            .await
            .unwrap();
        shared.map_or(value, |v| *v)
    }

    #[tokio::test]
    async fn concurrent_viewers_share_one_computation() {
        let c = ReadCache::new(Arc::new(AtomicU64::new(0)));
        let computed = AtomicU64::new(0);
        let answers = futures::future::join_all((0..8).map(|i| ask(&c, &computed, i))).await;
        assert_eq!(computed.load(Ordering::SeqCst), 1, "{answers:?}");
        assert!(answers.iter().all(|a| *a == answers[0]), "{answers:?}");
        assert!(
            c.computing.lock().unwrap().is_empty(),
            "no lock left behind"
        );
    }

    #[tokio::test]
    async fn a_viewer_arriving_after_a_write_does_not_take_the_older_answer() {
        let version = Arc::new(AtomicU64::new(0));
        let c = ReadCache::new(version.clone());
        let computed = AtomicU64::new(0);
        let first = ask(&c, &computed, 1);
        let second = async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            version.fetch_add(1, Ordering::SeqCst); // a write while the first computes
            ask(&c, &computed, 2).await
        };
        let (a, b) = tokio::join!(first, second);
        assert_eq!((a, b), (1, 2));
        assert_eq!(computed.load(Ordering::SeqCst), 2);
    }
}
