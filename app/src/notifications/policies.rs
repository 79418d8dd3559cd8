//! `/alerting/policies`: the routing tree (root receiver, group_by, timings; child routes at
//! any depth with matchers, receiver, continue and their own timings) and the inhibition
//! rules, edited as one document and saved with the version it started from (409 when
//! another save came first). Mute timings (Alertmanager's `time_intervals`: times of day,
//! weekdays, days of the month, months) are edited in their own section and named by a
//! route's "Mute timings". The server's field errors are shown beside their field.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::dto::Role;
use crate::session;

/// A comma-separated list, commas inside double quotes kept (`a="x,y", b="z"`).
pub(crate) fn split_list(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut cur, mut quoted, mut escaped) = (String::new(), false, false);
    for c in s.chars() {
        match c {
            ',' if !quoted => {
                out.push(std::mem::take(&mut cur));
                continue;
            }
            '"' if !escaped => quoted = !quoted,
            _ => {}
        }
        escaped = c == '\\' && !escaped;
        cur.push(c);
    }
    out.push(cur);
    out.into_iter()
        .map(|p| p.trim().to_owned())
        .filter(|p| !p.is_empty())
        .collect()
}

fn joined(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The route at `path` (child indexes from the root).
fn route_at<'a>(doc: &'a mut Value, path: &[usize]) -> Option<&'a mut Value> {
    let mut r = doc.get_mut("route")?;
    for i in path {
        r = r.get_mut("routes")?.get_mut(*i)?;
    }
    Some(r)
}

/// Sets `key` of an object: a list for list keys, removed when empty (inherited).
fn set_key(obj: &mut Value, key: &str, text: &str, list: bool) {
    let Some(o) = obj.as_object_mut() else { return };
    let v = if list {
        let items = split_list(text);
        (!items.is_empty()).then(|| json!(items))
    } else {
        let t = text.trim();
        (!t.is_empty()).then(|| json!(t))
    };
    match v {
        Some(v) => {
            o.insert(key.to_owned(), v);
        }
        None => {
            o.remove(key);
        }
    }
}

