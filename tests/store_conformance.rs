//! One behaviour suite run against every `EventStore` backend (`DirStore`, `MemStore`, `GitBranchStore`): the
//! backends must agree on numbering, line bytes, problems and envelopes.

use std::io::Write;
use std::path::Path;

use serde_json::json;
use wave_runner::store::git::{GitBranchStore, GitSpec};
use wave_runner::store::{
    Appended, DirStore, EventStore, LEGACY_WRITER, MemStore, PutOutcome, Record, ResultKey,
    StoreError, StreamId, read_stream,
};

#[path = "support/gitserver.rs"]
mod gitserver;

/// Appends raw text to a writer file of a stream.
type StageRaw = dyn Fn(&StreamId, &str, &str);
/// The text of a writer file of a stream.
type FileText = dyn Fn(&StreamId, &str) -> String;

/// A backend under test, with a way to put raw bytes into a writer file (to stage torn lines).
struct Backend {
    name: &'static str,
    store: Box<dyn EventStore>,
    stage_raw: Box<StageRaw>,
    file_text: Box<FileText>,
    _dir: Option<tempfile::TempDir>,
    _server: Option<gitserver::GitServer>,
}

fn backends() -> Vec<Backend> {
    let dir = tempfile::tempdir().expect("temp dir");
    let dir_store = DirStore::new(dir.path().join("state"));
    let raw_store = dir_store.clone();
    let text_store = dir_store.clone();
    let mem = std::sync::Arc::new(MemStore::new());
    let mem_raw = mem.clone();
    let mem_text = mem.clone();
    vec![
        Backend {
            name: "dir",
            store: Box::new(dir_store),
            stage_raw: Box::new(move |stream, writer, text| {
                let path = raw_store.writer_file(stream, writer);
                std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
                let mut f = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .expect("open");
                f.write_all(text.as_bytes()).expect("write");
            }),
            file_text: Box::new(move |stream, writer| {
                std::fs::read_to_string(text_store.writer_file(stream, writer)).unwrap_or_default()
            }),
            _dir: Some(dir),
            _server: None,
        },
        Backend {
            name: "mem",
            store: Box::new(mem),
            stage_raw: Box::new(move |stream, writer, text| {
                mem_raw.append_raw(stream, writer, text)
            }),
            file_text: Box::new(move |stream, writer| {
                mem_text.file_text(stream, writer).unwrap_or_default()
            }),
            _dir: None,
            _server: None,
        },
        git_backend(),
    ]
}

/// The state-branch backend against a `git daemon` on loopback; a second instance on the same
/// cache stages raw lines and reads files back.
fn git_backend() -> Backend {
    let server = gitserver::GitServer::daemon();
    let cache = tempfile::tempdir().expect("temp dir");
    let spec = GitSpec::parse(&format!("{}#wave-state", server.url())).expect("spec");
    let base = cache.path().join("cache");
    let open = || GitBranchStore::new(spec.clone(), &base, None);
    let raw = open();
    let text = open();
    Backend {
        name: "git",
        store: Box::new(open()),
        stage_raw: Box::new(move |stream, writer, t| {
            raw.append_raw(stream, writer, t).expect("stage raw text")
        }),
        file_text: Box::new(move |stream, writer| {
            text.file_text(stream, writer)
                .expect("read file")
                .unwrap_or_default()
        }),
        _dir: Some(cache),
        _server: Some(server),
    }
}

