//! A bounded cache of decoded block sections, shared by every block of a store. Entries
//! leave least recently used first once the byte budget is spent (a hit refreshes its
//! entry); a block's entries go when it is dropped.

use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

/// Which section of which block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum SectionKey {
    Times,
    Seqs,
    Column(u32),
    Attribute(u32),
    Body(u32),
    TokenDict,
    Postings(u32),
    /// Row frame `n` (version 3).
    RowFrame(u32),
    /// Frame `frame` of the id index of column `column` (version 3).
    IdIndex {
        column: u32,
        frame: u32,
    },
}

/// A cached value, its size in bytes and the stamp of its last use.
struct Entry {
    value: Arc<dyn Any + Send + Sync>,
    size: usize,
    used: u64,
}

type Key = (u64, SectionKey);

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    /// Uses, oldest first: a key with the stamp of that use. A use that is not its entry's
    /// last is stale and skipped (and dropped when stale ones outnumber the entries).
    order: VecDeque<(Key, u64)>,
    bytes: usize,
    stamp: u64,
}

impl Inner {
    /// Marks `key` as used now.
    fn touch(&mut self, key: Key) {
        self.stamp += 1;
        let stamp = self.stamp;
        if let Some(e) = self.entries.get_mut(&key) {
            e.used = stamp;
            self.order.push_back((key, stamp));
        }
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(k, s)| entries.get(k).is_some_and(|e| e.used == *s));
        }
    }

    /// Drops the least recently used entry; false when there is none.
    fn evict_one(&mut self) -> bool {
        while let Some((k, s)) = self.order.pop_front() {
            if self.entries.get(&k).is_some_and(|e| e.used == s) {
                if let Some(e) = self.entries.remove(&k) {
                    self.bytes -= e.size;
                }
                return true;
            }
        }
        false
    }
}

pub(crate) struct Cache {
    budget: usize,
    inner: Mutex<Inner>,
}

impl Cache {
    pub(crate) fn new(budget: usize) -> Cache {
        Cache {
            budget,
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The cached value (now the most recently used), or `load`'s (cached when it fits the
    /// budget). `load` returns the value and its approximate size in bytes.
    pub(crate) fn get_or_load<T: Any + Send + Sync, E>(
        &self,
        block: u64,
        key: SectionKey,
        load: impl FnOnce() -> Result<(T, usize), E>,
    ) -> Result<Arc<T>, E> {
        {
            let mut inner = self.lock();
            let hit = inner
                .entries
                .get(&(block, key))
                .map(|e| Arc::clone(&e.value));
            if let Some(Ok(t)) = hit.map(|v| v.downcast::<T>()) {
                inner.touch((block, key));
                return Ok(t);
            }
        }
        let (value, size) = load()?;
        let value = Arc::new(value);
        if size <= self.budget {
            let mut inner = self.lock();
            if let Some(old) = inner.entries.remove(&(block, key)) {
                inner.bytes -= old.size;
            }
            while inner.bytes + size > self.budget && inner.evict_one() {}
            let entry = Entry {
                value: value.clone(),
                size,
                used: 0,
            };
            inner.entries.insert((block, key), entry);
            inner.bytes += size;
            inner.touch((block, key));
        }
        Ok(value)
    }

    /// Forgets every section of `block`.
    pub(crate) fn evict_block(&self, block: u64) {
        let mut inner = self.lock();
        let Inner {
            entries,
            order,
            bytes,
            ..
        } = &mut *inner;
        entries.retain(|k, e| {
            let keep = k.0 != block;
            if !keep {
                *bytes -= e.size;
            }
            keep
        });
        order.retain(|(k, _)| k.0 != block);
    }

    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The keys of the cached sections, least recently used first.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<(u64, SectionKey)> {
        let inner = self.lock();
        inner
            .order
            .iter()
            .filter(|(k, s)| inner.entries.get(k).is_some_and(|e| e.used == *s))
            .map(|(k, _)| *k)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reused_and_the_least_recently_used_leaves_first() {
        let cache = Cache::new(100);
        let load = |v: u32| move || Ok::<_, ()>((v, 40));
        let get = |block, v| {
            *cache
                .get_or_load(block, SectionKey::Times, load(v))
                .unwrap()
        };
        assert_eq!(get(1, 1), 1);
        assert_eq!(get(1, 2), 1, "a hit");
        assert_eq!(get(2, 3), 3);
        // Block 1's entry is used again: block 2's is now the oldest and leaves first.
        assert_eq!(get(1, 4), 1);
        assert_eq!(get(3, 5), 5);
        assert_eq!(cache.bytes(), 80);
        assert_eq!(
            cache.keys(),
            [(1, SectionKey::Times), (3, SectionKey::Times)]
        );
        assert_eq!(get(2, 6), 6, "evicted, loaded again");
        assert_eq!(get(1, 7), 7, "the least recently used then");
        // Many hits do not grow the bookkeeping past its bound.
        for _ in 0..1_000 {
            get(1, 0);
        }
        assert!(cache.lock().order.len() <= 2 * 2 + 64 + 1);
        assert_eq!(cache.keys().len(), 2);
        cache.evict_block(1);
        assert_eq!(cache.bytes(), 40);
        assert_eq!(cache.keys(), [(2, SectionKey::Times)]);
        // Too large for the budget: given, not kept.
        let big = cache.get_or_load(4, SectionKey::Seqs, || Ok::<_, ()>((9u32, 101)));
        assert_eq!(*big.unwrap(), 9);
        assert_eq!(cache.bytes(), 40);
    }
}
