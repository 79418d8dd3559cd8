//! The signed-in user's own page: password, API tokens, and "log out everywhere".

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::json;

use crate::api_client::{call, ApiFailure};
use crate::components::form::field_error;
use crate::dto::{CreatedToken, Role, TokenView};
use crate::session;

#[component]
pub fn Profile() -> impl IntoView {
    let Some(me) = session::current() else {
        return view! { <p>"Sign in to see your profile."</p> }.into_any();
    };
    view! {
        <Title text="Profile" />
        <h1>"Profile"</h1>
        <p class="lead">
            {format!("Signed in as {} ({}).", me.login, me.role)}
        </p>
        <Language user_id=me.id current=me.language.clone() />
        <ChangePassword user_id=me.id />
        <Tokens max_role=me.role />
        <section class="card">
            <h2>"Sessions"</h2>
            <p>"End every session of yours, on every device, including this one."</p>
            <button
                type="button"
                id="logout-everywhere"
                on:click=move |_| {
                    spawn_local(async move {
                        if call::<serde_json::Value>("DELETE", "/api/v1/sessions", None::<&()>)
                            .await
                            .is_ok()
                        {
                            let _ = window().location().set_href("/login");
                        }
                    });
                }
            >
                "Log out everywhere"
            </button>
        </section>
    }
    .into_any()
}

/// The language of checklist texts (Deutsch as the seed writes them, or English).
#[component]
fn Language(user_id: i64, current: String) -> impl IntoView {
    let status = RwSignal::new(String::new());
    view! {
        <section class="card">
            <h2>"Language"</h2>
            <label for="language">"Checklist texts in "</label>
            <select
                id="language"
                on:change=move |ev| {
                    let body = json!({ "language": event_target_value(&ev) });
                    spawn_local(async move {
                        match call::<serde_json::Value>("PATCH", &format!("/api/v1/users/{user_id}"), Some(&body)).await {
                            Ok(_) => status.set("Saved.".into()),
                            Err(e) => status.set(e.message),
                        }
                    });
                }
            >
                <option value="de" selected=current == "de">"Deutsch"</option>
                <option value="en" selected=current == "en">"English"</option>
            </select>
            <span class="form-ok" role="status">{move || status.get()}</span>
        </section>
    }
}

