//! Wave coordination projections (§10.4 board, §10.5 docs queue, §10.6 ledger, §10.9
//! integration, §3.7 assignment and §3.11 dependency snapshots, §3.8 pending-human view):
//! pure text and JSON from engine views.
//!
//! Owns: layout of these projections and their size budgets. Must not: do I/O, read the clock
//! (the generated time is a parameter) or decide anything the engine decides.

use serde_json::{Value, json};

use super::summary::{Rendered, activity_line, compact_single_line, fit_budget, open_record_line};
use crate::engine::coordination::{
    Assignment, CoordinationState, DependencySnapshot, ResponseMetrics, format_age,
};
use crate::event::coordination::{CoordinationRecord, Kind};

/// Board budget: the activity feed keeps the newest lines within this many characters.
pub const BOARD_MAX_CHARS: usize = 12_000;
/// Suffix appended to a cut board.
pub const BOARD_TRUNCATED: &str =
    "\n\n[Message board truncated; see the coordination log for full history]";

/// What the board header names.
#[derive(Debug, Clone)]
pub struct BoardHeader<'a> {
    /// Wave number.
    pub wave: u64,
    /// Wave file (repository-relative).
    pub wave_file: &'a str,
    /// Agent ids in plan order.
    pub agent_ids: &'a [String],
    /// Generation time (wire form).
    pub generated_at: &'a str,
}

fn age(v: Option<i64>) -> String {
    v.map_or_else(|| "none".to_owned(), format_age)
}

fn timing_lines(metrics: &ResponseMetrics) -> Vec<String> {
    vec![
        format!(
            "- Oldest open coordination age: {}",
            age(metrics.oldest_open_coordination_age_ms)
        ),
        format!(
            "- Oldest unacknowledged request age: {}",
            age(metrics.oldest_unacked_request_age_ms)
        ),
        format!(
            "- Overdue acknowledgements: {}",
            metrics.overdue_ack_record_ids.len()
        ),
        format!(
            "- Overdue clarification chains: {}",
            metrics.overdue_clarification_ids.len()
        ),
    ]
}

fn dependency_lines(deps: Option<&DependencySnapshot>) -> Vec<String> {
    let Some(d) = deps else {
        return vec!["- None.".into()];
    };
    let mut out: Vec<String> = d
        .open_inbound()
        .map(|i| ("inbound", i))
        .chain(d.open_outbound().map(|i| ("outbound", i)))
        .map(|(dir, i)| {
            format!(
                "- {dir}{}: {}{}",
                if i.required { " required" } else { "" },
                compact_single_line(&i.summary, 160),
                i.assigned_agent_id
                    .as_deref()
                    .map(|a| format!(" -> {a}"))
                    .unwrap_or_default()
            )
        })
        .collect();
    if out.is_empty() {
        out.push("- None.".into());
    }
    out
}

