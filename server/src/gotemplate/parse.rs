//! Go `text/template` source → a tree the executor walks. Only templates that
//! `rules::template::check` accepted reach here (every write path validates), so this parser
//! reports problems briefly instead of in Go's words; it still refuses anything it cannot
//! read and keeps the same nesting limit.

use std::collections::HashMap;

/// Deepest nesting of blocks and parentheses (as the validator's limit).
const MAX_DEPTH: usize = 100;

#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    Text(String),
    Action(Pipe),
    If(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Range(Pipe, Vec<Node>, Vec<Node>),
    With(Vec<(Pipe, Vec<Node>)>, Vec<Node>),
    Template(String, Option<Pipe>),
    Break,
    Continue,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pipe {
    /// Variables declared (`:=`) or assigned (`=`) by this pipeline.
    pub vars: Vec<String>,
    pub assign: bool,
    pub cmds: Vec<Vec<Arg>>,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Arg {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Nil,
    Dot,
    /// `.A.B` on the current dot.
    Field(Vec<String>),
    /// `$x.A.B`.
    Var(String, Vec<String>),
    Ident(String),
    /// `(pipeline).A.B`.
    Sub(Box<Pipe>, Vec<String>),
}

/// A parsed template: its main body and the templates it defines.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Tree {
    pub body: Vec<Node>,
    pub defines: HashMap<String, Vec<Node>>,
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Text(String),
    Open,
    Close,
    LParen,
    RParen,
    Pipe,
    Comma,
    Declare,
    Assign,
    Str(String),
    Int(i64),
    Float(f64),
    Var(String),
    Field(String),
    Dot,
    Word(String),
}

fn lex(src: &str) -> Result<Vec<Tok>, String> {
    let mut out = Vec::new();
    let mut rest = src;
    let mut trim_next = false;
    while !rest.is_empty() {
        let (text, after) = match rest.find("{{") {
            Some(i) => (&rest[..i], Some(&rest[i + 2..])),
            None => (rest, None),
        };
        let mut text = if trim_next { text.trim_start() } else { text };
        trim_next = false;
        let Some(mut a) = after else {
            if !text.is_empty() {
                out.push(Tok::Text(text.to_owned()));
            }
            break;
        };
        if a.starts_with("- ") || a.starts_with("-\t") || a.starts_with("-\n") {
            text = text.trim_end();
            a = &a[1..];
        }
        if !text.is_empty() {
            out.push(Tok::Text(text.to_owned()));
        }
        let trimmed = a.trim_start();
        if trimmed.starts_with("/*") {
            let end = trimmed.find("*/").ok_or("unclosed comment")?;
            let tail = trimmed[end + 2..].trim_start();
            let had_space = tail.len() != trimmed[end + 2..].len();
            if had_space && tail.starts_with("-}}") {
                trim_next = true;
                rest = &tail[3..];
            } else {
                rest = tail.strip_prefix("}}").ok_or("unclosed comment")?;
            }
            continue;
        }
        out.push(Tok::Open);
        rest = lex_action(a, &mut out, &mut trim_next)?;
    }
    Ok(out)
}

fn is_word(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Tokens of one action up to its `}}`; returns the text after it.
fn lex_action<'a>(mut s: &'a str, out: &mut Vec<Tok>, trim: &mut bool) -> Result<&'a str, String> {
    loop {
        let t = s.trim_start_matches([' ', '\t', '\r', '\n']);
        let spaced = t.len() != s.len();
        s = t;
        if spaced && s.starts_with("-}}") {
            *trim = true;
            out.push(Tok::Close);
            return Ok(&s[3..]);
        }
        if let Some(r) = s.strip_prefix("}}") {
            out.push(Tok::Close);
            return Ok(r);
        }
        let c = s.chars().next().ok_or("unclosed action")?;
        let (tok, len) = match c {
            '(' => (Tok::LParen, 1),
            ')' => (Tok::RParen, 1),
            '|' => (Tok::Pipe, 1),
            ',' => (Tok::Comma, 1),
            '=' => (Tok::Assign, 1),
            ':' if s.starts_with(":=") => (Tok::Declare, 2),
            '"' => quoted(s)?,
            '`' => {
                let end = s[1..].find('`').ok_or("unterminated raw string")?;
                (Tok::Str(s[1..end + 1].to_owned()), end + 2)
            }
            '\'' => {
                let (Tok::Str(v), len) = quoted(s)? else {
                    unreachable!()
                };
                let ch = v.chars().next().ok_or("empty character constant")?;
                (Tok::Int(ch as i64), len)
            }
            '$' => {
                let len = 1 + s[1..].find(|c| !is_word(c)).unwrap_or(s.len() - 1);
                (Tok::Var(s[..len].to_owned()), len)
            }
            '.' if s[1..].starts_with(|c: char| is_word(c) && !c.is_ascii_digit()) => {
                let len = 1 + s[1..].find(|c| !is_word(c)).unwrap_or(s.len() - 1);
                (Tok::Field(s[1..len].to_owned()), len)
            }
            '.' if !s[1..].starts_with(|c: char| c.is_ascii_digit()) => (Tok::Dot, 1),
            '.' | '+' | '-' | '0'..='9' => number(s)?,
            c if is_word(c) => {
                let len = s.find(|c| !is_word(c)).unwrap_or(s.len());
                (Tok::Word(s[..len].to_owned()), len)
            }
            c => return Err(format!("unexpected {c:?} in action")),
        };
        out.push(tok);
        s = &s[len..];
    }
}

