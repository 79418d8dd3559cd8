//! `/dashboards`: search, tags, folders, stars, recently viewed, new.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_navigate;
use serde::Deserialize;
use serde_json::{json, Value};

use super::import::ImportDashboard;
use crate::api_client::{call, ApiFailure};
use crate::components::chart_model::encode_pairs;
use crate::components::form::{encode, field_error, form_error};
use crate::dto::Role;
use crate::session;

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Summary {
    uid: String,
    title: String,
    folder: String,
    tags: Vec<String>,
    starred: bool,
    provisioned_from: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Deserialize)]
struct Recent {
    uid: String,
    title: String,
}

/// The signed-in user's recently viewed dashboards (the home page shows them).
#[component]
pub fn RecentDashboards() -> impl IntoView {
    let recent = RwSignal::new(Vec::<Recent>::new());
    Effect::new(move |_| {
        spawn_local(async move {
            if let Ok(r) =
                call::<Vec<Recent>>("GET", "/api/v1/dashboards/recent", None::<&()>).await
            {
                recent.set(r);
            }
        });
    });
    move || {
        let r = recent.get();
        (!r.is_empty()).then(|| view! {
            <section class="recent" aria-label="Recently viewed">
                <h2>"Recently viewed dashboards"</h2>
                <ul class="inline-list" id="recent-dashboards">
                    {r.into_iter().map(|d| view! { <li><a href=format!("/d/{}", d.uid)>{d.title}</a></li> }).collect_view()}
                </ul>
            </section>
        })
    }
}

/// `/dashboards`.
#[component]
pub fn DashboardList() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let search = RwSignal::new(String::new());
    let tag = RwSignal::new(String::new());
    let starred_only = RwSignal::new(false);
    let reload = RwSignal::new(0u32);
    let list = RwSignal::new(None::<Result<Vec<Summary>, ApiFailure>>);
    Effect::new(move |_| {
        reload.track();
        let path = format!(
            "/api/v1/dashboards?{}",
            encode_pairs(&[
                ("query", search.get()),
                ("tag", tag.get()),
                ("starred", starred_only.get().to_string()),
            ])
        );
        spawn_local(async move {
            list.set(Some(call("GET", &path, None::<&()>).await));
        });
    });
    let toggle_star = move |uid: String, on: bool| {
        spawn_local(async move {
            let method = if on { "POST" } else { "DELETE" };
            let path = format!("/api/v1/dashboards/{}/star", encode(&uid));
            if call::<Value>(method, &path, None::<&()>).await.is_ok() {
                reload.update(|n| *n += 1);
            }
        });
    };
    let rows = move || {
        match list.get() {
        None => view! { <tr><td colspan="4">"Loading…"</td></tr> }.into_any(),
        Some(Err(e)) => view! { <tr><td colspan="4" class="form-error">{e.message}</td></tr> }.into_any(),
        Some(Ok(items)) if items.is_empty() => view! { <tr><td colspan="4">"No dashboards match."</td></tr> }.into_any(),
        Some(Ok(items)) => items
            .into_iter()
            .map(|d| {
                let uid = d.uid.clone();
                let on = !d.starred;
                let tags = d
                    .tags
                    .iter()
                    .map(|t| {
                        let t2 = t.clone();
                        view! { <button type="button" class="tag" on:click=move |_| tag.set(t2.clone())>{t.clone()}</button> }
                    })
                    .collect_view();
                view! {
                    <tr data-uid=d.uid.clone()>
                        <td>
                            <button type="button" class="star" aria-pressed=if d.starred { "true" } else { "false" }
                                title=if d.starred { "Unstar" } else { "Star" }
                                on:click=move |_| toggle_star(uid.clone(), on)>
                                {if d.starred { "★" } else { "☆" }}
                            </button>
                        </td>
                        <td><a href=format!("/d/{}", d.uid)>{d.title.clone()}</a>
                            {d.provisioned_from.as_ref().map(|_| view! { <span class="badge">"provisioned"</span> })}
                        </td>
                        <td>{d.folder.clone()}</td>
                        <td>{tags}</td>
                    </tr>
                }
            })
            .collect_view()
            .into_any(),
    }
    };
    view! {
        <Title text="Dashboards" />
        <h1>"Dashboards"</h1>
        <RecentDashboards />
        <div class="toolbar">
            <input type="search" id="dashboard-search" placeholder="Search by title" prop:value=move || search.get()
                on:input=move |ev| search.set(event_target_value(&ev)) />
            <label><input type="checkbox" id="starred-only" on:change=move |ev| starred_only.set(event_target_checked(&ev)) /> " Starred"</label>
            {move || (!tag.get().is_empty()).then(|| view! {
                <button type="button" class="tag active" on:click=move |_| tag.set(String::new())>{format!("tag: {} ✕", tag.get())}</button>
            })}
        </div>
        <table class="grid" id="dashboards-table">
            <thead><tr><th></th><th>"Title"</th><th>"Folder"</th><th>"Tags"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        {can_edit.then(|| view! { <NewDashboard /> <ImportDashboard /> })}
    }
}

#[component]
fn NewDashboard() -> impl IntoView {
    let title = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let navigate = use_navigate();
    let create = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let body = json!({ "dashboard": { "title": title.get_untracked() }, "message": "created" });
        let navigate = navigate.clone();
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/dashboards", Some(&body)).await {
                Ok(v) => navigate(
                    &format!("/d/{}?edit=1", v["uid"].as_str().unwrap_or("")),
                    Default::default(),
                ),
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    view! {
        <form class="card inline-form" id="new-dashboard" on:submit=create>
            <h2>"New dashboard"</h2>
            <div class="field">
                <label for="new-title">"Title"</label>
                <input id="new-title" prop:value=move || title.get() on:input=move |ev| title.set(event_target_value(&ev)) />
                {field_error(failure, "title")}
            </div>
            <button type="submit" class="primary">"Create"</button>
            {form_error(failure)}
        </form>
    }
}
