//! How a panel shows its values beyond unit and thresholds: value mappings (a value, a
//! range or a special value shown as text, optionally in a colour) and overrides (per series,
//! matched by name or regular expression: display name, unit, colour) — the parts of
//! Grafana's `fieldConfig` the native model holds.

use serde::{Deserialize, Serialize};

use super::model::is_color;
use crate::error::Error;

pub const MAX_MAPPINGS: usize = 50;
pub const MAX_OVERRIDES: usize = 50;
/// Compiled size of an override's regular expression (bytes), so no pattern can be made
/// to cost unbounded memory or time.
const REGEX_SIZE_LIMIT: usize = 64 * 1024;
const MAX_TEXT: usize = 200;

/// Values a mapping can match besides numbers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Special {
    /// No value (no data).
    Null,
    Nan,
    NullNan,
    /// 1 (as Prometheus writes true).
    True,
    /// 0.
    False,
}

/// One mapping: exactly one of `value`, a range (`from`/`to`, either open) or `special`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueMapping {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub special: Option<Special>,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

impl ValueMapping {
    fn matches(&self, v: Option<f64>) -> bool {
        if let Some(special) = self.special {
            return match (special, v) {
                (Special::Null | Special::NullNan, None) => true,
                (Special::Nan | Special::NullNan, Some(x)) => x.is_nan(),
                (Special::True, Some(x)) => x == 1.0,
                (Special::False, Some(x)) => x == 0.0,
                _ => false,
            };
        }
        let Some(x) = v.filter(|x| !x.is_nan()) else {
            return false;
        };
        if let Some(value) = self.value {
            return x == value;
        }
        self.from.is_none_or(|f| x >= f) && self.to.is_none_or(|t| x <= t)
    }
}

/// What an override applies to: series whose display name equals `name`, or matches
/// `regex` (whole name, as Grafana's `byRegexp`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "snake_case")]
pub enum SeriesMatcher {
    Name(String),
    Regex(String),
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldOverride {
    pub matcher: SeriesMatcher,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub color: Option<String>,
}

fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("not a regular expression: {e}"))
}

/// Checks a panel's mappings and overrides; errors name the field under `at`
/// (`panels[2].mappings[0].text`).
pub fn validate(
    at: &dyn Fn(&str) -> String,
    mappings: &[ValueMapping],
    overrides: &[FieldOverride],
) -> Result<(), Error> {
    let bad = |field: String, message: String| Err(Error::invalid(field, message));
    if mappings.len() > MAX_MAPPINGS {
        return bad(at("mappings"), format!("at most {MAX_MAPPINGS} mappings"));
    }
    for (i, m) in mappings.iter().enumerate() {
        let field = |f: &str| at(&format!("mappings[{i}].{f}"));
        let kinds = [
            m.value.is_some(),
            m.from.is_some() || m.to.is_some(),
            m.special.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return bad(
                at(&format!("mappings[{i}]")),
                "give exactly one of `value`, a range (`from`/`to`) or `special`".into(),
            );
        }
        if let (Some(f), Some(t)) = (m.from, m.to) {
            if f > t {
                return bad(field("to"), "must not be below `from`".into());
            }
        }
        if m.text.chars().count() > MAX_TEXT {
            return bad(
                field("text"),
                format!("must be at most {MAX_TEXT} characters"),
            );
        }
        if m.color.as_deref().is_some_and(|c| !is_color(c)) {
            return bad(
                field("color"),
                "use a colour name (green, red …) or #rrggbb".into(),
            );
        }
    }
    if overrides.len() > MAX_OVERRIDES {
        return bad(
            at("overrides"),
            format!("at most {MAX_OVERRIDES} overrides"),
        );
    }
    for (i, o) in overrides.iter().enumerate() {
        let field = |f: &str| at(&format!("overrides[{i}].{f}"));
        match &o.matcher {
            SeriesMatcher::Name(n) if n.is_empty() || n.chars().count() > 500 => {
                return bad(field("matcher.name"), "must be 1 to 500 characters".into());
            }
            SeriesMatcher::Regex(r) if r.len() > 500 => {
                return bad(field("matcher.regex"), "must be at most 500 bytes".into());
            }
            SeriesMatcher::Regex(r) => {
                if let Err(e) = compile(r) {
                    return bad(field("matcher.regex"), e);
                }
            }
            SeriesMatcher::Name(_) => {}
        }
        if o.display_name
            .as_deref()
            .is_some_and(|n| n.chars().count() > MAX_TEXT)
        {
            return bad(
                field("display_name"),
                format!("must be at most {MAX_TEXT} characters"),
            );
        }
        if let Some(u) = o.unit.as_deref() {
            if app::components::units::Unit::parse(u).is_none() {
                return bad(field("unit"), format!("`{u}` is not a unit"));
            }
        }
        if o.color.as_deref().is_some_and(|c| !is_color(c)) {
            return bad(
                field("color"),
                "use a colour name (green, red …) or #rrggbb".into(),
            );
        }
    }
    Ok(())
}

