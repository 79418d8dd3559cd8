//! PromQL checked by the maintained `promql-parser` crate, with the error's position found
//! even where the parser reports none: the first token after which no completion of the
//! expression parses is where the mistake is (an LR parser stops at that token too).

use lrpar::{Lexeme as _, Lexer as _};
use promql_parser::parser::{self, Expr};

/// A PromQL error with its place: byte offset, 1-based line and column (in characters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PromQlError {
    pub offset: usize,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

/// A parsed expression; exists only when the text parses.
#[derive(Clone, Debug)]
pub struct PromQl {
    text: String,
    expr: Expr,
}

impl PromQl {
    pub fn parse(text: &str) -> Result<PromQl, PromQlError> {
        if text.trim().is_empty() {
            return Err(error_at(text, 0, "the expression is empty".into()));
        }
        match parser::parse(text) {
            Ok(expr) => Ok(PromQl {
                text: text.to_owned(),
                expr,
            }),
            Err(message) => Err(locate(text, message)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn expr(&self) -> &Expr {
        &self.expr
    }
}

/// Line and column (1-based, in characters) of a byte offset.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
    (line, column)
}

fn error_at(text: &str, offset: usize, message: String) -> PromQlError {
    let (line, column) = line_col(text, offset);
    PromQlError {
        offset,
        line,
        column,
        message,
    }
}

/// Messages of the lexer that only mean "the text ended too early".
fn is_end_of_input(message: &str) -> bool {
    [
        "unclosed",
        "not terminated",
        "unterminated",
        "end of input",
        "at the end",
        "no expression",
    ]
    .iter()
    .any(|m| message.contains(m))
}

fn locate(text: &str, message: String) -> PromQlError {
    // A lexer error: the shortest prefix that fails the same way ends at the culprit.
    if parser::lexer(text).is_err() && !is_end_of_input(&message) {
        let offset = text
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .find(|&end| parser::lexer(&text[..end]).is_err_and(|m| !is_end_of_input(&m)))
            .map(|end| {
                text[..end]
                    .char_indices()
                    .last()
                    .map(|(i, _)| i)
                    .unwrap_or(0)
            })
            .unwrap_or(0);
        return error_at(text, offset, message);
    }
    // A message that names a function ('rte', 'rate') points at that function.
    if let Some(offset) = message
        .split('\'')
        .nth(1)
        .filter(|name| !name.is_empty())
        .and_then(|name| text.find(&format!("{name}(")))
    {
        return error_at(text, offset, message);
    }
    let Some(tokens) = token_spans(text) else {
        return error_at(text, text.trim_end().len(), message);
    };
    for (start, end) in &tokens {
        if !viable_prefix(&text[..*end]) {
            let token = &text[*start..*end];
            let detail = if message == "invalid promql query" {
                format!("unexpected `{token}`")
            } else {
                message
            };
            return error_at(text, *start, detail);
        }
    }
    // Every prefix can still be completed: the expression ends too early, or it is well
    // formed but wrong in meaning (types, arguments). Point at a function the message names,
    // else at the end.
    let offset = message
        .split('\'')
        .nth(1)
        .and_then(|name| text.find(&format!("{name}(")))
        .unwrap_or_else(|| {
            if message == "invalid promql query" {
                text.trim_end().len()
            } else {
                0
            }
        });
    let detail = if message == "invalid promql query" {
        "the expression ends too early (an operand or a closing bracket is missing)".to_owned()
    } else {
        message
    };
    error_at(text, offset, detail)
}

fn token_spans(text: &str) -> Option<Vec<(usize, usize)>> {
    let lexer = parser::lexer(text).ok()?;
    let mut spans = Vec::new();
    for lexeme in lexer.iter() {
        let span = lexeme.ok()?.span();
        spans.push((span.start(), span.end()));
    }
    Some(spans)
}

/// Whether some short completion of `prefix` parses: an operand and/or a selector range,
/// then the brackets still open.
fn viable_prefix(prefix: &str) -> bool {
    let closers: String = open_brackets(prefix).into_iter().rev().collect();
    const MIDDLES: [&str; 10] = [
        "",
        " 1",
        " x",
        "[5m]",
        " x[5m]",
        "x",
        "5m]",
        "m]",
        " 1)",
        " by (x) (x)",
    ];
    MIDDLES
        .iter()
        .any(|m| parser::parse(&format!("{prefix}{m}{closers}")).is_ok())
        || parser::parse(&format!("{prefix}\"\"{closers}")).is_ok()
        || parser::parse(&format!("{prefix}\"{closers}")).is_ok()
}

/// The closing characters for the brackets open at the end of `text` (outside strings).
fn open_brackets(text: &str) -> Vec<char> {
    let mut stack = Vec::new();
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '(' => stack.push(')'),
            '[' => stack.push(']'),
            '{' => stack.push('}'),
            ')' | ']' | '}' => {
                stack.pop();
            }
            _ => {}
        }
    }
    stack
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_expressions_parse() {
        for expr in [
            "rate(keiko_errors_total[5m]) > 0.1",
            r#"rate(keiko_agent_task_duration_seconds_count{status="failed"}[5m]) > 0.05"#,
            "keiko_mcp_server_health == 0",
            "process_resident_memory_bytes / 1024 / 1024 > 1000",
        ] {
            assert!(PromQl::parse(expr).is_ok(), "{expr}");
        }
    }

    #[test]
    fn a_doubled_operator_is_reported_at_its_place() {
        let err = PromQl::parse("rate(keiko_errors_total[5m]) >> 0.1").unwrap_err();
        assert_eq!((err.line, err.column), (1, 31), "{err:?}");
        assert!(err.message.contains(">"), "{err:?}");
    }

    #[test]
    fn a_misspelt_function_is_reported_at_its_name() {
        let err = PromQl::parse("rte(keiko_errors_total[5m]) > 0.1").unwrap_err();
        assert_eq!(err.column, 1, "{err:?}");
    }

    #[test]
    fn a_bad_character_is_reported_where_it_stands() {
        let err = PromQl::parse("keiko_mcp_server_health == §").unwrap_err();
        assert_eq!(err.column, 28, "{err:?}");
    }

    #[test]
    fn an_unclosed_bracket_is_reported_at_the_end() {
        let err = PromQl::parse("rate(keiko_errors_total[5m]").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(err.column >= 27, "{err:?}");
    }

    #[test]
    fn errors_on_a_later_line_carry_that_line() {
        let err = PromQl::parse("sum(\n  rate(x[5m])\n) >> 1").unwrap_err();
        assert_eq!(err.line, 3, "{err:?}");
        assert_eq!(err.column, 4, "{err:?}");
    }

    #[test]
    fn a_range_function_over_an_instant_vector_names_the_problem() {
        let err = PromQl::parse("rate(keiko_errors_total) > 0").unwrap_err();
        assert!(
            err.message.contains("range vector") || err.message.contains("rate"),
            "{err:?}"
        );
        assert_eq!(err.column, 1);
    }
}
