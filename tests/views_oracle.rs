//! Derived views against the upstream oracle: `wave coord render` over the canonical state the
//! upstream runtime left after running wave 0 of its own scaffold (read as legacy state) writes
//! the same ledger, docs queue, integration summary, shared summary, inboxes, board and
//! snapshots as upstream did, and the signal snapshots its `wave control status` writes. How
//! the fixtures were recorded: `tests/fixtures/views/README.md`.

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(rel)
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("read {}: {e}", p.display()))
}

fn json(p: &Path) -> Value {
    serde_json::from_str(&read(p)).unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
}

/// The upstream scaffold with the oracle's wave 0 and the oracle's canonical state.
fn oracle_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(&fixture("upstream-init"), dir.path()).expect("copy scaffold");
    std::fs::copy(
        fixture("views/wave-0.md"),
        dir.path().join("docs/plans/waves/wave-0.md"),
    )
    .expect("copy wave");
    common::copy_tree(
        &fixture("views/state"),
        &dir.path().join(".tmp/main-wave-launcher"),
    )
    .expect("copy state");
    dir
}

/// The scaffold with only the launcher's seed records (before any agent ran).
fn seeded_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    common::copy_tree(&fixture("upstream-init"), dir.path()).expect("copy scaffold");
    std::fs::copy(
        fixture("views/wave-0.md"),
        dir.path().join("docs/plans/waves/wave-0.md"),
    )
    .expect("copy wave");
    let log = dir.path().join(".tmp/main-wave-launcher/coordination");
    std::fs::create_dir_all(&log).expect("mkdir");
    std::fs::copy(
        fixture("views/state/coordination/wave-0.jsonl"),
        log.join("wave-0.jsonl"),
    )
    .expect("copy log");
    dir
}

/// Renders at the oracle's build time (its ledger's `updatedAt`).
fn render(repo: &Path) {
    let now = json(&fixture("views/expected/ledger.json"))["updatedAt"]
        .as_str()
        .expect("updatedAt")
        .to_owned();
    let out = std::process::Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(repo)
        .args(["coord", "render", "--lane", "main", "--wave", "0"])
        .env_remove("WAVE_STORE")
        .env("WAVE_NOW", &now)
        .output()
        .expect("run wave");
    assert!(
        out.status.success(),
        "coord render failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Drops the build-time fields upstream stamps with its own clock.
fn without_times(mut v: Value) -> Value {
    if let Value::Object(m) = &mut v {
        for k in ["createdAt", "updatedAt", "generatedAt"] {
            m.remove(k);
        }
    }
    v
}

fn projection(repo: &Path, rel: &str) -> PathBuf {
    repo.join(".tmp/main-wave-launcher").join(rel)
}

#[test]
fn json_projections_equal_the_oracle() {
    let repo = oracle_repo();
    render(repo.path());
    for (ours, theirs) in [
        ("ledger/wave-0.json", "ledger.json"),
        ("docs-queue/wave-0.json", "docs-queue.json"),
        ("integration/wave-0.json", "integration.json"),
        ("assignments/wave-0.json", "assignments.json"),
        ("dependencies/wave-0.json", "dependencies.json"),
    ] {
        let got = without_times(json(&projection(repo.path(), ours)));
        let want = without_times(json(&fixture(&format!("views/expected/{theirs}"))));
        assert_eq!(got, want, "{ours} differs from the oracle's");
    }
    // The ledger's tasks carry each agent's executor runtime and the closure states.
    let ledger = json(&projection(repo.path(), "ledger/wave-0.json"));
    assert_eq!(ledger["phase"], "completed");
    assert_eq!(ledger["tasks"].as_array().map(Vec::len), Some(8));
    assert_eq!(ledger["tasks"][0]["runtime"]["selectedBy"], "agent-id");
}

#[test]
fn markdown_projections_equal_the_oracle() {
    let repo = oracle_repo();
    render(repo.path());
    for (ours, theirs) in [
        ("integration/wave-0.md", "integration.md"),
        ("inboxes/wave-0/shared-summary.md", "shared-summary.md"),
        ("inboxes/wave-0/A0.md", "A0.md"),
        ("inboxes/wave-0/A1.md", "A1.md"),
        ("inboxes/wave-0/A8.md", "A8.md"),
        ("inboxes/wave-0/A9.md", "A9.md"),
    ] {
        let got = read(&projection(repo.path(), ours));
        let want = read(&fixture(&format!("views/expected/{theirs}")));
        assert_eq!(got, want, "{ours} differs from the oracle's");
    }
    // The board names its generation time; every other line is the oracle's.
    let strip = |t: String| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("- Generated: "))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        strip(read(&projection(repo.path(), "messageboards/wave-0.md"))),
        strip(read(&fixture("views/expected/board.md")))
    );
}

