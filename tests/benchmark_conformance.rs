//! `wave benchmark run --json` against recorded reference results.
//!
//! Excluded from comparison, because they depend on the machine or the moment:
//! - `generatedAt`: the clock reading of the run;
//! - `outputDir`: where the reference run wrote its files (a temp dir of its own);
//! - `adapters`: the external adapter registry, which the reference run copies into the
//!   repository it runs in and the fixture repositories do not contain;
//! - `createdAt` of helper assignments: the fixtures' records carry no `createdAt`, so it is
//!   the clock reading at load time (and `updatedAt` too for the corpus, whose records carry
//!   no timestamps at all).
//!
//! Everything else is compared: every case object (metrics, details, the full text of every
//! shared summary and inbox, every assignment), `familySummary` and `comparisons`.

mod common;

use std::path::Path;
use std::process::Output;

use serde_json::Value;

fn run_wave(repo: &Path, args: &[&str]) -> Output {
    std::process::Command::new(common::wave_bin())
        .args(args)
        .current_dir(repo)
        .env_remove("WAVE_REPO_ROOT")
        .output()
        .expect("wave runs")
}

fn run_json(repo: &Path, args: &[&str]) -> Value {
    let out = run_wave(repo, args);
    assert!(
        out.status.success(),
        "wave {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

fn read_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).expect("readable");
    serde_json::from_str(&text).expect("valid JSON")
}

fn strip_volatile(output: Value) -> Value {
    strip(output, &["createdAt"])
}

fn strip(mut output: Value, assignment_fields: &[&str]) -> Value {
    if let Some(obj) = output.as_object_mut() {
        for key in ["generatedAt", "outputDir", "adapters"] {
            obj.remove(key);
        }
    }
    if let Some(cases) = output.get_mut("cases").and_then(Value::as_array_mut) {
        for case in cases {
            let Some(arms) = case.get_mut("arms").and_then(Value::as_object_mut) else {
                continue;
            };
            for arm in arms.values_mut() {
                let Some(list) = arm
                    .pointer_mut("/artifacts/assignments")
                    .and_then(Value::as_array_mut)
                else {
                    continue;
                };
                for assignment in list {
                    if let Some(a) = assignment.as_object_mut() {
                        for field in assignment_fields {
                            a.remove(*field);
                        }
                    }
                }
            }
        }
    }
    output
}

/// First differing path between two JSON values, for readable failures.
fn first_difference(ours: &Value, theirs: &Value, path: &str) -> Option<String> {
    match (ours, theirs) {
        (Value::Object(a), Value::Object(b)) => {
            let ka: Vec<&String> = a.keys().collect();
            let kb: Vec<&String> = b.keys().collect();
            if ka != kb {
                return Some(format!("{path}: keys {ka:?} != {kb:?}"));
            }
            a.iter()
                .find_map(|(k, v)| first_difference(v, &b[k], &format!("{path}/{k}")))
        }
        (Value::Array(a), Value::Array(b)) => {
            if a.len() != b.len() {
                return Some(format!("{path}: length {} != {}", a.len(), b.len()));
            }
            a.iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (x, y))| first_difference(x, y, &format!("{path}/{i}")))
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("{path}:\n  ours:   {a}\n  theirs: {b}")),
    }
}

fn assert_same(ours: &Value, theirs: &Value) {
    if let Some(diff) = first_difference(ours, theirs, "") {
        panic!("benchmark output differs from the reference at {diff}");
    }
}

fn temp_copy(src: &Path) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_tree(src, dir.path()).expect("copy");
    dir
}

