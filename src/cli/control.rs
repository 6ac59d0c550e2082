//! `wave control`: the wave's control-plane status.
//!
//! `status` reads the wave's canonical streams through the store (`--store`, default
//! `dir:.wave/state`) with the repository's upstream state (`.tmp/<lane>-wave-launcher/`,
//! `.tmp/wave-orchestrator/dependencies/`) layered under it as one read-only writer, folds them
//! line by line and prints the reduced state. A malformed line is reported on stderr with its
//! file and line number and skipped. The read helpers here are shared by the other operator
//! commands.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::CliError;
use super::coord::{WaveSel, append, default_id, normalize};
use super::output;
use crate::engine::control::ControlLog;
use crate::engine::reducer::record::{Interner, TextList};
use crate::engine::reducer::{
    self, CoordFold, CoordRecord, Position, RoleIds, Roster, WaveInputs, Winners,
};
use crate::event::control::{ControlEvent, EventDefaults};
use crate::event::coordination::{Kind, Status};
use crate::event::envelope::ResultEnvelope;
use crate::event::time;
use crate::exit::Code;
use crate::render;
use crate::settings::Settings;
use crate::store::{
    self, EventStore, LegacyUpstream, LineNumbers, LinePlace, ParallelByteVisitor, Problem,
    RawBytes, RawLine, StoreError, StreamId,
};

/// Arguments of `wave control`.
#[derive(Debug, Args)]
pub struct ControlArgs {
    #[command(subcommand)]
    command: ControlCommand,
}

#[derive(Debug, Subcommand)]
enum ControlCommand {
    /// Show the reduced state of a wave: agents, tasks, blockers, closure eligibility.
    Status(StatusArgs),
    /// Control tasks: create, get, list, act.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Rerun requests for the next launch: request, get, clear.
    #[command(subcommand)]
    Rerun(super::control_run::RerunCommand),
    /// Proof bundles: register.
    #[command(subcommand)]
    Proof(super::control_run::ProofCommand),
}

#[derive(Debug, Subcommand)]
enum TaskCommand {
    /// Create a task (a coordination record; `human-input` also opens a feedback request).
    Create(TaskCreateArgs),
    /// Show one task as JSON.
    Get(TaskGetArgs),
    /// List tasks.
    List(TaskListArgs),
    /// Act on a task: ack, resolve, reassign, escalate, dismiss.
    Act(TaskActArgs),
}

#[derive(Debug, Args)]
struct TaskCreateArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Owner agent id.
    #[arg(long)]
    agent: String,
    /// request, blocker, clarification, handoff, evidence, claim, decision or human-input.
    #[arg(long)]
    kind: String,
    /// Title.
    #[arg(long)]
    summary: String,
    /// Detail.
    #[arg(long, default_value = "")]
    detail: String,
    /// Targets, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Priority.
    #[arg(long)]
    priority: Option<String>,
    /// Task id (default generated).
    #[arg(long)]
    id: Option<String>,
}

#[derive(Debug, Args)]
struct TaskGetArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Task id.
    #[arg(long)]
    id: String,
}

#[derive(Debug, Args)]
struct TaskListArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Only tasks owned by or assigned to these agents (comma-separated or repeated).
    #[arg(long, value_delimiter = ',')]
    agent: Vec<String>,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum TaskAction {
    /// Acknowledge (status acknowledged).
    Ack,
    /// Resolve (status resolved; a clarification also resolves its linked requests).
    Resolve,
    /// Retarget to `--to` (status open).
    Reassign,
    /// Append a human escalation linked to the task.
    Escalate,
    /// Dismiss (status cancelled).
    Dismiss,
}

