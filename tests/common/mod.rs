//! Helpers shared by integration tests.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)]
#![allow(dead_code)]

use std::path::PathBuf;

/// The shared reference directory (`../shared` beside the repository, or `$WAVE_SHARED_DIR`).
///
/// Returns `None` (the caller skips, printing why) when it is absent on a developer machine.
/// Under CI (`CI=true`) a missing directory is a test failure, never a skip.
pub fn shared_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("WAVE_SHARED_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    if dir.join("DESIGN.md").is_file() {
        return Some(dir);
    }
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    assert!(
        !ci,
        "the shared reference directory is missing at {} (CI=true: this is a failure, not a skip)",
        dir.display()
    );
    eprintln!(
        "skipping: shared reference directory not found at {}",
        dir.display()
    );
    None
}

/// The upstream corpus repository inside the shared directory.
pub fn corpus_repo() -> Option<PathBuf> {
    shared_dir().map(|d| d.join("corpus/upstream-repo"))
}

/// Path of the built `wave` binary.
pub fn wave_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_wave"))
}

/// Copies a directory tree (files and directories only) into `dst`.
pub fn copy_tree(src: &std::path::Path, dst: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dst)?;
    for entry in std::fs::read_dir(src)? {
        let entry = entry?;
        let to = dst.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_tree(&entry.path(), &to)?;
        } else {
            std::fs::copy(entry.path(), to)?;
        }
    }
    Ok(())
}

/// A scratch copy of `tests/fixtures/scenarios/_base` (a small lane with wave 0).
pub fn scenario_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let base = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios/_base");
    copy_tree(&base, dir.path()).expect("copy base");
    dir
}

/// Runs `wave --repo-root REPO ARGS…` with the default store.
pub fn wave_at(repo: &std::path::Path, args: &[&str]) -> std::process::Output {
    std::process::Command::new(wave_bin())
        .arg("--repo-root")
        .arg(repo)
        .args(args)
        .env_remove("WAVE_STORE")
        .output()
        .expect("run wave")
}

/// Like [`wave_at`], asserting success; returns stdout.
pub fn wave_ok(repo: &std::path::Path, args: &[&str]) -> String {
    let out = wave_at(repo, args);
    assert!(
        out.status.success(),
        "wave {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Every control-plane record among a state branch's `(path, text)` files, as
/// (entityType, entityId, action) → count; a signal counts once per version.
pub fn control_counts(
    files: &[(String, String)],
) -> std::collections::BTreeMap<(String, String, String), usize> {
    let mut counts = std::collections::BTreeMap::new();
    for (path, body) in files {
        if !path.contains("/control/") {
            continue;
        }
        for line in body.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(line).expect("control line is JSON");
            let kind = v["entityType"].as_str().unwrap_or("");
            // A signal is recorded again at each new version: each version must be there once.
            let entity = match v["data"]["version"].as_u64() {
                Some(version) if kind.ends_with("_signal") => {
                    format!("{}@v{version}", v["entityId"].as_str().unwrap_or(""))
                }
                _ => v["entityId"].as_str().unwrap_or("").to_owned(),
            };
            let key = (
                kind.to_owned(),
                entity,
                v["action"].as_str().unwrap_or("").to_owned(),
            );
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

/// Asserts that a finished `wave` run exited with `code`, showing its stderr when it did not.
#[track_caller]
pub fn assert_exit(out: &std::process::Output, code: i32) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
