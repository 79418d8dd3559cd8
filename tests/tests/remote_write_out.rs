//! Scale-out by remote-write: every sample the portal's embedded store accepts reaches a real
//! VictoriaMetrics 1.79 and a real Prometheus 2.42 (`--web.enable-remote-write-receiver`),
//! and a receiver that is down at first gets the queued samples once it comes up.

use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::victoria::VictoriaMetrics;
use e2e::{eventually, free_port, now_seconds};
use serde_json::Value;

const UP: &str = "up{job=\"keiko-portal\"}";
const COUNT: &str = "count_over_time(up{job=\"keiko-portal\"}[1m])";

/// An instant query on a Prometheus-API store at `time`: the result's values by series.
/// `nocache=1` stops VictoriaMetrics from moving a recent `time` back by its 30 s
/// `-search.latencyOffset` (Prometheus ignores the parameter). VictoriaMetrics is flushed
/// first, so what it received is searchable.
async fn store_query(base: &str, promql: &str, time: f64) -> Vec<f64> {
    let http = reqwest::Client::new();
    let _ = http
        .get(format!("{base}/internal/force_flush"))
        .send()
        .await;
    let body: Value = http
        .get(format!("{base}/api/v1/query"))
        .query(&[
            ("query", promql),
            ("time", &format!("{time:.3}")),
            ("nocache", "1"),
        ])
        .send()
        .await
        .expect("querying a receiver")
        .json()
        .await
        .expect("a receiver answers JSON");
    assert_eq!(body["status"], "success", "{promql}: {body}");
    values(&body["data"])
}

/// The same query on the portal's own Prometheus API.
async fn portal_query(admin: &Client, promql: &str, time: f64) -> Vec<f64> {
    let query: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("query", promql)
        .append_pair("time", &format!("{time:.3}"))
        .finish();
    let (status, body) = admin
        .get(&format!("/prometheus/api/v1/query?{query}"))
        .await;
    assert_eq!(status, 200, "{promql}: {body}");
    assert_eq!(body["status"], "success", "{body}");
    values(&body["data"])
}

fn values(data: &Value) -> Vec<f64> {
    data["result"]
        .as_array()
        .map(|series| {
            series
                .iter()
                .filter_map(|s| s["value"][1].as_str()?.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The one series' value, or `None` when there is none yet.
fn single(values: Vec<f64>) -> Option<f64> {
    assert!(values.len() <= 1, "one series expected: {values:?}");
    values.first().copied()
}

/// `name{url="<url>"}` on the portal's `/metrics`.
async fn portal_metric(portal: &Portal, name: &str, url: &str) -> Option<f64> {
    let text = reqwest::get(portal.url("/metrics"))
        .await
        .ok()?
        .text()
        .await
        .ok()?;
    metric_value(&text, name, url)
}

/// `name{url="<url>"}` in a text exposition.
fn metric_value(text: &str, name: &str, url: &str) -> Option<f64> {
    let prefix = format!("{name}{{url=\"{url}\"}} ");
    text.lines()
        .find_map(|line| line.strip_prefix(&prefix)?.trim().parse().ok())
}

/// Waits until the receiver at `base` counts the same `up` samples as the portal at `time`
/// (within one scrape, for a sample on the window's edge) and returns both counts.
async fn counts_agree(base: &str, admin: &Client, time: f64, what: &str) -> (f64, f64) {
    eventually(Duration::from_secs(30), what, || async {
        let own = single(portal_query(admin, COUNT, time).await)?;
        let theirs = single(store_query(base, COUNT, time).await)?;
        ((own - theirs).abs() <= 1.0).then_some((own, theirs))
    })
    .await
}

#[tokio::test]
async fn every_sample_the_portal_stores_reaches_victoriametrics_and_prometheus() {
    let vm = VictoriaMetrics::start().await;
    let prom = Prometheus::receiving().await;
    let urls = format!("{}/api/v1/write,{}/api/v1/write", vm.url(), prom.url());
    let portal = Portal::start_with(&[
        ("KEIKO_REMOTE_WRITE_URLS", &urls),
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1"),
    ])
    .await;
    let admin = portal.admin();

    for (name, base) in [("VictoriaMetrics", vm.url()), ("Prometheus", prom.url())] {
        let up = eventually(
            Duration::from_secs(30),
            &format!("up of the portal in {name}"),
            || async { single(store_query(&base, UP, now_seconds()).await) },
        )
        .await;
        assert_eq!(up, 1.0, "{name}");
    }

    // Some scrapes later, at a moment the forwarder has had time to pass on (one batch
    // wait and a request), each receiver holds as many samples of the last minute as the
    // portal itself.
    // Eight scrapes: three seconds before the last, at least three are in the window.
    eventually(Duration::from_secs(30), "eight self-scrapes", || async {
        single(portal_query(&admin, COUNT, now_seconds()).await).filter(|n| *n >= 8.0)
    })
    .await;
    let at = now_seconds() - 3.0;
    for (name, base) in [("VictoriaMetrics", vm.url()), ("Prometheus", prom.url())] {
        let (own, theirs) = counts_agree(&base, &admin, at, &format!("{name}'s count")).await;
        assert!(
            own >= 3.0,
            "{name}: the portal counts {own}, {theirs} there"
        );
    }

    // Both receivers are counted as sent to, and nothing was dropped on the way.
    let text = reqwest::get(portal.url("/metrics"))
        .await
        .expect("the portal's /metrics")
        .text()
        .await
        .unwrap();
    for url in [
        format!("{}/api/v1/write", vm.url()),
        format!("{}/api/v1/write", prom.url()),
    ] {
        let sent = metric_value(&text, "keiko_remote_write_samples_sent_total", &url);
        assert!(
            sent.is_some_and(|n| n > 0.0),
            "nothing counted as sent to {url}"
        );
        for reason in ["queue_full", "rejected"] {
            let line = format!(
                "keiko_remote_write_samples_dropped_total{{reason=\"{reason}\",url=\"{url}\"}} 0"
            );
            assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
        }
    }
}

#[tokio::test]
async fn samples_queued_while_a_receiver_is_down_arrive_once_it_comes_up() {
    let port = free_port();
    let write_url = format!("http://127.0.0.1:{port}/api/v1/write");
    let portal = Portal::start_with(&[
        ("KEIKO_REMOTE_WRITE_URLS", &write_url),
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "1"),
    ])
    .await;
    let admin = portal.admin();
    eventually(Duration::from_secs(20), "the first self-scrape", || async {
        single(portal_query(&admin, UP, now_seconds()).await)
    })
    .await;

    tokio::time::sleep(Duration::from_secs(3)).await;
    let came_up_at = now_seconds();
    let vm = VictoriaMetrics::start_on(port).await;

    // The samples stored while nobody listened are there: counted at the moment the
    // receiver came up, it holds what the portal held then.
    let (own, _) = counts_agree(
        &vm.url(),
        &admin,
        came_up_at,
        "the samples queued during the outage",
    )
    .await;
    assert!(own >= 3.0, "the portal counts only {own} samples");

    let retries = portal_metric(&portal, "keiko_remote_write_retries_total", &write_url)
        .await
        .unwrap_or(0.0);
    assert!(retries > 0.0, "no retry counted for {write_url}");
    let sent = portal_metric(&portal, "keiko_remote_write_samples_sent_total", &write_url)
        .await
        .unwrap_or(0.0);
    assert!(
        sent >= own,
        "{sent} counted as sent, {own} stored at the time"
    );
}
