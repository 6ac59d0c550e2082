//! Benchmark case files (`docs/evals/cases/*.json`, spec §13.2): validation and
//! normalization into a [`BenchmarkCase`] with its materialized coordination state.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use crate::engine::coordination::{
    AgentProfile, CapabilityRouting, CoordinationState, materialize,
};
use crate::event::coordination::{
    CoordinationRecord, RawCoordinationRecord, RecordDefaults, js_parse_int, js_string, js_truthy,
    normalize,
};

use super::catalog::Catalog;
use super::stats::JsNumber;
use super::{clean_text, normalize_id};

/// Arms a case may support.
pub const SUPPORTED_ARMS: [&str; 4] = [
    "single-agent",
    "multi-agent-minimal",
    "full-wave",
    "full-wave-plus-improvement",
];

/// Arms a case supports when it names none.
pub const DEFAULT_ARMS: [&str; 3] = ["single-agent", "multi-agent-minimal", "full-wave"];

/// `minimumDistinctAssignedAgents`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MinimumDistinct {
    /// Not set.
    Absent,
    /// Set but not an integer (never triggers a deadlock; symmetry is 100).
    Invalid,
    /// An integer.
    Value(i64),
}

impl Serialize for MinimumDistinct {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            MinimumDistinct::Value(v) => serializer.serialize_i64(*v),
            _ => serializer.serialize_none(),
        }
    }
}

/// An expected assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedAssignment {
    /// Request id.
    pub request_id: String,
    /// Expected assignee.
    pub assigned_agent_id: String,
}

/// What a case expects the projections to show.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Expectations {
    /// Facts the integration-visible text must contain.
    pub global_facts: Vec<String>,
    /// Facts the shared summary must contain.
    pub summary_facts: Vec<String>,
    /// Facts per agent inbox, in file order.
    pub targeted_inboxes: Vec<(String, Vec<String>)>,
    /// Expected request assignees.
    pub required_assignments: Vec<ExpectedAssignment>,
    /// Clarification ids that must surface.
    pub clarification_request_ids: Vec<String>,
    /// Minimum distinct assignees.
    pub minimum_distinct_assigned_agents: MinimumDistinct,
    /// The arm must guard against premature closure.
    pub require_blocking_guard: bool,
}

/// How a case is scored.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Scoring {
    /// Scoring kind (descriptive).
    pub kind: String,
    /// The metric that is the arm's score.
    pub primary_metric: String,
    /// Pass thresholds per metric, in file order.
    #[serde(serialize_with = "serialize_thresholds")]
    pub thresholds: Vec<(String, f64)>,
    /// Declared practical-win threshold (not used in scoring).
    pub practical_win_threshold: JsNumber,
}

fn serialize_thresholds<S: serde::Serializer>(
    items: &[(String, f64)],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(items.len()))?;
    for (k, v) in items {
        map.serialize_entry(k, &JsNumber(*v))?;
    }
    map.end()
}

impl Scoring {
    /// Threshold of a metric.
    pub fn threshold(&self, metric: &str) -> Option<f64> {
        self.thresholds
            .iter()
            .rev()
            .find(|(k, _)| k == metric)
            .map(|(_, v)| *v)
    }
}

/// The case's coordination fixture.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Fixture {
    /// Lane.
    pub lane: String,
    /// Wave number.
    pub wave_number: i64,
    /// Agent whose local view the single-agent arm shows.
    pub primary_agent_id: String,
    /// Capability routing.
    pub capability_routing: CapabilityRouting,
    /// Agents.
    pub agents: Vec<AgentProfile>,
    /// Normalized records, in file order.
    pub records: Vec<CoordinationRecord>,
    /// Materialized state.
    #[serde(skip)]
    pub state: CoordinationState,
}

/// A validated case.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchmarkCase {
    /// Case id.
    pub id: String,
    /// Version.
    pub version: i64,
    /// Repository-relative path of the file.
    pub path: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: Option<String>,
    /// Tags.
    pub tags: Vec<String>,
    /// Case kind (`projection`).
    pub kind: String,
    /// Family id.
    pub family_id: String,
    /// Benchmark id.
    pub benchmark_id: String,
    /// Family title.
    pub family_title: String,
    /// Benchmark title.
    pub benchmark_title: String,
    /// Supported arms.
    pub supported_arms: Vec<String>,
    /// Scoring.
    pub scoring: Scoring,
    /// Expectations.
    pub expectations: Expectations,
    /// Fixture.
    pub fixture: Fixture,
}

