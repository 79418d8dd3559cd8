//! Walks a parsed template as Go's `text/template` executes it: variables in scope,
//! pipelines (a command's result becomes the last argument of the next), `if`/`with`/`range`
//! with Go's truth, `define`d templates, and Prometheus's functions ([`super::funcs`]).

use std::collections::BTreeMap;

use super::parse::{Arg, Node, Pipe, Tree};
use super::Querier;

/// Longest output of one expansion (bytes); hostile loops over big results stop here.
const MAX_OUTPUT: usize = 1 << 20;
/// Deepest `{{template}}` call chain.
const MAX_CALLS: usize = 100;
/// Nodes one execution may run (`range` over a large number, nested, would otherwise spin).
const MAX_STEPS: usize = 1_000_000;

/// A value inside a template, as Go's reflection would see Prometheus's data.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// `map[string]string` (labels) or `map[string]interface{}` (`args`).
    Map(BTreeMap<String, Value>),
    List(Vec<Value>),
    /// A query result element: `.Labels`, `.Value`.
    Sample(BTreeMap<String, String>, f64),
    /// The alert data at the top: `.Labels`, `.ExternalLabels`, `.ExternalURL`, `.Value`.
    Data(Box<BTreeMap<String, Value>>),
    /// A `time.Time` from `toTime`, as Unix seconds.
    Time(f64),
}

/// The methods of Alertmanager's `template.KV` (a label set) that take no arguments.
const KV_METHODS: [&str; 3] = ["SortedPairs", "Names", "Values"];

fn kv_method(m: &BTreeMap<String, Value>, name: &str) -> Value {
    match name {
        "SortedPairs" => Value::List(
            m.iter()
                .map(|(k, v)| {
                    Value::Data(Box::new(BTreeMap::from([
                        ("Name".to_owned(), Value::Str(k.clone())),
                        ("Value".to_owned(), v.clone()),
                    ])))
                })
                .collect(),
        ),
        "Names" => Value::List(m.keys().map(|k| Value::Str(k.clone())).collect()),
        _ => Value::List(m.values().cloned().collect()),
    }
}

/// A list whose items are alerts of notification data (structs with a `Status`).
fn is_alert_list(l: &[Value]) -> bool {
    l.iter()
        .all(|a| matches!(a, Value::Data(m) if m.contains_key("Status")))
}

impl Value {
    pub fn labels(map: &BTreeMap<String, String>) -> Value {
        Value::Map(
            map.iter()
                .map(|(k, v)| (k.clone(), Value::Str(v.clone())))
                .collect(),
        )
    }

    /// Go's truth: false, 0, nil, and empty strings, maps and slices are false.
    pub fn truth(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(i) => *i != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Sample(..) | Value::Data(_) | Value::Time(_) => true,
        }
    }

    /// `.name` on this value.
    fn field(&self, name: &str) -> Result<Value, String> {
        match self {
            // Alertmanager's `template.KV` methods; a label of that name wins (Prometheus's
            // plain `map[string]string` has no methods, and no real label is named so).
            Value::Map(m) if !m.contains_key(name) && KV_METHODS.contains(&name) => {
                Ok(kv_method(m, name))
            }
            Value::Map(m) => Ok(m.get(name).cloned().unwrap_or(Value::Str(String::new()))),
            // Alertmanager's `template.Alerts` methods, on a list of alerts.
            Value::List(l) if matches!(name, "Firing" | "Resolved") && is_alert_list(l) => {
                let want = if name == "Firing" {
                    "firing"
                } else {
                    "resolved"
                };
                Ok(Value::List(
                    l.iter()
                        .filter(|a| matches!(a.field("Status"), Ok(Value::Str(s)) if s == want))
                        .cloned()
                        .collect(),
                ))
            }
            Value::Data(m) => m.get(name).cloned().ok_or_else(|| {
                format!("can't evaluate field {name} in type *template.tmplQueryRecord")
            }),
            Value::Sample(labels, v) => match name {
                "Labels" => Ok(Value::labels(labels)),
                "Value" => Ok(Value::Float(*v)),
                _ => Err(format!(
                    "can't evaluate field {name} in type *template.sample"
                )),
            },
            Value::Nil => Err(format!("nil pointer evaluating interface {{}}.{name}")),
            other => Err(format!(
                "can't evaluate field {name} in type {}",
                other.type_name()
            )),
        }
    }

    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "<nil>",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Map(_) => "map[string]string",
            Value::List(_) => "template.queryResult",
            Value::Sample(..) => "*template.sample",
            Value::Data(_) => "struct",
            Value::Time(_) => "time.Time",
        }
    }
}

