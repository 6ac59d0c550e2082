//! Low-level matchers of the wave grammar: section lookup, agent headers, fenced blocks and the
//! bullet shapes each section accepts.
//!
//! Each matcher reproduces the exact match the reference grammar defines (greediness, which
//! characters end a line, case sensitivity), so that the same files are accepted and the same
//! values extracted. All functions are total: they return `None` instead of panicking.

use std::sync::LazyLock;

use regex::Regex;

use super::text::{is_js_space, is_line_terminator};

/// ECMAScript `\s` as a regex class.
const S: &str = r"[\t\n\x0B\x0C\r \xA0\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}]";
/// ECMAScript `.` (no dotAll) as a regex class.
const DOT: &str = r"[^\n\r\x{2028}\x{2029}]";

fn build(pattern: &str) -> Regex {
    let expanded = pattern.replace("{S}", S).replace("{DOT}", DOT);
    // The patterns are constants of this module (never input), and a unit test compiles each.
    #[allow(clippy::expect_used)]
    Regex::new(&expanded).expect("grammar patterns are valid regexes")
}

/// `- <id>: <kind> [default] [(<notes>)]`.
pub static DEPLOY_BULLET: LazyLock<Regex> = LazyLock::new(|| {
    build(
        r"^-{S}+`?([a-zA-Z0-9][a-zA-Z0-9._-]*)`?{S}*:{S}*`?([a-zA-Z0-9][a-zA-Z0-9._-]*)`?{S}*([dD][eE][fF][aA][uU][lL][tT])?(?:{S}+\(({DOT}*)\))?$",
    )
});

/// After a leading `-` and at least one whitespace character: the rest of a trimmed line.
fn after_dash(line: &str) -> Option<&str> {
    let rest = line.strip_prefix('-')?;
    let body = rest.trim_start_matches(is_js_space);
    (body.len() < rest.len()).then_some(body)
}

fn is_key_char(c: char, dots: bool) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == '-' || (dots && c == '.')
}

fn key_run(s: &str, dots: bool) -> (&str, &str) {
    let end = s.find(|c| !is_key_char(c, dots)).unwrap_or(s.len());
    s.split_at(end)
}

/// `- <anything>` on a trimmed line: the value (no line terminators inside).
pub fn path_bullet(line: &str) -> Option<&str> {
    let value = after_dash(line)?;
    (!value.is_empty() && !value.contains(is_line_terminator)).then_some(value)
}

/// `- <key>: <value>` on a trimmed line. Keys are `[a-zA-Z0-9_-]+`, plus `.` when `dots`.
pub fn kv_bullet(line: &str, dots: bool) -> Option<(&str, &str)> {
    let (key, rest) = key_run(after_dash(line)?, dots);
    if key.is_empty() {
        return None;
    }
    let value = rest
        .trim_start_matches(is_js_space)
        .strip_prefix(':')?
        .trim_start_matches(is_js_space);
    (!value.is_empty() && !value.contains(is_line_terminator)).then_some((key, value))
}

/// `- <id>: <level>` on a trimmed line (both `[a-zA-Z0-9._-]+`).
pub fn promotion_bullet(line: &str) -> Option<(&str, &str)> {
    let (id, rest) = key_run(after_dash(line)?, true);
    let rest = rest
        .trim_start_matches(is_js_space)
        .strip_prefix(':')?
        .trim_start_matches(is_js_space);
    let (level, tail) = key_run(rest, true);
    (!id.is_empty() && !level.is_empty() && tail.chars().all(is_js_space)).then_some((id, level))
}

/// `- <id>` on a trimmed line (`[a-zA-Z0-9._-]+`).
pub fn component_bullet(line: &str) -> Option<&str> {
    let (id, tail) = key_run(after_dash(line)?, true);
    (!id.is_empty() && tail.chars().all(is_js_space)).then_some(id)
}

