//! The shared summary of a wave (spec §10.2), and the coordination line formats every
//! coordination projection shares (open-record lines, activity lines, item lists).
//!
//! Owns: text layout only; the data comes from `engine::coordination::shared_summary_view`.
//! Must not: do I/O or decide which records appear.
//!
//! Lengths and budgets count UTF-16 code units, as the upstream runtime measures strings, so
//! truncation points match it for every input that does not split a surrogate pair.

use crate::engine::coordination::{
    Assignment, IntegrationSummary, ResponseMetrics, SharedSummaryView, format_age,
};
use crate::event::coordination::CoordinationRecord;

/// A projection's text and whether it was cut to its budget.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rendered {
    /// The text.
    pub text: String,
    /// True when it was cut to its budget.
    pub truncated: bool,
}

/// Suffix appended to a shared summary cut to its budget.
pub const SUMMARY_TRUNCATION_SUFFIX: &str =
    "\n\n[Shared summary truncated; see generated artifact for full details]";

/// Length in UTF-16 code units.
pub(crate) fn utf16_len(text: &str) -> usize {
    text.chars().map(char::len_utf16).sum()
}

/// The longest prefix of at most `units` UTF-16 code units (a split surrogate pair is dropped).
pub(crate) fn utf16_prefix(text: &str, units: usize) -> &str {
    let mut used = 0;
    for (index, c) in text.char_indices() {
        used += c.len_utf16();
        if used > units {
            return text.get(..index).unwrap_or(text);
        }
    }
    text
}

/// Cuts `text` to `max_chars` with `suffix` when it is longer.
pub(crate) fn fit_budget(text: String, max_chars: usize, suffix: &str) -> Rendered {
    if utf16_len(&text) <= max_chars {
        return Rendered {
            text,
            truncated: false,
        };
    }
    let keep = max_chars.saturating_sub(utf16_len(suffix));
    let mut out = utf16_prefix(&text, keep).to_owned();
    out.push_str(suffix);
    Rendered {
        text: out,
        truncated: true,
    }
}

/// Collapses whitespace runs to one space, trims, and cuts to `max_chars` with `…`.
pub fn compact_single_line(value: &str, max_chars: usize) -> String {
    let mut text = String::with_capacity(value.len());
    for word in value.split(char::is_whitespace).filter(|w| !w.is_empty()) {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(word);
    }
    if utf16_len(&text) <= max_chars {
        return text;
    }
    let mut cut = utf16_prefix(&text, max_chars.saturating_sub(1)).to_owned();
    cut.push('…');
    cut
}

fn first_non_empty<'a>(options: &[&'a str], fallback: &'a str) -> &'a str {
    options
        .iter()
        .copied()
        .find(|s| !s.is_empty())
        .unwrap_or(fallback)
}

/// The open-record line used by boards, summaries and inboxes.
pub fn open_record_line(record: &CoordinationRecord, metrics: Option<&ResponseMetrics>) -> String {
    let targets = if record.targets.is_empty() {
        String::new()
    } else {
        format!(" -> {}", record.targets.join(", "))
    };
    let artifacts = if record.artifact_refs.is_empty() {
        String::new()
    } else {
        format!(" [artifacts: {}]", record.artifact_refs.join(", "))
    };
    let mut tags: Vec<String> = Vec::new();
    if let Some(m) = metrics.and_then(|m| m.record(&record.id)) {
        if m.age_label != "n/a" {
            tags.push(format!("age={}", m.age_label));
        }
        if m.overdue_ack {
            tags.push("overdue-ack".to_owned());
        }
        if m.stale_clarification {
            tags.push("stale-clarification".to_owned());
        }
    }
    if !record.blocking {
        tags.push("non-blocking".to_owned());
    }
    tags.push(format!("severity={}", record.blocker_severity));
    let summary = compact_single_line(
        first_non_empty(&[&record.summary, &record.detail], "no summary"),
        160,
    );
    format!(
        "- [{}] {}/{} {}{} [{}] id={}: {}{}",
        record.priority,
        record.kind,
        record.status,
        record.agent_id,
        targets,
        tags.join(", "),
        record.id,
        summary,
        artifacts
    )
}

