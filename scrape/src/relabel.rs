//! Relabeling, exactly as Prometheus applies `relabel_configs` and
//! `metric_relabel_configs`.
//!
//! Each rule reads the values of its `source_labels`, joined by `separator`, and
//! matches them against `regex`, which is anchored at both ends (`(?s)` too, so `.`
//! matches newlines). Then, by `action`:
//!
//! | action | effect |
//! | --- | --- |
//! | `replace` (default) | if the regex matches, sets `target_label` (itself expanded) to `replacement` expanded with the match's groups (`$1`, `${1}`, `$name`); an empty result deletes the label |
//! | `keep` / `drop` | drops the whole label set if the regex does not / does match |
//! | `keepequal` / `dropequal` | drops it if the joined value differs from / equals `target_label`'s value |
//! | `hashmod` | sets `target_label` to the MD5 of the joined value modulo `modulus` (the same shard Prometheus picks) |
//! | `labelmap` | for every label whose *name* matches, adds a copy named by `replacement` |
//! | `labeldrop` / `labelkeep` | removes the labels whose name matches / does not match |
//! | `lowercase` / `uppercase` | sets `target_label` to the joined value in lower / upper case |
//!
//! A missing label reads as the empty string, and a label set to the empty string is
//! removed. Label names are checked with the classic (legacy) rules,
//! `[a-zA-Z_][a-zA-Z0-9_]*`; Prometheus 3 can be configured for UTF-8 names, this
//! crate cannot. Regexes are Rust's `regex` syntax, which matches Go's RE2 for
//! everything relabeling uses; one difference is that `\w`, `\d`, `\s` and `\b` are
//! Unicode-aware here and ASCII-only in Go.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::labels::{is_valid_label_name, Labels};

/// What a relabeling rule does; see the [module documentation](self).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Action {
    #[default]
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    const ALL: [(Action, &'static str); 11] = [
        (Action::Replace, "replace"),
        (Action::Keep, "keep"),
        (Action::Drop, "drop"),
        (Action::KeepEqual, "keepequal"),
        (Action::DropEqual, "dropequal"),
        (Action::HashMod, "hashmod"),
        (Action::LabelMap, "labelmap"),
        (Action::LabelDrop, "labeldrop"),
        (Action::LabelKeep, "labelkeep"),
        (Action::Lowercase, "lowercase"),
        (Action::Uppercase, "uppercase"),
    ];

    /// The name used in configuration files.
    pub fn as_str(self) -> &'static str {
        Action::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("replace", |(_, name)| name)
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Action {
    type Err = String;

    /// Case-insensitive, as in Prometheus.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Action::ALL
            .iter()
            .find(|(_, name)| name.eq_ignore_ascii_case(s))
            .map(|(a, _)| *a)
            .ok_or_else(|| format!("unknown relabel action {s:?}"))
    }
}

impl Serialize for Action {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Action {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// A relabeling regex: the text as configured and its compiled, fully anchored form.
#[derive(Clone)]
pub struct RelabelRegex {
    source: String,
    regex: Regex,
}

impl RelabelRegex {
    /// Compiles `source` anchored at both ends with `.` matching newlines.
    pub fn new(source: &str) -> Result<Self, regex::Error> {
        let regex = Regex::new(&format!("^(?s:{source})$"))?;
        Ok(RelabelRegex {
            source: source.to_owned(),
            regex,
        })
    }

    /// The regex as configured (unanchored).
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// Whether the whole of `text` matches.
    pub fn is_match(&self, text: &str) -> bool {
        self.regex.is_match(text)
    }

    /// `template` expanded with the groups of the match of `text`, or `None` if it does
    /// not match.
    fn expand(&self, text: &str, template: &str) -> Option<String> {
        let captures = self.regex.captures(text)?;
        let mut out = String::new();
        captures.expand(template, &mut out);
        Some(out)
    }