fn rec(value: serde_json::Value) -> Record {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn at(ms: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(1_800_000_000_000 + ms).expect("valid time")
}

fn ids(store: &dyn EventStore, stream: &StreamId) -> Vec<String> {
    read_stream(store, stream)
        .expect("reads")
        .records
        .iter()
        .map(|r| r.id().unwrap_or("").to_owned())
        .collect()
}

#[test]
fn appends_number_each_writer_gap_free_from_one() {
    for b in backends() {
        let s = StreamId::coordination("main", 1);
        let other = StreamId::control("main", 1);
        let store = &*b.store;
        assert_eq!(store.last_seq(&s, "w1").expect("seq"), 0, "{}", b.name);
        let one = store
            .append(&s, "w1", at(0), &[rec(json!({"id": "a"}))])
            .expect("append");
        assert_eq!(one, Appended { first: 1, last: 1 }, "{}", b.name);
        let batch = store
            .append(
                &s,
                "w1",
                at(1),
                &[rec(json!({"id": "b"})), rec(json!({"id": "c"}))],
            )
            .expect("append");
        assert_eq!(batch, Appended { first: 2, last: 3 }, "{}", b.name);
        let w2 = store
            .append(&s, "w2", at(0), &[rec(json!({"id": "d"}))])
            .expect("append");
        assert_eq!(w2.first, 1, "{}: writers number independently", b.name);
        let ctl = store
            .append(&other, "w1", at(0), &[rec(json!({"id": "e"}))])
            .expect("append");
        assert_eq!(ctl.first, 1, "{}: streams number independently", b.name);
        let empty = store.append(&s, "w1", at(2), &[]).expect("append");
        assert_eq!(empty, Appended { first: 4, last: 3 }, "{}", b.name);
        let nothing = store.append(&s, "w9", at(2), &[]).expect("append");
        assert_eq!(nothing, Appended { first: 1, last: 0 }, "{}", b.name);

        assert_eq!(store.last_seq(&s, "w1").expect("seq"), 3, "{}", b.name);
        assert_eq!(
            store.writers(&s).expect("writers"),
            ["w1", "w2"],
            "{}",
            b.name
        );
        let read = read_stream(store, &s).expect("reads");
        assert!(read.problems.is_empty(), "{}: {:?}", b.name, read.problems);
        let got: Vec<(String, u64, String)> = read
            .records
            .iter()
            .map(|r| (r.writer.clone(), r.seq, r.id().unwrap_or("").to_owned()))
            .collect();
        let want = [
            ("w1", 1, "a"),
            ("w2", 1, "d"),
            ("w1", 2, "b"),
            ("w1", 3, "c"),
        ]
        .map(|(w, s, i)| (w.to_owned(), s, i.to_owned()));
        assert_eq!(got, want, "{}: merged in (at, writer, seq) order", b.name);
        assert_eq!(
            read.records[0].record,
            rec(json!({"id": "a"})),
            "{}: the envelope is split off the record",
            b.name
        );
        assert_eq!(read.records[0].at, "2027-01-15T08:00:00.000Z", "{}", b.name);
    }
}

#[test]
fn backends_store_identical_line_bytes() {
    let texts: Vec<String> = backends()
        .into_iter()
        .map(|b| {
            let s = StreamId::dependencies("ops");
            b.store
                .append(
                    &s,
                    "gha-1-1-plan",
                    at(5),
                    &[rec(json!({"id": "dep-1", "kind": "request", "n": [1, 2]}))],
                )
                .expect("append");
            (b.file_text)(&s, "gha-1-1-plan")
        })
        .collect();
    assert_eq!(
        texts[0],
        "{\"writer\":\"gha-1-1-plan\",\"seq\":1,\"at\":\"2027-01-15T08:00:00.005Z\",\"id\":\"dep-1\",\"kind\":\"request\",\"n\":[1,2]}\n"
    );
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    for b in backends() {
        let s = StreamId::coordination("main", 0);
        let store = &*b.store;
        let err = store
            .append(&s, "w", at(0), &[rec(json!({"id": "x", "writer": "me"}))])
            .expect_err("envelope field");
        assert!(
            matches!(err, StoreError::EnvelopeField { field: "writer" }),
            "{}",
            b.name
        );
        let err = store
            .append(&s, LEGACY_WRITER, at(0), &[rec(json!({"id": "x"}))])
            .expect_err("reserved");
        assert!(
            matches!(err, StoreError::ReservedWriter { .. }),
            "{}",
            b.name
        );
        let err = store
            .append(&s, "../evil", at(0), &[rec(json!({}))])
            .expect_err("bad writer");
        assert!(
            err.to_string().contains("invalid writer name"),
            "{}: {err}",
            b.name
        );
        let err = store
            .append(
                &StreamId::coordination("a/b", 0),
                "w",
                at(0),
                &[rec(json!({}))],
            )
            .expect_err("bad lane");
        assert!(
            err.to_string().contains("invalid lane name"),
            "{}: {err}",
            b.name
        );
        assert_eq!(
            store.last_seq(&s, "w").expect("seq"),
            0,
            "{}: nothing written",
            b.name
        );
        assert!(store.writers(&s).expect("writers").is_empty(), "{}", b.name);
    }
}

#[test]
fn a_torn_last_line_is_reported_skipped_and_does_not_break_later_appends() {
    for b in backends() {
        let s = StreamId::coordination("main", 2);
        let store = &*b.store;
        store
            .append(
                &s,
                "w",
                at(0),
                &[rec(json!({"id": "a"})), rec(json!({"id": "b"}))],
            )
            .expect("append");
        // A crash halfway through the third line.
        (b.stage_raw)(
            &s,
            "w",
            r#"{"writer":"w","seq":3,"at":"2027-01-15T08:00:00.000Z","id":"c","detail":{"x":1}"#,
        );

        let read = read_stream(store, &s).expect("reads");
        assert_eq!(
            ids(store, &s),
            ["a", "b"],
            "{}: torn line not counted",
            b.name
        );
        assert_eq!(read.problems.len(), 1, "{}: {:?}", b.name, read.problems);
        let p = &read.problems[0];
        assert_eq!(p.line, 3, "{}", b.name);
        assert!(
            p.file.ends_with("main/wave-2/coordination/w.jsonl"),
            "{}: {}",
            b.name,
            p.file
        );
        assert!(p.message.contains("torn line"), "{}: {}", b.name, p.message);
        assert!(p.to_string().contains("w.jsonl:3: "), "{}: {p}", b.name);
        assert_eq!(store.last_seq(&s, "w").expect("seq"), 2, "{}", b.name);

        let next = store
            .append(&s, "w", at(1), &[rec(json!({"id": "d"}))])
            .expect("append after a torn line");
        assert_eq!(
            next.first, 3,
            "{}: numbering continues from the last good record",
            b.name
        );
        let text = (b.file_text)(&s, "w");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 4, "{}: {text}", b.name);
        assert!(
            lines[3].starts_with(r#"{"writer":"w","seq":3,"#),
            "{}: fresh line",
            b.name
        );

        let read = read_stream(store, &s).expect("reads");
        assert_eq!(ids(store, &s), ["a", "b", "d"], "{}", b.name);
        assert_eq!(read.problems.len(), 1, "{}: {:?}", b.name, read.problems);
        assert_eq!(read.problems[0].line, 3, "{}", b.name);
        assert!(
            !read.problems[0].message.contains("torn"),
            "{}: now a complete bad line",
            b.name
        );
    }
}

#[test]
fn malformed_lines_anywhere_are_reported_with_file_and_line_and_skipped() {
    for b in backends() {
        let s = StreamId::control("main", 0);
        let store = &*b.store;
        store
            .append(&s, "w", at(0), &[rec(json!({"id": "a"}))])
            .expect("append");
        (b.stage_raw)(
            &s,
            "w",
            "not json\n\n[1,2]\n{\"writer\":\"w\",\"at\":\"x\"}\n",
        );
        (b.stage_raw)(&s, "w", "{\"writer\":\"other\",\"seq\":9,\"at\":\"x\"}\n");
        store
            .append(&s, "w", at(1), &[rec(json!({"id": "b"}))])
            .expect("append");
        let read = read_stream(store, &s).expect("reads");
        assert_eq!(ids(store, &s), ["a", "b"], "{}", b.name);
        let lines: Vec<u64> = read.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [2, 4, 5, 6], "{}: {:?}", b.name, read.problems);
        assert!(read.problems[2].message.contains("`seq`"), "{}", b.name);
        assert!(
            read.problems[3].message.contains("writer `other`"),
            "{}",
            b.name
        );
        assert_eq!(read.records[1].seq, 2, "{}: the next seq after 1", b.name);
    }
}

