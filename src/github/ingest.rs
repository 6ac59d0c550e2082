//! Webhook-event ingestion: GitHub event payloads → coordination and control-plane records.
//!
//! Owns: reading `issue_comment`, `pull_request`, `check_run` and `workflow_dispatch`
//! payloads; parsing `/wave answer|rerun|resolve` commands; the author-association allow-list
//! and bot rules; sanitizing untrusted text and recording its provenance; and appending the
//! resulting records through the store (idempotently: ingesting the same event twice appends
//! nothing the second time). Must not: decide whether a wave closes — it records what a person
//! said; the reducer decides what that unblocks.

use std::fmt;

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::GithubError;
use super::sanitize::{self, DEFAULT_MAX_CHARS};
use crate::store::{EventStore, Record, StreamId};

/// Who may steer a wave from a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestPolicy {
    /// `author_association` values accepted (upper case).
    pub allowed_associations: Vec<String>,
    /// Bot logins accepted (bots are ignored otherwise).
    pub allowed_bots: Vec<String>,
    /// Longest answer accepted, in characters after sanitizing.
    pub max_text_chars: usize,
}

impl Default for IngestPolicy {
    fn default() -> Self {
        Self {
            allowed_associations: ["OWNER", "MEMBER", "COLLABORATOR"]
                .map(str::to_owned)
                .to_vec(),
            allowed_bots: Vec::new(),
            max_text_chars: DEFAULT_MAX_CHARS,
        }
    }
}

/// Where a piece of untrusted text came from; stored with every record it produces.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    /// The GitHub login.
    pub author: String,
    /// The actor's `author_association` as GitHub reported it in the payload's structure.
    pub association: String,
    /// `github:issue_comment`, `github:check_run`, …
    pub source: String,
    /// The comment or check-run id, when there is one.
    pub source_id: Option<u64>,
    /// The comment's URL.
    pub url: Option<String>,
    /// The issue or pull-request number.
    pub issue_number: Option<u64>,
    /// Whether sanitizing removed anything.
    pub sanitized: bool,
}

/// A command a person gave in a comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WaveCommand {
    /// `/wave answer <request-id> <text>`.
    Answer {
        /// The request answered.
        request_id: String,
        /// The sanitized answer.
        text: String,
    },
    /// `/wave rerun [agents]` (empty: the wave's retry targets).
    Rerun {
        /// Agents to rerun.
        agents: Vec<String>,
    },
    /// `/wave resolve <task-id>`.
    Resolve {
        /// The task or record resolved.
        task_id: String,
    },
}

/// Something an event asks the runner to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// An authorized command.
    Command {
        /// The command.
        command: WaveCommand,
        /// Where it came from.
        provenance: Provenance,
        /// The wave named by the event itself (a check run's name), if any.
        wave: Option<(String, u32)>,
    },
    /// A push to a pull request: verdicts for the old head no longer apply.
    StaleVerdict {
        /// The old head SHA.
        before: String,
        /// The new head SHA.
        after: String,
        /// The pull request.
        number: u64,
        /// Who pushed.
        provenance: Provenance,
    },
}

/// What an event amounts to: intents to record and the reasons anything was left out.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interpretation {
    /// Intents to record.
    pub intents: Vec<Intent>,
    /// Why parts of the event changed nothing (for the log).
    pub ignored: Vec<String>,
}

/// Reads an event payload under its event name.
pub fn interpret(
    event_name: &str,
    payload: &Value,
    policy: &IngestPolicy,
) -> Result<Interpretation, GithubError> {
    let mut out = Interpretation::default();
    match event_name {
        "issue_comment" => issue_comment(payload, policy, &mut out)?,
        "pull_request" | "pull_request_target" => pull_request(payload, &mut out)?,
        "check_run" => check_run(payload, policy, &mut out)?,
        "workflow_dispatch" => out
            .ignored
            .push("workflow_dispatch carries no wave command; nothing to ingest".to_owned()),
        other => out.ignored.push(format!(
            "event `{other}` is not one wave ingests; nothing to do"
        )),
    }
    Ok(out)
}

