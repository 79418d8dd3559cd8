//! Explore → Logs: a query in the log store's language, the time picker, the volume
//! histogram by level (click or drag across bars to narrow the range), the field sidebar
//! (top values, filter in or out), the lines newest first (expand, copy, context, links to
//! the trace and the request), older pages, and live tail. The search lives in the URL,
//! and the first HTML already holds the lines.

mod complete;
mod context;
mod histogram;
mod sidebar;
mod state;
mod syntax;
mod tail;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use crate::components::chart::utc;
use crate::components::log_lines::{Filter, LogList};
use crate::components::log_model::{with_filter, LogLine, LIMITS};
use crate::components::time_range::{preset_of, zoom_times, PRESETS};
use crate::fetch::Fetcher;
use context::ContextView;
use histogram::Histogram;
use sidebar::FieldSidebar;
use state::LogsState;
use syntax::SyntaxHelp;
use tail::LiveTail;

/// Most lines the page holds through "Older lines" (a narrower range finds the rest).
const MAX_SHOWN: usize = 5_000;

#[component]
pub fn ExploreLogs() -> impl IntoView {
    let params = use_query_map();
    let state = Memo::new(move |_| LogsState::from_params(&params.read()));
    let navigate = use_navigate();
    let go = Callback::new(move |s: LogsState| navigate(&s.url(), Default::default()));
    let request = Memo::new(move |_| state.read().request());
    let range = Memo::new(move |_| {
        let st = state.read();
        (st.from.clone(), st.to.clone())
    });

    let fetcher = Fetcher::new();
    let result = Resource::new(move || request.get(), move |req| fetcher.clone().logs(req));

    // Older pages, appended below the first one; reset with every new search.
    let older = RwSignal::new(Vec::<LogLine>::new());
    let cursor = RwSignal::new(None::<String>);
    let paging = RwSignal::new(None::<String>);
    Effect::new(move |_| {
        let next = result.get().and_then(|r| r.ok()).and_then(|v| v.next);
        older.set(Vec::new());
        paging.set(None);
        cursor.set(next);
    });
    let load_older = move |_| {
        if let Some(c) = cursor.get_untracked() {
            let mut req = request.get_untracked();
            req.cursor = Some(c);
            fetch_older(req, older, cursor, paging);
        }
    };

    let draft = RwSignal::new(state.get_untracked().query);
    // Live validation: the query's syntax error (with its position) as the user types.
    let query_error = RwSignal::new(None::<String>);
    let typed = StoredValue::new(0u64);
    // Completion of the last word: field names (from the search's fields) and values.
    let suggestions = RwSignal::new(Vec::<String>::new());
    let field_names = move || {
        result
            .get_untracked()
            .and_then(|r| r.ok())
            .map(|v| v.fields.into_iter().map(|f| f.name).collect::<Vec<_>>())
            .unwrap_or_default()
    };
    let pick = move |with: String| {
        let q = draft.get_untracked();
        let (start, _) = complete::at_end(&q);
        let q = complete::replace_end(&q, start, &with);
        draft.set(q.clone());
        suggestions.set(Vec::new());
        check_query(q.clone(), query_error);
        // A field picked: its values come next.
        if with.ends_with(':') {
            suggest(q, field_names(), range.get_untracked(), suggestions);
        }
    };
    let url_query = Memo::new(move |_| state.read().query.clone());
    Effect::new(move |_| draft.set(url_query.get()));
    let on_run = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut st = state.get_untracked();
        st.query = draft.get_untracked().trim().to_owned();
        suggestions.set(Vec::new());
        let same = st == state.get_untracked();
        go.run(st);
        if same {
            result.refetch();
        }
    };
    let on_filter = Callback::new(move |(field, value, include): Filter| {
        let mut st = state.get_untracked();
        st.query = with_filter(&st.query, &field, &value, include);
        go.run(st);
    });
    let on_range = Callback::new(move |(t1, t2): (f64, f64)| {
        let mut st = state.get_untracked();
        (st.from, st.to) = zoom_times((t1, t2));
        go.run(st);
    });
    let context_of = RwSignal::new(None::<LogLine>);
    let on_context = Callback::new(move |line: LogLine| context_of.set(Some(line)));

    let preset = move || {
        let st = state.read();
        preset_of(&st.from, &st.to)
    };
    let custom_label = move || {
        let st = state.read();
        format!("{} → {}", shown_time(&st.from), shown_time(&st.to))
    };

    view! {
        <Title text="Explore logs" />
        <h1>"Explore logs"</h1>
        <form class="logs-toolbar" role="search" on:submit=on_run>
            <label class="visually-hidden" for="logs-query">"Query"</label>
            <input id="logs-query" name="query" type="search" autocomplete="off" spellcheck="false"
                placeholder="level:>=WARNING AND \"timeout\" · service:api · correlation_id:…"
                prop:value=move || draft.get()
                aria-describedby="logs-query-error"
                on:input=move |ev| {
                    draft.set(event_target_value(&ev));
                    typed.update_value(|n| *n += 1);
                    let ticket = typed.get_value();
                    set_timeout(
                        move || {
                            // Only once typing pauses, and only if the page is still here.
                            if typed.try_get_value() == Some(ticket) {
                                check_query(draft.get_untracked(), query_error);
                                suggest(draft.get_untracked(), field_names(), range.get_untracked(), suggestions);
                            }
                        },
                        std::time::Duration::from_millis(400),
                    );
                } />
            <label class="visually-hidden" for="logs-range">"Time range"</label>
            <select id="logs-range" on:change=move |ev| {
                let v = event_target_value(&ev);
                if v != "custom" {
                    let mut st = state.get_untracked();
                    st.from = format!("now-{v}");
                    st.to = "now".into();
                    go.run(st);
                }
            }>
                {move || (preset() == "custom").then(|| view! {
                    <option value="custom" selected=true>{custom_label()}</option>
                })}
                {PRESETS.iter().map(|(k, label)| view! {
                    <option value=*k selected=move || preset() == *k>{*label}</option>
                }).collect_view()}
            </select>
            <label class="visually-hidden" for="logs-limit">"Lines per page"</label>
            <select id="logs-limit" on:change=move |ev| {
                if let Ok(n) = event_target_value(&ev).parse() {
                    let mut st = state.get_untracked();
                    st.limit = n;
                    go.run(st);
                }
            }>
                {LIMITS.iter().map(|n| view! {
                    <option value=n.to_string() selected=move || state.read().limit == *n>{format!("{n} lines")}</option>
                }).collect_view()}
            </select>
            <button type="submit" id="logs-run" class="primary">"Run"</button>
            <button type="button" id="logs-live" aria-pressed=move || if state.read().live { "true" } else { "false" }
                title="Show new lines as they arrive"
                on:click=move |_| {
                    let mut st = state.get_untracked();
                    st.live = !st.live;
                    let back_to_search = !st.live;
                    go.run(st);
                    // The search is as it was; its lines are not (the tail saw new ones).
                    if back_to_search {
                        result.refetch();
                    }
                }>
                {move || if state.read().live { "Stop live" } else { "Live" }}
            </button>
        </form>
        <SyntaxHelp />
        <ul id="logs-suggestions" class="log-suggestions" role="listbox" aria-label="Completions">
            {move || suggestions.get().into_iter().map(|text| {
                let chosen = text.clone();
                view! {
                    <li>
                        <button type="button" class="suggestion" role="option" on:click=move |_| pick(chosen.clone())>
                            {text}
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
        <p id="logs-query-error" class="field-error" role="alert">{move || query_error.get()}</p>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="panel-error" role="alert" data-testid="logs-error">
                        <strong>"The search failed: "</strong>{e.to_string()}
                    </div>
                }.into_any(),
                Ok(v) => {
                    let req = request.get_untracked();
                    let shown = v.lines.len();
                    let lines = v.lines.clone();
                    view! {
                        <div class="logs-body">
                            <FieldSidebar fields=v.fields.clone() req=req on_filter=on_filter />
                            <section class="logs-results" aria-live="polite">
                                <Histogram h=v.histogram.clone() on_range=on_range />
                                {move || if state.read().live {
                                    view! { <LiveTail query=state.read().query.clone() range=range.get() on_filter=on_filter /> }.into_any()
                                } else if shown == 0 {
                                    view! { <p class="hint" data-testid="logs-empty">"No lines match in this time range."</p> }.into_any()
                                } else {
                                    let lines = lines.clone();
                                    view! {
                                        <p class="logs-count" data-testid="logs-count">{format!("{shown} newest lines")}</p>
                                        <LogList lines=lines range=range.get() on_filter=on_filter on_context=on_context />
                                        {move || view! {
                                            <LogList lines=older.get() range=range.get() on_filter=on_filter on_context=on_context />
                                        }}
                                        {move || paging.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
                                        {move || (cursor.get().is_some() && shown + older.with(Vec::len) < MAX_SHOWN).then(|| view! {
                                            <button type="button" id="logs-older" on:click=load_older>"Older lines"</button>
                                        })}
                                    }.into_any()
                                }}
                            </section>
                        </div>
                    }.into_any()
                }
            })}
        </Transition>
        {move || context_of.get().map(|line| view! {
            <ContextView line=line range=range.get() on_close=Callback::new(move |_| context_of.set(None)) />
        })}
    }
}

