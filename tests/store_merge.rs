//! The merge of a stream's writers is deterministic: independent of the order files are read
//! in, idempotent over files read twice, and sorted by (`at`, `writer`, `seq`).

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;
use serde_json::json;
use wave_runner::store::{
    DirStore, EventStore, MemStore, MergeKey, Record, StoredRecord, StreamId, merge, read_stream,
};

/// Timestamps from a small set, so that ties on `at` (across writers) are common; one is not a
/// valid timestamp and one names the same instant as another in a different spelling.
const TIMES: [&str; 6] = [
    "2026-11-22T01:00:00.000Z",
    "2026-11-22T01:00:00.001Z",
    "2026-11-22T02:00:00+01:00",
    "2026-11-22T01:00:01.500Z",
    "not-a-time",
    "",
];

/// One writer's file: its records with seq 1..=n.
fn writer_file(writer: String) -> impl Strategy<Value = Vec<StoredRecord>> {
    prop::collection::vec((0..TIMES.len(), 0u8..6), 0..12).prop_map(move |rows| {
        rows.into_iter()
            .enumerate()
            .map(|(i, (t, id))| {
                let mut record = Record::new();
                record.insert("id".into(), json!(format!("rec-{id}")));
                StoredRecord {
                    writer: writer.clone(),
                    seq: i as u64 + 1,
                    at: TIMES[t].to_owned(),
                    record,
                }
            })
            .collect()
    })
}

/// Several writer files, plus a read order for them (a permutation with repeats: some files
/// read twice, as when a directory listing and a state-branch tree both deliver one).
fn files_and_read_order() -> impl Strategy<Value = (Vec<Vec<StoredRecord>>, Vec<usize>)> {
    prop::collection::vec(0u8..5, 1..5)
        .prop_flat_map(|names| {
            let names: BTreeSet<u8> = names.into_iter().collect();
            names
                .into_iter()
                .map(|n| writer_file(format!("w{n}")))
                .collect::<Vec<_>>()
        })
        .prop_flat_map(|files| {
            let n = files.len();
            let order = Just((0..n).collect::<Vec<_>>()).prop_shuffle();
            let repeats = prop::collection::vec(0..n, 0..3);
            (Just(files), order, repeats)
        })
        .prop_map(|(files, mut order, repeats)| {
            order.extend(repeats);
            (files, order)
        })
}

fn read_in(files: &[Vec<StoredRecord>], order: &[usize]) -> Vec<StoredRecord> {
    order.iter().flat_map(|i| files[*i].clone()).collect()
}

proptest! {
    #[test]
    fn merge_is_independent_of_read_order_and_duplicate_reads((files, order) in files_and_read_order()) {
        let canonical = merge(read_in(&files, &(0..files.len()).collect::<Vec<_>>()));
        let shuffled = merge(read_in(&files, &order));
        prop_assert_eq!(&shuffled, &canonical);

        // Every record exactly once.
        let total: usize = files.iter().map(Vec::len).sum();
        prop_assert_eq!(canonical.len(), total);

        // Sorted by the merge key, which is strictly increasing (a total order).
        let keys: Vec<MergeKey> = canonical
            .iter()
            .map(|r| MergeKey::new(&r.at, &r.writer, r.seq))
            .collect();
        prop_assert!(keys.windows(2).all(|w| w[0] < w[1]));

        // Idempotent.
        prop_assert_eq!(merge(canonical.clone()), canonical);
    }

    #[test]
    fn latest_per_id_by_merge_key_equals_last_per_id_of_the_merged_sequence(
        (files, order) in files_and_read_order()
    ) {
        // The reducer's bounded-memory fold (keep the greatest key per id, records in any
        // order) agrees with folding the merged sequence front to back.
        let mut by_fold: BTreeMap<String, (MergeKey, StoredRecord)> = BTreeMap::new();
        for r in read_in(&files, &order) {
            let key = MergeKey::new(&r.at, &r.writer, r.seq);
            let id = r.id().unwrap_or_default().to_owned();
            match by_fold.get(&id) {
                Some((k, _)) if *k >= key => {}
                _ => {
                    by_fold.insert(id, (key, r));
                }
            }
        }
        let mut by_sequence: BTreeMap<String, StoredRecord> = BTreeMap::new();
        for r in merge(read_in(&files, &order)) {
            by_sequence.insert(r.id().unwrap_or_default().to_owned(), r);
        }
        let folded: BTreeMap<String, StoredRecord> =
            by_fold.into_iter().map(|(id, (_, r))| (id, r)).collect();
        prop_assert_eq!(folded, by_sequence);
    }
}

#[test]
fn the_same_record_delivered_twice_is_two_lines_with_one_id() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stores: [Box<dyn EventStore>; 2] = [
        Box::new(DirStore::new(dir.path())),
        Box::new(MemStore::new()),
    ];
    for store in stores {
        let s = StreamId::coordination("main", 0);
        let record = match json!({"id": "coord-ack-1", "kind": "ack", "status": "open"}) {
            serde_json::Value::Object(map) => map,
            _ => unreachable!("a literal object"),
        };
        let t = jiff::Timestamp::from_second(1_800_000_000).expect("time");
        store
            .append(&s, "w", t, std::slice::from_ref(&record))
            .expect("append");
        store
            .append(&s, "w", t, std::slice::from_ref(&record))
            .expect("append again");
        let read = read_stream(&*store, &s).expect("reads");
        // Both deliveries are stored and numbered; the id says they are one record, and the
        // reducer's last-record-per-id rule keeps the later (seq 2).
        let seen: Vec<(u64, Option<&str>)> = read.records.iter().map(|r| (r.seq, r.id())).collect();
        assert_eq!(seen, [(1, Some("coord-ack-1")), (2, Some("coord-ack-1"))]);
        assert_eq!(read.records[0].record, read.records[1].record);
    }
}
