//! The native dashboard document: what the portal stores, serves as JSON, renders, and what
//! the editor edits. Only a document that passed [`Dashboard::check`] with the server's
//! [`Checks`] is ever stored.

mod field;
mod validate;

use serde::{Deserialize, Serialize};

pub use field::{FieldOverride, SeriesMatcher, Special, ValueMapping, MAX_MAPPINGS, MAX_OVERRIDES};
pub use validate::{Checks, ShapeOnly};

/// The `format` every native document carries, so import can tell it from Grafana JSON.
pub const FORMAT: &str = "keiko-dashboard/1";
pub const GRID_COLUMNS: u32 = 24;
const MAX_PANELS: usize = 200;
const MAX_TARGETS: usize = 26;
const MAX_VARIABLES: usize = 50;
const MAX_TAGS: usize = 50;
const MAX_THRESHOLDS: usize = 20;
/// Markdown of a text panel, and a dashboard's description.
const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Values a variable remembers as selected.
const MAX_CURRENT: usize = 100;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Dashboard {
    #[serde(default = "format")]
    pub format: String,
    #[serde(default)]
    pub uid: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    #[serde(default)]
    pub folder: String,
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub time: TimeRange,
    /// Auto-refresh (`""` off, or a duration such as `30s`).
    #[serde(default)]
    pub refresh: String,
    #[serde(default)]
    pub variables: Vec<Variable>,
    #[serde(default)]
    pub panels: Vec<Panel>,
}

