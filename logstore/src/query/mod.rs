//! The query language and its evaluation. See the crate docs for the syntax.

mod bounds;
mod eval;
mod filter;
mod parse;

pub use filter::matching;
pub use parse::{parse, Compare, FieldTest, ParseError, Query, Text, MAX_DEPTH, MAX_QUERY_BYTES};

pub(crate) use bounds::time_bounds;
pub(crate) use eval::{eval, Plan};

/// Bytes allowed in a field name: letters, digits, `_`, `.`, `@`, `-`.
pub(crate) fn is_field_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'@' | b'-')
}

/// Whether `text` matches the glob `pattern` (`*` any run, `?` one char).
pub(crate) fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ti));
                pi += 1;
            }
            Some(&c) if c == '?' || c == t[ti] => {
                pi += 1;
                ti += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    pi = sp + 1;
                    ti = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn globs_match_runs_and_single_chars() {
        assert!(glob("serv*", "service"));
        assert!(glob("*vice", "service"));
        assert!(glob("s*v?ce", "service"));
        assert!(glob("*", ""));
        assert!(!glob("serv*", "observe"));
        assert!(!glob("a?c", "ac"));
    }
}