/// Guesses the event name from a payload's shape, for when `GITHUB_EVENT_NAME` is absent.
pub fn guess_event_name(payload: &Value) -> Option<&'static str> {
    if payload.get("comment").is_some() && payload.get("issue").is_some() {
        Some("issue_comment")
    } else if payload.get("check_run").is_some() {
        Some("check_run")
    } else if payload.get("pull_request").is_some() && payload.get("number").is_some() {
        Some("pull_request")
    } else if payload.get("workflow").is_some() && payload.get("ref").is_some() {
        Some("workflow_dispatch")
    } else {
        None
    }
}

fn field<'v>(payload: &'v Value, path: &str) -> Result<&'v Value, GithubError> {
    let mut cur = payload;
    for key in path.split('.') {
        cur = cur.get(key).ok_or_else(|| GithubError::Payload {
            field: path.to_owned(),
            message: "missing".to_owned(),
        })?;
    }
    Ok(cur)
}

fn str_field<'v>(payload: &'v Value, path: &str) -> Result<&'v str, GithubError> {
    field(payload, path)?
        .as_str()
        .ok_or_else(|| GithubError::Payload {
            field: path.to_owned(),
            message: "not a string".to_owned(),
        })
}

/// Authorizes an actor: bots only when listed, people only with an allowed association.
fn authorize(
    login: &str,
    user_type: &str,
    association: &str,
    policy: &IngestPolicy,
) -> Result<(), String> {
    let is_bot = user_type.eq_ignore_ascii_case("bot") || login.ends_with("[bot]");
    if is_bot {
        return if policy.allowed_bots.iter().any(|b| b == login) {
            Ok(())
        } else {
            Err(format!(
                "@{login} is a bot that is not in the allowed bots; its comment changes nothing"
            ))
        };
    }
    if policy
        .allowed_associations
        .iter()
        .any(|a| a.eq_ignore_ascii_case(association))
    {
        Ok(())
    } else {
        Err(format!(
            "@{login} has author_association {association}, which is not in the allow-list ({}); \
             the comment changes nothing",
            policy.allowed_associations.join(", ")
        ))
    }
}

fn issue_comment(
    payload: &Value,
    policy: &IngestPolicy,
    out: &mut Interpretation,
) -> Result<(), GithubError> {
    let action = str_field(payload, "action")?;
    if action != "created" {
        out.ignored.push(format!(
            "issue_comment `{action}`: only new comments are read, so edits cannot rewrite an answer"
        ));
        return Ok(());
    }
    let body = field(payload, "comment.body")?.as_str().unwrap_or_default();
    let login = str_field(payload, "comment.user.login")?;
    let user_type = field(payload, "comment.user.type")?
        .as_str()
        .unwrap_or("User");
    // The association GitHub computed, from the payload's structure; text in the body that
    // claims an association is only text.
    let association = str_field(payload, "comment.author_association")?;
    let clean = sanitize::sanitize(body, usize::MAX);
    let commands = parse_commands(&clean.text);
    if commands.is_empty() {
        out.ignored
            .push(format!("comment by @{login} has no `/wave` command"));
        return Ok(());
    }
    if let Err(reason) = authorize(login, user_type, association, policy) {
        out.ignored.push(reason);
        return Ok(());
    }
    let provenance = Provenance {
        author: login.to_owned(),
        association: association.to_owned(),
        source: "github:issue_comment".to_owned(),
        source_id: field(payload, "comment.id")?.as_u64(),
        url: field(payload, "comment.html_url")
            .ok()
            .and_then(Value::as_str)
            .map(str::to_owned),
        issue_number: field(payload, "issue.number")?.as_u64(),
        sanitized: clean.changed,
    };
    for parsed in commands {
        match parsed {
            Ok(WaveCommand::Answer { request_id, text })
                if text.chars().count() > policy.max_text_chars =>
            {
                out.ignored.push(format!(
                    "answer to {request_id} is {} characters; the limit is {}: shorten it and \
                     answer again",
                    text.chars().count(),
                    policy.max_text_chars
                ));
            }
            Ok(command) => out.intents.push(Intent::Command {
                command,
                provenance: provenance.clone(),
                wave: None,
            }),
            Err(reason) => out.ignored.push(reason),
        }
    }
    Ok(())
}

