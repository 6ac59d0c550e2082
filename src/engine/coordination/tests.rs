use proptest::prelude::*;
use serde_json::json;

use super::*;
use crate::event::coordination::{RawCoordinationRecord, RecordDefaults, normalize};

/// A valid record of a kind at a time.
pub(crate) fn record(id: &str, kind: &str, updated_at: &str) -> CoordinationRecord {
    let raw = RawCoordinationRecord::from_value(json!({
        "id": id, "kind": kind, "lane": "main", "wave": 0, "agentId": "A1",
        "createdAt": updated_at, "updatedAt": updated_at,
    }))
    .expect("object");
    normalize(raw, &RecordDefaults::default()).expect("valid")
}

fn with(mut r: CoordinationRecord, f: impl FnOnce(&mut CoordinationRecord)) -> CoordinationRecord {
    f(&mut r);
    r
}

#[test]
fn last_version_wins_but_id_and_created_at_stay_from_the_first() {
    let first = with(record("r1", "request", "2026-01-01T00:00:01.000Z"), |r| {
        r.summary = "first".into()
    });
    let second = with(record("r1", "request", "2026-01-01T00:00:05.000Z"), |r| {
        r.summary = "second".into();
        r.created_at = "2026-01-01T00:00:05.000Z".into();
        r.status = Status::Resolved;
    });
    let other = record("r0", "blocker", "2026-01-01T00:00:03.000Z");
    // Given out of order: the sort puts `first` before `second`.
    let state = materialize(vec![second.clone(), other, first.clone()]);
    assert_eq!(state.records().len(), 3);
    let latest = state.get("r1").expect("present");
    assert_eq!(latest.summary, "second");
    assert_eq!(latest.created_at, "2026-01-01T00:00:01.000Z");
    assert_eq!(
        state
            .latest_records()
            .iter()
            .map(|r| r.id.as_str())
            .collect::<Vec<_>>(),
        ["r0", "r1"]
    );
    assert_eq!(state.open_records().count(), 1);
    assert_eq!(state.blockers().count(), 1);
    assert_eq!(state.requests().count(), 1);
    assert_eq!(state.records_by_agent("A1").count(), 2);
}

#[test]
fn equal_timestamps_keep_merge_order() {
    let a = with(record("x", "claim", "2026-01-01T00:00:00.000Z"), |r| {
        r.summary = "a".into()
    });
    let b = with(record("x", "claim", "2026-01-01T00:00:00Z"), |r| {
        r.summary = "b".into()
    });
    assert_eq!(
        materialize(vec![a.clone(), b.clone()])
            .get("x")
            .map(|r| r.summary.clone()),
        Some("b".into())
    );
    assert_eq!(
        materialize(vec![b, a]).get("x").map(|r| r.summary.clone()),
        Some("a".into())
    );
}

#[test]
fn unknown_fields_merge_across_versions() {
    let mut fold = CoordinationFold::new();
    let old = with(record("x", "claim", "2026-01-01T00:00:02Z"), |r| {
        r.extra.insert("a".into(), json!(1));
        r.extra.insert("b".into(), json!(1));
    });
    let newer = with(record("x", "claim", "2026-01-01T00:00:03Z"), |r| {
        r.extra.insert("b".into(), json!(2));
    });
    let older = with(record("x", "claim", "2026-01-01T00:00:01Z"), |r| {
        r.extra.insert("a".into(), json!(0));
        r.extra.insert("c".into(), json!(0));
    });
    for r in [old.clone(), newer.clone(), older.clone()] {
        fold.push(r);
    }
    let merged = fold.finish().get("x").cloned().expect("present");
    assert_eq!(merged.extra.get("a"), Some(&json!(1)));
    assert_eq!(merged.extra.get("b"), Some(&json!(2)));
    assert_eq!(merged.extra.get("c"), Some(&json!(0)));
    assert_eq!(merged.created_at, "2026-01-01T00:00:01Z");
    let batch = materialize(vec![old, newer, older])
        .get("x")
        .cloned()
        .expect("present");
    assert_eq!(batch.extra.get("a"), merged.extra.get("a"));
    assert_eq!(batch.extra.get("b"), merged.extra.get("b"));
    assert_eq!(batch.extra.get("c"), merged.extra.get("c"));
}

#[test]
fn blocking_predicates() {
    let req = record("r", "request", "2026-01-01T00:00:00Z");
    assert!(blocks_wave(&req) && is_hard_blocker(&req));
    let soft = record("b", "blocker", "2026-01-01T00:00:00Z");
    assert!(blocks_wave(&soft) && !is_hard_blocker(&soft));
    let advisory = with(req.clone(), |r| {
        r.blocker_severity = crate::event::coordination::BlockerSeverity::Advisory
    });
    assert!(!blocks_wave(&advisory));
    let resolved = with(req.clone(), |r| r.status = Status::Resolved);
    assert!(!blocks_wave(&resolved));
    let non_blocking = with(req, |r| r.blocking = false);
    assert!(!blocks_wave(&non_blocking));
}

fn arb_record() -> impl Strategy<Value = CoordinationRecord> {
    (0..6usize, 0..5i64, 0..4usize, 0..3usize, any::<bool>()).prop_map(
        |(id, second, status, summary, extra)| {
            let ids = ["a", "B", "a-1", "a_1", "c:2", "b"];
            let statuses = [
                Status::Open,
                Status::Resolved,
                Status::InProgress,
                Status::Closed,
            ];
            let ts = format!("2026-01-01T00:00:0{second}.000Z");
            with(record(ids[id], "request", &ts), |r| {
                r.status = statuses[status];
                r.summary = format!("s{summary}");
                r.created_at = format!("2026-01-01T00:00:0{}.000Z", 9 - second);
                if extra {
                    r.extra.insert(format!("k{summary}"), json!(second));
                }
            })
        },
    )
}

fn snapshot(state: &CoordinationState) -> Vec<String> {
    state
        .latest_records()
        .iter()
        .map(|r| {
            // Unknown-field order is not significant; compare them sorted.
            let mut r = r.clone();
            let mut extra: Vec<(String, serde_json::Value)> =
                std::mem::take(&mut r.extra).into_iter().collect();
            extra.sort_by(|a, b| a.0.cmp(&b.0));
            r.extra = extra.into_iter().collect();
            serde_json::to_string(&r).expect("serializes")
        })
        .collect()
}

proptest! {
    #[test]
    fn incremental_fold_equals_batch(records in proptest::collection::vec(arb_record(), 0..40)) {
        let batch = materialize(records.clone());
        let mut fold = CoordinationFold::new();
        for r in records {
            fold.push(r);
        }
        let folded = fold.finish();
        prop_assert_eq!(snapshot(&batch), snapshot(&folded));
    }

    #[test]
    fn order_does_not_matter_without_ties(
        records in proptest::collection::vec(arb_record(), 0..30),
        seed in any::<u64>(),
    ) {
        // Keep one record per (updatedAt, id): then upstream's order rule is total.
        let mut seen = std::collections::HashSet::new();
        let unique: Vec<CoordinationRecord> = records
            .into_iter()
            .filter(|r| seen.insert((r.updated_at.clone(), r.id.clone())))
            .collect();
        let mut shuffled = unique.clone();
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (state >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        let mut fold = CoordinationFold::new();
        for r in shuffled.clone() {
            fold.push(r);
        }
        prop_assert_eq!(snapshot(&materialize(unique)), snapshot(&materialize(shuffled)));
        prop_assert_eq!(snapshot(&fold.finish()).len(), seen.iter().map(|(_, id)| id).collect::<std::collections::HashSet<_>>().len());
    }
}
