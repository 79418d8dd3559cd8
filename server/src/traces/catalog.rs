//! The services-and-operations table, kept in memory at ingest (every stored batch adds
//! its services, operations and span kinds) and rebuilt from the store's facets at open and
//! after retention dropped blocks. Bounded: at most [`MAX_SERVICES`] services and
//! [`MAX_OPERATIONS`] operations per service; what is beyond is not listed.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

use logstore::query::{FieldTest, Text};
use logstore::{Query, Stop, Store, TimeRange};

use super::records::{SpanFacts, SPAN_REC};

pub const MAX_SERVICES: usize = 10_000;
pub const MAX_OPERATIONS: usize = 10_000;

type Table = BTreeMap<String, BTreeMap<String, String>>;

/// Services → operations → span kind (empty when only the rebuild saw it).
#[derive(Debug, Default)]
pub struct Catalog {
    services: Table,
    /// What ingest added since a rebuild's scan started: joined to the scan's result.
    since_scan: Option<Table>,
}

pub fn lock(m: &Mutex<Catalog>) -> MutexGuard<'_, Catalog> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// `field` equal to `value` (a whole-value match on keyword columns).
pub fn equals(field: &str, value: &str) -> Query {
    Query::Field {
        field: field.to_owned(),
        test: FieldTest::Equals(Text::Phrase(value.to_owned())),
    }
}

/// Span records only (not partial trace summaries).
pub fn spans_only() -> Query {
    equals("rec", SPAN_REC)
}

impl Catalog {
    /// Adds the services and operations of stored spans.
    pub fn add<'a, S: Copy + Into<SpanFacts<'a>>>(&mut self, spans: &[S]) {
        for &s in spans {
            let s: SpanFacts<'a> = s.into();
            self.add_one(s.service, s.name, s.kind.as_str());
        }
    }

    fn add_one(&mut self, service: &str, operation: &str, kind: &str) {
        add_to(&mut self.services, service, operation, kind);
        if let Some(pending) = &mut self.since_scan {
            add_to(pending, service, operation, kind);
        }
    }

    /// What [`Catalog::add`] of `spans` would change, as owned names (usually nothing):
    /// taken before the spans' strings go to the store, added once they are stored.
    pub fn missing<'a, S: Copy + Into<SpanFacts<'a>>>(&self, spans: &[S]) -> Vec<NewName> {
        let mut out: Vec<NewName> = Vec::new();
        let mut at: HashMap<(&str, &str), usize, logstore::FastHasher> = HashMap::default();
        for &s in spans {
            let s: SpanFacts<'a> = s.into();
            let kind = s.kind.as_str();
            let changes = |t: &Table| changes(t, s.service, s.name, kind);
            if !changes(&self.services) && !self.since_scan.as_ref().is_some_and(changes) {
                continue;
            }
            match at.get(&(s.service, s.name)) {
                Some(&i) => out[i].kind = kind,
                None => {
                    at.insert((s.service, s.name), out.len());
                    out.push(NewName {
                        service: s.service.to_owned(),
                        operation: s.name.to_owned(),
                        kind,
                    });
                }
            }
        }
        out
    }

    /// Adds what [`Catalog::missing`] found.
    pub fn add_new(&mut self, names: &[NewName]) {
        for n in names {
            self.add_one(&n.service, &n.operation, n.kind);
        }
    }

    /// A rebuild's scan starts: remember what ingest adds from now on.
    pub fn scan_started(&mut self) {
        self.since_scan = Some(Table::new());
    }

    /// Takes a rebuilt table (services of dropped blocks go), with what ingest added
    /// while it was scanned.
    pub fn replace_with(&mut self, mut found: Catalog) {
        for (service, ops) in self.since_scan.take().unwrap_or_default() {
            found.services.entry(service).or_default().extend(ops);
        }
        self.services = found.services;
    }

    pub fn services(&self) -> Vec<String> {
        self.services.keys().cloned().collect()
    }

    /// The operations of `service` with their span kinds (empty when unknown).
    pub fn operations(&self, service: &str) -> Vec<(String, String)> {
        self.services
            .get(service)
            .map(|ops| ops.iter().map(|(n, k)| (n.clone(), k.clone())).collect())
            .unwrap_or_default()
    }
}

/// A service's operation with its span kind, new to the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewName {
    service: String,
    operation: String,
    kind: &'static str,
}

/// Whether [`add_to`] would change `table`: a new service or operation while there is room
/// (at most [`MAX_SERVICES`], each with at most [`MAX_OPERATIONS`]), or a new kind.
fn changes(table: &Table, service: &str, operation: &str, kind: &str) -> bool {
    match table.get(service) {
        None => table.len() < MAX_SERVICES,
        Some(ops) => match ops.get(operation) {
            Some(k) => k != kind,
            None => ops.len() < MAX_OPERATIONS,
        },
    }
}

fn add_to(table: &mut Table, service: &str, operation: &str, kind: &str) {
    if changes(table, service, operation, kind) {
        table
            .entry(service.to_owned())
            .or_default()
            .insert(operation.to_owned(), kind.to_owned());
    }
}

