//! `wave github report` against a stateful fake GitHub that validates every request and
//! response against GitHub's official OpenAPI description.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;
#[path = "support/fake_github/mod.rs"]
mod fake_github;

use std::path::Path;
use std::process::{Command, Output};

use fake_github::{FakeGithub, Fault};
use serde_json::{Value, json};
use wave_runner::github::GithubError;
use wave_runner::github::client::{Api, ApiRequest, Credentials, OctocrabApi, RetryPolicy};

const SHA: &str = "6dcb09b5b57875f334f61aebed695e2e4193db5e";

fn report(state: &str, requests: usize, problems: usize) -> Value {
    json!({
        "lane": "main",
        "wave": 3,
        "state": state,
        "gates": [
            {"name": "implementationGate", "ok": true, "statusCode": "pass"},
            {"name": "contQaGate", "ok": state == "passed", "statusCode": if state == "passed" { "pass" } else { "missing-verdict" }, "agentId": "A0"}
        ],
        "blockers": if state == "passed" { json!([]) } else { json!([{"id": "b1", "kind": "gate-failure", "owner": "A0", "detail": "no cont-QA verdict"}]) },
        "requests": (0..requests).map(|i| json!({
            "id": format!("req-{i}"), "kind": "clarification", "agentId": "A1",
            "question": format!("Question {i}?"), "context": "context"
        })).collect::<Vec<_>>(),
        "agents": [{"id": "A1", "state": "blocked", "attempts": 1}, {"id": "A0", "state": "pending", "attempts": 1}],
        "problems": (0..problems).map(|i| json!({
            "path": format!("src/missing_{i}.rs"), "title": "missing deliverable",
            "message": "the declared deliverable does not exist"
        })).collect::<Vec<_>>(),
        "retryTargets": ["A0"],
        "stamp": {"commit": SHA, "planHash": "plan123", "runnerVersion": "0.1.0"}
    })
}

struct Run {
    dir: tempfile::TempDir,
}

impl Run {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }

    fn report(&self, fake: &FakeGithub, report: &Value, extra: &[&str]) -> Output {
        let path = self.path("report.json");
        std::fs::write(&path, report.to_string()).expect("write report");
        let mut cmd = Command::new(common::wave_bin());
        cmd.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("GITHUB_API_URL", &fake.url)
            .env("GITHUB_TOKEN", "ghs_testtoken")
            .env("GITHUB_REPOSITORY", "octo/repo")
            .env("WAVE_GITHUB_RETRY_BASE_MS", "10")
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("summary.md"))
            .arg("--repo-root")
            .arg(self.dir.path())
            .args([
                "github",
                "report",
                "--lane",
                "main",
                "--wave",
                "3",
                "--sha",
                SHA,
                "--pr",
                "7",
                "--json",
                "--report-json",
            ])
            .arg(&path)
            .args(extra);
        cmd.output().expect("run wave")
    }
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "wave failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

fn writes(fake: &FakeGithub) -> usize {
    fake.log().iter().filter(|s| s.method != "GET").count()
}

fn assert_clean(fake: &FakeGithub) {
    let v = fake.violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");
}

