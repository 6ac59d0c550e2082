//! `wave state`: the canonical store as such — sync a state branch (`pull`, `push`), show its
//! history (`log`), check any store (`verify`), import directory stores into it (`import`),
//! and the `append` plumbing command.
//!
//! Must not: interpret records beyond their envelope; `verify` checks the store's own
//! invariants (lines parse, per-writer `seq` gap-free, envelopes readable and where they claim).

use std::collections::{BTreeMap, BTreeSet};

use clap::{Args, Subcommand, ValueEnum};
use serde_json::json;

use super::{CliError, output};
use crate::exit::Code;
use crate::settings::Settings;
use crate::store::git::{GitBranchStore, GitStoreError, SyncReport};
use crate::store::{
    DirStore, EventStore, ImportError, ImportReport, LEGACY_WRITER, OUTBOX_VAR, Record, StoreError,
    StoreSpec, StreamId, open_store,
};

/// `wave state …`
#[derive(Debug, Args)]
pub struct StateArgs {
    #[command(subcommand)]
    command: StateCommand,
}

#[derive(Debug, Subcommand)]
enum StateCommand {
    /// Fetch the state branch into the local cache and rebuild unpushed commits on it.
    Pull,
    /// Push the commits kept locally (fetching and rebuilding when the branch moved).
    Push,
    /// Show the state branch's history, newest first.
    Log(LogArgs),
    /// Check the store: every line parses, every writer's `seq` is gap-free, every result
    /// envelope is readable, matches its path and is referenced by an `agent_run` event.
    Verify(VerifyArgs),
    /// Import directory stores (e.g. CI agent jobs' outboxes) into the store: every line
    /// keeps its writer, `seq` and `at`, lines already present are skipped, so importing twice
    /// changes nothing.
    #[command(
        after_help = "Exit codes: 0 imported (also when everything was present); 1 a writer's lines differ between a source and the store, or a source is missing; 70 store error."
    )]
    Import(ImportArgs),
    /// Plumbing: append records to a stream as this process's writer.
    ///
    /// `--repeat N` appends N records one after the other (one commit each on a state branch),
    /// replacing `{i}` in the JSON with 1..N; `--batch` appends them in one call instead.
    Append(AppendArgs),
}

