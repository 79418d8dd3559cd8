//! The parser: a recursive descent over the query text, bounded in size and depth.
//!
//! ```text
//! query   := or?                          (empty or `*` matches everything)
//! or      := and (OR and)*
//! and     := not ((AND)? not)*            (juxtaposition is AND)
//! not     := NOT not | primary
//! primary := '(' or ')' | FIELD ':' value | text
//! value   := '(' or ')' (inside, bare values test FIELD) | '*' | OP text | text
//! text    := WORD | "PHRASE"
//! OP      := '>=' | '>' | '<=' | '<'
//! ```

use std::fmt;

use super::is_field_byte;

/// Longest query text accepted.
pub const MAX_QUERY_BYTES: usize = 16 << 10;
/// Deepest nesting of parentheses and `NOT`s.
pub const MAX_DEPTH: usize = 64;
/// Most terms in one query.
const MAX_TERMS: usize = 1024;

/// A word (with `*`/`?` wildcards when `wildcard`) or a quoted phrase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Text {
    Word { text: String, wildcard: bool },
    Phrase(String),
}

impl Text {
    pub fn as_str(&self) -> &str {
        match self {
            Text::Word { text, .. } | Text::Phrase(text) => text,
        }
    }
}

/// A range comparison.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Compare {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Compare {
    pub(crate) fn holds<T: PartialOrd>(self, left: T, right: T) -> bool {
        match self {
            Compare::Lt => left < right,
            Compare::Le => left <= right,
            Compare::Gt => left > right,
            Compare::Ge => left >= right,
        }
    }
}

/// What a `field:…` clause tests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FieldTest {
    /// `field:value`, `field:"phrase"`, `field:val*`.
    Equals(Text),
    /// `field:>=N` and the like.
    Range(Compare, String),
    /// `field:*`: the field has a value.
    Exists,
}

/// A parsed query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// Every record (the empty query, `*`).
    All,
    /// A bare word or phrase: searched in the body.
    Text(Text),
    Field {
        field: String,
        test: FieldTest,
    },
    And(Vec<Query>),
    Or(Vec<Query>),
    Not(Box<Query>),
}

/// A query that does not parse: the byte position, what was expected and what was found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParseError {
    /// Byte offset into the query text.
    pub position: usize,
    pub expected: String,
    pub found: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "at byte {}: expected {}, found {}",
            self.position, self.expected, self.found
        )
    }
}

impl std::error::Error for ParseError {}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Tok {
    Open,
    Close,
    And,
    Or,
    Not,
    /// `name:` (the colon included).
    Field(String),
    Op(Compare),
    Star,
    Word(String, bool),
    Phrase(String),
    End,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::And => "`AND`".into(),
        Tok::Or => "`OR`".into(),
        Tok::Not => "`NOT`".into(),
        Tok::Field(f) => format!("`{f}:`"),
        Tok::Op(_) => "a comparison".into(),
        Tok::Star => "`*`".into(),
        Tok::Word(w, _) => format!("`{w}`"),
        Tok::Phrase(p) => format!("\"{p}\""),
        Tok::End => "the end of the query".into(),
    }
}

struct Parser<'a> {
    src: &'a str,
    pos: usize,
    depth: usize,
    terms: usize,
}

/// Parses a query. The empty query and `*` match everything.
pub fn parse(src: &str) -> Result<Query, ParseError> {
    if src.len() > MAX_QUERY_BYTES {
        return Err(ParseError {
            position: MAX_QUERY_BYTES,
            expected: format!("a query of at most {MAX_QUERY_BYTES} bytes"),
            found: format!("{} bytes", src.len()),
        });
    }
    let mut p = Parser {
        src,
        pos: 0,
        depth: 0,
        terms: 0,
    };
    let (start, first) = p.peek(false)?;
    if first == Tok::End {
        return Ok(Query::All);
    }
    if first == Tok::Star {
        p.pos = start + 1;
        let (at, t) = p.peek(false)?;
        if t == Tok::End {
            return Ok(Query::All);
        }
        return Err(p.error(at, "the end of the query after `*`", &t));
    }
    let q = p.or(None)?;
    let (at, t) = p.peek(false)?;
    if t != Tok::End {
        return Err(p.error(at, "AND, OR, or the end of the query", &t));
    }
    Ok(q)
}

