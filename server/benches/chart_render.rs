//! SVG render time of the chart code: 50 series × 1,000 px, with M4 (the portal's default)
//! and with every point. Run: `cargo bench -p server --bench chart_render` (or `make bench`).
//! A plain timing loop (median and p90 of 30 runs after 3 warm-ups): no bench framework to
//! build.

use std::time::Instant;

use app::components::units::Unit;
use server::charts::series::Series;
use server::charts::svg::{render, Options};

fn series(n: usize, points: usize) -> Vec<Series> {
    let mut x: u64 = 1;
    (0..n)
        .map(|k| Series {
            labels: vec![("agent_id".into(), format!("agent-{k}"))],
            points: (0..points)
                .map(|i| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    (
                        i as f64 * 15.0,
                        k as f64 + ((x >> 33) % 1000) as f64 / 1000.0,
                    )
                })
                .collect(),
        })
        .collect()
}

fn measure(name: &str, data: &[Series], raw: bool, points: usize) {
    let opts = Options {
        width: 1000,
        height: 320,
        start: 0.0,
        end: points as f64 * 15.0,
        gap: 60.0,
        unit: Unit::Seconds,
        raw,
        colors: Vec::new(),
    };
    let picked: Vec<Option<&Series>> = data.iter().map(Some).collect();
    let mut times = Vec::new();
    let mut bytes = 0;
    for i in 0..33 {
        let started = Instant::now();
        let r = render(&picked, &opts).expect("render");
        let t = started.elapsed().as_secs_f64() * 1000.0;
        bytes = r.svg.len();
        if i >= 3 {
            times.push(t);
        }
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{name}: median {:.2} ms, p90 {:.2} ms, SVG {} bytes",
        times[times.len() / 2],
        times[times.len() * 9 / 10],
        bytes
    );
}

fn main() {
    // 1,000 points per series: about one per pixel column (the portal's default step).
    let per_pixel = series(50, 1000);
    measure("50 series x 1000 points, M4", &per_pixel, false, 1000);
    measure("50 series x 1000 points, raw", &per_pixel, true, 1000);
    // 10,000 points per series (a fine step): M4 keeps at most 4 per column.
    let fine = series(50, 10_000);
    measure("50 series x 10000 points, M4", &fine, false, 10_000);
    measure("50 series x 10000 points, raw", &fine, true, 10_000);
}
