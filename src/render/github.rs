//! Pure text of the GitHub surfaces: the check run (name, conclusion, title, summary,
//! annotations), the sticky PR comment, one comment per human request, and the Actions step
//! summary — all from a [`WaveReport`].
//!
//! Owns: layout, the hidden markers that make writes idempotent, and the size caps GitHub
//! documents (65,535 characters for check-run summary and text, 50 annotations per request,
//! 1 MiB for a step summary). Must not: do I/O or decide anything — the state shown is the
//! report's.

use std::fmt::Write as _;

use crate::github::report::{HumanRequest, ReportState, WaveReport};

/// GitHub's cap on a check run's `output.summary` and `output.text`, in characters. Text is
/// cut to this many *bytes*, which is never more characters.
pub const CHECK_TEXT_MAX: usize = 65_535;
/// GitHub's cap on annotations per check-run request.
pub const ANNOTATIONS_PER_REQUEST: usize = 50;
/// GitHub's cap on `$GITHUB_STEP_SUMMARY` per step.
pub const STEP_SUMMARY_MAX: usize = 1024 * 1024;
/// Annotation titles are capped at 255 characters.
const ANNOTATION_TITLE_MAX: usize = 255;
/// Annotation messages are capped at 64 KB.
const ANNOTATION_MESSAGE_MAX: usize = 64 * 1000;

/// The check run's name: `wave / <lane> / <n>`.
pub fn check_run_name(lane: &str, wave: u32) -> String {
    format!("wave / {lane} / {wave}")
}

/// The prefix of every `external_id` this runner writes for a wave.
pub fn external_id_prefix(lane: &str, wave: u32) -> String {
    format!("wave:{lane}:{wave}:")
}

/// The check run's `external_id`: the wave plus the verdict stamp.
pub fn external_id(report: &WaveReport) -> String {
    format!(
        "{}{}:{}:{}",
        external_id_prefix(&report.lane, report.wave),
        report.stamp.commit,
        report.stamp.plan_hash,
        report.stamp.runner_version
    )
}

/// The hidden marker that finds a wave's sticky comment.
pub fn sticky_marker(lane: &str, wave: u32) -> String {
    format!("<!-- wave:{lane}:{wave} -->")
}

/// The hidden marker that finds the comment of one human request.
pub fn request_marker(lane: &str, wave: u32, request_id: &str) -> String {
    format!("<!-- wave:{lane}:{wave}:request:{} -->", inline(request_id))
}

/// A check run's `status` and `conclusion`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CheckOutcome {
    /// `in_progress` or `completed`.
    pub status: &'static str,
    /// The conclusion when completed.
    pub conclusion: Option<&'static str>,
}

/// One check-run annotation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Annotation {
    /// Repository-relative path.
    pub path: String,
    /// First line (1-based).
    pub start_line: u32,
    /// Last line.
    pub end_line: u32,
    /// `notice`, `warning` or `failure`.
    pub annotation_level: &'static str,
    /// What is wrong.
    pub message: String,
    /// Short title.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub title: String,
}

/// Everything a check run shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRunView {
    /// `wave / <lane> / <n>`.
    pub name: String,
    /// Status and conclusion.
    pub outcome: CheckOutcome,
    /// `external_id` (the verdict stamp).
    pub external_id: String,
    /// Output title.
    pub title: String,
    /// Output summary (markdown, ≤ [`CHECK_TEXT_MAX`]).
    pub summary: String,
    /// Output text (markdown, ≤ [`CHECK_TEXT_MAX`]): the full agent table.
    pub text: String,
    /// Annotations for file-bound problems, all of them (send in batches of
    /// [`ANNOTATIONS_PER_REQUEST`]).
    pub annotations: Vec<Annotation>,
}

/// The outcome a report state maps to. Never `success` unless closure passed.
pub fn outcome(state: ReportState) -> CheckOutcome {
    let done = |c| CheckOutcome {
        status: "completed",
        conclusion: Some(c),
    };
    match state {
        ReportState::Passed => done("success"),
        ReportState::AwaitingHuman => done("action_required"),
        ReportState::Failed | ReportState::InfraError => done("failure"),
        ReportState::Running => CheckOutcome {
            status: "in_progress",
            conclusion: None,
        },
    }
}

