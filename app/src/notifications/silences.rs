//! `/alerting/silences`: active, pending and expired silences, a form to create one
//! (matchers, start, end or duration, comment) — prefilled from `?matcher=…` when it was
//! opened from an alert —, "Edit" (the same form, saved under the silence's id), "Extend 1h"
//! and "Expire". A client of `/api/v1/silences` (Alertmanager v2's shape); the list loads
//! after hydration.

use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;
use serde_json::{json, Value};

use crate::api_client::{call, ApiFailure};
use crate::components::form::{field_error_under, form_error, text_field};
use crate::components::time_range::{local_input_to_rfc3339, rfc3339_seconds, to_local_input};
use crate::dto::Role;
use crate::session;

/// `name="value"`, `name!="value"`, `name=~"re"`, `name!~"re"` (quotes optional) →
/// Alertmanager's matcher JSON.
pub(crate) fn parse_matcher(text: &str) -> Result<Value, String> {
    let t = text.trim();
    let at = t
        .find(['=', '!'])
        .ok_or_else(|| format!("`{t}` has no operator (=, !=, =~, !~)"))?;
    let name = t[..at].trim();
    let rest = &t[at..];
    let (is_equal, is_regex, value) = if let Some(v) = rest.strip_prefix("=~") {
        (true, true, v)
    } else if let Some(v) = rest.strip_prefix("!~") {
        (false, true, v)
    } else if let Some(v) = rest.strip_prefix("!=") {
        (false, false, v)
    } else if let Some(v) = rest.strip_prefix('=') {
        (true, false, v)
    } else {
        return Err(format!("`{t}` has no operator (=, !=, =~, !~)"));
    };
    if name.is_empty() {
        return Err(format!("`{t}` names no label"));
    }
    let v = value.trim();
    let value = match v.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
        Some(inner) => unescape(inner),
        None => v.to_owned(),
    };
    Ok(json!({"name": name, "value": value, "isRegex": is_regex, "isEqual": is_equal}))
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('n') => out.push('\n'),
                Some(o) => out.push(o),
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// A matcher JSON back in its text form.
fn matcher_line(m: &Value) -> String {
    let op = match (
        m["isEqual"].as_bool().unwrap_or(true),
        m["isRegex"].as_bool().unwrap_or(false),
    ) {
        (true, false) => "=",
        (false, false) => "!=",
        (true, true) => "=~",
        (false, true) => "!~",
    };
    let value = m["value"].as_str().unwrap_or_default();
    let name = m["name"].as_str().unwrap_or_default();
    super::matcher_text(name, value).replacen(&format!("{name}="), &format!("{name}{op}"), 1)
}

/// `90m`, `2h`, `1d`, `1w` → seconds.
pub(crate) fn duration_seconds(d: &str) -> Option<i64> {
    let d = d.trim();
    let unit = d.chars().last()?;
    let n: i64 = d[..d.len() - unit.len_utf8()].trim().parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        'w' => 604_800,
        _ => return None,
    };
    (n > 0).then_some(n * scale)
}

/// Milliseconds since the epoch, from the browser's clock (forms submit only there).
fn now_ms() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        window()
            .performance()
            .map(|p| p.time_origin() + p.now())
            .unwrap_or(0.0)
    }
    #[cfg(not(feature = "hydrate"))]
    {
        0.0
    }
}

fn rfc3339_ms(ms: f64) -> String {
    let secs = (ms / 1000.0).floor();
    format!("{}Z", crate::components::chart::utc(secs).replace(' ', "T"))
}

