//! Charts through the real server against a real Prometheus loaded with known data: the
//! SVG's drawn points sit where the values put them, M4 draws the same pixels as the raw
//! data with far fewer points, the first HTML of the Explore page already holds the chart,
//! errors name their field, and each user's query history is their own.

use e2e::api::Client;
use e2e::portal::Portal;
use e2e::prometheus::Prometheus;
use e2e::svg::{picture, series_polylines, Plot};
use serde_json::{json, Value};

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

async fn add_source(admin: &Client, url: &str) -> i64 {
    let (s, body) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "Prometheus", "type": "prometheus", "url": url, "default": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
    body["id"].as_i64().unwrap()
}

fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn the_drawn_points_are_the_values_and_the_first_html_holds_the_chart() {
    // 240 samples, 15 s apart, ending ~30 min ago: GET counts i, POST counts 2i.
    let start = (now() - 30 * 60 - 240 * 15) / 15 * 15;
    let mut om = String::from("# TYPE keiko_http_requests counter\n");
    for i in 0..240 {
        let t = start + 15 * i;
        om.push_str(&format!(
            "keiko_http_requests_total{{method=\"GET\",endpoint=\"/api/chat\"}} {i} {t}\n"
        ));
        om.push_str(&format!(
            "keiko_http_requests_total{{method=\"POST\",endpoint=\"/api/agents\"}} {} {t}\n",
            2 * i
        ));
    }
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = add_source(&admin, &prom.url()).await;

    let end = start + 15 * 239;
    let path = format!(
        "/api/v1/datasources/{id}/chart?query={}&from={start}&to={end}&step=15&width=800&height=300&raw=true&legend={}",
        enc("keiko_http_requests_total"),
        enc("{{method}} {{endpoint}}")
    );
    let (s, chart) = admin.get(&path).await;
    assert_eq!(s, 200, "{chart}");
    let names = e2e::svg::series_names(&chart);
    assert_eq!(names, ["POST /api/agents", "GET /api/chat"]);
    assert_eq!(chart["inspector"]["step"], 15.0);
    assert_eq!(chart["inspector"]["points_returned"], 480);
    assert_eq!(chart["total_series"], 2);

    let plot = Plot::of(&chart);
    let (x0, x1, y0, y1) = (plot.x0, plot.x1, plot.y0, plot.y1);
    assert_eq!((x0, x1), (start as f64, end as f64));
    assert!(
        y0 <= 0.0 && y1 >= 478.0,
        "the y axis holds 0..478: {y0}..{y1}"
    );

    let svg = chart["svg"].as_str().unwrap();
    let lines = series_polylines(svg);
    assert_eq!(lines.len(), 2, "one line per series");
    for (line, factor) in lines.iter().zip([2.0, 1.0]) {
        assert_eq!(line.len(), 240);
        for (i, &(x, y)) in line.iter().enumerate() {
            let t = (start + 15 * i as i64) as f64;
            let (want_x, want_y) = plot.pixel(t, factor * i as f64);
            assert!(
                (x as f64 - want_x).abs() < 1.0,
                "x of point {i}: {x} vs {want_x}"
            );
            assert!(
                (y as f64 - want_y).abs() < 1.0,
                "y of point {i}: {y} vs {want_y}"
            );
        }
    }
    // The series colours in the answer are the strokes drawn.
    for s in chart["series"].as_array().unwrap() {
        let color = s["color"].as_str().unwrap();
        assert!(svg.contains(&format!("stroke=\"{color}\"")), "{color}");
    }

    // The Explore page's first HTML (no JavaScript run) already holds this chart.
    let page = format!(
        "/explore/metrics?ds={id}&q={}&from={start}&to={end}",
        enc("keiko_http_requests_total{method=\"GET\"}")
    );
    let html = admin.html(&page).await;
    assert!(
        html.contains("class=\"chart-svg\""),
        "SVG in the first HTML: {html}"
    );
    let drawn = series_polylines(&html);
    assert_eq!(drawn.len(), 1, "the one GET series is drawn server-side");
    assert!(
        html.contains("keiko_http_requests_total{endpoint=\"/api/chat\", method=\"GET\"}")
            || html.contains(
                "keiko_http_requests_total{endpoint=&quot;/api/chat&quot;, method=&quot;GET&quot;}"
            )
    );
    assert!(html.contains("Query inspector"));

    // Isolating a series (a legend click) draws only it, on its own scale.
    let (s, focused) = admin.get(&format!("{path}&focus=1")).await;
    assert_eq!(s, 200, "{focused}");
    assert_eq!(series_polylines(focused["svg"].as_str().unwrap()).len(), 1);
    assert!(focused["plot"]["y_max"].as_f64().unwrap() < 300.0);

    // Instant query as a table.
    let (s, table) = admin
        .get(&format!(
            "/api/v1/datasources/{id}/table?query={}&time={}",
            enc("sum(keiko_http_requests_total)"),
            start + 15 * 100
        ))
        .await;
    assert_eq!(s, 200, "{table}");
    assert_eq!(table["rows"][0]["raw"], 300.0);
    assert_eq!(table["rows"][0]["value"], "300");
}

