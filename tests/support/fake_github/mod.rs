//! A stateful fake GitHub REST API on loopback for the contract tests.
//!
//! Every request is checked against GitHub's official OpenAPI description (method and path,
//! path and query parameters, JSON body) and so is every response the fake sends. A request the
//! description does not allow is answered `422` and recorded as a violation; a test fails when
//! [`FakeGithub::violations`] is not empty (and the fake panics on drop if nobody looked).
//!
//! State: check runs (with appended annotations) and issue comments. Faults can be queued per
//! method: a 500 before or after applying the request, a 403 secondary rate limit with
//! `retry-after`, or a connection dropped after applying it.
#![allow(dead_code)]

pub mod openapi;
pub mod schema;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use serde_json::{Value, json};

/// A fault injected into the next matching request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Answer 500 without applying the request.
    ServerErrorBefore,
    /// Apply the request, then answer 500.
    ServerErrorAfter,
    /// Answer 403 "secondary rate limit" with `retry-after: <secs>`, not applying it.
    SecondaryRateLimit(u64),
    /// Apply the request, then close the connection without answering.
    DropAfter,
    /// Answer 429 with `x-ratelimit-remaining: 0` and `x-ratelimit-reset` this many seconds
    /// ahead, not applying it.
    PrimaryRateLimit(u64),
}

/// One request as the fake saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Value>,
    pub status: u16,
}

#[derive(Debug, Default)]
pub struct State {
    pub check_runs: Vec<Value>,
    pub annotations: Vec<(u64, Value)>,
    pub comments: Vec<(u64, Value)>,
    /// Workflow dispatches: (workflow id or file name, request body).
    pub dispatches: Vec<(String, Value)>,
    next_id: u64,
    faults: VecDeque<(String, Fault)>,
    pub log: Vec<Seen>,
    pub violations: Vec<String>,
}

/// The fake server. Dropping it stops it.
pub struct FakeGithub {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    checked: AtomicBool,
}

impl FakeGithub {
    /// Starts a fake, or `None` when GitHub's description is not installed (skip; under CI a
    /// missing description fails instead).
    pub fn start() -> Option<Self> {
        let spec = openapi::spec()?;
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        listener.set_nonblocking(true).expect("nonblocking");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            next_id: 1000,
            ..State::default()
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let state = Arc::clone(&state);
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                let deadline = std::time::Instant::now() + std::time::Duration::from_secs(300);
                while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let _ = stream.set_nonblocking(false);
                            serve(spec, &state, stream);
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                            std::thread::sleep(std::time::Duration::from_millis(2));
                        }
                        Err(_) => break,
                    }
                }
            })
        };
        Some(Self {
            url,
            state,
            stop,
            thread: Some(thread),
            checked: AtomicBool::new(false),
        })
    }

    /// Queues a fault for the next request with this method (`POST`, `PATCH`, `GET`).
    pub fn inject(&self, method: &str, fault: Fault) {
        self.state
            .lock()
            .expect("state")
            .faults
            .push_back((method.to_owned(), fault));
    }

    /// Runs a closure on the state.
    pub fn with<T>(&self, f: impl FnOnce(&mut State) -> T) -> T {
        f(&mut self.state.lock().expect("state"))
    }

    /// Requests the description does not allow, and responses it does not describe.
    pub fn violations(&self) -> Vec<String> {
        self.checked.store(true, Ordering::SeqCst);
        self.with(|s| s.violations.clone())
    }

    /// The log of requests.
    pub fn log(&self) -> Vec<Seen> {
        self.with(|s| s.log.clone())
    }

    /// Adds a comment written by someone else.
    pub fn add_comment(&self, issue: u64, body: &str) -> u64 {
        let spec = openapi::spec().expect("spec");
        self.with(|s| {
            s.next_id += 1;
            let id = s.next_id;
            let mut c = openapi::example(spec, "issue-comment");
            c["id"] = json!(id);
            c["body"] = json!(body);
            s.comments.push((issue, c));
            id
        })
    }
}

impl Drop for FakeGithub {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if !std::thread::panicking() && !self.checked.load(Ordering::SeqCst) {
            let v = self.with(|s| s.violations.clone());
            assert!(v.is_empty(), "fake GitHub saw contract violations: {v:#?}");
        }
    }
}

struct Request {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
    body: Option<Value>,
    raw_body: Vec<u8>,
}

fn read_request(stream: &TcpStream) -> Option<Request> {
    let mut reader = BufReader::new(stream.try_clone().ok()?);
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let target = parts.next()?.to_owned();
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    let len: usize = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    let mut raw_body = vec![0; len];
    reader.read_exact(&mut raw_body).ok()?;
    let body = if len == 0 {
        None
    } else {
        serde_json::from_slice(&raw_body).ok()
    };
    Some(Request {
        method,
        target,
        headers,
        body,
        raw_body,
    })
}