fn pull_request(payload: &Value, out: &mut Interpretation) -> Result<(), GithubError> {
    let action = str_field(payload, "action")?;
    if action != "synchronize" {
        out.ignored.push(format!(
            "pull_request `{action}` does not change a verdict; nothing to do"
        ));
        return Ok(());
    }
    let sender = str_field(payload, "sender.login").unwrap_or("unknown");
    out.intents.push(Intent::StaleVerdict {
        before: str_field(payload, "before")?.to_owned(),
        after: str_field(payload, "after")?.to_owned(),
        number: field(payload, "number")?
            .as_u64()
            .ok_or_else(|| GithubError::Payload {
                field: "number".to_owned(),
                message: "not a number".to_owned(),
            })?,
        provenance: Provenance {
            author: sender.to_owned(),
            association: String::new(),
            source: "github:pull_request".to_owned(),
            source_id: None,
            url: None,
            issue_number: field(payload, "number")?.as_u64(),
            sanitized: false,
        },
    });
    Ok(())
}

/// Parses `wave / <lane> / <n>`.
pub fn parse_check_run_name(name: &str) -> Option<(String, u32)> {
    let mut parts = name.split(" / ");
    let (Some("wave"), Some(lane), Some(n), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    Some((lane.to_owned(), n.parse().ok()?))
}

fn check_run(
    payload: &Value,
    _policy: &IngestPolicy,
    out: &mut Interpretation,
) -> Result<(), GithubError> {
    let action = str_field(payload, "action")?;
    let name = str_field(payload, "check_run.name")?;
    let Some(wave) = parse_check_run_name(name) else {
        out.ignored
            .push(format!("check run `{name}` is not a wave's; nothing to do"));
        return Ok(());
    };
    if action != "rerequested" {
        out.ignored.push(format!(
            "check_run `{action}` on `{name}`: only a re-run request is ingested"
        ));
        return Ok(());
    }
    // Re-running a check needs write access on the repository; GitHub enforces it.
    let sender = str_field(payload, "sender.login").unwrap_or("unknown");
    out.intents.push(Intent::Command {
        command: WaveCommand::Rerun { agents: Vec::new() },
        provenance: Provenance {
            author: sender.to_owned(),
            association: "WRITE".to_owned(),
            source: "github:check_run".to_owned(),
            source_id: field(payload, "check_run.id")?.as_u64(),
            url: None,
            issue_number: None,
            sanitized: false,
        },
        wave: Some(wave),
    });
    Ok(())
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'))
}

/// Finds `/wave …` commands in sanitized comment text. An answer runs to the end of the
/// comment or the next `/wave` line.
pub fn parse_commands(text: &str) -> Vec<Result<WaveCommand, String>> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while let Some(line) = lines.get(i) {
        i += 1;
        let Some(rest) = line.trim_start().strip_prefix("/wave") else {
            continue;
        };
        if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
            continue;
        }
        let mut words = rest.split_whitespace();
        match words.next() {
            Some("answer") => {
                let Some(id) = words.next().filter(|id| valid_id(id)) else {
                    out.push(Err(
                        "`/wave answer` needs a request id: `/wave answer <request-id> <text>`"
                            .to_owned(),
                    ));
                    continue;
                };
                let first = rest
                    .trim_start()
                    .strip_prefix("answer")
                    .map(str::trim_start)
                    .and_then(|r| r.strip_prefix(id))
                    .unwrap_or_default()
                    .trim();
                let mut text = first.to_owned();
                while let Some(next) = lines.get(i) {
                    if next.trim_start().starts_with("/wave") {
                        break;
                    }
                    text.push('\n');
                    text.push_str(next);
                    i += 1;
                }
                let text = text.trim().to_owned();
                if text.is_empty() {
                    out.push(Err(format!(
                        "`/wave answer {id}` has no answer text: write it after the id"
                    )));
                } else {
                    out.push(Ok(WaveCommand::Answer {
                        request_id: id.to_owned(),
                        text,
                    }));
                }
            }
            Some("rerun") => {
                let agents: Vec<String> = words
                    .flat_map(|w| w.split(','))
                    .filter(|a| !a.is_empty())
                    .map(str::to_owned)
                    .collect();
                match agents.iter().find(|a| !valid_id(a)) {
                    Some(bad) => out.push(Err(format!(
                        "`/wave rerun`: `{bad}` is not an agent id (use e.g. `/wave rerun A1,A2`)"
                    ))),
                    None => out.push(Ok(WaveCommand::Rerun { agents })),
                }
            }
            Some("resolve") => match words.next().filter(|id| valid_id(id)) {
                Some(id) => out.push(Ok(WaveCommand::Resolve {
                    task_id: id.to_owned(),
                })),
                None => out.push(Err(
                    "`/wave resolve` needs a task id: `/wave resolve <task-id>`".to_owned(),
                )),
            },
            Some(other) => out.push(Err(format!(
                "unknown command `/wave {other}`: use answer, rerun or resolve"
            ))),
            None => out.push(Err(
                "`/wave` needs a command: answer, rerun or resolve".to_owned()
            )),
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Applying intents to the store.

/// What recording one intent did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Applied {
    /// `answer`, `rerun`, `resolve` or `stale-verdict`.
    pub action: String,
    /// The lane written to (empty when nothing was).
    pub lane: String,
    /// The wave written to.
    pub wave: Option<u32>,
    /// The ids of the records appended (empty when nothing changed).
    pub records: Vec<String>,
    /// Why nothing changed, when nothing did.
    pub reason: Option<String>,
}

impl fmt::Display for Applied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.reason, self.wave) {
            (Some(reason), _) => write!(f, "{}: {reason}", self.action),
            (None, Some(wave)) => write!(
                f,
                "{}: recorded {} in {}/wave-{wave}",
                self.action,
                self.records.join(", "),
                self.lane
            ),
            (None, None) => write!(f, "{}: recorded {}", self.action, self.records.join(", ")),
        }
    }
}

