//! `wave benchmark`: the deterministic native benchmark (`list`, `show --case`, `run`).
//!
//! Reads the catalog and case files under the repository root, takes the clock reading, hands
//! both to `engine::benchmark`, writes `results.json` and `results.md`, prints the result.

use std::path::{Component, Path, PathBuf};

use clap::{Args, Subcommand};
use serde_json::Value;

use super::{CliError, output};
use crate::engine::benchmark::{
    self, BenchmarkError, BenchmarkOutput, DEFAULT_CASES_DIR, DEFAULT_CATALOG_PATH,
    DEFAULT_EXTERNAL_BENCHMARKS_PATH, DEFAULT_OUTPUT_DIR, RunOptions, SourceFile, Suite,
    SuiteSources,
};
use crate::event::time;
use crate::exit::Code;
use crate::render::benchmark::render_report;
use crate::settings::Settings;

/// Arguments of `wave benchmark`.
#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    #[command(subcommand)]
    command: BenchmarkCommand,
}

#[derive(Debug, Subcommand)]
enum BenchmarkCommand {
    /// List the benchmark cases under `docs/evals/cases`.
    List {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Show one normalized case.
    Show {
        /// Case id.
        #[arg(long = "case", value_name = "ID")]
        case_id: String,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the suite and write `results.json` and `results.md`.
    Run(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Only this case (repeatable).
    #[arg(long = "case", value_name = "ID")]
    cases: Vec<String>,
    /// Only cases of this family (repeatable).
    #[arg(long = "family", value_name = "ID")]
    families: Vec<String>,
    /// Only cases of this benchmark (repeatable).
    #[arg(long = "benchmark", value_name = "ID")]
    benchmarks: Vec<String>,
    /// Arms to run (repeatable; default single-agent, multi-agent-minimal, full-wave).
    #[arg(long = "arm", value_name = "ARM")]
    arms: Vec<String>,
    /// Output directory (default `.tmp/wave-benchmarks/latest`, relative to the repository root).
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

impl From<BenchmarkError> for CliError {
    fn from(err: BenchmarkError) -> Self {
        let hint = match &err {
            BenchmarkError::Case { .. } | BenchmarkError::DuplicateCase { .. } => {
                "fix the case file; `wave benchmark list` validates every case"
            }
            BenchmarkError::Catalog { .. } => {
                "fix the catalog (paths.benchmarkCatalogPath in wave.config.json)"
            }
            BenchmarkError::Adapters { .. } => "fix or remove docs/evals/external-benchmarks.json",
            BenchmarkError::Filter { .. } | BenchmarkError::UnknownCase { .. } => {
                "`wave benchmark list` shows the available ids"
            }
        };
        CliError::user(err.to_string()).hint(hint)
    }
}

/// Runs `wave benchmark`.
pub fn run(settings: &Settings, args: BenchmarkArgs) -> Result<Code, CliError> {
    let root = &settings.repo_root;
    let now = jiff::Timestamp::now();
    let now_text = time::format(now);
    match args.command {
        BenchmarkCommand::List { json } => {
            let suite = load(root, &now_text)?;
            let items: Vec<Value> = suite
                .cases
                .iter()
                .map(|c| {
                    serde_json::json!({
                        "id": c.id,
                        "familyId": c.family_id,
                        "benchmarkId": c.benchmark_id,
                        "title": c.title,
                        "supportedArms": c.supported_arms,
                    })
                })
                .collect();
            if json {
                output::print_json(&items)?;
            } else {
                let lines: Vec<String> = suite
                    .cases
                    .iter()
                    .map(|c| format!("{} {}/{} {}", c.id, c.family_id, c.benchmark_id, c.title))
                    .collect();
                output::print_text(&lines.join("\n"))?;
            }
        }
        BenchmarkCommand::Show { case_id, json } => {
            let suite = load(root, &now_text)?;
            let wanted = case_id.trim().to_lowercase();
            let case = suite
                .case(&wanted)
                .ok_or(BenchmarkError::UnknownCase { id: case_id })?;
            if json {
                output::print_json(case)?;
            } else {
                output::print_text(&format!(
                    "{} {}/{}\n{}",
                    case.id, case.family_id, case.benchmark_id, case.title
                ))?;
            }
        }
        BenchmarkCommand::Run(run) => {
            let suite = load(root, &now_text)?;
            let options = RunOptions {
                case_ids: run.cases,
                family_ids: run.families,
                benchmark_ids: run.benchmarks,
                arms: run.arms,
            };
            let mut result =
                benchmark::run_suite(&suite, &options, &now_text, now.as_millisecond())?;
            let out_dir = root.join(
                run.output_dir
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_OUTPUT_DIR)),
            );
            let json = write_outputs(&out_dir, &result)?;
            result.output_dir = Some(relative_path(root, &out_dir));
            if run.json {
                output::print_text(&with_output_dir(json, result.output_dir.as_deref())?)?;
            } else {
                output::print_text(&format!(
                    "{}\n\n[wave:benchmark] output_dir={}",
                    render_report(&result),
                    result.output_dir.as_deref().unwrap_or_default()
                ))?;
            }
        }
    }
    Ok(Code::OK)
}

fn read(root: &Path, rel: &str) -> Result<Option<SourceFile>, CliError> {
    match std::fs::read_to_string(root.join(rel)) {
        Ok(text) => Ok(Some(SourceFile {
            path: rel.to_owned(),
            text,
        })),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(CliError::internal(format!("cannot read {rel}: {e}"))),
    }
}

/// `paths.benchmarkCatalogPath` from `wave.config.json`, when set.
fn configured_catalog_path(root: &Path) -> Result<Option<String>, CliError> {
    let Some(file) = read(root, "wave.config.json")? else {
        return Ok(None);
    };
    let config: Value = serde_json::from_str(&file.text).map_err(|e| {
        CliError::config(format!("wave.config.json is not valid JSON: {e}"))
            .hint("fix wave.config.json or remove it to use the defaults")
    })?;
    Ok(config
        .pointer("/paths/benchmarkCatalogPath")
        .and_then(Value::as_str)
        .map(|p| {
            p.trim()
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_owned()
        })
        .filter(|p| !p.is_empty()))
}

fn load(root: &Path, now: &str) -> Result<Suite, CliError> {
    let cases_dir = root.join(DEFAULT_CASES_DIR);
    let entries = std::fs::read_dir(&cases_dir).map_err(|e| {
        CliError::user(format!(
            "benchmark cases directory does not exist or cannot be read: {DEFAULT_CASES_DIR} ({e})"
        ))
        .hint("run from the repository root or pass --repo-root")
    })?;
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry?;
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(name) = entry.file_name().to_str().filter(|n| n.ends_with(".json")) {
            names.push(name.to_owned());
        }
    }
    names.sort();
    let mut cases = Vec::with_capacity(names.len());
    for name in names {
        let rel = format!("{DEFAULT_CASES_DIR}/{name}");
        if let Some(file) = read(root, &rel)? {
            cases.push(file);
        }
    }
    let catalog_path =
        configured_catalog_path(root)?.unwrap_or_else(|| DEFAULT_CATALOG_PATH.to_owned());
    let catalog = read(root, &catalog_path)?.ok_or_else(|| {
        CliError::user(format!("benchmark catalog is missing: {catalog_path}"))
            .hint("create it or set paths.benchmarkCatalogPath in wave.config.json")
    })?;
    let sources = SuiteSources {
        cases_dir: DEFAULT_CASES_DIR.to_owned(),
        catalog,
        cases,
        adapters: read(root, DEFAULT_EXTERNAL_BENCHMARKS_PATH)?,
    };
    Ok(benchmark::load_suite(&sources, now)?)
}

fn write_atomic(path: &Path, text: &str) -> Result<(), CliError> {
    let tmp = path.with_extension(format!("tmp.{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| CliError::internal(format!("cannot write {}: {e}", path.display())))
}

/// Writes `results.json` and `results.md`; returns the JSON text (without the newline).
fn write_outputs(dir: &Path, result: &BenchmarkOutput) -> Result<String, CliError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| CliError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let mut json = serde_json::to_string_pretty(result)
        .map_err(|e| CliError::internal(format!("cannot serialize results: {e}")))?;
    json.push('\n');
    write_atomic(&dir.join("results.json"), &json)?;
    json.pop();
    write_atomic(
        &dir.join("results.md"),
        &format!("{}\n", render_report(result)),
    )?;
    Ok(json)
}

/// The pretty JSON of a result without `outputDir` (its last field) turned into the JSON of
/// the same result with it, without serializing the whole result again.
fn with_output_dir(mut json: String, output_dir: Option<&str>) -> Result<String, CliError> {
    let Some(dir) = output_dir else {
        return Ok(json);
    };
    if !json.ends_with("\n}") {
        return Err(CliError::internal(
            "benchmark results are not a JSON object",
        ));
    }
    json.truncate(json.len() - 2);
    json.push_str(",\n  \"outputDir\": ");
    json.push_str(
        &serde_json::to_string(dir)
            .map_err(|e| CliError::internal(format!("cannot serialize output: {e}")))?,
    );
    json.push_str("\n}");
    Ok(json)
}

/// Lexically normalized absolute form of a path.
fn normalized(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = PathBuf::new();
    for component in absolute.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// `path` relative to `base`, with `/` separators (`..` where it leaves `base`).
fn relative_path(base: &Path, path: &Path) -> String {
    let base = normalized(base);
    let path = normalized(path);
    let base_parts: Vec<Component> = base.components().collect();
    let path_parts: Vec<Component> = path.components().collect();
    let common = base_parts
        .iter()
        .zip(&path_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    parts.extend(std::iter::repeat_n(
        "..".to_owned(),
        base_parts.len().saturating_sub(common),
    ));
    parts.extend(
        path_parts
            .iter()
            .skip(common)
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_output_dir_is_added_as_a_full_serialization_would_add_it() {
        let mut value = serde_json::json!({"generatedAt": "t", "cases": [{"id": "a\"b"}], "x": {}});
        let without = serde_json::to_string_pretty(&value).expect("json");
        let dir = ".tmp/wave \"benchmarks\"/latest";
        value["outputDir"] = Value::from(dir);
        let with = serde_json::to_string_pretty(&value).expect("json");
        assert_eq!(with_output_dir(without.clone(), Some(dir)).ok(), Some(with));
        assert_eq!(with_output_dir(without.clone(), None).ok(), Some(without));
        assert!(with_output_dir("[]".to_owned(), Some(dir)).is_err());
    }

    #[test]
    fn relative_paths_are_lexical() {
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/.tmp/x")),
            ".tmp/x"
        );
        assert_eq!(relative_path(Path::new("/a/b"), Path::new("/a/c")), "../c");
        assert_eq!(
            relative_path(Path::new("/a/b"), Path::new("/a/b/./d/../e")),
            "e"
        );
    }
}