#[derive(Debug, Args)]
struct TaskActArgs {
    /// The action.
    action: TaskAction,
    #[command(flatten)]
    sel: WaveSel,
    /// Task id.
    #[arg(long)]
    id: String,
    /// New assignee for `reassign`.
    #[arg(long)]
    to: Option<String>,
    /// Who acts (default `human-operator`).
    #[arg(long, default_value = "human-operator")]
    operator: String,
    /// Note recorded with the action.
    #[arg(long)]
    detail: Option<String>,
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Lane (default: the config's `defaultLane`, else `main`).
    #[arg(long)]
    lane: Option<String>,
    /// Wave number.
    #[arg(long, default_value_t = 0)]
    wave: u64,
    /// Show the wave as this agent sees it: its tasks, helper assignments, dependencies,
    /// proof bundles and logical state.
    #[arg(long)]
    agent: Option<String>,
    /// Print upstream's JSON payload instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Runs `wave control`.
pub fn run(settings: &Settings, args: ControlArgs) -> Result<Code, CliError> {
    match args.command {
        ControlCommand::Status(a) => status(settings, a),
        ControlCommand::Task(TaskCommand::Create(a)) => task_create(settings, a),
        ControlCommand::Task(TaskCommand::Get(a)) => task_get(settings, a),
        ControlCommand::Task(TaskCommand::List(a)) => task_list(settings, a),
        ControlCommand::Task(TaskCommand::Act(a)) => task_act(settings, a),
        ControlCommand::Rerun(c) => super::control_run::rerun(settings, c),
        ControlCommand::Proof(c) => super::control_run::proof(settings, c),
    }
}

/// The parts of `wave.config.json` the status needs.
pub(crate) struct Layout {
    pub lane: String,
    pub state_root_base: PathBuf,
    pub orchestrator_dir: PathBuf,
    pub waves_dir: PathBuf,
    pub roles: RoleIds,
    pub preferred_agents: Vec<(String, Vec<String>)>,
}

impl Layout {
    pub(crate) fn read(root: &Path, lane: Option<String>) -> Result<Self, CliError> {
        let path = root.join("wave.config.json");
        let config: Value = match fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                CliError::config(format!("{}: not valid JSON: {e}", path.display()))
                    .hint("fix the file or delete it to use the defaults")
            })?,
            Err(e) if e.kind() == io::ErrorKind::NotFound => Value::Null,
            Err(e) => return Err(e.into()),
        };
        let text = |ptr: &str| {
            config
                .pointer(ptr)
                .and_then(Value::as_str)
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
        };
        let lane = lane
            .or_else(|| text("/defaultLane"))
            .unwrap_or_else(|| "main".into());
        let docs = text("/paths/docsDir").unwrap_or_else(|| "docs".into());
        let defaults = RoleIds::default();
        let roles = RoleIds {
            cont_qa: text("/roles/contQaAgentId").unwrap_or(defaults.cont_qa),
            cont_eval: text("/roles/contEvalAgentId").unwrap_or(defaults.cont_eval),
            integration: text("/roles/integrationAgentId").unwrap_or(defaults.integration),
            documentation: text("/roles/documentationAgentId").unwrap_or(defaults.documentation),
        };
        let preferred_agents = config
            .pointer("/capabilityRouting/preferredAgents")
            .and_then(Value::as_object)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| {
                        let ids = v
                            .as_array()
                            .map(|a| {
                                a.iter()
                                    .filter_map(|x| x.as_str().map(str::to_owned))
                                    .collect()
                            })
                            .unwrap_or_default();
                        (k.trim().to_ascii_lowercase(), ids)
                    })
                    .collect()
            })
            .unwrap_or_default();
        let state_root_base = root.join(text("/paths/stateRoot").unwrap_or_else(|| ".tmp".into()));
        Ok(Layout {
            state_root_base,
            orchestrator_dir: root.join(
                text("/paths/orchestratorStateDir")
                    .unwrap_or_else(|| ".tmp/wave-orchestrator".into()),
            ),
            waves_dir: root.join(docs).join("plans/waves"),
            lane,
            roles,
            preferred_agents,
        })
    }

    pub(crate) fn roster(&self, wave: u64) -> Result<Roster, CliError> {
        let path = self.waves_dir.join(format!("wave-{wave}.md"));
        let text = fs::read_to_string(&path).map_err(|e| {
            CliError::user(format!(
                "cannot read wave {wave} plan {}: {e}",
                path.display()
            ))
            .hint("pass --wave with a wave that has a plan in docs/plans/waves")
        })?;
        let mut roster = Roster::scan_wave_markdown(&text, self.roles.clone());
        roster.preferred_agents = self.preferred_agents.clone();
        Ok(roster)
    }
}

