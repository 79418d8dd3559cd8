//! What ingest computes from each batch of spans for the RED table ([`super::red`]): the
//! cells of the batch, and the service-to-service edges. An edge needs the parent span's
//! service; a parent in the same batch or among the recent spans ([`RECENT`] per
//! generation, two generations) is found at once, a child whose parent has not arrived yet
//! waits (up to [`PENDING`] per generation, two generations) and its edge is counted in the
//! batch that brings the parent. A child whose parent never comes (an uninstrumented
//! caller) makes no edge.
//!
//! [`Aggregates::prepare`] works out a batch without changing anything; the caller writes
//! the batch's records with the spans and, once they are durable,
//! [`Aggregates::commit`]s them: the table and the store always agree.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};

use ingest::spans::SpanKind;
use logstore::{FastHasher, Record};

use super::records::SpanFacts;
use super::red::{minute_of, record, Cell, Deltas, Key, KeyKind, RedTable};

/// Span ids (with their service) remembered per generation, for late children.
pub const RECENT: usize = 100_000;
/// Children waiting for their parent, per generation.
pub const PENDING: usize = 50_000;
/// Distinct service and operation names interned, at most.
const MAX_NAMES: usize = 20_000;

/// A child span waiting for its parent.
#[derive(Clone, Debug)]
struct Pending {
    child: Arc<str>,
    minute: i64,
    duration_ns: i64,
    error: bool,
}

/// Two generations of a map: lookups see both, inserts go to the newer; when it is full
/// the older is dropped. Bounded at twice `cap` entries.
#[derive(Debug)]
struct Generations<V> {
    new: HashMap<u64, V, FastHasher>,
    old: HashMap<u64, V, FastHasher>,
    cap: usize,
}

impl<V> Generations<V> {
    fn new(cap: usize) -> Self {
        Generations {
            new: HashMap::default(),
            old: HashMap::default(),
            cap,
        }
    }

    fn get(&self, k: u64) -> Option<&V> {
        self.new.get(&k).or_else(|| self.old.get(&k))
    }

    fn remove(&mut self, k: u64) {
        self.new.remove(&k);
        self.old.remove(&k);
    }

    fn entry(&mut self, k: u64) -> &mut V
    where
        V: Default,
    {
        if self.new.len() >= self.cap && !self.new.contains_key(&k) {
            self.old = std::mem::take(&mut self.new);
        }
        if let Some(v) = self.old.remove(&k) {
            self.new.insert(k, v);
        }
        self.new.entry(k).or_default()
    }
}

pub fn lock(m: &Mutex<Aggregates>) -> MutexGuard<'_, Aggregates> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One seeded hasher for span keys, so a key means the same span in every batch.
static SPAN_KEYS: LazyLock<FastHasher> = LazyLock::new(FastHasher::default);

/// A span's identity within the store: its trace id and span id, hashed.
fn span_key(trace_id: &str, span_id: &str) -> u64 {
    SPAN_KEYS.hash_one((trace_id, span_id))
}

/// A batch worked out: its RED records and what to change once they are durable.
pub struct Prepared {
    pub records: Vec<Record>,
    deltas: Deltas,
    spans: Vec<(u64, Arc<str>)>,
    resolved: Vec<u64>,
    pending: Vec<(u64, Pending)>,
}

/// The RED table with the span ids it needs to find edges.
#[derive(Debug)]
pub struct Aggregates {
    pub red: RedTable,
    recent: Generations<Option<Arc<str>>>,
    waiting: Generations<Vec<Pending>>,
    names: HashSet<Arc<str>, FastHasher>,
}

impl Default for Aggregates {
    fn default() -> Self {
        Aggregates {
            red: RedTable::default(),
            recent: Generations::new(RECENT),
            waiting: Generations::new(PENDING),
            names: HashSet::default(),
        }
    }
}

impl Aggregates {
    pub fn with_table(red: RedTable) -> Aggregates {
        Aggregates {
            red,
            ..Aggregates::default()
        }
    }

    fn name(&mut self, s: &str) -> Arc<str> {
        if let Some(n) = self.names.get(s) {
            return n.clone();
        }
        let n: Arc<str> = Arc::from(s);
        if self.names.len() < MAX_NAMES {
            self.names.insert(n.clone());
        }
        n
    }

