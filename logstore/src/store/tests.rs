use super::*;
use crate::cache::SectionKey;
use crate::severity::{CRITICAL, DEBUG, ERROR, INFO, WARNING};
use crate::{parse, LogColumn, Query, Value};

pub(super) const S: i64 = 1_000_000_000;

pub(super) fn options() -> Options {
    Options {
        max_block_rows: 100,
        retention_ns: None,
        ..Options::default()
    }
}

/// 250 records, one a second: levels cycle, every 10th is a timeout in `payments`.
fn records() -> Vec<Record> {
    let levels = [DEBUG, INFO, INFO, WARNING, ERROR];
    (0..250)
        .map(|i| {
            let (service, body) = if i % 10 == 0 {
                ("payments", format!("Timeout calling bank after {i} ms"))
            } else {
                ("api", format!("Request {i} completed"))
            };
            let mut r = Record::log(i * S, levels[i as usize % 5], service, &body)
                .with(LogColumn::CorrelationId, &format!("req-{}", i / 5))
                .attr("logger", "keiko.request")
                .attr("line", &(i % 50).to_string());
            if i % 25 == 0 {
                r = r.attr("exception.type", "TimeoutError");
            }
            r
        })
        .collect()
}

fn times(page: &Page) -> Vec<i64> {
    page.hits.iter().map(|h| h.record.time / S).collect()
}

/// The same store three ways: all in the head, all in blocks, and split.
fn stores(dir: &std::path::Path) -> Vec<Store> {
    let all = records();
    let mut out = Vec::new();
    for (k, cut_at) in [None, Some(250), Some(130)].into_iter().enumerate() {
        let store = Store::open(dir.join(k.to_string()), Schema::logs(), options()).unwrap();
        match cut_at {
            None => {
                store.append(&all).unwrap();
            }
            Some(n) => {
                for chunk in all[..n].chunks(100) {
                    store.append(chunk).unwrap();
                    store.flush().unwrap();
                }
                store.append(&all[n..]).unwrap();
            }
        }
        out.push(store);
    }
    out
}

#[test]
fn queries_answer_the_same_from_head_and_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    for store in stores(tmp.path()) {
        let q = |s: &str| store.count(&parse(s).unwrap(), TimeRange::all()).unwrap();
        assert_eq!(q(""), 250);
        assert_eq!(q("timeout"), 25);
        assert_eq!(q("TIMEOUT AND level:ERROR"), 0);
        assert_eq!(q("level:ERROR"), 50);
        assert_eq!(q("level:>=WARNING"), 100);
        assert_eq!(q("level:<INFO"), 50);
        assert_eq!(q("service:payments"), 25);
        assert_eq!(q("service:pay*"), 25);
        assert_eq!(q("service:Payments"), 0);
        assert_eq!(q("\"calling bank\""), 25);
        assert_eq!(q("\"bank calling\""), 0);
        assert_eq!(q("time*"), 25);
        assert_eq!(q("correlation_id:req-7"), 5);
        assert_eq!(q("correlation_id:req-7 OR correlation_id:req-8"), 10);
        assert_eq!(q("exception.type:*"), 10);
        assert_eq!(q("exception.type:timeouterror"), 10);
        assert_eq!(q("line:>=45"), 25);
        assert_eq!(q("NOT service:api"), 25);
        assert_eq!(q("level:(DEBUG OR WARN)"), 100);
        assert_eq!(q("request AND NOT completed"), 0);
        assert_eq!(q("nosuchword"), 0);
        assert_eq!(q("message:\"request 42 completed\""), 1);
        let range = TimeRange {
            from: 10 * S,
            to: 20 * S,
        };
        assert_eq!(store.count(&parse("").unwrap(), range).unwrap(), 10);
        let e = store.count(&parse("level:LOUD").unwrap(), TimeRange::all());
        assert!(matches!(e, Err(Error::InvalidQuery(m)) if m.contains("not a severity")));
    }
}

