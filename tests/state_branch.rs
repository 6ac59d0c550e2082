//! The state branch through the `wave` binary against real git servers on loopback: concurrent
//! writers, a writer killed mid-push, a refused token, and a remote that goes away and comes
//! back. The servers are started and stopped here; nothing uses `file://`.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

mod common;
#[path = "support/gitserver.rs"]
mod gitserver;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use gitserver::{GOOD_TOKEN, GitServer, SilentListener, files_of};

const BRANCH: &str = "wave-state";
const STREAM_DIR: &str = "main/wave-0/coordination";

/// A `wave` command with a repository root and a store, and no token unless one is given.
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
        .stdin(Stdio::null());
    cmd
}

fn append_args(repeat: u32) -> Vec<String> {
    [
        "state",
        "append",
        "--stream",
        "coordination",
        "--lane",
        "main",
        "--wave",
        "0",
        "--json",
        r#"{"id":"rec-{i}","kind":"evidence","summary":"record {i}"}"#,
        "--repeat",
        &repeat.to_string(),
    ]
    .map(str::to_owned)
    .to_vec()
}

fn run_ok(cmd: &mut Command, what: &str) -> Output {
    let out = cmd.output().expect("run wave");
    assert!(
        out.status.success(),
        "{what} failed ({}):\nstdout: {}\nstderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn spawn(cmd: &mut Command) -> Child {
    cmd.stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wave")
}

/// Per writer file of the coordination stream: the `seq` of each line, in file order, checking
/// that every line is a JSON object whose `writer` names its file.
fn seqs_by_writer(files: &[(String, String)]) -> BTreeMap<String, Vec<u64>> {
    let mut out = BTreeMap::new();
    for (path, text) in files {
        let Some(writer) = path
            .strip_prefix(&format!("{STREAM_DIR}/"))
            .and_then(|f| f.strip_suffix(".jsonl"))
        else {
            continue;
        };
        assert!(text.ends_with('\n'), "{path} does not end with a newline");
        let seqs = text
            .lines()
            .map(|line| {
                let value: serde_json::Value =
                    serde_json::from_str(line).unwrap_or_else(|e| panic!("{path}: {e}: {line}"));
                assert_eq!(value["writer"], writer, "{path}: {line}");
                value["seq"].as_u64().expect("seq")
            })
            .collect();
        out.insert(writer.to_owned(), seqs);
    }
    out
}

fn assert_gap_free(seqs: &BTreeMap<String, Vec<u64>>, per_writer: Option<u64>) {
    for (writer, list) in seqs {
        let expected: Vec<u64> = (1..=list.len() as u64).collect();
        assert_eq!(list, &expected, "writer {writer} is not gap-free");
        if let Some(n) = per_writer {
            assert_eq!(list.len() as u64, n, "writer {writer}");
        }
    }
}

fn verify_clean(spec: &str) {
    let fresh = tempfile::tempdir().expect("temp dir");
    let out = run_ok(wave(fresh.path(), spec).args(["state", "verify"]), "verify");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("; clean"), "{text}");
}

#[test]
fn eight_writer_processes_append_800_records_concurrently_and_all_arrive_once() {
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let roots: Vec<tempfile::TempDir> = (0..8)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let started = Instant::now();
    // Each writer has its own repository root, so its own cache: like jobs on separate machines.
    let children: Vec<Child> = roots
        .iter()
        .map(|root| spawn(wave(root.path(), &spec).args(append_args(100))))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "writer failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    eprintln!("8 writers x 100 records: {:?}", started.elapsed());
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.len(), 8, "{:?}", seqs.keys());
    assert_gap_free(&seqs, Some(100));
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 800);
    verify_clean(&spec);
}

#[test]
fn processes_sharing_one_cache_append_concurrently_without_loss() {
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let root = tempfile::tempdir().expect("temp dir");
    let children: Vec<Child> = (0..4)
        .map(|_| spawn(wave(root.path(), &spec).args(append_args(15))))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.len(), 4);
    assert_gap_free(&seqs, Some(15));
    verify_clean(&spec);
}

