//! The tree checks itself (after rust-analyzer's `xtask/src/tidy.rs`): the domain never
//! imports the HTTP layer, server modules do not import each other in a cycle, source files
//! stay short unless listed below with a reason, and ARCHITECTURE.md's code map names only
//! paths that exist where it names them (each resolved against its entry's folder) and every
//! top-level module of `server/src` and `app/src`.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Longest a `.rs` file under `server/src` or `app/src` may grow.
const MAX_LINES: usize = 800;

/// Files allowed past [`MAX_LINES`], each with the reason. A listed file that shrinks under
/// the limit (or goes away) fails the test, so the list stays honest.
const LONG_FILES: &[(&str, &str)] = &[(
    "server/src/rules/template.rs",
    "a port of Go's text/template lexer and parser, kept in one piece to compare with the original",
)];

/// Paths the code map names that are build outputs, not files in the tree.
const GENERATED: &[(&str, &str)] = &[("pkg/keiko.css", "written by `make site`")];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("server/ has a parent")
        .to_path_buf()
}

/// Every `.rs` file under `dir`, as paths relative to the repository root.
fn rust_files(root: &Path, dir: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![root.join(dir)];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).unwrap_or_else(|e| panic!("reading {}: {e}", d.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path.strip_prefix(root).expect("under root").to_path_buf());
            }
        }
    }
    out.sort();
    out
}

fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Source text without comments (line comments, doc comments and block comments), so that
/// an intra-doc link such as [`crate::http`] is not taken for an import.
fn code_of(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut block_depth = 0usize;
    for line in text.lines() {
        let mut rest = line;
        let mut kept = String::new();
        loop {
            if block_depth > 0 {
                match (rest.find("/*"), rest.find("*/")) {
                    (Some(open), Some(close)) if open < close => {
                        block_depth += 1;
                        rest = &rest[open + 2..];
                    }
                    (_, Some(close)) => {
                        block_depth -= 1;
                        rest = &rest[close + 2..];
                    }
                    _ => break,
                }
                continue;
            }
            match (rest.find("//"), rest.find("/*")) {
                (Some(line_c), Some(block)) if block < line_c => {
                    kept.push_str(&rest[..block]);
                    block_depth += 1;
                    rest = &rest[block + 2..];
                }
                (Some(line_c), _) => {
                    kept.push_str(&rest[..line_c]);
                    break;
                }
                (None, Some(block)) => {
                    kept.push_str(&rest[..block]);
                    block_depth += 1;
                    rest = &rest[block + 2..];
                }
                (None, None) => {
                    kept.push_str(rest);
                    break;
                }
            }
        }
        out.push_str(&kept);
        out.push('\n');
    }
    out
}

/// The top-level modules a piece of code reaches through `crate::…` paths, in `use`
/// declarations and inline alike (`crate::{a, b::c}` names `a` and `b`).
fn crate_references(code: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for (at, _) in code.match_indices("crate::") {
        let before = code[..at].chars().next_back();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // `foo_crate::`, `$crate::`-like spellings
        }
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0usize;
            let mut item_start = true;
            let mut word = String::new();
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !word.is_empty() {
                            found.insert(std::mem::take(&mut word));
                        }
                        item_start = true;
                        continue;
                    }
                    _ => {}
                }
                if item_start && depth == 0 {
                    if c.is_alphanumeric() || c == '_' {
                        word.push(c);
                        continue;
                    }
                    if !word.is_empty() {
                        found.insert(std::mem::take(&mut word));
                        item_start = false;
                    }
                }
            }
            if !word.is_empty() {
                found.insert(word);
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                found.insert(name);
            }
        }
    }
    found
}

/// The top-level module a file under `server/src` belongs to (`sources` for
/// `server/src/sources/store.rs`); `None` for the crate roots.
fn top_module(rel: &str) -> Option<String> {
    let inner = rel.strip_prefix("server/src/")?;
    let first = inner.split('/').next()?;
    let name = first.strip_suffix(".rs").unwrap_or(first);
    (name != "lib" && name != "main").then(|| name.to_owned())
}

struct Tree {
    files: Vec<(String, String)>,
}

impl Tree {
    fn load() -> Tree {
        let root = repo_root();
        let mut files = Vec::new();
        for dir in ["server/src", "app/src"] {
            for rel in rust_files(&root, dir) {
                let text = fs::read_to_string(root.join(&rel))
                    .unwrap_or_else(|e| panic!("reading {}: {e}", rel.display()));
                files.push((slash(&rel), text));
            }
        }
        Tree { files }
    }

    fn server_files(&self) -> impl Iterator<Item = (&str, &str)> {
        self.files
            .iter()
            .filter(|(p, _)| p.starts_with("server/src/"))
            .map(|(p, t)| (p.as_str(), t.as_str()))
    }