#[derive(Debug, Args)]
struct LogArgs {
    /// How many commits to show.
    #[arg(short = 'n', long, default_value_t = 20)]
    limit: usize,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// Directory stores to import (`dir:` layout), in order; relative paths resolve against the
    /// repository root, as `dir:` store specs do.
    #[arg(value_name = "DIR", required = true)]
    dirs: Vec<std::path::PathBuf>,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum StreamKind {
    Coordination,
    Control,
    Dependencies,
}

#[derive(Debug, Args)]
struct AppendArgs {
    /// Which log.
    #[arg(long, value_enum)]
    stream: StreamKind,
    /// The lane.
    #[arg(long)]
    lane: String,
    /// The wave (required for coordination and control).
    #[arg(long)]
    wave: Option<u32>,
    /// The record: one JSON object without `writer`, `seq` or `at`.
    #[arg(long = "json", value_name = "OBJECT")]
    record: String,
    /// Append this many records, `{i}` in the JSON replaced by 1..N.
    #[arg(long, default_value_t = 1)]
    repeat: u32,
    /// Append all repeated records in one call (one commit).
    #[arg(long)]
    batch: bool,
}

/// Runs `wave state`.
pub fn run(settings: &Settings, args: StateArgs) -> Result<Code, CliError> {
    match args.command {
        StateCommand::Pull => {
            let report = git_store(settings)?.pull().map_err(git_error)?;
            print_report("pulled", &report)
        }
        StateCommand::Push => {
            let report = git_store(settings)?.push().map_err(git_error)?;
            print_report("pushed", &report)
        }
        StateCommand::Log(args) => log(settings, &args),
        StateCommand::Verify(args) => verify(settings, &args),
        StateCommand::Append(args) => append(settings, &args),
        StateCommand::Import(args) => import(settings, &args),
    }
}

fn import(settings: &Settings, args: &ImportArgs) -> Result<Code, CliError> {
    let mut sources = Vec::new();
    for dir in &args.dirs {
        let path = settings.repo_root.join(dir);
        if !path.is_dir() {
            return Err(
                CliError::user(format!("{}: not a directory store", path.display()))
                    .hint("pass the directories the agent jobs recorded into (WAVE_OUTBOX)"),
            );
        }
        sources.push(path);
    }
    let outbox = settings
        .env
        .get(OUTBOX_VAR)
        .is_some_and(|v| !v.trim().is_empty());
    // A state branch takes the whole import as one commit and one push.
    let (described, imported) = match StoreSpec::from_settings(settings).map_err(store_error)? {
        StoreSpec::Git(spec) if !outbox => {
            let store = GitBranchStore::for_settings(spec, settings).map_err(git_error)?;
            let (imported, sync) = store
                .batch(|store| import_all(&sources, store))
                .map_err(git_error)?;
            if !sync.conflicts.is_empty() {
                let listed: Vec<String> = sync
                    .conflicts
                    .iter()
                    .map(|c| format!("{}: {}", c.path, c.resolution))
                    .collect();
                return Err(CliError::user(format!(
                    "{}: the import met files another writer changed meanwhile: {}",
                    store.describe(),
                    listed.join("; ")
                ))
                .hint("a writer name or a result envelope was used in two places; run `wave state verify`"));
            }
            (store.describe(), imported)
        }
        _ => {
            let store = open_store(settings).map_err(store_error)?;
            (store.describe(), import_all(&sources, &*store))
        }
    };
    let (rows, total) = imported?;
    if args.json {
        output::print_json(&json!({"store": described, "sources": rows, "total": total}))?;
    } else {
        output::print_text(&format!(
            "{}: imported {} line{} and {} result envelope{} from {} source{} ({} line{} and {} envelope{} already there)",
            described,
            total.appended,
            if total.appended == 1 { "" } else { "s" },
            total.results_written,
            if total.results_written == 1 { "" } else { "s" },
            args.dirs.len(),
            if args.dirs.len() == 1 { "" } else { "s" },
            total.present,
            if total.present == 1 { "" } else { "s" },
            total.results_present,
            if total.results_present == 1 { "" } else { "s" },
        ))?;
    }
    Ok(Code::OK)
}

/// Imports each directory store into `store`, in order: a row per source and the total.
fn import_all(
    sources: &[std::path::PathBuf],
    store: &dyn EventStore,
) -> Result<(Vec<serde_json::Value>, ImportReport), CliError> {
    let mut rows = Vec::new();
    let mut total = ImportReport::default();
    for path in sources {
        let source = DirStore::new(path);
        let report = crate::store::import(&source, store).map_err(|e| match e {
            ImportError::Store(err) => store_error(err),
            other => CliError::user(other.to_string()),
        })?;
        total.appended += report.appended;
        total.present += report.present;
        total.results_written += report.results_written;
        total.results_present += report.results_present;
        rows.push(json!({"source": path.display().to_string(), "report": report}));
    }
    Ok((rows, total))
}

/// The git-branch store the settings name, or a usage error.
fn git_store(settings: &Settings) -> Result<GitBranchStore, CliError> {
    match StoreSpec::from_settings(settings).map_err(store_error)? {
        StoreSpec::Git(spec) => GitBranchStore::for_settings(spec, settings).map_err(git_error),
        StoreSpec::Dir(path) => Err(CliError::usage(format!(
            "this command works on a state branch, and the store is `dir:{}`",
            path.display()
        ))
        .hint("pass `--store git:<remote-url>[#<branch>]` or set WAVE_STORE")),
    }
}

fn short(id: Option<&String>) -> &str {
    id.map_or("(none)", |s| s.get(..12).unwrap_or(s))
}

fn print_report(verb: &str, report: &SyncReport) -> Result<Code, CliError> {
    let mut text = match (&report.kept, report.pushed) {
        (Some(reason), _) => format!(
            "kept {} unpushed commit{} locally for the next push: {reason}",
            report.pending_commits,
            if report.pending_commits == 1 { "" } else { "s" }
        ),
        (None, true) if report.retries > 0 => format!(
            "pushed: remote tip {} (rebuilt and retried {} time{} after the branch moved)",
            short(report.remote_tip.as_ref()),
            report.retries,
            if report.retries == 1 { "" } else { "s" }
        ),
        (None, true) => format!("pushed: remote tip {}", short(report.remote_tip.as_ref())),
        (None, false) => format!(
            "{verb}: remote tip {}, {} unpushed commit{}",
            short(report.remote_tip.as_ref()),
            report.pending_commits,
            if report.pending_commits == 1 { "" } else { "s" }
        ),
    };
    for conflict in &report.conflicts {
        text.push_str(&format!(
            "\nconflict in {}: {}",
            conflict.path, conflict.resolution
        ));
    }
    output::print_text(&text)?;
    Ok(if report.kept.is_some() {
        Code::INTERNAL
    } else {
        Code::OK
    })
}

fn log(settings: &Settings, args: &LogArgs) -> Result<Code, CliError> {
    let entries = git_store(settings)?.log(args.limit).map_err(git_error)?;
    if args.json {
        let list: Vec<_> = entries
            .iter()
            .map(|e| {
                json!({"id": e.id, "time": e.time, "author": e.author,
                       "message": e.message, "pushed": e.pushed})
            })
            .collect();
        output::print_json(&list)?;
        return Ok(Code::OK);
    }
    let mut text = String::new();
    for e in &entries {
        let when = jiff::Timestamp::from_second(e.time)
            .map(|t| t.to_string())
            .unwrap_or_else(|_| e.time.to_string());
        let subject = e.message.lines().next().unwrap_or_default();
        let mark = if e.pushed { "" } else { " (not pushed)" };
        text.push_str(&format!(
            "{} {when} {}{mark}\n    {subject}\n",
            e.id.get(..12).unwrap_or(&e.id),
            e.author
        ));
        for line in e.message.lines().skip(2).filter(|l| !l.is_empty()) {
            text.push_str(&format!("    {line}\n"));
        }
    }
    if text.is_empty() {
        text.push_str("the state branch has no commits yet\n");
    }
    output::print_text(&text)?;
    Ok(Code::OK)
}

/// What `verify` found.
#[derive(Debug, Default)]
struct Findings {
    streams: usize,
    records: u64,
    writers: usize,
    envelopes: usize,
    problems: Vec<String>,
}

fn verify(settings: &Settings, args: &VerifyArgs) -> Result<Code, CliError> {
    let store = open_store(settings).map_err(store_error)?;
    let findings = verify_store(&*store).map_err(store_error)?;
    if args.json {
        output::print_json(&json!({
            "store": store.describe(),
            "streams": findings.streams,
            "writers": findings.writers,
            "records": findings.records,
            "envelopes": findings.envelopes,
            "problems": findings.problems,
            "clean": findings.problems.is_empty(),
        }))?;
    } else {
        let mut text = format!(
            "{}: {} records from {} writer files in {} streams, {} result envelopes",
            store.describe(),
            findings.records,
            findings.writers,
            findings.streams,
            findings.envelopes
        );
        if findings.problems.is_empty() {
            text.push_str("; clean");
        } else {
            text.push_str(&format!("; {} problems:", findings.problems.len()));
            for p in &findings.problems {
                text.push_str("\n  ");
                text.push_str(p);
            }
        }
        output::print_text(&text)?;
    }
    Ok(if findings.problems.is_empty() {
        Code::OK
    } else {
        Code::FAILURE
    })
}

fn verify_store(store: &dyn EventStore) -> Result<Findings, StoreError> {
    let mut findings = Findings::default();
    for lane in store.lanes()? {
        verify_stream(store, &StreamId::dependencies(&lane), &mut findings, None)?;
        for wave in store.waves(&lane)? {
            verify_stream(
                store,
                &StreamId::coordination(&lane, wave),
                &mut findings,
                None,
            )?;
            // The (attempt, agent) pairs the wave's `agent_run` events name: every result
            // envelope must be one of them, or nothing records the run that wrote it.
            let mut runs = BTreeSet::new();
            verify_stream(
                store,
                &StreamId::control(&lane, wave),
                &mut findings,
                Some(&mut runs),
            )?;
            for key in store.list_results(&lane, wave)? {
                findings.envelopes += 1;
                match store.get_result(&key) {
                    Ok(Some(body)) => check_envelope(&key, &body, &mut findings.problems),
                    Ok(None) => findings
                        .problems
                        .push(format!("{key}: listed but cannot be read")),
                    Err(e) => findings.problems.push(format!("{key}: {e}")),
                }
                if !runs.contains(&(u64::from(key.attempt), key.agent.clone())) {
                    findings.problems.push(format!(
                        "{key}: no `agent_run` event of attempt {} names agent `{}`: nothing \
                         references this result envelope (a run whose events were lost?)",
                        key.attempt, key.agent
                    ));
                }
            }
        }
    }
    Ok(findings)
}

/// The attempt and agent an `agent_run` control-plane event names.
fn agent_run_of(record: &Record) -> Option<(u64, String)> {
    if record.get("entityType").and_then(|v| v.as_str()) != Some("agent_run") {
        return None;
    }
    let data = record.get("data");
    let field = |name: &str| data.and_then(|d| d.get(name)).or_else(|| record.get(name));
    let agent = field("agentId")?.as_str()?.to_owned();
    let attempt = field("attemptNumber")
        .or_else(|| record.get("attempt"))
        .and_then(|v| v.as_u64().or_else(|| v.as_str()?.parse().ok()))?;
    Some((attempt, agent))
}

fn verify_stream(
    store: &dyn EventStore,
    stream: &StreamId,
    findings: &mut Findings,
    mut runs: Option<&mut BTreeSet<(u64, String)>>,
) -> Result<(), StoreError> {
    // writer → (last seq seen, file); legacy lines are numbered by line, not checked.
    let mut last: BTreeMap<String, (u64, String)> = BTreeMap::new();
    let mut gaps = Vec::new();
    let mut records = 0u64;
    let problems = store.visit(stream, &mut |line| {
        let (envelope, record) = line.parse_enveloped::<Record>()?;
        records += 1;
        if let (Some(runs), Some(run)) = (runs.as_deref_mut(), agent_run_of(&record)) {
            runs.insert(run);
        }
        if line.legacy || envelope.writer == LEGACY_WRITER {
            return Ok(());
        }
        let entry = last
            .entry(envelope.writer.to_string())
            .or_insert_with(|| (0, line.file.to_owned()));
        let expected = entry.0 + 1;
        if envelope.seq != expected {
            gaps.push(format!(
                "{}:{}: writer `{}` has seq {} where {expected} was due (gap or duplicate)",
                line.file, line.line, envelope.writer, envelope.seq
            ));
        }
        entry.0 = envelope.seq;
        Ok(())
    })?;
    if records > 0 || !problems.is_empty() {
        findings.streams += 1;
    }
    findings.records += records;
    findings.writers += last.len();
    findings
        .problems
        .extend(problems.iter().map(ToString::to_string));
    findings.problems.extend(gaps);
    Ok(())
}

/// An envelope must say it is the agent, wave and attempt its path names (when it says so).
fn check_envelope(key: &crate::store::ResultKey, body: &Record, problems: &mut Vec<String>) {
    let mismatch = |field: &str, expected: String| {
        body.get(field).and_then(|v| match v {
            serde_json::Value::String(s) if *s != expected => Some(s.clone()),
            serde_json::Value::Number(n) if n.to_string() != expected => Some(n.to_string()),
            _ => None,
        })
    };
    for (field, expected) in [
        ("agentId", key.agent.clone()),
        ("waveNumber", key.wave.to_string()),
        ("attempt", key.attempt.to_string()),
    ] {
        if let Some(found) = mismatch(field, expected.clone()) {
            problems.push(format!(
                "{key}: `{field}` is {found} but the path says {expected}"
            ));
        }
    }
}

fn append(settings: &Settings, args: &AppendArgs) -> Result<Code, CliError> {
    let stream = match (args.stream, args.wave) {
        (StreamKind::Coordination, Some(wave)) => StreamId::coordination(&args.lane, wave),
        (StreamKind::Control, Some(wave)) => StreamId::control(&args.lane, wave),
        (StreamKind::Dependencies, _) => StreamId::dependencies(&args.lane),
        (_, None) => {
            return Err(CliError::usage("--wave is required for this stream"));
        }
    };
    let records = (1..=args.repeat.max(1))
        .map(|i| {
            let text = args.record.replace("{i}", &i.to_string());
            serde_json::from_str::<Record>(&text).map_err(|e| {
                CliError::usage(format!("--json is not a JSON object: {e}"))
                    .hint("give one object, e.g. --json '{\"id\":\"r-{i}\",\"kind\":\"note\"}'")
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let store = open_store(settings).map_err(store_error)?;
    let mut first = None;
    let mut last = 0;
    let calls: Vec<&[Record]> = if args.batch {
        vec![records.as_slice()]
    } else {
        records.chunks(1).collect()
    };
    for chunk in calls {
        let appended = store
            .append(&stream, &settings.writer, jiff::Timestamp::now(), chunk)
            .map_err(store_error)?;
        first.get_or_insert(appended.first);
        last = appended.last;
    }
    output::print_text(&format!(
        "appended seq {}..{last} to {stream} as {} in {}",
        first.unwrap_or(1),
        settings.writer,
        store.describe()
    ))?;
    Ok(Code::OK)
}

fn git_error(err: GitStoreError) -> CliError {
    super::error::git_store_error(err)
}

/// A store failure as a CLI error.
pub(crate) fn store_error(err: StoreError) -> CliError {
    super::error::store_error(err)
}
