//! Structured markers agents print (spec §2): line extraction, per-marker grammar, canonical
//! rendering, diagnostics, which marker wins, and the non-wave markers (`[wave-phase]`,
//! `[wave-verdict]`, `[deploy-status]`, `[infra-status]`) and report `Verdict:` lines.
//!
//! Owns: turning agent log text into typed markers. Must not: read files, the clock or the
//! environment; callers pass the log (or report) text. Never panics on any input.
//!
//! Pipeline, as upstream runs it:
//! 1. [`tail`] keeps the last [`LOG_TAIL_CHARS`] characters (UTF-16 units, never splitting a
//!    character). Earlier markers are lost; this is kept so a summary built here equals one built
//!    by the upstream runtime from the same log.
//! 2. [`collect_candidates`] scans lines: JSON lines contribute their `text` /
//!    `aggregated_output` strings (recursively); fenced blocks are accepted all-or-nothing (only
//!    when every non-blank line is a marker candidate); an unterminated fence at the end is
//!    parsed leniently; list prefixes and single-backtick wrapping are stripped.
//! 3. Each candidate of a known tag is validated against its grammar ([`MarkerKind`]) and, when
//!    accepted, re-rendered canonically (`[wave-<tag>] key=value …` in the grammar's key order,
//!    empty values omitted). [`Diagnostics`] count raw, accepted, normalized and rejected lines.
//! 4. [`Signals::from_signal_text`] reads the accepted canonical lines with the strict grammar:
//!    last occurrence wins per kind, per component id for `[wave-component]`, and every
//!    `[wave-gap]` is kept.
//!
//! `[wave-verdict]` and `[wave-phase]` are not signal tags: they never enter the signal text. The
//! cont-QA verdict of a summary comes from the report's first `Verdict:` line
//! ([`report_verdict`]); [`log_verdict`] reads a `[wave-verdict]` line from a raw log for the
//! fallback that has no summary.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;
use serde_json::Value;

use crate::plan::text::{is_js_space, is_line_terminator, js_trim};

/// Characters of the log tail a summary reads (§2.1).
pub const LOG_TAIL_CHARS: usize = 60_000;
/// Characters of the log tail deploy / infra / verdict markers are read from (§2.2).
pub const STRUCTURED_TAIL_CHARS: usize = 30_000;
/// Rejected / normalized samples kept per marker kind.
pub const SAMPLE_LIMIT: usize = 3;

/// ECMAScript `\s`, as a regex class body.
const WS: &str = r"\t\n\x0B\x0C\r \x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000}\x{FEFF}";

#[allow(clippy::expect_used)]
fn compile(pattern: &str) -> Regex {
    // Constant patterns, each exercised by the unit tests below.
    Regex::new(&pattern.replace("WS", WS)).expect("marker patterns are valid regexes")
}

/// The last `max` UTF-16 code units of `text`, never splitting a character (upstream slices JS
/// strings; a split surrogate pair would be dropped here instead of kept as half a character).
pub fn tail(text: &str, max: usize) -> &str {
    let mut units = 0usize;
    for (i, c) in text.char_indices().rev() {
        units += c.len_utf16();
        if units > max {
            return text.get(i + c.len_utf8()..).unwrap_or("");
        }
    }
    text
}

/// The ten signal kinds the parser accepts (§2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MarkerKind {
    /// `[wave-proof]`.
    Proof,
    /// `[wave-doc-delta]`.
    DocDelta,
    /// `[wave-doc-closure]`.
    DocClosure,
    /// `[wave-integration]`.
    Integration,
    /// `[wave-eval]`.
    Eval,
    /// `[wave-security]`.
    Security,
    /// `[wave-design]`.
    Design,
    /// `[wave-gate]`.
    Gate,
    /// `[wave-gap]`.
    Gap,
    /// `[wave-component]`.
    Component,
}

impl MarkerKind {
    /// Every kind, in diagnostics order.
    pub const ALL: [MarkerKind; 10] = [
        MarkerKind::Proof,
        MarkerKind::DocDelta,
        MarkerKind::DocClosure,
        MarkerKind::Integration,
        MarkerKind::Eval,
        MarkerKind::Security,
        MarkerKind::Design,
        MarkerKind::Gate,
        MarkerKind::Gap,
        MarkerKind::Component,
    ];

    /// The kind of a (lowercased) tag name, `None` for any other tag.
    pub fn from_tag(tag: &str) -> Option<Self> {
        Some(match tag {
            "proof" => MarkerKind::Proof,
            "doc-delta" => MarkerKind::DocDelta,
            "doc-closure" => MarkerKind::DocClosure,
            "integration" => MarkerKind::Integration,
            "eval" => MarkerKind::Eval,
            "security" => MarkerKind::Security,
            "design" => MarkerKind::Design,
            "gate" => MarkerKind::Gate,
            "gap" => MarkerKind::Gap,
            "component" => MarkerKind::Component,
            _ => return None,
        })
    }