#[test]
fn failing_wave_then_passing_wave_updates_in_place() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();

    let first = ok(&run.report(&fake, &report("failed", 1, 2), &[]));
    assert_eq!(first["published"]["checkRun"], "created");
    assert_eq!(first["published"]["conclusion"], "failure");
    fake.with(|s| {
        assert_eq!(s.check_runs.len(), 1);
        let run = &s.check_runs[0];
        assert_eq!(run["name"], "wave / main / 3");
        assert_eq!(run["conclusion"], "failure");
        assert_eq!(run["head_sha"], SHA);
        assert_eq!(
            run["output"]["title"],
            "failing gate: contQaGate (missing-verdict)"
        );
        let summary = run["output"]["summary"].as_str().unwrap_or_default();
        assert!(summary.contains("| contQaGate | ❌ fail |"), "{summary}");
        assert!(summary.contains("owner: A0"));
        assert!(summary.contains("plan `plan123`"));
        assert_eq!(s.annotations.len(), 2);
        assert_eq!(s.comments.len(), 2, "sticky + one request comment");
        let bodies: Vec<&str> = s
            .comments
            .iter()
            .map(|(_, c)| c["body"].as_str().unwrap_or_default())
            .collect();
        assert!(bodies[0].starts_with("<!-- wave:main:3 -->"));
        assert!(bodies[1].starts_with("<!-- wave:main:3:request:req-0 -->"));
        assert!(bodies[1].contains("/wave answer req-0 <your answer>"));
    });

    // Nothing changed: no write at all.
    let before = writes(&fake);
    let again = ok(&run.report(&fake, &report("failed", 1, 2), &[]));
    assert_eq!(again["published"]["checkRun"], "unchanged");
    assert_eq!(again["published"]["writes"], 0);
    assert_eq!(writes(&fake), before);

    // The wave closes: the same check run turns green, the sticky comment is edited.
    let passed = ok(&run.report(&fake, &report("passed", 0, 0), &[]));
    assert_eq!(passed["published"]["checkRun"], "updated");
    assert_eq!(passed["published"]["stickyComment"], "updated");
    assert_eq!(
        passed["published"]["checkRunId"],
        first["published"]["checkRunId"]
    );
    fake.with(|s| {
        assert_eq!(s.check_runs.len(), 1);
        assert_eq!(s.check_runs[0]["conclusion"], "success");
        assert_eq!(s.comments.len(), 2, "no new comment");
        assert!(
            s.comments[0].1["body"]
                .as_str()
                .unwrap_or_default()
                .contains("✅")
        );
        assert_eq!(s.annotations.len(), 2, "annotations are not re-sent");
    });
    let patches: Vec<String> = fake
        .log()
        .iter()
        .filter(|s| s.path.contains("/issues/comments/"))
        .map(|s| s.method.clone())
        .collect();
    assert_eq!(
        patches,
        vec!["PATCH", "PATCH"],
        "sticky and answered request edited with PATCH"
    );
    assert_eq!(
        passed["published"]["writes"], 3,
        "check run, sticky, closed request"
    );

    let output = std::fs::read_to_string(run.path("output")).expect("GITHUB_OUTPUT");
    assert!(output.contains("verdict=failure\n"));
    assert!(output.contains("verdict=success\n"));
    assert!(output.contains("retry-targets=A0\n"));
    let summary = std::fs::read_to_string(run.path("summary.md")).expect("step summary");
    assert!(summary.contains("| contQaGate |"));
    assert_clean(&fake);
}

#[test]
fn faults_converge_without_duplicates() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    // The check-run create lands but its answer is a 500; the sticky comment's create lands
    // but the connection drops; the request comment is rate limited once; a lookup fails.
    fake.inject("POST", Fault::ServerErrorAfter);
    fake.inject("GET", Fault::ServerErrorBefore);
    fake.inject("POST", Fault::DropAfter);
    fake.inject("POST", Fault::SecondaryRateLimit(1));
    let out = ok(&run.report(&fake, &report("awaiting-human", 1, 0), &[]));
    assert_eq!(out["published"]["conclusion"], "action_required");
    fake.with(|s| {
        assert_eq!(s.check_runs.len(), 1, "no duplicate check run");
        assert_eq!(s.check_runs[0]["conclusion"], "action_required");
        assert_eq!(s.comments.len(), 2, "no duplicate comment");
    });
    let statuses: Vec<u16> = fake.log().iter().map(|s| s.status).collect();
    assert!(statuses.contains(&500) && statuses.contains(&403) && statuses.contains(&0));

    // And again, with faults on the edits: still one of each.
    fake.inject("PATCH", Fault::ServerErrorBefore);
    fake.inject("PATCH", Fault::DropAfter);
    fake.inject("GET", Fault::PrimaryRateLimit(1));
    let out = ok(&run.report(&fake, &report("failed", 1, 0), &[]));
    assert_eq!(out["published"]["conclusion"], "failure");
    fake.with(|s| {
        assert_eq!(s.check_runs.len(), 1);
        assert_eq!(s.check_runs[0]["conclusion"], "failure");
        assert_eq!(s.comments.len(), 2);
    });
    assert!(fake.log().iter().any(|s| s.status == 429));
    assert_clean(&fake);
}