/// Times of day as the field shows them: `09:00-17:00, 22:00-24:00`.
fn times_text(v: &Value) -> String {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    format!(
                        "{}-{}",
                        t["start_time"].as_str().unwrap_or_default(),
                        t["end_time"].as_str().unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// The field's text as `times`; a part without `-` becomes a start with no end, for the
/// server to name.
fn times_value(text: &str) -> Value {
    Value::Array(
        split_list(text)
            .iter()
            .map(|part| {
                let (start, end) = part.split_once('-').unwrap_or((part, ""));
                json!({"start_time": start.trim(), "end_time": end.trim()})
            })
            .collect(),
    )
}

/// The period `j` of mute timing `i`.
fn spec_at(doc: &mut Value, i: usize, j: usize) -> Option<&mut Value> {
    doc.get_mut("time_intervals")?
        .get_mut(i)?
        .get_mut("time_intervals")?
        .get_mut(j)
}

/// The last failure's message when it is about `field` or a part of it, beside the field.
fn error_beside(failure: RwSignal<Option<ApiFailure>>, field: String) -> impl IntoView {
    move || {
        let f = failure.get()?;
        let k = f.field.as_deref()?;
        let hit = k == field
            || k.strip_prefix(field.as_str())
                .is_some_and(|rest| rest.starts_with(['[', '.']));
        hit.then(|| {
            let message = if k == field {
                f.message.clone()
            } else {
                f.to_string()
            };
            view! { <span class="field-error" data-field=field.clone()>{message}</span> }
        })
    }
}

fn field_path(path: &[usize]) -> String {
    path.iter()
        .fold("route".to_owned(), |p, i| format!("{p}.routes[{i}]"))
}

#[component]
pub fn Policies() -> impl IntoView {
    let can_edit = session::has_role(Role::Admin);
    let doc = RwSignal::new(None::<Value>);
    let load_failure = RwSignal::new(None::<ApiFailure>);
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    // Bumped when routes or rules are added or removed (the form is rebuilt); typing only
    // changes `doc`, so an input keeps its focus.
    let shape = RwSignal::new(0u32);
    let receivers = RwSignal::new(Vec::<String>::new());
    let load = move || {
        spawn_local(async move {
            match call::<Value>("GET", "/api/v1/notification-policies", None::<&()>).await {
                Ok(d) => {
                    doc.set(Some(d));
                    shape.update(|n| *n += 1);
                }
                Err(e) => load_failure.set(Some(e)),
            }
        });
    };
    Effect::new(move |_| {
        load();
        super::load_contact_point_names(receivers);
    });
    let edit = move |f: Box<dyn FnOnce(&mut Value)>| {
        doc.update(|d| {
            if let Some(d) = d.as_mut() {
                f(d)
            }
        })
    };
    let save = move |_| {
        let Some(body) = doc.get_untracked() else {
            return;
        };
        saved.set(None);
        spawn_local(async move {
            match call::<Value>("PUT", "/api/v1/notification-policies", Some(&body)).await {
                Ok(v) => {
                    failure.set(None);
                    saved.set(Some(format!("Saved version {}", v["version"])));
                    doc.set(Some(v));
                    shape.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let problem = move || {
        failure.get().map(|f| {
            let conflict = f.status == 409;
            view! {
                <div class="form-error" id="policy-error" role="alert" data-status=f.status>
                    {if conflict {
                        format!("Not saved: someone else saved the policy meanwhile ({}). Reload to see their version.", f.message)
                    } else {
                        format!("Not saved: {f}")
                    }}
                    {conflict.then(|| view! {
                        <button type="button" id="reload-policy" on:click=move |_| { failure.set(None); load() }>"Reload"</button>
                    })}
                </div>
            }
        })
    };
    let tree = move || {
        shape.track();
        let Some(d) = doc.get_untracked() else {
            return load_failure
                .get()
                .map(|e| view! { <p class="form-error">{e.message}</p> }.into_any())
                .unwrap_or_else(|| view! { <p>"Loading…"</p> }.into_any());
        };
        let rules = d["inhibit_rules"].as_array().cloned().unwrap_or_default();
        view! {
            <section class="card" id="routing-tree" aria-label="Routing tree">
                <h2>"Routing tree" <span class="muted" id="policy-version">{format!(" · version {}", d["version"])}</span></h2>
                {route_view(&d["route"], vec![], edit, shape, can_edit, failure)}
            </section>
            {mute_timings(&d, edit, shape, can_edit, failure)}
            <section class="card" id="inhibit-rules" aria-label="Inhibition rules">
                <h2>"Inhibition rules"</h2>
                <p class="muted">"A firing alert matching the source matchers mutes the alerts matching the target matchers that share the values of the equal labels."</p>
                {rules.iter().enumerate().map(|(i, r)| {
                    let input = move |key: &'static str, label: &'static str, class: &'static str| {
                        view! {
                            <label>{label}
                                <input class=class type="text" prop:value=joined(&r[key]) disabled=!can_edit
                                    on:input=move |ev| {
                                        let t = event_target_value(&ev);
                                        edit(Box::new(move |d| if let Some(r) = d["inhibit_rules"].get_mut(i) { set_key(r, key, &t, true) }))
                                    } />
                            </label>
                        }
                    };
                    view! {
                        <div class="inhibit-rule form-grid" data-index=i>
                            {input("source_matchers", "Source matchers", "inhibit-source")}
                            {input("target_matchers", "Target matchers", "inhibit-target")}
                            {input("equal", "Equal labels", "inhibit-equal")}
                            {can_edit.then(|| view! {
                                <button type="button" class="danger remove-inhibit" on:click=move |_| {
                                    edit(Box::new(move |d| if let Some(a) = d["inhibit_rules"].as_array_mut() { if i < a.len() { a.remove(i); } }));
                                    shape.update(|n| *n += 1);
                                }>"Remove rule"</button>
                            })}
                        </div>
                    }
                }).collect_view()}
                {can_edit.then(|| view! {
                    <button type="button" id="add-inhibit" on:click=move |_| {
                        edit(Box::new(|d| {
                            let rule = json!({"source_matchers": [], "target_matchers": [], "equal": []});
                            match d["inhibit_rules"].as_array_mut() {
                                Some(a) => a.push(rule),
                                None => d["inhibit_rules"] = json!([rule]),
                            }
                        }));
                        shape.update(|n| *n += 1);
                    }>"Add inhibition rule"</button>
                })}
            </section>
        }
        .into_any()
    };
    view! {
        <Title text="Notification policies" />
        <h1>"Notification policies"</h1>
        <p class="lead">"Alerts go down the tree: the first child route whose matchers all match takes them (and, with \
            “continue”, the next matching siblings too); a route without a match leaves them to its parent's receiver. \
            Empty timings and receivers are inherited."</p>
        <datalist id="receiver-names">
            {move || receivers.get().into_iter().map(|n| view! { <option value=n></option> }).collect_view()}
        </datalist>
        {problem}
        {tree}
        {can_edit.then(|| view! {
            <div class="actions policy-save">
                <button type="button" class="primary" id="save-policy" on:click=save>"Save"</button>
                {move || saved.get().map(|m| view! { <span class="form-ok" id="policy-saved" role="status">{m}</span> })}
            </div>
        })}
    }
}

/// One route and, inside it, its children.
fn route_view(
    r: &Value,
    path: Vec<usize>,
    edit: impl Fn(Box<dyn FnOnce(&mut Value)>) + Copy + Send + Sync + 'static,
    shape: RwSignal<u32>,
    can_edit: bool,
    failure: RwSignal<Option<ApiFailure>>,
) -> AnyView {
    let root = path.is_empty();
    let name = field_path(&path);
    let input = {
        let path = path.clone();
        let name = name.clone();
        move |key: &'static str, label: &'static str, list: bool, class: &'static str| {
            let path = path.clone();
            let value = if list {
                joined(&r[key])
            } else {
                r[key].as_str().unwrap_or_default().to_owned()
            };
            let datalist = (key == "receiver").then_some("receiver-names");
            view! {
                <label>{label}
                    <input class=class type="text" prop:value=value list=datalist disabled=!can_edit
                        on:input=move |ev| {
                            let t = event_target_value(&ev);
                            let path = path.clone();
                            edit(Box::new(move |d| if let Some(r) = route_at(d, &path) { set_key(r, key, &t, list) }))
                        } />
                </label>
                {error_beside(failure, format!("{name}.{key}"))}
            }
        }
    };
    let children = r["routes"].as_array().cloned().unwrap_or_default();
    let add_path = path.clone();
    let remove_path = path.clone();
    let continue_path = path.clone();
    let child_views = children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let mut p = path.clone();
            p.push(i);
            route_view(c, p, edit, shape, can_edit, failure)
        })
        .collect_view();
    view! {
        <div class="route" class:route-root=root data-path=name.clone()>
            <h3>{if root { "Default policy (root)".to_owned() } else { format!("Route {name}") }}</h3>
            <div class="form-grid">
                {(!root).then(|| input("matchers", "Matchers", true, "route-matchers"))}
                {input("receiver", "Contact point", false, "route-receiver")}
                {input("group_by", "Group by", true, "route-group-by")}
                {input("group_wait", "Group wait", false, "route-group-wait")}
                {input("group_interval", "Group interval", false, "route-group-interval")}
                {input("repeat_interval", "Repeat interval", false, "route-repeat-interval")}
                // Alertmanager refuses mute timings on the root route.
                {(!root).then(|| input("mute_time_intervals", "Mute timings", true, "route-mute-timings"))}
                {(!root).then(|| view! {
                    <label>"Continue"
                        <input class="route-continue" type="checkbox" prop:checked=r["continue"].as_bool().unwrap_or(false) disabled=!can_edit
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                let path = continue_path.clone();
                                edit(Box::new(move |d| if let Some(r) = route_at(d, &path).and_then(Value::as_object_mut) {
                                    if on { r.insert("continue".into(), json!(true)); } else { r.remove("continue"); }
                                }))
                            } />
                    </label>
                })}
            </div>
            <div class="route-children">{child_views}</div>
            {can_edit.then(|| view! {
                <div class="actions">
                    <button type="button" class="add-route" on:click=move |_| {
                        let path = add_path.clone();
                        edit(Box::new(move |d| if let Some(r) = route_at(d, &path) {
                            let child = json!({"matchers": []});
                            match r["routes"].as_array_mut() {
                                Some(a) => a.push(child),
                                None => r["routes"] = json!([child]),
                            }
                        }));
                        shape.update(|n| *n += 1);
                    }>"Add child route"</button>
                    {(!root).then(|| view! {
                        <button type="button" class="danger remove-route" on:click=move |_| {
                            let mut path = remove_path.clone();
                            let last = path.pop();
                            edit(Box::new(move |d| if let (Some(r), Some(i)) = (route_at(d, &path), last) {
                                if let Some(a) = r["routes"].as_array_mut() { if i < a.len() { a.remove(i); } }
                            }));
                            shape.update(|n| *n += 1);
                        }>"Remove route"</button>
                    })}
                </div>
            })}
        </div>
    }
    .into_any()
}

/// The "Mute timings" section: named intervals, each one or more periods; a period holds
/// when every field given holds (UTC).
fn mute_timings(
    d: &Value,
    edit: impl Fn(Box<dyn FnOnce(&mut Value)>) + Copy + Send + Sync + 'static,
    shape: RwSignal<u32>,
    can_edit: bool,
    failure: RwSignal<Option<ApiFailure>>,
) -> impl IntoView {
    let intervals = d["time_intervals"].as_array().cloned().unwrap_or_default();
    let interval_views = intervals
        .iter()
        .enumerate()
        .map(|(i, ti)| {
            let specs = ti["time_intervals"].as_array().cloned().unwrap_or_default();
            let spec_views = specs
                .iter()
                .enumerate()
                .map(|(j, spec)| {
                    let at = format!("time_intervals[{i}].time_intervals[{j}]");
                    let field = |key: &'static str, label: &'static str, class: &'static str, hint: &'static str| {
                        let value = if key == "times" { times_text(&spec[key]) } else { joined(&spec[key]) };
                        view! {
                            <label>{label}
                                <input class=class type="text" prop:value=value placeholder=hint disabled=!can_edit
                                    on:input=move |ev| {
                                        let t = event_target_value(&ev);
                                        edit(Box::new(move |d| if let Some(s) = spec_at(d, i, j) {
                                            if key == "times" {
                                                let v = times_value(&t);
                                                if let Some(o) = s.as_object_mut() {
                                                    if v.as_array().is_some_and(Vec::is_empty) { o.remove(key); } else { o.insert(key.into(), v); }
                                                }
                                            } else {
                                                set_key(s, key, &t, true)
                                            }
                                        }))
                                    } />
                            </label>
                            {error_beside(failure, format!("{at}.{key}"))}
                        }
                    };
                    view! {
                        <div class="time-spec form-grid" data-index=j>
                            {field("times", "Times of day (UTC)", "spec-times", "09:00-17:00, 22:00-24:00")}
                            {field("weekdays", "Weekdays", "spec-weekdays", "monday:friday, sunday")}
                            {field("days_of_month", "Days of month", "spec-days", "1:7, -1")}
                            {field("months", "Months", "spec-months", "january:march, 12")}
                            {can_edit.then(|| view! {
                                <button type="button" class="danger remove-period" on:click=move |_| {
                                    edit(Box::new(move |d| if let Some(a) = d["time_intervals"][i]["time_intervals"].as_array_mut() { if j < a.len() { a.remove(j); } }));
                                    shape.update(|n| *n += 1);
                                }>"Remove period"</button>
                            })}
                        </div>
                    }
                })
                .collect_view();
            view! {
                <div class="time-interval" data-index=i>
                    <div class="form-grid">
                        <label>"Name"
                            <input class="interval-name" type="text" prop:value=ti["name"].as_str().unwrap_or_default().to_owned() disabled=!can_edit
                                on:input=move |ev| {
                                    let t = event_target_value(&ev);
                                    edit(Box::new(move |d| if let Some(o) = d["time_intervals"].get_mut(i).and_then(Value::as_object_mut) { o.insert("name".into(), json!(t.trim())); }))
                                } />
                        </label>
                        {error_beside(failure, format!("time_intervals[{i}].name"))}
                    </div>
                    {spec_views}
                    {can_edit.then(|| view! {
                        <div class="actions">
                            <button type="button" class="add-period" on:click=move |_| {
                                edit(Box::new(move |d| if let Some(ti) = d["time_intervals"].get_mut(i) {
                                    match ti["time_intervals"].as_array_mut() {
                                        Some(a) => a.push(json!({})),
                                        None => ti["time_intervals"] = json!([{}]),
                                    }
                                }));
                                shape.update(|n| *n += 1);
                            }>"Add period"</button>
                            <button type="button" class="danger remove-interval" on:click=move |_| {
                                edit(Box::new(move |d| if let Some(a) = d["time_intervals"].as_array_mut() { if i < a.len() { a.remove(i); } }));
                                shape.update(|n| *n += 1);
                            }>"Remove mute timing"</button>
                        </div>
                    })}
                </div>
            }
        })
        .collect_view();
    view! {
        <section class="card" id="mute-timings" aria-label="Mute timings">
            <h2>"Mute timings"</h2>
            <p class="muted">"A route naming a mute timing sends nothing while one of its periods holds. A period holds when \
                all its filled fields do (UTC); ranges are inclusive, days of the month count back from its end when negative."</p>
            {interval_views}
            {can_edit.then(|| view! {
                <button type="button" id="add-mute-timing" on:click=move |_| {
                    edit(Box::new(|d| {
                        let ti = json!({"name": "", "time_intervals": [{}]});
                        match d["time_intervals"].as_array_mut() {
                            Some(a) => a.push(ti),
                            None => d["time_intervals"] = json!([ti]),
                        }
                    }));
                    shape.update(|n| *n += 1);
                }>"Add mute timing"</button>
            })}
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_split_on_commas_outside_quotes() {
        assert_eq!(
            split_list(r#"severity="critical", team=~"a,b", x="q\"," "#),
            [r#"severity="critical""#, r#"team=~"a,b""#, r#"x="q\",""#]
        );
        assert!(split_list(" , ").is_empty());
    }

    #[test]
    fn edits_reach_the_route_at_their_path_and_empty_means_inherited() {
        let mut d = json!({"route": {"receiver": "a", "routes": [{"receiver": "b", "routes": [{"receiver": "c"}]}]}});
        let r = route_at(&mut d, &[0, 0]).unwrap();
        set_key(r, "group_wait", "10s", false);
        set_key(r, "receiver", " ", false);
        set_key(r, "matchers", r#"a="1", b="2""#, true);
        assert_eq!(
            d["route"]["routes"][0]["routes"][0],
            json!({"group_wait": "10s", "matchers": ["a=\"1\"", "b=\"2\""]})
        );
        assert_eq!(field_path(&[0, 1]), "route.routes[0].routes[1]");
    }

    #[test]
    fn times_of_day_read_as_ranges_and_back() {
        let v = times_value("09:00-17:00, 22:00 - 24:00, 9am");
        assert_eq!(
            v,
            json!([
                {"start_time": "09:00", "end_time": "17:00"},
                {"start_time": "22:00", "end_time": "24:00"},
                {"start_time": "9am", "end_time": ""}
            ])
        );
        assert_eq!(times_text(&v), "09:00-17:00, 22:00-24:00, 9am-");
        let mut d = json!({"time_intervals": [{"name": "n", "time_intervals": [{}, {"weekdays": ["monday"]}]}]});
        set_key(spec_at(&mut d, 0, 1).unwrap(), "months", "may:august", true);
        assert_eq!(
            d["time_intervals"][0]["time_intervals"][1],
            json!({"weekdays": ["monday"], "months": ["may:august"]})
        );
    }
}
