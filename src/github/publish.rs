//! Publishing a [`WaveReport`]: the check run, the sticky comment and one comment per open
//! human request — each found before it is created, edited in place, and left alone when
//! nothing changed.
//!
//! Owns: idempotency. Every create is preceded by a lookup (the check run by name and
//! `external_id` prefix on the commit; comments by their hidden marker), and a create that may
//! or may not have landed ([`GithubError::Transient`]) is followed by a new lookup, never a blind
//! retry, so no retry can duplicate a comment or a check run. Unchanged surfaces cost no write:
//! a report makes one check-run update, one sticky-comment edit, one comment per newly opened
//! request and one edit per request that closed, whatever the number of agents.
//! Must not: decide the state shown — it is the report's.

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::GithubError;
use super::client::{Api, ApiRequest, encode_query};
use super::report::WaveReport;
use crate::render::github::{
    self as text, ANNOTATIONS_PER_REQUEST, Annotation, CheckRunView, request_marker, sticky_marker,
};

/// How many times a create is looked up and tried again after an unsure failure.
const CREATE_ROUNDS: u32 = 4;
/// Page size for list requests.
const PER_PAGE: usize = 100;
/// Pages read at most when listing comments (10,000 comments).
const MAX_PAGES: usize = 100;

/// Where to publish.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Destination {
    /// Repository owner.
    pub owner: String,
    /// Repository name.
    pub repo: String,
    /// Commit the check run is attached to.
    pub sha: String,
    /// The pull request or issue whose thread gets the comments, if any.
    pub thread: Option<u64>,
    /// Who may answer (shown in request comments).
    pub answerers: Vec<String>,
    /// When this report is published (RFC 3339), for `started_at` / `completed_at`.
    pub now: String,
}

/// What happened to one surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Created.
    Created,
    /// Edited in place.
    Updated,
    /// Already as it should be; no write.
    Unchanged,
    /// Not published (no thread to comment in).
    Skipped,
}

/// What publishing did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Published {
    /// The check run's id.
    pub check_run_id: u64,
    /// What happened to the check run.
    pub check_run: Change,
    /// The conclusion shown (`null` while in progress).
    pub conclusion: Option<String>,
    /// The sticky comment's id, when there is one.
    pub sticky_comment_id: Option<u64>,
    /// What happened to the sticky comment.
    pub sticky_comment: Change,
    /// Each open request and what happened to its comment.
    pub requests: Vec<(String, Change)>,
    /// Write requests sent (POST and PATCH), retries of the same request not counted.
    pub writes: u32,
}

/// Publishes a report.
pub fn publish(
    api: &dyn Api,
    dest: &Destination,
    report: &WaveReport,
) -> Result<Published, GithubError> {
    let mut writes = 0;
    let view = text::check_run(report);
    let (check_run_id, check_run) = ensure_check_run(api, dest, &view, &mut writes)?;

    let mut sticky_comment_id = None;
    let mut sticky_comment = Change::Skipped;
    let mut requests = Vec::new();
    if let Some(thread) = dest.thread {
        let sticky_body = text::sticky_comment(report);
        let mut listed = None;
        let (id, change) = ensure_comment(
            api,
            dest,
            thread,
            &mut listed,
            &sticky_marker(&report.lane, report.wave),
            &sticky_body,
            &mut writes,
        )?;
        sticky_comment_id = Some(id);
        sticky_comment = change;
        for request in &report.requests {
            let body = text::request_comment(report, request, &dest.answerers);
            let marker = request_marker(&report.lane, report.wave, &request.id);
            let (_, change) =
                ensure_comment(api, dest, thread, &mut listed, &marker, &body, &mut writes)?;
            requests.push((request.id.clone(), change));
        }
        close_answered(api, dest, report, &listed, &mut writes)?;
    } else {
        requests = report
            .requests
            .iter()
            .map(|r| (r.id.clone(), Change::Skipped))
            .collect();
    }
    Ok(Published {
        check_run_id,
        check_run,
        conclusion: view.outcome.conclusion.map(str::to_owned),
        sticky_comment_id,
        sticky_comment,
        requests,
        writes,
    })
}

fn annotations_marker(annotations: &[Annotation]) -> String {
    let mut h = Sha256::new();
    for a in annotations {
        h.update(serde_json::to_string(a).unwrap_or_default().as_bytes());
        h.update([0]);
    }
    format!(
        "\n<!-- wave-annotations:{} -->",
        &hex::encode(h.finalize())[..16]
    )
}