#[test]
fn many_agents_and_annotations_stay_within_limits() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    let mut big = report("failed", 1, 120);
    big["agents"] = json!((0..3000).map(|i| json!({"id": format!("A{i}"), "state": "failed", "attempts": 3, "detail": "x".repeat(60)})).collect::<Vec<_>>());
    big["blockers"] = json!((0..2000).map(|i| json!({"id": format!("b{i}"), "kind": "blocker", "owner": "A1", "detail": "y".repeat(80)})).collect::<Vec<_>>());
    ok(&run.report(&fake, &big, &[]));
    fake.with(|s| {
        assert_eq!(s.annotations.len(), 120, "all annotations, 50 per request");
        let out = &s.check_runs[0]["output"];
        assert!(out["summary"].as_str().unwrap_or_default().chars().count() <= 65_535);
        assert!(
            out["summary"]
                .as_str()
                .unwrap_or_default()
                .contains("truncated")
        );
    });

    // One agent changes: at most 3 writes whatever the number of agents.
    let before = writes(&fake);
    big["agents"][5]["state"] = json!("proven");
    let out = ok(&run.report(&fake, &big, &[]));
    let made = writes(&fake) - before;
    assert!(made <= 3, "{made} writes");
    assert_eq!(out["published"]["writes"].as_u64(), Some(made as u64));
    fake.with(|s| {
        assert_eq!(
            s.annotations.len(),
            120,
            "annotations unchanged, not re-sent"
        )
    });
    assert_clean(&fake);
}

#[test]
fn dry_run_prints_every_request_and_sends_none() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    let out = run.report(&fake, &report("failed", 2, 1), &["--dry-run"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("GET /repos/octo/repo/commits/"));
    assert!(text.contains("POST /repos/octo/repo/check-runs"));
    assert_eq!(
        text.matches("POST /repos/octo/repo/issues/7/comments")
            .count(),
        3
    );
    assert!(fake.log().is_empty(), "dry run sent requests");
    assert!(!run.path("output").exists());
    assert_clean(&fake);
}

#[test]
fn the_fake_refuses_what_github_does_not_allow() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let api = OctocrabApi::connect(
        &fake.url,
        &Credentials::Token("t".into()),
        None,
        RetryPolicy::default(),
        Box::new(|_| {}),
        &|_| {},
    )
    .expect("client");
    // Editing a comment with POST (the method the API does not document for it).
    let err = api
        .send(&ApiRequest::post(
            "/repos/o/r/issues/comments/1",
            json!({"body": "x"}),
        ))
        .expect_err("POST edit refused");
    assert!(matches!(err, GithubError::Api { status: 422, .. }), "{err}");
    // 51 annotations in one request; a 70,000-character summary.
    let annotations: Vec<Value> = (0..51)
        .map(|i| json!({"path": "a", "start_line": i + 1, "end_line": i + 1, "annotation_level": "failure", "message": "m"}))
        .collect();
    let body = json!({"name": "n", "head_sha": SHA, "output": {"title": "t", "summary": "s".repeat(70_000), "annotations": annotations}});
    assert!(
        api.send(&ApiRequest::post("/repos/o/r/check-runs", body))
            .is_err()
    );
    // An undeclared query parameter.
    assert!(
        api.send(&ApiRequest::get("/repos/o/r/issues/1/comments?bogus=1"))
            .is_err()
    );
    let v = fake.violations();
    assert!(v.iter().any(|e| e.contains("no such operation")), "{v:#?}");
    assert!(v.iter().any(|e| e.contains("maxItems is 50")), "{v:#?}");
    assert!(v.iter().any(|e| e.contains("maxLength is 65535")), "{v:#?}");
    assert!(
        v.iter().any(|e| e.contains("`bogus` is not declared")),
        "{v:#?}"
    );
}

