//! docs/LOG_QUERY.md, the user's page on the log query language, checked against the
//! parser and the store: every example in a ```` ```query ```` block parses and runs (in the
//! head and in a block), every ```` ```query-error ```` line fails to parse with exactly the
//! message the page shows, every ```` ```query-refused ```` line parses but is refused when
//! run; and a few examples find the lines the page says they find.

use std::path::PathBuf;

use logstore::{parse, severity, LogColumn, Options, Record, Schema, Store, TimeRange};

const ID: &str = "9f1c2e7a-55d0-4c1f-9a4e-0f6f1b2c3d4e";
const TRACE: &str = "5b8efff798038103d269b633813fc60c";

fn doc() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../docs/LOG_QUERY.md");
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The lines of every fenced block whose info string is `kind`.
fn blocks(doc: &str, kind: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in doc.lines() {
        match line.strip_prefix("```") {
            Some(info) if !inside => inside = info.trim() == kind,
            Some(_) => inside = false,
            None if inside && !line.trim().is_empty() => out.push(line.to_owned()),
            None => {}
        }
    }
    out
}

fn records() -> Vec<Record> {
    let t = 1_764_583_200_000_000_000;
    vec![
        Record::log(t, severity::INFO, "api", "Request completed in 12 ms")
            .with(LogColumn::CorrelationId, ID)
            .attr("logger", "keiko.request")
            .attr("line", "42")
            .attr("duration_ms", "12"),
        Record::log(
            t + 1,
            severity::WARNING,
            "billing-worker",
            "Slow call to payment-service",
        )
        .with(LogColumn::CorrelationId, ID)
        .with(LogColumn::TraceId, TRACE)
        .attr("duration_ms", "900"),
        Record::log(
            t + 2,
            severity::ERROR,
            "api",
            "Timeout calling payment-service: connection refused",
        )
        .attr("exception.type", "TimeoutError")
        .attr("exception.message", "read timed out")
        .attr("line", "120"),
        Record::log(
            t + 3,
            severity::CRITICAL,
            "keiko-portal",
            "Database unavailable",
        ),
    ]
}

/// A store holding [`records`] in its head, or (`flushed`) in a block.
fn store(flushed: bool) -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Schema::logs(), Options::default()).unwrap();
    store.append(&records()).unwrap();
    if flushed {
        assert!(store.flush().unwrap());
    }
    (dir, store)
}

fn count(store: &Store, query: &str) -> Result<usize, logstore::Error> {
    let q = parse(query).unwrap_or_else(|e| panic!("{query:?} does not parse: {e}"));
    Ok(store.search(&q, TimeRange::all(), 100, None)?.hits.len())
}

#[test]
fn every_example_on_the_page_parses_and_runs() {
    let doc = doc();
    let examples = blocks(&doc, "query");
    assert!(
        examples.len() >= 50,
        "only {} examples found",
        examples.len()
    );
    for flushed in [false, true] {
        let (_dir, store) = store(flushed);
        for q in &examples {
            if let Err(e) = count(&store, q) {
                panic!("{q:?} parses but fails to run: {e}");
            }
        }
    }
}

#[test]
fn every_error_on_the_page_is_the_parsers_message() {
    let doc = doc();
    let errors = blocks(&doc, "query-error");
    assert!(
        errors.len() >= 5,
        "only {} error examples found",
        errors.len()
    );
    for line in errors {
        let (query, message) = line
            .split_once("  =>  ")
            .unwrap_or_else(|| panic!("{line:?} has no `  =>  ` before its message"));
        match parse(query) {
            Ok(q) => panic!("{query:?} parses (as {q:?}); the page says it does not"),
            Err(e) => assert_eq!(e.to_string(), message, "{query:?}"),
        }
    }
    let (_dir, store) = store(false);
    let refused = blocks(&doc, "query-refused");
    assert!(refused.len() >= 3, "{refused:?}");
    for q in refused {
        match count(&store, &q) {
            Err(logstore::Error::InvalidQuery(_)) => {}
            other => panic!("{q:?}: expected a refusal when run, got {other:?}"),
        }
    }
}

#[test]
fn examples_find_what_the_page_says() {
    let doc = doc();
    let examples = blocks(&doc, "query");
    let (_dir, store) = store(true);
    for (query, expected) in [
        ("timeout", 1),
        ("Timeout", 1),
        ("\"connection refused\"", 1),
        ("payment-service", 2),
        ("time*", 1),
        ("*service", 2),
        ("service:api", 2),
        ("service:pay*", 0),
        (&format!("correlation_id:{ID}"), 2),
        (&format!("correlation_id:{ID} AND level:>=WARNING"), 1),
        (&format!("trace_id:{TRACE}"), 1),
        ("exception.message:\"timed out\"", 1),
        ("user_id:*", 0),
        ("NOT exception.type:*", 3),
        ("line:>=100", 1),
        ("duration_ms:>250", 1),
        ("level:ERROR", 1),
        ("level:error", 1),
        ("level:>=WARNING", 3),
        ("level:>=WARN", 3),
        ("level:<INFO", 0),
        ("level:FATAL", 1),
        ("level:(ERROR OR CRITICAL)", 2),
        ("level:ERROR AND \"timeout\"", 1),
        ("service:(api OR billing)", 2),
        ("NOT service:keiko-portal", 3),
        ("(service:api OR service:billing) AND level:>=ERROR", 1),
        ("a OR b c", 0),
        ("*", 4),
    ] {
        assert!(
            examples.iter().any(|e| e == query),
            "{query:?} is not an example on the page"
        );
        assert_eq!(count(&store, query).unwrap(), expected, "{query:?}");
    }
}
