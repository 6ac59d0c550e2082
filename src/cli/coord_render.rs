//! `wave coord render`: reads a wave's state through the store, re-syncs the launcher seeds,
//! runs clarification triage and the human-input clock (appending what they produce through
//! the store as this process's writer), and writes the derived projections under the lane
//! state directory `S` (`<stateRoot>/<lane>-wave-launcher`), each atomically (temp + rename)
//! and only when its content changed: shared summary, inboxes, board, assignment and
//! dependency snapshots, ledger, docs queue, integration summary, pending-human view, the
//! clarification triage log and the signal snapshots (recording each changed signal as a
//! control-plane event). Building the views is the engine's (`engine::coordination`); this
//! module gathers their inputs (plan, store, result envelopes, ack files) and writes them.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::control::{Loaded, append_event};
use super::coord::{WaveSel, append};
use super::{CliError, output};
use std::collections::BTreeMap;

use crate::engine::control::TRIAGE_LOG_ACTION;
use crate::engine::coordination::integration;
use crate::engine::coordination::ledger::{self, AgentOutcome, LedgerAgent, TaskKind};
use crate::engine::coordination::signals;
use crate::engine::coordination::{
    AgentProfile, CapabilityRouting, CoordinationState, DependencyItem, DependencySnapshot,
    DocsQueueItem, ProjectionInputs, RoutingLedger, RuntimeAssignment, TimingOptions,
    build_request_assignments, inbox_view, materialize, response_metrics, shared_summary_view,
};
use crate::engine::reducer::{self, CoordRecord};
use crate::engine::triage::{self, TriageAgent, TriageInputs, TriageOutput, TriageRoles};
use crate::event::control::{ControlEvent, EventDefaults};
use crate::event::coordination::{
    CoordinationRecord, RawCoordinationRecord, RecordDefaults, normalize,
};
use crate::event::time;
use crate::exit::Code;
use crate::render;
use crate::settings::Settings;
use crate::store::StreamId;

/// Arguments of `wave coord render`.
#[derive(Debug, clap::Args)]
pub(crate) struct RenderArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Print what was written as JSON.
    #[arg(long)]
    json: bool,
}

/// A store record in the engine's record type.
pub(crate) fn to_engine(r: &CoordRecord, now: &str) -> Result<CoordinationRecord, CliError> {
    let raw = RawCoordinationRecord::from_value(Value::Object(r.to_map()))
        .map_err(|e| CliError::internal(format!("record `{}`: {e}", r.id)))?;
    let defaults = RecordDefaults {
        now: Some(now.to_owned()),
        ..RecordDefaults::default()
    };
    normalize(raw, &defaults).map_err(|e| CliError::internal(format!("record `{}`: {e}", r.id)))
}

/// An engine record in the store's record type.
pub(crate) fn to_store(r: &CoordinationRecord, now: &str) -> Result<CoordRecord, CliError> {
    let line = serde_json::to_string(r).map_err(|e| CliError::internal(e.to_string()))?;
    CoordRecord::from_line(&line, now)
        .map_err(|e| CliError::internal(format!("record `{}`: {e}", r.id)))
}

/// Plan details the reducer's roster does not carry: owned paths, components, promotions.
struct PlanFacts {
    agents: Vec<(String, Vec<String>, Vec<String>)>,
    seeds: Vec<triage::SeedAgent>,
    promotions: Vec<(String, String)>,
    shared_plan_docs: Vec<String>,
    wave_file: String,
    ledger_agents: Vec<LedgerAgent>,
}

/// The ledger kind of a plan agent (§10.6 seed tasks).
fn ledger_agent(a: &crate::plan::Agent, lane: &crate::plan::LaneProfile) -> LedgerAgent {
    use crate::plan::roles;
    let r = &lane.roles;
    let kind = if a.agent_id == r.cont_qa_agent_id {
        TaskKind::ContQa
    } else if a.agent_id == r.cont_eval_agent_id {
        TaskKind::ContEval
    } else if a.agent_id == r.integration_agent_id {
        TaskKind::Integration
    } else if a.agent_id == r.documentation_agent_id {
        TaskKind::Documentation
    } else if roles::is_design_agent(a, lane) {
        TaskKind::Design
    } else if roles::is_security_reviewer(a, lane) {
        TaskKind::Security
    } else {
        TaskKind::Implementation
    };
    LedgerAgent {
        agent_id: a.agent_id.clone(),
        title: a.title.clone(),
        kind,
        hybrid_design: roles::is_implementation_owning_design_agent(a, lane),
        implementation_owning: roles::is_cont_eval_implementation_owning(a, lane),
        owned_paths: a.owned_paths.clone(),
        components: a.components.clone(),
        runtime: runtime_facts(a, lane).unwrap_or(Value::Null),
    }
}

