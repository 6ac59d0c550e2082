//! Properties of the reduction: delivering a record twice changes nothing, and folding in one
//! pass, incrementally or in any order gives the same state.

use proptest::prelude::*;
use wave_runner::engine::control::ControlLog;
use wave_runner::engine::reducer::{
    self, CoordFold, CoordRecord, Position, RoleIds, Roster, WaveInputs,
};
use wave_runner::event::control::{ControlEvent, EventDefaults};
use wave_runner::render;

const KINDS: [&str; 6] = [
    "request",
    "blocker",
    "clarification-request",
    "evidence",
    "human-feedback",
    "decision",
];
const STATUSES: [&str; 5] = ["open", "acknowledged", "in_progress", "resolved", "closed"];
const AGENTS: [&str; 3] = ["A0", "A1", "A2"];

fn roster() -> Roster {
    Roster::scan_wave_markdown(
        "## Agent A0: QA\n## Agent A1: One\n### Capabilities\n- parsing\n## Agent A2: Two\n",
        RoleIds::default(),
    )
}

/// A coordination line: few ids so updates collide, few minutes so times tie.
fn line() -> impl Strategy<Value = String> {
    (0..6u8, 0..6usize, 0..5usize, 0..3usize, 0..3usize, 0..4u8, 0..4u8).prop_map(
        |(id, kind, status, agent, target, created, updated)| {
            let target = match target {
                0 => String::new(),
                1 => format!("\"agent:{}\"", AGENTS[agent % 3]),
                _ => "\"capability:parsing\"".to_owned(),
            };
            format!(
                r#"{{"id":"r{id}","kind":"{}","lane":"main","wave":0,"agentId":"{}","targets":[{target}],"status":"{}","summary":"s{id}","createdAt":"2026-01-01T00:0{created}:00.000Z","updatedAt":"2026-01-01T00:0{}:00.000Z","source":"agent"}}"#,
                KINDS[kind],
                AGENTS[agent],
                STATUSES[status],
                created + updated,
            )
        },
    )
}

fn event() -> impl Strategy<Value = String> {
    (0..3u8, 0..4usize, 0..6u8).prop_map(|(n, action, minute)| {
        let action = ["running", "completed", "failed", "running"][action];
        format!(
            r#"{{"id":"e{n}-{action}-{minute}","lane":"main","wave":0,"entityType":"attempt","entityId":"wave-0-attempt-{n}","action":"{action}","recordedAt":"2026-01-01T00:0{minute}:00.000Z","data":{{"selectedAgentIds":["A{n}"]}}}}"#
        )
    })
}

/// Reduces lines and events to the status JSON text.
fn status(lines: &[(String, Position)], events: &[String]) -> String {
    let (records, rejected) = CoordFold::fold_lines(
        lines.iter().map(|(l, p)| (l.as_str(), *p)),
        "2026-01-01T00:00:00.000Z",
    );
    assert!(rejected.is_empty(), "{rejected:?}");
    let mut log = ControlLog::new();
    for e in events {
        log.insert(ControlEvent::from_line(e, &EventDefaults::default()).expect("valid event"));
    }
    let control = log.materialize();
    let roster = roster();
    let inputs =
        WaveInputs::from_records(("main", 0), &roster, &records, &control, 1_767_230_000_000);
    render::status::to_json_string(&reducer::reduce(&inputs))
}

fn numbered(lines: &[String]) -> Vec<(String, Position)> {
    lines
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), Position::line(i as u64 + 1)))
        .collect()
}

proptest! {
    #[test]
    fn delivering_a_record_twice_changes_nothing(
        lines in prop::collection::vec(line(), 1..30),
        events in prop::collection::vec(event(), 0..8),
        dup in any::<prop::sample::Index>(),
        dup_event in any::<prop::sample::Index>(),
    ) {
        let once = numbered(&lines);
        let mut twice = once.clone();
        twice.push(dup.get(&once).clone());
        let mut events_twice = events.clone();
        if !events.is_empty() {
            events_twice.push(dup_event.get(&events).clone());
        }
        prop_assert_eq!(status(&once, &events), status(&twice, &events_twice));
    }

    #[test]
    fn one_pass_incremental_and_reordered_folds_agree(
        lines in prop::collection::vec(line(), 1..30),
        split in any::<prop::sample::Index>(),
        seed in any::<u64>(),
    ) {
        let all = numbered(&lines);
        let one_pass = status(&all, &[]);

        // Incremental: records reduced from a prefix, then the rest folded onto the same state.
        let cut = split.index(all.len());
        let mut fold = CoordFold::new();
        for (l, p) in &all[..cut] {
            fold.push_line(l, *p);
        }
        for (l, p) in &all[cut..] {
            fold.push_line(l, *p);
        }
        let mut winners = fold.winners();
        for (l, p) in &all {
            winners.attach(l, *p);
        }
        let (records, _) = winners.finish("2026-01-01T00:00:00.000Z");
        let (expected, _) = CoordFold::fold_lines(
            all.iter().map(|(l, p)| (l.as_str(), *p)),
            "2026-01-01T00:00:00.000Z",
        );
        prop_assert_eq!(&records, &expected);

        // Folds of two shares of the lines, merged (one fold per reader thread).
        let mut left = CoordFold::new();
        let mut right = CoordFold::new();
        for (i, (l, p)) in all.iter().enumerate() {
            if (i + cut) % 2 == 0 { left.push_line(l, *p) } else { right.push_line(l, *p) }
        }
        left.merge(right);
        let mut winners = left.winners();
        for (l, p) in &all {
            winners.attach(l, *p);
        }
        let (merged, _) = winners.finish("2026-01-01T00:00:00.000Z");
        prop_assert_eq!(&merged, &expected);

        // Any delivery order gives the same state.
        let mut shuffled = all.clone();
        let mut state = seed;
        for i in (1..shuffled.len()).rev() {
            state = state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            let j = (state >> 33) as usize % (i + 1);
            shuffled.swap(i, j);
        }
        prop_assert_eq!(one_pass, status(&shuffled, &[]));
    }

    #[test]
    fn the_fold_keeps_upstreams_last_record_per_id(lines in prop::collection::vec(line(), 1..30)) {
        // Reference: upstream's rule, stable sort by updatedAt then fold by id.
        let all = numbered(&lines);
        let mut parsed: Vec<CoordRecord> = all
            .iter()
            .map(|(l, _)| CoordRecord::from_line(l, "x").expect("valid"))
            .collect();
        parsed.sort_by_key(|r| reducer::record::millis(&r.updated_at));
        let mut by_id: Vec<CoordRecord> = Vec::new();
        for r in parsed {
            match by_id.iter_mut().find(|x| x.id == r.id) {
                Some(x) => {
                    let created = x.created_at.clone();
                    *x = r;
                    x.created_at = created;
                }
                None => by_id.push(r),
            }
        }
        by_id.sort_by(|a, b| {
            (reducer::record::millis(&a.updated_at), &a.id)
                .cmp(&(reducer::record::millis(&b.updated_at), &b.id))
        });
        let (records, _) = CoordFold::fold_lines(
            all.iter().map(|(l, p)| (l.as_str(), *p)),
            "x",
        );
        prop_assert_eq!(records, by_id);
    }
}
