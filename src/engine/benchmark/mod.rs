//! The deterministic native benchmark (spec §13): no model is called; each case is a fixed
//! coordination log, each arm a way of projecting it, and metrics are fact recalls over the
//! projections.
//!
//! Owns: catalog and case validation, arm projections, scoring, per-family aggregation and the
//! seeded bootstrap comparisons. Must not: read files (the caller passes file contents) or the
//! clock (`generated_at` and `now` are parameters).

pub mod arms;
pub mod case;
pub mod catalog;
pub mod stats;

use serde::Serialize;
use serde_json::Value;

pub use arms::{ArmArtifacts, ArmResult, METRIC_IDS, ScoreDetails};
pub use case::{BenchmarkCase, DEFAULT_ARMS, SUPPORTED_ARMS};
pub use catalog::Catalog;
pub use stats::{ConfidenceInterval, JsNumber, bootstrap_mean_interval, percent, round2};

/// Default cases directory, relative to the repository root.
pub const DEFAULT_CASES_DIR: &str = "docs/evals/cases";
/// Default catalog path, relative to the repository root.
pub const DEFAULT_CATALOG_PATH: &str = "docs/evals/benchmark-catalog.json";
/// Default external adapter registry path, relative to the repository root.
pub const DEFAULT_EXTERNAL_BENCHMARKS_PATH: &str = "docs/evals/external-benchmarks.json";
/// Default output directory, relative to the repository root.
pub const DEFAULT_OUTPUT_DIR: &str = ".tmp/wave-benchmarks/latest";
/// The arm every comparison is made against.
pub const BASELINE_ARM: &str = "single-agent";

/// Errors of the benchmark subsystem; each names the file to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BenchmarkError {
    /// The catalog is missing or invalid.
    #[error("benchmark catalog {path}: {message}")]
    Catalog {
        /// Repository-relative path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A case file is invalid.
    #[error("benchmark case {path}: {message}")]
    Case {
        /// Repository-relative path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// Two case files declare the same id.
    #[error(
        "duplicate benchmark case id \"{id}\" in {path} (already declared in {first}); give each case a unique id"
    )]
    DuplicateCase {
        /// The id.
        id: String,
        /// The second file.
        path: String,
        /// The first file.
        first: String,
    },
    /// The external adapter registry is invalid.
    #[error("external benchmark registry {path}: {message}")]
    Adapters {
        /// Repository-relative path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A filter value is not a valid id.
    #[error("{label}: {message}")]
    Filter {
        /// The flag.
        label: String,
        /// What is wrong.
        message: String,
    },
    /// `show` named a case that does not exist.
    #[error("unknown benchmark case: {id}")]
    UnknownCase {
        /// The id asked for.
        id: String,
    },
}

/// `String(value ?? "").trim()`.
pub(crate) fn clean_text(value: &Value) -> String {
    crate::event::coordination::js_string(value)
        .trim()
        .to_owned()
}

/// Lowercases and checks an id against `^[a-z0-9][a-z0-9._-]*$`.
pub(crate) fn normalize_id(value: &Value, label: &str) -> Result<String, String> {
    let id = clean_text(value).to_lowercase();
    let mut bytes = id.bytes();
    let valid = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && bytes.all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        });
    if valid {
        Ok(id)
    } else {
        Err(format!("{label} must match /^[a-z0-9][a-z0-9._-]*$/"))
    }
}

/// A file handed to the engine: repository-relative path and contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Repository-relative path with `/` separators.
    pub path: String,
    /// Contents.
    pub text: String,
}

/// Everything `load_suite` reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSources {
    /// Repository-relative cases directory.
    pub cases_dir: String,
    /// The catalog.
    pub catalog: SourceFile,
    /// Every `*.json` file of the cases directory, sorted by path.
    pub cases: Vec<SourceFile>,
    /// The external adapter registry, when present.
    pub adapters: Option<SourceFile>,
}

/// A loaded suite.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Repository-relative cases directory.
    pub cases_dir: String,
    /// The catalog.
    pub catalog: Catalog,
    /// Cases, sorted by file path.
    pub cases: Vec<BenchmarkCase>,
    /// The normalized external adapter registry, when present.
    pub adapters: Option<Value>,
}

impl Suite {
    /// A case by id.
    pub fn case(&self, id: &str) -> Option<&BenchmarkCase> {
        self.cases.iter().find(|c| c.id == id)
    }
}

