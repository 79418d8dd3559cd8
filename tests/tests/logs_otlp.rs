//! OTLP/HTTP logs (#16) through the running portal: OpenTelemetry's Python exporter with
//! gzip, OTLP JSON plain and gzip-compressed, partial success as the OTLP specification
//! defines it (the accepted records stored, the rejected counted and named, in JSON and in
//! protobuf), and wholly malformed bodies refused with 400, storing nothing.

use std::io::Write as _;

use e2e::api::Client;
use e2e::logs::OtlpRecord;
use e2e::logs::{metric, otlp_json, otlp_protobuf, otlp_protobuf_partial_success, search};
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::Value;

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// POSTs an OTLP body to `/v1/logs`; answers the status, the content type and the body.
async fn export(
    client: &Client,
    content_type: &str,
    encoding: Option<&str>,
    body: Vec<u8>,
) -> (u16, String, Vec<u8>) {
    let mut req = client
        .request(Method::POST, "/v1/logs")
        .header("content-type", content_type);
    if let Some(e) = encoding {
        req = req.header("content-encoding", e);
    }
    let r = req.body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, r.bytes().await.unwrap().to_vec())
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|e| {
        panic!("not JSON ({e}): {}", String::from_utf8_lossy(body));
    })
}

/// `rejectedLogRecords` as a number: the JSON mapping of protobuf writes int64 as a
/// string, some writers as a number.
fn rejected(answer: &Value) -> i64 {
    let v = &answer["partialSuccess"]["rejectedLogRecords"];
    v.as_i64()
        .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("no rejectedLogRecords in {answer}"))
}

#[tokio::test]
async fn the_python_exporter_with_gzip_and_otlp_json_plain_or_gzipped_are_stored() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (s, token) = admin
        .post(
            "/api/v1/tokens",
            serde_json::json!({"name": "otel-gzip", "scopes": ["ingest"]}),
        )
        .await;
    assert_eq!(s, 201, "{token}");

    // OpenTelemetry's own exporter, compressing with gzip (Content-Encoding: gzip).
    let id = format!("otel-gzip-{}", std::process::id());
    let out = e2e::run_python(
        "otlp_logs.py",
        &[
            ("OTLP_ENDPOINT", portal.url("/v1/logs")),
            ("OTLP_TOKEN", token["token"].as_str().unwrap().to_owned()),
            ("OTLP_COMPRESSION", "gzip".to_owned()),
            ("CORRELATION_ID", id.clone()),
        ],
    )
    .await;
    assert_eq!(out.trim().len(), 32, "{out}");
    let found = search(&admin, &format!("correlation_id:{id}"), "now-1h").await;
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0]["message"], "Request failed");
    assert_eq!(found[0]["fields"]["exception.type"], "TimeoutError");
    assert_eq!(found[2]["fields"]["service"], "keiko-api");

    // OTLP JSON, plain: an empty `{}` answer (no partial success) in JSON.
    let plain = otlp_json(
        "json-plain",
        &[
            OtlpRecord::now("Payment accepted", "otlp-json-1"),
            OtlpRecord {
                severity: "WARN",
                ..OtlpRecord::now("Payment slow", "otlp-json-1")
            },
        ],
    );
    let (s, ct, body) = export(
        &admin,
        "application/json",
        None,
        plain.to_string().into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert!(ct.starts_with("application/json"), "{ct}");
    assert_eq!(json_of(&body), serde_json::json!({}));
    let found = search(&admin, "correlation_id:otlp-json-1", "now-1h").await;
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found.iter().any(|l| l["severity"] == "WARNING"),
        "{found:?}"
    );
    assert!(found.iter().all(|l| l["fields"]["service"] == "json-plain"));

    // OTLP JSON, gzip-compressed.
    let zipped = otlp_json(
        "json-gzip",
        &[OtlpRecord::now("Refund issued", "otlp-json-gz")],
    );
    let (s, _, body) = export(
        &admin,
        "application/json",
        Some("gzip"),
        gzip(zipped.to_string().as_bytes()),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    let found = search(&admin, "correlation_id:otlp-json-gz", "now-1h").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["message"], "Refund issued");
    assert_eq!(found[0]["fields"]["service"], "json-gzip");

    // Protobuf, gzip-compressed, written here: an empty protobuf answer.
    let pb = otlp_protobuf(
        "pb-gzip",
        &[OtlpRecord::now("Invoice mailed", "otlp-pb-gz")],
    );
    let (s, ct, body) = export(&admin, "application/x-protobuf", Some("gzip"), gzip(&pb)).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/x-protobuf");
    assert_eq!(otlp_protobuf_partial_success(&body), (0, String::new()));
    let found = search(&admin, "correlation_id:otlp-pb-gz", "now-1h").await;
    assert_eq!(found.len(), 1, "{found:?}");
    assert_eq!(found[0]["message"], "Invoice mailed");
}

