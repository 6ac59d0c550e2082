//! `wave plan show --json` matches the reference parser value for value: on the upstream
//! corpus (against `corpus/expected/plans.json`) and on the edge-case fixtures under
//! `tests/fixtures/plans/repo` (against outputs recorded from the reference implementation).
//! Rejected plans must exit non-zero with nothing on stdout.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/plans")
}

/// Every key of `expected` must be in `actual` with an equal value (recursively); arrays must
/// have the same length and match element by element.
fn subset(expected: &Value, actual: &Value, path: &str, diffs: &mut Vec<String>) {
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (k, v) in e {
                match a.get(k) {
                    Some(av) => subset(v, av, &format!("{path}.{k}"), diffs),
                    None => diffs.push(format!("{path}.{k}: missing")),
                }
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (i, (ev, av)) in e.iter().zip(a).enumerate() {
                subset(ev, av, &format!("{path}[{i}]"), diffs);
            }
        }
        (e, a) if e == a => {}
        (e, a) => diffs.push(format!("{path}: expected {e}, got {a}")),
    }
}

fn show_json(root: &Path, rel: &str) -> std::process::Output {
    Command::new(common::wave_bin())
        .args(["plan", "show", "--json", rel])
        .current_dir(root)
        .env_remove("WAVE_REPO_ROOT")
        .output()
        .expect("wave runs")
}

/// Compares every entry of a recorded expectation file; returns one line per mismatch.
fn check_all(root: &Path, expected: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let Some(entries) = expected.as_object() else {
        return vec!["expectation file is not an object".to_owned()];
    };
    assert!(!entries.is_empty(), "no expectations recorded");
    for (file, want) in entries {
        let out = show_json(root, file);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        if let Some(reason) = want.get("error") {
            if out.status.success() {
                problems.push(format!(
                    "{file}: accepted, but upstream rejects it: {reason}"
                ));
            } else if !stdout.is_empty() {
                problems.push(format!("{file}: rejected but printed to stdout"));
            } else if !stderr.contains(&format!("{file}:")) {
                problems.push(format!(
                    "{file}: error does not name file:line:column: {stderr}"
                ));
            }
            continue;
        }
        if !out.status.success() {
            problems.push(format!(
                "{file}: rejected, but upstream accepts it: {stderr}"
            ));
            continue;
        }
        let actual: Value = match serde_json::from_str(&stdout) {
            Ok(v) => v,
            Err(e) => {
                problems.push(format!("{file}: stdout is not JSON: {e}"));
                continue;
            }
        };
        let mut diffs = Vec::new();
        subset(want, &actual, "", &mut diffs);
        problems.extend(diffs.into_iter().map(|d| format!("{file}: {d}")));
    }
    problems
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("expectation file exists");
    serde_json::from_str(&text).expect("expectation file is JSON")
}

#[test]
fn corpus_plans_match_upstream_expected_output() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let repo = shared.join("corpus/upstream-repo");
    let expected = read_json(&shared.join("corpus/expected/plans.json"));
    let problems = check_all(&repo, &expected);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn corpus_plans_match_recorded_extra_fields() {
    let Some(repo) = common::corpus_repo() else {
        return;
    };
    let expected = read_json(&fixtures().join("corpus-full.json"));
    let problems = check_all(&repo, &expected);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn edge_case_fixtures_match_the_reference_parser() {
    let repo = fixtures().join("repo");
    for name in ["expected.json", "expected-full.json"] {
        let expected = read_json(&repo.join(name));
        let problems = check_all(&repo, &expected);
        assert!(problems.is_empty(), "{name}:\n{}", problems.join("\n"));
    }
}

#[test]
fn every_edge_case_fixture_has_a_recorded_expectation() {
    let repo = fixtures().join("repo");
    let expected = read_json(&repo.join("expected.json"));
    let full = read_json(&repo.join("expected-full.json"));
    for entry in std::fs::read_dir(repo.join("edge")).expect("edge dir") {
        let name = entry
            .expect("entry")
            .file_name()
            .into_string()
            .expect("utf-8 name");
        let key = format!("edge/{name}");
        assert!(
            expected.get(&key).is_some(),
            "{key} has no entry in expected.json"
        );
        assert!(
            full.get(&key).is_some(),
            "{key} has no entry in expected-full.json"
        );
    }
}

#[test]
fn a_rejected_plan_names_file_line_column_and_a_fix() {
    let repo = fixtures().join("repo");
    let out = show_json(&repo, "edge/wave-6.md");
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("edge/wave-6.md:7:1:"),
        "position missing: {stderr}"
    );
    assert!(stderr.contains("must stay within the agent's declared file ownership"));
    assert!(stderr.contains("hint:"), "no fix suggested: {stderr}");
}
