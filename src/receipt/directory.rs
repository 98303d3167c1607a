//! The directory receipt store (SPEC §8, the default): `<root>/<run_id>.json`, each the RFC 8785
//! canonical JSON of the signed receipt plus a newline, so that the bytes on disk are the
//! bytes signed (minus the signature member) and verifying needs no re-serialisation.
//!
//! Housekeeping lives in `<root>/.enact/`:
//! - `lock`: taken exclusively (`File::lock`, an advisory lock per open file description, so
//!   it excludes other processes and other threads alike: each acquisition opens the file
//!   anew) by every append and repair, shared by readers that need a consistent view.
//! - `head.json`: the newest receipt's sequence, run id and chain hash, HMACed (context
//!   `enact head v1`): deleting the newest receipts is caught, and so is editing the head.
//!   It is the commit point of an append.
//! - `staging/`: a receipt is written here and made durable (file and directory fsynced), then
//!   the head is replaced durably (the commit), then the receipt is renamed into the root
//!   without a further fsync. A staged receipt beyond the head's sequence never committed (its
//!   append never returned) and is removed; one within it is moved into place by the next
//!   append, `get` or `verify`. Four fsyncs per append, none of them on the root directory.
//! - `index.jsonl`: one [`Summary`] per line in sequence order, appended after each commit. It
//!   is a cache: a missing, torn or short one is repaired from the receipts.
//! - `journal/<run_id>.jsonl`: journals of runs in progress (see `journal.rs`).

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::thread;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::canonical::canonical_bytes;
use super::error::ReceiptError;
use super::journal;
use super::model::{Decision, Kind, Receipt, RunStatus};
use super::run_id::RunId;
use super::signing::Signer;
use super::store::{Journal, ReceiptStore, Summary};
use super::verify::{
    ChainHead, GENESIS_SHA256, Problem, VerifyReport, check_bytes, check_file_name, claimed_link,
    only_signature_differs, unverified_chain_hash, verify_chain,
};

const HOUSEKEEPING: &str = ".enact";
const HEAD_CONTEXT: &[u8] = b"enact head v1\n";
const HEAD_VERSION: u32 = 1;

/// Receipts as files in one directory. Cheap to open; every method re-reads what it needs,
/// so many stores (threads, processes) may share one directory.
#[derive(Debug, Clone)]
pub struct DirectoryStore {
    root: PathBuf,
}

/// The top-level fields of a receipt the index needs, read without building the payload and
/// the other large values.
#[derive(Debug, Deserialize)]
struct Outline<'a> {
    #[serde(borrow)]
    run_id: Cow<'a, str>,
    kind: Kind,
    #[serde(borrow)]
    original_run_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    workflow: Cow<'a, str>,
    #[serde(borrow)]
    actor: ActorOutline<'a>,
    decision: Decision,
    status: RunStatus,
    #[serde(borrow)]
    started_at: Cow<'a, str>,
    #[serde(borrow)]
    finished_at: Cow<'a, str>,
    sequence: u64,
    actions_taken: Vec<IgnoredAny>,
    #[serde(borrow)]
    signature: Cow<'a, str>,
}

#[derive(Debug, Default, Deserialize)]
struct ActorOutline<'a> {
    #[serde(borrow, default)]
    email: Option<Cow<'a, str>>,
}

/// `head.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct HeadFile {
    version: u32,
    sequence: u64,
    run_id: String,
    sha256: String,
    signature: String,
}

#[derive(Serialize)]
struct HeadBody<'a> {
    version: u32,
    sequence: u64,
    run_id: &'a str,
    sha256: &'a str,
}