/// Opens the store named by the settings (`--store`, `WAVE_STORE`, default `dir:.wave/state`),
/// with the repository's upstream state under `.tmp/` layered beneath it as a read-only writer.
pub(crate) fn open_store(
    settings: &Settings,
    layout: &Layout,
) -> Result<Box<dyn EventStore>, CliError> {
    // One upstream view only, at the lane's configured directories: wrapping the default view
    // again would deliver every upstream line twice.
    let legacy = LegacyUpstream::new(
        layout.state_root_base.clone(),
        layout.orchestrator_dir.clone(),
    );
    store::open_store_with_legacy(settings, legacy).map_err(store_error)
}

/// A store failure as a CLI error.
pub(crate) fn store_error(err: StoreError) -> CliError {
    super::error::store_error(err)
}

fn report(problems: &[Problem]) {
    for p in problems {
        output::eprint_line(&format!("warning: {p}; line skipped"));
    }
}

/// Threads reading a large log: in pass one each folds the parts of the file it takes, in
/// pass two each parses the shares of the winning lines it takes (one on the calling thread).
const READ_THREADS: usize = 2;

/// Winning records parsed on a reading thread before they are handed over together.
const FILL_BATCH: usize = 256;

/// Shares of pass two per reading thread: enough that a thread slowed down by the machine
/// leaves its share to the others.
const SHARES_PER_THREAD: usize = 4;

/// What one reading thread of pass one folds.
struct ScanPart {
    fold: CoordFold,
    /// File name per writer rank, for messages.
    files: Vec<(u32, String)>,
    /// Ranks of the writers whose positions are line numbers (legacy upstream logs).
    numbered: Vec<u32>,
}

/// Folds a coordination-format stream (coordination log or dependency tickets) into its latest
/// records, in two passes over the store: a scan of every line's keys, then a read of the
/// winning lines only, each pass on [`READ_THREADS`] threads. Bad lines are reported with their
/// file and line and skipped. When a winning line turns out not to be a valid record, the
/// stream is folded once more with every line of its id parsed in full, so the id keeps its
/// latest valid record ([`CoordFold::with_suspects`]).
pub(crate) fn read_records(
    store: &dyn EventStore,
    stream: &StreamId,
    now: &str,
) -> Result<Vec<CoordRecord>, CliError> {
    let writers = store.writers(stream).map_err(store_error)?;
    let mut read = fold_stream(store, stream, &writers, Vec::new())?;
    let suspects = read.winners.failed_ids();
    if !suspects.is_empty() {
        read = fold_stream(store, stream, &writers, suspects)?;
    }
    report(&read.problems);
    let (records, rejected) = read.winners.finish(now);
    for r in rejected {
        // Sequence numbers are line numbers: gap-free from 1 in every writer's file.
        let place = read.files.get(&r.position.writer).map_or_else(
            || format!("{stream}"),
            |f| format!("{f}:{}", r.position.seq),
        );
        output::eprint_line(&format!("warning: {place}: {}; line skipped", r.error));
    }
    Ok(records)
}

/// One fold of a stream: its winners, the file of each writer rank and the store's problems.
struct StreamFold {
    winners: Winners,
    files: HashMap<u32, String>,
    problems: Vec<Problem>,
}

