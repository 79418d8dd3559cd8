use super::*;

fn labels(pairs: &[(&str, &str)]) -> LabelPairs {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn chunk(range: Range<i64>) -> Arc<[Entry]> {
    range
        .map(|t| Entry {
            labels: labels(&[("__name__", "x")]),
            t,
            v: t as f64,
        })
        .collect()
}

fn times(batch: &Batch) -> Vec<i64> {
    batch.entries().map(|e| e.t).collect()
}

#[test]
fn a_batch_is_grouped_into_series_with_sorted_labels_and_ordered_samples() {
    let entries: Vec<Entry> = [
        (&[("job", "a"), ("__name__", "up")][..], 2000, 1.0),
        (&[("__name__", "up"), ("job", "b")][..], 1000, 0.0),
        (&[("__name__", "up"), ("job", "a")][..], 1000, 1.0),
        (&[("job", "a"), ("__name__", "up")][..], 3000, 1.0),
    ]
    .into_iter()
    .map(|(l, t, v)| {
        let mut labels = labels(l);
        labels.sort_unstable();
        Entry { labels, t, v }
    })
    .collect();
    let request = write_request(entries.iter());
    assert_eq!(request.timeseries.len(), 2);
    let a = &request.timeseries[0];
    let names: Vec<_> = a.labels.iter().map(|l| (&*l.name, &*l.value)).collect();
    assert_eq!(names, [("__name__", "up"), ("job", "a")]);
    let ts: Vec<_> = a.samples.iter().map(|s| s.timestamp).collect();
    assert_eq!(ts, [1000, 2000, 3000]);
    assert_eq!(request.timeseries[1].labels[1].value, "b");
    assert_eq!(request.timeseries[1].samples.len(), 1);
}

#[test]
fn an_encoded_batch_decodes_as_the_same_samples() {
    let mut q = Queue::new(100);
    q.push(chunk(0..3));
    let body = encode(&q.peek(10));
    let decoded = ingest::decode_remote_write(&body, Some("snappy")).unwrap();
    let got: Vec<_> = decoded
        .samples
        .iter()
        .map(|s| (s.name().to_owned(), s.t_ms, s.v))
        .collect();
    assert_eq!(
        got,
        [
            ("x".to_owned(), 0, 0.0),
            ("x".to_owned(), 1, 1.0),
            ("x".to_owned(), 2, 2.0)
        ]
    );
}

#[test]
fn batches_take_at_most_max_samples_across_chunks_in_order() {
    let mut q = Queue::new(100);
    q.push(chunk(0..3));
    q.push(chunk(3..5));
    q.push(chunk(5..9));
    let batch = q.peek(4);
    assert_eq!((batch.first, batch.len), (0, 4));
    assert_eq!(times(&batch), [0, 1, 2, 3]);
    assert_eq!(q.finish(&batch), 4);
    let batch = q.peek(100);
    assert_eq!((batch.first, batch.len), (4, 5));
    assert_eq!(times(&batch), [4, 5, 6, 7, 8]);
    assert_eq!(q.finish(&batch), 5);
    assert_eq!(q.len, 0);
    assert!(q.peek(10).parts.is_empty());
}

#[test]
fn a_full_queue_drops_the_oldest_samples_and_counts_them() {
    let mut q = Queue::new(5);
    assert_eq!(q.push(chunk(0..3)), 0);
    let in_flight = q.peek(2);
    assert_eq!(q.push(chunk(3..6)), 1);
    assert_eq!(q.len, 5);
    assert_eq!(times(&q.peek(10)), [1, 2, 3, 4, 5]);
    // The batch in flight lost its first sample: the sender sees it, and finishing it
    // counts only what was still queued.
    assert!(q.overtaken(in_flight.first));
    assert_eq!(q.finish(&in_flight), 1);
    assert_eq!(times(&q.peek(10)), [2, 3, 4, 5]);
    // A chunk bigger than the whole queue keeps only its newest samples.
    assert_eq!(q.push(chunk(100..110)), 9);
    assert_eq!(times(&q.peek(10)), [105, 106, 107, 108, 109]);
    assert_eq!(q.len, 5);
}

#[test]
fn a_batch_dropped_whole_while_in_flight_finishes_with_nothing_sent() {
    let mut q = Queue::new(3);
    q.push(chunk(0..3));
    let in_flight = q.peek(2);
    q.push(chunk(3..6));
    assert_eq!(q.finish(&in_flight), 0);
    assert_eq!(times(&q.peek(10)), [3, 4, 5]);
}

#[test]
fn enqueue_counts_overflow_per_target_and_shares_the_samples() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let options = ForwardOptions {
            queue_capacity: 3,
            ..Default::default()
        };
        // Nothing listens on port 9: every send fails and is retried.
        let forwarder = Forwarder::start(
            vec![
                ForwardTarget::new("http://127.0.0.1:9/api/v1/write"),
                ForwardTarget::new("http://127.0.0.1:9/other?token=x"),
            ],
            options,
        )
        .unwrap();
        let samples: Vec<_> = (0..5)
            .map(|t| (labels(&[("__name__", "x")]), t, 1.0))
            .collect();
        forwarder.enqueue(&samples);
        let m = &forwarder.metrics;
        for url in [
            "http://127.0.0.1:9/api/v1/write",
            "http://127.0.0.1:9/other",
        ] {
            assert_eq!(
                m.samples_dropped
                    .with_label_values(&[url, "queue_full"])
                    .get(),
                2
            );
            assert_eq!(m.queue_samples.with_label_values(&[url]).get(), 3);
        }
        let a = forwarder.targets[0].lock().chunks[0].0.clone();
        let b = forwarder.targets[1].lock().chunks[0].0.clone();
        assert!(
            Arc::ptr_eq(&a, &b),
            "one copy of the samples for all targets"
        );
    });
}

