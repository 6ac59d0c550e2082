//! Outboxes (`WAVE_OUTBOX`) and `wave state import`: what a read-only CI job records lands in a
//! directory, reads see the store and that directory together, and importing the directory is
//! a union that a second import (or a re-run job's outbox) never duplicates.

mod common;

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};
use wave_runner::store::{
    DirStore, EventStore, ImportError, OutboxStore, Record, ResultKey, StreamId, import,
    read_stream,
};

fn rec(v: Value) -> Record {
    v.as_object().expect("object").clone()
}

fn at(s: &str) -> jiff::Timestamp {
    s.parse().expect("timestamp")
}

fn control() -> StreamId {
    StreamId::control("main", 1)
}

/// (writer, seq, id) of every line of a stream, merged.
fn lines(store: &dyn EventStore, stream: &StreamId) -> Vec<(String, u64, String)> {
    let read = read_stream(store, stream).expect("read");
    assert!(read.problems.is_empty(), "{:?}", read.problems);
    read.records
        .into_iter()
        .map(|r| {
            let id = r.id().unwrap_or_default().to_owned();
            (r.writer, r.seq, id)
        })
        .collect()
}

#[test]
fn an_outbox_takes_the_writes_and_reads_both_stores() {
    let base_dir = tempfile::tempdir().expect("dir");
    let box_dir = tempfile::tempdir().expect("dir");
    let base = DirStore::new(base_dir.path());
    base.append(
        &control(),
        "plan-job",
        at("2026-01-01T00:00:00Z"),
        &[rec(json!({"id": "p1"}))],
    )
    .expect("append");
    base.append(
        &control(),
        "agent-job",
        at("2026-01-01T00:00:01Z"),
        &[rec(json!({"id": "a1"}))],
    )
    .expect("append");
    let outbox = OutboxStore::new(Box::new(base.clone()), DirStore::new(box_dir.path()));
    outbox
        .append(
            &control(),
            "new-job",
            at("2026-01-01T00:00:02Z"),
            &[rec(json!({"id": "n1"})), rec(json!({"id": "n2"}))],
        )
        .expect("append");
    // A writer the base already has continues its own `seq` in the outbox.
    outbox
        .append(
            &control(),
            "agent-job",
            at("2026-01-01T00:00:03Z"),
            &[rec(json!({"id": "a2"}))],
        )
        .expect("append");
    assert_eq!(
        lines(&outbox, &control()),
        [
            ("plan-job".into(), 1, "p1".into()),
            ("agent-job".into(), 1, "a1".into()),
            ("new-job".into(), 1, "n1".into()),
            ("new-job".into(), 2, "n2".into()),
            ("agent-job".into(), 2, "a2".into()),
        ]
    );
    // Nothing reached the base.
    assert_eq!(lines(&base, &control()).len(), 2);
    let key = ResultKey::new("main", 1, 1, "A1");
    outbox
        .put_result(&key, &rec(json!({"agentId": "A1"})))
        .expect("envelope");
    assert!(base.get_result(&key).expect("read").is_none());
    assert!(outbox.get_result(&key).expect("read").is_some());

    // Importing the outbox gives the base the union; importing again changes nothing.
    let outbox_only = DirStore::new(box_dir.path());
    let first = import(&outbox_only, &base).expect("import");
    assert_eq!(
        (first.appended, first.present, first.results_written),
        (3, 1, 1)
    );
    let merged = lines(&base, &control());
    assert_eq!(merged, lines(&outbox, &control()));
    let again = import(&outbox_only, &base).expect("import again");
    assert_eq!(
        (again.appended, again.present, again.results_present),
        (0, 4, 1)
    );
    assert_eq!(lines(&base, &control()), merged);
    // Every line keeps its writer, seq and `at`.
    let stored = read_stream(&base, &control()).expect("read").records;
    let n2 = stored
        .iter()
        .find(|r| r.id() == Some("n2"))
        .expect("n2 imported");
    assert_eq!(
        (n2.writer.as_str(), n2.seq, n2.at.as_str()),
        ("new-job", 2, "2026-01-01T00:00:02.000Z")
    );
}

#[test]
fn a_writer_whose_lines_differ_is_refused_not_merged() {
    let a = tempfile::tempdir().expect("dir");
    let b = tempfile::tempdir().expect("dir");
    let (a, b) = (DirStore::new(a.path()), DirStore::new(b.path()));
    a.append(
        &control(),
        "w",
        at("2026-01-01T00:00:00Z"),
        &[rec(json!({"id": "x"}))],
    )
    .expect("append");
    b.append(
        &control(),
        "w",
        at("2026-01-01T00:00:00Z"),
        &[rec(json!({"id": "y"}))],
    )
    .expect("append");
    let err = import(&a, &b).expect_err("diverged");
    assert!(
        matches!(&err, ImportError::Diverged { writer, seq: 1, .. } if writer == "w"),
        "{err}"
    );
    assert!(err.to_string().contains("two processes"), "{err}");
    assert_eq!(lines(&b, &control()), [("w".into(), 1, "y".into())]);
}

fn wave(repo: &Path, outbox: Option<&Path>, args: &[&str]) -> Output {
    let mut c = Command::new(common::wave_bin());
    c.arg("--repo-root").arg(repo).args(args);
    c.env_remove("WAVE_STORE").env_remove("WAVE_OUTBOX");
    if let Some(dir) = outbox {
        c.env("WAVE_OUTBOX", dir);
    }
    c.output().expect("run wave")
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn commands_record_into_the_outbox_and_state_import_pushes_it_once() {
    let repo = common::scenario_repo();
    let outbox = tempfile::tempdir().expect("dir");
    let post = |id: &str, outbox: Option<&Path>| {
        let out = wave(
            repo.path(),
            outbox,
            &[
                "coord",
                "post",
                "--agent",
                "A1",
                "--kind",
                "request",
                "--summary",
                "Help",
                "--id",
                id,
            ],
        );
        assert!(out.status.success(), "{}", text(&out));
    };
    post("req-store", None);
    post("req-outbox", Some(outbox.path()));
    let shown = |outbox: Option<&Path>| {
        let out = wave(
            repo.path(),
            outbox,
            &["coord", "show", "--id", "req-outbox"],
        );
        out.status.success()
    };
    assert!(
        shown(Some(outbox.path())),
        "the outbox reads its own record"
    );
    assert!(!shown(None), "the store has not got it yet");
    let state = repo.path().join(".wave/state");
    let store = DirStore::new(&state);
    let before = read_stream(&store, &StreamId::coordination("main", 0))
        .expect("read")
        .records
        .len();
    assert_eq!(before, 1);

    let import = |json: bool| {
        let mut args = vec!["state", "import"];
        if json {
            args.push("--json");
        }
        let dir = outbox.path().to_str().expect("utf-8 path");
        args.push(dir);
        let out = wave(repo.path(), None, &args);
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let first: Value = serde_json::from_str(&import(true)).expect("JSON");
    assert_eq!(first["total"]["appended"], 1, "{first}");
    assert!(shown(None), "imported");
    let second = import(false);
    assert!(
        second.contains("imported 0 lines") && second.contains("1 line and"),
        "{second}"
    );
    assert_eq!(
        read_stream(&store, &StreamId::coordination("main", 0))
            .expect("read")
            .records
            .len(),
        2
    );
    let missing = wave(repo.path(), None, &["state", "import", "no-such-dir"]);
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(text(&missing).contains("not a directory store"));
}
