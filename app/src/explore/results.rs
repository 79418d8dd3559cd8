//! What a run shows: the table of an instant query, the empty result, the inspector.

use leptos::prelude::*;

use crate::components::chart::utc;
use crate::components::chart_model::{Inspector, TableView};

/// A query that ran and found nothing says so (an empty chart looks like a broken one).
#[component]
pub(super) fn EmptyResult() -> impl IntoView {
    view! {
        <div class="empty-result" role="status" data-testid="empty-result">
            <strong>"No data. "</strong>
            "The query ran and returned no series in this time range: check the metric and \
             label names, or widen the range."
        </div>
    }
}

/// The label names of `rows` as table columns: `__name__` first (as "Metric"), then the
/// others alphabetically.
fn label_columns(rows: &[crate::components::chart_model::TableRow]) -> Vec<String> {
    let mut names: Vec<String> = rows
        .iter()
        .flat_map(|r| r.labels.iter().map(|(k, _)| k.clone()))
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(i) = names.iter().position(|n| n == "__name__") {
        let name = names.remove(i);
        names.insert(0, name);
    }
    names
}

/// Rows sorted by a label column (`Some(name)`) or by value (`None`), ascending or not.
fn sorted_rows(
    mut rows: Vec<crate::components::chart_model::TableRow>,
    by: &Option<String>,
    ascending: bool,
) -> Vec<crate::components::chart_model::TableRow> {
    let label = |r: &crate::components::chart_model::TableRow, k: &str| {
        r.labels
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    rows.sort_by(|a, b| {
        let order = match by {
            Some(k) => label(a, k).cmp(&label(b, k)),
            None => a.raw.total_cmp(&b.raw),
        };
        if ascending {
            order
        } else {
            order.reverse()
        }
    });
    rows
}

/// An instant query's answer: a column per label and the value, sorted by a click on a
/// column's header (again to reverse), as Grafana's and Prometheus's tables are.
#[component]
pub(super) fn ResultTable(table: TableView) -> impl IntoView {
    let columns = label_columns(&table.rows);
    let rows = StoredValue::new(table.rows);
    // (column, ascending); `None` = the value.
    let sort = RwSignal::new((None::<String>, false));
    let header = move |key: Option<String>, title: String, numeric: bool| {
        let k = key.clone();
        let mark = move || {
            let (by, asc) = sort.get();
            if by == k {
                if asc {
                    " ▲"
                } else {
                    " ▼"
                }
            } else {
                ""
            }
        };
        let k = key.clone();
        let aria = move || {
            let (by, asc) = sort.get();
            if by == k {
                if asc {
                    "ascending"
                } else {
                    "descending"
                }
            } else {
                "none"
            }
        };
        view! {
            <th class:num=numeric aria-sort=aria>
                <button type="button" class="sort" data-column=key.clone().unwrap_or_else(|| "value".into())
                    on:click=move |_| sort.update(|(by, asc)| {
                        if *by == key { *asc = !*asc } else { *by = key.clone(); *asc = true }
                    })>
                    {title}{mark}
                </button>
            </th>
        }
    };
    let heads: Vec<_> = columns
        .iter()
        .map(|c| {
            let title = if c == "__name__" {
                "Metric".to_owned()
            } else {
                c.clone()
            };
            header(Some(c.clone()), title, false)
        })
        .collect();
    let cols = columns.clone();
    view! {
        <table class="grid result-table">
            <thead>
                <tr>
                    {heads}
                    {header(None, "Value".into(), true)}
                </tr>
            </thead>
            <tbody>
                {move || {
                    let (by, asc) = sort.get();
                    let cols = cols.clone();
                    sorted_rows(rows.get_value(), &by, asc)
                        .into_iter()
                        .map(|r| {
                            let cells = cols
                                .iter()
                                .map(|c| {
                                    let v = r.labels.iter().find(|(k, _)| k == c).map(|(_, v)| v.clone()).unwrap_or_default();
                                    view! { <td data-column=c.clone()>{v}</td> }
                                })
                                .collect_view();
                            view! { <tr title=r.series.clone()>{cells}<td class="num" data-column="value">{r.value}</td></tr> }
                        })
                        .collect_view()
                }}
            </tbody>
        </table>
    }
}

#[component]
pub(super) fn InspectorView(info: Inspector) -> impl IntoView {
    let range = if info.step > 0.0 {
        format!("{} → {} UTC", utc(info.start), utc(info.end))
    } else {
        format!("at {} UTC", utc(info.end))
    };
    view! {
        <details class="inspector" id="query-inspector">
            <summary>"Query inspector"</summary>
            <dl>
                <dt>"Query sent"</dt>
                <dd><code>{info.query}</code></dd>
                <dt>"Range"</dt>
                <dd>{range}</dd>
                <dt>"Step"</dt>
                <dd data-testid="inspector-step">{format!("{} s", info.step)}</dd>
                <dt>"Time taken"</dt>
                <dd>{format!("{:.1} ms", info.elapsed_ms)}</dd>
                <dt>"Series returned"</dt>
                <dd data-testid="inspector-series">{info.series}</dd>
                <dt>"Points returned"</dt>
                <dd>{info.points_returned}</dd>
                <dt>"Points drawn"</dt>
                <dd>{format!("{} ({})", info.points_drawn, info.downsampling)}</dd>
            </dl>
        </details>
    }
}

#[cfg(test)]
mod table_tests {
    use super::*;
    use crate::components::chart_model::TableRow;

    fn row(method: &str, raw: f64) -> TableRow {
        TableRow {
            series: method.into(),
            value: raw.to_string(),
            raw,
            labels: vec![
                ("__name__".into(), "x".into()),
                ("method".into(), method.into()),
            ],
        }
    }

    #[test]
    fn the_metric_column_comes_first_and_rows_sort_by_any_column() {
        let rows = vec![row("POST", 1.0), row("GET", 3.0), row("PUT", 2.0)];
        assert_eq!(label_columns(&rows), ["__name__", "method"]);
        let by = |k: Option<&str>, asc| {
            sorted_rows(rows.clone(), &k.map(str::to_owned), asc)
                .into_iter()
                .map(|r| r.series)
                .collect::<Vec<_>>()
        };
        assert_eq!(by(Some("method"), true), ["GET", "POST", "PUT"]);
        assert_eq!(by(Some("method"), false), ["PUT", "POST", "GET"]);
        assert_eq!(by(None, false), ["GET", "PUT", "POST"]);
    }
}
