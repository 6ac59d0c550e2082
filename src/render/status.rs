//! `wave control status` views: the JSON payload with upstream's field names (spec §10.8) and a
//! short text summary for people.
//!
//! The JSON is written straight to a writer, tasks in chunks of [`TASK_CHUNK`] rendered on two
//! threads by a hand-written writer that matches serde_json's pretty layout byte for byte, so a
//! wave with tens of thousands of tasks never exists as one in-memory document. Must not: do I/O
//! beyond the writer it is given, or compute state (that is `engine::reducer`).

use std::fmt::Write as _;
use std::io::{self, Write as _};

use serde::Serialize;

use crate::engine::control::{Attempt, ProofBundle, RerunRequest};
use crate::engine::coordination::signals::{self, SignalBlock};
use crate::engine::reducer::flat::next_special;
use crate::engine::reducer::{
    Assignment, BlockingEdge, ClosureEligibility, Dependency, FeedbackRequest, LogicalAgent,
    NextTimer, Stamp, Task, WaveStatus,
};

/// The fields before `tasks`, in payload order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Head<'s, 'a> {
    lane: &'a str,
    wave: u64,
    phase: &'static str,
    agent_id: Option<&'s str>,
    execution_state: &'static str,
    closure_state: &'static str,
    controller_state: &'static str,
    blocking_edge: &'s Option<BlockingEdge>,
    logical_agents: &'s [LogicalAgent],
}

/// The fields after `tasks`, in payload order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tail<'s, 'a> {
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

/// Tasks rendered per chunk: each chunk is one write, and chunks alternate between two threads.
const TASK_CHUNK: usize = 128;

