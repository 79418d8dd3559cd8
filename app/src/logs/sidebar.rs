//! The field sidebar: the fields of the matching lines with counts; opening one loads its
//! most common values, and each value filters the search in (`+`) or out (`−`).

use leptos::prelude::*;

use crate::components::form::encode;
use crate::components::log_lines::Filter;
use crate::components::log_model::{FieldCount, LogsRequest};

/// Fields listed, and values shown per field.
const MAX_FIELDS: usize = 40;
const TOP_VALUES: usize = 5;

#[component]
pub fn FieldSidebar(
    fields: Vec<FieldCount>,
    req: LogsRequest,
    #[prop(into)] on_filter: Callback<Filter>,
) -> impl IntoView {
    let req = StoredValue::new(req);
    let items = fields
        .into_iter()
        .take(MAX_FIELDS)
        .map(|f| view! { <FieldItem field=f req=req on_filter=on_filter /> })
        .collect_view();
    view! {
        <aside class="log-sidebar" aria-label="Fields">
            <h2>"Fields"</h2>
            <ul class="log-field-list">{items}</ul>
        </aside>
    }
}

#[component]
fn FieldItem(
    field: FieldCount,
    req: StoredValue<LogsRequest>,
    on_filter: Callback<Filter>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let values = RwSignal::new(None::<Result<Vec<FieldCount>, String>>);
    let name = field.name.clone();
    let toggle = {
        let name = name.clone();
        move |_| {
            let now_open = !open.get_untracked();
            open.set(now_open);
            if now_open && values.get_untracked().is_none() {
                load(name.clone(), req.get_value(), values);
            }
        }
    };
    let list = {
        let name = name.clone();
        move || {
            if !open.get() {
                return None;
            }
            Some(match values.get() {
                None => view! { <p class="loading">"Loading…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(list)) => view! {
                    <ul class="log-field-values">
                        {list.into_iter().map(|v| {
                            let (n1, v1, n2, v2) = (name.clone(), v.name.clone(), name.clone(), v.name.clone());
                            view! {
                                <li data-value=v.name.clone()>
                                    <span class="field-value" title=v.name.clone()>{v.name.clone()}</span>
                                    <span class="count">{v.count.to_string()}</span>
                                    <button type="button" class="filter-in" title="Only lines with this value"
                                        on:click=move |_| on_filter.run((n1.clone(), v1.clone(), true))>"+"</button>
                                    <button type="button" class="filter-out" title="Leave out lines with this value"
                                        on:click=move |_| on_filter.run((n2.clone(), v2.clone(), false))>"−"</button>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any(),
            })
        }
    };
    view! {
        <li class="log-field" data-field=name.clone()>
            <button type="button" class="field-name" aria-expanded=move || if open.get() { "true" } else { "false" } on:click=toggle>
                <span>{name.clone()}</span>
                <span class="count">{field.count.to_string()}</span>
            </button>
            {list}
        </li>
    }
}

/// Loads a field's top values for the current search (browser only; the list opens on a
/// click after hydration).
fn load(name: String, req: LogsRequest, into: RwSignal<Option<Result<Vec<FieldCount>, String>>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        #[derive(serde::Deserialize)]
        struct Values {
            values: Vec<FieldCount>,
        }
        let path = format!(
            "/api/v1/logs/fields/{}/values?{}&limit={TOP_VALUES}",
            encode(&name),
            req.to_query_string(false)
        );
        let answer = crate::api_client::call::<Values>("GET", &path, None::<&()>)
            .await
            .map(|v| v.values)
            .map_err(|e| e.to_string());
        into.try_set(Some(answer));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (name, req, into, encode, TOP_VALUES);
}
