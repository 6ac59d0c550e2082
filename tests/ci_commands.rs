//! `wave ci plan|agent|close` with real processes: a wave fanned out the way the reusable
//! workflow runs it (one process per job), over a state branch on a loopback `git daemon` or a
//! directory store, including retries, re-run jobs and bad requests.

mod common;
#[path = "support/gitserver.rs"]
mod gitserver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{copy_tree, wave_bin};
use gitserver::GitServer;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A scratch repository with the launch scenario's wave 1: implementation agents A1 and A2,
/// security reviewer A7, integration A8, documentation A9, cont-QA A0.
fn scenario_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = fixtures().join("launch");
    std::fs::copy(src.join("wave.config.json"), root.join("wave.config.json")).unwrap();
    let waves = root.join("docs/plans/waves");
    std::fs::create_dir_all(&waves).unwrap();
    std::fs::copy(src.join("wave-1.md"), waves.join("wave-1.md")).unwrap();
    copy_tree(
        &fixtures().join("upstream-init/docs/agents"),
        &root.join("docs/agents"),
    )
    .unwrap();
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git init failed");
    dir
}

fn fake_agent() -> String {
    format!(
        "--force-executor=command:{}",
        fixtures().join("launch/fake-agent.sh").display()
    )
}

/// One CI job: `wave ci …` as its own process, with its own writer name and output file.
struct Job<'a> {
    root: &'a Path,
    store: Option<String>,
    env: Vec<(String, String)>,
}

impl Job<'_> {
    fn run(&self, job: &str, args: &[&str]) -> (Output, BTreeMap<String, String>) {
        let outputs = tempfile::NamedTempFile::new().unwrap();
        let mut c = Command::new(wave_bin());
        c.arg("--repo-root").arg(self.root).arg("ci").args(args);
        c.arg(fake_agent()).current_dir(self.root);
        c.env_remove("WAVE_STORE")
            .env_remove("GITHUB_TOKEN")
            .env_remove("GITHUB_REPOSITORY")
            .env("CI", "true")
            .env("WAVE_TEST_BIN", wave_bin())
            .env("GITHUB_RUN_ID", "77")
            .env("GITHUB_RUN_ATTEMPT", "1")
            .env("GITHUB_JOB", job)
            .env("GITHUB_OUTPUT", outputs.path());
        if let Some(s) = &self.store {
            c.env("WAVE_STORE", s);
        }
        for (k, v) in &self.env {
            c.env(k, v);
        }
        if let Some(key) = args.iter().position(|a| *a == "--agent") {
            c.env("WAVE_MATRIX_KEY", args[key + 1]);
        }
        let out = c.output().unwrap();
        let text = std::fs::read_to_string(outputs.path()).unwrap_or_default();
        (out, parse_outputs(&text))
    }
}

/// Reads `$GITHUB_OUTPUT` (`name<<delimiter` blocks and `name=value` lines).
fn parse_outputs(text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.insert(name.to_owned(), value.join("\n"));
        } else if let Some((name, value)) = line.split_once('=') {
            out.insert(name.to_owned(), value.to_owned());
        }
    }
    out
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

fn matrix_agents(matrix: &str) -> Vec<String> {
    let v: Value = serde_json::from_str(matrix).unwrap();
    v["include"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["agent"].as_str().unwrap().to_owned())
        .collect()
}

/// Runs the matrix's agents as concurrent processes, like matrix jobs.
fn run_agents(job: &Job<'_>, agents: &[String]) {
    std::thread::scope(|s| {
        let handles: Vec<_> = agents
            .iter()
            .map(|a| s.spawn(move || job.run("agents", &["agent", "--wave", "1", "--agent", a])))
            .collect();
        for h in handles {
            let (out, o) = h.join().unwrap();
            assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
            assert_eq!(json(&out)["ran"], true);
            assert_eq!(o.get("state").map(String::as_str), Some("completed"));
        }
    });
}

