//! Store benchmarks: append throughput and reading a large log.
//!
//! ```text
//! cargo bench --bench store
//! ```
//! Appends go to a `DirStore` on the temp directory's file system, so they include one
//! `fsync` per batch. Reads scan a generated coordination log of `LOG_RECORDS` records in
//! upstream's record shape (the shape of `gen-coordination-log.py`), once as upstream state
//! (`.tmp/`, the legacy writer) and once in the store's own format. The 200,000-record /
//! 144 MB log is measured with the `store_scan` example instead (see `docs/event-format.md`).

use std::collections::HashMap;
use std::path::Path;
use std::sync::LazyLock;

use divan::Bencher;
use divan::counter::{BytesCount, ItemsCount};
use serde::Deserialize;
use serde_json::json;
use wave_runner::settings::{EnvSnapshot, Settings};
use wave_runner::store::{
    DirStore, EventStore, MemStore, MergeKey, ParallelVisitor, RawLine, Record, StreamId,
    open_store,
};

fn main() {
    divan::main();
}

const LOG_RECORDS: usize = 20_000;
const UNIQUE_IDS: usize = 5_000;

fn stream() -> StreamId {
    StreamId::coordination("main", 0)
}

fn at() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default()
}

/// A coordination record of the generator's shape (about 720 bytes on the wire).
fn record(i: usize) -> Record {
    let kinds = [
        "request", "ack", "claim", "evidence", "decision", "blocker", "handoff",
    ];
    let agents = ["A1", "A2", "A3", "A8", "A9", "A0"];
    let statuses = ["open", "acknowledged", "in_progress", "resolved", "closed"];
    let kind = kinds[i % kinds.len()];
    let ts = format!(
        "2026-11-22T01:{:02}:{:02}.{:03}Z",
        (i / 6000) % 60,
        (i / 100) % 60,
        i % 1000
    );
    let value = json!({
        "recordVersion": 1, "id": format!("rec-{}", i % UNIQUE_IDS), "kind": kind, "wave": 0,
        "lane": "main", "agentId": agents[i % 6], "targets": [format!("agent:{}", agents[(i / 6) % 6])],
        "status": statuses[i % 5], "priority": "normal", "blocking": kind == "request",
        "blockerSeverity": "advisory", "artifactRefs": ["src/x.rs"], "dependsOn": [],
        "closureCondition": "", "createdAt": ts, "updatedAt": ts, "confidence": "medium",
        "summary": format!("summary {i} lorem ipsum dolor sit amet"), "detail": "detail text ".repeat(8),
        "attempt": null, "source": "agent", "executorId": "", "project": "", "requesterLane": "",
        "ownerLane": "", "requesterProject": "", "ownerProject": "", "requesterWave": null,
        "ownerWave": null, "required": false
    });
    match value {
        serde_json::Value::Object(map) => map,
        _ => Record::new(),
    }
}

/// A repository holding the generated log twice: as upstream state and as one store writer.
struct LargeLog {
    _dir: tempfile::TempDir,
    store: Box<dyn EventStore>,
    bytes: u64,
}

static LOG: LazyLock<LargeLog> = LazyLock::new(|| {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let legacy = dir.path().join(".tmp/main-wave-launcher/coordination");
    std::fs::create_dir_all(&legacy).unwrap_or_else(|e| panic!("mkdir: {e}"));
    let mut text = String::new();
    for i in 0..LOG_RECORDS {
        text.push_str(&serde_json::Value::Object(record(i)).to_string());
        text.push('\n');
    }
    std::fs::write(legacy.join("wave-0.jsonl"), &text).unwrap_or_else(|e| panic!("write: {e}"));
    let settings = Settings::resolve(Some(dir.path().to_owned()), None, EnvSnapshot::default());
    let store = open_store(&settings).unwrap_or_else(|e| panic!("open: {e}"));
    let records: Vec<Record> = (0..LOG_RECORDS).map(record).collect();
    for chunk in records.chunks(1000) {
        store
            .append(&stream(), "writer-1", at(), chunk)
            .unwrap_or_else(|e| panic!("append: {e}"));
    }
    let bytes = dir_bytes(dir.path());
    LargeLog {
        _dir: dir,
        store,
        bytes,
    }
});

fn dir_bytes(root: &Path) -> u64 {
    let legacy = root.join(".tmp/main-wave-launcher/coordination/wave-0.jsonl");
    let own = root.join(".wave/state/main/wave-0/coordination/writer-1.jsonl");
    [legacy, own]
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum()
}

mod append {
    use super::*;

