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

/// A group as the API's create and update bodies carry it: the group's own fields beside
/// the write's `namespace` (create only), `version` (the one the edit started from) and
/// change `message`, all in one JSON object. The group's fields are read by `GroupSpec`
/// itself, so an unknown member is refused the same way in both places.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct GroupWrite {
    pub group: GroupSpec,
    pub namespace: Option<String>,
    pub version: Option<i64>,
    pub message: Option<String>,
}

impl<'de> Deserialize<'de> for GroupWrite {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(group_write::WriteVisitor)
    }
}

mod group_write {
    use serde::de::value::{MapAccessDeserializer, StrDeserializer};
    use serde::de::{DeserializeSeed, MapAccess, Visitor};
    use serde::Deserialize;

    use super::{GroupSpec, GroupWrite};

    #[derive(Default)]
    struct Envelope {
        namespace: Option<String>,
        version: Option<i64>,
        message: Option<String>,
    }

    /// The body's members minus the envelope's, which it keeps as they pass.
    struct GroupMembers<'a, A> {
        inner: A,
        envelope: &'a mut Envelope,
    }

    impl<'de, A: MapAccess<'de>> MapAccess<'de> for GroupMembers<'_, A> {
        type Error = A::Error;

        fn next_key_seed<K: DeserializeSeed<'de>>(
            &mut self,
            seed: K,
        ) -> Result<Option<K::Value>, A::Error> {
            while let Some(key) = self.inner.next_key::<String>()? {
                match key.as_str() {
                    "namespace" => self.envelope.namespace = self.inner.next_value()?,
                    "version" => self.envelope.version = self.inner.next_value()?,
                    "message" => self.envelope.message = self.inner.next_value()?,
                    _ => {
                        let key = StrDeserializer::<A::Error>::new(&key);
                        return seed.deserialize(key).map(Some);
                    }
                }
            }
            Ok(None)
        }

        fn next_value_seed<V: DeserializeSeed<'de>>(
            &mut self,
            seed: V,
        ) -> Result<V::Value, A::Error> {
            self.inner.next_value_seed(seed)
        }
    }

    pub(super) struct WriteVisitor;

    impl<'de> Visitor<'de> for WriteVisitor {
        type Value = GroupWrite;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a rule group object")
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<GroupWrite, A::Error> {
            let mut envelope = Envelope::default();
            let group = GroupSpec::deserialize(MapAccessDeserializer::new(GroupMembers {
                inner: map,
                envelope: &mut envelope,
            }))?;
            Ok(GroupWrite {
                group,
                namespace: envelope.namespace,
                version: envelope.version,
                message: envelope.message,
            })
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_write_splits_the_envelope_from_the_group() {
        let w: GroupWrite = serde_json::from_str(
            r#"{"version": 3, "name": "keiko", "namespace": "team-a",
                "rules": [{"alert": "Down", "expr": "up == 0"}], "message": "why"}"#,
        )
        .unwrap();
        assert_eq!(w.group.name, "keiko");
        assert_eq!(w.group.rules[0].expr, "up == 0");
        assert_eq!(
            (w.namespace.as_deref(), w.version, w.message.as_deref()),
            (Some("team-a"), Some(3), Some("why"))
        );
        let bare: GroupWrite = serde_json::from_str(r#"{"name": "g"}"#).unwrap();
        assert_eq!(
            (bare.namespace, bare.version, bare.message),
            (None, None, None)
        );
    }

    #[test]
    fn a_group_write_refuses_what_the_group_refuses() {
        let unknown = serde_json::from_str::<GroupWrite>(r#"{"name": "g", "colour": "red"}"#);
        assert!(unknown
            .unwrap_err()
            .to_string()
            .contains("unknown field `colour`"));
        let missing = serde_json::from_str::<GroupWrite>(r#"{"version": 1}"#);
        assert!(missing
            .unwrap_err()
            .to_string()
            .contains("missing field `name`"));
        let wrong = serde_json::from_str::<GroupWrite>(r#"{"name": "g", "version": "x"}"#);
        assert!(wrong.is_err());
    }
}