/// An agent's initial executor resolution as the ledger and the runtime assignments list it
/// (executor, role, profile, how it was selected, retry policy and fallback chain). The
/// executor fallbacks a launch records in the control plane are applied on top
/// ([`ledger::apply_executor_fallbacks`]). `None` when the agent names an unknown profile.
fn runtime_facts(a: &crate::plan::Agent, lane: &crate::plan::LaneProfile) -> Option<Value> {
    let id = crate::plan::resolve_executor_id(a, lane).ok()?;
    let role = crate::plan::runtime_role(a, lane);
    let config = a.executor.as_ref();
    let profile_name = config.and_then(|c| c.profile.clone());
    let profile = profile_name
        .as_ref()
        .and_then(|p| lane.executors.profiles.get(p));
    let selected_by = if config.and_then(|c| c.id).is_some() {
        "agent-id"
    } else if profile.and_then(|p| p.id).is_some() {
        "agent-profile"
    } else if lane
        .runtime_policy
        .default_executor_by_role
        .contains_key(role.as_str())
    {
        "lane-role-default"
    } else {
        "lane-default"
    };
    let mut chain: Vec<crate::plan::ExecutorId> = Vec::new();
    for e in profile
        .map(|p| p.fallbacks.iter())
        .into_iter()
        .flatten()
        .chain(config.map(|c| c.fallbacks.iter()).into_iter().flatten())
    {
        if !chain.contains(e) {
            chain.push(*e);
        }
    }
    let explicit_chain = !chain.is_empty();
    if !explicit_chain {
        chain = lane.runtime_policy.fallback_executor_order.clone();
    }
    let mut state = crate::engine::retry::ExecutorState::initial(
        id,
        selected_by,
        config.and_then(|c| c.retry_policy),
        config.and_then(|c| c.allow_fallback_on_retry),
        crate::engine::retry::is_proof_centric(a),
        chain,
        None,
    );
    if explicit_chain && state.allow_fallback_on_retry {
        // An explicit chain is kept as written, even when it names the executor itself.
        state.fallbacks = profile
            .map(|p| p.fallbacks.clone())
            .unwrap_or_default()
            .into_iter()
            .chain(config.map(|c| c.fallbacks.clone()).unwrap_or_default())
            .fold(Vec::new(), |mut v, e| {
                if !v.contains(&e) {
                    v.push(e);
                }
                v
            });
    }
    let mut v = serde_json::to_value(&state).ok()?;
    if let Value::Object(m) = &mut v {
        m.insert("role".into(), role.as_str().into());
        m.insert(
            "profile".into(),
            profile_name.map_or(Value::Null, Value::from),
        );
    }
    Some(v)
}

/// The ledger's `runtime` of a task: the executor facts without their history.
fn task_runtime(facts: &Value) -> Value {
    if facts.is_null() {
        return Value::Null;
    }
    let keys = [
        ("executorId", "id"),
        ("role", "role"),
        ("profile", "profile"),
        ("selectedBy", "selectedBy"),
        ("retryPolicy", "retryPolicy"),
        ("allowFallbackOnRetry", "allowFallbackOnRetry"),
        ("fallbacks", "fallbacks"),
        ("fallbackUsed", "fallbackUsed"),
    ];
    Value::Object(
        keys.iter()
            .map(|(out, key)| {
                (
                    (*out).to_owned(),
                    facts.get(*key).cloned().unwrap_or(Value::Null),
                )
            })
            .collect(),
    )
}

/// One `runtimeAssignments` entry of the docs queue and integration summary.
fn runtime_assignment(agent_id: &str, facts: &Value) -> Value {
    let get = |k: &str| facts.get(k).cloned().unwrap_or(Value::Null);
    serde_json::json!({
        "agentId": agent_id, "role": get("role"), "initialExecutorId": get("initialExecutorId"),
        "executorId": get("id"), "profile": get("profile"), "selectedBy": get("selectedBy"),
        "retryPolicy": get("retryPolicy"),
        "allowFallbackOnRetry": facts.get("allowFallbackOnRetry") != Some(&Value::Bool(false)),
        "fallbacks": facts.get("fallbacks").cloned().unwrap_or_else(|| Value::Array(Vec::new())),
        "fallbackUsed": facts.get("fallbackUsed") == Some(&Value::Bool(true)),
        "fallbackReason": get("fallbackReason"),
        "executorHistory": facts.get("executorHistory").cloned().unwrap_or_else(|| Value::Array(Vec::new())),
    })
}

fn plan_facts(settings: &Settings, lane: &str, wave: u32, waves_dir: &Path) -> PlanFacts {
    let path = waves_dir.join(format!("wave-{wave}.md"));
    let rel = path
        .strip_prefix(&settings.repo_root)
        .map_or_else(|_| path.display().to_string(), |p| p.display().to_string());
    let profile =
        crate::plan::load_config(&settings.repo_root).and_then(|c| c.lane_profile(Some(lane)));
    let parsed = profile.and_then(|p| {
        crate::plan::load_wave_file(&settings.repo_root, Path::new(&rel), &p).map(|w| (w, p))
    });
    match parsed {
        Ok((p, profile)) => PlanFacts {
            agents: p
                .plan
                .agents
                .iter()
                .map(|a| {
                    (
                        a.agent_id.clone(),
                        a.owned_paths.clone(),
                        a.components.clone(),
                    )
                })
                .collect(),
            seeds: p
                .plan
                .agents
                .iter()
                .map(|a| triage::SeedAgent {
                    id: a.agent_id.clone(),
                    title: a.title.clone(),
                    prompt_overlay: if a.prompt_overlay.trim().is_empty() {
                        a.prompt.clone()
                    } else {
                        a.prompt_overlay.clone()
                    },
                    owned_paths: a.owned_paths.clone(),
                })
                .collect(),
            promotions: p
                .plan
                .component_promotions
                .iter()
                .map(|c| (c.component_id.clone(), c.target_level.clone()))
                .collect(),
            shared_plan_docs: profile.shared_plan_docs.clone(),
            wave_file: rel,
            ledger_agents: p
                .plan
                .agents
                .iter()
                .map(|a| ledger_agent(a, &profile))
                .collect(),
        },
        Err(e) => {
            output::eprint_line(&format!(
                "warning: {}: {e}; seeds are not re-synced and owned paths are not used for routing",
                path.display()
            ));
            PlanFacts {
                agents: Vec::new(),
                seeds: Vec::new(),
                promotions: Vec::new(),
                shared_plan_docs: Vec::new(),
                wave_file: rel,
                ledger_agents: Vec::new(),
            }
        }
    }
}