#[test]
fn column_tests_refine_index_matches_in_any_order() {
    // Every 10th record is a timeout; levels cycle DEBUG, INFO, INFO, WARNING, ERROR, so
    // the timeouts (i % 10 == 0) are all DEBUG, and line = i % 50.
    let tmp = tempfile::tempdir().unwrap();
    for store in stores(tmp.path()) {
        let q = |s: &str| store.count(&parse(s).unwrap(), TimeRange::all()).unwrap();
        assert_eq!(q("level:DEBUG AND timeout"), 25);
        assert_eq!(q("timeout AND level:DEBUG"), 25);
        assert_eq!(q("line:>=40 AND timeout AND level:<=DEBUG"), 5);
        assert_eq!(q("service:payments AND line:<10 AND NOT level:ERROR"), 5);
        assert_eq!(q("level:>=WARNING AND service:api AND line:>=45"), 10);
        // A column test's error is not hidden by an index part that matched nothing.
        let e = store.count(
            &parse("nosuchword AND level:LOUD").unwrap(),
            TimeRange::all(),
        );
        assert!(matches!(e, Err(Error::InvalidQuery(m)) if m.contains("not a severity")));
    }
}

#[test]
fn search_pages_newest_first_with_a_cursor() {
    let tmp = tempfile::tempdir().unwrap();
    for store in stores(tmp.path()) {
        let q = parse("timeout").unwrap();
        let first = store.search(&q, TimeRange::all(), 10, None).unwrap();
        assert_eq!(
            times(&first),
            (15..25).rev().map(|i| i * 10).collect::<Vec<_>>()
        );
        let cursor = Cursor::parse(&first.next.unwrap().encode()).unwrap();
        let second = store
            .search(&q, TimeRange::all(), 10, Some(cursor))
            .unwrap();
        assert_eq!(
            times(&second),
            (5..15).rev().map(|i| i * 10).collect::<Vec<_>>()
        );
        let third = store.search(&q, TimeRange::all(), 10, second.next).unwrap();
        assert_eq!(times(&third), vec![40, 30, 20, 10, 0]);
        assert_eq!(third.next, None);
        let hit = &first.hits[0];
        assert_eq!(hit.record, records()[240]);
    }
}

#[test]
fn blocks_are_skipped_by_time_and_bloom_filter() {
    let tmp = tempfile::tempdir().unwrap();
    let store = &stores(tmp.path())[1];
    assert_eq!(store.stats().blocks.len(), 3);
    let page = store
        .search(
            &parse("correlation_id:req-3").unwrap(),
            TimeRange::all(),
            10,
            None,
        )
        .unwrap();
    assert_eq!(page.hits.len(), 5);
    assert_eq!(page.segments_read, 1);
    let range = TimeRange {
        from: 0,
        to: 50 * S,
    };
    let page = store
        .search(&parse("").unwrap(), range, 1000, None)
        .unwrap();
    assert_eq!((page.hits.len(), page.segments_read), (50, 1));
}

#[test]
fn a_due_stop_ends_a_read_before_its_next_segment() {
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;

    let tmp = tempfile::tempdir().unwrap();
    let store = &stores(tmp.path())[1];
    let q = parse("timeout").unwrap();
    let flag = Arc::new(AtomicBool::new(false));
    let stop = crate::Stop::on(flag.clone());
    let whole = store
        .search_until(&q, TimeRange::all(), 100, None, &stop)
        .unwrap();
    assert!(!whole.stopped);
    assert_eq!(whole.hits.len(), 25);
    let values =
        |stop: &crate::Stop| store.field_values_until(&q, TimeRange::all(), "service", 10, stop);
    assert_eq!(values(&stop).unwrap()[0].count, 25);
    flag.store(true, Ordering::Relaxed);
    let cut = store
        .search_until(&q, TimeRange::all(), 100, None, &stop)
        .unwrap();
    assert!(cut.stopped);
    assert_eq!((cut.hits.len(), cut.segments_read, cut.next), (0, 0, None));
    assert!(matches!(values(&stop), Err(Error::Stopped)));
}