/// Why a run stopped early: an error, or `{{break}}`/`{{continue}}` on their way out.
enum Flow {
    Error(String),
    Break,
    Continue,
}

impl From<String> for Flow {
    fn from(e: String) -> Flow {
        Flow::Error(e)
    }
}

pub struct Exec<'a> {
    tree: &'a Tree,
    vars: Vec<(String, Value)>,
    pub out: String,
    calls: usize,
    steps: usize,
    pub(super) querier: &'a dyn Querier,
    pub(super) external_url: String,
}

impl<'a> Exec<'a> {
    pub fn new(tree: &'a Tree, querier: &'a dyn Querier, external_url: String) -> Exec<'a> {
        Exec {
            tree,
            vars: Vec::new(),
            out: String::new(),
            calls: 0,
            steps: 0,
            querier,
            external_url,
        }
    }

    /// Runs the main body with `dot` (also `$`).
    pub fn run(&mut self, dot: Value) -> Result<(), String> {
        self.vars.push(("$".into(), dot.clone()));
        match self.nodes(&self.tree.body, &dot) {
            Ok(()) => Ok(()),
            Err(Flow::Error(e)) => Err(e),
            Err(_) => Err("break or continue outside range".into()),
        }
    }

    pub fn declare(&mut self, name: &str, value: Value) {
        self.vars.push((name.to_owned(), value));
    }

    fn nodes(&mut self, nodes: &[Node], dot: &Value) -> Result<(), Flow> {
        for n in nodes {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(Flow::Error(format!(
                    "the template ran more than {MAX_STEPS} steps"
                )));
            }
            self.node(n, dot)?;
            if self.out.len() > MAX_OUTPUT {
                return Err(Flow::Error(format!(
                    "the output is longer than {MAX_OUTPUT} bytes"
                )));
            }
        }
        Ok(())
    }

    /// Runs `nodes` in a scope of their own: variables declared inside end with them.
    fn scoped(&mut self, nodes: &[Node], dot: &Value) -> Result<(), Flow> {
        let mark = self.vars.len();
        let r = self.nodes(nodes, dot);
        self.vars.truncate(mark);
        r
    }

    fn node(&mut self, node: &Node, dot: &Value) -> Result<(), Flow> {
        match node {
            Node::Text(t) => self.out.push_str(t),
            Node::Action(p) => {
                let v = self.pipe(p, dot)?;
                if p.vars.is_empty() {
                    self.out.push_str(&super::funcs::print(&v));
                }
            }
            Node::If(branches, els) | Node::With(branches, els) => {
                let is_with = matches!(node, Node::With(..));
                let mark = self.vars.len();
                for (p, body) in branches {
                    let v = self.pipe(p, dot)?;
                    if v.truth() {
                        let d = if is_with { v } else { dot.clone() };
                        let r = self.scoped(body, &d);
                        self.vars.truncate(mark);
                        return r;
                    }
                }
                let r = self.scoped(els, dot);
                self.vars.truncate(mark);
                return r;
            }
            Node::Range(p, body, els) => {
                let mark = self.vars.len();
                let decl = p.vars.clone();
                let bare = Pipe {
                    vars: Vec::new(),
                    assign: false,
                    cmds: p.cmds.clone(),
                };
                let items: Vec<(Value, Value)> = match self.pipe(&bare, dot)? {
                    Value::List(l) => l
                        .into_iter()
                        .enumerate()
                        .map(|(i, v)| (Value::Int(i as i64), v))
                        .collect(),
                    Value::Map(m) => m.into_iter().map(|(k, v)| (Value::Str(k), v)).collect(),
                    Value::Int(n) => (0..n.clamp(0, 1_000_000))
                        .map(|i| (Value::Int(i), Value::Int(i)))
                        .collect(),
                    Value::Nil => Vec::new(),
                    other => {
                        return Err(Flow::Error(format!(
                            "range can't iterate over {}",
                            super::funcs::print(&other)
                        )))
                    }
                };
                if items.is_empty() {
                    let r = self.scoped(els, dot);
                    self.vars.truncate(mark);
                    return r;
                }
                for (k, v) in items {
                    self.steps += 1;
                    if self.steps > MAX_STEPS {
                        self.vars.truncate(mark);
                        return Err(Flow::Error(format!(
                            "the template ran more than {MAX_STEPS} steps"
                        )));
                    }
                    let inner = self.vars.len();
                    match decl.as_slice() {
                        [one] => self.declare(one, v.clone()),
                        [a, b] => {
                            self.declare(a, k);
                            self.declare(b, v.clone());
                        }
                        _ => {}
                    }
                    let r = self.scoped(body, &v);
                    self.vars.truncate(inner);
                    match r {
                        Ok(()) | Err(Flow::Continue) => {}
                        Err(Flow::Break) => break,
                        Err(e) => {
                            self.vars.truncate(mark);
                            return Err(e);
                        }
                    }
                }
                self.vars.truncate(mark);
            }
            Node::Template(name, p) => {
                let body = self
                    .tree
                    .defines
                    .get(name)
                    .ok_or_else(|| format!("no such template \"{name}\""))?;
                let d = match p {
                    Some(p) => self.pipe(p, dot)?,
                    None => Value::Nil,
                };
                self.calls += 1;
                if self.calls > MAX_CALLS {
                    return Err(Flow::Error("exceeded maximum template depth".into()));
                }
                let saved = std::mem::replace(&mut self.vars, vec![("$".into(), d.clone())]);
                let r = self.nodes(body, &d);
                self.vars = saved;
                self.calls -= 1;
                return match r {
                    Err(Flow::Error(e)) => Err(Flow::Error(e)),
                    _ => Ok(()),
                };
            }
            Node::Break => return Err(Flow::Break),
            Node::Continue => return Err(Flow::Continue),
        }
        Ok(())
    }

    fn pipe(&mut self, p: &Pipe, dot: &Value) -> Result<Value, Flow> {
        let mut last: Option<Value> = None;
        for cmd in &p.cmds {
            last = Some(self.command(cmd, dot, last)?);
        }
        let v = last.unwrap_or(Value::Nil);
        for name in &p.vars {
            if p.assign {
                if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
                    slot.1 = v.clone();
                }
            } else {
                self.declare(name, v.clone());
            }
        }
        Ok(v)
    }

    fn command(&mut self, cmd: &[Arg], dot: &Value, piped: Option<Value>) -> Result<Value, Flow> {
        let Some(first) = cmd.first() else {
            return Err(Flow::Error("empty command".into()));
        };
        if let Arg::Ident(name) = first {
            let mut args = Vec::with_capacity(cmd.len());
            // `and` and `or` stop at the first decisive argument, as Go's do.
            if name == "and" || name == "or" {
                let mut result = Value::Nil;
                for a in cmd[1..].iter() {
                    result = self.arg(a, dot)?;
                    if result.truth() == (name == "or") {
                        return Ok(result);
                    }
                }
                if let Some(v) = piped {
                    result = v;
                }
                return Ok(result);
            }
            for a in &cmd[1..] {
                args.push(self.arg(a, dot)?);
            }
            args.extend(piped);
            return Ok(super::funcs::call(self, name, args)?);
        }
        if cmd.len() > 1 || piped.is_some() {
            return Err(Flow::Error(format!(
                "can't give argument to non-function {first:?}"
            )));
        }
        self.arg(first, dot)
    }

    fn arg(&mut self, a: &Arg, dot: &Value) -> Result<Value, Flow> {
        let (base, fields) = match a {
            Arg::Str(s) => return Ok(Value::Str(s.clone())),
            Arg::Int(i) => return Ok(Value::Int(*i)),
            Arg::Float(f) => return Ok(Value::Float(*f)),
            Arg::Bool(b) => return Ok(Value::Bool(*b)),
            Arg::Nil => return Ok(Value::Nil),
            Arg::Dot => return Ok(dot.clone()),
            Arg::Ident(name) => return Ok(super::funcs::call(self, name, Vec::new())?),
            Arg::Field(fields) => (dot.clone(), fields),
            Arg::Var(name, fields) => {
                let v = self
                    .vars
                    .iter()
                    .rev()
                    .find(|(n, _)| n == name)
                    .map(|(_, v)| v.clone())
                    .ok_or_else(|| format!("undefined variable: {name}"))?;
                (v, fields)
            }
            Arg::Sub(p, fields) => (self.pipe(p, dot)?, fields),
        };
        let mut v = base;
        for f in fields {
            v = v.field(f)?;
        }
        Ok(v)
    }
}
