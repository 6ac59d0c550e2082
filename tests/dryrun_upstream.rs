//! Differential check against the upstream runtime: on the same repository, `wave launch
//! --dry-run` and upstream's dry run produce the same prompts and the same executor launch lines.
//!
//! Known, deliberate differences are normalized away before comparing: the embedded shared
//! summary and inbox (a dry run here reads no coordination log), the commands agents are told to
//! run (`wave coord post` / `wave feedback ask` instead of `pnpm exec …`), the process-id suffix
//! of upstream's orchestrator id, the repository root, the `local` executor's program (this
//! binary instead of node) and skill bundles (not projected here).
//! Needs `../shared` and `node`; skips without node outside CI.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, shared_dir, wave_bin};
use wave_runner::engine::prompt::SECTION_ORDER;

fn node_available() -> bool {
    Command::new("node")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, out);
        } else {
            out.push(p);
        }
    }
}

fn normalize_prompt(text: &str, root: &Path) -> String {
    let after_inbox = SECTION_ORDER
        .iter()
        .position(|h| *h == "Current agent inbox:")
        .map(|i| &SECTION_ORDER[i + 1..])
        .unwrap_or(&[]);
    let mut out = Vec::new();
    let mut skipping = false;
    for line in text.lines() {
        if line.starts_with("Current wave shared summary:") {
            skipping = true;
        } else if skipping && after_inbox.iter().any(|h| line.starts_with(h)) {
            skipping = false;
        }
        if !skipping {
            out.push(line);
        }
    }
    let joined = out
        .join("\n")
        .replace(&root.to_string_lossy().into_owned(), "ROOT");
    let joined = joined
        .replace("pnpm exec wave-feedback ask", "wave feedback ask")
        .replace("pnpm exec wave coord post", "wave coord post");
    // upstream: `--orchestrator-id main-orch-<pid>`
    let mut result = String::with_capacity(joined.len());
    let mut rest = joined.as_str();
    while let Some(at) = rest.find("-orch-") {
        result.push_str(&rest[..at + 5]);
        rest = rest[at + 6..].trim_start_matches(|c: char| c.is_ascii_digit());
    }
    result.push_str(rest);
    result
}

fn upstream_dry_run(shared: &Path, root: &Path) -> bool {
    let out = Command::new(shared.join("tools/upstream-oracle"))
        .args([
            "wave",
            "launch",
            "--dry-run",
            "--lane",
            "main",
            "--no-dashboard",
            "--no-telemetry",
        ])
        .current_dir(root)
        .output()
        .expect("run upstream oracle");
    if !out.status.success() {
        eprintln!(
            "upstream dry run failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    out.status.success()
}

fn compare(src: &Path, strip_skills: bool) {
    let Some(shared) = shared_dir() else { return };
    if !node_available() {
        assert!(
            std::env::var("CI").is_err(),
            "node is needed for the upstream differential test"
        );
        eprintln!("skipping: node not found");
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let up = base.path().join("up");
    let me = base.path().join("me");
    for dir in [&up, &me] {
        copy_tree(src, dir).unwrap();
        let _ = std::fs::remove_dir_all(dir.join(".tmp"));
        if strip_skills {
            let cfg = dir.join("wave.config.json");
            let mut v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(&cfg).unwrap()).unwrap();
            if let Some(o) = v.as_object_mut() {
                o.remove("skills");
            }
            if let Some(lanes) = v.get_mut("lanes").and_then(|l| l.as_object_mut()) {
                for lane in lanes.values_mut() {
                    if let Some(o) = lane.as_object_mut() {
                        o.remove("skills");
                    }
                }
            }
            std::fs::write(&cfg, serde_json::to_string_pretty(&v).unwrap()).unwrap();
        }
    }
    assert!(upstream_dry_run(&shared, &up), "upstream dry run failed");
    let out = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(&me)
        .args(["launch", "--dry-run"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let dry = ".tmp/main-wave-launcher/dry-run";
    let mut prompts = Vec::new();
    files(&up.join(dry).join("prompts"), &mut prompts);
    assert!(!prompts.is_empty());
    for p in &prompts {
        let rel = p.strip_prefix(&up).unwrap();
        let theirs = normalize_prompt(&std::fs::read_to_string(p).unwrap(), &up);
        let ours = normalize_prompt(
            &std::fs::read_to_string(me.join(rel))
                .unwrap_or_else(|e| panic!("{}: {e}", rel.display())),
            &me,
        );
        assert_eq!(ours, theirs, "{}", rel.display());
    }

    let mut previews = Vec::new();
    files(&up.join(dry).join("executors"), &mut previews);
    let previews: Vec<_> = previews
        .into_iter()
        .filter(|p| p.file_name().is_some_and(|n| n == "launch-preview.json"))
        .collect();
    assert_eq!(previews.len(), prompts.len());
    for p in &previews {
        let rel = p.strip_prefix(&up).unwrap();
        let norm = |path: &Path, root: &Path| -> serde_json::Value {
            let text = std::fs::read_to_string(path).unwrap();
            serde_json::from_str(&text.replace(&root.to_string_lossy().into_owned(), "ROOT"))
                .unwrap()
        };
        let theirs = norm(p, &up);
        let ours = norm(&me.join(rel), &me);
        for key in [
            "executorId",
            "env",
            "credentialProviders",
            "credentials",
            "useRateLimitRetries",
            "limits",
        ] {
            assert_eq!(ours[key], theirs[key], "{} {key}", rel.display());
        }
        if theirs["executorId"] != "local" {
            assert_eq!(ours["command"], theirs["command"], "{}", rel.display());
            assert_eq!(
                ours["invocationLines"],
                theirs["invocationLines"],
                "{}",
                rel.display()
            );
        }
        // Overlay files beside the preview (system prompts, opencode.json, claude settings).
        let dir = p.parent().unwrap();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name == "launch-preview.json"
                || name.starts_with("skills.")
                || name.ends_with("-skills.txt")
            {
                continue;
            }
            let theirs = std::fs::read_to_string(entry.path())
                .unwrap()
                .replace(&up.to_string_lossy().into_owned(), "ROOT");
            let ours = std::fs::read_to_string(me.join(rel).with_file_name(&name))
                .unwrap_or_else(|e| panic!("{} {name}: {e}", rel.display()))
                .replace(&me.to_string_lossy().into_owned(), "ROOT");
            assert_eq!(ours, theirs, "{} {name}", rel.display());
        }
    }
}

#[test]
fn starter_example_matches_upstream() {
    compare(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter"),
        false,
    );
}

#[test]
fn corpus_repository_matches_upstream_without_skills() {
    let Some(shared) = shared_dir() else { return };
    compare(&shared.join("corpus/upstream-repo"), true);
}
