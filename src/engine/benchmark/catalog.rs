//! The benchmark catalog (`docs/evals/benchmark-catalog.json`, spec §13.1): families, their
//! metrics and directions, and their benchmarks.
//!
//! Only what the deterministic suite uses is validated and kept (ids, titles, metric
//! descriptors, `localCases`); descriptive fields such as summaries and paper references are
//! tolerated and skipped while the file is read (checked for JSON syntax, never built into a
//! tree).
//!
//! Objects follow `JSON.parse`: a repeated key replaces the earlier value in its first position.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
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
        let document: Shaped<CatalogIn> = serde_json::from_str(text)
            .map_err(|e| fail(format!("benchmark catalog is not valid JSON ({e})")))?;
        let Some(Shaped::Object(families_in)) = document.object().and_then(|d| d.families) else {
            return Err(fail(
                "benchmark catalog must define a \"families\" object".to_owned(),
            ));
        };
        let mut families: Vec<Family> = Vec::new();
        let mut benchmark_ids: Vec<String> = Vec::new();
        for (key, raw) in families_in.entries {
            let id = normalize_id(&Value::String(key.clone()), &format!("families.{key}"))
                .map_err(fail)?;
            let Shaped::Object(raw) = raw else {
                return Err(fail(format!("benchmark family \"{id}\" must be an object")));
            };
            let Some(Shaped::Object(benchmarks_in)) = raw
                .benchmarks
                .filter(|b| b.as_object().is_some_and(|b| !b.entries.is_empty()))
            else {
                return Err(fail(format!(
                    "benchmark family \"{id}\" must define a non-empty benchmarks object"
                )));
            };
            let mut metrics = Vec::new();
            if let Some(m) = metric(
                raw.primary_metric.as_ref(),
                &format!("families.{id}.primaryMetric"),
            )
            .map_err(fail)?
            {
                metrics.push(m);
            }
            match raw.secondary_metrics.as_ref() {
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
            for (bkey, braw) in benchmarks_in.entries {
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
                // A benchmark that is not an object has neither a title nor local cases.
                let braw = braw.object().unwrap_or_default();
                let title = braw
                    .title
                    .as_ref()
                    .map(clean_text)
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| bid.clone());
                let local_cases = local_cases(
                    braw.local_cases.as_ref(),
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
                    .title
                    .as_ref()
                    .map(clean_text)
                    .filter(|t| !t.is_empty())
                    .unwrap_or_else(|| id.clone()),
                local_cases: local_cases(
                    raw.local_cases.as_ref(),
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

/// A JSON value read as an object of `T`'s fields, or noted as being of another type.
enum Shaped<T> {
    /// The value was an object.
    Object(T),
    /// Any other JSON value (skipped).
    Other,
}

impl<T> Shaped<T> {
    fn object(self) -> Option<T> {
        match self {
            Shaped::Object(value) => Some(value),
            Shaped::Other => None,
        }
    }

    fn as_object(&self) -> Option<&T> {
        match self {
            Shaped::Object(value) => Some(value),
            Shaped::Other => None,
        }
    }
}

/// The fields of a JSON object that a reader keeps; `read_value` consumes the value of every
/// key (skipping those it does not keep).
trait ObjectFields: Default {
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: String,
        map: &mut A,
    ) -> Result<(), A::Error>;
}

impl<'de, T: ObjectFields> Deserialize<'de> for Shaped<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ShapedVisitor<T>(PhantomData<T>);

        impl<'de, T: ObjectFields> Visitor<'de> for ShapedVisitor<T> {
            type Value = Shaped<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut fields = T::default();
                while let Some(key) = map.next_key::<String>()? {
                    fields.read_value(key, &mut map)?;
                }
                Ok(Shaped::Object(fields))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Shaped::Other)
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }

            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }

            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }

            fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
                Ok(Shaped::Other)
            }
        }

        deserializer.deserialize_any(ShapedVisitor(PhantomData))
    }
}

/// Every entry of an object, in first-seen order; a repeated key replaces the earlier value in
/// place.
struct Entries<T> {
    entries: Vec<(String, T)>,
    positions: HashMap<String, usize, foldhash::fast::RandomState>,
}

impl<T> Default for Entries<T> {
    fn default() -> Self {
        Self {
            entries: Vec::new(),
            positions: HashMap::default(),
        }
    }
}

impl<T: for<'de> Deserialize<'de>> ObjectFields for Entries<T> {
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: String,
        map: &mut A,
    ) -> Result<(), A::Error> {
        let value: T = map.next_value()?;
        match self.positions.get(&key) {
            Some(&position) => {
                if let Some(slot) = self.entries.get_mut(position) {
                    slot.1 = value;
                }
            }
            None => {
                self.positions.insert(key.clone(), self.entries.len());
                self.entries.push((key, value));
            }
        }
        Ok(())
    }
}

/// The catalog file: only `families` is kept.
#[derive(Default)]
struct CatalogIn {
    families: Option<Shaped<Entries<Shaped<FamilyIn>>>>,
}

