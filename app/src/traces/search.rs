//! Explore → Traces: the search form (service, operation, attribute filters, duration
//! bounds, errors only, time range), the matches as a duration-over-time scatter plot
//! (a dot opens its trace) and as a list. The search lives in the URL and the first HTML
//! already holds the matches.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_navigate, use_query_map};

use super::fetch::TraceFetcher;
use super::model::{duration_text, TraceSearch, TraceSearchView};
use super::range_select::RangeSelect;
use crate::components::chart::utc;

#[component]
pub fn ExploreTraces() -> impl IntoView {
    let params = use_query_map();
    let state = Memo::new(move |_| {
        let p = params.read();
        TraceSearch::from_pairs(|k| p.get_str(k))
    });
    let navigate = use_navigate();
    let go = Callback::new(move |s: TraceSearch| navigate(&s.url(), Default::default()));
    let fetcher = TraceFetcher::new();
    let result = Resource::new(move || state.get(), move |req| fetcher.clone().search(req));

    // The form edits drafts; "Search" puts them into the URL.
    let initial = state.get_untracked();
    let service = RwSignal::new(initial.service.clone());
    let operation = RwSignal::new(initial.operation.clone());
    let filters = RwSignal::new(initial.filters.clone());
    let min = RwSignal::new(initial.min.clone());
    let max = RwSignal::new(initial.max.clone());
    let errors = RwSignal::new(initial.errors);
    Effect::new(move |_| {
        let st = state.get();
        service.set(st.service);
        operation.set(st.operation);
        filters.set(st.filters);
        min.set(st.min);
        max.set(st.max);
        errors.set(st.errors);
    });
    let on_search = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let mut st = state.get_untracked();
        st.service = service.get_untracked().trim().to_owned();
        st.operation = operation.get_untracked().trim().to_owned();
        st.filters = filters.get_untracked().trim().to_owned();
        st.min = min.get_untracked().trim().to_owned();
        st.max = max.get_untracked().trim().to_owned();
        st.errors = errors.get_untracked();
        let same = st == state.get_untracked();
        go.run(st);
        if same {
            result.refetch();
        }
    };
    let range = Signal::derive(move || {
        let st = state.read();
        (st.from.clone(), st.to.clone())
    });
    let map_link = move || {
        let st = state.read();
        format!(
            "/explore/service-map?{}",
            crate::components::chart_model::encode_pairs(&[
                ("from", st.from.clone()),
                ("to", st.to.clone())
            ])
        )
    };

    view! {
        <Title text="Explore traces" />
        <h1>"Explore traces"</h1>
        <nav class="tabs" aria-label="Traces views">
            <a href="#" aria-current="page" class="tab active">"Search"</a>
            <a href=map_link class="tab" id="traces-map-tab">"Service map"</a>
        </nav>
        <form class="traces-toolbar" role="search" on:submit=on_search>
            <label>"Service"
                <input id="traces-service" name="service" list="traces-services" autocomplete="off"
                    prop:value=move || service.get() on:input=move |ev| service.set(event_target_value(&ev)) />
            </label>
            <label>"Operation"
                <input id="traces-operation" name="operation" list="traces-operations" autocomplete="off"
                    prop:value=move || operation.get() on:input=move |ev| operation.set(event_target_value(&ev)) />
            </label>
            <label class="grow">"Attributes"
                <input id="traces-filters" name="filters" type="search" autocomplete="off" spellcheck="false"
                    placeholder="http.status_code>499 agent.id=a-1 error.type"
                    prop:value=move || filters.get() on:input=move |ev| filters.set(event_target_value(&ev)) />
            </label>
            <label>"Min duration"
                <input id="traces-min" name="min" size="7" placeholder="250ms"
                    prop:value=move || min.get() on:input=move |ev| min.set(event_target_value(&ev)) />
            </label>
            <label>"Max duration"
                <input id="traces-max" name="max" size="7" placeholder="2s"
                    prop:value=move || max.get() on:input=move |ev| max.set(event_target_value(&ev)) />
            </label>
            <label class="check">
                <input id="traces-errors" type="checkbox" prop:checked=move || errors.get()
                    on:change=move |ev| errors.set(event_target_checked(&ev)) />
                "Errors only"
            </label>
            <RangeSelect id="traces-range" range=range on_pick=Callback::new(move |from: String| {
                let mut st = state.get_untracked();
                st.from = from;
                st.to = "now".into();
                go.run(st);
            }) />
            <button type="submit" id="traces-run" class="primary">"Search"</button>
        </form>
        <Transition fallback=|| view! { <p class="loading">"Searching…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="panel-error" role="alert" data-testid="traces-error">
                        <strong>"The search failed: "</strong>{e.to_string()}
                    </div>
                }.into_any(),
                Ok(v) => view! { <Results v=v search=state.get_untracked().to_query_string() /> }.into_any(),
            })}
        </Transition>
    }
}

