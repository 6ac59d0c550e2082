//! Real OS processes appending to one `DirStore` at once, and processes killed mid-append.
//!
//! The child processes are this test binary itself, re-run on the ignored test
//! [`child_process_entry`] with its instructions in an environment variable, so no extra
//! binary is built for the tests.
#![allow(clippy::disallowed_methods, clippy::disallowed_macros)] // tests read the environment and print freely

use std::collections::{BTreeMap, BTreeSet};
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::json;
use wave_runner::store::{DirStore, EventStore, Record, StreamId, read_stream};

const CHILD_ENV: &str = "WAVE_STORE_TEST_CHILD";

fn stream() -> StreamId {
    StreamId::coordination("main", 1)
}

fn rec(value: serde_json::Value) -> Record {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn at(ms: u64) -> jiff::Timestamp {
    jiff::Timestamp::from_millisecond(1_800_000_000_000 + ms as i64).expect("valid time")
}

/// Starts this test binary as a child running `child_process_entry` with `args`.
fn spawn_child(args: &[&str]) -> Child {
    let exe = std::env::current_exe().expect("test binary path");
    Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "child_process_entry",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_ENV, args.join("\u{1f}"))
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn child process")
}

fn wait_ok(child: Child, what: &str) {
    let out = child.wait_with_output().expect("wait for child");
    assert!(
        out.status.success(),
        "{what} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Whether the file's last byte is not a newline: a line is being (or was partly) written.
fn mid_line(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut f) = std::fs::File::open(path) else {
        return false;
    };
    let mut last = [0u8];
    f.seek(SeekFrom::End(-1)).is_ok() && f.read_exact(&mut last).is_ok() && last[0] != b'\n'
}

fn wait_for(path: &Path, timeout: Duration) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            start.elapsed() < timeout,
            "timed out waiting for {}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// The child side. Instructions (separated by U+001F):
/// - `append ROOT WRITER TAG COUNT GO`: wait for file GO, then append COUNT records one by one
///   with ids `TAG-0`…, each carrying its index `k`;
/// - `torn ROOT WRITER READY`: append 3 records, then start a fourth line by hand under the
///   writer file's lock, write half of it, create READY and wait to be killed;
/// - `big ROOT WRITER`: append 1 MiB records until killed.
#[test]
#[ignore = "child-process entry point, run by the other tests in this file"]
fn child_process_entry() {
    let spec = std::env::var(CHILD_ENV).expect("run by a parent test with instructions");
    let args: Vec<&str> = spec.split('\u{1f}').collect();
    let store = DirStore::new(args[1]);
    let writer = args[2];
    match args[0] {
        "append" => {
            let (tag, count) = (args[3], args[4].parse::<u64>().expect("count"));
            wait_for(Path::new(args[5]), Duration::from_secs(60));
            for k in 0..count {
                let record = rec(json!({"id": format!("{tag}-{k}"), "k": k, "tag": tag}));
                store
                    .append(&stream(), writer, at(k), &[record])
                    .expect("append");
            }
        }
        "torn" => {
            for k in 0..3 {
                store
                    .append(
                        &stream(),
                        writer,
                        at(k),
                        &[rec(json!({"id": format!("ok-{k}")}))],
                    )
                    .expect("append");
            }
            let path = store.writer_file(&stream(), writer);
            let mut file = OpenOptions::new().append(true).open(&path).expect("open");
            file.lock().expect("lock");
            let line = format!(
                r#"{{"writer":"{writer}","seq":4,"at":"2027-01-15T08:00:00.000Z","id":"lost","detail":"{}"}}"#,
                "x".repeat(200)
            );
            file.write_all(&line.as_bytes()[..line.len() / 2])
                .expect("write");
            file.sync_data().expect("sync");
            std::fs::write(args[3], b"").expect("ready marker");
            std::thread::sleep(Duration::from_secs(120));
            panic!("not killed");
        }
        "big" => {
            let detail = "y".repeat(1 << 20);
            for k in 0.. {
                let record = rec(json!({"id": format!("big-{k}"), "detail": detail}));
                store
                    .append(&stream(), writer, at(k), &[record])
                    .expect("append");
            }
        }
        other => panic!("unknown instruction {other}"),
    }
}

#[test]
fn many_processes_append_at_once_and_nothing_is_lost_or_torn() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("state");
    let go: PathBuf = dir.path().join("go");
    let root_s = root.to_str().expect("utf-8 path");
    let go_s = go.to_str().expect("utf-8 path");
    const PER: u64 = 200;

    let mut children = Vec::new();
    for w in 0..8 {
        let writer = format!("writer-{w}");
        let tag = format!("w{w}");
        children.push(spawn_child(&[
            "append",
            root_s,
            &writer,
            &tag,
            &PER.to_string(),
            go_s,
        ]));
    }
    // Four processes that share one writer name (a mistake the lock must survive).
    for c in 0..4 {
        let tag = format!("shared{c}");
        children.push(spawn_child(&[
            "append",
            root_s,
            "shared",
            &tag,
            &PER.to_string(),
            go_s,
        ]));
    }
    std::fs::write(&go, b"").expect("start signal");
    for (i, child) in children.into_iter().enumerate() {
        wait_ok(child, &format!("appending child {i}"));
    }

    let store = DirStore::new(&root);
    let read = read_stream(&store, &stream()).expect("reads");
    assert!(
        read.problems.is_empty(),
        "torn or bad lines: {:?}",
        read.problems
    );
    assert_eq!(read.records.len(), 12 * PER as usize);

    let ids: BTreeSet<&str> = read.records.iter().filter_map(|r| r.id()).collect();
    let expected: BTreeSet<String> = (0..8)
        .map(|w| format!("w{w}"))
        .chain((0..4).map(|c| format!("shared{c}")))
        .flat_map(|tag| (0..PER).map(move |k| format!("{tag}-{k}")))
        .collect();
    assert_eq!(
        ids,
        expected.iter().map(String::as_str).collect(),
        "every record exactly once"
    );

    let mut seqs: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
    for r in &read.records {
        seqs.entry(&r.writer).or_default().push(r.seq);
    }
    for (writer, mut got) in seqs {
        got.sort_unstable();
        let n = if writer == "shared" { 4 * PER } else { PER };
        assert_eq!(
            got,
            (1..=n).collect::<Vec<_>>(),
            "{writer}: seq gap-free from 1"
        );
        assert_eq!(store.last_seq(&stream(), writer).expect("seq"), n);
    }

    // Within the shared file, each process's records keep their append order.
    let mut by_tag: BTreeMap<String, Vec<(u64, u64)>> = BTreeMap::new();
    for r in read.records.iter().filter(|r| r.writer == "shared") {
        let tag = r.record["tag"].as_str().expect("tag").to_owned();
        by_tag
            .entry(tag)
            .or_default()
            .push((r.seq, r.record["k"].as_u64().expect("k")));
    }
    for (tag, mut rows) in by_tag {
        rows.sort_unstable();
        assert!(
            rows.windows(2).all(|w| w[0].1 < w[1].1),
            "{tag}: appends out of order"
        );
    }
}