/// The wave board (`S/messageboards/wave-N.md`): header, timing, open state, helper
/// assignments, cross-lane dependencies and the activity feed (all latest records). Over
/// budget, the oldest activity lines are dropped first, then the whole text is cut.
pub fn render_board(
    header: &BoardHeader<'_>,
    state: &CoordinationState,
    assignments: &[Assignment],
    deps: Option<&DependencySnapshot>,
    metrics: &ResponseMetrics,
) -> Rendered {
    let mut head = vec![
        format!("# Wave {} Message Board", header.wave),
        String::new(),
        format!("- Wave file: `{}`", header.wave_file),
        format!("- Agents: {}", header.agent_ids.join(", ")),
        format!("- Generated: {}", header.generated_at),
    ];
    head.extend(timing_lines(metrics));
    head.push(String::new());
    head.push("## Open Coordination State".into());
    let open: Vec<String> = state
        .open_records()
        .map(|r| open_record_line(r, Some(metrics)))
        .collect();
    if open.is_empty() {
        head.push("- None.".into());
    } else {
        head.extend(open);
    }
    head.push(String::new());
    head.push("## Helper Assignments".into());
    let helpers: Vec<String> = assignments
        .iter()
        .filter(|a| a.blocking)
        .map(|a| {
            format!(
                "- [{}] {} -> {} => {} ({})",
                a.priority.as_str(),
                a.request_id,
                a.target,
                a.assigned_agent_id.as_deref().unwrap_or("unresolved"),
                a.assignment_reason.as_str()
            )
        })
        .collect();
    if helpers.is_empty() {
        head.push("- None.".into());
    } else {
        head.extend(helpers);
    }
    head.push(String::new());
    head.push("## Cross-Lane Dependencies".into());
    head.extend(dependency_lines(deps));
    head.push(String::new());
    head.push("## Activity Feed".into());
    let head = head.join("\n");
    let feed: Vec<String> = state.latest_records().iter().map(activity_line).collect();
    // Keep the newest feed lines that fit.
    let budget = BOARD_MAX_CHARS.saturating_sub(head.chars().count() + BOARD_TRUNCATED.len() + 2);
    let mut used = 0usize;
    let mut keep = 0usize;
    for line in feed.iter().rev() {
        let n = line.chars().count() + 1;
        if used + n > budget {
            break;
        }
        used += n;
        keep += 1;
    }
    let dropped = feed.len() - keep;
    let mut text = head;
    if feed.is_empty() {
        text.push_str("\n- None.");
    }
    if dropped > 0 {
        text.push_str(&format!("\n- ... {dropped} older record(s) omitted"));
    }
    for line in feed.iter().skip(dropped) {
        text.push('\n');
        text.push_str(line);
    }
    text.push('\n');
    fit_budget(text, BOARD_MAX_CHARS, BOARD_TRUNCATED)
}

/// The assignment snapshot (`S/assignments/wave-N.json`).
pub fn assignments_json(
    lane: &str,
    wave: u64,
    assignments: &[Assignment],
    generated_at: &str,
) -> Value {
    json!({
        "schemaVersion": 1, "kind": "wave-assignment-snapshot", "lane": lane, "wave": wave,
        "generatedAt": generated_at, "assignments": assignments,
    })
}

fn dep_value(i: &crate::engine::coordination::DependencyItem) -> Value {
    json!({
        "id": i.id, "direction": i.direction, "required": i.required, "open": i.open,
        "summary": i.summary, "detail": i.detail, "priority": i.priority, "targets": i.targets,
        "artifactRefs": i.artifact_refs, "assignedAgentId": i.assigned_agent_id,
    })
}

fn dep_list<'a>(
    items: impl Iterator<Item = &'a crate::engine::coordination::DependencyItem>,
) -> Vec<Value> {
    items.map(dep_value).collect()
}

/// The dependency snapshot (`S/dependencies/wave-N.json`).
pub fn dependencies_json(
    lane: &str,
    wave: u64,
    deps: &DependencySnapshot,
    generated_at: &str,
) -> Value {
    json!({
        "schemaVersion": 1, "kind": "wave-dependency-snapshot", "lane": lane, "wave": wave,
        "generatedAt": generated_at,
        "inbound": dep_list(deps.inbound.iter()),
        "outbound": dep_list(deps.outbound.iter()),
        "openInbound": dep_list(deps.open_inbound()),
        "openOutbound": dep_list(deps.open_outbound()),
        "requiredInbound": dep_list(deps.open_inbound().filter(|i| i.required)),
        "requiredOutbound": dep_list(deps.open_outbound().filter(|i| i.required)),
        "unresolvedInboundAssignments": dep_list(deps.open_inbound().filter(|i| i.required && i.assigned_agent_id.is_none())),
    })
}

/// The dependency snapshot as markdown (`S/dependencies/wave-N.md`).
pub fn dependencies_md(
    lane: &str,
    wave: u64,
    deps: &DependencySnapshot,
    generated_at: &str,
) -> String {
    let line = |i: &crate::engine::coordination::DependencyItem| {
        format!(
            "- [{}] {}{}: {}{}",
            i.priority,
            i.id,
            if i.required { " (required)" } else { "" },
            compact_single_line(&i.summary, 160),
            i.assigned_agent_id
                .as_deref()
                .map(|a| format!(" -> {a}"))
                .unwrap_or_default()
        )
    };
    let mut lines = vec![
        format!("# Lane {lane} Dependency Snapshot"),
        String::new(),
        format!("- Wave: {wave}"),
        format!("- Generated: {generated_at}"),
        format!("- Open inbound: {}", deps.open_inbound().count()),
        format!("- Open outbound: {}", deps.open_outbound().count()),
        format!(
            "- Required inbound: {}",
            deps.open_inbound().filter(|i| i.required).count()
        ),
        format!(
            "- Required outbound: {}",
            deps.open_outbound().filter(|i| i.required).count()
        ),
    ];
    for (title, items) in [("Inbound", &deps.inbound), ("Outbound", &deps.outbound)] {
        lines.push(String::new());
        lines.push(format!("## {title}"));
        if items.is_empty() {
            lines.push("- None.".into());
        }
        lines.extend(items.iter().map(line));
    }
    lines.push(String::new());
    lines.push(String::new());
    lines.join("\n")
}