/// Every control record on the branch, as (entityType, entityId, action) → count.
fn control_counts(files: &[(String, String)]) -> BTreeMap<(String, String, String), usize> {
    let mut counts = BTreeMap::new();
    for (path, text) in files {
        if !path.contains("/control/") {
            continue;
        }
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: Value = serde_json::from_str(line).unwrap();
            let key = (
                v["entityType"].as_str().unwrap_or("").to_owned(),
                v["entityId"].as_str().unwrap_or("").to_owned(),
                v["action"].as_str().unwrap_or("").to_owned(),
            );
            *counts.entry(key).or_insert(0) += 1;
        }
    }
    counts
}

#[test]
fn a_fanned_out_wave_closes_over_the_state_branch_and_reruns_never_duplicate() {
    let server = GitServer::daemon();
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: Some(server.spec("wave-state")),
        env: Vec::new(),
    };

    let (out, o) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(o["attempt"], "1");
    assert_eq!(o["has-work"], "true");
    let agents = matrix_agents(&o["matrix"]);
    assert_eq!(agents, ["A1", "A2"]);
    assert_eq!(json(&out)["matrix"]["include"][0]["agent"], "A1");

    // A re-run plan job re-announces the open attempt.
    let (again, o2) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(code(&again), 0);
    assert_eq!(o2["attempt"], "1");
    assert_eq!(matrix_agents(&o2["matrix"]), agents);

    run_agents(&job, &agents);
    // A re-run agent job records nothing new.
    let (rerun, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A1"]);
    assert_eq!(code(&rerun), 0);
    assert_eq!(json(&rerun)["ran"], false);

    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(
        code(&close),
        0,
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    assert_eq!(c["verdict"], "success");
    assert_eq!(c["closure-state"], "passed");
    assert_eq!(c["next-attempt"], "false");
    assert_eq!(c["retry-targets"], "");
    let before = control_counts(&server.files("wave-state"));

    let (reclose, c2) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(code(&reclose), 0);
    assert_eq!(c2["verdict"], "success");
    assert_eq!(json(&reclose)["closedNow"], false);
    let (replan, p) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(code(&replan), 0);
    assert_eq!(p["has-work"], "false");

    let files = server.files("wave-state");
    let after = control_counts(&files);
    assert_eq!(before, after, "re-run jobs appended records");
    for ((kind, id, action), n) in &after {
        // Signal snapshots are recorded again each time they change.
        if kind == "wave_signal" || kind == "agent_signal" {
            continue;
        }
        assert_eq!(*n, 1, "{kind} {id} {action} recorded {n} times");
    }
    for a in ["A1", "A2", "A7", "A8", "A9", "A0"] {
        let id = format!("wave-1-attempt-1-agent-{a}");
        assert!(
            after.contains_key(&("agent_run".into(), id.clone(), "completed".into())),
            "{id} not completed: {:?}",
            after.keys().collect::<Vec<_>>()
        );
    }
    let envelopes = files
        .iter()
        .filter(|(p, _)| p.contains("/results/attempt-1/"))
        .count();
    assert_eq!(envelopes, 6);
    // Agents and close wrote as their own jobs.
    let writers: Vec<&str> = files
        .iter()
        .filter(|(p, _)| p.contains("/control/"))
        .filter_map(|(p, _)| p.rsplit('/').next())
        .collect();
    for w in [
        "gha-77-1-plan.jsonl",
        "gha-77-1-agents-A1.jsonl",
        "gha-77-1-agents-A2.jsonl",
        "gha-77-1-close.jsonl",
    ] {
        assert!(writers.contains(&w), "{writers:?}");
    }
}

#[test]
fn an_agent_failing_its_proof_is_the_only_one_the_next_attempt_runs() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: vec![("WAVE_TEST_MODE".into(), "noproof".into())],
    };
    let (_, o) = job.run("plan", &["plan", "--wave", "1"]);
    run_agents(&job, &matrix_agents(&o["matrix"]));
    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(
        code(&close),
        43,
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    assert_eq!(c["next-attempt"], "true");
    assert_eq!(c["next-attempt-number"], "2");
    assert_eq!(c["retry-targets"], "A1");
    assert_eq!(c["closure-state"], "running");
    assert_eq!(
        json(&close)["failures"][0]["statusCode"],
        "missing-wave-proof"
    );

    let (plan2, o2) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(code(&plan2), 0);
    assert_eq!(o2["attempt"], "2");
    assert_eq!(matrix_agents(&o2["matrix"]), ["A1"]);
    // A2 proved itself in attempt 1 and is not selected again.
    let (not_sel, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A2"]);
    assert_eq!(code(&not_sel), 1);
    assert!(String::from_utf8_lossy(&not_sel.stderr).contains("does not run `A2`"));
    run_agents(&job, &["A1".to_owned()]);
    let (close2, c2) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(
        code(&close2),
        0,
        "{}",
        String::from_utf8_lossy(&close2.stderr)
    );
    assert_eq!(c2["verdict"], "success");
    assert_eq!(c2["attempt"], "2");
}

#[test]
fn spent_attempts_end_the_wave_with_a_failure_and_leave_nothing_to_plan() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: vec![("WAVE_TEST_MODE".into(), "noproof".into())],
    };
    let retries = ["--max-retries-per-wave", "0"];
    let (_, o) = job.run("plan", &["plan", "--wave", "1", retries[0], retries[1]]);
    run_agents(&job, &matrix_agents(&o["matrix"]));
    let (close, c) = job.run("close", &["close", "--wave", "1", retries[0], retries[1]]);
    assert_eq!(
        code(&close),
        1,
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    assert_eq!(c["next-attempt"], "false");
    assert_eq!(c["verdict"], "failure");
    assert_eq!(c["closure-state"], "failed");
    let (plan, p) = job.run("plan", &["plan", "--wave", "1", retries[0], retries[1]]);
    assert_eq!(code(&plan), 0);
    assert_eq!(p["has-work"], "false");
    assert!(
        json(&plan)["reason"]
            .as_str()
            .unwrap()
            .contains("attempts spent")
    );
}

