//! Grafana's value mappings and overrides, converted to the native [`field`] model: every
//! mapping and override the native model can hold is kept; each part it cannot is named in
//! the import report's notes.
//!
//! [`field`]: super::field

use serde_json::Value;

use super::field::{
    FieldOverride, SeriesMatcher, Special, ValueMapping, MAX_MAPPINGS, MAX_OVERRIDES,
};
use super::model::is_color;

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A colour Grafana wrote, if the portal can draw it (a name or `#rrggbb`).
fn color(v: &Value, notes: &mut Vec<String>) -> Option<String> {
    let c = v.as_str().filter(|c| !c.is_empty())?;
    if is_color(c) {
        Some(c.to_owned())
    } else {
        notes.push(format!("colour `{c}` of a mapping or override dropped"));
        None
    }
}

fn text_of(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The panel's mappings: `fieldConfig.defaults.mappings` (Grafana 8+ and the older
/// `type: 1/2` form) and singlestat's `valueMaps`/`rangeMaps`.
pub fn mappings_of(p: &Value, notes: &mut Vec<String>) -> Vec<ValueMapping> {
    let mut out = Vec::new();
    for m in p["fieldConfig"]["defaults"]["mappings"]
        .as_array()
        .into_iter()
        .flatten()
    {
        match (&m["type"], m["options"].is_object()) {
            (Value::String(t), true) if t == "value" => {
                let mut entries: Vec<(&String, &Value)> =
                    m["options"].as_object().into_iter().flatten().collect();
                entries.sort_by_key(|(_, r)| r["index"].as_i64().unwrap_or(0));
                for (key, result) in entries {
                    match key.trim().parse::<f64>() {
                        Ok(value) => out.push(ValueMapping {
                            value: Some(value),
                            from: None,
                            to: None,
                            special: None,
                            text: text_of(&result["text"]),
                            color: color(&result["color"], notes),
                        }),
                        Err(_) => notes.push(format!(
                            "value mapping for the text `{key}` dropped (PromQL values are numbers)"
                        )),
                    }
                }
            }
            (Value::String(t), true) if t == "range" => {
                let o = &m["options"];
                out.push(ValueMapping {
                    value: None,
                    from: num(&o["from"]),
                    to: num(&o["to"]),
                    special: None,
                    text: text_of(&o["result"]["text"]),
                    color: color(&o["result"]["color"], notes),
                });
            }
            (Value::String(t), true) if t == "special" => {
                let o = &m["options"];
                let special = match o["match"].as_str().unwrap_or("") {
                    "null" => Some(Special::Null),
                    "nan" => Some(Special::Nan),
                    "null+nan" => Some(Special::NullNan),
                    "true" => Some(Special::True),
                    "false" => Some(Special::False),
                    other => {
                        notes.push(format!("special value mapping `{other}` dropped"));
                        None
                    }
                };
                if let Some(special) = special {
                    out.push(ValueMapping {
                        value: None,
                        from: None,
                        to: None,
                        special: Some(special),
                        text: text_of(&o["result"]["text"]),
                        color: color(&o["result"]["color"], notes),
                    });
                }
            }
            (Value::String(t), _) => notes.push(format!("`{t}` value mapping dropped")),
            // Grafana 7: type 1 = value, 2 = range.
            (Value::Number(n), _) if n.as_i64() == Some(1) => legacy_value(m, notes, &mut out),
            (Value::Number(n), _) if n.as_i64() == Some(2) => legacy_range(m, notes, &mut out),
            _ => notes.push("a value mapping of unknown form dropped".into()),
        }
    }
    // Singlestat: a lone `null → N/A` is Grafana's default, not a choice.
    let value_maps = p["valueMaps"].as_array().cloned().unwrap_or_default();
    let default_only =
        value_maps.len() == 1 && value_maps[0]["value"] == "null" && value_maps[0]["text"] == "N/A";
    if !default_only {
        for m in &value_maps {
            legacy_value(m, notes, &mut out);
        }
    }
    for m in p["rangeMaps"].as_array().into_iter().flatten() {
        legacy_range(m, notes, &mut out);
    }
    if out.len() > MAX_MAPPINGS {
        notes.push(format!(
            "{} value mappings beyond the first {MAX_MAPPINGS} dropped",
            out.len() - MAX_MAPPINGS
        ));
        out.truncate(MAX_MAPPINGS);
    }
    out
}

fn legacy_value(m: &Value, notes: &mut Vec<String>, out: &mut Vec<ValueMapping>) {
    let raw = text_of(&m["value"]);
    let (value, special) = match raw.trim() {
        "null" => (None, Some(Special::Null)),
        other => match other.parse::<f64>() {
            Ok(v) => (Some(v), None),
            Err(_) => {
                notes.push(format!(
                    "value mapping for the text `{raw}` dropped (PromQL values are numbers)"
                ));
                return;
            }
        },
    };
    out.push(ValueMapping {
        value,
        from: None,
        to: None,
        special,
        text: text_of(&m["text"]),
        color: None,
    });
}

fn legacy_range(m: &Value, notes: &mut Vec<String>, out: &mut Vec<ValueMapping>) {
    let (from, to) = (num(&m["from"]), num(&m["to"]));
    if from.is_none() && to.is_none() {
        notes.push("a range mapping without bounds dropped".into());
        return;
    }
    out.push(ValueMapping {
        value: None,
        from,
        to,
        special: None,
        text: text_of(&m["text"]),
        color: None,
    });
}

/// The panel's overrides: `fieldConfig.overrides` (by name or regular expression; display
/// name, unit, fixed colour) and the old graph panel's `seriesOverrides` (alias → colour).
pub fn overrides_of(p: &Value, notes: &mut Vec<String>) -> Vec<FieldOverride> {
    let mut out = Vec::new();
    for o in p["fieldConfig"]["overrides"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let options = text_of(&o["matcher"]["options"]);
        let matcher = match o["matcher"]["id"].as_str().unwrap_or("") {
            "byName" if !options.is_empty() => SeriesMatcher::Name(options),
            "byRegexp" if !options.is_empty() => SeriesMatcher::Regex(options),
            other => {
                notes.push(format!(
                    "override matched `{other}` dropped (only by name or regular expression)"
                ));
                continue;
            }
        };
        let mut kept = FieldOverride {
            matcher,
            display_name: None,
            unit: None,
            color: None,
        };
        for prop in o["properties"].as_array().into_iter().flatten() {
            let value = &prop["value"];
            match prop["id"].as_str().unwrap_or("") {
                "displayName" | "displayNameFromDS" => {
                    kept.display_name = value.as_str().map(str::to_owned)
                }
                "unit" => match value.as_str() {
                    Some(u) if app::components::units::Unit::parse(u).is_some() => {
                        kept.unit = Some(u.to_owned())
                    }
                    Some(u) => notes.push(format!("override unit `{u}` is not known; dropped")),
                    None => {}
                },
                "color" if value["mode"] == "fixed" => {
                    kept.color = color(&value["fixedColor"], notes)
                }
                other => notes.push(format!("override property `{other}` dropped")),
            }
        }
        if kept.display_name.is_some() || kept.unit.is_some() || kept.color.is_some() {
            out.push(kept);
        }
    }
    for o in p["seriesOverrides"].as_array().into_iter().flatten() {
        let alias = text_of(&o["alias"]);
        if alias.is_empty() {
            continue;
        }
        let matcher = match alias.strip_prefix('/').and_then(|a| a.strip_suffix('/')) {
            Some(pattern) => SeriesMatcher::Regex(pattern.to_owned()),
            None => SeriesMatcher::Name(alias.clone()),
        };
        let colour = color(&o["color"], notes);
        let others: Vec<&String> = o
            .as_object()
            .into_iter()
            .flatten()
            .map(|(k, _)| k)
            .filter(|k| *k != "alias" && *k != "color")
            .collect();
        if !others.is_empty() {
            notes.push(format!(
                "series override `{alias}`: {} dropped",
                others
                    .iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        if colour.is_some() {
            out.push(FieldOverride {
                matcher,
                display_name: None,
                unit: None,
                color: colour,
            });
        }
    }
    if out.len() > MAX_OVERRIDES {
        notes.push(format!(
            "{} overrides beyond the first {MAX_OVERRIDES} dropped",
            out.len() - MAX_OVERRIDES
        ));
        out.truncate(MAX_OVERRIDES);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn grafana_8_mappings_keep_values_ranges_and_specials_in_order() {
        let p = json!({"fieldConfig": {"defaults": {"mappings": [
            {"type": "value", "options": {"1": {"text": "Up", "color": "green", "index": 1}, "0": {"text": "Down", "color": "red", "index": 0}}},
            {"type": "range", "options": {"from": 10, "to": 20, "result": {"text": "Busy"}}},
            {"type": "special", "options": {"match": "null", "result": {"text": "Silent", "color": "super-light-blue"}}},
            {"type": "regex", "options": {"pattern": ".*", "result": {"text": "x"}}}
        ]}}});
        let mut notes = Vec::new();
        let maps = mappings_of(&p, &mut notes);
        let texts: Vec<&str> = maps.iter().map(|m| m.text.as_str()).collect();
        assert_eq!(texts, ["Down", "Up", "Busy", "Silent"]);
        assert_eq!(maps[0].color.as_deref(), Some("red"));
        assert_eq!(maps[3].special, Some(Special::Null));
        assert_eq!(maps[3].color, None);
        assert!(
            notes.iter().any(|n| n.contains("super-light-blue")),
            "{notes:?}"
        );
        assert!(
            notes
                .iter()
                .any(|n| n.contains("`regex` value mapping dropped")),
            "{notes:?}"
        );
    }

    #[test]
    fn grafana_7_and_singlestat_mappings_convert_and_the_default_na_is_not_a_choice() {
        let p = json!({"mappings": [], "fieldConfig": {"defaults": {"mappings": [
            {"id": 0, "type": 1, "value": "0", "text": "Down"},
            {"id": 1, "type": 2, "from": "1", "to": "5", "text": "Few"}
        ]}}, "valueMaps": [{"value": "null", "op": "=", "text": "N/A"}]});
        let mut notes = Vec::new();
        let maps = mappings_of(&p, &mut notes);
        assert_eq!(maps.len(), 2, "{maps:?}");
        assert_eq!((maps[1].from, maps[1].to), (Some(1.0), Some(5.0)));
        assert!(notes.is_empty(), "{notes:?}");
    }

    #[test]
    fn overrides_keep_name_regex_display_name_unit_and_fixed_colour() {
        let p = json!({"fieldConfig": {"overrides": [
            {"matcher": {"id": "byName", "options": "api"}, "properties": [
                {"id": "displayName", "value": "API"}, {"id": "unit", "value": "Bps"},
                {"id": "color", "value": {"mode": "fixed", "fixedColor": "purple"}},
                {"id": "custom.lineWidth", "value": 3}]},
            {"matcher": {"id": "byType", "options": "number"}, "properties": [{"id": "unit", "value": "s"}]}
        ]}, "seriesOverrides": [{"alias": "/errors.*/", "color": "#E02F44", "yaxis": 2}]});
        let mut notes = Vec::new();
        let list = overrides_of(&p, &mut notes);
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].matcher, SeriesMatcher::Name("api".into()));
        assert_eq!(list[0].unit.as_deref(), Some("Bps"));
        assert_eq!(list[0].color.as_deref(), Some("purple"));
        assert_eq!(list[1].matcher, SeriesMatcher::Regex("errors.*".into()));
        assert!(
            notes.iter().any(|n| n.contains("custom.lineWidth")),
            "{notes:?}"
        );
        assert!(notes.iter().any(|n| n.contains("byType")), "{notes:?}");
        assert!(notes.iter().any(|n| n.contains("`yaxis`")), "{notes:?}");
    }
}