/// Where and when records are written.
#[derive(Debug)]
pub struct Target<'s> {
    /// The store.
    pub store: &'s dyn EventStore,
    /// This process's writer name.
    pub writer: &'s str,
    /// Now.
    pub now: jiff::Timestamp,
    /// `--lane`, when given.
    pub lane: Option<&'s str>,
    /// `--wave`, when given.
    pub wave: Option<u32>,
    /// Compute but do not append.
    pub dry_run: bool,
}

/// Records one intent.
pub fn apply(target: &Target<'_>, intent: &Intent) -> Result<Vec<Applied>, GithubError> {
    match intent {
        Intent::Command {
            command,
            provenance,
            wave,
        } => {
            let named = wave
                .clone()
                .or_else(|| Some((target.lane?.to_owned(), target.wave?)));
            Ok(vec![match command {
                WaveCommand::Answer { request_id, text } => {
                    answer(target, named, request_id, text, provenance)?
                }
                WaveCommand::Resolve { task_id } => resolve(target, named, task_id, provenance)?,
                WaveCommand::Rerun { agents } => rerun(target, named, agents, provenance)?,
            }])
        }
        Intent::StaleVerdict {
            before,
            after,
            number,
            provenance,
        } => stale(target, before, after, *number, provenance),
    }
}

fn not_applied(action: &str, reason: String) -> Applied {
    Applied {
        action: action.to_owned(),
        lane: String::new(),
        wave: None,
        records: Vec::new(),
        reason: Some(reason),
    }
}

