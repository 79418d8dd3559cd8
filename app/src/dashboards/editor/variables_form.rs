//! The dashboard's variables as a form.

use leptos::prelude::*;
use serde_json::{json, Value};

use crate::api_client::ApiFailure;

/// The dashboard's variables as a form, one fieldset each: name, kind, label, the query
/// (or list, or default), multi-select and "All". The server checks them on save; its
/// message appears beside the field it names (`variables[2].name`).
#[component]
pub(super) fn VariablesForm(
    doc: RwSignal<Option<Value>>,
    failure: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    let set = move |i: usize, key: &'static str, v: Value| {
        doc.update(|d| {
            if let Some(var) = d.as_mut().and_then(|d| d["variables"].get_mut(i)) {
                var[key] = v;
            }
        });
    };
    let add = move |_| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                if !d["variables"].is_array() {
                    d["variables"] = json!([]);
                }
                if let Some(list) = d["variables"].as_array_mut() {
                    list.push(json!({"name": "", "type": "query", "query": "", "multi": false, "include_all": false, "current": []}));
                }
            }
        });
    };
    let remove = move |i: usize| {
        doc.update(|d| {
            if let Some(list) = d.as_mut().and_then(|d| d["variables"].as_array_mut()) {
                if i < list.len() {
                    list.remove(i);
                }
            }
        });
    };
    let problem =
        move |i: usize, key: &'static str| {
            move || {
                let field = format!("variables[{i}].{key}");
                failure.get().filter(|f| f.field.as_deref() == Some(field.as_str())).map(|f| {
                view! { <span class="field-error" data-field=field.clone()>{f.message}</span> }
            })
            }
        };
    // Fields read the document reactively; only adding or removing a variable re-creates
    // the fieldsets (so focus stays where the user is typing).
    let count = Memo::new(move |_| {
        doc.with(|d| {
            d.as_ref()
                .and_then(|d| d["variables"].as_array().map(Vec::len))
                .unwrap_or(0)
        })
    });
    let field = move |i: usize, key: &'static str| {
        move || {
            doc.with(|d| {
                d.as_ref()
                    .map(|d| d["variables"][i][key].clone())
                    .unwrap_or(Value::Null)
            })
        }
    };
    let row = move |i: usize| {
        let text = move |k: &'static str| move || field(i, k)().as_str().unwrap_or("").to_owned();
        let flag = move |k: &'static str| move || field(i, k)().as_bool().unwrap_or(false);
        let query_label = move || match text("type")().as_str() {
            "query" => "Query (label_values(metric, label))",
            "custom" => "Values (comma-separated)",
            "interval" => "Intervals (e.g. 1m,5m,1h)",
            _ => "Default value",
        };
        let id = move |k: &str| format!("var-{i}-{k}");
        view! {
            <fieldset class="variable-form" data-index=i.to_string()>
                <legend>{format!("Variable {}", i + 1)}</legend>
                <div class="form-grid">
                    <label for=id("name")>"Name"</label>
                    <span>
                        <input id=id("name") prop:value=text("name") on:change=move |ev| set(i, "name", json!(event_target_value(&ev))) />
                        {problem(i, "name")}
                    </span>
                    <label for=id("type")>"Kind"</label>
                    <select id=id("type") on:change=move |ev| set(i, "type", json!(event_target_value(&ev)))>
                        {["query", "custom", "interval", "text"].map(|k| view! { <option value=k selected=move || text("type")() == k>{k}</option> })}
                    </select>
                    <label for=id("label")>"Label"</label>
                    <input id=id("label") prop:value=text("label") on:change=move |ev| set(i, "label", json!(event_target_value(&ev))) />
                    <label for=id("query")>{query_label}</label>
                    <span>
                        <input id=id("query") prop:value=text("query") on:change=move |ev| set(i, "query", json!(event_target_value(&ev))) />
                        {problem(i, "query")}
                    </span>
                    <label for=id("multi")>"Multi-select"</label>
                    <input id=id("multi") type="checkbox" prop:checked=flag("multi")
                        on:change=move |ev| set(i, "multi", json!(event_target_checked(&ev))) />
                    <label for=id("all")>"Include All"</label>
                    <input id=id("all") type="checkbox" prop:checked=flag("include_all")
                        on:change=move |ev| set(i, "include_all", json!(event_target_checked(&ev))) />
                </div>
                <button type="button" class="remove-variable" on:click=move |_| remove(i)>"Remove variable"</button>
            </fieldset>
        }
    };
    view! {
        <h3>"Variables"</h3>
        <div id="variables-form">
            <For each=move || 0..count.get() key=|i| *i children=row />
        </div>
        <button type="button" id="add-variable" on:click=add>"Add variable"</button>
    }
}
