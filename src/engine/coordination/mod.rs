//! Coordination state: the materialized view of a coordination log (spec §3.3), the blocking
//! predicates (§3.4), helper assignments (§3.7), response-time metrics (§3.9) and the data
//! behind the shared summary and per-agent inboxes (§10.2, §10.3).
//!
//! Owns: last-record-per-id folding, its incremental form, and every pure derivation over the
//! folded records. Must not: read logs, read the clock (`now` is a parameter) or format text
//! (see `render::summary` and `render::inbox`).
//!
//! Ordering rule: records are ordered by (`updatedAt` in milliseconds, id in upstream's
//! collation) with ties kept in the order records were given (a store gives them in its merge
//! order: `at`, `writer`, `seq`). For each id the record ordered last supplies every field
//! except `id` and `createdAt`, which come from the record ordered first; unknown fields are
//! merged across versions, later ones overriding earlier ones. A timestamp that does not parse
//! orders before every one that does.

mod assignments;
mod collate;
pub mod integration;
pub mod ledger;
mod metrics;
mod record_view;
pub mod signals;
mod views;

use crate::event::coordination::is_js_space;
use std::cmp::Ordering;
use std::collections::HashMap;

use serde_json::Value;

use crate::event::coordination::{CoordinationRecord, Kind, Status};

pub use assignments::{
    Assignment, AssignmentReason, AssignmentState, CapabilityRouting, LedgerAssignment, LedgerTask,
    Resolution, RoutingLedger, TargetType, build_request_assignments, is_launcher_seed_request,
    request_assignments, resolve_target, target_slug,
};
pub use collate::locale_cmp;
pub use metrics::{
    ACK_TIMEOUT_MS, RESOLUTION_STALE_MS, RecordMetrics, RecordTiming, ResponseMetrics,
    TimingOptions, format_age, record_timing, record_timing_flags, response_metrics,
};
pub use record_view::RecordView;
pub use views::{
    AgentProfile, DependencyItem, DependencySnapshot, DocsQueueItem, INBOX_MAX_CHARS, InboxView,
    IntegrationSummary, LedgerTaskView, LedgerView, ProjectionInputs, RuntimeAssignment,
    SHARED_SUMMARY_MAX_CHARS, SharedSummaryView, inbox_view, is_artifact_relevant, is_targeted_to,
    shared_summary_view,
};

/// Sorts records into materialization order, (`updatedAt` millis, id collation), stable.
/// `keys` holds each record's parsed `updatedAt`, so every timestamp is parsed once. The
/// records are permuted in place: no second copy of the list is made.
fn sort_records(records: &mut [CoordinationRecord], keys: &[Option<i64>]) {
    let mut order: Vec<usize> = (0..records.len()).collect();
    order.sort_by(|&a, &b| {
        let (ka, kb) = (keys.get(a), keys.get(b));
        ka.cmp(&kb)
            .then_with(|| match (records.get(a), records.get(b)) {
                (Some(ra), Some(rb)) => locale_cmp(&ra.id, &rb.id),
                _ => Ordering::Equal,
            })
    });
    // Position `i` must receive the record now at `order[i]`: follow each cycle once.
    let mut placed = vec![false; records.len()];
    for start in 0..records.len() {
        if placed.get(start).copied().unwrap_or(true) {
            continue;
        }
        let mut current = start;
        loop {
            if let Some(p) = placed.get_mut(current) {
                *p = true;
            }
            let Some(&next) = order.get(current) else {
                break;
            };
            if next == start {
                break;
            }
            records.swap(current, next);
            current = next;
        }
    }
}

/// `blocksWave` (§3.4): open status, `blocking` set, severity neither `stale` nor `advisory`.
pub fn blocks_wave<R: RecordView + ?Sized>(record: &R) -> bool {
    record.status().is_open() && record.blocking() && !record.blocker_severity().is_non_blocking()
}

