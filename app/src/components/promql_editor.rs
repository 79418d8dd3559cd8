//! The PromQL editor: completion of metric names, label names and values from the source,
//! and validation as you type (Explore, the dashboard panel editor).

use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;

use crate::api_client::call;
use crate::components::promql_complete::{self as complete, Context};
use crate::dto::SourceOption;

/// The source in use: the URL's, else the default one, else the first.
pub(crate) fn pick_source(chosen: Option<i64>, list: &[SourceOption]) -> Option<i64> {
    chosen
        .filter(|id| list.iter().any(|s| s.id == *id))
        .or_else(|| list.iter().find(|s| s.default).map(|s| s.id))
        .or_else(|| list.first().map(|s| s.id))
}

/// and validation as you type.
/// The PromQL editor: completion of metric names, label names and values from the source,
#[component]
pub fn QueryEditor(
    /// The textarea's id; the suggestion list and the problem line are `{id}-suggestions`
    /// and `{id}-problem`.
    #[prop(into)]
    id: String,
    draft: RwSignal<String>,
    #[prop(into)] source: Signal<Option<i64>>,
    run: Callback<()>,
) -> impl IntoView {
    let list_id = format!("{id}-suggestions");
    let problem_id = format!("{id}-problem");
    let metric_names = RwSignal::new(Vec::<String>::new());
    let label_names = RwSignal::new(Vec::<String>::new());
    let label_values = RwSignal::new(std::collections::HashMap::<String, Vec<String>>::new());
    // The label names each metric's series carry (asked once per metric).
    let metric_labels = RwSignal::new(std::collections::HashMap::<String, Vec<String>>::new());
    let suggestions = RwSignal::new(Vec::<String>::new());
    let context = RwSignal::new(Context::Nothing);
    let cursor = RwSignal::new(0usize);
    let selected = RwSignal::new(0usize);
    let problem = RwSignal::new(None::<String>);
    let checks = RwSignal::new(0u64);
    let textarea = NodeRef::<leptos::html::Textarea>::new();
    let focused = RwSignal::new(false);

    Effect::new(move |_| {
        let Some(src) = source.get() else { return };
        spawn_local(async move {
            let names = format!("/api/v1/datasources/{src}/label/__name__/values");
            if let Ok(v) = call::<PromList>("GET", &names, None::<&()>).await {
                metric_names.set(v.data);
            }
            let labels = format!("/api/v1/datasources/{src}/labels");
            if let Ok(v) = call::<PromList>("GET", &labels, None::<&()>).await {
                label_names.set(v.data.into_iter().filter(|l| l != "__name__").collect());
            }
            label_values.set(Default::default());
            metric_labels.set(Default::default());
        });
    });

    let refresh_suggestions = move || {
        let text = draft.get_untracked();
        let at = cursor.get_untracked().min(text.len());
        let ctx = if text.is_char_boundary(at) {
            complete::context(&text[..at])
        } else {
            Context::Nothing
        };
        let list = match &ctx {
            Context::Metric { prefix } => {
                complete::filter(&metric_names.get_untracked(), prefix, 12)
            }
            Context::LabelName { metric, prefix } if !metric.is_empty() => {
                let known = metric_labels.with_untracked(|m| m.get(metric).cloned());
                match known {
                    // That metric's own labels first, then every other label name.
                    Some(own) => {
                        let mut list = complete::filter(&own, prefix, 12);
                        let rest: Vec<String> = label_names
                            .get_untracked()
                            .into_iter()
                            .filter(|l| !own.contains(l))
                            .collect();
                        let room = 12usize.saturating_sub(list.len());
                        list.extend(complete::filter(&rest, prefix, room));
                        list
                    }
                    None => {
                        if let Some(src) = source.get_untracked() {
                            let metric = metric.clone();
                            spawn_local(async move {
                                // Only the label names of that metric's series: a short
                                // answer however many series it has.
                                let path = format!(
                                    "/api/v1/datasources/{src}/labels?match[]={}",
                                    crate::components::form::encode(&metric)
                                );
                                if let Ok(v) = call::<PromList>("GET", &path, None::<&()>).await {
                                    let names: Vec<String> =
                                        v.data.into_iter().filter(|k| k != "__name__").collect();
                                    metric_labels.update(|m| {
                                        m.insert(metric, names);
                                    });
                                }
                            });
                        }
                        complete::filter(&label_names.get_untracked(), prefix, 12)
                    }
                }
            }
            Context::LabelName { prefix, .. } => {
                complete::filter(&label_names.get_untracked(), prefix, 12)
            }
            Context::LabelValue { label, prefix, .. } => {
                let known = label_values.with_untracked(|m| m.get(label).cloned());
                match known {
                    Some(values) => complete::filter(&values, prefix, 12),
                    None => {
                        if let Some(src) = source.get_untracked() {
                            let label = label.clone();
                            spawn_local(async move {
                                let path = format!(
                                    "/api/v1/datasources/{src}/label/{}/values",
                                    crate::components::form::encode(&label)
                                );
                                if let Ok(v) = call::<PromList>("GET", &path, None::<&()>).await {
                                    label_values.update(|m| {
                                        m.insert(label, v.data);
                                    });
                                }
                            });
                        }
                        Vec::new()
                    }
                }
            }
            Context::Nothing => Vec::new(),
        };
        context.set(ctx);
        selected.set(0);
        suggestions.set(list);
    };
    // Metric and label names arriving after the first keystrokes (a slow source) complete
    // what was already typed, while the editor has the focus.
    Effect::new(move |prev: Option<()>| {
        metric_names.track();
        label_names.track();
        if prev.is_some() && focused.get_untracked() {
            refresh_suggestions();
        }
    });
    // Names fetched after a keystroke (a metric's labels, a label's values) show at once.
    Effect::new(move |prev: Option<()>| {
        metric_labels.track();
        label_values.track();
        let naming_labels = matches!(
            context.get_untracked(),
            Context::LabelName { .. } | Context::LabelValue { .. }
        );
        if prev.is_some() && naming_labels {
            refresh_suggestions();
        }
    });
    // New label values arriving complete the list the user is looking at.
    Effect::new(move |_| {
        label_values.track();
        if matches!(context.get_untracked(), Context::LabelValue { .. }) {
            refresh_suggestions();
        }
    });

    let validate =
        move |text: String| {
            checks.update(|n| *n += 1);
            let ticket = checks.get_untracked();
            if text.trim().is_empty() {
                problem.set(None);
                return;
            }
            spawn_local(async move {
                let path = format!(
                    "/api/v1/promql/validate?query={}",
                    crate::components::form::encode(&text)
                );
                if let Ok(v) = call::<Validation>("GET", &path, None::<&()>).await {
                    if checks.try_get_untracked() == Some(ticket) {
                        problem.set((!v.valid).then(|| {
                            format!("Line {}, column {}: {}", v.line, v.column, v.message)
                        }));
                    }
                }
            });
        };

    let pick = move |choice: String| {
        let text = draft.get_untracked();
        let (new_text, new_cursor) = complete::apply(
            &text,
            cursor.get_untracked(),
            &context.get_untracked(),
            &choice,
        );
        draft.set(new_text.clone());
        cursor.set(new_cursor);
        suggestions.set(Vec::new());
        validate(new_text);
        if let Some(el) = textarea.get_untracked() {
            el.set_value(&draft.get_untracked());
            let _ = el.focus();
            let at = new_cursor as u32;
            let _ = el.set_selection_range(at, at);
        }
    };

    let on_input = move |ev: leptos::ev::Event| {
        let el: leptos::web_sys::HtmlTextAreaElement = event_target(&ev);
        let text = el.value();
        let at = el
            .selection_start()
            .ok()
            .flatten()
            .unwrap_or(text.len() as u32) as usize;
        // selectionStart counts UTF-16 units; map to a byte offset.
        let byte_at = text
            .char_indices()
            .scan(0usize, |units, (i, c)| {
                let here = *units;
                *units += c.len_utf16();
                Some((i, here))
            })
            .find(|(_, units)| *units >= at)
            .map_or(text.len(), |(i, _)| i);
        draft.set(text.clone());
        cursor.set(byte_at);
        refresh_suggestions();
        validate(text);
    };

    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        let open = !suggestions.read_untracked().is_empty();
        match ev.key().as_str() {
            "ArrowDown" if open => {
                ev.prevent_default();
                let n = suggestions.read_untracked().len();
                selected.update(|s| *s = (*s + 1) % n);
            }
            "ArrowUp" if open => {
                ev.prevent_default();
                let n = suggestions.read_untracked().len();
                selected.update(|s| *s = (*s + n - 1) % n);
            }
            "Enter" | "Tab" if open && !ev.shift_key() => {
                ev.prevent_default();
                let choice = suggestions
                    .read_untracked()
                    .get(selected.get_untracked())
                    .cloned();
                if let Some(c) = choice {
                    pick(c);
                }
            }
            "Escape" if open => suggestions.set(Vec::new()),
            "Enter" if ev.shift_key() || ev.ctrl_key() => {
                ev.prevent_default();
                suggestions.set(Vec::new());
                run.run(());
            }
            _ => {}
        }
    };

    view! {
        <div class="promql-editor">
            <label for=id.clone() class="visually-hidden">"PromQL query"</label>
            <textarea
                id=id.clone()
                node_ref=textarea
                rows="3"
                spellcheck="false"
                autocomplete="off"
                placeholder="PromQL, e.g. rate(keiko_http_requests_total[5m])"
                aria-autocomplete="list"
                aria-controls=list_id.clone()
                aria-invalid=move || if problem.read().is_some() { "true" } else { "false" }
                prop:value=move || draft.get()
                on:input=on_input
                on:keydown=on_keydown
                on:focus=move |_| focused.set(true)
                on:blur=move |_| {
                    focused.set(false);
                    // Let a click on a suggestion land first.
                    set_timeout(move || { suggestions.try_set(Vec::new()); }, std::time::Duration::from_millis(200));
                }
            >
                {crate::components::form::raw_text(draft.get_untracked())}
            </textarea>
            <ul id=list_id class="suggestions" role="listbox" hidden=move || suggestions.read().is_empty()>
                {move || {
                    suggestions
                        .get()
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let chosen = s.clone();
                            view! {
                                <li
                                    role="option"
                                    class="suggestion"
                                    aria-selected=move || if selected.get() == i { "true" } else { "false" }
                                    on:mousedown=move |ev| {
                                        ev.prevent_default();
                                        pick(chosen.clone());
                                    }
                                >
                                    {s}
                                </li>
                            }
                        })
                        .collect_view()
                }}
            </ul>
            {move || problem.get().map(|m| view! { <p class="field-error" data-field="query" id=problem_id.clone()>{m}</p> })}
        </div>
    }
}

#[derive(Clone, Debug, Deserialize)]
struct Validation {
    valid: bool,
    #[serde(default)]
    message: String,
    #[serde(default)]
    line: usize,
    #[serde(default)]
    column: usize,
}

#[derive(Clone, Debug, Deserialize)]
struct PromList {
    data: Vec<String>,
}