    /// module → modules it references, for the server's top-level modules.
    fn module_graph(&self) -> BTreeMap<String, BTreeSet<String>> {
        let modules: BTreeSet<String> = self
            .server_files()
            .filter_map(|(p, _)| top_module(p))
            .collect();
        let mut graph: BTreeMap<String, BTreeSet<String>> = modules
            .iter()
            .map(|m| (m.clone(), BTreeSet::new()))
            .collect();
        for (path, text) in self.server_files() {
            let Some(from) = top_module(path) else {
                continue;
            };
            for to in crate_references(&code_of(text)) {
                if to != from && modules.contains(&to) {
                    graph.get_mut(&from).expect("known module").insert(to);
                }
            }
        }
        graph
    }
}

/// One cycle in `graph` as `a → b → … → a`, if there is any.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut marks: BTreeMap<&str, Mark> = graph.keys().map(|k| (k.as_str(), Mark::New)).collect();
    for start in graph.keys() {
        if marks[start.as_str()] != Mark::New {
            continue;
        }
        // Iterative depth-first search: (node, its successors not yet visited).
        let mut path: Vec<&str> = vec![start];
        let mut pending: Vec<Vec<&str>> = vec![graph[start].iter().map(String::as_str).collect()];
        marks.insert(start, Mark::OnPath);
        while let Some(next) = pending.last_mut() {
            match next.pop() {
                Some(to) => match marks.get(to).copied().unwrap_or(Mark::Done) {
                    Mark::OnPath => {
                        let from = path.iter().position(|m| *m == to).expect("on path");
                        let mut cycle: Vec<String> =
                            path[from..].iter().map(|m| (*m).to_owned()).collect();
                        cycle.push(to.to_owned());
                        return Some(cycle);
                    }
                    Mark::New => {
                        marks.insert(to, Mark::OnPath);
                        path.push(to);
                        pending.push(graph[to].iter().map(String::as_str).collect());
                    }
                    Mark::Done => {}
                },
                None => {
                    let done = path.pop().expect("path and pending move together");
                    marks.insert(done, Mark::Done);
                    pending.pop();
                }
            }
        }
    }
    None
}

#[test]
fn no_module_outside_http_imports_the_http_layer() {
    let tree = Tree::load();
    let offenders: Vec<&str> = tree
        .server_files()
        .filter(|(path, _)| !path.starts_with("server/src/http/"))
        // The crate root builds the router; it is the composition root, not the domain.
        .filter(|(path, _)| top_module(path).is_some())
        .filter(|(_, text)| crate_references(&code_of(text)).contains("http"))
        .map(|(path, _)| path)
        .collect();
    assert!(
        offenders.is_empty(),
        "these modules import `crate::http`; return a domain error (`crate::error::Error`) or \
         a domain type instead and let `http/` translate it:\n  {}",
        offenders.join("\n  ")
    );
}

#[test]
fn server_modules_import_each_other_without_cycles() {
    let graph = Tree::load().module_graph();
    if let Some(cycle) = find_cycle(&graph) {
        panic!(
            "the server's top-level modules import each other in a cycle: {}\n\
             move what both sides need below them (or the caller's part up into the caller)",
            cycle.join(" → ")
        );
    }
}

#[test]
fn source_files_stay_under_the_length_limit() {
    let tree = Tree::load();
    let listed: BTreeMap<&str, &str> = LONG_FILES.iter().copied().collect();
    let mut problems = Vec::new();
    for (path, text) in &tree.files {
        let lines = text.lines().count();
        match (lines > MAX_LINES, listed.contains_key(path.as_str())) {
            (true, false) => problems.push(format!(
                "{path} has {lines} lines (limit {MAX_LINES}): split it where a seam is, or list it in LONG_FILES with the reason"
            )),
            (false, true) => problems.push(format!(
                "{path} has {lines} lines, under the limit: remove it from LONG_FILES"
            )),
            _ => {}
        }
    }
    for path in listed.keys() {
        if !tree.files.iter().any(|(p, _)| p == path) {
            problems.push(format!(
                "{path} is listed in LONG_FILES but does not exist: remove it"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The `## Code map` section of ARCHITECTURE.md.
fn code_map(root: &Path) -> String {
    let text = fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let start = text.find("## Code map").expect("a `## Code map` section");
    let body = &text[start + "## Code map".len()..];
    let end = body.find("\n## ").unwrap_or(body.len());
    body[..end].to_owned()
}

/// Every file and directory of the tree (directories with a trailing `/`), relative to the
/// root, leaving out build output and VCS data.
fn tree_paths(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir).expect("readable directory") {
            let path = entry.expect("directory entry").path();
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            if matches!(name.as_ref(), "target" | ".git" | "node_modules") {
                continue;
            }
            let rel = slash(path.strip_prefix(root).expect("under root"));
            if path.is_dir() {
                out.push(format!("{rel}/"));
                stack.push(path);
            } else {
                out.push(rel);
            }
        }
    }
    out
}

/// `*` matches within one path segment.
fn glob_match(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, tail)) => {
            let Some(rest) = text.strip_prefix(head) else {
                return false;
            };
            (0..=rest.len())
                .filter(|i| rest.is_char_boundary(*i) && !rest[..*i].contains('/'))
                .any(|i| glob_match(tail, &rest[i..]))
        }
    }
}

