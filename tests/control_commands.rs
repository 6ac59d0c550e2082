//! Operator commands end to end: every write goes through the store, and `control status`
//! (and `replay`) see it.

mod common;

use common::{scenario_repo as repo, wave_at as wave, wave_ok as ok};

use std::path::Path;

use serde_json::Value;

fn status(repo: &Path) -> Value {
    serde_json::from_str(&ok(repo, &["control", "status", "--json"])).expect("status JSON")
}

#[test]
fn posted_clarification_blocks_until_resolved_through_the_store() {
    let r = repo();
    ok(
        r.path(),
        &[
            "coord",
            "post",
            "--agent",
            "A1",
            "--kind",
            "clarification-request",
            "--summary",
            "Which format?",
            "--id",
            "clar-1",
        ],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"]["kind"], "clarification");
    assert_eq!(s["blockingEdge"]["id"], "clar-1");
    assert!(
        r.path()
            .join(".wave/state/main/wave-0/coordination")
            .is_dir()
    );

    ok(
        r.path(),
        &["control", "task", "act", "resolve", "--id", "clar-1"],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"], Value::Null);
    let task = ok(r.path(), &["control", "task", "get", "--id", "clar-1"]);
    let task: Value = serde_json::from_str(&task).expect("task JSON");
    assert_eq!(task["state"], "resolved");
}

#[test]
fn comma_lists_are_lists_and_assignments_follow_targets() {
    let r = repo();
    ok(
        r.path(),
        &[
            "coord",
            "post",
            "--agent",
            "A1",
            "--kind",
            "request",
            "--summary",
            "Help",
            "--target",
            "agent:A2,capability:deployment",
            "--id",
            "req-1",
        ],
    );
    let shown: Value =
        serde_json::from_str(&ok(r.path(), &["coord", "show", "--id", "req-1"])).expect("JSON");
    assert_eq!(
        shown["targets"],
        serde_json::json!(["agent:A2", "capability:deployment"])
    );
    let s = status(r.path());
    assert_eq!(s["helperAssignments"].as_array().map(Vec::len), Some(2));
    assert_eq!(s["blockingEdge"]["kind"], "helper-assignment-unresolved");

    ok(
        r.path(),
        &[
            "control", "task", "act", "reassign", "--id", "req-1", "--to", "A2",
        ],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"]["kind"], "helper-assignment");
    assert_eq!(s["blockingEdge"]["agentId"], "A2");
    let bad = wave(
        r.path(),
        &[
            "control", "task", "act", "reassign", "--id", "req-1", "--to", "Z9",
        ],
    );
    assert_eq!(bad.status.code(), Some(1));
}

#[test]
fn human_input_is_asked_answered_and_unblocks() {
    let r = repo();
    ok(
        r.path(),
        &[
            "control",
            "task",
            "create",
            "--agent",
            "A2",
            "--kind",
            "human-input",
            "--summary",
            "Ship it?",
            "--id",
            "fb-1",
        ],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"]["kind"], "human-input");
    let pending: Value =
        serde_json::from_str(&ok(r.path(), &["feedback", "list", "--pending", "--json"]))
            .expect("JSON");
    assert_eq!(pending[0]["id"], "fb-1");

    ok(
        r.path(),
        &[
            "feedback",
            "respond",
            "--id",
            "fb-1",
            "--response",
            "yes",
            "--operator",
            "ops",
        ],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"], Value::Null);
    assert_eq!(s["feedbackRequests"][0]["status"], "answered");
    assert_eq!(s["feedbackRequests"][0]["responseText"], "yes");
    let again = wave(
        r.path(),
        &["feedback", "respond", "--id", "fb-1", "--response", "no"],
    );
    assert_eq!(
        again.status.code(),
        Some(1),
        "a second answer needs --force"
    );
}

#[test]
fn required_dependency_ticket_blocks_the_owner_wave() {
    let r = repo();
    ok(
        r.path(),
        &[
            "dep",
            "post",
            "--owner-lane",
            "main",
            "--owner-wave",
            "0",
            "--requester-lane",
            "other",
            "--agent",
            "B1",
            "--summary",
            "Need schema",
            "--target",
            "agent:A2",
            "--required",
            "--id",
            "dep-1",
        ],
    );
    let s = status(r.path());
    assert_eq!(s["blockingEdge"]["kind"], "dependency");
    assert_eq!(s["blockingEdge"]["agentId"], "A2");
    assert_eq!(s["dependencies"][0]["required"], true);
    let shown: Value =
        serde_json::from_str(&ok(r.path(), &["dep", "show", "--json"])).expect("JSON");
    assert_eq!(shown[0]["id"], "dep-1");
}

#[test]
fn replay_prints_the_same_bytes_for_the_same_store() {
    let r = repo();
    ok(
        r.path(),
        &[
            "coord",
            "post",
            "--agent",
            "A1",
            "--kind",
            "blocker",
            "--summary",
            "Stuck",
            "--priority",
            "high",
        ],
    );
    let first = ok(r.path(), &["replay", "--wave", "0"]);
    let second = ok(r.path(), &["replay", "--wave", "0"]);
    assert_eq!(first, second);
    let v: Value = serde_json::from_str(&first).expect("JSON");
    assert_eq!(v["blockingEdge"]["kind"], "blocker");
}
