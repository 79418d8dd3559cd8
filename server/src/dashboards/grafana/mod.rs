//! Grafana dashboard JSON → the native model, with a report that names every panel as
//! converted, converted with changes (which), or not supported (why). Accepts the seed's
//! `{"dashboard": {...}}` wrapper, bare dashboards, schemaVersion 16 to current, old
//! `rows[]` layouts, nested row panels, `templating`, and `__inputs` placeholders.

use serde::Serialize;
use serde_json::Value;

use super::grafana_fields;

mod logs;
mod traces;
use super::model::{
    Dashboard, Grid, Panel, PanelKind, Reducer, Target, Threshold, TimeRange, Variable,
    VariableKind, FORMAT,
};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Converted,
    ConvertedWithChanges,
    NotSupported,
}

/// One line of the report: a panel (or the dashboard itself, or a variable).
#[derive(Clone, Debug, Serialize)]
pub struct ReportEntry {
    /// `panel`, `variable` or `dashboard`.
    pub kind: &'static str,
    pub title: String,
    /// The Grafana type (`graph`, `singlestat` …) or variable type.
    pub source_type: String,
    pub outcome: Outcome,
    /// What changed or why it is not supported.
    pub notes: Vec<String>,
}

impl ReportEntry {
    /// Converted, or converted with changes when there are notes.
    fn converted(kind: &'static str, title: &str, source_type: &str, notes: Vec<String>) -> Self {
        let outcome = if notes.is_empty() {
            Outcome::Converted
        } else {
            Outcome::ConvertedWithChanges
        };
        ReportEntry {
            kind,
            title: title.to_owned(),
            source_type: source_type.to_owned(),
            outcome,
            notes,
        }
    }

    fn not_supported(
        kind: &'static str,
        title: &str,
        source_type: &str,
        notes: Vec<String>,
    ) -> Self {
        ReportEntry {
            kind,
            title: title.to_owned(),
            source_type: source_type.to_owned(),
            outcome: Outcome::NotSupported,
            notes,
        }
    }
}

pub struct Converted {
    pub dashboard: Dashboard,
    pub report: Vec<ReportEntry>,
}

/// Whether `v` is a Grafana dashboard (bare or wrapped) rather than a native document.
pub fn is_grafana(v: &Value) -> bool {
    v["format"] != FORMAT
        && (v.get("dashboard").is_some()
            || v.get("panels").is_some()
            || v.get("rows").is_some()
            || v.get("schemaVersion").is_some())
}

/// Grafana keeps a collapsed row's panels inside the row, with the `gridPos` they had when
/// the row was last open (often far below, e.g. y = 732), and the rows after it directly
/// below it. The native model keeps every panel at the top level, a row owning the panels
/// below it up to the next row: each collapsed row's panels are laid out right under it (in
/// their own order and relative places), and everything below is pushed down by their
/// height, as Grafana does when the row is expanded.
fn unfold_collapsed_rows(panels: &[Value]) -> Vec<Value> {
    // Places from an import are clamped: no real layout is taller than 200 panels × 100 rows,
    // and the arithmetic below must not overflow on a hostile `y`.
    const MAX_Y: u64 = 20_000;
    let y_of = |p: &Value| p["gridPos"]["y"].as_u64().map(|y| y.min(MAX_Y));
    let h_of = |p: &Value| p["gridPos"]["h"].as_u64().unwrap_or(8).min(100);
    // Placed panels by place; panels without one keep their order after them.
    let by_place = |p: &&Value| {
        (
            y_of(p).is_none(),
            y_of(p).unwrap_or(0),
            p["gridPos"]["x"].as_u64().unwrap_or(0),
        )
    };
    let mut order: Vec<&Value> = panels.iter().collect();
    order.sort_by_key(by_place);
    let mut shift = 0u64;
    let mut out = Vec::with_capacity(panels.len());
    for p in order {
        let mut nested: Vec<&Value> = match (s(&p["type"]).as_str(), p["panels"].as_array()) {
            ("row", Some(inner)) => inner.iter().collect(),
            _ => Vec::new(),
        };
        let mut top = p.clone();
        if !nested.is_empty() {
            if let Some(m) = top.as_object_mut() {
                m.remove("panels");
            }
        }
        let row_y = y_of(p).map(|y| y + shift);
        if let Some(y) = row_y {
            top["gridPos"]["y"] = Value::from(y);
        }
        out.push(top);
        let Some(row_y) = row_y else {
            // A row without a place: its panels follow it and are placed with it later.
            out.extend(nested.into_iter().cloned());
            continue;
        };
        let first = nested.iter().filter_map(|n| y_of(n)).min().unwrap_or(0);
        let placed_height = nested
            .iter()
            .filter_map(|n| Some(y_of(n)? + h_of(n) - first))
            .max()
            .unwrap_or(0);
        nested.sort_by_key(by_place);
        // Panels of the row without a place go under its placed ones, 12 × 8, two a line.
        let mut unplaced = 0u64;
        for n in nested {
            let mut n = n.clone();
            match y_of(&n) {
                Some(ny) => n["gridPos"]["y"] = Value::from(row_y + 1 + (ny - first)),
                None => {
                    n["gridPos"] = serde_json::json!({
                        "x": (unplaced % 2) * 12,
                        "y": row_y + 1 + placed_height + (unplaced / 2) * 8,
                        "w": 12, "h": 8
                    });
                    unplaced += 1;
                }
            }
            out.push(n);
        }
        shift += placed_height + unplaced.div_ceil(2) * 8;
    }
    out
}