    /// The tag name (`doc-delta`).
    pub fn tag(self) -> &'static str {
        match self {
            MarkerKind::Proof => "proof",
            MarkerKind::DocDelta => "doc-delta",
            MarkerKind::DocClosure => "doc-closure",
            MarkerKind::Integration => "integration",
            MarkerKind::Eval => "eval",
            MarkerKind::Security => "security",
            MarkerKind::Design => "design",
            MarkerKind::Gate => "gate",
            MarkerKind::Gap => "gap",
            MarkerKind::Component => "component",
        }
    }

    /// The key in summaries and diagnostics (`docDelta`).
    pub fn key(self) -> &'static str {
        match self {
            MarkerKind::DocDelta => "docDelta",
            MarkerKind::DocClosure => "docClosure",
            other => other.tag(),
        }
    }

    /// Keys that must be present and non-empty.
    pub fn required_keys(self) -> &'static [&'static str] {
        match self {
            MarkerKind::Proof => &["completion", "durability", "proof", "state"],
            MarkerKind::DocDelta | MarkerKind::DocClosure => &["state"],
            MarkerKind::Integration => &["state", "claims", "conflicts", "blockers"],
            MarkerKind::Eval => &["state", "targets", "benchmarks", "regressions"],
            MarkerKind::Security => &["state", "findings", "approvals"],
            MarkerKind::Design => &["state", "decisions", "assumptions", "open_questions"],
            MarkerKind::Gate => &["architecture", "integration", "durability", "live", "docs"],
            MarkerKind::Gap => &["kind"],
            MarkerKind::Component => &["component", "level", "state"],
        }
    }

    /// Keys in canonical order.
    pub fn ordered_keys(self) -> &'static [&'static str] {
        match self {
            MarkerKind::Proof => &["completion", "durability", "proof", "state", "detail"],
            MarkerKind::DocDelta | MarkerKind::DocClosure => &["state", "paths", "detail"],
            MarkerKind::Integration => &["state", "claims", "conflicts", "blockers", "detail"],
            MarkerKind::Eval => &[
                "state",
                "targets",
                "benchmarks",
                "regressions",
                "target_ids",
                "benchmark_ids",
                "detail",
            ],
            MarkerKind::Security => &["state", "findings", "approvals", "detail"],
            MarkerKind::Design => &[
                "state",
                "decisions",
                "assumptions",
                "open_questions",
                "detail",
            ],
            MarkerKind::Gate => &[
                "architecture",
                "integration",
                "durability",
                "live",
                "docs",
                "detail",
            ],
            MarkerKind::Gap => &["kind", "detail"],
            MarkerKind::Component => &["component", "level", "state", "detail"],
        }
    }

    /// Validates and normalizes raw values; `None` rejects the line.
    fn normalize(self, raw: &RawValues) -> Option<Vec<(&'static str, String)>> {
        let get = |k: &str| js_trim(raw.get(k).unwrap_or("")).to_owned();
        let lower = |k: &str| get(k).to_lowercase();
        let one_of = |v: String, allowed: &[&str]| allowed.contains(&v.as_str()).then_some(v);
        let met = |k: &str| {
            let s = lower(k);
            let s = if s == "complete" { "met".to_owned() } else { s };
            one_of(s, &["met", "gap"])
        };
        let int = |k: &str| js_parse_int(&get(k)).to_string();
        let csv = |k: &str| parse_csv(&get(k)).join(",");
        Some(match self {
            MarkerKind::Proof => vec![
                (
                    "completion",
                    one_of(
                        lower("completion"),
                        &["contract", "integrated", "authoritative", "live"],
                    )?,
                ),
                (
                    "durability",
                    one_of(lower("durability"), &["none", "ephemeral", "durable"])?,
                ),
                (
                    "proof",
                    one_of(lower("proof"), &["unit", "integration", "live"])?,
                ),
                ("state", met("state")?),
                ("detail", get("detail")),
            ],
            MarkerKind::DocDelta => vec![
                (
                    "state",
                    one_of(lower("state"), &["none", "owned", "shared-plan"])?,
                ),
                ("paths", csv("paths")),
                ("detail", get("detail")),
            ],
            MarkerKind::DocClosure => vec![
                (
                    "state",
                    one_of(lower("state"), &["closed", "no-change", "delta"])?,
                ),
                ("paths", csv("paths")),
                ("detail", get("detail")),
            ],
            MarkerKind::Integration => vec![
                (
                    "state",
                    one_of(
                        lower("state"),
                        &["ready-for-doc-closure", "needs-more-work"],
                    )?,
                ),
                ("claims", int("claims")),
                ("conflicts", int("conflicts")),
                ("blockers", int("blockers")),
                ("detail", get("detail")),
            ],
            MarkerKind::Eval => vec![
                (
                    "state",
                    one_of(lower("state"), &["satisfied", "needs-more-work", "blocked"])?,
                ),
                ("targets", int("targets")),
                ("benchmarks", int("benchmarks")),
                ("regressions", int("regressions")),
                ("target_ids", csv("target_ids")),
                ("benchmark_ids", csv("benchmark_ids")),
                ("detail", get("detail")),
            ],
            MarkerKind::Security => vec![
                (
                    "state",
                    one_of(lower("state"), &["clear", "concerns", "blocked"])?,
                ),
                ("findings", int("findings")),
                ("approvals", int("approvals")),
                ("detail", get("detail")),
            ],
            MarkerKind::Design => vec![
                (
                    "state",
                    one_of(
                        lower("state"),
                        &["ready-for-implementation", "needs-clarification", "blocked"],
                    )?,
                ),
                ("decisions", int("decisions")),
                ("assumptions", int("assumptions")),
                ("open_questions", int("open_questions")),
                ("detail", get("detail")),
            ],
            MarkerKind::Gate => {
                let mut out = Vec::new();
                for dim in GATE_DIMENSIONS {
                    out.push((
                        dim,
                        one_of(lower(dim), &["pass", "concerns", "blocked", "gap"])?,
                    ));
                }
                out.push(("detail", get("detail")));
                out
            }
            MarkerKind::Gap => vec![
                (
                    "kind",
                    one_of(
                        lower("kind"),
                        &["architecture", "integration", "durability", "ops", "docs"],
                    )?,
                ),
                ("detail", get("detail")),
            ],
            MarkerKind::Component => {
                let component = get("component");
                let level = lower("level");
                if component.is_empty() || level.is_empty() {
                    return None;
                }
                vec![
                    ("component", component),
                    ("level", level),
                    ("state", met("state")?),
                    ("detail", get("detail")),
                ]
            }
        })
    }
}

/// The five `[wave-gate]` dimensions, in order.
pub const GATE_DIMENSIONS: [&str; 5] =
    ["architecture", "integration", "durability", "live", "docs"];

/// JS `Number.parseInt(v, 10) || 0`: optional sign and leading decimal digits after whitespace;
/// anything else (or an overflow beyond `i64`) is 0.
pub fn js_parse_int(value: &str) -> i64 {
    let s = js_trim(value);
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let end = digits
        .bytes()
        .position(|b| !b.is_ascii_digit())
        .unwrap_or(digits.len());
    let n: i64 = digits[..end].parse().unwrap_or(0);
    if neg { -n } else { n }
}

