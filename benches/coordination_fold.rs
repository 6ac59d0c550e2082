//! Reading and folding a large coordination log: 200,000 lines over 50,000 ids, the shape of
//! `gen-coordination-log.py` (parse + normalize + incremental fold, and the fold alone), and
//! the second pass of `control status`: parsing the 50,000 winning lines into the reducer's
//! records.

use wave_runner::engine::coordination::{CoordinationFold, materialize};
use wave_runner::engine::reducer::CoordRecord;
use wave_runner::engine::reducer::record::Interner;
use wave_runner::event::coordination::{CoordinationRecord, RecordDefaults, parse_line};

fn main() {
    divan::main();
}

const KINDS: [&str; 8] = [
    "request",
    "ack",
    "claim",
    "evidence",
    "decision",
    "blocker",
    "handoff",
    "clarification-request",
];
const AGENTS: [&str; 6] = ["A1", "A2", "A3", "A8", "A9", "A0"];
const STATUSES: [&str; 5] = ["open", "acknowledged", "in_progress", "resolved", "closed"];

fn log(lines: usize, ids: usize) -> String {
    let mut out = String::with_capacity(lines * 720);
    let mut state: u64 = 7;
    let mut next = |n: usize| {
        state = state
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1);
        (state >> 33) as usize % n
    };
    for i in 0..lines {
        let kind = KINDS[next(KINDS.len())];
        let ts = format!(
            "2026-11-22T01:{:02}:{:02}.{:03}Z",
            (i / 6000) % 60,
            (i / 100) % 60,
            i % 1000
        );
        let blocking = matches!(kind, "request" | "blocker" | "clarification-request");
        let severity = if matches!(kind, "request" | "blocker") {
            "closure-critical"
        } else {
            "advisory"
        };
        out.push_str(&format!(
            concat!(
                r#"{{"recordVersion":1,"id":"rec-{id}","kind":"{kind}","wave":0,"lane":"main","agentId":"{agent}","#,
                r#""targets":["agent:{target}"],"status":"{status}","priority":"normal","blocking":{blocking},"#,
                r#""blockerSeverity":"{severity}","artifactRefs":["src/x.rs"],"dependsOn":[],"closureCondition":"","#,
                r#""createdAt":"{ts}","updatedAt":"{ts}","confidence":"medium","summary":"summary {i} lorem ipsum dolor sit amet","#,
                r#""detail":"detail text detail text detail text detail text detail text detail text detail text detail text ","#,
                r#""attempt":null,"source":"agent","executorId":"","project":"","requesterLane":"","ownerLane":"","#,
                r#""requesterProject":"","ownerProject":"","requesterWave":null,"ownerWave":null,"required":false}}"#,
                "\n"
            ),
            id = i % ids,
            kind = kind,
            agent = AGENTS[next(AGENTS.len())],
            target = AGENTS[next(AGENTS.len())],
            status = STATUSES[next(STATUSES.len())],
            blocking = blocking,
            severity = severity,
            ts = ts,
            i = i,
        ));
    }
    out
}

#[divan::bench(sample_count = 10)]
fn parse_and_fold_200k(bencher: divan::Bencher) {
    let text = log(200_000, 50_000);
    let defaults = RecordDefaults::default();
    bencher.bench(|| {
        let mut fold = CoordinationFold::new();
        for line in divan::black_box(&text).lines() {
            if let Ok(record) = parse_line(line, &defaults) {
                fold.push(record);
            }
        }
        fold.finish()
    });
}

#[divan::bench(sample_count = 10)]
fn fold_only_200k(bencher: divan::Bencher) {
    let text = log(200_000, 50_000);
    let defaults = RecordDefaults::default();
    let records: Vec<CoordinationRecord> = text
        .lines()
        .filter_map(|l| parse_line(l, &defaults).ok())
        .collect();
    bencher
        .with_inputs(|| records.clone())
        .bench_values(|records| {
            let mut fold = CoordinationFold::new();
            for record in records {
                fold.push(record);
            }
            fold.finish()
        });
}

#[divan::bench(sample_count = 10)]
fn batch_materialize_200k(bencher: divan::Bencher) {
    let text = log(200_000, 50_000);
    let defaults = RecordDefaults::default();
    let records: Vec<CoordinationRecord> = text
        .lines()
        .filter_map(|l| parse_line(l, &defaults).ok())
        .collect();
    bencher
        .with_inputs(|| records.clone())
        .bench_values(materialize);
}

/// Pass two of `control status`: the flat parser and the building of each record, over 50,000
/// lines of distinct ids (the winners of the 200,000-line log).
#[divan::bench(sample_count = 10)]
fn winning_lines_50k(bencher: divan::Bencher) {
    let text = log(50_000, 50_000);
    bencher.bench(|| {
        let mut interner = Interner::default();
        divan::black_box(&text)
            .lines()
            .filter_map(|l| {
                CoordRecord::from_line_created(l, "2026-11-22T01:00:00.000Z", &mut interner).ok()
            })
            .collect::<Vec<_>>()
    });
}
