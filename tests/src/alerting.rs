//! What the alerting suites set up again and again through the API.

use serde_json::{json, Value};

use crate::api::Client;

/// A webhook contact point `name` posting to `url` (resolved alerts too), by the admin.
pub async fn webhook(admin: &Client, name: &str, url: &str) {
    let (s, body) = admin
        .post(
            "/api/v1/contact-points",
            json!({"name": name, "type": "webhook", "settings": {"url": url}, "send_resolved": true}),
        )
        .await;
    assert_eq!(s, 201, "{body}");
}

/// A silence of every alert named `alertname` for the next hour, by the admin; its id.
pub async fn silence_alertname(admin: &Client, alertname: &str, comment: &str) -> String {
    let now = crate::now_seconds() as i64;
    let (s, silence) = admin
        .post(
            "/api/v1/silences",
            json!({"matchers": [{"name": "alertname", "value": alertname, "isRegex": false, "isEqual": true}],
                   "startsAt": crate::rfc3339(now), "endsAt": crate::rfc3339(now + 3600),
                   "createdBy": "admin", "comment": comment}),
        )
        .await;
    assert_eq!(s, 200, "{silence}");
    silence["silenceID"]
        .as_str()
        .expect("the silence's id")
        .to_owned()
}

/// Waits until `/api/v1/alerts` lists `n` firing alerts, and returns its answer.
pub async fn firing(admin: &Client, n: usize) -> Value {
    crate::eventually(
        std::time::Duration::from_secs(30),
        &format!("{n} alerts firing"),
        || async {
            let (_, v) = admin.get("/api/v1/alerts").await;
            let count = v["data"]["alerts"]
                .as_array()?
                .iter()
                .filter(|a| a["state"] == "firing")
                .count();
            (count == n).then_some(v)
        },
    )
    .await
}
