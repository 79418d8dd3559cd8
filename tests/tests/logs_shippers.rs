//! Logs (#16), the live paths and the shippers: the live tail as server-sent events read
//! while lines are pushed, Elasticsearch bulk requests from rsyslog's omelasticsearch,
//! Fluentd's forward protocol from PyPI `fluent-logger`, a line by id with its context,
//! and concurrent pushes over three protocols surviving kill -9.

use std::time::Duration;

use e2e::api::Client;
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// POSTs a raw NDJSON body; returns the status, the `X-Elastic-Product` header and the
/// JSON body.
async fn post_raw(client: &Client, path: &str, body: String) -> (u16, Option<String>, Value) {
    let r = client
        .request(Method::POST, path)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let product = r
        .headers()
        .get("x-elastic-product")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, product, r.json().await.unwrap_or(Value::Null))
}

/// POSTs raw JSON lines; returns status and body.
async fn push(client: &Client, path: &str, body: String) -> (u16, Value) {
    let (status, _, body) = post_raw(client, path, body).await;
    (status, body)
}

/// The messages of the lines matching `query` in the last hour, newest first.
async fn messages(client: &Client, query: &str) -> Vec<String> {
    let (s, body) = client
        .get(&format!(
            "/api/v1/logs/query?query={}&from=now-1h&to=now&limit=5000",
            enc(query)
        ))
        .await;
    assert_eq!(s, 200, "{query}: {body}");
    body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["message"].as_str().unwrap_or_default().to_owned())
        .collect()
}

/// A server-sent event stream read as it arrives.
struct Events {
    response: reqwest::Response,
    buffer: String,
}

impl Events {
    /// The next event's type and JSON data (comments and keep-alives skipped).
    async fn next(&mut self) -> (String, Value) {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let block: String = self.buffer.drain(..end + 2).collect();
                let (mut event, mut data) = (String::from("message"), String::new());
                for line in block.lines() {
                    if let Some(v) = line.strip_prefix("event:") {
                        event = v.trim().to_owned();
                    } else if let Some(v) = line.strip_prefix("data:") {
                        data += v.trim_start();
                    }
                }
                if data.is_empty() {
                    continue;
                }
                return (event, serde_json::from_str(&data).expect("JSON event data"));
            }
            let chunk = tokio::time::timeout(Duration::from_secs(20), self.response.chunk())
                .await
                .expect("an event within 20 s")
                .expect("reading the stream")
                .expect("the stream stays open");
            self.buffer += &String::from_utf8_lossy(&chunk);
        }
    }
}

