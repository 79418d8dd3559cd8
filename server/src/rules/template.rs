//! Go `text/template` as Prometheus uses it in alert labels and annotations, checked when a
//! rule is saved: a broken template is an error now, not a surprise when a notification is
//! sent. Supports actions, trim markers, comments, pipelines, variables, literals,
//! parentheses and the control structures, with Go's and Prometheus's function names.

/// A problem in a template, with the byte offset where it starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateError {
    pub offset: usize,
    pub message: String,
}

const FUNCTIONS: &[&str] = &[
    // Go's builtins.
    "and",
    "or",
    "not",
    "len",
    "index",
    "slice",
    "print",
    "printf",
    "println",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "html",
    "js",
    "urlquery",
    "call",
    // Prometheus's template functions.
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

const PREDEFINED: &[&str] = &["$", "$value", "$labels", "$externalLabels", "$externalURL"];

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    Var(String),
    /// `$var.a.b` — the variable and the field chain.
    VarField(String, Vec<String>),
    /// `.a.b`, or `.` alone (empty chain).
    Field(Vec<String>),
    Str,
    Number,
    Pipe,
    LParen,
    RParen,
    Declare,
    Assign,
    Comma,
}

fn err(offset: usize, message: impl Into<String>) -> TemplateError {
    TemplateError {
        offset,
        message: message.into(),
    }
}

/// One `{{ … }}`: where its content starts and the content itself.
struct Action<'a> {
    start: usize,
    body_start: usize,
    body: &'a str,
}

fn actions(text: &str) -> Result<Vec<Action<'_>>, TemplateError> {
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(found) = text[pos..].find("{{") {
        let start = pos + found;
        let mut body_start = start + 2;
        if text[body_start..].starts_with("- ")
            || text[body_start..].starts_with("-\t")
            || text[body_start..].starts_with("-\n")
        {
            body_start += 1;
        }
        if text[body_start..].trim_start().starts_with("/*") {
            let end = text[body_start..]
                .find("*/")
                .ok_or_else(|| err(start, "unclosed comment"))?;
            let after = body_start + end + 2;
            let close = text[after..]
                .find("}}")
                .ok_or_else(|| err(start, "unclosed action"))?;
            if !text[after..after + close]
                .trim()
                .trim_end_matches('-')
                .trim()
                .is_empty()
            {
                return Err(err(after, "comment ends before the action"));
            }
            pos = after + close + 2;
            continue;
        }
        // Find the closing braces outside string literals.
        let bytes = text.as_bytes();
        let mut i = body_start;
        let mut quote: Option<u8> = None;
        let end = loop {
            if i + 1 >= bytes.len() + 1 || i >= bytes.len() {
                return Err(err(start, "unclosed action"));
            }
            let b = bytes[i];
            match quote {
                Some(q) => {
                    if b == b'\\' && q != b'`' {
                        i += 1;
                    } else if b == q {
                        quote = None;
                    } else if b == b'\n' && q != b'`' {
                        return Err(err(i, "unterminated quoted string"));
                    }
                }
                None if b == b'"' || b == b'`' || b == b'\'' => quote = Some(b),
                None if b == b'}' && bytes.get(i + 1) == Some(&b'}') => break i,
                None => {}
            }
            i += 1;
        };
        let mut body_end = end;
        if body_end > body_start && text[..body_end].ends_with(" -") {
            body_end -= 1;
        }
        out.push(Action {
            start,
            body_start,
            body: &text[body_start..body_end],
        });
        pos = end + 2;
    }
    Ok(out)
}