#[tokio::test]
async fn a_partly_bad_export_stores_the_good_records_and_names_the_rejected() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let refused_before = metric(
        &admin,
        r#"keiko_log_lines_refused_total{protocol="otlp",reason="limit"}"#,
    )
    .await;
    // Record 1 has more attributes than a line may have (128 by default), record 3 an
    // attribute name longer than 256 bytes; 0 and 2 are fine.
    let records = |id: &str| {
        let mut long_name = OtlpRecord::now("long name", &format!("{id}-bad"));
        long_name.attributes.push(("n".repeat(300), "v".into()));
        vec![
            OtlpRecord::now("first good", &format!("{id}-good")),
            OtlpRecord::now("too many fields", &format!("{id}-bad")).with_fields(200),
            OtlpRecord::now("second good", &format!("{id}-good")),
            long_name,
        ]
    };

    // JSON: 200 with `partialSuccess`, the first rejected record named.
    let (s, ct, body) = export(
        &admin,
        "application/json",
        None,
        otlp_json("partial", &records("json"))
            .to_string()
            .into_bytes(),
    )
    .await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert!(ct.starts_with("application/json"), "{ct}");
    let answer = json_of(&body);
    assert_eq!(rejected(&answer), 2, "{answer}");
    let message = answer["partialSuccess"]["errorMessage"].as_str().unwrap();
    assert!(message.contains("log record 1"), "{message}");
    assert!(message.contains("fields"), "{message}");

    // Protobuf, gzip-compressed: the same answer in protobuf.
    let pb = otlp_protobuf("partial", &records("pb"));
    let (s, ct, body) = export(&admin, "application/x-protobuf", Some("gzip"), gzip(&pb)).await;
    assert_eq!(s, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(ct, "application/x-protobuf");
    let (n, message) = otlp_protobuf_partial_success(&body);
    assert_eq!(n, 2, "{message}");
    assert!(message.contains("log record 1"), "{message}");

    // The accepted records are queryable, the rejected ones are not.
    for id in ["json", "pb"] {
        let good = search(&admin, &format!("correlation_id:{id}-good"), "now-1h").await;
        let mut messages: Vec<&str> = good
            .iter()
            .map(|l| l["message"].as_str().unwrap())
            .collect();
        messages.sort_unstable();
        assert_eq!(messages, ["first good", "second good"], "{id}");
        let bad = search(&admin, &format!("correlation_id:{id}-bad"), "now-1h").await;
        assert!(bad.is_empty(), "{id}: {bad:?}");
    }
    // … and counted as refused by a limit.
    let refused_after = metric(
        &admin,
        r#"keiko_log_lines_refused_total{protocol="otlp",reason="limit"}"#,
    )
    .await;
    assert_eq!(refused_after - refused_before, 4.0);
}

/// What a malformed export is, its content type, encoding and body, and the status it gets.
type Malformed = (
    &'static str,
    &'static str,
    Option<&'static str>,
    Vec<u8>,
    u16,
);

#[tokio::test]
async fn a_wholly_malformed_export_is_refused_with_400_and_stores_nothing() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let good = otlp_json("malformed", &[OtlpRecord::now("kept?", "otlp-malformed")]);
    let good = good.to_string().into_bytes();
    let pb = otlp_protobuf("malformed", &[OtlpRecord::now("kept?", "otlp-malformed")]);
    let zipped = gzip(&good);
    let mut cut_pb = pb.clone();
    cut_pb.truncate(pb.len() - 3);
    // What, content type, encoding, body, status: 400 for a body that cannot be read, 415
    // for an encoding the portal does not speak.
    let cases: Vec<Malformed> = vec![
        (
            "JSON cut short",
            "application/json",
            None,
            good[..good.len() - 2].to_vec(),
            400,
        ),
        (
            "JSON of the wrong shape",
            "application/json",
            None,
            br#"{"resourceLogs": "none"}"#.to_vec(),
            400,
        ),
        (
            "protobuf cut short",
            "application/x-protobuf",
            None,
            cut_pb,
            400,
        ),
        (
            "not protobuf",
            "application/x-protobuf",
            None,
            vec![0xff; 16],
            400,
        ),
        (
            "gzip cut short",
            "application/json",
            Some("gzip"),
            zipped[..zipped.len() / 2].to_vec(),
            400,
        ),
        (
            "gzip declared, plain sent",
            "application/json",
            Some("gzip"),
            good.clone(),
            400,
        ),
        (
            "an unknown encoding",
            "application/json",
            Some("br"),
            good.clone(),
            415,
        ),
    ];
    let n = cases.len() as f64;
    for (what, ct, encoding, body, status) in cases {
        let (s, answer_ct, answer) = export(&admin, ct, encoding, body).await;
        assert_eq!(s, status, "{what}: {}", String::from_utf8_lossy(&answer));
        assert!(
            answer_ct.starts_with("application/json"),
            "{what}: {answer_ct}"
        );
        let answer = json_of(&answer);
        assert_eq!(answer["error"]["field"], "body", "{what}: {answer}");
        assert!(
            answer["error"]["message"].as_str().is_some(),
            "{what}: {answer}"
        );
    }
    let stored = search(&admin, "NOT service:keiko-portal", "now-1h").await;
    assert!(stored.is_empty(), "{stored:?}");
    let malformed = metric(
        &admin,
        r#"keiko_log_lines_refused_total{protocol="otlp",reason="malformed"}"#,
    )
    .await;
    assert_eq!(malformed, n);
}