/// `isHardBlocker` (§3.4): blocks the wave with severity hard, proof-critical or
/// closure-critical.
pub fn is_hard_blocker<R: RecordView + ?Sized>(record: &R) -> bool {
    blocks_wave(record) && record.blocker_severity().is_hard()
}

/// Prefix of closure conditions that link a request to a clarification.
pub const CLARIFICATION_CLOSURE_PREFIX: &str = "clarification:";

/// The clarification id named by a `clarification:<id>` closure condition.
pub fn clarification_id_from_closure(condition: &str) -> Option<&str> {
    let id = condition
        .trim_matches(is_js_space)
        .strip_prefix(CLARIFICATION_CLOSURE_PREFIX)?
        .trim_matches(is_js_space);
    (!id.is_empty()).then_some(id)
}

/// Whether a request is linked to a clarification: by its closure condition (to any
/// clarification when `clarification_ids` is `None`) or, given ids, by `dependsOn`.
pub fn is_clarification_linked<R: RecordView + ?Sized>(
    record: &R,
    clarification_ids: Option<&[&str]>,
) -> bool {
    if let Some(id) = clarification_id_from_closure(record.closure_condition()) {
        return clarification_ids.is_none_or(|ids| ids.contains(&id));
    }
    match clarification_ids {
        None => false,
        Some(ids) => record
            .depends_on()
            .iter()
            .any(|d| ids.contains(&d.as_ref().trim_matches(is_js_space))),
    }
}

/// The materialized coordination state of one log (§3.3).
#[derive(Debug, Clone, Default)]
pub struct CoordinationState {
    records: Vec<CoordinationRecord>,
    latest: Vec<CoordinationRecord>,
    by_id: HashMap<String, usize>,
    by_agent: HashMap<String, Vec<usize>>,
    by_target: HashMap<String, Vec<usize>>,
}

impl CoordinationState {
    fn from_latest(
        records: Vec<CoordinationRecord>,
        (keys, mut latest): (Vec<Option<i64>>, Vec<CoordinationRecord>),
    ) -> Self {
        sort_records(&mut latest, &keys);
        let mut by_id = HashMap::with_capacity(latest.len());
        let mut by_agent: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_target: HashMap<String, Vec<usize>> = HashMap::new();
        // Keys are cloned only the first time they are seen.
        fn add(map: &mut HashMap<String, Vec<usize>>, key: &str, index: usize) {
            match map.get_mut(key) {
                Some(list) => list.push(index),
                None => {
                    map.insert(key.to_owned(), vec![index]);
                }
            }
        }
        for (index, record) in latest.iter().enumerate() {
            by_id.insert(record.id.clone(), index);
            add(&mut by_agent, &record.agent_id, index);
            for target in &record.targets {
                add(&mut by_target, target, index);
            }
        }
        Self {
            records,
            latest,
            by_id,
            by_agent,
            by_target,
        }
    }

    /// Every record in materialization order (`records`). Empty when the state was built by
    /// [`CoordinationFold`], which does not keep the log.
    pub fn records(&self) -> &[CoordinationRecord] {
        &self.records
    }

    /// The latest version of every id, ordered by (`updatedAt`, id) (`latestRecords`).
    pub fn latest_records(&self) -> &[CoordinationRecord] {
        &self.latest
    }

    /// Latest records with an open status (`openRecords`).
    pub fn open_records(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.latest.iter().filter(|r| r.status.is_open())
    }

    /// The latest version of one id (`byId`).
    pub fn get(&self, id: &str) -> Option<&CoordinationRecord> {
        self.by_id.get(id).and_then(|&i| self.latest.get(i))
    }