/// Both passes of [`read_records`] over `stream`, with `suspects` parsed in full in pass one.
fn fold_stream(
    store: &dyn EventStore,
    stream: &StreamId,
    writers: &[String],
    suspects: Vec<Box<str>>,
) -> Result<StreamFold, CliError> {
    let rank = |w: &str| {
        writers
            .binary_search_by(|x| x.as_str().cmp(w))
            .map_or(u32::MAX, |i| u32::try_from(i).unwrap_or(u32::MAX))
    };
    // Pass one: every line's keys, one fold per part of the file, merged (the fold is a
    // per-id maximum, so how lines were shared out does not matter).
    let mut parts: Vec<ScanPart> = (0..READ_THREADS)
        .map(|_| ScanPart {
            fold: CoordFold::with_suspects(suspects.iter().cloned()),
            files: Vec::new(),
            numbered: Vec::new(),
        })
        .collect();
    // Lines of a part after a file's first are numbered provisionally until the scan ends.
    let mut numbers = LineNumbers::default();
    let mut problems = {
        let mut visitors: Vec<Box<ParallelByteVisitor<'_>>> = parts
            .iter_mut()
            .map(|part| {
                let visitor: Box<ParallelByteVisitor<'_>> = Box::new(move |line: &RawBytes<'_>| {
                    let writer = rank(line.writer);
                    let position = if line.legacy {
                        if !part.numbered.contains(&writer) {
                            part.numbered.push(writer);
                        }
                        legacy_position(line.line, writer)
                    } else {
                        position_of(&line.to_line()?, writer)?
                    };
                    part.fold.push_bytes(line.bytes, position, line.offset);
                    if part.files.last().is_none_or(|(w, _)| *w != writer)
                        && !part.files.iter().any(|(w, _)| *w == writer)
                    {
                        part.files.push((writer, line.file.to_owned()));
                    }
                    Ok(())
                });
                visitor
            })
            .collect();
        let mut refs: Vec<&mut ParallelByteVisitor<'_>> =
            visitors.iter_mut().map(|v| &mut **v).collect();
        store
            .scan_parallel(stream, &mut refs, &mut numbers)
            .map_err(store_error)?
    };
    let mut fold = CoordFold::with_suspects(suspects);
    let mut files: HashMap<u32, String> = HashMap::new();
    let mut numbered: Vec<u32> = Vec::new();
    for part in parts {
        fold.merge(part.fold);
        for (writer, file) in part.files {
            files.entry(writer).or_insert(file);
        }
        numbered.extend(part.numbered);
    }
    // The fold compares line numbers only within a writer, where provisional ones keep the
    // file's order; the winners' places need the real ones.
    fold.renumber(|writer, seq| {
        if numbered.contains(&writer) {
            numbers.real(seq)
        } else {
            seq
        }
    });
    let buffer = record_buffer(fold.len());
    let mut winners = fold.winners_in(buffer);
    if winners.needs_lines() {
        let places: Vec<LinePlace<'_>> = winners
            .lines_needed()
            .iter()
            .filter_map(|p| {
                Some(LinePlace {
                    writer: writers.get(usize::try_from(p.writer).ok()?)?.as_str(),
                    offset: p.offset,
                    line: p.seq,
                })
            })
            .collect();
        // Pass two: the winning lines, in consecutive shares, each parsed on whichever thread
        // takes it next (so a thread the machine slows down takes fewer) and stored in
        // batches; problems are put back in share order, which is file order.
        let (lookup, sink) = winners.split();
        let sink = Mutex::new(sink);
        let share = places
            .len()
            .div_ceil(READ_THREADS * SHARES_PER_THREAD)
            .max(1);
        let shares: Vec<&[LinePlace<'_>]> = places.chunks(share).collect();
        let next = AtomicUsize::new(0);
        let parse_shares = || -> Result<Vec<(usize, Vec<Problem>)>, StoreError> {
            let mut interner = Interner::default();
            let mut batch = Vec::with_capacity(FILL_BATCH);
            let fill = |batch: &mut Vec<_>| {
                let mut sink = sink.lock().unwrap_or_else(|e| e.into_inner());
                for parsed in batch.drain(..) {
                    sink.fill(parsed);
                }
            };
            let mut found = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(mine) = shares.get(i) else {
                    break;
                };
                let problems = store.visit_at(stream, mine, &mut |line| {
                    let writer = rank(line.writer);
                    let Some(winner) = lookup.winner_at(writer, line.offset) else {
                        return Ok(());
                    };
                    let position = position_of(line, writer)?;
                    batch.push(lookup.parse(winner, line.text, position, &mut interner));
                    if batch.len() == FILL_BATCH {
                        fill(&mut batch);
                    }
                    Ok(())
                })?;
                found.push((i, problems));
            }
            fill(&mut batch);
            Ok(found)
        };
        // This thread takes shares too, besides the others each on a thread of its own.
        let found = std::thread::scope(|scope| {
            let parse_shares = &parse_shares;
            let handles: Vec<_> = (1..READ_THREADS)
                .map(|_| scope.spawn(parse_shares))
                .collect();
            std::iter::once(parse_shares())
                .chain(handles.into_iter().map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                }))
                .collect::<Result<Vec<_>, StoreError>>()
        })
        .map_err(store_error)?;
        let mut found: Vec<(usize, Vec<Problem>)> = found.into_iter().flatten().collect();
        found.sort_by_key(|(i, _)| *i);
        problems.extend(found.into_iter().flat_map(|(_, found)| found));
    }
    Ok(StreamFold {
        winners,
        files,
        problems,
    })
}