/// A lowercase id token: `[a-z0-9][a-z0-9._-]*`.
pub fn is_lower_id(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
}

/// A match of a heading: where the heading text starts and where its body starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadingMatch {
    /// Byte offset of the first `#`.
    pub start: usize,
    /// Byte offset just after the matched heading (and what the grammar consumes with it).
    pub body_start: usize,
}

/// True when byte offset `i` of `s` starts a line in the multiline-regex sense: the start of
/// `s` or just after a line terminator.
fn at_line_start(s: &str, i: usize) -> bool {
    i == 0
        || s.get(..i)
            .and_then(|h| h.chars().next_back())
            .is_some_and(is_line_terminator)
}

/// Offsets where `prefix` (which starts with `#`) begins at a line start of `s`, in order.
fn prefixed_line_starts<'a>(s: &'a str, prefix: &'a str) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0usize;
    std::iter::from_fn(move || {
        while let Some(rel) = s.get(from..).and_then(|t| t.find('#')) {
            let i = from + rel;
            from = i + 1;
            if s[i..].starts_with(prefix) && at_line_start(s, i) {
                return Some(i);
            }
        }
        None
    })
}

/// Finds a top-level section: the first line that is exactly `## <heading>` followed by
/// optional whitespace up to a line end. The body start is after the heading and the
/// whitespace the match consumed (greedy, ending right before a line terminator or the end).
pub fn find_top_section(content: &str, heading: &str) -> Option<HeadingMatch> {
    let needle = format!("## {heading}");
    for start in prefixed_line_starts(content, &needle) {
        let after = start + needle.len();
        // Greedy `\s*` then `$`: the last position within the whitespace run that is at a line
        // end (before a terminator, or the end of the text).
        let tail = &content[after..];
        let mut best: Option<usize> = None;
        let mut reached_end = true;
        for (i, c) in tail.char_indices() {
            if !is_js_space(c) {
                reached_end = false;
                break;
            }
            if is_line_terminator(c) {
                best = Some(after + i);
            }
        }
        if reached_end {
            best = Some(content.len());
        }
        if let Some(body_start) = best {
            return Some(HeadingMatch { start, body_start });
        }
    }
    None
}

/// The body of a section that starts at `body_start`: up to the first line (in the slice
/// `content[body_start..]`, whose own start counts as a line start) that begins with
/// `marker` followed by at least one whitespace character; trimmed by the caller.
pub fn section_body<'a>(content: &'a str, body_start: usize, marker: &str) -> &'a str {
    let after = content.get(body_start..).unwrap_or("");
    for start in prefixed_line_starts(after, marker) {
        if after[start + marker.len()..]
            .chars()
            .next()
            .is_some_and(is_js_space)
        {
            return &after[..start];
        }
    }
    after
}

/// Finds an agent subsection: the first occurrence of `### <heading>` immediately followed by
/// one or more `\r`/`\n` (anywhere, not only at a line start). The body starts after those.
pub fn find_sub_section(section: &str, heading: &str) -> Option<HeadingMatch> {
    let needle = format!("### {heading}");
    let mut from = 0usize;
    while let Some(rel) = section.get(from..).and_then(|t| t.find('#')) {
        let start = from + rel;
        from = start + 1;
        if !section[start..].starts_with(&needle) {
            continue;
        }
        let after = start + needle.len();
        let tail = &section[after..];
        let newlines = tail.len() - tail.trim_start_matches(['\r', '\n']).len();
        if newlines > 0 {
            return Some(HeadingMatch {
                start,
                body_start: after + newlines,
            });
        }
    }
    None
}

/// An agent header `## Agent <ID>: <Title>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentHeader<'a> {
    /// Byte offset of the header.
    pub start: usize,
    /// Byte offset just after the header match (where the agent section starts).
    pub end: usize,
    /// Raw id (untrimmed).
    pub id: &'a str,
    /// Raw title (untrimmed).
    pub title: &'a str,
}