/// Comma list: items trimmed, empty items dropped.
pub fn parse_csv(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(|s| js_trim(s).to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Raw `key=value` pairs of a marker body: keys lowercased, values trimmed, a repeated key keeps
/// its first position and its last value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RawValues(pub Vec<(String, String)>);

impl RawValues {
    /// The value of a key.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn set(&mut self, key: String, value: String) {
        match self.0.iter_mut().find(|(k, _)| *k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key, value)),
        }
    }

    /// Scans a body for `(^|\s)key=` starts; each value runs to the next key start.
    pub fn parse(body: &str) -> Self {
        let mut starts: Vec<(usize, usize, String)> = Vec::new(); // (key start, value start, key)
        let chars: Vec<(usize, char)> = body.char_indices().collect();
        let mut i = 0usize;
        while i < chars.len() {
            let (pos, c) = chars[i];
            let boundary = i == 0 || chars.get(i - 1).is_some_and(|(_, p)| is_js_space(*p));
            if boundary && c.is_ascii_alphabetic() {
                let mut j = i + 1;
                while let Some((_, k)) = chars.get(j) {
                    if k.is_ascii_alphanumeric() || *k == '_' || *k == '-' {
                        j += 1;
                    } else {
                        break;
                    }
                }
                if let Some((eq_pos, '=')) = chars.get(j) {
                    let key = body[pos..*eq_pos].to_ascii_lowercase();
                    starts.push((pos, eq_pos + 1, key));
                    i = j + 1;
                    continue;
                }
            }
            i += 1;
        }
        let mut values = RawValues::default();
        for (n, (_, value_start, key)) in starts.iter().enumerate() {
            let end = starts.get(n + 1).map_or(body.len(), |(s, _, _)| *s);
            let value = body.get(*value_start..end).unwrap_or("");
            values.set(key.clone(), js_trim(value).to_owned());
        }
        values
    }
}

impl Serialize for RawValues {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            map.serialize_entry(k, v)?;
        }
        map.end()
    }
}

/// One marker-looking line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The line as found, trimmed.
    pub raw_line: String,
    /// The line without list prefix or backticks.
    pub canonical_line: String,
    /// The canonical rendering when accepted, else `canonical_line`.
    pub normalized_line: String,
    /// True when accepted and the rendering differs from the line.
    pub normalized: bool,
    /// True when the line is a known kind with valid values.
    pub accepted: bool,
    /// Lowercased tag (`proof`, `verdict`, …).
    pub tag: String,
    /// The kind, for known tags.
    pub kind: Option<MarkerKind>,
    /// Raw values.
    pub raw_values: RawValues,
    /// Keys not in the kind's grammar (every key for unknown tags).
    pub unknown_keys: Vec<String>,
    /// The component id named by a `[wave-component]` line.
    pub component_id: Option<String>,
}

/// Strips a list prefix and backtick wrapping; `Some` when the rest is a marker candidate line.
pub fn candidate_line(line: &str) -> Option<String> {
    let trimmed = js_trim(line);
    if trimmed.is_empty() {
        return None;
    }
    let rest = js_trim(strip_list_prefix(trimmed));
    if is_marker_line(rest) {
        return Some(rest.to_owned());
    }
    let inner = rest.strip_prefix('`').and_then(|r| r.strip_suffix('`'))?;
    let wrapped_ok =
        inner.len() > "[wave-".len() && inner.starts_with("[wave-") && !inner.contains('`');
    wrapped_ok.then(|| js_trim(inner).to_owned())
}

fn strip_list_prefix(s: &str) -> &str {
    let after = if let Some(r) = s.strip_prefix(['-', '*', '+']) {
        Some(r)
    } else {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            s[digits..].strip_prefix('.')
        } else {
            None
        }
    };
    match after {
        Some(r) if r.starts_with(is_js_space) => r.trim_start_matches(is_js_space),
        _ => s,
    }
}

/// `^\[wave-[a-z0-9-]+(?:\]|\s|=|$).*$` (case-insensitive; `.` excludes line terminators).
fn is_marker_line(s: &str) -> bool {
    let Some(prefix) = s.get(..6) else {
        return false;
    };
    if !prefix.eq_ignore_ascii_case("[wave-") {
        return false;
    }
    let rest = &s[6..];
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    if name_len == 0 {
        return false;
    }
    let after = &rest[name_len..];
    let mut chars = after.chars();
    let ok_next = match chars.next() {
        None => true,
        Some(c) => c == ']' || c == '=' || is_js_space(c),
    };
    if !ok_next {
        return false;
    }
    // The boundary character may itself be a line terminator (JS `\s`); the rest may not.
    !chars.any(is_line_terminator)
}

/// Parses one line into a candidate (`None` when it is not marker-shaped).
pub fn parse_candidate(line: &str) -> Option<Candidate> {
    let raw_line = js_trim(line);
    let canonical_line = candidate_line(raw_line)?;
    // `^\[wave-([a-z0-9-]+)\](.*)$`
    let rest = canonical_line.get(6..)?;
    let name_len = rest
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'-')
        .count();
    if name_len == 0 || rest.as_bytes().get(name_len) != Some(&b']') {
        return None;
    }
    let body = &rest[name_len + 1..];
    if body.chars().any(is_line_terminator) {
        return None;
    }
    let tag = rest[..name_len].to_ascii_lowercase();
    let kind = MarkerKind::from_tag(&tag);
    let raw_values = RawValues::parse(js_trim(body));
    let unknown_keys: Vec<String> = raw_values
        .0
        .iter()
        .map(|(k, _)| k)
        .filter(|k| kind.is_none_or(|kd| !kd.ordered_keys().contains(&k.as_str())))
        .cloned()
        .collect();
    let mut component_id = raw_values
        .get("component")
        .map(|c| js_trim(c).to_owned())
        .filter(|c| !c.is_empty());
    let mut normalized_line = canonical_line.clone();
    let mut accepted = false;
    if let Some(kind) = kind {
        let required_present = kind
            .required_keys()
            .iter()
            .all(|k| raw_values.get(k).is_some_and(|v| !js_trim(v).is_empty()));
        if required_present && let Some(values) = kind.normalize(&raw_values) {
            accepted = true;
            normalized_line = render_canonical(kind.tag(), &values);
            if kind == MarkerKind::Component {
                component_id = values
                    .iter()
                    .find(|(k, _)| *k == "component")
                    .map(|(_, v)| v.clone())
                    .or(component_id);
            }
        }
    }
    let normalized = accepted && normalized_line != canonical_line;
    Some(Candidate {
        raw_line: raw_line.to_owned(),
        canonical_line,
        normalized_line,
        normalized,
        accepted,
        tag,
        kind,
        raw_values,
        unknown_keys,
        component_id,
    })
}

