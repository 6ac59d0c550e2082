//! Reading with several visitors at once sees exactly the lines one visitor sees.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::Path;

use serde_json::json;
use wave_runner::store::{
    DirStore, EventStore, LegacyUpstream, ParallelVisitor, Problem, Record, StreamId, WithLegacy,
};

/// What a visitor saw of one line.
type Seen = (String, u64, String, u64, usize);

fn rec(value: serde_json::Value) -> Record {
    match value {
        serde_json::Value::Object(map) => map,
        other => panic!("not an object: {other}"),
    }
}

fn sequential(store: &dyn EventStore, stream: &StreamId) -> (BTreeSet<Seen>, Vec<Problem>) {
    let mut seen = BTreeSet::new();
    let problems = store
        .visit(stream, &mut |line| {
            let env = line.envelope()?;
            seen.insert((
                line.file.to_owned(),
                line.line,
                env.writer.into_owned(),
                env.seq,
                line.text.len(),
            ));
            Ok(())
        })
        .expect("visit");
    (seen, problems)
}

fn parallel(
    store: &dyn EventStore,
    stream: &StreamId,
    threads: usize,
) -> (BTreeSet<Seen>, Vec<Problem>, usize) {
    let mut parts: Vec<Vec<Seen>> = vec![Vec::new(); threads];
    let problems = {
        let mut closures: Vec<_> = parts
            .iter_mut()
            .map(|part| {
                move |line: &wave_runner::store::RawLine<'_>| {
                    let env = line.envelope()?;
                    part.push((
                        line.file.to_owned(),
                        line.line,
                        env.writer.into_owned(),
                        env.seq,
                        line.text.len(),
                    ));
                    Ok(())
                }
            })
            .collect();
        let mut visitors: Vec<&mut ParallelVisitor<'_>> = closures
            .iter_mut()
            .map(|c| c as &mut ParallelVisitor<'_>)
            .collect();
        store.visit_parallel(stream, &mut visitors).expect("visit")
    };
    let busy = parts.iter().filter(|p| !p.is_empty()).count();
    let total: usize = parts.iter().map(Vec::len).sum();
    let seen: BTreeSet<Seen> = parts.into_iter().flatten().collect();
    assert_eq!(seen.len(), total, "no line visited twice");
    (seen, problems, busy)
}

fn append_text(path: &Path, text: &str) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .expect("open");
    f.write_all(text.as_bytes()).expect("write");
}

#[test]
fn parallel_visits_match_the_sequential_visit_on_store_and_upstream_files() {
    let dir = tempfile::tempdir().expect("temp dir");
    let inner = DirStore::new(dir.path().join(".wave/state"));
    let stream = StreamId::coordination("main", 0);
    let at = jiff::Timestamp::from_second(1_800_000_000).expect("time");
    let detail = "d".repeat(2000);
    let batch: Vec<Record> = (0..1000)
        .map(|i| rec(json!({"id": format!("r{i}"), "detail": detail})))
        .collect();
    for _ in 0..3 {
        inner.append(&stream, "big", at, &batch).expect("append");
    }
    inner
        .append(&stream, "small", at, &batch[..3])
        .expect("append");
    // A malformed line in the middle of the big file, and a torn one at its end.
    let big = inner.writer_file(&stream, "big");
    append_text(&big, "garbage\n");
    inner
        .append(&stream, "big", at, &batch[..500])
        .expect("append");
    append_text(
        &big,
        "{\"writer\":\"big\",\"seq\":3501,\"at\":\"x\",\"id\":",
    );

    // An upstream log of the same stream, large enough to be split, with a very long line.
    let legacy_log = dir
        .path()
        .join(".tmp/main-wave-launcher/coordination/wave-0.jsonl");
    let mut text = String::new();
    for i in 0..3000 {
        text.push_str(&format!("{{\"id\":\"u{i}\",\"updatedAt\":\"2026-01-01T00:00:00.000Z\",\"detail\":\"{detail}\"}}\n"));
    }
    text.push_str(&format!(
        "{{\"id\":\"long\",\"detail\":\"{}\"}}\n\n",
        "L".repeat(5 << 20)
    ));
    text.push_str("{\"id\":\"last\"}\n");
    append_text(&legacy_log, &text);

    let store = WithLegacy::new(Box::new(inner), LegacyUpstream::for_repo(dir.path()));
    let (want, want_problems) = sequential(&store, &stream);
    assert_eq!(want.len(), 3000 + 3 + 500 + 3002);
    assert_eq!(want_problems.len(), 2, "{want_problems:?}");
    for threads in [1, 2, 3, 7] {
        let (got, mut problems, busy) = parallel(&store, &stream, threads);
        assert_eq!(got, want, "{threads} threads");
        let mut expected = want_problems.clone();
        expected.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
        problems.sort_by(|a, b| a.file.cmp(&b.file).then(a.line.cmp(&b.line)));
        assert_eq!(problems, expected, "{threads} threads");
        assert!(
            busy >= threads.min(2),
            "{threads} threads: only {busy} visitors got lines"
        );
    }
    // Legacy lines keep their absolute line numbers as seq whichever thread read them.
    let (got, _, _) = parallel(&store, &stream, 3);
    assert!(
        got.iter()
            .filter(|s| s.2 == "legacy-upstream")
            .all(|s| s.1 == s.3)
    );
}
