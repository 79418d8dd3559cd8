//! The native dashboard document: what the portal stores, serves as JSON and renders.
//! Only a [`Dashboard`] that passed [`Dashboard::validate`] is ever stored.

use serde::{Deserialize, Serialize};

use super::field::{self, FieldOverride, ValueMapping};
use crate::error::Error;

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
    /// A Grafana panel the import could not convert: kept in place, shown as a notice.
    Unsupported,
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

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grid {
    pub x: u32,
    pub y: u32,
    pub w: u32,
    pub h: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Target {
    pub expr: String,
    #[serde(default)]
    pub legend: String,
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

fn bad(field: String, message: impl Into<String>) -> Error {
    Error::invalid(field, message)
}

/// `[A-Za-z0-9_-]{1,40}`, as Grafana uids are.
pub fn is_uid(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

impl Dashboard {
    /// Checks every field; errors name the field as a JSON path (`panels[2].grid.w`).
    pub fn validate(&self) -> Result<(), Error> {
        if self.format != FORMAT {
            return Err(bad("format".into(), format!("must be `{FORMAT}`")));
        }
        if !self.uid.is_empty() && !is_uid(&self.uid) {
            return Err(bad("uid".into(), "use 1 to 40 letters, digits, `-` or `_`"));
        }
        let title = self.title.trim();
        if title.is_empty() || title.chars().count() > 200 {
            return Err(bad("title".into(), "must be 1 to 200 characters"));
        }
        if self.description.len() > MAX_TEXT_BYTES {
            return Err(bad(
                "description".into(),
                format!("must be at most {MAX_TEXT_BYTES} bytes"),
            ));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(bad("tags".into(), format!("at most {MAX_TAGS} tags")));
        }
        if self.variables.len() > MAX_VARIABLES {
            return Err(bad(
                "variables".into(),
                format!("at most {MAX_VARIABLES} variables"),
            ));
        }
        if self.folder.chars().count() > 100 {
            return Err(bad("folder".into(), "must be at most 100 characters"));
        }
        for (i, tag) in self.tags.iter().enumerate() {
            if tag.trim().is_empty() || tag.chars().count() > 50 {
                return Err(bad(format!("tags[{i}]"), "must be 1 to 50 characters"));
            }
        }
        for (field, t) in [("time.from", &self.time.from), ("time.to", &self.time.to)] {
            crate::charts::time::resolve(t, 0.0).map_err(|m| bad(field.into(), m))?;
        }
        if !self.refresh.is_empty() {
            crate::promql_syntax::duration::PromDuration::parse(&self.refresh)
                .map_err(|m| bad("refresh".into(), m))?;
        }
        let mut names = std::collections::HashSet::new();
        for (i, v) in self.variables.iter().enumerate() {
            if !is_var_name(&v.name) {
                return Err(bad(
                    format!("variables[{i}].name"),
                    "must start with a letter and hold letters, digits or `_`",
                ));
            }
            if !names.insert(v.name.as_str()) {
                return Err(bad(
                    format!("variables[{i}].name"),
                    format!("`{}` is defined twice", v.name),
                ));
            }
            if v.label.chars().count() > 200 {
                return Err(bad(
                    format!("variables[{i}].label"),
                    "must be at most 200 characters",
                ));
            }
            if v.current.len() > MAX_CURRENT || v.current.iter().any(|c| c.len() > 1024) {
                return Err(bad(
                    format!("variables[{i}].current"),
                    format!("at most {MAX_CURRENT} values of at most 1024 bytes"),
                ));
            }
            // The query is PromQL inside `label_values(…)`, or a list: the same limits.
            crate::promql_syntax::check_limits(&v.query)
                .map_err(|e| bad(format!("variables[{i}].query"), e.message))?;
            if v.kind == VariableKind::Query && v.query.trim().is_empty() {
                return Err(bad(
                    format!("variables[{i}].query"),
                    "a query variable needs `label_values(…)`",
                ));
            }
        }
        if self.panels.len() > MAX_PANELS {
            return Err(bad("panels".into(), format!("at most {MAX_PANELS} panels")));
        }
        let mut ids = std::collections::HashSet::new();
        for (i, p) in self.panels.iter().enumerate() {
            let at = |f: &str| format!("panels[{i}].{f}");
            if !ids.insert(p.id) {
                return Err(bad(at("id"), format!("panel id {} is used twice", p.id)));
            }
            let g = &p.grid;
            if g.w == 0 || g.w > GRID_COLUMNS {
                return Err(bad(at("grid.w"), "must be 1 to 24 columns"));
            }
            if g.x + g.w > GRID_COLUMNS {
                return Err(bad(at("grid.x"), "x + w must be at most 24"));
            }
            if g.h == 0 || g.h > 100 {
                return Err(bad(at("grid.h"), "must be 1 to 100 rows"));
            }
            if p.title.chars().count() > 200 {
                return Err(bad(at("title"), "must be at most 200 characters"));
            }
            if Some(p.unit.as_str()).filter(|u| !u.is_empty()).is_some()
                && app::components::units::Unit::parse(&p.unit).is_none()
            {
                return Err(bad(at("unit"), format!("`{}` is not a unit", p.unit)));
            }
            let needs_query = matches!(
                p.kind,
                PanelKind::Timeseries | PanelKind::Stat | PanelKind::Gauge | PanelKind::Table
            );
            if p.targets.len() > MAX_TARGETS {
                return Err(bad(
                    at("targets"),
                    format!("at most {MAX_TARGETS} queries per panel"),
                ));
            }
            for (k, t) in p.targets.iter().enumerate() {
                if t.expr.trim().is_empty() {
                    return Err(bad(at(&format!("targets[{k}].expr")), "must not be empty"));
                }
                // Variables (`$job`) may keep an expression from parsing until it is
                // rendered, but its size and nesting are checked now: a stored expression
                // must never be one that the parser cannot survive.
                crate::promql_syntax::check_limits(&t.expr)
                    .map_err(|e| bad(at(&format!("targets[{k}].expr")), e.message))?;
                if t.legend.chars().count() > 500 {
                    return Err(bad(
                        at(&format!("targets[{k}].legend")),
                        "must be at most 500 characters",
                    ));
                }
            }
            if p.text.len() > MAX_TEXT_BYTES {
                return Err(bad(
                    at("text"),
                    format!("must be at most {MAX_TEXT_BYTES} bytes"),
                ));
            }
            if p.thresholds.len() > MAX_THRESHOLDS {
                return Err(bad(
                    at("thresholds"),
                    format!("at most {MAX_THRESHOLDS} thresholds"),
                ));
            }
            if needs_query && p.targets.is_empty() {
                return Err(bad(at("targets"), "this panel type needs a query"));
            }
            if let (Some(lo), Some(hi)) = (p.min, p.max) {
                if lo >= hi {
                    return Err(bad(at("max"), "must be greater than min"));
                }
            }
            for (k, t) in p.thresholds.iter().enumerate() {
                if !is_color(&t.color) {
                    return Err(bad(
                        at(&format!("thresholds[{k}].color")),
                        "use a colour name (green, red …) or #rrggbb",
                    ));
                }
            }
            field::validate(&at, &p.mappings, &p.overrides)?;
        }
        Ok(())
    }
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
    fn a_panel_expression_too_deep_for_the_parser_is_refused_on_save() {
        let deep = format!("{}up{}", "(".repeat(5_000), ")".repeat(5_000));
        let d = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": deep}]}]),
        );
        let err = d.validate().unwrap_err();
        assert_eq!(err.field(), Some("panels[0].targets[0].expr"));
        assert!(err.message().contains("nest deeper"), "{}", err.message());
    }
    use serde_json::json;

    fn doc(panels: serde_json::Value) -> Dashboard {
        serde_json::from_value(json!({"title": "T", "panels": panels})).unwrap()
    }

    #[test]
    fn validation_names_the_field() {
        let ok = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": "up"}]}]),
        );
        assert!(ok.validate().is_ok());
        let wide =
            doc(json!([{"id": 1, "type": "text", "grid": {"x": 20, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(
            wide.validate().unwrap_err().field(),
            Some("panels[0].grid.x")
        );
        let empty =
            doc(json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(
            empty.validate().unwrap_err().field(),
            Some("panels[0].targets")
        );
        let color = doc(
            json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}, "targets": [{"expr": "up"}], "thresholds": [{"value": null, "color": "url(x)"}]}]),
        );
        assert_eq!(
            color.validate().unwrap_err().field(),
            Some("panels[0].thresholds[0].color")
        );
        let mut t = doc(json!([]));
        t.time.from = "yesterday".into();
        assert_eq!(t.validate().unwrap_err().field(), Some("time.from"));
    }
}