struct Ctx {
    report: Vec<ReportEntry>,
    next_id: u32,
    used_ids: std::collections::HashSet<u32>,
    /// `${DS_X}` names from `__inputs`.
    inputs: Vec<String>,
}

impl Ctx {
    fn id(&mut self, wanted: Option<u64>) -> u32 {
        if let Some(w) = wanted.and_then(|w| u32::try_from(w).ok()) {
            if self.used_ids.insert(w) {
                return w;
            }
        }
        while !self.used_ids.insert(self.next_id) {
            self.next_id += 1;
        }
        self.next_id
    }
}

fn s(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Converts Grafana JSON. Fails only when there is no dashboard at all.
pub fn convert(input: &Value) -> Result<Converted, String> {
    let dash = match input.get("dashboard") {
        Some(d) if d.is_object() => d,
        Some(_) => return Err("`dashboard` must be the Grafana dashboard object".into()),
        None => input,
    };
    if !dash.is_object() {
        return Err("expected a Grafana dashboard object".into());
    }
    // Members Grafana always writes with these types; another type is not a dashboard.
    for (key, ok) in [
        ("panels", dash.get("panels").is_none_or(Value::is_array)),
        ("rows", dash.get("rows").is_none_or(Value::is_array)),
        ("title", dash.get("title").is_none_or(Value::is_string)),
        (
            "uid",
            dash.get("uid").is_none_or(|u| u.is_string() || u.is_null()),
        ),
        (
            "schemaVersion",
            dash.get("schemaVersion").is_none_or(Value::is_number),
        ),
        (
            "templating",
            dash.get("templating").is_none_or(Value::is_object),
        ),
    ] {
        if !ok {
            return Err(format!(
                "`{key}` has the wrong type for a Grafana dashboard"
            ));
        }
    }
    let inputs: Vec<String> = input["__inputs"]
        .as_array()
        .or_else(|| dash["__inputs"].as_array())
        .map(|a| {
            a.iter()
                .map(|i| s(&i["name"]))
                .filter(|n| !n.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let mut ctx = Ctx {
        report: Vec::new(),
        next_id: 1,
        used_ids: Default::default(),
        inputs,
    };
    let mut dashboard_notes = Vec::new();
    if !ctx.inputs.is_empty() {
        dashboard_notes.push(format!(
            "import placeholders {} use the portal's default metrics source",
            ctx.inputs
                .iter()
                .map(|n| format!("${{{n}}}"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let schema = dash["schemaVersion"].as_u64();
    if let Some(v) = schema {
        if v < 16 {
            dashboard_notes.push(format!(
                "schemaVersion {v} is older than 16; converted on a best-effort basis"
            ));
        }
    }

    // Old layouts: `rows[]` each holding panels with `span` (of 12) and a height.
    let mut raw_panels: Vec<Value> = Vec::new();
    if let Some(rows) = dash["rows"].as_array() {
        let mut y = 0u64;
        for row in rows {
            let height = row["height"]
                .as_str()
                .and_then(|h| h.trim_end_matches("px").parse::<f64>().ok())
                .or_else(|| row["height"].as_f64())
                .unwrap_or(250.0);
            let h = ((height / 30.0).round() as u64).max(3);
            if row["showTitle"].as_bool().unwrap_or(false) || !s(&row["title"]).is_empty() {
                raw_panels.push(serde_json::json!({
                    "type": "row", "title": row["title"], "collapsed": row["collapse"].as_bool().unwrap_or(false),
                    "gridPos": {"x": 0, "y": y, "w": 24, "h": 1}
                }));
                y += 1;
            }
            let mut x = 0u64;
            for p in row["panels"].as_array().into_iter().flatten() {
                let w = ((p["span"].as_f64().unwrap_or(12.0) * 2.0).round() as u64).clamp(1, 24);
                if x + w > 24 {
                    x = 0;
                    y += h;
                }
                let mut p = p.clone();
                p["gridPos"] = serde_json::json!({"x": x, "y": y, "w": w, "h": h});
                raw_panels.push(p);
                x += w;
            }
            y += h;
        }
        dashboard_notes.push("`rows` layout converted to the 24-column grid".into());
    }
    if let Some(panels) = dash["panels"].as_array() {
        raw_panels.extend(unfold_collapsed_rows(panels));
    }

    // Panels without gridPos (as in the seed) are laid out two per line, 12 × 8 each.
    let mut auto_slot = 0u32;
    let mut panels = Vec::new();
    let bottom = raw_panels
        .iter()
        .filter_map(|p| {
            let g = &p["gridPos"];
            // `grid_of` keeps a height of at most 100 rows.
            Some(
                g["y"]
                    .as_u64()?
                    .saturating_add(g["h"].as_u64().unwrap_or(8).min(100)),
            )
        })
        .max()
        .unwrap_or(0)
        .min(u64::from(u32::MAX)) as u32;
    // A collapsed row's own panels are already beside it (`unfold_collapsed_rows`).
    for p in &raw_panels {
        convert_panel(&mut ctx, p, bottom, &mut auto_slot, &mut panels);
    }

    let variables = convert_variables(&mut ctx, &dash["templating"]["list"]);
    let tags = dash["tags"]
        .as_array()
        .map(|t| t.iter().map(s).filter(|t| !t.trim().is_empty()).collect())
        .unwrap_or_default();
    let uid = s(&dash["uid"]);
    let dashboard = Dashboard {
        format: FORMAT.into(),
        uid: if super::model::is_uid(&uid) {
            uid
        } else {
            String::new()
        },
        title: {
            let t = s(&dash["title"]);
            if t.trim().is_empty() {
                dashboard_notes.push("no title; named “Imported dashboard”".into());
                "Imported dashboard".into()
            } else {
                t
            }
        },
        description: s(&dash["description"]),
        folder: s(&input["meta"]["folderTitle"]),
        tags,
        time: TimeRange {
            from: dash["time"]["from"]
                .as_str()
                .filter(|t| crate::charts::time::resolve(t, 0.0).is_ok())
                .unwrap_or("now-6h")
                .into(),
            to: dash["time"]["to"]
                .as_str()
                .filter(|t| crate::charts::time::resolve(t, 0.0).is_ok())
                .unwrap_or("now")
                .into(),
        },
        refresh: dash["refresh"]
            .as_str()
            .filter(|r| crate::promql_syntax::duration::PromDuration::parse(r).is_ok())
            .unwrap_or("")
            .into(),
        variables,
        panels,
    };
    let mut report = vec![ReportEntry {
        kind: "dashboard",
        title: dashboard.title.clone(),
        source_type: schema.map_or("grafana".into(), |v| format!("grafana schemaVersion {v}")),
        outcome: if dashboard_notes.is_empty() {
            Outcome::Converted
        } else {
            Outcome::ConvertedWithChanges
        },
        notes: dashboard_notes,
    }];
    report.append(&mut ctx.report);
    Ok(Converted { dashboard, report })
}

fn unit_of(p: &Value) -> (String, Vec<String>) {
    let mut notes = Vec::new();
    let raw = p["fieldConfig"]["defaults"]["unit"]
        .as_str()
        .map(str::to_owned)
        .or_else(|| p["yaxes"][0]["format"].as_str().map(str::to_owned))
        .or_else(|| p["format"].as_str().map(str::to_owned))
        .unwrap_or_default();
    if raw.is_empty() {
        return (String::new(), notes);
    }
    match app::components::units::Unit::parse(&raw) {
        Some(u) => (u.id().into(), notes),
        None => {
            notes.push(format!(
                "unit `{raw}` is not known; values are shown as plain numbers"
            ));
            (String::new(), notes)
        }
    }
}

fn thresholds_of(p: &Value, notes: &mut Vec<String>) -> Vec<Threshold> {
    let steps = p["fieldConfig"]["defaults"]["thresholds"]["steps"].as_array();
    if let Some(steps) = steps {
        return steps
            .iter()
            .map(|st| {
                let color = s(&st["color"]);
                if !super::model::is_color(&color) {
                    notes.push(format!("threshold colour `{color}` replaced by red"));
                }
                Threshold {
                    value: st["value"].as_f64(),
                    color: if super::model::is_color(&color) {
                        color
                    } else {
                        "red".into()
                    },
                }
            })
            .collect();
    }
    // singlestat: "thresholds": "80,90" with "colors": [ok, warn, crit].
    if let Some(text) = p["thresholds"].as_str().filter(|t| !t.trim().is_empty()) {
        let colors: Vec<String> = p["colors"]
            .as_array()
            .map(|c| c.iter().map(s).collect())
            .unwrap_or_default();
        let pick = |i: usize, fallback: &str| {
            colors
                .get(i)
                .filter(|c| super::model::is_color(c))
                .cloned()
                .unwrap_or_else(|| fallback.into())
        };
        let mut out = vec![Threshold {
            value: None,
            color: pick(0, "green"),
        }];
        for (i, v) in text
            .split(',')
            .filter_map(|v| v.trim().parse::<f64>().ok())
            .enumerate()
        {
            out.push(Threshold {
                value: Some(v),
                color: pick(i + 1, if i == 0 { "orange" } else { "red" }),
            });
        }
        return out;
    }
    Vec::new()
}

fn targets_of(p: &Value, notes: &mut Vec<String>) -> Vec<Target> {
    let mut out = Vec::new();
    for t in p["targets"].as_array().into_iter().flatten() {
        let ref_id = s(&t["refId"]);
        if t["hide"].as_bool() == Some(true) {
            notes.push(format!("hidden query {ref_id} left out"));
            continue;
        }
        if let Some(count) = logs::count_target(t, p, notes) {
            out.extend(count);
            continue;
        }
        match t["expr"].as_str().filter(|e| !e.trim().is_empty()) {
            Some(expr) => out.push(Target {
                expr: expr.to_owned(),
                legend: s(&t["legendFormat"]),
                ..Target::default()
            }),
            None => notes.push(format!(
                "query {} is not PromQL (only Prometheus-API sources are supported yet)",
                if ref_id.is_empty() {
                    "?".into()
                } else {
                    ref_id
                }
            )),
        }
    }
    out
}

fn grid_of(
    p: &Value,
    bottom: u32,
    auto_slot: &mut u32,
    notes: &mut Vec<String>,
    row: bool,
) -> Grid {
    let g = &p["gridPos"];
    match (
        g["x"].as_u64(),
        g["y"].as_u64(),
        g["w"].as_u64(),
        g["h"].as_u64(),
    ) {
        (Some(x), Some(y), Some(w), Some(h)) => {
            let w = (w as u32).clamp(1, 24);
            let x = (x as u32).min(24 - w);
            Grid {
                x,
                y: y as u32,
                w,
                h: (h as u32).clamp(1, 100),
            }
        }
        _ => {
            notes.push("no gridPos; placed on the grid".into());
            let slot = *auto_slot;
            *auto_slot += if row { 2 - slot % 2 } else { 1 };
            if row {
                Grid {
                    x: 0,
                    y: bottom.saturating_add(slot.div_ceil(2) * 8),
                    w: 24,
                    h: 1,
                }
            } else {
                Grid {
                    x: (slot % 2) * 12,
                    y: bottom.saturating_add((slot / 2) * 8),
                    w: 12,
                    h: 8,
                }
            }
        }
    }
}

/// A panel the import could not convert: a notice in its place, naming the original type.
fn placeholder(id: u32, title: String, grid: Grid, original: String) -> Panel {
    Panel {
        id,
        kind: PanelKind::Unsupported,
        title,
        grid,
        datasource: None,
        targets: Vec::new(),
        unit: String::new(),
        min: None,
        max: None,
        thresholds: Vec::new(),
        reducer: Reducer::Last,
        text: original,
        collapsed: false,
        mappings: Vec::new(),
        overrides: Vec::new(),
    }
}

fn convert_panel(ctx: &mut Ctx, p: &Value, bottom: u32, auto_slot: &mut u32, out: &mut Vec<Panel>) {
    let source_type = s(&p["type"]);
    let title = s(&p["title"]);
    let mut notes = Vec::new();
    let kind = match source_type.as_str() {
        "timeseries" => Some(PanelKind::Timeseries),
        "graph" => {
            notes.push("`graph` shown as a time series".into());
            for (flag, what) in [
                ("bars", "bars"),
                ("stack", "stacking"),
                ("percentage", "percent stacking"),
            ] {
                if p[flag].as_bool() == Some(true) {
                    notes.push(format!("{what} not supported; drawn as lines"));
                }
            }
            if p["yaxes"][1]["show"].as_bool() == Some(true)
                && p["seriesOverrides"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|o| o.get("yaxis").is_some()))
            {
                notes.push("second y axis dropped".into());
            }
            Some(PanelKind::Timeseries)
        }
        "stat" => Some(PanelKind::Stat),
        "singlestat" => {
            notes.push("`singlestat` shown as a stat panel".into());
            if p["gauge"]["show"].as_bool() == Some(true) {
                notes.push("singlestat gauge shown as a stat with thresholds".into());
            }
            Some(PanelKind::Stat)
        }
        "gauge" => Some(PanelKind::Gauge),
        "bargauge" => {
            notes.push("`bargauge` shown as a gauge".into());
            Some(PanelKind::Gauge)
        }
        "table" | "table-old" => Some(PanelKind::Table),
        "text" => Some(PanelKind::Text),
        "row" => Some(PanelKind::Row),
        "logs" => Some(PanelKind::Logs),
        "traces" => Some(PanelKind::Traces),
        _ => None,
    };
    let is_row = kind == Some(PanelKind::Row);
    let grid = grid_of(p, bottom, auto_slot, &mut notes, is_row);
    let id = ctx.id(p["id"].as_u64());
    let Some(kind) = kind else {
        ctx.report.push(ReportEntry::not_supported(
            "panel",
            &title,
            &source_type,
            vec![format!(
                "panel type `{}` is not supported; a notice keeps its place",
                if source_type.is_empty() {
                    "(none)"
                } else {
                    &source_type
                }
            )],
        ));
        out.push(placeholder(id, title, grid, source_type));
        return;
    };
    let (unit, mut unit_notes) = unit_of(p);
    notes.append(&mut unit_notes);
    let thresholds = thresholds_of(p, &mut notes);
    let mut targets = if matches!(kind, PanelKind::Text | PanelKind::Row) {
        Vec::new()
    } else if kind == PanelKind::Logs {
        logs::targets_of(p, &mut notes)
    } else if kind == PanelKind::Traces {
        traces::target_of(p, &mut notes).into_iter().collect()
    } else {
        targets_of(p, &mut notes)
    };
    if kind == PanelKind::Table && targets.iter().any(|t| !t.kind.is_promql()) {
        notes.push("log counts are drawn by time-series panels only; left out of the table".into());
        targets.retain(|t| t.kind.is_promql());
    }
    let reducer = {
        let calc = p["options"]["reduceOptions"]["calcs"][0]
            .as_str()
            .or_else(|| p["valueName"].as_str())
            .unwrap_or("lastNotNull");
        match calc {
            "mean" | "avg" => Reducer::Mean,
            "max" => Reducer::Max,
            "min" => Reducer::Min,
            "last" | "lastNotNull" | "current" => Reducer::Last,
            other => {
                notes.push(format!("reducer `{other}` shown as last value"));
                Reducer::Last
            }
        }
    };
    let mappings = grafana_fields::mappings_of(p, &mut notes);
    let overrides = grafana_fields::overrides_of(p, &mut notes);
    if p["transformations"]
        .as_array()
        .is_some_and(|t| !t.is_empty())
    {
        notes.push("transformations dropped".into());
    }
    let text = if kind == PanelKind::Text {
        let content = s(&p["options"]["content"]);
        let content = if content.is_empty() {
            s(&p["content"])
        } else {
            content
        };
        let mode = s(&p["options"]["mode"]);
        let mode = if mode.is_empty() { s(&p["mode"]) } else { mode };
        if mode == "html" {
            notes.push("HTML content is shown as Markdown (raw HTML is not rendered)".into());
        }
        content
    } else {
        String::new()
    };
    let needs_query = matches!(
        kind,
        PanelKind::Timeseries
            | PanelKind::Stat
            | PanelKind::Gauge
            | PanelKind::Table
            | PanelKind::Traces
    );
    if needs_query && targets.is_empty() {
        ctx.report
            .push(ReportEntry::not_supported("panel", &title, &source_type, {
                notes.push(if kind == PanelKind::Traces {
                    "no Jaeger or Tempo trace search to show".into()
                } else {
                    "no PromQL query to show".into()
                });
                notes
            }));
        out.push(placeholder(id, title, grid, source_type));
        return;
    }
    ctx.report
        .push(ReportEntry::converted("panel", &title, &source_type, notes));
    out.push(Panel {
        id,
        kind,
        title,
        grid,
        datasource: None,
        targets,
        unit,
        min: p["fieldConfig"]["defaults"]["min"].as_f64(),
        max: p["fieldConfig"]["defaults"]["max"].as_f64(),
        thresholds,
        reducer,
        text,
        collapsed: p["collapsed"].as_bool().unwrap_or(false),
        mappings,
        overrides,
    });
}

fn convert_variables(ctx: &mut Ctx, list: &Value) -> Vec<Variable> {
    let mut out = Vec::new();
    for v in list.as_array().into_iter().flatten() {
        let name = s(&v["name"]);
        let source_type = s(&v["type"]);
        let mut notes = Vec::new();
        let query = match &v["query"] {
            Value::Object(o) => o.get("query").map(s).unwrap_or_default(),
            other => s(other),
        };
        let kind = match source_type.as_str() {
            "query" => Some(VariableKind::Query),
            "custom" => Some(VariableKind::Custom),
            "interval" => Some(VariableKind::Interval),
            "textbox" => Some(VariableKind::Text),
            "constant" => {
                notes.push("constant shown as a one-value custom list".into());
                Some(VariableKind::Custom)
            }
            _ => None,
        };
        let Some(kind) = kind else {
            ctx.report.push(ReportEntry::not_supported(
                "variable",
                &name,
                &source_type,
                vec![match source_type.as_str() {
                    "datasource" => {
                        "data-source variables are not supported; the default source is used".into()
                    }
                    "adhoc" => "ad-hoc filters are not supported".into(),
                    other => format!("variable type `{other}` is not supported"),
                }],
            ));
            continue;
        };
        if kind == VariableKind::Query && !query.trim_start().starts_with("label_values(") {
            ctx.report.push(ReportEntry::not_supported(
                "variable",
                &name,
                &source_type,
                vec![format!(
                    "only label_values(…) queries are supported, not `{query}`"
                )],
            ));
            continue;
        }
        let current: Vec<String> = match &v["current"]["value"] {
            Value::Array(a) => a.iter().map(s).collect(),
            Value::Null => Vec::new(),
            other => vec![s(other)],
        }
        .into_iter()
        .map(|c| {
            if c == "$__all" || c == "All" {
                "$__all".into()
            } else {
                c
            }
        })
        .collect();
        ctx.report.push(ReportEntry::converted(
            "variable",
            &name,
            &source_type,
            notes,
        ));
        out.push(Variable {
            name,
            kind,
            label: s(&v["label"]),
            query,
            datasource: None,
            multi: v["multi"].as_bool().unwrap_or(false),
            include_all: v["includeAll"].as_bool().unwrap_or(false),
            current,
        });
    }
    out
}

#[cfg(test)]
mod tests;
