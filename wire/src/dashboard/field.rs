//! How a panel shows its values beyond unit and thresholds: value mappings (a value, a
//! range or a special value shown as text, optionally in a colour) and overrides (per series,
//! matched by name or regular expression: display name, unit, colour) — the parts of
//! Grafana's `fieldConfig` the native model holds.

use serde::{Deserialize, Serialize};

use super::{is_color, Checks};
use crate::FieldError;

pub const MAX_MAPPINGS: usize = 50;
pub const MAX_OVERRIDES: usize = 50;
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
    /// Whether this mapping applies to `v` (`None`: no value).
    pub fn matches(&self, v: Option<f64>) -> bool {
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

/// Checks a panel's mappings and overrides; errors name the field under `at`
/// (`panels[2].mappings[0].text`).
pub(super) fn check(
    at: &dyn Fn(&str) -> String,
    mappings: &[ValueMapping],
    overrides: &[FieldOverride],
    checks: &dyn Checks,
) -> Result<(), FieldError> {
    let bad = |field: String, message: String| Err(FieldError::new(field, message));
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
                if let Err(e) = checks.regex(r) {
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
            if !checks.unit(u) {
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