fn ids<'a>(records: impl Iterator<Item = &'a CoordinationRecord>) -> Vec<String> {
    records.map(|r| r.id.clone()).collect()
}

/// The coordination part of the ledger (`S/ledger/wave-N.json`, §10.6): blockers, open
/// clarifications and requests, capability assignments, the dependency counts, human
/// feedback and escalations, and the reducer's phase.
pub fn ledger_json(
    lane: &str,
    wave: u64,
    phase: &str,
    state: &CoordinationState,
    assignments: &[Assignment],
    deps: Option<&DependencySnapshot>,
    updated_at: &str,
) -> Value {
    let open = |k: Kind| ids(state.of_kind(k).filter(|r| r.status.is_open()));
    let caps: Vec<Value> = assignments
        .iter()
        .map(|a| {
            json!({
                "id": a.id, "requestId": a.request_id, "assignedAgentId": a.assigned_agent_id,
                "target": a.target, "targetType": a.target_type, "capability": a.capability,
                "blocking": a.blocking, "assignmentReason": a.assignment_reason, "state": a.state,
            })
        })
        .collect();
    let dep = deps.map(|d| {
        json!({
            "openInbound": d.open_inbound().count(), "openOutbound": d.open_outbound().count(),
            "requiredInbound": d.open_inbound().filter(|i| i.required).count(),
            "requiredOutbound": d.open_outbound().filter(|i| i.required).count(),
            "unresolvedInboundAssignments": d.open_inbound().filter(|i| i.required && i.assigned_agent_id.is_none()).count(),
        })
    });
    json!({
        "wave": wave, "lane": lane, "phase": phase,
        "blockers": ids(state.blockers()),
        "openClarifications": open(Kind::ClarificationRequest),
        "clarificationLinkedRequests": ids(state.clarification_linked_requests()),
        "openRequests": open(Kind::Request),
        "capabilityAssignments": caps,
        "dependencySnapshot": dep,
        "humanFeedback": open(Kind::HumanFeedback),
        "humanEscalations": open(Kind::HumanEscalation),
        "updatedAt": updated_at,
    })
}

/// One docs-queue item (§10.5).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocsQueueEntry {
    /// Item id.
    pub id: String,
    /// `owned-doc`, `shared-plan` or `component-matrix`.
    pub kind: String,
    /// Path (or component id).
    pub path: String,
    /// Owner agent, if any.
    pub owner_agent_id: Option<String>,
    /// Summary.
    pub summary: String,
}

/// The docs queue (`S/docs-queue/wave-N.json`).
pub fn docs_queue_json(lane: &str, wave: u64, items: &[DocsQueueEntry], now: &str) -> Value {
    json!({
        "lane": lane, "wave": wave, "createdAt": now, "updatedAt": now,
        "releaseNotesRequired": items.iter().any(|i| i.kind == "shared-plan"),
        "items": items,
    })
}

/// Coordination evidence of the integration summary (§10.9), inferred without an A8 marker.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IntegrationEvidence {
    /// `launcher` (inferred).
    pub agent_id: String,
    /// `needs-more-work` or `ready-for-doc-closure`.
    pub recommendation: String,
    /// Why.
    pub detail: String,
    /// Open claims.
    pub open_claims: Vec<String>,
    /// Open claims that mention a conflict or contradiction.
    pub conflicting_claims: Vec<String>,
    /// Open blockers.
    pub unresolved_blockers: Vec<String>,
    /// Actionable records mentioning interfaces, contracts, APIs, schemas, migrations.
    pub changed_interfaces: Vec<String>,
}