/// The position of line `line` of an upstream log: its writer is the legacy writer, its
/// sequence the line number, its time the record's own.
fn legacy_position(line: u64, writer: u32) -> Position {
    Position {
        at_millis: None,
        writer,
        seq: line,
    }
}

fn position_of(line: &RawLine<'_>, writer: u32) -> Result<Position, String> {
    if line.legacy {
        return Ok(legacy_position(line.line, writer));
    }
    let envelope = line.envelope()?;
    Ok(Position {
        at_millis: Some(reducer::record::millis(&envelope.at)),
        writer,
        seq: envelope.seq,
    })
}

/// Reads a wave's control-plane events and materializes them.
pub(crate) fn read_control(
    store: &dyn EventStore,
    lane: &str,
    wave: u32,
) -> Result<ControlLog, CliError> {
    let mut log = ControlLog::new();
    let defaults = EventDefaults {
        lane: Some(lane.to_owned()),
        wave: Some(u64::from(wave)),
        ..EventDefaults::default()
    };
    let problems = store
        .visit(&StreamId::control(lane, wave), &mut |line| {
            let ev = ControlEvent::from_line(line.text, &defaults).map_err(|e| e.to_string())?;
            log.insert(ev);
            Ok(())
        })
        .map_err(store_error)?;
    report(&problems);
    Ok(log)
}

/// The latest result envelope of each roster agent.
pub(crate) fn read_envelopes(
    store: &dyn EventStore,
    lane: &str,
    wave: u32,
    roster: &Roster,
) -> Result<Vec<ResultEnvelope>, CliError> {
    let mut out: Vec<ResultEnvelope> = Vec::new();
    for key in store.list_results(lane, wave).map_err(store_error)? {
        if !roster.has(&key.agent) {
            continue;
        }
        let Some(body) = store.get_result(&key).map_err(store_error)? else {
            continue;
        };
        match ResultEnvelope::from_value(Value::Object(body), Some(&key.agent)) {
            Ok(mut env) => {
                env.attempt = env.attempt.or(Some(u64::from(key.attempt)));
                out.retain(|e| e.agent_id != env.agent_id);
                out.push(env);
            }
            Err(e) => output::eprint_line(&format!("warning: {key}: {e}; envelope ignored")),
        }
    }
    Ok(out)
}

/// Every lane's dependency tickets.
pub(crate) fn read_dependencies(
    store: &dyn EventStore,
    now: &str,
) -> Result<Vec<CoordRecord>, CliError> {
    let mut out = Vec::new();
    for lane in store.lanes().map_err(store_error)? {
        out.extend(read_records(store, &StreamId::dependencies(lane), now)?);
    }
    Ok(out)
}

fn status(settings: &Settings, args: StatusArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, args.lane)?;
    let roster = layout.roster(args.wave)?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let now_text = time::format(now);
    let wave = u32::try_from(args.wave)
        .map_err(|_| CliError::usage(format!("--wave {} is too large", args.wave)))?;
    let lane = layout.lane.as_str();

    let coordination = read_records(&*store, &StreamId::coordination(lane, wave), &now_text)?;
    let dependencies = read_dependencies(&*store, &now_text)?;
    let control = read_control(&*store, lane, wave)?.materialize();
    let envelopes = read_envelopes(&*store, lane, wave, &roster)?;
    release_freed_memory();

    let inputs = WaveInputs {
        lane,
        wave: args.wave,
        roster: &roster,
        coordination: &coordination,
        dependencies: &dependencies,
        control: &control,
        envelopes: &envelopes,
        now_ms: now.as_millisecond(),
    };
    let agent = args.agent.as_deref().map(str::trim);
    if let Some(a) = agent
        && !roster.has(a)
    {
        let known: Vec<&str> = roster.agents.iter().map(|r| r.id.as_str()).collect();
        return Err(
            CliError::usage(format!("wave {} has no agent `{a}`", args.wave)).hint(format!(
                "pass one of the wave's agents to --agent: {}",
                known.join(", ")
            )),
        );
    }
    let mut state = reducer::reduce_for(&inputs, agent);
    attach_signals(settings, &layout, &mut state);
    if args.json {
        let stdout = io::stdout().lock();
        match render::status::write_json(&state, stdout) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => {}
        }
    } else {
        output::print_text(&render::status::to_text(&state))?;
    }
    // The command ends here: returning a large wave's records to the allocator one by one
    // would cost a tenth of its time, and the process gives them all back at once.
    std::mem::forget(state);
    std::mem::forget(coordination);
    Ok(Code::OK)
}