/// The table as the stored spans give it: services by facet, then each one's operations;
/// [`logstore::Error::Stopped`] once `stop` is due (checked before each block).
pub fn scan(store: &Store, stop: &Stop) -> Result<Catalog, logstore::Error> {
    let all = TimeRange::all();
    let mut table = Catalog::default();
    // Kinds are not facets of operations here: a rebuilt operation's kind stays empty
    // until ingest sees it again.
    for service in store.field_values_until(&spans_only(), all, "service", MAX_SERVICES, stop)? {
        let q = Query::And(vec![spans_only(), equals("service", &service.name)]);
        let ops = store
            .field_values_until(&q, all, "operation", MAX_OPERATIONS, stop)?
            .into_iter()
            .map(|op| (op.name, String::new()))
            .collect();
        table.services.insert(service.name, ops);
    }
    Ok(table)
}

#[cfg(test)]
mod tests {
    use ingest::spans::{SpanKind, SpanLine};

    use super::*;
    use crate::traces::{Settings, TraceStore};

    fn span(id: &str, service: &str, name: &str, kind: SpanKind) -> SpanLine {
        SpanLine {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            span_id: id.into(),
            name: name.into(),
            kind,
            start_ns: 1_700_000_000_000_000_000,
            end_ns: 1_700_000_000_100_000_000,
            service: service.into(),
            ..Default::default()
        }
    }

    #[test]
    fn services_and_operations_are_kept_at_ingest_and_rebuilt_from_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let spans = [
            span(
                "00000000000000a1",
                "keiko-agent",
                "agent_task_execution",
                SpanKind::Server,
            ),
            span(
                "00000000000000a2",
                "keiko-agent",
                "mcp.call",
                SpanKind::Client,
            ),
            span(
                "00000000000000a3",
                "mcp-github",
                "tools/call search",
                SpanKind::Server,
            ),
        ];
        store.append_blocking(&spans).unwrap();
        let mut table = Catalog::default();
        table.add(&spans.iter().collect::<Vec<_>>());
        assert_eq!(table.services(), ["keiko-agent", "mcp-github"]);
        assert_eq!(
            table.operations("keiko-agent"),
            [
                ("agent_task_execution".to_owned(), "server".to_owned()),
                ("mcp.call".to_owned(), "client".to_owned())
            ]
        );
        // A rebuild finds the same names (kinds come back as ingest sees them again), and
        // keeps what ingest added while it scanned.
        table.scan_started();
        let late = span(
            "00000000000000a4",
            "mcp-slack",
            "tools/call post",
            SpanKind::Server,
        );
        table.add(&[&late]);
        table.replace_with(scan(store.engine(), &Stop::never()).unwrap());
        assert_eq!(table.services(), ["keiko-agent", "mcp-github", "mcp-slack"]);
        assert_eq!(table.operations("mcp-github")[0].0, "tools/call search");
    }

    #[test]
    fn dropping_the_store_cancels_its_running_services_scan_at_the_next_block() {
        use crate::traces::ScanEnd;

        let dir = tempfile::tempdir().unwrap();
        {
            let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
            // 40 blocks of 50 services: the rebuild's scan reads every block once per
            // service.
            for b in 0..40 {
                let spans: Vec<SpanLine> = (0..50)
                    .map(|i| {
                        let id = format!("{:016x}", b * 50 + i + 1);
                        span(&id, &format!("svc-{i}"), "op", SpanKind::Server)
                    })
                    .collect();
                store.append_blocking(&spans).unwrap();
                store.engine().flush().unwrap();
            }
        }
        // Opening starts the rebuild; what dropping does stops it mid-scan.
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        assert_eq!(store.stop_scans(), [ScanEnd::Cancelled]);
        drop(store);
        // The directory lock is free, and an uninterrupted rebuild finds every service.
        let store = TraceStore::open(dir.path(), Settings::default()).unwrap();
        let found = scan(store.engine(), &Stop::never()).unwrap();
        assert_eq!(found.services().len(), 50);
    }

    #[test]
    fn a_full_table_reports_nothing_missing_for_names_it_would_not_take() {
        let mut table = Catalog::default();
        let fill: Vec<SpanLine> = (0..MAX_SERVICES)
            .map(|i| {
                span(
                    &format!("{:016x}", i + 1),
                    &format!("svc-{i}"),
                    "op",
                    SpanKind::Server,
                )
            })
            .collect();
        table.add(&fill.iter().collect::<Vec<_>>());
        assert_eq!(table.services().len(), MAX_SERVICES);
        // A new service has no room: nothing to add, as add() would not add it.
        let new = span("00000000000000ff", "one-too-many", "op", SpanKind::Server);
        assert!(table.missing(&[&new]).is_empty());
        // A known operation's new kind and a new operation of a known service still count.
        let kind = span("00000000000000fe", "svc-1", "op", SpanKind::Client);
        let op = span("00000000000000fd", "svc-2", "other", SpanKind::Server);
        assert_eq!(table.missing(&[&kind, &op]).len(), 2);
        table.add_new(&table.missing(&[&kind, &op]));
        assert_eq!(
            table.operations("svc-1"),
            [("op".to_owned(), "client".to_owned())]
        );
        assert_eq!(table.operations("svc-2").len(), 2);
    }
}