fn is_ident_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn lex(body: &str, base: usize) -> Result<Vec<(usize, Tok)>, TemplateError> {
    let mut toks = Vec::new();
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut i = 0;
    let word = |mut j: usize| {
        while j < chars.len() && is_ident_char(chars[j].1) {
            j += 1;
        }
        j
    };
    let at = |j: usize| chars.get(j).map(|c| c.0).unwrap_or(body.len());
    while i < chars.len() {
        let (off, c) = chars[i];
        let abs = base + off;
        match c {
            c if c.is_whitespace() => i += 1,
            '|' => {
                toks.push((abs, Tok::Pipe));
                i += 1;
            }
            '(' => {
                toks.push((abs, Tok::LParen));
                i += 1;
            }
            ')' => {
                toks.push((abs, Tok::RParen));
                i += 1;
            }
            ',' => {
                toks.push((abs, Tok::Comma));
                i += 1;
            }
            ':' if chars.get(i + 1).map(|c| c.1) == Some('=') => {
                toks.push((abs, Tok::Declare));
                i += 2;
            }
            '=' => {
                toks.push((abs, Tok::Assign));
                i += 1;
            }
            '"' | '`' | '\'' => {
                let mut j = i + 1;
                loop {
                    match chars.get(j) {
                        None => return Err(err(abs, "unterminated quoted string")),
                        Some((_, '\\')) if c != '`' => j += 2,
                        Some((_, q)) if *q == c => break,
                        _ => j += 1,
                    }
                }
                toks.push((abs, Tok::Str));
                i = j + 1;
            }
            '$' => {
                let end = word(i + 1);
                let name = body[off..at(end)].to_owned();
                let (fields, next) = field_chain(body, &chars, end, base)?;
                toks.push((
                    abs,
                    if fields.is_empty() {
                        Tok::Var(name)
                    } else {
                        Tok::VarField(name, fields)
                    },
                ));
                i = next;
            }
            '.' if chars.get(i + 1).is_none_or(|c| !c.1.is_ascii_digit()) => {
                let (fields, next) = field_chain(body, &chars, i, base)?;
                toks.push((abs, Tok::Field(fields)));
                i = next.max(i + 1);
            }
            c if c.is_ascii_digit() || c == '-' || c == '+' || c == '.' => {
                let mut j = i + 1;
                while j < chars.len()
                    && (chars[j].1.is_ascii_alphanumeric()
                        || matches!(chars[j].1, '.' | '_' | '+' | '-'))
                {
                    j += 1;
                }
                let lit = &body[off..at(j)];
                let digits = lit.trim_start_matches(['-', '+']);
                if digits.is_empty()
                    || !(digits.starts_with(|c: char| c.is_ascii_digit())
                        || digits.starts_with('.'))
                {
                    return Err(err(abs, format!("bad number syntax: {lit:?}")));
                }
                toks.push((abs, Tok::Number));
                i = j;
            }
            c if is_ident_char(c) => {
                let end = word(i);
                toks.push((abs, Tok::Ident(body[off..at(end)].to_owned())));
                let (fields, next) = field_chain(body, &chars, end, base)?;
                if !fields.is_empty() {
                    return Err(err(
                        base + at(end),
                        "unexpected field access after a function name",
                    ));
                }
                i = next;
            }
            other => return Err(err(abs, format!("unexpected {other:?} in operand"))),
        }
    }
    Ok(toks)
}

/// Reads `.a.b.c` starting at `i` (which must be at a `.` to read anything).
fn field_chain(
    body: &str,
    chars: &[(usize, char)],
    mut i: usize,
    base: usize,
) -> Result<(Vec<String>, usize), TemplateError> {
    let at = |j: usize| chars.get(j).map(|c| c.0).unwrap_or(body.len());
    let mut fields = Vec::new();
    while chars.get(i).map(|c| c.1) == Some('.') {
        let mut j = i + 1;
        while j < chars.len() && is_ident_char(chars[j].1) {
            j += 1;
        }
        if j == i + 1 {
            // A lone `.` is "dot" itself, only valid as the first thing.
            if fields.is_empty() {
                return Ok((fields, j));
            }
            return Err(err(base + at(i), "missing field name after '.'"));
        }
        fields.push(body[at(i + 1)..at(j)].to_owned());
        i = j;
    }
    Ok((fields, i))
}

struct Checker {
    vars: Vec<String>,
    labels: Vec<String>,
}

impl Checker {
    fn note_label(&mut self, name: &str) {
        if !self.labels.iter().any(|l| l == name) {
            self.labels.push(name.to_owned());
        }
    }

