//! `wave state verify` on a store a real launch wrote: clean as written; a result envelope
//! that no `agent_run` event references, a duplicated record, and a torn line are each
//! reported, and the exit code says so.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]

mod common;

use std::path::{Path, PathBuf};

use common::{copy_tree, wave_at, wave_ok};
use serde_json::Value;

/// The starter repository launched once with the local executor.
fn launched() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let starter = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/starter");
    copy_tree(&starter, dir.path()).expect("copy the starter");
    wave_ok(dir.path(), &["launch", "--force-executor", "local"]);
    dir
}

fn wave_dir(root: &Path) -> PathBuf {
    root.join(".wave/state/main/wave-0")
}

fn verify(root: &Path) -> (bool, Value) {
    let out = wave_at(root, &["state", "verify", "--json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("verify --json prints JSON");
    assert_eq!(
        out.status.success(),
        report["clean"] == true,
        "the exit code and `clean` disagree: {report}"
    );
    (out.status.success(), report)
}

fn problems(report: &Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .map(|p| p.as_str().expect("text").to_owned())
        .collect()
}

fn only_file(dir: &Path) -> PathBuf {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "one writer file in {}", dir.display());
    files.remove(0)
}

#[test]
fn a_launched_wave_verifies_clean() {
    let dir = launched();
    let (ok, report) = verify(dir.path());
    assert!(ok, "{report}");
    assert!(
        report["envelopes"].as_u64().expect("count") >= 1,
        "{report}"
    );
    assert!(report["records"].as_u64().expect("count") >= 10, "{report}");
}

#[test]
fn an_envelope_no_agent_run_references_is_reported() {
    let dir = launched();
    let results = wave_dir(dir.path()).join("results");
    let first = std::fs::read_dir(results.join("attempt-1"))
        .expect("attempt-1 results")
        .map(|e| e.expect("entry").path())
        .next()
        .expect("an envelope");
    let agent = first
        .file_stem()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut body: Value =
        serde_json::from_str(&std::fs::read_to_string(&first).expect("read")).expect("JSON");
    body["attempt"] = Value::from(7);
    std::fs::create_dir_all(results.join("attempt-7")).expect("mkdir");
    std::fs::write(
        results.join(format!("attempt-7/{agent}.json")),
        body.to_string(),
    )
    .expect("write");

    let (ok, report) = verify(dir.path());
    assert!(!ok);
    let found = problems(&report);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].contains("attempt-7") && found[0].contains(&format!("`{agent}`")),
        "{found:?}"
    );
}

#[test]
fn a_duplicated_record_and_a_torn_line_are_reported() {
    let dir = launched();
    let file = only_file(&wave_dir(dir.path()).join("coordination"));
    let text = std::fs::read_to_string(&file).expect("read");
    let first = text.lines().next().expect("a record").to_owned();
    std::fs::write(&file, format!("{text}{first}\n{{\"torn\": ")).expect("write");

    let (ok, report) = verify(dir.path());
    assert!(!ok);
    let found = problems(&report);
    assert!(
        found.iter().any(|p| p.contains("gap or duplicate")),
        "{found:?}"
    );
    let lines = text.lines().count();
    assert!(
        found
            .iter()
            .any(|p| p.contains(&format!(":{}:", lines + 2))),
        "the torn line is named by its line number: {found:?}"
    );
}
