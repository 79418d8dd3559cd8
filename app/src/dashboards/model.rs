//! A dashboard as the view page receives it: every panel already queried and drawn on the
//! server (charts as SVG, stats and gauges as values with colours, tables, safe HTML).

use serde::{Deserialize, Serialize};

use crate::components::chart_model::{ChartView, TableView};
pub use wire::dashboard::Grid;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct VariableView {
    pub name: String,
    pub label: String,
    pub kind: String,
    pub multi: bool,
    pub include_all: bool,
    pub options: Vec<String>,
    pub current: Vec<String>,
    /// Why the options could not be loaded, if they could not.
    pub error: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StatValue {
    pub name: String,
    pub value: String,
    pub raw: f64,
    pub color: String,
    /// A polyline `points` attribute over a 100 × 30 box (empty without history).
    pub sparkline: String,
}

/// Written as `{"kind": "chart", "chart": …}` (serde's internally tagged form, `kind` first).
/// Read by `body_de`, which relies on `kind` coming first: serde's own reader for internally
/// tagged enums buffers the whole body first, which doubled the decoding code of every type
/// inside it in the browser bundle.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PanelBody {
    Chart {
        chart: ChartView,
    },
    Stat {
        values: Vec<StatValue>,
    },
    Gauge {
        values: Vec<StatValue>,
        min: f64,
        max: f64,
    },
    Table {
        table: TableView,
    },
    Text {
        html: String,
    },
    /// A logs panel's lines, newest first.
    Logs {
        lines: Vec<crate::components::log_model::LogLine>,
    },
    /// A traces panel's search result, newest first, and the same search in Explore →
    /// Traces (`/explore/traces?…`).
    Traces {
        traces: Vec<crate::traces::model::TraceSummary>,
        explore: String,
    },
    Row {
        collapsed: bool,
    },
    Unsupported {
        original: String,
    },
    Error {
        message: String,
    },
}

impl<'de> Deserialize<'de> for PanelBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(body_de::BodyVisitor)
    }
}

mod body_de {
    use serde::de::value::MapAccessDeserializer;
    use serde::de::{Error, MapAccess, Visitor};
    use serde::Deserialize;

    use super::{PanelBody, StatValue};
    use crate::components::chart_model::{ChartView, TableView};
    use crate::components::log_model::LogLine;
    use crate::traces::model::TraceSummary;

    const KINDS: &[&str] = &[
        "chart",
        "stat",
        "gauge",
        "table",
        "text",
        "logs",
        "traces",
        "row",
        "unsupported",
        "error",
    ];

    #[derive(Deserialize)]
    struct Chart {
        chart: ChartView,
    }
    #[derive(Deserialize)]
    struct Values {
        values: Vec<StatValue>,
    }
    #[derive(Deserialize)]
    struct Gauge {
        values: Vec<StatValue>,
        min: f64,
        max: f64,
    }
    #[derive(Deserialize)]
    struct Table {
        table: TableView,
    }
    #[derive(Deserialize)]
    struct Text {
        html: String,
    }
    #[derive(Deserialize)]
    struct Logs {
        lines: Vec<LogLine>,
    }
    #[derive(Deserialize)]
    struct Traces {
        traces: Vec<TraceSummary>,
        explore: String,
    }
    #[derive(Deserialize)]
    struct Row {
        collapsed: bool,
    }
    #[derive(Deserialize)]
    struct Unsupported {
        original: String,
    }
    #[derive(Deserialize)]
    struct Failed {
        message: String,
    }

    pub(super) struct BodyVisitor;