/// The cache's local view of the killed writer's files.
fn cache_files(root: &Path) -> Vec<(String, String)> {
    let dir = root.join(".wave/cache/state-branch");
    let cache = std::fs::read_dir(&dir)
        .expect("cache directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "git"))
        .expect("a cache repository");
    files_of(&cache, "refs/wave/local")
}

#[test]
fn a_writer_killed_mid_push_corrupts_nothing_and_the_next_push_carries_its_records() {
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let victim = tempfile::tempdir().expect("temp dir");
    let other = tempfile::tempdir().expect("temp dir");
    for delay_ms in [150u64, 400, 900] {
        // Another writer keeps the branch moving, so the victim is often mid-retry.
        let mut rival = spawn(wave(other.path(), &spec).args(append_args(20)));
        let mut child = spawn(wave(victim.path(), &spec).args(append_args(1000)));
        std::thread::sleep(Duration::from_millis(delay_ms));
        child.kill().expect("SIGKILL the writer");
        let _ = child.wait();
        let status = rival.wait().expect("rival");
        assert!(status.success());
        // The victim's cache still works: push what it kept, then append again.
        run_ok(
            wave(victim.path(), &spec).args(["state", "push"]),
            "push after kill",
        );
        run_ok(
            wave(victim.path(), &spec).args(append_args(1)),
            "append after kill",
        );
        let server_files = server.files(BRANCH);
        let seqs = seqs_by_writer(&server_files);
        assert_gap_free(&seqs, None);
        // Everything the victim's cache holds is on the server, byte for byte.
        for (path, text) in cache_files(victim.path()) {
            let on_server = server_files
                .iter()
                .find(|(p, _)| *p == path)
                .map(|(_, t)| t.as_str());
            assert_eq!(
                on_server,
                Some(text.as_str()),
                "{path} differs after kill at {delay_ms} ms"
            );
        }
    }
    let out = Command::new("git")
        .args([
            "--git-dir",
            server.repo().to_str().expect("utf-8"),
            "fsck",
            "--strict",
        ])
        .output()
        .expect("git fsck");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    verify_clean(&spec);
}

/// Every file under `dir`, as bytes.
fn all_bytes(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.filter_map(Result::ok) {
        let path = entry.path();
        if path.is_dir() {
            all_bytes(&path, out);
        } else if let Ok(bytes) = std::fs::read(&path) {
            out.push((path.display().to_string(), bytes));
        }
    }
}

#[test]
fn a_wrong_token_fails_fast_with_a_clear_message_and_appears_nowhere() {
    let server = GitServer::http();
    let spec = server.spec(BRANCH);
    let root = tempfile::tempdir().expect("temp dir");
    let secret = "wrong-token-7d3e9b1c";
    let started = Instant::now();
    let out = wave(root.path(), &spec)
        .env("WAVE_GIT_TOKEN", secret)
        .args(append_args(1))
        .output()
        .expect("run wave");
    let took = started.elapsed();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {stdout}\nstderr: {stderr}"
    );
    assert!(took < Duration::from_secs(10), "took {took:?}");
    assert!(
        stderr.contains("refused the token from $WAVE_GIT_TOKEN"),
        "{stderr}"
    );
    let mut files = Vec::new();
    all_bytes(root.path(), &mut files);
    for text in [&stdout, &stderr] {
        assert!(!text.contains(secret), "token leaked: {text}");
    }
    for (path, bytes) in &files {
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "token leaked into {path}"
        );
    }
    // Nothing was stored: the refused append left no commit behind.
    assert!(server.files(BRANCH).is_empty());
    assert_eq!(
        wave(root.path(), &spec)
            .env("WAVE_GIT_TOKEN", secret)
            .args(["state", "push"])
            .output()
            .expect("push")
            .status
            .code(),
        Some(1)
    );

    // Operator commands map the refusal the same way: a configuration error with a hint.
    let out = wave(root.path(), &spec)
        .env("WAVE_GIT_TOKEN", secret)
        .args([
            "coord",
            "post",
            "--lane",
            "main",
            "--wave",
            "0",
            "--agent",
            "A1",
            "--kind",
            "evidence",
            "--summary",
            "x",
        ])
        .output()
        .expect("run wave");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("refused the token") && stderr.contains("hint:"),
        "{stderr}"
    );
    assert!(!stderr.contains(secret), "token leaked: {stderr}");

    // No token at all: the message says which variable to set.
    let out = wave(root.path(), &spec)
        .args(append_args(1))
        .output()
        .expect("run wave");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("set WAVE_GIT_TOKEN"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // An import is refused the same way, and stores nothing either.
    let outbox = root.path().join("outbox");
    agent_outbox(&outbox, "gha-9-1-agents-A1", 2, false);
    let import = |token: &str| {
        wave(root.path(), &spec)
            .env("WAVE_GIT_TOKEN", token)
            .args(["state", "import"])
            .arg(&outbox)
            .output()
            .expect("import")
    };
    let out = import(secret);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("refused the token"), "{stderr}");
    assert!(server.files(BRANCH).is_empty());

    // The right token (from GITHUB_TOKEN, the fallback) works, and the records arrive.
    run_ok(
        wave(root.path(), &spec)
            .env("GITHUB_TOKEN", GOOD_TOKEN)
            .args(append_args(3)),
        "append with the right token",
    );
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 3);
    assert_gap_free(&seqs, Some(3));
    let out = import(GOOD_TOKEN);
    assert!(out.status.success(), "{out:?}");
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 5);
    assert_gap_free(&seqs, None);
}

