//! The service map with RED on nodes and edges. Edges (calls, errors, p95) come from the
//! source's service map. A node's requests are the spans that enter the service (no
//! parent, or a parent in another service), read from the range's newest traces of each
//! service — at most `TRACES_PER_SERVICE` per service and `MAX_TRACES` in all; past that
//! the map says it is truncated.

use std::collections::{BTreeMap, HashMap, HashSet};

use app::traces::model::{ServiceEdge, ServiceMapView, ServiceNode};

use crate::error::Error;
use crate::sources::traces::{TraceQuery, TraceSource};

const MAX_SERVICES: usize = 50;
const TRACES_PER_SERVICE: usize = 50;
const MAX_TRACES: usize = 500;

/// The 95th percentile (nearest rank) of `values`, 0 for none.
fn p95(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    let rank = ((values.len() as f64) * 0.95).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

pub async fn service_map(
    src: &dyn TraceSource,
    from: &str,
    to: &str,
    now: f64,
) -> Result<ServiceMapView, Error> {
    let (start, end) = super::range(from, to, now)?;
    let (map, services) =
        futures::future::join(src.service_map(start, end), src.services(start, end)).await;
    let (map, services) = (map?, services?);
    let mut truncated = map.truncated || services.len() > MAX_SERVICES;

    let (lo, hi) = ((start * 1e9) as i64, (end * 1e9) as i64);
    let mut seen: HashSet<String> = HashSet::new();
    let mut entries: BTreeMap<String, (u64, u64, Vec<f64>)> = BTreeMap::new();
    for service in services.iter().take(MAX_SERVICES) {
        entries.entry(service.clone()).or_default();
        let q = TraceQuery {
            service: Some(service.clone()),
            start,
            end,
            limit: TRACES_PER_SERVICE,
            ..TraceQuery::default()
        };
        let found = src.search(&q).await?;
        truncated |= found.len() >= TRACES_PER_SERVICE;
        for s in found {
            if seen.len() >= MAX_TRACES {
                truncated = true;
                break;
            }
            if !seen.insert(s.trace_id.clone()) {
                continue;
            }
            let Some(t) = src.get(&s.trace_id).await? else {
                continue;
            };
            let service_of: HashMap<&str, &str> = t
                .spans
                .iter()
                .map(|sp| (sp.span_id.as_str(), sp.service.as_str()))
                .collect();
            for sp in &t.spans {
                if sp.start_ns < lo || sp.start_ns >= hi {
                    continue;
                }
                let parent_service = sp
                    .parent_span_id
                    .as_deref()
                    .and_then(|p| service_of.get(p).copied());
                if parent_service == Some(sp.service.as_str()) {
                    continue;
                }
                let e = entries.entry(sp.service.clone()).or_default();
                e.0 += 1;
                e.1 += u64::from(sp.error);
                e.2.push(sp.duration_ns as f64 / 1e6);
            }
        }
    }
    // Services with no requests in the range stay off the map unless a call names them.
    let in_edges: HashSet<String> = map
        .edges
        .iter()
        .flat_map(|e| [e.parent.clone(), e.child.clone()])
        .collect();
    Ok(ServiceMapView {
        start,
        end,
        nodes: entries
            .into_iter()
            .filter(|(s, e)| e.0 > 0 || in_edges.contains(s.as_str()))
            .map(|(service, (requests, errors, mut durations))| ServiceNode {
                service,
                requests,
                errors,
                p95_ms: p95(&mut durations),
            })
            .collect(),
        edges: map
            .edges
            .into_iter()
            .map(|e| ServiceEdge {
                parent: e.parent,
                child: e.child,
                calls: e.calls,
                errors: e.errors,
                p95_ms: e.p95_ms,
            })
            .collect(),
        truncated,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn p95_is_the_nearest_rank() {
        let mut v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(super::p95(&mut v), 95.0);
        assert_eq!(super::p95(&mut []), 0.0);
        assert_eq!(super::p95(&mut [7.0]), 7.0);
    }
}
