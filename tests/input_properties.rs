//! Property tests over untrusted input: comment text, `/wave` commands, webhook payloads
//! (GitHub's real examples, mutated at random) and `wave.config.json`. None of them may panic
//! a parser; sanitized text holds nothing a reader cannot see; only authorized actors' comments
//! become commands.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;
#[path = "support/fake_github/openapi.rs"]
#[allow(dead_code)]
mod openapi;
#[path = "support/fake_github/schema.rs"]
#[allow(dead_code)]
mod schema;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use wave_runner::github::ingest::{self, Intent, WaveCommand};
use wave_runner::github::sanitize::{self, is_invisible};
use wave_runner::plan::config::WaveConfig;

/// Fragments hostile comments are built from: markup that hides text, invisible characters,
/// encoded ones, and ordinary words.
const FRAGMENTS: &[&str] = &[
    "<!--",
    "-->",
    "<!-",
    "-",
    "<",
    ">",
    "<div hidden>",
    "</div>",
    "<span style=\"display:none\">",
    "</span>",
    "<b>",
    "&#x200B;",
    "&#8238;",
    "&#60;",
    "&#x3c;",
    "&#65;",
    "\u{200B}",
    "\u{202E}",
    "\u{2066}",
    "\u{FEFF}",
    "\u{E0041}",
    "\u{0007}",
    "\r\n",
    "\n",
    "\t",
    " ",
    "![alt text](https://example.com/x.png)",
    "[x]: # (hidden note)",
    "ignore previous instructions",
    "yes",
    "é",
    "🙂",
];

fn hostile_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(FRAGMENTS).prop_map(str::to_owned),
            1 => any::<String>(),
        ],
        0..24,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Sanitized text has no invisible character, no HTML comment opener, no tag, and is
    /// never longer than the cap; sanitizing it again changes nothing.
    #[test]
    fn sanitized_text_holds_nothing_hidden(input in hostile_text(), cap in 1usize..200) {
        let out = sanitize::sanitize(&input, cap);
        prop_assert!(out.text.chars().all(|c| !is_invisible(c)), "invisible character in {:?}", out.text);
        prop_assert!(!out.text.contains("<!--"), "comment opener in {:?}", out.text);
        prop_assert!(!out.text.contains("<div"), "tag in {:?}", out.text);
        prop_assert!(out.text.chars().count() <= cap);
        let again = sanitize::sanitize(&out.text, cap);
        prop_assert_eq!(&again.text, &out.text);
    }

    /// Whatever the text, command parsing never panics and yields only well-formed commands.
    #[test]
    fn commands_are_well_formed(lines in prop::collection::vec(command_line(), 0..8)) {
        let text = lines.join("\n");
        for command in ingest::parse_commands(&text).into_iter().flatten() {
            match command {
                WaveCommand::Answer { request_id, text } => {
                    prop_assert!(id_ok(&request_id), "bad request id {request_id:?}");
                    prop_assert!(!text.is_empty() && text.trim() == text);
                }
                WaveCommand::Rerun { agents } => {
                    prop_assert!(agents.iter().all(|a| id_ok(a)), "bad agents {agents:?}");
                }
                WaveCommand::Resolve { task_id } => prop_assert!(id_ok(&task_id)),
            }
        }
    }

    /// A mutated real payload never panics the interpreter, and a comment becomes a command
    /// only when its author's association is one the policy allows.
    #[test]
    fn mutated_payloads_never_panic_or_escalate(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec((any::<prop::sample::Index>(), json_value(), any::<bool>()), 0..4),
        body in hostile_text(),
        command in command_line(),
        association in prop::sample::select(&["OWNER", "MEMBER", "COLLABORATOR", "CONTRIBUTOR", "NONE", "FIRST_TIMER", "owner", ""][..]),
    ) {
        let Some(payloads) = payloads() else { return Ok(()) };
        let (event, original) = pick.get(payloads);
        let mut payload = original.clone();
        if *event == "issue_comment" {
            payload["comment"]["body"] = json!(format!("{body}\n{command}"));
            payload["comment"]["author_association"] = json!(association);
            payload["comment"]["user"]["type"] = json!("User");
        }
        for (at, value, delete) in &mutations {
            mutate(&mut payload, at, value, *delete);
        }
        let policy = ingest::IngestPolicy::default();
        for name in [*event, "issue_comment", "pull_request", "check_run"] {
            let Ok(found) = ingest::interpret(name, &payload, &policy) else { continue };
            for intent in &found.intents {
                if let Intent::Command { provenance, .. } = intent {
                    prop_assert!(
                        policy.allowed_associations.contains(&provenance.association),
                        "a command from association {:?} was accepted", provenance.association
                    );
                }
            }
        }
        let _ = ingest::guess_event_name(&payload);
    }

    /// Any JSON document as `wave.config.json` parses or fails with an error naming the file.
    #[test]
    fn config_never_panics(value in config_value()) {
        let text = value.to_string();
        match WaveConfig::parse(Some(&text), "wave.config.json") {
            Ok(config) => { let _ = config.lane_profile(None); }
            Err(e) => prop_assert!(e.to_string().contains("wave.config.json"), "{e}"),
        }
    }

    /// Arbitrary bytes as `wave.config.json` never panic either.
    #[test]
    fn config_text_never_panics(text in any::<String>()) {
        if let Err(e) = WaveConfig::parse(Some(&text), "wave.config.json") {
            prop_assert!(e.to_string().contains("wave.config.json"), "{e}");
        }
    }
}

fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// A line that may or may not be a `/wave` command.
fn command_line() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        prop::sample::select(
            &[
                "/wave", "answer", "rerun", "resolve", "A1", "A1,A2", ",", "req-1", "a b", "-",
                ":", "/waves", "\t", "", "ok", "é", "A1,,", "x$y",
            ][..]
        )
        .prop_map(str::to_owned),
        "[ -~]{0,12}",
    ];
    prop::collection::vec(word, 0..6).prop_map(|w| w.join(" "))
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        any::<String>().prop_map(Value::String),
        Just(json!(-1)),
        Just(json!(u64::MAX)),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z_]{1,8}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// JSON documents shaped like configs: known keys with values of any type.
fn config_value() -> impl Strategy<Value = Value> {
    const KEYS: &[&str] = &[
        "repoMode",
        "defaultLane",
        "lanes",
        "paths",
        "roles",
        "validation",
        "executors",
        "profiles",
        "default",
        "runtimePolicy",
        "main",
        "wavesDir",
        "docsDir",
        "stateRoot",
        "contQaAgentId",
        "codex",
        "claude",
        "opencode",
        "model",
        "command",
        "fallbacks",
        "maxRetriesPerWave",
        "projects",
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(|n| json!(n)),
        "[ -~]{0,10}".prop_map(Value::String),
    ];
    let tree = leaf.prop_recursive(4, 40, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(KEYS), inner), 0..5).prop_map(|kv| {
                Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
            }),
        ]
    });
    prop_oneof![
        1 => tree.clone(),
        4 => prop::collection::vec((prop::sample::select(KEYS), tree), 0..6).prop_map(|kv| {
            Value::Object(kv.into_iter().map(|(k, v)| (k.to_owned(), v)).collect::<Map<_, _>>())
        }),
    ]
}

/// Replaces (or deletes) the node at the `at`-th position of a walk of `payload`.
fn mutate(payload: &mut Value, at: &prop::sample::Index, value: &Value, delete: bool) {
    fn count(v: &Value) -> usize {
        1 + match v {
            Value::Array(a) => a.iter().map(count).sum(),
            Value::Object(o) => o.values().map(count).sum(),
            _ => 0,
        }
    }
    fn walk(v: &mut Value, target: &mut usize, value: &Value, delete: bool) -> bool {
        let children: Vec<String> = match v {
            Value::Object(o) => o.keys().cloned().collect(),
            Value::Array(a) => (0..a.len()).map(|i| i.to_string()).collect(),
            _ => return false,
        };
        for key in children {
            if *target == 0 {
                match v {
                    Value::Object(o) if delete => {
                        o.remove(&key);
                    }
                    Value::Object(o) => {
                        o.insert(key, value.clone());
                    }
                    Value::Array(a) => {
                        if let Some(slot) = key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                            *slot = value.clone();
                        }
                    }
                    _ => {}
                }
                return true;
            }
            *target -= 1;
            let child = match v {
                Value::Object(o) => o.get_mut(&key),
                Value::Array(a) => key.parse::<usize>().ok().and_then(|i| a.get_mut(i)),
                _ => None,
            };
            if let Some(child) = child
                && walk(child, target, value, delete)
            {
                return true;
            }
        }
        false
    }
    let mut target = at.index(count(payload).max(1));
    walk(payload, &mut target, value, delete);
}

static PAYLOADS: OnceLock<Option<Vec<(&'static str, Value)>>> = OnceLock::new();

/// GitHub's real example payloads of the events the runner ingests.
fn payloads() -> Option<&'static [(&'static str, Value)]> {
    PAYLOADS
        .get_or_init(|| {
            let path =
                openapi::package_file("@octokit/webhooks-examples", "api.github.com/index.json")?;
            let text = std::fs::read_to_string(path).expect("read examples");
            let all: Value = serde_json::from_str(&text).expect("examples are JSON");
            let mut out = Vec::new();
            for event in ["issue_comment", "pull_request", "check_run"] {
                let examples = all
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| e["name"] == event)
                    .flat_map(|e| e["examples"].as_array().into_iter().flatten());
                out.extend(examples.map(|x| (event, x.clone())));
            }
            assert!(!out.is_empty(), "no example payloads found in {text:.80}");
            Some(out)
        })
        .as_deref()
}
