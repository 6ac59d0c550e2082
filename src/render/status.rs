//! `wave control status` views: the JSON payload with upstream's field names (spec §10.8) and a
//! short text summary for people.
//!
//! The JSON is written straight to a writer in pieces of bounded size (the head, each logical
//! agent's task ids in runs of [`ID_CHUNK`], tasks in runs of [`TASK_CHUNK`], helper
//! assignments in runs of [`ASSIGNMENT_CHUNK`], the tail), rendered on this thread and one
//! helper thread and written in order, so a wave with tens of thousands of tasks never exists
//! as one in-memory document. The tasks, assignments and task ids go through hand-written
//! writers that match serde_json's pretty layout byte for byte (tested against serde below);
//! the rest through serde with that layout. Must not: do I/O beyond the writer it is given, or
//! compute state (that is `engine::reducer`).

use std::fmt::Write as _;
use std::io;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;

use crate::engine::control::{Attempt, ProofBundle, RerunRequest};
use crate::engine::coordination::signals::{self, SignalBlock};
use crate::engine::reducer::{
    Assignment, BlockingEdge, ClosureEligibility, Dependency, FeedbackRequest, NextTimer, Stamp,
    Task, WaveStatus,
};

/// The fields before `logicalAgents`, in payload order.
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
}

/// A logical agent's fields before `taskIds`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentFront<'s> {
    agent_id: &'s str,
    state: &'static str,
    reason: &'s Option<String>,
    execution_state: &'static str,
    closure_state: &'static str,
}

/// A logical agent's fields after `taskIds`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct AgentBack<'s> {
    selected_for_rerun: bool,
    selected_for_active_attempt: bool,
    active_proof_bundle_ids: &'s [String],
}

/// The fields after `helperAssignments`, in payload order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Tail<'s, 'a> {
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

impl<'s, 'a> Tail<'s, 'a> {
    /// The tail of `status`.
    fn of(status: &'s WaveStatus<'a>) -> Self {
        Tail {
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
        }
    }
}

/// Tasks per piece (about 70 KB of output).
const TASK_CHUNK: usize = 64;

/// Helper assignments per piece (about 60 KB).
const ASSIGNMENT_CHUNK: usize = 48;

/// Task ids of one logical agent per piece (about 50 KB).
const ID_CHUNK: usize = 2048;

/// Pieces rendered ahead of the one being written, at most (besides one in the hand-over
/// channel and one being rendered on each thread): with pieces of tens of kilobytes, the
/// buffers in flight stay well under a megabyte.
const AHEAD: usize = 2;

/// How the payload is cut into pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Chunks {
    tasks: usize,
    assignments: usize,
    ids: usize,
}

const CHUNKS: Chunks = Chunks {
    tasks: TASK_CHUNK,
    assignments: ASSIGNMENT_CHUNK,
    ids: ID_CHUNK,
};

/// One piece of the payload, rendered on its own; the pieces in order are the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Piece {
    /// `{` and the fields before `logicalAgents`.
    Head,
    /// `,\n  "<key>": ` and `[` (or `[]` when the list is empty).
    Open { key: &'static str, empty: bool },
    /// The end of a non-empty top-level list.
    Close,
    /// Logical agent `agent` up to its task ids, with the opening of their list.
    AgentFront { agent: usize },
    /// Task ids `from..to` of logical agent `agent`.
    AgentIds {
        agent: usize,
        from: usize,
        to: usize,
    },
    /// The rest of logical agent `agent`.
    AgentBack { agent: usize },
    /// Tasks `from..to`.
    Tasks { from: usize, to: usize },
    /// Helper assignments `from..to`.
    Assignments { from: usize, to: usize },
    /// The fields after `helperAssignments`, the closing `}` and the final newline.
    Tail,
}

