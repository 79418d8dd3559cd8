//! A state timeline as Grafana draws one: a row per alert (label set), a bar for each span
//! it was pending or firing. Built from a rule's state history (transitions) or from a
//! backtest's intervals; the layout is pure and unit-tested, the drawing is HTML.

use leptos::prelude::*;
use serde_json::Value;

use crate::components::time_range::rfc3339_seconds;

/// One span of one alert: `pending` or `firing`, Unix seconds; `open` when it still lasts.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Segment {
    pub(super) state: String,
    pub(super) from: i64,
    pub(super) to: i64,
    pub(super) open: bool,
}

/// One alert's row: its labels as `{a="1", b="2"}` and its spans in time order.
#[derive(Clone, Debug, PartialEq)]
pub(super) struct Row {
    pub(super) labels: String,
    pub(super) segments: Vec<Segment>,
}

/// `{a="1", b="2"}` (empty labels: `{}`).
pub(super) fn label_text(labels: &Value) -> String {
    let pairs: Vec<String> = labels
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| format!("{k}=\"{}\"", v.as_str().unwrap_or_default()))
        .collect();
    format!("{{{}}}", pairs.join(", "))
}

fn row_of(rows: &mut Vec<Row>, labels: String) -> &mut Row {
    let at = match rows.iter().position(|r| r.labels == labels) {
        Some(i) => i,
        None => {
            rows.push(Row {
                labels,
                segments: Vec::new(),
            });
            rows.len() - 1
        }
    };
    &mut rows[at]
}

/// Rows from state transitions (`{"at", "to", "labels"}`, oldest first): a span opens at
/// `pending` or `firing` (closing the one before), closes at `resolved` or `inactive`; a span
/// still open at the last transition lasts until `now` (Unix seconds).
pub(super) fn from_transitions(transitions: &[Value], now: i64) -> Vec<Row> {
    let mut rows: Vec<Row> = Vec::new();
    for t in transitions {
        let Some(at) = t["at"].as_str().and_then(rfc3339_seconds) else {
            continue;
        };
        let row = row_of(&mut rows, label_text(&t["labels"]));
        if let Some(last) = row.segments.last_mut().filter(|s| s.open) {
            last.to = at;
            last.open = false;
        }
        let to = t["to"].as_str().unwrap_or_default();
        if to == "pending" || to == "firing" {
            row.segments.push(Segment {
                state: to.to_owned(),
                from: at,
                to: now.max(at),
                open: true,
            });
        }
    }
    rows
}

/// Rows from a backtest's `alerts` (`{"labels", "intervals": [{"state", "from", "to",
/// "open"}]}`).
pub(super) fn from_intervals(alerts: &[Value]) -> Vec<Row> {
    alerts
        .iter()
        .map(|a| Row {
            labels: label_text(&a["labels"]),
            segments: a["intervals"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|i| {
                    Some(Segment {
                        state: i["state"].as_str()?.to_owned(),
                        from: rfc3339_seconds(i["from"].as_str()?)?,
                        to: rfc3339_seconds(i["to"].as_str()?)?,
                        open: i["open"] == true,
                    })
                })
                .collect(),
        })
        .collect()
}

/// `2026-12-03T10:00:00Z` → `2026-12-03 10:00:00` (UTC, as the API writes it).
pub(super) fn short_time(t: &str) -> String {
    t.trim_end_matches('Z')
        .replacen('T', " ", 1)
        .chars()
        .take(19)
        .collect()
}

/// The timeline from `start` to `end` (Unix seconds), the two times written under it: a
/// row per alert, its labels beside a track with a bar per span (positions in percent, so
/// it reads the same in a narrow column as across the page).
#[component]
pub(super) fn Timeline(
    rows: Vec<Row>,
    start: i64,
    end: i64,
    start_text: String,
    end_text: String,
) -> impl IntoView {
    let span = (end - start).max(1) as f64;
    let pct = move |t: i64| ((t - start) as f64 / span * 100.0).clamp(0.0, 100.0);
    let rows = rows
        .into_iter()
        .map(|row| {
            let bars = row
                .segments
                .into_iter()
                .map(|s| {
                    let (left, right) = (pct(s.from), pct(s.to));
                    let title = format!(
                        "{} for {}s{}",
                        s.state,
                        s.to - s.from,
                        if s.open { ", still" } else { "" }
                    );
                    view! {
                        <span class=format!("timeline-bar timeline-{}", s.state) data-state=s.state.clone()
                            style=format!("left:{left:.3}%;width:max(2px, {:.3}%)", right - left) title=title></span>
                    }
                })
                .collect_view();
            view! {
                <div class="timeline-row" data-labels=row.labels.clone()>
                    <span class="timeline-labels" title=row.labels.clone()>{row.labels.clone()}</span>
                    <div class="timeline-track">{bars}</div>
                </div>
            }
        })
        .collect_view();
    view! {
        <div class="timeline" role="img" aria-label="State timeline">
            {rows}
            <div class="timeline-row timeline-axis">
                <span></span>
                <div class="timeline-ends"><span>{start_text}</span><span>{end_text}</span></div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn transitions_make_spans_that_close_at_resolution_and_stay_open_until_now() {
        let t =
            |at: &str, to: &str, i: &str| json!({"at": at, "to": to, "labels": {"instance": i}});
        let rows = from_transitions(
            &[
                t("2026-12-03T10:00:00Z", "pending", "a"),
                t("2026-12-03T10:01:00Z", "firing", "a"),
                t("2026-12-03T10:01:00Z", "pending", "b"),
                t("2026-12-03T10:05:00Z", "resolved", "a"),
                t("2026-12-03T10:02:00Z", "inactive", "b"),
                t("2026-12-03T10:06:00Z", "pending", "a"),
            ],
            rfc3339_seconds("2026-12-03T10:10:00Z").unwrap(),
        );
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].labels, "{instance=\"a\"}");
        let spans: Vec<(&str, i64, bool)> = rows[0]
            .segments
            .iter()
            .map(|s| (s.state.as_str(), s.to - s.from, s.open))
            .collect();
        assert_eq!(
            spans,
            [
                ("pending", 60, false),
                ("firing", 240, false),
                ("pending", 240, true)
            ]
        );
        assert_eq!(rows[1].segments.len(), 1);
        assert_eq!(rows[1].segments[0].to - rows[1].segments[0].from, 60);
    }

    #[test]
    fn backtest_intervals_become_rows() {
        let rows = from_intervals(&[json!({"labels": {}, "intervals": [
            {"state": "pending", "from": "2026-12-03T10:00:00Z", "to": "2026-12-03T10:01:00Z", "open": false},
            {"state": "firing", "from": "2026-12-03T10:01:00Z", "to": "2026-12-03T10:03:00Z", "open": true}
        ]})]);
        assert_eq!(rows[0].labels, "{}");
        assert_eq!(rows[0].segments[1].state, "firing");
        assert!(rows[0].segments[1].open);
        assert_eq!(short_time("2026-12-03T10:01:00Z"), "2026-12-03 10:01:00");
    }
}
