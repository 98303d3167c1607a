//! `.enact/index.jsonl`: one [`Summary`] per line in sequence order, so that `enact ls` and
//! `history.count` need not open the receipts. A cache, never trusted by `verify`: a missing,
//! torn or short index is repaired from the receipts, and on a read-only copy summaries are
//! read from the receipts in memory instead.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};

use chrono::{DateTime, SecondsFormat, Utc};

use super::DirectoryStore;
use super::files::{read_into, to_json, write_synced};
use crate::receipt::error::ReceiptError;
use crate::receipt::head::SignedHead;
use crate::receipt::model::Receipt;
use crate::receipt::outline::Outline;
use crate::receipt::parallel::parallel_map;
use crate::receipt::store::Summary;
use crate::receipt::verify::unverified_chain_hash;

impl DirectoryStore {
    /// Brings the index up to `head` (exclusive lock held): cuts a torn last line, appends the
    /// line of a receipt committed but not yet indexed, or rebuilds the whole index when it is
    /// missing or further behind. Returns the newest summary.
    pub(super) fn repair_index(
        &self,
        head: Option<&SignedHead>,
    ) -> Result<Option<Summary>, ReceiptError> {
        let last = self.index_tail()?;
        let last_sequence = last.as_ref().map_or(0, |summary| summary.sequence);
        let Some(head) = head else {
            // No head: nothing to reach. Rebuild only an index missing beside receipts.
            if last.is_none() && self.any_receipt()? {
                return Ok(self.rebuild_index()?.pop());
            }
            return Ok(last);
        };
        if last_sequence == head.sequence {
            return Ok(last);
        }
        if last_sequence + 1 == head.sequence
            && let Some(summary) = self.summary_from_file(head, last.as_ref())?
        {
            // The usual crash case: committed, not yet indexed.
            self.append_index_line(&summary)?;
            return Ok(Some(summary));
        }
        Ok(self.rebuild_index()?.pop())
    }

    pub(super) fn append_index_line(&self, summary: &Summary) -> Result<(), ReceiptError> {
        let path = self.index_path();
        let mut line = to_json(summary, "a summary")?;
        line.push(b'\n');
        OpenOptions::new()
            .append(true)
            .create(true)
            .open(&path)
            .and_then(|mut file| file.write_all(&line))
            .map_err(|error| ReceiptError::io("append to the index", &path, error))
    }

    /// Every summary in sequence order (`ReceiptStore::summaries`).
    pub(super) fn indexed_summaries(&self) -> Result<Vec<Summary>, ReceiptError> {
        self.consistent_read(|strict| self.read_index(strict), |summaries| summaries)
    }

    /// Run ids, oldest first, of the receipts that started at or after `since`, of
    /// `workflow` when given (`ReceiptStore::receipts_since`).
    pub(super) fn run_ids_since(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<String>, ReceiptError> {
        let mut newest_first = self.consistent_read(
            |strict| self.read_index_backwards(since, workflow, strict),
            |summaries| {
                summaries
                    .into_iter()
                    .rev()
                    .filter(|summary| is_recent(summary, since, workflow))
                    .map(|summary| summary.run_id)
                    .collect()
            },
        )?;
        newest_first.reverse();
        Ok(newest_first)
    }

    /// Runs `read` under a shared lock with `strict` set, where it returns `None` when the
    /// index does not reach the head. Then repairs under the exclusive lock and reads
    /// leniently (receipts deleted from the end leave an index that cannot reach the head).
    /// A store that cannot be locked for writing (a read-only copy) is summarised from its
    /// receipts in memory, through `from_scan`.
    fn consistent_read<T>(
        &self,
        read: impl Fn(bool) -> Result<Option<T>, ReceiptError>,
        from_scan: impl FnOnce(Vec<Summary>) -> T,
    ) -> Result<T, ReceiptError> {
        {
            let _shared = self.lock_shared();
            if let Some(value) = read(true)? {
                return Ok(value);
            }
        }
        let Ok(_exclusive) = self.lock_exclusive() else {
            return Ok(from_scan(self.scan_summaries()?));
        };
        let head = self.read_head()?;
        self.finish_staged(head.as_ref())?;
        self.repair_index(head.as_ref())?;
        read(false)?
            .ok_or_else(|| self.damaged("the index cannot be read even after rebuilding it"))
    }

    /// The newest complete line of the index, cutting off a torn one (exclusive lock held).
    fn index_tail(&self) -> Result<Option<Summary>, ReceiptError> {
        let path = self.index_path();
        let io = |error| ReceiptError::io("read the index", &path, error);
        let mut file = match OpenOptions::new().read(true).write(true).open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(io(error)),
        };
        let len = file.metadata().map_err(io)?.len();
        let complete = complete_len(&mut file, len).map_err(io)?;
        if complete < len {
            file.set_len(complete).map_err(|error| {
                ReceiptError::io("cut the torn last line of the index", &path, error)
            })?;
        }
        let mut lines = ReverseLines::new(&mut file, complete);
        while let Some(line) = lines.next_line().map_err(io)? {
            if !line.is_empty() {
                return Ok(serde_json::from_slice(&line).ok());
            }
        }
        Ok(None)
    }

