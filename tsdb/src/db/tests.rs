use std::sync::Arc;

use super::*;
use crate::chunk::{is_stale_nan, STALE_NAN};
use crate::matcher::MatchOp;

const STEP: i64 = 15_000;
const H: i64 = 3600 * 1000;

fn labels(name: &str, i: usize) -> Labels {
    Labels::new([
        ("__name__", name.to_owned()),
        ("instance", format!("host-{i}")),
        ("job", "node".into()),
    ])
    .unwrap()
}

/// A counter rising by a steady-ish amount (scrape data) at `t` for series `i`.
fn value(i: usize, t: i64) -> f64 {
    ((t / STEP) * (i as i64 + 1) * 10) as f64
}

/// Appends `n` series every [`STEP`] over `[from, to)`, one batch per scrape.
fn ingest(db: &Db, n: usize, from: i64, to: i64) -> usize {
    let mut total = 0;
    let mut t = from;
    while t < to {
        let mut app = db.appender();
        for i in 0..n {
            app.append(labels("requests_total", i), t, value(i, t))
                .unwrap();
        }
        total += app.commit().unwrap();
        t += STEP;
    }
    total
}

fn all(db: &Db) -> Vec<SeriesData> {
    db.select(&[], i64::MIN, i64::MAX).unwrap()
}

fn check_series(db: &Db, n: usize, from: i64, to: i64) {
    let got = all(db);
    assert_eq!(got.len(), n);
    for s in &got {
        let i: usize = s.labels.get("instance").unwrap()[5..].parse().unwrap();
        let want: Vec<Sample> = (0..)
            .map(|k| from + k * STEP)
            .take_while(|&t| t < to)
            .map(|t| Sample::new(t, value(i, t)))
            .collect();
        assert_eq!(s.samples.len(), want.len(), "{}", s.labels);
        assert!(s.samples == want, "{}", s.labels);
    }
}

fn opts() -> Options {
    Options {
        retention_ms: None,
        max_block_range_ms: Some(6 * H),
        ..Options::default()
    }
}

#[test]
fn append_select_and_label_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), opts()).unwrap();
    let mut app = db.appender();
    app.append(labels("up", 0), 1000, 1.0).unwrap();
    app.append(labels("up", 1), 1000, 0.0).unwrap();
    app.append(labels("up", 0), 2000, STALE_NAN).unwrap();
    let extra = Labels::new([("__name__", "temp"), ("room", "a")]).unwrap();
    app.append(extra.clone(), 1500, f64::NEG_INFINITY).unwrap();
    assert_eq!(app.commit().unwrap(), 4);

    let up = db
        .select(&[Matcher::equal("__name__", "up")], 0, 10_000)
        .unwrap();
    assert_eq!(up.len(), 2);
    assert_eq!(up[0].labels, labels("up", 0));
    assert_eq!(up[0].samples[0], Sample::new(1000, 1.0));
    assert!(is_stale_nan(up[0].samples[1].v));
    // Time bounds are inclusive.
    let one = db
        .select(&[Matcher::equal("__name__", "up")], 2000, 2000)
        .unwrap();
    assert_eq!(one.len(), 1);
    assert!(db.select(&[], 2001, 10_000).unwrap().is_empty());

    let re = Matcher::new(MatchOp::Regex, "instance", "host-(0|9)").unwrap();
    assert_eq!(db.series(&[re], 0, 10_000).unwrap(), vec![labels("up", 0)]);
    assert_eq!(
        db.label_names(&[], 0, 10_000).unwrap(),
        vec!["__name__", "instance", "job", "room"]
    );
    let no_room = Matcher::equal("room", "");
    assert_eq!(
        db.label_names(&[no_room], 0, 10_000).unwrap(),
        vec!["__name__", "instance", "job"]
    );
    assert_eq!(
        db.label_values("__name__", &[], 0, 10_000).unwrap(),
        vec!["temp", "up"]
    );
    let only_up = Matcher::equal("__name__", "up");
    assert_eq!(
        db.label_values("instance", &[only_up], 0, 10_000).unwrap(),
        vec!["host-0", "host-1"]
    );
    assert!(db
        .label_values("room", &[], 5000, 10_000)
        .unwrap()
        .is_empty());

    let s = db.stats();
    assert_eq!((s.appended_samples, s.head_series, s.commits), (4, 3, 1));
    assert!(s.wal_bytes > 0);
}