/// `[wave-<tag>] k=v …`, omitting empty values.
pub fn render_canonical(tag: &str, values: &[(&str, String)]) -> String {
    let mut out = format!("[wave-{tag}]");
    for (k, v) in values {
        let v = js_trim(v);
        if !v.is_empty() {
            out.push(' ');
            out.push_str(k);
            out.push('=');
            out.push_str(v);
        }
    }
    out
}

/// Collects every candidate of a text, in the order they take effect.
pub fn collect_candidates(text: &str) -> Vec<Candidate> {
    let mut out = Vec::new();
    collect_into(text, &mut out);
    out
}

fn collect_into(text: &str, out: &mut Vec<Candidate>) {
    let mut fence: Option<Vec<&str>> = None;
    for (_, line) in crate::plan::text::split_lines(text) {
        for embedded in embedded_texts(line) {
            collect_into(&embedded, out);
        }
        let trimmed = js_trim(line);
        if trimmed.starts_with("```") {
            match fence.take() {
                None => fence = Some(Vec::new()),
                Some(lines) => {
                    let parsed: Option<Vec<Candidate>> =
                        lines.iter().map(|l| parse_candidate(l)).collect();
                    if let Some(parsed) = parsed {
                        out.extend(parsed);
                    }
                }
            }
            continue;
        }
        if let Some(lines) = fence.as_mut() {
            if !trimmed.is_empty() {
                lines.push(line);
            }
            continue;
        }
        if let Some(c) = parse_candidate(line) {
            out.push(c);
        }
    }
    if let Some(lines) = fence {
        out.extend(lines.iter().filter_map(|l| parse_candidate(l)));
    }
}

/// The `text` / `aggregated_output` strings of a JSON line, depth first.
fn embedded_texts(line: &str) -> Vec<String> {
    let trimmed = js_trim(line);
    if !(trimmed.starts_with('{') || trimmed.starts_with('[')) {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_str::<Value>(trimmed) else {
        return Vec::new();
    };
    let mut texts = Vec::new();
    gather(&value, &mut texts);
    texts.retain(|t| !t.is_empty());
    texts
}

fn gather(value: &Value, texts: &mut Vec<String>) {
    match value {
        Value::Array(items) => items.iter().for_each(|i| gather(i, texts)),
        Value::Object(obj) => {
            for key in ["text", "aggregated_output"] {
                if let Some(Value::String(s)) = obj.get(key) {
                    texts.push(s.clone());
                }
            }
            for v in obj.values() {
                if v.is_object() || v.is_array() {
                    gather(v, texts);
                }
            }
        }
        _ => {}
    }
}

/// A rejected line kept as a sample.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RejectedSample {
    /// The line as found.
    pub line: String,
    /// Its raw values.
    pub raw_values: RawValues,
    /// Keys outside the grammar.
    pub unknown_keys: Vec<String>,
    /// Component id, for component lines that named one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub component_id: Option<String>,
}

/// An accepted line that was rewritten.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NormalizedSample {
    /// As found.
    pub from: String,
    /// Canonical.
    pub to: String,
}

/// Counts for one marker kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindDiagnostics {
    /// Lines of this kind seen.
    pub raw_count: u64,
    /// Lines accepted.
    pub accepted_count: u64,
    /// Accepted lines that were rewritten.
    pub normalized_count: u64,
    /// Lines rejected.
    pub rejected_count: u64,
    /// Up to three rejected lines.
    pub rejected_samples: Vec<RejectedSample>,
    /// Up to three rewrites.
    pub normalized_samples: Vec<NormalizedSample>,
    /// Unknown keys seen, sorted.
    pub unknown_keys_seen: Vec<String>,
    /// Component ids seen (component kind only), sorted, unique.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seen_component_ids: Option<Vec<String>>,
}

impl KindDiagnostics {
    /// True when raw markers were seen but none accepted.
    pub fn all_rejected(&self) -> bool {
        self.raw_count > 0 && self.accepted_count == 0
    }
}

/// Diagnostics for every kind (`structuredSignalDiagnostics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostics {
    /// Per kind, in [`MarkerKind::ALL`] order.
    pub kinds: BTreeMap<MarkerKind, KindDiagnostics>,
}

impl Default for Diagnostics {
    fn default() -> Self {
        let kinds = MarkerKind::ALL
            .into_iter()
            .map(|k| {
                let mut d = KindDiagnostics::default();
                if k == MarkerKind::Component {
                    d.seen_component_ids = Some(Vec::new());
                }
                (k, d)
            })
            .collect();
        Diagnostics { kinds }
    }
}

impl Diagnostics {
    /// The bucket of one kind.
    pub fn get(&self, kind: MarkerKind) -> Option<&KindDiagnostics> {
        self.kinds.get(&kind)
    }

