//! Acknowledgement and staleness metrics over open records (spec §3.9).

use std::collections::HashMap;

use crate::event::coordination::{Kind, Status, timestamp_millis};

use super::{
    CoordinationState, RecordView, blocks_wave, clarification_id_from_closure,
    is_clarification_linked, locale_cmp,
};

/// Default acknowledgement timeout: 5 minutes.
pub const ACK_TIMEOUT_MS: i64 = 5 * 60 * 1000;
/// Default clarification staleness: 30 minutes.
pub const RESOLUTION_STALE_MS: i64 = 30 * 60 * 1000;

/// The clock reading and thresholds the metrics use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimingOptions {
    /// Current time, milliseconds since the epoch.
    pub now_ms: i64,
    /// Age at which an unacknowledged record is overdue.
    pub ack_timeout_ms: i64,
    /// Age at which a clarification chain is stale.
    pub resolution_stale_ms: i64,
}

impl TimingOptions {
    /// Default thresholds at a given time.
    pub fn at(now_ms: i64) -> Self {
        Self {
            now_ms,
            ack_timeout_ms: ACK_TIMEOUT_MS,
            resolution_stale_ms: RESOLUTION_STALE_MS,
        }
    }
}

/// Per-record metrics.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordMetrics {
    /// Age from `createdAt` (else `updatedAt`), when either parses.
    pub age_ms: Option<i64>,
    /// `formatAgeMs(age)` (`n/a` without an age).
    pub age_label: String,
    /// Needs an acknowledgement.
    pub ack_tracked: bool,
    /// Tracked and still `open`.
    pub ack_pending: bool,
    /// Pending for at least the ack timeout.
    pub overdue_ack: bool,
    /// A blocking clarification or clarification-linked request.
    pub clarification_linked: bool,
    /// Clarification-linked and older than the staleness threshold.
    pub stale_clarification: bool,
    /// `blocksWave`.
    pub blocking: bool,
}

/// Metrics over a state's open records (`buildCoordinationResponseMetrics`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseMetrics {
    /// Threshold used.
    pub ack_timeout_ms: i64,
    /// Threshold used.
    pub resolution_stale_ms: i64,
    /// Oldest blocking open record.
    pub oldest_open_coordination_age_ms: Option<i64>,
    /// Oldest pending acknowledgement.
    pub oldest_unacked_request_age_ms: Option<i64>,
    /// Overdue acknowledgement ids, collated.
    pub overdue_ack_record_ids: Vec<String>,
    /// Stale clarification chain ids, collated.
    pub overdue_clarification_ids: Vec<String>,
    /// Blocking human escalations.
    pub open_human_escalation_count: usize,
    /// Per open record.
    pub records: HashMap<String, RecordMetrics>,
}

impl ResponseMetrics {
    /// Metrics of one open record.
    pub fn record(&self, id: &str) -> Option<&RecordMetrics> {
        self.records.get(id)
    }
}

/// `formatAgeMs`: `Ns` under a minute, `Nm` under an hour, else `Nh Mm`.
pub fn format_age(age_ms: i64) -> String {
    let total_seconds = age_ms.max(0) / 1000;
    if total_seconds < 60 {
        return format!("{total_seconds}s");
    }
    let minutes = total_seconds / 60;
    if minutes < 60 {
        return format!("{minutes}m");
    }
    format!("{}h {}m", minutes / 60, minutes % 60)
}

fn start_ms<R: RecordView + ?Sized>(record: &R) -> Option<i64> {
    timestamp_millis(record.created_at()).or_else(|| timestamp_millis(record.updated_at()))
}

/// `ackTracked` before the blocking test: clarifications, human feedback and escalations, and
/// requests not seeded by the launcher or linked to a clarification.
fn is_ack_tracked<R: RecordView + ?Sized>(record: &R) -> bool {
    match record.kind() {
        Kind::ClarificationRequest | Kind::HumanFeedback | Kind::HumanEscalation => true,
        Kind::Request => record.source() != "launcher" || is_clarification_linked(record, None),
        _ => false,
    }
}

/// The timing facts of one record at `timing.now_ms` (§3.9); closed records are never
/// blocking, tracked, overdue or stale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordTiming {
    /// Age from `createdAt` (else `updatedAt`), when either parses.
    pub age_ms: Option<i64>,
    /// `blocksWave`.
    pub blocking: bool,
    /// Blocking and needs an acknowledgement.
    pub ack_tracked: bool,
    /// Tracked and still `open`.
    pub ack_pending: bool,
    /// Pending for at least the ack timeout.
    pub overdue_ack: bool,
    /// A blocking clarification or clarification-linked request.
    pub clarification_linked: bool,
    /// Clarification-linked and older than the staleness threshold.
    pub stale_clarification: bool,
}

