//! Live tail: the lines matching the query as the server streams them
//! (`GET /api/v1/logs/tail`, server-sent events), newest first, at most [`MAX_LINES`] kept
//! in the page; pause stops showing (the lines that come meanwhile are counted as
//! skipped), and the server's own skips (rate limit, a slow reader) are counted too.

use leptos::prelude::*;

use crate::components::log_lines::{Filter, LogList};
use crate::components::log_model::LogLine;

/// Lines the page keeps; older ones fall off the end.
pub const MAX_LINES: usize = 500;

/// The tail's state as the view shows it.
#[derive(Clone, Debug, Default, PartialEq)]
struct Tail {
    lines: Vec<LogLine>,
    skipped: u64,
    connected: bool,
    failed: bool,
}

impl Tail {
    #[cfg_attr(not(feature = "hydrate"), allow(dead_code))]
    fn push(&mut self, line: LogLine, paused: bool) {
        if paused {
            self.skipped += 1;
            return;
        }
        self.lines.insert(0, line);
        self.lines.truncate(MAX_LINES);
    }
}

#[component]
pub fn LiveTail(
    query: String,
    range: (String, String),
    #[prop(into)] on_filter: Callback<Filter>,
) -> impl IntoView {
    let tail = RwSignal::new(Tail::default());
    let paused = RwSignal::new(false);
    connect(query, tail, paused);
    let status = move || {
        let t = tail.get();
        let state = if t.failed {
            "disconnected"
        } else if !t.connected {
            "connecting…"
        } else if paused.get() {
            "paused"
        } else {
            "live"
        };
        format!(
            "{state} · {} lines shown (last {MAX_LINES} kept) · {} skipped",
            t.lines.len(),
            t.skipped
        )
    };
    view! {
        <div class="live-tail" data-connected=move || tail.get().connected.to_string()>
            <p class="tail-status" role="status" data-testid="tail-status">
                {status}
                " "
                <button type="button" id="tail-pause" on:click=move |_| paused.update(|p| *p = !*p)>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
            </p>
            {move || view! { <LogList lines=tail.get().lines range=range.clone() on_filter=on_filter /> }}
        </div>
    }
}

/// Opens the event stream for `query` and feeds `tail` until the component goes away.
fn connect(query: String, tail: RwSignal<Tail>, paused: RwSignal<bool>) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::closure::Closure;
        use wasm_bindgen::JsCast;
        use web_sys::{EventSource, MessageEvent};

        let url = format!(
            "/api/v1/logs/tail?{}",
            crate::components::chart_model::encode_pairs(&[("query", query)])
        );
        let Ok(es) = EventSource::new(&url) else {
            tail.update(|t| t.failed = true);
            return;
        };
        let on_ready = Closure::<dyn FnMut(MessageEvent)>::new(move |_: MessageEvent| {
            tail.try_update(|t| {
                t.connected = true;
                t.failed = false;
            });
        });
        let on_line = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let line = ev
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<LogLine>(&text).ok());
            if let Some(line) = line {
                let p = paused.try_get_untracked().unwrap_or(false);
                tail.try_update(|t| t.push(line, p));
            }
        });
        let on_skipped = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let n = ev
                .data()
                .as_string()
                .and_then(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
                .map_or(0, |v| v["rate_limited"].as_u64().unwrap_or(0));
            tail.try_update(|t| t.skipped += n);
        });
        let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |_: web_sys::Event| {
            tail.try_update(|t| {
                t.connected = false;
                t.failed = true;
            });
        });
        let listen = |name: &str, f: &web_sys::js_sys::Function| {
            let _ = es.add_event_listener_with_callback(name, f);
        };
        listen("ready", on_ready.as_ref().unchecked_ref());
        listen("line", on_line.as_ref().unchecked_ref());
        listen("skipped", on_skipped.as_ref().unchecked_ref());
        listen("error", on_error.as_ref().unchecked_ref());
        let held = send_wrapper::SendWrapper::new((es, on_ready, on_line, on_skipped, on_error));
        on_cleanup(move || {
            let (es, ..) = held.take();
            es.close();
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (query, tail, paused);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_newest_lines_and_counts_paused_ones() {
        let mut t = Tail::default();
        for i in 0..(MAX_LINES + 10) {
            t.push(
                LogLine {
                    id: i.to_string(),
                    ..Default::default()
                },
                false,
            );
        }
        assert_eq!(t.lines.len(), MAX_LINES);
        assert_eq!(t.lines[0].id, (MAX_LINES + 9).to_string());
        t.push(LogLine::default(), true);
        assert_eq!((t.lines.len(), t.skipped), (MAX_LINES, 1));
    }
}