/// The one-line title of a report.
pub fn title(report: &WaveReport) -> String {
    let text = match report.state {
        ReportState::Passed => "closed: every gate passes".to_owned(),
        ReportState::AwaitingHuman => {
            let n = report.requests.len();
            let gate = match report.first_failing_gate() {
                Some(g) if g.status_code.is_empty() => format!(" ({})", g.name),
                Some(g) => format!(" ({}: {})", g.name, g.status_code),
                None => String::new(),
            };
            format!(
                "waiting on a human: {n} open request{}{gate}",
                if n == 1 { "" } else { "s" }
            )
        }
        ReportState::Failed => match report.first_failing_gate() {
            Some(gate) if gate.status_code.is_empty() => format!("failing gate: {}", gate.name),
            Some(gate) => format!("failing gate: {} ({})", gate.name, gate.status_code),
            None => match (report.blockers.first(), &report.note) {
                (Some(b), _) => format!("blocked: {}", b.kind),
                (None, Some(note)) => format!("failed: {note}"),
                (None, None) => "failed".to_owned(),
            },
        },
        ReportState::Running => match &report.note {
            Some(note) => format!("running: {note}"),
            None => "running".to_owned(),
        },
        ReportState::InfraError => format!(
            "infra: {}",
            report
                .infra_error
                .as_deref()
                .unwrap_or("the runner failed before a verdict")
        ),
    };
    cut(&inline(&text), 200).to_owned()
}

/// Renders the check run of a report.
pub fn check_run(report: &WaveReport) -> CheckRunView {
    let pointer = full_report_pointer(report);
    CheckRunView {
        name: check_run_name(&report.lane, report.wave),
        outcome: outcome(report.state),
        external_id: external_id(report),
        title: title(report),
        summary: truncate_markdown(&summary_markdown(report), CHECK_TEXT_MAX, &pointer),
        text: truncate_markdown(&agents_markdown(report), CHECK_TEXT_MAX, &pointer),
        annotations: report
            .problems
            .iter()
            .map(|p| {
                let line = p.line.unwrap_or(1).max(1);
                Annotation {
                    path: p.path.clone(),
                    start_line: line,
                    end_line: line,
                    annotation_level: "failure",
                    message: cut(&p.message, ANNOTATION_MESSAGE_MAX).to_owned(),
                    title: cut(&p.title, ANNOTATION_TITLE_MAX).to_owned(),
                }
            })
            .collect(),
    }
}

/// The check-run summary: state, gate table, blockers, requests, stamp.
pub fn summary_markdown(report: &WaveReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}: {}\n",
        check_run_name(&report.lane, report.wave),
        title(report)
    );
    stale_line(&mut out, report);
    gate_table(&mut out, report);
    blockers_section(&mut out, report);
    requests_section(&mut out, report);
    if !report.retry_targets.is_empty() {
        let _ = writeln!(
            out,
            "**Retry targets:** {}\n",
            report
                .retry_targets
                .iter()
                .map(|t| format!("`{}`", inline(t)))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    agents_table(&mut out, report, 20);
    stamp_line(&mut out, report);
    out
}

/// The check-run text: every agent with its attempts.
pub fn agents_markdown(report: &WaveReport) -> String {
    let mut out = String::new();
    agents_table(&mut out, report, usize::MAX);
    out
}

/// The sticky PR comment: marker first, then the wave's standing.
pub fn sticky_comment(report: &WaveReport) -> String {
    let mut out = sticky_marker(&report.lane, report.wave);
    let outcome = outcome(report.state);
    let icon = match outcome.conclusion {
        Some("success") => "✅",
        Some("action_required") => "✋",
        Some(_) => "❌",
        None => "⏳",
    };
    let _ = writeln!(
        out,
        "\n### {icon} {}: {}\n",
        check_run_name(&report.lane, report.wave),
        title(report)
    );
    stale_line(&mut out, report);
    gate_table(&mut out, report);
    blockers_section(&mut out, report);
    requests_section(&mut out, report);
    stamp_line(&mut out, report);
    truncate_markdown(&out, CHECK_TEXT_MAX, &full_report_pointer(report))
}

/// The comment asking for one human request, with how to answer it.
pub fn request_comment(
    report: &WaveReport,
    request: &HumanRequest,
    answerers: &[String],
) -> String {
    let mut out = request_marker(&report.lane, report.wave, &request.id);
    let asker = request
        .agent_id
        .as_deref()
        .map(|a| format!(" from agent `{}`", inline(a)))
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "\n### ✋ Wave {}/{} needs an answer\n\n{} `{}`{asker}:\n",
        inline(&report.lane),
        report.wave,
        inline(&request.kind),
        inline(&request.id)
    );
    for line in neutralize(&request.question).lines() {
        let _ = writeln!(out, "> {line}");
    }
    if !request.context.trim().is_empty() && request.context.trim() != request.question.trim() {
        let _ = writeln!(out, "\n{}", neutralize(&request.context));
    }
    let _ = writeln!(
        out,
        "\nTo answer, reply with a comment that starts with:\n\n```\n/wave answer {} <your answer>\n```\n",
        inline(&request.id)
    );
    let _ = writeln!(
        out,
        "Answers are accepted from {}; any other comment changes nothing.",
        if answerers.is_empty() {
            "nobody (no author association is allowed)".to_owned()
        } else {
            answerers.join(", ")
        }
    );
    truncate_markdown(&out, CHECK_TEXT_MAX, &full_report_pointer(report))
}