/// Every agent header, in order, as a global multiline search would find them.
pub fn agent_headers(content: &str) -> Vec<AgentHeader<'_>> {
    const PREFIX: &str = "## Agent ";
    let mut out = Vec::new();
    let mut search_from = 0usize;
    let starts: Vec<usize> = prefixed_line_starts(content, PREFIX).collect();
    for start in starts {
        if start < search_from {
            continue;
        }
        let id_start = start + PREFIX.len();
        // `[^:]+` then `:`.
        let Some(colon_rel) = content[id_start..].find(':') else {
            // No colon after this header means none after any later one either.
            break;
        };
        if colon_rel == 0 {
            continue;
        }
        let colon = id_start + colon_rel;
        let after_colon = colon + 1;
        // `\s*` greedy then `(.+)$`.
        let tail = &content[after_colon..];
        let ws_len = tail.len() - tail.trim_start_matches(is_js_space).len();
        let run_end = after_colon + ws_len;
        let title_start = if run_end < content.len() {
            Some(run_end)
        } else {
            // Backtrack: the last non-terminator character inside the whitespace run.
            content[after_colon..run_end]
                .char_indices()
                .rev()
                .find(|(_, c)| !is_line_terminator(*c))
                .map(|(i, _)| after_colon + i)
        };
        let Some(title_start) = title_start else {
            continue;
        };
        let title_len = content[title_start..]
            .find(is_line_terminator)
            .unwrap_or(content.len() - title_start);
        if title_len == 0 {
            continue;
        }
        let end = title_start + title_len;
        out.push(AgentHeader {
            start,
            end,
            id: &content[id_start..colon],
            title: &content[title_start..end],
        });
        search_from = end;
    }
    out
}

/// A fenced block: ```` ```[lang]\n<inner>\n``` ````, the first that matches. Returns the
/// inner text (untrimmed) as a sub-slice of `block`.
pub fn fenced_block(block: &str) -> Option<&str> {
    const FENCE: &str = "```";
    let bytes = block.as_bytes();
    let mut search = 0usize;
    while let Some(rel) = block.get(search..).and_then(|s| s.find(FENCE)) {
        let open = search + rel;
        search = open + 1;
        let mut k = open + FENCE.len();
        while k < bytes.len()
            && (bytes[k].is_ascii_alphanumeric() || matches!(bytes[k], b'_' | b'-'))
        {
            k += 1;
        }
        let content_start = if block[k..].starts_with("\r\n") {
            k + 2
        } else if block[k..].starts_with('\n') {
            k + 1
        } else {
            continue;
        };
        // Lazy `[\s\S]*?` then `\r?\n```` : the first "\n```" at or after content_start.
        let Some(close_rel) = block[content_start..].find("\n```") else {
            // No closing fence after this opening, so none after any later opening either.
            return None;
        };
        let n = content_start + close_rel;
        let end = if n > content_start && bytes[n - 1] == b'\r' {
            n - 1
        } else {
            n
        };
        return Some(&block[content_start..end]);
    }
    None
}

/// The commit message: ``**Commit message**: `<text>` ``, the first occurrence that matches.
pub fn commit_message(content: &str) -> Option<(usize, &str)> {
    const NEEDLE: &str = "**Commit message**:";
    for (start, _) in content.match_indices(NEEDLE) {
        let tail = &content[start + NEEDLE.len()..];
        let rest = tail.trim_start_matches(is_js_space);
        let Some(inner) = rest.strip_prefix('`') else {
            continue;
        };
        let Some(close) = inner.find('`') else {
            continue;
        };
        if close == 0 {
            continue;
        }
        return Some((start, &inner[..close]));
    }
    None
}