#[test]
fn refusals_are_counted_per_reason_and_nothing_is_applied() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        limits: Limits {
            max_samples_per_batch: 3,
            max_samples_per_query: 4,
            ..Limits::default()
        },
        ..opts()
    };
    let db = Db::open(tmp.path(), o).unwrap();
    let mut app = db.appender();
    app.append(labels("a", 0), 100, 1.0).unwrap();
    app.append(labels("a", 0), 200, 2.0).unwrap();
    app.commit().unwrap();

    let mut app = db.appender();
    app.append(labels("a", 1), 300, 1.0).unwrap();
    app.append(labels("a", 0), 150, 1.0).unwrap();
    app.append(labels("a", 0), 200, 5.0).unwrap();
    let Err(Error::Rejected(r)) = app.commit() else {
        panic!("expected a rejection")
    };
    assert_eq!(
        r.by_reason,
        vec![(RefuseReason::OutOfOrder, 1), (RefuseReason::Duplicate, 1)]
    );
    assert_eq!(
        db.series(&[], 0, 1000).unwrap().len(),
        1,
        "the new series of the batch was not created"
    );

    let mut app = db.appender();
    for t in 0..3 {
        app.append(labels("b", 0), 1000 + t, 1.0).unwrap();
    }
    let e = app.append(labels("b", 0), 2000, 1.0).unwrap_err();
    assert!(e.to_string().contains("max_samples_per_batch=3"), "{e}");
    assert!(matches!(app.commit(), Err(Error::Rejected(_))));
    assert!(db
        .select(&[Matcher::equal("__name__", "b")], 0, 10_000)
        .unwrap()
        .is_empty());

    // Repeating an acknowledged sample is fine.
    let mut app = db.appender();
    app.append(labels("a", 0), 200, 2.0).unwrap();
    assert_eq!(app.commit().unwrap(), 0);

    let mut app = db.appender();
    for t in 0..3 {
        app.append(labels("a", 2), 1000 + t, 1.0).unwrap();
    }
    app.commit().unwrap();
    let e = db.select(&[], 0, 10_000).unwrap_err();
    assert!(matches!(e, Error::QueryTooLarge { limit: 4 }), "{e}");

    let s = db.stats();
    let refused: BTreeMap<&str, u64> = s.refused.iter().map(|(r, n)| (r.as_str(), *n)).collect();
    assert_eq!(refused["out_of_order"], 1);
    assert_eq!(refused["duplicate"], 1);
    assert_eq!(refused["batch_size_limit"], 1);
    assert_eq!(refused["too_old"], 0);
    assert_eq!(s.rejected_batches, 2);
    assert_eq!(s.appended_samples, 5);
}

#[test]
fn series_appends_match_sample_appends() {
    // The same batch, once sample by sample with the series interleaved and once a series
    // at a time, stores the same samples and refuses the same ones.
    let (one, two) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (
        Db::open(one.path(), opts()).unwrap(),
        Db::open(two.path(), opts()).unwrap(),
    );
    let mut app = a.appender();
    for t in 0..4 {
        for i in 0..3 {
            app.append(labels("m", i), 1000 * t, value(i, t)).unwrap();
        }
    }
    assert_eq!(app.len(), 12);
    assert_eq!(app.commit().unwrap(), 12);
    let mut app = b.appender();
    for i in 0..3 {
        app.append_series(labels("m", i), (0..4).map(|t| (1000 * t, value(i, t))))
            .unwrap();
    }
    assert_eq!(app.len(), 12);
    assert_eq!(app.commit().unwrap(), 12);
    assert_eq!(all(&a), all(&b));

    // A series given twice in one batch: the second run is checked against the first.
    for db in [&a, &b] {
        let mut app = db.appender();
        app.append_series(labels("m", 0), [(5000, 1.0), (6000, 2.0)])
            .unwrap();
        app.append_series(labels("m", 1), [(5000, 1.0)]).unwrap();
        app.append_series(labels("m", 0), [(5500, 3.0), (6000, 4.0), (7000, 5.0)])
            .unwrap();
        let Err(Error::Rejected(r)) = app.commit() else {
            panic!("expected a rejection")
        };
        assert_eq!(
            r.by_reason,
            vec![(RefuseReason::OutOfOrder, 1), (RefuseReason::Duplicate, 1)]
        );
    }
    assert_eq!(all(&a), all(&b));

    // The batch-size limit counts samples, not series.
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        limits: Limits {
            max_samples_per_batch: 3,
            ..Limits::default()
        },
        ..opts()
    };
    let db = Db::open(tmp.path(), o).unwrap();
    let mut app = db.appender();
    app.append_series(labels("c", 0), [(1, 1.0), (2, 1.0)])
        .unwrap();
    let e = app
        .append_series(labels("c", 1), [(1, 1.0), (2, 1.0), (3, 1.0)])
        .unwrap_err();
    assert!(e.to_string().contains("max_samples_per_batch=3"), "{e}");
    assert!(matches!(app.commit(), Err(Error::Rejected(_))));
    assert!(db.select(&[], 0, 10).unwrap().is_empty());
    let refused: BTreeMap<&str, u64> = db
        .stats()
        .refused
        .iter()
        .map(|(r, n)| (r.as_str(), *n))
        .collect();
    assert_eq!(refused["batch_size_limit"], 2);
}

