//! `PrometheusClient`: the [`MetricsSource`] for Prometheus, VictoriaMetrics, Thanos and
//! Mimir — everything that answers the Prometheus HTTP API. Every request has a timeout and a
//! response size cap; answers that are not the API's JSON envelope are errors, not data.

use std::time::Duration;

use futures::future::BoxFuture;
use reqwest::{StatusCode, Url};
use serde_json::Value;

use super::{InstantQuery, MetricsSource, RangeQuery, SourceError};
use crate::outbound;

#[derive(Clone, Debug)]
pub enum Auth {
    None,
    Basic { username: String, password: String },
    Bearer(String),
}

pub struct PrometheusClient {
    base: Url,
    auth: Auth,
    http: reqwest::Client,
    timeout: Duration,
    max_bytes: usize,
}

impl PrometheusClient {
    pub fn new(
        base: Url,
        auth: Auth,
        timeout: Duration,
        max_bytes: usize,
        allow_link_local: bool,
    ) -> PrometheusClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .dns_resolver(outbound::resolver(allow_link_local))
            .user_agent(concat!("keiko-portal/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a reqwest client with these options builds");
        PrometheusClient {
            base,
            auth,
            http,
            timeout,
            max_bytes,
        }
    }

    fn url(&self, path: &str) -> Url {
        let mut url = self.base.clone();
        let joined = format!(
            "{}/{}",
            url.path().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        url.set_path(&joined);
        url
    }

    /// GETs `path` with `params` and returns the envelope's `data`.
    async fn get(&self, path: &str, params: &[(&str, &str)]) -> Result<Value, SourceError> {
        let (status, body) = self.fetch(path, params).await?;
        classify(status, &body)
    }

    /// GETs `path` and streams a success envelope on as it arrives: the status and the
    /// first chunk are checked, the rest flows through under the size cap.
    async fn get_stream(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<super::RawBody, SourceError> {
        let mut resp = self.send(path, params).await?;
        // A declared length over the cap fails cleanly now; an undeclared one that grows
        // past it mid-stream can only end the (already started) answer with an error, which
        // the client sees as a broken body rather than a 502.
        if resp
            .content_length()
            .is_some_and(|n| n > self.max_bytes as u64)
        {
            return Err(SourceError::TooLarge(self.max_bytes));
        }
        let status = resp.status();
        let first = resp.chunk().await.map_err(|e| self.transport_error(e))?;
        let looks_right = first
            .as_ref()
            .is_some_and(|c| c.starts_with(br#"{"status":"success""#));
        if !(status.is_success() && looks_right) {
            // Read it all and say what is wrong (or re-wrap an unusual success).
            let start = first.map(|c| c.to_vec()).unwrap_or_default();
            let body = self.read_rest(resp, start).await?;
            return Ok(super::envelope_stream(classify(status, &body)?));
        }
        let max = self.max_bytes;
        let state = (resp, first, 0usize);
        Ok(Box::pin(futures::stream::unfold(
            Some(state),
            move |state| async move {
                let (mut resp, pending, seen) = state?;
                let chunk = match pending {
                    Some(c) => Ok(Some(c)),
                    None => resp.chunk().await,
                };
                match chunk {
                    Ok(Some(c)) if seen + c.len() > max => Some((
                        Err(std::io::Error::other(format!(
                            "the answer is larger than {max} bytes"
                        ))),
                        None,
                    )),
                    Ok(Some(c)) => {
                        let seen = seen + c.len();
                        Some((Ok(c), Some((resp, None, seen))))
                    }
                    Ok(None) => None,
                    Err(e) => Some((Err(std::io::Error::other(e)), None)),
                }
            },
        )))
    }

    async fn send(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<reqwest::Response, SourceError> {
        let mut req = self.http.get(self.url(path)).query(params);
        req = match &self.auth {
            Auth::None => req,
            Auth::Basic { username, password } => req.basic_auth(username, Some(password)),
            Auth::Bearer(token) => req.bearer_auth(token),
        };
        req.send().await.map_err(|e| self.transport_error(e))
    }

    /// GETs `path` with `params`: the status and the body, read up to the size cap.
    async fn fetch(
        &self,
        path: &str,
        params: &[(&str, &str)],
    ) -> Result<(StatusCode, Vec<u8>), SourceError> {
        let resp = self.send(path, params).await?;
        let status = resp.status();
        Ok((status, self.read_rest(resp, Vec::new()).await?))
    }

    /// Reads the rest of `resp` after `body`, refusing more than the size cap.
    async fn read_rest(
        &self,
        mut resp: reqwest::Response,
        mut body: Vec<u8>,
    ) -> Result<Vec<u8>, SourceError> {
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.transport_error(e))? {
            if body.len() + chunk.len() > self.max_bytes {
                return Err(SourceError::TooLarge(self.max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    fn transport_error(&self, e: reqwest::Error) -> SourceError {
        if e.is_timeout() {
            SourceError::Timeout(self.timeout.as_millis() as u64)
        } else {
            // The chain says what failed (connection refused, DNS, a refused address).
            let mut text = e.to_string();
            let mut source = std::error::Error::source(&e);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            SourceError::Unreachable(text)
        }
    }
}

/// The envelope's `data` for a success; the store's error (or what is wrong) otherwise.
fn classify(status: StatusCode, body: &[u8]) -> Result<Value, SourceError> {
    let parsed: Result<Value, _> = serde_json::from_slice(body);
    match (status, parsed) {
        (s, Ok(mut v)) if s.is_success() && v["status"] == "success" => Ok(v["data"].take()),
        // Prometheus answers 400/422 with its own error for bad queries.
        (StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY, Ok(v))
            if v["status"] == "error" =>
        {
            Err(SourceError::BadQuery(
                v["error"].as_str().unwrap_or("bad query").to_owned(),
            ))
        }
        (s, Ok(v)) if v["status"] == "error" => Err(SourceError::Upstream(format!(
            "{s}: {}",
            v["error"].as_str().unwrap_or("unknown error")
        ))),
        (s, _) if !s.is_success() => Err(SourceError::Upstream(format!("HTTP {s}"))),
        (_, Ok(_)) => Err(SourceError::Garbage("no `status: success` envelope".into())),
        (_, Err(e)) => Err(SourceError::Garbage(format!("invalid JSON ({e})"))),
    }
}

impl MetricsSource for PrometheusClient {
    fn query<'a>(&'a self, q: &'a InstantQuery) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let mut params = vec![("query", q.query.as_str())];
            if let Some(t) = &q.time {
                params.push(("time", t));
            }
            if let Some(t) = &q.timeout {
                params.push(("timeout", t));
            }
            self.get("api/v1/query", &params).await
        })
    }

    fn query_range<'a>(&'a self, q: &'a RangeQuery) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let params = range_params(q);
            self.get("api/v1/query_range", &params).await
        })
    }

    fn query_range_raw<'a>(
        &'a self,
        q: &'a RangeQuery,
    ) -> BoxFuture<'a, Result<super::RawBody, SourceError>> {
        Box::pin(async move {
            let params = range_params(q);
            self.get_stream("api/v1/query_range", &params).await
        })
    }

    fn series<'a>(
        &'a self,
        matchers: &'a [String],
        start: Option<&'a str>,
        end: Option<&'a str>,
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let mut params: Vec<(&str, &str)> =
                matchers.iter().map(|m| ("match[]", m.as_str())).collect();
            if let Some(s) = start {
                params.push(("start", s));
            }
            if let Some(e) = end {
                params.push(("end", e));
            }
            self.get("api/v1/series", &params).await
        })
    }

    fn label_names<'a>(
        &'a self,
        matchers: &'a [String],
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let params: Vec<(&str, &str)> =
                matchers.iter().map(|m| ("match[]", m.as_str())).collect();
            self.get("api/v1/labels", &params).await
        })
    }

    fn label_values<'a>(&'a self, label: &'a str) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move { self.get(&format!("api/v1/label/{label}/values"), &[]).await })
    }

    fn metadata<'a>(&'a self) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(self.get("api/v1/metadata", &[]))
    }

    fn query_exemplars<'a>(
        &'a self,
        query: &'a str,
        start: f64,
        end: f64,
    ) -> BoxFuture<'a, Result<Value, SourceError>> {
        Box::pin(async move {
            let (start, end) = (start.to_string(), end.to_string());
            let params = [("query", query), ("start", &start), ("end", &end)];
            self.get("api/v1/query_exemplars", &params).await
        })
    }
}

/// The query string of `/api/v1/query_range`.
fn range_params(q: &RangeQuery) -> Vec<(&'static str, &str)> {
    let mut params = vec![
        ("query", q.query.as_str()),
        ("start", q.start.as_str()),
        ("end", q.end.as_str()),
        ("step", q.step.as_str()),
    ];
    if let Some(t) = &q.timeout {
        params.push(("timeout", t.as_str()));
    }
    params
}
