//! What the PromQL editor can complete at the cursor: a metric name, a label name inside
//! `{…}`, or a label value inside quotes after `label=`.

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Context {
    Metric {
        prefix: String,
    },
    LabelName {
        metric: String,
        prefix: String,
    },
    LabelValue {
        metric: String,
        label: String,
        prefix: String,
    },
    Nothing,
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// The identifier that ends at the end of `text`.
fn trailing_name(text: &str) -> &str {
    let start = text
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_name_char(*c))
        .last()
        .map_or(text.len(), |(i, _)| i);
    &text[start..]
}

/// The completion context for the text before the cursor.
pub fn context(before_cursor: &str) -> Context {
    // Where are we: inside a string, inside {…}, inside […]?
    let mut brace = None::<usize>;
    let mut bracket = false;
    let mut quote = None::<(usize, char)>;
    for (i, c) in before_cursor.char_indices() {
        if let Some((_, q)) = quote {
            if c == q && !before_cursor[..i].ends_with('\\') {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some((i, c)),
            '{' => brace = Some(i),
            '}' => brace = None,
            '[' => bracket = true,
            ']' => bracket = false,
            _ => {}
        }
    }
    if bracket {
        return Context::Nothing;
    }
    if let Some(open) = brace {
        let metric = trailing_name(&before_cursor[..open]).to_owned();
        if let Some((q, _)) = quote {
            // `label=~"pre` : the label is the name before the operator.
            let head = before_cursor[..q].trim_end();
            let head = head.trim_end_matches(['=', '~', '!']).trim_end();
            let label = trailing_name(head).to_owned();
            if label.is_empty() {
                return Context::Nothing;
            }
            return Context::LabelValue {
                metric,
                label,
                prefix: before_cursor[q + 1..].to_owned(),
            };
        }
        let inner = &before_cursor[open + 1..];
        let last = inner.rsplit(',').next().unwrap_or("").trim_start();
        if last.chars().all(is_name_char) {
            return Context::LabelName {
                metric,
                prefix: last.to_owned(),
            };
        }
        return Context::Nothing;
    }
    if quote.is_some() {
        return Context::Nothing;
    }
    let prefix = trailing_name(before_cursor);
    if prefix.is_empty() || prefix.starts_with(|c: char| c.is_ascii_digit()) {
        return Context::Nothing;
    }
    Context::Metric {
        prefix: prefix.to_owned(),
    }
}

/// Up to `limit` candidates for `prefix`: those starting with it first, then those
/// containing it, each group in the given order.
pub fn filter(candidates: &[String], prefix: &str, limit: usize) -> Vec<String> {
    let lower = prefix.to_ascii_lowercase();
    let starts = candidates
        .iter()
        .filter(|c| c.to_ascii_lowercase().starts_with(&lower));
    let contains = candidates.iter().filter(|c| {
        let l = c.to_ascii_lowercase();
        !l.starts_with(&lower) && l.contains(&lower)
    });
    starts
        .chain(contains)
        .filter(|c| c.as_str() != prefix)
        .take(limit)
        .cloned()
        .collect()
}

/// The text with the completed word in place of the prefix before `cursor`; returns the
/// new text and the new cursor (byte offsets).
pub fn apply(text: &str, cursor: usize, ctx: &Context, choice: &str) -> (String, usize) {
    let cursor = cursor.min(text.len());
    let prefix_len = match ctx {
        Context::Metric { prefix } | Context::LabelName { prefix, .. } => prefix.len(),
        Context::LabelValue { prefix, .. } => prefix.len(),
        Context::Nothing => 0,
    };
    let start = cursor.saturating_sub(prefix_len);
    let mut insert = choice.to_owned();
    if let Context::LabelValue { .. } = ctx {
        // Close the string unless the user already did.
        if !text[cursor..].starts_with('"') {
            insert.push('"');
        }
    }
    let mut out = String::with_capacity(text.len() + insert.len());
    out.push_str(&text[..start]);
    out.push_str(&insert);
    let new_cursor = out.len();
    out.push_str(&text[cursor..]);
    (out, new_cursor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_where_the_cursor_is() {
        assert_eq!(
            context("rate(keiko_http_req"),
            Context::Metric {
                prefix: "keiko_http_req".into()
            }
        );
        assert_eq!(
            context("keiko_http_requests_total{met"),
            Context::LabelName {
                metric: "keiko_http_requests_total".into(),
                prefix: "met".into()
            }
        );
        assert_eq!(
            context("keiko_http_requests_total{method=\"GET\", status_code=~\"5"),
            Context::LabelValue {
                metric: "keiko_http_requests_total".into(),
                label: "status_code".into(),
                prefix: "5".into()
            }
        );
        assert_eq!(context("rate(x[5"), Context::Nothing);
        assert_eq!(context("sum(x) by (job) > 0"), Context::Nothing);
    }

    #[test]
    fn completes_in_place() {
        let ctx = context("rate(keiko_http");
        let (text, cur) = apply(
            "rate(keiko_http[5m])",
            15,
            &ctx,
            "keiko_http_requests_total",
        );
        assert_eq!(text, "rate(keiko_http_requests_total[5m])");
        assert_eq!(cur, 30);
        let ctx = context("up{job=\"");
        assert_eq!(
            apply("up{job=\"}", 8, &ctx, "prometheus").0,
            "up{job=\"prometheus\"}"
        );
    }

    #[test]
    fn filters_prefix_first() {
        let c: Vec<String> = ["up", "keiko_up", "upload_bytes"].map(String::from).into();
        assert_eq!(filter(&c, "up", 5), vec!["upload_bytes", "keiko_up"]);
    }
}