/// The text a request comment is edited to once the request is no longer open.
pub fn request_closed_comment(lane: &str, wave: u32, request_id: &str) -> String {
    format!(
        "{}\n### ✅ Wave {}/{wave}: `{}` is no longer waiting\n\nThe request was answered or resolved; \
         the wave's check run `{}` shows where it stands.\n",
        request_marker(lane, wave, request_id),
        inline(lane),
        inline(request_id),
        check_run_name(lane, wave)
    )
}

/// The request id in a request comment's first line, if it is one of this wave's.
pub fn parse_request_marker<'t>(lane: &str, wave: u32, line: &'t str) -> Option<&'t str> {
    line.trim_end()
        .strip_prefix(&format!("<!-- wave:{lane}:{wave}:request:"))?
        .strip_suffix(" -->")
}

/// The Actions step summary: title and gate table, capped at 1 MiB.
pub fn step_summary(report: &WaveReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## {}: {}\n",
        check_run_name(&report.lane, report.wave),
        title(report)
    );
    stale_line(&mut out, report);
    gate_table(&mut out, report);
    blockers_section(&mut out, report);
    stamp_line(&mut out, report);
    truncate_markdown(&out, STEP_SUMMARY_MAX, &full_report_pointer(report))
}

/// Cuts markdown to at most `max` bytes (on a char boundary), ending with a note that points
/// at the full report when anything was cut.
pub fn truncate_markdown(text: &str, max: usize, pointer: &str) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let note = format!("\n\n… truncated; the full report: {pointer}\n");
    let keep = max.saturating_sub(note.len());
    let mut out = cut(text, keep).to_owned();
    out.push_str(cut(&note, max));
    out
}

fn full_report_pointer(report: &WaveReport) -> String {
    match &report.details_url {
        Some(url) => url.clone(),
        None => format!(
            "`wave control status --lane {} --wave {} --json`",
            inline(&report.lane),
            report.wave
        ),
    }
}

/// Says when the verdict no longer describes the pull request's head.
fn stale_line(out: &mut String, report: &WaveReport) {
    if let Some(after) = &report.stale_by {
        let _ = writeln!(
            out,
            "> ⚠️ Stale: this verdict is for commit `{}`; the pull request has moved to `{}`.\n",
            inline(&report.stamp.commit),
            inline(after)
        );
    }
}

fn gate_table(out: &mut String, report: &WaveReport) {
    if report.gates.is_empty() {
        let _ = writeln!(out, "_No gate results yet._\n");
        return;
    }
    let _ = writeln!(out, "| gate | result | status | agent | detail |");
    let _ = writeln!(out, "|---|---|---|---|---|");
    for gate in &report.gates {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            cell(&gate.name),
            match (gate.ok, gate.advisory) {
                (true, _) => "✅ pass",
                (false, true) => "⚠️ advisory",
                (false, false) => "❌ fail",
            },
            cell(&gate.status_code),
            cell(gate.agent_id.as_deref().unwrap_or("")),
            cell(&gate.detail)
        );
    }
    out.push('\n');
}