/// Opens `GET /api/v1/logs/tail` and waits for its `ready` event.
async fn open_tail(client: &Client, query: &str, rate: u32) -> Events {
    let response = client
        .request(
            Method::GET,
            &format!("/api/v1/logs/tail?query={}&rate={rate}", enc(query)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"].to_str().unwrap(),
        "text/event-stream"
    );
    let mut events = Events {
        response,
        buffer: String::new(),
    };
    let (kind, data) = events.next().await;
    assert_eq!(kind, "ready", "{data}");
    events
}

fn line(service: &str, level: &str, message: &str) -> String {
    json!({"service": service, "level": level, "message": message, "logger": "tail.test"})
        .to_string()
        + "\n"
}

#[tokio::test]
async fn live_tail_streams_matching_lines_pushed_after_it_opened_within_its_rate() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    // A line stored before the tail opened is not sent.
    let (s, _) = push(&admin, "/api/v1/logs", line("shop", "ERROR", "before")).await;
    assert_eq!(s, 200);

    let mut tail = open_tail(&admin, "service:shop AND level:>=WARNING", 5).await;
    let body = line("shop", "INFO", "quiet")
        + &line("shop", "WARNING", "slow checkout")
        + &line("billing", "ERROR", "other service")
        + &line("shop", "ERROR", "checkout failed");
    let (s, answer) = push(&admin, "/api/v1/logs", body).await;
    assert_eq!(s, 200, "{answer}");
    let mut seen = Vec::new();
    for _ in 0..2 {
        let (kind, data) = tail.next().await;
        assert_eq!(kind, "line", "{data}");
        assert_eq!(data["fields"]["service"], "shop");
        assert!(
            data["id"].as_str().is_some_and(|id| !id.is_empty()),
            "{data}"
        );
        seen.push(data["message"].as_str().unwrap().to_owned());
    }
    assert_eq!(seen, ["slow checkout", "checkout failed"]);

    // Over the rate: 20 matching lines at once, the tail sends what its rate allows and
    // reports the rest as skipped; together they are the 20.
    let burst: String = (0..20)
        .map(|i| line("shop", "ERROR", &format!("burst {i}")))
        .collect();
    let (s, _) = push(&admin, "/api/v1/logs", burst).await;
    assert_eq!(s, 200);
    let (mut sent, mut skipped) = (0u64, 0u64);
    while sent + skipped < 20 {
        let (kind, data) = tail.next().await;
        match kind.as_str() {
            "line" => {
                assert!(data["message"].as_str().unwrap().starts_with("burst"));
                sent += 1;
            }
            "skipped" => skipped += data["rate_limited"].as_u64().unwrap(),
            other => panic!("unexpected event {other}: {data}"),
        }
    }
    assert_eq!(sent + skipped, 20);
    assert!(sent <= 5 && skipped >= 15, "sent {sent}, skipped {skipped}");

    // A bad query is refused with its position; a rate out of bounds names the field.
    let (s, e) = admin.get("/api/v1/logs/tail?query=level%3A%3E%3D").await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["position"], 8, "{e}");
    let (s, e) = admin.get("/api/v1/logs/tail?rate=100000").await;
    assert_eq!(s, 400, "{e}");
    assert!(e.to_string().contains("rate"), "{e}");
}

#[tokio::test]
async fn live_tails_are_bounded_and_a_viewer_may_open_one() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let viewer = portal.user_with_role("tail-viewer", "Viewer").await;
    let mut open = vec![open_tail(&viewer, "service:shop", 10).await];
    for _ in 1..16 {
        open.push(open_tail(&admin, "service:shop", 10).await);
    }
    let (s, e) = admin.get("/api/v1/logs/tail").await;
    assert_eq!(s, 429, "{e}");
    assert!(e.to_string().contains("live tails"), "{e}");
    // The open ones still stream.
    let (s, _) = push(&admin, "/api/v1/logs", line("shop", "INFO", "to all")).await;
    assert_eq!(s, 200);
    let (kind, data) = open[0].next().await;
    assert_eq!(
        (kind.as_str(), &data["message"]),
        ("line", &json!("to all"))
    );
    let (kind, data) = open[15].next().await;
    assert_eq!(
        (kind.as_str(), &data["message"]),
        ("line", &json!("to all"))
    );
    assert_eq!(messages(&admin, "\"to all\"").await, ["to all"]);
}

/// The portal's port, from its base URL.
fn port_of(portal: &Portal) -> u16 {
    let url = url::Url::parse(&portal.url("/")).unwrap();
    url.port().unwrap()
}

