//! Log lines as Explore → Logs and the dashboards' logs panel show them: time, level
//! (coloured), service and message; a click expands a line to all its fields (a table and
//! the JSON) with "copy", filter buttons, context, and links for its trace and request (a
//! line with a correlation id but no trace id links to the traces of its request).

use leptos::prelude::*;

use crate::components::correlate::{correlation_id_of, request_logs_url, request_traces_url};
use crate::components::log_model::{rfc3339_ns, LogLine};

/// A filter edit a field's buttons ask for: `(field, value, include)`.
pub type Filter = (String, String, bool);

/// Where a field value links to: a trace (`trace_id`, `span_id`) or every line of the
/// request (`correlation_id`), over `range`.
pub fn link_for(line: &LogLine, field: &str, range: &(String, String)) -> Option<String> {
    let value = line.field(field)?;
    match field {
        "trace_id" => Some(format!(
            "/explore/traces/{}",
            crate::components::form::encode(value)
        )),
        "span_id" => line.field("trace_id").map(|t| {
            format!(
                "/explore/traces/{}?span={}",
                crate::components::form::encode(t),
                crate::components::form::encode(value)
            )
        }),
        "correlation_id" => Some(request_logs_url(value, range)),
        _ => None,
    }
}

/// For a line with a correlation id but no trace id: Explore → Traces with the traces
/// whose spans carry that correlation id, a quarter of an hour either side of the line.
/// The id is read as a span's is ([`correlation_id_of`]: `correlation_id`,
/// `correlation.id`, the `X-Correlation-ID` header's forms, a `["…"]` list as its value).
pub fn request_traces_link(line: &LogLine) -> Option<String> {
    if line.field("trace_id").is_some_and(|v| !v.is_empty()) {
        return None;
    }
    let id = correlation_id_of(&line.fields, &Default::default())?;
    let ms = |ns: i64| (ns / 1_000_000).to_string();
    let quarter = 900_000_000_000;
    let range = (
        ms(line.time_ns.saturating_sub(quarter)),
        ms(line.time_ns.saturating_add(quarter)),
    );
    Some(request_traces_url(&id, &range))
}

/// The lines, newest first as given.
#[component]
pub fn LogList(
    lines: Vec<LogLine>,
    /// The range shown, carried by request links.
    range: (String, String),
    #[prop(optional, into)] on_filter: Option<Callback<Filter>>,
    #[prop(optional, into)] on_context: Option<Callback<LogLine>>,
) -> impl IntoView {
    view! {
        <ol class="log-lines">
            {lines
                .into_iter()
                .map(|line| {
                    view! {
                        <LogLineRow line=line range=range.clone() on_filter=on_filter on_context=on_context />
                    }
                })
                .collect_view()}
        </ol>
    }
}