    /// Builds diagnostics from candidates.
    pub fn from_candidates(candidates: &[Candidate]) -> Self {
        let mut d = Diagnostics::default();
        for c in candidates {
            let Some(kind) = c.kind else { continue };
            let Some(bucket) = d.kinds.get_mut(&kind) else {
                continue;
            };
            bucket.raw_count += 1;
            if kind == MarkerKind::Component
                && let (Some(id), Some(seen)) =
                    (&c.component_id, bucket.seen_component_ids.as_mut())
            {
                seen.push(id.clone());
            }
            for k in &c.unknown_keys {
                if !bucket.unknown_keys_seen.contains(k) {
                    bucket.unknown_keys_seen.push(k.clone());
                }
            }
            if c.accepted {
                bucket.accepted_count += 1;
                if c.normalized {
                    bucket.normalized_count += 1;
                    if bucket.normalized_samples.len() < SAMPLE_LIMIT {
                        bucket.normalized_samples.push(NormalizedSample {
                            from: c.raw_line.clone(),
                            to: c.normalized_line.clone(),
                        });
                    }
                }
                continue;
            }
            bucket.rejected_count += 1;
            if bucket.rejected_samples.len() < SAMPLE_LIMIT {
                bucket.rejected_samples.push(RejectedSample {
                    line: c.raw_line.clone(),
                    raw_values: c.raw_values.clone(),
                    unknown_keys: c.unknown_keys.clone(),
                    component_id: if kind == MarkerKind::Component {
                        c.component_id.clone()
                    } else {
                        None
                    },
                });
            }
        }
        for bucket in d.kinds.values_mut() {
            bucket.unknown_keys_seen.sort();
            if let Some(seen) = bucket.seen_component_ids.as_mut() {
                seen.sort();
                seen.dedup();
            }
        }
        d
    }
}

impl Serialize for Diagnostics {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut map = s.serialize_map(Some(self.kinds.len()))?;
        for kind in MarkerKind::ALL {
            if let Some(bucket) = self.kinds.get(&kind) {
                map.serialize_entry(kind.key(), bucket)?;
            }
        }
        map.end()
    }
}

/// The accepted canonical lines and the diagnostics of a text.
#[derive(Debug, Clone, PartialEq)]
pub struct SignalPayload {
    /// Accepted canonical lines joined with `\n`.
    pub signal_text: String,
    /// Counts and samples per kind.
    pub diagnostics: Diagnostics,
}

/// Extracts the signal payload of a text (the caller applies [`tail`] first).
pub fn extract(text: &str) -> SignalPayload {
    let candidates = collect_candidates(text);
    let signal_text = candidates
        .iter()
        .filter(|c| c.accepted)
        .map(|c| c.normalized_line.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    SignalPayload {
        signal_text,
        diagnostics: Diagnostics::from_candidates(&candidates),
    }
}

// ---------------------------------------------------------------------------------------------
// Typed markers (the strict grammar applied to canonical lines).

/// `[wave-proof]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProofMarker {
    /// Completion level.
    pub completion: String,
    /// Durability level.
    pub durability: String,
    /// Proof level.
    pub proof: String,
    /// `met` or `gap`.
    pub state: String,
    /// Detail (empty when none).
    pub detail: String,
}

/// `[wave-doc-delta]` and `[wave-doc-closure]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DocMarker {
    /// State.
    pub state: String,
    /// Paths.
    pub paths: Vec<String>,
    /// Detail.
    pub detail: String,
}

/// `[wave-integration]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntegrationMarker {
    /// `ready-for-doc-closure` or `needs-more-work`.
    pub state: String,
    /// Open claims.
    pub claims: i64,
    /// Conflicts.
    pub conflicts: i64,
    /// Blockers.
    pub blockers: i64,
    /// Detail.
    pub detail: String,
}

/// `[wave-eval]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvalMarker {
    /// `satisfied`, `needs-more-work` or `blocked`.
    pub state: String,
    /// Target count.
    pub targets: i64,
    /// Benchmark count.
    pub benchmarks: i64,
    /// Regression count.
    pub regressions: i64,
    /// Target ids, lowercased.
    pub target_ids: Vec<String>,
    /// Benchmark ids, lowercased.
    pub benchmark_ids: Vec<String>,
    /// Detail.
    pub detail: String,
}

/// `[wave-security]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SecurityMarker {
    /// `clear`, `concerns` or `blocked`.
    pub state: String,
    /// Open findings.
    pub findings: i64,
    /// Required approvals.
    pub approvals: i64,
    /// Detail.
    pub detail: String,
}

/// `[wave-design]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DesignMarker {
    /// State.
    pub state: String,
    /// Decisions.
    pub decisions: i64,
    /// Assumptions.
    pub assumptions: i64,
    /// Open questions.
    pub open_questions: i64,
    /// Detail.
    pub detail: String,
}

/// `[wave-gate]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateMarker {
    /// Architecture.
    pub architecture: String,
    /// Integration.
    pub integration: String,
    /// Durability.
    pub durability: String,
    /// Live.
    pub live: String,
    /// Docs.
    pub docs: String,
    /// Detail.
    pub detail: String,
}

impl GateMarker {
    /// The value of a dimension by name.
    pub fn dimension(&self, name: &str) -> &str {
        match name {
            "architecture" => &self.architecture,
            "integration" => &self.integration,
            "durability" => &self.durability,
            "live" => &self.live,
            "docs" => &self.docs,
            _ => "",
        }
    }
}

/// `[wave-component]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentMarker {
    /// Component id.
    pub component_id: String,
    /// Level.
    pub level: String,
    /// `met` or `gap`.
    pub state: String,
    /// Detail.
    pub detail: String,
}

/// `[wave-gap]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapMarker {
    /// Gap kind.
    pub kind: String,
    /// Detail.
    pub detail: String,
}

fn int_values(pairs: &[(&'static str, i64)]) -> Vec<(&'static str, String)> {
    pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
}

impl ProofMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        render_canonical(
            "proof",
            &[
                ("completion", self.completion.clone()),
                ("durability", self.durability.clone()),
                ("proof", self.proof.clone()),
                ("state", self.state.clone()),
                ("detail", self.detail.clone()),
            ],
        )
    }
}

impl DocMarker {
    /// The canonical line under `tag` (`doc-delta` or `doc-closure`).
    pub fn render(&self, tag: &str) -> String {
        render_canonical(
            tag,
            &[
                ("state", self.state.clone()),
                ("paths", self.paths.join(",")),
                ("detail", self.detail.clone()),
            ],
        )
    }
}

impl IntegrationMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        let mut v = vec![("state", self.state.clone())];
        v.extend(int_values(&[
            ("claims", self.claims),
            ("conflicts", self.conflicts),
            ("blockers", self.blockers),
        ]));
        v.push(("detail", self.detail.clone()));
        render_canonical("integration", &v)
    }
}

