//! What a chart is on the wire: the request the Explore page and dashboard panels send, and
//! the server-rendered SVG with what the browser needs to make it interactive (plot area,
//! the drawn points for tooltips, the inspector's figures).

use serde::{Deserialize, Serialize};

use crate::components::units::Unit;

/// Most series one chart draws; more are cut with a notice saying how many were left out.
pub const MAX_SERIES: usize = 50;

/// A range query to chart. Times are Unix seconds, RFC 3339, or relative (`now`, `now-6h`).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartRequest {
    pub query: String,
    pub from: String,
    pub to: String,
    /// Seconds; empty means "from the chart's pixel width".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    pub width: u32,
    pub height: u32,
    /// A unit id (`s`, `bytes`, `percent` …); empty guesses from the metric name.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub unit: String,
    /// Legend format such as `{{method}} {{endpoint}}`; empty uses the series' labels.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub legend: String,
    /// Draw only this series (index into the answer), as a click on a legend entry asks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub focus: Option<usize>,
    /// Draw every point instead of M4's (for comparison; the picture is the same).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub raw: bool,
}

impl ChartRequest {
    /// The query string for `GET /api/v1/datasources/{id}/chart`.
    pub fn to_query_string(&self) -> String {
        let mut pairs = vec![
            ("query", self.query.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
            ("width", self.width.to_string()),
            ("height", self.height.to_string()),
        ];
        if let Some(step) = self.step {
            pairs.push(("step", step.to_string()));
        }
        if !self.unit.is_empty() {
            pairs.push(("unit", self.unit.clone()));
        }
        if !self.legend.is_empty() {
            pairs.push(("legend", self.legend.clone()));
        }
        if let Some(focus) = self.focus {
            pairs.push(("focus", focus.to_string()));
        }
        if self.raw {
            pairs.push(("raw", "true".into()));
        }
        encode_pairs(&pairs)
    }
}

/// `key=value&…` with both sides percent-encoded.
pub fn encode_pairs(pairs: &[(&str, String)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| {
            format!(
                "{}={}",
                crate::components::form::encode(k),
                crate::components::form::encode(v)
            )
        })
        .collect::<Vec<_>>()
        .join("&")
}

/// Where the data is drawn inside the SVG, and the value ranges at its edges.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct PlotArea {
    pub svg_width: u32,
    pub svg_height: u32,
    pub left: i32,
    pub top: i32,
    pub right: i32,
    pub bottom: i32,
    /// Unix seconds at the left and right edges.
    pub x_min: f64,
    pub x_max: f64,
    pub y_min: f64,
    pub y_max: f64,
    pub unit: Unit,
}

impl PlotArea {
    /// Where `(t, v)` is drawn, in percent of the SVG's width and height; a value outside
    /// the plotted range sits on the edge it passed, a time outside it is not drawn.
    pub fn percent_at(&self, t: f64, v: f64) -> Option<(f64, f64)> {
        if !(t >= self.x_min && t <= self.x_max && v.is_finite()) || self.x_max <= self.x_min {
            return None;
        }
        let (w, h) = (
            f64::from(self.svg_width.max(1)),
            f64::from(self.svg_height.max(1)),
        );
        let x = f64::from(self.left)
            + (t - self.x_min) / (self.x_max - self.x_min) * f64::from(self.right - self.left);
        let ratio = if self.y_max > self.y_min {
            ((v - self.y_min) / (self.y_max - self.y_min)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let y = f64::from(self.bottom) - ratio * f64::from(self.bottom - self.top);
        Some((x / w * 100.0, y / h * 100.0))
    }

    /// The time at horizontal pixel `px` of the SVG (clamped to the plot area).
    pub fn time_at(&self, px: f64) -> f64 {
        let width = f64::from((self.right - self.left).max(1));
        let ratio = ((px - f64::from(self.left)) / width).clamp(0.0, 1.0);
        self.x_min + ratio * (self.x_max - self.x_min)
    }
}

/// One drawn series: its legend name, labels, colour and the points drawn (after M4).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SeriesView {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub color: String,
    pub points: Vec<(f64, f64)>,
}

/// What the query inspector shows.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Inspector {
    pub query: String,
    pub start: f64,
    pub end: f64,
    pub step: f64,
    pub elapsed_ms: f64,
    pub series: usize,
    pub points_returned: usize,
    pub points_drawn: usize,
    pub downsampling: String,
}