/// Validates the catalog and every case. `now` (wire timestamp) is the `createdAt` of records
/// that carry none.
pub fn load_suite(sources: &SuiteSources, now: &str) -> Result<Suite, BenchmarkError> {
    let catalog = Catalog::parse(&sources.catalog.path, &sources.catalog.text)?;
    let mut cases: Vec<BenchmarkCase> = Vec::with_capacity(sources.cases.len());
    for file in &sources.cases {
        let fail = |message: String| BenchmarkError::Case {
            path: file.path.clone(),
            message,
        };
        let payload: Value = serde_json::from_str(&file.text).map_err(|e| {
            fail(format!(
                "not valid JSON ({e}); fix the file or remove it from the cases directory"
            ))
        })?;
        let case = case::parse_case(&file.path, &payload, &catalog, now).map_err(fail)?;
        if let Some(first) = cases.iter().find(|c| c.id == case.id) {
            return Err(BenchmarkError::DuplicateCase {
                id: case.id.clone(),
                path: file.path.clone(),
                first: first.path.clone(),
            });
        }
        cases.push(case);
    }
    let adapters = match &sources.adapters {
        Some(file) => Some(load_adapters(file)?),
        None => None,
    };
    Ok(Suite {
        cases_dir: sources.cases_dir.clone(),
        catalog,
        cases,
        adapters,
    })
}

fn load_adapters(file: &SourceFile) -> Result<Value, BenchmarkError> {
    let fail = |message: String| BenchmarkError::Adapters {
        path: file.path.clone(),
        message,
    };
    let payload: Value =
        serde_json::from_str(&file.text).map_err(|e| fail(format!("not valid JSON ({e})")))?;
    if !payload.is_object() {
        return Err(fail("must be a JSON object".to_owned()));
    }
    let text_or_null = |v: Option<&Value>| {
        let t = v.map(clean_text).unwrap_or_default();
        if t.is_empty() {
            Value::Null
        } else {
            Value::String(t)
        }
    };
    let strings = |v: Option<&Value>, label: String| -> Result<Value, BenchmarkError> {
        match v {
            None | Some(Value::Null) => Ok(Value::Array(Vec::new())),
            Some(Value::Array(items)) => {
                let mut out = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    let t = clean_text(item);
                    if t.is_empty() {
                        return Err(fail(format!("{label}[{index}] must be a non-empty string")));
                    }
                    out.push(Value::String(t));
                }
                Ok(Value::Array(out))
            }
            Some(_) => Err(fail(format!("{label} must be an array"))),
        }
    };
    let mut adapters = Vec::new();
    let items = payload
        .get("adapters")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (index, adapter) in items.iter().enumerate() {
        if !adapter.is_object() {
            return Err(fail(format!("adapters[{index}] must be an object")));
        }
        let id = normalize_id(
            adapter.get("id").unwrap_or(&Value::Null),
            &format!("adapters[{index}].id"),
        )
        .map_err(fail)?;
        let mut out = serde_json::Map::new();
        let title = adapter
            .get("title")
            .map(clean_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone());
        out.insert("id".into(), Value::String(id));
        out.insert("title".into(), Value::String(title));
        let mode = adapter
            .get("mode")
            .map(clean_text)
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "adapted".into());
        out.insert("mode".into(), Value::String(mode));
        for key in [
            "sourceBenchmark",
            "split",
            "pilotManifestPath",
            "officialDocsUrl",
            "officialCodeUrl",
            "summary",
            "commandTemplate",
        ] {
            out.insert(key.into(), text_or_null(adapter.get(key)));
        }
        out.insert(
            "metrics".into(),
            strings(adapter.get("metrics"), format!("adapters[{index}].metrics"))?,
        );
        out.insert(
            "notes".into(),
            strings(adapter.get("notes"), format!("adapters[{index}].notes"))?,
        );
        adapters.push(Value::Object(out));
    }
    let version = crate::event::coordination::js_parse_int(&clean_text(
        payload.get("version").unwrap_or(&Value::String("1".into())),
    ))
    .filter(|v| *v != 0)
    .unwrap_or(1);
    let mut registry = serde_json::Map::new();
    registry.insert("path".into(), Value::String(file.path.clone()));
    registry.insert("version".into(), Value::from(version));
    registry.insert("adapters".into(), Value::Array(adapters));
    Ok(Value::Object(registry))
}

/// Which cases and arms to run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunOptions {
    /// `--case` (repeatable); empty = all.
    pub case_ids: Vec<String>,
    /// `--family` (repeatable); empty = all.
    pub family_ids: Vec<String>,
    /// `--benchmark` (repeatable); empty = all.
    pub benchmark_ids: Vec<String>,
    /// `--arm` (repeatable); empty = the default three.
    pub arms: Vec<String>,
}

/// `suite` block of the output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SuiteInfo {
    /// Cases directory.
    pub cases_dir: String,
    /// Catalog path.
    pub benchmark_catalog_path: String,
    /// Arms requested.
    pub requested_arms: Vec<String>,
}

