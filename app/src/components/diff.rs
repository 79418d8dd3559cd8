//! Line diffs of two texts (rule group and dashboard versions).

/// A line diff (longest common subsequence): `("same"|"del"|"add", line)`.
pub(crate) fn line_diff(old: &str, new: &str) -> Vec<(&'static str, String)> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut i, mut j, mut out) = (0, 0, Vec::new());
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            out.push(("same", a[i].to_owned()));
            i += 1;
            j += 1;
        } else if j < b.len() && (i == a.len() || lcs[i][j + 1] >= lcs[i + 1][j]) {
            out.push(("add", b[j].to_owned()));
            j += 1;
        } else {
            out.push(("del", a[i].to_owned()));
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_diff_marks_changes() {
        let d = line_diff("a\nb\nc", "a\nx\nc");
        assert_eq!(
            d,
            [
                ("same", "a".into()),
                ("add", "x".into()),
                ("del", "b".into()),
                ("same", "c".into())
            ]
        );
    }
}