fn respond(mut stream: &TcpStream, status: u16, headers: &[(&str, String)], body: &Value) {
    let text = if body.is_null() {
        String::new()
    } else {
        body.to_string()
    };
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n",
        text.len()
    );
    for (k, v) in headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    out.push_str(&text);
    let _ = stream.write_all(out.as_bytes());
    let _ = stream.flush();
}

fn serve(spec: &'static Value, state: &Arc<Mutex<State>>, stream: TcpStream) {
    let Some(req) = read_request(&stream) else {
        return;
    };
    let mut st = state.lock().expect("state");
    let header = |name: &str| {
        req.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let mut problems = Vec::new();
    if header("x-github-api-version").as_deref() != Some("2022-11-28") {
        problems.push(format!(
            "{} {}: X-GitHub-Api-Version is {:?}",
            req.method,
            req.target,
            header("x-github-api-version")
        ));
    }
    if !header("accept").is_some_and(|a| a.contains("application/vnd.github+json")) {
        problems.push(format!(
            "{} {}: Accept is {:?}",
            req.method,
            req.target,
            header("accept")
        ));
    }
    if header("authorization").is_none() {
        problems.push(format!("{} {}: no Authorization", req.method, req.target));
    }
    if !req.raw_body.is_empty() && req.body.is_none() {
        problems.push(format!("{} {}: body is not JSON", req.method, req.target));
    }
    let operation = match openapi::check_request(spec, &req.method, &req.target, req.body.as_ref())
    {
        Ok(op) => Some(op),
        Err(errs) => {
            problems.extend(errs);
            None
        }
    };
    let seen = |status| Seen {
        method: req.method.clone(),
        path: req.target.clone(),
        headers: req.headers.clone(),
        body: req.body.clone(),
        status,
    };
    if !problems.is_empty() {
        st.violations.extend(problems.iter().cloned());
        st.log.push(seen(422));
        drop(st);
        respond(
            &stream,
            422,
            &[],
            &json!({"message": "Validation Failed", "errors": problems}),
        );
        return;
    }
    let fault = st
        .faults
        .iter()
        .position(|(m, _)| *m == req.method)
        .and_then(|i| st.faults.remove(i))
        .map(|(_, f)| f);
    match fault {
        Some(Fault::ServerErrorBefore) => {
            st.log.push(seen(500));
            drop(st);
            respond(&stream, 500, &[], &json!({"message": "Server Error"}));
            return;
        }
        Some(Fault::SecondaryRateLimit(secs)) => {
            st.log.push(seen(403));
            let body = json!({
                "message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"
            });
            drop(st);
            respond(&stream, 403, &[("retry-after", secs.to_string())], &body);
            return;
        }
        Some(Fault::PrimaryRateLimit(secs)) => {
            st.log.push(seen(429));
            let reset = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_secs())
                .unwrap_or(0)
                + secs;
            drop(st);
            respond(
                &stream,
                429,
                &[
                    ("x-ratelimit-remaining", "0".to_owned()),
                    ("x-ratelimit-reset", reset.to_string()),
                ],
                &json!({"message": "API rate limit exceeded"}),
            );
            return;
        }
        _ => {}
    }
    let (status, body) = handle(spec, &mut st, &req, operation.as_deref().unwrap_or(""));
    let response_problems = openapi::check_response(spec, &req.method, &req.target, status, &body);
    st.violations.extend(response_problems);
    match fault {
        Some(Fault::ServerErrorAfter) => {
            st.log.push(seen(500));
            drop(st);
            respond(&stream, 500, &[], &json!({"message": "Server Error"}));
        }
        Some(Fault::DropAfter) => {
            st.log.push(seen(0));
            drop(st);
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
        _ => {
            st.log.push(seen(status));
            drop(st);
            respond(&stream, status, &[], &body);
        }
    }
}

fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k == name).then(|| openapi::percent_decode(v))
    })
}

fn segments(target: &str) -> Vec<String> {
    target
        .split('?')
        .next()
        .unwrap_or_default()
        .trim_start_matches('/')
        .split('/')
        .map(openapi::percent_decode)
        .collect()
}