fn dependency_snapshot(
    deps: &[CoordRecord],
    lane: &str,
    wave: u32,
    agents: &[AgentProfile],
) -> DependencySnapshot {
    let mut snap = DependencySnapshot::default();
    let w = u64::from(wave);
    for d in deps {
        let owner = if d.owner_lane.is_empty() {
            &*d.lane
        } else {
            &*d.owner_lane
        };
        let inbound = owner == lane && d.owner_wave.is_none_or(|x| x == w);
        let outbound = &*d.requester_lane == lane && d.requester_wave.is_none_or(|x| x == w);
        let item = |direction: &str| DependencyItem {
            id: d.id.to_string(),
            direction: direction.to_owned(),
            required: d.required || d.closure_condition.contains("required=true"),
            open: d.is_open(),
            status: d.status.as_str().to_owned(),
            summary: d.summary.to_string(),
            detail: d.detail.to_string(),
            priority: d.priority.as_str().to_owned(),
            targets: d.targets.iter().map(|t| t.to_string()).collect(),
            artifact_refs: d.artifact_refs.iter().map(|t| t.to_string()).collect(),
            assigned_agent_id: (direction == "inbound")
                .then(|| {
                    d.targets.iter().find_map(|t| {
                        let id = t.strip_prefix("agent:").unwrap_or(t);
                        agents
                            .iter()
                            .find(|a| a.agent_id == id)
                            .map(|a| a.agent_id.clone())
                    })
                })
                .flatten(),
        };
        if inbound {
            snap.inbound.push(item("inbound"));
        }
        if outbound {
            snap.outbound.push(item("outbound"));
        }
    }
    snap
}

/// True when `current` is `text` except that where `text` holds the build time `now`,
/// `current` may hold another timestamp of the same shape: the projection is unchanged but for
/// when it was built.
fn same_but_build_time(current: &str, text: &str, now: &str) -> bool {
    if now.is_empty() {
        return current == text;
    }
    let same_shape = |stamp: &str| {
        stamp.len() == now.len()
            && stamp.bytes().zip(now.bytes()).all(|(a, b)| {
                a.is_ascii_digit() == b.is_ascii_digit() && (b.is_ascii_digit() || a == b)
            })
    };
    let mut rest = current;
    let mut parts = text.split(now).peekable();
    while let Some(part) = parts.next() {
        let Some(after) = rest.strip_prefix(part) else {
            return false;
        };
        rest = after;
        if parts.peek().is_some() {
            let (Some(stamp), Some(after)) = (rest.get(..now.len()), rest.get(now.len()..)) else {
                return false;
            };
            if !same_shape(stamp) {
                return false;
            }
            rest = after;
        }
    }
    rest.is_empty()
}

/// Writes `text` to `path` through a temporary file in the same directory and a rename,
/// unless the file already holds `text` but for its build time (`now`; see
/// [`same_but_build_time`]): an unchanged projection keeps the time it last changed and is not
/// rewritten. Returns whether it wrote.
fn write_atomic(path: &Path, text: &str, now: &str) -> Result<bool, CliError> {
    if fs::read_to_string(path).is_ok_and(|current| same_but_build_time(&current, text, now)) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .ok_or_else(|| CliError::internal(format!("{} has no parent", path.display())))?;
    fs::create_dir_all(dir)
        .map_err(|e| CliError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("projection");
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    fs::write(&tmp, text)
        .map_err(|e| CliError::internal(format!("cannot write {}: {e}", tmp.display())))?;
    fs::rename(&tmp, path)
        .map_err(|e| CliError::internal(format!("cannot replace {}: {e}", path.display())))?;
    Ok(true)
}

fn json_text(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| CliError::internal(e.to_string()))
}