/// The latest version of a coordination record, by id, with the wave it lives in.
fn find_record(
    target: &Target<'_>,
    named: Option<(String, u32)>,
    id: &str,
) -> Result<Option<(String, u32, Record)>, GithubError> {
    let waves: Vec<(String, u32)> = match named {
        Some(w) => vec![w],
        None => {
            let mut all = Vec::new();
            for lane in target.store.lanes()? {
                for wave in target.store.waves(&lane)? {
                    all.push((lane.clone(), wave));
                }
            }
            all
        }
    };
    let mut found: Option<(String, u32, Record)> = None;
    for (lane, wave) in waves {
        let stream = StreamId::coordination(lane.clone(), wave);
        let mut latest: Option<(String, Record)> = None;
        target.store.visit(&stream, &mut |line| {
            let rec = line.to_record()?;
            if rec.id() == Some(id) {
                let key = rec
                    .record
                    .get("updatedAt")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned();
                let newer = latest
                    .as_ref()
                    .is_none_or(|(k, _)| key.as_str() >= k.as_str());
                if newer {
                    latest = Some((key, rec.record));
                }
            }
            Ok(())
        })?;
        if let Some((_, record)) = latest {
            if found.is_some() {
                return Err(GithubError::Ambiguous {
                    id: id.to_owned(),
                    hint: "name the wave with --lane and --wave".to_owned(),
                });
            }
            found = Some((lane, wave, record));
        }
    }
    Ok(found)
}

fn hex8(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update([0]);
    }
    hex::encode(h.finalize()).chars().take(8).collect()
}

fn now_text(target: &Target<'_>) -> String {
    crate::event::time::format(target.now)
}

fn provenance_value(p: &Provenance) -> Value {
    serde_json::to_value(p).unwrap_or(Value::Null)
}

fn is_open(record: &Record) -> bool {
    matches!(
        record.get("status").and_then(Value::as_str),
        None | Some("open" | "acknowledged" | "in_progress")
    )
}