impl EvalMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        let mut v = vec![("state", self.state.clone())];
        v.extend(int_values(&[
            ("targets", self.targets),
            ("benchmarks", self.benchmarks),
            ("regressions", self.regressions),
        ]));
        v.push(("target_ids", self.target_ids.join(",")));
        v.push(("benchmark_ids", self.benchmark_ids.join(",")));
        v.push(("detail", self.detail.clone()));
        render_canonical("eval", &v)
    }
}

impl SecurityMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        let mut v = vec![("state", self.state.clone())];
        v.extend(int_values(&[
            ("findings", self.findings),
            ("approvals", self.approvals),
        ]));
        v.push(("detail", self.detail.clone()));
        render_canonical("security", &v)
    }
}

impl DesignMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        let mut v = vec![("state", self.state.clone())];
        v.extend(int_values(&[
            ("decisions", self.decisions),
            ("assumptions", self.assumptions),
            ("open_questions", self.open_questions),
        ]));
        v.push(("detail", self.detail.clone()));
        render_canonical("design", &v)
    }
}

impl GateMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        render_canonical(
            "gate",
            &[
                ("architecture", self.architecture.clone()),
                ("integration", self.integration.clone()),
                ("durability", self.durability.clone()),
                ("live", self.live.clone()),
                ("docs", self.docs.clone()),
                ("detail", self.detail.clone()),
            ],
        )
    }
}

impl ComponentMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        render_canonical(
            "component",
            &[
                ("component", self.component_id.clone()),
                ("level", self.level.clone()),
                ("state", self.state.clone()),
                ("detail", self.detail.clone()),
            ],
        )
    }
}

impl GapMarker {
    /// The canonical line.
    pub fn render(&self) -> String {
        render_canonical(
            "gap",
            &[("kind", self.kind.clone()), ("detail", self.detail.clone())],
        )
    }
}

static PROOF_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-proof\][WS]*completion=(contract|integrated|authoritative|live)[WS]+durability=(none|ephemeral|durable)[WS]+proof=(unit|integration|live)[WS]+state=(met|complete|gap)[WS]*(?:detail=(.*))?$",
    )
});
static DOC_DELTA_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-doc-delta\][WS]*state=(none|owned|shared-plan)(?:[WS]+paths=(.*?))?(?:[WS]+detail=(.*))?$",
    )
});
static DOC_CLOSURE_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-doc-closure\][WS]*state=(closed|no-change|delta)(?:[WS]+paths=(.*?))?(?:[WS]+detail=(.*))?$",
    )
});
static INTEGRATION_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-integration\][WS]*state=(ready-for-doc-closure|needs-more-work)[WS]+claims=([0-9]+)[WS]+conflicts=([0-9]+)[WS]+blockers=([0-9]+)[WS]*(?:detail=(.*))?$",
    )
});
static EVAL_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-eval\][WS]*state=(satisfied|needs-more-work|blocked)[WS]+targets=([0-9]+)[WS]+benchmarks=([0-9]+)[WS]+regressions=([0-9]+)(?:[WS]+target_ids=([^WS]+))?(?:[WS]+benchmark_ids=([^WS]+))?[WS]*(?:detail=(.*))?$",
    )
});
static SECURITY_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-security\][WS]*state=(clear|concerns|blocked)[WS]+findings=([0-9]+)[WS]+approvals=([0-9]+)[WS]*(?:detail=(.*))?$",
    )
});
static DESIGN_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-design\][WS]*state=(ready-for-implementation|needs-clarification|blocked)[WS]+decisions=([0-9]+)[WS]+assumptions=([0-9]+)[WS]+open_questions=([0-9]+)[WS]*(?:detail=(.*))?$",
    )
});
static GATE_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-gate\][WS]*architecture=(pass|concerns|blocked|gap)[WS]+integration=(pass|concerns|blocked|gap)[WS]+durability=(pass|concerns|blocked|gap)[WS]+live=(pass|concerns|blocked|gap)[WS]+docs=(pass|concerns|blocked|gap)[WS]*(?:detail=(.*))?$",
    )
});
static GAP_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-gap\][WS]*kind=(architecture|integration|durability|ops|docs)[WS]*(?:detail=(.*))?$",
    )
});
static COMPONENT_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"^\[wave-component\][WS]*component=([a-zA-Z0-9._-]+)[WS]+level=([a-zA-Z0-9._-]+)[WS]+state=(met|complete|gap)[WS]*(?:detail=(.*))?$",
    )
});

/// The markers a signal text carries, after "which marker wins" (§2.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Signals {
    /// Last `[wave-proof]`.
    pub proof: Option<ProofMarker>,
    /// Last `[wave-doc-delta]`.
    pub doc_delta: Option<DocMarker>,
    /// Last `[wave-doc-closure]`.
    pub doc_closure: Option<DocMarker>,
    /// Last `[wave-integration]`.
    pub integration: Option<IntegrationMarker>,
    /// Last `[wave-eval]`.
    pub eval: Option<EvalMarker>,
    /// Last `[wave-security]`.
    pub security: Option<SecurityMarker>,
    /// Last `[wave-design]`.
    pub design: Option<DesignMarker>,
    /// Last `[wave-gate]`.
    pub gate: Option<GateMarker>,
    /// Last `[wave-component]` per component id, in order of first appearance.
    pub components: Vec<ComponentMarker>,
    /// Every `[wave-gap]`.
    pub gaps: Vec<GapMarker>,
}

fn cap<'h>(c: &regex::Captures<'h>, i: usize) -> &'h str {
    c.get(i).map_or("", |m| m.as_str())
}

fn cap_int(c: &regex::Captures<'_>, i: usize) -> i64 {
    js_parse_int(cap(c, i))
}

fn met_state(s: &str) -> String {
    if s == "complete" {
        "met".to_owned()
    } else {
        s.to_owned()
    }
}

fn id_list(s: &str) -> Vec<String> {
    parse_csv(s).into_iter().map(|v| v.to_lowercase()).collect()
}

impl Signals {
    /// Reads the accepted canonical lines of a signal text.
    pub fn from_signal_text(signal_text: &str) -> Self {
        let mut s = Signals::default();
        for line in signal_text.split(is_line_terminator) {
            s.read_line(line);
        }
        s
    }