impl HeadFile {
    fn body(&self) -> HeadBody<'_> {
        HeadBody {
            version: self.version,
            sequence: self.sequence,
            run_id: &self.run_id,
            sha256: &self.sha256,
        }
    }

    fn signed(version: u32, chain: ChainHead, signer: &Signer) -> Result<HeadFile, ReceiptError> {
        let mut head = HeadFile {
            version,
            sequence: chain.sequence,
            run_id: chain.run_id,
            sha256: chain.sha256,
            signature: String::new(),
        };
        let bytes = canonical_bytes(&head.body(), "the store's head")?;
        head.signature = signer.mac_hex(HEAD_CONTEXT, &[&bytes]);
        Ok(head)
    }

    fn verifies(&self, signer: &Signer) -> bool {
        canonical_bytes(&self.body(), "the store's head")
            .is_ok_and(|bytes| signer.mac_matches(HEAD_CONTEXT, &[&bytes], &self.signature))
    }

    fn chain(&self) -> ChainHead {
        ChainHead {
            sequence: self.sequence,
            run_id: self.run_id.clone(),
            sha256: self.sha256.clone(),
        }
    }
}

/// An advisory lock on `.enact/lock`, released when dropped (the file is closed).
struct Lock {
    _file: File,
}

impl DirectoryStore {
    /// Opens the store at `root`, creating the directory when absent. Nothing else is written
    /// until the first append, so a read-only copy can be verified.
    pub fn open(root: impl Into<PathBuf>) -> Result<DirectoryStore, ReceiptError> {
        let root = root.into();
        if !root.is_dir() {
            fs::create_dir_all(&root)
                .map_err(|error| ReceiptError::io("create the receipt directory", &root, error))?;
        }
        Ok(DirectoryStore { root })
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Where the receipt of `run_id` lives: `<root>/<run_id>.json`.
    pub fn receipt_path(&self, run_id: &RunId) -> PathBuf {
        self.root.join(run_id.file_name())
    }

    fn housekeeping(&self) -> PathBuf {
        self.root.join(HOUSEKEEPING)
    }

    fn head_path(&self) -> PathBuf {
        self.housekeeping().join("head.json")
    }

    fn index_path(&self) -> PathBuf {
        self.housekeeping().join("index.jsonl")
    }

    fn staging_dir(&self) -> PathBuf {
        self.housekeeping().join("staging")
    }

    fn journal_dir(&self) -> PathBuf {
        self.housekeeping().join("journal")
    }

    fn journal_path(&self, run_id: &RunId) -> PathBuf {
        self.journal_dir().join(format!("{run_id}.jsonl"))
    }

    fn damaged(&self, message: impl Into<String>) -> ReceiptError {
        ReceiptError::Damaged {
            root: self.root.clone(),
            message: message.into(),
        }
    }

    // ---- locking ----

    fn lock_exclusive(&self) -> Result<Lock, ReceiptError> {
        ensure_dir(&self.housekeeping(), &self.root)?;
        let path = self.housekeeping().join("lock");
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(|source| ReceiptError::Lock {
                path: path.clone(),
                source,
            })?;
        file.lock().map_err(|source| ReceiptError::Lock { path, source })?;
        Ok(Lock { _file: file })
    }

    /// A shared lock for readers, or none where the store cannot be locked (never written to,
    /// or on a read-only copy): a reader then sees what is there.
    fn lock_shared(&self) -> Option<Lock> {
        let file = File::open(self.housekeeping().join("lock")).ok()?;
        file.lock_shared().ok()?;
        Some(Lock { _file: file })
    }

    // ---- head ----

    fn read_head(&self) -> Result<Option<HeadFile>, ReceiptError> {
        let path = self.head_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ReceiptError::io("read the store's head", &path, error)),
        };
        let head: HeadFile = serde_json::from_slice(&bytes)
            .map_err(|error| self.damaged(format!("`{}` is not a valid head: {error}", path.display())))?;
        if head.run_id.parse::<RunId>().is_err() {
            return Err(self.damaged(format!(
                "`{}` names run `{}`, which is not a run id",
                path.display(),
                head.run_id
            )));
        }
        Ok(Some(head))
    }

    fn write_head(&self, head: &HeadFile) -> Result<(), ReceiptError> {
        let path = self.head_path();
        let temporary = self.housekeeping().join("head.json.tmp");
        let mut bytes = serde_json::to_vec(head).map_err(|error| ReceiptError::Canonical {
            what: "the store's head".to_string(),
            message: error.to_string(),
        })?;
        bytes.push(b'\n');
        write_synced(&temporary, &bytes)?;
        fs::rename(&temporary, &path).map_err(|error| ReceiptError::io("replace", &path, error))?;
        sync_dir(&self.housekeeping())
    }

    // ---- recovery and the index ----

    /// Under the exclusive lock: finishes an append a crash interrupted, clears stale staged
    /// files and brings the index up to the head. Returns the head and the newest summary.
    fn recover(&self) -> Result<(Option<HeadFile>, Option<Summary>), ReceiptError> {
        let head = self.read_head()?;
        self.finish_staged(head.as_ref())?;
        let head_sequence = head.as_ref().map_or(0, |head| head.sequence);
        let last = self.index_tail()?;
        let last_sequence = last.as_ref().map_or(0, |summary| summary.sequence);
        let index_missing = last.is_none() && head.is_none() && self.any_receipt()?;
        if !index_missing && (last_sequence == head_sequence || head.is_none()) {
            return Ok((head, last));
        }
        if let Some(head) = head.as_ref().filter(|head| last_sequence + 1 == head.sequence) {
            // The usual crash case: committed, not yet indexed.
            if let Some(summary) = self.summary_from_file(head, last.as_ref())? {
                self.append_index_line(&summary)?;
                return Ok((Some(head.clone()), Some(summary)));
            }
        }
        let summaries = self.rebuild_index()?;
        Ok((head, summaries.last().cloned()))
    }

    /// Moves every committed staged receipt (sequence within the head's) whose file is
    /// missing into place, and removes the rest: receipts of appends that never committed.
    /// The rename into the root is not fsynced by `append`, so after a crash an older
    /// committed receipt may be back in staging too, not only the head's.
    fn finish_staged(&self, head: Option<&HeadFile>) -> Result<(), ReceiptError> {
        let dir = self.staging_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(()),
            Err(error) => return Err(ReceiptError::io("list", &dir, error)),
        };
        let committed = head.map_or(0, |head| head.sequence);
        let mut moved = false;
        for entry in entries.flatten() {
            let staged = entry.path();
            let bytes = fs::read(&staged).unwrap_or_default();
            let target = serde_json::from_slice::<Outline<'_>>(&bytes)
                .ok()
                .filter(|outline| outline.sequence <= committed)
                .and_then(|outline| outline.run_id.parse::<RunId>().ok())
                .map(|run_id| self.receipt_path(&run_id))
                .filter(|target| !target.exists());
            match target {
                Some(target) => {
                    fs::rename(&staged, &target)
                        .map_err(|error| ReceiptError::io("move into place", &staged, error))?;
                    moved = true;
                }
                None => fs::remove_file(&staged).map_err(|error| {
                    ReceiptError::io("remove the uncommitted staged receipt", &staged, error)
                })?,
            }
        }
        if moved {
            sync_dir(&self.root)?;
        }
        Ok(())
    }

    /// The summary of the head's receipt, read from its file (`None` when it is gone).
    fn summary_from_file(
        &self,
        head: &HeadFile,
        previous: Option<&Summary>,
    ) -> Result<Option<Summary>, ReceiptError> {
        let path = self.root.join(format!("{}.json", head.run_id));
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(ReceiptError::io("read", &path, error)),
        };
        let Ok(receipt) = serde_json::from_slice::<Receipt>(&bytes) else {
            return Ok(None);
        };
        let recorded_at = recorded_at(&receipt, previous, Utc::now());
        Ok(Some(Summary::of(&receipt, head.sha256.clone(), recorded_at)))
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
            file.set_len(complete)
                .map_err(|error| ReceiptError::io("cut the torn last line of the index", &path, error))?;
        }
        let mut lines = ReverseLines::new(&mut file, complete);
        while let Some(line) = lines.next_line().map_err(io)? {
            if !line.is_empty() {
                return Ok(serde_json::from_slice(&line).ok());
            }
        }
        Ok(None)
    }

    fn append_index_line(&self, summary: &Summary) -> Result<(), ReceiptError> {
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

    /// Rewrites the index from the receipt files (exclusive lock held). Files that cannot be
    /// read as receipts are left out: `verify` reports them.
    fn rebuild_index(&self) -> Result<Vec<Summary>, ReceiptError> {
        let files = self.receipt_files()?;
        let mut found: Vec<(Summary, String)> = parallel_map(&files, |name, buffer| {
            read_into(&self.root.join(name), buffer).ok()?;
            let outline: Outline<'_> = serde_json::from_slice(buffer).ok()?;
            let sha256 = unverified_chain_hash(buffer, &outline.signature)?;
            Some((summary_of_outline(&outline, sha256), outline.finished_at.to_string()))
        })
        .ok_or_else(|| self.damaged("a worker reading the receipts stopped unexpectedly"))?
        .into_iter()
        .flatten()
        .collect();
        found.sort_by_key(|(summary, _)| summary.sequence);
        // Append times are lost; any value never earlier than the run's times and never
        // decreasing along the sequence keeps `receipts_since` exact.
        let mut latest: Option<DateTime<Utc>> = None;
        let mut bytes = Vec::new();
        let mut summaries = Vec::with_capacity(found.len());
        for (mut summary, finished_at) in found {
            for time in [summary.started_at.as_str(), finished_at.as_str()] {
                if let Some(time) = parse_time(time) {
                    latest = Some(latest.map_or(time, |latest| latest.max(time)));
                }
            }
            summary.recorded_at = latest.map_or_else(String::new, format_time);
            bytes.extend(to_json(&summary, "a summary")?);
            bytes.push(b'\n');
            summaries.push(summary);
        }
        let path = self.index_path();
        let temporary = self.housekeeping().join("index.jsonl.tmp");
        write_synced(&temporary, &bytes)?;
        fs::rename(&temporary, &path).map_err(|error| ReceiptError::io("replace", &path, error))?;
        Ok(summaries)
    }

    /// The names of the `*.json` files of the root (not hidden), sorted.
    fn receipt_files(&self) -> Result<Vec<String>, ReceiptError> {
        let io = |error| ReceiptError::io("list the receipt directory", &self.root, error);
        let mut files = Vec::new();
        for entry in fs::read_dir(&self.root).map_err(io)? {
            let name = entry.map_err(io)?.file_name();
            if is_receipt_name(&name)
                && let Ok(name) = name.into_string()
            {
                files.push(name);
            }
        }
        // Byte order of strings: sorting paths compares component by component, far slower.
        files.sort_unstable();
        Ok(files)
    }

    fn any_receipt(&self) -> Result<bool, ReceiptError> {
        let entries = fs::read_dir(&self.root)
            .map_err(|error| ReceiptError::io("list the receipt directory", &self.root, error))?;
        Ok(entries.flatten().any(|entry| is_receipt_name(&entry.file_name())))
    }

    /// Runs `read` under a shared lock with `strict` set: it returns `None` when the index
    /// does not reach the head. Then repairs under the exclusive lock and reads leniently
    /// (receipts deleted from the end leave an index that cannot reach the head).
    fn consistent_read<T>(
        &self,
        read: impl Fn(bool) -> Result<Option<T>, ReceiptError>,
    ) -> Result<T, ReceiptError> {
        {
            let _shared = self.lock_shared();
            if let Some(value) = read(true)? {
                return Ok(value);
            }
        }
        let _exclusive = self.lock_exclusive()?;
        self.recover()?;
        read(false)?.ok_or_else(|| self.damaged("the index cannot be read even after rebuilding it"))
    }

    /// The whole index; strict: `None` when torn, unreadable, missing while receipts exist,
    /// or not reaching the head.
    fn read_index(&self, strict: bool) -> Result<Option<Vec<Summary>>, ReceiptError> {
        let head = self.read_head()?;
        let path = self.index_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                let empty = !strict || (head.is_none() && !self.any_receipt()?);
                return Ok(empty.then(Vec::new));
            }
            Err(error) => return Err(ReceiptError::io("read the index", &path, error)),
        };
        if strict && !bytes.is_empty() && !bytes.ends_with(b"\n") {
            return Ok(None);
        }
        let mut summaries = Vec::new();
        for line in bytes.split(|&byte| byte == b'\n').filter(|line| !line.is_empty()) {
            match serde_json::from_slice::<Summary>(line) {
                Ok(summary) => summaries.push(summary),
                Err(_) if strict => return Ok(None),
                Err(_) => {}
            }
        }
        let last = summaries.last().map_or(0, |summary| summary.sequence);
        let reaches_head = head.as_ref().is_none_or(|head| last >= head.sequence);
        Ok((reaches_head || !strict).then_some(summaries))
    }

    /// Run ids (newest first) of the summaries that may have started at or after `since`,
    /// reading the index backwards and stopping at the first line recorded before `since`.
    fn run_ids_since(
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
                let empty = !strict || (head_sequence == 0 && !self.any_receipt()?);
                return Ok(empty.then(Vec::new));
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
        let mut newest = true;
        while let Some(line) = lines.next_line().map_err(io)? {
            if line.is_empty() {
                continue;
            }
            let summary = match serde_json::from_slice::<Summary>(&line) {
                Ok(summary) => summary,
                Err(_) if strict => return Ok(None),
                Err(_) => continue,
            };
            if std::mem::take(&mut newest) && strict && summary.sequence < head_sequence {
                return Ok(None);
            }
            if parse_time(&summary.recorded_at).is_some_and(|recorded| recorded < since) {
                break;
            }
            let recent = parse_time(&summary.started_at).is_none_or(|started| started >= since);
            if recent && workflow.is_none_or(|workflow| workflow == summary.workflow) {
                run_ids.push(summary.run_id);
            }
        }
        if strict && newest && head_sequence > 0 {
            return Ok(None);
        }
        Ok(Some(run_ids))
    }
}