/// A coordination record with every §3.2 field.
#[allow(clippy::too_many_arguments)]
fn coordination_record(
    id: &str,
    kind: &str,
    lane: &str,
    wave: u32,
    agent_id: &str,
    targets: Vec<String>,
    depends_on: Vec<String>,
    closure_condition: &str,
    summary: &str,
    detail: &str,
    now: &str,
) -> Record {
    let value = json!({
        "recordVersion": 1, "id": id, "kind": kind, "wave": wave, "lane": lane,
        "agentId": agent_id, "targets": targets, "status": "resolved", "priority": "high",
        "blocking": false, "blockerSeverity": "advisory", "artifactRefs": [],
        "dependsOn": depends_on, "closureCondition": closure_condition,
        "createdAt": now, "updatedAt": now, "confidence": "high",
        "summary": summary, "detail": detail, "attempt": null, "source": "github",
        "executorId": null, "project": null, "requesterLane": null, "ownerLane": null,
        "requesterProject": null, "ownerProject": null, "requesterWave": null,
        "ownerWave": null, "required": false,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

/// A control-plane event (spec §4.1).
#[allow(clippy::too_many_arguments)]
fn control_event(
    lane: &str,
    wave: u32,
    entity_type: &str,
    entity_id: &str,
    action: &str,
    actor: &str,
    now: &str,
    data: Value,
) -> Record {
    let id = format!(
        "ctrl-{entity_type}-{}",
        hex8(&[entity_id, action, &data.to_string()])
    );
    let value = json!({
        "recordVersion": 1, "id": id, "lane": lane, "wave": wave, "runKind": "roadmap",
        "runId": null, "entityType": entity_type, "entityId": entity_id, "action": action,
        "source": "github", "actor": actor, "recordedAt": now, "attempt": null, "data": data,
    });
    match value {
        Value::Object(map) => map,
        _ => Map::new(),
    }
}

fn control_has(
    target: &Target<'_>,
    lane: &str,
    wave: u32,
    entity_id: &str,
    action: &str,
) -> Result<bool, GithubError> {
    let mut seen = false;
    target
        .store
        .visit(&StreamId::control(lane, wave), &mut |line| {
            let rec = line.to_record()?;
            if rec.record.get("entityId").and_then(Value::as_str) == Some(entity_id)
                && rec.record.get("action").and_then(Value::as_str) == Some(action)
            {
                seen = true;
            }
            Ok(())
        })?;
    Ok(seen)
}

fn append(
    target: &Target<'_>,
    stream: &StreamId,
    records: Vec<Record>,
) -> Result<Vec<String>, GithubError> {
    let ids = records
        .iter()
        .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned))
        .collect();
    if !target.dry_run && !records.is_empty() {
        target
            .store
            .append(stream, target.writer, target.now, &records)?;
    }
    Ok(ids)
}

fn answer(
    target: &Target<'_>,
    named: Option<(String, u32)>,
    request_id: &str,
    text: &str,
    provenance: &Provenance,
) -> Result<Applied, GithubError> {
    let Some((lane, wave, original)) = find_record(target, named, request_id)? else {
        return Ok(not_applied(
            "answer",
            format!("no request `{request_id}` is recorded; check the id in the request comment"),
        ));
    };
    if !is_open(&original) {
        return Ok(not_applied(
            "answer",
            format!("request `{request_id}` is already resolved; nothing changed"),
        ));
    }
    let now = now_text(target);
    let kind = original
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let requester = original
        .get("agentId")
        .and_then(Value::as_str)
        .unwrap_or("launcher")
        .to_owned();
    let response = json!({"operator": provenance.author, "text": text, "answeredAt": now});
    let mut records = Vec::new();

    // The request itself, resolved, with the answer and its provenance.
    let mut resolved = original.clone();
    resolved.insert("status".into(), json!("resolved"));
    resolved.insert("updatedAt".into(), json!(now));
    resolved.insert("response".into(), response.clone());
    resolved.insert("provenance".into(), provenance_value(provenance));
    if kind != "human-feedback" {
        // A human-feedback record carrying the answer, linked to the request.
        let closure = if kind == "clarification-request" {
            format!("clarification:{request_id}")
        } else {
            String::new()
        };
        let mut feedback = coordination_record(
            &format!(
                "github-answer-{request_id}-{}",
                provenance.source_id.unwrap_or_default()
            ),
            "human-feedback",
            &lane,
            wave,
            &requester,
            vec![format!("agent:{requester}")],
            vec![request_id.to_owned()],
            &closure,
            &format!("Answer to {request_id} from @{}", provenance.author),
            text,
            &now,
        );
        feedback.insert("artifactRefs".into(), json!([request_id]));
        feedback.insert("response".into(), response.clone());
        feedback.insert("provenance".into(), provenance_value(provenance));
        records.push(feedback);
    }
    records.push(resolved);
    // Like `wave feedback respond`: the clarifications this request answers, their follow-up
    // requests and escalations are resolved too (§3.10), so the next launch is unblocked.
    let linked = reconciled(target, &lane, wave, request_id, text, &now)?;
    // Human requests an escalation opened for this question are answered by the same text.
    let mut answered = vec![request_id.to_owned()];
    answered.extend(
        linked
            .iter()
            .filter(|r| r.get("kind").and_then(Value::as_str) == Some("human-feedback"))
            .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_owned)),
    );
    records.extend(linked);
    let mut ids = append(target, &StreamId::coordination(lane.clone(), wave), records)?;

    let events = answered
        .iter()
        .map(|id| {
            control_event(
                &lane,
                wave,
                "human_input",
                id,
                "answered",
                &provenance.author,
                &now,
                json!({
                    "humanInputId": id, "requestId": id, "state": "answered",
                    "operator": provenance.author, "response": text, "createdAt": now,
                    "provenance": provenance_value(provenance),
                }),
            )
        })
        .collect();
    ids.extend(append(
        target,
        &StreamId::control(lane.clone(), wave),
        events,
    )?);
    Ok(Applied {
        action: "answer".to_owned(),
        lane,
        wave: Some(wave),
        records: ids,
        reason: None,
    })
}

