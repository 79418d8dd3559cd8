//! Validation of Go `text/template` strings as Prometheus uses them in the
//! `labels` and `annotations` of alerting rules.
//!
//! This is a port of the *parsing* half of Go's `text/template/parse` package
//! (lexer and parser; nothing is executed), configured the way Prometheus
//! configures it:
//!
//! * the Go builtin functions and the Prometheus template functions are known,
//!   any other function name is an error;
//! * `$`, `$labels`, `$value`, `$externalLabels` and `$externalURL` are
//!   predefined (Prometheus prepends `{{$labels := .Labels}}…` to every
//!   template), any other variable must be declared before use.
//!
//! Error messages follow Go's wording. Offsets are byte offsets into the
//! template text as written by the user (Go reports line:column, and in
//! Prometheus the columns of line 1 are shifted by the prepended prelude).
//!
//! Deliberate differences from Go:
//!
//! * a pipeline ending in `|` (`{{ $value | }}`) is rejected; Go silently
//!   accepts the trailing pipe;
//! * "unexpected EOF" for an unterminated `if`/`range`/`with`/`define`/`block`
//!   points at the `{{` that opened the block instead of at the end of input;
//! * escape-sequence errors in string literals get a specific message instead
//!   of Go's bare "invalid syntax";
//! * nesting of blocks and parentheses is limited to 100 levels so that
//!   hostile input cannot overflow the stack.

use std::fmt;
use std::fmt::Write as _;

/// A problem in a template, with the byte offset in the template string where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

impl TemplateError {
    fn new(offset: usize, message: impl Into<String>) -> Self {
        TemplateError {
            offset,
            message: message.into(),
        }
    }
}

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (at byte {})", self.message, self.offset)
    }
}

impl std::error::Error for TemplateError {}

/// Checks `text` as a Prometheus alert template. Ok(()) when it parses.
pub fn check(text: &str) -> Result<(), TemplateError> {
    Parser::new(text).parse().map(|_| ())
}

/// The label names a template reads as `$labels.NAME` or `.Labels.NAME` (for lint checks),
/// in order of first appearance, without duplicates. Returns an empty Vec on parse errors.
///
/// `.Labels.NAME` is only counted where `.` is still the alert itself: at the top
/// level and inside `if`/`else` bodies, but not inside the body of a `range` or
/// `with` (where `.` is rebound, e.g. to a sample returned by `query`) nor inside
/// `define`/`block` bodies.
pub fn referenced_labels(text: &str) -> Vec<String> {
    Parser::new(text).parse().unwrap_or_default()
}

/// Maximum nesting of control structures and parenthesised pipelines.
const MAX_DEPTH: usize = 100;

/// Go's limit on the number of commands in one pipeline.
const MAX_PIPELINE_COMMANDS: usize = 1000;

/// Functions predefined by Go's `text/template`.
const GO_BUILTINS: &[&str] = &[
    "and", "or", "not", "len", "index", "slice", "print", "printf", "println", "eq", "ne", "lt",
    "le", "gt", "ge", "html", "js", "urlquery", "call",
];

/// Functions Prometheus adds for alert templates.
const PROMETHEUS_FUNCTIONS: &[&str] = &[
    "humanize",
    "humanize1024",
    "humanizeDuration",
    "humanizePercentage",
    "humanizeTimestamp",
    "toTime",
    "title",
    "toUpper",
    "toLower",
    "match",
    "reReplaceAll",
    "query",
    "first",
    "label",
    "value",
    "strvalue",
    "sortByLabel",
    "args",
    "safeHtml",
    "stripPort",
    "stripDomain",
    "graphLink",
    "tableLink",
    "pathPrefix",
    "externalURL",
    "parseDuration",
    "tmpl",
];

/// Variables available at the top level of every alert template.
const PREDEFINED_VARIABLES: &[&str] =
    &["$", "$labels", "$value", "$externalLabels", "$externalURL"];

fn is_function(name: &str) -> bool {
    GO_BUILTINS.contains(&name) || PROMETHEUS_FUNCTIONS.contains(&name)
}

// ---------------------------------------------------------------------------
// Lexer
// ---------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Text,
    Comment,
    LeftDelim,
    RightDelim,
    Space,
    Assign,
    Declare,
    Pipe,
    LeftParen,
    RightParen,
    /// Any other printable ASCII character inside an action, e.g. `,`.
    Char,
    Str,
    RawStr,
    CharConst,
    Number,
    Complex,
    Bool,
    Variable,
    Field,
    Identifier,
    // Keywords.
    Dot,
    Nil,
    Block,
    Break,
    Continue,
    Define,
    Else,
    End,
    If,
    Range,
    Template,
    With,
    // End of the token stream.
    Eof,
    Error,
}

impl Kind {
    fn is_keyword(self) -> bool {
        matches!(
            self,
            Kind::Dot
                | Kind::Nil
                | Kind::Block
                | Kind::Break
                | Kind::Continue
                | Kind::Define
                | Kind::Else
                | Kind::End
                | Kind::If
                | Kind::Range
                | Kind::Template
                | Kind::With
        )
    }
}

#[derive(Clone, Copy, Debug)]
struct Token<'a> {
    kind: Kind,
    pos: usize,
    val: &'a str,
}

