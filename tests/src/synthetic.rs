//! Deterministic synthetic series for the differential test and the store benchmark: every
//! value is a pure function of (series, step), so any time window can be generated on its
//! own (in order, as remote-write needs it) and every run writes the same samples.

use std::ops::Range;

use crate::remote_write::Series;

/// The NaN Prometheus writes as a staleness marker.
pub const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// What a series' values look like.
#[derive(Clone, Debug)]
pub enum Shape {
    /// A cumulative count: `(base + c(j)) * factor` (floored when `floor`), where `c(0) = 0`,
    /// `c(j) = j * per_step + noise(seed, j) % per_step` and `j` counts the steps since the
    /// last reset (a step in `resets`). Monotonic between resets for any `factor >= 0`, so a
    /// classic histogram's buckets share `seed`, `per_step` and `resets` and differ in
    /// `factor` (the share of observations at or below `le`).
    Count {
        seed: u64,
        base: u64,
        per_step: u64,
        factor: f64,
        floor: bool,
        resets: Vec<usize>,
    },
    /// `base + amplitude * sin(2π i / period) + noise * u(seed, i)` with `u` in [0, 1),
    /// rounded when `integer`.
    Wave {
        seed: u64,
        base: f64,
        amplitude: f64,
        period: f64,
        noise: f64,
        integer: bool,
    },
}

/// Steps `from..to` without samples; with `stale`, a staleness marker at `from`.
#[derive(Clone, Debug)]
pub struct Gap {
    pub steps: Range<usize>,
    pub stale: bool,
}

/// One series: its labels, values, and when it has samples.
#[derive(Clone, Debug)]
pub struct Spec {
    pub labels: Vec<(String, String)>,
    pub shape: Shape,
    /// Where in each step its sample falls (ms after the step's start), as a scrape's offset.
    pub offset_ms: i64,
    /// The first step with a sample.
    pub first: usize,
    /// A sample every `every` steps (from step 0).
    pub every: usize,
    pub gaps: Vec<Gap>,
}

impl Spec {
    pub fn new(labels: &[(&str, &str)], shape: Shape, offset_ms: i64) -> Spec {
        Spec {
            labels: labels
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
            shape,
            offset_ms,
            first: 0,
            every: 1,
            gaps: Vec::new(),
        }
    }

    /// The sample at step `i`, if the series has one (a staleness marker is a NaN).
    pub fn value(&self, i: usize) -> Option<f64> {
        if i < self.first || !i.is_multiple_of(self.every) {
            return None;
        }
        for gap in &self.gaps {
            if gap.steps.contains(&i) {
                return (gap.stale && i == gap.steps.start).then(|| f64::from_bits(STALE_NAN_BITS));
            }
        }
        Some(match &self.shape {
            Shape::Count {
                seed,
                base,
                per_step,
                factor,
                floor,
                resets,
            } => {
                let since = resets.iter().filter(|&&r| r <= i).max().copied();
                let j = (i - since.unwrap_or(0)) as u64;
                let c = if *per_step == 0 || j == 0 {
                    0
                } else {
                    j * per_step + mix(*seed, j) % per_step
                };
                let v = (base + c) as f64 * factor;
                if *floor {
                    v.floor()
                } else {
                    v
                }
            }
            Shape::Wave {
                seed,
                base,
                amplitude,
                period,
                noise,
                integer,
            } => {
                let v = base
                    + amplitude * (std::f64::consts::TAU * i as f64 / period).sin()
                    + noise * unit(*seed, i as u64);
                if *integer {
                    v.round()
                } else {
                    v
                }
            }
        })
    }

    /// The timestamp (Unix ms) of step `i` for data starting at `t0_ms`.
    pub fn time(&self, t0_ms: i64, step_ms: i64, i: usize) -> i64 {
        t0_ms + i as i64 * step_ms + self.offset_ms
    }
}

/// Every series' samples in `steps` (series without one left out).
pub fn window(specs: &[Spec], t0_ms: i64, step_ms: i64, steps: Range<usize>) -> Vec<Series> {
    specs
        .iter()
        .filter_map(|spec| {
            let samples: Vec<(i64, f64)> = steps
                .clone()
                .filter_map(|i| spec.value(i).map(|v| (spec.time(t0_ms, step_ms, i), v)))
                .collect();
            (!samples.is_empty()).then(|| Series {
                labels: spec.labels.clone(),
                samples,
            })
        })
        .collect()
}