#[test]
fn bad_requests_are_refused_without_running_anything() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: Vec::new(),
    };
    let (none, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A1"]);
    assert_eq!(code(&none), 1);
    assert!(String::from_utf8_lossy(&none.stderr).contains("wave ci plan"));
    let (close, _) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(code(&close), 1);
    job.run("plan", &["plan", "--wave", "1"]);
    let (unknown, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "Z9"]);
    assert_eq!(code(&unknown), 1);
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("A1, A2"));
    let (steward, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A0"]);
    assert_eq!(code(&steward), 1);
    assert!(String::from_utf8_lossy(&steward.stderr).contains("closure steward"));
    let (wave9, _) = job.run("plan", &["plan", "--wave", "9"]);
    assert_eq!(code(&wave9), 2);
    assert!(
        !dir.path().join(".tmp/main-wave-launcher/logs").exists(),
        "an agent ran"
    );
}

#[test]
fn design_agents_are_planned_apart_so_they_run_first() {
    let dir = scenario_repo();
    let wave_file = dir.path().join("docs/plans/waves/wave-1.md");
    let mut text = std::fs::read_to_string(&wave_file).unwrap();
    text.push_str(
        "\n## Agent D1: Parser design\n\n### Role prompts\n\n- docs/agents/wave-design-role.md\n\n\
         ### Prompt\n\n```text\nDesign the parser.\n\nFile ownership (only touch these paths):\n\
         - docs/plans/waves/design/wave-1-D1.md\n```\n",
    );
    std::fs::write(&wave_file, text).unwrap();
    let job = Job {
        root: dir.path(),
        store: None,
        env: Vec::new(),
    };
    let (out, o) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(matrix_agents(&o["design-matrix"]), ["D1"]);
    assert_eq!(o["has-design"], "true");
    assert_eq!(matrix_agents(&o["matrix"]), ["A1", "A2"]);
    run_agents(&job, &["D1".to_owned()]);
    run_agents(&job, &matrix_agents(&o["matrix"]));
    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(
        code(&close),
        0,
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    assert_eq!(c["verdict"], "success");
}
