//! Real `wave launch` runs with real processes (the local executor, fake agents through
//! `--force-executor command:<program>`, a hanging stand-in for an agent CLI), each in a scratch
//! git repository.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::{assert_exit, copy_tree, wave_bin};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn git_init(root: &Path) {
    let ok = Command::new("git")
        .args(["init", "-q"])
        .current_dir(root)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "git init failed");
}

/// A scratch repository from upstream's `wave init` output.
fn upstream_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&fixtures().join("upstream-init"), dir.path()).unwrap();
    git_init(dir.path());
    dir
}

/// A scratch repository with the scenario waves (1: A0, A1, A2, security reviewer A7, A8, A9;
/// 2: A1 on codex with a local fallback), strict gates from wave 0.
fn scenario_repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let src = fixtures().join("launch");
    std::fs::copy(src.join("wave.config.json"), root.join("wave.config.json")).unwrap();
    let waves = root.join("docs/plans/waves");
    std::fs::create_dir_all(&waves).unwrap();
    for w in ["wave-1.md", "wave-2.md"] {
        std::fs::copy(src.join(w), waves.join(w)).unwrap();
    }
    copy_tree(
        &fixtures().join("upstream-init/docs/agents"),
        &root.join("docs/agents"),
    )
    .unwrap();
    git_init(root);
    dir
}

fn wave(root: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(wave_bin());
    c.arg("--repo-root").arg(root).args(args).current_dir(root);
    c.env_remove("WAVE_STORE").env("CI", "true");
    c.env("WAVE_TEST_BIN", wave_bin());
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
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

fn status(root: &Path, wave_n: &str) -> Value {
    json(&wave(
        root,
        &["control", "status", "--wave", wave_n, "--json"],
        &[],
    ))
}

fn fake_agent() -> String {
    format!(
        "command:{}",
        fixtures().join("launch/fake-agent.sh").display()
    )
}

fn launched(report: &Value, attempt: usize) -> Vec<String> {
    report["waves"][0]["launched"][attempt]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn upstream_scaffolded_wave_zero_closes_with_the_local_executor() {
    let dir = upstream_repo();
    let root = dir.path();
    let out = wave(
        root,
        &[
            "launch",
            "--lane",
            "main",
            "--wave",
            "0",
            "--force-executor",
            "local",
        ],
        &[],
    );
    assert_exit(&out, 0);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Verdict: wave 0 closed."), "{text}");
    let st = status(root, "0");
    assert_eq!(st["closureState"], "passed");
    assert_eq!(st["phase"], "completed");
    // The gate snapshot projection uses upstream's gate names, in order.
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join(".tmp/main-wave-launcher/gates/wave-0.json")).unwrap(),
    )
    .unwrap();
    let keys: Vec<&str> = snap
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "designGate",
            "implementationGate",
            "componentGate",
            "helperAssignmentBarrier",
            "dependencyBarrier",
            "contEvalGate",
            "securityGate",
            "integrationBarrier",
            "documentationGate",
            "componentMatrixGate",
            "contQaGate",
            "infraGate",
            "clarificationBarrier",
            "integrationGate",
            "gateMode",
            "advisoryFailures",
            "overall"
        ]
    );
    assert_eq!(snap["overall"]["statusCode"], "pass");
    assert_eq!(snap["implementationGate"]["statusCode"], "pass");
    // A trace bundle per attempt.
    let trace = root.join(".tmp/main-wave-launcher/traces/wave-0/attempt-1");
    assert!(trace.join("manifest.json").is_file());
    assert!(trace.join("logs/A1.log").is_file());
    // The agent log carries the markers the local executor printed.
    let log = std::fs::read_to_string(trace.join("logs/A1.log")).unwrap();
    assert!(log.contains("[wave-proof] completion=contract durability=none proof=unit state=met"));
    assert!(log.contains("[wave-component] component=wave-parser-and-launcher"));
}

