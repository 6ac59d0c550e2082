//! The in-memory backend: the same layout and the same line bytes as [`super::DirStore`], held
//! in a map. For tests and dry runs; nothing survives the process.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::line::{Source, check_records, encode_appended, last_seq_in_text, visit_line};
use super::{
    Appended, EventStore, LineVisitor, Problem, PutOutcome, Record, ResultKey, StoreError,
    StreamId, validate_name, validate_writer,
};
use crate::event::time;

/// A store held in memory.
#[derive(Debug, Default)]
pub struct MemStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The text of each writer file, keyed by stream and writer.
    files: BTreeMap<(StreamId, String), String>,
    results: BTreeMap<ResultKey, Record>,
}

impl MemStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends raw text to a writer file, bypassing the envelope: how tests stage torn or
    /// hand-edited lines.
    pub fn append_raw(&self, stream: &StreamId, writer: &str, text: &str) {
        self.lock()
            .files
            .entry((stream.clone(), writer.to_owned()))
            .or_default()
            .push_str(text);
    }

    /// The text of a writer file, as a directory store would hold it.
    pub fn file_text(&self, stream: &StreamId, writer: &str) -> Option<String> {
        self.lock()
            .files
            .get(&(stream.clone(), writer.to_owned()))
            .cloned()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere cannot leave a file half-updated: every update is one `push_str`.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn location(stream: &StreamId, writer: &str) -> String {
        format!("mem:{}/{writer}.jsonl", stream.dir())
    }
}

impl EventStore for MemStore {
    fn describe(&self) -> String {
        "mem:".to_owned()
    }

    fn append(
        &self,
        stream: &StreamId,
        writer: &str,
        at: jiff::Timestamp,
        records: &[Record],
    ) -> Result<Appended, StoreError> {
        stream.validate()?;
        validate_writer(writer)?;
        check_records(records)?;
        if records.is_empty() {
            // Nothing to write, and no file to create for it.
            let last = self.last_seq(stream, writer)?;
            return Ok(Appended {
                first: last.saturating_add(1),
                last,
            });
        }
        let at = time::format(at);
        let mut state = self.lock();
        let text = state
            .files
            .entry((stream.clone(), writer.to_owned()))
            .or_default();
        let last = last_seq_in_text(text.as_bytes(), writer);
        let (appended, range) = encode_appended(
            writer,
            last,
            text.is_empty() || text.ends_with('\n'),
            &at,
            records,
            || Self::location(stream, writer),
        )?;
        text.push_str(&appended);
        Ok(range)
    }

    fn last_seq(&self, stream: &StreamId, writer: &str) -> Result<u64, StoreError> {
        stream.validate()?;
        validate_name("writer", writer)?;
        let state = self.lock();
        Ok(state
            .files
            .get(&(stream.clone(), writer.to_owned()))
            .map(|text| last_seq_in_text(text.as_bytes(), writer))
            .unwrap_or(0))
    }

    fn writers(&self, stream: &StreamId) -> Result<Vec<String>, StoreError> {
        stream.validate()?;
        let state = self.lock();
        Ok(state
            .files
            .keys()
            .filter(|(s, _)| s == stream)
            .map(|(_, w)| w.clone())
            .collect())
    }

    fn visit(
        &self,
        stream: &StreamId,
        visitor: &mut LineVisitor<'_>,
    ) -> Result<Vec<Problem>, StoreError> {
        let mut problems = Vec::new();
        for writer in self.writers(stream)? {
            // A snapshot of the file, so the visitor may use the store (even append) meanwhile.
            let Some(text) = self.file_text(stream, &writer) else {
                continue;
            };
            let shown = Self::location(stream, &writer);
            let source = Source {
                file: &shown,
                writer: &writer,
                legacy: false,
            };
            let mut line_no = 0u64;
            let mut offset = 0u64;
            for chunk in text.split_inclusive('\n') {
                line_no += 1;
                let complete = chunk.ends_with('\n');
                visit_line(
                    chunk.as_bytes(),
                    complete,
                    line_no,
                    offset,
                    &source,
                    visitor,
                    &mut problems,
                );
                offset += chunk.len() as u64;
            }
        }
        Ok(problems)
    }

    fn put_result(&self, key: &ResultKey, body: &Record) -> Result<PutOutcome, StoreError> {
        key.validate()?;
        let mut state = self.lock();
        match state.results.get(key) {
            Some(existing) if existing == body => Ok(PutOutcome::Unchanged),
            Some(_) => Err(StoreError::ResultConflict {
                location: format!("mem:{}", key.path()),
            }),
            None => {
                state.results.insert(key.clone(), body.clone());
                Ok(PutOutcome::Written)
            }
        }
    }

    fn get_result(&self, key: &ResultKey) -> Result<Option<Record>, StoreError> {
        key.validate()?;
        Ok(self.lock().results.get(key).cloned())
    }

    fn list_results(&self, lane: &str, wave: u32) -> Result<Vec<ResultKey>, StoreError> {
        validate_name("lane", lane)?;
        Ok(self
            .lock()
            .results
            .keys()
            .filter(|k| k.lane == lane && k.wave == wave)
            .cloned()
            .collect())
    }

    fn lanes(&self) -> Result<Vec<String>, StoreError> {
        let state = self.lock();
        let mut lanes: Vec<String> = state
            .files
            .keys()
            .map(|(s, _)| s.lane().to_owned())
            .chain(state.results.keys().map(|k| k.lane.clone()))
            .collect();
        lanes.sort();
        lanes.dedup();
        Ok(lanes)
    }

    fn waves(&self, lane: &str) -> Result<Vec<u32>, StoreError> {
        validate_name("lane", lane)?;
        let state = self.lock();
        let mut waves: Vec<u32> = state
            .files
            .keys()
            .filter_map(|(s, _)| match s {
                StreamId::Coordination { lane: l, wave } | StreamId::Control { lane: l, wave }
                    if l == lane =>
                {
                    Some(*wave)
                }
                _ => None,
            })
            .chain(
                state
                    .results
                    .keys()
                    .filter(|k| k.lane == lane)
                    .map(|k| k.wave),
            )
            .collect();
        waves.sort_unstable();
        waves.dedup();
        Ok(waves)
    }
}