#[tokio::test]
async fn m4_draws_the_same_pixels_as_every_point_with_a_fraction_of_them() {
    // Seven days at one sample a minute, two spiky series.
    let end = (now() - 600) / 60 * 60;
    let start = end - 7 * 86_400 + 60;
    let mut om = String::from("# TYPE keiko_agent_task_duration_seconds gauge\n");
    let mut x: u64 = 7;
    for t in (start..=end).step_by(60) {
        for agent in ["planner", "coder"] {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let spike = if x >> 58 == 0 { 40.0 } else { 0.0 };
            let v = ((x >> 33) % 1000) as f64 / 100.0 + spike;
            om.push_str(&format!(
                "keiko_agent_task_duration_seconds{{agent_type=\"{agent}\"}} {v} {t}\n"
            ));
        }
    }
    om.push_str("# EOF\n");
    let prom = Prometheus::with_data(&om).await;
    let portal = Portal::start().await;
    let admin = portal.admin();
    let id = add_source(&admin, &prom.url()).await;

    let base = format!(
        "/api/v1/datasources/{id}/chart?query=keiko_agent_task_duration_seconds&from={start}&to={end}&step=60&width=1000&height=300"
    );
    let (s, raw) = admin.get(&format!("{base}&raw=true")).await;
    assert_eq!(s, 200, "{raw}");
    let (s, m4) = admin.get(&base).await;
    assert_eq!(s, 200, "{m4}");

    let returned = m4["inspector"]["points_returned"].as_u64().unwrap();
    let drawn = m4["inspector"]["points_drawn"].as_u64().unwrap();
    let columns =
        (m4["plot"]["right"].as_i64().unwrap() - m4["plot"]["left"].as_i64().unwrap() + 1) as u64;
    assert_eq!(returned, 2 * 10_080);
    assert_eq!(raw["inspector"]["points_drawn"].as_u64().unwrap(), returned);
    assert!(
        drawn <= 2 * 4 * columns,
        "at most 4 points per column and series: {drawn}"
    );
    assert!(
        drawn * 2 < returned,
        "M4 sends far fewer points: {drawn} of {returned}"
    );
    for s in m4["series"].as_array().unwrap() {
        assert!(s["points"].as_array().unwrap().len() as u64 <= 4 * columns);
    }

    let raw_picture = picture(raw["svg"].as_str().unwrap());
    assert!(
        raw_picture.0.len() as u64 > columns * 9 / 10,
        "lines span the chart"
    );
    assert_eq!(
        raw_picture,
        picture(m4["svg"].as_str().unwrap()),
        "every pixel column has the same extremes and the same joins"
    );
    // And the wire format is smaller by about the same factor.
    let raw_bytes = serde_json::to_vec(&raw["series"]).unwrap().len();
    let m4_bytes = serde_json::to_vec(&m4["series"]).unwrap().len();
    assert!(m4_bytes * 2 < raw_bytes, "{m4_bytes} vs {raw_bytes}");
}

