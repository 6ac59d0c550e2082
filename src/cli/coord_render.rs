//! `wave coord render`: reads a wave's state through the store, re-syncs the launcher seeds,
//! runs clarification triage and the human-input clock (appending what they produce through
//! the store as this process's writer), and writes the derived projections under the lane
//! state directory `S` (`<stateRoot>/<lane>-wave-launcher`), each atomically (temp + rename).

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use super::control::{Loaded, append_event};
use super::coord::{WaveSel, append};
use super::{CliError, output};
use crate::engine::coordination::{
    AgentProfile, CapabilityRouting, CoordinationState, DependencyItem, DependencySnapshot,
    DocsQueueItem, ProjectionInputs, RoutingLedger, TimingOptions, build_request_assignments,
    inbox_view, materialize, response_metrics, shared_summary_view,
};
use crate::engine::reducer::{self, CoordRecord};
use crate::engine::triage::{self, TriageAgent, TriageInputs, TriageOutput, TriageRoles};
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

/// Writes `text` to `path` through a temporary file in the same directory and a rename.
fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
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
        .map_err(|e| CliError::internal(format!("cannot replace {}: {e}", path.display())))
}

fn json_text(v: &Value) -> Result<String, CliError> {
    serde_json::to_string_pretty(v)
        .map(|s| s + "\n")
        .map_err(|e| CliError::internal(e.to_string()))
}

/// Appends a triage output through the store: coordination records, the triage-only records
/// (route guidance) to the same log, and one `human_input requested` event per new request.
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
    for r in out
        .triage_log
        .iter()
        .filter(|t| !out.coordination.iter().any(|c| c.id == t.id))
    {
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
    /// Every projection written.
    pub written: Vec<PathBuf>,
}

/// Runs `wave coord render`.
pub(crate) fn run(settings: &Settings, a: RenderArgs) -> Result<Code, CliError> {
    let r = refresh(settings, &a.sel, None, None)?;
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
    // Docs queue (§10.5): one component-matrix item per promotion. Owned-doc and shared-plan
    // items need agent summaries' doc deltas, which this command does not read.
    let docs_items: Vec<render::coord::DocsQueueEntry> = facts
        .promotions
        .iter()
        .map(|(cid, level)| render::coord::DocsQueueEntry {
            id: format!("component-matrix:{cid}"),
            kind: "component-matrix".into(),
            path: cid.clone(),
            owner_agent_id: None,
            summary: format!("Component matrix currentLevel must reflect {cid} -> {level}"),
        })
        .collect();
    let triage_docs: Vec<triage::TriageDocsItem> = docs_items
        .iter()
        .map(|d| triage::TriageDocsItem {
            id: d.id.clone(),
            path: d.path.clone(),
            summary: d.summary.clone(),
        })
        .collect();
    let view_docs: Vec<DocsQueueItem> = docs_items
        .iter()
        .map(|d| DocsQueueItem {
            kind: Some(d.kind.clone()),
            summary: Some(d.summary.clone()),
            path: Some(d.path.clone()),
            ..DocsQueueItem::default()
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
    let status = reducer::reduce(&loaded.inputs(wave, now_ms));
    let phase = status.phase.to_owned();
    let inputs = ProjectionInputs {
        ledger: None,
        docs_queue: Some(&view_docs),
        integration: None,
        dependencies: Some(&deps),
    };
    let s = loaded
        .layout
        .state_root_base
        .join(format!("{lane}-wave-launcher"));
    let mut written: Vec<PathBuf> = Vec::new();
    let mut put = |rel: String, text: String| -> Result<(), CliError> {
        let path = s.join(rel);
        write_atomic(&path, &text)?;
        written.push(path);
        Ok(())
    };
    let w64 = u64::from(wave);
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
        summary_text.clone(),
    )?;
    let mut inboxes = std::collections::BTreeMap::new();
    for p in &profiles {
        let view = inbox_view(wi, p, &state, &assignments, inputs, timing);
        let text = render::inbox::render_inbox(&view).text;
        put(
            format!("inboxes/wave-{wave}/{}.md", p.agent_id),
            text.clone(),
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
        render::coord::render_board(&header, &state, &assignments, Some(&deps), &metrics).text,
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
        json_text(&render::coord::ledger_json(
            &lane,
            w64,
            &phase,
            &state,
            &assignments,
            Some(&deps),
            &now_text,
        ))?,
    )?;
    put(
        format!("docs-queue/wave-{wave}.json"),
        json_text(&render::coord::docs_queue_json(
            &lane,
            w64,
            &docs_items,
            &now_text,
        ))?,
    )?;
    let evidence = render::coord::integration_evidence(&state);
    let mut integration =
        serde_json::to_value(&evidence).map_err(|e| CliError::internal(e.to_string()))?;
    if let Value::Object(m) = &mut integration {
        m.insert("wave".into(), w64.into());
        m.insert("lane".into(), lane.clone().into());
        m.insert("updatedAt".into(), now_text.clone().into());
    }
    put(
        format!("integration/wave-{wave}.json"),
        json_text(&integration)?,
    )?;
    put(
        format!("integration/wave-{wave}.md"),
        render::coord::integration_md(w64, &evidence),
    )?;
    put(
        format!("feedback/triage/wave-{wave}/pending-human.md"),
        render::coord::pending_human_md(&state),
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
