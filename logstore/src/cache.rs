//! A bounded cache of decoded block sections, shared by every block of a store. Entries
//! leave oldest-first once the byte budget is spent; a block's entries go when it is dropped.

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

type Entry = (Arc<dyn Any + Send + Sync>, usize);

#[derive(Default)]
struct Inner {
    entries: HashMap<(u64, SectionKey), Entry>,
    order: VecDeque<(u64, SectionKey)>,
    bytes: usize,
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

    /// The cached value, or `load`'s (cached when it fits the budget). `load` returns the
    /// value and its approximate size in bytes.
    pub(crate) fn get_or_load<T: Any + Send + Sync, E>(
        &self,
        block: u64,
        key: SectionKey,
        load: impl FnOnce() -> Result<(T, usize), E>,
    ) -> Result<Arc<T>, E> {
        if let Some((v, _)) = self.lock().entries.get(&(block, key)) {
            if let Ok(t) = Arc::clone(v).downcast::<T>() {
                return Ok(t);
            }
        }
        let (value, size) = load()?;
        let value = Arc::new(value);
        if size <= self.budget {
            let mut inner = self.lock();
            while inner.bytes + size > self.budget {
                let Some(old) = inner.order.pop_front() else {
                    break;
                };
                if let Some((_, s)) = inner.entries.remove(&old) {
                    inner.bytes -= s;
                }
            }
            let erased: Arc<dyn Any + Send + Sync> = value.clone();
            if let Some((_, s)) = inner.entries.insert((block, key), (erased, size)) {
                inner.bytes -= s;
            } else {
                inner.order.push_back((block, key));
            }
            inner.bytes += size;
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
        } = &mut *inner;
        order.retain(|k| {
            if k.0 != block {
                return true;
            }
            if let Some((_, s)) = entries.remove(k) {
                *bytes -= s;
            }
            false
        });
    }

    pub(crate) fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// The keys of the cached sections, oldest first.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> Vec<(u64, SectionKey)> {
        self.lock().order.iter().copied().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_reused_and_evicted_oldest_first() {
        let cache = Cache::new(100);
        let load = |v: u32| move || Ok::<_, ()>((v, 60));
        assert_eq!(
            *cache.get_or_load(1, SectionKey::Times, load(1)).unwrap(),
            1
        );
        assert_eq!(
            *cache.get_or_load(1, SectionKey::Times, load(2)).unwrap(),
            1
        );
        cache.get_or_load(2, SectionKey::Times, load(3)).unwrap();
        assert_eq!(cache.bytes(), 60);
        assert_eq!(
            *cache.get_or_load(1, SectionKey::Times, load(4)).unwrap(),
            4
        );
        cache.evict_block(1);
        assert_eq!(cache.bytes(), 0);
    }
}