/// The records an answer to `request_id` resolves besides the request itself.
fn reconciled(
    target: &Target<'_>,
    lane: &str,
    wave: u32,
    request_id: &str,
    text: &str,
    now: &str,
) -> Result<Vec<Record>, GithubError> {
    use crate::event::coordination::{RawCoordinationRecord, RecordDefaults, normalize};
    let defaults = RecordDefaults {
        now: Some(now.to_owned()),
        ..RecordDefaults::default()
    };
    let mut records = Vec::new();
    target.store.visit(
        &StreamId::coordination(lane.to_owned(), wave),
        &mut |line| {
            let rec = line.to_record()?;
            // Records the reader cannot normalize are left out, as every reader does.
            if let Some(r) = RawCoordinationRecord::from_value(Value::Object(rec.record))
                .ok()
                .and_then(|raw| normalize(raw, &defaults).ok())
            {
                records.push(r);
            }
            Ok(())
        },
    )?;
    let state = crate::engine::coordination::materialize(records);
    Ok(
        crate::engine::triage::reconcile_answer(&state, request_id, text, now)
            .iter()
            .filter(|r| r.id != request_id)
            .filter_map(|r| match serde_json::to_value(r) {
                Ok(Value::Object(map)) => Some(map),
                _ => None,
            })
            .collect(),
    )
}

fn resolve(
    target: &Target<'_>,
    named: Option<(String, u32)>,
    task_id: &str,
    provenance: &Provenance,
) -> Result<Applied, GithubError> {
    let Some((lane, wave, original)) = find_record(target, named, task_id)? else {
        return Ok(not_applied(
            "resolve",
            format!("no task `{task_id}` is recorded; check the id"),
        ));
    };
    if !is_open(&original) {
        return Ok(not_applied(
            "resolve",
            format!("task `{task_id}` is already resolved; nothing changed"),
        ));
    }
    let now = now_text(target);
    let mut resolved = original;
    resolved.insert("status".into(), json!("resolved"));
    resolved.insert("updatedAt".into(), json!(now));
    resolved.insert("provenance".into(), provenance_value(provenance));
    let ids = append(
        target,
        &StreamId::coordination(lane.clone(), wave),
        vec![resolved],
    )?;
    Ok(Applied {
        action: "resolve".to_owned(),
        lane,
        wave: Some(wave),
        records: ids,
        reason: None,
    })
}

fn rerun(
    target: &Target<'_>,
    named: Option<(String, u32)>,
    agents: &[String],
    provenance: &Provenance,
) -> Result<Applied, GithubError> {
    let Some((lane, wave)) = named else {
        return Ok(not_applied(
            "rerun",
            "`/wave rerun` needs the wave: pass --lane and --wave to `wave github ingest`"
                .to_owned(),
        ));
    };
    let request_id = format!(
        "rerun-wave-{wave}-gh-{}-{}",
        provenance.source.trim_start_matches("github:"),
        provenance.source_id.unwrap_or_default()
    );
    if control_has(target, &lane, wave, &request_id, "requested")? {
        return Ok(not_applied(
            "rerun",
            format!("rerun request `{request_id}` is already recorded; nothing changed"),
        ));
    }
    let now = now_text(target);
    let event = control_event(
        &lane,
        wave,
        "rerun_request",
        &request_id,
        "requested",
        &provenance.author,
        &now,
        json!({
            "requestId": request_id, "state": "active", "selectedAgentIds": agents,
            "resumeCursor": null, "reuseAttemptIds": [], "reuseProofBundleIds": [],
            "reuseDerivedSummaries": true, "invalidateComponentIds": [],
            "clearReusableAgentIds": [], "preserveReusableAgentIds": [],
            "requestedBy": provenance.author, "reason": format!("{} by @{}", provenance.source, provenance.author),
            "applyOnce": true, "createdAt": now, "provenance": provenance_value(provenance),
        }),
    );
    let ids = append(target, &StreamId::control(lane.clone(), wave), vec![event])?;
    Ok(Applied {
        action: "rerun".to_owned(),
        lane,
        wave: Some(wave),
        records: ids,
        reason: None,
    })
}