fn blockers_section(out: &mut String, report: &WaveReport) {
    if report.blockers.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Open blockers\n");
    for b in &report.blockers {
        let _ = writeln!(
            out,
            "- `{}` ({}) — owner: {} — {}",
            inline(&b.id),
            inline(&b.kind),
            inline(b.owner.as_deref().unwrap_or("unassigned")),
            inline(&b.detail)
        );
    }
    out.push('\n');
}

fn requests_section(out: &mut String, report: &WaveReport) {
    if report.requests.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Open questions\n");
    for r in &report.requests {
        let _ = writeln!(
            out,
            "- `{}` ({}): {} — answer with `/wave answer {} <text>`",
            inline(&r.id),
            inline(&r.kind),
            inline(&r.question),
            inline(&r.id)
        );
    }
    out.push('\n');
}

fn agents_table(out: &mut String, report: &WaveReport, limit: usize) {
    if report.agents.is_empty() {
        return;
    }
    let _ = writeln!(out, "### Agents\n");
    let _ = writeln!(out, "| agent | state | attempts | detail |");
    let _ = writeln!(out, "|---|---|---|---|");
    for a in report.agents.iter().take(limit) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            cell(&a.id),
            cell(&a.state),
            a.attempts,
            cell(&a.detail)
        );
    }
    if report.agents.len() > limit {
        let _ = writeln!(
            out,
            "\n… and {} more (see the details below)",
            report.agents.len() - limit
        );
    }
    out.push('\n');
}

fn stamp_line(out: &mut String, report: &WaveReport) {
    let _ = writeln!(
        out,
        "<sub>verdict for commit `{}` · plan `{}` · wave-runner {}</sub>",
        inline(&report.stamp.commit),
        inline(&report.stamp.plan_hash),
        inline(&report.stamp.runner_version)
    );
}

/// Makes untrusted text safe to show inline: one line, no HTML (so no hidden markers can be
/// forged), no backticks breaking code spans.
fn inline(text: &str) -> String {
    neutralize(text)
        .replace(['\n', '\r'], " ")
        .replace('`', "'")
}

/// A table cell: inline text with pipes escaped.
fn cell(text: &str) -> String {
    inline(text).replace('|', "\\|")
}

