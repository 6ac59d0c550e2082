//! Wave coordination projections (§10.4 board, §10.5 docs queue, §10.6 ledger, §10.9
//! integration, §3.7 assignment and §3.11 dependency snapshots, §3.8 pending-human view):
//! pure text and JSON from engine views.
//!
//! Owns: layout of these projections and their size budgets. Must not: do I/O, read the clock
//! (the generated time is a parameter) or decide anything the engine decides.

use serde_json::{Map, Value, json};

use super::summary::{Rendered, activity_line, compact_single_line, fit_budget, open_record_line};
use crate::engine::coordination::integration::IntegrationReport;
use crate::engine::coordination::ledger::WaveLedger;
use crate::engine::coordination::{
    Assignment, CoordinationState, DependencySnapshot, IntegrationSummary, LedgerTaskView,
    LedgerView, ResponseMetrics, RuntimeAssignment, format_age,
};

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

/// The ledger facts the shared summary and inboxes show.
pub fn ledger_view(l: &WaveLedger) -> LedgerView {
    LedgerView {
        phase: Some(l.phase.clone()),
        tasks: l
            .tasks
            .iter()
            .map(|t| LedgerTaskView {
                id: t.id.clone(),
                owner: t.owner.clone().unwrap_or_default(),
                title: Some(t.title.clone()),
                kind: Some(t.kind.clone()),
                state: Some(t.state.clone()),
                priority: Some(t.priority.clone()),
            })
            .collect(),
    }
}

/// The integration facts the shared summary and inboxes show.
pub fn integration_view(
    r: &IntegrationReport,
    runtime_assignments: Vec<RuntimeAssignment>,
) -> IntegrationSummary {
    IntegrationSummary {
        recommendation: Some(r.recommendation.clone()),
        detail: Some(r.detail.clone()),
        conflicting_claims: r.conflicting_claims.clone(),
        changed_interfaces: r.changed_interfaces.clone(),
        cross_component_impacts: r.cross_component_impacts.clone(),
        proof_gaps: r.proof_gaps.clone(),
        deploy_risks: r.deploy_risks.clone(),
        doc_gaps: r.doc_gaps.clone(),
        security_state: Some(r.security_state.clone()),
        security_findings: r.security_findings.clone(),
        security_approvals: r.security_approvals.clone(),
        runtime_assignments,
    }
}

/// The integration summary (`S/integration/wave-N.json`), in upstream's field order: a
/// steward-reported summary lists its evidence then the runtime assignments; an inferred one
/// carries the security and corridor states after the dependency lists.
pub fn integration_json(
    lane: &str,
    wave: u64,
    attempt: u64,
    r: &IntegrationReport,
    runtime_assignments: &[Value],
    now: &str,
) -> Value {
    let mut m = Map::new();
    m.insert("wave".into(), wave.into());
    m.insert("lane".into(), lane.into());
    m.insert("agentId".into(), r.agent_id.clone().into());
    m.insert("attempt".into(), attempt.into());
    let list = |v: &[String]| Value::from(v.to_vec());
    for (k, v) in [
        ("openClaims", &r.open_claims),
        ("conflictingClaims", &r.conflicting_claims),
        ("unresolvedBlockers", &r.unresolved_blockers),
        ("changedInterfaces", &r.changed_interfaces),
        ("crossComponentImpacts", &r.cross_component_impacts),
        ("proofGaps", &r.proof_gaps),
        ("docGaps", &r.doc_gaps),
        ("deployRisks", &r.deploy_risks),
    ] {
        m.insert(k.into(), list(v));
    }
    let security = |m: &mut Map<String, Value>| {
        m.insert("securityState".into(), r.security_state.clone().into());
        m.insert("securityFindings".into(), list(&r.security_findings));
        m.insert("securityApprovals".into(), list(&r.security_approvals));
    };
    if r.explicit {
        security(&mut m);
    }
    m.insert("inboundDependencies".into(), list(&r.inbound_dependencies));
    m.insert(
        "outboundDependencies".into(),
        list(&r.outbound_dependencies),
    );
    m.insert("helperAssignments".into(), list(&r.helper_assignments));
    if !r.explicit {
        security(&mut m);
        m.insert("corridorState".into(), r.corridor_state.clone().into());
    }
    m.insert(
        "runtimeAssignments".into(),
        Value::Array(runtime_assignments.to_vec()),
    );
    m.insert("recommendation".into(), r.recommendation.clone().into());
    m.insert("detail".into(), r.detail.clone().into());
    m.insert("createdAt".into(), now.into());
    m.insert("updatedAt".into(), now.into());
    Value::Object(m)
}

