//! `wave control status` views: the JSON payload with upstream's field names (spec §10.8) and a
//! short text summary for people.
//!
//! The JSON is written straight to a writer, tasks one at a time, so a wave with tens of
//! thousands of tasks never exists as one in-memory document. Must not: do I/O beyond the writer
//! it is given, or compute state (that is `engine::reducer`).

use std::fmt::Write as _;
use std::io;

use serde::Serialize;

use crate::engine::control::{Attempt, ProofBundle, RerunRequest};
use crate::engine::reducer::{
    Assignment, BlockingEdge, ClosureEligibility, Dependency, FeedbackRequest, LogicalAgent,
    NextTimer, TasksView, WaveStatus,
};

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Payload<'s, 'a> {
    lane: &'a str,
    wave: u64,
    phase: &'static str,
    agent_id: Option<&'s str>,
    execution_state: &'static str,
    closure_state: &'static str,
    controller_state: &'static str,
    blocking_edge: &'s Option<BlockingEdge>,
    logical_agents: &'s [LogicalAgent],
    tasks: TasksView<'s, 'a>,
    helper_assignments: &'s [Assignment],
    dependencies: &'s [Dependency<'a>],
    proof_bundles: &'s [&'a ProofBundle],
    feedback_requests: &'s [FeedbackRequest],
    selection_source: &'static str,
    rerun_request: Option<&'a RerunRequest>,
    relaunch_plan: Option<()>,
    forwarded_closure_gaps: [(); 0],
    supervisor: Option<()>,
    next_timer: &'s Option<NextTimer>,
    active_attempt: Option<&'a Attempt>,
    closure_eligibility: &'s ClosureEligibility,
}

/// Writes the status as pretty JSON (2-space indent, trailing newline).
pub fn write_json<W: io::Write>(status: &WaveStatus<'_>, out: W) -> io::Result<()> {
    let payload = Payload {
        lane: status.lane,
        wave: status.wave,
        phase: status.phase,
        agent_id: None,
        execution_state: status.execution_state,
        closure_state: status.closure_state,
        controller_state: status.controller_state,
        blocking_edge: &status.blocking_edge,
        logical_agents: &status.logical_agents,
        tasks: status.tasks_view(),
        helper_assignments: &status.helper_assignments,
        dependencies: &status.dependencies,
        proof_bundles: &status.proof_bundles,
        feedback_requests: &status.feedback_requests,
        selection_source: status.selection_source,
        rerun_request: status.rerun_request,
        relaunch_plan: None,
        forwarded_closure_gaps: [],
        supervisor: None,
        next_timer: &status.next_timer,
        active_attempt: status.active_attempt,
        closure_eligibility: &status.closure_eligibility,
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut out, &payload).map_err(io::Error::other)?;
    io::Write::write_all(&mut out, b"\n")?;
    io::Write::flush(&mut out)
}

/// Renders the status as JSON text.
pub fn to_json_string(status: &WaveStatus<'_>) -> String {
    let mut buf = Vec::new();
    // Writing into a Vec cannot fail for I/O reasons; serialization of these types cannot fail.
    let _ = write_json(status, &mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

/// Renders a short text summary for people.
pub fn to_text(status: &WaveStatus<'_>) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "lane={} wave={} phase={} execution={} closure={} controller={}",
        status.lane,
        status.wave,
        status.phase,
        status.execution_state,
        status.closure_state,
        status.controller_state
    );
    match &status.blocking_edge {
        Some(e) => {
            let _ = writeln!(
                s,
                "blocking: {} {}{}: {}",
                e.kind,
                e.id,
                e.agent_id
                    .as_deref()
                    .map(|a| format!(" ({a})"))
                    .unwrap_or_default(),
                e.detail
            );
        }
        None => s.push_str("blocking: none\n"),
    }
    let c = &status.closure_eligibility;
    let _ = writeln!(
        s,
        "may close: {}{}",
        if c.wave_may_close { "yes" } else { "no" },
        if c.pending_agent_ids.is_empty() {
            String::new()
        } else {
            format!(" (pending: {})", c.pending_agent_ids.join(", "))
        }
    );
    if let Some(t) = &status.next_timer {
        let _ = writeln!(s, "next timer: {} {} at {}", t.kind, t.task_id, t.at);
    }
    s.push_str("agents:\n");
    for a in &status.logical_agents {
        let _ = writeln!(
            s,
            "  {:<6} {:<22} {:<12} {}",
            a.agent_id,
            a.state,
            a.closure_state,
            a.reason.as_deref().unwrap_or("")
        );
    }
    let open = status
        .tasks()
        .filter(|t| matches!(t.state, "open" | "working" | "input-required"))
        .count();
    let _ = writeln!(s, "tasks: {} ({} open)", status.task_count(), open);
    s
}