/// The paths of the tree, for lookups.
struct Paths {
    all: BTreeSet<String>,
}

impl Paths {
    fn new(paths: impl IntoIterator<Item = String>) -> Paths {
        Paths {
            all: paths.into_iter().collect(),
        }
    }

    /// Whether `pattern` (a path, or a glob with `*`) matches a path of the tree.
    fn has(&self, pattern: &str) -> bool {
        if pattern.contains('*') {
            self.all.iter().any(|p| glob_match(pattern, p))
        } else {
            self.all.contains(pattern)
        }
    }

    /// Where a path that an entry of the code map names is: the code map names paths
    /// relative to the folder of the entry that holds them (`api/` under `server/src/http/`),
    /// or to a folder above it (`sources/store.rs` under `server/src/logs/`), in a crate's
    /// folder also below its `src/` (`chunk/` under `tsdb/`). `None` when no such folder
    /// holds it: a path named under the wrong entry fails.
    fn resolve(&self, folder: &str, named: &str) -> Option<String> {
        let mut base = folder.to_owned();
        loop {
            for prefix in [base.clone(), format!("{base}src/")] {
                let full = format!("{prefix}{named}");
                if self.has(&full) {
                    return Some(full);
                }
            }
            if base.is_empty() {
                return None;
            }
            base = parent_folder(&base);
        }
    }
}

/// The folder above `folder` (`a/b/` → `a/`, `a/` → ``).
fn parent_folder(folder: &str) -> String {
    let trimmed = folder.trim_end_matches('/');
    match trimmed.rfind('/') {
        Some(i) => trimmed[..=i].to_owned(),
        None => String::new(),
    }
}

/// The code map's entries (a bullet with its continuation lines) with their indentation;
/// text before the first bullet is an entry of indentation 0.
fn entries(map: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = vec![(0, String::new())];
    for line in map.lines() {
        let indent = line.len() - line.trim_start().len();
        match line.trim_start().strip_prefix("- ") {
            Some(text) => out.push((indent, text.to_owned())),
            None => {
                let last = out.last_mut().expect("one entry at least");
                last.1.push('\n');
                last.1.push_str(line);
            }
        }
    }
    out
}

/// Every path span that each entry names, resolved against its entry's folder: `(entry's
/// folder, named path, where it is)`. An entry that starts with a path is about that path;
/// its folder (the path, or the folder of a file) is where the entry's other paths are
/// looked up, and a nested entry's own path is looked up from its parent's folder.
fn resolved_names(map: &str, paths: &Paths) -> Vec<(String, String, Option<String>)> {
    let mut out = Vec::new();
    // (indentation, folder) of the entries enclosing the current one.
    let mut stack: Vec<(usize, String)> = Vec::new();
    for (indent, text) in entries(map) {
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let outer = stack.last().map(|(_, f)| f.clone()).unwrap_or_default();
        let mut folder = outer.clone();
        if let Some(head) = text.strip_prefix('`').and_then(|t| t.split('`').next()) {
            let found = paths.resolve(&outer, head);
            if let Some(found) = &found {
                folder = if found.ends_with('/') {
                    found.clone()
                } else {
                    parent_folder(found)
                };
            }
        }
        for named in text
            .split('`')
            .skip(1)
            .step_by(2)
            .filter(|s| is_path_like(s))
        {
            out.push((
                folder.clone(),
                named.to_owned(),
                paths.resolve(&folder, named),
            ));
        }
        stack.push((indent, folder));
    }
    out
}

/// A backticked span that reads as a path of the tree: `server/src/http/`, `tests/*.rs`,
/// `lib.rs`; URL paths (`/api/v1`), placeholders (`<data dir>/tsdb`), paths outside the
/// repository (`../shared/…`) and code are not.
fn is_path_like(s: &str) -> bool {
    !s.starts_with('/')
        && !s.starts_with("..")
        && !s.is_empty()
        && !s.contains(|c: char| {
            c.is_whitespace() || matches!(c, '<' | '>' | '{' | '}' | ',' | '(' | ':' | '=')
        })
}