#[component]
pub fn Silences() -> impl IntoView {
    let can_edit = session::has_role(Role::Editor);
    let list = RwSignal::new(None::<Result<Vec<Value>, ApiFailure>>);
    let reload = RwSignal::new(0u32);
    let list_failure = RwSignal::new(None::<ApiFailure>);
    let editing = RwSignal::new(None::<Value>);
    Effect::new(move |_| {
        reload.track();
        spawn_local(async move {
            list.set(Some(call("GET", "/api/v1/silences", None::<&()>).await));
        });
    });
    let expire = move |id: String| {
        spawn_local(async move {
            let path = format!("/api/v1/silences/{}", crate::components::form::encode(&id));
            match call::<Value>("DELETE", &path, None::<&()>).await {
                Ok(_) => {
                    list_failure.set(None);
                    reload.update(|n| *n += 1)
                }
                Err(e) => list_failure.set(Some(e)),
            }
        });
    };
    // The same silence an hour longer (the server keeps its id: an update in place).
    let extend = move |s: Value| {
        let Some(end) = s["endsAt"].as_str().and_then(rfc3339_seconds) else {
            return;
        };
        let body = json!({
            "id": s["id"], "matchers": s["matchers"], "startsAt": s["startsAt"],
            "endsAt": rfc3339_ms((end + 3600) as f64 * 1000.0),
            "createdBy": s["createdBy"], "comment": s["comment"],
        });
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/silences", Some(&body)).await {
                Ok(_) => {
                    list_failure.set(None);
                    reload.update(|n| *n += 1)
                }
                Err(e) => list_failure.set(Some(e)),
            }
        });
    };
    let table = move |want_expired: bool| {
        move || match list.get() {
            None => view! { <p>"Loading…"</p> }.into_any(),
            Some(Err(e)) => view! { <p class="form-error">{e.message}</p> }.into_any(),
            Some(Ok(all)) => {
                let rows: Vec<Value> = all
                    .into_iter()
                    .filter(|s| (s["status"]["state"] == "expired") == want_expired)
                    .collect();
                if rows.is_empty() {
                    return view! { <p class="muted">{if want_expired { "No expired silences." } else { "No active or pending silences." }}</p> }.into_any();
                }
                view! {
                    <table class="grid">
                        <thead><tr><th>"State"</th><th>"Matchers"</th><th>"Starts"</th><th>"Ends"</th><th>"By"</th><th>"Comment"</th><th></th></tr></thead>
                        <tbody>
                            {rows.into_iter().map(|s| {
                                let id = s["id"].as_str().unwrap_or_default().to_owned();
                                let state = s["status"]["state"].as_str().unwrap_or_default().to_owned();
                                let matchers = s["matchers"].as_array().cloned().unwrap_or_default()
                                    .iter().map(matcher_line).collect::<Vec<_>>().join(", ");
                                let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                                let expirable = can_edit && state != "expired";
                                let target = id.clone();
                                let (to_edit, to_extend) = (s.clone(), s.clone());
                                view! {
                                    <tr class="silence-row" data-id=id.clone() data-state=state.clone()>
                                        <td><span class=format!("badge state-{state}")>{state.clone()}</span></td>
                                        <td><code class="silence-matchers">{matchers}</code></td>
                                        <td>{text("startsAt")}</td>
                                        <td>{text("endsAt")}</td>
                                        <td>{text("createdBy")}</td>
                                        <td>{text("comment")}</td>
                                        <td>{expirable.then(|| view! {
                                            <button type="button" class="small edit-silence" on:click=move |_| {
                                                editing.set(Some(to_edit.clone()));
                                                if let Some(f) = document().get_element_by_id("silence-form") { f.scroll_into_view(); }
                                            }>"Edit"</button>
                                            <button type="button" class="small extend-silence" on:click=move |_| extend(to_extend.clone())>"Extend 1h"</button>
                                            <button type="button" class="danger expire-silence" on:click=move |_| expire(target.clone())>"Expire"</button>
                                        })}</td>
                                    </tr>
                                }
                            }).collect_view()}
                        </tbody>
                    </table>
                }.into_any()
            }
        }
    };
    view! {
        <Title text="Silences" />
        <h1>"Silences"</h1>
        <p class="lead">"A silence mutes the notifications of every alert all its matchers match, from its start to its end."</p>
        {form_error(list_failure)}
        {can_edit.then(|| view! { <SilenceForm reload editing /> })}
        <section id="active-silences" aria-label="Active silences">
            <h2>"Active and pending"</h2>
            {table(false)}
        </section>
        <section id="expired-silences" aria-label="Expired silences">
            <h2>"Expired"</h2>
            {table(true)}
        </section>
    }
}