fn non_empty<'a>(v: &'a str, fallback: &'a str) -> &'a str {
    if v.is_empty() { fallback } else { v }
}

/// The integration summary as markdown (`S/integration/wave-N.md`).
pub fn integration_md(wave: u64, r: &IntegrationReport, runtime_assignments: &[Value]) -> String {
    let mut out = vec![
        format!("# Wave {wave} Integration Summary"),
        String::new(),
        format!(
            "- Recommendation: {}",
            non_empty(&r.recommendation, "unknown")
        ),
        format!("- Detail: {}", non_empty(&r.detail, "n/a")),
    ];
    for (label, n) in [
        ("Open claims", r.open_claims.len()),
        ("Conflicting claims", r.conflicting_claims.len()),
        ("Unresolved blockers", r.unresolved_blockers.len()),
        ("Changed interfaces", r.changed_interfaces.len()),
        ("Cross-component impacts", r.cross_component_impacts.len()),
        ("Proof gaps", r.proof_gaps.len()),
        ("Deploy risks", r.deploy_risks.len()),
        ("Documentation gaps", r.doc_gaps.len()),
    ] {
        out.push(format!("- {label}: {n}"));
    }
    out.push(format!(
        "- Security review: {}",
        non_empty(&r.security_state, "not-applicable")
    ));
    for (label, n) in [
        ("Security findings", r.security_findings.len()),
        ("Security approvals", r.security_approvals.len()),
        ("Inbound dependencies", r.inbound_dependencies.len()),
        ("Outbound dependencies", r.outbound_dependencies.len()),
        ("Helper assignments", r.helper_assignments.len()),
        ("Corridor blocking findings", 0),
    ] {
        out.push(format!("- {label}: {n}"));
    }
    out.push(String::new());
    let none: Vec<String> = Vec::new();
    let section = |out: &mut Vec<String>, title: &str, items: &[String]| {
        out.push(format!("## {title}"));
        if items.is_empty() {
            out.push("- None.".into());
        }
        out.extend(items.iter().map(|i| format!("- {i}")));
        out.push(String::new());
    };
    for (title, items) in [
        ("Open Claims", &r.open_claims),
        ("Conflicting Claims", &r.conflicting_claims),
        ("Unresolved Blockers", &r.unresolved_blockers),
        ("Changed Interfaces", &r.changed_interfaces),
        ("Cross-Component Impacts", &r.cross_component_impacts),
        ("Proof Gaps", &r.proof_gaps),
        ("Deploy Risks", &r.deploy_risks),
        ("Security Findings", &r.security_findings),
        ("Corridor Findings", &none),
        ("Security Approvals", &r.security_approvals),
        ("Inbound Dependencies", &r.inbound_dependencies),
        ("Outbound Dependencies", &r.outbound_dependencies),
        ("Helper Assignments", &r.helper_assignments),
    ] {
        section(&mut out, title, items);
    }
    out.push("## Runtime Assignments".into());
    if runtime_assignments.is_empty() {
        out.push("- None.".into());
    }
    let field = |v: &Value, k: &str, d: &'static str| -> String {
        v.get(k)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .unwrap_or(d)
            .to_owned()
    };
    for a in runtime_assignments {
        out.push(format!(
            "- {}: executor={} role={} profile={} fallback_used={}",
            field(a, "agentId", ""),
            field(a, "executorId", "n/a"),
            field(a, "role", "n/a"),
            field(a, "profile", "none"),
            if a.get("fallbackUsed") == Some(&Value::Bool(true)) {
                "yes"
            } else {
                "no"
            }
        ));
    }
    out.push(String::new());
    section(&mut out, "Documentation Gaps", &r.doc_gaps);
    out.join("\n") + "\n"
}

/// The clarification triage log (`S/feedback/triage/wave-N.jsonl`): one record per line.
pub fn triage_log_jsonl(records: &[Map<String, Value>]) -> String {
    let mut out = String::new();
    for r in records {
        out.push_str(&Value::Object(r.clone()).to_string());
        out.push('\n');
    }
    out
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