/// Appends a triage output through the store: coordination records to the coordination log,
/// the pass's triage-log records, in order, as one `coordination_record` control-plane event
/// (action `triage-log`; `S/feedback/triage/wave-N.jsonl` is their projection), and one
/// `human_input requested` event per new request.
fn apply(
    settings: &Settings,
    loaded: &Loaded,
    wave: u32,
    now: jiff::Timestamp,
    now_text: &str,
    out: &TriageOutput,
) -> Result<usize, CliError> {
    let lane = loaded.layout.lane.clone();
    let mut records: Vec<CoordRecord> = Vec::new();
    for r in &out.coordination {
        records.push(to_store(r, now_text)?);
    }
    if !records.is_empty() {
        append(
            settings,
            &*loaded.store,
            &StreamId::coordination(&lane, wave),
            now,
            &records,
        )?;
    }
    if let Some(first) = out.triage_log.first() {
        let records = out
            .triage_log
            .iter()
            .map(serde_json::to_value)
            .collect::<Result<Vec<Value>, _>>()
            .map_err(|e| CliError::internal(e.to_string()))?;
        let mut data = Map::new();
        data.insert("records".into(), Value::Array(records));
        let entity = format!("triage-log-{}", first.id);
        append_control(
            settings,
            loaded,
            wave,
            now,
            now_text,
            vec![(("coordination_record", &entity, TRIAGE_LOG_ACTION), data)],
        )?;
    }
    for h in &out.human_requests {
        let mut data = Map::new();
        data.insert("humanInputId".into(), h.id.clone().into());
        data.insert("requestId".into(), h.id.clone().into());
        data.insert("state".into(), "pending".into());
        data.insert("agentId".into(), h.agent_id.clone().into());
        data.insert("question".into(), h.question.clone().into());
        data.insert("context".into(), h.context.clone().into());
        data.insert("clarificationId".into(), h.clarification_id.clone().into());
        data.insert("createdAt".into(), h.created_at.clone().into());
        append_event(
            settings,
            &*loaded.store,
            &lane,
            wave,
            now,
            "human_input",
            &h.id,
            "requested",
            data,
        )?;
    }
    Ok(records.len())
}

/// The signal inputs of a reduced wave status; the phase is the ledger's (§10.6). With a
/// completed ledger phase there is no blocking edge, and an agent whose latest run satisfied
/// its status (`satisfied`: exit 0 and its work validates) is `closed` (closure roles) or
/// `satisfied` rather than blocked (§10.8).
fn signal_inputs<'s>(
    status: &'s reducer::WaveStatus<'_>,
    roster: &reducer::roster::Roster,
    satisfied: &[&str],
    phase: &str,
    lane: &str,
    wave: u64,
    state_dir: String,
) -> signals::SignalInputs<'s> {
    let completed = phase == "completed";
    signals::SignalInputs {
        lane: lane.to_owned(),
        wave,
        phase: phase.to_owned(),
        blocking: status
            .blocking_edge
            .as_ref()
            .filter(|_| !completed)
            .map(reducer::BlockingEdge::signal_edge),
        active_attempt: status.active_attempt.map(|a| a.attempt_number),
        active_selected: status.active_selected(),
        rerun_selected: status.rerun_selected(),
        selection_source: status.selection_source.to_owned(),
        tasks: status
            .tasks()
            .map(|t| signals::SignalTask {
                task_id: t.task_id,
                task_type: t.task_type,
                state: t.state,
                title: t.title,
                owner_agent_id: t.owner_agent_id,
                assignee_agent_id: t.assignee_agent_id,
            })
            .collect(),
        feedback: status
            .feedback_requests
            .iter()
            .map(|f| signals::SignalFeedback {
                id: f.id.clone(),
                agent_id: f.agent_id.clone(),
                status: f.status.clone(),
                question: f.question.clone(),
                response_text: f.response_text.clone(),
            })
            .collect(),
        agents: status
            .logical_agents
            .iter()
            .map(|a| signals::SignalAgent {
                agent_id: a.agent_id.clone(),
                state: if completed && satisfied.contains(&a.agent_id.as_str()) {
                    if roster.is_closure_role(&a.agent_id) {
                        "closed"
                    } else {
                        "satisfied"
                    }
                } else {
                    a.state
                }
                .to_owned(),
                reason: a.reason.clone(),
                selected_for_rerun: a.selected_for_rerun,
                selected_for_active_attempt: a.selected_for_active_attempt,
            })
            .collect(),
        state_dir,
    }
}

/// One control-plane event of the launcher: (entity type, entity id, action) and its data.
type LauncherEvent<'a> = ((&'a str, &'a str, &'a str), Map<String, Value>);

/// Records control-plane events of the launcher, in one append.
fn append_control(
    settings: &Settings,
    loaded: &Loaded,
    wave: u32,
    now: jiff::Timestamp,
    now_text: &str,
    events: Vec<LauncherEvent<'_>>,
) -> Result<(), CliError> {
    if events.is_empty() {
        return Ok(());
    }
    let lane = &loaded.layout.lane;
    let mut maps = Vec::with_capacity(events.len());
    for ((entity_type, entity_id, action), data) in events {
        let raw = serde_json::json!({
            "lane": lane, "wave": wave, "entityType": entity_type, "entityId": entity_id,
            "action": action, "source": "launcher", "actor": "launcher", "recordedAt": now_text,
            "data": data,
        });
        let event = ControlEvent::from_value(raw, &EventDefaults::default())
            .map_err(|e| CliError::internal(e.to_string()))?;
        let Value::Object(map) = event.to_value() else {
            return Err(CliError::internal(
                "a control event did not serialize to an object",
            ));
        };
        maps.push(map);
    }
    loaded
        .store
        .append(&StreamId::control(lane, wave), &settings.writer, now, &maps)
        .map_err(|e| CliError::internal(e.to_string()))?;
    Ok(())
}