/// The check-run fields a report sets, with the first batch of annotations when asked.
fn check_run_body(
    view: &CheckRunView,
    dest: &Destination,
    summary: &str,
    first_batch: bool,
) -> Value {
    let mut output = json!({"title": view.title, "summary": summary});
    if !view.text.is_empty() {
        output["text"] = json!(view.text);
    }
    if first_batch && !view.annotations.is_empty() {
        let batch: Vec<&Annotation> = view
            .annotations
            .iter()
            .take(ANNOTATIONS_PER_REQUEST)
            .collect();
        output["annotations"] = json!(batch);
    }
    let mut body = json!({
        "name": view.name,
        "external_id": view.external_id,
        "status": view.outcome.status,
        "output": output,
    });
    if let Some(conclusion) = view.outcome.conclusion {
        body["conclusion"] = json!(conclusion);
        body["completed_at"] = json!(dest.now);
    }
    body
}

fn find_check_run(
    api: &dyn Api,
    dest: &Destination,
    view: &CheckRunView,
    prefix: &str,
) -> Result<Option<Value>, GithubError> {
    let path = format!(
        "/repos/{}/{}/commits/{}/check-runs?check_name={}&filter=all&per_page={PER_PAGE}",
        dest.owner,
        dest.repo,
        dest.sha,
        encode_query(&view.name)
    );
    let body = api.send(&ApiRequest::get(path.clone()))?.body;
    let runs = body
        .get("check_runs")
        .and_then(Value::as_array)
        .ok_or_else(|| GithubError::Response {
            path,
            message: "no `check_runs` array".to_owned(),
        })?;
    Ok(runs
        .iter()
        .filter(|r| {
            r.get("name").and_then(Value::as_str) == Some(view.name.as_str())
                && r.get("external_id")
                    .and_then(Value::as_str)
                    .is_some_and(|e| e.starts_with(prefix))
        })
        .max_by_key(|r| r.get("id").and_then(Value::as_u64).unwrap_or(0))
        .cloned())
}

