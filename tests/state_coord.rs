//! Operator commands on a state branch, as they are run in CI: `wave coord post` from many
//! processes at once (some sharing a repository root and so a cache, some on their own), then
//! `wave replay` of the branch against a directory store holding the same files.

mod common;
#[path = "support/gitserver.rs"]
mod gitserver;

use std::path::Path;
use std::process::{Command, Stdio};

use gitserver::GitServer;

const BRANCH: &str = "wave-state";

fn wave(root: &Path, spec: &str) -> Command {
    let mut cmd = Command::new(common::wave_bin());
    cmd.arg("--repo-root")
        .arg(root)
        .arg("--store")
        .arg(spec)
        .env_remove("WAVE_GIT_TOKEN")
        .env_remove("GITHUB_TOKEN")
        .env_remove("WAVE_STORE")
        .env_remove("GITHUB_RUN_ID")
        .env_remove("GITHUB_JOB")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn post(root: &Path, spec: &str, agent: &str, n: usize) -> Command {
    let mut cmd = wave(root, spec);
    cmd.args([
        "coord",
        "post",
        "--lane",
        "main",
        "--wave",
        "0",
        "--agent",
        agent,
        "--kind",
        "evidence",
        "--summary",
        &format!("evidence {n} from {agent}"),
    ]);
    cmd
}

/// A repository with wave plans, without upstream state.
fn repo() -> Option<tempfile::TempDir> {
    let corpus = common::corpus_repo()?;
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_tree(&corpus, dir.path()).expect("copy the corpus repository");
    let _ = std::fs::remove_dir_all(dir.path().join(".tmp"));
    let _ = std::fs::remove_dir_all(dir.path().join(".wave"));
    Some(dir)
}

#[test]
fn coord_post_from_many_processes_at_once_loses_nothing_and_replays_like_a_directory_store() {
    let Some(shared_root) = repo() else { return };
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let own_roots: Vec<tempfile::TempDir> = (0..6).filter_map(|_| repo()).collect();
    let mut children = Vec::new();
    for n in 0..6 {
        children.push(
            post(shared_root.path(), &spec, "A1", n)
                .spawn()
                .expect("spawn"),
        );
    }
    for (n, root) in own_roots.iter().enumerate() {
        children.push(post(root.path(), &spec, "A2", n).spawn().expect("spawn"));
    }
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "coord post failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let files = server.files(BRANCH);
    let lines: Vec<&str> = files
        .iter()
        .filter(|(p, _)| p.starts_with("main/wave-0/coordination/"))
        .flat_map(|(_, t)| t.lines())
        .collect();
    assert_eq!(lines.len(), 12, "{files:?}");
    for n in 0..6 {
        for agent in ["A1", "A2"] {
            let summary = format!("evidence {n} from {agent}");
            assert_eq!(
                lines.iter().filter(|l| l.contains(&summary)).count(),
                1,
                "{summary}"
            );
        }
    }
    let out = wave(shared_root.path(), &spec)
        .args(["state", "verify"])
        .output()
        .expect("verify");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("; clean"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );

    // The branch as a directory store replays to the same state.
    let export = shared_root.path().join("exported-state");
    std::fs::create_dir_all(&export).expect("mkdir");
    for (path, text) in &files {
        let to = export.join(path);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::write(&to, text).expect("write");
    }
    let replay = |spec: &str| {
        let out = wave(shared_root.path(), spec)
            .args(["replay", "--lane", "main", "--wave", "0"])
            .output()
            .expect("replay");
        assert!(
            out.status.success(),
            "replay {spec}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let from_git = replay(&spec);
    let from_dir = replay(&format!("dir:{}", export.display()));
    assert_eq!(from_git, from_dir);
    assert!(from_git.contains("\"wave\": 0"), "{from_git}");
}