#[test]
fn status_json_from_control_is_accepted() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    let status = json!({
        "lane": "main", "wave": 3, "executionState": "pending", "closureState": "blocked",
        "blockingEdge": {"kind": "human-input", "id": "r1", "agentId": "A1", "detail": "q"},
        "logicalAgents": [{"agentId": "A1", "state": "blocked", "reason": "q"}],
        "tasks": [{"taskId": "r1", "taskType": "human-input", "state": "input-required",
                   "title": "May we drop legacy syntax?", "detail": "ctx", "ownerAgentId": "A1",
                   "blocking": true, "needsHuman": true}]
    });
    let path = run.path("status.json");
    std::fs::write(&path, status.to_string()).expect("write");
    let out = Command::new(common::wave_bin())
        .env_clear()
        .env("GITHUB_API_URL", &fake.url)
        .env("GITHUB_TOKEN", "t")
        .env("GITHUB_REPOSITORY", "octo/repo")
        .arg("--repo-root")
        .arg(run.dir.path())
        .args([
            "github",
            "report",
            "--wave",
            "3",
            "--sha",
            SHA,
            "--pr",
            "9",
            "--json",
            "--status-json",
        ])
        .arg(&path)
        .output()
        .expect("run");
    let out = ok(&out);
    assert_eq!(out["published"]["conclusion"], "action_required");
    fake.with(|s| {
        assert!(s.comments.iter().any(|(_, c)| {
            c["body"]
                .as_str()
                .unwrap_or_default()
                .contains("/wave answer r1")
        }));
    });
    assert_clean(&fake);
}

#[test]
fn missing_credentials_are_a_config_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("r.json");
    std::fs::write(&path, report("failed", 0, 0).to_string()).expect("write");
    let out = Command::new(common::wave_bin())
        .env_clear()
        .env("GITHUB_REPOSITORY", "o/r")
        .args([
            "github",
            "report",
            "--wave",
            "3",
            "--sha",
            SHA,
            "--report-json",
        ])
        .arg(&path)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("GITHUB_TOKEN"));
}

#[test]
fn the_fake_checks_its_own_responses() {
    let Some(spec) = fake_github::openapi::spec() else {
        return;
    };
    let good = fake_github::openapi::example(spec, "check-run-example-of-completed-conclusion");
    assert!(
        fake_github::openapi::check_response(spec, "POST", "/repos/o/r/check-runs", 201, &good)
            .is_empty()
    );
    let mut bad = good.clone();
    bad["status"] = json!("finished");
    bad.as_object_mut().map(|m| m.remove("head_sha"));
    let errors =
        fake_github::openapi::check_response(spec, "POST", "/repos/o/r/check-runs", 201, &bad);
    assert!(errors.iter().any(|e| e.contains("head_sha")), "{errors:#?}");
    assert!(errors.iter().any(|e| e.contains("finished")), "{errors:#?}");
    assert!(
        !fake_github::openapi::check_response(spec, "POST", "/repos/o/r/check-runs", 299, &good)
            .is_empty()
    );
}

#[test]
fn github_app_credentials_become_a_masked_installation_token() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    let key = Command::new("openssl")
        .args(["genrsa", "-traditional", "2048"])
        .output()
        .expect("openssl is installed");
    assert!(key.status.success());
    let pem = String::from_utf8(key.stdout).expect("pem");
    let path = run.path("report.json");
    std::fs::write(&path, report("running", 0, 0).to_string()).expect("write");
    let out = Command::new(common::wave_bin())
        .env_clear()
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_API_URL", &fake.url)
        .env("GITHUB_REPOSITORY", "octo/repo")
        .env("WAVE_GITHUB_APP_ID", "42")
        .env("WAVE_GITHUB_APP_PRIVATE_KEY", &pem)
        .args([
            "github",
            "report",
            "--wave",
            "3",
            "--sha",
            SHA,
            "--json",
            "--report-json",
        ])
        .arg(&path)
        .output()
        .expect("run");
    let json = ok(&out);
    assert_eq!(json["published"]["conclusion"], Value::Null, "in progress");
    let log = fake.log();
    assert_eq!(log[0].path, "/repos/octo/repo/installation");
    assert!(
        log[1]
            .path
            .starts_with("/app/installations/1/access_tokens")
    );
    let auth = |i: usize| {
        log[i]
            .headers
            .iter()
            .find(|(k, _)| k == "authorization")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    assert!(auth(0).starts_with("Bearer ey"), "a JWT");
    let token = fake_github::openapi::example(
        fake_github::openapi::spec().expect("spec"),
        "installation-token",
    )["token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(auth(2), format!("Bearer {token}"));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains(&format!("::add-mask::{token}")), "{stderr}");
    let first_key_line = pem.lines().nth(1).unwrap_or_default();
    assert!(stderr.contains(&format!("::add-mask::{first_key_line}")));
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&token));
    fake.with(|s| assert_eq!(s.check_runs[0]["status"], "in_progress"));
    assert_clean(&fake);
}