fn ensure_check_run(
    api: &dyn Api,
    dest: &Destination,
    view: &CheckRunView,
    writes: &mut u32,
) -> Result<(u64, Change), GithubError> {
    let prefix = view
        .external_id
        .split(':')
        .take(3)
        .collect::<Vec<_>>()
        .join(":")
        + ":";
    let marker = annotations_marker(&view.annotations);
    let summary = crate::render::github::truncate_markdown(
        &view.summary,
        text::CHECK_TEXT_MAX - marker.len(),
        "the workflow run",
    ) + &marker;
    for _ in 0..CREATE_ROUNDS {
        if let Some(existing) = find_check_run(api, dest, view, &prefix)? {
            let id = existing.get("id").and_then(Value::as_u64).unwrap_or(0);
            let field = |k: &str| existing.get(k).and_then(Value::as_str).unwrap_or_default();
            let output = |k: &str| {
                existing
                    .get("output")
                    .and_then(|o| o.get(k))
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            };
            let same = field("status") == view.outcome.status
                && existing.get("conclusion").and_then(Value::as_str) == view.outcome.conclusion
                && field("external_id") == view.external_id
                && output("title") == view.title
                && output("summary") == summary
                && output("text") == view.text;
            if same {
                return Ok((id, Change::Unchanged));
            }
            // Annotations append on every update: send them only when they changed.
            let annotations_changed = !output("summary").ends_with(&marker);
            let path = format!("/repos/{}/{}/check-runs/{id}", dest.owner, dest.repo);
            api.send(&ApiRequest::patch(
                path.clone(),
                check_run_body(view, dest, &summary, annotations_changed),
            ))?;
            *writes += 1;
            if annotations_changed {
                more_annotations(api, &path, view, &summary, writes)?;
            }
            return Ok((id, Change::Updated));
        }
        let mut body = check_run_body(view, dest, &summary, true);
        body["head_sha"] = json!(dest.sha);
        body["started_at"] = json!(dest.now);
        let path = format!("/repos/{}/{}/check-runs", dest.owner, dest.repo);
        *writes += 1;
        match api.send(&ApiRequest::post(path, body)) {
            Ok(created) => {
                let id = created.body.get("id").and_then(Value::as_u64).unwrap_or(0);
                let path = format!("/repos/{}/{}/check-runs/{id}", dest.owner, dest.repo);
                more_annotations(api, &path, view, &summary, writes)?;
                return Ok((id, Change::Created));
            }
            // It may have landed: look again before creating anything.
            Err(GithubError::Transient { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(GithubError::Exhausted {
        method: "POST",
        path: format!("/repos/{}/{}/check-runs", dest.owner, dest.repo),
        attempts: CREATE_ROUNDS,
        message: "the check run could neither be found nor created".to_owned(),
    })
}

/// Sends annotations past the first 50, 50 per PATCH.
fn more_annotations(
    api: &dyn Api,
    path: &str,
    view: &CheckRunView,
    summary: &str,
    writes: &mut u32,
) -> Result<(), GithubError> {
    for batch in view.annotations.chunks(ANNOTATIONS_PER_REQUEST).skip(1) {
        api.send(&ApiRequest::patch(
            path.to_owned(),
            json!({"output": {"title": view.title, "summary": summary, "annotations": batch}}),
        ))?;
        *writes += 1;
    }
    Ok(())
}

/// Every comment of a thread, all pages.
fn list_comments(
    api: &dyn Api,
    dest: &Destination,
    thread: u64,
) -> Result<Vec<Value>, GithubError> {
    let mut all = Vec::new();
    for page in 1..=MAX_PAGES {
        let path = format!(
            "/repos/{}/{}/issues/{thread}/comments?per_page={PER_PAGE}&page={page}",
            dest.owner, dest.repo
        );
        let body = api.send(&ApiRequest::get(path.clone()))?.body;
        let Value::Array(comments) = body else {
            return Err(GithubError::Response {
                path,
                message: "comments are not an array".to_owned(),
            });
        };
        let last = comments.len() < PER_PAGE;
        all.extend(comments);
        if last {
            break;
        }
    }
    Ok(all)
}

/// The comment whose first line is `marker`, written by someone trusted: a bot (the runner
/// posts as one in Actions) or an author whose association is allowed to answer. A look-alike
/// marker from anyone else is ignored, so an outsider cannot hijack the thread's sticky comment
/// or silence a request comment.
fn find_comment(comments: &[Value], dest: &Destination, marker: &str) -> Option<(u64, String)> {
    comments.iter().find_map(|c| {
        let text = c.get("body").and_then(Value::as_str).unwrap_or_default();
        if text.lines().next().map(str::trim_end) != Some(marker) {
            return None;
        }
        let bot = c.pointer("/user/type").and_then(Value::as_str) == Some("Bot");
        let association = c
            .get("author_association")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let trusted = bot
            || dest
                .answerers
                .iter()
                .any(|a| a.eq_ignore_ascii_case(association));
        let id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        trusted.then(|| (id, text.to_owned()))
    })
}

/// Edits the comments of requests that are no longer open to say so, once.
fn close_answered(
    api: &dyn Api,
    dest: &Destination,
    report: &WaveReport,
    listed: &Option<Vec<Value>>,
    writes: &mut u32,
) -> Result<(), GithubError> {
    let Some(comments) = listed else {
        return Ok(());
    };
    for c in comments {
        let text = c.get("body").and_then(Value::as_str).unwrap_or_default();
        let first = text.lines().next().unwrap_or_default();
        let Some(id) = text::parse_request_marker(&report.lane, report.wave, first) else {
            continue;
        };
        if report.requests.iter().any(|r| r.id == id) {
            continue;
        }
        let closed = text::request_closed_comment(&report.lane, report.wave, id);
        if text == closed || find_comment(std::slice::from_ref(c), dest, first.trim_end()).is_none()
        {
            continue;
        }
        let comment_id = c.get("id").and_then(Value::as_u64).unwrap_or(0);
        api.send(&ApiRequest::patch(
            format!(
                "/repos/{}/{}/issues/comments/{comment_id}",
                dest.owner, dest.repo
            ),
            json!({"body": closed}),
        ))?;
        *writes += 1;
    }
    Ok(())
}

/// Finds, edits or creates one marked comment. `listed` caches the thread's comments between
/// calls; it is dropped whenever a create may have landed, so the next lookup is fresh.
fn ensure_comment(
    api: &dyn Api,
    dest: &Destination,
    thread: u64,
    listed: &mut Option<Vec<Value>>,
    marker: &str,
    body: &str,
    writes: &mut u32,
) -> Result<(u64, Change), GithubError> {
    for _ in 0..CREATE_ROUNDS {
        let comments = match listed.take() {
            Some(c) => c,
            None => list_comments(api, dest, thread)?,
        };
        let found = find_comment(&comments, dest, marker);
        *listed = Some(comments);
        if let Some((id, existing)) = found {
            if existing == body {
                return Ok((id, Change::Unchanged));
            }
            // Editing a comment is PATCH, as the API documents.
            api.send(&ApiRequest::patch(
                format!("/repos/{}/{}/issues/comments/{id}", dest.owner, dest.repo),
                json!({"body": body}),
            ))?;
            *writes += 1;
            return Ok((id, Change::Updated));
        }
        *writes += 1;
        match api.send(&ApiRequest::post(
            format!(
                "/repos/{}/{}/issues/{thread}/comments",
                dest.owner, dest.repo
            ),
            json!({"body": body}),
        )) {
            Ok(created) => {
                let id = created.body.get("id").and_then(Value::as_u64).unwrap_or(0);
                if let Some(list) = listed.as_mut() {
                    list.push(created.body);
                }
                return Ok((id, Change::Created));
            }
            Err(GithubError::Transient { .. }) => {
                *listed = None;
                continue;
            }
            Err(e) => return Err(e),
        }
    }
    Err(GithubError::Exhausted {
        method: "POST",
        path: format!(
            "/repos/{}/{}/issues/{thread}/comments",
            dest.owner, dest.repo
        ),
        attempts: CREATE_ROUNDS,
        message: "the comment could neither be found nor created".to_owned(),
    })
}
