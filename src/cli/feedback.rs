//! `wave feedback`: human feedback requests — list them and answer them. An answer is a
//! `human_input answered` control-plane event plus the resolved human-feedback record, both
//! written through the store.

use clap::{Args, Subcommand};
use serde_json::Map;

use super::control::{Loaded, append_event};
use super::coord::{WaveSel, append};
use super::{CliError, output};
use crate::engine::reducer;
use crate::event::coordination::Status;
use crate::event::time;
use crate::exit::Code;
use crate::settings::Settings;
use crate::store::StreamId;

/// Arguments of `wave feedback`.
#[derive(Debug, Args)]
pub struct FeedbackArgs {
    #[command(subcommand)]
    command: FeedbackCommand,
}

#[derive(Debug, Subcommand)]
enum FeedbackCommand {
    /// List a wave's feedback requests.
    List(ListArgs),
    /// Answer a feedback request.
    Respond(RespondArgs),
}

#[derive(Debug, Args)]
struct ListArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Only unanswered requests.
    #[arg(long)]
    pending: bool,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct RespondArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Request id.
    #[arg(long)]
    id: String,
    /// The answer.
    #[arg(long)]
    response: String,
    /// Who answers.
    #[arg(long, default_value = "human-operator")]
    operator: String,
    /// Answer again even when already answered.
    #[arg(long)]
    force: bool,
}

/// Runs `wave feedback`.
pub fn run(settings: &Settings, args: FeedbackArgs) -> Result<Code, CliError> {
    match args.command {
        FeedbackCommand::List(a) => list(settings, a),
        FeedbackCommand::Respond(a) => respond(settings, a),
    }
}

fn list(settings: &Settings, a: ListArgs) -> Result<Code, CliError> {
    let now = jiff::Timestamp::now();
    let loaded = Loaded::read(settings, &a.sel, &time::format(now))?;
    let state = reducer::reduce(&loaded.inputs(a.sel.wave, now.as_millisecond()));
    let shown: Vec<_> = state
        .feedback_requests
        .iter()
        .filter(|f| !a.pending || f.status == "pending")
        .collect();
    if a.json {
        output::print_json(&shown)?;
    } else {
        let mut text = String::new();
        for f in shown {
            text.push_str(&format!(
                "{:<40} {:<9} {:<6} {}\n",
                f.id, f.status, f.agent_id, f.question
            ));
        }
        if text.is_empty() {
            text.push_str("no feedback requests\n");
        }
        output::print_text(&text)?;
    }
    Ok(Code::OK)
}

fn respond(settings: &Settings, a: RespondArgs) -> Result<Code, CliError> {
    let now = jiff::Timestamp::now();
    let now_text = time::format(now);
    let loaded = Loaded::read(settings, &a.sel, &now_text)?;
    let state = reducer::reduce(&loaded.inputs(a.sel.wave, now.as_millisecond()));
    let request = state
        .feedback_requests
        .iter()
        .find(|f| f.id == a.id)
        .ok_or_else(|| {
            CliError::user(format!("no feedback request `{}`", a.id))
                .hint("list requests with `wave feedback list`")
        })?;
    if request.status == "answered" && !a.force {
        return Err(
            CliError::user(format!("feedback request `{}` is already answered", a.id))
                .hint("pass --force to answer it again"),
        );
    }
    let mut data = Map::new();
    data.insert("humanInputId".into(), a.id.clone().into());
    data.insert("requestId".into(), a.id.clone().into());
    data.insert("state".into(), "answered".into());
    data.insert("operator".into(), a.operator.clone().into());
    data.insert("response".into(), a.response.clone().into());
    let lane = loaded.layout.lane.clone();
    append_event(
        settings,
        &*loaded.store,
        &lane,
        a.sel.wave,
        now,
        "human_input",
        &a.id,
        "answered",
        data,
    )?;
    // Resolve the request's open records: itself, and any that reference it.
    let updates: Vec<_> = loaded
        .coordination
        .iter()
        .filter(|r| {
            r.is_open()
                && (*r.id == *a.id
                    || r.artifact_refs.iter().any(|x| **x == *a.id)
                    || r.depends_on.iter().any(|x| **x == *a.id))
        })
        .map(|r| {
            let mut r = r.clone();
            r.status = Status::Resolved;
            r.updated_at = now_text.as_str().into();
            r
        })
        .collect();
    if !updates.is_empty() {
        append(
            settings,
            &*loaded.store,
            &StreamId::coordination(&lane, a.sel.wave),
            now,
            &updates,
        )?;
    }
    output::print_text(&format!(
        "answered {} ({} record(s) resolved)",
        a.id,
        updates.len()
    ))?;
    Ok(Code::OK)
}