#[test]
fn corpus_cases_match_the_reference_results() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let repo = temp_copy(&shared.join("corpus/upstream-repo"));
    let ours = run_json(repo.path(), &["benchmark", "run", "--json"]);
    let expected = read_json(&shared.join("corpus/expected/benchmark.json"));

    let expected_cases = expected["cases"].as_object().expect("cases object");
    let our_cases = ours["cases"].as_array().expect("cases array");
    let our_ids: Vec<&str> = our_cases.iter().filter_map(|c| c["id"].as_str()).collect();
    let expected_ids: Vec<&str> = expected_cases.keys().map(String::as_str).collect();
    assert_eq!(our_ids, expected_ids, "same cases in the same order");
    for case in our_cases {
        let id = case["id"].as_str().expect("id");
        let reference = &expected_cases[id];
        assert_eq!(case["primaryMetric"], reference["primaryMetric"], "{id}");
        let arms = case["arms"].as_object().expect("arms");
        let reference_arms = reference["arms"].as_object().expect("arms");
        assert_eq!(
            arms.keys().collect::<Vec<_>>(),
            reference_arms.keys().collect::<Vec<_>>(),
            "{id}: arms"
        );
        for (arm, reference_arm) in reference_arms {
            // The reference records these fields of each arm; compare every one of them.
            for (field, value) in reference_arm.as_object().expect("arm object") {
                if let Some(diff) = first_difference(&arms[arm][field], value, "") {
                    panic!("{id}/{arm}/{field} differs: {diff}");
                }
            }
        }
    }
    assert_same(&ours["familySummary"], &expected["familySummary"]);
    assert_same(&ours["comparisons"], &expected["comparisons"]);

    // Files land in the default output directory; results.json is written before outputDir
    // is known, so it has none.
    assert_eq!(ours["outputDir"], ".tmp/wave-benchmarks/latest");
    let written = read_json(&repo.path().join(".tmp/wave-benchmarks/latest/results.json"));
    assert!(written.get("outputDir").is_none());
    assert_same(&strip_volatile(written), &strip_volatile(ours.clone()));
    let md = std::fs::read_to_string(repo.path().join(".tmp/wave-benchmarks/latest/results.md"))
        .expect("results.md");
    assert!(md.starts_with("# Wave Benchmark Results\n"));
    assert!(md.contains(
        "- overall: full-wave vs single-agent aligned_delta=92.86 ci=[78.57, 100] confident=yes"
    ));
}

#[test]
fn corpus_artifacts_match_the_reference_text() {
    let Some(shared) = common::shared_dir() else {
        return;
    };
    let repo = temp_copy(&shared.join("corpus/upstream-repo"));
    let ours = run_json(repo.path(), &["benchmark", "run", "--json"]);
    // Corpus records carry no timestamps at all, so both are clock readings here.
    let reference = read_json(&fixture_repo().join("oracle-corpus.json"));
    assert_same(
        &strip(ours, &["createdAt", "updatedAt"]),
        &strip(reference, &["createdAt", "updatedAt"]),
    );
}

fn fixture_repo() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/benchmark")
}

#[test]
fn stress_cases_match_the_reference_with_default_arms() {
    let fixtures = fixture_repo();
    let repo = temp_copy(&fixtures.join("repo"));
    let ours = run_json(repo.path(), &["benchmark", "run", "--json"]);
    let reference = read_json(&fixtures.join("oracle-default.json"));
    assert_same(&strip_volatile(ours), &strip_volatile(reference));
}

#[test]
fn stress_cases_match_the_reference_with_every_arm() {
    let fixtures = fixture_repo();
    let repo = temp_copy(&fixtures.join("repo"));
    let out_dir = repo.path().join("out/bench");
    let out_arg = out_dir.to_string_lossy().into_owned();
    let ours = run_json(
        repo.path(),
        &[
            "benchmark",
            "run",
            "--json",
            "--output-dir",
            &out_arg,
            "--arm",
            "full-wave-plus-improvement",
            "--arm",
            "single-agent",
            "--arm",
            "multi-agent-minimal",
            "--arm",
            "full-wave",
        ],
    );
    assert_eq!(ours["outputDir"], "out/bench");
    assert!(out_dir.join("results.md").is_file());
    let reference = read_json(&fixtures.join("oracle-all-arms.json"));
    assert_same(&strip_volatile(ours), &strip_volatile(reference));
}