/// A fixed pseudo-random number for (seed, n) (splitmix64).
pub fn mix(seed: u64, n: u64) -> u64 {
    let mut z = seed
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
        .wrapping_add(n)
        .wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// [`mix`] as a float in [0, 1).
pub fn unit(seed: u64, n: u64) -> f64 {
    (mix(seed, n) >> 11) as f64 / (1u64 << 53) as f64
}

/// The seed's classic histogram buckets (`keiko_request_duration_seconds`) and the share of
/// observations at or below each.
pub const BUCKETS: [(&str, f64); 8] = [
    ("0.1", 0.2),
    ("0.25", 0.45),
    ("0.5", 0.7),
    ("1", 0.85),
    ("2.5", 0.95),
    ("5", 0.98),
    ("10", 0.995),
    ("+Inf", 1.0),
];

/// `keiko_errors_total{error_type, component, severity}`: two error types × the components
/// api, agent and mcp, counting `per_step[component]` a step; seeds from `seed`.
pub fn errors(seed: u64, per_step: [u64; 3], offset: impl Fn(usize) -> i64) -> Vec<Spec> {
    let kinds = [("ValidationError", "warning"), ("TimeoutError", "critical")];
    let components = ["api", "agent", "mcp"];
    let mut specs = Vec::new();
    for (e, (error_type, severity)) in kinds.iter().enumerate() {
        for (c, component) in components.iter().enumerate() {
            let k = e * components.len() + c;
            specs.push(Spec::new(
                &[
                    ("__name__", "keiko_errors_total"),
                    ("job", "keiko"),
                    ("error_type", error_type),
                    ("component", component),
                    ("severity", severity),
                ],
                Shape::Count {
                    seed: seed + k as u64,
                    base: 0,
                    per_step: per_step[c],
                    factor: 1.0,
                    floor: true,
                    resets: Vec::new(),
                },
                offset(k),
            ));
        }
    }
    specs
}

/// A load shaped like the seed's services for the benchmark, `series` series in all: about
/// half `keiko_requests_total` counters, half `keiko_request_duration_seconds_bucket` series
/// (8 buckets per histogram), over `instance` × `endpoint` × `method` (× `status` for the
/// counters); plus the seed dashboard's small families (`keiko_errors_total`,
/// `keiko_agent_tasks_active`, `keiko_mcp_server_health`: 20 series). Integer counters and
/// gauges, one sample per step at a fixed offset per series, as a scrape writes them.
pub fn bench_load(series: usize) -> Vec<Spec> {
    let mut specs = Vec::with_capacity(series + 20);
    let methods = ["GET", "POST"];
    let endpoints = [
        "/api/chat",
        "/api/agents",
        "/api/tools",
        "/health",
        "/login",
    ];
    let statuses = ["200", "404", "500"];
    let offset = |n: usize| (mix(7, n as u64) % 15_000) as i64;
    // Counters: instance × method × endpoint × status (30 per instance).
    let histograms = series / 2 / BUCKETS.len();
    let counters = series - histograms * BUCKETS.len();
    for n in 0..counters {
        let (inst, rest) = (n / 30, n % 30);
        let (m, e, s) = (rest / 15, (rest / 3) % 5, rest % 3);
        specs.push(Spec::new(
            &[
                ("__name__", "keiko_requests_total"),
                ("job", "keiko"),
                ("instance", &format!("app-{inst}:8000")),
                ("method", methods[m]),
                ("endpoint", endpoints[e]),
                ("status", statuses[s]),
            ],
            Shape::Count {
                seed: n as u64,
                base: 0,
                per_step: [40, 3, 1][s],
                factor: 1.0,
                floor: true,
                resets: Vec::new(),
            },
            offset(n),
        ));
    }
    // Histograms: instance × method × endpoint (10 per instance), 8 buckets each.
    for h in 0..histograms {
        let (inst, rest) = (h / 10, h % 10);
        let (m, e) = (rest / 5, rest % 5);
        let instance = format!("app-{inst}:8000");
        for (le, share) in BUCKETS {
            specs.push(Spec::new(
                &[
                    ("__name__", "keiko_request_duration_seconds_bucket"),
                    ("job", "keiko"),
                    ("instance", &instance),
                    ("method", methods[m]),
                    ("endpoint", endpoints[e]),
                    ("le", le),
                ],
                Shape::Count {
                    seed: 1_000_000 + h as u64,
                    base: 0,
                    per_step: 20,
                    factor: share,
                    floor: true,
                    resets: Vec::new(),
                },
                offset(counters + h),
            ));
        }
    }
    specs.extend(errors(2_000_000, [1, 1, 1], offset));
    for (k, agent) in ["planner", "coder", "reviewer"].iter().enumerate() {
        for (l, task) in ["chat", "code", "review"].iter().enumerate() {
            specs.push(Spec::new(
                &[
                    ("__name__", "keiko_agent_tasks_active"),
                    ("job", "keiko"),
                    ("agent_id", agent),
                    ("task_type", task),
                ],
                Shape::Wave {
                    seed: 3_000_000 + (k * 3 + l) as u64,
                    base: 5.0,
                    amplitude: 4.0,
                    period: 240.0,
                    noise: 2.0,
                    integer: true,
                },
                offset(k * 3 + l),
            ));
        }
    }
    for (k, server) in ["filesystem", "search", "github", "browser", "shell"]
        .iter()
        .enumerate()
    {
        specs.push(Spec::new(
            &[
                ("__name__", "keiko_mcp_server_health"),
                ("job", "keiko"),
                ("server_name", server),
            ],
            Shape::Wave {
                seed: 4_000_000 + k as u64,
                base: 1.0,
                amplitude: 0.0,
                period: 1.0,
                noise: 0.0,
                integer: true,
            },
            offset(k),
        ));
    }
    specs
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_monotonic_between_resets_and_buckets_cumulative() {
        let bucket = |factor| Shape::Count {
            seed: 9,
            base: 0,
            per_step: 7,
            factor,
            floor: true,
            resets: vec![50],
        };
        let low = Spec::new(&[], bucket(0.3), 0);
        let high = Spec::new(&[], bucket(1.0), 0);
        for i in 1..100 {
            let (a, b) = (high.value(i - 1).unwrap(), high.value(i).unwrap());
            assert!(b >= a || i == 50, "step {i}: {a} then {b}");
            assert!(low.value(i).unwrap() <= b);
        }
        assert!(high.value(50).unwrap() < high.value(49).unwrap());
    }

    #[test]
    fn the_bench_load_has_the_asked_series_plus_the_dashboard_families() {
        assert_eq!(bench_load(1000).len(), 1000 + 20);
    }
}