fn is_space_byte(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alphanumeric(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// `{{- ` : a dash followed by white space right after the left delimiter.
fn has_left_trim_marker(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 2 && b[0] == b'-' && is_space_byte(b[1])
}

struct Lexer<'a> {
    input: &'a str,
    pos: usize,
    tokens: Vec<Token<'a>>,
}

impl<'a> Lexer<'a> {
    /// Tokenises `input`. The returned tokens always end with an `Eof` or an
    /// `Error` token; in the latter case the error is returned as well.
    fn run(input: &'a str) -> (Vec<Token<'a>>, Option<TemplateError>) {
        let mut lexer = Lexer {
            input,
            pos: 0,
            tokens: Vec::new(),
        };
        let error = lexer.lex_all().err();
        let last = match &error {
            Some(e) => Token {
                kind: Kind::Error,
                pos: e.offset,
                val: "",
            },
            None => Token {
                kind: Kind::Eof,
                pos: input.len(),
                val: "",
            },
        };
        lexer.tokens.push(last);
        (lexer.tokens, error)
    }

    fn emit(&mut self, kind: Kind, start: usize) {
        self.tokens.push(Token {
            kind,
            pos: start,
            val: &self.input[start..self.pos],
        });
    }

    fn rest(&self) -> &'a str {
        &self.input[self.pos..]
    }

    fn peek_char(&self) -> Option<char> {
        self.rest().chars().next()
    }

    fn peek_byte(&self) -> Option<u8> {
        self.input.as_bytes().get(self.pos).copied()
    }

    fn accept(&mut self, valid: &str) -> bool {
        match self.peek_byte() {
            Some(b) if valid.as_bytes().contains(&b) => {
                self.pos += 1;
                true
            }
            _ => false,
        }
    }

    fn accept_run(&mut self, valid: &str) {
        while self.accept(valid) {}
    }

    fn lex_all(&mut self) -> Result<(), TemplateError> {
        while self.pos < self.input.len() {
            let start = self.pos;
            match self.rest().find("{{") {
                Some(0) => self.lex_action()?,
                Some(x) => {
                    self.pos += x;
                    self.emit(Kind::Text, start);
                }
                None => {
                    self.pos = self.input.len();
                    self.emit(Kind::Text, start);
                }
            }
        }
        Ok(())
    }

    /// Length of the right delimiter (`}}` or ` -}}`) at the current position.
    fn right_delim_len(&self) -> Option<usize> {
        let rest = self.rest().as_bytes();
        if rest.starts_with(b"}}") {
            Some(2)
        } else if rest.len() >= 4
            && is_space_byte(rest[0])
            && rest[1] == b'-'
            && rest[2..].starts_with(b"}}")
        {
            Some(4)
        } else {
            None
        }
    }

    /// Scans a comment or an action; the current position is at `{{`.
    fn lex_action(&mut self) -> Result<(), TemplateError> {
        let open = self.pos;
        self.pos += 2;
        let marker = if has_left_trim_marker(self.rest()) {
            2
        } else {
            0
        };
        if self.rest()[marker..].starts_with("/*") {
            return self.lex_comment(open, marker);
        }
        self.tokens.push(Token {
            kind: Kind::LeftDelim,
            pos: open,
            val: "{{",
        });
        self.pos += marker;
        let mut parens: Vec<usize> = Vec::new();
        loop {
            if let Some(len) = self.right_delim_len() {
                if let Some(&paren) = parens.last() {
                    return Err(TemplateError::new(paren, "unclosed left paren"));
                }
                self.tokens.push(Token {
                    kind: Kind::RightDelim,
                    pos: self.pos,
                    val: "}}",
                });
                self.pos += len;
                return Ok(());
            }
            let start = self.pos;
            let Some(c) = self.peek_char() else {
                return Err(TemplateError::new(open, "unclosed action"));
            };
            match c {
                ' ' | '\t' | '\r' | '\n' => self.lex_space(),
                '=' => {
                    self.pos += 1;
                    self.emit(Kind::Assign, start);
                }
                ':' => {
                    self.pos += 1;
                    if !self.accept("=") {
                        return Err(TemplateError::new(start, "expected :="));
                    }
                    self.emit(Kind::Declare, start);
                }
                '|' => {
                    self.pos += 1;
                    self.emit(Kind::Pipe, start);
                }
                '"' => self.lex_quote(start, '"', Kind::Str, "unterminated quoted string")?,
                '\'' => self.lex_quote(
                    start,
                    '\'',
                    Kind::CharConst,
                    "unterminated character constant",
                )?,
                '`' => self.lex_raw_quote(start)?,
                '$' => {
                    self.pos += 1;
                    self.lex_field_or_variable(start, Kind::Variable)?;
                }
                // `.` starts a field unless a digit follows (then it is a number).
                '.' if !matches!(
                    self.input.as_bytes().get(self.pos + 1),
                    None | Some(b'0'..=b'9')
                ) =>
                {
                    self.pos += 1;
                    self.lex_field_or_variable(start, Kind::Field)?;
                }
                '.' | '+' | '-' | '0'..='9' => self.lex_number(start)?,
                '(' => {
                    self.pos += 1;
                    self.emit(Kind::LeftParen, start);
                    parens.push(start);
                }
                ')' => {
                    self.pos += 1;
                    self.emit(Kind::RightParen, start);
                    if parens.pop().is_none() {
                        return Err(TemplateError::new(start, "unexpected right paren"));
                    }
                }
                c if is_alphanumeric(c) => self.lex_identifier(start)?,
                c if c.is_ascii_graphic() => {
                    self.pos += 1;
                    self.emit(Kind::Char, start);
                }
                c => {
                    return Err(TemplateError::new(
                        start,
                        format!("unrecognized character in action: {}", describe_rune(c)),
                    ));
                }
            }
        }
    }

    /// Scans `{{/* ... */}}`; `marker` is the length of a `- ` trim marker after `{{`.
    fn lex_comment(&mut self, open: usize, marker: usize) -> Result<(), TemplateError> {
        self.pos += marker + 2;
        let Some(end) = self.rest().find("*/") else {
            return Err(TemplateError::new(open, "unclosed comment"));
        };
        self.pos += end + 2;
        let Some(len) = self.right_delim_len() else {
            return Err(TemplateError::new(
                self.pos,
                "comment ends before closing delimiter",
            ));
        };
        self.pos += len;
        self.emit(Kind::Comment, open);
        Ok(())
    }

    /// Scans a run of white space. A single space before `-}}` belongs to the
    /// trim marker and is not emitted.
    fn lex_space(&mut self) {
        let start = self.pos;
        while matches!(self.peek_byte(), Some(b) if is_space_byte(b)) {
            self.pos += 1;
        }
        if self.rest().starts_with("-}}") {
            self.pos -= 1;
            if self.pos == start {
                return;
            }
        }
        self.emit(Kind::Space, start);
    }

    /// Scans a quoted string or character constant; the current position is at
    /// the opening quote. Escapes are checked later by the parser.
    fn lex_quote(
        &mut self,
        start: usize,
        quote: char,
        kind: Kind,
        unterminated: &str,
    ) -> Result<(), TemplateError> {
        self.pos += 1;
        loop {
            let Some(c) = self.peek_char() else {
                return Err(TemplateError::new(start, unterminated));
            };
            self.pos += c.len_utf8();
            match c {
                '\\' => match self.peek_char() {
                    None | Some('\n') => return Err(TemplateError::new(start, unterminated)),
                    Some(escaped) => self.pos += escaped.len_utf8(),
                },
                '\n' => return Err(TemplateError::new(start, unterminated)),
                c if c == quote => break,
                _ => {}
            }
        }
        self.emit(kind, start);
        Ok(())
    }

    fn lex_raw_quote(&mut self, start: usize) -> Result<(), TemplateError> {
        match self.input[start + 1..].find('`') {
            Some(len) => {
                self.pos = start + 1 + len + 1;
                self.emit(Kind::RawStr, start);
                Ok(())
            }
            None => Err(TemplateError::new(start, "unterminated raw quoted string")),
        }
    }

    /// Whether the current character may follow an identifier, field or variable.
    fn at_terminator(&self) -> bool {
        match self.peek_char() {
            None => true,
            Some(c) => matches!(
                c,
                ' ' | '\t' | '\r' | '\n' | '.' | ',' | '|' | ':' | ')' | '(' | '}'
            ),
        }
    }

    fn expect_terminator(&self) -> Result<(), TemplateError> {
        match self.peek_char() {
            Some(c) if !self.at_terminator() => Err(TemplateError::new(
                self.pos,
                format!("bad character {}", describe_rune(c)),
            )),
            _ => Ok(()),
        }
    }

    fn skip_alphanumerics(&mut self) {
        while let Some(c) = self.peek_char() {
            if !is_alphanumeric(c) {
                break;
            }
            self.pos += c.len_utf8();
        }
    }

    /// Scans `.name` or `$name`; the `.` or `$` has been consumed.
    fn lex_field_or_variable(&mut self, start: usize, kind: Kind) -> Result<(), TemplateError> {
        if self.at_terminator() {
            // A lone "." or "$".
            let kind = if kind == Kind::Field { Kind::Dot } else { kind };
            self.emit(kind, start);
            return Ok(());
        }
        self.skip_alphanumerics();
        self.expect_terminator()?;
        self.emit(kind, start);
        Ok(())
    }

    fn lex_identifier(&mut self, start: usize) -> Result<(), TemplateError> {
        self.skip_alphanumerics();
        self.expect_terminator()?;
        let kind = match &self.input[start..self.pos] {
            "block" => Kind::Block,
            "break" => Kind::Break,
            "continue" => Kind::Continue,
            "define" => Kind::Define,
            "else" => Kind::Else,
            "end" => Kind::End,
            "if" => Kind::If,
            "range" => Kind::Range,
            "nil" => Kind::Nil,
            "template" => Kind::Template,
            "with" => Kind::With,
            "true" | "false" => Kind::Bool,
            _ => Kind::Identifier,
        };
        self.emit(kind, start);
        Ok(())
    }

    fn lex_number(&mut self, start: usize) -> Result<(), TemplateError> {
        let bad = |lexer: &Self| {
            TemplateError::new(
                start,
                format!(
                    "bad number syntax: {}",
                    go_quote(&lexer.input[start..lexer.pos])
                ),
            )
        };
        if !self.scan_number() {
            return Err(bad(self));
        }
        if matches!(self.peek_byte(), Some(b'+' | b'-')) {
            // Complex: 1+2i. No spaces, must end in 'i'.
            if !self.scan_number() || !self.input[..self.pos].ends_with('i') {
                return Err(bad(self));
            }
            self.emit(Kind::Complex, start);
        } else {
            self.emit(Kind::Number, start);
        }
        Ok(())
    }

    /// Go's permissive number scanner; the parser validates the result.
    fn scan_number(&mut self) -> bool {
        self.accept("+-");
        let mut digits = "0123456789_";
        if self.accept("0") {
            if self.accept("xX") {
                digits = "0123456789abcdefABCDEF_";
            } else if self.accept("oO") {
                digits = "01234567_";
            } else if self.accept("bB") {
                digits = "01_";
            }
        }
        self.accept_run(digits);
        if self.accept(".") {
            self.accept_run(digits);
        }
        if digits.len() == 11 && self.accept("eE") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        if digits.len() == 23 && self.accept("pP") {
            self.accept("+-");
            self.accept_run("0123456789_");
        }
        self.accept("i");
        match self.peek_char() {
            Some(c) if is_alphanumeric(c) => {
                self.pos += c.len_utf8();
                false
            }
            _ => true,
        }
    }
}

