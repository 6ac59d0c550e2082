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
//!
//! The scan reads bytes and returns bytes: nothing is checked to be UTF-8 (a line that wins is
//! checked by the full parse; the fold checks an id or a time when it keeps one).
//!
//! Most lines are flat: one object whose values are strings, scalars and arrays of them. When
//! no `{` follows the first byte before the three values end, the keys are found by substring
//! search ([`flat_keys`]): there every `"id":"` that does not follow a backslash is a top-level
//! key, whatever comes before it. A line in the canonical form has its id at a known place,
//! and both times are found in one search for `At":"`. Anything else (a nested object before
//! the keys, spacing around the colon, a key missing) goes through the structural scan.

use std::sync::LazyLock;

use memchr::memmem::Finder;

/// The three keys the fold orders by, as raw string contents (without escapes, not checked to
/// be UTF-8).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineKeys<'a> {
    /// Top-level `id`.
    pub id: Option<&'a [u8]>,
    /// Top-level `updatedAt`.
    pub updated_at: Option<&'a [u8]>,
    /// Top-level `createdAt`.
    pub created_at: Option<&'a [u8]>,
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while matches!(b.get(i), Some(b' ' | b'\t' | b'\r' | b'\n')) {
        i += 1;
    }
    i
}

/// Eight copies of a byte.
const fn splat(byte: u8) -> u64 {
    0x0101_0101_0101_0101 * byte as u64
}

/// The high bit of each byte of `w` that is a quote or a backslash; the lowest set bit marks
/// the first one exactly (higher ones may be false alarms, which the callers never use).
fn quote_or_backslash(w: u64) -> u64 {
    let q = w ^ splat(b'"');
    let s = w ^ splat(b'\\');
    (q.wrapping_sub(splat(1)) & !q | s.wrapping_sub(splat(1)) & !s) & splat(0x80)
}

