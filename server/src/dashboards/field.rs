//! What the server does with a panel's value mappings and overrides (the types are
//! `wire::dashboard`'s): the mapping for a value, and overrides with their regular
//! expressions compiled once per render.

pub use wire::dashboard::{
    FieldOverride, SeriesMatcher, Special, ValueMapping, MAX_MAPPINGS, MAX_OVERRIDES,
};

/// Compiled size of an override's regular expression (bytes), so no pattern can be made
/// to cost unbounded memory or time.
const REGEX_SIZE_LIMIT: usize = 64 * 1024;

pub(super) fn compile(pattern: &str) -> Result<regex::Regex, String> {
    regex::RegexBuilder::new(&format!("^(?:{pattern})$"))
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| format!("not a regular expression: {e}"))
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
        // A text panel carrying only the mappings and overrides under test.
        let validate = |mappings: &[ValueMapping], overrides: &[FieldOverride]| {
            let mut d: super::super::model::Dashboard = serde_json::from_value(serde_json::json!(
                {"title": "T", "panels": [{"id": 1, "type": "text", "grid": {"x": 0, "y": 0, "w": 8, "h": 8}}]}
            ))
            .unwrap();
            d.panels[0].mappings = mappings.to_vec();
            d.panels[0].overrides = overrides.to_vec();
            super::super::model::validate(&d)
        };
        let both = mapping(serde_json::json!({"value": 1.0, "special": "nan", "text": "x"}));
        let err = validate(&[both], &[]).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].mappings[0]"));
        let regex = FieldOverride {
            matcher: SeriesMatcher::Regex("(".into()),
            display_name: None,
            unit: None,
            color: None,
        };
        let err = validate(&[], &[regex]).unwrap_err();
        assert_eq!(err.field(), Some("panels[0].overrides[0].matcher.regex"));
        let huge = FieldOverride {
            matcher: SeriesMatcher::Regex("(a{1,100}){1,100}".into()),
            display_name: None,
            unit: None,
            color: None,
        };
        assert!(
            validate(&[], &[huge]).is_err(),
            "over the compiled size limit"
        );
    }
}