    /// The batch's RED records (`columns` wide) and its changes; nothing changes yet.
    pub fn prepare<'s, S: Copy + Into<SpanFacts<'s>>>(
        &mut self,
        spans: &[S],
        columns: usize,
    ) -> Prepared {
        let spans: Vec<SpanFacts<'s>> = spans.iter().map(|&s| s.into()).collect();
        type Local<'s> = HashMap<(KeyKind, &'s str, &'s str, i64), Cell, FastHasher>;
        let mut local: Local<'_> = HashMap::default();
        let mut edges: HashMap<(Arc<str>, Arc<str>, i64), Cell, FastHasher> = HashMap::default();
        let keys: Vec<u64> = spans
            .iter()
            .map(|s| span_key(s.trace_id, s.span_id))
            .collect();
        let in_batch: HashMap<u64, &str, FastHasher> = keys
            .iter()
            .zip(&spans)
            .map(|(k, s)| (*k, s.service))
            .collect();
        let mut pending = Vec::new();
        for s in &spans {
            let (minute, d, err) = (minute_of(s.start_ns), s.duration_ns(), s.error);
            let svc = s.service;
            local
                .entry((KeyKind::Operation, svc, s.name, minute))
                .or_default()
                .observe(d, err);
            let root = s.parent_span_id.is_empty();
            if root || matches!(s.kind, SpanKind::Server | SpanKind::Consumer) {
                local
                    .entry((KeyKind::Entry, svc, "", minute))
                    .or_default()
                    .observe(d, err);
            }
            if root {
                continue;
            }
            let pk = span_key(s.trace_id, s.parent_span_id);
            if let Some(parent) = in_batch.get(&pk) {
                if *parent != svc {
                    local
                        .entry((KeyKind::Edge, parent, svc, minute))
                        .or_default()
                        .observe(d, err);
                }
            } else if let Some(parent) = self.recent.get(pk).cloned().flatten() {
                if &*parent != svc {
                    let child = self.name(svc);
                    edges
                        .entry((parent, child, minute))
                        .or_default()
                        .observe(d, err);
                }
            } else {
                let child = self.name(svc);
                pending.push((
                    pk,
                    Pending {
                        child,
                        minute,
                        duration_ns: d,
                        error: err,
                    },
                ));
            }
        }
        // Children of earlier batches whose parent is in this one.
        let mut resolved = Vec::new();
        for (k, s) in keys.iter().zip(&spans) {
            let Some(children) = self.waiting.get(*k).cloned() else {
                continue;
            };
            resolved.push(*k);
            for c in children {
                if &*c.child != s.service {
                    let parent = self.name(s.service);
                    let cell = edges.entry((parent, c.child, c.minute)).or_default();
                    cell.observe(c.duration_ns, c.error);
                }
            }
        }
        let mut deltas = Deltas::default();
        for ((kind, a, b, minute), cell) in local {
            let key = Key {
                kind,
                a: self.name(a),
                b: self.name(b),
            };
            if self.red.admit(&key) {
                deltas.entry((key, minute)).or_default().merge(&cell);
            }
        }
        for ((a, b, minute), cell) in edges {
            let key = Key {
                kind: KeyKind::Edge,
                a,
                b,
            };
            if self.red.admit(&key) {
                deltas.entry((key, minute)).or_default().merge(&cell);
            }
        }
        let records = deltas
            .iter()
            .map(|((key, minute), cell)| record(key, *minute, cell, columns))
            .collect();
        let spans = keys
            .into_iter()
            .zip(&spans)
            .map(|(k, s)| (k, self.name(s.service)))
            .collect();
        Prepared {
            records,
            deltas,
            spans,
            resolved,
            pending,
        }
    }

    /// Applies a prepared batch whose records are durable.
    pub fn commit(&mut self, p: Prepared) {
        self.red.apply(p.deltas);
        for k in p.resolved {
            self.waiting.remove(k);
        }
        for (k, service) in p.spans {
            *self.recent.entry(k) = Some(service);
        }
        for (k, child) in p.pending {
            self.waiting.entry(k).push(child);
        }
    }
}

#[cfg(test)]
mod tests {
    use ingest::spans::{SpanLine, SpanStatus};

    use super::*;

    fn span(id: &str, parent: &str, service: &str, kind: SpanKind, ms: i64) -> SpanLine {
        SpanLine {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            span_id: id.into(),
            parent_span_id: parent.into(),
            name: format!("{service}-op"),
            kind,
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_000_000_000_000 + ms * 1_000_000,
            service: service.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_child_before_its_parent_makes_its_edge_when_the_parent_arrives() {
        let mut a = Aggregates::default();
        let mut server = span("b2", "b1", "mcp", SpanKind::Server, 40);
        server.status = SpanStatus::Error;
        let client = span("b1", "a1", "agent", SpanKind::Client, 50);
        let root = span("a1", "", "agent", SpanKind::Server, 100);
        for batch in [[&server], [&client], [&root]] {
            let p = a.prepare(&batch, 9);
            a.commit(p);
        }
        let t = a.red.totals(0, i64::MAX, |_| true);
        let get = |kind, x: &str, y: &str| {
            t.cells
                .iter()
                .find(|(k, _)| k.kind == kind && &*k.a == x && &*k.b == y)
                .map(|(_, c)| (c.count, c.errors, c.quantile_ms(0.95)))
        };
        assert_eq!(get(KeyKind::Edge, "agent", "mcp"), Some((1, 1, 40.0)));
        assert_eq!(get(KeyKind::Edge, "agent", "agent"), None);
        assert_eq!(get(KeyKind::Entry, "agent", ""), Some((1, 0, 100.0)));
        assert_eq!(get(KeyKind::Entry, "mcp", ""), Some((1, 1, 40.0)));
        assert_eq!(
            get(KeyKind::Operation, "agent", "agent-op"),
            Some((2, 0, 100.0))
        );
        assert!(a.waiting.get(span_key(&root.trace_id, "b1")).is_none());
    }

    #[test]
    fn generations_stay_bounded() {
        let mut g: Generations<u8> = Generations::new(2);
        for k in 0..10 {
            *g.entry(k) = 1;
        }
        assert!(g.new.len() + g.old.len() <= 4);
        assert_eq!(g.get(9), Some(&1));
        assert_eq!(g.get(0), None);
    }
}
