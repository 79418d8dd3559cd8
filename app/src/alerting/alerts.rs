//! `/alerting/alerts`: firing and pending alerts grouped by labels (the group-by and state
//! choices live in the URL), with since when, value, annotations, links to the rule, to
//! Explore at that time and to the dashboard a `dashboard` annotation names, a "Silence"
//! button that opens the silence form prefilled with the alert's labels, and "Acknowledge"
//! (who acknowledged and when is shown; it stops the alert's escalation). Rendered on the
//! server in the first HTML (the rules with their alerts come through the `Fetcher`).

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};
use serde_json::Value;

use super::{editor_href, state_history_href};
use crate::api_client::call;
use crate::components::chart_model::encode_pairs;
use crate::components::form::encode;
use crate::components::time_range::rfc3339_seconds;
use crate::dto::Role;
use crate::fetch::Fetcher;
use crate::notifications::matcher_text;
use crate::session;

/// One pending or firing alert with the rule it comes from.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ActiveAlert {
    pub rule: String,
    pub namespace: String,
    pub group: String,
    pub query: String,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    pub state: String,
    pub active_at: String,
    pub value: String,
    /// From `/api/v1/alerts` (empty when notifications are off).
    pub fingerprint: String,
    pub acknowledged_by: String,
    pub acknowledged_at: String,
    /// From `/api/v1/alerts`' `status`: the silences that mute it, the alerts that inhibit it.
    pub silenced_by: Vec<String>,
    pub inhibited_by: Vec<String>,
}

fn strings(v: &Value) -> BTreeMap<String, String> {
    v.as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_owned()))
                .collect()
        })
        .unwrap_or_default()
}

impl ActiveAlert {
    /// Muted by a silence or an inhibition (Alertmanager's `suppressed`).
    pub(crate) fn muted(&self) -> bool {
        !self.silenced_by.is_empty() || !self.inhibited_by.is_empty()
    }
}

/// The State choice: everything, `firing`, `pending`, `silenced` (muted) or `active` (not).
fn shown_by_state(a: &ActiveAlert, state: &str) -> bool {
    match state {
        "" => true,
        "silenced" => a.muted(),
        "active" => !a.muted(),
        s => a.state == s,
    }
}

fn ids(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|x| x.as_str().map(str::to_owned))
        .collect()
}

/// The alerts of Prometheus's `/api/v1/rules` data (`page["rules"]`), each with its rule,
/// and its fingerprint and acknowledgement from `/api/v1/alerts` (`page["alerts"]`, the
/// same alert has the same labels and `activeAt`).
pub(crate) fn active_alerts(page: &Value) -> Vec<ActiveAlert> {
    let text = |v: &Value, k: &str| v[k].as_str().unwrap_or_default().to_owned();
    let listed: Vec<&Value> = page["alerts"]["alerts"]
        .as_array()
        .map(|a| a.iter().collect())
        .unwrap_or_default();
    let mut out = Vec::new();
    for g in page["rules"]["groups"].as_array().into_iter().flatten() {
        for r in g["rules"].as_array().into_iter().flatten() {
            for a in r["alerts"].as_array().into_iter().flatten() {
                let same = listed
                    .iter()
                    .find(|l| l["labels"] == a["labels"] && l["activeAt"] == a["activeAt"])
                    .copied()
                    .unwrap_or(&Value::Null);
                out.push(ActiveAlert {
                    rule: text(r, "name"),
                    namespace: text(g, "file"),
                    group: text(g, "name"),
                    query: text(r, "query"),
                    labels: strings(&a["labels"]),
                    annotations: strings(&a["annotations"]),
                    state: text(a, "state"),
                    active_at: text(a, "activeAt"),
                    value: text(a, "value"),
                    fingerprint: text(same, "fingerprint"),
                    acknowledged_by: text(same, "acknowledgedBy"),
                    acknowledged_at: text(same, "acknowledgedAt"),
                    silenced_by: ids(&same["status"]["silencedBy"]),
                    inhibited_by: ids(&same["status"]["inhibitedBy"]),
                });
            }
        }
    }
    out
}

/// Alerts in groups by the values of `by` (one group of everything when `by` is empty);
/// groups by their key, firing before pending, oldest first inside.
pub(crate) fn grouped(
    mut alerts: Vec<ActiveAlert>,
    by: &[String],
) -> Vec<(String, Vec<ActiveAlert>)> {
    alerts.sort_by(|a, b| {
        (a.state != "firing", &a.active_at, &a.labels).cmp(&(
            b.state != "firing",
            &b.active_at,
            &b.labels,
        ))
    });
    let mut groups: BTreeMap<String, Vec<ActiveAlert>> = BTreeMap::new();
    for a in alerts {
        let key = by
            .iter()
            .map(|l| format!("{l}={}", a.labels.get(l).map(String::as_str).unwrap_or("")))
            .collect::<Vec<_>>()
            .join(", ");
        groups.entry(key).or_default().push(a);
    }
    groups.into_iter().collect()
}