#[tokio::test]
async fn bad_chart_requests_name_their_field_and_dead_sources_say_so() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, dead) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "dead", "type": "prometheus", "url": format!("http://127.0.0.1:{}", e2e::free_port()), "timeout_ms": 1000}),
        )
        .await;
    assert_eq!(s, 201);
    let id = dead["id"].as_i64().unwrap();
    let cases: [(&str, &str, &str); 6] = [
        ("query=rate(up%5B5m%5D", "query", "line 1, column"),
        ("query=up&from=yesterday", "from", "not a time"),
        ("query=up&from=now&to=now-1h", "to", "later than"),
        ("query=up&width=10", "width", "100 to 4000"),
        ("query=up&unit=furlongs", "unit", "not a unit"),
        ("query=up&from=now-30d&step=1", "step", "11000"),
    ];
    for (params, field, words) in cases {
        let (s, body) = admin
            .get(&format!("/api/v1/datasources/{id}/chart?{params}"))
            .await;
        assert_eq!(s, 400, "{params}: {body}");
        assert_eq!(body["error"]["field"], field, "{params}: {body}");
        let message = body["error"]["message"].as_str().unwrap();
        assert!(message.contains(words), "{params}: {message}");
    }
    let (s, body) = admin
        .get(&format!("/api/v1/datasources/{id}/chart?query=up"))
        .await;
    assert_eq!(s, 502, "{body}");
    assert_eq!(body["error"]["code"], "source_unavailable");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("could not be reached"));
    let (s, _) = admin.get("/api/v1/datasources/999/chart?query=up").await;
    assert_eq!(s, 404);

    // The page shows the failure in place of the chart; the portal stays healthy.
    let html = admin.html(&format!("/explore/metrics?ds={id}&q=up")).await;
    assert!(
        html.contains("panel-error") && html.contains("could not be reached"),
        "{html}"
    );
    let (s, _) = admin.get("/healthz").await;
    assert_eq!(s, 200);

    // Validation as the editor types.
    let (s, v) = admin
        .get("/api/v1/promql/validate?query=sum(rate(x%5B5m%5D)")
        .await;
    assert_eq!(s, 200);
    assert_eq!(v["valid"], false);
    assert_eq!(v["line"], 1);
    assert!(v["column"].as_u64().unwrap() > 1, "{v}");
    let (_, v) = admin
        .get("/api/v1/promql/validate?query=sum(rate(x%5B5m%5D))")
        .await;
    assert_eq!(v, json!({"valid": true}));
}

#[tokio::test]
async fn query_history_is_per_user_newest_first_without_repeats() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let viewer = portal.user_with_role("viewer", "Viewer").await;
    for q in ["up", "rate(keiko_errors_total[5m])", "up"] {
        let (s, body) = viewer
            .post("/api/v1/query-history", json!({"query": q}))
            .await;
        assert_eq!(s, 201, "{body}");
    }
    let (s, list) = viewer.get("/api/v1/query-history").await;
    assert_eq!(s, 200);
    let queries: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["query"].as_str().unwrap())
        .collect();
    assert_eq!(queries, ["up", "rate(keiko_errors_total[5m])"]);
    let (_, theirs) = admin.get("/api/v1/query-history").await;
    assert_eq!(theirs, json!([]), "another user's history is not shown");

    let (s, body) = viewer
        .post("/api/v1/query-history", json!({"query": "  "}))
        .await;
    assert_eq!(s, 400);
    assert_eq!(body["error"]["field"], "query");
    let (s, body) = viewer
        .post(
            "/api/v1/query-history",
            json!({"query": "up", "datasource_id": 42}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(body["error"]["field"], "datasource_id");
    let (_, after): (_, Value) = viewer.get("/api/v1/query-history").await;
    assert_eq!(
        after.as_array().unwrap().len(),
        2,
        "refused writes change nothing"
    );
}
