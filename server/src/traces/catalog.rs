//! The services-and-operations table, kept in memory at ingest (every stored batch adds
//! its services, operations and span kinds) and rebuilt from the store's facets at open and
//! after retention dropped blocks. Bounded: at most [`MAX_SERVICES`] services,
//! [`MAX_OPERATIONS`] operations per service and [`MAX_PAIRS`] (service, operation) pairs
//! in all; what is beyond is not listed, and ingest counts the names it refused.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use logstore::query::{FieldTest, Text};
use logstore::{Query, Stop, Store, TimeRange};

use super::records::{SpanFacts, SPAN_REC};

pub const MAX_SERVICES: usize = 10_000;
pub const MAX_OPERATIONS: usize = 10_000;
/// (service, operation) pairs in all, at most: with names of up to 1 KiB (the span
/// limits) that is 50 MiB at worst, some 5 MiB with names of common length.
pub const MAX_PAIRS: usize = 50_000;

/// Services → operations → span kind, with the number of (service, operation) pairs.
#[derive(Debug, Default)]
struct Table {
    services: BTreeMap<String, BTreeMap<String, String>>,
    pairs: usize,
}

/// What adding a name would do to a [`Table`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Room {
    /// The table holds the name with that kind.
    Known,
    /// A new name with room for it, or a new kind.
    Change,
    /// A new name past a cap.
    Full,
}