/// rsyslogd in the foreground with `config`, killed when dropped.
struct Rsyslog {
    child: std::process::Child,
    _dir: tempfile::TempDir,
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts rsyslogd receiving syslog on a TCP port of its own and sending every message
/// to the portal's bulk API through omelasticsearch (the index `syslog`); answers it and
/// the TCP port.
async fn rsyslog_to(portal: &Portal) -> (Rsyslog, u16) {
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    let input = e2e::free_port();
    let config = format!(
        r#"global(workDirectory="{work}")
module(load="imtcp")
module(load="omelasticsearch")
template(name="portal" type="list" option.json="on") {{
  constant(value="{{\"@timestamp\":\"")
  property(name="timereported" dateFormat="rfc3339")
  constant(value="\",\"host\":\"")
  property(name="hostname")
  constant(value="\",\"severity\":\"")
  property(name="syslogseverity-text")
  constant(value="\",\"service\":\"")
  property(name="programname")
  constant(value="\",\"message\":\"")
  property(name="msg")
  constant(value="\"}}")
}}
ruleset(name="toportal") {{
  action(type="omelasticsearch" server="127.0.0.1" serverport="{port}" template="portal"
         searchIndex="syslog" bulkmode="on" maxbytes="1m" uid="admin" pwd="{password}"
         errorfile="{errors}" action.resumeRetryCount="-1" action.resumeInterval="1")
}}
input(type="imtcp" port="{input}" address="127.0.0.1" ruleset="toportal")
"#,
        work = work.display(),
        port = port_of(portal),
        password = e2e::api::ADMIN_PASSWORD,
        errors = dir.path().join("es-errors.json").display(),
    );
    let path = dir.path().join("rsyslog.conf");
    std::fs::write(&path, config).unwrap();
    let child = std::process::Command::new("rsyslogd")
        .arg("-n")
        .arg("-f")
        .arg(&path)
        .arg("-i")
        .arg(dir.path().join("rsyslogd.pid"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("rsyslogd (Debian rsyslog; scripts/setup.sh test installs it)");
    let rsyslog = Rsyslog { child, _dir: dir };
    e2e::eventually(Duration::from_secs(20), "rsyslogd listening", || async {
        tokio::net::TcpStream::connect(("127.0.0.1", input))
            .await
            .ok()
            .map(|_| ())
    })
    .await;
    (rsyslog, input)
}

#[tokio::test]
async fn rsyslog_omelasticsearch_ships_syslog_lines_through_the_bulk_api() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let (_rsyslog, input) = rsyslog_to(&portal).await;
    for (priority, message) in [
        ("user.err", "disk full on /var/lib/keiko"),
        ("user.warning", "payment-service answered in 2300 ms"),
        ("user.info", "checkout completed for order 4711"),
    ] {
        let status = tokio::process::Command::new("logger")
            .args(["-T", "-n", "127.0.0.1", "-P", &input.to_string()])
            .args(["-t", "shop-worker", "-p", priority, message])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }
    let found = e2e::eventually(Duration::from_secs(30), "rsyslog's lines", || async {
        let (_, body) = admin
            .get("/api/v1/logs/query?query=service%3Ashop-worker&from=now-1h&to=now")
            .await;
        let lines = body["lines"].as_array()?.clone();
        (lines.len() == 3).then_some(lines)
    })
    .await;
    let by_message = |m: &str| {
        found
            .iter()
            .find(|l| l["message"].as_str().is_some_and(|x| x.contains(m)))
            .unwrap_or_else(|| panic!("no line {m}: {found:?}"))
            .clone()
    };
    let disk = by_message("disk full on /var/lib/keiko");
    assert_eq!(disk["severity"], "ERROR", "{disk}");
    assert_eq!(disk["fields"]["_index"], "syslog", "{disk}");
    assert!(disk["fields"]["host"].as_str().is_some(), "{disk}");
    assert_eq!(by_message("payment-service")["severity"], "WARNING");
    assert_eq!(by_message("order 4711")["severity"], "INFO");
    let warn = messages(&admin, "service:shop-worker AND level:>=WARNING").await;
    assert_eq!(warn.len(), 2, "{warn:?}");
}

#[tokio::test]
async fn the_bulk_api_answers_per_item_as_elasticsearch_does() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let body = [
        json!({"index": {"_index": "app"}}),
        json!({"@timestamp": "2026-12-01T10:00:00Z", "message": "first", "service": "es-test"}),
        json!({"create": {}}),
        json!({"message": "second", "service": "es-test", "level": "ERROR"}),
        json!({"index": {}}),
        json!(["not", "an", "object"]),
        json!({"delete": {"_id": "x"}}),
    ]
    .iter()
    .map(|v| v.to_string() + "\n")
    .collect::<String>();
    let (s, product, answer) = post_raw(&admin, "/logs-app/_bulk", body).await;
    assert_eq!(s, 200, "{answer}");
    assert_eq!(product.as_deref(), Some("Elasticsearch"));
    assert_eq!(answer["errors"], true);
    let items = answer["items"].as_array().unwrap();
    assert_eq!(items.len(), 4, "{answer}");
    assert_eq!(items[0]["index"]["status"], 201);
    assert_eq!(items[0]["index"]["_index"], "app");
    assert_eq!(items[0]["index"]["result"], "created");
    assert_eq!(items[1]["create"]["status"], 201);
    assert_eq!(items[1]["create"]["_index"], "logs-app");
    assert_eq!(items[2]["index"]["status"], 400);
    assert_eq!(
        items[2]["index"]["error"]["type"],
        "document_parsing_exception"
    );
    assert_eq!(items[3]["delete"]["status"], 400);
    // A stored item's id is the line's id in the portal.
    let id = items[1]["create"]["_id"].as_str().unwrap();
    let (s, found) = admin
        .get("/api/v1/logs/query?query=service%3Aes-test&from=2026-01-01T00:00:00Z&to=now")
        .await;
    assert_eq!(s, 200, "{found}");
    let lines = found["lines"].as_array().unwrap();
    assert_eq!(lines.len(), 2, "{found}");
    assert!(lines.iter().any(|l| l["id"] == id), "{found}");

    // An action line that is not JSON refuses the whole request, naming its line.
    let (s, _, e) = post_raw(
        &admin,
        "/_bulk",
        "{\"index\":{\"_index\":\"app\"}}\n{\"message\":\"kept?\",\"service\":\"es-test\"}\nnope\n"
            .into(),
    )
    .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["status"], 400);
    assert!(
        e["error"]["reason"].as_str().unwrap().contains("line 3"),
        "{e}"
    );
    assert_eq!(messages(&admin, "kept").await.len(), 0);