/// One case's results.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CaseResult {
    /// Case id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Summary.
    pub summary: Option<String>,
    /// Family id.
    pub family_id: String,
    /// Family title.
    pub family_title: String,
    /// Benchmark id.
    pub benchmark_id: String,
    /// Benchmark title.
    pub benchmark_title: String,
    /// Primary metric.
    pub primary_metric: String,
    /// Results per arm, in requested order.
    #[serde(serialize_with = "serialize_arm_map")]
    pub arms: Vec<ArmResult>,
}

fn serialize_arm_map<S: serde::Serializer>(arms: &[ArmResult], s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(arms.len()))?;
    for arm in arms {
        map.serialize_entry(&arm.arm, arm)?;
    }
    map.end()
}

impl CaseResult {
    /// An arm's result.
    pub fn arm(&self, arm: &str) -> Option<&ArmResult> {
        self.arms.iter().find(|a| a.arm == arm)
    }
}

/// Per-family statistics of one arm.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilyArmStats {
    /// Mean aligned score.
    pub mean_score: JsNumber,
    /// Percent of cases passed.
    pub pass_rate: JsNumber,
    /// Cases.
    pub cases: usize,
}

/// Per-family aggregate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilySummary {
    /// Family id.
    pub family_id: String,
    /// Family title.
    pub family_title: String,
    /// Cases.
    pub cases: usize,
    /// Stats per arm, in first-seen order.
    #[serde(serialize_with = "arms::serialize_pairs")]
    pub arms: Vec<(String, FamilyArmStats)>,
}

/// A baseline-vs-challenger comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Comparison {
    /// `overall` or `family`.
    pub scope: String,
    /// Family id (family scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_id: Option<String>,
    /// Family title (family scope).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family_title: Option<String>,
    /// Baseline arm.
    pub baseline_arm: String,
    /// Challenger arm.
    pub challenger_arm: String,
    /// Mean aligned-score delta.
    pub mean_delta: JsNumber,
    /// Bootstrap interval of the delta.
    pub confidence_interval: ConfidenceInterval,
    /// `low > 0`.
    pub statistically_confident: bool,
}

/// The benchmark output (`results.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BenchmarkOutput {
    /// When the run happened.
    pub generated_at: String,
    /// Suite.
    pub suite: SuiteInfo,
    /// External adapter registry (`null` when the repository has none).
    pub adapters: Option<Value>,
    /// Case results.
    pub cases: Vec<CaseResult>,
    /// Per-family aggregates.
    pub family_summary: Vec<FamilySummary>,
    /// Comparisons.
    pub comparisons: Vec<Comparison>,
    /// Output directory relative to the repository root (set once written).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub output_dir: Option<String>,
}

fn normalize_filters(values: &[String], label: &str) -> Result<Vec<String>, BenchmarkError> {
    values
        .iter()
        .map(|v| {
            normalize_id(&Value::String(v.clone()), label).map_err(|message| {
                BenchmarkError::Filter {
                    label: label.to_owned(),
                    message,
                }
            })
        })
        .collect()
}

/// Runs the suite (`runBenchmarkSuite` without writing): `generated_at` is the wire timestamp
/// of the run and `now_ms` the clock used for record ages.
pub fn run_suite(
    suite: &Suite,
    options: &RunOptions,
    generated_at: &str,
    now_ms: i64,
) -> Result<BenchmarkOutput, BenchmarkError> {
    let case_ids = normalize_filters(&options.case_ids, "caseIds")?;
    let family_ids = normalize_filters(&options.family_ids, "familyIds")?;
    let benchmark_ids = normalize_filters(&options.benchmark_ids, "benchmarkIds")?;
    let requested_arms = if options.arms.is_empty() {
        DEFAULT_ARMS.iter().map(|a| (*a).to_owned()).collect()
    } else {
        normalize_filters(&options.arms, "arms")?
    };
    let mut results = Vec::new();
    for case in &suite.cases {
        if (!case_ids.is_empty() && !case_ids.contains(&case.id))
            || (!family_ids.is_empty() && !family_ids.contains(&case.family_id))
            || (!benchmark_ids.is_empty() && !benchmark_ids.contains(&case.benchmark_id))
        {
            continue;
        }
        let Some(family) = suite.catalog.family(&case.family_id) else {
            continue;
        };
        let mut arms: Vec<ArmResult> = Vec::new();
        for arm in &requested_arms {
            if !case.supported_arms.contains(arm) || arms.iter().any(|a| &a.arm == arm) {
                continue;
            }
            if let Some(result) = arms::evaluate(case, family, arm, now_ms) {
                arms.push(result);
            }
        }
        results.push(CaseResult {
            id: case.id.clone(),
            title: case.title.clone(),
            summary: case.summary.clone(),
            family_id: case.family_id.clone(),
            family_title: case.family_title.clone(),
            benchmark_id: case.benchmark_id.clone(),
            benchmark_title: case.benchmark_title.clone(),
            primary_metric: case.scoring.primary_metric.clone(),
            arms,
        });
    }
    let family_summary = aggregate_by_family(&results);
    let comparisons = build_comparisons(&results, &suite.catalog);
    Ok(BenchmarkOutput {
        generated_at: generated_at.to_owned(),
        suite: SuiteInfo {
            cases_dir: suite.cases_dir.clone(),
            benchmark_catalog_path: suite.catalog.path.clone(),
            requested_arms,
        },
        adapters: suite.adapters.clone(),
        cases: results,
        family_summary,
        comparisons,
        output_dir: None,
    })
}

