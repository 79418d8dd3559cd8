//! Body tokenisation, shared by indexing and queries: runs of letters, digits and `_`,
//! lowercased, at most [`MAX_TOKEN_BYTES`] bytes (longer runs are cut).

/// Longest indexed token; longer runs are cut to this many bytes (at a char boundary).
pub(crate) const MAX_TOKEN_BYTES: usize = 64;

fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Calls `f` with each token of `text`, in order, lowercased.
pub(crate) fn for_each_token(text: &str, mut f: impl FnMut(&str)) {
    let mut buf = String::new();
    let mut start = None;
    for (i, c) in text
        .char_indices()
        .chain(std::iter::once((text.len(), ' ')))
    {
        match (is_token_char(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                let mut word = &text[s..i];
                if word.len() > MAX_TOKEN_BYTES {
                    let mut cut = MAX_TOKEN_BYTES;
                    while !word.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    word = &word[..cut];
                }
                if word.is_ascii() && word.bytes().any(|b| b.is_ascii_uppercase()) {
                    buf.clear();
                    buf.push_str(word);
                    buf.make_ascii_lowercase();
                    f(&buf);
                } else if !word.is_ascii() && word.chars().any(char::is_uppercase) {
                    f(&word.to_lowercase());
                } else {
                    f(word);
                }
                start = None;
            }
            _ => {}
        }
    }
}

/// The tokens of `text`, in order.
pub(crate) fn tokens(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for_each_token(text, |t| out.push(t.to_owned()));
    out
}

/// Whether `tokens` holds `phrase` as a consecutive run.
pub(crate) fn contains_run(tokens: &[String], phrase: &[String]) -> bool {
    phrase.is_empty() || tokens.windows(phrase.len()).any(|w| w == phrase)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_lowercased_word_runs() {
        assert_eq!(
            tokens("Timeout calling payment-service after 5000ms (user_id=42)"),
            vec!["timeout", "calling", "payment", "service", "after", "5000ms", "user_id", "42"]
        );
        assert_eq!(tokens("Größe: ÜBER"), vec!["größe", "über"]);
        assert_eq!(tokens(&"a".repeat(100))[0].len(), MAX_TOKEN_BYTES);
        assert!(contains_run(&tokens("a b c d"), &tokens("b c")));
        assert!(!contains_run(&tokens("a b c d"), &tokens("c b")));
    }
}
