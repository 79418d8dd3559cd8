//! Two traces side by side at `/explore/trace-compare?a=<id>&b=<id>` (picked in the search
//! list): their durations, and per service and operation the spans, total and self time of
//! each with the change in self time, largest change first — where the slower one spent its
//! time.

use std::collections::BTreeMap;

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use super::fetch::TraceFetcher;
use super::layout::{layout, SelfTime};
use super::model::{duration_text, Trace};

/// One operation's figures in both traces (`None`: not in that trace).
#[derive(Clone, Debug, PartialEq)]
pub struct CompareRow {
    pub service: String,
    pub operation: String,
    pub a: Option<SelfTime>,
    pub b: Option<SelfTime>,
}

impl CompareRow {
    /// B's self time less A's, in nanoseconds.
    pub fn delta_ns(&self) -> i64 {
        let own = |s: &Option<SelfTime>| s.as_ref().map_or(0, |s| s.self_ns);
        own(&self.b) - own(&self.a)
    }
}

/// Rows for every service and operation of either trace, largest change in self time first.
pub fn compare(a: &Trace, b: &Trace) -> Vec<CompareRow> {
    let mut rows: BTreeMap<(String, String), CompareRow> = BTreeMap::new();
    for (side, t) in [(0, a), (1, b)] {
        for s in layout(t).self_times {
            let row = rows
                .entry((s.service.clone(), s.operation.clone()))
                .or_insert_with(|| CompareRow {
                    service: s.service.clone(),
                    operation: s.operation.clone(),
                    a: None,
                    b: None,
                });
            if side == 0 {
                row.a = Some(s);
            } else {
                row.b = Some(s);
            }
        }
    }
    let mut rows: Vec<CompareRow> = rows.into_values().collect();
    rows.sort_by_key(|r| std::cmp::Reverse(r.delta_ns().abs()));
    rows
}

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
    let (la, lb) = (layout(&a), layout(&b));
    let root = |t: &Trace, l: &super::layout::Layout| {
        l.rows
            .first()
            .map(|r| format!("{}: {}", t.spans[r.span].service, t.spans[r.span].operation))
            .unwrap_or_default()
    };
    let (ra, rb) = (root(&a, &la), root(&b, &lb));
    let other_operation = (ra != rb).then(|| {
        view! { <p class="notice" role="status">{format!("These traces start with different operations ({ra} and {rb}).")}</p> }
    });
    let head = |label: &'static str, t: &Trace, l: &super::layout::Layout, name: &str| {
        let href = format!("/explore/traces/{}", t.trace_id);
        view! {
            <li>
                <strong>{label}</strong>" "<a href=href class="mono">{t.trace_id.clone()}</a>
                {format!(" · {name} · {} · {} spans", ms(l.duration_ns), t.spans.len())}
            </li>
        }
    };
    let summary = view! {
        <ul class="compare-heads">
            {head("A", &a, &la, &ra)}
            {head("B", &b, &lb, &rb)}
        </ul>
        <p data-testid="compare-delta">{format!("B − A: {}", signed(lb.duration_ns - la.duration_ns))}</p>
    };
    let cell = |s: &Option<SelfTime>, f: fn(&SelfTime) -> String| {
        s.as_ref().map(f).unwrap_or_else(|| "—".into())
    };
    let rows = compare(&a, &b)
        .into_iter()
        .map(|r| {
            let delta = r.delta_ns();
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::traces::model::Span;

    fn span(id: &str, parent: Option<&str>, op: &str, start_ms: i64, dur_ms: i64) -> Span {
        Span {
            span_id: id.into(),
            parent_span_id: parent.map(str::to_owned),
            service: "svc".into(),
            operation: op.into(),
            start_ns: start_ms * 1_000_000,
            duration_ns: dur_ms * 1_000_000,
            ..Default::default()
        }
    }

    #[test]
    fn the_largest_change_in_self_time_comes_first() {
        let a = Trace {
            trace_id: "a".into(),
            spans: vec![
                span("r", None, "root", 0, 100),
                span("d", Some("r"), "db", 10, 50),
            ],
        };
        let b = Trace {
            trace_id: "b".into(),
            spans: vec![
                span("r", None, "root", 0, 300),
                span("d", Some("r"), "db", 10, 250),
                span("c", Some("r"), "cache", 270, 10),
            ],
        };
        let rows = compare(&a, &b);
        let ops: Vec<(&str, i64)> = rows
            .iter()
            .map(|r| (r.operation.as_str(), r.delta_ns() / 1_000_000))
            .collect();
        // db: 50 → 250 ms; cache: new, 10 ms; root: 50 → 40 ms.
        assert_eq!(ops, vec![("db", 200), ("cache", 10), ("root", -10)]);
        assert!(rows[1].a.is_none());
    }
}