#[test]
fn a_line_the_visitor_rejects_becomes_a_problem() {
    for b in backends() {
        let s = StreamId::coordination("main", 0);
        let store = &*b.store;
        store
            .append(
                &s,
                "w",
                at(0),
                &[
                    rec(json!({"id": "a", "kind": "ack"})),
                    rec(json!({"id": "b"})),
                ],
            )
            .expect("append");
        let mut kinds = Vec::new();
        let problems = store
            .visit(&s, &mut |line| {
                #[derive(serde::Deserialize)]
                struct Kind<'a> {
                    kind: &'a str,
                }
                let k: Kind<'_> = line.parse()?;
                kinds.push(k.kind.to_owned());
                Ok(())
            })
            .expect("visit");
        assert_eq!(kinds, ["ack"], "{}", b.name);
        assert_eq!(problems.len(), 1, "{}", b.name);
        assert_eq!(problems[0].line, 2, "{}", b.name);
        assert!(
            problems[0].message.contains("kind"),
            "{}: {}",
            b.name,
            problems[0].message
        );
    }
}

#[test]
fn result_envelopes_are_immutable() {
    for b in backends() {
        let store = &*b.store;
        let key = ResultKey::new("main", 1, 2, "A1");
        let body = rec(json!({"schemaVersion": 2, "agentId": "A1", "proof": {"state": "met"}}));
        assert_eq!(store.get_result(&key).expect("get"), None, "{}", b.name);
        assert_eq!(
            store.put_result(&key, &body).expect("put"),
            PutOutcome::Written,
            "{}",
            b.name
        );
        assert_eq!(
            store.put_result(&key, &body).expect("put again"),
            PutOutcome::Unchanged,
            "{}",
            b.name
        );
        let reordered =
            rec(json!({"proof": {"state": "met"}, "agentId": "A1", "schemaVersion": 2}));
        assert_eq!(
            store
                .put_result(&key, &reordered)
                .expect("same body, other key order"),
            PutOutcome::Unchanged,
            "{}",
            b.name
        );
        let changed = rec(json!({"schemaVersion": 2, "agentId": "A1", "proof": {"state": "gap"}}));
        let err = store.put_result(&key, &changed).expect_err("conflict");
        assert!(
            matches!(err, StoreError::ResultConflict { .. }),
            "{}",
            b.name
        );
        assert!(
            err.to_string().contains("attempt-2/A1.json"),
            "{}: {err}",
            b.name
        );
        assert_eq!(
            store.get_result(&key).expect("get"),
            Some(body),
            "{}",
            b.name
        );

        store
            .put_result(&ResultKey::new("main", 1, 1, "A2"), &rec(json!({})))
            .expect("put");
        store
            .put_result(&ResultKey::new("main", 3, 1, "A1"), &rec(json!({})))
            .expect("put");
        assert_eq!(
            store.list_results("main", 1).expect("list"),
            [ResultKey::new("main", 1, 1, "A2"), key.clone()],
            "{}",
            b.name
        );
        assert!(
            store
                .put_result(&ResultKey::new("main", 1, 1, "../x"), &rec(json!({})))
                .is_err()
        );
    }
}