    impl<'de> Visitor<'de> for BodyVisitor {
        type Value = PanelBody;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a panel body whose first key is `kind`")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<PanelBody, A::Error> {
            if map.next_key::<String>()?.as_deref() != Some("kind") {
                return Err(A::Error::missing_field("kind"));
            }
            let kind: String = map.next_value()?;
            // The variant's fields are the rest of the same map.
            let rest = MapAccessDeserializer::new(map);
            Ok(match kind.as_str() {
                "chart" => PanelBody::Chart {
                    chart: Chart::deserialize(rest)?.chart,
                },
                "stat" => PanelBody::Stat {
                    values: Values::deserialize(rest)?.values,
                },
                "gauge" => {
                    let g = Gauge::deserialize(rest)?;
                    PanelBody::Gauge {
                        values: g.values,
                        min: g.min,
                        max: g.max,
                    }
                }
                "table" => PanelBody::Table {
                    table: Table::deserialize(rest)?.table,
                },
                "text" => PanelBody::Text {
                    html: Text::deserialize(rest)?.html,
                },
                "logs" => PanelBody::Logs {
                    lines: Logs::deserialize(rest)?.lines,
                },
                "traces" => {
                    let t = Traces::deserialize(rest)?;
                    PanelBody::Traces {
                        traces: t.traces,
                        explore: t.explore,
                    }
                }
                "row" => PanelBody::Row {
                    collapsed: Row::deserialize(rest)?.collapsed,
                },
                "unsupported" => PanelBody::Unsupported {
                    original: Unsupported::deserialize(rest)?.original,
                },
                "error" => PanelBody::Error {
                    message: Failed::deserialize(rest)?.message,
                },
                other => return Err(A::Error::unknown_variant(other, KINDS)),
            })
        }
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelView {
    pub id: u32,
    pub title: String,
    pub grid: Grid,
    /// The first query with variables filled in (for "explore this query").
    pub query: Option<String>,
    /// `query` is a log query (a log-count target): it opens in Explore → Logs.
    #[serde(default)]
    pub query_is_logs: bool,
    pub datasource: Option<i64>,
    pub body: PanelBody,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub uid: String,
    pub title: String,
    pub folder: String,
    pub tags: Vec<String>,
    pub version: i64,
    pub provisioned_from: Option<String>,
    pub starred: bool,
    pub from: String,
    pub to: String,
    pub refresh: String,
    pub variables: Vec<VariableView>,
    pub panels: Vec<PanelView>,
}

/// What the view page asks for: the time range, variable values and the page width.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct DashboardRequest {
    pub uid: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub vars: Vec<(String, Vec<String>)>,
    pub width: u32,
    /// Render only this panel (full-screen view), at the page width.
    pub panel: Option<u32>,
    /// Rows folded or unfolded in this view (ids whose saved `collapsed` is flipped): a
    /// viewer's fold is in the URL, not in the stored dashboard.
    pub toggle: Vec<u32>,
}

impl DashboardRequest {
    pub fn to_query_string(&self) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        if let Some(f) = &self.from {
            pairs.push(("from", f.clone()));
        }
        if let Some(t) = &self.to {
            pairs.push(("to", t.clone()));
        }
        let keys: Vec<String> = self.vars.iter().map(|(k, _)| format!("var-{k}")).collect();
        for ((_, values), key) in self.vars.iter().zip(&keys) {
            for v in values {
                pairs.push((key.as_str(), v.clone()));
            }
        }
        pairs.push(("width", self.width.to_string()));
        if let Some(p) = self.panel {
            pairs.push(("panel", p.to_string()));
        }
        for id in &self.toggle {
            pairs.push(("toggle", id.to_string()));
        }
        crate::components::chart_model::encode_pairs(&pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_panel_body_reads_back_what_the_server_writes() {
        let bodies = vec![
            PanelBody::Chart {
                chart: ChartView::default(),
            },
            PanelBody::Stat {
                values: vec![StatValue {
                    name: "a".into(),
                    value: "1 ms".into(),
                    raw: 1.0,
                    color: "green".into(),
                    sparkline: String::new(),
                }],
            },
            PanelBody::Gauge {
                values: vec![],
                min: 0.0,
                max: 100.0,
            },
            PanelBody::Table {
                table: TableView::default(),
            },
            PanelBody::Text {
                html: "<p>x</p>".into(),
            },
            PanelBody::Logs { lines: vec![] },
            PanelBody::Traces {
                traces: vec![crate::traces::model::TraceSummary {
                    trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                    root_service: "checkout".into(),
                    root_operation: "pay".into(),
                    start_ns: 1,
                    duration_ms: 12.5,
                    span_count: 3,
                    error_count: 1,
                }],
                explore: "/explore/traces?service=checkout".into(),
            },
            PanelBody::Row { collapsed: true },
            PanelBody::Unsupported {
                original: "heatmap".into(),
            },
            PanelBody::Error {
                message: "boom".into(),
            },
        ];
        for body in bodies {
            let text = serde_json::to_string(&body).unwrap();
            assert!(text.starts_with(r#"{"kind":"#), "{text}");
            let back: PanelBody = serde_json::from_str(&text).unwrap();
            assert_eq!(back, body);
        }
        let late = serde_json::from_str::<PanelBody>(r#"{"collapsed":true,"kind":"row"}"#);
        assert!(late.unwrap_err().to_string().contains("kind"));
        let unknown = serde_json::from_str::<PanelBody>(r#"{"kind":"pie"}"#);
        assert!(unknown.unwrap_err().to_string().contains("pie"));
    }
}
