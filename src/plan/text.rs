//! Text primitives with the exact semantics the plan grammar depends on: which characters count
//! as whitespace and as line terminators, trimming, line splitting and positions.
//!
//! The wave grammar was defined by a JavaScript implementation, so "whitespace" here is the
//! ECMAScript set (it includes U+FEFF and excludes U+0085), and a "line terminator" is one of
//! `\n`, `\r`, U+2028, U+2029.

use super::model::Pos;

/// True for ECMAScript whitespace and line terminators (`\s` in a JS regex, what `trim` drops).
pub fn is_js_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r' | ' ' | '\u{A0}' | '\u{1680}' | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// True for the characters a JS `.` does not match and a multiline `^`/`$` stops at.
pub fn is_line_terminator(c: char) -> bool {
    matches!(c, '\n' | '\r' | '\u{2028}' | '\u{2029}')
}

/// Trims ECMAScript whitespace from both ends.
pub fn js_trim(s: &str) -> &str {
    s.trim_matches(is_js_space)
}

/// Splits on `\r?\n` (what the grammar calls a line), yielding each line with its byte offset.
pub fn split_lines(s: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut start = 0usize;
    let mut done = false;
    std::iter::from_fn(move || {
        if done {
            return None;
        }
        let rest = &s[start..];
        match rest.find('\n') {
            Some(i) => {
                let mut line = &rest[..i];
                if line.ends_with('\r') {
                    line = &line[..line.len() - 1];
                }
                let at = start;
                start += i + 1;
                Some((at, line))
            }
            None => {
                done = true;
                Some((start, rest))
            }
        }
    })
}

/// Maps byte offsets in one source text to 1-based line and character columns.
///
/// Lines are counted at `\n` only (what an editor shows), whatever the grammar's own notion of
/// a line terminator.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    /// Indexes a text.
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { starts }
    }

    /// The position of a byte offset (clamped to the text; snapped back to a char boundary).
    pub fn pos(&self, text: &str, offset: usize) -> Pos {
        let mut offset = offset.min(text.len());
        while offset > 0 && !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line_idx = match self.starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i.saturating_sub(1),
        };
        let line_start = self.starts.get(line_idx).copied().unwrap_or(0).min(offset);
        let column = text
            .get(line_start..offset)
            .map_or(0, |s| s.chars().count());
        Pos {
            line: u32::try_from(line_idx + 1).unwrap_or(u32::MAX),
            column: u32::try_from(column + 1).unwrap_or(u32::MAX),
        }
    }
}

/// The byte offset of `inner` inside `outer` when `inner` is a sub-slice of it.
pub fn offset_in(outer: &str, inner: &str) -> usize {
    let o = outer.as_ptr() as usize;
    let i = inner.as_ptr() as usize;
    if i >= o && i <= o + outer.len() {
        i - o
    } else {
        0
    }
}

/// Truncates to at most `max` UTF-16 code units, never splitting a character.
pub fn truncate_utf16(s: &str, max: usize) -> &str {
    let mut units = 0usize;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > max {
            return &s[..i];
        }
    }
    s
}

/// Length in UTF-16 code units (how the grammar measures string length).
pub fn utf16_len(s: &str) -> usize {
    s.chars().map(char::len_utf16).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_uses_the_js_whitespace_set() {
        assert_eq!(js_trim("\u{FEFF} a \u{3000}"), "a");
        assert_eq!(js_trim("\u{85}a"), "\u{85}a");
    }

    #[test]
    fn lines_split_on_lf_and_crlf_only() {
        let lines: Vec<_> = split_lines("a\r\nb\rc\nd").collect();
        assert_eq!(lines, vec![(0, "a"), (3, "b\rc"), (7, "d")]);
        let lines: Vec<_> = split_lines("").collect();
        assert_eq!(lines, vec![(0, "")]);
    }

    #[test]
    fn positions_count_characters() {
        let text = "ab\né x\n";
        let idx = LineIndex::new(text);
        assert_eq!(idx.pos(text, 0), Pos { line: 1, column: 1 });
        assert_eq!(idx.pos(text, 3), Pos { line: 2, column: 1 });
        // 'x' is after 'é' (2 bytes) and a space.
        assert_eq!(idx.pos(text, 6), Pos { line: 2, column: 3 });
        assert_eq!(idx.pos(text, 999), Pos { line: 3, column: 1 });
    }

    #[test]
    fn utf16_truncation_keeps_whole_chars() {
        assert_eq!(truncate_utf16("a😀b", 2), "a");
        assert_eq!(truncate_utf16("a😀b", 3), "a😀");
        assert_eq!(utf16_len("a😀"), 3);
    }
}
