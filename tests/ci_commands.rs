//! `wave ci plan|agent|close` with real processes: a wave fanned out the way the reusable
//! workflow runs it (one process per job), over a state branch on a loopback `git daemon` or a
//! directory store, including retries, rerun requests, executor fallbacks, re-run jobs, bad
//! requests, and the verdict outputs against the published check run.
#![allow(clippy::disallowed_methods)] // the fallback test puts a failing `codex` first on the PATH it inherits

mod common;
#[path = "support/fake_github/mod.rs"]
mod fake_github;
#[path = "support/gitserver.rs"]
mod gitserver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{assert_exit, control_counts, copy_tree, wave_bin};
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
    /// The `plan` job for wave 1 (with `extra` flags), then the agents its matrix names.
    fn plan_and_run_agents(&self, extra: &[&str]) {
        let mut args = vec!["plan", "--wave", "1"];
        args.extend_from_slice(extra);
        let (_, o) = self.run("plan", &args);
        run_agents(self, &matrix_agents(&o["matrix"]));
    }

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
            assert_exit(&out, 0);
            assert_eq!(json(&out)["ran"], true);
            assert_eq!(o.get("state").map(String::as_str), Some("completed"));
        }
    });
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
    assert_exit(&out, 0);
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
    assert_exit(&close, 0);
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
    job.plan_and_run_agents(&[]);
    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_exit(&close, 43);
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
    assert_exit(&close2, 0);
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
    job.plan_and_run_agents(&[retries[0], retries[1]]);
    let (close, c) = job.run("close", &["close", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&close, 1);
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
fn reruns_never_run_more_attempts_than_the_budget() {
    let dir = scenario_repo();
    let mut job = Job {
        root: dir.path(),
        store: None,
        env: vec![("WAVE_TEST_MODE".into(), "noproof".into())],
    };
    let retries = ["--max-retries-per-wave", "0"];
    job.plan_and_run_agents(&[retries[0], retries[1]]);
    let (close, c) = job.run("close", &["close", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&close, 1);
    assert_eq!(c["next-attempt"], "false");
    // A GitHub re-run of the workflow is another run attempt of the same jobs: it plans nothing.
    job.env.push(("GITHUB_RUN_ATTEMPT".into(), "2".into()));
    let (rerun_plan, p) = job.run("plan", &["plan", "--wave", "1", retries[0], retries[1]]);
    assert_eq!(code(&rerun_plan), 0);
    assert_eq!(p["has-work"], "false");
    // A rerun request does not buy an attempt beyond the budget either.
    let req = operator(
        dir.path(),
        &[
            "control", "rerun", "request", "--wave", "1", "--agent", "A1", "--id", "rr-9",
        ],
    );
    assert_exit(&req, 0);
    let (dry, _) = job.run(
        "plan",
        &["plan", "--wave", "1", "--dry-run", retries[0], retries[1]],
    );
    assert_eq!(json(&dry)["hasWork"], false);
    let (plan, p) = job.run("plan", &["plan", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&plan, 0);
    assert_eq!(p["has-work"], "false");
    let reason = json(&plan)["reason"].as_str().unwrap().to_owned();
    assert!(
        reason.contains("rr-9") && reason.contains("attempts spent"),
        "{reason}"
    );
    let (a1, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A1"]);
    assert_exit(&a1, 0);
    let a1 = json(&a1);
    assert_eq!(
        (a1["ran"].as_bool(), a1["attempt"].as_u64()),
        (Some(false), Some(1)),
        "no attempt 2 started"
    );
    // The request no longer holds the wave open: the verdict is still the spent budget's.
    let active = operator(dir.path(), &["control", "rerun", "get", "--wave", "1"]);
    assert_eq!(
        serde_json::from_slice::<Value>(&active.stdout).unwrap(),
        Value::Null
    );
    let (again, c) = job.run("close", &["close", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&again, 1);
    assert_eq!(c["attempt"], "1");
    assert_eq!(c["verdict"], "failure");
    assert_eq!(c["next-attempt"], "false");
}

#[test]
fn a_rerun_after_the_wave_closed_starts_a_fresh_budget() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: Vec::new(),
    };
    let retries = ["--max-retries-per-wave", "0"];
    job.plan_and_run_agents(&[retries[0], retries[1]]);
    let (close, c) = job.run("close", &["close", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&close, 0);
    assert_eq!(c["verdict"], "success");
    let req = operator(
        dir.path(),
        &[
            "control", "rerun", "request", "--wave", "1", "--agent", "A2", "--id", "rr-2",
        ],
    );
    assert_exit(&req, 0);
    let (plan, p) = job.run("plan", &["plan", "--wave", "1", retries[0], retries[1]]);
    assert_exit(&plan, 0);
    assert_eq!(
        (p["has-work"].as_str(), p["attempt"].as_str()),
        ("true", "2")
    );
    assert_eq!(matrix_agents(&p["matrix"]), ["A2"]);
}

/// Every `integration/wave-1.json` projection under `root` (deploy risks included).
fn integration_projections(root: &Path) -> Vec<Value> {
    let mut out = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.ends_with("integration/wave-1.json") {
                out.push(serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap());
            }
        }
    }
    out
}

#[test]
fn the_close_job_reads_deploy_risks_from_the_recorded_log_tails() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: vec![("WAVE_TEST_MODE".into(), "deploy".into())],
    };
    job.plan_and_run_agents(&[]);
    // The close job runs on another machine: none of the agents' log files (nor the projections
    // built from them) are there.
    let mut dirs = vec![dir.path().to_path_buf()];
    let mut removed = 0;
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "log")
                || p.ends_with("integration/wave-1.json")
            {
                std::fs::remove_file(&p).unwrap();
                removed += 1;
            }
        }
    }
    assert!(removed >= 2, "the agents' logs were written locally");
    let (close, _) = job.run("close", &["close", "--wave", "1"]);
    assert!(
        matches!(code(&close), 0 | 1),
        "{}",
        String::from_utf8_lossy(&close.stderr)
    );
    let projections = integration_projections(dir.path());
    assert!(
        !projections.is_empty(),
        "close writes the integration summary"
    );
    for p in projections {
        assert_eq!(
            p["deployRisks"],
            serde_json::json!(["A1: Deployment api ended in state failed (boom)."]),
            "{p}"
        );
    }
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
    assert_exit(&out, 0);
    assert_eq!(matrix_agents(&o["design-matrix"]), ["D1"]);
    assert_eq!(o["has-design"], "true");
    assert_eq!(matrix_agents(&o["matrix"]), ["A1", "A2"]);
    run_agents(&job, &["D1".to_owned()]);
    run_agents(&job, &matrix_agents(&o["matrix"]));
    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_exit(&close, 0);
    assert_eq!(c["verdict"], "success");
}