/// Infers the coordination part of the integration summary.
pub fn integration_evidence(state: &CoordinationState) -> IntegrationEvidence {
    let line =
        |r: &CoordinationRecord| format!("{}: {}", r.id, compact_single_line(&r.summary, 160));
    let open_claims: Vec<&CoordinationRecord> =
        state.claims().filter(|r| r.status.is_open()).collect();
    let conflict = regex::Regex::new("(?i)conflict|contradict").ok();
    let iface = regex::Regex::new("(?i)interface|contract|api|schema|migration|signature").ok();
    let matches = |re: &Option<regex::Regex>, r: &CoordinationRecord| {
        re.as_ref()
            .is_some_and(|re| re.is_match(&r.summary) || re.is_match(&r.detail))
    };
    let conflicting: Vec<String> = open_claims
        .iter()
        .filter(|r| matches(&conflict, r))
        .map(|r| line(r))
        .collect();
    let blockers: Vec<String> = state
        .blockers()
        .filter(|r| r.status.is_open())
        .map(line)
        .collect();
    let actionable = |r: &&CoordinationRecord| {
        matches!(
            r.kind,
            Kind::Request | Kind::Decision | Kind::Handoff | Kind::Claim | Kind::Blocker
        ) && r.agent_id != "launcher"
    };
    let changed: Vec<String> = state
        .latest_records()
        .iter()
        .filter(actionable)
        .filter(|r| matches(&iface, r))
        .map(line)
        .collect();
    let (recommendation, detail) = if let Some(b) = blockers.first() {
        ("needs-more-work", format!("Unresolved blocker: {b}"))
    } else if let Some(c) = conflicting.first() {
        ("needs-more-work", format!("Conflicting claim: {c}"))
    } else {
        (
            "ready-for-doc-closure",
            "No unresolved blockers or conflicting claims.".to_owned(),
        )
    };
    IntegrationEvidence {
        agent_id: "launcher".into(),
        recommendation: recommendation.into(),
        detail,
        open_claims: open_claims.iter().map(|r| line(r)).collect(),
        conflicting_claims: conflicting,
        unresolved_blockers: blockers,
        changed_interfaces: changed,
    }
}

/// The integration summary as markdown (`S/integration/wave-N.md`).
pub fn integration_md(wave: u64, e: &IntegrationEvidence) -> String {
    let mut out = vec![
        format!("# Wave {wave} Integration Summary"),
        String::new(),
        format!("- Recommendation: {}", e.recommendation),
        format!("- Detail: {}", e.detail),
        format!("- Open claims: {}", e.open_claims.len()),
        format!("- Conflicting claims: {}", e.conflicting_claims.len()),
        format!("- Unresolved blockers: {}", e.unresolved_blockers.len()),
        format!("- Changed interfaces: {}", e.changed_interfaces.len()),
    ];
    for (title, items) in [
        ("Open claims", &e.open_claims),
        ("Conflicting claims", &e.conflicting_claims),
        ("Unresolved blockers", &e.unresolved_blockers),
        ("Changed interfaces", &e.changed_interfaces),
    ] {
        out.push(String::new());
        out.push(format!("## {title}"));
        if items.is_empty() {
            out.push("- None.".into());
        }
        out.extend(items.iter().map(|i| format!("- {i}")));
    }
    out.push(String::new());
    out.join("\n")
}

/// `pending-human.md`: the open human escalations.
pub fn pending_human_md(state: &CoordinationState) -> String {
    let mut out = vec!["# Pending Human Escalations".to_owned(), String::new()];
    let open: Vec<String> = state
        .human_escalations()
        .filter(|r| r.status.is_open())
        .map(|r| {
            let tickets = if r.artifact_refs.is_empty() {
                String::new()
            } else {
                format!(" [tickets: {}]", r.artifact_refs.join(", "))
            };
            format!("- {}: {}{tickets}", r.id, r.summary)
        })
        .collect();
    if open.is_empty() {
        out.push("- None.".into());
    }
    out.extend(open);
    out.push(String::new());
    out.join("\n")
}