impl ReceiptStore for DirectoryStore {
    fn describe(&self) -> String {
        format!("directory {}", self.root.display())
    }

    fn append(&self, mut receipt: Receipt, signer: &Signer) -> Result<Receipt, ReceiptError> {
        let run_id: RunId = receipt.run_id.parse()?;
        receipt.run_id = run_id.to_string();
        let _lock = self.lock_exclusive()?;
        let (head, newest) = self.recover()?;
        match &head {
            Some(head) if !head.verifies(signer) => {
                return Err(self.damaged(
                    "the head (.enact/head.json) does not carry a valid signature: it was \
                     edited, or this is not the secret the store was signed with",
                ));
            }
            Some(_) => {}
            None if self.any_receipt()? => {
                return Err(self.damaged(
                    "the head (.enact/head.json) is missing although the directory holds \
                     receipts, so the chain cannot be continued",
                ));
            }
            None => {}
        }
        let final_path = self.receipt_path(&run_id);
        if final_path.exists() {
            return Err(ReceiptError::DuplicateRun {
                run_id: receipt.run_id,
                path: final_path,
            });
        }
        receipt.sequence = match &head {
            Some(head) => head
                .sequence
                .checked_add(1)
                .ok_or_else(|| self.damaged("the head's sequence cannot grow any further"))?,
            None => 1,
        };
        receipt.prev_sha256 = head
            .as_ref()
            .map_or_else(|| GENESIS_SHA256.to_string(), |head| head.sha256.clone());
        let sealed = signer.sign(&mut receipt)?;
        // What is returned is what a reader will parse (numbers in their canonical form).
        let stored: Receipt = serde_json::from_slice(&sealed.document).map_err(|error| ReceiptError::Canonical {
            what: format!("receipt {run_id}"),
            message: error.to_string(),
        })?;

        // Durability, in order: the staged receipt (data and directory entry), then the head,
        // the commit point. The rename into the root needs no fsync: a committed receipt left
        // in staging by a crash is moved into place by the next append, `get` or `verify`.
        ensure_dir(&self.staging_dir(), &self.housekeeping())?;
        let staged = self.staging_dir().join(run_id.file_name());
        let mut document = sealed.document;
        document.push(b'\n');
        write_synced(&staged, &document)?;
        sync_dir(&self.staging_dir())?;
        let chain = ChainHead {
            sequence: stored.sequence,
            run_id: stored.run_id.clone(),
            sha256: sealed.chain_sha256.clone(),
        };
        self.write_head(&HeadFile::signed(HEAD_VERSION, chain, signer)?)?;
        fs::rename(&staged, &final_path).map_err(|error| ReceiptError::io("move into place", &staged, error))?;

        let summary = Summary::of(
            &stored,
            sealed.chain_sha256,
            recorded_at(&stored, newest.as_ref(), Utc::now()),
        );
        // The receipt is committed; the index is a cache the next reader repairs, so a
        // failure here must not make the caller believe the append failed and retry it.
        let _ = self.append_index_line(&summary);
        Ok(stored)
    }

