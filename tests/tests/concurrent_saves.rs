//! Concurrent saves of every versioned object: rule groups, dashboards, checklist templates
//! and data sources. Saves of the same version race: exactly one wins, the others get 409,
//! none gets a 5xx, and nothing acknowledged is lost. Writers of different objects never
//! fail because another writes at the same time ("database is locked").

use e2e::api::Client;
use e2e::portal::Portal;
use reqwest::Method;
use serde_json::{json, Value};

const RACERS: usize = 8;
const ROUNDS: usize = 4;

/// Sends the same-version saves at once; returns the statuses and the winner's body.
async fn race(
    client: &Client,
    path: &str,
    bodies: Vec<Value>,
) -> (Vec<u16>, Option<(usize, Value)>) {
    let runs = bodies.into_iter().enumerate().map(|(i, body)| {
        let client = client.clone();
        let path = path.to_owned();
        tokio::spawn(async move {
            let (s, v) = client.send(Method::PUT, &path, Some(body)).await;
            (i, s.as_u16(), v)
        })
    });
    let mut statuses = Vec::new();
    let mut winner = None;
    for r in futures_join(runs.collect()).await {
        let (i, s, v) = r;
        assert!(s < 500, "{path}: a racer got {s}: {v}");
        if s == 200 {
            winner = Some((i, v));
        } else {
            assert_eq!(s, 409, "{path}: {v}");
            assert!(v["error"]["field"] == "version", "{v}");
        }
        statuses.push(s);
    }
    (statuses, winner)
}

async fn futures_join<T: Send + 'static>(handles: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await.expect("racer"));
    }
    out
}

fn one_winner(statuses: &[u16]) {
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn rule_group_saves_race_to_one_winner() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let group = |n: usize| json!({"name": "race", "rules": [{"alert": format!("A{n}"), "expr": "up == 0"}]});
    let (s, _) = admin.post("/api/v1/rule-groups", group(999)).await;
    assert_eq!(s, 201);
    for round in 0..ROUNDS {
        let version = 1 + round as i64;
        let bodies = (0..RACERS)
            .map(|i| {
                let mut b = group(i);
                b["version"] = json!(version);
                b
            })
            .collect();
        let (statuses, winner) = race(&admin, "/api/v1/rule-groups/race", bodies).await;
        one_winner(&statuses);
        let (i, _) = winner.unwrap();
        let (_, now) = admin.get("/api/v1/rule-groups/race").await;
        assert_eq!(now["version"], version + 1);
        assert_eq!(
            now["rules"][0]["alert"],
            format!("A{i}"),
            "the winner's save is kept"
        );
    }
    let (_, history) = admin.get("/api/v1/rule-groups/race/history").await;
    assert_eq!(history.as_array().unwrap().len(), 1 + ROUNDS);
}

#[tokio::test]
async fn dashboard_saves_race_to_one_winner() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, _) = admin
        .post(
            "/api/v1/dashboards",
            json!({"dashboard": {"uid": "race", "title": "Race"}}),
        )
        .await;
    assert_eq!(s, 201);
    for round in 0..ROUNDS {
        let version = 1 + round as i64;
        let bodies = (0..RACERS)
            .map(|i| json!({"dashboard": {"uid": "race", "title": format!("Race {i}")}, "version": version}))
            .collect();
        let (statuses, winner) = race(&admin, "/api/v1/dashboards/race", bodies).await;
        one_winner(&statuses);
        let (i, _) = winner.unwrap();
        let (_, now) = admin.get("/api/v1/dashboards/race").await;
        assert_eq!(now["version"], version + 1);
        assert_eq!(now["dashboard"]["title"], format!("Race {i}"));
    }
    let (_, versions) = admin.get("/api/v1/dashboards/race/versions").await;
    assert_eq!(versions.as_array().unwrap().len(), 1 + ROUNDS);
}

