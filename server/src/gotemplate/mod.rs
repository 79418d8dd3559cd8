//! Go `text/template` execution, shared by alerting and notifications (so neither imports
//! the other for it). For alert labels and annotations it expands as Prometheus does: the data is the alert (`.Labels`, `.Value`, `.ExternalLabels`, `.ExternalURL`) and
//! `$labels`, `$value`, `$externalLabels`, `$externalURL` are declared before the text, as
//! Prometheus prepends `{{$labels := .Labels}}…`. A failed expansion reads
//! `<error expanding template: …>`, as Prometheus writes it. Templates are validated by
//! `rules::template::check` when a rule is saved; `parse` builds the tree the executor walks.
//! [`TemplateSet`] holds Alertmanager-style named templates for notification messages.

mod exec;
mod funcs;
mod parse;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

pub use exec::Value;
pub use funcs::{go_float, humanize, humanize_duration};

/// A query's answer as templates see it: each series' labels and value.
pub type QueryResult = Vec<(BTreeMap<String, String>, f64)>;

/// Answers the `query` function: an instant query at the evaluation time.
pub trait Querier {
    fn query(&self, q: &str) -> Result<QueryResult, String>;
}

/// For expansions that may not query (a `query` call then fails).
pub struct NoQueries;

impl Querier for NoQueries {
    fn query(&self, _: &str) -> Result<QueryResult, String> {
        Err("query is not available here".into())
    }
}

/// What an alert template sees.
pub struct AlertData<'a> {
    pub labels: &'a BTreeMap<String, String>,
    pub external_labels: &'a BTreeMap<String, String>,
    pub external_url: &'a str,
    pub value: f64,
}

/// Expands `text` for an alert; a failure is written into the result as Prometheus does.
/// `name` names the template in error messages (`__alert_<alertname>`).
pub fn expand(name: &str, text: &str, data: &AlertData<'_>, querier: &dyn Querier) -> String {
    if !text.contains("{{") {
        return text.to_owned();
    }
    try_expand(text, data, querier)
        .unwrap_or_else(|e| format!("<error expanding template: template: {name}: {e}>"))
}

/// Expands `text`, or says why it could not.
pub fn try_expand(
    text: &str,
    data: &AlertData<'_>,
    querier: &dyn Querier,
) -> Result<String, String> {
    let tree = parse::parse(text)?;
    let labels = Value::labels(data.labels);
    let external = Value::labels(data.external_labels);
    let dot = Value::Data(Box::new(BTreeMap::from([
        ("Labels".to_owned(), labels.clone()),
        ("ExternalLabels".to_owned(), external.clone()),
        (
            "ExternalURL".to_owned(),
            Value::Str(data.external_url.to_owned()),
        ),
        ("Value".to_owned(), Value::Float(data.value)),
    ])));
    let mut ex = exec::Exec::new(&tree, querier, data.external_url.to_owned());
    ex.declare("$labels", labels);
    ex.declare("$externalLabels", external);
    ex.declare("$externalURL", Value::Str(data.external_url.to_owned()));
    ex.declare("$value", Value::Float(data.value));
    ex.run(dot)?;
    Ok(ex.out)
}

/// Named templates — Alertmanager-style `{{ define "name" }}…{{ end }}` blocks from any
/// number of sources — executed with any data (notification templates).
#[derive(Clone, Debug, Default)]
pub struct TemplateSet {
    tree: parse::Tree,
}

impl TemplateSet {
    /// Parses `sources` (a name for messages, a body); a name defined twice is an error.
    pub fn parse<'a>(
        sources: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Result<TemplateSet, String> {
        let mut tree = parse::Tree::default();
        let mut origin: BTreeMap<String, &str> = BTreeMap::new();
        for (source, body) in sources {
            let parsed = parse::parse(body).map_err(|e| format!("{source}: {e}"))?;
            for (name, nodes) in parsed.defines {
                if let Some(first) = origin.insert(name.clone(), source) {
                    return Err(format!(
                        "{source}: template \"{name}\" is already defined in {first}"
                    ));
                }
                tree.defines.insert(name, nodes);
            }
        }
        Ok(TemplateSet { tree })
    }

    /// The names it defines, sorted.
    pub fn names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.tree.defines.keys().map(String::as_str).collect();
        names.sort_unstable();
        names
    }

    pub fn has(&self, name: &str) -> bool {
        self.tree.defines.contains_key(name)
    }

    /// Executes template `name` with `dot` as its data (and `$`).
    pub fn execute(&self, name: &str, dot: Value) -> Result<String, String> {
        self.execute_text(&format!("{{{{ template {name:?} . }}}}"), dot)
    }

    /// Executes `text` (which may call this set's templates) with `dot`.
    pub fn execute_text(&self, text: &str, dot: Value) -> Result<String, String> {
        let mut tree = parse::parse(text)?;
        for (name, nodes) in &self.tree.defines {
            tree.defines
                .entry(name.clone())
                .or_insert_with(|| nodes.clone());
        }
        let mut ex = exec::Exec::new(&tree, &NoQueries, String::new());
        ex.run(dot)?;
        Ok(ex.out)
    }
}

/// Whether expanding `text` may call `query` (then it runs where blocking is allowed).
pub fn may_query(text: &str) -> bool {
    text.contains("query")
}

/// Expands a template with `dot` as its data (no alert variables), for tests.
#[cfg(test)]
fn expand_with(text: &str, dot: Value, querier: &dyn Querier) -> Result<String, String> {
    let tree = parse::parse(text)?;
    let mut ex = exec::Exec::new(&tree, querier, "http://testhost:9090/path/prefix".into());
    ex.run(dot)?;
    Ok(ex.out)
}