    fn get(&self, run_id: &RunId) -> Result<Option<Json>, ReceiptError> {
        let path = self.receipt_path(run_id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == ErrorKind::NotFound => {
                // Committed by an append that crashed before moving it into place?
                if !self.staging_dir().join(run_id.file_name()).exists() {
                    return Ok(None);
                }
                let _lock = self.lock_exclusive()?;
                self.recover()?;
                match fs::read(&path) {
                    Ok(bytes) => bytes,
                    Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
                    Err(error) => return Err(ReceiptError::io("read", &path, error)),
                }
            }
            Err(error) => return Err(ReceiptError::io("read", &path, error)),
        };
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|error| ReceiptError::json(&path, &error))
    }

    fn summaries(&self) -> Result<Vec<Summary>, ReceiptError> {
        self.consistent_read(|strict| self.read_index(strict))
    }

    fn receipts_since(
        &self,
        since: DateTime<Utc>,
        workflow: Option<&str>,
    ) -> Result<Vec<Json>, ReceiptError> {
        let run_ids = self.consistent_read(|strict| self.run_ids_since(since, workflow, strict))?;
        let mut documents = Vec::with_capacity(run_ids.len());
        for run_id in run_ids.iter().rev() {
            let id: RunId = run_id.parse()?;
            match self.get(&id)? {
                Some(document) => documents.push(document),
                None => {
                    return Err(ReceiptError::MissingReceipt {
                        root: self.root.clone(),
                        run_id: run_id.clone(),
                        path: self.receipt_path(&id),
                    });
                }
            }
        }
        Ok(documents)
    }

    fn verify(&self, signer: &Signer) -> VerifyReport {
        match self.verify_store(signer) {
            Ok(report) => report,
            Err(error) => VerifyReport {
                checked: 0,
                problems: vec![Problem::new(&self.root.display().to_string(), None, error.to_string())],
                chain_checked: false,
            },
        }
    }

    fn journal_append(&self, run_id: &RunId, entry: &Json, signer: &Signer) -> Result<(), ReceiptError> {
        ensure_dir(&self.housekeeping(), &self.root)?;
        ensure_dir(&self.journal_dir(), &self.housekeeping())?;
        if journal::append(&self.journal_path(run_id), run_id, entry, signer)? {
            sync_dir(&self.journal_dir())?;
        }
        Ok(())
    }

    fn journal_read(&self, run_id: &RunId, signer: &Signer) -> Result<Option<Journal>, ReceiptError> {
        journal::read(&self.journal_path(run_id), run_id, signer)
    }

    fn journal_remove(&self, run_id: &RunId) -> Result<(), ReceiptError> {
        let path = self.journal_path(run_id);
        match fs::remove_file(&path) {
            Ok(()) => sync_dir(&self.journal_dir()),
            Err(error) if error.kind() == ErrorKind::NotFound => Ok(()),
            Err(error) => Err(ReceiptError::io("remove the journal", &path, error)),
        }
    }

    fn journals(&self) -> Result<Vec<RunId>, ReceiptError> {
        let dir = self.journal_dir();
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(error) => return Err(ReceiptError::io("list the journals", &dir, error)),
        };
        let mut run_ids: Vec<RunId> = entries
            .flatten()
            .filter_map(|entry| {
                let name = entry.file_name();
                let stem = name.to_str()?.strip_suffix(".jsonl")?;
                stem.parse::<RunId>().ok().filter(|id| id.to_string() == stem)
            })
            .collect();
        run_ids.sort();
        Ok(run_ids)
    }
}

