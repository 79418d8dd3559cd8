//! Completion in the query box: what the word at the end of the query asks for — a field
//! name (`serv` → `service:`) or one of a field's values (`service:bil` →
//! `service:billing`) — and the query with that word replaced.

use crate::components::log_model::quote_value;

/// What the last word of a query can be completed to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Want {
    /// Field names starting with this.
    Field(String),
    /// Values of `field` starting with `prefix`.
    Value {
        field: String,
        prefix: String,
    },
    Nothing,
}

/// Where the last word of `query` starts (after a space or `(` outside quotes), and what
/// it asks for.
pub fn at_end(query: &str) -> (usize, Want) {
    let mut start = 0;
    let mut quoted = false;
    let mut escaped = false;
    for (i, c) in query.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quoted = !quoted,
            c if !quoted && (c.is_whitespace() || c == '(' || c == ')') => {
                start = i + c.len_utf8();
            }
            _ => {}
        }
    }
    let word = &query[start..];
    if word.is_empty() || ["AND", "OR", "NOT"].contains(&word.to_ascii_uppercase().as_str()) {
        return (start, Want::Nothing);
    }
    let want = match word.split_once(':') {
        Some((field, value)) if !field.is_empty() => {
            let prefix = value.trim_start_matches(['"', '>', '<', '=']);
            Want::Value {
                field: field.to_owned(),
                prefix: prefix.to_owned(),
            }
        }
        Some(_) => Want::Nothing,
        None if word.starts_with('"') => Want::Nothing,
        None => Want::Field(word.to_owned()),
    };
    (start, want)
}

/// The suggestions for `want`: field names as `name:`, values as `field:value` (quoted
/// where the language needs it); at most `max`, matching the prefix without case.
pub fn suggestions(want: &Want, candidates: &[String], max: usize) -> Vec<String> {
    let starts = |c: &str, p: &str| c.to_lowercase().starts_with(&p.to_lowercase());
    match want {
        Want::Field(prefix) => candidates
            .iter()
            .filter(|c| starts(c, prefix) && *c != prefix)
            .take(max)
            .map(|c| format!("{c}:"))
            .collect(),
        Want::Value { field, prefix } => candidates
            .iter()
            .filter(|c| starts(c, prefix))
            .take(max)
            .map(|c| format!("{field}:{}", quote_value(c)))
            .collect(),
        Want::Nothing => Vec::new(),
    }
}

/// `query` with its last word (from `start`) replaced by `with`.
pub fn replace_end(query: &str, start: usize, with: &str) -> String {
    format!("{}{with}", &query[..start.min(query.len())])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_word_asks_for_a_field_or_a_value() {
        assert_eq!(
            at_end("level:ERROR AND serv"),
            (16, Want::Field("serv".into()))
        );
        assert_eq!(
            at_end("(service:bil"),
            (
                1,
                Want::Value {
                    field: "service".into(),
                    prefix: "bil".into()
                }
            )
        );
        assert_eq!(
            at_end("x logger:\"keiko re"),
            (
                2,
                Want::Value {
                    field: "logger".into(),
                    prefix: "keiko re".into()
                }
            )
        );
        assert_eq!(at_end("timeout AND "), (12, Want::Nothing));
        assert_eq!(at_end("a OR"), (2, Want::Nothing));
    }

    #[test]
    fn suggestions_complete_and_replace_the_word() {
        let fields = vec![
            "service".to_owned(),
            "span_id".to_owned(),
            "level".to_owned(),
        ];
        assert_eq!(
            suggestions(&Want::Field("s".into()), &fields, 10),
            ["service:", "span_id:"]
        );
        let values = vec!["billing".to_owned(), "big api".to_owned(), "api".to_owned()];
        let want = Want::Value {
            field: "service".into(),
            prefix: "bi".into(),
        };
        assert_eq!(
            suggestions(&want, &values, 10),
            ["service:billing", "service:\"big api\""]
        );
        assert_eq!(replace_end("a AND serv", 6, "service:"), "a AND service:");
    }
}