#[test]
fn code_map_names_only_existing_paths() {
    let root = repo_root();
    let map = code_map(&root);
    let paths = Paths::new(tree_paths(&root));
    let generated: BTreeSet<&str> = GENERATED.iter().map(|(p, _)| *p).collect();
    let missing: Vec<String> = resolved_names(&map, &paths)
        .into_iter()
        .filter(|(_, named, found)| {
            named.contains('/') && found.is_none() && !generated.contains(named.as_str())
        })
        .map(|(folder, named, _)| format!("{named} (under `{folder}`)"))
        .collect();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map names paths that do not exist where it names them:\n  {}",
        missing.join("\n  ")
    );
}

/// The top-level modules of `dir` (its files and folders) that no path of the code map
/// resolves to or into.
fn unmentioned_modules(root: &Path, dir: &str, resolved: &BTreeSet<String>) -> Vec<String> {
    let mut missing = Vec::new();
    for entry in fs::read_dir(root.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}")) {
        let path = entry.expect("directory entry").path();
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let wanted = if path.is_dir() {
            format!("{dir}/{name}/")
        } else {
            format!("{dir}/{name}")
        };
        if !resolved.iter().any(|r| r.starts_with(&wanted)) {
            missing.push(wanted);
        }
    }
    missing
}

#[test]
fn code_map_mentions_every_top_level_module() {
    let root = repo_root();
    let map = code_map(&root);
    let paths = Paths::new(tree_paths(&root));
    let resolved: BTreeSet<String> = resolved_names(&map, &paths)
        .into_iter()
        .filter_map(|(_, _, found)| found)
        .collect();
    let mut missing = Vec::new();
    for dir in ["server/src", "app/src"] {
        missing.extend(unmentioned_modules(&root, dir, &resolved));
    }
    missing.sort();
    assert!(
        missing.is_empty(),
        "ARCHITECTURE.md's code map does not mention these top-level modules:\n  {}",
        missing.join("\n  ")
    );
}

#[test]
fn the_checks_see_what_they_look_for() {
    let code = code_of(
        "use crate::{a, b::{c, d}, e::f};\n// crate::g\nlet x = crate::h::i(); /* crate::j */",
    );
    assert_eq!(
        crate_references(&code).into_iter().collect::<Vec<_>>(),
        ["a", "b", "e", "h"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    let cycle = find_cycle(&graph).expect("a cycle");
    assert_eq!(cycle.first(), cycle.last());
    assert_eq!(cycle.len(), 4);
    assert!(glob_match("tests/*.rs", "tests/a.rs"));
    assert!(!glob_match("tests/*.rs", "tests/a/b.rs"));
    let tree = Paths::new(
        [
            "server/",
            "server/src/",
            "server/src/http/",
            "server/src/http/api/",
            "server/src/http/apis/",
            "server/src/logs/",
            "server/src/sources/",
            "server/src/sources/store.rs",
            "tsdb/",
            "tsdb/src/",
            "tsdb/src/chunk/",
            "app/",
            "app/src/",
            "app/src/home.rs",
            "app/src/nav.rs",
        ]
        .map(str::to_owned),
    );
    let map = "\
- `tsdb/` — XOR `chunk/`.
- `server/src/http/` — routes in `api/`, and `nope/`.
  - `api/` — nested, from its parent's folder.
- `server/src/logs/` — through `sources/store.rs`; `chunk/` is not here.
- `app/` — `home.rs`.
";
    let names: Vec<(String, Option<String>)> = resolved_names(map, &tree)
        .into_iter()
        .map(|(_, named, found)| (named, found))
        .collect();
    let some = |s: &str| Some(s.to_owned());
    assert_eq!(
        names,
        [
            ("tsdb/".to_owned(), some("tsdb/")),
            ("chunk/".to_owned(), some("tsdb/src/chunk/")),
            ("server/src/http/".to_owned(), some("server/src/http/")),
            ("api/".to_owned(), some("server/src/http/api/")),
            ("nope/".to_owned(), None),
            ("api/".to_owned(), some("server/src/http/api/")),
            ("server/src/logs/".to_owned(), some("server/src/logs/")),
            (
                "sources/store.rs".to_owned(),
                some("server/src/sources/store.rs")
            ),
            // A path under the wrong entry fails, though it exists elsewhere.
            ("chunk/".to_owned(), None),
            ("app/".to_owned(), some("app/")),
            ("home.rs".to_owned(), some("app/src/home.rs")),
        ]
    );
    let resolved: BTreeSet<String> = names.into_iter().filter_map(|(_, f)| f).collect();
    // `app/src/nav.rs` is in the tree, the map above never names it.
    assert!(resolved.contains("app/src/home.rs"));
    assert!(!resolved.iter().any(|r| r.starts_with("app/src/nav.rs")));
}
