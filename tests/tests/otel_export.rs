//! Spans leave the process by OTLP/HTTP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set. The
//! receiver here is a plain TCP listener that reads the HTTP requests the exporter sends
//! (OTLP/HTTP protobuf, as an OpenTelemetry Collector would receive them); protobuf
//! strings are plain bytes, so span and service names can be found in the body.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::eventually;
use e2e::portal::Portal;

struct Received {
    path: String,
    content_type: String,
    body: Vec<u8>,
}

fn spawn_receiver() -> (String, Arc<Mutex<Vec<Received>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let received = Arc::new(Mutex::new(Vec::new()));
    let sink = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().map_while(Result::ok) {
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            if reader.read_line(&mut request_line).is_err() {
                continue;
            }
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_owned();
            let (mut length, mut content_type) = (0usize, String::new());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                let (name, value) = line.split_once(':').unwrap_or(("", ""));
                match name.to_ascii_lowercase().as_str() {
                    "content-length" => length = value.trim().parse().unwrap_or(0),
                    "content-type" => content_type = value.trim().to_owned(),
                    _ => {}
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            sink.lock().unwrap().push(Received {
                path,
                content_type,
                body,
            });
            let mut stream = stream;
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\ncontent-type: application/x-protobuf\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    (format!("http://{addr}"), received)
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|w| w == needle.as_bytes())
}

#[tokio::test]
async fn request_and_database_spans_are_exported_by_otlp_when_an_endpoint_is_set() {
    let (endpoint, received) = spawn_receiver();
    let mut portal = Portal::start_with(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        ("OTEL_BSP_SCHEDULE_DELAY", "200"),
    ])
    .await;
    let line = portal
        .wait_for_log("about tracing", |v| v["message"] == "Tracing configured")
        .await;
    assert_eq!(line["otlp_export"], true);
    let ready = reqwest::get(portal.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    // Shutting down flushes whatever the batch processor still holds.
    assert!(portal.terminate().success());

    eventually(Duration::from_secs(10), "an OTLP export", || async {
        let got = received.lock().unwrap();
        got.iter()
            .any(|r| contains(&r.body, "GET /readyz"))
            .then_some(())
    })
    .await;
    let got = received.lock().unwrap();
    let export = got
        .iter()
        .find(|r| contains(&r.body, "GET /readyz"))
        .unwrap();
    assert_eq!(export.path, "/v1/traces");
    assert_eq!(export.content_type, "application/x-protobuf");
    assert!(
        contains(&export.body, "keiko-portal"),
        "service.name missing"
    );
    let all: Vec<u8> = got.iter().flat_map(|r| r.body.clone()).collect();
    assert!(
        contains(&all, "db.check_ready"),
        "the database call is not a span"
    );
}

#[tokio::test]
async fn nothing_is_exported_without_an_endpoint() {
    // Without the variable an exporter would fall back to the OTLP default port, 4318:
    // listen there and see that nothing arrives.
    // The tests run in a network namespace of their own (scripts/isolated.sh), where the
    // port is free; a busy port fails the test instead of skipping the check.
    let listener = TcpListener::bind("127.0.0.1:4318")
        .expect("port 4318 must be free to see that nothing connects to it");
    let mut portal = Portal::start().await;
    // A traced request with a database call: an exporter would have spans to send.
    let ready = reqwest::get(portal.url("/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    // Shutting down flushes whatever an exporter still holds, so once the process has
    // exited every connection it ever made is waiting in the listener's backlog.
    assert!(portal.terminate().success());
    let line = portal
        .wait_for_log("about tracing", |v| v["message"] == "Tracing configured")
        .await;
    assert_eq!(line["otlp_export"], false);
    listener.set_nonblocking(true).unwrap();
    assert!(
        listener.accept().is_err(),
        "something connected to the OTLP default port"
    );
}
