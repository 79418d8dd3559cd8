//! Settings pages for users, teams and the audit log. They load their data from the JSON
//! API after hydration and change it through the same API; edit controls are rendered only
//! for roles that may use them (the API refuses the rest anyway).

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::json;

use crate::api_client::{call, ApiFailure};
use crate::dto::{AuditEntry, Role, TeamView, UserView};
use crate::form::{encode, field_error, form_error};
use crate::session;

/// Loads `path` into `target` whenever `reload` changes (browser only: effects never run
/// on the server).
fn load_into<T>(
    path: String,
    target: RwSignal<Option<Result<T, ApiFailure>>>,
    reload: RwSignal<u32>,
) where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Effect::new(move |_| {
        reload.track();
        let path = path.clone();
        spawn_local(async move {
            target.set(Some(call::<T>("GET", &path, None::<&()>).await));
        });
    });
}

fn input_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}

#[component]
pub fn Users() -> impl IntoView {
    let is_admin = session::has_role(Role::Admin);
    let users = RwSignal::new(None::<Result<Vec<UserView>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    load_into("/api/v1/users".into(), users, reload);

    view! {
        <Title text="Users" />
        <h1>"Users"</h1>
        {is_admin.then(|| view! { <CreateUser reload /> })}
        <table class="grid" id="users-table">
            <thead>
                <tr>
                    <th>"Login"</th>
                    <th>"Name"</th>
                    <th>"Role"</th>
                    <th>"Teams"</th>
                    <th>"State"</th>
                    {is_admin.then(|| view! { <th>"Actions"</th> })}
                </tr>
            </thead>
            <tbody>
                {move || match users.get() {
                    None => {
                        view! {
                            <tr>
                                <td colspan="6">"Loading…"</td>
                            </tr>
                        }
                            .into_any()
                    }
                    Some(Err(e)) => {
                        view! {
                            <tr>
                                <td colspan="6" class="form-error">
                                    {e.message}
                                </td>
                            </tr>
                        }
                            .into_any()
                    }
                    Some(Ok(list)) => {
                        list.into_iter()
                            .map(|u| view! { <UserRow user=u is_admin reload /> })
                            .collect_view()
                            .into_any()
                    }
                }}
            </tbody>
        </table>
    }
}

#[component]
fn UserRow(user: UserView, is_admin: bool, reload: RwSignal<u32>) -> impl IntoView {
    let failure = RwSignal::new(None::<ApiFailure>);
    let id = user.id;
    let patch = move |body: serde_json::Value| {
        spawn_local(async move {
            match call::<UserView>("PATCH", &format!("/api/v1/users/{id}"), Some(&body)).await {
                Ok(_) => {
                    failure.set(None);
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let remove = move |_| {
        let confirmed = window()
            .confirm_with_message("Delete this user? Their sessions and tokens end.")
            .unwrap_or(false);
        if confirmed {
            spawn_local(async move {
                match call::<serde_json::Value>(
                    "DELETE",
                    &format!("/api/v1/users/{id}"),
                    None::<&()>,
                )
                .await
                {
                    Ok(_) => reload.update(|n| *n += 1),
                    Err(e) => failure.set(Some(e)),
                }
            });
        }
    };
    let new_password = RwSignal::new(String::new());
    let teams = user
        .teams
        .iter()
        .map(|t| t.name.clone())
        .collect::<Vec<_>>()
        .join(", ");
    let role = user.role;
    let disabled = user.disabled;
    view! {
        <tr data-login=user.login.clone()>
            <td>{user.login.clone()}</td>
            <td>{user.name.clone()}</td>
            <td>
                {if is_admin {
                    view! {
                        <select
                            class="role-select"
                            on:change=move |ev| patch(json!({ "role": input_value(&ev) }))
                        >
                            {Role::ALL
                                .iter()
                                .map(|r| {
                                    view! {
                                        <option value=r.as_str() selected=*r == role>
                                            {r.as_str()}
                                        </option>
                                    }
                                })
                                .collect_view()}
                        </select>
                    }
                        .into_any()
                } else {
                    view! { <span>{role.as_str()}</span> }.into_any()
                }}
            </td>
            <td>{teams}</td>
            <td>{if disabled { "disabled" } else { "active" }}</td>
            {is_admin
                .then(|| {
                    view! {
                        <td class="actions">
                            <button
                                type="button"
                                class="toggle-disabled"
                                on:click=move |_| patch(json!({ "disabled": !disabled }))
                            >
                                {if disabled { "Enable" } else { "Disable" }}
                            </button>
                            <input
                                type="password"
                                class="reset-password"
                                placeholder="new password"
                                prop:value=move || new_password.get()
                                on:input=move |ev| new_password.set(input_value(&ev))
                            />
                            <button
                                type="button"
                                class="reset-password-button"
                                on:click=move |_| {
                                    patch(json!({ "password": new_password.get_untracked() }))
                                }
                            >
                                "Reset password"
                            </button>
                            <button type="button" class="danger delete-user" on:click=remove>
                                "Delete"
                            </button>
                            {field_error(failure, "password")}
                            {field_error(failure, "role")}
                            {field_error(failure, "disabled")}
                            {field_error(failure, "id")}
                            {form_error(failure)}
                        </td>
                    }
                })}
        </tr>
    }
}

#[component]
fn CreateUser(reload: RwSignal<u32>) -> impl IntoView {
    let login = RwSignal::new(String::new());
    let name = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let role = RwSignal::new("Viewer".to_owned());
    let failure = RwSignal::new(None::<ApiFailure>);
    let created = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({
            "login": login.get_untracked(),
            "name": name.get_untracked(),
            "password": password.get_untracked(),
            "role": role.get_untracked(),
        });
        spawn_local(async move {
            match call::<UserView>("POST", "/api/v1/users", Some(&body)).await {
                Ok(u) => {
                    failure.set(None);
                    created.set(Some(u.login));
                    login.set(String::new());
                    name.set(String::new());
                    password.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="form inline-form" id="create-user" on:submit=submit>
            <h2>"Create user"</h2>
            <div class="field">
                <label for="new-login">"Login"</label>
                <input
                    id="new-login"
                    prop:value=move || login.get()
                    on:input=move |ev| login.set(input_value(&ev))
                />
                {field_error(failure, "login")}
            </div>
            <div class="field">
                <label for="new-name">"Name"</label>
                <input
                    id="new-name"
                    prop:value=move || name.get()
                    on:input=move |ev| name.set(input_value(&ev))
                />
                {field_error(failure, "name")}
            </div>
            <div class="field">
                <label for="new-password">"Password (12+ characters)"</label>
                <input
                    id="new-password"
                    type="password"
                    prop:value=move || password.get()
                    on:input=move |ev| password.set(input_value(&ev))
                />
                {field_error(failure, "password")}
            </div>
            <div class="field">
                <label for="new-role">"Role"</label>
                <select id="new-role" on:change=move |ev| role.set(input_value(&ev))>
                    <option value="Viewer" selected>
                        "Viewer"
                    </option>
                    <option value="Editor">"Editor"</option>
                    <option value="Admin">"Admin"</option>
                </select>
                {field_error(failure, "role")}
            </div>
            <button type="submit" class="primary">
                "Create"
            </button>
            {form_error(failure)}
            {move || {
                created
                    .get()
                    .map(|l| {
                        view! {
                            <p class="form-ok" role="status">
                                "Created " {l} "."
                            </p>
                        }
                    })
            }}
        </form>
    }
}

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

#[component]
pub fn Audit() -> impl IntoView {
    let entries = RwSignal::new(None::<Result<Vec<AuditEntry>, ApiFailure>>);
    let actor = RwSignal::new(String::new());
    let action = RwSignal::new(String::new());
    let object_type = RwSignal::new(String::new());
    let query = move || {
        let mut q = vec!["limit=200".to_owned()];
        for (k, v) in [
            ("actor", actor.get()),
            ("action", action.get()),
            ("object_type", object_type.get()),
        ] {
            if !v.trim().is_empty() {
                q.push(format!("{k}={}", encode(v.trim())));
            }
        }
        format!("/api/v1/audit?{}", q.join("&"))
    };
    Effect::new(move |_| {
        let path = query();
        spawn_local(async move {
            entries.set(Some(
                call::<Vec<AuditEntry>>("GET", &path, None::<&()>).await,
            ));
        });
    });
    let filter_input = |id: &'static str, label: &'static str, sig: RwSignal<String>| {
        view! {
            <div class="field">
                <label for=id>{label}</label>
                <input id=id prop:value=move || sig.get() on:change=move |ev| sig.set(input_value(&ev)) />
            </div>
        }
    };
    view! {
        <Title text="Audit log" />
        <h1>"Audit log"</h1>
        <p class="lead">
            "Every change made through the portal: who, when, what, before and after. Append-only."
        </p>
        <form class="form inline-form" on:submit=|ev| ev.prevent_default()>
            {filter_input("audit-actor", "Actor", actor)}
            {filter_input("audit-action", "Action", action)}
            {filter_input("audit-object", "Object type", object_type)}
        </form>
        <table class="grid" id="audit-table">
            <thead>
                <tr>
                    <th>"When"</th>
                    <th>"Who"</th>
                    <th>"Action"</th>
                    <th>"Object"</th>
                    <th>"Before"</th>
                    <th>"After"</th>
                    <th>"Correlation ID"</th>
                    <th>"Client"</th>
                </tr>
            </thead>
            <tbody>
                {move || match entries.get() {
                    None => view! { <tr><td colspan="8">"Loading…"</td></tr> }.into_any(),
                    Some(Err(e)) => view! { <tr><td colspan="8" class="form-error">{e.message}</td></tr> }.into_any(),
                    Some(Ok(list)) => {
                        list.into_iter()
                            .map(|e| {
                                let show = |v: Option<serde_json::Value>| v.map(|v| v.to_string()).unwrap_or_default();
                                view! {
                                    <tr class="audit-row">
                                        <td>{e.at}</td>
                                        <td>{format!("{} ({})", e.actor_login, e.actor_role)}</td>
                                        <td>{e.action}</td>
                                        <td>{format!("{} {}", e.object_type, e.object_id)}</td>
                                        <td><code>{show(e.before)}</code></td>
                                        <td><code>{show(e.after)}</code></td>
                                        <td><code>{e.correlation_id}</code></td>
                                        <td>{e.client_addr}</td>
                                    </tr>
                                }
                            })
                            .collect_view()
                            .into_any()
                    }
                }}
            </tbody>
        </table>
    }
}