#[test]
fn lanes_and_waves_list_what_holds_state() {
    for b in backends() {
        let store = &*b.store;
        assert!(store.lanes().expect("lanes").is_empty(), "{}", b.name);
        store
            .append(
                &StreamId::coordination("main", 3),
                "w",
                at(0),
                &[rec(json!({}))],
            )
            .expect("append");
        store
            .append(&StreamId::control("main", 1), "w", at(0), &[rec(json!({}))])
            .expect("append");
        store
            .append(
                &StreamId::dependencies("ops"),
                "w",
                at(0),
                &[rec(json!({}))],
            )
            .expect("append");
        store
            .put_result(&ResultKey::new("docs", 7, 1, "A1"), &rec(json!({})))
            .expect("put");
        assert_eq!(
            store.lanes().expect("lanes"),
            ["docs", "main", "ops"],
            "{}",
            b.name
        );
        assert_eq!(store.waves("main").expect("waves"), [1, 3], "{}", b.name);
        assert_eq!(store.waves("docs").expect("waves"), [7], "{}", b.name);
        assert!(store.waves("ops").expect("waves").is_empty(), "{}", b.name);
    }
}

#[test]
fn concurrent_threads_appending_as_one_writer_get_distinct_seqs() {
    for b in backends() {
        let s = StreamId::coordination("main", 0);
        let store = &*b.store;
        let stream = &s;
        std::thread::scope(|scope| {
            for t in 0..4 {
                scope.spawn(move || {
                    for k in 0..25 {
                        store
                            .append(
                                stream,
                                "shared",
                                at(k),
                                &[rec(json!({"id": format!("{t}-{k}")}))],
                            )
                            .expect("append");
                    }
                });
            }
        });
        let read = read_stream(store, &s).expect("reads");
        assert!(read.problems.is_empty(), "{}", b.name);
        let mut seqs: Vec<u64> = read.records.iter().map(|r| r.seq).collect();
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=100).collect::<Vec<_>>(), "{}", b.name);
    }
}

#[test]
fn dir_store_creates_nothing_until_written() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("state");
    let store = DirStore::new(&root);
    let s = StreamId::coordination("main", 0);
    assert!(read_stream(&store, &s).expect("reads").records.is_empty());
    assert!(store.lanes().expect("lanes").is_empty());
    assert!(!Path::new(&root).exists());
    store
        .append(&s, "w", at(0), &[rec(json!({}))])
        .expect("append");
    assert!(root.join("main/wave-0/coordination/w.jsonl").is_file());
}

#[test]
fn dir_store_marks_its_format_and_refuses_to_write_a_newer_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("state");
    let s = StreamId::coordination("main", 0);
    DirStore::new(&root)
        .append(&s, "w", at(0), &[rec(json!({"id": "a"}))])
        .expect("append");
    let marker = root.join(wave_runner::store::FORMAT_FILE);
    assert_eq!(
        std::fs::read_to_string(&marker).expect("marker"),
        "{\"storeFormat\": 1}\n"
    );

    std::fs::write(&marker, "{\"storeFormat\": 2}\n").expect("write");
    let newer = DirStore::new(&root);
    let err = newer
        .append(&s, "w", at(1), &[rec(json!({"id": "b"}))])
        .expect_err("newer format");
    assert!(
        matches!(
            err,
            StoreError::NewerFormat {
                found: 2,
                supported: 1,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("upgrade wave-runner"), "{err}");
    assert!(
        newer
            .put_result(&ResultKey::new("main", 0, 1, "A1"), &rec(json!({})))
            .is_err()
    );
    assert_eq!(ids(&newer, &s), ["a"], "reading still works");

    std::fs::write(&marker, "garbage").expect("write");
    let err = DirStore::new(&root)
        .append(&s, "w", at(1), &[rec(json!({}))])
        .expect_err("corrupt marker");
    assert!(matches!(err, StoreError::CorruptFormat { .. }), "{err}");
}
