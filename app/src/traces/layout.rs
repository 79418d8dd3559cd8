//! A trace laid out for its waterfall: spans in tree order with their depth, where their
//! bars sit on the trace's time axis, the critical path, and self time (a span's time not
//! covered by its children) per span and per service and operation. Pure; works on any
//! parent links a sender made up (missing parents become roots, cycles are broken).

use std::collections::{HashMap, HashSet};

use super::model::{Span, Trace};

/// One waterfall row.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// Index into the trace's spans.
    pub span: usize,
    pub depth: usize,
    /// The row of the parent span, if it is in the trace.
    pub parent_row: Option<usize>,
    pub children: usize,
    /// Bar start and width in percent of the trace's duration.
    pub left_pct: f64,
    pub width_pct: f64,
    pub critical: bool,
    pub self_ns: i64,
}

/// Self time summed over the spans of one service and operation.
#[derive(Clone, Debug, PartialEq)]
pub struct SelfTime {
    pub service: String,
    pub operation: String,
    pub spans: usize,
    pub total_ns: i64,
    pub self_ns: i64,
}

#[derive(Clone, Debug, PartialEq, Default)]
pub struct Layout {
    pub rows: Vec<Row>,
    pub start_ns: i64,
    pub duration_ns: i64,
    /// Largest self time first.
    pub self_times: Vec<SelfTime>,
}

pub fn layout(trace: &Trace) -> Layout {
    let spans = &trace.spans;
    if spans.is_empty() {
        return Layout::default();
    }
    let start_ns = spans.iter().map(|s| s.start_ns).min().unwrap_or(0);
    let end_ns = spans.iter().map(Span::end_ns).max().unwrap_or(start_ns);
    let duration_ns = (end_ns - start_ns).max(1);
    let children = child_lists(spans);
    let self_ns: Vec<i64> = (0..spans.len())
        .map(|i| self_time(spans, i, &children[i]))
        .collect();
    let critical = critical_path(spans, &children);

    // Depth-first, children by start time; an explicit stack (no recursion on input).
    let mut rows = Vec::with_capacity(spans.len());
    let mut placed = vec![false; spans.len()];
    let has_parent: Vec<bool> = parent_indexes(spans)
        .into_iter()
        .map(|p| p.is_some())
        .collect();
    let roots: Vec<usize> = (0..spans.len()).filter(|i| !has_parent[*i]).collect();
    // Spans only reachable through a cycle become roots too, after the others.
    let mut pending: Vec<usize> = roots;
    let mut next_unplaced = 0;
    loop {
        let mut stack: Vec<(usize, usize, Option<usize>)> =
            pending.drain(..).rev().map(|i| (i, 0, None)).collect();
        while let Some((i, depth, parent_row)) = stack.pop() {
            if placed[i] {
                continue;
            }
            placed[i] = true;
            let s = &spans[i];
            let row = rows.len();
            rows.push(Row {
                span: i,
                depth,
                parent_row,
                children: children[i].len(),
                left_pct: (s.start_ns - start_ns) as f64 * 100.0 / duration_ns as f64,
                width_pct: (s.duration_ns.max(0) as f64 * 100.0 / duration_ns as f64).max(0.1),
                critical: critical.contains(&i),
                self_ns: self_ns[i],
            });
            for c in children[i].iter().rev() {
                stack.push((*c, depth + 1, Some(row)));
            }
        }
        while next_unplaced < spans.len() && placed[next_unplaced] {
            next_unplaced += 1;
        }
        if next_unplaced == spans.len() {
            break;
        }
        pending.push(next_unplaced);
    }

    let mut by_op: HashMap<(&str, &str), SelfTime> = HashMap::new();
    for (i, s) in spans.iter().enumerate() {
        let e = by_op
            .entry((&s.service, &s.operation))
            .or_insert_with(|| SelfTime {
                service: s.service.clone(),
                operation: s.operation.clone(),
                spans: 0,
                total_ns: 0,
                self_ns: 0,
            });
        e.spans += 1;
        e.total_ns += s.duration_ns.max(0);
        e.self_ns += self_ns[i];
    }
    let mut self_times: Vec<SelfTime> = by_op.into_values().collect();
    self_times.sort_by(|a, b| {
        b.self_ns
            .cmp(&a.self_ns)
            .then_with(|| (&a.service, &a.operation).cmp(&(&b.service, &b.operation)))
    });
    Layout {
        rows,
        start_ns,
        duration_ns,
        self_times,
    }
}