/// A URL time as the picker shows it: relative as written, absolute as UTC.
fn shown_time(t: &str) -> String {
    if t.starts_with("now") {
        return t.to_owned();
    }
    match t.parse::<f64>() {
        Ok(n) => utc(if n > 1e11 { n / 1000.0 } else { n }),
        Err(_) => t.to_owned(),
    }
}

/// Asks the server whether `query` parses (a search of the last minute for one line: the
/// query is parsed before anything is read) and shows its syntax error, if any.
fn check_query(query: String, into: RwSignal<Option<String>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let path = format!(
            "/api/v1/logs/query?{}",
            crate::components::chart_model::encode_pairs(&[
                ("query", query),
                ("from", "now-1m".into()),
                ("to", "now".into()),
                ("limit", "1".into()),
            ])
        );
        let answer = crate::api_client::call::<serde_json::Value>("GET", &path, None::<&()>).await;
        into.try_set(match answer {
            Err(e) if e.code == "bad_query" => Some(e.message),
            _ => None,
        });
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (query, into);
}

/// Suggestions for the last word of `query`: field names from `fields`, or the most
/// common values of the field it names over `range` (asked of the server).
fn suggest(
    query: String,
    fields: Vec<String>,
    range: (String, String),
    into: RwSignal<Vec<String>>,
) {
    const MAX: usize = 10;
    match complete::at_end(&query).1 {
        complete::Want::Nothing => into.set(Vec::new()),
        want @ complete::Want::Field(_) => into.set(complete::suggestions(&want, &fields, MAX)),
        complete::Want::Value { field, prefix } => {
            #[cfg(feature = "hydrate")]
            leptos::task::spawn_local(async move {
                #[derive(serde::Deserialize)]
                struct Values {
                    values: Vec<crate::components::log_model::FieldCount>,
                }
                let path = format!(
                    "/api/v1/logs/fields/{}/values?{}",
                    crate::components::form::encode(&field),
                    crate::components::chart_model::encode_pairs(&[
                        ("from", range.0),
                        ("to", range.1),
                        ("limit", "50".into()),
                    ])
                );
                let values = crate::api_client::call::<Values>("GET", &path, None::<&()>)
                    .await
                    .map(|v| v.values.into_iter().map(|v| v.name).collect::<Vec<_>>())
                    .unwrap_or_default();
                let want = complete::Want::Value { field, prefix };
                into.try_set(complete::suggestions(&want, &values, MAX));
            });
            #[cfg(not(feature = "hydrate"))]
            let _ = (field, prefix, range);
        }
    }
}

/// Loads the page after `req.cursor` and appends it (browser only: the button appears
/// after hydration has something to page through).
fn fetch_older(
    req: crate::components::log_model::LogsRequest,
    older: RwSignal<Vec<LogLine>>,
    cursor: RwSignal<Option<String>>,
    failure: RwSignal<Option<String>>,
) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        #[derive(serde::Deserialize)]
        struct Page {
            lines: Vec<LogLine>,
            next: Option<String>,
        }
        let path = format!("/api/v1/logs/query?{}", req.to_query_string(true));
        match crate::api_client::call::<Page>("GET", &path, None::<&()>).await {
            Ok(p) => {
                older.try_update(|o| o.extend(p.lines));
                cursor.try_set(p.next);
            }
            Err(e) => {
                failure.try_set(Some(e.to_string()));
            }
        }
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (req, older, cursor, failure);
}
