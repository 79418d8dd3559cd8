//! PromQL as text, shared by rules, charts, dashboards and the embedded store: parsing by the
//! maintained `promql-parser` crate, with the error's position found
//! even where the parser reports none: the first token after which no completion of the
//! expression parses is where the mistake is (an LR parser stops at that token too).
//!
//! Every text passes [`check_limits`] before the parser sees it. The parser's type checks,
//! its `Display`, dropping its tree and every walker here recurse once per level of the
//! tree, and a level comes from a bracket or an operator: bounding both bounds the depth,
//! so no expression can overflow a stack. Finding an error's place costs O(n log n) parses
//! of prefixes (a binary search), not one parse per prefix.

pub mod duration;

use lrpar::{Lexeme as _, Lexer as _};
use promql_parser::parser::token::TokenType;
use promql_parser::parser::{self, Expr};

/// Longest expression accepted, in bytes.
pub const MAX_BYTES: usize = 16 * 1024;
/// Deepest nesting of brackets (`(`, `[`, `{`) accepted.
pub const MAX_NESTING: usize = 64;
/// Most operators (binary, unary, comparison, set) in one expression.
pub const MAX_OPERATORS: usize = 500;

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
        check_limits(text)?;
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

/// A label name as Prometheus accepts it: `[a-zA-Z_][a-zA-Z0-9_]*`.
pub fn is_label_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Refuses a text longer than [`MAX_BYTES`], nested deeper than [`MAX_NESTING`] or with
/// more than [`MAX_OPERATORS`] operators, in one linear pass, without building a tree.
/// Cheap enough for every stored expression, including ones that hold template variables
/// and so cannot be parsed yet.
pub fn check_limits(text: &str) -> Result<(), PromQlError> {
    if text.len() > MAX_BYTES {
        return Err(error_at(
            text,
            MAX_BYTES.min(text.len()),
            format!(
                "the expression is {} bytes long; the limit is {MAX_BYTES}",
                text.len()
            ),
        ));
    }
    if let Some(offset) = too_deep_at(text) {
        return Err(error_at(
            text,
            offset,
            format!("brackets nest deeper than {MAX_NESTING} levels (the limit)"),
        ));
    }
    if let Ok(lexer) = parser::lexer(text) {
        let mut operators = 0;
        for lexeme in lexer.iter().flatten() {
            if TokenType::new(lexeme.tok_id()).is_operator() {
                operators += 1;
                if operators > MAX_OPERATORS {
                    return Err(error_at(
                        text,
                        lexeme.span().start(),
                        format!("more than {MAX_OPERATORS} operators (the limit)"),
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The offset of the first bracket that opens level `MAX_NESTING + 1` (outside strings).
fn too_deep_at(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in brackets(text) {
        if matches!(c, '(' | '[' | '{') {
            depth += 1;
            if depth > MAX_NESTING {
                return Some(i);
            }
        } else {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

/// The brackets of `text` outside string literals, with their byte offsets.
fn brackets(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    text.char_indices().filter(move |&(_, c)| {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' && q != '`' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            return false;
        }
        if matches!(c, '"' | '\'' | '`') {
            quote = Some(c);
            return false;
        }
        matches!(c, '(' | '[' | '{' | ')' | ']' | '}')
    })
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
        // Once a prefix fails to lex, every longer one does: binary search for the first.
        let ends: Vec<usize> = text.char_indices().map(|(i, c)| i + c.len_utf8()).collect();
        let first_bad = ends.partition_point(|&end| {
            !parser::lexer(&text[..end]).is_err_and(|m| !is_end_of_input(&m))
        });
        let offset = ends
            .get(first_bad)
            .map(|&end| {
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
    // A prefix that no completion saves stays so when it grows (an LR parser's viable
    // prefixes are closed under taking prefixes): binary search for the first such token.
    let first_bad = tokens.partition_point(|(_, end)| viable_prefix(&text[..*end]));
    if let Some((start, end)) = tokens.get(first_bad) {
        let token = &text[*start..*end];
        let detail = if message == "invalid promql query" {
            format!("unexpected `{token}`")
        } else {
            message
        };
        return error_at(text, *start, detail);
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
    // Inside a selector's braces a range may follow them (`rate(x{a="b"}[5m])`).
    let ranged = closers
        .strip_prefix('}')
        .map(|rest| format!("}}[5m]{rest}"));
    const MIDDLES: [&str; 12] = [
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
        "\"\"",
        "\"",
    ];
    MIDDLES.iter().any(|m| {
        parser::parse(&format!("{prefix}{m}{closers}")).is_ok()
            || ranged
                .as_ref()
                .is_some_and(|r| parser::parse(&format!("{prefix}{m}{r}")).is_ok())
    })
}

/// The closing characters for the brackets open at the end of `text` (outside strings).
fn open_brackets(text: &str) -> Vec<char> {
    let mut stack = Vec::new();
    for (_, c) in brackets(text) {
        match c {
            '(' => stack.push(')'),
            '[' => stack.push(']'),
            '{' => stack.push('}'),
            _ => {
                stack.pop();
            }
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
    fn deep_nesting_is_refused_before_the_parser_recurses() {
        for depth in [65, 5_000] {
            let text = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
            let err = PromQl::parse(&text).unwrap_err();
            assert!(err.message.contains("nest deeper than 64"), "{err:?}");
            assert_eq!(err.offset, 64);
        }
        let ok = format!("{}1{}", "(".repeat(64), ")".repeat(64));
        assert!(PromQl::parse(&ok).is_ok());
        // Brackets inside strings do not count.
        let quoted = format!("x{{a=\"{}\"}}", "(".repeat(100));
        assert!(PromQl::parse(&quoted).is_ok());
    }

    #[test]
    fn operator_chains_and_unary_towers_are_bounded() {
        let chain = vec!["x"; 502].join(" + ");
        let err = PromQl::parse(&chain).unwrap_err();
        assert!(err.message.contains("more than 500 operators"), "{err:?}");
        let tower = format!("{}1", "-".repeat(5_000));
        assert!(PromQl::parse(&tower).is_err());
        assert!(PromQl::parse(&vec!["x"; 400].join(" or ")).is_ok());
    }

    #[test]
    fn long_texts_are_refused_by_length() {
        let text = format!("x{{a=\"{}\"}}", "a".repeat(MAX_BYTES));
        let err = PromQl::parse(&text).unwrap_err();
        assert!(err.message.contains("bytes long"), "{err:?}");
    }

    #[test]
    fn locating_an_error_in_a_long_text_is_quick() {
        // 15 KB with the mistake near the end: one parse per token would take minutes.
        let body = vec!["rate(x{a=\"b\"}[5m])"; 400].join(" or ");
        let text = format!("{body} >> 1");
        assert!(text.len() < MAX_BYTES);
        let err = PromQl::parse(&text).unwrap_err();
        assert_eq!(err.offset, body.len() + 2, "{err:?}");
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