#[test]
fn every_agent_meeting_its_contract_closes_the_wave_including_a_security_reviewer() {
    let dir = scenario_repo();
    let root = dir.path();
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "1",
            "--force-executor",
            "local",
            "--json",
        ],
        &[],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    let w = &report["waves"][0];
    assert_eq!(w["attempts"], 1);
    assert_eq!(w["gates"]["securityGate"]["ok"], true);
    assert_eq!(
        w["gates"]["securityGate"]["detail"],
        "Security review is clear."
    );
    assert_eq!(w["gates"]["overall"]["gate"], "pass");
    // Implementation first (concurrently), then the stewards in stage order.
    let order = launched(&report, 0);
    assert_eq!(sorted(order[..2].to_vec()), ["A1", "A2"]);
    assert_eq!(order[2..], ["A7", "A8", "A9", "A0"]);
    let sec = std::fs::read_to_string(root.join("docs/security/wave-1-security.md")).unwrap();
    assert!(sec.contains("## Final Disposition"));
    assert_eq!(status(root, "1")["closureState"], "passed");
    // Each envelope is in the store.
    for id in ["A0", "A1", "A2", "A7", "A8", "A9"] {
        let p = root.join(format!(
            ".wave/state/main/wave-1/results/attempt-1/{id}.json"
        ));
        assert!(p.is_file(), "{}", p.display());
    }
}

#[test]
fn a_missing_proof_marker_fails_the_implementation_gate_and_the_retry_reruns_only_that_agent() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "1",
            "--force-executor",
            &forced,
            "--json",
        ],
        &[("WAVE_TEST_MODE", "noproof")],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["waves"][0]["attempts"], 2);
    // Attempt 1 stopped at the implementation gate: no steward ran.
    assert_eq!(sorted(launched(&report, 0)), ["A1", "A2"]);
    let first: Value = serde_json::from_str(
        &std::fs::read_to_string(
            root.join(".tmp/main-wave-launcher/traces/wave-1/attempt-1/gate-snapshot.json"),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(
        first["implementationGate"]["statusCode"],
        "missing-wave-proof"
    );
    assert_eq!(first["implementationGate"]["agentId"], "A1");
    // Attempt 2 reran A1 only among the implementation agents, then the closure sweep.
    assert_eq!(launched(&report, 1), ["A1", "A7", "A8", "A9", "A0"]);
    assert_eq!(status(root, "1")["closureState"], "passed");
}

#[test]
fn cont_qa_concerns_end_the_run_with_exit_42() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    let out = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", &forced],
        &[("WAVE_TEST_MODE", "concerns")],
    );
    assert_exit(&out, 42);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cont-qa-concerns"), "{text}");
}

#[test]
fn an_open_targeted_request_blocks_until_it_is_resolved() {
    let dir = scenario_repo();
    let root = dir.path();
    let post = |status: Option<&str>| {
        let mut args = vec![
            "coord",
            "post",
            "--wave",
            "1",
            "--agent",
            "A1",
            "--kind",
            "request",
            "--summary",
            "Need the integration contract",
            "--target",
            "agent:A8",
            "--id",
            "req-a1-a8",
        ];
        if let Some(s) = status {
            args.extend(["--status", s]);
        }
        let out = wave(root, &args, &[]);
        assert_exit(&out, 0);
    };
    post(None);
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "1",
            "--force-executor",
            "local",
            "--json",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(43));
    let report = json(&out);
    let gates = &report["waves"][0]["gates"];
    assert_eq!(
        gates["helperAssignmentBarrier"]["statusCode"],
        "helper-assignment-open"
    );
    assert_eq!(gates["overall"]["gate"], "helperAssignmentBarrier");
    // The retry targets the request's assignee: a closure-only retry (no implementation agent
    // reruns) whose sweep relaunches A8.
    assert_eq!(report["waves"][0]["attempts"], 2);
    let retry = launched(&report, 1);
    assert!(retry.contains(&"A8".to_owned()), "{retry:?}");
    assert!(!retry.iter().any(|a| a == "A1" || a == "A2"), "{retry:?}");
    assert_ne!(status(root, "1")["closureState"], "passed");

    post(Some("resolved"));
    let out = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", "local"],
        &[],
    );
    assert_exit(&out, 0);
    assert_eq!(status(root, "1")["closureState"], "passed");
    // Attempt numbers continue across launches (envelopes are immutable).
    assert!(
        root.join(".wave/state/main/wave-1/results/attempt-3/A1.json")
            .is_file()
    );
}

/// The coordination record `id`'s latest status, from `wave coord show`.
fn record_status(root: &Path, id: &str, now: &str) -> String {
    let out = wave(
        root,
        &["coord", "show", "--wave", "1", "--id", id],
        &[("WAVE_NOW", now)],
    );
    json(&out)["status"].as_str().unwrap_or_default().to_owned()
}