#[test]
fn a_newest_page_works_out_the_bounds_of_the_blocks_it_reaches_only() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    for b in 0..10i64 {
        let batch: Vec<Record> = (0..100)
            .map(|i| Record::log((b * 100 + i) * S, INFO, "api", &format!("Request {i}")))
            .collect();
        store.append(&batch).unwrap();
        store.flush().unwrap();
    }
    assert_eq!(store.stats().blocks.len(), 10);
    for q in ["", "service:api AND level:INFO"] {
        let page = store
            .search(&parse(q).unwrap(), TimeRange::all(), 100, None)
            .unwrap();
        assert_eq!(times(&page), (900..1000).rev().collect::<Vec<_>>(), "{q}");
        // The newest block fills the page; the nine older ones are passed over by their
        // time range, their bloom filters and summaries never consulted.
        assert_eq!(
            (
                page.segments_read,
                page.segments_bounded,
                page.segments_skipped
            ),
            (1, 1, 9),
            "{q}"
        );
        // The next page reaches one block further.
        let next = store
            .search(&parse(q).unwrap(), TimeRange::all(), 100, page.next)
            .unwrap();
        assert_eq!(times(&next), (800..900).rev().collect::<Vec<_>>(), "{q}");
        assert_eq!(next.segments_bounded, 2, "{q}");
    }
    // A count reads every block.
    let all = store.count(&parse("level:INFO").unwrap(), TimeRange::all());
    assert_eq!(all.unwrap(), 1000);
}

#[test]
fn value_summaries_skip_blocks_whose_matches_are_older_than_the_page() {
    // Three blocks of old `payments` lines, each also holding one young line of another
    // service (as the portal's own spans land in every block of an ingest of old spans).
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    for b in 0..3i64 {
        let mut batch: Vec<Record> = (0..99)
            .map(|i| Record::log((b * 100 + i) * S, INFO, "payments", "paid"))
            .collect();
        batch.push(Record::log(
            (10_000 + b) * S,
            INFO,
            "portal",
            "POST /v1/traces",
        ));
        store.append(&batch).unwrap();
        store.flush().unwrap();
    }
    let q = parse("service:payments").unwrap();
    let page = store.search(&q, TimeRange::all(), 5, None).unwrap();
    assert_eq!(times(&page), vec![298, 297, 296, 295, 294]);
    assert_eq!((page.segments_read, page.segments_skipped), (1, 2));
    // The next pages read on from the same block, then the older ones.
    let page = store.search(&q, TimeRange::all(), 100, page.next).unwrap();
    assert_eq!(page.hits.len(), 100);
    assert_eq!(page.hits[99].record.time, 193 * S);
    // A value no block's dictionary holds: no block is read.
    for q in [
        "service:billing",
        "service:bill* AND NOT body:x",
        "logger:x",
    ] {
        let page = store
            .search(&parse(q).unwrap(), TimeRange::all(), 5, None)
            .unwrap();
        assert_eq!((page.segments_read, page.segments_skipped), (0, 3), "{q}");
    }
    let young = store.search(&parse("service:portal").unwrap(), TimeRange::all(), 5, None);
    assert_eq!(young.unwrap().hits.len(), 3);
}

#[test]
fn int_bounds_skip_blocks_without_a_value_in_range() {
    let schema = Schema::new(vec![crate::Column::new("d", crate::ColumnKind::Int, &[])]).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), schema.clone(), options()).unwrap();
    for b in 0..2i64 {
        let batch: Vec<Record> = (0..50)
            .map(|i| Record {
                time: (b * 50 + i) * S,
                values: vec![Value::Int(b * 1000 + i)],
                ..Record::default()
            })
            .collect();
        store.append(&batch).unwrap();
        store.flush().unwrap();
    }
    let page = store
        .search(&parse("d:>=1040").unwrap(), TimeRange::all(), 100, None)
        .unwrap();
    assert_eq!((page.hits.len(), page.segments_read), (10, 1));
    let none = store
        .search(&parse("d:>5000").unwrap(), TimeRange::all(), 100, None)
        .unwrap();
    assert_eq!(
        (none.hits.len(), none.segments_read, none.segments_skipped),
        (0, 0, 2)
    );
}

