//! Known data for tests and benchmarks: the seed dashboard's metrics over a day, in OpenMetrics text
//! for `promtool tsdb create-blocks-from openmetrics` (via [`crate::prometheus::Prometheus`]).

/// The families the seed's "Keiko Overview" panels query (`keiko_requests_total`,
/// `keiko_errors_total`, `keiko_agent_tasks_active`, `keiko_mcp_server_health`), one sample
/// a minute over the 24 h ending at `end`. Each family's samples are together, as
/// OpenMetrics requires; no `# EOF` (the caller may add more families).
pub fn seed_day(end: i64) -> String {
    let mut families: [(&str, &str, String); 4] = [
        ("keiko_requests", "counter", String::new()),
        ("keiko_errors", "counter", String::new()),
        ("keiko_agent_tasks_active", "gauge", String::new()),
        ("keiko_mcp_server_health", "gauge", String::new()),
    ];
    for (i, t) in (end - 86_400..=end).step_by(60).enumerate() {
        let i = i as u64;
        for (m, e) in [
            ("GET", "/api/chat"),
            ("POST", "/api/chat"),
            ("POST", "/api/agents"),
            ("GET", "/health"),
        ] {
            families[0].2.push_str(&format!(
                "keiko_requests_total{{method=\"{m}\",endpoint=\"{e}\"}} {} {t}\n",
                i * 7
            ));
        }
        for e in ["ValidationError", "TimeoutError"] {
            families[1].2.push_str(&format!(
                "keiko_errors_total{{error_type=\"{e}\"}} {} {t}\n",
                i / 3
            ));
        }
        for a in ["planner", "coder", "reviewer"] {
            families[2].2.push_str(&format!(
                "keiko_agent_tasks_active{{agent_id=\"{a}\",task_type=\"chat\"}} {} {t}\n",
                i % 5
            ));
        }
        for s in ["filesystem", "search"] {
            families[3].2.push_str(&format!(
                "keiko_mcp_server_health{{server_name=\"{s}\"}} 1 {t}\n"
            ));
        }
    }
    families
        .iter()
        .map(|(name, kind, samples)| format!("# TYPE {name} {kind}\n{samples}"))
        .collect()
}

/// `series` noisy gauges `keiko_agent_task_duration_seconds{agent_type="agent-K"}`, one sample
/// a minute from `start` to `end` (a fixed pseudo-random sequence: the same every run).
pub fn durations(start: i64, end: i64, series: usize) -> String {
    let mut om = String::from("# TYPE keiko_agent_task_duration_seconds gauge\n");
    let mut x: u64 = 3;
    for t in (start..=end).step_by(60) {
        for k in 0..series {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let v = ((x >> 33) % 10_000) as f64 / 1000.0;
            om.push_str(&format!(
                "keiko_agent_task_duration_seconds{{agent_type=\"agent-{k}\"}} {v} {t}\n"
            ));
        }
    }
    om
}

/// `keiko_agent_tasks_active{agent_id, task_type="chat"}` for a planner and a coder, one
/// sample every 15 s from `start`: the planner holds `i % modulus` at sample `i`, the coder
/// twice that. Complete OpenMetrics (with `# EOF`).
pub fn agent_tasks(start: i64, samples: i64, modulus: i64) -> String {
    let mut om = String::from("# TYPE keiko_agent_tasks_active gauge\n");
    for i in 0..samples {
        let t = start + 15 * i;
        for (agent, factor) in [("planner", 1), ("coder", 2)] {
            om.push_str(&format!(
                "keiko_agent_tasks_active{{agent_id=\"{agent}\",task_type=\"chat\"}} {} {t}\n",
                factor * (i % modulus)
            ));
        }
    }
    om.push_str("# EOF\n");
    om
}