    /// Latest records authored by an agent, in `latestRecords` order (`recordsByAgentId`).
    pub fn records_by_agent<'a>(
        &'a self,
        agent_id: &str,
    ) -> impl Iterator<Item = &'a CoordinationRecord> + 'a {
        self.indexed(self.by_agent.get(agent_id))
    }

    /// Latest records naming a target verbatim, in `latestRecords` order (`recordsByTarget`).
    pub fn records_by_target<'a>(
        &'a self,
        target: &str,
    ) -> impl Iterator<Item = &'a CoordinationRecord> + 'a {
        self.indexed(self.by_target.get(target))
    }

    fn indexed<'a>(
        &'a self,
        indexes: Option<&'a Vec<usize>>,
    ) -> impl Iterator<Item = &'a CoordinationRecord> + 'a {
        indexes
            .into_iter()
            .flatten()
            .filter_map(|&i| self.latest.get(i))
    }

    /// Latest records of one kind, in `latestRecords` order.
    pub fn of_kind(&self, kind: Kind) -> impl Iterator<Item = &CoordinationRecord> {
        self.latest.iter().filter(move |r| r.kind == kind)
    }

    /// `requests`.
    pub fn requests(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Request)
    }
    /// `blockers`.
    pub fn blockers(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Blocker)
    }
    /// `claims`.
    pub fn claims(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Claim)
    }
    /// `evidence`.
    pub fn evidence(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Evidence)
    }
    /// `decisions`.
    pub fn decisions(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Decision)
    }
    /// `handoffs`.
    pub fn handoffs(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::Handoff)
    }
    /// `clarifications` (clarification-request records).
    pub fn clarifications(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::ClarificationRequest)
    }
    /// `orchestratorGuidance`.
    pub fn orchestrator_guidance(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::OrchestratorGuidance)
    }
    /// `resolvedByPolicy`.
    pub fn resolved_by_policy(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::ResolvedByPolicy)
    }
    /// `humanEscalations`.
    pub fn human_escalations(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::HumanEscalation)
    }
    /// `humanFeedback`.
    pub fn human_feedback(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::HumanFeedback)
    }
    /// `integrationSummaries`.
    pub fn integration_summaries(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.of_kind(Kind::IntegrationSummary)
    }

    /// Requests linked to any clarification (`clarificationLinkedRequests(state)`).
    pub fn clarification_linked_requests(&self) -> impl Iterator<Item = &CoordinationRecord> {
        let ids: Vec<&str> = self
            .clarifications()
            .map(|r| r.id.trim_matches(is_js_space))
            .collect();
        self.requests()
            .filter(move |r| is_clarification_linked(*r, Some(&ids)))
    }

    /// Open requests linked to any clarification (`openClarificationLinkedRequests(state)`).
    pub fn open_clarification_linked_requests(&self) -> impl Iterator<Item = &CoordinationRecord> {
        self.clarification_linked_requests()
            .filter(|r| r.status.is_open())
    }
}

/// Batch materialization (`materializeCoordinationState`): orders the records, folds them by id
/// and keeps the ordered log as [`CoordinationState::records`].
pub fn materialize(records: Vec<CoordinationRecord>) -> CoordinationState {
    let mut records = records;
    let keys: Vec<Option<i64>> = records
        .iter()
        .map(CoordinationRecord::updated_millis)
        .collect();
    sort_records(&mut records, &keys);
    let mut fold = CoordinationFold::new();
    for record in &records {
        fold.push(record.clone());
    }
    let latest = fold.into_latest();
    CoordinationState::from_latest(records, latest)
}

/// Where a record sits in materialization order for one id: (`updatedAt` millis, arrival).
type Stamp = (Option<i64>, u64);

#[derive(Debug, Clone)]
struct FoldEntry {
    /// Stamp of the record that supplies `createdAt` (the first in order).
    first: Stamp,
    /// Stamp of the record that supplies every other field (the last in order).
    last: Stamp,
    /// The last record, carrying the first record's `createdAt`.
    record: CoordinationRecord,
    /// Stamp per unknown field, only once a version of this id carried unknown fields.
    extra_stamps: Option<HashMap<String, Stamp>>,
}