#[test]
fn histogram_counts_by_level_and_facets_count_values() {
    let tmp = tempfile::tempdir().unwrap();
    for store in stores(tmp.path()) {
        let range = TimeRange {
            from: 0,
            to: 250 * S,
        };
        let h = store.histogram(&parse("").unwrap(), range, 50 * S).unwrap();
        assert_eq!(h.counts.len(), 5);
        assert_eq!(h.levels[4], "ERROR");
        for b in &h.counts {
            assert_eq!(b.iter().sum::<u64>(), 50);
            assert_eq!((b[1], b[2], b[3], b[4]), (10, 20, 10, 10));
        }
        let too_many = store.histogram(&parse("").unwrap(), range, 1);
        assert!(
            matches!(too_many, Err(Error::InvalidQuery(m)) if m.contains("max_histogram_buckets"))
        );
        let fields = store.fields(&parse("timeout").unwrap(), range).unwrap();
        let names: Vec<(&str, u64)> = fields.iter().map(|f| (f.name.as_str(), f.count)).collect();
        assert!(names.contains(&("body", 25)));
        assert!(names.contains(&("exception.type", 5)));
        assert!(names.contains(&("correlation_id", 25)));
        assert!(!names.iter().any(|(n, _)| *n == "trace_id"));
        let v = store
            .field_values(&parse("").unwrap(), range, "level", 2)
            .unwrap();
        assert_eq!(
            v[0],
            FieldCount {
                name: "INFO".into(),
                count: 100
            }
        );
        assert_eq!(v.len(), 2);
        let v = store
            .field_values(&parse("level:ERROR").unwrap(), range, "service", 10)
            .unwrap();
        assert_eq!(
            v,
            vec![FieldCount {
                name: "api".into(),
                count: 50
            }]
        );
    }
}

#[test]
fn reopening_keeps_blocks_and_head_and_continues_sequences() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("0");
    let before = {
        let store = &stores(tmp.path())[2];
        store
            .search(&parse("").unwrap(), TimeRange::all(), 1000, None)
            .unwrap()
    };
    let store = Store::open(&dir, Schema::logs(), options()).unwrap();
    let again = store
        .search(&parse("").unwrap(), TimeRange::all(), 1000, None)
        .unwrap();
    assert_eq!(again.hits.len(), 250);
    let store2 = Store::open(tmp.path().join("2"), Schema::logs(), options()).unwrap();
    let split = store2
        .search(&parse("").unwrap(), TimeRange::all(), 1000, None)
        .unwrap();
    assert_eq!(split.hits, before.hits);
    assert_eq!(store2.stats().replay.records, 120);
    let seq = store2
        .append(&[Record::log(0, CRITICAL, "x", "y")])
        .unwrap();
    assert_eq!(seq, 250);
    assert!(matches!(
        Store::open(tmp.path().join("2"), Schema::logs(), options()),
        Err(Error::Io { .. })
    ));
}

#[test]
fn a_refused_batch_stores_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    let mut bad = records()[..3].to_vec();
    bad[2].values[0] = Value::Str("INFO".into());
    let e = store.append(&bad).unwrap_err();
    assert!(
        e.to_string().starts_with("record 2: column severity"),
        "{e}"
    );
    let mut big = records()[..3].to_vec();
    big[1].body = "x".repeat(300 << 10);
    assert!(matches!(store.append(&big), Err(Error::Limit(l)) if l.record == Some(1)));
    assert_eq!(store.count(&Query::All, TimeRange::all()).unwrap(), 0);
}

#[test]
fn retention_drops_whole_blocks_by_age_and_by_size() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = Options {
        retention_ns: Some(100 * S),
        ..options()
    };
    let store = Store::open(tmp.path(), Schema::logs(), opts).unwrap();
    for chunk in records().chunks(100) {
        store.append(chunk).unwrap();
        store.flush().unwrap();
    }
    // Blocks hold 0–99 s, 100–199 s, 200–249 s; at 260 s the first has expired.
    let r = store.maintain(260 * S).unwrap();
    assert_eq!(r.blocks_dropped, 1);
    assert_eq!(store.count(&Query::All, TimeRange::all()).unwrap(), 150);
    assert_eq!(
        std::fs::read_dir(tmp.path().join("blocks"))
            .unwrap()
            .count(),
        2
    );
    drop(store);
    let sizes = Store::open(tmp.path(), Schema::logs(), options())
        .unwrap()
        .stats();
    let newest = sizes.blocks.iter().map(|b| b.bytes).max().unwrap();
    drop(sizes);
    let opts = Options {
        retention_bytes: Some(newest + 10),
        ..options()
    };
    let store = Store::open(tmp.path(), Schema::logs(), opts).unwrap();
    assert_eq!(store.maintain(0).unwrap().blocks_dropped, 1);
    let left = store.stats().blocks;
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].max_time, 249 * S);
}

