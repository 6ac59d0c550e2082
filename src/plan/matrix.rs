//! The component cutover matrix (spec §1.8) and the benchmark catalog's family/benchmark ids
//! (spec §13.1), as far as plan validation needs them. Pure: callers pass the JSON text.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::text::js_trim;

/// One promotion entry of a component: the wave and the level it reaches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MatrixPromotion {
    /// Wave number.
    pub wave: u64,
    /// Target level.
    pub target: String,
}

/// One component of the matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MatrixComponent {
    /// Title (defaults to the id).
    pub title: String,
    /// Canonical docs.
    pub canonical_docs: Vec<String>,
    /// The level the component has reached.
    pub current_level: String,
    /// Planned promotions.
    pub promotions: Vec<MatrixPromotion>,
    /// Proof surfaces.
    pub proof_surfaces: Vec<String>,
}

/// The parsed matrix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentMatrix {
    /// `version` (default 1).
    pub version: i64,
    /// Maturity levels in order.
    pub levels: Vec<String>,
    /// Components by id (sorted).
    pub components: BTreeMap<String, MatrixComponent>,
    /// Repository-relative path of the JSON file.
    pub json_path: String,
}

impl ComponentMatrix {
    /// The rank of a level in the ladder.
    pub fn level_rank(&self, level: &str) -> Option<usize> {
        self.levels.iter().position(|l| l == level)
    }
}

fn string_of(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => js_trim(s).to_owned(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        _ => String::new(),
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| string_of(Some(i)))
            .filter(|s| !s.is_empty())
            .collect(),
        _ => Vec::new(),
    }
}

/// Parses the matrix JSON (`None` = the file is missing). Errors are messages naming the file.
pub fn parse_matrix(text: Option<&str>, json_path: &str) -> Result<ComponentMatrix, String> {
    let invalid = || format!("component cutover matrix is missing or invalid: {json_path}");
    let value: Value = text
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(invalid)?;
    let Value::Object(payload) = value else {
        return Err(invalid());
    };
    let levels = strings(payload.get("levels"));
    if levels.is_empty() {
        return Err(format!(
            "component cutover matrix must define a non-empty \"levels\" array in {json_path}"
        ));
    }
    let Some(Value::Object(raw_components)) = payload.get("components") else {
        return Err(format!(
            "component cutover matrix must define a \"components\" object in {json_path}"
        ));
    };
    let mut components = BTreeMap::new();
    for (raw_id, raw) in raw_components {
        let id = js_trim(raw_id).to_owned();
        if !super::grammar::is_lower_id(&id) {
            return Err(format!("invalid component id \"{raw_id}\" in {json_path}"));
        }
        let Value::Object(c) = raw else {
            return Err(format!(
                "component \"{id}\" must be an object in {json_path}"
            ));
        };
        let current_level = string_of(c.get("currentLevel"));
        if !levels.contains(&current_level) {
            return Err(format!(
                "component \"{id}\" has invalid currentLevel \"{current_level}\" in {json_path}"
            ));
        }
        let mut promotions = Vec::new();
        if let Some(Value::Array(items)) = c.get("promotions") {
            for (i, p) in items.iter().enumerate() {
                let Value::Object(p) = p else {
                    return Err(format!(
                        "component \"{id}\" has malformed promotion[{i}] in {json_path}"
                    ));
                };
                let wave = super::executor::js_parse_int(&string_of(p.get("wave")))
                    .filter(|w| *w >= 0)
                    .and_then(|w| u64::try_from(w).ok());
                let Some(wave) = wave else {
                    return Err(format!(
                        "component \"{id}\" has invalid promotion wave \"{}\" in {json_path}",
                        string_of(p.get("wave"))
                    ));
                };
                let target = string_of(p.get("target"));
                if !levels.contains(&target) {
                    return Err(format!(
                        "component \"{id}\" has invalid promotion target \"{target}\" in {json_path}"
                    ));
                }
                promotions.push(MatrixPromotion { wave, target });
            }
        }
        let title = Some(string_of(c.get("title")))
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| id.clone());
        components.insert(
            id,
            MatrixComponent {
                title,
                canonical_docs: strings(c.get("canonicalDocs")),
                current_level,
                promotions,
                proof_surfaces: strings(c.get("proofSurfaces")),
            },
        );
    }
    let version = super::executor::js_parse_int(&string_of(payload.get("version")))
        .filter(|v| *v != 0)
        .and_then(|v| i64::try_from(v).ok())
        .unwrap_or(1);
    Ok(ComponentMatrix {
        version,
        levels,
        components,
        json_path: json_path.to_owned(),
    })
}