/// `wave ci close`'s `verdict` and `closure-state` against the check run it published to the
/// fake GitHub, and against a re-run close that does not publish: one mapping for all three.
fn assert_one_verdict(
    job: &Job<'_>,
    github: &fake_github::FakeGithub,
    extra: &[&str],
    verdict: &str,
    state: &str,
) {
    let mut args = vec!["close", "--wave", "1"];
    args.extend_from_slice(extra);
    let (close, c) = job.run("close", &args);
    let stderr = String::from_utf8_lossy(&close.stderr);
    assert_eq!(c["verdict"], verdict, "{stderr}");
    assert_eq!(c["closure-state"], state, "{stderr}");
    assert_eq!(json(&close)["verdict"], verdict);
    assert_eq!(json(&close)["closureState"], state);
    assert_eq!(json(&close)["published"], true, "{stderr}");
    let run = github.with(|s| {
        let runs: Vec<Value> = s
            .check_runs
            .iter()
            .filter(|r| r["name"] == "wave / main / 1")
            .cloned()
            .collect();
        assert_eq!(runs.len(), 1, "{:?}", s.check_runs);
        runs[0].clone()
    });
    let shown = if run["status"] == "completed" {
        run["conclusion"].clone()
    } else {
        run["status"].clone()
    };
    assert_eq!(shown, verdict, "check run: {run}");
    args.push("--no-report");
    let (again, c2) = job.run("close", &args);
    assert_eq!(json(&again)["published"], false);
    assert_eq!(
        (c2["verdict"].as_str(), c2["closure-state"].as_str()),
        (verdict, state)
    );
    assert!(github.violations().is_empty(), "{:?}", github.violations());
}