fn stale(
    target: &Target<'_>,
    before: &str,
    after: &str,
    number: u64,
    provenance: &Provenance,
) -> Result<Vec<Applied>, GithubError> {
    let waves: Vec<(String, u32)> = match (target.lane, target.wave) {
        (Some(lane), Some(wave)) => vec![(lane.to_owned(), wave)],
        _ => {
            let mut all = Vec::new();
            for lane in target.store.lanes()? {
                if target.lane.is_some_and(|l| l != lane) {
                    continue;
                }
                for wave in target.store.waves(&lane)? {
                    all.push((lane.clone(), wave));
                }
            }
            all
        }
    };
    if waves.is_empty() {
        return Ok(vec![not_applied(
            "stale-verdict",
            "no wave has state in the store; nothing to mark stale".to_owned(),
        )]);
    }
    let entity = format!("verdict-{before}");
    let now = now_text(target);
    let mut out = Vec::new();
    for (lane, wave) in waves {
        if control_has(target, &lane, wave, &entity, "stale")? {
            out.push(not_applied(
                "stale-verdict",
                format!("{lane}/wave-{wave}: the verdict for {before} is already stale"),
            ));
            continue;
        }
        let event = control_event(
            &lane,
            wave,
            "verification",
            &entity,
            "stale",
            &provenance.author,
            &now,
            json!({"commit": before, "supersededBy": after, "pullRequest": number}),
        );
        let ids = append(target, &StreamId::control(lane.clone(), wave), vec![event])?;
        out.push(Applied {
            action: "stale-verdict".to_owned(),
            lane,
            wave: Some(wave),
            records: ids,
            reason: None,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_each_command() {
        let cmds = parse_commands(
            "thanks!\n/wave answer req-1 Use spans.\nAnd keep lines.\n/wave rerun A1,A2 A3\n/wave resolve t-9",
        );
        assert_eq!(
            cmds,
            vec![
                Ok(WaveCommand::Answer {
                    request_id: "req-1".into(),
                    text: "Use spans.\nAnd keep lines.".into()
                }),
                Ok(WaveCommand::Rerun {
                    agents: vec!["A1".into(), "A2".into(), "A3".into()]
                }),
                Ok(WaveCommand::Resolve {
                    task_id: "t-9".into()
                }),
            ]
        );
    }

    #[test]
    fn malformed_commands_say_what_to_write() {
        let cmds = parse_commands("/wave answer\n/wave answer id\n/wave frobnicate\n/waves x");
        assert_eq!(cmds.len(), 3);
        assert!(cmds.iter().all(Result::is_err));
        assert!(
            parse_commands("/wave rerun ../x")
                .iter()
                .all(Result::is_err)
        );
    }

    #[test]
    fn check_run_names_round_trip() {
        assert_eq!(
            parse_check_run_name("wave / main / 12"),
            Some(("main".to_owned(), 12))
        );
        assert_eq!(parse_check_run_name("wave / main"), None);
        assert_eq!(parse_check_run_name("lint / main / 1"), None);
    }

    #[test]
    fn bots_and_outsiders_are_refused() {
        let p = IngestPolicy::default();
        assert!(authorize("alice", "User", "MEMBER", &p).is_ok());
        assert!(authorize("eve", "User", "CONTRIBUTOR", &p).is_err());
        assert!(authorize("eve", "User", "NONE", &p).is_err());
        assert!(authorize("ci[bot]", "Bot", "MEMBER", &p).is_err());
        let p = IngestPolicy {
            allowed_bots: vec!["ci[bot]".into()],
            ..IngestPolicy::default()
        };
        assert!(authorize("ci[bot]", "Bot", "NONE", &p).is_ok());
    }
}