#[tokio::test]
async fn checklist_template_saves_race_to_one_winner() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    for round in 0..ROUNDS {
        let (_, templates) = admin.get("/api/v1/checklist-templates").await;
        let t = &templates[0];
        let version = t["version"].as_i64().unwrap();
        assert_eq!(version, 1 + round as i64);
        let bodies = (0..RACERS)
            .map(|i| {
                json!({
                    "name": format!("Monitoring-Checkliste {i}"),
                    "version": version,
                    "sections": t["sections"].as_array().unwrap().iter().map(|s| json!({
                        "id": s["id"], "title_de": s["title_de"], "title_en": s["title_en"],
                        "items": s["items"].as_array().unwrap().iter().map(|it| json!({
                            "id": it["id"], "title_de": it["title_de"], "detail_de": it["detail_de"],
                            "title_en": it["title_en"], "detail_en": it["detail_en"],
                            "evidence_check": it["evidence_check"]})).collect::<Vec<_>>()
                    })).collect::<Vec<_>>()
                })
            })
            .collect();
        let path = format!("/api/v1/checklist-templates/{}", t["id"]);
        let (statuses, winner) = race(&admin, &path, bodies).await;
        one_winner(&statuses);
        let (i, _) = winner.unwrap();
        let (_, now) = admin.get("/api/v1/checklist-templates").await;
        assert_eq!(now[0]["version"], version + 1);
        assert_eq!(now[0]["name"], format!("Monitoring-Checkliste {i}"));
    }
}

#[tokio::test]
async fn data_source_saves_race_to_one_winner() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, src) = admin
        .post(
            "/api/v1/datasources",
            json!({"name": "race", "type": "prometheus", "url": "http://127.0.0.1:9"}),
        )
        .await;
    assert_eq!(s, 201, "{src}");
    assert_eq!(src["version"], 1);
    let id = src["id"].as_i64().unwrap();
    // Without a version an update is refused, naming the field.
    let (s, e) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/datasources/{id}"),
            Some(json!({"name": "race", "type": "prometheus", "url": "http://127.0.0.1:9"})),
        )
        .await;
    assert_eq!(s, 400, "{e}");
    assert_eq!(e["error"]["field"], "version");
    for round in 0..ROUNDS {
        let version = 1 + round as i64;
        let bodies = (0..RACERS)
            .map(|i| json!({"name": "race", "type": "prometheus", "url": format!("http://127.0.0.1:{}", 9000 + i), "version": version}))
            .collect();
        let (statuses, winner) = race(&admin, &format!("/api/v1/datasources/{id}"), bodies).await;
        one_winner(&statuses);
        let (i, won) = winner.unwrap();
        assert_eq!(won["version"], version + 1);
        let (_, now) = admin.get(&format!("/api/v1/datasources/{id}")).await;
        assert_eq!(now["url"], format!("http://127.0.0.1:{}/", 9000 + i));
    }
}

/// Writers of different objects at the same time: every write succeeds (no 500 "database
/// is locked"), and each object holds every write made to it.
#[tokio::test]
async fn writers_of_different_objects_never_fail_each_other() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, team) = admin.post("/api/v1/teams", json!({"name": "SRE"})).await;
    assert_eq!(s, 201);
    let team = team["id"].as_i64().unwrap();
    for g in ["one", "two"] {
        let (s, _) = admin
            .post(
                "/api/v1/rule-groups",
                json!({"name": g, "rules": [{"alert": "A", "expr": "up == 0"}]}),
            )
            .await;
        assert_eq!(s, 201);
    }
    const SAVES: i64 = 15;
    let mut writers = Vec::new();
    for g in ["one", "two"] {
        let admin = admin.clone();
        writers.push(tokio::spawn(async move {
            for v in 1..=SAVES {
                let body = json!({"name": g, "version": v, "rules": [{"alert": format!("A{v}"), "expr": "up == 0"}]});
                let (s, e) = admin
                    .send(Method::PUT, &format!("/api/v1/rule-groups/{g}"), Some(body))
                    .await;
                assert_eq!(s, 200, "{g} v{v}: {e}");
            }
        }));
    }
    {
        let admin = admin.clone();
        writers.push(tokio::spawn(async move {
            for n in 0..SAVES {
                let (s, e) = admin
                    .send(
                        Method::PATCH,
                        &format!("/api/v1/teams/{team}/checklist/items/1"),
                        Some(json!({"note": format!("note {n}")})),
                    )
                    .await;
                assert_eq!(s, 200, "checklist write {n}: {e}");
            }
        }));
    }
    for w in writers {
        w.await.expect("a writer failed");
    }
    for g in ["one", "two"] {
        let (_, now) = admin.get(&format!("/api/v1/rule-groups/{g}")).await;
        assert_eq!(now["version"], SAVES + 1);
        let (_, history) = admin.get(&format!("/api/v1/rule-groups/{g}/history")).await;
        assert_eq!(history.as_array().unwrap().len() as i64, SAVES + 1);
    }
    let (_, history) = admin
        .get(&format!("/api/v1/teams/{team}/checklist/items/1/history"))
        .await;
    assert_eq!(history.as_array().unwrap().len() as i64, SAVES);
}