    // The probes shippers make first.
    let r = admin
        .request(Method::GET, "/")
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let info: Value = r.json().await.unwrap();
    assert!(
        info["version"]["number"].as_str().unwrap().starts_with('8'),
        "{info}"
    );
    let r = admin
        .request(Method::HEAD, "/_cat/health")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let (s, ack) = admin
        .send(
            Method::PUT,
            "/_index_template/filebeat",
            Some(json!({"index_patterns": ["x"]})),
        )
        .await;
    assert_eq!((s.as_u16(), &ack["acknowledged"]), (200, &json!(true)));
    // What was put is found; other names are not (Filebeat then puts them); names
    // Elasticsearch refuses are refused naming `name`.
    assert_eq!(admin.get("/_index_template/filebeat").await.0, 200);
    assert_eq!(admin.get("/_index_template/never-put").await.0, 404);
    let (s, bad) = admin.get("/_template/Bad%20Name").await;
    assert_eq!(s, 400, "{bad}");
    assert_eq!(bad["error"]["field"], "name", "{bad}");
    // A browser asking for `/` still gets the portal.
    let page = admin
        .request(Method::GET, "/")
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    // Without credentials: 401 in JSON, not the sign-in page.
    let anonymous = portal.client(e2e::api::Auth::Anonymous);
    let (s, _) = anonymous.post("/_bulk", json!({})).await;
    assert_eq!(s, 401);
}

