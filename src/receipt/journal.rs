//! The journal of a run in progress: one JSON object per entry, appended durably before each
//! mutation so that a run killed mid-way can be rolled back from what it announced. The
//! directory store keeps it as a file of lines (below); the PostgreSQL store as rows. Both
//! seal and check entries with [`seal`] and [`unseal`].
//!
//! Each entry carries `mac`: the HMAC (context `enact journal v1`) of the canonical JSON of
//! `{"entry": <the entry without mac>, "line": <0-based index>, "run_id": <run>}`. Binding the
//! index and run means an entry edited, removed from the middle, reordered or copied from
//! another run's journal fails; removing entries from the end cannot be told from a crash and
//! is not caught. In a file, a line counts only once its newline is on disk: a partial last
//! line is the write a crash interrupted, before `journal_append` returned and so before the
//! mutation it announced began; it is ignored on reading and cut off before the next append.
//! One process writes a run's journal, so no lock is taken.

use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value as Json};

use super::canonical::canonical_bytes;
use super::error::ReceiptError;
use super::run_id::RunId;
use super::signing::Signer;
use super::store::Journal;

const CONTEXT: &[u8] = b"enact journal v1\n";
const MAC_FIELD: &str = "mac";

#[derive(Serialize)]
struct MacInput<'a> {
    entry: &'a Map<String, Json>,
    line: usize,
    run_id: String,
}

fn mac_input(
    entry: &Map<String, Json>,
    line: usize,
    run_id: &RunId,
) -> Result<Vec<u8>, ReceiptError> {
    canonical_bytes(
        &MacInput {
            entry,
            line,
            run_id: run_id.to_string(),
        },
        "a journal entry",
    )
}

/// The fields of `entry`, refused unless it is a JSON object without a `mac` field.
pub(crate) fn fields_of(entry: &Json) -> Result<&Map<String, Json>, ReceiptError> {
    let Json::Object(fields) = entry else {
        return Err(ReceiptError::BadJournalEntry {
            got: kind_of(entry).to_string(),
        });
    };
    if fields.contains_key(MAC_FIELD) {
        return Err(ReceiptError::BadJournalEntry {
            got: "an object with a `mac` field".to_string(),
        });
    }
    Ok(fields)
}

/// The stored form of `fields` as entry `line` (0-based) of the journal of `run_id`: its
/// canonical JSON with `mac` added, without a newline.
pub(crate) fn seal(
    fields: &Map<String, Json>,
    line: usize,
    run_id: &RunId,
    signer: &Signer,
) -> Result<Vec<u8>, ReceiptError> {
    let mac = signer.mac_hex(CONTEXT, &[&mac_input(fields, line, run_id)?]);
    let mut stored = fields.clone();
    stored.insert(MAC_FIELD.to_string(), Json::String(mac));
    canonical_bytes(&stored, "a journal entry")
}

/// Checks `bytes`, stored as entry `index` (0-based) of the journal of `run_id`, and returns
/// the entry without its `mac`. `journal` names the journal in errors.
pub(crate) fn unseal(
    journal: &str,
    index: usize,
    bytes: &[u8],
    run_id: &RunId,
    signer: &Signer,
) -> Result<Json, ReceiptError> {
    let bad = |message: String| ReceiptError::Journal {
        journal: journal.to_string(),
        line: index + 1,
        message,
    };
    let mut fields: Map<String, Json> = serde_json::from_slice(bytes).map_err(|error| {
        bad(format!(
            "is not a JSON object ({error}): the journal is damaged"
        ))
    })?;
    let Some(Json::String(mac)) = fields.remove(MAC_FIELD) else {
        return Err(bad("has no `mac`: the journal was edited".to_string()));
    };
    if !signer.mac_matches(CONTEXT, &[&mac_input(&fields, index, run_id)?], &mac) {
        return Err(bad(format!(
            "fails its MAC: the journal of run {run_id} was edited, reordered, or written \
             with a different secret"
        )));
    }
    Ok(Json::Object(fields))
}

/// Appends `entry` to the journal at `path` and fsyncs it; returns whether the file was
/// created (the caller then fsyncs the directory).
pub(crate) fn append(
    path: &Path,
    run_id: &RunId,
    entry: &Json,
    signer: &Signer,
) -> Result<bool, ReceiptError> {
    let fields = fields_of(entry)?;
    let (mut file, created) = match OpenOptions::new()
        .read(true)
        .write(true)
        .create_new(true)
        .open(path)
    {
        Ok(file) => (file, true),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .open(path)
                .map_err(|error| ReceiptError::io("open the journal", path, error))?;
            (file, false)
        }
        Err(error) => return Err(ReceiptError::io("create the journal", path, error)),
    };
    let mut existing = Vec::new();
    file.read_to_end(&mut existing)
        .map_err(|error| ReceiptError::io("read the journal", path, error))?;
    let complete = complete_len(&existing);
    if complete < existing.len() {
        file.set_len(complete as u64).map_err(|error| {
            ReceiptError::io("cut the torn last line of the journal", path, error)
        })?;
    }
    let line = existing
        .iter()
        .take(complete)
        .filter(|&&byte| byte == b'\n')
        .count();
    let mut bytes = seal(fields, line, run_id, signer)?;
    bytes.push(b'\n');
    file.seek(SeekFrom::Start(complete as u64))
        .and_then(|_| file.write_all(&bytes))
        .and_then(|()| file.sync_data())
        .map_err(|error| ReceiptError::io("write the journal", path, error))?;
    Ok(created)
}

/// Reads and checks the journal at `path`; `None` when there is none.
pub(crate) fn read(
    path: &Path,
    run_id: &RunId,
    signer: &Signer,
) -> Result<Option<Journal>, ReceiptError> {
    let mut bytes = Vec::new();
    match File::open(path).and_then(|mut file| file.read_to_end(&mut bytes)) {
        Ok(_) => {}
        Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
        Err(error) => return Err(ReceiptError::io("read the journal", path, error)),
    }
    let complete = complete_len(&bytes);
    let lines = bytes.get(..complete).unwrap_or_default();
    let mut entries = Vec::new();
    // Complete lines end in a newline; split the text before the last one.
    let body = lines.strip_suffix(b"\n");
    let journal = path.display().to_string();
    for (index, line) in body
        .into_iter()
        .flat_map(|body| body.split(|&byte| byte == b'\n'))
        .enumerate()
    {
        entries.push(unseal(&journal, index, line, run_id, signer)?);
    }
    Ok(Some(Journal {
        entries,
        torn_line_ignored: complete < bytes.len(),
    }))
}

/// The length of the part of `bytes` made of complete (newline-terminated) lines.
fn complete_len(bytes: &[u8]) -> usize {
    bytes
        .iter()
        .rposition(|&byte| byte == b'\n')
        .map_or(0, |at| at + 1)
}

fn kind_of(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "an array",
        Json::Object(_) => "an object",
    }
}
