//! `wave coord render` end to end: clarification triage over an upstream-format log
//! (reroute after the ack timeout, escalation after the second cycle — upstream CT-05, CT-06),
//! `wave feedback respond` reconciliation, idempotent re-renders, projection files written
//! atomically under the lane state dir within their size budgets, and nothing written elsewhere.

mod common;

use common::{scenario_repo as repo, wave_ok as ok};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

fn render(repo: &Path) -> Value {
    serde_json::from_str(&ok(repo, &["coord", "render", "--json"])).expect("render JSON")
}

fn ago(minutes: i64) -> String {
    let t = jiff::Timestamp::now() - jiff::SignedDuration::from_mins(minutes);
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Writes upstream's own log (`.tmp/main-wave-launcher/coordination/wave-0.jsonl`).
fn upstream_log(repo: &Path, records: &[Value]) {
    let dir = repo.join(".tmp/main-wave-launcher/coordination");
    std::fs::create_dir_all(&dir).expect("mkdir");
    let text: String = records.iter().map(|r| format!("{r}\n")).collect();
    std::fs::write(dir.join("wave-0.jsonl"), text).expect("write log");
}

fn record(
    id: &str,
    kind: &str,
    agent: &str,
    status: &str,
    minutes_ago: i64,
    extra: Value,
) -> Value {
    let mut r = json!({
        "recordVersion": 1, "id": id, "kind": kind, "lane": "main", "wave": 0, "agentId": agent,
        "status": status, "summary": format!("{id} summary"), "createdAt": ago(minutes_ago),
        "updatedAt": ago(minutes_ago),
    });
    if let (Value::Object(m), Value::Object(e)) = (&mut r, extra) {
        m.extend(e);
    }
    r
}

fn latest(repo: &Path) -> Vec<Value> {
    serde_json::from_str(&ok(repo, &["coord", "list", "--json"])).expect("list JSON")
}

fn status_of(records: &[Value], id: &str) -> String {
    records
        .iter()
        .find(|r| r["id"] == id)
        .and_then(|r| r["status"].as_str())
        .unwrap_or("missing")
        .to_owned()
}

fn files(root: &Path) -> BTreeSet<PathBuf> {
    let mut out = BTreeSet::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir").flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(root).expect("prefix").to_path_buf());
            }
        }
    }
    out
}

const CLAR: &str = "How should src/render.rs print wide tables?";

#[test]
fn unacknowledged_route_is_rerouted_after_the_ack_timeout() {
    let r = repo();
    let cond = json!({"closureCondition": "clarification:clar-1", "dependsOn": ["clar-1"]});
    upstream_log(
        r.path(),
        &[
            record(
                "clar-1",
                "clarification-request",
                "A1",
                "in_progress",
                20,
                json!({"summary": CLAR}),
            ),
            record(
                "route-clar-1-1",
                "request",
                "launcher",
                "open",
                10,
                json!({
                    "targets": ["agent:A2"], "closureCondition": cond["closureCondition"], "dependsOn": cond["dependsOn"],
                }),
            ),
        ],
    );
    let out = render(r.path());
    // Three launcher seeds, the superseded route, the new route, the clarification's new
    // detail. The route guidance goes to the triage log only.
    assert_eq!(out["appendedRecords"], 6, "{out}");
    let records = latest(r.path());
    assert_eq!(status_of(&records, "route-clar-1-1"), "superseded");
    assert_eq!(status_of(&records, "route-clar-1-2"), "open");
    assert_eq!(status_of(&records, "triage-clar-1-route-2"), "missing");
    let triage: Vec<Value> = std::fs::read_to_string(
        r.path()
            .join(".tmp/main-wave-launcher/feedback/triage/wave-0.jsonl"),
    )
    .expect("triage log")
    .lines()
    .map(|l| serde_json::from_str(l).expect("triage line"))
    .collect();
    let ids: Vec<&str> = triage.iter().filter_map(|t| t["id"].as_str()).collect();
    assert_eq!(
        ids,
        ["triage-clar-1-route-2", "route-clar-1-2"],
        "the triage log holds what triage wrote, in order"
    );
    assert_eq!(triage[0]["kind"], "orchestrator-guidance");
    assert_eq!(triage[0]["status"], "resolved");
    // Idempotent: a second render appends nothing.
    assert_eq!(render(r.path())["appendedRecords"], 0);
}