#[test]
fn replay_after_drop_without_close() {
    let tmp = tempfile::tempdir().unwrap();
    {
        let db = Db::open(tmp.path(), opts()).unwrap();
        ingest(&db, 5, 0, 100 * STEP);
    }
    let db = Db::open(tmp.path(), opts()).unwrap();
    check_series(&db, 5, 0, 100 * STEP);
    assert_eq!(db.stats().replay.records, 100);
    // Appends go on where they stopped, and out-of-order still applies after replay.
    let mut app = db.appender();
    app.append(labels("requests_total", 0), 50 * STEP, 1.0)
        .unwrap();
    assert!(app.commit().is_err());
    ingest(&db, 5, 100 * STEP, 110 * STEP);
    drop(db);
    check_series(&Db::open(tmp.path(), opts()).unwrap(), 5, 0, 110 * STEP);
}

#[test]
fn head_cut_compaction_and_reopen_keep_every_sample() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), opts()).unwrap();
    let n = 10;
    let end = 9 * H + 30 * 60 * 1000;
    let mut report = MaintainReport::default();
    let mut t = 0;
    // Maintain every simulated half hour, as a server would.
    while t < end {
        ingest(&db, n, t, t + H / 2);
        let r = db.maintain(t).unwrap();
        report.head_cuts += r.head_cuts;
        report.compactions += r.compactions;
        t += H / 2;
    }
    // 9.5 h of data: blocks [0,6h) compacted, [6h,8h) cut, the rest in the head.
    assert_eq!(report.head_cuts, 4);
    assert_eq!(report.compactions, 1);
    let blocks = db.blocks();
    let ranges: Vec<(i64, i64, u32)> = blocks
        .iter()
        .map(|b| (b.min_time, b.max_time, b.level))
        .collect();
    assert_eq!(ranges, vec![(0, 6 * H, 2), (6 * H, 8 * H, 1)]);
    assert_eq!(blocks[0].sources.len(), 3);
    assert_eq!(db.stats().head_min_time, Some(8 * H));
    check_series(&db, n, 0, end);
    // Queries across the block/head boundary.
    let part = db
        .select(&[Matcher::equal("instance", "host-3")], 8 * H - STEP, 8 * H)
        .unwrap();
    assert_eq!(part[0].samples.len(), 2);

    // Too old for the head now.
    let mut app = db.appender();
    app.append(labels("requests_total", 99), 7 * H, 1.0)
        .unwrap();
    let Err(Error::Rejected(r)) = app.commit() else {
        panic!("expected too_old")
    };
    assert_eq!(r.by_reason, vec![(RefuseReason::TooOld, 1)]);

    let stats = db.stats();
    assert_eq!(
        (stats.blocks, stats.compactions, stats.head_cuts),
        (2, 1, 4)
    );
    let in_blocks: u64 = blocks.iter().map(|b| b.num_samples).sum();
    assert_eq!(in_blocks, (8 * H / STEP) as u64 * n as u64);
    drop(db);

    // The checkpointed WAL replays only the head's part.
    let db = Db::open(tmp.path(), opts()).unwrap();
    check_series(&db, n, 0, end);
    assert_eq!(db.blocks().len(), 2);
    let s = db.stats();
    assert_eq!(s.head_min_time, Some(8 * H));
    assert_eq!(s.head_series, n as u64);
}

