//! The team checklist page: one team's items with state buttons (click or keyboard),
//! owners, due dates, notes, evidence badges and progress bars that update in place; and
//! the overview of every team by section. A client of `/api/v1/teams/{id}/checklist`.

mod items;
mod ownership;

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use wire::checklist::{Overview, TeamChecklist};

use crate::api_client::{call, ApiFailure};
use crate::components::progress::{progress_text, ProgressBar};
use crate::dto::{Role, TeamView, UserView};
use crate::session;
use items::ItemRow;
use ownership::Ownership;

pub(super) const STATES: [(&str, &str); 4] = [
    ("open", "Open"),
    ("in_progress", "In progress"),
    ("done", "Done"),
    ("not_applicable", "N/A"),
];

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
    let list = RwSignal::new(None::<Result<TeamChecklist, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            list.set(Some(
                call::<TeamChecklist>(
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
                view! {
                    <ProgressBar progress=data.progress id=Some("overall-progress") />
                    {data.sections.into_iter().map(|s| {
                        view! {
                            <section class="checklist-section card" data-section=s.id.to_string()>
                                <h2>{s.title}</h2>
                                <ProgressBar progress=s.progress id=None />
                                <ul class="checklist-items">
                                    {s.items.into_iter().map(|item| {
                                        let state = item.state.clone();
                                        let owner = item.owner.as_ref().and_then(|o| o.login.clone()).unwrap_or_default();
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
fn Overview() -> impl IntoView {
    let data = RwSignal::new(None::<Result<Overview, ApiFailure>>);
    Effect::new(move |_| {
        spawn_local(async move {
            data.set(Some(
                call::<Overview>("GET", "/api/v1/checklist/overview", None::<&()>).await,
            ));
        });
    });
    view! {
        {move || match data.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
            Some(Ok(v)) => {
                let headers: Vec<String> = v.teams.first().into_iter().flat_map(|t| &t.sections)
                    .map(|s| s.title.clone()).collect();
                view! {
                    <table class="grid" id="team-matrix">
                        <thead><tr><th>"Team"</th><th>"Overall"</th>{headers.into_iter().map(|h| view! { <th>{h}</th> }).collect_view()}</tr></thead>
                        <tbody>
                            {v.teams.into_iter().map(|t| view! {
                                <tr data-team=t.team.name.clone()>
                                    <td><a href=format!("/checklist?team={}", t.team.id)>{t.team.name.clone()}</a></td>
                                    <td>{progress_text(&t.progress)}</td>
                                    {t.sections.into_iter().map(|s| view! { <td>{format!("{:.1}%", s.progress.percent)}</td> }).collect_view()}
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h2>"Needs attention"</h2>
                    <ul id="attention">
                        {v.attention.into_iter().map(|a| view! {
                            <li>{format!("{}: {}{}{}", a.team, a.title,
                                if a.overdue { " — overdue" } else { "" },
                                if a.owner.is_none() { " — no owner" } else { "" })}</li>
                        }).collect_view()}
                    </ul>
                }.into_any()
            }
        }}
    }
}