/// Services → operations → span kind (empty when only the rebuild saw it).
#[derive(Debug, Default)]
pub struct Catalog {
    services: Table,
    /// What ingest added since a rebuild's scan started: joined to the scan's result.
    since_scan: Option<Table>,
    /// New (service, operation) names ingest refused because the table was full, each
    /// counted once per batch it came in.
    pub refused: u64,
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
        if add_to(&mut self.services, service, operation, kind) == Room::Full {
            self.refused += 1;
        }
        if let Some(pending) = &mut self.since_scan {
            add_to(pending, service, operation, kind);
        }
    }

    /// What [`Catalog::add`] of `spans` would change, as owned names (usually nothing):
    /// taken before the spans' strings go to the store, added once they are stored. New
    /// names the table has no room for are counted in [`Catalog::refused`].
    pub fn missing<'a, S: Copy + Into<SpanFacts<'a>>>(&mut self, spans: &[S]) -> Vec<NewName> {
        let mut out: Vec<NewName> = Vec::new();
        let mut at: HashMap<(&str, &str), usize, logstore::FastHasher> = HashMap::default();
        let mut full: HashSet<(&str, &str), logstore::FastHasher> = HashSet::default();
        for &s in spans {
            let s: SpanFacts<'a> = s.into();
            let kind = s.kind.as_str();
            let room = |t: &Table| room(t, s.service, s.name, kind);
            let here = room(&self.services);
            if here != Room::Change
                && !self
                    .since_scan
                    .as_ref()
                    .is_some_and(|t| room(t) == Room::Change)
            {
                // Refused here; a name that goes on to `add_new` is counted there if the
                // table is full by then.
                if here == Room::Full {
                    full.insert((s.service, s.name));
                }
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
        self.refused += full.len() as u64;
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
        self.since_scan = Some(Table::default());
    }

    /// Takes a rebuilt table (services of dropped blocks go), with what ingest added
    /// while it was scanned.
    pub fn replace_with(&mut self, mut found: Catalog) {
        for (service, ops) in self.since_scan.take().unwrap_or_default().services {
            for (operation, kind) in ops {
                add_to(&mut found.services, &service, &operation, &kind);
            }
        }
        self.services = found.services;
    }

    pub fn services(&self) -> Vec<String> {
        self.services.services.keys().cloned().collect()
    }

    /// (service, operation) pairs in the table.
    pub fn pairs(&self) -> usize {
        self.services.pairs
    }

    /// The operations of `service` with their span kinds (empty when unknown).
    pub fn operations(&self, service: &str) -> Vec<(String, String)> {
        self.services
            .services
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

/// What [`add_to`] would do to `table`: change it for a new kind, or for a new service or
/// operation while there is room (at most [`MAX_SERVICES`], each with at most
/// [`MAX_OPERATIONS`], at most [`MAX_PAIRS`] in all); else nothing.
fn room(table: &Table, service: &str, operation: &str, kind: &str) -> Room {
    let fits = |more: bool| {
        if more && table.pairs < MAX_PAIRS {
            Room::Change
        } else {
            Room::Full
        }
    };
    match table.services.get(service) {
        None => fits(table.services.len() < MAX_SERVICES),
        Some(ops) => match ops.get(operation) {
            Some(k) if k != kind => Room::Change,
            Some(_) => Room::Known,
            None => fits(ops.len() < MAX_OPERATIONS),
        },
    }
}

/// Adds the name when [`room`] says it changes the table; gives what [`room`] said.
fn add_to(table: &mut Table, service: &str, operation: &str, kind: &str) -> Room {
    let room = room(table, service, operation, kind);
    if room == Room::Change {
        let ops = table.services.entry(service.to_owned()).or_default();
        if ops.insert(operation.to_owned(), kind.to_owned()).is_none() {
            table.pairs += 1;
        }
    }
    room
}

/// The table as the stored spans give it: services by facet, then each one's operations;
/// [`logstore::Error::Stopped`] once `stop` is due (checked before each block).
pub fn scan(store: &Store, stop: &Stop) -> Result<Catalog, logstore::Error> {
    let all = TimeRange::all();
    let mut table = Catalog::default();
    // Kinds are not facets of operations here: a rebuilt operation's kind stays empty
    // until ingest sees it again.
    for service in store.field_values_until(&spans_only(), all, "service", MAX_SERVICES, stop)? {
        let room = MAX_OPERATIONS.min(MAX_PAIRS - table.services.pairs);
        if room == 0 {
            break;
        }
        let q = Query::And(vec![spans_only(), equals("service", &service.name)]);
        let ops: BTreeMap<String, String> = store
            .field_values_until(&q, all, "operation", room, stop)?
            .into_iter()
            .map(|op| (op.name, String::new()))
            .collect();
        table.services.pairs += ops.len();
        table.services.services.insert(service.name, ops);
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
        let new = table.missing(&[&kind, &op]);
        table.add_new(&new);
        assert_eq!(
            table.operations("svc-1"),
            [("op".to_owned(), "client".to_owned())]
        );
        assert_eq!(table.operations("svc-2").len(), 2);
        assert_eq!(table.refused, 1, "one-too-many, once");
    }

    #[test]
    fn the_table_holds_at_most_max_pairs_names_and_counts_the_names_it_refuses() {
        let mut table = Catalog::default();
        let per = MAX_OPERATIONS;
        let spans: Vec<SpanLine> = (0..MAX_PAIRS / per)
            .flat_map(|s| {
                (0..per).map(move |o| {
                    let id = format!("{:016x}", s * per + o + 1);
                    span(
                        &id,
                        &format!("svc-{s}"),
                        &format!("op-{o}"),
                        SpanKind::Server,
                    )
                })
            })
            .collect();
        let all: Vec<&SpanLine> = spans.iter().collect();
        let new = table.missing(&all);
        table.add_new(&new);
        assert_eq!((table.pairs(), table.refused), (MAX_PAIRS, 0));
        assert!(table.services().len() < MAX_SERVICES);
        // A new service has room among services but not among pairs: refused, counted
        // once per batch however many spans name it.
        let extra = span("00000000000000ff", "extra", "op", SpanKind::Server);
        assert!(table.missing(&[&extra, &extra]).is_empty());
        assert_eq!(table.refused, 1);
        table.add(&[&extra]);
        assert_eq!((table.pairs(), table.refused), (MAX_PAIRS, 2));
        assert!(table.operations("extra").is_empty());
        // A known name's new kind is still taken.
        let kind = span("00000000000000fe", "svc-0", "op-0", SpanKind::Client);
        let new = table.missing(&[&kind]);
        table.add_new(&new);
        assert_eq!(table.operations("svc-0")[0].1, "client");
        assert_eq!(table.refused, 2);
    }
}
