//! A fixed-size set of row numbers, one bit per row of a segment.

#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Bitset {
    words: Vec<u64>,
    len: usize,
}

impl Bitset {
    pub(crate) fn empty(len: usize) -> Bitset {
        Bitset {
            words: vec![0; len.div_ceil(64)],
            len,
        }
    }

    pub(crate) fn full(len: usize) -> Bitset {
        let mut b = Bitset {
            words: vec![u64::MAX; len.div_ceil(64)],
            len,
        };
        b.trim();
        b
    }

    /// A set of the rows for which `f` is true.
    pub(crate) fn from_fn(len: usize, mut f: impl FnMut(usize) -> bool) -> Bitset {
        let mut b = Bitset::empty(len);
        for (w, word) in b.words.iter_mut().enumerate() {
            let base = w * 64;
            let mut bits = 0u64;
            for i in 0..64.min(len - base) {
                bits |= u64::from(f(base + i)) << i;
            }
            *word = bits;
        }
        b
    }

    fn trim(&mut self) {
        let extra = self.words.len() * 64 - self.len;
        if let Some(last) = self.words.last_mut() {
            if extra > 0 {
                *last &= u64::MAX >> extra;
            }
        }
    }

    pub(crate) fn insert(&mut self, row: usize) {
        if row < self.len {
            self.words[row / 64] |= 1 << (row % 64);
        }
    }

    pub(crate) fn contains(&self, row: usize) -> bool {
        row < self.len && self.words[row / 64] & (1 << (row % 64)) != 0
    }

    pub(crate) fn and(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a &= b;
        }
    }

    pub(crate) fn or(&mut self, other: &Bitset) {
        for (a, b) in self.words.iter_mut().zip(&other.words) {
            *a |= b;
        }
    }

    pub(crate) fn not(&mut self) {
        for w in &mut self.words {
            *w = !*w;
        }
        self.trim();
    }

    /// Keeps the rows for which `f` is true; `f` sees only rows in the set, so refining a
    /// sparse set costs its size, not the segment's.
    pub(crate) fn retain(&mut self, mut f: impl FnMut(usize) -> bool) {
        for (w, word) in self.words.iter_mut().enumerate() {
            let mut bits = *word;
            while bits != 0 {
                let low = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                if !f(w * 64 + low) {
                    *word &= !(1 << low);
                }
            }
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.words.iter().all(|&w| w == 0)
    }

    pub(crate) fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// Rows in the set, highest first.
    pub(crate) fn iter_desc(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().rev().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let top = 63 - bits.leading_zeros() as usize;
                bits &= !(1 << top);
                Some(w * 64 + top)
            })
        })
    }

    /// Rows in the set, lowest first.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let low = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + low)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations_and_iteration() {
        let mut a = Bitset::from_fn(130, |i| i % 3 == 0);
        let b = Bitset::from_fn(130, |i| i % 2 == 0);
        assert_eq!(a.count(), 44);
        a.and(&b);
        assert_eq!(a.iter().take(3).collect::<Vec<_>>(), vec![0, 6, 12]);
        assert_eq!(a.iter_desc().next(), Some(126));
        a.not();
        assert_eq!(a.count(), 130 - 22);
        assert!(!a.contains(130));
        let mut e = Bitset::empty(70);
        assert!(e.is_empty());
        e.or(&Bitset::full(70));
        assert_eq!(e.count(), 70);
        e.insert(69);
        assert!(e.contains(69));
    }

    #[test]
    fn retain_sees_only_members_and_drops_the_refused() {
        let mut a = Bitset::from_fn(200, |i| i % 5 == 0);
        let mut seen = Vec::new();
        a.retain(|r| {
            seen.push(r);
            r % 10 == 0
        });
        assert_eq!(seen.len(), 40);
        assert!(seen.iter().all(|r| r % 5 == 0));
        assert_eq!(
            a.iter().collect::<Vec<_>>(),
            (0..200).step_by(10).collect::<Vec<_>>()
        );
    }
}