#[test]
fn second_cycle_timeout_escalates_and_the_answer_unblocks() {
    let r = repo();
    let linked = |id: &str, status: &str, minutes: i64| {
        record(
            id,
            "request",
            "launcher",
            status,
            minutes,
            json!({
                "targets": ["agent:A2"], "closureCondition": "clarification:clar-1", "dependsOn": ["clar-1"],
            }),
        )
    };
    upstream_log(
        r.path(),
        &[
            record(
                "clar-1",
                "clarification-request",
                "A1",
                "in_progress",
                30,
                json!({"summary": CLAR}),
            ),
            linked("route-clar-1-1", "superseded", 20),
            linked("route-clar-1-2", "open", 10),
        ],
    );
    let before = files(r.path());
    let out = render(r.path());
    let requests = out["humanRequests"].as_array().expect("requests");
    assert_eq!(requests.len(), 1, "{out}");
    let request_id = requests[0]["id"].as_str().expect("id").to_owned();
    assert!(request_id.contains("-main-w0-A1-"), "{request_id}");
    let records = latest(r.path());
    assert_eq!(
        status_of(&records, &format!("escalation-{request_id}")),
        "open"
    );
    assert_eq!(status_of(&records, &request_id), "open");
    let pending = std::fs::read_to_string(
        r.path()
            .join(".tmp/main-wave-launcher/feedback/triage/wave-0/pending-human.md"),
    )
    .expect("pending-human");
    assert!(pending.contains(&request_id), "{pending}");
    // Listed, and nothing more happens until someone answers.
    assert!(ok(r.path(), &["feedback", "list", "--pending"]).contains(&request_id));
    assert_eq!(render(r.path())["appendedRecords"], 0);
    let status: Value =
        serde_json::from_str(&ok(r.path(), &["control", "status", "--json"])).expect("status");
    assert_eq!(status["phase"], "clarifying", "{status}");
    ok(
        r.path(),
        &[
            "feedback",
            "respond",
            "--id",
            &request_id,
            "--response",
            "Wrap at 100 columns.",
        ],
    );
    let records = latest(r.path());
    for id in [
        "clar-1",
        "route-clar-1-2",
        &format!("escalation-{request_id}"),
        &request_id,
    ] {
        assert_eq!(status_of(&records, id), "resolved", "{id}");
    }
    let status: Value =
        serde_json::from_str(&ok(r.path(), &["control", "status", "--json"])).expect("status");
    assert_ne!(status["phase"], "clarifying", "{status}");
    assert_eq!(render(r.path())["appendedRecords"], 0);
    // Only the lane state dir and the store were written.
    for f in files(r.path()).difference(&before) {
        assert!(
            f.starts_with(".tmp/main-wave-launcher") || f.starts_with(".wave/state"),
            "unexpected file {}",
            f.display()
        );
    }
}

#[test]
fn projections_are_written_within_their_budgets() {
    let r = repo();
    let mut records = vec![];
    for i in 0..200 {
        records.push(record(
            &format!("blk-{i}"),
            "blocker",
            "A1",
            "open",
            5,
            json!({
                "summary": format!("blocker {i} {}", "x".repeat(150)), "targets": ["agent:A2"],
                "artifactRefs": ["src/render.rs"],
            }),
        ));
    }
    upstream_log(r.path(), &records);
    let out = render(r.path());
    let s = r.path().join(".tmp/main-wave-launcher");
    let written: Vec<String> = out["files"]
        .as_array()
        .expect("files")
        .iter()
        .map(|f| f.as_str().expect("path").to_owned())
        .collect();
    assert_eq!(written.len(), 17, "{written:?}");
    let len = |rel: &str| {
        std::fs::read_to_string(s.join(rel))
            .expect(rel)
            .encode_utf16()
            .count()
    };
    // Budgets bound the rendered text; each file is that text and a newline, as upstream
    // writes them.
    assert!(len("inboxes/wave-0/shared-summary.md") <= 4001);
    assert!(len("inboxes/wave-0/A2.md") <= 8001);
    assert!(len("messageboards/wave-0.md") <= 12_001);
    for rel in [
        "assignments/wave-0.json",
        "dependencies/wave-0.json",
        "ledger/wave-0.json",
        "docs-queue/wave-0.json",
        "integration/wave-0.json",
    ] {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(s.join(rel)).expect(rel)).expect(rel);
        assert_eq!(v["wave"], 0, "{rel}");
    }
    let ledger: Value = serde_json::from_str(
        &std::fs::read_to_string(s.join("ledger/wave-0.json")).expect("ledger"),
    )
    .expect("ledger");
    assert_eq!(ledger["blockers"].as_array().map(Vec::len), Some(200));
    let integration: Value = serde_json::from_str(
        &std::fs::read_to_string(s.join("integration/wave-0.json")).expect("integration"),
    )
    .expect("integration");
    assert_eq!(integration["recommendation"], "needs-more-work");
    // No temporary files are left behind.
    assert!(
        files(&s)
            .iter()
            .all(|f| !f.to_string_lossy().ends_with(".tmp"))
    );
}