// ---------------------------------------------------------------------------
// Parser
// ---------------------------------------------------------------------------

/// What an operand is, as far as the parser's checks care.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Term {
    Identifier,
    Dot,
    Nil,
    Variable,
    Field,
    Bool,
    Number,
    Str,
    Pipeline,
    Chain,
}

/// Result of parsing one text or action: `{{end}}` and `{{else}}` terminate lists.
enum Node {
    Other,
    /// `{{end}}`, with the offset of its `{{`.
    End(usize),
    /// `{{else}}`, with the offset of its `{{`.
    Else(usize),
}

/// State that a `define` or `block` body does not inherit (it is a new Go template).
struct Scope<'a> {
    vars: Vec<&'a str>,
    range_depth: usize,
    dot_is_alert: bool,
}

type PResult<T> = Result<T, TemplateError>;

struct Parser<'a> {
    tokens: Vec<Token<'a>>,
    lex_error: Option<TemplateError>,
    pos: usize,
    /// Variables in scope, innermost last.
    vars: Vec<&'a str>,
    /// Number of enclosing `range` bodies (for `break`/`continue`).
    range_depth: usize,
    /// Whether `.` is still the alert data (so `.Labels.x` reads an alert label).
    dot_is_alert: bool,
    depth: usize,
    labels: Vec<String>,
}

impl<'a> Parser<'a> {
    fn new(text: &'a str) -> Self {
        let (tokens, lex_error) = Lexer::run(text);
        Parser {
            tokens,
            lex_error,
            pos: 0,
            vars: PREDEFINED_VARIABLES.to_vec(),
            range_depth: 0,
            dot_is_alert: true,
            depth: 0,
            labels: Vec::new(),
        }
    }

    // --- token access -------------------------------------------------------

