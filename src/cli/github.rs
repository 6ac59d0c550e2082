//! `wave github report|ingest`: publish a wave's verdict to GitHub and ingest GitHub events.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::{Value, json};

use super::{CliError, ErrorKind, output};
use crate::engine::reducer::{self, WaveInputs};
use crate::exit::Code;
use crate::github::GithubError;
use crate::github::actions;
use crate::github::client::{
    Api, ApiRequest, Credentials, DEFAULT_API_URL, DryRunApi, OctocrabApi, RetryPolicy,
};
use crate::github::ingest::{self, IngestPolicy, Target};
use crate::github::publish::{self, Destination};
use crate::github::report::{self, ReportState, Stamp, WaveReport};
use crate::github::verdict::{self, EngineView};
use crate::plan::WavePlan;
use crate::render::github as text;
use crate::settings::Settings;
use crate::store::StreamId;

use super::control;

/// Arguments of `wave github`.
#[derive(Debug, Args)]
pub struct GithubArgs {
    #[command(subcommand)]
    command: GithubCommand,
}

#[derive(Debug, Subcommand)]
enum GithubCommand {
    /// Publish a wave's check run, sticky PR comment and human-request comments.
    Report(ReportArgs),
    /// Record `/wave answer|rerun|resolve` comments and pushes from a GitHub event payload.
    Ingest(IngestArgs),
}

/// Arguments of `wave github report`.
#[derive(Debug, Args)]
pub(crate) struct ReportArgs {
    /// Lane (default: the config's `defaultLane`, else `main`).
    #[arg(long)]
    pub(crate) lane: Option<String>,
    /// Wave number.
    #[arg(long)]
    pub(crate) wave: u32,
    /// Commit for the check run (default: $GITHUB_SHA; for pull requests, the head SHA).
    #[arg(long)]
    pub(crate) sha: Option<String>,
    /// Pull request (or issue) whose thread gets the comments (default: from the event payload).
    #[arg(long, alias = "issue")]
    pub(crate) pr: Option<u64>,
    /// Repository `owner/name` (default: $GITHUB_REPOSITORY).
    #[arg(long)]
    pub(crate) repo: Option<String>,
    /// Publish this `WaveReport` JSON instead of reading the wave's state (see docs/github.md).
    #[arg(long, value_name = "PATH", conflicts_with = "status_json")]
    pub(crate) report_json: Option<PathBuf>,
    /// Build the report from `wave control status --json` output instead of reading the
    /// wave's state.
    #[arg(long, value_name = "PATH")]
    pub(crate) status_json: Option<PathBuf>,
    /// Report a runner or infrastructure failure (`infra: TEXT`) instead of a verdict, e.g.
    /// when `wave launch` itself crashed.
    #[arg(long, value_name = "TEXT")]
    pub(crate) infra_error: Option<String>,
    /// Plan hash for the verdict stamp (default: sha256 of the wave file, the role prompts it
    /// imports and wave.config.json).
    #[arg(long)]
    pub(crate) plan_hash: Option<String>,
    /// Print every request that would be sent; send none.
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Print what was published as JSON.
    #[arg(long)]
    pub(crate) json: bool,
    /// Set by `wave ci close` when it dispatches another attempt: a failed attempt with another
    /// one on its way is reported as in progress, not as the wave's verdict.
    #[arg(skip)]
    pub(crate) next_attempt: Option<u64>,
}

/// Arguments of `wave github ingest`.
#[derive(Debug, Args)]
struct IngestArgs {
    /// The event payload (default: $GITHUB_EVENT_PATH).
    #[arg(long, value_name = "PATH")]
    event: Option<PathBuf>,
    /// Event name (default: $GITHUB_EVENT_NAME, else guessed from the payload).
    #[arg(long)]
    event_name: Option<String>,
    /// Lane the commands apply to (default: found from the request id in the store).
    #[arg(long)]
    lane: Option<String>,
    /// Wave the commands apply to (default: found from the request id in the store).
    #[arg(long)]
    wave: Option<u32>,
    /// Author associations allowed to steer waves, comma-separated
    /// (default: $WAVE_GITHUB_ALLOWED_ASSOCIATIONS, else OWNER,MEMBER,COLLABORATOR).
    #[arg(long, value_delimiter = ',')]
    allow: Vec<String>,
    /// Bot logins allowed to steer waves, comma-separated (default: $WAVE_GITHUB_ALLOWED_BOTS).
    #[arg(long, value_delimiter = ',')]
    allow_bot: Vec<String>,
    /// Show what would be recorded; record nothing.
    #[arg(long)]
    dry_run: bool,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
}

