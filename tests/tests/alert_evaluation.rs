//! Rule evaluation through the real server, side by side with the real Prometheus 2.42:
//! both receive the same samples by remote-write and evaluate the same rules every second;
//! their alerts go pending, fire and resolve together. The seed's four alerts, recording
//! rules, `ALERTS`, restart with the same alerts, health and errors, refused inputs.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::{eventually, workspace_root};
use reqwest::Method;
use serde_json::{json, Value};

/// The portal without its self-scrape: only the samples a test pushes exist.
async fn portal() -> Portal {
    Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await
}

/// Series `(labels, value)` at `t_ms` as a snappy remote-write body.
fn write_body(series: &[(Vec<(&str, &str)>, f64)], t_ms: i64) -> Vec<u8> {
    use prost::Message as _;
    let request = ingest::prompb::WriteRequest {
        timeseries: series
            .iter()
            .map(|(labels, v)| ingest::prompb::TimeSeries {
                labels: {
                    let mut l = labels.clone();
                    l.sort();
                    l
                }
                .iter()
                .map(|(n, v)| ingest::prompb::Label {
                    name: n.to_string(),
                    value: v.to_string(),
                })
                .collect(),
                samples: vec![ingest::prompb::Sample {
                    value: *v,
                    timestamp: t_ms,
                }],
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    };
    snap::raw::Encoder::new()
        .compress_vec(&request.encode_to_vec())
        .unwrap()
}

fn now_ms() -> i64 {
    (e2e::now_seconds() * 1000.0) as i64
}

/// Pushes the same samples, stamped now, to the portal and (if given) to Prometheus.
async fn push_both(admin: &Client, prom: Option<&Prometheus>, series: &[(Vec<(&str, &str)>, f64)]) {
    let body = write_body(series, now_ms());
    let resp = admin
        .request(Method::POST, "/api/v1/write")
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "portal push: {}", resp.status());
    if let Some(prom) = prom {
        push_prometheus(prom, body).await;
    }
}

async fn push_prometheus(prom: &Prometheus, body: Vec<u8>) {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/v1/write", prom.url()))
        .header("content-type", "application/x-protobuf")
        .header("content-encoding", "snappy")
        .header("x-prometheus-remote-write-version", "0.1.0")
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(
        resp.status().is_success(),
        "Prometheus push: {}",
        resp.status()
    );
}

async fn import(admin: &Client, yaml: &str) {
    let resp = admin
        .request(Method::POST, "/api/v1/rules/import")
        .header("content-type", "application/yaml")
        .body(yaml.to_owned())
        .send()
        .await
        .unwrap();
    let status = resp.status();
    assert_eq!(
        status,
        200,
        "import: {}",
        resp.text().await.unwrap_or_default()
    );
}

/// `alertname → state` of the alerts in an `/api/v1/alerts` answer's `data`.
fn states(data: &Value) -> BTreeMap<String, String> {
    data["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap().to_owned(),
                a["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn portal_alerts(admin: &Client) -> Value {
    let (s, body) = admin.get("/api/v1/alerts").await;
    assert_eq!(s, 200, "{body}");
    body["data"].clone()
}

/// When each state was first seen for `alert` in a timeline of (seconds, states).
fn first_seen(
    timeline: &[(f64, BTreeMap<String, String>)],
    alert: &str,
    state: &str,
) -> Option<f64> {
    timeline
        .iter()
        .find(|(_, s)| s.get(alert).map(String::as_str) == Some(state))
        .map(|(t, _)| *t)
}

/// First time `alert` is gone after having been seen.
fn resolved_at(timeline: &[(f64, BTreeMap<String, String>)], alert: &str) -> Option<f64> {
    let seen = timeline.iter().position(|(_, s)| s.contains_key(alert))?;
    timeline[seen..]
        .iter()
        .find(|(_, s)| !s.contains_key(alert))
        .map(|(t, _)| *t)
}

/// How far apart (seconds) the two may see a transition: both evaluate every second at
/// their own offset, and the test samples every half second, on a machine that also builds.
const MARGIN_S: f64 = 3.0;

const AGREEMENT_RULES: &str = r#"groups:
  - name: agreement
    interval: 1s
    rules:
      - alert: GaugeHigh
        expr: keiko_test_gauge > 5
        for: 5s
        labels:
          severity: warning
          where: '{{ $labels.instance }}'
        annotations:
          summary: 'Gauge on {{ $labels.instance }} is {{ $value }} ({{ $value | humanize }})'
          series: '{{ with query "count(keiko_test_gauge)" }}{{ . | first | value }}{{ end }}'
          formatted: '{{ printf "%.2f" $value }} {{ $value | humanizePercentage }} {{ $value | humanizeDuration }} {{ printf "%s=%q" "instance" $labels.instance }}'
      - alert: GaugeHighKeptFiring
        expr: keiko_test_gauge > 5
        keep_firing_for: 4s
      - record: instance:keiko_test_gauge:doubled
        expr: keiko_test_gauge * 2
"#;

#[tokio::test]
async fn the_portal_and_prometheus_agree_on_pending_firing_and_resolved_over_time() {
    let prom = Prometheus::with_rules(AGREEMENT_RULES).await;
    let portal = portal().await;
    let admin = portal.admin();
    import(&admin, AGREEMENT_RULES).await;
    // Both evaluate groups at aligned times; give the portal's group a moment to start.
    tokio::time::sleep(Duration::from_secs(3)).await;

    let started = Instant::now();
    let mut portal_timeline = Vec::new();
    let mut prom_timeline = Vec::new();
    let mut checked_firing = false;
    while started.elapsed() < Duration::from_secs(26) {
        let t = started.elapsed().as_secs_f64();
        // High for the first 12 s on instance a; instance b stays low.
        let a = if t < 12.0 { 10.0 } else { 0.0 };
        push_both(
            &admin,
            Some(&prom),
            &[
                (vec![("__name__", "keiko_test_gauge"), ("instance", "a")], a),
                (
                    vec![("__name__", "keiko_test_gauge"), ("instance", "b")],
                    1.0,
                ),
            ],
        )
        .await;
        let p = portal_alerts(&admin).await;
        let q = prom.api("alerts").await;
        portal_timeline.push((t, states(&p)));
        prom_timeline.push((t, states(&q)));
        if !checked_firing && states(&p).get("GaugeHigh").map(String::as_str) == Some("firing") {
            checked_firing = true;
            // Same labels and annotations as Prometheus's (templated the same way).
            let mine = &p["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"]["alertname"] == "GaugeHigh")
                .unwrap()
                .clone();
            let theirs = eventually(Duration::from_secs(5), "Prometheus's GaugeHigh", || async {
                prom.api("alerts").await["alerts"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|a| a["labels"]["alertname"] == "GaugeHigh")
                    .cloned()
            })
            .await;
            assert_eq!(mine["labels"], theirs["labels"]);
            assert_eq!(mine["annotations"], theirs["annotations"]);
            assert_eq!(mine["annotations"]["summary"], "Gauge on a is 10 (10)");
            assert_eq!(mine["annotations"]["series"], "2", "the query function");
            assert_eq!(
                mine["annotations"]["formatted"], "10.00 1000% 10s instance=\"a\"",
                "printf and the humanize functions"
            );
            assert_eq!(
                mine["value"], theirs["value"],
                "values are written as Prometheus writes them"
            );
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        checked_firing,
        "the portal's GaugeHigh fired: {portal_timeline:?}"
    );
    for (alert, state) in [
        ("GaugeHigh", "pending"),
        ("GaugeHigh", "firing"),
        ("GaugeHighKeptFiring", "firing"),
    ] {
        let mine = first_seen(&portal_timeline, alert, state)
            .unwrap_or_else(|| panic!("portal never saw {alert} {state}"));
        let theirs = first_seen(&prom_timeline, alert, state)
            .unwrap_or_else(|| panic!("Prometheus never saw {alert} {state}"));
        assert!(
            (mine - theirs).abs() <= MARGIN_S,
            "{alert} {state}: portal at {mine:.1}s, Prometheus at {theirs:.1}s"
        );
    }
    // `for: 5s`: firing about five seconds after pending, in both.
    let pending = first_seen(&portal_timeline, "GaugeHigh", "pending").unwrap();
    let firing = first_seen(&portal_timeline, "GaugeHigh", "firing").unwrap();
    assert!(
        (4.0..=7.5).contains(&(firing - pending)),
        "pending {pending}, firing {firing}"
    );
    // Resolution, and keep_firing_for holding the second alert about four seconds longer.
    for alert in ["GaugeHigh", "GaugeHighKeptFiring"] {
        let mine = resolved_at(&portal_timeline, alert).expect("resolved in the portal");
        let theirs = resolved_at(&prom_timeline, alert).expect("resolved in Prometheus");
        assert!(
            (mine - theirs).abs() <= MARGIN_S,
            "{alert} resolved: portal at {mine:.1}s, Prometheus at {theirs:.1}s"
        );
    }
    let kept = resolved_at(&portal_timeline, "GaugeHighKeptFiring").unwrap()
        - resolved_at(&portal_timeline, "GaugeHigh").unwrap();
    assert!((2.5..=6.0).contains(&kept), "kept firing {kept:.1}s longer");
    // Never an alert for instance b, in either.
    for (_, s) in portal_timeline.iter().chain(&prom_timeline) {
        assert!(s.len() <= 2, "{s:?}");
    }

    // The recorded series and ALERTS are in the embedded store, as in Prometheus's TSDB.
    let (s, body) = admin
        .get("/prometheus/api/v1/query?query=max_over_time(instance:keiko_test_gauge:doubled%7Binstance%3D%22a%22%7D%5B1m%5D)")
        .await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(body["data"]["result"][0]["value"][1], "20", "{body}");
    let (_, body) = admin
        .get("/prometheus/api/v1/query?query=count_over_time(ALERTS%7Balertname%3D%22GaugeHigh%22%2Calertstate%3D%22firing%22%7D%5B1m%5D)%20%3E%200")
        .await;
    assert_eq!(body["data"]["result"][0]["metric"]["where"], "a", "{body}");
    let theirs = prom.api("query?query=count_over_time(ALERTS%7Balertname%3D%22GaugeHigh%22%2Calertstate%3D%22firing%22%7D%5B1m%5D)%20%3E%200").await;
    assert_eq!(
        theirs["result"][0]["metric"],
        body["data"]["result"][0]["metric"]
    );

    // Resolved alerts leave ALERTS by staleness markers, in both: nothing within the lookback.
    let (_, body) = admin
        .get("/prometheus/api/v1/query?query=ALERTS%7Balertname%3D%22GaugeHigh%22%7D")
        .await;
    assert_eq!(body["data"]["result"], json!([]), "{body}");
    let theirs = prom
        .api("query?query=ALERTS%7Balertname%3D%22GaugeHigh%22%7D")
        .await;
    assert_eq!(theirs["result"], json!([]));

    // Health and evaluation times per rule and group, in Prometheus's shape at both paths.
    for path in ["/api/v1/rules", "/prometheus/api/v1/rules"] {
        let (s, body) = admin.get(path).await;
        assert_eq!(s, 200);
        let group = &body["data"]["groups"][0];
        assert_eq!(group["name"], "agreement");
        assert_eq!(group["interval"], 1.0);
        assert_ne!(group["lastEvaluation"], "0001-01-01T00:00:00Z");
        for rule in group["rules"].as_array().unwrap() {
            assert_eq!(rule["health"], "ok", "{rule}");
            assert!(rule["evaluationTime"].as_f64().unwrap() >= 0.0);
            assert!(rule["lastError"].is_null(), "{rule}");
        }
        assert_eq!(group["rules"][1]["keepFiringFor"], 4.0);
        assert_eq!(group["rules"][2]["type"], "recording");
    }
}

#[tokio::test]
async fn the_seed_alerts_are_evaluated_as_prometheus_evaluates_them() {
    // The seed's rule file as shipped, evaluated every second.
    let seed = std::fs::read_to_string(workspace_root().join("tests/fixtures/seed.rules.yml"))
        .unwrap()
        .replace(
            "  - name: keiko.rules\n",
            "  - name: keiko.rules\n    interval: 1s\n",
        );
    assert!(seed.contains("interval: 1s"), "{seed}");
    let prom = Prometheus::with_rules(&seed).await;
    let portal = portal().await;
    let admin = portal.admin();
    import(&admin, &seed).await;

    // Errors and failed agent tasks counting up by 2/s, an MCP server down, 2 GB resident.
    let started = Instant::now();
    let expected = [
        "AgentTaskFailures",
        "HighErrorRate",
        "HighMemoryUsage",
        "MCPServerDown",
    ];
    let mut both = None;
    while started.elapsed() < Duration::from_secs(40) {
        let n = (started.elapsed().as_secs_f64() * 2.0).floor();
        push_both(
            &admin,
            Some(&prom),
            &[
                (
                    vec![
                        ("__name__", "keiko_errors_total"),
                        ("error_type", "Timeout"),
                        ("component", "api"),
                        ("severity", "error"),
                    ],
                    n,
                ),
                (
                    vec![
                        ("__name__", "keiko_agent_task_duration_seconds_count"),
                        ("status", "failed"),
                        ("agent_id", "agent-7"),
                    ],
                    n,
                ),
                (
                    vec![
                        ("__name__", "keiko_mcp_server_health"),
                        ("server_name", "search"),
                    ],
                    0.0,
                ),
                (
                    vec![
                        ("__name__", "process_resident_memory_bytes"),
                        ("job", "agent"),
                    ],
                    2_000_000_000.0,
                ),
            ],
        )
        .await;
        let mine = portal_alerts(&admin).await;
        let theirs = prom.api("alerts").await;
        let firing =
            |d: &Value| states(d).get("MCPServerDown").map(String::as_str) == Some("firing");
        if states(&mine).len() == 4 && firing(&mine) && firing(&theirs) {
            both = Some((mine, theirs));
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let (mine, theirs) =
        both.expect("all four seed alerts active and MCPServerDown firing in both");
    assert_eq!(states(&mine).keys().collect::<Vec<_>>(), expected);
    assert_eq!(states(&theirs).keys().collect::<Vec<_>>(), expected);
    let by_name = |d: &Value, n: &str| {
        d["alerts"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["labels"]["alertname"] == n)
            .unwrap()
            .clone()
    };
    for name in expected {
        let (m, t) = (by_name(&mine, name), by_name(&theirs, name));
        assert_eq!(m["labels"], t["labels"], "{name}");
        assert_eq!(
            m["annotations"]["summary"], t["annotations"]["summary"],
            "{name}"
        );
        if name == "MCPServerDown" || name == "HighMemoryUsage" {
            assert_eq!(m["annotations"], t["annotations"], "{name}");
            assert_eq!(m["value"], t["value"], "{name}");
        }
    }
    assert_eq!(
        by_name(&mine, "MCPServerDown")["annotations"]["description"],
        "MCP-Server search ist nicht erreichbar"
    );
    assert_eq!(
        by_name(&mine, "HighMemoryUsage")["annotations"]["description"],
        "Speicherverbrauch: 1907.3486328125MB"
    );
    assert!(
        by_name(&mine, "AgentTaskFailures")["annotations"]["description"]
            .as_str()
            .unwrap()
            .starts_with("Agent agent-7 hat Fehlerrate von ")
    );
}

#[tokio::test]
async fn a_group_naming_a_source_is_evaluated_there_and_records_into_the_embedded_store() {
    let prom = Prometheus::with_rules("groups: []\n").await;
    let portal = portal().await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "prom", "type": "prometheus", "url": prom.url()}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    import(
        &admin,
        "groups:\n  - name: elsewhere\n    interval: 1s\n    source: prom\n    rules:\n      - alert: OnlyInPrometheus\n        expr: keiko_remote_gauge > 5\n      - record: keiko_remote_gauge:copied\n        expr: keiko_remote_gauge\n",
    )
    .await;
    // The samples go to Prometheus only: the portal can only see them by asking it.
    let alert = eventually(
        Duration::from_secs(20),
        "OnlyInPrometheus firing",
        || async {
            let series = [(
                vec![("__name__", "keiko_remote_gauge"), ("site", "x")],
                10.0,
            )];
            push_prometheus(&prom, write_body(&series, now_ms())).await;
            let data = portal_alerts(&admin).await;
            data["alerts"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["labels"]["alertname"] == "OnlyInPrometheus" && a["state"] == "firing")
                .cloned()
        },
    )
    .await;
    assert_eq!(alert["labels"]["site"], "x");
    let recorded = eventually(Duration::from_secs(10), "the recorded series", || async {
        let (_, body) = admin
            .get("/prometheus/api/v1/query?query=keiko_remote_gauge:copied")
            .await;
        body["data"]["result"].as_array()?.first().cloned()
    })
    .await;
    assert_eq!(recorded["value"][1], "10");
    assert_eq!(recorded["metric"]["site"], "x");
}

#[tokio::test]
async fn after_a_restart_firing_alerts_are_still_firing_since_the_same_time_and_pending_ones_do_not_count_the_downtime(
) {
    let portal = portal().await;
    let admin = portal.admin();
    import(
        &admin,
        "groups:\n  - name: always\n    interval: 1s\n    rules:\n      - alert: AlwaysOn\n        expr: vector(1)\n        for: 2s\n        labels: {severity: info}\n      - alert: SlowToFire\n        expr: vector(1)\n        for: 1h\n",
    )
    .await;
    let (before, pending) = eventually(Duration::from_secs(15), "AlwaysOn firing", || async {
        let data = portal_alerts(&admin).await;
        let alerts = data["alerts"].as_array().unwrap();
        let firing = alerts
            .iter()
            .find(|a| a["labels"]["alertname"] == "AlwaysOn")?;
        let pending = alerts
            .iter()
            .find(|a| a["labels"]["alertname"] == "SlowToFire")?;
        (firing["state"] == "firing").then(|| (firing.clone(), pending.clone()))
    })
    .await;
    assert_eq!(pending["state"], "pending");
    tokio::time::sleep(Duration::from_secs(1)).await;
    let dir = portal.stop();
    let portal = Portal::start_in(dir, &[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    // Evaluated again after the restart, the alert is the same alert: firing, same activeAt.
    let after = eventually(
        Duration::from_secs(15),
        "an evaluation after the restart",
        || async {
            let (_, rules) = admin.get("/api/v1/rules").await;
            let rule = rules["data"]["groups"][0]["rules"][0].clone();
            (rule["health"] == "ok").then_some(rule)
        },
    )
    .await;
    assert_eq!(after["state"], "firing", "{after}");
    assert_eq!(
        after["alerts"][0]["activeAt"], before["activeAt"],
        "{after}"
    );
    assert_eq!(after["alerts"][0]["labels"], before["labels"]);
    // As Prometheus restores `for`: the time the portal was down does not count.
    let (_, rules) = admin.get("/api/v1/rules").await;
    let slow = &rules["data"]["groups"][0]["rules"][1];
    assert_eq!(slow["state"], "pending", "{slow}");
    assert_ne!(slow["alerts"][0]["activeAt"], pending["activeAt"], "{slow}");
}

#[tokio::test]
async fn a_rule_whose_source_fails_reports_err_and_its_no_data_behaviour_applies() {
    let portal = portal().await;
    let admin = portal.admin();
    import(
        &admin,
        "groups:\n  - name: broken\n    interval: 1s\n    source: nowhere\n    rules:\n      - alert: NeverEvaluated\n        expr: up\n      - alert: BrokenAlerts\n        expr: up\n        error_state: alerting\n        labels: {severity: critical}\n      - alert: BrokenIsOk\n        expr: up\n        error_state: ok\n  - name: nodata\n    interval: 1s\n    rules:\n      - alert: Silent\n        expr: absent_metric_xyz > 0\n        no_data_state: alerting\n        for: 0s\n        labels: {severity: critical}\n      - alert: Quiet\n        expr: absent_metric_xyz > 0\n",
    )
    .await;
    let rules = eventually(Duration::from_secs(15), "both groups evaluated", || async {
        let (_, body) = admin.get("/api/v1/rules").await;
        let groups = body["data"]["groups"].as_array()?.clone();
        groups
            .iter()
            .all(|g| g["rules"][0]["health"] != "unknown")
            .then_some(groups)
    })
    .await;
    let broken = rules.iter().find(|g| g["name"] == "broken").unwrap();
    assert_eq!(broken["rules"][0]["health"], "err");
    assert_eq!(
        broken["rules"][0]["lastError"],
        "no data source is named `nowhere`"
    );
    // error_state: the default keeps the state (none yet), `alerting` fires an alert
    // saying why, `ok` resolves; the health says err for all three.
    assert_eq!(broken["rules"][0]["state"], "inactive", "{broken}");
    let alerting = &broken["rules"][1];
    assert_eq!(alerting["health"], "err", "{alerting}");
    assert_eq!(alerting["state"], "firing", "error → alerting: {alerting}");
    assert_eq!(alerting["alerts"][0]["labels"]["severity"], "critical");
    assert_eq!(
        alerting["alerts"][0]["annotations"]["keiko_reason"],
        "error"
    );
    let ok = &broken["rules"][2];
    assert_eq!(
        (&ok["health"], &ok["state"]),
        (&json!("err"), &json!("inactive")),
        "{ok}"
    );
    assert_eq!(ok["alerts"], json!([]), "{ok}");
    let nodata = rules.iter().find(|g| g["name"] == "nodata").unwrap();
    assert_eq!(nodata["rules"][0]["health"], "ok");
    assert_eq!(nodata["rules"][0]["state"], "firing", "no data → alerting");
    assert_eq!(
        nodata["rules"][0]["alerts"][0]["labels"]["severity"],
        "critical"
    );
    assert_eq!(
        nodata["rules"][1]["state"], "inactive",
        "default: no data is ok"
    );

    // The evaluation figures are on /metrics.
    let text = admin
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains("keiko_rule_evaluations_total{rule_group=\"default;nodata\"}"),
        "{text}"
    );
    assert!(text.contains("keiko_rule_evaluation_failures_total{rule_group=\"default;broken\"}"));
    assert!(text.contains("keiko_rule_group_iterations_missed_total"));
}

#[tokio::test]
async fn bad_evaluation_settings_are_refused_naming_the_field_and_nothing_is_saved() {
    let portal = portal().await;
    let admin = portal.admin();
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "g", "rules": [{"record": "x:y", "expr": "up", "no_data_state": "alerting"}]}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(
        body.to_string().contains("rules[0].no_data_state"),
        "{body}"
    );
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "g", "rules": [{"alert": "A", "expr": "up", "error_state": "sometimes"}]}),
        )
        .await;
    assert_eq!(s, 422, "{body}");
    assert_eq!(body["error"]["field"], "rules[0].error_state", "{body}");
    let (s, body) = admin
        .post(
            "/api/v1/rule-groups",
            json!({"name": "g", "source": " ", "rules": []}),
        )
        .await;
    assert_eq!(s, 400, "{body}");
    assert!(body.to_string().contains("source"), "{body}");
    let (_, groups) = admin.get("/api/v1/rule-groups").await;
    assert_eq!(groups, json!([]));
    // Prometheus's own error shape under /prometheus.
    let (s, body) = admin.get("/prometheus/api/v1/rules?type=bogus").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["errorType"], "bad_data", "{body}");
    let (s, body) = admin.get("/api/v1/rules?type=bogus").await;
    assert_eq!(s, 400, "{body}");
    assert_eq!(body["error"]["field"], "type", "{body}");
}
