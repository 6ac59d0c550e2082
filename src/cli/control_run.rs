//! `wave control rerun request|get|clear` and `wave control proof register`: the operator's
//! levers on the next launch (spec §8, §4.4), recorded as control-plane events in the store.

use clap::{Args, Subcommand};
use serde_json::{Map, Value, json};

use super::control::{Layout, append_event, open_store, read_control};
use super::{CliError, output};
use crate::event::time;
use crate::exit::Code;
use crate::settings::Settings;

/// `wave control rerun …`.
#[derive(Debug, Subcommand)]
pub enum RerunCommand {
    /// Ask the next launch to rerun these agents (or resume from a phase).
    Request(RerunRequestArgs),
    /// Show the active rerun request as JSON (`null` when none).
    Get(WaveArgs),
    /// Clear the active rerun request.
    Clear(WaveArgs),
}

/// `wave control proof …`.
#[derive(Debug, Subcommand)]
pub enum ProofCommand {
    /// Register a proof bundle for an agent.
    Register(ProofRegisterArgs),
}

/// Lane and wave.
#[derive(Debug, Args)]
pub struct WaveArgs {
    /// Lane (default: the config's `defaultLane`, else `main`).
    #[arg(long)]
    lane: Option<String>,
    /// Wave number.
    #[arg(long, default_value_t = 0)]
    wave: u32,
}

/// `wave control rerun request`.
#[derive(Debug, Args)]
pub struct RerunRequestArgs {
    #[command(flatten)]
    sel: WaveArgs,
    /// Agents to rerun (comma-separated or repeated).
    #[arg(long = "agent", value_delimiter = ',')]
    agents: Vec<String>,
    /// Phase to resume from (`implementation`, `integrating`, `docs-closure`, `cont-qa-closure`, …).
    #[arg(long)]
    resume_phase: Option<String>,
    /// Why.
    #[arg(long)]
    reason: Option<String>,
    /// Who asks.
    #[arg(long, default_value = "human-operator")]
    requested_by: String,
    /// Request id (default `rerun-wave-<N>-<unix ms>`).
    #[arg(long)]
    id: Option<String>,
}

/// `wave control proof register`.
#[derive(Debug, Args)]
pub struct ProofRegisterArgs {
    #[command(flatten)]
    sel: WaveArgs,
    /// The agent the proof is for.
    #[arg(long)]
    agent: String,
    /// Proof state (`met`, `gap`, …).
    #[arg(long, default_value = "met")]
    state: String,
    /// Completion level.
    #[arg(long)]
    completion: Option<String>,
    /// Durability level.
    #[arg(long)]
    durability: Option<String>,
    /// Proof level.
    #[arg(long = "proof-level")]
    proof_level: Option<String>,
    /// Detail.
    #[arg(long)]
    detail: Option<String>,
    /// The bundle overrides the agent's own proof.
    #[arg(long)]
    authoritative: bool,
    /// Artifact paths (comma-separated or repeated).
    #[arg(long = "artifact", value_delimiter = ',')]
    artifacts: Vec<String>,
    /// Bundle id (default `proof-<agent>-wave-<N>-<unix ms>`).
    #[arg(long)]
    id: Option<String>,
}

/// Runs `wave control rerun …`.
pub fn rerun(settings: &Settings, cmd: RerunCommand) -> Result<Code, CliError> {
    match cmd {
        RerunCommand::Request(a) => request(settings, a),
        RerunCommand::Get(a) => get(settings, a),
        RerunCommand::Clear(a) => clear(settings, a),
    }
}

/// Runs `wave control proof …`.
pub fn proof(settings: &Settings, cmd: ProofCommand) -> Result<Code, CliError> {
    match cmd {
        ProofCommand::Register(a) => register(settings, a),
    }
}

fn request(settings: &Settings, a: RerunRequestArgs) -> Result<Code, CliError> {
    if a.agents.is_empty() && a.resume_phase.is_none() {
        return Err(CliError::usage(
            "name agents with --agent or a phase with --resume-phase",
        ));
    }
    let layout = Layout::read(&settings.repo_root, a.sel.lane)?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let id =
        a.id.unwrap_or_else(|| format!("rerun-wave-{}-{}", a.sel.wave, now.as_millisecond()));
    let mut data = Map::new();
    data.insert("requestId".into(), json!(id));
    data.insert("state".into(), json!("active"));
    data.insert("selectedAgentIds".into(), json!(a.agents));
    if let Some(p) = &a.resume_phase {
        data.insert("resumeCursor".into(), json!(p));
    }
    if let Some(r) = &a.reason {
        data.insert("reason".into(), json!(r));
    }
    data.insert("requestedBy".into(), json!(a.requested_by));
    append_event(
        settings,
        &*store,
        &layout.lane,
        a.sel.wave,
        now,
        "rerun_request",
        &id,
        "requested",
        data,
    )?;
    output::print_text(&format!("requested {id}"))?;
    Ok(Code::OK)
}

fn get(settings: &Settings, a: WaveArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.lane)?;
    let store = open_store(settings, &layout)?;
    let state = read_control(&*store, &layout.lane, a.wave)?.materialize();
    let active = state.active_rerun_request().map_or(Value::Null, |r| {
        serde_json::to_value(r).unwrap_or(Value::Null)
    });
    output::print_json(&active)?;
    Ok(Code::OK)
}

fn clear(settings: &Settings, a: WaveArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.lane)?;
    let store = open_store(settings, &layout)?;
    let state = read_control(&*store, &layout.lane, a.wave)?.materialize();
    let Some(active) = state.active_rerun_request() else {
        output::print_text("no active rerun request")?;
        return Ok(Code::OK);
    };
    let id = active.request_id.clone();
    let mut data = Map::new();
    data.insert("requestId".into(), json!(id));
    data.insert("state".into(), json!("cleared"));
    append_event(
        settings,
        &*store,
        &layout.lane,
        a.wave,
        settings.now(),
        "rerun_request",
        &id,
        "cleared",
        data,
    )?;
    output::print_text(&format!("cleared {id}"))?;
    Ok(Code::OK)
}

fn register(settings: &Settings, a: ProofRegisterArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.sel.lane)?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let id = a.id.unwrap_or_else(|| {
        format!(
            "proof-{}-wave-{}-{}",
            a.agent,
            a.sel.wave,
            now.as_millisecond()
        )
    });
    let mut proof = Map::new();
    proof.insert("state".into(), json!(a.state));
    for (k, v) in [
        ("completion", &a.completion),
        ("durability", &a.durability),
        ("proof", &a.proof_level),
        ("detail", &a.detail),
    ] {
        if let Some(v) = v {
            proof.insert(k.into(), json!(v));
        }
    }
    let mut data = Map::new();
    data.insert("proofBundleId".into(), json!(id));
    data.insert("agentId".into(), json!(a.agent));
    data.insert("state".into(), json!("active"));
    data.insert("authoritative".into(), json!(a.authoritative));
    data.insert("recordedAt".into(), json!(time::format(now)));
    data.insert("recordedBy".into(), json!("human-operator"));
    data.insert("proof".into(), Value::Object(proof));
    if let Some(d) = &a.detail {
        data.insert("detail".into(), json!(d));
    }
    data.insert(
        "artifacts".into(),
        Value::Array(a.artifacts.iter().map(|p| json!({"path": p})).collect()),
    );
    append_event(
        settings,
        &*store,
        &layout.lane,
        a.sel.wave,
        now,
        "proof_bundle",
        &id,
        "registered",
        data,
    )?;
    output::print_text(&format!("registered {id}"))?;
    Ok(Code::OK)
}
