//! The per-attempt trace bundle (`S/traces/wave-N/attempt-A/`, spec §10.11) and its replay.
//!
//! Owns: what a bundle holds and how the gate verdicts are recomputed from it. A bundle is
//! hermetic: it carries everything the gates read at the end of the attempt — a copy of the
//! inputs under `repo/` (configuration, wave file, role prompts, component matrix, benchmark
//! catalog), the file facts (`files.json`), the coordination facts (`coordination.json`),
//! every agent log the gates scanned (`logs/`), and per agent the exact inputs its execution
//! summary was built from (`summaries/`) — next to the verdicts themselves
//! (`gate-snapshot.json`). [`replay`] rebuilds the summaries and the gate snapshot from those
//! alone and compares it with the recorded one.
//! Must not: read the working tree, the store or the clock during a replay; decide verdicts
//! (the gates engine does, through [`with_gate_inputs`], the same path a launch takes).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::engine::coordination::integration::log_deploy_risks;
use crate::engine::gates::{
    self, CoordinationFacts, DocsQueue, GateInputs, GateSnapshot, IntegrationSummary,
};
use crate::engine::markers;
use crate::engine::summary::{
    ExecutionSummary, FileFacts, StatusRecord, SummaryInputs, build_summary,
};
use crate::plan::matrix::{BenchmarkCatalog, ComponentMatrix, parse_catalog, parse_matrix};
use crate::plan::{ExecutorId, LaneProfile, WavePlan};

/// The format version of bundles this build writes.
pub const TRACE_VERSION: u64 = 2;

/// Why a bundle could not be written or replayed.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    /// A file of the bundle could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A file of the bundle is not what this build writes.
    #[error("{}: {message}; replay bundles written by this version of wave", .path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The bundled plan or configuration does not load.
    #[error("bundled plan: {0}")]
    Plan(#[from] crate::plan::PlanError),
}

/// What the gates read at one evaluation, besides the plan and the summaries.
#[derive(Debug, Clone, Default)]
pub struct Material {
    /// Presence facts of the paths the gates ask about.
    pub files: FileFacts,
    /// Coordination facts.
    pub coordination: CoordinationFacts,
    /// Agent log texts, by agent id (infra and deploy markers are read from them).
    pub logs: BTreeMap<String, String>,
    /// The component matrix text, when the lane's matrix file exists.
    pub matrix_text: Option<String>,
}

/// The exact inputs one agent's execution summary was built from.
#[derive(Debug, Clone, Default)]
pub struct SummarySource {
    /// The executor that ran it.
    pub executor: Option<ExecutorId>,
    /// Its status record.
    pub status: StatusRecord,
    /// The log text.
    pub log_text: String,
    /// Repository-relative log path.
    pub log_path: String,
    /// The report path the summary read, if any.
    pub report_path: Option<String>,
    /// The report text, when the report existed.
    pub report_text: Option<String>,
    /// File facts at summary time.
    pub files: FileFacts,
}

impl SummarySource {
    /// Builds the summary from these inputs.
    pub fn summary(&self, agent: &crate::plan::Agent) -> ExecutionSummary {
        build_summary(&SummaryInputs {
            agent,
            executor: self.executor,
            status: Some(&self.status),
            log_text: &self.log_text,
            log_path: &self.log_path,
            report_path: self.report_path.as_deref(),
            report_text: self.report_text.as_deref(),
            files: &self.files,
        })
    }
}

