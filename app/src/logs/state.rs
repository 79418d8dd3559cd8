//! Explore → Logs as the URL holds it: `/explore/logs?query=…&from=…&to=…&limit=…&live=1`.

use leptos_router::params::ParamsMap;

use crate::components::chart_model::encode_pairs;
use crate::components::log_model::{LogsRequest, DEFAULT_LIMIT};

/// Most lines one page may ask for (the API's own limit).
const MAX_LIMIT: usize = 5_000;

#[derive(Clone, Debug, PartialEq, Default)]
pub struct LogsState {
    pub query: String,
    pub from: String,
    pub to: String,
    pub limit: usize,
    /// Live tail on.
    pub live: bool,
}

impl LogsState {
    pub fn from_params(p: &ParamsMap) -> LogsState {
        let get = |k: &str| p.get(k).filter(|v| !v.is_empty());
        LogsState {
            query: get("query").unwrap_or_default(),
            from: get("from").unwrap_or_else(|| "now-1h".into()),
            to: get("to").unwrap_or_else(|| "now".into()),
            limit: get("limit")
                .and_then(|v| v.parse().ok())
                .filter(|n| (1..=MAX_LIMIT).contains(n))
                .unwrap_or(DEFAULT_LIMIT),
            live: get("live").as_deref() == Some("1"),
        }
    }

    pub fn url(&self) -> String {
        let mut pairs = vec![
            ("query", self.query.clone()),
            ("from", self.from.clone()),
            ("to", self.to.clone()),
        ];
        if self.limit != DEFAULT_LIMIT {
            pairs.push(("limit", self.limit.to_string()));
        }
        if self.live {
            pairs.push(("live", "1".into()));
        }
        format!("/explore/logs?{}", encode_pairs(&pairs))
    }

    /// The first page of the search this view shows.
    pub fn request(&self) -> LogsRequest {
        LogsRequest {
            query: self.query.clone(),
            from: self.from.clone(),
            to: self.to.clone(),
            limit: self.limit,
            cursor: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_url_round_trips_the_view() {
        let st = LogsState {
            query: "level:>=WARNING AND \"payment service\"".into(),
            from: "1700000000000".into(),
            to: "1700003600000".into(),
            limit: 500,
            live: true,
        };
        let url = st.url();
        let mut map = ParamsMap::new();
        for pair in url.split_once('?').unwrap().1.split('&') {
            let (k, v) = pair.split_once('=').unwrap();
            let mut bytes = Vec::new();
            let mut it = v.bytes();
            while let Some(b) = it.next() {
                if b == b'%' {
                    let h = [it.next().unwrap(), it.next().unwrap()];
                    bytes.push(u8::from_str_radix(std::str::from_utf8(&h).unwrap(), 16).unwrap());
                } else {
                    bytes.push(b);
                }
            }
            map.insert(k.to_string(), String::from_utf8(bytes).unwrap());
        }
        assert_eq!(LogsState::from_params(&map), st);
        // Defaults: the last hour, 100 lines; a limit out of bounds falls back.
        let mut p = ParamsMap::new();
        p.insert("limit".to_string(), "999999".to_string());
        let d = LogsState::from_params(&p);
        assert_eq!(
            (d.from.as_str(), d.to.as_str(), d.limit),
            ("now-1h", "now", 100)
        );
    }
}