    /// Extracts markers from raw log text (no tail applied).
    pub fn from_log(text: &str) -> Self {
        Self::from_signal_text(&extract(text).signal_text)
    }

    fn read_line(&mut self, line: &str) {
        let detail = |c: &regex::Captures<'_>, i| js_trim(cap(c, i)).to_owned();
        if let Some(c) = PROOF_RE.captures(line) {
            self.proof = Some(ProofMarker {
                completion: cap(&c, 1).to_owned(),
                durability: cap(&c, 2).to_owned(),
                proof: cap(&c, 3).to_owned(),
                state: met_state(cap(&c, 4)),
                detail: detail(&c, 5),
            });
        } else if let Some(c) = DOC_DELTA_RE.captures(line) {
            self.doc_delta = Some(DocMarker {
                state: cap(&c, 1).to_owned(),
                paths: parse_csv(cap(&c, 2)),
                detail: detail(&c, 3),
            });
        } else if let Some(c) = DOC_CLOSURE_RE.captures(line) {
            self.doc_closure = Some(DocMarker {
                state: cap(&c, 1).to_owned(),
                paths: parse_csv(cap(&c, 2)),
                detail: detail(&c, 3),
            });
        } else if let Some(c) = INTEGRATION_RE.captures(line) {
            self.integration = Some(IntegrationMarker {
                state: cap(&c, 1).to_owned(),
                claims: cap_int(&c, 2),
                conflicts: cap_int(&c, 3),
                blockers: cap_int(&c, 4),
                detail: detail(&c, 5),
            });
        } else if let Some(c) = EVAL_RE.captures(line) {
            self.eval = Some(EvalMarker {
                state: cap(&c, 1).to_owned(),
                targets: cap_int(&c, 2),
                benchmarks: cap_int(&c, 3),
                regressions: cap_int(&c, 4),
                target_ids: id_list(cap(&c, 5)),
                benchmark_ids: id_list(cap(&c, 6)),
                detail: detail(&c, 7),
            });
        } else if let Some(c) = SECURITY_RE.captures(line) {
            self.security = Some(SecurityMarker {
                state: cap(&c, 1).to_owned(),
                findings: cap_int(&c, 2),
                approvals: cap_int(&c, 3),
                detail: detail(&c, 4),
            });
        } else if let Some(c) = DESIGN_RE.captures(line) {
            self.design = Some(DesignMarker {
                state: cap(&c, 1).to_owned(),
                decisions: cap_int(&c, 2),
                assumptions: cap_int(&c, 3),
                open_questions: cap_int(&c, 4),
                detail: detail(&c, 5),
            });
        } else if let Some(c) = GATE_RE.captures(line) {
            self.gate = Some(GateMarker {
                architecture: cap(&c, 1).to_owned(),
                integration: cap(&c, 2).to_owned(),
                durability: cap(&c, 3).to_owned(),
                live: cap(&c, 4).to_owned(),
                docs: cap(&c, 5).to_owned(),
                detail: detail(&c, 6),
            });
        } else if let Some(c) = GAP_RE.captures(line) {
            self.gaps.push(GapMarker {
                kind: cap(&c, 1).to_owned(),
                detail: detail(&c, 2),
            });
        } else if let Some(c) = COMPONENT_RE.captures(line) {
            let marker = ComponentMarker {
                component_id: cap(&c, 1).to_owned(),
                level: cap(&c, 2).to_owned(),
                state: met_state(cap(&c, 3)),
                detail: detail(&c, 4),
            };
            match self
                .components
                .iter_mut()
                .find(|m| m.component_id == marker.component_id)
            {
                Some(slot) => *slot = marker,
                None => self.components.push(marker),
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Non-wave markers and verdicts, read from raw text.

/// A cont-QA verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verdict {
    /// `pass`, `concerns`, `blocked` or `hold` (`fail` reads as `blocked`).
    pub verdict: String,
    /// Detail (empty when none).
    pub detail: String,
}

/// Lowercases a verdict word; `fail` becomes `blocked`.
pub fn normalize_verdict(word: &str) -> String {
    let v = js_trim(word).to_lowercase();
    if v == "fail" { "blocked".to_owned() } else { v }
}

static REPORT_VERDICT_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?mR)^(?i-u:verdict):[WS]*((?i-u:pass|concerns|blocked|hold|fail))(?-u:\b)(?:[WS]*[-:]?[WS]*(.*))?$",
    )
});
static LOG_VERDICT_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?mR)^\[(?i-u:wave-verdict)\][WS]*((?i-u:pass|concerns|blocked|hold|fail))[WS]*(?:(?i-u:detail)=(.*))?$",
    )
});
static PHASE_RE: LazyLock<Regex> =
    LazyLock::new(|| compile(r"(?mR)^\[(?i-u:wave-phase)\][WS]*([a-zA-Z_][a-zA-Z0-9_-]*)[WS]*$"));
static DEPLOY_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?mR)^\[(?i-u:deploy-status)\][WS]*(?i-u:service)=([a-zA-Z0-9_.:-]+)[WS]+(?i-u:state)=((?i-u:deploying|healthy|failed|rolledover))[WS]*(?:(?i-u:detail)=(.*))?$",
    )
});
static INFRA_RE: LazyLock<Regex> = LazyLock::new(|| {
    compile(
        r"(?mR)^\[(?i-u:infra-status)\][WS]*(?i-u:kind)=([a-zA-Z0-9_.:-]+)[WS]+(?i-u:target)=([a-zA-Z0-9_.:@/-]+)[WS]+(?i-u:state)=([a-zA-Z0-9_.:-]+)[WS]*(?:(?i-u:detail)=(.*))?$",
    )
});

fn verdict_from(c: &regex::Captures<'_>) -> Verdict {
    let detail = js_trim(cap(c, 2));
    let detail = match detail.get(..7) {
        Some(p) if p.eq_ignore_ascii_case("detail=") => &detail[7..],
        _ => detail,
    };
    Verdict {
        verdict: normalize_verdict(cap(c, 1)),
        detail: js_trim(detail).to_owned(),
    }
}