#[test]
fn a_crash_between_block_and_wal_cleanup_neither_loses_nor_doubles() {
    let tmp = tempfile::tempdir().unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    store.append(&records()[..50]).unwrap();
    // Keep a copy of the WAL as it was before the cut, as if the cut crashed before
    // deleting its segments.
    let wal = tmp.path().join("wal");
    let saved: Vec<(std::path::PathBuf, Vec<u8>)> = std::fs::read_dir(&wal)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| (p.clone(), std::fs::read(&p).unwrap()))
        .collect();
    store.flush().unwrap();
    drop(store);
    for (p, bytes) in saved {
        std::fs::write(p, bytes).unwrap();
    }
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert_eq!(store.count(&Query::All, TimeRange::all()).unwrap(), 50);
    // An orphan block file (a cut that crashed before the catalog) is removed at open.
    drop(store);
    let orphan = tmp.path().join("blocks").join(format!("{:016x}.blk", 99));
    std::fs::write(&orphan, b"partial").unwrap();
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert!(!orphan.exists());
    assert_eq!(store.count(&Query::All, TimeRange::all()).unwrap(), 50);
}

#[test]
fn search_after_gives_the_oldest_lines_following_one_across_head_and_blocks() {
    let tmp = tempfile::tempdir().unwrap();
    for store in stores(tmp.path()) {
        let all = parse("").unwrap();
        // The line at 98 s: its sequence number from a search.
        let at = store
            .search(
                &all,
                TimeRange {
                    from: 98 * S,
                    to: 99 * S,
                },
                1,
                None,
            )
            .unwrap()
            .hits
            .remove(0);
        let cursor = Cursor {
            time: at.record.time,
            seq: at.seq,
        };
        let after = store
            .search_after(&all, TimeRange::all(), 5, cursor)
            .unwrap();
        let t: Vec<i64> = after.iter().map(|h| h.record.time / S).collect();
        // Crosses the block boundary at 100 (and 130 in the split store).
        assert_eq!(t, vec![99, 100, 101, 102, 103]);
        let payments = store
            .search_after(
                &parse("service:payments").unwrap(),
                TimeRange::all(),
                3,
                cursor,
            )
            .unwrap();
        let t: Vec<i64> = payments.iter().map(|h| h.record.time / S).collect();
        assert_eq!(t, vec![100, 110, 120]);
        let end = TimeRange {
            from: 0,
            to: 101 * S,
        };
        assert_eq!(store.search_after(&all, end, 5, cursor).unwrap().len(), 2);
    }
}

#[test]
fn exact_lookups_in_large_dictionaries_match_head_and_blocks_alike() {
    let tmp = tempfile::tempdir().unwrap();
    // 300 distinct ids: blocks of 100 rows hold dictionaries large enough for the index.
    let all: Vec<Record> = (0..300)
        .map(|i| {
            Record::log(i * S, INFO, "api", "ok")
                .with(LogColumn::CorrelationId, &format!("id-{i:04}"))
        })
        .collect();
    let head = Store::open(tmp.path().join("head"), Schema::logs(), options()).unwrap();
    head.append(&all).unwrap();
    let blocks = Store::open(tmp.path().join("blocks"), Schema::logs(), options()).unwrap();
    for chunk in all.chunks(100) {
        blocks.append(chunk).unwrap();
        blocks.flush().unwrap();
    }
    for store in [&head, &blocks] {
        let q = |s: &str| store.count(&parse(s).unwrap(), TimeRange::all()).unwrap();
        for i in [0, 99, 100, 250, 299] {
            assert_eq!(q(&format!("correlation_id:id-{i:04}")), 1, "id-{i:04}");
        }
        assert_eq!(q("correlation_id:id-0300"), 0);
        assert_eq!(q("correlation_id:id-01*"), 100);
        assert_eq!(q("correlation_id:id-0001 OR correlation_id:id-0201"), 2);
    }
}

