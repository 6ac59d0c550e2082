//! Upstream state under `.tmp/` reads as one read-only writer, merged with the store's own.

mod common;

use std::path::{Path, PathBuf};

use serde_json::json;
use wave_runner::settings::{EnvSnapshot, Settings};
use wave_runner::store::{
    EventStore, LEGACY_WRITER, PutOutcome, Record, ResultKey, StoreError, StreamId, open_store,
    read_stream,
};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upstream-state")
}

/// A repository holding the upstream fixture state, and the store `wave` would open in it.
fn repo() -> (tempfile::TempDir, Box<dyn EventStore>) {
    let dir = tempfile::tempdir().expect("temp dir");
    common::copy_tree(&fixture(), dir.path()).expect("copy fixture");
    let settings = Settings::resolve(Some(dir.path().to_owned()), None, EnvSnapshot::default());
    let store = open_store(&settings).expect("opens");
    (dir, store)
}

fn rec(value: serde_json::Value) -> Record {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn snapshot(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files = Vec::new();
    let mut stack = vec![root.join(".tmp")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("list") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read");
                files.push((path, bytes));
            }
        }
    }
    files.sort();
    files
}

#[test]
fn upstream_logs_read_as_the_legacy_writer_merged_with_store_writers() {
    let (dir, store) = repo();
    let before = snapshot(dir.path());
    let coord = StreamId::coordination("main", 1);

    assert_eq!(store.writers(&coord).expect("writers"), [LEGACY_WRITER]);
    let read = read_stream(&*store, &coord).expect("reads");
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    let got: Vec<(u64, &str, &str)> = read
        .records
        .iter()
        .map(|r| (r.seq, r.at.as_str(), r.id().expect("id")))
        .collect();
    assert_eq!(
        got,
        [
            (
                1,
                "2026-11-22T03:01:53.126Z",
                "wave-1-component-wave-parser-and-launcher"
            ),
            (2, "2026-11-22T03:01:53.267Z", "coord-request-8ed2faf3"),
            (3, "2026-11-22T03:01:53.913Z", "coord-ack-65289b9d"),
        ]
    );
    assert!(read.records.iter().all(|r| r.writer == LEGACY_WRITER));
    assert_eq!(
        read.records[1].record["targets"],
        json!(["agent:A2"]),
        "fields kept as written"
    );

    // A store writer's record lands between upstream's by time, and upstream's files are
    // never written.
    let at = jiff::Timestamp::from_millisecond(1_795_316_513_500).expect("time");
    assert_eq!(
        wave_runner::event::time::format(at),
        "2026-11-22T03:01:53.500Z"
    );
    store
        .append(
            &coord,
            "local-box-1",
            at,
            &[rec(json!({"id": "coord-resolve", "kind": "decision"}))],
        )
        .expect("append");
    let ids: Vec<_> = read_stream(&*store, &coord)
        .expect("reads")
        .records
        .iter()
        .map(|r| r.id().expect("id").to_owned())
        .collect();
    assert_eq!(
        ids,
        [
            "wave-1-component-wave-parser-and-launcher",
            "coord-request-8ed2faf3",
            "coord-resolve",
            "coord-ack-65289b9d"
        ]
    );
    assert_eq!(
        store.writers(&coord).expect("writers"),
        [LEGACY_WRITER, "local-box-1"]
    );
    assert!(
        dir.path()
            .join(".wave/state/main/wave-1/coordination/local-box-1.jsonl")
            .is_file()
    );
    assert_eq!(snapshot(dir.path()), before, "upstream state untouched");
    assert_eq!(store.last_seq(&coord, LEGACY_WRITER).expect("seq"), 3);
    assert!(matches!(
        store.append(&coord, LEGACY_WRITER, at, &[rec(json!({}))]),
        Err(StoreError::ReservedWriter { .. })
    ));
}

#[test]
fn control_plane_events_are_timed_by_recorded_at_and_tickets_by_owner_lane() {
    let (_dir, store) = repo();
    let control = read_stream(&*store, &StreamId::control("main", 1)).expect("reads");
    assert_eq!(control.records.len(), 1);
    assert_eq!(control.records[0].at, "2026-11-22T03:01:58.841Z");
    assert_eq!(control.records[0].record["entityType"], "rerun_request");

    let deps = read_stream(&*store, &StreamId::dependencies("ops")).expect("reads");
    assert_eq!(deps.records.len(), 1);
    assert_eq!(deps.records[0].id(), Some("dep-mwr93n2e"));
    assert_eq!(deps.records[0].at, "2026-11-22T03:01:58.022Z");
    assert!(
        read_stream(&*store, &StreamId::dependencies("main"))
            .expect("reads")
            .records
            .is_empty()
    );

    assert_eq!(store.lanes().expect("lanes"), ["main", "ops"]);
    assert_eq!(store.waves("main").expect("waves"), [1]);
}

#[test]
fn a_malformed_upstream_line_is_reported_with_its_file_and_line() {
    let (dir, store) = repo();
    let log = dir
        .path()
        .join(".tmp/main-wave-launcher/coordination/wave-1.jsonl");
    let mut text = std::fs::read_to_string(&log).expect("read");
    text.push_str("{\"id\":\"half\",\"kind\":\n");
    text.push_str(r#"{"id":"late","kind":"ack","updatedAt":"2026-11-22T03:09:00.000Z"}"#);
    std::fs::write(&log, text).expect("write");

    let read = read_stream(&*store, &StreamId::coordination("main", 1)).expect("reads");
    assert_eq!(read.records.len(), 4, "later lines still read");
    assert_eq!(read.records[3].id(), Some("late"));
    assert_eq!(read.records[3].seq, 5, "legacy seq is the line number");
    assert_eq!(read.problems.len(), 1);
    let problem = read.problems[0].to_string();
    assert!(
        problem.contains(".tmp/main-wave-launcher/coordination/wave-1.jsonl:4: not a valid record"),
        "{problem}"
    );
}

#[test]
fn upstream_result_envelopes_are_read_but_never_replaced() {
    let (dir, store) = repo();
    let key = ResultKey::new("main", 1, 1, "A1");
    let envelope = store
        .get_result(&key)
        .expect("get")
        .expect("upstream envelope");
    assert_eq!(envelope["schemaVersion"], 2);
    assert_eq!(envelope["proof"]["state"], "satisfied");
    assert_eq!(
        store.list_results("main", 1).expect("list"),
        std::slice::from_ref(&key)
    );

    assert_eq!(
        store.put_result(&key, &envelope).expect("same body"),
        PutOutcome::Unchanged
    );
    let mut changed = envelope.clone();
    changed.insert("exitCode".into(), json!(1));
    assert!(matches!(
        store.put_result(&key, &changed),
        Err(StoreError::ResultConflict { .. })
    ));
    assert!(
        !dir.path()
            .join(".wave/state/main/wave-1/results/attempt-1/A1.json")
            .exists()
    );

    let ours = ResultKey::new("main", 1, 2, "A1");
    store
        .put_result(&ours, &rec(json!({"schemaVersion": 2, "agentId": "A1"})))
        .expect("put");
    assert!(
        dir.path()
            .join(".wave/state/main/wave-1/results/attempt-2/A1.json")
            .is_file()
    );
    assert_eq!(store.list_results("main", 1).expect("list"), [key, ours]);
}