    /// Checks a pipeline `toks[..]` (non-empty), `start` for errors about emptiness.
    fn pipeline(
        &mut self,
        toks: &[(usize, Tok)],
        start: usize,
        what: &str,
    ) -> Result<(), TemplateError> {
        let mut toks = toks;
        // Declarations: `$x :=`, `$i, $e :=`, `$x =`.
        if let Some(pos) = toks
            .iter()
            .position(|t| matches!(t.1, Tok::Declare | Tok::Assign))
        {
            let (decl, rest) = toks.split_at(pos);
            let names_ok = decl.iter().enumerate().all(|(k, t)| match (&t.1, k % 2) {
                (Tok::Var(_), 0) => true,
                (Tok::Comma, 1) => true,
                _ => false,
            });
            if names_ok && !decl.is_empty() {
                for (_, t) in decl {
                    if let Tok::Var(v) = t {
                        if matches!(toks[pos].1, Tok::Assign) && !self.defined(v) {
                            return Err(err(toks[0].0, format!("undefined variable {v:?}")));
                        }
                        self.vars.push(v.clone());
                    }
                }
                toks = &rest[1..];
            }
        }
        if toks.is_empty() {
            return Err(err(start, format!("missing value for {what}")));
        }
        let mut command_start = 0;
        let mut depth = 0usize;
        for (k, (off, t)) in toks.iter().enumerate() {
            match t {
                Tok::LParen => depth += 1,
                Tok::RParen => {
                    depth = depth
                        .checked_sub(1)
                        .ok_or_else(|| err(*off, "unexpected right paren"))?;
                }
                Tok::Pipe if depth == 0 => {
                    if k == command_start {
                        return Err(err(*off, "missing command before '|'"));
                    }
                    self.command(&toks[command_start..k])?;
                    command_start = k + 1;
                }
                _ => {}
            }
        }
        if depth > 0 {
            return Err(err(toks[0].0, "unclosed left paren"));
        }
        if command_start >= toks.len() {
            let at = toks.last().map(|t| t.0).unwrap_or(start);
            return Err(err(at, "missing command after '|'"));
        }
        self.command(&toks[command_start..])
    }

    fn defined(&self, v: &str) -> bool {
        PREDEFINED.contains(&v) || self.vars.iter().any(|d| d == v)
    }

    fn command(&mut self, toks: &[(usize, Tok)]) -> Result<(), TemplateError> {
        let mut k = 0;
        while k < toks.len() {
            let (off, t) = &toks[k];
            match t {
                Tok::Ident(name) => {
                    if !matches!(name.as_str(), "true" | "false" | "nil")
                        && !FUNCTIONS.contains(&name.as_str())
                    {
                        return Err(err(*off, format!("function {name:?} not defined")));
                    }
                }
                Tok::Var(v) => {
                    if !self.defined(v) {
                        return Err(err(*off, format!("undefined variable {v:?}")));
                    }
                }
                Tok::VarField(v, fields) => {
                    if !self.defined(v) {
                        return Err(err(*off, format!("undefined variable {v:?}")));
                    }
                    if v == "$labels" {
                        self.note_label(&fields[0]);
                    }
                }
                Tok::Field(fields) => {
                    if fields.len() >= 2 && fields[0] == "Labels" {
                        self.note_label(&fields[1]);
                    }
                }
                Tok::LParen => {
                    let mut depth = 0;
                    let close = (k..toks.len())
                        .find(|&j| {
                            match toks[j].1 {
                                Tok::LParen => depth += 1,
                                Tok::RParen => depth -= 1,
                                _ => {}
                            }
                            depth == 0
                        })
                        .ok_or_else(|| err(*off, "unclosed left paren"))?;
                    self.pipeline(&toks[k + 1..close], *off, "parenthesized pipeline")?;
                    k = close;
                }
                Tok::RParen => return Err(err(*off, "unexpected right paren")),
                Tok::Str | Tok::Number => {}
                Tok::Pipe | Tok::Declare | Tok::Assign | Tok::Comma => {
                    return Err(err(*off, "unexpected token in command"));
                }
            }
            k += 1;
        }
        Ok(())
    }
}

