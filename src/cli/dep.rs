//! `wave dep`: cross-lane dependency tickets (spec §3.11), written through the store to the
//! owner lane's dependency stream.

use clap::{Args, Subcommand};
use serde_json::{Map, Value};

use super::control::{Layout, Loaded, open_store};
use super::coord::{WaveSel, append, default_id, normalize};
use super::{CliError, output};
use crate::engine::reducer;
use crate::event::time;
use crate::exit::Code;
use crate::settings::Settings;
use crate::store::StreamId;

/// Arguments of `wave dep`.
#[derive(Debug, Args)]
pub struct DepArgs {
    #[command(subcommand)]
    command: DepCommand,
}

#[derive(Debug, Subcommand)]
enum DepCommand {
    /// Open a ticket asking another lane (the owner) for something.
    Post(Box<PostArgs>),
    /// Show the open inbound and outbound tickets of a wave.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
struct PostArgs {
    /// The lane that owes the work.
    #[arg(long)]
    owner_lane: String,
    /// The owner lane's wave (omit for any wave).
    #[arg(long)]
    owner_wave: Option<u32>,
    /// The lane asking.
    #[arg(long)]
    requester_lane: String,
    /// The requesting wave.
    #[arg(long)]
    requester_wave: Option<u32>,
    /// The asking agent.
    #[arg(long)]
    agent: String,
    /// One-line summary.
    #[arg(long)]
    summary: String,
    /// Detail.
    #[arg(long, default_value = "")]
    detail: String,
    /// Targets in the owner lane, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Priority (default high).
    #[arg(long, default_value = "high")]
    priority: String,
    /// Artifact paths, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    artifact: Vec<String>,
    /// The owner wave may not close until this ticket is resolved.
    #[arg(long)]
    required: bool,
    /// Closure condition (default `required=true` with --required).
    #[arg(long)]
    closure_condition: Option<String>,
    /// Ticket id (default `dep-<kind>-<8 hex>`).
    #[arg(long)]
    id: Option<String>,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `wave dep`.
pub fn run(settings: &Settings, args: DepArgs) -> Result<Code, CliError> {
    match args.command {
        DepCommand::Post(a) => post(settings, *a),
        DepCommand::Show(a) => show(settings, a),
    }
}

fn post(settings: &Settings, a: PostArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, Some(a.owner_lane.clone()))?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let now_text = time::format(now);
    let id =
        a.id.unwrap_or_else(|| default_id("dep", "request", &[&a.agent, &a.summary, &now_text]));
    let closure = a.closure_condition.unwrap_or_else(|| {
        if a.required {
            "required=true".into()
        } else {
            String::new()
        }
    });
    let mut obj = Map::new();
    obj.insert("id".into(), id.clone().into());
    obj.insert("kind".into(), "request".into());
    obj.insert("lane".into(), a.owner_lane.clone().into());
    obj.insert("wave".into(), a.owner_wave.map_or(Value::Null, Value::from));
    obj.insert("agentId".into(), a.agent.into());
    obj.insert("targets".into(), a.target.into());
    obj.insert("priority".into(), a.priority.into());
    obj.insert("summary".into(), a.summary.into());
    obj.insert("detail".into(), a.detail.into());
    obj.insert("artifactRefs".into(), a.artifact.into());
    obj.insert("closureCondition".into(), closure.into());
    obj.insert("source".into(), "launcher".into());
    obj.insert("ownerLane".into(), a.owner_lane.clone().into());
    obj.insert("requesterLane".into(), a.requester_lane.into());
    obj.insert(
        "ownerWave".into(),
        a.owner_wave.map_or(Value::Null, Value::from),
    );
    obj.insert(
        "requesterWave".into(),
        a.requester_wave.map_or(Value::Null, Value::from),
    );
    obj.insert("required".into(), a.required.into());
    obj.insert("createdAt".into(), now_text.clone().into());
    let record = normalize(obj, &now_text)?;
    append(
        settings,
        &*store,
        &StreamId::dependencies(&a.owner_lane),
        now,
        std::slice::from_ref(&record),
    )?;
    output::print_text(&format!("posted {id} to lane {}", a.owner_lane))?;
    Ok(Code::OK)
}

fn show(settings: &Settings, a: ShowArgs) -> Result<Code, CliError> {
    let now = settings.now();
    let loaded = Loaded::read(settings, &a.sel, &time::format(now))?;
    let state = reducer::reduce(&loaded.inputs(a.sel.wave, now.as_millisecond()));
    if a.json {
        output::print_json(&state.dependencies)?;
    } else {
        let mut text = String::new();
        for d in &state.dependencies {
            text.push_str(&format!(
                "{:<9} {:<24} {:<8} {}{} {}\n",
                d.direction,
                d.id,
                d.status,
                if d.required { "required " } else { "" },
                d.assigned_agent_id.as_deref().unwrap_or("-"),
                d.summary
            ));
        }
        if text.is_empty() {
            text.push_str("no open dependencies\n");
        }
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}
