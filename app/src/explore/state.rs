//! The Explore view as the URL holds it.

use leptos_router::params::ParamsMap;

use crate::components::chart_model::encode_pairs;
use crate::components::time_range::preset_of;

/// The view as the URL holds it.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct ExploreState {
    pub source: Option<i64>,
    pub query: String,
    pub instant: bool,
    pub from: String,
    pub to: String,
    pub refresh: String,
    pub step: Option<f64>,
    pub focus: Option<usize>,
    pub unit: String,
}

impl ExploreState {
    pub fn from_params(p: &ParamsMap) -> ExploreState {
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty());
        ExploreState {
            source: get("ds").and_then(|v| v.parse().ok()),
            query: get("q").unwrap_or_default(),
            instant: get("mode").as_deref() == Some("instant"),
            from: get("from").unwrap_or_else(|| "now-1h".into()),
            to: get("to").unwrap_or_else(|| "now".into()),
            refresh: get("refresh").unwrap_or_else(|| "off".into()),
            step: get("step").and_then(|v| v.parse().ok()),
            focus: get("focus").and_then(|v| v.parse().ok()),
            unit: get("unit").unwrap_or_default(),
        }
    }

    pub fn url(&self) -> String {
        let mut pairs = Vec::new();
        if let Some(ds) = self.source {
            pairs.push(("ds", ds.to_string()));
        }
        pairs.push(("q", self.query.clone()));
        pairs.push((
            "mode",
            if self.instant { "instant" } else { "range" }.into(),
        ));
        pairs.push(("from", self.from.clone()));
        pairs.push(("to", self.to.clone()));
        if self.refresh != "off" && !self.refresh.is_empty() {
            pairs.push(("refresh", self.refresh.clone()));
        }
        if let Some(step) = self.step {
            pairs.push(("step", step.to_string()));
        }
        if let Some(focus) = self.focus {
            pairs.push(("focus", focus.to_string()));
        }
        if !self.unit.is_empty() {
            pairs.push(("unit", self.unit.clone()));
        }
        format!("/explore/metrics?{}", encode_pairs(&pairs))
    }

    pub(super) fn preset(&self) -> String {
        preset_of(&self.from, &self.to)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_view() {
        let st = ExploreState {
            source: Some(3),
            query: "sum(rate(keiko_http_requests_total{method=\"POST\"}[5m]))".into(),
            instant: false,
            from: "now-6h".into(),
            to: "now".into(),
            refresh: "30s".into(),
            step: Some(15.0),
            focus: Some(1),
            unit: "reqps".into(),
        };
        let url = st.url();
        let query = url.split_once('?').unwrap().1;
        let mut map = ParamsMap::new();
        for pair in query.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            map.insert(k.to_string(), percent_decode(v));
        }
        assert_eq!(ExploreState::from_params(&map), st);
        assert_eq!(st.preset(), "6h");
    }

    fn percent_decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'%' {
                out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).unwrap());
                i += 3;
            } else {
                out.push(bytes[i]);
                i += 1;
            }
        }
        String::from_utf8(out).unwrap()
    }
}
