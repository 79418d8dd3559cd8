//! The view model read back by hand from a `serde_json::Value`: the browser decodes the
//! rendered dashboard (from the server-rendered page and from `GET …/render`) through this,
//! not through serde's derived decoders, which were 15 struct decoders and a sixth of the
//! page's code. `Value`'s own decoder is in the bundle anyway; reading its fields costs a
//! few calls each. A missing or mistyped field reads as empty (a number as NaN), as the
//! server always writes every field; a body of an unknown kind or a non-object is an error.

use serde_json::{Map, Value};

use super::model::{DashboardView, Deferred, Grid, PanelBody, PanelView, StatValue, VariableView};
use crate::components::chart_model::{ChartView, ExemplarPoint, Inspector, PlotArea, SeriesView};
use crate::components::units::Unit;

/// An object's fields, taken out one by one.
struct Fields(Map<String, Value>);

impl Fields {
    fn of(v: Value, what: &str) -> Result<Fields, String> {
        match v {
            Value::Object(map) => Ok(Fields(map)),
            _ => Err(format!("{what}: expected an object")),
        }
    }

    fn take(&mut self, key: &str) -> Value {
        // Left as null, not removed: a map's removal code would be the page's only use.
        self.0.get_mut(key).map(Value::take).unwrap_or(Value::Null)
    }

    fn string(&mut self, key: &str) -> String {
        text(self.take(key))
    }