/// The end of an agent log, enough for its structured deploy and infra markers (the last
/// [`crate::engine::markers::STRUCTURED_TAIL_CHARS`] UTF-16 units take at most three bytes
/// each); `None` when there is no log. Invalid UTF-8 is replaced, not fatal.
fn log_tail(path: &Path) -> Option<String> {
    use std::io::{Read as _, Seek as _, SeekFrom};
    let mut file = fs::File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let keep = 4 * crate::engine::markers::STRUCTURED_TAIL_CHARS as u64;
    file.seek(SeekFrom::Start(len.saturating_sub(keep))).ok()?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).ok()?;
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

/// What one refresh of a wave's derived state did and produced.
pub(crate) struct Refreshed {
    /// The lane.
    pub lane: String,
    /// The lane state directory the projections were written under.
    pub dir: PathBuf,
    /// Records appended (seeds and triage).
    pub appended: usize,
    /// Human-input requests the triage opened.
    pub human_requests: Vec<triage::HumanRequest>,
    /// Human-input clock transitions recorded.
    pub transitions: Vec<triage::HumanInputTransition>,
    /// The rendered shared summary (within its budget).
    pub shared_summary: String,
    /// Each agent's rendered inbox (within its budget), by agent id.
    pub inboxes: std::collections::BTreeMap<String, String>,
    /// Every projection of the wave (those already up to date are not rewritten).
    pub written: Vec<PathBuf>,
}

/// Runs `wave coord render`.
pub(crate) fn run(settings: &Settings, a: RenderArgs) -> Result<Code, CliError> {
    let r = refresh(settings, &a.sel, None, None, SignalEvents::Record)?;
    if a.json {
        let files: Vec<String> = r.written.iter().map(|p| p.display().to_string()).collect();
        output::print_json(&serde_json::json!({
            "lane": r.lane,
            "wave": a.sel.wave, "appendedRecords": r.appended,
            "humanRequests": r.human_requests, "humanInputTransitions": r.transitions, "files": files,
        }))?;
    } else {
        output::print_text(&format!(
            "rendered {} file(s) under {}; triage appended {} record(s), opened {} human request(s)",
            r.written.len(),
            r.dir.display(),
            r.appended,
            r.human_requests.len()
        ))?;
    }
    Ok(Code::OK)
}

/// Whether a refresh records a changed signal snapshot as a `wave_signal` / `agent_signal`
/// event. Jobs that run side by side (one CI job per agent) write their snapshot files but
/// leave the events to the jobs that run one at a time (plan, close, a single-job launch), so
/// one version of a signal is never recorded twice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SignalEvents {
    /// Append an event for each changed snapshot.
    Record,
    /// Write the snapshot files only.
    FilesOnly,
}