fn fixture(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/coord_render")
        .join(name);
    std::fs::read_to_string(&p).expect("fixture")
}

/// The oracle scenario: two open clarifications 30 min old (one naming `src/render.rs`, owned
/// by A2; one nobody owns) and a decision with an empty summary.
fn oracle_scenario(repo: &Path) {
    upstream_log(
        repo,
        &[
            record(
                "clar-1",
                "clarification-request",
                "A1",
                "open",
                30,
                json!({"summary": CLAR}),
            ),
            record(
                "clar-2",
                "clarification-request",
                "A1",
                "open",
                30,
                json!({"summary": "What is the product vision?"}),
            ),
            record(
                "d-empty",
                "decision",
                "A2",
                "resolved",
                40,
                json!({"summary": ""}),
            ),
        ],
    );
}

#[test]
fn seeds_match_the_oracle() {
    // upstream CS-01: one launcher seed request per agent, summary "Wave 0 assigned to <id>: <title>".
    let r = repo();
    oracle_scenario(r.path());
    render(r.path());
    let ours = latest(r.path());
    let comparable = [
        "kind",
        "wave",
        "lane",
        "agentId",
        "targets",
        "status",
        "priority",
        "blocking",
        "blockerSeverity",
        "artifactRefs",
        "dependsOn",
        "closureCondition",
        "confidence",
        "summary",
        "detail",
        "source",
    ];
    let oracle: Vec<Value> = fixture("oracle-seeds-base-wave-0.jsonl")
        .lines()
        .map(|l| serde_json::from_str(l).expect("fixture line"))
        .collect();
    assert_eq!(oracle.len(), 3);
    for expected in &oracle {
        let id = expected["id"].as_str().expect("id");
        let got = ours
            .iter()
            .find(|r| r["id"] == id)
            .unwrap_or_else(|| panic!("missing seed {id}"));
        for key in comparable {
            assert_eq!(got[key], expected[key], "{id}.{key}");
        }
    }
}

#[test]
fn board_and_dependency_structure_match_the_oracle() {
    let r = repo();
    oracle_scenario(r.path());
    render(r.path());
    let s = r.path().join(".tmp/main-wave-launcher");
    let board = std::fs::read_to_string(s.join("messageboards/wave-0.md")).expect("board");
    let headings = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| {
                l.starts_with('#') || l.starts_with("- Wave file") || l.starts_with("- Agents")
            })
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        headings(&board),
        headings(&fixture("oracle-board-base-wave-0.md"))
    );
    let deps = std::fs::read_to_string(s.join("dependencies/wave-0.md")).expect("deps");
    let strip = |t: &str| -> Vec<String> {
        t.lines()
            .filter(|l| !l.starts_with("- Generated"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        strip(&deps),
        strip(&fixture("oracle-dependencies-base-wave-0.md"))
    );
    // Upstream's coord render does not triage; ours does. The empty decision must not resolve
    // anything (§14.3): clar-1 is routed to A2, clar-2 goes to a human.
    let records = latest(r.path());
    assert_eq!(status_of(&records, "triage-clar-1-policy"), "missing");
    assert_eq!(status_of(&records, "route-clar-1-1"), "open");
    let esc = records
        .iter()
        .filter(|r| {
            r["kind"] == "human-escalation" && r["closureCondition"] == "clarification:clar-2"
        })
        .count();
    assert_eq!(esc, 1);
}