/// Owned paths from a prompt overlay: bullets after a `File ownership` line, until a line that
/// looks like another heading (`Word words:`). Returns each cleaned path with its byte offset
/// in `prompt`, de-duplicated (first occurrence kept).
pub fn owned_paths(prompt: &str) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    let mut inside = false;
    for (offset, line) in super::text::split_lines(prompt) {
        if starts_file_ownership(line) {
            inside = true;
            continue;
        }
        if inside && is_label_line(line) {
            inside = false;
        }
        if !inside {
            continue;
        }
        let Some((bullet_offset, value)) = dash_bullet(line) else {
            continue;
        };
        let cleaned: String = value
            .chars()
            .filter(|c| !matches!(c, '`' | '"' | '\''))
            .collect();
        let cleaned = super::text::js_trim(&cleaned);
        if cleaned.is_empty() || !seen.insert(cleaned.to_owned()) {
            continue;
        }
        out.push((offset + bullet_offset, cleaned.to_owned()));
    }
    out
}

fn starts_file_ownership(line: &str) -> bool {
    const WORDS: &str = "file ownership";
    let rest = line.trim_start_matches(is_js_space);
    let Some(head) = rest.get(..WORDS.len()) else {
        return false;
    };
    if !head.eq_ignore_ascii_case(WORDS) {
        return false;
    }
    !rest[WORDS.len()..]
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_label_line(line: &str) -> bool {
    let rest = line.trim_start_matches(is_js_space);
    let mut chars = rest.char_indices();
    match chars.next() {
        Some((_, c)) if c.is_ascii_alphabetic() => {}
        _ => return false,
    }
    for (i, c) in chars {
        if c.is_ascii_alphanumeric() || matches!(c, ' ' | '_' | '/' | '-') {
            continue;
        }
        return c == ':' && rest[i + 1..].chars().all(is_js_space);
    }
    false
}

/// `^\s*-\s+(.+?)\s*$` on one line: the value (no line terminators inside) and its offset.
fn dash_bullet(line: &str) -> Option<(usize, &str)> {
    let lead = line.len() - line.trim_start_matches(is_js_space).len();
    let rest = line[lead..].strip_prefix('-')?;
    let ws = rest.len() - rest.trim_start_matches(is_js_space).len();
    if ws == 0 {
        return None;
    }
    let value = rest[ws..].trim_end_matches(is_js_space);
    if value.is_empty() || value.contains(is_line_terminator) {
        return None;
    }
    Some((lead + 1 + ws, value))
}

/// True when a line starts a level-3 heading (`### ` + text) at a line start.
pub fn sub_headings(section: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    for start in prefixed_line_starts(section, "### ") {
        let tail = &section[start + 4..];
        let end = tail.find(is_line_terminator).unwrap_or(tail.len());
        out.push((start, super::text::js_trim(&tail[..end])));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        assert!(!DEPLOY_BULLET.as_str().is_empty());
    }

    #[test]
    fn bullet_shapes() {
        assert_eq!(path_bullet("- `a b`"), Some("`a b`"));
        assert_eq!(path_bullet("-a"), None);
        assert_eq!(path_bullet("- a\rb"), None);
        assert_eq!(kv_bullet("- id : codex", false), Some(("id", "codex")));
        assert_eq!(kv_bullet("- codex.sandbox: x", false), None);
        assert_eq!(
            kv_bullet("- codex.sandbox: x", true),
            Some(("codex.sandbox", "x"))
        );
        assert_eq!(kv_bullet("- id codex", true), None);
        assert_eq!(
            promotion_bullet("- comp-a: Repo-Landed"),
            Some(("comp-a", "Repo-Landed"))
        );
        assert_eq!(promotion_bullet("- comp-a: repo landed"), None);
        assert_eq!(component_bullet("- comp.a"), Some("comp.a"));
        assert_eq!(component_bullet("- comp a"), None);
        assert!(is_lower_id("a.b-c_1"));
        assert!(!is_lower_id("-a"));
        assert!(!is_lower_id("A"));
    }

    #[test]
    fn top_section_consumes_trailing_blank_lines_up_to_the_last_line_end() {
        let text = "x\n## Eval targets \n\n- a\n## Next\n";
        let m = find_top_section(text, "Eval targets").unwrap();
        assert_eq!(&text[m.body_start..m.body_start + 1], "\n");
        assert_eq!(section_body(text, m.body_start, "##").trim(), "- a");
        assert!(find_top_section("## Eval targetsX\n", "Eval targets").is_none());
        assert!(find_top_section(" ## Eval targets\n", "Eval targets").is_none());
    }

    #[test]
    fn level_three_headings_do_not_end_a_top_section() {
        let text = "## Context7 defaults\n- bundle: x\n### Note\n- query: y\n## Agent A1: t\n";
        let m = find_top_section(text, "Context7 defaults").unwrap();
        let body = section_body(text, m.body_start, "##");
        assert!(body.contains("- query: y"));
        assert!(!body.contains("Agent"));
    }

    #[test]
    fn sub_section_is_a_substring_match() {
        let s = "\n#### Prompt\n```\nx\n```\n";
        let m = find_sub_section(s, "Prompt").unwrap();
        assert_eq!(m.start, 2);
        assert!(find_sub_section("### Prompts\n", "Prompt").is_none());
        assert!(find_sub_section("### prompt\n", "Prompt").is_none());
    }

    #[test]
    fn agent_headers_follow_the_reference_matching() {
        let text = "## Agent A1: First\n## Agent A2:\nSecond line\n## Agent : x\n## Agent B";
        let hs = agent_headers(text);
        assert_eq!(hs.len(), 2);
        assert_eq!((hs[0].id, hs[0].title), ("A1", "First"));
        assert_eq!((hs[1].id, hs[1].title), ("A2", "Second line"));
    }

    #[test]
    fn fenced_block_takes_the_first_complete_fence() {
        assert_eq!(fenced_block("```text\nhello\n```"), Some("hello"));
        assert_eq!(fenced_block("```\r\nhi\r\n```"), Some("hi"));
        assert_eq!(fenced_block("```text x\nno\n```"), None);
        assert_eq!(fenced_block("```a\n```\nx\n```"), Some("```\nx"));
        assert_eq!(fenced_block("x```\n\n````\ny\n```"), Some(""));
        assert_eq!(fenced_block("```\n```"), None);
        assert_eq!(fenced_block("```\n\n```"), Some(""));
        assert_eq!(fenced_block("no fence"), None);
    }

    #[test]
    fn owned_paths_stop_at_a_label_line_and_skip_prose() {
        let prompt = "Do things.\nFile ownership (only touch these paths):\n- `src/a.rs`\nprose\n- src/b.rs\n- src/a.rs\nNext step:\n- nope\n";
        let paths: Vec<String> = owned_paths(prompt).into_iter().map(|(_, p)| p).collect();
        assert_eq!(paths, vec!["src/a.rs", "src/b.rs"]);
    }

    #[test]
    fn commit_message_needs_backticks() {
        assert_eq!(
            commit_message("**Commit message**: `Feat: x`").map(|(_, m)| m),
            Some("Feat: x")
        );
        assert_eq!(commit_message("**Commit message**: Feat"), None);
    }

    #[test]
    fn deploy_bullet_shapes() {
        let c = DEPLOY_BULLET
            .captures("- `prod`: railway-cli default (main env)")
            .unwrap();
        assert_eq!(&c[1], "prod");
        assert_eq!(&c[2], "railway-cli");
        assert_eq!(c.get(3).map(|m| m.as_str()), Some("default"));
        assert_eq!(c.get(4).map(|m| m.as_str()), Some("main env"));
        assert!(DEPLOY_BULLET.is_match("- prod: k8s (notes)"));
        assert!(!DEPLOY_BULLET.is_match("- prod railway"));
    }
}