#[test]
fn every_series_of_a_target_is_exposed_at_zero_once_registered() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let _guard = rt.enter();
    let forwarder = Forwarder::start(
        vec![ForwardTarget::new("http://127.0.0.1:9/api/v1/write")],
        Default::default(),
    )
    .unwrap();
    let registry = prometheus::Registry::new();
    for c in forwarder.collectors() {
        registry.register(c).unwrap();
    }
    let mut text = Vec::new();
    prometheus::Encoder::encode(
        &prometheus::TextEncoder::new(),
        &registry.gather(),
        &mut text,
    )
    .unwrap();
    let text = String::from_utf8(text).unwrap();
    let url = "url=\"http://127.0.0.1:9/api/v1/write\"";
    for line in [
        format!("keiko_remote_write_samples_sent_total{{{url}}} 0"),
        format!("keiko_remote_write_samples_dropped_total{{reason=\"queue_full\",{url}}} 0"),
        format!("keiko_remote_write_samples_dropped_total{{reason=\"rejected\",{url}}} 0"),
        format!("keiko_remote_write_retries_total{{{url}}} 0"),
        format!("keiko_remote_write_queue_samples{{{url}}} 0"),
        format!("keiko_remote_write_last_send_timestamp_seconds{{{url}}} 0"),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing:\n{text}");
    }
}

#[test]
fn the_backoff_doubles_from_the_minimum_and_stays_under_the_cap() {
    let (min, max) = (Duration::from_millis(30), Duration::from_secs(5));
    let top: Vec<_> = (0..10)
        .map(|a| (backoff(a, min, max, 0.999_999).as_secs_f64() * 1e3).round() as u64)
        .collect();
    assert_eq!(top, [30, 60, 120, 240, 480, 960, 1920, 3840, 5000, 5000]);
    for attempt in 0..200 {
        for j in [0.0, 0.3, 0.999_999, 7.0, -1.0] {
            let d = backoff(attempt, min, max, j);
            assert!(d >= min && d <= max, "attempt {attempt}, jitter {j}: {d:?}");
        }
    }
    assert_eq!(backoff(6, min, max, 0.0), Duration::from_millis(960));
    let j = jitter();
    assert!((0.0..1.0).contains(&j));
}

#[test]
fn targets_with_bad_urls_or_two_kinds_of_auth_do_not_start() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        for bad in [
            "http://169.254.169.254/api/v1/write",
            "ftp://vm/api/v1/write",
            "http://user:pw@vm/api/v1/write",
        ] {
            let err = Forwarder::start(vec![ForwardTarget::new(bad)], Default::default())
                .err()
                .unwrap();
            assert!(matches!(err, ForwardError::BadUrl { .. }), "{bad}: {err}");
        }
        let mut both = ForwardTarget::new("http://vm:8428/api/v1/write");
        both.basic_auth = Some(("u".into(), "p".into()));
        both.bearer = Some("t".into());
        let twice = vec![
            ForwardTarget::new("http://vm:8428/api/v1/write"),
            ForwardTarget::new("http://vm:8428/api/v1/write?x=1"),
        ];
        assert!(matches!(
            Forwarder::start(twice, Default::default()).err(),
            Some(ForwardError::Duplicate { .. })
        ));
        assert!(format!("{both:?}").contains("<secret>"));
        assert!(!format!("{both:?}").contains("\"p\""));
        assert!(matches!(
            Forwarder::start(vec![both], Default::default()).err(),
            Some(ForwardError::TwoAuths { .. })
        ));
    });
    assert_eq!(
        ForwardTarget::from_list(" http://a/w, ,http://b/w ")
            .iter()
            .map(|t| t.url.as_str())
            .collect::<Vec<_>>(),
        ["http://a/w", "http://b/w"]
    );
}

/// A receiver on port 0 answering with `statuses` in turn (then 204), recording the
/// decoded samples and headers of every request.
struct Receiver {
    url: String,
    seen: Seen,
}

/// Each request's headers and samples, in arrival order.
type Seen = Arc<Mutex<Vec<(http::HeaderMap, Vec<ingest::Sample>)>>>;