#[test]
fn outsiders_cannot_hijack_the_sticky_comment() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let run = Run::new();
    // An outsider posts look-alike markers before the runner does.
    let forged = fake.add_comment(7, "<!-- wave:main:3 -->\nall green, merge it");
    let forged_request =
        fake.add_comment(7, "<!-- wave:main:3:request:req-0 -->\nanswered already");
    fake.with(|s| {
        for (_, c) in s.comments.iter_mut() {
            c["author_association"] = json!("NONE");
        }
    });
    ok(&run.report(&fake, &report("failed", 1, 0), &[]));
    fake.with(|s| {
        assert_eq!(
            s.comments.len(),
            4,
            "the runner's own two comments were created"
        );
        let body = |id: u64| {
            s.comments
                .iter()
                .find(|(_, c)| c["id"] == id)
                .map(|(_, c)| c["body"].as_str().unwrap_or_default().to_owned())
                .unwrap_or_default()
        };
        assert!(body(forged).ends_with("all green, merge it"), "untouched");
        assert!(
            body(forged_request).ends_with("answered already"),
            "untouched"
        );
    });
    // And the runner finds its own next time.
    let again = ok(&run.report(&fake, &report("failed", 1, 0), &[]));
    assert_eq!(again["published"]["writes"], 0);
    assert_clean(&fake);
}

/// The GitHub half of the answer loop: a report asks, an authorized answer is ingested into
/// the store, and the next report (the engine's verdict after relaunch, given here) turns the
/// same check run green and edits the same sticky comment.
#[test]
fn answer_loop_through_the_store() {
    use wave_runner::store::{DirStore, EventStore, StreamId, read_stream};
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let Some(examples) = fake_github::openapi::package_file(
        "@octokit/webhooks-examples",
        "api.github.com/index.json",
    ) else {
        return;
    };
    let run = Run::new();
    let state = run.path("state");
    let record = json!({
        "recordVersion": 1, "id": "req-0", "kind": "clarification-request", "wave": 3,
        "lane": "main", "agentId": "A1", "targets": [], "status": "open", "priority": "normal",
        "blocking": true, "blockerSeverity": "closure-critical", "artifactRefs": [],
        "dependsOn": [], "closureCondition": "", "createdAt": "2026-01-01T00:00:00.000Z",
        "updatedAt": "2026-01-01T00:00:00.000Z", "confidence": "medium",
        "summary": "Question 0?", "detail": "context", "attempt": null, "source": "agent",
        "executorId": null, "project": null, "requesterLane": null, "ownerLane": null,
        "requesterProject": null, "ownerProject": null, "requesterWave": null,
        "ownerWave": null, "required": false
    });
    DirStore::new(&state)
        .append(
            &StreamId::coordination("main", 3),
            "local-seed-1",
            "2026-01-01T00:00:00Z".parse().expect("ts"),
            &[record.as_object().cloned().unwrap_or_default()],
        )
        .expect("seed");

    let asked = ok(&run.report(&fake, &report("awaiting-human", 1, 0), &[]));
    assert_eq!(asked["published"]["conclusion"], "action_required");
    let request_comment = fake.with(|s| {
        s.comments
            .iter()
            .find(|(_, c)| {
                c["body"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(":request:req-0")
            })
            .map(|(_, c)| c["body"].as_str().unwrap_or_default().to_owned())
    });
    assert!(request_comment.is_some_and(|b| b.contains("/wave answer req-0")));

    // A maintainer answers in the thread; the event is ingested.
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(examples).expect("read")).expect("json");
    let mut event = all
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == "issue_comment")
        .flat_map(|e| e["examples"].as_array().cloned().unwrap_or_default())
        .find(|x| x["action"] == "created")
        .expect("issue_comment example");
    event["comment"]["body"] = json!("/wave answer req-0 Use spans.");
    event["comment"]["author_association"] = json!("MEMBER");
    let event_path = run.path("event.json");
    std::fs::write(&event_path, event.to_string()).expect("write");
    let out = Command::new(common::wave_bin())
        .env_clear()
        .env("GITHUB_EVENT_NAME", "issue_comment")
        .arg("--store")
        .arg(format!("dir:{}", state.display()))
        .args(["github", "ingest", "--event"])
        .arg(&event_path)
        .output()
        .expect("ingest");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let records = read_stream(&DirStore::new(&state), &StreamId::coordination("main", 3))
        .expect("read")
        .records;
    assert!(
        records
            .iter()
            .any(|r| r.record["id"] == "req-0" && r.record["status"] == "resolved")
    );

    // The wave closes on the next launch; its report turns the same check run green.
    let closed = ok(&run.report(&fake, &report("passed", 0, 0), &[]));
    assert_eq!(
        closed["published"]["checkRunId"],
        asked["published"]["checkRunId"]
    );
    assert_eq!(closed["published"]["checkRun"], "updated");
    assert_eq!(closed["published"]["stickyComment"], "updated");
    fake.with(|s| {
        assert_eq!(s.check_runs.len(), 1);
        assert_eq!(s.check_runs[0]["conclusion"], "success");
        assert_eq!(s.comments.len(), 2, "sticky edited, not duplicated");
        let request = s.comments[1].1["body"].as_str().unwrap_or_default();
        assert!(request.contains("is no longer waiting"), "{request}");
    });
    // Closed stays closed: nothing to write next time.
    let again = ok(&run.report(&fake, &report("passed", 0, 0), &[]));
    assert_eq!(again["published"]["writes"], 0);
    assert_clean(&fake);
}

