//! `wave control`: the wave's control-plane status.
//!
//! `status` reads the wave's canonical streams in upstream's layout (`.tmp/<lane>-wave-launcher/`
//! coordination and control-plane logs and result envelopes, `.tmp/wave-orchestrator/dependencies/`),
//! folds them line by line and prints the reduced state. A malformed line is reported on stderr
//! with its file and line number and skipped.

use std::fs;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::CliError;
use super::output;
use crate::engine::control::ControlLog;
use crate::engine::reducer::{self, CoordFold, CoordRecord, RoleIds, Roster, WaveInputs};
use crate::event::control::{ControlEvent, EventDefaults};
use crate::event::envelope::ResultEnvelope;
use crate::event::time;
use crate::exit::Code;
use crate::render;
use crate::settings::Settings;

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
}

#[derive(Debug, Args)]
struct StatusArgs {
    /// Lane (default: the config's `defaultLane`, else `main`).
    #[arg(long)]
    lane: Option<String>,
    /// Wave number.
    #[arg(long, default_value_t = 0)]
    wave: u64,
    /// Print upstream's JSON payload instead of a summary.
    #[arg(long)]
    json: bool,
}

/// Runs `wave control`.
pub fn run(settings: &Settings, args: ControlArgs) -> Result<Code, CliError> {
    match args.command {
        ControlCommand::Status(a) => status(settings, a),
    }
}

/// The parts of `wave.config.json` the status needs.
pub(crate) struct Layout {
    pub lane: String,
    pub state_root: PathBuf,
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
        Ok(Layout {
            state_root: root
                .join(text("/paths/stateRoot").unwrap_or_else(|| ".tmp".into()))
                .join(format!("{lane}-wave-launcher")),
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

/// Folds every line of a JSONL file; a missing file is empty. Bad lines are reported and skipped.
pub(crate) fn fold_jsonl(
    path: &Path,
    mut each: impl FnMut(&str, u64) -> Result<(), String>,
) -> Result<(), CliError> {
    let file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(CliError::internal(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let mut reader = io::BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(4096);
    let mut number = 0u64;
    loop {
        buf.clear();
        let n = reader
            .read_until(b'\n', &mut buf)
            .map_err(|e| CliError::internal(format!("cannot read {}: {e}", path.display())))?;
        if n == 0 {
            break;
        }
        number += 1;
        let line = match std::str::from_utf8(&buf) {
            Ok(l) => l.trim(),
            Err(_) => {
                output::eprint_line(&format!(
                    "warning: {}:{number}: not UTF-8; line skipped",
                    path.display()
                ));
                continue;
            }
        };
        if line.is_empty() {
            continue;
        }
        if let Err(message) = each(line, number) {
            output::eprint_line(&format!(
                "warning: {}:{number}: {message}; line skipped",
                path.display()
            ));
        }
    }
    Ok(())
}

/// Folds one coordination-format JSONL file into its latest records, reporting bad lines.
pub(crate) fn fold_file(path: &Path, now: &str) -> Result<Vec<CoordRecord>, CliError> {
    let mut fold = CoordFold::new();
    fold_jsonl(path, |line, n| {
        fold.push_line(line, n);
        Ok(())
    })?;
    let (records, rejected) = fold.finish(now);
    for r in rejected {
        output::eprint_line(&format!(
            "warning: {}:{}: {}; line skipped",
            path.display(),
            r.position,
            r.error
        ));
    }
    Ok(records)
}

fn jsonl_files(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

fn latest_envelopes(results: &Path, roster: &Roster) -> Vec<ResultEnvelope> {
    let mut out: Vec<ResultEnvelope> = Vec::new();
    let Ok(attempts) = fs::read_dir(results) else {
        return out;
    };
    let mut dirs: Vec<(u64, PathBuf)> = attempts
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let n = name.strip_prefix("attempt-")?.parse().ok()?;
            Some((n, e.path()))
        })
        .collect();
    dirs.sort();
    for (attempt, dir) in dirs {
        for agent in &roster.agents {
            let path = dir.join(format!("{}.json", agent.id));
            let Ok(text) = fs::read_to_string(&path) else {
                continue;
            };
            match ResultEnvelope::parse(&text, Some(&agent.id)) {
                Ok(mut env) => {
                    env.attempt = env.attempt.or(Some(attempt));
                    out.retain(|e| e.agent_id != env.agent_id);
                    out.push(env);
                }
                Err(e) => output::eprint_line(&format!(
                    "warning: {}: {e}; envelope ignored",
                    path.display()
                )),
            }
        }
    }
    out
}

fn status(settings: &Settings, args: StatusArgs) -> Result<Code, CliError> {
    let layout = Layout::read(&settings.repo_root, args.lane)?;
    let roster = layout.roster(args.wave)?;
    let now = jiff::Timestamp::now();
    let now_text = time::format(now);
    let wave = args.wave;

    let coord_path = layout
        .state_root
        .join("coordination")
        .join(format!("wave-{wave}.jsonl"));
    let coordination = fold_file(&coord_path, &now_text)?;
    let mut dependencies = Vec::new();
    for file in jsonl_files(&layout.orchestrator_dir.join("dependencies")) {
        dependencies.extend(fold_file(&file, &now_text)?);
    }

    let mut control = ControlLog::new();
    let defaults = EventDefaults {
        lane: Some(layout.lane.clone()),
        wave: Some(wave),
        ..EventDefaults::default()
    };
    let control_path = layout
        .state_root
        .join("control-plane")
        .join(format!("wave-{wave}.jsonl"));
    fold_jsonl(&control_path, |line, _| {
        let ev = ControlEvent::from_line(line, &defaults).map_err(|e| e.to_string())?;
        control.insert(ev);
        Ok(())
    })?;
    let control = control.materialize();
    let envelopes = latest_envelopes(
        &layout
            .state_root
            .join("results")
            .join(format!("wave-{wave}")),
        &roster,
    );

    let inputs = WaveInputs {
        lane: &layout.lane,
        wave,
        roster: &roster,
        coordination: &coordination,
        dependencies: &dependencies,
        control: &control,
        envelopes: &envelopes,
        now_ms: now.as_millisecond(),
    };
    let state = reducer::reduce(&inputs);
    if args.json {
        let stdout = io::stdout().lock();
        match render::status::write_json(&state, stdout) {
            Err(e) if e.kind() != io::ErrorKind::BrokenPipe => return Err(e.into()),
            _ => {}
        }
    } else {
        output::print_text(&render::status::to_text(&state))?;
    }
    Ok(Code::OK)
}