/// An empty buffer for `n` records. Filling it is most of the time between the two passes,
/// spent on page faults, so a large one is asked to be backed by huge pages (on Linux, where
/// they are given on request): one fault per 2 MiB instead of per 4 KiB.
fn record_buffer(n: usize) -> Vec<Option<CoordRecord>> {
    let buffer: Vec<Option<CoordRecord>> = Vec::with_capacity(n);
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buffer.as_ptr() as usize;
        let bytes = buffer.capacity() * size_of::<Option<CoordRecord>>();
        let first = start.next_multiple_of(HUGE);
        let last = (start + bytes) / HUGE * HUGE;
        if last > first {
            // SAFETY: the range lies within the buffer's own allocation, which nothing else
            // uses; the advice only chooses the page size the kernel backs it with and never
            // changes its contents. An error (no huge pages) is ignored: pages stay small.
            unsafe {
                libc::madvise(
                    first as *mut libc::c_void,
                    last - first,
                    libc::MADV_HUGEPAGE,
                );
            }
        }
    }
    buffer
}

/// Returns the memory the read freed (the fold's tables, the parse buffers) to the system, so
/// the reduction and the output do not stack their peak on top of it. Reading a large log frees
/// tens of thousands of small blocks between the live records, which `malloc` keeps otherwise.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `malloc_trim` only walks glibc's own free lists; it takes no pointer from us and
    // is safe to call at any time from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Adds the `signals` block (§10.7, §10.8) to a reduced status: built from the status itself,
/// versioned against the recorded `wave_signal` / `agent_signal` events, with each agent's
/// acknowledgement file (`signals/wave-N/acks/<id>.json` under the lane state directory).
/// The status records nothing and writes no file: a changed snapshot shows the version it gets
/// when the next refresh (`wave coord render`, a launch) records it.
fn attach_signals(settings: &Settings, layout: &Layout, state: &mut reducer::WaveStatus<'_>) {
    let dir = layout
        .state_root_base
        .join(format!("{}-wave-launcher", layout.lane));
    let shown = dir
        .strip_prefix(&settings.repo_root)
        .map_or_else(|_| dir.display().to_string(), |p| p.display().to_string());
    let acks = dir.join(format!("signals/wave-{}/acks", state.wave));
    state.sync_signals(&shown, |agent| {
        let file = acks.join(format!(
            "{}.json",
            crate::engine::coordination::signals::signal_file_id(agent)
        ));
        fs::read_to_string(file)
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| crate::engine::coordination::signals::SignalAck::from_value(&v))
    });
}

/// A wave's state, read and reduced at `now`.
pub(crate) struct Loaded {
    pub layout: Layout,
    pub roster: Roster,
    pub store: Box<dyn EventStore>,
    pub coordination: Vec<CoordRecord>,
    pub dependencies: Vec<CoordRecord>,
    pub control: crate::engine::control::ControlState,
    pub envelopes: Vec<ResultEnvelope>,
}

impl Loaded {
    pub(crate) fn read(settings: &Settings, sel: &WaveSel, now: &str) -> Result<Self, CliError> {
        let layout = Layout::read(&settings.repo_root, sel.lane.clone())?;
        let roster = layout.roster(u64::from(sel.wave))?;
        let store = open_store(settings, &layout)?;
        let lane = layout.lane.clone();
        let coordination = read_records(&*store, &StreamId::coordination(&lane, sel.wave), now)?;
        let dependencies = read_dependencies(&*store, now)?;
        let control = read_control(&*store, &lane, sel.wave)?.materialize();
        let envelopes = read_envelopes(&*store, &lane, sel.wave, &roster)?;
        Ok(Loaded {
            layout,
            roster,
            store,
            coordination,
            dependencies,
            control,
            envelopes,
        })
    }

