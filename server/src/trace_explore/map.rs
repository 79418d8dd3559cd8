//! The service map with RED on nodes and edges, as the source answers it: for the embedded
//! store, sums of the per-minute counts kept at ingest (no span is read). A node's requests
//! are those entering the service (server and consumer spans, and roots); an edge's are the
//! calls of one service into another. Services that only appear on an edge are nodes too.

use std::collections::BTreeMap;

use app::traces::model::{ServiceEdge, ServiceMapView, ServiceNode};
use serde::Serialize;

use crate::error::Error;
use crate::sources::traces::TraceSource;

/// A service on the map: the requests entering it, and the calls other services make into
/// it (summed over its incoming edges).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MapNode {
    pub service: String,
    pub requests: u64,
    pub errors: u64,
    pub p95_ms: f64,
    pub incoming_calls: u64,
    pub incoming_errors: u64,
}

/// The map of `[start, end]` with every service once, whether it entered requests or only
/// appears on an edge; nodes by name.
pub struct Merged {
    pub nodes: Vec<MapNode>,
    pub edges: Vec<crate::sources::traces::ServiceEdge>,
    pub truncated: bool,
}

/// The source's map with its nodes and edges merged: the one place that does it, for the
/// pages and for `GET /api/v1/services/map`.
pub async fn merged(src: &dyn TraceSource, start: f64, end: f64) -> Result<Merged, Error> {
    let map = src.service_map(start, end).await?;
    let blank = |s: &str| MapNode {
        service: s.to_owned(),
        requests: 0,
        errors: 0,
        p95_ms: 0.0,
        incoming_calls: 0,
        incoming_errors: 0,
    };
    let mut nodes: BTreeMap<String, MapNode> = BTreeMap::new();
    for n in map.nodes {
        let node = MapNode {
            requests: n.requests,
            errors: n.errors,
            p95_ms: n.p95_ms,
            ..blank(&n.service)
        };
        nodes.insert(n.service, node);
    }
    for e in &map.edges {
        nodes
            .entry(e.parent.clone())
            .or_insert_with(|| blank(&e.parent));
        let child = nodes
            .entry(e.child.clone())
            .or_insert_with(|| blank(&e.child));
        child.incoming_calls += e.calls;
        child.incoming_errors += e.errors;
    }
    Ok(Merged {
        nodes: nodes.into_values().collect(),
        edges: map.edges,
        truncated: map.truncated,
    })
}

pub async fn service_map(
    src: &dyn TraceSource,
    from: &str,
    to: &str,
    now: f64,
) -> Result<ServiceMapView, Error> {
    let (start, end) = super::range(from, to, now)?;
    let map = merged(src, start, end).await?;
    Ok(ServiceMapView {
        start,
        end,
        nodes: map
            .nodes
            .into_iter()
            .map(|n| ServiceNode {
                service: n.service,
                requests: n.requests,
                errors: n.errors,
                p95_ms: n.p95_ms,
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
        truncated: map.truncated,
    })
}
