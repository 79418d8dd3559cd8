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

/// Written as `{"kind": "chart", "chart": …}` (serde's internally tagged form), read back by
/// hand (`decode::body`).
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum PanelBody {
    Chart {
        chart: ChartView,
    },
    Stat {
        values: Deferred<Vec<StatValue>>,
    },
    Gauge {
        values: Deferred<Vec<StatValue>>,
        min: f64,
        max: f64,
    },
    Table {
        table: Deferred<TableView>,
    },
    Text {
        html: String,
    },
    /// A logs panel's lines, newest first.
    Logs {
        lines: Deferred<Vec<crate::components::log_model::LogLine>>,
    },
    /// A traces panel's search result, newest first, and the same search in Explore →
    /// Traces (`/explore/traces?…`).
    Traces {
        traces: Deferred<Vec<crate::traces::model::TraceSummary>>,
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

/// The data of a panel drawn by a module of its own (every kind but charts, text and rows):
/// on the server the value itself, written as it is; read back (in the browser) as a JSON
/// value, decoded by [`Deferred::take`] in the module that draws the panel, so the page's
/// module carries neither the decoder nor the view of a kind the dashboard does not show.
#[derive(Clone, Debug)]
pub enum Deferred<T> {
    Ready(T),
    Json(serde_json::Value),
}

impl<T: serde::de::DeserializeOwned> Deferred<T> {
    /// The value, decoded if it was read back as JSON.
    pub fn take(self) -> Result<T, String> {
        match self {
            Deferred::Ready(v) => Ok(v),
            Deferred::Json(json) => serde_json::from_value(json).map_err(|e| e.to_string()),
        }
    }
}

impl<T> From<T> for Deferred<T> {
    fn from(v: T) -> Self {
        Deferred::Ready(v)
    }
}

impl<T: Serialize> Serialize for Deferred<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Deferred::Ready(v) => v.serialize(s),
            Deferred::Json(json) => json.serialize(s),
        }
    }
}

impl<'de, T> Deserialize<'de> for Deferred<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(Deferred::Json)
    }
}

/// Equal when they write the same JSON (a value read back equals the one written).
impl<T: Serialize + PartialEq> PartialEq for Deferred<T> {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Deferred::Ready(a), Deferred::Ready(b)) => a == b,
            (Deferred::Json(a), Deferred::Json(b)) => a == b,
            (Deferred::Ready(v), Deferred::Json(json))
            | (Deferred::Json(json), Deferred::Ready(v)) => {
                serde_json::to_value(v).is_ok_and(|v| &v == json)
            }
        }
    }
}

/// Read by hand (`decode`), as the whole view is.
impl<'de> Deserialize<'de> for PanelBody {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        super::decode::body(v).map_err(serde::de::Error::custom)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize)]
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

/// Read back by hand (`decode`): the browser carries no derived decoder for the view.
#[derive(Clone, Debug, PartialEq, Serialize)]
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

impl<'de> Deserialize<'de> for DashboardView {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        super::decode::dashboard(v).map_err(serde::de::Error::custom)
    }
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
                values: Deferred::from(vec![StatValue {
                    name: "a".into(),
                    value: "1 ms".into(),
                    raw: 1.0,
                    color: "green".into(),
                    sparkline: String::new(),
                }]),
            },
            PanelBody::Gauge {
                values: vec![].into(),
                min: 0.0,
                max: 100.0,
            },
            PanelBody::Table {
                table: TableView::default().into(),
            },
            PanelBody::Text {
                html: "<p>x</p>".into(),
            },
            PanelBody::Logs {
                lines: vec![].into(),
            },
            PanelBody::Traces {
                traces: vec![crate::traces::model::TraceSummary {
                    trace_id: "0af7651916cd43dd8448eb211c80319c".into(),
                    root_service: "checkout".into(),
                    root_operation: "pay".into(),
                    start_ns: 1,
                    duration_ms: 12.5,
                    span_count: 3,
                    error_count: 1,
                }]
                .into(),
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
        assert_eq!(late.unwrap(), PanelBody::Row { collapsed: true });
        let unknown = serde_json::from_str::<PanelBody>(r#"{"kind":"pie"}"#);
        assert!(unknown.unwrap_err().to_string().contains("pie"));
    }

    #[test]
    fn the_whole_view_reads_back_what_the_server_writes() {
        use crate::components::chart_model::{ExemplarPoint, Inspector, PlotArea, SeriesView};
        use crate::components::units::Unit;
        let chart = ChartView {
            svg: "<svg></svg>".into(),
            plot: PlotArea {
                svg_width: 800,
                svg_height: 300,
                left: 40,
                top: -2,
                right: 790,
                bottom: 280,
                x_min: 1000.0,
                x_max: 2000.5,
                y_min: -1.5,
                y_max: 10.0,
                unit: Unit::BytesPerSecond,
            },
            series: vec![SeriesView {
                name: "GET /a".into(),
                labels: vec![("method".into(), "GET".into())],
                color: "#123456".into(),
                points: vec![(1000.0, 1.0), (1015.0, 2.5)],
            }],
            total_series: 3,
            notice: Some("2 series left out".into()),
            inspector: Inspector {
                query: "rate(x[5m])".into(),
                start: 1000.0,
                end: 2000.0,
                step: 15.0,
                elapsed_ms: 1.25,
                series: 3,
                points_returned: 200,
                points_drawn: 100,
                downsampling: "M4".into(),
            },
            exemplars: vec![ExemplarPoint {
                t: 1001.0,
                value: 2.0,
                trace_id: "abc".into(),
                series: "x{a=\"b\"}".into(),
            }],
        };
        let view = DashboardView {
            uid: "ops".into(),
            title: "Ops".into(),
            folder: "Team".into(),
            tags: vec!["a".into(), "b".into()],
            version: 7,
            provisioned_from: Some("ops.json".into()),
            starred: true,
            from: "now-6h".into(),
            to: "now".into(),
            refresh: "30s".into(),
            variables: vec![VariableView {
                name: "endpoint".into(),
                label: "Endpoint".into(),
                kind: "query".into(),
                multi: true,
                include_all: true,
                options: vec!["/a".into(), "/b".into()],
                current: vec!["/a".into()],
                error: Some("boom".into()),
            }],
            panels: vec![
                PanelView {
                    id: 4,
                    title: "Requests".into(),
                    grid: Grid {
                        x: 12,
                        y: 3,
                        w: 12,
                        h: 8,
                    },
                    query: Some("rate(x[5m])".into()),
                    query_is_logs: true,
                    datasource: Some(2),
                    body: PanelBody::Chart { chart },
                },
                PanelView {
                    id: 5,
                    title: "Text".into(),
                    grid: Grid::default(),
                    query: None,
                    query_is_logs: false,
                    datasource: None,
                    body: PanelBody::Text {
                        html: "<p>x</p>".into(),
                    },
                },
            ],
        };
        let text = serde_json::to_string(&view).unwrap();
        let back: DashboardView = serde_json::from_str(&text).unwrap();
        assert_eq!(back, view);
        let not_an_object = serde_json::from_str::<DashboardView>("[1]");
        assert!(not_an_object.unwrap_err().to_string().contains("object"));
    }
}