impl ObjectFields for CatalogIn {
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: String,
        map: &mut A,
    ) -> Result<(), A::Error> {
        if key == "families" {
            self.families = Some(map.next_value()?);
        } else {
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// A family object: the fields the suite uses, each as the JSON value given (`null` kept).
#[derive(Default)]
struct FamilyIn {
    title: Option<Value>,
    local_cases: Option<Value>,
    primary_metric: Option<Value>,
    secondary_metrics: Option<Value>,
    benchmarks: Option<Shaped<Entries<Shaped<BenchmarkIn>>>>,
}

impl ObjectFields for FamilyIn {
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: String,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key.as_str() {
            "title" => self.title = Some(map.next_value()?),
            "localCases" => self.local_cases = Some(map.next_value()?),
            "primaryMetric" => self.primary_metric = Some(map.next_value()?),
            "secondaryMetrics" => self.secondary_metrics = Some(map.next_value()?),
            "benchmarks" => self.benchmarks = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

/// A benchmark object: its title and local cases.
#[derive(Default)]
struct BenchmarkIn {
    title: Option<Value>,
    local_cases: Option<Value>,
}

impl ObjectFields for BenchmarkIn {
    fn read_value<'de, A: MapAccess<'de>>(
        &mut self,
        key: String,
        map: &mut A,
    ) -> Result<(), A::Error> {
        match key.as_str() {
            "title" => self.title = Some(map.next_value()?),
            "localCases" => self.local_cases = Some(map.next_value()?),
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Catalog, String> {
        Catalog::parse("docs/evals/benchmark-catalog.json", text).map_err(|e| e.to_string())
    }

    #[test]
    fn keeps_what_the_suite_uses_and_skips_descriptive_fields() {
        let catalog = parse(
            r#"{"version": 2, "papers": [{"title": "x", "nested": {"a": [1, 2.5e300, null]}}],
                "families": {"Hidden-Profile": {
                    "title": " Hidden profile ", "summary": "ignored", "papers": ["ignored"],
                    "localCases": ["Case-A", " ", "case-b"],
                    "primaryMetric": {"id": "Recall", "direction": "lower-is-better"},
                    "secondaryMetrics": [null, {"id": "gap"}],
                    "benchmarks": {"Private-Evidence": {"title": "", "localCases": ["c"], "x": {}},
                                   "other": 7}}}}"#,
        )
        .expect("valid catalog");
        let family = catalog.family("hidden-profile").expect("family");
        assert_eq!(family.title, "Hidden profile");
        assert_eq!(family.local_cases, ["case-a", "case-b"]);
        assert_eq!(family.direction("recall"), "lower-is-better");
        assert_eq!(family.direction("gap"), "higher-is-better");
        assert_eq!(family.metrics.len(), 2);
        let ids: Vec<&str> = family.benchmarks.iter().map(|b| b.id.as_str()).collect();
        assert_eq!(ids, ["private-evidence", "other"]);
        let first = family.benchmark("private-evidence").expect("benchmark");
        assert_eq!(
            (first.title.as_str(), first.local_cases.as_slice()),
            ("private-evidence", &["c".to_owned()][..])
        );
        let other = family.benchmark("other").expect("benchmark");
        assert_eq!(
            (other.title.as_str(), other.local_cases.len()),
            ("other", 0)
        );
    }

    #[test]
    fn a_repeated_key_replaces_the_earlier_value_in_its_first_position() {
        let catalog = parse(
            r#"{"families": [], "families": {
                "a": {"title": "first", "benchmarks": {"x": {}}},
                "b": {"benchmarks": {"y": {}}},
                "a": {"title": "second", "title": "third", "benchmarks": {"z": {}, "w": {}, "z": {"title": "Z"}}}}}"#,
        )
        .expect("valid catalog");
        let ids: Vec<&str> = catalog.families.iter().map(|f| f.id.as_str()).collect();
        assert_eq!(ids, ["a", "b"]);
        let a = catalog.family("a").expect("family a");
        assert_eq!(a.title, "third");
        let benchmarks: Vec<(&str, &str)> = a
            .benchmarks
            .iter()
            .map(|b| (b.id.as_str(), b.title.as_str()))
            .collect();
        assert_eq!(benchmarks, [("z", "Z"), ("w", "w")]);
    }

    #[test]
    fn shape_errors_name_what_to_fix() {
        let missing = "benchmark catalog must define a \"families\" object";
        for text in [
            r#"[]"#,
            r#"{}"#,
            r#"{"families": null}"#,
            r#"{"families": {}, "families": 1}"#,
        ] {
            let err = parse(text).expect_err(text);
            assert!(err.contains(missing), "{text}: {err}");
        }
        let err = parse(r#"{"families": {"a": "text"}}"#).expect_err("family not an object");
        assert!(
            err.contains("benchmark family \"a\" must be an object"),
            "{err}"
        );
        for benchmarks in [r#"{}"#, r#"[{"x": 1}]"#, r#"null"#] {
            let text = format!(r#"{{"families": {{"a": {{"benchmarks": {benchmarks}}}}}}}"#);
            let err = parse(&text).expect_err(&text);
            assert!(
                err.contains("must define a non-empty benchmarks object"),
                "{err}"
            );
        }
        let err = parse(
            r#"{"families": {"a": {"benchmarks": {"x": {}}}, "b": {"benchmarks": {"X": {}}}}}"#,
        )
        .expect_err("duplicate benchmark id");
        assert!(
            err.contains("benchmark id \"x\" appears in multiple families"),
            "{err}"
        );
        let err =
            parse(r#"{"families": {"a": {"benchmarks": {"x": {}}, "secondaryMetrics": {}}}}"#)
                .expect_err("secondary metrics not an array");
        assert!(
            err.contains("families.a.secondaryMetrics must be an array"),
            "{err}"
        );
    }

    #[test]
    fn invalid_json_is_reported_with_its_position_even_in_skipped_fields() {
        let err = parse("{\"families\": {}, \"summary\": [1, 2,]}").expect_err("trailing comma");
        assert!(err.contains("is not valid JSON"), "{err}");
        assert!(err.contains("line 1 column"), "{err}");
        let err = parse("{\"families\": {\"a\": {\"benchmarks\": {\"x\": {}}}}} x")
            .expect_err("trailing text");
        assert!(err.contains("trailing characters"), "{err}");
    }
}