#[test]
fn rendering_twice_changes_nothing_but_times() {
    let repo = oracle_repo();
    render(repo.path());
    let first = without_times(json(&projection(repo.path(), "ledger/wave-0.json")));
    render(repo.path());
    let second = without_times(json(&projection(repo.path(), "ledger/wave-0.json")));
    assert_eq!(first, second);
}

/// Our signal snapshot and the oracle's, without the fields named in `skip`.
fn signal_pairs(repo: &Path, expected: &str, skip: &[&str]) -> Vec<(String, Value, Value)> {
    let strip = |mut v: Value| {
        if let Value::Object(m) = &mut v {
            for k in skip {
                m.remove(*k);
            }
        }
        v
    };
    let mut out = vec![(
        "wave".to_owned(),
        strip(json(&projection(repo, "signals/wave-0.json"))),
        strip(json(&fixture(&format!(
            "views/expected/{expected}/wave.json"
        )))),
    )];
    for a in ["A0", "A1", "A8", "A9"] {
        out.push((
            a.to_owned(),
            strip(json(&projection(repo, &format!("signals/wave-0/{a}.json")))),
            strip(json(&fixture(&format!(
                "views/expected/{expected}/{a}.json"
            )))),
        ));
    }
    out
}

/// Signal events this repository's store holds, by entity type.
fn signal_events(repo: &Path, entity_type: &str) -> usize {
    let dir = repo.join(".wave/state/main/wave-0/control");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        return 0;
    };
    let needle = format!("\"entityType\":\"{entity_type}\"");
    entries
        .flatten()
        .map(|e| {
            read(&e.path())
                .lines()
                .filter(|l| l.contains(&needle))
                .count()
        })
        .sum()
}

#[test]
fn signals_equal_the_oracle_while_agents_have_not_run() {
    let repo = seeded_repo();
    render(repo.path());
    for (who, got, want) in signal_pairs(repo.path(), "signals-running", &["changedAt"]) {
        assert_eq!(got, want, "{who} signal differs from the oracle's");
    }
    let wave = json(&projection(repo.path(), "signals/wave-0.json"));
    assert_eq!(wave["signal"], "coordination-action");
    assert_eq!(wave["version"], 1);
}

#[test]
fn signals_equal_the_oracle_when_the_wave_completed() {
    let repo = oracle_repo();
    render(repo.path());
    // Versions continue from the signal events upstream's supervisor recorded during the run
    // (the oracle's expected files were rebuilt without its earlier snapshots).
    for (who, got, want) in
        signal_pairs(repo.path(), "signals-completed", &["changedAt", "version"])
    {
        assert_eq!(got, want, "{who} signal differs from the oracle's");
    }
    let a1 = json(&projection(repo.path(), "signals/wave-0/A1.json"));
    assert_eq!(a1["signal"], "completed");
    assert_eq!(a1["shouldWake"], true);
}