/// Runs `wave github`.
pub fn run(settings: &Settings, args: GithubArgs) -> Result<Code, CliError> {
    match args.command {
        GithubCommand::Report(args) => report_cmd(settings, args),
        GithubCommand::Ingest(args) => ingest_cmd(settings, args),
    }
}

impl From<GithubError> for CliError {
    fn from(err: GithubError) -> Self {
        let kind = match &err {
            GithubError::Missing { .. }
            | GithubError::Invalid { .. }
            | GithubError::AppAuth { .. } => ErrorKind::Config,
            GithubError::Payload { .. } | GithubError::Ambiguous { .. } => ErrorKind::User,
            _ => ErrorKind::Internal,
        };
        let code = match kind {
            ErrorKind::Internal => Code::INTERNAL,
            _ => Code::FAILURE,
        };
        CliError::from_error(kind, &err, code)
    }
}

/// Masks every secret the run knows before anything else is printed (Actions only). The
/// runner reads workflow commands from stderr as well as stdout; stderr keeps stdout data-only.
fn mask_secrets(settings: &Settings) -> Result<(), CliError> {
    if !settings.github_actions {
        return Ok(());
    }
    for line in actions::mask_vars([], |name| settings.env.get(name)) {
        output::eprint_line(&line);
    }
    Ok(())
}

fn read_json(path: &Path) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::user(format!("cannot read {}: {e}", path.display())))?;
    serde_json::from_str(&text).map_err(|e| {
        CliError::user(format!(
            "{}:{}:{}: not JSON: {e}",
            path.display(),
            e.line(),
            e.column()
        ))
    })
}

fn split_repo(repo: &str) -> Result<(String, String), CliError> {
    match repo.split_once('/') {
        Some((o, n)) if !o.is_empty() && !n.is_empty() && !n.contains('/') => {
            Ok((o.to_owned(), n.to_owned()))
        }
        _ => Err(CliError::usage(format!(
            "repository `{repo}` is not `owner/name`"
        ))),
    }
}

/// The wave's plan, when the lane loads and the wave parses.
fn load_plan(settings: &Settings, lane: &str, wave: u32) -> Option<WavePlan> {
    let plans = crate::plan::load_lane(&settings.repo_root, Some(lane)).ok()?;
    plans.waves.into_iter().find(|w| w.wave == u64::from(wave))
}

/// The plan hash of the stamp: the wave file, the role prompts it imports and
/// wave.config.json. Without a plan that parses, the wave file at its default place and the
/// config.
fn plan_hash(settings: &Settings, plan: Option<&WavePlan>, wave: u32) -> String {
    let paths = match plan {
        Some(plan) => verdict::plan_files(plan),
        None => vec![
            format!("docs/plans/waves/wave-{wave}.md"),
            "wave.config.json".to_owned(),
        ],
    };
    let contents: Vec<(String, Option<Vec<u8>>)> = paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(settings.repo_root.join(&p)).ok();
            (p, bytes)
        })
        .collect();
    let files: Vec<(&str, Option<&[u8]>)> = contents
        .iter()
        .map(|(p, b)| (p.as_str(), b.as_deref()))
        .collect();
    verdict::plan_hash(&files)
}

/// Reads the wave's state from the store and builds its report from the engine's records.
fn report_from_store(
    settings: &Settings,
    lane: &str,
    wave: u32,
    plan: Option<&WavePlan>,
    stamp: Stamp,
) -> Result<WaveReport, CliError> {
    let now = jiff::Timestamp::now();
    let now_text = crate::event::time::format(now);
    let layout = control::Layout::read(&settings.repo_root, Some(lane.to_owned()))?;
    let roster = layout.roster(u64::from(wave))?;
    let store = control::open_store(settings, &layout)?;
    let coordination =
        control::read_records(&*store, &StreamId::coordination(lane, wave), &now_text)?;
    let dependencies = control::read_dependencies(&*store, &now_text)?;
    let log = control::read_control(&*store, lane, wave)?;
    let control_state = log.materialize();
    let envelopes = control::read_envelopes(&*store, lane, wave, &roster)?;
    let inputs = WaveInputs {
        lane,
        wave: u64::from(wave),
        roster: &roster,
        coordination: &coordination,
        dependencies: &dependencies,
        control: &control_state,
        envelopes: &envelopes,
        now_ms: now.as_millisecond(),
    };
    let status = reducer::reduce(&inputs);
    let root = settings.repo_root.clone();
    let exists = move |path: &str| root.join(path).exists();
    Ok(verdict::from_engine(&EngineView {
        status: &status,
        log: &log,
        control: &control_state,
        plan,
        exists: &exists,
        stamp,
    }))
}