/// The pieces of `status`'s payload, in order.
fn pieces(status: &WaveStatus<'_>, chunks: Chunks) -> Vec<Piece> {
    fn runs(n: usize, size: usize, mut piece: impl FnMut(usize, usize) -> Piece) -> Vec<Piece> {
        let size = size.max(1);
        (0..n.div_ceil(size))
            .map(|c| piece(c * size, n.min((c + 1) * size)))
            .collect()
    }
    let agents = &status.logical_agents;
    let tasks = status.task_count();
    let assignments = status.helper_assignments.len();
    let mut out = vec![
        Piece::Head,
        Piece::Open {
            key: "logicalAgents",
            empty: agents.is_empty(),
        },
    ];
    for (agent, a) in agents.iter().enumerate() {
        out.push(Piece::AgentFront { agent });
        out.extend(runs(a.task_ids.len(), chunks.ids, |from, to| {
            Piece::AgentIds { agent, from, to }
        }));
        out.push(Piece::AgentBack { agent });
    }
    if !agents.is_empty() {
        out.push(Piece::Close);
    }
    out.push(Piece::Open {
        key: "tasks",
        empty: tasks == 0,
    });
    out.extend(runs(tasks, chunks.tasks, |from, to| Piece::Tasks {
        from,
        to,
    }));
    if tasks > 0 {
        out.push(Piece::Close);
    }
    out.push(Piece::Open {
        key: "helperAssignments",
        empty: assignments == 0,
    });
    out.extend(runs(assignments, chunks.assignments, |from, to| {
        Piece::Assignments { from, to }
    }));
    if assignments > 0 {
        out.push(Piece::Close);
    }
    out.push(Piece::Tail);
    out
}

/// Serializes `value` with serde_json's pretty layout as if it sat `level` containers deep.
fn pretty_at<T: Serialize + ?Sized>(buf: &mut Vec<u8>, value: &T, level: usize) {
    let mut ser = serde_json::Serializer::with_formatter(
        &mut *buf,
        Pretty {
            level,
            has_value: false,
        },
    );
    // Writing into a Vec cannot fail, and these types always serialize.
    let _ = value.serialize(&mut ser);
}

/// Appends piece `piece` of `status`'s payload to `buf`.
fn render(status: &WaveStatus<'_>, piece: Piece, buf: &mut Vec<u8>) {
    match piece {
        Piece::Head => {
            let head = Head {
                lane: status.lane,
                wave: status.wave,
                phase: status.phase,
                agent_id: status.agent_id,
                execution_state: status.execution_state,
                closure_state: status.closure_state,
                controller_state: status.controller_state,
                blocking_edge: &status.blocking_edge,
            };
            pretty_at(buf, &head, 0);
            // `{…\n}`: leave the object open.
            if buf.ends_with(b"\n}") {
                buf.truncate(buf.len() - 2);
            }
        }
        Piece::Open { key, empty } => {
            buf.extend_from_slice(b",\n  \"");
            buf.extend_from_slice(key.as_bytes());
            buf.extend_from_slice(if empty { b"\": []" } else { b"\": [" });
        }
        Piece::Close => buf.extend_from_slice(b"\n  ]"),
        Piece::AgentFront { agent } => {
            let Some(a) = status.logical_agents.get(agent) else {
                return;
            };
            buf.extend_from_slice(if agent == 0 { b"\n    " } else { b",\n    " });
            let front = AgentFront {
                agent_id: &a.agent_id,
                state: a.state,
                reason: &a.reason,
                execution_state: a.execution_state,
                closure_state: a.closure_state,
            };
            pretty_at(buf, &front, 2);
            // `{…\n    }`: leave the agent open for its task ids.
            if buf.ends_with(b"\n    }") {
                buf.truncate(buf.len() - 6);
            }
            buf.extend_from_slice(if a.task_ids.is_empty() {
                b",\n      \"taskIds\": []"
            } else {
                b",\n      \"taskIds\": ["
            });
        }
        Piece::AgentIds { agent, from, to } => {
            let ids = status
                .logical_agents
                .get(agent)
                .and_then(|a| a.task_ids.get(from..to))
                .unwrap_or_default();
            for (i, id) in ids.iter().enumerate() {
                buf.extend_from_slice(if from + i == 0 {
                    b"\n        "
                } else {
                    b",\n        "
                });
                write_escaped(buf, id);
            }
        }
        Piece::AgentBack { agent } => {
            let Some(a) = status.logical_agents.get(agent) else {
                return;
            };
            if !a.task_ids.is_empty() {
                buf.extend_from_slice(b"\n      ]");
            }
            let back = AgentBack {
                selected_for_rerun: a.selected_for_rerun,
                selected_for_active_attempt: a.selected_for_active_attempt,
                active_proof_bundle_ids: &a.active_proof_bundle_ids,
            };
            // `{\n      …\n    }`: continue the open agent.
            let start = buf.len();
            pretty_at(buf, &back, 2);
            if let Some(first) = buf.get_mut(start).filter(|c| **c == b'{') {
                *first = b',';
            }
        }
        Piece::Tasks { from, to } => {
            for i in from..to {
                if let Some(task) = status.task(i) {
                    if i > 0 {
                        buf.push(b',');
                    }
                    write_task(buf, &task);
                }
            }
        }
        Piece::Assignments { from, to } => {
            let assignments = status.helper_assignments.get(from..to).unwrap_or_default();
            for (i, a) in assignments.iter().enumerate() {
                if from + i > 0 {
                    buf.push(b',');
                }
                write_assignment(buf, a);
            }
        }
        Piece::Tail => {
            let tail = Tail::of(status);
            // `{\n  …}`: continue the open object.
            let start = buf.len();
            pretty_at(buf, &tail, 0);
            if let Some(first) = buf.get_mut(start).filter(|c| **c == b'{') {
                *first = b',';
            }
            buf.push(b'\n');
        }
    }
}