#[test]
fn a_clarification_is_routed_rerouted_and_escalated_on_an_injected_clock_then_answered() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    // A1 asks, on its first run, which error type src/runner.rs (owned by A2) returns.
    let launch = |now: &str| {
        let out = wave(
            root,
            &[
                "launch",
                "--wave",
                "1",
                "--force-executor",
                &forced,
                "--json",
            ],
            &[("WAVE_TEST_MODE", "clarify"), ("WAVE_NOW", now)],
        );
        (out.status.code(), json(&out))
    };
    // Routed to the owner of the path it names; the retry relaunches that owner only.
    let (code, report) = launch("2030-01-01T00:00:00Z");
    assert_eq!(code, Some(43));
    assert_eq!(launched(&report, 1), ["A2"]);
    let gates = &report["waves"][0]["gates"];
    assert_eq!(
        gates["helperAssignmentBarrier"]["statusCode"],
        "helper-assignment-open"
    );
    assert_eq!(
        gates["clarificationBarrier"]["statusCode"],
        "clarification-open"
    );
    let now = "2030-01-01T00:01:00Z";
    assert_eq!(record_status(root, "clar-1", now), "in_progress");
    assert_eq!(record_status(root, "route-clar-1-1", now), "open");
    // A2's prompt carried the follow-up in its inbox and the clarification in the summary.
    let prompt =
        std::fs::read_to_string(root.join(".tmp/main-wave-launcher/prompts/wave-1-1-a2.prompt.md"))
            .unwrap();
    let inbox = prompt.split("Current agent inbox:").nth(1).unwrap();
    assert!(
        inbox.contains("id=route-clar-1-1: Clarification follow-up for A1"),
        "{inbox}"
    );
    let summary = prompt.split("Current wave shared summary:").nth(1).unwrap();
    assert!(summary.contains("- Open clarifications: 1"), "{summary}");

    // Six minutes on, the unacknowledged follow-up is superseded by a second routed cycle.
    let (code, _) = launch("2030-01-01T00:06:00Z");
    assert_eq!(code, Some(43));
    let now = "2030-01-01T00:07:00Z";
    assert_eq!(record_status(root, "route-clar-1-1", now), "superseded");
    assert_eq!(record_status(root, "route-clar-1-2", now), "open");

    // After two routed cycles it goes to a human: a feedback request; no retry can help.
    let (code, report) = launch("2030-01-01T00:12:00Z");
    assert_eq!(code, Some(43));
    assert_eq!(report["waves"][0]["attempts"], 1);
    let pending = json(&wave(
        root,
        &["feedback", "list", "--wave", "1", "--pending", "--json"],
        &[("WAVE_NOW", "2030-01-01T00:13:00Z")],
    ));
    let pending = pending.as_array().unwrap();
    assert_eq!(pending.len(), 1, "{pending:?}");
    let id = pending[0]["id"].as_str().unwrap().to_owned();
    assert!(id.starts_with("20300101001200"), "{id}");
    assert!(id.contains("-main-w1-A1-"), "{id}");
    assert_eq!(
        record_status(root, &format!("escalation-{id}"), "2030-01-01T00:13:00Z"),
        "open"
    );

    // The answer resolves the request, the escalation, the clarification and its follow-up.
    let out = wave(
        root,
        &[
            "feedback",
            "respond",
            "--wave",
            "1",
            "--id",
            &id,
            "--response",
            "It returns ParseError.",
        ],
        &[("WAVE_NOW", "2030-01-01T00:13:00Z")],
    );
    assert_exit(&out, 0);
    let now = "2030-01-01T00:13:30Z";
    for r in ["clar-1", "route-clar-1-2"] {
        assert_eq!(record_status(root, r, now), "resolved", "{r}");
    }
    let (code, report) = launch("2030-01-01T00:14:00Z");
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["waves"][0]["gates"]["overall"]["gate"], "pass");
    assert_eq!(status(root, "1")["closureState"], "passed");
}

fn gone(pid: &str) -> bool {
    let state = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Gone, or a zombie waiting for its reaper.
    state.is_empty() || state.split(") ").nth(1).is_some_and(|s| s.starts_with('Z'))
}