impl Parser<'_> {
    fn error(&self, at: usize, expected: &str, found: &Tok) -> ParseError {
        ParseError {
            position: at,
            expected: expected.to_owned(),
            found: describe(found),
        }
    }

    /// The next token and where it starts, without consuming it. `value` lexes right
    /// after a `field:` (operators allowed, colons are part of words).
    fn peek(&self, value: bool) -> Result<(usize, Tok), ParseError> {
        let s = self.src;
        let b = s.as_bytes();
        let mut i = self.pos;
        while i < b.len() && b[i].is_ascii_whitespace() {
            i += 1;
        }
        let start = i;
        let Some(&c) = b.get(i) else {
            return Ok((start, Tok::End));
        };
        match c {
            b'(' => return Ok((start, Tok::Open)),
            b')' => return Ok((start, Tok::Close)),
            b'"' => return self.phrase(start).map(|p| (start, Tok::Phrase(p))),
            b'>' | b'<' if value => {
                let eq = b.get(i + 1) == Some(&b'=');
                let op = match (c, eq) {
                    (b'>', true) => Compare::Ge,
                    (b'>', false) => Compare::Gt,
                    (_, true) => Compare::Le,
                    _ => Compare::Lt,
                };
                return Ok((start, Tok::Op(op)));
            }
            _ => {}
        }
        let mut word = String::new();
        let mut wildcard = false;
        let mut escaped_any = false;
        while let Some(ch) = s[i..].chars().next() {
            if ch.is_whitespace() || matches!(ch, '(' | ')' | '"') {
                break;
            }
            if ch == ':'
                && !value
                && !escaped_any
                && !word.is_empty()
                && word.bytes().all(is_field_byte)
            {
                return Ok((start, Tok::Field(word)));
            }
            if ch == '\\' {
                let Some(next) = s[i + 1..].chars().next() else {
                    return Err(ParseError {
                        position: i,
                        expected: "a character after `\\`".into(),
                        found: "the end of the query".into(),
                    });
                };
                word.push(next);
                escaped_any = true;
                i += 1 + next.len_utf8();
                continue;
            }
            wildcard |= ch == '*' || ch == '?';
            word.push(ch);
            i += ch.len_utf8();
        }
        let tok = match word.as_str() {
            "*" if !escaped_any => Tok::Star,
            w if !escaped_any && w.eq_ignore_ascii_case("and") => Tok::And,
            w if !escaped_any && w.eq_ignore_ascii_case("or") => Tok::Or,
            w if !escaped_any && w.eq_ignore_ascii_case("not") => Tok::Not,
            _ => Tok::Word(word, wildcard),
        };
        Ok((start, tok))
    }

    fn phrase(&self, start: usize) -> Result<String, ParseError> {
        let mut out = String::new();
        let mut chars = self.src[start + 1..].char_indices();
        while let Some((_, ch)) = chars.next() {
            match ch {
                '"' => return Ok(out),
                '\\' => match chars.next() {
                    Some((_, n)) => out.push(n),
                    None => break,
                },
                c => out.push(c),
            }
        }
        Err(ParseError {
            position: self.src.len(),
            expected: format!("a closing `\"` for the phrase opened at byte {start}"),
            found: "the end of the query".into(),
        })
    }

    /// Consumes the token `peek` returned at `start`.
    fn bump(&mut self, start: usize, t: &Tok) {
        self.pos = start
            + match t {
                Tok::Open | Tok::Close | Tok::Star => 1,
                Tok::Op(Compare::Ge | Compare::Le) => 2,
                Tok::Op(_) => 1,
                Tok::End => 0,
                _ => self.token_len(start, t),
            };
    }

    fn token_len(&self, start: usize, t: &Tok) -> usize {
        let rest = &self.src[start..];
        match t {
            Tok::Phrase(_) => {
                let mut esc = false;
                for (i, c) in rest.char_indices().skip(1) {
                    match (esc, c) {
                        (true, _) => esc = false,
                        (false, '\\') => esc = true,
                        (false, '"') => return i + 1,
                        _ => {}
                    }
                }
                rest.len()
            }
            Tok::Field(f) => f.len() + 1,
            _ => {
                let mut i = 0;
                let b = rest.as_bytes();
                while let Some(ch) = rest[i..].chars().next() {
                    if ch.is_whitespace() || matches!(ch, '(' | ')' | '"') {
                        break;
                    }
                    if ch == '\\' && i + 1 < b.len() {
                        i += 1;
                        i += rest[i..].chars().next().map_or(0, char::len_utf8);
                        continue;
                    }
                    i += ch.len_utf8();
                }
                i
            }
        }
    }

    fn enter(&mut self, at: usize) -> Result<(), ParseError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ParseError {
                position: at,
                expected: format!("at most {MAX_DEPTH} levels of parentheses and NOT"),
                found: "deeper nesting".into(),
            });
        }
        Ok(())
    }

    fn or(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut parts = vec![self.and(field)?];
        loop {
            let (at, t) = self.peek(false)?;
            if t != Tok::Or {
                break;
            }
            self.bump(at, &t);
            parts.push(self.and(field)?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::Or(parts)
        })
    }

    fn and(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let mut parts = vec![self.not(field)?];
        loop {
            let (at, t) = self.peek(false)?;
            match t {
                Tok::And => {
                    self.bump(at, &t);
                    parts.push(self.not(field)?);
                }
                Tok::End | Tok::Or | Tok::Close => break,
                _ => parts.push(self.not(field)?),
            }
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Query::And(parts)
        })
    }

    fn not(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let (at, t) = self.peek(false)?;
        if t == Tok::Not {
            self.bump(at, &t);
            self.enter(at)?;
            let inner = self.not(field)?;
            self.depth -= 1;
            return Ok(Query::Not(Box::new(inner)));
        }
        self.primary(field)
    }

    fn count_term(&mut self, at: usize) -> Result<(), ParseError> {
        self.terms += 1;
        if self.terms > MAX_TERMS {
            return Err(ParseError {
                position: at,
                expected: format!("at most {MAX_TERMS} terms"),
                found: "more".into(),
            });
        }
        Ok(())
    }

    fn group(&mut self, at: usize, field: Option<&str>) -> Result<Query, ParseError> {
        self.enter(at)?;
        let q = self.or(field)?;
        self.depth -= 1;
        let (end, t) = self.peek(false)?;
        if t != Tok::Close {
            return Err(self.error(end, &format!("`)` to close the `(` at byte {at}"), &t));
        }
        self.bump(end, &t);
        Ok(q)
    }

    fn primary(&mut self, field: Option<&str>) -> Result<Query, ParseError> {
        let (at, t) = self.peek(field.is_some())?;
        let expected = || {
            if field.is_some() {
                "a value, a phrase, `(`, `*` or a comparison"
            } else {
                "a word, a phrase, `field:`, `(` or NOT"
            }
        };
        match t {
            Tok::Open => {
                self.bump(at, &t);
                self.group(at, field)
            }
            Tok::Field(name) if field.is_none() => {
                self.bump(at, &Tok::Field(name.clone()));
                self.value(&name)
            }
            Tok::Word(text, wildcard) => {
                self.count_term(at)?;
                self.bump(at, &Tok::Word(text.clone(), wildcard));
                let t = Text::Word { text, wildcard };
                Ok(match field {
                    Some(f) => field_eq(f, t),
                    None => Query::Text(t),
                })
            }
            Tok::Phrase(p) => {
                self.count_term(at)?;
                self.bump(at, &Tok::Phrase(p.clone()));
                Ok(match field {
                    Some(f) => field_eq(f, Text::Phrase(p)),
                    None => Query::Text(Text::Phrase(p)),
                })
            }
            Tok::Star | Tok::Op(_) if field.is_some() => {
                self.bump(at, &t);
                self.value_rest(field.unwrap_or_default(), at, t)
            }
            other => Err(self.error(at, expected(), &other)),
        }
    }

    /// After `name:`.
    fn value(&mut self, name: &str) -> Result<Query, ParseError> {
        let (at, t) = self.peek(true)?;
        match t {
            Tok::Open => {
                self.bump(at, &t);
                self.group(at, Some(name))
            }
            Tok::Star | Tok::Op(_) => {
                self.bump(at, &t);
                self.value_rest(name, at, t)
            }
            Tok::Word(..) | Tok::Phrase(_) => self.primary(Some(name)),
            other => Err(self.error(
                at,
                &format!("a value after `{name}:` (a word, a phrase, `(`, `*` or a comparison)"),
                &other,
            )),
        }
    }

    fn value_rest(&mut self, name: &str, at: usize, t: Tok) -> Result<Query, ParseError> {
        self.count_term(at)?;
        let op = match t {
            Tok::Star => {
                return Ok(Query::Field {
                    field: name.to_owned(),
                    test: FieldTest::Exists,
                })
            }
            Tok::Op(op) => op,
            _ => return Err(self.error(at, "a value", &t)),
        };
        let (vat, v) = self.peek(true)?;
        let bound = match &v {
            Tok::Word(w, _) => w.clone(),
            Tok::Phrase(p) => p.clone(),
            _ => {
                return Err(self.error(vat, &format!("a value to compare `{name}` with"), &v));
            }
        };
        self.bump(vat, &v);
        Ok(Query::Field {
            field: name.to_owned(),
            test: FieldTest::Range(op, bound),
        })
    }
}

fn field_eq(field: &str, t: Text) -> Query {
    Query::Field {
        field: field.to_owned(),
        test: FieldTest::Equals(t),
    }
}

#[cfg(test)]
mod tests;