    /// One record per append (one lock, one fsync each).
    #[divan::bench(sample_count = 20, sample_size = 10)]
    fn dir_one_record(bencher: Bencher) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let store = DirStore::new(dir.path());
        let r = record(1);
        bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
            store
                .append(&stream(), "w", at(), std::slice::from_ref(&r))
                .unwrap_or_else(|e| panic!("append: {e}"))
        });
    }

    /// A batch of 100 records per append.
    #[divan::bench(sample_count = 20, sample_size = 2)]
    fn dir_batch_of_100(bencher: Bencher) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
        let store = DirStore::new(dir.path());
        let batch: Vec<Record> = (0..100).map(record).collect();
        bencher.counter(ItemsCount::new(100usize)).bench_local(|| {
            store
                .append(&stream(), "w", at(), &batch)
                .unwrap_or_else(|e| panic!("append: {e}"))
        });
    }

    /// The in-memory backend: encoding and bookkeeping without I/O.
    #[divan::bench(sample_count = 20, sample_size = 100)]
    fn mem_one_record(bencher: Bencher) {
        let store = MemStore::new();
        let r = record(1);
        bencher.counter(ItemsCount::new(1usize)).bench_local(|| {
            store
                .append(&stream(), "w", at(), std::slice::from_ref(&r))
                .unwrap_or_else(|e| panic!("append: {e}"))
        });
    }
}

mod read {
    use super::*;

    /// The fields a status fold needs.
    #[derive(Deserialize)]
    struct Slim<'a> {
        #[serde(borrow)]
        id: &'a str,
        #[serde(borrow)]
        status: &'a str,
    }

    /// Every line checked (envelope only) and counted.
    #[divan::bench(sample_count = 10)]
    fn count_lines(bencher: Bencher) {
        let log = &*LOG;
        bencher.counter(BytesCount::new(log.bytes)).bench_local(|| {
            let mut n = 0usize;
            let problems = log
                .store
                .visit(&stream(), &mut |line| {
                    line.envelope()?;
                    n += 1;
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("visit: {e}"));
            assert_eq!((n, problems.len()), (2 * LOG_RECORDS, 0));
            n
        });
    }

    /// One pass per line into a borrowed type, keeping the latest record per id.
    #[divan::bench(sample_count = 10)]
    fn latest_per_id(bencher: Bencher) {
        let log = &*LOG;
        bencher.counter(BytesCount::new(log.bytes)).bench_local(|| {
            let mut latest: HashMap<String, (MergeKey, bool)> = HashMap::new();
            log.store
                .visit(&stream(), &mut |line| {
                    let (envelope, slim): (_, Slim<'_>) = line.parse_enveloped()?;
                    let key = MergeKey::of(&envelope);
                    let open = slim.status == "open";
                    match latest.get_mut(slim.id) {
                        Some(slot) if slot.0 >= key => {}
                        Some(slot) => *slot = (key, open),
                        None => {
                            latest.insert(slim.id.to_owned(), (key, open));
                        }
                    }
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("visit: {e}"));
            assert_eq!(latest.len(), UNIQUE_IDS);
            latest.len()
        });
    }

    /// `latest_per_id` with two visitors on two threads, their maps combined after.
    #[divan::bench(sample_count = 10)]
    fn latest_per_id_two_threads(bencher: Bencher) {
        let log = &*LOG;
        bencher.counter(BytesCount::new(log.bytes)).bench_local(|| {
            let mut parts: Vec<HashMap<String, (MergeKey, bool)>> = vec![HashMap::new(); 2];
            {
                let mut closures: Vec<_> = parts
                    .iter_mut()
                    .map(|latest| {
                        move |line: &RawLine<'_>| {
                            let (envelope, slim): (_, Slim<'_>) = line.parse_enveloped()?;
                            let key = MergeKey::of(&envelope);
                            match latest.get_mut(slim.id) {
                                Some(slot) if slot.0 >= key => {}
                                Some(slot) => *slot = (key, slim.status == "open"),
                                None => {
                                    latest.insert(slim.id.to_owned(), (key, slim.status == "open"));
                                }
                            }
                            Ok(())
                        }
                    })
                    .collect();
                let mut visitors: Vec<&mut ParallelVisitor<'_>> = closures
                    .iter_mut()
                    .map(|c| c as &mut ParallelVisitor<'_>)
                    .collect();
                log.store
                    .visit_parallel(&stream(), &mut visitors)
                    .unwrap_or_else(|e| panic!("visit: {e}"));
            }
            let mut parts = parts.into_iter();
            let mut latest = parts.next().unwrap_or_default();
            for part in parts {
                for (id, (key, open)) in part {
                    match latest.get_mut(&id) {
                        Some(slot) if slot.0 >= key => {}
                        Some(slot) => *slot = (key, open),
                        None => {
                            latest.insert(id, (key, open));
                        }
                    }
                }
            }
            assert_eq!(latest.len(), UNIQUE_IDS);
            latest.len()
        });
    }

    /// Every line into an owned `StoredRecord` (a full JSON map), then dropped.
    #[divan::bench(sample_count = 10)]
    fn owned_records(bencher: Bencher) {
        let log = &*LOG;
        bencher.counter(BytesCount::new(log.bytes)).bench_local(|| {
            let mut n = 0usize;
            log.store
                .visit(&stream(), &mut |line| {
                    n += line.to_record()?.record.len();
                    Ok(())
                })
                .unwrap_or_else(|e| panic!("visit: {e}"));
            n
        });
    }
}