#[tokio::test]
async fn fluent_logger_and_every_forward_mode_reach_the_store_with_acks() {
    let port = e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_FLUENT_FORWARD_LISTEN", &listen),
    ])
    .await;
    let admin = portal.admin();
    let out = e2e::run_python("fluent_forward.py", &[("FLUENT_PORT", port.to_string())]).await;
    assert_eq!(out.trim(), "ok");
    // The acknowledged modes are stored before their ack; the fire-and-forget sender's
    // lines arrive shortly.
    let all = e2e::eventually(Duration::from_secs(20), "every forwarded line", || async {
        let mut m = messages(&admin, "tag:shop*").await;
        m.sort();
        (m.len() == 10).then_some(m)
    })
    .await;
    assert_eq!(
        all,
        [
            "forward one",
            "forward two",
            "order placed",
            "packed 0",
            "packed 1",
            "packed 2",
            "payment slow",
            "zipped 0",
            "zipped 1",
            "zipped 2",
        ]
    );
    let (s, body) = admin
        .get("/api/v1/logs/query?query=correlation_id%3Afl-1&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200);
    let line = &body["lines"][0];
    assert_eq!(line["fields"]["service"], "shop.checkout", "{line}");
    assert_eq!(line["severity"], "INFO");
    let (s, body) = admin
        .get("/api/v1/logs/query?query=%22payment+slow%22&from=now-1h&to=now")
        .await;
    assert_eq!(s, 200);
    assert_eq!(body["lines"][0]["severity"], "WARNING", "{body}");
    assert_eq!(body["lines"][0]["fields"]["logger"], "keiko.fluent");

    // Bytes that are not the protocol close the connection and store nothing.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .unwrap();
    c.write_all(&[0xc1, 0x00]).await.unwrap();
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut rest))
        .await
        .expect("closed within 10 s")
        .unwrap_or(0);
    assert_eq!(n, 0);
}

#[tokio::test]
async fn a_line_is_read_by_id_with_its_context_from_the_same_service_and_host() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let t0 = ((e2e::now_seconds() - 60.0) * 1000.0) as i64;
    let mut body = String::new();
    for i in 0..20 {
        for (service, host) in [("ctx", "h1"), ("ctx", "h2"), ("other", "h1")] {
            body += &json!({
                "timestamp": t0 + i,
                "service": service,
                "host": host,
                "message": format!("{service} {host} step {i}"),
            })
            .to_string();
            body.push('\n');
        }
    }
    let (s, answer) = push(&admin, "/api/v1/logs", body).await;
    assert_eq!(s, 200, "{answer}");
    let (s, found) = admin
        .get(&format!(
            "/api/v1/logs/query?query={}&from=now-1h&to=now",
            enc("\"ctx h1 step 10\"")
        ))
        .await;
    assert_eq!(s, 200, "{found}");
    let id = found["lines"][0]["id"].as_str().unwrap().to_owned();

    let (s, line) = admin.get(&format!("/api/v1/logs/lines/{id}")).await;
    assert_eq!(s, 200, "{line}");
    assert_eq!(line["message"], "ctx h1 step 10");
    assert_eq!(line["fields"]["host"], "h1");

    let (s, c) = admin
        .get(&format!("/api/v1/logs/lines/{id}/context?before=3&after=3"))
        .await;
    assert_eq!(s, 200, "{c}");
    let texts = |side: &str| -> Vec<String> {
        c[side]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["message"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(c["line"]["id"], id.as_str());
    assert_eq!(c["scope"], "service:\"ctx\" AND host:\"h1\"");
    assert_eq!(
        texts("before"),
        ["ctx h1 step 9", "ctx h1 step 8", "ctx h1 step 7"]
    );
    assert_eq!(
        texts("after"),
        ["ctx h1 step 13", "ctx h1 step 12", "ctx h1 step 11"]
    );
    // At the end of the stream there is less to show.
    let (_, last) = admin
        .get(&format!(
            "/api/v1/logs/query?query={}&from=now-1h&to=now",
            enc("\"ctx h1 step 19\"")
        ))
        .await;
    let last_id = last["lines"][0]["id"].as_str().unwrap();
    let (s, c) = admin
        .get(&format!("/api/v1/logs/lines/{last_id}/context?after=3"))
        .await;
    assert_eq!(s, 200, "{c}");
    assert_eq!(c["after"].as_array().unwrap().len(), 0);
    assert_eq!(c["before"].as_array().unwrap().len(), 5);

    let (s, e) = admin.get("/api/v1/logs/lines/not-an-id").await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "id", "{e}");
    let (s, e) = admin.get("/api/v1/logs/lines/1.999999/context").await;
    assert_eq!(s, 404, "{e}");
    let (s, e) = admin
        .get(&format!("/api/v1/logs/lines/{id}/context?before=100000"))
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "before", "{e}");
}