impl DirectoryStore {
    fn verify_store(&self, signer: &Signer) -> Result<VerifyReport, ReceiptError> {
        // Finish an interrupted append first when the store is writable; a read-only copy is
        // verified as it is.
        if self.housekeeping().is_dir()
            && let Ok(_lock) = self.lock_exclusive()
        {
            let head = self.read_head().ok().flatten();
            if let Some(head) = head.filter(|head| head.verifies(signer)) {
                self.finish_staged(Some(&head))?;
            }
        }
        let _shared = self.lock_shared();
        let mut problems = Vec::new();
        let head_label = self.head_path().display().to_string();
        let head = match self.read_head() {
            Ok(Some(head)) if head.verifies(signer) => Some(head),
            Ok(Some(head)) => {
                problems.push(Problem::new(
                    &head_label,
                    None,
                    "the store's head does not carry a valid signature: it was edited, or this is \
                     not the secret the store was signed with",
                ));
                // One receipt tells a wrong secret from tampering: if the newest receipt is
                // intact but for its signature, nothing here can be checked with this secret.
                let newest = self.root.join(format!("{}.json", head.run_id));
                if let Ok(bytes) = fs::read(&newest)
                    && let Err(found) = check_bytes(&newest.display().to_string(), &bytes, signer)
                    && only_signature_differs(&found)
                {
                    return Ok(VerifyReport {
                        checked: 1,
                        problems: vec![Problem::new(
                            &self.root.display().to_string(),
                            None,
                            "neither the head nor the newest receipt verifies with this secret, \
                             although their contents are intact: is the secret (ENACT_SECRET or \
                             the variable the config names) the one this store was signed with?",
                        )],
                        chain_checked: false,
                    });
                }
                None
            }
            Ok(None) => None,
            Err(error) => {
                problems.push(Problem::new(&head_label, None, error.to_string()));
                None
            }
        };
        let files = self.receipt_files()?;
        if head.is_none() && problems.is_empty() && !files.is_empty() {
            problems.push(Problem::new(
                &head_label,
                None,
                "the store's head is missing although the directory holds receipts: the newest \
                 receipts could have been deleted without trace",
            ));
        }
        let root_label = self.root.display().to_string();
        let checked = parallel_map(&files, |file, buffer| {
            let path = self.root.join(file);
            let name = format!("{root_label}{}{file}", std::path::MAIN_SEPARATOR);
            let mut problems = Vec::new();
            if let Err(error) = read_into(&path, buffer) {
                problems.push(Problem::new(&name, None, format!("cannot read the file: {error}")));
                return (None, problems);
            }
            match check_bytes(&name, buffer, signer) {
                Ok(link) => {
                    check_file_name(&name, &path, &link.run_id, &mut problems);
                    (Some(link), problems)
                }
                Err(found) => (claimed_link(&name, buffer), found),
            }
        })
        .ok_or_else(|| self.damaged("a worker verifying the receipts stopped unexpectedly"))?;
        let mut links = Vec::with_capacity(checked.len());
        for (link, found) in checked {
            links.extend(link);
            problems.extend(found);
        }
        let chain_head = head.as_ref().map(HeadFile::chain);
        problems.extend(verify_chain(&links, chain_head.as_ref()));
        Ok(VerifyReport {
            checked: files.len(),
            problems,
            chain_checked: true,
        })
    }
}