/// Computes the timing facts of one record: the single place the §3.9 rules live.
pub fn record_timing<R: RecordView + ?Sized>(record: &R, timing: TimingOptions) -> RecordTiming {
    let age_ms = start_ms(record).map(|start| (timing.now_ms - start).max(0));
    RecordTiming {
        age_ms,
        ..timing_with_age(record, timing, || age_ms)
    }
}

/// [`record_timing`] without the age: the record's time stamps are read only when a flag
/// depends on them (a pending acknowledgement or a clarification chain), so a record that
/// does not block the wave costs no time parsing. `age_ms` is always `None`.
pub fn record_timing_flags<R: RecordView + ?Sized>(
    record: &R,
    timing: TimingOptions,
) -> RecordTiming {
    let mut flags = timing_with_age(record, timing, || {
        start_ms(record).map(|start| (timing.now_ms - start).max(0))
    });
    flags.age_ms = None;
    flags
}

/// The §3.9 rules, with the record's age asked for only when a flag needs it.
fn timing_with_age<R: RecordView + ?Sized>(
    record: &R,
    timing: TimingOptions,
    age: impl FnOnce() -> Option<i64>,
) -> RecordTiming {
    let blocking = blocks_wave(record);
    let ack_tracked = blocking && is_ack_tracked(record);
    let ack_pending = ack_tracked && record.status() == Status::Open;
    let clarification_linked = blocking
        && (record.kind() == Kind::ClarificationRequest || is_clarification_linked(record, None));
    let age_ms = if ack_pending || clarification_linked {
        age()
    } else {
        None
    };
    RecordTiming {
        age_ms,
        blocking,
        ack_tracked,
        ack_pending,
        overdue_ack: ack_pending && age_ms.is_some_and(|a| a >= timing.ack_timeout_ms),
        clarification_linked,
        stale_clarification: clarification_linked
            && age_ms.is_some_and(|a| a >= timing.resolution_stale_ms),
    }
}

/// Computes the response metrics of a state at `timing.now_ms`.
pub fn response_metrics(state: &CoordinationState, timing: TimingOptions) -> ResponseMetrics {
    let mut records = HashMap::new();
    let mut overdue_ack = Vec::new();
    let mut overdue_clarifications: Vec<String> = Vec::new();
    let mut oldest_open: Option<i64> = None;
    let mut oldest_unacked: Option<i64> = None;
    for record in state.open_records() {
        let RecordTiming {
            age_ms,
            blocking,
            ack_tracked,
            ack_pending,
            overdue_ack: is_overdue,
            clarification_linked,
            stale_clarification: stale,
        } = record_timing(record, timing);
        if let (true, Some(age)) = (blocking, age_ms) {
            oldest_open = Some(oldest_open.map_or(age, |o| o.max(age)));
            if ack_pending {
                oldest_unacked = Some(oldest_unacked.map_or(age, |o| o.max(age)));
            }
        }
        if is_overdue {
            overdue_ack.push(record.id.clone());
        }
        if stale {
            let id = if record.kind == Kind::ClarificationRequest {
                record.id.as_str()
            } else {
                clarification_id_from_closure(&record.closure_condition).unwrap_or(&record.id)
            };
            if !overdue_clarifications.iter().any(|c| c == id) {
                overdue_clarifications.push(id.to_owned());
            }
        }
        records.insert(
            record.id.clone(),
            RecordMetrics {
                age_ms,
                age_label: age_ms.map_or_else(|| "n/a".to_owned(), format_age),
                ack_tracked,
                ack_pending,
                overdue_ack: is_overdue,
                clarification_linked,
                stale_clarification: stale,
                blocking,
            },
        );
    }
    overdue_ack.sort_by(|a, b| locale_cmp(a, b));
    overdue_clarifications.sort_by(|a, b| locale_cmp(a, b));
    ResponseMetrics {
        ack_timeout_ms: timing.ack_timeout_ms,
        resolution_stale_ms: timing.resolution_stale_ms,
        oldest_open_coordination_age_ms: oldest_open,
        oldest_unacked_request_age_ms: oldest_unacked,
        overdue_ack_record_ids: overdue_ack,
        overdue_clarification_ids: overdue_clarifications,
        open_human_escalation_count: state
            .human_escalations()
            .filter(|r| blocks_wave(*r))
            .count(),
        records,
    }
}
