//! Postings: for each label name and value, the sorted ids of the series that have it.
//!
//! [`MemPostings`] is the head's mutable index; block indexes implement [`LabelIndex`] over
//! their on-disk postings. [`select_postings`] resolves matchers against either.

use std::collections::{BTreeMap, HashSet};

use crate::labels::Labels;
use crate::matcher::{MatchOp, Matcher};

/// What matcher resolution needs from an index. Series ids are sorted ascending.
pub(crate) trait LabelIndex {
    /// The values `name` takes, sorted.
    fn values_of(&self, name: &str) -> Vec<&str>;
    /// The series with `name="value"`.
    fn postings(&self, name: &str, value: &str) -> Vec<u64>;
    /// Every series.
    fn all_postings(&self) -> Vec<u64>;
}

/// The ids of the series matching every matcher, sorted.
///
/// A matcher that does not match "" selects the union of the postings of the values it
/// matches, and those sets are intersected. A matcher that matches "" (e.g. `foo=""`,
/// `foo!="bar"`, `foo=~".*"`) also selects series *without* the label, so it instead
/// subtracts the series whose value it does not match. With no selecting matcher the start
/// set is every series.
pub(crate) fn select_postings(ix: &impl LabelIndex, matchers: &[Matcher]) -> Vec<u64> {
    let mut selected: Option<Vec<u64>> = None;
    let mut excluded: Vec<u64> = Vec::new();
    // Selecting matchers first: they usually shrink the set the most.
    let (sel, sub): (Vec<&Matcher>, Vec<&Matcher>) = matchers.iter().partition(|m| !m.matches(""));
    for m in sel {
        let p = if m.op() == MatchOp::Equal {
            ix.postings(m.name(), m.value())
        } else {
            let lists: Vec<Vec<u64>> = ix
                .values_of(m.name())
                .into_iter()
                .filter(|v| m.matches(v))
                .map(|v| ix.postings(m.name(), v))
                .collect();
            union(lists)
        };
        let next = match selected {
            None => p,
            Some(s) => intersect(&s, &p),
        };
        if next.is_empty() {
            return next;
        }
        selected = Some(next);
    }
    for m in sub {
        let lists: Vec<Vec<u64>> = ix
            .values_of(m.name())
            .into_iter()
            .filter(|v| !m.matches(v))
            .map(|v| ix.postings(m.name(), v))
            .collect();
        excluded.extend(union(lists));
    }
    let base = selected.unwrap_or_else(|| ix.all_postings());
    if excluded.is_empty() {
        return base;
    }
    excluded.sort_unstable();
    excluded.dedup();
    without(&base, &excluded)
}