/// The first `Verdict: PASS|CONCERNS|BLOCKED|HOLD|FAIL` line of a report (§2.3: append-only
/// reports put the newest section first). The caller passes the report's last 60,000 characters.
pub fn report_verdict(report_text: &str) -> Option<Verdict> {
    REPORT_VERDICT_RE
        .captures(report_text)
        .map(|c| verdict_from(&c))
}

/// The first `[wave-verdict]` line of a raw log (the fallback used when there is no summary).
pub fn log_verdict(log_text: &str) -> Option<Verdict> {
    LOG_VERDICT_RE.captures(log_text).map(|c| verdict_from(&c))
}

/// The last `[wave-phase] <phase>` of a log.
pub fn last_phase(log_text: &str) -> Option<String> {
    PHASE_RE
        .captures_iter(log_text)
        .last()
        .map(|c| cap(&c, 1).to_owned())
}

/// `[deploy-status] service=… state=… [detail=…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployStatus {
    /// Service.
    pub service: String,
    /// `deploying`, `healthy`, `failed` or `rolledover`, matched in any case and kept as
    /// written (§2.2): readers compare it with the exact word `healthy`, so `Healthy` is not
    /// healthy, as upstream.
    pub state: String,
    /// Detail.
    pub detail: String,
}

/// `[infra-status] kind=… target=… state=… [detail=…]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InfraStatus {
    /// Kind (`conformance`, `dependency`, …).
    pub kind: String,
    /// Target.
    pub target: String,
    /// State (lowercased).
    pub state: String,
    /// Detail.
    pub detail: String,
}

/// Every `[deploy-status]` line of a text, in order (callers pass the last 30,000 characters).
pub fn deploy_statuses(text: &str) -> Vec<DeployStatus> {
    DEPLOY_RE
        .captures_iter(text)
        .map(|c| DeployStatus {
            service: cap(&c, 1).to_owned(),
            state: cap(&c, 2).to_owned(),
            detail: js_trim(cap(&c, 3)).to_owned(),
        })
        .collect()
}

/// Every `[infra-status]` line of a text, in order.
pub fn infra_statuses(text: &str) -> Vec<InfraStatus> {
    INFRA_RE
        .captures_iter(text)
        .map(|c| InfraStatus {
            kind: cap(&c, 1).to_owned(),
            target: cap(&c, 2).to_owned(),
            state: cap(&c, 3).to_ascii_lowercase(),
            detail: js_trim(cap(&c, 4)).to_owned(),
        })
        .collect()
}

/// The last `[deploy-status]` per service, in order of first appearance.
pub fn latest_deploy_statuses(text: &str) -> Vec<DeployStatus> {
    let mut out: Vec<DeployStatus> = Vec::new();
    for d in deploy_statuses(text) {
        match out.iter_mut().find(|o| o.service == d.service) {
            Some(slot) => *slot = d,
            None => out.push(d),
        }
    }
    out
}

/// The last `[infra-status]`, if any.
pub fn latest_infra_status(text: &str) -> Option<InfraStatus> {
    infra_statuses(text).pop()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_counts_utf16_units_without_splitting() {
        assert_eq!(tail("abcdef", 3), "def");
        assert_eq!(tail("ab", 3), "ab");
        // '😀' is two UTF-16 units: keeping 3 units keeps only "bc" plus nothing split.
        assert_eq!(tail("a😀bc", 3), "bc");
        assert_eq!(tail("a😀bc", 4), "😀bc");
    }

    #[test]
    fn raw_values_split_on_key_starts() {
        let v = RawValues::parse("state=met detail=a b c x=y Z=1 k=v=w");
        assert_eq!(v.get("state"), Some("met"));
        assert_eq!(v.get("detail"), Some("a b c"));
        assert_eq!(v.get("x"), Some("y"));
        assert_eq!(v.get("z"), Some("1"));
        assert_eq!(v.get("k"), Some("v=w"));
        let dup = RawValues::parse("a=1 b=2 a=3");
        assert_eq!(
            dup.0,
            vec![("a".into(), "3".into()), ("b".into(), "2".into())]
        );
    }

    #[test]
    fn js_parse_int_matches_javascript() {
        assert_eq!(js_parse_int("12abc"), 12);
        assert_eq!(js_parse_int(" -3"), -3);
        assert_eq!(js_parse_int("x"), 0);
        assert_eq!(js_parse_int(""), 0);
        assert_eq!(js_parse_int("99999999999999999999999"), 0);
    }

    #[test]
    fn verdict_regexes() {
        // VP-01..VP-06
        assert_eq!(report_verdict(""), None);
        let v = report_verdict("# r\nVerdict: PASS\nVerdict: BLOCKED - old").expect("verdict");
        assert_eq!(v.verdict, "pass");
        let v = report_verdict("Verdict: HOLD - waiting on QA").expect("verdict");
        assert_eq!(
            (v.verdict.as_str(), v.detail.as_str()),
            ("hold", "waiting on QA")
        );
        let v = log_verdict("[wave-verdict] pass detail=All tests passed\n[wave-verdict] fail")
            .expect("verdict");
        assert_eq!(
            (v.verdict.as_str(), v.detail.as_str()),
            ("pass", "All tests passed")
        );
        assert_eq!(
            log_verdict("[wave-verdict] fail detail=tests-broken").map(|v| v.verdict),
            Some("blocked".into())
        );
        assert_eq!(normalize_verdict("Blocked"), "blocked");
        assert_eq!(report_verdict("Verdict: PASSED"), None);
    }

    #[test]
    fn non_wave_markers() {
        let log = "[wave-phase] coding\n[deploy-status] service=api state=failed detail=boom\n\
                   [deploy-status] state=healthy service=api\n[wave-phase] validating\n\
                   [infra-status] kind=dependency target=db state=setup-required detail=x\n";
        assert_eq!(last_phase(log).as_deref(), Some("validating"));
        let d = latest_deploy_statuses(log);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].state, "failed");
        let i = latest_infra_status(log).expect("infra");
        assert_eq!(
            (i.kind.as_str(), i.state.as_str()),
            ("dependency", "setup-required")
        );
    }
}