#[component]
fn ChangePassword(user_id: i64) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let done = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body =
            json!({ "current_password": current.get_untracked(), "password": new.get_untracked() });
        spawn_local(async move {
            match call::<serde_json::Value>(
                "PATCH",
                &format!("/api/v1/users/{user_id}"),
                Some(&body),
            )
            .await
            {
                // A new password ends every session, this one too.
                Ok(_) => {
                    done.set(true);
                    let _ = window().location().set_href("/login");
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="form card" id="change-password" on:submit=submit>
            <h2>"Change password"</h2>
            <div class="field">
                <label for="current-password">"Current password"</label>
                <input
                    id="current-password"
                    type="password"
                    autocomplete="current-password"
                    on:input=move |ev| current.set(event_target_value(&ev))
                />
                {field_error(failure, "current_password")}
            </div>
            <div class="field">
                <label for="changed-password">"New password (12+ characters)"</label>
                <input
                    id="changed-password"
                    type="password"
                    autocomplete="new-password"
                    on:input=move |ev| new.set(event_target_value(&ev))
                />
                {field_error(failure, "password")}
            </div>
            <button type="submit" class="primary">
                "Change password"
            </button>
            {move || done.get().then(|| view! { <p class="form-ok">"Password changed."</p> })}
        </form>
    }
}

#[component]
fn Tokens(max_role: Role) -> impl IntoView {
    let tokens = RwSignal::new(None::<Result<Vec<TokenView>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            tokens.set(Some(
                call::<Vec<TokenView>>("GET", "/api/v1/tokens", None::<&()>).await,
            ));
        });
    });
    let name = RwSignal::new(String::new());
    let role = RwSignal::new(max_role.as_str().to_owned());
    let expires = RwSignal::new(String::new());
    let ingest_only = RwSignal::new(false);
    let failure = RwSignal::new(None::<ApiFailure>);
    let shown = RwSignal::new(None::<String>);
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let expires_at = expires.get_untracked();
        let ingest = ingest_only.get_untracked();
        let body = json!({
            "name": name.get_untracked(),
            // An ingest token pushes metrics only (as an Editor would); it has no other role.
            "role": (!ingest).then(|| role.get_untracked()),
            "scopes": if ingest { vec!["ingest"] } else { vec![] },
            "expires_at": (!expires_at.is_empty()).then(|| format!("{expires_at}T00:00:00Z")),
        });
        spawn_local(async move {
            match call::<CreatedToken>("POST", "/api/v1/tokens", Some(&body)).await {
                Ok(t) => {
                    failure.set(None);
                    shown.set(Some(t.token));
                    name.set(String::new());
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let revoke = move |id: i64| {
        spawn_local(async move {
            if call::<serde_json::Value>("DELETE", &format!("/api/v1/tokens/{id}"), None::<&()>)
                .await
                .is_ok()
            {
                reload.update(|n| *n += 1);
            }
        });
    };
    view! {
        <section class="card" id="tokens">
            <h2>"API tokens"</h2>
            <form class="form inline-form" id="create-token" on:submit=create>
                <div class="field">
                    <label for="token-name">"Name"</label>
                    <input
                        id="token-name"
                        prop:value=move || name.get()
                        on:input=move |ev| name.set(event_target_value(&ev))
                    />
                    {field_error(failure, "name")}
                </div>
                <div class="field">
                    <label for="token-role">"Role"</label>
                    <select id="token-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        {Role::ALL
                            .iter()
                            .filter(|r| **r <= max_role)
                            .map(|r| view! { <option value=r.as_str() selected=*r == max_role>{r.as_str()}</option> })
                            .collect_view()}
                    </select>
                    {field_error(failure, "role")}
                </div>
                <div class="field">
                    <label for="token-expires">"Expires (optional)"</label>
                    <input
                        id="token-expires"
                        type="date"
                        on:input=move |ev| expires.set(event_target_value(&ev))
                    />
                    {field_error(failure, "expires_at")}
                </div>
                <div class="field">
                    <label for="token-ingest">
                        <input id="token-ingest" type="checkbox" prop:checked=move || ingest_only.get()
                            on:change=move |ev| ingest_only.set(event_target_checked(&ev)) />
                        " Only push metrics (remote-write, OTLP)"
                    </label>
                    {field_error(failure, "scopes")}
                </div>
                <button type="submit" class="primary">
                    "Create token"
                </button>
            </form>
            {move || {
                shown
                    .get()
                    .map(|t| {
                        view! {
                            <p class="form-ok" role="status">
                                "Copy it now, it is shown only once: " <code id="new-token">{t}</code>
                            </p>
                        }
                    })
            }}
            <table class="grid">
                <thead>
                    <tr>
                        <th>"Name"</th>
                        <th>"Role"</th>
                        <th>"Created"</th>
                        <th>"Expires"</th>
                        <th>"Last used"</th>
                        <th></th>
                    </tr>
                </thead>
                <tbody>
                    {move || {
                        tokens
                            .get()
                            .and_then(Result::ok)
                            .unwrap_or_default()
                            .into_iter()
                            .map(|t| {
                                let id = t.id;
                                view! {
                                    <tr class="token-row">
                                        <td>{t.name}</td>
                                        <td>{if t.scopes.is_empty() { t.role.as_str().to_owned() } else { format!("{} only", t.scopes.join(", ")) }}</td>
                                        <td>{t.created_at}</td>
                                        <td>{t.expires_at.unwrap_or_else(|| "never".into())}</td>
                                        <td>{t.last_used_at.unwrap_or_else(|| "never".into())}</td>
                                        <td>
                                            {if t.revoked {
                                                view! { <span>"revoked"</span> }.into_any()
                                            } else {
                                                view! {
                                                    <button type="button" class="danger" on:click=move |_| revoke(id)>
                                                        "Revoke"
                                                    </button>
                                                }
                                                    .into_any()
                                            }}
                                        </td>
                                    </tr>
                                }
                            })
                            .collect_view()
                    }}
                </tbody>
            </table>
        </section>
    }
}