    fn opt_string(&mut self, key: &str) -> Option<String> {
        match self.take(key) {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    fn f64(&mut self, key: &str) -> f64 {
        number(&self.take(key))
    }

    fn int(&mut self, key: &str) -> i64 {
        self.take(key).as_i64().unwrap_or(0)
    }

    fn u32(&mut self, key: &str) -> u32 {
        u32::try_from(self.int(key)).unwrap_or(0)
    }

    fn i32(&mut self, key: &str) -> i32 {
        i32::try_from(self.int(key)).unwrap_or(0)
    }

    fn usize(&mut self, key: &str) -> usize {
        usize::try_from(self.int(key)).unwrap_or(0)
    }

    fn bool(&mut self, key: &str) -> bool {
        self.take(key).as_bool().unwrap_or(false)
    }

    fn list<T>(
        &mut self,
        key: &str,
        item: impl FnMut(Value) -> Result<T, String>,
    ) -> Result<Vec<T>, String> {
        list(self.take(key), item)
    }

    fn deferred<T>(&mut self, key: &str) -> Deferred<T> {
        Deferred::Json(self.take(key))
    }
}

fn text(v: Value) -> String {
    match v {
        Value::String(s) => s,
        _ => String::new(),
    }
}

/// A number; `null` (how JSON writes NaN) and anything else is NaN.
fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn list<T>(v: Value, item: impl FnMut(Value) -> Result<T, String>) -> Result<Vec<T>, String> {
    match v {
        Value::Array(items) => items.into_iter().map(item).collect(),
        _ => Ok(Vec::new()),
    }
}

/// A two-element array (how JSON writes a tuple).
fn pair(v: Value) -> (Value, Value) {
    match v {
        Value::Array(items) => {
            let mut it = items.into_iter();
            let a = it.next().unwrap_or(Value::Null);
            (a, it.next().unwrap_or(Value::Null))
        }
        _ => (Value::Null, Value::Null),
    }
}

pub(super) fn dashboard(v: Value) -> Result<DashboardView, String> {
    let mut f = Fields::of(v, "dashboard")?;
    Ok(DashboardView {
        uid: f.string("uid"),
        title: f.string("title"),
        folder: f.string("folder"),
        tags: f.list("tags", |t| Ok(text(t)))?,
        version: f.int("version"),
        provisioned_from: f.opt_string("provisioned_from"),
        starred: f.bool("starred"),
        from: f.string("from"),
        to: f.string("to"),
        refresh: f.string("refresh"),
        variables: f.list("variables", variable)?,
        panels: f.list("panels", panel)?,
    })
}

fn variable(v: Value) -> Result<VariableView, String> {
    let mut f = Fields::of(v, "variable")?;
    Ok(VariableView {
        name: f.string("name"),
        label: f.string("label"),
        kind: f.string("kind"),
        multi: f.bool("multi"),
        include_all: f.bool("include_all"),
        options: f.list("options", |o| Ok(text(o)))?,
        current: f.list("current", |o| Ok(text(o)))?,
        error: f.opt_string("error"),
    })
}

fn panel(v: Value) -> Result<PanelView, String> {
    let mut f = Fields::of(v, "panel")?;
    let mut g = Fields::of(f.take("grid"), "grid")?;
    Ok(PanelView {
        id: f.u32("id"),
        title: f.string("title"),
        grid: Grid {
            x: g.u32("x"),
            y: g.u32("y"),
            w: g.u32("w"),
            h: g.u32("h"),
        },
        query: f.opt_string("query"),
        query_is_logs: f.bool("query_is_logs"),
        datasource: f.take("datasource").as_i64(),
        body: body(f.take("body"))?,
    })
}

pub(super) fn body(v: Value) -> Result<PanelBody, String> {
    let mut f = Fields::of(v, "body")?;
    let kind = f.string("kind");
    Ok(match kind.as_str() {
        "chart" => PanelBody::Chart {
            chart: chart(f.take("chart"))?,
        },
        "stat" => PanelBody::Stat {
            values: f.deferred("values"),
        },
        "gauge" => PanelBody::Gauge {
            values: f.deferred("values"),
            min: f.f64("min"),
            max: f.f64("max"),
        },
        "table" => PanelBody::Table {
            table: f.deferred("table"),
        },
        "text" => PanelBody::Text {
            html: f.string("html"),
        },
        "logs" => PanelBody::Logs {
            lines: f.deferred("lines"),
        },
        "traces" => PanelBody::Traces {
            traces: f.deferred("traces"),
            explore: f.string("explore"),
        },
        "row" => PanelBody::Row {
            collapsed: f.bool("collapsed"),
        },
        "unsupported" => PanelBody::Unsupported {
            original: f.string("original"),
        },
        "error" => PanelBody::Error {
            message: f.string("message"),
        },
        other => return Err(format!("unknown panel kind `{other}`")),
    })
}

fn chart(v: Value) -> Result<ChartView, String> {
    let mut f = Fields::of(v, "chart")?;
    let mut p = Fields::of(f.take("plot"), "plot")?;
    let plot = PlotArea {
        svg_width: p.u32("svg_width"),
        svg_height: p.u32("svg_height"),
        left: p.i32("left"),
        top: p.i32("top"),
        right: p.i32("right"),
        bottom: p.i32("bottom"),
        x_min: p.f64("x_min"),
        x_max: p.f64("x_max"),
        y_min: p.f64("y_min"),
        y_max: p.f64("y_max"),
        unit: unit(p.take("unit")),
    };
    let mut i = Fields::of(f.take("inspector"), "inspector")?;
    let inspector = Inspector {
        query: i.string("query"),
        start: i.f64("start"),
        end: i.f64("end"),
        step: i.f64("step"),
        elapsed_ms: i.f64("elapsed_ms"),
        series: i.usize("series"),
        points_returned: i.usize("points_returned"),
        points_drawn: i.usize("points_drawn"),
        downsampling: i.string("downsampling"),
    };
    Ok(ChartView {
        svg: f.string("svg"),
        plot,
        series: f.list("series", series)?,
        total_series: f.usize("total_series"),
        notice: f.opt_string("notice"),
        inspector,
        exemplars: f.list("exemplars", exemplar)?,
    })
}

fn series(v: Value) -> Result<SeriesView, String> {
    let mut f = Fields::of(v, "series")?;
    Ok(SeriesView {
        name: f.string("name"),
        labels: f.list("labels", |l| {
            let (k, v) = pair(l);
            Ok((text(k), text(v)))
        })?,
        color: f.string("color"),
        points: f.list("points", |p| {
            let (t, v) = pair(p);
            Ok((number(&t), number(&v)))
        })?,
    })
}

fn exemplar(v: Value) -> Result<ExemplarPoint, String> {
    let mut f = Fields::of(v, "exemplar")?;
    Ok(ExemplarPoint {
        t: f.f64("t"),
        value: f.f64("value"),
        trace_id: f.string("trace_id"),
        series: f.string("series"),
    })
}

/// A unit as serde writes it (its variant's name in lower case): the names `Unit::parse`
/// reads, and the six it spells otherwise.
fn unit(v: Value) -> Unit {
    let name = text(v);
    Unit::parse(&name).unwrap_or(match name.as_str() {
        "bitspersecond" => Unit::BitsPerSecond,
        "bytespersecond" => Unit::BytesPerSecond,
        "packetspersecond" => Unit::PacketsPerSecond,
        "eventspersecond" => Unit::EventsPerSecond,
        "boolyesno" => Unit::BoolYesNo,
        "boolonoff" => Unit::BoolOnOff,
        _ => Unit::Short,
    })
}

/// A stat or gauge panel's values, read by `markup_module`'s module (`panel::stat_body`).
pub(super) fn stat_values(v: Value) -> Result<Vec<StatValue>, String> {
    list(v, |v| {
        let mut f = Fields::of(v, "stat value")?;
        Ok(StatValue {
            name: f.string("name"),
            value: f.string("value"),
            raw: f.f64("raw"),
            color: f.string("color"),
            sparkline: f.string("sparkline"),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_every_unit_as_serde_writes_it() {
        let all = [
            Unit::Short,
            Unit::Seconds,
            Unit::Milliseconds,
            Unit::Bytes,
            Unit::Percent,
            Unit::PercentUnit,
            Unit::PerSecond,
            Unit::None,
            Unit::DecBytes,
            Unit::Bits,
            Unit::BitsPerSecond,
            Unit::BytesPerSecond,
            Unit::PacketsPerSecond,
            Unit::EventsPerSecond,
            Unit::Iops,
            Unit::Minutes,
            Unit::Hours,
            Unit::Nanoseconds,
            Unit::Microseconds,
            Unit::BoolYesNo,
            Unit::BoolOnOff,
        ];
        for u in all {
            assert_eq!(unit(serde_json::to_value(u).unwrap()), u, "{u:?}");
        }
    }

    #[test]
    fn reads_stat_values_as_serde_writes_them() {
        let v = StatValue {
            name: "up".into(),
            value: "1.5 s".into(),
            raw: 1.5,
            color: "#0a0".into(),
            sparkline: "0,1 2,3".into(),
        };
        let json = serde_json::to_value(vec![v.clone()]).unwrap();
        assert_eq!(stat_values(json).unwrap(), vec![v]);
    }
}
