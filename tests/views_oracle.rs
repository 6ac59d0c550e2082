//! Derived views against the upstream oracle: `wave coord render` over the canonical state the
//! upstream runtime left after running wave 0 of its own scaffold (read as legacy state) writes
//! the same ledger, docs queue, integration summary, shared summary, inboxes, board and
//! snapshots as upstream did. How the fixtures were recorded: `tests/fixtures/views/README.md`.

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
