//! The human-input workflow clock (§4.6).
//!
//! States: `open`, `pending`, `answered`, `escalated`, `resolved`. Transitions:
//! open → {pending, escalated, resolved}; pending → {answered, escalated, resolved};
//! answered → {resolved}; escalated → {answered, resolved}; resolved → ∅. Blocking states are
//! open, pending and escalated.
//!
//! [`advance`] drives the time-based edges: a blocking item that is not yet escalated and has
//! waited `escalateAfterMs` (default 2 min) — or its whole `maxWaitMs` (default 5 min), when
//! that is the shorter — moves to `escalated`, reassigned to the reroute target (default
//! `operator`) when `rerouteOnTimeout` is set. The transition names why (`escalate-after` or
//! `max-wait-expired`). Escalated items are not moved again by time: an answer or a
//! resolution moves them on. Each transition is emitted once, since the caller records it
//! (as a `human_input` control-plane event) and the next pass sees the item escalated.

use serde_json::{Map, Value};

use crate::engine::control::HumanInput;
use crate::engine::coordination::CoordinationState;
use crate::event::coordination::{Kind, Status};

/// Workflow states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HumanInputState {
    /// Asked, nobody working on it.
    Open,
    /// Being worked on / waiting for the human.
    Pending,
    /// The human answered.
    Answered,
    /// Escalated past its deadline.
    Escalated,
    /// Done.
    Resolved,
}

impl HumanInputState {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Answered => "answered",
            Self::Escalated => "escalated",
            Self::Resolved => "resolved",
        }
    }

    /// Parses a wire name (case-insensitive).
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text.trim().to_ascii_lowercase().as_str() {
            "open" => Self::Open,
            "pending" => Self::Pending,
            "answered" => Self::Answered,
            "escalated" => Self::Escalated,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }

    /// Whether the state blocks the wave.
    pub fn is_blocking(self) -> bool {
        matches!(self, Self::Open | Self::Pending | Self::Escalated)
    }

    /// Whether `self → next` is an allowed edge.
    pub fn can_move_to(self, next: Self) -> bool {
        use HumanInputState::*;
        matches!(
            (self, next),
            (Open, Pending | Escalated | Resolved)
                | (Pending, Answered | Escalated | Resolved)
                | (Answered, Resolved)
                | (Escalated, Answered | Resolved)
        )
    }
}

/// What raised the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum HumanInputKind {
    /// A clarification-request record.
    Clarification,
    /// A human-escalation record.
    Escalation,
    /// A feedback request.
    Feedback,
}

/// Deadlines of one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeoutPolicy {
    /// Expiry.
    pub max_wait_ms: i64,
    /// Escalation deadline.
    pub escalate_after_ms: i64,
    /// Reassign on escalation.
    pub reroute_on_timeout: bool,
    /// Who gets it then.
    pub reroute_to: String,
}

impl Default for TimeoutPolicy {
    fn default() -> Self {
        Self {
            max_wait_ms: 300_000,
            escalate_after_ms: 120_000,
            reroute_on_timeout: true,
            reroute_to: "operator".into(),
        }
    }
}

/// One human-input item.
#[derive(Debug, Clone, PartialEq)]
pub struct HumanInputItem {
    /// Request id (record id or feedback request id).
    pub request_id: String,
    /// Origin.
    pub kind: HumanInputKind,
    /// Current state.
    pub state: HumanInputState,
    /// Who asked.
    pub requested_by: String,
    /// Creation time, milliseconds since the epoch (`None` when unparseable: never times out).
    pub created_ms: Option<i64>,
}

/// Timers, passed in so they can be configured per lane.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HumanInputClock {
    /// Deadlines.
    pub policy: TimeoutPolicy,
}

/// One time-driven transition.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct HumanInputTransition {
    /// Request id (the `human_input` entity id).
    pub request_id: String,
    /// State before.
    pub from: HumanInputState,
    /// State after.
    pub to: HumanInputState,
    /// `escalate-after` or `max-wait-expired`.
    pub reason: &'static str,
    /// New assignee, when rerouted.
    pub assigned_to: Option<String>,
    /// When it happened (wire form).
    pub at: String,
}