fn run(text: &str) -> Result<Vec<String>, TemplateError> {
    let mut checker = Checker {
        vars: Vec::new(),
        labels: Vec::new(),
    };
    // Open control structures: (keyword, offset of its action).
    let mut stack: Vec<(String, usize)> = Vec::new();
    for action in actions(text)? {
        let toks = lex(action.body, action.body_start)?;
        let Some((first_off, first)) = toks.first().cloned() else {
            return Err(err(action.start, "missing value for command"));
        };
        let keyword = match &first {
            Tok::Ident(k) => k.as_str(),
            _ => "",
        };
        let rest = &toks[1..];
        match keyword {
            "if" | "with" | "range" => {
                checker.pipeline(rest, first_off, keyword)?;
                stack.push((keyword.to_owned(), action.start));
            }
            "define" | "block" => {
                if !matches!(rest.first(), Some((_, Tok::Str))) {
                    return Err(err(
                        first_off,
                        format!("{keyword} needs a quoted template name"),
                    ));
                }
                if keyword == "block" && rest.len() > 1 {
                    checker.pipeline(&rest[1..], first_off, keyword)?;
                }
                stack.push((keyword.to_owned(), action.start));
            }
            "template" => {
                if !matches!(rest.first(), Some((_, Tok::Str))) {
                    return Err(err(first_off, "template needs a quoted template name"));
                }
                if rest.len() > 1 {
                    checker.pipeline(&rest[1..], first_off, "template")?;
                }
            }
            "else" => {
                match stack.last() {
                    Some((k, _)) if matches!(k.as_str(), "if" | "with" | "range") => {}
                    _ => return Err(err(first_off, "unexpected {{else}}")),
                }
                if let Some((off, Tok::Ident(k))) = rest.first() {
                    if k == "if" || k == "with" {
                        checker.pipeline(&rest[1..], *off, k)?;
                    }
                } else if !rest.is_empty() {
                    return Err(err(rest[0].0, "unexpected token after else"));
                }
            }
            "end" => {
                if !rest.is_empty() {
                    return Err(err(rest[0].0, "unexpected token after end"));
                }
                stack
                    .pop()
                    .ok_or_else(|| err(first_off, "unexpected {{end}}"))?;
            }
            "break" | "continue" => {
                if !stack.iter().any(|(k, _)| k == "range") {
                    return Err(err(
                        first_off,
                        format!("{{{{{keyword}}}}} outside {{{{range}}}}"),
                    ));
                }
            }
            _ => checker.pipeline(&toks, action.body_start, "command")?,
        }
    }
    if let Some((keyword, off)) = stack.pop() {
        return Err(err(
            off,
            format!("unexpected EOF: {{{{{keyword}}}}} has no {{{{end}}}}"),
        ));
    }
    Ok(checker.labels)
}

/// Checks `text` as a Prometheus alert template.
pub fn check(text: &str) -> Result<(), TemplateError> {
    run(text).map(|_| ())
}

/// The label names the template reads as `$labels.NAME` or `.Labels.NAME`, in order of first
/// appearance; empty when the template does not parse.
pub fn referenced_labels(text: &str) -> Vec<String> {
    run(text).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_templates_and_common_forms_parse() {
        for ok in [
            "Fehlerrate von {{ $value }} in den letzten 5 Minuten",
            "Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}",
            "MCP-Server {{ $labels.server_name }} ist nicht erreichbar",
            "Speicherverbrauch: {{ $value }}MB",
            "{{ $value | humanize }}",
            "{{ humanizePercentage $value }}",
            "{{ if gt $value 0.5 }}high{{ else }}low{{ end }}",
            "{{ if eq $labels.severity \"critical\" }}page{{ else if eq $labels.severity \"warning\" }}ticket{{ end }}",
            "{{ range $i, $e := query \"up\" }}{{ $e.Labels.job }}{{ end }}",
            "{{ printf \"%.2f\" $value }}",
            "{{- $value -}}",
            "{{/* note */}}x",
            "{{ .Labels.instance }}",
            "{{ with query \"up\" }}{{ . | first | value | humanize }}{{ end }}",
            "{{ $x := 1 }}{{ $x }}",
            "{{ (query \"up\") | len }}",
            "no actions at all",
            "{{ \"}}\" }}",
        ] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            referenced_labels("Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}"),
            ["agent_id"]
        );
        assert_eq!(
            referenced_labels("{{ .Labels.instance }} {{ $labels.job }} {{ $labels.job }}"),
            ["instance", "job"]
        );
    }

    #[test]
    fn mistakes_are_reported_with_their_offset() {
        let cases: [(&str, usize, &str); 10] = [
            (
                "{{ $value | humanise }}",
                12,
                "function \"humanise\" not defined",
            ),
            ("x {{ $value ", 2, "unclosed action"),
            ("{{ end }}", 3, "unexpected {{end}}"),
            ("a{{ if $value }}x", 1, "unexpected EOF"),
            ("{{ $undefined }}", 3, "undefined variable \"$undefined\""),
            ("{{ \"abc }}", 0, "unclosed action"),
            ("{{ ( $value }}", 3, "unclosed left paren"),
            ("{{ }}", 0, "missing value for command"),
            ("{{ $value | }}", 10, "missing command after '|'"),
            ("{{ else }}", 3, "unexpected {{else}}"),
        ];
        for (text, offset, message) in cases {
            let e = check(text).unwrap_err();
            assert!(e.message.starts_with(message), "{text}: {e:?}");
            assert_eq!(e.offset, offset, "{text}: {e:?}");
        }
        assert!(check("{{ if }}x{{ end }}")
            .unwrap_err()
            .message
            .contains("missing value for if"));
    }
}