/// Writes the status as pretty JSON (2-space indent, trailing newline): serde_json's pretty
/// layout of the payload, in pieces rendered on two threads and written in order.
pub fn write_json<W: io::Write>(status: &WaveStatus<'_>, mut out: W) -> io::Result<()> {
    write_json_with(status, &mut out, CHUNKS, true)?;
    out.flush()
}

/// [`write_json`] with the given piece sizes, on two threads or on this one only.
fn write_json_with<W: io::Write + ?Sized>(
    status: &WaveStatus<'_>,
    out: &mut W,
    chunks: Chunks,
    parallel: bool,
) -> io::Result<()> {
    let pieces = pieces(status, chunks);
    let render = |i: usize, buf: &mut Vec<u8>| {
        if let Some(&piece) = pieces.get(i) {
            render(status, piece, buf);
        }
    };
    if parallel {
        write_ordered(pieces.len(), &render, out)
    } else {
        let mut buf = Vec::new();
        for i in 0..pieces.len() {
            buf.clear();
            render(i, &mut buf);
            out.write_all(&buf)?;
        }
        Ok(())
    }
}

/// Renders pieces `0..count` with `render` and writes them to `out` in order. This thread and
/// one helper each take the next piece nobody has taken; this thread also writes, and renders
/// only while fewer than [`AHEAD`] pieces wait to be written, so the buffers in flight are
/// bounded. Every buffer is allocated here before the helper starts and reused: the helper
/// allocates nothing, so no memory of the command lives in another thread's allocator arena.
fn write_ordered<W: io::Write + ?Sized>(
    count: usize,
    render: &(dyn Fn(usize, &mut Vec<u8>) + Sync),
    out: &mut W,
) -> io::Result<()> {
    /// Buffers in flight at most: those waiting to be written, one in the channel, one being
    /// rendered on each thread, and one more the writer may drain from the channel.
    const BUFFERS: usize = AHEAD + 4;
    /// Initial capacity of a buffer: a piece is about this size; a larger one grows its
    /// buffer in place, in this thread's arena.
    const CAPACITY: usize = 96 * 1024;
    let pool: Mutex<Vec<Vec<u8>>> = Mutex::new(
        (0..BUFFERS.min(count))
            .map(|_| Vec::with_capacity(CAPACITY))
            .collect(),
    );
    let take = || {
        pool.lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop()
            .unwrap_or_default()
    };
    let give = |mut buf: Vec<u8>| {
        buf.clear();
        pool.lock().unwrap_or_else(|e| e.into_inner()).push(buf);
    };
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        let (done, rendered) = mpsc::sync_channel::<(usize, Vec<u8>)>(1);
        let (next, take) = (&next, &take);
        scope.spawn(move || {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let mut buf = take();
                render(i, &mut buf);
                if done.send((i, buf)).is_err() {
                    break;
                }
            }
        });
        // Pieces rendered but not yet written, by either thread.
        let mut ready: Vec<(usize, Vec<u8>)> = Vec::with_capacity(BUFFERS);
        let mut written = 0;
        while written < count {
            if let Some(at) = ready.iter().position(|(i, _)| *i == written) {
                let (_, buf) = ready.swap_remove(at);
                out.write_all(&buf)?;
                give(buf);
                written += 1;
                continue;
            }
            if let Ok(piece) = rendered.try_recv() {
                ready.push(piece);
                continue;
            }
            if ready.len() < AHEAD {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i < count {
                    let mut buf = take();
                    render(i, &mut buf);
                    ready.push((i, buf));
                    continue;
                }
            }
            // The next piece is the helper's: it took it before any piece still to come.
            match rendered.recv() {
                Ok(piece) => ready.push(piece),
                Err(_) => return Err(io::Error::other("the rendering thread stopped")),
            }
        }
        Ok(())
    })
}