#[test]
fn filters_select_cases_and_arms() {
    let repo = temp_copy(&fixture_repo().join("repo"));
    let ours = run_json(
        repo.path(),
        &[
            "benchmark",
            "run",
            "--json",
            "--family",
            "Simultaneous-Coordination",
            "--arm",
            "full-wave",
            "--arm",
            "single-agent",
        ],
    );
    let ids: Vec<&str> = ours["cases"]
        .as_array()
        .expect("cases")
        .iter()
        .filter_map(|c| c["id"].as_str())
        .collect();
    assert_eq!(ids, ["stress-deadlock-a", "stress-deadlock-b"]);
    let arms: Vec<&String> = ours["cases"][0]["arms"]
        .as_object()
        .expect("arms")
        .keys()
        .collect();
    assert_eq!(arms, ["full-wave", "single-agent"]);
    let one = run_json(
        repo.path(),
        &[
            "benchmark",
            "run",
            "--json",
            "--case",
            "stress-truncation",
            "--benchmark",
            "log-to-summary-consistency",
        ],
    );
    assert_eq!(one["cases"].as_array().map(Vec::len), Some(1));
    // A single case per family: the interval collapses to the single delta.
    let family = &one["comparisons"][2];
    assert_eq!(family["scope"], "family");
    assert_eq!(family["confidenceInterval"]["low"], family["meanDelta"]);
}

#[test]
fn list_and_show_print_the_cases() {
    let repo = temp_copy(&fixture_repo().join("repo"));
    let list = run_json(repo.path(), &["benchmark", "list", "--json"]);
    assert_eq!(list.as_array().map(Vec::len), Some(5));
    assert_eq!(list[0]["id"], "stress-capability-routing");
    let text = run_wave(repo.path(), &["benchmark", "list"]);
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains(
        "stress-truncation blackboard-fidelity/log-to-summary-consistency Projection budgets"
    ));
    let show = run_json(
        repo.path(),
        &["benchmark", "show", "--case", "STRESS-DEADLOCK-B", "--json"],
    );
    assert_eq!(show["fixture"]["primaryAgentId"], "a3");
    assert_eq!(show["supportedArms"][0], "full-wave-plus-improvement");
    let missing = run_wave(repo.path(), &["benchmark", "show", "--case", "nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("unknown benchmark case: nope"));
}

fn expect_case_error(file: &str, text: &str, needle: &str) {
    let repo = temp_copy(&fixture_repo().join("repo"));
    std::fs::write(repo.path().join("docs/evals/cases").join(file), text).expect("write case");
    let out = run_wave(repo.path(), &["benchmark", "run", "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(&format!("docs/evals/cases/{file}")),
        "{stderr}"
    );
    assert!(stderr.contains(needle), "{stderr}");
}

#[test]
fn invalid_case_files_are_named_in_the_error() {
    expect_case_error("zz-broken.json", "{ not json", "not valid JSON");
    let base = r#"{"id":"zz-x","familyId":"latency","benchmarkId":"http-latency-smoke",
        "scoring":{"kind":"k","primaryMetric":"m"},
        "fixture":{"agents":[{"agentId":"a1"}],"records":[{"id":"r","kind":"claim","agentId":"a1"}]}}"#;
    expect_case_error(
        "zz-family.json",
        &base.replace("\"latency\"", "\"nope\""),
        "unknown benchmark family \"nope\"",
    );
    expect_case_error(
        "zz-registered.json",
        &base
            .replace("http-latency-smoke", "expert-routing-preservation")
            .replace("\"latency\"", "\"expertise-leverage\""),
        "is not registered in docs/evals/benchmark-catalog.json",
    );
    expect_case_error(
        "zz-arm.json",
        &base.replace("\"scoring\"", "\"supportedArms\":[\"solo\"],\"scoring\""),
        "unsupported benchmark arm \"solo\"",
    );
    expect_case_error(
        "zz-record.json",
        &base.replace(
            "\"kind\":\"claim\"",
            "\"kind\":\"claim\",\"status\":\"done\"",
        ),
        "fixture.records[0]: coordination record r: status must be one of",
    );
    expect_case_error(
        "zz-primary.json",
        &base.replace("\"agents\"", "\"primaryAgentId\":\"a9\",\"agents\""),
        "fixture.primaryAgentId must match one of fixture.agents",
    );
    expect_case_error(
        "zz-fact.json",
        &base.replace(
            "\"fixture\"",
            "\"expectations\":{\"globalFacts\":[\"ok\",\" \"]},\"fixture\"",
        ),
        "expectations.globalFacts[1] must be a non-empty string",
    );
    expect_case_error(
        "zz-dup.json",
        &base.replace("zz-x", "stress-truncation"),
        "duplicate benchmark case id \"stress-truncation\"",
    );
}
