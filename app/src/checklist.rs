//! The team checklist page: one team's items with state buttons (click or keyboard),
//! owners, due dates, notes, evidence badges and progress bars that update in place; and
//! the overview of every team by section. A client of `/api/v1/teams/{id}/checklist`.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::dto::{Role, TeamView, UserView};
use crate::form::field_error;
use crate::session;

const STATES: [(&str, &str); 4] = [
    ("open", "Open"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("not_applicable", "N/A"),
];

fn progress_text(p: &Value) -> String {
    format!("{} / {} ({}%)", p["done"], p["applicable"], p["percent"])
}

#[component]
pub(crate) fn ProgressBar(progress: Value, id: Option<&'static str>) -> impl IntoView {
    let percent = progress["percent"].as_f64().unwrap_or(0.0);
    view! {
        <div class="progress" id=id role="progressbar" aria-valuenow=percent aria-valuemin="0" aria-valuemax="100">
            <div class="progress-fill" style=format!("width: {percent}%")></div>
            <span class="progress-text">{progress_text(&progress)}</span>
        </div>
    }
}

#[component]
pub fn Checklist() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let query = use_query_map();
    let teams = RwSignal::new(None::<Result<Vec<TeamView>, ApiFailure>>);
    let users = RwSignal::new(Vec::<UserView>::new());
    let team = RwSignal::new(
        query
            .with_untracked(|q| q.get("team"))
            .and_then(|t| t.parse::<i64>().ok()),
    );
    let overview_mode =
        RwSignal::new(query.with_untracked(|q| q.get("view")).as_deref() == Some("overview"));
    Effect::new(move |_| {
        spawn_local(async move {
            let list = call::<Vec<TeamView>>("GET", "/api/v1/teams", None::<&()>).await;
            if team.get_untracked().is_none() {
                if let Ok(first) = list.as_ref().map(|l| l.first().map(|t| t.id)) {
                    team.set(first);
                }
            }
            teams.set(Some(list));
            if let Ok(u) = call::<Vec<UserView>>("GET", "/api/v1/users", None::<&()>).await {
                users.set(u);
            }
        });
    });
    view! {
        <Title text="Checklist" />
        <h1>"Checklist"</h1>
        <div class="toolbar">
            <label for="team-select">"Team"</label>
            <select id="team-select" on:change=move |ev| { team.set(event_target_value(&ev).parse().ok()); overview_mode.set(false); }>
                {move || teams.get().and_then(Result::ok).unwrap_or_default().into_iter().map(|t| {
                    let selected = team.get() == Some(t.id);
                    view! { <option value=t.id.to_string() selected=selected>{t.name}</option> }
                }).collect_view()}
            </select>
            <button type="button" id="show-overview" class:active=move || overview_mode.get() on:click=move |_| overview_mode.update(|m| *m = !*m)>
                "All teams"
            </button>
            {move || team.get().map(|id| view! {
                <a class="button" id="export-md" href=format!("/api/v1/teams/{id}/checklist?format=md")>"Markdown"</a>
                <a class="button" id="export-csv" href=format!("/api/v1/teams/{id}/checklist?format=csv")>"CSV"</a>
            })}
        </div>
        {move || match teams.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
            Some(Ok(list)) if list.is_empty() => view! {
                <p>"No teams yet. " <a href="/settings/teams">"Create a team"</a> " to track its checklist."</p>
            }.into_any(),
            Some(Ok(_)) if overview_mode.get() => view! { <Overview /> }.into_any(),
            Some(Ok(_)) => match team.get() {
                Some(id) => view! { <TeamChecklist team_id=id users can_edit /> }.into_any(),
                None => view! { <p>"Pick a team."</p> }.into_any(),
            },
        }}
    }
}