#[test]
fn select_across_blocks_and_head_decodes_each_range_once_within_the_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let n = 3;
    let end = 5 * H;
    {
        let db = Db::open(tmp.path(), opts()).unwrap();
        ingest(&db, n, 0, end);
        db.maintain(end).unwrap();
        assert!(!db.blocks().is_empty(), "some chunks are in blocks");
    }
    // Ranges cutting chunks of blocks and of the head, and one inside one chunk.
    let want = |i: usize, lo: i64, hi: i64| -> Vec<Sample> {
        (0..end / STEP)
            .map(|k| k * STEP)
            .filter(|&t| t >= lo && t <= hi)
            .map(|t| Sample::new(t, value(i, t)))
            .collect()
    };
    let ranges = [
        (0, end),
        (H / 3, 4 * H + 7),
        (2 * H - STEP, 2 * H + STEP),
        (4 * H + 1, 4 * H + 2),
    ];
    for limit in [usize::MAX, 3 * 2 + 2] {
        let o = Options {
            limits: Limits {
                max_samples_per_query: limit,
                ..Limits::default()
            },
            ..opts()
        };
        let db = Db::open(tmp.path(), o).unwrap();
        for (lo, hi) in ranges {
            let expected: usize = (0..n).map(|i| want(i, lo, hi).len()).sum();
            match db.select(&[], lo, hi) {
                Ok(got) => {
                    assert!(expected <= limit, "{lo}..{hi}: {expected} over {limit}");
                    let non_empty = (0..n).filter(|&i| !want(i, lo, hi).is_empty()).count();
                    assert_eq!(got.len(), non_empty, "{lo}..{hi}");
                    for s in &got {
                        let i: usize = s.labels.get("instance").unwrap()[5..].parse().unwrap();
                        assert!(s.samples == want(i, lo, hi), "{lo}..{hi} {}", s.labels);
                    }
                }
                Err(Error::QueryTooLarge { limit: l }) => {
                    assert_eq!(l, limit);
                    assert!(expected > limit, "{lo}..{hi}: {expected} within {limit}");
                }
                Err(e) => panic!("{e}"),
            }
        }
        drop(db);
    }
}

#[test]
fn bytes_per_sample_after_compaction() {
    // Regular scrape data: 100 series every 15 s for 24 h, counters with varying rates and
    // gauges with few distinct values, cut and compacted into 6 h / 18 h blocks.
    // Measured: 1.42 bytes/sample on disk in all, 1.33 of it in the chunks files (index,
    // meta and per-chunk checksums the rest). Timestamps are exact multiples of the
    // interval here; scrape jitter of a few ms costs ~2 bytes more per sample, so the
    // scraper should align timestamps as Prometheus's timestamp tolerance does.
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        max_block_range_ms: Some(18 * H),
        ..opts()
    };
    let db = Db::open(tmp.path(), o).unwrap();
    let n = 100;
    let mut t = 0;
    while t < 24 * H {
        let mut app = db.appender();
        for i in 0..n {
            let v = if i % 2 == 0 {
                // A counter: increments of 0–3 requests per second.
                ((t / STEP) * (i as i64 % 4) * 15 + (t / STEP) % 7) as f64
            } else {
                // A gauge (e.g. up, or a queue depth).
                ((t / (STEP * 40)) % 5) as f64
            };
            app.append(labels("m", i), t, v).unwrap();
        }
        app.commit().unwrap();
        if t % H == 0 {
            db.maintain(t).unwrap();
        }
        t += STEP;
    }
    db.maintain(t).unwrap();
    let blocks = db.blocks();
    let samples: u64 = blocks.iter().map(|b| b.num_samples).sum();
    let bytes = db.stats().blocks_bytes;
    let bps = bytes as f64 / samples as f64;
    let chunk_bytes: u64 = blocks
        .iter()
        .map(|b| {
            fs::metadata(tmp.path().join(&b.id).join("chunks"))
                .unwrap()
                .len()
        })
        .sum();
    println!(
        "{samples} samples in {} blocks, {bytes} bytes: {bps:.3} bytes/sample ({:.3} in chunks)",
        blocks.len(),
        chunk_bytes as f64 / samples as f64
    );
    assert!(blocks.iter().any(|b| b.level >= 3), "{blocks:?}");
    assert!(bps <= 1.5, "{bps} bytes per sample");
}

