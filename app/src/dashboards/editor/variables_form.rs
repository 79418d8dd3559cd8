//! The dashboard's variables as a form.

use leptos::prelude::*;
use wire::dashboard::{Dashboard, Variable, VariableKind};

use crate::api_client::ApiFailure;

/// The dashboard's variables as a form, one fieldset each: name, kind, label, the query
/// (or list, or default), multi-select and "All". The server checks them on save; its
/// message appears beside the field it names (`variables[2].name`).
#[component]
pub(super) fn VariablesForm(
    doc: RwSignal<Option<Dashboard>>,
    failure: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    // Changes variable `i` (if it is still there).
    let edit = move |i: usize, change: Box<dyn FnOnce(&mut Variable)>| {
        doc.update(|d| {
            if let Some(var) = d.as_mut().and_then(|d| d.variables.get_mut(i)) {
                change(var);
            }
        });
    };
    let add = move |_| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                d.variables.push(Variable {
                    name: String::new(),
                    kind: VariableKind::Query,
                    label: String::new(),
                    query: String::new(),
                    datasource: None,
                    multi: false,
                    include_all: false,
                    current: Vec::new(),
                });
            }
        });
    };
    let remove = move |i: usize| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                if i < d.variables.len() {
                    d.variables.remove(i);
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
    let count = Memo::new(move |_| doc.with(|d| d.as_ref().map_or(0, |d| d.variables.len())));
    // A value of variable `i`, read reactively (its default once the variable is gone).
    let read = move |i: usize| {
        move |get: fn(&Variable) -> String| {
            move || {
                doc.with(|d| {
                    d.as_ref()
                        .and_then(|d| d.variables.get(i))
                        .map(get)
                        .unwrap_or_default()
                })
            }
        }
    };
    let flag = move |i: usize, get: fn(&Variable) -> bool| {
        move || doc.with(|d| d.as_ref().and_then(|d| d.variables.get(i)).is_some_and(get))
    };
    let row = move |i: usize| {
        let text = read(i);
        let kind =
            move || doc.with(|d| d.as_ref().and_then(|d| d.variables.get(i)).map(|v| v.kind));
        let query_label = move || match kind() {
            Some(VariableKind::Query) => "Query (label_values(metric, label))",
            Some(VariableKind::Custom) => "Values (comma-separated)",
            Some(VariableKind::Interval) => "Intervals (e.g. 1m,5m,1h)",
            _ => "Default value",
        };
        let id = move |k: &str| format!("var-{i}-{k}");
        view! {
            <fieldset class="variable-form" data-index=i.to_string()>
                <legend>{format!("Variable {}", i + 1)}</legend>
                <div class="form-grid">
                    <label for=id("name")>"Name"</label>
                    <span>
                        <input id=id("name") prop:value=text(|v| v.name.clone())
                            on:change=move |ev| { let s = event_target_value(&ev); edit(i, Box::new(move |v| v.name = s)) } />
                        {problem(i, "name")}
                    </span>
                    <label for=id("type")>"Kind"</label>
                    <select id=id("type") on:change=move |ev| {
                        if let Some(k) = VariableKind::parse(&event_target_value(&ev)) {
                            edit(i, Box::new(move |v| v.kind = k));
                        }
                    }>
                        {VariableKind::ALL.map(|k| view! { <option value=k.as_str() selected=move || kind() == Some(k)>{k.as_str()}</option> })}
                    </select>
                    <label for=id("label")>"Label"</label>
                    <input id=id("label") prop:value=text(|v| v.label.clone())
                        on:change=move |ev| { let s = event_target_value(&ev); edit(i, Box::new(move |v| v.label = s)) } />
                    <label for=id("query")>{query_label}</label>
                    <span>
                        <input id=id("query") prop:value=text(|v| v.query.clone())
                            on:change=move |ev| { let s = event_target_value(&ev); edit(i, Box::new(move |v| v.query = s)) } />
                        {problem(i, "query")}
                    </span>
                    <label for=id("multi")>"Multi-select"</label>
                    <input id=id("multi") type="checkbox" prop:checked=flag(i, |v| v.multi)
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(i, Box::new(move |v| v.multi = on)) } />
                    <label for=id("all")>"Include All"</label>
                    <input id=id("all") type="checkbox" prop:checked=flag(i, |v| v.include_all)
                        on:change=move |ev| { let on = event_target_checked(&ev); edit(i, Box::new(move |v| v.include_all = on)) } />
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
