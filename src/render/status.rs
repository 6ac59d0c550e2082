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
use crate::engine::coordination::signals::{self, SignalBlock};
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
    #[serde(skip_serializing_if = "Option::is_none")]
    signals: Option<&'s SignalBlock>,
}

/// Writes the status as pretty JSON (2-space indent, trailing newline).
pub fn write_json<W: io::Write>(status: &WaveStatus<'_>, out: W) -> io::Result<()> {
    let payload = Payload {
        lane: status.lane,
        wave: status.wave,
        phase: status.phase,
        agent_id: status.agent_id,
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
        signals: status.signals.as_ref(),
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, out);
    let mut ser = serde_json::Serializer::with_formatter(&mut out, Pretty::default());
    payload.serialize(&mut ser).map_err(io::Error::other)?;
    io::Write::write_all(&mut out, b"\n")?;
    io::Write::flush(&mut out)
}

/// A comma, a newline and spaces: every line break of the pretty output is a slice of it.
const BREAKS: &[u8; 2 + 2 * 64] = &{
    let mut b = [b' '; 2 + 2 * 64];
    b[0] = b',';
    b[1] = b'\n';
    b
};

/// serde_json's pretty layout (two-space indent, `[]`/`{}` when empty, `": "` after keys),
/// writing each line break and its indentation as one slice: the status of a large wave is
/// tens of megabytes, most of it indentation.
#[derive(Debug, Default)]
struct Pretty {
    level: usize,
    has_value: bool,
}

impl Pretty {
    fn line_break<W: ?Sized + io::Write>(&self, out: &mut W, first: bool) -> io::Result<()> {
        let from = usize::from(first);
        match BREAKS.get(from..2 + 2 * self.level) {
            Some(bytes) => out.write_all(bytes),
            None => {
                out.write_all(BREAKS.get(from..2).unwrap_or_default())?;
                for _ in 0..self.level {
                    out.write_all(b"  ")?;
                }
                Ok(())
            }
        }
    }

    fn close<W: ?Sized + io::Write>(&mut self, out: &mut W, bracket: &[u8]) -> io::Result<()> {
        self.level = self.level.saturating_sub(1);
        if self.has_value {
            self.line_break(out, true)?;
        }
        out.write_all(bracket)
    }
}

impl serde_json::ser::Formatter for Pretty {
    fn begin_array<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(b"[")
    }
    fn end_array<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"]")
    }
    fn begin_array_value<W: ?Sized + io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line_break(out, first)
    }
    fn end_array_value<W: ?Sized + io::Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
    fn begin_object<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.level += 1;
        self.has_value = false;
        out.write_all(b"{")
    }
    fn end_object<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        self.close(out, b"}")
    }
    fn begin_object_key<W: ?Sized + io::Write>(
        &mut self,
        out: &mut W,
        first: bool,
    ) -> io::Result<()> {
        self.line_break(out, first)
    }
    fn begin_object_value<W: ?Sized + io::Write>(&mut self, out: &mut W) -> io::Result<()> {
        out.write_all(b": ")
    }
    fn end_object_value<W: ?Sized + io::Write>(&mut self, _out: &mut W) -> io::Result<()> {
        self.has_value = true;
        Ok(())
    }
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
    if let Some(block) = &status.signals {
        let _ = writeln!(s, "{}", signals::status_line(&block.wave, status.agent_id));
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn pretty(value: &serde_json::Value) -> String {
        let mut out = Vec::new();
        let mut ser = serde_json::Serializer::with_formatter(&mut out, Pretty::default());
        value.serialize(&mut ser).expect("serializes");
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn the_layout_is_serde_jsons_pretty_layout() {
        let mut deep = serde_json::json!([1, {}]);
        for i in 0..70 {
            deep = serde_json::json!({ "level": i, "inner": [deep, [], "x\n\"y\""] });
        }
        for value in [
            serde_json::json!({}),
            serde_json::json!([]),
            serde_json::json!({"a": [], "b": {}, "c": [1, 2, {"d": null}], "e": "t\u{1}"}),
            deep,
        ] {
            let expected = serde_json::to_string_pretty(&value).expect("serializes");
            assert_eq!(pretty(&value), expected);
        }
    }
}
