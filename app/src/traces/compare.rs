//! Two traces side by side at `/explore/trace-compare?a=<id>&b=<id>` (picked in the search
//! list): their durations, and per service and operation the spans, total and self time of
//! each with the change in self time, largest change first — where the slower one spent its
//! time. The figures come from `comparison::compare`, as `GET /api/v1/traces/compare`
//! answers them.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::comparison::{compare, CompareSide, OperationTime};
use super::fetch::TraceFetcher;
use super::model::{duration_text, Trace};

fn ms(ns: i64) -> String {
    duration_text(ns as f64 / 1e6)
}

fn signed(ns: i64) -> String {
    if ns >= 0 {
        format!("+{}", ms(ns))
    } else {
        format!("−{}", ms(-ns))
    }
}

#[component]
pub fn ComparePage() -> impl IntoView {
    let query = use_query_map();
    let ids = Memo::new(move |_| {
        let q = query.read();
        (
            q.get("a").unwrap_or_default(),
            q.get("b").unwrap_or_default(),
        )
    });
    let fetcher = TraceFetcher::new();
    let result = Resource::new(
        move || ids.get(),
        move |(a, b)| {
            let f = fetcher.clone();
            async move {
                let first = f.clone().trace(a).await?;
                let second = f.trace(b).await?;
                Ok::<_, crate::ApiFailure>((first, second))
            }
        },
    );
    view! {
        <Title text="Compare traces" />
        <p class="crumbs"><a href="/explore/traces">"Explore traces"</a></p>
        <h1>"Compare traces"</h1>
        <Transition fallback=|| view! { <p class="loading">"Loading both traces…"</p> }>
            {move || result.get().map(|r| match r {
                Err(e) => view! {
                    <div class="panel-error" role="alert" data-testid="compare-error">
                        <strong>"The traces could not be compared: "</strong>{e.to_string()}
                    </div>
                }.into_any(),
                Ok((a, b)) => view! { <Comparison a=a b=b /> }.into_any(),
            })}
        </Transition>
    }
}

#[component]
fn Comparison(a: Trace, b: Trace) -> impl IntoView {
    let c = compare(&a, &b);
    let root = |s: &CompareSide| {
        if s.span_count == 0 {
            String::new()
        } else {
            format!("{}: {}", s.root_service, s.root_operation)
        }
    };
    let (ra, rb) = (root(&c.a), root(&c.b));
    let other_operation = (ra != rb).then(|| {
        view! { <p class="notice" role="status">{format!("These traces start with different operations ({ra} and {rb}).")}</p> }
    });
    let head = |label: &'static str, s: &CompareSide| {
        let href = format!("/explore/traces/{}", s.trace_id);
        view! {
            <li>
                <strong>{label}</strong>" "<a href=href class="mono">{s.trace_id.clone()}</a>
                {format!(" · {} · {} · {} spans", root(s), ms(s.duration_ns), s.span_count)}
            </li>
        }
    };
    let summary = view! {
        <ul class="compare-heads">
            {head("A", &c.a)}
            {head("B", &c.b)}
        </ul>
        <p data-testid="compare-delta">{format!("B − A: {}", signed(c.delta_ns))}</p>
    };
    let cell = |s: &Option<OperationTime>, f: fn(&OperationTime) -> String| {
        s.as_ref().map(f).unwrap_or_else(|| "—".into())
    };
    let rows = c
        .rows
        .into_iter()
        .map(|r| {
            let delta = r.delta_ns;
            view! {
                <tr class="compare-row" data-service=r.service.clone() data-operation=r.operation.clone()
                    class:slower={delta > 0} class:faster={delta < 0}>
                    <td>{r.service.clone()}</td>
                    <td>{r.operation.clone()}</td>
                    <td class="num">{cell(&r.a, |s| s.spans.to_string())}</td>
                    <td class="num">{cell(&r.b, |s| s.spans.to_string())}</td>
                    <td class="num">{cell(&r.a, |s| ms(s.self_ns))}</td>
                    <td class="num">{cell(&r.b, |s| ms(s.self_ns))}</td>
                    <td class="num delta">{signed(delta)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        {other_operation}
        {summary}
        <table class="data compare">
            <thead>
                <tr><th>"Service"</th><th>"Operation"</th><th class="num">"Spans A"</th><th class="num">"Spans B"</th>
                    <th class="num">"Self A"</th><th class="num">"Self B"</th><th class="num">"Self B − A"</th></tr>
            </thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