/// Runs `f` on the gate inputs of `plan` built from `summaries` and `material` (the matrix
/// from the material when it parses, else `matrix`).
pub fn with_gate_inputs<R>(
    plan: &WavePlan,
    lane: &LaneProfile,
    matrix: Option<&ComponentMatrix>,
    catalog: Option<&BenchmarkCatalog>,
    summaries: &BTreeMap<String, ExecutionSummary>,
    material: &Material,
    f: impl FnOnce(&GateInputs<'_>) -> R,
) -> R {
    let mut infra = Vec::new();
    let mut deploy_risks = Vec::new();
    for a in &plan.agents {
        if let Some(text) = material.logs.get(&a.agent_id) {
            let tail = markers::tail(text, markers::STRUCTURED_TAIL_CHARS);
            if let Some(i) = markers::latest_infra_status(tail) {
                infra.push((a.agent_id.clone(), i));
            }
            deploy_risks.extend(log_deploy_risks(&a.agent_id, tail));
        }
    }
    let coordination = &material.coordination;
    let integration = IntegrationSummary::build(plan, lane, summaries, coordination, deploy_risks);
    let adjudications = BTreeMap::new();
    let matrix_path = &lane.paths.component_cutover_matrix_json_path;
    let fresh = material
        .matrix_text
        .as_deref()
        .and_then(|t| parse_matrix(Some(t), matrix_path).ok());
    let inputs = GateInputs {
        plan,
        lane,
        summaries,
        files: &material.files,
        matrix: fresh.as_ref().or(matrix),
        catalog,
        coordination,
        integration: Some(&integration),
        contradictions: &[],
        corridor: None,
        docs_queue: DocsQueue::default(),
        infra: &infra,
        adjudications: &adjudications,
        gate_mode: gates::resolve_gate_mode(plan.wave, Some(&lane.validation.gate_mode_thresholds)),
    };
    f(&inputs)
}

/// Everything one bundle records.
pub struct Bundle<'a> {
    /// Absolute repository root (inputs are copied from it).
    pub repo_root: &'a Path,
    /// The lane.
    pub lane: &'a LaneProfile,
    /// The wave.
    pub plan: &'a WavePlan,
    /// Attempt number.
    pub attempt: u64,
    /// The verdicts.
    pub snapshot: &'a GateSnapshot,
    /// What the gates read.
    pub material: &'a Material,
    /// Summary inputs per agent with a summary.
    pub sources: &'a BTreeMap<String, SummarySource>,
    /// Per-agent facts for the manifest (executor, launched, prompt hash).
    pub agents: Vec<Value>,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> TraceError + '_ {
    move |source| TraceError::Io {
        path: path.to_owned(),
        source,
    }
}

fn put(path: &Path, contents: &[u8]) -> Result<(), TraceError> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io(parent))?;
    }
    std::fs::write(path, contents).map_err(io(path))
}

fn pretty(v: &Value) -> Vec<u8> {
    (serde_json::to_string_pretty(v).unwrap_or_default() + "\n").into_bytes()
}

/// A repository-relative path that stays inside the bundle's `repo/` copy.
fn safe_rel(rel: &str) -> Option<&str> {
    let p = Path::new(rel);
    (!rel.is_empty()
        && p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_))))
    .then_some(rel)
}

fn status_value(s: &StatusRecord) -> Value {
    json!({"code": s.code, "promptHash": s.prompt_hash, "attempt": s.attempt,
           "completedAt": s.completed_at, "detail": s.detail})
}