/// One batch of 10 lines with the correlation id `id`, as protocol `kind` sends it: the
/// path, the content type and the body.
fn batch_body(kind: usize, id: &str) -> (&'static str, &'static str, String) {
    let line = |i: usize| json!({"message": format!("{id} line {i}"), "correlation_id": id});
    match kind % 3 {
        0 => (
            "/api/v1/logs?service=push-jsonl",
            "application/x-ndjson",
            (0..10).map(|i| line(i).to_string() + "\n").collect(),
        ),
        1 => (
            "/push-es/_bulk?service=push-es",
            "application/x-ndjson",
            (0..10)
                .map(|i| format!("{{\"create\":{{}}}}\n{}\n", line(i)))
                .collect(),
        ),
        _ => {
            let now = (e2e::now_seconds() * 1e9) as u128;
            let values: Vec<Value> = (0..10)
                .map(|i| json!([(now + i as u128).to_string(), line(i).to_string()]))
                .collect();
            (
                "/loki/api/v1/push",
                "application/json",
                json!({"streams": [{"stream": {"service_name": "push-loki"}, "values": values}]})
                    .to_string(),
            )
        }
    }
}

/// Lines per correlation id `cc-*` in the store.
async fn counts_by_batch(client: &Client) -> std::collections::HashMap<String, u64> {
    let (s, values) = client
        .get("/api/v1/logs/fields/correlation_id/values?query=correlation_id%3Acc-*&from=now-1h&to=now&limit=1000")
        .await;
    assert_eq!(s, 200, "{values}");
    values["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["value"].as_str().unwrap().to_owned(),
                v["count"].as_u64().unwrap(),
            )
        })
        .collect()
}