impl HumanInputTransition {
    /// Control-plane action name.
    pub fn action(&self) -> &'static str {
        "escalated"
    }

    /// The `data` of the `human_input` control-plane event recording it.
    pub fn event_data(&self) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("humanInputId".into(), self.request_id.clone().into());
        m.insert("requestId".into(), self.request_id.clone().into());
        m.insert("state".into(), self.to.as_str().into());
        m.insert("previousState".into(), self.from.as_str().into());
        m.insert("reason".into(), self.reason.into());
        m.insert("escalatedAt".into(), self.at.clone().into());
        if let Some(a) = &self.assigned_to {
            m.insert("assignedTo".into(), a.clone().into());
        }
        m
    }
}

/// The human-input items of a wave (§4.6 derivation): clarification records (open → open,
/// in_progress/acknowledged → pending, resolved/closed/superseded/cancelled → resolved),
/// human-escalation records (escalated unless done) and control-plane human inputs
/// (feedback requests). A control-plane state recorded for the same id wins over the record's.
pub fn human_input_items(state: &CoordinationState, inputs: &[HumanInput]) -> Vec<HumanInputItem> {
    let mut items: Vec<HumanInputItem> = Vec::new();
    for r in state.latest_records() {
        let (kind, st) = match (r.kind, r.status) {
            (Kind::ClarificationRequest, Status::Open) => {
                (HumanInputKind::Clarification, HumanInputState::Open)
            }
            (Kind::ClarificationRequest, s) if s.is_open() => {
                (HumanInputKind::Clarification, HumanInputState::Pending)
            }
            (Kind::ClarificationRequest, _) => {
                (HumanInputKind::Clarification, HumanInputState::Resolved)
            }
            (Kind::HumanEscalation, s) if s.is_open() => {
                (HumanInputKind::Escalation, HumanInputState::Escalated)
            }
            (Kind::HumanEscalation, _) => (HumanInputKind::Escalation, HumanInputState::Resolved),
            _ => continue,
        };
        items.push(HumanInputItem {
            request_id: r.id.clone(),
            kind,
            state: st,
            requested_by: r.agent_id.clone(),
            created_ms: r.created_millis(),
        });
    }
    for h in inputs {
        let id = h
            .request_id
            .clone()
            .unwrap_or_else(|| h.human_input_id.clone());
        let parsed = HumanInputState::parse(&h.state).unwrap_or(HumanInputState::Pending);
        if let Some(item) = items.iter_mut().find(|i| i.request_id == id) {
            if item.state != HumanInputState::Resolved {
                item.state = parsed;
            }
            continue;
        }
        items.push(HumanInputItem {
            request_id: id,
            kind: HumanInputKind::Feedback,
            state: parsed,
            requested_by: String::new(),
            created_ms: crate::event::coordination::timestamp_millis(&h.created_at),
        });
    }
    items
}

/// Every time-driven transition due at `now_ms` (see the module doc).
pub fn advance(
    items: &[HumanInputItem],
    clock: &HumanInputClock,
    now_ms: i64,
    now: &str,
) -> Vec<HumanInputTransition> {
    let p = &clock.policy;
    items
        .iter()
        .filter(|i| i.state.is_blocking() && i.state != HumanInputState::Escalated)
        .filter_map(|i| {
            let elapsed = now_ms.saturating_sub(i.created_ms?);
            let reason = if elapsed >= p.escalate_after_ms.min(p.max_wait_ms) {
                if elapsed >= p.max_wait_ms && p.max_wait_ms <= p.escalate_after_ms {
                    "max-wait-expired"
                } else {
                    "escalate-after"
                }
            } else {
                return None;
            };
            Some(HumanInputTransition {
                request_id: i.request_id.clone(),
                from: i.state,
                to: HumanInputState::Escalated,
                reason,
                assigned_to: p.reroute_on_timeout.then(|| p.reroute_to.clone()),
                at: now.to_owned(),
            })
        })
        .collect()
}