/// `,\n      "<name>": `: the separator, indentation and key of a field of an object that is
/// an element of a top-level list (a task, a helper assignment).
macro_rules! field {
    ($name:literal) => {
        concat!(",\n      \"", $name, "\": ").as_bytes()
    };
}

fn text(buf: &mut Vec<u8>, key: &[u8], value: &str) {
    buf.extend_from_slice(key);
    write_escaped(buf, value);
}

fn opt(buf: &mut Vec<u8>, key: &[u8], value: Option<&str>) {
    buf.extend_from_slice(key);
    match value {
        Some(v) => write_escaped(buf, v),
        None => buf.extend_from_slice(b"null"),
    }
}

fn flag(buf: &mut Vec<u8>, key: &[u8], value: bool) {
    buf.extend_from_slice(key);
    buf.extend_from_slice(if value { b"true" } else { b"false" });
}

fn stamp(buf: &mut Vec<u8>, key: &[u8], value: Option<Stamp>) {
    buf.extend_from_slice(key);
    match value {
        Some(s) => {
            buf.push(b'"');
            s.write_text(buf);
            buf.push(b'"');
        }
        None => buf.extend_from_slice(b"null"),
    }
}

fn list<S: AsRef<str>>(buf: &mut Vec<u8>, key: &[u8], values: &[S]) {
    buf.extend_from_slice(key);
    if values.is_empty() {
        buf.extend_from_slice(b"[]");
        return;
    }
    buf.push(b'[');
    for (i, v) in values.iter().enumerate() {
        buf.extend_from_slice(if i == 0 {
            b"\n        "
        } else {
            b",\n        "
        });
        write_escaped(buf, v.as_ref());
    }
    buf.extend_from_slice(b"\n      ]");
}

/// Appends one task as pretty JSON at the depth of the payload's task list: exactly what
/// serde_json's pretty layout makes of [`Task`]'s `Serialize` (tested below).
fn write_task(buf: &mut Vec<u8>, t: &Task<'_>) {
    buf.extend_from_slice(b"\n    {\n      \"taskId\": ");
    write_escaped(buf, t.task_id);
    opt(buf, field!("sourceRecordId"), t.source_record_id);
    text(buf, field!("taskType"), t.task_type);
    text(buf, field!("state"), t.state);
    text(buf, field!("title"), t.title);
    text(buf, field!("detail"), t.detail);
    text(buf, field!("priority"), t.priority);
    opt(buf, field!("ownerAgentId"), t.owner_agent_id);
    opt(buf, field!("assigneeAgentId"), t.assignee_agent_id);
    opt(buf, field!("leaseOwnerAgentId"), t.lease_owner_agent_id);
    flag(buf, field!("blocking"), t.blocking);
    text(buf, field!("blockerSeverity"), t.blocker_severity);
    flag(buf, field!("needsHuman"), t.needs_human);
    list(buf, field!("dependsOn"), t.depends_on);
    list(buf, field!("evidenceRefs"), t.evidence_refs);
    opt(buf, field!("blockerReason"), t.blocker_reason);
    opt(buf, field!("retryReason"), t.retry_reason);
    opt(buf, field!("supersedes"), t.supersedes);
    opt(buf, field!("clarificationId"), t.clarification_id);
    text(buf, field!("createdAt"), t.created_at);
    text(buf, field!("updatedAt"), t.updated_at);
    stamp(buf, field!("ackDeadlineAt"), t.ack_deadline_at);
    stamp(buf, field!("resolveDeadlineAt"), t.resolve_deadline_at);
    opt(buf, field!("lastHeartbeatAt"), t.last_heartbeat_at);
    flag(buf, field!("overdueAck"), t.overdue_ack);
    flag(buf, field!("stale"), t.stale);
    opt(buf, field!("feedbackRequestId"), t.feedback_request_id);
    opt(buf, field!("humanResponse"), t.human_response);
    opt(buf, field!("humanOperator"), t.human_operator);
    buf.extend_from_slice(b"\n    }");
}

