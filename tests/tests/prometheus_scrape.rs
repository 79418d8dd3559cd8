//! A real Prometheus (Debian's package) scrapes the portal's /metrics and answers PromQL
//! about it: the seed's families arrive in a real TSDB unchanged.

use std::time::Duration;

use e2e::eventually;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;

#[tokio::test]
async fn prometheus_scrapes_the_portal_and_answers_for_keiko_requests_total() {
    let portal = Portal::start().await;
    for _ in 0..3 {
        reqwest::get(portal.url("/healthz")).await.unwrap();
    }
    let prom = Prometheus::scraping(&portal.addr.to_string()).await;

    let series = eventually(Duration::from_secs(30), "keiko_requests_total in Prometheus", || async {
        let result = prom
            .query(r#"keiko_requests_total{job="keiko",endpoint="/healthz",method="GET",status="200"}"#)
            .await;
        (!result.is_empty()).then_some(result)
    })
    .await;
    let value: f64 = series[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(
        value >= 3.0,
        "three /healthz requests were made, Prometheus saw {value}"
    );

    let up = prom.query(r#"up{job="keiko"}"#).await;
    assert_eq!(up[0]["value"][1], "1");

    // The seed's HighMemoryUsage expression has data to evaluate.
    let memory = prom
        .query(r#"process_resident_memory_bytes{job="keiko"} / 1024 / 1024"#)
        .await;
    let mb: f64 = memory[0]["value"][1].as_str().unwrap().parse().unwrap();
    assert!(mb > 1.0 && mb < 1000.0, "resident memory {mb} MB");

    // The histogram's buckets are queryable as the seed defines them.
    let buckets = prom
        .query(r#"count(keiko_request_duration_seconds_bucket{job="keiko",endpoint="/healthz"})"#)
        .await;
    assert_eq!(buckets[0]["value"][1], "8", "7 seed buckets + Inf");
}
