//! A bounded in-memory copy of the blobs clients ask for most.
//!
//! Every install downloads the same few assets (the launch bundle of the newest update, in
//! the coding its platform accepts), so keeping their bytes in memory turns an asset
//! request into a reference-counted copy of a [`Bytes`]: no file open, no blocking-pool
//! round trip per read, and one copy shared by every connection. Blobs larger than
//! [`BlobMemory::max_item`] are streamed from the store instead, and the total is bounded
//! by [`BlobMemory::budget`], least recently used first out.

use std::collections::HashMap;
use std::sync::Mutex;

use bytes::Bytes;
use expo_manifest::AssetHash;

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
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
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