    fn is_default(&self) -> bool {
        self.source == DEFAULT_REGEX
    }
}

const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

impl Default for RelabelRegex {
    fn default() -> Self {
        static DEFAULT: OnceLock<RelabelRegex> = OnceLock::new();
        DEFAULT
            .get_or_init(|| RelabelRegex::new(DEFAULT_REGEX).expect("the default regex compiles"))
            .clone()
    }
}

impl PartialEq for RelabelRegex {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl fmt::Debug for RelabelRegex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.source, f)
    }
}

impl Serialize for RelabelRegex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.source)
    }
}

impl<'de> Deserialize<'de> for RelabelRegex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = String::deserialize(deserializer)?;
        RelabelRegex::new(&source)
            .map_err(|e| serde::de::Error::custom(format!("invalid regex {source:?}: {e}")))
    }
}

fn default_separator() -> String {
    DEFAULT_SEPARATOR.to_owned()
}

fn default_replacement() -> String {
    DEFAULT_REPLACEMENT.to_owned()
}

/// One relabeling rule, in Prometheus's YAML shape, with its defaults.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RelabelConfig {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub source_labels: Vec<String>,
    #[serde(default = "default_separator")]
    pub separator: String,
    #[serde(default)]
    pub regex: RelabelRegex,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub modulus: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target_label: String,
    #[serde(default = "default_replacement")]
    pub replacement: String,
    #[serde(default)]
    pub action: Action,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Default for RelabelConfig {
    fn default() -> Self {
        RelabelConfig {
            source_labels: Vec::new(),
            separator: default_separator(),
            regex: RelabelRegex::default(),
            modulus: 0,
            target_label: String::new(),
            replacement: default_replacement(),
            action: Action::Replace,
        }
    }
}

/// `^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$`: a label name that may contain `$`
/// references, as Prometheus requires of `replace` targets and `labelmap` replacements.
fn is_valid_target_template(s: &str) -> bool {
    static TEMPLATE: OnceLock<Regex> = OnceLock::new();
    TEMPLATE
        .get_or_init(|| {
            Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$").expect("the pattern compiles")
        })
        .is_match(s)
}

