//! A bounded in-memory copy of the blobs clients ask for most.
//!
//! Every install downloads the same few assets (the launch bundle of the newest update, in
//! the coding its platform accepts), so keeping their bytes in memory turns an asset
//! request into a reference-counted copy of a [`Bytes`]: no file open, no blocking-pool
//! round trip per read, and one copy shared by every connection. Blobs larger than
//! [`BlobMemory::max_item`] are streamed from the store instead, and the total is bounded
//! by [`BlobMemory::budget`], least recently used first out.
//!
//! A blob missing from memory is read once however many requests want it at the same time
//! ([`BlobMemory::get_or_load`]): sixty-four connections asking for a 1.7 MB bundle right
//! after a publish must not hold sixty-four copies of it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use expo_manifest::AssetHash;
use tokio::sync::OnceCell;

use super::ContentCoding;

/// Default total budget: room for a few platforms' launch bundles in every coding.
pub const DEFAULT_BUDGET: u64 = 32 * 1024 * 1024;
/// Default largest blob kept (Hermes bundles of large apps reach several MiB).
pub const DEFAULT_MAX_ITEM: u64 = 8 * 1024 * 1024;

type Key = (AssetHash, ContentCoding);

/// Blob bytes by hash and coding, bounded in total size.
#[derive(Debug)]
pub struct BlobMemory {
    budget: u64,
    max_item: u64,
    inner: Mutex<Inner>,
    /// Loads under way, so concurrent misses of one blob share one read.
    loading: Mutex<HashMap<Key, Arc<OnceCell<Bytes>>>>,
}

#[derive(Debug, Default)]
struct Inner {
    entries: HashMap<Key, Slot>,
    used: u64,
    clock: u64,
}

#[derive(Debug)]
struct Slot {
    bytes: Bytes,
    last_used: u64,
}

impl Default for BlobMemory {
    fn default() -> Self {
        Self::new(DEFAULT_BUDGET, DEFAULT_MAX_ITEM)
    }
}

impl BlobMemory {
    /// A cache of at most `budget` bytes holding blobs of at most `max_item` bytes each
    /// (a budget of 0 disables it).
    pub fn new(budget: u64, max_item: u64) -> Self {
        Self {
            budget,
            max_item: max_item.min(budget),
            inner: Mutex::new(Inner::default()),
            loading: Mutex::default(),
        }
    }

    /// The total budget in bytes.
    pub fn budget(&self) -> u64 {
        self.budget
    }

    /// The largest blob kept, in bytes.
    pub fn max_item(&self) -> u64 {
        self.max_item
    }

    /// Whether a blob of `len` bytes would be kept.
    pub fn admits(&self, len: u64) -> bool {
        len <= self.max_item && self.budget > 0
    }

    /// Bytes held now.
    pub fn used(&self) -> u64 {
        self.lock().used
    }