#[component]
fn SilenceForm(reload: RwSignal<u32>, editing: RwSignal<Option<Value>>) -> impl IntoView {
    let query = use_query_map();
    let prefilled = query
        .read_untracked()
        .get_all("matcher")
        .unwrap_or_default();
    let matchers = RwSignal::new(prefilled.join("\n"));
    let starts = RwSignal::new(String::new());
    let ends = RwSignal::new(String::new());
    let duration = RwSignal::new("2h".to_owned());
    let author = RwSignal::new(session::current().map(|u| u.login).unwrap_or_default());
    let comment = RwSignal::new(String::new());
    let failure = RwSignal::new(None::<ApiFailure>);
    let saved = RwSignal::new(None::<String>);
    let clear = move || {
        editing.set(None);
        matchers.set(String::new());
        comment.set(String::new());
        starts.set(String::new());
        ends.set(String::new());
    };
    // "Edit" fills the form with the silence; saving then updates it under its id.
    Effect::new(move |_| {
        let Some(s) = editing.get() else { return };
        let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
        matchers.set(
            s["matchers"]
                .as_array()
                .into_iter()
                .flatten()
                .map(matcher_line)
                .collect::<Vec<_>>()
                .join("\n"),
        );
        starts.set(to_local_input(&text("startsAt")));
        ends.set(to_local_input(&text("endsAt")));
        author.set(text("createdBy"));
        comment.set(text("comment"));
        failure.set(None);
        saved.set(None);
    });
    let invalid = move |field: &str, message: String| {
        failure.set(Some(ApiFailure {
            status: 400,
            code: "invalid".into(),
            message,
            field: Some(field.to_owned()),
        }))
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        saved.set(None);
        let mut list = Vec::new();
        for (i, line) in matchers
            .get_untracked()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .enumerate()
        {
            match parse_matcher(line) {
                Ok(m) => list.push(m),
                Err(e) => return invalid("matchers", format!("line {}: {e}", i + 1)),
            }
        }
        let now = now_ms();
        let start = local_input_to_rfc3339(&starts.get_untracked());
        let start_ms = start
            .as_deref()
            .and_then(crate::components::time_range::rfc3339_seconds)
            .map(|s| s as f64 * 1000.0)
            .unwrap_or(now);
        let end = match local_input_to_rfc3339(&ends.get_untracked()) {
            Some(e) => e,
            None => match duration_seconds(&duration.get_untracked()) {
                Some(d) => rfc3339_ms(start_ms + d as f64 * 1000.0),
                None => {
                    return invalid(
                        "duration",
                        "a duration like 30m, 2h, 1d or 1w (or an end time)".into(),
                    )
                }
            },
        };
        let mut body = json!({
            "matchers": list,
            "startsAt": start.unwrap_or_else(|| rfc3339_ms(now)),
            "endsAt": end,
            "createdBy": author.get_untracked(),
            "comment": comment.get_untracked(),
        });
        let updating = editing.with_untracked(|e| e.as_ref().map(|s| s["id"].clone()));
        if let Some(id) = &updating {
            body["id"] = id.clone();
        }
        spawn_local(async move {
            match call::<Value>("POST", "/api/v1/silences", Some(&body)).await {
                Ok(v) => {
                    failure.set(None);
                    saved.set(Some(format!(
                        "Silence {} {}.",
                        v["silenceID"].as_str().unwrap_or(""),
                        if updating.is_some() {
                            "updated"
                        } else {
                            "created"
                        }
                    )));
                    clear();
                    reload.update(|n| *n += 1);
                }
                Err(e) => failure.set(Some(e)),
            }
        });
    };
    let text =
        move |id, label, signal, field, kind| text_field(failure, id, label, signal, field, kind);
    view! {
        <form class="card" id="silence-form" on:submit=submit novalidate>
            <h2>{move || if editing.with(Option::is_some) { "Edit silence" } else { "New silence" }}</h2>
            {form_error(failure)}
            <div class="form-grid">
                <label for="silence-matchers">"Matchers (one per line: name=\"value\", !=, =~, !~)"</label>
                <textarea id="silence-matchers" rows="4" prop:value=move || matchers.get()
                    on:input=move |ev| matchers.set(event_target_value(&ev))>
                    {crate::components::form::raw_text(matchers.get_untracked())}
                </textarea>
                {field_error_under(failure, "matchers")}
                {text("silence-starts", "Starts (UTC, empty: now)", starts, "startsAt", "datetime-local")}
                {text("silence-duration", "Duration", duration, "duration", "text")}
                {text("silence-ends", "Ends (UTC, instead of the duration)", ends, "endsAt", "datetime-local")}
                {text("silence-author", "Created by", author, "createdBy", "text")}
                {text("silence-comment", "Comment", comment, "comment", "text")}
            </div>
            <button type="submit" class="primary" id="save-silence">{move || if editing.with(Option::is_some) { "Save silence" } else { "Create silence" }}</button>
            {move || editing.with(Option::is_some).then(|| view! {
                <button type="button" id="cancel-edit-silence" on:click=move |_| clear()>"Cancel"</button>
            })}
            {move || saved.get().map(|m| view! { <p class="form-ok" id="silence-saved" role="status">{m}</p> })}
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matchers_parse_in_every_operator() {
        assert_eq!(
            parse_matcher(r#"severity="critical""#).unwrap(),
            json!({"name": "severity", "value": "critical", "isRegex": false, "isEqual": true})
        );
        assert_eq!(
            parse_matcher(r#"job !~ "a|b""#).unwrap(),
            json!({"name": "job", "value": "a|b", "isRegex": true, "isEqual": false})
        );
        assert_eq!(
            parse_matcher(r#"x="say \"hi\"""#).unwrap()["value"],
            "say \"hi\""
        );
        assert_eq!(parse_matcher("team!=ops").unwrap()["isEqual"], false);
        assert!(parse_matcher("nothing").is_err());
        assert!(parse_matcher("=x").is_err());
        let back = matcher_line(&parse_matcher(r#"job=~"a.*""#).unwrap());
        assert_eq!(back, r#"job=~"a.*""#);
    }

    #[test]
    fn durations_read_as_alertmanager_writes_them() {
        assert_eq!(duration_seconds("2h"), Some(7200));
        assert_eq!(duration_seconds("90m"), Some(5400));
        assert_eq!(duration_seconds("1w"), Some(604_800));
        assert_eq!(duration_seconds("2"), None);
        assert_eq!(duration_seconds("-1h"), None);
    }
}
