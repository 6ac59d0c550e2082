//! `WAVE_<ID>_COMMAND` overrides the configured agent CLI program wherever it is looked up:
//! `wave doctor` checks the program the launch would run.

mod common;

use std::path::Path;
use std::process::Command;

use common::wave_bin;

fn doctor(root: &Path, env: &[(&str, &str)]) -> serde_json::Value {
    let empty = tempfile::tempdir().unwrap();
    let mut c = Command::new(wave_bin());
    c.arg("--repo-root")
        .arg(root)
        .args(["doctor", "--json"])
        .env("PATH", empty.path())
        .env_remove("WAVE_REPO_ROOT")
        .env_remove("WAVE_CODEX_COMMAND");
    for (k, v) in env {
        c.env(k, v);
    }
    let out = c.output().unwrap();
    serde_json::from_slice(&out.stdout).unwrap()
}

fn codex_check(report: &serde_json::Value) -> serde_json::Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == "executor codex")
        .cloned()
        .unwrap_or_else(|| panic!("no codex check in {report}"))
}

#[test]
fn doctor_checks_the_program_named_by_wave_codex_command() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let ok = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .arg("init")
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok);
    let plan = root.join("docs/plans/waves/wave-0.md");
    let text = std::fs::read_to_string(&plan).unwrap().replace(
        "## Agent A1: Starter notes\n",
        "## Agent A1: Starter notes\n\n### Executor\n\n- id: codex\n",
    );
    std::fs::write(&plan, text).unwrap();

    let missing = codex_check(&doctor(root, &[]));
    assert_eq!(missing["status"], "fail", "{missing}");
    assert!(
        missing["hint"]
            .as_str()
            .unwrap()
            .contains("npm install -g @openai/codex@0.169.0"),
        "{missing}"
    );

    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("my-codex");
    std::fs::write(&fake, "#!/bin/sh\nexit 0\n").unwrap();
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let found = codex_check(&doctor(
        root,
        &[("WAVE_CODEX_COMMAND", fake.to_str().unwrap())],
    ));
    assert_eq!(found["status"], "pass", "{found}");
    assert!(
        found["detail"]
            .as_str()
            .unwrap()
            .contains(&fake.display().to_string()),
        "{found}"
    );
}
