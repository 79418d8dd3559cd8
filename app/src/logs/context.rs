//! Context: the lines just before and after one line from the same service (and the same
//! instance, when the line names one), newest first around the line itself.
//!
//! Before: the search continued from the line's own id (the query API's cursor), so exactly
//! the lines that precede it. After: lines later than the line's time in widening windows
//! (1 s … 1 day), the earliest of them kept.

use leptos::prelude::*;

use crate::components::log_lines::LogList;
use crate::components::log_model::{quote_value, LogLine};

/// Lines shown on each side.
#[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
pub const AROUND: usize = 5;
/// Fields that name an instance of a service, the first present narrows the context.
const INSTANCE_FIELDS: [&str; 4] = ["service.instance.id", "instance", "host.name", "host"];

/// The query that selects the line's neighbours: its service and instance.
pub fn scope_of(line: &LogLine) -> String {
    let mut terms = Vec::new();
    if let Some(s) = line.field("service") {
        terms.push(format!("service:{}", quote_value(s)));
    }
    if let Some((k, v)) = INSTANCE_FIELDS
        .iter()
        .find_map(|k| line.field(k).map(|v| (*k, v)))
    {
        terms.push(format!("{k}:{}", quote_value(v)));
    }
    terms.join(" AND ")
}

#[derive(Clone, Debug, Default, PartialEq)]
struct Around {
    before: Vec<LogLine>,
    after: Vec<LogLine>,
}

#[component]
pub fn ContextView(
    line: LogLine,
    range: (String, String),
    #[prop(into)] on_close: Callback<()>,
) -> impl IntoView {
    let around = RwSignal::new(None::<Result<Around, String>>);
    load(line.clone(), around);
    let scope = scope_of(&line);
    let this = vec![line];
    view! {
        <section class="log-context" role="dialog" aria-label="Context" data-testid="log-context">
            <header class="log-context-head">
                <h2>"Context"</h2>
                <span class="hint">{if scope.is_empty() { "all lines".to_owned() } else { scope }}</span>
                <button type="button" class="log-context-close" on:click=move |_| on_close.run(())>"Close"</button>
            </header>
            {move || match around.get() {
                None => view! { <p class="loading">"Loading the lines around…"</p> }.into_any(),
                Some(Err(e)) => view! { <p class="form-error" role="alert">{e}</p> }.into_any(),
                Some(Ok(a)) => {
                    let range = range.clone();
                    view! {
                        <div class="context-after"><LogList lines=a.after range=range.clone() /></div>
                        <div class="context-line"><LogList lines=this.clone() range=range.clone() /></div>
                        <div class="context-before"><LogList lines=a.before range=range /></div>
                    }.into_any()
                }
            }}
        </section>
    }
}

fn load(line: LogLine, into: RwSignal<Option<Result<Around, String>>>) {
    #[cfg(feature = "hydrate")]
    leptos::task::spawn_local(async move {
        let answer = fetch_around(&line).await.map_err(|e| e.to_string());
        into.try_set(Some(answer));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = (line, into);
}

#[cfg(feature = "hydrate")]
async fn fetch_around(line: &LogLine) -> Result<Around, crate::api_client::ApiFailure> {
    use crate::components::chart_model::encode_pairs;

    #[derive(serde::Deserialize)]
    struct Page {
        lines: Vec<LogLine>,
    }
    async fn page(pairs: &[(&str, String)]) -> Result<Vec<LogLine>, crate::api_client::ApiFailure> {
        let path = format!("/api/v1/logs/query?{}", encode_pairs(pairs));
        Ok(crate::api_client::call::<Page>("GET", &path, None::<&()>)
            .await?
            .lines)
    }
    let scope = scope_of(line);
    let t = line.time_ns as f64 / 1e9;
    let before = page(&[
        ("query", scope.clone()),
        ("from", format!("{:.3}", t - 86_400.0)),
        ("to", format!("{:.3}", t + 1.0)),
        ("limit", AROUND.to_string()),
        ("cursor", line.id.clone()),
    ])
    .await?;
    let later = if scope.is_empty() {
        format!("time:>{}", line.time_ns)
    } else {
        format!("{scope} AND time:>{}", line.time_ns)
    };
    let mut after = Vec::new();
    for window in [1.0, 10.0, 60.0, 600.0, 3600.0, 86_400.0] {
        after = page(&[
            ("query", later.clone()),
            ("from", format!("{:.3}", t.floor())),
            ("to", format!("{:.3}", t.floor() + window)),
            ("limit", "500".into()),
        ])
        .await?;
        if after.len() >= AROUND {
            break;
        }
    }
    // Newest first: the last ones are the nearest to the line.
    let skip = after.len().saturating_sub(AROUND);
    Ok(Around {
        before,
        after: after.split_off(skip),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scope_is_the_service_and_instance() {
        let mut l = LogLine::default();
        assert_eq!(scope_of(&l), "");
        l.fields.insert("service".into(), "api".into());
        l.fields.insert("host.name".into(), "web 1".into());
        assert_eq!(scope_of(&l), "service:api AND host.name:\"web 1\"");
    }
}
