//! Marker extraction and summary building over realistic agent logs: a 60,000-character plain
//! log tail with markers spread through prose, and the same volume as JSON executor lines.
//!
//! Run: `cargo bench --bench markers`.

use divan::{Bencher, black_box};
use wave_runner::engine::markers::{LOG_TAIL_CHARS, Signals, extract, tail};

fn main() {
    divan::main();
}

fn plain_log(chars: usize) -> String {
    let mut log = String::with_capacity(chars + 200);
    let mut i = 0u64;
    while log.len() < chars {
        log.push_str("Running tests for module core::parser, all green so far; continuing.\n");
        if i.is_multiple_of(25) {
            log.push_str("- [wave-proof] completion=integrated durability=durable proof=integration state=met detail=step\n");
            log.push_str("`[wave-component] component=runtime level=repo-landed state=met`\n");
            log.push_str("```\nExample:\n[wave-gap] kind=ops detail=ignored in prose fence\n```\n");
        }
        i += 1;
    }
    log.push_str("[wave-doc-delta] state=owned paths=docs/a.md\n");
    log
}

fn json_log(chars: usize) -> String {
    let mut log = String::with_capacity(chars + 200);
    let mut i = 0u64;
    while log.len() < chars {
        let text = if i.is_multiple_of(25) {
            "[wave-proof] completion=contract durability=none proof=unit state=met"
        } else {
            "Edited src/lib.rs and ran cargo test"
        };
        log.push_str(&format!(
            "{{\"type\":\"item.completed\",\"item\":{{\"id\":\"item_{i}\",\"type\":\"agent_message\",\"text\":\"{text}\"}}}}\n"
        ));
        i += 1;
    }
    log
}

#[divan::bench]
fn extract_plain_tail(bencher: Bencher) {
    let log = plain_log(LOG_TAIL_CHARS * 2);
    bencher.bench(|| {
        let p = extract(tail(black_box(&log), LOG_TAIL_CHARS));
        Signals::from_signal_text(&p.signal_text)
    });
}

#[divan::bench]
fn extract_json_lines_tail(bencher: Bencher) {
    let log = json_log(LOG_TAIL_CHARS * 2);
    bencher.bench(|| {
        let p = extract(tail(black_box(&log), LOG_TAIL_CHARS));
        Signals::from_signal_text(&p.signal_text)
    });
}
