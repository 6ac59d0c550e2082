//! End to end: a wave run by `wave launch` in a scratch git repository, its verdict published by
//! `wave github report` (which reads the wave's state from the store) to a stateful fake GitHub
//! that validates every request against GitHub's OpenAPI description, a maintainer's answer
//! ingested from a real `issue_comment` payload, the next launch closing the wave, and the
//! same check run turning green. Also: a push marking the old verdict stale, the plan hash of
//! the stamp, and the Actions plumbing of `wave launch`.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;
#[path = "support/fake_github/mod.rs"]
mod fake_github;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use fake_github::FakeGithub;
use serde_json::{Value, json};

const PR: u64 = 7;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// A fake agent: the local executor's output, except that on its first run agent A1 posts a
/// clarification request through `wave coord post`, as a real agent would, and stops without
/// proof until it is answered.
const ASKING_AGENT: &str = r#"#!/bin/sh
out=$("$WAVE_TEST_BIN" local --prompt-file "$1") || exit $?
if [ "$WAVE_AGENT_ID" = A1 ] && [ ! -f "$WAVE_TEST_DIR/asked" ]; then
  touch "$WAVE_TEST_DIR/asked"
  "$WAVE_TEST_BIN" coord post --wave "$WAVE_WAVE" --agent A1 --kind clarification-request \
    --summary "Which schema version should the parser emit?" --id clar-schema >/dev/null || exit 1
  printf '%s\n' "waiting for an answer to clar-schema" "::warning::printed by the agent"
  exit 0
fi
printf '%s\n' "$out"
printf '%s\n' "::warning::printed by the agent"
"#;

/// A scratch repository with the scenario's wave 1 (implementation agents A1, A2, security
/// reviewer A7, stewards A8, A9, cont-QA A0), committed so the check run has a real commit.
struct Scratch {
    dir: tempfile::TempDir,
    aux: tempfile::TempDir,
}

impl Scratch {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let aux = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        let src = fixtures().join("launch");
        std::fs::copy(src.join("wave.config.json"), root.join("wave.config.json")).expect("cp");
        let waves = root.join("docs/plans/waves");
        std::fs::create_dir_all(&waves).expect("mkdir");
        std::fs::copy(src.join("wave-1.md"), waves.join("wave-1.md")).expect("cp");
        common::copy_tree(
            &fixtures().join("upstream-init/docs/agents"),
            &root.join("docs/agents"),
        )
        .expect("copy role prompts");
        std::fs::write(root.join(".gitignore"), ".tmp/\n.wave/\n").expect("gitignore");
        let agent = aux.path().join("asking-agent.sh");
        std::fs::write(&agent, ASKING_AGENT).expect("agent");
        make_executable(&agent);
        let s = Self { dir, aux };
        s.git(&["init", "-q"]);
        s.commit("plan wave 1");
        s
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(["-c", "user.name=wave", "-c", "user.email=wave@example.com"])
            .args(args)
            .current_dir(self.root())
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    fn commit(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    fn wave(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut c = Command::new(common::wave_bin());
        c.env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", self.aux.path())
            .env("WAVE_TEST_BIN", common::wave_bin())
            .env("WAVE_TEST_DIR", self.aux.path())
            .arg("--repo-root")
            .arg(self.root())
            .args(args)
            .current_dir(self.root());
        for (k, v) in env {
            c.env(k, v);
        }
        c.output().expect("run wave")
    }

    fn launch(&self, env: &[(&str, &str)]) -> Output {
        let agent = format!(
            "command:{}",
            self.aux.path().join("asking-agent.sh").display()
        );
        self.wave(
            &[
                "launch",
                "--wave",
                "1",
                "--force-executor",
                &agent,
                "--json",
            ],
            env,
        )
    }

    fn report(&self, fake: &FakeGithub, sha: &str) -> Value {
        let out = self.wave(
            &[
                "github", "report", "--wave", "1", "--sha", sha, "--pr", "7", "--json",
            ],
            &[
                ("GITHUB_API_URL", &fake.url),
                ("GITHUB_TOKEN", "ghs_e2etoken"),
                ("GITHUB_REPOSITORY", "octo/repo"),
                ("WAVE_GITHUB_RETRY_BASE_MS", "10"),
            ],
        );
        ok(&out)
    }

    fn ingest(&self, name: &str, event: &Value) -> Value {
        let path = self.aux.path().join(format!("{name}.json"));
        std::fs::write(&path, event.to_string()).expect("write event");
        let out = self.wave(
            &[
                "github",
                "ingest",
                "--json",
                "--event",
                &path.display().to_string(),
            ],
            &[("GITHUB_EVENT_NAME", name)],
        );
        ok(&out)
    }
}

#[cfg(unix)]
fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

fn ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "wave failed ({:?}): {}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)))
}