#[test]
fn records_appended_while_the_remote_is_down_arrive_after_it_comes_back() {
    let mut server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let root = tempfile::tempdir().expect("temp dir");
    run_ok(
        wave(root.path(), &spec).args(append_args(2)),
        "first append",
    );
    server.stop();
    let out = run_ok(
        wave(root.path(), &spec).args(append_args(5)),
        "offline append",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("kept") && stderr.contains("for the next push"),
        "{stderr}"
    );
    // Reads while offline serve the cache, and say so.
    let out = run_ok(
        wave(root.path(), &spec).args(["state", "verify"]),
        "offline verify",
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("7 records"));
    let out = wave(root.path(), &spec)
        .args(["state", "push"])
        .output()
        .expect("push");
    assert_eq!(out.status.code(), Some(70), "a failed push exits 70");
    assert!(String::from_utf8_lossy(&out.stdout).contains("kept"));
    server.restart();
    let out = run_ok(wave(root.path(), &spec).args(["state", "push"]), "push");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pushed"));
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 7, "{seqs:?}");
    assert_gap_free(&seqs, None);
    verify_clean(&spec);
    let log = run_ok(wave(root.path(), &spec).args(["state", "log"]), "log");
    let log = String::from_utf8_lossy(&log.stdout);
    assert!(
        log.contains("+1 record in main/wave-0/coordination"),
        "{log}"
    );
    assert!(!log.contains("not pushed"), "{log}");
}