#[test]
fn concurrent_appends_share_fsyncs_and_all_survive_a_reopen() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
        std::thread::scope(|s| {
            for t in 0..4i64 {
                let store = &store;
                s.spawn(move || {
                    for i in 0..50 {
                        let r = Record::log((t * 1000 + i) * S, INFO, "api", "ok")
                            .with(LogColumn::CorrelationId, &format!("t{t}-{i}"));
                        store.append(&[r]).unwrap();
                    }
                });
            }
        });
        let written = store.write(&[Record::log(0, INFO, "api", "late")]).unwrap();
        assert_eq!(store.sync(written).unwrap(), 200);
    }
    let store = Store::open(tmp.path(), Schema::logs(), options()).unwrap();
    assert_eq!(
        store.count(&parse("").unwrap(), TimeRange::all()).unwrap(),
        201
    );
    assert_eq!(
        store
            .count(&parse("correlation_id:t3-49").unwrap(), TimeRange::all())
            .unwrap(),
        1
    );
}

#[test]
fn a_trace_lookup_reads_only_frames() {
    let tmp = tempfile::tempdir().unwrap();
    let opts = || Options {
        max_block_rows: 1 << 20,
        ..options()
    };
    // Three blocks of 20 k rows and the head; trace `t-7` has rows in all four.
    let record = |i: i64| {
        let trace = if i % 20_000 < 3 {
            "t-7".to_owned()
        } else {
            format!("t-{}", i / 4 + 100)
        };
        Record::log(i * S, INFO, "api", &format!("call {i}"))
            .with(LogColumn::TraceId, &trace)
            .with(LogColumn::SpanId, &format!("s-{i}"))
            .attr("http.method", "GET")
    };
    let all: Vec<Record> = (0..61_000).map(record).collect();
    let head = Store::open(tmp.path().join("head"), Schema::logs(), opts()).unwrap();
    head.append(&all).unwrap();
    let blocks = Store::open(tmp.path().join("blocks"), Schema::logs(), opts()).unwrap();
    for chunk in all.chunks(20_000) {
        blocks.append(chunk).unwrap();
        if chunk.len() == 20_000 {
            blocks.flush().unwrap();
        }
    }
    assert_eq!(blocks.read_segments().blocks.len(), 3);
    let search = |s: &Store, q: &str| s.search(&parse(q).unwrap(), TimeRange::all(), 100, None);
    assert_eq!(
        search(&blocks, "trace_id:t-7").unwrap().hits,
        search(&head, "trace_id:t-7").unwrap().hits
    );
    assert_eq!(search(&blocks, "trace_id:t-7").unwrap().hits.len(), 12);
    // Pages through a cursor, a narrower range, the lines after one: the same from
    // blocks as from the head.
    let q = parse("trace_id:t-7").unwrap();
    let pages = |s: &Store, range: TimeRange| {
        let (mut out, mut cursor) = (Vec::new(), None);
        loop {
            let page = s.search(&q, range, 5, cursor).unwrap();
            out.extend(page.hits);
            match page.next {
                Some(next) => cursor = Some(next),
                None => return out,
            }
        }
    };
    let middle = TimeRange {
        from: 10_000 * S,
        to: 50_000 * S,
    };
    for range in [TimeRange::all(), middle] {
        let got = pages(&blocks, range);
        assert_eq!(got, pages(&head, range));
        assert_eq!(got.len(), if range == middle { 6 } else { 12 });
    }
    let after = Cursor { time: S, seq: 1 };
    let later = blocks.search_after(&q, TimeRange::all(), 4, after).unwrap();
    assert_eq!(
        later,
        head.search_after(&q, TimeRange::all(), 4, after).unwrap()
    );
    assert_eq!(later[0].record.time, 2 * S);
    // Every block read for `t-7` answered from its id index and row frames alone.
    let cached = blocks.cache.keys();
    assert!(!cached.is_empty());
    assert!(blocks.cache.bytes() < 2 << 20, "{}", blocks.cache.bytes());
    assert!(
        cached.iter().all(|(_, k)| matches!(
            k,
            SectionKey::IdIndex { .. } | SectionKey::RowFrame(_) | SectionKey::Body(_)
        )),
        "{cached:?}"
    );
    for q in [
        "trace_id:t-5000",
        "trace_id:t-99",
        "trace_id:t-7 OR span_id:s-9",
    ] {
        let want = search(&head, q).unwrap();
        assert_eq!(search(&blocks, q).unwrap().hits, want.hits, "{q}");
    }
}