/// A `"…"` or `'…'` literal with Go's escapes; returns its value and length.
fn quoted(s: &str) -> Result<(Tok, usize), String> {
    let quote = s.as_bytes()[0] as char;
    let mut value = String::new();
    let mut chars = s.char_indices().skip(1);
    while let Some((i, c)) = chars.next() {
        match c {
            c if c == quote => return Ok((Tok::Str(value), i + 1)),
            '\\' => {
                let (_, e) = chars.next().ok_or("unterminated string")?;
                let hex = |n: usize, chars: &mut dyn Iterator<Item = (usize, char)>| {
                    let digits: String = chars.take(n).map(|(_, c)| c).collect();
                    u32::from_str_radix(&digits, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| "bad escape".to_owned())
                };
                value.push(match e {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    'a' => '\x07',
                    'b' => '\x08',
                    'f' => '\x0c',
                    'v' => '\x0b',
                    'x' => hex(2, &mut chars)?,
                    'u' => hex(4, &mut chars)?,
                    'U' => hex(8, &mut chars)?,
                    other => other,
                });
            }
            c => value.push(c),
        }
    }
    Err("unterminated string".into())
}

fn number(s: &str) -> Result<(Tok, usize), String> {
    let len = s
        .char_indices()
        .skip(1)
        .find(|&(i, c)| {
            let prev = s.as_bytes()[i - 1];
            !(c.is_ascii_alphanumeric()
                || c == '.'
                || c == '_'
                || ((c == '+' || c == '-') && matches!(prev, b'e' | b'E' | b'p' | b'P')))
        })
        .map(|(i, _)| i)
        .unwrap_or(s.len());
    let text = s[..len].replace('_', "");
    let (neg, digits) = match text.strip_prefix('-') {
        Some(d) => (true, d),
        None => (false, text.trim_start_matches('+')),
    };
    let lower = digits.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.len() > 1 && lower.starts_with('0') && lower.bytes().all(|b| b.is_ascii_digit())
    {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    let tok = match (int, lower.parse::<f64>()) {
        (Some(i), _) => Tok::Int(if neg { -i } else { i }),
        (None, Ok(f)) => Tok::Float(if neg { -f } else { f }),
        _ => return Err(format!("bad number syntax: {text}")),
    };
    Ok((tok, len))
}

/// Parses a template.
pub fn parse(src: &str) -> Result<Tree, String> {
    let mut p = Parser {
        toks: lex(src)?,
        pos: 0,
        depth: 0,
        tree: Tree::default(),
    };
    let (body, end) = p.list()?;
    if end.is_some() {
        return Err("unexpected {{end}} or {{else}}".into());
    }
    p.tree.body = body;
    Ok(p.tree)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
    depth: usize,
    tree: Tree,
}

/// What ended a list: `{{end}}` or `{{else}}` (with `if`/`with` when chained).
#[derive(Debug, PartialEq)]
enum Closing {
    End,
    Else,
    ElseIf,
    ElseWith,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Result<Tok, String> {
        let t = self.toks.get(self.pos).cloned().ok_or("unexpected EOF")?;
        self.pos += 1;
        Ok(t)
    }

    fn expect(&mut self, want: Tok) -> Result<(), String> {
        let got = self.next()?;
        if got == want {
            Ok(())
        } else {
            Err(format!("expected {want:?}, found {got:?}"))
        }
    }

    fn word_after_open(&self) -> Option<&str> {
        match self.toks.get(self.pos + 1) {
            Some(Tok::Word(w)) => Some(w),
            _ => None,
        }
    }

    /// Nodes up to `{{end}}`/`{{else}}` (consumed) or the end of input.
    fn list(&mut self) -> Result<(Vec<Node>, Option<Closing>), String> {
        let mut nodes = Vec::new();
        while let Some(tok) = self.peek().cloned() {
            match tok {
                Tok::Text(t) => {
                    self.pos += 1;
                    nodes.push(Node::Text(t));
                }
                Tok::Open => {
                    let kw = self.word_after_open().map(str::to_owned);
                    match kw.as_deref() {
                        Some("end") => {
                            self.pos += 2;
                            self.expect(Tok::Close)?;
                            return Ok((nodes, Some(Closing::End)));
                        }
                        Some("else") => {
                            self.pos += 2;
                            let end = match self.peek() {
                                Some(Tok::Word(w)) if w == "if" => Closing::ElseIf,
                                Some(Tok::Word(w)) if w == "with" => Closing::ElseWith,
                                _ => {
                                    self.expect(Tok::Close)?;
                                    Closing::Else
                                }
                            };
                            if end != Closing::Else {
                                self.pos += 1;
                            }
                            return Ok((nodes, Some(end)));
                        }
                        _ => {
                            self.pos += 1;
                            if let Some(n) = self.action(kw.as_deref())? {
                                nodes.push(n);
                            }
                        }
                    }
                }
                other => return Err(format!("unexpected {other:?}")),
            }
        }
        Ok((nodes, None))
    }

    fn nested(&mut self) -> Result<(Vec<Node>, Closing), String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("max nesting depth exceeded".into());
        }
        let (nodes, end) = self.list()?;
        self.depth -= 1;
        Ok((nodes, end.ok_or("unexpected EOF")?))
    }

    /// An action after its `{{`; `kw` is its first word.
    fn action(&mut self, kw: Option<&str>) -> Result<Option<Node>, String> {
        match kw {
            Some("if") | Some("with") => {
                self.pos += 1;
                let is_if = kw == Some("if");
                let mut branches = Vec::new();
                loop {
                    let pipe = self.pipe(Tok::Close)?;
                    let (body, end) = self.nested()?;
                    branches.push((pipe, body));
                    match end {
                        Closing::ElseIf if is_if => continue,
                        Closing::ElseWith if !is_if => continue,
                        Closing::End => {
                            return Ok(Some(self.branches(is_if, branches, Vec::new())))
                        }
                        Closing::Else => {
                            let (els, end) = self.nested()?;
                            if end != Closing::End {
                                return Err("expected end".into());
                            }
                            return Ok(Some(self.branches(is_if, branches, els)));
                        }
                        _ => return Err("unexpected else".into()),
                    }
                }
            }
            Some("range") => {
                self.pos += 1;
                let pipe = self.pipe(Tok::Close)?;
                let (body, end) = self.nested()?;
                let els = match end {
                    Closing::End => Vec::new(),
                    Closing::Else => {
                        let (els, end) = self.nested()?;
                        if end != Closing::End {
                            return Err("expected end".into());
                        }
                        els
                    }
                    _ => return Err("unexpected else in range".into()),
                };
                Ok(Some(Node::Range(pipe, body, els)))
            }
            Some("break") | Some("continue") => {
                self.pos += 1;
                self.expect(Tok::Close)?;
                Ok(Some(if kw == Some("break") {
                    Node::Break
                } else {
                    Node::Continue
                }))
            }
            Some("define") | Some("block") | Some("template") => {
                self.pos += 1;
                let Tok::Str(name) = self.next()? else {
                    return Err("a template name must be a string".into());
                };
                let pipe = match (kw, self.peek()) {
                    (Some("define"), _) | (_, Some(Tok::Close)) => {
                        self.expect(Tok::Close)?;
                        None
                    }
                    _ => Some(self.pipe(Tok::Close)?),
                };
                if kw == Some("template") {
                    return Ok(Some(Node::Template(name, pipe)));
                }
                let (body, end) = self.nested()?;
                if end != Closing::End {
                    return Err("unexpected else".into());
                }
                self.tree.defines.insert(name.clone(), body);
                Ok((kw == Some("block")).then_some(Node::Template(name, pipe)))
            }
            _ => Ok(Some(Node::Action(self.pipe(Tok::Close)?))),
        }
    }

    fn branches(&self, is_if: bool, b: Vec<(Pipe, Vec<Node>)>, els: Vec<Node>) -> Node {
        if is_if {
            Node::If(b, els)
        } else {
            Node::With(b, els)
        }
    }

    /// `($x, $y :=)? cmd (| cmd)*` up to `end` (consumed).
    fn pipe(&mut self, end: Tok) -> Result<Pipe, String> {
        let mut pipe = Pipe {
            vars: Vec::new(),
            assign: false,
            cmds: Vec::new(),
        };
        let start = self.pos;
        while let Some(Tok::Var(v)) = self.peek().cloned() {
            self.pos += 1;
            match self.peek() {
                Some(Tok::Declare) | Some(Tok::Assign) => {
                    pipe.assign = self.peek() == Some(&Tok::Assign);
                    self.pos += 1;
                    pipe.vars.push(v);
                    break;
                }
                Some(Tok::Comma) => {
                    self.pos += 1;
                    pipe.vars.push(v);
                }
                _ => {
                    pipe.vars.clear();
                    self.pos = start;
                    break;
                }
            }
        }
        let mut cmd = Vec::new();
        loop {
            let tok = self.next()?;
            if tok == end {
                break;
            }
            match tok {
                Tok::Pipe => pipe.cmds.push(std::mem::take(&mut cmd)),
                tok => cmd.push(self.operand(tok)?),
            }
        }
        if cmd.is_empty() {
            return Err("missing value for command".into());
        }
        pipe.cmds.push(cmd);
        Ok(pipe)
    }

    fn fields(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        while let Some(Tok::Field(f)) = self.peek().cloned() {
            self.pos += 1;
            out.push(f);
        }
        out
    }

    fn operand(&mut self, tok: Tok) -> Result<Arg, String> {
        Ok(match tok {
            Tok::Str(s) => Arg::Str(s),
            Tok::Int(i) => Arg::Int(i),
            Tok::Float(f) => Arg::Float(f),
            Tok::Dot => Arg::Dot,
            Tok::Field(f) => {
                let mut all = vec![f];
                all.extend(self.fields());
                Arg::Field(all)
            }
            Tok::Var(v) => Arg::Var(v, self.fields()),
            Tok::Word(w) => match w.as_str() {
                "true" => Arg::Bool(true),
                "false" => Arg::Bool(false),
                "nil" => Arg::Nil,
                _ => Arg::Ident(w),
            },
            Tok::LParen => {
                self.depth += 1;
                if self.depth > MAX_DEPTH {
                    return Err("max nesting depth exceeded".into());
                }
                let pipe = self.pipe(Tok::RParen)?;
                self.depth -= 1;
                Arg::Sub(Box::new(pipe), self.fields())
            }
            other => return Err(format!("unexpected {other:?} in operand")),
        })
    }
}