fn not_found() -> (u16, Value) {
    (
        404,
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

fn handle(spec: &Value, st: &mut State, req: &Request, operation: &str) -> (u16, Value) {
    let seg = segments(&req.target);
    let body = req.body.clone().unwrap_or(Value::Null);
    match operation {
        "GET /repos/{owner}/{repo}/commits/{ref}/check-runs" => {
            let sha = &seg[4];
            let name = query_param(&req.target, "check_name");
            let runs: Vec<Value> = st
                .check_runs
                .iter()
                .filter(|r| r["head_sha"] == sha.as_str())
                .filter(|r| name.as_ref().is_none_or(|n| r["name"] == n.as_str()))
                .cloned()
                .collect();
            (200, json!({"total_count": runs.len(), "check_runs": runs}))
        }
        "POST /repos/{owner}/{repo}/check-runs" => {
            st.next_id += 1;
            let id = st.next_id;
            let mut run = openapi::example(spec, "check-run-example-of-completed-conclusion");
            run["id"] = json!(id);
            run["head_sha"] = body["head_sha"].clone();
            run["name"] = body["name"].clone();
            run["external_id"] = body.get("external_id").cloned().unwrap_or(json!(""));
            run["status"] = body.get("status").cloned().unwrap_or(json!("queued"));
            run["conclusion"] = body.get("conclusion").cloned().unwrap_or(Value::Null);
            run["started_at"] = body.get("started_at").cloned().unwrap_or(Value::Null);
            run["completed_at"] = body.get("completed_at").cloned().unwrap_or(Value::Null);
            run["output"] = json!({
                "title": Value::Null, "summary": Value::Null, "text": Value::Null,
                "annotations_count": 0,
                "annotations_url": format!("https://api.github.com/repos/o/r/check-runs/{id}/annotations"),
            });
            apply_check_run_output(st, &mut run, &body);
            st.check_runs.push(run.clone());
            (201, run)
        }
        "PATCH /repos/{owner}/{repo}/check-runs/{check_run_id}" => {
            let id: u64 = seg[4].parse().unwrap_or(0);
            let Some(pos) = st.check_runs.iter().position(|r| r["id"] == id) else {
                return not_found();
            };
            let mut run = st.check_runs[pos].clone();
            for key in [
                "name",
                "external_id",
                "status",
                "conclusion",
                "started_at",
                "completed_at",
            ] {
                if let Some(v) = body.get(key) {
                    run[key] = v.clone();
                }
            }
            if body.get("conclusion").is_some() {
                run["status"] = json!("completed");
            }
            if body.get("status").is_some_and(|s| s != "completed") {
                run["conclusion"] = Value::Null;
            }
            apply_check_run_output(st, &mut run, &body);
            st.check_runs[pos] = run.clone();
            (200, run)
        }
        "GET /repos/{owner}/{repo}/issues/{issue_number}/comments" => {
            let issue: u64 = seg[4].parse().unwrap_or(0);
            let per_page: usize = query_param(&req.target, "per_page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(30);
            let page: usize = query_param(&req.target, "page")
                .and_then(|v| v.parse().ok())
                .unwrap_or(1);
            let all: Vec<Value> = st
                .comments
                .iter()
                .filter(|(i, _)| *i == issue)
                .map(|(_, c)| c.clone())
                .collect();
            let items: Vec<Value> = all
                .into_iter()
                .skip(per_page * page.saturating_sub(1))
                .take(per_page)
                .collect();
            (200, Value::Array(items))
        }
        "POST /repos/{owner}/{repo}/issues/{issue_number}/comments" => {
            let issue: u64 = seg[4].parse().unwrap_or(0);
            st.next_id += 1;
            let id = st.next_id;
            let mut c = openapi::example(spec, "issue-comment");
            c["id"] = json!(id);
            c["body"] = body["body"].clone();
            c["user"]["login"] = json!("github-actions[bot]");
            c["user"]["type"] = json!("Bot");
            st.comments.push((issue, c.clone()));
            (201, c)
        }
        "PATCH /repos/{owner}/{repo}/issues/comments/{comment_id}" => {
            let id: u64 = seg[5].parse().unwrap_or(0);
            let Some(entry) = st.comments.iter_mut().find(|(_, c)| c["id"] == id) else {
                return not_found();
            };
            entry.1["body"] = body["body"].clone();
            (200, entry.1.clone())
        }
        "POST /repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches" => {
            st.dispatches.push((seg[5].clone(), body));
            (204, Value::Null)
        }
        "GET /repos/{owner}/{repo}/installation" => (200, openapi::example(spec, "installation")),
        "POST /app/installations/{installation_id}/access_tokens" => {
            (201, openapi::example(spec, "installation-token"))
        }
        _ => not_found(),
    }
}

fn apply_check_run_output(st: &mut State, run: &mut Value, body: &Value) {
    let Some(output) = body.get("output") else {
        return;
    };
    for key in ["title", "summary", "text"] {
        if let Some(v) = output.get(key) {
            run["output"][key] = v.clone();
        }
    }
    if let Some(list) = output.get("annotations").and_then(Value::as_array) {
        let id = run["id"].as_u64().unwrap_or(0);
        for a in list {
            st.annotations.push((id, a.clone()));
        }
        let count = st.annotations.iter().filter(|(i, _)| *i == id).count();
        run["output"]["annotations_count"] = json!(count);
    }
}