/// The activity line (`- <updatedAt> | <agent> | kind/status[ -> targets] | <summary>`).
pub fn activity_line(record: &CoordinationRecord) -> String {
    let targets = if record.targets.is_empty() {
        String::new()
    } else {
        format!(" -> {}", record.targets.join(", "))
    };
    let summary = compact_single_line(
        first_non_empty(&[&record.summary, &record.detail], "no summary"),
        180,
    );
    format!(
        "- {} | {} | {}/{}{} | {}",
        record.updated_at, record.agent_id, record.kind, record.status, targets, summary
    )
}

/// A titled list of at most `max_items` items, `- None.` when empty, and a `more` line.
pub(crate) fn item_list(lines: &mut Vec<String>, title: &str, items: &[String], max_items: usize) {
    let items: Vec<String> = items
        .iter()
        .map(|i| compact_single_line(i, 180))
        .filter(|i| !i.is_empty())
        .collect();
    lines.push(title.to_owned());
    if items.is_empty() {
        lines.push("- None.".to_owned());
    }
    for item in items.iter().take(max_items) {
        lines.push(format!("- {item}"));
    }
    if items.len() > max_items {
        lines.push(format!("- ... {} more item(s)", items.len() - max_items));
    }
}

pub(crate) fn age_or_none(age: Option<i64>) -> String {
    age.map_or_else(|| "none".to_owned(), format_age)
}

pub(crate) fn or_na(value: Option<&str>) -> &str {
    value.filter(|v| !v.is_empty()).unwrap_or("n/a")
}

fn helper_assignment_line(assignment: &Assignment) -> String {
    let assignee = match &assignment.assigned_agent_id {
        Some(agent) => format!(" -> {agent}"),
        None => " -> unresolved".to_owned(),
    };
    format!(
        "- {}: {}{} ({})",
        assignment.request_id,
        assignment.target,
        assignee,
        assignment.assignment_reason.as_str()
    )
}

fn integration_counts(lines: &mut Vec<String>, summary: &IntegrationSummary) {
    lines.push(format!(
        "- Integration recommendation: {}",
        or_na(summary.recommendation.as_deref())
    ));
    lines.push(format!(
        "- Integration conflicts: {}",
        summary.conflicting_claims.len()
    ));
    lines.push(format!(
        "- Integration proof gaps: {}",
        summary.proof_gaps.len()
    ));
    lines.push(format!(
        "- Integration deploy risks: {}",
        summary.deploy_risks.len()
    ));
    lines.push(format!(
        "- Integration doc gaps: {}",
        summary.doc_gaps.len()
    ));
    lines.push(format!(
        "- Security review: {}",
        summary
            .security_state
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or("not-applicable")
    ));
    lines.push(format!(
        "- Security findings: {}",
        summary.security_findings.len()
    ));
    lines.push(format!(
        "- Security approvals: {}",
        summary.security_approvals.len()
    ));
}