impl RelabelConfig {
    /// Checks the rule as Prometheus does when loading a configuration; the error says
    /// which field is wrong.
    pub fn validate(&self) -> Result<(), String> {
        let action = self.action;
        let target = self.target_label.as_str();
        if let Some(bad) = self.source_labels.iter().find(|l| !is_valid_label_name(l)) {
            return Err(format!(
                "{bad:?} is not a valid label name in source_labels"
            ));
        }
        if action == Action::HashMod && self.modulus == 0 {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        let needs_target = matches!(
            action,
            Action::Replace
                | Action::HashMod
                | Action::Lowercase
                | Action::Uppercase
                | Action::KeepEqual
                | Action::DropEqual
        );
        if needs_target && target.is_empty() {
            return Err(format!(
                "relabel configuration for {action} action requires 'target_label' value"
            ));
        }
        let target_ok = if action == Action::Replace && target.contains('$') {
            is_valid_target_template(target)
        } else {
            is_valid_label_name(target)
        };
        if needs_target && !target_ok {
            return Err(format!(
                "{target:?} is invalid 'target_label' for {action} action"
            ));
        }
        let plain = matches!(
            action,
            Action::Lowercase | Action::Uppercase | Action::KeepEqual | Action::DropEqual
        );
        if plain && self.replacement != DEFAULT_REPLACEMENT {
            return Err(format!("'replacement' can not be set for {action} action"));
        }
        if action == Action::LabelMap && !is_valid_target_template(&self.replacement) {
            return Err(format!(
                "{:?} is invalid 'replacement' for {action} action",
                self.replacement
            ));
        }
        if matches!(action, Action::KeepEqual | Action::DropEqual)
            && (!self.regex.is_default()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{action} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(action, Action::LabelDrop | Action::LabelKeep)
            && (!self.source_labels.is_empty()
                || !target.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{action} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }

    /// Applies this rule to `labels`; `false` means the label set is dropped.
    fn apply(&self, labels: &mut BTreeMap<String, String>) -> bool {
        let value = || {
            self.source_labels
                .iter()
                .map(|name| labels.get(name).map_or("", String::as_str))
                .collect::<Vec<_>>()
                .join(&self.separator)
        };
        match self.action {
            Action::Keep => return self.regex.is_match(&value()),
            Action::Drop => return !self.regex.is_match(&value()),
            Action::KeepEqual => {
                return labels.get(&self.target_label).map_or("", String::as_str) == value()
            }
            Action::DropEqual => {
                return labels.get(&self.target_label).map_or("", String::as_str) != value()
            }
            Action::Replace => {
                let value = value();
                let Some(target) = self.regex.expand(&value, &self.target_label) else {
                    return true;
                };
                if !is_valid_label_name(&target) {
                    return true;
                }
                let replaced = self
                    .regex
                    .expand(&value, &self.replacement)
                    .unwrap_or_default();
                set(labels, target, replaced);
            }
            Action::HashMod => {
                let hash = crate::md5::digest(value().as_bytes());
                let low = u64::from_be_bytes(hash[8..].try_into().expect("8 bytes"));
                set(
                    labels,
                    self.target_label.clone(),
                    (low % self.modulus.max(1)).to_string(),
                );
            }
            Action::Lowercase => set(labels, self.target_label.clone(), value().to_lowercase()),
            Action::Uppercase => set(labels, self.target_label.clone(), value().to_uppercase()),
            Action::LabelMap => {
                let snapshot: Vec<(String, String)> =
                    labels.iter().map(|(n, v)| (n.clone(), v.clone())).collect();
                for (name, value) in snapshot {
                    if let Some(new_name) = self.regex.expand(&name, &self.replacement) {
                        if !new_name.is_empty() {
                            set(labels, new_name, value);
                        }
                    }
                }
            }
            Action::LabelDrop => labels.retain(|name, _| !self.regex.is_match(name)),
            Action::LabelKeep => labels.retain(|name, _| self.regex.is_match(name)),
        }
        true
    }
}

fn set(labels: &mut BTreeMap<String, String>, name: String, value: String) {
    if value.is_empty() {
        labels.remove(&name);
    } else {
        labels.insert(name, value);
    }
}

/// Applies `configs` in order to a label map; `false` means the set was dropped (the
/// map is then left as it was when dropped).
pub fn process_map(labels: &mut BTreeMap<String, String>, configs: &[RelabelConfig]) -> bool {
    configs.iter().all(|config| config.apply(labels))
}

/// Applies `configs` in order to a sorted label set: the result, or `None` if a rule
/// dropped it.
pub fn process(labels: &[(String, String)], configs: &[RelabelConfig]) -> Option<Labels> {
    let mut map: BTreeMap<String, String> = labels
        .iter()
        .filter(|(_, v)| !v.is_empty())
        .map(|(n, v)| (n.clone(), v.clone()))
        .collect();
    process_map(&mut map, configs).then(|| map.into_iter().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(pairs: &[(&str, &str)]) -> Labels {
        let mut l: Labels = pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        l.sort();
        l
    }

    /// Rules from YAML, validated, as a configuration would give them.
    fn rules(yaml: &str) -> Vec<RelabelConfig> {
        let rules: Vec<RelabelConfig> = serde_norway::from_str(yaml).unwrap();
        for r in &rules {
            r.validate().unwrap();
        }
        rules
    }

    fn run(input: &[(&str, &str)], yaml: &str) -> Option<Labels> {
        process(&labels(input), &rules(yaml))
    }

    const ABC: [(&str, &str); 3] = [("a", "foo"), ("b", "bar"), ("c", "baz")];

    #[test]
    fn replace_with_groups() {
        let out = run(
            &ABC,
            "- source_labels: [a]\n  regex: f(.*)\n  target_label: d\n  replacement: ch${1}-ch${1}\n",
        );
        assert_eq!(
            out,
            Some(labels(&[
                ("a", "foo"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "choo-choo")
            ]))
        );
    }

    #[test]
    fn replace_chained_with_several_sources() {
        let yaml = r#"
- source_labels: [a, b]
  regex: f(.*);(.*)r
  target_label: a
  replacement: a${1}b${2}
- source_labels: [c, a]
  regex: (b).*;a(.*)ba
  target_label: d
  replacement: $1$2$2
"#;
        let out = run(&ABC, yaml);
        assert_eq!(
            out,
            Some(labels(&[
                ("a", "aoobba"),
                ("b", "bar"),
                ("c", "baz"),
                ("d", "booboob")
            ]))
        );
    }

    #[test]
    fn regex_is_anchored() {
        let yaml = "- source_labels: [a]\n  regex: o\n  target_label: d\n  replacement: hit\n";
        assert_eq!(run(&ABC, yaml), Some(labels(&ABC)));
        let yaml = "- source_labels: [a]\n  regex: foo\n  target_label: d\n  replacement: hit\n";
        assert_eq!(run(&ABC, yaml).unwrap().last().unwrap().1, "hit");
    }

    #[test]
    fn dot_matches_newlines() {
        let out = run(
            &[("a", "x\ny")],
            "- source_labels: [a]\n  regex: x.y\n  action: keep\n",
        );
        assert!(out.is_some());
    }

    #[test]
    fn no_match_leaves_labels_alone_and_empty_result_deletes() {
        let yaml = "- source_labels: [a]\n  regex: nope(.*)\n  target_label: b\n";
        assert_eq!(run(&ABC, yaml), Some(labels(&ABC)));
        // A replacement expanding to nothing deletes the target.
        let yaml = "- source_labels: [a]\n  regex: (f).*\n  target_label: a\n  replacement: $2\n";
        assert_eq!(run(&ABC, yaml), Some(labels(&[("b", "bar"), ("c", "baz")])));
    }

    #[test]
    fn missing_source_reads_as_empty() {
        let yaml = "- source_labels: [nope]\n  target_label: d\n  replacement: set\n";
        assert_eq!(
            run(&[("a", "1")], yaml),
            Some(labels(&[("a", "1"), ("d", "set")]))
        );
        let yaml = "- source_labels: [nope]\n  regex: .+\n  target_label: d\n  replacement: set\n";
        assert_eq!(run(&[("a", "1")], yaml), Some(labels(&[("a", "1")])));
    }

    #[test]
    fn templated_target_label() {
        let yaml = r#"
- source_labels: [a]
  regex: some-([^-]+)-([^,]+)
  target_label: ${1}
  replacement: ${2}
"#;
        let out = run(&[("a", "some-name-value")], yaml);
        assert_eq!(
            out,
            Some(labels(&[("a", "some-name-value"), ("name", "value")]))
        );
        // A target expanding to an invalid name is skipped.
        let yaml = r#"
- source_labels: [a]
  regex: some-([^-]+)-([^,]+)
  target_label: ${3}
  replacement: ${2}
"#;
        assert_eq!(
            run(&[("a", "some-name-value")], yaml),
            Some(labels(&[("a", "some-name-value")]))
        );
        let out = run(&[("a", "some-9x-value")], "- source_labels: [a]\n  regex: some-([^-]+)-(.*)\n  target_label: $1\n  replacement: $2\n");
        assert_eq!(out, Some(labels(&[("a", "some-9x-value")])));
    }

    #[test]
    fn named_groups_and_literal_dollar() {
        let yaml = r#"
- source_labels: [a]
  regex: (?P<head>f)(?P<tail>.*)
  target_label: d
  replacement: $tail-$$-${head}x-$headx
"#;
        assert_eq!(
            run(&[("a", "foo")], yaml),
            Some(labels(&[("a", "foo"), ("d", "oo-$-fx-")]))
        );
    }

    #[test]
    fn keep_and_drop() {
        assert_eq!(
            run(
                &ABC,
                "- source_labels: [a]\n  regex: .*o.*\n  action: drop\n"
            ),
            None
        );
        assert!(run(
            &ABC,
            "- source_labels: [a]\n  regex: .*x.*\n  action: drop\n"
        )
        .is_some());
        assert_eq!(
            run(
                &ABC,
                "- source_labels: [a]\n  regex: no-match\n  action: keep\n"
            ),
            None
        );
        assert!(run(&ABC, "- source_labels: [a]\n  regex: f.*\n  action: KEEP\n").is_some());
        // keep on a missing label with the default regex keeps (it matches "").
        assert!(run(&ABC, "- source_labels: [nope]\n  action: keep\n").is_some());
    }

    #[test]
    fn keepequal_and_dropequal() {
        let input = [("__tmp_port", "9100"), ("port", "9100"), ("other", "1")];
        let keep = "- source_labels: [__tmp_port]\n  target_label: port\n  action: keepequal\n";
        let drop = "- source_labels: [__tmp_port]\n  target_label: port\n  action: dropequal\n";
        assert!(run(&input, keep).is_some());
        assert!(run(&input, drop).is_none());
        let input = [("__tmp_port", "9100"), ("port", "80")];
        assert!(run(&input, keep).is_none());
        assert!(run(&input, drop).is_some());
    }

    #[test]
    fn hashmod_matches_prometheus() {
        let out = run(
            &ABC,
            "- source_labels: [c]\n  target_label: d\n  modulus: 1000\n  action: hashmod\n",
        );
        assert_eq!(crate::labels::get(&out.unwrap(), "d"), Some("976"));
        let out = run(
            &[("__address__", "localhost:9100")],
            "- source_labels: [__address__]\n  target_label: __tmp_hash\n  modulus: 8\n  action: hashmod\n",
        );
        assert_eq!(crate::labels::get(&out.unwrap(), "__tmp_hash"), Some("7"));
    }

    #[test]
    fn labelmap() {
        let input = [
            ("__meta_kubernetes_pod_label_app", "api"),
            ("__meta_kubernetes_pod_label_tier", "web"),
            ("job", "k"),
        ];
        let yaml = "- regex: __meta_kubernetes_pod_label_(.+)\n  action: labelmap\n";
        let out = run(&input, yaml).unwrap();
        assert_eq!(crate::labels::get(&out, "app"), Some("api"));
        assert_eq!(crate::labels::get(&out, "tier"), Some("web"));
        assert_eq!(out.len(), 5);
        let yaml = "- regex: (b.*)\n  replacement: bar_${1}\n  action: labelmap\n";
        let out = run(&ABC, yaml).unwrap();
        assert_eq!(
            out,
            labels(&[("a", "foo"), ("b", "bar"), ("bar_b", "bar"), ("c", "baz")])
        );
    }

    #[test]
    fn labeldrop_and_labelkeep() {
        assert_eq!(
            run(&ABC, "- regex: (b|c)\n  action: labeldrop\n"),
            Some(labels(&[("a", "foo")]))
        );
        assert_eq!(
            run(&ABC, "- regex: (b|c)\n  action: labelkeep\n"),
            Some(labels(&[("b", "bar"), ("c", "baz")]))
        );
        // Dropping everything leaves an empty (not dropped) set.
        assert_eq!(
            run(&ABC, "- regex: .*\n  action: labeldrop\n"),
            Some(vec![])
        );
    }

    #[test]
    fn lowercase_and_uppercase() {
        let input = [("foo", "bAr123Foo")];
        let out = run(&input, "- source_labels: [foo]\n  target_label: foo_lower\n  action: lowercase\n- source_labels: [foo]\n  target_label: foo_upper\n  action: uppercase\n");
        assert_eq!(
            out,
            Some(labels(&[
                ("foo", "bAr123Foo"),
                ("foo_lower", "bar123foo"),
                ("foo_upper", "BAR123FOO")
            ]))
        );
    }

    #[test]
    fn documentation_address_rewrite() {
        // The usual "scrape the port from an annotation" rule.
        let yaml = r#"
- source_labels: [__address__, __meta_kubernetes_pod_annotation_prometheus_io_port]
  action: replace
  regex: ([^:]+)(?::\d+)?;(\d+)
  replacement: $1:$2
  target_label: __address__
"#;
        let out = run(
            &[
                ("__address__", "10.1.2.3:8080"),
                (
                    "__meta_kubernetes_pod_annotation_prometheus_io_port",
                    "9102",
                ),
            ],
            yaml,
        )
        .unwrap();
        assert_eq!(
            crate::labels::get(&out, "__address__"),
            Some("10.1.2.3:9102")
        );
        let out = run(&[("__address__", "10.1.2.3")], yaml).unwrap();
        assert_eq!(
            crate::labels::get(&out, "__address__"),
            Some("10.1.2.3"),
            "no port annotation: no match"
        );
    }

    #[test]
    fn validation_follows_prometheus() {
        let err = |yaml: &str| {
            let rules: Vec<RelabelConfig> = serde_norway::from_str(yaml).unwrap();
            rules[0].validate().unwrap_err()
        };
        assert_eq!(
            err("- action: hashmod\n  target_label: a\n"),
            "relabel configuration for hashmod requires non-zero modulus"
        );
        assert_eq!(
            err("- action: replace\n"),
            "relabel configuration for replace action requires 'target_label' value"
        );
        assert_eq!(
            err("- action: lowercase\n"),
            "relabel configuration for lowercase action requires 'target_label' value"
        );
        assert_eq!(
            err("- target_label: 1a\n"),
            "\"1a\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err("- target_label: a-$1\n"),
            "\"a-$1\" is invalid 'target_label' for replace action"
        );
        assert_eq!(
            err("- action: uppercase\n  target_label: a\n  replacement: x\n"),
            "'replacement' can not be set for uppercase action"
        );
        assert_eq!(
            err("- action: labelmap\n  replacement: a-b\n"),
            "\"a-b\" is invalid 'replacement' for labelmap action"
        );
        assert_eq!(
            err("- action: labeldrop\n  source_labels: [a]\n"),
            "labeldrop action requires only 'regex', and no other fields"
        );
        assert_eq!(err("- action: keepequal\n  target_label: a\n  regex: x\n"), "keepequal action requires only 'source_labels' and `target_label`, and no other fields");
        assert_eq!(
            err("- source_labels: [a.b]\n  action: keep\n"),
            "\"a.b\" is not a valid label name in source_labels"
        );
        for yaml in ["- action: nope\n", "- regex: '('\n", "- bogus: 1\n"] {
            assert!(
                serde_norway::from_str::<Vec<RelabelConfig>>(yaml).is_err(),
                "{yaml}"
            );
        }
        assert!(
            serde_norway::from_str::<Vec<RelabelConfig>>("- action: LabelDrop\n  regex: x\n")
                .unwrap()[0]
                .validate()
                .is_ok()
        );
    }

    #[test]
    fn serializes_back() {
        let r = rules("- source_labels: [a]\n  regex: x(.*)\n  target_label: b\n");
        let yaml = serde_norway::to_string(&r).unwrap();
        assert_eq!(rules(&yaml), r);
        assert!(yaml.contains("regex: x(.*)"), "{yaml}");
        assert_eq!(format!("{:?}", r[0].regex), "\"x(.*)\"");
    }
}