fn format() -> String {
    FORMAT.into()
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TimeRange {
    pub from: String,
    pub to: String,
}

impl Default for TimeRange {
    fn default() -> Self {
        TimeRange {
            from: "now-6h".into(),
            to: "now".into(),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum VariableKind {
    /// Label values from a source: `label_values(metric, label)` or `label_values(label)`.
    Query,
    /// A fixed comma-separated list.
    Custom,
    /// Durations such as `1m,5m,1h`.
    Interval,
    /// Free text.
    Text,
}

impl VariableKind {
    pub const ALL: [VariableKind; 4] = [
        VariableKind::Query,
        VariableKind::Custom,
        VariableKind::Interval,
        VariableKind::Text,
    ];

    /// The name in the document (`query`, `custom`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            VariableKind::Query => "query",
            VariableKind::Custom => "custom",
            VariableKind::Interval => "interval",
            VariableKind::Text => "text",
        }
    }

    pub fn parse(name: &str) -> Option<VariableKind> {
        VariableKind::ALL.into_iter().find(|k| k.as_str() == name)
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variable {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: VariableKind,
    #[serde(default)]
    pub label: String,
    /// The query (query), the list (custom, interval) or the default (text).
    #[serde(default)]
    pub query: String,
    /// Data source id for query variables; `None` is the default source.
    #[serde(default)]
    pub datasource: Option<i64>,
    #[serde(default)]
    pub multi: bool,
    #[serde(default)]
    pub include_all: bool,
    /// The selected values (`["$__all"]` for All).
    #[serde(default)]
    pub current: Vec<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PanelKind {
    Timeseries,
    Stat,
    Gauge,
    Table,
    Text,
    Row,
    /// Log lines for a query in the log store's language (Grafana's `logs` panel).
    Logs,
    /// A trace search's result (Grafana's `traces` panel): one `trace_search` target.
    Traces,
    /// A Grafana panel the import could not convert: kept in place, shown as a notice.
    Unsupported,
}

impl PanelKind {
    /// The kinds a panel can be made in the editor (`Unsupported` only comes from import).
    pub const EDITABLE: [PanelKind; 8] = [
        PanelKind::Timeseries,
        PanelKind::Stat,
        PanelKind::Gauge,
        PanelKind::Table,
        PanelKind::Text,
        PanelKind::Row,
        PanelKind::Logs,
        PanelKind::Traces,
    ];

    /// The name in the document (`timeseries`, `stat`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            PanelKind::Timeseries => "timeseries",
            PanelKind::Stat => "stat",
            PanelKind::Gauge => "gauge",
            PanelKind::Table => "table",
            PanelKind::Text => "text",
            PanelKind::Row => "row",
            PanelKind::Logs => "logs",
            PanelKind::Traces => "traces",
            PanelKind::Unsupported => "unsupported",
        }
    }

    pub fn parse(name: &str) -> Option<PanelKind> {
        PanelKind::EDITABLE
            .into_iter()
            .chain([PanelKind::Unsupported])
            .find(|k| k.as_str() == name)
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Reducer {
    #[default]
    Last,
    Mean,
    Max,
    Min,
}

/// A panel's place on the 24-column grid, in cells.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

/// What a panel target's `expr` is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TargetKind {
    /// PromQL against the panel's metrics source.
    #[default]
    Promql,
    /// A log query (the log store's language); its matching lines are counted per interval,
    /// optionally one series per value of `split_by`, and drawn like any time series.
    LogCount,
    /// RED of a service (or one of its operations) from the span store's per-minute
    /// counts: `service`, `operation`, and which series (`measure`).
    Red,
    /// A trace search (a traces panel's one target): `service`, `operation`, attribute
    /// `filters`, duration bounds, errors only, `limit`.
    TraceSearch,
}

/// Which RED series a `red` target draws.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RedMeasure {
    /// Requests per second.
    #[default]
    Rate,
    /// Failed requests per second.
    ErrorRate,
    /// Failed requests per request (0 to 1).
    ErrorRatio,
    /// Duration percentiles, in milliseconds.
    P50,
    P95,
    P99,
}

impl RedMeasure {
    pub const ALL: [RedMeasure; 6] = [
        RedMeasure::Rate,
        RedMeasure::ErrorRate,
        RedMeasure::ErrorRatio,
        RedMeasure::P50,
        RedMeasure::P95,
        RedMeasure::P99,
    ];

    /// The name in the document (`rate`, `error_ratio`, `p95`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RedMeasure::Rate => "rate",
            RedMeasure::ErrorRate => "error_rate",
            RedMeasure::ErrorRatio => "error_ratio",
            RedMeasure::P50 => "p50",
            RedMeasure::P95 => "p95",
            RedMeasure::P99 => "p99",
        }
    }

    /// What the editor and the legend call it.
    pub fn label(self) -> &'static str {
        match self {
            RedMeasure::Rate => "Request rate",
            RedMeasure::ErrorRate => "Error rate",
            RedMeasure::ErrorRatio => "Error ratio",
            RedMeasure::P50 => "Duration p50",
            RedMeasure::P95 => "Duration p95",
            RedMeasure::P99 => "Duration p99",
        }
    }

    /// The chart unit of its values.
    pub fn unit(self) -> &'static str {
        match self {
            RedMeasure::Rate | RedMeasure::ErrorRate => "reqps",
            RedMeasure::ErrorRatio => "percentunit",
            RedMeasure::P50 | RedMeasure::P95 | RedMeasure::P99 => "ms",
        }
    }

    pub fn parse(name: &str) -> Option<RedMeasure> {
        RedMeasure::ALL.into_iter().find(|m| m.as_str() == name)
    }

    pub fn is_rate(&self) -> bool {
        *self == RedMeasure::Rate
    }
}

/// Traces a trace search shows unless its `limit` says otherwise, and at most.
pub const DEFAULT_TRACE_LIMIT: u32 = 20;
pub const MAX_TRACE_LIMIT: u32 = 500;

impl TargetKind {
    pub fn is_promql(&self) -> bool {
        *self == TargetKind::Promql
    }

    /// The name in the document (`promql`, `log_count`).
    pub fn as_str(self) -> &'static str {
        match self {
            TargetKind::Promql => "promql",
            TargetKind::LogCount => "log_count",
            TargetKind::Red => "red",
            TargetKind::TraceSearch => "trace_search",
        }
    }

    pub fn parse(name: &str) -> Option<TargetKind> {
        [
            TargetKind::Promql,
            TargetKind::LogCount,
            TargetKind::Red,
            TargetKind::TraceSearch,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }

    /// Whether its source is the traces family's (`datasource` names one of those).
    pub fn is_traces(&self) -> bool {
        matches!(self, TargetKind::Red | TargetKind::TraceSearch)
    }
}