/// A rendered chart.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartView {
    pub svg: String,
    pub plot: PlotArea,
    pub series: Vec<SeriesView>,
    /// Series in the answer; more than drawn when the cap cut some.
    pub total_series: usize,
    pub notice: Option<String>,
    pub inspector: Inspector,
    /// Exemplars with a trace id in the chart's range (at most [`MAX_EXEMPLARS`]), drawn
    /// as points that open their trace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exemplars: Vec<ExemplarPoint>,
}

/// Most exemplars one chart draws (evenly picked over time when there are more).
pub const MAX_EXEMPLARS: usize = 100;

/// One exemplar: when, its value, the trace it points to and the series it came with.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ExemplarPoint {
    pub t: f64,
    pub value: f64,
    pub trace_id: String,
    /// The series' labels as PromQL writes them (`name{a="b"}`).
    pub series: String,
}

/// One row of an instant query's table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableRow {
    pub series: String,
    pub value: String,
    pub raw: f64,
    /// The series' labels (`__name__` included), for a column per label.
    #[serde(default)]
    pub labels: Vec<(String, String)>,
}

/// An instant query's answer as a table.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TableView {
    pub rows: Vec<TableRow>,
    pub inspector: Inspector,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_strings_are_encoded() {
        let r = ChartRequest {
            query: "rate(x{a=\"b c\"}[5m])".into(),
            from: "now-1h".into(),
            to: "now".into(),
            width: 800,
            height: 300,
            ..Default::default()
        };
        assert_eq!(
            r.to_query_string(),
            "query=rate%28x%7Ba%3D%22b%20c%22%7D%5B5m%5D%29&from=now-1h&to=now&width=800&height=300"
        );
    }

    #[test]
    fn exemplars_are_placed_in_the_plot_area() {
        let p = PlotArea {
            svg_width: 400,
            svg_height: 200,
            left: 100,
            right: 300,
            top: 0,
            bottom: 100,
            x_min: 1000.0,
            x_max: 2000.0,
            y_min: 0.0,
            y_max: 10.0,
            ..Default::default()
        };
        assert_eq!(p.percent_at(1500.0, 5.0), Some((50.0, 25.0)));
        assert_eq!(p.percent_at(1000.0, 0.0), Some((25.0, 50.0)));
        // Above the axis: on the top edge; outside the time range: not drawn.
        assert_eq!(p.percent_at(2000.0, 99.0), Some((75.0, 0.0)));
        assert_eq!(p.percent_at(2001.0, 1.0), None);
        assert_eq!(p.percent_at(1500.0, f64::NAN), None);
    }

    #[test]
    fn pixels_map_to_times() {
        let p = PlotArea {
            left: 100,
            right: 300,
            x_min: 1000.0,
            x_max: 2000.0,
            ..Default::default()
        };
        assert_eq!(p.time_at(200.0), 1500.0);
        assert_eq!(p.time_at(0.0), 1000.0);
        assert_eq!(p.time_at(900.0), 2000.0);
    }
}

/// How the server renders charts during server-side rendering: the page asks this (put in
/// the Leptos context by the server) instead of calling its own HTTP API.
#[cfg(feature = "ssr")]
pub mod backend {
    use std::future::Future;
    use std::pin::Pin;
    use std::sync::Arc;

    use super::{ChartRequest, ChartView, TableView};
    use crate::api_client::ApiFailure;
    use crate::dto::{SessionUser, SourceOption};

    pub type Answer<T> = Pin<Box<dyn Future<Output = Result<T, ApiFailure>> + Send>>;

    pub trait ChartBackend: Send + Sync {
        fn sources(&self, user: SessionUser) -> Answer<Vec<SourceOption>>;
        fn chart(&self, user: SessionUser, source: i64, req: ChartRequest) -> Answer<ChartView>;
        fn table(
            &self,
            user: SessionUser,
            source: i64,
            query: String,
            time: String,
        ) -> Answer<TableView>;
        fn dashboard(
            &self,
            user: SessionUser,
            req: crate::dashboards::model::DashboardRequest,
        ) -> Answer<crate::dashboards::model::DashboardView>;
        /// What the alerts page shows, rendered on the server: `{"rules": data of
        /// GET /api/v1/rules?type=alert, "alerts": data of GET /api/v1/alerts}` (the second
        /// holds fingerprints and acknowledgements).
        fn alerts_page(&self, user: SessionUser) -> Answer<serde_json::Value>;
        /// A page of log lines with the histogram and fields of the search (the logs
        /// family's default source).
        fn logs(
            &self,
            user: SessionUser,
            req: crate::components::log_model::LogsRequest,
        ) -> Answer<crate::components::log_model::LogsView>;
    }

    #[derive(Clone)]
    pub struct Backend(pub Arc<dyn ChartBackend>);
}
