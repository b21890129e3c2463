//! Shared by the page tests: a real store on a throwaway SQLite file, and the dashboard router
//! over it.
#![allow(dead_code)]

use axum::Router;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use zebench_store::{Store, StoreOptions};

pub struct Db {
    store: Option<Arc<Store>>,
    dir: PathBuf,
}

impl Db {
    pub async fn new() -> Db {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "zebench-web-test-{}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}", dir.join("web.sqlite").display());
        let store = Store::connect(StoreOptions::new(&url)).await.unwrap();
        Db {
            store: Some(Arc::new(store)),
            dir,
        }
    }

    pub fn store(&self) -> &Store {
        self.store.as_ref().unwrap()
    }

    pub fn app(&self) -> Router {
        zebench_web::router(self.store.clone().unwrap())
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        self.store.take();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
