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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PanelView {
    pub id: u32,
    pub title: String,
    pub grid: Grid,
    /// The first query with variables filled in (for "explore this query").
    pub query: Option<String>,
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