/// The first real example payload of `event` with `action`, or `None` when the examples are not
/// installed (the fake's own check decides whether that skips or fails).
fn example(event: &str, action: &str) -> Option<Value> {
    let path = fake_github::openapi::package_file(
        "@octokit/webhooks-examples",
        "api.github.com/index.json",
    )?;
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    all.as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["name"] == event)
        .flat_map(|e| e["examples"].as_array().cloned().unwrap_or_default())
        .find(|x| x["action"] == action)
}

fn comment_event(base: &Value, id: u64, body: &str, association: &str) -> Value {
    let mut event = base.clone();
    event["issue"]["number"] = json!(PR);
    event["comment"]["id"] = json!(id);
    event["comment"]["body"] = json!(body);
    event["comment"]["author_association"] = json!(association);
    event["comment"]["user"]["type"] = json!("User");
    event["comment"]["user"]["login"] = json!("maintainer");
    event
}

fn writes(fake: &FakeGithub) -> usize {
    fake.log().iter().filter(|s| s.method != "GET").count()
}

fn check_runs(fake: &FakeGithub) -> Vec<Value> {
    fake.with(|s| s.check_runs.clone())
}

fn comments(fake: &FakeGithub) -> Vec<String> {
    fake.with(|s| {
        s.comments
            .iter()
            .filter(|(issue, _)| *issue == PR)
            .map(|(_, c)| c["body"].as_str().unwrap_or_default().to_owned())
            .collect()
    })
}

