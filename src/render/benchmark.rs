//! The benchmark report (`results.md`, and the text output of `wave benchmark run`).
//!
//! Owns: text layout of a [`BenchmarkOutput`]. Must not: do I/O.

use crate::engine::benchmark::{BASELINE_ARM, BenchmarkOutput, CaseResult, JsNumber};

fn case_markdown(case: &CaseResult) -> String {
    let mut lines = vec![
        format!("### {}", case.title),
        String::new(),
        format!("- Case id: `{}`", case.id),
        format!("- Family: `{}`", case.family_id),
        format!("- Benchmark: `{}`", case.benchmark_id),
        format!("- Primary metric: `{}`", case.primary_metric),
    ];
    for arm in &case.arms {
        let score = if arm.aligned_score == arm.score {
            format!("score={}", arm.score)
        } else {
            format!("score={} aligned={}", arm.score, arm.aligned_score)
        };
        lines.push(format!(
            "- {}: {} pass={} threshold={}",
            arm.arm,
            score,
            if arm.passed { "yes" } else { "no" },
            arm.threshold
                .map_or_else(|| "n/a".to_owned(), |t: JsNumber| t.to_string())
        ));
    }
    lines.push(String::new());
    lines.join("\n")
}

/// Renders the markdown report (without the final newline `results.md` adds).
pub fn render_report(output: &BenchmarkOutput) -> String {
    let mut lines = vec![
        "# Wave Benchmark Results".to_owned(),
        String::new(),
        format!("- Generated: {}", output.generated_at),
        format!("- Cases: {}", output.cases.len()),
        format!("- Cases directory: `{}`", output.suite.cases_dir),
        format!("- Baseline arm: `{BASELINE_ARM}`"),
        String::new(),
        "## Family Summary".to_owned(),
    ];
    for family in &output.family_summary {
        lines.push(format!("### {}", family.family_title));
        for (arm, stats) in &family.arms {
            lines.push(format!(
                "- {arm}: aligned_mean={} pass_rate={}% cases={}",
                stats.mean_score, stats.pass_rate, stats.cases
            ));
        }
        lines.push(String::new());
    }
    lines.push("## Comparisons".to_owned());
    if output.comparisons.is_empty() {
        lines.push("- None.".to_owned());
    }
    for c in &output.comparisons {
        let scope = if c.scope == "overall" {
            "overall".to_owned()
        } else {
            c.family_title
                .clone()
                .filter(|t| !t.is_empty())
                .or_else(|| c.family_id.clone())
                .unwrap_or_default()
        };
        lines.push(format!(
            "- {scope}: {} vs {} aligned_delta={} ci=[{}, {}] confident={}",
            c.challenger_arm,
            c.baseline_arm,
            c.mean_delta,
            c.confidence_interval.low,
            c.confidence_interval.high,
            if c.statistically_confident {
                "yes"
            } else {
                "no"
            }
        ));
    }
    lines.push(String::new());
    lines.push("## Cases".to_owned());
    lines.extend(output.cases.iter().map(case_markdown));
    lines.join("\n")
}