    fn peek(&self) -> PResult<Token<'a>> {
        let token = self.tokens[self.pos.min(self.tokens.len() - 1)];
        if token.kind == Kind::Error {
            return Err(self
                .lex_error
                .clone()
                .unwrap_or_else(|| TemplateError::new(token.pos, "syntax error")));
        }
        Ok(token)
    }

    fn next(&mut self) -> PResult<Token<'a>> {
        let token = self.peek()?;
        self.pos += 1;
        Ok(token)
    }

    fn backup(&mut self) {
        self.pos -= 1;
    }

    fn next_non_space(&mut self) -> PResult<Token<'a>> {
        loop {
            let token = self.next()?;
            if token.kind != Kind::Space {
                return Ok(token);
            }
        }
    }

    /// Like Go's peekNonSpace: consumes spaces, then peeks.
    fn peek_non_space(&mut self) -> PResult<Token<'a>> {
        let token = self.next_non_space()?;
        self.backup();
        Ok(token)
    }

    fn expect(&mut self, kind: Kind, context: &str) -> PResult<Token<'a>> {
        let token = self.next_non_space()?;
        if token.kind != kind {
            return Err(unexpected(&token, context));
        }
        Ok(token)
    }

    fn enter_nesting(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(TemplateError::new(pos, "max nesting depth exceeded"));
        }
        Ok(())
    }

    fn enter_template_body(&mut self) -> Scope<'a> {
        Scope {
            vars: std::mem::replace(&mut self.vars, vec!["$"]),
            range_depth: std::mem::replace(&mut self.range_depth, 0),
            dot_is_alert: std::mem::replace(&mut self.dot_is_alert, false),
        }
    }

    fn leave_template_body(&mut self, scope: Scope<'a>) {
        self.vars = scope.vars;
        self.range_depth = scope.range_depth;
        self.dot_is_alert = scope.dot_is_alert;
    }

    fn add_label(&mut self, field: &str) {
        let name = field.trim_start_matches('.');
        if !self.labels.iter().any(|l| l == name) {
            self.labels.push(name.to_string());
        }
    }

    // --- grammar ------------------------------------------------------------

    /// Top level: text, actions and `define` clauses.
    fn parse(mut self) -> PResult<Vec<String>> {
        loop {
            let token = self.peek()?;
            match token.kind {
                Kind::Eof => return Ok(self.labels),
                Kind::LeftDelim => {
                    let save = self.pos;
                    self.next()?;
                    if self.next_non_space()?.kind == Kind::Define {
                        self.parse_definition(token.pos)?;
                        continue;
                    }
                    self.pos = save;
                }
                _ => {}
            }
            match self.text_or_action()? {
                Node::End(pos) => return Err(TemplateError::new(pos, "unexpected {{end}}")),
                Node::Else(pos) => return Err(TemplateError::new(pos, "unexpected {{else}}")),
                Node::Other => {}
            }
        }
    }

    /// `{{define "name"}} itemList {{end}}`; the `define` keyword is past.
    fn parse_definition(&mut self, open: usize) -> PResult<()> {
        const CONTEXT: &str = "define clause";
        let name = self.next_non_space()?;
        self.template_name(&name, CONTEXT)?;
        self.expect(Kind::RightDelim, CONTEXT)?;
        let scope = self.enter_template_body();
        if let Node::Else(pos) = self.item_list(open)? {
            return Err(TemplateError::new(
                pos,
                "unexpected {{else}} in define clause",
            ));
        }
        self.leave_template_body(scope);
        Ok(())
    }

    /// Items up to `{{end}}` or `{{else}}`; `open` is the `{{` of the enclosing block.
    fn item_list(&mut self, open: usize) -> PResult<Node> {
        loop {
            if self.peek_non_space()?.kind == Kind::Eof {
                return Err(TemplateError::new(open, "unexpected EOF"));
            }
            match self.text_or_action()? {
                Node::Other => {}
                node => return Ok(node),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Node> {
        let token = self.next_non_space()?;
        match token.kind {
            Kind::Text | Kind::Comment => Ok(Node::Other),
            Kind::LeftDelim => self.action(token.pos),
            _ => Err(unexpected(&token, "input")),
        }
    }

    /// An action; its `{{` (at `open`) is past.
    fn action(&mut self, open: usize) -> PResult<Node> {
        let token = self.next_non_space()?;
        match token.kind {
            Kind::Block => self.block_control(open, token.pos)?,
            Kind::Break | Kind::Continue => {
                let name = if token.kind == Kind::Break {
                    "{{break}}"
                } else {
                    "{{continue}}"
                };
                let next = self.next_non_space()?;
                if next.kind != Kind::RightDelim {
                    return Err(unexpected(&next, name));
                }
                if self.range_depth == 0 {
                    return Err(TemplateError::new(
                        open,
                        format!("{name} outside {{{{range}}}}"),
                    ));
                }
            }
            Kind::Else => {
                // `{{else if ...}}` / `{{else with ...}}` leave the keyword pending.
                let next = self.peek_non_space()?;
                if next.kind != Kind::If && next.kind != Kind::With {
                    self.expect(Kind::RightDelim, "else")?;
                }
                return Ok(Node::Else(open));
            }
            Kind::End => {
                self.expect(Kind::RightDelim, "end")?;
                return Ok(Node::End(open));
            }
            Kind::If => self.parse_control(open, token.pos, "if")?,
            Kind::Range => self.parse_control(open, token.pos, "range")?,
            Kind::With => self.parse_control(open, token.pos, "with")?,
            Kind::Template => self.template_control()?,
            _ => {
                self.backup();
                self.pipeline("command", Kind::RightDelim, open)?;
            }
        }
        Ok(Node::Other)
    }

    /// `if`, `range` and `with`, including `else`, `else if` and `else with`
    /// chains; the keyword (at `keyword_pos`) is past.
    fn parse_control(
        &mut self,
        open: usize,
        keyword_pos: usize,
        context: &'static str,
    ) -> PResult<()> {
        self.enter_nesting(open)?;
        let saved_vars = self.vars.len();
        let saved_dot = self.dot_is_alert;
        let mut keyword_pos = keyword_pos;
        loop {
            self.pipeline(context, Kind::RightDelim, keyword_pos)?;
            if context != "if" {
                // `range` and `with` rebind `.` in their body.
                self.dot_is_alert = false;
            }
            if context == "range" {
                self.range_depth += 1;
            }
            let next = self.item_list(open)?;
            if context == "range" {
                self.range_depth -= 1;
            }
            self.dot_is_alert = saved_dot;
            let Node::Else(_) = next else {
                break;
            };
            let token = self.peek()?;
            if (context == "if" && token.kind == Kind::If)
                || (context == "with" && token.kind == Kind::With)
            {
                // `{{else if x}}` is `{{else}}{{if x}}...{{end}}` sharing one `{{end}}`.
                self.next()?;
                keyword_pos = token.pos;
                continue;
            }
            if let Node::Else(pos) = self.item_list(open)? {
                return Err(TemplateError::new(pos, "expected end; found {{else}}"));
            }
            break;
        }
        self.vars.truncate(saved_vars);
        self.depth -= 1;
        Ok(())
    }

    /// `{{template "name" pipeline?}}`; the keyword is past.
    fn template_control(&mut self) -> PResult<()> {
        const CONTEXT: &str = "template clause";
        let name = self.next_non_space()?;
        self.template_name(&name, CONTEXT)?;
        let next = self.next_non_space()?;
        if next.kind != Kind::RightDelim {
            self.backup();
            self.pipeline(CONTEXT, Kind::RightDelim, next.pos)?;
        }
        Ok(())
    }

    /// `{{block "name" pipeline}} itemList {{end}}`; the keyword is past.
    fn block_control(&mut self, open: usize, keyword_pos: usize) -> PResult<()> {
        const CONTEXT: &str = "block clause";
        let name = self.next_non_space()?;
        self.template_name(&name, CONTEXT)?;
        self.pipeline(CONTEXT, Kind::RightDelim, keyword_pos)?;
        self.enter_nesting(open)?;
        let scope = self.enter_template_body();
        if let Node::Else(pos) = self.item_list(open)? {
            return Err(TemplateError::new(
                pos,
                "unexpected {{else}} in block clause",
            ));
        }
        self.leave_template_body(scope);
        self.depth -= 1;
        Ok(())
    }

    fn template_name(&self, token: &Token<'a>, context: &str) -> PResult<()> {
        match token.kind {
            Kind::Str | Kind::RawStr => check_string_literal(token),
            _ => Err(unexpected(token, context)),
        }
    }

    /// `declarations? command ('|' command)*` up to `end`, which is consumed.
    /// `start` is where a "missing value" error is reported.
    fn pipeline(&mut self, context: &str, end: Kind, start: usize) -> PResult<()> {
        // Declarations: `$x :=`, `$x =`, and `$i, $e :=` in range.
        let mut decls = 0;
        loop {
            let var = self.peek_non_space()?;
            if var.kind != Kind::Variable {
                break;
            }
            let var_index = self.pos;
            self.next()?;
            let next = self.peek_non_space()?;
            if next.kind == Kind::Assign || next.kind == Kind::Declare {
                self.next_non_space()?;
                self.vars.push(var.val);
                break;
            }
            if next.kind == Kind::Char && next.val == "," {
                self.next_non_space()?;
                self.vars.push(var.val);
                decls += 1;
                if context == "range" && decls < 2 {
                    let after = self.peek_non_space()?;
                    match after.kind {
                        Kind::Variable | Kind::RightDelim | Kind::RightParen => continue,
                        _ => {
                            return Err(TemplateError::new(
                                after.pos,
                                "range can only initialize variables",
                            ));
                        }
                    }
                }
                return Err(TemplateError::new(
                    var.pos,
                    format!("too many declarations in {context}"),
                ));
            }
            // Not a declaration: `$x` is the first operand.
            self.pos = var_index;
            break;
        }

        // Commands, each as (kind of its first operand, offset).
        let mut commands: Vec<(Term, usize)> = Vec::new();
        let mut trailing_pipe: Option<usize> = None;
        loop {
            let token = self.next_non_space()?;
            if token.kind == end {
                if let Some(pipe) = trailing_pipe {
                    return Err(TemplateError::new(pipe, "missing command after |"));
                }
                return check_pipeline(&commands, context, start);
            }
            match token.kind {
                Kind::Bool
                | Kind::CharConst
                | Kind::Complex
                | Kind::Dot
                | Kind::Field
                | Kind::Identifier
                | Kind::Number
                | Kind::Nil
                | Kind::RawStr
                | Kind::Str
                | Kind::Variable
                | Kind::LeftParen => {
                    self.backup();
                    let (first, pipe) = self.command()?;
                    commands.push((first, token.pos));
                    if commands.len() > MAX_PIPELINE_COMMANDS {
                        return Err(TemplateError::new(token.pos, "pipeline too long"));
                    }
                    trailing_pipe = pipe;
                }
                _ => return Err(unexpected(&token, context)),
            }
        }
    }

    /// Space-separated operands up to `|` (consumed; its offset is returned)
    /// or a right delimiter/paren (left in place). Returns the first operand's kind.
    fn command(&mut self) -> PResult<(Term, Option<usize>)> {
        let start = self.peek_non_space()?.pos;
        let mut first = None;
        loop {
            self.peek_non_space()?;
            if let Some(term) = self.operand()? {
                first.get_or_insert(term);
            }
            let token = self.next()?;
            let pipe = match token.kind {
                Kind::Space => continue,
                Kind::RightDelim | Kind::RightParen => {
                    self.backup();
                    None
                }
                Kind::Pipe => Some(token.pos),
                _ => return Err(unexpected(&token, "operand")),
            };
            return match first {
                Some(term) => Ok((term, pipe)),
                None => Err(TemplateError::new(start, "empty command")),
            };
        }
    }

    /// `term .Field*`. Records `$labels.NAME` and `.Labels.NAME`.
    fn operand(&mut self) -> PResult<Option<Term>> {
        let Some((term, text)) = self.term()? else {
            return Ok(None);
        };
        let first_field = self.peek()?;
        if first_field.kind != Kind::Field {
            return Ok(Some(term));
        }
        while self.peek()?.kind == Kind::Field {
            self.next()?;
        }
        let reads_label = match term {
            Term::Variable => text == "$labels",
            Term::Field => text == ".Labels" && self.dot_is_alert,
            _ => false,
        };
        if reads_label {
            self.add_label(first_field.val);
        }
        match term {
            Term::Field | Term::Variable => Ok(Some(term)),
            Term::Bool | Term::Str | Term::Number | Term::Nil | Term::Dot => {
                Err(TemplateError::new(
                    first_field.pos,
                    format!("unexpected . after term {}", go_quote(text)),
                ))
            }
            _ => Ok(Some(Term::Chain)),
        }
    }

    /// A literal, function name, `.`, `.Field`, `$var` or `( pipeline )`.
    /// Returns the term and its source text, or None (consuming nothing) when
    /// the next token does not start a term.
    fn term(&mut self) -> PResult<Option<(Term, &'a str)>> {
        let token = self.next_non_space()?;
        let term = match token.kind {
            Kind::Identifier => {
                if !is_function(token.val) {
                    return Err(TemplateError::new(
                        token.pos,
                        format!("function {} not defined", go_quote(token.val)),
                    ));
                }
                Term::Identifier
            }
            Kind::Dot => Term::Dot,
            Kind::Nil => Term::Nil,
            Kind::Variable => {
                if !self.vars.contains(&token.val) {
                    return Err(TemplateError::new(
                        token.pos,
                        format!("undefined variable {}", go_quote(token.val)),
                    ));
                }
                Term::Variable
            }
            Kind::Field => Term::Field,
            Kind::Bool => Term::Bool,
            Kind::CharConst | Kind::Complex | Kind::Number => {
                check_number(&token)?;
                Term::Number
            }
            Kind::LeftParen => {
                self.enter_nesting(token.pos)?;
                self.pipeline("parenthesized pipeline", Kind::RightParen, token.pos)?;
                self.depth -= 1;
                Term::Pipeline
            }
            Kind::Str | Kind::RawStr => {
                check_string_literal(&token)?;
                Term::Str
            }
            _ => {
                self.backup();
                return Ok(None);
            }
        };
        Ok(Some((term, token.val)))
    }
}

fn check_pipeline(commands: &[(Term, usize)], context: &str, start: usize) -> PResult<()> {
    if commands.is_empty() {
        return Err(TemplateError::new(
            start,
            format!("missing value for {context}"),
        ));
    }
    // Only the first command of a pipeline may start with a non-executable operand.
    for (index, (first, pos)) in commands.iter().enumerate().skip(1) {
        if matches!(
            first,
            Term::Bool | Term::Dot | Term::Nil | Term::Number | Term::Str
        ) {
            return Err(TemplateError::new(
                *pos,
                format!("non executable command in pipeline stage {}", index + 1),
            ));
        }
    }
    Ok(())
}

/// Go's `unexpected %s in %s`.
fn unexpected(token: &Token<'_>, context: &str) -> TemplateError {
    TemplateError::new(
        token.pos,
        format!("unexpected {} in {}", describe(token), context),
    )
}

/// A token as Go's `item.String()` prints it.
fn describe(token: &Token<'_>) -> String {
    match token.kind {
        Kind::Eof => "EOF".to_string(),
        kind if kind.is_keyword() => format!("<{}>", token.val),
        _ if token.val.len() > 10 => {
            let prefix: String = token.val.chars().take(10).collect();
            format!("{}...", go_quote(&prefix))
        }
        _ => go_quote(token.val),
    }
}

/// Approximately Go's `%q`.
fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Go's `%#U`: `U+0041 'A'`.
fn describe_rune(c: char) -> String {
    if c == ' ' || !(c.is_control() || c.is_whitespace()) {
        format!("U+{:04X} '{}'", c as u32, c)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

// ---------------------------------------------------------------------------
// Literal validation (Go's strconv rules)
// ---------------------------------------------------------------------------

/// Validates the escape sequences of a string literal token (raw strings are always fine).
fn check_string_literal(token: &Token<'_>) -> PResult<()> {
    if token.kind != Kind::Str {
        return Ok(());
    }
    let body = &token.val[1..token.val.len() - 1];
    let mut i = 0;
    while i < body.len() {
        let len = unquote_char(&body[i..], '"')
            .map_err(|message| TemplateError::new(token.pos + 1 + i, message))?;
        i += len;
    }
    Ok(())
}

/// Like Go's `strconv.UnquoteChar`: checks the (possibly escaped) character at
/// the start of the non-empty `s` and returns its length in bytes.
fn unquote_char(s: &str, quote: char) -> Result<usize, String> {
    let mut chars = s.chars();
    let c = chars.next().ok_or_else(|| "empty literal".to_string())?;
    if c == quote {
        return Err(format!("unescaped {quote} in literal"));
    }
    if c != '\\' {
        return Ok(c.len_utf8());
    }
    let Some(escape) = chars.next() else {
        return Err("unterminated escape sequence".to_string());
    };
    match escape {
        'a' | 'b' | 'f' | 'n' | 'r' | 't' | 'v' | '\\' => Ok(2),
        'x' | 'u' | 'U' => {
            let n = match escape {
                'x' => 2,
                'u' => 4,
                _ => 8,
            };
            let digits = s
                .get(2..2 + n)
                .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))
                .ok_or_else(|| {
                    format!("invalid escape sequence \\{escape}: expected {n} hex digits")
                })?;
            if escape != 'x' {
                let valid = u32::from_str_radix(digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .is_some();
                if !valid {
                    return Err(format!(
                        "escape sequence \\{escape}{digits} is not a valid Unicode code point"
                    ));
                }
            }
            Ok(2 + n)
        }
        '0'..='7' => {
            let digits = s
                .get(1..4)
                .filter(|d| d.bytes().all(|b| (b'0'..=b'7').contains(&b)))
                .ok_or_else(|| {
                    format!("invalid escape sequence \\{escape}: expected 3 octal digits")
                })?;
            if u32::from_str_radix(digits, 8).unwrap_or(u32::MAX) > 255 {
                return Err(format!("octal escape value \\{digits} > 255"));
            }
            Ok(4)
        }
        e if e == quote => Ok(2),
        e => Err(format!("unknown escape sequence \\{e}")),
    }
}

/// Validates a number, complex number or character constant token.
fn check_number(token: &Token<'_>) -> PResult<()> {
    let text = token.val;
    let result = match token.kind {
        Kind::CharConst => {
            let body = &text[1..text.len() - 1];
            let ok = !body.is_empty()
                && matches!(unquote_char(body, '\''), Ok(len) if len == body.len());
            if ok {
                Ok(())
            } else {
                Err(format!("malformed character constant: {text}"))
            }
        }
        Kind::Complex => {
            if complex_ok(text) {
                Ok(())
            } else {
                Err(format!("illegal number syntax: {}", go_quote(text)))
            }
        }
        _ => number_ok(text),
    };
    result.map_err(|message| TemplateError::new(token.pos, message))
}

/// Go's `parse.newNumber` acceptance rules for a plain number token.
fn number_ok(text: &str) -> Result<(), String> {
    if text.strip_suffix('i').is_some_and(float_ok) {
        return Ok(());
    }
    if int_ok(text) {
        return Ok(());
    }
    if float_ok(text) {
        if !text.contains(['.', 'e', 'E', 'p', 'P']) {
            return Err(format!("integer overflow: {}", go_quote(text)));
        }
        return Ok(());
    }
    Err(format!("illegal number syntax: {}", go_quote(text)))
}

/// `1+2i`, `1.5-2e3i`, ...
fn complex_ok(text: &str) -> bool {
    let bytes = text.as_bytes();
    let split = (1..bytes.len()).find(|&i| {
        matches!(bytes[i], b'+' | b'-') && !matches!(bytes[i - 1], b'e' | b'E' | b'p' | b'P')
    });
    let Some(split) = split else {
        return false;
    };
    let (real, imaginary) = text.split_at(split);
    let Some(imaginary) = imaginary.strip_suffix('i') else {
        return false;
    };
    (int_ok(real) || float_ok(real)) && (int_ok(imaginary) || float_ok(imaginary))
}

/// Whether `strconv.ParseInt(text, 0, 64)` or `strconv.ParseUint(text, 0, 64)` succeeds.
fn int_ok(text: &str) -> bool {
    let (sign, body) = match text.as_bytes().first() {
        Some(b'+') => (Some(false), &text[1..]),
        Some(b'-') => (Some(true), &text[1..]),
        _ => (None, text),
    };
    let bytes = body.as_bytes();
    if bytes.is_empty() {
        return false;
    }
    let (base, digits): (u32, &[u8]) = if bytes[0] == b'0' {
        match bytes.get(1).map(u8::to_ascii_lowercase) {
            Some(b'b') if bytes.len() >= 3 => (2, &bytes[2..]),
            Some(b'o') if bytes.len() >= 3 => (8, &bytes[2..]),
            Some(b'x') if bytes.len() >= 3 => (16, &bytes[2..]),
            _ => (8, &bytes[1..]),
        }
    } else {
        (10, bytes)
    };
    let mut value: u64 = 0;
    let mut underscores = false;
    for &b in digits {
        if b == b'_' {
            underscores = true;
            continue;
        }
        let Some(digit) = char::from(b).to_digit(base) else {
            return false;
        };
        match value
            .checked_mul(u64::from(base))
            .and_then(|v| v.checked_add(u64::from(digit)))
        {
            Some(v) => value = v,
            None => return false,
        }
    }
    if underscores && !underscore_ok(text) {
        return false;
    }
    match sign {
        None => true,
        Some(false) => value <= i64::MAX as u64,
        Some(true) => value <= 1u64 << 63,
    }
}

/// Whether `strconv.ParseFloat(text, 64)` succeeds (decimal and hex floats).
fn float_ok(text: &str) -> bool {
    if text.contains('_') && !underscore_ok(text) {
        return false;
    }
    let cleaned: String = text.chars().filter(|&c| c != '_').collect();
    let body = cleaned.strip_prefix(['+', '-']).unwrap_or(&cleaned);
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return hex_float_ok(hex);
    }
    let bytes = body.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if i < bytes.len() && (bytes[i] == b'e' || bytes[i] == b'E') {
        i = match exponent_end(bytes, i + 1) {
            Some(end) => end,
            None => return false,
        };
    }
    i == bytes.len() && cleaned.parse::<f64>().is_ok_and(f64::is_finite)
}

/// Hex float mantissa and mandatory `p` exponent, after the `0x` prefix.
fn hex_float_ok(s: &str) -> bool {
    let bytes = s.as_bytes();
    let mut i = 0;
    let mut digits = 0;
    while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
        i += 1;
        digits += 1;
    }
    if i < bytes.len() && bytes[i] == b'.' {
        i += 1;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
            digits += 1;
        }
    }
    if digits == 0 || i >= bytes.len() || !matches!(bytes[i], b'p' | b'P') {
        return false;
    }
    exponent_end(bytes, i + 1) == Some(bytes.len())
}