#[test]
fn a_process_killed_halfway_through_a_line_leaves_a_readable_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("state");
    let ready = dir.path().join("ready");
    let mut child = spawn_child(&[
        "torn",
        root.to_str().expect("utf-8"),
        "w",
        ready.to_str().expect("utf-8"),
    ]);
    wait_for(&ready, Duration::from_secs(60));
    child.kill().expect("SIGKILL");
    let status = child.wait().expect("reap");
    assert!(!status.success());

    let store = DirStore::new(&root);
    let read = read_stream(&store, &stream()).expect("reads");
    let ids: Vec<_> = read.records.iter().filter_map(|r| r.id()).collect();
    assert_eq!(
        ids,
        ["ok-0", "ok-1", "ok-2"],
        "the partial record is not counted"
    );
    assert_eq!(read.problems.len(), 1, "{:?}", read.problems);
    let problem = read.problems[0].to_string();
    assert!(
        problem.contains("main/wave-1/coordination/w.jsonl:4: torn line"),
        "{problem}"
    );

    // The dead process's lock is gone, and numbering continues from the last good record.
    let appended = store
        .append(&stream(), "w", at(9), &[rec(json!({"id": "after"}))])
        .expect("append after the crash");
    assert_eq!(appended.first, 4);
    let read = read_stream(&store, &stream()).expect("reads");
    let ids: Vec<_> = read.records.iter().filter_map(|r| r.id()).collect();
    assert_eq!(ids, ["ok-0", "ok-1", "ok-2", "after"]);
    assert_eq!(read.problems.len(), 1);
    assert_eq!(read.problems[0].line, 4);
}

#[test]
fn killing_a_busy_appender_at_any_moment_keeps_the_store_consistent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let root = dir.path().join("state");
    let store = DirStore::new(&root);
    for round in 0..3u64 {
        let mut child = spawn_child(&["big", root.to_str().expect("utf-8"), "w"]);
        // Let it get some appends in, then kill it, preferably while a line is half-written
        // (the file's last byte is not a newline); the kernel then stops the write short.
        let path = store.writer_file(&stream(), "w");
        let start = Instant::now();
        let base = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        loop {
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len >= base + (2 << 20)
                && (mid_line(&path) || start.elapsed() > Duration::from_secs(5))
            {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "child made no progress"
            );
            std::thread::yield_now();
        }
        child.kill().expect("SIGKILL");
        child.wait().expect("reap");

        let mut seqs = Vec::new();
        let problems = store
            .visit(&stream(), &mut |line| {
                seqs.push(line.envelope()?.seq);
                Ok(())
            })
            .expect("visit");
        // Good records are numbered 1..=n without gaps; a torn line can only be where a
        // process died (each round's end), never counted.
        assert_eq!(
            seqs,
            (1..=seqs.len() as u64).collect::<Vec<_>>(),
            "round {round}"
        );
        assert!(
            problems.len() as u64 <= round + 1,
            "round {round}: {problems:?}"
        );
        assert!(
            problems
                .iter()
                .all(|p| p.message.contains("torn") || p.message.contains("not a valid record"))
        );
        let next = store
            .append(
                &stream(),
                "w",
                at(0),
                &[rec(json!({"id": format!("after-{round}")}))],
            )
            .expect("append after the kill");
        assert_eq!(next.first, seqs.len() as u64 + 1, "round {round}");
    }
}
