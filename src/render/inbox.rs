//! One agent's inbox (spec §10.3).
//!
//! Owns: text layout only; the data comes from `engine::coordination::inbox_view`.
//! Must not: do I/O or decide which records appear.

use crate::engine::coordination::InboxView;

use super::summary::{
    Rendered, age_or_none, compact_single_line, fit_budget, item_list, or_na, push_records,
};

/// Suffix appended to an inbox cut to its budget.
pub const INBOX_TRUNCATION_SUFFIX: &str =
    "\n\n[Inbox truncated; see generated artifact for full details]";

fn or_normal(value: Option<&str>) -> &str {
    value.filter(|v| !v.is_empty()).unwrap_or("normal")
}

/// Renders an inbox (`compileAgentInbox`), cut to the view's budget.
pub fn render_inbox(view: &InboxView<'_>) -> Rendered {
    let m = &view.metrics;
    let mut lines: Vec<String> = vec![
        format!("# Wave {} Inbox for {}", view.wave, view.agent_id),
        String::new(),
        "## Response timing".to_owned(),
        format!(
            "- Oldest open coordination age: {}",
            age_or_none(m.oldest_open_coordination_age_ms)
        ),
        format!(
            "- Oldest unacknowledged request age: {}",
            age_or_none(m.oldest_unacked_request_age_ms)
        ),
        format!(
            "- Overdue acknowledgements: {}",
            m.overdue_ack_record_ids.len()
        ),
        format!(
            "- Overdue clarification chains: {}",
            m.overdue_clarification_ids.len()
        ),
        String::new(),
        "## Targeted open coordination".to_owned(),
    ];
    push_records(&mut lines, &view.targeted, m);
    lines.push(String::new());
    lines.push("## Your open coordination items".to_owned());
    push_records(&mut lines, &view.owned, m);
    lines.push(String::new());
    lines.push("## Clarifications".to_owned());
    push_records(&mut lines, &view.clarifications, m);
    lines.push(String::new());
    lines.push("## Relevant open coordination".to_owned());
    push_records(&mut lines, &view.relevant, m);
    lines.push(String::new());
    lines.push("## Helper assignments".to_owned());
    if view.helper_assignments.is_empty() {
        lines.push("- None.".to_owned());
    }
    for a in &view.helper_assignments {
        let summary = if a.summary.is_empty() {
            &a.request_id
        } else {
            &a.summary
        };
        lines.push(format!(
            "- [{}] {} ({}; {})",
            a.priority,
            compact_single_line(summary, 140),
            a.target,
            a.assignment_reason.as_str()
        ));
    }
    lines.push(String::new());
    lines.push("## Cross-lane dependencies".to_owned());
    if view.dependencies.is_empty() {
        lines.push("- None.".to_owned());
    }
    for d in &view.dependencies {
        let text = [&d.summary, &d.detail]
            .into_iter()
            .find(|s| !s.is_empty())
            .unwrap_or(&d.id);
        lines.push(format!(
            "- [{}] {}{}: {}{}",
            or_normal(Some(&d.priority)),
            if d.direction.is_empty() {
                "dependency"
            } else {
                &d.direction
            },
            if d.required { " required" } else { "" },
            compact_single_line(text, 140),
            d.assigned_agent_id
                .as_deref()
                .map(|a| format!(" -> {a}"))
                .unwrap_or_default()
        ));
    }
    lines.push(String::new());
    lines.push("## Ledger tasks".to_owned());
    if view.ledger_tasks.is_empty() {
        lines.push("- None.".to_owned());
    }
    for t in &view.ledger_tasks {
        let title = [t.title.as_deref(), t.kind.as_deref()]
            .into_iter()
            .flatten()
            .find(|s| !s.is_empty())
            .unwrap_or("task");
        lines.push(format!(
            "- [{}] {}: {} ({})",
            or_normal(t.priority.as_deref()),
            t.id,
            compact_single_line(title, 140),
            t.state
                .as_deref()
                .filter(|s| !s.is_empty())
                .unwrap_or("unknown")
        ));
    }
    lines.push(String::new());
    lines.push("## Documentation obligations".to_owned());
    if view.docs_items.is_empty() {
        lines.push("- None.".to_owned());
    }
    for item in &view.docs_items {
        let text = [
            item.summary.as_deref(),
            item.path.as_deref(),
            item.detail.as_deref(),
        ]
        .into_iter()
        .flatten()
        .find(|s| !s.is_empty())
        .unwrap_or("update required");
        lines.push(format!(
            "- {}: {}",
            item.kind
                .as_deref()
                .filter(|k| !k.is_empty())
                .unwrap_or("doc"),
            compact_single_line(text, 140)
        ));
    }
    if let Some(s) = view.integration {
        lines.push(String::new());
        lines.push("## Integration note".to_owned());
        lines.push(format!(
            "- Recommendation: {}",
            or_na(s.recommendation.as_deref())
        ));
        lines.push(format!(
            "- Detail: {}",
            compact_single_line(or_na(s.detail.as_deref()), 180)
        ));
        lines.push(format!("- Conflicts: {}", s.conflicting_claims.len()));
        lines.push(format!("- Proof gaps: {}", s.proof_gaps.len()));
        lines.push(format!("- Deploy risks: {}", s.deploy_risks.len()));
        lines.push(format!("- Documentation gaps: {}", s.doc_gaps.len()));
        lines.push(format!(
            "- Security review: {}",
            s.security_state
                .as_deref()
                .filter(|v| !v.is_empty())
                .unwrap_or("not-applicable")
        ));
        lines.push(format!(
            "- Security findings: {}",
            s.security_findings.len()
        ));
        lines.push(format!(
            "- Security approvals: {}",
            s.security_approvals.len()
        ));
        let lists: [(&str, &[String]); 7] = [
            ("- Changed interfaces", &s.changed_interfaces),
            ("- Cross-component impacts", &s.cross_component_impacts),
            ("- Proof gaps", &s.proof_gaps),
            ("- Deploy risks", &s.deploy_risks),
            ("- Security findings", &s.security_findings),
            ("- Security approvals", &s.security_approvals),
            ("- Documentation gaps", &s.doc_gaps),
        ];
        for (title, items) in lists {
            item_list(&mut lines, title, items, 3);
        }
        if !s.runtime_assignments.is_empty() {
            lines.push("- Runtime assignments:".to_owned());
            for a in &s.runtime_assignments {
                lines.push(format!(
                    "  {}: {} ({})",
                    a.agent_id,
                    or_na(a.executor_id.as_deref()),
                    or_na(a.role.as_deref())
                ));
            }
        }
    }
    lines.push(String::new());
    fit_budget(lines.join("\n"), view.max_chars, INBOX_TRUNCATION_SUFFIX)
}