/// Each span's parent index, when the parent is in the trace (and is not the span).
fn parent_indexes(spans: &[Span]) -> Vec<Option<usize>> {
    let index: HashMap<&str, usize> = spans
        .iter()
        .enumerate()
        .map(|(i, s)| (s.span_id.as_str(), i))
        .collect();
    spans
        .iter()
        .enumerate()
        .map(|(i, s)| {
            s.parent_span_id
                .as_deref()
                .and_then(|p| index.get(p).copied())
                .filter(|p| *p != i)
        })
        .collect()
}

/// Each span's children, by start time.
fn child_lists(spans: &[Span]) -> Vec<Vec<usize>> {
    let mut children = vec![Vec::new(); spans.len()];
    for (i, p) in parent_indexes(spans).into_iter().enumerate() {
        if let Some(p) = p {
            children[p].push(i);
        }
    }
    for c in &mut children {
        c.sort_by_key(|i| (spans[*i].start_ns, *i));
    }
    children
}

/// A span's duration less the union of its children's time inside it.
fn self_time(spans: &[Span], i: usize, children: &[usize]) -> i64 {
    let (lo, hi) = (spans[i].start_ns, spans[i].end_ns());
    let mut covered = 0;
    let mut reach = lo;
    // Children are sorted by start.
    for c in children {
        let (s, e) = (spans[*c].start_ns.max(reach), spans[*c].end_ns().min(hi));
        if e > s {
            covered += e - s;
            reach = e;
        }
    }
    (hi - lo - covered).max(0)
}

/// The spans the trace waited on: from each root, the child that finished last, then the
/// child that finished last before that one started, and so on, down each chosen child.
fn critical_path(spans: &[Span], children: &[Vec<usize>]) -> HashSet<usize> {
    let parents = parent_indexes(spans);
    let mut on_path = HashSet::new();
    let mut stack: Vec<usize> = (0..spans.len()).filter(|i| parents[*i].is_none()).collect();
    while let Some(i) = stack.pop() {
        if !on_path.insert(i) {
            continue;
        }
        let mut by_end = children[i].clone();
        by_end.sort_by_key(|c| std::cmp::Reverse(spans[*c].end_ns()));
        let mut cutoff = spans[i].end_ns();
        for c in by_end {
            if spans[c].end_ns() <= cutoff {
                stack.push(c);
                cutoff = spans[c].start_ns;
            }
        }
    }
    on_path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(id: &str, parent: Option<&str>, service: &str, start_ms: i64, dur_ms: i64) -> Span {
        Span {
            trace_id: "t".into(),
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            service: service.into(),
            operation: format!("op-{id}"),
            start_ns: start_ms * 1_000_000,
            duration_ns: dur_ms * 1_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn rows_follow_the_tree_and_the_critical_path_takes_the_last_finishing_child() {
        // root 0..100; a 10..40, b 20..90 (overlaps a), c under b 30..80; d an orphan.
        let t = Trace {
            trace_id: "t".into(),
            spans: vec![
                span("root", None, "api", 0, 100),
                span("a", Some("root"), "db", 10, 30),
                span("b", Some("root"), "pay", 20, 70),
                span("c", Some("b"), "db", 30, 50),
                span("d", Some("gone"), "api", 50, 10),
            ],
        };
        let l = layout(&t);
        let order: Vec<(&str, usize)> = l
            .rows
            .iter()
            .map(|r| (t.spans[r.span].span_id.as_str(), r.depth))
            .collect();
        assert_eq!(
            order,
            vec![("root", 0), ("a", 1), ("b", 1), ("c", 2), ("d", 0)]
        );
        assert_eq!(l.rows[3].parent_row, Some(2));
        let critical: Vec<&str> = l
            .rows
            .iter()
            .filter(|r| r.critical)
            .map(|r| t.spans[r.span].span_id.as_str())
            .collect();
        // a ends at 40, after b started (20): not on the path.
        assert_eq!(critical, vec!["root", "b", "c", "d"]);
        // root: 100 − (10..90 covered by a ∪ b) = 20 ms; b: 70 − 50 = 20 ms.
        assert_eq!(l.rows[0].self_ns, 20_000_000);
        assert_eq!(l.rows[2].self_ns, 20_000_000);
        let db = l
            .self_times
            .iter()
            .find(|s| s.service == "db" && s.operation == "op-c");
        assert_eq!(db.map(|s| s.self_ns), Some(50_000_000));
        assert_eq!((l.rows[2].left_pct, l.rows[2].width_pct), (20.0, 70.0));
    }

    #[test]
    fn a_parent_cycle_still_shows_every_span_once() {
        let t = Trace {
            trace_id: "t".into(),
            spans: vec![
                span("x", Some("y"), "s", 0, 10),
                span("y", Some("x"), "s", 1, 5),
            ],
        };
        let l = layout(&t);
        assert_eq!(l.rows.len(), 2);
        assert_eq!(l.rows[1].depth, 1);
    }
}