/// Renders the shared summary (`compileSharedSummary`), cut to the view's budget.
pub fn render_shared_summary(view: &SharedSummaryView<'_>) -> Rendered {
    let m = &view.metrics;
    let mut lines: Vec<String> = vec![
        format!("# Wave {} Shared Summary", view.wave),
        String::new(),
        format!("- Open requests: {}", view.open_requests),
        format!("- Open blockers: {}", view.open_blockers.len()),
        format!("- Open clarifications: {}", view.open_clarifications.len()),
        format!("- Open human escalations: {}", view.open_human_escalations),
        format!("- Open coordination items: {}", view.open_records),
        format!(
            "- Open helper assignments: {}",
            view.helper_assignments.len()
        ),
        format!("- Open inbound dependencies: {}", view.inbound.len()),
        format!("- Open outbound dependencies: {}", view.outbound.len()),
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
    ];
    if let Some(summary) = view.integration {
        integration_counts(&mut lines, summary);
    }
    if let Some(phase) = &view.ledger_phase {
        lines.push(format!("- Ledger phase: {phase}"));
    }
    lines.push(String::new());
    lines.push("## Current blockers".to_owned());
    push_records(&mut lines, &view.open_blockers, m);
    lines.push(String::new());
    lines.push("## Current clarifications".to_owned());
    push_records(&mut lines, &view.open_clarifications, m);
    lines.push(String::new());
    lines.push("## Helper assignments".to_owned());
    if view.helper_assignments.is_empty() {
        lines.push("- None.".to_owned());
    }
    lines.extend(
        view.helper_assignments
            .iter()
            .map(|a| helper_assignment_line(a)),
    );
    lines.push(String::new());
    lines.push("## Cross-lane dependencies".to_owned());
    if view.inbound.is_empty() && view.outbound.is_empty() {
        lines.push("- None.".to_owned());
    }
    for item in &view.inbound {
        lines.push(format!(
            "- inbound{}: {}{}",
            if item.required { " required" } else { "" },
            compact_single_line(
                first_non_empty(&[&item.summary, &item.detail], &item.id),
                160
            ),
            item.assigned_agent_id
                .as_deref()
                .map(|a| format!(" -> {a}"))
                .unwrap_or_default()
        ));
    }
    for item in &view.outbound {
        lines.push(format!(
            "- outbound{}: {}",
            if item.required { " required" } else { "" },
            compact_single_line(
                first_non_empty(&[&item.summary, &item.detail], &item.id),
                160
            ),
        ));
    }
    lines.push(String::new());
    lines.push("## Current decisions".to_owned());
    if view.decisions.is_empty() {
        lines.push("- None.".to_owned());
    }
    lines.extend(view.decisions.iter().map(|r| activity_line(r)));
    if let Some(summary) = view.integration {
        let sections: [(&str, &[String]); 8] = [
            ("## Integration conflicts", &summary.conflicting_claims),
            ("## Changed interfaces", &summary.changed_interfaces),
            (
                "## Cross-component impacts",
                &summary.cross_component_impacts,
            ),
            ("## Proof gaps", &summary.proof_gaps),
            ("## Deploy risks", &summary.deploy_risks),
            ("## Security findings", &summary.security_findings),
            ("## Security approvals", &summary.security_approvals),
            ("## Documentation gaps", &summary.doc_gaps),
        ];
        for (title, items) in sections {
            lines.push(String::new());
            item_list(&mut lines, title, items, 4);
        }
        if !summary.runtime_assignments.is_empty() {
            lines.push(String::new());
            lines.push("## Runtime assignments".to_owned());
            for a in &summary.runtime_assignments {
                lines.push(format!(
                    "- {}: {} ({}){}{}",
                    a.agent_id,
                    or_na(a.executor_id.as_deref()),
                    or_na(a.role.as_deref()),
                    a.profile
                        .as_deref()
                        .filter(|p| !p.is_empty())
                        .map(|p| format!(" profile={p}"))
                        .unwrap_or_default(),
                    if a.fallback_used {
                        " fallback-used"
                    } else {
                        ""
                    }
                ));
            }
        }
    }
    lines.push(String::new());
    fit_budget(lines.join("\n"), view.max_chars, SUMMARY_TRUNCATION_SUFFIX)
}

pub(crate) fn push_records(
    lines: &mut Vec<String>,
    records: &[&CoordinationRecord],
    metrics: &ResponseMetrics,
) {
    if records.is_empty() {
        lines.push("- None.".to_owned());
    }
    lines.extend(records.iter().map(|r| open_record_line(r, Some(metrics))));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_and_cuts_like_upstream() {
        assert_eq!(compact_single_line("  a \n\t b  ", 10), "a b");
        assert_eq!(compact_single_line("abcdef", 4), "abc…");
        assert_eq!(compact_single_line("", 4), "");
    }

    #[test]
    fn budget_counts_utf16_units() {
        let text = "é".repeat(10);
        let r = fit_budget(text.clone(), 10, "!");
        assert!(!r.truncated);
        let r = fit_budget(format!("{text}x"), 10, "!");
        assert_eq!(r.text, format!("{}!", "é".repeat(9)));
        assert!(r.truncated);
        assert_eq!(utf16_prefix("a😀b", 2), "a");
    }
}