/// One line, expandable.
#[component]
pub fn LogLineRow(
    line: LogLine,
    range: (String, String),
    on_filter: Option<Callback<Filter>>,
    on_context: Option<Callback<LogLine>>,
) -> impl IntoView {
    let open = RwSignal::new(false);
    let copied = RwSignal::new(None::<bool>);
    let class = format!("log-line {}", line.severity_class());
    let time = rfc3339_ns(line.time_ns);
    let level = line.severity.clone().unwrap_or_default();
    let service = line.field("service").unwrap_or_default().to_owned();
    let trace = link_for(&line, "trace_id", &range);
    let request_traces = request_traces_link(&line);
    let line = StoredValue::new(line);
    // The JSON is made when a line is opened or copied, not for every line shown.
    let copy = move |_| copy_text(line.with_value(LogLine::to_json), copied);
    let details = move || {
        open.get().then(|| {
            let l = line.get_value();
            let rows = std::iter::once(("message".to_owned(), l.message.clone()))
                .chain(l.severity.clone().map(|s| ("level".to_owned(), s)))
                .chain(l.fields.clone())
                .map(|(k, v)| {
                    let href = link_for(&l, &k, &range);
                    let value = match href {
                        Some(h) => view! { <a class="log-link" data-field=k.clone() href=h>{v.clone()}</a> }.into_any(),
                        None => view! { <span>{v.clone()}</span> }.into_any(),
                    };
                    let filters = on_filter.filter(|_| k != "message").map(|cb| {
                        let (k1, v1, k2, v2) = (k.clone(), v.clone(), k.clone(), v.clone());
                        view! {
                            <button type="button" class="filter-in" title="Only lines with this value"
                                on:click=move |_| cb.run((k1.clone(), v1.clone(), true))>"+"</button>
                            <button type="button" class="filter-out" title="Leave out lines with this value"
                                on:click=move |_| cb.run((k2.clone(), v2.clone(), false))>"−"</button>
                        }
                    });
                    view! {
                        <tr data-field=k.clone()>
                            <th scope="row">{k.clone()}</th>
                            <td class="log-field-value">{value}</td>
                            <td class="log-field-filters">{filters}</td>
                        </tr>
                    }
                })
                .collect_view();
            let context = on_context.map(|cb| {
                view! {
                    <button type="button" class="log-context-button" on:click=move |_| cb.run(line.get_value())>
                        "Show context"
                    </button>
                }
            });
            view! {
                <div class="log-details">
                    <div class="log-actions">
                        <button type="button" class="log-copy" on:click=copy>
                            {move || match copied.get() {
                                Some(true) => "Copied",
                                Some(false) => "Copy failed",
                                None => "Copy",
                            }}
                        </button>
                        {context}
                    </div>
                    <table class="grid log-fields"><tbody>{rows}</tbody></table>
                    <pre class="log-json">{line.with_value(LogLine::to_json)}</pre>
                </div>
            }
        })
    };
    view! {
        <li class=class data-id=line.with_value(|l| l.id.clone())>
            <button type="button" class="log-toggle" aria-expanded=move || if open.get() { "true" } else { "false" }
                on:click=move |_| open.update(|o| *o = !*o)>
                <time class="log-time">{time}</time>
                <span class="log-level">{level}</span>
                <span class="log-service">{service}</span>
                <span class="log-message">{line.with_value(|l| l.message.clone())}</span>
            </button>
            {trace.map(|h| view! { <a class="log-trace" href=h title="Open the trace">"trace"</a> })}
            {request_traces.map(|h| view! {
                <a class="log-request-traces" href=h title="Traces whose spans carry this line's correlation id">"traces"</a>
            })}
            {details}
        </li>
    }
}

/// Puts `text` on the clipboard and reports whether it worked.
fn copy_text(text: String, done: RwSignal<Option<bool>>) {
    #[cfg(feature = "hydrate")]
    {
        let promise = window().navigator().clipboard().write_text(&text);
        leptos::task::spawn_local(async move {
            let ok = wasm_bindgen_futures::JsFuture::from(promise).await.is_ok();
            done.try_set(Some(ok));
        });
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (text, done);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[(&str, &str)]) -> LogLine {
        LogLine {
            id: "1".into(),
            time_ns: 1_700_000_000_000_000_000,
            severity: None,
            message: "Request completed".into(),
            fields: fields
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn a_line_without_a_trace_id_links_to_the_traces_of_its_request() {
        let url = request_traces_link(&line(&[("correlation_id", "req-9")])).unwrap();
        assert_eq!(
            url,
            "/explore/traces?filters=correlation_id%3Dreq-9&from=1699999100000&to=1700000900000"
        );
        // A line with its trace id links to that trace instead; no id, no link.
        let traced = line(&[("correlation_id", "req-9"), ("trace_id", "ab")]);
        assert_eq!(request_traces_link(&traced), None);
        assert!(link_for(&traced, "trace_id", &("a".into(), "b".into())).is_some());
        assert_eq!(request_traces_link(&line(&[])), None);
        let empty_trace = line(&[("correlation_id", "req-9"), ("trace_id", "")]);
        assert!(request_traces_link(&empty_trace).is_some());
        // The id under the other names a span's is read from, a header's list unwrapped,
        // and a quote in it kept (quoted and escaped for the filter language).
        for (key, value) in [
            ("correlation.id", "req-9"),
            ("http.request.header.x_correlation_id", r#"["req-9"]"#),
            ("http.request.header.x-correlation-id", "req-9"),
        ] {
            let url = request_traces_link(&line(&[(key, value)])).unwrap();
            assert!(
                url.contains("filters=correlation_id%3Dreq-9&"),
                "{key}: {url}"
            );
        }
        let quoted = request_traces_link(&line(&[("correlation_id", r#"r"9"#)])).unwrap();
        assert!(
            quoted.contains("filters=correlation_id%3D%22r%5C%229%22&"),
            "{quoted}"
        );
        // The request's own lines, as before.
        let logs = link_for(&traced, "correlation_id", &("now-1h".into(), "now".into()));
        assert_eq!(
            logs.as_deref(),
            Some("/explore/logs?query=correlation_id%3Areq-9&from=now-1h&to=now")
        );
    }
}