/// Series one log-count target may draw (values of `split_by` beyond these are left out).
pub const MAX_LOG_COUNT_SERIES: usize = 20;

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// PromQL, or a log query; empty (and left out) for the trace kinds.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub expr: String,
    #[serde(default)]
    pub legend: String,
    /// PromQL (the default, left out of the document) or a log count.
    #[serde(default, skip_serializing_if = "TargetKind::is_promql")]
    pub kind: TargetKind,
    /// Log counts and the trace kinds: the logs (traces) source to ask (`None`: the
    /// family's default). PromQL targets use the panel's `datasource`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub datasource: Option<i64>,
    /// Log counts: the field whose values split the counts into series (`level`,
    /// `service`); empty for one series of all matching lines.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub split_by: String,
    /// Log counts: the width of a bucket (`1m`, a Prometheus duration); empty for the
    /// chart's own step.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub interval: String,
    /// `red` (required) and `trace_search`: the service.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub service: String,
    /// `red` and `trace_search`: one operation (span name) of the service; empty for all.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub operation: String,
    /// `red`: the series drawn.
    #[serde(default, skip_serializing_if = "RedMeasure::is_rate")]
    pub measure: RedMeasure,
    /// `trace_search`: attribute filters as Explore → Traces writes them (`key=v`,
    /// `key!=v`, `key>n`, `key<n`, bare `key`), separated by spaces.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub filters: String,
    /// `trace_search`: duration bounds of a matching span (`250ms`, `1.5s`), empty for none.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub min_duration: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub max_duration: String,
    /// `trace_search`: only traces with a failed matching span.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub errors_only: bool,
    /// `trace_search`: at most this many traces (0: [`DEFAULT_TRACE_LIMIT`]).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub limit: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A field name a log-count target may split by: 1 to 100 of letters, digits, `_ . -`.
pub fn is_field_name(s: &str) -> bool {
    (1..=100).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// `None` is the base step (everything below the first value).
    pub value: Option<f64>,
    pub color: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Panel {
    pub id: u32,
    #[serde(rename = "type")]
    pub kind: PanelKind,
    #[serde(default)]
    pub title: String,
    pub grid: Grid,
    #[serde(default)]
    pub datasource: Option<i64>,
    #[serde(default)]
    pub targets: Vec<Target>,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub min: Option<f64>,
    #[serde(default)]
    pub max: Option<f64>,
    #[serde(default)]
    pub thresholds: Vec<Threshold>,
    #[serde(default)]
    pub reducer: Reducer,
    /// Markdown of a text panel; the original type of an unsupported one.
    #[serde(default)]
    pub text: String,
    /// Rows: whether the panels below it (until the next row) are folded away.
    #[serde(default)]
    pub collapsed: bool,
    /// Values shown as text (and colour): `0` as "Down", a range, no data.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mappings: Vec<ValueMapping>,
    /// Per series (by name or regular expression): display name, unit, colour.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<FieldOverride>,
}

/// `[A-Za-z0-9_-]{1,40}`, as Grafana uids are.
pub fn is_uid(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Colour names the portal draws, Grafana's named colours included.
pub fn color_hex(name: &str) -> Option<&'static str> {
    Some(match name.trim().to_ascii_lowercase().as_str() {
        "green" | "dark-green" | "semi-dark-green" => "#56A64B",
        "red" | "dark-red" | "semi-dark-red" => "#E02F44",
        "yellow" | "dark-yellow" => "#F2CC0C",
        "orange" | "dark-orange" => "#FF9830",
        "blue" | "dark-blue" => "#3274D9",
        "purple" | "dark-purple" => "#A352CC",
        "text" | "transparent" => "currentColor",
        _ => return None,
    })
}

pub fn is_color(c: &str) -> bool {
    color_hex(c).is_some()
        || (c.len() == 7 && c.starts_with('#') && c[1..].bytes().all(|b| b.is_ascii_hexdigit()))
        || (c.starts_with("rgb") && c.len() < 40 && !c.contains(['<', '>', '"', ';']))
}

/// The CSS colour for a threshold colour.
pub fn css_color(c: &str) -> String {
    color_hex(c).map(str::to_owned).unwrap_or_else(|| {
        if is_color(c) {
            c.to_owned()
        } else {
            "currentColor".into()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_the_documents_own() {
        for k in PanelKind::EDITABLE
            .into_iter()
            .chain([PanelKind::Unsupported])
        {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(PanelKind::parse(k.as_str()), Some(k));
        }
        for k in VariableKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.as_str());
            assert_eq!(VariableKind::parse(k.as_str()), Some(k));
        }
    }
}