#[test]
fn a_hanging_agent_and_its_children_are_killed_then_the_fallback_executor_runs() {
    let dir = scenario_repo();
    let root = dir.path();
    let bin = root.join(".fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(fixtures().join("launch/codex-hang.sh"), bin.join("codex")).unwrap();
    let pidfile = root.join(".fakebin/child.pid");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let start = Instant::now();
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "2",
            "--timeout-minutes",
            "0.01",
            "--launch-stagger-ms",
            "0",
            "--json",
        ],
        &[
            ("PATH", &path),
            ("WAVE_TEST_PIDFILE", pidfile.to_str().unwrap()),
        ],
    );
    assert!(start.elapsed() < Duration::from_secs(60));
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(report["waves"][0]["attempts"], 2);
    assert_eq!(launched(&report, 1)[0], "A1");
    let child = std::fs::read_to_string(&pidfile).unwrap();
    let child = child.trim();
    let deadline = Instant::now() + Duration::from_secs(5);
    while !gone(child) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(gone(child), "the hanging agent's child {child} survived");
    let control = std::fs::read_dir(root.join(".wave/state/main/wave-2/control"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect::<String>();
    let timed_out = control
        .lines()
        .find(|l| l.contains("\"action\":\"timed_out\""))
        .expect("a timed_out agent_run event");
    assert!(timed_out.contains("wave-2-attempt-1-agent-A1"));
    assert!(timed_out.contains("\"executorId\":\"codex\""));
    let fallback = control
        .lines()
        .find(|l| l.contains("wave-2-attempt-2-agent-A1") && l.contains("\"completed\""))
        .expect("the fallback run");
    assert!(fallback.contains("\"executorId\":\"local\""));
    // The retry engine's fallback is recorded once, and the ledger and the docs queue's
    // runtime assignments show it.
    assert_eq!(control.matches("\"kind\":\"executor-fallback\"").count(), 1);
    let state = root.join(".tmp/main-wave-launcher");
    let ledger: Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("ledger/wave-2.json")).unwrap())
            .unwrap();
    let a1 = ledger["tasks"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["owner"] == "A1"))
        .expect("A1's task");
    assert_eq!(a1["runtime"]["executorId"], "local", "{a1}");
    assert_eq!(a1["runtime"]["selectedBy"], "retry-fallback");
    assert_eq!(a1["runtime"]["fallbackUsed"], true);
    let docs: Value = serde_json::from_str(
        &std::fs::read_to_string(state.join("docs-queue/wave-2.json")).unwrap(),
    )
    .unwrap();
    let assignment = docs["runtimeAssignments"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["agentId"] == "A1"))
        .expect("A1's runtime assignment");
    assert_eq!(assignment["initialExecutorId"], "codex");
    assert_eq!(assignment["executorId"], "local");
    assert_eq!(
        assignment["fallbackReason"], "retry:timeout-no-status",
        "{assignment}"
    );
    let summary = std::fs::read_to_string(state.join("inboxes/wave-2/shared-summary.md")).unwrap();
    assert!(summary.contains("- A1: local ("), "{summary}");
    assert!(summary.contains("fallback-used"), "{summary}");
}

#[test]
fn command_agents_get_the_wave_environment_without_write_tokens() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    let out = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", &forced],
        &[
            ("WAVE_TEST_MODE", "env"),
            ("GH_TOKEN", "secret-1"),
            ("GITHUB_TOKEN", "secret-2"),
        ],
    );
    assert_exit(&out, 0);
    let log = std::fs::read_to_string(root.join(".tmp/main-wave-launcher/logs/wave-1-a1.log"))
        .or_else(|_| {
            std::fs::read_to_string(
                root.join(".tmp/main-wave-launcher/traces/wave-1/attempt-1/logs/A1.log"),
            )
        })
        .unwrap();
    let line = log.lines().find(|l| l.starts_with("env ")).unwrap();
    assert!(
        line.contains("agent=A1 lane=main wave=1 attempt=1 prompt=/"),
        "{line}"
    );
    assert!(line.contains(".prompt.md"), "{line}");
    assert!(line.contains("gh=unset github=unset"), "{line}");
}

fn git(root: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=wave",
            "-c",
            "user.email=wave@example.invalid",
        ])
        .args(args)
        .current_dir(root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn the_starter_example_closes_records_the_promotion_and_leaves_the_checkout_clean() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    copy_tree(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/starter"),
        root,
    )
    .unwrap();
    let _ = std::fs::remove_dir_all(root.join(".tmp"));
    let _ = std::fs::remove_dir_all(root.join(".wave"));
    git_init(root);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "starter"]);
    // The README's first command, twice: a rerun closes again.
    for _ in 0..2 {
        let out = wave(root, &["launch", "--force-executor", "local"], &[]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(git(root, &["status", "--porcelain"]), "");
    }
    let matrix =
        std::fs::read_to_string(root.join("docs/plans/component-cutover-matrix.json")).unwrap();
    assert!(
        matrix.contains("\"currentLevel\": \"repo-landed\""),
        "{matrix}"
    );
    // The stewards' outputs exist; they are ignored, not missing.
    assert!(
        root.join("docs/plans/waves/reviews/wave-0-cont-qa.md")
            .is_file()
    );
    assert_eq!(status(root, "0")["closureState"], "passed");
}

