//! Support for the end-to-end suites: the real `keiko-portal` binary on a free port with a
//! fresh data directory, a real Prometheus, and a real headless Chromium driven over
//! WebDriver (a small client on reqwest; chromedriver does the driving).

pub mod alerting;
pub mod alertmanager;
pub mod api;
pub mod certs;
pub mod logs;
pub mod portal;
pub mod prometheus;
pub mod receiver;
pub mod remote_write;
pub mod seed_data;
pub mod spans;
pub mod svg;
pub mod synthetic;
pub mod ui;
pub mod victoria;
pub mod webdriver;

use std::net::TcpListener;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The workspace root (the tests run from `tests/`).
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A port nobody listens on right now, for programs that cannot bind port 0 and report it.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral port")
}

/// Now, in Unix seconds.
pub fn now_seconds() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("a clock after 1970")
        .as_secs_f64()
}

/// Polls `check` every 100 ms until it yields a value or `timeout` passes.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(value) = check().await {
            return value;
        }
        if Instant::now() > deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits up to 30 s until `url` answers 2xx (a service started by a test is ready).
pub async fn wait_until_ok(url: &str, what: &str) {
    eventually(Duration::from_secs(30), what, || async {
        reqwest::get(url)
            .await
            .ok()?
            .status()
            .is_success()
            .then_some(())
    })
    .await;
}

/// Runs `tests/python/<script>` with the pinned Python clients (`scripts/setup.sh test` puts
/// them in `.tools/venv`) and `env`; returns its stdout, panicking with its stderr on failure.
pub async fn run_python(script: &str, env: &[(&str, String)]) -> String {
    let root = workspace_root();
    let python = root.join(".tools/venv/bin/python");
    assert!(
        python.exists(),
        "{} is missing: run `scripts/setup.sh test` (make test does)",
        python.display()
    );
    let out = tokio::process::Command::new(python)
        .arg(root.join("tests/python").join(script))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .await
        .expect("running python");
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Unix seconds as RFC 3339 in UTC (`2026-12-03T09:00:00Z`).
pub fn rfc3339(secs: i64) -> String {
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// An RFC 3339 time in UTC as the portal writes it (`2026-12-03T10:00:01.5Z`, fractions
/// optional) → Unix milliseconds.
pub fn rfc3339_millis(t: &str) -> i64 {
    let s = t.trim_end_matches('Z');
    let (date, time) = s.split_once('T').expect("date and time");
    let d: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
    let (y, m) = if d[1] <= 2 {
        (d[0] - 1, d[1] + 9)
    } else {
        (d[0], d[1] - 3)
    };
    let days = 365 * y + y / 4 - y / 100 + y / 400 + (153 * m + 2) / 5 + d[2] - 719_469;
    let c: Vec<f64> = time.split(':').map(|x| x.parse().unwrap()).collect();
    days * 86_400_000 + ((c[0] * 3600.0 + c[1] * 60.0 + c[2]) * 1000.0).round() as i64
}