/// `wave control status --json` on the status scenarios, published through the fake: the
/// conclusion follows the control plane's closure state; only a request that waits on a person
/// (human input, an escalation) makes it `action_required`.
#[test]
fn control_status_of_real_scenarios_publishes_truthful_conclusions() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let scenarios = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/scenarios");
    let cases = [
        ("human-feedback-open", Some("action_required"), 1),
        // A clarification no one escalated to a person fails its gate; it is still answerable.
        ("clarification-open", Some("failure"), 1),
        ("blocker-open", Some("failure"), 0),
        ("resolved-all", Some("success"), 0),
        ("attempt-running", None, 0),
    ];
    for (pr, (name, conclusion, requests)) in (1u64..).zip(cases) {
        let dir = tempfile::tempdir().expect("tempdir");
        common::copy_tree(&scenarios.join("_base"), dir.path()).expect("copy base");
        common::copy_tree(&scenarios.join(name).join("input"), dir.path()).expect("copy input");
        let status = Command::new(common::wave_bin())
            .env_clear()
            .arg("--repo-root")
            .arg(dir.path())
            .args([
                "control", "status", "--lane", "main", "--wave", "0", "--json",
            ])
            .output()
            .expect("control status");
        assert!(
            status.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
        let path = dir.path().join("status.json");
        std::fs::write(&path, &status.stdout).expect("write");
        let out = Command::new(common::wave_bin())
            .env_clear()
            .env("GITHUB_API_URL", &fake.url)
            .env("GITHUB_TOKEN", "t")
            .env("GITHUB_REPOSITORY", "octo/repo")
            .arg("--repo-root")
            .arg(dir.path())
            .args([
                "github",
                "report",
                "--wave",
                "0",
                "--sha",
                SHA,
                "--json",
                "--status-json",
            ])
            .arg(&path)
            .arg("--pr")
            .arg(pr.to_string())
            .output()
            .expect("report");
        let json = ok(&out);
        assert_eq!(
            json["published"]["conclusion"].as_str(),
            conclusion,
            "{name}: {json}"
        );
        assert_eq!(
            json["published"]["requests"].as_array().map(Vec::len),
            Some(requests),
            "{name}"
        );
    }
    fake.with(|s| assert_eq!(s.check_runs.len(), 1, "one check run per wave and commit"));
    assert_clean(&fake);
}