/// Index just past the closing quote of a string whose opening quote is at `start`, and whether
/// it contained an escape.
///
/// Looks at eight bytes at a time for a quote or a backslash: the strings are short, so a
/// vectorized search would spend more on its set-up than on the string.
fn end_of_string(b: &[u8], start: usize) -> Option<(usize, bool)> {
    let mut i = start + 1;
    let mut escaped = false;
    loop {
        if let Some(chunk) = b.get(i..i + 8).and_then(|c| <[u8; 8]>::try_from(c).ok()) {
            let hits = quote_or_backslash(u64::from_le_bytes(chunk));
            if hits == 0 {
                i += 8;
                continue;
            }
            i += (hits.trailing_zeros() / 8) as usize;
        }
        match *b.get(i)? {
            b'"' => return Some((i + 1, escaped)),
            b'\\' => {
                escaped = true;
                i += 2;
            }
            _ => i += 1,
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

/// Scans one line given as text. See the module docs.
pub fn line_keys(line: &str) -> Option<LineKeys<'_>> {
    line_keys_bytes(line.as_bytes())
}

/// The searchers for `"id":"` and for the shared end of `"updatedAt":"` and `"createdAt":"`.
static FINDERS: LazyLock<[Finder<'static>; 2]> =
    LazyLock::new(|| [Finder::new(br#""id":""#), Finder::new(br#"At":""#)]);

/// The value of a flat line's string that starts at `quote` (its opening quote), for the key
/// found at `at`; `None` when the key follows a backslash (it may sit inside a string) or the
/// value holds an escape. A key given twice makes the line invalid: the full parse rejects it
/// if it wins, and the fold then takes the id's latest valid line.
fn flat_value(b: &[u8], at: usize, quote: usize) -> Option<&[u8]> {
    if at == 0 || b.get(at - 1) == Some(&b'\\') {
        return None;
    }
    let (end, escaped) = end_of_string(b, quote)?;
    if escaped {
        return None;
    }
    b.get(quote + 1..end - 1)
}

/// How the runtime and upstream begin every line: the id's key comes second, after the
/// record version.
const CANONICAL_HEAD: &[u8] = br#"{"recordVersion":1,"id":""#;

/// The three keys of a flat line (see the module docs), or `None` to leave the line to the
/// structural scan.
///
/// Only the part of the line up to the last of the three values is checked for a `{`: a nested
/// object after them cannot hold the first occurrence of a top-level key.
fn flat_keys(b: &[u8]) -> Option<LineKeys<'_>> {
    if b.first() != Some(&b'{') {
        return None;
    }
    let [id_finder, at_finder] = &*FINDERS;
    // A line in the canonical form has its id at a known place; any other is searched.
    let id_at = if b.starts_with(CANONICAL_HEAD) {
        CANONICAL_HEAD.len() - 6
    } else {
        id_finder.find(b)?
    };
    let id = flat_value(b, id_at, id_at + 5)?;
    let (created, updated) = times(b, at_finder)?;
    let end = [id, created, updated]
        .iter()
        .map(|v| v.as_ptr() as usize + v.len() - b.as_ptr() as usize)
        .max()
        .unwrap_or(0);
    if memchr::memchr(b'{', b.get(1..end)?).is_some() {
        return None;
    }
    Some(LineKeys {
        id: Some(id),
        updated_at: Some(updated),
        created_at: Some(created),
    })
}

/// The first `"createdAt":"` and the first `"updatedAt":"` of a flat line: each is an `At":"`
/// with its name before it. In the canonical form the first `At":"` is `createdAt`'s and
/// `updatedAt` follows its value at once, so one search finds both.
fn times<'b>(b: &'b [u8], at_finder: &Finder<'_>) -> Option<(&'b [u8], &'b [u8])> {
    let first = at_finder.find(b)?;
    if let Some(found) = adjacent_times(b, first) {
        return found;
    }
    let (mut updated, mut created) = (None, None);
    for end in at_finder.find_iter(b) {
        let Some(start) = end.checked_sub(8) else {
            continue;
        };
        let slot = match b.get(start..end) {
            Some(br#""updated"#) => &mut updated,
            Some(br#""created"#) => &mut created,
            _ => continue,
        };
        if slot.is_none() {
            *slot = Some(flat_value(b, start, end + 4)?);
            if updated.is_some() && created.is_some() {
                break;
            }
        }
    }
    Some((created?, updated?))
}

/// The canonical case of [`times`], given the first `At":"` at `first`: `createdAt` there and
/// `updatedAt` right after its value. `None` when the line is not so; `Some(None)` when it is
/// but a value holds an escape.
fn adjacent_times(b: &[u8], first: usize) -> Option<Option<(&[u8], &[u8])>> {
    const UPDATED_NEXT: &[u8] = br#","updatedAt":""#;
    let start = first.checked_sub(8)?;
    if b.get(start..first) != Some(br#""created"#) {
        return None;
    }
    let Some(created) = flat_value(b, start, first + 4) else {
        return Some(None);
    };
    // Just past the value's closing quote.
    let after = first + 4 + created.len() + 2;
    if b.get(after..after + UPDATED_NEXT.len()) != Some(UPDATED_NEXT) {
        return None;
    }
    let key = after + 1;
    Some(flat_value(b, key, key + UPDATED_NEXT.len() - 2).map(|updated| (created, updated)))
}

/// Scans one line given as bytes. See the module docs.
pub fn line_keys_bytes(b: &[u8]) -> Option<LineKeys<'_>> {
    if let Some(keys) = flat_keys(b) {
        return Some(keys);
    }
    structural_keys(b)
}

/// The structural scan: the object grammar up to the three keys.
fn structural_keys(b: &[u8]) -> Option<LineKeys<'_>> {
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
        let key = b.get(i + 1..key_end - 1)?;
        i = key_end;
        if b.get(i) != Some(&b':') {
            i = skip_ws(b, i);
            if b.get(i) != Some(&b':') {
                return None;
            }
        }
        i += 1;
        if !matches!(b.get(i), Some(b'"' | b'{' | b'[')) {
            i = skip_ws(b, i);
        }
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
                    *slot = Some(b.get(value_start + 1..end - 1)?);
                    if keys.id.is_some() && keys.updated_at.is_some() && keys.created_at.is_some() {
                        return Some(keys);
                    }
                }
                i = end;
            }
            b'{' | b'[' => i = end_of_nested(b, i)?,
            _ => loop {
                // A scalar runs to the next comma or closing brace.
                match *b.get(i)? {
                    b',' | b'}' => break,
                    b'"' | b'{' | b'[' | b']' => return None,
                    _ => i += 1,
                }
            },
        }
        if !matches!(b.get(i), Some(b',' | b'}')) {
            i = skip_ws(b, i);
        }
        match b.get(i)? {
            b',' => {
                i += 1;
                if b.get(i) != Some(&b'"') {
                    i = skip_ws(b, i);
                }
            }
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
        assert_eq!(k.id, Some(&b"rec-1"[..]));
        assert_eq!(k.updated_at, Some(&b"2026-01-01T00:00:00.000Z"[..]));
        assert_eq!(k.created_at, Some(&b"2025"[..]));
    }

    #[test]
    fn strings_end_at_their_closing_quote_wherever_it_falls() {
        for pad in 0..20 {
            for esc in 0..pad {
                let mut text: String = "x".repeat(pad);
                text.insert_str(esc, "\\\"");
                let line = format!(
                    r#"{{"summary":"{text}","targets":["{text}",{{"k":"{text}\\"}}],"id":"r{pad}","n":-1.5e3,"updatedAt":"u","createdAt":"c"}}"#
                );
                let k = line_keys(&line).unwrap_or_else(|| panic!("well-formed: {line}"));
                assert_eq!(k.id, Some(format!("r{pad}").as_bytes()), "{line}");
                assert_eq!(
                    (k.updated_at, k.created_at),
                    (Some(&b"u"[..]), Some(&b"c"[..]))
                );
            }
        }
        let spaced =
            " { \"id\" : \"a\" , \"n\" : 1 , \"updatedAt\" :\t\"u\" ,\"createdAt\":\"c\" } ";
        assert_eq!(line_keys(spaced).and_then(|k| k.id), Some(&b"a"[..]));
        // Not checked to be UTF-8: the fold checks what it keeps.
        assert_eq!(
            line_keys_bytes(b"{\"id\":\"\xff\"}").and_then(|k| k.id),
            Some(&b"\xff"[..])
        );
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
        assert_eq!(line_keys(early).and_then(|k| k.updated_at), Some(&b"u"[..]));
    }

    /// The keys serde finds at the top level of `line`, as the scan reports them: `None`
    /// when the line is not an object or one of the string values holds an escape; a value
    /// that is not a string counts as absent.
    fn reference(line: &str) -> Option<LineKeys<'_>> {
        let value: serde_json::Value = serde_json::from_str(line).ok()?;
        let object = value.as_object()?;
        let get = |key: &str| -> Option<Option<&[u8]>> {
            match object.get(key) {
                None => Some(None),
                Some(serde_json::Value::String(text)) => {
                    let pattern = format!("\"{key}\":\"{text}\"");
                    let at = line.find(&pattern)?;
                    Some(
                        line.get(at + key.len() + 4..at + pattern.len() - 1)
                            .map(str::as_bytes),
                    )
                }
                Some(_) => Some(None),
            }
        };
        Some(LineKeys {
            id: get("id")?,
            updated_at: get("updatedAt")?,
            created_at: get("createdAt")?,
        })
    }

    use proptest::prelude::*;

    proptest::proptest! {
        /// On lines serde writes (with or without nested objects, braces, quotes and
        /// backslashes in values, keys that contain the searched ones), the flat path and the
        /// structural scan agree with serde whenever they give an answer, and the flat path
        /// answers every flat line whose three values are plain.
        #[test]
        fn flat_and_structural_scans_agree_with_serde(
            fields in proptest::collection::vec(
                (
                    proptest::sample::select(vec![
                        "id", "updatedAt", "createdAt", "agentId", "x\"id", "kind", "detail", "uid",
                    ]),
                    proptest::prop_oneof![
                        "[a-z0-9:.{}\\\\\"-]{0,12}".prop_map(serde_json::Value::from),
                        proptest::prelude::any::<i32>().prop_map(serde_json::Value::from),
                        "[a-z\"{}]{0,6}".prop_map(|t| serde_json::json!({ "id": t })),
                        "[a-z\"]{0,6}".prop_map(|t| serde_json::json!([t])),
                    ],
                ),
                0..8,
            ),
            canonical in proptest::option::of(("[a-z0-9\"\\\\-]{0,6}", "[0-9T:.Z\"-]{0,6}", "[0-9T:.Z\"-]{0,6}", 0usize..8)),
        ) {
            let mut object = serde_json::Map::new();
            // Now and then, the canonical form: the record version and the id first, and the
            // two times side by side.
            if let Some((id, _, _, _)) = &canonical {
                object.insert("recordVersion".to_owned(), 1.into());
                object.insert("id".to_owned(), id.as_str().into());
            }
            let times_at = canonical.as_ref().map(|c| c.3.min(fields.len()));
            for (i, (key, value)) in fields.into_iter().enumerate() {
                if times_at == Some(i)
                    && let Some((_, created, updated, _)) = &canonical
                {
                    object.insert("createdAt".to_owned(), created.as_str().into());
                    object.insert("updatedAt".to_owned(), updated.as_str().into());
                }
                if !object.contains_key(key) {
                    object.insert(key.to_owned(), value);
                }
            }
            if let Some((_, created, updated, _)) = &canonical {
                object.entry("createdAt").or_insert(created.as_str().into());
                object.entry("updatedAt").or_insert(updated.as_str().into());
            }
            let line = serde_json::Value::Object(object).to_string();
            let expected = reference(&line);
            let structural = structural_keys(line.as_bytes());
            let flat = flat_keys(line.as_bytes());
            if let Some(found) = structural {
                prop_assert_eq!(Some(found), expected, "structural: {}", line);
            }
            if let Some(found) = flat {
                prop_assert_eq!(Some(found), expected, "flat: {}", line);
            }
            let ends = |v: Option<&[u8]>| v.map_or(usize::MAX, |v| v.as_ptr() as usize + v.len() - line.as_ptr() as usize);
            if let Some(keys) = expected
                && keys.id.is_some() && keys.updated_at.is_some() && keys.created_at.is_some()
                && !line[1..ends(keys.id).max(ends(keys.updated_at)).max(ends(keys.created_at))].contains('{')
            {
                prop_assert_eq!(flat, Some(keys), "flat line left to the structural scan: {}", line);
            }
        }
    }

    #[test]
    fn flat_lines_take_the_substring_path() {
        let line = br#"{"kind":"x","id":"rec-1","summary":"a \"id\":\"fake\" b","updatedAt":"u","createdAt":"c","t":["}"]}"#;
        assert_eq!(
            flat_keys(line),
            Some(LineKeys {
                id: Some(&b"rec-1"[..]),
                updated_at: Some(&b"u"[..]),
                created_at: Some(&b"c"[..])
            })
        );
        // The canonical form is read at known places.
        let canonical = br#"{"recordVersion":1,"id":"rec-1","kind":"x","createdAt":"c","updatedAt":"u","detail":""}"#;
        let first = memchr::memmem::find(canonical, br#"At":""#).unwrap_or_default();
        assert_eq!(
            adjacent_times(canonical, first),
            Some(Some((&b"c"[..], &b"u"[..])))
        );
        // A nested object after the three values does not matter.
        let nested_after = br#"{"recordVersion":1,"id":"rec-1","createdAt":"c","updatedAt":"u","meta":{"id":"n","updatedAt":"x"}}"#;
        assert_eq!(
            flat_keys(nested_after),
            Some(LineKeys {
                id: Some(&b"rec-1"[..]),
                updated_at: Some(&b"u"[..]),
                created_at: Some(&b"c"[..])
            })
        );
        // A nested object before them, spacing, an escaped value: the structural scan decides.
        for other in [
            &br#"{"meta":{"id":"n"},"id":"a","updatedAt":"u","createdAt":"c"}"#[..],
            br#"{"id": "a","updatedAt":"u","createdAt":"c"}"#,
            br#"{"id":"a\u0062","updatedAt":"u","createdAt":"c"}"#,
            br#"{"summary":"{","id":"a","updatedAt":"u","createdAt":"c"}"#,
        ] {
            assert_eq!(flat_keys(other), None, "{}", String::from_utf8_lossy(other));
        }
    }
}
