//! Reads one coordination stream through the store, for measuring time and peak memory on a
//! large log (`/usr/bin/time -v`).
//!
//! ```text
//! cargo run --release --example store_scan -- <repo-root> <mode> [lane] [wave]
//! ```
//! The store is the repository's default (`dir:.wave/state`) with upstream `.tmp/` state merged
//! in, exactly as `wave` opens it. Modes:
//! - `count`: visit every line (the store checks each envelope) and count them;
//! - `latest`: also deserialize each line into a small borrowed type and keep the latest record
//!   per id by merge order, the shape of a status fold;
//! - `latest-par`: `latest` with two visitors on two threads, their maps combined after;
//! - `records`: turn each line into an owned `StoredRecord` (a full JSON map) and drop it;
//! - `copy <dest-repo>`: append every record, in batches of 1000, to the destination
//!   repository's store as writer `copy`, to measure the store's own line format.

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;

use serde::Deserialize;
use wave_runner::settings::{EnvSnapshot, Settings};
use wave_runner::store::{MergeKey, ParallelVisitor, RawLine, Record, StreamId, open_store};

#[derive(Deserialize)]
#[allow(non_snake_case, dead_code)]
struct Slim<'a> {
    #[serde(borrow)]
    id: &'a str,
    #[serde(borrow)]
    status: &'a str,
    #[serde(borrow)]
    kind: &'a str,
}

/// A visitor keeping the latest record per id in `latest`.
fn fold_latest(
    latest: &mut HashMap<String, (MergeKey, bool)>,
) -> impl FnMut(&RawLine<'_>) -> Result<(), String> + Send + '_ {
    move |line| {
        let (envelope, slim): (_, Slim<'_>) = line.parse_enveloped()?;
        let key = MergeKey::of(&envelope);
        let open = matches!(slim.status, "open" | "acknowledged" | "in_progress");
        match latest.get_mut(slim.id) {
            Some(slot) if slot.0 >= key => {}
            Some(slot) => *slot = (key, open),
            None => {
                latest.insert(slim.id.to_owned(), (key, open));
            }
        }
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(root), Some(mode)) = (args.first(), args.get(1)) else {
        return Err(
            "usage: store_scan <repo-root> count|latest|records|copy <dest> [lane] [wave]".into(),
        );
    };
    let rest = if mode == "copy" {
        &args[3.min(args.len())..]
    } else {
        &args[2..]
    };
    let lane = rest.first().map(String::as_str).unwrap_or("main");
    let wave: u32 = rest.get(1).map(|w| w.parse()).transpose()?.unwrap_or(0);
    let settings = Settings::resolve(Some(PathBuf::from(root)), None, EnvSnapshot::default());
    let store = open_store(&settings)?;
    let stream = StreamId::coordination(lane, wave);
    let mut out = std::io::stdout().lock();
    match mode.as_str() {
        "count" => {
            let mut n = 0u64;
            let problems = store.visit(&stream, &mut |line| {
                line.envelope()?;
                n += 1;
                Ok(())
            })?;
            writeln!(out, "lines {n} problems {}", problems.len())?;
        }
        "latest" => {
            let mut latest: HashMap<String, (MergeKey, bool)> = HashMap::new();
            let problems = store.visit(&stream, &mut fold_latest(&mut latest))?;
            let open = latest.values().filter(|(_, o)| *o).count();
            writeln!(
                out,
                "ids {} open {open} problems {}",
                latest.len(),
                problems.len()
            )?;
        }
        "latest-par" => {
            let mut parts: Vec<HashMap<String, (MergeKey, bool)>> = vec![HashMap::new(); 2];
            let problems = {
                let mut closures: Vec<_> = parts.iter_mut().map(fold_latest).collect();
                let mut visitors: Vec<&mut ParallelVisitor<'_>> = closures
                    .iter_mut()
                    .map(|c| c as &mut ParallelVisitor<'_>)
                    .collect();
                store.visit_parallel(&stream, &mut visitors)?
            };
            let mut parts = parts.into_iter();
            let mut latest = parts.next().unwrap_or_default();
            for part in parts {
                for (id, (key, open)) in part {
                    match latest.get_mut(&id) {
                        Some(slot) if slot.0 >= key => {}
                        Some(slot) => *slot = (key, open),
                        None => {
                            latest.insert(id, (key, open));
                        }
                    }
                }
            }
            let open = latest.values().filter(|(_, o)| *o).count();
            writeln!(
                out,
                "ids {} open {open} problems {}",
                latest.len(),
                problems.len()
            )?;
        }
        "records" => {
            let mut n = 0u64;
            let problems = store.visit(&stream, &mut |line| {
                let record = line.to_record()?;
                n += u64::from(!record.record.is_empty());
                Ok(())
            })?;
            writeln!(out, "records {n} problems {}", problems.len())?;
        }
        "copy" => {
            let dest = args.get(2).ok_or("copy needs a destination repository")?;
            let dest_settings =
                Settings::resolve(Some(PathBuf::from(dest)), None, EnvSnapshot::default());
            let dest_store = open_store(&dest_settings)?;
            let at = jiff::Timestamp::from_second(1_800_000_000)?;
            let mut batch: Vec<Record> = Vec::with_capacity(1000);
            let mut failed = None;
            store.visit(&stream, &mut |line| {
                batch.push(line.to_record()?.record);
                if batch.len() == 1000 {
                    if let Err(e) = dest_store.append(&stream, "copy", at, &batch) {
                        failed.get_or_insert(e);
                    }
                    batch.clear();
                }
                Ok(())
            })?;
            if let Some(e) = failed {
                return Err(e.into());
            }
            dest_store.append(&stream, "copy", at, &batch)?;
            writeln!(
                out,
                "copied {} records",
                dest_store.last_seq(&stream, "copy")?
            )?;
        }
        other => return Err(format!("unknown mode `{other}`").into()),
    }
    Ok(())
}
