//! The deterministic merge of a stream's writers.
//!
//! Records are ordered by (`at`, `writer`, `seq`): `at` by the instant it names (an `at` that
//! is not a valid timestamp sorts first, among such by its text), then writer name, then
//! sequence number. The order depends only on the records, never on the order files were
//! read in, and a record read twice (same writer, seq and body) is kept once.
//!
//! Upstream's last-record-per-id rule (spec §3.3) is the reducer's: it folds the merged
//! sequence, or, in bounded memory over a large log, keeps per id the record with the greatest
//! [`MergeKey`], which gives the same answer because the key order is total.

use std::cmp::Ordering;

use super::{Envelope, StoredRecord};
use crate::event::time;

/// The merge order of one record: compare keys to know which of two records comes later.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct MergeKey {
    /// Milliseconds since the epoch of `at`, `None` when `at` is not a timestamp.
    pub millis: Option<i64>,
    /// `at` as stored (tie-break between texts naming the same instant, or no instant).
    pub at: String,
    /// The writer.
    pub writer: String,
    /// The writer's sequence number.
    pub seq: u64,
}

impl MergeKey {
    /// The key of an envelope.
    pub fn of(envelope: &Envelope<'_>) -> Self {
        Self::new(&envelope.at, &envelope.writer, envelope.seq)
    }

    /// The key of `at`, `writer`, `seq`.
    pub fn new(at: &str, writer: &str, seq: u64) -> Self {
        Self {
            millis: time::parse_millis(at),
            at: at.to_owned(),
            writer: writer.to_owned(),
            seq,
        }
    }
}

impl Ord for MergeKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.millis
            .cmp(&other.millis)
            .then_with(|| self.at.cmp(&other.at))
            .then_with(|| self.writer.cmp(&other.writer))
            .then_with(|| self.seq.cmp(&other.seq))
    }
}

impl PartialOrd for MergeKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Merges the records of all writers of a stream, given in any order, into (`at`, `writer`,
/// `seq`) order, keeping one copy of records that were read twice.
///
/// Two different bodies under the same key (which the store never writes) are both kept, in
/// the order of their JSON text, so the result is still independent of the input order.
pub fn merge<I: IntoIterator<Item = StoredRecord>>(records: I) -> Vec<StoredRecord> {
    let mut keyed: Vec<(MergeKey, StoredRecord)> = records
        .into_iter()
        .map(|r| (MergeKey::new(&r.at, &r.writer, r.seq), r))
        .collect();
    keyed.sort_by(|(ka, a), (kb, b)| ka.cmp(kb).then_with(|| body_order(a, b)));
    keyed.dedup_by(|(kb, b), (ka, a)| ka == kb && a.record == b.record);
    keyed.into_iter().map(|(_, r)| r).collect()
}

/// Orders two bodies by their JSON text; only consulted when their keys are equal.
fn body_order(a: &StoredRecord, b: &StoredRecord) -> Ordering {
    if a.record == b.record {
        return Ordering::Equal;
    }
    let text = |r: &StoredRecord| serde_json::to_string(&r.record).unwrap_or_default();
    text(a).cmp(&text(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(at: &str, writer: &str, seq: u64, id: &str) -> StoredRecord {
        let mut record = super::super::Record::new();
        record.insert("id".into(), id.into());
        StoredRecord {
            writer: writer.into(),
            seq,
            at: at.into(),
            record,
        }
    }

    #[test]
    fn orders_by_instant_then_writer_then_seq() {
        let merged = merge(vec![
            rec("2026-01-01T00:00:01.000Z", "b", 1, "x"),
            rec("2026-01-01T00:00:00.500Z", "b", 2, "y"),
            rec("2026-01-01T00:00:01.000Z", "a", 9, "z"),
            rec("2026-01-01T00:00:01.000Z", "a", 3, "w"),
            rec("garbage", "c", 1, "v"),
        ]);
        let ids: Vec<_> = merged.iter().filter_map(StoredRecord::id).collect();
        assert_eq!(ids, ["v", "y", "w", "z", "x"]);
    }

    #[test]
    fn an_offset_timestamp_sorts_by_its_instant() {
        let merged = merge(vec![
            rec("2026-01-01T00:00:00.000Z", "a", 1, "utc"),
            rec("2026-01-01T00:30:00+01:00", "a", 2, "earlier"),
        ]);
        assert_eq!(merged[0].id(), Some("earlier"));
    }

    #[test]
    fn duplicate_reads_collapse_but_distinct_bodies_stay() {
        let a = rec("2026-01-01T00:00:00.000Z", "w", 1, "x");
        let b = rec("2026-01-01T00:00:00.000Z", "w", 1, "other");
        let merged = merge(vec![a.clone(), b.clone(), a.clone()]);
        assert_eq!(merged.len(), 2);
        assert_eq!(merge(vec![b, a.clone(), a]), merged);
    }
}
