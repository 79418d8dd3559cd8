//! [`Dashboard::check`]: every field of the document, with the field's JSON path in the
//! error. The server checks with everything it knows ([`Checks`]); the editor with what the
//! browser has, so it can name a problem before the save.

use super::{
    field, is_color, is_field_name, is_uid, Dashboard, PanelKind, RedMeasure, Target, TargetKind,
    VariableKind, FORMAT, GRID_COLUMNS, MAX_CURRENT, MAX_PANELS, MAX_TAGS, MAX_TARGETS,
    MAX_TEXT_BYTES, MAX_THRESHOLDS, MAX_TRACE_LIMIT, MAX_VARIABLES,
};
use crate::FieldError;

/// What a document check needs beyond the document. Every method answers "fine" by default:
/// [`ShapeOnly`] checks the document alone.
pub trait Checks {
    /// A time of the range: `now-6h`, Unix seconds or milliseconds, RFC 3339.
    fn time(&self, _t: &str) -> Result<(), String> {
        Ok(())
    }
    /// A Prometheus duration (`30s`, `1h30m`).
    fn duration(&self, _d: &str) -> Result<(), String> {
        Ok(())
    }
    /// PromQL (or a variable's list) within the parser's size and nesting limits.
    fn promql_limits(&self, _expr: &str) -> Result<(), String> {
        Ok(())
    }
    /// A log query (the log store's language) within its parser's limits; parsed in full
    /// when it holds no `$variable`.
    fn log_query(&self, _query: &str) -> Result<(), String> {
        Ok(())
    }
    /// Attribute filters of a trace search (`key=v key>n …`); the durations bound to
    /// milliseconds (`None` when empty).
    fn trace_filters(&self, _filters: &str) -> Result<(), String> {
        Ok(())
    }
    fn trace_duration(&self, _d: &str) -> Result<Option<f64>, String> {
        Ok(None)
    }
    /// A unit id the charts know (`bytes`, `percent`, …).
    fn unit(&self, _unit: &str) -> bool {
        true
    }
    /// A regular expression an override matches series with.
    fn regex(&self, _pattern: &str) -> Result<(), String> {
        Ok(())
    }
}

/// The document alone: shape, sizes, names, grid, colours, mappings.
pub struct ShapeOnly;

impl Checks for ShapeOnly {}

fn bad(field: String, message: impl Into<String>) -> FieldError {
    FieldError::new(field, message)
}

/// A target holds only its own kind's fields (a field of another kind is named), and
/// names of at most 200 characters.
fn check_target_fields(t: &Target, tf: &dyn Fn(&str) -> String) -> Result<(), FieldError> {
    use TargetKind::{LogCount, Red, TraceSearch};
    let fields: [(&str, bool, &[TargetKind]); 12] = [
        ("expr", !t.expr.is_empty(), &[TargetKind::Promql, LogCount]),
        (
            "datasource",
            t.datasource.is_some(),
            &[LogCount, Red, TraceSearch],
        ),
        ("split_by", !t.split_by.is_empty(), &[LogCount]),
        ("interval", !t.interval.is_empty(), &[LogCount]),
        ("service", !t.service.is_empty(), &[Red, TraceSearch]),
        ("operation", !t.operation.is_empty(), &[Red, TraceSearch]),
        ("measure", t.measure != RedMeasure::default(), &[Red]),
        ("filters", !t.filters.is_empty(), &[TraceSearch]),
        ("min_duration", !t.min_duration.is_empty(), &[TraceSearch]),
        ("max_duration", !t.max_duration.is_empty(), &[TraceSearch]),
        ("errors_only", t.errors_only, &[TraceSearch]),
        ("limit", t.limit != 0, &[TraceSearch]),
    ];
    for (f, set, kinds) in fields {
        if set && !kinds.contains(&t.kind) {
            let names: Vec<String> = kinds.iter().map(|k| format!("`{}`", k.as_str())).collect();
            return Err(bad(
                tf(f),
                format!("only a {} target has it", names.join(" or ")),
            ));
        }
    }
    for (f, v) in [("service", &t.service), ("operation", &t.operation)] {
        if v.chars().count() > 200 || v.contains(['\n', '\r']) {
            return Err(bad(tf(f), "must be one line of at most 200 characters"));
        }
    }
    if t.filters.len() > 4096 {
        return Err(bad(tf("filters"), "must be at most 4096 bytes"));
    }
    Ok(())
}

fn is_var_name(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !s.starts_with("__")
}