#[test]
fn launch_report_answer_relaunch_report_turns_the_same_check_run_green() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let (Some(comment), Some(push)) = (
        example("issue_comment", "created"),
        example("pull_request", "synchronize"),
    ) else {
        return;
    };
    let repo = Scratch::new();
    let sha = repo.git(&["rev-parse", "HEAD"]);

    // 1. The agent asks a question; the wave cannot close.
    let out = repo.launch(&[]);
    assert_eq!(
        out.status.code(),
        Some(43),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 2. The report reads the wave's state itself: failure naming the blocking gate, a sticky
    //    comment, and one comment carrying the request id and how to answer it.
    let first = repo.report(&fake, &sha);
    assert_eq!(first["state"], "failed");
    assert_eq!(first["published"]["checkRun"], "created");
    assert_eq!(first["published"]["conclusion"], "failure");
    assert_eq!(first["published"]["writes"], 3, "{first:#}");
    let runs = check_runs(&fake);
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["head_sha"], sha.as_str());
    assert_eq!(run["conclusion"], "failure");
    assert_eq!(
        run["output"]["title"], "failing gate: implementationGate (missing-wave-proof)",
        "missing proof outranks the open question"
    );
    let summary = run["output"]["summary"].as_str().unwrap_or_default();
    assert!(
        summary.contains("| clarificationBarrier | ❌ fail | clarification-open | A1 |"),
        "{summary}"
    );
    assert!(
        summary.contains("| implementationGate | ❌ fail | missing-wave-proof | A1 |"),
        "{summary}"
    );
    assert!(
        summary.contains("`clar-schema` (clarification) — owner: human"),
        "{summary}"
    );
    assert!(summary.contains("| A1 | working | 1 |"), "{summary}");
    assert!(
        summary.contains(&format!("verdict for commit `{sha}`")),
        "{summary}"
    );
    let bodies = comments(&fake);
    assert_eq!(
        bodies.len(),
        2,
        "sticky + one comment for the escalated question: {bodies:#?}"
    );
    assert!(bodies[0].starts_with("<!-- wave:main:1 -->"));
    // The launcher's triage escalated the clarification to a human request (§3.8); the comment
    // carries that request's id.
    let request_id = bodies[1]
        .strip_prefix("<!-- wave:main:1:request:")
        .and_then(|rest| rest.split_once(" -->"))
        .map(|(id, _)| id.to_owned())
        .expect("request comment marker");
    assert!(request_id.contains("-main-w1-A1-"), "{request_id}");
    assert!(summary.contains(&format!("`{request_id}` (human-input) — owner: human")));
    assert!(bodies[1].contains(&format!("/wave answer {request_id} <your answer>")));
    assert!(bodies[1].contains("Which schema version should the parser emit?"));

    // 3. An outsider's answer changes nothing.
    let outsider = repo.ingest(
        "issue_comment",
        &comment_event(
            &comment,
            9001,
            &format!("/wave answer {request_id} Use v1"),
            "NONE",
        ),
    );
    assert_eq!(outsider["applied"], json!([]), "{outsider}");
    assert_eq!(
        outsider["ignored"].as_array().map(Vec::len),
        Some(1),
        "{outsider}"
    );

    // 4. A member answers in the thread; the answer is recorded for exactly that request.
    let answered = repo.ingest(
        "issue_comment",
        &comment_event(
            &comment,
            9002,
            &format!("/wave answer {request_id} Emit schema v2."),
            "MEMBER",
        ),
    );
    assert_eq!(answered["applied"][0]["action"], "answer", "{answered}");
    assert_eq!(answered["applied"][0]["wave"], 1, "{answered}");

    // 5. The next launch closes the wave.
    let out = repo.launch(&[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // 6. The same check run on the same commit turns green; the sticky comment is edited in
    //    place and the request comment says it is no longer waiting.
    let closed = repo.report(&fake, &sha);
    assert_eq!(closed["state"], "passed");
    assert_eq!(
        closed["published"]["checkRunId"],
        first["published"]["checkRunId"]
    );
    assert_eq!(closed["published"]["checkRun"], "updated");
    assert_eq!(closed["published"]["conclusion"], "success");
    assert_eq!(closed["published"]["stickyComment"], "updated");
    assert_eq!(
        closed["published"]["stickyCommentId"],
        first["published"]["stickyCommentId"]
    );
    assert_eq!(closed["published"]["writes"], 3);
    let runs = check_runs(&fake);
    assert_eq!(runs.len(), 1, "one check run per wave and commit");
    assert_eq!(runs[0]["conclusion"], "success");
    assert_eq!(runs[0]["output"]["title"], "closed: every gate passes");
    let bodies = comments(&fake);
    assert_eq!(bodies.len(), 2, "edited, not duplicated: {bodies:#?}");
    assert!(
        bodies[0].contains("✅ wave / main / 1: closed"),
        "{}",
        bodies[0]
    );
    assert!(bodies[1].contains("is no longer waiting"), "{}", bodies[1]);

    // 7. Reporting again with nothing changed writes nothing (the budget is 3).
    let before = writes(&fake);
    let again = repo.report(&fake, &sha);
    assert_eq!(again["published"]["writes"], 0);
    assert_eq!(writes(&fake) - before, 0);

    // 8. A push to the pull request marks the verdict of the old commit stale; the new commit
    //    gets its own check run, which does not inherit the old verdict.
    std::fs::write(repo.root().join("NOTES.md"), "a later change\n").expect("write");
    let head = repo.commit("a later change");
    let mut sync = push.clone();
    sync["number"] = json!(PR);
    sync["pull_request"]["number"] = json!(PR);
    sync["before"] = json!(sha);
    sync["after"] = json!(head);
    sync["pull_request"]["head"]["sha"] = json!(head);
    let stale = repo.ingest("pull_request", &sync);
    assert_eq!(stale["applied"][0]["action"], "stale-verdict", "{stale}");

    let old = repo.report(&fake, &sha);
    assert_eq!(old["published"]["conclusion"], "success");
    assert_eq!(old["published"]["checkRun"], "updated");
    assert_eq!(old["published"]["writes"], 2, "check run + sticky comment");
    let old_summary = check_runs(&fake)[0]["output"]["summary"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(
        old_summary.contains(&format!("the pull request has moved to `{head}`")),
        "{old_summary}"
    );

    let new = repo.report(&fake, &head);
    assert_eq!(new["state"], "running");
    assert_eq!(new["published"]["checkRun"], "created");
    assert_eq!(new["published"]["conclusion"], Value::Null);
    assert_eq!(
        new["published"]["writes"], 2,
        "new check run + sticky comment"
    );
    let runs = check_runs(&fake);
    assert_eq!(runs.len(), 2);
    let newest = runs
        .iter()
        .find(|r| r["head_sha"] == head.as_str())
        .expect("a check run on the new head");
    assert_eq!(newest["status"], "in_progress");
    assert!(
        newest["output"]["title"]
            .as_str()
            .is_some_and(|t| t.starts_with("running: no verdict for this commit yet")),
        "{newest}"
    );
    assert_eq!(comments(&fake).len(), 2, "still one sticky comment");

    let v = fake.violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");
}

#[test]
fn the_verdict_stamp_changes_with_a_role_prompt_and_the_config() {
    let repo = Scratch::new();
    let stamp = || {
        let out = repo.wave(
            &[
                "github",
                "report",
                "--wave",
                "1",
                "--sha",
                "abc",
                "--dry-run",
            ],
            &[("GITHUB_REPOSITORY", "octo/repo")],
        );
        let text = String::from_utf8_lossy(&ok_text(&out)).into_owned();
        text.lines()
            .find_map(|l| {
                l.trim()
                    .strip_prefix("\"external_id\": \"")
                    .map(|r| r.trim_end_matches("\",").to_owned())
            })
            .unwrap_or_else(|| panic!("no external_id in {text}"))
    };
    let base = stamp();
    assert!(base.starts_with("wave:main:1:abc:"), "{base}");
    assert_eq!(stamp(), base, "the stamp is deterministic");
    let prompt = repo.root().join("docs/agents/wave-cont-qa-role.md");
    let mut text = std::fs::read_to_string(&prompt).expect("role prompt");
    text.push_str("\nOne more standing rule.\n");
    std::fs::write(&prompt, text).expect("write");
    let after_prompt = stamp();
    assert_ne!(
        after_prompt, base,
        "a changed role prompt changes the stamp"
    );
    let config = repo.root().join("wave.config.json");
    let mut text = std::fs::read_to_string(&config).expect("config");
    text.push('\n');
    std::fs::write(&config, text).expect("write");
    assert_ne!(stamp(), after_prompt, "a changed config changes the stamp");
}

fn ok_text(out: &Output) -> Vec<u8> {
    assert!(
        out.status.success(),
        "wave failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout.clone()
}

#[test]
fn launch_in_actions_groups_each_agent_and_masks_secrets() {
    let repo = Scratch::new();
    let out = repo.launch(&[
        ("GITHUB_ACTIONS", "true"),
        ("GITHUB_TOKEN", "ghs_launchsecret"),
    ]);
    assert_eq!(out.status.code(), Some(43));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"::add-mask::ghs_launchsecret"),
        "masks come first: {stderr}"
    );
    // Stdout stays data: the launch report.
    let report: Value = serde_json::from_slice(&out.stdout).expect("launch JSON on stdout");
    assert_eq!(report["exitCode"], 43);
    // The attempt stops after the implementation agents (A1 waits for an answer), so the
    // closure stewards never start.
    for agent in ["A1", "A2"] {
        let start = lines
            .iter()
            .position(|l| *l == format!("::group::{agent}"))
            .unwrap_or_else(|| panic!("no group for {agent}: {stderr}"));
        let stop = lines[start + 1];
        let token = stop
            .strip_prefix("::stop-commands::")
            .unwrap_or_else(|| panic!("{agent}: no stop-commands after the group: {stop}"));
        assert!(!token.is_empty());
        let resume = format!("::{token}::");
        let end = lines[start..]
            .iter()
            .position(|l| *l == resume)
            .map(|i| i + start)
            .unwrap_or_else(|| panic!("{agent}: commands never resumed"));
        assert_eq!(lines[end + 1], "::endgroup::");
        let echoed = &lines[start + 2..end];
        assert!(
            echoed.contains(&"::warning::printed by the agent"),
            "{agent}: the agent's output is echoed inside the group: {echoed:?}"
        );
    }
}

#[test]
fn plan_errors_become_error_annotations_in_actions() {
    let repo = Scratch::new();
    let wave = repo.root().join("docs/plans/waves/wave-1.md");
    let mut text = std::fs::read_to_string(&wave).expect("plan");
    text.push_str("\n## Agent A1: Again\n\n### Prompt\n\n```text\nAgain.\n```\n");
    std::fs::write(&wave, text).expect("write");
    let out = repo.launch(&[("GITHUB_ACTIONS", "true")]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.lines().any(|l| l.starts_with(
            "::error file=docs/plans/waves/wave-1.md,line=110,title=wave plan::wave 1 must not repeat agent ids"
        )),
        "{stderr}"
    );
    let out = repo.launch(&[]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("::error"),
        "no workflow commands outside Actions"
    );
}

#[test]
fn a_missing_deliverable_is_annotated_at_its_path() {
    let Some(fake) = FakeGithub::start() else {
        return;
    };
    let repo = Scratch::new();
    let sha = repo.git(&["rev-parse", "HEAD"]);
    let out = repo.launch(&[]);
    assert_eq!(out.status.code(), Some(43));
    std::fs::remove_file(repo.root().join("src/runner.rs")).expect("remove deliverable");
    let report = repo.report(&fake, &sha);
    assert_eq!(report["published"]["conclusion"], "failure");
    fake.with(|s| {
        let paths: Vec<&str> = s
            .annotations
            .iter()
            .map(|(_, a)| a["path"].as_str().unwrap_or_default())
            .collect();
        assert_eq!(paths, ["src/runner.rs"]);
        let a = &s.annotations[0].1;
        assert_eq!(a["annotation_level"], "failure");
        assert_eq!(a["title"], "missing deliverable");
        assert!(
            a["message"]
                .as_str()
                .is_some_and(|m| m.contains("agent A2") && m.contains("wave-1.md")),
            "{a}"
        );
    });
    let v = fake.violations();
    assert!(v.is_empty(), "contract violations: {v:#?}");
}
