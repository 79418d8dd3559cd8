//! Fifty anonymous clients with made-up Basic logins for ten seconds. In a test binary of its
//! own, so no other test of the suite loads the machine meanwhile (cargo runs test binaries
//! one after another).

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::time::{Duration, Instant};

use e2e::portal::Portal;

/// `/healthz` timed from a thread of its own with a plain socket, so the measurement does not
/// wait behind the fifty flooding tasks on the test's own runtime.
fn healthz_latency(addr: std::net::SocketAddr) -> Duration {
    let started = Instant::now();
    let mut stream = std::net::TcpStream::connect(addr).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: portal\r\nConnection: close\r\n\r\n")
        .expect("send");
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .expect("/healthz answers during the flood");
    let elapsed = started.elapsed();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    elapsed
}

fn resident_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Fifty anonymous clients with made-up Basic logins for ten seconds: hashing is bounded,
/// so memory stays flat and `/healthz` keeps answering at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_made_up_basic_logins_neither_swells_nor_stalls_the_portal() {
    let portal = Portal::start().await;
    let pid = portal.pid();
    let base = portal.url("");
    let until = Instant::now() + Duration::from_secs(10);
    let mut flood = Vec::new();
    for i in 0..50 {
        let base = base.clone();
        flood.push(tokio::spawn(async move {
            let mut answers: BTreeMap<u16, u32> = BTreeMap::new();
            let mut n = 0u64;
            let client = reqwest::Client::new();
            while Instant::now() < until {
                n += 1;
                let resp = client
                    .get(format!("{base}/api/v1/users/me"))
                    .basic_auth(format!("intruder{i}x{n}"), Some(format!("guess-{n}-{i}")))
                    .timeout(Duration::from_secs(20))
                    .send()
                    .await;
                if let Ok(resp) = resp {
                    *answers.entry(resp.status().as_u16()).or_default() += 1;
                }
            }
            answers
        }));
    }
    let addr = portal.addr;
    let probe = std::thread::spawn(move || {
        let (mut worst, mut peak) = (Duration::ZERO, 0u64);
        while Instant::now() < until {
            worst = worst.max(healthz_latency(addr));
            peak = peak.max(resident_bytes(pid));
            std::thread::sleep(Duration::from_millis(100));
        }
        (worst, peak)
    });
    let (worst, peak) = tokio::task::spawn_blocking(move || probe.join().expect("probe"))
        .await
        .unwrap();
    let mut answers: BTreeMap<u16, u32> = BTreeMap::new();
    for f in flood {
        for (k, v) in f.await.unwrap() {
            *answers.entry(k).or_default() += v;
        }
    }
    // Only refusals: 401 for hashed attempts, 503 for those the full pool turned away.
    assert!(
        answers.keys().all(|s| *s == 401 || *s == 503),
        "{answers:?}"
    );
    assert!(answers.get(&401).copied().unwrap_or(0) > 0, "{answers:?}");
    assert!(peak > 0, "read the portal's memory");
    assert!(
        // Argon2's 19 MiB is allocated once per hashing thread and reused: a fresh buffer per
        // attempt fragmented the heap and a flood grew the process to ~320 MB (debug build).
        peak < 200 * 1024 * 1024,
        "resident memory peaked at {} MB",
        peak / 1024 / 1024
    );
    assert!(
        worst < Duration::from_millis(100),
        "/healthz took {worst:?} at worst"
    );
    // A real sign-in still works at once afterwards.
    let (s, me) = portal.admin().get("/api/v1/users/me").await;
    assert_eq!(s, 200, "{me}");
}