    /// The bytes of one coding of a blob, when held.
    pub fn get(&self, hash: &AssetHash, coding: ContentCoding) -> Option<Bytes> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let slot = inner.entries.get_mut(&(*hash, coding))?;
        slot.last_used = now;
        Some(slot.bytes.clone())
    }

    /// Keeps `bytes` as one coding of a blob, evicting the least recently used entries to
    /// stay within the budget; too large a blob is not kept.
    pub fn insert(&self, hash: &AssetHash, coding: ContentCoding, bytes: Bytes) {
        let len = bytes.len() as u64;
        if !self.admits(len) {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(old) = inner.entries.insert(
            (*hash, coding),
            Slot {
                bytes,
                last_used: now,
            },
        ) {
            inner.used -= old.bytes.len() as u64;
        }
        inner.used += len;
        while inner.used > self.budget {
            // A linear scan: entries are few (the budget holds tens to hundreds of assets)
            // and eviction happens only on a miss, which has just read a file.
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, slot)| slot.last_used)
                .map(|(key, _)| *key)
            else {
                break;
            };
            if let Some(evicted) = inner.entries.remove(&oldest) {
                inner.used -= evicted.bytes.len() as u64;
            }
        }
    }

    /// The bytes of one coding of a blob: from memory, else from `load` (then kept), which
    /// runs once for all the requests missing the blob at the same time. A failed load is
    /// not shared: the next request waiting tries again.
    pub async fn get_or_load<E, F, Fut>(
        &self,
        hash: &AssetHash,
        coding: ContentCoding,
        load: F,
    ) -> Result<Bytes, E>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, E>>,
    {
        if let Some(bytes) = self.get(hash, coding) {
            return Ok(bytes);
        }
        let key = (*hash, coding);
        let cell = Arc::clone(lock(&self.loading).entry(key).or_default());
        let loaded = cell
            .get_or_try_init(|| async {
                let bytes = load().await?;
                self.insert(hash, coding, bytes.clone());
                Ok(bytes)
            })
            .await
            .cloned();
        let mut loading = lock(&self.loading);
        if loading.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            loading.remove(&key);
        }
        loaded
    }

    /// Forgets every coding of a blob (when it is deleted).
    pub fn remove(&self, hash: &AssetHash) {
        let mut inner = self.lock();
        for coding in [
            ContentCoding::Identity,
            ContentCoding::Gzip,
            ContentCoding::Brotli,
        ] {
            if let Some(slot) = inner.entries.remove(&(*hash, coding)) {
                inner.used -= slot.bytes.len() as u64;
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        lock(&self.inner)
    }
}

/// Every critical section leaves the data consistent: a panic in another holder is ignored.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blob(n: u8, len: usize) -> (AssetHash, Bytes) {
        let bytes = Bytes::from(vec![n; len]);
        (AssetHash::of(&bytes), bytes)
    }

    #[test]
    fn keeps_within_budget_least_recently_used_out() {
        let memory = BlobMemory::new(100, 60);
        let (a, a_bytes) = blob(1, 40);
        let (b, b_bytes) = blob(2, 40);
        let (c, c_bytes) = blob(3, 40);
        memory.insert(&a, ContentCoding::Identity, a_bytes.clone());
        memory.insert(&b, ContentCoding::Identity, b_bytes);
        assert_eq!(memory.used(), 80);
        // Touch `a`, so `b` is the oldest when `c` needs room.
        assert_eq!(memory.get(&a, ContentCoding::Identity), Some(a_bytes));
        memory.insert(&c, ContentCoding::Identity, c_bytes);
        assert_eq!(memory.used(), 80);
        assert!(memory.get(&b, ContentCoding::Identity).is_none());
        assert!(memory.get(&a, ContentCoding::Identity).is_some());
        assert!(memory.get(&c, ContentCoding::Identity).is_some());
        assert!(memory.get(&c, ContentCoding::Brotli).is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_misses_of_one_blob_share_one_read() {
        use std::sync::atomic::{AtomicUsize, Ordering};

        let memory = Arc::new(BlobMemory::new(100, 60));
        let reads = Arc::new(AtomicUsize::new(0));
        let (a, a_bytes) = blob(6, 40);
        let gets = (0..64).map(|_| {
            let (memory, reads, a_bytes) =
                (Arc::clone(&memory), Arc::clone(&reads), a_bytes.clone());
            tokio::spawn(async move {
                memory
                    .get_or_load(&a, ContentCoding::Identity, || async {
                        reads.fetch_add(1, Ordering::AcqRel);
                        // Slow enough that every request misses while the read runs.
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        Ok::<_, ()>(a_bytes)
                    })
                    .await
            })
        });
        for got in futures_util::future::join_all(gets).await {
            assert_eq!(got.unwrap(), Ok(a_bytes.clone()));
        }
        assert_eq!(reads.load(Ordering::Acquire), 1);
        assert_eq!(memory.used(), 40);

        // A failed read is not kept: the next request reads again.
        let (b, b_bytes) = blob(7, 10);
        let failed = memory
            .get_or_load(&b, ContentCoding::Gzip, || async {
                Err::<Bytes, _>("gone")
            })
            .await;
        assert_eq!(failed, Err("gone"));
        let read = memory
            .get_or_load(&b, ContentCoding::Gzip, || async {
                Ok::<_, &str>(b_bytes.clone())
            })
            .await;
        assert_eq!(read, Ok(b_bytes));
    }

    #[test]
    fn refuses_large_blobs_and_forgets_removed_ones() {
        let memory = BlobMemory::new(100, 60);
        let (big, big_bytes) = blob(4, 61);
        memory.insert(&big, ContentCoding::Identity, big_bytes);
        assert_eq!(memory.used(), 0);
        let (a, a_bytes) = blob(5, 10);
        memory.insert(&a, ContentCoding::Identity, a_bytes.clone());
        memory.insert(&a, ContentCoding::Gzip, a_bytes.slice(..5));
        memory.insert(&a, ContentCoding::Identity, a_bytes);
        assert_eq!(memory.used(), 15);
        memory.remove(&a);
        assert_eq!(memory.used(), 0);
        assert!(!BlobMemory::new(0, 10).admits(1));
    }
}