    pub(crate) fn inputs(&self, wave: u32, now_ms: i64) -> WaveInputs<'_> {
        WaveInputs {
            lane: &self.layout.lane,
            wave: u64::from(wave),
            roster: &self.roster,
            coordination: &self.coordination,
            dependencies: &self.dependencies,
            control: &self.control,
            envelopes: &self.envelopes,
            now_ms,
        }
    }

    fn record(&self, id: &str) -> Result<&CoordRecord, CliError> {
        self.coordination
            .iter()
            .find(|r| &*r.id == id)
            .ok_or_else(|| {
                CliError::user(format!("no task `{id}` in lane {}", self.layout.lane))
                    .hint("list tasks with `wave control task list`")
            })
    }
}

fn task_create(settings: &Settings, a: TaskCreateArgs) -> Result<Code, CliError> {
    let now = settings.now();
    let now_text = time::format(now);
    let layout = Layout::read(&settings.repo_root, a.sel.lane.clone())?;
    let store = open_store(settings, &layout)?;
    let kind = match a.kind.as_str() {
        "clarification" => "clarification-request",
        "human-input" => "human-feedback",
        other => other,
    };
    let id =
        a.id.unwrap_or_else(|| default_id("task", kind, &[&a.agent, &a.summary, &now_text]));
    let mut obj = serde_json::Map::new();
    obj.insert("id".into(), id.clone().into());
    obj.insert("kind".into(), kind.into());
    obj.insert("lane".into(), layout.lane.clone().into());
    obj.insert("wave".into(), a.sel.wave.into());
    obj.insert("agentId".into(), a.agent.clone().into());
    let targets = if a.target.is_empty() && kind == "human-feedback" {
        vec![format!("agent:{}", a.agent)]
    } else {
        a.target
    };
    obj.insert("targets".into(), targets.into());
    obj.insert("summary".into(), a.summary.into());
    obj.insert("detail".into(), a.detail.into());
    obj.insert("source".into(), "operator".into());
    obj.insert("createdAt".into(), now_text.clone().into());
    obj.insert("updatedAt".into(), now_text.clone().into());
    if let Some(p) = a.priority {
        obj.insert("priority".into(), p.into());
    }
    let record = normalize(obj, &now_text)?;
    append(
        settings,
        &*store,
        &StreamId::coordination(&layout.lane, a.sel.wave),
        now,
        std::slice::from_ref(&record),
    )?;
    if kind == "human-feedback" {
        let mut data = serde_json::Map::new();
        data.insert("humanInputId".into(), id.clone().into());
        data.insert("requestId".into(), id.clone().into());
        data.insert("state".into(), "pending".into());
        data.insert("createdAt".into(), now_text.clone().into());
        append_event(
            settings,
            &*store,
            &layout.lane,
            a.sel.wave,
            now,
            "human_input",
            &id,
            "requested",
            data,
        )?;
    }
    output::print_text(&format!("created {id} ({kind})"))?;
    Ok(Code::OK)
}

/// Appends one control-plane event as this process's writer.
#[allow(clippy::too_many_arguments)]
pub(crate) fn append_event(
    settings: &Settings,
    store: &dyn EventStore,
    lane: &str,
    wave: u32,
    now: jiff::Timestamp,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    data: serde_json::Map<String, Value>,
) -> Result<(), CliError> {
    let now_text = time::format(now);
    let raw = serde_json::json!({
        "lane": lane, "wave": wave, "entityType": entity_type, "entityId": entity_id,
        "action": action, "source": "operator", "recordedAt": now_text, "data": data,
    });
    let event = ControlEvent::from_value(raw, &EventDefaults::default())
        .map_err(|e| CliError::internal(e.to_string()))?;
    let Value::Object(map) = event.to_value() else {
        return Err(CliError::internal(
            "a control event did not serialize to an object",
        ));
    };
    store
        .append(
            &StreamId::control(lane, wave),
            &settings.writer,
            now,
            &[map],
        )
        .map_err(store_error)?;
    Ok(())
}

fn task_get(settings: &Settings, a: TaskGetArgs) -> Result<Code, CliError> {
    let now = settings.now();
    let loaded = Loaded::read(settings, &a.sel, &time::format(now))?;
    let state = reducer::reduce(&loaded.inputs(a.sel.wave, now.as_millisecond()));
    match state.tasks().find(|t| t.task_id == a.id) {
        Some(task) => output::print_json(&task)?,
        None => {
            return Err(CliError::user(format!("no task `{}`", a.id))
                .hint("list tasks with `wave control task list`"));
        }
    }
    Ok(Code::OK)
}

