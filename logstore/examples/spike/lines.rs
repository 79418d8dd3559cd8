//! Synthetic lines in the shape of the seed's StructuredFormatter records: timestamp,
//! level, logger, message, module, function, line, correlation_id, sometimes user_id and
//! an exception; 10 M lines span about 24 h. Deterministic for a seed.

use logstore::{severity, LogColumn, Record};

const SERVICES: [&str; 6] = ["api", "agents", "tasks", "auth", "billing", "search"];

/// (logger, module, function, line, level, message template; `{}` is a number)
const TEMPLATES: [(&str, &str, &str, u32, u8, &str); 14] = [
    (
        "keiko.request",
        "middleware",
        "dispatch",
        41,
        severity::INFO,
        "Request started GET /api/v1/agents/{}",
    ),
    (
        "keiko.request",
        "middleware",
        "dispatch",
        58,
        severity::INFO,
        "Request completed with status 200 in {} ms",
    ),
    (
        "keiko.request",
        "middleware",
        "dispatch",
        61,
        severity::WARNING,
        "Slow request: {} ms over budget",
    ),
    (
        "keiko.agents",
        "worker",
        "run_task",
        120,
        severity::INFO,
        "Task {} picked up by agent",
    ),
    (
        "keiko.agents",
        "worker",
        "run_task",
        166,
        severity::DEBUG,
        "Agent heartbeat sequence {}",
    ),
    (
        "keiko.agents",
        "worker",
        "call_model",
        203,
        severity::ERROR,
        "Timeout calling model endpoint after {} ms",
    ),
    (
        "keiko.db",
        "repository",
        "query",
        77,
        severity::DEBUG,
        "Query took {} ms",
    ),
    (
        "keiko.db",
        "repository",
        "connect",
        33,
        severity::ERROR,
        "Connection refused by database host, retry {}",
    ),
    (
        "keiko.auth",
        "tokens",
        "verify",
        95,
        severity::INFO,
        "Token verified for user {}",
    ),
    (
        "keiko.auth",
        "tokens",
        "verify",
        102,
        severity::WARNING,
        "Token expired for user {}",
    ),
    (
        "keiko.billing",
        "invoices",
        "charge",
        310,
        severity::ERROR,
        "Payment provider timeout, invoice {} not charged",
    ),
    (
        "keiko.search",
        "index",
        "refresh",
        44,
        severity::INFO,
        "Index refreshed, {} documents",
    ),
    (
        "keiko.tasks",
        "scheduler",
        "tick",
        18,
        severity::DEBUG,
        "Scheduler tick {}",
    ),
    (
        "keiko.tasks",
        "scheduler",
        "tick",
        25,
        severity::CRITICAL,
        "Scheduler stalled for {} s",
    ),
];

/// Relative weights of the templates (INFO-heavy, a few % errors).
const WEIGHTS: [u32; 14] = [200, 200, 30, 120, 150, 12, 150, 6, 80, 10, 6, 30, 100, 1];

pub struct Generator {
    state: u64,
    time: i64,
    /// Requests in flight: (correlation id, lines left).
    open: Vec<(String, u32)>,
    total_weight: u32,
}

pub fn uuid_from(state: &mut u64) -> String {
    let a = next(state);
    let b = next(state);
    format!(
        "{:08x}-{:04x}-4{:03x}-a{:03x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        b >> 52,
        b & 0xffff_ffff_ffff
    )
}

fn next(state: &mut u64) -> u64 {
    // xorshift64*
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_f491_4f6c_dd1d)
}

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            state: seed.max(1),
            time: 1_767_225_600_000_000_000, // 2026-01-01
            open: Vec::new(),
            total_weight: WEIGHTS.iter().sum(),
        }
    }

    pub fn now(&self) -> i64 {
        self.time
    }

    pub fn next_record(&mut self) -> Record {
        let r = next(&mut self.state);
        // ~8.6 ms apart on average: 10 M lines in about 24 h.
        self.time += 1_000_000 + (r % 15_280_000) as i64;
        if self.open.len() < 40 {
            let id = uuid_from(&mut self.state);
            self.open.push((id, 3 + (r >> 20) as u32 % 8));
        }
        let slot = (r >> 8) as usize % self.open.len();
        let id = self.open[slot].0.clone();
        self.open[slot].1 -= 1;
        if self.open[slot].1 == 0 {
            self.open.swap_remove(slot);
        }
        let mut pick = (next(&mut self.state) % u64::from(self.total_weight)) as u32;
        let mut t = 0;
        while pick >= WEIGHTS[t] {
            pick -= WEIGHTS[t];
            t += 1;
        }
        let (logger, module, function, line, level, template) = TEMPLATES[t];
        let number = next(&mut self.state) % 5000;
        let message = template.replace("{}", &number.to_string());
        let service = SERVICES[t % SERVICES.len()];
        let mut rec = Record::log(self.time, level, service, &message)
            .with(LogColumn::CorrelationId, &id)
            .attr("logger", logger)
            .attr("module", module)
            .attr("function", function)
            .attr("line", &line.to_string());
        if r.is_multiple_of(3) {
            rec = rec.attr("user_id", &format!("user-{}", (r >> 33) % 2000));
        }
        if level >= severity::ERROR && r.is_multiple_of(2) {
            rec = rec
                .attr("exception.type", "TimeoutError")
                .attr("exception.message", &message)
                .attr(
                    "exception.traceback",
                    &format!(
                        "Traceback (most recent call last):\n  File \"/app/keiko/{module}.py\", line {line}, in {function}\nTimeoutError: {message}"
                    ),
                );
        }
        rec
    }
}

/// `k` correlation ids that occur in the first `n` lines of seed `seed`, spread evenly.
pub fn sample_ids(seed: u64, n: usize, k: usize) -> Vec<String> {
    let mut g = Generator::new(seed);
    let every = (n / k).max(1);
    let mut out = Vec::new();
    for i in 0..n {
        let r = g.next_record();
        if i % every == every / 2 && out.len() < k {
            out.push(
                r.values[LogColumn::CorrelationId as usize]
                    .as_str()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
    }
    out
}

/// A record as one flat JSON line (the columns the peers' tables have), for loading the
/// same lines into ClickHouse and SQLite (`scripts/bench_logs.sh`).
pub fn to_json(r: &Record) -> String {
    let s = |c: LogColumn| r.values[c as usize].as_str().unwrap_or("").to_owned();
    let sev = r.values[LogColumn::Severity as usize].as_int().unwrap_or(0);
    let attr = |k: &str| {
        r.attributes
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    serde_json::json!({
        "time_ns": r.time,
        "level": severity::level_name(sev),
        "service": s(LogColumn::Service),
        "correlation_id": s(LogColumn::CorrelationId),
        "message": r.body,
        "logger": attr("logger"),
        "module": attr("module"),
        "function": attr("function"),
        "line": attr("line").parse::<u32>().unwrap_or(0),
        "user_id": attr("user_id"),
        "exception_type": attr("exception.type"),
        "exception_message": attr("exception.message"),
        "exception_traceback": attr("exception.traceback"),
    })
    .to_string()
}
