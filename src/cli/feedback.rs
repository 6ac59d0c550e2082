//! `wave feedback`: human feedback requests — list them and answer them. An answer is a
//! `human_input answered` control-plane event plus the resolved human-feedback record, both
//! written through the store.

use clap::{Args, Subcommand};
use serde_json::Map;

use super::control::{Loaded, append_event};
use super::coord::{WaveSel, append};
use super::{CliError, output};
use crate::engine::reducer;
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
    let now = settings.now();
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
    let now = settings.now();
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
    // Reconcile: the request's records, the clarifications they answer, and those
    // clarifications' follow-up requests and escalations (§3.10).
    let records = loaded
        .coordination
        .iter()
        .map(|r| super::coord_render::to_engine(r, &now_text))
        .collect::<Result<Vec<_>, _>>()?;
    let state = crate::engine::coordination::materialize(records);
    let updates = crate::engine::triage::reconcile_answer(&state, &a.id, &a.response, &now_text)
        .iter()
        .map(|r| super::coord_render::to_store(r, &now_text))
        .collect::<Result<Vec<_>, _>>()?;
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
