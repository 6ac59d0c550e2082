//! `wave feedback ask|show`: the human escalation command that agent prompts name creates a
//! pending request that blocks the wave, `--wait` returns the answer once a human responds, and
//! gives up with exit 43 when nobody does.

mod common;

use common::{scenario_repo as repo, wave_at as wave};

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

fn ok_json(repo: &Path, args: &[&str]) -> Value {
    let out = wave(repo, args);
    assert!(
        out.status.success(),
        "wave {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

const ASK: &[&str] = &[
    "feedback",
    "ask",
    "--lane",
    "main",
    "--wave",
    "0",
    "--agent",
    "A1",
    "--orchestrator-id",
    "main-orch",
    "--question",
    "Ship v1 or v2 of the schema?",
    "--context",
    "both compile; v2 breaks old clients",
];

#[test]
fn ask_creates_a_pending_request_that_blocks_and_respond_answers_it() {
    let r = repo();
    let mut args = ASK.to_vec();
    args.push("--json");
    let asked = ok_json(r.path(), &args);
    let id = asked["id"].as_str().expect("id").to_owned();
    assert!(id.contains("-main-w0-A1-"), "request id shape: {id}");
    assert_eq!(asked["status"], "pending");

    let shown = ok_json(r.path(), &["feedback", "show", "--id", &id]);
    assert_eq!(shown["status"], "pending");
    assert_eq!(shown["question"], "Ship v1 or v2 of the schema?");
    assert_eq!(shown["agentId"], "A1");

    let status = ok_json(r.path(), &["control", "status", "--json"]);
    assert_ne!(
        status["blockingEdge"],
        Value::Null,
        "an open human request blocks the wave: {status}"
    );

    let out = wave(
        r.path(),
        &["feedback", "respond", "--id", &id, "--response", "v2"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = ok_json(r.path(), &["feedback", "show", "--id", &id]);
    assert_eq!(shown["status"], "answered");
    assert_eq!(shown["responseText"], "v2");
}

#[test]
fn ask_wait_returns_the_answer_and_times_out_with_43() {
    let r = repo();
    let mut args = ASK.to_vec();
    args.extend(["--wait", "--timeout-seconds", "1"]);
    let out = wave(r.path(), &args);
    assert_eq!(
        out.status.code(),
        Some(43),
        "unanswered wait gives up with 43"
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("stays pending"));

    let before: Vec<Value> = ok_json(r.path(), &["feedback", "list", "--json"])
        .as_array()
        .cloned()
        .unwrap_or_default();
    let mut args = ASK.to_vec();
    args.extend(["--wait", "--timeout-seconds", "60", "--json"]);
    let child = Command::new(common::wave_bin())
        .arg("--repo-root")
        .arg(r.path())
        .args(&args)
        .env_remove("WAVE_STORE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ask --wait");
    // Answer the request the waiting process created.
    let mut id = None;
    for _ in 0..100 {
        let list = ok_json(r.path(), &["feedback", "list", "--json"]);
        id = list
            .as_array()
            .and_then(|a| a.iter().find(|f| !before.contains(f)))
            .and_then(|f| f["id"].as_str().map(str::to_owned));
        if id.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let id = id.expect("the waiting request appears");
    let out = wave(
        r.path(),
        &[
            "feedback",
            "respond",
            "--id",
            &id,
            "--response",
            "v1 please",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let done = child.wait_with_output().expect("ask exits");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    let answer: Value = serde_json::from_slice(&done.stdout).expect("answer JSON");
    assert_eq!(answer["id"], id.as_str());
    assert_eq!(answer["responseText"], "v1 please");
}

#[test]
fn ask_without_a_question_is_a_usage_error_and_writes_nothing() {
    let r = repo();
    let out = wave(
        r.path(),
        &["feedback", "ask", "--agent", "A1", "--question", "  "],
    );
    assert_eq!(out.status.code(), Some(2));
    let list = ok_json(r.path(), &["feedback", "list", "--json"]);
    assert_eq!(list, Value::Array(vec![]));
}
