//! `wave coord`: post, list and show coordination records.
//!
//! Records are written only through the store (`--store`, default `dir:.wave/state`) as this
//! process's writer; reads merge the store's writers with the repository's upstream log.
//! Comma lists are lists everywhere (`--target agent:A1,agent:A2`).

use clap::{Args, Subcommand};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::control::{Layout, open_store, read_records, store_error};
use super::{CliError, output};
use crate::engine::reducer::CoordRecord;
use crate::event::time;
use crate::exit::Code;
use crate::settings::Settings;
use crate::store::{EventStore, StreamId};

/// Arguments of `wave coord`.
#[derive(Debug, Args)]
pub struct CoordArgs {
    #[command(subcommand)]
    command: CoordCommand,
}

#[derive(Debug, Subcommand)]
enum CoordCommand {
    /// Append a coordination record.
    Post(Box<PostArgs>),
    /// List the latest coordination records of a wave.
    List(ListArgs),
    /// Show one record's latest version.
    Show(ShowArgs),
    /// Run clarification triage and write the wave's derived projections.
    Render(super::coord_render::RenderArgs),
}

/// Which wave.
#[derive(Debug, Clone, Args)]
pub(crate) struct WaveSel {
    /// Lane (default: the config's `defaultLane`, else `main`).
    #[arg(long)]
    pub lane: Option<String>,
    /// Wave number.
    #[arg(long, default_value_t = 0)]
    pub wave: u32,
}

#[derive(Debug, Args)]
struct PostArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Author agent id.
    #[arg(long)]
    agent: String,
    /// Record kind (request, blocker, clarification-request, evidence, …).
    #[arg(long)]
    kind: String,
    /// One-line summary.
    #[arg(long)]
    summary: String,
    /// Detail.
    #[arg(long, default_value = "")]
    detail: String,
    /// Targets (`agent:<id>`, `capability:<cap>`), comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    target: Vec<String>,
    /// Priority: low, normal, high, urgent.
    #[arg(long)]
    priority: Option<String>,
    /// Ids this record depends on, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    depends_on: Vec<String>,
    /// Artifact paths, comma-separated or repeated.
    #[arg(long, value_delimiter = ',')]
    artifact: Vec<String>,
    /// Status (default per kind).
    #[arg(long)]
    status: Option<String>,
    /// Whether it blocks the wave (default per kind).
    #[arg(long)]
    blocking: Option<bool>,
    /// Record id (default `coord-<kind>-<8 hex>`).
    #[arg(long)]
    id: Option<String>,
    /// Print the stored record as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Only open records.
    #[arg(long)]
    open: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Record id.
    #[arg(long)]
    id: String,
}

/// Runs `wave coord`.
pub fn run(settings: &Settings, args: CoordArgs) -> Result<Code, CliError> {
    match args.command {
        CoordCommand::Post(a) => post(settings, *a),
        CoordCommand::List(a) => list(settings, a),
        CoordCommand::Show(a) => show(settings, a),
        CoordCommand::Render(a) => super::coord_render::run(settings, a),
    }
}

/// A deterministic default id: `<prefix>-<kind>-<8 hex>` from the record's identity and time.
pub(crate) fn default_id(prefix: &str, kind: &str, parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    format!("{prefix}-{kind}-{}", &hex::encode(h.finalize())[..8])
}

/// Normalizes a record object through the reader's rules; an invalid record is a usage error.
pub(crate) fn normalize(obj: Map<String, Value>, now: &str) -> Result<CoordRecord, CliError> {
    CoordRecord::from_line(&Value::Object(obj).to_string(), now)
        .map_err(|e| CliError::usage(e.to_string()))
}

/// Appends records to a stream as this process's writer.
pub(crate) fn append(
    settings: &Settings,
    store: &dyn EventStore,
    stream: &StreamId,
    now: jiff::Timestamp,
    records: &[CoordRecord],
) -> Result<(), CliError> {
    let maps: Vec<Map<String, Value>> = records.iter().map(CoordRecord::to_map).collect();
    store
        .append(stream, &settings.writer, now, &maps)
        .map_err(store_error)?;
    Ok(())
}

fn post(settings: &Settings, a: PostArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.sel.lane.clone())?;
    let store = open_store(settings, &layout)?;
    let now = settings.now();
    let now_text = time::format(now);
    let id =
        a.id.unwrap_or_else(|| default_id("coord", &a.kind, &[&a.agent, &a.summary, &now_text]));
    let mut obj = Map::new();
    obj.insert("id".into(), id.into());
    obj.insert("kind".into(), a.kind.into());
    obj.insert("lane".into(), layout.lane.clone().into());
    obj.insert("wave".into(), a.sel.wave.into());
    obj.insert("agentId".into(), a.agent.into());
    obj.insert("targets".into(), a.target.into());
    obj.insert("summary".into(), a.summary.into());
    obj.insert("detail".into(), a.detail.into());
    obj.insert("dependsOn".into(), a.depends_on.into());
    obj.insert("artifactRefs".into(), a.artifact.into());
    obj.insert("source".into(), "agent".into());
    obj.insert("createdAt".into(), now_text.clone().into());
    obj.insert("updatedAt".into(), now_text.clone().into());
    if let Some(p) = a.priority {
        obj.insert("priority".into(), p.into());
    }
    if let Some(s) = a.status {
        obj.insert("status".into(), s.into());
    }
    if let Some(b) = a.blocking {
        obj.insert("blocking".into(), b.into());
    }
    let record = normalize(obj, &now_text)?;
    let stream = StreamId::coordination(&layout.lane, a.sel.wave);
    append(
        settings,
        &*store,
        &stream,
        now,
        std::slice::from_ref(&record),
    )?;
    if a.json {
        output::print_json(&Value::Object(record.to_map()))?;
    } else {
        output::print_text(&format!("posted {} ({})", record.id, record.kind))?;
    }
    Ok(Code::OK)
}

fn list(settings: &Settings, a: ListArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.sel.lane)?;
    let store = open_store(settings, &layout)?;
    let now = time::format(settings.now());
    let records = read_records(
        &*store,
        &StreamId::coordination(&layout.lane, a.sel.wave),
        &now,
    )?;
    let shown: Vec<&CoordRecord> = records.iter().filter(|r| !a.open || r.is_open()).collect();
    if a.json {
        let values: Vec<Value> = shown.iter().map(|r| Value::Object(r.to_map())).collect();
        output::print_json(&values)?;
    } else {
        let mut text = String::new();
        for r in shown {
            text.push_str(&format!(
                "{:<28} {:<22} {:<12} {:<6} {}\n",
                r.id, r.kind, r.status, r.agent_id, r.summary
            ));
        }
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}

fn show(settings: &Settings, a: ShowArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, a.sel.lane)?;
    let store = open_store(settings, &layout)?;
    let now = time::format(settings.now());
    let records = read_records(
        &*store,
        &StreamId::coordination(&layout.lane, a.sel.wave),
        &now,
    )?;
    match records.iter().find(|r| *r.id == *a.id) {
        Some(r) => {
            output::print_json(&Value::Object(r.to_map()))?;
            Ok(Code::OK)
        }
        None => Err(CliError::user(format!(
            "no coordination record `{}` in lane {} wave {}",
            a.id, layout.lane, a.sel.wave
        ))
        .hint("list the wave's records with `wave coord list`")),
    }
}