fn first_seen<'a>(items: impl Iterator<Item = &'a str>) -> Vec<&'a str> {
    let mut out: Vec<&str> = Vec::new();
    for item in items {
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

fn aggregate_by_family(results: &[CaseResult]) -> Vec<FamilySummary> {
    let families = first_seen(results.iter().map(|r| r.family_id.as_str()));
    families
        .into_iter()
        .map(|family_id| {
            let cases: Vec<&CaseResult> = results
                .iter()
                .filter(|r| r.family_id == family_id)
                .collect();
            let arm_ids = first_seen(
                cases
                    .iter()
                    .flat_map(|c| c.arms.iter().map(|a| a.arm.as_str())),
            );
            let arms = arm_ids
                .into_iter()
                .map(|arm| {
                    let runs: Vec<&ArmResult> = cases.iter().filter_map(|c| c.arm(arm)).collect();
                    let total: f64 = runs.iter().map(|r| r.aligned_score.get()).sum();
                    let passed = runs.iter().filter(|r| r.passed).count();
                    let n = runs.len();
                    (
                        arm.to_owned(),
                        FamilyArmStats {
                            mean_score: JsNumber(round2(total / n as f64)),
                            pass_rate: JsNumber(percent(passed as f64, n as f64)),
                            cases: n,
                        },
                    )
                })
                .collect();
            FamilySummary {
                family_id: family_id.to_owned(),
                family_title: cases
                    .first()
                    .map(|c| c.family_title.clone())
                    .unwrap_or_default(),
                cases: cases.len(),
                arms,
            }
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

fn deltas<'a>(cases: impl Iterator<Item = &'a CaseResult>, challenger: &str) -> Vec<f64> {
    cases
        .filter_map(|c| {
            let baseline = c.arm(BASELINE_ARM)?;
            let candidate = c.arm(challenger)?;
            Some(candidate.aligned_score.get() - baseline.aligned_score.get())
        })
        .collect()
}

fn build_comparisons(results: &[CaseResult], catalog: &Catalog) -> Vec<Comparison> {
    let challengers: Vec<&str> = first_seen(
        results
            .iter()
            .flat_map(|c| c.arms.iter().map(|a| a.arm.as_str())),
    )
    .into_iter()
    .filter(|a| *a != BASELINE_ARM)
    .collect();
    let comparison = |scope: &str,
                      family: Option<(&str, String)>,
                      challenger: &str,
                      values: &[f64],
                      key: String| {
        let ci = bootstrap_mean_interval(values, &key);
        Comparison {
            scope: scope.to_owned(),
            family_id: family.as_ref().map(|(id, _)| (*id).to_owned()),
            family_title: family.map(|(_, title)| title),
            baseline_arm: BASELINE_ARM.to_owned(),
            challenger_arm: challenger.to_owned(),
            mean_delta: JsNumber(round2(mean(values))),
            confidence_interval: ci,
            statistically_confident: ci.low.get() > 0.0,
        }
    };
    let mut out = Vec::new();
    for challenger in &challengers {
        let values = deltas(results.iter(), challenger);
        if !values.is_empty() {
            out.push(comparison(
                "overall",
                None,
                challenger,
                &values,
                format!("overall:{challenger}"),
            ));
        }
    }
    for family_id in first_seen(results.iter().map(|r| r.family_id.as_str())) {
        let title = catalog
            .family(family_id)
            .map_or_else(|| family_id.to_owned(), |f| f.title.clone());
        for challenger in &challengers {
            let values = deltas(
                results.iter().filter(|r| r.family_id == family_id),
                challenger,
            );
            if !values.is_empty() {
                out.push(comparison(
                    "family",
                    Some((family_id, title.clone())),
                    challenger,
                    &values,
                    format!("{family_id}:{challenger}"),
                ));
            }
        }
    }
    out
}