/// The mapping that applies to `v` (the first that matches, as Grafana picks), if any.
pub fn mapping_for(mappings: &[ValueMapping], v: Option<f64>) -> Option<&ValueMapping> {
    mappings.iter().find(|m| m.matches(v))
}

/// What the overrides say for one series.
#[derive(Debug, Default, PartialEq)]
pub struct Applied {
    pub display_name: Option<String>,
    pub unit: Option<String>,
    pub color: Option<String>,
}

/// A panel's overrides with their regular expressions compiled once (a panel render asks
/// for every series it draws).
pub struct Overrides<'a> {
    list: Vec<(&'a FieldOverride, Option<regex::Regex>)>,
}

impl<'a> Overrides<'a> {
    pub fn compile(overrides: &'a [FieldOverride]) -> Overrides<'a> {
        Overrides {
            list: overrides
                .iter()
                .map(|o| match &o.matcher {
                    // Validated on save; a pattern that no longer compiles matches nothing.
                    SeriesMatcher::Regex(r) => (o, compile(r).ok()),
                    SeriesMatcher::Name(_) => (o, None),
                })
                .collect(),
        }
    }

    /// What the overrides say for the series named `name`: later overrides win per property.
    pub fn for_name(&self, name: &str) -> Applied {
        let mut applied = Applied::default();
        for (o, re) in &self.list {
            let hit = match &o.matcher {
                SeriesMatcher::Name(n) => n == name,
                SeriesMatcher::Regex(_) => re.as_ref().is_some_and(|re| re.is_match(name)),
            };
            if hit {
                if o.display_name.is_some() {
                    applied.display_name.clone_from(&o.display_name);
                }
                if o.unit.is_some() {
                    applied.unit.clone_from(&o.unit);
                }
                if o.color.is_some() {
                    applied.color.clone_from(&o.color);
                }
            }
        }
        applied
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mapping(json: serde_json::Value) -> ValueMapping {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn mappings_match_values_ranges_and_specials_first_wins() {
        let maps = vec![
            mapping(serde_json::json!({"value": 0.0, "text": "Down", "color": "red"})),
            mapping(serde_json::json!({"from": 0.0, "to": 10.0, "text": "Low"})),
            mapping(serde_json::json!({"special": "null", "text": "Silent"})),
        ];
        assert_eq!(mapping_for(&maps, Some(0.0)).unwrap().text, "Down");
        assert_eq!(mapping_for(&maps, Some(5.0)).unwrap().text, "Low");
        assert_eq!(mapping_for(&maps, None).unwrap().text, "Silent");
        assert!(mapping_for(&maps, Some(11.0)).is_none());
        assert!(mapping_for(&maps, Some(f64::NAN)).is_none());
    }

    #[test]
    fn overrides_match_by_name_or_whole_regex_and_later_ones_win() {
        let o = |m: SeriesMatcher, name: &str| FieldOverride {
            matcher: m,
            display_name: Some(name.into()),
            unit: None,
            color: None,
        };
        let list = vec![
            o(SeriesMatcher::Regex("api.*".into()), "API"),
            o(SeriesMatcher::Name("api-2".into()), "Second API"),
        ];
        assert_eq!(
            Overrides::compile(&list)
                .for_name("api-1")
                .display_name
                .as_deref(),
            Some("API")
        );
        assert_eq!(
            Overrides::compile(&list)
                .for_name("api-2")
                .display_name
                .as_deref(),
            Some("Second API")
        );
        assert_eq!(
            Overrides::compile(&list).for_name("my-api").display_name,
            None,
            "anchored"
        );
    }

    #[test]
    fn bad_mappings_and_overrides_name_their_field() {
        let at = |f: &str| format!("panels[0].{f}");
        let both = mapping(serde_json::json!({"value": 1.0, "special": "nan", "text": "x"}));
        let err = validate(&at, &[both], &[]).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].mappings[0]"));
        let regex = FieldOverride {
            matcher: SeriesMatcher::Regex("(".into()),
            display_name: None,
            unit: None,
            color: None,
        };
        let err = validate(&at, &[], &[regex]).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].overrides[0].matcher.regex"));
        let huge = FieldOverride {
            matcher: SeriesMatcher::Regex("(a{1,100}){1,100}".into()),
            display_name: None,
            unit: None,
            color: None,
        };
        assert!(
            validate(&at, &[], &[huge]).is_err(),
            "over the compiled size limit"
        );
    }
}
