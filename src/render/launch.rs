//! The launch report: one gate table per wave and the verdict.
//!
//! Owns: the text `wave launch` prints at the end of a real run. Must not: do I/O.

use crate::engine::gates::GateSnapshot;
use crate::run::launch::Outcome;

fn table(snapshot: &GateSnapshot) -> String {
    let mut s = String::new();
    for (name, g) in &snapshot.gates {
        let advisory = snapshot.advisory_failures.iter().any(|a| a.gate == *name);
        let mark = if g.ok {
            "pass"
        } else if advisory {
            "advisory"
        } else {
            "FAIL"
        };
        let agent = g.agent_id.as_deref().unwrap_or("-");
        s.push_str(&format!(
            "  {name:<24} {mark:<8} {:<28} {agent}\n",
            g.status_code
        ));
    }
    s
}

/// The gate tables and verdicts of a launch.
pub fn gate_table(lane: &str, outcome: &Outcome) -> String {
    let mut s = String::new();
    for w in &outcome.waves {
        s.push_str(&format!(
            "Wave {} (lane {lane}), {} attempt(s), gate mode {}:\n",
            w.wave,
            w.attempts,
            serde_json::to_value(w.snapshot.gate_mode)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default()
        ));
        s.push_str(&table(&w.snapshot));
        if w.exit_code == 0 {
            s.push_str(&format!("Verdict: wave {} closed.\n", w.wave));
        } else {
            let o = &w.snapshot.overall;
            s.push_str(&format!(
                "Verdict: wave {} not closed (exit {}): {} {}{}: {}\n",
                w.wave,
                w.exit_code,
                o.gate,
                o.status_code,
                o.agent_id
                    .as_deref()
                    .map(|a| format!(" [{a}]"))
                    .unwrap_or_default(),
                o.detail
            ));
            for f in &w.failures {
                s.push_str(&format!(
                    "  - {} {}: {}\n",
                    f.agent_id.as_deref().unwrap_or("-"),
                    f.status_code,
                    f.detail
                ));
            }
        }
    }
    s
}
