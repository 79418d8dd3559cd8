//! The service map with RED on nodes and edges, as the source answers it: for the embedded
//! store, sums of the per-minute counts kept at ingest (no span is read). A node's requests
//! are those entering the service (server and consumer spans, and roots); an edge's are the
//! calls of one service into another. Services that only appear on an edge are nodes too.

use std::collections::BTreeMap;

use app::traces::model::{ServiceEdge, ServiceMapView, ServiceNode};

use crate::error::Error;
use crate::sources::traces::TraceSource;

pub async fn service_map(
    src: &dyn TraceSource,
    from: &str,
    to: &str,
    now: f64,
) -> Result<ServiceMapView, Error> {
    let (start, end) = super::range(from, to, now)?;
    let map = src.service_map(start, end).await?;
    let mut nodes: BTreeMap<String, ServiceNode> = map
        .nodes
        .into_iter()
        .map(|n| {
            let node = ServiceNode {
                service: n.service.clone(),
                requests: n.requests,
                errors: n.errors,
                p95_ms: n.p95_ms,
            };
            (n.service, node)
        })
        .collect();
    for e in &map.edges {
        for s in [&e.parent, &e.child] {
            nodes.entry(s.clone()).or_insert_with(|| ServiceNode {
                service: s.clone(),
                requests: 0,
                errors: 0,
                p95_ms: 0.0,
            });
        }
    }
    Ok(ServiceMapView {
        start,
        end,
        nodes: nodes.into_values().collect(),
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
        truncated: map.truncated,
    })
}