fn summary_of_outline(outline: &Outline<'_>, sha256: String) -> Summary {
    Summary {
        run_id: outline.run_id.to_string(),
        kind: outline.kind,
        original_run_id: outline.original_run_id.as_ref().map(ToString::to_string),
        workflow: outline.workflow.to_string(),
        actor: outline.actor.email.as_deref().unwrap_or_default().to_string(),
        decision: outline.decision,
        status: outline.status,
        started_at: outline.started_at.to_string(),
        sequence: outline.sequence,
        actions: outline.actions_taken.len(),
        sha256,
        recorded_at: String::new(),
    }
}

/// The append time to record: now, but never before the run's own times or the previous
/// receipt's record (clocks can step back), so it never decreases along the sequence.
fn recorded_at(receipt: &Receipt, previous: Option<&Summary>, now: DateTime<Utc>) -> String {
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
    DateTime::parse_from_rfc3339(text).ok().map(|time| time.with_timezone(&Utc))
}

fn format_time(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn is_receipt_name(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|name| name.ends_with(".json") && !name.starts_with('.'))
}

fn to_json<T: Serialize>(value: &T, what: &str) -> Result<Vec<u8>, ReceiptError> {
    serde_json::to_vec(value).map_err(|error| ReceiptError::Canonical {
        what: what.to_string(),
        message: error.to_string(),
    })
}