    /// The summary of the head's receipt, read from its file (`None` when it is gone).
    fn summary_from_file(
        &self,
        head: &SignedHead,
        previous: Option<&Summary>,
    ) -> Result<Option<Summary>, ReceiptError> {
        let path = self.root().join(format!("{}.json", head.run_id));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ReceiptError::io("read", &path, error)),
        };
        let Ok(receipt) = serde_json::from_slice::<Receipt>(&bytes) else {
            return Ok(None);
        };
        let recorded_at = recorded_at(&receipt, previous, Utc::now());
        Ok(Some(Summary::of(
            &receipt,
            head.sha256.clone(),
            recorded_at,
        )))
    }

    /// Summaries of the receipt files, in sequence order, without their signatures checked.
    /// Files that cannot be read as receipts are left out: `verify` reports them. Append
    /// times are lost, so `recorded_at` becomes the latest run time so far: never earlier
    /// than the run's own times, never decreasing, which keeps `receipts_since` exact.
    fn scan_summaries(&self) -> Result<Vec<Summary>, ReceiptError> {
        let files = self.receipt_files()?;
        let root = self.open_root()?;
        let mut found: Vec<(Summary, String)> = parallel_map(&files, |name, buffer| {
            let bytes = read_into(&root, name, buffer).ok()?;
            let outline: Outline<'_> = serde_json::from_slice(bytes).ok()?;
            let sha256 = unverified_chain_hash(bytes, &outline.signature)?;
            Some((outline.summary(sha256), outline.finished_at.to_string()))
        })
        .ok_or_else(|| self.damaged("a worker reading the receipts stopped unexpectedly"))?
        .into_iter()
        .flatten()
        .collect();
        found.sort_by_key(|(summary, _)| summary.sequence);
        let mut latest: Option<DateTime<Utc>> = None;
        let mut summaries = Vec::with_capacity(found.len());
        for (mut summary, finished_at) in found {
            for time in [summary.started_at.as_str(), finished_at.as_str()] {
                if let Some(time) = parse_time(time) {
                    latest = Some(latest.map_or(time, |latest| latest.max(time)));
                }
            }
            summary.recorded_at = latest.map_or_else(String::new, format_time);
            summaries.push(summary);
        }
        Ok(summaries)
    }

    /// Rewrites the index from the receipt files (exclusive lock held).
    fn rebuild_index(&self) -> Result<Vec<Summary>, ReceiptError> {
        let summaries = self.scan_summaries()?;
        let mut bytes = Vec::new();
        for summary in &summaries {
            bytes.extend(to_json(summary, "a summary")?);
            bytes.push(b'\n');
        }
        let path = self.index_path();
        let temporary = self.housekeeping().join("index.jsonl.tmp");
        write_synced(&temporary, &bytes)?;
        fs::rename(&temporary, &path).map_err(|error| ReceiptError::io("replace", &path, error))?;
        Ok(summaries)
    }

    /// The whole index; strict: `None` when torn, unreadable, missing while receipts exist,
    /// or not reaching the head.
    fn read_index(&self, strict: bool) -> Result<Option<Vec<Summary>>, ReceiptError> {
        let head_sequence = self.read_head()?.map_or(0, |head| head.sequence);
        let path = self.index_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return self.missing_index(strict, head_sequence);
            }
            Err(error) => return Err(ReceiptError::io("read the index", &path, error)),
        };
        if strict && !bytes.is_empty() && !bytes.ends_with(b"\n") {
            return Ok(None);
        }
        let mut summaries = Vec::new();
        for line in bytes
            .split(|&byte| byte == b'\n')
            .filter(|line| !line.is_empty())
        {
            match serde_json::from_slice::<Summary>(line) {
                Ok(summary) => summaries.push(summary),
                Err(_) if strict => return Ok(None),
                Err(_) => {}
            }
        }
        let last = summaries.last().map_or(0, |summary| summary.sequence);
        Ok((last >= head_sequence || !strict).then_some(summaries))
    }

    /// Run ids (newest first) of the receipts that may have started at or after `since`,
    /// reading the index backwards and stopping at the first line recorded before `since`.
    fn read_index_backwards(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
        strict: bool,
    ) -> Result<Option<Vec<String>>, ReceiptError> {
        let head_sequence = self.read_head()?.map_or(0, |head| head.sequence);
        let path = self.index_path();
        let io = |error| ReceiptError::io("read the index", &path, error);
        let mut file = match File::open(&path) {
            Ok(file) => file,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                return Ok(self
                    .missing_index(strict, head_sequence)?
                    .map(|_| Vec::new()));
            }
            Err(error) => return Err(io(error)),
        };
        let len = file.metadata().map_err(io)?.len();
        let complete = complete_len(&mut file, len).map_err(io)?;
        if strict && complete < len {
            return Ok(None);
        }
        let mut lines = ReverseLines::new(&mut file, complete);
        let mut run_ids = Vec::new();
        let mut newest = None;
        while let Some(line) = lines.next_line().map_err(io)? {
            if line.is_empty() {
                continue;
            }
            let summary = match serde_json::from_slice::<Summary>(&line) {
                Ok(summary) => summary,
                Err(_) if strict => return Ok(None),
                Err(_) => continue,
            };
            let newest = *newest.get_or_insert(summary.sequence);
            if strict && newest < head_sequence {
                return Ok(None);
            }
            if parse_time(&summary.recorded_at).is_some_and(|recorded| recorded < since) {
                break;
            }
            if is_recent(&summary, since, workflow) {
                run_ids.push(summary.run_id);
            }
        }
        if strict && newest.is_none() && head_sequence > 0 {
            return Ok(None);
        }
        Ok(Some(run_ids))
    }

    /// What a read finds without an index: nothing when the store is empty; otherwise strict
    /// reads ask for a rebuild, lenient ones find nothing.
    fn missing_index(
        &self,
        strict: bool,
        head_sequence: u64,
    ) -> Result<Option<Vec<Summary>>, ReceiptError> {
        let empty = !strict || (head_sequence == 0 && !self.any_receipt()?);
        Ok(empty.then(Vec::new))
    }
}

