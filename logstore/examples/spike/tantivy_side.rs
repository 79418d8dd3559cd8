//! The same lines into tantivy (one indexing thread, like the block store's one writer).

use std::path::Path;
use std::time::Instant;

use logstore::{severity, LogColumn, Value};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, Schema, FAST, INDEXED, STORED, STRING, TEXT};
use tantivy::{doc, Index, Order, TantivyDocument, Term};

use crate::{lines, timed, BATCH, RUNS};

pub fn run(n: usize, dir: &Path, ids: &[String]) {
    let mut sb = Schema::builder();
    let time = sb.add_i64_field("time", INDEXED | FAST | STORED);
    let level = sb.add_text_field("level", STRING | STORED);
    let service = sb.add_text_field("service", STRING | STORED);
    let cid = sb.add_text_field("correlation_id", STRING | STORED);
    let body = sb.add_text_field("body", TEXT | STORED);
    let logger = sb.add_text_field("logger", STRING | STORED);
    let module = sb.add_text_field("module", STRING | STORED);
    let function = sb.add_text_field("function", STRING | STORED);
    let line = sb.add_text_field("line", STRING | STORED);
    let user = sb.add_text_field("user_id", STRING | STORED);
    let exc_type = sb.add_text_field("exception.type", STRING | STORED);
    let exc_msg = sb.add_text_field("exception.message", TEXT | STORED);
    let exc_tb = sb.add_text_field("exception.traceback", STORED);
    let schema = sb.build();
    let index = Index::create_in_dir(dir, schema).expect("create index");
    let mut writer = index
        .writer_with_num_threads::<TantivyDocument>(1, 256_000_000)
        .expect("writer");
    let mut gen = lines::Generator::new(42);
    let started = Instant::now();
    for i in 0..n {
        let r = gen.next_record();
        let sev = r.values[LogColumn::Severity as usize].as_int().unwrap_or(0);
        let s = |c: LogColumn| match &r.values[c as usize] {
            Value::Str(s) => s.clone(),
            _ => String::new(),
        };
        let mut d = doc!(
            time => r.time,
            level => severity::level_name(sev),
            service => s(LogColumn::Service),
            cid => s(LogColumn::CorrelationId),
            body => r.body.clone(),
        );
        for (k, v) in &r.attributes {
            let f = match k.as_str() {
                "logger" => logger,
                "module" => module,
                "function" => function,
                "line" => line,
                "user_id" => user,
                "exception.type" => exc_type,
                "exception.message" => exc_msg,
                _ => exc_tb,
            };
            d.add_text(f, v);
        }
        writer.add_document(d).expect("add");
        if (i + 1) % BATCH == 0 && (i + 1) % 1_000_000 == 0 {
            writer.commit().expect("commit");
        }
    }
    writer.commit().expect("commit");
    writer.wait_merging_threads().expect("merge");
    let secs = started.elapsed().as_secs_f64();
    let bytes = super::dir_size(dir);
    println!(
        "tantivy: {n} lines in {secs:.1} s = {:.0} lines/s (one indexing thread); {bytes} bytes on disk = {:.1} bytes/line",
        n as f64 / secs,
        bytes as f64 / n as f64
    );
    let reader = index.reader().expect("reader");
    let searcher = reader.searcher();
    println!("tantivy: {} segments", searcher.segment_readers().len());
    let error_timeout = BooleanQuery::new(vec![
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(level, "ERROR"),
                IndexRecordOption::Basic,
            )) as Box<dyn Query>,
        ),
        (
            Occur::Must,
            Box::new(TermQuery::new(
                Term::from_field_text(body, "timeout"),
                IndexRecordOption::Basic,
            )),
        ),
    ]);
    let top = TopDocs::with_limit(100).order_by_fast_field::<i64>("time", Order::Desc);
    let fetch = |q: &dyn Query| {
        let hits = searcher.search(q, &top).expect("search");
        for (_, addr) in &hits {
            let _: TantivyDocument = searcher.doc(*addr).expect("doc");
        }
        hits.len()
    };
    let (p50, p99) = timed(|_| {
        fetch(&error_timeout);
    });
    println!("tantivy: level:ERROR AND body:timeout newest 100 (docs fetched): p50 {p50:.2} ms, p99 {p99:.2} ms");
    let count = searcher.search(&error_timeout, &Count).expect("count");
    let (p50, p99) = timed(|_| {
        searcher.search(&error_timeout, &Count).expect("count");
    });
    println!(
        "tantivy: level:ERROR AND body:timeout count ({count}): p50 {p50:.2} ms, p99 {p99:.2} ms"
    );
    let mut hits = 0;
    let (p50, p99) = timed(|i| {
        let q = TermQuery::new(
            Term::from_field_text(cid, &ids[i % ids.len()]),
            IndexRecordOption::Basic,
        );
        hits += fetch(&q);
    });
    println!(
        "tantivy: correlation_id:<id> ({:.1} lines each): p50 {p50:.2} ms, p99 {p99:.2} ms",
        hits as f64 / RUNS as f64
    );
}