/// The silence form prefilled with every label of the alert.
pub(crate) fn silence_href(labels: &BTreeMap<String, String>) -> String {
    let pairs: Vec<(&str, String)> = labels
        .iter()
        .map(|(k, v)| ("matcher", matcher_text(k, v)))
        .collect();
    format!("/alerting/silences?{}", encode_pairs(&pairs))
}

/// Where a `dashboard` annotation points: a portal path as is, an http(s) URL as is, or a uid.
pub(crate) fn dashboard_href(annotation: &str) -> Option<String> {
    let a = annotation.trim();
    if a.is_empty() {
        None
    } else if (a.starts_with('/') && !a.starts_with("//"))
        || a.starts_with("https://")
        || a.starts_with("http://")
    {
        Some(a.to_owned())
    } else {
        Some(format!("/d/{}", encode(a)))
    }
}

/// Explore with the rule's query from an hour before the alert became active until now.
fn explore_href(a: &ActiveAlert) -> String {
    let from = rfc3339_seconds(&a.active_at)
        .map(|t| ((t - 3600) * 1000).to_string())
        .unwrap_or_else(|| "now-6h".into());
    format!(
        "/explore/metrics?{}",
        encode_pairs(&[("q", a.query.clone()), ("from", from), ("to", "now".into())])
    )
}

/// `2026-12-03T08:55:39Z` → `2026-12-03 08:55:39 UTC`.
fn shown_time(t: &str) -> String {
    let t = t.replace('T', " ");
    let t = t.split('.').next().unwrap_or(&t).trim_end_matches('Z');
    format!("{t} UTC")
}

/// Prometheus's `1.5e+00` as `1.5`.
fn shown_value(v: &str) -> String {
    v.parse::<f64>()
        .map(|n| format!("{n}"))
        .unwrap_or_else(|_| v.to_owned())
}

#[component]
pub fn AlertsPage() -> impl IntoView {
    let query = use_query_map();
    let group_by = Memo::new(move |_| {
        query
            .read()
            .get("group_by")
            .unwrap_or_else(|| "alertname".into())
    });
    let state_filter = Memo::new(move |_| query.read().get("state").unwrap_or_default());
    let fetcher = Fetcher::new();
    let data = Resource::new(
        || (),
        move |_| {
            let f = fetcher.clone();
            async move { f.alerts_page().await }
        },
    );
    let refresh = Callback::new(move |_: ()| data.refetch());
    let navigate = use_navigate();
    let go = Callback::new(move |(by, state): (String, String)| {
        let url = format!(
            "/alerting/alerts?{}",
            encode_pairs(&[("group_by", by), ("state", state)])
        );
        navigate(&url, Default::default())
    });
    view! {
        <Title text="Alerts" />
        <h1>"Alerts"</h1>
        <p class="lead">"Pending and firing alerts of every alerting rule, as the last evaluation left them."</p>
        <Transition fallback=|| view! { <p>"Loading alerts…"</p> }>
            {move || data.get().map(|r| match r {
                Err(e) => view! { <p class="form-error" role="alert">{e.to_string()}</p> }.into_any(),
                Ok(d) => {
                    let all = active_alerts(&d);
                    let mut names: Vec<String> = all.iter().flat_map(|a| a.labels.keys().cloned()).collect();
                    names.sort();
                    names.dedup();
                    let by = group_by.get();
                    if !by.is_empty() && !names.contains(&by) {
                        names.push(by.clone());
                    }
                    let state = state_filter.get();
                    let shown: Vec<ActiveAlert> = all
                        .iter()
                        .filter(|a| shown_by_state(a, &state))
                        .cloned()
                        .collect();
                    let firing = all.iter().filter(|a| a.state == "firing").count();
                    let pending = all.iter().filter(|a| a.state == "pending").count();
                    let muted = all.iter().filter(|a| a.muted()).count();
                    let keys: Vec<String> = if by.is_empty() { vec![] } else { vec![by.clone()] };
                    let (by_now, state_now) = (by.clone(), state.clone());
                    view! {
                        <div class="toolbar">
                            <label for="alerts-group-by">"Group by"</label>
                            <select id="alerts-group-by" on:change=move |ev| go.run((event_target_value(&ev), state_now.clone()))>
                                <option value="" selected=by.is_empty()>"(no grouping)"</option>
                                {names.into_iter().map(|n| {
                                    let selected = n == by;
                                    view! { <option value=n.clone() selected=selected>{n.clone()}</option> }
                                }).collect_view()}
                            </select>
                            <label for="alerts-state">"State"</label>
                            <select id="alerts-state" on:change=move |ev| go.run((by_now.clone(), event_target_value(&ev)))>
                                {[("", "firing and pending"), ("firing", "firing"), ("pending", "pending"),
                                  ("active", "not silenced"), ("silenced", "silenced or inhibited")].map(|(v, l)| view! {
                                    <option value=v selected=state == v>{l}</option>
                                })}
                            </select>
                            <span class="muted" id="alerts-counts">{format!("{firing} firing, {pending} pending, {muted} silenced or inhibited")}</span>
                            <button type="button" id="refresh-alerts" on:click=move |_| refresh.run(())>"Refresh"</button>
                            <a class="button" href="/alerting/silences">"Silences"</a>
                        </div>
                        {if shown.is_empty() {
                            view! { <p id="no-alerts" class="muted">"Nothing is firing or pending."</p> }.into_any()
                        } else {
                            view! {
                                <div id="alert-groups">
                                    {grouped(shown, &keys).into_iter().map(|(key, list)| view! {
                                        <section class="card alert-group" data-group=key.clone()>
                                            <h2>{if key.is_empty() { "All alerts".to_owned() } else { key.clone() }}
                                                <span class="muted">{format!(" · {}", list.len())}</span></h2>
                                            {list.into_iter().map(|a| view! { <AlertItem a=a refresh=refresh /> }).collect_view()}
                                        </section>
                                    }).collect_view()}
                                </div>
                            }.into_any()
                        }}
                    }.into_any()
                }
            })}
        </Transition>
    }
}