/// Sorted intersection of two sorted lists.
pub(crate) fn intersect(a: &[u64], b: &[u64]) -> Vec<u64> {
    let (mut i, mut j) = (0, 0);
    let mut out = Vec::with_capacity(a.len().min(b.len()));
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Sorted union of sorted lists.
pub(crate) fn union(lists: Vec<Vec<u64>>) -> Vec<u64> {
    let mut lists = lists;
    match lists.len() {
        0 => Vec::new(),
        1 => lists.pop().unwrap_or_default(),
        _ => {
            let mut all: Vec<u64> = lists.into_iter().flatten().collect();
            all.sort_unstable();
            all.dedup();
            all
        }
    }
}

/// The ids of sorted `a` not in sorted `b`.
pub(crate) fn without(a: &[u64], b: &[u64]) -> Vec<u64> {
    let mut j = 0;
    a.iter()
        .copied()
        .filter(|&x| {
            while j < b.len() && b[j] < x {
                j += 1;
            }
            !(j < b.len() && b[j] == x)
        })
        .collect()
}

/// The head's in-memory postings. Ids are added in increasing order, so lists stay sorted
/// by pushing.
#[derive(Debug, Default)]
pub(crate) struct MemPostings {
    by_label: BTreeMap<String, BTreeMap<String, Vec<u64>>>,
    all: Vec<u64>,
}

impl MemPostings {
    /// Indexes series `id`, which must be greater than every id added before.
    pub(crate) fn add(&mut self, id: u64, labels: &Labels) {
        debug_assert!(self.all.last().is_none_or(|&l| l < id));
        self.all.push(id);
        for (n, v) in labels.iter() {
            self.by_label
                .entry(n.to_owned())
                .or_default()
                .entry(v.to_owned())
                .or_default()
                .push(id);
        }
    }

    /// Sets the (sorted) list of `name="value"`, as read from a block index.
    pub(crate) fn insert_list(&mut self, name: &str, value: &str, ids: Vec<u64>) {
        self.by_label
            .entry(name.to_owned())
            .or_default()
            .insert(value.to_owned(), ids);
    }

    /// Sets the (sorted) list of every series, as read from a block index.
    pub(crate) fn set_all(&mut self, all: Vec<u64>) {
        self.all = all;
    }

    /// Removes the given series (whose label sets are given alongside).
    pub(crate) fn remove(&mut self, gone: &[(u64, &Labels)]) {
        if gone.is_empty() {
            return;
        }
        let ids: HashSet<u64> = gone.iter().map(|(id, _)| *id).collect();
        self.all.retain(|id| !ids.contains(id));
        for (_, labels) in gone {
            for (n, v) in labels.iter() {
                let Some(values) = self.by_label.get_mut(n) else {
                    continue;
                };
                if let Some(list) = values.get_mut(v) {
                    list.retain(|id| !ids.contains(id));
                    if list.is_empty() {
                        values.remove(v);
                    }
                }
                if values.is_empty() {
                    self.by_label.remove(n);
                }
            }
        }
    }
}

impl LabelIndex for MemPostings {
    fn values_of(&self, name: &str) -> Vec<&str> {
        self.by_label
            .get(name)
            .map(|vs| vs.keys().map(String::as_str).collect())
            .unwrap_or_default()
    }

    fn postings(&self, name: &str, value: &str) -> Vec<u64> {
        self.by_label
            .get(name)
            .and_then(|vs| vs.get(value))
            .cloned()
            .unwrap_or_default()
    }

    fn all_postings(&self) -> Vec<u64> {
        self.all.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn index() -> (MemPostings, Vec<Labels>) {
        let sets = vec![
            Labels::new([("__name__", "up"), ("job", "api"), ("instance", "a")]).unwrap(),
            Labels::new([("__name__", "up"), ("job", "web"), ("instance", "b")]).unwrap(),
            Labels::new([("__name__", "up"), ("instance", "c")]).unwrap(),
            Labels::new([("__name__", "req"), ("job", "api"), ("code", "500")]).unwrap(),
        ];
        let mut p = MemPostings::default();
        for (i, l) in sets.iter().enumerate() {
            p.add(i as u64, l);
        }
        (p, sets)
    }

    fn m(op: MatchOp, n: &str, v: &str) -> Matcher {
        Matcher::new(op, n, v).unwrap()
    }

    /// Checks index resolution against brute force over the label sets.
    fn check(p: &MemPostings, sets: &[Labels], ms: &[Matcher]) -> Vec<u64> {
        let got = select_postings(p, ms);
        let want: Vec<u64> = sets
            .iter()
            .enumerate()
            .filter(|(_, l)| crate::matcher::matches_all(ms, l))
            .map(|(i, _)| i as u64)
            .collect();
        assert_eq!(got, want, "{ms:?}");
        got
    }

    #[test]
    fn matcher_semantics_against_brute_force() {
        let (p, sets) = index();
        use MatchOp::*;
        assert_eq!(
            check(&p, &sets, &[m(Equal, "__name__", "up")]),
            vec![0, 1, 2]
        );
        assert_eq!(
            check(
                &p,
                &sets,
                &[m(Equal, "__name__", "up"), m(Equal, "job", "")]
            ),
            vec![2]
        );
        assert_eq!(check(&p, &sets, &[m(NotEqual, "job", "")]), vec![0, 1, 3]);
        assert_eq!(
            check(
                &p,
                &sets,
                &[m(Equal, "__name__", "up"), m(NotEqual, "job", "api")]
            ),
            vec![1, 2]
        );
        assert_eq!(
            check(&p, &sets, &[m(Regex, "job", "api|web")]),
            vec![0, 1, 3]
        );
        assert_eq!(check(&p, &sets, &[m(Regex, "job", "api|")]), vec![0, 2, 3]);
        assert_eq!(check(&p, &sets, &[m(NotRegex, "job", "a.*")]), vec![1, 2]);
        assert_eq!(check(&p, &sets, &[m(Regex, "job", ".*")]), vec![0, 1, 2, 3]);
        assert_eq!(check(&p, &sets, &[m(Regex, "job", ".+")]), vec![0, 1, 3]);
        assert_eq!(
            check(&p, &sets, &[m(Equal, "nope", "x")]),
            Vec::<u64>::new()
        );
        assert_eq!(check(&p, &sets, &[]), vec![0, 1, 2, 3]);
    }

    #[test]
    fn removal_drops_empty_entries() {
        let (mut p, sets) = index();
        p.remove(&[(3, &sets[3])]);
        assert_eq!(p.values_of("code"), Vec::<&str>::new());
        assert_eq!(p.postings("job", "api"), vec![0]);
        assert_eq!(p.all_postings(), vec![0, 1, 2]);
    }

    proptest! {
        #[test]
        fn set_operations(mut a in proptest::collection::vec(0u64..100, 0..50),
                          mut b in proptest::collection::vec(0u64..100, 0..50)) {
            a.sort_unstable(); a.dedup(); b.sort_unstable(); b.dedup();
            let i = intersect(&a, &b);
            let w = without(&a, &b);
            let u = union(vec![a.clone(), b.clone()]);
            for x in 0..100u64 {
                let (ina, inb) = (a.contains(&x), b.contains(&x));
                prop_assert_eq!(i.contains(&x), ina && inb);
                prop_assert_eq!(w.contains(&x), ina && !inb);
                prop_assert_eq!(u.contains(&x), ina || inb);
            }
            prop_assert!(i.windows(2).all(|p| p[0] < p[1]));
            prop_assert!(w.windows(2).all(|p| p[0] < p[1]));
            prop_assert!(u.windows(2).all(|p| p[0] < p[1]));
        }
    }
}