/// Runs `cmd` to completion, killing it and failing if it takes longer than `limit`.
fn output_within(cmd: &mut Command, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = spawn(cmd);
    loop {
        if child.try_wait().expect("poll the child").is_some() {
            return (
                child.wait_with_output().expect("collect output"),
                started.elapsed(),
            );
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("collect output");
            panic!(
                "still running after {limit:?}; stderr: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_remote_that_accepts_and_never_answers_times_out_and_the_records_wait_in_the_cache() {
    let mut server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let root = tempfile::tempdir().expect("temp dir");
    run_ok(
        wave(root.path(), &spec).args(append_args(2)),
        "first append",
    );
    server.stop();
    let silent = SilentListener::bind(server.port());
    let limit = Duration::from_secs(20);

    // The append's push waits at most the timeout, then the record is kept for later.
    let (out, took) = output_within(
        wave(root.path(), &spec)
            .env("WAVE_GIT_TIMEOUT_SECS", "1")
            .args(append_args(3)),
        limit,
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(took >= Duration::from_millis(900), "gave up after {took:?}");
    assert!(
        stderr.contains("no answer within 1 s") && stderr.contains("for the next push"),
        "{stderr}"
    );

    // An explicit push fails within the timeout, says why and what it kept.
    let (out, _) = output_within(
        wave(root.path(), &spec)
            .env("WAVE_GIT_TIMEOUT_SECS", "0.5")
            .args(["state", "push"]),
        limit,
    );
    assert_eq!(out.status.code(), Some(70));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("kept") && stdout.contains("no answer within 0.5 s"),
        "{stdout}"
    );

    // A bad setting is a configuration error, not a hang.
    let out = wave(root.path(), &spec)
        .env("WAVE_GIT_TIMEOUT_SECS", "soon")
        .args(append_args(1))
        .output()
        .expect("run wave");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("WAVE_GIT_TIMEOUT_SECS=soon"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // The server answers again: the next push carries what was kept.
    drop(silent);
    server.restart();
    run_ok(wave(root.path(), &spec).args(["state", "push"]), "push");
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 5, "{seqs:?}");
    assert_gap_free(&seqs, None);
}

/// The number of commits on the served branch.
fn server_commits(server: &GitServer) -> u64 {
    let out = Command::new("git")
        .args([
            "--git-dir",
            server.repo().to_str().expect("utf-8"),
            "rev-list",
            "--count",
            BRANCH,
        ])
        .output()
        .expect("git rev-list");
    if !out.status.success() {
        return 0;
    }
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a count")
}

/// The message of the served branch's tip.
fn server_tip_message(server: &GitServer) -> String {
    let out = Command::new("git")
        .args([
            "--git-dir",
            server.repo().to_str().expect("utf-8"),
            "log",
            "-1",
            "--format=%an%n%B",
            BRANCH,
        ])
        .output()
        .expect("git log");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// An agent job's outbox: `lines` coordination records of `writer`, each at its own
/// millisecond (so no two share an append), and for the first job an `agent_run` event and
/// the result envelope it references.
fn agent_outbox(dir: &Path, writer: &str, lines: u64, with_result: bool) {
    use wave_runner::store::{DirStore, EventStore, ResultKey, StreamId};
    let store = DirStore::new(dir);
    let stream = StreamId::coordination("main", 0);
    for i in 1..=lines {
        let at = jiff::Timestamp::from_millisecond(1_700_000_000_000 + (i as i64) * 7)
            .expect("timestamp");
        let record = serde_json::json!({"id": format!("{writer}-{i}"), "kind": "evidence",
                                        "summary": format!("line {i} of {writer}")});
        let record = record.as_object().expect("object").clone();
        store
            .append(&stream, writer, at, &[record])
            .expect("append to the outbox");
    }
    if with_result {
        let at = jiff::Timestamp::from_millisecond(1_700_000_100_000).expect("timestamp");
        let event = serde_json::json!({"entityType": "agent_run", "entityId": "run-A1",
                                       "data": {"agentId": "A1", "attemptNumber": 1}});
        store
            .append(
                &StreamId::control("main", 0),
                writer,
                at,
                &[event.as_object().expect("object").clone()],
            )
            .expect("append the run");
        let body = serde_json::json!({"agentId": "A1", "waveNumber": 0, "attempt": 1});
        store
            .put_result(
                &ResultKey::new("main", 0, 1, "A1"),
                body.as_object().expect("object"),
            )
            .expect("store the envelope");
    }
}

/// Every file under `dir` as (path relative to `dir`, text), skipping the format marker.
fn dir_files(dir: &Path) -> Vec<(String, String)> {
    let mut bytes = Vec::new();
    all_bytes(dir, &mut bytes);
    bytes
        .into_iter()
        .filter_map(|(path, b)| {
            let rel = Path::new(&path)
                .strip_prefix(dir)
                .ok()?
                .to_string_lossy()
                .into_owned();
            (rel != "store-format.json").then(|| (rel, String::from_utf8_lossy(&b).into_owned()))
        })
        .collect()
}

#[test]
fn importing_three_outboxes_makes_one_commit_and_one_push_and_importing_again_none() {
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let root = tempfile::tempdir().expect("temp dir");
    let outboxes: Vec<std::path::PathBuf> = ["A1", "A2", "A3"]
        .iter()
        .enumerate()
        .map(|(n, agent)| {
            let dir = root.path().join(format!("outbox-{agent}"));
            agent_outbox(&dir, &format!("gha-7-1-agents-{agent}"), 11, n == 0);
            dir
        })
        .collect();
    let import = |root: &Path| {
        let mut cmd = wave(root, &spec);
        cmd.args(["state", "import", "--json"]).args(&outboxes);
        let out = run_ok(&mut cmd, "import");
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        report
    };
    let first = import(root.path());
    assert_eq!(first["total"]["appended"], 34, "{first}");
    assert_eq!(first["total"]["resultsWritten"], 1, "{first}");
    // 34 lines at 34 different times and an envelope: one commit, pushed once.
    assert_eq!(server_commits(&server), 1);
    let message = server_tip_message(&server);
    assert!(
        message
            .starts_with("wave-runner\nwave-state: 34 records from 3 writers, 1 result envelope"),
        "{message}"
    );
    assert!(
        message.contains("gha-7-1-agents-A2: +11 records in main/wave-0/coordination"),
        "{message}"
    );
    // Every line keeps its writer, `seq`, `at` and order: the branch holds the outboxes' bytes.
    let on_server = server.files(BRANCH);
    for outbox in &outboxes {
        for (path, text) in dir_files(outbox) {
            let found = on_server.iter().find(|(p, _)| *p == path).map(|(_, t)| t);
            assert_eq!(found, Some(&text), "{path}");
        }
    }
    verify_clean(&spec);

    // Again, from this cache and from a fresh one: nothing appended, nothing committed.
    let fresh = tempfile::tempdir().expect("temp dir");
    for again in [import(root.path()), import(fresh.path())] {
        assert_eq!(again["total"]["appended"], 0, "{again}");
        assert_eq!(again["total"]["present"], 34, "{again}");
        assert_eq!(again["total"]["resultsPresent"], 1, "{again}");
    }
    assert_eq!(server_commits(&server), 1);

    // A writer whose line differs from the branch's (one name used twice) is refused, and the
    // writers after it in the same stream are not imported.
    let forked = root.path().join("outbox-forked");
    agent_outbox(&forked, "gha-7-1-agents-A1", 1, false);
    agent_outbox(&forked, "gha-7-1-agents-B", 2, false);
    std::fs::write(
        forked.join("main/wave-0/coordination/gha-7-1-agents-A1.jsonl"),
        r#"{"id":"other","kind":"evidence","writer":"gha-7-1-agents-A1","seq":1,"at":"2023-11-14T22:13:20.007Z"}"#
            .to_owned()
            + "\n",
    )
    .expect("fork a line");
    let out = wave(root.path(), &spec)
        .args(["state", "import"])
        .arg(&forked)
        .output()
        .expect("import");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("differs"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(server_commits(&server), 1);
    assert!(
        !server
            .files(BRANCH)
            .iter()
            .any(|(p, _)| p.contains("agents-B")),
        "nothing after the refused writer"
    );
    verify_clean(&spec);
}

#[test]
fn a_rejected_push_carries_every_pending_record_in_one_rebuilt_commit() {
    let mut server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let ours = tempfile::tempdir().expect("temp dir");
    let theirs = tempfile::tempdir().expect("temp dir");
    run_ok(
        wave(ours.path(), &spec).args(append_args(1)),
        "first append",
    );
    // Three writers (three processes) append while the remote is down: three commits wait.
    server.stop();
    for n in 0..3 {
        run_ok(
            wave(ours.path(), &spec).args(append_args(1)),
            &format!("offline append {n}"),
        );
    }
    server.restart();
    // Another machine moves the branch, so this cache's next push is refused.
    run_ok(
        wave(theirs.path(), &spec).args(append_args(2)),
        "the other machine",
    );
    let before = server_commits(&server);
    run_ok(
        wave(ours.path(), &spec).args(append_args(1)),
        "append on a stale tip",
    );
    // The refused push was rebuilt as one commit holding all four pending records.
    assert_eq!(server_commits(&server), before + 1);
    let message = server_tip_message(&server);
    assert!(
        message.contains("wave-state: 4 records from 4 writers"),
        "{message}"
    );
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.len(), 6, "{seqs:?}");
    assert_eq!(seqs.values().map(Vec::len).sum::<usize>(), 7, "{seqs:?}");
    assert_gap_free(&seqs, None);
    verify_clean(&spec);
}

#[test]
fn writers_sharing_a_cache_under_contention_lose_nothing() {
    // Three processes share one cache (one machine) while three others each have their own:
    // refused pushes are frequent, and while one waits to retry, the others commit on the
    // shared cache and a single push carries their records together.
    let server = GitServer::daemon();
    let spec = server.spec(BRANCH);
    let shared = tempfile::tempdir().expect("temp dir");
    let own: Vec<tempfile::TempDir> = (0..3)
        .map(|_| tempfile::tempdir().expect("temp dir"))
        .collect();
    let roots: Vec<&Path> = std::iter::repeat_n(shared.path(), 3)
        .chain(own.iter().map(tempfile::TempDir::path))
        .collect();
    let children: Vec<Child> = roots
        .iter()
        .map(|root| spawn(wave(root, &spec).args(append_args(20))))
        .collect();
    for child in children {
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let seqs = seqs_by_writer(&server.files(BRANCH));
    assert_eq!(seqs.len(), 6, "{:?}", seqs.keys());
    assert_gap_free(&seqs, Some(20));
    let commits = server_commits(&server);
    assert!(commits <= 120, "{commits} commits for 120 records");
    verify_clean(&spec);
}