/// Writes the status as pretty JSON (2-space indent, trailing newline).
///
/// The payload is serde_json's pretty layout of `{head…, "tasks": […], tail…}`; the head and
/// tail go through serde, the task list (nearly all of a large wave's output) through
/// [`write_task`], in chunks rendered on two threads and written in order.
pub fn write_json<W: io::Write>(status: &WaveStatus<'_>, out: W) -> io::Result<()> {
    let head = Head {
        lane: status.lane,
        wave: status.wave,
        phase: status.phase,
        agent_id: status.agent_id,
        execution_state: status.execution_state,
        closure_state: status.closure_state,
        controller_state: status.controller_state,
        blocking_edge: &status.blocking_edge,
        logical_agents: &status.logical_agents,
    };
    let tail = Tail {
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
    let mut text = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut text, Pretty::default());
    head.serialize(&mut ser).map_err(io::Error::other)?;
    // `{…\n}`: leave the object open for the task list.
    let open = text.strip_suffix(b"\n}").unwrap_or(&text);
    out.write_all(open)?;
    out.write_all(b",\n  \"tasks\": ")?;
    write_tasks(status, &mut out)?;
    text.clear();
    let mut ser = serde_json::Serializer::with_formatter(&mut text, Pretty::default());
    tail.serialize(&mut ser).map_err(io::Error::other)?;
    // `{\n  …}`: continue the open object.
    out.write_all(b",")?;
    out.write_all(text.strip_prefix(b"{").unwrap_or(&text))?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes the task list (the value of `tasks`, one level deep).
fn write_tasks<W: io::Write>(status: &WaveStatus<'_>, out: &mut W) -> io::Result<()> {
    let n = status.task_count();
    if n == 0 {
        return out.write_all(b"[]");
    }
    out.write_all(b"[")?;
    let render = |chunk: usize, buf: &mut Vec<u8>| {
        buf.clear();
        let start = chunk * TASK_CHUNK;
        for i in start..n.min(start + TASK_CHUNK) {
            if let Some(task) = status.task(i) {
                if i > 0 {
                    buf.push(b',');
                }
                write_task(buf, &task);
            }
        }
    };
    let chunks = n.div_ceil(TASK_CHUNK);
    let mut mine = Vec::new();
    if chunks == 1 {
        render(0, &mut mine);
        out.write_all(&mine)?;
    } else {
        // This thread renders the even chunks and writes every chunk in order; a helper
        // renders the odd ones, one ahead. Buffers go back to the helper for reuse.
        std::thread::scope(|scope| {
            let (done, ready) = std::sync::mpsc::sync_channel::<Vec<u8>>(1);
            let (recycle, recycled) = std::sync::mpsc::channel::<Vec<u8>>();
            let render = &render;
            scope.spawn(move || {
                for chunk in (1..chunks).step_by(2) {
                    let mut buf = recycled.try_recv().unwrap_or_default();
                    render(chunk, &mut buf);
                    if done.send(buf).is_err() {
                        break;
                    }
                }
            });
            for chunk in 0..chunks {
                if chunk % 2 == 0 {
                    render(chunk, &mut mine);
                    out.write_all(&mine)?;
                } else {
                    let buf = ready.recv().map_err(io::Error::other)?;
                    out.write_all(&buf)?;
                    let _ = recycle.send(buf);
                }
            }
            Ok::<(), io::Error>(())
        })?;
    }
    out.write_all(b"\n  ]")
}

/// Field separator and indentation of a task's fields (a task sits two levels deep).
const TASK_FIELD: &[u8] = b",\n      \"";

/// Appends one task as pretty JSON at the depth of the payload's task list: exactly what
/// serde_json's pretty layout makes of [`Task`]'s `Serialize` (tested below).
fn write_task(buf: &mut Vec<u8>, t: &Task<'_>) {
    fn key(buf: &mut Vec<u8>, name: &str) {
        buf.extend_from_slice(TASK_FIELD);
        buf.extend_from_slice(name.as_bytes());
        buf.extend_from_slice(b"\": ");
    }
    fn text(buf: &mut Vec<u8>, name: &str, value: &str) {
        key(buf, name);
        write_escaped(buf, value);
    }
    fn opt(buf: &mut Vec<u8>, name: &str, value: Option<&str>) {
        key(buf, name);
        match value {
            Some(v) => write_escaped(buf, v),
            None => buf.extend_from_slice(b"null"),
        }
    }
    fn flag(buf: &mut Vec<u8>, name: &str, value: bool) {
        key(buf, name);
        buf.extend_from_slice(if value { b"true" } else { b"false" });
    }
    fn stamp(buf: &mut Vec<u8>, name: &str, value: Option<Stamp>) {
        key(buf, name);
        match value {
            Some(s) => {
                buf.push(b'"');
                s.write_text(buf);
                buf.push(b'"');
            }
            None => buf.extend_from_slice(b"null"),
        }
    }
    fn list(buf: &mut Vec<u8>, name: &str, values: &[Box<str>]) {
        key(buf, name);
        if values.is_empty() {
            buf.extend_from_slice(b"[]");
            return;
        }
        buf.push(b'[');
        for (i, v) in values.iter().enumerate() {
            let sep: &[u8] = if i == 0 {
                b"\n        "
            } else {
                b",\n        "
            };
            buf.extend_from_slice(sep);
            write_escaped(buf, v);
        }
        buf.extend_from_slice(b"\n      ]");
    }
    buf.extend_from_slice(b"\n    {\n      \"taskId\": ");
    write_escaped(buf, t.task_id);
    opt(buf, "sourceRecordId", t.source_record_id);
    text(buf, "taskType", t.task_type);
    text(buf, "state", t.state);
    text(buf, "title", t.title);
    text(buf, "detail", t.detail);
    text(buf, "priority", t.priority);
    opt(buf, "ownerAgentId", t.owner_agent_id);
    opt(buf, "assigneeAgentId", t.assignee_agent_id);
    opt(buf, "leaseOwnerAgentId", t.lease_owner_agent_id);
    flag(buf, "blocking", t.blocking);
    text(buf, "blockerSeverity", t.blocker_severity);
    flag(buf, "needsHuman", t.needs_human);
    list(buf, "dependsOn", t.depends_on);
    list(buf, "evidenceRefs", t.evidence_refs);
    opt(buf, "blockerReason", t.blocker_reason);
    opt(buf, "retryReason", t.retry_reason);
    opt(buf, "supersedes", t.supersedes);
    opt(buf, "clarificationId", t.clarification_id);
    text(buf, "createdAt", t.created_at);
    text(buf, "updatedAt", t.updated_at);
    stamp(buf, "ackDeadlineAt", t.ack_deadline_at);
    stamp(buf, "resolveDeadlineAt", t.resolve_deadline_at);
    opt(buf, "lastHeartbeatAt", t.last_heartbeat_at);
    flag(buf, "overdueAck", t.overdue_ack);
    flag(buf, "stale", t.stale);
    opt(buf, "feedbackRequestId", t.feedback_request_id);
    opt(buf, "humanResponse", t.human_response);
    opt(buf, "humanOperator", t.human_operator);
    buf.extend_from_slice(b"\n    }");
}

/// Appends `text` as a JSON string, escaped as serde_json escapes: quote, backslash and control
/// characters only, with `\u00xx` in lower-case hex for controls without a short form. Runs
/// without any of them are copied whole.
fn write_escaped(buf: &mut Vec<u8>, text: &str) {
    let b = text.as_bytes();
    buf.push(b'"');
    let mut run = 0;
    while let Some(at) = next_special(b, run) {
        buf.extend_from_slice(b.get(run..at).unwrap_or_default());
        let c = b.get(at).copied().unwrap_or_default();
        match c {
            b'"' => buf.extend_from_slice(b"\\\""),
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            0x08 => buf.extend_from_slice(b"\\b"),
            0x0c => buf.extend_from_slice(b"\\f"),
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                buf.extend_from_slice(b"\\u00");
                buf.push(HEX[usize::from(c >> 4)]);
                buf.push(HEX[usize::from(c & 0xf)]);
            }
        }
        run = at + 1;
    }
    buf.extend_from_slice(b.get(run..).unwrap_or_default());
    buf.push(b'"');
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

    /// The payload in one piece through serde: the reference [`write_json`] must match.
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Whole<'s, 'a> {
        #[serde(flatten)]
        head: Head<'s, 'a>,
        tasks: crate::engine::reducer::TasksView<'s, 'a>,
        #[serde(flatten)]
        tail: Tail<'s, 'a>,
    }

    fn reference(status: &WaveStatus<'_>) -> String {
        let whole = Whole {
            head: Head {
                lane: status.lane,
                wave: status.wave,
                phase: status.phase,
                agent_id: status.agent_id,
                execution_state: status.execution_state,
                closure_state: status.closure_state,
                controller_state: status.controller_state,
                blocking_edge: &status.blocking_edge,
                logical_agents: &status.logical_agents,
            },
            tasks: status.tasks_view(),
            tail: Tail {
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
            },
        };
        format!(
            "{}\n",
            pretty(&serde_json::to_value(&whole).expect("serializes"))
        )
    }

    fn status_text(n: usize) -> String {
        use crate::engine::control::ControlState;
        use crate::engine::reducer::{self, CoordRecord, RoleIds, Roster, WaveInputs};
        let kinds = [
            "request",
            "blocker",
            "clarification-request",
            "human-feedback",
            "evidence",
            "decision",
            "handoff",
            "claim",
        ];
        let statuses = [
            "open",
            "acknowledged",
            "in_progress",
            "resolved",
            "superseded",
        ];
        let texts = [
            "plain",
            "say \\\"hi\\\"\\n\\ttab",
            "\\u0001ctl \\u001f",
            "é✓ 🚀 \\\\ /",
            "",
        ];
        let records: Vec<CoordRecord> = (0..n)
            .map(|i| {
                let line = format!(
                    r#"{{"id":"r-{i}","kind":"{}","lane":"main","wave":0,"agentId":"A{}","status":"{}","targets":{},"artifactRefs":{},"dependsOn":{},"summary":"{}","detail":"{}","closureCondition":"{}","createdAt":"2026-01-01T00:{:02}:00.000Z","updatedAt":"2026-01-01T00:{:02}:30.000Z"}}"#,
                    kinds[i % kinds.len()],
                    i % 3,
                    statuses[i % statuses.len()],
                    ["[]", r#"["agent:A2"]"#, r#"["capability:docs","agent:A1"]"#][i % 3],
                    ["[]", r#"["src/a.rs","docs/b \"c\".md"]"#][i % 2],
                    ["[]", r#"["r-1"]"#, r#"["r-1","r-2"]"#][i % 3],
                    texts[i % texts.len()],
                    texts[(i / 2) % texts.len()],
                    ["", "clarification:r-2", "required=true"][i % 3],
                    i % 60,
                    i % 60,
                );
                CoordRecord::from_line(&line, "2026-01-01T00:00:00.000Z").expect("valid")
            })
            .collect();
        let md = "## Agent A0: a\n## Agent A1: b\n## Agent A2: c\n";
        let roster = Roster::scan_wave_markdown(md, RoleIds::default());
        let control = ControlState::default();
        let inputs = WaveInputs {
            lane: "main",
            wave: 0,
            roster: &roster,
            coordination: &records,
            dependencies: &[],
            control: &control,
            envelopes: &[],
            now_ms: 1_767_230_000_000,
        };
        let status = reducer::reduce(&inputs);
        let written = to_json_string(&status);
        assert_eq!(written, reference(&status));
        written
    }

    #[test]
    fn the_task_writer_writes_what_serde_writes() {
        for n in [0, 1, 7, TASK_CHUNK, 2 * TASK_CHUNK + 3] {
            let text = status_text(n);
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let tasks = value["tasks"].as_array().map_or(0, Vec::len);
            assert!(tasks > 0 || n == 0, "{n}: no tasks");
        }
    }

    #[test]
    fn escapes_like_serde() {
        let mut all = String::new();
        for c in (0u8..0x80).map(char::from).chain(['é', '\u{2028}', '🚀']) {
            all.push(c);
            let mut ours = Vec::new();
            write_escaped(&mut ours, &all);
            let theirs = serde_json::to_string(&all).expect("serializes");
            assert_eq!(String::from_utf8(ours).expect("UTF-8"), theirs);
        }
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