/// Incremental materialization: accepts records one at a time in merge order and yields the
/// same latest state as [`materialize`] over the same sequence. Memory is proportional to the
/// number of distinct ids, not to the number of records pushed.
#[derive(Debug, Clone, Default)]
pub struct CoordinationFold {
    entries: HashMap<String, Box<FoldEntry>>,
    arrivals: u64,
}

impl CoordinationFold {
    /// An empty fold.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of distinct ids seen.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was pushed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The current latest version of an id (its `createdAt` is the first version's).
    pub fn get(&self, id: &str) -> Option<&CoordinationRecord> {
        self.entries.get(id).map(|e| &e.record)
    }

    /// Adds the next record in merge order.
    pub fn push(&mut self, record: CoordinationRecord) {
        let stamp: Stamp = (record.updated_millis(), self.arrivals);
        self.arrivals += 1;
        let Some(entry) = self.entries.get_mut(&record.id) else {
            let extra_stamps = (!record.extra.is_empty())
                .then(|| record.extra.keys().map(|k| (k.clone(), stamp)).collect());
            self.entries.insert(
                record.id.clone(),
                Box::new(FoldEntry {
                    first: stamp,
                    last: stamp,
                    record,
                    extra_stamps,
                }),
            );
            return;
        };
        if entry.extra_stamps.is_none() && !record.extra.is_empty() {
            entry.extra_stamps = Some(
                entry
                    .record
                    .extra
                    .keys()
                    .map(|k| (k.clone(), entry.last))
                    .collect(),
            );
        }
        let newer = stamp.0 >= entry.last.0;
        if newer {
            let mut record = record;
            // The first version's `createdAt` stays (first.0 <= last.0 <= stamp.0).
            record.created_at = std::mem::take(&mut entry.record.created_at);
            let old_extra = std::mem::take(&mut entry.record.extra);
            if let Some(stamps) = entry.extra_stamps.as_mut() {
                for key in record.extra.keys() {
                    stamps.insert(key.clone(), stamp);
                }
                let new_extra = std::mem::replace(&mut record.extra, old_extra);
                for (key, value) in new_extra {
                    record.extra.insert(key, value);
                }
            }
            entry.record = record;
            entry.last = stamp;
            return;
        }
        // Ordered before the last version: it can only supply `createdAt` (when strictly
        // earlier than the first version; ties go to the earlier arrival) and unknown fields.
        let mut record = record;
        if stamp.0 < entry.first.0 {
            entry.first = stamp;
            entry.record.created_at = std::mem::take(&mut record.created_at);
        }
        if let Some(stamps) = entry.extra_stamps.as_mut() {
            for (key, value) in record.extra {
                let wins = stamps.get(&key).is_none_or(|s| stamp > *s);
                if wins {
                    stamps.insert(key.clone(), stamp);
                    merge_extra(&mut entry.record.extra, key, value);
                }
            }
        }
    }

    fn into_latest(self) -> (Vec<Option<i64>>, Vec<CoordinationRecord>) {
        let mut keys = Vec::with_capacity(self.entries.len());
        let mut records = Vec::with_capacity(self.entries.len());
        for entry in self.entries.into_values() {
            keys.push(entry.last.0);
            records.push(entry.record);
        }
        (keys, records)
    }

    /// Finishes the fold: the latest version of every id, ordered and indexed. The result's
    /// [`CoordinationState::records`] is empty.
    pub fn finish(self) -> CoordinationState {
        CoordinationState::from_latest(Vec::new(), self.into_latest())
    }
}

fn merge_extra(extra: &mut serde_json::Map<String, Value>, key: String, value: Value) {
    extra.insert(key, value);
}

/// Convenience: is this status open (`isOpenCoordinationStatus`)?
pub fn is_open_status(status: Status) -> bool {
    status.is_open()
}

#[cfg(test)]
mod tests;