fn reporting_job<'a>(root: &'a Path, github: &fake_github::FakeGithub, mode: &str) -> Job<'a> {
    let mut env: Vec<(String, String)> = [
        ("GITHUB_TOKEN", "test-token"),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567"),
        ("WAVE_GITHUB_RETRY_BASE_MS", "10"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    env.push(("GITHUB_API_URL".into(), github.url.clone()));
    if !mode.is_empty() {
        env.push(("WAVE_TEST_MODE".into(), mode.into()));
    }
    Job {
        root,
        store: None,
        env,
    }
}

#[test]
fn close_outputs_the_verdict_the_check_run_shows_in_every_outcome() {
    // success
    let Some(github) = fake_github::FakeGithub::start() else {
        return;
    };
    let dir = scenario_repo();
    let job = reporting_job(dir.path(), &github, "");
    job.plan_and_run_agents(&[]);
    assert_one_verdict(&job, &github, &[], "success", "passed");

    // a retrying attempt: in progress, then failure once no attempt is left
    let Some(github) = fake_github::FakeGithub::start() else {
        return;
    };
    let dir = scenario_repo();
    let job = reporting_job(dir.path(), &github, "noproof");
    job.plan_and_run_agents(&[]);
    assert_one_verdict(&job, &github, &[], "in_progress", "running");
    let no_retry = ["--max-retries-per-wave", "0"];
    assert_one_verdict(&job, &github, &no_retry, "failure", "failed");

    // an open clarification
    let Some(github) = fake_github::FakeGithub::start() else {
        return;
    };
    let dir = scenario_repo();
    let job = reporting_job(dir.path(), &github, "");
    let post = Command::new(wave_bin())
        .arg("--repo-root")
        .arg(dir.path())
        .args([
            "coord",
            "post",
            "--wave",
            "1",
            "--agent",
            "A1",
            "--kind",
            "clarification-request",
            "--summary",
            "Which schema version?",
            "--target",
            "agent:A8",
            "--id",
            "clar-1",
        ])
        .env_remove("WAVE_STORE")
        .output()
        .unwrap();
    assert!(
        post.status.success(),
        "{}",
        String::from_utf8_lossy(&post.stderr)
    );
    job.plan_and_run_agents(&[]);
    assert_one_verdict(&job, &github, &[], "action_required", "awaiting-human");
}

/// `wave …` in the scenario repository as an operator would run it (directory store).
fn operator(root: &Path, args: &[&str]) -> Output {
    Command::new(wave_bin())
        .arg("--repo-root")
        .arg(root)
        .args(args)
        .env_remove("WAVE_STORE")
        .env("CI", "true")
        .output()
        .unwrap()
}

#[test]
fn an_active_rerun_request_chooses_the_next_attempt_and_is_applied_when_it_closes() {
    let dir = scenario_repo();
    let job = Job {
        root: dir.path(),
        store: None,
        env: Vec::new(),
    };
    job.plan_and_run_agents(&[]);
    let (close, c) = job.run("close", &["close", "--wave", "1"]);
    assert_exit(&close, 0);
    assert_eq!(c["verdict"], "success");
    // Closed: nothing left to plan, until someone asks for a rerun.
    let (_, idle) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(idle["has-work"], "false");
    let req = operator(
        dir.path(),
        &[
            "control", "rerun", "request", "--wave", "1", "--agent", "A2", "--id", "rr-1",
        ],
    );
    assert_exit(&req, 0);
    let (dry, _) = job.run("plan", &["plan", "--wave", "1", "--dry-run"]);
    assert_eq!(json(&dry)["hasWork"], true);
    let (plan, p) = job.run("plan", &["plan", "--wave", "1"]);
    assert_exit(&plan, 0);
    assert_eq!(p["attempt"], "2");
    assert_eq!(matrix_agents(&p["matrix"]), ["A2"]);
    assert!(json(&plan)["reason"].as_str().unwrap().contains("rr-1"));
    // A re-run plan job re-announces the same attempt.
    let (_, again) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(
        (again["attempt"].as_str(), matrix_agents(&again["matrix"])),
        ("2", vec!["A2".to_owned()])
    );
    let (a1, _) = job.run("agents", &["agent", "--wave", "1", "--agent", "A1"]);
    assert_eq!(code(&a1), 1, "A1 is not part of the rerun");
    run_agents(&job, &["A2".to_owned()]);
    let active = |root: &Path| {
        serde_json::from_slice::<Value>(
            &operator(root, &["control", "rerun", "get", "--wave", "1"]).stdout,
        )
        .unwrap()
    };
    assert_eq!(
        active(dir.path())["requestId"],
        "rr-1",
        "applied only when the attempt closes"
    );
    let (close2, c2) = job.run("close", &["close", "--wave", "1"]);
    assert_exit(&close2, 0);
    assert_eq!(c2["verdict"], "success");
    assert_eq!(c2["attempt"], "2");
    assert_eq!(active(dir.path()), Value::Null, "the request is applied");
    let control = std::fs::read_dir(dir.path().join(".wave/state/main/wave-1/control"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    let applied: Vec<&str> = control
        .lines()
        .filter(|l| l.contains("\"entityType\":\"rerun_request\"") && l.contains("\"applied\""))
        .collect();
    assert_eq!(applied.len(), 1, "{applied:?}");
    assert!(
        applied[0].contains("\"appliedInAttempt\":2"),
        "{}",
        applied[0]
    );
    // Re-running the close job applies nothing twice, and the wave is closed again.
    let (_, c3) = job.run("close", &["close", "--wave", "1"]);
    assert_eq!(c3["verdict"], "success");
    let again = std::fs::read_dir(dir.path().join(".wave/state/main/wave-1/control"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    assert_eq!(
        again
            .lines()
            .filter(|l| l.contains("\"appliedInAttempt\""))
            .count(),
        1
    );
    let (_, done) = job.run("plan", &["plan", "--wave", "1"]);
    assert_eq!(done["has-work"], "false");
}

/// `wave ci …` for wave 2 without a forced executor: A1 runs on codex, with `local` as its
/// fallback; `codex` on the PATH is a script that fails.
fn unforced(
    root: &Path,
    job: &str,
    args: &[&str],
    path: &str,
) -> (Output, BTreeMap<String, String>) {
    let outputs = tempfile::NamedTempFile::new().unwrap();
    let mut c = Command::new(wave_bin());
    c.arg("--repo-root")
        .arg(root)
        .arg("ci")
        .args(args)
        .current_dir(root);
    c.env_remove("WAVE_STORE")
        .env_remove("GITHUB_TOKEN")
        .env_remove("GITHUB_REPOSITORY")
        .env("CI", "true")
        .env("PATH", path)
        .env("GITHUB_RUN_ID", "78")
        .env("GITHUB_RUN_ATTEMPT", "1")
        .env("GITHUB_JOB", job)
        .env("GITHUB_OUTPUT", outputs.path());
    if let Some(key) = args.iter().position(|a| *a == "--agent") {
        c.env("WAVE_MATRIX_KEY", args[key + 1]);
    }
    let out = c.output().unwrap();
    let text = std::fs::read_to_string(outputs.path()).unwrap_or_default();
    (out, parse_outputs(&text))
}

#[test]
fn an_agent_whose_executor_failed_runs_on_its_fallback_in_the_next_attempt() {
    let dir = scenario_repo();
    let root = dir.path();
    std::fs::copy(
        fixtures().join("launch/wave-2.md"),
        root.join("docs/plans/waves/wave-2.md"),
    )
    .unwrap();
    let bin = root.join(".fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let codex = bin.join("codex");
    std::fs::write(
        &codex,
        "#!/bin/sh\necho 'codex: model unavailable' >&2\nexit 3\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&codex, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let run = |job: &str, args: &[&str]| unforced(root, job, args, &path);

    let (plan, p) = run("plan", &["plan", "--wave", "2"]);
    assert_exit(&plan, 0);
    assert_eq!(matrix_agents(&p["matrix"]), ["A1"]);
    let (agent, a) = run("agents", &["agent", "--wave", "2", "--agent", "A1"]);
    assert_exit(&agent, 0);
    assert_eq!(a["state"], "failed");
    let (close, c) = run("close", &["close", "--wave", "2"]);
    assert_exit(&close, 43);
    assert_eq!(c["next-attempt"], "true");
    assert!(c["retry-targets"].split(",").any(|t| t == "A1"), "{c:?}");

    let (_, p2) = run("plan", &["plan", "--wave", "2"]);
    assert_eq!(p2["attempt"], "2");
    assert_eq!(matrix_agents(&p2["matrix"]), ["A1"]);
    let (agent2, a2) = run("agents", &["agent", "--wave", "2", "--agent", "A1"]);
    let stderr = String::from_utf8_lossy(&agent2.stderr);
    assert_eq!(code(&agent2), 0, "{stderr}");
    assert!(
        stderr.contains("A1: falling back from codex to local"),
        "{stderr}"
    );
    assert_eq!(a2["state"], "completed", "{stderr}");
    let (close2, c2) = run("close", &["close", "--wave", "2"]);
    assert_exit(&close2, 0);
    assert_eq!(c2["verdict"], "success");

    let control = std::fs::read_dir(root.join(".wave/state/main/wave-2/control"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    let run_on = |attempt: u64| {
        control
            .lines()
            .find(|l| {
                l.contains(&format!("\"wave-2-attempt-{attempt}-agent-A1\""))
                    && l.contains("\"entityType\":\"agent_run\"")
                    && !l.contains("\"started\"")
            })
            .unwrap_or_else(|| panic!("no finished run of A1 in attempt {attempt}"))
            .to_owned()
    };
    assert!(
        run_on(1).contains("\"executorId\":\"codex\""),
        "{}",
        run_on(1)
    );
    assert!(
        run_on(2).contains("\"executorId\":\"local\""),
        "{}",
        run_on(2)
    );
    // One fallback is recorded, for attempt 2.
    assert_eq!(control.matches("\"kind\":\"executor-fallback\"").count(), 1);
}
