//! The home page: what is set up (data sources with their health, rule groups, teams,
//! dashboards), the user's starred and recently viewed dashboards, the user's teams with
//! their checklist progress, the alerts firing now, and the next steps while the portal is
//! still empty. A client of `GET /api/v1/home` and `GET /api/v1/alerts`; the data loads after
//! hydration.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde::Deserialize;
use serde_json::Value;

use crate::api_client::{call, ApiFailure};
use crate::components::progress::ProgressBar;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Summary {
    sources: Vec<Source>,
    rules: RuleCounts,
    teams: Vec<crate::dto::TeamRef>,
    my_teams: Vec<MyTeam>,
    dashboards: DashboardCounts,
    starred: Vec<DashboardRef>,
    recent: Vec<DashboardRef>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Source {
    id: i64,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    /// `metrics`, `logs` or `traces`.
    family: String,
    default: bool,
    health: Health,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Health {
    ok: bool,
    message: String,
    elapsed_ms: u64,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct RuleCounts {
    groups: usize,
    rules: usize,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct DashboardCounts {
    total: usize,
    own: usize,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct MyTeam {
    id: i64,
    name: String,
    progress: wire::checklist::Progress,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct DashboardRef {
    uid: String,
    title: String,
}

/// `/`.
#[component]
pub fn Home() -> impl IntoView {
    let summary = RwSignal::new(None::<Result<Summary, ApiFailure>>);
    Effect::new(move |_| {
        spawn_local(async move {
            summary.set(Some(call("GET", "/api/v1/home", None::<&()>).await));
        });
    });
    let body = move || {
        match summary.get() {
        None => view! { <p id="home-loading" role="status">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! {
            <p class="form-error" id="home-error" role="alert">{format!("The home page could not be loaded: {}", e.message)}</p>
        }
        .into_any(),
        Some(Ok(s)) => view! {
            <NextSteps s=s.clone() />
            <div class="home-grid">
                <SetUp s=s.clone() />
                <MyTeams teams=s.my_teams.clone() />
                <DashboardLinks id="starred-dashboards" title="Starred dashboards"
                    empty="No starred dashboards yet: star one in the dashboard list." list=s.starred.clone() />
                <DashboardLinks id="recent-dashboards" title="Recently viewed dashboards"
                    empty="No dashboards viewed yet." list=s.recent />
            </div>
        }
        .into_any(),
    }
    };
    view! {
        <Title text="Home" />
        <h1>"Keiko Observability Portal"</h1>
        <p class="lead">
            "Metrics, logs, traces, dashboards, alert rules and the team monitoring checklist \
             for Keiko — the FastAPI app, its AI agents and its MCP tool servers."
        </p>
        {body}
        <FiringAlerts />
    }
}

/// What is firing now (`GET /api/v1/alerts`), most severe first, linked to the alerts page.
#[component]
fn FiringAlerts() -> impl IntoView {
    let alerts = RwSignal::new(None::<Result<Value, ApiFailure>>);
    Effect::new(move |_| {
        spawn_local(async move {
            alerts.set(Some(call("GET", "/api/v1/alerts", None::<&()>).await));
        });
    });
    let rank = |sev: &str| match sev {
        "critical" => 0,
        "warning" => 1,
        "info" => 2,
        _ => 3,
    };
    let body = move || match alerts.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
        Some(Ok(v)) => {
            let mut firing: Vec<Value> = v["data"]["alerts"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|a| a["state"] == "firing")
                .cloned()
                .collect();
            let sev = |a: &Value| a["labels"]["severity"].as_str().unwrap_or("").to_owned();
            firing.sort_by_key(|a| {
                (
                    rank(&sev(a)),
                    a["activeAt"].as_str().unwrap_or("").to_owned(),
                )
            });
            if firing.is_empty() {
                return view! { <p class="test-ok" id="nothing-firing">"Nothing is firing."</p> }
                    .into_any();
            }
            view! {
                <ul class="plain-list" id="home-firing">
                    {firing.into_iter().map(|a| {
                        let name = a["labels"]["alertname"].as_str().unwrap_or("").to_owned();
                        let summary = a["annotations"]["summary"].as_str().unwrap_or("").to_owned();
                        let severity = sev(&a);
                        let since = a["activeAt"].as_str().unwrap_or("").to_owned();
                        view! {
                            <li class="home-alert" data-alertname=name.clone() data-severity=severity.clone()>
                                <span class=format!("badge severity-{severity}")>{severity.clone()}</span>
                                " "<strong>{name.clone()}</strong>" "{summary}
                                <span class="muted">{format!(" since {since}")}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
    };
    view! {
        <section class="card" id="firing-alerts" aria-label="Firing alerts">
            <h2><a href="/alerting/alerts">"Firing alerts"</a></h2>
            {body}
        </section>
    }
}

/// What to do next while the portal is still empty, as links.
#[component]
fn NextSteps(s: Summary) -> impl IntoView {
    let steps = [
        (
            s.sources.iter().all(|d| d.kind == "embedded"),
            "add-source",
            "/settings/datasources",
            "Add a data source",
            "connect Prometheus, VictoriaMetrics, Thanos or Mimir next to the built-in store.",
        ),
        (
            s.dashboards.own == 0,
            "import-dashboard",
            "/dashboards",
            "Import a Grafana dashboard",
            "or create one: only the built-in dashboards exist so far.",
        ),
        (
            s.rules.groups == 0,
            "add-rules",
            "/alerting/rules/edit",
            "Add alert rules",
            "no rule group exists yet.",
        ),
        (
            s.teams.len() <= 1,
            "add-team",
            "/settings/teams",
            "Create a team",
            "and add its members; each team gets its own monitoring checklist.",
        ),
        (
            s.my_teams.is_empty(),
            "open-checklist",
            "/checklist",
            "Open the team checklist",
            "you are not a member of any team yet.",
        ),
    ];
    let open: Vec<_> = steps.into_iter().filter(|step| step.0).collect();
    (!open.is_empty()).then(|| {
        view! {
            <section class="card" id="next-steps" aria-label="Next steps">
                <h2>"Next steps"</h2>
                <ul>
                    {open
                        .into_iter()
                        .map(|(_, id, href, label, why)| view! {
                            <li><a id=id href=href>{label}</a>" — "{why}</li>
                        })
                        .collect_view()}
                </ul>
            </section>
        }
    })
}

/// Data sources with their health, and how many rule groups, teams and dashboards exist.
#[component]
fn SetUp(s: Summary) -> impl IntoView {
    let sources = s
        .sources
        .into_iter()
        .map(|d| {
            let class = if d.health.ok { "test-ok" } else { "test-failed" };
            let health = if d.health.ok {
                format!("✓ healthy ({} ms)", d.health.elapsed_ms)
            } else {
                format!("✗ {}", d.health.message)
            };
            // Explore → Logs and Explore → Traces read their family's default source.
            let explore = match d.family.as_str() {
                "logs" => "/explore/logs".to_owned(),
                "traces" => "/explore/traces".to_owned(),
                _ => format!("/explore/metrics?ds={}", d.id),
            };
            let kind = if d.kind == "embedded" {
                "built in".to_owned()
            } else {
                d.kind.clone()
            };
            view! {
                <li data-source=d.name.clone() data-family=d.family.clone() data-healthy=d.health.ok.to_string()>
                    <a href=explore>{d.name.clone()}</a>
                    " "<span class="badge source-family">{d.family.clone()}</span>
                    " "<span class="badge source-kind">{kind}</span>
                    {d.default.then(|| view! { " "<span class="badge">"default"</span> })}
                    " "<span class=class>{health}</span>
                </li>
            }
        })
        .collect_view();
    let plural =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    view! {
        <section class="card" id="setup" aria-label="What is set up">
            <h2>"What is set up"</h2>
            <h3><a href="/settings/datasources">"Data sources"</a></h3>
            <ul class="plain-list" id="home-sources">{sources}</ul>
            <ul class="plain-list" id="home-counts">
                <li id="count-rules"><a href="/alerting/rules">{format!(
                    "{} with {}",
                    plural(s.rules.groups, "rule group", "rule groups"),
                    plural(s.rules.rules, "rule", "rules"),
                )}</a></li>
                <li id="count-teams"><a href="/settings/teams">{plural(s.teams.len(), "team", "teams")}</a></li>
                <li id="count-dashboards"><a href="/dashboards">{format!(
                    "{} ({} built in)",
                    plural(s.dashboards.total, "dashboard", "dashboards"),
                    s.dashboards.total - s.dashboards.own,
                )}</a></li>
            </ul>
        </section>
    }
}

/// The signed-in user's teams with their checklist progress.
#[component]
fn MyTeams(teams: Vec<MyTeam>) -> impl IntoView {
    let body = if teams.is_empty() {
        view! { <p class="muted">"You are not a member of any team."</p> }.into_any()
    } else {
        teams
            .into_iter()
            .map(|t| {
                view! {
                    <div class="home-team" data-team=t.name.clone()>
                        <a href=format!("/checklist?team={}", t.id)>{t.name.clone()}</a>
                        <ProgressBar progress=t.progress id=None />
                    </div>
                }
            })
            .collect_view()
            .into_any()
    };
    view! {
        <section class="card" id="my-teams" aria-label="Your teams">
            <h2>"Your teams"</h2>
            {body}
        </section>
    }
}

#[component]
fn DashboardLinks(
    id: &'static str,
    title: &'static str,
    empty: &'static str,
    list: Vec<DashboardRef>,
) -> impl IntoView {
    let body = if list.is_empty() {
        view! { <p class="muted">{empty}</p> }.into_any()
    } else {
        view! {
            <ul class="plain-list">
                {list
                    .into_iter()
                    .map(|d| view! { <li><a href=format!("/d/{}", crate::components::form::encode(&d.uid))>{d.title}</a></li> })
                    .collect_view()}
            </ul>
        }
        .into_any()
    };
    view! {
        <section class="card" id=id aria-label=title>
            <h2>{title}</h2>
            {body}
        </section>
    }
}