async fn receiver(statuses: Vec<u16>) -> Receiver {
    use axum::routing::post;
    let seen: Seen = Default::default();
    let answers = Arc::new(Mutex::new(VecDeque::from(statuses)));
    let recorded = seen.clone();
    let app = axum::Router::new().route(
        "/api/v1/write",
        post(move |headers: http::HeaderMap, body: Bytes| {
            let recorded = recorded.clone();
            let answers = answers.clone();
            async move {
                let status = answers.lock().unwrap().pop_front().unwrap_or(204);
                let decoded = ingest::decode_remote_write(&body, Some("snappy")).unwrap();
                recorded.lock().unwrap().push((headers, decoded.samples));
                (
                    http::StatusCode::from_u16(status).unwrap(),
                    "x".repeat(1000),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Receiver {
        url: format!("http://{addr}/api/v1/write"),
        seen,
    }
}

fn fast() -> ForwardOptions {
    ForwardOptions {
        batch_wait: Duration::from_millis(20),
        min_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        max_batch: 3,
        ..Default::default()
    }
}

async fn until(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn batches_are_retried_after_5xx_and_429_until_the_receiver_takes_them() {
    let rx = receiver(vec![500, 429, 503]).await;
    let mut target = ForwardTarget::new(&rx.url);
    target.bearer = Some("secret-token".into());
    let forwarder = Forwarder::start(vec![target], fast()).unwrap();
    let samples: Vec<_> = (0..5)
        .map(|t| (labels(&[("job", "j"), ("__name__", "up")]), t, t as f64))
        .collect();
    forwarder.enqueue(&samples);
    let m = forwarder.metrics.clone();
    let url = rx.url.clone();
    until("all samples sent", || {
        m.samples_sent.with_label_values(&[&url]).get() == 5
    })
    .await;
    assert_eq!(m.retries.with_label_values(&[&url]).get(), 3);
    assert_eq!(m.queue_samples.with_label_values(&[&url]).get(), 0);
    assert!(m.last_send.with_label_values(&[&url]).get() > 1.6e9);
    let seen = rx.seen.lock().unwrap();
    // Three failed attempts of the first batch, then the two batches.
    assert_eq!(seen.len(), 5);
    let delivered: Vec<i64> = seen[3..]
        .iter()
        .flat_map(|(_, s)| s.iter().map(|s| s.t_ms))
        .collect();
    assert_eq!(delivered, [0, 1, 2, 3, 4]);
    let (headers, first) = &seen[0];
    assert_eq!(first[0].labels, labels(&[("__name__", "up"), ("job", "j")]));
    for (name, value) in [
        ("content-encoding", "snappy"),
        ("content-type", "application/x-protobuf"),
        ("x-prometheus-remote-write-version", "0.1.0"),
        ("authorization", "Bearer secret-token"),
    ] {
        assert_eq!(headers[name], value, "{name}");
    }
    assert!(headers["user-agent"]
        .to_str()
        .unwrap()
        .starts_with("keiko-portal"));
}

#[tokio::test]
async fn a_4xx_answer_drops_the_batch_without_retrying() {
    let rx = receiver(vec![400]).await;
    let forwarder = Forwarder::start(vec![ForwardTarget::new(&rx.url)], fast()).unwrap();
    let samples: Vec<_> = (0..4)
        .map(|t| (labels(&[("__name__", "up")]), t, 1.0))
        .collect();
    forwarder.enqueue(&samples);
    let m = forwarder.metrics.clone();
    let url = rx.url.clone();
    until("the second batch sent", || {
        m.samples_sent.with_label_values(&[&url]).get() == 1
    })
    .await;
    assert_eq!(
        m.samples_dropped
            .with_label_values(&[&url, "rejected"])
            .get(),
        3
    );
    assert_eq!(m.retries.with_label_values(&[&url]).get(), 0);
    assert_eq!(rx.seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn a_queue_that_overflows_during_retries_sends_only_the_newest_samples() {
    let down = format!("http://127.0.0.1:{}/api/v1/write", {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    });
    let options = ForwardOptions {
        queue_capacity: 4,
        ..fast()
    };
    let forwarder = Forwarder::start(vec![ForwardTarget::new(&down)], options).unwrap();
    let m = forwarder.metrics.clone();
    let one = |t: i64| [(labels(&[("__name__", "up")]), t, 1.0)];
    for t in 0..10 {
        forwarder.enqueue(&one(t));
    }
    until("a retry", || {
        m.retries.with_label_values(&[&down]).get() > 0
    })
    .await;
    assert_eq!(
        m.samples_dropped
            .with_label_values(&[&down, "queue_full"])
            .get(),
        6
    );
    assert_eq!(m.queue_samples.with_label_values(&[&down]).get(), 4);
    let queued: Vec<i64> = forwarder.targets[0]
        .lock()
        .peek(10)
        .entries()
        .map(|e| e.t)
        .collect();
    assert_eq!(queued, [6, 7, 8, 9]);
}

#[tokio::test]
async fn dropping_the_forwarder_ends_its_tasks() {
    let rx = receiver(vec![]).await;
    let forwarder = Forwarder::start(vec![ForwardTarget::new(&rx.url)], fast()).unwrap();
    let queue = Arc::downgrade(&forwarder.targets[0]);
    drop(forwarder);
    until("the task to end", || queue.upgrade().is_none()).await;
}