#[test]
fn a_live_launcher_lock_exits_32() {
    let dir = scenario_repo();
    let root = dir.path();
    let state = root.join(".tmp/main-wave-launcher");
    std::fs::create_dir_all(&state).unwrap();
    // PID 1 is always alive.
    std::fs::write(state.join("launcher.lock"), "1").unwrap();
    let out = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", "local"],
        &[],
    );
    assert_eq!(out.status.code(), Some(32));
    assert!(String::from_utf8_lossy(&out.stderr).contains("pid 1"));
}

/// A rerun request narrows the first attempt of a launch; that attempt is part of the launch's
/// budget, never an extra one.
#[test]
fn a_rerun_request_attempt_counts_toward_the_launch_budget() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    let env = [("WAVE_TEST_MODE", "noproof-always")];
    let launch = |root: &Path| {
        wave(
            root,
            &[
                "launch",
                "--wave",
                "1",
                "--force-executor",
                &forced,
                "--max-retries-per-wave",
                "0",
                "--json",
            ],
            &env,
        )
    };
    let first = launch(root);
    assert_exit(&first, 1);
    assert_eq!(json(&first)["waves"][0]["attempts"], 1);
    let req = wave(
        root,
        &[
            "control", "rerun", "request", "--wave", "1", "--agent", "A1", "--id", "rr-b",
        ],
        &[],
    );
    assert_exit(&req, 0);
    let out = launch(root);
    assert_exit(&out, 1);
    let report = json(&out);
    assert_eq!(
        report["waves"][0]["attempts"], 1,
        "the rerun attempt is the whole budget"
    );
    assert_eq!(launched(&report, 0), ["A1"]);
}

#[test]
fn a_rerun_request_reruns_only_its_agents_then_is_applied() {
    let dir = scenario_repo();
    let root = dir.path();
    let first = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", "local"],
        &[],
    );
    assert_eq!(first.status.code(), Some(0));
    let req = wave(
        root,
        &[
            "control", "rerun", "request", "--wave", "1", "--agent", "A2", "--id", "rr-1",
        ],
        &[],
    );
    assert_exit(&req, 0);
    let got = json(&wave(
        root,
        &["control", "rerun", "get", "--wave", "1"],
        &[],
    ));
    assert_eq!(got["requestId"], "rr-1");
    assert_eq!(got["selectedAgentIds"][0], "A2");
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "1",
            "--force-executor",
            "local",
            "--json",
        ],
        &[],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    assert_eq!(launched(&report, 0), ["A2", "A7", "A8", "A9", "A0"]);
    assert_eq!(
        json(&wave(
            root,
            &["control", "rerun", "get", "--wave", "1"],
            &[]
        )),
        Value::Null
    );
    assert_eq!(status(root, "1")["closureState"], "passed");
    let proof = wave(
        root,
        &[
            "control",
            "proof",
            "register",
            "--wave",
            "1",
            "--agent",
            "A1",
            "--id",
            "pb-1",
            "--authoritative",
        ],
        &[],
    );
    assert_eq!(proof.status.code(), Some(0));
    let st = status(root, "1");
    let a1 = st["logicalAgents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["agentId"] == "A1")
        .unwrap()
        .clone();
    assert_eq!(a1["activeProofBundleIds"][0], "pb-1");
}