#[test]
fn signal_versions_move_only_when_their_comparable_part_changes() {
    let repo = seeded_repo();
    let r = repo.path();
    render(r);
    assert_eq!(signal_events(r, "wave_signal"), 1);
    assert_eq!(signal_events(r, "agent_signal"), 4);
    let first = json(&projection(r, "signals/wave-0/A0.json"));
    assert_eq!(first["version"], 1);
    // Nothing changed: same versions, same changedAt, no new events.
    render(r);
    let again = json(&projection(r, "signals/wave-0/A0.json"));
    assert_eq!(again["version"], 1);
    assert_eq!(again["changedAt"], first["changedAt"]);
    assert_eq!(signal_events(r, "wave_signal"), 1);
    assert_eq!(signal_events(r, "agent_signal"), 4);
    // A non-blocking request for A0 changes A0's signal, not the wave's.
    common::wave_ok(
        r,
        &[
            "coord",
            "post",
            "--lane",
            "main",
            "--wave",
            "0",
            "--agent",
            "A1",
            "--kind",
            "request",
            "--summary",
            "Review the parser",
            "--target",
            "agent:A0",
            "--blocking",
            "false",
        ],
    );
    render(r);
    let a0 = json(&projection(r, "signals/wave-0/A0.json"));
    assert_eq!(a0["signal"], "coordination-action");
    assert_eq!(a0["reason"], "Review the parser");
    assert_eq!(a0["version"], 2);
    assert_eq!(a0["shouldWake"], true);
    let wave = json(&projection(r, "signals/wave-0.json"));
    assert_eq!(wave["version"], 1, "the wave's first action is unchanged");
    let a8 = json(&projection(r, "signals/wave-0/A8.json"));
    assert_eq!(a8["version"], 1);
    assert_eq!(signal_events(r, "wave_signal"), 1);
    assert!(signal_events(r, "agent_signal") >= 5);
    // An acknowledgement of the current version stops the wake-up.
    let acks = projection(r, "signals/wave-0/acks");
    std::fs::create_dir_all(&acks).expect("mkdir");
    std::fs::write(
        acks.join("A0.json"),
        r#"{"agentId":"A0","version":2,"signal":"coordination-action","observedAt":"2026-11-22T09:00:00.000Z"}"#,
    )
    .expect("ack");
    render(r);
    let acked = json(&projection(r, "signals/wave-0/A0.json"));
    assert_eq!(acked["shouldWake"], false);
    assert_eq!(acked["ack"]["version"], 2);
    assert_eq!(acked["version"], 2);
}

#[test]
fn agent_log_deploy_and_infra_markers_become_integration_deploy_risks() {
    let repo = oracle_repo();
    let logs = projection(repo.path(), "logs");
    std::fs::create_dir_all(&logs).expect("mkdir logs");
    std::fs::write(
        logs.join("wave-0-0-a1.log"),
        "[wave-phase] deploying\n\
         [deploy-status] service=api state=healthy\n\
         [deploy-status] service=web state=failed detail=probe timed out\n\
         [infra-status] kind=dependency target=db state=conformant\n",
    )
    .expect("write A1 log");
    std::fs::write(
        logs.join("wave-0-0-a8.log"),
        "- [infra-status] kind=identity target=ci@github state=setup-required detail=no token\n\
         [infra-status] kind=identity target=ci@github state=setup-required detail=no token\n",
    )
    .expect("write A8 log");
    render(repo.path());
    let got = json(&projection(repo.path(), "integration/wave-0.json"));
    let want = json(&fixture("views/expected/integration.json"));
    // In plan order (A0, A8, A9, A1).
    assert_eq!(
        got["deployRisks"],
        serde_json::json!([
            "A8: Infra identity on ci@github ended in state setup-required (no token).",
            "A1: Deployment web ended in state failed (probe timed out).",
        ])
    );
    // Everything else is the oracle's.
    let rest = |mut v: Value| {
        if let Value::Object(m) = &mut v {
            m.remove("deployRisks");
        }
        without_times(v)
    };
    assert_eq!(rest(got), rest(want));
    let md = read(&projection(repo.path(), "integration/wave-0.md"));
    assert!(
        md.contains("A1: Deployment web ended in state failed (probe timed out)."),
        "{md}"
    );
}
