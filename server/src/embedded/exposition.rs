//! The embedded store's own metrics, written into the portal's `/metrics` from the store's
//! stats at each scrape (so they land in the store itself through the self-scrape).

use std::fmt::Write as _;

/// Text exposition lines for `stats`.
pub fn render(stats: &tsdb::Stats) -> String {
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, u64)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, v) in samples {
            let _ = writeln!(out, "{name}{labels} {v}");
        }
    };
    let one = |v: u64| vec![(String::new(), v)];
    family(
        "keiko_tsdb_samples_appended_total",
        "counter",
        "Samples the embedded metrics store stored.",
        &one(stats.appended_samples),
    );
    let refused: Vec<(String, u64)> = stats
        .refused
        .iter()
        .map(|(reason, n)| (format!("{{reason=\"{}\"}}", reason.as_str()), *n))
        .collect();
    family(
        "keiko_tsdb_samples_refused_total",
        "counter",
        "Samples the embedded metrics store refused, by reason.",
        &refused,
    );
    let single: [(&str, &str, &str, u64); 9] = [
        (
            "keiko_tsdb_rejected_batches_total",
            "counter",
            "Write batches refused as a whole (nothing of them stored).",
            stats.rejected_batches,
        ),
        (
            "keiko_tsdb_head_series",
            "gauge",
            "Active series in the embedded store's in-memory head.",
            stats.head_series,
        ),
        (
            "keiko_tsdb_head_chunks",
            "gauge",
            "Chunks in the embedded store's head.",
            stats.head_chunks,
        ),
        (
            "keiko_tsdb_wal_bytes",
            "gauge",
            "Bytes of the embedded store's write-ahead log.",
            stats.wal_bytes,
        ),
        (
            "keiko_tsdb_blocks",
            "gauge",
            "Blocks of the embedded store on disk.",
            stats.blocks,
        ),
        (
            "keiko_tsdb_blocks_bytes",
            "gauge",
            "Bytes of the embedded store's blocks on disk.",
            stats.blocks_bytes,
        ),
        (
            "keiko_tsdb_compactions_total",
            "counter",
            "Compactions of the embedded store.",
            stats.compactions,
        ),
        (
            "keiko_tsdb_compactions_failed_total",
            "counter",
            "Compactions of the embedded store that failed.",
            stats.compactions_failed,
        ),
        (
            "keiko_tsdb_retention_deleted_blocks_total",
            "counter",
            "Blocks the embedded store deleted by retention.",
            stats.retention_deleted_blocks,
        ),
    ];
    for (name, kind, help, v) in single {
        family(name, kind, help, &one(v));
    }
    out
}