fn string_array(value: Option<&Value>, label: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let text = clean_text(item);
                if text.is_empty() {
                    Err(format!("{label}[{index}] must be a non-empty string"))
                } else {
                    Ok(text)
                }
            })
            .collect(),
        Some(_) => Err(format!("{label} must be an array")),
    }
}

fn id_array(value: Option<&Value>, label: &str, allow_empty: bool) -> Result<Vec<String>, String> {
    let mut ids: Vec<String> = Vec::new();
    for (index, item) in string_array(value, label)?.into_iter().enumerate() {
        let id = normalize_id(&Value::String(item), &format!("{label}[{index}]"))?;
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    if !allow_empty && ids.is_empty() {
        return Err(format!("{label} must not be empty"));
    }
    Ok(ids)
}

fn object<'a>(
    value: Option<&'a Value>,
    label: &str,
) -> Result<Option<&'a Map<String, Value>>, String> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => Ok(Some(map)),
        Some(_) => Err(format!("{label} must be an object")),
    }
}

/// JavaScript `Number(value)`.
fn js_number(value: &Value) -> f64 {
    match value {
        Value::Null => 0.0,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => {
            let s = s.trim();
            if s.is_empty() {
                0.0
            } else if s
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
            {
                s.parse().unwrap_or(f64::NAN)
            } else {
                f64::NAN
            }
        }
        Value::Array(items) if items.is_empty() => 0.0,
        Value::Array(items) if items.len() == 1 => items.first().map_or(f64::NAN, |v| {
            js_number(&Value::String(js_string(v).into_owned()))
        }),
        _ => f64::NAN,
    }
}

/// JavaScript `Number.parseFloat(String(value))` for the practical-win threshold.
fn js_parse_float(value: &Value) -> f64 {
    let text = js_string(value);
    let text = text.trim_start();
    let mut end = 0;
    let mut seen_dot = false;
    let mut seen_exp = false;
    let bytes = text.as_bytes();
    while let Some(&b) = bytes.get(end) {
        let ok = b.is_ascii_digit()
            || (b == b'.' && !seen_dot && !seen_exp)
            || ((b == b'-' || b == b'+')
                && (end == 0 || matches!(bytes.get(end - 1), Some(b'e' | b'E'))))
            || ((b == b'e' || b == b'E') && !seen_exp && end > 0);
        if !ok {
            break;
        }
        seen_dot |= b == b'.';
        seen_exp |= b == b'e' || b == b'E';
        end += 1;
    }
    let mut candidate = text.get(..end).unwrap_or("");
    while !candidate.is_empty() {
        if let Ok(v) = candidate.parse::<f64>() {
            return v;
        }
        candidate = candidate.get(..candidate.len() - 1).unwrap_or("");
    }
    f64::NAN
}

fn agent(raw: &Value, index: usize) -> Result<AgentProfile, String> {
    if !raw.is_object() {
        return Err(format!("fixture.agents[{index}] must be an object"));
    }
    let label = format!("fixture.agents[{index}]");
    let agent_id = normalize_id(
        raw.get("agentId").unwrap_or(&Value::Null),
        &format!("{label}.agentId"),
    )?;
    Ok(AgentProfile {
        title: raw
            .get("title")
            .map(clean_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| agent_id.clone()),
        owned_paths: string_array(raw.get("ownedPaths"), &format!("{label}.ownedPaths"))?,
        capabilities: id_array(
            raw.get("capabilities"),
            &format!("{label}.capabilities"),
            true,
        )?,
        components: Vec::new(),
        agent_id,
    })
}