fn is_recent(summary: &Summary, since: DateTime<Utc>, workflow: Option<&str>) -> bool {
    // A start time that does not parse counts as recent: counting too many fails closed.
    parse_time(&summary.started_at).is_none_or(|started| started >= since)
        && workflow.is_none_or(|workflow| workflow == summary.workflow)
}

/// The append time to record: now, but never before the run's own times or the previous
/// receipt's record (clocks can step back), so it never decreases along the sequence.
pub(super) fn recorded_at(
    receipt: &Receipt,
    previous: Option<&Summary>,
    now: DateTime<Utc>,
) -> String {
    let times = [
        Some(receipt.started_at.as_str()),
        Some(receipt.finished_at.as_str()),
        previous.map(|summary| summary.recorded_at.as_str()),
    ];
    let latest = times
        .into_iter()
        .flatten()
        .filter_map(parse_time)
        .fold(now, DateTime::max);
    format_time(latest)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|time| time.with_timezone(&Utc))
}

fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Where the complete (newline-terminated) part of a file of length `len` ends.
fn complete_len(file: &mut File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut chunk = vec![0u8; 4096];
    while end > 0 {
        let size = end.min(chunk.len() as u64);
        let start = end - size;
        let window = chunk.get_mut(..size as usize).unwrap_or_default();
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(window)?;
        if let Some(at) = window.iter().rposition(|&byte| byte == b'\n') {
            return Ok(start + at as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// The lines of the first `end` bytes of a file (which end at a line boundary), newest
/// first, read in chunks from the end.
struct ReverseLines<'f> {
    file: &'f mut File,
    /// File offset of the first byte of `buffer`.
    start: u64,
    /// Bytes `[start, …)` not yet returned; ends with a newline unless empty.
    buffer: Vec<u8>,
}

impl<'f> ReverseLines<'f> {
    fn new(file: &'f mut File, end: u64) -> ReverseLines<'f> {
        ReverseLines {
            file,
            start: end,
            buffer: Vec::new(),
        }
    }

    fn next_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        loop {
            let body = self.buffer.strip_suffix(b"\n").unwrap_or(&self.buffer);
            if let Some(at) = body.iter().rposition(|&byte| byte == b'\n') {
                let line = body.get(at + 1..).unwrap_or_default().to_vec();
                self.buffer.truncate(at + 1);
                return Ok(Some(line));
            }
            if self.start == 0 {
                if self.buffer.is_empty() {
                    return Ok(None);
                }
                let line = body.to_vec();
                self.buffer.clear();
                return Ok(Some(line));
            }
            // Small first (the tail is usually one line), then larger.
            let size = self
                .start
                .min((self.buffer.len() as u64 * 2).clamp(4096, 1 << 20));
            self.start -= size;
            let mut chunk = vec![0u8; size as usize];
            self.file.seek(SeekFrom::Start(self.start))?;
            self.file.read_exact(&mut chunk)?;
            chunk.extend_from_slice(&self.buffer);
            self.buffer = chunk;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::receipt::test_support::receipt;
    use serde_json::json;

    fn lines_backwards(text: &str) -> Vec<String> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("lines");
        fs::write(&path, text).unwrap();
        let mut file = File::open(&path).unwrap();
        let len = text.len() as u64;
        let complete = complete_len(&mut file, len).unwrap();
        let mut lines = ReverseLines::new(&mut file, complete);
        let mut found = Vec::new();
        while let Some(line) = lines.next_line().unwrap() {
            found.push(String::from_utf8(line).unwrap());
        }
        found
    }

    #[test]
    fn lines_are_read_newest_first_across_chunks_and_a_torn_tail_is_skipped() {
        let long = "x".repeat(10_000);
        let text = format!("a\n{long}\n\nb\ntorn");
        assert_eq!(lines_backwards(&text), ["b", "", long.as_str(), "a"]);
        assert!(lines_backwards("").is_empty());
        assert!(lines_backwards("no newline").is_empty());
        let many: String = (0..5000).map(|i| format!("{i}\n")).collect();
        let found = lines_backwards(&many);
        assert_eq!(found.len(), 5000);
        assert_eq!((found[0].as_str(), found[4999].as_str()), ("4999", "0"));
    }

    #[test]
    fn recorded_times_never_go_back_nor_precede_the_run() {
        let mut run = receipt(json!({}));
        run.started_at = "2030-01-01T00:00:00Z".to_string();
        run.finished_at = "2030-01-01T00:00:05Z".to_string();
        let now = parse_time("2026-01-01T00:00:00Z").unwrap();
        // A run clocked in the future: recorded at its finish, not before.
        assert_eq!(recorded_at(&run, None, now), "2030-01-01T00:00:05.000Z");
        let mut previous = Summary::of(&run, String::new(), "2031-01-01T00:00:00.000Z".to_string());
        assert_eq!(
            recorded_at(&run, Some(&previous), now),
            "2031-01-01T00:00:00.000Z"
        );
        previous.recorded_at = "garbage".to_string();
        assert_eq!(
            recorded_at(&run, Some(&previous), now),
            "2030-01-01T00:00:05.000Z"
        );
    }
}