/// Creates `dir` if absent, making its entry durable in `parent`.
fn ensure_dir(dir: &Path, parent: &Path) -> Result<(), ReceiptError> {
    if dir.is_dir() {
        return Ok(());
    }
    match fs::create_dir(dir) {
        Ok(()) => sync_dir(parent),
        Err(error) if error.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(error) => Err(ReceiptError::io("create the directory", dir, error)),
    }
}

/// Writes `bytes` to a fresh `path` and fsyncs it.
fn write_synced(path: &Path, bytes: &[u8]) -> Result<(), ReceiptError> {
    File::create(path)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .map_err(|error| ReceiptError::io("write", path, error))
}

/// Makes renames and creations in `dir` durable.
fn sync_dir(dir: &Path) -> Result<(), ReceiptError> {
    File::open(dir)
        .and_then(|dir| dir.sync_all())
        .map_err(|error| ReceiptError::io("sync the directory", dir, error))
}

/// Reads the whole file into `buffer` (cleared first), reusing its allocation.
fn read_into(path: &Path, buffer: &mut Vec<u8>) -> std::io::Result<()> {
    buffer.clear();
    File::open(path)?.read_to_end(buffer).map(drop)
}

/// `work` over `items` on every available core, results in input order. Each worker keeps
/// one read buffer for all its files. `None` if a worker died: callers fail closed.
fn parallel_map<I: Sync, T: Send>(
    items: &[I],
    work: impl Fn(&I, &mut Vec<u8>) -> T + Sync,
) -> Option<Vec<T>> {
    let workers = thread::available_parallelism()
        .map_or(1, usize::from)
        .min(items.len().div_ceil(64))
        .max(1);
    let chunk = items.len().div_ceil(workers).max(1);
    let work = &work;
    thread::scope(|scope| {
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut buffer = Vec::with_capacity(16 * 1024);
                    part.iter()
                        .map(|item| work(item, &mut buffer))
                        .collect::<Vec<T>>()
                })
            })
            .collect();
        let mut results = Vec::with_capacity(items.len());
        for handle in handles {
            results.extend(handle.join().ok()?);
        }
        Some(results)
    })
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
            let size = self.start.min((self.buffer.len() as u64 * 2).clamp(4096, 1 << 20));
            self.start -= size;
            let mut chunk = vec![0u8; size as usize];
            self.file.seek(SeekFrom::Start(self.start))?;
            self.file.read_exact(&mut chunk)?;
            chunk.extend_from_slice(&self.buffer);
            self.buffer = chunk;
        }
    }
}
