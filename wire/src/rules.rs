//! Rule groups as Prometheus rule files write them. The same structs are the YAML file
//! format (import/export), the JSON API body and what the rule editor edits, so a group
//! looks the same everywhere. The server validates them (`rules::validate`: PromQL,
//! templates, durations) before anything is stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub groups: Vec<GroupSpec>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u64>,
    /// The data source the group is evaluated against, by name (the portal's extension;
    /// the default metrics source when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(default)]
    pub rules: Vec<RuleSpec>,
}

/// What an alerting rule does when its query returns nothing or fails (the portal's
/// extension, as Grafana offers it). Absent: Prometheus's behaviour — no data resolves the
/// alerts (`ok`), an error keeps them as they were (`keep_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoDataBehaviour {
    /// Alerts stay as they were.
    KeepState,
    /// One alert with the rule's labels becomes pending, then firing after `for`.
    Alerting,
    /// Active alerts resolve.
    Ok,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alert: Option<String>,
    #[serde(deserialize_with = "scalar_string")]
    pub expr: String,
    #[serde(default, rename = "for", skip_serializing_if = "Option::is_none")]
    pub for_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub keep_firing_for: Option<String>,
    #[serde(
        default,
        deserialize_with = "scalar_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub labels: BTreeMap<String, String>,
    #[serde(
        default,
        deserialize_with = "scalar_map",
        skip_serializing_if = "BTreeMap::is_empty"
    )]
    pub annotations: BTreeMap<String, String>,
    /// When the query returns no series (alerting rules only; default `ok`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_data_state: Option<NoDataBehaviour>,
    /// When the query fails (alerting rules only; default `keep_state`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_state: Option<NoDataBehaviour>,
}

impl RuleSpec {
    pub fn is_alert(&self) -> bool {
        self.alert.is_some()
    }

    /// The alert or record name.
    pub fn name(&self) -> &str {
        self.alert
            .as_deref()
            .or(self.record.as_deref())
            .unwrap_or("")
    }
}

/// A YAML scalar (string, number, bool) as text, as Prometheus reads `expr: 1`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Scalar {
    S(String),
    I(i64),
    F(f64),
    B(bool),
}

impl Scalar {
    fn into_string(self) -> String {
        match self {
            Scalar::S(s) => s,
            Scalar::I(i) => i.to_string(),
            Scalar::F(f) => f.to_string(),
            Scalar::B(b) => b.to_string(),
        }
    }
}

fn scalar_string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Scalar::deserialize(d).map(Scalar::into_string)
}

fn scalar_map<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<String, String>, D::Error> {
    let map: Option<BTreeMap<String, Scalar>> = Option::deserialize(d)?;
    Ok(map
        .unwrap_or_default()
        .into_iter()
        .map(|(k, v)| (k, v.into_string()))
        .collect())
}
