//! `wave feedback`: human feedback requests — ask, list, show and answer them. A request is an
//! open `human-feedback` coordination record whose id is the request id (§3.10); an answer is a
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
    /// Ask a human a question on behalf of an agent (prints the request id).
    Ask(AskArgs),
    /// Show one feedback request.
    Show(ShowArgs),
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
struct AskArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// The asking agent's id.
    #[arg(long)]
    agent: String,
    /// The question for the human.
    #[arg(long)]
    question: String,
    /// What was tried, the options and their impact.
    #[arg(long, default_value = "")]
    context: String,
    /// The orchestrator the request is routed through.
    #[arg(long)]
    orchestrator_id: Option<String>,
    /// Wait for the answer and print it.
    #[arg(long)]
    wait: bool,
    /// How long `--wait` waits before giving up (exit 43).
    #[arg(long, default_value_t = 1800)]
    timeout_seconds: u64,
    /// Print JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ShowArgs {
    #[command(flatten)]
    sel: WaveSel,
    /// Request id.
    #[arg(long)]
    id: String,
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
        FeedbackCommand::Ask(a) => ask(settings, a),
        FeedbackCommand::Show(a) => show(settings, a),
        FeedbackCommand::List(a) => list(settings, a),
        FeedbackCommand::Respond(a) => respond(settings, a),
    }
}

fn find(
    settings: &Settings,
    sel: &WaveSel,
    id: &str,
) -> Result<Option<reducer::FeedbackRequest>, CliError> {
    let now = jiff::Timestamp::now();
    let loaded = Loaded::read(settings, sel, &time::format(now))?;
    let state = reducer::reduce(&loaded.inputs(sel.wave, now.as_millisecond()));
    Ok(state.feedback_requests.into_iter().find(|f| f.id == id))
}

fn ask(settings: &Settings, a: AskArgs) -> Result<Code, CliError> {
    if a.question.trim().is_empty() {
        return Err(CliError::usage("--question is empty").hint("say what the human should decide"));
    }
    let now = jiff::Timestamp::now();
    let now_text = time::format(now);
    let loaded = Loaded::read(settings, &a.sel, &now_text)?;
    let lane = loaded.layout.lane.clone();
    let id = crate::engine::triage::human_request_id(
        &lane,
        u64::from(a.sel.wave),
        &a.agent,
        &format!("{}\0{}", a.question, settings.writer),
        &now_text,
    );
    let mut obj = Map::new();
    obj.insert("id".into(), id.clone().into());
    obj.insert("kind".into(), "human-feedback".into());
    obj.insert("lane".into(), lane.clone().into());
    obj.insert("wave".into(), a.sel.wave.into());
    obj.insert("agentId".into(), a.agent.clone().into());
    obj.insert("targets".into(), vec![format!("agent:{}", a.agent)].into());
    obj.insert("priority".into(), "high".into());
    obj.insert("summary".into(), a.question.trim().into());
    obj.insert("detail".into(), a.context.trim().into());
    obj.insert("status".into(), "open".into());
    obj.insert("source".into(), "feedback".into());
    if let Some(o) = &a.orchestrator_id {
        obj.insert(
            "artifactRefs".into(),
            vec![format!("orchestrator:{o}")].into(),
        );
    }
    obj.insert("createdAt".into(), now_text.clone().into());
    obj.insert("updatedAt".into(), now_text.clone().into());
    let record = super::coord::normalize(obj, &now_text)?;
    append(
        settings,
        &*loaded.store,
        &StreamId::coordination(&lane, a.sel.wave),
        now,
        std::slice::from_ref(&record),
    )?;
    if !a.wait {
        if a.json {
            output::print_json(&serde_json::json!({"id": id, "status": "pending"}))?;
        } else {
            output::print_text(&format!("asked {id} (pending)"))?;
        }
        return Ok(Code::OK);
    }
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(a.timeout_seconds);
    loop {
        if let Some(f) = find(settings, &a.sel, &id)?
            && f.status == "answered"
        {
            if a.json {
                output::print_json(&f)?;
            } else {
                output::print_text(&format!(
                    "{id} answered by {}: {}",
                    f.response_operator, f.response_text
                ))?;
            }
            return Ok(Code::OK);
        }
        if std::time::Instant::now() >= deadline {
            output::eprint_line(&format!(
                "no answer to {id} within {} s; it stays pending",
                a.timeout_seconds
            ));
            return Ok(Code::BLOCKED);
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    }
}

fn show(settings: &Settings, a: ShowArgs) -> Result<Code, CliError> {
    match find(settings, &a.sel, &a.id)? {
        Some(f) => {
            output::print_json(&f)?;
            Ok(Code::OK)
        }
        None => Err(CliError::user(format!("no feedback request `{}`", a.id))
            .hint("list requests with `wave feedback list`")),
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