fn file_name(agent_id: &str) -> String {
    agent_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// Writes the bundle into `dir` (replacing what an earlier write of the same attempt left).
pub fn write(dir: &Path, b: &Bundle<'_>) -> Result<(), TraceError> {
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io(dir))?;
    }
    let snapshot = pretty(&b.snapshot.to_value());
    put(&dir.join("gate-snapshot.json"), &snapshot)?;
    // Inputs, at their repository paths.
    let mut inputs: Vec<String> = vec!["wave.config.json".into(), b.plan.file.clone()];
    for a in &b.plan.agents {
        inputs.extend(a.role_prompts.iter().map(|r| r.path.clone()));
    }
    inputs.push(b.lane.paths.benchmark_catalog_path.clone());
    let mut copied = Vec::new();
    for rel in inputs {
        let Some(rel) = safe_rel(&rel) else { continue };
        if copied.iter().any(|c: &String| c == rel) {
            continue;
        }
        if let Ok(bytes) = std::fs::read(b.repo_root.join(rel)) {
            put(&dir.join("repo").join(rel), &bytes)?;
            copied.push(rel.to_owned());
        }
    }
    if let (Some(text), Some(rel)) = (
        &b.material.matrix_text,
        safe_rel(&b.lane.paths.component_cutover_matrix_json_path),
    ) {
        put(&dir.join("repo").join(rel), text.as_bytes())?;
        copied.push(rel.to_owned());
    }
    let files = serde_json::to_value(&b.material.files).unwrap_or(Value::Null);
    put(&dir.join("files.json"), &pretty(&files))?;
    let coordination = serde_json::to_value(&b.material.coordination).unwrap_or(Value::Null);
    put(&dir.join("coordination.json"), &pretty(&coordination))?;
    for (id, text) in &b.material.logs {
        put(
            &dir.join(format!("logs/{}.log", file_name(id))),
            text.as_bytes(),
        )?;
    }
    let mut summaries = Map::new();
    for (id, src) in b.sources {
        let name = file_name(id);
        put(
            &dir.join(format!("summaries/{name}.log")),
            src.log_text.as_bytes(),
        )?;
        if let Some(report) = &src.report_text {
            put(
                &dir.join(format!("summaries/{name}.report")),
                report.as_bytes(),
            )?;
        }
        let meta = json!({
            "agentId": id,
            "executorId": src.executor.map(|e| e.as_str()),
            "status": status_value(&src.status),
            "logPath": src.log_path,
            "reportPath": src.report_path,
            "hasReport": src.report_text.is_some(),
            "files": serde_json::to_value(&src.files).unwrap_or(Value::Null),
        });
        put(&dir.join(format!("summaries/{name}.json")), &pretty(&meta))?;
        if let Some(agent) = b.plan.agent(id) {
            summaries.insert(id.clone(), src.summary(agent).to_value());
        }
    }
    let manifest = json!({
        "traceVersion": TRACE_VERSION,
        "replayMode": "hermetic",
        "lane": b.lane.lane,
        "wave": b.plan.wave,
        "attempt": b.attempt,
        "waveFile": b.plan.file,
        "gateMode": b.snapshot.gate_mode,
        "inputs": copied,
        "agents": b.agents,
        "summaries": Value::Object(summaries),
        "overall": b.snapshot.overall,
    });
    put(&dir.join("manifest.json"), &pretty(&manifest))
}

/// The outcome of a replay.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Replay {
    /// The recomputed verdict passes.
    pub ok: bool,
    /// The recomputed snapshot equals the recorded one.
    pub matches: bool,
    /// Paths of the leaves that differ (`overall.statusCode`, …).
    pub diff_paths: Vec<String>,
    /// The recomputed snapshot.
    pub gate_snapshot: Value,
}

fn read_text(path: &Path) -> Result<String, TraceError> {
    std::fs::read_to_string(path).map_err(io(path))
}

