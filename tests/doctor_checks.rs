//! `wave doctor`: a healthy scaffold passes; a missing executor fails with a hint.

mod common;

use std::path::Path;
use std::process::Command;

use common::wave_bin;

fn doctor(root: &Path, path_var: &str) -> (i32, serde_json::Value, String) {
    let out = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .args(["doctor", "--json"])
        .env("PATH", path_var)
        .env_remove("WAVE_REPO_ROOT")
        .output()
        .expect("run wave doctor");
    let json = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (
        out.status.code().unwrap_or(-1),
        json,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn init(root: &Path) {
    let out = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .arg("init")
        .output()
        .unwrap();
    assert!(out.status.success());
}

fn find<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no check {name} in {report}"))
}

#[test]
fn a_fresh_scaffold_passes_every_check() {
    let dir = tempfile::tempdir().unwrap();
    init(dir.path());
    let (code, report, err) = doctor(dir.path(), "");
    assert_eq!(code, 0, "{report} {err}");
    assert_eq!(report["ok"], true);
    for c in report["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
    }
    assert_eq!(find(&report, "executor local")["status"], "pass");
}

#[test]
fn a_missing_executor_fails_with_an_install_hint_and_a_present_one_passes() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    let plan = root.join("docs/plans/waves/wave-0.md");
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "## Agent A1: Starter notes\n",
        "## Agent A1: Starter notes\n\n### Executor\n\n- id: codex\n",
    );
    std::fs::write(&plan, text).unwrap();

    let empty = tempfile::tempdir().unwrap();
    let (code, report, _) = doctor(root, &empty.path().to_string_lossy());
    assert_eq!(code, 1, "{report}");
    assert_eq!(report["ok"], false);
    let codex = find(&report, "executor codex");
    assert_eq!(codex["status"], "fail");
    assert!(
        codex["detail"]
            .as_str()
            .unwrap()
            .contains("`codex` not found on PATH")
    );
    assert!(codex["detail"].as_str().unwrap().contains("wave 0 A1"));
    assert!(
        codex["hint"]
            .as_str()
            .unwrap()
            .contains("install the Codex CLI")
    );

    // The text form prints the hint under the failing row.
    let out = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .arg("doctor")
        .env("PATH", empty.path())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("fail  executor codex"), "{text}");
    assert!(text.contains("hint: install the Codex CLI"), "{text}");

    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("codex");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (code, report, _) = doctor(root, &bin.path().to_string_lossy());
    assert_eq!(code, 0, "{report}");
    assert_eq!(find(&report, "executor codex")["status"], "pass");
}

#[test]
fn broken_set_ups_are_reported_with_hints() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    init(root);
    std::fs::remove_file(root.join("docs/plans/migration.md")).unwrap();
    std::fs::remove_file(root.join("docs/agents/wave-security-role.md")).unwrap();
    let (code, report, _) = doctor(root, "");
    assert_eq!(code, 1);
    let docs = find(&report, "shared-plan docs");
    assert_eq!(docs["status"], "fail");
    assert!(
        docs["detail"]
            .as_str()
            .unwrap()
            .contains("docs/plans/migration.md")
    );
    // The security prompt is configured but no plan imports it: a warning, not a failure.
    assert_eq!(find(&report, "role prompts")["status"], "warn");

    std::fs::write(root.join("wave.config.json"), "{ not json").unwrap();
    let (code, report, _) = doctor(root, "");
    assert_eq!(code, 1);
    let config = find(&report, "config");
    assert_eq!(config["status"], "fail");
    assert!(config["hint"].is_string());
}

#[test]
fn an_empty_directory_fails_on_missing_plans() {
    let dir = tempfile::tempdir().unwrap();
    let (code, report, _) = doctor(dir.path(), "");
    assert_eq!(code, 1);
    assert_eq!(find(&report, "config")["status"], "warn");
    let plans = find(&report, "wave plans");
    assert_eq!(plans["status"], "fail");
    assert!(plans["hint"].as_str().unwrap().contains("wave init"));
}