/// Appends one helper assignment as pretty JSON at the depth of the payload's assignment
/// list: exactly what serde_json's pretty layout makes of [`Assignment`]'s `Serialize`
/// (tested below).
fn write_assignment(buf: &mut Vec<u8>, a: &Assignment) {
    buf.extend_from_slice(b"\n    {\n      \"id\": ");
    write_escaped(buf, &a.id);
    text(buf, field!("requestId"), &a.request_id);
    text(buf, field!("recordId"), &a.record_id);
    text(buf, field!("sourceKind"), a.source_kind.as_str());
    text(buf, field!("sourceAgentId"), &a.source_agent_id);
    text(buf, field!("summary"), &a.summary);
    text(buf, field!("detail"), &a.detail);
    text(buf, field!("priority"), a.priority.as_str());
    text(buf, field!("requestStatus"), a.request_status.as_str());
    text(buf, field!("state"), a.state.as_str());
    text(buf, field!("target"), &a.target);
    text(buf, field!("targetType"), a.target_type.as_str());
    opt(buf, field!("capability"), a.capability.as_deref());
    opt(
        buf,
        field!("assignedAgentId"),
        a.assigned_agent_id.as_deref(),
    );
    text(
        buf,
        field!("assignmentReason"),
        a.assignment_reason.as_str(),
    );
    text(buf, field!("assignmentDetail"), &a.assignment_detail);
    flag(buf, field!("blocking"), a.blocking);
    text(buf, field!("blockerSeverity"), a.blocker_severity.as_str());
    list(buf, field!("artifactRefs"), &a.artifact_refs);
    list(buf, field!("dependsOn"), &a.depends_on);
    text(buf, field!("closureCondition"), &a.closure_condition);
    text(buf, field!("createdAt"), &a.created_at);
    text(buf, field!("updatedAt"), &a.updated_at);
    opt(
        buf,
        field!("resolvedByRecordId"),
        a.resolved_by_record_id.as_deref(),
    );
    buf.extend_from_slice(b"\n    }");
}

/// Whether serde_json escapes `c`: a quote, a backslash or a control character.
fn needs_escape(c: u8) -> bool {
    c < 0x20 || c == b'"' || c == b'\\'
}

/// The bytes of `word` (eight bytes, little-endian) that must be escaped, as the high bit of
/// each such byte; the lowest set bit is exact (higher ones may be false alarms).
fn escapes_in(word: u64) -> u64 {
    const fn splat(b: u8) -> u64 {
        u64::from_ne_bytes([b; 8])
    }
    let zero = |w: u64| w.wrapping_sub(splat(1)) & !w;
    (zero(word ^ splat(b'"'))
        | zero(word ^ splat(b'\\'))
        | (word.wrapping_sub(splat(0x20)) & !word))
        & splat(0x80)
}

/// Appends `text` as a JSON string, escaped as serde_json escapes: quote, backslash and control
/// characters only, with `\u00xx` in lower-case hex for controls without a short form.
///
/// Text is checked and copied in one pass: 32 bytes at a time (a loop the compiler turns into
/// vector instructions), then eight at a time, then the last few bytes padded with spaces; the
/// first byte to escape sends the rest through the byte-by-byte path.
fn write_escaped(buf: &mut Vec<u8>, text: &str) {
    let b = text.as_bytes();
    buf.reserve(b.len() + 2);
    buf.push(b'"');
    let mut at = 0;
    while let Some(block) = b
        .get(at..at + 32)
        .and_then(|s| <&[u8; 32]>::try_from(s).ok())
    {
        if block.iter().fold(false, |any, &c| any | needs_escape(c)) {
            break;
        }
        buf.extend_from_slice(block);
        at += 32;
    }
    while let Some(word) = b.get(at..at + 8).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
        if escapes_in(u64::from_le_bytes(word)) != 0 {
            break;
        }
        buf.extend_from_slice(&word);
        at += 8;
    }
    if let Some(rest) = b.get(at..).filter(|r| r.len() < 8) {
        let mut word = [b' '; 8];
        if let Some(head) = word.get_mut(..rest.len()) {
            head.copy_from_slice(rest);
        }
        if escapes_in(u64::from_le_bytes(word)) == 0 {
            buf.extend_from_slice(rest);
            buf.push(b'"');
            return;
        }
    }
    escape_from(buf, b, at);
    buf.push(b'"');
}