/// End of `[+-]digits` starting at `i`, if there is at least one digit.
fn exponent_end(bytes: &[u8], mut i: usize) -> Option<usize> {
    if i < bytes.len() && matches!(bytes[i], b'+' | b'-') {
        i += 1;
    }
    let start = i;
    while i < bytes.len() && bytes[i].is_ascii_digit() {
        i += 1;
    }
    (i > start).then_some(i)
}

/// Go's `strconv.underscoreOK`: underscores only between digits or after a base prefix.
fn underscore_ok(s: &str) -> bool {
    let mut bytes = s.as_bytes();
    if let Some(b'+' | b'-') = bytes.first() {
        bytes = &bytes[1..];
    }
    // Last character class seen: '^' start, '0' digit or prefix, '_' underscore, '!' other.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if bytes.len() >= 2
        && bytes[0] == b'0'
        && matches!(bytes[1].to_ascii_lowercase(), b'b' | b'o' | b'x')
    {
        i = 2;
        saw = b'0';
        hex = bytes[1].eq_ignore_ascii_case(&b'x');
    }
    while i < bytes.len() {
        let b = bytes[i];
        i += 1;
        if b.is_ascii_digit() || (hex && b.is_ascii_hexdigit()) {
            saw = b'0';
            continue;
        }
        if b == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
            continue;
        }
        if saw == b'_' {
            return false;
        }
        saw = b'!';
    }
    saw != b'_'
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) {
        assert_eq!(check(text), Ok(()), "template {text:?} should be valid");
    }

    fn err(text: &str, message: &str, offset: usize) {
        assert_eq!(
            check(text),
            Err(TemplateError {
                offset,
                message: message.to_string()
            }),
            "template {text:?}"
        );
        assert!(
            referenced_labels(text).is_empty(),
            "no labels for invalid {text:?}"
        );
    }

    fn labels(text: &str) -> Vec<String> {
        referenced_labels(text)
    }

    // --- seed templates -----------------------------------------------------

    #[test]
    fn seed_templates_are_valid() {
        ok("Fehlerrate von {{ $value }} in den letzten 5 Minuten");
        ok("Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}");
        ok("MCP-Server {{ $labels.server_name }} ist nicht erreichbar");
        ok("Speicherverbrauch: {{ $value }}MB");
    }

    #[test]
    fn seed_template_labels() {
        assert_eq!(
            labels("Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}"),
            ["agent_id"]
        );
        assert_eq!(
            labels("MCP-Server {{ $labels.server_name }} ist nicht erreichbar"),
            ["server_name"]
        );
        assert!(labels("Fehlerrate von {{ $value }} in den letzten 5 Minuten").is_empty());
        assert!(labels("Speicherverbrauch: {{ $value }}MB").is_empty());
    }

    // --- valid constructs ---------------------------------------------------

    #[test]
    fn plain_text() {
        ok("");
        ok("no actions at all");
        ok("single { braces } and }} closing ones are text");
        ok("Größe: 5 € — ✓");
    }

    #[test]
    fn pipelines_and_functions() {
        ok("{{ $value | humanize }}");
        ok("{{ humanizePercentage $value }}");
        ok("{{ printf \"%.2f\" $value }}");
        ok("{{ $value | printf \"%.2f\" | toUpper }}");
        ok(
            "{{ humanize1024 $value }} {{ humanizeDuration $value }} {{ humanizeTimestamp $value }}",
        );
        ok("{{ $labels.instance | stripPort | stripDomain | title | toLower }}");
        ok("{{ reReplaceAll \"(.*):.*\" \"$1\" $labels.instance }}");
        ok("{{ if match \"^prod\" $labels.env }}p{{ end }}");
        ok("{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}");
        ok("{{ query \"up\" | sortByLabel \"job\" | first | label \"job\" }}");
        ok("{{ (query \"up\" | first | strvalue) }}");
        ok("{{ graphLink \"up\" }}{{ tableLink \"up\" }}{{ pathPrefix }}{{ externalURL }}");
        ok("{{ parseDuration \"5m\" | humanizeDuration }} {{ toTime $value }}");
        ok("{{ args 1 2 }}{{ safeHtml \"<b>\" }}{{ tmpl \"x\" . }}");
        ok("{{ and $value (not false) }}{{ or 1 2 }}{{ len \"abc\" }}");
        ok("{{ index $labels \"job\" }}{{ slice \"abc\" 1 2 }}");
        ok("{{ print 1 }}{{ println 2 }}{{ html \"<\" }}{{ js \"'\" }}{{ urlquery \"a b\" }}");
        ok("{{ eq 1 1 }}{{ ne 1 2 }}{{ lt 1 2 }}{{ le 1 2 }}{{ gt 2 1 }}{{ ge 2 1 }}");
        ok("{{ call nil }}");
    }

    #[test]
    fn variables() {
        ok("{{ $ }}{{ $value }}{{ $labels }}{{ $externalLabels.env }}{{ $externalURL }}");
        ok("{{ $x := 1 }}{{ $x }}");
        ok("{{ $x := humanize $value }}{{ $x = \"y\" }}{{ $x }}");
        ok("{{ $y = 2 }}{{ $y }}");
        ok("{{ if $v := $value }}{{ $v }}{{ else }}{{ $v }}{{ end }}");
        ok("{{ range $i, $e := query \"up\" }}{{ $i }}{{ $e }}{{ end }}");
        ok("{{ range $e := query \"up\" }}{{ $e.Labels.job }}{{ end }}");
        ok("{{ ($x := 1) }}{{ $x }}");
        ok("{{$value}}{{$labels.a}}");
    }

    #[test]
    fn fields_and_literals() {
        ok("{{ .Labels.instance }}{{ .Value }}{{ .ExternalLabels.x }}{{ . }}");
        ok("{{ $labels.foo.bar }}");
        ok("{{ (query \"up\").foo }}");
        ok("{{ \"double \\\"quoted\\\" \\n \\t \\\\ \\x41 \\u00e4 \\U0001F600 \\101\" }}");
        ok("{{ `raw \\q string\nwith newline` }}");
        ok("{{ 'a' }}{{ '\\n' }}{{ '\\'' }}{{ 'ä' }}{{ '\\x41' }}");
        ok("{{ 1 }}{{ -1 }}{{ +1 }}{{ 0.5 }}{{ .5 }}{{ 5. }}{{ 1e3 }}{{ -2.5E-3 }}");
        ok("{{ 0x1F }}{{ 0XFF }}{{ 0o17 }}{{ 0b101 }}{{ 017 }}{{ 1_000 }}{{ 0x1p-2 }}");
        ok("{{ 18446744073709551615 }}{{ -9223372036854775808 }}");
        ok("{{ 1i }}{{ 1+2i }}{{ 1.5-2e3i }}");
        ok("{{ true }}{{ false }}{{ nil }}");
        ok("{{ gt $value 0.5 }}{{ gt $value -1 }}");
    }

    #[test]
    fn control_structures() {
        ok("{{ if gt $value 0.5 }}high{{ else }}low{{ end }}");
        ok(
            "{{ if gt $value 0.9 }}a{{ else if gt $value 0.5 }}b{{ else if true }}c{{ else }}d{{ end }}",
        );
        ok("{{ range $i, $e := query \"up\" }}{{ $e.Labels.job }}{{ end }}");
        ok("{{ range query \"up\" }}{{ .Labels.job }}{{ else }}none{{ end }}");
        ok("{{ with $labels.job }}{{ . }}{{ else }}none{{ end }}");
        ok("{{ with $labels.a }}{{ . }}{{ else with $labels.b }}{{ . }}{{ else }}-{{ end }}");
        ok("{{ range query \"up\" }}{{ if true }}{{ break }}{{ end }}{{ continue }}{{ end }}");
        ok("{{ define \"x\" }}hello {{ . }}{{ end }}{{ template \"x\" $value }}");
        ok("{{ template `x` }}{{ define `x` }}{{ end }}");
        ok("{{ block \"b\" $value }}{{ . }}{{ end }}");
        ok("{{ if true }}{{ if false }}{{ range $labels }}{{ end }}{{ end }}{{ end }}");
    }

    #[test]
    fn trim_markers_comments_and_newlines() {
        ok("{{- $value -}}");
        ok("a {{- $value }} b {{ $value -}} c");
        ok("{{-3}}");
        ok("{{- /* trimmed comment */ -}}");
        ok("{{/* note */}}");
        ok("{{/* multi\nline {{ not an action }} */}}");
        ok("{{ if\n  gt $value 1\n}}x{{\tend\t}}");
        ok("{{ $value  -}}");
    }

    #[test]
    fn labels_listed_in_order_without_duplicates() {
        assert_eq!(labels("{{ .Labels.instance }}"), ["instance"]);
        assert_eq!(
            labels("{{ $labels.b }} {{ .Labels.a }} {{ $labels.b }} {{ $labels.c.d }}"),
            ["b", "a", "c"]
        );
        assert_eq!(
            labels("{{ if eq $labels.env \"prod\" }}{{ .Labels.team }}{{ end }}"),
            ["env", "team"]
        );
        assert_eq!(
            labels("{{ with $value }}{{ $labels.x }}{{ else }}{{ .Labels.y }}{{ end }}"),
            ["x", "y"]
        );
        assert_eq!(
            labels("{{ ($labels).x }}{{ $labels }}{{ .Labels }}"),
            [] as [&str; 0]
        );
    }

    #[test]
    fn labels_ignore_rebound_dot() {
        // Inside range/with, `.` is the query sample, not the alert.
        assert!(
            labels("{{ range $i, $e := query \"up\" }}{{ $e.Labels.job }}{{ end }}").is_empty()
        );
        assert!(labels("{{ range query \"up\" }}{{ .Labels.job }}{{ end }}").is_empty());
        assert!(labels("{{ with query \"up\" }}{{ .Labels.job }}{{ end }}").is_empty());
        assert!(labels("{{ define \"t\" }}{{ .Labels.job }}{{ end }}").is_empty());
        assert_eq!(
            labels("{{ range query \"up\" }}{{ $labels.a }}{{ end }}{{ .Labels.b }}"),
            ["a", "b"]
        );
    }

    // --- errors required by the brief ---------------------------------------

    #[test]
    fn unknown_function() {
        err(
            "{{ $value | humanise }}",
            "function \"humanise\" not defined",
            12,
        );
        err("{{ foo }}", "function \"foo\" not defined", 3);
    }

    #[test]
    fn unclosed_action() {
        err("{{ $value ", "unclosed action", 0);
        err("Wert: {{ $value", "unclosed action", 6);
        err("{{", "unclosed action", 0);
    }

    #[test]
    fn end_without_opener() {
        err("{{ end }}", "unexpected {{end}}", 0);
        err("ok {{ if true }}{{ end }}{{end}}", "unexpected {{end}}", 25);
    }

    #[test]
    fn opener_without_end() {
        err("{{ if $value }}x", "unexpected EOF", 0);
        err("a {{ range query \"up\" }}{{ . }}", "unexpected EOF", 2);
        err("{{ with $value }}{{ else }}", "unexpected EOF", 0);
        err("{{ if true }}{{ else if false }}x", "unexpected EOF", 0);
        err("{{ if true }}{{ if false }}{{ end }}", "unexpected EOF", 0);
        err("{{ define \"x\" }}", "unexpected EOF", 0);
    }

    #[test]
    fn undefined_variable() {
        err("{{ $undefined }}", "undefined variable \"$undefined\"", 3);
        err(
            "{{ $undefined.foo }}",
            "undefined variable \"$undefined\"",
            3,
        );
        // Variables declared inside a block are gone after its {{end}}.
        err(
            "{{ if true }}{{ $y := 1 }}{{ end }}{{ $y }}",
            "undefined variable \"$y\"",
            38,
        );
        err(
            "{{ range $i, $e := query \"up\" }}{{ end }}{{ $e }}",
            "undefined variable \"$e\"",
            44,
        );
        // A define body is a separate template: Prometheus' variables are not visible.
        err(
            "{{ define \"x\" }}{{ $labels.a }}{{ end }}",
            "undefined variable \"$labels\"",
            19,
        );
    }

    #[test]
    fn unterminated_string() {
        err("{{ \"abc }}", "unterminated quoted string", 3);
        err("{{ `abc }}", "unterminated raw quoted string", 3);
        err("{{ 'a }}", "unterminated character constant", 3);
        err("{{ \"abc\ndef\" }}", "unterminated quoted string", 3);
    }

    #[test]
    fn unbalanced_parentheses() {
        err("{{ ( $value }}", "unclosed left paren", 3);
        err("{{ (( $value) }}", "unclosed left paren", 3);
        err("{{ $value ) }}", "unexpected \")\" in command", 10);
        err("{{ ) }}", "unexpected \")\" in command", 3);
        err("{{ () }}", "missing value for parenthesized pipeline", 3);
    }

    #[test]
    fn empty_action_and_commands() {
        err("{{ }}", "missing value for command", 0);
        err("{{}}", "missing value for command", 0);
        err("x {{- -}}", "illegal number syntax: \"-\"", 6);
        err("{{ $value | }}", "missing command after |", 10);
        err("{{ $value | humanize |}}", "missing command after |", 21);
        err("{{ | $value }}", "unexpected \"|\" in command", 3);
        err(
            "{{ $value | | humanize }}",
            "unexpected \"|\" in command",
            12,
        );
        err("{{ $x := }}", "missing value for command", 0);
    }

    // --- further errors -----------------------------------------------------

    #[test]
    fn control_structure_errors() {
        err("{{ else }}", "unexpected {{else}}", 0);
        err("{{ if }}x{{ end }}", "missing value for if", 3);
        err("{{ range }}x{{ end }}", "missing value for range", 3);
        err("{{ with }}x{{ end }}", "missing value for with", 3);
        err(
            "{{ if 1 }}a{{ else }}b{{ else }}c{{ end }}",
            "expected end; found {{else}}",
            22,
        );
        err("{{ end $value }}", "unexpected \"$value\" in end", 7);
        err(
            "{{ if 1 }}{{ else 2 }}{{ end }}",
            "unexpected \"2\" in else",
            18,
        );
        err(
            "{{ range $labels }}{{ else if true }}{{ end }}",
            "unexpected <if> in input",
            27,
        );
        err("{{ break }}", "{{break}} outside {{range}}", 0);
        err("{{ continue }}", "{{continue}} outside {{range}}", 0);
        err(
            "{{ range $labels }}{{ else }}{{ break }}{{ end }}",
            "{{break}} outside {{range}}",
            29,
        );
        err(
            "{{ range $labels }}{{ break 1 }}{{ end }}",
            "unexpected \"1\" in {{break}}",
            28,
        );
        err(
            "{{ if true }}{{ define \"x\" }}{{ end }}{{ end }}",
            "unexpected <define> in command",
            16,
        );
        err(
            "{{ define \"x\" }}{{ else }}{{ end }}",
            "unexpected {{else}} in define clause",
            16,
        );
        err(
            "{{ define x }}{{ end }}",
            "unexpected \"x\" in define clause",
            10,
        );
        err(
            "{{ template $value }}",
            "unexpected \"$value\" in template clause",
            12,
        );
        err(
            "{{ block \"b\" }}{{ end }}",
            "missing value for block clause",
            3,
        );
        err(
            "{{ range $a, 1 }}{{ end }}",
            "range can only initialize variables",
            13,
        );
        err(
            "{{ range $a, $b, $c := $labels }}{{ end }}",
            "too many declarations in range",
            13,
        );
        err("{{ $a, $b := 1 }}", "too many declarations in command", 3);
    }

    #[test]
    fn operand_errors() {
        err("{{ $value } }}", "unexpected \"}\" in operand", 10);
        err("{{ $value\"x\" }}", "bad character U+0022 '\"'", 9);
        err(
            "{{ humanize \"a very long string\"$value }}",
            "unexpected \"$value\" in operand",
            32,
        );
        err(
            "{{ $value | 3 }}",
            "non executable command in pipeline stage 2",
            12,
        );
        err(
            "{{ $value | humanize | \"x\" }}",
            "non executable command in pipeline stage 3",
            23,
        );
        err(
            "{{ \"a\".foo }}",
            "unexpected . after term \"\\\"a\\\"\"",
            6,
        );
        err("{{ ..foo }}", "unexpected . after term \".\"", 4);
        err("{{ $value+1 }}", "bad character U+002B '+'", 9);
        err("{{ .foo-bar }}", "bad character U+002D '-'", 7);
        err("{{ $x=1 }}", "bad character U+003D '='", 5);
        err("{{ a : b }}", "function \"a\" not defined", 3);
        err("{{ $x : 1 }}", "expected :=", 6);
        err(
            "{{ $value § }}",
            "unrecognized character in action: U+00A7 '§'",
            10,
        );
    }

    #[test]
    fn literal_errors() {
        err("{{ 1x }}", "bad number syntax: \"1x\"", 3);
        err("{{ 0x }}", "illegal number syntax: \"0x\"", 3);
        err("{{ 1__0 }}", "illegal number syntax: \"1__0\"", 3);
        err("{{ 1e }}", "illegal number syntax: \"1e\"", 3);
        err("{{ 1e400 }}", "illegal number syntax: \"1e400\"", 3);
        err(
            "{{ 99999999999999999999 }}",
            "integer overflow: \"99999999999999999999\"",
            3,
        );
        err("{{ 1+2 }}", "bad number syntax: \"1+2\"", 3);
        err("{{ 'ab' }}", "malformed character constant: 'ab'", 3);
        err("{{ '' }}", "malformed character constant: ''", 3);
        err("{{ \"a\\qb\" }}", "unknown escape sequence \\q", 5);
        err("{{ \"\\'\" }}", "unknown escape sequence \\'", 4);
        err(
            "{{ \"\\x4\" }}",
            "invalid escape sequence \\x: expected 2 hex digits",
            4,
        );
        err(
            "{{ \"\\uD800\" }}",
            "escape sequence \\uD800 is not a valid Unicode code point",
            4,
        );
        err("{{ \"\\400\" }}", "octal escape value \\400 > 255", 4);
        err("{{ template \"\\q\" }}", "unknown escape sequence \\q", 13);
    }

    #[test]
    fn comment_errors() {
        err("a {{/* unclosed", "unclosed comment", 2);
        err("{{/* x */ y }}", "comment ends before closing delimiter", 9);
        err("{{ /* x */ }}", "unexpected \"/\" in command", 3);
    }

    #[test]
    fn offsets_are_bytes() {
        // "Größe " is 8 bytes.
        err("Größe {{ $valu }}", "undefined variable \"$valu\"", 11);
        err(
            "€{{ humanise $value }}",
            "function \"humanise\" not defined",
            6,
        );
    }

    #[test]
    fn long_tokens_are_truncated_in_messages() {
        err(
            "{{ $value \"abcdefghijklmnop\" | 1 }}",
            "non executable command in pipeline stage 2",
            31,
        );
        err(
            "{{ end \"abcdefghijklmnop\" }}",
            "unexpected \"\\\"abcdefghi\"... in end",
            7,
        );
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing() {
        let deep_parens = format!("{{{{ {}1{} }}}}", "(".repeat(5000), ")".repeat(5000));
        let error = check(&deep_parens).unwrap_err();
        assert_eq!(error.message, "max nesting depth exceeded");

        let deep_ifs = format!("{}{}", "{{ if 1 }}".repeat(5000), "{{ end }}".repeat(5000));
        let error = check(&deep_ifs).unwrap_err();
        assert_eq!(error.message, "max nesting depth exceeded");

        let ok_parens = format!(
            "{{{{ {}1{} }}}}",
            "(".repeat(MAX_DEPTH),
            ")".repeat(MAX_DEPTH)
        );
        ok(&ok_parens);

        // Long else-if chains do not nest.
        let chain = format!(
            "{{{{ if 1 }}}}{}{{{{ end }}}}",
            "{{ else if 1 }}".repeat(5000)
        );
        ok(&chain);
    }

    #[test]
    fn display_includes_offset() {
        let error = check("{{ $value | humanise }}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "function \"humanise\" not defined (at byte 12)"
        );
    }
}