fn task_list(settings: &Settings, a: TaskListArgs) -> Result<Code, CliError> {
    let now = settings.now();
    let loaded = Loaded::read(settings, &a.sel, &time::format(now))?;
    let state = reducer::reduce(&loaded.inputs(a.sel.wave, now.as_millisecond()));
    let wanted = |id: Option<&str>| id.is_some_and(|id| a.agent.iter().any(|x| x == id));
    let tasks: Vec<_> = state
        .tasks()
        .filter(|t| a.agent.is_empty() || wanted(t.owner_agent_id) || wanted(t.assignee_agent_id))
        .collect();
    if a.json {
        output::print_json(&tasks)?;
    } else {
        let mut text = String::new();
        for t in &tasks {
            text.push_str(&format!(
                "{:<28} {:<14} {:<15} {:<6} {}\n",
                t.task_id,
                t.task_type,
                t.state,
                t.assignee_agent_id.or(t.owner_agent_id).unwrap_or("-"),
                t.title
            ));
        }
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}

fn task_act(settings: &Settings, a: TaskActArgs) -> Result<Code, CliError> {
    let now = settings.now();
    let now_text = time::format(now);
    let loaded = Loaded::read(settings, &a.sel, &now_text)?;
    let record = loaded.record(&a.id)?;
    let mut updates: Vec<CoordRecord> = Vec::new();
    let mut next = record.clone();
    next.updated_at = now_text.as_str().into();
    if let Some(d) = &a.detail {
        next.detail = d.as_str().into();
    }
    match a.action {
        TaskAction::Ack => next.status = Status::Acknowledged,
        TaskAction::Dismiss => next.status = Status::Cancelled,
        TaskAction::Resolve => {
            next.status = Status::Resolved;
            if record.kind == Kind::ClarificationRequest {
                let condition = format!("clarification:{}", record.id);
                for linked in loaded.coordination.iter().filter(|r| {
                    r.is_open()
                        && (*r.closure_condition == *condition
                            || r.depends_on.iter().any(|d| **d == *record.id))
                }) {
                    let mut l = linked.clone();
                    l.status = Status::Resolved;
                    l.updated_at = now_text.as_str().into();
                    updates.push(l);
                }
            }
        }
        TaskAction::Reassign => {
            let to =
                a.to.as_deref()
                    .ok_or_else(|| CliError::usage("`reassign` needs --to <agent>"))?;
            if !loaded.roster.has(to) {
                return Err(
                    CliError::user(format!("`{to}` is not an agent of this wave"))
                        .hint("pick an agent id from `wave control status`"),
                );
            }
            next.targets = TextList::one(format!("agent:{to}"));
            next.status = Status::Open;
        }
        TaskAction::Escalate => {
            let mut obj = serde_json::Map::new();
            obj.insert("id".into(), format!("escalation-{}", record.id).into());
            obj.insert("kind".into(), "human-escalation".into());
            obj.insert("lane".into(), record.lane.to_string().into());
            obj.insert("wave".into(), a.sel.wave.into());
            obj.insert("agentId".into(), a.operator.clone().into());
            obj.insert(
                "targets".into(),
                vec![format!("agent:{}", record.agent_id)].into(),
            );
            obj.insert("dependsOn".into(), vec![record.id.to_string()].into());
            if record.kind == Kind::ClarificationRequest {
                obj.insert(
                    "closureCondition".into(),
                    format!("clarification:{}", record.id).into(),
                );
            }
            obj.insert("priority".into(), "high".into());
            obj.insert(
                "summary".into(),
                format!("Escalated to a human: {}", record.summary).into(),
            );
            obj.insert("detail".into(), a.detail.clone().unwrap_or_default().into());
            obj.insert("source".into(), "operator".into());
            obj.insert("createdAt".into(), now_text.clone().into());
            updates.push(normalize(obj, &now_text)?);
            next.status = Status::InProgress;
        }
    }
    updates.insert(0, next);
    append(
        settings,
        &*loaded.store,
        &StreamId::coordination(&loaded.layout.lane, a.sel.wave),
        now,
        &updates,
    )?;
    let ids: Vec<&str> = updates.iter().map(|r| &*r.id).collect();
    output::print_text(&format!("updated {}", ids.join(", ")))?;
    Ok(Code::OK)
}
