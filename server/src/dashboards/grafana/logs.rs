//! Grafana `logs` panels: their queries become the log store's language. A Loki query's
//! stream selector and line filters translate (`{app="api", level="error"} |= "timeout"
//! != "debug"` → `app:api AND level:error AND "timeout" AND NOT "debug"`); what has no
//! equivalent (regex matchers and filters, pipeline stages) is left out with a note. An
//! Elasticsearch query (Lucene) is kept as written: the language is close to it.

use serde_json::Value;

use super::super::model::Target;

/// The panel's queries as log queries, with notes for what changed.
pub(super) fn targets_of(p: &Value, notes: &mut Vec<String>) -> Vec<Target> {
    let mut out = Vec::new();
    for t in p["targets"].as_array().into_iter().flatten() {
        if t["hide"].as_bool() == Some(true) {
            continue;
        }
        if let Some(expr) = t["expr"].as_str().filter(|e| !e.trim().is_empty()) {
            let (query, mut n) = from_logql(expr);
            notes.append(&mut n);
            out.push(Target {
                expr: query,
                legend: String::new(),
            });
        } else if let Some(q) = t["query"].as_str() {
            out.push(Target {
                expr: q.trim().to_owned(),
                legend: String::new(),
            });
        }
    }
    if out.len() > 1 {
        notes.push(format!(
            "{} queries; the logs panel shows the first",
            out.len()
        ));
        out.truncate(1);
    }
    out
}

fn quote(v: &str) -> String {
    let plain = !v.is_empty()
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !["and", "or", "not"].contains(&v.to_ascii_lowercase().as_str());
    if plain {
        v.to_owned()
    } else {
        format!("\"{}\"", v.replace('\\', "\\\\").replace('"', "\\\""))
    }
}

/// A quoted LogQL string at the start of `s` (`"…"` with escapes, or a `` `raw` `` one):
/// its value and the rest.
fn string_at(s: &str) -> Option<(String, &str)> {
    let s = s.trim_start();
    let mut chars = s.char_indices();
    let (_, open) = chars.next()?;
    if open != '"' && open != '`' {
        return None;
    }
    let mut value = String::new();
    let mut escaped = false;
    for (i, c) in chars {
        if open == '"' && escaped {
            value.push(c);
            escaped = false;
        } else if open == '"' && c == '\\' {
            escaped = true;
        } else if c == open {
            return Some((value, &s[i + 1..]));
        } else {
            value.push(c);
        }
    }
    None
}

/// LogQL → the store's query, and notes on what was left out.
pub(super) fn from_logql(expr: &str) -> (String, Vec<String>) {
    let mut terms = Vec::new();
    let mut notes = Vec::new();
    let mut rest = expr.trim();
    if let Some(body) = rest.strip_prefix('{') {
        let Some(end) = body.find('}') else {
            return (
                expr.to_owned(),
                vec!["LogQL selector not closed; kept as written".into()],
            );
        };
        for matcher in body[..end].split(',').filter(|m| !m.trim().is_empty()) {
            let m = matcher.trim();
            let (name, op, value) = if let Some((n, v)) = m.split_once("!~") {
                (n, "!~", v)
            } else if let Some((n, v)) = m.split_once("=~") {
                (n, "=~", v)
            } else if let Some((n, v)) = m.split_once("!=") {
                (n, "!=", v)
            } else if let Some((n, v)) = m.split_once('=') {
                (n, "=", v)
            } else {
                notes.push(format!("label matcher `{m}` left out"));
                continue;
            };
            let name = name.trim();
            let Some((value, _)) = string_at(value) else {
                notes.push(format!("label matcher `{m}` left out"));
                continue;
            };
            match op {
                "=" => terms.push(format!("{name}:{}", quote(&value))),
                "!=" => terms.push(format!("NOT {name}:{}", quote(&value))),
                _ => notes.push(format!("regular-expression matcher `{m}` left out")),
            }
        }
        rest = &body[end + 1..];
    }
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let (op, after) = if let Some(a) = rest.strip_prefix("|=") {
            ("|=", a)
        } else if let Some(a) = rest.strip_prefix("!=") {
            ("!=", a)
        } else if let Some(a) = rest.strip_prefix("|~") {
            ("|~", a)
        } else if let Some(a) = rest.strip_prefix("!~") {
            ("!~", a)
        } else {
            notes.push(format!("LogQL pipeline `{}` left out", rest.trim()));
            break;
        };
        let Some((value, next)) = string_at(after) else {
            notes.push(format!("LogQL filter `{}` left out", rest.trim()));
            break;
        };
        match op {
            "|=" => terms.push(format!(
                "\"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            "!=" => terms.push(format!(
                "NOT \"{}\"",
                value.replace('\\', "\\\\").replace('"', "\\\"")
            )),
            _ => notes.push(format!("regular-expression line filter `{value}` left out")),
        }
        rest = next;
    }
    (terms.join(" AND "), notes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_and_line_filters_translate() {
        let (q, notes) = from_logql(r#"{app="api", level="error"} |= "timeout" != "debug""#);
        assert_eq!(
            q,
            r#"app:api AND level:error AND "timeout" AND NOT "debug""#
        );
        assert!(notes.is_empty(), "{notes:?}");
        let (q, notes) = from_logql(r#"{job=~"api.*", env!="dev"} |~ "5.." | json"#);
        assert_eq!(q, "NOT env:dev");
        assert_eq!(notes.len(), 3, "{notes:?}");
    }

    #[test]
    fn elasticsearch_queries_are_kept() {
        let p = serde_json::json!({"targets": [{"query": "level:ERROR AND service:api"}]});
        let mut notes = Vec::new();
        let t = targets_of(&p, &mut notes);
        assert_eq!(t[0].expr, "level:ERROR AND service:api");
    }
}
