//! `/settings/teams`: teams and their members.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::json;

use super::{input_value, load_into};
use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, form_error};
use crate::dto::{Role, TeamView, UserView};
use crate::session;

#[component]
pub fn Teams() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let teams = RwSignal::new(None::<Result<Vec<TeamView>, ApiFailure>>);
    let users = RwSignal::new(None::<Result<Vec<UserView>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    load_into("/api/v1/teams".into(), teams, reload);
    load_into("/api/v1/users".into(), users, reload);
    let name = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({ "name": name.get_untracked() });
        spawn_local(async move {
            match call::<TeamView>("POST", "/api/v1/teams", Some(&body)).await {
                Ok(_) => {
                    failure.set(None);
                    name.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let member = move |team: i64, user: i64, add: bool| {
        spawn_local(async move {
            let method = if add { "PUT" } else { "DELETE" };
            match call::<TeamView>(
                method,
                &format!("/api/v1/teams/{team}/members/{user}"),
                None::<&()>,
            )
            .await
            {
                Ok(_) => reload.update(|n| *n += 1),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <Title text="Teams" />
        <h1>"Teams"</h1>
        {is_admin
            .then(|| {
                view! {
                    <form class="form inline-form" id="create-team" on:submit=create>
                        <div class="field">
                            <label for="team-name">"New team"</label>
                            <input
                                id="team-name"
                                prop:value=move || name.get()
                                on:input=move |ev| name.set(input_value(&ev))
                            />
                            {field_error(failure, "name")}
                        </div>
                        <button type="submit" class="primary">
                            "Create team"
                        </button>
                        {form_error(failure)}
                    </form>
                }
            })}
        <div id="teams">
            {move || match teams.get() {
                None => view! { <p>"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
                Some(Ok(list)) if list.is_empty() => view! { <p>"No teams yet."</p> }.into_any(),
                Some(Ok(list)) => {
                    let all_users = users.get().and_then(Result::ok).unwrap_or_default();
                    list.into_iter()
                        .map(|t| {
                            let team_id = t.id;
                            let candidates: Vec<_> = all_users
                                .iter()
                                .filter(|u| !t.members.iter().any(|m| m.id == u.id))
                                .cloned()
                                .collect();
                            view! {
                                <section class="team" data-team=t.name.clone()>
                                    <h2>{t.name.clone()}</h2>
                                    <ul>
                                        {t
                                            .members
                                            .iter()
                                            .map(|m| {
                                                let uid = m.id;
                                                view! {
                                                    <li>
                                                        {m.login.clone()}
                                                        {is_admin
                                                            .then(|| {
                                                                view! {
                                                                    " "
                                                                    <button
                                                                        type="button"
                                                                        class="link"
                                                                        on:click=move |_| member(team_id, uid, false)
                                                                    >
                                                                        "remove"
                                                                    </button>
                                                                }
                                                            })}
                                                    </li>
                                                }
                                            })
                                            .collect_view()}
                                    </ul>
                                    {(is_admin && !candidates.is_empty())
                                        .then(|| {
                                            view! {
                                                <select
                                                    class="add-member"
                                                    on:change=move |ev| {
                                                        if let Ok(uid) = input_value(&ev).parse::<i64>() {
                                                            member(team_id, uid, true);
                                                        }
                                                    }
                                                >
                                                    <option value="">"Add member…"</option>
                                                    {candidates
                                                        .into_iter()
                                                        .map(|u| {
                                                            view! {
                                                                <option value=u.id.to_string()>{u.login}</option>
                                                            }
                                                        })
                                                        .collect_view()}
                                                </select>
                                            }
                                        })}
                                </section>
                            }
                        })
                        .collect_view()
                        .into_any()
                }
            }}
        </div>
    }
}
