//! The state branch holds exactly what a directory store holds: the same records appended to
//! both give the same files byte for byte and the same merged reads, and the branch checked
//! out as a directory reads back as that directory store.

#[path = "support/gitserver.rs"]
mod gitserver;

use serde_json::json;
use wave_runner::store::git::{GitBranchStore, GitSpec};
use wave_runner::store::{DirStore, EventStore, Record, ResultKey, StreamId, read_stream};

fn rec(value: serde_json::Value) -> Record {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn at(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(1_800_000_000_000 + ms).expect("valid time")
}

/// Appends the same history to a store: three writers, two streams, a batch, an envelope.
fn produce(store: &dyn EventStore) {
    let coord = StreamId::coordination("main", 0);
    let control = StreamId::control("main", 0);
    for k in 0..5 {
        for writer in ["gha-1-1-agents-A1", "gha-1-1-agents-A2"] {
            store
                .append(
                    &coord,
                    writer,
                    at(k * 10),
                    &[rec(
                        json!({"id": format!("{writer}-{k}"), "kind": "evidence",
                                 "summary": format!("step {k}")}),
                    )],
                )
                .expect("append");
        }
    }
    store
        .append(
            &control,
            "gha-1-1-launch",
            at(3),
            &[
                rec(json!({"id": "task-1", "kind": "task", "state": "open"})),
                rec(json!({"id": "task-1", "kind": "task", "state": "done"})),
            ],
        )
        .expect("append batch");
    store
        .append(
            &StreamId::dependencies("main"),
            "gha-1-1-plan",
            at(1),
            &[rec(json!({"id": "dep-1", "kind": "request"}))],
        )
        .expect("append dependency");
    store
        .put_result(
            &ResultKey::new("main", 0, 1, "A1"),
            &rec(json!({"schemaVersion": 2, "agentId": "A1", "waveNumber": 0, "attempt": 1})),
        )
        .expect("put result");
}

#[test]
fn the_branch_holds_the_directory_store_byte_for_byte() {
    let server = gitserver::GitServer::daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let dir_store = DirStore::new(dir.path().join("state"));
    let spec = GitSpec::parse(&format!("{}#wave-state", server.url())).expect("spec");
    let git_store = GitBranchStore::new(spec.clone(), &dir.path().join("cache"), None);
    produce(&dir_store);
    produce(&git_store);

    // The server's branch, file by file, equals the directory.
    let files = server.files("wave-state");
    assert_eq!(files.len(), 6, "{files:?}");
    for (path, text) in &files {
        let on_disk = std::fs::read_to_string(dir.path().join("state").join(path))
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(&on_disk, text, "{path}");
    }

    // A fresh reader of the branch (another machine) sees what the directory store shows.
    let reader = GitBranchStore::new(spec, &dir.path().join("other-cache"), None);
    assert_eq!(
        reader.lanes().expect("lanes"),
        dir_store.lanes().expect("lanes")
    );
    assert_eq!(reader.waves("main").expect("waves"), [0]);
    for stream in [
        StreamId::coordination("main", 0),
        StreamId::control("main", 0),
        StreamId::dependencies("main"),
    ] {
        let from_git = read_stream(&reader, &stream).expect("read git");
        let from_dir = read_stream(&dir_store, &stream).expect("read dir");
        assert!(from_git.problems.is_empty());
        assert_eq!(from_git.records, from_dir.records, "{stream}");
        assert_eq!(
            reader.writers(&stream).expect("writers"),
            dir_store.writers(&stream).expect("writers")
        );
    }
    let key = ResultKey::new("main", 0, 1, "A1");
    assert_eq!(
        reader.list_results("main", 0).expect("list"),
        std::slice::from_ref(&key)
    );
    assert_eq!(
        reader.get_result(&key).expect("get"),
        dir_store.get_result(&key).expect("get")
    );
}

#[test]
fn two_machines_storing_different_envelopes_for_one_key_keep_the_first_and_refuse_the_second() {
    let server = gitserver::GitServer::daemon();
    let dir = tempfile::tempdir().expect("temp dir");
    let spec = GitSpec::parse(&format!("{}#wave-state", server.url())).expect("spec");
    let first = GitBranchStore::new(spec.clone(), &dir.path().join("a"), None);
    let second = GitBranchStore::new(spec, &dir.path().join("b"), None);
    let key = ResultKey::new("main", 0, 1, "A1");
    let body = |exit: i64| rec(json!({"agentId": "A1", "exitCode": exit}));
    // Both machines also append, so the second one's push has to rebuild on the first's.
    first
        .append(
            &StreamId::coordination("main", 0),
            "w-a",
            at(0),
            &[rec(json!({"id": "a"}))],
        )
        .expect("append");
    first.put_result(&key, &body(0)).expect("first envelope");
    second
        .append(
            &StreamId::coordination("main", 0),
            "w-b",
            at(1),
            &[rec(json!({"id": "b"}))],
        )
        .expect("append");
    let err = second
        .put_result(&key, &body(1))
        .expect_err("the second envelope conflicts");
    assert!(err.to_string().contains("already exists"), "{err}");
    assert_eq!(second.get_result(&key).expect("get"), Some(body(0)));
    let files = server.files("wave-state");
    assert_eq!(files.len(), 4, "{files:?}");
}
