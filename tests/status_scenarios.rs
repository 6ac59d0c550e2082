//! `wave control status --json` against upstream's recorded output for every scenario in
//! `tests/fixtures/scenarios/` (inputs: `_base/` + `<name>/input/`; expected: the upstream
//! runtime's `control status --json` on the same files, see `record-oracle.sh`), and each
//! agent's view (`--agent A0|A1|A2`, `expected-status-agent-<id>.json`).
//!
//! Compared exactly: every §10.8 field except `phase` (upstream reads it from a ledger
//! projection, default `planned`; here it is derived from canonical state) and the proof
//! registry's `supersededBy` (filled here on the replaced bundle, always null upstream).
//!
//! The `signals` block (§10.7, §10.8) of the wave's view and of each agent's is compared with
//! `expected-signals.json`, recorded with a ledger holding the phase the runner derives (so both
//! build signals from the same payload): every field, `changedAt` included when a snapshot kept
//! its recorded time; a `changedAt` the recording run set (`"<now>"`) must be a timestamp here
//! that no fixture holds.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn scenarios_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios")
}

fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(scenarios_dir())
        .expect("scenarios dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("expected-status.json").is_file())
        .filter_map(|e| e.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}

fn materialize(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(&scenarios_dir().join("_base"), dir.path()).expect("copy base");
    common::copy_tree(&scenarios_dir().join(name).join("input"), dir.path()).expect("copy input");
    dir
}

fn status_json(repo: &Path) -> Value {
    status_json_for(repo, None)
}

fn status_json_for(repo: &Path, agent: Option<&str>) -> Value {
    let out = Command::new(common::wave_bin())
        .args(["--repo-root"])
        .arg(repo)
        .args([
            "control", "status", "--lane", "main", "--wave", "0", "--json",
        ])
        .args(agent.map(|a| ["--agent", a]).into_iter().flatten())
        .output()
        .expect("run wave");
    assert!(
        out.status.success(),
        "wave control status failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stderr.is_empty(),
        "unexpected diagnostics: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON output")
}

fn without_superseded_by(bundles: &Value) -> Value {
    let mut b = bundles.clone();
    if let Some(items) = b.as_array_mut() {
        for item in items {
            if let Some(o) = item.as_object_mut() {
                o.remove("supersededBy");
            }
        }
    }
    b
}

const EXACT_FIELDS: [&str; 19] = [
    "lane",
    "wave",
    "agentId",
    "executionState",
    "closureState",
    "controllerState",
    "blockingEdge",
    "logicalAgents",
    "tasks",
    "helperAssignments",
    "dependencies",
    "feedbackRequests",
    "selectionSource",
    "rerunRequest",
    "relaunchPlan",
    "forwardedClosureGaps",
    "supervisor",
    "nextTimer",
    "activeAttempt",
];

/// Compares one view with upstream's recording, adding each difference to `failures`.
fn compare(label: &str, mine: &Value, expected_file: &Path, failures: &mut Vec<String>) {
    let expected_text = std::fs::read_to_string(expected_file).expect("expected file");
    let expected: Value = serde_json::from_str(&expected_text).expect("expected JSON");
    for field in EXACT_FIELDS {
        if mine.get(field) != expected.get(field) {
            failures.push(format!(
                "{label}: `{field}` differs\n  mine:     {}\n  upstream: {}",
                mine.get(field)
                    .map_or("<missing>".into(), |v| v.to_string()),
                expected
                    .get(field)
                    .map_or("<missing>".into(), |v| v.to_string()),
            ));
        }
    }
    if without_superseded_by(&mine["proofBundles"])
        != without_superseded_by(&expected["proofBundles"])
    {
        failures.push(format!("{label}: `proofBundles` differ"));
    }
}

#[test]
fn every_scenario_matches_the_recorded_upstream_status() {
    let names = scenario_names();
    assert!(
        names.len() >= 6,
        "expected at least six scenarios, found {names:?}"
    );
    let mut failures = Vec::new();
    for name in &names {
        let repo = materialize(name);
        let mine = status_json(repo.path());
        let expected = scenarios_dir().join(name).join("expected-status.json");
        compare(name, &mine, &expected, &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_agent_view_matches_the_recorded_upstream_status() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in scenario_names() {
        let repo = materialize(&name);
        for agent in ["A0", "A1", "A2"] {
            let expected = scenarios_dir()
                .join(&name)
                .join(format!("expected-status-agent-{agent}.json"));
            if !expected.is_file() {
                continue;
            }
            let mine = status_json_for(repo.path(), Some(agent));
            assert_eq!(mine["agentId"], agent, "{name}: the view names its agent");
            compare(
                &format!("{name} --agent {agent}"),
                &mine,
                &expected,
                &mut failures,
            );
            compared += 1;
        }
    }
    assert!(compared >= 30, "expected agent views for every scenario");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `changedAt` set at run time (not one of the fixtures' 2026-01-01 times) becomes `"<now>"`,
/// after checking it is a wire timestamp.
fn scrub_changed_at(snapshot: &mut Value, label: &str) {
    let Some(at) = snapshot.get("changedAt").and_then(Value::as_str) else {
        panic!("{label}: no changedAt in {snapshot}");
    };
    if at.starts_with("2026-01-01") {
        return;
    }
    assert!(
        at.parse::<jiff::Timestamp>().is_ok() && at.ends_with('Z') && at.len() == 24,
        "{label}: changedAt `{at}` is not a wire timestamp"
    );
    snapshot["changedAt"] = Value::from("<now>");
}

#[test]
fn every_signals_block_matches_the_recorded_upstream_signals() {
    let mut failures = Vec::new();
    let mut compared = 0;
    for name in scenario_names() {
        let file = scenarios_dir().join(&name).join("expected-signals.json");
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(&file).expect("expected-signals.json"))
                .expect("JSON");
        for view in ["wave", "A0", "A1", "A2"] {
            let repo = materialize(&name);
            let agent = (view != "wave").then_some(view);
            let mut mine = status_json_for(repo.path(), agent)["signals"].take();
            let label = format!("{name} ({view} view)");
            scrub_changed_at(&mut mine["wave"], &label);
            if let Some(agents) = mine["agents"].as_array_mut() {
                for a in agents {
                    scrub_changed_at(a, &label);
                }
            }
            let want = &expected[view];
            if mine["wave"] != want["wave"] {
                failures.push(format!(
                    "{label}: wave signal differs\n  mine:     {}\n  upstream: {}",
                    mine["wave"], want["wave"]
                ));
            }
            if mine["agents"] != want["agents"] {
                failures.push(format!(
                    "{label}: agent signals differ\n  mine:     {}\n  upstream: {}",
                    mine["agents"], want["agents"]
                ));
            }
            compared += 1;
        }
        // The status records nothing and writes no signal file.
        let repo = materialize(&name);
        status_json(repo.path());
        assert!(
            !repo.path().join(".wave").exists()
                && (name == "signals-recorded"
                    || !repo.path().join(".tmp/main-wave-launcher/signals").exists()),
            "{name}: control status wrote state"
        );
    }
    assert!(compared >= 60, "expected four views of every scenario");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn recorded_signal_versions_and_acknowledgements_carry_over() {
    let repo = materialize("signals-recorded");
    let v = status_json(repo.path());
    let wave = &v["signals"]["wave"];
    // Unchanged: the recorded version and time stay.
    assert_eq!(wave["version"], 3);
    assert_eq!(wave["changedAt"], "2026-01-01T00:10:00.000Z");
    let agents = v["signals"]["agents"].as_array().expect("agents");
    let by = |id: &str| {
        agents
            .iter()
            .find(|a| a["agentId"] == id)
            .unwrap_or_else(|| panic!("{id}"))
    };
    assert_eq!(by("A0")["version"], 5);
    // A1's reason changed: one version more, acknowledged by its ack file, so no wake.
    assert_eq!(by("A1")["version"], 3);
    assert_eq!(by("A1")["ack"]["version"], 3);
    assert_eq!(by("A1")["shouldWake"], false);
    assert_eq!(by("A2")["version"], 1);
    // Without the acknowledgement A1 must wake for its actionable signal.
    std::fs::remove_file(
        repo.path()
            .join(".tmp/main-wave-launcher/signals/wave-0/acks/A1.json"),
    )
    .expect("remove ack");
    let v = status_json(repo.path());
    let a1 = v["signals"]["agents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["agentId"] == "A1"))
        .expect("A1")
        .clone();
    assert_eq!(a1["signal"], "coordination-action");
    assert_eq!(a1["ack"], Value::Null);
    assert_eq!(a1["shouldWake"], true);
}

#[test]
fn the_text_status_carries_the_wave_signal_line() {
    let repo = materialize("signals-recorded");
    let out = Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(repo.path())
        .args(["control", "status", "--wave", "0"])
        .output()
        .expect("run wave");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.lines().any(|l| l
            == "signal=coordination-action lane=main wave=0 phase=blocked status=blocked \
                blocking=blocker attempt=0 agents=A1 version=3 should_wake=n/a"),
        "{text}"
    );
    let out = Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(repo.path())
        .args(["control", "status", "--wave", "0", "--agent", "A1"])
        .output()
        .expect("run wave");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(" agent=A1 version=3 "), "{text}");
}

#[test]
fn an_agent_view_of_an_unknown_agent_is_a_usage_error() {
    let repo = materialize("blocker-open");
    let out = Command::new(common::wave_bin())
        .args(["--repo-root"])
        .arg(repo.path())
        .args(["control", "status", "--wave", "0", "--agent", "Z9"])
        .output()
        .expect("run wave");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("Z9") && stderr.contains("A0, A1, A2"),
        "{stderr}"
    );
}

#[test]
fn closure_eligibility_is_true_only_when_everything_is_proven_and_resolved() {
    for name in scenario_names() {
        let repo = materialize(&name);
        let mine = status_json(repo.path());
        let may_close = mine["closureEligibility"]["waveMayClose"].as_bool();
        let expected = name == "resolved-all";
        assert_eq!(may_close, Some(expected), "{name}");
        if expected {
            assert_eq!(mine["phase"], "completed");
            assert_eq!(mine["closureState"], "passed");
            assert_eq!(mine["blockingEdge"], Value::Null);
        }
    }
}

#[test]
fn the_superseded_bundle_names_its_replacement() {
    let repo = materialize("proof-bundles");
    let mine = status_json(repo.path());
    let old = mine["proofBundles"]
        .as_array()
        .and_then(|b| b.iter().find(|x| x["id"] == "proof-A1-20260101002200"))
        .expect("old bundle");
    assert_eq!(old["state"], "superseded");
    assert_eq!(old["supersededBy"], "proof-A1-20260101002400");
    let a1 = mine["logicalAgents"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["agentId"] == "A1"))
        .expect("A1");
    assert_eq!(
        a1["activeProofBundleIds"],
        serde_json::json!(["proof-A1-20260101002400"])
    );
}

#[test]
fn a_malformed_line_is_reported_with_file_and_line_and_skipped() {
    let repo = materialize("clarification-open");
    let log = repo
        .path()
        .join(".tmp/main-wave-launcher/coordination/wave-0.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("log");
    text.push_str("{not json\n");
    std::fs::write(&log, text).expect("write");
    let out = Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(repo.path())
        .args(["control", "status", "--json"])
        .output()
        .expect("run wave");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("coordination/wave-0.jsonl:3:"), "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(v["blockingEdge"]["kind"], "clarification");
}

#[test]
fn an_invalid_latest_line_leaves_the_previous_version_of_its_record_in_force() {
    invalid_latest_lines_after(0);
}

/// The same over a log large enough to be read in parts on several threads, the bad lines in
/// the last part: their line numbers are still those of the file.
#[test]
fn in_a_large_log_bad_lines_are_reported_at_their_line_in_the_file() {
    invalid_latest_lines_after(12_000);
}

/// Appends `padding` valid records of other ids, then the bad versions, and checks the status
/// and the lines reported.
fn invalid_latest_lines_after(padding: usize) {
    let repo = materialize("clarification-open");
    let log = repo
        .path()
        .join(".tmp/main-wave-launcher/coordination/wave-0.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("log");
    let lines_before = text.lines().count();
    let first = text.lines().next().expect("first line").to_owned();
    for n in 0..padding {
        let filler = first
            .replace("clar-a1-format", &format!("pad-{n}"))
            .replace("\"status\":\"open\"", "\"status\":\"resolved\"");
        text.push_str(&filler);
        text.push_str(&" ".repeat(n % 7));
        text.push('\n');
    }
    assert!(padding == 0 || text.len() > 5 << 20, "{}", text.len());
    // A later version of the open clarification that is not a valid record: its keys read
    // fine, its status does not. Then a torn fragment of another update, cut mid-string
    // after its keys.
    text.push_str(
        &first
            .replace(
                "2026-01-01T00:01:00.000Z\",\"confidence",
                "2026-01-01T00:09:00.000Z\",\"confidence",
            )
            .replace("\"status\":\"open\"", "\"status\":\"no-such-status\""),
    );
    text.push('\n');
    let torn = first.replace(
        "\"updatedAt\":\"2026-01-01T00:01:00.000Z\"",
        "\"updatedAt\":\"2026-01-01T00:10:00.000Z\"",
    );
    let cut = torn.find("Which error").expect("summary");
    text.push_str(&torn[..cut + 5]);
    text.push('\n');
    // And a later version whose keys are plain but whose summary is not UTF-8: the reader
    // skips the line itself, and the record must not vanish with it.
    let resolved = first
        .replace(
            "\"updatedAt\":\"2026-01-01T00:01:00.000Z\"",
            "\"updatedAt\":\"2026-01-01T00:11:00.000Z\"",
        )
        .replace("\"status\":\"open\"", "\"status\":\"resolved\"")
        .replace("Which error", "Which \u{1}rror");
    let mut bytes = text.into_bytes();
    bytes.extend(resolved.bytes().map(|b| if b == 1 { 0xff } else { b }));
    bytes.push(b'\n');
    std::fs::write(&log, bytes).expect("write");
    let out = Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(repo.path())
        .args(["control", "status", "--json"])
        .output()
        .expect("run wave");
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let reported: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("coordination/wave-0.jsonl:"))
        .collect();
    let bad = lines_before + padding;
    for (i, line) in reported.iter().enumerate() {
        assert!(
            line.contains(&format!("coordination/wave-0.jsonl:{}:", bad + 1 + i)),
            "{stderr}"
        );
    }
    assert_eq!(reported.len(), 3, "{stderr}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    // The clarification is still open and still blocks: bad lines never close it.
    assert_eq!(v["blockingEdge"]["kind"], "clarification", "{v:#}");
    assert_eq!(v["blockingEdge"]["id"], "clar-a1-format");
}