/// Rebuilds one wave's derived state (§10 build order): re-syncs the launcher seeds, runs
/// clarification triage and the human-input clock at the settings' clock (appending what they
/// produce, stamped with `attempt` when given), then writes every projection. `wave launch`
/// runs it at attempt boundaries and before each agent starts, so prompts carry the current
/// shared summary and inbox. `closing` (the reason) marks a wave that just closed: the
/// launcher's open request seeds are resolved with it.
pub(crate) fn refresh(
    settings: &Settings,
    sel: &WaveSel,
    attempt: Option<i64>,
    closing: Option<&str>,
    signals: SignalEvents,
) -> Result<Refreshed, CliError> {
    let now = settings.now();
    let now_text = time::format(now);
    let now_ms = now.as_millisecond();
    let wave = sel.wave;
    let mut loaded = Loaded::read(settings, sel, &now_text)?;
    let lane = loaded.layout.lane.clone();
    let facts = plan_facts(settings, &lane, wave, &loaded.layout.waves_dir);
    let profiles: Vec<AgentProfile> = loaded
        .roster
        .agents
        .iter()
        .map(|r| {
            let (owned, comps) = facts
                .agents
                .iter()
                .find(|(id, _, _)| *id == r.id)
                .map(|(_, o, c)| (o.clone(), c.clone()))
                .unwrap_or_default();
            AgentProfile {
                agent_id: r.id.clone(),
                title: r.title.clone(),
                owned_paths: owned,
                capabilities: r.capabilities.clone(),
                components: comps,
            }
        })
        .collect();
    let roles = {
        let r = &loaded.roster.roles;
        TriageRoles {
            cont_qa: r.cont_qa.clone(),
            cont_eval: r.cont_eval.clone(),
            integration: r.integration.clone(),
            documentation: r.documentation.clone(),
        }
    };
    let triage_agents: Vec<TriageAgent> = profiles
        .iter()
        .map(|p| TriageAgent {
            id: p.agent_id.clone(),
            owned_paths: p.owned_paths.clone(),
            components: p.components.clone(),
            ..TriageAgent::default()
        })
        .collect();
    let engine_records = |loaded: &Loaded| -> Result<CoordinationState, CliError> {
        let records = loaded
            .coordination
            .iter()
            .map(|r| to_engine(r, &now_text))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(materialize(records))
    };
    // Each agent's latest outcome (its latest result envelope), then the docs queue (§10.5).
    let outcomes: BTreeMap<String, AgentOutcome> = loaded
        .envelopes
        .iter()
        .map(|e| (e.agent_id.clone(), AgentOutcome::from_envelope(e)))
        .collect();
    // The executors the retry engine moved agents to (§8.4), as the ledger, the docs queue's
    // runtime assignments and the shared summary show them.
    let mut facts = facts;
    ledger::apply_executor_fallbacks(&mut facts.ledger_agents, &loaded.control.executor_fallbacks);
    let ledger_attempt = attempt
        .and_then(|a| u64::try_from(a).ok())
        .or_else(|| loaded.envelopes.iter().filter_map(|e| e.attempt).max())
        .unwrap_or(0);
    let docs = ledger::docs_queue(
        &ledger::DocsInputs {
            lane: &lane,
            wave: u64::from(wave),
            agents: &facts.ledger_agents,
            outcomes: &outcomes,
            shared_plan_docs: &facts.shared_plan_docs,
            promotions: &facts.promotions,
            now: &now_text,
        },
        facts
            .ledger_agents
            .iter()
            .map(|a| runtime_assignment(&a.agent_id, &a.runtime))
            .collect(),
    );
    let ledger_agents: Vec<LedgerAgent> = facts
        .ledger_agents
        .iter()
        .map(|a| LedgerAgent {
            runtime: task_runtime(&a.runtime),
            ..a.clone()
        })
        .collect();
    let triage_docs: Vec<triage::TriageDocsItem> = docs
        .items
        .iter()
        .map(|d| triage::TriageDocsItem {
            id: d.id.clone(),
            path: d.path.clone(),
            summary: d.summary.clone(),
        })
        .collect();
    let view_docs: Vec<DocsQueueItem> = docs
        .items
        .iter()
        .map(|d| DocsQueueItem {
            kind: Some(d.kind.clone()),
            summary: Some(d.summary.clone()),
            path: Some(d.path.clone()),
            detail: Some(d.detail.clone()).filter(|s| !s.is_empty()),
            owner_agent_id: d.owner_agent_id.clone(),
            agent_id: d.agent_id.clone(),
            targets: d.targets.clone(),
        })
        .collect();
    let mut state = engine_records(&loaded)?;
    // Re-sync the launcher seeds first (§10 build order), then triage the refreshed state.
    let seeds = triage::seed_records(&triage::SeedInputs {
        lane: &lane,
        wave: u64::from(wave),
        agents: &facts.seeds,
        roles: &roles,
        promotions: &facts.promotions,
        shared_plan_docs: &facts.shared_plan_docs,
        feedback: &[],
        state: &state,
        now: &now_text,
    })
    .map_err(|e| CliError::internal(e.to_string()))?;
    let mut appended = 0;
    if !seeds.is_empty() {
        let records = seeds
            .iter()
            .map(|r| to_store(r, &now_text))
            .collect::<Result<Vec<_>, _>>()?;
        append(
            settings,
            &*loaded.store,
            &StreamId::coordination(&lane, wave),
            now,
            &records,
        )?;
        appended += records.len();
        loaded = Loaded::read(settings, sel, &now_text)?;
        state = engine_records(&loaded)?;
    }
    let outcome = triage::triage(&TriageInputs {
        lane: &lane,
        wave: u64::from(wave),
        state: &state,
        agents: &triage_agents,
        roles: &roles,
        docs_queue: &triage_docs,
        integration: None,
        attempt,
        now_ms,
        now: &now_text,
    })
    .map_err(|e| CliError::internal(e.to_string()))?;
    appended += apply(settings, &loaded, wave, now, &now_text, &outcome)?;
    // The human-input clock: record every due escalation as a control-plane event.
    let items = triage::human_input_items(&state, &loaded.control.human_inputs);
    let transitions = triage::advance(
        &items,
        &triage::HumanInputClock::default(),
        now_ms,
        &now_text,
    );
    for t in &transitions {
        append_event(
            settings,
            &*loaded.store,
            &lane,
            wave,
            now,
            "human_input",
            &t.request_id,
            t.action(),
            t.event_data(),
        )?;
    }
    let mut closed_seeds = 0;
    if let Some(reason) = closing {
        let records = triage::close_seeds(&state, u64::from(wave), reason, &now_text)
            .iter()
            .map(|r| to_store(r, &now_text))
            .collect::<Result<Vec<_>, _>>()?;
        if !records.is_empty() {
            append(
                settings,
                &*loaded.store,
                &StreamId::coordination(&lane, wave),
                now,
                &records,
            )?;
            closed_seeds = records.len();
            appended += closed_seeds;
        }
    }
    if !outcome.is_empty() || !transitions.is_empty() || closed_seeds > 0 {
        loaded = Loaded::read(settings, sel, &now_text)?;
        state = engine_records(&loaded)?;
    }
    let deps = dependency_snapshot(&loaded.dependencies, &lane, wave, &profiles);
    let routing = CapabilityRouting {
        preferred_agents: loaded.layout.preferred_agents.iter().cloned().collect(),
    };
    let assignments =
        build_request_assignments(&state, &profiles, &RoutingLedger::default(), &routing);
    let timing = TimingOptions::at(now_ms);
    let metrics = response_metrics(&state, timing);
    let w64 = u64::from(wave);
    let roles_of = &loaded.roster.roles;
    // Deploy and infra risks from the agents' logs (the launcher writes
    // `S/logs/wave-N-<slug>.log`), in agent order.
    let logs_dir = loaded
        .layout
        .state_root_base
        .join(format!("{lane}-wave-launcher/logs"));
    let deploy_risks: Vec<String> = ledger_agents
        .iter()
        .filter_map(|a| {
            let slug = crate::plan::parse::slugify(&format!("{wave}-{}", a.agent_id));
            let text = log_tail(&logs_dir.join(format!("wave-{wave}-{slug}.log")))?;
            Some(integration::log_deploy_risks(&a.agent_id, &text))
        })
        .flatten()
        .collect();
    let integration_report = integration::integration_report(&integration::IntegrationInputs {
        agents: &ledger_agents,
        integration_agent_id: &roles_of.integration,
        outcomes: &outcomes,
        state: &state,
        docs_queue: Some(&docs),
        dependencies: Some(&deps),
        assignments: &assignments,
        deploy_risks: &deploy_risks,
    });
    let wave_ledger = ledger::ledger(&ledger::LedgerInputs {
        lane: &lane,
        wave: w64,
        attempt: ledger_attempt,
        agents: &ledger_agents,
        promotions: &facts.promotions,
        outcomes: &outcomes,
        state: &state,
        assignments: &assignments,
        dependencies: Some(&deps),
        docs_queue: Some(&docs),
        integration_recommendation: Some(&integration_report.recommendation),
        documentation_agent_id: &roles_of.documentation,
        now: &now_text,
    });
    let runtime_assignments: Vec<RuntimeAssignment> = docs
        .runtime_assignments
        .iter()
        .map(|r| RuntimeAssignment {
            agent_id: r["agentId"].as_str().unwrap_or_default().to_owned(),
            executor_id: r["executorId"].as_str().map(str::to_owned),
            role: r["role"].as_str().map(str::to_owned),
            profile: r["profile"].as_str().map(str::to_owned),
            fallback_used: r["fallbackUsed"].as_bool().unwrap_or(false),
        })
        .collect();
    let integration_view =
        render::coord::integration_view(&integration_report, runtime_assignments);
    let ledger_view = render::coord::ledger_view(&wave_ledger);
    let inputs = ProjectionInputs {
        ledger: Some(&ledger_view),
        docs_queue: Some(&view_docs),
        integration: Some(&integration_view),
        dependencies: Some(&deps),
    };
    let s = loaded
        .layout
        .state_root_base
        .join(format!("{lane}-wave-launcher"));
    let mut written: Vec<PathBuf> = Vec::new();
    let mut put = |rel: String, text: String| -> Result<(), CliError> {
        let path = s.join(rel);
        write_atomic(&path, &text, &now_text)?;
        written.push(path);
        Ok(())
    };
    let wi = i64::from(wave);
    let summary = render::summary::render_shared_summary(&shared_summary_view(
        wi,
        &state,
        &assignments,
        inputs,
        timing,
    ));
    let summary_text = summary.text;
    put(
        format!("inboxes/wave-{wave}/shared-summary.md"),
        format!("{summary_text}\n"),
    )?;
    let mut inboxes = std::collections::BTreeMap::new();
    for p in &profiles {
        let view = inbox_view(wi, p, &state, &assignments, inputs, timing);
        let text = render::inbox::render_inbox(&view).text;
        put(
            format!("inboxes/wave-{wave}/{}.md", p.agent_id),
            format!("{text}\n"),
        )?;
        inboxes.insert(p.agent_id.clone(), text);
    }
    let agent_ids: Vec<String> = profiles.iter().map(|p| p.agent_id.clone()).collect();
    let header = render::coord::BoardHeader {
        wave: w64,
        wave_file: &facts.wave_file,
        agent_ids: &agent_ids,
        generated_at: &now_text,
    };
    put(
        format!("messageboards/wave-{wave}.md"),
        render::coord::render_board(&header, &state, &assignments, Some(&deps), &metrics).text
            + "\n",
    )?;
    put(
        format!("assignments/wave-{wave}.json"),
        json_text(&render::coord::assignments_json(
            &lane,
            w64,
            &assignments,
            &now_text,
        ))?,
    )?;
    put(
        format!("dependencies/wave-{wave}.json"),
        json_text(&render::coord::dependencies_json(
            &lane, w64, &deps, &now_text,
        ))?,
    )?;
    put(
        format!("dependencies/wave-{wave}.md"),
        render::coord::dependencies_md(&lane, w64, &deps, &now_text),
    )?;
    put(
        format!("ledger/wave-{wave}.json"),
        json_text(
            &serde_json::to_value(&wave_ledger).map_err(|e| CliError::internal(e.to_string()))?,
        )?,
    )?;
    put(
        format!("docs-queue/wave-{wave}.json"),
        json_text(&serde_json::to_value(&docs).map_err(|e| CliError::internal(e.to_string()))?)?,
    )?;
    let integration_json = render::coord::integration_json(
        &lane,
        w64,
        ledger_attempt,
        &integration_report,
        &docs.runtime_assignments,
        &now_text,
    );
    put(
        format!("integration/wave-{wave}.json"),
        json_text(&integration_json)?,
    )?;
    put(
        format!("integration/wave-{wave}.md"),
        render::coord::integration_md(w64, &integration_report, &docs.runtime_assignments),
    )?;
    put(
        format!("feedback/triage/wave-{wave}/pending-human.md"),
        render::coord::pending_human_md(&state),
    )?;
    if !loaded.control.triage_log.is_empty() {
        put(
            format!("feedback/triage/wave-{wave}.jsonl"),
            render::coord::triage_log_jsonl(&loaded.control.triage_log),
        )?;
    }
    // Signals (§10.7), versioned against the last recorded snapshots; a changed snapshot is
    // recorded as a `wave_signal` / `agent_signal` event.
    let status = reducer::reduce(&loaded.inputs(wave, now_ms));
    let state_dir = s
        .strip_prefix(&settings.repo_root)
        .map_or_else(|_| s.display().to_string(), |p| p.display().to_string());
    let satisfied: Vec<&str> = ledger_agents
        .iter()
        .filter(|a| {
            outcomes
                .get(&a.agent_id)
                .is_some_and(|o| o.exit_code == Some(0) && o.validates(a.kind, a))
        })
        .map(|a| a.agent_id.as_str())
        .collect();
    let sig_inputs = signal_inputs(
        &status,
        &loaded.roster,
        &satisfied,
        &wave_ledger.phase,
        &lane,
        w64,
        state_dir,
    );
    let mut changed_signals: Vec<(String, &'static str, Map<String, Value>)> = Vec::new();
    let wave_entity = format!("wave-{wave}");
    let core = signals::wave_signal(&sig_inputs);
    let comparable = signals::wave_comparable(&core);
    let previous = loaded
        .control
        .signals
        .get(&wave_entity)
        .map(|p| (p, signals::wave_comparable(p)));
    let v = signals::versioned(core, comparable, previous, &now_text);
    put(
        format!("signals/wave-{wave}.json"),
        json_text(&Value::Object(v.snapshot.clone()))?,
    )?;
    if v.changed {
        changed_signals.push((wave_entity, "wave_signal", signals::persisted(&v.snapshot)));
    }
    for a in &sig_inputs.agents {
        let file = signals::signal_file_id(&a.agent_id);
        let core = signals::agent_signal(&sig_inputs, a);
        let comparable = signals::agent_comparable(&core);
        let entity = format!("wave-{wave}-agent-{}", a.agent_id);
        let previous = loaded
            .control
            .signals
            .get(&entity)
            .map(|p| (p, signals::agent_comparable(p)));
        let ack = fs::read_to_string(s.join(format!("signals/wave-{wave}/acks/{file}.json")))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok())
            .and_then(|v| signals::SignalAck::from_value(&v));
        let v = signals::versioned(core, comparable, previous, &now_text);
        let snapshot = signals::with_ack(v.snapshot, ack.as_ref());
        put(
            format!("signals/wave-{wave}/{file}.json"),
            json_text(&Value::Object(snapshot.clone()))?,
        )?;
        if v.changed {
            changed_signals.push((entity, "agent_signal", signals::persisted(&snapshot)));
        }
    }
    append_control(
        settings,
        &loaded,
        wave,
        now,
        &now_text,
        changed_signals
            .iter()
            .filter(|_| signals == SignalEvents::Record)
            .map(|(entity, kind, data)| ((*kind, entity.as_str(), "updated"), data.clone()))
            .collect(),
    )?;
    Ok(Refreshed {
        lane,
        dir: s,
        appended,
        human_requests: outcome.human_requests,
        transitions,
        shared_summary: summary_text,
        inboxes,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::same_but_build_time;

    const NOW: &str = "2026-11-22T09:00:00.000Z";

    #[test]
    fn a_projection_that_differs_only_in_its_build_time_is_unchanged() {
        let old = "{\"a\": 1, \"updatedAt\": \"2026-11-22T08:59:58.123Z\"}";
        let new = format!("{{\"a\": 1, \"updatedAt\": \"{NOW}\"}}");
        assert!(same_but_build_time(old, &new, NOW));
        assert!(same_but_build_time(&new, &new, NOW));
    }

    #[test]
    fn any_other_difference_is_a_change() {
        let old = "{\"a\": 1, \"updatedAt\": \"2026-11-22T08:59:58.123Z\"}";
        let new = format!("{{\"a\": 2, \"updatedAt\": \"{NOW}\"}}");
        assert!(!same_but_build_time(old, &new, NOW));
        // Not a timestamp where the build time stands.
        let old = "{\"a\": 1, \"updatedAt\": \"not-a-time-at-all-000000\"}";
        let new = format!("{{\"a\": 1, \"updatedAt\": \"{NOW}\"}}");
        assert!(!same_but_build_time(old, &new, NOW));
        // A longer or shorter file.
        assert!(!same_but_build_time("ab", "a", NOW));
        assert!(!same_but_build_time("a", "ab", NOW));
    }
}