#[test]
fn retention_by_age_and_size() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        retention_ms: Some(5 * H),
        max_block_range_ms: Some(2 * H),
        ..opts()
    };
    let db = Db::open(tmp.path(), o.clone()).unwrap();
    ingest(&db, 3, 0, 9 * H);
    let r = db.maintain(9 * H).unwrap();
    // Blocks [0,2h) .. [4h,6h) cut; those ending at or before 4 h are past 5 h of retention.
    assert_eq!(r.head_cuts, 3);
    assert_eq!(r.deleted_blocks, 2);
    assert_eq!(
        db.blocks().iter().map(|b| b.min_time).collect::<Vec<_>>(),
        vec![4 * H]
    );
    let first = all(&db)[0].samples[0].t;
    assert_eq!(first, 4 * H);
    assert_eq!(db.stats().retention_deleted_blocks, 2);
    drop(db);

    // By size: the bound keeps only what fits, oldest dropped first.
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(
        tmp.path(),
        Options {
            retention_ms: None,
            ..o
        },
    )
    .unwrap();
    ingest(&db, 3, 0, 9 * H);
    db.maintain(9 * H).unwrap();
    let s = db.stats();
    assert_eq!(s.blocks, 3);
    let one_block = s.blocks_bytes / 3;
    drop(db);
    let o = Options {
        retention_ms: None,
        retention_bytes: Some(s.wal_bytes + one_block * 2 + one_block / 2),
        max_block_range_ms: Some(2 * H),
        ..opts()
    };
    let db = Db::open(tmp.path(), o).unwrap();
    let r = db.maintain(9 * H).unwrap();
    assert_eq!(r.deleted_blocks, 1);
    assert_eq!(
        db.blocks().iter().map(|b| b.min_time).collect::<Vec<_>>(),
        vec![2 * H, 4 * H]
    );
}

#[test]
fn interrupted_compaction_is_repaired_at_open() {
    let tmp = tempfile::tempdir().unwrap();
    let o = Options {
        max_block_range_ms: Some(2 * H),
        ..opts()
    };
    let db = Db::open(tmp.path(), o.clone()).unwrap();
    ingest(&db, 2, 0, 8 * H);
    db.maintain(0).unwrap();
    let level1 = db.blocks();
    assert_eq!(level1.len(), 3);
    // Compact by hand, leaving the parents in place as a crash before deletion would.
    let group = db.blocks_snapshot();
    compact::compact(tmp.path(), &group).unwrap();
    drop(db);
    let db = Db::open(tmp.path(), o).unwrap();
    let blocks = db.blocks();
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].parents.len(), 3);
    for b in &level1 {
        assert!(!tmp.path().join(&b.id).exists());
    }
    check_series(&db, 2, 0, 8 * H);
}

#[test]
fn concurrent_appends_and_queries() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Arc::new(Db::open(tmp.path(), opts()).unwrap());
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let db = Arc::clone(&db);
            std::thread::spawn(move || {
                for k in 0..50 {
                    let mut app = db.appender();
                    for i in 0..5 {
                        app.append(labels("w", w * 5 + i), k * STEP, k as f64)
                            .unwrap();
                    }
                    app.commit().unwrap();
                }
            })
        })
        .collect();
    let reader = {
        let db = Arc::clone(&db);
        std::thread::spawn(move || {
            for _ in 0..50 {
                for s in db
                    .select(&[Matcher::equal("__name__", "w")], 0, i64::MAX)
                    .unwrap()
                {
                    assert!(s.samples.windows(2).all(|w| w[0].t < w[1].t));
                }
            }
        })
    };
    for w in writers {
        w.join().unwrap();
    }
    reader.join().unwrap();
    let got = all(&db);
    assert_eq!(got.len(), 20);
    assert!(got.iter().all(|s| s.samples.len() == 50));
}

#[test]
fn db_is_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<Db>();
}

#[test]
fn a_directory_is_opened_once() {
    let tmp = tempfile::tempdir().unwrap();
    let db = Db::open(tmp.path(), opts()).unwrap();
    let e = Db::open(tmp.path(), opts())
        .err()
        .expect("second open refused");
    assert!(e.to_string().contains("open elsewhere"), "{e}");
    drop(db);
    Db::open(tmp.path(), opts()).unwrap();
}