fn event_payload(settings: &Settings) -> Option<Value> {
    let path = settings.env.get("GITHUB_EVENT_PATH")?;
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

pub(crate) fn load_report(
    settings: &Settings,
    args: &ReportArgs,
    lane: &str,
    sha: &str,
) -> Result<WaveReport, CliError> {
    let plan = load_plan(settings, lane, args.wave);
    let stamp = Stamp {
        commit: sha.to_owned(),
        plan_hash: args
            .plan_hash
            .clone()
            .unwrap_or_else(|| plan_hash(settings, plan.as_ref(), args.wave)),
        runner_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let mut report = if let Some(path) = &args.report_json {
        let value = read_json(path)?;
        serde_json::from_value::<WaveReport>(value).map_err(|e| {
            CliError::user(format!("{}: not a wave report: {e}", path.display()))
                .hint("see docs/github.md for the report's fields")
        })?
    } else if let Some(path) = &args.status_json {
        report::from_control_status(&read_json(path)?, stamp.clone())
            .map_err(|e| CliError::user(format!("{}: {e}", path.display())))?
    } else {
        match report_from_store(settings, lane, args.wave, plan.as_ref(), stamp.clone()) {
            Ok(report) => report,
            // The state could not be read: that is the runner's failure, never a verdict.
            Err(e) if e.kind == ErrorKind::Internal => {
                output::eprint_line(&format!("warning: {}", e.message));
                infra_report(lane, args.wave, stamp.clone(), &e.message)
            }
            Err(e) => return Err(e),
        }
    };
    if let Some(text) = &args.infra_error {
        report.state = ReportState::InfraError;
        report.infra_error = Some(text.clone());
    }
    if report.lane != lane || report.wave != args.wave {
        return Err(CliError::user(format!(
            "the report is for {}/{} but --lane/--wave say {lane}/{}",
            report.lane, report.wave, args.wave
        )));
    }
    if report.stamp.commit.is_empty() {
        report.stamp.commit = stamp.commit;
    }
    if args.plan_hash.is_some() || report.stamp.plan_hash.is_empty() {
        report.stamp.plan_hash = stamp.plan_hash;
    }
    if report.stamp.runner_version.is_empty() {
        report.stamp.runner_version = stamp.runner_version;
    }
    if let (None, Some(server), Some(repo), Some(run)) = (
        &report.details_url,
        settings.env.get("GITHUB_SERVER_URL"),
        settings.env.get("GITHUB_REPOSITORY"),
        settings.env.get("GITHUB_RUN_ID"),
    ) {
        report.details_url = Some(format!("{server}/{repo}/actions/runs/{run}"));
    }
    Ok(report)
}

/// A report that says only that the runner failed.
fn infra_report(lane: &str, wave: u32, stamp: Stamp, message: &str) -> WaveReport {
    WaveReport {
        lane: lane.to_owned(),
        wave,
        state: ReportState::InfraError,
        infra_error: Some(message.to_owned()),
        gates: Vec::new(),
        blockers: Vec::new(),
        requests: Vec::new(),
        agents: Vec::new(),
        problems: Vec::new(),
        retry_targets: Vec::new(),
        stamp,
        details_url: None,
        note: None,
        stale_by: None,
    }
}

fn credentials(settings: &Settings) -> Result<Credentials, CliError> {
    let env = &settings.env;
    if let (Some(app_id), Some(key)) = (
        env.get("WAVE_GITHUB_APP_ID"),
        env.get("WAVE_GITHUB_APP_PRIVATE_KEY"),
    ) {
        let app_id = app_id.parse().map_err(|_| {
            CliError::config(format!("WAVE_GITHUB_APP_ID `{app_id}` is not a number"))
        })?;
        let installation_id = match env.get("WAVE_GITHUB_APP_INSTALLATION_ID") {
            Some(id) => Some(id.parse().map_err(|_| {
                CliError::config(format!(
                    "WAVE_GITHUB_APP_INSTALLATION_ID `{id}` is not a number"
                ))
            })?),
            None => None,
        };
        return Ok(Credentials::App {
            app_id,
            private_key_pem: key.to_owned(),
            installation_id,
        });
    }
    env.get("GITHUB_TOKEN")
        .or_else(|| env.get("WAVE_GITHUB_TOKEN"))
        .map(|t| Credentials::Token(t.to_owned()))
        .ok_or_else(|| {
            CliError::config("no GitHub credentials: GITHUB_TOKEN is not set").hint(
                "pass `GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` (needs checks: write, \
                 pull-requests: write, issues: write), or set WAVE_GITHUB_APP_ID and \
                 WAVE_GITHUB_APP_PRIVATE_KEY",
            )
        })
}

fn retry_policy(settings: &Settings) -> RetryPolicy {
    let mut policy = RetryPolicy::default();
    if let Some(ms) = settings
        .env
        .get("WAVE_GITHUB_RETRY_BASE_MS")
        .and_then(|v| v.parse().ok())
    {
        policy.base_delay = std::time::Duration::from_millis(ms);
    }
    if let Some(secs) = settings
        .env
        .get("WAVE_GITHUB_TIMEOUT_SECS")
        .and_then(|v| v.parse().ok())
    {
        policy.timeout = std::time::Duration::from_secs(secs);
    }
    policy
}

pub(crate) fn report_cmd(settings: &Settings, args: ReportArgs) -> Result<Code, CliError> {
    publish_report(settings, args).map(|_| Code::OK)
}

/// Builds the wave's report, publishes it and returns it (`wave ci close` writes its outputs
/// from the same report).
pub(crate) fn publish_report(
    settings: &Settings,
    args: ReportArgs,
) -> Result<WaveReport, CliError> {
    mask_secrets(settings)?;
    let repo = args
        .repo
        .clone()
        .or_else(|| settings.env.get("GITHUB_REPOSITORY").map(str::to_owned))
        .ok_or_else(|| {
            CliError::config("no repository: GITHUB_REPOSITORY is not set")
                .hint("pass --repo owner/name")
        })?;
    let (owner, name) = split_repo(&repo)?;
    let payload = event_payload(settings);
    let sha = args
        .sha
        .clone()
        .or_else(|| {
            payload
                .as_ref()?
                .pointer("/pull_request/head/sha")?
                .as_str()
                .map(str::to_owned)
        })
        .or_else(|| settings.env.get("GITHUB_SHA").map(str::to_owned))
        .ok_or_else(|| {
            CliError::config("no commit: GITHUB_SHA is not set").hint("pass --sha <commit>")
        })?;
    let thread = args.pr.or_else(|| {
        let p = payload.as_ref()?;
        p.pointer("/pull_request/number")
            .or_else(|| p.pointer("/issue/number"))
            .and_then(Value::as_u64)
    });
    let lane = match &args.lane {
        Some(lane) => lane.clone(),
        None => control::Layout::read(&settings.repo_root, None)?.lane,
    };
    let mut report = load_report(settings, &args, &lane, &sha)?;
    if let Some(n) = args.next_attempt {
        verdict::retrying(&mut report, n);
    }
    let dest = Destination {
        owner: owner.clone(),
        repo: name.clone(),
        sha,
        thread,
        answerers: allowed_associations(settings, &[]),
        now: crate::event::time::format(jiff::Timestamp::now()),
    };

    let published = if args.dry_run {
        let api = DryRunApi::new();
        let published = publish::publish(&api, &dest, &report)?;
        for request in api.requests() {
            print_request(&request)?;
        }
        published
    } else {
        let api_url = settings
            .env
            .get("GITHUB_API_URL")
            .unwrap_or(DEFAULT_API_URL)
            .to_owned();
        let mask = |secret: &str| {
            if settings.github_actions {
                for line in actions::add_mask(secret) {
                    output::eprint_line(&line);
                }
            }
        };
        let api = OctocrabApi::connect(
            &api_url,
            &credentials(settings)?,
            Some((&owner, &name)),
            retry_policy(settings),
            Box::new(output::eprint_line),
            &mask,
        )?;
        publish::publish(&api as &dyn Api, &dest, &report)?
    };

    if !args.dry_run {
        actions_files(settings, &report)?;
    }
    if args.json {
        output::print_json(&json!({
            "dryRun": args.dry_run,
            "state": report.state.as_str(),
            "published": published,
        }))?;
    } else {
        output::eprint_line(&format!(
            "{}: check run {:?} ({}), sticky comment {:?}, {} request comment(s), {} write(s)",
            text::check_run_name(&report.lane, report.wave),
            published.check_run,
            published.conclusion.as_deref().unwrap_or("in_progress"),
            published.sticky_comment,
            published.requests.len(),
            published.writes
        ));
    }
    Ok(report)
}

fn print_request(request: &ApiRequest) -> Result<(), CliError> {
    let mut line = format!("{} {}", request.method.as_str(), request.path);
    if let Some(body) = &request.body {
        line.push('\n');
        line.push_str(&serde_json::to_string_pretty(body).unwrap_or_default());
    }
    output::print_text(&line)
}

/// Writes `$GITHUB_OUTPUT` and `$GITHUB_STEP_SUMMARY` when the runner provides them.
fn actions_files(settings: &Settings, report: &WaveReport) -> Result<(), CliError> {
    if let Some(path) = settings.env.get("GITHUB_OUTPUT") {
        actions::write_outputs(Path::new(path), &verdict::action_outputs(report))?;
    }
    if let Some(path) = settings.env.get("GITHUB_STEP_SUMMARY") {
        actions::write_step_summary(Path::new(path), &text::step_summary(report))?;
    }
    Ok(())
}

fn allowed_associations(settings: &Settings, flag: &[String]) -> Vec<String> {
    let list: Vec<String> = if flag.is_empty() {
        settings
            .env
            .get("WAVE_GITHUB_ALLOWED_ASSOCIATIONS")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    } else {
        flag.to_vec()
    };
    let list: Vec<String> = list
        .into_iter()
        .filter(|s| !s.is_empty())
        .map(|s| s.to_ascii_uppercase())
        .collect();
    if list.is_empty() {
        IngestPolicy::default().allowed_associations
    } else {
        list
    }
}

fn ingest_cmd(settings: &Settings, args: IngestArgs) -> Result<Code, CliError> {
    mask_secrets(settings)?;
    let path = args
        .event
        .clone()
        .or_else(|| settings.env.get("GITHUB_EVENT_PATH").map(PathBuf::from))
        .ok_or_else(|| {
            CliError::usage("no event payload: pass --event PATH (or set GITHUB_EVENT_PATH)")
        })?;
    let payload = read_json(&path)?;
    let event_name = args
        .event_name
        .clone()
        .or_else(|| settings.env.get("GITHUB_EVENT_NAME").map(str::to_owned))
        .or_else(|| ingest::guess_event_name(&payload).map(str::to_owned))
        .ok_or_else(|| {
            CliError::usage(format!(
                "cannot tell which event {} is: pass --event-name",
                path.display()
            ))
        })?;
    let bots: Vec<String> = if args.allow_bot.is_empty() {
        settings
            .env
            .get("WAVE_GITHUB_ALLOWED_BOTS")
            .map(|v| v.split(',').map(|s| s.trim().to_owned()).collect())
            .unwrap_or_default()
    } else {
        args.allow_bot.clone()
    };
    let policy = IngestPolicy {
        allowed_associations: allowed_associations(settings, &args.allow),
        allowed_bots: bots.into_iter().filter(|b| !b.is_empty()).collect(),
        ..IngestPolicy::default()
    };
    let interpretation = ingest::interpret(&event_name, &payload, &policy)?;
    for reason in &interpretation.ignored {
        output::eprint_line(&format!("ingest: ignored: {reason}"));
    }
    let store = crate::store::open_store(settings)
        .map_err(|e| CliError::from_error(ErrorKind::Config, &e, Code::FAILURE))?;
    let target = Target {
        store: store.as_ref(),
        writer: &settings.writer,
        now: jiff::Timestamp::now(),
        lane: args.lane.as_deref(),
        wave: args.wave,
        dry_run: args.dry_run,
    };
    let mut applied = Vec::new();
    for intent in &interpretation.intents {
        for outcome in ingest::apply(&target, intent)? {
            output::eprint_line(&format!("ingest: {outcome}"));
            applied.push(outcome);
        }
    }
    if args.json {
        output::print_json(&json!({
            "event": event_name,
            "dryRun": args.dry_run,
            "applied": applied,
            "ignored": interpretation.ignored,
        }))?;
    }
    Ok(Code::OK)
}
