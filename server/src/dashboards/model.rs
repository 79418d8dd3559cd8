//! The native dashboard document on the server: the types are `wire::dashboard`'s (the
//! editor edits the same ones), checked here with everything the server knows. Only a
//! [`Dashboard`] that passed [`validate`] is ever stored.

pub use wire::dashboard::{
    color_hex, css_color, is_color, is_uid, Checks, Dashboard, Grid, Panel, PanelKind, RedMeasure,
    Reducer, Target, TargetKind, Threshold, TimeRange, Variable, VariableKind, FORMAT,
    GRID_COLUMNS,
};

use crate::error::Error;

/// The checks a stored document gets beyond its shape: times and the refresh as the charts
/// read them, PromQL within the parser's limits, log queries as the log store parses them, units the charts know, override patterns
/// that compile within their size limit.
struct ServerChecks;

impl Checks for ServerChecks {
    fn time(&self, t: &str) -> Result<(), String> {
        crate::charts::time::resolve(t, 0.0).map(|_| ())
    }

    fn duration(&self, d: &str) -> Result<(), String> {
        crate::promql_syntax::duration::PromDuration::parse(d).map(|_| ())
    }

    fn promql_limits(&self, expr: &str) -> Result<(), String> {
        crate::promql_syntax::check_limits(expr).map_err(|e| e.message)
    }

    fn log_query(&self, query: &str) -> Result<(), String> {
        // With a `$variable` the text is whole only once rendered: its size is checked now.
        if query.contains('$') {
            return match query.len() <= logstore::query::MAX_QUERY_BYTES {
                true => Ok(()),
                false => Err(format!(
                    "must be at most {} bytes",
                    logstore::query::MAX_QUERY_BYTES
                )),
            };
        }
        logstore::parse(query)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    fn trace_filters(&self, filters: &str) -> Result<(), String> {
        app::traces::model::parse_filters(filters).map(|_| ())
    }

    fn trace_duration(&self, d: &str) -> Result<Option<f64>, String> {
        app::traces::model::parse_duration_ms(d)
    }

    fn unit(&self, unit: &str) -> bool {
        app::components::units::Unit::parse(unit).is_some()
    }

    fn regex(&self, pattern: &str) -> Result<(), String> {
        super::field::compile(pattern).map(|_| ())
    }
}

/// Checks every field of `d` ([`Dashboard::check`] with the server's checks); errors name
/// the field as a JSON path (`panels[2].grid.w`).
pub fn validate(d: &Dashboard) -> Result<(), Error> {
    d.check(&ServerChecks)
        .map_err(|e| Error::invalid(e.field, e.message))
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
        let err = validate(&d).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].targets[0].expr"));
        assert!(err.message().contains("nest deeper"), "{}", err.message());
    }
    use serde_json::json;

    fn doc(panels: serde_json::Value) -> Dashboard {
        serde_json::from_value(json!({"title": "T", "panels": panels})).unwrap()
    }

    #[test]
    fn a_log_count_query_the_log_store_cannot_parse_is_refused_naming_the_position() {
        let d = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8},
                    "targets": [{"expr": "level:ERROR AND (", "kind": "log_count"}]}]),
        );
        let err = validate(&d).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].targets[0].expr"));
        let ok = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8},
                    "targets": [{"expr": "service:$service AND \"timeout\"", "kind": "log_count"}]}]),
        );
        assert!(validate(&ok).is_ok());
    }

    #[test]
    fn validation_names_the_field() {
        let ok = doc(
            json!([{"id": 1, "type": "timeseries", "grid": {"x": 0, "y": 0, "w": 12, "h": 8}, "targets": [{"expr": "up"}]}]),
        );
        assert!(validate(&ok).is_ok());
        let wide =
            doc(json!([{"id": 1, "type": "text", "grid": {"x": 20, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(
            validate(&wide).unwrap_err().field(),
            Some("panels[0].grid.x")
        );
        let empty =
            doc(json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}}]));
        assert_eq!(
            validate(&empty).unwrap_err().field(),
            Some("panels[0].targets")
        );
        let color = doc(
            json!([{"id": 1, "type": "stat", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}, "targets": [{"expr": "up"}], "thresholds": [{"value": null, "color": "url(x)"}]}]),
        );
        assert_eq!(
            validate(&color).unwrap_err().field(),
            Some("panels[0].thresholds[0].color")
        );
        let mut t = doc(json!([]));
        t.time.from = "yesterday".into();
        assert_eq!(validate(&t).unwrap_err().field(), Some("time.from"));
    }
}