#[component]
fn TeamChecklist(team_id: i64, users: RwSignal<Vec<UserView>>, can_edit: bool) -> impl IntoView {
    let list = RwSignal::new(None::<Result<Value, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            list.set(Some(
                call::<Value>(
                    "GET",
                    &format!("/api/v1/teams/{team_id}/checklist"),
                    None::<&()>,
                )
                .await,
            ));
        });
    });
    let state_filter = RwSignal::new(String::new());
    let owner_filter = RwSignal::new(String::new());
    view! {
        <Ownership team_id can_edit reload />
        <div class="toolbar">
            <select id="state-filter" on:change=move |ev| state_filter.set(event_target_value(&ev))>
                <option value="">"Any state"</option>
                {STATES.iter().map(|(v, l)| view! { <option value=*v>{*l}</option> }).collect_view()}
            </select>
            <select id="owner-filter" on:change=move |ev| owner_filter.set(event_target_value(&ev))>
                <option value="">"Any owner"</option>
                <option value="none">"No owner"</option>
                {move || users.get().into_iter().map(|u| view! { <option value=u.login.clone()>{u.login.clone()}</option> }).collect_view()}
            </select>
        </div>
        {move || match list.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
            Some(Ok(data)) => {
                let sections = data["sections"].as_array().cloned().unwrap_or_default();
                view! {
                    <ProgressBar progress=data["progress"].clone() id=Some("overall-progress") />
                    {sections.into_iter().map(|s| {
                        let items = s["items"].as_array().cloned().unwrap_or_default();
                        view! {
                            <section class="checklist-section card" data-section=s["id"].to_string()>
                                <h2>{s["title"].as_str().unwrap_or("").to_owned()}</h2>
                                <ProgressBar progress=s["progress"].clone() id=None />
                                <ul class="checklist-items">
                                    {items.into_iter().map(|item| {
                                        let state = item["state"].as_str().unwrap_or("open").to_owned();
                                        let owner = item["owner"]["login"].as_str().unwrap_or("").to_owned();
                                        let shown = move || {
                                            let sf = state_filter.get();
                                            let of = owner_filter.get();
                                            (sf.is_empty() || sf == state) && (of.is_empty() || (of == "none" && owner.is_empty()) || of == owner)
                                        };
                                        view! { <ItemRow team_id item users can_edit reload shown=Signal::derive(shown) /> }
                                    }).collect_view()}
                                </ul>
                            </section>
                        }
                    }).collect_view()}
                }.into_any()
            }
        }}
    }
}

/// What the team owns (dashboards, rule namespaces, services): the scope of its evidence.
/// Editors of the team change it and re-run the checks.
#[component]
fn Ownership(team_id: i64, can_edit: bool, reload: RwSignal<u32>) -> impl IntoView {
    let dashboards = RwSignal::new(String::new());
    let namespaces = RwSignal::new(String::new());
    let services = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let status = RwSignal::new(String::new());
    let joined = |v: &Value| {
        v.as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(", ")
    };
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(o) = call::<Value>(
                "GET",
                &format!("/api/v1/teams/{team_id}/ownership"),
                None::<&()>,
            )
            .await
            {
                dashboards.set(joined(&o["dashboards"]));
                namespaces.set(joined(&o["rule_namespaces"]));
                services.set(joined(&o["services"]));
            }
        });
    });
    let list = |s: String| -> Vec<String> {
        s.split([',', ' '])
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let save = move |_| {
        let body = json!({
            "dashboards": list(dashboards.get_untracked()),
            "rule_namespaces": list(namespaces.get_untracked()),
            "services": list(services.get_untracked()),
        });
        status.set("Saving…".into());
        spawn_local(async move {
            match call::<Value>(
                "PUT",
                &format!("/api/v1/teams/{team_id}/ownership"),
                Some(&body),
            )
            .await
            {
                Ok(_) => {
                    failure.set(None);
                    status.set("Saved; checking evidence…".into());
                    let checked =
                        call::<Value>("POST", "/api/v1/checklist/evidence", None::<&()>).await;
                    status.set(match checked {
                        Ok(_) => "Saved and checked".into(),
                        Err(e) => format!("Saved; checking failed: {}", e.message),
                    });
                    reload.update(|n| *n += 1);
                }
                Err(e) => {
                    status.set(String::new());
                    failure.set(Some(e));
                }
            }
        });
    };
    // `services[1]` and the like: the message goes beside the list it names.
    let error_for = move |field: &'static str| {
        move || {
            failure.get().and_then(|f| {
                let named = f.field.as_deref()?;
                (named == field || named.starts_with(&format!("{field}[")))
                    .then(|| view! { <span class="field-error" data-field=named.to_owned()>{f.message.clone()}</span> })
            })
        }
    };
    let input = move |id: &'static str,
                      label: &'static str,
                      hint: &'static str,
                      value: RwSignal<String>,
                      field: &'static str| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id placeholder=hint readonly=!can_edit prop:value=move || value.get()
                    on:input=move |ev| value.set(event_target_value(&ev)) />
                {error_for(field)}
            </div>
        }
    };
    view! {
        <details class="card ownership" id="team-ownership">
            <summary>"What this team owns — the scope of its evidence"</summary>
            <div class="inline-form form">
                {input("own-dashboards", "Dashboards (uids)", "keiko-overview", dashboards, "dashboards")}
                {input("own-namespaces", "Rule namespaces", "default", namespaces, "rule_namespaces")}
                {input("own-services", "Services (job labels, exporters too)", "keiko, node", services, "services")}
            </div>
            {can_edit.then(|| view! { <button type="button" class="primary" id="own-save" on:click=save>"Save and check"</button> })}
            <span id="own-status" role="status">{move || status.get()}</span>
            {move || failure.get().filter(|f| f.field.is_none()).map(|f| view! { <p class="form-error">{f.message}</p> })}
        </details>
    }
}