/// Escapes HTML so report text can never open a comment or a tag.
fn neutralize(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The longest prefix of `text` of at most `max` bytes ending on a char boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while end > 0 && !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::github::report::{AgentRow, Blocker, FileProblem, GateRow, Stamp};

    fn report(state: ReportState) -> WaveReport {
        WaveReport {
            lane: "main".into(),
            wave: 3,
            state,
            infra_error: None,
            gates: vec![
                GateRow {
                    name: "implementationGate".into(),
                    ok: true,
                    status_code: "pass".into(),
                    agent_id: None,
                    detail: String::new(),
                    advisory: false,
                },
                GateRow {
                    name: "contQaGate".into(),
                    ok: state == ReportState::Passed,
                    status_code: "missing-verdict".into(),
                    agent_id: Some("A0".into()),
                    detail: "no | verdict".into(),
                    advisory: false,
                },
            ],
            blockers: vec![Blocker {
                id: "b1".into(),
                kind: "blocker".into(),
                owner: Some("A2".into()),
                detail: "tests red".into(),
            }],
            requests: vec![HumanRequest {
                id: "req-1".into(),
                kind: "clarification".into(),
                agent_id: Some("A1".into()),
                question: "Spans <!-- wave:main:3 --> or lines?".into(),
                context: String::new(),
            }],
            agents: vec![AgentRow {
                id: "A1".into(),
                state: "blocked".into(),
                attempts: 2,
                detail: String::new(),
            }],
            problems: vec![FileProblem {
                path: "src/lib.rs".into(),
                line: None,
                title: "missing deliverable".into(),
                message: "declared deliverable is missing".into(),
            }],
            retry_targets: vec!["A2".into()],
            stamp: Stamp {
                commit: "c0ffee".into(),
                plan_hash: "ph".into(),
                runner_version: "0.1.0".into(),
            },
            details_url: None,
            note: None,
            stale_by: None,
        }
    }

    #[test]
    fn conclusions_are_truthful() {
        assert_eq!(outcome(ReportState::Passed).conclusion, Some("success"));
        assert_eq!(
            outcome(ReportState::AwaitingHuman).conclusion,
            Some("action_required")
        );
        assert_eq!(outcome(ReportState::Failed).conclusion, Some("failure"));
        assert_eq!(outcome(ReportState::InfraError).conclusion, Some("failure"));
        assert_eq!(outcome(ReportState::Running).status, "in_progress");
        assert_eq!(outcome(ReportState::Running).conclusion, None);
    }

    #[test]
    fn failing_title_names_the_gate_and_infra_errors_say_infra() {
        assert_eq!(
            title(&report(ReportState::Failed)),
            "failing gate: contQaGate (missing-verdict)"
        );
        let mut r = report(ReportState::InfraError);
        r.infra_error = Some("executor crashed".into());
        assert_eq!(title(&r), "infra: executor crashed");
        assert_eq!(
            title(&report(ReportState::AwaitingHuman)),
            "waiting on a human: 1 open request (contQaGate: missing-verdict)"
        );
        let mut r = report(ReportState::Running);
        assert_eq!(title(&r), "running");
        r.note = Some("attempt 2 running".into());
        assert_eq!(title(&r), "running: attempt 2 running");
        let mut r = report(ReportState::Failed);
        r.gates.clear();
        r.blockers.clear();
        r.note = Some("timeout-no-status".into());
        assert_eq!(title(&r), "failed: timeout-no-status");
    }

    #[test]
    fn stale_verdicts_and_advisory_gates_are_shown() {
        let mut r = report(ReportState::Passed);
        r.stale_by = Some("beef".into());
        r.gates[1].ok = false;
        r.gates[1].advisory = true;
        assert_eq!(title(&r), "closed: every gate passes");
        let view = check_run(&r);
        assert!(
            view.summary
                .contains("the pull request has moved to `beef`"),
            "{}",
            view.summary
        );
        assert!(view.summary.contains("| contQaGate | ⚠️ advisory |"));
        assert!(sticky_comment(&r).contains("Stale"));
    }

    #[test]
    fn summary_has_gate_table_blockers_and_stamp() {
        let view = check_run(&report(ReportState::Failed));
        assert_eq!(view.name, "wave / main / 3");
        assert!(
            view.summary
                .contains("| contQaGate | ❌ fail | missing-verdict | A0 | no \\| verdict |")
        );
        assert!(
            view.summary
                .contains("`b1` (blocker) — owner: A2 — tests red")
        );
        assert!(
            view.summary
                .contains("commit `c0ffee` · plan `ph` · wave-runner 0.1.0")
        );
        assert_eq!(view.external_id, "wave:main:3:c0ffee:ph:0.1.0");
        assert_eq!(view.annotations.len(), 1);
        assert_eq!(view.annotations[0].start_line, 1);
    }

    #[test]
    fn report_text_cannot_forge_a_marker() {
        let r = report(ReportState::AwaitingHuman);
        let body = request_comment(&r, &r.requests[0], &["OWNER".into()]);
        assert!(body.starts_with("<!-- wave:main:3:request:req-1 -->"));
        assert_eq!(body.matches("<!--").count(), 1);
        assert!(body.contains("/wave answer req-1 <your answer>"));
        let sticky = sticky_comment(&r);
        assert!(sticky.starts_with(&sticky_marker("main", 3)));
        assert_eq!(sticky.matches("<!--").count(), 1);
    }

    #[test]
    fn closed_request_comments_keep_their_marker() {
        let body = request_closed_comment("main", 3, "req-1");
        let first = body.lines().next().unwrap_or_default();
        assert_eq!(parse_request_marker("main", 3, first), Some("req-1"));
        assert_eq!(parse_request_marker("main", 4, first), None);
        assert_eq!(
            parse_request_marker("main", 3, &sticky_marker("main", 3)),
            None
        );
    }

    #[test]
    fn truncation_stays_under_the_cap_and_points_at_the_full_report() {
        let mut r = report(ReportState::Failed);
        r.agents = (0..5000)
            .map(|i| AgentRow {
                id: format!("A{i}"),
                state: "failed".into(),
                attempts: 1,
                detail: "é".repeat(40),
            })
            .collect();
        let view = check_run(&r);
        assert!(view.text.len() <= CHECK_TEXT_MAX);
        assert!(
            view.text
                .ends_with("`wave control status --lane main --wave 3 --json`\n")
        );
        assert!(view.summary.len() <= CHECK_TEXT_MAX);
        let short = truncate_markdown("abc", 10, "x");
        assert_eq!(short, "abc");
    }
}