/// Appends `b[from..]` escaped, byte by byte between runs that need no escape.
fn escape_from(buf: &mut Vec<u8>, b: &[u8], from: usize) {
    let mut run = from;
    while let Some(at) = b
        .get(run..)
        .and_then(|rest| rest.iter().position(|&c| needs_escape(c)))
        .map(|p| run + p)
    {
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
    use crate::engine::control::ControlState;
    use crate::engine::reducer::{self, CoordRecord, LogicalAgent, RoleIds, Roster, WaveInputs};

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
        logical_agents: &'s [LogicalAgent<'a>],
        tasks: crate::engine::reducer::TasksView<'s, 'a>,
        helper_assignments: &'s [Assignment],
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
            },
            logical_agents: &status.logical_agents,
            tasks: status.tasks_view(),
            helper_assignments: &status.helper_assignments,
            tail: Tail::of(status),
        };
        format!(
            "{}\n",
            pretty(&serde_json::to_value(&whole).expect("serializes"))
        )
    }

    /// `n` records of every taskable kind, status and target shape, with text that needs
    /// escaping, `resolved-by-policy` records and human feedback.
    fn records(n: usize) -> Vec<CoordRecord> {
        let kinds = [
            "request",
            "blocker",
            "clarification-request",
            "human-feedback",
            "evidence",
            "decision",
            "handoff",
            "claim",
            "request",
            "resolved-by-policy",
            "human-escalation",
        ];
        let statuses = [
            "open",
            "acknowledged",
            "in_progress",
            "resolved",
            "superseded",
            "cancelled",
            "closed",
        ];
        let texts = [
            "plain",
            "say \\\"hi\\\"\\n\\ttab",
            "\\u0001ctl \\u001f",
            "é✓ 🚀 \\\\ /",
            "",
            "a long text of more than thirty-two bytes, with a \\\"quote\\\" late in it",
        ];
        (0..n)
            .map(|i| {
                let line = format!(
                    r#"{{"id":"r-{i}","kind":"{}","lane":"main","wave":0,"agentId":"A{}","source":"{}","status":"{}","priority":"{}","targets":{},"artifactRefs":{},"dependsOn":{},"summary":"{}","detail":"{}","closureCondition":"{}","blockerSeverity":"{}","createdAt":"2026-01-01T00:{:02}:00.000Z","updatedAt":"2026-01-01T00:{:02}:30.000Z"}}"#,
                    kinds[i % kinds.len()],
                    i % 4,
                    ["agent", "agent", "launcher", "agent", "operator"][i % 5],
                    statuses[i % statuses.len()],
                    ["normal", "high", "low", "urgent"][i % 4],
                    [
                        "[]",
                        r#"["agent:A2"]"#,
                        r#"["capability:docs","agent:A1"]"#,
                        r#"["A0"," Bad Target! "]"#
                    ][i % 4],
                    ["[]", r#"["src/a.rs","docs/b \"c\".md"]"#][i % 2],
                    ["[]", r#"["r-1"]"#, r#"["r-1","r-2"]"#][i % 3],
                    texts[i % texts.len()],
                    texts[(i / 2) % texts.len()],
                    ["", "clarification:r-2", "required=true"][i % 3],
                    ["closure-critical", "advisory", "stale", "hard"][i % 4],
                    i % 60,
                    i % 60,
                );
                CoordRecord::from_line(&line, "2026-01-01T00:00:00.000Z").expect("valid")
            })
            .collect()
    }

    /// Checks every way of writing the status of `n` records (whole wave and one agent's
    /// view, with its signals) against serde's, and returns the whole wave's text.
    fn status_text(n: usize) -> String {
        let records = records(n);
        // A9 owns no task.
        let md = "## Agent A0: a\n## Agent A1: b\n## Agent A2: c\n## Agent A9: d\n";
        let roster = Roster::scan_wave_markdown(md, RoleIds::default());
        let control = ControlState::default();
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
        let mut whole = String::new();
        for agent in [None, Some("A1"), Some("A9")] {
            let mut status = reducer::reduce_for(&inputs, agent);
            if n % 2 == 1 {
                status.sync_signals(".tmp/main-wave-launcher", |_| None);
            }
            let expected = reference(&status);
            let written = to_json_string(&status);
            assert_eq!(written, expected, "{n} records, agent {agent:?}");
            for (chunks, parallel) in [
                (
                    Chunks {
                        tasks: 1,
                        assignments: 1,
                        ids: 1,
                    },
                    true,
                ),
                (
                    Chunks {
                        tasks: 2,
                        assignments: 3,
                        ids: 5,
                    },
                    true,
                ),
                (CHUNKS, false),
                (
                    Chunks {
                        tasks: 3,
                        assignments: 2,
                        ids: 2,
                    },
                    false,
                ),
            ] {
                let mut out = Vec::new();
                write_json_with(&status, &mut out, chunks, parallel).expect("writes");
                assert_eq!(
                    String::from_utf8(out).expect("UTF-8"),
                    expected,
                    "{n} records, agent {agent:?}, {chunks:?}, parallel {parallel}"
                );
            }
            if agent.is_none() {
                whole = written;
            }
        }
        whole
    }

    #[test]
    fn the_writers_write_what_serde_writes() {
        for n in [0, 1, 2, 7, 12, 33, TASK_CHUNK + 1, 2 * TASK_CHUNK + 3] {
            let text = status_text(n);
            let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let tasks = value["tasks"].as_array().map_or(0, Vec::len);
            assert!(tasks > 0 || n == 0, "{n}: no tasks");
            let assignments = value["helperAssignments"].as_array().map_or(0, Vec::len);
            assert!(assignments > 0 || n < 40, "{n}: no helper assignments");
        }
    }

    #[test]
    fn pieces_in_order_cover_the_payload_once() {
        let records = records(40);
        let md = "## Agent A0: a\n## Agent A1: b\n## Agent A9: d\n";
        let roster = Roster::scan_wave_markdown(md, RoleIds::default());
        let control = ControlState::default();
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
        let status = reducer::reduce(&inputs);
        let chunks = Chunks {
            tasks: 8,
            assignments: 4,
            ids: 3,
        };
        let pieces = pieces(&status, chunks);
        let tasks: Vec<(usize, usize)> = pieces
            .iter()
            .filter_map(|p| match p {
                Piece::Tasks { from, to } => Some((*from, *to)),
                _ => None,
            })
            .collect();
        let expected: Vec<(usize, usize)> = (0..status.task_count())
            .step_by(8)
            .map(|from| (from, (from + 8).min(status.task_count())))
            .collect();
        assert_eq!(tasks, expected);
        assert_eq!(pieces.first(), Some(&Piece::Head));
        assert_eq!(pieces.last(), Some(&Piece::Tail));
        // A9's empty id list has no id pieces.
        let a9 = status
            .logical_agents
            .iter()
            .position(|a| a.agent_id == "A9")
            .expect("A9");
        assert!(
            !pieces
                .iter()
                .any(|p| matches!(p, Piece::AgentIds { agent, .. } if *agent == a9))
        );
    }

    /// A writer that fails after `left` bytes.
    struct Failing {
        left: usize,
    }

    impl io::Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.left == 0 {
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"));
            }
            let n = buf.len().min(self.left);
            self.left -= n;
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failing_writer_stops_both_threads_with_its_error() {
        let records = records(300);
        let roster = Roster::scan_wave_markdown("## Agent A1: b\n", RoleIds::default());
        let control = ControlState::default();
        let inputs =
            WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
        let status = reducer::reduce(&inputs);
        for left in [0, 10, 5000] {
            let chunks = Chunks {
                tasks: 2,
                assignments: 2,
                ids: 2,
            };
            let err = write_json_with(&status, &mut Failing { left }, chunks, true)
                .expect_err("the writer fails");
            assert_eq!(err.kind(), io::ErrorKind::BrokenPipe);
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
        // Every special byte at every place of texts longer and shorter than a block.
        for len in [1, 7, 8, 31, 32, 33, 64, 70, 100] {
            for at in 0..len {
                for special in ['"', '\\', '\n', '\u{1}', '\u{1f}'] {
                    let text: String = (0..len)
                        .map(|i| if i == at { special } else { 'x' })
                        .collect();
                    let mut ours = Vec::new();
                    write_escaped(&mut ours, &text);
                    let theirs = serde_json::to_string(&text).expect("serializes");
                    assert_eq!(String::from_utf8(ours).expect("UTF-8"), theirs);
                }
            }
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