#[test]
fn replaying_a_trace_bundle_reproduces_each_attempts_gate_snapshot() {
    let dir = scenario_repo();
    let root = dir.path();
    let forced = fake_agent();
    let out = wave(
        root,
        &["launch", "--wave", "1", "--force-executor", &forced],
        &[("WAVE_TEST_MODE", "noproof")],
    );
    assert_eq!(out.status.code(), Some(0));
    // The bundles are hermetic: replay them away from the repository.
    let elsewhere = tempfile::tempdir().unwrap();
    copy_tree(
        &root.join(".tmp/main-wave-launcher/traces/wave-1"),
        elsewhere.path(),
    )
    .unwrap();
    drop(dir);
    let replay = |attempt: &str| {
        let bundle = elsewhere.path().join(attempt);
        let out = Command::new(wave_bin())
            .arg("replay")
            .arg("--trace")
            .arg(&bundle)
            .current_dir(elsewhere.path())
            .output()
            .unwrap();
        (out.status.code(), json(&out))
    };
    let (code, first) = replay("attempt-1");
    assert_eq!(code, Some(0), "{first}");
    assert_eq!(first["matches"], true);
    assert_eq!(first["ok"], false);
    assert_eq!(
        first["gateSnapshot"]["implementationGate"]["statusCode"],
        "missing-wave-proof"
    );
    let (code, second) = replay("attempt-2");
    assert_eq!(code, Some(0), "{second}");
    assert_eq!(
        (second["matches"].clone(), second["ok"].clone()),
        (true.into(), true.into())
    );
    // A bundle whose recorded inputs changed no longer reproduces its verdicts.
    let log = elsewhere.path().join("attempt-1/summaries/A1.log");
    let proof = "[wave-proof] completion=integrated durability=durable proof=integration state=met";
    let text = std::fs::read_to_string(&log).unwrap();
    std::fs::write(&log, format!("{text}{proof}\n")).unwrap();
    let (code, changed) = replay("attempt-1");
    assert_eq!(code, Some(1), "{changed}");
    assert_eq!(changed["matches"], false);
    let paths: Vec<&str> = changed["diffPaths"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        paths.contains(&"implementationGate.statusCode"),
        "{paths:?}"
    );
}

#[test]
fn an_agent_cli_refused_by_a_rate_limit_is_tried_again_within_the_attempt() {
    let dir = scenario_repo();
    let root = dir.path();
    let bin = root.join(".fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(
        fixtures().join("launch/codex-rate-limited.sh"),
        bin.join("codex"),
    )
    .unwrap();
    let counter = bin.join("tries");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "2",
            "--agent-rate-limit-base-delay-seconds",
            "0",
            "--launch-stagger-ms",
            "0",
            "--json",
        ],
        &[
            ("PATH", &path),
            ("WAVE_TEST_COUNTER", counter.to_str().unwrap()),
        ],
    );
    assert_exit(&out, 0);
    let report = json(&out);
    // One attempt: the retry happened inside A1's run, on codex, not through a fallback.
    assert_eq!(report["waves"][0]["attempts"], 1);
    let log =
        std::fs::read_to_string(root.join(".tmp/main-wave-launcher/logs/wave-2-2-a1.log")).unwrap();
    let refused = log.find("429 Too Many Requests").expect("the refused try");
    let notice = log
        .find("[main-wave-launcher] rate-limit detected for A1; retry 1/2 after 0s")
        .expect("the retry notice");
    let proof = log.find("[wave-proof]").expect("the second try's output");
    assert!(refused < notice && notice < proof, "{log}");
}

#[test]
fn a_fallback_that_would_break_the_runtime_mix_targets_blocks_the_retry() {
    let dir = scenario_repo();
    let root = dir.path();
    // Three agents of wave 2 already run locally; a fourth would exceed the target.
    let mut config: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("wave.config.json")).unwrap())
            .unwrap();
    config["lanes"] = serde_json::json!({"main": {"runtimeMixTargets": {"local": 3}}});
    std::fs::write(root.join("wave.config.json"), config.to_string()).unwrap();
    let bin = root.join(".fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(fixtures().join("launch/codex-hang.sh"), bin.join("codex")).unwrap();
    let pidfile = bin.join("child.pid");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = wave(
        root,
        &[
            "launch",
            "--wave",
            "2",
            "--timeout-minutes",
            "0.01",
            "--launch-stagger-ms",
            "0",
            "--json",
        ],
        &[
            ("PATH", &path),
            ("WAVE_TEST_PIDFILE", pidfile.to_str().unwrap()),
        ],
    );
    assert_exit(&out, 43);
    let report = json(&out);
    let w = &report["waves"][0];
    assert_eq!(w["attempts"], 1);
    assert_eq!(w["retryBarrier"]["statusCode"], "retry-fallback-blocked");
    let detail = w["retryBarrier"]["detail"].as_str().unwrap();
    assert!(detail.contains("runtime mix"), "{detail}");
}
