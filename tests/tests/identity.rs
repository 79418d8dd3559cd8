//! Users, roles, sessions, tokens, CSRF, lockout and the audit log, through the real binary.

use std::collections::BTreeSet;
use std::time::Duration;

use e2e::api::{Auth, Client, ADMIN_PASSWORD};
use e2e::portal::Portal;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

async fn metric(portal: &Portal, series: &str) -> f64 {
    let text = reqwest::get(portal.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| {
            l.strip_prefix(series)
                .and_then(|rest| rest.trim().parse().ok())
        })
        .unwrap_or(0.0)
}

// ---- the role matrix ---------------------------------------------------------------------

/// Who calls a route in the matrix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Caller {
    Anonymous,
    Viewer,
    Editor,
    Admin,
}

struct World {
    portal: Portal,
    admin: Client,
    callers: Vec<(Caller, Client, i64)>,
    counter: std::sync::atomic::AtomicU32,
}

impl World {
    fn unique(&self, prefix: &str) -> String {
        let n = self
            .counter
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        format!("{prefix}{n}")
    }

    async fn fresh_user(&self) -> i64 {
        let login = self.unique("target");
        let (s, body) = self
            .admin
            .post(
                "/api/v1/users",
                json!({"login": login, "password": "a-long-password-1", "role": "Viewer"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn fresh_team(&self) -> i64 {
        let (s, body) = self
            .admin
            .post("/api/v1/teams", json!({"name": self.unique("team")}))
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// A rule group at version 1; returns its name.
    async fn fresh_rule_group(&self) -> String {
        let name = self.unique("rules");
        let (s, body) = self
            .admin
            .post("/api/v1/rule-groups", rule_group(&name))
            .await;
        assert_eq!(s, 201, "{body}");
        name
    }

    async fn fresh_source(&self) -> i64 {
        let (s, body) = self
            .admin
            .post("/api/v1/datasources", source(&self.unique("src")))
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn fresh_contact_point(&self, url: &str) -> i64 {
        let (s, body) = self
            .admin
            .post(
                "/api/v1/contact-points",
                contact_point(&self.unique("cp"), url),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn fresh_escalation_policy(&self) -> i64 {
        let cp = self.unique("esc-cp");
        let (s, body) = self
            .admin
            .post(
                "/api/v1/contact-points",
                contact_point(&cp, "http://127.0.0.1:9/hook"),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        let (s, body) = self
            .admin
            .post(
                "/api/v1/escalation-policies",
                escalation_policy(&self.unique("esc"), &cp),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    async fn fresh_notification_template(&self) -> i64 {
        let (s, body) = self
            .admin
            .post(
                "/api/v1/notification-templates",
                notification_template(&self.unique("tmpl")),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }

    /// The fingerprint of a firing alert of a fresh rule group.
    async fn fresh_alert(&self) -> String {
        let name = self.unique("firing");
        let (s, body) = self
            .admin
            .post(
                "/api/v1/rule-groups",
                json!({"name": name, "interval": "1s", "rules": [{"alert": name, "expr": "vector(1)"}]}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        e2e::eventually(std::time::Duration::from_secs(30), "the alert", || async {
            let (_, alerts) = self.admin.get("/api/v1/alerts").await;
            alerts["data"]["alerts"]
                .as_array()?
                .iter()
                .find(|a| a["labels"]["alertname"] == name.as_str())
                .and_then(|a| a["fingerprint"].as_str().map(str::to_owned))
        })
        .await
    }

    async fn fresh_dashboard(&self) -> String {
        let (s, body) = self
            .admin
            .post(
                "/api/v1/dashboards",
                json!({"dashboard": {"title": self.unique("board")}}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["uid"].as_str().unwrap().to_owned()
    }

    async fn token_of(&self, client: &Client) -> i64 {
        let (s, body) = client
            .post(
                "/api/v1/tokens",
                json!({"name": self.unique("tok"), "role": "Viewer"}),
            )
            .await;
        assert_eq!(s, 201, "{body}");
        body["id"].as_i64().unwrap()
    }
}

/// The lowest caller that may use the route; `None` = public.
fn expected_min(method: &str, path: &str) -> Option<Option<Caller>> {
    use Caller::*;
    Some(match (method, path) {
        ("POST", "/api/v1/session") => None,
        ("DELETE", "/api/v1/session") => Some(Viewer),
        ("DELETE", "/api/v1/sessions") => Some(Viewer),
        ("POST", "/api/v1/users") => Some(Admin),
        ("PATCH", "/api/v1/users/{id}") => Some(Admin),
        ("DELETE", "/api/v1/users/{id}") => Some(Admin),
        ("POST", "/api/v1/tokens") => Some(Viewer),
        ("DELETE", "/api/v1/tokens/{id}") => Some(Viewer),
        ("POST", "/api/v1/teams") => Some(Admin),
        ("DELETE", "/api/v1/teams/{id}") => Some(Admin),
        ("PUT", "/api/v1/teams/{id}/members/{user_id}") => Some(Admin),
        ("DELETE", "/api/v1/teams/{id}/members/{user_id}") => Some(Admin),
        ("POST", "/api/v1/rules/import") => Some(Editor),
        ("POST", "/api/v1/rules/validate") => Some(Viewer),
        ("POST", "/api/v1/rules/test") => Some(Viewer),
        ("POST", "/api/v1/rules/backtest") => Some(Viewer),
        ("POST", "/api/v1/rule-groups") => Some(Editor),
        ("PUT", "/api/v1/rule-groups/{name}") => Some(Editor),
        ("DELETE", "/api/v1/rule-groups/{name}") => Some(Editor),
        ("POST", "/api/v1/rule-groups/{name}/restore/{version}") => Some(Editor),
        ("POST", "/api/v1/checklist-templates") => Some(Admin),
        ("PUT", "/api/v1/checklist-templates/{id}") => Some(Admin),
        ("POST", "/api/v1/checklist/evidence") => Some(Editor),
        ("PATCH", "/api/v1/teams/{id}/checklist/items/{item}") => Some(Editor),
        ("PUT", "/api/v1/teams/{id}/ownership") => Some(Editor),
        ("POST", "/api/v1/scrape-config/reload") => Some(Admin),
        ("POST", "/api/v1/write") => Some(Editor),
        ("POST", "/v1/metrics") => Some(Editor),
        ("POST", "/api/v1/logs") => Some(Editor),
        ("POST", "/v1/logs") => Some(Editor),
        ("POST", "/loki/api/v1/push") => Some(Editor),
        ("POST", "/v1/traces") => Some(Editor),
        ("POST", "/api/v2/spans") => Some(Editor),
        // Elasticsearch's bulk API and the template/ILM probes shippers make (#16).
        ("POST" | "PUT", "/_bulk" | "/{index}/_bulk") => Some(Editor),
        ("PUT", "/_template/{name}" | "/_index_template/{name}" | "/_ilm/policy/{name}") => {
            Some(Editor)
        }
        // Prometheus's API takes queries as POST forms too: reading, not changing.
        ("POST", p) if p.starts_with("/prometheus/api/v1/") => Some(Viewer),
        ("POST", "/api/v1/datasources") => Some(Admin),
        ("PUT", "/api/v1/datasources/{id}") => Some(Admin),
        ("DELETE", "/api/v1/datasources/{id}") => Some(Admin),
        ("POST", "/api/v1/datasources/{id}/test") => Some(Admin),
        ("POST", "/api/v1/query-history") => Some(Viewer),
        ("POST", "/api/v1/dashboards") => Some(Editor),
        ("POST", "/api/v1/dashboards/import") => Some(Editor),
        ("PUT", "/api/v1/dashboards/{uid}") => Some(Editor),
        ("DELETE", "/api/v1/dashboards/{uid}") => Some(Editor),
        ("POST", "/api/v1/dashboards/{uid}/restore/{version}") => Some(Editor),
        ("POST", "/api/v1/dashboards/{uid}/duplicate") => Some(Editor),
        ("POST", "/api/v1/dashboards/{uid}/star") => Some(Viewer),
        ("DELETE", "/api/v1/dashboards/{uid}/star") => Some(Viewer),
        ("POST", "/api/v1/dashboards/{uid}/unlink") => Some(Editor),
        ("POST", "/api/v1/contact-points") => Some(Admin),
        ("PUT", "/api/v1/contact-points/{id}") => Some(Admin),
        ("DELETE", "/api/v1/contact-points/{id}") => Some(Admin),
        ("POST", "/api/v1/contact-points/{id}/test") => Some(Admin),
        ("PUT", "/api/v1/notification-policies") => Some(Admin),
        ("POST", "/api/v1/silences") => Some(Editor),
        ("DELETE", "/api/v1/silences/{id}") => Some(Editor),
        ("POST", "/api/v1/escalation-policies") => Some(Admin),
        ("PUT", "/api/v1/escalation-policies/{id}") => Some(Admin),
        ("DELETE", "/api/v1/escalation-policies/{id}") => Some(Admin),
        ("POST", "/api/v1/alerts/{fingerprint}/ack") => Some(Editor),
        ("POST", "/api/v1/notification-templates") => Some(Admin),
        ("PUT", "/api/v1/notification-templates/{id}") => Some(Admin),
        ("DELETE", "/api/v1/notification-templates/{id}") => Some(Admin),
        ("POST", "/api/v1/notification-templates/preview") => Some(Editor),
        _ => return None,
    })
}

fn contact_point(name: &str, url: &str) -> Value {
    json!({"name": name, "type": "webhook", "settings": {"url": url}})
}

/// A notification template defining one template named after it (names are unique).
fn notification_template(name: &str) -> Value {
    json!({"name": name, "body": format!("{{{{ define \"matrix.{name}\" }}}}x{{{{ end }}}}")})
}

fn escalation_policy(name: &str, contact_point: &str) -> Value {
    json!({"name": name, "steps": {"critical": [{"contact_point": contact_point, "after": "5m"}]}})
}

fn silence() -> Value {
    json!({"matchers": [{"name": "alertname", "value": "Down", "isRegex": false, "isEqual": true}],
           "startsAt": "2020-01-01T00:00:00Z", "endsAt": "2099-01-01T00:00:00Z", "createdBy": "matrix", "comment": "role check"})
}

/// A source nobody listens on: tests of it fail fast, which is still a 200 answer.
fn source(name: &str) -> Value {
    json!({"name": name, "type": "prometheus", "url": "http://127.0.0.1:9", "timeout_ms": 500})
}

fn template(name: &str) -> Value {
    json!({"name": name, "sections": [{"title_de": "Betrieb", "title_en": "Operations", "items": [
        {"title_de": "Runbook", "detail_de": "geschrieben", "title_en": "Runbook", "detail_en": "written"}
    ]}]})
}

fn rule_group(name: &str) -> Value {
    json!({"name": name, "rules": [{"alert": "Down", "expr": "up == 0", "labels": {"severity": "warning"}}]})
}

/// Builds the concrete request for one route and caller: path with ids, body.
async fn prepare(
    world: &World,
    method: &str,
    path: &str,
    caller: Caller,
    client: &Client,
) -> (String, Option<Value>) {
    match (method, path) {
        ("POST", "/api/v1/session") => {
            let login = match caller {
                Caller::Anonymous | Caller::Admin => "admin".to_owned(),
                other => format!("{other:?}").to_lowercase(),
            };
            let password = if login == "admin" {
                ADMIN_PASSWORD.to_owned()
            } else {
                format!("{login}-password-long")
            };
            (
                path.into(),
                Some(json!({"login": login, "password": password})),
            )
        }
        ("DELETE", "/api/v1/session") | ("DELETE", "/api/v1/sessions") => (path.into(), None),
        ("POST", "/api/v1/users") => (
            path.into(),
            Some(
                json!({"login": world.unique("made"), "password": "another-long-password", "role": "Viewer"}),
            ),
        ),
        ("PATCH", "/api/v1/users/{id}") => {
            let id = world.fresh_user().await;
            (
                format!("/api/v1/users/{id}"),
                Some(json!({"role": "Editor"})),
            )
        }
        ("DELETE", "/api/v1/users/{id}") => {
            (format!("/api/v1/users/{}", world.fresh_user().await), None)
        }
        ("POST", "/api/v1/tokens") => (path.into(), Some(json!({"name": world.unique("t")}))),
        ("DELETE", "/api/v1/tokens/{id}") => {
            let owner = if caller == Caller::Anonymous {
                &world.admin
            } else {
                client
            };
            (
                format!("/api/v1/tokens/{}", world.token_of(owner).await),
                None,
            )
        }
        ("POST", "/api/v1/teams") => (path.into(), Some(json!({"name": world.unique("squad")}))),
        ("DELETE", "/api/v1/teams/{id}") => {
            (format!("/api/v1/teams/{}", world.fresh_team().await), None)
        }
        ("PUT", "/api/v1/teams/{id}/members/{user_id}") => {
            let (t, u) = (world.fresh_team().await, world.fresh_user().await);
            (format!("/api/v1/teams/{t}/members/{u}"), None)
        }
        ("DELETE", "/api/v1/teams/{id}/members/{user_id}") => {
            let (t, u) = (world.fresh_team().await, world.fresh_user().await);
            let (s, _) = world
                .admin
                .send(Method::PUT, &format!("/api/v1/teams/{t}/members/{u}"), None)
                .await;
            assert_eq!(s, 200);
            (format!("/api/v1/teams/{t}/members/{u}"), None)
        }
        ("POST", "/api/v1/rules/import") => {
            let name = world.unique("imported");
            (path.into(), Some(Value::String(format!("groups:\n  - name: {name}\n    rules:\n      - alert: A\n        expr: up == 0\n"))))
        }
        ("POST", "/api/v1/rules/validate") => (path.into(), Some(json!({"expr": "up == 0"}))),
        ("POST", "/api/v1/rules/backtest") => (
            path.into(),
            Some(
                json!({"rule": {"alert": "A", "expr": "vector(1)"}, "start": "now-10m", "end": "now"}),
            ),
        ),
        ("POST", "/api/v1/rules/test") => (
            path.into(),
            Some(Value::String(
                "tests:\n  - promql_expr_test:\n      - expr: vector(1)\n        eval_time: 0s\n"
                    .into(),
            )),
        ),
        ("POST", "/api/v1/rule-groups") => {
            (path.into(), Some(rule_group(&world.unique("created"))))
        }
        ("PUT", "/api/v1/rule-groups/{name}") => {
            let name = world.fresh_rule_group().await;
            let mut body = rule_group(&name);
            body["version"] = json!(1);
            (format!("/api/v1/rule-groups/{name}"), Some(body))
        }
        ("DELETE", "/api/v1/rule-groups/{name}") => (
            format!(
                "/api/v1/rule-groups/{}?version=1",
                world.fresh_rule_group().await
            ),
            None,
        ),
        ("POST", "/api/v1/rule-groups/{name}/restore/{version}") => (
            format!(
                "/api/v1/rule-groups/{}/restore/1",
                world.fresh_rule_group().await
            ),
            None,
        ),
        ("POST", "/api/v1/checklist-templates") => {
            (path.into(), Some(template(&world.unique("Readiness"))))
        }
        ("PUT", "/api/v1/checklist-templates/{id}") => {
            let (s, t) = world
                .admin
                .post("/api/v1/checklist-templates", template(&world.unique("T")))
                .await;
            assert_eq!(s, 201, "{t}");
            let mut body = template(t["name"].as_str().unwrap());
            body["version"] = json!(1);
            (
                format!("/api/v1/checklist-templates/{}", t["id"]),
                Some(body),
            )
        }
        ("POST", "/api/v1/checklist/evidence") => (path.into(), None),
        ("POST", "/prometheus/api/v1/query") => ("/prometheus/api/v1/query?query=up".into(), None),
        ("POST", "/prometheus/api/v1/query_range") => (
            "/prometheus/api/v1/query_range?query=up&start=0&end=60&step=15".into(),
            None,
        ),
        ("POST", "/prometheus/api/v1/series") => {
            ("/prometheus/api/v1/series?match[]=up".into(), None)
        }
        ("POST", "/prometheus/api/v1/labels") => (path.into(), None),
        ("POST", "/prometheus/api/v1/query_exemplars") => (
            "/prometheus/api/v1/query_exemplars?query=up&start=0&end=60".into(),
            None,
        ),
        ("POST", "/api/v1/scrape-config/reload") => (path.into(), None),
        // An empty remote-write request (snappy of nothing: one zero byte) and an empty
        // OTLP/JSON request are valid pushes.
        ("POST", "/api/v1/write") => (path.into(), Some(Value::String("\u{0}".into()))),
        ("POST", "/v1/metrics") => (path.into(), Some(json!({}))),
        // One JSON line (an empty record) is a valid log push.
        ("POST", "/api/v1/logs") => (path.into(), Some(json!({}))),
        // An empty OTLP/JSON logs request is a valid push.
        ("POST", "/v1/logs") => (path.into(), Some(json!({}))),
        // A Loki push of no streams is a valid push.
        ("POST", "/loki/api/v1/push") => (path.into(), Some(json!({"streams": []}))),
        // An empty OTLP/JSON traces request and an empty Zipkin list are valid pushes.
        ("POST", "/v1/traces") => (path.into(), Some(json!({}))),
        ("POST", "/api/v2/spans") => (path.into(), Some(json!([]))),
        // One bulk action with its document (sent as a raw body).
        ("POST" | "PUT", "/_bulk" | "/{index}/_bulk") => (
            path.replace("{index}", "roles"),
            Some(Value::String(
                "{\"index\":{\"_index\":\"roles\"}}\n{\"message\":\"matrix\"}\n".into(),
            )),
        ),
        ("PUT", "/_template/{name}" | "/_index_template/{name}" | "/_ilm/policy/{name}") => {
            (path.replace("{name}", "probe"), Some(json!({})))
        }
        ("POST", "/prometheus/api/v1/label/{name}/values") => {
            ("/prometheus/api/v1/label/job/values".into(), None)
        }
        ("PUT", "/api/v1/teams/{id}/ownership") => {
            let team = world.fresh_team().await;
            (
                format!("/api/v1/teams/{team}/ownership"),
                Some(json!({"services": ["keiko"]})),
            )
        }
        ("PATCH", "/api/v1/teams/{id}/checklist/items/{item}") => {
            let team = world.fresh_team().await;
            (
                format!("/api/v1/teams/{team}/checklist/items/12"),
                Some(json!({"state": "in_progress"})),
            )
        }
        ("POST", "/api/v1/datasources") => (path.into(), Some(source(&world.unique("src")))),
        ("PUT", "/api/v1/datasources/{id}") => {
            let id = world.fresh_source().await;
            let mut body = source(&world.unique("renamed"));
            body["version"] = json!(1);
            (format!("/api/v1/datasources/{id}"), Some(body))
        }
        ("DELETE", "/api/v1/datasources/{id}") => (
            format!("/api/v1/datasources/{}", world.fresh_source().await),
            None,
        ),
        ("POST", "/api/v1/datasources/{id}/test") => (
            format!("/api/v1/datasources/{}/test", world.fresh_source().await),
            None,
        ),
        ("POST", "/api/v1/query-history") => (path.into(), Some(json!({"query": "up"}))),
        ("POST", "/api/v1/contact-points") => (
            path.into(),
            Some(contact_point(
                &world.unique("cp"),
                "http://127.0.0.1:9/hook",
            )),
        ),
        ("PUT", "/api/v1/contact-points/{id}") => {
            let id = world.fresh_contact_point("http://127.0.0.1:9/hook").await;
            let mut body = contact_point(&world.unique("renamed"), "http://127.0.0.1:9/hook");
            body["version"] = json!(1);
            (format!("/api/v1/contact-points/{id}"), Some(body))
        }
        ("DELETE", "/api/v1/contact-points/{id}") => (
            format!(
                "/api/v1/contact-points/{}",
                world.fresh_contact_point("http://127.0.0.1:9/hook").await
            ),
            None,
        ),
        ("POST", "/api/v1/contact-points/{id}/test") => {
            // A receiver that answers, so the test succeeds for whoever may run it.
            let receiver = e2e::receiver::Receiver::start().await;
            let id = world.fresh_contact_point(&receiver.url("/hook")).await;
            std::mem::forget(receiver);
            (format!("/api/v1/contact-points/{id}/test"), None)
        }
        ("PUT", "/api/v1/notification-policies") => {
            let (_, doc) = world.admin.get("/api/v1/notification-policies").await;
            (path.into(), Some(doc))
        }
        ("POST", "/api/v1/silences") => (path.into(), Some(silence())),
        ("DELETE", "/api/v1/silences/{id}") => {
            let (s, body) = world.admin.post("/api/v1/silences", silence()).await;
            assert_eq!(s, 200, "{body}");
            (
                format!("/api/v1/silences/{}", body["silenceID"].as_str().unwrap()),
                None,
            )
        }
        ("POST", "/api/v1/escalation-policies") => {
            let cp = world.unique("esc-cp");
            let (s, body) = world
                .admin
                .post(
                    "/api/v1/contact-points",
                    contact_point(&cp, "http://127.0.0.1:9/hook"),
                )
                .await;
            assert_eq!(s, 201, "{body}");
            (
                path.into(),
                Some(escalation_policy(&world.unique("esc"), &cp)),
            )
        }
        ("PUT", "/api/v1/escalation-policies/{id}") => {
            let id = world.fresh_escalation_policy().await;
            let (_, current) = world
                .admin
                .get(&format!("/api/v1/escalation-policies/{id}"))
                .await;
            let mut body = current.clone();
            for k in ["id", "updated_at"] {
                body.as_object_mut().unwrap().remove(k);
            }
            (format!("/api/v1/escalation-policies/{id}"), Some(body))
        }
        ("DELETE", "/api/v1/escalation-policies/{id}") => (
            format!(
                "/api/v1/escalation-policies/{}",
                world.fresh_escalation_policy().await
            ),
            None,
        ),
        ("POST", "/api/v1/notification-templates") => (
            path.into(),
            Some(notification_template(&world.unique("tmpl"))),
        ),
        ("PUT", "/api/v1/notification-templates/{id}") => {
            let id = world.fresh_notification_template().await;
            let (_, current) = world
                .admin
                .get(&format!("/api/v1/notification-templates/{id}"))
                .await;
            let body = json!({"name": current["name"], "body": current["body"], "version": current["version"]});
            (format!("/api/v1/notification-templates/{id}"), Some(body))
        }
        ("DELETE", "/api/v1/notification-templates/{id}") => (
            format!(
                "/api/v1/notification-templates/{}",
                world.fresh_notification_template().await
            ),
            None,
        ),
        ("POST", "/api/v1/notification-templates/preview") => (
            path.into(),
            Some(json!({"type": "slack", "fingerprint": world.fresh_alert().await})),
        ),
        ("POST", "/api/v1/alerts/{fingerprint}/ack") => (
            format!("/api/v1/alerts/{}/ack", world.fresh_alert().await),
            None,
        ),
        ("POST", "/api/v1/dashboards") => (
            path.into(),
            Some(json!({"dashboard": {"title": world.unique("Board")}})),
        ),
        ("POST", "/api/v1/dashboards/import") => (
            path.into(),
            Some(json!({"dashboard": {"title": world.unique("Imported"), "panels": []}})),
        ),
        ("PUT", "/api/v1/dashboards/{uid}") => {
            let uid = world.fresh_dashboard().await;
            (
                format!("/api/v1/dashboards/{uid}"),
                Some(json!({"dashboard": {"title": "Renamed"}, "version": 1})),
            )
        }
        ("DELETE", "/api/v1/dashboards/{uid}") => (
            format!("/api/v1/dashboards/{}", world.fresh_dashboard().await),
            None,
        ),
        ("POST", "/api/v1/dashboards/{uid}/restore/{version}") => (
            format!(
                "/api/v1/dashboards/{}/restore/1",
                world.fresh_dashboard().await
            ),
            None,
        ),
        ("POST", "/api/v1/dashboards/{uid}/duplicate") => (
            format!(
                "/api/v1/dashboards/{}/duplicate",
                world.fresh_dashboard().await
            ),
            None,
        ),
        ("POST", "/api/v1/dashboards/{uid}/star") | ("DELETE", "/api/v1/dashboards/{uid}/star") => {
            (
                format!("/api/v1/dashboards/{}/star", world.fresh_dashboard().await),
                None,
            )
        }
        ("POST", "/api/v1/dashboards/{uid}/unlink") => (
            format!(
                "/api/v1/dashboards/{}/unlink",
                world.fresh_dashboard().await
            ),
            None,
        ),
        _ => panic!("no request recipe for {method} {path}"),
    }
}

#[tokio::test]
async fn every_mutating_route_answers_401_403_or_success_by_role() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let mut callers = vec![(Caller::Anonymous, portal.client(Auth::Anonymous), 0)];
    for (caller, login, role) in [
        (Caller::Viewer, "viewer", "Viewer"),
        (Caller::Editor, "editor", "Editor"),
        (Caller::Admin, "admin2", "Admin"),
    ] {
        let client = portal.user_with_role(login, role).await;
        let (_, me) = client.get("/api/v1/users/me").await;
        callers.push((caller, client, me["id"].as_i64().unwrap()));
    }
    let world = World {
        portal,
        admin,
        callers,
        counter: Default::default(),
    };

    // The server's own list of routes: a mutating route missing from this test's table
    // fails here, so no new route can skip the matrix.
    let (s, routes) = world.callers[1].1.get("/api/v1/meta/routes").await;
    assert_eq!(s, 200);
    let mutating: BTreeSet<(String, String)> = routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] != "GET")
        .map(|r| {
            (
                r["method"].as_str().unwrap().to_owned(),
                r["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let untested: Vec<_> = mutating
        .iter()
        .filter(|(m, p)| expected_min(m, p).is_none())
        .collect();
    assert!(
        untested.is_empty(),
        "mutating routes without a role-matrix entry: {untested:?}"
    );

    let mut failures = Vec::new();
    for (method, path) in &mutating {
        let min = expected_min(method, path).unwrap();
        for (caller, client, _) in &world.callers {
            let (concrete, body) = prepare(&world, method, path, *caller, client).await;
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let (status, answer) = match body {
                Some(Value::String(yaml)) => {
                    let resp = client
                        .request(m, &concrete)
                        .header("content-type", "application/yaml")
                        .body(yaml)
                        .send()
                        .await
                        .unwrap();
                    let status = resp.status();
                    (status, resp.json::<Value>().await.unwrap_or(Value::Null))
                }
                body => client.send(m, &concrete, body).await,
            };
            let expected = match min {
                None => "success",
                Some(_) if *caller == Caller::Anonymous => "401",
                Some(min) if *caller < min => "403",
                Some(_) => "success",
            };
            let ok = match expected {
                "401" => status == StatusCode::UNAUTHORIZED,
                "403" => status == StatusCode::FORBIDDEN,
                _ => status.is_success(),
            };
            if !ok {
                failures.push(format!(
                    "{method} {path} as {caller:?}: expected {expected}, got {status} {answer}"
                ));
            }
            if !status.is_success() {
                assert_eq!(
                    answer["error"]["status"],
                    status.as_u16(),
                    "errors are JSON: {answer}"
                );
            }
        }
    }
    // Reading routes: nobody anonymous.
    for r in routes
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "GET")
    {
        let path = r["path"].as_str().unwrap().replace("{id}", "1");
        let (status, _) = world.callers[0].1.get(&path).await;
        if status != StatusCode::UNAUTHORIZED {
            failures.push(format!(
                "GET {path} anonymously: expected 401, got {status}"
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    drop(world.portal);
}

// ---- sessions ----------------------------------------------------------------------------

#[tokio::test]
async fn a_session_expires_after_its_lifetime() {
    let portal = Portal::start_with(&[("KEIKO_SESSION_TTL_SECS", "1")]).await;
    let session = Client::sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(session.get("/api/v1/users/me").await.0, 200);
    assert_eq!(metric(&portal, "keiko_user_sessions_active").await, 1.0);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(session.get("/api/v1/users/me").await.0, 401);
    assert_eq!(metric(&portal, "keiko_user_sessions_active").await, 0.0);
}

#[tokio::test]
async fn logging_out_everywhere_ends_every_session_and_the_gauge_stays_exact() {
    let portal = Portal::start().await;
    let base = portal.url("");
    let first = Client::sign_in(&base, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let second = Client::sign_in(&base, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let third = Client::sign_in(&base, "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    assert_eq!(metric(&portal, "keiko_user_sessions_active").await, 3.0);

    let (s, _) = third.send(Method::DELETE, "/api/v1/session", None).await;
    assert_eq!(s, 204);
    assert_eq!(third.get("/api/v1/users/me").await.0, 401);
    assert_eq!(metric(&portal, "keiko_user_sessions_active").await, 2.0);

    let (s, body) = first.send(Method::DELETE, "/api/v1/sessions", None).await;
    assert_eq!(s, 200);
    assert_eq!(body["ended"], 2);
    assert_eq!(first.get("/api/v1/users/me").await.0, 401);
    assert_eq!(second.get("/api/v1/users/me").await.0, 401);
    assert_eq!(metric(&portal, "keiko_user_sessions_active").await, 0.0);
}

#[tokio::test]
async fn cookie_changes_without_the_csrf_token_or_from_another_origin_are_refused() {
    let portal = Portal::start().await;
    let session = Client::sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await
        .unwrap();
    let Auth::Session { cookie, csrf } = session.auth.clone() else {
        unreachable!()
    };
    let csrf = csrf.expect("a session has a CSRF token");
    let base = portal.url("");
    let no_token = Client::new(
        &base,
        Auth::Session {
            cookie: cookie.clone(),
            csrf: None,
        },
    );
    let wrong_token = Client::new(
        &base,
        Auth::Session {
            cookie: cookie.clone(),
            csrf: Some("0".repeat(32)),
        },
    );

    let body = json!({"name": "csrf-check"});
    let (s, answer) = no_token.post("/api/v1/teams", body.clone()).await;
    assert_eq!(s, 403);
    assert_eq!(answer["error"]["code"], "csrf");
    assert_eq!(wrong_token.post("/api/v1/teams", body.clone()).await.0, 403);
    // A foreign Origin is refused even with the right token.
    let resp = session
        .request(Method::POST, "/api/v1/teams")
        .header("origin", "https://evil.example")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    // Nothing was created by the refused requests: only the team a fresh portal starts with.
    let (_, teams) = session.get("/api/v1/teams").await;
    let names: Vec<&str> = teams
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Default"]);
    // The right token, or a same-origin browser request, is accepted.
    assert_eq!(session.post("/api/v1/teams", body).await.0, 201);
    let resp = no_token
        .request(Method::POST, "/api/v1/teams")
        .header("origin", format!("http://{}", portal.addr))
        .json(&json!({"name": "same-origin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    assert!(metric(&portal, r#"keiko_security_events_total{event_type="csrf_rejected",severity="warning",source="session"}"#).await >= 2.0);
    assert!(!csrf.is_empty());
}

// ---- tokens ------------------------------------------------------------------------------

#[tokio::test]
async fn a_token_works_until_revoked_and_never_outranks_its_creator() {
    let portal = Portal::start().await;
    let editor = portal.user_with_role("ed", "Editor").await;

    let (s, err) = editor
        .post(
            "/api/v1/tokens",
            json!({"name": "too high", "role": "Admin"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "role");
    let (s, err) = editor
        .post(
            "/api/v1/tokens",
            json!({"name": "old", "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "expires_at");

    let (s, created) = editor
        .post(
            "/api/v1/tokens",
            json!({"name": "ci", "role": "Viewer", "expires_at": "2099-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, 201, "{created}");
    let secret = created["token"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("keiko_"));

    let bearer = portal.client(Auth::Bearer(secret.clone()));
    let (s, me) = bearer.get("/api/v1/users/me").await;
    assert_eq!(s, 200);
    assert_eq!(me["login"], "ed");
    assert_eq!(me["acting_role"], "Viewer", "a Viewer token acts as Viewer");
    assert_eq!(
        bearer
            .post("/api/v1/tokens", json!({"name": "x", "role": "Editor"}))
            .await
            .0,
        400
    );

    // Listed without its secret.
    let (_, list) = editor.get("/api/v1/tokens").await;
    assert_eq!(list[0]["name"], "ci");
    assert!(list[0].get("token").is_none());
    assert!(!list.to_string().contains(&secret));

    let id = created["id"].as_i64().unwrap();
    assert_eq!(
        editor
            .send(Method::DELETE, &format!("/api/v1/tokens/{id}"), None)
            .await
            .0,
        204
    );
    let (s, err) = bearer.get("/api/v1/users/me").await;
    assert_eq!(s, 401);
    assert_eq!(err["error"]["code"], "unauthorized");
    let (_, list) = editor.get("/api/v1/tokens").await;
    assert_eq!(list[0]["revoked"], true);
}

// ---- lockout -----------------------------------------------------------------------------

#[tokio::test]
async fn repeated_failed_logins_are_counted_and_lock_the_login() {
    let portal = Portal::start_with(&[
        ("KEIKO_LOCKOUT_THRESHOLD", "3"),
        ("KEIKO_LOCKOUT_SECS", "60"),
    ])
    .await;
    let base = portal.url("");
    for _ in 0..3 {
        let (s, body) = Client::sign_in(&base, "admin", "wrong-password-here")
            .await
            .err()
            .unwrap();
        assert_eq!(s, 401);
        assert_eq!(body["error"]["message"], "invalid login or password");
    }
    assert_eq!(
        metric(&portal, r#"keiko_security_events_total{event_type="login_failed",severity="warning",source="api_session"}"#).await,
        3.0
    );
    assert_eq!(
        metric(&portal, r#"keiko_security_events_total{event_type="account_locked",severity="critical",source="api_session"}"#).await,
        1.0
    );
    // Locked: even the right password is refused for now, with a clear answer.
    let (s, body) = Client::sign_in(&base, "admin", ADMIN_PASSWORD)
        .await
        .err()
        .unwrap();
    assert_eq!(s, 429);
    assert_eq!(body["error"]["code"], "locked_out");
    // Basic auth goes through the same lock.
    let (s, _) = portal.admin().get("/api/v1/users/me").await;
    assert_eq!(s, 429);
}

// ---- users and validation ----------------------------------------------------------------

#[tokio::test]
async fn bad_user_input_names_the_field_and_changes_nothing() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let cases = [
        (
            json!({"login": "bob", "password": "short", "role": "Viewer"}),
            400,
            "password",
        ),
        (
            json!({"login": "bob", "password": "long-enough-pw", "role": "Root"}),
            400,
            "role",
        ),
        (
            json!({"login": "bad login", "password": "long-enough-pw", "role": "Viewer"}),
            400,
            "login",
        ),
        (
            json!({"login": "admin", "password": "long-enough-pw", "role": "Viewer"}),
            409,
            "login",
        ),
        (json!({"login": "bob", "role": "Viewer"}), 422, "password"),
        (
            json!({"login": "bob", "password": "long-enough-pw", "role": "Viewer", "colour": "red"}),
            422,
            "colour",
        ),
    ];
    for (body, status, field) in cases {
        let (s, answer) = admin.post("/api/v1/users", body.clone()).await;
        assert_eq!(s.as_u16(), status, "{body} → {answer}");
        assert_eq!(answer["error"]["field"], field, "{body} → {answer}");
    }
    let (_, users) = admin.get("/api/v1/users").await;
    assert_eq!(
        users.as_array().unwrap().len(),
        1,
        "only admin exists: {users}"
    );
}

#[tokio::test]
async fn an_admin_manages_a_user_who_then_signs_in_and_changes_their_password() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, user) = admin
        .post("/api/v1/users", json!({"login": "carol", "password": "carol-first-password", "role": "Viewer", "name": "Carol"}))
        .await;
    assert_eq!(s, 201);
    let id = user["id"].as_i64().unwrap();
    let carol = portal.client(Auth::Basic("carol".into(), "carol-first-password".into()));
    assert_eq!(carol.get("/api/v1/users/me").await.1["name"], "Carol");

    // Carol may change her own name and password, not her role.
    let (s, _) = carol
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "Admin"})),
        )
        .await;
    assert_eq!(s, 403);
    let (s, err) = carol
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"password": "carol-second-password"})),
        )
        .await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "current_password");
    let (s, _) = carol
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"password": "carol-second-password", "current_password": "carol-first-password"})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(carol.get("/api/v1/users/me").await.0, 401);
    let carol = portal.client(Auth::Basic("carol".into(), "carol-second-password".into()));
    assert_eq!(carol.get("/api/v1/users/me").await.0, 200);

    // Disabled users cannot sign in; the last admin cannot be demoted.
    let (s, _) = admin
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(carol.get("/api/v1/users/me").await.0, 401);
    let (s, err) = admin
        .send(
            Method::PATCH,
            "/api/v1/users/1",
            Some(json!({"role": "Viewer"})),
        )
        .await;
    assert_eq!(s, 409);
    assert_eq!(err["error"]["field"], "role");
}

#[tokio::test]
async fn teams_group_users() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let (s, team) = admin
        .post("/api/v1/teams", json!({"name": "Keiko SRE"}))
        .await;
    assert_eq!(s, 201);
    assert_eq!(team["name"], "Keiko SRE");
    let tid = team["id"].as_i64().unwrap();
    assert_eq!(
        admin
            .post("/api/v1/teams", json!({"name": "keiko sre"}))
            .await
            .0,
        409
    );
    assert_eq!(
        admin.post("/api/v1/teams", json!({"name": "   "})).await.1["error"]["field"],
        "name"
    );
    portal.user_with_role("dave", "Editor").await;
    let (_, me) = portal
        .client(Auth::Basic("dave".into(), "dave-password-long".into()))
        .get("/api/v1/users/me")
        .await;
    let uid = me["id"].as_i64().unwrap();
    let (s, team) = admin
        .send(
            Method::PUT,
            &format!("/api/v1/teams/{tid}/members/{uid}"),
            None,
        )
        .await;
    assert_eq!(s, 200);
    assert_eq!(team["members"][0]["login"], "dave");
    let (_, user) = admin.get(&format!("/api/v1/users/{uid}")).await;
    assert_eq!(user["teams"][0]["name"], "Keiko SRE");
}

// ---- anonymous access --------------------------------------------------------------------

#[tokio::test]
async fn anonymous_requests_reach_only_login_health_and_metrics() {
    let portal = Portal::start().await;
    let anon = portal.client(Auth::Anonymous);
    for path in ["/healthz", "/readyz", "/metrics", "/login"] {
        assert_eq!(anon.get(path).await.0, 200, "{path}");
    }
    let resp = anon
        .request(Method::GET, "/settings/users?tab=1")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 303);
    assert_eq!(
        resp.headers()["location"],
        "/login?next=/settings/users%3Ftab%3D1"
    );
    let (s, err) = anon.get("/api/v1/users").await;
    assert_eq!(s, 401);
    assert_eq!(err["error"]["code"], "unauthorized");
    let bad = portal.client(Auth::Basic("admin".into(), "not-the-password".into()));
    assert_eq!(bad.get("/api/v1/users").await.0, 401);
    let bad = portal.client(Auth::Bearer("keiko_0000".into()));
    assert_eq!(bad.get("/api/v1/users").await.0, 401);
}

#[tokio::test]
async fn metrics_can_require_a_token() {
    let portal = Portal::start_with(&[("KEIKO_METRICS_TOKEN", "scrape-secret-123")]).await;
    assert_eq!(portal.client(Auth::Anonymous).get("/metrics").await.0, 401);
    let resp = portal
        .client(Auth::Bearer("scrape-secret-123".into()))
        .request(Method::GET, "/metrics")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert!(resp.text().await.unwrap().contains("keiko_requests_total"));
}

#[tokio::test]
async fn without_a_configured_password_the_admin_password_is_written_to_a_private_file() {
    let portal = Portal::start_with(&[("KEIKO_ADMIN_PASSWORD", "")]).await;
    let path = portal.data_path().join("admin-password");
    let password = std::fs::read_to_string(&path).unwrap().trim().to_owned();
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let client = portal.client(Auth::Basic("admin".into(), password.clone()));
    assert_eq!(client.get("/api/v1/users/me").await.0, 200);
    let line = portal
        .wait_for_log("about the admin", |v| {
            v["message"].as_str().is_some_and(|m| m.contains("admin"))
        })
        .await;
    assert_eq!(line["path"], path.display().to_string());
    let all = portal.stdout_lines().join("\n");
    assert!(!all.contains(&password), "the password reached the log");
}

// ---- audit -------------------------------------------------------------------------------

#[tokio::test]
async fn every_change_is_audited_with_who_what_before_after_and_correlation_id() {
    let portal = Portal::start().await;
    let admin = portal.admin();
    let resp = admin
        .request(Method::POST, "/api/v1/users")
        .header("x-correlation-id", "audit-corr-1")
        .json(&json!({"login": "erin", "password": "erin-long-password", "role": "Viewer"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 201);
    let id = resp.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    admin
        .send(
            Method::PATCH,
            &format!("/api/v1/users/{id}"),
            Some(json!({"role": "Editor"})),
        )
        .await;

    let (s, entries) = admin
        .get(&format!("/api/v1/audit?object_type=user&object_id={id}"))
        .await;
    assert_eq!(s, 200);
    let entries = entries.as_array().unwrap();
    assert_eq!(entries.len(), 2);
    let (update, create) = (&entries[0], &entries[1]);
    assert_eq!(create["action"], "user.create");
    assert_eq!(create["actor_login"], "admin");
    assert_eq!(create["correlation_id"], "audit-corr-1");
    assert_eq!(create["client_addr"], "127.0.0.1");
    assert!(create["before"].is_null());
    assert_eq!(create["after"]["login"], "erin");
    assert!(
        !create.to_string().contains("erin-long-password"),
        "no secret in the audit log"
    );
    assert_eq!(update["before"]["role"], "Viewer");
    assert_eq!(update["after"]["role"], "Editor");

    let (_, filtered) = admin.get("/api/v1/audit?action=user.update").await;
    assert_eq!(filtered.as_array().unwrap().len(), 1);
    let (s, err) = admin.get("/api/v1/audit?since=yesterday").await;
    assert_eq!(s, 400);
    assert_eq!(err["error"]["field"], "since");

    let viewer = portal.user_with_role("vic", "Viewer").await;
    assert_eq!(viewer.get("/api/v1/audit").await.0, 403);

    assert_eq!(
        metric(
            &portal,
            r#"keiko_user_actions_total{action_type="user.create",user_role="Admin"}"#
        )
        .await,
        2.0,
        "erin and vic"
    );
    let file = std::fs::read_to_string(portal.data_path().join("audit.log")).unwrap();
    let line: Value = file
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|v| v["action"] == "user.update")
        .expect("the change in audit.log");
    assert_eq!(line["logger"], "keiko.audit");
    assert_eq!(line["object_id"], id.to_string());

    // The API offers no way to change the log.
    let (_, routes) = admin.get("/api/v1/meta/routes").await;
    assert!(routes.as_array().unwrap().iter().all(|r| !(r["path"]
        .as_str()
        .unwrap()
        .starts_with("/api/v1/audit")
        && r["method"] != "GET")));
}