/// `search` is the query string the results answer (`data-search`: a test, or a script,
/// can tell fresh results from the previous search's).
#[component]
fn Results(v: TraceSearchView, search: String) -> impl IntoView {
    let services = v.services.clone();
    let operations = v.operations.clone();
    let lists = view! {
        <datalist id="traces-services">
            {services.into_iter().map(|s| view! { <option value=s /> }).collect_view()}
        </datalist>
        <datalist id="traces-operations">
            {operations.into_iter().map(|s| view! { <option value=s /> }).collect_view()}
        </datalist>
    };
    if v.traces.is_empty() {
        return view! {
            {lists}
            <p class="hint" data-testid="traces-empty" data-search=search>"No traces match in this time range."</p>
        }
        .into_any();
    }
    let count = v.traces.len();
    // Two traces picked in the list can be compared.
    let picked = RwSignal::new(Vec::<String>::new());
    let compare_link = move || {
        let p = picked.get();
        (p.len() == 2).then(|| {
            let href = format!(
                "/explore/trace-compare?{}",
                crate::components::chart_model::encode_pairs(&[
                    ("a", p[0].clone()),
                    ("b", p[1].clone())
                ])
            );
            view! { <a id="traces-compare" href=href>"Compare the two picked traces"</a> }
        })
    };
    let partial = v.partial.then(|| {
        view! {
            <p class="hint" id="traces-partial" role="status">
                "The search stopped at its read budget before it found enough traces: older matches may be missing. Narrow the time range or add a service or operation."
            </p>
        }
    });
    let rows = v
        .traces
        .iter()
        .map(|t| {
            let href = format!("/explore/traces/{}", t.trace_id);
            let when = utc(t.start_ns as f64 / 1e9);
            let id = t.trace_id.clone();
            let id_for_check = t.trace_id.clone();
            let pick = move |ev: leptos::ev::Event| {
                let on = event_target_checked(&ev);
                picked.update(|p| {
                    p.retain(|x| *x != id);
                    if on {
                        p.push(id.clone());
                        if p.len() > 2 {
                            p.remove(0);
                        }
                    }
                });
            };
            view! {
                <tr class="trace-row" data-trace-id=t.trace_id.clone() class:has-error={t.error_count > 0}>
                    <td><input type="checkbox" class="compare-pick" aria-label="Pick for comparison"
                        prop:checked=move || picked.read().contains(&id_for_check) on:change=pick /></td>
                    <td><a href=href>{format!("{}: {}", t.root_service, t.root_operation)}</a></td>
                    <td>{when}</td>
                    <td class="num">{duration_text(t.duration_ms)}</td>
                    <td class="num">{t.span_count}</td>
                    <td class="num">{t.error_count}</td>
                    <td class="mono">{t.trace_id.chars().take(16).collect::<String>()}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {lists}
        <p class="traces-count" data-testid="traces-count" data-search=search>{format!("{count} traces")}</p>
        <super::scatter::Scatter v=v.clone() />
        {partial}
        <p class="compare-bar">{compare_link}</p>
        <table class="data traces-list">
            <thead>
                <tr>
                    <th><span class="visually-hidden">"Compare"</span></th><th>"Trace"</th><th>"Start (UTC)"</th><th class="num">"Duration"</th>
                    <th class="num">"Spans"</th><th class="num">"Errors"</th><th>"Trace id"</th>
                </tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
    .into_any()
}