#[component]
fn ItemRow(
    team_id: i64,
    item: Value,
    users: RwSignal<Vec<UserView>>,
    can_edit: bool,
    reload: RwSignal<u32>,
    shown: Signal<bool>,
) -> impl IntoView {
    let id = item["id"].as_i64().unwrap_or(0);
    let state = item["state"].as_str().unwrap_or("open").to_owned();
    let failure = RwSignal::new(None::<ApiFailure>);
    let asking_reason = RwSignal::new(false);
    let reason = RwSignal::new(item["reason"].as_str().unwrap_or("").to_owned());
    let history = RwSignal::new(None::<Vec<Value>>);
    let send = move |body: Value| {
        spawn_local(async move {
            match call::<Value>(
                "PATCH",
                &format!("/api/v1/teams/{team_id}/checklist/items/{id}"),
                Some(&body),
            )
            .await
            {
                Ok(_) => {
                    failure.set(None);
                    asking_reason.set(false);
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let owner_id = item["owner"]["id"].as_i64();
    let evidence = item["evidence"].clone();
    let warning = item["warning"].as_str().map(str::to_owned);
    let overdue = item["overdue"] == true;
    let note_html = item["note_html"].as_str().unwrap_or("").to_owned();
    let note = item["note"].as_str().unwrap_or("").to_owned();
    let due = item["due_date"].as_str().unwrap_or("").to_owned();
    let links = item["evidence_links"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let links_text: String = links
        .iter()
        .filter_map(Value::as_str)
        .collect::<Vec<_>>()
        .join(" ");

    view! {
        <li class="checklist-item" data-item=id data-state=state.clone() class:hidden=move || !shown.get()>
            <div class="item-head">
                <div class="state-buttons" role="group" aria-label="State">
                    {STATES.iter().map(|(value, label)| {
                        let pressed = state == *value;
                        let value = *value;
                        view! {
                            <button type="button" class=format!("state-button state-{value}") aria-pressed=pressed.to_string() disabled=!can_edit
                                on:click=move |_| {
                                    if value == "not_applicable" {
                                        asking_reason.set(true);
                                    } else {
                                        send(json!({ "state": value }));
                                    }
                                }>
                                {*label}
                            </button>
                        }
                    }).collect_view()}
                </div>
                <span class="item-title"><strong>{item["title"].as_str().unwrap_or("").to_owned()}</strong> " " {item["detail"].as_str().unwrap_or("").to_owned()}</span>
                {overdue.then(|| view! { <span class="badge overdue">"overdue"</span> })}
                {(!evidence.is_null()).then(|| {
                    let status = evidence["status"].as_str().unwrap_or("").to_owned();
                    let text = match status.as_str() {
                        "verified" => format!("evidence verified · {}", evidence["checked_at"].as_str().unwrap_or("")),
                        "failing" => format!("evidence failing since {}", evidence["failing_since"].as_str().unwrap_or("")),
                        _ => evidence["detail"].as_str().unwrap_or("").to_owned(),
                    };
                    let detail = evidence["detail"].as_str().unwrap_or("").to_owned();
                    let shown_detail = (status != "unverifiable").then(|| view! { <span class="evidence-detail">{detail.clone()}</span> });
                    view! { <span class=format!("badge evidence-badge evidence-{status}") title=detail>{text}</span> {shown_detail} }
                })}
            </div>
            {warning.map(|w| view! { <p class="evidence-warning" role="alert">{w}</p> })}
            {move || asking_reason.get().then(|| view! {
                <div class="reason-form">
                    <label>"Why does this not apply?"</label>
                    <input class="reason-input" prop:value=move || reason.get() on:input=move |ev| reason.set(event_target_value(&ev)) />
                    <button type="button" class="primary reason-save" on:click=move |_| send(json!({ "state": "not_applicable", "reason": reason.get_untracked() }))>"Mark not applicable"</button>
                    {field_error(failure, "reason")}
                </div>
            })}
            {(state == "not_applicable").then(|| view! { <p class="muted">"Not applicable: " {item["reason"].as_str().unwrap_or("").to_owned()}</p> })}
            <div class="item-details">
                <label>"Owner"
                    <select class="owner-select" disabled=!can_edit on:change=move |ev| {
                        let v = event_target_value(&ev);
                        send(json!({ "owner_id": v.parse::<i64>().ok() }));
                    }>
                        <option value="">"—"</option>
                        {move || users.get().into_iter().map(|u| view! { <option value=u.id.to_string() selected=owner_id == Some(u.id)>{u.login}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Due"
                    <input type="date" class="due-input" value=due disabled=!can_edit on:change=move |ev| {
                        let v = event_target_value(&ev);
                        send(json!({ "due_date": if v.is_empty() { None } else { Some(v) } }));
                    } />
                </label>
                {field_error(failure, "due_date")}
                <details class="item-more">
                    <summary>"Note, links, history"</summary>
                    <div class="note-view" inner_html=note_html></div>
                    {can_edit.then(|| view! {
                        <textarea class="note-input" rows="3" placeholder="Markdown note" on:change=move |ev| send(json!({ "note": event_target_value(&ev) }))>{crate::form::raw_text(note.clone())}</textarea>
                        <input class="links-input" placeholder="https://… evidence links, space separated"
                            value=links_text.clone()
                            on:change=move |ev| {
                                let v = event_target_value(&ev);
                                send(json!({ "evidence_links": v.split_whitespace().collect::<Vec<_>>() }));
                            } />
                        {field_error(failure, "evidence_links")}
                        {field_error(failure, "note")}
                    })}
                    <ul class="links">{links.iter().filter_map(Value::as_str).map(|l| view! { <li><a href=l.to_owned() rel="noopener noreferrer">{l.to_owned()}</a></li> }).collect_view()}</ul>
                    <button type="button" class="link show-history" on:click=move |_| {
                        spawn_local(async move {
                            if let Ok(h) = call::<Vec<Value>>("GET", &format!("/api/v1/teams/{team_id}/checklist/items/{id}/history"), None::<&()>).await {
                                history.set(Some(h));
                            }
                        });
                    }>"Show history"</button>
                    {move || history.get().map(|h| view! {
                        <ol class="item-history">
                            {h.into_iter().map(|e| view! {
                                <li>{history_line(&e)}</li>
                            }).collect_view()}
                        </ol>
                    })}
                </details>
            </div>
            {move || failure.get().filter(|f| f.field.is_none()).map(|f| view! { <p class="form-error">{f.message}</p> })}
        </li>
    }
}

fn history_line(e: &Value) -> String {
    let changed: Vec<&str> = e["changed"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    format!(
        "{} · {} changed {}",
        e["at"].as_str().unwrap_or(""),
        e["actor"].as_str().unwrap_or(""),
        changed.join(", ")
    )
}

#[component]
fn Overview() -> impl IntoView {
    let data = RwSignal::new(None::<Result<Value, ApiFailure>>);
    Effect::new(move |_| {
        spawn_local(async move {
            data.set(Some(
                call::<Value>("GET", "/api/v1/checklist/overview", None::<&()>).await,
            ));
        });
    });
    view! {
        {move || match data.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
            Some(Ok(v)) => {
                let teams = v["teams"].as_array().cloned().unwrap_or_default();
                let headers: Vec<String> = teams.first().and_then(|t| t["sections"].as_array()).into_iter().flatten()
                    .map(|s| s["title"].as_str().unwrap_or("").to_owned()).collect();
                let attention = v["attention"].as_array().cloned().unwrap_or_default();
                view! {
                    <table class="grid" id="team-matrix">
                        <thead><tr><th>"Team"</th><th>"Overall"</th>{headers.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {teams.into_iter().map(|t| view! {
                                <tr data-team=t["team"]["name"].as_str().unwrap_or("").to_owned()>
                                    <td><a href=format!("/checklist?team={}", t["team"]["id"])>{t["team"]["name"].as_str().unwrap_or("").to_owned()}</a></td>
                                    <td>{progress_text(&t["progress"])}</td>
                                    {t["sections"].as_array().cloned().unwrap_or_default().into_iter().map(|s| view! { <td>{format!("{}%", s["progress"]["percent"])}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"Needs attention"</h2>
                    <ul id="attention">
                        {attention.into_iter().map(|a| view! {
                            <li>{format!("{}: {}{}{}", a["team"].as_str().unwrap_or(""), a["title"].as_str().unwrap_or(""),
                                if a["overdue"] == true { " — overdue" } else { "" },
                                if a["owner"].is_null() { " — no owner" } else { "" })}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        }}
    }
}