/// Benchmark families and their benchmark ids, for eval-target validation.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BenchmarkCatalog {
    /// Family id → benchmark ids.
    pub families: BTreeMap<String, Vec<String>>,
    /// Benchmark id → family id.
    pub benchmark_family: BTreeMap<String, String>,
    /// Repository-relative path of the catalog.
    pub path: String,
}

/// Parses the benchmark catalog (`None` = missing).
pub fn parse_catalog(text: Option<&str>, path: &str) -> Result<BenchmarkCatalog, String> {
    let invalid = || format!("benchmark catalog is missing or invalid: {path}");
    let value: Value = text
        .and_then(|t| serde_json::from_str(t).ok())
        .ok_or_else(invalid)?;
    let Some(Value::Object(families)) = value.get("families") else {
        return Err(format!(
            "benchmark catalog must define a \"families\" object in {path}"
        ));
    };
    let mut catalog = BenchmarkCatalog {
        path: path.to_owned(),
        ..BenchmarkCatalog::default()
    };
    for (family_key, family) in families {
        let family_id = js_trim(family_key).to_lowercase();
        let benchmarks = match family.get("benchmarks") {
            Some(Value::Object(b)) if !b.is_empty() => b,
            _ => {
                return Err(format!(
                    "benchmark family \"{family_id}\" must define a non-empty benchmarks object"
                ));
            }
        };
        let mut ids = Vec::new();
        for key in benchmarks.keys() {
            let id = js_trim(key).to_lowercase();
            if catalog.benchmark_family.contains_key(&id) {
                return Err(format!(
                    "benchmark id \"{id}\" appears in multiple families"
                ));
            }
            catalog
                .benchmark_family
                .insert(id.clone(), family_id.clone());
            ids.push(id);
        }
        catalog.families.insert(family_id, ids);
    }
    Ok(catalog)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matrix_parses_and_rejects_bad_levels() {
        let ok = r#"{"levels":["a","b"],"components":{"c1":{"currentLevel":"a","promotions":[{"wave":"2","target":"b"}]}}}"#;
        let m = parse_matrix(Some(ok), "m.json").unwrap();
        assert_eq!(m.components["c1"].promotions[0].wave, 2);
        assert_eq!(m.level_rank("b"), Some(1));
        let bad = r#"{"levels":["a"],"components":{"c1":{"currentLevel":"z"}}}"#;
        assert!(
            parse_matrix(Some(bad), "m.json")
                .unwrap_err()
                .contains("currentLevel")
        );
        assert!(
            parse_matrix(None, "m.json")
                .unwrap_err()
                .contains("missing")
        );
    }

    #[test]
    fn catalog_indexes_benchmarks_by_family() {
        let text = r#"{"families":{"f1":{"benchmarks":{"b1":{},"b2":{}}}}}"#;
        let c = parse_catalog(Some(text), "c.json").unwrap();
        assert_eq!(c.benchmark_family["b2"], "f1");
        let dup = r#"{"families":{"f1":{"benchmarks":{"b1":{}}},"f2":{"benchmarks":{"b1":{}}}}}"#;
        assert!(parse_catalog(Some(dup), "c.json").is_err());
    }
}
