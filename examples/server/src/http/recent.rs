//! A bounded map that forgets what was least recently used, for caches whose keys come from
//! clients: a flood of new keys pushes out old keys instead of filling the map for good.
//!
//! Two generations approximate LRU in O(1): inserts go into the young map; when it holds
//! half the capacity it becomes the old one and the previous old one is dropped. A hit in
//! the old generation moves the entry back to the young one, so an entry used at least once
//! per half-capacity of inserts is never dropped.
//!
//! ```
//! use expo_update_server::http::recent::Recent;
//!
//! let recent = Recent::new(4);
//! recent.insert("real", 1);
//! for junk in 0..100 {
//!     recent.insert(format!("junk-{junk}").leak() as &str, 0);
//!     assert_eq!(recent.get(&"real"), Some(1), "used, so kept");
//! }
//! assert!(recent.len() <= 4);
//! ```

use std::borrow::Borrow;
use std::hash::Hash;
use std::sync::{RwLock, RwLockWriteGuard};

// Seeded per map, and several times faster than SipHash on the short keys of a request.
use foldhash::HashMap;

/// A map of at most `capacity` entries, least recently used out.
#[derive(Debug)]
pub struct Recent<K, V> {
    half: usize,
    inner: RwLock<Generations<K, V>>,
}

#[derive(Debug)]
struct Generations<K, V> {
    young: HashMap<K, V>,
    old: HashMap<K, V>,
}

impl<K: Eq + Hash + Clone, V: Clone> Recent<K, V> {
    /// An empty map of at most `capacity` (at least 2) entries.
    pub fn new(capacity: usize) -> Self {
        Self {
            half: (capacity / 2).max(1),
            inner: RwLock::new(Generations {
                young: HashMap::default(),
                old: HashMap::default(),
            }),
        }
    }

    /// The value of `key` (any borrowed form of the key type), marked as used.
    pub fn get<Q: Hash + Eq + ?Sized>(&self, key: &Q) -> Option<V>
    where
        K: Borrow<Q>,
    {
        {
            let inner = self
                .inner
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if let Some(value) = inner.young.get(key) {
                return Some(value.clone());
            }
            if !inner.old.contains_key(key) {
                return None;
            }
        }
        let mut inner = self.write();
        let (key, value) = inner.old.remove_entry(key)?;
        self.insert_young(&mut inner, key, value.clone());
        Some(value)
    }

    /// Keeps `value` under `key`, pushing out the least recently used entries past the
    /// capacity.
    pub fn insert(&self, key: K, value: V) {
        let mut inner = self.write();
        inner.old.remove(&key);
        self.insert_young(&mut inner, key, value);
    }

    fn insert_young(&self, inner: &mut Generations<K, V>, key: K, value: V) {
        if inner.young.len() >= self.half && !inner.young.contains_key(&key) {
            inner.old = std::mem::take(&mut inner.young);
        }
        inner.young.insert(key, value);
    }

    /// How many entries are held.
    pub fn len(&self) -> usize {
        let inner = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        inner.young.len() + inner.old.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut inner = self.write();
        inner.young.clear();
        inner.old.clear();
    }

    fn write(&self) -> RwLockWriteGuard<'_, Generations<K, V>> {
        // Every critical section leaves both maps consistent: a panic cannot break them.
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_and_keeps_what_is_used() {
        let recent = Recent::new(100);
        recent.insert(u32::MAX, "real");
        for key in 0..10_000 {
            recent.insert(key, "junk");
            assert!(recent.len() <= 100);
            if key % 40 == 0 {
                assert_eq!(recent.get(&u32::MAX), Some("real"), "{key}");
            }
        }
        // Unused entries go: only the most recent inserts are left.
        assert_eq!(recent.get(&0), None);
        assert_eq!(recent.get(&9_999), Some("junk"));
        recent.insert(9_999, "replaced");
        assert_eq!(recent.get(&9_999), Some("replaced"));
        recent.clear();
        assert!(recent.is_empty());
    }
}
