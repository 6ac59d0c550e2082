//! POSIX shell quoting for the command lines the executors run under `bash -lc`.
//!
//! Owns: turning an arbitrary string into one shell word. Must not: do I/O.

/// Quotes `value` as one POSIX shell word: wrapped in single quotes, each embedded `'` written as
/// `'\''` (close the quote, an escaped quote, reopen). Every byte other than `'` is literal
/// inside single quotes, so spaces, `$`, backticks, backslashes and newlines need no escaping.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push_str("'\\''");
        } else {
            out.push(c);
        }
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::quote;

    #[test]
    fn plain_and_awkward_words() {
        assert_eq!(quote("abc"), "'abc'");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("/tmp/a b/c.md"), "'/tmp/a b/c.md'");
        assert_eq!(quote("it's"), "'it'\\''s'");
        assert_eq!(quote("$HOME `x` \\n"), "'$HOME `x` \\n'");
    }
}