fn read_json(path: &Path) -> Result<Value, TraceError> {
    let text = read_text(path)?;
    serde_json::from_str(&text).map_err(|e| TraceError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn from_json<T: serde::de::DeserializeOwned>(path: &Path, v: Value) -> Result<T, TraceError> {
    serde_json::from_value(v).map_err(|e| TraceError::Invalid {
        path: path.to_owned(),
        message: e.to_string(),
    })
}

fn status_from(v: &Value) -> StatusRecord {
    StatusRecord {
        code: v.get("code").and_then(Value::as_i64),
        prompt_hash: v
            .get("promptHash")
            .and_then(Value::as_str)
            .map(str::to_owned),
        attempt: v.get("attempt").and_then(Value::as_u64),
        completed_at: v
            .get("completedAt")
            .and_then(Value::as_str)
            .map(str::to_owned),
        detail: v.get("detail").and_then(Value::as_str).map(str::to_owned),
    }
}

/// Paths of the leaves where `a` and `b` differ (arrays differ by length or element).
pub fn diff_paths(a: &Value, b: &Value) -> Vec<String> {
    fn walk(a: &Value, b: &Value, at: &str, out: &mut Vec<String>) {
        match (a, b) {
            (Value::Object(x), Value::Object(y)) => {
                let mut keys: Vec<&String> = x.keys().chain(y.keys()).collect();
                keys.sort();
                keys.dedup();
                for k in keys {
                    let path = if at.is_empty() {
                        k.clone()
                    } else {
                        format!("{at}.{k}")
                    };
                    match (x.get(k), y.get(k)) {
                        (Some(p), Some(q)) => walk(p, q, &path, out),
                        _ => out.push(path),
                    }
                }
            }
            (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
                for (i, (p, q)) in x.iter().zip(y).enumerate() {
                    walk(p, q, &format!("{at}[{i}]"), out);
                }
            }
            _ if a == b => {}
            _ => out.push(at.to_owned()),
        }
    }
    let mut out = Vec::new();
    walk(a, b, "", &mut out);
    out
}

/// Recomputes the gate snapshot from the bundle in `dir` and compares it with the recorded one.
pub fn replay(dir: &Path) -> Result<Replay, TraceError> {
    let manifest_path = dir.join("manifest.json");
    let manifest = read_json(&manifest_path)?;
    let version = manifest.get("traceVersion").and_then(Value::as_u64);
    if version != Some(TRACE_VERSION) {
        return Err(TraceError::Invalid {
            path: manifest_path,
            message: format!("traceVersion {version:?}, expected {TRACE_VERSION}"),
        });
    }
    let field = |k: &str| {
        manifest
            .get(k)
            .and_then(Value::as_str)
            .map(str::to_owned)
            .ok_or_else(|| TraceError::Invalid {
                path: manifest_path.clone(),
                message: format!("missing `{k}`"),
            })
    };
    let lane_name = field("lane")?;
    let wave_file = field("waveFile")?;
    let root = dir.join("repo");
    let config = crate::plan::load_config(&root)?;
    let lane = config.lane_profile(Some(&lane_name))?;
    let plan = crate::plan::load_wave_file(&root, Path::new(&wave_file), &lane)?.plan;
    let catalog_path = &lane.paths.benchmark_catalog_path;
    let catalog = std::fs::read_to_string(root.join(catalog_path))
        .ok()
        .and_then(|t| parse_catalog(Some(&t), catalog_path).ok());
    let files_path = dir.join("files.json");
    let files: FileFacts = from_json(&files_path, read_json(&files_path)?)?;
    let coordination_path = dir.join("coordination.json");
    let coordination: CoordinationFacts =
        from_json(&coordination_path, read_json(&coordination_path)?)?;
    let mut logs = BTreeMap::new();
    let mut summaries = BTreeMap::new();
    for agent in &plan.agents {
        let name = file_name(&agent.agent_id);
        if let Ok(text) = std::fs::read_to_string(dir.join(format!("logs/{name}.log"))) {
            logs.insert(agent.agent_id.clone(), text);
        }
        let meta_path = dir.join(format!("summaries/{name}.json"));
        if !meta_path.is_file() {
            continue;
        }
        let meta = read_json(&meta_path)?;
        let report_text = if meta.get("hasReport").and_then(Value::as_bool) == Some(true) {
            Some(read_text(&dir.join(format!("summaries/{name}.report")))?)
        } else {
            None
        };
        let source = SummarySource {
            executor: meta
                .get("executorId")
                .and_then(Value::as_str)
                .and_then(ExecutorId::parse),
            status: status_from(meta.get("status").unwrap_or(&Value::Null)),
            log_text: read_text(&dir.join(format!("summaries/{name}.log")))?,
            log_path: meta
                .get("logPath")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            report_path: meta
                .get("reportPath")
                .and_then(Value::as_str)
                .map(str::to_owned),
            report_text,
            files: from_json(
                &meta_path,
                meta.get("files").cloned().unwrap_or(Value::Null),
            )?,
        };
        summaries.insert(agent.agent_id.clone(), source.summary(agent));
    }
    let matrix_path = &lane.paths.component_cutover_matrix_json_path;
    let material = Material {
        files,
        coordination,
        logs,
        matrix_text: std::fs::read_to_string(root.join(matrix_path)).ok(),
    };
    let snapshot = with_gate_inputs(
        &plan,
        &lane,
        None,
        catalog.as_ref(),
        &summaries,
        &material,
        gates::evaluate,
    );
    let recomputed = snapshot.to_value();
    let recorded = read_json(&dir.join("gate-snapshot.json"))?;
    let diff = diff_paths(&recorded, &recomputed);
    Ok(Replay {
        ok: snapshot.overall.ok,
        matches: diff.is_empty(),
        diff_paths: diff,
        gate_snapshot: recomputed,
    })
}