fn expectations(value: Option<&Value>) -> Result<Expectations, String> {
    let empty = Map::new();
    let raw = match value {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("expectations must be an object".to_owned()),
    };
    let mut targeted: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(map) = object(raw.get("targetedInboxes"), "expectations.targetedInboxes")? {
        for (key, facts) in map {
            let label = format!("expectations.targetedInboxes.{key}");
            let id = normalize_id(&Value::String(key.clone()), &label)?;
            let facts = string_array(Some(facts), &label)?;
            match targeted.iter_mut().find(|(k, _)| *k == id) {
                Some(entry) => entry.1 = facts,
                None => targeted.push((id, facts)),
            }
        }
    }
    let mut required = Vec::new();
    match raw.get("requiredAssignments") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for (index, item) in items.iter().enumerate() {
                let label = format!("expectations.requiredAssignments[{index}]");
                if !item.is_object() {
                    return Err(format!("{label} must be an object"));
                }
                required.push(ExpectedAssignment {
                    request_id: normalize_id(
                        item.get("requestId").unwrap_or(&Value::Null),
                        &format!("{label}.requestId"),
                    )?,
                    assigned_agent_id: normalize_id(
                        item.get("assignedAgentId").unwrap_or(&Value::Null),
                        &format!("{label}.assignedAgentId"),
                    )?,
                });
            }
        }
        Some(_) => return Err("expectations.requiredAssignments must be an array".to_owned()),
    }
    let minimum = match raw.get("minimumDistinctAssignedAgents") {
        None | Some(Value::Null) => MinimumDistinct::Absent,
        Some(v) => {
            js_parse_int(&js_string(v)).map_or(MinimumDistinct::Invalid, MinimumDistinct::Value)
        }
    };
    Ok(Expectations {
        global_facts: string_array(raw.get("globalFacts"), "expectations.globalFacts")?,
        summary_facts: string_array(raw.get("summaryFacts"), "expectations.summaryFacts")?,
        targeted_inboxes: targeted,
        required_assignments: required,
        clarification_request_ids: id_array(
            raw.get("clarificationRequestIds"),
            "expectations.clarificationRequestIds",
            true,
        )?,
        minimum_distinct_assigned_agents: minimum,
        require_blocking_guard: raw.get("requireBlockingGuard").is_some_and(js_truthy),
    })
}

fn scoring(value: Option<&Value>) -> Result<Scoring, String> {
    let empty = Map::new();
    let raw = match value {
        None => &empty,
        Some(Value::Object(map)) => map,
        Some(_) => return Err("scoring must be an object".to_owned()),
    };
    let mut thresholds = Vec::new();
    let thresholds_value = raw.get("thresholds").filter(|v| js_truthy(v));
    if let Some(value) = thresholds_value {
        let Some(map) = value.as_object() else {
            return Err("scoring.thresholds must be an object".to_owned());
        };
        for (key, v) in map {
            let parsed = js_number(v);
            if !parsed.is_finite() {
                return Err(format!("scoring.thresholds.{key} must be numeric"));
            }
            thresholds.push((key.clone(), parsed));
        }
    }
    Ok(Scoring {
        kind: normalize_id(raw.get("kind").unwrap_or(&Value::Null), "scoring.kind")?,
        primary_metric: normalize_id(
            raw.get("primaryMetric").unwrap_or(&Value::Null),
            "scoring.primaryMetric",
        )?,
        thresholds,
        practical_win_threshold: JsNumber(match raw.get("practicalWinThreshold") {
            None | Some(Value::Null) => 5.0,
            Some(v) => js_parse_float(v),
        }),
    })
}

fn capability_routing(value: Option<&Value>) -> Result<CapabilityRouting, String> {
    let Some(raw) = object(value, "fixture.capabilityRouting")? else {
        return Ok(CapabilityRouting::default());
    };
    let mut preferred = BTreeMap::new();
    if let Some(map) = raw.get("preferredAgents").and_then(Value::as_object) {
        for (key, agents) in map {
            let label = format!("fixture.capabilityRouting.preferredAgents.{key}");
            let capability = normalize_id(&Value::String(key.clone()), &label)?;
            preferred.insert(capability, id_array(Some(agents), &label, true)?);
        }
    }
    Ok(CapabilityRouting {
        preferred_agents: preferred,
    })
}

fn generated_id(kind: &str, path: &str, index: usize) -> String {
    let digest = Sha256::digest(format!("{path}#{index}").as_bytes());
    let hex = hex::encode(digest);
    format!("coord-{kind}-{}", hex.get(..8).unwrap_or(&hex))
}

