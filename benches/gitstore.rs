//! State-branch benchmark: append one record and push it to a `git daemon` on loopback.
//!
//! ```text
//! cargo bench --bench gitstore
//! ```
//! Each iteration is one `EventStore::append` of one record through a `GitBranchStore`: a
//! commit built from in-memory blobs in the cache and a non-forced push with its per-ref
//! status checked. One writer, no contention; the daemon and its repository are created and
//! removed by the benchmark. The whole-process figure (binary start, append, push) and the
//! eight-writer run are measured with the release binary (see `docs/state-branch.md`).

use std::sync::LazyLock;

use divan::Bencher;
use serde_json::json;
use wave_runner::store::git::{GitBranchStore, GitSpec};
use wave_runner::store::{EventStore, Record, StreamId};

#[path = "../tests/support/gitserver.rs"]
mod gitserver;

fn main() {
    divan::main();
}

struct Fixture {
    _server: gitserver::GitServer,
    _cache: tempfile::TempDir,
    store: GitBranchStore,
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let server = gitserver::GitServer::daemon();
    let cache = tempfile::tempdir().unwrap_or_else(|e| panic!("temp dir: {e}"));
    let spec = GitSpec::parse(&format!("{}#wave-state", server.url()))
        .unwrap_or_else(|e| panic!("spec: {e}"));
    let store = GitBranchStore::new(spec, &cache.path().join("cache"), None);
    Fixture {
        _server: server,
        _cache: cache,
        store,
    }
});

fn record() -> Record {
    match json!({"id": "evidence-1", "kind": "evidence", "lane": "main", "wave": 0,
                 "agentId": "A1", "summary": "bench record", "status": "open"})
    {
        serde_json::Value::Object(map) => map,
        _ => Record::new(),
    }
}

#[divan::bench(sample_count = 100, sample_size = 1)]
fn append_and_push_one_record(bencher: Bencher) {
    let store = &FIXTURE.store;
    let stream = StreamId::coordination("main", 0);
    let batch = [record()];
    let at = jiff::Timestamp::from_second(1_800_000_000).unwrap_or_default();
    bencher.bench(|| {
        store
            .append(&stream, "bench-writer", at, &batch)
            .unwrap_or_else(|e| panic!("append: {e}"))
    });
}
