//! `/settings/users`: the users, their roles, passwords and teams.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::json;

use super::{input_value, load_into};
use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error, form_error};
use crate::dto::{Role, UserView};
use crate::session;

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