/// Validates and normalizes one case file. `path` is repository-relative; `now` is the clock
/// reading used for records that carry no `createdAt`. Errors are messages without the path.
pub fn parse_case(
    path: &str,
    payload: &Value,
    catalog: &Catalog,
    now: &str,
) -> Result<BenchmarkCase, String> {
    let Some(raw) = payload.as_object() else {
        return Err("benchmark case must be an object".to_owned());
    };
    let get = |key: &str| raw.get(key);
    let id = normalize_id(get("id").unwrap_or(&Value::Null), "id")?;
    let family_id = normalize_id(get("familyId").unwrap_or(&Value::Null), "familyId")?;
    let benchmark_id = normalize_id(get("benchmarkId").unwrap_or(&Value::Null), "benchmarkId")?;
    let family = catalog
        .family(&family_id)
        .ok_or_else(|| format!("unknown benchmark family \"{family_id}\""))?;
    let benchmark = family.benchmark(&benchmark_id).ok_or_else(|| {
        format!("unknown benchmark \"{benchmark_id}\" for family \"{family_id}\"")
    })?;
    let registered: Vec<&String> = family
        .local_cases
        .iter()
        .chain(&benchmark.local_cases)
        .collect();
    if !registered.is_empty() && !registered.contains(&&id) {
        return Err(format!(
            "case \"{id}\" is not registered in {} for {family_id}/{benchmark_id}",
            catalog.path
        ));
    }
    let kind_value = get("kind")
        .filter(|v| js_truthy(v))
        .cloned()
        .unwrap_or_else(|| Value::String("projection".into()));
    let kind = normalize_id(&kind_value, "kind")?;
    if kind != "projection" {
        return Err(format!("unsupported case kind \"{kind}\""));
    }
    let Some(fixture) = get("fixture").and_then(Value::as_object) else {
        return Err("fixture must be an object".to_owned());
    };
    let agents = match fixture.get("agents") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, a)| agent(a, i))
            .collect::<Result<Vec<_>, _>>()?,
        _ => Vec::new(),
    };
    let Some(first_agent) = agents.first() else {
        return Err("fixture.agents must define at least one agent".to_owned());
    };
    let primary_value = fixture
        .get("primaryAgentId")
        .filter(|v| js_truthy(v))
        .cloned()
        .unwrap_or_else(|| Value::String(first_agent.agent_id.clone()));
    let primary_agent_id = normalize_id(&primary_value, "fixture.primaryAgentId")?;
    if !agents.iter().any(|a| a.agent_id == primary_agent_id) {
        return Err("fixture.primaryAgentId must match one of fixture.agents".to_owned());
    }
    let default_arms = Value::Array(
        DEFAULT_ARMS
            .iter()
            .map(|a| Value::String((*a).to_owned()))
            .collect(),
    );
    let arms_value = get("supportedArms")
        .filter(|v| js_truthy(v))
        .unwrap_or(&default_arms);
    let supported_arms = id_array(Some(arms_value), "supportedArms", false)?;
    if let Some(arm) = supported_arms
        .iter()
        .find(|a| !SUPPORTED_ARMS.contains(&a.as_str()))
    {
        return Err(format!("unsupported benchmark arm \"{arm}\""));
    }
    let lane = fixture
        .get("lane")
        .map(clean_text)
        .filter(|l| !l.is_empty())
        .unwrap_or_else(|| "main".to_owned());
    let wave_number = match fixture.get("waveNumber") {
        None | Some(Value::Null) => 0,
        Some(v) => js_parse_int(&js_string(v)).ok_or_else(|| {
            format!(
                "fixture.waveNumber must be an integer (got: {})",
                js_string(v)
            )
        })?,
    };
    let mut records = Vec::new();
    if let Some(Value::Array(items)) = fixture.get("records") {
        for (index, item) in items.iter().enumerate() {
            let raw = RawCoordinationRecord::from_value(item.clone())
                .map_err(|e| format!("fixture.records[{index}]: {e}"))?;
            let kind_hint = raw
                .get("kind")
                .filter(|v| js_truthy(v))
                .map(|v| js_string(v).trim().to_owned())
                .filter(|k| !k.is_empty())
                .unwrap_or_else(|| "record".to_owned());
            let defaults = RecordDefaults {
                id: Some(generated_id(&kind_hint, path, index)),
                lane: Some(lane.clone()),
                wave: Some(wave_number),
                source: Some("benchmark-case".to_owned()),
                now: Some(now.to_owned()),
                ..RecordDefaults::default()
            };
            records.push(
                normalize(raw, &defaults).map_err(|e| format!("fixture.records[{index}]: {e}"))?,
            );
        }
    }
    if records.is_empty() {
        return Err("fixture.records must define at least one coordination record".to_owned());
    }
    let version = js_parse_int(&js_string(
        get("version").unwrap_or(&Value::String("1".into())),
    ))
    .filter(|v| *v != 0)
    .unwrap_or(1);
    Ok(BenchmarkCase {
        version,
        path: path.to_owned(),
        title: get("title")
            .map(clean_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone()),
        summary: get("summary").map(clean_text).filter(|t| !t.is_empty()),
        tags: id_array(get("tags"), "tags", true)?,
        kind,
        family_title: family.title.clone(),
        benchmark_title: benchmark.title.clone(),
        family_id,
        benchmark_id,
        supported_arms,
        scoring: scoring(get("scoring"))?,
        expectations: expectations(get("expectations"))?,
        fixture: Fixture {
            lane,
            wave_number,
            primary_agent_id,
            capability_routing: capability_routing(fixture.get("capabilityRouting"))?,
            agents,
            state: materialize(records.clone()),
            records,
        },
        id,
    })
}
