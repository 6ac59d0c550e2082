//! A fast structural scan of one JSON line that finds the top-level `id`, `updatedAt` and
//! `createdAt` strings without building the record.
//!
//! The fold uses it to decide which line of an id wins before paying for a full parse; only the
//! winners are parsed. The scan checks the object grammar (keys, colons, commas, balanced
//! strings and brackets) up to the point where all three keys are found, and stops there: what
//! follows, like scalar spelling, is checked by the full parse, which every winning line gets
//! (a malformed line that loses to a later version of its id is not reported). It returns
//! `None` when the scanned part is not well-formed or when one of the three values contains an
//! escape, so the caller falls back to the full parser.

/// The three keys the fold orders by, as raw string contents.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineKeys<'a> {
    /// Top-level `id`.
    pub id: Option<&'a str>,
    /// Top-level `updatedAt`.
    pub updated_at: Option<&'a str>,
    /// Top-level `createdAt`.
    pub created_at: Option<&'a str>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// Index just past the closing quote of a string whose opening quote is at `start`, and whether
/// it contained an escape.
fn end_of_string(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        let rest = b.get(i..)?;
        let off = memchr::memchr2(b'"', b'\\', rest)?;
        i += off;
        if b[i] == b'\\' {
            escaped = true;
            i += 2;
        } else {
            return Some((i + 1, escaped));
        }
    }
}

/// Index just past a nested object or array starting at `start`.
fn end_of_nested(b: &[u8], start: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = start;
    while i < b.len() {
        match b[i] {
            b'"' => {
                i = end_of_string(b, i)?.0;
                continue;
            }
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
        i += 1;
    }
    None
}

/// Scans one line. See the module docs.
pub fn line_keys(line: &str) -> Option<LineKeys<'_>> {
    let b = line.as_bytes();
    let mut keys = LineKeys::default();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i = skip_ws(b, i + 1);
    if b.get(i) == Some(&b'}') {
        return (skip_ws(b, i + 1) == b.len()).then_some(keys);
    }
    loop {
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let (key_end, key_escaped) = end_of_string(b, i)?;
        let key = &b[i + 1..key_end - 1];
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        i = skip_ws(b, i + 1);
        let value_start = i;
        match b.get(i)? {
            b'"' => {
                let (end, escaped) = end_of_string(b, i)?;
                let slot = match (key_escaped, key) {
                    (false, b"id") => Some(&mut keys.id),
                    (false, b"updatedAt") => Some(&mut keys.updated_at),
                    (false, b"createdAt") => Some(&mut keys.created_at),
                    _ => None,
                };
                if let Some(slot) = slot {
                    if escaped {
                        return None;
                    }
                    *slot = line.get(value_start + 1..end - 1);
                    if keys.id.is_some() && keys.updated_at.is_some() && keys.created_at.is_some() {
                        return Some(keys);
                    }
                }
                i = end;
            }
            b'{' | b'[' => i = end_of_nested(b, i)?,
            _ => {
                let rest = &b[i..];
                let off = memchr::memchr2(b',', b'}', rest)?;
                if rest[..off]
                    .iter()
                    .any(|c| matches!(c, b'"' | b'{' | b'[' | b']'))
                {
                    return None;
                }
                i += off;
            }
        }
        i = skip_ws(b, i);
        match b.get(i)? {
            b',' => i = skip_ws(b, i + 1),
            b'}' => {
                return (skip_ws(b, i + 1) == b.len()).then_some(keys);
            }
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_top_level_keys_only() {
        let line = r#"{"meta":{"id":"nested","x":[1,{"updatedAt":"no"}]},"summary":"has \"id\":\"fake\" inside","id":"rec-1","n":12.5,"ok":true,"updatedAt":"2026-01-01T00:00:00.000Z","createdAt":"2025"}"#;
        let k = line_keys(line).expect("well-formed");
        assert_eq!(k.id, Some("rec-1"));
        assert_eq!(k.updated_at, Some("2026-01-01T00:00:00.000Z"));
        assert_eq!(k.created_at, Some("2025"));
    }

    #[test]
    fn rejects_broken_lines_and_escaped_keys() {
        for bad in [
            "",
            "[1]",
            "{",
            r#"{"id":"a""#,
            r#"{"id":"a",}"#,
            r#"{"id" "a"}"#,
            r#"{"id":"a"} trailing"#,
            r#"{"id":"a\"b"}"#,
            r#"{"a":[1,2}"#,
            r#"{"a":tru"e"}"#,
            r#"{"id":"a","a":[1,2}"#,
        ] {
            assert_eq!(line_keys(bad), None, "{bad}");
        }
        assert_eq!(line_keys(" {} "), Some(LineKeys::default()));
        // Once the three keys are found the rest is left to the full parse.
        let early = r#"{"id":"a","createdAt":"c","updatedAt":"u","x":[broken"#;
        assert_eq!(line_keys(early).and_then(|k| k.updated_at), Some("u"));
    }
}