impl Dashboard {
    /// Checks every field; errors name the field as a JSON path (`panels[2].grid.w`). What
    /// needs more than the document (PromQL, times, durations, units, regular expressions)
    /// `checks` says.
    pub fn check(&self, checks: &dyn Checks) -> Result<(), FieldError> {
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
            checks.time(t).map_err(|m| bad(field.into(), m))?;
        }
        if !self.refresh.is_empty() {
            checks
                .duration(&self.refresh)
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
            checks
                .promql_limits(&v.query)
                .map_err(|m| bad(format!("variables[{i}].query"), m))?;
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
            if Some(p.unit.as_str()).filter(|u| !u.is_empty()).is_some() && !checks.unit(&p.unit) {
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
                let tf = |f: &str| at(&format!("targets[{k}].{f}"));
                check_target_fields(t, &tf)?;
                match t.kind {
                    // Variables (`$job`) may keep an expression from parsing until it is
                    // rendered, but its size and nesting are checked now: a stored
                    // expression must never be one that the parser cannot survive.
                    TargetKind::Promql => {
                        if t.expr.trim().is_empty() {
                            return Err(bad(tf("expr"), "must not be empty"));
                        }
                        checks
                            .promql_limits(&t.expr)
                            .map_err(|m| bad(tf("expr"), m))?;
                    }
                    TargetKind::LogCount => {
                        if t.expr.trim().is_empty() {
                            return Err(bad(tf("expr"), "must not be empty"));
                        }
                        if !matches!(
                            p.kind,
                            PanelKind::Timeseries | PanelKind::Stat | PanelKind::Gauge
                        ) {
                            return Err(bad(
                                tf("kind"),
                                "log counts are drawn by timeseries, stat and gauge panels only",
                            ));
                        }
                        checks.log_query(&t.expr).map_err(|m| bad(tf("expr"), m))?;
                        if !t.split_by.is_empty() && !is_field_name(&t.split_by) {
                            return Err(bad(
                                tf("split_by"),
                                "must be a field name: 1 to 100 letters, digits, `_`, `.` or `-`",
                            ));
                        }
                        if !t.interval.is_empty() {
                            checks
                                .duration(&t.interval)
                                .map_err(|m| bad(tf("interval"), m))?;
                        }
                    }
                    TargetKind::Red => {
                        if !matches!(
                            p.kind,
                            PanelKind::Timeseries | PanelKind::Stat | PanelKind::Gauge
                        ) {
                            return Err(bad(
                                tf("kind"),
                                "RED series are drawn by timeseries, stat and gauge panels only",
                            ));
                        }
                        if t.service.trim().is_empty() {
                            return Err(bad(tf("service"), "name the service"));
                        }
                    }
                    TargetKind::TraceSearch => {
                        if p.kind != PanelKind::Traces {
                            return Err(bad(
                                tf("kind"),
                                "a trace search is shown by a traces panel only",
                            ));
                        }
                        checks
                            .trace_filters(&t.filters)
                            .map_err(|m| bad(tf("filters"), m))?;
                        let mut bounds = [None, None];
                        for (b, (f, d)) in [
                            ("min_duration", &t.min_duration),
                            ("max_duration", &t.max_duration),
                        ]
                        .into_iter()
                        .enumerate()
                        {
                            bounds[b] = checks.trace_duration(d).map_err(|m| bad(tf(f), m))?;
                        }
                        if let [Some(lo), Some(hi)] = bounds {
                            if hi < lo {
                                return Err(bad(
                                    tf("max_duration"),
                                    "must not be below the minimum duration",
                                ));
                            }
                        }
                        if t.limit > MAX_TRACE_LIMIT {
                            return Err(bad(
                                tf("limit"),
                                format!("at most {MAX_TRACE_LIMIT} traces"),
                            ));
                        }
                    }
                }
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
            if p.kind == PanelKind::Traces
                && (p.targets.len() != 1 || p.targets[0].kind != TargetKind::TraceSearch)
            {
                return Err(bad(
                    at("targets"),
                    "a traces panel has one target, of kind `trace_search`",
                ));
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
            field::check(&at, &p.mappings, &p.overrides, checks)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn doc(panels: serde_json::Value) -> Dashboard {
        serde_json::from_value(json!({"title": "T", "panels": panels})).unwrap()
    }

    fn field_of(d: &Dashboard) -> Option<String> {
        d.check(&ShapeOnly).err().map(|e| e.field)
    }

    #[test]
    fn the_document_alone_names_the_field_it_gets_wrong() {
        let ok = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": "up"}]}]),
        );
        assert_eq!(field_of(&ok), None);
        let wide =
            doc(json!([{"id": 1, "type": "text", "grid": {"x": 20, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(field_of(&wide).as_deref(), Some("panels[0].grid.x"));
        let empty =
            doc(json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(field_of(&empty).as_deref(), Some("panels[0].targets"));
        let mut twice = doc(json!([]));
        twice.variables = serde_json::from_value(json!([
            {"name": "job", "type": "custom", "query": "a,b"},
            {"name": "job", "type": "custom", "query": "c"}
        ]))
        .unwrap();
        assert_eq!(field_of(&twice).as_deref(), Some("variables[1].name"));
    }

    #[test]
    fn log_count_targets_are_checked_for_their_own_fields() {
        let grid = json!({"x": 0, "y": 0, "w": 12, "h": 8});
        let ok = doc(json!([{"id": 1, "type": "timeseries", "grid": grid,
            "targets": [{"expr": "level:ERROR", "kind": "log_count", "split_by": "service", "interval": "1m"}]}]));
        assert_eq!(field_of(&ok), None);
        let table = doc(json!([{"id": 1, "type": "table", "grid": grid,
            "targets": [{"expr": "level:ERROR", "kind": "log_count"}]}]));
        assert_eq!(
            field_of(&table).as_deref(),
            Some("panels[0].targets[0].kind")
        );
        let split = doc(json!([{"id": 1, "type": "timeseries", "grid": grid,
            "targets": [{"expr": "x", "kind": "log_count", "split_by": "a b"}]}]));
        assert_eq!(
            field_of(&split).as_deref(),
            Some("panels[0].targets[0].split_by")
        );
        let promql = doc(json!([{"id": 1, "type": "timeseries", "grid": grid,
            "targets": [{"expr": "up", "split_by": "level"}]}]));
        assert_eq!(
            field_of(&promql).as_deref(),
            Some("panels[0].targets[0].split_by")
        );
        // A PromQL target's document is unchanged: the new fields are left out.
        let back = serde_json::to_value(&ok.panels[0].targets[0]).unwrap();
        assert_eq!(back["kind"], "log_count");
        let plain = serde_json::to_value(&promql.panels[0].targets[0]).unwrap();
        assert!(plain.get("kind").is_none() && plain.get("interval").is_none());
    }

    #[test]
    fn red_and_trace_search_targets_are_checked_for_their_own_fields() {
        let grid = json!({"x": 0, "y": 0, "w": 12, "h": 8});
        let ok = doc(json!([
            {"id": 1, "type": "timeseries", "grid": grid,
             "targets": [{"kind": "red", "service": "checkout", "operation": "pay", "measure": "p95"}]},
            {"id": 2, "type": "traces", "grid": grid,
             "targets": [{"kind": "trace_search", "service": "checkout", "filters": "http.status_code>499",
                          "min_duration": "10ms", "errors_only": true, "limit": 5}]}]));
        assert_eq!(field_of(&ok), None);
        let cases = [
            (
                json!({"id": 1, "type": "timeseries", "grid": grid, "targets": [{"kind": "red"}]}),
                "panels[0].targets[0].service",
            ),
            (
                json!({"id": 1, "type": "table", "grid": grid, "targets": [{"kind": "red", "service": "a"}]}),
                "panels[0].targets[0].kind",
            ),
            (
                json!({"id": 1, "type": "timeseries", "grid": grid,
                    "targets": [{"kind": "red", "service": "a", "filters": "x=1"}]}),
                "panels[0].targets[0].filters",
            ),
            (
                json!({"id": 1, "type": "timeseries", "grid": grid,
                    "targets": [{"expr": "up", "service": "a"}]}),
                "panels[0].targets[0].service",
            ),
            (
                json!({"id": 1, "type": "traces", "grid": grid, "targets": []}),
                "panels[0].targets",
            ),
            (
                json!({"id": 1, "type": "traces", "grid": grid, "targets": [{"expr": "up"}]}),
                "panels[0].targets",
            ),
            (
                json!({"id": 1, "type": "timeseries", "grid": grid, "targets": [{"kind": "trace_search"}]}),
                "panels[0].targets[0].kind",
            ),
            (
                json!({"id": 1, "type": "traces", "grid": grid,
                    "targets": [{"kind": "trace_search", "limit": 501}]}),
                "panels[0].targets[0].limit",
            ),
            (
                json!({"id": 1, "type": "traces", "grid": grid,
                    "targets": [{"kind": "trace_search", "measure": "p99"}]}),
                "panels[0].targets[0].measure",
            ),
        ];
        for (panel, field) in cases {
            let d = doc(json!([panel]));
            assert_eq!(field_of(&d).as_deref(), Some(field), "{panel}");
        }
        // Defaults are left out of the document.
        let back = serde_json::to_value(&ok.panels[0].targets[0]).unwrap();
        assert_eq!(
            back,
            json!({"legend": "", "kind": "red", "service": "checkout", "operation": "pay", "measure": "p95"})
        );
    }

    #[test]
    fn a_mapping_with_two_kinds_is_refused() {
        let d = doc(
            json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}, "targets": [{"expr": "up"}],
                    "mappings": [{"value": 1.0, "special": "nan", "text": "x"}]}]),
        );
        assert_eq!(field_of(&d).as_deref(), Some("panels[0].mappings[0]"));
    }

    #[test]
    fn the_checks_given_are_asked() {
        struct NoUnits;
        impl Checks for NoUnits {
            fn unit(&self, _: &str) -> bool {
                false
            }
        }
        let d = doc(
            json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}, "targets": [{"expr": "up"}], "unit": "furlongs"}]),
        );
        assert_eq!(field_of(&d), None);
        assert_eq!(
            d.check(&NoUnits).unwrap_err().field,
            "panels[0].unit".to_owned()
        );
    }
}
