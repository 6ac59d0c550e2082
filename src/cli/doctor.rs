//! `wave doctor`: check the repository set-up and the executors its plans use.

use clap::Args;

use super::{CliError, output};
use crate::exit::Code;
use crate::run::doctor::{self, DoctorInput, Status};
use crate::settings::Settings;

/// Arguments of `wave doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Lane to check (default: the configuration's default lane).
    #[arg(long, value_name = "LANE")]
    pub lane: Option<String>,

    /// Print the checks as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `wave doctor`: exit 0 when nothing fails, 1 otherwise.
pub fn run(settings: &Settings, args: DoctorArgs) -> Result<Code, CliError> {
    let checks = doctor::run(&DoctorInput {
        root: &settings.repo_root,
        lane: args.lane.as_deref(),
        path_var: settings.env.get("PATH"),
        overrides: &crate::run::executor::resolve::EnvOverrides::from_settings(settings),
    });
    let failed = checks.iter().filter(|c| c.status == Status::Fail).count();
    let warned = checks.iter().filter(|c| c.status == Status::Warn).count();
    if args.json {
        output::print_json(&serde_json::json!({
            "ok": failed == 0,
            "failures": failed,
            "warnings": warned,
            "checks": checks,
        }))?;
    } else {
        let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
        let mut text = String::new();
        for c in &checks {
            text.push_str(&format!(
                "{:<4}  {:<width$}  {}\n",
                c.status.as_str(),
                c.name,
                c.detail.replace('\n', &format!("\n      {:<width$}  ", ""))
            ));
            if c.status != Status::Pass
                && let Some(h) = &c.hint
            {
                text.push_str(&format!("      {:<width$}  hint: {h}\n", ""));
            }
        }
        text.push_str(&format!(
            "{} check(s): {} failed, {} warning(s)\n",
            checks.len(),
            failed,
            warned
        ));
        output::print_text(&text)?;
    }
    Ok(if failed == 0 { Code::OK } else { Code::FAILURE })
}