#[component]
fn AlertItem(a: ActiveAlert, refresh: Callback<()>) -> impl IntoView {
    let can_ack = session::has_role(Role::Editor)
        && !a.fingerprint.is_empty()
        && a.acknowledged_by.is_empty();
    let failure = RwSignal::new(None::<String>);
    let fingerprint = a.fingerprint.clone();
    let acknowledge = move |_| {
        let path = format!("/api/v1/alerts/{}/ack", encode(&fingerprint));
        spawn_local(async move {
            match call::<Value>("POST", &path, None::<&()>).await {
                Ok(_) => refresh.run(()),
                Err(e) => failure.set(Some(e.to_string())),
            }
        });
    };
    let acked = (!a.acknowledged_by.is_empty()).then(|| {
        format!(
            "Acknowledged by {} at {}",
            a.acknowledged_by,
            shown_time(&a.acknowledged_at)
        )
    });
    let rule_href = format!(
        "{}#rule-{}",
        editor_href(&a.namespace, &a.group),
        encode(&a.rule)
    );
    let dashboard = a
        .annotations
        .get("dashboard")
        .and_then(|d| dashboard_href(d));
    let labels = a
        .labels
        .iter()
        .map(|(k, v)| view! { <span class="tag label-chip" data-label=k.clone()>{format!("{k}={v}")}</span> })
        .collect_view();
    let annotations = a
        .annotations
        .iter()
        .filter(|(k, _)| k.as_str() != "dashboard")
        .map(|(k, v)| view! { <dt>{k.clone()}</dt><dd data-annotation=k.clone()>{v.clone()}</dd> })
        .collect_view();
    // Alertmanager's `suppressed`: say by what (a silence links to the silences page).
    let muted =
        (!a.silenced_by.is_empty() || !a.inhibited_by.is_empty()).then(|| {
            let silenced = (!a.silenced_by.is_empty()).then(|| view! {
            <a class="badge state-silenced alert-silenced" href="/alerting/silences"
                data-silenced-by=a.silenced_by.join(",")
                title=format!("Muted by silence {}", a.silenced_by.join(", "))>"silenced"</a>
        });
            let inhibited = (!a.inhibited_by.is_empty()).then(|| view! {
            <span class="badge state-silenced alert-inhibited"
                title=format!("Inhibited by alert {}", a.inhibited_by.join(", "))>"inhibited"</span>
        });
            view! { {silenced}{inhibited} }
        });
    view! {
        <article class="alert-item" data-alertname=a.labels.get("alertname").cloned().unwrap_or_default()
            data-state=a.state.clone() data-silenced=(!a.silenced_by.is_empty()).to_string()>
            <div class="alert-head">
                <span class=format!("badge state-{}", a.state)>{a.state.clone()}</span>
                {muted}
                <strong>{a.rule.clone()}</strong>
                <span class="muted alert-since">{format!(" since {}", shown_time(&a.active_at))}</span>
                <span class="alert-value">{format!(" · value {}", shown_value(&a.value))}</span>
            </div>
            {acked.map(|t| view! { <p class="alert-acked test-ok">{t}</p> })}
            <div class="alert-labels">{labels}</div>
            <dl class="alert-annotations">{annotations}</dl>
            <div class="actions">
                <a class="rule-link" href=rule_href>"Rule"</a>
                <a class="history-link" href=state_history_href(&a.namespace, &a.group, &a.rule)>"State history"</a>
                <a class="explore-link" href=explore_href(&a)>"Explore at that time"</a>
                {dashboard.map(|d| view! { <a class="dashboard-link" href=d>"Dashboard"</a> })}
                <a class="button small silence-alert" href=silence_href(&a.labels)>"Silence"</a>
                {can_ack.then(|| view! {
                    <button type="button" class="small ack-alert" on:click=acknowledge>"Acknowledge"</button>
                })}
                {move || failure.get().map(|m| view! { <span class="test-failed" role="alert">{m}</span> })}
            </div>
        </article>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn alert(name: &str, sev: &str, state: &str, at: &str) -> ActiveAlert {
        ActiveAlert {
            rule: name.into(),
            namespace: "default".into(),
            group: "g".into(),
            query: "up == 0".into(),
            labels: BTreeMap::from([
                ("alertname".into(), name.into()),
                ("severity".into(), sev.into()),
            ]),
            annotations: BTreeMap::new(),
            state: state.into(),
            active_at: at.into(),
            value: "1e+00".into(),
            fingerprint: String::new(),
            acknowledged_by: String::new(),
            acknowledged_at: String::new(),
            silenced_by: Vec::new(),
            inhibited_by: Vec::new(),
        }
    }

    #[test]
    fn alerts_come_out_of_the_rules_answer_with_their_rule() {
        let rules = json!({"groups": [{"name": "g", "file": "ns", "rules": [
            {"name": "Down", "query": "up == 0", "alerts": [
                {"labels": {"alertname": "Down", "job": "a"}, "annotations": {"summary": "s"},
                 "state": "firing", "activeAt": "2026-12-03T08:00:00Z", "value": "0e+00"}]},
            {"name": "Quiet", "query": "vector(1)", "alerts": []}
        ]}]});
        let alerts = json!({"alerts": [{"labels": {"alertname": "Down", "job": "a"}, "activeAt": "2026-12-03T08:00:00Z",
            "fingerprint": "00000000000000ab", "acknowledgedBy": "ops",
            "status": {"state": "suppressed", "silencedBy": ["s1"], "inhibitedBy": []}}]});
        let list = active_alerts(&json!({"rules": rules, "alerts": alerts}));
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].silenced_by, ["s1"]);
        assert!(list[0].inhibited_by.is_empty());
        assert!(shown_by_state(&list[0], "silenced") && !shown_by_state(&list[0], "active"));
        assert!(shown_by_state(&list[0], "firing") && !shown_by_state(&list[0], "pending"));
        assert_eq!(
            (
                list[0].namespace.as_str(),
                list[0].group.as_str(),
                list[0].rule.as_str()
            ),
            ("ns", "g", "Down")
        );
        assert_eq!(list[0].labels["job"], "a");
        assert_eq!(list[0].fingerprint, "00000000000000ab");
        assert_eq!(list[0].acknowledged_by, "ops");
    }

    #[test]
    fn groups_follow_the_chosen_label_with_firing_first() {
        let list = vec![
            alert("A", "warning", "pending", "2026-12-03T08:00:00Z"),
            alert("B", "critical", "firing", "2026-12-03T09:00:00Z"),
            alert("C", "warning", "firing", "2026-12-03T10:00:00Z"),
        ];
        let groups = grouped(list, &["severity".to_owned()]);
        let keys: Vec<&str> = groups.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["severity=critical", "severity=warning"]);
        let warn: Vec<&str> = groups[1].1.iter().map(|a| a.rule.as_str()).collect();
        assert_eq!(warn, ["C", "A"]);
    }

    #[test]
    fn links_are_built_from_labels_and_annotations() {
        let href = silence_href(&BTreeMap::from([("alertname".into(), "Down".into())]));
        assert_eq!(href, "/alerting/silences?matcher=alertname%3D%22Down%22");
        assert_eq!(
            dashboard_href("keiko-overview").unwrap(),
            "/d/keiko-overview"
        );
        assert_eq!(
            dashboard_href("/d/x?from=now-1h").unwrap(),
            "/d/x?from=now-1h"
        );
        assert_eq!(
            dashboard_href("javascript:alert(1)").unwrap(),
            "/d/javascript%3Aalert%281%29"
        );
        assert_eq!(
            dashboard_href("//evil.example").unwrap(),
            "/d/%2F%2Fevil.example"
        );
    }
}