/// Six clients push at once (JSON lines, Elasticsearch bulk and Loki, two each), `batches`
/// batches each from `first`; answers the ids of the acknowledged batches (a client stops
/// at its first failure). `acked` counts acknowledgements as they come.
async fn push_concurrently(
    client: &Client,
    first: usize,
    batches: usize,
    acked: std::sync::Arc<std::sync::atomic::AtomicUsize>,
) -> Vec<String> {
    let mut tasks = Vec::new();
    for c in 0..6 {
        let client = client.clone();
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let mut ok = Vec::new();
            for b in first..first + batches {
                let id = format!("cc-{c}-{b}");
                let (path, content_type, body) = batch_body(c, &id);
                let sent = client
                    .request(Method::POST, path)
                    .header("content-type", content_type)
                    .body(body)
                    .timeout(Duration::from_secs(10))
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status().is_success() => {
                        ok.push(id);
                        acked.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    }
                    Ok(r) => panic!("{path}: {} {}", r.status(), r.text().await.unwrap()),
                    Err(_) => break,
                }
            }
            ok
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

#[tokio::test]
async fn concurrent_pushes_over_three_protocols_keep_every_acknowledged_line_through_kill_9() {
    let portal = Portal::start_with(&[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let admin = portal.admin();
    let acked = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));

    // All at once, nothing refused: every acknowledged line is queryable at once.
    let first = push_concurrently(&admin, 0, 15, acked.clone()).await;
    assert_eq!(first.len(), 6 * 15);
    let counts = counts_by_batch(&admin).await;
    for id in &first {
        assert_eq!(counts.get(id), Some(&10), "batch {id}: {counts:?}");
    }

    // Again, killed with -9 while the clients push: what was acknowledged survives.
    let pushing = {
        let admin = admin.clone();
        let acked = acked.clone();
        tokio::spawn(async move { push_concurrently(&admin, 15, 60, acked).await })
    };
    e2e::eventually(Duration::from_secs(60), "more acknowledged batches", || {
        let acked = acked.clone();
        async move { (acked.load(std::sync::atomic::Ordering::SeqCst) >= 6 * 15 + 30).then_some(()) }
    })
    .await;
    portal.kill_9();
    let second = pushing.await.unwrap();
    assert!(
        second.len() >= 30,
        "{} batches before the kill",
        second.len()
    );
    let dir = portal.abandon();
    let portal = Portal::start_in(dir, &[("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0")]).await;
    let counts = counts_by_batch(&portal.admin()).await;
    for id in first.iter().chain(&second) {
        assert_eq!(
            counts.get(id),
            Some(&10),
            "acknowledged batch {id} lost after kill -9"
        );
    }
}

#[tokio::test]
async fn a_hundred_cut_bulk_bodies_and_forward_messages_store_nothing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let port = e2e::free_port();
    let listen = format!("127.0.0.1:{port}");
    let portal = Portal::start_with(&[
        ("KEIKO_SELF_SCRAPE_INTERVAL_SECS", "0"),
        ("KEIKO_FLUENT_FORWARD_LISTEN", &listen),
    ])
    .await;
    let admin = portal.admin();
    let text = "a long enough message ".repeat(6);

    // Bulk: a cut in the action line refuses the request; a cut in the document refuses
    // that item (as Elasticsearch does); either way nothing is stored.
    let bulk = format!(
        "{}\n{}\n",
        json!({"index": {"_index": "cut"}}),
        json!({"message": text, "service": "cut-es"})
    );
    assert!(bulk.len() > 101);
    for cut in 1..=100 {
        let (s, _, answer) = post_raw(&admin, "/_bulk", bulk[..cut].to_owned()).await;
        let refused_items = s == 200
            && answer["errors"] == true
            && answer["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["index"]["status"] == 400);
        assert!(s == 400 || refused_items, "cut {cut}: {s} {answer}");
    }
    assert!(messages(&admin, "service:cut-es").await.is_empty());

    // Forward: ["cut.tag", [[time, {"message": text}]], {"chunk": "k1"}] by hand.
    let mut message = vec![0x93, 0xa7];
    message.extend(b"cut.tag");
    message.extend([0x91, 0x92, 0xce]);
    message.extend((e2e::now_seconds() as u32).to_be_bytes());
    message.extend([0x81, 0xa7]);
    message.extend(b"message");
    message.extend([0xd9, text.len() as u8]);
    message.extend(text.as_bytes());
    message.extend([0x81, 0xa5]);
    message.extend(b"chunk");
    message.extend([0xa2, b'k', b'1']);
    assert!(message.len() > 101);
    let send = |bytes: Vec<u8>| async move {
        let mut c = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        c.write_all(&bytes).await.unwrap();
        c.shutdown().await.unwrap();
        let mut answer = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), c.read_to_end(&mut answer))
            .await
            .expect("the portal closes within 10 s")
            .unwrap_or(0);
        answer
    };
    for cut in 1..=100 {
        assert_eq!(
            send(message[..cut].to_vec()).await,
            Vec::<u8>::new(),
            "cut {cut}"
        );
    }
    // The tag is not a string: refused as a whole, no ack.
    let mut bad = message.clone();
    bad[1] = 0x07;
    assert_eq!(send(bad).await, Vec::<u8>::new());
    assert!(messages(&admin, "service:cut.tag").await.is_empty());
    // The whole message is acknowledged and stored.
    let ack = send(message).await;
    assert_eq!(ack, [0x81, 0xa3, b'a', b'c', b'k', 0xa2, b'k', b'1']);
    assert_eq!(messages(&admin, "service:cut.tag").await, [text.as_str()]);
}
