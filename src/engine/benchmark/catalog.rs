//! The benchmark catalog (`docs/evals/benchmark-catalog.json`, spec §13.1): families, their
//! metrics and directions, and their benchmarks.
//!
//! Only what the deterministic suite uses is validated and kept (ids, titles, metric
//! descriptors, `localCases`); descriptive fields such as paper references are tolerated.

use serde_json::Value;

use super::{BenchmarkError, clean_text, normalize_id};

/// Allowed metric directions.
const DIRECTIONS: [&str; 4] = ["higher-is-better", "lower-is-better", "target", "rubric"];

/// A metric descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricDescriptor {
    /// Metric id.
    pub id: String,
    /// Direction, when given.
    pub direction: Option<String>,
}

/// One benchmark of a family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogBenchmark {
    /// Benchmark id.
    pub id: String,
    /// Title (the id when missing).
    pub title: String,
    /// Case ids registered for it.
    pub local_cases: Vec<String>,
}

/// One family.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family {
    /// Family id.
    pub id: String,
    /// Title (the id when missing).
    pub title: String,
    /// Case ids registered for the family.
    pub local_cases: Vec<String>,
    /// Primary metric, then secondary metrics.
    pub metrics: Vec<MetricDescriptor>,
    /// Benchmarks, in file order.
    pub benchmarks: Vec<CatalogBenchmark>,
}

impl Family {
    /// A benchmark by id.
    pub fn benchmark(&self, id: &str) -> Option<&CatalogBenchmark> {
        self.benchmarks.iter().find(|b| b.id == id)
    }

    /// Direction of a metric of this family (`higher-is-better` when not declared).
    pub fn direction(&self, metric: &str) -> &str {
        self.metrics
            .iter()
            .find(|m| m.id == metric)
            .and_then(|m| m.direction.as_deref())
            .unwrap_or("higher-is-better")
    }
}

/// The catalog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Catalog {
    /// Repository-relative path it was read from.
    pub path: String,
    /// Families, in file order.
    pub families: Vec<Family>,
}

impl Catalog {
    /// A family by id.
    pub fn family(&self, id: &str) -> Option<&Family> {
        self.families.iter().find(|f| f.id == id)
    }

    /// Parses and validates a catalog read from `path`.
    pub fn parse(path: &str, text: &str) -> Result<Self, BenchmarkError> {
        let fail = |message: String| BenchmarkError::Catalog {
            path: path.to_owned(),
            message,
        };
        let payload: Value = serde_json::from_str(text)
            .map_err(|e| fail(format!("benchmark catalog is not valid JSON ({e})")))?;
        let Some(families_in) = payload.get("families").and_then(Value::as_object) else {
            return Err(fail(
                "benchmark catalog must define a \"families\" object".to_owned(),
            ));
        };
        let mut families: Vec<Family> = Vec::new();
        let mut benchmark_ids: Vec<String> = Vec::new();
        for (key, raw) in families_in {
            let id = normalize_id(&Value::String(key.clone()), &format!("families.{key}"))
                .map_err(fail)?;
            let Some(raw) = raw.as_object() else {
                return Err(fail(format!("benchmark family \"{id}\" must be an object")));
            };
            let Some(benchmarks_in) = raw
                .get("benchmarks")
                .and_then(Value::as_object)
                .filter(|b| !b.is_empty())
            else {
                return Err(fail(format!(
                    "benchmark family \"{id}\" must define a non-empty benchmarks object"
                )));
            };
            let mut metrics = Vec::new();
            if let Some(m) = metric(
                raw.get("primaryMetric"),
                &format!("families.{id}.primaryMetric"),
            )
            .map_err(fail)?
            {
                metrics.push(m);
            }
            match raw.get("secondaryMetrics") {
                None | Some(Value::Null) => {}
                Some(Value::Array(items)) => {
                    for (index, item) in items.iter().enumerate() {
                        if let Some(m) = metric(
                            Some(item),
                            &format!("families.{id}.secondaryMetrics[{index}]"),
                        )
                        .map_err(fail)?
                        {
                            metrics.push(m);
                        }
                    }
                }
                Some(_) => {
                    return Err(fail(format!(
                        "families.{id}.secondaryMetrics must be an array"
                    )));
                }
            }
            let mut benchmarks = Vec::new();
            for (bkey, braw) in benchmarks_in {
                let bid = normalize_id(
                    &Value::String(bkey.clone()),
                    &format!("families.{id}.benchmarks.{bkey}"),
                )
                .map_err(fail)?;
                if benchmark_ids.contains(&bid) {
                    return Err(fail(format!(
                        "benchmark id \"{bid}\" appears in multiple families"
                    )));
                }
                benchmark_ids.push(bid.clone());
                let title = braw
                    .get("title")
                    .map(clean_text)
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| bid.clone());
                let local_cases = local_cases(
                    braw.get("localCases"),
                    &format!("families.{id}.benchmarks.{bid}.localCases"),
                )
                .map_err(fail)?;
                benchmarks.push(CatalogBenchmark {
                    id: bid,
                    title,
                    local_cases,
                });
            }
            let family = Family {
                title: raw
                    .get("title")
                    .map(clean_text)
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| id.clone()),
                local_cases: local_cases(
                    raw.get("localCases"),
                    &format!("families.{id}.localCases"),
                )
                .map_err(fail)?,
                id,
                metrics,
                benchmarks,
            };
            match families.iter_mut().find(|f| f.id == family.id) {
                Some(existing) => *existing = family,
                None => families.push(family),
            }
        }
        Ok(Self {
            path: path.to_owned(),
            families,
        })
    }
}

fn metric(value: Option<&Value>, label: &str) -> Result<Option<MetricDescriptor>, String> {
    let value = match value {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    if !value.is_object() {
        return Err(format!("{label} must be an object"));
    }
    let id = normalize_id(
        value.get("id").unwrap_or(&Value::Null),
        &format!("{label}.id"),
    )?;
    let direction = value.get("direction").map(clean_text).unwrap_or_default();
    if !direction.is_empty() && !DIRECTIONS.contains(&direction.as_str()) {
        return Err(format!(
            "{label}.direction must be one of: {}",
            DIRECTIONS.join(", ")
        ));
    }
    Ok(Some(MetricDescriptor {
        id,
        direction: (!direction.is_empty()).then_some(direction),
    }))
}

fn local_cases(value: Option<&Value>, label: &str) -> Result<Vec<String>, String> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(clean_text)
            .filter(|s| !s.is_empty())
            .enumerate()
            .map(|(index, s)| normalize_id(&Value::String(s), &format!("{label}[{index}]")))
            .collect(),
        Some(_) => Err(format!("{label} must be an array")),
    }
}
